#include "adapters/fix/lmdb_store.h"

#include <lmdb.h>
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
          writes_max_(options.group_commit_writes_max == 0 ? 1 : options.group_commit_writes_max) {
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
    }

    ~LmdbStoreEnv() {
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

    // Applies `apply` in a write transaction and returns once that transaction is
    // committed (fsynced), or failed. Writes queued while another thread commits are
    // carried by one transaction; one whose apply fails is retried alone so that it
    // cannot fail the others.
    int write(const Apply& apply) {
        Write op;
        op.apply = &apply;
        std::unique_lock<std::mutex> lock(mutex_);
        queue_.push_back(&op);
        while (!op.done) {
            if (committing_) {
                done_cv_.wait(lock);
                continue;
            }
            committing_ = true;
            std::vector<Write*> batch;
            while (!queue_.empty() && batch.size() < writes_max_) {
                batch.push_back(queue_.front());
                queue_.pop_front();
            }
            lock.unlock();
            try {
                commit(batch);
            } catch (...) {
                // Only allocation can throw here; report it rather than leave every
                // waiter blocked behind `committing_`.
                for (Write* w : batch) {
                    w->rc = ENOMEM;
                }
            }
            lock.lock();
            committing_ = false;
            for (Write* w : batch) {
                w->done = true;
            }
            done_cv_.notify_all();
        }
        return op.rc;
    }

    LmdbStoreStats stats() const {
        LmdbStoreStats s;
        s.commits = commits_.load();
        s.writes = writes_.load();
        return s;
    }

  private:
    struct Write {
        const Apply* apply = nullptr;
        int rc = 0;
        bool done = false;
    };

    void commit(const std::vector<Write*>& batch) {
        MDB_txn* txn = nullptr;
        int rc = mdb_txn_begin(env_, nullptr, 0, &txn);
        if (rc != 0) {
            for (Write* w : batch) {
                w->rc = rc;
            }
            return;
        }
        for (Write* w : batch) {
            rc = (*w->apply)(txn);
            if (rc != 0) {
                break;
            }
        }
        if (rc != 0) {
            // A failed put leaves the transaction unusable (MDB_BAD_TXN): abort it whole
            // and give every write its own transaction.
            mdb_txn_abort(txn);
            if (batch.size() == 1) {
                batch.front()->rc = rc;
                return;
            }
            for (Write* w : batch) {
                commit(std::vector<Write*>{w});
            }
            return;
        }
        rc = mdb_txn_commit(txn);
        if (rc == 0) {
            commits_.fetch_add(1);
            writes_.fetch_add(batch.size());
        }
        for (Write* w : batch) {
            w->rc = rc;
        }
    }

    const std::string path_;
    const std::size_t writes_max_;
    MDB_env* env_ = nullptr;
    MDB_dbi sessions_ = 0;
    MDB_dbi messages_ = 0;

    std::mutex mutex_;
    std::condition_variable done_cv_;
    std::deque<Write*> queue_;
    bool committing_ = false;
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
// creation seconds (8 bytes each), creation nanoseconds (4 bytes).
constexpr std::size_t kStateBytes = 28;

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

LmdbStore::LmdbStore(std::shared_ptr<detail::LmdbStoreEnv> env, const FIX::SessionID& session_id,
                     bool fuse_sender_increment)
    : env_(std::move(env)),
      session_key_(session_id.toString()),
      fuse_sender_increment_(fuse_sender_increment) {
    if (session_key_.empty() || session_key_.size() > kSessionKeyBytesMax) {
        throw FIX::IOException("LMDB store " + env_->path() + ": session id '" + session_key_ +
                               "' is empty or too long");
    }
    std::lock_guard<std::mutex> lock(mutex_);
    load_or_create();
}

LmdbStore::~LmdbStore() = default;

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
                           ": " + mdb_strerror(rc));
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
                         std::int64_t creation_seconds, std::int32_t creation_nanos) {
    std::string out;
    out.reserve(kStateBytes);
    put_u64(out, static_cast<std::uint64_t>(next_sender));
    put_u64(out, static_cast<std::uint64_t>(next_target));
    put_u64(out, static_cast<std::uint64_t>(creation_seconds));
    const std::uint32_t nanos = static_cast<std::uint32_t>(creation_nanos);
    for (int i = 0; i < 4; ++i) {
        out.push_back(static_cast<char>((nanos >> (8 * i)) & 0xffu));
    }
    return out;
}

}  // namespace

void LmdbStore::write_state(const State& state, const char* call) {
    const std::string key = session_key_;
    const std::string value = encode_state(state.next_sender, state.next_target,
                                           state.creation_seconds, state.creation_nanos);
    const MDB_dbi dbi = env_->sessions();
    const int rc = env_->write([&](MDB_txn* txn) {
        MDB_val k = val_of(key);
        MDB_val v = val_of(value);
        return mdb_put(txn, dbi, &k, &v, 0);
    });
    if (rc != 0) {
        fail(call, rc);
    }
}

void LmdbStore::load_or_create() {
    {
        ReadTxn txn(env_->env());
        if (txn.rc() != 0) {
            fail("load", txn.rc());
        }
        MDB_val k = val_of(session_key_);
        MDB_val v;
        const int rc = mdb_get(txn.get(), env_->sessions(), &k, &v);
        if (rc == 0) {
            if (v.mv_size != kStateBytes) {
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
            if (s.next_sender < 1 || s.next_sender > INT_MAX || s.next_target < 1 ||
                s.next_target > INT_MAX || s.creation_nanos < 0 || s.creation_nanos >= 1000000000) {
                throw FIX::IOException("LMDB store " + env_->path() + " session " + session_key_ +
                                       ": state row out of range");
            }
            state_ = s;
            fused_seq_ = 0;
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
    write_state(s, "create");
    state_ = s;
    fused_seq_ = 0;
}

bool LmdbStore::set(int seq, const std::string& message) throw(FIX::IOException) {
    if (seq < 1) {
        throw FIX::IOException("LMDB store session " + session_key_ + ": set(" +
                               std::to_string(seq) + "): sequence numbers start at 1");
    }
    std::lock_guard<std::mutex> lock(mutex_);
    const std::string key = message_key(seq);
    const bool fuse =
        fuse_sender_increment_ && fused_seq_ == 0 && seq == state_.next_sender && seq < INT_MAX;
    std::string state_value;
    if (fuse) {
        const State s = state_;
        state_value = encode_state(seq + std::int64_t{1}, s.next_target, s.creation_seconds,
                                   s.creation_nanos);
    }
    const std::string& session_key = session_key_;
    const MDB_dbi messages = env_->messages();
    const MDB_dbi sessions = env_->sessions();
    const int rc = env_->write([&](MDB_txn* txn) {
        MDB_val k = val_of(key);
        MDB_val v = val_of(message);
        int r = mdb_put(txn, messages, &k, &v, 0);
        if (r == 0 && fuse) {
            MDB_val sk = val_of(session_key);
            MDB_val sv = val_of(state_value);
            r = mdb_put(txn, sessions, &sk, &sv, 0);
        }
        return r;
    });
    if (rc != 0) {
        fail("set", rc);
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
    const std::string prefix = session_key_ + std::string(1, '\0');
    const std::string first = message_key(begin < 1 ? 1 : begin);
    MDB_val k = val_of(first);
    MDB_val v;
    int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE);
    while (rc == 0) {
        if (!has_prefix(k, prefix) || k.mv_size != prefix.size() + 4) {
            break;
        }
        if (sequence_of(k, prefix.size()) > end) {
            break;
        }
        messages.emplace_back(static_cast<const char*>(v.mv_data), v.mv_size);
        rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        fail("get", rc);
    }
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
    int rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_SET_RANGE);
    while (rc == 0 && has_prefix(k, prefix)) {
        ++count;
        rc = mdb_cursor_get(cursor.get(), &k, &v, MDB_NEXT);
    }
    if (rc != 0 && rc != MDB_NOTFOUND) {
        fail("message_count", rc);
    }
    return count;
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
        // set() committed this increment already.
        state_.next_sender += 1;
        fused_seq_ = 0;
        return;
    }
    if (state_.next_sender >= INT_MAX) {
        throw FIX::IOException("LMDB store session " + session_key_ +
                               ": incrNextSenderMsgSeqNum: sequence number overflow");
    }
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
    State s;
    const FIX::UtcTimeStamp now = now_utc();
    s.creation_seconds = static_cast<std::int64_t>(now.getTimeT());
    s.creation_nanos = static_cast<std::int32_t>(now.getNanosecond());
    const std::string state_value =
        encode_state(s.next_sender, s.next_target, s.creation_seconds, s.creation_nanos);
    const std::string prefix = session_key_ + std::string(1, '\0');
    const std::string& session_key = session_key_;
    const MDB_dbi messages = env_->messages();
    const MDB_dbi sessions = env_->sessions();
    const int rc = env_->write([&](MDB_txn* txn) {
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
}

void LmdbStore::refresh() throw(FIX::IOException) {
    std::lock_guard<std::mutex> lock(mutex_);
    load_or_create();
}

// ---- LmdbStoreFactory -----------------------------------------------------------------

LmdbStoreFactory::LmdbStoreFactory(const LmdbStoreOptions& options)
    : path_(options.path),
      fuse_sender_increment_(options.fuse_sender_increment),
      env_(open_env(options)) {}

LmdbStoreFactory::~LmdbStoreFactory() = default;

FIX::MessageStore* LmdbStoreFactory::create(const FIX::SessionID& session_id) {
    return new LmdbStore(env_, session_id, fuse_sender_increment_);
}

void LmdbStoreFactory::destroy(FIX::MessageStore* store) {
    delete store;
}

LmdbStoreStats LmdbStoreFactory::stats() const {
    return env_->stats();
}

}  // namespace adapters
}  // namespace fxsettle
