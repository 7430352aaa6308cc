// Read views: one LMDB read transaction each, and `verify`, which replays the whole
// journal against what is stored.
#include <algorithm>
#include <mutex>
#include <unordered_map>

#include "engine/money/rate.h"
#include "ledger/ledger_internal.h"

namespace fxsettle::ledger::internal {
namespace {

struct IdHash {
    template <typename Tag>
    std::size_t operator()(const Id128<Tag>& id) const noexcept {
        return static_cast<std::size_t>((id.hi * 0x9E3779B97F4A7C15ull) ^ id.lo ^ (id.lo >> 29));
    }
};

Status corruption(std::string what) {
    return Status(StatusCode::kCorruption, std::move(what));
}

std::string entry_name(const EntryId& id, std::uint64_t seq) {
    return "entry " + id.to_hex() + " (seq " + std::to_string(seq) + ")";
}

class ReadViewImpl final : public ReadView {
  public:
    ReadViewImpl(std::shared_ptr<Shared> shared, lmdb::Txn txn)
        : shared_(std::move(shared)), txn_(std::move(txn)), slot_(shared_->map_guard.attach()) {}
    ~ReadViewImpl() override {
        {
            // Ending the read transaction touches only the lock file's reader table, but
            // keep the rule simple: nothing of LMDB runs while the map moves.
            ReadGuard guard(shared_->map_guard, slot_);
            txn_.abort();
        }
        shared_->map_guard.detach(slot_);
    }
    ReadViewImpl(const ReadViewImpl&) = delete;
    ReadViewImpl& operator=(const ReadViewImpl&) = delete;

    Result<LedgerInfo> info() override {
        ReadGuard guard(shared_->map_guard, slot_);
        auto h = head();
        if (!h) {
            return fail(h.error());
        }
        LedgerInfo out;
        out.format_version = kFormatVersion;
        out.last_sequence = h->last_sequence;
        out.head_hash = h->head_hash;
        MDB_stat stat{};
        if (int rc = mdb_stat(txn_.get(), dbs().accounts, &stat); rc != MDB_SUCCESS) {
            return fail(lmdb::status(rc, "counting accounts"));
        }
        out.accounts = stat.ms_entries;
        out.map_size_bytes = shared_->map_size();
        return out;
    }

    Result<std::optional<Account>> account(const AccountId& id) override {
        ReadGuard guard(shared_->map_guard, slot_);
        return get_account(id);
    }

    Result<std::optional<Account>> account_by_code(std::string_view code) override {
        ReadGuard guard(shared_->map_guard, slot_);
        MDB_val k = lmdb::val(code.data(), code.size());
        MDB_val v;
        if (code.empty() || code.size() > kAccountCodeBytesMax) {
            return std::optional<Account>();
        }
        const int rc = mdb_get(txn_.get(), dbs().account_codes, &k, &v);
        if (rc == MDB_NOTFOUND) {
            return std::optional<Account>();
        }
        if (rc != MDB_SUCCESS || v.mv_size != 16) {
            return fail(lmdb::status(rc == MDB_SUCCESS ? MDB_CORRUPTED : rc,
                                     "reading account code '" + std::string(code) + "'"));
        }
        return get_account(
            codec::id_from_key<AccountTag>(static_cast<const std::uint8_t*>(v.mv_data)));
    }

    Result<std::vector<Account>> accounts() override {
        ReadGuard guard(shared_->map_guard, slot_);
        std::vector<Account> out;
        lmdb::Cursor cursor;
        if (int rc = cursor.open(txn_.get(), dbs().accounts); rc != MDB_SUCCESS) {
            return fail(lmdb::status(rc, "listing accounts"));
        }
        MDB_val k;
        MDB_val v;
        int rc = cursor.get(&k, &v, MDB_FIRST);
        for (; rc == MDB_SUCCESS; rc = cursor.get(&k, &v, MDB_NEXT)) {
            Account a;
            if (!records::decode_account(lmdb::view(v), a)) {
                return fail(corruption("an account record does not decode"));
            }
            out.push_back(std::move(a));
        }
        if (rc != MDB_NOTFOUND) {
            return fail(lmdb::status(rc, "listing accounts"));
        }
        return out;
    }

    Result<Balance> balance(const AccountId& id) override {
        ReadGuard guard(shared_->map_guard, slot_);
        return current_balance(id);
    }

    Result<Balance> balance_at_sequence(const AccountId& id, std::uint64_t sequence) override {
        ReadGuard guard(shared_->map_guard, slot_);
        return balance_at(id, sequence);
    }

    Result<Balance> balance_at_time(const AccountId& id, Timestamp at) override {
        ReadGuard guard(shared_->map_guard, slot_);
        auto seq = last_seq_at_or_before(at);
        if (!seq) {
            return fail(seq.error());
        }
        return balance_at(id, *seq);
    }

    Result<std::vector<StatementLine>> statement(const AccountId& id, Timestamp from, Timestamp to,
                                                 std::size_t max_lines) override {
        ReadGuard guard(shared_->map_guard, slot_);
        if (auto b = current_balance(id); !b) {
            return fail(b.error());
        }
        std::vector<StatementLine> out;
        if (from >= to) {
            return out;
        }
        auto before = last_seq_at_or_before(from - std::chrono::nanoseconds(1));
        auto last = last_seq_at_or_before(to - std::chrono::nanoseconds(1));
        if (!before || !last) {
            return fail(!before ? before.error() : last.error());
        }
        lmdb::Cursor cursor;
        if (int rc = cursor.open(txn_.get(), dbs().postings); rc != MDB_SUCCESS) {
            return fail(lmdb::status(rc, "reading a statement"));
        }
        const auto start = records::posting_key(id, *before + 1, 0);
        MDB_val k = lmdb::val(start.data(), start.size());
        MDB_val v;
        int rc = cursor.get(&k, &v, MDB_SET_RANGE);
        const auto prefix = codec::id_key(id);
        records::EntryRecord rec;
        for (; rc == MDB_SUCCESS && out.size() < max_lines; rc = cursor.get(&k, &v, MDB_NEXT)) {
            const auto* key = static_cast<const std::uint8_t*>(k.mv_data);
            if (k.mv_size != 26 || !std::equal(prefix.begin(), prefix.end(), key)) {
                break;
            }
            const std::uint64_t seq = codec::get_be64(key + 16);
            if (seq > *last) {
                break;
            }
            records::PostingRow row;
            if (!records::decode_posting_value(lmdb::view(v), row)) {
                return fail(corruption("a posting row of account " + id.to_hex() + " at seq " +
                                       std::to_string(seq) + " does not decode"));
            }
            if (rec.entry.sequence != seq) {
                auto found = entry_by_seq(seq, rec);
                if (!found || !*found) {
                    return fail(found ? corruption("posting row of account " + id.to_hex() +
                                                   " names missing entry " + std::to_string(seq))
                                      : found.error());
                }
            }
            StatementLine line;
            line.sequence = seq;
            line.timestamp = rec.entry.timestamp;
            line.entry = rec.entry.id;
            line.kind = rec.entry.kind;
            line.reference = rec.entry.reference;
            line.side = row.side;
            line.amount = row.amount;
            line.balance_after = row.balance_after;
            out.push_back(std::move(line));
        }
        if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
            return fail(lmdb::status(rc, "reading a statement"));
        }
        return out;
    }

    Result<std::vector<TrialBalanceRow>> trial_balance(
        std::optional<std::uint64_t> at_sequence) override {
        ReadGuard guard(shared_->map_guard, slot_);
        std::vector<TrialBalanceRow> rows;
        lmdb::Cursor cursor;
        if (int rc = cursor.open(txn_.get(), dbs().accounts); rc != MDB_SUCCESS) {
            return fail(lmdb::status(rc, "reading the trial balance"));
        }
        MDB_val k;
        MDB_val v;
        int rc = cursor.get(&k, &v, MDB_FIRST);
        for (; rc == MDB_SUCCESS; rc = cursor.get(&k, &v, MDB_NEXT)) {
            Account a;
            if (!records::decode_account(lmdb::view(v), a)) {
                return fail(corruption("an account record does not decode"));
            }
            auto b = at_sequence ? balance_at(a.id, *at_sequence) : current_balance(a.id);
            if (!b) {
                return fail(b.error());
            }
            auto it = std::find_if(rows.begin(), rows.end(), [&](const TrialBalanceRow& r) {
                return r.currency == a.currency;
            });
            if (it == rows.end()) {
                rows.push_back(TrialBalanceRow{a.currency, {}, {}, {}, {}});
                it = rows.end() - 1;
            }
            auto dp = it->debits_posted.checked_add(b->debits_posted);
            auto cp = it->credits_posted.checked_add(b->credits_posted);
            auto dn = it->debits_pending.checked_add(b->debits_pending);
            auto cn = it->credits_pending.checked_add(b->credits_pending);
            if (!dp || !cp || !dn || !cn) {
                return fail(StatusCode::kOutOfRange,
                            "the trial balance in " + a.currency.to_string() + " overflows");
            }
            it->debits_posted = *dp;
            it->credits_posted = *cp;
            it->debits_pending = *dn;
            it->credits_pending = *cn;
        }
        if (rc != MDB_NOTFOUND) {
            return fail(lmdb::status(rc, "reading the trial balance"));
        }
        std::sort(rows.begin(), rows.end(), [](const TrialBalanceRow& a, const TrialBalanceRow& b) {
            return a.currency < b.currency;
        });
        return rows;
    }

    Result<std::optional<Entry>> entry(const EntryId& id) override {
        ReadGuard guard(shared_->map_guard, slot_);
        auto seq = seq_of(id);
        if (!seq) {
            return fail(seq.error());
        }
        if (!*seq) {
            return std::optional<Entry>();
        }
        return entry_at(**seq);
    }

    Result<std::optional<Entry>> entry_at_sequence(std::uint64_t sequence) override {
        ReadGuard guard(shared_->map_guard, slot_);
        return entry_at(sequence);
    }

    Result<std::vector<Entry>> entries(Timestamp from, Timestamp to,
                                       std::size_t max_entries) override {
        ReadGuard guard(shared_->map_guard, slot_);
        if (from >= to) {
            return std::vector<Entry>();
        }
        auto before = last_seq_at_or_before(from - std::chrono::nanoseconds(1));
        auto last = last_seq_at_or_before(to - std::chrono::nanoseconds(1));
        if (!before || !last) {
            return fail(!before ? before.error() : last.error());
        }
        return scan_entries(*before + 1, *last, max_entries);
    }

    Result<std::vector<Entry>> entries_by_sequence(std::uint64_t first, std::uint64_t last,
                                                   std::size_t max_entries) override {
        ReadGuard guard(shared_->map_guard, slot_);
        return scan_entries(first, last, max_entries);
    }

    Result<std::optional<std::string>> aux_get(AuxTable table, std::string_view key) override {
        ReadGuard guard(shared_->map_guard, slot_);
        if (key.empty()) {
            return std::optional<std::string>();
        }
        MDB_val k = lmdb::val(key.data(), key.size());
        MDB_val v;
        const int rc = mdb_get(txn_.get(), dbs().aux(table), &k, &v);
        if (rc == MDB_NOTFOUND) {
            return std::optional<std::string>();
        }
        if (rc != MDB_SUCCESS) {
            return fail(lmdb::status(rc, "reading an aux row"));
        }
        return std::optional<std::string>(std::string(lmdb::view(v)));
    }

    Result<std::vector<std::pair<std::string, std::string>>> aux_scan(
        AuxTable table, std::string_view from_key, std::size_t max_rows) override {
        ReadGuard guard(shared_->map_guard, slot_);
        std::vector<std::pair<std::string, std::string>> out;
        lmdb::Cursor cursor;
        if (int rc = cursor.open(txn_.get(), dbs().aux(table)); rc != MDB_SUCCESS) {
            return fail(lmdb::status(rc, "scanning aux rows"));
        }
        MDB_val k = lmdb::val(from_key.data(), from_key.size());
        MDB_val v;
        int rc =
            from_key.empty() ? cursor.get(&k, &v, MDB_FIRST) : cursor.get(&k, &v, MDB_SET_RANGE);
        for (; rc == MDB_SUCCESS && out.size() < max_rows; rc = cursor.get(&k, &v, MDB_NEXT)) {
            out.emplace_back(std::string(lmdb::view(k)), std::string(lmdb::view(v)));
        }
        if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
            return fail(lmdb::status(rc, "scanning aux rows"));
        }
        return out;
    }

    Result<VerifyReport> verify() override;

  private:
    const Dbs& dbs() const noexcept { return shared_->dbs; }

    Result<records::HeadRecord> head() {
        if (head_) {
            return *head_;
        }
        MDB_val k = lmdb::val(records::kMetaHeadKey.data(), records::kMetaHeadKey.size());
        MDB_val v;
        const int rc = mdb_get(txn_.get(), dbs().meta, &k, &v);
        records::HeadRecord h;
        if (rc != MDB_SUCCESS || !records::decode_head(lmdb::view(v), h)) {
            return fail(corruption("the hash-chain head in meta is missing or does not decode"));
        }
        head_ = h;
        return h;
    }

    Result<std::optional<Account>> get_account(const AccountId& id) {
        const auto key = codec::id_key(id);
        MDB_val k = lmdb::val(key.data(), key.size());
        MDB_val v;
        const int rc = mdb_get(txn_.get(), dbs().accounts, &k, &v);
        if (rc == MDB_NOTFOUND) {
            return std::optional<Account>();
        }
        if (rc != MDB_SUCCESS) {
            return fail(lmdb::status(rc, "reading account " + id.to_hex()));
        }
        Account a;
        if (!records::decode_account(lmdb::view(v), a) || a.id != id) {
            return fail(corruption("account record " + id.to_hex() + " does not decode"));
        }
        return std::optional<Account>(std::move(a));
    }

    Result<Balance> current_balance(const AccountId& id) {
        const auto key = codec::id_key(id);
        MDB_val k = lmdb::val(key.data(), key.size());
        MDB_val v;
        const int rc = mdb_get(txn_.get(), dbs().balances, &k, &v);
        if (rc != MDB_SUCCESS) {
            if (rc == MDB_NOTFOUND) {
                return fail(StatusCode::kNotFound, "account " + id.to_hex() + " does not exist");
            }
            return fail(lmdb::status(rc, "reading the balance of " + id.to_hex()));
        }
        // Decoded into a member, not a fresh Balance: zeroing 128 bytes first (g++ emits
        // `rep stos`) was a twentieth of a point read, and decoding sets every field.
        if (!records::decode_balance(lmdb::view(v), balance_scratch_)) {
            return fail(corruption("the balance of account " + id.to_hex() + " does not decode"));
        }
        return balance_scratch_;
    }

    Result<Balance> balance_at(const AccountId& id, std::uint64_t sequence) {
        auto current = current_balance(id);
        auto h = head();
        if (!current || !h) {
            return !current ? current : fail(h.error());
        }
        if (sequence >= h->last_sequence) {
            return current;
        }
        // The last posting row of the account at or before `sequence` holds the totals
        // after it: seek just past it and step back.
        lmdb::Cursor cursor;
        if (int rc = cursor.open(txn_.get(), dbs().postings); rc != MDB_SUCCESS) {
            return fail(lmdb::status(rc, "reading a past balance"));
        }
        const auto seek = records::posting_key(id, sequence + 1, 0);
        MDB_val k = lmdb::val(seek.data(), seek.size());
        MDB_val v;
        int rc = cursor.get(&k, &v, MDB_SET_RANGE);
        rc = rc == MDB_NOTFOUND ? cursor.get(&k, &v, MDB_LAST) : cursor.get(&k, &v, MDB_PREV);
        if (rc == MDB_NOTFOUND) {
            return Balance{};
        }
        if (rc != MDB_SUCCESS) {
            return fail(lmdb::status(rc, "reading a past balance"));
        }
        const auto prefix = codec::id_key(id);
        const auto* key = static_cast<const std::uint8_t*>(k.mv_data);
        if (k.mv_size != 26 || !std::equal(prefix.begin(), prefix.end(), key)) {
            return Balance{};  // no posting to this account up to `sequence`
        }
        records::PostingRow row;
        if (!records::decode_posting_value(lmdb::view(v), row)) {
            return fail(corruption("a posting row of account " + id.to_hex() + " does not decode"));
        }
        return row.balance_after;
    }

    Result<std::optional<Timestamp>> timestamp_at(std::uint64_t seq) {
        const auto key = records::seq_key(seq);
        MDB_val k = lmdb::val(key.data(), key.size());
        MDB_val v;
        const int rc = mdb_get(txn_.get(), dbs().entries, &k, &v);
        if (rc != MDB_SUCCESS) {
            return fail(rc == MDB_NOTFOUND
                            ? corruption("entry " + std::to_string(seq) + " is missing")
                            : lmdb::status(rc, "reading entry " + std::to_string(seq)));
        }
        auto ts = records::entry_timestamp(lmdb::view(v));
        if (!ts) {
            return fail(corruption("entry " + std::to_string(seq) + " does not decode"));
        }
        return ts;
    }

    // The last sequence whose timestamp is <= `at` (0 when none). Timestamps never
    // decrease with sequence (the writer clamps them), so this is a binary search.
    Result<std::uint64_t> last_seq_at_or_before(Timestamp at) {
        auto h = head();
        if (!h) {
            return fail(h.error());
        }
        std::uint64_t lo = 0;
        std::uint64_t hi = h->last_sequence;
        while (lo < hi) {
            const std::uint64_t mid = lo + (hi - lo + 1) / 2;
            auto ts = timestamp_at(mid);
            if (!ts) {
                return fail(ts.error());
            }
            if (**ts <= at) {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        return lo;
    }

    Result<std::optional<std::uint64_t>> seq_of(const EntryId& id) {
        const auto key = codec::id_key(id);
        MDB_val k = lmdb::val(key.data(), key.size());
        MDB_val v;
        const int rc = mdb_get(txn_.get(), dbs().entry_ids, &k, &v);
        if (rc == MDB_NOTFOUND) {
            return std::optional<std::uint64_t>();
        }
        if (rc != MDB_SUCCESS) {
            return fail(lmdb::status(rc, "reading entry id " + id.to_hex()));
        }
        codec::Reader r(v.mv_data, v.mv_size);
        const bool version_ok = r.u8() == records::kRecordVersion;
        const std::uint64_t seq = r.u64();
        if (!version_ok || !r.ok() || !r.at_end()) {
            return fail(corruption("entry id record " + id.to_hex() + " does not decode"));
        }
        return std::optional<std::uint64_t>(seq);
    }

    Result<bool> entry_by_seq(std::uint64_t seq, records::EntryRecord& rec) {
        const auto key = records::seq_key(seq);
        MDB_val k = lmdb::val(key.data(), key.size());
        MDB_val v;
        const int rc = mdb_get(txn_.get(), dbs().entries, &k, &v);
        if (rc == MDB_NOTFOUND) {
            return false;
        }
        if (rc != MDB_SUCCESS) {
            return fail(lmdb::status(rc, "reading entry " + std::to_string(seq)));
        }
        if (!records::decode_entry(lmdb::view(v), rec) || rec.entry.sequence != seq) {
            return fail(corruption("entry " + std::to_string(seq) + " does not decode"));
        }
        return true;
    }

    Result<std::optional<Entry>> entry_at(std::uint64_t seq) {
        records::EntryRecord rec;
        auto found = entry_by_seq(seq, rec);
        if (!found) {
            return fail(found.error());
        }
        if (!*found) {
            return std::optional<Entry>();
        }
        assert_balanced(rec.entry);
        return std::optional<Entry>(std::move(rec.entry));
    }

    Result<std::vector<Entry>> scan_entries(std::uint64_t first, std::uint64_t last,
                                            std::size_t max_entries) {
        std::vector<Entry> out;
        if (first > last || max_entries == 0) {
            return out;
        }
        lmdb::Cursor cursor;
        if (int rc = cursor.open(txn_.get(), dbs().entries); rc != MDB_SUCCESS) {
            return fail(lmdb::status(rc, "reading entries"));
        }
        const auto start = records::seq_key(first);
        MDB_val k = lmdb::val(start.data(), start.size());
        MDB_val v;
        int rc = cursor.get(&k, &v, MDB_SET_RANGE);
        for (; rc == MDB_SUCCESS && out.size() < max_entries; rc = cursor.get(&k, &v, MDB_NEXT)) {
            if (k.mv_size != 8) {
                return fail(corruption("an entry key is not 8 bytes"));
            }
            const std::uint64_t seq = codec::get_be64(static_cast<const std::uint8_t*>(k.mv_data));
            if (seq > last) {
                break;
            }
            records::EntryRecord rec;
            if (!records::decode_entry(lmdb::view(v), rec) || rec.entry.sequence != seq) {
                return fail(corruption("entry " + std::to_string(seq) + " does not decode"));
            }
            assert_balanced(rec.entry);
            out.push_back(std::move(rec.entry));
        }
        if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND) {
            return fail(lmdb::status(rc, "reading entries"));
        }
        return out;
    }

    // The paired assertion of the writer's check (STYLE.md): an entry read back balances
    // per currency. A stored entry that does not is caught by verify() as corruption; an
    // entry handed to a caller must never be unbalanced.
    static void assert_balanced(const Entry& e) {
        money::Amount net[kPostingsMax];
        money::Currency currency[kPostingsMax];
        std::size_t n = 0;
        for (const Posting& p : e.postings) {
            std::size_t i = 0;
            while (i < n && currency[i] != p.amount.currency) {
                ++i;
            }
            if (i == n) {
                currency[n++] = p.amount.currency;
            }
            auto next = p.side == Side::kDebit ? net[i].checked_add(p.amount.amount)
                                               : net[i].checked_sub(p.amount.amount);
            FXSETTLE_ASSERT(next.has_value(), "an entry read back overflows");
            net[i] = *next;
        }
        for (std::size_t i = 0; i < n; ++i) {
            FXSETTLE_ASSERT(net[i].is_zero(), "an entry read back does not balance per currency");
        }
    }

    std::shared_ptr<Shared> shared_;
    lmdb::Txn txn_;
    MapGuard::Slot* slot_;     // this view's reader mark; nullptr: the shared counter
    Balance balance_scratch_;  // current_balance() decodes here
    std::optional<records::HeadRecord> head_;
};

// ---------------------------------------------------------------------------------------
// verify

struct ReplayAccount {
    Account account;
    Side normal = Side::kDebit;
    Balance balance;
};

Result<VerifyReport> ReadViewImpl::verify() {
    ReadGuard guard(shared_->map_guard, slot_);
    VerifyReport rep;
    auto bad_entry = [&](const EntryId& id, std::uint64_t seq, const std::string& what) {
        rep.ok = false;
        rep.bad_entry = id;
        rep.bad_sequence = seq;
        rep.failure = entry_name(id, seq) + ": " + what;
        return rep;
    };
    auto bad_account = [&](const AccountId& id, const std::string& what) {
        rep.ok = false;
        rep.bad_account = id;
        rep.failure = "account " + id.to_hex() + ": " + what;
        return rep;
    };
    auto h = head();
    if (!h) {
        return fail(h.error());
    }

    // Accounts and their codes.
    std::unordered_map<AccountId, ReplayAccount, IdHash> accounts;
    {
        lmdb::Cursor cursor;
        if (int rc = cursor.open(txn_.get(), dbs().accounts); rc != MDB_SUCCESS) {
            return fail(lmdb::status(rc, "verify: reading accounts"));
        }
        MDB_val k;
        MDB_val v;
        int rc = cursor.get(&k, &v, MDB_FIRST);
        for (; rc == MDB_SUCCESS; rc = cursor.get(&k, &v, MDB_NEXT)) {
            const auto id =
                k.mv_size == 16
                    ? codec::id_from_key<AccountTag>(static_cast<const std::uint8_t*>(k.mv_data))
                    : AccountId{};
            ReplayAccount ra;
            if (!records::decode_account(lmdb::view(v), ra.account) || ra.account.id != id) {
                return bad_account(id, "the account record does not decode");
            }
            MDB_val ck = lmdb::val(ra.account.code.data(), ra.account.code.size());
            MDB_val cv;
            if (mdb_get(txn_.get(), dbs().account_codes, &ck, &cv) != MDB_SUCCESS ||
                cv.mv_size != 16 ||
                codec::id_from_key<AccountTag>(static_cast<const std::uint8_t*>(cv.mv_data)) !=
                    id) {
                return bad_account(id, "its code '" + ra.account.code + "' does not map to it");
            }
            ra.normal = normal_side(ra.account.kind);
            accounts.emplace(id, std::move(ra));
            ++rep.accounts_checked;
        }
        if (rc != MDB_NOTFOUND) {
            return fail(lmdb::status(rc, "verify: reading accounts"));
        }
    }

    // The journal, replayed.
    Sha256 sha;
    records::Hash prev{};
    std::uint64_t expected = 1;
    std::unordered_map<EntryId, std::vector<Posting>, IdHash> open_holds;
    std::unordered_map<AccountId, money::Int128, IdHash> carries;
    const money::Int128 unit = [] {
        money::Int128 u = 1;
        for (int i = 0; i < money::kResidueDecimals; ++i) {
            u *= 10;
        }
        return u;
    }();
    lmdb::Cursor cursor;
    if (int rc = cursor.open(txn_.get(), dbs().entries); rc != MDB_SUCCESS) {
        return fail(lmdb::status(rc, "verify: reading entries"));
    }
    MDB_val k;
    MDB_val v;
    int rc = cursor.get(&k, &v, MDB_FIRST);
    records::EntryRecord rec;
    std::vector<money::Amount> posted;
    std::vector<bool> matched;
    for (; rc == MDB_SUCCESS; rc = cursor.get(&k, &v, MDB_NEXT), ++expected) {
        const std::uint64_t seq =
            k.mv_size == 8 ? codec::get_be64(static_cast<const std::uint8_t*>(k.mv_data)) : 0;
        if (seq != expected) {
            return bad_entry(EntryId{}, seq,
                             "sequence " + std::to_string(seq) + " where " +
                                 std::to_string(expected) + " was expected");
        }
        if (!records::decode_entry(lmdb::view(v), rec) || rec.entry.sequence != seq) {
            return bad_entry(EntryId{}, seq, "the record does not decode");
        }
        const Entry& e = rec.entry;
        if (e.prev_hash != prev) {
            return bad_entry(e.id, seq, "prev_hash does not match the previous entry's hash");
        }
        records::Hash hash;
        sha.digest(hash_view(prev), rec.body, hash);
        if (hash != e.hash) {
            return bad_entry(e.id, seq, "hash mismatch");
        }
        prev = hash;
        auto mapped = seq_of(e.id);
        if (!mapped) {
            return fail(mapped.error());
        }
        if (!*mapped || **mapped != seq) {
            return bad_entry(e.id, seq, "its id does not map to its sequence");
        }
        if (seq > 1) {
            auto prev_ts = timestamp_at(seq - 1);
            if (!prev_ts) {
                return fail(prev_ts.error());
            }
            if (e.timestamp < **prev_ts) {
                return bad_entry(e.id, seq, "its timestamp is earlier than the previous entry's");
            }
        }
        // Per-currency balance, and each posting against its account.
        struct Sum {
            money::Currency currency;
            money::Amount net;
        };
        std::vector<Sum> sums;
        for (const Posting& p : e.postings) {
            auto it = accounts.find(p.account);
            if (it == accounts.end()) {
                return bad_entry(e.id, seq, "posting to unknown account " + p.account.to_hex());
            }
            if (it->second.account.currency != p.amount.currency) {
                return bad_entry(e.id, seq,
                                 "posting in " + p.amount.currency.to_string() + " to account " +
                                     it->second.account.code);
            }
            if (!p.amount.amount.is_positive()) {
                return bad_entry(e.id, seq, "a posting amount is not positive");
            }
            auto s = std::find_if(sums.begin(), sums.end(),
                                  [&](const Sum& x) { return x.currency == p.amount.currency; });
            if (s == sums.end()) {
                sums.push_back(Sum{p.amount.currency, {}});
                s = sums.end() - 1;
            }
            auto next = p.side == Side::kDebit ? s->net.checked_add(p.amount.amount)
                                               : s->net.checked_sub(p.amount.amount);
            if (!next) {
                return bad_entry(e.id, seq,
                                 "its " + p.amount.currency.to_string() + " sums overflow");
            }
            s->net = *next;
        }
        for (const Sum& s : sums) {
            if (!s.net.is_zero()) {
                return bad_entry(e.id, seq,
                                 "unbalanced currency " + s.currency.to_string() + " by " +
                                     money::format_amount(s.net, s.currency));
            }
        }
        // The effects on balances, as the writer applied them.
        struct Fx {
            const Posting* p;
            const money::Amount* posted_add;
            const money::Amount* pending_add;
            const money::Amount* pending_sub;
            const money::Amount* row_amount;
        };
        std::vector<Fx> effects;
        const std::vector<Posting>* held = nullptr;
        switch (e.kind) {
            case EntryKind::kPosted:
            case EntryKind::kPending:
                for (const Posting& p : e.postings) {
                    const bool pend = e.kind == EntryKind::kPending;
                    effects.push_back(Fx{&p, pend ? nullptr : &p.amount.amount,
                                         pend ? &p.amount.amount : nullptr, nullptr,
                                         &p.amount.amount});
                }
                if (e.kind == EntryKind::kPending) {
                    open_holds[e.id] = e.postings;
                }
                break;
            case EntryKind::kPostPending:
            case EntryKind::kVoidPending:
            case EntryKind::kExpirePending: {
                auto it = open_holds.find(e.pending_id);
                if (it == open_holds.end()) {
                    return bad_entry(
                        e.id, seq,
                        "resolves hold " + e.pending_id.to_hex() + ", which is not open");
                }
                held = &it->second;
                const bool post = e.kind == EntryKind::kPostPending;
                const bool derived = rec.flags & records::kEntryDerivedPostings;
                if (derived && e.postings != *held) {
                    return bad_entry(e.id, seq, "its postings are not those of its hold");
                }
                posted.assign(held->size(), money::Amount{});
                matched.assign(held->size(), false);
                if (post && !derived) {
                    for (const Posting& p : e.postings) {
                        std::size_t j = 0;
                        while (j < held->size() && (matched[j] || (*held)[j].account != p.account ||
                                                    (*held)[j].side != p.side)) {
                            ++j;
                        }
                        if (j == held->size() || p.amount.amount > (*held)[j].amount.amount) {
                            return bad_entry(e.id, seq, "a partial post does not fit its hold");
                        }
                        matched[j] = true;
                        posted[j] = p.amount.amount;
                    }
                }
                for (std::size_t j = 0; j < held->size(); ++j) {
                    const Posting& hp = (*held)[j];
                    const money::Amount* add = nullptr;
                    if (post) {
                        add = derived ? &hp.amount.amount : (matched[j] ? &posted[j] : nullptr);
                    }
                    effects.push_back(
                        Fx{&hp, add, nullptr, &hp.amount.amount, post ? add : &hp.amount.amount});
                }
                break;
            }
        }
        for (std::size_t i = 0; i < effects.size(); ++i) {
            const Fx& fx = effects[i];
            ReplayAccount& ra = accounts.at(fx.p->account);
            Balance& b = ra.balance;
            const bool debit = fx.p->side == Side::kDebit;
            money::Amount& posted_total = debit ? b.debits_posted : b.credits_posted;
            money::Amount& pending_total = debit ? b.debits_pending : b.credits_pending;
            if (fx.posted_add) {
                posted_total =
                    posted_total.checked_add(*fx.posted_add).value_or(money::Amount::max());
            }
            if (fx.pending_add) {
                pending_total =
                    pending_total.checked_add(*fx.pending_add).value_or(money::Amount::max());
            }
            if (fx.pending_sub) {
                pending_total =
                    pending_total.checked_sub(*fx.pending_sub).value_or(money::Amount::min());
                if (pending_total.is_negative()) {
                    return bad_entry(
                        e.id, seq,
                        "releases more than account " + ra.account.code + " has pending");
                }
            }
            const auto key =
                records::posting_key(fx.p->account, seq, static_cast<std::uint16_t>(i));
            MDB_val pk = lmdb::val(key.data(), key.size());
            MDB_val pv;
            records::PostingRow row;
            if (mdb_get(txn_.get(), dbs().postings, &pk, &pv) != MDB_SUCCESS ||
                !records::decode_posting_value(lmdb::view(pv), row)) {
                return bad_entry(e.id, seq,
                                 "posting row " + std::to_string(i) + " of account " +
                                     ra.account.code + " is missing or does not decode");
            }
            const money::Amount row_amount = fx.row_amount ? *fx.row_amount : money::Amount{};
            if (row.side != fx.p->side || row.amount != row_amount || row.balance_after != b) {
                return bad_entry(e.id, seq,
                                 "posting row " + std::to_string(i) + " of account " +
                                     ra.account.code + " disagrees with the replayed totals");
            }
        }
        for (const Fx& fx : effects) {
            const ReplayAccount& ra = accounts.at(fx.p->account);
            if (!(ra.account.flags & kAccountNoNegative)) {
                continue;
            }
            const Balance& b = ra.balance;
            const bool credit_normal = ra.normal == Side::kCredit;
            auto against = (credit_normal ? b.debits_posted : b.credits_posted)
                               .checked_add(credit_normal ? b.debits_pending : b.credits_pending);
            if (!against || *against > (credit_normal ? b.credits_posted : b.debits_posted)) {
                return bad_entry(e.id, seq,
                                 "makes no_negative account " + ra.account.code + " negative");
            }
        }
        if (e.kind != EntryKind::kPosted && e.kind != EntryKind::kPending) {
            open_holds.erase(e.pending_id);
        }
        if (rec.fx) {
            const records::FxSection& fx = *rec.fx;
            auto rate = money::Rate::from_mantissa(fx.pair, fx.rate_mantissa);
            auto conv = rate ? money::convert(fx.from, *rate, fx.mode)
                             : Result<money::Conversion>(fail(rate.error()));
            if (!conv || conv->converted.amount != fx.converted || conv->residue != fx.residue) {
                return bad_entry(e.id, seq, "its FX conversion does not recompute");
            }
            money::Int128& carry = carries[fx.rounding_account];
            carry += fx.residue - unit * fx.rounding_unit;
            if (carry >= unit || carry <= -unit) {
                return bad_entry(e.id, seq, "its rounding carry reaches a whole minor unit");
            }
        }
        ++rep.entries_checked;
    }
    if (rc != MDB_NOTFOUND) {
        return fail(lmdb::status(rc, "verify: reading entries"));
    }
    if (h->last_sequence != expected - 1 || h->head_hash != prev) {
        rep.ok = false;
        rep.bad_sequence = h->last_sequence;
        rep.failure = "the head in meta (seq " + std::to_string(h->last_sequence) +
                      ") does not match the last entry (seq " + std::to_string(expected - 1) + ")";
        return rep;
    }
    // Stored balances against the replay.
    for (const auto& [id, ra] : accounts) {
        auto stored = current_balance(id);
        if (!stored) {
            return bad_account(id, stored.error().message());
        }
        if (*stored != ra.balance) {
            return bad_account(id, "stored balance of " + ra.account.code +
                                       " differs from the sum of its postings");
        }
    }
    // Carries against the replay.
    {
        lmdb::Cursor carry_cursor;
        if (int crc = carry_cursor.open(txn_.get(), dbs().fx_carry); crc != MDB_SUCCESS) {
            return fail(lmdb::status(crc, "verify: reading carries"));
        }
        MDB_val ck;
        MDB_val cv;
        std::size_t stored_nonzero = 0;
        for (int crc = carry_cursor.get(&ck, &cv, MDB_FIRST); crc == MDB_SUCCESS;
             crc = carry_cursor.get(&ck, &cv, MDB_NEXT)) {
            const auto id =
                ck.mv_size == 16
                    ? codec::id_from_key<AccountTag>(static_cast<const std::uint8_t*>(ck.mv_data))
                    : AccountId{};
            money::Int128 carry;
            if (!records::decode_carry(lmdb::view(cv), carry)) {
                return bad_account(id, "its FX carry does not decode");
            }
            auto it = carries.find(id);
            const money::Int128 replayed = it == carries.end() ? money::Int128(0) : it->second;
            if (carry != replayed) {
                return bad_account(id, "stored FX carry " + carry.str() +
                                           " differs from the replayed " + replayed.str());
            }
            ++stored_nonzero;
        }
        for (const auto& [id, carry] : carries) {
            MDB_val key_val;
            const auto key = codec::id_key(id);
            key_val = lmdb::val(key.data(), key.size());
            if (carry != 0 && mdb_get(txn_.get(), dbs().fx_carry, &key_val, &cv) != MDB_SUCCESS) {
                return bad_account(id, "its FX carry is missing");
            }
        }
        (void)stored_nonzero;
    }
    return rep;
}

}  // namespace

std::unique_ptr<ReadView> make_read_view(std::shared_ptr<Shared> shared, lmdb::Txn txn) {
    return std::make_unique<ReadViewImpl>(std::move(shared), std::move(txn));
}

}  // namespace fxsettle::ledger::internal
