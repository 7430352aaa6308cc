#include "adapters/edge/password.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <algorithm>
#include <charconv>

namespace fxsettle::adapters::edge {
namespace {

constexpr std::string_view kScheme = "pbkdf2-sha256";

int hex_digit(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

bool parse_hex(std::string_view text, std::vector<std::uint8_t>& out) {
    if (text.size() % 2 != 0)
        return false;
    out.clear();
    out.reserve(text.size() / 2);
    for (std::size_t i = 0; i < text.size(); i += 2) {
        const int hi = hex_digit(text[i]);
        const int lo = hex_digit(text[i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out.push_back(static_cast<std::uint8_t>(hi * 16 + lo));
    }
    return true;
}

std::string to_hex(const std::uint8_t* bytes, std::size_t n) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(n * 2);
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(kDigits[bytes[i] >> 4]);
        out.push_back(kDigits[bytes[i] & 0x0f]);
    }
    return out;
}

bool derive(std::string_view password, const std::vector<std::uint8_t>& salt,
            std::uint32_t iterations, std::array<std::uint8_t, kPasswordHashBytes>& out) {
    return PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()), salt.data(),
                             static_cast<int>(salt.size()), static_cast<int>(iterations),
                             EVP_sha256(), static_cast<int>(out.size()), out.data()) == 1;
}

}  // namespace

Result<PasswordHash> parse_password_hash(std::string_view text) {
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (;;) {
        const std::size_t dollar = text.find('$', start);
        parts.push_back(text.substr(start, dollar - start));
        if (dollar == std::string_view::npos)
            break;
        start = dollar + 1;
    }
    if (parts.size() != 4 || parts[0] != kScheme) {
        return fail(StatusCode::kInvalidArgument,
                    "password hash must be 'pbkdf2-sha256$<iterations>$<salt-hex>$<hash-hex>'");
    }
    PasswordHash h;
    const auto [end, ec] =
        std::from_chars(parts[1].data(), parts[1].data() + parts[1].size(), h.iterations);
    if (ec != std::errc() || end != parts[1].data() + parts[1].size() ||
        h.iterations < kPasswordIterationsMin || h.iterations > kPasswordIterationsMax) {
        return fail(StatusCode::kInvalidArgument,
                    "password hash iterations '" + std::string(parts[1]) + "' is not in [" +
                        std::to_string(kPasswordIterationsMin) + ", " +
                        std::to_string(kPasswordIterationsMax) + "]");
    }
    if (!parse_hex(parts[2], h.salt)) {
        return fail(StatusCode::kInvalidArgument, "password hash salt is not hex digits");
    }
    if (h.salt.size() < kPasswordSaltBytesMin || h.salt.size() > kPasswordSaltBytesMax) {
        return fail(StatusCode::kInvalidArgument,
                    "password hash salt has " + std::to_string(h.salt.size()) +
                        " bytes; it must have " + std::to_string(kPasswordSaltBytesMin) + " to " +
                        std::to_string(kPasswordSaltBytesMax));
    }
    std::vector<std::uint8_t> hash;
    if (!parse_hex(parts[3], hash)) {
        return fail(StatusCode::kInvalidArgument, "password hash value is not hex digits");
    }
    if (hash.size() != kPasswordHashBytes) {
        return fail(StatusCode::kInvalidArgument, "password hash value has " +
                                                      std::to_string(hash.size()) +
                                                      " bytes; SHA-256 "
                                                      "has 32");
    }
    std::copy(hash.begin(), hash.end(), h.hash.begin());
    return h;
}

bool verify_password(std::string_view password, const PasswordHash& hash) {
    if (password.size() > kPasswordBytesMax)
        return false;
    std::array<std::uint8_t, kPasswordHashBytes> got{};
    if (!derive(password, hash.salt, hash.iterations, got))
        return false;
    return CRYPTO_memcmp(got.data(), hash.hash.data(), got.size()) == 0;
}

Result<std::string> hash_password(std::string_view password, std::uint32_t iterations) {
    std::vector<std::uint8_t> salt(16);
    if (RAND_bytes(salt.data(), static_cast<int>(salt.size())) != 1) {
        return fail(StatusCode::kInternal, "OpenSSL RAND_bytes failed to make a salt");
    }
    return hash_password(password, iterations, salt);
}

Result<std::string> hash_password(std::string_view password, std::uint32_t iterations,
                                  const std::vector<std::uint8_t>& salt) {
    if (iterations < kPasswordIterationsMin || iterations > kPasswordIterationsMax) {
        return fail(StatusCode::kInvalidArgument,
                    "iterations " + std::to_string(iterations) + " is not in [" +
                        std::to_string(kPasswordIterationsMin) + ", " +
                        std::to_string(kPasswordIterationsMax) + "]");
    }
    if (password.size() > kPasswordBytesMax) {
        return fail(StatusCode::kInvalidArgument,
                    "password is longer than " + std::to_string(kPasswordBytesMax) + " bytes");
    }
    if (salt.size() < kPasswordSaltBytesMin || salt.size() > kPasswordSaltBytesMax) {
        return fail(StatusCode::kInvalidArgument,
                    "salt has " + std::to_string(salt.size()) + " bytes; it must have " +
                        std::to_string(kPasswordSaltBytesMin) + " to " +
                        std::to_string(kPasswordSaltBytesMax));
    }
    std::array<std::uint8_t, kPasswordHashBytes> out{};
    if (!derive(password, salt, iterations, out)) {
        return fail(StatusCode::kInternal, "OpenSSL PKCS5_PBKDF2_HMAC failed");
    }
    return std::string(kScheme) + "$" + std::to_string(iterations) + "$" +
           to_hex(salt.data(), salt.size()) + "$" + to_hex(out.data(), out.size());
}

// ---- LogonThrottle ------------------------------------------------------------------

LogonThrottle::LogonThrottle(LogonThrottleOptions options) : options_(options) {}

bool LogonThrottle::locked(const std::string& username, TimePoint now,
                           std::chrono::seconds* remaining) {
    std::lock_guard lock(mu_);
    const auto it = entries_.find(username);
    if (it == entries_.end() || now >= it->second.locked_until)
        return false;
    ++counters_.refused_locked;
    if (remaining != nullptr) {
        *remaining = std::chrono::ceil<std::chrono::seconds>(it->second.locked_until - now);
    }
    return true;
}

void LogonThrottle::record_failure(const std::string& username, TimePoint now) {
    std::lock_guard lock(mu_);
    ++counters_.failures;
    if (!entries_.contains(username) && entries_.size() >= options_.usernames_max)
        evict_oldest_locked();
    Entry& e = entries_[username];
    e.last_seen = now;
    std::erase_if(e.failures, [&](TimePoint t) { return now - t >= options_.window; });
    e.failures.push_back(now);
    if (e.failures.size() >= options_.failures_max) {
        e.failures.clear();
        e.locked_until = now + options_.cooldown;
        ++counters_.lockouts;
    }
    counters_.tracked_usernames = entries_.size();
}

void LogonThrottle::record_success(const std::string& username) {
    std::lock_guard lock(mu_);
    entries_.erase(username);
    counters_.tracked_usernames = entries_.size();
}

LogonThrottleCounters LogonThrottle::counters() const {
    std::lock_guard lock(mu_);
    return counters_;
}

void LogonThrottle::evict_oldest_locked() {
    auto oldest = entries_.begin();
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
        if (it->second.last_seen < oldest->second.last_seen)
            oldest = it;
    }
    if (oldest != entries_.end())
        entries_.erase(oldest);
}

}  // namespace fxsettle::adapters::edge
