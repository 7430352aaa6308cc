// The LMDB double-entry ledger: one environment in one file, one writer, any number of
// readers. Every batch of operations is one LMDB write transaction and one fsync.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "engine/base/status.h"
#include "ledger/types.h"

namespace fxsettle::ledger {

// The on-disk format version this build reads and writes. Opening a file with another
// version fails with kUnsupported; a file that is not a ledger fails with kCorruption.
inline constexpr std::uint32_t kFormatVersion = 1;

struct OpenOptions {
    // The ledger file (LMDB with MDB_NOSUBDIR: `path` and `path`-lock). Created with
    // mode 0600.
    std::filesystem::path path;
    bool create_if_missing = true;
    // Read-only opens take no writer lock and never write; fxledger uses them.
    bool read_only = false;
    // The map grows on demand from the initial size up to the maximum; MDB_MAP_FULL
    // never reaches a caller below the maximum.
    std::uint64_t map_size_initial_bytes = 64ull << 20;
    std::uint64_t map_size_max_bytes = 1ull << 40;
};

// Engine state and outbox rows written in the same transaction as a batch (DESIGN.md,
// "Transactional outbox"). Keys and values are opaque bytes to the ledger.
enum class AuxTable : std::uint8_t { kState = 1, kOutbox = 2 };
struct AuxWrite {
    AuxTable table = AuxTable::kState;
    std::string key;
    std::optional<std::string> value;  // nullopt deletes the key
};

// How Ledger::commit treats a batch in which an operation fails.
struct CommitOptions {
    // False (the default): every operation stands on its own (or with its linked chain),
    // so the operations that succeed and all of `aux` are written even when others fail.
    // True: the batch is one unit. If ANY operation fails (a code other than kOk,
    // kAccountExists or kEntryExists, including kLinkedChainOpen), the write transaction
    // is aborted: nothing of the batch is written (no entry, account, hold, balance, aux
    // row; the hash chain and sequence stay where they were), and commit() still returns
    // the results: each failed operation its own code and detail (every operation is
    // evaluated, so all failures are reported, each against the effects of the earlier
    // operations as in a normal commit), linked-chain victims kLinkedOperationFailed, and
    // every operation that did not fail (kAccountExists and kEntryExists too) kBatchAborted,
    // whose detail names the first failed operation. Such a batch never reaches the disk,
    // so a retry is evaluated afresh.
    bool all_or_nothing = false;
};

struct StatementLine {
    std::uint64_t sequence = 0;
    Timestamp timestamp{};
    EntryId entry;
    EntryKind kind = EntryKind::kPosted;
    std::string reference;
    Side side = Side::kDebit;
    money::Amount amount;
    Balance balance_after;  // the account's totals after this posting
};

struct TrialBalanceRow {
    money::Currency currency;
    money::Amount debits_posted;   // sum over every account in the currency
    money::Amount credits_posted;  // equal to debits_posted in a sound ledger
    money::Amount debits_pending;
    money::Amount credits_pending;
};

struct LedgerInfo {
    std::uint32_t format_version = 0;
    std::uint64_t last_sequence = 0;  // 0 when no entry is written yet
    std::array<std::uint8_t, 32> head_hash{};
    std::uint64_t accounts = 0;
    std::uint64_t map_size_bytes = 0;
};

// What `verify` found. `ok` with `entries_checked` and `accounts_checked`, or the first
// failure: the entry (or account) and what is wrong.
struct VerifyReport {
    bool ok = true;
    std::uint64_t entries_checked = 0;
    std::uint64_t accounts_checked = 0;
    std::optional<EntryId> bad_entry;
    std::optional<std::uint64_t> bad_sequence;
    std::optional<AccountId> bad_account;
    std::string failure;  // "entry 0000..01 (seq 17): hash mismatch", ...
};

// A consistent snapshot: one LMDB read transaction. Reads never block the writer and
// see exactly the batches committed before the view was opened. Not thread-safe; open
// one view per thread. Returned strings and vectors are copies the caller owns.
class ReadView {
  public:
    virtual ~ReadView() = default;

    virtual Result<LedgerInfo> info() = 0;
    virtual Result<std::optional<Account>> account(const AccountId& id) = 0;
    virtual Result<std::optional<Account>> account_by_code(std::string_view code) = 0;
    virtual Result<std::vector<Account>> accounts() = 0;  // ordered by id

    // Current totals; kNotFound for an unknown account.
    virtual Result<Balance> balance(const AccountId& id) = 0;
    // Totals after every entry with sequence <= `sequence`.
    virtual Result<Balance> balance_at_sequence(const AccountId& id, std::uint64_t sequence) = 0;
    // Totals after every entry with timestamp <= `at`.
    virtual Result<Balance> balance_at_time(const AccountId& id, Timestamp at) = 0;

    // Postings of one account with from <= timestamp < to, oldest first, each with the
    // account's running totals; at most `max_lines`.
    virtual Result<std::vector<StatementLine>> statement(const AccountId& id, Timestamp from,
                                                         Timestamp to,
                                                         std::size_t max_lines = 1'000'000) = 0;
    // Per currency over all accounts, after entries with sequence <= `at_sequence`
    // (nullopt: now). Debits equal credits per currency in a sound ledger.
    virtual Result<std::vector<TrialBalanceRow>> trial_balance(
        std::optional<std::uint64_t> at_sequence = std::nullopt) = 0;

    virtual Result<std::optional<Entry>> entry(const EntryId& id) = 0;
    virtual Result<std::optional<Entry>> entry_at_sequence(std::uint64_t sequence) = 0;
    // Entries with from <= timestamp < to, in sequence order; at most `max_entries`.
    virtual Result<std::vector<Entry>> entries(Timestamp from, Timestamp to,
                                               std::size_t max_entries = 1'000'000) = 0;
    // Entries with first <= sequence <= last, in order; at most `max_entries`.
    virtual Result<std::vector<Entry>> entries_by_sequence(std::uint64_t first, std::uint64_t last,
                                                           std::size_t max_entries) = 0;

    // Engine state and outbox rows (see AuxWrite).
    virtual Result<std::optional<std::string>> aux_get(AuxTable table, std::string_view key) = 0;
    // Rows with key >= `from_key`, in key order; at most `max_rows`.
    virtual Result<std::vector<std::pair<std::string, std::string>>> aux_scan(
        AuxTable table, std::string_view from_key, std::size_t max_rows) = 0;

    // Recomputes the hash chain, the per-currency balance of every entry, every stored
    // balance against the sum of its postings, every no_negative flag, and every FX
    // rounding carry; stops at the first failure.
    virtual Result<VerifyReport> verify() = 0;
};

class Ledger {
  public:
    virtual ~Ledger() = default;

    // Opens (or creates) the ledger file. Fails with kUnsupported for another format
    // version, kCorruption for a file that is not a ledger, kUnavailable when another
    // process holds the writer lock (read_only opens take none), kIoError otherwise.
    static Result<std::unique_ptr<Ledger>> open(const OpenOptions& options);

    // Applies `operations` in order in ONE write transaction, writes `aux` in the same
    // transaction, commits and fsyncs once, stamping entries with `now`. Every operation
    // gets its own OpResult (same order); a failed operation writes nothing, and a failed
    // operation of a linked chain fails the whole chain (the others report
    // kLinkedOperationFailed). Without CommitOptions::all_or_nothing the rest of the batch
    // and `aux` are written even when some operations fail; with it, see CommitOptions.
    // A Status failure (disk, LMDB) means nothing of the batch was written; it is
    // kResourceExhausted when the batch needs more dirty pages than one LMDB write
    // transaction holds (MDB_TXN_FULL, 131,071 pages), which the same operations in smaller
    // batches avoid. At most kBatchOperationsMax operations (more: every result is
    // kBatchTooLarge and nothing is written). Only one thread may write.
    virtual Result<std::vector<OpResult>> commit(std::span<const Operation> operations,
                                                 Timestamp now, std::span<const AuxWrite> aux,
                                                 const CommitOptions& options) = 0;
    // The same with the default options: failed operations do not stop the others.
    Result<std::vector<OpResult>> commit(std::span<const Operation> operations, Timestamp now,
                                         std::span<const AuxWrite> aux = {}) {
        return commit(operations, now, aux, CommitOptions{});
    }

    // A snapshot for reading; safe to use on another thread while the writer commits.
    virtual Result<std::unique_ptr<ReadView>> read() = 0;

    // A consistent, compacted copy of the ledger at `destination` (a new file, mode
    // 0600) while writers run (mdb_env_copy2 with MDB_CP_COMPACT).
    virtual Status backup(const std::filesystem::path& destination) = 0;
};

}  // namespace fxsettle::ledger
