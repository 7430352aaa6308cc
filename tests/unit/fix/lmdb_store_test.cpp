// LmdbStore / LmdbStoreFactory: every FIX::MessageStore method, survival across reopen,
// isolation of sessions, the fused sender increment, group commit from many threads,
// errors; and a throughput figure (printed, never asserted).
#include <gtest/gtest.h>
#include <quickfix/SessionID.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "adapters/fix/lmdb_store.h"
#include "tests/unit/fix/fix_test_support.h"

namespace {

using fxsettle::adapters::LmdbStore;
using fxsettle::adapters::LmdbStoreFactory;
using fxsettle::adapters::LmdbStoreOptions;
using fxsettle::testing::TempDir;

const FIX::SessionID kSession("FIX.4.4", "FXSETTLE", "PSP1");
const FIX::SessionID kOther("FIX.4.4", "FXSETTLE", "PSP2");

std::string message_text(int seq) {
    return "8=FIX.4.4\x01"
           "35=8\x01"
           "34=" +
           std::to_string(seq) +
           "\x01"
           "58=" +
           std::string(static_cast<std::size_t>(seq % 50), 'x') + "\x01";
}

// A store created by a factory and handed back to it, as QuickFIX does.
struct StoreHandle {
    StoreHandle(LmdbStoreFactory& factory, const FIX::SessionID& id)
        : factory_(factory), store_(factory.create(id)) {}
    ~StoreHandle() { factory_.destroy(store_); }
    StoreHandle(const StoreHandle&) = delete;
    StoreHandle& operator=(const StoreHandle&) = delete;
    FIX::MessageStore* operator->() const { return store_; }
    FIX::MessageStore& operator*() const { return *store_; }
    LmdbStore& lmdb() const { return *static_cast<LmdbStore*>(store_); }

  private:
    LmdbStoreFactory& factory_;
    FIX::MessageStore* store_;
};

class LmdbStoreTest : public ::testing::Test {
  protected:
    LmdbStoreOptions options() const {
        LmdbStoreOptions o;
        o.path = dir_.file("fix-sessions.lmdb");
        return o;
    }
    std::unique_ptr<LmdbStoreFactory> open() const {
        return std::unique_ptr<LmdbStoreFactory>(new LmdbStoreFactory(options()));
    }

    TempDir dir_;
};

std::int64_t seconds_of(const FIX::UtcTimeStamp& t) {
    return static_cast<std::int64_t>(t.getTimeT());
}

TEST_F(LmdbStoreTest, FreshSessionStartsAtOneWithCreationTimeNow) {
    const std::int64_t before = static_cast<std::int64_t>(::time(nullptr));
    auto factory = open();
    StoreHandle store(*factory, kSession);
    EXPECT_EQ(store->getNextSenderMsgSeqNum(), 1);
    EXPECT_EQ(store->getNextTargetMsgSeqNum(), 1);
    const std::int64_t created = seconds_of(store->getCreationTime());
    EXPECT_GE(created, before);
    EXPECT_LE(created, static_cast<std::int64_t>(::time(nullptr)));
    std::vector<std::string> messages{"stale"};
    store->get(1, 100, messages);
    EXPECT_TRUE(messages.empty());
}

TEST_F(LmdbStoreTest, FileIsOneFileWithMode0600) {
    auto factory = open();
    StoreHandle store(*factory, kSession);
    struct stat st {};
    ASSERT_EQ(::stat(options().path.c_str(), &st), 0);
    EXPECT_TRUE(S_ISREG(st.st_mode));  // MDB_NOSUBDIR: a file, not a directory
    EXPECT_EQ(st.st_mode & 0777, 0600u);
    EXPECT_EQ(::stat((options().path + "-lock").c_str(), &st), 0);
}

TEST_F(LmdbStoreTest, SetAndGetRanges) {
    auto factory = open();
    StoreHandle store(*factory, kSession);
    for (int seq = 1; seq <= 10; ++seq) {
        EXPECT_TRUE(store->set(seq, message_text(seq)));
    }
    std::vector<std::string> messages;
    store->get(1, 10, messages);
    ASSERT_EQ(messages.size(), 10u);
    for (int seq = 1; seq <= 10; ++seq) {
        EXPECT_EQ(messages[static_cast<std::size_t>(seq - 1)], message_text(seq));
    }
    store->get(4, 6, messages);
    ASSERT_EQ(messages.size(), 3u);
    EXPECT_EQ(messages[0], message_text(4));
    EXPECT_EQ(messages[2], message_text(6));
    store->get(9, 1000000, messages);  // past the end
    EXPECT_EQ(messages.size(), 2u);
    store->get(11, 20, messages);
    EXPECT_TRUE(messages.empty());
    store->get(7, 3, messages);  // end before begin
    EXPECT_TRUE(messages.empty());
    store->get(5, 5, messages);
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_EQ(messages[0], message_text(5));
    // A message set again replaces the first.
    store->set(5, "replaced");
    store->get(5, 5, messages);
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_EQ(messages[0], "replaced");
}

TEST_F(LmdbStoreTest, GetSkipsGapsAndOrdersNumerically) {
    auto factory = open();
    StoreHandle store(*factory, kSession);
    // Out of order and across byte boundaries of the key (255, 256, 65536).
    const int seqs[] = {65536, 3, 256, 255, 1, 70000};
    for (int seq : seqs) {
        store->set(seq, message_text(seq));
    }
    std::vector<std::string> messages;
    store->get(2, 66000, messages);
    ASSERT_EQ(messages.size(), 4u);
    EXPECT_EQ(messages[0], message_text(3));
    EXPECT_EQ(messages[1], message_text(255));
    EXPECT_EQ(messages[2], message_text(256));
    EXPECT_EQ(messages[3], message_text(65536));
    EXPECT_EQ(store.lmdb().message_count(), 6u);
}

TEST_F(LmdbStoreTest, SequenceNumberCalls) {
    auto factory = open();
    StoreHandle store(*factory, kSession);
    store->incrNextSenderMsgSeqNum();
    store->incrNextSenderMsgSeqNum();
    store->incrNextTargetMsgSeqNum();
    EXPECT_EQ(store->getNextSenderMsgSeqNum(), 3);
    EXPECT_EQ(store->getNextTargetMsgSeqNum(), 2);
    store->setNextSenderMsgSeqNum(100);
    store->setNextTargetMsgSeqNum(200);
    EXPECT_EQ(store->getNextSenderMsgSeqNum(), 100);
    EXPECT_EQ(store->getNextTargetMsgSeqNum(), 200);
    store->incrNextTargetMsgSeqNum();
    EXPECT_EQ(store->getNextTargetMsgSeqNum(), 201);
}

TEST_F(LmdbStoreTest, EverythingSurvivesReopen) {
    FIX::UtcTimeStamp created;
    {
        auto factory = open();
        StoreHandle store(*factory, kSession);
        created = store->getCreationTime();
        for (int seq = 1; seq <= 5; ++seq) {
            store->set(seq, message_text(seq));
            store->incrNextSenderMsgSeqNum();
        }
        store->incrNextTargetMsgSeqNum();
        store->incrNextTargetMsgSeqNum();
        store->incrNextTargetMsgSeqNum();
    }
    auto factory = open();
    StoreHandle store(*factory, kSession);
    EXPECT_EQ(store->getNextSenderMsgSeqNum(), 6);
    EXPECT_EQ(store->getNextTargetMsgSeqNum(), 4);
    const FIX::UtcTimeStamp again = store->getCreationTime();
    EXPECT_EQ(again.getTimeT(), created.getTimeT());
    EXPECT_EQ(again.getNanosecond(), created.getNanosecond());
    std::vector<std::string> messages;
    store->get(1, 5, messages);
    ASSERT_EQ(messages.size(), 5u);
    EXPECT_EQ(messages[4], message_text(5));
}

TEST_F(LmdbStoreTest, ResetClearsMessagesAndSequenceNumbersAndRenewsCreationTime) {
    auto factory = open();
    StoreHandle store(*factory, kSession);
    StoreHandle other(*factory, kOther);
    for (int seq = 1; seq <= 40; ++seq) {
        store->set(seq, message_text(seq));
        store->incrNextSenderMsgSeqNum();
    }
    store->setNextTargetMsgSeqNum(50);
    other->set(1, "other session");
    other->incrNextSenderMsgSeqNum();
    const FIX::UtcTimeStamp before = store->getCreationTime();
    ::usleep(2000);
    store->reset();
    EXPECT_EQ(store->getNextSenderMsgSeqNum(), 1);
    EXPECT_EQ(store->getNextTargetMsgSeqNum(), 1);
    EXPECT_TRUE(store->getCreationTime() > before);
    std::vector<std::string> messages;
    store->get(1, 1000, messages);
    EXPECT_TRUE(messages.empty());
    EXPECT_EQ(store.lmdb().message_count(), 0u);
    // The other session is untouched.
    other->get(1, 1, messages);
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_EQ(messages[0], "other session");
    EXPECT_EQ(other->getNextSenderMsgSeqNum(), 2);
}

TEST_F(LmdbStoreTest, ResetIsDurable) {
    {
        auto factory = open();
        StoreHandle store(*factory, kSession);
        store->set(1, "a");
        store->set(2, "b");
        store->setNextSenderMsgSeqNum(3);
        store->reset();
    }
    auto factory = open();
    StoreHandle store(*factory, kSession);
    EXPECT_EQ(store->getNextSenderMsgSeqNum(), 1);
    EXPECT_EQ(store.lmdb().message_count(), 0u);
}

TEST_F(LmdbStoreTest, RefreshReadsWhatAnotherStoreWrote) {
    auto factory = open();
    StoreHandle first(*factory, kSession);
    StoreHandle second(*factory, kSession);  // e.g. a failover copy of the session
    first->setNextSenderMsgSeqNum(40);
    first->setNextTargetMsgSeqNum(41);
    EXPECT_EQ(second->getNextSenderMsgSeqNum(), 1);  // its view is cached
    second->refresh();
    EXPECT_EQ(second->getNextSenderMsgSeqNum(), 40);
    EXPECT_EQ(second->getNextTargetMsgSeqNum(), 41);
    EXPECT_EQ(second->getCreationTime().getTimeT(), first->getCreationTime().getTimeT());
}

TEST_F(LmdbStoreTest, SessionsAreIsolatedEvenWhenOneIdPrefixesAnother) {
    const FIX::SessionID a("FIX.4.4", "FXSETTLE", "PSP");
    const FIX::SessionID b("FIX.4.4", "FXSETTLE", "PSP1");
    const FIX::SessionID qualified("FIX.4.4", "FXSETTLE", "PSP", "backup");
    auto factory = open();
    StoreHandle sa(*factory, a);
    StoreHandle sb(*factory, b);
    StoreHandle sq(*factory, qualified);
    sa->set(1, "a1");
    sb->set(1, "b1");
    sb->set(2, "b2");
    sq->set(1, "q1");
    sa->setNextTargetMsgSeqNum(7);
    std::vector<std::string> messages;
    sa->get(1, 10, messages);
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_EQ(messages[0], "a1");
    sb->get(1, 10, messages);
    EXPECT_EQ(messages.size(), 2u);
    sq->get(1, 10, messages);
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_EQ(messages[0], "q1");
    EXPECT_EQ(sb->getNextTargetMsgSeqNum(), 1);
    EXPECT_EQ(sq->getNextTargetMsgSeqNum(), 1);
}

TEST_F(LmdbStoreTest, FusedIncrementMakesSetAndIncrementOneCommit) {
    auto factory = open();
    StoreHandle store(*factory, kSession);
    const auto before = factory->stats();
    for (int seq = 1; seq <= 20; ++seq) {
        store->set(seq, message_text(seq));  // QuickFIX's Session::persist
        store->incrNextSenderMsgSeqNum();
    }
    const auto after = factory->stats();
    EXPECT_EQ(after.commits - before.commits, 20u);
    EXPECT_EQ(store->getNextSenderMsgSeqNum(), 21);
}

TEST_F(LmdbStoreTest, CrashBetweenSetAndIncrementLeavesMessageStoredAndNumberAdvanced) {
    {
        auto factory = open();
        StoreHandle store(*factory, kSession);
        store->set(1, message_text(1));
        store->incrNextSenderMsgSeqNum();
        store->set(2, message_text(2));
        // The process dies here, before incrNextSenderMsgSeqNum(): what is durable?
        EXPECT_EQ(store->getNextSenderMsgSeqNum(), 2);  // the caller's view is unchanged
    }
    auto factory = open();
    StoreHandle store(*factory, kSession);
    // Message 2 is stored and will be resent on request; the next message is 3.
    EXPECT_EQ(store->getNextSenderMsgSeqNum(), 3);
    std::vector<std::string> messages;
    store->get(2, 2, messages);
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_EQ(messages[0], message_text(2));
}

TEST_F(LmdbStoreTest, UnfusedStoreCommitsEachCall) {
    LmdbStoreOptions o = options();
    o.fuse_sender_increment = false;
    {
        LmdbStoreFactory factory(o);
        StoreHandle store(factory, kSession);
        const auto before = factory.stats();
        store->set(1, message_text(1));
        store->incrNextSenderMsgSeqNum();
        store->set(2, message_text(2));
        EXPECT_EQ(factory.stats().commits - before.commits, 3u);
    }
    LmdbStoreFactory factory(o);
    StoreHandle store(factory, kSession);
    EXPECT_EQ(store->getNextSenderMsgSeqNum(), 2);  // message 2 will be overwritten
}

TEST_F(LmdbStoreTest, OtherCallsBetweenSetAndIncrementKeepTheFusedNumber) {
    {
        auto factory = open();
        StoreHandle store(*factory, kSession);
        store->set(1, message_text(1));
        store->incrNextTargetMsgSeqNum();  // writes the state row: next sender must stay 2
        store->incrNextSenderMsgSeqNum();
        EXPECT_EQ(store->getNextSenderMsgSeqNum(), 2);
        EXPECT_EQ(store->getNextTargetMsgSeqNum(), 2);
        store->set(2, message_text(2));
        store->setNextTargetMsgSeqNum(9);
    }
    auto reopened = open();
    StoreHandle again(*reopened, kSession);
    EXPECT_EQ(again->getNextSenderMsgSeqNum(), 3);
    EXPECT_EQ(again->getNextTargetMsgSeqNum(), 9);
}

TEST_F(LmdbStoreTest, FactoriesOnOneFileShareTheEnvironment) {
    auto first = open();
    auto second = open();  // LMDB forbids a second open of the file in one process
    std::unique_ptr<FIX::MessageStore> a(first->create(kSession));
    a->set(1, "shared");
    StoreHandle b(*second, kSession);
    std::vector<std::string> messages;
    b->get(1, 1, messages);
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_EQ(messages[0], "shared");
    first.reset();  // the environment stays open for the second factory and `a`
    b->set(2, "still open");
    a->get(1, 2, messages);
    EXPECT_EQ(messages.size(), 2u);
}

TEST_F(LmdbStoreTest, GroupCommitFromManyThreads) {
    auto factory = open();
    const int kThreads = 8;
    const int kPerThread = 50;
    std::vector<std::unique_ptr<StoreHandle>> stores;
    for (int t = 0; t < kThreads; ++t) {
        stores.emplace_back(new StoreHandle(
            *factory, FIX::SessionID("FIX.4.4", "FXSETTLE", "PSP" + std::to_string(t))));
    }
    const auto before = factory->stats();
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&stores, t] {
            StoreHandle& store = *stores[static_cast<std::size_t>(t)];
            for (int seq = 1; seq <= kPerThread; ++seq) {
                store->set(seq, message_text(seq));
                store->incrNextSenderMsgSeqNum();
                store->incrNextTargetMsgSeqNum();
            }
        });
    }
    for (std::thread& th : threads) {
        th.join();
    }
    const auto after = factory->stats();
    EXPECT_EQ(after.writes - before.writes, static_cast<std::uint64_t>(kThreads * kPerThread * 2));
    EXPECT_LE(after.commits - before.commits, after.writes - before.writes);
    std::printf("[ figures  ] %d threads: %llu writes in %llu commits\n", kThreads,
                static_cast<unsigned long long>(after.writes - before.writes),
                static_cast<unsigned long long>(after.commits - before.commits));
    for (int t = 0; t < kThreads; ++t) {
        StoreHandle& store = *stores[static_cast<std::size_t>(t)];
        EXPECT_EQ(store->getNextSenderMsgSeqNum(), kPerThread + 1);
        EXPECT_EQ(store->getNextTargetMsgSeqNum(), kPerThread + 1);
        std::vector<std::string> messages;
        store->get(1, kPerThread, messages);
        ASSERT_EQ(messages.size(), static_cast<std::size_t>(kPerThread));
        EXPECT_EQ(messages.back(), message_text(kPerThread));
    }
}

TEST_F(LmdbStoreTest, OpenFailureNamesTheFile) {
    LmdbStoreOptions o;
    o.path = dir_.file("no/such/dir/store.lmdb");
    try {
        LmdbStoreFactory factory(o);
        FAIL() << "opened " << o.path;
    } catch (const FIX::ConfigError& e) {
        EXPECT_NE(std::string(e.what()).find(o.path), std::string::npos) << e.what();
    }
    LmdbStoreOptions empty;
    EXPECT_THROW(LmdbStoreFactory{empty}, FIX::ConfigError);
}

TEST_F(LmdbStoreTest, BadArgumentsThrowIOException) {
    auto factory = open();
    StoreHandle store(*factory, kSession);
    EXPECT_THROW(store->set(0, "x"), FIX::IOException);
    EXPECT_THROW(store->set(-3, "x"), FIX::IOException);
    EXPECT_THROW(store->setNextSenderMsgSeqNum(0), FIX::IOException);
    EXPECT_THROW(store->setNextTargetMsgSeqNum(-1), FIX::IOException);
    EXPECT_EQ(store->getNextSenderMsgSeqNum(), 1);
}

TEST_F(LmdbStoreTest, FullFileFailsTheCallAndKeepsEarlierWrites) {
    LmdbStoreOptions o = options();
    o.map_size_bytes = 256 * 1024;
    LmdbStoreFactory factory(o);
    StoreHandle store(factory, kSession);
    const std::string big(3000, 'm');
    int stored = 0;
    bool failed = false;
    for (int seq = 1; seq <= 1000; ++seq) {
        try {
            store->set(seq, big);
            store->incrNextSenderMsgSeqNum();
            stored = seq;
        } catch (const FIX::IOException& e) {
            EXPECT_NE(std::string(e.what()).find("MDB_MAP_FULL"), std::string::npos) << e.what();
            failed = true;
            break;
        }
    }
    ASSERT_TRUE(failed);
    EXPECT_EQ(store->getNextSenderMsgSeqNum(), stored + 1);
    std::vector<std::string> messages;
    store->get(1, 1000, messages);
    EXPECT_EQ(messages.size(), static_cast<std::size_t>(stored));
}

TEST_F(LmdbStoreTest, WorksThroughQuickFixExceptionWrapper) {
    // QuickFIX's SessionState calls the store through MessageStoreExceptionWrapper.
    auto factory = open();
    FIX::MessageStoreFactoryExceptionWrapper wrapped_factory(factory.get());
    bool threw = false;
    FIX::ConfigError config_error;
    FIX::MessageStore* raw = wrapped_factory.create(kSession, threw, config_error);
    ASSERT_FALSE(threw);
    FIX::MessageStoreExceptionWrapper store(raw);  // deletes `raw`
    FIX::IOException io_error;
    store.set(1, "via wrapper", threw, io_error);
    ASSERT_FALSE(threw);
    store.incrNextSenderMsgSeqNum(threw, io_error);
    EXPECT_EQ(store.getNextSenderMsgSeqNum(threw, io_error), 2);
    store.set(0, "bad", threw, io_error);
    EXPECT_TRUE(threw);
}

// Throughput on this machine's disk: one thread (set+incr pairs, as QuickFIX persists a
// sent message; and set() alone), and eight threads on eight sessions (group commit).
TEST_F(LmdbStoreTest, ThroughputFigures) {
    const long ms_per_case = fxsettle::testing::env_long("FXSETTLE_FIX_STORE_BENCH_MS", 500);
    const std::string payload(200, 'p');
    auto run = [&](bool fuse, int threads, bool with_incr) {
        LmdbStoreOptions o = options();
        o.path = dir_.file("bench-" + std::to_string(fuse) + std::to_string(threads) +
                           std::to_string(with_incr) + ".lmdb");
        o.fuse_sender_increment = fuse;
        LmdbStoreFactory factory(o);
        std::vector<std::unique_ptr<StoreHandle>> stores;
        for (int t = 0; t < threads; ++t) {
            stores.emplace_back(new StoreHandle(
                factory, FIX::SessionID("FIX.4.4", "FXSETTLE", "B" + std::to_string(t))));
        }
        std::atomic<bool> stop{false};
        std::atomic<long> sets{0};
        std::vector<std::thread> workers;
        const auto start = std::chrono::steady_clock::now();
        for (int t = 0; t < threads; ++t) {
            workers.emplace_back([&, t] {
                StoreHandle& store = *stores[static_cast<std::size_t>(t)];
                int seq = 1;
                while (!stop.load()) {
                    store->set(seq, payload);
                    if (with_incr) {
                        store->incrNextSenderMsgSeqNum();
                    }
                    ++seq;
                    sets.fetch_add(1);
                }
            });
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(ms_per_case));
        stop.store(true);
        for (std::thread& w : workers) {
            w.join();
        }
        const double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        const auto stats = factory.stats();
        std::printf(
            "[ figures  ] fuse=%d threads=%d %-14s %8.0f set()/s  (%.2f writes per commit)\n",
            fuse ? 1 : 0, threads, with_incr ? "set+incr" : "set only",
            static_cast<double>(sets.load()) / elapsed,
            stats.commits == 0
                ? 0.0
                : static_cast<double>(stats.writes) / static_cast<double>(stats.commits));
    };
    run(false, 1, false);
    run(false, 1, true);
    run(true, 1, true);
    run(true, 8, true);
}

}  // namespace

// ---- lagging (group) persistence ----------------------------------------------------

LmdbStoreOptions lagging(LmdbStoreOptions o, std::int64_t block = 10000) {
    o.durability = fxsettle::adapters::StoreDurability::kLagging;
    o.sender_reserve_block = block;
    return o;
}

TEST_F(LmdbStoreTest, LaggingWritesAreReadableAtOnceDurableAfterWaitAndExactAfterACleanClose) {
    {
        LmdbStoreFactory factory(lagging(options()));
        StoreHandle store(factory, kSession);
        for (int seq = 1; seq <= 50; ++seq) {
            store->set(seq, message_text(seq));
            store->incrNextSenderMsgSeqNum();
            store->incrNextTargetMsgSeqNum();
        }
        // Queued or durable, get() sees every message in order.
        std::vector<std::string> messages;
        store->get(1, 100, messages);
        ASSERT_EQ(messages.size(), 50u);
        for (int seq = 1; seq <= 50; ++seq) {
            EXPECT_EQ(messages[static_cast<std::size_t>(seq - 1)], message_text(seq));
        }
        EXPECT_EQ(store.lmdb().message_count(), 50u);
        const std::uint64_t epoch = factory.submitted_epoch();
        EXPECT_TRUE(factory.wait_durable(epoch, std::chrono::milliseconds(20000)));
        EXPECT_GE(factory.durable_epoch(), epoch);
        EXPECT_EQ(factory.failure(), "");
        // Group commit: far fewer commits than the 150 calls.
        EXPECT_LT(factory.stats().commits, 150u);
        store->get(20, 22, messages);
        ASSERT_EQ(messages.size(), 3u);
        EXPECT_EQ(messages[0], message_text(20));
    }
    // Closed cleanly: the numbers are exact, with no reservation jump.
    LmdbStoreFactory factory(lagging(options()));
    StoreHandle store(factory, kSession);
    EXPECT_EQ(store->getNextSenderMsgSeqNum(), 51);
    EXPECT_EQ(store->getNextTargetMsgSeqNum(), 51);
    std::vector<std::string> messages;
    store->get(1, 100, messages);
    EXPECT_EQ(messages.size(), 50u);
}

TEST_F(LmdbStoreTest, AfterACrashTheLaggingSenderRestartsAboveEveryNumberUsedWhateverTheBlock) {
    for (const std::int64_t block : {2, 3, 4, 10}) {
        for (int used = 0; used <= 12; ++used) {
            const LmdbStoreOptions o = lagging(options(), block);  // the same file: rounds add up
            int first = 0;
            {
                LmdbStoreFactory factory(o);
                StoreHandle store(factory, kSession);
                first = store->getNextSenderMsgSeqNum();
                for (int i = 0; i < used; ++i) {
                    const int seq = store->getNextSenderMsgSeqNum();
                    if (i % 2 == 0) {
                        store->set(seq, message_text(seq));  // an application message
                    }
                    store->incrNextSenderMsgSeqNum();  // (an admin message: not stored)
                }
                factory.simulate_crash();
            }
            LmdbStoreFactory factory(o);
            StoreHandle store(factory, kSession);
            EXPECT_GE(store->getNextSenderMsgSeqNum(), first + used)
                << "block " << block << ", " << used << " numbers used from " << first;
        }
    }
}

TEST_F(LmdbStoreTest, ASyncStoreOpeningARowLeftByACrashedLaggingStoreAlsoStartsAtTheReservation) {
    {
        LmdbStoreFactory factory(lagging(options(), 100));
        StoreHandle store(factory, kSession);
        store->set(1, message_text(1));
        store->incrNextSenderMsgSeqNum();
        factory.simulate_crash();
    }
    LmdbStoreFactory factory(options());
    StoreHandle store(factory, kSession);
    EXPECT_EQ(store->getNextSenderMsgSeqNum(), 101);
    store->set(101, message_text(101));
    store->incrNextSenderMsgSeqNum();
    EXPECT_EQ(store->getNextSenderMsgSeqNum(), 102);
}

TEST_F(LmdbStoreTest, ALaggingCommitThatFailsStopsEveryLaterWriteAndSaysWhy) {
    LmdbStoreOptions o = lagging(options());
    o.map_size_bytes = 256 * 1024;
    LmdbStoreFactory factory(o);
    StoreHandle store(factory, kSession);
    const std::string big(3000, 'm');
    std::string error;
    int durable_max = 0;
    for (int seq = 1; seq <= 1000 && error.empty(); ++seq) {
        try {
            store->set(seq, big);
            store->incrNextSenderMsgSeqNum();
            if (factory.wait_durable(factory.submitted_epoch(), std::chrono::milliseconds(20000))) {
                durable_max = seq;
            }
        } catch (const FIX::IOException& e) {
            error = e.what();
        }
    }
    ASSERT_NE(error, "") << "the file never filled up";
    EXPECT_NE(error.find("MDB_MAP_FULL"), std::string::npos) << error;
    EXPECT_NE(factory.failure(), "");
    EXPECT_FALSE(factory.wait_durable(factory.submitted_epoch(), std::chrono::milliseconds(100)));
    EXPECT_THROW(store->incrNextTargetMsgSeqNum(), FIX::IOException);
    EXPECT_GT(durable_max, 0);
}

TEST_F(LmdbStoreTest, LaggingResetIsDurableAndDropsQueuedMessages) {
    {
        LmdbStoreFactory factory(lagging(options()));
        StoreHandle store(factory, kSession);
        for (int seq = 1; seq <= 5; ++seq) {
            store->set(seq, message_text(seq));
            store->incrNextSenderMsgSeqNum();
        }
        store->reset();
        EXPECT_EQ(store->getNextSenderMsgSeqNum(), 1);
        std::vector<std::string> messages;
        store->get(1, 10, messages);
        EXPECT_TRUE(messages.empty());
        factory.simulate_crash();
    }
    LmdbStoreFactory reopened(lagging(options()));
    StoreHandle store(reopened, kSession);
    std::vector<std::string> messages;
    store->get(1, 20000, messages);
    EXPECT_TRUE(messages.empty()) << "a message queued before the reset came back";
    EXPECT_EQ(store->getNextTargetMsgSeqNum(), 1);
}
