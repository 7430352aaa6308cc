#include "adapters/fix/bind_override.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <dlfcn.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "adapters/fix/read_limit.h"

namespace fxsettle {
namespace adapters {
namespace detail {
namespace {

thread_local ScopedBindOverride* active_override = nullptr;

}  // namespace

ScopedBindOverride::ScopedBindOverride(in_addr address, std::uint16_t port,
                                       std::chrono::milliseconds send_timeout)
    : address_(address), port_(port), send_timeout_(send_timeout), previous_(active_override) {
    active_override = this;
}

ScopedBindOverride::~ScopedBindOverride() {
    active_override = previous_;
}

bool ScopedBindOverride::rewrite(const sockaddr_in& in, sockaddr_in* out) const {
    if (in.sin_family != AF_INET || in.sin_addr.s_addr != htonl(INADDR_ANY) ||
        ntohs(in.sin_port) != port_) {
        return false;
    }
    *out = in;
    out->sin_addr = address_;
    return true;
}

void ScopedBindOverride::record(int fd) {
    rewritten_.push_back(fd);
}

std::vector<std::string> listening_addresses(std::uint16_t port) {
    std::vector<std::string> out;
    DIR* dir = ::opendir("/proc/self/fd");
    if (dir == nullptr) {
        return out;
    }
    while (struct dirent* entry = ::readdir(dir)) {
        char* end = nullptr;
        const long fd = std::strtol(entry->d_name, &end, 10);
        if (end == entry->d_name || *end != '\0' || fd == ::dirfd(dir)) {
            continue;
        }
        int listening = 0;
        socklen_t len = sizeof listening;
        if (::getsockopt(static_cast<int>(fd), SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 ||
            listening == 0) {
            continue;
        }
        sockaddr_storage storage{};
        socklen_t addr_len = sizeof storage;
        if (::getsockname(static_cast<int>(fd), reinterpret_cast<sockaddr*>(&storage), &addr_len) !=
            0) {
            continue;
        }
        char text[INET6_ADDRSTRLEN] = {0};
        if (storage.ss_family == AF_INET) {
            const auto* in = reinterpret_cast<const sockaddr_in*>(&storage);
            if (ntohs(in->sin_port) == port &&
                ::inet_ntop(AF_INET, &in->sin_addr, text, sizeof text) != nullptr) {
                out.push_back(text);
            }
        } else if (storage.ss_family == AF_INET6) {
            const auto* in6 = reinterpret_cast<const sockaddr_in6*>(&storage);
            if (ntohs(in6->sin6_port) == port &&
                ::inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof text) != nullptr) {
                out.push_back(text);
            }
        }
    }
    ::closedir(dir);
    return out;
}

}  // namespace detail
}  // namespace adapters
}  // namespace fxsettle

// The interposed bind(). Weak, so that a test that defines its own bind() still links (and
// SessionHost's listening check then reports where the acceptor really listens).
extern "C" __attribute__((weak)) int bind(int fd, const struct sockaddr* addr,
                                          socklen_t len) noexcept {
    using BindFn = int (*)(int, const struct sockaddr*, socklen_t);
    static const BindFn real = reinterpret_cast<BindFn>(::dlsym(RTLD_NEXT, "bind"));
    if (real == nullptr) {
        errno = ENOSYS;
        return -1;
    }
    fxsettle::adapters::detail::ScopedBindOverride* active =
        fxsettle::adapters::detail::active_override;
    if (active != nullptr && addr != nullptr && addr->sa_family == AF_INET &&
        len >= static_cast<socklen_t>(sizeof(sockaddr_in))) {
        sockaddr_in in;
        std::memcpy(&in, addr, sizeof in);
        sockaddr_in rewritten;
        if (active->rewrite(in, &rewritten)) {
            const int rc =
                real(fd, reinterpret_cast<const sockaddr*>(&rewritten), sizeof rewritten);
            if (rc == 0) {
                active->record(fd);
                // Connections accepted from it are scanned (read_limit.h).
                fxsettle::adapters::detail::guard_listener(fd);
                const long long ms = active->send_timeout().count();
                if (ms > 0) {
                    timeval tv{};
                    tv.tv_sec = static_cast<time_t>(ms / 1000);
                    tv.tv_usec = static_cast<suseconds_t>((ms % 1000) * 1000);
                    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
                }
            }
            return rc;
        }
    }
    return real(fd, addr, len);
}
