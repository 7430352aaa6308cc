// Makes QuickFIX 1.15.1's acceptor listen on a configured IPv4 address (it has no
// bind-address setting and binds INADDR_ANY).
//
// How: bind_override.cpp defines bind() (interposing libc's; the dynamic linker resolves
// libquickfix.so's call to the executable's definition first) and forwards every call to
// the real bind() through dlsym(RTLD_NEXT). It changes a call only while a
// ScopedBindOverride is alive on the calling thread, and then only an IPv4 bind to
// INADDR_ANY on the override's port: QuickFIX's Acceptor::start() creates its listening
// sockets on the thread that calls it, so SessionHost::start() wraps that call and no
// other socket of the process is touched. The rewritten socket also gets SO_SNDTIMEO
// (connections accepted from it inherit it), so that a send to a counterparty that stops
// reading fails after the timeout instead of blocking the session forever.
//
// Checking: the override records the sockets it rewrote, and SessionHost also verifies
// after start() that the listening socket is bound where it should be (another bind()
// interposer linked into the same executable would win over this weak definition).
#pragma once

#include <netinet/in.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace fxsettle {
namespace adapters {
namespace detail {

class ScopedBindOverride {
  public:
    // `address` in network byte order; `port` in host byte order.
    ScopedBindOverride(in_addr address, std::uint16_t port, std::chrono::milliseconds send_timeout);
    ~ScopedBindOverride();
    ScopedBindOverride(const ScopedBindOverride&) = delete;
    ScopedBindOverride& operator=(const ScopedBindOverride&) = delete;

    // The sockets whose bind() was rewritten while this override was active.
    const std::vector<int>& rewritten() const { return rewritten_; }

    // Called by the interposed bind(): fills *out and returns true when this call is to be
    // rewritten.
    bool rewrite(const sockaddr_in& in, sockaddr_in* out) const;
    void record(int fd);
    std::chrono::milliseconds send_timeout() const { return send_timeout_; }

  private:
    in_addr address_;
    std::uint16_t port_;
    std::chrono::milliseconds send_timeout_;
    std::vector<int> rewritten_;
    ScopedBindOverride* previous_;
};

// The IPv4 address and port listening sockets of this process are bound to, for every
// listening TCP socket on `port` (found through /proc/self/fd). Dotted text.
std::vector<std::string> listening_addresses(std::uint16_t port);

}  // namespace detail
}  // namespace adapters
}  // namespace fxsettle
