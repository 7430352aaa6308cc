// fxsettle-demo's library on a real ledger file in a temporary folder: a small day books
// with every batch succeeding, the ledger balances per currency, verify() passes, the
// report's counts are what the ledger holds, a seed always writes the same ledger, and
// the demo replaces only its own file.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "config/config.h"
#include "engine/chart/chart.h"
#include "ledger/ledger.h"
#include "tools/demo/demo.h"

namespace fxsettle::demo {
namespace {

constexpr std::uint32_t kPayouts = 400;
constexpr std::uint64_t kSeed = 7;

class TempDir {
  public:
    TempDir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "demo-test-XXXXXX").string();
        if (mkdtemp(tmpl.data()) != nullptr)
            path_ = tmpl;
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        if (path_.empty() || std::getenv("FXSETTLE_KEEP_TEST_FILES") != nullptr)
            return;
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

config::Config default_config() {
    auto config = config::load_default_config();
    EXPECT_TRUE(config.has_value()) << config.error().to_string();
    return *config;
}

DemoOptions small_day(const std::filesystem::path& ledger_path, std::uint64_t seed = kSeed) {
    DemoOptions options;
    options.ledger_path = ledger_path;
    options.seed = seed;
    options.payouts = kPayouts;
    return options;
}

std::unique_ptr<ledger::Ledger> open_read_only(const std::filesystem::path& path) {
    ledger::OpenOptions open;
    open.path = path;
    open.create_if_missing = false;
    open.read_only = true;
    auto ledger = ledger::Ledger::open(open);
    EXPECT_TRUE(ledger.has_value()) << ledger.error().to_string();
    return ledger ? std::move(*ledger) : nullptr;
}

TEST(DemoTest, SmallDayBooksEveryBatchAndTheLedgerIsSound) {
    TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    const config::Config config = default_config();
    const auto path = dir.path() / "var" / "demo.mdb";  // the parent folder is created
    auto report = run_demo(config, small_day(path));
    ASSERT_TRUE(report.has_value()) << report.error().to_string();

    EXPECT_FALSE(report->replaced_old_ledger);
    EXPECT_EQ(report->payouts, kPayouts);
    EXPECT_EQ(report->psps, 5u);
    EXPECT_GE(report->currencies, 10u);
    ASSERT_GE(report->batches.size(), 5u);
    std::uint64_t operations = 0;
    std::uint64_t entries = 0;
    for (const BatchSummary& batch : report->batches) {
        EXPECT_GT(batch.operations, 0u) << batch.label;
        EXPECT_EQ(batch.succeeded, batch.operations) << batch.label;
        operations += batch.operations;
        entries += batch.entries;
    }
    EXPECT_EQ(operations, report->operations);
    EXPECT_EQ(entries, report->entries);

    // Every stage happened, and the stages add up to the entries.
    std::uint64_t by_stage = 0;
    for (std::size_t s = 1; s <= kStageCount; ++s) {
        const auto stage = static_cast<Stage>(s);
        EXPECT_GT(report->stage_entries(stage), 0u) << stage_name(stage);
        by_stage += report->stage_entries(stage);
    }
    EXPECT_EQ(by_stage, report->entries);
    EXPECT_EQ(report->stage_entries(Stage::kPayoutHold), kPayouts);
    EXPECT_EQ(report->stage_entries(Stage::kFxConversion), report->cross_currency_payouts);

    // The trial balance is zero in every currency, and verify() passes over everything.
    ASSERT_EQ(report->trial_balance.size(), report->currencies);
    for (const ledger::TrialBalanceRow& row : report->trial_balance) {
        EXPECT_EQ(row.debits_posted, row.credits_posted) << row.currency.to_string();
        EXPECT_EQ(row.debits_pending, row.credits_pending) << row.currency.to_string();
        EXPECT_TRUE(row.debits_posted.is_positive()) << row.currency.to_string();
    }
    EXPECT_TRUE(report->trial_balance_zero());
    EXPECT_TRUE(report->verify.ok) << report->verify.failure;
    EXPECT_EQ(report->verify.entries_checked, report->entries);
    EXPECT_EQ(report->verify.accounts_checked, report->accounts);
    EXPECT_TRUE(report->sound());

    // The counts reported are what the file holds, read back independently.
    auto ledger = open_read_only(path);
    ASSERT_NE(ledger, nullptr);
    auto view = ledger->read();
    ASSERT_TRUE(view.has_value());
    auto info = (*view)->info();
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->last_sequence, report->entries);
    EXPECT_EQ(info->accounts, report->accounts);
    EXPECT_EQ(info->head_hash, report->head_hash);
    auto chart = engine::Chart::build(config);
    ASSERT_TRUE(chart.has_value());
    auto accounts = (*view)->accounts();
    ASSERT_TRUE(accounts.has_value());
    EXPECT_EQ(accounts->size(), chart->accounts().size());
    EXPECT_EQ(accounts->size(), report->accounts);
    auto marker = (*view)->aux_get(ledger::AuxTable::kState, kMarkerKey);
    ASSERT_TRUE(marker.has_value());
    EXPECT_TRUE(marker->has_value());

    auto all = (*view)->entries_by_sequence(1, info->last_sequence, 1'000'000);
    ASSERT_TRUE(all.has_value());
    ASSERT_EQ(all->size(), report->entries);
    std::uint64_t stage_counts[kStageCount] = {};
    const ledger::Timestamp day_start(std::chrono::sys_days(DemoOptions{}.business_date));
    // Per payout currency, from the ledger: what the PSPs' payment orders took from held,
    // what the banks confirmed, what they returned.
    std::map<money::Currency, money::Amount> ordered, confirmed, returned;
    for (const ledger::Entry& entry : *all) {
        ASSERT_GE(entry.id.hi, 1u);
        ASSERT_LE(entry.id.hi, kStageCount);
        ++stage_counts[entry.id.hi - 1];
        // Stamped with the simulated clock, inside the business day.
        EXPECT_GE(entry.timestamp, day_start);
        EXPECT_LT(entry.timestamp, day_start + std::chrono::hours(24));
        const auto stage = static_cast<Stage>(entry.id.hi);
        for (const ledger::Posting& posting : entry.postings) {
            if (posting.side != ledger::Side::kDebit)
                continue;
            if (stage == Stage::kSettlement)
                ordered[posting.amount.currency] += posting.amount.amount;
            if (stage == Stage::kConfirmation)
                confirmed[posting.amount.currency] += posting.amount.amount;
            if (stage == Stage::kRejection)
                returned[posting.amount.currency] += posting.amount.amount;
        }
    }
    for (std::size_t s = 0; s < kStageCount; ++s)
        EXPECT_EQ(stage_counts[s], report->entries_by_stage[s]) << s;

    std::uint64_t payouts = 0;
    std::uint64_t rejected = 0;
    for (const CurrencyPayouts& row : report->payouts_by_currency) {
        const std::string code = row.currency.to_string();
        payouts += row.payouts;
        rejected += row.rejected;
        EXPECT_EQ(ordered[row.currency], row.gross) << code;
        EXPECT_EQ(confirmed[row.currency], row.confirmed) << code;
        EXPECT_EQ(returned[row.currency], row.rejected_amount) << code;
        EXPECT_EQ(row.confirmed + row.rejected_amount, row.gross) << code;
    }
    EXPECT_EQ(payouts, kPayouts);
    EXPECT_EQ(rejected, report->stage_entries(Stage::kRejection));

    // At the end of the day every payout is settled: nothing stays held or in transit.
    for (engine::CurrencyIndex c = 0; c < chart->currencies().size(); ++c) {
        for (engine::PspIndex p = 0; p < chart->psp_count(); ++p) {
            auto held = (*view)->balance(chart->psp_held(p, c));
            ASSERT_TRUE(held.has_value());
            EXPECT_TRUE(held->posted(ledger::Side::kCredit).is_zero())
                << chart->psp_id(p) << " held " << chart->currency(c).to_string();
        }
        for (engine::BankIndex b = 0; b < chart->bank_count(); ++b) {
            if (!chart->bank_serves(b, c))
                continue;
            auto transit = (*view)->balance(chart->settlement(b, c));
            ASSERT_TRUE(transit.has_value());
            EXPECT_TRUE(transit->posted(ledger::Side::kDebit).is_zero())
                << chart->bank_id(b) << " settlement " << chart->currency(c).to_string();
            auto nostro = (*view)->balance(chart->nostro(b, c));
            ASSERT_TRUE(nostro.has_value());
            EXPECT_TRUE(nostro->posted(ledger::Side::kDebit).is_positive())
                << chart->bank_id(b) << " nostro " << chart->currency(c).to_string();
        }
    }
}

TEST(DemoTest, ASeedAlwaysWritesTheSameLedger) {
    TempDir dir;
    const config::Config config = default_config();
    auto first = run_demo(config, small_day(dir.path() / "a.mdb"));
    auto again = run_demo(config, small_day(dir.path() / "b.mdb"));
    auto other = run_demo(config, small_day(dir.path() / "c.mdb", kSeed + 1));
    ASSERT_TRUE(first.has_value()) << first.error().to_string();
    ASSERT_TRUE(again.has_value()) << again.error().to_string();
    ASSERT_TRUE(other.has_value()) << other.error().to_string();
    EXPECT_EQ(first->head_hash, again->head_hash);
    EXPECT_EQ(first->entries, again->entries);
    EXPECT_NE(first->head_hash, other->head_hash);
}

TEST(DemoTest, ReplacesItsOwnLedgerAndNothingElse) {
    TempDir dir;
    const config::Config config = default_config();
    const auto path = dir.path() / "demo.mdb";
    auto first = run_demo(config, small_day(path));
    ASSERT_TRUE(first.has_value()) << first.error().to_string();
    auto second = run_demo(config, small_day(path, kSeed + 1));
    ASSERT_TRUE(second.has_value()) << second.error().to_string();
    EXPECT_TRUE(second->replaced_old_ledger);
    EXPECT_TRUE(second->sound());
    {
        auto ledger = open_read_only(path);
        ASSERT_NE(ledger, nullptr);
        auto view = ledger->read();
        ASSERT_TRUE(view.has_value());
        auto info = (*view)->info();
        ASSERT_TRUE(info.has_value());
        EXPECT_EQ(info->last_sequence, second->entries);  // only the second day
        EXPECT_EQ(info->head_hash, second->head_hash);
    }

    // A file that is not a ledger, and a ledger the demo did not write, stay untouched.
    const auto text = dir.path() / "notes.mdb";
    std::ofstream(text) << "not a ledger\n";
    auto refused = run_demo(config, small_day(text));
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(refused.error().message().find("not a ledger written by fxsettle-demo"),
              std::string::npos)
        << refused.error().message();
    std::ifstream in(text);
    EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "not a ledger\n");

    const auto foreign = dir.path() / "foreign.mdb";
    {
        ledger::OpenOptions open;
        open.path = foreign;
        auto ledger = ledger::Ledger::open(open);
        ASSERT_TRUE(ledger.has_value()) << ledger.error().to_string();
    }
    auto refused_ledger = run_demo(config, small_day(foreign));
    ASSERT_FALSE(refused_ledger.has_value());
    EXPECT_NE(refused_ledger.error().message().find("no demo marker"), std::string::npos)
        << refused_ledger.error().message();
    EXPECT_TRUE(std::filesystem::exists(foreign));
}

TEST(DemoTest, ProgramPrintsTheReportAndExitsZero) {
    TempDir dir;
    const std::string ledger = (dir.path() / "cli.mdb").string();
    const char* argv[] = {"fxsettle-demo", "--ledger", ledger.c_str(), "--seed", "3",
                          "--payouts",     "150"};
    std::ostringstream out, err;
    EXPECT_EQ(run(static_cast<int>(std::size(argv)), argv, out, err), 0) << err.str();
    const std::string text = out.str();
    for (const char* expected :
         {"ledger stage", "not built yet", "Trial balance", "every currency sums to zero",
          "verify   OK", "Payouts by currency", "fxledger --ledger", "trial-balance"}) {
        EXPECT_NE(text.find(expected), std::string::npos) << expected << "\n" << text;
    }
    EXPECT_TRUE(err.str().empty()) << err.str();
}

TEST(DemoTest, ProgramRejectsBadArgumentsAndForeignFiles) {
    TempDir dir;
    std::ostringstream out, err;
    const char* zero[] = {"fxsettle-demo", "--payouts", "0"};
    EXPECT_EQ(run(3, zero, out, err), 2);
    const char* unknown[] = {"fxsettle-demo", "--bogus"};
    EXPECT_EQ(run(2, unknown, out, err), 2);

    const std::string text = (dir.path() / "x.mdb").string();
    std::ofstream(text) << "mine\n";
    const char* foreign[] = {"fxsettle-demo", "--ledger", text.c_str(), "--payouts", "10"};
    std::ostringstream err2;
    EXPECT_EQ(run(5, foreign, out, err2), 1);
    EXPECT_NE(err2.str().find("leaves it alone"), std::string::npos) << err2.str();
}

}  // namespace
}  // namespace fxsettle::demo
