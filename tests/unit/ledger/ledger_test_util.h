// Test helpers for the ledger: a temp directory per test, a small chart of accounts,
// builders for operations, and a check (trial balance zero per currency, verify() ok)
// that every test runs on its ledger at the end.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "engine/money/amount.h"
#include "engine/money/currency.h"
#include "engine/money/rate.h"
#include "ledger/ledger.h"

namespace fxsettle::ledger::testing {

inline money::Currency currency(std::string_view code) {
    return *money::CurrencyTable::iso().find(code);
}
inline money::Money money_of(std::string_view text, std::string_view code) {
    const money::Currency c = currency(code);
    auto a = money::parse_amount(text, c);
    EXPECT_TRUE(a.has_value()) << text;
    return money::Money{a.value_or(money::Amount{}), c};
}
inline AccountId aid(std::uint64_t n) {
    return AccountId{0, n};
}
inline EntryId eid(std::uint64_t n) {
    return EntryId{0, n};
}
inline Timestamp at_s(std::int64_t seconds) {
    return Timestamp(std::chrono::seconds(seconds));
}
inline Date day(int days_since_epoch) {
    return Date(std::chrono::days(days_since_epoch));
}

inline Account make_account(std::uint64_t n, AccountKind kind, std::string_view ccy,
                            std::uint32_t flags = 0, std::string code = "") {
    Account a;
    a.id = aid(n);
    a.owner = "PSP1";
    a.currency = currency(ccy);
    a.kind = kind;
    a.flags = flags;
    a.code = code.empty() ? "acct/" + std::to_string(n) + "/" + std::string(ccy) : code;
    a.name = "account " + std::to_string(n);
    return a;
}

inline Operation create(const Account& a, bool linked = false) {
    return Operation{CreateAccount{a}, linked};
}
inline Posting debit(std::uint64_t account, std::string_view amount, std::string_view ccy) {
    return Posting{aid(account), Side::kDebit, money_of(amount, ccy)};
}
inline Posting credit(std::uint64_t account, std::string_view amount, std::string_view ccy) {
    return Posting{aid(account), Side::kCredit, money_of(amount, ccy)};
}
inline EntryRequest entry(std::uint64_t id, std::vector<Posting> postings,
                          EntryKind kind = EntryKind::kPosted) {
    EntryRequest q;
    q.id = eid(id);
    q.kind = kind;
    q.value_date = day(19000);
    q.reference = "ref-" + std::to_string(id);
    q.postings = std::move(postings);
    return q;
}
inline EntryRequest transfer(std::uint64_t id, std::uint64_t from, std::uint64_t to,
                             std::string_view amount, std::string_view ccy = "USD") {
    return entry(id, {debit(from, amount, ccy), credit(to, amount, ccy)});
}
inline Operation op(EntryRequest q, bool linked = false) {
    return Operation{std::move(q), linked};
}

// Account ids of the standard chart created by LedgerTest::create_chart().
enum : std::uint64_t {
    kNostroUsd = 1,     // debit-normal
    kPsp1Usd = 2,       // credit-normal, no_negative
    kPsp2Usd = 3,       // credit-normal
    kEquityUsd = 4,     // credit-normal
    kNostroEur = 5,     // debit-normal
    kPsp1Eur = 6,       // credit-normal, no_negative
    kFxUsd = 7,         // fx_position USD
    kFxJpy = 8,         // fx_position JPY
    kPsp1Jpy = 9,       // credit-normal
    kRoundingJpy = 10,  // rounding JPY
    kNostroJpy = 11,
};

// USD from PSP1 to JPY at PSP1 through the FX positions, rounding to kRoundingJpy.
// FxConversionRequest holds a Rate, which has no default, so it is built whole.
inline FxConversionRequest fx_request(std::uint64_t id, std::string_view usd, money::Rate rate,
                                      money::RoundingMode mode = money::RoundingMode::kHalfEven) {
    return FxConversionRequest{.id = eid(id),
                               .value_date = day(19000),
                               .reference = "fx-" + std::to_string(id),
                               .from_account = aid(kPsp1Usd),
                               .to_account = aid(kPsp1Jpy),
                               .fx_position_from = aid(kFxUsd),
                               .fx_position_to = aid(kFxJpy),
                               .rounding_account = aid(kRoundingJpy),
                               .from = money_of(usd, "USD"),
                               .rate = std::move(rate),
                               .mode = mode};
}

class LedgerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string templ =
            (std::filesystem::temp_directory_path() / "fxledger-test-XXXXXX").string();
        ASSERT_NE(::mkdtemp(templ.data()), nullptr);
        dir_ = templ;
        path_ = dir_ / "ledger.mdb";
        open_ledger();
    }

    void TearDown() override {
        if (ledger_ && check_at_end_) {
            expect_sound(*ledger_);
        }
        ledger_.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    void open_ledger(std::uint64_t map_initial = 1ull << 20) {
        OpenOptions o;
        o.path = path_;
        o.map_size_initial_bytes = map_initial;
        auto l = Ledger::open(o);
        ASSERT_TRUE(l.has_value()) << l.error().to_string();
        ledger_ = std::move(*l);
    }

    // Trial balance zero per currency (posted and pending) and verify() ok.
    static void expect_sound(Ledger& ledger) {
        auto view = ledger.read();
        ASSERT_TRUE(view.has_value()) << view.error().to_string();
        auto tb = (*view)->trial_balance();
        ASSERT_TRUE(tb.has_value()) << tb.error().to_string();
        for (const TrialBalanceRow& row : *tb) {
            EXPECT_EQ(row.debits_posted, row.credits_posted)
                << "trial balance in " << row.currency.to_string() << ": posted debits "
                << row.debits_posted.to_string() << " != credits "
                << row.credits_posted.to_string();
            EXPECT_EQ(row.debits_pending, row.credits_pending)
                << "trial balance in " << row.currency.to_string() << ": pending debits "
                << row.debits_pending.to_string() << " != credits "
                << row.credits_pending.to_string();
        }
        auto report = (*view)->verify();
        ASSERT_TRUE(report.has_value()) << report.error().to_string();
        EXPECT_TRUE(report->ok) << "verify failed: " << report->failure;
    }

    std::vector<OpResult> commit(std::vector<Operation> ops, Timestamp now = at_s(1000),
                                 std::vector<AuxWrite> aux = {}) {
        auto r = ledger_->commit(ops, now, aux);
        EXPECT_TRUE(r.has_value()) << r.error().to_string();
        return r.value_or(std::vector<OpResult>(ops.size()));
    }
    OpResult commit1(Operation o, Timestamp now = at_s(1000)) {
        auto r = commit({std::move(o)}, now);
        return r.empty() ? OpResult{} : r.front();
    }
    OpResult commit1(EntryRequest q, Timestamp now = at_s(1000)) {
        return commit1(op(std::move(q)), now);
    }

    void create_chart() {
        auto results = commit({
            create(make_account(kNostroUsd, AccountKind::kNostro, "USD")),
            create(make_account(kPsp1Usd, AccountKind::kPspAvailable, "USD", kAccountNoNegative)),
            create(make_account(kPsp2Usd, AccountKind::kPspAvailable, "USD")),
            create(make_account(kEquityUsd, AccountKind::kEquity, "USD")),
            create(make_account(kNostroEur, AccountKind::kNostro, "EUR")),
            create(make_account(kPsp1Eur, AccountKind::kPspAvailable, "EUR", kAccountNoNegative)),
            create(make_account(kFxUsd, AccountKind::kFxPosition, "USD")),
            create(make_account(kFxJpy, AccountKind::kFxPosition, "JPY")),
            create(make_account(kPsp1Jpy, AccountKind::kPspAvailable, "JPY")),
            create(make_account(kRoundingJpy, AccountKind::kRounding, "JPY")),
            create(make_account(kNostroJpy, AccountKind::kNostro, "JPY")),
        });
        for (const OpResult& r : results) {
            ASSERT_EQ(r.code, ResultCode::kOk) << r.detail;
        }
    }

    Balance balance(std::uint64_t account) {
        auto view = ledger_->read();
        EXPECT_TRUE(view.has_value());
        auto b = (*view)->balance(aid(account));
        EXPECT_TRUE(b.has_value()) << b.error().to_string();
        return b.value_or(Balance{});
    }
    money::Amount posted(std::uint64_t account, Side normal) {
        return balance(account).posted(normal);
    }

    std::filesystem::path dir_;
    std::filesystem::path path_;
    std::unique_ptr<Ledger> ledger_;
    bool check_at_end_ = true;
};

inline money::Amount amt(std::string_view text, std::string_view ccy = "USD") {
    return money_of(text, ccy).amount;
}

}  // namespace fxsettle::ledger::testing
