// Internals shared by the money library's sources: the wide integer for conversions,
// powers of ten, division with an explicit rounding mode, and quoting of user text in
// error messages. Not part of the public API: include only from engine/money/*.cpp.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include <boost/multiprecision/cpp_int.hpp>

#include "engine/base/status.h"
#include "engine/money/amount.h"
#include "engine/money/rate.h"

namespace fxsettle::money::detail {

// The conversion intermediate. |amount| < 2^127, mantissa < 2^127 and the scale factor
// 10^12 < 2^40 can need 294 bits; convert() proves by bit counts that a product fits 256
// bits before forming it, and a product that would not fit cannot round into the Amount
// range anyway (see rate.cpp).
using Int256 = boost::multiprecision::int256_t;
using UInt128 = boost::multiprecision::uint128_t;

// 10^n for 0 <= n <= kPow10Max, as a 256-bit integer.
inline constexpr int kPow10Max = 60;
const Int256& pow10(int n) noexcept;

// The largest magnitude of an Amount (and of a Rate mantissa): 2^127 - 1.
const Int128& magnitude_max() noexcept;

// Quotient and remainder of a division rounded with a RoundingMode:
// numerator = quotient * divisor + remainder, exactly.
struct RoundedQuotient {
    Int256 quotient;
    Int256 remainder;
};
// Divides `numerator` (any sign) by `divisor` (> 0) and rounds the quotient with `mode`.
// Works on the truncated quotient and its remainder, so it is exact for every sign.
RoundedQuotient divide_rounded(const Int256& numerator, const Int256& divisor,
                               RoundingMode mode) noexcept;

// A plain decimal split into its parts by scan_decimal(); views into the scanned text.
struct DecimalText {
    bool has_sign = false;  // an explicit '+' or '-'
    bool negative = false;  // a '-'
    std::string_view integer_digits;
    std::string_view fraction_digits;  // after the '.', if any
};
// Checks the syntax `[+-]? digits* ('.' digits*)?` with at least one digit, and splits
// it. Fails (kInvalidArgument) with "invalid <what> '<text>': <problem>", the problem
// being one of: empty text, no digits, exponent notation, a second decimal point, a
// comma, whitespace, or another unexpected character, each with its position.
Result<DecimalText> scan_decimal(std::string_view text, std::string_view what);

// The integer integer_digits.fraction_digits * 10^scale, for scale >=
// fraction_digits.size(), or nullopt when it exceeds magnitude_max(). Any number of
// digits is handled (leading zeros are skipped, long inputs fail fast).
std::optional<Int128> scaled_magnitude(const DecimalText& decimal, int scale);

// `text` in single quotes for an error message, with bytes outside printable ASCII shown
// as \xNN and anything past `length_max` characters cut off with "...", so a message
// always names the offending text yet never carries control characters or megabytes.
std::string quote(std::string_view text, std::size_t length_max = 80);

}  // namespace fxsettle::money::detail
