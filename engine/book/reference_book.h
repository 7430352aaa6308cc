// ReferenceBook: the slow, obviously correct order book. The same interface and the same
// events in the same order as OrderBook (order_book.h, semantics in book_api.md), written
// the plain way: per side a std::map from price to a std::list of orders (oldest first),
// and a std::unordered_map from id to where the order rests. It allocates freely. The
// typed tests and the randomized property test hold the fast book to it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include "engine/book/types.h"

namespace fxsettle::engine::book {

class ReferenceBook {
  public:
    explicit ReferenceBook(std::uint32_t orders_max);

    void add(const NewOrder& order, std::vector<Event>& out);
    void cancel(OrderId id, OwnerId owner, std::vector<Event>& out);
    void replace(OrderId id, OwnerId owner, Price price, Quantity remaining,
                 std::vector<Event>& out);
    void expire_day_orders(std::vector<Event>& out);

    std::optional<OrderView> find(OrderId id) const;
    std::optional<Level> best(Side side) const;
    std::vector<Level> depth(Side side, std::size_t levels) const;
    std::size_t order_count() const noexcept { return index_.size(); }
    std::uint32_t orders_max() const noexcept { return orders_max_; }

    template <typename F>
    void walk(Side taker_side, OwnerId owner, std::optional<Price> limit, F&& f) const;
    template <typename F>
    void for_each_order(F&& f) const;

  private:
    using Queue = std::list<OrderView>;  // oldest first
    // Bids best (highest) first, asks best (lowest) first.
    using Bids = std::map<std::int64_t, Queue, std::greater<>>;
    using Asks = std::map<std::int64_t, Queue, std::less<>>;

    // Visits the opposite side of a taker, best level first: f(price, queue) -> bool.
    template <typename F>
    void for_each_level_to_take(Side taker_side, F&& f) const;
    static bool reaches(Side taker_side, const std::optional<Price>& limit, std::int64_t price);
    static Level level_of(std::int64_t price, const Queue& queue);

    void match_and_finish(const OrderView& taker, OrderType type, std::vector<Event>& out);
    bool fok_can_fill(const OrderView& taker, const std::optional<Price>& limit) const;
    void rest(const OrderView& order);
    void erase(OrderId id);
    Queue& queue_at(Side side, std::int64_t price);

    std::uint32_t orders_max_ = 0;
    Bids bids_;
    Asks asks_;
    std::unordered_map<std::uint64_t, Queue::iterator> index_;
};

template <typename F>
void ReferenceBook::for_each_level_to_take(Side taker_side, F&& f) const {
    if (taker_side == Side::kBuy) {
        for (const auto& [price, queue] : asks_) {
            if (!f(price, queue))
                return;
        }
    } else {
        for (const auto& [price, queue] : bids_) {
            if (!f(price, queue))
                return;
        }
    }
}

template <typename F>
void ReferenceBook::walk(Side taker_side, OwnerId owner, std::optional<Price> limit, F&& f) const {
    for_each_level_to_take(taker_side, [&](std::int64_t price, const Queue& queue) {
        if (!reaches(taker_side, limit, price))
            return false;
        std::int64_t quantity = 0;
        for (const OrderView& order : queue) {
            if (order.owner == owner) {
                if (quantity > 0)
                    f(Price{price}, Quantity{quantity});
                return false;
            }
            quantity += order.remaining.minor;
        }
        return static_cast<bool>(f(Price{price}, Quantity{quantity}));
    });
}

template <typename F>
void ReferenceBook::for_each_order(F&& f) const {
    for (const auto& [price, queue] : bids_) {
        for (const OrderView& order : queue)
            f(order);
    }
    for (const auto& [price, queue] : asks_) {
        for (const OrderView& order : queue)
            f(order);
    }
}

}  // namespace fxsettle::engine::book
