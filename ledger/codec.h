// The ledger's hand-written binary codec: explicit little-endian fields for record
// values, big-endian fields for keys (so LMDB's memcmp order is numeric order). Never a
// memcpy of a struct: the on-disk layout must not depend on the compiler's padding or the
// host's byte order. Internal to the ledger library.
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>

#include "engine/money/amount.h"
#include "ledger/types.h"

namespace fxsettle::ledger::codec {

// Appends fields to a caller-owned byte string. The writer never shrinks the string, so
// the caller can reuse one buffer for a whole batch without heap churn.
class Writer {
  public:
    explicit Writer(std::string& out) : out_(out) {}

    void u8(std::uint8_t v) { out_.push_back(static_cast<char>(v)); }
    void u16(std::uint16_t v) { uint_le(v, 2); }
    void u32(std::uint32_t v) { uint_le(v, 4); }
    void u64(std::uint64_t v) { uint_le(v, 8); }
    void i32(std::int32_t v) { uint_le(static_cast<std::uint32_t>(v), 4); }
    void i64(std::int64_t v) { uint_le(static_cast<std::uint64_t>(v), 8); }
    void bytes(const void* data, std::size_t size) {
        out_.append(static_cast<const char*>(data), size);
    }
    void id(std::uint64_t hi, std::uint64_t lo) {
        u64(hi);
        u64(lo);
    }
    template <typename Tag>
    void id(const Id128<Tag>& v) {
        id(v.hi, v.lo);
    }
    // A length-prefixed string; the caller has checked the length against its maximum.
    void str8(std::string_view s) {
        u8(static_cast<std::uint8_t>(s.size()));
        bytes(s.data(), s.size());
    }
    void str16(std::string_view s) {
        u16(static_cast<std::uint16_t>(s.size()));
        bytes(s.data(), s.size());
    }
    void amount(const money::Amount& a);
    void currency(const money::Currency& c) {
        bytes(c.code.data(), 3);
        u16(c.numeric);
        u8(c.exponent);
    }
    void timestamp(Timestamp t) { i64(t.time_since_epoch().count()); }

    std::size_t size() const noexcept { return out_.size(); }

  private:
    void uint_le(std::uint64_t v, int n) {
        char buf[8];
        for (int i = 0; i < n; ++i) {
            buf[i] = static_cast<char>(v >> (8 * i));
        }
        out_.append(buf, static_cast<std::size_t>(n));
    }
    std::string& out_;
};

// Reads fields from a byte range with bounds checks. A read past the end (or a value
// out of range) sets the failure flag and yields zeros, so a decoder can read a whole
// record and check `ok()` once: stored data that does not decode is corruption.
class Reader {
  public:
    Reader(const void* data, std::size_t size)
        : p_(static_cast<const std::uint8_t*>(data)), end_(p_ + size) {}

    bool ok() const noexcept { return ok_; }
    bool at_end() const noexcept { return p_ == end_; }
    std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - p_); }
    void set_failed() noexcept { ok_ = false; }

    std::uint8_t u8() { return static_cast<std::uint8_t>(uint_le(1)); }
    std::uint16_t u16() { return static_cast<std::uint16_t>(uint_le(2)); }
    std::uint32_t u32() { return static_cast<std::uint32_t>(uint_le(4)); }
    std::uint64_t u64() { return uint_le(8); }
    std::int32_t i32() { return static_cast<std::int32_t>(static_cast<std::uint32_t>(uint_le(4))); }
    std::int64_t i64() { return static_cast<std::int64_t>(uint_le(8)); }
    const std::uint8_t* bytes(std::size_t n) {
        if (!take(n)) {
            return nullptr;
        }
        const std::uint8_t* p = p_;
        p_ += n;
        return p;
    }
    template <typename Tag>
    Id128<Tag> id() {
        Id128<Tag> v;
        v.hi = u64();
        v.lo = u64();
        return v;
    }
    std::string str8() { return str(u8()); }
    std::string str16() { return str(u16()); }
    money::Amount amount();
    money::Currency currency() {
        money::Currency c;
        if (const std::uint8_t* p = bytes(3)) {
            std::memcpy(c.code.data(), p, 3);  // three chars, no layout involved
        }
        c.numeric = u16();
        c.exponent = u8();
        return c;
    }
    Timestamp timestamp() { return Timestamp(std::chrono::nanoseconds(i64())); }

  private:
    bool take(std::size_t n) {
        if (!ok_ || remaining() < n) {
            ok_ = false;
            return false;
        }
        return true;
    }
    std::uint64_t uint_le(int n) {
        if (!take(static_cast<std::size_t>(n))) {
            return 0;
        }
        std::uint64_t v = 0;
        for (int i = n - 1; i >= 0; --i) {
            v = (v << 8) | p_[i];
        }
        p_ += n;
        return v;
    }
    std::string str(std::size_t n) {
        const std::uint8_t* p = bytes(n);
        return p ? std::string(reinterpret_cast<const char*>(p), n) : std::string();
    }

    const std::uint8_t* p_;
    const std::uint8_t* end_;
    bool ok_ = true;
};

// 16 bytes of little-endian two's complement, the Amount's on-disk form. Most amounts
// fit 64 bits; those take a fast path that avoids the byte-by-byte 128-bit shifts.
void encode_amount(const money::Amount& a, std::uint8_t* out16) noexcept;
// nullopt for the one 16-byte pattern outside the Amount range (-2^127).
std::optional<money::Amount> decode_amount(const std::uint8_t* in16) noexcept;
// The same into `out`, without the optional's copy (the hot path of balance reads); false
// for -2^127, and then `out` is left as it was. A zero takes no 128-bit construction.
bool decode_amount_to(const std::uint8_t* in16, money::Amount& out) noexcept;

// Eight little-endian bytes; written as shifts, which compilers turn into one load.
inline std::uint64_t load_le64(const std::uint8_t* p) noexcept {
    return std::uint64_t{p[0]} | std::uint64_t{p[1]} << 8 | std::uint64_t{p[2]} << 16 |
           std::uint64_t{p[3]} << 24 | std::uint64_t{p[4]} << 32 | std::uint64_t{p[5]} << 40 |
           std::uint64_t{p[6]} << 48 | std::uint64_t{p[7]} << 56;
}

// Big-endian helpers for keys: one byte swap and one unaligned store or load (g++ 12 did
// not merge the byte-by-byte loops they replace, which cost a point read a dozen shifts).
// The byte order is explicit, so the result does not depend on the host's.
inline void put_be64(std::uint8_t* p, std::uint64_t v) noexcept {
    if constexpr (std::endian::native == std::endian::little) {
        v = __builtin_bswap64(v);
    }
    std::memcpy(p, &v, sizeof v);
}
inline std::uint64_t get_be64(const std::uint8_t* p) noexcept {
    std::uint64_t v;
    std::memcpy(&v, p, sizeof v);
    if constexpr (std::endian::native == std::endian::little) {
        v = __builtin_bswap64(v);
    }
    return v;
}
inline void put_be16(std::uint8_t* p, std::uint16_t v) noexcept {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}
inline std::uint16_t get_be16(const std::uint8_t* p) noexcept {
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
// A signed time as a key: the sign bit flipped, so negative times sort first.
inline std::uint64_t time_key(Timestamp t) noexcept {
    return static_cast<std::uint64_t>(t.time_since_epoch().count()) ^ (1ull << 63);
}

// An id as a 16-byte key, hi then lo, big-endian: memcmp order is (hi, lo) order, the
// same order as Id128's operator<=>.
template <typename Tag>
std::array<std::uint8_t, 16> id_key(const Id128<Tag>& id) noexcept {
    std::array<std::uint8_t, 16> k{};
    put_be64(k.data(), id.hi);
    put_be64(k.data() + 8, id.lo);
    return k;
}
template <typename Tag>
Id128<Tag> id_from_key(const std::uint8_t* p) noexcept {
    Id128<Tag> id;
    id.hi = get_be64(p);
    id.lo = get_be64(p + 8);
    return id;
}

}  // namespace fxsettle::ledger::codec
