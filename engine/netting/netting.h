// Multilateral netting, internal crossing of FX flows and hedge splitting for one
// settlement cycle. Pure functions over plain data: no ledger, no state, no clock. The
// engine builds the inputs from its instructions and trades at a cut-off and turns the
// outputs into ledger operations and events; the reference implementation
// (reference_netting.h) computes the same results the slow, obvious way for tests.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "engine/base/status.h"
#include "engine/chart/chart.h"
#include "engine/money/amount.h"
#include "engine/money/rate.h"

namespace fxsettle::engine::netting {

using PairIndex = std::uint32_t;
inline constexpr std::uint32_t kExternal = 0xFFFF'FFFFu;

// Bounds (STYLE.md): inputs beyond them are refused with kOutOfRange naming the bound.
inline constexpr std::size_t kObligationsMax = 16u << 20;
inline constexpr std::size_t kPspsMax = 1u << 16;
inline constexpr std::size_t kCurrenciesMax = 256;
inline constexpr std::size_t kBanksMax = 1024;
inline constexpr std::size_t kPairsMax = 4096;       // cross(): pair_count
inline constexpr std::size_t kQuotesMax = 1u << 16;  // plan_hedge(): quotes
inline constexpr std::size_t kFillsMax = 1u << 16;   // hedge_cost_against_mid(): fills

// One gross obligation in one currency: what would be one payment without netting.
struct Obligation {
    PspIndex payer = 0;
    // Another PSP (an internal payout or a trade leg), or kExternal: a beneficiary paid
    // through `bank`.
    std::uint32_t payee = kExternal;
    BankIndex bank = 0;  // external obligations only
    CurrencyIndex currency = 0;
    money::Amount amount;         // > 0
    std::uint64_t reference = 0;  // the caller's id (payout, trade), echoed in order lines
};

// A PSP's multilateral net position in a currency: receipts minus payments. Positive:
// net creditor (is paid out); negative: net debtor (pays in).
struct NetPosition {
    PspIndex psp = 0;
    CurrencyIndex currency = 0;
    money::Amount net;
};

enum class PaymentDirection : std::uint8_t { kPayIn = 1, kPayOut = 2 };
struct Payment {
    PspIndex psp = 0;
    CurrencyIndex currency = 0;
    PaymentDirection direction = PaymentDirection::kPayIn;
    money::Amount amount;  // > 0
};

// External obligations grouped: one payment order per bank and currency.
struct PaymentOrder {
    BankIndex bank = 0;
    CurrencyIndex currency = 0;
    money::Amount total;
    std::vector<std::uint32_t> lines;  // indices into the obligations, in input order
};

struct CurrencyFigures {
    CurrencyIndex currency = 0;
    money::Amount gross;                // sum of every obligation's amount
    money::Amount net;                  // sum of pay-ins (= pay-outs + payment orders)
    std::uint64_t payments_before = 0;  // obligations: one payment each without netting
    std::uint64_t payments_after = 0;   // pay-ins + pay-outs + payment orders
    // 1 - net/gross in parts per million, rounded down; 0 when gross is 0.
    std::uint32_t liquidity_saving_ppm = 0;
};

struct NettingResult {
    std::vector<NetPosition> positions;    // non-zero only, by (currency, psp)
    std::vector<Payment> payments;         // one per non-zero position, same order
    std::vector<PaymentOrder> orders;      // by (currency, bank)
    std::vector<CurrencyFigures> figures;  // every currency with an obligation, by index
};

// Nets `obligations` multilaterally per currency. Conservation holds and is asserted:
// per currency, the sum of positions plus the payment orders' totals is zero. Fails
// (kInvalidArgument) naming the first obligation with an index out of range, a payer
// equal to its payee, or a non-positive amount; (kOutOfRange) beyond the bounds above,
// or when a currency's gross leaves the Amount range (naming the obligation that makes
// it so). Checks per obligation, in this order: payer, payee, payer == payee, bank
// (external obligations only: an internal one's `bank` is ignored), currency, amount.
// Time O(obligations + currencies x (PSPs + banks)); memory O(currencies used x (PSPs +
// banks)) besides the result; no allocation per obligation. The result owns its memory.
Result<NettingResult> net(std::span<const Obligation> obligations, std::size_t psp_count,
                          std::size_t bank_count, std::size_t currency_count);

// ---- FX: crossing opposite conversions internally -----------------------------------

// One PSP's conversion need on a pair for the cycle, in base-currency minor units.
// buy_base: the PSP receives base and pays quote (e.g. sells CNY for USD).
struct ConversionNeed {
    PspIndex psp = 0;
    PairIndex pair = 0;
    bool buy_base = false;
    money::Amount base_amount;  // > 0
};

struct PairCross {
    PairIndex pair = 0;
    money::Amount bought_base;   // sum over buy_base needs
    money::Amount sold_base;     // sum over the others
    money::Amount crossed_base;  // min of the two: matched internally, no venue needed
    // bought - sold: > 0 the engine must buy base from venues, < 0 sell it.
    money::Amount residual_base;
};

// Per pair with any need, by pair index. Fails like net() on bad indices or amounts
// (kInvalidArgument naming the need), beyond kObligationsMax needs or kPairsMax pairs, or
// when a side's total leaves the Amount range (kOutOfRange).
Result<std::vector<PairCross>> cross(std::span<const ConversionNeed> needs, std::size_t pair_count);

// ---- Hedging the residual across venues ---------------------------------------------

// A venue's current two-way price on a pair and the size behind it (base minor units).
struct VenueQuote {
    VenueIndex venue = 0;
    PairIndex pair = 0;
    money::Rate bid;  // the venue buys base at this
    money::Rate ask;  // the venue sells base at this
    money::Amount bid_size;
    money::Amount ask_size;
};

struct HedgeSlice {
    VenueIndex venue = 0;
    PairIndex pair = 0;
    bool buy_base = true;
    money::Amount base_amount;  // > 0
    money::Rate price;          // the venue's quoted price: the hedge order's limit
};

struct HedgePlan {
    std::vector<HedgeSlice> slices;  // best price first; ties by venue index
    money::Amount unhedged_base;     // what the quotes' sizes could not cover (>= 0)
};

// Splits `residual_base` (signed as PairCross::residual_base) over the quotes for
// `pair` (others are ignored; stale ones must be filtered out by the caller): buying
// takes asks lowest first, selling takes bids highest first, each up to its size (a
// quote whose size on that side is zero is skipped). A zero residual gives an empty plan.
// Fails (kInvalidArgument) for a quote of `pair` with a negative size, a bid and ask on
// different currency pairs, or a currency pair unlike the first quote of `pair`;
// (kOutOfRange) beyond kQuotesMax quotes.
Result<HedgePlan> plan_hedge(PairIndex pair, const money::Amount& residual_base,
                             std::span<const VenueQuote> quotes);

// The cost of filled hedges against mid, in quote-currency minor units rounded half-even:
// sum over fills of |price - mid| x base_amount, converted between the currencies'
// exponents (price and mid carry the pair's currencies, so their exponents). The sum is
// exact and rounded once. >= 0. Fails (kInvalidArgument) naming a fill whose price is on
// another currency pair than `mid` or whose amount is not positive; (kOutOfRange) beyond
// kFillsMax fills or when the cost leaves the Amount range.
Result<money::Amount> hedge_cost_against_mid(std::span<const HedgeSlice> fills,
                                             const money::Rate& mid);

}  // namespace fxsettle::engine::netting
