// A durable QuickFIX MessageStore on LMDB (issue 5, "Durable session state").
//
// QuickFIX's FileStore only fflush()es, so a crash of the machine can lose sequence
// numbers and sent messages the counterparty has already seen. This store keeps every
// session's next sender and target sequence numbers, its creation time and every sent
// message in one LMDB environment (one file for all sessions, MDB_NOSUBDIR: `path` and
// `path`-lock, mode 0600), and commits each change in a write transaction that LMDB
// fsyncs before the call returns: once set() or a sequence-number call has returned,
// its effect survives kill -9 and power loss.
//
// Two things keep the fsyncs down without giving that up:
// - Group commit. Sessions run on their own threads (ThreadedSocketAcceptor and
//   -Initiator); writes that arrive while a commit is in progress are gathered and
//   committed together in the next transaction, one fsync for all of them. Every caller
//   still returns only after the commit that carries its write.
// - Fused sender increment. QuickFIX persists each message it sends as set(n, msg)
//   followed at once by incrNextSenderMsgSeqNum() (Session::persist). When set() is
//   given n equal to the next sender sequence number, it commits "next sender = n + 1"
//   in the same transaction, and the increment that follows is then already durable and
//   needs no commit of its own. Crashing between the two calls leaves message n stored
//   and next sender n + 1: after the restart the session sends n + 1, the counterparty
//   asks for n, and n is resent from the store, exactly as if it had been lost on the
//   wire. getNextSenderMsgSeqNum() keeps returning n until the increment is called.
//   LmdbStoreOptions::fuse_sender_increment turns this off.
//
// Lagging (group) persistence with durable acknowledgement (LmdbStoreOptions::durability
// = kLagging; SessionHost's default). The synchronous mode above costs one fsync per
// message per session, because QuickFIX's Session::sendRaw persists and writes to the
// socket under the session's lock, one message at a time: ~100-150 messages/s per
// session. In the lagging mode set(), the sequence-number calls and (with the fused
// increment) their state rows apply to the store's in-memory view at once and join a
// queue that a background flusher commits, writes of all sessions in one transaction and
// one fsync, as soon as a caller waits urgently for durability, the queue holds
// group_commit_writes_max writes, or flush_interval passed (SessionHost's acknowledger
// waits without urgency: the messages are already on the wire, only their outbox rows
// wait, and fewer fsyncs leave the disk to the ledger's commits). Every write gets an epoch
// (submitted_epoch()); writes commit strictly in epoch order and a failed or lost commit
// stops all later ones, so what the file holds after any crash is always a prefix of the
// writes in the order they were made: a stored message always comes with the sequence
// numbers that preceded it. durable_epoch() / wait_durable(epoch) say when everything
// written up to an epoch survives kill -9 and power loss.
//
// What may then be lost in a crash, and why nothing the engine released is:
// - Sent messages not yet durable. SessionHost reports a message's token through
//   Handler::on_sent only once wait_durable() covers the set() that stored it, so the
//   engine's transactional outbox still holds the row of every message that is on the
//   wire but not durable here; after a restart the outbox redelivers it (PossResend,
//   same ExecID/ids), and the counterparty's idempotent intake makes the repeat harmless.
// - The next sender sequence number: the file may lag what the counterparty has seen,
//   and a number reused after a restart is fatal in FIX (MsgSeqNum too low, logout).
//   Hence reservations: before a sender number at or past the durable reservation is
//   handed out (set() or incrNextSenderMsgSeqNum()), the state row durably records a
//   high-water mark `reserved` = number + sender_reserve_block (the next block is asked
//   for, without waiting, half a block early, so a session normally never waits for
//   it). A store closed cleanly (destroyed after its last writes became durable) writes
//   reserved = 0. Opening a store whose row has reserved > next sender (it was not
//   closed cleanly) starts the sender at `reserved`: above every number ever used. The
//   counterparty sees a gap and sends a ResendRequest; QuickFIX 1.15.1's
//   Session::nextResendRequest resends what get() returns and fills every number the
//   store lacks with SequenceReset-GapFill (the real-session test checks this).
// - The next target sequence number also lags: after a restart the counterparty's next
//   message is "too high", QuickFIX sends a ResendRequest, and the counterparty resends
//   the messages since then with PossDupFlag. The engine's intake is idempotent (client
//   order id, ExecID, PaymentOrderID, DepositRef), so a re-processed message has no second
//   effect -- and a command received but not yet committed by the engine at the crash
//   comes back by itself, which the synchronous mode could not do.
// - get() returns durable messages and this store's not yet durable ones, so resends
//   during normal operation see everything that was sent.
// - Holes considered. A message on the wire whose set() was lost is not in the store, so
//   a ResendRequest for it gets a GapFill, not the message: the outbox redelivery is what
//   brings it (new number, PossResend, same ids); the counterparty must treat ids, not
//   sequence numbers, as identity (as the rules of engagement require). A reservation
//   written in the same flush as messages never lets a number out early: reserve_sender
//   checks durable_epoch() before handing out a number past the durable mark. reset()
//   and the clean-close mark are synchronous. SIGKILL and power loss differ only in the
//   page cache, which the fsync covers.
// A failed commit (disk full, I/O error) is sticky: nothing later commits, the next store
// call throws FIX::IOException, durable_epoch() stops, so no later message is reported
// durable and the outbox keeps every row.
//
// Thread safety: a factory and its stores may be used from any threads. LMDB forbids
// opening one file twice in a process, so every factory on the same path shares one
// environment (and its flusher thread; the first factory's options set the flusher's
// limits); it is closed when the last factory and store using it are gone. Another
// process must not open the file while this one has it open for writing sessions.
//
// Errors: the factory's constructor throws FIX::ConfigError naming the file and the
// LMDB error; store methods throw FIX::IOException naming the session, the call and the
// LMDB error (MDB_MAP_FULL when the file reached map_size_bytes). Synchronous mode: after
// an exception nothing of the failed call is written and the store's view is unchanged.
#pragma once

#include <quickfix/MessageStore.h>
#include <quickfix/SessionID.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace fxsettle {
namespace adapters {

enum class StoreDurability : std::uint8_t {
    kSynchronous = 0,  // every call returns once its write is durable
    kLagging = 1,      // group persistence; durability through the epochs (see above)
};

struct LmdbStoreOptions {
    // The LMDB file; created with mode 0600 when missing (its directory must exist).
    std::string path;
    // The most the file may grow to. The file is sparse: only what is written uses disk.
    std::uint64_t map_size_bytes = std::uint64_t{4} << 30;
    // The most writes one group commit carries (a bound on a commit's size and latency).
    std::size_t group_commit_writes_max = 1024;
    // See "Fused sender increment" above.
    bool fuse_sender_increment = true;
    StoreDurability durability = StoreDurability::kSynchronous;
    // Lagging mode: the longest a write waits for its commit when no one waits for it.
    std::chrono::microseconds flush_interval{2000};
    // Lagging mode: how far past a sender number the durable reservation reaches.
    std::int64_t sender_reserve_block = 10000;
    // The name of the flusher thread (top -H, perf; at most 15 characters).
    std::string flusher_thread_name = "fx-store-flush";
};

constexpr std::int64_t kSenderReserveBlockMax = 1000000;

// Counters of the shared environment, for metrics and benchmarks.
struct LmdbStoreStats {
    std::uint64_t commits = 0;  // durable write transactions (one fsync each)
    std::uint64_t writes = 0;   // store calls those commits carried
};

namespace detail {
class LmdbStoreEnv;
}

class LmdbStore : public FIX::MessageStore {
  public:
    // Loads the session's state, or creates it (sequence numbers 1 and 1, creation time
    // now) in a durable commit. Throws FIX::IOException when LMDB fails. A row left by a
    // store that was not closed cleanly starts the sender at its reservation (see above).
    LmdbStore(std::shared_ptr<detail::LmdbStoreEnv> env, const FIX::SessionID& session_id,
              const LmdbStoreOptions& options);
    // Lagging mode: waits for this store's writes to become durable, then marks the row
    // closed cleanly (reserved = 0). After a failed commit it leaves the row as it is.
    ~LmdbStore() override;
    LmdbStore(const LmdbStore&) = delete;
    LmdbStore& operator=(const LmdbStore&) = delete;

    // Stores (or replaces) message `seq` (> 0). Returns true once it is durable
    // (synchronous) or queued for the flusher (lagging: see submitted_epoch()).
    bool set(int seq, const std::string& message) throw(FIX::IOException) override;
    // Appends to `messages` (cleared first) the stored messages with sequence numbers
    // in [begin, end], in order (durable ones and this store's queued ones); numbers
    // never stored are skipped.
    void get(int begin, int end, std::vector<std::string>& messages) const
        throw(FIX::IOException) override;

    int getNextSenderMsgSeqNum() const throw(FIX::IOException) override;
    int getNextTargetMsgSeqNum() const throw(FIX::IOException) override;
    void setNextSenderMsgSeqNum(int value) throw(FIX::IOException) override;
    void setNextTargetMsgSeqNum(int value) throw(FIX::IOException) override;
    void incrNextSenderMsgSeqNum() throw(FIX::IOException) override;
    void incrNextTargetMsgSeqNum() throw(FIX::IOException) override;

    FIX::UtcTimeStamp getCreationTime() const throw(FIX::IOException) override;

    // Deletes the session's messages and sets both sequence numbers to 1 and the
    // creation time to now, in one durable commit (both modes wait for it).
    void reset() throw(FIX::IOException) override;
    // Reloads the session's state from the file (QuickFIX calls it for RefreshOnLogon);
    // lagging mode: after waiting for this store's queued writes.
    void refresh() throw(FIX::IOException) override;

    // How many messages of this session the file holds (tests, diagnostics).
    std::size_t message_count() const;

  private:
    struct State {
        std::int64_t next_sender = 1;
        std::int64_t next_target = 1;
        std::int64_t creation_seconds = 0;  // UTC, since 1970
        std::int32_t creation_nanos = 0;
        // Lagging mode: no sender number at or past this is used before it is durable;
        // 0: closed cleanly (or synchronous mode).
        std::int64_t sender_reserved = 0;
    };
    struct Unflushed {
        std::uint64_t epoch = 0;
        std::shared_ptr<const std::string> message;
    };

    State durable_state() const;  // what the file holds (the fused increment applied)
    // Writes the state row: synchronously (returns once durable) or queued (lagging).
    void write_state(const State& state, const char* call);
    void write_state_sync(const State& state, const char* call);
    void load_or_create(bool recover);
    // Lagging mode: makes sure sender number `seq` may be handed out (see above).
    void reserve_sender(std::int64_t seq, const char* call);
    void check_failed(const char* call) const;
    void prune_unflushed();
    std::string message_key(int seq) const;
    [[noreturn]] void fail(const char* call, int rc) const;

    std::shared_ptr<detail::LmdbStoreEnv> env_;
    const std::string session_key_;
    const bool fuse_sender_increment_;
    const bool lagging_;
    const std::int64_t reserve_block_;
    mutable std::mutex mutex_;
    State state_;
    // Non-zero: set(fused_seq_) already committed next sender = fused_seq_ + 1, and
    // state_.next_sender is still fused_seq_ (the increment has not been called yet).
    std::int64_t fused_seq_ = 0;
    // Lagging mode: messages queued but perhaps not durable yet, by sequence number.
    mutable std::map<int, Unflushed> unflushed_;
    std::uint64_t last_epoch_ = 0;          // of this store's latest queued write
    std::int64_t reserved_durable_ = 0;     // a reservation known to be durable
    std::uint64_t reservation_epoch_ = 0;   // the epoch of the latest reservation queued
    std::int64_t reservation_pending_ = 0;  // ... and its value
};

class LmdbStoreFactory : public FIX::MessageStoreFactory {
  public:
    // Opens (creating it when missing) the environment at options.path, or joins the
    // one this process already has open there. Throws FIX::ConfigError naming the file
    // and the reason when it cannot be opened.
    explicit LmdbStoreFactory(const LmdbStoreOptions& options);
    ~LmdbStoreFactory() override;
    LmdbStoreFactory(const LmdbStoreFactory&) = delete;
    LmdbStoreFactory& operator=(const LmdbStoreFactory&) = delete;

    // The store of one session; its state persists across factories and processes.
    // QuickFIX owns the result and returns it through destroy().
    FIX::MessageStore* create(const FIX::SessionID& session_id) override;
    void destroy(FIX::MessageStore* store) override;

    LmdbStoreStats stats() const;
    const std::string& path() const { return path_; }

    // Durability epochs of the shared environment (lagging mode; synchronous writes get
    // epochs too). Every write gets the next epoch; durable_epoch() is the highest epoch
    // whose write and all earlier ones are committed.
    std::uint64_t submitted_epoch() const;
    std::uint64_t durable_epoch() const;
    // Returns true once durable_epoch() >= epoch, false after `timeout` or when no commit
    // can happen any more (a failed commit, or simulate_crash()). `urgent` asks the flusher
    // to commit now; otherwise the wait rides on the flusher's own schedule (flush_interval
    // or group_commit_writes_max), which keeps fsyncs few when the waiter is in no hurry.
    bool wait_durable(std::uint64_t epoch, std::chrono::milliseconds timeout,
                      bool urgent = true) const;
    // Non-empty after a failed commit (the LMDB error; every later store call throws) or
    // simulate_crash() ("simulated crash").
    std::string failure() const;

    // Test hook: behave from now on as if the process had been killed at this instant:
    // nothing more is committed (queued writes are dropped, later ones accepted and
    // dropped), wait_durable() returns false, and stores close without marking the row
    // clean. Affects every factory and store on this file until they are all gone.
    void simulate_crash();

  private:
    std::string path_;
    LmdbStoreOptions options_;
    std::shared_ptr<detail::LmdbStoreEnv> env_;
};

}  // namespace adapters
}  // namespace fxsettle
