#include "ledger/types.h"

#include <boost/multiprecision/cpp_int.hpp>

namespace fxsettle::ledger {

template <typename Tag>
std::string Id128<Tag>::to_hex() const {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out(32, '0');
    for (int i = 0; i < 16; ++i) {
        out[static_cast<std::size_t>(15 - i)] = kDigits[(hi >> (4 * i)) & 0xF];
        out[static_cast<std::size_t>(31 - i)] = kDigits[(lo >> (4 * i)) & 0xF];
    }
    return out;
}

template <typename Tag>
Result<Id128<Tag>> Id128<Tag>::parse(std::string_view text) {
    // Built by appending: g++ 12 warns (-Wrestrict, falsely) on "'" + std::string + "'".
    std::string quoted(1, '\'');
    quoted.append(text.substr(0, 64));
    quoted.push_back('\'');
    if (text.empty()) {
        return fail(StatusCode::kInvalidArgument, "empty id");
    }
    Id128 id;
    if (text.front() == '#') {
        // Decimal, up to 2^128 - 1: accumulate in a wider integer to see the overflow.
        const std::string_view digits = text.substr(1);
        if (digits.empty() || digits.size() > 39) {
            return fail(StatusCode::kInvalidArgument,
                        "id " + quoted + " must be '#' and 1..39 decimal digits");
        }
        boost::multiprecision::uint256_t value = 0;
        for (char c : digits) {
            if (c < '0' || c > '9') {
                return fail(StatusCode::kInvalidArgument,
                            "id " + quoted + " has a character that is not a decimal digit");
            }
            value = value * 10 + static_cast<unsigned>(c - '0');
        }
        if (value >> 128 != 0) {
            return fail(StatusCode::kInvalidArgument, "id " + quoted + " exceeds 128 bits");
        }
        id.hi = static_cast<std::uint64_t>(value >> 64);
        id.lo = static_cast<std::uint64_t>(value & std::numeric_limits<std::uint64_t>::max());
    } else {
        if (text.size() > 32) {
            return fail(StatusCode::kInvalidArgument,
                        "id " + quoted + " has more than 32 hex digits");
        }
        for (char c : text) {
            unsigned d = 0;
            if (c >= '0' && c <= '9') {
                d = static_cast<unsigned>(c - '0');
            } else if (c >= 'a' && c <= 'f') {
                d = static_cast<unsigned>(c - 'a' + 10);
            } else if (c >= 'A' && c <= 'F') {
                d = static_cast<unsigned>(c - 'A' + 10);
            } else {
                return fail(StatusCode::kInvalidArgument,
                            "id " + quoted + " has a character that is not a hex digit");
            }
            id.hi = (id.hi << 4) | (id.lo >> 60);
            id.lo = (id.lo << 4) | d;
        }
    }
    if (id.is_zero()) {
        return fail(StatusCode::kInvalidArgument,
                    "id " + quoted + " is zero, which is never valid");
    }
    return id;
}

template struct Id128<AccountTag>;
template struct Id128<EntryTag>;

Side normal_side(AccountKind kind) noexcept {
    switch (kind) {
        case AccountKind::kPspAvailable:
        case AccountKind::kPspHeld:
        case AccountKind::kRounding:
        case AccountKind::kFees:
        case AccountKind::kEquity:
            return Side::kCredit;
        case AccountKind::kNostro:
        case AccountKind::kFxPosition:
        case AccountKind::kSuspense:
        case AccountKind::kVenue:
        case AccountKind::kSettlement:
        case AccountKind::kPspReceivable:
            return Side::kDebit;
    }
    return Side::kDebit;
}

namespace {
struct KindName {
    AccountKind kind;
    std::string_view name;
};
constexpr KindName kKindNames[] = {
    {AccountKind::kPspAvailable, "psp_available"},
    {AccountKind::kPspHeld, "psp_held"},
    {AccountKind::kNostro, "nostro"},
    {AccountKind::kFxPosition, "fx_position"},
    {AccountKind::kRounding, "rounding"},
    {AccountKind::kFees, "fees"},
    {AccountKind::kSuspense, "suspense"},
    {AccountKind::kVenue, "venue"},
    {AccountKind::kSettlement, "settlement"},
    {AccountKind::kEquity, "equity"},
    {AccountKind::kPspReceivable, "psp_receivable"},
};
}  // namespace

std::string_view account_kind_name(AccountKind kind) noexcept {
    for (const auto& k : kKindNames) {
        if (k.kind == kind) {
            return k.name;
        }
    }
    return "unknown";
}

Result<AccountKind> parse_account_kind(std::string_view name) {
    for (const auto& k : kKindNames) {
        if (k.name == name) {
            return k.kind;
        }
    }
    std::string known;
    for (const auto& k : kKindNames) {
        known += known.empty() ? "" : ", ";
        known += k.name;
    }
    return fail(StatusCode::kInvalidArgument,
                "unknown account kind '" + std::string(name) + "' (known: " + known + ")");
}

money::Amount Balance::posted(Side normal) const noexcept {
    return normal == Side::kCredit ? credits_posted - debits_posted
                                   : debits_posted - credits_posted;
}

money::Amount Balance::available(Side normal) const noexcept {
    return normal == Side::kCredit ? posted(normal) - debits_pending
                                   : posted(normal) - credits_pending;
}

std::string_view result_code_name(ResultCode code) noexcept {
    switch (code) {
        case ResultCode::kOk:
            return "ok";
        case ResultCode::kAccountExists:
            return "account_exists";
        case ResultCode::kAccountExistsWithDifferentOwner:
            return "account_exists_with_different_owner";
        case ResultCode::kAccountExistsWithDifferentCurrency:
            return "account_exists_with_different_currency";
        case ResultCode::kAccountExistsWithDifferentKind:
            return "account_exists_with_different_kind";
        case ResultCode::kAccountExistsWithDifferentFlags:
            return "account_exists_with_different_flags";
        case ResultCode::kAccountExistsWithDifferentCode:
            return "account_exists_with_different_code";
        case ResultCode::kAccountExistsWithDifferentName:
            return "account_exists_with_different_name";
        case ResultCode::kAccountIdZero:
            return "account_id_zero";
        case ResultCode::kAccountCodeInvalid:
            return "account_code_invalid";
        case ResultCode::kAccountCodeTaken:
            return "account_code_taken";
        case ResultCode::kAccountNameTooLong:
            return "account_name_too_long";
        case ResultCode::kAccountOwnerInvalid:
            return "account_owner_invalid";
        case ResultCode::kAccountFlagsInvalid:
            return "account_flags_invalid";
        case ResultCode::kAccountKindInvalid:
            return "account_kind_invalid";
        case ResultCode::kAccountCurrencyInvalid:
            return "account_currency_invalid";
        case ResultCode::kAccountNotFound:
            return "account_not_found";
        case ResultCode::kAccountNotZero:
            return "account_not_zero";
        case ResultCode::kEntryExists:
            return "entry_exists";
        case ResultCode::kEntryExistsWithDifferentContent:
            return "entry_exists_with_different_content";
        case ResultCode::kEntryIdZero:
            return "entry_id_zero";
        case ResultCode::kTooFewPostings:
            return "too_few_postings";
        case ResultCode::kTooManyPostings:
            return "too_many_postings";
        case ResultCode::kAmountNotPositive:
            return "amount_not_positive";
        case ResultCode::kUnknownAccount:
            return "unknown_account";
        case ResultCode::kAccountIsClosed:
            return "account_is_closed";
        case ResultCode::kCurrencyMismatch:
            return "currency_mismatch";
        case ResultCode::kUnbalancedCurrency:
            return "unbalanced_currency";
        case ResultCode::kWouldMakeNegative:
            return "would_make_negative";
        case ResultCode::kBalanceOverflow:
            return "balance_overflow";
        case ResultCode::kReferenceTooLong:
            return "reference_too_long";
        case ResultCode::kValueDateInvalid:
            return "value_date_invalid";
        case ResultCode::kConversionFailed:
            return "conversion_failed";
        case ResultCode::kEntryKindInvalid:
            return "entry_kind_invalid";
        case ResultCode::kPendingNotFound:
            return "pending_not_found";
        case ResultCode::kPendingAlreadyPosted:
            return "pending_already_posted";
        case ResultCode::kPendingAlreadyVoided:
            return "pending_already_voided";
        case ResultCode::kPendingExpired:
            return "pending_expired";
        case ResultCode::kPostExceedsPending:
            return "post_exceeds_pending";
        case ResultCode::kPostingNotInPending:
            return "posting_not_in_pending";
        case ResultCode::kPendingDeadlineInvalid:
            return "pending_deadline_invalid";
        case ResultCode::kPendingIdInvalid:
            return "pending_id_invalid";
        case ResultCode::kLinkedOperationFailed:
            return "linked_operation_failed";
        case ResultCode::kLinkedChainOpen:
            return "linked_chain_open";
        case ResultCode::kBatchTooLarge:
            return "batch_too_large";
        case ResultCode::kBatchAborted:
            return "batch_aborted";
    }
    return "unknown";
}

bool is_success(ResultCode code) noexcept {
    return code == ResultCode::kOk || code == ResultCode::kAccountExists ||
           code == ResultCode::kEntryExists;
}

}  // namespace fxsettle::ledger
