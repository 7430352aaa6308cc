// The engine path of fix_bench (C++20, plain headers only): a PSP client -- a SessionHost
// initiator with two PSP sessions (alpha and borealis of the default config) -- sends
// crossing EUR/CNY limit orders (NewOrderSingle) through the real PSP gateway
// (adapters/edge Gateway on an acceptor SessionHost), the real Engine under the real
// Sequencer on a durable LMDB ledger file, EdgeSink and the outbox, and receives the
// ExecutionReports back; both hosts use the LMDB message store in its default (lagging,
// durably acknowledged) mode. Deposits (U6 DepositNotice through the converter, as the
// bank adapter does) fund both PSPs in EUR and CNY first.
//
// Orders alternate so that every pair crosses (alpha buys at 7.7006 while borealis sells
// at 7.7004, then the other way round), keeping both PSPs' positions near zero. One
// "round trip" is an order and the first ExecutionReport for its ClOrdID (New for a
// resting order, Trade for the crossing one); at most `window` orders are outstanding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "tools/bench/fix_bench_measure.h"

namespace fxsettle::bench {

struct EngineEchoOptions {
    std::size_t messages = 100000;   // measured round trips (orders)
    std::size_t warmup = 5000;       // orders before measuring
    std::size_t window = 64;         // orders in flight at most
    std::string dictionary_path;     // config/fix/FIX44-fxsettle.xml
    std::string work_dir;            // the ledger and message store files go here (made)
    bool synchronous_store = false;  // the FIX stores' one-fsync-per-call mode instead
};

struct EngineFigures {
    EchoFigures echo;                         // orders: round trips/s, rtt p50/p99
    std::uint64_t execution_reports = 0;      // received during the measured run
    std::uint64_t rejects = 0;                // ExecutionReports Rejected, BusinessMessageRejects
    std::uint64_t ledger_commits = 0;         // the sequencer's commits over the whole run
    std::uint64_t gateway_store_commits = 0;  // the gateway's FIX store commits (fsyncs)
    double commit_latency_us_max = 0.0;       // the sequencer's slowest ledger commit
    double commit_latency_us_mean = 0.0;      // ... and its mean
    double orders_per_commit = 0.0;           // orders (warm-up included) per commit
};

// Runs the engine path to completion. False and *error on failure (setup, no logon, a
// rejected order, no reply within the time limit).
bool run_engine_echo(const EngineEchoOptions& options, EngineFigures* figures, std::string* error);

}  // namespace fxsettle::bench
