// fix_bench: FIX round trips per second and round-trip latency (issue 5).
//
// Today it measures the bare QuickFIX echo pair (fix_bench_bare.h): an initiator sends
// NewOrderSingle, an acceptor echoes an ExecutionReport, over loopback with validation on
// and no durability. The engine path (client -> gateway -> engine -> durable ledger ->
// back) comes with the gateway; until then engine_msgs_per_s and ratio are null.
//
// It prints a summary, then (with --json) one JSON object last. It never asserts a time.
#include <fmt/core.h>
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <string>

#include "tools/bench/fix_bench_bare.h"

#ifndef FXSETTLE_FIX_DICTIONARY
#error "FXSETTLE_FIX_DICTIONARY must name config/fix/FIX44-fxsettle.xml"
#endif

int main(int argc, char** argv) {
    fxsettle::bench::BareEchoOptions options;
    options.dictionary_path = FXSETTLE_FIX_DICTIONARY;
    bool json = false;
    CLI::App app("fix_bench: FIX round trips per second and round-trip latency");
    app.add_option("--messages", options.messages, "measured round trips")
        ->check(CLI::PositiveNumber);
    app.add_option("--warmup", options.warmup, "round trips before measuring");
    app.add_option("--window", options.window, "orders in flight at most")
        ->check(CLI::PositiveNumber);
    app.add_option("--dictionary", options.dictionary_path, "the FIX 4.4 data dictionary");
    app.add_flag("--json", json, "print one JSON object last");
    CLI11_PARSE(app, argc, argv);

    fxsettle::bench::EchoFigures bare;
    std::string error;
    if (!fxsettle::bench::run_bare_echo(options, &bare, &error)) {
        fmt::print(stderr, "fix_bench: bare echo failed: {}\n", error);
        return 1;
    }
    fmt::print("bare QuickFIX echo (loopback, validation on, memory store, window {}):\n",
               options.window);
    fmt::print("  {} round trips in {:.3f} s: {:.0f} msgs/s, rtt p50 {:.1f} us, p99 {:.1f} us\n",
               bare.messages, bare.seconds, bare.msgs_per_s, bare.rtt_us_p50, bare.rtt_us_p99);
    fmt::print("engine path: not measured yet (needs the gateway)\n");
    if (json) {
        nlohmann::json j;
        j["bench"] = "fix_bench";
        j["messages"] = bare.messages;
        j["window"] = options.window;
        j["bare_msgs_per_s"] = bare.msgs_per_s;
        j["rtt_us_p50"] = bare.rtt_us_p50;
        j["rtt_us_p99"] = bare.rtt_us_p99;
        j["engine_msgs_per_s"] = nullptr;
        j["ratio"] = nullptr;
        fmt::print("{}\n", j.dump());
    }
    return 0;
}
