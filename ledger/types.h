// The ledger's value types: ids, accounts, postings, entries, operations and their
// results. Plain data: no LMDB in this header.
#pragma once

#include <array>
#include <chrono>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "engine/base/status.h"
#include "engine/money/amount.h"
#include "engine/money/currency.h"
#include "engine/money/rate.h"

namespace fxsettle::ledger {

// Nanoseconds since the Unix epoch, UTC. The ledger never reads a clock: every write
// is stamped with the time its caller passes in (an injected clock), so tests and
// replays are deterministic.
using Timestamp = std::chrono::sys_time<std::chrono::nanoseconds>;
// A settlement value date (a calendar day, UTC).
using Date = std::chrono::sys_days;

// A client-chosen 128-bit identifier. Zero is never a valid id. Distinct tag types keep
// an account id from being passed where an entry id is expected.
template <typename Tag>
struct Id128 {
    std::uint64_t hi = 0;
    std::uint64_t lo = 0;

    bool is_zero() const noexcept { return hi == 0 && lo == 0; }
    // 32 lower-case hex digits.
    std::string to_hex() const;
    // Parses 1..32 hex digits (or a decimal number with a leading "#": "#42"), naming
    // the problem on failure.
    static Result<Id128> parse(std::string_view text);
    friend bool operator==(const Id128&, const Id128&) = default;
    friend auto operator<=>(const Id128&, const Id128&) = default;
};
struct AccountTag;
struct EntryTag;
using AccountId = Id128<AccountTag>;
using EntryId = Id128<EntryTag>;

enum class Side : std::uint8_t { kDebit = 1, kCredit = 2 };

// What an account is for, in fxsettle's chart of accounts. Stable numbers. The kind
// fixes the account's normal side: for a debit-normal account "negative" means credits
// exceeding debits, for a credit-normal one debits exceeding credits.
enum class AccountKind : std::uint16_t {
    kPspAvailable = 1,    // credit-normal: funds we hold for a PSP, free to use
    kPspHeld = 2,         // credit-normal: a PSP's funds reserved for instructions
    kNostro = 3,          // debit-normal: our account at a bank
    kFxPosition = 4,      // debit-normal: the engine's open FX position in a currency
    kRounding = 5,        // credit-normal: rounding residue of conversions
    kFees = 6,            // credit-normal: fees and spreads earned
    kSuspense = 7,        // debit-normal: unexplained items awaiting reconciliation
    kVenue = 8,           // debit-normal: receivable from / payable to an FX venue
    kSettlement = 9,      // debit-normal: payments in transit to or from a bank
    kEquity = 10,         // credit-normal: capital, opening balances
    kPspReceivable = 11,  // debit-normal: what a postfunded PSP owes (intraday credit drawn)
};
Side normal_side(AccountKind kind) noexcept;
std::string_view account_kind_name(AccountKind kind) noexcept;  // "psp_available", ...
Result<AccountKind> parse_account_kind(std::string_view name);

enum AccountFlags : std::uint32_t {
    kAccountNoNegative = 1u << 0,  // the balance may not go against its normal side
    kAccountClosed = 1u << 1,      // no new postings
};

struct Account {
    AccountId id;
    std::string owner;  // "PSP1", "BANK-A", "VENUE-1", "fxsettle"
    money::Currency currency;
    AccountKind kind = AccountKind::kSuspense;
    std::uint32_t flags = 0;
    std::string code;  // unique, for humans: "PSP1/available/USD"; at most 64 bytes
    std::string name;  // free text; at most 128 bytes
    friend bool operator==(const Account&, const Account&) = default;
};

// Totals of an account. All four are non-negative sums of posting amounts.
struct Balance {
    money::Amount debits_posted;
    money::Amount credits_posted;
    money::Amount debits_pending;
    money::Amount credits_pending;
    // Posted balance on the account's normal side (credits - debits for a credit-normal
    // account, debits - credits for a debit-normal one).
    money::Amount posted(Side normal) const noexcept;
    // posted() less the pending amounts that work against the normal side.
    money::Amount available(Side normal) const noexcept;
    friend bool operator==(const Balance&, const Balance&) = default;
};

struct Posting {
    AccountId account;
    Side side = Side::kDebit;
    money::Money amount;  // > 0, in the account's currency
    friend bool operator==(const Posting&, const Posting&) = default;
};

// How an entry moves money.
enum class EntryKind : std::uint8_t {
    kPosted = 1,         // an ordinary, final entry
    kPending = 2,        // a hold: reserves the postings' amounts as pending
    kPostPending = 3,    // posts a hold in full (no postings) or in part (postings <= hold)
    kVoidPending = 4,    // releases a hold
    kExpirePending = 5,  // written by the expiry sweep for a hold past its deadline
};

// What a client asks to write. The ledger assigns the sequence and the timestamp.
struct EntryRequest {
    EntryId id;
    EntryKind kind = EntryKind::kPosted;
    Date value_date{};
    std::string reference;                      // at most 256 bytes
    std::vector<Posting> postings;              // 2..kPostingsMax, except post/void (see EntryKind)
    EntryId pending_id;                         // the hold, for kPostPending / kVoidPending
    std::optional<Timestamp> pending_deadline;  // kPending: expires at this time
    friend bool operator==(const EntryRequest&, const EntryRequest&) = default;
};

// An FX conversion as one entry: `from` leaves `from_account` through the fx_position
// account of its currency; the converted amount (money::convert at `rate` with `mode`)
// reaches `to_account` through the fx_position account of the other currency. The
// exact sub-minor-unit residue is carried per rounding account; whenever the carry
// reaches a whole minor unit, the entry also posts that unit between
// `fx_position_to` and `rounding_account`. So every entry balances per currency and the
// sum of exact conversions equals what is posted plus the carry.
struct FxConversionRequest {
    EntryId id;
    Date value_date{};
    std::string reference;
    AccountId from_account;
    AccountId to_account;
    AccountId fx_position_from;
    AccountId fx_position_to;
    AccountId rounding_account;  // in the target currency
    money::Money from;
    money::Rate rate;  // rate.pair().base == from.currency
    money::RoundingMode mode = money::RoundingMode::kHalfEven;
};

struct CreateAccount {
    Account account;
};
struct CloseAccount {
    AccountId id;  // the balance and pending amounts must be zero
};
// Expires holds whose deadline is <= now (the commit's time), at most `max` of them.
struct ExpirePending {
    std::uint32_t max = 1024;
};

// One operation of a batch. `linked`: this operation and the next succeed or fail as
// one (a chain ends at the first operation without `linked`).
struct Operation {
    std::variant<CreateAccount, CloseAccount, EntryRequest, FxConversionRequest, ExpirePending> op;
    bool linked = false;
};

// Outcomes. Stable numbers grouped by subsystem, never reused.
enum class ResultCode : std::uint16_t {
    kOk = 0,
    // accounts: 100..199
    kAccountExists = 100,  // same id, same content: nothing written, counts as success
    kAccountExistsWithDifferentOwner = 101,
    kAccountExistsWithDifferentCurrency = 102,
    kAccountExistsWithDifferentKind = 103,
    kAccountExistsWithDifferentFlags = 104,
    kAccountExistsWithDifferentCode = 105,
    kAccountExistsWithDifferentName = 106,
    kAccountIdZero = 110,
    kAccountCodeInvalid = 111,  // empty or too long
    kAccountCodeTaken = 112,    // another account has this code
    kAccountNameTooLong = 113,
    kAccountOwnerInvalid = 114,
    kAccountFlagsInvalid = 115,     // unknown bits, or created closed
    kAccountKindInvalid = 116,      // not one of AccountKind's values
    kAccountCurrencyInvalid = 117,  // code not three upper-case letters, or exponent > max
    kAccountNotFound = 120,
    kAccountNotZero = 121,  // close: balance or pending not zero
    // entries: 200..299
    kEntryExists = 200,  // same id, same content: returns the first outcome (success)
    kEntryExistsWithDifferentContent = 201,
    kEntryIdZero = 202,
    kTooFewPostings = 203,
    kTooManyPostings = 204,
    kAmountNotPositive = 205,
    kUnknownAccount = 206,
    kAccountIsClosed = 207,
    kCurrencyMismatch = 208,    // a posting's currency is not its account's
    kUnbalancedCurrency = 209,  // debits != credits in a currency (detail: which, by how much)
    kWouldMakeNegative = 210,   // a no_negative account would go negative (detail: which)
    kBalanceOverflow = 211,
    kReferenceTooLong = 212,
    kValueDateInvalid = 213,
    kConversionFailed = 214,  // FX: rate pair does not match, or the amount overflows
    kEntryKindInvalid = 215,  // not a kind a client may request (kExpirePending is the sweep's)
    // holds: 300..399
    kPendingNotFound = 300,
    kPendingAlreadyPosted = 301,
    kPendingAlreadyVoided = 302,
    kPendingExpired = 303,
    kPostExceedsPending = 304,
    kPostingNotInPending = 305,
    kPendingDeadlineInvalid = 306,
    kPendingIdInvalid = 307,  // pending_id set where it must not be, or missing
    // batches: 400..499
    kLinkedOperationFailed = 400,  // another operation of its linked chain failed
    kLinkedChainOpen = 401,        // the batch's last operation is marked linked
    kBatchTooLarge = 402,
    // An all-or-nothing commit (CommitOptions::all_or_nothing) in which another operation
    // failed: this one did not fail, but nothing of the batch was written.
    kBatchAborted = 403,
};
std::string_view result_code_name(ResultCode code) noexcept;  // "unbalanced_currency", ...
// kOk, kAccountExists and kEntryExists.
bool is_success(ResultCode code) noexcept;

struct OpResult {
    ResultCode code = ResultCode::kOk;
    // For a written (or repeated) entry: its sequence and timestamp. Zero otherwise.
    std::uint64_t sequence = 0;
    Timestamp timestamp{};
    // For failures, what exactly is wrong, naming accounts and amounts:
    // "unbalanced currency USD by 0.01", "would make account PSP1/available/USD
    // negative (available 10.00, debit 12.00)". Empty on success.
    std::string detail;
    // For an FX conversion: the amount credited in the target currency.
    std::optional<money::Money> converted;
    // For ExpirePending: how many holds it expired (`sequence` is the last one's entry).
    std::uint32_t expired_count = 0;
};

// A committed entry as read back.
struct Entry {
    EntryId id;
    std::uint64_t sequence = 0;
    Timestamp timestamp{};
    EntryKind kind = EntryKind::kPosted;
    Date value_date{};
    std::string reference;
    std::vector<Posting> postings;
    EntryId pending_id;
    std::optional<Timestamp> pending_deadline;
    // FX conversions: the exact residue (10^-18 target minor units) this entry carried.
    money::Int128 fx_residue;
    std::array<std::uint8_t, 32> hash{};       // SHA-256(prev_hash || canonical encoding)
    std::array<std::uint8_t, 32> prev_hash{};  // the previous entry's hash (zeros at first)
};

// Bounds (STYLE.md: every batch and loop has a named maximum).
inline constexpr std::size_t kPostingsMax = 128;
// A large cut-off (a million payouts: about 68,000 operations) commits in one or two
// transactions. Fewer commits write each touched page (balances, posting rows) fewer times
// and wait for fewer fsyncs; LMDB's bound on one transaction's dirty pages still applies
// (kResourceExhausted, see Ledger::commit), and the sequencer retries in smaller parts.
inline constexpr std::size_t kBatchOperationsMax = 65534;
inline constexpr std::size_t kReferenceBytesMax = 256;
inline constexpr std::size_t kAccountCodeBytesMax = 64;
inline constexpr std::size_t kAccountNameBytesMax = 128;
inline constexpr std::size_t kOwnerBytesMax = 64;

}  // namespace fxsettle::ledger
