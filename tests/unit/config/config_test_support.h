// Helpers shared by the config tests.
#pragma once

#include <cstdlib>
#include <ostream>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "config/config.h"

namespace fxsettle::config {

// gtest prints a Config (in a failed EXPECT_EQ) as its TOML form, so that a failure shows
// every field rather than bytes.
inline void PrintTo(const Config& config, std::ostream* os) {
    *os << "\n" << to_toml(config);
}

}  // namespace fxsettle::config

namespace fxsettle::config::testing {

inline constexpr std::string_view kSource = "test.toml";

// A small valid config with one entry of every list, for error tests to break.
inline std::string valid_config() {
    return R"([node]
name = "test-node"

[[currencies]]
code = "CNH"
exponent = 2

[[pairs]]
symbol = "USD/CNY"
tick = "0.0001"
min_qty = "100.00"

[[psps]]
id = "alpha"
name = "Alpha"
sender_comp_id = "ALPHA"
username = "alpha"
password_hash = "pbkdf2-sha256$1000$00112233445566778899aabbccddeeff$00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
spread_bps = 10
funding_mode = "prefunded"
credit_limits = { USD = "100.00" }
aggregate_cap = { amount = "1000.00", currency = "USD" }

[[cycles]]
currency = "CNY"
cutoffs = ["03:00", "08:00"]

[[venues]]
id = "venue-a"
host = "127.0.0.1"
port = 9881
sender_comp_id = "FXSETTLE"
target_comp_id = "VENUEA"

[[banks]]
id = "bank-a"
host = "localhost"
port = 9891
sender_comp_id = "FXSETTLE"
target_comp_id = "BANKA"
currencies = ["CNY", "USD"]
)";
}

// `text` with the first occurrence of `from` replaced by `to`; fails the test when `from`
// does not occur.
inline std::string replaced(std::string text, std::string_view from, std::string_view to) {
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << "the test's base config has no \"" << from << "\"";
    if (at != std::string::npos) {
        text.replace(at, from.size(), to);
    }
    return text;
}

// The 1-based line of the first occurrence of `needle` in `text`, or 0.
inline int line_of(std::string_view text, std::string_view needle) {
    const auto at = text.find(needle);
    if (at == std::string_view::npos) {
        return 0;
    }
    int line = 1;
    for (std::size_t i = 0; i < at; ++i) {
        line += text[i] == '\n' ? 1 : 0;
    }
    return line;
}

// "test.toml:<line of needle>:".
inline std::string at_line_of(std::string_view text, std::string_view needle) {
    return std::string(kSource) + ":" + std::to_string(line_of(text, needle)) + ":";
}

// The failure message of loading `text`; fails the test when it loads.
inline std::string load_error(const std::string& text) {
    auto config = load_config_string(text, kSource);
    EXPECT_FALSE(config.has_value()) << "expected the config to be rejected:\n" << text;
    if (config.has_value()) {
        return {};
    }
    EXPECT_EQ(config.error().code(), StatusCode::kInvalidArgument) << config.error().message();
    return config.error().message();
}

// The directory of config/default.toml and the sample.
inline std::string config_source_dir() {
    if (const char* root = std::getenv("FXSETTLE_SOURCE_DIR"); root != nullptr && *root != 0) {
        return std::string(root) + "/config";
    }
    return FXSETTLE_CONFIG_SOURCE_DIR;
}

}  // namespace fxsettle::config::testing
