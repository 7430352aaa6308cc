// Behaviour of the ledger beyond single result codes: holds, linked chains, idempotency,
// FX carries, history, statements, files, locking, growth, backups and read views.
#include <fcntl.h>
#include <lmdb.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <fstream>
#include <random>
#include <thread>

#include "ledger/records.h"
#include "tests/unit/ledger/ledger_test_util.h"

namespace fxsettle::ledger::testing {
namespace {

class LedgerBehaviourTest : public LedgerTest {
  protected:
    void SetUp() override {
        LedgerTest::SetUp();
        create_chart();
        ASSERT_EQ(commit1(transfer(1, kNostroUsd, kPsp1Usd, "100.00")).code, ResultCode::kOk);
    }
};

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

// --- Holds ---------------------------------------------------------------------------

TEST_F(LedgerBehaviourTest, HoldReservesAvailableAndBlocksOverspending) {
    ASSERT_EQ(commit1(hold(10, "60.00")).code, ResultCode::kOk);
    const Balance b = balance(kPsp1Usd);
    EXPECT_EQ(b.debits_pending, amt("60.00"));
    EXPECT_EQ(b.posted(Side::kCredit), amt("100.00"));
    EXPECT_EQ(b.available(Side::kCredit), amt("40.00"));
    EXPECT_EQ(balance(kPsp2Usd).credits_pending, amt("60.00"));
    const OpResult r = commit1(transfer(11, kPsp1Usd, kPsp2Usd, "41.00"));
    EXPECT_EQ(r.code, ResultCode::kWouldMakeNegative)
        << "pending debits must count against a no_negative account: " << r.detail;
}

TEST_F(LedgerBehaviourTest, PostPendingInFullMovesTheHoldToPosted) {
    ASSERT_EQ(commit1(hold(10, "60.00")).code, ResultCode::kOk);
    const OpResult r = commit1(resolve(11, 10, EntryKind::kPostPending));
    ASSERT_EQ(r.code, ResultCode::kOk) << r.detail;
    const Balance b = balance(kPsp1Usd);
    EXPECT_EQ(b.debits_pending, amt("0.00"));
    EXPECT_EQ(b.posted(Side::kCredit), amt("40.00"));
    EXPECT_EQ(posted(kPsp2Usd, Side::kCredit), amt("60.00"));
    auto view = ledger_->read();
    auto e = (*view)->entry(eid(11));
    ASSERT_TRUE(e.has_value() && e->has_value());
    EXPECT_EQ((*e)->kind, EntryKind::kPostPending);
    EXPECT_EQ((*e)->pending_id, eid(10));
    EXPECT_EQ((*e)->postings.size(), 2u) << "a full post records the hold's postings";
    EXPECT_EQ(commit1(resolve(11, 10, EntryKind::kPostPending)).code, ResultCode::kEntryExists)
        << "repeating the post is idempotent";
}

TEST_F(LedgerBehaviourTest, PartialPostPostsPartAndReleasesTheRest) {
    ASSERT_EQ(commit1(hold(10, "60.00")).code, ResultCode::kOk);
    const OpResult r =
        commit1(resolve(11, 10, EntryKind::kPostPending,
                        {debit(kPsp1Usd, "25.00", "USD"), credit(kPsp2Usd, "25.00", "USD")}));
    ASSERT_EQ(r.code, ResultCode::kOk) << r.detail;
    const Balance b = balance(kPsp1Usd);
    EXPECT_EQ(b.debits_pending, amt("0.00")) << "the unposted 35.00 must be released";
    EXPECT_EQ(b.posted(Side::kCredit), amt("75.00"));
    EXPECT_EQ(balance(kPsp2Usd).credits_pending, amt("0.00"));
    EXPECT_EQ(posted(kPsp2Usd, Side::kCredit), amt("25.00"));
}

TEST_F(LedgerBehaviourTest, PartialPostMustBalance) {
    ASSERT_EQ(commit1(hold(10, "60.00")).code, ResultCode::kOk);
    const OpResult r =
        commit1(resolve(11, 10, EntryKind::kPostPending,
                        {debit(kPsp1Usd, "25.00", "USD"), credit(kPsp2Usd, "20.00", "USD")}));
    EXPECT_EQ(r.code, ResultCode::kUnbalancedCurrency) << r.detail;
}

TEST_F(LedgerBehaviourTest, VoidReleasesTheHold) {
    ASSERT_EQ(commit1(hold(10, "60.00")).code, ResultCode::kOk);
    ASSERT_EQ(commit1(resolve(11, 10, EntryKind::kVoidPending)).code, ResultCode::kOk);
    const Balance b = balance(kPsp1Usd);
    EXPECT_EQ(b.debits_pending, amt("0.00"));
    EXPECT_EQ(b.posted(Side::kCredit), amt("100.00"));
    EXPECT_EQ(commit1(transfer(12, kPsp1Usd, kPsp2Usd, "100.00")).code, ResultCode::kOk)
        << "after the void the whole balance is available";
}

TEST_F(LedgerBehaviourTest, ExpirePendingSweepsOnlyHoldsAtOrPastTheirDeadline) {
    ASSERT_EQ(commit1(hold(10, "10.00", at_s(1100)), at_s(1000)).code, ResultCode::kOk);
    ASSERT_EQ(commit1(hold(11, "20.00", at_s(1200)), at_s(1000)).code, ResultCode::kOk);
    ASSERT_EQ(commit1(hold(12, "30.00"), at_s(1000)).code, ResultCode::kOk);  // no deadline

    OpResult r = commit1(Operation{ExpirePending{}}, at_s(1099));
    EXPECT_EQ(r.code, ResultCode::kOk);
    EXPECT_EQ(r.expired_count, 0u) << "nothing is due one second before the first deadline";

    r = commit1(Operation{ExpirePending{}}, at_s(1100));
    EXPECT_EQ(r.expired_count, 1u) << "a hold expires exactly at its deadline";
    EXPECT_EQ(balance(kPsp1Usd).debits_pending, amt("50.00"));

    r = commit1(Operation{ExpirePending{}}, at_s(5000));
    EXPECT_EQ(r.expired_count, 1u);
    EXPECT_EQ(balance(kPsp1Usd).debits_pending, amt("30.00")) << "the hold without deadline stays";

    auto view = ledger_->read();
    auto e = (*view)->entry_at_sequence(r.sequence);
    ASSERT_TRUE(e.has_value() && e->has_value());
    EXPECT_EQ((*e)->kind, EntryKind::kExpirePending);
    EXPECT_EQ((*e)->pending_id, eid(11));
    EXPECT_EQ(commit1(resolve(20, 11, EntryKind::kPostPending)).code, ResultCode::kPendingExpired);
    EXPECT_EQ(commit1(Operation{ExpirePending{}}, at_s(6000)).expired_count, 0u)
        << "an expired hold is not swept twice";
}

TEST_F(LedgerBehaviourTest, ExpirePendingRespectsItsMaximumAndSkipsHoldsResolvedInTheBatch) {
    for (std::uint64_t i = 0; i < 5; ++i) {
        ASSERT_EQ(commit1(hold(10 + i, "1.00", at_s(1100)), at_s(1000)).code, ResultCode::kOk);
    }
    auto results = commit({op(resolve(20, 10, EntryKind::kVoidPending)),
                           Operation{ExpirePending{2}}, Operation{ExpirePending{}}},
                          at_s(1050));
    EXPECT_EQ(results[1].expired_count, 0u) << "not due yet";
    results = commit({op(resolve(21, 11, EntryKind::kPostPending)), Operation{ExpirePending{2}},
                      Operation{ExpirePending{}}},
                     at_s(1100));
    EXPECT_EQ(results[0].code, ResultCode::kPendingExpired);
    EXPECT_EQ(results[1].expired_count, 2u);
    EXPECT_EQ(results[2].expired_count, 2u) << "the second sweep takes the rest";
    EXPECT_EQ(balance(kPsp1Usd).debits_pending, amt("0.00"));
}

TEST_F(LedgerBehaviourTest, HoldPostedInTheSameBatchItWasCreated) {
    auto results =
        commit({op(hold(10, "5.00", at_s(2000))), op(resolve(11, 10, EntryKind::kPostPending))});
    EXPECT_EQ(results[0].code, ResultCode::kOk) << results[0].detail;
    EXPECT_EQ(results[1].code, ResultCode::kOk) << results[1].detail;
    EXPECT_EQ(commit1(Operation{ExpirePending{}}, at_s(3000)).expired_count, 0u)
        << "a posted hold must leave the expiry index";
    EXPECT_EQ(posted(kPsp2Usd, Side::kCredit), amt("5.00"));
}

// --- Linked chains and batches --------------------------------------------------------

TEST_F(LedgerBehaviourTest, OpsSeeEarlierOpsOfTheSameBatch) {
    auto results =
        commit({create(make_account(50, AccountKind::kPspAvailable, "USD")),
                op(transfer(10, kPsp1Usd, 50, "5.00")), op(transfer(11, 50, kPsp2Usd, "2.00"))});
    for (const OpResult& r : results) {
        EXPECT_EQ(r.code, ResultCode::kOk) << r.detail;
    }
    EXPECT_EQ(posted(50, Side::kCredit), amt("3.00"));
}

TEST_F(LedgerBehaviourTest, FailedChainRollsBackAccountsEntriesAndHolds) {
    auto results = commit({
        op(transfer(10, kPsp1Usd, kPsp2Usd, "1.00")),  // its own chain: stays
        create(make_account(50, AccountKind::kPspAvailable, "USD"), true),
        op(transfer(11, kPsp1Usd, 50, "5.00"), true), op(hold(12, "3.00"), true),
        op(transfer(13, kPsp1Usd, kPsp2Usd, "500.00")),  // fails: no_negative
        op(transfer(14, kPsp1Usd, kPsp2Usd, "2.00")),    // after the chain: applied
    });
    EXPECT_EQ(results[0].code, ResultCode::kOk);
    EXPECT_EQ(results[1].code, ResultCode::kLinkedOperationFailed);
    EXPECT_EQ(results[2].code, ResultCode::kLinkedOperationFailed);
    EXPECT_EQ(results[3].code, ResultCode::kLinkedOperationFailed);
    EXPECT_EQ(results[4].code, ResultCode::kWouldMakeNegative);
    EXPECT_EQ(results[5].code, ResultCode::kOk) << results[5].detail;
    EXPECT_EQ(results[5].sequence, results[0].sequence + 1) << "rolled-back entries leave no gap";
    auto view = ledger_->read();
    EXPECT_FALSE((*view)->account(aid(50))->has_value()) << "the chain's account survived";
    EXPECT_FALSE((*view)->entry(eid(11))->has_value());
    EXPECT_EQ(balance(kPsp1Usd).debits_pending, amt("0.00")) << "the chain's hold survived";
    EXPECT_EQ(posted(kPsp2Usd, Side::kCredit), amt("3.00"));
    // The rolled-back ids and codes are free again.
    results = commit({create(make_account(50, AccountKind::kPspAvailable, "USD")),
                      op(transfer(11, kPsp1Usd, 50, "5.00"))});
    EXPECT_EQ(results[0].code, ResultCode::kOk) << results[0].detail;
    EXPECT_EQ(results[1].code, ResultCode::kOk) << results[1].detail;
}

TEST_F(LedgerBehaviourTest, SuccessfulChainCommitsEveryOperation) {
    auto results = commit({op(transfer(10, kPsp1Usd, kPsp2Usd, "1.00"), true),
                           op(transfer(11, kPsp1Usd, kPsp2Usd, "2.00"), true),
                           op(transfer(12, kPsp1Usd, kPsp2Usd, "3.00"))});
    for (const OpResult& r : results) {
        EXPECT_EQ(r.code, ResultCode::kOk) << r.detail;
    }
    EXPECT_EQ(posted(kPsp2Usd, Side::kCredit), amt("6.00"));
}

TEST_F(LedgerBehaviourTest, RepeatInTheSameBatchIsIdempotent) {
    auto results = commit({op(transfer(10, kPsp1Usd, kPsp2Usd, "1.00")),
                           op(transfer(10, kPsp1Usd, kPsp2Usd, "1.00")),
                           op(transfer(10, kPsp1Usd, kPsp2Usd, "9.00"))});
    EXPECT_EQ(results[0].code, ResultCode::kOk);
    EXPECT_EQ(results[1].code, ResultCode::kEntryExists);
    EXPECT_EQ(results[1].sequence, results[0].sequence);
    EXPECT_EQ(results[2].code, ResultCode::kEntryExistsWithDifferentContent);
    EXPECT_EQ(posted(kPsp2Usd, Side::kCredit), amt("1.00"));
}

TEST_F(LedgerBehaviourTest, RejectedEntryIsNotRecordedSoARetryIsEvaluatedAgain) {
    EXPECT_EQ(commit1(transfer(10, kPsp1Usd, kPsp2Usd, "150.00")).code,
              ResultCode::kWouldMakeNegative);
    ASSERT_EQ(commit1(transfer(11, kNostroUsd, kPsp1Usd, "100.00")).code, ResultCode::kOk);
    EXPECT_EQ(commit1(transfer(10, kPsp1Usd, kPsp2Usd, "150.00")).code, ResultCode::kOk);
}

TEST_F(LedgerBehaviourTest, TimeNeverGoesBackwards) {
    const OpResult first = commit1(transfer(10, kPsp1Usd, kPsp2Usd, "1.00"), at_s(5000));
    const OpResult second = commit1(transfer(11, kPsp1Usd, kPsp2Usd, "1.00"), at_s(4000));
    EXPECT_EQ(second.timestamp, at_s(5000)) << "a clock that stepped back is clamped";
    EXPECT_GT(second.sequence, first.sequence);
}

TEST_F(LedgerBehaviourTest, AuxRowsAreWrittenWithTheBatch) {
    commit({op(transfer(10, kPsp1Usd, kPsp2Usd, "1.00"))}, at_s(1000),
           {AuxWrite{AuxTable::kOutbox, "0001", "exec report"},
            AuxWrite{AuxTable::kState, "k", "v"}, AuxWrite{AuxTable::kOutbox, "0002", "second"}});
    commit({}, at_s(1001), {AuxWrite{AuxTable::kOutbox, "0001", std::nullopt}});
    auto view = ledger_->read();
    EXPECT_EQ((*view)->aux_get(AuxTable::kState, "k")->value_or(""), "v");
    EXPECT_FALSE((*view)->aux_get(AuxTable::kOutbox, "0001")->has_value())
        << "delete did not apply";
    auto rows = (*view)->aux_scan(AuxTable::kOutbox, "", 10);
    ASSERT_TRUE(rows.has_value());
    ASSERT_EQ(rows->size(), 1u);
    EXPECT_EQ((*rows)[0].first, "0002");
}

TEST_F(LedgerBehaviourTest, CloseAccountThenPostingsAreRefused) {
    ASSERT_EQ(commit1(create(make_account(50, AccountKind::kPspAvailable, "USD"))).code,
              ResultCode::kOk);
    ASSERT_EQ(commit1(Operation{CloseAccount{aid(50)}}).code, ResultCode::kOk);
    auto view = ledger_->read();
    EXPECT_TRUE((*view)->account(aid(50))->value().flags & kAccountClosed);
}

// --- FX ------------------------------------------------------------------------------

TEST_F(LedgerBehaviourTest, FxConversionCarriesTheResidueAndPostsAWholeUnitWhenReached) {
    // 0.01 USD at 150.4 JPY = 1.504 JPY: posts 2 JPY (half-even rounds 1.504 to 2), residue
    // -0.496. At 150.3: 1.503 -> 2, residue -0.497; the carry reaches -0.993, then at 150.2
    // (1.502 -> 2, -0.498) -1.491: a whole yen moves from rounding to the FX position.
    const money::CurrencyPair pair{currency("USD"), currency("JPY")};
    OpResult r = commit1(Operation{fx_request(20, "0.01", *money::Rate::parse(pair, "150.4"))});
    ASSERT_EQ(r.code, ResultCode::kOk) << r.detail;
    ASSERT_TRUE(r.converted.has_value());
    EXPECT_EQ(r.converted->amount, amt("2", "JPY"));
    r = commit1(Operation{fx_request(21, "0.01", *money::Rate::parse(pair, "150.3"))});
    ASSERT_EQ(r.code, ResultCode::kOk) << r.detail;
    EXPECT_EQ(balance(kRoundingJpy).debits_posted, amt("0", "JPY"))
        << "carry -0.993 is below a unit";
    r = commit1(Operation{fx_request(22, "0.01", *money::Rate::parse(pair, "150.2"))});
    ASSERT_EQ(r.code, ResultCode::kOk) << r.detail;
    EXPECT_EQ(balance(kRoundingJpy).debits_posted, amt("1", "JPY"))
        << "the carry crossed -1 yen: one yen must be posted from the rounding account";
    EXPECT_EQ(posted(kPsp1Jpy, Side::kCredit), amt("6", "JPY"));
    EXPECT_EQ(posted(kPsp1Usd, Side::kCredit), amt("99.97"));
    auto view = ledger_->read();
    auto e = (*view)->entry(eid(22));
    ASSERT_TRUE(e.has_value() && e->has_value());
    EXPECT_EQ((*e)->postings.size(), 6u);
    EXPECT_EQ((*e)->fx_residue, money::Int128("-498000000000000000"));
    // The repeat returns the same conversion.
    r = commit1(Operation{fx_request(22, "0.01", *money::Rate::parse(pair, "150.2"))});
    EXPECT_EQ(r.code, ResultCode::kEntryExists);
    ASSERT_TRUE(r.converted.has_value());
    EXPECT_EQ(r.converted->amount, amt("2", "JPY"));
    r = commit1(Operation{fx_request(22, "0.01", *money::Rate::parse(pair, "150.1"))});
    EXPECT_EQ(r.code, ResultCode::kEntryExistsWithDifferentContent);
}

// --- History -------------------------------------------------------------------------

TEST_F(LedgerBehaviourTest, BalanceAtSequenceAndTime) {
    const OpResult a = commit1(transfer(10, kPsp1Usd, kPsp2Usd, "1.00"), at_s(2000));
    const OpResult b = commit1(transfer(11, kPsp1Usd, kPsp2Usd, "2.00"), at_s(3000));
    commit1(transfer(12, kPsp1Usd, kPsp2Usd, "4.00"), at_s(4000));
    auto view = ledger_->read();
    auto at = [&](std::uint64_t seq) {
        return (*view)->balance_at_sequence(aid(kPsp2Usd), seq).value().posted(Side::kCredit);
    };
    EXPECT_EQ(at(a.sequence - 1), amt("0.00"));
    EXPECT_EQ(at(a.sequence), amt("1.00"));
    EXPECT_EQ(at(b.sequence), amt("3.00"));
    EXPECT_EQ(at(1000), amt("7.00"));
    auto at_time = [&](Timestamp t) {
        return (*view)->balance_at_time(aid(kPsp2Usd), t).value().posted(Side::kCredit);
    };
    EXPECT_EQ(at_time(at_s(1999)), amt("0.00"));
    EXPECT_EQ(at_time(at_s(2000)), amt("1.00"));
    EXPECT_EQ(at_time(at_s(3500)), amt("3.00"));
    EXPECT_EQ(at_time(at_s(9999)), amt("7.00"));
    EXPECT_EQ((*view)->balance_at_time(aid(999), at_s(1)).error().code(), StatusCode::kNotFound);
    auto tb = (*view)->trial_balance(a.sequence);
    ASSERT_TRUE(tb.has_value());
    for (const TrialBalanceRow& row : *tb) {
        EXPECT_EQ(row.debits_posted, row.credits_posted) << row.currency.to_string();
    }
}

TEST_F(LedgerBehaviourTest, StatementHasRunningTotalsOldestFirst) {
    commit1(transfer(10, kPsp1Usd, kPsp2Usd, "1.00"), at_s(2000));
    commit1(hold(11, "5.00"), at_s(3000));
    commit1(transfer(12, kPsp2Usd, kPsp1Usd, "0.50"), at_s(4000));
    commit1(resolve(13, 11, EntryKind::kVoidPending), at_s(5000));
    auto view = ledger_->read();
    auto lines = (*view)->statement(aid(kPsp2Usd), at_s(2000), at_s(5000));
    ASSERT_TRUE(lines.has_value()) << lines.error().to_string();
    ASSERT_EQ(lines->size(), 3u) << "[2000, 5000) holds three postings to PSP2";
    EXPECT_EQ((*lines)[0].entry, eid(10));
    EXPECT_EQ((*lines)[0].side, Side::kCredit);
    EXPECT_EQ((*lines)[0].balance_after.posted(Side::kCredit), amt("1.00"));
    EXPECT_EQ((*lines)[1].kind, EntryKind::kPending);
    EXPECT_EQ((*lines)[1].balance_after.credits_pending, amt("5.00"));
    EXPECT_EQ((*lines)[2].reference, "ref-12");
    EXPECT_EQ((*lines)[2].amount, amt("0.50"));
    EXPECT_EQ((*lines)[2].balance_after.posted(Side::kCredit), amt("0.50"));
    auto all = (*view)->statement(aid(kPsp2Usd), at_s(0), at_s(10000));
    ASSERT_EQ(all->size(), 4u);
    EXPECT_EQ(all->back().balance_after.credits_pending, amt("0.00")) << "the void released it";
    EXPECT_EQ((*view)->statement(aid(kPsp2Usd), at_s(0), at_s(10000), 2)->size(), 2u);
}

TEST_F(LedgerBehaviourTest, EntriesByTimeAndSequence) {
    commit1(transfer(10, kPsp1Usd, kPsp2Usd, "1.00"), at_s(2000));
    commit1(transfer(11, kPsp1Usd, kPsp2Usd, "1.00"), at_s(3000));
    auto view = ledger_->read();
    auto by_time = (*view)->entries(at_s(2000), at_s(3000));
    ASSERT_EQ(by_time->size(), 1u);
    EXPECT_EQ(by_time->front().id, eid(10));
    auto by_seq = (*view)->entries_by_sequence(1, 100, 100);
    ASSERT_EQ(by_seq->size(), 3u);
    for (std::size_t i = 1; i < by_seq->size(); ++i) {
        EXPECT_EQ((*by_seq)[i].prev_hash, (*by_seq)[i - 1].hash) << "the hash chain is broken";
    }
    auto info = (*view)->info();
    EXPECT_EQ(info->last_sequence, 3u);
    EXPECT_EQ(info->head_hash, by_seq->back().hash);
    EXPECT_EQ(info->accounts, 11u);
    EXPECT_EQ((*view)->account_by_code("acct/2/USD")->value().id, aid(kPsp1Usd));
}

// --- Files, locks, growth, backups, views --------------------------------------------

TEST_F(LedgerBehaviourTest, ReopenKeepsTheChainAndItsHead) {
    commit1(transfer(10, kPsp1Usd, kPsp2Usd, "1.00"), at_s(2000));
    ledger_.reset();
    open_ledger();
    const OpResult r = commit1(transfer(11, kPsp1Usd, kPsp2Usd, "1.00"), at_s(1500));
    EXPECT_EQ(r.sequence, 3u);
    EXPECT_EQ(r.timestamp, at_s(2000)) << "the clamp survives a reopen";
}

TEST_F(LedgerBehaviourTest, FileHasMode0600) {
    struct stat st {};
    ASSERT_EQ(::stat(path_.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(LedgerBehaviourTest, SecondWriterIsRefusedButReadersAreNot) {
    // The writer lock is per open file description, so a second open in this process
    // stands in for a second process.
    OpenOptions o;
    o.path = path_;
    auto second = Ledger::open(o);
    ASSERT_FALSE(second.has_value());
    EXPECT_EQ(second.error().code(), StatusCode::kUnavailable);
    EXPECT_NE(second.error().message().find("is already open for writing by another process"),
              std::string::npos)
        << second.error().message();
    // A child process gets the same answer.
    const pid_t child = ::fork();
    if (child == 0) {
        auto other = Ledger::open(o);
        ::_exit(!other.has_value() && other.error().code() == StatusCode::kUnavailable ? 0 : 1);
    }
    int status = 0;
    ::waitpid(child, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << "the child could open for writing";
}

TEST_F(LedgerBehaviourTest, MapGrowsFromATinyInitialSize) {
    ledger_.reset();
    open_ledger(256 << 10);
    std::uint64_t id = 1000;
    for (int batch = 0; batch < 10; ++batch) {
        std::vector<Operation> ops;
        for (int i = 0; i < 500; ++i) {
            ops.push_back(op(transfer(id++, kNostroUsd, kPsp2Usd, "0.01")));
        }
        auto results = commit(ops, at_s(2000 + batch));
        ASSERT_EQ(results.back().code, ResultCode::kOk) << results.back().detail;
    }
    auto view = ledger_->read();
    EXPECT_GT((*view)->info()->map_size_bytes, 256u << 10);
    EXPECT_EQ(posted(kPsp2Usd, Side::kCredit), amt("50.00"));
}

TEST_F(LedgerBehaviourTest, ReadersOnOtherThreadsSurviveMapGrowth) {
    ledger_.reset();
    open_ledger(256 << 10);
    auto view = ledger_->read();
    ASSERT_TRUE(view.has_value());
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> reads{0};
    std::thread reader([&] {
        // A view opened before the growth keeps reading its snapshot across remaps.
        while (!stop.load()) {
            auto b = (*view)->balance(aid(kPsp1Usd));
            ASSERT_TRUE(b.has_value()) << b.error().to_string();
            ASSERT_EQ(b->posted(Side::kCredit), amt("100.00"));
            reads.fetch_add(1);
        }
    });
    std::uint64_t id = 1000;
    for (int batch = 0; batch < 8; ++batch) {
        std::vector<Operation> ops;
        for (int i = 0; i < 500; ++i) {
            ops.push_back(op(transfer(id++, kNostroUsd, kPsp2Usd, "0.01")));
        }
        ASSERT_EQ(commit(ops, at_s(2000)).back().code, ResultCode::kOk);
    }
    stop = true;
    reader.join();
    EXPECT_GT(reads.load(), 0u);
    EXPECT_GT((*ledger_->read())->info()->map_size_bytes, 256u << 10) << "the map did not grow";
}

TEST_F(LedgerBehaviourTest, ManyViewsOnManyThreadsSurviveMapGrowth) {
    // Views that live across the growth and views opened and closed during it, on several
    // threads: each view's reads mark the view's own slot, which growth must wait for.
    ledger_.reset();
    open_ledger(256 << 10);
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> reads{0};
    std::vector<std::thread> readers;
    for (int t = 0; t < 3; ++t) {
        readers.emplace_back([&, t] {
            auto kept = ledger_->read();
            ASSERT_TRUE(kept.has_value()) << kept.error().to_string();
            money::Amount last_seen;
            for (std::uint64_t i = 0; !stop.load(); ++i) {
                auto b = (*kept)->balance(aid(kPsp1Usd));
                ASSERT_TRUE(b.has_value()) << b.error().to_string();
                ASSERT_EQ(b->posted(Side::kCredit), amt("100.00"));
                if (i % (t + 2) == 0) {
                    auto fresh = ledger_->read();
                    ASSERT_TRUE(fresh.has_value()) << fresh.error().to_string();
                    auto p = (*fresh)->balance(aid(kPsp2Usd));
                    ASSERT_TRUE(p.has_value()) << p.error().to_string();
                    ASSERT_GE(p->posted(Side::kCredit), last_seen) << "a newer view saw less";
                    last_seen = p->posted(Side::kCredit);
                    auto info = (*fresh)->info();
                    ASSERT_TRUE(info.has_value()) << info.error().to_string();
                }
                reads.fetch_add(1);
            }
        });
    }
    std::uint64_t id = 1000;
    for (int batch = 0; batch < 8; ++batch) {
        std::vector<Operation> ops;
        for (int i = 0; i < 500; ++i) {
            ops.push_back(op(transfer(id++, kNostroUsd, kPsp2Usd, "0.01")));
        }
        EXPECT_EQ(commit(ops, at_s(2000)).back().code, ResultCode::kOk);
    }
    stop = true;
    for (std::thread& r : readers) {
        r.join();
    }
    EXPECT_GT(reads.load(), 0u);
    EXPECT_GT((*ledger_->read())->info()->map_size_bytes, 256u << 10) << "the map did not grow";
    EXPECT_EQ(posted(kPsp2Usd, Side::kCredit), amt("40.00"));
}

TEST_F(LedgerBehaviourTest, BackupWhileWritingOpensAndVerifies) {
    std::atomic<bool> stop{false};
    std::atomic<int> commits{0};
    std::thread writer([&] {
        std::uint64_t id = 1000;
        while (!stop.load()) {
            std::vector<Operation> ops;
            for (int i = 0; i < 50; ++i) {
                ops.push_back(op(transfer(id++, kNostroUsd, kPsp2Usd, "0.01")));
            }
            auto r = ledger_->commit(ops, at_s(2000));
            ASSERT_TRUE(r.has_value());
            ++commits;
        }
    });
    // The backup runs while the writer commits, and after its first commit (a wait on a
    // count, not on a sleep: a loaded machine may take long to schedule the writer).
    while (commits.load() < 1) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    const auto backup_path = dir_ / "backup.mdb";
    const Status s = ledger_->backup(backup_path);
    stop = true;
    writer.join();
    ASSERT_TRUE(s.is_ok()) << s.to_string();
    struct stat st {};
    ASSERT_EQ(::stat(backup_path.c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(ledger_->backup(backup_path).code(), StatusCode::kAlreadyExists);
    OpenOptions o;
    o.path = backup_path;
    o.read_only = true;
    auto copy = Ledger::open(o);
    ASSERT_TRUE(copy.has_value()) << copy.error().to_string();
    expect_sound(**copy);
    auto info = (*(*copy)->read())->info();
    EXPECT_GE(info->last_sequence, 2u);
}

TEST_F(LedgerBehaviourTest, ReadViewDoesNotSeeLaterCommits) {
    auto before = ledger_->read();
    ASSERT_TRUE(before.has_value());
    commit1(transfer(10, kPsp1Usd, kPsp2Usd, "1.00"));
    EXPECT_EQ((*before)->balance(aid(kPsp2Usd))->posted(Side::kCredit), amt("0.00"));
    EXPECT_FALSE((*before)->entry(eid(10))->has_value());
    EXPECT_EQ((*before)->info()->last_sequence, 1u);
    auto after = ledger_->read();
    EXPECT_EQ((*after)->balance(aid(kPsp2Usd))->posted(Side::kCredit), amt("1.00"));
}

TEST_F(LedgerBehaviourTest, ReadOnlyOpenCannotCommit) {
    OpenOptions o;
    o.path = path_;
    o.read_only = true;
    auto ro = Ledger::open(o);
    ASSERT_TRUE(ro.has_value()) << ro.error().to_string();
    std::vector<Operation> ops{op(transfer(10, kPsp1Usd, kPsp2Usd, "1.00"))};
    EXPECT_EQ((*ro)->commit(ops, at_s(1)).error().code(), StatusCode::kFailedPrecondition);
}

TEST_F(LedgerBehaviourTest, VerifyFindsATamperedEntry) {
    commit1(transfer(10, kPsp1Usd, kPsp2Usd, "1.00"));
    ledger_.reset();
    {
        // Change one byte of the reference of entry 2 behind the ledger's back.
        MDB_env* env = nullptr;
        ASSERT_EQ(mdb_env_create(&env), 0);
        mdb_env_set_maxdbs(env, 16);
        ASSERT_EQ(mdb_env_open(env, path_.c_str(), MDB_NOSUBDIR, 0600), 0);
        MDB_txn* txn = nullptr;
        ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
        MDB_dbi dbi = 0;
        ASSERT_EQ(mdb_dbi_open(txn, records::kDbEntries, 0, &dbi), 0);
        const auto key = records::seq_key(2);
        MDB_val k{key.size(), const_cast<std::uint8_t*>(key.data())};
        MDB_val v;
        ASSERT_EQ(mdb_get(txn, dbi, &k, &v), 0);
        std::string bytes(static_cast<const char*>(v.mv_data), v.mv_size);
        const std::size_t at = bytes.find("ref-10");
        ASSERT_NE(at, std::string::npos);
        bytes[at + 4] = '9';
        MDB_val nv{bytes.size(), bytes.data()};
        ASSERT_EQ(mdb_put(txn, dbi, &k, &nv, 0), 0);
        ASSERT_EQ(mdb_txn_commit(txn), 0);
        mdb_env_close(env);
    }
    open_ledger();
    auto report = (*ledger_->read())->verify();
    ASSERT_TRUE(report.has_value());
    EXPECT_FALSE(report->ok);
    EXPECT_EQ(report->bad_sequence, 2u);
    EXPECT_EQ(report->bad_entry, eid(10));
    EXPECT_NE(report->failure.find("hash mismatch"), std::string::npos) << report->failure;
    check_at_end_ = false;
}

class LedgerFileTest : public LedgerTest {};

TEST_F(LedgerFileTest, OtherFormatVersionIsUnsupportedNamingBothVersions) {
    ledger_.reset();
    {
        MDB_env* env = nullptr;
        ASSERT_EQ(mdb_env_create(&env), 0);
        mdb_env_set_maxdbs(env, 16);
        ASSERT_EQ(mdb_env_open(env, path_.c_str(), MDB_NOSUBDIR, 0600), 0);
        MDB_txn* txn = nullptr;
        ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
        MDB_dbi dbi = 0;
        ASSERT_EQ(mdb_dbi_open(txn, records::kDbMeta, 0, &dbi), 0);
        const std::uint8_t version[4] = {7, 0, 0, 0};
        MDB_val k{records::kMetaVersionKey.size(),
                  const_cast<char*>(records::kMetaVersionKey.data())};
        MDB_val v{sizeof version, const_cast<std::uint8_t*>(version)};
        ASSERT_EQ(mdb_put(txn, dbi, &k, &v, 0), 0);
        ASSERT_EQ(mdb_txn_commit(txn), 0);
        mdb_env_close(env);
    }
    OpenOptions o;
    o.path = path_;
    auto l = Ledger::open(o);
    ASSERT_FALSE(l.has_value());
    EXPECT_EQ(l.error().code(), StatusCode::kUnsupported);
    EXPECT_NE(l.error().message().find("format version 7"), std::string::npos)
        << l.error().message();
    EXPECT_NE(l.error().message().find("format version 1"), std::string::npos)
        << l.error().message();
}

TEST_F(LedgerFileTest, RandomBytesAreNotALedger) {
    ledger_.reset();
    std::filesystem::remove(path_);
    std::filesystem::remove(path_.string() + "-lock");
    {
        std::ofstream out(path_, std::ios::binary);
        std::mt19937 rng(7);
        for (int i = 0; i < 64 * 1024; ++i) {
            out.put(static_cast<char>(rng()));
        }
    }
    OpenOptions o;
    o.path = path_;
    auto l = Ledger::open(o);
    ASSERT_FALSE(l.has_value());
    EXPECT_EQ(l.error().code(), StatusCode::kCorruption);
    EXPECT_NE(l.error().message().find("is not an fxsettle ledger"), std::string::npos)
        << l.error().message();
}

TEST_F(LedgerFileTest, LmdbEnvironmentWithoutOurMetaIsNotALedger) {
    ledger_.reset();
    std::filesystem::remove(path_);
    std::filesystem::remove(path_.string() + "-lock");
    {
        MDB_env* env = nullptr;
        ASSERT_EQ(mdb_env_create(&env), 0);
        ASSERT_EQ(mdb_env_open(env, path_.c_str(), MDB_NOSUBDIR, 0600), 0);
        MDB_txn* txn = nullptr;
        ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
        MDB_dbi dbi = 0;
        ASSERT_EQ(mdb_dbi_open(txn, nullptr, 0, &dbi), 0);
        char key[] = "someone-else";
        MDB_val k{sizeof key - 1, key};
        MDB_val v{sizeof key - 1, key};
        ASSERT_EQ(mdb_put(txn, dbi, &k, &v, 0), 0);
        ASSERT_EQ(mdb_txn_commit(txn), 0);
        mdb_env_close(env);
    }
    for (bool read_only : {false, true}) {
        OpenOptions o;
        o.path = path_;
        o.read_only = read_only;
        auto l = Ledger::open(o);
        ASSERT_FALSE(l.has_value());
        EXPECT_EQ(l.error().code(), StatusCode::kCorruption);
        EXPECT_NE(l.error().message().find("is not an fxsettle ledger"), std::string::npos)
            << l.error().message();
    }
}

TEST_F(LedgerFileTest, MissingFileWithoutCreateIsNotFound) {
    OpenOptions o;
    o.path = dir_ / "absent.mdb";
    o.create_if_missing = false;
    EXPECT_EQ(Ledger::open(o).error().code(), StatusCode::kNotFound);
    o.read_only = true;
    EXPECT_EQ(Ledger::open(o).error().code(), StatusCode::kNotFound);
}

TEST(Id128Test, HexAndDecimalParseAndPrint) {
    EXPECT_EQ(eid(42).to_hex(), "0000000000000000000000000000002a");
    EXPECT_EQ(EntryId::parse("2a").value(), eid(42));
    EXPECT_EQ(EntryId::parse("#42").value(), eid(42));
    EXPECT_EQ(EntryId::parse("ffffffffffffffffffffffffffffffff").value(), (EntryId{~0ull, ~0ull}));
    EXPECT_FALSE(EntryId::parse("0").has_value()) << "zero is never a valid id";
    EXPECT_FALSE(EntryId::parse("xyz").has_value());
    EXPECT_FALSE(EntryId::parse("#340282366920938463463374607431768211456").has_value()) << "2^128";
    EXPECT_EQ(parse_account_kind("fx_position").value(), AccountKind::kFxPosition);
    EXPECT_EQ(normal_side(AccountKind::kNostro), Side::kDebit);
}

}  // namespace
}  // namespace fxsettle::ledger::testing
