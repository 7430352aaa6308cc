// fxledger's command line: parses arguments (CLI11), opens the ledger read-only, runs one
// command from commands.h / export.h / reconcile.h and prints its report. main.cpp is
// only `return run(argc, argv, std::cout, std::cerr)`; tests call run() directly too.
#pragma once

#include <ostream>

namespace fxsettle::fxledger {

// Runs fxledger with `argv` (argv[0] is the program name), printing results on `out`
// and one line per error on `err`. Returns the exit code (see ExitCode in commands.h).
int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err);

}  // namespace fxsettle::fxledger
