// adapters/fix/read_limit.h's FrameScanner: message ends ("<SOH>10=nnn<SOH>") are found
// in a stream fed in any pieces, and only a run without one longer than the limit fails.
#include <gtest/gtest.h>

#include <string>

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

}  // namespace
}  // namespace detail
}  // namespace adapters
}  // namespace fxsettle
