#include "ledger/codec.h"

#include <new>
#include <type_traits>

namespace fxsettle::ledger::codec {

void encode_amount(const money::Amount& a, std::uint8_t* out16) noexcept {
    static const money::Int128 kI64Min(std::numeric_limits<std::int64_t>::min());
    static const money::Int128 kI64Max(std::numeric_limits<std::int64_t>::max());
    const money::Int128& v = a.minor();
    if (v >= kI64Min && v <= kI64Max) {
        // Sign-extend the 64-bit value to 16 bytes: the same bytes to_le_bytes() makes.
        const auto x = static_cast<std::uint64_t>(v.convert_to<std::int64_t>());
        for (int i = 0; i < 8; ++i) {
            out16[i] = static_cast<std::uint8_t>(x >> (8 * i));
        }
        const std::uint8_t fill = (x >> 63) ? 0xFF : 0x00;
        for (int i = 8; i < 16; ++i) {
            out16[i] = fill;
        }
        return;
    }
    const auto bytes = a.to_le_bytes();
    for (int i = 0; i < 16; ++i) {
        out16[i] = bytes[static_cast<std::size_t>(i)];
    }
}

std::optional<money::Amount> decode_amount(const std::uint8_t* in16) noexcept {
    money::Amount a;
    if (!decode_amount_to(in16, a)) {
        return std::nullopt;
    }
    return a;
}

bool decode_amount_to(const std::uint8_t* in16, money::Amount& out) noexcept {
    const std::uint64_t lo = load_le64(in16);
    const std::uint64_t hi = load_le64(in16 + 8);
    // The common case: a value that fits 64 bits, whose high half only extends the sign.
    if (hi == (lo >> 63 ? ~std::uint64_t{0} : 0)) {
        if (lo == 0) {
            // Zero (pending totals, mostly) is the default Amount: no call into the money
            // library.
            out = money::Amount();
            return true;
        }
        // Built in place: from_minor() returns straight into `out` (guaranteed copy
        // elision). Assigning its result copied a temporary whose 16 bytes were read back
        // right after being written in halves, a store-forwarding stall that was most of
        // the cost of decoding a balance.
        static_assert(std::is_trivially_destructible_v<money::Amount>);
        ::new (static_cast<void*>(&out))
            money::Amount(money::Amount::from_minor(static_cast<std::int64_t>(lo)));
        return true;
    }
    auto decoded = money::Amount::decode_le_bytes(in16);
    if (!decoded) {
        return false;
    }
    out = *decoded;
    return true;
}

void Writer::amount(const money::Amount& a) {
    std::uint8_t buf[16];
    encode_amount(a, buf);
    bytes(buf, sizeof buf);
}

money::Amount Reader::amount() {
    const std::uint8_t* p = bytes(16);
    if (!p) {
        return {};
    }
    auto a = decode_amount(p);
    if (!a) {
        set_failed();
        return {};
    }
    return *a;
}

}  // namespace fxsettle::ledger::codec
