// Crash test of the LMDB message store: a child process killed with SIGKILL at random
// moments loses nothing it acknowledged.
//
// The parent forks a child that opens the store itself (no LMDB environment crosses the
// fork: the parent has closed its own first) and runs two threads, one per session, so
// that group commits carry writes of both. Each thread persists messages as QuickFIX's
// Session does -- set(n, message) then incrNextSenderMsgSeqNum() -- and then advances
// the target sequence number, and only then writes "session, n" to a pipe
// (acknowledged). The parent kills the child after a random delay, reopens the file and
// checks, per session: every acknowledged message is there with its exact content; the
// messages stored are exactly 1 .. next sender - 1 (no hole, none beyond); next sender
// and next target are at least one past the last acknowledged number and at most one
// further (a write committed but not yet acknowledged). The next child resumes from the
// store's sequence numbers, as a restarted session does.
//
// The lagging mode (LmdbStoreOptions::durability = kLagging, with a small reservation
// block so that reservations happen often) runs the same rounds with what it promises
// instead: the child reports every number it hands out ("used") at once, and
// acknowledges a message only after wait_durable() covered it, as SessionHost does before
// on_sent. After each kill: every acknowledged message is there with its exact content;
// the sender restarts above every number ever used; no message is stored at or past the
// next sender number; the target number covers every acknowledged increment.
//
// SIGKILL loses no page cache, so this proves process-crash atomicity and the
// ack-after-commit order, not power-loss durability (that is the fsync's job).
// FXSETTLE_FIX_CRASH_KILLS (default 12) and FXSETTLE_FIX_CRASH_SEED tune the run.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "adapters/fix/lmdb_store.h"
#include "tests/unit/fix/fix_test_support.h"

namespace {

using fxsettle::adapters::LmdbStoreFactory;
using fxsettle::adapters::LmdbStoreOptions;

constexpr int kSessions = 2;
constexpr int kChildMessagesMax = 1000000;  // the child never ends on its own

FIX::SessionID session_id(int index) {
    return FIX::SessionID("FIX.4.4", "FXSETTLE", "CRASH" + std::to_string(index));
}

// Deterministic content of message `seq` of session `session`, of varying length (up to
// a few pages, so that some commits span overflow pages).
std::string content(int session, int seq) {
    std::string text =
        "8=FIX.4.4\x01"
        "35=8\x01"
        "49=FXSETTLE\x01"
        "34=" +
        std::to_string(seq) +
        "\x01"
        "58=";
    const std::size_t length = static_cast<std::size_t>((seq * 7919 + session * 104729) % 9000);
    for (std::size_t i = 0; i < length; ++i) {
        text.push_back(static_cast<char>('a' + (i + static_cast<std::size_t>(seq)) % 26));
    }
    return text + "\x01";
}

struct Ack {
    std::int32_t session;
    std::int32_t seq;
    std::int32_t used;  // lagging mode: 1 = handed out (not yet durable), 0 = acknowledged
};

constexpr std::int64_t kLaggingReserveBlock = 64;
constexpr int kLaggingAckEvery = 8;  // messages per wait_durable() in the lagging child

void write_ack(int ack_fd, const Ack& ack) {
    if (::write(ack_fd, &ack, sizeof ack) != static_cast<ssize_t>(sizeof ack)) {
        ::_exit(13);
    }
}

LmdbStoreOptions lagging_options(const std::string& path) {
    LmdbStoreOptions options;
    options.path = path;
    options.durability = fxsettle::adapters::StoreDurability::kLagging;
    options.sender_reserve_block = kLaggingReserveBlock;
    options.flush_interval = std::chrono::microseconds(500);
    return options;
}

// The lagging child: never returns.
[[noreturn]] void run_lagging_child(const std::string& path, int ack_fd) {
    try {
        LmdbStoreFactory factory(lagging_options(path));
        std::vector<std::thread> threads;
        for (int s = 0; s < kSessions; ++s) {
            threads.emplace_back([&factory, s, ack_fd] {
                std::unique_ptr<FIX::MessageStore> store(factory.create(session_id(s)));
                std::vector<int> unacked;
                for (int i = 0; i < kChildMessagesMax; ++i) {
                    const int seq = store->getNextSenderMsgSeqNum();
                    store->set(seq, content(s, seq));
                    store->incrNextSenderMsgSeqNum();
                    store->incrNextTargetMsgSeqNum();
                    write_ack(ack_fd, Ack{s, seq, 1});
                    unacked.push_back(seq);
                    if (unacked.size() == kLaggingAckEvery) {
                        if (!factory.wait_durable(factory.submitted_epoch(),
                                                  std::chrono::milliseconds(30000))) {
                            ::_exit(15);
                        }
                        for (const int done : unacked) {
                            write_ack(ack_fd, Ack{s, done, 0});
                        }
                        unacked.clear();
                    }
                }
            });
        }
        for (std::thread& t : threads) {
            t.join();
        }
    } catch (...) {
        ::_exit(11);
    }
    ::_exit(14);
}

// The child: never returns.
[[noreturn]] void run_child(const std::string& path, int ack_fd) {
    try {
        LmdbStoreOptions options;
        options.path = path;
        LmdbStoreFactory factory(options);
        std::vector<std::thread> threads;
        for (int s = 0; s < kSessions; ++s) {
            threads.emplace_back([&factory, s, ack_fd] {
                std::unique_ptr<FIX::MessageStore> store(factory.create(session_id(s)));
                for (int i = 0; i < kChildMessagesMax; ++i) {
                    const int seq = store->getNextSenderMsgSeqNum();
                    store->set(seq, content(s, seq));
                    store->incrNextSenderMsgSeqNum();
                    store->incrNextTargetMsgSeqNum();
                    write_ack(ack_fd, Ack{s, seq, 0});
                }
            });
        }
        for (std::thread& t : threads) {
            t.join();
        }
    } catch (...) {
        ::_exit(11);
    }
    ::_exit(14);
}

struct SessionExpectation {
    int acked = 0;        // the highest acknowledged sequence number
    int target_base = 1;  // next target when the child started
    int round_acks = 0;   // acknowledgements in this round
};

struct LaggingExpectation {
    int used_max = 0;     // the highest number ever handed out
    int round_first = 1;  // the first number of this round
    int acked = 0;        // the highest acknowledged number of this round (0: none)
    int target_base = 1;  // next target when the child started
};

// Kills a child that follows a stream in lagging mode and checks what it promised.
TEST(LmdbStoreCrashTest, LaggingModeLosesNoDurablyAcknowledgedWriteAndNeverReusesASenderNumber) {
    fxsettle::testing::TempDir dir;
    const std::string path = dir.file("crash-lagging.lmdb");
    const long kills = fxsettle::testing::env_long("FXSETTLE_FIX_CRASH_KILLS", 12);
    const long seed = fxsettle::testing::env_long(
        "FXSETTLE_FIX_CRASH_SEED",
        static_cast<long>(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000));
    std::printf("[ crash    ] lagging kills=%ld seed=%ld\n", kills, seed);
    std::mt19937 rng(static_cast<unsigned>(seed));
    std::uniform_int_distribution<int> delay_ms(0, 250);

    std::vector<LaggingExpectation> expect(kSessions);
    long total_acks = 0;
    long total_used = 0;
    for (long round = 0; round < kills; ++round) {
        int fds[2];
        ASSERT_EQ(::pipe(fds), 0);
        const pid_t child = ::fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            ::close(fds[0]);
            run_lagging_child(path, fds[1]);
        }
        ::close(fds[1]);
        const auto kill_at =
            std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms(rng));
        std::vector<Ack> acks;
        auto read_some = [&](int timeout_ms) {
            pollfd pfd{fds[0], POLLIN, 0};
            if (::poll(&pfd, 1, timeout_ms) <= 0) {
                return false;
            }
            Ack buf[64];
            const ssize_t n = ::read(fds[0], buf, sizeof buf);
            if (n <= 0) {
                return false;
            }
            EXPECT_EQ(n % static_cast<ssize_t>(sizeof(Ack)), 0);
            acks.insert(acks.end(), buf, buf + n / static_cast<ssize_t>(sizeof(Ack)));
            return true;
        };
        while (std::chrono::steady_clock::now() < kill_at) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                kill_at - std::chrono::steady_clock::now());
            read_some(static_cast<int>(left.count()) + 1);
        }
        ::kill(child, SIGKILL);
        int status = 0;
        ASSERT_EQ(::waitpid(child, &status, 0), child);
        ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
            << "child ended on its own, status " << status;
        while (read_some(0)) {
        }
        ::close(fds[0]);
        for (const Ack& ack : acks) {
            ASSERT_GE(ack.session, 0);
            ASSERT_LT(ack.session, kSessions);
            LaggingExpectation& e = expect[static_cast<std::size_t>(ack.session)];
            if (ack.used != 0) {
                EXPECT_GE(ack.seq, e.round_first) << "round " << round;
                e.used_max = std::max(e.used_max, static_cast<int>(ack.seq));
                ++total_used;
            } else {
                EXPECT_GT(ack.seq, e.acked) << "acknowledgements of a session come in order";
                e.acked = ack.seq;
                ++total_acks;
            }
        }

        // Reopen (lagging, as a restarted host does) and check.
        LmdbStoreFactory factory(lagging_options(path));
        for (int s = 0; s < kSessions; ++s) {
            std::unique_ptr<FIX::MessageStore> store(factory.create(session_id(s)));
            LaggingExpectation& e = expect[static_cast<std::size_t>(s)];
            const int next_sender = store->getNextSenderMsgSeqNum();
            const int next_target = store->getNextTargetMsgSeqNum();
            EXPECT_GT(next_sender, e.used_max) << "round " << round << " session " << s
                                               << ": a used sender number would be reused";
            if (e.acked >= e.round_first) {
                const int acked_count = e.acked - e.round_first + 1;
                EXPECT_GE(next_target, e.target_base + acked_count)
                    << "round " << round << " session " << s;
                std::vector<std::string> messages;
                store->get(e.round_first, e.acked, messages);
                ASSERT_EQ(messages.size(), static_cast<std::size_t>(acked_count))
                    << "round " << round << " session " << s << ": acknowledged messages "
                    << e.round_first << ".." << e.acked;
                for (int seq = e.round_first; seq <= e.acked; ++seq) {
                    ASSERT_EQ(messages[static_cast<std::size_t>(seq - e.round_first)],
                              content(s, seq))
                        << "round " << round << " session " << s << " message " << seq;
                }
            }
            std::vector<std::string> beyond;
            store->get(next_sender, next_sender + 2 * static_cast<int>(kLaggingReserveBlock),
                       beyond);
            EXPECT_TRUE(beyond.empty()) << "round " << round << " session " << s
                                        << ": a message stored at or past the next sender";
            // The next child resumes from the store, as a restarted session does. Closing
            // this store cleanly keeps its next sender exact for the child.
            e.round_first = next_sender;
            e.acked = 0;
            e.target_base = next_target;
        }
    }
    std::printf("[ crash    ] lagging: %ld numbers used, %ld acknowledged durable over %ld kills\n",
                total_used, total_acks, kills);
    EXPECT_GT(total_acks, 0);
}

TEST(LmdbStoreCrashTest, NoAcknowledgedWriteIsLostUnderSigkill) {
    fxsettle::testing::TempDir dir;
    const std::string path = dir.file("crash.lmdb");
    const long kills = fxsettle::testing::env_long("FXSETTLE_FIX_CRASH_KILLS", 12);
    const long seed = fxsettle::testing::env_long(
        "FXSETTLE_FIX_CRASH_SEED",
        static_cast<long>(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000));
    std::printf("[ crash    ] kills=%ld seed=%ld\n", kills, seed);
    std::mt19937 rng(static_cast<unsigned>(seed));
    std::uniform_int_distribution<int> delay_ms(0, 250);

    std::vector<SessionExpectation> expect(kSessions);
    long total_acks = 0;
    for (long round = 0; round < kills; ++round) {
        int fds[2];
        ASSERT_EQ(::pipe(fds), 0);
        const pid_t child = ::fork();
        ASSERT_GE(child, 0);
        if (child == 0) {
            ::close(fds[0]);
            run_child(path, fds[1]);
        }
        ::close(fds[1]);
        // Read acknowledgements until the kill time, then kill, then drain the pipe: an
        // ack written before the kill counts.
        const auto kill_at =
            std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms(rng));
        std::vector<Ack> acks;
        auto read_some = [&](int timeout_ms) {
            pollfd pfd{fds[0], POLLIN, 0};
            if (::poll(&pfd, 1, timeout_ms) <= 0) {
                return false;
            }
            Ack buf[64];
            const ssize_t n = ::read(fds[0], buf, sizeof buf);
            if (n <= 0) {
                return false;
            }
            // Acks are 8 bytes written atomically (< PIPE_BUF); reads return whole ones.
            EXPECT_EQ(n % static_cast<ssize_t>(sizeof(Ack)), 0);
            acks.insert(acks.end(), buf, buf + n / static_cast<ssize_t>(sizeof(Ack)));
            return true;
        };
        while (std::chrono::steady_clock::now() < kill_at) {
            const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                kill_at - std::chrono::steady_clock::now());
            read_some(static_cast<int>(left.count()) + 1);
        }
        ::kill(child, SIGKILL);
        int status = 0;
        ASSERT_EQ(::waitpid(child, &status, 0), child);
        ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
            << "child ended on its own, status " << status;
        while (read_some(0)) {
        }
        ::close(fds[0]);
        for (SessionExpectation& e : expect) {
            e.round_acks = 0;
        }
        for (const Ack& ack : acks) {
            ASSERT_GE(ack.session, 0);
            ASSERT_LT(ack.session, kSessions);
            SessionExpectation& e = expect[static_cast<std::size_t>(ack.session)];
            EXPECT_EQ(ack.seq, e.acked + 1) << "acks of a session come in order";
            e.acked = ack.seq;
            ++e.round_acks;
        }
        total_acks += static_cast<long>(acks.size());

        // Reopen and check.
        LmdbStoreOptions options;
        options.path = path;
        LmdbStoreFactory factory(options);
        for (int s = 0; s < kSessions; ++s) {
            std::unique_ptr<FIX::MessageStore> store(factory.create(session_id(s)));
            SessionExpectation& e = expect[static_cast<std::size_t>(s)];
            const int next_sender = store->getNextSenderMsgSeqNum();
            const int next_target = store->getNextTargetMsgSeqNum();
            EXPECT_GE(next_sender, e.acked + 1) << "round " << round << " session " << s;
            EXPECT_LE(next_sender, e.acked + 2) << "round " << round << " session " << s;
            const int target_floor = e.target_base + e.round_acks;
            EXPECT_GE(next_target, target_floor) << "round " << round << " session " << s;
            EXPECT_LE(next_target, target_floor + 1) << "round " << round << " session " << s;
            std::vector<std::string> messages;
            store->get(1, next_sender + 10, messages);
            ASSERT_EQ(messages.size(), static_cast<std::size_t>(next_sender - 1))
                << "round " << round << " session " << s << ": messages 1.." << next_sender - 1;
            for (int seq = 1; seq < next_sender; ++seq) {
                ASSERT_EQ(messages[static_cast<std::size_t>(seq - 1)], content(s, seq))
                    << "round " << round << " session " << s << " message " << seq;
            }
            // The next child resumes from what is durable, acknowledged or not.
            e.acked = next_sender - 1;
            e.target_base = next_target;
        }
    }
    std::printf("[ crash    ] %ld acknowledged writes over %ld kills\n", total_acks, kills);
    EXPECT_GT(total_acks, 0);
}

}  // namespace
