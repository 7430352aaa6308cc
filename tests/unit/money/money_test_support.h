// Helpers shared by the money tests: readable printing of money types in failure
// messages, and checks of a failed Result's code and message.
#pragma once

#include <initializer_list>
#include <ostream>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "engine/base/status.h"
#include "engine/money/amount.h"
#include "engine/money/currency.h"
#include "engine/money/rate.h"

namespace fxsettle::money {

// GoogleTest finds these by argument-dependent lookup, so a failed EXPECT_EQ prints
// "123456 minor" instead of a dump of bytes.
inline void PrintTo(const Amount& amount, std::ostream* os) {
    *os << to_decimal_string(amount.minor()) << " minor";
}
inline void PrintTo(const Currency& currency, std::ostream* os) {
    *os << currency.code_view() << "(numeric " << currency.numeric << ", exponent "
        << static_cast<int>(currency.exponent) << ")";
}
inline void PrintTo(const Money& money, std::ostream* os) {
    *os << to_decimal_string(money.amount.minor()) << " minor " << money.currency.code_view();
}

}  // namespace fxsettle::money

namespace fxsettle {
inline void PrintTo(const Status& status, std::ostream* os) {
    *os << status.to_string();
}
}  // namespace fxsettle

namespace fxsettle::money::testing {

inline Currency must_find(std::string_view code) {
    const auto found = CurrencyTable::iso().find(code);
    EXPECT_TRUE(found.has_value()) << "ISO table lacks " << code;
    return found.value_or(Currency{});
}

// A currency outside the ISO table, e.g. to try every exponent 0..kExponentMax.
inline Currency synthetic(std::string_view code, int exponent) {
    Currency currency;
    currency.code = {code[0], code[1], code[2]};
    currency.exponent = static_cast<std::uint8_t>(exponent);
    return currency;
}

// Expects `status` to have `code` and a message containing every one of `parts`.
inline ::testing::AssertionResult failed_with(const Status& status, StatusCode code,
                                              std::initializer_list<std::string_view> parts) {
    if (status.code() != code) {
        return ::testing::AssertionFailure()
               << "want code " << status_code_name(code) << ", got " << status.to_string();
    }
    for (const auto part : parts) {
        if (status.message().find(part) == std::string::npos) {
            return ::testing::AssertionFailure()
                   << "message \"" << status.message() << "\" does not contain \"" << part << "\"";
        }
    }
    return ::testing::AssertionSuccess();
}

template <typename T>
::testing::AssertionResult failed_with(const Result<T>& result, StatusCode code,
                                       std::initializer_list<std::string_view> parts) {
    if (result.has_value()) {
        return ::testing::AssertionFailure()
               << "want failure " << status_code_name(code) << ", got a value";
    }
    return failed_with(result.error(), code, parts);
}

}  // namespace fxsettle::money::testing
