// netting_bench: one settlement cycle at scale. It builds a day's obligations (payout
// instructions to external beneficiaries through banks, internal payouts between PSPs and
// the two legs of FX trades between PSPs), skewed the way cross-border e-commerce is: most
// payouts are CNY funded from USD/EUR/GBP/JPY, some pay other currencies funded from CNY,
// and a few PSPs carry most of the volume. Then it
//   1. times netting::net() over all of them (net_s), and netting::cross() over the
//      cycle's conversion needs (cross_s, reported apart);
//   2. times posting the result durably to a real LMDB ledger in a temp dir (post_s): per
//      PSP and currency one entry moving its external payouts from its held account to the
//      banks' settlement accounts, and per PSP and currency one entry moving its internal
//      transfers from its held account to the payees' available accounts, each chunked to
//      ledger::kPostingsMax postings and committed in batches of at most
//      ledger::kBatchOperationsMax operations (one fsync each). Creating the chart's
//      accounts and funding the held accounts is a setup step, not timed;
//   3. reads the ledger back (not timed) to check that every settlement account holds its
//      payment order's total and every held account is spent to zero.
// It prints the times and the cycle's figures, and with --json one JSON object last. It
// never asserts a time: the figures are for people and the README.
#include <sys/statfs.h>
#include <sys/vfs.h>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "config/config.h"
#include "engine/chart/chart.h"
#include "engine/money/amount.h"
#include "engine/money/currency.h"
#include "engine/netting/netting.h"
#include "ledger/ledger.h"
#include "ledger/types.h"

namespace {

namespace fs = std::filesystem;
namespace ledger = fxsettle::ledger;
namespace money = fxsettle::money;
namespace netting = fxsettle::engine::netting;
using fxsettle::engine::BankIndex;
using fxsettle::engine::Chart;
using fxsettle::engine::CurrencyIndex;
using fxsettle::engine::PspIndex;
using money::Amount;
using money::Int128;
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kFundEntryHi = 0xF0000000'00000001ull;
constexpr std::uint64_t kCycleEntryHi = 0xC0000000'00000001ull;
constexpr std::int64_t kBenchEpochNs = 1'717'400'000'000'000'000;
constexpr std::size_t kCreditsPerEntryMax = ledger::kPostingsMax - 1;  // one debit each

// The bench's currencies: code, share of payouts in percent x 10, and a rough USD value
// of one major unit in micro-dollars (integers only: to size amounts, never to book them).
struct CurrencySpec {
    const char* code;
    std::uint32_t payout_weight;
    std::int64_t usd_micro;
};
constexpr CurrencySpec kCurrencies[] = {
    {"CNY", 550, 138'000}, {"USD", 100, 1'000'000}, {"EUR", 80, 1'085'000}, {"GBP", 40, 1'270'000},
    {"JPY", 40, 6'400},    {"KRW", 30, 730},        {"HKD", 20, 128'000},   {"SGD", 20, 740'000},
    {"AUD", 10, 660'000},  {"CAD", 10, 730'000},    {"CHF", 10, 1'100'000}, {"INR", 10, 12'000},
    {"THB", 10, 27'000},   {"MYR", 10, 210'000},    {"IDR", 10, 61},        {"PHP", 10, 17'000},
    {"VND", 10, 39},       {"BRL", 10, 190'000},    {"MXN", 10, 55'000},    {"KWD", 10, 3'250'000},
};
constexpr std::size_t kCurrencySpecs = sizeof(kCurrencies) / sizeof(kCurrencies[0]);
// Where the money is collected: a PSP's home currency is one of these (by index above).
constexpr std::size_t kMajors[] = {1, 2, 3, 4};  // USD, EUR, GBP, JPY
constexpr std::size_t kCny = 0;

struct Options {
    std::uint64_t payouts = 1'000'000;
    std::uint32_t psps = 1'000;
    std::uint32_t currencies = 20;
    std::uint32_t banks = 10;
    std::uint32_t internal_pct = 10;  // payouts to another PSP
    std::uint64_t trades = 50'000;    // each adds two obligations
    std::uint64_t seed = 20240603;
    std::string dir;
    bool keep = false;
    bool json = false;
};

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "netting_bench: %s\n", what.c_str());
    std::exit(1);
}

double seconds_since(Clock::time_point t0) {
    return std::chrono::duration<double>(Clock::now() - t0).count();
}

std::string filesystem_name(const fs::path& p) {
    struct statfs s {};
    if (statfs(p.c_str(), &s) != 0)
        return "unknown";
    switch (static_cast<unsigned long>(s.f_type)) {
        case 0xEF53:
            return "ext4";
        case 0x01021994:
            return "tmpfs (fsync is free: durable figures are meaningless)";
        case 0x58465342:
            return "xfs";
        case 0x9123683E:
            return "btrfs";
        case 0x794C7630:
            return "overlayfs";
        default:
            return fmt::format("fs type 0x{:x}", static_cast<unsigned long>(s.f_type));
    }
}

Amount to_amount(const Int128& v) {
    auto a = Amount::from_int(v);
    if (!a)
        die(a.error().to_string());
    return *a;
}

// ---- the cycle's workload ------------------------------------------------------------

struct Universe {
    Chart chart;
    std::vector<CurrencyIndex> spec_to_chart;      // kCurrencies index -> chart index
    std::vector<std::vector<BankIndex>> banks_of;  // chart currency -> banks serving it
};

std::string psp_id(std::uint32_t p) {
    return fmt::format("psp{:04}", p);
}
std::string bank_id(std::uint32_t b) {
    return fmt::format("bank-{:02}", b);
}

// A config with the bench's PSPs, banks (each currency served by two or three) and one
// cycle per currency, and the chart built from it.
Universe make_universe(const Options& o) {
    fxsettle::config::Config config;
    config.source_name = "netting_bench";
    const auto& iso = money::CurrencyTable::iso();
    std::vector<money::Currency> currencies;
    for (std::uint32_t i = 0; i < o.currencies; ++i) {
        auto c = iso.find(kCurrencies[i].code);
        if (!c)
            die(fmt::format("{} is not in the ISO table", kCurrencies[i].code));
        currencies.push_back(*c);
        fxsettle::config::CycleConfig cycle;
        cycle.currency = *c;
        cycle.cutoffs = {std::chrono::minutes(16 * 60)};
        config.cycles.push_back(cycle);
    }
    for (std::uint32_t p = 0; p < o.psps; ++p) {
        fxsettle::config::PspConfig psp;
        psp.id = psp_id(p);
        psp.name = "bench PSP " + std::to_string(p);
        config.psps.push_back(psp);
    }
    for (std::uint32_t b = 0; b < o.banks; ++b) {
        fxsettle::config::BankConfig bank;
        bank.id = bank_id(b);
        for (std::uint32_t i = 0; i < o.currencies; ++i) {
            if (i % o.banks == b || (i + 3) % o.banks == b || (i == kCny && b + 1 == o.banks))
                bank.currencies.push_back(currencies[i]);
        }
        if (bank.currencies.empty())
            bank.currencies.push_back(currencies[b % currencies.size()]);
        config.banks.push_back(bank);
    }
    auto chart = Chart::build(config);
    if (!chart)
        die("chart: " + chart.error().to_string());
    Universe u{std::move(*chart), {}, {}};
    for (std::uint32_t i = 0; i < o.currencies; ++i)
        u.spec_to_chart.push_back(*u.chart.currency_index(kCurrencies[i].code));
    u.banks_of.resize(u.chart.currencies().size());
    for (CurrencyIndex c = 0; c < u.chart.currencies().size(); ++c) {
        for (BankIndex b = 0; b < u.chart.bank_count(); ++b) {
            if (u.chart.bank_serves(b, c))
                u.banks_of[c].push_back(b);
        }
        if (u.banks_of[c].empty())
            die("no bank serves " + u.chart.currency(c).to_string());
    }
    return u;
}

struct Workload {
    std::vector<netting::Obligation> obligations;
    std::vector<netting::ConversionNeed> needs;
    std::uint64_t external_payouts = 0;
    std::uint64_t internal_payouts = 0;
};

// Minor units of `spec_index` worth about `usd_cents` US cents.
Int128 minor_worth(std::size_t spec_index, std::int64_t usd_cents, const Universe& u) {
    const auto& currency = u.chart.currency(u.spec_to_chart[spec_index]);
    Int128 scale = 1;
    for (int e = 0; e < currency.exponent; ++e)
        scale *= 10;
    // usd_cents / 100 USD / (usd_micro / 10^6 USD per major) x 10^exponent minor per major
    const Int128 v = Int128(usd_cents) * 10'000 * scale / Int128(kCurrencies[spec_index].usd_micro);
    return v < 1 ? Int128(1) : v;
}

Workload make_workload(const Options& o, const Universe& u) {
    std::mt19937_64 rng(o.seed);
    // A few PSPs carry most of the volume: weight 1 / (rank + 1).
    std::vector<double> psp_weights(o.psps);
    for (std::uint32_t p = 0; p < o.psps; ++p)
        psp_weights[p] = 1.0 / double(p + 1);
    std::discrete_distribution<std::uint32_t> pick_psp(psp_weights.begin(), psp_weights.end());
    std::vector<std::uint32_t> currency_weights;
    for (std::uint32_t i = 0; i < o.currencies; ++i)
        currency_weights.push_back(kCurrencies[i].payout_weight);
    std::discrete_distribution<std::uint32_t> pick_currency(currency_weights.begin(),
                                                            currency_weights.end());
    std::uniform_int_distribution<std::uint32_t> percent(0, 99);
    // USD cents, roughly log-uniform from 1 USD to 90,000 USD: a digit times a power of ten.
    auto usd_cents = [&] {
        const std::int64_t digit = 1 + std::int64_t(rng() % 9);
        std::int64_t power = 100;
        for (std::uint64_t d = rng() % 5; d > 0; --d)
            power *= 10;
        return digit * power + std::int64_t(rng() % 100);
    };
    auto other_psp = [&](std::uint32_t not_this) {
        std::uint32_t p = pick_psp(rng);
        while (p == not_this)
            p = pick_psp(rng);
        return p;
    };
    const std::size_t majors = std::min<std::size_t>(4, o.currencies - 1);
    auto pair_index = [&](std::size_t major_spec) -> netting::PairIndex {
        return static_cast<netting::PairIndex>(major_spec - 1);  // USD/CNY 0 ... JPY/CNY 3
    };

    Workload w;
    w.obligations.reserve(o.payouts + 2 * o.trades);
    w.needs.reserve(o.payouts);
    std::uint64_t reference = 1;
    for (std::uint64_t i = 0; i < o.payouts; ++i) {
        const std::uint32_t payer = pick_psp(rng);
        const std::size_t spec = pick_currency(rng);
        const CurrencyIndex c = u.spec_to_chart[spec];
        const std::int64_t cents = usd_cents();
        netting::Obligation ob;
        ob.payer = payer;
        ob.currency = c;
        ob.amount = to_amount(minor_worth(spec, cents, u));
        ob.reference = reference++;
        if (o.psps > 1 && percent(rng) < o.internal_pct) {
            ob.payee = other_psp(payer);
            ++w.internal_payouts;
        } else {
            ob.payee = netting::kExternal;
            const auto& banks = u.banks_of[c];
            ob.bank = banks[rng() % banks.size()];
            ++w.external_payouts;
        }
        w.obligations.push_back(ob);
        // Its FX need: CNY payouts are funded from the PSP's home currency (a major);
        // payouts in a major are funded from CNY.
        if (majors == 0)
            continue;
        const std::size_t home = kMajors[payer % majors];
        if (spec == kCny) {
            w.needs.push_back(
                {payer, pair_index(home), false, to_amount(minor_worth(home, cents, u))});
        } else if (spec >= 1 && spec <= majors) {
            w.needs.push_back({payer, pair_index(spec), true, ob.amount});
        }
    }
    // Trades between PSPs: the seller pays base (a major, or CNY one time in five), the
    // buyer pays the quote's worth in the other currency.
    for (std::uint64_t t = 0; t < o.trades && o.psps > 1 && majors > 0; ++t) {
        const std::uint32_t seller = pick_psp(rng);
        const std::uint32_t buyer = other_psp(seller);
        const std::size_t major = kMajors[rng() % majors];
        const bool cny_first = percent(rng) < 20;
        const std::size_t first = cny_first ? kCny : major;
        const std::size_t second = cny_first ? major : kCny;
        const std::int64_t cents = usd_cents() * 10;
        netting::Obligation leg;
        leg.payer = seller;
        leg.payee = buyer;
        leg.currency = u.spec_to_chart[first];
        leg.amount = to_amount(minor_worth(first, cents, u));
        leg.reference = reference;
        w.obligations.push_back(leg);
        leg.payer = buyer;
        leg.payee = seller;
        leg.currency = u.spec_to_chart[second];
        leg.amount = to_amount(minor_worth(second, cents, u));
        w.obligations.push_back(leg);
        ++reference;
    }
    return w;
}

// ---- the ledger ----------------------------------------------------------------------

ledger::Timestamp bench_now() {
    return ledger::Timestamp(std::chrono::nanoseconds(kBenchEpochNs));
}
ledger::Date bench_value_date() {
    return std::chrono::sys_days(std::chrono::year(2024) / 6 / 3);
}

// Collects operations and commits them in batches of at most kBatchOperationsMax.
class Poster {
  public:
    explicit Poster(ledger::Ledger& l) : ledger_(l) { ops_.reserve(ledger::kBatchOperationsMax); }

    void add(ledger::Operation op) {
        ops_.push_back(std::move(op));
        if (ops_.size() == ledger::kBatchOperationsMax)
            flush();
    }
    void flush() {
        if (ops_.empty())
            return;
        const auto t0 = Clock::now();
        auto results = ledger_.commit(ops_, bench_now());
        commit_s_ += seconds_since(t0);
        if (!results)
            die("commit: " + results.error().to_string());
        for (const auto& r : *results) {
            if (!ledger::is_success(r.code))
                die(fmt::format("operation rejected: {} {}", ledger::result_code_name(r.code),
                                r.detail));
        }
        entries_ += ops_.size();
        ++batches_;
        ops_.clear();
    }
    double commit_s() const { return commit_s_; }
    std::uint64_t batches() const { return batches_; }
    std::uint64_t operations() const { return entries_; }

  private:
    ledger::Ledger& ledger_;
    std::vector<ledger::Operation> ops_;
    double commit_s_ = 0;
    std::uint64_t batches_ = 0;
    std::uint64_t entries_ = 0;
};

// One debit of the sum of `credits` from `debit_account`, chunked into entries of at most
// kPostingsMax postings.
void post_fan_out(Poster& poster, std::uint64_t id_hi, std::uint64_t& id_lo,
                  const money::Currency& currency, const ledger::AccountId& debit_account,
                  const std::vector<std::pair<ledger::AccountId, Int128>>& credits,
                  const std::string& reference) {
    for (std::size_t start = 0; start < credits.size(); start += kCreditsPerEntryMax) {
        const std::size_t end = std::min(credits.size(), start + kCreditsPerEntryMax);
        ledger::EntryRequest e;
        e.id = {id_hi, ++id_lo};
        e.kind = ledger::EntryKind::kPosted;
        e.value_date = bench_value_date();
        e.reference = reference;
        e.postings.reserve(end - start + 1);
        Int128 total = 0;
        e.postings.push_back({debit_account, ledger::Side::kDebit, {Amount(), currency}});
        for (std::size_t k = start; k < end; ++k) {
            total += credits[k].second;
            e.postings.push_back({credits[k].first,
                                  ledger::Side::kCredit,
                                  {to_amount(credits[k].second), currency}});
        }
        e.postings[0].amount.amount = to_amount(total);
        poster.add(ledger::Operation{std::move(e), false});
    }
}

std::unique_ptr<ledger::Ledger> open_ledger(const fs::path& path) {
    ledger::OpenOptions options;
    options.path = path;
    options.create_if_missing = true;
    options.map_size_initial_bytes = 256ull << 20;
    auto opened = ledger::Ledger::open(options);
    if (!opened)
        die(fmt::format("open {}: {}", path.string(), opened.error().to_string()));
    return std::move(*opened);
}

// Setup, not timed: the chart's accounts, and every PSP's held account in every currency
// funded (from the first bank's nostro) with exactly what it pays this cycle.
void create_and_fund(ledger::Ledger& l, const Universe& u, const Workload& w, std::size_t psps) {
    Poster poster(l);
    for (auto& op : u.chart.create_operations())
        poster.add(std::move(op));
    poster.flush();
    const std::size_t currencies = u.chart.currencies().size();
    std::vector<Int128> outgoing(currencies * psps, Int128(0));
    for (const auto& ob : w.obligations)
        outgoing[ob.currency * psps + ob.payer] += ob.amount.minor();
    std::uint64_t id = 0;
    for (CurrencyIndex c = 0; c < currencies; ++c) {
        std::vector<std::pair<ledger::AccountId, Int128>> credits;
        for (PspIndex p = 0; p < psps; ++p) {
            if (!outgoing[c * psps + p].is_zero())
                credits.emplace_back(u.chart.psp_held(p, c), outgoing[c * psps + p]);
        }
        post_fan_out(poster, kFundEntryHi, id, u.chart.currency(c),
                     u.chart.nostro(u.banks_of[c].front(), c), credits, "bench funding");
    }
    poster.flush();
}

struct PostFigures {
    double post_s = 0;
    double commit_s = 0;
    std::uint64_t entries = 0;
    std::uint64_t batches = 0;
    std::uint64_t external_entries = 0;
    std::uint64_t internal_entries = 0;
};

// Timed: the cycle's entries built from the netting result and committed durably.
PostFigures post_cycle(ledger::Ledger& l, const Universe& u, const Workload& w,
                       const netting::NettingResult& r, std::size_t psps) {
    const auto t0 = Clock::now();
    Poster poster(l);
    const std::size_t currencies = u.chart.currencies().size();
    const std::size_t banks = u.chart.bank_count();
    std::uint64_t id = 0;
    PostFigures f;

    // External payouts: per (currency, PSP) the amount owed to each bank's payees, from
    // the payment orders' lines.
    std::vector<Int128> owed(currencies * psps * banks, Int128(0));
    std::vector<std::uint8_t> has_external(currencies * psps, 0);
    for (const auto& order : r.orders) {
        for (const std::uint32_t line : order.lines) {
            const auto& ob = w.obligations[line];
            const std::size_t cp = std::size_t(order.currency) * psps + ob.payer;
            owed[cp * banks + order.bank] += ob.amount.minor();
            has_external[cp] = 1;
        }
    }
    std::vector<std::pair<ledger::AccountId, Int128>> credits;
    const std::string external_ref = "cycle external payouts";
    for (CurrencyIndex c = 0; c < currencies; ++c) {
        for (PspIndex p = 0; p < psps; ++p) {
            const std::size_t cp = std::size_t(c) * psps + p;
            if (!has_external[cp])
                continue;
            credits.clear();
            for (BankIndex b = 0; b < banks; ++b) {
                if (!owed[cp * banks + b].is_zero())
                    credits.emplace_back(u.chart.settlement(b, c), owed[cp * banks + b]);
            }
            const std::uint64_t before = id;
            post_fan_out(poster, kCycleEntryHi, id, u.chart.currency(c), u.chart.psp_held(p, c),
                         credits, external_ref);
            f.external_entries += id - before;
        }
    }

    // Internal transfers (payouts to PSPs and trade legs): per (currency, payer) one
    // entry crediting each payee's available account with what the payer owes it.
    struct Transfer {
        CurrencyIndex currency;
        PspIndex payer;
        PspIndex payee;
        std::uint32_t index;
    };
    std::vector<Transfer> transfers;
    transfers.reserve(w.internal_payouts + 2 * w.obligations.size() / 20);
    for (std::uint32_t i = 0; i < w.obligations.size(); ++i) {
        const auto& ob = w.obligations[i];
        if (ob.payee != netting::kExternal)
            transfers.push_back({ob.currency, ob.payer, ob.payee, i});
    }
    std::sort(transfers.begin(), transfers.end(), [](const Transfer& a, const Transfer& b) {
        return std::tie(a.currency, a.payer, a.payee) < std::tie(b.currency, b.payer, b.payee);
    });
    const std::string internal_ref = "cycle internal transfers";
    for (std::size_t k = 0; k < transfers.size();) {
        const CurrencyIndex c = transfers[k].currency;
        const PspIndex payer = transfers[k].payer;
        credits.clear();
        while (k < transfers.size() && transfers[k].currency == c && transfers[k].payer == payer) {
            const PspIndex payee = transfers[k].payee;
            Int128 sum = 0;
            while (k < transfers.size() && transfers[k].currency == c &&
                   transfers[k].payer == payer && transfers[k].payee == payee) {
                sum += w.obligations[transfers[k].index].amount.minor();
                ++k;
            }
            credits.emplace_back(u.chart.psp_available(payee, c), sum);
        }
        const std::uint64_t before = id;
        post_fan_out(poster, kCycleEntryHi, id, u.chart.currency(c), u.chart.psp_held(payer, c),
                     credits, internal_ref);
        f.internal_entries += id - before;
    }
    poster.flush();
    f.post_s = seconds_since(t0);
    f.commit_s = poster.commit_s();
    f.entries = poster.operations();
    f.batches = poster.batches();
    return f;
}

// Not timed: every settlement account is credited with its payment order's total, every held
// account is spent to zero, and debits equal credits per currency.
void check_ledger(ledger::Ledger& l, const Universe& u, const netting::NettingResult& r,
                  std::size_t psps) {
    auto view = l.read();
    if (!view)
        die("read: " + view.error().to_string());
    for (const auto& order : r.orders) {
        auto b = (*view)->balance(u.chart.settlement(order.bank, order.currency));
        if (!b)
            die("balance: " + b.error().to_string());
        // Credited with the payouts in transit (a debit-normal account: negative until the
        // bank confirms and the nostro is credited instead).
        if (b->credits_posted != order.total || !b->debits_posted.is_zero())
            die(fmt::format("settlement {} {}: credits {}, its order totals {}",
                            u.chart.bank_id(order.bank),
                            u.chart.currency(order.currency).to_string(),
                            b->credits_posted.to_string(), order.total.to_string()));
    }
    for (CurrencyIndex c = 0; c < u.chart.currencies().size(); ++c) {
        for (PspIndex p = 0; p < psps; ++p) {
            auto b = (*view)->balance(u.chart.psp_held(p, c));
            if (!b)
                die("balance: " + b.error().to_string());
            if (!b->posted(ledger::Side::kCredit).is_zero())
                die(fmt::format("{} held {} is {} after the cycle", u.chart.psp_id(p),
                                u.chart.currency(c).to_string(),
                                b->posted(ledger::Side::kCredit).to_string()));
        }
    }
    auto trial = (*view)->trial_balance();
    if (!trial)
        die("trial balance: " + trial.error().to_string());
    for (const auto& row : *trial) {
        if (row.debits_posted != row.credits_posted)
            die("trial balance does not balance in " + row.currency.to_string());
    }
}

// ---- figures -------------------------------------------------------------------------

std::string ppm_percent(std::uint64_t ppm) {
    return fmt::format("{}.{:04}%", ppm / 10'000, ppm % 10'000);
}

// The value of `minor` units of chart currency `c` in whole US cents, at the bench's
// rough rates: to add up figures across currencies for the summary line only.
Int128 usd_cents_of(const Amount& minor, CurrencyIndex c, const Universe& u) {
    std::size_t spec = 0;
    while (u.spec_to_chart[spec] != c)
        ++spec;
    Int128 scale = 1;
    for (int e = 0; e < u.chart.currency(c).exponent; ++e)
        scale *= 10;
    return minor.minor() * Int128(kCurrencies[spec].usd_micro) / (scale * 10'000);
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app{"fxsettle netting benchmark: one settlement cycle netted and posted durably"};
    app.add_option("--payouts", o.payouts, "payout instructions")
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{netting::kObligationsMax / 2}));
    app.add_option("--psps", o.psps, "PSPs")->check(CLI::Range(2u, 60'000u));
    app.add_option("--currencies", o.currencies, "currencies (CNY, USD, EUR, GBP, JPY, ...)")
        ->check(CLI::Range(std::uint32_t{2}, std::uint32_t(kCurrencySpecs)));
    app.add_option("--banks", o.banks, "banks")->check(CLI::Range(1u, 1'000u));
    app.add_option("--internal-pct", o.internal_pct, "percent of payouts to another PSP")
        ->check(CLI::Range(0u, 100u));
    app.add_option("--trades", o.trades, "FX trades between PSPs (two obligations each)")
        ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{netting::kObligationsMax / 4}));
    app.add_option("--seed", o.seed, "random seed");
    app.add_option("--dir", o.dir, "directory for the ledger file (default: a new temp dir)");
    app.add_flag("--keep", o.keep, "keep the ledger file");
    app.add_flag("--json", o.json, "print one JSON object last");
    CLI11_PARSE(app, argc, argv);

    fs::path dir;
    bool made_dir = false;
    if (o.dir.empty()) {
        std::string tmpl = (fs::temp_directory_path() / "fxsettle-netting-bench-XXXXXX").string();
        if (mkdtemp(tmpl.data()) == nullptr)
            die("mkdtemp failed");
        dir = tmpl;
        made_dir = true;
    } else {
        dir = o.dir;
        std::error_code ec;
        fs::create_directories(dir, ec);
        if (ec)
            die(fmt::format("create {}: {}", dir.string(), ec.message()));
    }

    const auto t_build = Clock::now();
    const Universe u = make_universe(o);
    const Workload w = make_workload(o, u);
    const double build_s = seconds_since(t_build);
    const std::size_t psps = u.chart.psp_count();
    const std::size_t currencies = u.chart.currencies().size();
    fmt::print(
        "netting_bench: {} payouts ({} external, {} to other PSPs) and {} trades ({} "
        "obligations), {} PSPs, {} currencies, {} banks; seed {}; built in {:.3f} s\n",
        o.payouts, w.external_payouts, w.internal_payouts, o.trades, w.obligations.size(), psps,
        currencies, u.chart.bank_count(), o.seed, build_s);

    // 1. Net.
    auto t0 = Clock::now();
    auto result = netting::net(w.obligations, psps, u.chart.bank_count(), currencies);
    const double net_s = seconds_since(t0);
    if (!result)
        die("net: " + result.error().to_string());
    t0 = Clock::now();
    auto crossed = netting::cross(w.needs, 4);
    const double cross_s = seconds_since(t0);
    if (!crossed)
        die("cross: " + crossed.error().to_string());

    // 2. Post durably.
    const fs::path path = dir / "netting-bench.lmdb";
    auto l = open_ledger(path);
    create_and_fund(*l, u, w, psps);
    const PostFigures post = post_cycle(*l, u, w, *result, psps);
    check_ledger(*l, u, *result, psps);
    std::uint64_t file_bytes = 0;
    {
        std::error_code ec;
        file_bytes = fs::file_size(path, ec);
    }
    l.reset();

    // 3. Report.
    const std::string filesystem = filesystem_name(dir);
    fmt::print("ledger: {} ({})\n", path.string(), filesystem);
    fmt::print("time to net      {:8.3f} s   ({} obligations; cross() of {} FX needs {:.3f} s)\n",
               net_s, w.obligations.size(), w.needs.size(), cross_s);
    fmt::print(
        "time to post     {:8.3f} s   ({} entries: {} external, {} internal; {} durable "
        "batches; {:.3f} s inside commit())\n",
        post.post_s, post.entries, post.external_entries, post.internal_entries, post.batches,
        post.commit_s);
    fmt::print("total            {:8.3f} s   (targets: net <= 1 s, net + post <= 3 s)\n\n",
               net_s + post.post_s);

    fmt::print("{:<4} {:>22} {:>22} {:>10} {:>9} {:>8} {:>7} {:>7} {:>7}\n", "ccy", "gross", "net",
               "saving", "before", "after", "pay-in", "pay-out", "orders");
    nlohmann::json figures = nlohmann::json::array();
    std::vector<std::uint64_t> pay_ins(currencies, 0), pay_outs(currencies, 0),
        orders(currencies, 0);
    for (const auto& p : result->payments)
        ++(p.direction == netting::PaymentDirection::kPayIn ? pay_ins : pay_outs)[p.currency];
    for (const auto& order : result->orders)
        ++orders[order.currency];
    std::uint64_t before = 0, after = 0;
    Int128 gross_usd_cents = 0, net_usd_cents = 0;
    for (const auto& f : result->figures) {
        const auto& currency = u.chart.currency(f.currency);
        fmt::print("{:<4} {:>22} {:>22} {:>10} {:>9} {:>8} {:>7} {:>7} {:>7}\n",
                   currency.to_string(), money::format_amount(f.gross, currency),
                   money::format_amount(f.net, currency), ppm_percent(f.liquidity_saving_ppm),
                   f.payments_before, f.payments_after, pay_ins[f.currency], pay_outs[f.currency],
                   orders[f.currency]);
        before += f.payments_before;
        after += f.payments_after;
        gross_usd_cents += usd_cents_of(f.gross, f.currency, u);
        net_usd_cents += usd_cents_of(f.net, f.currency, u);
        figures.push_back({{"currency", currency.to_string()},
                           {"gross", money::format_amount(f.gross, currency)},
                           {"net", money::format_amount(f.net, currency)},
                           {"saving_ppm", f.liquidity_saving_ppm},
                           {"payments_before", f.payments_before},
                           {"payments_after", f.payments_after},
                           {"pay_ins", pay_ins[f.currency]},
                           {"pay_outs", pay_outs[f.currency]},
                           {"payment_orders", orders[f.currency]}});
    }
    const std::uint64_t saving_ppm =
        gross_usd_cents.is_zero() ? 0
                                  : static_cast<std::uint64_t>((gross_usd_cents - net_usd_cents) *
                                                               1'000'000 / gross_usd_cents);
    const auto usd = *money::CurrencyTable::iso().find("USD");
    const std::string gross_usd = money::format_amount(to_amount(gross_usd_cents), usd);
    const std::string net_usd = money::format_amount(to_amount(net_usd_cents), usd);
    fmt::print(
        "all  {:>22} {:>22} {:>10} {:>9} {:>8}   (values in USD at the bench's rough rates)\n",
        gross_usd, net_usd, ppm_percent(saving_ppm), before, after);
    fmt::print("payments: {} before netting, {} after ({} fewer)\n", before, after, before - after);
    fmt::print("FX crossed internally per pair (base currency):\n");
    nlohmann::json crosses = nlohmann::json::array();
    for (const auto& x : *crossed) {
        const auto& base = u.chart.currency(u.spec_to_chart[kMajors[x.pair]]);
        const std::string name = base.to_string() + "/CNY";
        const Int128 volume = x.bought_base.minor() + x.sold_base.minor();
        const std::uint64_t crossed_ppm =
            volume.is_zero()
                ? 0
                : static_cast<std::uint64_t>(x.crossed_base.minor() * 2 * 1'000'000 / volume);
        fmt::print("  {}  bought {}  sold {}  crossed {} ({} of volume)  residual {}\n", name,
                   money::format_amount(x.bought_base, base),
                   money::format_amount(x.sold_base, base),
                   money::format_amount(x.crossed_base, base), ppm_percent(crossed_ppm),
                   money::format_amount(x.residual_base, base));
        crosses.push_back({{"pair", name},
                           {"bought", money::format_amount(x.bought_base, base)},
                           {"sold", money::format_amount(x.sold_base, base)},
                           {"crossed", money::format_amount(x.crossed_base, base)},
                           {"crossed_ppm", crossed_ppm},
                           {"residual", money::format_amount(x.residual_base, base)}});
    }
    fmt::print(
        "note: one run on a shared machine; times vary from run to run. The ledger was read "
        "back: settlement accounts hold the payment orders, held accounts are spent, the "
        "trial balance balances.\n");

    if (made_dir && !o.keep) {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    if (o.json) {
        nlohmann::json j;
        j["net_s"] = net_s;
        j["post_s"] = post.post_s;
        j["total_s"] = net_s + post.post_s;
        j["commit_s"] = post.commit_s;
        j["cross_s"] = cross_s;
        j["build_s"] = build_s;
        j["payouts"] = o.payouts;
        j["external_payouts"] = w.external_payouts;
        j["internal_payouts"] = w.internal_payouts;
        j["trades"] = o.trades;
        j["obligations"] = w.obligations.size();
        j["psps"] = psps;
        j["currencies"] = currencies;
        j["banks"] = u.chart.bank_count();
        j["seed"] = o.seed;
        j["payments_before"] = before;
        j["payments_after"] = after;
        j["gross_usd"] = gross_usd;
        j["net_usd"] = net_usd;
        j["saving_ppm"] = saving_ppm;
        j["ledger_entries"] = post.entries;
        j["ledger_batches"] = post.batches;
        j["ledger_file_bytes"] = file_bytes;
        j["dir_filesystem"] = filesystem;
        j["figures"] = figures;
        j["crosses"] = crosses;
        fmt::print("{}\n", j.dump());
    }
    return 0;
}
