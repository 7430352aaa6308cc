// The demo's run: config, the fxsettled child process, the simulators, the traffic, the
// wait for the day to settle and the stop (demo.h, steps 1-5). The checks and the replay
// are in report.cpp.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/spdlog.h>

#include "config/config.h"
#include "config/fix_dictionary.h"
#include "tools/demo/demo.h"
#include "tools/demo/internal.h"
#include "tools/fxsim/bank_sim.h"
#include "tools/fxsim/psp_sim.h"
#include "tools/fxsim/venue_sim.h"

extern char** environ;

namespace fxsettle::demo {

namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

// The PSPs' collections: every PSP trades several pairs, so that the books and the
// cut-off conversions cross between PSPs on most pairs (ember pays out offshore, CNH).
const std::map<std::string, std::vector<const char*>> kCollect = {
    {"alpha", {"USD", "EUR", "GBP", "CAD"}},
    {"borealis", {"EUR", "GBP", "USD", "AUD"}},
    {"coral", {"JPY", "KRW", "USD", "SGD", "HKD"}},
    {"delta", {"AUD", "CAD", "SGD", "USD", "KRW", "JPY"}},
    {"ember", {"HKD", "USD", "EUR", "JPY", "GBP"}},
};

// Major units worth about one US dollar, for limits and deposits.
std::int64_t usd_scale(std::string_view code) {
    if (code == "JPY")
        return 150;
    if (code == "KRW")
        return 1'350;
    if (code == "CNY" || code == "CNH" || code == "HKD")
        return 8;
    return 1;
}

money::Amount major_units(std::int64_t major, const money::Currency& c) {
    money::Amount a = money::Amount::from_minor(major);
    for (int i = 0; i < c.exponent; ++i)
        a = *a.checked_mul(10);
    return a;
}

Result<std::uint16_t> free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return fail(StatusCode::kUnavailable, "cannot open a socket to probe a free port");
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    socklen_t len = sizeof a;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0) {
        ::close(fd);
        return fail(StatusCode::kUnavailable, "cannot bind a probe socket on 127.0.0.1");
    }
    ::close(fd);
    return ntohs(a.sin_port);
}

std::string utc_text(std::chrono::system_clock::time_point t) {
    const auto s = std::chrono::floor<std::chrono::seconds>(t);
    const auto day = std::chrono::floor<std::chrono::days>(s);
    const std::chrono::year_month_day ymd(day);
    const std::chrono::hh_mm_ss tod(s - day);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                  static_cast<int>(tod.hours().count()), static_cast<int>(tod.minutes().count()),
                  static_cast<int>(tod.seconds().count()));
    return buf;
}

// The fxsettled child: spawned with stdout on a pipe (read for the ready line, then
// copied to the log) and stderr appended to the log file.
class Daemon {
  public:
    ~Daemon() {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            int st = 0;
            ::waitpid(pid_, &st, 0);
        }
        if (reader_.joinable())
            reader_.join();
    }

    Status spawn(const std::vector<std::string>& args, const std::filesystem::path& log) {
        log_path_ = log;
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) != 0)
            return Status(StatusCode::kIoError, "cannot make a pipe for fxsettled's output");
        posix_spawn_file_actions_t fa;
        posix_spawn_file_actions_init(&fa);
        posix_spawn_file_actions_adddup2(&fa, fds[1], 1);
        posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        std::vector<char*> argv;
        for (const std::string& a : args)
            argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        const int rc = ::posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
        posix_spawn_file_actions_destroy(&fa);
        ::close(fds[1]);
        if (rc != 0) {
            ::close(fds[0]);
            pid_ = -1;
            return Status(StatusCode::kUnavailable,
                          "cannot start " + args[0] + ": " + std::strerror(rc));
        }
        reader_ = std::thread([this, fd = fds[0]] { read_loop(fd); });
        return Status::ok();
    }

    // Waits for "fxsettled ready ..." (the line), or for the child to end.
    std::optional<std::string> wait_ready(std::chrono::seconds limit) {
        std::unique_lock lock(mu_);
        cv_.wait_for(lock, limit, [&] { return !ready_.empty() || eof_; });
        if (ready_.empty())
            return std::nullopt;
        return ready_;
    }

    // SIGTERM, then waits; the exit status (or nullopt after SIGKILL at the deadline).
    std::optional<int> terminate(std::chrono::seconds limit) {
        if (pid_ <= 0)
            return std::nullopt;
        ::kill(pid_, SIGTERM);
        const auto deadline = SteadyClock::now() + limit;
        while (SteadyClock::now() < deadline) {
            int st = 0;
            const pid_t r = ::waitpid(pid_, &st, WNOHANG);
            if (r == pid_) {
                pid_ = -1;
                return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
            }
            std::this_thread::sleep_for(20ms);
        }
        return std::nullopt;  // the destructor kills it
    }

    // Whether the child has exited (reaps it).
    bool exited() {
        if (pid_ <= 0)
            return true;
        int st = 0;
        if (::waitpid(pid_, &st, WNOHANG) == pid_) {
            pid_ = -1;
            return true;
        }
        return false;
    }

    pid_t pid() const { return pid_; }

  private:
    void read_loop(int fd) {
        std::ofstream log(log_path_, std::ios::app);
        std::string pending;
        char buf[4096];
        while (true) {
            const ssize_t n = ::read(fd, buf, sizeof buf);
            if (n <= 0)
                break;
            pending.append(buf, static_cast<std::size_t>(n));
            std::size_t nl;
            while ((nl = pending.find('\n')) != std::string::npos) {
                const std::string line = pending.substr(0, nl);
                pending.erase(0, nl + 1);
                log << line << '\n';
                log.flush();
                if (line.rfind("fxsettled ready", 0) == 0) {
                    std::lock_guard lock(mu_);
                    ready_ = line;
                    cv_.notify_all();
                }
            }
        }
        ::close(fd);
        std::lock_guard lock(mu_);
        eof_ = true;
        cv_.notify_all();
    }

    pid_t pid_ = -1;
    std::filesystem::path log_path_;
    std::thread reader_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::string ready_;
    bool eof_ = false;
};

// The value of `key=` in the ready line ("gateway=127.0.0.1:9878").
std::string ready_field(const std::string& line, const std::string& key) {
    const auto at = line.find(key + "=");
    if (at == std::string::npos)
        return {};
    const auto from = at + key.size() + 1;
    const auto end = line.find(' ', from);
    return line.substr(from, end == std::string::npos ? std::string::npos : end - from);
}

// The run's config: the embedded default with its ports, files and limits changed.
Status write_config(config::Config& cfg, const std::filesystem::path& dir,
                    const std::map<std::string, std::uint16_t>& ports,
                    const std::filesystem::path& path) {
    cfg.node.data_dir = (dir / "node").string();
    cfg.ledger.path = (dir / "ledger.lmdb").string();
    cfg.log.level = "warn";
    cfg.gateway.listen.port = ports.at("gateway");
    cfg.metrics.enabled = true;
    cfg.metrics.listen.port = ports.at("metrics");
    // Engine time runs fast: a quote stays firm its longest, a venue rate is fresh for 10
    // engine minutes (less than a second of real time at the default clock rate).
    cfg.engine.quote_ttl_ms = std::chrono::milliseconds(3'600'000);
    for (auto& v : cfg.venues) {
        v.port = ports.at(v.id);
        v.rate_stale_ms = std::chrono::milliseconds(600'000);
        v.reconnect_interval_s = 1s;
    }
    for (auto& b : cfg.banks) {
        b.port = ports.at(b.id);
        b.reconnect_interval_s = 1s;
    }
    // Limits sized for the day's volume: every PSP may carry a net debit of two billion US
    // dollars' worth per currency and cycle (no short limit), and draw credit as before.
    for (auto& p : cfg.psps) {
        p.net_debit_caps.clear();
        p.short_position_limits.clear();
        for (const auto& c : cfg.cycles)
            p.net_debit_caps[c.currency] =
                major_units(2'000'000'000 * usd_scale(c.currency.code_view()), c.currency);
        p.aggregate_cap = money::Money{major_units(20'000'000'000, *cfg.currency_table.find("USD")),
                                       *cfg.currency_table.find("USD")};
    }
    std::ofstream f(path, std::ios::trunc);
    f << "# fxsettle-demo's config for this run: the embedded default with loopback ports\n"
         "# picked free, files under this folder, fast-clock quote and rate lifetimes and\n"
         "# limits sized for the day's volume.\n"
      << config::to_toml(cfg);
    f.close();
    if (!f)
        return Status(StatusCode::kIoError, "cannot write " + path.string());
    return Status::ok();
}

}  // namespace

Result<DemoReport> run_demo(const DemoOptions& options, std::ostream& progress) {
    const auto started = SteadyClock::now();
    const auto deadline = started + options.deadline;
    DemoReport report;
    const auto start_at = fxsim::parse_utc_instant(options.clock_start);
    if (!start_at)
        return fail(StatusCode::kInvalidArgument,
                    "--clock-start '" + options.clock_start + "' is not YYYY-MM-DDTHH:MM:SSZ");
    for (const auto& bin : {options.fxsettled, options.fxledger}) {
        if (::access(bin.c_str(), X_OK) != 0)
            return fail(StatusCode::kFailedPrecondition,
                        bin.string() +
                            " is not an executable (build it first: cmake --build "
                            "<build> --target fxsettled fxledger)");
    }
    std::filesystem::path dir = options.dir;
    if (dir.empty()) {
        std::string stamp = utc_text(std::chrono::system_clock::now());
        std::replace(stamp.begin(), stamp.end(), ':', '-');
        dir = std::filesystem::path("var") / ("demo-" + stamp);
    }
    std::error_code ec;
    if (std::filesystem::exists(dir / "ledger.lmdb"))
        return fail(StatusCode::kFailedPrecondition,
                    dir.string() + " holds a ledger already: give a new --dir");
    std::filesystem::create_directories(dir / "node", ec);
    if (ec)
        return fail(StatusCode::kIoError, "cannot create " + dir.string() + ": " + ec.message());
    dir = std::filesystem::absolute(dir);
    report.dir = dir;
    report.config_path = dir / "fxsettle.toml";
    report.ledger_path = dir / "ledger.lmdb";
    report.log_path = dir / "fxsettled.log";
    report.metrics_path = dir / "metrics.txt";
    report.statement_dir = dir / "statements";
    report.clock_start = options.clock_start;
    report.clock_rate = options.clock_rate;

    auto loaded = config::load_default_config();
    if (!loaded)
        return fail(loaded.error());
    config::Config cfg = *loaded;
    std::map<std::string, std::uint16_t> ports;
    std::vector<std::string> names = {"gateway", "metrics"};
    for (const auto& v : cfg.venues)
        names.push_back(v.id);
    for (const auto& b : cfg.banks)
        names.push_back(b.id);
    for (const std::string& n : names) {
        auto p = free_port();
        if (!p)
            return fail(p.error());
        ports[n] = *p;
    }
    if (Status s = write_config(cfg, dir, ports, report.config_path); !s)
        return fail(std::move(s));
    report.psps = cfg.psps.size();
    report.pairs = cfg.pairs.size();
    report.currencies = cfg.cycles.size();

    // The simulators log to a file of their own (the report is the terminal's).
    try {
        spdlog::drop("fxsim");
        auto sims_log = spdlog::basic_logger_mt("fxsim", (dir / "simulators.log").string());
        spdlog::set_default_logger(sims_log);
        spdlog::flush_every(std::chrono::seconds(1));
    } catch (const spdlog::spdlog_ex& e) {
        return fail(StatusCode::kIoError, std::string("simulator log: ") + e.what());
    }

    // 2. The daemon, and the clock the simulators share with it.
    Daemon daemon;
    const std::string rate_text = std::to_string(options.clock_rate);
    const fxsim::SimClock clock = fxsim::accelerated_clock(*start_at, options.clock_rate);
    if (Status s =
            daemon.spawn({options.fxsettled.string(), "--config", report.config_path.string(),
                          "--clock-start", options.clock_start, "--clock-rate", rate_text},
                         report.log_path);
        !s)
        return fail(std::move(s));
    const auto ready = daemon.wait_ready(60s);
    if (!ready)
        return fail(StatusCode::kUnavailable,
                    "fxsettled did not report ready within 60 s; see " + report.log_path.string());
    report.metrics_url = "http://" + ready_field(*ready, "metrics") + "/metrics";
    progress << "fxsettled (pid " << daemon.pid() << ") " << ready->substr(10) << "\n";

    // 3. Venues and banks on the config's ports.
    auto written_dictionary = config::write_fix_dictionary(dir);
    if (!written_dictionary)
        return fail(written_dictionary.error());
    const std::string dictionary = written_dictionary->string();
    std::vector<std::unique_ptr<fxsim::VenueSim>> venues;
    std::vector<std::unique_ptr<fxsim::BankSim>> banks;
    std::uint64_t seed = options.seed;
    for (const auto& v : cfg.venues) {
        fxsim::VenueOptions o;
        o.venue_comp_id = v.target_comp_id;
        o.client_comp_ids = {v.sender_comp_id};
        o.listen_port = v.port;
        o.dictionary_path = dictionary;
        o.store_path = (dir / ("sim-" + v.id + ".lmdb")).string();
        std::vector<std::string> symbols;
        for (const auto& pair : v.pairs)
            symbols.push_back(pair.to_string());
        auto q = fxsim::pair_quotes(cfg, symbols, {});
        if (!q)
            return fail(q.error());
        o.pairs = *q;
        o.stream_interval = 200ms;
        o.level_size_major = 5'000'000;
        o.faults.partial_fill_permille = 100;  // a tenth of the hedges fill in two parts
        o.seed = ++seed;
        o.clock = clock;
        std::string error;
        auto sim = fxsim::VenueSim::create(o, &error);
        if (!sim || !sim->start(&error))
            return fail(StatusCode::kUnavailable, "venue simulator " + v.id + ": " + error);
        venues.push_back(std::move(sim));
    }
    std::map<std::string, fxsim::BankSim*> bank_of;  // by currency code
    for (const auto& b : cfg.banks) {
        fxsim::BankOptions o;
        o.bank_id = b.id;
        o.bank_comp_id = b.target_comp_id;
        o.client_comp_ids = {b.sender_comp_id};
        o.listen_port = b.port;
        o.dictionary_path = dictionary;
        o.store_path = (dir / ("sim-" + b.id + ".lmdb")).string();
        o.currencies = b.currencies;
        o.confirm_delay = 20ms;
        o.reject_permille = 5;  // a few beneficiary accounts are closed (AC04, ...)
        o.seed = ++seed;
        o.clock = clock;
        std::string error;
        auto sim = fxsim::BankSim::create(o, &error);
        if (!sim || !sim->start(&error))
            return fail(StatusCode::kUnavailable, "bank simulator " + b.id + ": " + error);
        for (const auto& c : b.currencies)
            bank_of[c.to_string()] = sim.get();
        banks.push_back(std::move(sim));
    }
    MetricsScraper metrics(ready_field(*ready, "metrics"));
    auto wait_until = [&](const std::function<bool()>& done) {
        while (SteadyClock::now() < deadline) {
            if (done())
                return true;
            if (daemon.exited())
                return false;
            std::this_thread::sleep_for(50ms);
        }
        return false;
    };
    auto sessions_up = [&] {
        for (const auto& v : venues)
            if (v->sessions_up().empty())
                return false;
        for (const auto& b : banks)
            if (b->sessions_up().empty())
                return false;
        return true;
    };
    if (!wait_until(sessions_up))
        return fail(
            StatusCode::kUnavailable,
            "fxsettled's venue and bank sessions did not log on; see " + report.log_path.string());

    // Deposits: every PSP pays in half a billion US dollars' worth of each currency it uses.
    std::uint64_t deposits = 0;
    for (const auto& p : cfg.psps) {
        std::vector<std::string> codes;
        for (const char* c : kCollect.at(p.id))
            codes.push_back(c);
        codes.push_back(p.id == "ember" ? "CNH" : "CNY");
        for (const std::string& code : codes) {
            const money::Currency c = *cfg.currency_table.find(code);
            const money::Money m{major_units(500'000'000 * usd_scale(code), c), c};
            auto ref = bank_of.at(code)->send_deposit(p.id, m);
            if (!ref)
                return fail(ref.error());
            ++deposits;
        }
    }
    // Rates from both venues and the deposits in before the PSPs price anything.
    if (!wait_until([&] {
            for (const auto& v : venues)
                if (v->figures().increments < 3)
                    return false;
            return metrics.scrape() &&
                   metrics.sum("fxsettle_engine_commands_total") >= static_cast<double>(deposits);
        }))
        return fail(StatusCode::kUnavailable,
                    "the deposits and the first rates did not reach the engine; see " +
                        report.log_path.string());

    // 4. The PSPs.
    fxsim::PspOptions po;
    po.gateway_port = ports.at("gateway");
    po.gateway_comp_id = cfg.gateway.sender_comp_id;
    for (const auto& p : cfg.psps) {
        fxsim::PspIdentity who;
        who.psp_id = p.id;
        who.sender_comp_id = p.sender_comp_id;
        who.username = p.username;
        who.password = p.username + "-demo-password";
        for (const char* c : kCollect.at(p.id))
            who.collect.push_back(*cfg.currency_table.find(c));
        who.payout = *cfg.currency_table.find(p.id == "ember" ? "CNH" : "CNY");
        po.psps.push_back(std::move(who));
    }
    po.dictionary_path = dictionary;
    po.store_path = (dir / "sim-psps.lmdb").string();
    po.reconnect_interval = 1s;
    auto pq = fxsim::pair_quotes(cfg, {}, {});
    if (!pq)
        return fail(pq.error());
    po.pairs = *pq;
    for (const auto& b : cfg.banks)
        for (const auto& c : b.currencies)
            po.banks[c.to_string()] = b.id;
    po.rate_per_s = options.rate_per_s;
    po.messages_max = options.instructions;
    po.mix = fxsim::PspMix{30, 4, 4, 12, 30, 10, 10};
    po.buy_permille = 450;
    po.settl_type = "1";  // value today: the day's cut-offs settle it
    po.max_in_flight = options.max_in_flight;
    po.seed = options.seed;
    po.clock = clock;
    std::string error;
    auto psps = fxsim::PspSim::create(po, &error);
    if (!psps || !psps->start(&error))
        return fail(StatusCode::kUnavailable, "PSP simulator: " + error);

    // 5. The day: traffic, then every cut-off, until everything settled.
    const auto day = std::chrono::floor<std::chrono::days>(*start_at);
    std::chrono::minutes last_cutoff{0};
    for (const auto& c : cfg.cycles)
        for (const auto m : c.cutoffs)
            last_cutoff = std::max(last_cutoff, m);
    const auto day_end = day + last_cutoff + 5min;
    auto last_line = SteadyClock::now() - 1h;
    auto show = [&](bool final_line) {
        const auto now = SteadyClock::now();
        if (!final_line && !options.progress_tty && now - last_line < 5s)
            return;
        if (!final_line && options.progress_tty && now - last_line < 200ms)
            return;
        last_line = now;
        const double cycles = metrics.sum("fxsettle_cycles_completed_total");
        std::ostringstream line;
        line << "[" << std::chrono::duration_cast<std::chrono::seconds>(now - started).count()
             << " s] engine clock " << utc_text(clock()).substr(11, 5) << "  sent " << psps->sent()
             << "/" << options.instructions << "  payouts accepted " << psps->count("U2/A")
             << " rejected " << psps->count("U2/R") << " settled " << psps->count("U2/S")
             << " failed " << psps->count("U2/F") << "  cycles "
             << static_cast<std::uint64_t>(cycles) << "  bank orders " << [&] {
                    std::uint64_t n = 0;
                    for (const auto& b : banks)
                        n += b->figures().orders;
                    return n;
                }();
        if (options.progress_tty)
            progress << "\r" << line.str() << "   " << (final_line ? "\n" : "") << std::flush;
        else
            progress << line.str() << "\n" << std::flush;
    };
    auto payouts_final = [&] {
        return psps->count("U2/S") + psps->count("U2/F") >= psps->count("U2/A");
    };
    bool settled = wait_until([&] {
        const bool scraped = metrics.scrape();
        if (report.intake_closed.empty() &&
            (psps->done() || clock() >= day + options.intake_close)) {
            psps->stop_sending();
            report.intake_closed = utc_text(clock());
        }
        show(false);
        if (!psps->done() || clock() < day_end || !scraped)
            return false;
        return payouts_final() && metrics.sum("fxsettle_bank_orders_unconfirmed") == 0 &&
               metrics.sum("fxsettle_outbox_backlog") == 0 &&
               metrics.sum("fxsettle_engine_queue_depth") == 0;
    });
    show(true);
    {
        std::ofstream m(report.metrics_path, std::ios::trunc);
        m << metrics.text();
    }
    report.clock_end = utc_text(clock());
    if (!settled) {
        return fail(StatusCode::kUnavailable,
                    daemon.exited()
                        ? "fxsettled ended during the run; see " + report.log_path.string()
                        : "the day did not settle within " +
                              std::to_string(options.deadline.count()) +
                              " s (payouts open, bank orders unconfirmed or outbox rows "
                              "left); see " +
                              report.log_path.string() + " and " + report.metrics_path.string());
    }
    report.sent = psps->sent();
    report.requested = options.instructions;
    report.u2_accepted = psps->count("U2/A");
    report.u2_rejected = psps->count("U2/R");
    report.u2_settled = psps->count("U2/S");
    report.u2_failed = psps->count("U2/F");
    report.obligations_received = psps->count("recv/U5");
    psps->stop();

    const auto exit_code = daemon.terminate(60s);
    report.checks.push_back(
        {"fxsettled stopped cleanly on SIGTERM", exit_code && *exit_code == 0,
         exit_code ? "exit code " + std::to_string(*exit_code) : "still running after 60 s"});
    for (auto& v : venues)
        v->stop();
    for (auto& b : banks) {
        const auto f = b->figures();
        report.bank_orders += f.orders;
        report.bank_lines_confirmed += f.lines_confirmed;
        report.bank_lines_rejected += f.lines_rejected;
        auto files = b->write_statements(report.statement_dir);
        if (!files)
            return fail(files.error());
        b->stop();
    }
    if (Status s = check_ledger(cfg, options, report); !s)
        return fail(std::move(s));
    report.elapsed =
        std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started);
    return report;
}

}  // namespace fxsettle::demo
