// Rates: exact decimal FX rates for a currency pair, and conversion between currencies
// with an explicit rounding mode that also returns the rounding residue.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "engine/base/status.h"
#include "engine/money/amount.h"
#include "engine/money/currency.h"

namespace fxsettle::money {

// A pair BASE/QUOTE: a rate r on it means 1 unit of BASE costs r units of QUOTE
// (EUR/USD 1.0850: one euro costs 1.085 dollars). The direction is part of the type.
struct CurrencyPair {
    Currency base;
    Currency quote;
    std::string to_string() const;  // "EUR/USD"
    CurrencyPair inverted() const { return {quote, base}; }
    friend bool operator==(const CurrencyPair&, const CurrencyPair&) = default;
};

// Parses "EUR/USD" (or "EURUSD") against `table`; fails naming the unknown code, a
// malformed text, or a pair of one currency with itself.
Result<CurrencyPair> parse_pair(std::string_view text,
                                const CurrencyTable& table = CurrencyTable::iso());

// How to round an exact value to a whole number of minor units.
enum class RoundingMode : std::uint8_t {
    kHalfEven = 0,    // to nearest; ties to the even neighbour (banker's rounding). Default.
    kHalfUp = 1,      // to nearest; ties away from zero
    kUp = 2,          // toward +infinity (ceiling)
    kDown = 3,        // toward -infinity (floor)
    kTowardZero = 4,  // truncate
};
std::string_view rounding_mode_name(RoundingMode mode) noexcept;
Result<RoundingMode> parse_rounding_mode(std::string_view name);  // "half_even", ...

// An exact, positive decimal rate with kDecimals fixed decimal places, held as an
// integer mantissa: rate = mantissa / 10^kDecimals.
class Rate {
  public:
    static constexpr int kDecimals = 12;

    // Fails (kInvalidArgument) unless mantissa > 0, and (kOutOfRange) when it exceeds
    // mantissa_max(): a mantissa, like an amount, fits 16 bytes of two's complement.
    static Result<Rate> from_mantissa(const CurrencyPair& pair, const Int128& mantissa);
    // The largest mantissa: 2^127 - 1 (a rate of about 1.7e26).
    static const Int128& mantissa_max() noexcept;
    // Parses a plain decimal ("7.1234", "0.0067", "150") with at most kDecimals
    // decimals; rejects empty, signs, zero, stray characters, exponent notation and too
    // many decimals (kInvalidArgument), and a rate above mantissa_max() (kOutOfRange),
    // with a message naming the problem and the text.
    static Result<Rate> parse(const CurrencyPair& pair, std::string_view text);

    const CurrencyPair& pair() const noexcept { return pair_; }
    const Int128& mantissa() const noexcept { return mantissa_; }

    // The rate of the inverted pair (QUOTE/BASE), 1/r rounded to kDecimals with `mode`.
    // Fails (kOutOfRange) when 1/r rounds to zero, (kInvalidArgument) for an unnamed mode.
    Result<Rate> inverted(RoundingMode mode = RoundingMode::kHalfEven) const;

    // Decimal text without trailing zeros beyond the first decimal: "7.1234", "150.0".
    std::string to_string() const;

    friend bool operator==(const Rate&, const Rate&) = default;

  private:
    Rate(const CurrencyPair& pair, const Int128& mantissa) : pair_(pair), mantissa_(mantissa) {}
    CurrencyPair pair_;
    Int128 mantissa_;
};

// The residue of a conversion is kept exactly in units of 10^-kResidueDecimals of the
// target currency's minor unit. With kDecimals = 12 and exponents <= kExponentMax = 6,
// every exact conversion result is a multiple of that unit.
inline constexpr int kResidueDecimals = 18;

struct Conversion {
    Money converted;  // rounded to whole minor units of the target currency
    // exact value - converted, in 10^-kResidueDecimals target minor units. Always
    // |residue| < 10^kResidueDecimals (less than one minor unit); for the half modes
    // |residue| <= half a minor unit.
    Int128 residue;
};

static_assert(kResidueDecimals >= Rate::kDecimals + kExponentMax,
              "an exact conversion must be a whole number of residue units for every pair "
              "of exponents");

// Converts `from` (which must be in rate.pair().base) into rate.pair().quote:
// exact = from * rate, scaled between the two exponents through a wide (256-bit)
// intermediate, then rounded with `mode`. Returns the rounded amount and the residue so
// a ledger can post it. Fails (kInvalidArgument) when from's currency is not the pair's
// base (invert the rate explicitly to convert the other way), an exponent exceeds
// kExponentMax or `mode` is not one of the named modes (e.g. a bad byte read back from
// disk), and (kOutOfRange) when the result leaves the Amount range.
Result<Conversion> convert(const Money& from, const Rate& rate,
                           RoundingMode mode = RoundingMode::kHalfEven);

}  // namespace fxsettle::money
