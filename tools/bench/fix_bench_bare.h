// The bare QuickFIX echo pair of fix_bench (plain header; the implementation is C++14
// with QuickFIX inside): an initiator sends NewOrderSingle, an acceptor answers each with
// an ExecutionReport from its fromApp, over loopback TCP on 127.0.0.1, with the data
// dictionary's validation on and an in-memory message store (QuickFIX's MemoryStore: no
// durability). The initiator keeps at most `window` orders outstanding, so neither side's
// socket fills (QuickFIX's sendRaw holds the session lock during a blocking send).
#pragma once

#include <cstddef>
#include <string>

#include "tools/bench/fix_bench_measure.h"

namespace fxsettle {
namespace bench {

struct BareEchoOptions {
    std::size_t messages = 100000;  // measured round trips
    std::size_t warmup = 5000;      // round trips before measuring
    std::size_t window = 64;        // orders in flight at most
    std::string dictionary_path;    // config/fix/FIX44-fxsettle.xml
};

// Runs the pair to completion. False and *error on failure (no free port, no logon).
bool run_bare_echo(const BareEchoOptions& options, EchoFigures* figures, std::string* error);

}  // namespace bench
}  // namespace fxsettle
