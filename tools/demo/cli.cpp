// fxsettle-demo's command line (demo.h).
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <filesystem>

#include "tools/demo/demo.h"
#include "tools/demo/internal.h"

namespace fxsettle::demo {

namespace {

// <build>/tools/fxsettle-demo -> <build>/tools/<rel>, or "" when not found.
std::filesystem::path beside_self(const std::filesystem::path& rel) {
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    if (ec)
        return {};
    return self.parent_path() / rel;
}

}  // namespace

int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
    DemoOptions options;
    std::string dir, fxsettled, fxledger;
    std::uint64_t deadline_s = 300;
    CLI::App app{
        "fxsettle-demo: one settlement day over FIX -- fxsettled as a separate process, "
        "simulated PSPs, venues and banks on loopback, then the ledger checked, verified and "
        "reconciled against the banks' camt.053 statements"};
    app.add_option("--dir", dir, "the run's folder (default: var/demo-<UTC time>)");
    app.add_option("--instructions", options.instructions, "PSP requests to send")
        ->check(CLI::Range(std::uint64_t{1}, kInstructionsMax));
    app.add_option("--rate", options.rate_per_s, "PSP requests per second")
        ->check(CLI::Range(1u, 100'000u));
    app.add_option("--clock-rate", options.clock_rate,
                   "engine seconds per real second (the day's cut-offs come within seconds)")
        ->check(CLI::Range(1u, 100'000u));
    app.add_option("--clock-start", options.clock_start, "the engine clock's start (UTC)");
    app.add_option("--seed", options.seed, "seed of the PSPs', venues' and banks' choices");
    app.add_option("--fxsettled", fxsettled, "the daemon binary (default: beside this one)");
    app.add_option("--fxledger", fxledger, "the fxledger binary (default: beside this one)");
    app.add_option("--deadline-s", deadline_s, "give up after this many seconds")
        ->check(CLI::Range(std::uint64_t{10}, std::uint64_t{3600}));
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e, out, err) == 0 ? 0 : 2;
    }
    options.dir = dir;
    options.fxsettled =
        fxsettled.empty() ? beside_self("fxsettled/fxsettled") : std::filesystem::path(fxsettled);
    options.fxledger =
        fxledger.empty() ? beside_self("fxledger/fxledger") : std::filesystem::path(fxledger);
    options.deadline = std::chrono::seconds(deadline_s);
    options.progress_tty = ::isatty(STDERR_FILENO) != 0;
    auto report = run_demo(options, err);
    if (!report) {
        err << "fxsettle-demo: " << report.error().to_string() << "\n";
        return 1;
    }
    print_report(*report, options, out);
    return report->ok() ? 0 : 1;
}

}  // namespace fxsettle::demo
