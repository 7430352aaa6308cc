// fxsettle-demo end to end at small scale: fxsettled runs as a child process on an
// accelerated clock, five simulated PSPs send 2,000 requests over FIX, the venue and bank
// simulators answer, the day's cut-offs settle everything; then the report's checks
// (clean SIGTERM stop, zero trial balance, verify, fxledger verify, every camt.053
// reconciled, the command log replayed, every payout final) must all pass and its figures
// must agree with what the simulators saw.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "tools/demo/demo.h"

namespace fxsettle::demo {
namespace {

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

DemoOptions small_day(const std::filesystem::path& dir) {
    DemoOptions o;
    o.dir = dir / "run";
    o.instructions = 2'000;
    o.rate_per_s = 1'000;
    o.clock_rate = 2'000;  // the day's 22 cut-offs in about 40 s
    // The PSPs' first answers can take several real seconds (logons, the venues' first
    // rates), which at x2000 is hours of engine time: keep intake open until 10:00 so the
    // 2,000 requests go out on a loaded machine too.
    o.intake_close = std::chrono::hours(10);
    o.fxsettled = FXSETTLED_BIN;
    o.fxledger = FXLEDGER_BIN;
    o.deadline = std::chrono::seconds(400);
    return o;
}

TEST(DemoTest, SmallDayOverFixWithTheDaemonSettlesAndEveryCheckPasses) {
    TempDir tmp;
    ASSERT_FALSE(tmp.path().empty());
    const DemoOptions options = small_day(tmp.path());
    std::ostringstream progress;
    auto report = run_demo(options, progress);
    ASSERT_TRUE(report.has_value()) << report.error().to_string() << "\nprogress:\n"
                                    << progress.str();
    std::ostringstream printed;
    print_report(*report, options, printed);
    for (const CheckResult& c : report->checks)
        EXPECT_TRUE(c.ok) << c.name << ": " << c.detail;
    EXPECT_TRUE(report->ok()) << printed.str();
    EXPECT_GT(report->sent, 0u);
    EXPECT_LE(report->sent, options.instructions);

    // What the engine did, as the replay counts it, agrees with what the PSPs heard.
    EXPECT_GT(report->payouts.accepted, 0u);
    EXPECT_GE(report->u2_accepted, report->payouts.accepted) << "accepted payouts PSPs missed";
    EXPECT_EQ(report->payouts_settled + report->payouts_failed, report->payouts.accepted);
    EXPECT_GT(report->orders.accepted, 0u);
    EXPECT_GT(report->quotes.accepted, 0u);
    EXPECT_GT(report->locked_payouts, 0u) << "payouts at a quoted rate";
    EXPECT_GT(report->internal_payouts, 0u) << "payouts to another PSP";
    EXPECT_GE(report->cycles, 2u) << "at least two cut-offs";
    EXPECT_GT(report->obligations, 0u);
    EXPECT_GT(report->payment_orders, 0u);
    EXPECT_EQ(report->bank_orders, report->payment_orders)
        << "the bank simulators took every payment order once";
    EXPECT_EQ(report->bank_lines_confirmed + report->bank_lines_rejected, report->payment_lines);
    EXPECT_FALSE(report->trial_balance.empty());
    EXPECT_FALSE(report->reconciled.empty()) << "no statement was reconciled";

    // Netting: some currency settled with fewer payments than obligations.
    bool netted = false;
    for (const CurrencyDay& d : report->by_currency)
        netted = netted || (d.payments_after < d.payments_before);
    EXPECT_TRUE(netted) << printed.str();

    // The printed report names its checks, files and next commands.
    const std::string text = printed.str();
    EXPECT_NE(text.find("every check passed"), std::string::npos) << text;
    EXPECT_NE(text.find("fxledger reconcile"), std::string::npos);
    EXPECT_NE(text.find(report->ledger_path.string()), std::string::npos);
    EXPECT_TRUE(std::filesystem::exists(report->ledger_path));
    EXPECT_TRUE(std::filesystem::exists(report->metrics_path));
}

TEST(DemoTest, MissingDaemonBinaryIsAClearError) {
    TempDir tmp;
    DemoOptions options = small_day(tmp.path());
    options.fxsettled = tmp.path() / "no-such-fxsettled";
    std::ostringstream progress;
    auto report = run_demo(options, progress);
    ASSERT_FALSE(report.has_value());
    EXPECT_NE(report.error().message().find("no-such-fxsettled"), std::string::npos)
        << report.error().to_string();
}

TEST(DemoTest, ARunDirectoryWithALedgerIsNotReused) {
    TempDir tmp;
    DemoOptions options = small_day(tmp.path());
    std::filesystem::create_directories(options.dir);
    { std::ofstream(options.dir / "ledger.lmdb") << "x"; }
    std::ostringstream progress;
    auto report = run_demo(options, progress);
    ASSERT_FALSE(report.has_value());
    EXPECT_NE(report.error().message().find("holds a ledger already"), std::string::npos)
        << report.error().to_string();
}

}  // namespace
}  // namespace fxsettle::demo
