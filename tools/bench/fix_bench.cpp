// fix_bench: FIX round trips per second and round-trip latency (issue 5).
//
// In one run, at the same load (messages, warm-up, window of orders in flight):
//  1. the bare QuickFIX echo pair (fix_bench_bare.h): an initiator sends NewOrderSingle,
//     an acceptor echoes an ExecutionReport, over loopback with validation on and
//     QuickFIX's memory store (no durability): the ceiling;
//  2. the engine path (fix_bench_engine.h): a PSP client sends crossing EUR/CNY orders
//     through the real gateway, Engine, Sequencer, durable LMDB ledger, EdgeSink and
//     outbox, over SessionHosts with the durable LMDB message store (lagging mode unless
//     --sync-store), and receives the ExecutionReports.
// engine_msgs_per_s / bare_msgs_per_s is the ratio issue 5 asks to be >= 0.7, with the
// engine path's round-trip p99 <= 2 ms.
//
// It prints a summary, then (with --json) one JSON object last. It never asserts a time.
#include <fmt/core.h>
#include <stdlib.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>

#include "tools/bench/fix_bench_bare.h"
#include "tools/bench/fix_bench_engine.h"

#ifndef FXSETTLE_FIX_DICTIONARY
#error "FXSETTLE_FIX_DICTIONARY must name config/fix/FIX44-fxsettle.xml"
#endif

namespace {

// CPU per round trip over the measured part, and the threads that took it.
void print_cpu(const fxsettle::bench::EchoFigures& f) {
    fmt::print("  CPU {:.3f} s: {:.1f} us per round trip; by thread:", f.cpu_s,
               f.cpu_us_per_round_trip);
    for (const auto& [name, seconds] : f.cpu_s_by_thread) {
        if (seconds > 0) {
            fmt::print(" {} {:.2f} s", name, seconds);
        }
    }
    fmt::print("\n");
}

nlohmann::json thread_json(const fxsettle::bench::EchoFigures& f) {
    nlohmann::json j = nlohmann::json::object();
    for (const auto& [name, seconds] : f.cpu_s_by_thread) {
        j[name] = seconds;
    }
    return j;
}

}  // namespace

int main(int argc, char** argv) {
    fxsettle::bench::BareEchoOptions options;
    options.dictionary_path = FXSETTLE_FIX_DICTIONARY;
    bool json = false;
    bool sync_store = false;
    bool keep = false;
    bool engine_only = false;
    std::string dir;
    CLI::App app("fix_bench: FIX round trips per second and round-trip latency");
    app.add_option("--messages", options.messages, "measured round trips (each path)")
        ->check(CLI::PositiveNumber);
    app.add_option("--warmup", options.warmup, "round trips before measuring");
    app.add_option("--window", options.window, "orders in flight at most")
        ->check(CLI::PositiveNumber);
    app.add_option("--dictionary", options.dictionary_path, "the FIX 4.4 data dictionary");
    app.add_option("--dir", dir, "where the engine path's files go (default: a new temp dir)");
    app.add_flag("--keep", keep, "keep the engine path's files");
    app.add_flag("--sync-store", sync_store,
                 "FIX stores fsync every call (the synchronous mode) instead of lagging");
    app.add_flag("--json", json, "print one JSON object last");
    app.add_flag("--engine-only", engine_only,
                 "skip the bare echo pair (profiling the engine path; no ratio)");
    CLI11_PARSE(app, argc, argv);

    fxsettle::bench::EchoFigures bare;
    std::string error;
    if (!engine_only && !fxsettle::bench::run_bare_echo(options, &bare, &error)) {
        fmt::print(stderr, "fix_bench: bare echo failed: {}\n", error);
        return 1;
    }
    if (!engine_only) {
        fmt::print("bare QuickFIX echo (loopback, validation on, memory store, window {}):\n",
                   options.window);
        fmt::print(
            "  {} round trips in {:.3f} s: {:.0f} msgs/s, rtt p50 {:.1f} us, p99 {:.1f} us\n",
            bare.messages, bare.seconds, bare.msgs_per_s, bare.rtt_us_p50, bare.rtt_us_p99);
        print_cpu(bare);
    }

    bool made_dir = false;
    if (dir.empty()) {
        const char* base = std::getenv("TMPDIR");
        std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") +
                              "/fxsettle-fix-bench-XXXXXX";
        if (::mkdtemp(pattern.data()) == nullptr) {
            fmt::print(stderr, "fix_bench: cannot create a temp dir under {}\n", pattern);
            return 1;
        }
        dir = pattern;
        made_dir = true;
    }
    fxsettle::bench::EngineEchoOptions eo;
    eo.messages = options.messages;
    eo.warmup = options.warmup;
    eo.window = options.window;
    eo.dictionary_path = options.dictionary_path;
    eo.work_dir = dir;
    eo.synchronous_store = sync_store;
    fxsettle::bench::EngineFigures engine;
    const bool engine_ok = fxsettle::bench::run_engine_echo(eo, &engine, &error);
    if (made_dir && !keep) {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
    if (!engine_ok) {
        fmt::print(stderr, "fix_bench: engine path failed: {}\n", error);
        return 1;
    }
    const double ratio = bare.msgs_per_s > 0 ? engine.echo.msgs_per_s / bare.msgs_per_s : 0.0;
    fmt::print(
        "engine path (PSP -> gateway -> engine -> durable ledger -> ExecutionReport, {} FIX "
        "store, window {}):\n",
        sync_store ? "synchronous" : "lagging", options.window);
    fmt::print("  {} orders in {:.3f} s: {:.0f} orders/s, rtt p50 {:.1f} us, p99 {:.1f} us\n",
               engine.echo.messages, engine.echo.seconds, engine.echo.msgs_per_s,
               engine.echo.rtt_us_p50, engine.echo.rtt_us_p99);
    print_cpu(engine.echo);
    fmt::print(
        "  {} ExecutionReports; {} ledger commits ({:.1f} orders each, mean {:.0f} us, slowest "
        "{:.0f} us); {} gateway FIX store commits\n",
        engine.execution_reports, engine.ledger_commits, engine.orders_per_commit,
        engine.commit_latency_us_mean, engine.commit_latency_us_max, engine.gateway_store_commits);
    fmt::print("ratio engine/bare: {:.3f} (target >= 0.7, engine p99 <= 2000 us)\n", ratio);
    if (json) {
        nlohmann::json j;
        j["bench"] = "fix_bench";
        j["messages"] = options.messages;
        j["warmup"] = options.warmup;
        j["window"] = options.window;
        j["store"] = sync_store ? "synchronous" : "lagging";
        j["bare_msgs_per_s"] = bare.msgs_per_s;
        j["bare_rtt_us_p50"] = bare.rtt_us_p50;
        j["bare_rtt_us_p99"] = bare.rtt_us_p99;
        j["engine_msgs_per_s"] = engine.echo.msgs_per_s;
        j["rtt_us_p50"] = engine.echo.rtt_us_p50;
        j["rtt_us_p99"] = engine.echo.rtt_us_p99;
        j["ratio"] = ratio;
        j["bare_cpu_us_per_msg"] = bare.cpu_us_per_round_trip;
        j["engine_cpu_us_per_order"] = engine.echo.cpu_us_per_round_trip;
        j["bare_cpu_s_by_thread"] = thread_json(bare);
        j["engine_cpu_s_by_thread"] = thread_json(engine.echo);
        j["engine_execution_reports"] = engine.execution_reports;
        j["engine_ledger_commits"] = engine.ledger_commits;
        j["engine_commit_latency_us_max"] = engine.commit_latency_us_max;
        j["engine_commit_latency_us_mean"] = engine.commit_latency_us_mean;
        j["engine_orders_per_commit"] = engine.orders_per_commit;
        j["gateway_store_commits"] = engine.gateway_store_commits;
        double load[3] = {0, 0, 0};
        if (::getloadavg(load, 3) == 3) {
            j["loadavg_1m"] = load[0];
        }
        fmt::print("{}\n", j.dump());
    }
    return 0;
}
