// The engine's binary encoding of commands and events: compact, versioned,
// little-endian. One event is one outbox row; a batch of commands and its time is one
// "cmdlog/" state row (engine.h), so the encoding is an on-disk format: field order
// follows the structs' declaration order (fields.h, generated), new alternatives are
// appended to the variants, and kVersion changes when an existing layout changes.
//
// Versions. Encoding always writes kVersion; decoding reads every version from
// kVersionMin to kVersion, so rows written before an upgrade (unsent outbox rows, the
// command log that recover() replays) stay readable. A struct whose layout changed keeps
// its older field list in FieldsV<n> below (hand-written, never regenerated); new fields
// are appended, so an older list is a prefix of the current one (static_assert'ed), and
// the decoder reads the older fields and leaves the newer ones at their defaults.
//   1: the first layout.
//   2: OrderRejected, OrderCancelled and QuoteRejected gained `pair`, OrderRejected and
//      OrderCancelled `side`, OrderReplaced `side`, OrderRejected `order_id` and
//      `order_state` (event_types.h), so the gateway builds Symbol and Side, and the
//      OrderID and OrdStatus of an OrderCancelReject, from the event, not from its memory
//      of the request, which a restart loses. Commands and command batches are the same in
//      1 and 2.
//   3: OrderFilled gained `avg_price` (the gateway's AvgPx on every fill). Everything else
//      is the same in 2 and 3.
//
// Layout: one version byte, the variant's alternative index (LEB128), then each field:
// unsigned integers and enums as LEB128, signed ones and amounts as zig-zag LEB128
// (128-bit for amounts and rate mantissas), bools as one byte, strings and vectors as a
// LEB128 count then the items, optionals as a presence byte, currencies as their three
// letters, ISO numeric (LEB128) and exponent, rates as their pair and mantissa, times as
// nanoseconds and dates as days since the Unix epoch.
//
// Decoding validates everything it reads (enum values, currencies, rates, amount range,
// lengths against what is left) and the absence of trailing bytes; a failure is a
// kCorruption Status naming the field's position and the problem.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

#include "engine/base/status.h"
#include "engine/core/commands.h"
#include "engine/core/events.h"
#include "engine/core/fields.h"

namespace fxsettle::engine::codec {

inline constexpr std::uint8_t kVersion = 3;
inline constexpr std::uint8_t kVersionMin = 1;  // the oldest version decoding reads
// A string or vector longer than this is refused when decoding (corrupt length).
inline constexpr std::uint64_t kCountMax = std::uint64_t{1} << 28;

// Whether a decoded enum value is one the enum names (codec.cpp).
bool valid_enum(book::Side value) noexcept;
bool valid_enum(book::OrderType value) noexcept;
bool valid_enum(book::TimeInForce value) noexcept;
bool valid_enum(book::CancelReason value) noexcept;
bool valid_enum(calendar::Tenor value) noexcept;
bool valid_enum(calendar::Roll value) noexcept;
bool valid_enum(config::FundingMode value) noexcept;
bool valid_enum(Reason value) noexcept;
bool valid_enum(RequestKind value) noexcept;
bool valid_enum(OrderState value) noexcept;
bool valid_enum(SettlementCode value) noexcept;
bool valid_enum(ExposureReason value) noexcept;
bool valid_enum(HoldBackReason value) noexcept;
bool valid_enum(ObligationDirection value) noexcept;
bool valid_enum(money::RoundingMode value) noexcept;

template <typename T>
struct IsOptional : std::false_type {};
template <typename T>
struct IsOptional<std::optional<T>> : std::true_type {};
template <typename T>
struct IsVector : std::false_type {};
template <typename T>
struct IsVector<std::vector<T>> : std::true_type {};
template <typename T>
struct IsMap : std::false_type {};
template <typename K, typename V>
struct IsMap<std::map<K, V>> : std::true_type {};
template <typename T>
struct IsVariant : std::false_type {};
template <typename... T>
struct IsVariant<std::variant<T...>> : std::true_type {};
template <typename T>
concept HasFields = requires {
    Fields<T>::list;
};

// The version-1 field lists of the structs whose layout changed in version 2 (see the
// top of this file). Frozen: they describe rows already on disk.
template <typename T>
struct FieldsV1;
template <>
struct FieldsV1<OrderRejected> {
    static constexpr auto list = std::make_tuple(
        &OrderRejected::psp, &OrderRejected::client_id, &OrderRejected::orig_client_id,
        &OrderRejected::request, &OrderRejected::reason, &OrderRejected::text);
};
template <>
struct FieldsV1<OrderCancelled> {
    static constexpr auto list = std::make_tuple(
        &OrderCancelled::psp, &OrderCancelled::client_id, &OrderCancelled::orig_client_id,
        &OrderCancelled::order_id, &OrderCancelled::reason, &OrderCancelled::cancelled,
        &OrderCancelled::cum_quantity, &OrderCancelled::released);
};
template <>
struct FieldsV1<OrderReplaced> {
    static constexpr auto list = std::make_tuple(
        &OrderReplaced::psp, &OrderReplaced::client_id, &OrderReplaced::orig_client_id,
        &OrderReplaced::order_id, &OrderReplaced::price, &OrderReplaced::quantity,
        &OrderReplaced::leaves, &OrderReplaced::priority_kept, &OrderReplaced::held);
};
template <>
struct FieldsV1<QuoteRejected> {
    static constexpr auto list = std::make_tuple(&QuoteRejected::psp, &QuoteRejected::client_id,
                                                 &QuoteRejected::reason, &QuoteRejected::text);
};
template <typename T>
concept HasFieldsV1 = requires {
    FieldsV1<T>::list;
};

// The version-1 and version-2 field lists of the structs whose layout changed in version 3.
// Frozen, as FieldsV1.
template <typename T>
struct FieldsV2;
template <>
struct FieldsV2<OrderFilled> {
    static constexpr auto list = std::make_tuple(
        &OrderFilled::psp, &OrderFilled::client_id, &OrderFilled::order_id, &OrderFilled::trade_id,
        &OrderFilled::pair, &OrderFilled::side, &OrderFilled::price, &OrderFilled::quantity,
        &OrderFilled::quote_amount, &OrderFilled::leaves, &OrderFilled::cum_quantity,
        &OrderFilled::maker, &OrderFilled::value_date);
};
template <typename T>
concept HasFieldsV2 = requires {
    FieldsV2<T>::list;
};

// Appends the encoding of values to a string.
class Writer {
  public:
    explicit Writer(std::string& out) : out_(out) {}

    void u8(std::uint8_t value) { out_.push_back(static_cast<char>(value)); }
    void uvarint(std::uint64_t value) {
        while (value >= 0x80) {
            u8(static_cast<std::uint8_t>(value | 0x80));
            value >>= 7;
        }
        u8(static_cast<std::uint8_t>(value));
    }
    void svarint(std::int64_t value) {
        uvarint((static_cast<std::uint64_t>(value) << 1) ^ static_cast<std::uint64_t>(value >> 63));
    }
    void int128(const money::Int128& value);  // zig-zag LEB128
    void bytes(std::string_view text) {
        uvarint(text.size());
        out_.append(text);
    }

    template <typename T>
    void put(const T& value) {
        if constexpr (std::is_same_v<T, bool>) {
            u8(value ? 1 : 0);
        } else if constexpr (std::is_enum_v<T>) {
            uvarint(static_cast<std::uint64_t>(value));
        } else if constexpr (std::is_integral_v<T> && std::is_unsigned_v<T>) {
            uvarint(value);
        } else if constexpr (std::is_integral_v<T>) {
            svarint(value);
        } else if constexpr (std::is_same_v<T, std::string>) {
            bytes(value);
        } else if constexpr (std::is_same_v<T, money::Amount>) {
            int128(value.minor());
        } else if constexpr (std::is_same_v<T, money::Currency>) {
            out_.append(value.code.data(), value.code.size());
            uvarint(value.numeric);
            u8(value.exponent);
        } else if constexpr (std::is_same_v<T, money::CurrencyPair>) {
            put(value.base);
            put(value.quote);
        } else if constexpr (std::is_same_v<T, money::Rate>) {
            put(value.pair());
            int128(value.mantissa());
        } else if constexpr (std::is_same_v<T, money::Money>) {
            put(value.amount);
            put(value.currency);
        } else if constexpr (std::is_same_v<T, ledger::Timestamp>) {
            svarint(value.time_since_epoch().count());
        } else if constexpr (std::is_same_v<T, ledger::Date>) {
            svarint(value.time_since_epoch().count());
        } else if constexpr (std::is_same_v<T, calendar::ValueDateRequest>) {
            put(value.tenor);
            put(value.date);
            put(value.roll);
        } else if constexpr (IsOptional<T>::value) {
            u8(value.has_value() ? 1 : 0);
            if (value)
                put(*value);
        } else if constexpr (IsVector<T>::value) {
            uvarint(value.size());
            for (const auto& item : value)
                put(item);
        } else if constexpr (IsMap<T>::value) {
            uvarint(value.size());
            for (const auto& [key, item] : value) {
                put(key);
                put(item);
            }
        } else if constexpr (IsVariant<T>::value) {
            uvarint(value.index());
            std::visit([this](const auto& alternative) { put(alternative); }, value);
        } else {
            static_assert(HasFields<T>, "no encoding for this type");
            std::apply([&](auto... member) { (put(value.*member), ...); }, Fields<T>::list);
        }
    }

  private:
    std::string& out_;
};

// Reads values back. The first problem is kept (and later reads return placeholders);
// check status() once at the end. Structs are read in the layout of `version` (kVersion
// unless set_version() names an older one).
class Reader {
  public:
    explicit Reader(std::string_view bytes) : bytes_(bytes) {}

    void set_version(std::uint8_t version) noexcept { version_ = version; }

    bool ok() const noexcept { return error_.empty(); }
    bool at_end() const noexcept { return pos_ == bytes_.size(); }
    std::size_t position() const noexcept { return pos_; }
    void fail(std::string_view what);
    Status status(std::string_view what) const;  // kCorruption "<what>: <problem>"

    std::uint8_t u8();
    std::uint64_t uvarint();
    std::int64_t svarint();
    money::Int128 int128();
    std::string bytes();

    template <typename T>
    T get() {
        if constexpr (std::is_same_v<T, bool>) {
            const std::uint8_t v = u8();
            if (v > 1)
                fail("a bool is neither 0 nor 1");
            return v == 1;
        } else if constexpr (std::is_enum_v<T>) {
            const std::uint64_t v = uvarint();
            using U = std::underlying_type_t<T>;
            const T value = static_cast<T>(static_cast<U>(v));
            if (v > std::numeric_limits<U>::max() || !valid_enum(value)) {
                fail("enum value " + std::to_string(v) + " is not known");
                return T{};
            }
            return value;
        } else if constexpr (std::is_integral_v<T> && std::is_unsigned_v<T>) {
            const std::uint64_t v = uvarint();
            if (v > std::numeric_limits<T>::max()) {
                fail("integer " + std::to_string(v) + " out of range");
                return 0;
            }
            return static_cast<T>(v);
        } else if constexpr (std::is_integral_v<T>) {
            const std::int64_t v = svarint();
            if (v > std::numeric_limits<T>::max() || v < std::numeric_limits<T>::min()) {
                fail("integer " + std::to_string(v) + " out of range");
                return 0;
            }
            return static_cast<T>(v);
        } else if constexpr (std::is_same_v<T, std::string>) {
            return bytes();
        } else if constexpr (std::is_same_v<T, money::Amount>) {
            return amount();
        } else if constexpr (std::is_same_v<T, money::Currency>) {
            return currency();
        } else if constexpr (std::is_same_v<T, money::CurrencyPair>) {
            auto base = currency();
            auto quote = currency();
            return money::CurrencyPair{base, quote};
        } else if constexpr (std::is_same_v<T, money::Rate>) {
            return rate();
        } else if constexpr (std::is_same_v<T, money::Money>) {
            auto value = amount();
            auto unit = currency();
            return money::Money{value, unit};
        } else if constexpr (std::is_same_v<T, ledger::Timestamp>) {
            return ledger::Timestamp(std::chrono::nanoseconds(svarint()));
        } else if constexpr (std::is_same_v<T, ledger::Date>) {
            const std::int64_t days = svarint();
            if (days < -(1 << 24) || days > (1 << 24)) {
                fail("date out of range");
                return ledger::Date{};
            }
            return ledger::Date(std::chrono::days(days));
        } else if constexpr (std::is_same_v<T, calendar::ValueDateRequest>) {
            calendar::ValueDateRequest request;
            request.tenor = get<calendar::Tenor>();
            request.date = get<std::optional<ledger::Date>>();
            request.roll = get<calendar::Roll>();
            return request;
        } else if constexpr (IsOptional<T>::value) {
            const bool present = get<bool>();
            if (!present || !ok())
                return T{};
            return T{get<typename T::value_type>()};
        } else if constexpr (IsVector<T>::value) {
            const std::uint64_t count = count_of();
            T out;
            for (std::uint64_t i = 0; i < count && ok(); ++i)
                out.push_back(get<typename T::value_type>());
            return out;
        } else if constexpr (IsMap<T>::value) {
            const std::uint64_t count = count_of();
            T out;
            for (std::uint64_t i = 0; i < count && ok(); ++i) {
                auto key = get<typename T::key_type>();
                auto item = get<typename T::mapped_type>();
                if (ok() && !out.emplace(std::move(key), std::move(item)).second)
                    fail("a map key repeats");
            }
            return out;
        } else if constexpr (IsVariant<T>::value) {
            const std::uint64_t index = uvarint();
            if (index >= std::variant_size_v<T>) {
                fail("alternative " + std::to_string(index) + " is not known");
                index_ = 0;
            } else {
                index_ = static_cast<std::size_t>(index);
            }
            return get_alternative<T>(std::make_index_sequence<std::variant_size_v<T>>{});
        } else {
            static_assert(HasFields<T>, "no decoding for this type");
            constexpr auto kAll =
                std::make_index_sequence<std::tuple_size_v<decltype(Fields<T>::list)>>{};
            static_assert(!(HasFieldsV1<T> && HasFieldsV2<T>),
                          "a struct that changed twice needs its version-1 list read for 1 "
                          "and its version-2 list for 2");
            if constexpr (HasFieldsV1<T>) {
                if (version_ == 1)
                    return get_old<T, FieldsV1<T>>(kAll);
            }
            if constexpr (HasFieldsV2<T>) {
                if (version_ <= 2)
                    return get_old<T, FieldsV2<T>>(kAll);
            }
            // Braced initialisation evaluates left to right: fields in declaration order.
            return std::apply(
                [&](auto... member) {
                    return T{get<std::remove_cvref_t<decltype(std::declval<T&>().*member)>>()...};
                },
                Fields<T>::list);
        }
    }

  private:
    // Decodes T in an older layout: the fields Old::list names (FieldsV1<T> or
    // FieldsV2<T>), which are the first of Fields<T>'s (the newer fields were appended),
    // then the newer fields' defaults.
    template <typename T, std::size_t I>
    using FieldType =
        std::remove_cvref_t<decltype(std::declval<T&>().*std::get<I>(Fields<T>::list))>;
    template <typename T, typename Old, std::size_t... I>
    static constexpr bool old_is_prefix(std::index_sequence<I...>) {
        return ((std::get<I>(Old::list) == std::get<I>(Fields<T>::list)) && ...);
    }
    template <typename T, typename Old, std::size_t... I>
    T get_old(std::index_sequence<I...>) {
        constexpr std::size_t kOld = std::tuple_size_v<decltype(Old::list)>;
        static_assert(old_is_prefix<T, Old>(std::make_index_sequence<kOld>{}),
                      "an older layout must be a prefix of the current one");
        // Braced initialisation evaluates left to right: fields in declaration order.
        return T{[&]() -> FieldType<T, I> {
            if constexpr (I < kOld)
                return get<FieldType<T, I>>();
            else
                return FieldType<T, I>{};
        }()...};
    }

    // Decodes the alternative index_ names (a fold over the alternatives: no table of
    // member pointers, no default-constructed variant).
    template <typename T, std::size_t... I>
    T get_alternative(std::index_sequence<I...>) {
        std::optional<T> out;
        (
            [&] {
                if (index_ == I) {
                    using A = std::variant_alternative_t<I, T>;
                    out.emplace(std::in_place_type<A>, get<A>());
                }
            }(),
            ...);
        return std::move(*out);
    }

    std::uint64_t count_of();
    money::Amount amount();
    money::Currency currency();
    money::Rate rate();

    std::string_view bytes_;
    std::size_t pos_ = 0;
    std::size_t index_ = 0;
    std::uint8_t version_ = kVersion;
    std::string error_;
};

// Encodes with the version byte (kVersion) first.
std::string encode(const Command& command);
std::string encode(const Event& event);
// Decodes one value of any version kVersionMin..kVersion; kCorruption naming the problem
// (version, truncation, bad field, trailing bytes).
Result<Command> decode_command(std::string_view bytes);
Result<Event> decode_event(std::string_view bytes);

// A batch of commands and the time it was applied at (the engine's "cmdlog/" rows).
std::string encode_batch(ledger::Timestamp now, std::span<const Command> commands);
struct DecodedBatch {
    ledger::Timestamp now{};
    std::vector<Command> commands;
};
Result<DecodedBatch> decode_batch(std::string_view bytes);

}  // namespace fxsettle::engine::codec
