#include "engine/book/types.h"

namespace fxsettle::engine::book {

std::string_view cancel_reason_name(CancelReason reason) noexcept {
    switch (reason) {
        case CancelReason::kRequested:
            return "requested";
        case CancelReason::kIocRemainder:
            return "ioc_remainder";
        case CancelReason::kFokUnfilled:
            return "fok_unfilled";
        case CancelReason::kSelfTrade:
            return "self_trade";
        case CancelReason::kExpired:
            return "expired";
        case CancelReason::kNoLiquidity:
            return "no_liquidity";
    }
    return "unknown";
}

std::string_view book_reject_name(BookReject reject) noexcept {
    switch (reject) {
        case BookReject::kNone:
            return "none";
        case BookReject::kDuplicateOrderId:
            return "duplicate_order_id";
        case BookReject::kUnknownOrder:
            return "unknown_order";
        case BookReject::kNotOwner:
            return "not_owner";
        case BookReject::kQuantityInvalid:
            return "quantity_invalid";
        case BookReject::kPriceInvalid:
            return "price_invalid";
        case BookReject::kBookFull:
            return "book_full";
        case BookReject::kReplaceInvalid:
            return "replace_invalid";
    }
    return "unknown";
}

std::string_view event_kind_name(EventKind kind) noexcept {
    switch (kind) {
        case EventKind::kAccepted:
            return "accepted";
        case EventKind::kFill:
            return "fill";
        case EventKind::kRested:
            return "rested";
        case EventKind::kCancelled:
            return "cancelled";
        case EventKind::kReplaced:
            return "replaced";
        case EventKind::kRejected:
            return "rejected";
    }
    return "unknown";
}

}  // namespace fxsettle::engine::book
