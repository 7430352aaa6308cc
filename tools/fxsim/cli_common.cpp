#include "tools/fxsim/cli_common.h"

#include <signal.h>
#include <spdlog/spdlog.h>

#include <ctime>
#include <filesystem>
#include <system_error>

#include "config/fix_dictionary.h"

namespace fxsettle::fxsim {

void add_common_options(CLI::App& app, CommonCli& cli, const std::string& default_store) {
    cli.store_path = default_store;
    app.add_option("--config", cli.config_path,
                   "fxsettle config file (default: the embedded default config)");
    app.add_option("--dictionary", cli.dictionary_path,
                   "FIX 4.4 data dictionary (default: the compiled-in one, written next to "
                   "the --store file)");
    app.add_option("--store", cli.store_path, "LMDB file for FIX session state")
        ->capture_default_str();
    app.add_option("--fix-log-dir", cli.log_dir, "directory for QuickFIX message logs");
    app.add_option("--log-level", cli.log_level, "trace, debug, info, warn, error")
        ->capture_default_str();
    app.add_option("--seed", cli.seed, "random seed (same seed, same content)")
        ->capture_default_str();
}

bool resolve_dictionary(CommonCli& cli, std::string* error) {
    if (!cli.dictionary_path.empty())
        return true;
    std::filesystem::path dir = std::filesystem::path(cli.store_path).parent_path();
    if (dir.empty())
        dir = ".";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
        *error = "cannot create " + dir.string() + ": " + ec.message();
        return false;
    }
    auto written = config::write_fix_dictionary(dir);
    if (!written) {
        *error = written.error().message();
        return false;
    }
    cli.dictionary_path = written->string();
    return true;
}

bool set_log_level(const std::string& level) {
    const auto l = spdlog::level::from_str(level);
    if (l == spdlog::level::off && level != "off") {
        return false;
    }
    spdlog::set_level(l);
    return true;
}

namespace {
sigset_t stop_set() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGUSR1);
    return set;
}
}  // namespace

void block_signals() {
    const sigset_t set = stop_set();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

std::string wait_for_stop(const std::function<bool()>& poll, const std::function<void()>& on_usr1,
                          std::chrono::milliseconds poll_interval) {
    const sigset_t set = stop_set();
    for (;;) {
        timespec ts{};
        ts.tv_sec = static_cast<time_t>(poll_interval.count() / 1000);
        ts.tv_nsec = static_cast<long>((poll_interval.count() % 1000) * 1'000'000);
        const int sig = sigtimedwait(&set, nullptr, &ts);
        if (sig == SIGINT) {
            return "SIGINT";
        }
        if (sig == SIGTERM) {
            return "SIGTERM";
        }
        if (sig == SIGUSR1 && on_usr1) {
            on_usr1();
        }
        if (poll && poll()) {
            return "";
        }
    }
}

}  // namespace fxsettle::fxsim
