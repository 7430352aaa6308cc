#include "tools/fxsettled/daemon.h"

#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "config/config.h"
#include "engine/engine_info.h"
#include "tools/fxsettled/log.h"
#include "tools/fxsettled/metrics.h"
#include "tools/fxsettled/node.h"

namespace fxsettle::daemon {

namespace {

// How long a stop waits for the engine to apply what it took in and for the outbox to be
// handed to the sessions, and how long each host waits for its logouts.
constexpr std::uint32_t kDrainTimeoutDefaultS = 15;
constexpr std::uint32_t kDrainTimeoutMaxS = 3600;
constexpr std::chrono::milliseconds kLogoutGrace{2000};

std::string one_line(std::string text) {
    while (!text.empty() && (text.back() == '\n' || text.back() == ' '))
        text.pop_back();
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\n')
            text.replace(i, 1, "; ");
    }
    return text;
}

// The refusal line: the only thing a failed start prints on stderr.
int refuse(int code, const std::string& what) {
    std::fprintf(stderr, "fxsettled: %s\n", one_line(what).c_str());
    std::fflush(stderr);
    return code;
}

// Every TLS file the config names must be a readable regular file; the first that is
// not is named ("gateway.tls.cert '/etc/fxsettle/gw.pem': No such file or directory").
std::optional<std::string> unreadable_certificate(const config::Config& c) {
    const auto check = [](const std::string& key,
                          const std::string& path) -> std::optional<std::string> {
        if (path.empty())
            return std::nullopt;
        struct stat st {};
        if (::stat(path.c_str(), &st) != 0)
            return key + " '" + path + "': " + std::strerror(errno);
        if (!S_ISREG(st.st_mode))
            return key + " '" + path + "': not a regular file";
        std::FILE* f = std::fopen(path.c_str(), "rb");
        if (f == nullptr)
            return key + " '" + path + "': " + std::strerror(errno);
        std::fclose(f);
        return std::nullopt;
    };
    const auto tls = [&](const std::string& prefix,
                         const std::optional<config::TlsConfig>& t) -> std::optional<std::string> {
        if (!t)
            return std::nullopt;
        if (auto e = check(prefix + ".cert", t->cert))
            return e;
        if (auto e = check(prefix + ".key", t->key))
            return e;
        return check(prefix + ".ca", t->ca);
    };
    if (auto e = tls("gateway.tls", c.gateway.tls))
        return e;
    for (std::size_t i = 0; i < c.venues.size(); ++i) {
        if (auto e = tls("venues[" + std::to_string(i) + "].tls", c.venues[i].tls))
            return e;
    }
    for (std::size_t i = 0; i < c.banks.size(); ++i) {
        if (auto e = tls("banks[" + std::to_string(i) + "].tls", c.banks[i].tls))
            return e;
    }
    return std::nullopt;
}

// The signal thread's shared state: the first SIGTERM/SIGINT asks for a stop, a second
// one ends the process at once (the ledger is durable; the next start recovers).
struct StopRequest {
    std::mutex mu;
    std::condition_variable cv;
    std::string signal;  // set once: "SIGTERM" / "SIGINT"
    bool quit_thread = false;
};

sigset_t stop_signals() {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    return set;
}

void signal_loop(StopRequest& stop) {
    const sigset_t set = stop_signals();
    for (;;) {
        timespec ts{0, 200'000'000};
        const int sig = sigtimedwait(&set, nullptr, &ts);
        {
            std::lock_guard lock(stop.mu);
            if (stop.quit_thread)
                return;
        }
        if (sig != SIGINT && sig != SIGTERM)
            continue;
        const char* name = sig == SIGINT ? "SIGINT" : "SIGTERM";
        std::unique_lock lock(stop.mu);
        if (stop.signal.empty()) {
            stop.signal = name;
            stop.cv.notify_all();
            continue;
        }
        lock.unlock();
        log_fields(daemon_log(), spdlog::level::warn,
                   "second signal during shutdown: exiting at once; the next start recovers "
                   "from the ledger",
                   {{"signal", name}, {"exit_code", std::to_string(kExitSecondSignal)}});
        std::fflush(stdout);
        std::_Exit(kExitSecondSignal);
    }
}

}  // namespace

std::optional<ledger::Timestamp> parse_utc_instant(std::string_view text) {
    // YYYY-MM-DDTHH:MM:SSZ
    if (text.size() != 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' ||
        text[13] != ':' || text[16] != ':' || text[19] != 'Z')
        return std::nullopt;
    const auto num = [&](std::size_t pos, std::size_t len) -> int {
        int v = 0;
        for (std::size_t i = pos; i < pos + len; ++i) {
            if (text[i] < '0' || text[i] > '9')
                return -1;
            v = v * 10 + (text[i] - '0');
        }
        return v;
    };
    const int y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2),
              s = num(17, 2);
    if (y < 1970 || mo < 1 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 59)
        return std::nullopt;
    const std::chrono::year_month_day ymd{std::chrono::year{y},
                                          std::chrono::month{static_cast<unsigned>(mo)},
                                          std::chrono::day{static_cast<unsigned>(d)}};
    if (!ymd.ok())
        return std::nullopt;
    return ledger::Timestamp(std::chrono::sys_days(ymd)) + std::chrono::hours(h) +
           std::chrono::minutes(mi) + std::chrono::seconds(s);
}

engine::Clock make_clock(std::optional<ledger::Timestamp> start, std::uint64_t rate) {
    if (!start && rate <= 1)
        return engine::system_clock();
    const ledger::Timestamp origin =
        start.value_or(ledger::Timestamp(std::chrono::duration_cast<ledger::Timestamp::duration>(
            std::chrono::system_clock::now().time_since_epoch())));
    const auto steady_origin = std::chrono::steady_clock::now();
    const auto factor = static_cast<std::int64_t>(rate == 0 ? 1 : rate);
    return [origin, steady_origin, factor] {
        const auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(
            std::chrono::steady_clock::now() - steady_origin);
        return origin + elapsed * factor;
    };
}

int run(int argc, char** argv) {
    // Before any thread exists: every thread inherits the mask, and only the signal
    // thread takes SIGINT / SIGTERM (sigtimedwait), so no work runs in a handler.
    const sigset_t signals = stop_signals();
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);

    CLI::App app{
        "fxsettled: the fxsettle settlement daemon (ledger, engine, FIX sessions, "
        "metrics)"};
    std::string config_path, data_dir, ledger_path, log_level, clock_start;
    std::optional<std::uint16_t> gateway_port, metrics_port;
    std::uint64_t clock_rate = 1;
    std::uint32_t drain_timeout_s = kDrainTimeoutDefaultS;
    bool log_json = false, check_config = false;
    app.add_option("--config", config_path, "TOML config file (default: the embedded one)");
    app.add_option("--data-dir", data_dir, "working directory for FIX stores and logs");
    app.add_option("--ledger", ledger_path, "the ledger file (LMDB)");
    app.add_option("--gateway-port", gateway_port, "the PSP gateway's listen port")
        ->check(CLI::Range(1, 65535));
    app.add_option("--metrics-port", metrics_port, "the Prometheus /metrics port (0: any)")
        ->check(CLI::Range(0, 65535));
    app.add_option("--log-level", log_level, "trace|debug|info|warn|error (default: [log] level)")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
    app.add_flag("--log-json", log_json, "log JSON lines (ts, level, logger, msg, fields)");
    app.add_option("--clock-start", clock_start,
                   "the engine clock starts at this UTC instant, e.g. 2026-11-23T02:00:00Z");
    app.add_option("--clock-rate", clock_rate, "the engine clock runs this many times real time")
        ->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1'000'000}));
    app.add_option("--drain-timeout", drain_timeout_s,
                   "on SIGTERM/SIGINT, wait up to this many seconds for the engine and the "
                   "outbox to drain before logging the sessions out")
        ->capture_default_str()
        ->check(CLI::Range(std::uint32_t{0}, kDrainTimeoutMaxS));
    app.add_flag("--check-config", check_config,
                 "load and check the config with the overrides, print OK, exit");
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        const int rc = app.exit(e);
        return rc == 0 ? kExitOk : kExitUsage;
    }
    std::optional<ledger::Timestamp> start_at;
    if (!clock_start.empty()) {
        start_at = parse_utc_instant(clock_start);
        if (!start_at)
            return refuse(kExitUsage, "--clock-start '" + clock_start +
                                          "' is not a UTC instant like 2026-11-23T02:00:00Z");
    }

    // ---- the config and the command line's overrides ----
    auto loaded =
        config_path.empty() ? config::load_default_config() : config::load_config_file(config_path);
    if (!loaded.has_value())
        return refuse(kExitInvalidConfig, "invalid config: " + loaded.error().message());
    config::Config cfg = std::move(*loaded);
    if (!data_dir.empty())
        cfg.node.data_dir = data_dir;
    if (!ledger_path.empty())
        cfg.ledger.path = ledger_path;
    if (gateway_port)
        cfg.gateway.listen.port = *gateway_port;
    if (metrics_port)
        cfg.metrics.listen.port = *metrics_port;
    {
        // The overrides must still give a valid config (every loader check again).
        auto again = config::load_config_string(config::to_toml(cfg), cfg.source_name);
        if (!again.has_value())
            return refuse(kExitInvalidConfig, "invalid config: " + again.error().message());
    }
    if (cfg.gateway.listen.port == 0)
        return refuse(kExitInvalidConfig,
                      "invalid config: gateway.listen: port 0 is not allowed for fxsettled; "
                      "give a port (--gateway-port)");
    if (auto bad = unreadable_certificate(cfg))
        return refuse(kExitUnreadableCert, "unreadable certificate: " + *bad);
    spdlog::level::level_enum level = spdlog::level::info;
    if (!parse_log_level(log_level.empty() ? cfg.log.level : log_level, &level))
        return refuse(kExitInvalidConfig, "invalid config: log.level: '" + cfg.log.level +
                                              "' is not trace|debug|info|warn|error");
    if (check_config) {
        std::printf("fxsettled: config OK (%s)\n", cfg.source_name.c_str());
        return kExitOk;
    }
    init_logging(level, log_json);
    const std::string version(engine::version());
    // Debug only: a refused start prints nothing but its one line at the default level.
    log_fields(daemon_log(), spdlog::level::debug, "starting",
               {{"version", version},
                {"config", cfg.source_name},
                {"node", cfg.node.name},
                {"ledger", cfg.ledger.path},
                {"data_dir", cfg.node.data_dir},
                {"clock_start", clock_start.empty() ? "system" : clock_start},
                {"clock_rate", std::to_string(clock_rate)}});

    const engine::Clock clock = make_clock(start_at, clock_rate);

    // ---- metrics (bound before the node starts, so a port in use changes nothing) ----
    std::unique_ptr<Metrics> metrics;
    if (cfg.metrics.enabled) {
        MetricsOptions mo;
        mo.host = cfg.metrics.listen.host;
        mo.port = cfg.metrics.listen.port;
        mo.version = version;
        auto m = Metrics::create(cfg, mo, clock);
        if (!m.has_value()) {
            return refuse(
                m.error().code() == StatusCode::kUnavailable ? kExitPortInUse : kExitStartFailure,
                m.error().message());
        }
        metrics = std::move(*m);
    }

    // ---- the node ----
    node::NodeOptions no;
    no.clock = clock;
    no.log = edge_log_fn();
    // A clock other than the system's: venues' SendingTime is wall-clock time, so rates
    // are stamped on receipt with the engine's clock (staleness in engine time).
    no.stamp_rates_on_receipt = start_at.has_value() || clock_rate > 1;
    if (metrics)
        no.observe = metrics->observer();
    auto created = node::Node::create(cfg, no);
    if (!created.has_value()) {
        const Status& s = created.error();
        int code = kExitStartFailure;
        switch (s.code()) {
            case StatusCode::kInvalidArgument:
                code = kExitInvalidConfig;
                break;
            case StatusCode::kUnsupported:
                code = kExitLedgerVersion;
                break;
            case StatusCode::kUnavailable:
                code = kExitLedgerLocked;
                break;
            default:
                break;
        }
        return refuse(code, s.message());
    }
    std::unique_ptr<node::Node> node = std::move(*created);
    if (metrics)
        metrics->attach(*node);
    if (Status s = node->start(); !s) {
        if (metrics)
            metrics->stop();
        node.reset();
        return refuse(s.code() == StatusCode::kUnavailable ? kExitPortInUse : kExitStartFailure,
                      s.message());
    }

    StopRequest stop;
    std::thread signal_thread([&stop] { signal_loop(stop); });
    const std::string gateway =
        cfg.gateway.listen.host + ":" + std::to_string(node->gateway_host().listen_port());
    const std::string metrics_at =
        metrics ? cfg.metrics.listen.host + ":" + std::to_string(metrics->port()) : "off";
    log_fields(
        daemon_log(), spdlog::level::info, "ready",
        {{"gateway", gateway}, {"metrics", metrics_at}, {"ledger", node->ledger_path().string()}});
    std::printf("fxsettled ready gateway=%s metrics=%s ledger=%s\n", gateway.c_str(),
                metrics_at.c_str(), node->ledger_path().string().c_str());
    std::fflush(stdout);

    // ---- run until a signal, or until the engine fails ----
    std::string signal_name;
    Status failure;
    {
        std::unique_lock lock(stop.mu);
        for (;;) {
            if (!stop.signal.empty()) {
                signal_name = stop.signal;
                break;
            }
            lock.unlock();
            failure = node->health();
            lock.lock();
            if (!failure)
                break;
            stop.cv.wait_for(lock, std::chrono::milliseconds(200));
        }
    }

    int exit_code = kExitOk;
    if (!failure) {
        log_fields(daemon_log(), spdlog::level::err,
                   "the engine failed; stopping (the next start recovers from the ledger)",
                   {{"error", one_line(failure.message())}});
        exit_code = kExitRuntimeFailure;
    } else {
        log_fields(daemon_log(), spdlog::level::info, "stopping: intake closed",
                   {{"signal", signal_name}});
    }
    // Stop intake, let the engine finish what it took in and the sessions take the
    // outbox, then log the sessions out and stop the engine.
    node->close_intake();
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(drain_timeout_s);
    bool drained = node->drained();
    while (!drained && std::chrono::steady_clock::now() < deadline && node->health()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        drained = node->drained();
    }
    if (!drained && exit_code == kExitOk)
        log_fields(daemon_log(), spdlog::level::warn,
                   "not drained by the deadline; what is left stays in the outbox and is "
                   "delivered again at the next start",
                   {{"deadline_s", std::to_string(drain_timeout_s)}});
    const Status stopped = node->stop(kLogoutGrace);
    if (metrics)
        metrics->stop();
    const engine::SequencerCounters sc = node->sequencer_counters();
    const std::string ledger_at = node->ledger_path().string();
    node.reset();  // closes the ledger
    if (!stopped) {
        log_fields(daemon_log(), spdlog::level::err, "stopped with an engine failure",
                   {{"error", one_line(stopped.message())}});
        exit_code = kExitRuntimeFailure;
    }
    log_fields(daemon_log(), exit_code == kExitOk ? spdlog::level::info : spdlog::level::err,
               exit_code == kExitOk ? "stopped cleanly" : "stopped after a failure",
               {{"commands", std::to_string(sc.commands)},
                {"commits", std::to_string(sc.commits)},
                {"outbox_backlog", std::to_string(sc.outbox_backlog)},
                {"ledger", ledger_at},
                {"exit_code", std::to_string(exit_code)}});
    {
        std::lock_guard lock(stop.mu);
        stop.quit_thread = true;
    }
    signal_thread.join();
    metrics.reset();
    return exit_code;
}

}  // namespace fxsettle::daemon
