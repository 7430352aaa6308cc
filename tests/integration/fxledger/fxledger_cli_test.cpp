// fxledger's read commands and exit codes, run as a user would: the real binary through
// popen on a ledger file built through the ledger API.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/integration/fxledger/fxledger_test_support.h"

namespace fxsettle::fxledger::testing {
namespace {

using ::testing::HasSubstr;

TEST(FxledgerCli, HelpDocumentsEveryCommandAndExitCode) {
    const RunResult r = fxledger({"--help"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    for (const char* word :
         {"accounts", "balance", "statement", "trial-balance", "entries", "show", "export",
          "verify", "backup", "reconcile", "FXLEDGER_LEDGER", "Exit codes", "0  OK", "1  verify",
          "2  usage", "3  the ledger", "4  not found", "5  internal"}) {
        EXPECT_THAT(r.out, HasSubstr(word));
    }
    const RunResult sub = fxledger({"reconcile", "--help"});
    EXPECT_EQ(sub.exit_code, 0);
    EXPECT_THAT(sub.out, HasSubstr("date,reference,amount,currency[,direction]"));
}

TEST(FxledgerCli, UsageErrorsExitTwoWithOneLine) {
    ASSERT_FALSE(fixture().ledger.empty());
    for (const auto& args : std::vector<std::vector<std::string>>{
             {"frobnicate"},
             {},
             {"balance", "--at", "yesterday", "PSP1/available/USD"},
             {"accounts", "--format", "xml"},
             {"export", "--format", "ods"},
             {"entries", "--from", "2026-13-01"},
             {"show", "not-hex"},
         }) {
        std::vector<std::string> full = {"--ledger", fixture().ledger.string()};
        full.insert(full.end(), args.begin(), args.end());
        const RunResult r = fxledger(full);
        EXPECT_EQ(r.exit_code, 2) << describe(r);
        EXPECT_EQ(count_lines(r.err), 1u) << describe(r);
        EXPECT_THAT(r.err, HasSubstr("fxledger: "));
        EXPECT_TRUE(r.out.empty()) << describe(r);
    }
    const RunResult unknown = on_fixture({"frobnicate"});
    EXPECT_THAT(unknown.err, HasSubstr("unknown command 'frobnicate'"));
    const RunResult version = fxledger({"--version"});
    EXPECT_EQ(version.exit_code, 0);
    EXPECT_EQ(version.out, "fxledger 0.1.0\n");
    const RunResult no_ledger = fxledger({"accounts"}, "env -u FXLEDGER_LEDGER");
    EXPECT_EQ(no_ledger.exit_code, 2) << describe(no_ledger);
    EXPECT_THAT(no_ledger.err, HasSubstr("--ledger"));
    const RunResult bad_time = on_fixture({"entries", "--from", "2026-11-23T10:00:00"});
    EXPECT_EQ(bad_time.exit_code, 2);
    EXPECT_THAT(bad_time.err, HasSubstr("time zone"));
}

TEST(FxledgerCli, LedgerThatCannotBeOpenedExitsThree) {
    TempDir dir("fxledger-open");
    const auto missing = dir.path() / "nope.lmdb";
    RunResult r = fxledger({"--ledger", missing.string(), "accounts"});
    EXPECT_EQ(r.exit_code, 3) << describe(r);
    EXPECT_THAT(r.err, HasSubstr(missing.string()));
    EXPECT_THAT(r.err, HasSubstr("does not exist"));
    EXPECT_EQ(count_lines(r.err), 1u);
    EXPECT_FALSE(std::filesystem::exists(missing)) << "a read-only open must not create";

    const auto junk = dir.path() / "junk.lmdb";
    write_text(junk, std::string(64 * 1024, 'x'));
    r = fxledger({"--ledger", junk.string(), "verify"});
    EXPECT_EQ(r.exit_code, 3) << describe(r);
    EXPECT_THAT(r.err, HasSubstr("cannot open ledger"));
}

TEST(FxledgerCli, NotFoundExitsFour) {
    RunResult r = on_fixture({"balance", "PSP9/available/USD"});
    EXPECT_EQ(r.exit_code, 4) << describe(r);
    EXPECT_THAT(r.err, HasSubstr("PSP9/available/USD"));
    r = on_fixture({"show", "#999"});
    EXPECT_EQ(r.exit_code, 4) << describe(r);
    EXPECT_THAT(r.err, HasSubstr("#999"));
    r = on_fixture({"show", "abcdef"});
    EXPECT_EQ(r.exit_code, 4) << describe(r);
    r = on_fixture({"statement", "ffff"});
    EXPECT_EQ(r.exit_code, 4) << describe(r);
}

TEST(FxledgerCli, AccountsInEveryFormat) {
    RunResult r = on_fixture({"accounts"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_THAT(r.out, HasSubstr("BANK-A/nostro/USD"));
    EXPECT_THAT(r.out, HasSubstr("950.50"));
    EXPECT_THAT(r.out, HasSubstr("12.345"));
    EXPECT_THAT(r.out, HasSubstr("175247"));  // JPY: 0 decimals, open hold of 5000 pending
    EXPECT_THAT(r.out, HasSubstr("no_negative"));

    r = on_fixture({"accounts", "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(r.out.substr(0, r.out.find('\n')),
              "id,code,owner,currency,kind,normal_side,flags,posted,available,name");
    EXPECT_EQ(count_lines(r.out), 11u);
    EXPECT_THAT(r.out, HasSubstr(",BANK-C/nostro/KWD,BANK-C,KWD,nostro,debit,,12.345,12.345,"));

    r = on_fixture({"accounts", "--format", "json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const auto j = parse_json(r);
    ASSERT_TRUE(j.is_array());
    ASSERT_EQ(j.size(), 10u);
    bool seen = false;
    for (const auto& a : j) {
        EXPECT_TRUE(a["posted"].is_string()) << a.dump();
        if (a["code"] == "PSP1/available/JPY") {
            seen = true;
            EXPECT_EQ(a["posted"], "180247");
            EXPECT_EQ(a["available"], "175247");
            EXPECT_EQ(a["kind"], "psp_available");
        }
    }
    EXPECT_TRUE(seen);
}

TEST(FxledgerCli, BalanceNowAtASequenceAndAtATime) {
    RunResult r = on_fixture({"balance", "BANK-A/nostro/USD"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_THAT(r.out, HasSubstr("posted:"));
    EXPECT_THAT(r.out, HasSubstr("950.50"));

    r = on_fixture({"balance", "BANK-A/nostro/USD", "--at", "#1", "--format", "json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    auto j = parse_json(r);
    EXPECT_EQ(j["posted"], "1000.00");
    EXPECT_EQ(j["at_sequence"], 1);
    EXPECT_EQ(j["currency"], "USD");

    // Plain integer sequence; a hex id instead of the code.
    const std::string id = acc(kBankAUsdNostro).to_hex();
    r = on_fixture({"balance", id, "--at", "4", "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_THAT(r.out, HasSubstr("1250.50"));
    EXPECT_THAT(r.out.substr(0, r.out.find('\n')), HasSubstr("account,id,owner,currency,kind"));
    EXPECT_EQ(count_lines(r.out), 2u);

    // At 09:03:30Z: pay-ins 1..3 are written, the second USD one is not.
    r = on_fixture(
        {"balance", "BANK-A/nostro/USD", "--at", "2026-11-23T09:03:30Z", "--format", "json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    j = parse_json(r);
    EXPECT_EQ(j["posted"], "1000.00");
    EXPECT_EQ(j["at_time"], "2026-11-23T09:03:30Z");

    // Pending amounts: the open JPY hold.
    r = on_fixture({"balance", "PSP1/available/JPY", "--format", "json"});
    j = parse_json(r);
    EXPECT_EQ(j["posted"], "180247");
    EXPECT_EQ(j["available"], "175247");
    EXPECT_EQ(j["debits_pending"], "5000");

    // The ledger path from the environment.
    r = fxledger({"balance", "BANK-C/nostro/KWD", "--format", "json"},
                 "FXLEDGER_LEDGER=" + shell_quote(fixture().ledger.string()));
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(parse_json(r)["posted"], "12.345");
}

TEST(FxledgerCli, StatementWithRunningBalance) {
    RunResult r = on_fixture({"statement", "BANK-A/nostro/USD", "--from", "2026-11-23T00:00:00Z",
                              "--to", "2026-11-24T00:00:00Z"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_THAT(r.out, HasSubstr("PAYIN-USD-001"));
    EXPECT_THAT(r.out, HasSubstr("PAYOUT-USD-001"));
    EXPECT_THAT(r.out, HasSubstr("closing_posted:"));

    r = on_fixture({"statement", "BANK-A/nostro/USD", "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(r.out.substr(0, r.out.find('\n')),
              "sequence,timestamp,entry,kind,reference,debit,credit,posted,available");
    EXPECT_THAT(r.out, HasSubstr("PAYIN-USD-001,1000.00,,1000.00,1000.00"));
    EXPECT_THAT(r.out, HasSubstr("PAYIN-USD-002,250.50,,1250.50,1250.50"));
    EXPECT_THAT(r.out, HasSubstr("PAYOUT-USD-001,,300.00,950.50,950.50"));

    // From 09:02 on: the opening balance is the first pay-in.
    r = on_fixture(
        {"statement", "BANK-A/nostro/USD", "--from", "2026-11-23T09:02:00Z", "--format", "json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const auto j = parse_json(r);
    EXPECT_EQ(j["opening_posted"], "1000.00");
    EXPECT_EQ(j["closing_posted"], "950.50");
    ASSERT_EQ(j["lines"].size(), 2u);
    EXPECT_EQ(j["lines"][0]["reference"], "PAYIN-USD-002");
    EXPECT_EQ(j["lines"][0]["debit"], "250.50");
    EXPECT_EQ(j["lines"][0]["credit"], nullptr);
    EXPECT_EQ(j["lines"][1]["posted"], "950.50");

    // The hold, its post and the void on the PSP's account.
    r = on_fixture({"statement", "PSP1/available/USD", "--format", "json"});
    const auto h = parse_json(r);
    std::vector<std::string> kinds;
    for (const auto& l : h["lines"]) {
        kinds.push_back(l["kind"]);
    }
    EXPECT_EQ(kinds, (std::vector<std::string>{"posted", "posted", "pending", "post_pending",
                                               "pending", "void_pending", "posted", "posted"}));
}

TEST(FxledgerCli, TrialBalanceIsZeroPerCurrency) {
    RunResult r = on_fixture({"trial-balance"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_THAT(r.out, HasSubstr("balanced:"));
    EXPECT_THAT(r.out, HasSubstr("true"));

    r = on_fixture({"trial-balance", "--format", "json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    auto j = parse_json(r);
    EXPECT_EQ(j["balanced"], true);
    EXPECT_EQ(j["at_sequence"], fixture().last_sequence);
    ASSERT_EQ(j["currencies"].size(), 3u);
    for (const auto& row : j["currencies"]) {
        EXPECT_EQ(row["debits_posted"], row["credits_posted"]) << row.dump();
        if (row["currency"] == "KWD") {
            EXPECT_EQ(row["debits_posted"], "12.345");
            EXPECT_EQ(row["difference"], "0.000");
        }
        if (row["currency"] == "JPY") {
            EXPECT_EQ(row["debits_pending"], "5000");
            EXPECT_EQ(row["difference"], "0");
        }
    }

    r = on_fixture({"trial-balance", "--at", "#2", "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(r.out,
              "currency,debits_posted,credits_posted,difference,debits_pending,credits_pending\n"
              "JPY,150000,150000,0,0,0\n"
              "KWD,0.000,0.000,0.000,0.000,0.000\n"
              "USD,1000.00,1000.00,0.00,0.00,0.00\n");

    // By time: 09:02:30Z is after seq 2 and before seq 3.
    r = on_fixture({"trial-balance", "--at", "2026-11-23T09:02:30Z", "--format", "json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    j = parse_json(r);
    EXPECT_EQ(j["at_sequence"], 2);
}

TEST(FxledgerCli, EntriesAndShow) {
    RunResult r =
        on_fixture({"entries", "--from", "2026-11-23T09:05:00Z", "--to", "2026-11-23T09:07:00Z"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_THAT(r.out, HasSubstr("HOLD-001"));
    EXPECT_THAT(r.out, HasSubstr("post_pending"));
    EXPECT_THAT(r.out, ::testing::Not(HasSubstr("PAYIN")));

    r = on_fixture({"entries", "--format", "json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    auto j = parse_json(r);
    ASSERT_EQ(j.size(), fixture().last_sequence);
    const auto& fx = j[fixture().fx_sequence - 1];
    EXPECT_EQ(fx["reference"], "FX-USDJPY-001");
    EXPECT_EQ(fx["value_date"], "2026-11-25");
    bool usd = false;
    bool jpy = false;
    for (const auto& p : fx["postings"]) {
        usd = usd || (p["currency"] == "USD" && p["amount"] == "200.00");
        jpy = jpy || (p["currency"] == "JPY" && p["amount"] == "30247");
        EXPECT_TRUE(p["amount"].is_string());
    }
    EXPECT_TRUE(usd && jpy) << fx.dump(2);

    r = on_fixture({"entries", "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_THAT(r.out, HasSubstr(",PAYIN-KWD-TAMPER-TARGET-001,BANK-C/nostro/KWD,12.345,,KWD"));

    r = on_fixture({"show", "#5"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_THAT(r.out, HasSubstr("HOLD-001"));
    EXPECT_THAT(r.out, HasSubstr("pending"));
    EXPECT_THAT(r.out, HasSubstr("hash:"));

    r = on_fixture({"show", eid(6).to_hex(), "--format", "json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    j = parse_json(r);
    EXPECT_EQ(j["kind"], "post_pending");
    EXPECT_EQ(j["pending_id"], eid(5).to_hex());
    EXPECT_EQ(j["sequence"], 6);
    EXPECT_EQ(j["postings"].size(), 2u);
    EXPECT_EQ(j["hash"].get<std::string>().size(), 64u);

    r = on_fixture({"show", "#3", "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(count_lines(r.out), 3u);
    EXPECT_THAT(r.out, HasSubstr("BANK-C/nostro/KWD,12.345,,KWD"));
}

TEST(FxledgerCli, VerifyOkInEveryFormat) {
    RunResult r = on_fixture({"verify"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_THAT(r.out, HasSubstr("OK"));
    EXPECT_THAT(r.out, HasSubstr("entries_checked:"));
    r = on_fixture({"verify", "--format", "json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const auto j = parse_json(r);
    EXPECT_EQ(j["ok"], true);
    EXPECT_EQ(j["entries_checked"], fixture().last_sequence);
    EXPECT_EQ(j["accounts_checked"], 10);
    r = on_fixture({"verify", "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(count_lines(r.out), 2u);
    EXPECT_THAT(r.out, HasSubstr("result,ok,entries_checked"));
}

TEST(FxledgerCli, BackupWritesAVerifiableCopy) {
    TempDir dir("fxledger-backup");
    const auto dest = dir.path() / "copy.lmdb";
    RunResult r = on_fixture({"backup", dest.string()});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_THAT(r.out, HasSubstr(dest.string()));
    ASSERT_TRUE(std::filesystem::exists(dest));
    r = fxledger({"--ledger", dest.string(), "verify", "--format", "json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(parse_json(r)["entries_checked"], fixture().last_sequence);
    // A second backup to the same file is refused, and the copy is left as it was.
    r = on_fixture({"backup", dest.string()});
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_THAT(r.err, HasSubstr("File exists"));
    // A destination that cannot be written: an I/O error.
    r = on_fixture({"backup", (dir.path() / "no-such-dir" / "copy.lmdb").string()});
    EXPECT_EQ(r.exit_code, 5) << describe(r);
    EXPECT_EQ(count_lines(r.err), 1u);
}

TEST(FxledgerCli, ExportCsvAndJson) {
    RunResult r = on_fixture({"export", "--format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(r.out.substr(0, r.out.find('\n')),
              "sequence,timestamp,entry,kind,value_date,reference,account,debit,credit,currency");
    EXPECT_THAT(r.out, HasSubstr("HOLD-003-OPEN"));

    TempDir dir("fxledger-export");
    const auto file = dir.path() / "journal.json";
    r = on_fixture({"export", "--format", "json", "--output", file.string()});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_TRUE(r.out.empty());
    const auto j = nlohmann::json::parse(read_text(file));
    EXPECT_EQ(j["format"], "fxledger-export");
    EXPECT_EQ(j["accounts"].size(), 10u);
    EXPECT_EQ(j["entries"].size(), fixture().last_sequence);
    EXPECT_EQ(j["last_sequence"], fixture().last_sequence);
    for (const auto& a : j["accounts"]) {
        if (a["code"] == "BANK-A/nostro/USD") {
            EXPECT_EQ(a["balance"]["posted"], "950.50");
        }
    }
    r = on_fixture(
        {"export", "--format", "json", "--output", (dir.path() / "missing" / "x.json").string()});
    EXPECT_EQ(r.exit_code, 5) << describe(r);
}

}  // namespace
}  // namespace fxsettle::fxledger::testing
