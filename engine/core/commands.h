// The engine's commands: plain data, decoded and authorised at the edge (the FIX adapters,
// the admin interface), applied in order by the single engine thread (DESIGN.md, "One
// writer"). No FIX types, no pointers, nothing that needs the engine to interpret.
//
// Every command a PSP sends names the PSP it acts for (`psp`, the chart's index; the
// gateway fills it from the authenticated session) and the client's own id for the
// request (`client_id`: ClOrdID, QuoteReqID, the payout instruction id). A repeat of a
// client id already accepted with the same content returns the original outcome event
// and changes nothing; with different content it is rejected as a duplicate (see
// events.h, Reason::kDuplicateClientId). Client ids are scoped per PSP and per family:
// orders (new, cancel, replace share the ClOrdID space), quotes, payouts, positions,
// deposits (scoped per bank: the bank's own reference).
//
// Units: amounts are money::Amount minor units of the currency named beside them;
// rates are money::Rate on the pair named beside them. Never a float.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "engine/book/types.h"
#include "engine/calendar/calendar.h"
#include "engine/chart/chart.h"
#include "engine/money/amount.h"
#include "engine/money/currency.h"
#include "engine/money/rate.h"
#include "ledger/types.h"

namespace fxsettle::engine {

// Bounds on client-supplied text (STYLE.md: every field has a named maximum).
inline constexpr std::size_t kClientIdBytesMax = 64;
inline constexpr std::size_t kBeneficiaryAccountBytesMax = 64;
inline constexpr std::size_t kBeneficiaryNameBytesMax = 140;
inline constexpr std::size_t kPurposeBytesMax = 140;
inline constexpr std::size_t kReferenceBytesMax = 140;
inline constexpr std::size_t kReasonTextBytesMax = 256;

// How a value date is asked for: the calendar's request (tenor TOD/TOM/SPOT/T+n or a
// broken date, the date the client expects, and whether a closed date may be rolled).
// calendar::request_from_fix maps FIX SettlType (63) / SettlDate (64) onto it.
using ValueDateRequest = calendar::ValueDateRequest;

// ---- Funds ---------------------------------------------------------------------------

// A bank reports a PSP's pay-in to our nostro: Dr nostro, Cr the PSP's available (after
// first repaying what the PSP owes on its receivable). `client_id` is the bank's own
// reference, unique per bank.
struct Deposit {
    PspIndex psp = 0;
    std::string client_id;
    BankIndex bank = 0;
    money::Money amount;  // > 0
    friend bool operator==(const Deposit&, const Deposit&) = default;
};

// ---- FX orders -----------------------------------------------------------------------

struct NewOrder {
    PspIndex psp = 0;
    std::string client_id;  // ClOrdID
    money::CurrencyPair pair;
    book::Side side = book::Side::kBuy;  // of the base currency
    book::OrderType type = book::OrderType::kLimit;
    book::TimeInForce tif = book::TimeInForce::kGtc;
    std::optional<money::Rate> price;  // limit orders: on `pair`, a multiple of its tick
    money::Amount quantity;            // base-currency minor units, >= the pair's min_qty
    ValueDateRequest value_date;
    friend bool operator==(const NewOrder&, const NewOrder&) = default;
};

struct CancelOrder {
    PspIndex psp = 0;
    std::string client_id;       // this request's ClOrdID
    std::string orig_client_id;  // OrigClOrdID: the order's ClOrdID
    friend bool operator==(const CancelOrder&, const CancelOrder&) = default;
};

// Cancel/replace: a new limit price and a new total quantity (FIX OrderQty, including
// what has filled). Keeping the price and reducing the quantity keeps time priority.
struct ReplaceOrder {
    PspIndex psp = 0;
    std::string client_id;
    std::string orig_client_id;
    money::Rate price;
    money::Amount quantity;  // new total quantity, > the filled quantity
    friend bool operator==(const ReplaceOrder&, const ReplaceOrder&) = default;
};

struct OrderStatusRequest {
    PspIndex psp = 0;
    std::string client_id;        // the request's id (OrdStatusReqID)
    std::string order_client_id;  // the order's ClOrdID
    friend bool operator==(const OrderStatusRequest&, const OrderStatusRequest&) = default;
};

// ---- Quotes --------------------------------------------------------------------------

// Convert `amount` (in `sell` or in `buy`) from `sell` into `buy`. The engine answers
// with a firm all-in rate valid for engine.quote_ttl_ms.
struct QuoteRequest {
    PspIndex psp = 0;
    std::string client_id;  // QuoteReqID
    money::Currency sell;
    money::Currency buy;
    money::Money amount;  // > 0, in `sell` or `buy`
    ValueDateRequest value_date;
    friend bool operator==(const QuoteRequest&, const QuoteRequest&) = default;
};

// ---- Payouts -------------------------------------------------------------------------

struct Beneficiary {
    std::string bank_id;  // a configured bank that pays in the payout currency
    std::string account;  // IBAN, account number, card-less wallet id
    std::string name;
    std::string country;  // ISO 3166-1 alpha-2, upper case
    friend bool operator==(const Beneficiary&, const Beneficiary&) = default;
};

struct PayoutInstruction {
    PspIndex psp = 0;
    std::string client_id;    // the instruction id
    Beneficiary beneficiary;  // external payouts
    // An internal payout to another PSP's available account instead of a beneficiary.
    std::optional<PspIndex> payee_psp;
    money::Money amount;                    // what the beneficiary receives, > 0
    money::Currency funding_currency;       // debited from the PSP; = amount's for no FX
    std::optional<std::uint64_t> quote_id;  // locks the rate of this PSP's live quote
    ValueDateRequest value_date;
    std::string purpose;
    std::string reference;
    friend bool operator==(const PayoutInstruction&, const PayoutInstruction&) = default;
};

// ---- Reports -------------------------------------------------------------------------

struct PositionRequest {
    PspIndex psp = 0;
    std::string client_id;                    // PosReqID
    std::optional<money::Currency> currency;  // nullopt: every currency
    friend bool operator==(const PositionRequest&, const PositionRequest&) = default;
};

// ---- Venues (from the venue adapter) --------------------------------------------------

// A streamed two-way price. Not idempotent and not stored beyond the latest per venue
// and pair: a newer rate replaces the older.
struct VenueRate {
    VenueIndex venue = 0;
    money::CurrencyPair pair;
    money::Rate bid;
    money::Rate ask;
    money::Amount bid_size;  // base minor units
    money::Amount ask_size;
    ledger::Timestamp time{};  // the venue's sending time
    friend bool operator==(const VenueRate&, const VenueRate&) = default;
};

// A fill of a hedge order the engine sent (settlement.h). `exec_id` is the venue's
// ExecID: a repeat is ignored.
struct HedgeFill {
    VenueIndex venue = 0;
    std::uint64_t hedge_order_id = 0;
    std::string exec_id;
    money::Amount base_amount;  // > 0
    money::Rate price;
    bool last = false;  // the order is done (filled, or the rest cancelled by the venue)
    friend bool operator==(const HedgeFill&, const HedgeFill&) = default;
};

struct HedgeReject {
    VenueIndex venue = 0;
    std::uint64_t hedge_order_id = 0;
    std::string text;
    friend bool operator==(const HedgeReject&, const HedgeReject&) = default;
};

// ---- Banks (from the bank adapter) ----------------------------------------------------

// The bank executed a payment order (all its lines).
struct BankConfirmation {
    BankIndex bank = 0;
    std::uint64_t payment_order_id = 0;
    std::string bank_reference;
    friend bool operator==(const BankConfirmation&, const BankConfirmation&) = default;
};

// The bank refused one line of a payment order (a beneficiary payout).
struct BankLineRejection {
    BankIndex bank = 0;
    std::uint64_t payment_order_id = 0;
    std::uint32_t line = 0;  // index into the order's lines
    std::string text;
    friend bool operator==(const BankLineRejection&, const BankLineRejection&) = default;
};

// The bank executed one line of a payment order (a beneficiary payout); the order's
// other lines stay open. A repeat changes nothing; a confirmation of a rejected line is
// refused (SettlementReplyRejected kLineAlreadyRejected).
struct BankLineConfirmation {
    BankIndex bank = 0;
    std::uint64_t payment_order_id = 0;
    std::uint32_t line = 0;  // index into the order's lines
    std::string bank_reference;
    friend bool operator==(const BankLineConfirmation&, const BankLineConfirmation&) = default;
};

// ---- Administration (issue 8) ---------------------------------------------------------

// Replaces a PSP's risk limits. Applied between batches (it takes effect for the next
// batch's commands) and recorded as an audit row. A config reload becomes one SetLimits
// per PSP whose limits changed (limits_from_config in engine.h).
struct RiskLimits {
    config::FundingMode funding_mode = config::FundingMode::kPrefunded;
    config::CurrencyAmounts credit_limits;
    config::CurrencyAmounts net_debit_caps;
    money::Money aggregate_cap;
    // Per currency, the largest short position an FX order may leave: what the PSP has
    // committed to deliver beyond its own funds there. No entry: no short position limit
    // in that currency (a net debit cap with no entry is a cap of zero).
    config::CurrencyAmounts short_position_limits;
    friend bool operator==(const RiskLimits&, const RiskLimits&) = default;
};

struct SetLimits {
    PspIndex psp = 0;
    std::string client_id;  // the admin request's id
    std::string actor;      // who asked ("config-reload", an operator's name)
    RiskLimits limits;
    friend bool operator==(const SetLimits&, const SetLimits&) = default;
};

// Alternatives are appended, never reordered: the index is on disk (codec.h).
using Command =
    std::variant<Deposit, NewOrder, CancelOrder, ReplaceOrder, OrderStatusRequest, QuoteRequest,
                 PayoutInstruction, PositionRequest, VenueRate, HedgeFill, HedgeReject,
                 BankConfirmation, BankLineRejection, SetLimits, BankLineConfirmation>;

}  // namespace fxsettle::engine
