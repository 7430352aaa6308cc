// Helpers shared by the order book tests: readable printing of events and orders (so
// that gtest failures say what differed), builders for expected events, and snapshots.
#pragma once

#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/book/types.h"

namespace fxsettle::engine::book {

inline const char* side_name(Side side) {
    return side == Side::kBuy ? "buy" : "sell";
}

inline const char* tif_name(TimeInForce tif) {
    switch (tif) {
        case TimeInForce::kDay:
            return "day";
        case TimeInForce::kGtc:
            return "gtc";
        case TimeInForce::kIoc:
            return "ioc";
        case TimeInForce::kFok:
            return "fok";
    }
    return "?";
}

inline std::string describe(const Event& e) {
    std::ostringstream s;
    s << event_kind_name(e.kind) << "{order=" << e.order.value << " owner=" << e.owner.value
      << " side=" << side_name(e.side);
    switch (e.kind) {
        case EventKind::kFill:
            s << " maker=" << e.counter_order.value << " maker_owner=" << e.counter_owner.value
              << " price=" << e.price.ticks << " qty=" << e.quantity.minor
              << " remaining=" << e.remaining.minor
              << " maker_remaining=" << e.counter_remaining.minor;
            break;
        case EventKind::kCancelled:
            s << " price=" << e.price.ticks << " remaining=" << e.remaining.minor
              << " reason=" << cancel_reason_name(e.cancel_reason);
            break;
        case EventKind::kRejected:
            s << " reject=" << book_reject_name(e.reject);
            break;
        case EventKind::kReplaced:
            s << " price=" << e.price.ticks << " remaining=" << e.remaining.minor
              << " priority_kept=" << (e.priority_kept ? "yes" : "no");
            break;
        default:
            s << " price=" << e.price.ticks << " remaining=" << e.remaining.minor;
    }
    // Fields that should be zero for this kind are printed only when they are not, so
    // that a difference in them shows.
    if (e.kind != EventKind::kFill && (e.counter_order.value != 0 || e.counter_owner.value != 0 ||
                                       e.quantity.minor != 0 || e.counter_remaining.minor != 0))
        s << " [stray fill fields: maker=" << e.counter_order.value
          << " maker_owner=" << e.counter_owner.value << " qty=" << e.quantity.minor
          << " maker_remaining=" << e.counter_remaining.minor << "]";
    if (e.kind != EventKind::kCancelled && e.cancel_reason != CancelReason::kRequested)
        s << " [stray reason=" << cancel_reason_name(e.cancel_reason) << "]";
    if (e.kind != EventKind::kRejected && e.reject != BookReject::kNone)
        s << " [stray reject=" << book_reject_name(e.reject) << "]";
    if (e.kind != EventKind::kReplaced && e.priority_kept)
        s << " [stray priority_kept]";
    s << "}";
    return s.str();
}

inline std::string describe(const OrderView& o) {
    std::ostringstream s;
    s << "order{id=" << o.id.value << " owner=" << o.owner.value << " " << side_name(o.side) << " "
      << tif_name(o.tif) << " price=" << o.price.ticks << " remaining=" << o.remaining.minor << "}";
    return s.str();
}

inline std::string describe(const Level& l) {
    std::ostringstream s;
    s << "level{price=" << l.price.ticks << " qty=" << l.quantity.minor << " orders=" << l.orders
      << "}";
    return s.str();
}

// gtest prints values through these.
inline void PrintTo(const Event& e, std::ostream* os) {
    *os << describe(e);
}
inline void PrintTo(const OrderView& o, std::ostream* os) {
    *os << describe(o);
}
inline void PrintTo(const Level& l, std::ostream* os) {
    *os << describe(l);
}

template <typename Book>
std::vector<OrderView> snapshot(const Book& book) {
    std::vector<OrderView> orders;
    book.for_each_order([&](const OrderView& o) { orders.push_back(o); });
    return orders;
}

namespace expect {

inline Event accepted(std::uint64_t id, std::uint32_t owner, Side side, std::int64_t price,
                      std::int64_t quantity) {
    Event e;
    e.kind = EventKind::kAccepted;
    e.order = OrderId{id};
    e.owner = OwnerId{owner};
    e.side = side;
    e.price = Price{price};
    e.remaining = Quantity{quantity};
    return e;
}

inline Event fill(std::uint64_t id, std::uint32_t owner, Side side, std::uint64_t maker,
                  std::uint32_t maker_owner, std::int64_t price, std::int64_t quantity,
                  std::int64_t remaining, std::int64_t maker_remaining) {
    Event e;
    e.kind = EventKind::kFill;
    e.order = OrderId{id};
    e.owner = OwnerId{owner};
    e.side = side;
    e.counter_order = OrderId{maker};
    e.counter_owner = OwnerId{maker_owner};
    e.price = Price{price};
    e.quantity = Quantity{quantity};
    e.remaining = Quantity{remaining};
    e.counter_remaining = Quantity{maker_remaining};
    return e;
}

inline Event rested(std::uint64_t id, std::uint32_t owner, Side side, std::int64_t price,
                    std::int64_t remaining) {
    Event e = accepted(id, owner, side, price, remaining);
    e.kind = EventKind::kRested;
    return e;
}

inline Event cancelled(std::uint64_t id, std::uint32_t owner, Side side, std::int64_t price,
                       std::int64_t remaining, CancelReason reason) {
    Event e = accepted(id, owner, side, price, remaining);
    e.kind = EventKind::kCancelled;
    e.cancel_reason = reason;
    return e;
}

inline Event replaced(std::uint64_t id, std::uint32_t owner, Side side, std::int64_t price,
                      std::int64_t remaining, bool priority_kept) {
    Event e = accepted(id, owner, side, price, remaining);
    e.kind = EventKind::kReplaced;
    e.priority_kept = priority_kept;
    return e;
}

// An add's rejection carries the order's side; a cancel's or replace's does not.
inline Event rejected(std::uint64_t id, std::uint32_t owner, BookReject reject,
                      Side side = Side::kBuy) {
    Event e;
    e.kind = EventKind::kRejected;
    e.order = OrderId{id};
    e.owner = OwnerId{owner};
    e.side = side;
    e.reject = reject;
    return e;
}

}  // namespace expect

}  // namespace fxsettle::engine::book
