// The FX order book's value types and events. Plain data, no allocation, shared by the
// fast book (order_book.h) and the reference book (reference_book.h), which implement
// the same interface and are run through the same typed tests.
//
// Units: a Price is an integer number of the pair's ticks (price = ticks x tick, e.g.
// USD/CNY 7.1234 at tick 0.0001 is 71234); a Quantity is minor units of the pair's base
// currency. The engine converts to and from money::Rate and money::Amount at its edge;
// the book never sees a float or a 128-bit number on its hot path.
#pragma once

#include <compare>
#include <cstdint>
#include <string_view>

namespace fxsettle::engine::book {

struct OrderId {
    std::uint64_t value = 0;  // engine-assigned, unique per book, never zero
    friend auto operator<=>(const OrderId&, const OrderId&) = default;
};
struct OwnerId {
    std::uint32_t value = 0;  // the PSP index
    friend auto operator<=>(const OwnerId&, const OwnerId&) = default;
};
struct Price {
    std::int64_t ticks = 0;  // > 0
    friend auto operator<=>(const Price&, const Price&) = default;
};
struct Quantity {
    std::int64_t minor = 0;  // base-currency minor units
    friend auto operator<=>(const Quantity&, const Quantity&) = default;
};

// Bounds (STYLE.md "every ... book depth has a named _max"). A book holds at most
// kBookOrdersMax resting orders (its constructor's orders_max is checked against it), and
// an order's quantity is at most kQuantityMax, so that the sum of a price level can never
// overflow an int64: the engine refuses larger quantities at intake (the book rejects
// them with kQuantityInvalid / kReplaceInvalid). kQuantityMax is 2^41 minor units, about
// 22 billion USD in cents.
inline constexpr std::uint32_t kBookOrdersMax = 1u << 21;
inline constexpr std::int64_t kQuantityMax = std::int64_t{1} << 41;
static_assert(kQuantityMax * std::int64_t{kBookOrdersMax} <= std::int64_t{1} << 62,
              "a full price level's quantity must fit an int64 with room to spare");

enum class Side : std::uint8_t { kBuy = 1, kSell = 2 };  // of the base currency
enum class OrderType : std::uint8_t { kLimit = 1, kMarket = 2 };
// FIX TimeInForce (59) values.
enum class TimeInForce : std::uint8_t { kDay = 0, kGtc = 1, kIoc = 3, kFok = 4 };

struct NewOrder {
    OrderId id;
    OwnerId owner;
    Side side = Side::kBuy;
    OrderType type = OrderType::kLimit;
    TimeInForce tif = TimeInForce::kGtc;
    Price price;  // limit orders only; ignored for market orders
    Quantity quantity;
};

// Why an order left the book without filling completely. Stable numbers.
enum class CancelReason : std::uint8_t {
    kRequested = 1,     // cancel()
    kIocRemainder = 2,  // IOC (or a market order): what did not fill at once
    kFokUnfilled = 3,   // FOK: could not fill in full at once, so nothing filled
    kSelfTrade = 4,     // the incoming order met a resting order of its own owner
    kExpired = 5,       // Day order at its pair's cut-off (expire_day_orders())
    kNoLiquidity = 6,   // market order with nothing to trade against
};
std::string_view cancel_reason_name(CancelReason reason) noexcept;

// Why the book refused a request; nothing changed. Stable numbers.
enum class BookReject : std::uint8_t {
    kNone = 0,
    kDuplicateOrderId = 1,
    kUnknownOrder = 2,     // cancel/replace of an id not resting in the book
    kNotOwner = 3,         // cancel/replace by another owner
    kQuantityInvalid = 4,  // <= 0 or > kQuantityMax
    kPriceInvalid = 5,     // limit price <= 0
    kBookFull = 6,         // orders_max resting orders already
    kReplaceInvalid = 7,   // replace to a quantity <= 0 or > kQuantityMax
};
std::string_view book_reject_name(BookReject reject) noexcept;

enum class EventKind : std::uint8_t {
    kAccepted = 1,   // the new order passed validation (always first for an add)
    kFill = 2,       // order (the taker) traded with counter (the maker) at the maker's price
    kRested = 3,     // what remains rests in the book at `price`
    kCancelled = 4,  // left the book (or never rested): `remaining` is what was cancelled
    kReplaced = 5,   // replace applied: `price`, `remaining` are the new ones
    kRejected = 6,   // request refused: `reject` says why; nothing changed
};
std::string_view event_kind_name(EventKind kind) noexcept;

// One flat event record; fields that do not apply to a kind are zero.
struct Event {
    EventKind kind = EventKind::kAccepted;
    OrderId order;
    OwnerId owner;
    OrderId counter_order;  // kFill: the resting (maker) order
    OwnerId counter_owner;
    Side side = Side::kBuy;      // the side of `order`
    Price price;                 // kFill: trade price; kRested/kReplaced: the order's price
    Quantity quantity;           // kFill: traded quantity
    Quantity remaining;          // after this event, of `order`
    Quantity counter_remaining;  // kFill: of the maker, after this fill
    CancelReason cancel_reason = CancelReason::kRequested;
    BookReject reject = BookReject::kNone;
    bool priority_kept = false;  // kReplaced: quantity reduced at the same price
    friend bool operator==(const Event&, const Event&) = default;
};

// A resting order as the book reports it.
struct OrderView {
    OrderId id;
    OwnerId owner;
    Side side = Side::kBuy;
    TimeInForce tif = TimeInForce::kGtc;
    Price price;
    Quantity remaining;
    friend bool operator==(const OrderView&, const OrderView&) = default;
};

struct Level {
    Price price;
    Quantity quantity;  // sum of remaining quantities at this price
    std::uint32_t orders = 0;
    friend bool operator==(const Level&, const Level&) = default;
};

}  // namespace fxsettle::engine::book
