#include "engine/money/currency.h"

#include <algorithm>

#include "engine/money/detail.h"
#include "engine/money/iso4217_table.generated.h"

namespace fxsettle::money {
namespace {

bool is_upper_letter(char c) noexcept {
    return c >= 'A' && c <= 'Z';
}

bool is_well_formed_code(std::string_view code) noexcept {
    return code.size() == 3 && std::all_of(code.begin(), code.end(), is_upper_letter);
}

// Why a code is not three upper-case letters, or an empty string when it is.
std::string code_problem(std::string_view code) {
    if (code.size() != 3) {
        return "currency code " + detail::quote(code) + " has " + std::to_string(code.size()) +
               " characters; a code is three upper-case letters (e.g. USD)";
    }
    if (!is_well_formed_code(code)) {
        return "currency code " + detail::quote(code) +
               " is not three upper-case letters A-Z (codes are case-sensitive: USD, not usd)";
    }
    return {};
}

bool code_less(const Currency& currency, std::string_view code) noexcept {
    return currency.code_view() < code;
}

}  // namespace

CurrencyTable::CurrencyTable() : currencies_(iso().currencies_) {}

CurrencyTable CurrencyTable::empty_table() {
    return CurrencyTable(EmptyTag{});
}

const CurrencyTable& CurrencyTable::iso() {
    static const CurrencyTable table = [] {
        CurrencyTable built{EmptyTag{}};
        built.currencies_.reserve(std::size(generated::kIso4217Rows));
        for (const auto& row : generated::kIso4217Rows) {
            // The generator validated every row; these assertions keep the C++ side
            // honest should the generated header ever be produced some other way.
            FXSETTLE_ASSERT(is_well_formed_code(row.code), "malformed ISO 4217 code");
            FXSETTLE_ASSERT(row.numeric > 0 && row.numeric <= 999, "bad ISO 4217 numeric");
            FXSETTLE_ASSERT(row.exponent <= kExponentMax, "bad ISO 4217 exponent");
            Currency currency;
            std::copy(row.code.begin(), row.code.end(), currency.code.begin());
            currency.numeric = row.numeric;
            currency.exponent = row.exponent;
            built.currencies_.push_back(currency);
        }
        std::sort(built.currencies_.begin(), built.currencies_.end());
        for (std::size_t i = 1; i < built.currencies_.size(); ++i) {
            FXSETTLE_ASSERT(built.currencies_[i - 1].code != built.currencies_[i].code,
                            "duplicate ISO 4217 code");
        }
        return built;
    }();
    return table;
}

std::optional<Currency> CurrencyTable::find(std::string_view code) const noexcept {
    const auto it = std::lower_bound(currencies_.begin(), currencies_.end(), code, code_less);
    if (it == currencies_.end() || it->code_view() != code) {
        return std::nullopt;
    }
    return *it;
}

std::optional<Currency> CurrencyTable::find_numeric(std::uint16_t numeric) const noexcept {
    // Configured codes all carry numeric 0, which therefore names no currency.
    if (numeric == 0) {
        return std::nullopt;
    }
    // A linear scan over ~170 entries: numeric lookups are rare (FIX and ISO 20022 carry
    // alphabetic codes), so a second index is not worth keeping in step with add().
    const auto it = std::find_if(currencies_.begin(), currencies_.end(),
                                 [numeric](const Currency& c) { return c.numeric == numeric; });
    if (it == currencies_.end()) {
        return std::nullopt;
    }
    return *it;
}

Result<Currency> CurrencyTable::lookup(std::string_view code) const {
    if (auto problem = code_problem(code); !problem.empty()) {
        return fail(StatusCode::kInvalidArgument, std::move(problem));
    }
    if (auto found = find(code)) {
        return *found;
    }
    return fail(StatusCode::kNotFound, "unknown currency " + detail::quote(code));
}

Status CurrencyTable::add(const Currency& currency) {
    const std::string_view code = currency.code_view();
    if (auto problem = code_problem(code); !problem.empty()) {
        return {StatusCode::kInvalidArgument, std::move(problem)};
    }
    if (currency.exponent > kExponentMax) {
        return {StatusCode::kInvalidArgument, "currency " + std::string(code) +
                                                  " has minor-unit exponent " +
                                                  std::to_string(currency.exponent) + "; at most " +
                                                  std::to_string(kExponentMax) + " is supported"};
    }
    if (currency.numeric != 0) {
        return {StatusCode::kInvalidArgument,
                "currency " + std::string(code) + " has numeric code " +
                    std::to_string(currency.numeric) +
                    "; configured currencies carry numeric 0 (ISO numeric codes come only "
                    "from the compiled-in ISO 4217 table)"};
    }
    const auto it = std::lower_bound(currencies_.begin(), currencies_.end(), code, code_less);
    if (it != currencies_.end() && it->code_view() == code) {
        if (it->exponent == currency.exponent) {
            return Status::ok();
        }
        return {StatusCode::kAlreadyExists,
                "currency " + std::string(code) + " already exists with exponent " +
                    std::to_string(it->exponent) + "; cannot add it with exponent " +
                    std::to_string(currency.exponent)};
    }
    currencies_.insert(it, currency);
    return Status::ok();
}

}  // namespace fxsettle::money
