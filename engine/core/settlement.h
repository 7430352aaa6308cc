// Settlement cycles (issue 4 "Settlement cycles", issue 8 hold-back): what happens at a
// cut-off, and afterwards when hedge fills and bank confirmations come back.
//
// Settlement is a pure state machine owned by the engine thread: no clock (time is passed
// in), no threads, no ledger reads. Every call appends ledger operations (to commit in
// the same write transaction as the batch) and events (outbox rows) to a
// SettlementOutput; the same calls in the same order always give the same operations,
// events and state (state_digest()).
//
// Accounting (the engine follows the same model): per PSP and currency `available` and
// `held`. At intake the engine moves the funds of an accepted payout (and of an order's
// sold currency) available -> held with a posted entry. At the cut-off Settlement:
//   1. converts each PSP's cross-currency payouts into the payout currency with ledger
//      FxConversionRequests, held(funding) -> fx_position(funding) ... fx_position(C) ->
//      held(C), aggregated per PSP, pair and rate; what was held beyond the cost goes back
//      held -> available in the funding currency, and what the conversion credited beyond
//      the payouts' amounts (it converts a whole number of funding minor units) goes back
//      held -> available in C. A pooled conversion never costs the PSP more than the sum
//      of its payouts' own costs (funding_amount() each): when its single rounding falls
//      short, the PSP pays that sum and the rounding account makes up the shortfall (less
//      than a minor unit per payout). A payout whose cost at the cycle rate exceeds what
//      was held fails (PayoutFailed, funds back to available). Opposite conversions on a
//      pair are crossed internally (netting::cross) and only the residual is hedged;
//   2. hedges the residual per pair at the venues (netting::plan_hedge): HedgeOrder events;
//      a fill posts Dr/Cr between fx_position and the venue account in both currencies; a
//      reject, a timeout or a size the quotes cannot cover leaves the exposure in
//      fx_position and is reported (ExposureReported), never dropped;
//   3. nets each currency multilaterally (netting::net) and holds back to the next cycle
//      every instruction paid by a PSP whose result would breach a cap (HoldBack): its net
//      debit cap in the currency, or its aggregate cap per value date: the net debits
//      of the call's currencies for that date plus those settled by earlier cut-offs of
//      the same date (all valued at this call's mids, rounded up, directly or through
//      one common currency; no mid to value one holds back too). Holding a PSP back lowers its
//      payees' results, so the check repeats until nothing more breaches. The hold-back
//      is decided before any conversion, so a held-back payout converts nothing.
//      A trade is never settled by half: holding back one leg holds back its other leg
//      (kOtherLegHeldBack), in the same call or, when the other leg's currency cuts off
//      later, at that cut-off; a leg whose other leg has already settled (its currency
//      cut off first) always settles, and still counts in the caps;
//   4. posts, per currency: Dr held(payer) / Cr settlement(bank, C) for external lines
//      (one PaymentOrder per bank and currency); internal payouts and trade legs go
//      Dr held(payer) / Cr settlement(bank_for(C), C) and Dr settlement / Cr
//      available(payee), so the settlement account nets to zero for them;
//   5. on a bank confirmation: Dr settlement / Cr nostro (PayoutSettled); on a rejection:
//      Dr settlement / Cr available(payer, C) (PayoutFailed with the bank's reason).
//
// Ledger entry ids written here have hi = kSettlementEntryIdHi; the engine uses others.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <variant>
#include <vector>

#include "config/config.h"
#include "engine/base/status.h"
#include "engine/chart/chart.h"
#include "engine/core/commands.h"
#include "engine/core/event_types.h"
#include "engine/money/amount.h"
#include "engine/money/rate.h"
#include "engine/netting/netting.h"
#include "ledger/types.h"

namespace fxsettle::engine {

using PairIndex = netting::PairIndex;
using PayoutId = std::uint64_t;        // engine-assigned, unique, never zero
using HedgeId = std::uint64_t;         // Settlement-assigned: 1, 2, ... (ClOrdID "HG-<id>")
using PaymentOrderId = std::uint64_t;  // Settlement-assigned: 1, 2, ... ("PO-<id>")
using CycleId = std::uint64_t;         // Settlement-assigned: one per cutoff() call

// The hi word of every ledger entry id Settlement writes ("SETL" in ASCII); lo counts up
// from 1. The engine's own entries must use another hi word.
inline constexpr std::uint64_t kSettlementEntryIdHi = 0x5345'544C'0000'0001ULL;

// Bounds (STYLE.md). A cutoff() beyond the first two fails (kOutOfRange) and changes
// nothing. At kHedgesInFlightMax open hedge orders a cut-off sends no more and reports the
// rest as exposure; a hedge order takes at most kFillExecIdsMax fills (a further one is
// refused with kFillExceedsHedge).
inline constexpr std::size_t kCutoffItemsMax = netting::kObligationsMax;  // payouts + legs
inline constexpr std::size_t kCutoffCurrenciesMax = 64;
inline constexpr std::size_t kHedgesInFlightMax = 1u << 16;
// Lines of one payment order: a bank's lines of one currency and cycle beyond this go out
// as several payment orders, each small enough for one FIX message (the adapters' wire
// limit is 4096 group entries; a 1000-line U3 is about 150 kB).
inline constexpr std::size_t kPaymentOrderLinesMax = 1000;
inline constexpr std::size_t kFillExecIdsMax = 4096;
// The aggregate cap counts the net debits of every cut-off of a value date; what settled
// for a date this many days before a cut-off's earliest value date is forgotten.
inline constexpr int kSettledDebitsDaysKept = 7;
// Finished work leaves the state (issue 4 follow-up: memory stays bounded over many days).
// A payment order whose every line is confirmed or rejected (and posted) keeps only a
// compact record (bank, each line's payout id and outcome), so that a repeated or
// conflicting bank reply is answered exactly as before; a hedge order that is closed
// (filled in full, rejected, timed out or ended by the venue) stays whole, so that a late
// or repeated fill is still handled. Both are dropped kFinishedDaysKept days after the
// day they finished (on the first call of a later day: on_tick() runs every batch); a
// reply naming one after that changes nothing and is refused with
// kPaymentOrderNoLongerKept or kHedgeNoLongerKept.
inline constexpr int kFinishedDaysKept = 7;
static_assert(kCutoffItemsMax <= netting::kObligationsMax,
              "every item of a cut-off becomes at most one netting obligation");

// ---- Inputs at a cut-off -------------------------------------------------------------

// A payout due in the cut-off's currency, as accepted at intake.
struct DuePayout {
    PayoutId id = 0;
    std::string client_id;  // the PSP's instruction id, echoed in PayoutSettled/Failed
    PspIndex payer = 0;
    money::Amount amount;  // > 0, in the cycle currency (CurrencyCutoff::currency)
    // What the engine moved available -> held at intake, in `funding_currency`: `amount`
    // when it is the cycle currency; otherwise the funding cost at the locked rate, or
    // the estimate plus the FX buffer when unlocked (see funding_amount()).
    CurrencyIndex funding_currency = 0;
    money::Amount held;
    // A locked quote's rate, on the configured pair of the two currencies (either
    // direction of it); nullopt converts at the cycle rate (the mid +/- the PSP's spread).
    std::optional<money::Rate> locked_rate;
    // Internal payout to another PSP (credited to its available), or an external one paid
    // through `bank` (used when it serves the currency, else Chart::bank_for()).
    std::optional<PspIndex> payee_psp;
    BankIndex bank = 0;
    Beneficiary beneficiary;  // commands.h; bank_id is informational here (see `bank`)
    friend bool operator==(const DuePayout&, const DuePayout&) = default;
};

// One currency's leg of an order-book trade: the payer's held funds go to the payee's
// available (seller's base to the buyer, buyer's quote to the seller).
struct DueTradeLeg {
    std::uint64_t trade_id = 0;  // engine-assigned
    bool base_leg = true;        // which leg of the trade this is
    PspIndex payer = 0;
    PspIndex payee = 0;
    money::Amount amount;  // > 0, in the cycle currency
    friend bool operator==(const DueTradeLeg&, const DueTradeLeg&) = default;
};

// What Settlement needs of a PSP's terms (limits change at run time: pass the current
// ones at every cut-off).
struct PspTerms {
    std::uint32_t spread_bps = 0;
    config::FundingMode funding_mode = config::FundingMode::kPrefunded;
    config::CurrencyAmounts net_debit_caps;  // absent currency: a cap of zero
    money::Money aggregate_cap;              // per value date, over every cut-off of it
    static PspTerms from_config(const config::PspConfig& psp);
    static PspTerms from_limits(std::uint32_t spread_bps, const RiskLimits& limits);
};

struct PairMid {
    PairIndex pair = 0;
    money::Rate mid;
    friend bool operator==(const PairMid&, const PairMid&) = default;
};

// The items of one currency whose cut-off is now.
struct CurrencyCutoff {
    CurrencyIndex currency = 0;
    ledger::Date value_date{};
    std::vector<DuePayout> payouts;  // every one with amount in `currency`
    std::vector<DueTradeLeg> trade_legs;
};

// One cut-off. Currencies whose cut-offs fall on the same instant come in one call (the
// default config has several), so that opposite conversions on a pair (a CNY payout
// funded in SGD, an SGD payout funded in CNY) cross internally. Items held back by an
// earlier cycle of a currency are added by Settlement itself, before the new ones.
struct CutoffInput {
    std::vector<CurrencyCutoff> currencies;  // distinct currencies
    // Fresh venue quotes (the caller filters stale ones) and the mid per pair.
    std::vector<netting::VenueQuote> quotes;
    std::vector<PairMid> mids;
    std::vector<PspTerms> psps;  // indexed by PspIndex: chart.psp_count() entries
    // The time of the batch that runs the cut-off: later than the cut-off's own time when
    // it runs late (the node was down over it, or the sequencer woke late). Hedge orders
    // go out then, so their deadline counts from the later of the two; default: the
    // cut-off's time.
    std::optional<ledger::Timestamp> batch_time;
};

// Replies come as the engine's commands (commands.h): HedgeFill, HedgeReject,
// BankConfirmation (a whole order), BankLineConfirmation and BankLineRejection (one line
// by index).

// Settlement's outcome codes, in the 900..999 band events.h reserves (PayoutFailed::reason,
// SettlementReplyRejected::code). Stable numbers, never reused.
enum class SettlementCode : std::uint16_t {
    kBankRejected = 900,         // PayoutFailed: the bank refused the line
    kFxBufferExceeded = 901,     // PayoutFailed: the cycle rate costs more than was held
    kUnknownPaymentOrder = 910,  // replies
    kUnknownLine = 911,
    kBankMismatch = 912,              // the reply's bank is not the order's
    kLineAlreadyRejected = 913,       // a confirmation of a rejected line
    kLineAlreadyConfirmed = 914,      // a rejection of a confirmed line
    kPaymentOrderNoLongerKept = 915,  // finished more than kFinishedDaysKept days ago
    kUnknownHedge = 920,
    kVenueMismatch = 921,
    kFillExceedsHedge = 922,
    kFillPriceInvalid = 923,   // a price on another pair
    kHedgeNoLongerKept = 924,  // closed more than kFinishedDaysKept days ago
};
std::string_view settlement_code_name(SettlementCode code) noexcept;

// ---- Events (the engine's Event variant includes each of them) -----------------------

// One PSP's conversion executed at the cut-off (for its execution report).
struct ConversionExecuted {
    CycleId cycle_id = 0;
    PspIndex psp = 0;
    PairIndex pair = 0;
    money::Money from;  // debited from held(funding)
    money::Money to;    // credited to held(C)
    money::Rate rate;   // the rate applied, from -> to
    bool locked = false;
    std::uint32_t payouts = 0;
    friend bool operator==(const ConversionExecuted&, const ConversionExecuted&) = default;
};

struct HedgeOrder {
    HedgeId hedge_id = 0;
    CycleId cycle_id = 0;
    VenueIndex venue = 0;
    PairIndex pair = 0;
    bool buy_base = true;
    money::Amount base_amount;  // the order's quantity
    money::Rate limit;          // the venue's quoted price
    ledger::Timestamp deadline{};
    friend bool operator==(const HedgeOrder&, const HedgeOrder&) = default;
};

struct HedgeFilled {
    HedgeId hedge_id = 0;
    VenueIndex venue = 0;
    PairIndex pair = 0;
    bool buy_base = true;
    std::string exec_id;
    money::Amount base_amount;   // this fill
    money::Amount quote_amount;  // base_amount x price, half-even
    money::Rate price;
    money::Amount filled_base;  // of the hedge so far
    bool complete = false;      // filled in full
    bool late = false;          // after a reject or a timeout: reduces the open exposure
    // |price - mid at the cut-off| x base_amount, quote minor units (>= 0).
    money::Amount cost_against_mid;
    friend bool operator==(const HedgeFilled&, const HedgeFilled&) = default;
};

enum class ExposureReason : std::uint8_t {
    kNoVenueSize = 1,  // the quotes' sizes could not cover the residual
    kHedgeRejected = 2,
    kHedgeTimedOut = 3,
    kLateFill = 4,            // a fill after a reject or timeout reduced the exposure
    kVenueCancelledRest = 5,  // a last fill short of the order's quantity
};
std::string_view exposure_reason_name(ExposureReason reason) noexcept;

// An open FX position left in fx_position (alert on it).
struct ExposureReported {
    PairIndex pair = 0;
    HedgeId hedge_id = 0;  // 0 for kNoVenueSize
    VenueIndex venue = 0;
    ExposureReason reason = ExposureReason::kNoVenueSize;
    // Base minor units the engine still has to buy (> 0) or sell (< 0) for this cause.
    money::Amount base_amount;
    money::Amount open_base;  // the pair's whole open exposure after this event, signed
    std::string detail;       // the venue's reason, ...
    friend bool operator==(const ExposureReported&, const ExposureReported&) = default;
};

enum class HoldBackReason : std::uint8_t {
    kNetDebitCap = 1,       // the PSP's net debit in the currency exceeds its cap there
    kAggregateCap = 2,      // its net debits over the call's currencies exceed the aggregate cap
    kNoRate = 3,            // an unlocked cross-currency payout with no mid for its pair
    kNoAggregateRate = 4,   // no mid to value a net debit in the aggregate cap's currency
    kOtherLegHeldBack = 5,  // the other leg of the trade was held back (never half a trade)
};
std::string_view hold_back_reason_name(HoldBackReason reason) noexcept;

// Every instruction of `psp` in `currency` in this cycle (or, for kNoRate, the payouts
// named) is carried to the next cut-off of the currency; nothing of it settled.
struct HoldBack {
    CycleId cycle_id = 0;
    PspIndex psp = 0;
    CurrencyIndex currency = 0;
    HoldBackReason reason = HoldBackReason::kNetDebitCap;
    money::Money cap;        // the cap named (zero for kNoRate)
    money::Money net_debit;  // what it would have been, in the cap's currency
    std::vector<PayoutId> payouts;
    std::vector<std::uint64_t> trade_ids;
    std::string detail;  // "net debit 12.00 CNY exceeds net_debit_caps.CNY 10.00 CNY"
    friend bool operator==(const HoldBack&, const HoldBack&) = default;
};

enum class ObligationDirection : std::uint8_t { kFlat = 0, kPayIn = 1, kPayOut = 2 };

// One PSP's result in one currency for the cycle.
struct SettlementObligation {
    CycleId cycle_id = 0;
    PspIndex psp = 0;
    CurrencyIndex currency = 0;
    ledger::Date value_date{};
    money::Amount gross_in;   // internal payouts and trade legs received
    money::Amount gross_out;  // payouts and trade legs paid
    money::Amount net;        // gross_in - gross_out
    ObligationDirection direction = ObligationDirection::kFlat;
    money::Amount amount;  // |net|: the pay-in owed or the pay-out credited
    std::uint32_t lines = 0;
    config::FundingMode funding_mode = config::FundingMode::kPrefunded;
    friend bool operator==(const SettlementObligation&, const SettlementObligation&) = default;
};

struct PaymentLine {
    PayoutId payout_id = 0;
    PspIndex payer = 0;
    Beneficiary beneficiary;
    money::Amount amount;
    friend bool operator==(const PaymentLine&, const PaymentLine&) = default;
};

// One payment order per bank and currency per cycle.
struct PaymentOrder {
    PaymentOrderId order_id = 0;
    CycleId cycle_id = 0;
    BankIndex bank = 0;
    CurrencyIndex currency = 0;
    ledger::Date value_date{};
    money::Amount total;
    std::vector<PaymentLine> lines;
    friend bool operator==(const PaymentOrder&, const PaymentOrder&) = default;
};

struct CurrencyCycleFigures {
    CurrencyIndex currency = 0;
    ledger::Date value_date{};
    money::Amount gross;  // sum of the settled obligations
    money::Amount net;    // pay-ins (= pay-outs + payment orders)
    std::uint64_t payments_before = 0;
    std::uint64_t payments_after = 0;
    std::uint32_t liquidity_saving_ppm = 0;  // 1 - net/gross, rounded down
    money::Amount fx_volume;                 // converted into this currency (credited to held)
    money::Amount fx_crossed;                // the part of fx_volume matched internally
    std::uint32_t internal_cross_ppm = 0;    // fx_crossed / fx_volume, rounded down
    std::uint32_t held_back = 0;             // instructions carried to the next cycle
    std::uint32_t failed = 0;                // payouts failed at the cut-off
    friend bool operator==(const CurrencyCycleFigures&, const CurrencyCycleFigures&) = default;
};

struct PairCycleFigures {
    PairIndex pair = 0;
    money::Amount bought_base;  // by PSPs (the engine sells them base)
    money::Amount sold_base;
    money::Amount crossed_base;
    money::Amount residual_base;           // signed as netting::PairCross
    std::uint32_t internal_cross_ppm = 0;  // 2 x crossed / (bought + sold)
    money::Amount hedged_base;             // sent to venues
    money::Amount unhedged_base;           // left open (no venue size)
    // At the venues' quoted prices against the mid, quote minor units; the fills report
    // the cost actually incurred.
    money::Amount hedge_cost_against_mid;
    friend bool operator==(const PairCycleFigures&, const PairCycleFigures&) = default;
};

struct CycleReport {
    CycleId cycle_id = 0;
    ledger::Timestamp at{};
    std::vector<CurrencyCycleFigures> currencies;  // in the call's order
    std::vector<PairCycleFigures> pairs;           // by pair index
    friend bool operator==(const CycleReport&, const CycleReport&) = default;
};

// PayoutSettled and PayoutFailed are the intake's structs (event_types.h): Settlement
// emits PayoutSettled for an internal payout at the cut-off and for an external one on
// its bank's confirmation; PayoutFailed (reason: a SettlementCode) when the bank rejects
// the line (funds back in the payout currency) or the cycle rate exceeds what was held
// (funds back in the funding currency).

// A bank or venue reply that could not be applied; nothing changed.
struct SettlementReplyRejected {
    SettlementCode code = SettlementCode::kUnknownPaymentOrder;
    BankIndex bank = 0;
    std::uint64_t payment_order_id = 0;
    std::optional<std::uint32_t> line;
    VenueIndex venue = 0;
    std::uint64_t hedge_order_id = 0;
    std::string text;
    friend bool operator==(const SettlementReplyRejected&,
                           const SettlementReplyRejected&) = default;
};

using SettlementEvent = std::variant<ConversionExecuted, HedgeOrder, HedgeFilled, ExposureReported,
                                     HoldBack, SettlementObligation, PaymentOrder, CycleReport,
                                     PayoutSettled, PayoutFailed, SettlementReplyRejected>;

// Where Settlement appends what it produced. The engine moves both into its BatchOutput
// (events in order, one outbox row each; operations in order, same transaction).
struct SettlementOutput {
    std::vector<SettlementEvent> events;
    std::vector<ledger::Operation> operations;
};

struct SettlementOptions {
    money::RoundingMode rounding_mode = money::RoundingMode::kHalfEven;
    // How long a hedge order may stay unfilled before its remainder is reported as
    // exposure (next_deadline() includes it).
    std::chrono::milliseconds hedge_timeout_ms{30'000};
};

// Open figures for reports (PositionReport, metrics).
struct OpenExposure {
    PairIndex pair = 0;
    money::Amount open_base;  // signed like ExposureReported::open_base
    friend bool operator==(const OpenExposure&, const OpenExposure&) = default;
};

class Settlement {
  public:
    // `chart` must outlive the Settlement. `pairs` are the configured pairs in config
    // order: PairIndex i names pairs[i] (VenueQuote, PairMid, HedgeOrder).
    Settlement(const Chart& chart, std::vector<money::CurrencyPair> pairs,
               SettlementOptions options = {});
    ~Settlement();
    Settlement(Settlement&&) noexcept;
    Settlement& operator=(Settlement&&) noexcept;
    Settlement(const Settlement&) = delete;
    Settlement& operator=(const Settlement&) = delete;

    // Runs the cut-off of `input.currencies` at `now` (steps 1-4 above). Appends
    // operations and events to `out`. Fails (kInvalidArgument, kOutOfRange) on input the
    // engine should never hand over (an index out of range, a non-positive amount, a
    // duplicate payout id, a rate on another pair, a currency twice), naming the item;
    // then nothing changed and nothing was appended.
    Status cutoff(CutoffInput input, ledger::Timestamp now, SettlementOutput& out);

    // Replies. Unknown ids and conflicting replies give SettlementReplyRejected events;
    // a repeated confirmation, rejection or fill (same exec_id) changes nothing and
    // appends nothing. They fail only on a broken invariant.
    Status on_hedge_fill(const HedgeFill& fill, ledger::Timestamp now, SettlementOutput& out);
    Status on_hedge_reject(const HedgeReject& reject, ledger::Timestamp now, SettlementOutput& out);
    Status on_bank_confirmation(const BankConfirmation& confirmation, ledger::Timestamp now,
                                SettlementOutput& out);
    Status on_bank_line_confirmation(const BankLineConfirmation& confirmation,
                                     ledger::Timestamp now, SettlementOutput& out);
    Status on_bank_line_rejection(const BankLineRejection& rejection, ledger::Timestamp now,
                                  SettlementOutput& out);

    // Times out every hedge whose deadline is <= now (ExposureReported kHedgeTimedOut).
    Status on_tick(ledger::Timestamp now, SettlementOutput& out);
    // The earliest open hedge deadline; nullopt when no hedge is open.
    std::optional<ledger::Timestamp> next_deadline() const;

    // Canonical bytes of the whole state (appended to `out`), and their SHA-256. Equal
    // after the same calls in the same order.
    void append_state(std::string& out) const;
    std::array<std::uint8_t, 32> state_digest() const;

    std::vector<OpenExposure> open_exposure() const;  // non-zero only, by pair
    std::size_t hedges_in_flight() const noexcept;
    std::size_t open_payment_lines() const noexcept;
    std::size_t held_back_items(CurrencyIndex currency) const;
    // What the state keeps (bounded by kFinishedDaysKept, see there): payment orders with
    // open lines, their lines, finished orders' compact records and their lines, and
    // hedge orders (open or closed).
    std::size_t payment_orders_open() const noexcept;
    std::size_t payment_orders_finished_kept() const noexcept;
    std::size_t payment_lines_kept() const noexcept;
    std::size_t hedges_kept() const noexcept;

    // The rate a PSP converts at in the cycle: the mid moved against the PSP by its
    // spread (up when the PSP buys the pair's base, down when it sells it), rounded
    // against the PSP to Rate::kDecimals.
    static Result<money::Rate> psp_rate(const money::Rate& mid, std::uint32_t spread_bps,
                                        bool psp_buys_base);
    // The smallest amount of `funding` whose conversion at `rate` (on the pair of the two
    // currencies, either direction), rounded with `mode` as the ledger does, credits at
    // least `payout` (> 0). What the engine holds at intake for a locked payout; an
    // unlocked one holds this at the PSP's rate plus the FX buffer. Fails
    // (kInvalidArgument) when the rate is on another pair, (kOutOfRange) on overflow.
    static Result<money::Amount> funding_amount(
        const money::Money& payout, const money::Currency& funding, const money::Rate& rate,
        money::RoundingMode mode = money::RoundingMode::kHalfEven);

  private:
    struct State;  // settlement.cpp: carried items, hedges, payment orders, mirrors
    std::unique_ptr<State> state_;
};

}  // namespace fxsettle::engine
