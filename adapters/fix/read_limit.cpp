#include "adapters/fix/read_limit.h"

#include <dlfcn.h>
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
    std::array<std::atomic<bool>, kFdSlots> listener{};
    std::array<std::atomic<bool>, kFdSlots> refusing{};  // listeners being stopped
    std::array<std::atomic<bool>, kFdSlots> guarded{};
    // Each guarded connection is read by one QuickFIX thread at a time; accept() writes
    // its scanner before QuickFIX starts that thread.
    std::array<FrameScanner, kFdSlots> scanner{};
};

Slots& slots() {
    static Slots* s = new Slots();  // never destroyed: recv() may run during exit
    return *s;
}

std::atomic<std::uint64_t> cut_count{0};

bool in_range(int fd) {
    return fd >= 0 && fd < kFdSlots;
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

}  // namespace detail
}  // namespace adapters
}  // namespace fxsettle

namespace {
using fxsettle::adapters::detail::in_range;
using fxsettle::adapters::detail::slots;
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
    // fails and QuickFIX's accept loop ends).
    while (conn >= 0 && in_range(fd) &&
           slots().refusing[static_cast<std::size_t>(fd)].load(std::memory_order_acquire)) {
        ::close(conn);
        conn = real(fd, addr, len);
    }
    if (conn >= 0 && in_range(conn)) {
        auto& s = slots();
        const bool guard = in_range(fd) &&
                           s.listener[static_cast<std::size_t>(fd)].load(std::memory_order_acquire);
        if (guard)
            s.scanner[static_cast<std::size_t>(conn)].reset();
        s.guarded[static_cast<std::size_t>(conn)].store(guard, std::memory_order_release);
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
