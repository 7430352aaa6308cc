#include "engine/book/reference_book.h"

#include <algorithm>

#include "engine/base/status.h"

namespace fxsettle::engine::book {

namespace {

Event event_of(EventKind kind, const OrderView& order) {
    Event event;
    event.kind = kind;
    event.order = order.id;
    event.owner = order.owner;
    event.side = order.side;
    event.price = order.price;
    event.remaining = order.remaining;
    return event;
}

Event cancel_event(const OrderView& order, CancelReason reason) {
    Event event = event_of(EventKind::kCancelled, order);
    event.cancel_reason = reason;
    return event;
}

Event reject_event(OrderId id, OwnerId owner, BookReject reject) {
    Event event;
    event.kind = EventKind::kRejected;
    event.order = id;
    event.owner = owner;
    event.reject = reject;
    return event;
}

}  // namespace

ReferenceBook::ReferenceBook(std::uint32_t orders_max) : orders_max_(orders_max) {
    FXSETTLE_ASSERT(orders_max >= 1 && orders_max <= kBookOrdersMax,
                    "orders_max must be in [1, kBookOrdersMax]");
}

bool ReferenceBook::reaches(Side taker_side, const std::optional<Price>& limit,
                            std::int64_t price) {
    if (!limit.has_value())
        return true;  // a market order takes any price
    if (taker_side == Side::kBuy)
        return price <= limit->ticks;
    return price >= limit->ticks;
}

Level ReferenceBook::level_of(std::int64_t price, const Queue& queue) {
    Level level;
    level.price = Price{price};
    for (const OrderView& order : queue) {
        level.quantity.minor += order.remaining.minor;
        ++level.orders;
    }
    return level;
}

void ReferenceBook::add(const NewOrder& order, std::vector<Event>& out) {
    FXSETTLE_ASSERT(order.id.value != 0, "order id 0 is reserved");
    const bool is_limit = order.type == OrderType::kLimit;
    const bool could_rest =
        is_limit && (order.tif == TimeInForce::kGtc || order.tif == TimeInForce::kDay);
    BookReject reject = BookReject::kNone;
    if (order.quantity.minor <= 0 || order.quantity.minor > kQuantityMax) {
        reject = BookReject::kQuantityInvalid;
    } else if (is_limit && order.price.ticks <= 0) {
        reject = BookReject::kPriceInvalid;
    } else if (index_.count(order.id.value) != 0) {
        reject = BookReject::kDuplicateOrderId;
    } else if (could_rest && index_.size() >= orders_max_) {
        reject = BookReject::kBookFull;
    }
    if (reject != BookReject::kNone) {
        Event event = reject_event(order.id, order.owner, reject);
        event.side = order.side;
        out.push_back(event);
        return;
    }

    OrderView taker;
    taker.id = order.id;
    taker.owner = order.owner;
    taker.side = order.side;
    taker.tif = order.tif;
    taker.price = is_limit ? order.price : Price{0};
    taker.remaining = order.quantity;
    out.push_back(event_of(EventKind::kAccepted, taker));
    match_and_finish(taker, order.type, out);
}

bool ReferenceBook::fok_can_fill(const OrderView& taker, const std::optional<Price>& limit) const {
    std::int64_t reachable = 0;
    walk(taker.side, taker.owner, limit, [&](Price, Quantity quantity) {
        reachable += quantity.minor;
        return reachable < taker.remaining.minor;
    });
    return reachable >= taker.remaining.minor;
}

void ReferenceBook::match_and_finish(const OrderView& taker_in, OrderType type,
                                     std::vector<Event>& out) {
    OrderView taker = taker_in;
    std::optional<Price> limit;
    if (type == OrderType::kLimit)
        limit = taker.price;
    const bool opposite_empty = taker.side == Side::kBuy ? asks_.empty() : bids_.empty();
    if (type == OrderType::kMarket && opposite_empty) {
        out.push_back(cancel_event(taker, CancelReason::kNoLiquidity));
        return;
    }
    if (taker.tif == TimeInForce::kFok && !fok_can_fill(taker, limit)) {
        out.push_back(cancel_event(taker, CancelReason::kFokUnfilled));
        return;
    }

    bool self_trade = false;
    auto take_from = [&](auto& book) {
        while (taker.remaining.minor > 0 && !book.empty()) {
            auto level = book.begin();
            if (!reaches(taker.side, limit, level->first))
                return;
            Queue& queue = level->second;
            OrderView& maker = queue.front();
            if (maker.owner == taker.owner) {
                self_trade = true;
                return;
            }
            const std::int64_t traded = std::min(taker.remaining.minor, maker.remaining.minor);
            taker.remaining.minor -= traded;
            maker.remaining.minor -= traded;
            Event fill = event_of(EventKind::kFill, taker);
            fill.price = Price{level->first};
            fill.quantity = Quantity{traded};
            fill.counter_order = maker.id;
            fill.counter_owner = maker.owner;
            fill.counter_remaining = maker.remaining;
            out.push_back(fill);
            if (maker.remaining.minor == 0) {
                index_.erase(maker.id.value);
                queue.pop_front();
                if (queue.empty())
                    book.erase(level);
            }
        }
    };
    if (taker.side == Side::kBuy)
        take_from(asks_);
    else
        take_from(bids_);

    if (taker.remaining.minor == 0)
        return;  // filled in full: the last kFill said so
    if (self_trade) {
        out.push_back(cancel_event(taker, CancelReason::kSelfTrade));
        return;
    }
    if (type == OrderType::kMarket || taker.tif == TimeInForce::kIoc) {
        out.push_back(cancel_event(taker, CancelReason::kIocRemainder));
        return;
    }
    rest(taker);
    out.push_back(event_of(EventKind::kRested, taker));
}

ReferenceBook::Queue& ReferenceBook::queue_at(Side side, std::int64_t price) {
    if (side == Side::kBuy)
        return bids_[price];
    return asks_[price];
}

void ReferenceBook::rest(const OrderView& order) {
    Queue& queue = queue_at(order.side, order.price.ticks);
    queue.push_back(order);
    index_[order.id.value] = std::prev(queue.end());
}

void ReferenceBook::erase(OrderId id) {
    const auto it = index_.find(id.value);
    const OrderView order = *it->second;
    Queue& queue = queue_at(order.side, order.price.ticks);
    queue.erase(it->second);
    index_.erase(it);
    if (queue.empty()) {
        if (order.side == Side::kBuy)
            bids_.erase(order.price.ticks);
        else
            asks_.erase(order.price.ticks);
    }
}

void ReferenceBook::cancel(OrderId id, OwnerId owner, std::vector<Event>& out) {
    const auto it = index_.find(id.value);
    if (it == index_.end()) {
        out.push_back(reject_event(id, owner, BookReject::kUnknownOrder));
        return;
    }
    if (it->second->owner != owner) {
        out.push_back(reject_event(id, owner, BookReject::kNotOwner));
        return;
    }
    out.push_back(cancel_event(*it->second, CancelReason::kRequested));
    erase(id);
}

void ReferenceBook::replace(OrderId id, OwnerId owner, Price price, Quantity remaining,
                            std::vector<Event>& out) {
    const auto it = index_.find(id.value);
    BookReject reject = BookReject::kNone;
    if (it == index_.end()) {
        reject = BookReject::kUnknownOrder;
    } else if (it->second->owner != owner) {
        reject = BookReject::kNotOwner;
    } else if (remaining.minor <= 0 || remaining.minor > kQuantityMax) {
        reject = BookReject::kReplaceInvalid;
    } else if (price.ticks <= 0) {
        reject = BookReject::kPriceInvalid;
    }
    if (reject != BookReject::kNone) {
        out.push_back(reject_event(id, owner, reject));
        return;
    }

    OrderView& order = *it->second;
    if (price == order.price && remaining <= order.remaining) {
        order.remaining = remaining;
        Event event = event_of(EventKind::kReplaced, order);
        event.priority_kept = true;
        out.push_back(event);
        return;
    }
    OrderView moved = order;
    moved.price = price;
    moved.remaining = remaining;
    erase(id);
    out.push_back(event_of(EventKind::kReplaced, moved));
    match_and_finish(moved, OrderType::kLimit, out);
}

void ReferenceBook::expire_day_orders(std::vector<Event>& out) {
    std::vector<OrderView> expiring;
    for_each_order([&](const OrderView& order) {
        if (order.tif == TimeInForce::kDay)
            expiring.push_back(order);
    });
    for (const OrderView& order : expiring) {
        out.push_back(cancel_event(order, CancelReason::kExpired));
        erase(order.id);
    }
}

std::optional<OrderView> ReferenceBook::find(OrderId id) const {
    const auto it = index_.find(id.value);
    if (it == index_.end())
        return std::nullopt;
    return *it->second;
}

std::optional<Level> ReferenceBook::best(Side side) const {
    const auto levels = depth(side, 1);
    if (levels.empty())
        return std::nullopt;
    return levels.front();
}

std::vector<Level> ReferenceBook::depth(Side side, std::size_t levels) const {
    std::vector<Level> result;
    auto collect = [&](const auto& book) {
        for (const auto& [price, queue] : book) {
            if (result.size() >= levels)
                break;
            result.push_back(level_of(price, queue));
        }
    };
    if (side == Side::kBuy)
        collect(bids_);
    else
        collect(asks_);
    return result;
}

}  // namespace fxsettle::engine::book
