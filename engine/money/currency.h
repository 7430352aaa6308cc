// Currencies: the ISO 4217 table of active currencies, compiled in from
// config/iso4217.csv, plus configured non-ISO codes (e.g. CNH, offshore renminbi).
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"

namespace fxsettle::money {

// The largest minor-unit exponent fxsettle supports (ISO 4217's largest is 4: CLF, UYW).
inline constexpr int kExponentMax = 6;

// A currency as a value: three upper-case letters, its ISO numeric code (0 for a
// configured non-ISO code) and its minor-unit exponent (JPY 0, USD 2, KWD 3).
// Two currencies are equal when all three agree.
struct Currency {
    std::array<char, 3> code{};
    std::uint16_t numeric = 0;
    std::uint8_t exponent = 0;

    std::string_view code_view() const noexcept { return {code.data(), code.size()}; }
    std::string to_string() const { return std::string(code_view()); }
    bool is_iso() const noexcept { return numeric != 0; }
    friend bool operator==(const Currency&, const Currency&) = default;
    // Orders by code (then numeric, exponent): a stable order for reports.
    friend auto operator<=>(const Currency&, const Currency&) = default;
};

// A set of currencies with lookups by alphabetic and numeric code.
class CurrencyTable {
  public:
    // The compiled-in ISO 4217 active currencies. The returned reference lives for the
    // whole program.
    static const CurrencyTable& iso();

    // A copy of the ISO table to which configured non-ISO codes can be added.
    CurrencyTable();
    // A table with no currencies at all, for callers (and tests) that want to list every
    // currency they accept themselves.
    static CurrencyTable empty_table();

    // The currency with this alphabetic code, or nullopt. Codes are case-sensitive:
    // "usd" is not USD.
    std::optional<Currency> find(std::string_view code) const noexcept;
    // The currency with this ISO numeric code (e.g. 840 for USD), or nullopt.
    std::optional<Currency> find_numeric(std::uint16_t numeric) const noexcept;
    // Like find(), but a failure says "unknown currency 'XYZ'" (kNotFound), or names
    // what is malformed about the code (kInvalidArgument).
    Result<Currency> lookup(std::string_view code) const;

    // Adds a configured non-ISO currency (numeric 0). Fails (kInvalidArgument) when the
    // code is not three upper-case letters, the exponent exceeds kExponentMax or the
    // numeric code is not 0 (ISO codes come only from the compiled-in table), and
    // (kAlreadyExists) when the code is taken with a different exponent. Adding the
    // same currency twice is OK; so is adding a code already present with the same
    // exponent (e.g. an ISO code listed in config), which keeps the existing entry.
    Status add(const Currency& currency);

    // All currencies, ordered by code. Valid until the next add().
    std::span<const Currency> all() const noexcept { return currencies_; }

  private:
    struct EmptyTag {};
    explicit CurrencyTable(EmptyTag) {}

    std::vector<Currency> currencies_;  // sorted by code
};

}  // namespace fxsettle::money
