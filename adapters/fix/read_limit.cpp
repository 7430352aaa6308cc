#include "adapters/fix/read_limit.h"

#include <dlfcn.h>
#include <netinet/in.h>
#include <openssl/ssl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <memory>

namespace fxsettle {
namespace adapters {
namespace detail {
namespace {

// Sockets are small integers; descriptors at or above kFdSlots are not guarded.
constexpr int kFdSlots = 1 << 16;

struct Slots {
    // Per listener.
    std::array<std::atomic<bool>, kFdSlots> listener{};
    std::array<std::atomic<bool>, kFdSlots> refusing{};  // listeners being stopped
    std::array<std::atomic<std::uint32_t>, kFdSlots> unauthenticated_max{};  // 0: no bound
    // Connections of the listener unauthenticated now. Only the listener's accept() thread
    // adds, so the bound is never overshot; release() subtracts from any thread.
    std::array<std::atomic<std::int32_t>, kFdSlots> unauthenticated{};
    // Bumped by guard_listener: a connection of an earlier listener with the same number
    // never counts against this one.
    std::array<std::atomic<std::uint32_t>, kFdSlots> generation{};
    std::array<std::atomic<std::uint64_t>, kFdSlots> refused{};
    std::array<std::atomic<std::uint64_t>, kFdSlots> overdue_cut{};  // by shut_down_overdue
    // Per connection.
    std::array<std::atomic<bool>, kFdSlots> guarded{};
    std::array<std::atomic<bool>, kFdSlots> pending{};  // unauthenticated
    std::array<std::atomic<bool>, kFdSlots> overdue{};  // shut down by shut_down_overdue
    std::array<std::atomic<int>, kFdSlots> origin{};    // the listener it came from
    std::array<std::atomic<std::uint32_t>, kFdSlots> origin_generation{};
    std::array<std::atomic<std::int64_t>, kFdSlots> accepted_ns{};  // steady clock
    std::atomic<int> fd_high{-1};  // the highest connection ever made pending
    // Each guarded connection is read by one QuickFIX thread at a time; accept() writes
    // its scanner before QuickFIX starts that thread.
    std::array<FrameScanner, kFdSlots> scanner{};
};

Slots& slots() {
    static Slots* s = new Slots();  // never destroyed: recv() may run during exit
    return *s;
}

std::atomic<std::uint64_t> cut_count{0};

// The pending connection the calling QuickFIX thread read last (-1: none).
thread_local int reading_fd = -1;

bool in_range(int fd) {
    return fd >= 0 && fd < kFdSlots;
}

std::size_t at(int fd) {
    return static_cast<std::size_t>(fd);
}

std::int64_t steady_ns(std::chrono::steady_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// Connection `fd` is no longer unauthenticated (logged on, or closed).
void release(int fd) {
    auto& s = slots();
    if (s.pending[at(fd)].exchange(false, std::memory_order_acq_rel)) {
        const int listener = s.origin[at(fd)].load(std::memory_order_acquire);
        if (in_range(listener) && s.origin_generation[at(fd)].load(std::memory_order_acquire) ==
                                      s.generation[at(listener)].load(std::memory_order_acquire))
            s.unauthenticated[at(listener)].fetch_sub(1, std::memory_order_acq_rel);
    }
}

// Connection `conn` was just accepted from guarded listener `listener`.
void make_pending(int conn, int listener) {
    auto& s = slots();
    release(conn);  // a close this file did not see (the number is reused): repair the count
    s.origin[at(conn)].store(listener, std::memory_order_release);
    s.origin_generation[at(conn)].store(s.generation[at(listener)].load(std::memory_order_acquire),
                                        std::memory_order_release);
    s.accepted_ns[at(conn)].store(steady_ns(std::chrono::steady_clock::now()),
                                  std::memory_order_release);
    s.overdue[at(conn)].store(false, std::memory_order_release);
    s.unauthenticated[at(listener)].fetch_add(1, std::memory_order_acq_rel);
    s.pending[at(conn)].store(true, std::memory_order_release);
    int high = s.fd_high.load(std::memory_order_acquire);
    while (conn > high && !s.fd_high.compare_exchange_weak(high, conn)) {
    }
}

// The local port of socket `fd` (0: not an IP socket).
std::uint16_t local_port(int fd) {
    sockaddr_storage a{};
    socklen_t len = sizeof a;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
        return 0;
    if (a.ss_family == AF_INET)
        return ntohs(reinterpret_cast<const sockaddr_in*>(&a)->sin_port);
    if (a.ss_family == AF_INET6)
        return ntohs(reinterpret_cast<const sockaddr_in6*>(&a)->sin6_port);
    return 0;
}

}  // namespace

bool FrameScanner::feed(const char* data, std::size_t size, std::size_t limit) {
    static constexpr char kSoh = '\x01';
    for (std::size_t i = 0; i < size; ++i) {
        const char c = data[i];
        ++since_end_;
        switch (state_) {
            case 1:
                state_ = c == '1' ? 2 : (c == kSoh ? 1 : 0);
                break;
            case 2:
                state_ = c == '0' ? 3 : (c == kSoh ? 1 : 0);
                break;
            case 3:
                state_ = c == '=' ? 4 : (c == kSoh ? 1 : 0);
                break;
            case 4:
            case 5:
            case 6:
                state_ = (c >= '0' && c <= '9') ? static_cast<std::uint8_t>(state_ + 1)
                                                : (c == kSoh ? 1 : 0);
                break;
            case 7:
                if (c == kSoh) {
                    since_end_ = 0;  // a message ended here
                    state_ = 0;
                } else {
                    state_ = 0;
                }
                break;
            default:
                state_ = c == kSoh ? 1 : 0;
                break;
        }
    }
    return since_end_ <= limit;
}

void FrameScanner::reset() {
    state_ = 0;
    since_end_ = 0;
}

void guard_listener(int fd) {
    if (in_range(fd)) {
        slots().unauthenticated_max[at(fd)].store(0, std::memory_order_release);
        slots().refused[at(fd)].store(0, std::memory_order_release);
        slots().overdue_cut[at(fd)].store(0, std::memory_order_release);
        slots().generation[at(fd)].fetch_add(1, std::memory_order_acq_rel);
        slots().unauthenticated[at(fd)].store(0, std::memory_order_release);
        slots().refusing[static_cast<std::size_t>(fd)].store(false, std::memory_order_release);
        slots().listener[static_cast<std::size_t>(fd)].store(true, std::memory_order_release);
    }
}

void refuse_connections(int fd) {
    if (in_range(fd))
        slots().refusing[static_cast<std::size_t>(fd)].store(true, std::memory_order_release);
}

void forget_listener(int fd) {
    if (in_range(fd)) {
        slots().listener[static_cast<std::size_t>(fd)].store(false, std::memory_order_release);
        slots().refusing[static_cast<std::size_t>(fd)].store(false, std::memory_order_release);
    }
}

std::uint64_t connections_cut() {
    return cut_count.load(std::memory_order_relaxed);
}

void limit_unauthenticated(int fd, std::uint32_t unauthenticated_max) {
    if (in_range(fd))
        slots().unauthenticated_max[at(fd)].store(unauthenticated_max, std::memory_order_release);
}

void logged_on_here() {
    if (in_range(reading_fd))
        release(reading_fd);
    reading_fd = -1;
}

std::size_t shut_down_overdue(int fd, std::chrono::steady_clock::time_point accepted_before) {
    if (!in_range(fd))
        return 0;
    auto& s = slots();
    const std::int64_t before_ns = steady_ns(accepted_before);
    const std::uint16_t port = local_port(fd);
    const int high = s.fd_high.load(std::memory_order_acquire);
    const std::uint32_t generation = s.generation[at(fd)].load(std::memory_order_acquire);
    std::size_t n = 0;
    for (int conn = 0; conn <= high && conn < kFdSlots; ++conn) {
        if (!s.pending[at(conn)].load(std::memory_order_acquire) ||
            s.origin[at(conn)].load(std::memory_order_acquire) != fd ||
            s.origin_generation[at(conn)].load(std::memory_order_acquire) != generation ||
            s.accepted_ns[at(conn)].load(std::memory_order_acquire) > before_ns ||
            s.overdue[at(conn)].load(std::memory_order_acquire))
            continue;
        // Only a socket accepted on this listener's port: never another file that got
        // the number after a close this file did not see.
        if (port == 0 || local_port(conn) != port)
            continue;
        if (!s.overdue[at(conn)].exchange(true, std::memory_order_acq_rel)) {
            s.overdue_cut[at(fd)].fetch_add(1, std::memory_order_relaxed);
            ::shutdown(conn, SHUT_RDWR);
            ++n;
        }
    }
    return n;
}

std::uint32_t unauthenticated_connections(int fd) {
    if (!in_range(fd))
        return 0;
    const std::int32_t n = slots().unauthenticated[at(fd)].load(std::memory_order_acquire);
    return n < 0 ? 0 : static_cast<std::uint32_t>(n);
}

std::uint64_t connections_refused(int fd) {
    return in_range(fd) ? slots().refused[at(fd)].load(std::memory_order_relaxed) : 0;
}

std::uint64_t connections_overdue(int fd) {
    return in_range(fd) ? slots().overdue_cut[at(fd)].load(std::memory_order_relaxed) : 0;
}

}  // namespace detail
}  // namespace adapters
}  // namespace fxsettle

namespace {
using fxsettle::adapters::detail::at;
using fxsettle::adapters::detail::in_range;
using fxsettle::adapters::detail::make_pending;
using fxsettle::adapters::detail::reading_fd;
using fxsettle::adapters::detail::release;
using fxsettle::adapters::detail::slots;
using fxsettle::adapters::detail::unauthenticated_connections;
}  // namespace

// The interposed accept(): a connection from a guarded listener is guarded from its start.
// Weak, like bind() in bind_override.cpp.
extern "C" __attribute__((weak)) int accept(int fd, struct sockaddr* addr, socklen_t* len) {
    using AcceptFn = int (*)(int, struct sockaddr*, socklen_t*);
    static const AcceptFn real = reinterpret_cast<AcceptFn>(::dlsym(RTLD_NEXT, "accept"));
    if (real == nullptr) {
        errno = ENOSYS;
        return -1;
    }
    int conn = real(fd, addr, len);
    // A listener being stopped hands out no more connections: each is closed at once and
    // the call waits for the next, until stopping shuts the listener down (then accept()
    // fails and QuickFIX's accept loop ends). A listener at its bound of unauthenticated
    // connections closes the new one the same way (counted).
    while (conn >= 0 && in_range(fd)) {
        auto& s = slots();
        if (!s.refusing[at(fd)].load(std::memory_order_acquire)) {
            const std::uint32_t max = s.unauthenticated_max[at(fd)].load(std::memory_order_acquire);
            if (max == 0 || !s.listener[at(fd)].load(std::memory_order_acquire) ||
                unauthenticated_connections(fd) < max)
                break;
            s.refused[at(fd)].fetch_add(1, std::memory_order_relaxed);
        }
        ::close(conn);
        conn = real(fd, addr, len);
    }
    if (conn >= 0 && in_range(conn)) {
        auto& s = slots();
        const bool guard = in_range(fd) && s.listener[at(fd)].load(std::memory_order_acquire);
        if (guard) {
            s.scanner[at(conn)].reset();
            make_pending(conn, fd);
        } else {
            release(conn);
        }
        s.guarded[at(conn)].store(guard, std::memory_order_release);
    }
    return conn;
}

// The interposed recv(): a guarded connection past the bound is shut down and reads as
// closed (0), which QuickFIX handles as the peer going away.
extern "C" __attribute__((weak)) ssize_t recv(int fd, void* buf, size_t len, int flags) {
    using RecvFn = ssize_t (*)(int, void*, size_t, int);
    static const RecvFn real = reinterpret_cast<RecvFn>(::dlsym(RTLD_NEXT, "recv"));
    if (real == nullptr) {
        errno = ENOSYS;
        return -1;
    }
    const ssize_t n = real(fd, buf, len, flags);
    if (n > 0 && in_range(fd) && (flags & MSG_PEEK) == 0) {
        auto& s = slots();
        if (s.pending[at(fd)].load(std::memory_order_acquire))
            reading_fd = fd;
        if (s.guarded[static_cast<std::size_t>(fd)].load(std::memory_order_acquire) &&
            !s.scanner[static_cast<std::size_t>(fd)].feed(static_cast<const char*>(buf),
                                                          static_cast<std::size_t>(n))) {
            s.guarded[static_cast<std::size_t>(fd)].store(false, std::memory_order_release);
            fxsettle::adapters::detail::cut_count.fetch_add(1, std::memory_order_relaxed);
            ::shutdown(fd, SHUT_RDWR);
            return 0;
        }
    }
    return n;
}

// The interposed SSL_read(): QuickFIX's TLS connections read through it, so a guarded
// connection's plaintext is scanned here as recv() scans plain TCP (recv() sees only
// ciphertext). Past the bound the connection is shut down and the call fails with nothing
// read: QuickFIX's SSL_get_error() then finds SSL_ERROR_SYSCALL (no OpenSSL error queued,
// no read or write wanted), and its reader throws SocketRecvFailed and drops the
// connection and its buffer. It also notes the connection the thread reads, for
// logged_on_here().
extern "C" __attribute__((weak)) int SSL_read(SSL* ssl, void* buf, int num) {
    using SslReadFn = int (*)(SSL*, void*, int);
    static const SslReadFn real = reinterpret_cast<SslReadFn>(::dlsym(RTLD_NEXT, "SSL_read"));
    if (real == nullptr)
        return -1;
    const int n = real(ssl, buf, num);
    if (n <= 0)
        return n;
    const int fd = SSL_get_fd(ssl);
    if (!in_range(fd))
        return n;
    auto& s = slots();
    if (s.pending[at(fd)].load(std::memory_order_acquire))
        reading_fd = fd;
    if (s.guarded[at(fd)].load(std::memory_order_acquire) &&
        !s.scanner[at(fd)].feed(static_cast<const char*>(buf), static_cast<std::size_t>(n))) {
        s.guarded[at(fd)].store(false, std::memory_order_release);
        fxsettle::adapters::detail::cut_count.fetch_add(1, std::memory_order_relaxed);
        ::shutdown(fd, SHUT_RDWR);
        errno = ECONNRESET;
        return -1;
    }
    return n;
}

// The interposed close(): a guarded connection closed is no longer unauthenticated (the
// slot is cleared before the number can be reused).
extern "C" __attribute__((weak)) int close(int fd) {
    using CloseFn = int (*)(int);
    static const CloseFn real = reinterpret_cast<CloseFn>(::dlsym(RTLD_NEXT, "close"));
    if (real == nullptr) {
        errno = ENOSYS;
        return -1;
    }
    if (in_range(fd)) {
        release(fd);
        slots().guarded[at(fd)].store(false, std::memory_order_release);
    }
    return real(fd);
}
