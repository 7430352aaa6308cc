// One test per ResultCode: the smallest batch that produces it, and what it left behind.
#include "tests/unit/ledger/ledger_test_util.h"

namespace fxsettle::ledger::testing {
namespace {

class ResultCodeTest : public LedgerTest {
  protected:
    void SetUp() override {
        LedgerTest::SetUp();
        create_chart();
        // Fund PSP1 with 100.00 USD and 50.00 EUR.
        ASSERT_EQ(commit1(transfer(1, kNostroUsd, kPsp1Usd, "100.00")).code, ResultCode::kOk);
        ASSERT_EQ(commit1(transfer(2, kNostroEur, kPsp1Eur, "50.00", "EUR")).code, ResultCode::kOk);
    }

    void expect_code(const OpResult& r, ResultCode code, std::string_view detail_part = "") {
        EXPECT_EQ(r.code, code) << "got " << result_code_name(r.code) << " (" << r.detail
                                << "), expected " << result_code_name(code);
        if (!detail_part.empty()) {
            EXPECT_NE(r.detail.find(detail_part), std::string::npos)
                << "detail '" << r.detail << "' does not mention '" << detail_part << "'";
        }
    }

    // An account that differs from kPsp2Usd's in one field.
    Account psp2() { return make_account(kPsp2Usd, AccountKind::kPspAvailable, "USD"); }
};

TEST_F(ResultCodeTest, OkWritesTheEntryWithSequenceAndTimestamp) {
    const OpResult r = commit1(transfer(10, kPsp1Usd, kPsp2Usd, "10.00"), at_s(2000));
    expect_code(r, ResultCode::kOk);
    EXPECT_TRUE(r.detail.empty()) << r.detail;
    EXPECT_EQ(r.sequence, 3u);
    EXPECT_EQ(r.timestamp, at_s(2000));
    EXPECT_EQ(posted(kPsp2Usd, Side::kCredit), amt("10.00"));
    EXPECT_EQ(posted(kPsp1Usd, Side::kCredit), amt("90.00"));
}

TEST_F(ResultCodeTest, AccountExistsForTheSameContentIsSuccess) {
    const OpResult r = commit1(create(psp2()));
    expect_code(r, ResultCode::kAccountExists);
    EXPECT_TRUE(is_success(r.code));
}

TEST_F(ResultCodeTest, AccountExistsWithDifferentOwner) {
    Account a = psp2();
    a.owner = "PSP9";
    expect_code(commit1(create(a)), ResultCode::kAccountExistsWithDifferentOwner, "PSP9");
}

TEST_F(ResultCodeTest, AccountExistsWithDifferentCurrency) {
    Account a = psp2();
    a.currency = currency("EUR");
    expect_code(commit1(create(a)), ResultCode::kAccountExistsWithDifferentCurrency, "EUR");
}

TEST_F(ResultCodeTest, AccountExistsWithDifferentKind) {
    Account a = psp2();
    a.kind = AccountKind::kPspHeld;
    expect_code(commit1(create(a)), ResultCode::kAccountExistsWithDifferentKind, "psp_held");
}

TEST_F(ResultCodeTest, AccountExistsWithDifferentFlags) {
    Account a = psp2();
    a.flags = kAccountNoNegative;
    expect_code(commit1(create(a)), ResultCode::kAccountExistsWithDifferentFlags);
}

TEST_F(ResultCodeTest, AccountExistsWithDifferentCode) {
    Account a = psp2();
    a.code = "other/code";
    expect_code(commit1(create(a)), ResultCode::kAccountExistsWithDifferentCode, "other/code");
}

TEST_F(ResultCodeTest, AccountExistsWithDifferentName) {
    Account a = psp2();
    a.name = "renamed";
    expect_code(commit1(create(a)), ResultCode::kAccountExistsWithDifferentName, "renamed");
}

TEST_F(ResultCodeTest, AccountIdZero) {
    Account a = make_account(0, AccountKind::kPspAvailable, "USD");
    expect_code(commit1(create(a)), ResultCode::kAccountIdZero);
}

TEST_F(ResultCodeTest, AccountCodeInvalidWhenEmptyOrTooLong) {
    Account a = make_account(50, AccountKind::kPspAvailable, "USD");
    a.code = "";
    expect_code(commit1(create(a)), ResultCode::kAccountCodeInvalid);
    a.code = std::string(kAccountCodeBytesMax + 1, 'x');
    expect_code(commit1(create(a)), ResultCode::kAccountCodeInvalid, "65 bytes");
}

TEST_F(ResultCodeTest, AccountCodeTakenNamesTheHolder) {
    Account a = make_account(50, AccountKind::kPspAvailable, "USD");
    a.code = make_account(kPsp2Usd, AccountKind::kPspAvailable, "USD").code;
    expect_code(commit1(create(a)), ResultCode::kAccountCodeTaken, aid(kPsp2Usd).to_hex());
}

TEST_F(ResultCodeTest, AccountNameTooLong) {
    Account a = make_account(50, AccountKind::kPspAvailable, "USD");
    a.name = std::string(kAccountNameBytesMax + 1, 'n');
    expect_code(commit1(create(a)), ResultCode::kAccountNameTooLong);
}

TEST_F(ResultCodeTest, AccountOwnerInvalid) {
    Account a = make_account(50, AccountKind::kPspAvailable, "USD");
    a.owner = "";
    expect_code(commit1(create(a)), ResultCode::kAccountOwnerInvalid);
}

TEST_F(ResultCodeTest, AccountFlagsInvalidForUnknownBitsAndCreatingClosed) {
    Account a = make_account(50, AccountKind::kPspAvailable, "USD");
    a.flags = 1u << 7;
    expect_code(commit1(create(a)), ResultCode::kAccountFlagsInvalid);
    a.flags = kAccountClosed;
    expect_code(commit1(create(a)), ResultCode::kAccountFlagsInvalid);
}

TEST_F(ResultCodeTest, AccountKindInvalid) {
    Account a = make_account(50, AccountKind::kPspAvailable, "USD");
    a.kind = static_cast<AccountKind>(99);
    expect_code(commit1(create(a)), ResultCode::kAccountKindInvalid, "99");
}

TEST_F(ResultCodeTest, AccountCurrencyInvalid) {
    Account a = make_account(50, AccountKind::kPspAvailable, "USD");
    a.currency.code = {'u', 's', 'd'};
    expect_code(commit1(create(a)), ResultCode::kAccountCurrencyInvalid, "usd");
}

TEST_F(ResultCodeTest, AccountNotFoundOnClose) {
    expect_code(commit1(Operation{CloseAccount{aid(77)}}), ResultCode::kAccountNotFound,
                aid(77).to_hex());
}

TEST_F(ResultCodeTest, AccountNotZeroOnCloseNamesTheBalance) {
    expect_code(commit1(Operation{CloseAccount{aid(kPsp1Usd)}}), ResultCode::kAccountNotZero,
                "100.00 USD");
}

TEST_F(ResultCodeTest, EntryExistsReturnsTheOriginalSequenceAndTimestamp) {
    const OpResult first = commit1(transfer(10, kPsp1Usd, kPsp2Usd, "1.00"), at_s(2000));
    ASSERT_EQ(first.code, ResultCode::kOk);
    const OpResult again = commit1(transfer(10, kPsp1Usd, kPsp2Usd, "1.00"), at_s(3000));
    expect_code(again, ResultCode::kEntryExists);
    EXPECT_EQ(again.sequence, first.sequence);
    EXPECT_EQ(again.timestamp, at_s(2000));
    EXPECT_EQ(posted(kPsp2Usd, Side::kCredit), amt("1.00")) << "the repeat moved money again";
}

TEST_F(ResultCodeTest, EntryExistsWithDifferentContent) {
    ASSERT_EQ(commit1(transfer(10, kPsp1Usd, kPsp2Usd, "1.00")).code, ResultCode::kOk);
    expect_code(commit1(transfer(10, kPsp1Usd, kPsp2Usd, "2.00")),
                ResultCode::kEntryExistsWithDifferentContent, eid(10).to_hex());
}

TEST_F(ResultCodeTest, EntryIdZero) {
    expect_code(commit1(transfer(0, kPsp1Usd, kPsp2Usd, "1.00")), ResultCode::kEntryIdZero);
}

TEST_F(ResultCodeTest, TooFewPostings) {
    expect_code(commit1(entry(10, {debit(kPsp1Usd, "1.00", "USD")})), ResultCode::kTooFewPostings);
}

TEST_F(ResultCodeTest, TooManyPostings) {
    std::vector<Posting> postings;
    for (std::size_t i = 0; i < kPostingsMax / 2 + 1; ++i) {
        postings.push_back(debit(kPsp1Usd, "0.01", "USD"));
        postings.push_back(credit(kPsp2Usd, "0.01", "USD"));
    }
    expect_code(commit1(entry(10, postings)), ResultCode::kTooManyPostings, "130");
}

TEST_F(ResultCodeTest, AmountNotPositive) {
    expect_code(commit1(transfer(10, kPsp1Usd, kPsp2Usd, "0.00")), ResultCode::kAmountNotPositive,
                "0.00 USD");
    expect_code(commit1(transfer(11, kPsp1Usd, kPsp2Usd, "-1.00")), ResultCode::kAmountNotPositive);
}

TEST_F(ResultCodeTest, UnknownAccount) {
    expect_code(commit1(transfer(10, kPsp1Usd, 999, "1.00")), ResultCode::kUnknownAccount,
                aid(999).to_hex());
}

TEST_F(ResultCodeTest, AccountIsClosed) {
    Account a = make_account(50, AccountKind::kPspAvailable, "USD");
    ASSERT_EQ(commit1(create(a)).code, ResultCode::kOk);
    ASSERT_EQ(commit1(Operation{CloseAccount{aid(50)}}).code, ResultCode::kOk);
    expect_code(commit1(transfer(10, kPsp1Usd, 50, "1.00")), ResultCode::kAccountIsClosed, a.code);
}

TEST_F(ResultCodeTest, CurrencyMismatch) {
    expect_code(
        commit1(entry(10, {debit(kPsp1Usd, "1.00", "EUR"), credit(kPsp2Usd, "1.00", "EUR")})),
        ResultCode::kCurrencyMismatch, "holds USD");
}

TEST_F(ResultCodeTest, UnbalancedCurrencyNamesCurrencyAndDifference) {
    const OpResult r =
        commit1(entry(10, {debit(kPsp1Usd, "1.00", "USD"), credit(kPsp2Usd, "0.99", "USD")}));
    expect_code(r, ResultCode::kUnbalancedCurrency, "unbalanced currency USD by 0.01");
}

TEST_F(ResultCodeTest, WouldMakeNegativeNamesAccountAvailableAndDebit) {
    const OpResult r = commit1(transfer(10, kPsp1Usd, kPsp2Usd, "112.00"));
    expect_code(r, ResultCode::kWouldMakeNegative, "available 100.00 USD, debit 112.00 USD");
    EXPECT_EQ(posted(kPsp1Usd, Side::kCredit), amt("100.00")) << "a rejected entry moved money";
}

TEST_F(ResultCodeTest, BalanceOverflow) {
    const money::Amount max = money::Amount::max();
    auto big = [&](std::uint64_t id) {
        return entry(id, {Posting{aid(kNostroUsd), Side::kDebit, {max, currency("USD")}},
                          Posting{aid(kEquityUsd), Side::kCredit, {max, currency("USD")}}});
    };
    EXPECT_EQ(commit1(big(10)).code, ResultCode::kBalanceOverflow)
        << "the nostro already holds 100.00, so adding max overflows";
    const std::vector<Posting> over = {
        Posting{aid(kPsp2Usd), Side::kDebit, {max, currency("USD")}},
        Posting{aid(kPsp2Usd), Side::kDebit, {max, currency("USD")}},
        Posting{aid(kEquityUsd), Side::kCredit, {max, currency("USD")}},
    };
    expect_code(commit1(entry(11, over)), ResultCode::kBalanceOverflow);
}

TEST_F(ResultCodeTest, ReferenceTooLong) {
    EntryRequest q = transfer(10, kPsp1Usd, kPsp2Usd, "1.00");
    q.reference = std::string(kReferenceBytesMax + 1, 'r');
    expect_code(commit1(q), ResultCode::kReferenceTooLong, "257");
}

TEST_F(ResultCodeTest, ValueDateInvalid) {
    EntryRequest q = transfer(10, kPsp1Usd, kPsp2Usd, "1.00");
    q.value_date = day(-5);
    expect_code(commit1(q), ResultCode::kValueDateInvalid);
}

TEST_F(ResultCodeTest, ConversionFailedWhenThePairDoesNotStartAtTheSourceCurrency) {
    const FxConversionRequest q =
        fx_request(10, "10.00", *money::Rate::parse({currency("EUR"), currency("JPY")}, "160.5"));
    expect_code(commit1(Operation{q}), ResultCode::kConversionFailed, "EUR/JPY");
}

TEST_F(ResultCodeTest, EntryKindInvalidForClientExpiry) {
    expect_code(commit1(transfer(10, kPsp1Usd, kPsp2Usd, "1.00")), ResultCode::kOk);
    EntryRequest q = transfer(11, kPsp1Usd, kPsp2Usd, "1.00");
    q.kind = EntryKind::kExpirePending;
    expect_code(commit1(q), ResultCode::kEntryKindInvalid);
}

// Holds.

EntryRequest hold(std::uint64_t id, std::string_view amount,
                  std::optional<Timestamp> deadline = std::nullopt) {
    EntryRequest q = entry(id, {debit(kPsp1Usd, amount, "USD"), credit(kPsp2Usd, amount, "USD")},
                           EntryKind::kPending);
    q.pending_deadline = deadline;
    return q;
}
EntryRequest resolve(std::uint64_t id, std::uint64_t hold_id, EntryKind kind,
                     std::vector<Posting> postings = {}) {
    EntryRequest q = entry(id, std::move(postings), kind);
    q.pending_id = eid(hold_id);
    return q;
}

TEST_F(ResultCodeTest, PendingNotFound) {
    expect_code(commit1(resolve(11, 999, EntryKind::kPostPending)), ResultCode::kPendingNotFound,
                eid(999).to_hex());
}

TEST_F(ResultCodeTest, PendingAlreadyPosted) {
    ASSERT_EQ(commit1(hold(10, "5.00")).code, ResultCode::kOk);
    ASSERT_EQ(commit1(resolve(11, 10, EntryKind::kPostPending)).code, ResultCode::kOk);
    expect_code(commit1(resolve(12, 10, EntryKind::kVoidPending)),
                ResultCode::kPendingAlreadyPosted);
}

TEST_F(ResultCodeTest, PendingAlreadyVoided) {
    ASSERT_EQ(commit1(hold(10, "5.00")).code, ResultCode::kOk);
    ASSERT_EQ(commit1(resolve(11, 10, EntryKind::kVoidPending)).code, ResultCode::kOk);
    expect_code(commit1(resolve(12, 10, EntryKind::kPostPending)),
                ResultCode::kPendingAlreadyVoided);
}

TEST_F(ResultCodeTest, PendingExpiredOnceTheDeadlinePassedEvenBeforeTheSweep) {
    ASSERT_EQ(commit1(hold(10, "5.00", at_s(1100)), at_s(1000)).code, ResultCode::kOk);
    expect_code(commit1(resolve(11, 10, EntryKind::kPostPending), at_s(1100)),
                ResultCode::kPendingExpired);
}

TEST_F(ResultCodeTest, PostExceedsPending) {
    ASSERT_EQ(commit1(hold(10, "5.00")).code, ResultCode::kOk);
    expect_code(commit1(resolve(11, 10, EntryKind::kPostPending,
                                {debit(kPsp1Usd, "6.00", "USD"), credit(kPsp2Usd, "6.00", "USD")})),
                ResultCode::kPostExceedsPending, "6.00 USD exceeds the 5.00 USD held");
}

TEST_F(ResultCodeTest, PostingNotInPending) {
    ASSERT_EQ(commit1(hold(10, "5.00")).code, ResultCode::kOk);
    expect_code(
        commit1(resolve(11, 10, EntryKind::kPostPending,
                        {debit(kPsp1Usd, "1.00", "USD"), credit(kEquityUsd, "1.00", "USD")})),
        ResultCode::kPostingNotInPending, aid(kEquityUsd).to_hex());
}

TEST_F(ResultCodeTest, PendingDeadlineInvalidWhenNotInTheFutureOrNotAHold) {
    expect_code(commit1(hold(10, "5.00", at_s(1000)), at_s(1000)),
                ResultCode::kPendingDeadlineInvalid);
    EntryRequest q = transfer(11, kPsp1Usd, kPsp2Usd, "1.00");
    q.pending_deadline = at_s(5000);
    expect_code(commit1(q), ResultCode::kPendingDeadlineInvalid);
}

TEST_F(ResultCodeTest, PendingIdInvalidWhenMissingOrMisplaced) {
    expect_code(commit1(resolve(11, 0, EntryKind::kVoidPending)), ResultCode::kPendingIdInvalid);
    EntryRequest q = transfer(12, kPsp1Usd, kPsp2Usd, "1.00");
    q.pending_id = eid(1);
    expect_code(commit1(q), ResultCode::kPendingIdInvalid);
}

// Batches.

TEST_F(ResultCodeTest, LinkedOperationFailedForTheOthersOfAFailedChain) {
    auto results = commit({op(transfer(10, kPsp1Usd, kPsp2Usd, "1.00"), true),
                           op(transfer(11, kPsp1Usd, 999, "1.00"))});
    expect_code(results[0], ResultCode::kLinkedOperationFailed);
    expect_code(results[1], ResultCode::kUnknownAccount);
    EXPECT_EQ(posted(kPsp2Usd, Side::kCredit), amt("0.00")) << "the chain's first entry survived";
}

TEST_F(ResultCodeTest, LinkedChainOpenForATrailingLinkedOperation) {
    auto results = commit({op(transfer(10, kPsp1Usd, kPsp2Usd, "1.00")),
                           op(transfer(11, kPsp1Usd, kPsp2Usd, "2.00"), true),
                           op(transfer(12, kPsp1Usd, kPsp2Usd, "3.00"), true)});
    expect_code(results[0], ResultCode::kOk);
    expect_code(results[1], ResultCode::kLinkedOperationFailed);
    expect_code(results[2], ResultCode::kLinkedChainOpen);
    EXPECT_EQ(posted(kPsp2Usd, Side::kCredit), amt("1.00"));
}

TEST_F(ResultCodeTest, BatchTooLargeFailsEveryOperationAndWritesNothing) {
    std::vector<Operation> ops;
    for (std::size_t i = 0; i <= kBatchOperationsMax; ++i) {
        ops.push_back(op(transfer(100 + i, kNostroUsd, kPsp2Usd, "0.01")));
    }
    auto results = commit(ops);
    ASSERT_EQ(results.size(), ops.size());
    for (const OpResult& r : results) {
        ASSERT_EQ(r.code, ResultCode::kBatchTooLarge);
    }
    EXPECT_EQ(posted(kPsp2Usd, Side::kCredit), amt("0.00"));
}

TEST(ResultCodeNames, EveryCodeHasAStableName) {
    EXPECT_EQ(result_code_name(ResultCode::kUnbalancedCurrency), "unbalanced_currency");
    EXPECT_EQ(result_code_name(ResultCode::kOk), "ok");
    EXPECT_EQ(result_code_name(ResultCode::kBatchTooLarge), "batch_too_large");
    EXPECT_TRUE(is_success(ResultCode::kEntryExists));
    EXPECT_FALSE(is_success(ResultCode::kEntryExistsWithDifferentContent));
}

}  // namespace
}  // namespace fxsettle::ledger::testing
