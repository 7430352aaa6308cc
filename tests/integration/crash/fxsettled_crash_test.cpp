// Crash safety of the real daemon: `fxsettled` runs as a child process on an accelerated
// clock (hourly cut-offs for CNY, USD and EUR pass every 6 s) under load from two
// PSP clients over FIX (orders, cancels, replaces, RFQs and locked payouts, payouts at
// the cycle's rate, outflows, internal payouts), with VenueSim and BankSim answering the
// hedges and payment orders a little late, so that kills land during intake, in a batch,
// at a cut-off's netting and posting, and with hedges and bank orders in flight.
//
// The harness kills the daemon with SIGKILL at seeded random moments (some of them just
// after a cut-off), and each time, on the dead files:
//   - `fxledger verify` passes, the trial balance is zero per currency (posted and
//     pending), every payout acknowledged as accepted holds funds in the ledger (its
//     entry "payout <PayoutID> hold"), and no payout is held twice;
// then restarts it on the same ledger and data dir (the clients keep their FIX stores)
// and checks:
//   - every PSP session logs on again with its sequence numbers continued (no reset: the
//     clients' QuickFIX would log out on a too-low MsgSeqNum), never lower than before;
//   - every request acknowledged since the previous restart (D accepted, Quote, U2 A),
//     sent again with the same client id, gets the same ExecID / QuoteID / PayoutID;
//   - every order acknowledged since the previous restart, asked with an
//     OrderStatusRequest, still exists with at least the acknowledged CumQty and its
//     acknowledged final status;
//   - every request unanswered at the kill, retried with the same id, is answered with
//     exactly one effect (one ExecID N.., one QuoteID, one PayoutID);
//   - no message reaches a client twice unless it carries PossDupFlag or PossResend (or
//     answers the client's own retry).
// At the end the cycle in progress completes: every accepted payout reaches a final
// status (settled or failed, bank orders confirmed), the daemon stops cleanly on SIGTERM,
// the outbox is empty, the ledger verifies, and no bank booked a payment line twice.
//
// FXSETTLE_CRASH_KILLS (default 10) and FXSETTLE_CRASH_SEED tune the run; the figures
// are printed as one line "crash figures: ..." (tests/RELIABILITY.md).
#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "ledger/ledger.h"
#include "tests/integration/crash/crash_harness.h"
#include "tools/fxsim/bank_sim.h"
#include "tools/fxsim/venue_sim.h"

namespace fxsettle::crash {
namespace {

using namespace std::chrono_literals;

constexpr auto kWait = std::chrono::milliseconds(90'000);
constexpr std::uint32_t kClockRate = 600;         // an engine hour every 6 s
constexpr std::uint32_t kRequestsPerSecond = 40;  // over both PSPs

std::uint64_t env_u64(const char* name, std::uint64_t fallback) {
    const char* v = std::getenv(name);
    if (v == nullptr || *v == '\0')
        return fallback;
    return std::strtoull(v, nullptr, 10);
}

money::Money money_of(const config::Config& cfg, const char* amount, const char* ccy) {
    auto m = money::parse_money(amount, ccy, cfg.currency_table);
    EXPECT_TRUE(m.has_value()) << amount << " " << ccy;
    return *m;
}

// The run's config: the embedded default with loopback ports, files under `dir`, an
// hourly cut-off for each currency traded, and quote and rate lifetimes for a fast clock.
config::Config crash_config(const std::filesystem::path& dir, std::uint16_t gateway,
                            const std::map<std::string, std::uint16_t>& ports) {
    auto loaded = config::load_default_config();
    EXPECT_TRUE(loaded.has_value());
    config::Config cfg = *loaded;
    cfg.node.data_dir = (dir / "node").string();
    cfg.ledger.path = (dir / "ledger.lmdb").string();
    cfg.log.level = "warn";
    cfg.gateway.listen.port = gateway;
    cfg.metrics.enabled = false;
    cfg.engine.quote_ttl_ms = std::chrono::milliseconds(3'600'000);  // the most: 6 s real
    for (auto& v : cfg.venues) {
        v.port = ports.at(v.id);
        v.rate_stale_ms = std::chrono::milliseconds(600'000);  // the most: 1 s real
        v.reconnect_interval_s = 1s;
    }
    for (auto& b : cfg.banks) {
        b.port = ports.at(b.id);
        b.reconnect_interval_s = 1s;
    }
    for (auto& c : cfg.cycles) {
        const std::string code = c.currency.to_string();
        if (code != "CNY" && code != "USD" && code != "EUR")
            continue;
        c.cutoffs.clear();
        for (int h = 0; h < 24; ++h)
            c.cutoffs.push_back(std::chrono::hours(h) + std::chrono::minutes(30));
    }
    return cfg;
}

// The next hourly cut-off (hh:30) after `t`.
std::chrono::system_clock::time_point next_cutoff(std::chrono::system_clock::time_point t) {
    const auto hour = std::chrono::floor<std::chrono::hours>(t);
    auto c = hour + 30min;
    if (c <= t)
        c += 1h;
    return c;
}

// Monday 00:00 after a weekend day; nullopt on a business day.
std::optional<std::chrono::system_clock::time_point> after_weekend(
    std::chrono::system_clock::time_point t) {
    const auto day = std::chrono::floor<std::chrono::days>(t);
    const std::chrono::weekday wd{day};
    if (wd == std::chrono::Saturday)
        return day + std::chrono::days(2);
    if (wd == std::chrono::Sunday)
        return day + std::chrono::days(1);
    return std::nullopt;
}

class FxsettledCrashTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string pattern =
            (std::filesystem::temp_directory_path() / "fxsettle-crash-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        dictionary_ = std::string(FXSETTLE_SOURCE_DIR_DEFAULT) + "/config/fix/FIX44-fxsettle.xml";
    }
    void TearDown() override {
        traffic_on_ = false;
        traffic_run_ = false;
        if (traffic_.joinable())
            traffic_.join();
        if (clients_)
            clients_->stop();
        if (daemon_)
            daemon_->kill_now();
        for (auto& v : venues_)
            v->stop();
        for (auto& b : banks_)
            b->stop();
        std::error_code ec;
        if (!HasFailure() && std::getenv("FXSETTLE_KEEP_TEST_FILES") == nullptr)
            std::filesystem::remove_all(dir_, ec);
        else
            std::printf("crash test files kept in %s\n", dir_.c_str());
    }

    // Starts fxsettled on the clock's next whole second (or Monday after a weekend).
    void start_daemon() {
        std::optional<std::chrono::system_clock::time_point> at_least = after_weekend(clock_.now());
        for (int attempt = 1;; ++attempt) {
            const auto start = clock_.restart(at_least);
            std::string error;
            if (daemon_->start({"--config", (dir_ / "fxsettled.toml").string(), "--clock-start",
                                utc_text(start), "--clock-rate", std::to_string(kClockRate)},
                               kWait, &error))
                return;
            // Right after a kill the gateway's port may still be held by the kernel for a
            // moment: exit code 5 (port in use) is retried.
            ASSERT_TRUE(error.find("status 1280") != std::string::npos && attempt < 20) << error;
            std::this_thread::sleep_for(250ms);
        }
    }

    void start_counterparties() {
        std::uint64_t seed = seed_;
        for (const auto& [id, comp] : {std::pair{"venue-a", "VENUEA"}, {"venue-b", "VENUEB"}}) {
            fxsim::VenueOptions o;
            o.venue_comp_id = comp;
            o.listen_port = ports_[id];
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
            o.faults.answer_delay = 150ms;  // hedges stay in flight for a while
            o.clock = [this] { return clock_.now(); };
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
            o.listen_port = ports_[id];
            o.dictionary_path = dictionary_;
            o.store_path = (dir_ / (std::string(id) + ".lmdb")).string();
            for (const money::Currency& c : config_.find_bank(id)->currencies)
                o.currencies.push_back(c);
            o.confirm_delay = 300ms;  // payment orders stay unconfirmed for a while
            o.seed = ++seed;
            o.clock = [this] { return clock_.now(); };
            std::string error;
            auto bank = fxsim::BankSim::create(o, &error);
            ASSERT_TRUE(bank) << error;
            ASSERT_TRUE(bank->start(&error)) << error;
            banks_.push_back(std::move(bank));
        }
    }

    fxsim::PspIdentity identity(const std::string& id) const {
        const config::PspConfig* p = config_.find_psp(id);
        fxsim::PspIdentity who;
        who.psp_id = p->id;
        who.sender_comp_id = p->sender_comp_id;
        who.username = p->username;
        who.password = p->username + "-demo-password";
        for (const char* c : {"USD", "EUR"})
            who.collect.push_back(*config_.currency_table.find(c));
        who.payout = *config_.currency_table.find("CNY");
        return who;
    }

    void start_clients() {
        psp_options_.gateway_port = gateway_port_;
        psp_options_.psps = {identity("alpha"), identity("borealis")};
        psp_options_.dictionary_path = dictionary_;
        auto q = fxsim::pair_quotes(config_, {"USD/CNY", "EUR/CNY"}, {});
        ASSERT_TRUE(q.has_value()) << q.error().to_string();
        psp_options_.pairs = *q;
        psp_options_.banks = {{"CNY", "bank-cn"}, {"USD", "bank-intl"}, {"EUR", "bank-intl"}};
        // No outflows (CNY paid out in USD or EUR): they settle on other currencies'
        // days and stayed open past the run (as in tests/integration/node).
        psp_options_.mix.outflow = 0;
        psp_options_.seed = seed_;
        psp_options_.settl_type = "1";  // value today: the next hourly cut-off settles it
        clients_ =
            std::make_unique<PspClients>(psp_options_, figures_, [this] { return clock_.now(); });
        std::string error;
        ASSERT_TRUE(clients_->start(gateway_port_, dictionary_, dir_, &error)) << error;
        ASSERT_TRUE(wait_for([&] { return clients_->all_logged_on(); }, kWait))
            << "the PSP sessions did not log on";
        // Funds for payouts (USD, EUR) and for orders that buy with CNY.
        fxsim::BankSim& cn = *banks_[0];
        fxsim::BankSim& intl = *banks_[1];
        for (const char* psp : {"alpha", "borealis"}) {
            for (const auto& [bank, amount, ccy] : {std::tuple{&intl, "5000000.00", "USD"},
                                                    {&intl, "5000000.00", "EUR"},
                                                    {&cn, "30000000.00", "CNY"}}) {
                auto ref = bank->send_deposit(psp, money_of(config_, amount, ccy));
                ASSERT_TRUE(ref.has_value()) << ref.error().to_string();
            }
        }
        traffic_ = std::thread([this] {
            while (traffic_run_.load()) {
                if (traffic_on_.load())
                    clients_->send_next();
                std::this_thread::sleep_for(std::chrono::milliseconds(1000 / kRequestsPerSecond));
            }
        });
    }

    // The dead daemon's ledger: fxledger verify, the trial balance, and the payout holds.
    // `final_check`: the run is over (every accepted payout must be held exactly once
    // and the outbox empty).
    void check_ledger(bool final_check) {
        const auto path = dir_ / "ledger.lmdb";
        {
            const std::string cmd =
                std::string(FXLEDGER_BIN) + " --ledger " + path.string() + " verify 2>&1";
            FILE* p = ::popen(cmd.c_str(), "r");
            ASSERT_NE(p, nullptr);
            std::string out;
            char buf[4096];
            while (std::size_t r = std::fread(buf, 1, sizeof buf, p))
                out.append(buf, r);
            const int status = ::pclose(p);
            ++verifies_;
            EXPECT_EQ(WEXITSTATUS(status), 0)
                << "fxledger verify after kill " << figures_.kills << ":\n"
                << out;
        }
        ledger::OpenOptions o;
        o.path = path;
        o.create_if_missing = false;
        o.read_only = true;
        auto opened = ledger::Ledger::open(o);
        ASSERT_TRUE(opened.has_value()) << opened.error().to_string();
        auto view = (*opened)->read();
        ASSERT_TRUE(view.has_value());
        auto rows = (*view)->trial_balance();
        ASSERT_TRUE(rows.has_value());
        for (const auto& row : *rows) {
            EXPECT_EQ(row.debits_posted, row.credits_posted)
                << "trial balance of " << row.currency.to_string() << " after kill "
                << figures_.kills;
            EXPECT_EQ(row.debits_pending, row.credits_pending)
                << "pending trial balance of " << row.currency.to_string();
        }
        auto info = (*view)->info();
        ASSERT_TRUE(info.has_value());
        std::map<std::string, int> holds;
        for (std::uint64_t first = 1; first <= info->last_sequence; first += 10'000) {
            auto entries = (*view)->entries_by_sequence(first, first + 9'999, 10'000);
            ASSERT_TRUE(entries.has_value());
            for (const auto& e : *entries) {
                // The engine holds a payout's funding by moving it from the PSP's
                // available to its held account: one entry "payout <id> hold".
                const std::string& ref = e.reference;
                if (ref.size() > 12 && ref.rfind("payout ", 0) == 0 &&
                    ref.compare(ref.size() - 5, 5, " hold") == 0)
                    ++holds[ref.substr(7, ref.size() - 12)];
            }
        }
        for (const auto& [id, n] : holds) {
            if (n > 1) {
                ++figures_.duplicated;
                figures_.problems.push_back("payout " + id + " held " + std::to_string(n) +
                                            " times");
            }
        }
        for (const std::string& id : clients_->accepted_payouts()) {
            ++figures_.holds_checked;
            if (!holds.contains(id)) {
                ++figures_.lost;
                figures_.problems.push_back("payout " + id +
                                            " was acknowledged accepted but holds nothing in "
                                            "the ledger after kill " +
                                            std::to_string(figures_.kills));
            }
        }
        if (final_check) {
            auto outbox = (*view)->aux_scan(ledger::AuxTable::kOutbox, "o/", 1'000'000);
            ASSERT_TRUE(outbox.has_value());
            EXPECT_TRUE(outbox->empty()) << outbox->size() << " outbox rows left unacknowledged";
        }
    }

    // After a restart: sessions back with their sequence numbers, acknowledgements and
    // unanswered requests resent and compared, orders queried.
    void recover_after_restart(const std::map<std::string, std::uint64_t>& seqs_before) {
        ASSERT_TRUE(wait_for([&] { return clients_->all_logged_on(); }, kWait))
            << "the PSP sessions did not log on again after kill " << figures_.kills
            << " (a sequence number too low logs a QuickFIX session out)";
        for (const auto& [session, seq] : clients_->target_seqs()) {
            EXPECT_GE(seq, seqs_before.at(session))
                << session << ": the next target sequence number went back after kill "
                << figures_.kills;
        }
        const std::uint64_t acked_epoch = epoch_ - 1;
        clients_->retry_pending();
        clients_->recheck_accepted(acked_epoch);
        clients_->query_orders(acked_epoch);
        bool answered = wait_for([&] { return clients_->settled_answers(); }, kWait);
        if (!answered) {
            // A retry can reach the daemon while its venue rates are not in yet and
            // be refused 'busy': retry once more.
            clients_->retry_pending();
            answered = wait_for([&] { return clients_->settled_answers(); }, kWait);
        }
        EXPECT_TRUE(answered) << clients_->pending()
                              << " requests stayed unanswered after the restart following kill "
                              << figures_.kills;
        clients_->check_order_answers();
    }

    config::Config config_;
    std::filesystem::path dir_;
    std::string dictionary_;
    std::uint64_t seed_ = 1;
    std::uint16_t gateway_port_ = 0;
    std::map<std::string, std::uint16_t> ports_;
    HarnessClock clock_{std::chrono::sys_days(std::chrono::year{2026} / 11 / 23),  // a Monday
                        kClockRate};
    std::unique_ptr<DaemonProcess> daemon_;
    std::vector<std::unique_ptr<fxsim::VenueSim>> venues_;
    std::vector<std::unique_ptr<fxsim::BankSim>> banks_;
    fxsim::PspOptions psp_options_;
    std::unique_ptr<PspClients> clients_;
    Figures figures_;
    std::uint64_t epoch_ = 1;
    std::uint64_t verifies_ = 0;
    std::thread traffic_;
    std::atomic<bool> traffic_run_{true}, traffic_on_{false};
};

TEST_F(FxsettledCrashTest, SigkillAtRandomMomentsLosesNoAcknowledgementAndDoublesNothing) {
    const std::uint64_t kills = env_u64("FXSETTLE_CRASH_KILLS", 10);
    seed_ = env_u64("FXSETTLE_CRASH_SEED", 20261123);
    std::mt19937_64 rng(seed_);
    const auto started = std::chrono::steady_clock::now();

    gateway_port_ = free_port();
    for (const char* id : {"venue-a", "venue-b", "bank-cn", "bank-intl"})
        ports_[id] = free_port();
    config_ = crash_config(dir_, gateway_port_, ports_);
    {
        std::ofstream f(dir_ / "fxsettled.toml");
        f << "# fxsettled_crash_test's config\n" << config::to_toml(config_);
    }
    daemon_ = std::make_unique<DaemonProcess>(FXSETTLED_BIN, dir_ / "fxsettled.log");
    ASSERT_NO_FATAL_FAILURE(start_counterparties());
    ASSERT_NO_FATAL_FAILURE(start_daemon());
    ASSERT_NO_FATAL_FAILURE(start_clients());
    clients_->set_epoch(epoch_);
    traffic_on_ = true;

    for (std::uint64_t k = 1; k <= kills; ++k) {
        // Some kills come just after a cut-off (netting, posting, hedges and payment
        // orders going out); the rest at a random moment of the traffic.
        const auto to_cutoff = clock_.real_until(next_cutoff(clock_.now()));
        const bool at_cutoff = rng() % 2 == 0 && to_cutoff < 3s;
        std::chrono::milliseconds wait{400 + static_cast<std::int64_t>(rng() % 1600)};
        if (at_cutoff)
            wait = std::max(to_cutoff, 300ms) + std::chrono::milliseconds(rng() % 500);
        std::this_thread::sleep_for(wait);
        const std::size_t open = clients_->open_payouts();
        daemon_->kill_now();
        traffic_on_ = false;
        ++figures_.kills;
        figures_.kills_at_cutoff += at_cutoff ? 1 : 0;
        figures_.kills_with_payouts_open += open > 0 ? 1 : 0;
        const auto seqs = clients_->target_seqs();
        // Let what was in flight to the clients arrive before the files are read, so
        // that every acknowledgement counted below came from the dead daemon.
        std::this_thread::sleep_for(100ms);
        ASSERT_NO_FATAL_FAILURE(check_ledger(false));
        std::printf("kill %llu at engine %s (%s): %zu payouts open, %zu requests unanswered\n",
                    static_cast<unsigned long long>(k), utc_text(clock_.now()).c_str(),
                    at_cutoff ? "after a cut-off" : "random", open, clients_->pending());
        std::fflush(stdout);
        ++epoch_;
        clients_->set_epoch(epoch_);
        const auto t0 = std::chrono::steady_clock::now();
        ASSERT_NO_FATAL_FAILURE(start_daemon());
        const auto t1 = std::chrono::steady_clock::now();
        ASSERT_NO_FATAL_FAILURE(recover_after_restart(seqs));
        const auto ms = [](auto d) {
            return static_cast<long long>(
                std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
        };
        std::printf("  restarted in %lld ms, recovered (sessions, resends, queries) in %lld ms\n",
                    ms(t1 - t0), ms(std::chrono::steady_clock::now() - t1));
        traffic_on_ = true;
        if (HasFatalFailure())
            return;
    }

    // The end: no new requests; everything answered; the cycle in progress completes.
    traffic_on_ = false;
    EXPECT_TRUE(wait_for(
        [&] {
            if (clients_->settled_answers())
                return true;
            clients_->retry_pending();
            return wait_for([&] { return clients_->settled_answers(); }, 5s);
        },
        kWait))
        << clients_->pending() << " requests unanswered at the end";
    EXPECT_TRUE(wait_for([&] { return clients_->open_payouts() == 0; }, kWait))
        << clients_->open_payouts()
        << " accepted payouts never reached settled or failed: " << [&] {
               std::string ids;
               for (const auto& id : clients_->open_payout_ids())
                   ids += " " + id;
               return ids;
           }();
    EXPECT_EQ(daemon_->terminate(60s), 0) << "fxsettled did not stop cleanly on SIGTERM:\n"
                                          << daemon_->log_tail(20);
    ASSERT_NO_FATAL_FAILURE(check_ledger(true));
    // No bank booked a payment line twice (a PaymentOrderID resent after a restart).
    std::map<std::string, int> bookings;
    for (auto& b : banks_) {
        for (const auto& booking : b->bookings()) {
            if (++bookings[booking.end_to_end_id] == 2) {
                ++figures_.duplicated;
                figures_.problems.push_back("bank booked '" + booking.end_to_end_id + "' twice");
            }
        }
    }
    const auto seconds =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started)
            .count();
    std::printf(
        "crash figures: kills %llu (after a cut-off %llu, with payouts open %llu), "
        "acknowledged operations checked %llu (resent acks %llu, payout holds %llu, order "
        "statuses %llu), unanswered retried %llu, lost %llu, duplicated %llu, flagged repeats "
        "%llu, answers to repeated requests %llu, verifies %llu, order ends after a restart %llu "
        "(sent as reject %llu); "
        "requests %llu, payouts accepted %llu settled %llu failed %llu, "
        "obligations %llu; seed %llu, %lld s\n",
        static_cast<unsigned long long>(figures_.kills),
        static_cast<unsigned long long>(figures_.kills_at_cutoff),
        static_cast<unsigned long long>(figures_.kills_with_payouts_open),
        static_cast<unsigned long long>(figures_.acks_checked + figures_.holds_checked +
                                        figures_.orders_checked),
        static_cast<unsigned long long>(figures_.acks_checked),
        static_cast<unsigned long long>(figures_.holds_checked),
        static_cast<unsigned long long>(figures_.orders_checked),
        static_cast<unsigned long long>(figures_.retried_unanswered),
        static_cast<unsigned long long>(figures_.lost),
        static_cast<unsigned long long>(figures_.duplicated),
        static_cast<unsigned long long>(figures_.flagged_repeats),
        static_cast<unsigned long long>(figures_.repeat_answers),
        static_cast<unsigned long long>(verifies_),
        static_cast<unsigned long long>(figures_.order_ends_after_restart),
        static_cast<unsigned long long>(figures_.order_ends_as_reject),
        static_cast<unsigned long long>(figures_.requests),
        static_cast<unsigned long long>(figures_.payouts_accepted),
        static_cast<unsigned long long>(figures_.payouts_settled),
        static_cast<unsigned long long>(figures_.payouts_failed),
        static_cast<unsigned long long>(figures_.obligations),
        static_cast<unsigned long long>(seed_), static_cast<long long>(seconds));
    for (const auto& p : figures_.problems)
        std::printf("  problem: %s\n", p.c_str());
    EXPECT_EQ(figures_.kills, kills);
    EXPECT_EQ(figures_.lost, 0u) << "acknowledged operations lost";
    EXPECT_EQ(figures_.duplicated, 0u) << "operations or messages duplicated";
    EXPECT_EQ(figures_.session_rejects, 0u) << "messages the gateway refused";
    EXPECT_EQ(figures_.order_ends_as_reject, 0u)
        << "order ends sent as BusinessMessageReject instead of ExecutionReport 4/C";
    EXPECT_GT(figures_.payouts_accepted, 0u);
    EXPECT_GT(figures_.acks_checked, 0u);
}

}  // namespace
}  // namespace fxsettle::crash
