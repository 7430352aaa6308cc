// fxsettle-demo: the README's main job. One settlement day over FIX on loopback, with the
// real daemon as a separate process:
//
//   1. picks free loopback ports and writes the run's config (the embedded default with
//      its ports, files and the PSPs' limits sized for the day's volume) to <dir>;
//   2. starts `fxsettled` as a child process on an accelerated clock (--clock-start,
//      --clock-rate) and waits for its ready line;
//   3. starts the venue and bank simulators (fxsim's VenueSim and BankSim, in this
//      process, on the config's ports and the same accelerated clock); the banks send the
//      PSPs' deposits (U6);
//   4. runs five PSPs' traffic through PspSim (FIX sessions to the gateway): orders on
//      every pair in both directions, RFQs and payouts at the quoted rate, payouts at the
//      cycle's rate, outflows to suppliers abroad, internal payouts; with a progress line;
//   5. lets the clock pass every cut-off of the day (two per currency), waits until every
//      payout is settled or failed, no bank order is unconfirmed and the outbox is empty
//      (the daemon's /metrics), then stops fxsettled with SIGTERM;
//   6. checks the ledger file: trial balance zero per currency, verify (the library and
//      `fxledger verify`), each bank simulator's camt.053 reconciled against its nostro
//      (`fxledger reconcile`), and replays the daemon's command log through a fresh
//      engine to report the day's figures (outcomes, gross vs net per currency, liquidity
//      saving, payments before and after, internal cross, hedges and their cost).
//
// Exit code 0 when every check passed, 1 when one failed or the run did not complete, 2
// on a usage error.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "engine/money/amount.h"
#include "engine/money/currency.h"
#include "engine/money/rate.h"

namespace fxsettle::demo {

inline constexpr std::uint64_t kDefaultInstructions = 50'000;
inline constexpr std::uint64_t kInstructionsMax = 1'000'000;
inline constexpr std::uint32_t kDefaultRatePerSecond = 5'000;
inline constexpr std::uint32_t kDefaultClockRate = 900;
inline constexpr std::uint64_t kDefaultSeed = 20'261'123;

struct DemoOptions {
    std::filesystem::path dir;                          // empty: var/demo-<UTC time>
    std::uint64_t instructions = kDefaultInstructions;  // PSP requests in all
    std::uint32_t rate_per_s = kDefaultRatePerSecond;   // PSP requests per second
    std::uint32_t clock_rate = kDefaultClockRate;       // engine seconds per real second
    // A Tuesday every currency settles on (Monday 23 November is a holiday in Japan).
    std::string clock_start = "2026-11-24T00:00:00Z";
    // The PSPs stop sending at this engine time of day (before the morning's last Asian
    // cut-offs), so that every instruction settles the same day; fewer requests than
    // `instructions` are sent when the daemon takes them slower than that.
    std::chrono::minutes intake_close{5 * 60};
    std::uint32_t max_in_flight = 400;  // PSP requests sent and not yet answered
    std::uint64_t seed = kDefaultSeed;
    std::filesystem::path fxsettled;     // the daemon binary
    std::filesystem::path fxledger;      // the finance tool binary
    std::chrono::seconds deadline{300};  // the whole run, real time
    bool progress_tty = false;           // \r-updated progress instead of periodic lines
};

// Accepted and rejected outcomes of one family of PSP requests.
struct Outcomes {
    std::uint64_t accepted = 0;
    std::uint64_t rejected = 0;
};

// One currency's cycles over the day (sums of the engine's CycleReport figures).
struct CurrencyDay {
    money::Currency currency;
    std::uint32_t cycles = 0;
    money::Amount gross, net;
    std::uint64_t payments_before = 0, payments_after = 0;
    std::uint64_t held_back = 0, failed = 0;
};

// One pair over the day.
struct PairDay {
    money::CurrencyPair pair;
    std::uint64_t book_trades = 0;  // order-book trades between PSPs
    money::Amount book_base;
    money::Amount bought_base, sold_base, crossed_base;  // cut-off conversions
    std::uint64_t hedge_orders = 0;
    money::Amount hedged_base, filled_base;
    money::Amount hedge_cost;  // against mid, quote minor units, from the fills
};

struct CheckResult {
    std::string name;
    bool ok = false;
    std::string detail;
};

struct DemoReport {
    std::filesystem::path dir, config_path, ledger_path, log_path, metrics_path, statement_dir;
    std::string metrics_url;
    std::string clock_start;
    std::uint32_t clock_rate = 0;
    std::string clock_end;  // the engine time when the daemon was stopped
    std::size_t psps = 0, currencies = 0, pairs = 0;

    // What the PSPs sent and heard back (PspSim's counters).
    std::uint64_t sent = 0, requested = 0;
    std::string intake_closed;  // the engine time the PSPs stopped sending
    std::uint64_t u2_accepted = 0, u2_rejected = 0, u2_settled = 0, u2_failed = 0;
    std::uint64_t obligations_received = 0;

    // From the replayed command log.
    Outcomes deposits, orders, quotes, payouts;
    std::uint64_t locked_payouts = 0, cycle_rate_payouts = 0, internal_payouts = 0;
    std::uint64_t payouts_settled = 0, payouts_failed = 0;
    std::uint64_t cycles = 0, obligations = 0, payment_orders = 0, payment_lines = 0;
    std::uint64_t hedge_fills = 0, hold_backs = 0, commands = 0, batches = 0;
    // Rejections of PSP requests by reason: count and the first one's text.
    std::map<std::string, std::pair<std::uint64_t, std::string>> reject_reasons;
    std::vector<CurrencyDay> by_currency;
    std::vector<PairDay> by_pair;

    // From the bank simulators.
    std::uint64_t bank_orders = 0, bank_lines_confirmed = 0, bank_lines_rejected = 0;

    std::uint64_t entries = 0, accounts = 0;
    std::vector<std::string> trial_balance;  // one formatted row per currency
    std::vector<CheckResult> checks;
    std::vector<std::string> reconciled;  // one line per statement
    std::chrono::milliseconds elapsed{};

    bool ok() const;
};

// Runs the demo; progress lines go to `progress`, the report is printed to `out`.
// Fails with a Status when the run could not complete (a port, the daemon, a deadline);
// a failing check is in the report (ok() false).
Result<DemoReport> run_demo(const DemoOptions& options, std::ostream& progress);

void print_report(const DemoReport& report, const DemoOptions& options, std::ostream& out);

// The program: parses the options (--dir, --instructions, --rate, --clock-rate, --seed,
// --fxsettled, --fxledger, --deadline-s), runs the demo and prints the report.
int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace fxsettle::demo
