// Tamper evidence through the tool: a copy of the ledger with one byte flipped inside an
// entry record must make `fxledger verify` exit 1 naming the entry. Should LMDB itself
// reject the page instead, the tool must still exit non-zero with a clear error.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/integration/fxledger/fxledger_test_support.h"

namespace fxsettle::fxledger::testing {
namespace {

using ::testing::HasSubstr;

TEST(FxledgerTamper, FlippedByteInAnEntryIsNamedByVerify) {
    TempDir dir("fxledger-tamper");
    const auto copy = dir.path() / "copy.lmdb";
    // A compacted backup holds each record exactly once.
    RunResult r = on_fixture({"backup", copy.string()});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    r = fxledger({"--ledger", copy.string(), "verify"});
    ASSERT_EQ(r.exit_code, 0) << "the untouched copy must verify: " << describe(r);

    std::string bytes = read_text(copy);
    const std::string needle = "PAYIN-KWD-TAMPER-TARGET-001";
    std::size_t hits = 0;
    for (auto pos = bytes.find(needle); pos != std::string::npos;
         pos = bytes.find(needle, pos + 1)) {
        bytes[pos + 10] ^= 0x01;  // 'T' of TAMPER becomes 'U'
        ++hits;
    }
    ASSERT_GT(hits, 0u) << "the reference is not in the file's bytes";
    write_text(copy, bytes);
    std::filesystem::remove(copy.string() + "-lock");

    r = fxledger({"--ledger", copy.string(), "verify", "--format", "json"});
    ASSERT_NE(r.exit_code, 0) << "a flipped byte passed verify: " << describe(r);
    ASSERT_FALSE(r.err.empty()) << describe(r);
    if (r.exit_code == 1) {
        const auto j = parse_json(r);
        EXPECT_EQ(j["ok"], false);
        EXPECT_EQ(j["bad_sequence"], fixture().payin_kwd_sequence) << j.dump(2);
        EXPECT_EQ(j["bad_entry"], eid(3).to_hex()) << j.dump(2);
        EXPECT_THAT(r.err, HasSubstr("FAILED"));
        EXPECT_THAT(r.err, HasSubstr(eid(3).to_hex()));
        // The table names it too.
        r = fxledger({"--ledger", copy.string(), "verify"});
        EXPECT_EQ(r.exit_code, 1);
        EXPECT_THAT(r.out, HasSubstr("FAILED"));
        EXPECT_THAT(r.out, HasSubstr("bad_sequence:"));
    } else {
        // LMDB (or the decoder) refused the file: a clear, single-line error.
        EXPECT_EQ(count_lines(r.err), 1u) << describe(r);
        EXPECT_THAT(r.err, HasSubstr("fxledger: "));
    }
}

}  // namespace
}  // namespace fxsettle::fxledger::testing
