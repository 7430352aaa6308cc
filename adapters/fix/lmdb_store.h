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
// Thread safety: a factory and its stores may be used from any threads. LMDB forbids
// opening one file twice in a process, so every factory on the same path shares one
// environment; it is closed when the last factory and store using it are gone. Another
// process must not open the file while this one has it open for writing sessions.
//
// Errors: the factory's constructor throws FIX::ConfigError naming the file and the
// LMDB error; store methods throw FIX::IOException naming the session, the call and the
// LMDB error (MDB_MAP_FULL when the file reached map_size_bytes). After an exception
// nothing of the failed call is written and the store's view is unchanged.
#pragma once

#include <quickfix/MessageStore.h>
#include <quickfix/SessionID.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace fxsettle {
namespace adapters {

struct LmdbStoreOptions {
    // The LMDB file; created with mode 0600 when missing (its directory must exist).
    std::string path;
    // The most the file may grow to. The file is sparse: only what is written uses disk.
    std::uint64_t map_size_bytes = std::uint64_t{4} << 30;
    // The most writes one group commit carries (a bound on a commit's size and latency).
    std::size_t group_commit_writes_max = 1024;
    // See "Fused sender increment" above.
    bool fuse_sender_increment = true;
};

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
    // now) in a durable commit. Throws FIX::IOException when LMDB fails.
    LmdbStore(std::shared_ptr<detail::LmdbStoreEnv> env, const FIX::SessionID& session_id,
              bool fuse_sender_increment);
    ~LmdbStore() override;
    LmdbStore(const LmdbStore&) = delete;
    LmdbStore& operator=(const LmdbStore&) = delete;

    // Stores (or replaces) message `seq` (> 0). Returns true once it is durable.
    bool set(int seq, const std::string& message) throw(FIX::IOException) override;
    // Appends to `messages` (cleared first) the stored messages with sequence numbers
    // in [begin, end], in order; numbers never stored are skipped.
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
    // creation time to now, in one durable commit.
    void reset() throw(FIX::IOException) override;
    // Reloads the session's state from the file (QuickFIX calls it for RefreshOnLogon).
    void refresh() throw(FIX::IOException) override;

    // How many messages of this session the file holds (tests, diagnostics).
    std::size_t message_count() const;

  private:
    struct State {
        std::int64_t next_sender = 1;
        std::int64_t next_target = 1;
        std::int64_t creation_seconds = 0;  // UTC, since 1970
        std::int32_t creation_nanos = 0;
    };

    State durable_state() const;  // what the file holds (the fused increment applied)
    void write_state(const State& state, const char* call);
    void load_or_create();
    std::string message_key(int seq) const;
    [[noreturn]] void fail(const char* call, int rc) const;

    std::shared_ptr<detail::LmdbStoreEnv> env_;
    const std::string session_key_;
    const bool fuse_sender_increment_;
    mutable std::mutex mutex_;
    State state_;
    // Non-zero: set(fused_seq_) already committed next sender = fused_seq_ + 1, and
    // state_.next_sender is still fused_seq_ (the increment has not been called yet).
    std::int64_t fused_seq_ = 0;
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

  private:
    std::string path_;
    bool fuse_sender_increment_ = true;
    std::shared_ptr<detail::LmdbStoreEnv> env_;
};

}  // namespace adapters
}  // namespace fxsettle
