// What the engine benchmarks share (engine_bench, cycle_bench): hex of a hash, a
// SHA-256 digest of length-prefixed pieces, and wall and thread-CPU timers.
#pragma once

#include <openssl/evp.h>
#include <time.h>

#include <array>
#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace fxsettle::bench {

using Clock = std::chrono::steady_clock;

template <std::size_t N>
std::string hex(const std::array<std::uint8_t, N>& bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string s;
    for (const std::uint8_t b : bytes) {
        s.push_back(kDigits[b >> 4]);
        s.push_back(kDigits[b & 15]);
    }
    return s;
}

// SHA-256 over pieces, each preceded by its length (so that piece boundaries count).
class Sha256Digest {
  public:
    Sha256Digest() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
    ~Sha256Digest() { EVP_MD_CTX_free(ctx_); }
    Sha256Digest(const Sha256Digest&) = delete;
    Sha256Digest& operator=(const Sha256Digest&) = delete;
    void add(std::string_view bytes) {
        const std::uint64_t size = bytes.size();
        EVP_DigestUpdate(ctx_, &size, sizeof size);
        EVP_DigestUpdate(ctx_, bytes.data(), bytes.size());
    }
    std::array<std::uint8_t, 32> finish() {
        std::array<std::uint8_t, 32> digest{};
        unsigned int size = 0;
        EVP_DigestFinal_ex(ctx_, digest.data(), &size);
        return digest;
    }

  private:
    EVP_MD_CTX* ctx_;
};

inline double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// CPU time of the calling thread: on a shared, loaded machine the wall time mostly
// measures the other processes; the benchmarks print both.
inline double cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_nsec) * 1e-9;
}

}  // namespace fxsettle::bench
