// What the writer (ledger.cpp) and the read views (read_view.cpp) share: the open
// environment, its database handles, the lock that guards re-mapping, and SHA-256.
// Internal to the ledger library.
#pragma once

#include <openssl/evp.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "ledger/ledger.h"
#include "ledger/lmdb_util.h"
#include "ledger/records.h"

namespace fxsettle::ledger::internal {

struct Dbs {
    MDB_dbi meta = 0;
    MDB_dbi accounts = 0;
    MDB_dbi account_codes = 0;
    MDB_dbi entries = 0;
    MDB_dbi entry_ids = 0;
    MDB_dbi postings = 0;
    MDB_dbi balances = 0;
    MDB_dbi pending = 0;
    MDB_dbi pending_expiry = 0;
    MDB_dbi fx_carry = 0;
    MDB_dbi aux_state = 0;
    MDB_dbi aux_outbox = 0;
    MDB_dbi aux(AuxTable table) const noexcept {
        return table == AuxTable::kOutbox ? aux_outbox : aux_state;
    }
};

// mdb_env_set_mapsize() unmaps and remaps the file: no other thread of this process may
// be inside LMDB meanwhile. Every read-view call is a "reader" of the map; growing (or
// adopting another process's growth) is exclusive. Nobody stays a reader between calls,
// and no cursor or MDB_val outlives a call, so a long-lived view never blocks growth for
// longer than one call. The rare writer spins until the readers drain.
//
// Two ways to be a reader. A read view has its own Slot, and marks it with plain stores:
// the store-then-load handshake with `resizing_` needs a full fence between the two, and
// the writer supplies it for every thread at once with one membarrier() system call
// (Linux's asymmetric fence: every running thread of the process executes a memory
// barrier, and a thread that is not running passes one when it is switched in). So a
// point read pays no atomic read-modify-write at all, the largest cost a shared counter
// added to it. Without membarrier (an old kernel, a seccomp filter), and for readers
// without a view (beginning a read transaction, backups), a reader adds to `active_`
// (two atomic adds).
class MapGuard {
  public:
    // A view's reader mark. Written only by the thread using the view (one at a time),
    // read by the writer. A depth, not a flag, so that nested guards on one view are safe.
    struct alignas(64) Slot {
        std::atomic<std::uint32_t> depth{0};
    };

    MapGuard();
    MapGuard(const MapGuard&) = delete;
    MapGuard& operator=(const MapGuard&) = delete;

    // A slot for a new view, or nullptr without membarrier (the view then uses
    // `active_`). Release it with detach() once the view is done.
    Slot* attach();
    void detach(Slot* slot) noexcept;

    void enter_read(Slot* slot) noexcept {
        if (slot == nullptr) {
            enter_read();
            return;
        }
        const std::uint32_t depth = slot->depth.load(std::memory_order_relaxed);
        if (depth != 0) {
            // Already a reader: the writer waits for this slot anyway.
            slot->depth.store(depth + 1, std::memory_order_relaxed);
            return;
        }
        for (;;) {
            slot->depth.store(1, std::memory_order_relaxed);
            // Keeps the compiler from moving the load above the store; the CPU ordering
            // comes from lock_exclusive()'s membarrier (see the class comment).
            std::atomic_signal_fence(std::memory_order_seq_cst);
            if (!resizing_.load(std::memory_order_acquire)) {
                return;
            }
            slot->depth.store(0, std::memory_order_release);
            while (resizing_.load(std::memory_order_acquire)) {
                std::this_thread::yield();
            }
        }
    }
    void exit_read(Slot* slot) noexcept {
        if (slot == nullptr) {
            exit_read();
            return;
        }
        slot->depth.store(slot->depth.load(std::memory_order_relaxed) - 1,
                          std::memory_order_release);
    }

    void enter_read() noexcept {
        for (;;) {
            active_.fetch_add(1, std::memory_order_seq_cst);
            if (!resizing_.load(std::memory_order_seq_cst)) {
                return;
            }
            active_.fetch_sub(1, std::memory_order_seq_cst);
            while (resizing_.load(std::memory_order_acquire)) {
                std::this_thread::yield();
            }
        }
    }
    void exit_read() noexcept { active_.fetch_sub(1, std::memory_order_release); }

    // Waits until no reader is inside, and keeps new ones out until unlock_exclusive().
    void lock_exclusive();
    void unlock_exclusive() {
        resizing_.store(false, std::memory_order_release);
        mutex_.unlock();
    }

  private:
    alignas(64) std::atomic<std::uint64_t> active_{0};
    alignas(64) std::atomic<bool> resizing_{false};
    bool asymmetric_ = false;  // membarrier is registered: views get slots
    std::mutex mutex_;         // the writer; guards slots_
    std::vector<std::unique_ptr<Slot>> slots_;
};

class ReadGuard {
  public:
    explicit ReadGuard(MapGuard& guard, MapGuard::Slot* slot = nullptr)
        : guard_(guard), slot_(slot) {
        guard_.enter_read(slot_);
    }
    ~ReadGuard() { guard_.exit_read(slot_); }
    ReadGuard(const ReadGuard&) = delete;
    ReadGuard& operator=(const ReadGuard&) = delete;

  private:
    MapGuard& guard_;
    MapGuard::Slot* slot_;
};

// The environment outlives the Ledger while read views still use it.
struct Shared {
    std::filesystem::path path;
    lmdb::Env env;
    Dbs dbs;
    bool read_only = false;
    int lock_fd = -1;  // the writer lock (flock), -1 for read-only opens
    MapGuard map_guard;

    Shared() = default;
    Shared(const Shared&) = delete;
    Shared& operator=(const Shared&) = delete;
    ~Shared();

    // Sets the map size (0: adopt the size in the file), exclusive of all read calls.
    Status set_map_size(std::uint64_t bytes);
    std::uint64_t map_size() const noexcept;
};

// SHA-256 through OpenSSL EVP with one fetched digest and one reused context, so the hot
// path neither looks the algorithm up nor allocates.
class Sha256 {
  public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    // SHA-256(a || b).
    void digest(std::string_view a, std::string_view b, records::Hash& out);

  private:
    EVP_MD* md_ = nullptr;
    EVP_MD_CTX* ctx_ = nullptr;
};

// The id of the kExpirePending entry the sweep writes for a hold: the first 16 bytes of
// SHA-256("fxsettle-expire" || hold id). Deterministic, so a replayed sweep finds it.
EntryId expiry_entry_id(const EntryId& hold);

// A read transaction; adopts a map grown by another process (MDB_MAP_RESIZED).
Result<lmdb::Txn> begin_read(Shared& shared);

std::unique_ptr<ReadView> make_read_view(std::shared_ptr<Shared> shared, lmdb::Txn txn);

inline std::string_view hash_view(const records::Hash& h) noexcept {
    return {reinterpret_cast<const char*>(h.data()), h.size()};
}
std::string hex(const std::uint8_t* data, std::size_t size);

}  // namespace fxsettle::ledger::internal
