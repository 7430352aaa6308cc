// fxsettle-demo's library on a real ledger file in a temporary folder: a small day runs
// through the engine and the sequencer, every command gets its outcome, the cycles settle
// and the simulated venues and banks answer, the ledger balances per currency, verify()
// passes, the report's counts are what the ledger holds, a seed always writes the same
// ledger, and the demo replaces only its own file.
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

TEST(DemoTest, SmallDayRunsThroughTheEngineAndTheLedgerIsSound) {
    TempDir dir;
    ASSERT_FALSE(dir.path().empty());
    const config::Config config = default_config();
    const auto path = dir.path() / "var" / "demo.mdb";  // the parent folder is created
    auto report = run_demo(config, small_day(path));
    ASSERT_TRUE(report.has_value()) << report.error().to_string();
    const DemoReport& r = *report;

    EXPECT_FALSE(r.replaced_old_ledger);
    EXPECT_EQ(r.psps, 5u);
    EXPECT_GE(r.currencies, 10u);

    // Every command of the simulated PSPs got its outcome.
    for (const Outcomes* o : {&r.deposits, &r.orders, &r.quotes, &r.payouts}) {
        EXPECT_GT(o->submitted, 0u);
        EXPECT_EQ(o->accepted + o->rejected, o->submitted);
    }
    EXPECT_EQ(r.payouts.submitted, kPayouts);
    EXPECT_EQ(r.deposits.rejected, 0u);
    EXPECT_EQ(r.quotes.rejected, 0u);
    EXPECT_GT(r.locked_payouts, 0u);
    EXPECT_GT(r.unlocked_payouts, 0u);
    EXPECT_GT(r.internal_payouts, 0u);

    // The cycles settled everything accepted (every value date is the business day), the
    // venues filled every hedge and the banks answered every payment order.
    EXPECT_GE(r.cycles, 5u);
    EXPECT_GT(r.conversions, 0u);
    EXPECT_GT(r.obligations, 0u);
    EXPECT_GT(r.payment_orders, 0u);
    EXPECT_EQ(r.bank_confirmations, r.payment_orders);
    EXPECT_EQ(r.payouts_failed, r.line_rejections);
    EXPECT_EQ(r.payouts_settled + r.payouts_failed, r.payouts.accepted);
    EXPECT_EQ(r.hold_backs, 0u);
    EXPECT_EQ(r.exposures, 0u);
    EXPECT_EQ(r.unexpected, 0u);
    bool hedged = false;
    bool traded = false;
    for (const PairDay& p : r.by_pair) {
        EXPECT_EQ(p.filled_base, p.hedged_base) << p.pair.to_string();
        hedged = hedged || p.hedge_orders > 0;
        traded = traded || p.trades > 0;
    }
    EXPECT_TRUE(hedged);
    EXPECT_TRUE(traded);
    bool saved = false;
    ASSERT_FALSE(r.by_currency.empty());
    for (const CurrencyDay& d : r.by_currency) {
        EXPECT_LE(d.net, d.gross) << d.currency.to_string();
        EXPECT_LE(d.payments_after, d.payments_before) << d.currency.to_string();
        EXPECT_LE(d.fx_crossed, d.fx_volume) << d.currency.to_string();
        saved = saved || d.net < d.gross;
    }
    EXPECT_TRUE(saved) << "netting saved nothing in any currency";

    // The trial balance is zero in every currency, and verify() passes over everything.
    ASSERT_EQ(r.trial_balance.size(), r.currencies);
    for (const ledger::TrialBalanceRow& row : r.trial_balance) {
        EXPECT_EQ(row.debits_posted, row.credits_posted) << row.currency.to_string();
        EXPECT_EQ(row.debits_pending, row.credits_pending) << row.currency.to_string();
    }
    EXPECT_TRUE(r.trial_balance_zero());
    EXPECT_TRUE(r.verify.ok) << r.verify.failure;
    EXPECT_EQ(r.verify.entries_checked, r.entries);
    EXPECT_EQ(r.verify.accounts_checked, r.accounts);
    EXPECT_TRUE(r.sound());
    EXPECT_GT(r.commits, 5u);
    EXPECT_GT(r.events, r.commands);

    // The counts reported are what the file holds, read back independently.
    auto ledger = open_read_only(path);
    ASSERT_NE(ledger, nullptr);
    auto view = ledger->read();
    ASSERT_TRUE(view.has_value());
    auto info = (*view)->info();
    ASSERT_TRUE(info.has_value());
    EXPECT_EQ(info->last_sequence, r.entries);
    EXPECT_EQ(info->accounts, r.accounts);
    EXPECT_EQ(info->head_hash, r.head_hash);
    auto chart = engine::Chart::build(config);
    ASSERT_TRUE(chart.has_value());
    auto accounts = (*view)->accounts();
    ASSERT_TRUE(accounts.has_value());
    EXPECT_EQ(accounts->size(), chart->accounts().size());
    EXPECT_EQ(accounts->size(), r.accounts);
    auto marker = (*view)->aux_get(ledger::AuxTable::kState, kMarkerKey);
    ASSERT_TRUE(marker.has_value());
    EXPECT_TRUE(marker->has_value());

    // Stamped with the simulated clock, inside the business day.
    auto all = (*view)->entries_by_sequence(1, info->last_sequence, 1'000'000);
    ASSERT_TRUE(all.has_value());
    ASSERT_EQ(all->size(), r.entries);
    const ledger::Timestamp day_start(std::chrono::sys_days(DemoOptions{}.business_date));
    for (const ledger::Entry& entry : *all) {
        EXPECT_GE(entry.timestamp, day_start);
        EXPECT_LT(entry.timestamp, day_start + std::chrono::hours(24));
    }

    // Every payment order was answered: nothing stays in transit at a bank.
    for (engine::CurrencyIndex c = 0; c < chart->currencies().size(); ++c) {
        for (engine::BankIndex b = 0; b < chart->bank_count(); ++b) {
            if (!chart->bank_serves(b, c))
                continue;
            auto transit = (*view)->balance(chart->settlement(b, c));
            ASSERT_TRUE(transit.has_value());
            EXPECT_TRUE(transit->posted(ledger::Side::kDebit).is_zero())
                << chart->bank_id(b) << " settlement " << chart->currency(c).to_string();
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
         {"engine stage", "later issues", "Commands from the simulated PSPs", "liquidity saving",
          "Banks:", "Trial balance", "every currency sums to zero", "verify   OK",
          "fxledger --ledger", "trial-balance"}) {
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
