// Helpers shared by the ledger integration tests: temp directories, environment knobs,
// ids, and printing of ledger values in failure messages.
#pragma once

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "engine/money/amount.h"
#include "ledger/types.h"

namespace fxsettle::ledger::testing {

// A fresh directory under the system temp dir, removed with everything in it when the
// object dies (unless FXSETTLE_KEEP_TEST_FILES is set, to inspect a failure).
class TempDir {
  public:
    explicit TempDir(std::string_view prefix) {
        std::string tmpl =
            (std::filesystem::temp_directory_path() / (std::string(prefix) + "-XXXXXX")).string();
        if (mkdtemp(tmpl.data()) != nullptr)
            path_ = tmpl;
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;
    ~TempDir() {
        if (path_.empty() || std::getenv("FXSETTLE_KEEP_TEST_FILES") != nullptr)
            return;
        std::error_code ec;
        std::filesystem::remove_all(path_, ec);
    }
    bool ok() const { return !path_.empty(); }
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
};

// An unsigned integer from the environment, or `fallback` when unset or malformed.
inline std::uint64_t env_u64(const char* name, std::uint64_t fallback) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0')
        return fallback;
    char* end = nullptr;
    const unsigned long long n = std::strtoull(v, &end, 10);
    return (end != nullptr && *end == '\0') ? n : fallback;
}

// A count scaled by FXSETTLE_PROPERTY_SCALE, given in percent (default 100): "400" runs
// four times as many iterations, "10" a tenth. Never below 1.
inline std::uint64_t scaled(std::uint64_t base) {
    const std::uint64_t percent = env_u64("FXSETTLE_PROPERTY_SCALE", 100);
    const std::uint64_t n = base * percent / 100;
    return n == 0 ? 1 : n;
}

inline std::string hex(const std::array<std::uint8_t, 32>& bytes) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (auto b : bytes) {
        out.push_back(digits[b >> 4]);
        out.push_back(digits[b & 15]);
    }
    return out;
}

template <typename Tag>
std::string id_text(const Id128<Tag>& id) {
    std::ostringstream s;
    s << std::hex << id.hi << ":" << id.lo;
    return s.str();
}

inline std::string money_text(const money::Money& m) {
    return m.amount.minor().str() + " " + m.currency.to_string() + " minor";
}

inline std::string postings_text(const std::vector<Posting>& postings) {
    std::string out = "[";
    for (const auto& p : postings) {
        if (out.size() > 1)
            out += ", ";
        out += (p.side == Side::kDebit ? "Dr " : "Cr ") + id_text(p.account) + " " +
               money_text(p.amount);
    }
    return out + "]";
}

inline std::string balance_text(const Balance& b) {
    return "{Dr " + b.debits_posted.minor().str() + ", Cr " + b.credits_posted.minor().str() +
           ", Dr pending " + b.debits_pending.minor().str() + ", Cr pending " +
           b.credits_pending.minor().str() + "}";
}

}  // namespace fxsettle::ledger::testing
