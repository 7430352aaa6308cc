// Settlement cycles: see settlement.h for the model. The cut-off computes everything into
// local values first (validation, failures, hold-back, conversions, hedges, netting,
// entries, events) and only then moves them into the state and the output, so that a
// failed Status leaves both untouched.
#include "engine/core/settlement.h"

#include <openssl/evp.h>

#include <algorithm>
#include <deque>
#include <limits>
#include <set>
#include <span>
#include <tuple>
#include <unordered_map>
#include <utility>

#include <boost/multiprecision/cpp_int.hpp>

#include "engine/base/prefault.h"

namespace fxsettle::engine {
namespace {

using money::Amount;
using money::Int128;
using money::Money;
using money::Rate;
using Int256 = boost::multiprecision::int256_t;

Amount to_amount(const Int256& value) {
    auto amount = Amount::from_int(Int128(value));
    FXSETTLE_ASSERT(value <= Int256(Amount::max().minor()) &&
                        value >= Int256(Amount::min().minor()) && amount.has_value(),
                    "settlement: a bounded figure left the Amount range");
    return *amount;
}

Int256 pow10(int n) {
    Int256 v = 1;
    for (int i = 0; i < n; ++i)
        v *= 10;
    return v;
}

std::uint32_t ratio_ppm(const Amount& part, const Amount& whole) {
    if (!whole.is_positive() || !part.is_positive())
        return 0;
    const Int256 ppm = Int256(part.minor()) * 1'000'000 / Int256(whole.minor());
    return static_cast<std::uint32_t>(std::min<Int256>(ppm, 1'000'000));
}

std::string fmt(const Amount& amount, const money::Currency& currency) {
    return money::format_amount(amount, currency) + " " + currency.to_string();
}

// The conversion rate from `funding` into `payout` for a rate on the pair of the two
// (either direction): the rate itself when its base is `funding`, else its inverse
// rounded down (fewer units of `payout` per unit of `funding`: against the PSP).
Result<Rate> conversion_rate(const Rate& rate, const money::Currency& funding,
                             const money::Currency& payout) {
    if (rate.pair().base == funding && rate.pair().quote == payout)
        return rate;
    if (rate.pair().base == payout && rate.pair().quote == funding)
        return rate.inverted(money::RoundingMode::kDown);
    return fail(StatusCode::kInvalidArgument,
                "rate on " + rate.pair().to_string() + " does not convert between " +
                    funding.to_string() + " and " + payout.to_string());
}

__extension__ typedef unsigned __int128 UInt128;  // g++'s; -Wpedantic asks for the marker

int bit_width_u128(UInt128 v) {
    const auto hi = static_cast<std::uint64_t>(v >> 64);
    if (hi != 0)
        return 128 - __builtin_clzll(hi);
    const auto lo = static_cast<std::uint64_t>(v);
    return lo == 0 ? 0 : 64 - __builtin_clzll(lo);
}

// A non-negative Int128 as a built-in 128-bit integer.
UInt128 to_u128(const Int128& v) {
    return static_cast<UInt128>(static_cast<money::NativeInt128>(v));
}

// 10^n for 0 <= n <= 38 (all that fits).
UInt128 pow10_u128(int n) {
    static const auto table = [] {
        std::array<UInt128, 39> t{};
        t[0] = 1;
        for (std::size_t i = 1; i < t.size(); ++i)
            t[i] = t[i - 1] * 10;
        return t;
    }();
    FXSETTLE_ASSERT(n >= 0 && n < static_cast<int>(table.size()), "settlement: 10^n out of range");
    return table[static_cast<std::size_t>(n)];
}

// funding_for() in 128-bit arithmetic: the same search and the same rounding as
// money::convert (whose results it reproduces wherever every product here stays below
// 2^127), so the same answer; nullopt when a product could exceed that, or for a mode
// it does not know, and the caller takes the general path. A cut-off prices every
// cross-currency payout this way: hundreds of thousands at a large one, so what depends
// only on the rate is prepared once per rate (FastConv).
struct FastConv {
    UInt128 m;             // the mantissa
    UInt128 num;           // 10^(kDecimals + from exponent)
    UInt128 den;           // m x 10^(to exponent)
    UInt128 factor;        // 10^scale, convert()'s
    UInt128 residue_unit;  // 10^kResidueDecimals
    int num_bits;
    int m_factor_bits;  // bit widths of m and factor, summed
    money::RoundingMode mode;
};

std::optional<FastConv> prepare_fast(const Rate& conv, money::RoundingMode mode) {
    const money::Currency& from = conv.pair().base;
    const money::Currency& to = conv.pair().quote;
    const int scale =
        money::kResidueDecimals - Rate::kDecimals + to.exponent - from.exponent;  // convert()'s
    // convert() refuses these; the general path reports them.
    if (conv.mantissa() <= 0 || scale < 0 || from.exponent > money::kExponentMax ||
        to.exponent > money::kExponentMax)
        return std::nullopt;
    switch (mode) {
        case money::RoundingMode::kHalfEven:
        case money::RoundingMode::kHalfUp:
        case money::RoundingMode::kUp:
        case money::RoundingMode::kDown:
        case money::RoundingMode::kTowardZero:
            break;
        default:
            return std::nullopt;
    }
    FastConv f;
    f.m = to_u128(conv.mantissa());
    f.num = pow10_u128(Rate::kDecimals + from.exponent);
    f.factor = pow10_u128(scale);
    f.residue_unit = pow10_u128(money::kResidueDecimals);
    if (bit_width_u128(f.m) + bit_width_u128(pow10_u128(to.exponent)) > 126)
        return std::nullopt;
    f.den = f.m * pow10_u128(to.exponent);
    f.num_bits = bit_width_u128(f.num);
    f.m_factor_bits = bit_width_u128(f.m) + bit_width_u128(f.factor);
    f.mode = mode;
    return f;
}

std::optional<Amount> funding_for_fast(const Amount& target, const FastConv& f) {
    if (!target.is_positive())
        return std::nullopt;
    const auto t = static_cast<UInt128>(target.native_minor());
    const UInt128& m = f.m;
    const UInt128& num = f.num;
    const UInt128& factor = f.factor;
    const UInt128& residue_unit = f.residue_unit;
    const money::RoundingMode mode = f.mode;
    if (bit_width_u128(t) + f.num_bits > 126)
        return std::nullopt;
    const UInt128& den = f.den;
    UInt128 hi = (t * num + den - 1) / den;  // worth >= target
    UInt128 lo = (t - 1) * num / den;        // worth <= target - 1
    if (hi < 1)
        hi = 1;
    // Every x tried is <= hi: the products x * m * factor stay below 2^127.
    if (bit_width_u128(hi) + f.m_factor_bits > 126)
        return std::nullopt;
    auto reaches = [&](UInt128 x) {
        const UInt128 exact = x * m * factor;
        UInt128 q = exact / residue_unit;
        const UInt128 r = exact - q * residue_unit;
        if (r != 0) {
            switch (mode) {
                case money::RoundingMode::kUp:
                    ++q;
                    break;
                case money::RoundingMode::kHalfUp:
                    if (2 * r >= residue_unit)
                        ++q;
                    break;
                case money::RoundingMode::kHalfEven:
                    if (2 * r > residue_unit || (2 * r == residue_unit && (q & 1) != 0))
                        ++q;
                    break;
                default:  // kDown, kTowardZero: x > 0, so both truncate
                    break;
            }
        }
        return q >= t;
    };
    bool hi_checked = false;
    while (hi - lo > 1) {
        const UInt128 mid = lo + (hi - lo) / 2;
        if (reaches(mid)) {
            hi = mid;
            hi_checked = true;
        } else {
            lo = mid;
        }
    }
    FXSETTLE_ASSERT(hi_checked || reaches(hi),
                    "settlement: funding amount does not cover the payout");
    if ((hi >> 127) != 0)
        return std::nullopt;
    return Amount::from_native(static_cast<money::NativeInt128>(hi));
}

// The smallest amount of conv.pair().base whose conversion at `conv` credits >= target.
// Conversion is monotonic in the amount, so a binary search between an amount that
// cannot reach the target (exactly worth target - 1 or less) and one that must (exactly
// worth target or more) finds it, whatever the rounding mode and the size of the rate.
Result<Amount> funding_for(const Amount& target, const Rate& conv, money::RoundingMode mode,
                           const std::optional<FastConv>& prepared) {
    if (prepared) {
        if (auto fast = funding_for_fast(target, *prepared))
            return *fast;
    }
    const money::Currency& from = conv.pair().base;
    const money::Currency& to = conv.pair().quote;
    if (!target.is_positive())
        return fail(StatusCode::kInvalidArgument,
                    "payout amount " + target.to_string() + " is not positive");
    // exact target minor = X x mantissa / 10^12 x 10^(e_to - e_from)
    const Int256 num = pow10(Rate::kDecimals + from.exponent);
    const Int256 den = Int256(conv.mantissa()) * pow10(to.exponent);
    Int256 hi = (Int256(target.minor()) * num + den - 1) / den;  // worth >= target
    Int256 lo = (Int256(target.minor()) - 1) * num / den;        // worth <= target - 1
    if (hi < 1)
        hi = 1;
    if (hi > Int256(Amount::max().minor()))
        return fail(StatusCode::kOutOfRange,
                    "funding " + fmt(target, to) + " at " + conv.to_string() + " overflows");
    auto reaches = [&](const Int256& x) -> Result<bool> {
        auto c = money::convert(Money{to_amount(x), from}, conv, mode);
        if (!c)
            return fail(c.error());
        return c->converted.amount >= target;
    };
    // Invariant: lo does not reach the target (or is 0), hi does.
    while (hi - lo > 1) {
        const Int256 mid = lo + (hi - lo) / 2;
        auto r = reaches(mid);
        if (!r)
            return fail(r.error());
        (*r ? hi : lo) = mid;
    }
    auto check = reaches(hi);
    if (!check)
        return fail(check.error());
    FXSETTLE_ASSERT(*check, "settlement: funding amount does not cover the payout");
    return to_amount(hi);
}

// ---- canonical state bytes --------------------------------------------------------------

void put_u64(std::string& out, std::uint64_t v) {
    for (int i = 0; i < 8; ++i)
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}
void put_bool(std::string& out, bool v) {
    out.push_back(v ? 1 : 0);
}
void put_amount(std::string& out, const Amount& a) {
    const auto bytes = a.to_le_bytes();
    out.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
}
void put_str(std::string& out, std::string_view s) {
    put_u64(out, s.size());
    out.append(s);
}
void put_rate(std::string& out, const Rate& r) {
    put_str(out, r.pair().to_string());
    put_amount(out, to_amount(Int256(r.mantissa())));
}
void put_time(std::string& out, ledger::Timestamp t) {
    put_u64(out, static_cast<std::uint64_t>(t.time_since_epoch().count()));
}
void put_date(std::string& out, ledger::Date d) {
    put_u64(out, static_cast<std::uint64_t>(d.time_since_epoch().count()));
}

// One conversion step of `m` into `to` at the mid of `pair` (either direction), rounded up
// (a debit is never undervalued); nullopt when the pair does not join the two.
std::optional<Money> step(const Money& m, const money::Currency& to,
                          const money::CurrencyPair& pair, const Rate& mid) {
    std::optional<Rate> rate;
    if (pair.base == m.currency && pair.quote == to) {
        rate = mid;
    } else if (pair.base == to && pair.quote == m.currency) {
        auto inv = mid.inverted(money::RoundingMode::kUp);
        if (!inv)
            return std::nullopt;
        rate = *inv;
    } else {
        return std::nullopt;
    }
    auto v = money::convert(m, *rate, money::RoundingMode::kUp);
    if (!v)
        return std::nullopt;
    return v->converted;
}

// `m` valued in `to` at the mids: directly, or through one intermediate currency (the
// first, in pair order, that both have a mid with). nullopt when no mid joins them.
std::optional<Amount> value_in(const Money& m, const money::Currency& to,
                               const std::vector<money::CurrencyPair>& pairs,
                               const std::map<PairIndex, Rate>& mids) {
    if (m.currency == to)
        return m.amount;
    for (const auto& [pi, mid] : mids) {
        if (auto v = step(m, to, pairs[pi], mid))
            return v->amount;
    }
    for (const auto& [pi, mid] : mids) {
        const auto& pr = pairs[pi];
        const money::Currency* via = pr.base == m.currency    ? &pr.quote
                                     : pr.quote == m.currency ? &pr.base
                                                              : nullptr;
        if (via == nullptr)
            continue;
        auto first = step(m, *via, pr, mid);
        if (!first)
            continue;
        for (const auto& [pj, mid2] : mids) {
            if (auto v = step(*first, to, pairs[pj], mid2))
                return v->amount;
        }
    }
    return std::nullopt;
}

}  // namespace

// ---- names ----------------------------------------------------------------------------

std::string_view settlement_code_name(SettlementCode code) noexcept {
    switch (code) {
        case SettlementCode::kBankRejected:
            return "bank_rejected";
        case SettlementCode::kFxBufferExceeded:
            return "fx_buffer_exceeded";
        case SettlementCode::kUnknownPaymentOrder:
            return "unknown_payment_order";
        case SettlementCode::kUnknownLine:
            return "unknown_line";
        case SettlementCode::kBankMismatch:
            return "bank_mismatch";
        case SettlementCode::kLineAlreadyRejected:
            return "line_already_rejected";
        case SettlementCode::kLineAlreadyConfirmed:
            return "line_already_confirmed";
        case SettlementCode::kPaymentOrderNoLongerKept:
            return "payment_order_no_longer_kept";
        case SettlementCode::kUnknownHedge:
            return "unknown_hedge";
        case SettlementCode::kVenueMismatch:
            return "venue_mismatch";
        case SettlementCode::kFillExceedsHedge:
            return "fill_exceeds_hedge";
        case SettlementCode::kFillPriceInvalid:
            return "fill_price_invalid";
        case SettlementCode::kHedgeNoLongerKept:
            return "hedge_no_longer_kept";
    }
    return "unknown";
}

std::string_view exposure_reason_name(ExposureReason reason) noexcept {
    switch (reason) {
        case ExposureReason::kNoVenueSize:
            return "no_venue_size";
        case ExposureReason::kHedgeRejected:
            return "hedge_rejected";
        case ExposureReason::kHedgeTimedOut:
            return "hedge_timed_out";
        case ExposureReason::kLateFill:
            return "late_fill";
        case ExposureReason::kVenueCancelledRest:
            return "venue_cancelled_rest";
    }
    return "unknown";
}

std::string_view hold_back_reason_name(HoldBackReason reason) noexcept {
    switch (reason) {
        case HoldBackReason::kNetDebitCap:
            return "net_debit_cap";
        case HoldBackReason::kAggregateCap:
            return "aggregate_cap";
        case HoldBackReason::kNoRate:
            return "no_rate";
        case HoldBackReason::kNoAggregateRate:
            return "no_aggregate_rate";
        case HoldBackReason::kOtherLegHeldBack:
            return "other_leg_held_back";
    }
    return "unknown";
}

PspTerms PspTerms::from_config(const config::PspConfig& psp) {
    PspTerms terms;
    terms.spread_bps = psp.spread_bps;
    terms.funding_mode = psp.funding_mode;
    terms.net_debit_caps = psp.net_debit_caps;
    terms.aggregate_cap = psp.aggregate_cap;
    return terms;
}

PspTerms PspTerms::from_limits(std::uint32_t spread_bps, const RiskLimits& limits) {
    PspTerms terms;
    terms.spread_bps = spread_bps;
    terms.funding_mode = limits.funding_mode;
    terms.net_debit_caps = limits.net_debit_caps;
    terms.aggregate_cap = limits.aggregate_cap;
    return terms;
}

// ---- state ----------------------------------------------------------------------------

struct Settlement::State {
    const Chart* chart = nullptr;
    std::vector<money::CurrencyPair> pairs;
    SettlementOptions options;

    std::uint64_t next_entry = 1;
    CycleId next_cycle = 1;
    HedgeId next_hedge = 1;
    PaymentOrderId next_order = 1;

    struct Carried {
        std::vector<DuePayout> payouts;
        std::vector<DueTradeLeg> trade_legs;
    };
    std::map<CurrencyIndex, Carried> carried;
    // Net debits settled per PSP and value date, per currency, so that the aggregate cap
    // covers every cut-off of a value date. Dates more than kSettledDebitsDaysKept before
    // a cut-off's earliest value date are dropped.
    std::map<std::pair<PspIndex, ledger::Date>, std::map<CurrencyIndex, Amount>> settled_debits;
    // Trade legs by (trade id, base leg): carried for their payer's own breach (their other
    // leg is then held back at its cut-off), and settled while the other leg has not yet
    // (that one then always settles).
    std::set<std::pair<std::uint64_t, bool>> legs_held_own;
    std::set<std::pair<std::uint64_t, bool>> legs_settled_alone;

    struct Hedge {
        CycleId cycle_id = 0;
        VenueIndex venue = 0;
        PairIndex pair = 0;
        bool buy_base = true;
        Amount base_amount;
        Amount filled_base;
        Rate limit;
        std::optional<Rate> mid;
        ledger::Date value_date{};
        ledger::Timestamp deadline{};
        bool open = true;
        ledger::Date closed_on{};  // when !open
        std::vector<std::string> exec_ids;
    };
    std::map<HedgeId, Hedge> hedges;
    std::set<std::pair<ledger::Timestamp, HedgeId>> deadlines;  // open hedges only
    std::map<PairIndex, Amount> open_exposure;                  // non-zero only

    enum class LineStatus : std::uint8_t { kOpen = 0, kConfirmed = 1, kRejected = 2 };
    // Compact (a large cut-off keeps hundreds of thousands until the banks answer): the
    // rate is an index into its order's distinct rates, the funded amount's currency an
    // index.
    static constexpr std::uint32_t kLineNoRate = std::numeric_limits<std::uint32_t>::max();
    struct Line {
        PayoutId payout_id = 0;
        std::string client_id;
        PspIndex payer = 0;
        CurrencyIndex funded_currency = 0;
        std::uint32_t rate = kLineNoRate;  // Order::rates; kLineNoRate: not converted
        LineStatus status = LineStatus::kOpen;
        Amount amount;
        Amount funded;  // in funded_currency
    };
    struct Order {
        BankIndex bank = 0;
        CurrencyIndex currency = 0;
        ledger::Date value_date{};
        std::vector<Line> lines;
        std::vector<Rate> rates;  // distinct, in the order of their first line
        std::uint32_t open_lines = 0;
        std::optional<Rate> rate_of(const Line& line) const {
            if (line.rate == kLineNoRate)
                return std::nullopt;
            return rates[line.rate];
        }
    };
    std::map<PaymentOrderId, Order> orders;  // with open lines
    std::size_t open_lines = 0;
    std::size_t lines_kept = 0;  // of `orders`
    // A finished order (every line confirmed or rejected and posted), kept only to answer
    // repeated and conflicting replies as before, for kFinishedDaysKept days.
    struct FinishedOrder {
        BankIndex bank = 0;
        ledger::Date finished_on{};
        std::vector<PayoutId> payout_ids;  // per line
        std::vector<bool> rejected;        // per line: rejected, else confirmed
    };
    std::map<PaymentOrderId, FinishedOrder> finished_orders;
    std::size_t finished_lines = 0;
    std::optional<ledger::Date> pruned_on;  // the day of the last prune()
    // Mirror of the settlement accounts: in transit per (bank, currency). Only
    // Settlement debits them, so a confirmation or rejection never exceeds this.
    std::map<std::pair<BankIndex, CurrencyIndex>, Amount> in_transit;

    ledger::EntryId entry_id(std::uint64_t& counter) const {
        return ledger::EntryId{kSettlementEntryIdHi, counter++};
    }
    const money::Currency& ccy(CurrencyIndex c) const { return chart->currency(c); }
    Money money_of(const Amount& a, CurrencyIndex c) const { return Money{a, ccy(c)}; }
    std::optional<PairIndex> pair_of(CurrencyIndex a, CurrencyIndex b) const {
        for (PairIndex p = 0; p < pairs.size(); ++p) {
            const auto& pr = pairs[p];
            if ((pr.base == ccy(a) && pr.quote == ccy(b)) ||
                (pr.base == ccy(b) && pr.quote == ccy(a)))
                return p;
        }
        return std::nullopt;
    }
    CurrencyIndex index_of(const money::Currency& c) const {
        auto i = chart->currency_index(c);
        FXSETTLE_ASSERT(i.has_value(), "settlement: a pair currency is not in the chart");
        return *i;
    }
    void add_exposure(PairIndex pair, const Amount& delta) {
        Amount& v = open_exposure[pair];
        v += delta;
        if (v.is_zero())
            open_exposure.erase(pair);
    }
    // An id this Settlement issued whose record prune() dropped.
    bool hedge_dropped(HedgeId id) const {
        return id != 0 && id < next_hedge && !hedges.contains(id);
    }
    bool order_dropped(PaymentOrderId id) const {
        return id != 0 && id < next_order && !orders.contains(id) && !finished_orders.contains(id);
    }
    Amount exposure(PairIndex pair) const {
        auto it = open_exposure.find(pair);
        return it == open_exposure.end() ? Amount{} : it->second;
    }
    struct Cutoff;  // one cutoff() call, below

    // An order whose last open line was just answered: only its compact record stays.
    void finish_order(std::map<PaymentOrderId, Order>::iterator it, ledger::Timestamp now) {
        const Order& o = it->second;
        FXSETTLE_ASSERT(o.open_lines == 0, "settlement: finishing an order with open lines");
        FinishedOrder f;
        f.bank = o.bank;
        f.finished_on = std::chrono::floor<std::chrono::days>(now);
        f.payout_ids.reserve(o.lines.size());
        f.rejected.reserve(o.lines.size());
        for (const Line& line : o.lines) {
            f.payout_ids.push_back(line.payout_id);
            f.rejected.push_back(line.status == LineStatus::kRejected);
        }
        lines_kept -= o.lines.size();
        finished_lines += o.lines.size();
        finished_orders.emplace(it->first, std::move(f));
        orders.erase(it);
    }

    void answer_finished(PaymentOrderId id, const FinishedOrder& f, BankIndex bank,
                         std::optional<std::uint32_t> line, bool rejection,
                         std::vector<SettlementEvent>& events) const;
    std::map<PaymentOrderId, Order>::iterator open_order_for_line(
        PaymentOrderId id, BankIndex bank, std::uint32_t line, bool rejection,
        std::vector<SettlementEvent>& events);

    // Once a day: drops finished orders and closed hedges older than kFinishedDaysKept.
    void prune(ledger::Timestamp now) {
        const ledger::Date today = std::chrono::floor<std::chrono::days>(now);
        if (pruned_on && *pruned_on >= today)
            return;
        pruned_on = today;
        const ledger::Date oldest_kept = today - std::chrono::days(kFinishedDaysKept);
        for (auto it = finished_orders.begin(); it != finished_orders.end();) {
            if (it->second.finished_on < oldest_kept) {
                finished_lines -= it->second.payout_ids.size();
                it = finished_orders.erase(it);
            } else {
                ++it;
            }
        }
        std::erase_if(hedges, [&](const auto& entry) {
            return !entry.second.open && entry.second.closed_on < oldest_kept;
        });
    }

    // Closes an open hedge; what it did not fill becomes open exposure, reported.
    void close_hedge(HedgeId id, Hedge& h, ExposureReason reason, std::string detail,
                     ledger::Timestamp now, std::vector<SettlementEvent>& events) {
        FXSETTLE_ASSERT(h.open, "settlement: closing a hedge twice");
        h.open = false;
        h.closed_on = std::chrono::floor<std::chrono::days>(now);
        deadlines.erase({h.deadline, id});
        const Amount rest = h.base_amount - h.filled_base;
        if (rest.is_zero())
            return;
        const Amount signed_rest = h.buy_base ? rest : -rest;
        add_exposure(h.pair, signed_rest);
        ExposureReported ex;
        ex.pair = h.pair;
        ex.hedge_id = id;
        ex.venue = h.venue;
        ex.reason = reason;
        ex.base_amount = signed_rest;
        ex.open_base = exposure(h.pair);
        ex.detail = std::move(detail);
        events.push_back(std::move(ex));
    }
};

namespace {

// Entries that move amounts from many accounts into one (or from one into many), chunked
// at kPostingsMax postings; each chunk balances on its own.
struct EntryBuilder {
    std::uint64_t* counter;
    ledger::Date value_date;
    std::vector<ledger::Operation>* ops;

    void simple(const ledger::AccountId& debit, const ledger::AccountId& credit, const Money& m,
                const std::string& reference) {
        FXSETTLE_ASSERT(m.amount.is_positive(), "settlement: a posting amount is not positive");
        ledger::EntryRequest q;
        q.id = ledger::EntryId{kSettlementEntryIdHi, (*counter)++};
        q.kind = ledger::EntryKind::kPosted;
        q.value_date = value_date;
        q.reference = reference;
        q.postings.reserve(2);
        q.postings.push_back(ledger::Posting{debit, ledger::Side::kDebit, m});
        q.postings.push_back(ledger::Posting{credit, ledger::Side::kCredit, m});
        ops->push_back(ledger::Operation{std::move(q), false});
    }

    // many_side: the side of the many postings; the one account takes the other side.
    void fan(const std::vector<std::pair<ledger::AccountId, Amount>>& many, ledger::Side many_side,
             const ledger::AccountId& one, const money::Currency& currency,
             const std::string& reference) {
        const ledger::Side one_side =
            many_side == ledger::Side::kDebit ? ledger::Side::kCredit : ledger::Side::kDebit;
        std::size_t i = 0;
        while (i < many.size()) {
            ledger::EntryRequest q;
            q.id = ledger::EntryId{kSettlementEntryIdHi, (*counter)++};
            q.kind = ledger::EntryKind::kPosted;
            q.value_date = value_date;
            q.reference = reference;
            q.postings.reserve(std::min(many.size() - i, ledger::kPostingsMax - 1) + 1);
            Amount sum;
            while (i < many.size() && q.postings.size() + 1 < ledger::kPostingsMax) {
                FXSETTLE_ASSERT(many[i].second.is_positive(),
                                "settlement: a posting amount is not positive");
                q.postings.push_back(
                    ledger::Posting{many[i].first, many_side, Money{many[i].second, currency}});
                sum += many[i].second;
                ++i;
            }
            q.postings.push_back(ledger::Posting{one, one_side, Money{sum, currency}});
            ops->push_back(ledger::Operation{std::move(q), false});
        }
    }
};

// Budget of a PSP's held accounts as handed to Settlement: every debit Settlement posts
// on a held account is checked against it, so the ledger never refuses one.
struct HeldMirror {
    std::size_t currency_count = 0;
    std::vector<Amount> held;  // [psp][currency]
    HeldMirror(std::size_t psps, std::size_t currencies)
        : currency_count(currencies), held(psps * currencies) {}
    void credit(PspIndex p, CurrencyIndex c, const Amount& a) { held[p * currency_count + c] += a; }
    void debit(PspIndex p, CurrencyIndex c, const Amount& a) {
        Amount& v = held[p * currency_count + c];
        FXSETTLE_ASSERT(v >= a, "settlement: a debit exceeds what was held for the cycle");
        v -= a;
    }
};

// A set of non-zero ids (open addressing, linear probing): the cut-off checks every
// payout id of a call for repeats, hundreds of thousands at a large cut-off.
class IdSet {
  public:
    std::size_t size() const noexcept { return size_; }
    void reserve(std::size_t n) {
        std::size_t want = 16;
        while (want < 2 * n)
            want *= 2;
        if (want > slots_.size())
            rehash(want);
    }
    // False when `id` (non-zero) was there already.
    bool insert(std::uint64_t id) {
        if (2 * (size_ + 1) > slots_.size())
            rehash(slots_.empty() ? 16 : 2 * slots_.size());
        const std::size_t mask = slots_.size() - 1;
        for (std::size_t i = mix(id) & mask;; i = (i + 1) & mask) {
            if (slots_[i] == id)
                return false;
            if (slots_[i] == 0) {
                slots_[i] = id;
                ++size_;
                return true;
            }
        }
    }

  private:
    // Ids are the engine's, given in order: a cut-off's are runs of near-consecutive
    // numbers. Each block of 64 consecutive ids lands at a hashed place, the ids of a
    // block side by side, so that inserting a run touches one cache line per 8 ids rather
    // than one per id (a random slot each was half of add_payout() at 1M payouts).
    static std::size_t mix(std::uint64_t id) {
        std::uint64_t x = id >> 6;
        x ^= x >> 33;
        x *= 0xff51afd7ed558ccdULL;
        x ^= x >> 33;
        return static_cast<std::size_t>((x << 6) | (id & 63));
    }
    void rehash(std::size_t n) {
        std::vector<std::uint64_t> old = std::move(slots_);
        slots_.reserve(n);
        prefault_room(slots_);
        slots_.assign(n, 0);
        size_ = 0;
        for (const std::uint64_t id : old) {
            if (id != 0)
                insert(id);
        }
    }
    std::vector<std::uint64_t> slots_;
    std::size_t size_ = 0;
};

}  // namespace

Settlement::Settlement(const Chart& chart, std::vector<money::CurrencyPair> pairs,
                       SettlementOptions options)
    : state_(std::make_unique<State>()) {
    state_->chart = &chart;
    state_->pairs = std::move(pairs);
    state_->options = options;
}
Settlement::~Settlement() = default;
Settlement::Settlement(Settlement&&) noexcept = default;
Settlement& Settlement::operator=(Settlement&&) noexcept = default;

Result<Rate> Settlement::psp_rate(const Rate& mid, std::uint32_t spread_bps, bool psp_buys_base) {
    // A spread of 100 % (config allows up to 10,000 bps) or more leaves the smallest rate
    // when the PSP sells base: a payout at it costs more than was held and fails.
    const std::uint32_t bps = std::min<std::uint32_t>(spread_bps, 10'000);
    const Int256 m = Int256(mid.mantissa());
    Int256 v;
    if (psp_buys_base) {
        v = (m * (10'000 + spread_bps) + 9'999) / 10'000;
    } else {
        v = m * (10'000 - bps) / 10'000;
    }
    if (v < 1)
        v = 1;
    if (v > Int256(Rate::mantissa_max()))
        return fail(StatusCode::kOutOfRange, "rate " + mid.to_string() + " plus spread overflows");
    return Rate::from_mantissa(mid.pair(), Int128(v));
}

Result<Amount> Settlement::funding_amount(const Money& payout, const money::Currency& funding,
                                          const Rate& rate, money::RoundingMode mode) {
    auto conv = conversion_rate(rate, funding, payout.currency);
    if (!conv)
        return fail(conv.error());
    return funding_for(payout.amount, *conv, mode, prepare_fast(*conv, mode));
}

// ---- cut-off --------------------------------------------------------------------------

namespace {

enum class Fate : std::uint8_t { kSettle = 0, kFailed = 1, kHeldBack = 2 };
constexpr std::uint32_t kNoConv = std::numeric_limits<std::uint32_t>::max();

struct PayoutWork {
    // The payout, in the call's input (or a copy of a carried one): not copied again, a
    // large cut-off has hundreds of thousands.
    // Compact (a large cut-off has one per payout): the rate is an index into the call's
    // table of rates, and the funded amount's currency is the payout's funding currency.
    DuePayout* payout = nullptr;
    Fate fate = Fate::kSettle;
    bool no_rate = false;  // held back: unlocked, and no mid for its pair
    bool cross = false;    // funding currency != payout currency
    PairIndex pair = 0;
    std::uint32_t conv = kNoConv;  // funding -> payout rate (cross only): Cutoff::rates
    BankIndex bank = 0;            // external: the paying bank
    std::uint32_t group = 0;       // cross: its conversion group (Cutoff::convert)
    Amount cost;                   // funding at conv, payout by payout (cross only)
    Amount funded;                 // in the funding currency, set when converted
};

struct LegWork {
    DueTradeLeg leg;
    Fate fate = Fate::kSettle;
    bool must_settle = false;      // its other leg settled already: never held back
    bool other_held_back = false;  // held back because its other leg was
};

struct CurrencyWork {
    CurrencyIndex currency = 0;
    ledger::Date value_date{};
    std::vector<PayoutWork> payouts;
    std::vector<LegWork> legs;
    std::uint32_t failed = 0;
    std::uint32_t held_back = 0;
    Amount fx_volume;
    Amount fx_crossed;
};

struct Breach {
    HoldBackReason reason = HoldBackReason::kNetDebitCap;
    Money cap;
    Money net_debit;
    std::string detail;
};
using BreachKey = std::pair<PspIndex, std::size_t>;  // (psp, index into the call's currencies)
using Breaches = std::map<BreachKey, Breach>;
// (payer, pair, rate mantissa, locked): one conversion each.
using GroupKey = std::tuple<PspIndex, PairIndex, Int128, bool>;
using NetTable = std::vector<std::vector<Int128>>;  // [currency work][psp]

// One currency's cross-currency payouts in conversion groups, one per GroupKey, in key
// order. A payout is first placed by (payer, pair, rate index, locked) in a hash table, a
// few instructions for each of the hundreds of thousands of payouts of a large cut-off; the
// few distinct rate indices with the same mantissa (locked quotes at equal rates) then
// merge by GroupKey. No list of members: the passes over a group's payouts are passes over
// all payouts in input order (Cutoff::convert), which read memory in order.
class Groups {
  public:
    // The payout's rate group; group_of() maps it to its group once order() ran.
    std::uint32_t add(PspIndex payer, PairIndex pair, std::uint32_t conv, bool locked) {
        const RateKey k{payer, pair, conv, locked};
        const auto [it, fresh] =
            by_rate_.try_emplace(k, static_cast<std::uint32_t>(rate_groups_.size()));
        if (fresh)
            rate_groups_.push_back(k);
        return it->second;
    }
    // After the last add(): the groups in GroupKey order.
    void order(const std::vector<Rate>& rates) {
        std::map<GroupKey, std::vector<std::uint32_t>> merged;
        for (std::uint32_t r = 0; r < rate_groups_.size(); ++r) {
            const RateKey& g = rate_groups_[r];
            merged[{g.payer, g.pair, rates[g.conv].mantissa(), g.locked}].push_back(r);
        }
        by_rate_.clear();
        group_of_.assign(rate_groups_.size(), 0);
        keys_.reserve(merged.size());
        for (auto& [key, parts] : merged) {
            for (const std::uint32_t r : parts)
                group_of_[r] = static_cast<std::uint32_t>(keys_.size());
            keys_.push_back(key);
        }
    }
    std::size_t size() const { return keys_.size(); }
    const GroupKey& key(std::size_t g) const { return keys_[g]; }
    std::uint32_t group_of(std::uint32_t rate_group) const { return group_of_[rate_group]; }

  private:
    struct RateKey {
        PspIndex payer;
        PairIndex pair;
        std::uint32_t conv;
        bool locked;
        friend bool operator==(const RateKey&, const RateKey&) = default;
    };
    struct RateKeyHash {
        std::size_t operator()(const RateKey& k) const noexcept {
            std::uint64_t h = (static_cast<std::uint64_t>(k.payer) << 32) ^
                              (static_cast<std::uint64_t>(k.pair) << 1) ^ (k.locked ? 1 : 0);
            h ^= static_cast<std::uint64_t>(k.conv) * 0x9e3779b97f4a7c15ULL;
            h ^= h >> 29;
            return static_cast<std::size_t>(h * 0xbf58476d1ce4e5b9ULL);
        }
    };
    std::unordered_map<RateKey, std::uint32_t, RateKeyHash> by_rate_;
    std::vector<RateKey> rate_groups_;
    std::vector<GroupKey> keys_;
    std::vector<std::uint32_t> group_of_;
};

// A conversion group's sums over its payouts, and how its funding is shared out.
struct GroupSums {
    Amount need;  // the payouts' amounts, in the cycle currency
    Amount held;  // what was held for them, in the funding currency
    Amount cost;  // their costs one by one
    std::uint32_t count = 0;
    std::uint32_t conv = kNoConv;  // the first payout's rate (all the group's are equal)
    CurrencyIndex funding = 0;
    Amount x;          // the funding the conversion took (set by convert_group)
    Amount allocated;  // the payouts' shares of x, rounded down, summed
    Amount rest;       // x - allocated: one more unit each to the first `rest` payouts
    std::uint32_t given = 0;
};

// Per PSP in one currency: the gross sums behind its obligation report.
struct Gross {
    std::vector<Int128> in;
    std::vector<Int128> out;
    std::vector<std::uint32_t> lines;
};

}  // namespace

// One cutoff() call. Every step writes into these members only; commit() moves them into
// the state and the output once every step has succeeded.
struct Settlement::State::Cutoff {
    State& st;
    const Chart& chart;
    CutoffInput& input;
    ledger::Timestamp now;
    std::size_t psp_count;
    std::size_t currency_count;
    money::RoundingMode mode;

    std::map<PairIndex, Rate> mids;
    std::vector<CurrencyWork> work;
    std::set<CurrencyIndex> seen_currencies;
    IdSet seen_payouts;
    std::deque<DuePayout> carried_copies;  // the state keeps its own until commit()
    // Memos of pure functions of the call's input, for the per-payout steps: the pair of
    // two currencies ([a][b]; -1 none, -2 not looked up yet) and the cycle rate of a PSP
    // converting over a pair in one direction ([psp][pair][funding is base]).
    std::vector<int> pair_memo;
    std::vector<std::uint32_t> cycle_rate_memo;  // kNoConv: not looked up yet
    // The conversion rates of the call's payouts (PayoutWork::conv): each cycle rate once,
    // each locked rate once per payout.
    std::vector<Rate> rates;
    std::vector<std::optional<FastConv>> fast_rates;  // [rate]: prepare_fast()
    std::uint32_t add_rate(const Rate& r) {
        FXSETTLE_ASSERT(rates.size() < kNoConv, "settlement: too many rates in a cut-off");
        rates.push_back(r);
        fast_rates.push_back(prepare_fast(r, mode));
        return static_cast<std::uint32_t>(rates.size() - 1);
    }
    // funding_for() at rate `conv` (an index into `rates`).
    Result<Amount> funding_at(const Amount& target, std::uint32_t conv) const {
        return funding_for(target, rates[conv], mode, fast_rates[conv]);
    }
    const Rate& conv_of(const PayoutWork& pw) const { return rates[pw.conv]; }
    std::size_t items = 0;

    CycleId cycle_id;
    std::uint64_t next_entry;
    HedgeId next_hedge;
    PaymentOrderId next_order;
    std::vector<ledger::Operation> ops;
    // The call's events in output order: the steps run in that order (failed payouts,
    // hold-backs, conversions, hedges, settlement), so one list needs no merging.
    std::vector<SettlementEvent> events;
    HeldMirror mirror;
    std::map<CurrencyIndex, Carried> new_carried;
    Breaches breaches;
    std::vector<netting::ConversionNeed> needs;
    // (currency work index, pair) -> credited in the currency
    std::map<std::pair<std::size_t, PairIndex>, Amount> converted_into;
    std::vector<PairCycleFigures> pair_figures;
    std::map<HedgeId, Hedge> new_hedges;
    std::map<PairIndex, Amount> exposure_delta;
    std::vector<CurrencyCycleFigures> currency_figures;
    std::map<PaymentOrderId, Order> new_orders;
    std::map<std::pair<BankIndex, CurrencyIndex>, Amount> transit_delta;
    std::size_t new_open_lines = 0;

    Cutoff(State& state, CutoffInput& in, ledger::Timestamp at)
        : st(state),
          chart(*state.chart),
          input(in),
          now(at),
          psp_count(state.chart->psp_count()),
          currency_count(state.chart->currencies().size()),
          mode(state.options.rounding_mode),
          cycle_id(state.next_cycle),
          next_entry(state.next_entry),
          next_hedge(state.next_hedge),
          next_order(state.next_order),
          mirror(psp_count, currency_count) {}

    EntryBuilder entries(const CurrencyWork& w) {
        return EntryBuilder{&next_entry, w.value_date, &ops};
    }
    std::string cycle_ref() const { return "cycle " + std::to_string(cycle_id); }

    std::optional<PairIndex> pair_between(CurrencyIndex a, CurrencyIndex b) {
        if (pair_memo.empty())
            pair_memo.assign(currency_count * currency_count, -2);
        int& memo = pair_memo[static_cast<std::size_t>(a) * currency_count + b];
        if (memo == -2) {
            const auto found = st.pair_of(a, b);
            memo = found ? static_cast<int>(*found) : -1;
        }
        if (memo < 0)
            return std::nullopt;
        return static_cast<PairIndex>(memo);
    }
    Status validate_market();
    Status add_currency(CurrencyCutoff& cc);
    Status add_payout(CurrencyWork& w, DuePayout& p, const std::string& code);
    Status price();
    Status price_payout(CurrencyWork& w, PayoutWork& pw);
    NetTable net_positions() const;
    void find_breaches(PspIndex p, const NetTable& net, Breaches& found) const;
    void hold_back();
    void carry();
    Status convert();
    Status convert_group(std::size_t wi, const GroupKey& key, GroupSums& g);
    void release_same_currency(CurrencyWork& w);
    Status cross_and_hedge();
    Status hedge_pair(const netting::PairCross& x);
    Status settle(CurrencyWork& w);
    std::vector<netting::Obligation> obligations_of(const CurrencyWork& w, Gross& gross) const;
    Amount post_orders(CurrencyWork& w, const std::vector<netting::Obligation>& obligations,
                       const netting::NettingResult& result);
    Amount post_internal(const CurrencyWork& w,
                         const std::vector<netting::Obligation>& obligations);
    void report_obligations(const CurrencyWork& w, const Gross& gross);
    void commit(SettlementOutput& out);
};

Status Settlement::State::Cutoff::validate_market() {
    if (input.psps.size() != psp_count)
        return Status(StatusCode::kInvalidArgument, "cutoff: " + std::to_string(input.psps.size()) +
                                                        " PSP terms for " +
                                                        std::to_string(psp_count) + " PSPs");
    if (input.currencies.size() > kCutoffCurrenciesMax)
        return Status(StatusCode::kOutOfRange, "cutoff: more than kCutoffCurrenciesMax currencies");
    for (const auto& q : input.quotes) {
        if (q.pair >= st.pairs.size() || q.venue >= chart.venue_count() ||
            !(q.bid.pair() == st.pairs[q.pair]) || !(q.ask.pair() == st.pairs[q.pair]))
            return Status(StatusCode::kInvalidArgument,
                          "cutoff: a venue quote names an unknown pair or venue, or quotes "
                          "another pair");
    }
    for (const auto& m : input.mids) {
        if (m.pair >= st.pairs.size() || !(m.mid.pair() == st.pairs[m.pair]))
            return Status(StatusCode::kInvalidArgument,
                          "cutoff: a mid names an unknown pair or is on another pair");
        mids.insert_or_assign(m.pair, m.mid);
    }
    return Status::ok();
}

// Validates one currency's items, carried ones first, into `work`.
Status Settlement::State::Cutoff::add_currency(CurrencyCutoff& cc) {
    const CurrencyIndex c = cc.currency;
    if (c >= currency_count || !seen_currencies.insert(c).second)
        return Status(StatusCode::kInvalidArgument, "cutoff: currency index " + std::to_string(c) +
                                                        " is out of range or given twice");
    CurrencyWork w;
    w.currency = c;
    w.value_date = cc.value_date;
    // Carried items first (copied: the state keeps them until commit()), then the new ones
    // (moved), each straight into `work`.
    const auto it = st.carried.find(c);
    const Carried* from_carry = it != st.carried.end() ? &it->second : nullptr;
    const std::size_t payout_count =
        (from_carry ? from_carry->payouts.size() : 0) + cc.payouts.size();
    const std::size_t leg_count =
        (from_carry ? from_carry->trade_legs.size() : 0) + cc.trade_legs.size();
    items += payout_count + leg_count;
    if (items > kCutoffItemsMax)
        return Status(StatusCode::kOutOfRange, "cutoff: more than kCutoffItemsMax items");
    const std::string code = chart.currency(c).to_string();
    w.payouts.reserve(payout_count);
    prefault_room(w.payouts);
    w.legs.reserve(leg_count);
    if (from_carry) {
        for (const auto& p : from_carry->payouts) {
            carried_copies.push_back(p);
            if (Status s = add_payout(w, carried_copies.back(), code); !s)
                return s;
        }
    }
    for (auto& p : cc.payouts) {
        if (Status s = add_payout(w, p, code); !s)
            return s;
    }
    std::vector<DueTradeLeg> legs;
    legs.reserve(leg_count);
    if (from_carry)
        legs = from_carry->trade_legs;
    for (auto& l : cc.trade_legs)
        legs.push_back(std::move(l));
    for (auto& l : legs) {
        if (l.payer >= psp_count || l.payee >= psp_count || l.payer == l.payee ||
            !l.amount.is_positive())
            return Status(StatusCode::kInvalidArgument,
                          "cutoff " + code + ": trade " + std::to_string(l.trade_id) +
                              ": payer, payee or amount out of range");
        if (!chart.bank_for(c))
            return Status(StatusCode::kInvalidArgument, "cutoff: no bank settles " + code);
        w.legs.push_back(LegWork{std::move(l), Fate::kSettle});
    }
    work.push_back(std::move(w));
    return Status::ok();
}

Status Settlement::State::Cutoff::add_payout(CurrencyWork& w, DuePayout& p,
                                             const std::string& code) {
    const CurrencyIndex c = w.currency;
    // Built only for an error: a large cut-off validates hundreds of thousands of payouts.
    const auto where = [&] { return "cutoff " + code + ": payout " + std::to_string(p.id) + ": "; };
    if (p.id == 0 || !seen_payouts.insert(p.id))
        return Status(StatusCode::kInvalidArgument, where() + "id zero or given twice");
    if (p.payer >= psp_count || !p.amount.is_positive() || p.funding_currency >= currency_count ||
        !p.held.is_positive())
        return Status(StatusCode::kInvalidArgument,
                      where() + "payer, funding currency, amount or held out of range");
    PayoutWork pw;
    if (p.payee_psp) {
        if (*p.payee_psp >= psp_count || *p.payee_psp == p.payer)
            return Status(StatusCode::kInvalidArgument,
                          where() + "internal payee out of range or the payer itself");
        if (!chart.bank_for(c))
            return Status(StatusCode::kInvalidArgument, where() + "no bank settles " + code);
    } else if (p.bank < chart.bank_count() && chart.bank_serves(p.bank, c)) {
        pw.bank = p.bank;
    } else if (auto b = chart.bank_for(c)) {
        pw.bank = *b;
    } else {
        return Status(StatusCode::kInvalidArgument, where() + "no bank pays in " + code);
    }
    if (p.funding_currency == c) {
        if (p.held < p.amount)
            return Status(StatusCode::kInvalidArgument,
                          where() + "held less than the amount in the same currency");
    } else {
        pw.cross = true;
        auto pair = pair_between(p.funding_currency, c);
        if (!pair)
            return Status(StatusCode::kInvalidArgument,
                          where() + "no configured pair between its funding currency and " + code);
        pw.pair = *pair;
        if (p.locked_rate) {
            auto conv = conversion_rate(*p.locked_rate, chart.currency(p.funding_currency),
                                        chart.currency(c));
            if (!conv)
                return Status(StatusCode::kInvalidArgument, where() + conv.error().message());
            pw.conv = add_rate(*conv);
        }
    }
    pw.payout = &p;
    w.payouts.push_back(std::move(pw));
    return Status::ok();
}

// Step 1a: the rate of every cross-currency payout; a payout whose cost at it exceeds
// what was held fails and is refunded; one with no rate is held back.
Status Settlement::State::Cutoff::price() {
    for (auto& w : work) {
        for (auto& pw : w.payouts) {
            mirror.credit(pw.payout->payer, pw.payout->funding_currency, pw.payout->held);
            if (pw.cross) {
                if (Status s = price_payout(w, pw); !s)
                    return s;
            }
        }
        for (auto& lw : w.legs)
            mirror.credit(lw.leg.payer, w.currency, lw.leg.amount);
    }
    return Status::ok();
}

Status Settlement::State::Cutoff::price_payout(CurrencyWork& w, PayoutWork& pw) {
    const DuePayout& p = *pw.payout;
    const money::Currency& to = chart.currency(w.currency);
    const money::Currency& from = chart.currency(p.funding_currency);
    if (pw.conv == kNoConv) {
        const bool buys_base = st.pairs[pw.pair].base == to;
        if (cycle_rate_memo.empty())
            cycle_rate_memo.resize(psp_count * st.pairs.size() * 2, kNoConv);
        std::uint32_t& memo =
            cycle_rate_memo[(static_cast<std::size_t>(p.payer) * st.pairs.size() + pw.pair) * 2 +
                            (buys_base ? 1 : 0)];
        if (memo == kNoConv) {
            // Looked up once per PSP, pair and direction (a memo is set only with a mid).
            auto mid = mids.find(pw.pair);
            if (mid == mids.end()) {
                pw.fate = Fate::kHeldBack;
                pw.no_rate = true;
                return Status::ok();
            }
            auto r = psp_rate(mid->second, input.psps[p.payer].spread_bps, buys_base);
            if (!r)
                return r.error();
            auto conv = conversion_rate(*r, from, to);
            if (!conv)
                return conv.error();
            memo = add_rate(*conv);
        }
        pw.conv = memo;
    }
    auto cost = funding_at(p.amount, pw.conv);
    if (!cost)
        return cost.error();
    pw.cost = *cost;
    if (pw.cost <= p.held)
        return Status::ok();
    pw.fate = Fate::kFailed;
    ++w.failed;
    const Money back{p.held, from};
    mirror.debit(p.payer, p.funding_currency, p.held);
    entries(w).simple(
        chart.psp_held(p.payer, p.funding_currency),
        chart.psp_available(p.payer, p.funding_currency), back,
        cycle_ref() + " payout " + std::to_string(p.id) + " failed: FX buffer exceeded");
    PayoutFailed ev;
    ev.psp = p.payer;
    ev.client_id = p.client_id;
    ev.payout_id = p.id;
    ev.reason = static_cast<std::uint16_t>(SettlementCode::kFxBufferExceeded);
    ev.text = "converting " + fmt(p.amount, to) + " at " + conv_of(pw).to_string() + " costs " +
              fmt(pw.cost, from) + ", more than the " + fmt(p.held, from) + " held";
    ev.refunded = back;
    events.push_back(std::move(ev));
    return Status::ok();
}

// Each PSP's net position per currency over the items still to settle.
NetTable Settlement::State::Cutoff::net_positions() const {
    NetTable net(work.size(), std::vector<Int128>(psp_count));
    for (std::size_t wi = 0; wi < work.size(); ++wi) {
        for (const auto& pw : work[wi].payouts) {
            if (pw.fate != Fate::kSettle)
                continue;
            net[wi][pw.payout->payer] -= pw.payout->amount.minor();
            if (pw.payout->payee_psp)
                net[wi][*pw.payout->payee_psp] += pw.payout->amount.minor();
        }
        for (const auto& lw : work[wi].legs) {
            if (lw.fate != Fate::kSettle)
                continue;
            net[wi][lw.leg.payer] -= lw.leg.amount.minor();
            net[wi][lw.leg.payee] += lw.leg.amount.minor();
        }
    }
    return net;
}

// The caps PSP `p` would breach with `net`: per currency, then in aggregate over the
// currencies it has not breached one by one (valued at the mids, rounded up).
void Settlement::State::Cutoff::find_breaches(PspIndex p, const NetTable& net,
                                              Breaches& found) const {
    const PspTerms& terms = input.psps[p];
    const money::Currency& ref = terms.aggregate_cap.currency;
    // The aggregate cap holds per value date, over this call's currencies of the date and
    // what earlier cut-offs of the same date settled.
    struct DateSum {
        Int256 aggregate = 0;
        Int256 earlier = 0;
        std::optional<std::string> unvalued;
        std::vector<std::size_t> debit_currencies;
    };
    std::map<ledger::Date, DateSum> dates;
    for (std::size_t wi = 0; wi < work.size(); ++wi) {
        if (breaches.count({p, wi}) || net[wi][p] >= 0)
            continue;
        const money::Currency& cur = chart.currency(work[wi].currency);
        const Amount debit = to_amount(Int256(-net[wi][p]));
        auto cap_it = terms.net_debit_caps.find(cur);
        const Amount cap = cap_it == terms.net_debit_caps.end() ? Amount{} : cap_it->second;
        if (debit > cap) {
            found[{p, wi}] =
                Breach{HoldBackReason::kNetDebitCap, Money{cap, cur}, Money{debit, cur},
                       "net debit " + fmt(debit, cur) + " exceeds net_debit_caps." +
                           cur.to_string() + " " + fmt(cap, cur)};
            continue;
        }
        DateSum& d = dates[work[wi].value_date];
        d.debit_currencies.push_back(wi);
        if (auto valued = value_in(Money{debit, cur}, ref, st.pairs, mids)) {
            d.aggregate += Int256(valued->minor());
        } else {
            d.unvalued = cur.to_string();
        }
    }
    for (auto& [date, d] : dates) {
        if (auto it = st.settled_debits.find({p, date}); it != st.settled_debits.end()) {
            for (const auto& [c, amount] : it->second) {
                const money::Currency& cur = chart.currency(c);
                if (auto valued = value_in(Money{amount, cur}, ref, st.pairs, mids))
                    d.earlier += Int256(valued->minor());
                else
                    d.unvalued = cur.to_string() + " (settled earlier for the same value date)";
            }
        }
        if (d.unvalued) {
            for (std::size_t wi : d.debit_currencies) {
                found[{p, wi}] = Breach{HoldBackReason::kNoAggregateRate, terms.aggregate_cap,
                                        Money{Amount{}, ref},
                                        "no mid values the net debit in " + *d.unvalued +
                                            " in the aggregate cap's currency " + ref.to_string()};
            }
        } else if (d.aggregate + d.earlier > Int256(terms.aggregate_cap.amount.minor())) {
            const Amount total = to_amount(d.aggregate + d.earlier);
            std::string detail = "net debits worth " + fmt(total, ref);
            if (d.earlier != 0)
                detail += " (" + fmt(to_amount(d.earlier), ref) +
                          " settled by earlier cut-offs of value date " +
                          calendar::format_date(date) + ")";
            detail += " exceed aggregate_cap " + fmt(terms.aggregate_cap.amount, ref);
            for (std::size_t wi : d.debit_currencies) {
                found[{p, wi}] = Breach{HoldBackReason::kAggregateCap, terms.aggregate_cap,
                                        Money{total, ref}, detail};
            }
        }
    }
}

// Step 1b: holds back every item paid by a PSP in a currency where its result breaches a
// cap, until no result does (holding one back changes its payees' results). Each round
// holds back at least one more (PSP, currency), so there are at most PSPs x currencies.
void Settlement::State::Cutoff::hold_back() {
    // The items each PSP pays, per currency ([work][payer]), so that holding one back
    // touches only its own items and the table is updated in place: O(items) over all
    // rounds. Built at the first breach (most cut-offs have none), from the fates as
    // they are before anything is held back here.
    std::vector<std::vector<std::pair<std::vector<std::size_t>, std::vector<std::size_t>>>> paid_by;
    // Legs by (trade id, base leg), and what earlier cut-offs decided for their other legs.
    std::map<std::pair<std::uint64_t, bool>, std::pair<std::size_t, std::size_t>> leg_at;
    for (std::size_t wi = 0; wi < work.size(); ++wi) {
        for (std::size_t i = 0; i < work[wi].legs.size(); ++i)
            leg_at[{work[wi].legs[i].leg.trade_id, work[wi].legs[i].leg.base_leg}] = {wi, i};
    }
    for (auto& w : work) {
        for (auto& lw : w.legs) {
            const std::pair<std::uint64_t, bool> other{lw.leg.trade_id, !lw.leg.base_leg};
            if (st.legs_settled_alone.contains(other)) {
                lw.must_settle = true;
            } else if (st.legs_held_own.contains(other) && !leg_at.contains(other)) {
                lw.fate = Fate::kHeldBack;
                lw.other_held_back = true;
            }
        }
    }
    auto build_paid_by = [&] {
        paid_by.resize(work.size());
        for (std::size_t wi = 0; wi < work.size(); ++wi) {
            paid_by[wi].resize(psp_count);
            for (std::size_t i = 0; i < work[wi].payouts.size(); ++i) {
                if (work[wi].payouts[i].fate == Fate::kSettle)
                    paid_by[wi][work[wi].payouts[i].payout->payer].first.push_back(i);
            }
            for (std::size_t i = 0; i < work[wi].legs.size(); ++i) {
                if (work[wi].legs[i].fate == Fate::kSettle && !work[wi].legs[i].must_settle)
                    paid_by[wi][work[wi].legs[i].leg.payer].second.push_back(i);
            }
        }
    };
    NetTable net = net_positions();
    auto hold_leg = [&](LegWork& lw, std::size_t wi) {
        lw.fate = Fate::kHeldBack;
        net[wi][lw.leg.payer] += lw.leg.amount.minor();
        net[wi][lw.leg.payee] -= lw.leg.amount.minor();
    };
    for (;;) {
        Breaches found;
        for (PspIndex p = 0; p < psp_count; ++p)
            find_breaches(p, net, found);
        if (found.empty())
            return;
        if (paid_by.empty())
            build_paid_by();
        for (auto& [key, breach] : found) {
            auto& w = work[key.second];
            auto& row = net[key.second];
            const auto& [payouts, legs] = paid_by[key.second][key.first];
            for (std::size_t i : payouts) {
                auto& pw = w.payouts[i];
                FXSETTLE_ASSERT(pw.fate == Fate::kSettle, "settlement: held back twice");
                pw.fate = Fate::kHeldBack;
                row[pw.payout->payer] += pw.payout->amount.minor();
                if (pw.payout->payee_psp)
                    row[*pw.payout->payee_psp] -= pw.payout->amount.minor();
            }
            for (std::size_t i : legs) {
                auto& lw = w.legs[i];
                if (lw.fate != Fate::kSettle)
                    continue;  // held back already, as the other leg of a trade
                hold_leg(lw, key.second);
                // Its other leg, when this call settles it, is held back with it.
                const auto other = leg_at.find({lw.leg.trade_id, !lw.leg.base_leg});
                if (other == leg_at.end())
                    continue;
                LegWork& ol = work[other->second.first].legs[other->second.second];
                if (ol.fate == Fate::kSettle) {
                    hold_leg(ol, other->second.first);
                    ol.other_held_back = true;
                }
            }
            breaches.emplace(key, std::move(breach));
        }
    }
}

// Carries what is held back to the next cycle and reports it per PSP and currency.
void Settlement::State::Cutoff::carry() {
    for (std::size_t wi = 0; wi < work.size(); ++wi) {
        auto& w = work[wi];
        std::map<PspIndex, HoldBack> no_rate;
        std::map<PspIndex, HoldBack> capped;
        Carried kept;
        for (auto& pw : w.payouts) {
            if (pw.fate != Fate::kHeldBack)
                continue;
            ++w.held_back;
            mirror.debit(pw.payout->payer, pw.payout->funding_currency, pw.payout->held);
            (pw.no_rate ? no_rate : capped)[pw.payout->payer].payouts.push_back(pw.payout->id);
            kept.payouts.push_back(*pw.payout);
        }
        std::map<PspIndex, HoldBack> other_leg;
        for (auto& lw : w.legs) {
            if (lw.fate != Fate::kHeldBack)
                continue;
            ++w.held_back;
            mirror.debit(lw.leg.payer, w.currency, lw.leg.amount);
            (lw.other_held_back ? other_leg : capped)[lw.leg.payer].trade_ids.push_back(
                lw.leg.trade_id);
            kept.trade_legs.push_back(lw.leg);
        }
        for (auto& [p, hb] : other_leg) {
            hb.reason = HoldBackReason::kOtherLegHeldBack;
            hb.cap = st.money_of(Amount{}, w.currency);
            hb.net_debit = st.money_of(Amount{}, w.currency);
            hb.detail = std::to_string(hb.trade_ids.size()) +
                        " trade leg(s) whose other leg was held back: a trade never settles by "
                        "half";
        }
        for (auto& [p, hb] : capped) {
            const Breach& b = breaches.at({p, wi});
            hb.reason = b.reason;
            hb.cap = b.cap;
            hb.net_debit = b.net_debit;
            hb.detail = b.detail;
        }
        for (auto& [p, hb] : no_rate) {
            hb.reason = HoldBackReason::kNoRate;
            hb.cap = st.money_of(Amount{}, w.currency);
            hb.net_debit = st.money_of(Amount{}, w.currency);
            hb.detail = "no mid for the pair of " + std::to_string(hb.payouts.size()) +
                        " unlocked cross-currency payout(s)";
        }
        for (auto* map : {&capped, &no_rate, &other_leg}) {
            for (auto& [p, hb] : *map) {
                hb.cycle_id = cycle_id;
                hb.psp = p;
                hb.currency = w.currency;
                events.push_back(std::move(hb));
            }
        }
        if (!kept.payouts.empty() || !kept.trade_legs.empty())
            new_carried[w.currency] = std::move(kept);
    }
}

// Step 1c: one conversion per PSP, pair and rate.
Status Settlement::State::Cutoff::convert() {
    // Groups of every currency first, so that the operations and events of the rest of the
    // call (conversions here, hedges, then payment orders, internal transfers and reports
    // in settle()) get their room at once: a large cut-off appends hundreds of thousands,
    // and regrowing either list would move them all again into fresh memory. Room never
    // written is never touched.
    std::vector<Groups> groups(work.size());
    std::size_t room = ops.size();
    // Hedge orders (a slice per venue quote) and an exposure report per pair; the report.
    std::size_t event_room = events.size() + input.quotes.size() + st.pairs.size() + 1;
    const std::size_t fans_per_order =
        (std::min(kPaymentOrderLinesMax, psp_count) + ledger::kPostingsMax - 2) /
        (ledger::kPostingsMax - 1);
    const std::size_t fans_internal =
        (psp_count + ledger::kPostingsMax - 2) / (ledger::kPostingsMax - 1);
    for (std::size_t wi = 0; wi < work.size(); ++wi) {
        auto& w = work[wi];
        std::size_t external = 0;
        for (auto& pw : w.payouts) {
            if (pw.fate != Fate::kSettle)
                continue;
            if (pw.cross) {
                pw.group = groups[wi].add(pw.payout->payer, pw.pair, pw.conv,
                                          pw.payout->locked_rate.has_value());
            } else if (pw.payout->held > pw.payout->amount) {
                ++room;  // release_same_currency()
            }
            external += pw.payout->payee_psp ? 0 : 1;
            event_room += pw.payout->payee_psp ? 1 : 0;  // PayoutSettled
        }
        // A conversion posts at most four operations; a payment order (one per bank, split
        // at kPaymentOrderLinesMax lines) one fan; internal transfers two.
        groups[wi].order(rates);
        room += 4 * groups[wi].size();
        room += (external / kPaymentOrderLinesMax + chart.bank_count()) * fans_per_order;
        room += 2 * fans_internal;
        // ConversionExecuted per group, payment orders, a SettlementObligation per PSP.
        event_room +=
            groups[wi].size() + external / kPaymentOrderLinesMax + chart.bank_count() + psp_count;
    }
    ops.reserve(room);
    events.reserve(event_room);
    prefault_room(ops);
    prefault_room(events);
    for (std::size_t wi = 0; wi < work.size(); ++wi) {
        auto& w = work[wi];
        const Groups& gr = groups[wi];
        std::vector<GroupSums> sums(gr.size());
        const auto converted = [](const PayoutWork& pw) {
            return pw.fate == Fate::kSettle && pw.cross;
        };
        for (auto& pw : w.payouts) {
            if (!converted(pw))
                continue;
            pw.group = gr.group_of(pw.group);
            GroupSums& g = sums[pw.group];
            if (g.count++ == 0) {
                g.conv = pw.conv;
                g.funding = pw.payout->funding_currency;
            }
            g.need += pw.payout->amount;
            g.held += pw.payout->held;
            g.cost += pw.cost;
        }
        for (std::size_t g = 0; g < gr.size(); ++g) {
            if (Status s = convert_group(wi, gr.key(g), sums[g]); !s)
                return s;
        }
        // Each payout's share of its group's funding x: x * amount / need rounded down,
        // then one more unit to each of the group's first payouts (input order) until the
        // shares sum to x. x, amounts and need are positive; below 2^63 each, the product
        // fits 128 bits.
        const money::NativeInt128 small = std::numeric_limits<std::int64_t>::max();
        for (auto& pw : w.payouts) {
            if (!converted(pw))
                continue;
            GroupSums& g = sums[pw.group];
            const Amount& amount = pw.payout->amount;
            if (g.x.native_minor() <= small && g.need.native_minor() <= small &&
                amount.native_minor() <= small) {
                // share <= x < 2^63
                const UInt128 share = static_cast<UInt128>(g.x.native_minor()) *
                                      static_cast<UInt128>(amount.native_minor()) /
                                      static_cast<UInt128>(g.need.native_minor());
                pw.funded = *Amount::from_native(static_cast<money::NativeInt128>(share));
            } else {
                pw.funded = to_amount(Int256(g.x.minor()) * Int256(amount.minor()) /
                                      Int256(g.need.minor()));
            }
            g.allocated += pw.funded;
        }
        bool any_rest = false;
        for (GroupSums& g : sums) {
            g.rest = g.x - g.allocated;
            // Each share lost less than one unit to rounding down.
            FXSETTLE_ASSERT(!g.rest.is_negative() &&
                                g.rest < Amount::from_minor(static_cast<std::int64_t>(g.count)),
                            "settlement: a group's shares are off by more than their rounding");
            any_rest = any_rest || g.rest.is_positive();
        }
        for (auto& pw : w.payouts) {
            if (!any_rest)
                break;
            if (!converted(pw))
                continue;
            GroupSums& g = sums[pw.group];
            if (Amount::from_minor(g.given) < g.rest) {
                pw.funded += Amount::from_minor(1);
                ++g.given;
            }
        }
        release_same_currency(w);
    }
    return Status::ok();
}

Status Settlement::State::Cutoff::convert_group(std::size_t wi, const GroupKey& key, GroupSums& g) {
    auto& w = work[wi];
    const PspIndex p = std::get<0>(key);
    const PairIndex pair = std::get<1>(key);
    const Rate& conv = rates[g.conv];
    const CurrencyIndex f = g.funding;
    const money::Currency& from = chart.currency(f);
    const money::Currency& to = chart.currency(w.currency);
    const Amount& need = g.need;
    const Amount& held = g.held;
    const Amount& cost_sum = g.cost;
    auto pooled = funding_at(need, g.conv);
    if (!pooled)
        return pooled.error();
    FXSETTLE_ASSERT(cost_sum <= held, "settlement: a group's funding exceeds what was held");
    // Pooling never costs the PSP more than the payouts' own costs. When the pooled
    // conversion's one rounding falls short of what the payouts' separate roundings would
    // have credited, the PSP pays the sum of its payouts' costs and the rounding account
    // makes up the shortfall: less than one minor unit per payout.
    const Amount x = std::min(*pooled, cost_sum);
    auto c = money::convert(Money{x, from}, conv, mode);
    if (!c)
        return c.error();
    const Amount converted = c->converted.amount;
    const Amount shortfall = converted < need ? need - converted : Amount{};
    FXSETTLE_ASSERT(shortfall <= Amount::from_minor(static_cast<std::int64_t>(g.count)),
                    "settlement: a pooled conversion falls short by more than its rounding");
    const Amount credited = converted + shortfall;
    const std::string ref = cycle_ref() + " conversion " + chart.psp_id(p) + " " +
                            from.to_string() + "->" + to.to_string();
    mirror.debit(p, f, x);
    mirror.credit(p, w.currency, converted);
    ops.push_back(ledger::Operation{ledger::FxConversionRequest{
                                        .id = ledger::EntryId{kSettlementEntryIdHi, next_entry++},
                                        .value_date = w.value_date,
                                        .reference = ref,
                                        .from_account = chart.psp_held(p, f),
                                        .to_account = chart.psp_held(p, w.currency),
                                        .fx_position_from = chart.fx_position(f),
                                        .fx_position_to = chart.fx_position(w.currency),
                                        .rounding_account = chart.rounding(w.currency),
                                        .from = Money{x, from},
                                        .rate = conv,
                                        .mode = mode,
                                    },
                                    false});
    if (shortfall.is_positive()) {
        mirror.credit(p, w.currency, shortfall);
        entries(w).simple(chart.rounding(w.currency), chart.psp_held(p, w.currency),
                          Money{shortfall, to}, ref + ": rounding of the payouts' own costs");
    }
    if (held > x) {
        mirror.debit(p, f, held - x);
        entries(w).simple(chart.psp_held(p, f), chart.psp_available(p, f), Money{held - x, from},
                          ref + ": held beyond the cost released");
    }
    if (credited > need) {
        mirror.debit(p, w.currency, credited - need);
        entries(w).simple(chart.psp_held(p, w.currency), chart.psp_available(p, w.currency),
                          Money{credited - need, to}, ref + ": converted beyond the payouts");
    }
    g.x = x;  // shared out by convert()
    const bool base_is_to = st.pairs[pair].base == to;
    // The FX flow is what the conversion moved through fx_position (not the top-up).
    needs.push_back(netting::ConversionNeed{p, pair, base_is_to, base_is_to ? converted : x});
    converted_into[{wi, pair}] += converted;
    w.fx_volume += converted;
    events.push_back(ConversionExecuted{
        .cycle_id = cycle_id,
        .psp = p,
        .pair = pair,
        .from = Money{x, from},
        .to = Money{credited, to},
        .rate = conv,
        .locked = std::get<3>(key),
        .payouts = g.count,
    });
    return Status::ok();
}

// Same-currency payouts: what was held beyond the amount goes back to available.
void Settlement::State::Cutoff::release_same_currency(CurrencyWork& w) {
    for (auto& pw : w.payouts) {
        if (pw.fate != Fate::kSettle || pw.cross)
            continue;
        pw.funded = pw.payout->amount;
        if (pw.payout->held > pw.payout->amount) {
            const Amount extra = pw.payout->held - pw.payout->amount;
            mirror.debit(pw.payout->payer, w.currency, extra);
            entries(w).simple(chart.psp_held(pw.payout->payer, w.currency),
                              chart.psp_available(pw.payout->payer, w.currency),
                              st.money_of(extra, w.currency),
                              cycle_ref() + " payout " + std::to_string(pw.payout->id) +
                                  ": held beyond the amount released");
        }
    }
}

// Crosses opposite conversions per pair, credits each currency with the share of its
// conversions crossed internally, and hedges each pair's residual (step 2).
Status Settlement::State::Cutoff::cross_and_hedge() {
    auto crosses = netting::cross(needs, st.pairs.size());
    if (!crosses)
        return crosses.error();
    std::map<PairIndex, netting::PairCross> cross_of;
    for (const auto& x : *crosses)
        cross_of[x.pair] = x;
    for (const auto& [key, credited] : converted_into) {
        const auto& x = cross_of.at(key.second);
        const bool side_bought =
            st.pairs[key.second].base == chart.currency(work[key.first].currency);
        const Amount& side = side_bought ? x.bought_base : x.sold_base;
        if (side.is_positive()) {
            work[key.first].fx_crossed += to_amount(
                Int256(credited.minor()) * Int256(x.crossed_base.minor()) / Int256(side.minor()));
        }
    }
    for (const auto& x : *crosses) {
        if (Status s = hedge_pair(x); !s)
            return s;
    }
    return Status::ok();
}

Status Settlement::State::Cutoff::hedge_pair(const netting::PairCross& x) {
    PairCycleFigures pf;
    pf.pair = x.pair;
    pf.bought_base = x.bought_base;
    pf.sold_base = x.sold_base;
    pf.crossed_base = x.crossed_base;
    pf.residual_base = x.residual_base;
    pf.internal_cross_ppm = ratio_ppm(x.crossed_base + x.crossed_base, x.bought_base + x.sold_base);
    if (x.residual_base.is_zero()) {
        pair_figures.push_back(std::move(pf));
        return Status::ok();
    }
    auto plan = netting::plan_hedge(x.pair, x.residual_base, input.quotes);
    if (!plan)
        return plan.error();
    // At kHedgesInFlightMax open orders, what is left stays open exposure, reported.
    const std::size_t room =
        kHedgesInFlightMax -
        std::min<std::size_t>(kHedgesInFlightMax, st.deadlines.size() + new_hedges.size());
    while (plan->slices.size() > room) {
        plan->unhedged_base += plan->slices.back().base_amount;
        plan->slices.pop_back();
    }
    std::optional<Rate> mid;
    if (auto m = mids.find(x.pair); m != mids.end())
        mid = m->second;
    // The hedge's value date: the latest of the pair's currencies in the call.
    ledger::Date value_date{};
    for (const auto& w : work) {
        const auto& cur = chart.currency(w.currency);
        if ((cur == st.pairs[x.pair].base || cur == st.pairs[x.pair].quote) &&
            w.value_date > value_date)
            value_date = w.value_date;
    }
    const ledger::Timestamp sent_at =
        input.batch_time && *input.batch_time > now ? *input.batch_time : now;
    const ledger::Timestamp deadline =
        sent_at + std::chrono::duration_cast<std::chrono::nanoseconds>(st.options.hedge_timeout_ms);
    for (const auto& slice : plan->slices) {
        const HedgeId id = next_hedge++;
        pf.hedged_base += slice.base_amount;
        events.push_back(HedgeOrder{.hedge_id = id,
                                    .cycle_id = cycle_id,
                                    .venue = slice.venue,
                                    .pair = slice.pair,
                                    .buy_base = slice.buy_base,
                                    .base_amount = slice.base_amount,
                                    .limit = slice.price,
                                    .deadline = deadline});
        new_hedges.emplace(id, Hedge{.cycle_id = cycle_id,
                                     .venue = slice.venue,
                                     .pair = slice.pair,
                                     .buy_base = slice.buy_base,
                                     .base_amount = slice.base_amount,
                                     .filled_base = Amount{},
                                     .limit = slice.price,
                                     .mid = mid,
                                     .value_date = value_date,
                                     .deadline = deadline,
                                     .open = true,
                                     .exec_ids = {}});
    }
    if (mid && !plan->slices.empty()) {
        auto cost = netting::hedge_cost_against_mid(plan->slices, *mid);
        if (!cost)
            return cost.error();
        pf.hedge_cost_against_mid = *cost;
    }
    pf.unhedged_base = plan->unhedged_base;
    if (plan->unhedged_base.is_positive()) {
        const Amount signed_open =
            x.residual_base.is_positive() ? plan->unhedged_base : -plan->unhedged_base;
        exposure_delta[x.pair] += signed_open;
        ExposureReported ev;
        ev.pair = x.pair;
        ev.reason = ExposureReason::kNoVenueSize;
        ev.base_amount = signed_open;
        ev.open_base = st.exposure(x.pair) + exposure_delta[x.pair];
        ev.detail =
            cycle_ref() + ": venue quotes cover " + pf.hedged_base.to_string() + " of " +
            (x.residual_base.is_negative() ? -x.residual_base : x.residual_base).to_string() + " " +
            st.pairs[x.pair].base.to_string() + " minor units";
        events.push_back(std::move(ev));
    }
    pair_figures.push_back(std::move(pf));
    return Status::ok();
}

// The currency's obligations (reference: payout index, or payouts.size() + leg index)
// and each PSP's gross sums.
std::vector<netting::Obligation> Settlement::State::Cutoff::obligations_of(const CurrencyWork& w,
                                                                           Gross& gross) const {
    std::vector<netting::Obligation> obligations;
    obligations.reserve(w.payouts.size() + w.legs.size());
    prefault_room(obligations);
    gross.in.assign(psp_count, Int128(0));
    gross.out.assign(psp_count, Int128(0));
    gross.lines.assign(psp_count, 0);
    auto add = [&](const netting::Obligation& o) {
        obligations.push_back(o);
        gross.out[o.payer] += o.amount.minor();
        ++gross.lines[o.payer];
        if (o.payee != netting::kExternal) {
            gross.in[o.payee] += o.amount.minor();
            ++gross.lines[o.payee];
        }
    };
    for (std::size_t i = 0; i < w.payouts.size(); ++i) {
        const auto& pw = w.payouts[i];
        if (pw.fate == Fate::kSettle)
            add(netting::Obligation{
                pw.payout->payer, pw.payout->payee_psp ? *pw.payout->payee_psp : netting::kExternal,
                pw.bank, w.currency, pw.payout->amount, i});
    }
    for (std::size_t i = 0; i < w.legs.size(); ++i) {
        const auto& lw = w.legs[i];
        if (lw.fate == Fate::kSettle)
            add(netting::Obligation{lw.leg.payer, lw.leg.payee, 0, w.currency, lw.leg.amount,
                                    w.payouts.size() + i});
    }
    return obligations;
}

namespace {

// How many payment lines ahead post_orders() fetches a line's work and payout.
constexpr std::size_t kLinePrefetchAhead = 16;

void prefetch_work(const CurrencyWork& w, const std::vector<netting::Obligation>& obligations,
                   std::uint32_t line) noexcept {
    const std::size_t ref = obligations[line].reference;
    if (ref < w.payouts.size())
        __builtin_prefetch(&w.payouts[ref]);
}

// The cache lines of the DuePayout that post_orders() reads (its ids, amounts, currency and
// beneficiary: all of it but the locked rate, in a few lines).
void prefetch_payout(const CurrencyWork& w, const std::vector<netting::Obligation>& obligations,
                     std::uint32_t line) noexcept {
    const std::size_t ref = obligations[line].reference;
    if (ref >= w.payouts.size())
        return;
    const auto* bytes = reinterpret_cast<const char*>(w.payouts[ref].payout);
    for (std::size_t off = 0; off < sizeof(DuePayout); off += 64)
        __builtin_prefetch(bytes + off);
}

}  // namespace

// One payment order per bank: Dr held(payer) / Cr settlement(bank). Returns the total.
Amount Settlement::State::Cutoff::post_orders(CurrencyWork& w,
                                              const std::vector<netting::Obligation>& obligations,
                                              const netting::NettingResult& result) {
    const CurrencyIndex c = w.currency;
    Amount sent;
    // Per chunk, each payer's total (indexed by PSP; the payers named are listed, then
    // sorted, so that the debits come in PSP order).
    std::vector<Amount> by_payer(psp_count);
    std::vector<PspIndex> payers;
    // Per chunk, each call rate's index in the order's rates (kNoConv: not there yet).
    std::vector<std::uint32_t> order_rate_memo(rates.size(), kNoConv);
    std::vector<std::uint32_t> order_rates_named;
    for (const auto& order : result.orders) {
        // An order of more than kPaymentOrderLinesMax lines goes to the bank as several
        // payment orders of at most that many lines each (in line order), so that every one
        // fits one FIX message (adapters/fix/wire.h: kWireGroupEntriesMax).
        Amount order_sum;
        for (std::size_t first = 0; first < order.lines.size(); first += kPaymentOrderLinesMax) {
            const std::size_t last = std::min(order.lines.size(), first + kPaymentOrderLinesMax);
            const std::span<const std::uint32_t> chunk(order.lines.data() + first, last - first);
            const PaymentOrderId order_id = next_order++;
            PaymentOrder ev{.order_id = order_id,
                            .cycle_id = cycle_id,
                            .bank = order.bank,
                            .currency = c,
                            .value_date = w.value_date,
                            .total = {},  // the lines' sum, below
                            .lines = {}};
            Order so;
            so.bank = order.bank;
            so.currency = c;
            so.value_date = w.value_date;
            ev.lines.reserve(chunk.size());
            so.lines.reserve(chunk.size());
            prefault_room(ev.lines);
            prefault_room(so.lines);
            payers.clear();
            for (const std::uint32_t r : order_rates_named)
                order_rate_memo[r] = kNoConv;
            order_rates_named.clear();
            Amount total;
            // Each external payout is in one line of one order: its beneficiary and client id
            // move into the line (the later steps read neither for an external payout).
            for (std::size_t k = 0; k < chunk.size(); ++k) {
                // The lines name payouts in the bank's order, not the work list's: each
                // line's PayoutWork and DuePayout would be a cache miss (most of this
                // loop's time at 1M payouts), so both are fetched some lines ahead.
                if (k + kLinePrefetchAhead < chunk.size())
                    prefetch_work(w, obligations, chunk[k + kLinePrefetchAhead]);
                if (k + kLinePrefetchAhead / 2 < chunk.size())
                    prefetch_payout(w, obligations, chunk[k + kLinePrefetchAhead / 2]);
                const std::uint32_t li = chunk[k];
                auto& pw = w.payouts.at(obligations.at(li).reference);
                // Built in place (clang 14, the fuzz build's, has no parenthesized
                // aggregate init): the beneficiary's and client id's strings move once.
                PaymentLine& line = ev.lines.emplace_back();
                line.payout_id = pw.payout->id;
                line.payer = pw.payout->payer;
                line.beneficiary = std::move(pw.payout->beneficiary);
                line.amount = pw.payout->amount;
                std::uint32_t rate = kLineNoRate;
                if (pw.cross) {
                    std::uint32_t& in_order = order_rate_memo[pw.conv];
                    if (in_order == kNoConv) {
                        in_order = static_cast<std::uint32_t>(so.rates.size());
                        so.rates.push_back(conv_of(pw));
                        order_rates_named.push_back(pw.conv);
                    }
                    rate = in_order;
                }
                Line& kept = so.lines.emplace_back();
                kept.payout_id = pw.payout->id;
                kept.client_id = std::move(pw.payout->client_id);
                kept.payer = pw.payout->payer;
                kept.funded_currency = pw.payout->funding_currency;
                kept.rate = rate;
                kept.status = LineStatus::kOpen;
                kept.amount = pw.payout->amount;
                kept.funded = pw.funded;
                Amount& payer_sum = by_payer[pw.payout->payer];
                if (payer_sum.is_zero())
                    payers.push_back(pw.payout->payer);
                payer_sum += pw.payout->amount;
                total += pw.payout->amount;
            }
            // One pass over the lines (each one a payout elsewhere in memory): the total is
            // their sum, and all chunks' totals are checked against netting's below.
            ev.total = total;
            order_sum += total;
            so.open_lines = static_cast<std::uint32_t>(so.lines.size());
            new_open_lines += so.lines.size();
            std::sort(payers.begin(), payers.end());
            std::vector<std::pair<ledger::AccountId, Amount>> debits;
            debits.reserve(payers.size());
            for (const PspIndex p : payers) {
                const Amount a = std::exchange(by_payer[p], Amount{});
                mirror.debit(p, c, a);
                debits.emplace_back(chart.psp_held(p, c), a);
            }
            entries(w).fan(debits, ledger::Side::kDebit, chart.settlement(order.bank, c),
                           chart.currency(c),
                           cycle_ref() + " payment order " + std::to_string(order_id) + " to " +
                               chart.bank_id(order.bank));
            sent += total;
            transit_delta[{order.bank, c}] += total;
            new_orders.emplace(order_id, std::move(so));
            events.push_back(std::move(ev));
        }
        FXSETTLE_ASSERT(order_sum == order.total, "settlement: payment order total mismatch");
    }
    return sent;
}

// Internal payouts and trade legs through the settlement account of bank_for(c), which
// they leave at zero: Dr held(payer) / Cr settlement, Dr settlement / Cr available(payee).
// Returns the total.
Amount Settlement::State::Cutoff::post_internal(
    const CurrencyWork& w, const std::vector<netting::Obligation>& obligations) {
    const CurrencyIndex c = w.currency;
    std::map<PspIndex, Amount> out_by;
    std::map<PspIndex, Amount> in_by;
    for (const auto& o : obligations) {
        if (o.payee == netting::kExternal)
            continue;
        out_by[o.payer] += o.amount;
        in_by[o.payee] += o.amount;
    }
    Amount total;
    if (out_by.empty())
        return total;
    const BankIndex bank = *chart.bank_for(c);
    std::vector<std::pair<ledger::AccountId, Amount>> debits;
    std::vector<std::pair<ledger::AccountId, Amount>> credits;
    debits.reserve(out_by.size());
    credits.reserve(in_by.size());
    for (const auto& [p, a] : out_by) {
        mirror.debit(p, c, a);
        debits.emplace_back(chart.psp_held(p, c), a);
        total += a;
    }
    for (const auto& [p, a] : in_by)
        credits.emplace_back(chart.psp_available(p, c), a);
    const std::string ref = cycle_ref() + " internal " + chart.currency(c).to_string();
    entries(w).fan(debits, ledger::Side::kDebit, chart.settlement(bank, c), chart.currency(c), ref);
    entries(w).fan(credits, ledger::Side::kCredit, chart.settlement(bank, c), chart.currency(c),
                   ref);
    // Internal payouts are settled now.
    for (const auto& pw : w.payouts) {
        if (pw.fate != Fate::kSettle || !pw.payout->payee_psp)
            continue;
        PayoutSettled ev;
        ev.psp = pw.payout->payer;
        ev.client_id = pw.payout->client_id;
        ev.payout_id = pw.payout->id;
        ev.amount = st.money_of(pw.payout->amount, c);
        ev.funded = st.money_of(pw.funded, pw.payout->funding_currency);
        if (pw.cross)
            ev.rate = conv_of(pw);
        ev.value_date = w.value_date;
        events.push_back(std::move(ev));
    }
    return total;
}

void Settlement::State::Cutoff::report_obligations(const CurrencyWork& w, const Gross& gross) {
    for (PspIndex p = 0; p < psp_count; ++p) {
        if (gross.lines[p] == 0)
            continue;
        SettlementObligation ev;
        ev.cycle_id = cycle_id;
        ev.psp = p;
        ev.currency = w.currency;
        ev.value_date = w.value_date;
        ev.gross_in = to_amount(Int256(gross.in[p]));
        ev.gross_out = to_amount(Int256(gross.out[p]));
        ev.net = ev.gross_in - ev.gross_out;
        ev.direction = ev.net.is_negative()   ? ObligationDirection::kPayIn
                       : ev.net.is_positive() ? ObligationDirection::kPayOut
                                              : ObligationDirection::kFlat;
        ev.amount = ev.net.is_negative() ? -ev.net : ev.net;
        ev.lines = gross.lines[p];
        ev.funding_mode = input.psps[p].funding_mode;
        events.push_back(std::move(ev));
    }
}

// Steps 3 and 4 for one currency: net, post, report.
Status Settlement::State::Cutoff::settle(CurrencyWork& w) {
    const CurrencyIndex c = w.currency;
    Gross gross;
    const auto obligations = obligations_of(w, gross);
    auto result = netting::net(obligations, psp_count, chart.bank_count(), currency_count);
    if (!result)
        return result.error();
    // Every position netting found is the one the gross sums give, and vice versa.
    std::size_t nonzero = 0;
    for (PspIndex p = 0; p < psp_count; ++p)
        nonzero += gross.in[p] != gross.out[p] ? 1 : 0;
    FXSETTLE_ASSERT(result->positions.size() == nonzero,
                    "settlement: netting found other positions than the gross sums");
    for (const auto& pos : result->positions)
        FXSETTLE_ASSERT(
            pos.currency == c && pos.net.minor() == gross.in[pos.psp] - gross.out[pos.psp],
            "settlement: a net position differs from the gross sums");

    const Amount sent_to_banks = post_orders(w, obligations, *result);  // out
    const Amount credited_internal = post_internal(w, obligations);     // stays in accounts
    Amount debited_held;                                                // in
    for (PspIndex p = 0; p < psp_count; ++p)
        debited_held += to_amount(Int256(gross.out[p]));
    // Conservation: what left the payers' held accounts went to banks or to payees.
    FXSETTLE_ASSERT(debited_held == sent_to_banks + credited_internal,
                    "settlement: conservation broken in a cycle currency");
    report_obligations(w, gross);

    CurrencyCycleFigures cf;
    cf.currency = c;
    cf.value_date = w.value_date;
    for (const auto& f : result->figures) {
        if (f.currency != c)
            continue;
        cf.gross = f.gross;
        cf.net = f.net;
        cf.payments_before = f.payments_before;
        cf.payments_after = f.payments_after;
        cf.liquidity_saving_ppm = f.liquidity_saving_ppm;
    }
    FXSETTLE_ASSERT(cf.gross == debited_held, "settlement: gross differs from what was posted");
    cf.fx_volume = w.fx_volume;
    cf.fx_crossed = w.fx_crossed;
    cf.internal_cross_ppm = ratio_ppm(w.fx_crossed, w.fx_volume);
    cf.held_back = w.held_back;
    cf.failed = w.failed;
    currency_figures.push_back(std::move(cf));
    return Status::ok();
}

void Settlement::State::Cutoff::commit(SettlementOutput& out) {
    // Everything handed over is accounted for: settled, returned, failed or carried.
    for (const Amount& left : mirror.held)
        FXSETTLE_ASSERT(left.is_zero(), "settlement: held funds of the cycle left unaccounted");
    CycleReport report;
    report.cycle_id = cycle_id;
    report.at = now;
    report.currencies = std::move(currency_figures);
    report.pairs = std::move(pair_figures);

    // The net debits this cut-off settles count against later cut-offs of their dates.
    const NetTable net = net_positions();
    std::optional<ledger::Date> earliest;
    for (std::size_t wi = 0; wi < work.size(); ++wi) {
        const ledger::Date date = work[wi].value_date;
        earliest = earliest ? std::min(*earliest, date) : date;
        for (PspIndex p = 0; p < psp_count; ++p) {
            if (net[wi][p] < 0)
                st.settled_debits[{p, date}][work[wi].currency] += to_amount(Int256(-net[wi][p]));
        }
    }
    if (earliest) {
        const ledger::Date oldest_kept = *earliest - std::chrono::days(kSettledDebitsDaysKept);
        std::erase_if(st.settled_debits,
                      [&](const auto& entry) { return entry.first.second < oldest_kept; });
    }
    for (const auto& w : work) {
        for (const auto& lw : w.legs) {
            const std::pair<std::uint64_t, bool> self{lw.leg.trade_id, lw.leg.base_leg};
            const std::pair<std::uint64_t, bool> other{lw.leg.trade_id, !lw.leg.base_leg};
            st.legs_held_own.erase(self);
            if (lw.fate == Fate::kHeldBack) {
                if (!lw.other_held_back)
                    st.legs_held_own.insert(self);
            } else if (!st.legs_settled_alone.erase(other)) {
                st.legs_settled_alone.insert(self);
            }
        }
    }
    // Both legs settled in this call: the second one erased the first's record.
    for (const auto& w : work)
        st.carried.erase(w.currency);
    for (auto& [c, kept] : new_carried)
        st.carried[c] = std::move(kept);
    for (auto& [id, h] : new_hedges) {
        st.deadlines.insert({h.deadline, id});
        st.hedges.emplace(id, std::move(h));
    }
    for (const auto& [pair, delta] : exposure_delta)
        st.add_exposure(pair, delta);
    for (auto& [id, o] : new_orders) {
        st.lines_kept += o.lines.size();
        st.orders.emplace(id, std::move(o));
    }
    st.open_lines += new_open_lines;
    for (const auto& [key, a] : transit_delta)
        st.in_transit[key] += a;
    st.next_cycle = cycle_id + 1;
    st.next_entry = next_entry;
    st.next_hedge = next_hedge;
    st.next_order = next_order;
    if (out.operations.empty()) {
        out.operations = std::move(ops);
    } else {
        out.operations.reserve(out.operations.size() + ops.size());
        for (auto& op : ops)
            out.operations.push_back(std::move(op));
    }
    if (out.events.empty()) {
        out.events = std::move(events);
    } else {
        out.events.reserve(out.events.size() + events.size() + 1);
        for (auto& ev : events)
            out.events.push_back(std::move(ev));
    }
    out.events.push_back(std::move(report));
}

Status Settlement::cutoff(CutoffInput input, ledger::Timestamp now, SettlementOutput& out) {
    State::Cutoff run(*state_, input, now);
    if (Status s = run.validate_market(); !s)
        return s;
    // Room for every payout id, once (add_currency() reserves none): growing the set per
    // currency would insert the ids seen so far again at each step.
    std::size_t payout_ids = 0;
    for (const auto& cc : input.currencies) {
        payout_ids += cc.payouts.size();
        if (const auto it = state_->carried.find(cc.currency); it != state_->carried.end())
            payout_ids += it->second.payouts.size();
    }
    run.seen_payouts.reserve(std::min(payout_ids, kCutoffItemsMax));
    for (auto& cc : input.currencies) {
        if (Status s = run.add_currency(cc); !s)
            return s;
    }
    if (Status s = run.price(); !s)
        return s;
    run.hold_back();
    run.carry();
    if (Status s = run.convert(); !s)
        return s;
    if (Status s = run.cross_and_hedge(); !s)
        return s;
    for (auto& w : run.work) {
        if (Status s = run.settle(w); !s)
            return s;
    }
    run.commit(out);
    return Status::ok();
}

// ---- hedge replies --------------------------------------------------------------------

Status Settlement::on_hedge_fill(const HedgeFill& fill, ledger::Timestamp now,
                                 SettlementOutput& out) {
    State& st = *state_;
    const Chart& chart = *st.chart;
    auto reject = [&](SettlementCode code, std::string text) {
        SettlementReplyRejected ev;
        ev.code = code;
        ev.venue = fill.venue;
        ev.hedge_order_id = fill.hedge_order_id;
        ev.text = std::move(text);
        out.events.push_back(std::move(ev));
        return Status::ok();
    };
    auto it = st.hedges.find(fill.hedge_order_id);
    if (it == st.hedges.end() && st.hedge_dropped(fill.hedge_order_id))
        return reject(SettlementCode::kHedgeNoLongerKept,
                      "hedge order " + std::to_string(fill.hedge_order_id) + " closed more than " +
                          std::to_string(kFinishedDaysKept) +
                          " days ago and is no longer kept; nothing changed");
    if (it == st.hedges.end())
        return reject(SettlementCode::kUnknownHedge,
                      "no hedge order " + std::to_string(fill.hedge_order_id));
    State::Hedge& h = it->second;
    if (h.venue != fill.venue)
        return reject(SettlementCode::kVenueMismatch,
                      "hedge order " + std::to_string(fill.hedge_order_id) + " went to " +
                          chart.venue_id(h.venue) + ", not " +
                          (fill.venue < chart.venue_count() ? chart.venue_id(fill.venue)
                                                            : std::to_string(fill.venue)));
    if (std::find(h.exec_ids.begin(), h.exec_ids.end(), fill.exec_id) != h.exec_ids.end())
        return Status::ok();  // a repeat
    if (h.exec_ids.size() >= kFillExecIdsMax)
        return reject(SettlementCode::kFillExceedsHedge,
                      "hedge order " + std::to_string(fill.hedge_order_id) + " has " +
                          std::to_string(kFillExecIdsMax) + " fills, kFillExecIdsMax");
    const money::CurrencyPair& pair = st.pairs[h.pair];
    if (!(fill.price.pair() == pair))
        return reject(
            SettlementCode::kFillPriceInvalid,
            "fill price on " + fill.price.pair().to_string() + ", hedge on " + pair.to_string());
    if (!fill.base_amount.is_positive() || h.filled_base + fill.base_amount > h.base_amount)
        return reject(SettlementCode::kFillExceedsHedge, "fill of " + fill.base_amount.to_string() +
                                                             " with " + h.filled_base.to_string() +
                                                             " of " + h.base_amount.to_string() +
                                                             " filled");
    auto quote = money::convert(Money{fill.base_amount, pair.base}, fill.price,
                                money::RoundingMode::kHalfEven);
    if (!quote)
        return quote.error();
    if (!quote->converted.amount.is_positive())
        return reject(SettlementCode::kFillPriceInvalid, "fill converts to zero");
    const CurrencyIndex base = st.index_of(pair.base);
    const CurrencyIndex quote_ccy = st.index_of(pair.quote);
    const Money base_m{fill.base_amount, pair.base};
    const Money quote_m = quote->converted;
    // Buying base: the venue owes us base (Dr venue) and we owe it quote (Cr venue).
    ledger::EntryRequest q;
    q.id = ledger::EntryId{kSettlementEntryIdHi, st.next_entry++};
    q.kind = ledger::EntryKind::kPosted;
    q.value_date = h.value_date;
    q.reference = "hedge " + std::to_string(fill.hedge_order_id) + " fill " + fill.exec_id;
    if (q.reference.size() > ledger::kReferenceBytesMax)
        q.reference.resize(ledger::kReferenceBytesMax);
    const auto venue_base = chart.venue(h.venue, base);
    const auto venue_quote = chart.venue(h.venue, quote_ccy);
    const auto pos_base = chart.fx_position(base);
    const auto pos_quote = chart.fx_position(quote_ccy);
    using ledger::Side;
    if (h.buy_base) {
        q.postings = {{venue_base, Side::kDebit, base_m},
                      {pos_base, Side::kCredit, base_m},
                      {pos_quote, Side::kDebit, quote_m},
                      {venue_quote, Side::kCredit, quote_m}};
    } else {
        q.postings = {{pos_base, Side::kDebit, base_m},
                      {venue_base, Side::kCredit, base_m},
                      {venue_quote, Side::kDebit, quote_m},
                      {pos_quote, Side::kCredit, quote_m}};
    }
    out.operations.push_back(ledger::Operation{std::move(q), false});
    h.exec_ids.push_back(fill.exec_id);
    h.filled_base += fill.base_amount;
    const bool late = !h.open;
    Amount cost_against_mid;
    if (h.mid) {
        netting::HedgeSlice slice{h.venue, h.pair, h.buy_base, fill.base_amount, fill.price};
        auto cost = netting::hedge_cost_against_mid(std::span(&slice, 1), *h.mid);
        if (!cost)
            return cost.error();
        cost_against_mid = *cost;
    }
    out.events.push_back(HedgeFilled{
        .hedge_id = fill.hedge_order_id,
        .venue = h.venue,
        .pair = h.pair,
        .buy_base = h.buy_base,
        .exec_id = fill.exec_id,
        .base_amount = fill.base_amount,
        .quote_amount = quote_m.amount,
        .price = fill.price,
        .filled_base = h.filled_base,
        .complete = h.filled_base == h.base_amount,
        .late = late,
        .cost_against_mid = cost_against_mid,
    });
    const Amount signed_fill = h.buy_base ? fill.base_amount : -fill.base_amount;
    if (late) {
        st.add_exposure(h.pair, -signed_fill);
        ExposureReported ex;
        ex.pair = h.pair;
        ex.hedge_id = fill.hedge_order_id;
        ex.venue = h.venue;
        ex.reason = ExposureReason::kLateFill;
        ex.base_amount = -signed_fill;
        ex.open_base = st.exposure(h.pair);
        ex.detail = "late fill " + fill.exec_id;
        out.events.push_back(std::move(ex));
        return Status::ok();
    }
    if (h.filled_base == h.base_amount || fill.last) {
        st.close_hedge(fill.hedge_order_id, h, ExposureReason::kVenueCancelledRest,
                       "the venue ended the order with " +
                           (h.base_amount - h.filled_base).to_string() + " unfilled",
                       now, out.events);
    }
    return Status::ok();
}

Status Settlement::on_hedge_reject(const HedgeReject& reject, ledger::Timestamp now,
                                   SettlementOutput& out) {
    State& st = *state_;
    auto it = st.hedges.find(reject.hedge_order_id);
    if (it == st.hedges.end() || it->second.venue != reject.venue) {
        const bool dropped = it == st.hedges.end() && st.hedge_dropped(reject.hedge_order_id);
        SettlementReplyRejected ev;
        ev.code = dropped                 ? SettlementCode::kHedgeNoLongerKept
                  : it == st.hedges.end() ? SettlementCode::kUnknownHedge
                                          : SettlementCode::kVenueMismatch;
        ev.venue = reject.venue;
        ev.hedge_order_id = reject.hedge_order_id;
        ev.text = "reject of hedge order " + std::to_string(reject.hedge_order_id) +
                  (dropped                 ? ": closed long ago, no longer kept; nothing changed"
                   : it == st.hedges.end() ? ": no such order"
                                           : ": sent to another venue");
        out.events.push_back(std::move(ev));
        return Status::ok();
    }
    if (!it->second.open)
        return Status::ok();  // a repeat, or after the order ended
    st.close_hedge(it->first, it->second, ExposureReason::kHedgeRejected,
                   "venue rejected: " + reject.text, now, out.events);
    return Status::ok();
}

Status Settlement::on_tick(ledger::Timestamp now, SettlementOutput& out) {
    State& st = *state_;
    while (!st.deadlines.empty() && st.deadlines.begin()->first <= now) {
        const HedgeId id = st.deadlines.begin()->second;
        State::Hedge& h = st.hedges.at(id);
        st.close_hedge(id, h, ExposureReason::kHedgeTimedOut, "no complete fill by the deadline",
                       now, out.events);
    }
    st.prune(now);
    return Status::ok();
}

std::optional<ledger::Timestamp> Settlement::next_deadline() const {
    if (state_->deadlines.empty())
        return std::nullopt;
    return state_->deadlines.begin()->first;
}

// ---- bank replies ---------------------------------------------------------------------

namespace {

SettlementReplyRejected bank_reject(SettlementCode code, BankIndex bank, std::uint64_t order,
                                    std::optional<std::uint32_t> line, std::string text) {
    SettlementReplyRejected ev;
    ev.code = code;
    ev.bank = bank;
    ev.payment_order_id = order;
    ev.line = line;
    ev.text = std::move(text);
    return ev;
}

}  // namespace

// The answer to a reply naming a finished order, as when the order was kept whole: the
// bank and line are checked, a repeat changes nothing, a conflict is refused. `line`
// nullopt: a whole-order confirmation. `rejection`: the reply rejects the line.
void Settlement::State::answer_finished(PaymentOrderId id, const FinishedOrder& f, BankIndex bank,
                                        std::optional<std::uint32_t> line, bool rejection,
                                        std::vector<SettlementEvent>& events) const {
    const std::string what = rejection ? "rejection" : "confirmation";
    if (f.bank != bank || (line && *line >= f.payout_ids.size())) {
        const SettlementCode code =
            f.bank != bank ? SettlementCode::kBankMismatch : SettlementCode::kUnknownLine;
        events.push_back(bank_reject(code, bank, id, line,
                                     line ? what + " of payment order " + std::to_string(id) +
                                                " line " + std::to_string(*line) + ": " +
                                                std::string(settlement_code_name(code))
                                          : "confirmation of payment order " + std::to_string(id) +
                                                ": sent to another bank"));
        return;
    }
    if (!line)
        return;  // a repeat
    const bool was_rejected = f.rejected[*line];
    if (was_rejected == rejection)
        return;  // a repeat
    if (was_rejected) {
        events.push_back(bank_reject(SettlementCode::kLineAlreadyRejected, f.bank, id, *line,
                                     "payout " + std::to_string(f.payout_ids[*line]) +
                                         " was rejected before; its funds are returned"));
    } else {
        events.push_back(
            bank_reject(SettlementCode::kLineAlreadyConfirmed, f.bank, id, *line,
                        "payout " + std::to_string(f.payout_ids[*line]) + " was confirmed before"));
    }
}

Status Settlement::on_bank_confirmation(const BankConfirmation& confirmation, ledger::Timestamp now,
                                        SettlementOutput& out) {
    State& st = *state_;
    const Chart& chart = *st.chart;
    if (auto f = st.finished_orders.find(confirmation.payment_order_id);
        f != st.finished_orders.end()) {
        st.answer_finished(f->first, f->second, confirmation.bank, std::nullopt, false, out.events);
        return Status::ok();
    }
    auto it = st.orders.find(confirmation.payment_order_id);
    if (it == st.orders.end() || it->second.bank != confirmation.bank) {
        const bool unknown = it == st.orders.end();
        const bool dropped = unknown && st.order_dropped(confirmation.payment_order_id);
        out.events.push_back(bank_reject(
            dropped   ? SettlementCode::kPaymentOrderNoLongerKept
            : unknown ? SettlementCode::kUnknownPaymentOrder
                      : SettlementCode::kBankMismatch,
            confirmation.bank, confirmation.payment_order_id, std::nullopt,
            "confirmation of payment order " + std::to_string(confirmation.payment_order_id) +
                (dropped   ? ": finished long ago, no longer kept; nothing changed"
                 : unknown ? ": no such order"
                           : ": sent to another bank")));
        return Status::ok();
    }
    State::Order& o = it->second;
    FXSETTLE_ASSERT(o.open_lines > 0, "settlement: a kept order without open lines");
    Amount total;
    for (auto& line : o.lines) {
        if (line.status != State::LineStatus::kOpen)
            continue;
        line.status = State::LineStatus::kConfirmed;
        total += line.amount;
        PayoutSettled ev;
        ev.psp = line.payer;
        ev.client_id = line.client_id;
        ev.payout_id = line.payout_id;
        ev.amount = st.money_of(line.amount, o.currency);
        ev.funded = st.money_of(line.funded, line.funded_currency);
        ev.rate = o.rate_of(line);
        ev.value_date = o.value_date;
        out.events.push_back(std::move(ev));
    }
    st.open_lines -= o.open_lines;
    o.open_lines = 0;
    Amount& transit = st.in_transit[{o.bank, o.currency}];
    FXSETTLE_ASSERT(transit >= total, "settlement: confirming more than is in transit");
    transit -= total;
    EntryBuilder eb{&st.next_entry, o.value_date, &out.operations};
    eb.simple(
        chart.settlement(o.bank, o.currency), chart.nostro(o.bank, o.currency),
        st.money_of(total, o.currency),
        "payment order " + std::to_string(it->first) + " confirmed by " + chart.bank_id(o.bank));
    st.finish_order(it, now);
    return Status::ok();
}

// The order a line reply names, when it is kept with open lines; otherwise the reply has
// been answered (a refusal, or a finished order's repeat or conflict) and nullptr returned.
std::map<PaymentOrderId, Settlement::State::Order>::iterator Settlement::State::open_order_for_line(
    PaymentOrderId id, BankIndex bank, std::uint32_t line, bool rejection,
    std::vector<SettlementEvent>& events) {
    if (auto f = finished_orders.find(id); f != finished_orders.end()) {
        answer_finished(id, f->second, bank, line, rejection, events);
        return orders.end();
    }
    auto it = orders.find(id);
    if (it == orders.end() || it->second.bank != bank || line >= it->second.lines.size()) {
        const SettlementCode code =
            it == orders.end() ? (order_dropped(id) ? SettlementCode::kPaymentOrderNoLongerKept
                                                    : SettlementCode::kUnknownPaymentOrder)
            : it->second.bank != bank ? SettlementCode::kBankMismatch
                                      : SettlementCode::kUnknownLine;
        events.push_back(bank_reject(code, bank, id, line,
                                     std::string(rejection ? "rejection" : "confirmation") +
                                         " of payment order " + std::to_string(id) + " line " +
                                         std::to_string(line) + ": " +
                                         std::string(settlement_code_name(code))));
        return orders.end();
    }
    return it;
}

Status Settlement::on_bank_line_confirmation(const BankLineConfirmation& confirmation,
                                             ledger::Timestamp now, SettlementOutput& out) {
    State& st = *state_;
    const Chart& chart = *st.chart;
    auto it = st.open_order_for_line(confirmation.payment_order_id, confirmation.bank,
                                     confirmation.line, false, out.events);
    if (it == st.orders.end())
        return Status::ok();
    State::Order& o = it->second;
    State::Line& line = o.lines[confirmation.line];
    if (line.status == State::LineStatus::kConfirmed)
        return Status::ok();  // a repeat
    if (line.status == State::LineStatus::kRejected) {
        out.events.push_back(bank_reject(SettlementCode::kLineAlreadyRejected, o.bank, it->first,
                                         confirmation.line,
                                         "payout " + std::to_string(line.payout_id) +
                                             " was rejected before; its funds are returned"));
        return Status::ok();
    }
    line.status = State::LineStatus::kConfirmed;
    --o.open_lines;
    --st.open_lines;
    Amount& transit = st.in_transit[{o.bank, o.currency}];
    FXSETTLE_ASSERT(transit >= line.amount, "settlement: confirming more than is in transit");
    transit -= line.amount;
    EntryBuilder eb{&st.next_entry, o.value_date, &out.operations};
    eb.simple(chart.settlement(o.bank, o.currency), chart.nostro(o.bank, o.currency),
              st.money_of(line.amount, o.currency),
              "payment order " + std::to_string(it->first) + " line " +
                  std::to_string(confirmation.line) + " confirmed");
    PayoutSettled ev;
    ev.psp = line.payer;
    ev.client_id = line.client_id;
    ev.payout_id = line.payout_id;
    ev.amount = st.money_of(line.amount, o.currency);
    ev.funded = st.money_of(line.funded, line.funded_currency);
    ev.rate = o.rate_of(line);
    ev.value_date = o.value_date;
    out.events.push_back(std::move(ev));
    if (o.open_lines == 0)
        st.finish_order(it, now);
    return Status::ok();
}

Status Settlement::on_bank_line_rejection(const BankLineRejection& rejection, ledger::Timestamp now,
                                          SettlementOutput& out) {
    State& st = *state_;
    const Chart& chart = *st.chart;
    auto it = st.open_order_for_line(rejection.payment_order_id, rejection.bank, rejection.line,
                                     true, out.events);
    if (it == st.orders.end())
        return Status::ok();
    State::Order& o = it->second;
    State::Line& line = o.lines[rejection.line];
    if (line.status == State::LineStatus::kRejected)
        return Status::ok();  // a repeat
    if (line.status == State::LineStatus::kConfirmed) {
        out.events.push_back(
            bank_reject(SettlementCode::kLineAlreadyConfirmed, o.bank, it->first, rejection.line,
                        "payout " + std::to_string(line.payout_id) + " was confirmed before"));
        return Status::ok();
    }
    line.status = State::LineStatus::kRejected;
    --o.open_lines;
    --st.open_lines;
    Amount& transit = st.in_transit[{o.bank, o.currency}];
    FXSETTLE_ASSERT(transit >= line.amount, "settlement: returning more than is in transit");
    transit -= line.amount;
    const Money back = st.money_of(line.amount, o.currency);
    EntryBuilder eb{&st.next_entry, o.value_date, &out.operations};
    eb.simple(chart.settlement(o.bank, o.currency), chart.psp_available(line.payer, o.currency),
              back,
              "payment order " + std::to_string(it->first) + " line " +
                  std::to_string(rejection.line) + " rejected: funds returned");
    PayoutFailed ev;
    ev.psp = line.payer;
    ev.client_id = line.client_id;
    ev.payout_id = line.payout_id;
    ev.reason = static_cast<std::uint16_t>(SettlementCode::kBankRejected);
    ev.text = rejection.text;
    ev.refunded = back;
    out.events.push_back(std::move(ev));
    if (o.open_lines == 0)
        st.finish_order(it, now);
    return Status::ok();
}

// ---- state ----------------------------------------------------------------------------

void Settlement::append_state(std::string& out) const {
    const State& st = *state_;
    out.append("settlement/1");
    put_u64(out, st.next_entry);
    put_u64(out, st.next_cycle);
    put_u64(out, st.next_hedge);
    put_u64(out, st.next_order);
    put_u64(out, st.carried.size());
    for (const auto& [c, carried] : st.carried) {
        put_u64(out, c);
        put_u64(out, carried.payouts.size());
        for (const auto& p : carried.payouts) {
            put_u64(out, p.id);
            put_str(out, p.client_id);
            put_u64(out, p.payer);
            put_amount(out, p.amount);
            put_u64(out, p.funding_currency);
            put_amount(out, p.held);
            put_bool(out, p.locked_rate.has_value());
            if (p.locked_rate)
                put_rate(out, *p.locked_rate);
            put_bool(out, p.payee_psp.has_value());
            put_u64(out, p.payee_psp.value_or(0));
            put_u64(out, p.bank);
            put_str(out, p.beneficiary.bank_id);
            put_str(out, p.beneficiary.account);
            put_str(out, p.beneficiary.name);
            put_str(out, p.beneficiary.country);
        }
        put_u64(out, carried.trade_legs.size());
        for (const auto& l : carried.trade_legs) {
            put_u64(out, l.trade_id);
            put_bool(out, l.base_leg);
            put_u64(out, l.payer);
            put_u64(out, l.payee);
            put_amount(out, l.amount);
        }
    }
    put_u64(out, st.hedges.size());
    for (const auto& [id, h] : st.hedges) {
        put_u64(out, id);
        put_u64(out, h.cycle_id);
        put_u64(out, h.venue);
        put_u64(out, h.pair);
        put_bool(out, h.buy_base);
        put_amount(out, h.base_amount);
        put_amount(out, h.filled_base);
        put_rate(out, h.limit);
        put_bool(out, h.mid.has_value());
        if (h.mid)
            put_rate(out, *h.mid);
        put_date(out, h.value_date);
        put_time(out, h.deadline);
        put_bool(out, h.open);
        put_date(out, h.closed_on);
        put_u64(out, h.exec_ids.size());
        for (const auto& e : h.exec_ids)
            put_str(out, e);
    }
    put_u64(out, st.open_exposure.size());
    for (const auto& [pair, a] : st.open_exposure) {
        put_u64(out, pair);
        put_amount(out, a);
    }
    put_u64(out, st.orders.size());
    for (const auto& [id, o] : st.orders) {
        put_u64(out, id);
        put_u64(out, o.bank);
        put_u64(out, o.currency);
        put_date(out, o.value_date);
        put_u64(out, o.open_lines);
        put_u64(out, o.lines.size());
        for (const auto& l : o.lines) {
            put_u64(out, l.payout_id);
            put_str(out, l.client_id);
            put_u64(out, l.payer);
            put_amount(out, l.amount);
            put_amount(out, l.funded);
            put_str(out, st.ccy(l.funded_currency).code_view());
            put_bool(out, l.rate != State::kLineNoRate);
            if (l.rate != State::kLineNoRate)
                put_rate(out, o.rates[l.rate]);
            out.push_back(static_cast<char>(l.status));
        }
    }
    put_u64(out, st.finished_orders.size());
    for (const auto& [id, f] : st.finished_orders) {
        put_u64(out, id);
        put_u64(out, f.bank);
        put_date(out, f.finished_on);
        put_u64(out, f.payout_ids.size());
        for (std::size_t i = 0; i < f.payout_ids.size(); ++i) {
            put_u64(out, f.payout_ids[i]);
            put_bool(out, f.rejected[i]);
        }
    }
    // pruned_on is left out: like the time of the last batch, it is the log's position
    // (prune() on a day it already ran changes nothing).
    put_u64(out, st.in_transit.size());
    for (const auto& [key, a] : st.in_transit) {
        put_u64(out, key.first);
        put_u64(out, key.second);
        put_amount(out, a);
    }
    for (const auto* legs : {&st.legs_held_own, &st.legs_settled_alone}) {
        put_u64(out, legs->size());
        for (const auto& [trade, base] : *legs) {
            put_u64(out, trade);
            put_bool(out, base);
        }
    }
    put_u64(out, st.settled_debits.size());
    for (const auto& [key, amounts] : st.settled_debits) {
        put_u64(out, key.first);
        put_date(out, key.second);
        put_u64(out, amounts.size());
        for (const auto& [c, a] : amounts) {
            put_u64(out, c);
            put_amount(out, a);
        }
    }
}

std::array<std::uint8_t, 32> Settlement::state_digest() const {
    std::string bytes;
    append_state(bytes);
    std::array<std::uint8_t, 32> digest{};
    unsigned int len = 0;
    const int ok =
        EVP_Digest(bytes.data(), bytes.size(), digest.data(), &len, EVP_sha256(), nullptr);
    FXSETTLE_ASSERT(ok == 1 && len == digest.size(), "settlement: SHA-256 failed");
    return digest;
}

std::vector<OpenExposure> Settlement::open_exposure() const {
    std::vector<OpenExposure> out;
    for (const auto& [pair, a] : state_->open_exposure)
        out.push_back(OpenExposure{pair, a});
    return out;
}

std::size_t Settlement::hedges_in_flight() const noexcept {
    return state_->deadlines.size();
}

std::size_t Settlement::open_payment_lines() const noexcept {
    return state_->open_lines;
}

std::size_t Settlement::payment_orders_open() const noexcept {
    return state_->orders.size();
}

std::size_t Settlement::payment_orders_finished_kept() const noexcept {
    return state_->finished_orders.size();
}

std::size_t Settlement::payment_lines_kept() const noexcept {
    return state_->lines_kept + state_->finished_lines;
}

std::size_t Settlement::hedges_kept() const noexcept {
    return state_->hedges.size();
}

std::size_t Settlement::held_back_items(CurrencyIndex currency) const {
    auto it = state_->carried.find(currency);
    if (it == state_->carried.end())
        return 0;
    return it->second.payouts.size() + it->second.trade_legs.size();
}

}  // namespace fxsettle::engine
