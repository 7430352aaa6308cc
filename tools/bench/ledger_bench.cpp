// ledger_bench: durable two-posting transfers through the LMDB ledger, against a raw-LMDB
// baseline that does the same reads and writes without any ledger logic.
//
// First it writes a small ledger and reads its file back with plain LMDB, to show what
// the ledger stores per transfer and to size the baseline's entry rows. Then, for each
// batch size (1, 100, 1000, 8190 by default), it creates a fresh ledger of 10,000 USD
// accounts and a fresh raw LMDB environment with the ledger's flags, and commits the same
// transfers between random account pairs (one entry, two postings each) to both, in
// batches of that size, one durable commit (fsync) per batch, alternating between the
// two batch by batch (see RawRunner and run_interleaved). Finally it times point
// balance() lookups of random accounts from one ReadView, and the same mdb_get calls raw.
// It prints a table, then (with --json) one JSON object last. It never asserts a time:
// the figures are for people and for the README's performance table.
#include <fcntl.h>
#include <lmdb.h>
#include <sys/statfs.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <vector>

#include "engine/money/amount.h"
#include "engine/money/currency.h"
#include "ledger/ledger.h"
#include "ledger/types.h"

namespace {

namespace fs = std::filesystem;
namespace ledger = fxsettle::ledger;
namespace money = fxsettle::money;
using Clock = std::chrono::steady_clock;

constexpr std::uint64_t kAccountIdHi = 0xB0000000'00000001ull;
constexpr std::uint64_t kEntryIdHi = 0xE0000000'00000001ull;
// The fixed stamp of every commit: the ledger never reads a clock, and a constant keeps
// the runs identical. Entries still get increasing sequences.
constexpr std::int64_t kBenchEpochNs = 1'717'400'000'000'000'000;
constexpr std::size_t kAccountsPerCreateBatch = ledger::kBatchOperationsMax;

struct Options {
    std::string dir;
    bool keep = false;
    std::uint32_t accounts = 10'000;
    // Transfers per batch size: min(transfers, batch size x commits_max). The defaults
    // finish in about a minute on the 2-core build machine, where commits are bound by
    // writing and syncing dirty pages (batch 1 by the fsync alone): batch 1 runs 1,000
    // transfers, batch 100 runs 100,000, batches 1000 and 8190 run 250,000.
    std::uint64_t transfers = 250'000;
    std::uint64_t commits_max = 1'000;
    std::uint64_t reads = 10'000'000;
    std::vector<std::size_t> batch_sizes{1, 100, 1000, 8190};
    std::uint64_t seed = 20240603;
    bool json = false;
    bool skip_raw = false;
    // Diagnostic: the raw baseline without the per-account postings index, to show what
    // that index costs (it is not the same work as the ledger's any more).
    bool raw_without_postings = false;
    bool skip_ledger = false;
};

// One transfer of the workload: debit one account, credit another, amount in cents.
struct Transfer {
    std::uint32_t debit = 0;
    std::uint32_t credit = 0;
    std::int64_t amount_minor = 0;
};

struct RunFigures {
    std::size_t batch_size = 0;
    std::uint64_t transfers = 0;
    std::uint64_t commits = 0;
    double commit_seconds = 0;  // sum of the commit calls' durations
    double commit_us_p50 = 0;
    double commit_us_p99 = 0;
    double commit_us_max = 0;
    std::uint64_t file_bytes = 0;
    double tps() const { return commit_seconds > 0 ? double(transfers) / commit_seconds : 0; }
};

[[noreturn]] void die(const std::string& what) {
    std::fprintf(stderr, "ledger_bench: %s\n", what.c_str());
    std::exit(1);
}

void check_lmdb(int rc, const char* what) {
    if (rc != MDB_SUCCESS)
        die(fmt::format("{}: {}", what, mdb_strerror(rc)));
}

double percentile_us(std::vector<double> samples_us, double p) {
    if (samples_us.empty())
        return 0;
    const std::size_t k = std::min(samples_us.size() - 1,
                                   static_cast<std::size_t>(p * double(samples_us.size() - 1)));
    std::nth_element(samples_us.begin(), samples_us.begin() + std::ptrdiff_t(k), samples_us.end());
    return samples_us[k];
}

void fill_latency(RunFigures& f, std::vector<double>& commit_us) {
    f.commits = commit_us.size();
    f.commit_us_p50 = percentile_us(commit_us, 0.50);
    f.commit_us_p99 = percentile_us(commit_us, 0.99);
    f.commit_us_max = commit_us.empty() ? 0 : *std::max_element(commit_us.begin(), commit_us.end());
}

std::uint64_t file_size_or_zero(const fs::path& p) {
    std::error_code ec;
    auto n = fs::file_size(p, ec);
    return ec ? 0 : n;
}

std::string filesystem_name(const fs::path& p) {
    struct statfs s {};
    if (statfs(p.c_str(), &s) != 0)
        return "unknown";
    switch (static_cast<unsigned long>(s.f_type)) {
        case 0xEF53:
            return "ext4";
        case 0x01021994:
            return "tmpfs (fsync is free: durable figures are meaningless)";
        case 0x58465342:
            return "xfs";
        case 0x9123683E:
            return "btrfs";
        case 0x794C7630:
            return "overlayfs";
        default:
            return fmt::format("fs type 0x{:x}", static_cast<unsigned long>(s.f_type));
    }
}

std::vector<Transfer> make_transfers(std::uint64_t n, std::uint32_t accounts, std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<std::uint32_t> pick(0, accounts - 1);
    std::uniform_int_distribution<std::int64_t> cents(1, 1'000'000);
    std::vector<Transfer> out(n);
    for (auto& t : out) {
        t.debit = pick(rng);
        do {
            t.credit = pick(rng);
        } while (t.credit == t.debit);
        t.amount_minor = cents(rng);
    }
    return out;
}

ledger::AccountId account_id(std::uint32_t index) {
    return {kAccountIdHi, index + 1ull};
}
ledger::EntryId entry_id(std::uint64_t index) {
    return {kEntryIdHi, index + 1};
}
std::string entry_reference(std::uint64_t index) {
    return fmt::format("bench transfer {}", index);
}

ledger::Timestamp bench_now() {
    return ledger::Timestamp(std::chrono::nanoseconds(kBenchEpochNs));
}
ledger::Date bench_value_date() {
    return std::chrono::sys_days(std::chrono::year(2024) / 6 / 3);
}

// ---------------------------------------------------------------------------------------
// The ledger run.

std::unique_ptr<ledger::Ledger> open_ledger(const fs::path& path) {
    ledger::OpenOptions options;
    options.path = path;
    options.create_if_missing = true;
    auto opened = ledger::Ledger::open(options);
    if (!opened)
        die(fmt::format("open {}: {}", path.string(), opened.error().to_string()));
    return std::move(*opened);
}

void create_accounts(ledger::Ledger& l, std::uint32_t accounts) {
    const auto usd = money::CurrencyTable::iso().find("USD");
    if (!usd)
        die("USD is not in the ISO table");
    std::vector<ledger::Operation> ops;
    for (std::uint32_t i = 0; i < accounts; ++i) {
        ledger::Account a;
        a.id = account_id(i);
        a.owner = fmt::format("PSP{}", i % 100);
        a.currency = *usd;
        a.kind = ledger::AccountKind::kPspAvailable;
        a.code = fmt::format("BENCH/{}/USD", i);
        a.name = fmt::format("bench account {}", i);
        ops.push_back(ledger::Operation{ledger::CreateAccount{std::move(a)}, false});
        if (ops.size() == kAccountsPerCreateBatch || i + 1 == accounts) {
            auto results = l.commit(ops, bench_now());
            if (!results)
                die("create accounts: " + results.error().to_string());
            for (const auto& r : *results) {
                if (!ledger::is_success(r.code))
                    die(fmt::format("create account: {} {}", ledger::result_code_name(r.code),
                                    r.detail));
            }
            ops.clear();
        }
    }
}

// Commits the workload's transfers through the ledger, one batch per call.
class LedgerRunner {
  public:
    LedgerRunner(const fs::path& path, const Options& o) : path_(path) {
        ledger_ = open_ledger(path);
        create_accounts(*ledger_, o.accounts);
        usd_ = *money::CurrencyTable::iso().find("USD");
    }

    // Commits transfers [start, end) as one batch; returns the commit() call's duration.
    double commit(const std::vector<Transfer>& transfers, std::size_t start, std::size_t end) {
        ops_.clear();
        for (std::size_t i = start; i < end; ++i) {
            const Transfer& t = transfers[i];
            ledger::EntryRequest e;
            e.id = entry_id(i);
            e.kind = ledger::EntryKind::kPosted;
            e.value_date = bench_value_date();
            e.reference = entry_reference(i);
            const money::Money m{money::Amount::from_minor(t.amount_minor), usd_};
            e.postings = {ledger::Posting{account_id(t.debit), ledger::Side::kDebit, m},
                          ledger::Posting{account_id(t.credit), ledger::Side::kCredit, m}};
            ops_.push_back(ledger::Operation{std::move(e), false});
        }
        const auto t0 = Clock::now();
        auto results = ledger_->commit(ops_, bench_now());
        const auto t1 = Clock::now();
        if (!results)
            die("commit: " + results.error().to_string());
        for (const auto& r : *results) {
            if (r.code != ledger::ResultCode::kOk)
                die(fmt::format("transfer rejected: {} {}", ledger::result_code_name(r.code),
                                r.detail));
        }
        return std::chrono::duration<double, std::micro>(t1 - t0).count();
    }

    std::uint64_t close() {
        ledger_.reset();
        return file_size_or_zero(path_);
    }

  private:
    fs::path path_;
    std::unique_ptr<ledger::Ledger> ledger_;
    money::Currency usd_;
    std::vector<ledger::Operation> ops_;
};

struct ReadFigures {
    std::uint64_t reads = 0;
    double seconds = 0;
    double per_s() const { return seconds > 0 ? double(reads) / seconds : 0; }
};

std::vector<std::uint32_t> random_accounts(std::size_t n, std::uint32_t accounts,
                                           std::uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::uniform_int_distribution<std::uint32_t> pick(0, accounts - 1);
    std::vector<std::uint32_t> out(n);
    for (auto& a : out)
        a = pick(rng);
    return out;
}

// Point balance() lookups of random accounts from one ReadView.
// Point balance() lookups of random accounts from one ReadView, run in slices.
class LedgerReader {
  public:
    LedgerReader(const fs::path& path, const Options& o) : ledger_(open_ledger(path)) {
        auto view = ledger_->read();
        if (!view)
            die("read view: " + view.error().to_string());
        view_ = std::move(*view);
        for (auto p : random_accounts(1u << 20, o.accounts, o.seed ^ 0x5EED))
            ids_.push_back(account_id(p));
        // Warm the pages and the code path once, untimed.
        for (std::uint32_t i = 0; i < o.accounts; ++i) {
            if (auto b = view_->balance(account_id(i)); !b)
                die("balance: " + b.error().to_string());
        }
    }
    // Runs `n` more lookups; returns their duration in seconds.
    double run(std::uint64_t n) {
        const auto t0 = Clock::now();
        for (std::uint64_t end = next_ + n; next_ < end; ++next_) {
            auto b = view_->balance(ids_[next_ & (ids_.size() - 1)]);
            if (!b)
                die("balance: " + b.error().to_string());
            sink_ += b->debits_posted.is_zero() ? 0u : 1u;
        }
        return std::chrono::duration<double>(Clock::now() - t0).count();
    }
    ~LedgerReader() {
        if (sink_ == 0 && next_ > 0)
            std::fprintf(stderr, "ledger_bench: every balance was zero\n");
    }

  private:
    std::unique_ptr<ledger::Ledger> ledger_;
    std::unique_ptr<ledger::ReadView> view_;
    std::vector<ledger::AccountId> ids_;
    std::uint64_t next_ = 0;
    std::uint64_t sink_ = 0;
};

// ---------------------------------------------------------------------------------------
// The ledger's rows, measured: a small ledger is written with the same workload and its
// file read back with plain LMDB, so the baseline writes rows of the sizes the ledger
// writes (and the output shows what the ledger stores per transfer).

struct DbFigures {
    std::string name;
    std::uint64_t rows = 0;
    double key_bytes_avg = 0;
    double value_bytes_avg = 0;
};

std::vector<DbFigures> measure_databases(const fs::path& path) {
    MDB_env* env = nullptr;
    check_lmdb(mdb_env_create(&env), "mdb_env_create");
    check_lmdb(mdb_env_set_maxdbs(env, 64), "mdb_env_set_maxdbs");
    check_lmdb(mdb_env_open(env, path.c_str(), MDB_NOSUBDIR | MDB_RDONLY, 0600),
               "mdb_env_open (measuring the ledger file)");
    MDB_txn* txn = nullptr;
    check_lmdb(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn), "mdb_txn_begin");
    MDB_dbi main_db = 0;
    check_lmdb(mdb_dbi_open(txn, nullptr, 0, &main_db), "mdb_dbi_open main");
    std::vector<std::string> names;
    MDB_cursor* cur = nullptr;
    check_lmdb(mdb_cursor_open(txn, main_db, &cur), "mdb_cursor_open");
    MDB_val k{}, v{};
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        names.emplace_back(static_cast<const char*>(k.mv_data), k.mv_size);
    mdb_cursor_close(cur);
    std::vector<DbFigures> out;
    for (const auto& name : names) {
        MDB_dbi dbi = 0;
        if (mdb_dbi_open(txn, name.c_str(), 0, &dbi) != MDB_SUCCESS)
            continue;
        DbFigures f;
        f.name = name;
        std::uint64_t key_bytes = 0, value_bytes = 0;
        check_lmdb(mdb_cursor_open(txn, dbi, &cur), "mdb_cursor_open");
        for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == MDB_SUCCESS;
             rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
            ++f.rows;
            key_bytes += k.mv_size;
            value_bytes += v.mv_size;
        }
        mdb_cursor_close(cur);
        if (f.rows > 0) {
            f.key_bytes_avg = double(key_bytes) / double(f.rows);
            f.value_bytes_avg = double(value_bytes) / double(f.rows);
        }
        out.push_back(f);
    }
    mdb_txn_abort(txn);
    mdb_env_close(env);
    return out;
}

// ---------------------------------------------------------------------------------------
// The raw-LMDB baseline.
//
// Per transfer it does the LMDB work of the ledger's commit, with the ledger's
// environment flags (MDB_NOSUBDIR | MDB_NOTLS, durable) and one write transaction plus
// one fsync per batch, but none of the ledger's logic: no validation, no hashing, no
// canonical encoding, no 128-bit arithmetic, no account cache. Per transfer:
//   - get the entry id in `entry_ids` (the idempotency check)
//   - get both balance rows and put both back (65 bytes each)
//   - put the entry under its big-endian sequence (MDB_APPEND), its value as long as the
//     ledger's average entry record (measured)
//   - put the idempotency key in `entry_ids` (16-byte id -> 9 bytes)
//   - put two rows in `postings` (key account | sequence | index, 26 bytes; value 82)
// and once per batch the chain head in `meta`. The ledger itself reads an account's row
// once and then keeps it in its cache, and writes each touched balance once per batch:
// at large batches it does fewer balance reads and writes than this baseline.
constexpr unsigned kRawEnvFlags = MDB_NOSUBDIR | MDB_NOTLS;
constexpr std::size_t kRawAccountValueBytes = 80;
constexpr std::size_t kRawBalanceValueBytes = 65;
constexpr std::size_t kRawPostingKeyBytes = 26;
constexpr std::size_t kRawPostingValueBytes = 82;
constexpr std::size_t kRawEntryIdValueBytes = 9;
constexpr std::size_t kRawHeadValueBytes = 41;
constexpr std::size_t kRawEntryValueBytesMax = 1024;

std::string raw_baseline_description(std::size_t entry_value_bytes) {
    return fmt::format(
        "raw LMDB with the ledger's env flags (MDB_NOSUBDIR|MDB_NOTLS, durable: fsync per "
        "batch), one write txn per batch; per transfer: get entry id, get+put both balance rows "
        "({} B), put entry ({} B, the ledger's measured average, MDB_APPEND on a big-endian "
        "sequence), put id->sequence, put 2 postings rows ({}+{} B); per batch: put head row; "
        "no validation, hashing, encoding, 128-bit arithmetic or account cache",
        kRawBalanceValueBytes, entry_value_bytes, kRawPostingKeyBytes, kRawPostingValueBytes);
}

struct RawEnv {
    MDB_env* env = nullptr;
    MDB_dbi accounts = 0, balances = 0, entries = 0, entry_ids = 0, postings = 0, meta = 0;
    ~RawEnv() {
        if (env)
            mdb_env_close(env);
    }
};

void be64(std::uint64_t v, unsigned char* out) {
    for (int i = 7; i >= 0; --i) {
        out[i] = static_cast<unsigned char>(v & 0xFF);
        v >>= 8;
    }
}

std::array<unsigned char, 16> raw_id(std::uint64_t hi, std::uint64_t lo) {
    std::array<unsigned char, 16> k{};
    be64(hi, k.data());
    be64(lo, k.data() + 8);
    return k;
}

void open_raw(RawEnv& r, const fs::path& path) {
    check_lmdb(mdb_env_create(&r.env), "mdb_env_create");
    check_lmdb(mdb_env_set_maxdbs(r.env, 16), "mdb_env_set_maxdbs");
    check_lmdb(mdb_env_set_mapsize(r.env, std::size_t(64) << 30), "mdb_env_set_mapsize");
    check_lmdb(mdb_env_open(r.env, path.c_str(), kRawEnvFlags, 0600), "mdb_env_open");
    MDB_txn* txn = nullptr;
    check_lmdb(mdb_txn_begin(r.env, nullptr, 0, &txn), "mdb_txn_begin");
    check_lmdb(mdb_dbi_open(txn, "accounts", MDB_CREATE, &r.accounts), "open accounts");
    check_lmdb(mdb_dbi_open(txn, "balances", MDB_CREATE, &r.balances), "open balances");
    check_lmdb(mdb_dbi_open(txn, "entries", MDB_CREATE, &r.entries), "open entries");
    check_lmdb(mdb_dbi_open(txn, "entry_ids", MDB_CREATE, &r.entry_ids), "open entry_ids");
    check_lmdb(mdb_dbi_open(txn, "postings", MDB_CREATE, &r.postings), "open postings");
    check_lmdb(mdb_dbi_open(txn, "meta", MDB_CREATE, &r.meta), "open meta");
    check_lmdb(mdb_txn_commit(txn), "mdb_txn_commit");
}

void raw_create_accounts(RawEnv& r, std::uint32_t accounts) {
    MDB_txn* txn = nullptr;
    check_lmdb(mdb_txn_begin(r.env, nullptr, 0, &txn), "mdb_txn_begin");
    std::array<unsigned char, kRawAccountValueBytes> account_row{};
    std::array<unsigned char, kRawBalanceValueBytes> zero_balance{};
    for (std::uint32_t i = 0; i < accounts; ++i) {
        auto k = raw_id(kAccountIdHi, i + 1ull);
        MDB_val key{k.size(), k.data()};
        MDB_val av{account_row.size(), account_row.data()};
        check_lmdb(mdb_put(txn, r.accounts, &key, &av, 0), "put account");
        MDB_val bv{zero_balance.size(), zero_balance.data()};
        check_lmdb(mdb_put(txn, r.balances, &key, &bv, 0), "put balance");
    }
    check_lmdb(mdb_txn_commit(txn), "mdb_txn_commit");
}

// Adds `amount` to the 64-bit little-endian word at `offset` of a balance row: the
// baseline's stand-in for the ledger's 128-bit checked arithmetic.
void raw_add(unsigned char* row, std::size_t offset, std::int64_t amount) {
    std::uint64_t v = 0;
    std::memcpy(&v, row + offset, sizeof v);
    v += static_cast<std::uint64_t>(amount);
    std::memcpy(row + offset, &v, sizeof v);
}

// Replays the same transfers as plain LMDB reads and writes, one batch per call.
class RawRunner {
  public:
    RawRunner(const fs::path& path, const Options& o, std::size_t entry_value_bytes)
        : path_(path),
          without_postings_(o.raw_without_postings),
          entry_value_bytes_(entry_value_bytes) {
        open_raw(r_, path);
        raw_create_accounts(r_, o.accounts);
    }

    double commit(const std::vector<Transfer>& transfers, std::size_t start, std::size_t end) {
        const auto t0 = Clock::now();
        MDB_txn* txn = nullptr;
        check_lmdb(mdb_txn_begin(r_.env, nullptr, 0, &txn), "mdb_txn_begin");
        for (std::size_t i = start; i < end; ++i) {
            const Transfer& t = transfers[i];
            ++sequence_;
            auto eid = raw_id(kEntryIdHi, i + 1);
            MDB_val ekey{eid.size(), eid.data()}, found{};
            const int rc = mdb_get(txn, r_.entry_ids, &ekey, &found);
            if (rc != MDB_NOTFOUND)
                die("raw: entry id exists or get failed");
            auto dk = raw_id(kAccountIdHi, t.debit + 1ull);
            auto ck = raw_id(kAccountIdHi, t.credit + 1ull);
            MDB_val dkey{dk.size(), dk.data()}, ckey{ck.size(), ck.data()};
            MDB_val v{};
            check_lmdb(mdb_get(txn, r_.balances, &dkey, &v), "get balance");
            std::memcpy(bal_debit_.data(), v.mv_data, bal_debit_.size());
            check_lmdb(mdb_get(txn, r_.balances, &ckey, &v), "get balance");
            std::memcpy(bal_credit_.data(), v.mv_data, bal_credit_.size());
            raw_add(bal_debit_.data(), 1, t.amount_minor);    // debits_posted
            raw_add(bal_credit_.data(), 17, t.amount_minor);  // credits_posted
            MDB_val dv{bal_debit_.size(), bal_debit_.data()},
                cv{bal_credit_.size(), bal_credit_.data()};
            check_lmdb(mdb_put(txn, r_.balances, &dkey, &dv, 0), "put balance");
            check_lmdb(mdb_put(txn, r_.balances, &ckey, &cv, 0), "put balance");

            std::array<unsigned char, 8> seq_key{};
            be64(sequence_, seq_key.data());
            std::memcpy(entry_row_.data(), &i, sizeof i);
            MDB_val skey{seq_key.size(), seq_key.data()}, ev{entry_value_bytes_, entry_row_.data()};
            check_lmdb(mdb_put(txn, r_.entries, &skey, &ev, MDB_APPEND), "put entry");
            be64(sequence_, id_row_.data() + 1);
            MDB_val sv{id_row_.size(), id_row_.data()};
            check_lmdb(mdb_put(txn, r_.entry_ids, &ekey, &sv, MDB_NOOVERWRITE), "put entry id");
            std::uint16_t index = 0;
            for (const auto* acct : {&dk, &ck}) {
                std::array<unsigned char, kRawPostingKeyBytes> pk{};
                std::memcpy(pk.data(), acct->data(), 16);
                be64(sequence_, pk.data() + 16);
                pk[24] = 0;
                pk[25] = static_cast<unsigned char>(index++);
                MDB_val pkey{pk.size(), pk.data()}, pv{posting_row_.size(), posting_row_.data()};
                if (!without_postings_)
                    check_lmdb(mdb_put(txn, r_.postings, &pkey, &pv, 0), "put posting");
            }
        }
        be64(sequence_, head_row_.data());
        static const char kHeadKey[] = "head";
        MDB_val hkey{sizeof kHeadKey - 1, const_cast<char*>(kHeadKey)};
        MDB_val hv{head_row_.size(), head_row_.data()};
        check_lmdb(mdb_put(txn, r_.meta, &hkey, &hv, 0), "put head");
        check_lmdb(mdb_txn_commit(txn), "mdb_txn_commit");
        return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
    }

    std::uint64_t close() {
        mdb_env_close(r_.env);
        r_.env = nullptr;
        return file_size_or_zero(path_);
    }

  private:
    fs::path path_;
    bool without_postings_ = false;
    std::size_t entry_value_bytes_ = 0;
    RawEnv r_;
    std::uint64_t sequence_ = 0;
    std::array<unsigned char, kRawEntryValueBytesMax> entry_row_{};
    std::array<unsigned char, kRawBalanceValueBytes> bal_debit_{}, bal_credit_{};
    std::array<unsigned char, kRawPostingValueBytes> posting_row_{};
    std::array<unsigned char, kRawEntryIdValueBytes> id_row_{};
    std::array<unsigned char, kRawHeadValueBytes> head_row_{};
};

// Runs the ledger and the raw baseline on fresh files, batch by batch in alternation
// (raw first on even batches, the ledger first on odd ones), so that a disk that speeds
// up or slows down during the run affects both alike.
void run_interleaved(const fs::path& lpath, const fs::path& rpath, const Options& o,
                     std::size_t batch_size, const std::vector<Transfer>& transfers,
                     std::size_t entry_value_bytes, RunFigures& led, RunFigures& raw) {
    std::unique_ptr<LedgerRunner> l;
    std::unique_ptr<RawRunner> r;
    if (!o.skip_ledger)
        l = std::make_unique<LedgerRunner>(lpath, o);
    if (!o.skip_raw)
        r = std::make_unique<RawRunner>(rpath, o, entry_value_bytes);
    std::vector<double> led_us, raw_us;
    for (RunFigures* f : {&led, &raw}) {
        f->batch_size = batch_size;
        f->transfers = transfers.size();
    }
    std::size_t k = 0;
    for (std::size_t start = 0; start < transfers.size(); start += batch_size, ++k) {
        const std::size_t end = std::min(transfers.size(), start + batch_size);
        for (int turn = 0; turn < 2; ++turn) {
            const bool ledger_turn = (turn == 0) == (k % 2 == 1);
            if (ledger_turn && l) {
                led_us.push_back(l->commit(transfers, start, end));
                led.commit_seconds += led_us.back() / 1e6;
            } else if (!ledger_turn && r) {
                raw_us.push_back(r->commit(transfers, start, end));
                raw.commit_seconds += raw_us.back() / 1e6;
            }
        }
    }
    fill_latency(led, led_us);
    fill_latency(raw, raw_us);
    if (l)
        led.file_bytes = l->close();
    if (r)
        raw.file_bytes = r->close();
}

// mdb_get of a balance row from one read transaction: the floor under balance().
class RawReader {
  public:
    RawReader(const fs::path& path, const Options& o) {
        open_raw(r_, path);
        check_lmdb(mdb_txn_begin(r_.env, nullptr, MDB_RDONLY, &txn_), "mdb_txn_begin");
        for (auto p : random_accounts(1u << 20, o.accounts, o.seed ^ 0x5EED))
            keys_.push_back(raw_id(kAccountIdHi, p + 1ull));
        // Warm the pages once, untimed, as the ledger reader does.
        for (std::uint32_t i = 0; i < o.accounts; ++i) {
            auto k = raw_id(kAccountIdHi, i + 1ull);
            MDB_val key{k.size(), k.data()}, v{};
            check_lmdb(mdb_get(txn_, r_.balances, &key, &v), "get balance");
        }
    }
    double run(std::uint64_t n) {
        const auto t0 = Clock::now();
        for (std::uint64_t end = next_ + n; next_ < end; ++next_) {
            auto& k = keys_[next_ & (keys_.size() - 1)];
            MDB_val key{k.size(), k.data()}, v{};
            check_lmdb(mdb_get(txn_, r_.balances, &key, &v), "get balance");
            std::uint64_t debits = 0;
            std::memcpy(&debits, static_cast<const unsigned char*>(v.mv_data) + 1, sizeof debits);
            sink_ += debits != 0 ? 1u : 0u;
        }
        return std::chrono::duration<double>(Clock::now() - t0).count();
    }
    ~RawReader() {
        mdb_txn_abort(txn_);
        if (sink_ == 0 && next_ > 0)
            std::fprintf(stderr, "ledger_bench: every raw balance was 0\n");
    }

  private:
    RawEnv r_;
    MDB_txn* txn_ = nullptr;
    std::vector<std::array<unsigned char, 16>> keys_;
    std::uint64_t next_ = 0;
    std::uint64_t sink_ = 0;
};

// Both readers in slices of a million lookups, alternating, for the same reason the
// commits alternate.
void run_reads(const fs::path& lpath, const fs::path& rpath, const Options& o, ReadFigures& led,
               ReadFigures& raw) {
    std::unique_ptr<LedgerReader> l;
    std::unique_ptr<RawReader> r;
    if (!o.skip_ledger)
        l = std::make_unique<LedgerReader>(lpath, o);
    if (!o.skip_raw)
        r = std::make_unique<RawReader>(rpath, o);
    constexpr std::uint64_t kSlice = 1'000'000;
    for (std::uint64_t done = 0, k = 0; done < o.reads; ++k) {
        const std::uint64_t n = std::min(kSlice, o.reads - done);
        for (int turn = 0; turn < 2; ++turn) {
            const bool ledger_turn = (turn == 0) == (k % 2 == 1);
            if (ledger_turn && l) {
                led.seconds += l->run(n);
                led.reads += n;
            } else if (!ledger_turn && r) {
                raw.seconds += r->run(n);
                raw.reads += n;
            }
        }
        done += n;
    }
}

void remove_db(const fs::path& path) {
    std::error_code ec;
    fs::remove(path, ec);
    fs::remove(fs::path(path.string() + "-lock"), ec);
}

std::string human_rate(double per_s) {
    if (per_s >= 1e6)
        return fmt::format("{:.2f}M", per_s / 1e6);
    if (per_s >= 1e3)
        return fmt::format("{:.1f}k", per_s / 1e3);
    return fmt::format("{:.0f}", per_s);
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app{"fxsettle ledger benchmark: durable transfers vs raw LMDB, and point reads"};
    app.add_option("--dir", o.dir, "directory for the files (default: a new temp dir)");
    app.add_flag("--keep", o.keep, "keep the files");
    app.add_option("--accounts", o.accounts, "accounts")->check(CLI::Range(2u, 1'000'000u));
    app.add_option("--transfers", o.transfers, "transfers per batch size, at most")
        ->check(CLI::PositiveNumber);
    app.add_option("--commits-max", o.commits_max,
                   "commits per batch size, at most (small batches are fsync-bound)")
        ->check(CLI::PositiveNumber);
    app.add_option("--batch", o.batch_sizes, "batch sizes")
        ->check(CLI::Range(std::size_t{1}, ledger::kBatchOperationsMax));
    app.add_option("--reads", o.reads, "point balance reads");
    app.add_option("--seed", o.seed, "random seed");
    app.add_flag("--json", o.json, "print one JSON object last");
    app.add_flag("--skip-raw", o.skip_raw, "do not run the raw LMDB baseline");
    app.add_flag("--raw-without-postings", o.raw_without_postings,
                 "diagnostic: the raw baseline skips the postings index (not the ledger's work)");
    app.add_flag("--skip-ledger", o.skip_ledger, "do not run the ledger");
    CLI11_PARSE(app, argc, argv);

    fs::path dir;
    bool made_dir = false;
    if (o.dir.empty()) {
        std::string tmpl = (fs::temp_directory_path() / "fxsettle-ledger-bench-XXXXXX").string();
        if (mkdtemp(tmpl.data()) == nullptr)
            die("mkdtemp failed");
        dir = tmpl;
        made_dir = true;
    } else {
        dir = o.dir;
        std::error_code ec;
        fs::create_directories(dir, ec);
        if (ec)
            die(fmt::format("create {}: {}", dir.string(), ec.message()));
    }

    fmt::print(
        "ledger_bench: {} USD accounts, random account pairs, one entry of two postings "
        "per transfer, durable commits (one fsync per batch)\n",
        o.accounts);
    fmt::print("dir: {} ({}), seed {}\n", dir.string(), filesystem_name(dir), o.seed);

    // Calibration: what the ledger stores per transfer, measured on a small ledger.
    constexpr std::uint64_t kCalibrationTransfers = 2000;
    std::size_t entry_value_bytes = 200;
    {
        const fs::path cpath = dir / "calibration.lmdb";
        remove_db(cpath);
        const auto transfers = make_transfers(kCalibrationTransfers, o.accounts, o.seed);
        {
            LedgerRunner calibration(cpath, o);
            for (std::size_t start = 0; start < transfers.size(); start += 1000)
                calibration.commit(transfers, start, std::min(transfers.size(), start + 1000));
        }
        fmt::print("ledger rows after {} transfers (on top of {} accounts):\n",
                   kCalibrationTransfers, o.accounts);
        for (const auto& d : measure_databases(cpath)) {
            fmt::print("  {:<16} {:>7} rows  key {:>5.1f} B  value {:>6.1f} B\n", d.name, d.rows,
                       d.key_bytes_avg, d.value_bytes_avg);
            if (d.name == "entries" && d.rows > 0)
                entry_value_bytes = static_cast<std::size_t>(d.value_bytes_avg + 0.5);
        }
        remove_db(cpath);
        entry_value_bytes = std::min(entry_value_bytes, kRawEntryValueBytesMax);
    }
    fmt::print("baseline: {}\n", raw_baseline_description(entry_value_bytes));
    if (o.raw_without_postings)
        fmt::print(
            "baseline variant: WITHOUT the postings index rows (diagnostic, not the "
            "ledger's work)\n");
    fmt::print(
        "transfers/s = transfers / time inside commit() (ledger) or txn begin..commit "
        "(raw); requests are built outside the timed region; the two run on separate fresh "
        "files, batch by batch in alternation, so disk-speed drift hits both alike\n\n");
    fmt::print("{:>6} {:>9} {:>8} {:>11} {:>11} {:>7} {:>10} {:>10} {:>10} {:>10} {:>9}\n", "batch",
               "transfers", "commits", "ledger tps", "raw tps", "ratio", "ledger p50", "ledger p99",
               "raw p50", "raw p99", "ledger MB");
    std::fflush(stdout);

    nlohmann::json j;
    j["accounts"] = o.accounts;
    j["seed"] = o.seed;
    j["durable"] = true;
    j["baseline"] = raw_baseline_description(entry_value_bytes);
    j["entry_value_bytes"] = entry_value_bytes;
    j["raw_without_postings"] = o.raw_without_postings;
    j["dir_filesystem"] = filesystem_name(dir);
    ReadFigures reads{}, raw_reads{};
    const std::size_t largest = *std::max_element(o.batch_sizes.begin(), o.batch_sizes.end());
    for (std::size_t batch : o.batch_sizes) {
        const std::uint64_t n = std::min<std::uint64_t>(o.transfers, batch * o.commits_max);
        const auto transfers = make_transfers(n, o.accounts, o.seed + batch);
        const fs::path lpath = dir / fmt::format("ledger-b{}.lmdb", batch);
        const fs::path rpath = dir / fmt::format("raw-b{}.lmdb", batch);
        remove_db(lpath);
        remove_db(rpath);
        RunFigures raw{}, led{};
        run_interleaved(lpath, rpath, o, batch, transfers, entry_value_bytes, led, raw);
        if (batch == largest && o.reads > 0)
            run_reads(lpath, rpath, o, reads, raw_reads);
        if (!o.keep) {
            remove_db(rpath);
            remove_db(lpath);
        }
        const double ratio = raw.tps() > 0 ? led.tps() / raw.tps() : 0;
        fmt::print(
            "{:>6} {:>9} {:>8} {:>11.0f} {:>11.0f} {:>7.3f} {:>8.0f}us {:>8.0f}us "
            "{:>8.0f}us {:>8.0f}us {:>9.1f}\n",
            batch, n, std::max(led.commits, raw.commits), led.tps(), raw.tps(), ratio,
            led.commit_us_p50, led.commit_us_p99, raw.commit_us_p50, raw.commit_us_p99,
            double(led.file_bytes) / 1e6);
        std::fflush(stdout);
        const std::string b = std::to_string(batch);
        j["transfers_batch_" + b] = n;
        j["tps_batch_" + b] = led.tps();
        j["raw_tps_batch_" + b] = raw.tps();
        j["ratio_batch_" + b] = ratio;
        j["commit_us_p50_batch_" + b] = led.commit_us_p50;
        j["commit_us_p99_batch_" + b] = led.commit_us_p99;
        j["commit_us_max_batch_" + b] = led.commit_us_max;
        j["raw_commit_us_p50_batch_" + b] = raw.commit_us_p50;
        j["raw_commit_us_p99_batch_" + b] = raw.commit_us_p99;
        j["ledger_file_bytes_batch_" + b] = led.file_bytes;
        j["raw_file_bytes_batch_" + b] = raw.file_bytes;
    }
    fmt::print(
        "\npoint reads (one ReadView, random accounts, {} lookups on the batch-{} file): "
        "ledger balance() {} reads/s, raw mdb_get {} reads/s, ratio {:.3f}\n",
        o.reads, largest, human_rate(reads.per_s()), human_rate(raw_reads.per_s()),
        raw_reads.per_s() > 0 ? reads.per_s() / raw_reads.per_s() : 0.0);
    j["reads"] = o.reads;
    j["reads_per_s"] = reads.per_s();
    j["raw_reads_per_s"] = raw_reads.per_s();
    if (made_dir && !o.keep) {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    if (o.json)
        fmt::print("{}\n", j.dump());
    return 0;
}
