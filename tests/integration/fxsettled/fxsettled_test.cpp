// fxsettled as a real process (FXSETTLED_BIN) with a test config on free loopback ports:
// driven by the FIX simulators run in-process (VenueSim, BankSim, PspSim), /metrics
// scraped over HTTP while traffic flows and after a cut-off on an accelerated clock,
// stopped with SIGTERM (clean: the ledger reopens, verifies and lost nothing) and with a
// second signal, and started with each bad-start case (one line, its exit code).
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <lmdb.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "ledger/ledger.h"
#include "ledger/records.h"
#include "tools/fxsim/bank_sim.h"
#include "tools/fxsim/psp_sim.h"
#include "tools/fxsim/venue_sim.h"

namespace fxsettle {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr auto kWait = std::chrono::seconds(60);
// Exit codes (tools/fxsettled/daemon.h, README.md).
constexpr int kExitInvalidConfig = 3;
constexpr int kExitLedgerVersion = 4;
constexpr int kExitPortInUse = 5;
constexpr int kExitLedgerLocked = 6;
constexpr int kExitUnreadableCert = 7;
constexpr int kExitSecondSignal = 130;

std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&in), sizeof in) != 0) {
        ::close(fd);
        return 0;
    }
    socklen_t len = sizeof in;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&in), &len);
    ::close(fd);
    return ntohs(in.sin_port);
}

// A socket listening on a free loopback port (a port in use), closed on destruction.
struct Occupied {
    int fd = -1;
    std::uint16_t port = 0;
    Occupied() {
        fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in in{};
        in.sin_family = AF_INET;
        in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        if (::bind(fd, reinterpret_cast<sockaddr*>(&in), sizeof in) == 0 && ::listen(fd, 4) == 0) {
            socklen_t len = sizeof in;
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&in), &len);
            port = ntohs(in.sin_port);
        }
    }
    ~Occupied() { ::close(fd); }
};

bool wait_for(const std::function<bool()>& done, std::chrono::seconds limit = kWait) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
        if (done())
            return true;
        std::this_thread::sleep_for(50ms);
    }
    return done();
}

std::string read_file(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
}

// GET /metrics over a plain socket; empty when the endpoint does not answer.
std::string scrape(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    in.sin_port = htons(port);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&in), sizeof in) != 0) {
        ::close(fd);
        return {};
    }
    const std::string request = "GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) < 0) {
        ::close(fd);
        return {};
    }
    std::string out;
    char buf[65536];
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    const auto body = out.find("\r\n\r\n");
    return body == std::string::npos ? std::string{} : out.substr(body + 4);
}

// The sum of every sample of `name` whose label text contains each of `labels`
// (e.g. `session="alpha"`); nullopt when there is none.
std::optional<double> metric(const std::string& text, const std::string& name,
                             const std::vector<std::string>& labels = {}) {
    std::istringstream in(text);
    std::string line;
    std::optional<double> sum;
    while (std::getline(in, line)) {
        if (line.empty() || line[0] == '#')
            continue;
        if (line.compare(0, name.size(), name) != 0)
            continue;
        const char next = line.size() > name.size() ? line[name.size()] : '\0';
        if (next != '{' && next != ' ')
            continue;
        const auto space = line.rfind(' ');
        const std::string series = line.substr(0, space);
        bool match = true;
        for (const std::string& l : labels)
            match = match && series.find(l) != std::string::npos;
        if (!match)
            continue;
        sum = sum.value_or(0) + std::strtod(line.c_str() + space + 1, nullptr);
    }
    return sum;
}

// One fxsettled process; stdout and stderr go to files.
class Daemon {
  public:
    Daemon(const fs::path& dir, std::vector<std::string> args) : dir_(dir) {
        static int serial = 0;
        const std::string tag = std::to_string(++serial);
        out_ = dir / ("fxsettled-" + tag + ".out");
        err_ = dir / ("fxsettled-" + tag + ".err");
        args.insert(args.begin(), FXSETTLED_BIN);
        pid_ = ::fork();
        if (pid_ == 0) {
            const int o = ::open(out_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            const int e = ::open(err_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
            ::dup2(o, 1);
            ::dup2(e, 2);
            std::vector<char*> argv;
            for (std::string& a : args)
                argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execv(argv[0], argv.data());
            ::_exit(127);
        }
    }
    ~Daemon() {
        if (!exited_ && pid_ > 0) {
            ::kill(pid_, SIGKILL);
            int status = 0;
            ::waitpid(pid_, &status, 0);
        }
    }
    pid_t pid() const { return pid_; }
    std::string out() const { return read_file(out_); }
    std::string err() const { return read_file(err_); }
    bool ready() const { return out().find("fxsettled ready ") != std::string::npos; }
    // The exit code once it exited within `limit` (128 + N after signal N), else nullopt.
    std::optional<int> wait_exit(std::chrono::seconds limit = kWait) {
        if (exited_)
            return code_;
        const auto end = std::chrono::steady_clock::now() + limit;
        for (;;) {
            int status = 0;
            const pid_t r = ::waitpid(pid_, &status, WNOHANG);
            if (r == pid_) {
                exited_ = true;
                code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                return code_;
            }
            if (std::chrono::steady_clock::now() > end)
                return std::nullopt;
            std::this_thread::sleep_for(20ms);
        }
    }

  private:
    fs::path dir_, out_, err_;
    pid_t pid_ = -1;
    bool exited_ = false;
    int code_ = -1;
};

class FxsettledTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto config = config::load_default_config();
        ASSERT_TRUE(config.has_value()) << config.error().to_string();
        config_ = *config;
        std::string pattern = (fs::temp_directory_path() / "fxsettled-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        dictionary_ = std::string(FXSETTLE_SOURCE_DIR_DEFAULT) + "/config/fix/FIX44-fxsettle.xml";
        for (config::VenueConfig& v : config_.venues) {
            v.port = free_port();
            v.reconnect_interval_s = 1s;
            // Engine time runs 60x: rates every 100 ms real are 6 s apart in engine time.
            v.rate_stale_ms = 600'000ms;
        }
        for (config::BankConfig& b : config_.banks) {
            b.port = free_port();
            b.reconnect_interval_s = 1s;
        }
        auto limit = money::parse_amount("1000000.00", *config_.currency_table.find("USD"));
        ASSERT_TRUE(limit.has_value());
        config_.metrics.exposure_alert_limits[*config_.currency_table.find("USD")] = *limit;
        write_config(config_, dir_ / "fxsettled.toml");
    }

    void TearDown() override {
        if (psps_)
            psps_->stop();
        for (auto& v : venues_)
            v->stop();
        for (auto& b : banks_)
            b->stop();
        std::error_code ec;
        if (std::getenv("FXSETTLE_KEEP_TEST_FILES") == nullptr)
            fs::remove_all(dir_, ec);
    }

    static void write_config(const config::Config& c, const fs::path& path) {
        std::ofstream(path) << config::to_toml(c);
    }

    std::vector<std::string> args(std::uint16_t gateway, std::uint16_t metrics,
                                  const std::string& ledger = "ledger.lmdb",
                                  const std::string& config = "fxsettled.toml") const {
        return {"--config",       (dir_ / config).string(),
                "--data-dir",     (dir_ / ("node-" + std::to_string(gateway))).string(),
                "--ledger",       (dir_ / ledger).string(),
                "--gateway-port", std::to_string(gateway),
                "--metrics-port", std::to_string(metrics)};
    }

    // Starts a daemon and waits for its ready line; a probed port taken meanwhile by
    // another process is retried on new ports.
    std::unique_ptr<Daemon> start(std::vector<std::string> extra = {}) {
        for (int attempt = 1; attempt <= 5; ++attempt) {
            gateway_port_ = free_port();
            metrics_port_ = free_port();
            auto a = args(gateway_port_, metrics_port_);
            a.insert(a.end(), extra.begin(), extra.end());
            auto d = std::make_unique<Daemon>(dir_, a);
            const bool up = wait_for([&] { return d->ready() || d->wait_exit(0s).has_value(); });
            if (up && d->ready())
                return d;
            if (d->wait_exit(0s) == kExitPortInUse)
                continue;
            ADD_FAILURE() << "fxsettled did not start: " << d->err();
            return nullptr;
        }
        ADD_FAILURE() << "fxsettled found its ports taken 5 times";
        return nullptr;
    }

    void start_counterparties() {
        std::uint64_t seed = 11;
        for (const auto& [id, comp] : {std::pair{"venue-a", "VENUEA"}, {"venue-b", "VENUEB"}}) {
            fxsim::VenueOptions o;
            o.venue_comp_id = comp;
            o.listen_port = config_.find_venue(id)->port;
            o.dictionary_path = dictionary_;
            o.store_path = (dir_ / (std::string(id) + ".lmdb")).string();
            std::vector<std::string> symbols;
            for (const money::CurrencyPair& pair : config_.find_venue(id)->pairs)
                symbols.push_back(pair.to_string());
            auto q = fxsim::pair_quotes(config_, symbols, {});
            ASSERT_TRUE(q.has_value()) << q.error().to_string();
            o.pairs = *q;
            o.stream_interval = 100ms;
            o.seed = ++seed;
            std::string error;
            auto venue = fxsim::VenueSim::create(o, &error);
            ASSERT_TRUE(venue) << error;
            ASSERT_TRUE(venue->start(&error)) << error;
            venues_.push_back(std::move(venue));
        }
        for (const auto& [id, comp] : {std::pair{"bank-cn", "BANKCN"}, {"bank-intl", "BANKINTL"}}) {
            fxsim::BankOptions o;
            o.bank_id = id;
            o.bank_comp_id = comp;
            o.listen_port = config_.find_bank(id)->port;
            o.dictionary_path = dictionary_;
            o.store_path = (dir_ / (std::string(id) + ".lmdb")).string();
            for (const money::Currency& c : config_.find_bank(id)->currencies)
                o.currencies.push_back(c);
            o.confirm_delay = 20ms;
            o.seed = ++seed;
            std::string error;
            auto bank = fxsim::BankSim::create(o, &error);
            ASSERT_TRUE(bank) << error;
            ASSERT_TRUE(bank->start(&error)) << error;
            banks_.push_back(std::move(bank));
        }
    }

    fxsim::PspIdentity identity(const std::string& id, std::vector<const char*> collect) const {
        const config::PspConfig* p = config_.find_psp(id);
        fxsim::PspIdentity who;
        who.psp_id = p->id;
        who.sender_comp_id = p->sender_comp_id;
        who.username = p->username;
        who.password = p->username + "-demo-password";
        for (const char* c : collect)
            who.collect.push_back(*config_.currency_table.find(c));
        who.payout = *config_.currency_table.find("CNY");
        return who;
    }

    void start_psps(std::uint64_t messages) {
        fxsim::PspOptions o;
        o.gateway_port = gateway_port_;
        o.psps = {identity("alpha", {"USD", "EUR"}), identity("borealis", {"EUR", "GBP"})};
        o.dictionary_path = dictionary_;
        o.store_path = (dir_ / "psps.lmdb").string();
        o.reconnect_interval = 1s;
        auto q = fxsim::pair_quotes(config_, {"USD/CNY", "EUR/CNY", "GBP/CNY"}, {});
        ASSERT_TRUE(q.has_value()) << q.error().to_string();
        o.pairs = *q;
        o.banks = {{"CNY", "bank-cn"}};
        o.rate_per_s = 200;
        o.messages_max = messages;
        o.mix.outflow = 0;
        o.seed = 5;
        std::string error;
        psps_ = fxsim::PspSim::create(o, &error);
        ASSERT_TRUE(psps_) << error;
        ASSERT_TRUE(psps_->start(&error)) << error;
    }

    // Waits until `name` (summed over the series matching `labels`) reaches `at_least`.
    double wait_metric(const std::string& name, double at_least,
                       const std::vector<std::string>& labels = {}) {
        double seen = -1;
        const bool ok = wait_for([&] {
            seen = metric(scrape(metrics_port_), name, labels).value_or(-1);
            return seen >= at_least;
        });
        EXPECT_TRUE(ok) << name << " stayed at " << seen << ", expected at least " << at_least;
        return seen;
    }

    // Rewrites the ledger's format_version to 7 (as ledger_test does).
    static void set_ledger_version(const fs::path& path, std::uint8_t version) {
        MDB_env* env = nullptr;
        ASSERT_EQ(mdb_env_create(&env), 0);
        mdb_env_set_maxdbs(env, 16);
        ASSERT_EQ(mdb_env_open(env, path.c_str(), MDB_NOSUBDIR, 0600), 0);
        MDB_txn* txn = nullptr;
        ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
        MDB_dbi dbi = 0;
        ASSERT_EQ(mdb_dbi_open(txn, ledger::records::kDbMeta, 0, &dbi), 0);
        const std::uint8_t bytes[4] = {version, 0, 0, 0};
        MDB_val k{ledger::records::kMetaVersionKey.size(),
                  const_cast<char*>(ledger::records::kMetaVersionKey.data())};
        MDB_val v{sizeof bytes, const_cast<std::uint8_t*>(bytes)};
        ASSERT_EQ(mdb_put(txn, dbi, &k, &v, 0), 0);
        ASSERT_EQ(mdb_txn_commit(txn), 0);
        mdb_env_close(env);
    }

    // A refused start: exit code, exactly one line on stderr naming `expect`, no ready.
    void expect_refused(std::vector<std::string> a, int code, const std::string& expect) {
        Daemon d(dir_, std::move(a));
        const std::optional<int> rc = d.wait_exit();
        ASSERT_TRUE(rc.has_value()) << "fxsettled did not exit; stderr: " << d.err();
        EXPECT_EQ(*rc, code) << "stderr: " << d.err();
        const std::string err = d.err();
        EXPECT_EQ(std::count(err.begin(), err.end(), '\n'), 1) << "not one line: " << err;
        EXPECT_EQ(err.rfind("fxsettled: ", 0), 0u) << err;
        EXPECT_NE(err.find(expect), std::string::npos) << "'" << expect << "' not in: " << err;
        EXPECT_EQ(d.out(), "") << "a refused start printed on stdout";
    }

    config::Config config_;
    fs::path dir_;
    std::string dictionary_;
    std::uint16_t gateway_port_ = 0, metrics_port_ = 0;
    std::vector<std::unique_ptr<fxsim::VenueSim>> venues_;
    std::vector<std::unique_ptr<fxsim::BankSim>> banks_;
    std::unique_ptr<fxsim::PspSim> psps_;
};

// Traffic moves the counters; a cut-off on the accelerated clock fills the cycle figures;
// SIGTERM stops cleanly (exit 0) and the ledger reopens, verifies and kept every entry.
TEST_F(FxsettledTest, MetricsMoveWithTrafficAndCutoffAndSigtermStopsCleanly) {
    ASSERT_NO_FATAL_FAILURE(start_counterparties());
    // 2026-03-10 is a Tuesday; the first cut-off of the day is at 03:00 UTC, 20 s away at
    // 60x real time.
    auto d = start({"--clock-start", "2026-03-10T02:40:00Z", "--clock-rate", "60", "--log-json"});
    ASSERT_TRUE(d);
    EXPECT_NE(d->out().find("metrics=127.0.0.1:" + std::to_string(metrics_port_)),
              std::string::npos)
        << d->out();
    const std::string first = scrape(metrics_port_);
    EXPECT_EQ(metric(first, "fxsettle_build_info").value_or(0), 1) << first;
    EXPECT_EQ(metric(first, "fxsettle_fx_position_limit", {"currency=\"USD\""}).value_or(0), 1e6)
        << "[metrics] exposure_alert_limits.USD";
    EXPECT_FALSE(metric(first, "fxsettle_fx_position_limit", {"currency=\"EUR\""}).has_value())
        << "a currency without a limit has a limit series";
    EXPECT_TRUE(metric(first, "fxsettle_fx_position_open", {"currency=\"CNY\""}).has_value());
    wait_metric("fxsettle_fix_session_up", 1, {"session=\"bank-intl\""});
    wait_metric("fxsettle_fix_session_up", 1, {"session=\"venue-a\""});
    wait_metric("fxsettle_ledger_verify_last_success_timestamp_seconds", 1);

    // Deposits (U6) from the bank, then the PSPs' orders, RFQs and payouts.
    for (const auto& [psp, ccy] :
         {std::pair{"alpha", "USD"}, {"alpha", "EUR"}, {"borealis", "EUR"}, {"borealis", "GBP"}}) {
        auto m = money::parse_money("5000000.00", ccy);
        ASSERT_TRUE(m.has_value());
        ASSERT_TRUE(banks_[1]->send_deposit(psp, *m).has_value());
    }
    wait_metric("fxsettle_fix_messages_received_total", 4,
                {"session=\"bank-intl\"", "msg_type=\"U6\""});
    wait_metric("fxsettle_fix_messages_received_total", 1,
                {"session=\"venue-a\"", "msg_type=\"X\""});
    ASSERT_NO_FATAL_FAILURE(start_psps(150));
    ASSERT_TRUE(wait_for([&] { return psps_->done(); })) << "the PSPs sent " << psps_->sent();
    wait_metric("fxsettle_fix_messages_received_total", 1, {"session=\"alpha\""});
    wait_metric("fxsettle_fix_messages_sent_total", 1, {"session=\"alpha\"", "msg_type=\"8\""});
    wait_metric("fxsettle_engine_commands_total", 150);
    wait_metric("fxsettle_ledger_entries_committed_total", 1);
    wait_metric("fxsettle_engine_batch_size_count", 1);
    wait_metric("fxsettle_ledger_commit_duration_seconds_count", 1);
    const std::string during = scrape(metrics_port_);
    EXPECT_GE(metric(during, "fxsettle_venue_stale", {"venue=\"venue-a\""}).value_or(-1), 0);
    EXPECT_GE(metric(during, "fxsettle_venue_rate_age_seconds", {"venue=\"venue-a\""}).value_or(-1),
              0)
        << during;
    EXPECT_TRUE(metric(during, "fxsettle_engine_queue_depth").has_value());
    EXPECT_TRUE(metric(during, "fxsettle_outbox_backlog").has_value());
    EXPECT_TRUE(metric(during, "fxsettle_order_book_depth", {"pair=\"USD/CNY\""}).has_value());
    EXPECT_TRUE(metric(during, "fxsettle_cycle_next_cutoff_timestamp_seconds", {"currency=\"CNY\""})
                    .has_value());

    // The cut-off passes on its own (the engine clock runs 60x): cycle figures and a
    // completed cycle once the banks confirmed every line.
    wait_metric("fxsettle_cycles_completed_total", 1);
    const std::string after = scrape(metrics_port_);
    EXPECT_TRUE(metric(after, "fxsettle_cycle_gross_value").has_value()) << after;
    EXPECT_TRUE(metric(after, "fxsettle_cycle_payments_before").has_value()) << after;
    EXPECT_TRUE(metric(after, "fxsettle_cycle_liquidity_saving_ratio").has_value()) << after;
    EXPECT_GE(metric(after, "fxsettle_cycle_last_completed_timestamp_seconds").value_or(0),
              1773111600.0)  // 2026-03-10T03:00:00Z
        << after;
    wait_metric("fxsettle_ledger_verify_last_success_timestamp_seconds", 1);
    EXPECT_EQ(metric(after, "fxsettle_ledger_verify_failures_total").value_or(-1), 0);
    // Small batches: one ledger transaction each, none too large for it.
    EXPECT_EQ(metric(after, "fxsettle_ledger_split_commits_total").value_or(-1), 0);
    EXPECT_EQ(metric(after, "fxsettle_ledger_commit_retries_total").value_or(-1), 0);

    // A second fxsettled on the same ledger is refused while this one runs.
    ASSERT_NO_FATAL_FAILURE(
        expect_refused(args(free_port(), free_port()), kExitLedgerLocked, "ledger"));

    const std::string before_stop = scrape(metrics_port_);
    const double entries =
        metric(before_stop, "fxsettle_ledger_entries_committed_total").value_or(0);
    const double resting = metric(before_stop, "fxsettle_order_book_depth").value_or(-1);
    ASSERT_EQ(::kill(d->pid(), SIGTERM), 0);
    const std::optional<int> rc = d->wait_exit();
    ASSERT_TRUE(rc.has_value()) << "no exit after SIGTERM: " << d->err();
    EXPECT_EQ(*rc, 0) << d->err();
    const std::string log = d->err();
    EXPECT_NE(log.find("\"msg\":\"stopping: intake closed\""), std::string::npos) << log;
    EXPECT_NE(log.find("\"msg\":\"stopped cleanly\""), std::string::npos) << log;
    EXPECT_EQ(log.find("demo-password"), std::string::npos) << "a password in the log";

    ledger::OpenOptions o;
    o.path = dir_ / "ledger.lmdb";
    o.read_only = true;
    auto reopened = ledger::Ledger::open(o);
    ASSERT_TRUE(reopened.has_value()) << reopened.error().to_string();
    auto view = (*reopened)->read();
    ASSERT_TRUE(view.has_value());
    auto report = (*view)->verify();
    ASSERT_TRUE(report.has_value()) << report.error().to_string();
    EXPECT_TRUE(report->ok) << report->failure;
    EXPECT_GE(static_cast<double>(report->entries_checked), entries)
        << "the ledger holds fewer entries than the daemon reported committed";
    auto balance = (*view)->trial_balance();
    ASSERT_TRUE(balance.has_value());
    for (const ledger::TrialBalanceRow& row : *balance)
        EXPECT_EQ(row.debits_posted, row.credits_posted) << row.currency.to_string();
    view->reset();  // the read transaction first, then the ledger
    reopened->reset();

    // Restarted on the same ledger (the clock at the same instant, so no Day order
    // expires): the book depth counts the orders resting from before the restart.
    auto again = start({"--clock-start", "2026-03-10T03:05:00Z", "--clock-rate", "1"});
    ASSERT_TRUE(again);
    const double resting_again =
        metric(scrape(metrics_port_), "fxsettle_order_book_depth").value_or(-1);
    EXPECT_GT(resting, 0) << "no order rested before the restart: the check proves nothing";
    EXPECT_EQ(resting_again, resting)
        << "orders resting before the restart (" << resting << ") are not all counted after it";
    ASSERT_EQ(::kill(again->pid(), SIGTERM), 0);
    EXPECT_EQ(again->wait_exit().value_or(-1), 0) << again->err();
}

// SIGTERM, then SIGINT while it stops: the second signal exits at once with 130.
TEST_F(FxsettledTest, SecondSignalDuringShutdownExitsAtOnceWith130) {
    auto d = start();
    ASSERT_TRUE(d);
    ASSERT_EQ(::kill(d->pid(), SIGTERM), 0);
    ASSERT_EQ(::kill(d->pid(), SIGINT), 0);
    const std::optional<int> rc = d->wait_exit();
    ASSERT_TRUE(rc.has_value()) << d->err();
    EXPECT_EQ(*rc, kExitSecondSignal) << d->err();
    EXPECT_NE(d->err().find("second signal during shutdown"), std::string::npos) << d->err();
    // State is durable: the next start recovers from the same ledger.
    auto again = start();
    ASSERT_TRUE(again);
    ASSERT_EQ(::kill(again->pid(), SIGTERM), 0);
    EXPECT_EQ(again->wait_exit(), 0) << again->err();
}

TEST_F(FxsettledTest, InvalidConfigIsRefusedNamingTheKey) {
    std::string text = config::to_toml(config_);
    const std::string key = "\n[engine]\nqueue_max = ";
    const auto at = text.find(key);
    ASSERT_NE(at, std::string::npos);
    const auto value = at + key.size();
    text.replace(value, text.find('\n', value) - value, "0");
    std::ofstream(dir_ / "bad.toml") << text;
    expect_refused(args(free_port(), free_port(), "ledger.lmdb", "bad.toml"), kExitInvalidConfig,
                   "engine.queue_max");
}

TEST_F(FxsettledTest, LedgerOfAnotherFormatVersionIsRefused) {
    {
        ledger::OpenOptions o;
        o.path = dir_ / "old.lmdb";
        auto l = ledger::Ledger::open(o);
        ASSERT_TRUE(l.has_value()) << l.error().to_string();
    }
    ASSERT_NO_FATAL_FAILURE(set_ledger_version(dir_ / "old.lmdb", 7));
    expect_refused(args(free_port(), free_port(), "old.lmdb"), kExitLedgerVersion,
                   "format version 7");
}

TEST_F(FxsettledTest, GatewayAndMetricsPortsInUseAreRefused) {
    Occupied busy;
    ASSERT_NE(busy.port, 0);
    expect_refused(args(busy.port, free_port()), kExitPortInUse, std::to_string(busy.port));
    expect_refused(args(free_port(), busy.port), kExitPortInUse,
                   "metrics port 127.0.0.1:" + std::to_string(busy.port));
}

TEST_F(FxsettledTest, UnreadableCertificateIsRefusedNamingTheFile) {
    config::Config c = config_;
    config::TlsConfig tls;
    tls.cert = (dir_ / "missing-cert.pem").string();
    tls.key = (dir_ / "missing-key.pem").string();
    c.gateway.tls = tls;
    write_config(c, dir_ / "tls.toml");
    expect_refused(args(free_port(), free_port(), "ledger.lmdb", "tls.toml"), kExitUnreadableCert,
                   "gateway.tls.cert '" + tls.cert + "'");
}

}  // namespace
}  // namespace fxsettle
