// fxsettle-demo, engine stage: runs a seeded business day of the default configuration
// through the real engine (order books, quotes, payout intake, settlement cycles, netting,
// hedging) under the real sequencer (one engine thread, one LMDB write transaction per
// batch, transactional outbox) on a fresh ledger file, and reports what it did.
//
// Everything runs in one process. Simulated PSPs submit commands through
// Sequencer::submit; simulated venues stream rates (as VenueRate commands) and fill the
// hedge orders the engine sends; simulated banks confirm payment orders and reject a few
// beneficiary lines. The clock is simulated: it jumps from one phase of business to the
// next cut-off, so a day takes seconds. FIX sessions and the fxsettled daemon come with
// later issues; here the counterparties talk to the sequencer directly.
//
// The day (UTC, on DemoOptions::business_date, which must be a business day of CNY, USD,
// EUR and SGD):
//   02:30  venue rates; PSP pay-ins (Deposit); the first half of the payouts and orders
//   03:00  CNY cut-off
//   05:10  fresh rates; the second half
//   08:00  CNY and SGD cut-offs, 09:00 EUR, 14:00 USD and EUR, 19:00 USD
// At each cut-off the engine converts, crosses and hedges, nets per currency, posts, and
// emits obligations and payment orders; the simulated venues and banks answer at once.
// Commands come from one simulated driver in a seeded order, so a seed always gives the
// same day (the same ledger head hash).
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "engine/base/status.h"
#include "engine/money/amount.h"
#include "engine/money/currency.h"
#include "ledger/ledger.h"
#include "ledger/types.h"

namespace fxsettle::demo {

inline constexpr std::string_view kDefaultLedgerPath = "var/demo-ledger.mdb";
inline constexpr std::uint64_t kDefaultSeed = 20'261'123;
inline constexpr std::uint32_t kDefaultPayouts = 3'000;
inline constexpr std::uint32_t kPayoutsMax = 200'000;

// The engine-state key that marks a ledger file as the demo's own: the demo replaces an
// existing file only when it carries this key.
inline constexpr std::string_view kMarkerKey = "fxsettle-demo/marker";

struct DemoOptions {
    std::filesystem::path ledger_path{std::string(kDefaultLedgerPath)};
    std::uint64_t seed = kDefaultSeed;
    std::uint32_t payouts = kDefaultPayouts;  // 1..kPayoutsMax; orders are a third of it
    std::chrono::year_month_day business_date{std::chrono::year{2026}, std::chrono::November,
                                              std::chrono::day{23}};
};

// Accepted and rejected outcomes of one family of PSP commands.
struct Outcomes {
    std::uint64_t submitted = 0;
    std::uint64_t accepted = 0;
    std::uint64_t rejected = 0;
};

// One currency's cycles over the day (the sums of its CycleReport figures).
struct CurrencyDay {
    money::Currency currency;
    std::uint32_t cycles = 0;  // its cut-offs of the day
    money::Amount gross;       // obligations before netting
    money::Amount net;         // pay-ins after netting
    std::uint64_t payments_before = 0;
    std::uint64_t payments_after = 0;
    money::Amount fx_volume;   // converted into this currency
    money::Amount fx_crossed;  // of which matched internally
    std::uint64_t held_back = 0;
    std::uint64_t failed = 0;
};

// One pair over the day.
struct PairDay {
    money::CurrencyPair pair;
    std::uint64_t trades = 0;   // order-book trades between PSPs
    money::Amount traded_base;  // their base volume
    std::uint64_t hedge_orders = 0;
    money::Amount hedged_base;  // sent to venues
    money::Amount filled_base;  // filled by them
    money::Amount hedge_cost;   // against mid, quote minor units, from the fills
};

struct DemoReport {
    std::filesystem::path ledger_path;
    std::string config_source;
    std::string business_date;  // "2026-11-23"
    std::string day_after;      // "2026-11-24": the end of the day's statements
    std::uint64_t seed = 0;
    std::size_t psps = 0;
    std::size_t currencies = 0;
    std::size_t banks = 0;
    std::size_t venues = 0;
    bool replaced_old_ledger = false;
    // Account codes for the suggested fxledger commands.
    std::string example_nostro;
    std::string example_settlement;
    std::string example_psp_held;

    Outcomes deposits;
    Outcomes orders;
    Outcomes quotes;
    Outcomes payouts;
    std::uint64_t locked_payouts = 0;    // accepted at a quote's rate
    std::uint64_t unlocked_payouts = 0;  // accepted cross-currency, at the cycle's rate
    std::uint64_t internal_payouts = 0;  // accepted to another PSP
    std::uint64_t conversions = 0;       // ConversionExecuted
    std::uint64_t cycles = 0;            // CycleReport
    std::uint64_t obligations = 0;       // SettlementObligation
    std::uint64_t payment_orders = 0;
    std::uint64_t payment_lines = 0;
    std::uint64_t bank_confirmations = 0;  // sent by the simulated banks
    std::uint64_t line_rejections = 0;     // sent by the simulated banks
    std::uint64_t payouts_settled = 0;     // PayoutSettled
    std::uint64_t payouts_failed = 0;      // PayoutFailed
    std::uint64_t hedge_fills = 0;         // HedgeFilled
    std::uint64_t hold_backs = 0;
    std::uint64_t exposures = 0;           // ExposureReported
    std::uint64_t unexpected = 0;          // SettlementReplyRejected: a simulator bug
    std::vector<CurrencyDay> by_currency;  // currencies that settled or converted, by code
    std::vector<PairDay> by_pair;          // pairs with a trade or a hedge, config order

    std::uint64_t commands = 0;  // applied by the sequencer
    std::uint64_t events = 0;    // delivered from the outbox
    std::uint64_t commits = 0;   // ledger write transactions
    std::uint64_t accounts = 0;  // read back from the ledger after the day
    std::uint64_t entries = 0;
    std::vector<ledger::TrialBalanceRow> trial_balance;
    ledger::VerifyReport verify;
    std::array<std::uint8_t, 32> head_hash{};

    std::chrono::nanoseconds run_elapsed{};     // the day through the sequencer
    std::chrono::nanoseconds verify_elapsed{};  // read back, trial balance and verify()
    std::chrono::nanoseconds total_elapsed{};

    // Debits equal credits, posted and pending, in every currency of the trial balance.
    bool trial_balance_zero() const;
    // verify() passed, the trial balance is zero and no simulator reply was refused.
    bool sound() const { return verify.ok && trial_balance_zero() && unexpected == 0; }
};

// Runs the day described above for `config` on a new ledger at options.ledger_path
// (parent folders are created). An existing file there is removed first only when it is
// a ledger that carries kMarkerKey; anything else fails with kFailedPrecondition naming
// the path, and is left alone. Fails with a Status when the options are out of range
// (kInvalidArgument), the configuration lacks what the day needs (kFailedPrecondition:
// a PSP, bank, venue or pair the simulators use; a business date that is not a business
// day), the ledger cannot be opened or written, or the sequencer stops with an error.
// A failing verify() or trial balance is reported in the returned report (see sound()).
Result<DemoReport> run_demo(const config::Config& config, const DemoOptions& options);

// Prints the report for people: what this stage is, the commands and their outcomes,
// the cycles' figures (gross vs net, liquidity saving, payments before and after, the
// internal cross ratio), hedges, bank replies, the trial balance, verify(), timing, and
// the fxledger commands to try next. `fxledger` is how to invoke fxledger in them.
void print_report(const DemoReport& report, std::string_view fxledger, std::ostream& out);

// The program: parses --ledger, --seed and --payouts, loads the embedded default config,
// runs the day and prints the report. Returns 0 when everything succeeded and the ledger
// is sound, 1 when something failed or the ledger is not sound, 2 on a usage error.
int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace fxsettle::demo
