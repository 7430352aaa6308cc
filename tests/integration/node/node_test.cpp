// The whole fxsettle node (tools/fxsettled/node.h) end to end over real FIX sessions on
// loopback, against the FIX simulators run in-process: PspSim (alpha and borealis),
// VenueSim (venue-a, venue-b) and BankSim (bank-cn, bank-intl). The node runs the default
// config with its ports pointed at the simulators, on a manual clock (Tuesday 10 March
// 2026, 02:30 UTC) that the test moves through the cut-offs of three business days, so
// spot-dated payouts and trades settle within the test.
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

namespace fxsettle::node {
namespace {

using namespace std::chrono_literals;
using adapters::SessionKey;
using adapters::WireMessage;
namespace tag = adapters::convert::tag;

constexpr auto kWait = std::chrono::seconds(40);
const ledger::Date kDay = ledger::Date(std::chrono::year{2026} / 3 / 10);  // a Tuesday

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

bool wait_for(const std::function<bool()>& pred, std::chrono::seconds limit = kWait) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

std::string get(const WireMessage& m, int t) {
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

class NodeTest : public ::testing::Test {
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
                else if (std::holds_alternative<engine::HedgeFilled>(d.event))
                    ++hedge_fills_;
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
    void run_cutoff(ledger::Timestamp t) {
        clock_.set(t - 1s);
        node_->wake();
        const auto before = node_->counters().venues.rates_submitted;
        ASSERT_TRUE(wait_for([&] {
            return node_->counters().venues.rates_submitted >= before + 4;
        })) << "no fresh rates before the cut-off";
        drain();
        clock_.set(t);
        node_->wake();
        drain();
        ASSERT_TRUE(wait_for([&] {
            const auto c = node_->counters();
            return c.venues.hedges_in_flight == 0 && c.banks.unconfirmed == 0 && node_->drained();
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
        EXPECT_EQ(n.venues.hedges_in_flight, 0u);
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

// Orders, RFQs, locked and unlocked payouts and internal payouts from two PSPs; rates from
// two venues; three business days of cut-offs: hedges at the venues, payment orders to the
// banks, confirmations, every payout settled, obligations reported; the ledger balances,
// verifies and reconciles with the bank's camt.053.
TEST_F(NodeTest, FullCycleOverFixWithTheSimulatorsSettlesEveryPayoutAndReconciles) {
    ASSERT_NO_FATAL_FAILURE(start_counterparties());
    ASSERT_NO_FATAL_FAILURE(start_node());
    ASSERT_NO_FATAL_FAILURE(fund());
    ASSERT_NO_FATAL_FAILURE(start_psps(60, 50));
    ASSERT_NO_FATAL_FAILURE(wait_psps_done());
    ASSERT_NO_FATAL_FAILURE(run_days(3));
    ASSERT_NO_FATAL_FAILURE(wait_payouts_final());
    check_outcomes();
    EXPECT_EQ(psps_->count("U2/F"), 0u) << "no bank rejected a line";
    {
        std::lock_guard lock(events_mu_);
        EXPECT_EQ(settled_.size(), accepted_.size()) << "every payout settles";
    }
    psps_->stop();
    ASSERT_TRUE(node_->stop().is_ok());
    check_ledger();
    reconcile("bank-cn", "BANKCN", "CNY");
}

// A venue that goes away with hedges in flight: every venue answers orders only after
// 3 s and restarts (a new process on the same FIX store, its order book memory lost)
// before it answers the first cut-off's hedges. The node's sessions log on again with
// their sequence numbers, subscribe again and ask each hedge in flight for its status
// (H); the venue no longer knows the orders, so the hedges end rejected and the cycle
// completes. bank-cn rejects a share of the payment lines: those payouts fail (U2 F) and
// are refunded.
TEST_F(NodeTest, VenueRestartWithHedgesInFlightAndBankLineRejectionsAreRecovered) {
    fxsim::VenueFaults faults;
    faults.answer_delay = 3s;
    ASSERT_NO_FATAL_FAILURE(start_counterparties(faults, 400));
    ASSERT_NO_FATAL_FAILURE(start_node());
    ASSERT_NO_FATAL_FAILURE(fund());
    ASSERT_NO_FATAL_FAILURE(start_psps(40, 0));
    ASSERT_NO_FATAL_FAILURE(wait_psps_done());
    // Cut-offs until one sends hedges (the spot value date's).
    bool hedging = false;
    const std::chrono::minutes cutoffs[] = {3h, 8h, 9h, 9h + 30min, 14h, 14h + 30min, 19h};
    for (int d = 0; d <= 3 && !hedging; ++d) {
        for (const auto m : cutoffs) {
            const auto t = ledger::Timestamp(kDay + std::chrono::days(d)) + m;
            clock_.set(t - 1s);
            node_->wake();
            const auto rates = node_->counters().venues.rates_submitted;
            ASSERT_TRUE(
                wait_for([&] { return node_->counters().venues.rates_submitted >= rates + 4; }));
            drain();
            clock_.set(t);
            node_->wake();
            drain();
            if (node_->counters().venues.hedges_in_flight > 0) {
                hedging = true;
                break;
            }
        }
    }
    ASSERT_TRUE(hedging) << "no cut-off sent a hedge to a venue";
    const auto logons = node_->counters().venues.logons;
    // The venues restart before they answer.
    std::uint64_t orders = 0;
    for (auto& v : venues_) {
        orders += v->figures().orders;
        v->stop();
    }
    EXPECT_GT(orders, 0u) << "the venues saw no hedge order";
    venues_.clear();
    std::uint64_t seed = 100;
    for (const auto& [id, comp] : {std::pair{"venue-a", "VENUEA"}, {"venue-b", "VENUEB"}}) {
        fxsim::VenueOptions o;
        o.venue_comp_id = comp;
        o.listen_port = venue_ports_[id];
        o.dictionary_path = dictionary_;
        o.store_path = (dir_ / (std::string(id) + ".lmdb")).string();
        std::vector<std::string> symbols;
        for (const money::CurrencyPair& pair : config_.find_venue(id)->pairs)
            symbols.push_back(pair.to_string());
        o.pairs = *fxsim::pair_quotes(config_, symbols, {});
        o.stream_interval = 100ms;
        o.seed = ++seed;
        std::string error;
        auto venue = fxsim::VenueSim::create(o, &error);
        ASSERT_TRUE(venue) << error;
        ASSERT_TRUE(venue->start(&error)) << error;
        venues_.push_back(std::move(venue));
    }
    ASSERT_TRUE(wait_for([&] { return node_->counters().venues.logons >= logons + 2; }))
        << "the venue sessions did not log on again";
    ASSERT_TRUE(wait_for([&] { return node_->counters().venues.hedges_in_flight == 0; }))
        << "hedges stayed in flight after the venues came back";
    EXPECT_GT(node_->counters().venues.status_requests_sent, 0u)
        << "the node never asked for a hedge's status after the reconnect";
    std::uint64_t status_requests = 0;
    for (auto& v : venues_)
        status_requests += v->figures().status_requests;
    EXPECT_GT(status_requests, 0u) << "no venue got an OrderStatusRequest";
    drain();
    ASSERT_NO_FATAL_FAILURE(run_days(3));
    ASSERT_NO_FATAL_FAILURE(wait_payouts_final());
    check_outcomes();
    EXPECT_GT(bank("bank-cn").figures().lines_rejected, 0u);
    EXPECT_GT(psps_->count("U2/F"), 0u) << "no payout failed after the bank's rejections";
    {
        std::lock_guard lock(events_mu_);
        EXPECT_FALSE(failed_.empty()) << "the engine failed no payout";
    }
    psps_->stop();
    ASSERT_TRUE(node_->stop().is_ok());
    check_ledger();
    reconcile("bank-cn", "BANKCN", "CNY");
}

// VenueSim's disconnect fault: each venue session drops at its second application message
// since its logon (the first is the node's MarketDataRequest, the second its first hedge
// order, which the venue books and fills but never reports). A watcher lifts the fault
// once a venue dropped, so the reconnect runs without it: the node logs on again, asks
// each hedge in flight for its status (H), the venue reports the fill, and the engine
// books it.
TEST_F(NodeTest, VenueDisconnectWithHedgesInFlightRecoversTheFillsAfterReconnect) {
    fxsim::VenueFaults faults;
    faults.disconnect_after_messages = 2;
    ASSERT_NO_FATAL_FAILURE(start_counterparties(faults));
    std::atomic<bool> watching{true};
    std::thread watcher([&] {
        std::vector<bool> lifted(venues_.size(), false);
        while (watching.load()) {
            for (std::size_t i = 0; i < venues_.size(); ++i) {
                if (!lifted[i] && venues_[i]->figures().disconnects > 0) {
                    venues_[i]->set_faults(fxsim::VenueFaults{});
                    lifted[i] = true;
                }
            }
            std::this_thread::sleep_for(2ms);
        }
    });
    struct Join {
        std::atomic<bool>& flag;
        std::thread& thread;
        ~Join() {
            flag = false;
            thread.join();
        }
    } join{watching, watcher};
    ASSERT_NO_FATAL_FAILURE(start_node());
    ASSERT_NO_FATAL_FAILURE(fund());
    ASSERT_NO_FATAL_FAILURE(start_psps(40, 0));
    ASSERT_NO_FATAL_FAILURE(wait_psps_done());
    ASSERT_NO_FATAL_FAILURE(run_days(3));
    ASSERT_NO_FATAL_FAILURE(wait_payouts_final());
    check_outcomes();
    std::uint64_t disconnects = 0, status_requests = 0;
    for (auto& v : venues_) {
        disconnects += v->figures().disconnects;
        status_requests += v->figures().status_requests;
    }
    EXPECT_GT(disconnects, 0u) << "no venue dropped a session";
    EXPECT_GT(status_requests, 0u) << "no venue was asked for a hedge's status";
    EXPECT_GT(node_->counters().venues.status_requests_sent, 0u);
    {
        std::lock_guard lock(events_mu_);
        EXPECT_GT(hedge_fills_, 0u) << "no hedge fill was booked";
        EXPECT_EQ(settled_.size(), accepted_.size()) << "every payout settles";
    }
    psps_->stop();
    ASSERT_TRUE(node_->stop().is_ok());
    check_ledger();
    reconcile("bank-cn", "BANKCN", "CNY");
}

// The node stops in mid-day and a new one is created on the same files: the engine
// recovers, the PSP, venue and bank sessions log on again with their sequence numbers
// continued (no reset), and the day completes.
TEST_F(NodeTest, RestartInMidDayResumesSessionsAndCompletesTheCycle) {
    ASSERT_NO_FATAL_FAILURE(start_counterparties());
    ASSERT_NO_FATAL_FAILURE(start_node());
    ASSERT_NO_FATAL_FAILURE(fund());
    ASSERT_NO_FATAL_FAILURE(start_psps(40, 0));
    ASSERT_NO_FATAL_FAILURE(wait_psps_done());
    ASSERT_NO_FATAL_FAILURE(run_cutoff(ledger::Timestamp(kDay) + 3h));
    std::uint64_t seq_before = 0;
    for (const auto& s : node_->gateway_host().session_counters())
        seq_before = std::max(seq_before, s.next_target_seq);
    ASSERT_GT(seq_before, 2u);
    const auto accepted = psps_->count("U2/A");
    ASSERT_TRUE(node_->stop().is_ok());
    node_.reset();

    ASSERT_NO_FATAL_FAILURE(start_node());
    ASSERT_TRUE(wait_for([&] { return node_->counters().gateway.logons >= 2; }))
        << "the PSPs did not log on again";
    std::uint64_t seq_after = 0;
    for (const auto& s : node_->gateway_host().session_counters())
        seq_after = std::max(seq_after, s.next_target_seq);
    EXPECT_GE(seq_after, seq_before) << "the PSP sessions' sequence numbers were reset";
    // More traffic after the restart, then the rest of the cycle.
    ASSERT_TRUE(psps_->send_now("alpha"));
    ASSERT_TRUE(psps_->send_now("borealis"));
    ASSERT_TRUE(wait_for([&] { return node_->counters().venues.rates_submitted >= 4; }));
    drain();
    ASSERT_NO_FATAL_FAILURE(run_days(3));
    ASSERT_NO_FATAL_FAILURE(wait_payouts_final());
    EXPECT_GE(psps_->count("U2/A"), accepted);
    check_outcomes();
    psps_->stop();
    ASSERT_TRUE(node_->stop().is_ok());
    check_ledger();
    reconcile("bank-cn", "BANKCN", "CNY");
}

// A PSP repeating a ClOrdID, an instruction id and a QuoteReqID gets the original
// outcome and nothing changes; a malformed message and an order on another PSP's account
// are rejected with nothing changed.
TEST_F(NodeTest, RepeatsMalformedAndUnauthorisedRequestsChangeNothing) {
    ASSERT_NO_FATAL_FAILURE(start_counterparties());
    ASSERT_NO_FATAL_FAILURE(start_node());
    ASSERT_NO_FATAL_FAILURE(fund());
    Psp alpha;
    adapters::HostOptions ho;
    ho.role = adapters::HostRole::kInitiator;
    ho.dictionary_path = dictionary_;
    ho.store_path = (dir_ / "alpha.lmdb").string();
    adapters::SessionSpec spec;
    const SessionKey key{"ALPHAPAY", "FXSETTLE"};
    spec.key = key;
    spec.connect_port = gateway_port_;
    spec.reconnect_interval = 1s;
    spec.username = "alpha";
    spec.password = "alpha-demo-password";
    ho.sessions.push_back(spec);
    std::string error;
    auto host = adapters::SessionHost::create(ho, alpha, &error);
    ASSERT_TRUE(host) << error;
    ASSERT_TRUE(host->start(&error)) << error;
    ASSERT_TRUE(wait_for([&] { return alpha.logons.load() >= 1; })) << "alpha did not log on";
    const auto now = [&] { return adapters::convert::format_utc_timestamp(clock_.now()); };
    const auto order = [&](const std::string& cl, const std::string& account) {
        WireMessage d;
        d.msg_type = "D";
        d.add(tag::kClOrdId, cl);
        if (!account.empty())
            d.add(tag::kAccount, account);
        d.add(tag::kSymbol, "USD/CNY")
            .add(tag::kSide, "2")
            .add(tag::kTransactTime, now())
            .add(tag::kOrderQty, "10000.00")
            .add(tag::kOrdType, "2")
            .add(tag::kPrice, "7.3000")
            .add(tag::kTimeInForce, "1");
        return d;
    };
    // Originals.
    ASSERT_EQ(host->send(key, order("o-1", "alpha")), adapters::SendResult::kQueued);
    auto first = alpha.wait("8", tag::kClOrdId, "o-1");
    ASSERT_TRUE(first) << "no ExecutionReport for o-1";
    WireMessage r;
    r.msg_type = "R";
    r.add(tag::kQuoteReqId, "q-1");
    r.groups.push_back(adapters::WireGroup{tag::kNoRelatedSym,
                                           {{{tag::kSymbol, "USD/CNY"},
                                             {tag::kSide, "2"},
                                             {tag::kOrderQty, "10000.00"},
                                             {tag::kCurrency, "USD"}}}});
    ASSERT_EQ(host->send(key, r), adapters::SendResult::kQueued);
    auto quote = alpha.wait("S", tag::kQuoteReqId, "q-1");
    ASSERT_TRUE(quote) << "no Quote for q-1";
    WireMessage u1;
    u1.msg_type = "U1";
    u1.add(tag::kPayoutInstrId, "p-1")
        .add(tag::kCurrency, "CNY")
        .add(tag::kTransactTime, now())
        .add(tag::kPayoutAmt, "20000.00")
        .add(tag::kFundingCurrency, "USD")
        .add(tag::kBeneficiaryBankId, "bank-cn")
        .add(tag::kBeneficiaryAccount, "6222020012345678")
        .add(tag::kBeneficiaryName, "Shenzhen Supplier Co")
        .add(tag::kBeneficiaryCountry, "CN");
    ASSERT_EQ(host->send(key, u1), adapters::SendResult::kQueued);
    auto accepted = alpha.wait("U2", tag::kPayoutInstrId, "p-1");
    ASSERT_TRUE(accepted) << "no PayoutStatus for p-1";
    EXPECT_EQ(get(*accepted, tag::kPayoutStatusCode), "A") << get(*accepted, tag::kText);
    drain();
    const auto before = balances();

    // Repeats (PossDupFlag): the original answers, nothing new in the ledger.
    for (WireMessage m : {order("o-1", "alpha"), r, u1}) {
        m.poss_dup = true;
        ASSERT_EQ(host->send(key, std::move(m)), adapters::SendResult::kQueued);
    }
    auto again = alpha.wait("8", tag::kClOrdId, "o-1", 2);
    ASSERT_TRUE(again) << "a repeated ClOrdID got no answer";
    EXPECT_EQ(get(*again, tag::kExecId), get(*first, tag::kExecId));
    auto quote_again = alpha.wait("S", tag::kQuoteReqId, "q-1", 2);
    ASSERT_TRUE(quote_again) << "a repeated QuoteReqID got no answer";
    EXPECT_EQ(get(*quote_again, tag::kQuoteId), get(*quote, tag::kQuoteId));
    auto accepted_again = alpha.wait("U2", tag::kPayoutInstrId, "p-1", 2);
    ASSERT_TRUE(accepted_again) << "a repeated instruction got no answer";
    EXPECT_EQ(get(*accepted_again, tag::kPayoutId), get(*accepted, tag::kPayoutId));

    // Malformed: a Side that the dictionary does not know; unauthorised: borealis's account.
    const auto rejected_in = node_->gateway_host().counters().rejected_in;
    WireMessage bad = order("o-bad", "alpha");
    for (auto& f : bad.fields) {
        if (f.tag == tag::kSide)
            f.value = "Z";
    }
    ASSERT_EQ(host->send(key, bad), adapters::SendResult::kQueued);
    ASSERT_TRUE(wait_for([&] {
        return node_->gateway_host().counters().rejected_in > rejected_in;
    })) << "the malformed order was not rejected by the gateway's session";
    ASSERT_EQ(host->send(key, order("o-x", "borealis")), adapters::SendResult::kQueued);
    auto breach = alpha.wait("8", tag::kClOrdId, "o-x");
    ASSERT_TRUE(breach) << "no reject for an order on another PSP's account";
    EXPECT_EQ(get(*breach, tag::kExecType), "8");
    EXPECT_EQ(node_->counters().gateway.authorization_breaches, 1u);
    drain();
    EXPECT_EQ(balances(), before) << "a repeat or a rejected request changed a balance";
    host->stop("test over", 500ms);
    ASSERT_TRUE(node_->stop().is_ok());
    check_ledger();
}

// Start-up errors are one clear line: a ledger another writer holds, a port in use, an
// invalid config, an unreadable certificate, an override naming an unknown venue.
TEST_F(NodeTest, StartupErrorsNameTheirCause) {
    ASSERT_NO_FATAL_FAILURE(start_node());
    {
        NodeOptions o = node_options();
        o.data_dir = dir_ / "node2";
        auto second = Node::create(config_, o);
        ASSERT_FALSE(second.has_value()) << "a second writer opened the ledger";
        EXPECT_EQ(second.error().code(), StatusCode::kUnavailable) << second.error().to_string();
        EXPECT_THAT(second.error().message(), ::testing::HasSubstr("already open"));
    }
    {
        NodeOptions o = node_options();
        o.ledger_path = dir_ / "other.lmdb";
        o.data_dir = dir_ / "node3";  // the gateway port is the running node's
        auto third = Node::create(config_, o);
        ASSERT_TRUE(third.has_value()) << third.error().to_string();
        const Status s = (*third)->start();
        EXPECT_FALSE(s.is_ok()) << "a second node listened on a port in use";
        EXPECT_THAT(s.message(), ::testing::HasSubstr("gateway")) << s.to_string();
        EXPECT_EQ(s.message().find('\n'), std::string::npos) << s.to_string();
    }
    {
        config::Config bad = config_;
        bad.node.name = "Not A Name!";
        NodeOptions o = node_options();
        o.ledger_path = dir_ / "bad.lmdb";
        auto node = Node::create(bad, o);
        ASSERT_FALSE(node.has_value());
        EXPECT_EQ(node.error().code(), StatusCode::kInvalidArgument);
        EXPECT_THAT(node.error().message(), ::testing::HasSubstr("node.name"))
            << node.error().to_string();
    }
    {
        // TLS on the gateway with a certificate file that is not there.
        config::Config tls = config_;
        tls.gateway.tls = config::TlsConfig{(dir_ / "missing-cert.pem").string(),
                                            (dir_ / "missing-key.pem").string(), "", false};
        NodeOptions o = node_options();
        o.ledger_path = dir_ / "tls.lmdb";
        o.data_dir = dir_ / "node-tls";
        o.gateway_port = free_port();
        Status s;
        auto node = Node::create(tls, o);
        if (node.has_value())
            s = (*node)->start();
        else
            s = node.error();
        EXPECT_FALSE(s.is_ok()) << "a gateway with a missing certificate started";
        EXPECT_THAT(s.message(), ::testing::HasSubstr("missing-cert.pem")) << s.to_string();
        EXPECT_EQ(s.message().find('\n'), std::string::npos) << s.to_string();
    }
    {
        NodeOptions o = node_options();
        o.ledger_path = dir_ / "x.lmdb";
        o.venue_ports["venue-z"] = 1;
        auto node = Node::create(config_, o);
        ASSERT_FALSE(node.has_value());
        EXPECT_THAT(node.error().message(), ::testing::HasSubstr("venue-z"));
    }
}

}  // namespace
}  // namespace fxsettle::node
