#include "adapters/fix/lmdb_store.h"

#include <lmdb.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <thread>
#include <utility>

namespace fxsettle {
namespace adapters {
namespace detail {

// The environment shared by every store on one file, and its group commit.
class LmdbStoreEnv {
  public:
    using Apply = std::function<int(MDB_txn*)>;  // returns an LMDB code, 0 on success

    LmdbStoreEnv(const std::string& path, const LmdbStoreOptions& options)
        : path_(path),
          writes_max_(options.group_commit_writes_max == 0 ? 1 : options.group_commit_writes_max),
          interval_(options.flush_interval.count() < 0 ? std::chrono::microseconds{0}
                                                       : options.flush_interval) {
        int rc = mdb_env_create(&env_);
        if (rc != 0) {
            env_ = nullptr;
            throw FIX::ConfigError("LMDB store " + path + ": mdb_env_create: " + mdb_strerror(rc));
        }
        rc = mdb_env_set_maxdbs(env_, 2);
        if (rc == 0) {
            rc = mdb_env_set_mapsize(env_, static_cast<std::size_t>(options.map_size_bytes));
        }
        if (rc == 0) {
            // MDB_NOTLS: read transactions are not tied to a thread (QuickFIX calls the
            // store from whichever thread runs the session). No MDB_NOSYNC or
            // MDB_NOMETASYNC: every commit is fsynced before it returns.
            rc = mdb_env_open(env_, path.c_str(), MDB_NOSUBDIR | MDB_NOTLS, 0600);
        }
        if (rc == 0) {
            int dead = 0;
            rc = mdb_reader_check(env_, &dead);  // slots of readers killed earlier
        }
        if (rc == 0) {
            MDB_txn* txn = nullptr;
            rc = mdb_txn_begin(env_, nullptr, 0, &txn);
            if (rc == 0) {
                rc = mdb_dbi_open(txn, "fix_sessions", MDB_CREATE, &sessions_);
                if (rc == 0) {
                    rc = mdb_dbi_open(txn, "fix_messages", MDB_CREATE, &messages_);
                }
                if (rc == 0) {
                    rc = mdb_txn_commit(txn);
                } else {
                    mdb_txn_abort(txn);
                }
            }
        }
        if (rc != 0) {
            mdb_env_close(env_);
            env_ = nullptr;
            throw FIX::ConfigError("LMDB store " + path + ": cannot open: " + mdb_strerror(rc));
        }
        const std::string name = options.flusher_thread_name.substr(0, 15);
        flusher_ = std::thread([this, name] {
            ::pthread_setname_np(::pthread_self(), name.c_str());
            flusher_loop();
        });
    }

    // Commits what is queued (unless crashed or failed), then closes the file.
    ~LmdbStoreEnv() {
        {
            std::lock_guard<std::mutex> lock(mutex_);
            stop_ = true;
        }
        work_cv_.notify_all();
        if (flusher_.joinable()) {
            flusher_.join();
        }
        if (env_ != nullptr) {
            mdb_env_close(env_);
        }
    }

    LmdbStoreEnv(const LmdbStoreEnv&) = delete;
    LmdbStoreEnv& operator=(const LmdbStoreEnv&) = delete;

    MDB_env* env() const { return env_; }
    MDB_dbi sessions() const { return sessions_; }
    MDB_dbi messages() const { return messages_; }
    const std::string& path() const { return path_; }

    // Queues `apply` for the flusher and returns its epoch at once. Throws nothing; after a
    // failed commit (failed_rc() != 0) the write is dropped.
    std::uint64_t submit(Apply apply) {
        std::shared_ptr<Write> op = std::make_shared<Write>();
        op->apply = std::move(apply);
        std::lock_guard<std::mutex> lock(mutex_);
        op->epoch = ++submitted_;
        queue_.push_back(std::move(op));
        if (queue_.size() >= writes_max_) {
            work_cv_.notify_one();
        } else if (queue_.size() == 1) {
            work_cv_.notify_one();  // starts the flush interval
        }
        return submitted_;
    }

    // Applies `apply` in a write transaction and returns once that transaction is
    // committed (fsynced), or failed. Writes queued while another commit runs are carried
    // by one transaction; a synchronous write whose apply fails is retried alone so that
    // it cannot fail the others, and its failure is not sticky.
    int write(Apply apply) {
        std::shared_ptr<Write> op = std::make_shared<Write>();
        op->apply = std::move(apply);
        op->sync = true;
        std::unique_lock<std::mutex> lock(mutex_);
        op->epoch = ++submitted_;
        queue_.push_back(op);
        ++waiters_;
        work_cv_.notify_one();
        done_cv_.wait(lock, [&] { return op->done; });
        --waiters_;
        return op->rc;
    }

    std::uint64_t submitted_epoch() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return submitted_;
    }
    std::uint64_t durable_epoch() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return durable_;
    }
    bool wait_durable(std::uint64_t epoch, std::chrono::milliseconds timeout, bool urgent) {
        std::unique_lock<std::mutex> lock(mutex_);
        if (durable_ >= epoch) {
            return true;
        }
        if (urgent) {
            ++waiters_;
            work_cv_.notify_one();
        }
        const bool ok = done_cv_.wait_for(
            lock, timeout, [&] { return durable_ >= epoch || failed_rc_ != 0 || crashed_; });
        if (urgent) {
            --waiters_;
        }
        return ok && durable_ >= epoch;
    }
    int failed_rc() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return failed_rc_;
    }
    bool crashed() const {
        std::lock_guard<std::mutex> lock(mutex_);
        return crashed_;
    }
    void simulate_crash() {
        std::lock_guard<std::mutex> lock(mutex_);
        crashed_ = true;
        done_cv_.notify_all();
        work_cv_.notify_all();
    }

    LmdbStoreStats stats() const {
        LmdbStoreStats s;
        s.commits = commits_.load();
        s.writes = writes_.load();
        return s;
    }

  private:
    struct Write {
        Apply apply;
        std::uint64_t epoch = 0;
        bool sync = false;  // a caller waits for it (its failure is its own)
        int rc = 0;
        bool done = false;
    };
    using Batch = std::vector<std::shared_ptr<Write>>;

    // The flusher: commits queued writes in epoch order, as soon as someone waits, the
    // queue holds writes_max_ writes, or the oldest queued write waited interval_.
    void flusher_loop() {
        std::unique_lock<std::mutex> lock(mutex_);
        for (;;) {
            work_cv_.wait(lock, [&] { return !queue_.empty() || stop_; });
            if (queue_.empty()) {
                return;  // stop_, and everything is committed
            }
            if (!stop_ && waiters_ == 0 && queue_.size() < writes_max_ && !crashed_) {
                work_cv_.wait_for(lock, interval_, [&] {
                    return stop_ || waiters_ > 0 || queue_.size() >= writes_max_ || crashed_;
                });
            }
            Batch batch;
            while (!queue_.empty() && batch.size() < writes_max_) {
                batch.push_back(std::move(queue_.front()));
                queue_.pop_front();
            }
            const bool skip = crashed_ || failed_rc_ != 0;
            const int stuck_rc = crashed_ ? ECANCELED : failed_rc_;
            lock.unlock();
            std::uint64_t durable = 0;
            int sticky = 0;
            if (skip) {
                for (const auto& w : batch) {
                    w->rc = stuck_rc;
                }
            } else {
                try {
                    commit(batch, &durable, &sticky);
                } catch (...) {
                    // Only allocation can throw here.
                    sticky = ENOMEM;
                    for (const auto& w : batch) {
                        w->rc = ENOMEM;
                    }
                }
            }
            lock.lock();
            if (durable > durable_ && !crashed_) {
                durable_ = durable;
            }
            if (sticky != 0 && failed_rc_ == 0) {
                failed_rc_ = sticky;
            }
            for (const auto& w : batch) {
                w->done = true;
            }
            done_cv_.notify_all();
        }
    }

    // Commits `batch` in one transaction; on a failed apply, each write alone in order.
    // *durable: the highest epoch done without a sticky failure before it; *sticky: the
    // error that stops all later commits (a lagging write failed, or a commit failed).
    void commit(const Batch& batch, std::uint64_t* durable, int* sticky) {
        MDB_txn* txn = nullptr;
        int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
        if (rc == 0) {
            for (const auto& w : batch) {
                rc = w->apply(txn);
                if (rc != 0) {
                    break;
                }
            }
            if (rc != 0) {
                // A failed put leaves the transaction unusable (MDB_BAD_TXN): abort it
                // whole and give every write its own transaction.
                mdb_txn_abort(txn);
                if (batch.size() > 1) {
                    for (const auto& w : batch) {
                        if (*sticky != 0) {
                            w->rc = *sticky;
                            continue;
                        }
                        commit(Batch{w}, durable, sticky);
                    }
                    return;
                }
                Write& w = *batch.front();
                w.rc = rc;
                if (w.sync) {
                    *durable = w.epoch;  // wrote nothing; its caller gets the error
                } else {
                    *sticky = rc;
                }
                return;
            }
            rc = mdb_txn_commit(txn);
        }
        for (const auto& w : batch) {
            w->rc = rc;
        }
        if (rc != 0) {
            *sticky = rc;  // durability of the prefix is unknown past this point
            return;
        }
        commits_.fetch_add(1);
        writes_.fetch_add(batch.size());
        *durable = batch.back()->epoch;
    }

    const std::string path_;
    const std::size_t writes_max_;
    const std::chrono::microseconds interval_;
    MDB_env* env_ = nullptr;
    MDB_dbi sessions_ = 0;
    MDB_dbi messages_ = 0;

    mutable std::mutex mutex_;
    std::condition_variable work_cv_;  // the flusher waits here
    std::condition_variable done_cv_;  // writers and wait_durable() wait here
    std::deque<std::shared_ptr<Write>> queue_;
    std::uint64_t submitted_ = 0;
    std::uint64_t durable_ = 0;
    int waiters_ = 0;
    int failed_rc_ = 0;
    bool crashed_ = false;
    bool stop_ = false;
    std::thread flusher_;
    std::atomic<std::uint64_t> commits_{0};
    std::atomic<std::uint64_t> writes_{0};
};

}  // namespace detail

namespace {

// One environment per file per process (LMDB's rule): factories on the same file share
// it. Keyed by the file's device and inode, so different spellings of a path agree.
std::mutex g_registry_mutex;
std::map<std::pair<dev_t, ino_t>, std::weak_ptr<detail::LmdbStoreEnv>> g_registry;

std::shared_ptr<detail::LmdbStoreEnv> open_env(const LmdbStoreOptions& options) {
    if (options.path.empty()) {
        throw FIX::ConfigError("LMDB store: no path given");
    }
    std::lock_guard<std::mutex> lock(g_registry_mutex);
    struct stat st {};
    if (::stat(options.path.c_str(), &st) == 0) {
        auto it = g_registry.find(std::make_pair(st.st_dev, st.st_ino));
        if (it != g_registry.end()) {
            std::shared_ptr<detail::LmdbStoreEnv> existing = it->second.lock();
            if (existing) {
                return existing;
            }
            g_registry.erase(it);
        }
    }
    auto env = std::make_shared<detail::LmdbStoreEnv>(options.path, options);
    if (::stat(options.path.c_str(), &st) != 0) {
        throw FIX::ConfigError("LMDB store " + options.path + ": cannot stat the file it opened");
    }
    g_registry[std::make_pair(st.st_dev, st.st_ino)] = env;
    return env;
}

// Fixed-width little-endian encoding of the state row: next sender, next target,
// creation seconds (8 bytes each), creation nanoseconds (4 bytes), then the sender
// reservation (8 bytes; rows written before it existed have 28 bytes: reservation 0).
constexpr std::size_t kStateBytesV1 = 28;
constexpr std::size_t kStateBytes = 36;

void put_u64(std::string& out, std::uint64_t v) {
    for (int i = 0; i < 8; ++i) {
        out.push_back(static_cast<char>((v >> (8 * i)) & 0xffu));
    }
}

std::uint64_t get_u64(const unsigned char* p) {
    std::uint64_t v = 0;
    for (int i = 7; i >= 0; --i) {
        v = (v << 8) | p[i];
    }
    return v;
}

std::int64_t to_signed(std::uint64_t v) {
    // Values are written from int64 and are never negative here; the cast is exact.
    return v > static_cast<std::uint64_t>(INT64_MAX) ? -1 : static_cast<std::int64_t>(v);
}

MDB_val val_of(const std::string& s) {
    MDB_val v;
    v.mv_size = s.size();
    v.mv_data = const_cast<char*>(s.data());
    return v;
}

FIX::UtcTimeStamp now_utc() {
    return FIX::UtcTimeStamp();
}

// A read transaction that is aborted however the scope ends.
class ReadTxn {
  public:
    explicit ReadTxn(MDB_env* env) { rc_ = mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn_); }
    ~ReadTxn() {
        if (rc_ == 0) {
            mdb_txn_abort(txn_);
        }
    }
    ReadTxn(const ReadTxn&) = delete;
    ReadTxn& operator=(const ReadTxn&) = delete;
    int rc() const { return rc_; }
    MDB_txn* get() const { return txn_; }

  private:
    MDB_txn* txn_ = nullptr;
    int rc_ = 0;
};

class Cursor {
  public:
    Cursor(MDB_txn* txn, MDB_dbi dbi) { rc_ = mdb_cursor_open(txn, dbi, &cursor_); }
    ~Cursor() {
        if (rc_ == 0) {
            mdb_cursor_close(cursor_);
        }
    }
    Cursor(const Cursor&) = delete;
    Cursor& operator=(const Cursor&) = delete;
    int rc() const { return rc_; }
    MDB_cursor* get() const { return cursor_; }

  private:
    MDB_cursor* cursor_ = nullptr;
    int rc_ = 0;
};

bool has_prefix(const MDB_val& key, const std::string& prefix) {
    return key.mv_size >= prefix.size() &&
           std::char_traits<char>::compare(static_cast<const char*>(key.mv_data), prefix.data(),
                                           prefix.size()) == 0;
}

int sequence_of(const MDB_val& key, std::size_t prefix_size) {
    const unsigned char* p = static_cast<const unsigned char*>(key.mv_data) + prefix_size;
    std::uint32_t v = (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) |
                      (std::uint32_t{p[2]} << 8) | std::uint32_t{p[3]};
    return static_cast<int>(v);
}

// The longest session key accepted (LMDB's default key limit is 511 bytes; a message
// key adds five).
constexpr std::size_t kSessionKeyBytesMax = 400;

}  // namespace

// ---- LmdbStore ------------------------------------------------------------------------

namespace {

// How long a store call waits for a reservation or its own writes to become durable
// before it reports a failure.
constexpr std::chrono::milliseconds kDurableWait{30000};

}  // namespace

LmdbStore::LmdbStore(std::shared_ptr<detail::LmdbStoreEnv> env, const FIX::SessionID& session_id,
                     const LmdbStoreOptions& options)
    : env_(std::move(env)),
      session_key_(session_id.toString()),
      fuse_sender_increment_(options.fuse_sender_increment),
      lagging_(options.durability == StoreDurability::kLagging),
      reserve_block_(options.sender_reserve_block) {
    if (session_key_.empty() || session_key_.size() > kSessionKeyBytesMax) {
        throw FIX::IOException("LMDB store " + env_->path() + ": session id '" + session_key_ +
                               "' is empty or too long");
    }
    if (lagging_ && (reserve_block_ < 2 || reserve_block_ > kSenderReserveBlockMax)) {
        throw FIX::IOException("LMDB store " + env_->path() + ": sender_reserve_block " +
                               std::to_string(reserve_block_) + " is not between 2 and " +
                               std::to_string(kSenderReserveBlockMax));
    }
    std::lock_guard<std::mutex> lock(mutex_);
    load_or_create(true);
}

LmdbStore::~LmdbStore() {
    if (!lagging_) {
        return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    try {
        if (env_->crashed() || env_->failed_rc() != 0 ||
            !env_->wait_durable(last_epoch_, kDurableWait, true)) {
            return;  // not closed cleanly: the next open starts at the reservation
        }
        State s = durable_state();
        s.sender_reserved = 0;
        write_state_sync(s, "close");
    } catch (...) {
        // A destructor reports nothing; the row still holds the reservation, so the next
        // open starts above every number used.
    }
}

std::string LmdbStore::message_key(int seq) const {
    std::string key = session_key_;
    key.push_back('\0');  // a session key never holds NUL: prefixes cannot collide
    const std::uint32_t v = static_cast<std::uint32_t>(seq);
    key.push_back(static_cast<char>((v >> 24) & 0xffu));
    key.push_back(static_cast<char>((v >> 16) & 0xffu));
    key.push_back(static_cast<char>((v >> 8) & 0xffu));
    key.push_back(static_cast<char>(v & 0xffu));
    return key;
}

void LmdbStore::fail(const char* call, int rc) const {
    throw FIX::IOException("LMDB store " + env_->path() + " session " + session_key_ + ": " + call +
                           ": " + (rc == ECANCELED ? "simulated crash" : mdb_strerror(rc)));
}

void LmdbStore::check_failed(const char* call) const {
    const int rc = env_->failed_rc();
    if (rc != 0) {
        throw FIX::IOException("LMDB store " + env_->path() + " session " + session_key_ + ": " +
                               call + ": an earlier commit failed (" + mdb_strerror(rc) +
                               "); nothing more is written");
    }
}

LmdbStore::State LmdbStore::durable_state() const {
    State s = state_;
    if (fused_seq_ != 0) {
        s.next_sender = fused_seq_ + 1;
    }
    return s;
}

namespace {

std::string encode_state(std::int64_t next_sender, std::int64_t next_target,
                         std::int64_t creation_seconds, std::int32_t creation_nanos,
                         std::int64_t sender_reserved) {
    std::string out;
    out.reserve(kStateBytes);
    put_u64(out, static_cast<std::uint64_t>(next_sender));
    put_u64(out, static_cast<std::uint64_t>(next_target));
    put_u64(out, static_cast<std::uint64_t>(creation_seconds));
    const std::uint32_t nanos = static_cast<std::uint32_t>(creation_nanos);
    for (int i = 0; i < 4; ++i) {
        out.push_back(static_cast<char>((nanos >> (8 * i)) & 0xffu));
    }
    put_u64(out, static_cast<std::uint64_t>(sender_reserved));
    return out;
}

}  // namespace

void LmdbStore::write_state_sync(const State& state, const char* call) {
    const std::string value =
        encode_state(state.next_sender, state.next_target, state.creation_seconds,
                     state.creation_nanos, state.sender_reserved);
    const std::string key = session_key_;
    const MDB_dbi dbi = env_->sessions();
    const int rc = env_->write([key, value, dbi](MDB_txn* txn) {
        MDB_val k = val_of(key);
        MDB_val v = val_of(value);
        return mdb_put(txn, dbi, &k, &v, 0);
    });
    if (rc != 0) {
        fail(call, rc);
    }
}

void LmdbStore::write_state(const State& state, const char* call) {
    if (!lagging_) {
        write_state_sync(state, call);
        return;
    }
    check_failed(call);
    const std::string value =
        encode_state(state.next_sender, state.next_target, state.creation_seconds,
                     state.creation_nanos, state.sender_reserved);
    const std::string key = session_key_;
    const MDB_dbi dbi = env_->sessions();
    last_epoch_ = env_->submit([key, value, dbi](MDB_txn* txn) {
        MDB_val k = val_of(key);
        MDB_val v = val_of(value);
        return mdb_put(txn, dbi, &k, &v, 0);
    });
}

void LmdbStore::reserve_sender(std::int64_t seq, const char* call) {
    if (!lagging_) {
        return;
    }
    if (seq + reserve_block_ / 2 >= state_.sender_reserved) {
        // Ask for the next block early, without waiting for it.
        State s = durable_state();
        s.sender_reserved = seq + reserve_block_;
        write_state(s, call);
        state_.sender_reserved = s.sender_reserved;
        reservation_pending_ = s.sender_reserved;
        reservation_epoch_ = last_epoch_;
    }
    if (seq < reserved_durable_) {
        return;
    }
    if (reservation_epoch_ != 0 && env_->durable_epoch() >= reservation_epoch_) {
        reserved_durable_ = reservation_pending_;
    }
    if (seq < reserved_durable_) {
        return;
    }
    // Number `seq` may not be used before a reservation past it is durable.
    if (!env_->wait_durable(reservation_epoch_, kDurableWait, true)) {
        check_failed(call);
        throw FIX::IOException("LMDB store " + env_->path() + " session " + session_key_ + ": " +
                               call + ": the sender reservation did not become durable");
    }
    reserved_durable_ = reservation_pending_;
}

void LmdbStore::load_or_create(bool recover) {
    {
        ReadTxn txn(env_->env());
        if (txn.rc() != 0) {
            fail("load", txn.rc());
        }
        MDB_val k = val_of(session_key_);
        MDB_val v;
        const int rc = mdb_get(txn.get(), env_->sessions(), &k, &v);
        if (rc == 0) {
            if (v.mv_size != kStateBytes && v.mv_size != kStateBytesV1) {
                throw FIX::IOException("LMDB store " + env_->path() + " session " + session_key_ +
                                       ": state row has " + std::to_string(v.mv_size) +
                                       " bytes, expected " + std::to_string(kStateBytes));
            }
            const unsigned char* p = static_cast<const unsigned char*>(v.mv_data);
            State s;
            s.next_sender = to_signed(get_u64(p));
            s.next_target = to_signed(get_u64(p + 8));
            s.creation_seconds = to_signed(get_u64(p + 16));
            const std::uint32_t nanos = std::uint32_t{p[24]} | (std::uint32_t{p[25]} << 8) |
                                        (std::uint32_t{p[26]} << 16) | (std::uint32_t{p[27]} << 24);
            s.creation_nanos = static_cast<std::int32_t>(nanos);
            s.sender_reserved = v.mv_size == kStateBytes ? to_signed(get_u64(p + 28)) : 0;
            if (s.next_sender < 1 || s.next_sender > INT_MAX || s.next_target < 1 ||
                s.next_target > INT_MAX || s.creation_nanos < 0 || s.creation_nanos >= 1000000000 ||
                s.sender_reserved < 0 || s.sender_reserved > INT_MAX) {
                throw FIX::IOException("LMDB store " + env_->path() + " session " + session_key_ +
                                       ": state row out of range");
            }
            fused_seq_ = 0;
            if (!recover) {
                // refresh(): this store's own queued writes are durable; keep its reservation.
                s.sender_reserved = state_.sender_reserved;
                state_ = s;
                return;
            }
            bool rewrite = false;
            if (s.sender_reserved > s.next_sender) {
                // Not closed cleanly: numbers up to the reservation may have been used.
                s.next_sender = s.sender_reserved;
                rewrite = true;
            }
            s.sender_reserved = 0;
            if (lagging_) {
                s.sender_reserved = s.next_sender + reserve_block_;
                rewrite = true;
            }
            if (rewrite) {
                write_state_sync(s, "open");
            }
            state_ = s;
            reserved_durable_ = s.sender_reserved;
            return;
        }
        if (rc != MDB_NOTFOUND) {
            fail("load", rc);
        }
    }
    State s;
    const FIX::UtcTimeStamp now = now_utc();
    s.creation_seconds = static_cast<std::int64_t>(now.getTimeT());
    s.creation_nanos = static_cast<std::int32_t>(now.getNanosecond());
    if (lagging_) {
        s.sender_reserved = s.next_sender + reserve_block_;
    }
    write_state_sync(s, "create");
    state_ = s;
    reserved_durable_ = s.sender_reserved;
    fused_seq_ = 0;
}

void LmdbStore::prune_unflushed() {
    if (unflushed_.empty()) {
        return;
    }
    const std::uint64_t durable = env_->durable_epoch();
    for (auto it = unflushed_.begin(); it != unflushed_.end();) {
        if (it->second.epoch <= durable) {
            it = unflushed_.erase(it);
        } else {
            ++it;
        }
    }
}

bool LmdbStore::set(int seq, const std::string& message) throw(FIX::IOException) {
    if (seq < 1) {
        throw FIX::IOException("LMDB store session " + session_key_ + ": set(" +
                               std::to_string(seq) + "): sequence numbers start at 1");
    }
    std::lock_guard<std::mutex> lock(mutex_);
    if (lagging_) {
        check_failed("set");
        reserve_sender(seq, "set");
    }
    const std::string key = message_key(seq);
    const bool fuse =
        fuse_sender_increment_ && fused_seq_ == 0 && seq == state_.next_sender && seq < INT_MAX;
    std::string state_value;
    if (fuse) {
        const State s = state_;
        state_value = encode_state(seq + std::int64_t{1}, s.next_target, s.creation_seconds,
                                   s.creation_nanos, s.sender_reserved);
    }
    const std::string session_key = session_key_;
    const MDB_dbi messages = env_->messages();
    const MDB_dbi sessions = env_->sessions();
    std::shared_ptr<const std::string> body = std::make_shared<const std::string>(message);
    auto apply = [key, body, fuse, session_key, state_value, messages, sessions](MDB_txn* txn) {
        MDB_val k = val_of(key);
        MDB_val v = val_of(*body);
        int r = mdb_put(txn, messages, &k, &v, 0);
        if (r == 0 && fuse) {
            MDB_val sk = val_of(session_key);
            MDB_val sv = val_of(state_value);
            r = mdb_put(txn, sessions, &sk, &sv, 0);
        }
        return r;
    };
    if (lagging_) {
        last_epoch_ = env_->submit(apply);
        prune_unflushed();
        Unflushed& u = unflushed_[seq];
        u.epoch = last_epoch_;
        u.message = std::move(body);
    } else {
        const int rc = env_->write(apply);
        if (rc != 0) {
            fail("set", rc);
        }
    }
    if (fuse) {
        fused_seq_ = seq;
    }
    return true;
}

void LmdbStore::get(int begin, int end, std::vector<std::string>& messages) const
    throw(FIX::IOException) {
    messages.clear();
    if (end < begin || end < 1) {
        return;
    }
    std::lock_guard<std::mutex> lock(mutex_);
    ReadTxn txn(env_->env());
    if (txn.rc() != 0) {
        fail("get", txn.rc());
    }
    Cursor cursor(txn.get(), env_->messages());
    if (cursor.rc() != 0) {
        fail("get", cursor.rc());
    }
    // This store's queued messages overlay the file's (they are newer or equal).
    auto pending = unflushed_.lower_bound(begin);
    auto emit_pending_before = [&](long long limit) {
        while (pending != unflushed_.end() && pending->first <= end && pending->first < limit) {
            messages.push_back(*pending->second.message);
            ++pending;
        }
    };
    const std::string prefix = session_key_ + std::string(1, '\0');
    const std::string first = message_key(begin < 1 ? 1 : begin);
    MDB_val k = val_of(first);
    MDB_val v;
    int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE);
    while (rc == 0) {
        if (!has_prefix(k, prefix) || k.mv_size != prefix.size() + 4) {
            break;
        }
        const int seq = sequence_of(k, prefix.size());
        if (seq > end) {
            break;
        }
        emit_pending_before(seq);
        if (pending != unflushed_.end() && pending->first == seq) {
            messages.push_back(*pending->second.message);
            ++pending;
        } else {
            messages.emplace_back(static_cast<const char*>(v.mv_data), v.mv_size);
        }
        rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        fail("get", rc);
    }
    emit_pending_before(static_cast<long long>(end) + 1);
}

std::size_t LmdbStore::message_count() const {
    std::lock_guard<std::mutex> lock(mutex_);
    ReadTxn txn(env_->env());
    if (txn.rc() != 0) {
        fail("message_count", txn.rc());
    }
    Cursor cursor(txn.get(), env_->messages());
    if (cursor.rc() != 0) {
        fail("message_count", cursor.rc());
    }
    const std::string prefix = session_key_ + std::string(1, '\0');
    MDB_val k = val_of(prefix);
    MDB_val v;
    std::size_t count = 0;
    std::size_t pending_in_file = 0;
    int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE);
    while (rc == 0 && has_prefix(k, prefix)) {
        ++count;
        if (k.mv_size == prefix.size() + 4 &&
            unflushed_.count(sequence_of(k, prefix.size())) != 0) {
            ++pending_in_file;
        }
        rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        fail("message_count", rc);
    }
    return count + unflushed_.size() - pending_in_file;
}

int LmdbStore::getNextSenderMsgSeqNum() const throw(FIX::IOException) {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<int>(state_.next_sender);
}

int LmdbStore::getNextTargetMsgSeqNum() const throw(FIX::IOException) {
    std::lock_guard<std::mutex> lock(mutex_);
    return static_cast<int>(state_.next_target);
}

void LmdbStore::setNextSenderMsgSeqNum(int value) throw(FIX::IOException) {
    if (value < 1) {
        throw FIX::IOException("LMDB store session " + session_key_ + ": setNextSenderMsgSeqNum(" +
                               std::to_string(value) + ")");
    }
    std::lock_guard<std::mutex> lock(mutex_);
    State s = durable_state();
    s.next_sender = value;
    write_state(s, "setNextSenderMsgSeqNum");
    state_ = s;
    fused_seq_ = 0;
}

void LmdbStore::setNextTargetMsgSeqNum(int value) throw(FIX::IOException) {
    if (value < 1) {
        throw FIX::IOException("LMDB store session " + session_key_ + ": setNextTargetMsgSeqNum(" +
                               std::to_string(value) + ")");
    }
    std::lock_guard<std::mutex> lock(mutex_);
    State s = durable_state();
    s.next_target = value;
    write_state(s, "setNextTargetMsgSeqNum");
    state_.next_target = value;
}

void LmdbStore::incrNextSenderMsgSeqNum() throw(FIX::IOException) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (fused_seq_ != 0 && fused_seq_ == state_.next_sender) {
        // set() committed (or queued) this increment already.
        state_.next_sender += 1;
        fused_seq_ = 0;
        return;
    }
    if (state_.next_sender >= INT_MAX) {
        throw FIX::IOException("LMDB store session " + session_key_ +
                               ": incrNextSenderMsgSeqNum: sequence number overflow");
    }
    // The number being used up (an admin message QuickFIX does not store, or a message
    // stored unfused) must be covered by a durable reservation.
    reserve_sender(state_.next_sender, "incrNextSenderMsgSeqNum");
    State s = durable_state();
    s.next_sender = state_.next_sender + 1;
    write_state(s, "incrNextSenderMsgSeqNum");
    state_ = s;
    fused_seq_ = 0;
}

void LmdbStore::incrNextTargetMsgSeqNum() throw(FIX::IOException) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (state_.next_target >= INT_MAX) {
        throw FIX::IOException("LMDB store session " + session_key_ +
                               ": incrNextTargetMsgSeqNum: sequence number overflow");
    }
    State s = durable_state();
    s.next_target += 1;
    write_state(s, "incrNextTargetMsgSeqNum");
    state_.next_target = s.next_target;
}

FIX::UtcTimeStamp LmdbStore::getCreationTime() const throw(FIX::IOException) {
    std::lock_guard<std::mutex> lock(mutex_);
    return FIX::UtcTimeStamp(static_cast<time_t>(state_.creation_seconds), state_.creation_nanos,
                             9);
}

void LmdbStore::reset() throw(FIX::IOException) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (lagging_) {
        check_failed("reset");
    }
    State s;
    const FIX::UtcTimeStamp now = now_utc();
    s.creation_seconds = static_cast<std::int64_t>(now.getTimeT());
    s.creation_nanos = static_cast<std::int32_t>(now.getNanosecond());
    if (lagging_) {
        s.sender_reserved = s.next_sender + reserve_block_;
    }
    const std::string state_value = encode_state(s.next_sender, s.next_target, s.creation_seconds,
                                                 s.creation_nanos, s.sender_reserved);
    const std::string prefix = session_key_ + std::string(1, '\0');
    const std::string session_key = session_key_;
    const MDB_dbi messages = env_->messages();
    const MDB_dbi sessions = env_->sessions();
    // Synchronous in both modes: it follows this store's queued writes (epoch order), so
    // when it returns they are durable too, and none of them can resurrect a message.
    const int rc =
        env_->write([prefix, session_key, state_value, messages, sessions](MDB_txn* txn) {
            MDB_cursor* cursor = nullptr;
            int r = mdb_cursor_open(txn, messages, &cursor);
            if (r != 0) {
                return r;
            }
            MDB_val k = val_of(prefix);
            MDB_val v;
            r = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
            while (r == 0 && has_prefix(k, prefix)) {
                r = mdb_cursor_del(cursor, 0);
                if (r == 0) {
                    k = val_of(prefix);
                    r = mdb_cursor_get(cursor, &k, &v, MDB_SET_RANGE);
                }
            }
            mdb_cursor_close(cursor);
            if (r != 0 && r != MDB_NOTFOUND) {
                return r;
            }
            MDB_val sk = val_of(session_key);
            MDB_val sv = val_of(state_value);
            return mdb_put(txn, sessions, &sk, &sv, 0);
        });
    if (rc != 0) {
        fail("reset", rc);
    }
    state_ = s;
    fused_seq_ = 0;
    unflushed_.clear();
    reserved_durable_ = s.sender_reserved;
    reservation_epoch_ = 0;
    reservation_pending_ = s.sender_reserved;
}

void LmdbStore::refresh() throw(FIX::IOException) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (lagging_) {
        check_failed("refresh");
        if (!env_->wait_durable(last_epoch_, kDurableWait, true)) {
            check_failed("refresh");
            throw FIX::IOException("LMDB store " + env_->path() + " session " + session_key_ +
                                   ": refresh: queued writes did not become durable");
        }
        unflushed_.clear();
    }
    load_or_create(false);
}

// ---- LmdbStoreFactory -----------------------------------------------------------------

LmdbStoreFactory::LmdbStoreFactory(const LmdbStoreOptions& options)
    : path_(options.path), options_(options), env_(open_env(options)) {}

LmdbStoreFactory::~LmdbStoreFactory() = default;

FIX::MessageStore* LmdbStoreFactory::create(const FIX::SessionID& session_id) {
    return new LmdbStore(env_, session_id, options_);
}

void LmdbStoreFactory::destroy(FIX::MessageStore* store) {
    delete store;
}

LmdbStoreStats LmdbStoreFactory::stats() const {
    return env_->stats();
}

std::uint64_t LmdbStoreFactory::submitted_epoch() const {
    return env_->submitted_epoch();
}

std::uint64_t LmdbStoreFactory::durable_epoch() const {
    return env_->durable_epoch();
}

bool LmdbStoreFactory::wait_durable(std::uint64_t epoch, std::chrono::milliseconds timeout,
                                    bool urgent) const {
    return env_->wait_durable(epoch, timeout, urgent);
}

std::string LmdbStoreFactory::failure() const {
    if (env_->crashed()) {
        return "simulated crash";
    }
    const int rc = env_->failed_rc();
    return rc == 0 ? std::string() : std::string(mdb_strerror(rc));
}

void LmdbStoreFactory::simulate_crash() {
    env_->simulate_crash();
}

}  // namespace adapters
}  // namespace fxsettle
