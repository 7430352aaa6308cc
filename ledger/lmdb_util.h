// RAII over LMDB's C handles (STYLE.md, "RAII over C handles"): an Env closes its
// environment, a Txn aborts unless committed, a Cursor closes itself. Internal to the
// ledger library.
#pragma once

#include <lmdb.h>

#include <string>
#include <string_view>
#include <utility>

#include "engine/base/status.h"

namespace fxsettle::ledger::lmdb {

// A Status for an LMDB (or errno) return code: "<what>: <mdb_strerror>". MDB_MAP_FULL and
// ENOSPC map to kIoError, MDB_CORRUPTED / MDB_INVALID / MDB_PAGE_NOTFOUND to kCorruption,
// MDB_VERSION_MISMATCH to kUnsupported, EAGAIN/EBUSY to kUnavailable, ENOENT to kNotFound,
// MDB_TXN_FULL (more dirty pages than one write transaction holds) to kResourceExhausted.
Status status(int rc, std::string_view what);

class Env {
  public:
    Env() = default;
    explicit Env(MDB_env* env) : env_(env) {}
    Env(Env&& o) noexcept : env_(std::exchange(o.env_, nullptr)) {}
    Env& operator=(Env&& o) noexcept {
        if (this != &o) {
            reset();
            env_ = std::exchange(o.env_, nullptr);
        }
        return *this;
    }
    Env(const Env&) = delete;
    Env& operator=(const Env&) = delete;
    ~Env() { reset(); }

    MDB_env* get() const noexcept { return env_; }
    void reset() noexcept {
        if (env_ != nullptr) {
            mdb_env_close(env_);
            env_ = nullptr;
        }
    }

  private:
    MDB_env* env_ = nullptr;
};

// A transaction that aborts on destruction unless commit() succeeded. After commit() (even
// a failed one, which frees the handle in LMDB) or abort() the Txn is empty: a failed
// write transaction is never reused.
class Txn {
  public:
    Txn() = default;
    Txn(Txn&& o) noexcept : txn_(std::exchange(o.txn_, nullptr)) {}
    Txn& operator=(Txn&& o) noexcept {
        if (this != &o) {
            abort();
            txn_ = std::exchange(o.txn_, nullptr);
        }
        return *this;
    }
    Txn(const Txn&) = delete;
    Txn& operator=(const Txn&) = delete;
    ~Txn() { abort(); }

    // Returns the raw LMDB code so callers can react to MDB_MAP_RESIZED.
    int begin(MDB_env* env, unsigned flags, MDB_txn* parent = nullptr) noexcept {
        abort();
        return mdb_txn_begin(env, parent, flags, &txn_);
    }
    int commit() noexcept {
        const int rc = mdb_txn_commit(txn_);
        txn_ = nullptr;
        return rc;
    }
    void abort() noexcept {
        if (txn_ != nullptr) {
            mdb_txn_abort(txn_);
            txn_ = nullptr;
        }
    }
    MDB_txn* get() const noexcept { return txn_; }
    explicit operator bool() const noexcept { return txn_ != nullptr; }

  private:
    MDB_txn* txn_ = nullptr;
};

// A cursor; destroy it before its transaction ends (declare it after the Txn).
class Cursor {
  public:
    Cursor() = default;
    Cursor(Cursor&& o) noexcept : cursor_(std::exchange(o.cursor_, nullptr)) {}
    Cursor& operator=(Cursor&&) = delete;
    Cursor(const Cursor&) = delete;
    Cursor& operator=(const Cursor&) = delete;
    ~Cursor() {
        if (cursor_ != nullptr) {
            mdb_cursor_close(cursor_);
        }
    }
    int open(MDB_txn* txn, MDB_dbi dbi) noexcept { return mdb_cursor_open(txn, dbi, &cursor_); }
    int get(MDB_val* key, MDB_val* val, MDB_cursor_op op) noexcept {
        return mdb_cursor_get(cursor_, key, val, op);
    }
    MDB_cursor* raw() const noexcept { return cursor_; }

  private:
    MDB_cursor* cursor_ = nullptr;
};

// A key comparison in exactly the order of LMDB's default (memcmp over the common length,
// then the shorter key first), eight bytes at a time as big-endian words. For the binary
// keys of ids and sequences it is much cheaper than the default's call into memcmp, which
// was the largest single cost of a point read (a lookup compares about log2(rows) keys).
// Because the order is the same, a file is readable with or without it: a tool that opens
// the file with plain LMDB sees the same trees.
int compare_binary_keys(const MDB_val* a, const MDB_val* b) noexcept;

inline MDB_val val(const void* data, std::size_t size) noexcept {
    return MDB_val{size, const_cast<void*>(data)};
}
inline std::string_view view(const MDB_val& v) noexcept {
    return {static_cast<const char*>(v.mv_data), v.mv_size};
}

}  // namespace fxsettle::ledger::lmdb
