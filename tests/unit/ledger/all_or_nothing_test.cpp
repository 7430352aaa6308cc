// All-or-nothing commits (CommitOptions::all_or_nothing): when any operation of the batch
// fails, nothing of it reaches the file (entries, accounts, holds, carries, balances, aux
// rows, the chain head; the file's bytes are the same), the results still say which
// operations failed and why, and the next commit sees the ledger as it was.
#include <fstream>
#include <iterator>
#include <map>

#include "tests/unit/ledger/ledger_test_util.h"

namespace fxsettle::ledger::testing {
namespace {

constexpr CommitOptions kAllOrNothing{.all_or_nothing = true};

// Everything a reader can see of the ledger, and the data file's bytes.
struct Snapshot {
    LedgerInfo info;
    std::vector<Account> accounts;
    std::map<AccountId, Balance> balances;
    std::vector<std::pair<std::string, std::string>> state;
    std::vector<std::pair<std::string, std::string>> outbox;
    std::string file_bytes;
};

class AllOrNothingTest : public LedgerTest {
  protected:
    void SetUp() override {
        LedgerTest::SetUp();
        create_chart();
        // PSP1 holds 100.00 USD; one state row and one outbox row exist.
        auto r = commit({op(transfer(1, kNostroUsd, kPsp1Usd, "100.00"))}, at_s(1000),
                        {AuxWrite{AuxTable::kState, "engine/cursor", std::string("1")},
                         AuxWrite{AuxTable::kOutbox, "o/1", std::string("event 1")}});
        ASSERT_EQ(r[0].code, ResultCode::kOk) << r[0].detail;
    }

    std::vector<OpResult> commit_all(std::vector<Operation> ops, std::vector<AuxWrite> aux = {},
                                     Timestamp now = at_s(2000)) {
        auto r = ledger_->commit(ops, now, aux, kAllOrNothing);
        EXPECT_TRUE(r.has_value()) << r.error().to_string();
        return r.value_or(std::vector<OpResult>(ops.size()));
    }

    Snapshot snapshot() {
        Snapshot s;
        auto view = ledger_->read();
        EXPECT_TRUE(view.has_value());
        s.info = (*view)->info().value();
        s.accounts = (*view)->accounts().value();
        for (const Account& a : s.accounts) {
            s.balances[a.id] = (*view)->balance(a.id).value();
        }
        s.state = (*view)->aux_scan(AuxTable::kState, "", 1000).value();
        s.outbox = (*view)->aux_scan(AuxTable::kOutbox, "", 1000).value();
        std::ifstream in(path_, std::ios::binary);
        s.file_bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        EXPECT_FALSE(s.file_bytes.empty());
        return s;
    }

    static void expect_same(const Snapshot& before, const Snapshot& after) {
        EXPECT_EQ(after.info.last_sequence, before.info.last_sequence);
        EXPECT_EQ(after.info.head_hash, before.info.head_hash);
        EXPECT_EQ(after.info.accounts, before.info.accounts);
        EXPECT_EQ(after.info.map_size_bytes, before.info.map_size_bytes);
        EXPECT_EQ(after.accounts, before.accounts);
        EXPECT_EQ(after.balances, before.balances);
        EXPECT_EQ(after.state, before.state);
        EXPECT_EQ(after.outbox, before.outbox);
        EXPECT_TRUE(after.file_bytes == before.file_bytes) << "the data file changed";
    }

    std::optional<Entry> entry_of(std::uint64_t id) {
        auto view = ledger_->read();
        EXPECT_TRUE(view.has_value());
        return (*view)->entry(eid(id)).value();
    }
};

money::Rate usd_jpy(std::string_view text) {
    return *money::Rate::parse(money::CurrencyPair{currency("USD"), currency("JPY")}, text);
}

EntryRequest hold(std::uint64_t id, std::string_view amount) {
    return entry(id, {debit(kPsp1Usd, amount, "USD"), credit(kPsp2Usd, amount, "USD")},
                 EntryKind::kPending);
}

// Every kind of change in one batch, one of whose operations fails.
std::vector<Operation> mixed_batch_with_failure() {
    return {
        create(make_account(50, AccountKind::kPspAvailable, "USD", 0, "new/50")),  // 0
        op(transfer(10, kPsp1Usd, 50, "8.00")),                                    // 1
        op(hold(11, "3.00")),                                                      // 2
        Operation{fx_request(12, "0.01", usd_jpy("150.4"))},                       // 3
        Operation{CloseAccount{aid(kNostroEur)}},                                  // 4
        op(transfer(13, kPsp1Usd, kPsp2Usd, "500.00")),  // 5: fails, PSP1 is no_negative
        op(transfer(14, kNostroUsd, kPsp2Usd, "1.00")),  // 6
    };
}

std::vector<AuxWrite> batch_aux() {
    return {AuxWrite{AuxTable::kState, "engine/cursor", std::string("2")},
            AuxWrite{AuxTable::kState, "engine/new", std::string("x")},
            AuxWrite{AuxTable::kOutbox, "o/1", std::nullopt},
            AuxWrite{AuxTable::kOutbox, "o/2", std::string("event 2")}};
}

TEST_F(AllOrNothingTest, AFailedOperationLeavesTheFileAsItWas) {
    const Snapshot before = snapshot();
    const auto results = commit_all(mixed_batch_with_failure(), batch_aux());
    ASSERT_EQ(results.size(), 7u);
    EXPECT_EQ(results[5].code, ResultCode::kWouldMakeNegative);
    EXPECT_NE(results[5].detail.find("negative"), std::string::npos) << results[5].detail;
    for (const std::size_t i : {0u, 1u, 2u, 3u, 4u, 6u}) {
        EXPECT_EQ(results[i].code, ResultCode::kBatchAborted) << "operation " << i;
        EXPECT_NE(results[i].detail.find("operation 5 failed (would_make_negative)"),
                  std::string::npos)
            << results[i].detail;
        EXPECT_EQ(results[i].sequence, 0u) << "operation " << i;
        EXPECT_FALSE(results[i].converted.has_value()) << "operation " << i;
    }
    expect_same(before, snapshot());
    for (const std::uint64_t id : {10u, 11u, 12u, 14u}) {
        EXPECT_FALSE(entry_of(id).has_value()) << "entry " << id;
    }
    auto view = ledger_->read();
    EXPECT_FALSE((*view)->account(aid(50))->has_value());
    EXPECT_FALSE((*view)->account_by_code("new/50")->has_value());
    EXPECT_EQ(result_code_name(ResultCode::kBatchAborted), "batch_aborted");
}

TEST_F(AllOrNothingTest, TheNextCommitSeesTheLedgerAsItWas) {
    const Snapshot before = snapshot();
    commit_all(mixed_batch_with_failure(), batch_aux());
    // The aborted batch moved 8.00 + 3.00 (held) out of PSP1 in its overlay; were that
    // left in the writer's cache, 99.00 would now be refused.
    auto r = commit({op(transfer(20, kPsp1Usd, kPsp2Usd, "99.00"))});
    ASSERT_EQ(r[0].code, ResultCode::kOk) << r[0].detail;
    EXPECT_EQ(r[0].sequence, before.info.last_sequence + 1) << "the aborted batch left a gap";
    EXPECT_EQ(balance(kPsp1Usd).debits_pending, amt("0.00"));
    EXPECT_EQ(posted(kPsp1Usd, Side::kCredit), amt("1.00"));
    // Ids, codes and the closed account are free and open again; entry ids of the aborted
    // batch take new content.
    r = commit({create(make_account(51, AccountKind::kPspAvailable, "USD", 0, "new/50")),
                op(transfer(10, kNostroUsd, 51, "7.00")),
                op(transfer(14, kNostroEur, kPsp1Eur, "2.00", "EUR"))});
    for (const OpResult& res : r) {
        EXPECT_EQ(res.code, ResultCode::kOk) << res.detail;
    }
    EXPECT_EQ(posted(51, Side::kCredit), amt("7.00"));
    // The aborted conversion left no FX carry: -0.496 (150.4) + -0.497 (150.3) would
    // have reached a whole yen at 150.2 below.
    r = commit_all({Operation{fx_request(21, "0.01", usd_jpy("150.3"))},
                    Operation{fx_request(22, "0.01", usd_jpy("150.2"))}});
    for (const OpResult& res : r) {
        EXPECT_EQ(res.code, ResultCode::kOk) << res.detail;
    }
    EXPECT_EQ(balance(kRoundingJpy).debits_posted, amt("0", "JPY"));
    // The aux rows of the aborted batch are absent, and the next batch's aux is written.
    auto view = ledger_->read();
    EXPECT_EQ((*view)->aux_get(AuxTable::kState, "engine/cursor")->value_or(""), "1");
    EXPECT_FALSE((*view)->aux_get(AuxTable::kState, "engine/new")->has_value());
    EXPECT_EQ((*view)->aux_get(AuxTable::kOutbox, "o/1")->value_or(""), "event 1");
    view->reset();
    r = commit_all({op(transfer(23, kNostroUsd, kPsp2Usd, "1.00"))}, batch_aux());
    ASSERT_EQ(r[0].code, ResultCode::kOk) << r[0].detail;
    const Snapshot after = snapshot();
    EXPECT_EQ(after.state, (std::vector<std::pair<std::string, std::string>>{{"engine/cursor", "2"},
                                                                             {"engine/new", "x"}}));
    EXPECT_EQ(after.outbox, (std::vector<std::pair<std::string, std::string>>{{"o/2", "event 2"}}));
}

TEST_F(AllOrNothingTest, ASuccessfulBatchIsWrittenLikeANormalCommit) {
    const Snapshot before = snapshot();
    const auto results = commit_all(
        {create(make_account(50, AccountKind::kPspAvailable, "USD")),
         op(transfer(1, kNostroUsd, kPsp1Usd, "100.00")),  // repeat
         op(transfer(10, kPsp1Usd, 50, "8.00"), true), op(transfer(11, 50, kPsp2Usd, "3.00"))},
        batch_aux());
    EXPECT_EQ(results[0].code, ResultCode::kOk) << results[0].detail;
    EXPECT_EQ(results[1].code, ResultCode::kEntryExists) << results[1].detail;
    EXPECT_EQ(results[2].code, ResultCode::kOk) << results[2].detail;
    EXPECT_EQ(results[3].code, ResultCode::kOk) << results[3].detail;
    EXPECT_EQ(results[2].sequence, before.info.last_sequence + 1);
    EXPECT_EQ(results[3].sequence, before.info.last_sequence + 2);
    EXPECT_EQ(posted(50, Side::kCredit), amt("5.00"));
    const Snapshot after = snapshot();
    EXPECT_EQ(after.info.last_sequence, before.info.last_sequence + 2);
    EXPECT_EQ(after.state.size(), 2u);
    EXPECT_EQ(after.outbox, (std::vector<std::pair<std::string, std::string>>{{"o/2", "event 2"}}));
}

TEST_F(AllOrNothingTest, EveryFailureIsReportedAndChainVictimsSayLinked) {
    const Snapshot before = snapshot();
    const auto results = commit_all({
        op(transfer(10, kPsp1Usd, kPsp2Usd, "1.00"), true),   // 0: victim of its chain
        op(transfer(11, kPsp1Usd, 99, "1.00")),               // 1: unknown account
        op(transfer(12, kPsp1Usd, kPsp2Usd, "2.00")),         // 2: fine on its own
        op(transfer(13, kPsp1Usd, kPsp2Usd, "0.01", "EUR")),  // 3: currency mismatch
        op(transfer(14, kPsp1Usd, kPsp2Usd, "99.00")),        // 4: after 2, PSP1 is short
    });
    EXPECT_EQ(results[0].code, ResultCode::kLinkedOperationFailed);
    EXPECT_EQ(results[1].code, ResultCode::kUnknownAccount);
    EXPECT_EQ(results[2].code, ResultCode::kBatchAborted);
    EXPECT_NE(results[2].detail.find("operation 1 failed (unknown_account)"), std::string::npos)
        << results[2].detail;
    EXPECT_EQ(results[3].code, ResultCode::kCurrencyMismatch);
    EXPECT_EQ(results[4].code, ResultCode::kWouldMakeNegative)
        << "later operations see the effects of earlier ones, as in a normal commit";
    expect_same(before, snapshot());
}

TEST_F(AllOrNothingTest, AnOpenChainAbortsTheBatch) {
    const Snapshot before = snapshot();
    const auto results = commit_all({op(transfer(10, kPsp1Usd, kPsp2Usd, "1.00")),
                                     op(transfer(11, kPsp1Usd, kPsp2Usd, "1.00"), true)},
                                    batch_aux());
    EXPECT_EQ(results[0].code, ResultCode::kBatchAborted);
    EXPECT_NE(results[0].detail.find("linked_chain_open"), std::string::npos) << results[0].detail;
    EXPECT_EQ(results[1].code, ResultCode::kLinkedChainOpen);
    expect_same(before, snapshot());
}

TEST_F(AllOrNothingTest, TheDefaultStillWritesWhatSucceeds) {
    // Without the option, the old contract holds: the good operation and the aux rows are
    // written next to a refused one.
    auto r = commit(
        {op(transfer(10, kPsp1Usd, kPsp2Usd, "1.00")), op(transfer(11, kPsp1Usd, 99, "1.00"))},
        at_s(2000), batch_aux());
    EXPECT_EQ(r[0].code, ResultCode::kOk);
    EXPECT_EQ(r[1].code, ResultCode::kUnknownAccount);
    EXPECT_TRUE(entry_of(10).has_value());
    auto view = ledger_->read();
    EXPECT_EQ((*view)->aux_get(AuxTable::kState, "engine/cursor")->value_or(""), "2");
}

TEST_F(AllOrNothingTest, AnAbortedBatchSurvivesAReopen) {
    const Snapshot before = snapshot();
    commit_all(mixed_batch_with_failure(), batch_aux());
    ledger_.reset();
    open_ledger();
    expect_same(before, snapshot());
    auto r = commit_all({op(transfer(10, kPsp1Usd, kPsp2Usd, "1.00"))});
    ASSERT_EQ(r[0].code, ResultCode::kOk) << r[0].detail;
    EXPECT_EQ(r[0].sequence, before.info.last_sequence + 1);
}

}  // namespace
}  // namespace fxsettle::ledger::testing
