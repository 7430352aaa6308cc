// The ledger stage of the demo: plans a seeded day (plan_day) and books it batch by batch
// (Booker). See demo.h for the day's shape.
#include "tools/demo/demo.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <optional>
#include <span>
#include <utility>

#include "engine/chart/chart.h"
#include "engine/money/rate.h"

namespace fxsettle::demo {

namespace {

using engine::BankIndex;
using engine::Chart;
using engine::CurrencyIndex;
using engine::PspIndex;
using ledger::AccountId;
using ledger::EntryId;
using ledger::Operation;
using ledger::Timestamp;
using money::Amount;
using money::Int128;
using money::Money;
using money::Rate;

constexpr std::int64_t kConfirmationDelayS = 20 * 60;  // the bank answers 20 min after cut-off
constexpr std::int64_t kOpeningAtS = 10;
constexpr std::int64_t kPayInsAtS = 30;
constexpr std::int64_t kIntakeFirstS = 60;  // payouts arrive from 00:01
constexpr std::uint32_t kPayInsPerCurrencyMax = 6;
constexpr std::uint32_t kDomesticPayoutPercent = 15;  // paid in the currency they are funded in
constexpr std::int64_t kQuoteJitterBpsMax = 25;       // a locked quote's distance from the mid
constexpr std::uint64_t kRejectOnePer = 500;          // about one payout in 500 bounces
constexpr std::size_t kRejectionsMax = 64;
constexpr std::string_view kRejectReasons[] = {
    "beneficiary account closed",
    "beneficiary name does not match the account",
    "invalid beneficiary account number",
};

// SplitMix64: a portable generator, so a seed plans the same day on every platform (the
// standard distributions are implementation-defined).
class Rng {
  public:
    explicit Rng(std::uint64_t seed) noexcept : state_(seed) {}
    std::uint64_t next() noexcept {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    // In [lo, hi]. The modulo bias is below 2^-30 for the spans used here.
    std::uint64_t between(std::uint64_t lo, std::uint64_t hi) noexcept {
        return lo + next() % (hi - lo + 1);
    }

  private:
    std::uint64_t state_;
};

// Units of a currency per US dollar in millionths, about the mids of late 2025: the
// demo's reference for amount sizes and FX mids (mid of S/T = per_usd(T) / per_usd(S)).
struct ReferenceMid {
    std::string_view code;
    std::int64_t per_usd_micro;
};
constexpr ReferenceMid kReferenceMids[] = {
    {"USD", 1'000'000},      {"EUR", 862'000},    {"GBP", 760'000},        {"JPY", 155'000'000},
    {"KRW", 1'465'000'000},  {"AUD", 1'540'000},  {"CAD", 1'400'000},      {"SGD", 1'300'000},
    {"HKD", 7'780'000},      {"CNY", 7'100'000},  {"CNH", 7'105'000},      {"CHF", 805'000},
    {"NZD", 1'750'000},      {"INR", 88'500'000}, {"THB", 32'500'000},     {"MYR", 4'200'000},
    {"IDR", 16'600'000'000}, {"PHP", 58'800'000}, {"VND", 26'300'000'000}, {"KWD", 306'000},
};
constexpr std::int64_t kMicro = 1'000'000;

std::optional<std::int64_t> per_usd_micro(const money::Currency& currency) {
    for (const auto& mid : kReferenceMids) {
        if (mid.code == currency.code_view())
            return mid.per_usd_micro;
    }
    return std::nullopt;
}

Int128 pow10(int exponent) {
    Int128 v = 1;
    for (int i = 0; i < exponent; ++i)
        v *= 10;
    return v;
}

// `usd_cents` US cents expressed in minor units of `currency` at the reference mid.
Amount usd_cents_in(std::uint64_t usd_cents, const money::Currency& currency,
                    std::int64_t per_usd) {
    const Int128 minor = Int128(usd_cents) * per_usd * pow10(currency.exponent) / (100 * kMicro);
    auto amount = Amount::from_int(minor);
    FXSETTLE_ASSERT(amount.has_value(), "a demo amount fits 128 bits");
    return *amount;
}

std::string two_digits(std::int64_t v) {
    char buf[8];
    std::snprintf(buf, sizeof buf, "%02d", static_cast<int>(v));
    return buf;
}
std::string hh_mm(std::int64_t seconds) {
    return two_digits(seconds / 3600) + ":" + two_digits(seconds / 60 % 60);
}
std::string hh_mm_ss(std::int64_t seconds) {
    return hh_mm(seconds) + ":" + two_digits(seconds % 60);
}
std::string payout_name(std::uint32_t number) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "P%06u", number);
    return buf;
}

// ---------------------------------------------------------------------------------------
// The plan: every choice of the day, made up front from the seed.
// ---------------------------------------------------------------------------------------

struct Payout {
    std::uint32_t number = 0;  // 1-based in order of intake: "P000001"
    PspIndex psp = 0;
    CurrencyIndex source = 0;  // funded from the PSP's balance in this currency
    CurrencyIndex target = 0;  // paid to the beneficiary in this currency
    Amount source_amount;      // held at intake
    std::optional<Rate> rate;  // the locked quote, source != target
    Amount target_amount;      // what the beneficiary is paid (after the conversion)
    std::int64_t intake_s = 0;
    std::int64_t cutoff_s = 0;  // the cut-off of `target` that settles it
    bool rejected = false;
    std::size_t reject_reason = 0;
};

struct PayIn {
    PspIndex psp = 0;
    CurrencyIndex currency = 0;
    Amount amount;
    std::uint32_t part = 0;
    std::uint32_t parts = 0;
};

struct Opening {
    BankIndex bank = 0;
    CurrencyIndex currency = 0;
    Amount amount;
};

// A settlement cycle: the payouts of one currency due at one cut-off.
using CycleKey = std::pair<std::int64_t, CurrencyIndex>;  // cut-off (s), currency

struct DayPlan {
    std::vector<Opening> openings;
    std::vector<PayIn> payins;
    std::vector<Payout> payouts;                          // in order of intake
    std::map<CycleKey, std::vector<std::size_t>> cycles;  // -> indices into payouts
};

struct SourceChoice {
    CurrencyIndex currency = 0;
    std::vector<const config::PairConfig*> pairs;  // pairs with this base that can be paid
};

Result<DayPlan> plan_day(const config::Config& config, const Chart& chart,
                         const DemoOptions& options) {
    Rng rng(options.seed);
    const std::size_t currency_count = chart.currencies().size();

    // Which currencies can be paid out: a settlement cycle, a bank, a reference mid.
    std::vector<std::vector<std::int64_t>> cutoffs_s(currency_count);
    std::vector<std::int64_t> per_usd(currency_count, 0);
    for (CurrencyIndex c = 0; c < currency_count; ++c) {
        const money::Currency& currency = chart.currency(c);
        const auto mid = per_usd_micro(currency);
        if (!mid) {
            return fail(StatusCode::kFailedPrecondition,
                        "the demo has no reference rate for " + currency.to_string() +
                            "; it knows the default configuration's currencies");
        }
        per_usd[c] = *mid;
        const config::CycleConfig* cycle = config.find_cycle(currency);
        if (cycle != nullptr && chart.bank_for(c)) {
            for (const auto& cutoff : cycle->cutoffs) {
                // A cut-off must leave room for intake after the pay-ins.
                const std::int64_t s = std::chrono::seconds(cutoff).count();
                if (s > 2 * kIntakeFirstS)
                    cutoffs_s[c].push_back(s);
            }
        }
    }
    auto payable = [&](CurrencyIndex c) { return !cutoffs_s[c].empty(); };

    // Each PSP collects in the currencies its limits name that it can convert and that a
    // bank holds for us (the marketplaces pay in there).
    struct PspChoice {
        PspIndex psp = 0;
        std::uint64_t weight = 1;  // the aggregate cap in US dollars: bigger PSPs pay more
        std::vector<SourceChoice> sources;
    };
    std::vector<PspChoice> psps;
    std::uint64_t weight_total = 0;
    for (const config::PspConfig& psp_config : config.psps) {
        const auto psp = chart.psp_index(psp_config.id);
        FXSETTLE_ASSERT(psp.has_value(), "every configured PSP is in the chart");
        PspChoice choice;
        choice.psp = *psp;
        std::vector<money::Currency> named;
        for (const auto* limits : {&psp_config.credit_limits, &psp_config.net_debit_caps,
                                   &psp_config.short_position_limits}) {
            for (const auto& [currency, amount] : *limits)
                named.push_back(currency);
        }
        std::sort(named.begin(), named.end());
        named.erase(std::unique(named.begin(), named.end()), named.end());
        for (const money::Currency& currency : named) {
            const auto c = chart.currency_index(currency);
            if (!c || !chart.bank_for(*c))
                continue;
            SourceChoice source;
            source.currency = *c;
            for (const config::PairConfig& pair : config.pairs) {
                const auto quote = chart.currency_index(pair.pair.quote);
                if (pair.pair.base == currency && quote && payable(*quote))
                    source.pairs.push_back(&pair);
            }
            if (!source.pairs.empty())
                choice.sources.push_back(std::move(source));
        }
        if (choice.sources.empty()) {
            return fail(StatusCode::kFailedPrecondition,
                        "PSP " + psp_config.id +
                            " has no currency it could fund payouts from (its limits name "
                            "none that a configured pair converts and a bank holds)");
        }
        const auto cap_usd = per_usd_micro(psp_config.aggregate_cap.currency);
        if (cap_usd && psp_config.aggregate_cap.amount.is_positive()) {
            const Int128 usd = psp_config.aggregate_cap.amount.minor() * kMicro / *cap_usd /
                               pow10(psp_config.aggregate_cap.currency.exponent);
            choice.weight = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(usd / 1000));
        }
        weight_total += choice.weight;
        psps.push_back(std::move(choice));
    }
    if (psps.empty())
        return fail(StatusCode::kFailedPrecondition, "the configuration has no PSPs");

    DayPlan plan;
    plan.payouts.reserve(options.payouts);
    for (std::uint32_t i = 0; i < options.payouts; ++i) {
        Payout payout;
        std::uint64_t pick = rng.between(0, weight_total - 1);
        const PspChoice* psp = &psps.front();
        for (const PspChoice& candidate : psps) {
            if (pick < candidate.weight) {
                psp = &candidate;
                break;
            }
            pick -= candidate.weight;
        }
        payout.psp = psp->psp;
        const SourceChoice& source = psp->sources[rng.between(0, psp->sources.size() - 1)];
        payout.source = source.currency;

        // Sellers' payouts: mostly small, a long tail of large ones (US cents).
        const std::uint64_t size = rng.between(0, 99);
        const std::uint64_t usd_cents = size < 55   ? rng.between(20'00, 400'00)
                                        : size < 85 ? rng.between(400'00, 3'000'00)
                                        : size < 97 ? rng.between(3'000'00, 20'000'00)
                                                    : rng.between(20'000'00, 120'000'00);
        payout.source_amount =
            usd_cents_in(usd_cents, chart.currency(source.currency), per_usd[source.currency]);

        const bool domestic =
            payable(source.currency) && rng.between(0, 99) < kDomesticPayoutPercent;
        if (domestic) {
            payout.target = source.currency;
            payout.target_amount = payout.source_amount;
        } else {
            const config::PairConfig& pair = *source.pairs[rng.between(0, source.pairs.size() - 1)];
            payout.target = *chart.currency_index(pair.pair.quote);
            payout.source_amount = std::max(payout.source_amount, pair.min_qty);
            // The locked quote: the mid, a few basis points of market move, less the PSP's
            // spread, rounded down to the pair's tick.
            const std::int64_t jitter_bps =
                static_cast<std::int64_t>(rng.between(0, 2 * kQuoteJitterBpsMax)) -
                kQuoteJitterBpsMax;
            const std::int64_t spread_bps = config.psps[payout.psp].spread_bps;
            Int128 mantissa =
                Int128(per_usd[payout.target]) * pow10(Rate::kDecimals) / per_usd[payout.source];
            mantissa = mantissa * (10'000 + jitter_bps) * (10'000 - spread_bps) / 100'000'000;
            const Int128& tick = pair.tick.mantissa();
            mantissa -= mantissa % tick;
            auto rate = Rate::from_mantissa(pair.pair, mantissa);
            if (!rate) {
                return fail(StatusCode::kInternal,
                            "quote for " + pair.pair.to_string() + ": " + rate.error().message());
            }
            auto converted = money::convert(Money{payout.source_amount, pair.pair.base}, *rate,
                                            config.engine.rounding_mode);
            if (!converted) {
                return fail(StatusCode::kInternal, "converting a payout at " + rate->to_string() +
                                                       ": " + converted.error().message());
            }
            payout.rate = *rate;
            payout.target_amount = converted->converted.amount;
        }

        const std::vector<std::int64_t>& cutoffs = cutoffs_s[payout.target];
        payout.intake_s = static_cast<std::int64_t>(
            rng.between(kIntakeFirstS, static_cast<std::uint64_t>(cutoffs.back() - kIntakeFirstS)));
        payout.cutoff_s = *std::upper_bound(cutoffs.begin(), cutoffs.end(), payout.intake_s);
        plan.payouts.push_back(std::move(payout));
    }
    std::stable_sort(plan.payouts.begin(), plan.payouts.end(),
                     [](const Payout& a, const Payout& b) { return a.intake_s < b.intake_s; });
    for (std::size_t i = 0; i < plan.payouts.size(); ++i)
        plan.payouts[i].number = static_cast<std::uint32_t>(i + 1);

    // A few payouts bounce at the beneficiary's bank.
    const std::size_t rejections = std::min<std::size_t>(
        kRejectionsMax, std::max<std::size_t>(1, options.payouts / kRejectOnePer));
    for (std::size_t r = 0; r < rejections; ++r) {
        Payout& payout = plan.payouts[rng.between(0, plan.payouts.size() - 1)];
        payout.rejected = true;
        payout.reject_reason = r % std::size(kRejectReasons);
    }

    for (std::size_t i = 0; i < plan.payouts.size(); ++i) {
        plan.cycles[{plan.payouts[i].cutoff_s, plan.payouts[i].target}].push_back(i);
    }

    // Pay-ins: per PSP and funding currency, what its payouts draw plus 5-25 %, in a few
    // marketplace remittances.
    std::map<std::pair<PspIndex, CurrencyIndex>, Amount> drawn;
    for (const Payout& payout : plan.payouts)
        drawn[{payout.psp, payout.source}] += payout.source_amount;
    for (const auto& [key, amount] : drawn) {
        const Amount total =
            Amount::from_int(amount.minor() * (105 + rng.between(0, 20)) / 100).value_or(amount);
        const auto parts = static_cast<std::uint32_t>(rng.between(2, kPayInsPerCurrencyMax));
        Amount left = total;
        for (std::uint32_t part = 1; part <= parts; ++part) {
            Amount share = left;
            if (part < parts) {
                const Int128 weight = rng.between(60, 140);  // around an even split
                share = *Amount::from_int(total.minor() * weight / (100 * parts));
                if (!share.is_positive() || share >= left)
                    share = *Amount::from_int(left.minor() / 2);
            }
            if (!share.is_positive())
                continue;
            left -= share;
            plan.payins.push_back(PayIn{key.first, key.second, share, part, parts});
        }
    }

    // Opening balances: every nostro starts the day holding twice what is paid from it
    // plus the equivalent of USD 10 million, in whole millions of the currency.
    std::vector<Amount> paid(currency_count);
    for (const Payout& payout : plan.payouts)
        paid[payout.target] += payout.target_amount;
    for (CurrencyIndex c = 0; c < currency_count; ++c) {
        const money::Currency& currency = chart.currency(c);
        const Int128 million = pow10(6 + currency.exponent);
        const Int128 wanted =
            paid[c].minor() * 2 + usd_cents_in(10'000'000'00, currency, per_usd[c]).minor();
        const Amount amount = *Amount::from_int((wanted + million - 1) / million * million);
        for (BankIndex b = 0; b < chart.bank_count(); ++b) {
            if (chart.bank_serves(b, c))
                plan.openings.push_back(Opening{b, c, amount});
        }
    }
    return plan;
}

// ---------------------------------------------------------------------------------------
// Booking: ledger operations in batches.
// ---------------------------------------------------------------------------------------

std::string_view op_reference(const Operation& op) {
    if (const auto* e = std::get_if<ledger::EntryRequest>(&op.op))
        return e->reference;
    if (const auto* f = std::get_if<ledger::FxConversionRequest>(&op.op))
        return f->reference;
    if (const auto* a = std::get_if<ledger::CreateAccount>(&op.op))
        return a->account.code;
    return "";
}
std::optional<EntryId> op_entry_id(const Operation& op) {
    if (const auto* e = std::get_if<ledger::EntryRequest>(&op.op))
        return e->id;
    if (const auto* f = std::get_if<ledger::FxConversionRequest>(&op.op))
        return f->id;
    return std::nullopt;
}

class Booker {
  public:
    Booker(ledger::Ledger& ledger, DemoReport& report, ledger::Date day)
        : ledger_(ledger), report_(report), day_(day) {}

    Timestamp at(std::int64_t seconds) const {
        return Timestamp(day_) + std::chrono::seconds(seconds);
    }
    ledger::Date value_date() const { return day_; }

    EntryId next_id(Stage stage) {
        const auto s = static_cast<std::size_t>(stage) - 1;
        return EntryId{static_cast<std::uint64_t>(stage), ++next_lo_[s]};
    }

    Operation transfer(Stage stage, std::string reference, const AccountId& debit,
                       const AccountId& credit, const Money& money) {
        ledger::EntryRequest entry;
        entry.id = next_id(stage);
        entry.kind = ledger::EntryKind::kPosted;
        entry.value_date = day_;
        entry.reference = std::move(reference);
        entry.postings.push_back(ledger::Posting{debit, ledger::Side::kDebit, money});
        entry.postings.push_back(ledger::Posting{credit, ledger::Side::kCredit, money});
        return Operation{std::move(entry), false};
    }

    // Commits `ops` as one batch at `seconds` after midnight. Every operation must
    // succeed: otherwise fails naming the batch and the first operation that was rejected
    // for its own reason (not because its linked chain failed).
    Result<std::vector<ledger::OpResult>> commit(std::string label, std::int64_t seconds,
                                                 const std::vector<Operation>& ops,
                                                 std::span<const ledger::AuxWrite> aux = {}) {
        if (ops.empty())
            return std::vector<ledger::OpResult>{};
        FXSETTLE_ASSERT(ops.size() <= ledger::kBatchOperationsMax, "a demo batch fits a commit");
        auto results = ledger_.commit(ops, at(seconds), aux);
        if (!results) {
            return fail(results.error().code(), "batch '" + label + "' at " + hh_mm_ss(seconds) +
                                                    ": " + results.error().message());
        }
        FXSETTLE_ASSERT(results->size() == ops.size(), "one result per operation");
        BatchSummary summary{label, at(seconds), ops.size(), 0, 0};
        std::optional<std::size_t> first_failure;
        for (std::size_t i = 0; i < ops.size(); ++i) {
            const ledger::OpResult& r = (*results)[i];
            if (!ledger::is_success(r.code)) {
                if (!first_failure ||
                    (*results)[*first_failure].code == ledger::ResultCode::kLinkedOperationFailed)
                    first_failure = i;
                continue;
            }
            ++summary.succeeded;
            if (const auto id = op_entry_id(ops[i])) {
                ++summary.entries;
                ++report_.entries_by_stage[id->hi - 1];
            }
        }
        report_.operations += ops.size();
        report_.entries += summary.entries;
        report_.batches.push_back(summary);
        if (first_failure) {
            const ledger::OpResult& r = (*results)[*first_failure];
            return fail(StatusCode::kInternal,
                        "batch '" + label + "' at " + hh_mm_ss(seconds) + ": operation " +
                            std::to_string(*first_failure + 1) + " of " +
                            std::to_string(ops.size()) + " (" +
                            std::string(op_reference(ops[*first_failure])) +
                            ") was rejected: " + std::string(ledger::result_code_name(r.code)) +
                            (r.detail.empty() ? "" : ": " + r.detail) + " (" +
                            std::to_string(ops.size() - summary.succeeded) +
                            " operations of the batch failed)");
        }
        return results;
    }

  private:
    ledger::Ledger& ledger_;
    DemoReport& report_;
    ledger::Date day_;
    std::uint64_t next_lo_[kStageCount] = {};
};

// Removes an existing demo ledger at `path`. Returns whether there was one; fails, leaving
// the file alone, when something else is there.
Result<bool> remove_old_demo_ledger(const std::filesystem::path& path) {
    std::error_code ec;
    const auto status = std::filesystem::symlink_status(path, ec);
    if (ec || status.type() == std::filesystem::file_type::not_found)
        return false;
    const std::string refuse = path.string() +
                               " exists and is not a ledger written by fxsettle-demo, so the "
                               "demo leaves it alone; move it away or pass --ledger PATH";
    if (status.type() != std::filesystem::file_type::regular)
        return fail(StatusCode::kFailedPrecondition, refuse + " (it is not a regular file)");
    {
        ledger::OpenOptions open;
        open.path = path;
        open.create_if_missing = false;
        open.read_only = true;
        auto old = ledger::Ledger::open(open);
        if (!old)
            return fail(StatusCode::kFailedPrecondition,
                        refuse + " (" + old.error().message() + ")");
        auto view = (*old)->read();
        if (!view)
            return fail(StatusCode::kFailedPrecondition,
                        refuse + " (" + view.error().message() + ")");
        auto marker = (*view)->aux_get(ledger::AuxTable::kState, kMarkerKey);
        if (!marker || !marker->has_value())
            return fail(StatusCode::kFailedPrecondition, refuse + " (it has no demo marker)");
    }
    std::filesystem::remove(path, ec);
    if (ec) {
        return fail(StatusCode::kIoError,
                    "cannot remove the old demo ledger " + path.string() + ": " + ec.message());
    }
    std::filesystem::remove(path.string() + "-lock", ec);  // LMDB's lock file, if any
    return true;
}

std::string date_text(const std::chrono::year_month_day& ymd) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
    return buf;
}

// Books the plan. Separate from run_demo so that the ledger closes before the read-back.
Status book_day(ledger::Ledger& ledger, const config::Config& config, const Chart& chart,
                DayPlan& plan, const DemoOptions& options, DemoReport& report) {
    Booker booker(ledger, report, std::chrono::sys_days(options.business_date));
    const std::string date = report.business_date;

    // 00:00:00 the chart, with the marker that makes the file the demo's own.
    {
        const ledger::AuxWrite marker{ledger::AuxTable::kState, std::string(kMarkerKey),
                                      "fxsettle-demo ledger stage; " + date + ", seed " +
                                          std::to_string(options.seed) + ", " +
                                          std::to_string(options.payouts) + " payouts"};
        auto r = booker.commit("chart of accounts", 0, chart.create_operations(), {&marker, 1});
        if (!r)
            return r.error();
    }

    // 00:00:10 opening balances.
    {
        std::vector<Operation> ops;
        for (const Opening& o : plan.openings) {
            const money::Currency& currency = chart.currency(o.currency);
            ops.push_back(booker.transfer(Stage::kOpening,
                                          "opening balance " + date + ": " + chart.bank_id(o.bank) +
                                              " " + currency.to_string() +
                                              " nostro brought forward",
                                          chart.nostro(o.bank, o.currency),
                                          chart.equity(o.currency), Money{o.amount, currency}));
        }
        auto r = booker.commit("opening balances", kOpeningAtS, ops);
        if (!r)
            return r.error();
    }

    // 00:00:30 pay-ins.
    {
        std::vector<Operation> ops;
        for (const PayIn& p : plan.payins) {
            const money::Currency& currency = chart.currency(p.currency);
            const BankIndex bank = *chart.bank_for(p.currency);
            ops.push_back(
                booker.transfer(Stage::kPayIn,
                                "pay-in " + chart.psp_id(p.psp) + " " + currency.to_string() +
                                    ": marketplace remittance " + std::to_string(p.part) + " of " +
                                    std::to_string(p.parts) + " received at " + chart.bank_id(bank),
                                chart.nostro(bank, p.currency),
                                chart.psp_available(p.psp, p.currency), Money{p.amount, currency}));
            if (ops.size() == ledger::kBatchOperationsMax) {
                auto r = booker.commit("pay-ins", kPayInsAtS, ops);
                if (!r)
                    return r.error();
                ops.clear();
            }
        }
        auto r = booker.commit("pay-ins", kPayInsAtS, ops);
        if (!r)
            return r.error();
    }

    // The rest of the day: intake batches up to each cut-off or confirmation time, then
    // the settlement or confirmation batch of that time.
    std::map<std::int64_t, std::vector<CycleKey>> settle_at, confirm_at;
    for (const auto& [key, indices] : plan.cycles) {
        settle_at[key.first].push_back(key);
        confirm_at[key.first + kConfirmationDelayS].push_back(key);
    }
    std::vector<std::int64_t> checkpoints;
    for (const auto& [t, keys] : settle_at)
        checkpoints.push_back(t);
    for (const auto& [t, keys] : confirm_at)
        checkpoints.push_back(t);
    std::sort(checkpoints.begin(), checkpoints.end());
    checkpoints.erase(std::unique(checkpoints.begin(), checkpoints.end()), checkpoints.end());

    std::size_t next_payout = 0;
    std::uint32_t intake_batches = 0;
    auto intake_until = [&](std::int64_t limit_s) -> Status {
        while (next_payout < plan.payouts.size() && plan.payouts[next_payout].intake_s < limit_s) {
            std::vector<Operation> ops;
            std::vector<std::size_t> fx_op_payout;  // per op: payout index, or SIZE_MAX
            std::int64_t last_s = 0;
            for (std::uint32_t n = 0;
                 n < kPayoutsPerBatchMax && next_payout < plan.payouts.size() &&
                 plan.payouts[next_payout].intake_s < limit_s;
                 ++n, ++next_payout) {
                const Payout& p = plan.payouts[next_payout];
                last_s = p.intake_s;
                const money::Currency& source = chart.currency(p.source);
                const money::Currency& target = chart.currency(p.target);
                const std::string name = payout_name(p.number) + " " + chart.psp_id(p.psp);
                ops.push_back(booker.transfer(
                    Stage::kPayoutHold,
                    "payout " + name + " to a " + target.to_string() +
                        " beneficiary: intake, funds held (" +
                        money::format_money(Money{p.source_amount, source}) + ")",
                    chart.psp_available(p.psp, p.source), chart.psp_held(p.psp, p.source),
                    Money{p.source_amount, source}));
                fx_op_payout.push_back(SIZE_MAX);
                if (!p.rate)
                    continue;
                ops.back().linked = true;  // no hold without its conversion
                ledger::FxConversionRequest fx{
                    .id = booker.next_id(Stage::kFxConversion),
                    .value_date = booker.value_date(),
                    .reference = "payout " + name + ": " + p.rate->pair().to_string() + " at " +
                                 p.rate->to_string() + " (locked quote)",
                    .from_account = chart.psp_held(p.psp, p.source),
                    .to_account = chart.psp_held(p.psp, p.target),
                    .fx_position_from = chart.fx_position(p.source),
                    .fx_position_to = chart.fx_position(p.target),
                    .rounding_account = chart.rounding(p.target),
                    .from = Money{p.source_amount, source},
                    .rate = *p.rate,
                    .mode = config.engine.rounding_mode,
                };
                ops.push_back(Operation{std::move(fx), false});
                fx_op_payout.push_back(next_payout);
            }
            ++intake_batches;
            auto results =
                booker.commit("payout intake " + std::to_string(intake_batches), last_s, ops);
            if (!results)
                return results.error();
            // Paired check: the ledger converted exactly what the plan computed.
            for (std::size_t i = 0; i < ops.size(); ++i) {
                if (fx_op_payout[i] == SIZE_MAX)
                    continue;
                const Payout& p = plan.payouts[fx_op_payout[i]];
                const auto& converted = (*results)[i].converted;
                if (!converted || converted->currency != chart.currency(p.target) ||
                    converted->amount != p.target_amount) {
                    return Status(
                        StatusCode::kInternal,
                        "payout " + payout_name(p.number) + ": the ledger converted " +
                            (converted ? money::format_money(*converted) : "nothing") +
                            ", the plan expected " +
                            money::format_money(Money{p.target_amount, chart.currency(p.target)}));
                }
            }
        }
        return Status::ok();
    };

    auto psps_of = [&](const std::vector<std::size_t>& indices) {
        std::map<PspIndex, std::vector<std::size_t>> by_psp;
        for (std::size_t i : indices)
            by_psp[plan.payouts[i].psp].push_back(i);
        return by_psp;
    };
    auto currencies_label = [&](const std::vector<CycleKey>& keys) {
        std::string s;
        for (const CycleKey& key : keys) {
            // Appended piecewise: `" " + std::string` trips g++ 12's -Wrestrict false
            // positive at -O3.
            s += ' ';
            s += chart.currency(key.second).code_view();
        }
        return s;
    };

    for (const std::int64_t t : checkpoints) {
        if (Status s = intake_until(t); !s.is_ok())
            return s;

        if (auto it = confirm_at.find(t); it != confirm_at.end()) {
            std::vector<Operation> ops;
            for (const CycleKey& key : it->second) {
                const CurrencyIndex c = key.second;
                const money::Currency& currency = chart.currency(c);
                const BankIndex bank = *chart.bank_for(c);
                const std::string cycle = "cycle " + currency.to_string() + " " + hh_mm(key.first);
                for (const auto& [psp, indices] : psps_of(plan.cycles[key])) {
                    Amount confirmed;
                    std::size_t paid = 0;
                    for (std::size_t i : indices) {
                        const Payout& p = plan.payouts[i];
                        if (!p.rejected) {
                            confirmed += p.target_amount;
                            ++paid;
                            continue;
                        }
                        ops.push_back(booker.transfer(
                            Stage::kRejection,
                            cycle + ": payout " + payout_name(p.number) + " " + chart.psp_id(psp) +
                                " rejected by " + chart.bank_id(bank) + " (" +
                                std::string(kRejectReasons[p.reject_reason]) +
                                "), funds returned to the PSP",
                            chart.settlement(bank, c), chart.psp_available(psp, c),
                            Money{p.target_amount, currency}));
                    }
                    if (paid > 0) {
                        ops.push_back(booker.transfer(
                            Stage::kConfirmation,
                            cycle + ": " + chart.bank_id(bank) + " confirmed " + chart.psp_id(psp) +
                                "'s payment order (" + std::to_string(paid) + " payouts)",
                            chart.settlement(bank, c), chart.nostro(bank, c),
                            Money{confirmed, currency}));
                    }
                }
            }
            auto r = booker.commit("confirmations" + currencies_label(it->second), t, ops);
            if (!r)
                return r.error();
        }

        if (auto it = settle_at.find(t); it != settle_at.end()) {
            std::vector<Operation> ops;
            for (const CycleKey& key : it->second) {
                const CurrencyIndex c = key.second;
                const money::Currency& currency = chart.currency(c);
                const BankIndex bank = *chart.bank_for(c);
                for (const auto& [psp, indices] : psps_of(plan.cycles[key])) {
                    Amount total;
                    for (std::size_t i : indices)
                        total += plan.payouts[i].target_amount;
                    ops.push_back(booker.transfer(
                        Stage::kSettlement,
                        "cycle " + currency.to_string() + " " + hh_mm(key.first) + ": " +
                            chart.psp_id(psp) + " payment order to " + chart.bank_id(bank) + " (" +
                            std::to_string(indices.size()) + " payouts)",
                        chart.psp_held(psp, c), chart.settlement(bank, c), Money{total, currency}));
                }
            }
            auto r = booker.commit("cut-off " + hh_mm(t) + currencies_label(it->second), t, ops);
            if (!r)
                return r.error();
        }
    }
    FXSETTLE_ASSERT(next_payout == plan.payouts.size(),
                    "every payout is taken in before its cut-off");
    return Status::ok();
}

}  // namespace

std::string_view stage_name(Stage stage) noexcept {
    switch (stage) {
        case Stage::kOpening:
            return "opening balances";
        case Stage::kPayIn:
            return "pay-ins";
        case Stage::kPayoutHold:
            return "payout holds";
        case Stage::kFxConversion:
            return "FX conversions";
        case Stage::kSettlement:
            return "payment orders";
        case Stage::kConfirmation:
            return "bank confirmations";
        case Stage::kRejection:
            return "bank rejections";
    }
    return "unknown";
}

bool DemoReport::trial_balance_zero() const {
    return std::all_of(trial_balance.begin(), trial_balance.end(),
                       [](const ledger::TrialBalanceRow& row) {
                           return row.debits_posted == row.credits_posted &&
                                  row.debits_pending == row.credits_pending;
                       });
}

Result<DemoReport> run_demo(const config::Config& config, const DemoOptions& options) {
    using Clock = std::chrono::steady_clock;
    const auto started = Clock::now();
    if (options.payouts == 0 || options.payouts > kPayoutsMax) {
        return fail(StatusCode::kInvalidArgument, "payouts must be 1.." +
                                                      std::to_string(kPayoutsMax) + ", not " +
                                                      std::to_string(options.payouts));
    }
    if (!options.business_date.ok())
        return fail(StatusCode::kInvalidArgument, "the business date is not a valid date");
    if (options.ledger_path.empty())
        return fail(StatusCode::kInvalidArgument, "the ledger path is empty");

    auto chart = Chart::build(config);
    if (!chart)
        return fail(chart.error());
    auto plan = plan_day(config, *chart, options);
    if (!plan)
        return fail(plan.error());

    DemoReport report;
    report.ledger_path = options.ledger_path;
    report.config_source = config.source_name;
    report.business_date = date_text(options.business_date);
    report.seed = options.seed;
    report.psps = chart->psp_count();
    report.currencies = chart->currencies().size();
    report.banks = chart->bank_count();
    report.day_after = date_text(std::chrono::year_month_day(
        std::chrono::sys_days(options.business_date) + std::chrono::days(1)));

    auto replaced = remove_old_demo_ledger(options.ledger_path);
    if (!replaced)
        return fail(replaced.error());
    report.replaced_old_ledger = *replaced;
    if (options.ledger_path.has_parent_path()) {
        std::error_code ec;
        std::filesystem::create_directories(options.ledger_path.parent_path(), ec);
        if (ec) {
            return fail(StatusCode::kIoError, "cannot create " +
                                                  options.ledger_path.parent_path().string() +
                                                  ": " + ec.message());
        }
    }

    ledger::OpenOptions open;
    open.path = options.ledger_path;
    open.create_if_missing = true;
    open.map_size_initial_bytes = config.ledger.map_size_initial_mb << 20;
    open.map_size_max_bytes = config.ledger.map_size_max_mb << 20;
    {
        auto ledger = ledger::Ledger::open(open);
        if (!ledger) {
            return fail(ledger.error().code(), "cannot create the ledger " +
                                                   options.ledger_path.string() + ": " +
                                                   ledger.error().message());
        }
        if (Status s = book_day(**ledger, config, *chart, *plan, options, report); !s.is_ok())
            return fail(std::move(s));
    }
    const auto booked = Clock::now();
    report.book_elapsed = booked - started;

    // Read everything back from a fresh read-only open, as fxledger would.
    open.create_if_missing = false;
    open.read_only = true;
    auto ledger = ledger::Ledger::open(open);
    if (!ledger)
        return fail(ledger.error().code(), "cannot reopen the ledger: " + ledger.error().message());
    auto view = (*ledger)->read();
    if (!view)
        return fail(view.error());
    auto info = (*view)->info();
    if (!info)
        return fail(info.error());
    report.accounts = info->accounts;
    report.head_hash = info->head_hash;
    if (info->last_sequence != report.entries || info->accounts != chart->accounts().size()) {
        return fail(StatusCode::kInternal,
                    "the ledger holds " + std::to_string(info->last_sequence) + " entries and " +
                        std::to_string(info->accounts) + " accounts; the demo booked " +
                        std::to_string(report.entries) + " and " +
                        std::to_string(chart->accounts().size()));
    }
    auto trial = (*view)->trial_balance();
    if (!trial)
        return fail(trial.error());
    report.trial_balance = std::move(*trial);
    auto verified = (*view)->verify();
    if (!verified)
        return fail(verified.error());
    report.verify = std::move(*verified);

    report.payouts = plan->payouts.size();
    std::map<money::Currency, CurrencyPayouts> by_currency;
    for (const auto& [key, indices] : plan->cycles) {
        const money::Currency& currency = chart->currency(key.second);
        CurrencyPayouts& row = by_currency[currency];
        row.currency = currency;
        row.bank = chart->bank_id(*chart->bank_for(key.second));
        std::map<PspIndex, bool> psps;
        for (std::size_t i : indices) {
            const Payout& p = plan->payouts[i];
            ++row.payouts;
            row.gross += p.target_amount;
            if (p.rejected) {
                ++row.rejected;
                row.rejected_amount += p.target_amount;
            } else {
                row.confirmed += p.target_amount;
            }
            psps[p.psp] = true;
        }
        row.payment_orders += psps.size();
    }
    for (auto& [currency, row] : by_currency)
        report.payouts_by_currency.push_back(row);
    // Codes for the suggested commands, from the currency with the most payouts.
    const CurrencyPayouts* busiest = nullptr;
    for (const CurrencyPayouts& row : report.payouts_by_currency) {
        if (busiest == nullptr || row.payouts > busiest->payouts)
            busiest = &row;
    }
    if (busiest != nullptr) {
        const CurrencyIndex c = *chart->currency_index(busiest->currency);
        const BankIndex bank = *chart->bank_for(c);
        for (const ledger::Account& account : chart->accounts()) {
            if (account.id == chart->nostro(bank, c))
                report.example_nostro = account.code;
            if (account.id == chart->settlement(bank, c))
                report.example_settlement = account.code;
            if (account.id == chart->psp_held(0, c))
                report.example_psp_held = account.code;
        }
    }
    report.cross_currency_payouts = static_cast<std::uint64_t>(
        std::count_if(plan->payouts.begin(), plan->payouts.end(),
                      [](const Payout& p) { return p.rate.has_value(); }));

    const auto done = Clock::now();
    report.verify_elapsed = done - booked;
    report.total_elapsed = done - started;
    return report;
}

}  // namespace fxsettle::demo
