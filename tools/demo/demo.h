// fxsettle-demo, ledger stage: books a seeded, realistic business day of the default
// configuration straight into a fresh LMDB ledger and reports what it wrote.
//
// This is the stage of the demo that exists while the engine is being written: there is
// no sequencer, order book, netting, daemon or FIX yet, so the day's commands are turned
// into ledger operations here, the way the engine will turn them later. The full demo
// (fxsettled with the PSP, venue and bank FIX simulators) replaces it (issue 6).
//
// The day (all times UTC, on DemoOptions::business_date):
//   00:00:00  the chart of accounts (engine/chart) in one batch
//   00:00:10  opening balances: house equity funds every bank nostro (Dr nostro, Cr equity)
//   00:00:30  PSP pay-ins, the marketplaces' remittances (Dr bank nostro, Cr PSP available)
//   00:01 ..  payout intake, in batches: each payout moves its funds from the PSP's
//             available to its held account, and a payout in another currency converts
//             them at a locked quote from held to held (one FX entry through the house
//             fx_position accounts, rounding residue to the house rounding account); the
//             hold and the conversion are one linked chain
//   each configured cut-off of a currency: per PSP, the held funds of the payouts due
//             move to the bank's settlement account (one payment order per PSP)
//   cut-off + 20 min: the bank confirms (Dr settlement, Cr nostro), except a few payouts it
//             rejects, whose funds go back to the PSP (Dr settlement, Cr PSP available)
// Every amount is an exact integer of minor units and every choice comes from one seeded
// generator, and entries are stamped with the simulated clock, so a seed always writes
// the same ledger (the same head hash).
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
// Payouts per intake batch: each is at most two linked operations (hold, conversion).
inline constexpr std::uint32_t kPayoutsPerBatchMax = 256;
static_assert(2 * kPayoutsPerBatchMax <= ledger::kBatchOperationsMax,
              "an intake batch must fit one ledger commit");

// The engine-state key that marks a ledger file as the demo's own: the demo replaces an
// existing file only when it carries this key.
inline constexpr std::string_view kMarkerKey = "fxsettle-demo/marker";

struct DemoOptions {
    std::filesystem::path ledger_path{std::string(kDefaultLedgerPath)};
    std::uint64_t seed = kDefaultSeed;
    std::uint32_t payouts = kDefaultPayouts;  // 1..kPayoutsMax
    std::chrono::year_month_day business_date{std::chrono::year{2026}, std::chrono::November,
                                              std::chrono::day{23}};
};

// What one business step of the day wrote. Each entry of the ledger belongs to exactly
// one; the stage is also the `hi` half of the entry's id (lo counts from 1).
enum class Stage : std::uint8_t {
    kOpening = 1,       // house equity -> bank nostro
    kPayIn = 2,         // bank nostro <- PSP available
    kPayoutHold = 3,    // PSP available -> PSP held
    kFxConversion = 4,  // PSP held (source) -> PSP held (payout currency)
    kSettlement = 5,    // PSP held -> bank settlement, at a cut-off
    kConfirmation = 6,  // bank settlement -> nostro
    kRejection = 7,     // bank settlement -> PSP available
};
inline constexpr std::size_t kStageCount = 7;
std::string_view stage_name(Stage stage) noexcept;  // "pay-ins", ...

// One ledger commit (one write transaction, one fsync).
struct BatchSummary {
    std::string label;  // "payout intake 3", "cut-off 08:00 CNY SGD", ...
    ledger::Timestamp at{};
    std::size_t operations = 0;
    std::size_t succeeded = 0;  // operations whose outcome is_success()
    std::size_t entries = 0;    // journal entries it wrote
};

// Payouts paid in one currency over the day.
struct CurrencyPayouts {
    money::Currency currency;
    std::uint64_t payouts = 0;
    money::Amount gross;  // every payout in this currency, rejected ones included
    std::uint64_t rejected = 0;
    money::Amount rejected_amount;
    money::Amount confirmed;           // gross - rejected_amount: paid by the bank
    std::uint64_t payment_orders = 0;  // settlement entries (one per PSP and cut-off)
    std::string bank;                  // the bank that pays it (config banks[].id)
};

struct DemoReport {
    std::filesystem::path ledger_path;
    std::string config_source;
    std::string business_date;  // "2026-11-23"
    std::uint64_t seed = 0;
    std::size_t psps = 0;
    std::size_t currencies = 0;
    std::size_t banks = 0;
    std::string day_after;  // "2026-11-24": the end of the day's statements
    // Account codes for the suggested fxledger commands: the nostro and settlement account
    // of the currency with the most payouts, and the first PSP's held account in it.
    std::string example_nostro;
    std::string example_settlement;
    std::string example_psp_held;
    bool replaced_old_ledger = false;

    std::uint64_t accounts = 0;    // read back from the ledger after the day
    std::uint64_t entries = 0;     // entries booked; equal to the ledger's last sequence
    std::uint64_t operations = 0;  // operations committed, account creations included
    std::vector<BatchSummary> batches;
    std::uint64_t entries_by_stage[kStageCount] = {};  // index: Stage value - 1
    std::uint64_t payouts = 0;
    std::uint64_t cross_currency_payouts = 0;
    std::vector<CurrencyPayouts> payouts_by_currency;  // ordered by code
    std::vector<ledger::TrialBalanceRow> trial_balance;
    ledger::VerifyReport verify;
    std::array<std::uint8_t, 32> head_hash{};

    std::chrono::nanoseconds book_elapsed{};    // open, plan and every commit
    std::chrono::nanoseconds verify_elapsed{};  // read back, trial balance and verify()
    std::chrono::nanoseconds total_elapsed{};

    std::uint64_t stage_entries(Stage stage) const {
        return entries_by_stage[static_cast<std::size_t>(stage) - 1];
    }
    // Debits equal credits, posted and pending, in every currency of the trial balance.
    bool trial_balance_zero() const;
    // verify() passed and the trial balance is zero.
    bool sound() const { return verify.ok && trial_balance_zero(); }
};

// Books the day described above for `config` into a new ledger at options.ledger_path
// (parent folders are created). An existing file there is removed first only when it is
// a ledger that carries kMarkerKey; anything else fails with kFailedPrecondition naming
// the path, and is left alone. Fails with a Status when the options are out of range
// (kInvalidArgument), the configuration lacks what the day needs (kFailedPrecondition:
// no PSP, no bank for a currency, no reference rate for a currency), the ledger cannot
// be opened or written, or any operation of any batch is rejected (kInternal, naming the
// batch, the operation's reference, the outcome and its detail): every operation of a
// successful run succeeded. A failing verify() or trial balance is reported in the
// returned report (see sound()), not as a Status.
Result<DemoReport> run_demo(const config::Config& config, const DemoOptions& options);

// Prints the report for people: what this stage is, what it booked, the payouts per
// currency, the trial balance, verify(), timing, and the fxledger commands to try next.
// `fxledger` is how to invoke fxledger in those commands.
void print_report(const DemoReport& report, std::string_view fxledger, std::ostream& out);

// The program: parses --ledger, --seed and --payouts, loads the embedded default config,
// runs the day and prints the report. Returns 0 when everything succeeded and the ledger
// is sound, 1 when an operation failed or the ledger is not sound, 2 on a usage error.
int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace fxsettle::demo
