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

void print_report(const DemoReport& r, std::string_view fxledger, std::ostream& out) {
    out << "fxsettle-demo: the ledger stage of the settlement demo\n"
           "  This stage books one business day straight into the LMDB ledger through the\n"
           "  ledger API. The engine (sequencer, order books, netting), the fxsettled daemon and\n"
           "  the FIX simulators are not built yet, so nothing below was matched, netted or sent\n"
           "  over FIX, and payment orders are per PSP, not netted across PSPs. The full demo\n"
           "  replaces this stage (issue 6).\n\n";
    out << fmt::format("config   {}: {} PSPs, {} currencies, {} banks\n", r.config_source, r.psps,
                       r.currencies, r.banks);
    out << fmt::format("day      {} (UTC), seed {}: {} payouts, {} of them converted\n",
                       r.business_date, r.seed, r.payouts, r.cross_currency_payouts);
    out << fmt::format("ledger   {} ({})\n\n", r.ledger_path.string(),
                       r.replaced_old_ledger ? "new; the previous demo ledger was removed" : "new");

    out << fmt::format("Booked {} entries in {} batches (one write transaction and fsync each):\n",
                       r.entries, r.batches.size());
    struct StageLine {
        Stage stage;
        std::string_view what;
    };
    const StageLine stages[] = {
        {Stage::kOpening, "house equity -> bank nostro, each bank and currency"},
        {Stage::kPayIn, "marketplace remittances: bank nostro -> PSP available"},
        {Stage::kPayoutHold, "payout intake: PSP available -> PSP held"},
        {Stage::kFxConversion,
         "PSP held -> held in the payout currency at a locked quote, via house fx_position"},
        {Stage::kSettlement, "at each cut-off, per PSP: PSP held -> bank settlement"},
        {Stage::kConfirmation, "bank settlement -> nostro"},
        {Stage::kRejection, "bank settlement -> PSP available (funds returned)"},
    };
    for (const StageLine& line : stages) {
        out << fmt::format("  {:<19} {:>6}  {}\n", stage_name(line.stage),
                           r.stage_entries(line.stage), line.what);
    }
    out << fmt::format("  {:<19} {:>6}  the chart of accounts (engine/chart), one batch\n",
                       "accounts", r.accounts);
    out << "  FX rounding residue is carried exactly and posted to house/rounding/<currency>.\n\n";

    out << "Payouts by currency (gross includes rejected payouts):\n";
    out << fmt::format("  {:<4} {:>7} {:>20} {:>8} {:>17} {:>20} {:>7}  {}\n", "ccy", "payouts",
                       "gross", "rejected", "rejected amount", "paid by the bank", "orders",
                       "bank");
    for (const CurrencyPayouts& row : r.payouts_by_currency) {
        out << fmt::format("  {:<4} {:>7} {:>20} {:>8} {:>17} {:>20} {:>7}  {}\n",
                           row.currency.to_string(), row.payouts, grouped(row.gross, row.currency),
                           row.rejected, grouped(row.rejected_amount, row.currency),
                           grouped(row.confirmed, row.currency), row.payment_orders, row.bank);
    }
    out << "\n";

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
    const std::int64_t book_ns = std::max<std::int64_t>(1, r.book_elapsed.count());
    out << fmt::format(
        "time     booked in {} ({} entries/s), read back and verified in {}; total {}\n",
        seconds_text(r.book_elapsed),
        r.entries * 1'000'000'000ull / static_cast<std::uint64_t>(book_ns),
        seconds_text(r.verify_elapsed), seconds_text(r.total_elapsed));
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
        "fxsettle-demo: books a seeded business day of the default configuration into a new "
        "ledger and reports it (the ledger stage of the settlement demo)"};
    app.add_option("--ledger", ledger_path,
                   "the ledger file to create; an old one is replaced only if the demo wrote it")
        ->capture_default_str();
    app.add_option("--seed", options.seed, "the seed of the day: the same seed books the same day")
        ->capture_default_str();
    app.add_option("--payouts", options.payouts, "payout instructions of the day")
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
