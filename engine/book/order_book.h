// OrderBook: the fast FX order book of one currency pair. Price-time priority; limit and
// market orders; Day/GTC/IOC/FOK; cancel; replace; self-trade prevention "cancel newest".
// The semantics, event by event, are in book_api.md; ReferenceBook (reference_book.h) is
// the slow, obvious implementation of the same interface that the tests compare it with.
//
// Memory: everything is sized by orders_max in the constructor and never grows: a pool of
// order slots, a pool of price levels, per side a sorted flat vector of (key, level) with
// the best price at the back, and two open-addressing hash maps: order id to slot and
// price level key to level (8 and 4 bytes a bucket, at least 2 x orders_max buckets each,
// a power of two). No operation allocates except depth() (which returns a vector) and
// appending events to the caller's vector (reserve it once and clear it between commands:
// then none either).
//
// Not thread-safe: one engine thread owns each book (DESIGN.md "One writer").
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <optional>
#include <vector>

#include "engine/base/status.h"
#include "engine/book/types.h"

namespace fxsettle::engine::book {

class OrderBook {
  public:
    // orders_max: resting orders at most (an add that would rest beyond it is rejected
    // with kBookFull); 1 <= orders_max <= kBookOrdersMax, asserted.
    explicit OrderBook(std::uint32_t orders_max);

    OrderBook(const OrderBook&) = delete;
    OrderBook& operator=(const OrderBook&) = delete;
    OrderBook(OrderBook&&) noexcept = default;
    OrderBook& operator=(OrderBook&&) noexcept = default;
    ~OrderBook() = default;

    // See book_api.md for every event these append to `out` (never clearing it).
    void add(const NewOrder& order, std::vector<Event>& out);
    void cancel(OrderId id, OwnerId owner, std::vector<Event>& out);
    void replace(OrderId id, OwnerId owner, Price price, Quantity remaining,
                 std::vector<Event>& out);
    void expire_day_orders(std::vector<Event>& out);

    // The resting order `id`, or nullopt if none rests under that id.
    std::optional<OrderView> find(OrderId id) const;
    // The best bid (kBuy) or ask (kSell) level, or nullopt for an empty side.
    std::optional<Level> best(Side side) const;
    // Up to `levels` levels of `side`, best first. Allocates the returned vector.
    std::vector<Level> depth(Side side, std::size_t levels) const;
    std::size_t order_count() const noexcept { return order_count_; }
    std::uint32_t orders_max() const noexcept { return orders_max_; }

    // Calls f(Price, Quantity) -> bool once per price level an order of `taker_side` by
    // `owner` with limit `limit` (nullopt: a market order) could reach, best first, with
    // the quantity it could take there. At a level holding an order of `owner`, the
    // quantity is what rests before that order (f is not called if that is nothing) and
    // the walk ends there: self-trade prevention would stop the order at that point.
    // f returning false ends the walk too.
    template <typename F>
    void walk(Side taker_side, OwnerId owner, std::optional<Price> limit, F&& f) const;

    // Calls f(const OrderView&) for every resting order in priority order: bids best
    // first, then asks best first, each level oldest first.
    template <typename F>
    void for_each_order(F&& f) const;

    // Checks every internal invariant (level sums and counts, list links, sort order, the
    // id map, the free lists, an uncrossed book). For tests; O(orders + capacity).
    Status validate() const;

  private:
    static constexpr std::uint32_t kNil = 0xFFFF'FFFFu;

    // Level indices are 24 bits in a slot (kBookOrdersMax levels at most).
    static constexpr std::uint32_t kLevelNil = 0xFF'FFFFu;
    static_assert(kBookOrdersMax < kLevelNil, "a level index must fit 24 bits");

    // One resting order (or a free slot, chained through `next`): 32 bytes, two to a
    // cache line. Its price and side are its level's.
    struct Slot {
        std::uint64_t id = 0;
        std::int64_t remaining = 0;
        std::uint32_t owner = 0;
        std::uint32_t prev = kNil;
        std::uint32_t next = kNil;
        std::uint32_t level : 24 = kLevelNil;
        std::uint32_t tif : 8 = 0;  // TimeInForce
    };
    static_assert(sizeof(Slot) == 32);
    // One price level: a FIFO of slots, oldest at `head` (or a free level, chained
    // through `head`).
    struct LevelNode {
        std::int64_t price = 0;
        std::int64_t quantity = 0;
        std::uint32_t orders = 0;
        std::uint32_t head = kNil;
        std::uint32_t tail = kNil;
        Side side = Side::kBuy;
    };
    // An entry of a side's sorted vector. key = price for bids and -price for asks, so
    // that on both sides ascending key means better and the best level is at the back.
    struct LevelRef {
        std::int64_t key = 0;
        std::uint32_t level = kNil;
    };

    // Allocates cache-line aligned storage, so that a group of hash buckets starts a line.
    template <typename T>
    struct LineAllocator {
        using value_type = T;
        static constexpr std::align_val_t kAlign{64};
        LineAllocator() = default;
        template <typename U>
        explicit LineAllocator(const LineAllocator<U>& /*other*/) noexcept {}
        T* allocate(std::size_t n) {
            return static_cast<T*>(::operator new(n * sizeof(T), kAlign));
        }
        void deallocate(T* p, std::size_t /*n*/) noexcept { ::operator delete(p, kAlign); }
        friend bool operator==(const LineAllocator&, const LineAllocator&) = default;
    };

    // Open-addressing (linear probing, backward-shift deletion, no tombstones) map from
    // order id to slot, at most half full. A bucket is 8 bytes: the slot and a 32-bit tag
    // folded from the id; the full id is compared in the slot only when the tag matches,
    // so a miss rarely touches a slot.
    //
    // Layout for sequential ids. The engine assigns ids in sequence, and the ids a book
    // is asked about most (the duplicate check of a new order, cancels and replaces of
    // young orders) are the latest. So the home bucket keeps runs of kRunIds consecutive
    // tags together: the run (tag / kRunIds) is hashed to a group of kRunIds buckets, and
    // the tag's low bits pick the bucket within it. Consecutive ids then share cache lines
    // (the buckets are cache-line aligned): a new order's duplicate check and insert find
    // their line already cached by its predecessors instead of missing on a random one.
    // Ids that fold to the same tag share a probe run, and ids spaced kRunIds apart with
    // the same low bits crowd the same offsets of their groups: still correct, just
    // slower; neither happens with sequential ids.
    class IdMap {
      public:
        static constexpr unsigned kRunBits = 3;
        static constexpr std::size_t kRunIds = std::size_t{1} << kRunBits;

        explicit IdMap(std::uint32_t entries_max);
        std::uint32_t find(std::uint64_t id, const std::vector<Slot>& slots) const noexcept;
        void insert(std::uint64_t id, std::uint32_t slot) noexcept;  // id must be absent
        void erase(std::uint64_t id, std::uint32_t slot) noexcept;   // must be present
        std::size_t count_entries() const noexcept;
        // Starts loading the cache line where `id` would be found (for writing), so that
        // it is there by the time the book needs it.
        void prefetch(std::uint64_t id) const noexcept {
            __builtin_prefetch(&buckets_[home(tag_of(id))], 1);
        }

      private:
        struct Bucket {
            std::uint32_t tag = 0;
            std::uint32_t slot = kNil;  // kNil: empty
        };
        static std::uint32_t tag_of(std::uint64_t id) noexcept {
            return static_cast<std::uint32_t>(id ^ (id >> 32));
        }
        std::size_t home(std::uint32_t tag) const noexcept {
            const std::uint64_t run = tag >> kRunBits;
            const auto group = static_cast<std::size_t>((run * 0x9E37'79B9'7F4A'7C15ull) >> shift_);
            return (group << kRunBits) | (tag & (kRunIds - 1));
        }
        std::vector<Bucket, LineAllocator<Bucket>> buckets_;
        std::size_t mask_ = 0;
        unsigned shift_ = 0;  // 64 - log2(groups)
    };

    // Open-addressing map (linear probing, backward-shift deletion) from a level's key
    // (key_of(side, price), which tells the sides apart) to its index in levels_, at most
    // half full. A bucket holds only the level index; the key is compared in the level,
    // which the caller reads next anyway. It spares rest() a binary search over the
    // side's levels (and its mispredicted branches) when the level exists, as it mostly
    // does near the mid. Runs of kRunKeys adjacent keys hash to one cache-line group, as
    // in IdMap, so the levels around the mid share a few lines.
    class LevelMap {
      public:
        static constexpr unsigned kRunBits = 4;
        static constexpr std::size_t kRunKeys = std::size_t{1} << kRunBits;

        explicit LevelMap(std::uint32_t entries_max);
        std::uint32_t find(std::int64_t key, const std::vector<LevelNode>& levels) const noexcept;
        void insert(std::int64_t key, std::uint32_t level) noexcept;  // key must be absent
        // The level must be present and still hold its price and side.
        void erase(std::int64_t key, std::uint32_t level,
                   const std::vector<LevelNode>& levels) noexcept;
        std::size_t count_entries() const noexcept;

      private:
        std::size_t home(std::int64_t key) const noexcept {
            const auto bits = static_cast<std::uint64_t>(key);
            const auto group =
                static_cast<std::size_t>(((bits >> kRunBits) * 0x9E37'79B9'7F4A'7C15ull) >> shift_);
            return (group << kRunBits) | static_cast<std::size_t>(bits & (kRunKeys - 1));
        }
        std::vector<std::uint32_t, LineAllocator<std::uint32_t>> buckets_;  // kNil: empty
        std::size_t mask_ = 0;
        unsigned shift_ = 0;  // 64 - log2(groups)
    };

    static std::int64_t key_of(Side side, std::int64_t price) noexcept {
        return side == Side::kBuy ? price : -price;
    }
    static Side opposite(Side side) noexcept {
        return side == Side::kBuy ? Side::kSell : Side::kBuy;
    }
    // Whether a taker of `taker_side` with `limit` may trade at `maker_price`.
    static bool crosses(Side taker_side, const std::optional<Price>& limit,
                        std::int64_t maker_price) noexcept {
        if (!limit)
            return true;
        return taker_side == Side::kBuy ? limit->ticks >= maker_price : limit->ticks <= maker_price;
    }

    std::vector<LevelRef>& side_levels(Side side) noexcept {
        return side == Side::kBuy ? bids_ : asks_;
    }
    const std::vector<LevelRef>& side_levels(Side side) const noexcept {
        return side == Side::kBuy ? bids_ : asks_;
    }

    // Matches a taker against the opposite side and then rests, cancels or leaves it as
    // book_api.md says. Used by add() and by a replace() that loses priority.
    void match_and_finish(std::uint64_t id, std::uint32_t owner, Side side, OrderType type,
                          TimeInForce tif, std::int64_t price, std::int64_t quantity,
                          std::vector<Event>& out);
    // Whether a FOK taker could fill `quantity` in full before reaching its own order.
    bool fok_can_fill(Side side, std::uint32_t owner, const std::optional<Price>& limit,
                      std::int64_t quantity) const noexcept;
    // Appends a new slot to the back of the level at `price` (created if need be).
    void rest(std::uint64_t id, std::uint32_t owner, Side side, TimeInForce tif, std::int64_t price,
              std::int64_t quantity);
    // Unlinks slot `s` from its level (dropping the level if it empties), the id map and
    // the pool.
    void remove(std::uint32_t s) noexcept;
    std::uint32_t find_or_insert_level(Side side, std::int64_t price);
    void erase_level(Side side, std::uint32_t level) noexcept;
    // Index in the side vector of the entry with `key`, or of where it would go
    // (lower bound), searching from the back first: most activity is near the best.
    static std::size_t lower_bound_from_back(const std::vector<LevelRef>& refs,
                                             std::int64_t key) noexcept;
    OrderView view_of(const Slot& slot) const noexcept {
        const LevelNode& level = levels_[slot.level];
        return OrderView{OrderId{slot.id},   OwnerId{slot.owner},
                         level.side,         static_cast<TimeInForce>(slot.tif),
                         Price{level.price}, Quantity{slot.remaining}};
    }

    std::uint32_t orders_max_ = 0;
    std::size_t order_count_ = 0;
    std::vector<Slot> slots_;
    std::uint32_t free_slot_ = kNil;
    std::vector<LevelNode> levels_;
    std::uint32_t free_level_ = kNil;
    std::vector<LevelRef> bids_;
    std::vector<LevelRef> asks_;
    IdMap ids_;
    LevelMap level_map_;
};

template <typename F>
void OrderBook::walk(Side taker_side, OwnerId owner, std::optional<Price> limit, F&& f) const {
    const auto& refs = side_levels(opposite(taker_side));
    for (auto it = refs.rbegin(); it != refs.rend(); ++it) {
        const LevelNode& level = levels_[it->level];
        if (!crosses(taker_side, limit, level.price))
            return;
        std::int64_t before_own = 0;
        bool own_found = false;
        for (std::uint32_t s = level.head; s != kNil; s = slots_[s].next) {
            if (slots_[s].owner == owner.value) {
                own_found = true;
                break;
            }
            before_own += slots_[s].remaining;
        }
        if (!own_found) {
            if (!f(Price{level.price}, Quantity{level.quantity}))
                return;
            continue;
        }
        if (before_own > 0)
            f(Price{level.price}, Quantity{before_own});
        return;
    }
}

template <typename F>
void OrderBook::for_each_order(F&& f) const {
    for (const auto* refs : {&bids_, &asks_}) {
        for (auto it = refs->rbegin(); it != refs->rend(); ++it) {
            for (std::uint32_t s = levels_[it->level].head; s != kNil; s = slots_[s].next)
                f(view_of(slots_[s]));
        }
    }
}

}  // namespace fxsettle::engine::book
