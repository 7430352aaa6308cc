// fxsettled: the settlement daemon (README.md: CLI, exit codes, signals, logs, metrics).
// main() is run(argc, argv); everything else is here so that the pieces can be tested.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "engine/sequencer/sequencer.h"
#include "ledger/types.h"

namespace fxsettle::daemon {

// Exit codes (stable; README.md lists them). A refused start prints ONE line on stderr.
enum ExitCode : int {
    kExitOk = 0,
    kExitRuntimeFailure = 1,  // the engine failed while running, or a stop went wrong
    kExitUsage = 2,           // bad command line
    kExitInvalidConfig = 3,   // the config (with the command line's overrides) is invalid
    kExitLedgerVersion = 4,   // the ledger file has another format version
    kExitPortInUse = 5,       // the gateway's or the metrics port is in use
    kExitLedgerLocked = 6,    // another process has the ledger open for writing
    kExitUnreadableCert = 7,  // a TLS certificate, key or CA file cannot be read
    kExitStartFailure = 8,    // any other start-up failure (I/O, a corrupt ledger)
    kExitSecondSignal = 130,  // a second SIGTERM/SIGINT during shutdown: exit at once
};

// Parses "2026-11-23T02:00:00Z" (UTC, whole seconds, optional fraction ignored: no).
std::optional<ledger::Timestamp> parse_utc_instant(std::string_view text);

// The engine clock: `start` + (steady time since now) x `rate`. Without a start: the
// system clock (rate 1) or now accelerated.
engine::Clock make_clock(std::optional<ledger::Timestamp> start, std::uint64_t rate);

// The daemon. Returns the process exit code.
int run(int argc, char** argv);

}  // namespace fxsettle::daemon
