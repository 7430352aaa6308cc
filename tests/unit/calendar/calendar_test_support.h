// Helpers shared by the calendar tests.
#pragma once

#include <chrono>
#include <cstdlib>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "config/config.h"
#include "engine/calendar/calendar.h"

namespace fxsettle::engine::calendar::testing {

// 2025-07-04 as a Date.
inline Date day(int y, unsigned m, unsigned d) {
    return std::chrono::sys_days{std::chrono::year{y} / std::chrono::month{m} /
                                 std::chrono::day{d}};
}

// A Result<Date> as text, so that a failed EXPECT_EQ shows the date or the error:
// "2025-07-07" or "error(out_of_range): ...".
inline std::string show(const Result<Date>& result) {
    if (result) {
        return format_date(*result);
    }
    return "error(" + std::string(status_code_name(result.error().code())) +
           "): " + result.error().message();
}
inline std::string show(const Result<bool>& result) {
    if (result) {
        return *result ? "business day" : "closed";
    }
    return "error(" + std::string(status_code_name(result.error().code())) +
           "): " + result.error().message();
}

inline money::Currency currency(const config::Config& config, std::string_view code) {
    auto found = config.currency_table.lookup(code);
    EXPECT_TRUE(found.has_value()) << code;
    return found.value_or(money::Currency{});
}

inline money::CurrencyPair pair(const config::Config& config, std::string_view symbol) {
    auto parsed = money::parse_pair(symbol, config.currency_table);
    EXPECT_TRUE(parsed.has_value()) << symbol;
    return parsed.value_or(money::CurrencyPair{});
}

// Adds a pair to a config as a test needs it (tick and min_qty do not matter here).
inline void add_pair(config::Config& config, std::string_view symbol,
                     std::optional<std::uint32_t> spot_days = std::nullopt,
                     bool skip_usd_holidays = true) {
    const money::CurrencyPair p = pair(config, symbol);
    config::PairConfig pc{p, money::Rate::parse(p, "0.0001").value(), money::Amount::from_minor(1),
                          spot_days.value_or(config::conventional_spot_days(p)), skip_usd_holidays};
    config.pairs.push_back(pc);
}

// The embedded default config with the test pairs added.
inline config::Config test_config() {
    auto loaded = config::load_default_config();
    if (!loaded.has_value()) {
        ADD_FAILURE() << loaded.error().message();
        return {};
    }
    config::Config config = std::move(*loaded);
    add_pair(config, "EUR/USD");
    add_pair(config, "USD/JPY");
    add_pair(config, "USD/CAD");  // conventional: T+1
    add_pair(config, "GBP/USD");
    add_pair(config, "CNH/CNY");
    add_pair(config, "EUR/GBP", std::nullopt, false);  // a cross settled on US holidays
    add_pair(config, "EUR/JPY");
    return config;
}

// The directory of config/calendars on disk (FXSETTLE_SOURCE_DIR, set by ctest, wins).
inline std::string calendar_source_dir() {
    if (const char* root = std::getenv("FXSETTLE_SOURCE_DIR"); root != nullptr && *root != 0) {
        return std::string(root) + "/config/calendars";
    }
    return FXSETTLE_CALENDAR_SOURCE_DIR;
}

}  // namespace fxsettle::engine::calendar::testing
