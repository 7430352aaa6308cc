// Split commits with the real engine and the real sequencer on a real ledger file: a
// cut-off whose operations exceed a commit's maximum is committed in parts, and a crash
// between the parts (the ledger fails the second part, as a power cut would leave it) is
// rolled forward on restart: recover() finds the missing operations, the new sequencer
// commits them before anything else, the state hash equals the one the crashed engine
// had, the ledger verifies, and the cut-off's events come out (possible resends).
// The commit maximum is lowered (SequencerOptions::commit_operations_max) so that a small
// day splits; sequencer_test covers a batch beyond ledger::kBatchOperationsMax itself.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "engine/core/engine.h"
#include "engine/sequencer/sequencer.h"
#include "tests/support/split_marker.h"
#include "tests/unit/engine/engine_test_util.h"

namespace fxsettle::engine::testing {
namespace {

using Seq = Sequencer<Engine>;
constexpr auto kWaitMax = std::chrono::seconds(60);  // a safety net, never a timing check

class ManualClock {
  public:
    explicit ManualClock(ledger::Timestamp t) : ns_(t.time_since_epoch().count()) {}
    Clock clock() {
        return [this] { return ledger::Timestamp(std::chrono::nanoseconds(ns_.load())); };
    }
    void set(ledger::Timestamp t) { ns_.store(t.time_since_epoch().count()); }

  private:
    std::atomic<std::int64_t> ns_;
};

// A real ledger whose commit fails once, when armed, at the first commit that carries
// operations but no engine state row: a later part of a split commit (every engine batch
// writes its "cmdlog/" row, so first parts and whole batches always carry one). Nothing
// of that commit is written, exactly as if the process had died before it.
class CrashingLedger : public ledger::Ledger {
  public:
    explicit CrashingLedger(ledger::Ledger& inner) : inner_(inner) {}
    using ledger::Ledger::commit;
    Result<std::vector<ledger::OpResult>> commit(std::span<const ledger::Operation> operations,
                                                 ledger::Timestamp now,
                                                 std::span<const ledger::AuxWrite> aux,
                                                 const ledger::CommitOptions& options) override {
        const bool later_part =
            !operations.empty() && std::none_of(aux.begin(), aux.end(), [](const auto& w) {
                return w.table == ledger::AuxTable::kState;
            });
        if (later_part && armed.exchange(false)) {
            ++crashes;
            return fail(StatusCode::kIoError, "injected crash between the parts of a split commit");
        }
        return inner_.commit(operations, now, aux, options);
    }
    Result<std::unique_ptr<ledger::ReadView>> read() override { return inner_.read(); }
    Status backup(const std::filesystem::path& destination) override {
        return inner_.backup(destination);
    }

    std::atomic<bool> armed{false};
    std::atomic<int> crashes{0};

  private:
    ledger::Ledger& inner_;
};

class CollectingSink : public EventSink<Event> {
  public:
    void deliver(std::span<const Delivery<Event>> deliveries) override {
        std::lock_guard lock(mu_);
        got_.insert(got_.end(), deliveries.begin(), deliveries.end());
        cv_.notify_all();
    }
    bool wait_until(const std::function<bool(const std::vector<Delivery<Event>>&)>& pred) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, kWaitMax, [&] { return pred(got_); });
    }
    std::vector<Delivery<Event>> got() const {
        std::lock_guard lock(mu_);
        return got_;
    }

  private:
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<Delivery<Event>> got_;
};

std::size_t count_of(const std::vector<Delivery<Event>>& got, std::size_t alternative) {
    return static_cast<std::size_t>(std::count_if(
        got.begin(), got.end(), [&](const auto& d) { return d.event.index() == alternative; }));
}
template <typename T>
constexpr std::size_t index_of() {
    return Event(T{}).index();
}

class SplitCommitTest : public EngineTest {
  protected:
    SequencerOptions split_options() const {
        SequencerOptions o;
        o.commit_operations_max = 1;  // every batch of two operations or more splits
        return o;
    }

    // Deposits and eight USD payouts of alpha through `seq`; waits for their outcomes.
    void intake(Seq& seq, CollectingSink& sink) {
        std::vector<Command> commands{deposit(kAlpha, "d1", "10000.00", "USD"),
                                      deposit(kBeta, "d2", "10000.00", "USD")};
        for (int i = 1; i <= 8; ++i) {
            // External payouts of two PSPs, and internal ones between them.
            PayoutInstruction p = payout(i % 2 == 0 ? kAlpha : kBeta, "p" + std::to_string(i),
                                         std::to_string(100 + i) + ".00", "USD", "USD");
            if (i % 4 == 0) {
                p.payee_psp = i % 8 == 0 ? kBeta : kGamma;
            }
            commands.push_back(std::move(p));
        }
        for (auto& command : commands) {
            ASSERT_EQ(seq.submit_wait(std::move(command), kWaitMax), SubmitResult::kAccepted);
        }
        ASSERT_TRUE(sink.wait_until([](const auto& got) {
            return count_of(got, index_of<PayoutAccepted>()) == 8;
        })) << "the payouts were not all accepted";
    }

    std::optional<std::string> split_marker() { return test::split_marker(*ledger_); }

    ManualClock clock_{kT0};
};

TEST_F(SplitCommitTest, ACutoffBeyondTheCommitMaximumCommitsInPartsAndReplaysTheSame) {
    CollectingSink sink;
    auto seq = Seq::create(*engine_, *ledger_, clock_.clock(), sink, split_options());
    ASSERT_TRUE(seq.has_value()) << seq.error().to_string();
    ASSERT_TRUE((*seq)->start().is_ok());
    intake(**seq, sink);
    clock_.set(kT0 + 11h);  // the USD cut-off
    (*seq)->wake();
    ASSERT_TRUE(sink.wait_until(
        [](const auto& got) { return count_of(got, index_of<PaymentOrder>()) == 1; }));
    ASSERT_TRUE((*seq)->stop().is_ok()) << (*seq)->error().to_string();
    const SequencerCounters c = (*seq)->counters();
    EXPECT_GE(c.split_batches, 1u) << "nothing split";
    EXPECT_GT(c.split_parts, 2 * c.split_batches) << "the cut-off did not split in three";
    EXPECT_FALSE(split_marker().has_value()) << "a split marker outlived its commit";

    // A fresh engine replays the log to the same state and finds nothing unfinished.
    auto fresh = Engine::create(config_);
    ASSERT_TRUE(fresh.has_value());
    auto view = ledger_->read();
    ASSERT_TRUE(view.has_value());
    ASSERT_TRUE(fresh->recover(**view).is_ok());
    EXPECT_TRUE(fresh->unfinished_operations().empty());
    EXPECT_EQ(fresh->state_hash(), engine_->state_hash());
}

TEST_F(SplitCommitTest, ACrashBetweenThePartsOfACutoffIsCompletedOnRestart) {
    const auto hash_before_cutoff = [&] {
        CollectingSink sink;
        CrashingLedger crashing(*ledger_);
        auto seq = Seq::create(*engine_, crashing, clock_.clock(), sink, split_options());
        EXPECT_TRUE(seq.has_value());
        EXPECT_TRUE((*seq)->start().is_ok());
        intake(**seq, sink);
        const auto before = engine_->state_hash();
        crashing.armed = true;
        clock_.set(kT0 + 11h);  // the USD cut-off: its second part fails
        (*seq)->wake();
        const auto deadline = std::chrono::steady_clock::now() + kWaitMax;
        while ((*seq)->state() != Seq::State::kFailed &&
               std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(1ms);
        }
        EXPECT_EQ((*seq)->state(), Seq::State::kFailed) << "the injected crash did not stop it";
        EXPECT_EQ(crashing.crashes.load(), 1);
        EXPECT_NE((*seq)->error().message().find("a restart completes the earlier ones"),
                  std::string::npos)
            << (*seq)->error().to_string();
        EXPECT_EQ(count_of(sink.got(), index_of<PaymentOrder>()), 0u)
            << "an event of the unfinished cut-off was delivered";
        return before;
    }();
    // The crashed engine applied the whole cut-off in memory: the state to reach again.
    const auto hash_after_cutoff = engine_->state_hash();
    EXPECT_NE(hash_after_cutoff, hash_before_cutoff);
    EXPECT_TRUE(split_marker().has_value()) << "the first part wrote no split marker";

    // Restart: a new engine recovers from the ledger and reports what is missing.
    auto recovered = Engine::create(config_);
    ASSERT_TRUE(recovered.has_value());
    {
        auto view = ledger_->read();
        ASSERT_TRUE(view.has_value());
        const Status s = recovered->recover(**view);
        ASSERT_TRUE(s.is_ok()) << s.to_string();
    }
    EXPECT_FALSE(recovered->unfinished_operations().empty());
    EXPECT_EQ(recovered->state_hash(), hash_after_cutoff);
    BatchOutput<Event> scratch;
    EXPECT_EQ(recovered->apply({}, kT0 + 11h, scratch).code(), StatusCode::kFailedPrecondition)
        << "apply() must wait for the unfinished operations";

    // A new sequencer completes the split commit first, then redelivers the outbox.
    CollectingSink sink;
    auto seq = Seq::create(*recovered, *ledger_, clock_.clock(), sink, split_options());
    ASSERT_TRUE(seq.has_value());
    const Status started = (*seq)->start();
    ASSERT_TRUE(started.is_ok()) << started.to_string();
    ASSERT_TRUE(sink.wait_until([](const auto& got) {
        return count_of(got, index_of<PaymentOrder>()) == 1;
    })) << "the cut-off's payment order never came out";
    ASSERT_TRUE((*seq)->stop().is_ok()) << (*seq)->error().to_string();
    EXPECT_EQ((*seq)->counters().split_recovered, 1u);
    for (const auto& d : sink.got()) {
        EXPECT_TRUE(d.possible_resend) << "outbox row " << d.outbox_id;
    }
    EXPECT_TRUE(recovered->unfinished_operations().empty());
    EXPECT_EQ(recovered->state_hash(), hash_after_cutoff);
    EXPECT_FALSE(split_marker().has_value());
    EXPECT_EQ(recovered->balances(kAlpha, ci("USD")).held, money::Amount{});
    EXPECT_EQ(recovered->balances(kBeta, ci("USD")).held, money::Amount{});

    // And a later restart finds the ledger complete.
    auto again = Engine::create(config_);
    ASSERT_TRUE(again.has_value());
    auto view = ledger_->read();
    ASSERT_TRUE(view.has_value());
    ASSERT_TRUE(again->recover(**view).is_ok());
    EXPECT_TRUE(again->unfinished_operations().empty());
    EXPECT_EQ(again->state_hash(), hash_after_cutoff);
    // TearDown checks the trial balance and verify() on this ledger.
}

}  // namespace
}  // namespace fxsettle::engine::testing
