// Amount: an exact signed count of a currency's minor units, 128 bits wide
// (Boost.Multiprecision), overflow checked, never a float. Money = amount + currency.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <boost/multiprecision/cpp_int.hpp>

#include "engine/base/status.h"
#include "engine/money/currency.h"

namespace fxsettle::money {

// The integer behind every amount: a fixed-width 128-bit Boost.Multiprecision integer.
using Int128 = boost::multiprecision::int128_t;

namespace amount_detail {
// The largest magnitude of an Amount, 2^127 - 1 (detail::magnitude_max() is the same value
// for the library's sources).
inline constexpr Int128 kMagnitudeMax = Int128(boost::multiprecision::uint128_t(1) << 127) - 1;
}  // namespace amount_detail

// g++'s built-in 128-bit integer (-Wpedantic asks for the marker).
__extension__ using NativeInt128 = __int128;

class Amount {
  public:
    // Amounts are symmetric around zero: [-(2^127 - 1), 2^127 - 1], so that every amount
    // fits 16 bytes of two's complement and negation never overflows.
    static Amount max() noexcept;
    static Amount min() noexcept;

    constexpr Amount() = default;  // zero
    static Amount from_minor(std::int64_t minor) noexcept { return Amount(minor); }
    // Fails with kOutOfRange when `minor` lies outside [min(), max()].
    static Result<Amount> from_int(const Int128& minor);
    // The same for a built-in integer: nullopt for -2^127, the one value outside the range.
    static std::optional<Amount> from_native(NativeInt128 minor) noexcept {
        if (minor == kNativeMin)
            return std::nullopt;
        return Amount(minor);
    }

    Int128 minor() const noexcept { return Int128(minor_); }
    // The count as a built-in integer, for arithmetic that needs no wider intermediate.
    NativeInt128 native_minor() const noexcept { return minor_; }
    bool is_zero() const noexcept { return minor_ == 0; }
    bool is_negative() const noexcept { return minor_ < 0; }
    bool is_positive() const noexcept { return minor_ > 0; }

    // Checked arithmetic: nullopt when the result leaves [min(), max()].
    std::optional<Amount> checked_add(const Amount& other) const noexcept {
        NativeInt128 sum;
        if (__builtin_add_overflow(minor_, other.minor_, &sum))
            return std::nullopt;
        return from_native(sum);
    }
    std::optional<Amount> checked_sub(const Amount& other) const noexcept {
        NativeInt128 difference;
        if (__builtin_sub_overflow(minor_, other.minor_, &difference))
            return std::nullopt;
        return from_native(difference);
    }
    std::optional<Amount> checked_mul(std::int64_t factor) const noexcept;

    // Unchecked-by-the-caller arithmetic for sums the caller knows are bounded; an
    // overflow here is a programmer bug and stops the process (FXSETTLE_ASSERT).
    Amount operator-() const noexcept { return Amount(-minor_); }
    Amount operator+(const Amount& other) const noexcept {
        Amount sum = *this;
        return sum += other;
    }
    Amount operator-(const Amount& other) const noexcept {
        Amount difference = *this;
        return difference -= other;
    }
    Amount& operator+=(const Amount& other) noexcept {
        const bool overflow = __builtin_add_overflow(minor_, other.minor_, &minor_);
        FXSETTLE_ASSERT(!overflow && minor_ != kNativeMin, "Amount addition overflowed");
        return *this;
    }
    Amount& operator-=(const Amount& other) noexcept {
        const bool overflow = __builtin_sub_overflow(minor_, other.minor_, &minor_);
        FXSETTLE_ASSERT(!overflow && minor_ != kNativeMin, "Amount subtraction overflowed");
        return *this;
    }

    friend bool operator==(const Amount& a, const Amount& b) noexcept = default;
    friend std::strong_ordering operator<=>(const Amount& a, const Amount& b) noexcept {
        return a.minor_ <=> b.minor_;
    }

    // Little-endian two's complement, 16 bytes: the ledger's on-disk form.
    std::array<std::uint8_t, 16> to_le_bytes() const noexcept;
    // The inverse of to_le_bytes(), reading 16 bytes. The one 16-byte pattern outside
    // the Amount range is -2^127 (15 zero bytes, then 0x80): from_le_bytes() treats it
    // as a programmer bug and stops the process (FXSETTLE_ASSERT); decode_le_bytes()
    // reports it (kCorruption) and is the one to use on data read back from disk.
    static Amount from_le_bytes(const std::uint8_t* bytes16) noexcept;
    static Result<Amount> decode_le_bytes(const std::uint8_t* bytes16);

    // The plain integer count of minor units, e.g. "-123456".
    std::string to_string() const;

  private:
    // -2^127: a built-in 128-bit integer's one value outside the Amount range.
    static constexpr NativeInt128 kNativeMax =
        ((static_cast<NativeInt128>(1) << 126) - 1) * 2 + 1;  // 2^127 - 1
    static constexpr NativeInt128 kNativeMin = -kNativeMax - 1;

    constexpr explicit Amount(NativeInt128 minor) : minor_(minor) {}
    // A built-in integer rather than Int128 (Boost's sign and magnitude, 32 bytes): half
    // the size, and sums in a few instructions (a cut-off adds amounts several times per
    // payout, and the calls showed as a tenth of it).
    NativeInt128 minor_ = 0;
};

struct Money {
    Amount amount;
    Currency currency;
    friend bool operator==(const Money&, const Money&) = default;
};

// The decimal text of a 128-bit integer, e.g. "-123456" (for residues, mantissas and
// logs). Use it rather than Int128::str(): that one, inlined at -O2 and above, trips a
// g++ 12 -Wrestrict false positive that the warnings-as-errors build refuses.
std::string to_decimal_string(const Int128& value);

// Parses a decimal amount in major units of `currency` into minor units, exactly and
// independent of locale: "1234.56" USD -> 123456, "-0.005" KWD -> -5, "1000" JPY -> 1000.
// Accepted: an optional '-' or '+', digits, and an optional '.' followed by at most
// `currency.exponent` digits (at least one digit before or after the point). Fails with
// kInvalidArgument whose message names the problem and the text: empty, stray
// characters, exponent notation ("1e5"), more decimals than the currency allows
// ("1.234 has 3 decimals; USD allows 2"); kOutOfRange on overflow of the 128-bit range.
Result<Amount> parse_amount(std::string_view text, const Currency& currency);

// parse_amount() after looking the currency code up in `table`; an unknown code fails
// with kNotFound naming it.
Result<Money> parse_money(std::string_view amount_text, std::string_view currency_code,
                          const CurrencyTable& table = CurrencyTable::iso());

// Formats minor units as a decimal in major units with exactly `currency.exponent`
// decimals: 123456 USD -> "1234.56", -5 KWD -> "-0.005", 1000 JPY -> "1000".
std::string format_amount(const Amount& amount, const Currency& currency);
// "1234.56 USD".
std::string format_money(const Money& money);

}  // namespace fxsettle::money
