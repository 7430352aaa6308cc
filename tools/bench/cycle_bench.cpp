// cycle_bench: one settlement cycle through the engine's real cut-off path. It builds a
// config from the embedded default (its PSPs, pairs, venues and banks) widened to --psps
// PSPs and --currencies currencies (extra currencies get a pair with CNY and are paid by
// bank-intl), every cycle cutting off at the same time, so that one Engine::apply() runs
// the whole cycle: aggregate conversions, cross, hedge, net, payment orders, ledger
// operations. Untimed set-up through Engine::apply: caps wide enough for the day (an
// admin SetLimits per PSP), a deposit per PSP and currency, fresh venue rates, then N
// payout instructions in batches (most CNY funded from USD/EUR/GBP/JPY, some CNY funded
// from the other CNY pairs, some same-currency, some out of CNY; a few PSPs carry most of
// the volume), every batch's operations committed to a real LMDB ledger in a temp dir.
//
// Timed: the single apply() at the cut-off (net_s, with its CPU time), then the durable
// commit of its ledger operations in parts of ledger::kBatchOperationsMax (post_s);
// total_s is their sum; malloc_hugetlb says whether glibc's malloc used huge pages
// (GLIBC_TUNABLES=glibc.malloc.hugetlb=1, as the systemd unit runs fxsettled). Prints the cycle
// figures the engine reports (CycleReport: gross, net, payments before and after, liquidity saving,
// summed over the currencies and for CNY), and, to show that a faster engine computes the same
// cycle, the state hash, a SHA-256 over the cut-off's encoded events and the ledger's head hash.
// With --json one JSON object last. Never asserts a time.
#include <openssl/evp.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "config/calendar_file.h"
#include "config/config.h"
#include "engine/core/engine.h"
#include "ledger/ledger.h"
#include "ledger/types.h"
#include "tools/bench/bench_util.h"

namespace {

using namespace fxsettle;
using bench::Clock;
using bench::cpu_seconds;
using bench::hex;
using bench::seconds_since;
using bench::Sha256Digest;
using engine::Command;
using engine::Engine;
using engine::Event;
namespace fs = std::filesystem;

struct Options {
    std::uint32_t payouts = 1'000'000;
    std::uint32_t psps = 1'000;
    std::uint32_t currencies = 20;
    std::uint32_t batch = 4096;
    std::uint64_t seed = 20261207;
    std::string dir;
    std::uint32_t internal_pct = 10;  // payouts to another PSP instead of a beneficiary
    bool keep = false;
    bool json = false;
};

// Tuesday 24 November 2026, 00:00 UTC; every cycle cuts off at 16:00 that day.
const ledger::Timestamp kDayStart =
    ledger::Timestamp(std::chrono::sys_days(std::chrono::year{2026} / 11 / 24));
constexpr std::chrono::minutes kCutoff{16 * 60};

// Currencies added (in this order) to the default config's until there are --currencies.
constexpr const char* kExtraCurrencies[] = {"CHF", "INR", "THB", "MYR", "IDR", "PHP", "BRL", "MXN",
                                            "NZD", "SEK", "NOK", "DKK", "PLN", "ZAR", "TRY"};

// Every cycle's currency needs a holiday calendar: the compiled-in ones are written to
// `calendars`, and one with weekends only for each extra currency.
Result<config::Config> make_config(const Options& o, const fs::path& calendars) {
    auto loaded = config::load_default_config();
    if (!loaded)
        return loaded;
    config::Config cfg = std::move(*loaded);
    auto cny = cfg.currency_table.find("CNY");
    if (!cny)
        return fail(StatusCode::kInvalidArgument, "the default config has no CNY");
    // A venue that quotes every pair (its pairs left out of the file) quotes the new ones.
    const std::size_t default_pairs = cfg.pairs.size();
    std::vector<config::VenueConfig*> all_pairs_venues;
    for (auto& v : cfg.venues) {
        if (v.pairs.size() == default_pairs)
            all_pairs_venues.push_back(&v);
    }
    std::vector<money::Currency> have;
    for (const auto& c : cfg.cycles)
        have.push_back(c.currency);
    for (const char* code : kExtraCurrencies) {
        if (have.size() >= o.currencies)
            break;
        auto c = cfg.currency_table.find(code);
        if (!c)
            return fail(StatusCode::kInvalidArgument,
                        std::string(code) + " is not in the currency table");
        const money::CurrencyPair pair{*c, *cny};
        auto tick = money::Rate::parse(pair, "0.000001");
        if (!tick)
            return fail(tick.error());
        cfg.pairs.push_back(config::PairConfig{pair, *tick, money::Amount::from_minor(100),
                                               config::conventional_spot_days(pair), true});
        cfg.cycles.push_back(config::CycleConfig{*c, {}, {}});
        for (config::VenueConfig* v : all_pairs_venues)
            v->pairs.push_back(pair);
        for (auto& b : cfg.banks) {
            if (b.id == "bank-intl")
                b.currencies.push_back(*c);
        }
        have.push_back(*c);
    }
    for (auto& c : cfg.cycles)
        c.cutoffs = {kCutoff};
    std::error_code ec;
    fs::create_directories(calendars, ec);
    auto write = [&](const std::string& name, std::string_view text) {
        std::ofstream f(calendars / name, std::ios::binary);
        f << text;
        return f.good();
    };
    for (const auto& file : config::default_calendar_files()) {
        if (!write(std::string(file.name), file.text))
            return fail(StatusCode::kIoError, "cannot write " + (calendars / file.name).string());
    }
    for (const auto& c : have) {
        const std::string code = c.to_string();
        if (fs::exists(calendars / (code + ".toml")))
            continue;
        if (!write(code + ".toml", "currency = \"" + code +
                                       "\"\nweekend = [\"Saturday\", \"Sunday\"]\n"
                                       "first = \"2025-01-01\"\nlast = \"2027-12-31\"\n"
                                       "holidays = []\n"))
            return fail(StatusCode::kIoError, "cannot write a calendar in " + calendars.string());
    }
    cfg.calendars.directory = calendars.string();
    const std::size_t templates = cfg.psps.size();
    for (std::uint32_t p = static_cast<std::uint32_t>(templates); p < o.psps; ++p) {
        config::PspConfig psp = cfg.psps[p % templates];
        char id[16];
        std::snprintf(id, sizeof id, "psp%05u", p);
        psp.id = id;
        psp.name = "bench PSP " + std::to_string(p);
        psp.username = id;
        std::snprintf(id, sizeof id, "PSP%05u", p);
        psp.sender_comp_id = id;
        cfg.psps.push_back(std::move(psp));
    }
    // Validated as the daemon would load it.
    return config::load_config_string(config::to_toml(cfg), "cycle_bench");
}

// Tells perf (CYCLE_BENCH_PERF_CTL: perf's control FIFO) to sample `phase` alone: the
// cut-off's apply() ("cutoff", the default) or the durable post of its operations ("post",
// with CYCLE_BENCH_PERF_PHASE=post).
// perf record -D -1 --control=fifo:ctl.fifo,ack.fifo ... with CYCLE_BENCH_PERF_CTL=ctl.fifo.
void perf_window(std::string_view phase, const char* what) {
    const char* ctl = std::getenv("CYCLE_BENCH_PERF_CTL");
    const char* want = std::getenv("CYCLE_BENCH_PERF_PHASE");
    if (ctl == nullptr || phase != (want != nullptr ? std::string_view(want) : "cutoff"))
        return;
    std::ofstream f(ctl);
    f << what << "\n";
}

// The cut-off's apply(), apart so that a profiler can collect it alone:
// valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*cutoff_apply*'
[[gnu::noinline]] Status cutoff_apply(Engine& eng, ledger::Timestamp at,
                                      engine::BatchOutput<Event>& out) {
    perf_window("cutoff", "enable");
    Status s = eng.apply({}, at, out);
    perf_window("cutoff", "disable");
    return s;
}

struct Totals {
    money::Int128 gross = 0;
    money::Int128 net = 0;
    std::uint64_t payments_before = 0;
    std::uint64_t payments_after = 0;
    std::uint64_t held_back = 0;
    std::uint64_t failed = 0;
};

int run(const Options& o) {
    fs::path dir;
    if (o.dir.empty()) {
        std::string templ = (fs::temp_directory_path() / "cycle_bench-XXXXXX").string();
        if (::mkdtemp(templ.data()) == nullptr) {
            std::cerr << "cycle_bench: mkdtemp failed\n";
            return 1;
        }
        dir = templ;
    } else {
        dir = fs::path(o.dir) / "cycle_bench";
        std::error_code ec;
        fs::remove_all(dir, ec);
        fs::create_directories(dir);
    }
    struct Cleanup {
        fs::path dir;
        bool keep;
        ~Cleanup() {
            std::error_code ec;
            if (!keep)
                fs::remove_all(dir, ec);
        }
    } cleanup{dir, o.keep};
    auto built = make_config(o, dir / "calendars");
    if (!built) {
        std::cerr << "cycle_bench: config: " << built.error().to_string() << "\n";
        return 1;
    }
    const config::Config& cfg = *built;
    auto created = Engine::create(cfg);
    if (!created) {
        std::cerr << "cycle_bench: " << created.error().to_string() << "\n";
        return 1;
    }
    Engine eng = std::move(*created);
    const engine::Chart& chart = eng.chart();
    const auto& currencies = chart.currencies();
    const std::size_t psps = chart.psp_count();

    ledger::OpenOptions lo;
    lo.path = dir / "ledger.mdb";
    lo.map_size_initial_bytes = 256ull << 20;
    auto opened = ledger::Ledger::open(lo);
    if (!opened) {
        std::cerr << "cycle_bench: ledger: " << opened.error().to_string() << "\n";
        return 1;
    }
    std::unique_ptr<ledger::Ledger> book = std::move(*opened);
    std::size_t commit_parts = 0;
    auto commit = [&](const std::vector<ledger::Operation>& operations,
                      ledger::Timestamp at) -> bool {
        for (std::size_t i = 0; i < operations.size(); i += ledger::kBatchOperationsMax) {
            const std::size_t n = std::min(ledger::kBatchOperationsMax, operations.size() - i);
            auto results = book->commit(std::span(operations).subspan(i, n), at);
            ++commit_parts;
            if (!results) {
                std::cerr << "cycle_bench: commit: " << results.error().to_string() << "\n";
                return false;
            }
            for (std::size_t k = 0; k < results->size(); ++k) {
                if (!ledger::is_success((*results)[k].code)) {
                    std::cerr << "cycle_bench: the ledger refused operation " << i + k << ": "
                              << ledger::result_code_name((*results)[k].code) << " "
                              << (*results)[k].detail << "\n";
                    return false;
                }
            }
        }
        return true;
    };
    if (!commit(eng.initial_operations(), kDayStart))
        return 1;

    engine::BatchOutput<Event> out;
    std::uint64_t rejected = 0;
    std::uint64_t accepted = 0;
    std::map<std::string, std::uint64_t> reasons;
    auto apply = [&](const std::vector<Command>& commands, ledger::Timestamp at,
                     bool post) -> bool {
        out.clear();
        const Status s = eng.apply(commands, at, out);
        if (!s) {
            std::cerr << "cycle_bench: apply failed: " << s.to_string() << "\n";
            return false;
        }
        for (const Event& e : out.events) {
            if (std::holds_alternative<engine::PayoutAccepted>(e))
                ++accepted;
            else if (const auto* r = std::get_if<engine::PayoutRejected>(&e)) {
                ++rejected;
                ++reasons[std::string(engine::reason_name(r->reason)) + ": " + r->text];
            }
        }
        return !post || commit(out.operations, at);
    };
    auto rates = [&](ledger::Timestamp at) {
        std::vector<Command> commands;
        for (const auto& p : cfg.pairs) {
            auto bid = money::Rate::parse(p.pair, "1.0000");
            auto ask = money::Rate::parse(p.pair, "1.0002");
            if (!bid || !ask)
                continue;
            for (engine::VenueIndex v = 0; v < chart.venue_count(); ++v) {
                commands.push_back(engine::VenueRate{
                    v, p.pair, *bid, *ask, money::Amount::from_minor(std::int64_t{1} << 50),
                    money::Amount::from_minor(std::int64_t{1} << 50), at});
            }
        }
        return apply(commands, at, true);
    };

    const auto setup_start = Clock::now();
    const ledger::Timestamp now = kDayStart;
    {
        std::vector<Command> limits;
        for (engine::PspIndex p = 0; p < psps; ++p) {
            engine::RiskLimits l = engine::risk_limits(cfg.psps[p]);
            for (const auto& c : currencies)
                l.net_debit_caps[c] = money::Amount::from_minor(std::int64_t{1} << 60);
            // In CNY: every currency but CNH has a pair with CNY to value it.
            l.aggregate_cap = money::Money{money::Amount::from_minor(std::int64_t{1} << 62),
                                           currencies[*chart.currency_index("CNY")]};
            limits.push_back(engine::SetLimits{p, "bench-limits", "cycle_bench", l});
        }
        if (!apply(limits, now, true))
            return 1;
    }
    {
        std::vector<Command> deposits;
        for (engine::PspIndex p = 0; p < psps; ++p) {
            for (engine::CurrencyIndex c = 0; c < currencies.size(); ++c) {
                const auto bank = chart.bank_for(c);
                if (!bank)
                    continue;
                deposits.push_back(engine::Deposit{
                    p, "D-" + std::to_string(p) + "-" + currencies[c].to_string(), *bank,
                    money::Money{money::Amount::from_minor(std::int64_t{1} << 55), currencies[c]}});
                if (deposits.size() == o.batch) {
                    if (!apply(deposits, now, true))
                        return 1;
                    deposits.clear();
                }
            }
        }
        if (!apply(deposits, now, true) || !rates(now))
            return 1;
    }

    // Flows: 70 % CNY funded from USD/EUR/GBP/JPY (4:3:2:1), 10 % CNY funded from another
    // currency with a CNY pair, 10 % same currency (CNY or one with a CNY pair), 10 % out
    // of CNY into another; --internal-pct of them paid to another PSP.
    const auto cny = chart.currency_index("CNY");
    std::vector<engine::CurrencyIndex> majors;
    for (const char* code : {"USD", "USD", "USD", "USD", "EUR", "EUR", "EUR", "GBP", "GBP", "JPY"})
        majors.push_back(*chart.currency_index(code));
    std::vector<engine::CurrencyIndex> cny_others;
    for (const auto& p : cfg.pairs) {
        const auto b = chart.currency_index(p.pair.base.code_view());
        const auto q = chart.currency_index(p.pair.quote.code_view());
        if (b && q && cny && *q == *cny)
            cny_others.push_back(*b);
    }
    if (!cny || cny_others.empty()) {
        std::cerr << "cycle_bench: the config has no pair with CNY\n";
        return 1;
    }
    std::mt19937_64 rng(o.seed);
    auto pick = [&](std::uint64_t n) { return static_cast<std::size_t>(rng() % n); };
    std::vector<double> psp_weights(psps);
    for (std::size_t p = 0; p < psps; ++p)
        psp_weights[p] = 1.0 / double(p + 1);
    std::discrete_distribution<std::uint32_t> pick_psp(psp_weights.begin(), psp_weights.end());
    std::vector<Command> batch;
    batch.reserve(o.batch);
    for (std::uint32_t i = 0; i < o.payouts; ++i) {
        engine::PayoutInstruction p;
        const std::size_t r = pick(100);
        p.psp = static_cast<engine::PspIndex>(pick_psp(rng));
        engine::CurrencyIndex pay = *cny;
        engine::CurrencyIndex fund = *cny;
        if (r < 70) {
            fund = majors[pick(majors.size())];
        } else if (r < 80) {
            fund = cny_others[pick(cny_others.size())];
        } else if (r < 90) {
            pay = fund = pick(4) == 0 ? *cny : cny_others[pick(cny_others.size())];
        } else {
            pay = cny_others[pick(cny_others.size())];
        }
        const auto bank = chart.bank_for(pay);
        if (!bank)
            continue;
        p.client_id = "P" + std::to_string(i);
        if (pick(100) < o.internal_pct && psps > 1) {
            engine::PspIndex payee = p.psp;
            while (payee == p.psp)
                payee = static_cast<engine::PspIndex>(pick_psp(rng));
            p.payee_psp = payee;
        }
        p.beneficiary = engine::Beneficiary{chart.bank_id(*bank), "ACC" + std::to_string(i),
                                            "Seller " + std::to_string(i % 10'000), "CN"};
        p.amount = money::Money{
            money::Amount::from_minor(static_cast<std::int64_t>(10'000 + pick(1'000'000))),
            currencies[pay]};
        p.funding_currency = currencies[fund];
        p.value_date = engine::calendar::ValueDateRequest{
            engine::calendar::Tenor::kToday, std::nullopt, engine::calendar::Roll::kFollowing};
        p.purpose = "bench";
        p.reference = "B";
        batch.push_back(std::move(p));
        if (batch.size() == o.batch) {
            if (!apply(batch, now, true))
                return 1;
            batch.clear();
        }
    }
    if (!batch.empty() && !apply(batch, now, true))
        return 1;
    const auto deadline = eng.next_deadline();
    if (!deadline) {
        std::cerr << "cycle_bench: no cut-off ahead\n";
        return 1;
    }
    if (!rates(*deadline - std::chrono::seconds(1)))
        return 1;
    const double setup_s = seconds_since(setup_start);
    const std::size_t setup_parts = commit_parts;

    // The cut-off: one apply(), then its operations made durable.
    const auto net_start = Clock::now();
    const double net_start_cpu = cpu_seconds();
    out.clear();
    if (const Status s = cutoff_apply(eng, *deadline, out); !s) {
        std::cerr << "cycle_bench: the cut-off's apply failed: " << s.to_string() << "\n";
        return 1;
    }
    const double net_cpu_s = cpu_seconds() - net_start_cpu;
    const double net_s = seconds_since(net_start);
    const auto post_start = Clock::now();
    const double post_start_cpu = cpu_seconds();
    perf_window("post", "enable");
    const bool posted = commit(out.operations, *deadline);
    perf_window("post", "disable");
    if (!posted)
        return 1;
    const double post_cpu_s = cpu_seconds() - post_start_cpu;
    const double post_s = seconds_since(post_start);
    const std::size_t post_parts = commit_parts - setup_parts;

    Totals t;
    Totals cny_t;
    std::size_t cycle_currencies = 0;
    std::size_t payment_orders = 0;
    std::size_t payment_lines = 0;
    Sha256Digest digest;
    for (const Event& e : out.events) {
        digest.add(Engine::encode_event(e));
        if (const auto* po = std::get_if<engine::PaymentOrder>(&e)) {
            ++payment_orders;
            payment_lines += po->lines.size();
        }
        const auto* report = std::get_if<engine::CycleReport>(&e);
        if (report == nullptr)
            continue;
        for (const auto& f : report->currencies) {
            ++cycle_currencies;
            Totals& into = f.currency == *cny ? cny_t : t;
            for (Totals* x : {&into}) {
                x->gross += f.gross.minor();
                x->net += f.net.minor();
                x->payments_before += f.payments_before;
                x->payments_after += f.payments_after;
                x->held_back += f.held_back;
                x->failed += f.failed;
            }
        }
    }
    // All currencies together: counts add up; amounts are in different currencies, so
    // the saving over all is by payment count, and the CNY one is by amount too.
    Totals all = t;
    all.payments_before += cny_t.payments_before;
    all.payments_after += cny_t.payments_after;
    all.held_back += cny_t.held_back;
    all.failed += cny_t.failed;
    const double cny_saving =
        cny_t.gross > 0 ? 1.0 - static_cast<double>(cny_t.net) / static_cast<double>(cny_t.gross)
                        : 0.0;
    const double payment_saving = all.payments_before > 0
                                      ? 1.0 - static_cast<double>(all.payments_after) /
                                                  static_cast<double>(all.payments_before)
                                      : 0.0;
    const std::string state_hash = hex(eng.state_hash());
    const std::string events_hash = hex(digest.finish());
    std::string ledger_head;
    {
        auto view = book->read();
        if (!view) {
            std::cerr << "cycle_bench: " << view.error().to_string() << "\n";
            return 1;
        }
        auto info = (*view)->info();
        if (!info) {
            std::cerr << "cycle_bench: " << info.error().to_string() << "\n";
            return 1;
        }
        ledger_head = hex(info->head_hash);
    }

    // How glibc's malloc was set up (ops/systemd/fxsettled.service sets the same): with
    // huge pages, the post's fresh memory (LMDB keeps each dirty page in malloc'd memory)
    // costs far less on a virtual machine. Read from the environment glibc read at start.
    const char* tunables = std::getenv("GLIBC_TUNABLES");
    const bool malloc_hugetlb =
        tunables != nullptr &&
        (std::string_view(tunables).find("glibc.malloc.hugetlb=1") != std::string_view::npos ||
         std::string_view(tunables).find("glibc.malloc.hugetlb=2") != std::string_view::npos);
    std::cout << "cycle_bench: " << o.payouts << " payouts, " << psps << " PSPs, "
              << currencies.size() << " currencies, every cycle cut off at 16:00; ledger in "
              << dir.string() << "; malloc huge pages "
              << (malloc_hugetlb ? "on"
                                 : "off (GLIBC_TUNABLES=glibc.malloc.hugetlb=1 turns them on)")
              << "\n"
              << "  set-up   " << accepted << " accepted, " << rejected << " rejected; " << setup_s
              << " s (intake and its " << setup_parts << " commits, not timed)\n";
    for (const auto& [name, n] : reasons)
        std::cout << "    rejected " << n << " x " << name << "\n";
    std::cout << "  cut-off  net " << net_s << " s (cpu " << net_cpu_s
              << " s): " << out.events.size() << " events, " << out.operations.size()
              << " operations, " << payment_orders << " payment orders with " << payment_lines
              << " lines\n"
              << "  post     " << post_s << " s (cpu " << post_cpu_s << " s) in " << post_parts
              << " commit(s) of at most " << ledger::kBatchOperationsMax << " operations\n"
              << "  total    " << net_s + post_s << " s\n"
              << "  cycle    " << cycle_currencies << " currencies; payments "
              << all.payments_before << " -> " << all.payments_after << " (" << payment_saving * 100
              << "% fewer); held back " << all.held_back << ", failed " << all.failed << "\n"
              << "  CNY      gross " << cny_t.gross.str() << " net " << cny_t.net.str()
              << " (minor units), "
              << "liquidity saving " << cny_saving * 100 << "%; payments " << cny_t.payments_before
              << " -> " << cny_t.payments_after << "\n"
              << "  state hash  " << state_hash << "\n"
              << "  events hash " << events_hash << " (the cut-off's encoded events)\n"
              << "  ledger head " << ledger_head << "\n";
    if (o.json) {
        nlohmann::json j;
        j["bench"] = "cycle_bench";
        j["payouts"] = o.payouts;
        j["accepted"] = accepted;
        j["rejected"] = rejected;
        j["psps"] = psps;
        j["currencies"] = currencies.size();
        j["net_s"] = net_s;
        j["net_cpu_s"] = net_cpu_s;
        j["post_s"] = post_s;
        j["post_cpu_s"] = post_cpu_s;
        j["total_s"] = net_s + post_s;
        j["malloc_hugetlb"] = malloc_hugetlb;
        j["cutoff_events"] = out.events.size();
        j["cutoff_operations"] = out.operations.size();
        j["post_commits"] = post_parts;
        j["payment_orders"] = payment_orders;
        j["payment_lines"] = payment_lines;
        j["cycle_currencies"] = cycle_currencies;
        j["payments_before"] = all.payments_before;
        j["payments_after"] = all.payments_after;
        j["payment_saving"] = payment_saving;
        j["held_back"] = all.held_back;
        j["failed"] = all.failed;
        j["cny_gross_minor"] = cny_t.gross.str();
        j["cny_net_minor"] = cny_t.net.str();
        j["cny_liquidity_saving"] = cny_saving;
        j["cny_payments_before"] = cny_t.payments_before;
        j["cny_payments_after"] = cny_t.payments_after;
        j["state_hash"] = state_hash;
        j["events_hash"] = events_hash;
        j["ledger_head"] = ledger_head;
        std::cout << j.dump() << "\n";
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app{"cycle_bench: one settlement cycle through the engine's cut-off path"};
    app.add_option("--payouts", o.payouts, "payout instructions")
        ->check(CLI::Range(1u, 50'000'000u));
    app.add_option("--psps", o.psps, "PSPs (the default config's five first)")
        ->check(CLI::Range(5u, 100'000u));
    app.add_option("--currencies", o.currencies, "currencies with a cycle")
        ->check(CLI::Range(11u, 26u));
    app.add_option("--internal-pct", o.internal_pct, "percent of payouts to another PSP")
        ->check(CLI::Range(0u, 100u));
    app.add_option("--batch", o.batch, "commands per apply()")->check(CLI::Range(1u, 1u << 20));
    app.add_option("--seed", o.seed, "random seed");
    app.add_option("--dir", o.dir, "put the ledger under this directory (default: a temp dir)");
    app.add_flag("--keep", o.keep, "keep the ledger");
    app.add_flag("--json", o.json, "print one JSON object last");
    CLI11_PARSE(app, argc, argv);
    return run(o);
}
