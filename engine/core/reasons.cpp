#include "engine/core/event_types.h"

namespace fxsettle::engine {

std::string_view reason_name(Reason reason) noexcept {
    switch (reason) {
        case Reason::kNone:
            return "none";
        case Reason::kDuplicateClientId:
            return "duplicate_client_id";
        case Reason::kClientIdInvalid:
            return "client_id_invalid";
        case Reason::kUnknownPsp:
            return "unknown_psp";
        case Reason::kUnknownCurrency:
            return "unknown_currency";
        case Reason::kAmountInvalid:
            return "amount_invalid";
        case Reason::kTextTooLong:
            return "text_too_long";
        case Reason::kUnknownBank:
            return "unknown_bank";
        case Reason::kUnknownVenue:
            return "unknown_venue";
        case Reason::kCurrencyMismatch:
            return "currency_mismatch";
        case Reason::kUnknownPair:
            return "unknown_pair";
        case Reason::kQuantityInvalid:
            return "quantity_invalid";
        case Reason::kPriceInvalid:
            return "price_invalid";
        case Reason::kTimeInForceInvalid:
            return "time_in_force_invalid";
        case Reason::kUnknownOrder:
            return "unknown_order";
        case Reason::kOrderDone:
            return "order_done";
        case Reason::kReplaceQuantityInvalid:
            return "replace_quantity_invalid";
        case Reason::kBookFull:
            return "book_full";
        case Reason::kInsufficientFunds:
            return "insufficient_funds";
        case Reason::kCreditLimitExceeded:
            return "credit_limit_exceeded";
        case Reason::kNetDebitCapExceeded:
            return "net_debit_cap_exceeded";
        case Reason::kAggregateCapExceeded:
            return "aggregate_cap_exceeded";
        case Reason::kShortPositionLimitExceeded:
            return "short_position_limit_exceeded";
        case Reason::kNoRateForRisk:
            return "no_rate_for_risk";
        case Reason::kValueDateNotBusinessDay:
            return "value_date_not_business_day";
        case Reason::kValueDateInPast:
            return "value_date_in_past";
        case Reason::kValueDateOutOfRange:
            return "value_date_out_of_range";
        case Reason::kValueDateInvalid:
            return "value_date_invalid";
        case Reason::kValueDateMismatch:
            return "value_date_mismatch";
        case Reason::kNoRate:
            return "no_rate";
        case Reason::kUnknownQuote:
            return "unknown_quote";
        case Reason::kQuoteExpired:
            return "quote_expired";
        case Reason::kQuoteUsed:
            return "quote_used";
        case Reason::kQuoteMismatch:
            return "quote_mismatch";
        case Reason::kBeneficiaryInvalid:
            return "beneficiary_invalid";
        case Reason::kBankDoesNotServeCurrency:
            return "bank_does_not_serve_currency";
        case Reason::kPayeeInvalid:
            return "payee_invalid";
        case Reason::kNoConversionPair:
            return "no_conversion_pair";
        case Reason::kNoCycle:
            return "no_cycle";
        case Reason::kLimitsInvalid:
            return "limits_invalid";
    }
    return "unknown";
}

}  // namespace fxsettle::engine
