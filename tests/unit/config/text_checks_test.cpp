// The value checks behind the loader: hosts, endpoints, times, dates, ids, hashes.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/text_checks.h"

namespace fxsettle::config::detail {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;

TEST(ConfigTextChecks, HostAcceptsNamesIpv4AndIpv6) {
    for (const char* host :
         {"localhost", "fx.example.com", "a-b.c1", "127.0.0.1", "::1", "fe80::1", "0.0.0.0"}) {
        EXPECT_TRUE(check_host(host).is_ok()) << host << ": " << check_host(host).message();
    }
}

TEST(ConfigTextChecks, HostRejectsMalformedNames) {
    for (const char* host :
         {"", "a b", "-a.com", "a-.com", "a..b", "a.", "256.1.1.1", "1.2.3", ":::1", "host_name"}) {
        EXPECT_FALSE(check_host(host).is_ok()) << host;
    }
}

TEST(ConfigTextChecks, EndpointParsesHostPortAndBracketedIpv6) {
    auto v4 = parse_endpoint("127.0.0.1:9464", false);
    ASSERT_TRUE(v4.has_value()) << v4.error().message();
    EXPECT_EQ(*v4, (Endpoint{"127.0.0.1", 9464}));
    auto v6 = parse_endpoint("[::1]:80", false);
    ASSERT_TRUE(v6.has_value()) << v6.error().message();
    EXPECT_EQ(*v6, (Endpoint{"::1", 80}));
    EXPECT_EQ(v6->to_string(), "[::1]:80");
}

TEST(ConfigTextChecks, EndpointPortZeroOnlyWhenAllowed) {
    EXPECT_TRUE(parse_endpoint("127.0.0.1:0", true).has_value());
    auto refused = parse_endpoint("127.0.0.1:0", false);
    ASSERT_FALSE(refused.has_value());
    EXPECT_THAT(refused.error().message(), HasSubstr("1..65535"));
}

TEST(ConfigTextChecks, EndpointRejectsMalformedText) {
    for (const char* text : {"", "host", "host:", "host:x", "host:-1", "host:65536", "::1:80",
                             "[::1]80", "[::1", "[zz]:80", "host:0080", ":80"}) {
        EXPECT_FALSE(parse_endpoint(text, true).has_value()) << text;
    }
}

TEST(ConfigTextChecks, TimeOfDayParsesHhMm) {
    EXPECT_EQ(parse_time_of_day("00:00").value(), 0min);
    EXPECT_EQ(parse_time_of_day("23:59").value(), 23h + 59min);
    for (const char* text : {"24:00", "12:60", "1:00", "12:00:00", "12-00", "", "ab:cd"}) {
        EXPECT_FALSE(parse_time_of_day(text).has_value()) << text;
    }
    EXPECT_EQ(format_time_of_day(9h + 5min), "09:05");
}

TEST(ConfigTextChecks, DateParsesRealCalendarDatesOnly) {
    EXPECT_TRUE(parse_date("2024-02-29").has_value());
    for (const char* text : {"2025-02-29", "2025-13-01", "2025-00-10", "2025-1-1", "20250101"}) {
        EXPECT_FALSE(parse_date(text).has_value()) << text;
    }
}

TEST(ConfigTextChecks, IdAllowsLowerCaseDigitsUnderscoreAndDash) {
    EXPECT_TRUE(check_id("psp-1_a", 32).is_ok());
    for (const char* text : {"", "-a", "_a", "A", "a b", "a.b"}) {
        EXPECT_FALSE(check_id(text, 32).is_ok()) << text;
    }
    EXPECT_FALSE(check_id(std::string(33, 'a'), 32).is_ok());
}

TEST(ConfigTextChecks, CompIdAndUsername) {
    EXPECT_TRUE(check_comp_id("FX.SETTLE-1_A").is_ok());
    EXPECT_FALSE(check_comp_id("FX SETTLE").is_ok());
    EXPECT_FALSE(check_comp_id("FX|1").is_ok());
    EXPECT_TRUE(check_username("user@psp.example").is_ok());
    EXPECT_FALSE(check_username("two words").is_ok());
}

TEST(ConfigTextChecks, PasswordHashSyntax) {
    const std::string salt = "0011223344556677";
    const std::string hash(64, 'a');
    EXPECT_TRUE(check_password_hash("pbkdf2-sha256$1$" + salt + "$" + hash).is_ok());
    for (const std::string& text : {
             "pbkdf2-sha1$1$" + salt + "$" + hash,             // scheme
             "pbkdf2-sha256$0$" + salt + "$" + hash,           // iterations 0
             "pbkdf2-sha256$01$" + salt + "$" + hash,          // leading zero
             "pbkdf2-sha256$2147483648$" + salt + "$" + hash,  // too many iterations
             "pbkdf2-sha256$1$00112233445566$" + hash,         // salt of 7 bytes
             "pbkdf2-sha256$1$" + salt + "0$" + hash,          // odd salt
             "pbkdf2-sha256$1$" + salt + "$" + hash + "aa",    // hash of 33 bytes
             "pbkdf2-sha256$1$" + salt + "$" + std::string(64, 'g'),
             "pbkdf2-sha256$1$" + salt + "$" + hash + "$x",  // five fields
             std::string("pbkdf2-sha256$1$") + salt,         // three fields
         }) {
        EXPECT_FALSE(check_password_hash(text).is_ok()) << text;
    }
}

}  // namespace
}  // namespace fxsettle::config::detail
