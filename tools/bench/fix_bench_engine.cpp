#include "tools/bench/fix_bench_engine.h"

#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "adapters/convert/convert.h"
#include "adapters/edge/common.h"
#include "adapters/edge/edge_sink.h"
#include "adapters/edge/gateway.h"
#include "adapters/edge/host_options.h"
#include "adapters/fix/session_host.h"
#include "config/config.h"
#include "engine/core/engine.h"
#include "engine/sequencer/sequencer.h"
#include "ledger/ledger.h"
#include "tools/bench/fix_bench_cpu.h"

namespace fxsettle::bench {
namespace {

using Steady = std::chrono::steady_clock;
using Seq = engine::Sequencer<engine::Engine>;
using adapters::HostOptions;
using adapters::SessionHost;
using adapters::SessionKey;
using adapters::WireMessage;
namespace tag = adapters::convert::tag;

constexpr std::chrono::seconds kSetupWait{30};
constexpr std::chrono::seconds kReplyWait{60};  // no reply for this long: the run failed

const SessionKey kAlpha{"ALPHAPAY", "FXSETTLE"};
const SessionKey kBorealis{"BOREALIS", "FXSETTLE"};

// A fixed instant on a business day before the first cut-off (the engine's clock stays
// there, so no settlement cycle runs during the measurement).
ledger::Timestamp bench_now() {
    return ledger::Timestamp(ledger::Date(std::chrono::year{2026} / 3 / 10)) +
           std::chrono::hours(1);
}

std::string get(const WireMessage& m, int t) {
    const std::string* v = m.find(t);
    return v != nullptr ? *v : std::string();
}

// The PSP side: sends orders within the window and records each order's first report.
class PspClient : public adapters::Handler {
  public:
    PspClient(std::size_t total, std::size_t warmup)
        : sent_at_(total), answered_(total, false), warmup_(warmup), rtt_(total) {}

    std::string authenticate(const SessionKey&, const std::string&, const std::string&) override {
        return {};
    }
    void on_logon(const SessionKey& key) override {
        std::lock_guard lock(mu_);
        logged_on_[key] = true;
        cv_.notify_all();
    }
    void on_logout(const SessionKey& key) override {
        std::lock_guard lock(mu_);
        logged_on_[key] = false;
        cv_.notify_all();
    }
    void on_message(const SessionKey&, WireMessage&& m) override {
        const auto now = Steady::now();
        std::lock_guard lock(mu_);
        if (m.msg_type == "j") {
            ++rejects_;
            last_reject_ = get(m, 58);
            cv_.notify_all();
            return;
        }
        if (m.msg_type != "8") {
            return;
        }
        if (measuring_) {
            ++reports_;
        }
        if (get(m, tag::kExecType) == "8") {
            ++rejects_;
            last_reject_ =
                get(m, tag::kClOrdId) + " (side " + get(m, tag::kSide) + "): " + get(m, 58);
        }
        const std::string cl = get(m, tag::kClOrdId);
        // ClOrdID "b<i>": order i of this run.
        if (cl.size() < 2 || cl[0] != 'b') {
            return;
        }
        const std::size_t i = std::stoull(cl.substr(1));
        if (i >= answered_.size() || answered_[i]) {
            return;
        }
        answered_[i] = true;
        ++received_;
        if (i >= warmup_) {
            rtt_.add(now - sent_at_[i]);
            last_at_ = now;
        }
        cv_.notify_all();
    }
    void on_sent(const SessionKey&, const std::vector<std::uint64_t>&) override {}

    bool wait_logged_on() {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, kSetupWait,
                            [&] { return logged_on_[kAlpha] && logged_on_[kBorealis]; });
    }
    // Blocks until fewer than `window` orders are outstanding; records the send time.
    bool admit(std::size_t i, std::size_t window, std::string* error) {
        std::unique_lock lock(mu_);
        if (!cv_.wait_for(lock, kReplyWait, [&] { return i - received_ < window || rejects_; })) {
            *error = "no ExecutionReport for " + std::to_string(kReplyWait.count()) + " s (" +
                     std::to_string(received_) + " of " + std::to_string(i) + " answered)";
            return false;
        }
        if (rejects_ != 0) {
            *error = "an order was rejected: " + last_reject_;
            return false;
        }
        if (i == warmup_) {
            measuring_ = true;
            first_at_ = Steady::now();
        }
        sent_at_[i] = Steady::now();
        return true;
    }
    bool wait_all(std::size_t total, std::string* error) {
        std::unique_lock lock(mu_);
        if (!cv_.wait_for(lock, kReplyWait, [&] { return received_ >= total || rejects_; })) {
            *error = "only " + std::to_string(received_) + " of " + std::to_string(total) +
                     " orders answered";
            return false;
        }
        if (rejects_ != 0) {
            *error = "an order was rejected: " + last_reject_;
            return false;
        }
        return true;
    }

    RttRecorder& rtt() { return rtt_; }
    double seconds() {
        std::lock_guard lock(mu_);
        return std::chrono::duration<double>(last_at_ - first_at_).count();
    }
    std::uint64_t reports() {
        std::lock_guard lock(mu_);
        return reports_;
    }
    std::uint64_t rejects() {
        std::lock_guard lock(mu_);
        return rejects_;
    }

  private:
    std::mutex mu_;
    std::condition_variable cv_;
    std::map<SessionKey, bool> logged_on_;
    std::vector<Steady::time_point> sent_at_;
    std::vector<bool> answered_;
    std::size_t warmup_;
    std::size_t received_ = 0;
    bool measuring_ = false;
    Steady::time_point first_at_{};
    Steady::time_point last_at_{};
    std::uint64_t reports_ = 0;
    std::uint64_t rejects_ = 0;
    std::string last_reject_;
    RttRecorder rtt_;
};

WireMessage order(std::size_t i) {
    // Pair k = i / 2: its first order rests, its second crosses it; the buyer alternates.
    const bool first = i % 2 == 0;
    const bool alpha_buys = (i / 2) % 2 == 0;
    const bool buy = first == alpha_buys;  // alpha sends the first order of each pair
    WireMessage d;
    d.msg_type = "D";
    d.add(tag::kClOrdId, "b" + std::to_string(i))
        .add(tag::kSymbol, "EUR/CNY")
        .add(tag::kSide, buy ? "1" : "2")
        .add(tag::kTransactTime, adapters::convert::format_utc_timestamp(bench_now()))
        .add(tag::kOrderQty, "100.00")
        .add(tag::kOrdType, "2")
        .add(tag::kPrice, buy ? "7.7006" : "7.7004")
        .add(tag::kTimeInForce, "1")
        .add(tag::kSettlType, "1");
    return d;
}

WireMessage deposit_notice(const std::string& psp, const std::string& currency,
                           const std::string& amount) {
    WireMessage u6;
    u6.msg_type = "U6";
    u6.add(tag::kAccount, psp)
        .add(tag::kCurrency, currency)
        .add(tag::kTransactTime, adapters::convert::format_utc_timestamp(bench_now()))
        .add(tag::kDepositRef, "bench-" + psp + "-" + currency)
        .add(tag::kDepositAmt, amount);
    return u6;
}

// A venue's top-of-book snapshot (W), as venue-a would stream it: the engine values net
// debits against aggregate caps with fresh venue rates.
WireMessage snapshot(const std::string& symbol, const std::string& bid, const std::string& offer) {
    WireMessage w;
    w.msg_type = "W";
    w.add(tag::kSymbol, symbol);
    adapters::WireGroup g{tag::kNoMdEntries, {}};
    g.entries.push_back(
        {{tag::kMdEntryType, "0"}, {tag::kMdEntryPx, bid}, {tag::kMdEntrySize, "2000000.00"}});
    g.entries.push_back(
        {{tag::kMdEntryType, "1"}, {tag::kMdEntryPx, offer}, {tag::kMdEntrySize, "2000000.00"}});
    w.groups.push_back(std::move(g));
    return w;
}

bool fail(std::string* error, const std::string& text) {
    *error = text;
    return false;
}

}  // namespace

bool run_engine_echo(const EngineEchoOptions& options, EngineFigures* figures, std::string* error) {
    if (options.window == 0 || options.messages == 0) {
        return fail(error, "messages and window must be at least 1");
    }
    const std::size_t total = options.warmup + options.messages;
    std::error_code ec;
    std::filesystem::create_directories(options.work_dir, ec);
    if (ec) {
        return fail(error, "cannot create " + options.work_dir + ": " + ec.message());
    }
    const std::filesystem::path dir(options.work_dir);

    auto config_or = config::load_default_config();
    if (!config_or) {
        return fail(error, "default config: " + config_or.error().to_string());
    }
    config::Config config = *config_or;
    config.gateway.listen = config::Endpoint{"127.0.0.1", 0};

    ledger::OpenOptions lo;
    lo.path = dir / "ledger.lmdb";
    auto ledger_or = ledger::Ledger::open(lo);
    if (!ledger_or) {
        return fail(error, "ledger: " + ledger_or.error().to_string());
    }
    std::unique_ptr<ledger::Ledger> ledger = std::move(*ledger_or);
    auto engine_or = engine::Engine::create(config);
    if (!engine_or) {
        return fail(error, "engine: " + engine_or.error().to_string());
    }
    auto engine = std::make_unique<engine::Engine>(std::move(*engine_or));
    if (auto r = ledger->commit(engine->initial_operations(), bench_now()); !r) {
        return fail(error, "ledger set-up: " + r.error().to_string());
    }
    auto converter_or = adapters::convert::Converter::create(config);
    if (!converter_or) {
        return fail(error, "converter: " + converter_or.error().to_string());
    }
    auto converter = std::make_unique<adapters::convert::Converter>(std::move(*converter_or));

    const adapters::edge::ClockFn clock = [] { return bench_now(); };
    const adapters::edge::LogFn log = adapters::edge::stderr_log();
    adapters::edge::EdgeSink sink(*converter, clock, log);
    auto seq_or =
        Seq::create(*engine, *ledger, clock, sink, engine::sequencer_options(config.engine));
    if (!seq_or) {
        return fail(error, "sequencer: " + seq_or.error().to_string());
    }
    std::unique_ptr<Seq> seq = std::move(*seq_or);
    adapters::edge::SequencerSubmitter<Seq> submitter(*seq);
    adapters::edge::Gateway gateway(config, *converter, submitter, clock, log);
    sink.attach(&gateway, nullptr, nullptr);
    sink.set_acknowledge(adapters::edge::acknowledge_with(*seq));

    const adapters::StoreMode store_mode = options.synchronous_store
                                               ? adapters::StoreMode::kSynchronous
                                               : adapters::StoreMode::kLagging;
    HostOptions gw_options = adapters::edge::gateway_host_options(
        config, adapters::edge::HostFiles{options.dictionary_path,
                                          (dir / "gateway-fix.lmdb").string(), ""});
    gw_options.store_durability = store_mode;
    std::string why;
    // QuickFIX's threads (and the store's flusher) take the name of the thread that
    // creates and starts their host: name them per side for the CPU breakdown.
    ::pthread_setname_np(::pthread_self(), "gw-quickfix");
    std::unique_ptr<SessionHost> gateway_host = SessionHost::create(gw_options, gateway, &why);
    if (!gateway_host) {
        return fail(error, "gateway host: " + why);
    }
    gateway.attach(gateway_host.get());

    PspClient client(total, options.warmup);
    if (!seq->start().is_ok()) {
        return fail(error, "the sequencer did not start: " + seq->error().to_string());
    }
    if (!gateway_host->start(&why)) {
        static_cast<void>(seq->stop());
        return fail(error, "gateway host: " + why);
    }
    ::pthread_setname_np(::pthread_self(), "fix_bench");
    HostOptions psp_options;
    psp_options.role = adapters::HostRole::kInitiator;
    psp_options.dictionary_path = options.dictionary_path;
    psp_options.store_path = (dir / "psp-fix.lmdb").string();
    psp_options.store_durability = store_mode;
    for (const auto& [key, user] :
         {std::pair{kAlpha, std::string("alpha")}, std::pair{kBorealis, std::string("borealis")}}) {
        adapters::SessionSpec s;
        s.key = key;
        s.connect_port = gateway_host->listen_port();
        s.reconnect_interval = std::chrono::seconds(1);
        s.username = user;
        s.password = user + "-demo-password";
        psp_options.sessions.push_back(s);
    }
    ::pthread_setname_np(::pthread_self(), "psp-quickfix");
    std::unique_ptr<SessionHost> psp_host = SessionHost::create(psp_options, client, &why);
    bool ok = psp_host != nullptr && psp_host->start(&why);
    ::pthread_setname_np(::pthread_self(), "fix_bench");
    if (!ok) {
        why = "PSP host: " + why;
    }
    auto stop_all = [&] {
        if (psp_host) {
            psp_host->stop("bench over", std::chrono::milliseconds(500));
        }
        gateway_host->stop("bench over", std::chrono::milliseconds(500));
        static_cast<void>(seq->stop());
    };
    if (ok && !client.wait_logged_on()) {
        ok = false;
        why = "the PSP sessions did not log on within " + std::to_string(kSetupWait.count()) + " s";
    }
    // Rates (as the venue adapter would submit them) and funding (deposit notices as
    // bank-cn (CNY) and bank-intl (EUR) would send them).
    if (ok) {
        for (const auto& [symbol, bid, offer] : {std::tuple{"USD/CNY", "7.1000", "7.1010"},
                                                 std::tuple{"EUR/CNY", "7.7000", "7.7012"}}) {
            auto in = converter->from_venue(0, snapshot(symbol, bid, offer), bench_now());
            for (engine::Command& c : in.commands) {
                if (submitter.submit_wait(std::move(c), std::chrono::seconds(5)) !=
                    engine::SubmitResult::kAccepted) {
                    ok = false;
                    why = "a venue rate was not accepted by the sequencer";
                }
            }
            if (in.commands.empty()) {
                ok = false;
                why = std::string("rate ") + symbol + " refused: " + in.text;
            }
        }
    }
    if (ok) {
        for (const auto& [psp, ccy, amount] :
             {std::tuple{"alpha", "CNY", "900000000.00"}, std::tuple{"alpha", "EUR", "90000000.00"},
              std::tuple{"borealis", "CNY", "900000000.00"},
              std::tuple{"borealis", "EUR", "90000000.00"}}) {
            const std::string bank_id = std::string(ccy) == "CNY" ? "bank-cn" : "bank-intl";
            engine::BankIndex bank = 0;
            for (std::size_t b = 0; b < config.banks.size(); ++b) {
                if (config.banks[b].id == bank_id) {
                    bank = static_cast<engine::BankIndex>(b);
                }
            }
            auto in = converter->from_bank(bank, deposit_notice(psp, ccy, amount), bench_now());
            if (in.commands.empty()) {
                ok = false;
                why = std::string("deposit ") + psp + " " + ccy + " refused: " + in.text;
                break;
            }
            for (engine::Command& c : in.commands) {
                if (submitter.submit_wait(std::move(c), std::chrono::seconds(5)) !=
                    engine::SubmitResult::kAccepted) {
                    ok = false;
                    why = "a deposit was not accepted by the sequencer";
                }
            }
        }
    }
    // The orders: PSP sessions alternate per pair (alpha first, borealis crosses).
    CpuSample cpu_before;
    if (ok) {
        for (std::size_t i = 0; i < total && ok; ++i) {
            if (!client.admit(i, options.window, &why)) {
                ok = false;
                break;
            }
            if (i == options.warmup) {
                cpu_before = cpu_sample();
            }
            const SessionKey& key = i % 2 == 0 ? kAlpha : kBorealis;
            if (psp_host->send(key, order(i)) != adapters::SendResult::kQueued) {
                ok = false;
                why = "the PSP host refused order " + std::to_string(i);
            }
        }
    }
    if (ok) {
        ok = client.wait_all(total, &why);
    }
    const CpuSpent cpu = cpu_spent(cpu_before, cpu_sample());
    stop_all();
    if (!ok) {
        return fail(error, why);
    }
    const auto sc = seq->counters();
    figures->echo.messages = options.messages;
    figures->echo.seconds = client.seconds();
    figures->echo.msgs_per_s = figures->echo.seconds > 0
                                   ? static_cast<double>(options.messages) / figures->echo.seconds
                                   : 0.0;
    figures->echo.rtt_us_p50 = client.rtt().percentile_us(50);
    figures->echo.rtt_us_p99 = client.rtt().percentile_us(99);
    figures->echo.cpu_s = static_cast<double>(cpu.process_us) / 1e6;
    figures->echo.cpu_us_per_round_trip =
        static_cast<double>(cpu.process_us) / static_cast<double>(options.messages);
    figures->echo.cpu_s_by_thread = cpu.by_name_s;
    figures->execution_reports = client.reports();
    figures->rejects = client.rejects();
    figures->ledger_commits = sc.commits;
    figures->gateway_store_commits = gateway_host->counters().store_commits;
    figures->commit_latency_us_max = static_cast<double>(sc.commit_latency_ns_max) / 1000.0;
    if (sc.commits != 0) {
        figures->commit_latency_us_mean = static_cast<double>(sc.commit_latency_ns_sum) /
                                          static_cast<double>(sc.commits) / 1000.0;
        figures->orders_per_commit = static_cast<double>(total) / static_cast<double>(sc.commits);
    }
    return true;
}

}  // namespace fxsettle::bench
