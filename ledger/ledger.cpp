// The writer: opening the file, applying batches, growing the map, backups.
//
// A batch is applied in two phases. First every operation is validated and applied to an
// in-memory overlay (account records and balances, holds, carries, new entries and their
// posting rows), reading what it needs from the batch's write transaction. Then the
// overlay is flushed into that transaction and committed: one commit, one fsync. So a
// rejected operation never touches LMDB, a linked chain rolls back by undoing its overlay
// changes (an undo log, kept only inside chains), and an MDB_MAP_FULL during the flush
// is handled by growing the map and flushing the same overlay again.
#include <fcntl.h>
#include <linux/membarrier.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include "engine/money/rate.h"
#include "ledger/ledger_internal.h"

namespace fxsettle::ledger {
namespace internal {

namespace {

// Registers the process for private expedited membarrier once; false when the kernel
// lacks it or a filter refuses it.
bool membarrier_ready() {
    static const bool ready = [] {
        const long supported = ::syscall(__NR_membarrier, MEMBARRIER_CMD_QUERY, 0, 0);
        if (supported < 0 || (supported & MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0 ||
            (supported & MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0) {
            return false;
        }
        return ::syscall(__NR_membarrier, MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED, 0, 0) == 0;
    }();
    return ready;
}

}  // namespace

MapGuard::MapGuard() : asymmetric_(membarrier_ready()) {}

MapGuard::Slot* MapGuard::attach() {
    if (!asymmetric_) {
        return nullptr;
    }
    std::lock_guard lock(mutex_);
    return slots_.emplace_back(std::make_unique<Slot>()).get();
}

void MapGuard::detach(Slot* slot) noexcept {
    if (slot == nullptr) {
        return;
    }
    FXSETTLE_ASSERT(slot->depth.load(std::memory_order_relaxed) == 0,
                    "a read view is detached while it reads");
    std::lock_guard lock(mutex_);
    std::erase_if(slots_, [slot](const std::unique_ptr<Slot>& s) { return s.get() == slot; });
}

void MapGuard::lock_exclusive() {
    mutex_.lock();
    resizing_.store(true, std::memory_order_seq_cst);
    if (asymmetric_) {
        // Every thread of the process passes a full barrier: a view's reader either shows
        // its slot's mark now, or sees `resizing_` on its next read.
        const long rc = ::syscall(__NR_membarrier, MEMBARRIER_CMD_PRIVATE_EXPEDITED, 0, 0);
        FXSETTLE_ASSERT(rc == 0, "membarrier failed after it was registered");
    }
    while (active_.load(std::memory_order_seq_cst) != 0) {
        std::this_thread::yield();
    }
    for (const std::unique_ptr<Slot>& slot : slots_) {
        while (slot->depth.load(std::memory_order_acquire) != 0) {
            std::this_thread::yield();
        }
    }
}

Shared::~Shared() {
    env.reset();
    if (lock_fd >= 0) {
        ::close(lock_fd);  // releases the flock
    }
}

Status Shared::set_map_size(std::uint64_t bytes) {
    map_guard.lock_exclusive();
    const int rc = mdb_env_set_mapsize(env.get(), static_cast<std::size_t>(bytes));
    map_guard.unlock_exclusive();
    return lmdb::status(rc, "resizing the map of ledger " + path.string());
}

std::uint64_t Shared::map_size() const noexcept {
    MDB_envinfo info{};
    mdb_env_info(env.get(), &info);
    return info.me_mapsize;
}

Sha256::Sha256() {
    md_ = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    ctx_ = EVP_MD_CTX_new();
    FXSETTLE_ASSERT(md_ != nullptr && ctx_ != nullptr, "OpenSSL has no SHA-256");
}

Sha256::~Sha256() {
    EVP_MD_CTX_free(ctx_);
    EVP_MD_free(md_);
}

void Sha256::digest(std::string_view a, std::string_view b, records::Hash& out) {
    unsigned int size = 0;
    const bool ok = EVP_DigestInit_ex2(ctx_, md_, nullptr) == 1 &&
                    EVP_DigestUpdate(ctx_, a.data(), a.size()) == 1 &&
                    EVP_DigestUpdate(ctx_, b.data(), b.size()) == 1 &&
                    EVP_DigestFinal_ex(ctx_, out.data(), &size) == 1;
    FXSETTLE_ASSERT(ok && size == out.size(), "SHA-256 failed");
}

EntryId expiry_entry_id(const EntryId& hold) {
    static thread_local Sha256 sha;
    const auto key = codec::id_key(hold);
    records::Hash h;
    sha.digest("fxsettle-expire",
               std::string_view(reinterpret_cast<const char*>(key.data()), key.size()), h);
    EntryId id = codec::id_from_key<EntryTag>(h.data());
    if (id.is_zero()) {
        id.lo = 1;
    }
    return id;
}

Result<lmdb::Txn> begin_read(Shared& shared) {
    for (int attempt = 0;; ++attempt) {
        lmdb::Txn txn;
        int rc = 0;
        {
            // Beginning a read transaction reads the meta pages inside the map.
            ReadGuard guard(shared.map_guard);
            rc = txn.begin(shared.env.get(), MDB_RDONLY);
        }
        if (rc == MDB_SUCCESS) {
            return txn;
        }
        if (rc != MDB_MAP_RESIZED || attempt > 8) {
            return fail(lmdb::status(rc, "reading ledger " + shared.path.string()));
        }
        // Another process grew the map beyond ours: adopt its size and try again.
        if (Status s = shared.set_map_size(0); !s) {
            return fail(std::move(s));
        }
    }
}

std::string hex(const std::uint8_t* data, std::size_t size) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(size * 2);
    for (std::size_t i = 0; i < size; ++i) {
        out.push_back(kDigits[data[i] >> 4]);
        out.push_back(kDigits[data[i] & 0xF]);
    }
    return out;
}

}  // namespace internal

namespace {

using internal::Shared;
using records::Hash;

struct IdHash {
    template <typename Tag>
    std::size_t operator()(const Id128<Tag>& id) const noexcept {
        return static_cast<std::size_t>((id.hi * 0x9E3779B97F4A7C15ull) ^ id.lo ^ (id.lo >> 29));
    }
};

// Beyond this many cached accounts the cache is dropped at the start of a batch, so a
// ledger with millions of accounts does not keep them all in memory.
constexpr std::size_t kAccountCacheMax = 1u << 20;
// Map growth doubles the size; this many doublings reach any sane maximum.
constexpr int kMapGrowAttemptsMax = 48;
// LMDB's default maximum key size.
constexpr std::size_t kAuxKeyBytesMax = 511;
// The earliest and latest value dates accepted: 1970-01-01 (the default, "unset") to
// 9999-12-31.
constexpr Date kValueDateMin = Date(std::chrono::days(0));
constexpr Date kValueDateMax = Date(std::chrono::days(2932896));

const money::Int128& one_minor_unit_residue() {
    static const money::Int128 unit = [] {
        money::Int128 v = 1;
        for (int i = 0; i < money::kResidueDecimals; ++i) {
            v *= 10;
        }
        return v;
    }();
    return unit;
}

std::string fmt(const money::Amount& a, const money::Currency& c) {
    return money::format_amount(a, c) + " " + c.to_string();
}
std::string side_name(Side s) {
    return s == Side::kDebit ? "debit" : "credit";
}

struct AccountSlot {
    Account account;
    Balance balance;
    Side normal = Side::kDebit;
    bool account_dirty = false;
    bool balance_dirty = false;
};

struct HoldSlot {
    records::HoldRecord rec;
    bool dirty = false;
};

struct CarrySlot {
    money::Int128 carry;
    bool dirty = false;
};

struct BatchEntry {
    EntryId id;
    std::uint32_t offset = 0;  // of the record in arena_
    std::uint32_t size = 0;
};

struct PostingWrite {
    records::PostingKey key;
    records::PostingValue value;
};

struct ExpiryWrite {
    records::ExpiryKey key;
    EntryId hold;
    bool erase = false;
};

// How one entry changes one account; the amounts point into the request or the hold.
struct Effect {
    AccountSlot* slot = nullptr;
    Side side = Side::kDebit;
    const money::Amount* posted_add = nullptr;
    const money::Amount* pending_add = nullptr;
    const money::Amount* pending_sub = nullptr;
    const money::Amount* row_amount = nullptr;
};

struct Undo {
    enum class Kind : std::uint8_t { kBalance, kAccountCreated, kAccountFlags, kHold, kCarry };
    Kind kind = Kind::kBalance;
    AccountSlot* slot = nullptr;
    Balance balance;
    std::uint32_t flags = 0;
    AccountId account;
    EntryId hold;
    std::optional<HoldSlot> hold_before;
    std::optional<CarrySlot> carry_before;
};

struct Checkpoint {
    std::size_t entries = 0;
    std::size_t arena = 0;
    std::size_t postings = 0;
    std::size_t expiry = 0;
    std::size_t undo = 0;
    std::uint64_t seq = 0;
    Hash head{};
};

class LedgerImpl final : public Ledger {
  public:
    LedgerImpl(std::shared_ptr<Shared> shared, const OpenOptions& options,
               const records::HeadRecord& head)
        : shared_(std::move(shared)),
          options_(options),
          committed_seq_(head.last_sequence),
          committed_ts_(head.last_timestamp),
          committed_head_(head.head_hash) {
        effects_.resize(kPostingsMax * 2);
        work_.resize(kPostingsMax * 2);
        work_index_.resize(kPostingsMax * 2);
        row_balance_.resize(kPostingsMax * 2);
        posted_amounts_.resize(kPostingsMax);
        matched_.resize(kPostingsMax);
    }

    using Ledger::commit;
    Result<std::vector<OpResult>> commit(std::span<const Operation> operations, Timestamp now,
                                         std::span<const AuxWrite> aux,
                                         const CommitOptions& options) override;
    Result<std::unique_ptr<ReadView>> read() override {
        auto txn = internal::begin_read(*shared_);
        if (!txn) {
            return fail(txn.error());
        }
        return internal::make_read_view(shared_, std::move(*txn));
    }
    Status backup(const std::filesystem::path& destination) override;

  private:
    // Processing.
    Status apply(const Operation& op, OpResult& r);
    Status create_account(const Account& a, OpResult& r);
    Status close_account(const AccountId& id, OpResult& r);
    Status apply_entry(const EntryRequest& q, OpResult& r);
    Status apply_postings(const EntryRequest& q, OpResult& r);
    Status apply_resolution(const EntryRequest& q, OpResult& r);
    Status apply_fx(const FxConversionRequest& q, OpResult& r);
    Status apply_expire(const ExpirePending& op, OpResult& r);
    Status expire_hold(const EntryId& hold_id, HoldSlot& hold, OpResult& r);

    // Lookups through the overlay into the write transaction.
    Result<AccountSlot*> find_account(const AccountId& id);
    Result<HoldSlot*> find_hold(const EntryId& id);
    Result<CarrySlot*> find_carry(const AccountId& id);
    Result<std::optional<AccountId>> find_code(const std::string& code);
    // The stored entry with this id (in this batch or committed) into `rec`; false if none.
    Result<bool> find_entry(const EntryId& id, records::EntryRecord& rec);
    Result<bool> entry_by_seq(std::uint64_t seq, records::EntryRecord& rec);

    // Checks that postings balance per currency; false (and r set) if not.
    bool check_balanced(std::span<const Posting> postings, OpResult& r);
    // Applies `n` effects to copies of the balances; false (and r set) on overflow or a
    // no_negative violation. On success work_/work_index_/row_balance_ hold the results.
    bool compute_effects(std::size_t n, OpResult& r);
    // Writes the entry record, its posting rows and the new balances.
    void write_entry(const records::EntryFields& fields, std::size_t n_effects, OpResult& r);

    void set_hold(const EntryId& id, HoldSlot* slot, const records::HoldRecord& rec);
    void set_carry(const AccountId& id, CarrySlot* slot, const money::Int128& carry);

    Checkpoint checkpoint() const;
    void rollback(const Checkpoint& cp);

    Status flush(MDB_txn* txn);
    void reset_batch();
    // All-or-nothing: aborts the write transaction and forgets the batch's overlay, and
    // rewrites the results of the operations that did not fail to kBatchAborted.
    void abort_batch(std::span<OpResult> results);

    static void set_outcome(OpResult& r, ResultCode code, std::string detail) {
        r.code = code;
        r.detail = std::move(detail);
    }

    std::shared_ptr<Shared> shared_;
    OpenOptions options_;

    // The committed head. We are the only writer (flock), so these stay true between
    // batches without re-reading meta.
    std::uint64_t committed_seq_ = 0;
    Timestamp committed_ts_{};
    Hash committed_head_{};

    // The batch in progress.
    lmdb::Txn txn_;
    Timestamp now_{};
    std::uint64_t seq_ = 0;
    Hash head_{};
    bool in_chain_ = false;
    std::span<const AuxWrite> aux_;
    int flush_rc_ = MDB_SUCCESS;  // the LMDB code of a failed put, to recognise MDB_MAP_FULL

    // Accounts with their balances; kept across batches (only this process writes).
    std::unordered_map<AccountId, AccountSlot, IdHash> accounts_;
    std::vector<AccountId> dirty_accounts_;
    std::vector<AccountId> dirty_balances_;
    std::unordered_map<std::string, AccountId> new_codes_;
    std::unordered_map<EntryId, HoldSlot, IdHash> holds_;
    std::unordered_map<AccountId, CarrySlot, IdHash> carries_;
    std::unordered_map<EntryId, std::uint32_t, IdHash> batch_ids_;
    std::vector<BatchEntry> entries_;
    std::string arena_;
    std::vector<PostingWrite> posting_writes_;
    std::vector<ExpiryWrite> expiry_writes_;
    std::vector<Undo> undo_;

    // Scratch, sized once.
    std::vector<Effect> effects_;
    std::vector<Balance> work_;
    std::vector<std::uint16_t> work_index_;
    std::vector<Balance> row_balance_;
    std::vector<money::Amount> posted_amounts_;
    std::vector<bool> matched_;
    std::vector<Posting> fx_postings_;
    struct CurrencySum {
        money::Currency currency;
        money::Amount debits;
        money::Amount credits;
    };
    std::array<CurrencySum, kPostingsMax> sums_;
    records::EntryRecord rec_;
    records::EntryRecord hold_rec_;
    std::string scratch_;
    internal::Sha256 sha_;
};

// ---------------------------------------------------------------------------------------
// Batches

Result<std::vector<OpResult>> LedgerImpl::commit(std::span<const Operation> operations,
                                                 Timestamp now, std::span<const AuxWrite> aux,
                                                 const CommitOptions& options) {
    if (shared_->read_only) {
        return fail(StatusCode::kFailedPrecondition,
                    "ledger " + shared_->path.string() + " is open read-only");
    }
    std::vector<OpResult> results(operations.size());
    if (operations.size() > kBatchOperationsMax) {
        const std::string detail = "batch of " + std::to_string(operations.size()) +
                                   " operations exceeds the maximum of " +
                                   std::to_string(kBatchOperationsMax);
        for (OpResult& r : results) {
            set_outcome(r, ResultCode::kBatchTooLarge, detail);
        }
        return results;
    }
    for (const AuxWrite& w : aux) {
        if (w.key.empty() || w.key.size() > kAuxKeyBytesMax) {
            return fail(StatusCode::kInvalidArgument, "aux key of " + std::to_string(w.key.size()) +
                                                          " bytes; keys take 1.." +
                                                          std::to_string(kAuxKeyBytesMax));
        }
    }

    reset_batch();
    aux_ = aux;
    // Time never goes backwards in the ledger: a clock that stepped back is clamped to
    // the last committed timestamp, so timestamps are non-decreasing with sequence and
    // balance-at-time is a binary search over sequences.
    now_ = std::max(now, committed_ts_);
    if (int rc = txn_.begin(shared_->env.get(), 0); rc != MDB_SUCCESS) {
        if (rc == MDB_MAP_RESIZED) {
            if (Status s = shared_->set_map_size(0); !s) {
                return fail(std::move(s));
            }
            rc = txn_.begin(shared_->env.get(), 0);
        }
        if (rc != MDB_SUCCESS) {
            return fail(lmdb::status(rc, "starting a write on ledger " + shared_->path.string()));
        }
    }

    Status status;
    flush_rc_ = MDB_SUCCESS;
    const std::size_t n = operations.size();
    for (std::size_t i = 0; i < n && status;) {
        std::size_t end = i;
        while (end < n && operations[end].linked) {
            ++end;
        }
        if (end == n) {
            // The batch ends inside a chain: the chain cannot be complete, so none of it
            // is applied.
            for (std::size_t k = i; k < n; ++k) {
                set_outcome(results[k], ResultCode::kLinkedOperationFailed,
                            "the linked chain starting at operation " + std::to_string(i) +
                                " is not closed");
            }
            set_outcome(results[n - 1], ResultCode::kLinkedChainOpen,
                        "the batch's last operation is marked linked");
            break;
        }
        if (end == i) {
            status = apply(operations[i], results[i]);
            ++i;
            continue;
        }
        const Checkpoint cp = checkpoint();
        in_chain_ = true;
        std::optional<std::size_t> failed;
        for (std::size_t k = i; k <= end && status; ++k) {
            status = apply(operations[k], results[k]);
            if (status && !is_success(results[k].code)) {
                failed = k;
                break;
            }
        }
        in_chain_ = false;
        if (status && failed) {
            rollback(cp);
            for (std::size_t k = i; k <= end; ++k) {
                if (k != *failed) {
                    results[k] = OpResult{};
                    set_outcome(results[k], ResultCode::kLinkedOperationFailed,
                                "operation " + std::to_string(*failed) +
                                    " of its linked chain failed: " +
                                    std::string(result_code_name(results[*failed].code)));
                }
            }
        }
        i = end + 1;
    }
    if (status && options.all_or_nothing &&
        std::any_of(results.begin(), results.end(),
                    [](const OpResult& r) { return !is_success(r.code); })) {
        abort_batch(results);
        return results;
    }

    for (int attempt = 0; status; ++attempt) {
        flush_rc_ = MDB_SUCCESS;
        status = flush(txn_.get());
        int rc = MDB_SUCCESS;
        if (status) {
            rc = txn_.commit();
            if (rc == MDB_SUCCESS) {
                break;
            }
            status = lmdb::status(rc, "committing to ledger " + shared_->path.string());
        } else {
            txn_.abort();
        }
        const bool map_full = rc == MDB_MAP_FULL || flush_rc_ == MDB_MAP_FULL;
        if (!map_full || attempt >= kMapGrowAttemptsMax) {
            break;
        }
        // The map is full: grow it (double, up to the maximum) and write the same
        // overlay again in a new transaction. Nothing else writes in between, so what the
        // operations read is still true.
        const std::uint64_t current = shared_->map_size();
        if (current >= options_.map_size_max_bytes) {
            status =
                Status(StatusCode::kIoError,
                       "ledger " + shared_->path.string() + " is full at its maximum map size of " +
                           std::to_string(options_.map_size_max_bytes) + " bytes");
            break;
        }
        status = shared_->set_map_size(std::min(current * 2, options_.map_size_max_bytes));
        if (status) {
            if (const int brc = txn_.begin(shared_->env.get(), 0); brc != MDB_SUCCESS) {
                status =
                    lmdb::status(brc, "restarting a write on ledger " + shared_->path.string());
            }
        }
    }
    if (!status) {
        txn_.abort();
        // The overlay may hold balances that were never committed.
        accounts_.clear();
        return fail(std::move(status));
    }

    committed_seq_ = seq_;
    committed_head_ = head_;
    committed_ts_ = now_;
    for (const AccountId& id : dirty_accounts_) {
        if (auto it = accounts_.find(id); it != accounts_.end()) {
            it->second.account_dirty = false;
        }
    }
    for (const AccountId& id : dirty_balances_) {
        if (auto it = accounts_.find(id); it != accounts_.end()) {
            it->second.balance_dirty = false;
        }
    }
    return results;
}

void LedgerImpl::abort_batch(std::span<OpResult> results) {
    txn_.abort();
    // The cached accounts this batch changed (created, closed, new balances) hold values
    // that are not in the file: forget them, so the next batch reads them again. Every
    // other cached account is as committed (failed operations and rolled-back chains
    // leave the overlay as they found it).
    for (const AccountId& id : dirty_accounts_) {
        accounts_.erase(id);
    }
    for (const AccountId& id : dirty_balances_) {
        accounts_.erase(id);
    }
    // The cause: the first failure that is not a victim of its linked chain.
    std::size_t cause = results.size();
    for (std::size_t i = 0; i < results.size(); ++i) {
        const ResultCode code = results[i].code;
        if (!is_success(code) && (cause == results.size() ||
                                  (code != ResultCode::kLinkedOperationFailed &&
                                   results[cause].code == ResultCode::kLinkedOperationFailed))) {
            cause = i;
        }
    }
    FXSETTLE_ASSERT(cause < results.size(), "aborting a batch in which nothing failed");
    const std::string detail = "nothing of the all-or-nothing batch was written: operation " +
                               std::to_string(cause) + " failed (" +
                               std::string(result_code_name(results[cause].code)) + ")";
    for (OpResult& r : results) {
        if (is_success(r.code)) {
            r = OpResult{};
            set_outcome(r, ResultCode::kBatchAborted, detail);
        }
    }
}

void LedgerImpl::reset_batch() {
    if (accounts_.size() > kAccountCacheMax) {
        accounts_.clear();
    }
    txn_.abort();
    seq_ = committed_seq_;
    head_ = committed_head_;
    in_chain_ = false;
    dirty_accounts_.clear();
    dirty_balances_.clear();
    new_codes_.clear();
    holds_.clear();
    carries_.clear();
    batch_ids_.clear();
    entries_.clear();
    arena_.clear();
    posting_writes_.clear();
    expiry_writes_.clear();
    undo_.clear();
}

Checkpoint LedgerImpl::checkpoint() const {
    Checkpoint cp;
    cp.entries = entries_.size();
    cp.arena = arena_.size();
    cp.postings = posting_writes_.size();
    cp.expiry = expiry_writes_.size();
    cp.undo = undo_.size();
    cp.seq = seq_;
    cp.head = head_;
    return cp;
}

void LedgerImpl::rollback(const Checkpoint& cp) {
    while (undo_.size() > cp.undo) {
        Undo& u = undo_.back();
        switch (u.kind) {
            case Undo::Kind::kBalance:
                u.slot->balance = u.balance;
                break;
            case Undo::Kind::kAccountFlags:
                u.slot->account.flags = u.flags;
                break;
            case Undo::Kind::kAccountCreated:
                if (auto it = accounts_.find(u.account); it != accounts_.end()) {
                    new_codes_.erase(it->second.account.code);
                    accounts_.erase(it);
                }
                break;
            case Undo::Kind::kHold:
                if (u.hold_before) {
                    holds_[u.hold] = *u.hold_before;
                } else {
                    holds_.erase(u.hold);
                }
                break;
            case Undo::Kind::kCarry:
                if (u.carry_before) {
                    carries_[u.account] = *u.carry_before;
                } else {
                    carries_.erase(u.account);
                }
                break;
        }
        undo_.pop_back();
    }
    for (std::size_t i = cp.entries; i < entries_.size(); ++i) {
        batch_ids_.erase(entries_[i].id);
    }
    entries_.resize(cp.entries);
    arena_.resize(cp.arena);
    posting_writes_.resize(cp.postings);
    expiry_writes_.resize(cp.expiry);
    seq_ = cp.seq;
    head_ = cp.head;
}

Status LedgerImpl::apply(const Operation& op, OpResult& r) {
    return std::visit(
        [&](const auto& o) -> Status {
            using T = std::decay_t<decltype(o)>;
            if constexpr (std::is_same_v<T, CreateAccount>) {
                return create_account(o.account, r);
            } else if constexpr (std::is_same_v<T, CloseAccount>) {
                return close_account(o.id, r);
            } else if constexpr (std::is_same_v<T, EntryRequest>) {
                return apply_entry(o, r);
            } else if constexpr (std::is_same_v<T, FxConversionRequest>) {
                return apply_fx(o, r);
            } else {
                return apply_expire(o, r);
            }
        },
        op.op);
}

// ---------------------------------------------------------------------------------------
// Lookups

Result<AccountSlot*> LedgerImpl::find_account(const AccountId& id) {
    if (auto it = accounts_.find(id); it != accounts_.end()) {
        return &it->second;
    }
    const auto key = codec::id_key(id);
    MDB_val k = lmdb::val(key.data(), key.size());
    MDB_val v;
    int rc = mdb_get(txn_.get(), shared_->dbs.accounts, &k, &v);
    if (rc == MDB_NOTFOUND) {
        return nullptr;
    }
    if (rc != MDB_SUCCESS) {
        return fail(lmdb::status(rc, "reading account " + id.to_hex()));
    }
    AccountSlot slot;
    if (!records::decode_account(lmdb::view(v), slot.account) || slot.account.id != id) {
        return fail(StatusCode::kCorruption, "account record " + id.to_hex() + " does not decode");
    }
    rc = mdb_get(txn_.get(), shared_->dbs.balances, &k, &v);
    if (rc != MDB_SUCCESS || !records::decode_balance(lmdb::view(v), slot.balance)) {
        return fail(StatusCode::kCorruption,
                    "balance of account " + id.to_hex() + " is missing or does not decode");
    }
    slot.normal = normal_side(slot.account.kind);
    return &accounts_.emplace(id, std::move(slot)).first->second;
}

Result<HoldSlot*> LedgerImpl::find_hold(const EntryId& id) {
    if (auto it = holds_.find(id); it != holds_.end()) {
        return &it->second;
    }
    const auto key = codec::id_key(id);
    MDB_val k = lmdb::val(key.data(), key.size());
    MDB_val v;
    const int rc = mdb_get(txn_.get(), shared_->dbs.pending, &k, &v);
    if (rc == MDB_NOTFOUND) {
        return nullptr;
    }
    if (rc != MDB_SUCCESS) {
        return fail(lmdb::status(rc, "reading hold " + id.to_hex()));
    }
    HoldSlot slot;
    if (!records::decode_hold(lmdb::view(v), slot.rec)) {
        return fail(StatusCode::kCorruption, "hold record " + id.to_hex() + " does not decode");
    }
    return &holds_.emplace(id, slot).first->second;
}

Result<CarrySlot*> LedgerImpl::find_carry(const AccountId& id) {
    if (auto it = carries_.find(id); it != carries_.end()) {
        return &it->second;
    }
    const auto key = codec::id_key(id);
    MDB_val k = lmdb::val(key.data(), key.size());
    MDB_val v;
    const int rc = mdb_get(txn_.get(), shared_->dbs.fx_carry, &k, &v);
    CarrySlot slot;
    if (rc == MDB_SUCCESS) {
        if (!records::decode_carry(lmdb::view(v), slot.carry)) {
            return fail(StatusCode::kCorruption, "FX carry of " + id.to_hex() + " does not decode");
        }
    } else if (rc != MDB_NOTFOUND) {
        return fail(lmdb::status(rc, "reading FX carry of " + id.to_hex()));
    }
    return &carries_.emplace(id, slot).first->second;
}

Result<std::optional<AccountId>> LedgerImpl::find_code(const std::string& code) {
    if (auto it = new_codes_.find(code); it != new_codes_.end()) {
        return it->second;
    }
    MDB_val k = lmdb::val(code.data(), code.size());
    MDB_val v;
    const int rc = mdb_get(txn_.get(), shared_->dbs.account_codes, &k, &v);
    if (rc == MDB_NOTFOUND) {
        return std::optional<AccountId>();
    }
    if (rc != MDB_SUCCESS || v.mv_size != 16) {
        return fail(lmdb::status(rc == MDB_SUCCESS ? MDB_CORRUPTED : rc,
                                 "reading account code '" + code + "'"));
    }
    return std::optional<AccountId>(
        codec::id_from_key<AccountTag>(static_cast<const std::uint8_t*>(v.mv_data)));
}

Result<bool> LedgerImpl::entry_by_seq(std::uint64_t seq, records::EntryRecord& rec) {
    std::string_view bytes;
    if (seq > committed_seq_) {
        FXSETTLE_ASSERT(seq <= seq_, "entry sequence beyond the batch");
        const BatchEntry& be = entries_[seq - committed_seq_ - 1];
        bytes = std::string_view(arena_).substr(be.offset, be.size);
    } else {
        const auto key = records::seq_key(seq);
        MDB_val k = lmdb::val(key.data(), key.size());
        MDB_val v;
        const int rc = mdb_get(txn_.get(), shared_->dbs.entries, &k, &v);
        if (rc == MDB_NOTFOUND) {
            return false;
        }
        if (rc != MDB_SUCCESS) {
            return fail(lmdb::status(rc, "reading entry " + std::to_string(seq)));
        }
        bytes = lmdb::view(v);
    }
    if (!records::decode_entry(bytes, rec) || rec.entry.sequence != seq) {
        return fail(StatusCode::kCorruption,
                    "entry record " + std::to_string(seq) + " does not decode");
    }
    return true;
}

Result<bool> LedgerImpl::find_entry(const EntryId& id, records::EntryRecord& rec) {
    if (auto it = batch_ids_.find(id); it != batch_ids_.end()) {
        return entry_by_seq(committed_seq_ + it->second + 1, rec);
    }
    const auto key = codec::id_key(id);
    MDB_val k = lmdb::val(key.data(), key.size());
    MDB_val v;
    const int rc = mdb_get(txn_.get(), shared_->dbs.entry_ids, &k, &v);
    if (rc == MDB_NOTFOUND) {
        return false;
    }
    if (rc != MDB_SUCCESS) {
        return fail(lmdb::status(rc, "reading entry id " + id.to_hex()));
    }
    codec::Reader reader(v.mv_data, v.mv_size);
    const bool version_ok = reader.u8() == records::kRecordVersion;
    const std::uint64_t seq = reader.u64();
    if (!version_ok || !reader.ok() || !reader.at_end()) {
        return fail(StatusCode::kCorruption, "entry id record " + id.to_hex() + " does not decode");
    }
    auto found = entry_by_seq(seq, rec);
    if (found && (!*found || rec.entry.id != id)) {
        return fail(StatusCode::kCorruption, "entry id " + id.to_hex() + " points at sequence " +
                                                 std::to_string(seq) +
                                                 ", which holds another entry");
    }
    return found;
}

// ---------------------------------------------------------------------------------------
// Accounts

bool valid_currency(const money::Currency& c) {
    for (char ch : c.code) {
        if (ch < 'A' || ch > 'Z') {
            return false;
        }
    }
    return c.exponent <= money::kExponentMax;
}

Status LedgerImpl::create_account(const Account& a, OpResult& r) {
    if (a.id.is_zero()) {
        set_outcome(r, ResultCode::kAccountIdZero, "account id is zero");
        return {};
    }
    if (a.code.empty() || a.code.size() > kAccountCodeBytesMax) {
        set_outcome(r, ResultCode::kAccountCodeInvalid,
                    "account code of " + std::to_string(a.code.size()) + " bytes; codes take 1.." +
                        std::to_string(kAccountCodeBytesMax));
        return {};
    }
    if (a.name.size() > kAccountNameBytesMax) {
        set_outcome(r, ResultCode::kAccountNameTooLong,
                    "account name of " + std::to_string(a.name.size()) + " bytes exceeds " +
                        std::to_string(kAccountNameBytesMax));
        return {};
    }
    if (a.owner.empty() || a.owner.size() > kOwnerBytesMax) {
        set_outcome(r, ResultCode::kAccountOwnerInvalid,
                    "account owner of " + std::to_string(a.owner.size()) +
                        " bytes; owners take 1.." + std::to_string(kOwnerBytesMax));
        return {};
    }
    const auto kind = static_cast<std::uint16_t>(a.kind);
    if (kind < 1 || kind > static_cast<std::uint16_t>(AccountKind::kPspReceivable)) {
        set_outcome(r, ResultCode::kAccountKindInvalid,
                    "account kind " + std::to_string(kind) + " is not a known kind");
        return {};
    }
    if (!valid_currency(a.currency)) {
        set_outcome(r, ResultCode::kAccountCurrencyInvalid,
                    "account currency '" + std::string(a.currency.code_view()) + "' (exponent " +
                        std::to_string(a.currency.exponent) + ") is not a valid currency");
        return {};
    }
    if ((a.flags & ~std::uint32_t{kAccountNoNegative}) != 0) {
        set_outcome(r, ResultCode::kAccountFlagsInvalid,
                    "account flags " + std::to_string(a.flags) +
                        " have unknown bits or kAccountClosed (close with CloseAccount)");
        return {};
    }
    auto existing = find_account(a.id);
    if (!existing) {
        return existing.error();
    }
    if (AccountSlot* slot = *existing) {
        const Account& e = slot->account;
        const std::string what = "account " + a.id.to_hex() + " (" + e.code + ") exists with ";
        if (e.owner != a.owner) {
            set_outcome(r, ResultCode::kAccountExistsWithDifferentOwner,
                        what + "owner '" + e.owner + "', not '" + a.owner + "'");
        } else if (e.currency != a.currency) {
            set_outcome(
                r, ResultCode::kAccountExistsWithDifferentCurrency,
                what + "currency " + e.currency.to_string() + ", not " + a.currency.to_string());
        } else if (e.kind != a.kind) {
            set_outcome(r, ResultCode::kAccountExistsWithDifferentKind,
                        what + "kind " + std::string(account_kind_name(e.kind)) + ", not " +
                            std::string(account_kind_name(a.kind)));
        } else if (e.flags != a.flags) {
            set_outcome(
                r, ResultCode::kAccountExistsWithDifferentFlags,
                what + "flags " + std::to_string(e.flags) + ", not " + std::to_string(a.flags));
        } else if (e.code != a.code) {
            set_outcome(r, ResultCode::kAccountExistsWithDifferentCode,
                        what + "code '" + e.code + "', not '" + a.code + "'");
        } else if (e.name != a.name) {
            set_outcome(r, ResultCode::kAccountExistsWithDifferentName,
                        what + "name '" + e.name + "', not '" + a.name + "'");
        } else {
            r.code = ResultCode::kAccountExists;
        }
        return {};
    }
    auto holder = find_code(a.code);
    if (!holder) {
        return holder.error();
    }
    if (*holder) {
        set_outcome(r, ResultCode::kAccountCodeTaken,
                    "account code '" + a.code + "' belongs to account " + (*holder)->to_hex());
        return {};
    }
    AccountSlot slot;
    slot.account = a;
    slot.normal = normal_side(a.kind);
    slot.account_dirty = true;
    slot.balance_dirty = true;
    accounts_.emplace(a.id, std::move(slot));
    new_codes_.emplace(a.code, a.id);
    dirty_accounts_.push_back(a.id);
    dirty_balances_.push_back(a.id);
    if (in_chain_) {
        Undo u;
        u.kind = Undo::Kind::kAccountCreated;
        u.account = a.id;
        undo_.push_back(std::move(u));
    }
    r.code = ResultCode::kOk;
    return {};
}

Status LedgerImpl::close_account(const AccountId& id, OpResult& r) {
    auto found = find_account(id);
    if (!found) {
        return found.error();
    }
    AccountSlot* slot = *found;
    if (slot == nullptr) {
        set_outcome(r, ResultCode::kAccountNotFound, "account " + id.to_hex() + " does not exist");
        return {};
    }
    if (slot->account.flags & kAccountClosed) {
        r.code = ResultCode::kOk;  // closing is idempotent
        return {};
    }
    const Balance& b = slot->balance;
    const money::Currency& c = slot->account.currency;
    if (!b.posted(slot->normal).is_zero() || !b.debits_pending.is_zero() ||
        !b.credits_pending.is_zero()) {
        set_outcome(r, ResultCode::kAccountNotZero,
                    "account " + slot->account.code + " has balance " +
                        fmt(b.posted(slot->normal), c) + ", pending debits " +
                        fmt(b.debits_pending, c) + " and pending credits " +
                        fmt(b.credits_pending, c));
        return {};
    }
    if (in_chain_) {
        Undo u;
        u.kind = Undo::Kind::kAccountFlags;
        u.slot = slot;
        u.flags = slot->account.flags;
        undo_.push_back(std::move(u));
    }
    slot->account.flags |= kAccountClosed;
    if (!slot->account_dirty) {
        slot->account_dirty = true;
        dirty_accounts_.push_back(id);
    }
    r.code = ResultCode::kOk;
    return {};
}

// ---------------------------------------------------------------------------------------
// Entries

bool same_request(const EntryRequest& q, const records::EntryRecord& s) {
    const Entry& e = s.entry;
    if ((s.flags & records::kEntryFx) || e.kind != q.kind || e.value_date != q.value_date ||
        e.reference != q.reference || e.pending_id != q.pending_id ||
        e.pending_deadline != q.pending_deadline) {
        return false;
    }
    if (s.flags & records::kEntryDerivedPostings) {
        return q.postings.empty();
    }
    return e.postings == q.postings;
}

bool same_request(const FxConversionRequest& q, const records::EntryRecord& s) {
    if (!s.fx) {
        return false;
    }
    const records::FxSection& fx = *s.fx;
    return s.entry.value_date == q.value_date && s.entry.reference == q.reference &&
           fx.from_account == q.from_account && fx.to_account == q.to_account &&
           fx.fx_position_from == q.fx_position_from && fx.fx_position_to == q.fx_position_to &&
           fx.rounding_account == q.rounding_account && fx.from == q.from &&
           fx.pair == q.rate.pair() && fx.rate_mantissa == q.rate.mantissa() && fx.mode == q.mode;
}

bool LedgerImpl::check_balanced(std::span<const Posting> postings, OpResult& r) {
    std::size_t n = 0;
    for (const Posting& p : postings) {
        std::size_t i = 0;
        while (i < n && sums_[i].currency != p.amount.currency) {
            ++i;
        }
        if (i == n) {
            sums_[n++] = CurrencySum{p.amount.currency, {}, {}};
        }
        money::Amount& total = p.side == Side::kDebit ? sums_[i].debits : sums_[i].credits;
        auto sum = total.checked_add(p.amount.amount);
        if (!sum) {
            set_outcome(
                r, ResultCode::kBalanceOverflow,
                "the " + side_name(p.side) + "s in " + p.amount.currency.to_string() + " overflow");
            return false;
        }
        total = *sum;
    }
    for (std::size_t i = 0; i < n; ++i) {
        const CurrencySum& s = sums_[i];
        if (s.debits != s.credits) {
            const bool more_debits = s.debits > s.credits;
            const money::Amount diff = more_debits ? s.debits - s.credits : s.credits - s.debits;
            set_outcome(r, ResultCode::kUnbalancedCurrency,
                        "unbalanced currency " + s.currency.to_string() + " by " +
                            money::format_amount(diff, s.currency) + ": debits " +
                            money::format_amount(s.debits, s.currency) + ", credits " +
                            money::format_amount(s.credits, s.currency));
            return false;
        }
    }
    return true;
}

bool LedgerImpl::compute_effects(std::size_t n, OpResult& r) {
    for (std::size_t i = 0; i < n; ++i) {
        const Effect& e = effects_[i];
        std::size_t j = 0;
        while (effects_[j].slot != e.slot) {
            ++j;
        }
        work_index_[i] = static_cast<std::uint16_t>(j);
        if (j == i) {
            work_[i] = e.slot->balance;
        }
        Balance& b = work_[j];
        money::Amount& posted = e.side == Side::kDebit ? b.debits_posted : b.credits_posted;
        money::Amount& pending = e.side == Side::kDebit ? b.debits_pending : b.credits_pending;
        bool ok = true;
        if (e.posted_add != nullptr) {
            auto s = posted.checked_add(*e.posted_add);
            ok = ok && s.has_value();
            posted = s.value_or(posted);
        }
        if (e.pending_add != nullptr) {
            auto s = pending.checked_add(*e.pending_add);
            ok = ok && s.has_value();
            pending = s.value_or(pending);
        }
        if (e.pending_sub != nullptr) {
            pending = pending - *e.pending_sub;
            FXSETTLE_ASSERT(!pending.is_negative(), "a hold released more than was pending");
        }
        if (!ok) {
            set_outcome(r, ResultCode::kBalanceOverflow,
                        "the " + side_name(e.side) + " totals of account " + e.slot->account.code +
                            " would overflow");
            return false;
        }
        row_balance_[i] = b;
    }
    for (std::size_t i = 0; i < n; ++i) {
        if (work_index_[i] != i) {
            continue;
        }
        const AccountSlot& slot = *effects_[i].slot;
        if (!(slot.account.flags & kAccountNoNegative)) {
            continue;
        }
        // Pending amounts against the normal side count as spent: a hold must never let
        // the posted balance go negative when it is posted.
        const Balance& b = work_[i];
        const bool credit_normal = slot.normal == Side::kCredit;
        const money::Amount& against_posted = credit_normal ? b.debits_posted : b.credits_posted;
        const money::Amount& against_pending = credit_normal ? b.debits_pending : b.credits_pending;
        const money::Amount& normal_posted = credit_normal ? b.credits_posted : b.debits_posted;
        auto against = against_posted.checked_add(against_pending);
        if (against && *against <= normal_posted) {
            continue;
        }
        const Side against_side = credit_normal ? Side::kDebit : Side::kCredit;
        money::Amount moved;
        for (std::size_t k = 0; k < n; ++k) {
            const Effect& e = effects_[k];
            if (e.slot == &slot && e.side == against_side) {
                if (e.posted_add != nullptr) {
                    moved = moved.checked_add(*e.posted_add).value_or(moved);
                }
                if (e.pending_add != nullptr) {
                    moved = moved.checked_add(*e.pending_add).value_or(moved);
                }
            }
        }
        set_outcome(r, ResultCode::kWouldMakeNegative,
                    "would make account " + slot.account.code + " negative (available " +
                        fmt(slot.balance.available(slot.normal), slot.account.currency) + ", " +
                        side_name(against_side) + " " + fmt(moved, slot.account.currency) + ")");
        return false;
    }
    return true;
}

void LedgerImpl::write_entry(const records::EntryFields& fields, std::size_t n, OpResult& r) {
    const std::size_t offset = arena_.size();
    const std::size_t body = records::encode_entry_body(fields, arena_);
    Hash hash;
    sha_.digest(internal::hash_view(head_),
                std::string_view(arena_).substr(body, arena_.size() - body), hash);
    arena_.append(internal::hash_view(head_));
    arena_.append(internal::hash_view(hash));
    head_ = hash;
    batch_ids_[fields.id] = static_cast<std::uint32_t>(entries_.size());
    entries_.push_back(BatchEntry{fields.id, static_cast<std::uint32_t>(offset),
                                  static_cast<std::uint32_t>(arena_.size() - offset)});
    for (std::size_t i = 0; i < n; ++i) {
        const Effect& e = effects_[i];
        PostingWrite& w = posting_writes_.emplace_back();
        w.key = records::posting_key(e.slot->account.id, fields.sequence,
                                     static_cast<std::uint16_t>(i));
        static const money::Amount kZero;
        records::encode_posting_value(e.side, e.row_amount ? *e.row_amount : kZero, row_balance_[i],
                                      w.value.data());
    }
    for (std::size_t i = 0; i < n; ++i) {
        if (work_index_[i] != i) {
            continue;
        }
        AccountSlot* slot = effects_[i].slot;
        if (in_chain_) {
            Undo& u = undo_.emplace_back();
            u.kind = Undo::Kind::kBalance;
            u.slot = slot;
            u.balance = slot->balance;
        }
        slot->balance = work_[i];
        if (!slot->balance_dirty) {
            slot->balance_dirty = true;
            dirty_balances_.push_back(slot->account.id);
        }
    }
    r.code = ResultCode::kOk;
    r.sequence = fields.sequence;
    r.timestamp = fields.timestamp;
}

void LedgerImpl::set_hold(const EntryId& id, HoldSlot* slot, const records::HoldRecord& rec) {
    if (in_chain_) {
        Undo& u = undo_.emplace_back();
        u.kind = Undo::Kind::kHold;
        u.hold = id;
        if (slot != nullptr) {
            u.hold_before = *slot;
        }
    }
    if (slot == nullptr) {
        slot = &holds_[id];
    }
    slot->rec = rec;
    slot->dirty = true;
}

void LedgerImpl::set_carry(const AccountId& id, CarrySlot* slot, const money::Int128& carry) {
    if (in_chain_) {
        Undo& u = undo_.emplace_back();
        u.kind = Undo::Kind::kCarry;
        u.account = id;
        u.carry_before = *slot;
    }
    slot->carry = carry;
    slot->dirty = true;
}

Status LedgerImpl::apply_entry(const EntryRequest& q, OpResult& r) {
    if (q.id.is_zero()) {
        set_outcome(r, ResultCode::kEntryIdZero, "entry id is zero");
        return {};
    }
    auto found = find_entry(q.id, rec_);
    if (!found) {
        return found.error();
    }
    if (*found) {
        if (same_request(q, rec_)) {
            r.code = ResultCode::kEntryExists;
            r.sequence = rec_.entry.sequence;
            r.timestamp = rec_.entry.timestamp;
        } else {
            set_outcome(r, ResultCode::kEntryExistsWithDifferentContent,
                        "entry " + q.id.to_hex() + " exists (sequence " +
                            std::to_string(rec_.entry.sequence) + ") with different content");
        }
        return {};
    }
    if (q.kind != EntryKind::kPosted && q.kind != EntryKind::kPending &&
        q.kind != EntryKind::kPostPending && q.kind != EntryKind::kVoidPending) {
        set_outcome(r, ResultCode::kEntryKindInvalid,
                    "entry kind " + std::to_string(static_cast<int>(q.kind)) +
                        " cannot be requested (expiry entries are written by ExpirePending)");
        return {};
    }
    if (q.reference.size() > kReferenceBytesMax) {
        set_outcome(r, ResultCode::kReferenceTooLong,
                    "reference of " + std::to_string(q.reference.size()) + " bytes exceeds " +
                        std::to_string(kReferenceBytesMax));
        return {};
    }
    if (q.value_date < kValueDateMin || q.value_date > kValueDateMax) {
        set_outcome(r, ResultCode::kValueDateInvalid,
                    "value date " + std::to_string(q.value_date.time_since_epoch().count()) +
                        " (days since 1970-01-01) is outside 1970-01-01..9999-12-31");
        return {};
    }
    const bool resolves = q.kind == EntryKind::kPostPending || q.kind == EntryKind::kVoidPending;
    if (resolves == q.pending_id.is_zero()) {
        set_outcome(r, ResultCode::kPendingIdInvalid,
                    resolves ? "a post or void must name the pending entry (pending_id is zero)"
                             : "only a post or void may name a pending entry (pending_id is set)");
        return {};
    }
    if (q.pending_deadline && (q.kind != EntryKind::kPending || *q.pending_deadline <= now_)) {
        set_outcome(r, ResultCode::kPendingDeadlineInvalid,
                    q.kind != EntryKind::kPending
                        ? "only a pending entry may have a deadline"
                        : "the deadline " +
                              std::to_string(q.pending_deadline->time_since_epoch().count()) +
                              " ns is not after the commit time " +
                              std::to_string(now_.time_since_epoch().count()) + " ns");
        return {};
    }
    const std::size_t n = q.postings.size();
    const bool may_be_empty = resolves;
    if (q.kind == EntryKind::kVoidPending && n > 0) {
        set_outcome(r, ResultCode::kTooManyPostings, "a void takes no postings");
        return {};
    }
    if (n < 2 && !(may_be_empty && n == 0)) {
        set_outcome(r, ResultCode::kTooFewPostings,
                    std::to_string(n) + " postings; an entry needs at least 2");
        return {};
    }
    if (n > kPostingsMax) {
        set_outcome(
            r, ResultCode::kTooManyPostings,
            std::to_string(n) + " postings exceed the maximum of " + std::to_string(kPostingsMax));
        return {};
    }
    return resolves ? apply_resolution(q, r) : apply_postings(q, r);
}

Status LedgerImpl::apply_postings(const EntryRequest& q, OpResult& r) {
    const std::size_t n = q.postings.size();
    const bool pending = q.kind == EntryKind::kPending;
    for (std::size_t i = 0; i < n; ++i) {
        const Posting& p = q.postings[i];
        if (!p.amount.amount.is_positive()) {
            set_outcome(r, ResultCode::kAmountNotPositive,
                        "posting " + std::to_string(i) + ": amount " +
                            fmt(p.amount.amount, p.amount.currency) + " is not positive");
            return {};
        }
        auto found = find_account(p.account);
        if (!found) {
            return found.error();
        }
        AccountSlot* slot = *found;
        if (slot == nullptr) {
            set_outcome(r, ResultCode::kUnknownAccount,
                        "posting " + std::to_string(i) + ": account " + p.account.to_hex() +
                            " does not exist");
            return {};
        }
        if (slot->account.flags & kAccountClosed) {
            set_outcome(
                r, ResultCode::kAccountIsClosed,
                "posting " + std::to_string(i) + ": account " + slot->account.code + " is closed");
            return {};
        }
        if (slot->account.currency != p.amount.currency) {
            set_outcome(r, ResultCode::kCurrencyMismatch,
                        "posting " + std::to_string(i) + ": " +
                            fmt(p.amount.amount, p.amount.currency) + " to account " +
                            slot->account.code + ", which holds " +
                            slot->account.currency.to_string());
            return {};
        }
        Effect& e = effects_[i];
        e = Effect{};
        e.slot = slot;
        e.side = p.side;
        (pending ? e.pending_add : e.posted_add) = &p.amount.amount;
        e.row_amount = &p.amount.amount;
    }
    if (!check_balanced(q.postings, r) || !compute_effects(n, r)) {
        return {};
    }
    records::EntryFields f;
    f.id = q.id;
    f.sequence = ++seq_;
    f.timestamp = now_;
    f.kind = q.kind;
    f.flags = q.pending_deadline ? records::kEntryHasDeadline : 0;
    f.value_date = q.value_date;
    f.reference = q.reference;
    f.postings = q.postings;
    f.pending_deadline = q.pending_deadline;
    write_entry(f, n, r);
    if (pending) {
        records::HoldRecord hold;
        hold.hold_sequence = f.sequence;
        hold.deadline = q.pending_deadline;
        set_hold(q.id, nullptr, hold);
        if (q.pending_deadline) {
            expiry_writes_.push_back(
                ExpiryWrite{records::expiry_key(*q.pending_deadline, f.sequence), q.id, false});
        }
    }
    return {};
}

std::string ts_text(Timestamp t) {
    return std::to_string(t.time_since_epoch().count()) + " ns";
}

Status LedgerImpl::apply_resolution(const EntryRequest& q, OpResult& r) {
    auto found = find_hold(q.pending_id);
    if (!found) {
        return found.error();
    }
    HoldSlot* hold = *found;
    const std::string hold_name = "pending entry " + q.pending_id.to_hex();
    if (hold == nullptr) {
        set_outcome(r, ResultCode::kPendingNotFound, hold_name + " does not exist");
        return {};
    }
    switch (hold->rec.status) {
        case records::HoldStatus::kPending:
            break;
        case records::HoldStatus::kPosted:
            set_outcome(r, ResultCode::kPendingAlreadyPosted,
                        hold_name + " was posted by entry sequence " +
                            std::to_string(hold->rec.resolved_sequence));
            return {};
        case records::HoldStatus::kVoided:
            set_outcome(r, ResultCode::kPendingAlreadyVoided,
                        hold_name + " was voided by entry sequence " +
                            std::to_string(hold->rec.resolved_sequence));
            return {};
        case records::HoldStatus::kExpired:
            set_outcome(r, ResultCode::kPendingExpired,
                        hold_name + " expired (entry sequence " +
                            std::to_string(hold->rec.resolved_sequence) + ")");
            return {};
    }
    // A hold is expired from its deadline on, whether or not a sweep has run yet; the
    // sweep writes the release.
    if (hold->rec.deadline && now_ >= *hold->rec.deadline) {
        set_outcome(r, ResultCode::kPendingExpired,
                    hold_name + " expired at " + ts_text(*hold->rec.deadline) + " (commit time " +
                        ts_text(now_) + ")");
        return {};
    }
    auto loaded = entry_by_seq(hold->rec.hold_sequence, hold_rec_);
    if (!loaded) {
        return loaded.error();
    }
    FXSETTLE_ASSERT(*loaded && hold_rec_.entry.kind == EntryKind::kPending,
                    "a hold record without its pending entry");
    const std::vector<Posting>& held = hold_rec_.entry.postings;
    const bool post = q.kind == EntryKind::kPostPending;
    const bool partial = post && !q.postings.empty();
    for (std::size_t k = 0; k < held.size(); ++k) {
        auto slot = find_account(held[k].account);
        if (!slot) {
            return slot.error();
        }
        FXSETTLE_ASSERT(*slot != nullptr, "a hold on an account that does not exist");
        Effect& e = effects_[k];
        e = Effect{};
        e.slot = *slot;
        e.side = held[k].side;
        e.pending_sub = &held[k].amount.amount;
        if (post && !partial) {
            e.posted_add = &held[k].amount.amount;
        }
        e.row_amount = (post && !partial) || !post ? &held[k].amount.amount : nullptr;
        matched_[k] = false;
    }
    if (partial) {
        for (std::size_t i = 0; i < q.postings.size(); ++i) {
            const Posting& p = q.postings[i];
            if (!p.amount.amount.is_positive()) {
                set_outcome(r, ResultCode::kAmountNotPositive,
                            "posting " + std::to_string(i) + ": amount " +
                                fmt(p.amount.amount, p.amount.currency) + " is not positive");
                return {};
            }
            std::size_t k = 0;
            while (k < held.size() &&
                   (matched_[k] || held[k].account != p.account || held[k].side != p.side)) {
                ++k;
            }
            if (k == held.size()) {
                set_outcome(r, ResultCode::kPostingNotInPending,
                            "posting " + std::to_string(i) + " (" + side_name(p.side) +
                                " to account " + p.account.to_hex() + ") is not in " + hold_name);
                return {};
            }
            if (p.amount.currency != held[k].amount.currency) {
                set_outcome(r, ResultCode::kCurrencyMismatch,
                            "posting " + std::to_string(i) + ": " +
                                fmt(p.amount.amount, p.amount.currency) + " against a hold in " +
                                held[k].amount.currency.to_string());
                return {};
            }
            if (p.amount.amount > held[k].amount.amount) {
                set_outcome(r, ResultCode::kPostExceedsPending,
                            "posting " + std::to_string(i) + ": " +
                                fmt(p.amount.amount, p.amount.currency) + " exceeds the " +
                                fmt(held[k].amount.amount, held[k].amount.currency) + " held");
                return {};
            }
            matched_[k] = true;
            effects_[k].posted_add = &p.amount.amount;
            effects_[k].row_amount = &p.amount.amount;
        }
        if (!check_balanced(q.postings, r)) {
            return {};
        }
    }
    if (!compute_effects(held.size(), r)) {
        return {};
    }
    records::EntryFields f;
    f.id = q.id;
    f.sequence = ++seq_;
    f.timestamp = now_;
    f.kind = q.kind;
    f.flags = records::kEntryHasPendingId | (partial ? 0 : records::kEntryDerivedPostings);
    f.value_date = q.value_date;
    f.reference = q.reference;
    f.postings = partial ? std::span<const Posting>(q.postings) : std::span<const Posting>(held);
    f.pending_id = q.pending_id;
    write_entry(f, held.size(), r);
    records::HoldRecord resolved = hold->rec;
    resolved.status = post ? records::HoldStatus::kPosted : records::HoldStatus::kVoided;
    resolved.resolved_sequence = f.sequence;
    if (hold->rec.deadline) {
        expiry_writes_.push_back(ExpiryWrite{
            records::expiry_key(*hold->rec.deadline, hold->rec.hold_sequence), q.pending_id, true});
    }
    set_hold(q.pending_id, hold, resolved);
    return {};
}

Status LedgerImpl::expire_hold(const EntryId& hold_id, HoldSlot& hold, OpResult& r) {
    auto loaded = entry_by_seq(hold.rec.hold_sequence, hold_rec_);
    if (!loaded) {
        return loaded.error();
    }
    FXSETTLE_ASSERT(*loaded && hold_rec_.entry.kind == EntryKind::kPending,
                    "a hold record without its pending entry");
    const EntryId id = internal::expiry_entry_id(hold_id);
    auto exists = find_entry(id, rec_);
    if (!exists) {
        return exists.error();
    }
    if (*exists) {
        return Status(StatusCode::kInternal, "the expiry entry id " + id.to_hex() + " of hold " +
                                                 hold_id.to_hex() + " is already taken");
    }
    const std::vector<Posting>& held = hold_rec_.entry.postings;
    for (std::size_t k = 0; k < held.size(); ++k) {
        auto slot = find_account(held[k].account);
        if (!slot) {
            return slot.error();
        }
        FXSETTLE_ASSERT(*slot != nullptr, "a hold on an account that does not exist");
        Effect& e = effects_[k];
        e = Effect{};
        e.slot = *slot;
        e.side = held[k].side;
        e.pending_sub = &held[k].amount.amount;
        e.row_amount = &held[k].amount.amount;
    }
    OpResult scratch;
    FXSETTLE_ASSERT(compute_effects(held.size(), scratch), "releasing a hold cannot fail");
    records::EntryFields f;
    f.id = id;
    f.sequence = ++seq_;
    f.timestamp = now_;
    f.kind = EntryKind::kExpirePending;
    f.flags = records::kEntryHasPendingId | records::kEntryDerivedPostings;
    f.value_date = hold_rec_.entry.value_date;
    f.reference = hold_rec_.entry.reference;
    f.postings = held;
    f.pending_id = hold_id;
    write_entry(f, held.size(), r);
    records::HoldRecord expired = hold.rec;
    expired.status = records::HoldStatus::kExpired;
    expired.resolved_sequence = f.sequence;
    expiry_writes_.push_back(ExpiryWrite{
        records::expiry_key(*hold.rec.deadline, hold.rec.hold_sequence), hold_id, true});
    set_hold(hold_id, &hold, expired);
    return {};
}

Status LedgerImpl::apply_expire(const ExpirePending& op, OpResult& r) {
    // Collect first, then expire: the sweep must not read the index while the overlay
    // changes under it, and holds resolved earlier in this batch are skipped (their index
    // rows are deleted only at flush).
    std::vector<std::pair<EntryId, std::uint64_t>> due;
    {
        lmdb::Cursor cursor;
        if (int rc = cursor.open(txn_.get(), shared_->dbs.pending_expiry); rc != MDB_SUCCESS) {
            return lmdb::status(rc, "opening the hold expiry index");
        }
        const std::uint64_t limit = codec::time_key(now_);
        MDB_val k;
        MDB_val v;
        int rc = cursor.get(&k, &v, MDB_FIRST);
        while (rc == MDB_SUCCESS && due.size() < op.max) {
            if (k.mv_size != 16 || v.mv_size != 16) {
                return Status(StatusCode::kCorruption, "a hold expiry index row does not decode");
            }
            if (codec::get_be64(static_cast<const std::uint8_t*>(k.mv_data)) > limit) {
                break;
            }
            const auto hold_id =
                codec::id_from_key<EntryTag>(static_cast<const std::uint8_t*>(v.mv_data));
            auto hold = find_hold(hold_id);
            if (!hold) {
                return hold.error();
            }
            if (*hold != nullptr && (*hold)->rec.status == records::HoldStatus::kPending) {
                due.emplace_back(hold_id, 0);
            }
            rc = cursor.get(&k, &v, MDB_NEXT);
        }
        if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
            return lmdb::status(rc, "reading the hold expiry index");
        }
    }
    OpResult last;
    for (const auto& [hold_id, unused] : due) {
        auto hold = find_hold(hold_id);
        if (!hold) {
            return hold.error();
        }
        if (Status s = expire_hold(hold_id, **hold, last); !s) {
            return s;
        }
    }
    r.code = ResultCode::kOk;
    r.expired_count = static_cast<std::uint32_t>(due.size());
    r.sequence = last.sequence;
    r.timestamp = last.timestamp;
    return {};
}

Status LedgerImpl::apply_fx(const FxConversionRequest& q, OpResult& r) {
    if (q.id.is_zero()) {
        set_outcome(r, ResultCode::kEntryIdZero, "entry id is zero");
        return {};
    }
    auto found = find_entry(q.id, rec_);
    if (!found) {
        return found.error();
    }
    if (*found) {
        if (same_request(q, rec_)) {
            r.code = ResultCode::kEntryExists;
            r.sequence = rec_.entry.sequence;
            r.timestamp = rec_.entry.timestamp;
            r.converted = money::Money{rec_.fx->converted, rec_.fx->pair.quote};
        } else {
            set_outcome(r, ResultCode::kEntryExistsWithDifferentContent,
                        "entry " + q.id.to_hex() + " exists (sequence " +
                            std::to_string(rec_.entry.sequence) + ") with different content");
        }
        return {};
    }
    if (q.reference.size() > kReferenceBytesMax) {
        set_outcome(r, ResultCode::kReferenceTooLong,
                    "reference of " + std::to_string(q.reference.size()) + " bytes exceeds " +
                        std::to_string(kReferenceBytesMax));
        return {};
    }
    if (q.value_date < kValueDateMin || q.value_date > kValueDateMax) {
        set_outcome(r, ResultCode::kValueDateInvalid,
                    "value date " + std::to_string(q.value_date.time_since_epoch().count()) +
                        " (days since 1970-01-01) is outside 1970-01-01..9999-12-31");
        return {};
    }
    if (!q.from.amount.is_positive()) {
        set_outcome(r, ResultCode::kAmountNotPositive,
                    "conversion of " + fmt(q.from.amount, q.from.currency) + ": not positive");
        return {};
    }
    if (q.rate.pair().base != q.from.currency) {
        set_outcome(r, ResultCode::kConversionFailed,
                    "rate " + q.rate.pair().to_string() + " does not convert from " +
                        q.from.currency.to_string());
        return {};
    }
    const money::Currency& target = q.rate.pair().quote;
    struct Role {
        const char* name;
        const AccountId* id;
        const money::Currency* currency;
        AccountSlot* slot;
    };
    std::array<Role, 5> roles{{{"from_account", &q.from_account, &q.from.currency, nullptr},
                               {"fx_position_from", &q.fx_position_from, &q.from.currency, nullptr},
                               {"fx_position_to", &q.fx_position_to, &target, nullptr},
                               {"to_account", &q.to_account, &target, nullptr},
                               {"rounding_account", &q.rounding_account, &target, nullptr}}};
    for (Role& role : roles) {
        auto slot = find_account(*role.id);
        if (!slot) {
            return slot.error();
        }
        if (*slot == nullptr) {
            set_outcome(r, ResultCode::kUnknownAccount,
                        std::string(role.name) + " " + role.id->to_hex() + " does not exist");
            return {};
        }
        if ((*slot)->account.flags & kAccountClosed) {
            set_outcome(r, ResultCode::kAccountIsClosed,
                        std::string(role.name) + " " + (*slot)->account.code + " is closed");
            return {};
        }
        if ((*slot)->account.currency != *role.currency) {
            set_outcome(r, ResultCode::kCurrencyMismatch,
                        std::string(role.name) + " " + (*slot)->account.code + " holds " +
                            (*slot)->account.currency.to_string() + ", not " +
                            role.currency->to_string());
            return {};
        }
        role.slot = *slot;
    }
    auto conversion = money::convert(q.from, q.rate, q.mode);
    if (!conversion) {
        set_outcome(r, ResultCode::kConversionFailed,
                    "converting " + fmt(q.from.amount, q.from.currency) + " at " +
                        q.rate.to_string() + ": " + conversion.error().message());
        return {};
    }
    const money::Money& converted = conversion->converted;
    if (!converted.amount.is_positive()) {
        set_outcome(r, ResultCode::kAmountNotPositive,
                    fmt(q.from.amount, q.from.currency) + " at " + q.rate.to_string() +
                        " converts to " + fmt(converted.amount, converted.currency));
        return {};
    }
    auto carry = find_carry(q.rounding_account);
    if (!carry) {
        return carry.error();
    }
    // The carry is what the clients are owed (positive) or were overpaid (negative) in
    // exact terms; a whole unit of it moves between the FX position and the rounding
    // account as soon as it accumulates, so the carry stays below one minor unit.
    const money::Int128& unit = one_minor_unit_residue();
    money::Int128 new_carry = (*carry)->carry + conversion->residue;
    std::int8_t rounding_unit = 0;
    if (new_carry >= unit) {
        new_carry -= unit;
        rounding_unit = 1;
    } else if (new_carry <= -unit) {
        new_carry += unit;
        rounding_unit = -1;
    }
    static const money::Amount kOne = money::Amount::from_minor(1);
    fx_postings_.clear();
    fx_postings_.push_back(Posting{q.from_account, Side::kDebit, q.from});
    fx_postings_.push_back(Posting{q.fx_position_from, Side::kCredit, q.from});
    fx_postings_.push_back(Posting{q.fx_position_to, Side::kDebit, converted});
    fx_postings_.push_back(Posting{q.to_account, Side::kCredit, converted});
    if (rounding_unit > 0) {
        fx_postings_.push_back(Posting{q.fx_position_to, Side::kDebit, {kOne, target}});
        fx_postings_.push_back(Posting{q.rounding_account, Side::kCredit, {kOne, target}});
    } else if (rounding_unit < 0) {
        fx_postings_.push_back(Posting{q.rounding_account, Side::kDebit, {kOne, target}});
        fx_postings_.push_back(Posting{q.fx_position_to, Side::kCredit, {kOne, target}});
    }
    // The slot of each posting above, by role: 0 from, 1 fx_position_from,
    // 2 fx_position_to, 3 to, 4 rounding.
    static constexpr std::size_t kRoleUp[] = {0, 1, 2, 3, 2, 4};
    static constexpr std::size_t kRoleDown[] = {0, 1, 2, 3, 4, 2};
    for (std::size_t i = 0; i < fx_postings_.size(); ++i) {
        Effect& e = effects_[i];
        e = Effect{};
        e.slot = roles[rounding_unit < 0 ? kRoleDown[i] : kRoleUp[i]].slot;
        e.side = fx_postings_[i].side;
        e.posted_add = &fx_postings_[i].amount.amount;
        e.row_amount = e.posted_add;
    }
    if (!check_balanced(fx_postings_, r) || !compute_effects(fx_postings_.size(), r)) {
        return {};
    }
    records::FxSection fx;
    fx.from_account = q.from_account;
    fx.to_account = q.to_account;
    fx.fx_position_from = q.fx_position_from;
    fx.fx_position_to = q.fx_position_to;
    fx.rounding_account = q.rounding_account;
    fx.from = q.from;
    fx.pair = q.rate.pair();
    fx.rate_mantissa = q.rate.mantissa();
    fx.mode = q.mode;
    fx.converted = converted.amount;
    fx.residue = conversion->residue;
    fx.rounding_unit = rounding_unit;
    records::EntryFields f;
    f.id = q.id;
    f.sequence = ++seq_;
    f.timestamp = now_;
    f.kind = EntryKind::kPosted;
    f.flags = records::kEntryFx;
    f.value_date = q.value_date;
    f.reference = q.reference;
    f.postings = fx_postings_;
    f.fx = &fx;
    write_entry(f, fx_postings_.size(), r);
    set_carry(q.rounding_account, *carry, new_carry);
    r.converted = converted;
    return {};
}

// ---------------------------------------------------------------------------------------
// Flush

Status LedgerImpl::flush(MDB_txn* txn) {
    const internal::Dbs& dbs = shared_->dbs;
    auto put = [&](MDB_dbi dbi, const void* k, std::size_t ks, const void* v, std::size_t vs,
                   unsigned flags, const char* what) -> Status {
        MDB_val key = lmdb::val(k, ks);
        MDB_val val = lmdb::val(v, vs);
        const int rc = mdb_put(txn, dbi, &key, &val, flags);
        if (rc == MDB_SUCCESS) {
            return Status();
        }
        flush_rc_ = rc;
        return lmdb::status(rc, what);
    };
    for (const AccountId& id : dirty_accounts_) {
        auto it = accounts_.find(id);
        if (it == accounts_.end() || !it->second.account_dirty) {
            continue;
        }
        scratch_.clear();
        records::encode_account(it->second.account, scratch_);
        const auto key = codec::id_key(id);
        if (Status s = put(dbs.accounts, key.data(), key.size(), scratch_.data(), scratch_.size(),
                           0, "writing an account");
            !s) {
            return s;
        }
    }
    for (const auto& [code, id] : new_codes_) {
        const auto key = codec::id_key(id);
        if (Status s = put(dbs.account_codes, code.data(), code.size(), key.data(), key.size(), 0,
                           "writing an account code");
            !s) {
            return s;
        }
    }
    for (const AccountId& id : dirty_balances_) {
        auto it = accounts_.find(id);
        if (it == accounts_.end() || !it->second.balance_dirty) {
            continue;
        }
        records::BalanceValue value;
        records::encode_balance(it->second.balance, value.data());
        const auto key = codec::id_key(id);
        if (Status s = put(dbs.balances, key.data(), key.size(), value.data(), value.size(), 0,
                           "writing a balance");
            !s) {
            return s;
        }
    }
    for (std::size_t i = 0; i < entries_.size(); ++i) {
        const BatchEntry& be = entries_[i];
        const auto key = records::seq_key(committed_seq_ + 1 + i);
        if (Status s = put(dbs.entries, key.data(), key.size(), arena_.data() + be.offset, be.size,
                           MDB_APPEND, "writing an entry");
            !s) {
            return s;
        }
        std::uint8_t id_value[9];
        id_value[0] = records::kRecordVersion;
        const std::uint64_t seq = committed_seq_ + 1 + i;
        for (int b = 0; b < 8; ++b) {
            id_value[1 + b] = static_cast<std::uint8_t>(seq >> (8 * b));
        }
        const auto id_key = codec::id_key(be.id);
        if (Status s = put(dbs.entry_ids, id_key.data(), id_key.size(), id_value, sizeof id_value,
                           0, "writing an entry id");
            !s) {
            return s;
        }
    }
    for (const PostingWrite& w : posting_writes_) {
        if (Status s = put(dbs.postings, w.key.data(), w.key.size(), w.value.data(), w.value.size(),
                           0, "writing a posting row");
            !s) {
            return s;
        }
    }
    for (const auto& [id, slot] : holds_) {
        if (!slot.dirty) {
            continue;
        }
        scratch_.clear();
        records::encode_hold(slot.rec, scratch_);
        const auto key = codec::id_key(id);
        if (Status s = put(dbs.pending, key.data(), key.size(), scratch_.data(), scratch_.size(), 0,
                           "writing a hold");
            !s) {
            return s;
        }
    }
    for (const ExpiryWrite& w : expiry_writes_) {
        if (w.erase) {
            MDB_val key = lmdb::val(w.key.data(), w.key.size());
            const int rc = mdb_del(txn, dbs.pending_expiry, &key, nullptr);
            if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
                flush_rc_ = rc;
                return lmdb::status(rc, "deleting a hold expiry row");
            }
            continue;
        }
        const auto value = codec::id_key(w.hold);
        if (Status s = put(dbs.pending_expiry, w.key.data(), w.key.size(), value.data(),
                           value.size(), 0, "writing a hold expiry row");
            !s) {
            return s;
        }
    }
    for (const auto& [id, slot] : carries_) {
        if (!slot.dirty) {
            continue;
        }
        scratch_.clear();
        records::encode_carry(slot.carry, scratch_);
        const auto key = codec::id_key(id);
        if (Status s = put(dbs.fx_carry, key.data(), key.size(), scratch_.data(), scratch_.size(),
                           0, "writing an FX carry");
            !s) {
            return s;
        }
    }
    for (const AuxWrite& w : aux_) {
        const MDB_dbi dbi = dbs.aux(w.table);
        if (w.value) {
            if (Status s = put(dbi, w.key.data(), w.key.size(), w.value->data(), w.value->size(), 0,
                               "writing an aux row");
                !s) {
                return s;
            }
            continue;
        }
        MDB_val key = lmdb::val(w.key.data(), w.key.size());
        const int rc = mdb_del(txn, dbi, &key, nullptr);
        if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
            flush_rc_ = rc;
            return lmdb::status(rc, "deleting an aux row");
        }
    }
    records::HeadRecord head;
    head.last_sequence = seq_;
    head.last_timestamp = now_;
    head.head_hash = head_;
    scratch_.clear();
    records::encode_head(head, scratch_);
    return put(dbs.meta, records::kMetaHeadKey.data(), records::kMetaHeadKey.size(),
               scratch_.data(), scratch_.size(), 0, "writing the hash-chain head");
}

// ---------------------------------------------------------------------------------------
// Backup

Status LedgerImpl::backup(const std::filesystem::path& destination) {
    const int fd = ::open(destination.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        const int err = errno;
        return Status(err == EEXIST ? StatusCode::kAlreadyExists : StatusCode::kIoError,
                      "creating backup " + destination.string() + ": " + std::strerror(err));
    }
    int rc = 0;
    {
        // The copy reads through its own read transaction for its whole length, so the
        // map must not move meanwhile: growth waits until the copy ends.
        internal::ReadGuard guard(shared_->map_guard);
        rc = mdb_env_copyfd2(shared_->env.get(), fd, MDB_CP_COMPACT);
    }
    if (rc == MDB_SUCCESS && ::fsync(fd) != 0) {
        rc = errno;
    }
    ::close(fd);
    if (rc != MDB_SUCCESS) {
        std::error_code ignored;
        std::filesystem::remove(destination, ignored);
        return lmdb::status(
            rc, "backing up ledger " + shared_->path.string() + " to " + destination.string());
    }
    return {};
}

}  // namespace

// ---------------------------------------------------------------------------------------
// Opening

namespace {

Status not_a_ledger(const std::filesystem::path& path, const std::string& why) {
    return Status(StatusCode::kCorruption,
                  "ledger " + path.string() + " is not an fxsettle ledger (" + why + ")");
}

struct DbSpec {
    const char* name;
    MDB_dbi internal::Dbs::*member;
    // Fixed-size binary keys (ids, sequences): compared with lmdb::compare_binary_keys,
    // which keeps LMDB's default order. Text keys keep the default comparison.
    bool binary_keys;
};
constexpr DbSpec kDbSpecs[] = {
    {records::kDbAccounts, &internal::Dbs::accounts, true},
    {records::kDbAccountCodes, &internal::Dbs::account_codes, false},
    {records::kDbEntries, &internal::Dbs::entries, true},
    {records::kDbEntryIds, &internal::Dbs::entry_ids, true},
    {records::kDbPostings, &internal::Dbs::postings, true},
    {records::kDbBalances, &internal::Dbs::balances, true},
    {records::kDbPending, &internal::Dbs::pending, true},
    {records::kDbPendingExpiry, &internal::Dbs::pending_expiry, true},
    {records::kDbFxCarry, &internal::Dbs::fx_carry, true},
    {records::kDbAuxState, &internal::Dbs::aux_state, false},
    {records::kDbAuxOutbox, &internal::Dbs::aux_outbox, false},
};

// Opens (and for a new file creates) the databases and checks meta; fills `head`.
Status open_databases(Shared& shared, records::HeadRecord& head) {
    const std::string& path = shared.path.string();
    lmdb::Txn txn;
    int rc = txn.begin(shared.env.get(), shared.read_only ? MDB_RDONLY : 0);
    if (rc != MDB_SUCCESS) {
        return lmdb::status(rc, "opening ledger " + path);
    }
    rc = mdb_dbi_open(txn.get(), records::kDbMeta, 0, &shared.dbs.meta);
    bool fresh = false;
    if (rc == MDB_NOTFOUND) {
        // No meta: either a new, empty file or someone else's LMDB environment.
        MDB_dbi main_db = 0;
        MDB_stat stat{};
        rc = mdb_dbi_open(txn.get(), nullptr, 0, &main_db);
        if (rc == MDB_SUCCESS) {
            rc = mdb_stat(txn.get(), main_db, &stat);
        }
        if (rc != MDB_SUCCESS) {
            return lmdb::status(rc, "opening ledger " + path);
        }
        if (stat.ms_entries != 0) {
            return not_a_ledger(shared.path, "an LMDB environment without fxsettle meta");
        }
        if (shared.read_only) {
            return not_a_ledger(shared.path, "an empty LMDB environment");
        }
        fresh = true;
        rc = mdb_dbi_open(txn.get(), records::kDbMeta, MDB_CREATE, &shared.dbs.meta);
    } else if (rc == MDB_INCOMPATIBLE) {
        return not_a_ledger(shared.path, "its 'meta' is not a database");
    }
    if (rc != MDB_SUCCESS) {
        return lmdb::status(rc, "opening the meta database of ledger " + path);
    }
    auto meta_get = [&](std::string_view key, MDB_val& v) {
        MDB_val k = lmdb::val(key.data(), key.size());
        return mdb_get(txn.get(), shared.dbs.meta, &k, &v);
    };
    auto meta_put = [&](std::string_view key, std::string_view value) {
        MDB_val k = lmdb::val(key.data(), key.size());
        MDB_val v = lmdb::val(value.data(), value.size());
        return mdb_put(txn.get(), shared.dbs.meta, &k, &v, 0);
    };
    if (fresh) {
        std::string version;
        codec::Writer(version).u32(kFormatVersion);
        std::string head_bytes;
        records::encode_head(head, head_bytes);
        rc = meta_put(records::kMetaMagicKey, records::kMetaMagic);
        rc = rc ? rc : meta_put(records::kMetaVersionKey, version);
        rc = rc ? rc : meta_put(records::kMetaHeadKey, head_bytes);
        if (rc != MDB_SUCCESS) {
            return lmdb::status(rc, "initialising ledger " + path);
        }
    }
    MDB_val v;
    rc = meta_get(records::kMetaMagicKey, v);
    if (rc == MDB_NOTFOUND || (rc == MDB_SUCCESS && lmdb::view(v) != records::kMetaMagic)) {
        return not_a_ledger(shared.path, "no fxsettle magic in its meta");
    }
    if (rc != MDB_SUCCESS) {
        return lmdb::status(rc, "reading the meta of ledger " + path);
    }
    rc = meta_get(records::kMetaVersionKey, v);
    if (rc != MDB_SUCCESS || v.mv_size != 4) {
        return not_a_ledger(shared.path, "no readable format version in its meta");
    }
    const std::uint32_t version = codec::Reader(v.mv_data, v.mv_size).u32();
    if (version != kFormatVersion) {
        return Status(StatusCode::kUnsupported,
                      "ledger " + path + " has format version " + std::to_string(version) +
                          "; this build reads and writes format version " +
                          std::to_string(kFormatVersion));
    }
    rc = meta_get(records::kMetaHeadKey, v);
    if (rc != MDB_SUCCESS || !records::decode_head(lmdb::view(v), head)) {
        return Status(
            StatusCode::kCorruption,
            "ledger " + path + ": the hash-chain head in meta is missing or does not decode");
    }
    for (const DbSpec& spec : kDbSpecs) {
        rc = mdb_dbi_open(txn.get(), spec.name, fresh ? MDB_CREATE : 0, &(shared.dbs.*spec.member));
        if (rc == MDB_NOTFOUND) {
            return Status(StatusCode::kCorruption,
                          "ledger " + path + " lacks its '" + spec.name + "' database");
        }
        if (rc == MDB_SUCCESS && spec.binary_keys) {
            // Set in every process that opens the file, before any access (lmdb.h).
            rc = mdb_set_compare(txn.get(), shared.dbs.*spec.member, &lmdb::compare_binary_keys);
        }
        if (rc != MDB_SUCCESS) {
            return lmdb::status(rc, "opening database '" + std::string(spec.name) + "' of " + path);
        }
    }
    // Database handles opened in a transaction become the environment's only when it
    // commits (also for a read-only one).
    rc = txn.commit();
    return lmdb::status(rc, "opening ledger " + path);
}

}  // namespace

Result<std::unique_ptr<Ledger>> Ledger::open(const OpenOptions& options) {
    const std::filesystem::path& path = options.path;
    if (path.empty()) {
        return fail(StatusCode::kInvalidArgument, "the ledger path is empty");
    }
    if (options.map_size_initial_bytes == 0 ||
        options.map_size_initial_bytes > options.map_size_max_bytes) {
        return fail(StatusCode::kInvalidArgument,
                    "map sizes: initial " + std::to_string(options.map_size_initial_bytes) +
                        " must be positive and at most the maximum " +
                        std::to_string(options.map_size_max_bytes));
    }
    std::error_code ec;
    const bool exists = std::filesystem::exists(path, ec);
    if (!exists && (options.read_only || !options.create_if_missing)) {
        return fail(StatusCode::kNotFound, "ledger " + path.string() + " does not exist");
    }
    auto shared = std::make_shared<Shared>();
    shared->path = path;
    shared->read_only = options.read_only;
    if (!options.read_only) {
        // The writer lock is an flock on its own descriptor of the data file: LMDB's own
        // locks (fcntl, on path-lock) guard readers, not a second writer process, and a
        // second writer would silently fork the hash chain's in-memory head.
        shared->lock_fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (shared->lock_fd < 0) {
            return fail(StatusCode::kIoError,
                        "opening ledger " + path.string() + ": " + std::strerror(errno));
        }
        if (::flock(shared->lock_fd, LOCK_EX | LOCK_NB) != 0) {
            const int err = errno;
            if (err == EWOULDBLOCK) {
                return fail(
                    StatusCode::kUnavailable,
                    "ledger " + path.string() + " is already open for writing by another process");
            }
            return fail(StatusCode::kIoError,
                        "locking ledger " + path.string() + ": " + std::strerror(err));
        }
    }
    MDB_env* env = nullptr;
    if (int rc = mdb_env_create(&env); rc != MDB_SUCCESS) {
        return fail(lmdb::status(rc, "creating an LMDB environment"));
    }
    shared->env = lmdb::Env(env);
    int rc = mdb_env_set_maxdbs(env, 16);
    if (rc == MDB_SUCCESS) {
        rc = mdb_env_set_mapsize(env, static_cast<std::size_t>(options.map_size_initial_bytes));
    }
    if (rc != MDB_SUCCESS) {
        return fail(lmdb::status(rc, "configuring ledger " + path.string()));
    }
    // MDB_NOTLS: read transactions belong to ReadView objects, not threads.
    const unsigned flags = MDB_NOSUBDIR | MDB_NOTLS | (options.read_only ? MDB_RDONLY : 0u);
    rc = mdb_env_open(env, path.c_str(), flags, 0600);
    if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH) {
        return fail(not_a_ledger(path, mdb_strerror(rc)));
    }
    if (rc != MDB_SUCCESS) {
        return fail(lmdb::status(rc, "opening ledger " + path.string()));
    }
    records::HeadRecord head;
    if (Status s = open_databases(*shared, head); !s) {
        return fail(std::move(s));
    }
    return std::unique_ptr<Ledger>(new LedgerImpl(std::move(shared), options, head));
}

}  // namespace fxsettle::ledger
