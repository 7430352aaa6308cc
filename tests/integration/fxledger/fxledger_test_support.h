// Helpers for the fxledger tests: a small but complete ledger built once per test
// process through the ledger API (accounts in USD, JPY and KWD, pay-ins, a payout, a hold
// that is posted, one that is voided, one left open, an FX conversion), and a runner that
// starts the real fxledger binary through popen as a user would.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/money/amount.h"
#include "engine/money/currency.h"
#include "engine/money/rate.h"
#include "ledger/ledger.h"
#include "tests/support/run_shell.h"

namespace fxsettle::fxledger::testing {

using namespace fxsettle::ledger;

inline money::Currency ccy(std::string_view code) {
    return *money::CurrencyTable::iso().find(code);
}
inline money::Money money_of(std::string_view text, std::string_view code) {
    const money::Currency c = ccy(code);
    auto a = money::parse_amount(text, c);
    EXPECT_TRUE(a.has_value()) << text;
    return money::Money{a.value_or(money::Amount{}), c};
}

// A fresh directory, removed with its content at the end (FXSETTLE_KEEP_TEST_FILES keeps it).
class TempDir {
  public:
    explicit TempDir(std::string_view prefix) {
        std::string tmpl =
            (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
        if (mkdtemp(tmpl.data()) != nullptr) {
            path_ = tmpl;
        }
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        if (path_.empty() || std::getenv("FXSETTLE_KEEP_TEST_FILES") != nullptr) {
            return;
        }
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

inline std::string read_text(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
inline void write_text(const std::filesystem::path& p, const std::string& text) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out << text;
}

// The fixture's chart of accounts.
enum : std::uint64_t {
    kPsp1UsdAvailable = 1,
    kPsp1UsdHeld = 2,
    kPsp1JpyAvailable = 3,
    kPsp2KwdAvailable = 4,
    kBankAUsdNostro = 5,
    kBankBJpyNostro = 6,
    kBankCKwdNostro = 7,
    kFxUsd = 8,
    kFxJpy = 9,
    kRoundingJpy = 10,
};
inline AccountId acc(std::uint64_t n) {
    return AccountId{0xACC, n};
}
inline EntryId eid(std::uint64_t n) {
    return EntryId{0xE0, n};
}
inline Timestamp minute(int n) {
    // 2026-11-23T09:00:00Z + n minutes.
    return Timestamp(std::chrono::sys_days(std::chrono::year(2026) / 11 / 23)) +
           std::chrono::hours(9) + std::chrono::minutes(n);
}
inline Date nov(unsigned d) {
    return Date(std::chrono::year(2026) / 11 / d);
}

struct Fixture {
    std::unique_ptr<TempDir> dir;
    std::filesystem::path ledger;
    std::uint64_t last_sequence = 0;
    std::uint64_t fx_sequence = 0;  // the FX conversion's entry
    std::uint64_t payin_kwd_sequence = 0;
};

inline Account make_account(std::uint64_t n, std::string owner, AccountKind kind,
                            std::string_view currency, std::string code, std::uint32_t flags = 0) {
    Account a;
    a.id = acc(n);
    a.owner = std::move(owner);
    a.currency = ccy(currency);
    a.kind = kind;
    a.flags = flags;
    a.code = std::move(code);
    a.name = "fixture account " + std::to_string(n);
    return a;
}

inline EntryRequest transfer(std::uint64_t id, std::string reference, Date value_date,
                             std::uint64_t debit, std::uint64_t credit, std::string_view amount,
                             std::string_view currency, EntryKind kind = EntryKind::kPosted) {
    EntryRequest q;
    q.id = eid(id);
    q.kind = kind;
    q.value_date = value_date;
    q.reference = std::move(reference);
    q.postings = {Posting{acc(debit), Side::kDebit, money_of(amount, currency)},
                  Posting{acc(credit), Side::kCredit, money_of(amount, currency)}};
    return q;
}

inline void commit_one(Ledger& l, Operation op, int at_minute, std::uint64_t* sequence = nullptr) {
    const std::vector<Operation> ops{std::move(op)};
    auto r = l.commit(ops, minute(at_minute));
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    ASSERT_TRUE(is_success((*r)[0].code))
        << result_code_name((*r)[0].code) << ": " << (*r)[0].detail;
    if (sequence != nullptr) {
        *sequence = (*r)[0].sequence;
    }
}

inline void build_fixture(Fixture& f) {
    f.dir = std::make_unique<TempDir>("fxledger-test");
    ASSERT_FALSE(f.dir->path().empty());
    f.ledger = f.dir->path() / "ledger.lmdb";
    OpenOptions o;
    o.path = f.ledger;
    auto opened = Ledger::open(o);
    ASSERT_TRUE(opened.has_value()) << opened.error().to_string();
    Ledger& l = **opened;

    std::vector<Operation> accounts;
    for (const Account& a : {
             make_account(kPsp1UsdAvailable, "PSP1", AccountKind::kPspAvailable, "USD",
                          "PSP1/available/USD", kAccountNoNegative),
             make_account(kPsp1UsdHeld, "PSP1", AccountKind::kPspHeld, "USD", "PSP1/held/USD"),
             make_account(kPsp1JpyAvailable, "PSP1", AccountKind::kPspAvailable, "JPY",
                          "PSP1/available/JPY"),
             make_account(kPsp2KwdAvailable, "PSP2", AccountKind::kPspAvailable, "KWD",
                          "PSP2/available/KWD"),
             make_account(kBankAUsdNostro, "BANK-A", AccountKind::kNostro, "USD",
                          "BANK-A/nostro/USD"),
             make_account(kBankBJpyNostro, "BANK-B", AccountKind::kNostro, "JPY",
                          "BANK-B/nostro/JPY"),
             make_account(kBankCKwdNostro, "BANK-C", AccountKind::kNostro, "KWD",
                          "BANK-C/nostro/KWD"),
             make_account(kFxUsd, "fxsettle", AccountKind::kFxPosition, "USD",
                          "fxsettle/fx_position/USD"),
             make_account(kFxJpy, "fxsettle", AccountKind::kFxPosition, "JPY",
                          "fxsettle/fx_position/JPY"),
             make_account(kRoundingJpy, "fxsettle", AccountKind::kRounding, "JPY",
                          "fxsettle/rounding/JPY"),
         }) {
        accounts.push_back(Operation{CreateAccount{a}, false});
    }
    auto created = l.commit(accounts, minute(0));
    ASSERT_TRUE(created.has_value()) << created.error().to_string();
    for (const auto& r : *created) {
        ASSERT_TRUE(is_success(r.code)) << r.detail;
    }

    // Pay-ins through the nostros (seq 1..4).
    ASSERT_NO_FATAL_FAILURE(commit_one(l,
                                       {transfer(1, "PAYIN-USD-001", nov(23), kBankAUsdNostro,
                                                 kPsp1UsdAvailable, "1000.00", "USD")},
                                       1));
    ASSERT_NO_FATAL_FAILURE(commit_one(l,
                                       {transfer(2, "PAYIN-JPY-001", nov(23), kBankBJpyNostro,
                                                 kPsp1JpyAvailable, "150000", "JPY")},
                                       2));
    ASSERT_NO_FATAL_FAILURE(
        commit_one(l,
                   {transfer(3, "PAYIN-KWD-TAMPER-TARGET-001", nov(23), kBankCKwdNostro,
                             kPsp2KwdAvailable, "12.345", "KWD")},
                   3, &f.payin_kwd_sequence));
    ASSERT_NO_FATAL_FAILURE(commit_one(l,
                                       {transfer(4, "PAYIN-USD-002", nov(24), kBankAUsdNostro,
                                                 kPsp1UsdAvailable, "250.50", "USD")},
                                       4));
    // A hold of 100.00 USD, posted in full (seq 5, 6).
    ASSERT_NO_FATAL_FAILURE(
        commit_one(l,
                   {transfer(5, "HOLD-001", nov(24), kPsp1UsdAvailable, kPsp1UsdHeld, "100.00",
                             "USD", EntryKind::kPending)},
                   5));
    {
        EntryRequest post;
        post.id = eid(6);
        post.kind = EntryKind::kPostPending;
        post.value_date = nov(24);
        post.reference = "HOLD-001-POST";
        post.pending_id = eid(5);
        ASSERT_NO_FATAL_FAILURE(commit_one(l, {post}, 6));
    }
    // A hold of 40.00 USD, voided (seq 7, 8).
    ASSERT_NO_FATAL_FAILURE(
        commit_one(l,
                   {transfer(7, "HOLD-002", nov(24), kPsp1UsdAvailable, kPsp1UsdHeld, "40.00",
                             "USD", EntryKind::kPending)},
                   7));
    {
        EntryRequest v;
        v.id = eid(8);
        v.kind = EntryKind::kVoidPending;
        v.value_date = nov(24);
        v.reference = "HOLD-002-VOID";
        v.pending_id = eid(7);
        ASSERT_NO_FATAL_FAILURE(commit_one(l, {v}, 8));
    }
    // FX: 200.00 USD of PSP1 into JPY at 151.2345 (seq 9).
    {
        auto pair = money::parse_pair("USD/JPY");
        ASSERT_TRUE(pair.has_value());
        auto rate = money::Rate::parse(*pair, "151.2345");
        ASSERT_TRUE(rate.has_value());
        // FxConversionRequest holds a Rate, which has no default: built whole.
        const FxConversionRequest fx{.id = eid(9),
                                     .value_date = nov(25),
                                     .reference = "FX-USDJPY-001",
                                     .from_account = acc(kPsp1UsdAvailable),
                                     .to_account = acc(kPsp1JpyAvailable),
                                     .fx_position_from = acc(kFxUsd),
                                     .fx_position_to = acc(kFxJpy),
                                     .rounding_account = acc(kRoundingJpy),
                                     .from = money_of("200.00", "USD"),
                                     .rate = *rate,
                                     .mode = money::RoundingMode::kHalfEven};
        ASSERT_NO_FATAL_FAILURE(commit_one(l, {fx}, 9, &f.fx_sequence));
    }
    // A payout from the USD nostro (seq 10), and a JPY hold left open (seq 11).
    ASSERT_NO_FATAL_FAILURE(commit_one(l,
                                       {transfer(10, "PAYOUT-USD-001", nov(24), kPsp1UsdAvailable,
                                                 kBankAUsdNostro, "300.00", "USD")},
                                       10));
    ASSERT_NO_FATAL_FAILURE(
        commit_one(l,
                   {transfer(11, "HOLD-003-OPEN", nov(25), kPsp1JpyAvailable, kBankBJpyNostro,
                             "5000", "JPY", EntryKind::kPending)},
                   11, &f.last_sequence));
}

// The fixture, built on first use and shared by every test of the process.
inline const Fixture& fixture() {
    static Fixture f;
    static bool built = false;
    if (!built) {
        built = true;
        build_fixture(f);
    }
    return f;
}

using fxsettle::test::run_shell;
using fxsettle::test::RunResult;
using fxsettle::test::shell_quote;

// Concatenation without `"literal" + std::string`, which trips a g++ 12 -Wrestrict false
// positive at -O2 and above.
inline std::string cat(std::initializer_list<std::string_view> parts) {
    std::string out;
    for (std::string_view p : parts) {
        out.append(p);
    }
    return out;
}

// Runs the fxledger binary with `args`, as a user would from a shell.
inline RunResult fxledger(const std::vector<std::string>& args, const std::string& env = "") {
    return fxsettle::test::run_program(FXLEDGER_BIN, args, env);
}

// fxledger --ledger <fixture> args...
inline RunResult on_fixture(std::vector<std::string> args) {
    args.insert(args.begin(), {"--ledger", fixture().ledger.string()});
    return fxledger(args);
}

inline std::string describe(const RunResult& r) {
    return "exit " + std::to_string(r.exit_code) + "\n--- stdout ---\n" + r.out +
           "--- stderr ---\n" + r.err;
}

// A program the tests need (hledger, bean-check): a failure, never a silent skip.
inline bool have_program(const std::string& name) {
    return run_shell("command -v " + shell_quote(name) + " >/dev/null").exit_code == 0;
}

inline nlohmann::json parse_json(const RunResult& r) {
    try {
        return nlohmann::json::parse(r.out);
    } catch (const std::exception& e) {
        ADD_FAILURE() << "stdout is not JSON: " << e.what() << "\n" << describe(r);
        return nullptr;
    }
}

inline std::size_t count_lines(const std::string& s) {
    std::size_t n = 0;
    for (char c : s) {
        n += c == '\n';
    }
    return n;
}

}  // namespace fxsettle::fxledger::testing
