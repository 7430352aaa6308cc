// The simulators' command lines (tools/fxsim/main_*.cpp): every fault mode the fault
// scenarios use can be switched on by hand, and a bad value is refused with an error
// that names it before anything listens or connects. Runs the real binaries (release
// build only: the sanitized build does not build the simulators' mains).
#include <gtest/gtest.h>

#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/run_shell.h"

namespace {

using fxsettle::test::run_program;
using fxsettle::test::RunResult;

std::string describe(const RunResult& r) {
    return "exit " + std::to_string(r.exit_code) + "\nstdout:\n" + r.out + "\nstderr:\n" + r.err;
}

class FxsimCli : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "fxsim-cli-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::string store(const std::string& name) const { return (dir_ / name).string(); }

    std::filesystem::path dir_;
};

TEST_F(FxsimCli, EveryFaultModeHasAFlagTheHelpNames) {
    const std::vector<std::pair<std::string, std::vector<std::string>>> tools = {
        {FXSIM_VENUE_BIN,
         {"--reject-permille", "--partial-permille", "--short-fill-permille", "--delay-ms",
          "--disconnect-after", "--disconnect-random", "--silent", "--unanswered"}},
        {FXSIM_BANK_BIN,
         {"--reject-permille", "--reject-code", "--delay-ms", "--jitter-ms", "--hold-s",
          "--per-line"}},
        {FXSIM_PSP_BIN,
         {"--possdup-permille", "--max-in-flight", "--disconnect-random", "--disconnects-max",
          "--retry-unanswered"}},
    };
    for (const auto& [binary, flags] : tools) {
        const RunResult r = run_program(binary, {"--help"});
        ASSERT_EQ(r.exit_code, 0) << binary << " --help: " << describe(r);
        for (const std::string& flag : flags)
            EXPECT_NE(r.out.find(flag), std::string::npos)
                << binary << " --help does not name " << flag << ":\n"
                << r.out;
    }
}

TEST_F(FxsimCli, ANegativeBankDelayIsRefusedNamingTheFlag) {
    for (const std::string flag : {"--delay-ms", "--jitter-ms", "--hold-s"}) {
        const RunResult r =
            run_program(FXSIM_BANK_BIN, {"--store", store("bank.mdb"), "--port", "0", flag, "-1"});
        EXPECT_EQ(r.exit_code, 2) << flag << " -1: " << describe(r);
        EXPECT_NE(r.err.find("fxsim-bank: " + flag + " -1 is negative"), std::string::npos)
            << flag << " -1: " << describe(r);
    }
}

TEST_F(FxsimCli, AVenueFaultShareAboveOneThousandPermilleIsRefused) {
    for (const std::string flag :
         {"--reject-permille", "--partial-permille", "--short-fill-permille"}) {
        const RunResult r = run_program(
            FXSIM_VENUE_BIN, {"--store", store("venue.mdb"), "--port", "0", flag, "1001"});
        EXPECT_EQ(r.exit_code, 1) << flag << " 1001: " << describe(r);
        EXPECT_NE(r.err.find("a fault share is above 1000 permille"), std::string::npos)
            << flag << " 1001: " << describe(r);
    }
}

}  // namespace
