// Logon passwords: the default config's demo hashes verify "<username>-demo-password" and
// nothing else; hash_password round-trips; malformed hashes are refused naming the part;
// the throttle locks a username out after repeated failures and lets it back in later.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "adapters/edge/password.h"
#include "config/config.h"

namespace fxsettle::adapters::edge {
namespace {

using namespace std::chrono_literals;

TEST(PasswordTest, DefaultConfigDemoPasswordsVerifyAndWrongOnesDoNot) {
    auto config = config::load_default_config();
    ASSERT_TRUE(config.has_value()) << config.error().to_string();
    ASSERT_FALSE(config->psps.empty());
    for (const config::PspConfig& psp : config->psps) {
        auto hash = parse_password_hash(psp.password_hash);
        ASSERT_TRUE(hash.has_value()) << psp.id << ": " << hash.error().to_string();
        EXPECT_TRUE(verify_password(psp.username + "-demo-password", *hash))
            << psp.id << ": the demo password does not verify";
        EXPECT_FALSE(verify_password(psp.username + "-demo-passwore", *hash)) << psp.id;
        EXPECT_FALSE(verify_password("", *hash)) << psp.id;
    }
}

TEST(PasswordTest, HashPasswordRoundTripsWithAFreshSaltEachTime) {
    auto a = hash_password("s3cret", 1'000);
    auto b = hash_password("s3cret", 1'000);
    ASSERT_TRUE(a.has_value()) << a.error().to_string();
    ASSERT_TRUE(b.has_value()) << b.error().to_string();
    EXPECT_NE(*a, *b) << "two hashes of one password share a salt";
    auto parsed = parse_password_hash(*a);
    ASSERT_TRUE(parsed.has_value()) << parsed.error().to_string();
    EXPECT_EQ(parsed->iterations, 1'000u);
    EXPECT_EQ(parsed->salt.size(), 16u);
    EXPECT_TRUE(verify_password("s3cret", *parsed));
    EXPECT_FALSE(verify_password("s3creT", *parsed));
    auto fixed = hash_password("x", 1'000, std::vector<std::uint8_t>(8, 0xab));
    ASSERT_TRUE(fixed.has_value());
    EXPECT_TRUE(fixed->starts_with("pbkdf2-sha256$1000$abababababababab$")) << *fixed;
}

TEST(PasswordTest, MalformedHashesAreRefusedNamingWhatIsWrong) {
    const std::string salt = "00112233445566778899aabbccddeeff";
    const std::string hash(64, 'a');
    struct Case {
        std::string text;
        std::string says;
    };
    const Case cases[] = {
        {"bcrypt$1000$" + salt + "$" + hash, "pbkdf2-sha256$<iterations>"},
        {"pbkdf2-sha256$1000$" + salt, "pbkdf2-sha256$<iterations>"},
        {"pbkdf2-sha256$10$" + salt + "$" + hash, "iterations '10'"},
        {"pbkdf2-sha256$1e5$" + salt + "$" + hash, "iterations '1e5'"},
        {"pbkdf2-sha256$1000$0011zz$" + hash, "salt is not hex"},
        {"pbkdf2-sha256$1000$0011$" + hash, "salt has 2 bytes"},
        {"pbkdf2-sha256$1000$" + salt + "$abc", "value is not hex"},
        {"pbkdf2-sha256$1000$" + salt + "$abcd", "value has 2 bytes"},
    };
    for (const Case& c : cases) {
        auto parsed = parse_password_hash(c.text);
        ASSERT_FALSE(parsed.has_value()) << c.text;
        EXPECT_NE(parsed.error().message().find(c.says), std::string::npos)
            << c.text << " -> " << parsed.error().message();
    }
    EXPECT_FALSE(hash_password("x", 10).has_value());
    EXPECT_FALSE(hash_password(std::string(kPasswordBytesMax + 1, 'x'), 1'000).has_value());
}

TEST(PasswordTest, ThrottleLocksAUsernameAfterRepeatedFailuresForTheCoolingPeriod) {
    LogonThrottle throttle(LogonThrottleOptions{3, 60s, 300s, 16});
    const auto t0 = std::chrono::steady_clock::time_point{} + 1h;
    EXPECT_FALSE(throttle.locked("alpha", t0));
    throttle.record_failure("alpha", t0);
    throttle.record_failure("alpha", t0 + 1s);
    EXPECT_FALSE(throttle.locked("alpha", t0 + 2s)) << "locked before the third failure";
    throttle.record_failure("alpha", t0 + 2s);
    std::chrono::seconds remaining{};
    EXPECT_TRUE(throttle.locked("alpha", t0 + 3s, &remaining));
    EXPECT_EQ(remaining, 299s);
    EXPECT_FALSE(throttle.locked("borealis", t0 + 3s)) << "another username was locked too";
    EXPECT_TRUE(throttle.locked("alpha", t0 + 301s));
    EXPECT_FALSE(throttle.locked("alpha", t0 + 302s)) << "still locked after the cooling period";
    const auto c = throttle.counters();
    EXPECT_EQ(c.failures, 3u);
    EXPECT_EQ(c.lockouts, 1u);
    EXPECT_EQ(c.refused_locked, 2u);
}

TEST(PasswordTest, ThrottleForgetsFailuresOutsideTheWindowAndAfterSuccess) {
    LogonThrottle throttle(LogonThrottleOptions{3, 60s, 300s, 2});
    const auto t0 = std::chrono::steady_clock::time_point{} + 1h;
    throttle.record_failure("alpha", t0);
    throttle.record_failure("alpha", t0 + 1s);
    throttle.record_failure("alpha", t0 + 90s);  // the first two are outside the window
    EXPECT_FALSE(throttle.locked("alpha", t0 + 91s));
    throttle.record_success("alpha");
    throttle.record_failure("alpha", t0 + 92s);
    throttle.record_failure("alpha", t0 + 93s);
    EXPECT_FALSE(throttle.locked("alpha", t0 + 94s)) << "failures before the success counted";
    // Only two usernames are tracked: a third evicts the least recently seen.
    throttle.record_failure("x", t0 + 95s);
    throttle.record_failure("y", t0 + 96s);
    EXPECT_LE(throttle.counters().tracked_usernames, 2u);
}

}  // namespace
}  // namespace fxsettle::adapters::edge
