// Shared by the node suites (node_test, fault_scenarios_test): the whole fxsettle node
// (tools/fxsettled/node.h) in-process over real FIX sessions on loopback, against the FIX
// simulators run in-process: PspSim (alpha and borealis), VenueSim (venue-a, venue-b) and
// BankSim (bank-cn, bank-intl). The node runs the default config with its ports pointed at
// the simulators, on a manual clock (Tuesday 10 March 2026, 02:30 UTC) that the test moves
// through the cut-offs of three business days, so spot-dated payouts and trades settle
// within the test.
#pragma once

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "adapters/convert/convert.h"
#include "adapters/fix/session_host.h"
#include "config/config.h"
#include "engine/core/events.h"
#include "ledger/ledger.h"
#include "tools/fxsettled/node.h"
#include "tools/fxsim/bank_sim.h"
#include "tools/fxsim/psp_sim.h"
#include "tools/fxsim/venue_sim.h"

namespace fxsettle::node::test {

using namespace std::chrono_literals;
using adapters::SessionKey;
using adapters::WireMessage;
namespace tag = adapters::convert::tag;

inline constexpr auto kWait = std::chrono::seconds(40);
inline const ledger::Date kDay = ledger::Date(std::chrono::year{2026} / 3 / 10);  // a Tuesday

inline std::uint16_t free_port() {
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

class ManualClock {
  public:
    explicit ManualClock(ledger::Timestamp t) : ns_(t.time_since_epoch().count()) {}
    ledger::Timestamp now() const {
        return ledger::Timestamp(std::chrono::nanoseconds(ns_.load()));
    }
    void set(ledger::Timestamp t) { ns_.store(t.time_since_epoch().count()); }

  private:
    std::atomic<std::int64_t> ns_;
};

inline bool wait_for(const std::function<bool()>& pred, std::chrono::seconds limit = kWait) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

inline std::string get(const WireMessage& m, int t) {
    const std::string* v = m.find(t);
    return v != nullptr ? *v : std::string();
}

// A PSP session the test drives message by message (for repeats, malformed and
// unauthorised requests), recording everything it receives.
class Psp : public adapters::Handler {
  public:
    std::string authenticate(const SessionKey&, const std::string&, const std::string&) override {
        return {};
    }
    void on_logon(const SessionKey&) override { ++logons; }
    void on_logout(const SessionKey&) override {}
    void on_message(const SessionKey&, WireMessage&& message) override {
        std::lock_guard lock(mu_);
        got_.push_back(std::move(message));
    }
    void on_sent(const SessionKey&, const std::vector<std::uint64_t>&) override {}
    // The `nth` message of `type` whose `id_tag` is `id` and that `pred` accepts.
    std::optional<WireMessage> wait(const std::string& type, int id_tag, const std::string& id,
                                    std::size_t nth = 1,
                                    const std::function<bool(const WireMessage&)>& pred = {}) {
        std::optional<WireMessage> found;
        wait_for([&] {
            std::lock_guard lock(mu_);
            std::size_t n = 0;
            for (const WireMessage& m : got_) {
                if (m.msg_type == type && get(m, id_tag) == id && (!pred || pred(m)) &&
                    ++n == nth) {
                    found = m;
                    return true;
                }
            }
            return false;
        });
        return found;
    }
    // The first message of `type` whose `id_tag` is `id`, if it came (no wait).
    std::optional<WireMessage> find(const std::string& type, int id_tag,
                                    const std::string& id) const {
        std::lock_guard lock(mu_);
        for (const WireMessage& m : got_) {
            if (m.msg_type == type && get(m, id_tag) == id)
                return m;
        }
        return std::nullopt;
    }
    std::size_t count(const std::string& type) const {
        std::lock_guard lock(mu_);
        std::size_t n = 0;
        for (const WireMessage& m : got_)
            n += m.msg_type == type ? 1 : 0;
        return n;
    }
    std::atomic<int> logons{0};

  private:
    mutable std::mutex mu_;
    std::vector<WireMessage> got_;
};

class NodeFixture : public ::testing::Test {
  protected:
    void SetUp() override {
        auto config = config::load_default_config();
        ASSERT_TRUE(config.has_value()) << config.error().to_string();
        config_ = *config;
        std::string pattern =
            (std::filesystem::temp_directory_path() / "fxsettle-node-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        gateway_port_ = free_port();
        for (const char* v : {"venue-a", "venue-b"})
            venue_ports_[v] = free_port();
        for (const char* b : {"bank-cn", "bank-intl"})
            bank_ports_[b] = free_port();
        dictionary_ = std::string(FXSETTLE_SOURCE_DIR_DEFAULT) + "/config/fix/FIX44-fxsettle.xml";
    }

    void TearDown() override {
        if (psps_)
            psps_->stop();
        if (node_)
            static_cast<void>(node_->stop(500ms));
        node_.reset();
        for (auto& v : venues_)
            v->stop();
        for (auto& b : banks_)
            b->stop();
        std::error_code ec;
        if (std::getenv("FXSETTLE_KEEP_TEST_FILES") == nullptr)
            std::filesystem::remove_all(dir_, ec);
    }

    NodeOptions node_options() {
        NodeOptions o;
        o.ledger_path = dir_ / "ledger.lmdb";
        o.data_dir = dir_ / "node";
        o.gateway_port = gateway_port_;
        o.venue_ports = venue_ports_;
        o.bank_ports = bank_ports_;
        o.reconnect_interval = 1s;
        o.clock = [this] { return clock_.now(); };
        o.stamp_rates_on_receipt = true;
        o.fix_logs = false;
        o.observe = [this](std::span<const engine::Delivery<engine::Event>> deliveries) {
            std::lock_guard lock(events_mu_);
            for (const auto& d : deliveries) {
                if (const auto* a = std::get_if<engine::PayoutAccepted>(&d.event))
                    accepted_.insert(a->payout_id);
                else if (const auto* s = std::get_if<engine::PayoutSettled>(&d.event))
                    ++settled_[s->payout_id];
                else if (const auto* f = std::get_if<engine::PayoutFailed>(&d.event))
                    ++failed_[f->payout_id];
                else if (std::holds_alternative<engine::SettlementObligation>(d.event))
                    ++obligations_;
                else if (std::holds_alternative<engine::PaymentOrder>(d.event))
                    ++payment_orders_;
                else if (const auto* h = std::get_if<engine::HedgeFilled>(&d.event)) {
                    ++hedge_fills_;
                    fills_.push_back(*h);
                } else if (const auto* ho = std::get_if<engine::HedgeOrder>(&d.event))
                    hedge_orders_.push_back(*ho);
                else if (const auto* x = std::get_if<engine::ExposureReported>(&d.event))
                    exposures_.push_back(*x);
                else if (const auto* c = std::get_if<engine::CycleReport>(&d.event))
                    cycle_reports_.push_back(*c);
                else if (const auto* r = std::get_if<engine::SettlementReplyRejected>(&d.event))
                    reply_rejects_.push_back(*r);
            }
        };
        o.dictionary_path = dictionary_;
        o.log = [](adapters::edge::LogLevel level, const std::string& message) {
            if (level != adapters::edge::LogLevel::kInfo)
                std::printf("node %s: %s\n", adapters::edge::log_level_name(level).data(),
                            message.c_str());
        };
        return o;
    }

    // A probed port can be taken by another process before the gateway binds it: then the
    // node is created again on another one (the PSPs connect only later).
    void start_node() {
        for (int attempt = 1;; ++attempt) {
            auto node = Node::create(config_, node_options());
            ASSERT_TRUE(node.has_value()) << node.error().to_string();
            const Status s = (*node)->start();
            if (s.is_ok()) {
                node_ = std::move(*node);
                return;
            }
            const bool port_taken = s.code() == StatusCode::kUnavailable &&
                                    s.message().find("in use") != std::string::npos;
            ASSERT_TRUE(port_taken && attempt < 5) << s.to_string();
            node->reset();
            gateway_port_ = free_port();
        }
    }

    void start_counterparties(const fxsim::VenueFaults& faults = {},
                              std::uint32_t bank_reject_permille = 0) {
        std::uint64_t seed = 11;
        for (const auto& [id, comp] : {std::pair{"venue-a", "VENUEA"}, {"venue-b", "VENUEB"}}) {
            fxsim::VenueOptions o;
            o.venue_comp_id = comp;
            o.listen_port = venue_ports_[id];
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
            o.faults = faults;
            if (venue_tweak_)
                venue_tweak_(id, o);
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
            o.listen_port = bank_ports_[id];
            o.dictionary_path = dictionary_;
            o.store_path = (dir_ / (std::string(id) + ".lmdb")).string();
            for (const money::Currency& c : config_.find_bank(id)->currencies)
                o.currencies.push_back(c);
            o.confirm_delay = 20ms;
            o.reject_permille = std::string(id) == "bank-cn" ? bank_reject_permille : 0;
            o.reject_codes = {"AC04"};
            o.seed = ++seed;
            if (bank_tweak_)
                bank_tweak_(id, o);
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

    void start_psps(std::uint64_t messages, std::uint32_t possdup_permille) {
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
        o.mix.outflow = 0;  // CNY out to suppliers abroad settle on other currencies' days
        o.possdup_permille = possdup_permille;
        o.seed = 5;
        o.start_when_all_logged_on = true;
        if (psp_tweak_)
            psp_tweak_(o);
        std::string error;
        psps_ = fxsim::PspSim::create(o, &error);
        ASSERT_TRUE(psps_) << error;
        ASSERT_TRUE(psps_->start(&error)) << error;
    }

    fxsim::BankSim& bank(const std::string& id) { return *banks_[id == "bank-cn" ? 0 : 1]; }

    // Deposits that fund the PSPs' payouts and orders (U6 from the banks).
    void fund() {
        ASSERT_TRUE(wait_for([&] { return node_->counters().banks.logons >= 2; }))
            << "the bank sessions did not log on";
        const std::pair<const char*, const char*> deposits[] = {
            {"alpha", "USD"}, {"alpha", "EUR"}, {"borealis", "EUR"}, {"borealis", "GBP"}};
        for (const auto& [psp, ccy] : deposits) {
            auto m = money::parse_money("5000000.00", ccy);
            ASSERT_TRUE(m.has_value());
            auto ref = bank("bank-intl").send_deposit(psp, *m);
            ASSERT_TRUE(ref.has_value()) << ref.error().to_string();
        }
        // No CNY deposit: BankSim books a deposit on the real date while the node books it
        // on its manual clock's, so bank-cn's CNY statement holds only the payment lines,
        // which carry the engine's value date and reconcile entry by entry.
        ASSERT_TRUE(wait_for([&] { return node_->counters().banks.deposits >= 4; }))
            << "the node took " << node_->counters().banks.deposits << " of 4 deposits";
        // Both venues' rates must be in before the PSPs price anything.
        ASSERT_TRUE(wait_for([&] { return node_->counters().venues.rates_submitted >= 10; }));
        drain();
    }

    void drain() {
        EXPECT_TRUE(wait_for([&] { return node_->drained(); }))
            << "the node did not drain: " << node_->counters().sequencer.queue_depth
            << " commands queued, " << node_->counters().sink.pending << " rows pending";
    }

    // Moves the clock just before `t`, waits for rates stamped there, then to `t`.
    // `settle`: wait until the cut-off's hedges and payment orders are answered (else the
    // answers may come after the next cut-off). With past_hedge_timeout_ set (venues that
    // never answer), the clock then moves past the engine's hedge timeout so that the
    // hedges time out, and only payment orders are waited for.
    void run_cutoff(ledger::Timestamp t, bool settle = true) {
        clock_.set(t - 1s);
        node_->wake();
        const auto before = node_->counters().venues.rates_submitted;
        // Rates from every streaming venue stamped at t - 1s: 4 new rates alone may all
        // come from one venue, and the other's would be stale at the cut-off.
        ASSERT_TRUE(wait_for([&] {
            if (node_->counters().venues.rates_submitted < before + 4)
                return false;
            for (std::size_t v = 0; v < venues_.size(); ++v) {
                if (venues_[v]->faults().silent)
                    continue;
                const auto at = node_->last_rate_at(static_cast<engine::VenueIndex>(v));
                if (!at || *at < t - 1s)
                    return false;
            }
            return true;
        })) << "no fresh rates before the cut-off";
        drain();
        const auto reports = cycle_report_count();
        clock_.set(t);
        node_->wake();
        // The cut-off has run when its CycleReport is delivered: drained() alone may be
        // true before the sequencer woke, and the next step's clock would then make the
        // engine run this cut-off late.
        ASSERT_TRUE(wait_for([&] { return cycle_report_count() > reports; }))
            << "the cut-off at " << adapters::convert::format_utc_timestamp(t) << " did not run";
        drain();
        if (past_hedge_timeout_ && node_->counters().venues.hedges_in_flight > 0) {
            clock_.set(t + config_.engine.hedge_timeout_ms + 1s);
            node_->wake();
            drain();
        }
        if (!settle)
            return;
        ASSERT_TRUE(wait_for([&] {
            const auto c = node_->counters();
            return (past_hedge_timeout_ || c.venues.hedges_in_flight == 0) &&
                   c.banks.unconfirmed == 0 && node_->drained();
        })) << "hedges or payment orders stayed open after the cut-off";
    }

    // Every cut-off of CNY, EUR, GBP and USD from now through `days` more business days.
    void run_days(int days) {
        const std::chrono::minutes cutoffs[] = {3h, 8h, 9h, 9h + 30min, 14h, 14h + 30min, 19h};
        for (int d = 0; d <= days; ++d) {
            for (const auto m : cutoffs) {
                const auto t = ledger::Timestamp(kDay + std::chrono::days(d)) + m;
                if (t > clock_.now()) {
                    ASSERT_NO_FATAL_FAILURE(run_cutoff(t));
                }
            }
        }
    }

    // Waits until the PSPs' traffic was sent and answered.
    void wait_psps_done() {
        ASSERT_TRUE(wait_for([&] { return psps_->done(); })) << "the PSPs did not finish";
        drain();
    }

    std::map<std::string, ledger::Balance> balances() {
        std::map<std::string, ledger::Balance> out;
        auto view = node_->ledger().read();
        EXPECT_TRUE(view.has_value());
        auto accounts = (*view)->accounts();
        EXPECT_TRUE(accounts.has_value());
        for (const auto& a : *accounts)
            out[a.code] = *(*view)->balance(a.id);
        return out;
    }

    void check_ledger() {
        auto view = node_->ledger().read();
        ASSERT_TRUE(view.has_value());
        auto rows = (*view)->trial_balance();
        ASSERT_TRUE(rows.has_value());
        for (const auto& row : *rows) {
            EXPECT_EQ(row.debits_posted, row.credits_posted)
                << "trial balance of " << row.currency.to_string();
            EXPECT_EQ(row.debits_pending, row.credits_pending)
                << "pending trial balance of " << row.currency.to_string();
        }
        auto report = (*view)->verify();
        ASSERT_TRUE(report.has_value());
        EXPECT_TRUE(report->ok) << report->failure;
        auto outbox = (*view)->aux_scan(ledger::AuxTable::kOutbox, "o/", 1'000'000);
        ASSERT_TRUE(outbox.has_value());
        EXPECT_TRUE(outbox->empty()) << outbox->size() << " outbox rows left unacknowledged";
    }

    // fxledger reconcile of a bank's camt.053 against its nostro in the node's ledger.
    void reconcile(const std::string& bank_id, const char* comp_id, const std::string& ccy) {
        const auto stmt_dir = dir_ / "statements";
        auto files = bank(bank_id).write_statements(stmt_dir);
        ASSERT_TRUE(files.has_value()) << files.error().to_string();
        const auto file = stmt_dir / (std::string(comp_id) + "-" + ccy + ".camt053.xml");
        ASSERT_TRUE(std::filesystem::exists(file)) << file;
        const std::string cmd = std::string(FXLEDGER_BIN) + " --ledger " +
                                node_->ledger_path().string() + " reconcile --account " + bank_id +
                                "/nostro/" + ccy + " --statement " + file.string() + " 2>&1";
        FILE* p = ::popen(cmd.c_str(), "r");
        ASSERT_NE(p, nullptr);
        std::string out;
        char buf[4096];
        while (std::size_t r = std::fread(buf, 1, sizeof buf, p))
            out.append(buf, r);
        const int status = ::pclose(p);
        EXPECT_EQ(WEXITSTATUS(status), 0) << out;
        EXPECT_THAT(out, ::testing::HasSubstr("RECONCILED")) << out;
    }

    // What the PSPs counted must agree with the node and the banks.
    void check_outcomes() {
        const auto n = node_->counters();
        const auto accepted = psps_->count("U2/A");
        EXPECT_GT(accepted, 0u) << "no payout was accepted";
        {
            std::lock_guard lock(events_mu_);
            EXPECT_FALSE(accepted_.empty()) << "the engine accepted no payout";
            // What the PSPs received covers every outcome (a repeat or a redelivery after
            // a restart is answered again, so they may count more).
            EXPECT_GE(accepted, accepted_.size());
            EXPECT_GE(psps_->count("U2/S"), settled_.size()) << "settled payouts the PSPs missed";
            EXPECT_GE(psps_->count("U2/F"), failed_.size()) << "failed payouts the PSPs missed";
            EXPECT_GE(psps_->count("recv/U5"), obligations_ > 0 ? 1u : 0u);
            EXPECT_GT(obligations_, 0u) << "no settlement obligation";
            EXPECT_GT(payment_orders_, 0u) << "no payment order";
            for (const auto& [id, times] : settled_)
                EXPECT_EQ(times, 1) << "payout " << id << " settled " << times << " times";
        }
        EXPECT_GE(psps_->count("recv/U5"), 2u) << "obligation reports";
        EXPECT_GT(psps_->count("recv/S"), 0u) << "quotes";
        EXPECT_GT(psps_->count("recv/8"), 0u) << "execution reports";
        std::uint64_t confirmed = 0, rejected = 0;
        for (const auto& b : banks_) {
            confirmed += b->figures().lines_confirmed;
            rejected += b->figures().lines_rejected;
        }
        EXPECT_EQ(n.banks.line_rejections, rejected) << "bank line rejections seen by the node";
        EXPECT_GT(n.venues.hedges_sent, 0u) << "no hedge at a venue";
        // Past the hedge timeout the engine closed the hedges, but the venue adapter keeps
        // each one in flight until the venue answers (it asks their status at the next
        // logon, and a late fill still reduces the exposure).
        EXPECT_EQ(n.venues.hedges_in_flight, past_hedge_timeout_ ? n.venues.hedges_sent : 0u);
        EXPECT_EQ(n.banks.unconfirmed, 0u);
        EXPECT_EQ(n.gateway.busy_rejects, 0u);
        std::printf(
            "figures: sent %llu, U2 A/S/F %llu/%llu/%llu, U5 %llu, hedges %llu, "
            "bank lines confirmed %llu rejected %llu, commands %llu\n",
            static_cast<unsigned long long>(psps_->sent()),
            static_cast<unsigned long long>(accepted),
            static_cast<unsigned long long>(psps_->count("U2/S")),
            static_cast<unsigned long long>(psps_->count("U2/F")),
            static_cast<unsigned long long>(psps_->count("recv/U5")),
            static_cast<unsigned long long>(n.venues.hedges_sent),
            static_cast<unsigned long long>(confirmed), static_cast<unsigned long long>(rejected),
            static_cast<unsigned long long>(n.sequencer.commands));
    }

    std::size_t cycle_report_count() {
        std::lock_guard lock(events_mu_);
        return cycle_reports_.size();
    }

    // Signed base amount of a hedge order or exposure: > 0 the engine buys base.
    static money::Int128 signed_base(bool buy_base, const money::Amount& a) {
        return buy_base ? a.minor() : -a.minor();
    }
    // The open exposure per pair index as the engine's events last reported it.
    std::map<engine::PairIndex, money::Int128> reported_open() {
        std::lock_guard lock(events_mu_);
        std::map<engine::PairIndex, money::Int128> out;
        for (const auto& x : exposures_)
            out[x.pair] = x.open_base.minor();
        std::erase_if(out, [](const auto& e) { return e.second == 0; });
        return out;
    }
    // The engine's own open exposure (call with the node stopped: the engine's thread is
    // then gone).
    std::map<engine::PairIndex, money::Int128> engine_open() const {
        std::map<engine::PairIndex, money::Int128> out;
        for (const auto& e : node_->engine().settlement().open_exposure())
            out[e.pair] = e.open_base.minor();
        return out;
    }

    // A new node, counterparties and PSPs on new files and ports (a second run in a test).
    void reset_run() {
        TearDown();
        psps_.reset();
        venues_.clear();
        banks_.clear();
        {
            std::lock_guard lock(events_mu_);
            accepted_.clear();
            settled_.clear();
            failed_.clear();
            obligations_ = payment_orders_ = hedge_fills_ = 0;
            hedge_orders_.clear();
            fills_.clear();
            exposures_.clear();
            cycle_reports_.clear();
            reply_rejects_.clear();
        }
        clock_.set(ledger::Timestamp(kDay) + 2h + 30min);
        SetUp();
    }

    std::function<void(const std::string&, fxsim::VenueOptions&)> venue_tweak_;
    std::function<void(const std::string&, fxsim::BankOptions&)> bank_tweak_;
    std::function<void(fxsim::PspOptions&)> psp_tweak_;
    bool past_hedge_timeout_ = false;

    config::Config config_;
    std::filesystem::path dir_;
    std::string dictionary_;
    std::uint16_t gateway_port_ = 0;
    std::map<std::string, std::uint16_t> venue_ports_, bank_ports_;
    ManualClock clock_{ledger::Timestamp(kDay) + 2h + 30min};
    std::vector<std::unique_ptr<fxsim::VenueSim>> venues_;
    std::vector<std::unique_ptr<fxsim::BankSim>> banks_;
    std::unique_ptr<fxsim::PspSim> psps_;
    std::unique_ptr<Node> node_;
    // The engine's events as the node delivered them (redeliveries after a restart too).
    std::mutex events_mu_;
    std::set<std::uint64_t> accepted_;
    std::map<std::uint64_t, int> settled_, failed_;
    std::uint64_t obligations_ = 0, payment_orders_ = 0, hedge_fills_ = 0;
    std::vector<engine::HedgeOrder> hedge_orders_;
    std::vector<engine::HedgeFilled> fills_;
    std::vector<engine::ExposureReported> exposures_;
    std::vector<engine::CycleReport> cycle_reports_;
    std::vector<engine::SettlementReplyRejected> reply_rejects_;

    // True when every payout the engine accepted was settled or failed, never both.
    bool payouts_final() {
        std::lock_guard lock(events_mu_);
        for (std::uint64_t id : accepted_) {
            if (settled_.contains(id) == failed_.contains(id))
                return false;
        }
        return true;
    }
    void wait_payouts_final() {
        ASSERT_TRUE(wait_for([&] { return payouts_final(); }))
            << "payouts left open: " << accepted_.size() << " accepted, " << settled_.size()
            << " settled, " << failed_.size() << " failed";
    }
};

}  // namespace fxsettle::node::test
