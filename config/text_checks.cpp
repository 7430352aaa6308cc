#include "config/text_checks.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <charconv>
#include <string>

#include <fmt/format.h>

namespace fxsettle::config::detail {
namespace {

bool is_digit(char c) noexcept {
    return c >= '0' && c <= '9';
}
bool is_lower(char c) noexcept {
    return c >= 'a' && c <= 'z';
}
bool is_alpha(char c) noexcept {
    return is_lower(c) || (c >= 'A' && c <= 'Z');
}
bool is_hex(char c) noexcept {
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

Status invalid(std::string message) {
    return {StatusCode::kInvalidArgument, std::move(message)};
}

// Parses all of `text` as a decimal number without sign or leading zeros.
std::optional<std::uint64_t> parse_decimal(std::string_view text) {
    if (text.empty() || text.size() > 19 || !std::all_of(text.begin(), text.end(), is_digit) ||
        (text.size() > 1 && text[0] == '0')) {
        return std::nullopt;
    }
    std::uint64_t value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    return value;
}

bool is_ipv4(std::string_view text) {
    const std::string copy(text);
    in_addr addr{};
    return inet_pton(AF_INET, copy.c_str(), &addr) == 1;
}

bool is_ipv6(std::string_view text) {
    const std::string copy(text);
    in6_addr addr{};
    return inet_pton(AF_INET6, copy.c_str(), &addr) == 1;
}

}  // namespace

Status check_id(std::string_view text, std::size_t length_max) {
    const bool ok =
        !text.empty() && text.size() <= length_max && (is_lower(text[0]) || is_digit(text[0])) &&
        std::all_of(text.begin(), text.end(),
                    [](char c) { return is_lower(c) || is_digit(c) || c == '_' || c == '-'; });
    if (!ok) {
        return invalid(fmt::format(
            "\"{}\" is not a valid id: use 1 to {} of a-z, 0-9, '_' and '-', starting with a "
            "letter or digit",
            text, length_max));
    }
    return {};
}

Status check_comp_id(std::string_view text) {
    const bool ok =
        !text.empty() && text.size() <= 64 && std::all_of(text.begin(), text.end(), [](char c) {
            return is_alpha(c) || is_digit(c) || c == '_' || c == '.' || c == '-';
        });
    if (!ok) {
        return invalid(fmt::format(
            "\"{}\" is not a valid FIX CompID: use 1 to 64 of A-Z, a-z, 0-9, '_', '.' and '-'",
            text));
    }
    return {};
}

Status check_username(std::string_view text) {
    const bool ok =
        !text.empty() && text.size() <= 64 &&
        std::all_of(text.begin(), text.end(), [](char c) { return c > ' ' && c < 127; });
    if (!ok) {
        return invalid(fmt::format(
            "\"{}\" is not a valid username: use 1 to 64 printable ASCII characters, no spaces",
            text));
    }
    return {};
}

Status check_host(std::string_view text) {
    if (text.empty()) {
        return invalid("host must not be empty");
    }
    if (text.find(':') != std::string_view::npos) {
        if (is_ipv6(text)) {
            return {};
        }
        return invalid(fmt::format("\"{}\" is not a valid IPv6 address", text));
    }
    const bool dotted_digits =
        std::all_of(text.begin(), text.end(), [](char c) { return is_digit(c) || c == '.'; });
    if (dotted_digits) {
        if (is_ipv4(text)) {
            return {};
        }
        return invalid(fmt::format("\"{}\" is not a valid IPv4 address", text));
    }
    // A host name: dot-separated labels of letters, digits and '-', each 1..63 long and
    // neither starting nor ending with '-'; 253 characters in all.
    bool ok = text.size() <= 253;
    std::size_t begin = 0;
    while (ok && begin <= text.size()) {
        std::size_t end = text.find('.', begin);
        if (end == std::string_view::npos) {
            end = text.size();
        }
        const std::string_view label = text.substr(begin, end - begin);
        ok = !label.empty() && label.size() <= 63 && label.front() != '-' && label.back() != '-' &&
             std::all_of(label.begin(), label.end(),
                         [](char c) { return is_alpha(c) || is_digit(c) || c == '-'; });
        begin = end + 1;
    }
    if (!ok) {
        return invalid(fmt::format("\"{}\" is not a valid host name or IP address", text));
    }
    return {};
}

Result<Endpoint> parse_endpoint(std::string_view text, bool allow_port_zero) {
    const auto bad = [&](std::string_view why) {
        return fail(StatusCode::kInvalidArgument,
                    fmt::format("\"{}\" is not a valid \"host:port\" address: {}", text, why));
    };
    Endpoint endpoint;
    std::string_view port_text;
    if (!text.empty() && text.front() == '[') {
        const std::size_t close = text.find(']');
        if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':') {
            return bad("write an IPv6 address as [address]:port");
        }
        endpoint.host = std::string(text.substr(1, close - 1));
        if (!is_ipv6(endpoint.host)) {
            return bad(fmt::format("\"{}\" is not a valid IPv6 address", endpoint.host));
        }
        port_text = text.substr(close + 2);
    } else {
        const std::size_t colon = text.rfind(':');
        if (colon == std::string_view::npos) {
            return bad("the port is missing");
        }
        const std::string_view host = text.substr(0, colon);
        if (host.find(':') != std::string_view::npos) {
            return bad("write an IPv6 address as [address]:port");
        }
        if (Status status = check_host(host); !status) {
            return bad(status.message());
        }
        endpoint.host = std::string(host);
        port_text = text.substr(colon + 1);
    }
    const auto port = parse_decimal(port_text);
    const std::uint64_t port_min = allow_port_zero ? 0 : 1;
    if (!port || *port < port_min || *port > 65535) {
        return bad(fmt::format("port \"{}\" is not a number in {}..65535", port_text, port_min));
    }
    endpoint.port = static_cast<std::uint16_t>(*port);
    return endpoint;
}

Result<std::chrono::minutes> parse_time_of_day(std::string_view text) {
    const bool shape = text.size() == 5 && is_digit(text[0]) && is_digit(text[1]) &&
                       text[2] == ':' && is_digit(text[3]) && is_digit(text[4]);
    const int hours = shape ? (text[0] - '0') * 10 + (text[1] - '0') : 0;
    const int minutes = shape ? (text[3] - '0') * 10 + (text[4] - '0') : 0;
    if (!shape || hours > 23 || minutes > 59) {
        return fail(StatusCode::kInvalidArgument,
                    fmt::format("\"{}\" is not a time of day \"HH:MM\" (00:00 to 23:59)", text));
    }
    return std::chrono::minutes(hours * 60 + minutes);
}

Result<std::chrono::year_month_day> parse_date(std::string_view text) {
    const bool shape = text.size() == 10 && text[4] == '-' && text[7] == '-' &&
                       std::all_of(text.begin(), text.begin() + 4, is_digit) && is_digit(text[5]) &&
                       is_digit(text[6]) && is_digit(text[8]) && is_digit(text[9]);
    if (shape) {
        int year = 0;
        unsigned month = 0;
        unsigned day = 0;
        std::from_chars(text.data(), text.data() + 4, year);
        std::from_chars(text.data() + 5, text.data() + 7, month);
        std::from_chars(text.data() + 8, text.data() + 10, day);
        const std::chrono::year_month_day date{std::chrono::year(year), std::chrono::month(month),
                                               std::chrono::day(day)};
        if (date.ok()) {
            return date;
        }
    }
    return fail(StatusCode::kInvalidArgument,
                fmt::format("\"{}\" is not a calendar date \"YYYY-MM-DD\"", text));
}

Status check_password_hash(std::string_view text) {
    const auto bad = [&](std::string_view why) {
        return invalid(fmt::format(
            "not a password hash \"pbkdf2-sha256$<iterations>$<salt-hex>$<hash-hex>\": {}", why));
    };
    constexpr std::string_view kScheme = "pbkdf2-sha256$";
    if (text.substr(0, kScheme.size()) != kScheme) {
        return bad("it must start with \"pbkdf2-sha256$\"");
    }
    std::string_view rest = text.substr(kScheme.size());
    const std::size_t first = rest.find('$');
    const std::size_t second = first == std::string_view::npos ? first : rest.find('$', first + 1);
    if (second == std::string_view::npos || rest.find('$', second + 1) != std::string_view::npos) {
        return bad("want 4 fields separated by '$'");
    }
    const std::string_view iterations = rest.substr(0, first);
    const std::string_view salt = rest.substr(first + 1, second - first - 1);
    const std::string_view hash = rest.substr(second + 1);
    const auto count = parse_decimal(iterations);
    if (!count || *count == 0 || *count > 0x7fffffffU) {
        return bad(fmt::format("iterations \"{}\" is not a number in 1..2147483647", iterations));
    }
    if (salt.size() < 16 || salt.size() > 128 || salt.size() % 2 != 0 ||
        !std::all_of(salt.begin(), salt.end(), is_hex)) {
        return bad("the salt must be 8 to 64 bytes in hex");
    }
    if (hash.size() != 64 || !std::all_of(hash.begin(), hash.end(), is_hex)) {
        return bad("the hash must be 32 bytes (64 hex digits)");
    }
    return {};
}

std::string format_time_of_day(std::chrono::minutes minutes) {
    const auto count = minutes.count();
    return fmt::format("{:02}:{:02}", count / 60, count % 60);
}

}  // namespace fxsettle::config::detail
