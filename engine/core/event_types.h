// The intake's events: what the engine tells PSPs, venues and banks about the commands
// it applied. Plain data. The `Event` variant (events.h) adds settlement's events
// (settlement.h), which may use these structs (PayoutSettled, PayoutFailed, Reason):
// settlement.h includes this header, events.h includes both, so there is no cycle.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/book/types.h"
#include "engine/chart/chart.h"
#include "engine/core/commands.h"
#include "engine/money/amount.h"
#include "engine/money/rate.h"
#include "ledger/types.h"

namespace fxsettle::engine {

// Why a command was refused. Stable numbers grouped by subsystem, never reused. Every
// rejection also carries a text naming what is wrong (the figures, the limit, the id).
enum class Reason : std::uint16_t {
    kNone = 0,
    // request: 100..199
    kDuplicateClientId = 100,  // the client id was used before with different content
    kClientIdInvalid = 101,    // empty or longer than kClientIdBytesMax
    kUnknownPsp = 102,
    kUnknownCurrency = 103,  // not a currency of the chart
    kAmountInvalid = 104,    // <= 0, or in the wrong currency
    kTextTooLong = 105,      // purpose, reference, name ... past its maximum
    kUnknownBank = 106,
    kUnknownVenue = 107,
    kCurrencyMismatch = 108,  // an amount in a currency the command does not allow
    // orders: 200..299
    kUnknownPair = 200,
    kQuantityInvalid = 201,         // below the pair's min_qty, or above the book's maximum
    kPriceInvalid = 202,            // missing on a limit order, not on the tick, out of range
    kTimeInForceInvalid = 203,      // GTC or Day on a market order
    kUnknownOrder = 204,            // cancel/replace/status of a ClOrdID not known
    kOrderDone = 205,               // cancel/replace of an order that is no longer open
    kReplaceQuantityInvalid = 206,  // new total <= what has filled
    kBookFull = 207,
    // funds: 300..399
    kInsufficientFunds = 300,    // prefunded: available short of what must be held
    kCreditLimitExceeded = 301,  // postfunded: available plus credit headroom short
    // risk (issue 8): 400..499
    kNetDebitCapExceeded = 400,
    kAggregateCapExceeded = 401,
    kShortPositionLimitExceeded = 402,
    kNoRateForRisk = 403,  // a net debit cannot be valued in the reference currency
    // value dates: 500..599
    kValueDateNotBusinessDay = 500,  // and no roll was asked for
    kValueDateInPast = 501,
    kValueDateOutOfRange = 502,  // outside the calendars' loaded range
    kValueDateInvalid = 503,     // a broken tenor without a date, a date unlike the tenor's
    kValueDateMismatch = 504,    // a payout's value date differs from its quote's
    // quotes: 600..699
    kNoRate = 600,  // no fresh venue rate for the pair
    kUnknownQuote = 601,
    kQuoteExpired = 602,
    kQuoteUsed = 603,
    kQuoteMismatch = 604,  // the quote converts other currencies or another amount
    // payouts: 700..799
    kBeneficiaryInvalid = 700,  // account, name or country missing or malformed
    kBankDoesNotServeCurrency = 701,
    kPayeeInvalid = 702,      // an internal payee that is the payer itself
    kNoConversionPair = 703,  // no configured pair between funding and payout currency
    kNoCycle = 704,           // the currency has no settlement cycle
    // admin: 800..899
    kLimitsInvalid = 800,  // a negative amount, a currency not in the chart
    // 900..999: settlement (settlement.h)
};
std::string_view reason_name(Reason reason) noexcept;  // "insufficient_funds", ...

// Which request a rejection answers (the gateway picks the FIX message from it).
enum class RequestKind : std::uint8_t {
    kNewOrder = 1,
    kCancel = 2,
    kReplace = 3,
    kOrderStatus = 4,
    kQuote = 5,
    kPayout = 6,
    kPosition = 7,
    kDeposit = 8,
    kSetLimits = 9,
    kVenue = 10,  // venue rate, hedge fill, hedge reject
    kBank = 11,   // bank confirmation, line rejection
};

// ---- Orders --------------------------------------------------------------------------

enum class OrderState : std::uint8_t {
    kNew = 0,  // FIX OrdStatus values
    kPartiallyFilled = 1,
    kFilled = 2,
    kCancelled = 4,
    kReplaced = 5,
    kExpired = 12,  // 'C' in FIX
};

struct OrderAccepted {
    PspIndex psp = 0;
    std::string client_id;
    std::uint64_t order_id = 0;
    money::CurrencyPair pair;
    book::Side side = book::Side::kBuy;
    book::OrderType type = book::OrderType::kLimit;
    book::TimeInForce tif = book::TimeInForce::kGtc;
    std::optional<money::Rate> price;
    money::Amount quantity;
    ledger::Date value_date{};
    money::Money held;  // funds moved available -> held for the order
    friend bool operator==(const OrderAccepted&, const OrderAccepted&) = default;
};

// The pair and side let the gateway answer with an ExecutionReport (Symbol and Side are
// required there) without having seen the request, e.g. after a restart:
//  - a new order: the request's own pair and side, also when the pair is not traded;
//  - a cancel, replace or status request: the order's, when the engine knows the order
//    (else nullopt: the request itself names only the order's ClOrdID);
//  - nullopt as well in an event decoded from a version-1 outbox row (codec.h), written
//    before these fields existed.
// `order_id` and `order_state` let the gateway fill OrderID and OrdStatus of an
// OrderCancelReject the same way: for a cancel, replace or status request, the engine id
// and current state of the order `orig_client_id` names when the engine knows it (also
// when the order is done, e.g. kOrderDone); nullopt for a new order, for an order the
// engine does not know (never accepted, or done and dropped at a cut-off), and in an event
// decoded from a version-1 outbox row.
struct OrderRejected {
    PspIndex psp = 0;
    std::string client_id;
    std::string orig_client_id;  // cancel/replace/status: the order's ClOrdID
    RequestKind request = RequestKind::kNewOrder;
    Reason reason = Reason::kNone;
    std::string text;
    std::optional<money::CurrencyPair> pair;
    std::optional<book::Side> side;
    std::optional<std::uint64_t> order_id;
    std::optional<OrderState> order_state;
    friend bool operator==(const OrderRejected&, const OrderRejected&) = default;
};

// One execution of one order (each trade gives one to the buyer and one to the seller).
struct OrderFilled {
    PspIndex psp = 0;
    std::string client_id;
    std::uint64_t order_id = 0;
    std::uint64_t trade_id = 0;
    money::CurrencyPair pair;
    book::Side side = book::Side::kBuy;
    money::Rate price;
    money::Amount quantity;      // base minor units of this fill
    money::Amount quote_amount;  // quote minor units of this fill
    money::Amount leaves;        // still open after it
    money::Amount cum_quantity;
    bool maker = false;
    ledger::Date value_date{};
    // The average price of the order's fills so far: the sum of quantity x price over
    // them, divided by cum_quantity, rounded half-even to Rate::kDecimals (FIX AvgPx).
    // Absent from events of rows written before codec version 3.
    std::optional<money::Rate> avg_price;
    friend bool operator==(const OrderFilled&, const OrderFilled&) = default;
};

struct OrderCancelled {
    PspIndex psp = 0;
    std::string client_id;       // the cancel request's id, or the order's own when unsolicited
    std::string orig_client_id;  // the order's ClOrdID
    std::uint64_t order_id = 0;
    book::CancelReason reason = book::CancelReason::kRequested;
    money::Amount cancelled;  // the quantity that left the book
    money::Amount cum_quantity;
    money::Money released;  // funds moved held -> available
    // The order's pair and side (Symbol and Side of the ExecutionReport). The engine always
    // sets them; nullopt only in an event decoded from a version-1 outbox row (codec.h).
    std::optional<money::CurrencyPair> pair;
    std::optional<book::Side> side;
    friend bool operator==(const OrderCancelled&, const OrderCancelled&) = default;
};

struct OrderReplaced {
    PspIndex psp = 0;
    std::string client_id;
    std::string orig_client_id;
    std::uint64_t order_id = 0;
    money::Rate price;
    money::Amount quantity;  // new total
    money::Amount leaves;
    bool priority_kept = false;
    money::Money held;  // the order's hold after the replace
    // The order's side (its pair is the price's). The engine always sets it; nullopt only
    // in an event decoded from a version-1 outbox row (codec.h).
    std::optional<book::Side> side;
    friend bool operator==(const OrderReplaced&, const OrderReplaced&) = default;
};

struct OrderStatusReport {
    PspIndex psp = 0;
    std::string client_id;  // the request's id
    std::string order_client_id;
    std::uint64_t order_id = 0;
    OrderState state = OrderState::kNew;
    money::CurrencyPair pair;
    book::Side side = book::Side::kBuy;
    std::optional<money::Rate> price;
    money::Amount quantity;
    money::Amount leaves;
    money::Amount cum_quantity;
    friend bool operator==(const OrderStatusReport&, const OrderStatusReport&) = default;
};

// ---- Quotes --------------------------------------------------------------------------

struct QuoteIssued {
    PspIndex psp = 0;
    std::string client_id;
    std::uint64_t quote_id = 0;
    money::Currency sell;
    money::Currency buy;
    money::Rate rate;  // all-in on the configured pair (mid +/- the PSP's spread)
    money::Money sell_amount;
    money::Money buy_amount;
    ledger::Timestamp valid_until{};
    ledger::Date value_date{};
    friend bool operator==(const QuoteIssued&, const QuoteIssued&) = default;
};

struct QuoteRejected {
    PspIndex psp = 0;
    std::string client_id;
    Reason reason = Reason::kNone;
    std::string text;
    // The configured pair that converts the request's currencies (the Symbol of the
    // QuoteRequestReject), in its configured direction. nullopt when the request names a
    // currency that is not traded or two currencies no pair converts, and in an event
    // decoded from a version-1 outbox row (codec.h).
    std::optional<money::CurrencyPair> pair;
    friend bool operator==(const QuoteRejected&, const QuoteRejected&) = default;
};

// ---- Payouts -------------------------------------------------------------------------

struct PayoutAccepted {
    PspIndex psp = 0;
    std::string client_id;
    std::uint64_t payout_id = 0;
    money::Money amount;
    money::Money held;                // in the funding currency, buffer included when unlocked
    std::optional<money::Rate> rate;  // the locked quote's or the estimate's
    bool rate_locked = false;
    ledger::Date value_date{};
    friend bool operator==(const PayoutAccepted&, const PayoutAccepted&) = default;
};

struct PayoutRejected {
    PspIndex psp = 0;
    std::string client_id;
    Reason reason = Reason::kNone;
    std::string text;
    friend bool operator==(const PayoutRejected&, const PayoutRejected&) = default;
};

// Emitted by settlement: the payout was posted in a cycle (and, for an external one, its
// bank confirmed the payment order).
struct PayoutSettled {
    PspIndex psp = 0;
    std::string client_id;
    std::uint64_t payout_id = 0;
    money::Money amount;
    money::Money funded;  // what the PSP paid in the funding currency
    std::optional<money::Rate> rate;
    ledger::Date value_date{};
    friend bool operator==(const PayoutSettled&, const PayoutSettled&) = default;
};

// Emitted by settlement: the bank refused the payout's line; its funds went back to the
// PSP.
struct PayoutFailed {
    PspIndex psp = 0;
    std::string client_id;
    std::uint64_t payout_id = 0;
    std::uint16_t reason = 0;  // Reason or settlement's own code
    std::string text;
    money::Money refunded;
    friend bool operator==(const PayoutFailed&, const PayoutFailed&) = default;
};

// ---- Funds, positions, limits ---------------------------------------------------------

struct DepositCredited {
    PspIndex psp = 0;
    std::string client_id;
    BankIndex bank = 0;
    money::Money amount;
    money::Money receivable_repaid;
    money::Money credited;  // to available
    friend bool operator==(const DepositCredited&, const DepositCredited&) = default;
};

// A refused command that is not an order, quote or payout (deposit, position request,
// set-limits, venue and bank messages the engine cannot place).
struct CommandRejected {
    RequestKind request = RequestKind::kDeposit;
    PspIndex psp = 0;  // when the command names one
    std::string client_id;
    Reason reason = Reason::kNone;
    std::string text;
    friend bool operator==(const CommandRejected&, const CommandRejected&) = default;
};

struct PositionLine {
    money::Currency currency;
    money::Amount available;
    money::Amount held;
    money::Amount receivable;  // what the PSP owes (postfunded credit drawn)
    // This cycle's net position: inflows - outflows (negative: a net debit).
    money::Amount net_position;
    money::Amount cap;       // the net debit cap
    money::Amount headroom;  // cap - net debit (may be negative after a limit cut)
    friend bool operator==(const PositionLine&, const PositionLine&) = default;
};

struct PositionReport {
    PspIndex psp = 0;
    std::string client_id;
    std::vector<PositionLine> lines;  // by currency code
    money::Money aggregate_cap;
    // The net debits valued in the cap's currency; nullopt when a rate is missing.
    std::optional<money::Money> aggregate_used;
    friend bool operator==(const PositionReport&, const PositionReport&) = default;
};

struct LimitsChanged {
    PspIndex psp = 0;
    std::string client_id;
    std::string actor;
    RiskLimits limits;
    friend bool operator==(const LimitsChanged&, const LimitsChanged&) = default;
};

}  // namespace fxsettle::engine
