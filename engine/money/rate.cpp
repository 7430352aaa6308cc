#include "engine/money/rate.h"

#include <array>
#include <exception>

#include <boost/multiprecision/integer.hpp>

#include "engine/money/detail.h"

namespace fxsettle::money {
namespace {

using detail::Int256;

constexpr std::array<std::string_view, 5> kRoundingModeNames = {"half_even", "half_up", "up",
                                                                "down", "toward_zero"};

// A RoundingMode read from disk or the wire may hold any byte; only the five named
// values round, anything else is refused rather than silently truncated.
bool is_known(RoundingMode mode) noexcept {
    return static_cast<std::size_t>(mode) < kRoundingModeNames.size();
}

Status unknown_mode(RoundingMode mode) {
    return {StatusCode::kInvalidArgument,
            "unknown rounding mode " + std::to_string(static_cast<int>(mode))};
}

std::string internal_error(std::string_view what, const std::exception& e) {
    return std::string(what) + " failed unexpectedly: " + e.what();
}

// Number of bits of a positive value: 2^(bits-1) <= x < 2^bits.
unsigned bit_count(const Int256& positive) noexcept {
    return boost::multiprecision::msb(positive) + 1;
}

}  // namespace

std::string CurrencyPair::to_string() const {
    return base.to_string() + "/" + quote.to_string();
}

Result<CurrencyPair> parse_pair(std::string_view text, const CurrencyTable& table) {
    std::string_view base_code;
    std::string_view quote_code;
    if (text.size() == 7 && text[3] == '/') {
        base_code = text.substr(0, 3);
        quote_code = text.substr(4, 3);
    } else if (text.size() == 6) {
        base_code = text.substr(0, 3);
        quote_code = text.substr(3, 3);
    } else {
        return fail(StatusCode::kInvalidArgument,
                    "currency pair " + detail::quote(text) +
                        " is neither BASE/QUOTE (EUR/USD) nor BASEQUOTE (EURUSD)");
    }
    auto base = table.lookup(base_code);
    if (!base) {
        return fail(base.error().code(),
                    "currency pair " + detail::quote(text) + ": " + base.error().message());
    }
    auto quote = table.lookup(quote_code);
    if (!quote) {
        return fail(quote.error().code(),
                    "currency pair " + detail::quote(text) + ": " + quote.error().message());
    }
    if (*base == *quote) {
        return fail(StatusCode::kInvalidArgument, "currency pair " + detail::quote(text) +
                                                      " has the same currency on both sides");
    }
    return CurrencyPair{*base, *quote};
}

std::string_view rounding_mode_name(RoundingMode mode) noexcept {
    const auto index = static_cast<std::size_t>(mode);
    return index < kRoundingModeNames.size() ? kRoundingModeNames[index] : "unknown";
}

Result<RoundingMode> parse_rounding_mode(std::string_view name) {
    for (std::size_t i = 0; i < kRoundingModeNames.size(); ++i) {
        if (kRoundingModeNames[i] == name) {
            return static_cast<RoundingMode>(i);
        }
    }
    return fail(StatusCode::kInvalidArgument,
                "unknown rounding mode " + detail::quote(name) +
                    "; expected half_even, half_up, up, down or toward_zero");
}

const Int128& Rate::mantissa_max() noexcept {
    return detail::magnitude_max();
}

Result<Rate> Rate::from_mantissa(const CurrencyPair& pair, const Int128& mantissa) {
    if (mantissa.sign() <= 0) {
        return fail(StatusCode::kInvalidArgument, "rate mantissa " + to_decimal_string(mantissa) +
                                                      " for " + pair.to_string() +
                                                      " is not positive");
    }
    if (mantissa > mantissa_max()) {
        return fail(StatusCode::kOutOfRange, "rate mantissa " + to_decimal_string(mantissa) +
                                                 " for " + pair.to_string() +
                                                 " exceeds the largest, 2^127 - 1");
    }
    return Rate(pair, mantissa);
}

Result<Rate> Rate::parse(const CurrencyPair& pair, std::string_view text) {
    try {
        const std::string what = pair.to_string() + " rate";
        auto decimal = detail::scan_decimal(text, what);
        if (!decimal) {
            return fail(decimal.error());
        }
        if (decimal->has_sign) {
            return fail(StatusCode::kInvalidArgument,
                        "invalid " + what + " " + detail::quote(text) +
                            ": a sign is not accepted (rates are positive)");
        }
        const std::size_t decimals = decimal->fraction_digits.size();
        if (decimals > static_cast<std::size_t>(kDecimals)) {
            return fail(StatusCode::kInvalidArgument,
                        "invalid " + what + " " + detail::quote(text) + ": " +
                            std::to_string(decimals) + " decimals; at most " +
                            std::to_string(kDecimals) + " are allowed");
        }
        const auto mantissa = detail::scaled_magnitude(*decimal, kDecimals);
        if (!mantissa) {
            return fail(StatusCode::kOutOfRange, what + " " + detail::quote(text) +
                                                     " exceeds the largest rate, (2^127 - 1) "
                                                     "/ 10^12");
        }
        if (mantissa->is_zero()) {
            return fail(
                StatusCode::kInvalidArgument,
                "invalid " + what + " " + detail::quote(text) + ": a rate must be positive");
        }
        return Rate(pair, *mantissa);
    } catch (const std::exception& e) {
        return fail(StatusCode::kInternal, internal_error("parsing a rate", e));
    }
}

Result<Rate> Rate::inverted(RoundingMode mode) const {
    if (!is_known(mode)) {
        return fail(unknown_mode(mode));
    }
    try {
        // 1/r = 10^12 / m, so the inverted mantissa is 10^24 / m rounded. It is at most
        // 10^24, far below mantissa_max().
        const auto rounded =
            detail::divide_rounded(detail::pow10(2 * kDecimals), Int256(mantissa_), mode);
        if (rounded.quotient.is_zero()) {
            return fail(StatusCode::kOutOfRange, "the inverse of " + pair_.to_string() + " " +
                                                     to_string() + " rounds to zero at " +
                                                     std::to_string(kDecimals) + " decimals (" +
                                                     std::string(rounding_mode_name(mode)) + ")");
        }
        return Rate(pair_.inverted(), Int128(rounded.quotient));
    } catch (const std::exception& e) {
        return fail(StatusCode::kInternal, internal_error("inverting a rate", e));
    }
}

std::string Rate::to_string() const {
    constexpr std::size_t kScale = kDecimals;
    std::string digits = to_decimal_string(mantissa_);
    if (digits.size() <= kScale) {
        digits = std::string(kScale + 1 - digits.size(), '0') + digits;
    }
    const std::size_t integer_size = digits.size() - kScale;
    std::string out;
    out.reserve(digits.size() + 1);
    out.append(digits, 0, integer_size);
    out += '.';
    out.append(digits, integer_size, kScale);
    // Keep one decimal so that a rate always reads as a rate ("150.0"), drop the rest of
    // the trailing zeros.
    while (out.back() == '0' && out[out.size() - 2] != '.') {
        out.pop_back();
    }
    return out;
}

Result<Conversion> convert(const Money& from, const Rate& rate, RoundingMode mode) {
    if (!is_known(mode)) {
        return fail(unknown_mode(mode));
    }
    try {
        const CurrencyPair& pair = rate.pair();
        if (from.currency != pair.base) {
            return fail(StatusCode::kInvalidArgument,
                        "cannot convert " + from.currency.to_string() + " with a " +
                            pair.to_string() + " rate: the amount must be in the base currency " +
                            pair.base.to_string() + " (invert the rate to convert the other way)");
        }
        if (pair.base.exponent > kExponentMax || pair.quote.exponent > kExponentMax) {
            return fail(StatusCode::kInvalidArgument, "cannot convert on " + pair.to_string() +
                                                          ": a minor-unit exponent exceeds " +
                                                          std::to_string(kExponentMax));
        }
        // exact (in quote minor units) = a * 10^-e_base * m * 10^-12 * 10^e_quote. In
        // residue units of 10^-18 quote minor units that is the integer
        //   a * m * 10^(18 - 12 + e_quote - e_base),
        // whose power is 0..12 for exponents 0..6: no division before the rounding.
        const int scale =
            kResidueDecimals - Rate::kDecimals + pair.quote.exponent - pair.base.exponent;
        const Money zero{Amount(), pair.quote};
        if (from.amount.is_zero()) {
            return Conversion{zero, Int128(0)};
        }
        const Int256 amount = from.amount.minor();
        const Int256 mantissa = rate.mantissa();
        const Int256& factor = detail::pow10(scale);
        // The product can need up to 294 bits. If the bit counts add up to more than 255,
        // the product is at least 2^253 residue units, i.e. at least 2^253 / 10^18 >
        // 2^193 minor units: far outside the Amount range whatever the rounding. So
        // refusing it here loses nothing, and every product formed fits 256 bits.
        const unsigned bits = bit_count(abs(amount)) + bit_count(mantissa) + bit_count(factor);
        const auto out_of_range = [&] {
            return fail(StatusCode::kOutOfRange, "converting " + format_money(from) + " at " +
                                                     pair.to_string() + " " + rate.to_string() +
                                                     " leaves the 128-bit " +
                                                     pair.quote.to_string() + " amount range");
        };
        if (bits > 255) {
            return out_of_range();
        }
        const Int256 exact = amount * mantissa * factor;
        const auto rounded = detail::divide_rounded(exact, detail::pow10(kResidueDecimals), mode);
        if (abs(rounded.quotient) > Int256(detail::magnitude_max())) {
            return out_of_range();
        }
        auto converted = Amount::from_int(Int128(rounded.quotient));
        FXSETTLE_ASSERT(converted.has_value(), "range checked above");
        FXSETTLE_ASSERT(abs(rounded.remainder) < detail::pow10(kResidueDecimals),
                        "residue must be less than one minor unit");
        return Conversion{Money{*converted, pair.quote}, Int128(rounded.remainder)};
    } catch (const std::exception& e) {
        return fail(StatusCode::kInternal, internal_error("converting an amount", e));
    }
}

}  // namespace fxsettle::money
