// The ledger's on-disk records (format version 1) and their keys. Every value starts
// with a one-byte record version, then little-endian fields (ledger/codec.h); keys are
// big-endian so that LMDB's byte order is numeric order. Internal to the library, but
// tests include it to build files of other versions.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/money/rate.h"
#include "ledger/codec.h"
#include "ledger/types.h"

namespace fxsettle::ledger::records {

inline constexpr std::uint8_t kRecordVersion = 1;

// Database names.
inline constexpr const char* kDbMeta = "meta";
inline constexpr const char* kDbAccounts = "accounts";
inline constexpr const char* kDbAccountCodes = "account_codes";
inline constexpr const char* kDbEntries = "entries";
inline constexpr const char* kDbEntryIds = "entry_ids";
inline constexpr const char* kDbPostings = "postings";
inline constexpr const char* kDbBalances = "balances";
inline constexpr const char* kDbPending = "pending";
inline constexpr const char* kDbPendingExpiry = "pending_expiry";
inline constexpr const char* kDbFxCarry = "fx_carry";
inline constexpr const char* kDbAuxState = "aux_state";
inline constexpr const char* kDbAuxOutbox = "aux_outbox";

// Meta keys. "magic" marks the file as a ledger; "format_version" is a u32; "head" is the
// hash-chain head (HeadRecord).
inline constexpr std::string_view kMetaMagicKey = "magic";
inline constexpr std::string_view kMetaMagic = "fxsettle-ledger";
inline constexpr std::string_view kMetaVersionKey = "format_version";
inline constexpr std::string_view kMetaHeadKey = "head";

using Hash = std::array<std::uint8_t, 32>;
using IdKey = std::array<std::uint8_t, 16>;
using SeqKey = std::array<std::uint8_t, 8>;
// account id (16) | sequence (8) | index of the row within the entry (2), big-endian.
using PostingKey = std::array<std::uint8_t, 26>;
// version (1) | side (1) | amount (16) | balance after (4 x 16).
inline constexpr std::size_t kPostingValueSize = 82;
using PostingValue = std::array<std::uint8_t, kPostingValueSize>;
inline constexpr std::size_t kBalanceValueSize = 65;
using BalanceValue = std::array<std::uint8_t, kBalanceValueSize>;
// time key (8) | hold sequence (8).
using ExpiryKey = std::array<std::uint8_t, 16>;

inline SeqKey seq_key(std::uint64_t seq) noexcept {
    SeqKey k{};
    codec::put_be64(k.data(), seq);
    return k;
}
PostingKey posting_key(const AccountId& account, std::uint64_t seq, std::uint16_t index) noexcept;
ExpiryKey expiry_key(Timestamp deadline, std::uint64_t hold_seq) noexcept;

// Accounts.
void encode_account(const Account& account, std::string& out);
bool decode_account(std::string_view bytes, Account& out);

// Balances: the four totals. A failed decode (a corrupt record) leaves `out` unspecified.
void encode_balance(const Balance& balance, std::uint8_t* out65) noexcept;
bool decode_balance(std::string_view bytes, Balance& out) noexcept;
bool decode_balance_at(const std::uint8_t* p, Balance& out) noexcept;  // the 64 amount bytes

// Posting rows: what one entry did to one account, and the totals after it.
void encode_posting_value(Side side, const money::Amount& amount, const Balance& after,
                          std::uint8_t* out82) noexcept;
struct PostingRow {
    Side side = Side::kDebit;
    money::Amount amount;
    Balance balance_after;
};
bool decode_posting_value(std::string_view bytes, PostingRow& out) noexcept;

// Entries. Flags say which optional sections follow the postings.
enum EntryFlags : std::uint8_t {
    kEntryHasPendingId = 1u << 0,
    kEntryHasDeadline = 1u << 1,
    kEntryFx = 1u << 2,
    // The postings were not given by the client but derived from a hold: a post in full,
    // a void or an expiry stores the hold's postings (the amounts posted or released).
    kEntryDerivedPostings = 1u << 3,
};
inline constexpr std::uint8_t kEntryFlagsKnown = 0x0F;

// An FX conversion's request and outcome, stored so a repeat can be compared and
// `verify` can recompute the conversion and the rounding carries.
struct FxSection {
    AccountId from_account;
    AccountId to_account;
    AccountId fx_position_from;
    AccountId fx_position_to;
    AccountId rounding_account;
    money::Money from;
    money::CurrencyPair pair;
    money::Int128 rate_mantissa;
    money::RoundingMode mode = money::RoundingMode::kHalfEven;
    money::Amount converted;
    money::Int128 residue;  // 10^-18 target minor units
    // The whole minor unit posted between fx_position_to and the rounding account:
    // +1 when the carry reached +1 unit (credited to rounding), -1 for -1 unit, else 0.
    std::int8_t rounding_unit = 0;
};

// Fixed offsets inside an entry record (after the version byte).
inline constexpr std::size_t kEntryIdOffset = 1;
inline constexpr std::size_t kEntrySeqOffset = 17;
inline constexpr std::size_t kEntryTimestampOffset = 25;
inline constexpr std::size_t kEntryKindOffset = 33;
inline constexpr std::size_t kEntryFlagsOffset = 34;

struct EntryFields {
    EntryId id;
    std::uint64_t sequence = 0;
    Timestamp timestamp{};
    EntryKind kind = EntryKind::kPosted;
    std::uint8_t flags = 0;
    Date value_date{};
    std::string_view reference;
    std::span<const Posting> postings;
    EntryId pending_id;
    std::optional<Timestamp> pending_deadline;
    const FxSection* fx = nullptr;
};
// Appends the record version and the canonical body (what the hash covers); returns
// the body's offset in `out`. The caller then appends prev_hash and hash.
std::size_t encode_entry_body(const EntryFields& fields, std::string& out);

struct EntryRecord {
    Entry entry;
    std::uint8_t flags = 0;
    std::optional<FxSection> fx;
    // The hashed bytes inside the record passed to decode_entry().
    std::string_view body;
};
// Decodes a whole record (version, body, prev_hash, hash); false when it is malformed.
bool decode_entry(std::string_view bytes, EntryRecord& out);
// The timestamp of an entry record without decoding the rest.
std::optional<Timestamp> entry_timestamp(std::string_view bytes) noexcept;

// Holds.
enum class HoldStatus : std::uint8_t { kPending = 1, kPosted = 2, kVoided = 3, kExpired = 4 };
struct HoldRecord {
    HoldStatus status = HoldStatus::kPending;
    std::uint64_t hold_sequence = 0;
    std::optional<Timestamp> deadline;
    std::uint64_t resolved_sequence = 0;  // the post/void/expire entry, 0 while pending
};
void encode_hold(const HoldRecord& hold, std::string& out);
bool decode_hold(std::string_view bytes, HoldRecord& out) noexcept;

// The hash-chain head in meta.
struct HeadRecord {
    std::uint64_t last_sequence = 0;
    Timestamp last_timestamp{};
    Hash head_hash{};
};
void encode_head(const HeadRecord& head, std::string& out);
bool decode_head(std::string_view bytes, HeadRecord& out) noexcept;

// A rounding account's carry (10^-18 minor units).
void encode_carry(const money::Int128& carry, std::string& out);
bool decode_carry(std::string_view bytes, money::Int128& out) noexcept;

}  // namespace fxsettle::ledger::records
