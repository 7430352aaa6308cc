// Crash test: a writer process killed with SIGKILL at random moments loses no
// acknowledged batch and leaves no partial one.
//
// The parent forks a child that opens the ledger itself (no LMDB environment crosses
// the fork: the parent has closed its own before forking) and commits batches of
// deterministic entries, plus one engine-state row per batch, writing each batch number
// to a pipe after commit() returns ("acknowledged"). The parent kills the child at a
// random moment, reopens the file and checks that every acknowledged batch is there in
// full, that every batch is all or nothing, that balances, the last sequence and the
// state row match exactly the batches present, and that verify() passes. It restarts
// the child from the first unacknowledged batch, as a client retrying unacknowledged
// work would: a batch committed but not acknowledged before the kill must then come
// back as kEntryExists, never be written twice.
//
// SIGKILL loses no page cache, so this proves process-crash atomicity and the
// ack-after-commit order, not power-loss durability (that is the fsync's job).
// FXSETTLE_CRASH_KILLS (default 40) and FXSETTLE_CRASH_SEED tune the run.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "ledger/ledger.h"
#include "ledger/types.h"
#include "tests/integration/ledger/ledger_test_support.h"

namespace fxsettle::ledger {
namespace {

constexpr std::size_t kAccounts = 8;
constexpr std::size_t kEntriesPerBatch = 24;
constexpr std::uint64_t kChildBatchesMax = 100'000;  // the child never ends on its own
constexpr std::string_view kStateKey = "crash_test/last_batch";

// Child exit codes (other than death by SIGKILL), each naming what went wrong.
enum ChildExit : int {
    kChildOpenFailed = 10,
    kChildCommitFailed = 11,
    kChildUnexpectedResult = 12,
    kChildPipeFailed = 13,
    kChildRanOut = 14,
};

const char* child_exit_name(int code) {
    switch (code) {
        case kChildOpenFailed:
            return "the child could not open the ledger";
        case kChildCommitFailed:
            return "a commit failed with a Status";
        case kChildUnexpectedResult:
            return "an operation had an unexpected outcome (a retried batch written twice, or "
                   "a rejected entry)";
        case kChildPipeFailed:
            return "writing the acknowledgement failed";
        case kChildRanOut:
            return "the child ran out of batches";
        default:
            return "unknown exit code";
    }
}

money::Currency usd() {
    return *money::CurrencyTable::iso().find("USD");
}
AccountId account(std::size_t n) {
    return AccountId{0xC4A5, n + 1};
}
EntryId entry_id(std::uint64_t batch, std::size_t i) {
    return EntryId{batch, i + 1};
}
Timestamp batch_time(std::uint64_t batch) {
    return Timestamp(std::chrono::seconds(1'717'408'800) + std::chrono::milliseconds(batch));
}

// The deterministic content of entry i of a batch.
struct Move {
    std::size_t from = 0, to = 0;
    std::int64_t amount_minor = 0;
};
Move move_of(std::uint64_t batch, std::size_t i) {
    std::uint64_t x = batch * 0x9E3779B97F4A7C15ull + i * 0xBF58476D1CE4E5B9ull + 1;
    x ^= x >> 31;
    x *= 0x94D049BB133111EBull;
    x ^= x >> 29;
    Move m;
    m.from = x % kAccounts;
    m.to = (m.from + 1 + (x >> 8) % (kAccounts - 1)) % kAccounts;
    m.amount_minor = 1 + static_cast<std::int64_t>((x >> 20) % 100'000);
    return m;
}

std::vector<Operation> batch_operations(std::uint64_t batch) {
    std::vector<Operation> ops;
    for (std::size_t i = 0; i < kEntriesPerBatch; ++i) {
        const Move mv = move_of(batch, i);
        EntryRequest e;
        e.id = entry_id(batch, i);
        e.value_date = std::chrono::sys_days(std::chrono::year(2024) / 6 / 3);
        e.reference = "crash batch " + std::to_string(batch) + " entry " + std::to_string(i);
        const money::Money m{money::Amount::from_minor(mv.amount_minor), usd()};
        e.postings = {{account(mv.from), Side::kDebit, m}, {account(mv.to), Side::kCredit, m}};
        // Every fourth entry is linked to the next: the chains must commit whole too.
        ops.push_back(Operation{std::move(e), i % 4 == 0});
    }
    return ops;
}

std::unique_ptr<Ledger> open_ledger(const std::filesystem::path& path, Status* error) {
    OpenOptions o;
    o.path = path;
    auto l = Ledger::open(o);
    if (!l) {
        *error = l.error();
        return nullptr;
    }
    return std::move(*l);
}

// The child: commit batches from `first` on, acknowledging each after commit() returns.
// Batches up to `known_committed` were found in the file: they must come back as
// kEntryExists.
[[noreturn]] void child_main(const std::filesystem::path& path, std::uint64_t first,
                             std::uint64_t known_committed, int ack_fd) {
    Status error;
    auto ledger = open_ledger(path, &error);
    if (!ledger)
        _exit(kChildOpenFailed);
    for (std::uint64_t b = first; b < first + kChildBatchesMax; ++b) {
        const auto ops = batch_operations(b);
        const bool retry = b <= known_committed;
        std::vector<AuxWrite> aux;
        if (!retry)
            aux.push_back(AuxWrite{AuxTable::kState, std::string(kStateKey), std::to_string(b)});
        auto results = ledger->commit(ops, batch_time(b), aux);
        if (!results)
            _exit(kChildCommitFailed);
        for (const auto& r : *results) {
            if (r.code != (retry ? ResultCode::kEntryExists : ResultCode::kOk))
                _exit(kChildUnexpectedResult);
        }
        const std::uint64_t ack = b;
        if (write(ack_fd, &ack, sizeof ack) != static_cast<ssize_t>(sizeof ack))
            _exit(kChildPipeFailed);
    }
    _exit(kChildRanOut);
}

struct Figures {
    std::uint64_t kills = 0;
    std::uint64_t acknowledged = 0;       // distinct batches acknowledged
    std::uint64_t checked = 0;            // batch presence checks (all or nothing)
    std::uint64_t lost = 0;               // acknowledged but not (fully) in the file
    std::uint64_t partial = 0;            // some but not all entries of a batch
    std::uint64_t unacked_committed = 0;  // committed, killed before the acknowledgement
    std::uint64_t killed_before_first_ack = 0;
};

void sleep_us(std::uint64_t us) {
    timespec ts{static_cast<time_t>(us / 1'000'000), static_cast<long>((us % 1'000'000) * 1000)};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

// Reads acknowledgements until `want` more arrived, the child died, or `timeout_ms`
// passed. Returns false at end of file (the child is gone).
bool read_acks(int fd, std::uint64_t& max_ack, std::uint64_t& count, std::uint64_t want,
               int timeout_ms) {
    std::uint64_t got = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (got < want || want == 0) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                              deadline - std::chrono::steady_clock::now())
                              .count();
        if (left <= 0 && want != 0)
            return true;
        pollfd p{fd, POLLIN, 0};
        const int rc = poll(&p, 1, want == 0 ? -1 : static_cast<int>(left));
        if (rc <= 0) {
            if (want != 0)
                return true;
            continue;
        }
        std::uint64_t ack = 0;
        const ssize_t n = read(fd, &ack, sizeof ack);
        if (n == 0)
            return false;
        if (n != static_cast<ssize_t>(sizeof ack))
            return false;
        max_ack = std::max(max_ack, ack);
        ++count;
        ++got;
    }
    return true;
}

TEST(LedgerCrash, KilledWriterLosesNoAcknowledgedBatchAndLeavesNoPartialOne) {
    const char* kills_env = std::getenv("FXSETTLE_CRASH_KILLS");
    const char* seed_env = std::getenv("FXSETTLE_CRASH_SEED");
    const std::uint64_t kills = kills_env ? std::strtoull(kills_env, nullptr, 10) : 40;
    const std::uint64_t seed = seed_env ? std::strtoull(seed_env, nullptr, 10) : 0xC0FFEE;
    SCOPED_TRACE("seed " + std::to_string(seed) + " (replay: FXSETTLE_CRASH_SEED=" +
                 std::to_string(seed) + "; kill moments also depend on timing)");
    testing::TempDir dir("fxsettle-crash");  // removed however the test ends
    ASSERT_TRUE(dir.ok());
    const std::filesystem::path path = dir.path() / "ledger.lmdb";
    std::mt19937_64 rng(seed);
    const auto started = std::chrono::steady_clock::now();

    {  // The accounts, before any child runs.
        Status error;
        auto l = open_ledger(path, &error);
        ASSERT_NE(l, nullptr) << error.to_string();
        std::vector<Operation> ops;
        for (std::size_t n = 0; n < kAccounts; ++n) {
            Account a;
            a.id = account(n);
            a.owner = "PSP" + std::to_string(n);
            a.currency = usd();
            a.kind = AccountKind::kPspAvailable;
            a.code = "CRASH/" + std::to_string(n) + "/USD";
            ops.push_back(Operation{CreateAccount{a}, false});
        }
        auto r = l->commit(ops, batch_time(0));
        ASSERT_TRUE(r.has_value()) << r.error().to_string();
    }

    Figures f;
    std::uint64_t max_ack = 0;    // the highest batch ever acknowledged
    std::uint64_t committed = 0;  // the highest batch found in the file
    // The figures are printed however the test ends, a failure included.
    struct PrintOnExit {
        std::function<void()> print;
        ~PrintOnExit() { print(); }
    } print_on_exit{[&] {
        const double seconds =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
        std::printf(
            "crash: seed %llu, kills %llu (before any ack %llu), batches acknowledged %llu, "
            "committed %llu (%zu entries each), batch checks %llu, lost %llu, partial %llu, "
            "committed-but-unacknowledged then retried as duplicates %llu, %.1f s\n",
            static_cast<unsigned long long>(seed), static_cast<unsigned long long>(f.kills),
            static_cast<unsigned long long>(f.killed_before_first_ack),
            static_cast<unsigned long long>(f.acknowledged),
            static_cast<unsigned long long>(committed), kEntriesPerBatch,
            static_cast<unsigned long long>(f.checked), static_cast<unsigned long long>(f.lost),
            static_cast<unsigned long long>(f.partial),
            static_cast<unsigned long long>(f.unacked_committed), seconds);
    }};
    for (std::uint64_t k = 0; k < kills; ++k) {
        SCOPED_TRACE("kill " + std::to_string(k + 1) + ", acknowledged up to batch " +
                     std::to_string(max_ack));
        int fds[2];
        ASSERT_EQ(pipe(fds), 0);
        const std::uint64_t first = max_ack + 1;
        const pid_t pid = fork();
        ASSERT_GE(pid, 0) << "fork";
        if (pid == 0) {
            close(fds[0]);
            child_main(path, first, committed, fds[1]);
        }
        close(fds[1]);
        // The kill moment: a third of the time blind (during open or the first commits),
        // otherwise after 1..6 acknowledgements plus up to 4 ms, i.e. anywhere inside a
        // later commit, its fsync included.
        std::uint64_t acks_this_run = 0, child_max = max_ack;
        bool alive = true;
        if (rng() % 3 == 0) {
            sleep_us(rng() % 30'000);
        } else {
            alive = read_acks(fds[0], child_max, acks_this_run, 1 + rng() % 6, 20'000);
            sleep_us(rng() % 4'000);
        }
        ASSERT_TRUE(alive) << "the child ended before it was killed";
        ASSERT_EQ(kill(pid, SIGKILL), 0);
        int status = 0;
        ASSERT_EQ(waitpid(pid, &status, 0), pid);
        read_acks(fds[0], child_max, acks_this_run, 0, 0);  // what it acknowledged before dying
        close(fds[0]);
        ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
            << "the child was not killed by us: "
            << (WIFEXITED(status) ? child_exit_name(WEXITSTATUS(status)) : "killed by a signal");
        ++f.kills;
        if (acks_this_run == 0)
            ++f.killed_before_first_ack;
        f.acknowledged += child_max > max_ack ? child_max - max_ack : 0;
        max_ack = std::max(max_ack, child_max);

        // Reopen and check, as the restarting engine would; closed again before the
        // next fork.
        Status error;
        auto l = open_ledger(path, &error);
        ASSERT_NE(l, nullptr) << "reopen after kill: " << error.to_string();
        auto view = l->read();
        ASSERT_TRUE(view.has_value()) << view.error().to_string();
        std::uint64_t highest = 0;
        bool gap = false;
        for (std::uint64_t b = 1; b <= max_ack + 3; ++b) {
            std::size_t present = 0;
            for (std::size_t i = 0; i < kEntriesPerBatch; ++i) {
                auto e = (*view)->entry(entry_id(b, i));
                ASSERT_TRUE(e.has_value()) << e.error().to_string();
                present += e->has_value() ? 1 : 0;
            }
            ++f.checked;
            if (present != 0 && present != kEntriesPerBatch) {
                ++f.partial;
                ADD_FAILURE() << "batch " << b << " is partial: " << present << " of "
                              << kEntriesPerBatch << " entries";
            }
            if (present == kEntriesPerBatch) {
                EXPECT_FALSE(gap) << "batch " << b << " is present after a missing batch";
                highest = b;
            } else {
                gap = true;
                if (b <= max_ack) {
                    ++f.lost;
                    ADD_FAILURE() << "acknowledged batch " << b << " is lost";
                }
            }
        }
        ASSERT_GE(highest, committed) << "a batch found committed earlier disappeared";
        f.unacked_committed += highest > max_ack ? highest - std::max(committed, max_ack) : 0;
        committed = highest;

        // Exactly the batches present, nothing else: sequence, balances, state row.
        auto info = (*view)->info();
        ASSERT_TRUE(info.has_value()) << info.error().to_string();
        EXPECT_EQ(info->last_sequence, highest * kEntriesPerBatch);
        std::map<std::size_t, std::int64_t> debits, credits;
        for (std::uint64_t b = 1; b <= highest; ++b) {
            for (std::size_t i = 0; i < kEntriesPerBatch; ++i) {
                const Move mv = move_of(b, i);
                debits[mv.from] += mv.amount_minor;
                credits[mv.to] += mv.amount_minor;
            }
        }
        for (std::size_t n = 0; n < kAccounts; ++n) {
            auto bal = (*view)->balance(account(n));
            ASSERT_TRUE(bal.has_value()) << bal.error().to_string();
            EXPECT_EQ(bal->debits_posted, money::Amount::from_minor(debits[n])) << "account " << n;
            EXPECT_EQ(bal->credits_posted, money::Amount::from_minor(credits[n]))
                << "account " << n;
        }
        auto state = (*view)->aux_get(AuxTable::kState, kStateKey);
        ASSERT_TRUE(state.has_value()) << state.error().to_string();
        if (highest == 0) {
            EXPECT_FALSE(state->has_value());
        } else {
            EXPECT_EQ(state->value_or("<none>"), std::to_string(highest))
                << "the state row written with a batch must commit with it";
        }
        auto report = (*view)->verify();
        ASSERT_TRUE(report.has_value()) << "verify: " << report.error().to_string();
        EXPECT_TRUE(report->ok) << "verify after kill: " << report->failure;
        EXPECT_EQ(report->entries_checked, highest * kEntriesPerBatch);
        view->reset();
        l.reset();
        ASSERT_FALSE(HasFailure()) << "stopping at the first kill that broke something";
    }
    EXPECT_EQ(f.lost, 0u);
    EXPECT_EQ(f.partial, 0u);
    EXPECT_GT(f.acknowledged, 0u) << "no batch was ever acknowledged: the test proved nothing";
}

}  // namespace
}  // namespace fxsettle::ledger
