// adapters/fix/read_limit.h's FrameScanner: message ends ("<SOH>10=nnn<SOH>") are found
// in a stream fed in any pieces, and only a run without one longer than the limit fails.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <string>
#include <thread>

#include "adapters/fix/read_limit.h"

namespace fxsettle {
namespace adapters {
namespace detail {
namespace {

const std::string kMessage = std::string(
    "8=FIX.4.4\x01"
    "9=5\x01"
    "35=0\x01"
    "10=163\x01");

TEST(ReadLimit, AMessageEndResetsTheCountWhateverThePieces) {
    const std::string tail = std::string("8=FIX.4.4\x01") + "9=";
    const std::string stream = kMessage + kMessage + tail;
    for (std::size_t piece = 1; piece <= stream.size(); ++piece) {
        FrameScanner scanner;
        for (std::size_t at = 0; at < stream.size(); at += piece)
            ASSERT_TRUE(scanner.feed(stream.data() + at, std::min(piece, stream.size() - at), 64))
                << "pieces of " << piece;
        EXPECT_EQ(scanner.since_end(), tail.size())
            << "pieces of " << piece << ": bytes after the last message end";
    }
}

TEST(ReadLimit, ARunWithoutAMessageEndFailsOnlyPastTheLimit) {
    FrameScanner scanner;
    const std::string run(100, 'x');
    EXPECT_TRUE(scanner.feed(run.data(), run.size(), 100)) << "exactly the limit is allowed";
    EXPECT_FALSE(scanner.feed("x", 1, 100)) << "one byte past the limit";
}

TEST(ReadLimit, NearMissesOfTheTrailerDoNotCountAsAnEnd) {
    for (const std::string& near : {std::string("\x01"
                                                "10=16\x01"),
                                    std::string("\x01"
                                                "10=1634"),
                                    std::string("\x01"
                                                "11=163\x01"),
                                    std::string("\x01"
                                                "10=a63\x01")}) {
        FrameScanner scanner;
        const std::string stream = std::string(10, 'x') + near;
        ASSERT_TRUE(scanner.feed(stream.data(), stream.size(), 1000));
        EXPECT_EQ(scanner.since_end(), stream.size())
            << "'" << near.substr(1) << "' ended a message";
    }
    FrameScanner scanner;
    const std::string soh_run = std::string(
        "\x01\x01"
        "10=163\x01");
    ASSERT_TRUE(scanner.feed(soh_run.data(), soh_run.size(), 1000));
    EXPECT_EQ(scanner.since_end(), 0U) << "a trailer after a doubled SOH was missed";
}

TEST(ReadLimit, ResetForgetsTheCount) {
    FrameScanner scanner;
    ASSERT_TRUE(scanner.feed("abc", 3, 10));
    scanner.reset();
    EXPECT_EQ(scanner.since_end(), 0U);
}

// A listener being stopped (SessionHost::stop, refuse_connections) hands out no more
// connections: the interposed accept() closes each one as it comes and keeps waiting;
// shutting the listener down ends the wait with an error, as QuickFIX's stop does.
TEST(ReadLimit, AListenerRefusingConnectionsHandsOutNoneUntilItIsShutDown) {
    const int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    ASSERT_GE(listener, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
    ASSERT_EQ(::listen(listener, 8), 0);
    socklen_t len = sizeof addr;
    ASSERT_EQ(::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    guard_listener(listener);
    refuse_connections(listener);

    std::atomic<int> accepted{-2};
    std::thread acceptor([&] { accepted = ::accept(listener, nullptr, nullptr); });
    for (int i = 0; i < 3; ++i) {
        const int client = ::socket(AF_INET, SOCK_STREAM, 0);
        ASSERT_GE(client, 0);
        ASSERT_EQ(::connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
        timeval tv{};
        tv.tv_sec = 10;
        ::setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        char byte = 0;
        EXPECT_EQ(::recv(client, &byte, 1, 0), 0)
            << "connection " << i << " was not closed by the refusing listener";
        ::close(client);
    }
    EXPECT_EQ(accepted.load(), -2) << "accept() handed out a connection while refusing";
    ::shutdown(listener, SHUT_RDWR);
    acceptor.join();
    EXPECT_EQ(accepted.load(), -1) << "accept() did not fail once the listener was shut down";
    forget_listener(listener);
    ::close(listener);
}

}  // namespace
}  // namespace detail
}  // namespace adapters
}  // namespace fxsettle
