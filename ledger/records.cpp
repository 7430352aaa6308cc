#include "ledger/records.h"

namespace fxsettle::ledger::records {
namespace {

void put_int128(codec::Writer& w, const money::Int128& v) {
    // Residues, carries and rate mantissas all lie well inside the Amount range, so the
    // Amount's 16-byte form carries them.
    auto a = money::Amount::from_int(v);
    FXSETTLE_ASSERT(a.has_value(), "a 128-bit ledger field outside the Amount range");
    w.amount(*a);
}
money::Int128 get_int128(codec::Reader& r) {
    return r.amount().minor();
}

bool valid_side(std::uint8_t s) {
    return s == 1 || s == 2;
}

}  // namespace

PostingKey posting_key(const AccountId& account, std::uint64_t seq, std::uint16_t index) noexcept {
    PostingKey k{};
    codec::put_be64(k.data(), account.hi);
    codec::put_be64(k.data() + 8, account.lo);
    codec::put_be64(k.data() + 16, seq);
    codec::put_be16(k.data() + 24, index);
    return k;
}

ExpiryKey expiry_key(Timestamp deadline, std::uint64_t hold_seq) noexcept {
    ExpiryKey k{};
    codec::put_be64(k.data(), codec::time_key(deadline));
    codec::put_be64(k.data() + 8, hold_seq);
    return k;
}

void encode_account(const Account& a, std::string& out) {
    codec::Writer w(out);
    w.u8(kRecordVersion);
    w.id(a.id);
    w.str8(a.owner);
    w.currency(a.currency);
    w.u16(static_cast<std::uint16_t>(a.kind));
    w.u32(a.flags);
    w.str8(a.code);
    w.str8(a.name);
}

bool decode_account(std::string_view bytes, Account& a) {
    codec::Reader r(bytes.data(), bytes.size());
    if (r.u8() != kRecordVersion) {
        return false;
    }
    a.id = r.id<AccountTag>();
    a.owner = r.str8();
    a.currency = r.currency();
    a.kind = static_cast<AccountKind>(r.u16());
    a.flags = r.u32();
    a.code = r.str8();
    a.name = r.str8();
    return r.ok() && r.at_end();
}

void encode_balance(const Balance& b, std::uint8_t* out) noexcept {
    out[0] = kRecordVersion;
    codec::encode_amount(b.debits_posted, out + 1);
    codec::encode_amount(b.credits_posted, out + 17);
    codec::encode_amount(b.debits_pending, out + 33);
    codec::encode_amount(b.credits_pending, out + 49);
}

bool decode_balance_at(const std::uint8_t* p, Balance& b) noexcept {
    // Straight into the four fields: a balance read decodes nothing else, so the copies
    // of four optionals showed in its profile.
    return codec::decode_amount_to(p, b.debits_posted) &&
           codec::decode_amount_to(p + 16, b.credits_posted) &&
           codec::decode_amount_to(p + 32, b.debits_pending) &&
           codec::decode_amount_to(p + 48, b.credits_pending);
}

bool decode_balance(std::string_view bytes, Balance& b) noexcept {
    if (bytes.size() != kBalanceValueSize ||
        static_cast<std::uint8_t>(bytes[0]) != kRecordVersion) {
        return false;
    }
    return decode_balance_at(reinterpret_cast<const std::uint8_t*>(bytes.data()) + 1, b);
}

void encode_posting_value(Side side, const money::Amount& amount, const Balance& after,
                          std::uint8_t* out) noexcept {
    out[0] = kRecordVersion;
    out[1] = static_cast<std::uint8_t>(side);
    codec::encode_amount(amount, out + 2);
    codec::encode_amount(after.debits_posted, out + 18);
    codec::encode_amount(after.credits_posted, out + 34);
    codec::encode_amount(after.debits_pending, out + 50);
    codec::encode_amount(after.credits_pending, out + 66);
}

bool decode_posting_value(std::string_view bytes, PostingRow& row) noexcept {
    const auto* p = reinterpret_cast<const std::uint8_t*>(bytes.data());
    if (bytes.size() != kPostingValueSize || p[0] != kRecordVersion || !valid_side(p[1])) {
        return false;
    }
    row.side = static_cast<Side>(p[1]);
    auto amount = codec::decode_amount(p + 2);
    if (!amount) {
        return false;
    }
    row.amount = *amount;
    return decode_balance_at(p + 18, row.balance_after);
}

std::size_t encode_entry_body(const EntryFields& f, std::string& out) {
    codec::Writer w(out);
    w.u8(kRecordVersion);
    const std::size_t body = out.size();
    w.id(f.id);
    w.u64(f.sequence);
    w.timestamp(f.timestamp);
    w.u8(static_cast<std::uint8_t>(f.kind));
    w.u8(f.flags);
    w.i32(static_cast<std::int32_t>(f.value_date.time_since_epoch().count()));
    w.str16(f.reference);
    w.u16(static_cast<std::uint16_t>(f.postings.size()));
    for (const Posting& p : f.postings) {
        w.id(p.account);
        w.u8(static_cast<std::uint8_t>(p.side));
        w.currency(p.amount.currency);
        w.amount(p.amount.amount);
    }
    if (f.flags & kEntryHasPendingId) {
        w.id(f.pending_id);
    }
    if (f.flags & kEntryHasDeadline) {
        w.timestamp(*f.pending_deadline);
    }
    if (f.flags & kEntryFx) {
        const FxSection& fx = *f.fx;
        w.id(fx.from_account);
        w.id(fx.to_account);
        w.id(fx.fx_position_from);
        w.id(fx.fx_position_to);
        w.id(fx.rounding_account);
        w.currency(fx.from.currency);
        w.amount(fx.from.amount);
        w.currency(fx.pair.base);
        w.currency(fx.pair.quote);
        put_int128(w, fx.rate_mantissa);
        w.u8(static_cast<std::uint8_t>(fx.mode));
        w.amount(fx.converted);
        put_int128(w, fx.residue);
        w.u8(static_cast<std::uint8_t>(fx.rounding_unit));
    }
    return body;
}

bool decode_entry(std::string_view bytes, EntryRecord& out) {
    codec::Reader r(bytes.data(), bytes.size());
    if (r.u8() != kRecordVersion || bytes.size() < 1 + 64) {
        return false;
    }
    Entry& e = out.entry;
    e.id = r.id<EntryTag>();
    e.sequence = r.u64();
    e.timestamp = r.timestamp();
    const std::uint8_t kind = r.u8();
    if (kind < 1 || kind > 5) {
        return false;
    }
    e.kind = static_cast<EntryKind>(kind);
    out.flags = r.u8();
    if (out.flags & ~kEntryFlagsKnown) {
        return false;
    }
    e.value_date = Date(std::chrono::days(r.i32()));
    e.reference = r.str16();
    const std::uint16_t n = r.u16();
    if (n > kPostingsMax || r.remaining() < std::size_t{n} * 39) {
        return false;
    }
    e.postings.resize(n);
    for (Posting& p : e.postings) {
        p.account = r.id<AccountTag>();
        const std::uint8_t side = r.u8();
        if (!valid_side(side)) {
            return false;
        }
        p.side = static_cast<Side>(side);
        p.amount.currency = r.currency();
        p.amount.amount = r.amount();
    }
    e.pending_id = (out.flags & kEntryHasPendingId) ? r.id<EntryTag>() : EntryId{};
    e.pending_deadline.reset();
    if (out.flags & kEntryHasDeadline) {
        e.pending_deadline = r.timestamp();
    }
    out.fx.reset();
    e.fx_residue = 0;
    if (out.flags & kEntryFx) {
        FxSection fx;
        fx.from_account = r.id<AccountTag>();
        fx.to_account = r.id<AccountTag>();
        fx.fx_position_from = r.id<AccountTag>();
        fx.fx_position_to = r.id<AccountTag>();
        fx.rounding_account = r.id<AccountTag>();
        fx.from.currency = r.currency();
        fx.from.amount = r.amount();
        fx.pair.base = r.currency();
        fx.pair.quote = r.currency();
        fx.rate_mantissa = get_int128(r);
        const std::uint8_t mode = r.u8();
        if (mode > 4) {
            return false;
        }
        fx.mode = static_cast<money::RoundingMode>(mode);
        fx.converted = r.amount();
        fx.residue = get_int128(r);
        fx.rounding_unit = static_cast<std::int8_t>(r.u8());
        e.fx_residue = fx.residue;
        out.fx = fx;
    }
    if (!r.ok() || r.remaining() != 64) {
        return false;
    }
    out.body = bytes.substr(1, bytes.size() - 1 - 64);
    const std::uint8_t* prev = r.bytes(32);
    const std::uint8_t* hash = r.bytes(32);
    std::copy(prev, prev + 32, e.prev_hash.begin());
    std::copy(hash, hash + 32, e.hash.begin());
    return true;
}

std::optional<Timestamp> entry_timestamp(std::string_view bytes) noexcept {
    if (bytes.size() < kEntryTimestampOffset + 8) {
        return std::nullopt;
    }
    codec::Reader r(bytes.data() + kEntryTimestampOffset, 8);
    return r.timestamp();
}

void encode_hold(const HoldRecord& h, std::string& out) {
    codec::Writer w(out);
    w.u8(kRecordVersion);
    w.u8(static_cast<std::uint8_t>(h.status));
    w.u64(h.hold_sequence);
    w.u8(h.deadline ? 1 : 0);
    w.timestamp(h.deadline.value_or(Timestamp{}));
    w.u64(h.resolved_sequence);
}

bool decode_hold(std::string_view bytes, HoldRecord& h) noexcept {
    codec::Reader r(bytes.data(), bytes.size());
    if (r.u8() != kRecordVersion) {
        return false;
    }
    const std::uint8_t status = r.u8();
    if (status < 1 || status > 4) {
        return false;
    }
    h.status = static_cast<HoldStatus>(status);
    h.hold_sequence = r.u64();
    const bool has_deadline = r.u8() != 0;
    const Timestamp deadline = r.timestamp();
    h.deadline = has_deadline ? std::optional<Timestamp>(deadline) : std::nullopt;
    h.resolved_sequence = r.u64();
    return r.ok() && r.at_end();
}

void encode_head(const HeadRecord& h, std::string& out) {
    codec::Writer w(out);
    w.u8(kRecordVersion);
    w.u64(h.last_sequence);
    w.timestamp(h.last_timestamp);
    w.bytes(h.head_hash.data(), h.head_hash.size());
}

bool decode_head(std::string_view bytes, HeadRecord& h) noexcept {
    codec::Reader r(bytes.data(), bytes.size());
    if (r.u8() != kRecordVersion) {
        return false;
    }
    h.last_sequence = r.u64();
    h.last_timestamp = r.timestamp();
    const std::uint8_t* hash = r.bytes(32);
    if (!r.ok() || !r.at_end()) {
        return false;
    }
    std::copy(hash, hash + 32, h.head_hash.begin());
    return true;
}

void encode_carry(const money::Int128& carry, std::string& out) {
    codec::Writer w(out);
    w.u8(kRecordVersion);
    put_int128(w, carry);
}

bool decode_carry(std::string_view bytes, money::Int128& out) noexcept {
    codec::Reader r(bytes.data(), bytes.size());
    if (r.u8() != kRecordVersion) {
        return false;
    }
    out = r.amount().minor();
    return r.ok() && r.at_end();
}

}  // namespace fxsettle::ledger::records
