// Internal to fxsettle::config: checks and parsers for the textual values of the config
// (ids, FIX comp ids, hosts, "host:port", "HH:MM", "YYYY-MM-DD", password hashes). Each
// returns the value or a Status whose message says what is wrong, without the key path
// (the caller adds it).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.h"
#include "engine/base/status.h"

namespace fxsettle::config::detail {

// An id: 1..`length_max` of [a-z0-9_-], starting with a letter or digit.
Status check_id(std::string_view text, std::size_t length_max);
// A FIX CompID: 1..64 of [A-Za-z0-9_.-].
Status check_comp_id(std::string_view text);
// A FIX Username: 1..64 printable ASCII characters without spaces.
Status check_username(std::string_view text);
// A host name (RFC 1123 labels), an IPv4 address or an IPv6 address without brackets.
Status check_host(std::string_view text);
// "host:port" or "[ipv6]:port"; port 0..65535 when `allow_port_zero`, else 1..65535.
Result<Endpoint> parse_endpoint(std::string_view text, bool allow_port_zero);
// "HH:MM", 00:00..23:59, as minutes after midnight.
Result<std::chrono::minutes> parse_time_of_day(std::string_view text);
// "YYYY-MM-DD", a real calendar date.
Result<std::chrono::year_month_day> parse_date(std::string_view text);
// "pbkdf2-sha256$<iterations>$<salt-hex>$<hash-hex>": iterations 1..2^31-1 without
// leading zeros, salt of 8..64 bytes and a 32-byte hash, in hex.
Status check_password_hash(std::string_view text);

// "09:30".
std::string format_time_of_day(std::chrono::minutes minutes);

}  // namespace fxsettle::config::detail
