// Logon passwords of the PSP gateway (issue 5, "Logon authenticates Username(553)/
// Password(554) against salted hashes in config"): PBKDF2-HMAC-SHA256 through OpenSSL, in
// the config's text form "pbkdf2-sha256$<iterations>$<salt-hex>$<hash-hex>" (32-byte
// hash, salt of 8 bytes or more; config/config.h checks the syntax at load), compared in
// constant time. LogonThrottle refuses a username at once, for a cooling period, after
// repeated failures, so that a password cannot be guessed at PBKDF2's speed.
#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"

namespace fxsettle::adapters::edge {

inline constexpr std::size_t kPasswordHashBytes = 32;  // SHA-256
inline constexpr std::size_t kPasswordSaltBytesMin = 8;
inline constexpr std::size_t kPasswordSaltBytesMax = 64;
inline constexpr std::uint32_t kPasswordIterationsMin = 1'000;
inline constexpr std::uint32_t kPasswordIterationsMax = 10'000'000;
inline constexpr std::uint32_t kPasswordIterationsDefault = 100'000;
inline constexpr std::size_t kPasswordBytesMax = 1'024;  // a longer Password (554) is refused

// A parsed "pbkdf2-sha256$..." text.
struct PasswordHash {
    std::uint32_t iterations = 0;
    std::vector<std::uint8_t> salt;
    std::array<std::uint8_t, kPasswordHashBytes> hash{};
};

// Parses the config's form. kInvalidArgument naming what is wrong (scheme, iteration
// count out of [kPasswordIterationsMin, kPasswordIterationsMax], odd or non-hex salt or
// hash, salt length, hash length).
Result<PasswordHash> parse_password_hash(std::string_view text);

// PBKDF2-HMAC-SHA256 of `password` with `hash`'s salt and iterations, compared with
// CRYPTO_memcmp (constant time). False for a password longer than kPasswordBytesMax.
// Costs `iterations` HMACs (about 40 ms at 100,000 on the build machine).
bool verify_password(std::string_view password, const PasswordHash& hash);

// The config's text for `password` with a fresh random salt (16 bytes from RAND_bytes),
// for tools that write configs. kInvalidArgument for iterations out of range or a
// password longer than kPasswordBytesMax; kInternal if OpenSSL fails.
Result<std::string> hash_password(std::string_view password,
                                  std::uint32_t iterations = kPasswordIterationsDefault);
// The same with a given salt (tests, reproducible fixtures).
Result<std::string> hash_password(std::string_view password, std::uint32_t iterations,
                                  const std::vector<std::uint8_t>& salt);

struct LogonThrottleOptions {
    // After `failures_max` failed logons of one username within `window`, that username
    // is refused at once, without checking the password, for `cooldown`.
    std::uint32_t failures_max = 5;
    std::chrono::seconds window{60};
    std::chrono::seconds cooldown{300};
    // Usernames tracked at once; beyond it the oldest entries are forgotten (unknown
    // usernames cannot grow memory without bound).
    std::size_t usernames_max = 4'096;
};

struct LogonThrottleCounters {
    std::uint64_t failures = 0;        // record_failure() calls
    std::uint64_t lockouts = 0;        // times a username entered a cooling period
    std::uint64_t refused_locked = 0;  // logons refused at once while cooling
    std::uint64_t tracked_usernames = 0;
};

// Thread-safe (logons of different sessions arrive on different threads). Time is
// passed in, so tests need no sleeps.
class LogonThrottle {
  public:
    using TimePoint = std::chrono::steady_clock::time_point;
    explicit LogonThrottle(LogonThrottleOptions options = {});

    // True when `username` is cooling down at `now`: refuse without checking (counted in
    // refused_locked). The remaining cooling time goes to *remaining when given.
    bool locked(const std::string& username, TimePoint now,
                std::chrono::seconds* remaining = nullptr);
    // A failed logon of `username` at `now`; the failures_max-th within the window starts
    // the cooling period.
    void record_failure(const std::string& username, TimePoint now);
    // A successful logon clears the username's failures.
    void record_success(const std::string& username);
    LogonThrottleCounters counters() const;

  private:
    struct Entry {
        std::vector<TimePoint> failures;  // within the window, oldest first
        TimePoint locked_until{};
        TimePoint last_seen{};
    };
    void evict_oldest_locked();

    const LogonThrottleOptions options_;
    mutable std::mutex mu_;
    std::map<std::string, Entry> entries_;
    LogonThrottleCounters counters_;
};

}  // namespace fxsettle::adapters::edge
