// engine_bench: the engine's own path for a large day, through Engine::apply() only (no
// sequencer, no ledger commit): the embedded default config (its PSPs, currencies, pairs
// and cut-offs; caps widened so that nothing is refused for risk), a deposit per PSP and
// currency, fresh venue rates for every pair, then N payout instructions (default 1M:
// most into CNY funded in the other currencies, some same-currency, some the other way)
// applied in batches, then every cut-off of the day as the sequencer would tick it.
//
// Prints the intake rate, the time of each cut-off's apply() and the ledger operations
// it produced (and how many commits of ledger::kBatchOperationsMax the sequencer splits
// it into), and with --json one JSON object last. Never asserts a time.
//
// Results, to show that a faster engine computes the same day: the engine's state hash
// at the end; with --hash a SHA-256 over every batch's encoded events and state rows
// (hashing is timed apart and left out of the intake figure); with --ledger PATH every
// batch's operations are also committed to a real ledger at PATH (a new file; split in
// parts of ledger::kBatchOperationsMax, stamped with the batch's time, outside the timed
// regions) and its head hash is printed. Each prints as hex and in the JSON object.
#include <openssl/evp.h>
#include <CLI/CLI.hpp>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

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

struct Options {
    std::uint32_t payouts = 1'000'000;
    std::uint32_t batch = 4096;
    std::uint64_t seed = 20261124;
    bool json = false;
    bool hash = false;
    std::string ledger_path;
};

// Tuesday 24 November 2026, 00:00 UTC: before the first cut-off of the default config.
const ledger::Timestamp kDayStart =
    ledger::Timestamp(std::chrono::sys_days(std::chrono::year{2026} / 11 / 24));

int run(const Options& o) {
    auto loaded = config::load_default_config();
    if (!loaded) {
        std::cerr << "engine_bench: " << loaded.error().to_string() << "\n";
        return 1;
    }
    const config::Config& cfg = *loaded;
    auto created = Engine::create(cfg);
    if (!created) {
        std::cerr << "engine_bench: " << created.error().to_string() << "\n";
        return 1;
    }
    Engine eng = std::move(*created);
    const engine::Chart& chart = eng.chart();
    const auto& currencies = chart.currencies();
    const std::size_t psps = chart.psp_count();

    std::unique_ptr<ledger::Ledger> book;
    if (!o.ledger_path.empty()) {
        if (std::filesystem::exists(o.ledger_path)) {
            std::cerr << "engine_bench: --ledger " << o.ledger_path << " exists; name a new file\n";
            return 1;
        }
        auto opened = ledger::Ledger::open(ledger::OpenOptions{o.ledger_path});
        if (!opened) {
            std::cerr << "engine_bench: --ledger: " << opened.error().to_string() << "\n";
            return 1;
        }
        book = std::move(*opened);
    }
    // Commits `operations` at `at` in parts the ledger takes; every one must succeed.
    auto commit = [&](const std::vector<ledger::Operation>& operations,
                      ledger::Timestamp at) -> bool {
        for (std::size_t i = 0; i < operations.size(); i += ledger::kBatchOperationsMax) {
            const std::size_t n = std::min(ledger::kBatchOperationsMax, operations.size() - i);
            auto results = book->commit(std::span(operations).subspan(i, n), at);
            if (!results) {
                std::cerr << "engine_bench: commit: " << results.error().to_string() << "\n";
                return false;
            }
            for (std::size_t k = 0; k < results->size(); ++k) {
                if (!ledger::is_success((*results)[k].code)) {
                    std::cerr << "engine_bench: the ledger refused operation " << i + k << ": "
                              << ledger::result_code_name((*results)[k].code) << " "
                              << (*results)[k].detail << "\n";
                    return false;
                }
            }
        }
        return true;
    };
    if (book && !commit(eng.initial_operations(), kDayStart))
        return 1;
    Sha256Digest digest;
    double checking_s = 0;  // hashing and committing, left out of the figures
    double checking_cpu_s = 0;

    engine::BatchOutput<Event> out;
    std::uint64_t rejected = 0;
    std::uint64_t accepted = 0;
    std::map<std::string, std::uint64_t> reasons;
    std::vector<std::string> reason_text;
    auto apply = [&](const std::vector<Command>& commands, ledger::Timestamp at) -> bool {
        out.clear();
        const Status s = eng.apply(commands, at, out);
        if (!s) {
            std::cerr << "engine_bench: apply failed: " << s.to_string() << "\n";
            return false;
        }
        if (o.hash || book) {
            const auto start = Clock::now();
            const double start_cpu = cpu_seconds();
            if (o.hash) {
                for (const Event& e : out.events)
                    digest.add(Engine::encode_event(e));
                for (const ledger::AuxWrite& w : out.state) {
                    digest.add(w.key);
                    digest.add(w.value.value_or(std::string()));
                }
            }
            const bool committed = !book || commit(out.operations, at);
            checking_s += seconds_since(start);
            checking_cpu_s += cpu_seconds() - start_cpu;
            if (!committed)
                return false;
        }
        for (const Event& e : out.events) {
            if (std::holds_alternative<engine::PayoutAccepted>(e))
                ++accepted;
            else if (const auto* r = std::get_if<engine::PayoutRejected>(&e)) {
                ++rejected;
                ++reasons[std::string(engine::reason_name(r->reason))];
                if (reason_text.size() < 3)
                    reason_text.push_back(r->text);
            }
        }
        return true;
    };
    // Venue rates for every pair, at 1.1 x the pair's tick count of 10,000 (a plausible
    // price level is irrelevant here; only freshness and a two-way spread matter).
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
        return apply(commands, at);
    };

    ledger::Timestamp now = kDayStart;
    {
        // Caps wide enough for the whole day in every currency (an admin SetLimits each).
        std::vector<Command> limits;
        for (engine::PspIndex p = 0; p < psps; ++p) {
            engine::RiskLimits l = engine::risk_limits(cfg.psps[p]);
            for (const auto& c : currencies)
                l.net_debit_caps[c] = money::Amount::from_minor(std::int64_t{1} << 60);
            l.aggregate_cap.amount = money::Amount::from_minor(std::int64_t{1} << 62);
            limits.push_back(engine::SetLimits{p, "bench-limits", "engine_bench", l});
        }
        if (!apply(limits, now))
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
            }
        }
        if (!apply(deposits, now) || !rates(now))
            return 1;
    }

    // Payouts: 70 % into CNY funded through a pair with CNY, 20 % same currency, 10 % out
    // of CNY into the pair's other currency; PSPs skewed towards the first ones.
    std::vector<std::pair<engine::CurrencyIndex, engine::CurrencyIndex>> cny_pairs;
    const auto cny = chart.currency_index("CNY");
    for (const auto& p : cfg.pairs) {
        const auto b = chart.currency_index(p.pair.base.code_view());
        const auto q = chart.currency_index(p.pair.quote.code_view());
        if (b && q && cny && (*b == *cny || *q == *cny))
            cny_pairs.emplace_back(*b == *cny ? *q : *b, *cny);
    }
    if (cny_pairs.empty()) {
        std::cerr << "engine_bench: the config has no pair with CNY\n";
        return 1;
    }
    std::mt19937_64 rng(o.seed);
    auto pick = [&](std::uint64_t n) { return static_cast<std::size_t>(rng() % n); };
    std::vector<Command> batch;
    batch.reserve(o.batch);
    const auto intake_start = Clock::now();
    const double intake_start_cpu = cpu_seconds();
    for (std::uint32_t i = 0; i < o.payouts; ++i) {
        engine::PayoutInstruction p;
        const std::size_t r = pick(100);
        p.psp =
            static_cast<engine::PspIndex>(std::min(pick(psps), pick(psps)));  // skew to low indices
        engine::CurrencyIndex pay = 0;
        engine::CurrencyIndex fund = 0;
        const auto& [other, c] = cny_pairs[pick(cny_pairs.size())];
        if (r < 70) {
            pay = c;
            fund = other;
        } else if (r < 90) {
            pay = fund = static_cast<engine::CurrencyIndex>(pick(currencies.size()));
        } else {
            pay = other;
            fund = c;
        }
        const auto bank = chart.bank_for(pay);
        if (!bank)
            continue;
        p.client_id = "P" + std::to_string(i);
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
            if (!apply(batch, now))
                return 1;
            batch.clear();
        }
    }
    if (!batch.empty() && !apply(batch, now))
        return 1;
    const double intake_s = seconds_since(intake_start) - checking_s;
    const double intake_cpu_s = cpu_seconds() - intake_start_cpu - checking_cpu_s;

    // The day's cut-offs, ticked at each deadline with fresh rates a second before.
    struct Tick {
        ledger::Timestamp at;
        double seconds = 0;
        double cpu_seconds = 0;
        std::size_t operations = 0;
        std::size_t events = 0;
    };
    std::vector<Tick> ticks;
    const ledger::Timestamp day_end = kDayStart + std::chrono::hours(24);
    double cutoff_s = 0;
    double cutoff_cpu_s = 0;
    std::size_t ops_max = 0;
    std::size_t ops_total = 0;
    while (const auto deadline = eng.next_deadline()) {
        if (*deadline >= day_end || ticks.size() >= 256)
            break;
        if (!rates(*deadline - std::chrono::seconds(1)))
            return 1;
        const auto start = Clock::now();
        const double start_cpu = cpu_seconds();
        const double checked_cpu = checking_cpu_s;
        const double checked = checking_s;
        if (!apply({}, *deadline))
            return 1;
        Tick t{*deadline, seconds_since(start) - (checking_s - checked),
               cpu_seconds() - start_cpu - (checking_cpu_s - checked_cpu), out.operations.size(),
               out.events.size()};
        cutoff_s += t.seconds;
        cutoff_cpu_s += t.cpu_seconds;
        ops_max = std::max(ops_max, t.operations);
        ops_total += t.operations;
        ticks.push_back(t);
    }
    const std::size_t parts_max =
        (ops_max + ledger::kBatchOperationsMax - 1) / ledger::kBatchOperationsMax;
    const std::string state_hash = hex(eng.state_hash());
    const std::string output_hash = o.hash ? hex(digest.finish()) : std::string();
    std::string ledger_head;
    if (book) {
        auto view = book->read();
        if (!view) {
            std::cerr << "engine_bench: " << view.error().to_string() << "\n";
            return 1;
        }
        auto info = (*view)->info();
        if (!info) {
            std::cerr << "engine_bench: " << info.error().to_string() << "\n";
            return 1;
        }
        ledger_head =
            hex(info->head_hash) + " (" + std::to_string(info->last_sequence) + " entries)";
    }

    std::cout << "engine_bench: " << o.payouts << " payouts, " << psps << " PSPs, "
              << currencies.size() << " currencies (default config), batches of " << o.batch << "\n"
              << "  intake   " << accepted << " accepted, " << rejected << " rejected in "
              << intake_s << " s (" << static_cast<double>(o.payouts) / intake_s << " payouts/s)\n";
    for (const auto& [name, n] : reasons)
        std::cout << "    rejected " << name << ": " << n << "\n";
    for (const auto& t : reason_text)
        std::cout << "      e.g. " << t << "\n";
    for (const Tick& t : ticks) {
        const auto since = std::chrono::duration_cast<std::chrono::minutes>(t.at - kDayStart);
        std::cout << "  tick +" << since.count() / 60 << ":" << (since.count() % 60 < 10 ? "0" : "")
                  << since.count() % 60 << "  " << t.seconds << " s (cpu " << t.cpu_seconds
                  << " s), " << t.operations << " operations, " << t.events << " events\n";
    }
    std::cout << "  cut-offs " << ticks.size() << " ticks in " << cutoff_s << " s (cpu "
              << cutoff_cpu_s << " s); " << ops_total << " operations, at most " << ops_max
              << " in one tick (" << parts_max << " commit part(s) of "
              << ledger::kBatchOperationsMax << ")\n"
              << "  state hash  " << state_hash << "\n";
    if (o.hash)
        std::cout << "  output hash " << output_hash << " (events and state rows)\n";
    if (book)
        std::cout << "  ledger head " << ledger_head << "\n";
    if (o.json) {
        nlohmann::json j;
        j["bench"] = "engine_bench";
        j["payouts"] = o.payouts;
        j["accepted"] = accepted;
        j["rejected"] = rejected;
        j["psps"] = psps;
        j["currencies"] = currencies.size();
        j["intake_s"] = intake_s;
        j["intake_payouts_per_s"] = static_cast<double>(o.payouts) / intake_s;
        j["intake_cpu_s"] = intake_cpu_s;
        j["cutoff_ticks"] = ticks.size();
        j["cutoff_s"] = cutoff_s;
        j["cutoff_cpu_s"] = cutoff_cpu_s;
        double cutoff_cpu_max = 0;
        for (const Tick& t : ticks)
            cutoff_cpu_max = std::max(cutoff_cpu_max, t.cpu_seconds);
        j["cutoff_cpu_s_max"] = cutoff_cpu_max;
        j["cutoff_operations"] = ops_total;
        j["cutoff_operations_max"] = ops_max;
        j["cutoff_commit_parts_max"] = parts_max;
        j["state_hash"] = state_hash;
        if (o.hash)
            j["output_hash"] = output_hash;
        if (book)
            j["ledger_head"] = ledger_head;
        std::cout << j.dump() << "\n";
    }
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app{"engine_bench: a large day through Engine::apply (intake and cut-offs)"};
    app.add_option("--payouts", o.payouts, "payout instructions")
        ->check(CLI::Range(1u, 50'000'000u));
    app.add_option("--batch", o.batch, "commands per apply()")->check(CLI::Range(1u, 1u << 20));
    app.add_option("--seed", o.seed, "random seed");
    app.add_flag("--json", o.json, "print one JSON object last");
    app.add_flag("--hash", o.hash, "print a SHA-256 of every batch's events and state rows");
    app.add_option("--ledger", o.ledger_path,
                   "also commit every batch to a new ledger file here and print its head hash");
    CLI11_PARSE(app, argc, argv);
    return run(o);
}
