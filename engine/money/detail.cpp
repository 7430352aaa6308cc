#include "engine/money/detail.h"

#include <array>

namespace fxsettle::money::detail {

const Int256& pow10(int n) noexcept {
    static const std::array<Int256, kPow10Max + 1> table = [] {
        std::array<Int256, kPow10Max + 1> powers{};
        powers[0] = 1;
        for (std::size_t i = 1; i < powers.size(); ++i) {
            powers[i] = powers[i - 1] * 10;
        }
        return powers;
    }();
    FXSETTLE_ASSERT(n >= 0 && n <= kPow10Max, "power of ten out of the table");
    return table[static_cast<std::size_t>(n)];
}

const Int128& magnitude_max() noexcept {
    return amount_detail::kMagnitudeMax;
}

RoundedQuotient divide_rounded(const Int256& numerator, const Int256& divisor,
                               RoundingMode mode) noexcept {
    FXSETTLE_ASSERT(divisor.sign() > 0, "divide_rounded needs a positive divisor");
    // Boost truncates toward zero: the remainder has the numerator's sign, and
    // |remainder| < divisor. Every mode is decided from that pair.
    Int256 quotient = numerator / divisor;
    Int256 remainder = numerator - quotient * divisor;
    if (remainder.is_zero()) {
        return {quotient, remainder};
    }
    const int sign = numerator.sign();  // nonzero, because the remainder is
    bool away_from_zero = false;        // move the quotient one step further from zero?
    switch (mode) {
        case RoundingMode::kTowardZero:
            away_from_zero = false;
            break;
        case RoundingMode::kUp:  // ceiling: only a positive value moves away from zero
            away_from_zero = sign > 0;
            break;
        case RoundingMode::kDown:  // floor: only a negative value moves away from zero
            away_from_zero = sign < 0;
            break;
        case RoundingMode::kHalfUp:
        case RoundingMode::kHalfEven: {
            const Int256 twice = abs(remainder) * 2;
            if (twice > divisor) {
                away_from_zero = true;
            } else if (twice < divisor) {
                away_from_zero = false;
            } else if (mode == RoundingMode::kHalfUp) {
                away_from_zero = true;
            } else {
                // A tie: go to the even neighbour. The truncated quotient is one of the
                // two neighbours; if it is odd, the other one is even.
                away_from_zero = bit_test(abs(quotient), 0);
            }
            break;
        }
    }
    if (away_from_zero) {
        quotient += sign;
        remainder -= sign * divisor;
    }
    return {quotient, remainder};
}

Result<DecimalText> scan_decimal(std::string_view text, std::string_view what) {
    const auto invalid = [&](const std::string& problem) {
        return fail(StatusCode::kInvalidArgument,
                    "invalid " + std::string(what) + " " + quote(text) + ": " + problem);
    };
    if (text.empty()) {
        return invalid("empty text");
    }
    const auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
    DecimalText out;
    std::size_t i = 0;
    if (text[0] == '+' || text[0] == '-') {
        out.has_sign = true;
        out.negative = text[0] == '-';
        ++i;
    }
    const std::size_t integer_begin = i;
    while (i < text.size() && is_digit(text[i])) {
        ++i;
    }
    out.integer_digits = text.substr(integer_begin, i - integer_begin);
    bool has_point = false;
    if (i < text.size() && text[i] == '.') {
        has_point = true;
        ++i;
        const std::size_t fraction_begin = i;
        while (i < text.size() && is_digit(text[i])) {
            ++i;
        }
        out.fraction_digits = text.substr(fraction_begin, i - fraction_begin);
    }
    if (i < text.size()) {
        const char c = text[i];
        const std::string position = " at position " + std::to_string(i + 1);
        if (c == 'e' || c == 'E') {
            return invalid("exponent notation ('" + std::string(1, c) + "'" + position +
                           ") is not accepted; write the digits out");
        }
        if (c == '.' && has_point) {
            return invalid("a second decimal point" + position);
        }
        if (c == ',') {
            return invalid("','" + position +
                           " is not accepted: no thousands separators, and the decimal "
                           "point is '.'");
        }
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
            return invalid("whitespace" + position + " is not accepted");
        }
        if (c == '+' || c == '-') {
            return invalid("a sign" + position + " is only accepted as the first character");
        }
        return invalid("unexpected character " + quote(std::string_view(&c, 1)) + position);
    }
    if (out.integer_digits.empty() && out.fraction_digits.empty()) {
        return invalid("no digits");
    }
    return out;
}

std::optional<Int128> scaled_magnitude(const DecimalText& decimal, int scale) {
    FXSETTLE_ASSERT(scale >= 0 && static_cast<std::size_t>(scale) >= decimal.fraction_digits.size(),
                    "scale below the number of decimals");
    // 2^127 - 1 has 39 digits: more significant digits than that always overflow, and
    // fewer fit the 256-bit accumulator with room to spare.
    constexpr std::size_t kDigitsMax = 39;
    std::size_t significant = 0;
    Int256 value = 0;
    const auto take = [&](std::string_view digits) {
        for (const char c : digits) {
            if (significant == 0 && c == '0') {
                continue;  // a leading zero, also across the decimal point
            }
            if (++significant > kDigitsMax) {
                return false;
            }
            value = value * 10 + (c - '0');
        }
        return true;
    };
    if (!take(decimal.integer_digits) || !take(decimal.fraction_digits)) {
        return std::nullopt;
    }
    const int zeros = scale - static_cast<int>(decimal.fraction_digits.size());
    if (!value.is_zero()) {
        if (significant + static_cast<std::size_t>(zeros) > kDigitsMax) {
            return std::nullopt;
        }
        value *= pow10(zeros);
    }
    if (value > Int256(magnitude_max())) {
        return std::nullopt;
    }
    return Int128(value);
}

std::string quote(std::string_view text, std::size_t length_max) {
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out = "'";
    std::size_t shown = 0;
    for (const char c : text) {
        if (shown == length_max) {
            out += "...";
            break;
        }
        const auto byte = static_cast<unsigned char>(c);
        if (byte >= 0x20 && byte < 0x7f && c != '\\') {
            out += c;
        } else {
            out += "\\x";
            out += kHex[byte >> 4];
            out += kHex[byte & 0xf];
        }
        ++shown;
    }
    out += "'";
    return out;
}

}  // namespace fxsettle::money::detail
