#include "engine/core/codec.h"

namespace fxsettle::engine::codec {

bool valid_enum(book::Side value) noexcept {
    return value == book::Side::kBuy || value == book::Side::kSell;
}
bool valid_enum(book::OrderType value) noexcept {
    return value == book::OrderType::kLimit || value == book::OrderType::kMarket;
}
bool valid_enum(book::TimeInForce value) noexcept {
    switch (value) {
        case book::TimeInForce::kDay:
        case book::TimeInForce::kGtc:
        case book::TimeInForce::kIoc:
        case book::TimeInForce::kFok:
            return true;
    }
    return false;
}
bool valid_enum(book::CancelReason value) noexcept {
    return book::cancel_reason_name(value) != "unknown";
}
bool valid_enum(calendar::Tenor value) noexcept {
    return static_cast<std::uint8_t>(value) <= static_cast<std::uint8_t>(calendar::Tenor::kBroken);
}
bool valid_enum(calendar::Roll value) noexcept {
    return static_cast<std::uint8_t>(value) <=
           static_cast<std::uint8_t>(calendar::Roll::kModifiedFollowing);
}
bool valid_enum(config::FundingMode value) noexcept {
    return value == config::FundingMode::kPrefunded || value == config::FundingMode::kPostfunded;
}
bool valid_enum(Reason value) noexcept {
    return reason_name(value) != "unknown";
}
bool valid_enum(RequestKind value) noexcept {
    const auto v = static_cast<std::uint8_t>(value);
    return v >= 1 && v <= static_cast<std::uint8_t>(RequestKind::kBank);
}
bool valid_enum(OrderState value) noexcept {
    switch (value) {
        case OrderState::kNew:
        case OrderState::kPartiallyFilled:
        case OrderState::kFilled:
        case OrderState::kCancelled:
        case OrderState::kReplaced:
        case OrderState::kExpired:
            return true;
    }
    return false;
}
bool valid_enum(SettlementCode value) noexcept {
    return settlement_code_name(value) != "unknown";
}
bool valid_enum(ExposureReason value) noexcept {
    return exposure_reason_name(value) != "unknown";
}
bool valid_enum(HoldBackReason value) noexcept {
    return hold_back_reason_name(value) != "unknown";
}
bool valid_enum(ObligationDirection value) noexcept {
    return static_cast<std::uint8_t>(value) <=
           static_cast<std::uint8_t>(ObligationDirection::kPayOut);
}
bool valid_enum(money::RoundingMode value) noexcept {
    return money::rounding_mode_name(value) != "unknown";
}

void Writer::int128(const money::Int128& value) {
    // Zig-zag: non-negative v -> 2v, negative v -> -2v - 1, as an unsigned 128-bit value.
    using U = boost::multiprecision::uint128_t;
    U z = value.sign() >= 0 ? U(value) * 2 : U(-(value + 1)) * 2 + 1;
    while (z >= 0x80) {
        u8(static_cast<std::uint8_t>(static_cast<unsigned>(z & 0x7F) | 0x80));
        z >>= 7;
    }
    u8(static_cast<std::uint8_t>(static_cast<unsigned>(z)));
}

void Reader::fail(std::string_view what) {
    if (error_.empty())
        error_ = "at byte " + std::to_string(pos_) + ": " + std::string(what);
}

Status Reader::status(std::string_view what) const {
    if (error_.empty())
        return Status::ok();
    return Status(StatusCode::kCorruption, std::string(what) + " " + error_);
}

std::uint8_t Reader::u8() {
    if (!ok())
        return 0;
    if (pos_ >= bytes_.size()) {
        fail("truncated");
        return 0;
    }
    return static_cast<std::uint8_t>(bytes_[pos_++]);
}

std::uint64_t Reader::uvarint() {
    std::uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        const std::uint8_t byte = u8();
        if (!ok())
            return 0;
        if (shift == 63 && byte > 1) {
            fail("varint exceeds 64 bits");
            return 0;
        }
        value |= std::uint64_t{byte & 0x7Fu} << shift;
        if ((byte & 0x80) == 0)
            return value;
    }
    fail("varint exceeds 64 bits");
    return 0;
}

std::int64_t Reader::svarint() {
    const std::uint64_t z = uvarint();
    return static_cast<std::int64_t>((z >> 1) ^ (~(z & 1) + 1));
}

money::Int128 Reader::int128() {
    using U = boost::multiprecision::uint128_t;
    U z = 0;
    for (unsigned shift = 0; shift < 133; shift += 7) {
        const std::uint8_t byte = u8();
        if (!ok())
            return 0;
        if (shift == 126 && byte > 3) {
            fail("integer exceeds 128 bits");
            return 0;
        }
        z |= U(byte & 0x7Fu) << shift;
        if ((byte & 0x80) == 0) {
            const U half = z >> 1;
            if ((z & 1) == 0) {
                if (half > U(std::numeric_limits<money::Int128>::max())) {
                    fail("integer exceeds 128 bits");
                    return 0;
                }
                return money::Int128(half);
            }
            // -(half) - 1; half <= 2^127 - 1 keeps it in range.
            if (half > U(std::numeric_limits<money::Int128>::max())) {
                fail("integer exceeds 128 bits");
                return 0;
            }
            return -money::Int128(half) - 1;
        }
    }
    fail("integer exceeds 128 bits");
    return 0;
}

std::uint64_t Reader::count_of() {
    const std::uint64_t count = uvarint();
    if (ok() && (count > kCountMax || count > bytes_.size() - pos_)) {
        fail("count " + std::to_string(count) + " exceeds the bytes left");
        return 0;
    }
    return count;
}

std::string Reader::bytes() {
    const std::uint64_t size = count_of();
    if (!ok())
        return {};
    std::string out(bytes_.substr(pos_, static_cast<std::size_t>(size)));
    pos_ += static_cast<std::size_t>(size);
    return out;
}

money::Amount Reader::amount() {
    const money::Int128 minor = int128();
    auto value = money::Amount::from_int(minor);
    if (!value) {
        fail("amount out of range");
        return money::Amount{};
    }
    return *value;
}

money::Currency Reader::currency() {
    money::Currency out;
    for (auto& c : out.code) {
        c = static_cast<char>(u8());
        if (ok() && (c < 'A' || c > 'Z'))
            fail("currency code is not three upper-case letters");
    }
    out.numeric = get<std::uint16_t>();
    out.exponent = u8();
    if (ok() && out.exponent > money::kExponentMax)
        fail("currency exponent " + std::to_string(out.exponent) + " exceeds the maximum");
    return out;
}

money::Rate Reader::rate() {
    money::CurrencyPair pair{currency(), money::Currency{}};
    pair.quote = currency();
    const money::Int128 mantissa = int128();
    if (ok()) {
        if (pair.base == pair.quote)
            fail("rate on a pair of one currency with itself");
        auto rate = money::Rate::from_mantissa(pair, mantissa);
        if (rate && ok())
            return *rate;
        if (!rate)
            fail("rate: " + rate.error().message());
    }
    // A placeholder: the caller sees !ok() and discards the value.
    return *money::Rate::from_mantissa(money::CurrencyPair{}, 1);
}

namespace {

void check_version(Reader& reader, std::uint8_t version) {
    if (!reader.ok())
        return;
    if (version < kVersionMin || version > kVersion) {
        reader.fail("version " + std::to_string(version) + " is not one of " +
                    std::to_string(kVersionMin) + ".." + std::to_string(kVersion));
        return;
    }
    reader.set_version(version);
}

template <typename T>
std::string encode_value(const T& value) {
    std::string out;
    Writer writer(out);
    writer.u8(kVersion);
    writer.put(value);
    return out;
}

template <typename T>
Result<T> decode_value(std::string_view bytes, std::string_view what) {
    Reader reader(bytes);
    const std::uint8_t version = reader.u8();
    check_version(reader, version);
    T value = reader.get<T>();
    if (reader.ok() && !reader.at_end())
        reader.fail(std::to_string(bytes.size() - reader.position()) + " trailing bytes");
    if (!reader.ok())
        return fail(reader.status(what));
    return value;
}

}  // namespace

std::string encode(const Command& command) {
    return encode_value(command);
}
std::string encode(const Event& event) {
    return encode_value(event);
}
Result<Command> decode_command(std::string_view bytes) {
    return decode_value<Command>(bytes, "command");
}
Result<Event> decode_event(std::string_view bytes) {
    return decode_value<Event>(bytes, "event");
}

std::string encode_batch(ledger::Timestamp now, std::span<const Command> commands) {
    std::string out;
    Writer writer(out);
    writer.u8(kVersion);
    writer.put(now);
    writer.uvarint(commands.size());
    for (const auto& command : commands)
        writer.put(command);
    return out;
}

Result<DecodedBatch> decode_batch(std::string_view bytes) {
    Reader reader(bytes);
    const std::uint8_t version = reader.u8();
    check_version(reader, version);
    DecodedBatch batch;
    batch.now = reader.get<ledger::Timestamp>();
    batch.commands = reader.get<std::vector<Command>>();
    if (reader.ok() && !reader.at_end())
        reader.fail(std::to_string(bytes.size() - reader.position()) + " trailing bytes");
    if (!reader.ok())
        return fail(reader.status("command batch"));
    return batch;
}

}  // namespace fxsettle::engine::codec
