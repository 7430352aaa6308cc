#include "engine/money/amount.h"

#include <exception>

#include "engine/money/detail.h"

namespace fxsettle::money {
namespace {

using detail::UInt128;

__extension__ using NativeUInt128 = unsigned __int128;

// The 16 bytes as a built-in signed 128-bit integer (two's complement, as the machine's).
NativeInt128 decode_twos_complement(const std::uint8_t* bytes16) noexcept {
    NativeUInt128 bits = 0;
    for (int i = 15; i >= 0; --i) {
        bits = (bits << 8) | bytes16[i];
    }
    return static_cast<NativeInt128>(bits);
}

}  // namespace

Amount Amount::max() noexcept {
    return Amount(kNativeMax);
}
Amount Amount::min() noexcept {
    return Amount(-kNativeMax);
}

Result<Amount> Amount::from_int(const Int128& minor) {
    if (abs(minor) > detail::magnitude_max()) {
        return fail(
            StatusCode::kOutOfRange,
            to_decimal_string(minor) + " minor units is outside the Amount range +-(2^127 - 1)");
    }
    return Amount(static_cast<NativeInt128>(minor));
}

std::optional<Amount> Amount::checked_mul(std::int64_t factor) const noexcept {
    NativeInt128 product;
    if (__builtin_mul_overflow(minor_, static_cast<NativeInt128>(factor), &product)) {
        return std::nullopt;
    }
    return from_native(product);
}

std::array<std::uint8_t, 16> Amount::to_le_bytes() const noexcept {
    auto bits = static_cast<NativeUInt128>(minor_);
    std::array<std::uint8_t, 16> bytes{};
    for (auto& byte : bytes) {
        byte = static_cast<std::uint8_t>(bits & 0xff);
        bits >>= 8;
    }
    return bytes;
}

Amount Amount::from_le_bytes(const std::uint8_t* bytes16) noexcept {
    const auto minor = from_native(decode_twos_complement(bytes16));
    FXSETTLE_ASSERT(minor.has_value(), "16-byte amount is -2^127, outside the Amount range");
    return *minor;
}

Result<Amount> Amount::decode_le_bytes(const std::uint8_t* bytes16) {
    const auto minor = from_native(decode_twos_complement(bytes16));
    if (!minor) {
        return fail(StatusCode::kCorruption,
                    "16-byte amount encodes -2^127, outside the Amount range +-(2^127 - 1)");
    }
    return *minor;
}

std::string Amount::to_string() const {
    return to_decimal_string(minor());
}

std::string to_decimal_string(const Int128& value) {
    // Peel off 19 decimal digits at a time (10^19 < 2^64), most significant chunk last.
    constexpr std::uint64_t kChunk = 10'000'000'000'000'000'000ULL;
    UInt128 magnitude = UInt128(abs(value));
    char buffer[41];  // 39 digits of 2^128 - 1, a sign, and room to spare
    char* const end = buffer + sizeof(buffer);
    char* out = end;
    do {
        auto chunk = static_cast<std::uint64_t>(magnitude % kChunk);
        magnitude /= kChunk;
        for (int i = 0; i < 19 && (chunk != 0 || !magnitude.is_zero()); ++i) {
            *--out = static_cast<char>('0' + chunk % 10);
            chunk /= 10;
        }
    } while (!magnitude.is_zero());
    if (out == end) {
        *--out = '0';
    }
    if (value.sign() < 0) {
        *--out = '-';
    }
    return std::string(out, end);
}

Result<Amount> parse_amount(std::string_view text, const Currency& currency) {
    try {
        auto decimal = detail::scan_decimal(text, "amount");
        if (!decimal) {
            return fail(decimal.error());
        }
        const std::size_t decimals = decimal->fraction_digits.size();
        if (decimals > currency.exponent) {
            return fail(StatusCode::kInvalidArgument, "amount " + detail::quote(text) + " has " +
                                                          std::to_string(decimals) + " decimals; " +
                                                          currency.to_string() + " allows " +
                                                          std::to_string(currency.exponent));
        }
        const auto magnitude = detail::scaled_magnitude(*decimal, currency.exponent);
        if (!magnitude) {
            return fail(StatusCode::kOutOfRange,
                        "amount " + detail::quote(text) + " " + currency.to_string() +
                            " is outside the 128-bit range of minor units +-(2^127 - 1)");
        }
        return Amount::from_int(decimal->negative ? Int128(-*magnitude) : *magnitude);
    } catch (const std::exception& e) {
        // Nothing above should throw but allocation; no exception leaves the library.
        return fail(StatusCode::kInternal,
                    "parsing amount " + detail::quote(text) + " failed: " + e.what());
    }
}

Result<Money> parse_money(std::string_view amount_text, std::string_view currency_code,
                          const CurrencyTable& table) {
    auto currency = table.lookup(currency_code);
    if (!currency) {
        return fail(currency.error());
    }
    auto amount = parse_amount(amount_text, *currency);
    if (!amount) {
        return fail(amount.error());
    }
    return Money{*amount, *currency};
}

std::string format_amount(const Amount& amount, const Currency& currency) {
    const std::size_t exponent = currency.exponent;
    std::string digits = to_decimal_string(abs(amount.minor()));
    // At least one digit before the point: 5 KWD minor units are "0.005".
    if (digits.size() <= exponent) {
        digits = std::string(exponent + 1 - digits.size(), '0') + digits;
    }
    const std::size_t integer_size = digits.size() - exponent;
    std::string out;
    out.reserve(digits.size() + 2);
    if (amount.is_negative()) {
        out += '-';
    }
    out.append(digits, 0, integer_size);
    if (exponent > 0) {
        out += '.';
        out.append(digits, integer_size, exponent);
    }
    return out;
}

std::string format_money(const Money& money) {
    return format_amount(money.amount, money.currency) + " " + money.currency.to_string();
}

}  // namespace fxsettle::money
