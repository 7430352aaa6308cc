// What the fxsim-* mains share: the options every simulator takes, logging set-up and a
// signal loop (SIGINT / SIGTERM stop, SIGUSR1 does the simulator's "on demand" action).
#pragma once

#include <chrono>
#include <functional>
#include <string>

#include <CLI/CLI.hpp>

namespace fxsettle::fxsim {

struct CommonCli {
    std::string config_path;      // empty: the embedded default config
    std::string dictionary_path;  // empty: the compiled-in dictionary (resolve_dictionary)
    std::string store_path;
    std::string log_dir;
    std::string log_level = "info";
    std::uint64_t seed = 1;
};

// Adds --config, --dictionary, --store, --fix-log-dir, --log-level and --seed.
void add_common_options(CLI::App& app, CommonCli& cli, const std::string& default_store);
// Without --dictionary, writes the compiled-in dictionary next to the --store file and
// points cli.dictionary_path at it; false with *error naming the file when it cannot.
bool resolve_dictionary(CommonCli& cli, std::string* error);
// Sets spdlog's level; false for an unknown level name.
bool set_log_level(const std::string& level);

// Blocks SIGINT, SIGTERM and SIGUSR1 for this thread and every thread it starts: call
// first in main, before any thread exists.
void block_signals();
// Waits for signals: returns on SIGINT / SIGTERM (their name) or when `poll` (called
// every `poll_interval`) returns true (""). SIGUSR1 calls `on_usr1`.
std::string wait_for_stop(const std::function<bool()>& poll, const std::function<void()>& on_usr1,
                          std::chrono::milliseconds poll_interval = std::chrono::milliseconds{500});

}  // namespace fxsettle::fxsim
