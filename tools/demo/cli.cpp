// fxsettle-demo's command line and its report for people (see demo.h).
#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "tools/demo/demo.h"

namespace fxsettle::demo {

namespace {

// "12345678.90" -> "12,345,678.90": for reading only; the digits are the exact amount.
std::string grouped(const money::Amount& amount, const money::Currency& currency) {
    const std::string plain = money::format_amount(amount, currency);
    const std::size_t sign = (!plain.empty() && plain[0] == '-') ? 1 : 0;
    const std::size_t point = std::min(plain.find('.'), plain.size());
    std::string out = plain.substr(0, sign);
    for (std::size_t i = sign; i < point; ++i) {
        if (i > sign && (point - i) % 3 == 0)
            out += ',';
        out += plain[i];
    }
    return out + plain.substr(point);
}

// Seconds with two decimals, from nanoseconds, without floating point.
std::string seconds_text(std::chrono::nanoseconds ns) {
    const std::int64_t cs = (ns.count() + 5'000'000) / 10'000'000;
    return fmt::format("{}.{:02} s", cs / 100, cs % 100);
}

// A path as a shell word: as-is when it needs no quoting, else in single quotes.
std::string shell_word(const std::string& text) {
    const bool plain = !text.empty() && std::all_of(text.begin(), text.end(), [](char ch) {
        return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
               ch == '/' || ch == '.' || ch == '_' || ch == '-' || ch == '+' || ch == ',';
    });
    if (plain)
        return text;
    std::string out = "'";
    for (char ch : text) {
        if (ch == '\'')
            out += "'\\''";
        else
            out += ch;
    }
    return out + "'";
}

// How to call fxledger in the suggested commands: beside this program in the build tree
// (<build>/tools/fxsettle-demo and <build>/tools/fxledger/fxledger), as it was invoked;
// else from the PATH.
std::string fxledger_command(const char* argv0) {
    if (argv0 == nullptr)
        return "fxledger";
    const std::filesystem::path self(argv0);
    if (!self.has_parent_path())
        return "fxledger";
    const std::filesystem::path candidate = self.parent_path() / "fxledger" / "fxledger";
    std::error_code ec;
    if (!std::filesystem::is_regular_file(candidate, ec))
        return "fxledger";
    return shell_word(candidate.lexically_normal().string());
}

}  // namespace

// Parts per million as a percentage with two decimals ("12.34%").
std::string percent_ppm(const money::Int128& ppm) {
    const std::int64_t bp = static_cast<std::int64_t>((ppm + 50) / 100);
    return fmt::format("{}.{:02}%", bp / 100, bp % 100);
}
// 1 - net/gross and part/whole, in ppm, rounded down; zero for an empty whole.
money::Int128 saving_ppm(const money::Amount& gross, const money::Amount& net) {
    if (gross.minor() <= 0)
        return 0;
    return (gross.minor() - net.minor()) * 1'000'000 / gross.minor();
}
money::Int128 share_ppm(const money::Amount& part, const money::Amount& whole) {
    if (whole.minor() <= 0)
        return 0;
    return part.minor() * 1'000'000 / whole.minor();
}

void print_report(const DemoReport& r, std::string_view fxledger, std::ostream& out) {
    out << "fxsettle-demo: the engine stage of the settlement demo\n"
           "  One business day through the real engine (order books, RFQ quotes, payout intake,\n"
           "  settlement cycles, netting, hedging) under the real sequencer (one engine thread,\n"
           "  one LMDB write transaction per batch, transactional outbox). PSPs, venues and\n"
           "  banks are simulated in this process and talk to the sequencer directly; the FIX\n"
           "  sessions, their simulators and the fxsettled daemon come with later issues.\n\n";
    out << fmt::format("config   {}: {} PSPs, {} currencies, {} banks, {} venues\n",
                       r.config_source, r.psps, r.currencies, r.banks, r.venues);
    out << fmt::format("day      {} (UTC), seed {}\n", r.business_date, r.seed);
    out << fmt::format("ledger   {} ({})\n\n", r.ledger_path.string(),
                       r.replaced_old_ledger ? "new; the previous demo ledger was removed" : "new");

    out << "Commands from the simulated PSPs:\n";
    out << fmt::format("  {:<10} {:>9} {:>9} {:>9}\n", "", "submitted", "accepted", "rejected");
    const std::pair<std::string_view, const Outcomes*> families[] = {{"deposits", &r.deposits},
                                                                     {"orders", &r.orders},
                                                                     {"quotes", &r.quotes},
                                                                     {"payouts", &r.payouts}};
    for (const auto& [name, o] : families)
        out << fmt::format("  {:<10} {:>9} {:>9} {:>9}\n", name, o->submitted, o->accepted,
                           o->rejected);
    out << fmt::format(
        "  payouts accepted: {} at a quoted (locked) rate, {} converted at the cycle's rate,\n"
        "  {} to another PSP's account\n\n",
        r.locked_payouts, r.unlocked_payouts, r.internal_payouts);

    out << fmt::format("Settlement: {} cycle reports, {} obligations, {} conversions\n", r.cycles,
                       r.obligations, r.conversions);
    out << fmt::format("  {:<4} {:>6} {:>20} {:>20} {:>8} {:>9} {:>8} {:>8}\n", "ccy", "cycles",
                       "gross", "net", "saving", "payments", "after", "crossed");
    for (const CurrencyDay& d : r.by_currency) {
        out << fmt::format("  {:<4} {:>6} {:>20} {:>20} {:>8} {:>9} {:>8} {:>8}\n",
                           d.currency.to_string(), d.cycles, grouped(d.gross, d.currency),
                           grouped(d.net, d.currency), percent_ppm(saving_ppm(d.gross, d.net)),
                           d.payments_before, d.payments_after,
                           percent_ppm(share_ppm(d.fx_crossed, d.fx_volume)));
    }
    out << "  saving = 1 - net/gross (liquidity saving); payments before and after netting;\n"
           "  crossed = share of the conversions into the currency matched internally.\n";
    std::uint64_t held_back = 0, failed = 0;
    for (const CurrencyDay& d : r.by_currency) {
        held_back += d.held_back;
        failed += d.failed;
    }
    out << fmt::format(
        "  held back to a later cycle: {} instructions ({} hold-back events); "
        "failed at a cut-off: {}\n\n",
        held_back, r.hold_backs, failed);

    out << "FX by pair (order book between PSPs, hedges at the venues):\n";
    out << fmt::format("  {:<8} {:>7} {:>16} {:>7} {:>16} {:>16} {:>12} {:>9}\n", "pair", "trades",
                       "traded base", "hedges", "hedged base", "filled base", "cost vs mid",
                       "internal");
    for (const PairDay& p : r.by_pair) {
        out << fmt::format("  {:<8} {:>7} {:>16} {:>7} {:>16} {:>16} {:>12} {:>9}\n",
                           p.pair.to_string(), p.trades, grouped(p.traded_base, p.pair.base),
                           p.hedge_orders, grouped(p.hedged_base, p.pair.base),
                           grouped(p.filled_base, p.pair.base), grouped(p.hedge_cost, p.pair.quote),
                           percent_ppm(share_ppm(p.traded_base, p.traded_base + p.hedged_base)));
    }
    out << "  internal = the pair's FX volume crossed between PSPs in the order book, of that\n"
           "  plus what was hedged at the venues.\n";
    out << fmt::format("  {} hedge fills; {} exposure reports (left in fx_position)\n\n",
                       r.hedge_fills, r.exposures);

    out << fmt::format(
        "Banks: {} payment orders with {} beneficiary lines; {} confirmations and {} line\n"
        "  rejections sent back; {} payouts settled, {} failed (funds returned to the PSP)\n\n",
        r.payment_orders, r.payment_lines, r.bank_confirmations, r.line_rejections,
        r.payouts_settled, r.payouts_failed);
    out << fmt::format(
        "Sequencer: {} commands applied, {} events delivered, {} ledger commits; {} entries, "
        "{} accounts\n\n",
        r.commands, r.events, r.commits, r.entries, r.accounts);

    out << "Trial balance (posted, every account, per currency):\n";
    out << fmt::format("  {:<4} {:>24} {:>24} {:>12}\n", "ccy", "debits", "credits", "difference");
    for (const ledger::TrialBalanceRow& row : r.trial_balance) {
        const money::Amount difference = row.debits_posted - row.credits_posted;
        out << fmt::format("  {:<4} {:>24} {:>24} {:>12}{}\n", row.currency.to_string(),
                           grouped(row.debits_posted, row.currency),
                           grouped(row.credits_posted, row.currency),
                           grouped(difference, row.currency),
                           row.debits_pending == row.credits_pending ? "" : "  (pending differs)");
    }
    out << (r.trial_balance_zero() ? "  every currency sums to zero\n\n"
                                   : "  NOT ZERO: the ledger does not balance\n\n");
    if (r.verify.ok) {
        out << fmt::format(
            "verify   OK: {} entries and {} accounts (hash chain, per-currency balance of every\n"
            "         entry, stored balances, no-negative flags, FX rounding carries)\n",
            r.verify.entries_checked, r.verify.accounts_checked);
    } else {
        out << fmt::format("verify   FAILED: {}\n", r.verify.failure);
    }
    if (r.unexpected != 0)
        out << fmt::format("WARNING  {} replies or requests of the simulators were refused\n",
                           r.unexpected);
    out << fmt::format("time     the day in {}, read back and verified in {}; total {}\n",
                       seconds_text(r.run_elapsed), seconds_text(r.verify_elapsed),
                       seconds_text(r.total_elapsed));
    std::error_code ec;
    const auto absolute = std::filesystem::absolute(r.ledger_path, ec);
    out << fmt::format("ledger   {}\n\n", ec ? r.ledger_path.string() : absolute.string());
    const std::string f =
        fmt::format("{} --ledger {}", fxledger, shell_word(r.ledger_path.string()));
    out << "Try next (fxledger opens the ledger read-only):\n";
    out << fmt::format("  {} trial-balance\n", f);
    out << fmt::format("  {} accounts\n", f);
    if (!r.example_nostro.empty())
        out << fmt::format("  {} balance {}\n", f, r.example_nostro);
    if (!r.example_settlement.empty()) {
        out << fmt::format("  {} statement {} --from {} --to {}\n", f, r.example_settlement,
                           r.business_date, r.day_after);
    }
    if (!r.example_psp_held.empty()) {
        out << fmt::format("  {} balance {} --at {}T06:00:00Z\n", f, r.example_psp_held,
                           r.business_date);
    }
    out << fmt::format("  {} show '#{}'\n", f, std::min<std::uint64_t>(r.entries, 200));
    out << fmt::format(
        "  {} export --format hledger --output {}\n", f,
        shell_word(std::filesystem::path(r.ledger_path).replace_extension(".journal").string()));
    out << fmt::format("  {} verify\n", f);
}

int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
    DemoOptions options;
    std::string ledger_path = options.ledger_path.string();
    CLI::App app{
        "fxsettle-demo: runs a seeded business day of the default configuration through the "
        "engine and the sequencer on a new ledger and reports it (the engine stage of the "
        "settlement demo)"};
    app.add_option("--ledger", ledger_path,
                   "the ledger file to create; an old one is replaced only if the demo wrote it")
        ->capture_default_str();
    app.add_option("--seed", options.seed, "the seed of the day: the same seed gives the same day")
        ->capture_default_str();
    app.add_option("--payouts", options.payouts,
                   "payout instructions of the day (and a third as many FX orders)")
        ->check(CLI::Range(1u, kPayoutsMax))
        ->capture_default_str();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int code = app.exit(e, out, err);
        return code == 0 ? 0 : 2;
    }
    options.ledger_path = ledger_path;

    auto config = config::load_default_config();
    if (!config) {
        err << "fxsettle-demo: the embedded default config does not load: "
            << config.error().to_string() << "\n";
        return 1;
    }
    auto report = run_demo(*config, options);
    if (!report) {
        err << "fxsettle-demo: " << report.error().to_string() << "\n";
        return 1;
    }
    print_report(*report, fxledger_command(argc > 0 ? argv[0] : nullptr), out);
    if (!report->sound()) {
        err << "fxsettle-demo: the ledger is not sound: "
            << (report->verify.ok ? "the trial balance is not zero" : report->verify.failure)
            << "\n";
        return 1;
    }
    return 0;
}

}  // namespace fxsettle::demo
