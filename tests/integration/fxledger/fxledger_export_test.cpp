// `fxledger export --format hledger|beancount`, read back by the real programs: hledger
// must accept the journal (and its balance assertions) and report the same figures as
// `fxledger balance` / `trial-balance`; bean-check must accept the beancount file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <sstream>
#include <string>

#include "tests/integration/fxledger/fxledger_test_support.h"
#include "tools/fxledger/commands.h"
#include "tools/fxledger/export.h"

namespace fxsettle::fxledger::testing {
namespace {

using ::testing::HasSubstr;

// The fixture's accounts through the library, for the expected names and balances.
struct Expected {
    AccountIndex accounts;
    std::map<AccountId, Balance> balances;
};
Expected expected() {
    Expected e;
    auto l = open_ledger(fixture().ledger);
    EXPECT_TRUE(l.has_value());
    auto v = (*l)->read();
    auto accounts = load_accounts(**v);
    EXPECT_TRUE(accounts.has_value());
    e.accounts = *accounts;
    for (const auto& [id, a] : e.accounts) {
        e.balances[id] = *(*v)->balance(id);
    }
    return e;
}

std::string signed_posted(const Balance& b, const money::Currency& c) {
    return money::format_amount(b.debits_posted - b.credits_posted, c) + " " + c.to_string();
}

TEST(FxledgerExport, HledgerReadsTheJournalAndAgreesWithOurBalances) {
    ASSERT_TRUE(have_program("hledger"))
        << "hledger is not on PATH: run tools/setup.sh (it installs hledger and beancount)";
    TempDir dir("fxledger-hledger");
    const auto journal = dir.path() / "ledger.journal";
    RunResult r = on_fixture({"export", "--format", "hledger", "--output", journal.string()});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const std::string text = read_text(journal);
    EXPECT_THAT(text, HasSubstr("commodity 1000.00 USD"));
    EXPECT_THAT(text, HasSubstr("commodity 1000. JPY"));
    EXPECT_THAT(text, HasSubstr("commodity 1000.000 KWD"));
    EXPECT_THAT(text, HasSubstr("account psp:PSP1:available:USD"));
    EXPECT_THAT(text, HasSubstr("(#3) PAYIN-KWD-TAMPER-TARGET-001"));
    EXPECT_THAT(text, HasSubstr("== 950.50 USD"));
    // Holds: comments only; the post of the hold is a transaction.
    EXPECT_THAT(text, HasSubstr("; 2026-11-24 (#5) pending HOLD-001"));
    EXPECT_THAT(text, HasSubstr("; 2026-11-25 (#11) pending HOLD-003-OPEN"));
    EXPECT_THAT(text, HasSubstr("2026-11-24 * (#6) HOLD-001-POST"));

    // hledger parses it, checks every assertion, and (strict) finds every account and
    // commodity declared.
    r = run_shell("hledger -f " + shell_quote(journal.string()) + " check -s");
    ASSERT_EQ(r.exit_code, 0) << describe(r) << "\n" << text;

    r = run_shell("hledger -f " + shell_quote(journal.string()) + " balance --flat -N");
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    std::map<std::string, std::string> hledger_balances;
    std::istringstream lines(r.out);
    for (std::string line; std::getline(lines, line);) {
        const auto gap = line.rfind("  ");
        if (gap == std::string::npos) {
            continue;
        }
        std::string amount = line.substr(0, gap);
        amount.erase(0, amount.find_first_not_of(' '));
        hledger_balances[line.substr(gap + 2)] = amount;
    }
    const Expected e = expected();
    const auto names = hledger_account_names(e.accounts);
    std::size_t nonzero = 0;
    std::map<std::string, money::Amount> per_currency;
    for (const auto& [id, a] : e.accounts) {
        const Balance& b = e.balances.at(id);
        if (b.debits_posted == b.credits_posted) {
            EXPECT_EQ(hledger_balances.count(names.at(id)), 0u) << names.at(id);
            continue;
        }
        ++nonzero;
        EXPECT_EQ(hledger_balances[names.at(id)], signed_posted(b, a.currency))
            << names.at(id) << "\n"
            << r.out;
        per_currency[a.currency.to_string()] += b.debits_posted - b.credits_posted;
    }
    EXPECT_EQ(hledger_balances.size(), nonzero) << r.out;
    EXPECT_EQ(nonzero, 9u);  // all but the rounding account (the FX carry is under 1 yen)

    // The same figures as fxledger's own reports, through the binary: every account's
    // posted balance (on its normal side: hledger shows credit-normal ones negative), and
    // a zero sum per currency, as the trial balance says.
    r = on_fixture({"accounts", "--format", "json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    for (const auto& a : parse_json(r)) {
        const std::string posted = a["posted"];
        const std::string code = a["code"];
        const std::string name = names.at(*AccountId::parse(a["id"].get<std::string>()));
        if (posted.find_first_not_of("0.") == std::string::npos) {
            continue;
        }
        const bool credit_normal = a["normal_side"] == "credit";
        std::string expect = posted;
        if (credit_normal) {
            expect = posted.front() == '-' ? posted.substr(1) : "-" + posted;
        }
        EXPECT_EQ(hledger_balances[name], expect + " " + a["currency"].get<std::string>()) << code;
    }
    r = on_fixture({"trial-balance", "--format", "json"});
    const auto tb = parse_json(r);
    ASSERT_EQ(tb["currencies"].size(), per_currency.size());
    for (const auto& row : tb["currencies"]) {
        const std::string c = row["currency"];
        EXPECT_TRUE(per_currency.at(c).is_zero()) << c;
        EXPECT_EQ(row["difference"], money::format_amount(money::Amount{}, ccy(c)));
    }
    // hledger's own per-commodity total is zero too.
    r = run_shell("hledger -f " + shell_quote(journal.string()) + " balance --flat");
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const std::string total = r.out.substr(r.out.rfind("----"));
    EXPECT_EQ(total.find_first_of("123456789"), std::string::npos) << r.out;
}

TEST(FxledgerExport, HledgerRejectsATamperedAssertion) {
    ASSERT_TRUE(have_program("hledger"))
        << "hledger is not on PATH: run tools/setup.sh (it installs hledger and beancount)";
    TempDir dir("fxledger-hledger-bad");
    const auto journal = dir.path() / "ledger.journal";
    RunResult r = on_fixture({"export", "--format", "hledger", "--output", journal.string()});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    std::string text = read_text(journal);
    const auto at = text.find("== 950.50 USD");
    ASSERT_NE(at, std::string::npos);
    text.replace(at, 13, "== 950.51 USD");
    write_text(journal, text);
    r = run_shell("hledger -f " + shell_quote(journal.string()) + " check");
    EXPECT_NE(r.exit_code, 0) << "hledger did not check the assertions: " << describe(r);
}

TEST(FxledgerExport, BeanCheckAcceptsTheBeancountFile) {
    ASSERT_TRUE(have_program("bean-check"))
        << "bean-check is not on PATH: run tools/setup.sh (it installs hledger and beancount)";
    TempDir dir("fxledger-beancount");
    const auto file = dir.path() / "ledger.beancount";
    RunResult r = on_fixture({"export", "--format", "beancount", "--output", file.string()});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const std::string text = read_text(file);
    EXPECT_THAT(text, HasSubstr("open Liabilities:Psp:PSP1:Available:USD  USD"));
    EXPECT_THAT(text, HasSubstr("open Assets:Bank:BANK-C:Nostro:KWD  KWD"));
    // Balance directives the day after the last value date (2026-11-25).
    EXPECT_THAT(text,
                HasSubstr("2026-11-26 balance Assets:Bank:BANK-A:Nostro:USD  950.50 ~ 0 USD"));
    EXPECT_THAT(text,
                HasSubstr("2026-11-26 balance Assets:Bank:BANK-C:Nostro:KWD  12.345 ~ 0 KWD"));
    EXPECT_THAT(
        text, HasSubstr("2026-11-26 balance Liabilities:Psp:PSP1:Available:JPY  -180247 ~ 0 JPY"));
    r = run_shell("bean-check " + shell_quote(file.string()));
    EXPECT_EQ(r.exit_code, 0) << describe(r) << "\n" << text;
    EXPECT_TRUE(r.out.empty() && r.err.empty()) << describe(r);

    // bean-check does check the figures: a wrong balance fails.
    std::string bad = text;
    // One cent off: the exact tolerance ("~ 0") makes even that fail.
    const auto at = bad.find("950.50 ~ 0 USD");
    ASSERT_NE(at, std::string::npos);
    bad.replace(at, 6, "950.49");
    write_text(file, bad);
    r = run_shell("bean-check " + shell_quote(file.string()));
    EXPECT_NE(r.exit_code, 0) << describe(r);
}

TEST(FxledgerExport, AccountNamesAreValidForBothPrograms) {
    AccountIndex idx;
    auto add = [&](std::uint64_t n, AccountKind kind, std::string code) {
        Account a = make_account(n, "X", kind, "USD", std::move(code));
        idx[a.id] = a;
    };
    add(1, AccountKind::kPspAvailable, "PSP1/available/USD");
    add(2, AccountKind::kNostro, "bank a;  (main)/nostro/USD");
    add(3, AccountKind::kFees, "fxsettle/fees/USD");
    add(4, AccountKind::kSuspense, "_odd//x");
    add(5, AccountKind::kSuspense, "_odd/:x");  // collides with 4 once sanitised
    const auto h = hledger_account_names(idx);
    EXPECT_EQ(h.at(acc(1)), "psp:PSP1:available:USD");
    EXPECT_EQ(h.at(acc(2)), "bank:bank_a____main_:nostro:USD");
    EXPECT_EQ(h.at(acc(3)), "fxsettle:fees:USD");
    EXPECT_NE(h.at(acc(4)), h.at(acc(5)));
    const auto b = beancount_account_names(idx);
    EXPECT_EQ(b.at(acc(1)), "Liabilities:Psp:PSP1:Available:USD");
    EXPECT_EQ(b.at(acc(2)), "Assets:Bank:Bank-a----main-:Nostro:USD");
    EXPECT_EQ(b.at(acc(3)), "Income:Fxsettle:Fees:USD");
    EXPECT_EQ(b.at(acc(4)), "Assets:Fxsettle:X-odd:X:X-" + acc(4).to_hex());
    EXPECT_NE(b.at(acc(4)), b.at(acc(5)));
}

}  // namespace
}  // namespace fxsettle::fxledger::testing
