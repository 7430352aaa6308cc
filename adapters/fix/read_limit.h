// Bounds what a connection to one of fxsettle's acceptors can make QuickFIX buffer.
//
// QuickFIX 1.15.1 reads a connection into a string and waits until it holds the whole
// message its BodyLength (9) claims, with no upper bound and before any Logon: a client
// that claims 9=2000000000 and keeps sending could fill the memory without ever
// authenticating. read_limit.cpp interposes recv() and accept() the way bind_override.cpp
// interposes bind(): connections accepted from a listening socket SessionHost started (see
// guard_listener) are scanned as they are read, and one that sends more than
// kUnframedBytesMax bytes without a message end ("<SOH>10=nnn<SOH>") is shut down: recv()
// returns 0, QuickFIX sees the peer gone and drops the connection and its buffer. A
// well-formed message of any size up to the bound still parses (and the gateway refuses
// an oversized one naming its field); initiator connections are not scanned.
//
// Over TLS, OpenSSL reads the socket with read() and the bytes are ciphertext: there
// SSL_read() is interposed as well, and the plaintext it returns for a guarded connection
// is scanned the same way; past the bound the connection is shut down and SSL_read fails
// (QuickFIX drops the connection as for any TLS read error). Before that, a TLS client
// must complete the handshake (and, with mutual TLS, present a certificate the CA signed).
//
// Unauthenticated connections. A guarded connection is "unauthenticated" from its accept()
// until the QuickFIX thread reading it completes a Logon (logged_on_here) or it is closed
// (close() is interposed too). A listener given a bound (limit_unauthenticated) closes a
// new connection at accept() while that many of its connections are unauthenticated, and
// shut_down_overdue() lets the host end those not logged on in time. QuickFIX 1.15.1 has
// neither: its acceptor gives every connection a thread, and a connection that sends
// nothing is never timed out (LogonTimeout only applies once a Logon was sent).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace fxsettle {
namespace adapters {
namespace detail {

// The largest run of bytes without a message end a guarded connection may send (16 MiB:
// four times the largest message the hostile tests send on purpose).
constexpr std::size_t kUnframedBytesMax = std::size_t{16} << 20;

// Connections accepted from listening socket `fd` from now on are guarded.
void guard_listener(int fd);

// From now on, accept() on guarded listener `fd` hands out no connection: each one is
// closed as it comes, until the listener is shut down. SessionHost calls it before it
// stops its acceptor, so that no connection accepted while QuickFIX stops gets a thread
// QuickFIX never joins (QuickFIX 1.15.1's ThreadedSocketAcceptor::onStop joins only the
// connection threads it knew of when it began; one accepted after that went on reading
// into a Session the acceptor's destructor freed: a heap-use-after-free ASan caught).
void refuse_connections(int fd);

// `fd` is no longer a listener of ours (closed; the number may be reused by any socket).
void forget_listener(int fd);

// How many guarded connections were shut down for exceeding the bound (process-wide).
std::uint64_t connections_cut();

// Guarded listener `fd` holds at most `unauthenticated_max` unauthenticated connections
// (0: no bound): accept() closes one more as it comes (counted, connections_refused) and
// waits for the next.
void limit_unauthenticated(int fd, std::uint32_t unauthenticated_max);

// Called on a QuickFIX connection thread once its connection completed a Logon: the
// guarded connection this thread last read is no longer unauthenticated. No effect on a
// thread that read none (initiators).
void logged_on_here();

// Shuts down (SHUT_RDWR: QuickFIX's reader sees the peer gone and closes it) each
// connection of listener `fd` accepted before `accepted_before` and still
// unauthenticated, once. Returns how many it shut down now.
std::size_t shut_down_overdue(int fd, std::chrono::steady_clock::time_point accepted_before);

// Listener `fd`'s connections unauthenticated now; those it refused at accept() for the
// bound, and those shut_down_overdue shut down, since guard_listener (each counted before
// the connection is closed).
std::uint32_t unauthenticated_connections(int fd);
std::uint64_t connections_refused(int fd);
std::uint64_t connections_overdue(int fd);

// Finds message ends ("<SOH>10=" three digits "<SOH>") in a byte stream fed in pieces and
// counts the bytes since the last one.
class FrameScanner {
  public:
    // Feeds the next piece of the stream; false once more than `limit` bytes have come
    // without a message end.
    bool feed(const char* data, std::size_t size, std::size_t limit = kUnframedBytesMax);
    void reset();
    std::uint64_t since_end() const { return since_end_; }

  private:
    std::uint8_t state_ = 0;  // how much of "<SOH>10=ddd<SOH>" the last bytes matched
    std::uint64_t since_end_ = 0;
};

}  // namespace detail
}  // namespace adapters
}  // namespace fxsettle
