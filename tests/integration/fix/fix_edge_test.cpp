// The FIX edge end to end: the real Engine under the real Sequencer on a real LMDB ledger,
// the gateway (acceptor), the venue and bank adapters (initiators) and EdgeSink, all over
// real QuickFIX sessions on loopback. The counterparties are SessionHosts the test drives:
// a PSP initiator (alpha, borealis and coral), a venue acceptor (venue-a, venue-b) that
// answers MarketDataRequests with snapshots and fills hedge orders, and a bank acceptor
// (bank-cn, bank-intl) that confirms payment orders and sends deposit notices.
//
// The engine runs on a manual clock (Tuesday 10 March 2026, before the 03:00 CNY cut-off);
// the venue adapter stamps rates on receipt with that clock.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <functional>
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
#include "adapters/edge/bank_adapter.h"
#include "adapters/edge/common.h"
#include "adapters/edge/edge_sink.h"
#include "adapters/edge/gateway.h"
#include "adapters/edge/host_options.h"
#include "adapters/edge/venue_adapter.h"
#include "adapters/fix/session_host.h"
#include "config/config.h"
#include "engine/core/engine.h"
#include "engine/sequencer/sequencer.h"
#include "ledger/ledger.h"

namespace fxsettle::adapters::edge {
namespace {

using namespace std::chrono_literals;
using Seq = engine::Sequencer<engine::Engine>;
namespace tag = convert::tag;

constexpr auto kWait = std::chrono::seconds(30);

const ledger::Date kDay = ledger::Date(std::chrono::year{2026} / 3 / 10);
ledger::Timestamp at(std::chrono::minutes since_midnight) {
    return ledger::Timestamp(kDay) + since_midnight;
}

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

std::string dictionary_path() {
    const char* root = std::getenv("FXSETTLE_SOURCE_DIR");
    return std::string(root != nullptr ? root : FXSETTLE_SOURCE_DIR_DEFAULT) +
           "/config/fix/FIX44-fxsettle.xml";
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

std::string get(const WireMessage& m, int t) {
    const std::string* v = m.find(t);
    return v != nullptr ? *v : std::string();
}

// A counterparty the test drives: records every message; `script` answers.
class Party : public Handler {
  public:
    struct Got {
        SessionKey key;
        WireMessage message;
    };
    using Script = std::function<void(Party&, const SessionKey&, const WireMessage&)>;

    std::string authenticate(const SessionKey&, const std::string&, const std::string&) override {
        return {};
    }
    void on_logon(const SessionKey& key) override {
        std::lock_guard lock(mu_);
        ++logons_[key];
        cv_.notify_all();
    }
    void on_logout(const SessionKey& key) override {
        std::lock_guard lock(mu_);
        ++logouts_[key];
        cv_.notify_all();
    }
    void on_message(const SessionKey& key, WireMessage&& message) override {
        {
            std::lock_guard lock(mu_);
            got_.push_back(Got{key, message});
            cv_.notify_all();
        }
        if (script)
            script(*this, key, message);
    }
    void on_sent(const SessionKey&, const std::vector<std::uint64_t>&) override {}

    bool wait(const std::function<bool(const std::vector<Got>&)>& pred) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, kWait, [&] { return pred(got_); });
    }
    bool wait_logons(const SessionKey& key, int n) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, kWait, [&] { return logons_[key] >= n; });
    }
    std::vector<Got> got() const {
        std::lock_guard lock(mu_);
        return got_;
    }
    // Messages of `type` on `key` whose `id_tag` is `id`.
    std::vector<WireMessage> find(const SessionKey& key, const std::string& type, int id_tag,
                                  const std::string& id) const {
        std::vector<WireMessage> out;
        std::lock_guard lock(mu_);
        for (const Got& g : got_) {
            if (g.key == key && g.message.msg_type == type && get(g.message, id_tag) == id)
                out.push_back(g.message);
        }
        return out;
    }

    Script script;
    SessionHost* host = nullptr;

  private:
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<Got> got_;
    std::map<SessionKey, int> logons_;
    std::map<SessionKey, int> logouts_;
};

// Records every delivered event (for the checks), then hands the deliveries to EdgeSink.
class RecordingSink : public engine::EventSink<engine::Event> {
  public:
    explicit RecordingSink(EdgeSink& next) : next_(next) {}
    void deliver(std::span<const engine::Delivery<engine::Event>> deliveries) override {
        {
            std::lock_guard lock(mu_);
            for (const auto& d : deliveries)
                events_.push_back(d.event);
        }
        next_.deliver(deliveries);
    }
    template <typename T>
    std::vector<T> all() const {
        std::vector<T> out;
        std::lock_guard lock(mu_);
        for (const auto& e : events_) {
            if (const T* t = std::get_if<T>(&e))
                out.push_back(*t);
        }
        return out;
    }

  private:
    EdgeSink& next_;
    mutable std::mutex mu_;
    std::vector<engine::Event> events_;
};

// The PSPs' side of their sessions, the venues' and the banks'.
const SessionKey kAlpha{"ALPHAPAY", "FXSETTLE"};
const SessionKey kBorealis{"BOREALIS", "FXSETTLE"};
const SessionKey kCoral{"CORAL", "FXSETTLE"};
const SessionKey kVenueA{"VENUEA", "FXSETTLE"};
const SessionKey kVenueB{"VENUEB", "FXSETTLE"};
const SessionKey kBankCn{"BANKCN", "FXSETTLE"};
const SessionKey kBankIntl{"BANKINTL", "FXSETTLE"};

class FixEdgeTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto config = config::load_default_config();
        ASSERT_TRUE(config.has_value()) << config.error().to_string();
        config_ = *config;
        gateway_port_ = free_port();
        venue_port_ = free_port();
        bank_port_ = free_port();
        ASSERT_NE(gateway_port_, 0);
        config_.gateway.listen = config::Endpoint{"127.0.0.1", gateway_port_};
        for (config::VenueConfig& v : config_.venues) {
            v.port = venue_port_;  // both venue sessions on one test acceptor
            v.reconnect_interval_s = 1s;
        }
        for (config::BankConfig& b : config_.banks) {
            b.port = bank_port_;
            b.reconnect_interval_s = 1s;
        }
        std::string pattern =
            (std::filesystem::temp_directory_path() / "fxsettle-fix-edge-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;

        ledger::OpenOptions lo;
        lo.path = dir_ / "ledger";
        auto ledger = ledger::Ledger::open(lo);
        ASSERT_TRUE(ledger.has_value()) << ledger.error().to_string();
        ledger_ = std::move(*ledger);
        auto engine = engine::Engine::create(config_);
        ASSERT_TRUE(engine.has_value()) << engine.error().to_string();
        engine_ = std::make_unique<engine::Engine>(std::move(*engine));
        auto results = ledger_->commit(engine_->initial_operations(), clock_.now());
        ASSERT_TRUE(results.has_value()) << results.error().to_string();

        auto converter = convert::Converter::create(config_);
        ASSERT_TRUE(converter.has_value()) << converter.error().to_string();
        converter_ = std::make_unique<convert::Converter>(std::move(*converter));
        const ClockFn clock = [this] { return clock_.now(); };
        const LogFn log = [this](LogLevel level, const std::string& message) {
            std::lock_guard lock(log_mu_);
            log_.push_back(std::string(log_level_name(level)) + ": " + message);
            std::printf("edge %s: %s\n", log_level_name(level).data(), message.c_str());
        };
        sink_ = std::make_unique<EdgeSink>(*converter_, clock, log);
        recording_ = std::make_unique<RecordingSink>(*sink_);
        auto seq = Seq::create(
            *engine_, *ledger_, [this] { return clock_.now(); }, *recording_,
            engine::sequencer_options(config_.engine));
        ASSERT_TRUE(seq.has_value()) << seq.error().to_string();
        seq_ = std::move(*seq);
        submitter_ = std::make_unique<SequencerSubmitter<Seq>>(*seq_);
        gateway_ = std::make_unique<Gateway>(config_, *converter_, *submitter_, clock, log);
        VenueAdapterOptions vo;
        vo.stamp_rates_on_receipt = true;
        venues_ = std::make_unique<VenueAdapter>(config_, *converter_, *submitter_, clock, log, vo);
        banks_ = std::make_unique<BankAdapter>(config_, *converter_, *submitter_, clock, log);
        sink_->attach(gateway_.get(), venues_.get(), banks_.get());
        sink_->set_acknowledge(acknowledge_with(*seq_));

        venue_party_.script = [this](Party& p, const SessionKey& k, const WireMessage& m) {
            venue_script(p, k, m);
        };
        bank_party_.script = [this](Party& p, const SessionKey& k, const WireMessage& m) {
            bank_script(p, k, m);
        };
        const std::string dict = dictionary_path();
        // The counterparties' acceptors first, so our initiators find them.
        venue_party_host_ =
            make_host(acceptor(venue_port_, {kVenueA, kVenueB}, "venue-party"), venue_party_);
        bank_party_host_ =
            make_host(acceptor(bank_port_, {kBankCn, kBankIntl}, "bank-party"), bank_party_);
        gateway_host_ = make_host(gateway_host_options(config_, files("gateway")), *gateway_);
        venue_host_ = make_host(venue_host_options(config_, files("venues")), *venues_);
        bank_host_ = make_host(bank_host_options(config_, files("banks")), *banks_);
        ASSERT_TRUE(venue_party_host_ && bank_party_host_ && gateway_host_ && venue_host_ &&
                    bank_host_);
        venue_party_.host = venue_party_host_.get();
        bank_party_.host = bank_party_host_.get();
        gateway_->attach(gateway_host_.get());
        venues_->attach(venue_host_.get());
        banks_->attach(bank_host_.get());

        HostOptions psp = initiator({}, "psp-party");
        psp.sessions.push_back(psp_session(kAlpha, "alpha", "alpha-demo-password"));
        psp.sessions.push_back(psp_session(kBorealis, "borealis", "borealis-demo-password"));
        // Only the first test logs coral on with a wrong password (it retries every second).
        if (std::string(::testing::UnitTest::GetInstance()->current_test_info()->name())
                .starts_with("Psps"))
            psp.sessions.push_back(psp_session(kCoral, "coral", "not-coral's-password"));
        psp_host_ = make_host(std::move(psp), psp_party_);
        ASSERT_TRUE(psp_host_);
        psp_party_.host = psp_host_.get();

        ASSERT_TRUE(seq_->start().is_ok());
        for (SessionHost* h : {venue_party_host_.get(), bank_party_host_.get(), gateway_host_.get(),
                               venue_host_.get(), bank_host_.get(), psp_host_.get()}) {
            std::string error;
            ASSERT_TRUE(h->start(&error)) << error;
        }
    }

    void TearDown() override {
        stop_all();
        std::error_code ec;
        if (std::getenv("FXSETTLE_KEEP_TEST_FILES") == nullptr)
            std::filesystem::remove_all(dir_, ec);
    }

    // Stops the PSPs, then our hosts (which hand everything queued to QuickFIX, so the
    // last on_sent acknowledgements reach the sequencer), then the counterparties and
    // the sequencer.
    void stop_all() {
        for (auto* h : {&psp_host_, &gateway_host_, &venue_host_, &bank_host_, &venue_party_host_,
                        &bank_party_host_}) {
            if (*h)
                (*h)->stop("test over", 500ms);
        }
        if (seq_) {
            EXPECT_TRUE(seq_->stop().is_ok()) << seq_->error().to_string();
        }
    }

    HostFiles files(const std::string& name) const {
        return HostFiles{dictionary_path(), (dir_ / (name + ".lmdb")).string(), ""};
    }
    HostOptions acceptor(std::uint16_t port, std::vector<SessionKey> keys,
                         const std::string& name) const {
        HostOptions o;
        o.role = HostRole::kAcceptor;
        o.listen_port = port;
        o.dictionary_path = dictionary_path();
        o.store_path = (dir_ / (name + ".lmdb")).string();
        for (const SessionKey& k : keys) {
            SessionSpec s;
            s.key = k;
            o.sessions.push_back(s);
        }
        return o;
    }
    HostOptions initiator(std::vector<SessionSpec> sessions, const std::string& name) const {
        HostOptions o;
        o.role = HostRole::kInitiator;
        o.dictionary_path = dictionary_path();
        o.store_path = (dir_ / (name + ".lmdb")).string();
        o.sessions = std::move(sessions);
        return o;
    }
    SessionSpec psp_session(const SessionKey& key, std::string user, std::string password) const {
        SessionSpec s;
        s.key = key;
        s.connect_port = gateway_port_;
        s.reconnect_interval = 1s;
        s.username = std::move(user);
        s.password = std::move(password);
        return s;
    }
    std::unique_ptr<SessionHost> make_host(HostOptions options, Handler& handler) {
        std::string error;
        auto host = SessionHost::create(std::move(options), handler, &error);
        EXPECT_TRUE(host) << error;
        return host;
    }

    // A counterparty process restarts: its host stops (the sessions drop) and a new one
    // starts on the same store, so sequence numbers carry on.
    void restart_party(std::unique_ptr<SessionHost>& host, Party& party, std::uint16_t port,
                       std::vector<SessionKey> keys, const std::string& name) {
        host->stop("restart", 500ms);
        host.reset();
        host = make_host(acceptor(port, std::move(keys), name), party);
        ASSERT_TRUE(host);
        party.host = host.get();
        std::string error;
        ASSERT_TRUE(host->start(&error)) << error;
    }

    std::string now_text() const { return convert::format_utc_timestamp(clock_.now()); }

    // ---- the venue: snapshots on subscription, fills every hedge in full ----------------
    WireMessage snapshot(const std::string& symbol, const std::string& md_req_id) const {
        const bool usd = symbol == "USD/CNY";
        WireMessage w;
        w.msg_type = "W";
        if (!md_req_id.empty())
            w.add(tag::kMdReqId, md_req_id);
        w.add(tag::kSymbol, symbol);
        WireGroup g{tag::kNoMdEntries, {}};
        g.entries.push_back({{tag::kMdEntryType, "0"},
                             {tag::kMdEntryPx, usd ? "7.1000" : "7.7000"},
                             {tag::kMdEntrySize, "2000000.00"}});
        g.entries.push_back({{tag::kMdEntryType, "1"},
                             {tag::kMdEntryPx, usd ? "7.1010" : "7.7012"},
                             {tag::kMdEntrySize, "2000000.00"}});
        w.groups.push_back(std::move(g));
        return w;
    }
    void venue_script(Party& p, const SessionKey& key, const WireMessage& m) {
        if (m.msg_type == "V") {
            const WireGroup* g = m.find_group(tag::kNoRelatedSym);
            for (const auto& e : g ? g->entries : std::vector<std::vector<WireField>>{}) {
                const std::string* s = find_in_entry(e, tag::kSymbol);
                if (s != nullptr && (*s == "USD/CNY" || *s == "EUR/CNY"))
                    p.host->send(key, snapshot(*s, get(m, tag::kMdReqId)));
            }
        } else if (m.msg_type == "D") {
            const std::string cl = get(m, tag::kClOrdId);
            WireMessage er;
            er.msg_type = "8";
            er.add(tag::kOrderId, "V-" + cl)
                .add(tag::kClOrdId, cl)
                .add(tag::kExecId, "E-" + cl)
                .add(tag::kExecType, "F")
                .add(tag::kOrdStatus, "2")
                .add(tag::kSymbol, get(m, tag::kSymbol))
                .add(tag::kSide, get(m, tag::kSide))
                .add(tag::kOrderQty, get(m, tag::kOrderQty))
                .add(tag::kLastQty, get(m, tag::kOrderQty))
                .add(tag::kLastPx, get(m, tag::kPrice))
                .add(tag::kLeavesQty, "0")
                .add(tag::kCumQty, get(m, tag::kOrderQty))
                .add(tag::kAvgPx, get(m, tag::kPrice));
            {
                std::lock_guard lock(venue_mu_);
                venue_fills_[cl] = er;
            }
            if (fill_hedges_.load())
                p.host->send(key, std::move(er));
        } else if (m.msg_type == "H") {
            // An order status request: the venue repeats the fill it reported (same
            // ExecID), or says the order is still new.
            const std::string cl = get(m, tag::kClOrdId);
            std::optional<WireMessage> fill;
            {
                std::lock_guard lock(venue_mu_);
                if (auto it = venue_fills_.find(cl); it != venue_fills_.end())
                    fill = it->second;
            }
            if (fill)
                p.host->send(key, std::move(*fill));
        }
    }
    void push_rates() {
        for (const SessionKey& k : {kVenueA, kVenueB}) {
            for (const char* s : {"USD/CNY", "EUR/CNY"})
                venue_party_host_->send(k, snapshot(s, ""));
        }
    }

    // ---- the bank: confirms every line of every payment order ---------------------------
    void bank_script(Party& p, const SessionKey& key, const WireMessage& m) {
        if (m.msg_type != "U3" || !confirm_payments_.load())
            return;
        WireMessage u4;
        u4.msg_type = "U4";
        u4.add(tag::kTransactTime, now_text())
            .add(tag::kPaymentOrderId, get(m, tag::kPaymentOrderId))
            .add(tag::kBankReference, "BR-" + get(m, tag::kPaymentOrderId));
        WireGroup g{tag::kNoPaymentLineStatus, {}};
        if (const WireGroup* lines = m.find_group(tag::kNoPaymentLines)) {
            for (const auto& e : lines->entries) {
                const std::string* no = find_in_entry(e, tag::kPaymentLineNo);
                g.entries.push_back(
                    {{tag::kPaymentLineNo, no ? *no : "0"}, {tag::kPaymentLineStatus, "C"}});
            }
        }
        u4.groups.push_back(std::move(g));
        p.host->send(key, std::move(u4));
    }
    void deposit(const SessionKey& bank, const std::string& psp, const std::string& ccy,
                 const std::string& ref, const std::string& amount) {
        WireMessage u6;
        u6.msg_type = "U6";
        u6.add(tag::kAccount, psp)
            .add(tag::kCurrency, ccy)
            .add(tag::kTransactTime, now_text())
            .add(tag::kDepositRef, ref)
            .add(tag::kDepositAmt, amount);
        EXPECT_EQ(bank_party_host_->send(bank, std::move(u6)), SendResult::kQueued);
    }

    // ---- the PSPs ------------------------------------------------------------------------
    WireMessage order(const std::string& cl, const std::string& symbol, const std::string& side,
                      const std::string& qty, const std::string& px,
                      const std::string& account = "") const {
        WireMessage d;
        d.msg_type = "D";
        d.add(tag::kClOrdId, cl);
        if (!account.empty())
            d.add(tag::kAccount, account);
        d.add(tag::kSymbol, symbol)
            .add(tag::kSide, side)
            .add(tag::kTransactTime, now_text())
            .add(tag::kOrderQty, qty)
            .add(tag::kOrdType, "2")
            .add(tag::kPrice, px)
            .add(tag::kTimeInForce, "1")
            .add(tag::kSettlType, "1");
        return d;
    }
    void send_psp(const SessionKey& key, WireMessage m) {
        ASSERT_EQ(psp_host_->send(key, std::move(m)), SendResult::kQueued);
    }
    // Waits until `key` received a message of `type` whose `id_tag` is `id` and `pred`
    // holds for it; returns it.
    std::optional<WireMessage> expect_at(
        Party& party, const SessionKey& key, const std::string& type, int id_tag,
        const std::string& id, const std::function<bool(const WireMessage&)>& pred = nullptr,
        std::size_t nth = 1) {
        std::optional<WireMessage> found;
        party.wait([&](const std::vector<Party::Got>& got) {
            std::size_t n = 0;
            for (const Party::Got& g : got) {
                if (g.key == key && g.message.msg_type == type && get(g.message, id_tag) == id &&
                    (!pred || pred(g.message)) && ++n == nth) {
                    found = g.message;
                    return true;
                }
            }
            return false;
        });
        return found;
    }

    // Waits until the sequencer applied every command the edge submitted and every
    // delivered row went out or was acknowledged.
    void drain() {
        const auto deadline = std::chrono::steady_clock::now() + kWait;
        for (;;) {
            const auto g = gateway_->counters();
            const auto v = venues_->counters();
            const auto b = banks_->counters();
            const std::uint64_t submitted =
                g.commands_submitted + v.rates_submitted + v.fills_submitted + v.rejects_submitted +
                b.confirmations + b.line_confirmations + b.line_rejections + b.deposits;
            const auto c = seq_->counters();
            if (c.commands >= submitted && c.queue_depth == 0 && sink_->counters().pending == 0)
                return;
            if (std::chrono::steady_clock::now() > deadline) {
                ADD_FAILURE() << "the edge did not drain: " << c.commands << " commands applied, "
                              << submitted << " submitted, " << sink_->counters().pending
                              << " outbox rows pending";
                return;
            }
            std::this_thread::sleep_for(5ms);
        }
    }

    void run_cutoff(ledger::Timestamp cutoff) {
        const auto before = venues_->counters().rates_submitted;
        clock_.set(cutoff - 1s);
        seq_->wake();
        push_rates();
        const auto deadline = std::chrono::steady_clock::now() + kWait;
        while (venues_->counters().rates_submitted < before + 4 &&
               std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(5ms);
        drain();
        clock_.set(cutoff);
        seq_->wake();
    }

    // Logons of everyone, alpha funded in USD, and an unlocked CNY payout funded in USD
    // accepted: the 03:00 cut-off converts it (a hedge at a venue) and pays it through
    // bank-cn (a payment order).
    std::optional<WireMessage> fund_alpha_and_pay(const std::string& id) {
        EXPECT_TRUE(psp_party_.wait_logons(kAlpha, 1));
        EXPECT_TRUE(venue_party_.wait_logons(kVenueA, 1) && venue_party_.wait_logons(kVenueB, 1));
        EXPECT_TRUE(bank_party_.wait_logons(kBankCn, 1) && bank_party_.wait_logons(kBankIntl, 1));
        deposit(kBankIntl, "alpha", "USD", "dep-" + id, "1000000.00");
        const auto deadline = std::chrono::steady_clock::now() + kWait;
        while (banks_->counters().deposits < 1 && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(5ms);
        // The venues' first snapshots must be in before the payout is priced.
        while (venues_->counters().rates_submitted < 4 &&
               std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(5ms);
        drain();
        WireMessage u1;
        u1.msg_type = "U1";
        u1.add(tag::kPayoutInstrId, id)
            .add(tag::kCurrency, "CNY")
            .add(tag::kSettlType, "1")
            .add(tag::kTransactTime, now_text())
            .add(tag::kPayoutAmt, "50000.00")
            .add(tag::kFundingCurrency, "USD")
            .add(tag::kBeneficiaryBankId, "bank-cn")
            .add(tag::kBeneficiaryAccount, "6222020087654321")
            .add(tag::kBeneficiaryName, "Yiwu Trading Co")
            .add(tag::kBeneficiaryCountry, "CN");
        EXPECT_EQ(psp_host_->send(kAlpha, std::move(u1)), SendResult::kQueued);
        auto accepted =
            expect_at(psp_party_, kAlpha, "U2", tag::kPayoutInstrId, id,
                      [](const WireMessage& m) { return get(m, tag::kPayoutStatusCode) == "A"; });
        EXPECT_TRUE(accepted) << "payout " << id << " was not accepted";
        return accepted;
    }

    bool wait_for(const std::function<bool()>& pred) {
        const auto deadline = std::chrono::steady_clock::now() + kWait;
        while (!pred()) {
            if (std::chrono::steady_clock::now() > deadline)
                return false;
            std::this_thread::sleep_for(5ms);
        }
        return true;
    }

    void check_ledger() {
        auto view = ledger_->read();
        ASSERT_TRUE(view.has_value());
        auto rows = (*view)->trial_balance();
        ASSERT_TRUE(rows.has_value());
        for (const auto& row : *rows) {
            EXPECT_EQ(row.debits_posted, row.credits_posted) << row.currency.to_string();
            EXPECT_EQ(row.debits_pending, row.credits_pending) << row.currency.to_string();
        }
        auto report = (*view)->verify();
        ASSERT_TRUE(report.has_value());
        EXPECT_TRUE(report->ok) << report->failure;
        auto outbox = (*view)->aux_scan(ledger::AuxTable::kOutbox, "o/", 1'000'000);
        ASSERT_TRUE(outbox.has_value());
        EXPECT_TRUE(outbox->empty())
            << outbox->size() << " outbox rows left: not every message was stored";
    }

    config::Config config_;
    std::filesystem::path dir_;
    std::uint16_t gateway_port_ = 0, venue_port_ = 0, bank_port_ = 0;
    ManualClock clock_{at(2h + 40min)};
    std::unique_ptr<ledger::Ledger> ledger_;
    std::unique_ptr<engine::Engine> engine_;
    std::unique_ptr<convert::Converter> converter_;
    std::unique_ptr<EdgeSink> sink_;
    std::unique_ptr<RecordingSink> recording_;
    std::unique_ptr<Seq> seq_;
    std::unique_ptr<SequencerSubmitter<Seq>> submitter_;
    std::unique_ptr<Gateway> gateway_;
    std::unique_ptr<VenueAdapter> venues_;
    std::unique_ptr<BankAdapter> banks_;
    Party psp_party_, venue_party_, bank_party_;
    std::unique_ptr<SessionHost> venue_party_host_, bank_party_host_, gateway_host_, venue_host_,
        bank_host_, psp_host_;
    std::atomic<bool> fill_hedges_{true};
    std::atomic<bool> confirm_payments_{true};
    std::mutex venue_mu_;
    std::map<std::string, WireMessage> venue_fills_;  // by ClOrdID
    std::mutex log_mu_;
    std::vector<std::string> log_;
};

TEST_F(FixEdgeTest, PspsTradeQuotePayAndSettleOverFixThroughTheEngine) {
    // ---- logons: right passwords in, a wrong one refused and counted ----
    ASSERT_TRUE(psp_party_.wait_logons(kAlpha, 1)) << "alpha did not log on";
    ASSERT_TRUE(psp_party_.wait_logons(kBorealis, 1)) << "borealis did not log on";
    ASSERT_TRUE(venue_party_.wait_logons(kVenueA, 1) && venue_party_.wait_logons(kVenueB, 1));
    ASSERT_TRUE(bank_party_.wait_logons(kBankCn, 1) && bank_party_.wait_logons(kBankIntl, 1));
    {
        const auto deadline = std::chrono::steady_clock::now() + kWait;
        while (gateway_->counters().auth_wrong_password == 0 &&
               std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(10ms);
    }
    EXPECT_GE(gateway_->counters().auth_wrong_password, 1u);
    EXPECT_FALSE(psp_host_->logged_on(kCoral)) << "coral logged on with a wrong password";
    EXPECT_TRUE(wait_for([&] { return gateway_->counters().logons >= 2; }))
        << "the gateway saw " << gateway_->counters().logons << " logons, expected 2";
    // Each venue subscribed: both sent their snapshots for USD/CNY and EUR/CNY.
    EXPECT_EQ(venues_->counters().subscriptions_sent, 2u);

    // ---- deposits from the banks (U6) ----
    deposit(kBankIntl, "alpha", "USD", "dep-a-usd", "5000000.00");
    deposit(kBankCn, "alpha", "CNY", "dep-a-cny", "10000000.00");
    deposit(kBankIntl, "borealis", "EUR", "dep-b-eur", "3000000.00");
    {
        const auto deadline = std::chrono::steady_clock::now() + kWait;
        while (banks_->counters().deposits < 3 && std::chrono::steady_clock::now() < deadline)
            std::this_thread::sleep_for(5ms);
    }
    ASSERT_EQ(banks_->counters().deposits, 3u);
    drain();

    // ---- D -> 8 New, then a crossing order -> 8 Trade on both sides ----
    send_psp(kAlpha, order("o-a1", "EUR/CNY", "1", "100000.00", "7.7006"));
    auto alpha_new = expect_at(psp_party_, kAlpha, "8", tag::kClOrdId, "o-a1",
                               [](const WireMessage& m) { return get(m, tag::kExecType) == "0"; });
    ASSERT_TRUE(alpha_new) << "no ExecutionReport New for o-a1";
    send_psp(kBorealis, order("o-b1", "EUR/CNY", "2", "100000.00", "7.7004"));
    auto alpha_fill = expect_at(psp_party_, kAlpha, "8", tag::kClOrdId, "o-a1",
                                [](const WireMessage& m) { return get(m, tag::kExecType) == "F"; });
    auto borealis_fill =
        expect_at(psp_party_, kBorealis, "8", tag::kClOrdId, "o-b1",
                  [](const WireMessage& m) { return get(m, tag::kExecType) == "F"; });
    ASSERT_TRUE(alpha_fill && borealis_fill) << "the crossing orders did not fill";
    EXPECT_EQ(get(*alpha_fill, tag::kOrdStatus), "2");
    EXPECT_EQ(get(*alpha_fill, tag::kLastQty), "100000.00");
    EXPECT_EQ(get(*alpha_fill, tag::kLastPx), "7.7006") << "the resting order's price";

    // ---- the same ClOrdID again with PossDupFlag: the original outcome, nothing new ----
    WireMessage again = order("o-a1", "EUR/CNY", "1", "100000.00", "7.7006");
    again.poss_dup = true;
    send_psp(kAlpha, again);
    auto repeat = expect_at(
        psp_party_, kAlpha, "8", tag::kClOrdId, "o-a1",
        [](const WireMessage& m) { return get(m, tag::kExecType) == "0"; }, 2);
    ASSERT_TRUE(repeat) << "a repeated ClOrdID got no answer";
    EXPECT_EQ(get(*repeat, tag::kExecId), get(*alpha_new, tag::kExecId));
    EXPECT_EQ(get(*repeat, tag::kOrderId), get(*alpha_new, tag::kOrderId));

    // ---- RFQ: R -> S, then a payout naming the quote -> U2 accepted ----
    WireMessage r;
    r.msg_type = "R";
    r.add(tag::kQuoteReqId, "q-1");
    r.groups.push_back(WireGroup{tag::kNoRelatedSym,
                                 {{{tag::kSymbol, "USD/CNY"},
                                   {tag::kSide, "2"},
                                   {tag::kOrderQty, "70000.00"},
                                   {tag::kSettlType, "1"},
                                   {tag::kCurrency, "CNY"}}}});
    send_psp(kAlpha, r);
    auto quote = expect_at(psp_party_, kAlpha, "S", tag::kQuoteReqId, "q-1");
    ASSERT_TRUE(quote) << "no Quote for q-1";
    const std::string quote_id = get(*quote, tag::kQuoteId);
    ASSERT_FALSE(quote_id.empty());

    WireMessage u1;
    u1.msg_type = "U1";
    u1.add(tag::kPayoutInstrId, "p-1")
        .add(tag::kCurrency, "CNY")
        .add(tag::kQuoteId, quote_id)
        .add(tag::kSettlType, "1")
        .add(tag::kTransactTime, now_text())
        .add(tag::kPayoutAmt, "70000.00")
        .add(tag::kFundingCurrency, "USD")
        .add(tag::kBeneficiaryBankId, "bank-cn")
        .add(tag::kBeneficiaryAccount, "6222020012345678")
        .add(tag::kBeneficiaryName, "Shenzhen Supplier Co")
        .add(tag::kBeneficiaryCountry, "CN")
        .add(tag::kPayoutPurpose, "goods")
        .add(tag::kPayoutReference, "INV-1");
    send_psp(kAlpha, u1);
    auto accepted =
        expect_at(psp_party_, kAlpha, "U2", tag::kPayoutInstrId, "p-1",
                  [](const WireMessage& m) { return get(m, tag::kPayoutStatusCode) == "A"; });
    ASSERT_TRUE(accepted) << "payout p-1 was not accepted";
    EXPECT_EQ(get(*accepted, tag::kRateLocked), "Y");
    // The same instruction again (PossDupFlag): the same payout, nothing held twice.
    u1.poss_dup = true;
    send_psp(kAlpha, u1);
    auto accepted_again = expect_at(
        psp_party_, kAlpha, "U2", tag::kPayoutInstrId, "p-1",
        [](const WireMessage& m) { return get(m, tag::kPayoutStatusCode) == "A"; }, 2);
    ASSERT_TRUE(accepted_again);
    EXPECT_EQ(get(*accepted_again, tag::kPayoutId), get(*accepted, tag::kPayoutId));
    EXPECT_EQ(get(*accepted_again, tag::kFundingAmt), get(*accepted, tag::kFundingAmt));

    // ---- a session acting for another PSP: rejected, logged, counted, nothing changed ----
    send_psp(kBorealis, order("o-b2", "EUR/CNY", "2", "50000.00", "7.8000"));
    ASSERT_TRUE(expect_at(psp_party_, kBorealis, "8", tag::kClOrdId, "o-b2",
                          [](const WireMessage& m) { return get(m, tag::kExecType) == "0"; }));
    send_psp(kAlpha, order("o-x1", "EUR/CNY", "1", "50000.00", "7.8000", "borealis"));
    auto breach = expect_at(psp_party_, kAlpha, "8", tag::kClOrdId, "o-x1");
    ASSERT_TRUE(breach) << "no reject for an order on another PSP's account";
    EXPECT_EQ(get(*breach, tag::kExecType), "8");
    EXPECT_EQ(get(*breach, tag::kOrdStatus), "8");
    EXPECT_NE(get(*breach, tag::kText).find("borealis"), std::string::npos)
        << get(*breach, tag::kText);
    EXPECT_EQ(gateway_->counters().authorization_breaches, 1u);
    // Cancelling borealis's order from alpha's session: alpha has no such order.
    WireMessage f;
    f.msg_type = "F";
    f.add(tag::kOrigClOrdId, "o-b2")
        .add(tag::kClOrdId, "c-x1")
        .add(tag::kSymbol, "EUR/CNY")
        .add(tag::kSide, "2")
        .add(tag::kTransactTime, now_text());
    send_psp(kAlpha, f);
    auto cancel_reject = expect_at(psp_party_, kAlpha, "9", tag::kClOrdId, "c-x1");
    ASSERT_TRUE(cancel_reject) << "no OrderCancelReject for another PSP's order";
    drain();
    for (const auto& m : psp_party_.find(kBorealis, "8", tag::kClOrdId, "o-b2"))
        EXPECT_EQ(get(m, tag::kExecType), "0")
            << "borealis's order changed: ExecType " << get(m, tag::kExecType);
    EXPECT_TRUE(psp_party_.find(kBorealis, "8", tag::kClOrdId, "o-x1").empty());
    EXPECT_TRUE(psp_party_.find(kAlpha, "8", tag::kClOrdId, "o-b2").empty());

    // ---- the 03:00 CNY cut-off: hedge at the venue, U3 at the bank, U4 back, U2 settled,
    //      U5 obligations ----
    run_cutoff(at(3h));
    ASSERT_TRUE(venue_party_.wait([](const std::vector<Party::Got>& got) {
        for (const auto& g : got)
            if (g.message.msg_type == "D" && get(g.message, tag::kClOrdId).starts_with("HG-"))
                return true;
        return false;
    })) << "no hedge order reached a venue";
    ASSERT_TRUE(bank_party_.wait([](const std::vector<Party::Got>& got) {
        for (const auto& g : got)
            if (g.key == kBankCn && g.message.msg_type == "U3")
                return true;
        return false;
    })) << "no payment order reached bank-cn";
    auto settled =
        expect_at(psp_party_, kAlpha, "U2", tag::kPayoutInstrId, "p-1",
                  [](const WireMessage& m) { return get(m, tag::kPayoutStatusCode) == "S"; });
    ASSERT_TRUE(settled) << "payout p-1 was not settled after the bank's confirmation";
    EXPECT_EQ(get(*settled, tag::kPayoutId), get(*accepted, tag::kPayoutId));
    ASSERT_TRUE(psp_party_.wait([](const std::vector<Party::Got>& got) {
        for (const auto& g : got)
            if (g.key == kAlpha && g.message.msg_type == "U5")
                return true;
        return false;
    })) << "alpha got no settlement obligation report";
    drain();

    // The payout's single payment line: one U3 line for p-1's payout id.
    std::size_t lines_for_p1 = 0;
    for (const auto& g : bank_party_.got()) {
        if (g.message.msg_type != "U3")
            continue;
        if (const WireGroup* lines = g.message.find_group(tag::kNoPaymentLines)) {
            for (const auto& e : lines->entries) {
                const std::string* id = find_in_entry(e, tag::kPayoutId);
                lines_for_p1 += id != nullptr && *id == get(*accepted, tag::kPayoutId) ? 1 : 0;
            }
        }
    }
    EXPECT_EQ(lines_for_p1, 1u) << "the repeated instruction was paid twice";

    const auto v = venues_->counters();
    EXPECT_GE(v.hedges_sent, 1u);
    EXPECT_GE(v.fills_submitted, 1u);
    EXPECT_EQ(v.hedges_in_flight, 0u);
    EXPECT_EQ(banks_->counters().unconfirmed, 0u);
    EXPECT_GE(banks_->counters().confirmations, 1u);
    const auto g = gateway_->counters();
    EXPECT_GE(g.messages_by_type.at("D"), 5u);
    EXPECT_EQ(g.busy_rejects, 0u);
    RecordProperty("outbox_rows_acknowledged", std::to_string(sink_->counters().acknowledged));

    stop_all();
    check_ledger();
}

// The venue drops while a hedge is in flight (it filled the order but never reported it):
// on reconnect the adapter subscribes again and asks the hedge's status; the venue repeats
// the fill, which the engine applies once, and a second repeat changes nothing.
TEST_F(FixEdgeTest, VenueDropWithAHedgeInFlightIsRecoveredByOrderStatusOnReconnect) {
    fill_hedges_ = false;
    ASSERT_TRUE(fund_alpha_and_pay("pv-1"));
    run_cutoff(at(3h));
    std::string hedge_cl;
    SessionKey hedge_venue;
    ASSERT_TRUE(venue_party_.wait([&](const std::vector<Party::Got>& got) {
        for (const auto& g : got) {
            if (g.message.msg_type == "D" && get(g.message, tag::kClOrdId).starts_with("HG-")) {
                hedge_cl = get(g.message, tag::kClOrdId);
                hedge_venue = g.key;
                return true;
            }
        }
        return false;
    })) << "no hedge order reached a venue";
    ASSERT_TRUE(wait_for([&] { return venues_->counters().hedges_in_flight == 1; }));
    const auto logons_before = venues_->counters().logons;
    const auto subscriptions_before = venues_->counters().subscriptions_sent;

    ASSERT_NO_FATAL_FAILURE(restart_party(venue_party_host_, venue_party_, venue_port_,
                                          {kVenueA, kVenueB}, "venue-party"));
    ASSERT_TRUE(wait_for([&] { return venues_->counters().logons >= logons_before + 2; }))
        << "the venue session did not log on again";
    auto status = expect_at(venue_party_, hedge_venue, "H", tag::kClOrdId, hedge_cl);
    ASSERT_TRUE(status) << "no OrderStatusRequest for the hedge in flight after the reconnect";
    ASSERT_TRUE(wait_for([&] { return venues_->counters().hedges_in_flight == 0; }))
        << "the repeated fill did not close the hedge";
    EXPECT_GT(venues_->counters().subscriptions_sent, subscriptions_before);
    drain();
    // The venue reports the same fill once more: the engine ignores the repeated ExecID.
    std::optional<WireMessage> fill;
    {
        std::lock_guard lock(venue_mu_);
        fill = venue_fills_.at(hedge_cl);
    }
    venue_party_host_->send(hedge_venue, *fill);
    ASSERT_TRUE(wait_for([&] { return venues_->counters().fills_submitted == 2; }));
    drain();
    const auto hedge_id = convert::parse_hedge_cl_ord_id(hedge_cl);
    ASSERT_TRUE(hedge_id);
    std::size_t filled = 0;
    for (const auto& f : recording_->all<engine::HedgeFilled>())
        filled += f.hedge_id == *hedge_id ? 1 : 0;
    EXPECT_EQ(filled, 1u) << "the hedge's fill was counted " << filled << " times";
    stop_all();
    check_ledger();
}

// The bank drops before it answered a payment order: after the reconnect the adapter sends
// the unconfirmed order again with PossResend, the bank confirms it, and the payout settles.
TEST_F(FixEdgeTest, BankDropBeforeItsConfirmationGetsTheUnconfirmedOrderAgain) {
    confirm_payments_ = false;
    auto accepted = fund_alpha_and_pay("pb-1");
    ASSERT_TRUE(accepted);
    fill_hedges_ = true;
    run_cutoff(at(3h));
    std::optional<WireMessage> first;
    ASSERT_TRUE(bank_party_.wait([&](const std::vector<Party::Got>& got) {
        for (const auto& g : got) {
            if (g.key == kBankCn && g.message.msg_type == "U3") {
                first = g.message;
                return true;
            }
        }
        return false;
    })) << "no payment order reached bank-cn";
    ASSERT_TRUE(wait_for([&] { return banks_->counters().unconfirmed == 1; }));
    const std::string order_id = get(*first, tag::kPaymentOrderId);
    EXPECT_FALSE(first->poss_resend);

    confirm_payments_ = true;
    ASSERT_NO_FATAL_FAILURE(restart_party(bank_party_host_, bank_party_, bank_port_,
                                          {kBankCn, kBankIntl}, "bank-party"));
    auto resent = expect_at(bank_party_, kBankCn, "U3", tag::kPaymentOrderId, order_id,
                            [](const WireMessage& m) { return m.poss_resend; });
    ASSERT_TRUE(resent) << "the unconfirmed payment order was not sent again";
    EXPECT_EQ(resent->groups.size(), first->groups.size());
    auto settled =
        expect_at(psp_party_, kAlpha, "U2", tag::kPayoutInstrId, "pb-1",
                  [](const WireMessage& m) { return get(m, tag::kPayoutStatusCode) == "S"; });
    ASSERT_TRUE(settled) << "the payout did not settle after the bank's confirmation";
    EXPECT_EQ(get(*settled, tag::kPayoutId), get(*accepted, tag::kPayoutId));
    ASSERT_TRUE(wait_for([&] { return banks_->counters().unconfirmed == 0; }));
    EXPECT_GE(banks_->counters().payment_orders_resent, 1u);
    drain();
    stop_all();
    check_ledger();
}

// A sequencer that takes no commands (here: stopped) makes the gateway answer at once with
// a BusinessMessageReject, reason 4 (application not available), that tells the PSP
// nothing was done and to retry with the same id; it is counted.
TEST_F(FixEdgeTest, EngineThatTakesNoCommandsIsAnsweredBusyRetryWithTheSameId) {
    ASSERT_TRUE(psp_party_.wait_logons(kAlpha, 1));
    ASSERT_TRUE(seq_->stop().is_ok()) << seq_->error().to_string();
    send_psp(kAlpha, order("o-busy", "EUR/CNY", "1", "100000.00", "7.7006"));
    auto busy = expect_at(psp_party_, kAlpha, "j", tag::kBusinessRejectRefId, "o-busy");
    ASSERT_TRUE(busy) << "no BusinessMessageReject for an order the engine could not take";
    EXPECT_EQ(get(*busy, tag::kRefMsgType), "D");
    EXPECT_EQ(get(*busy, tag::kBusinessRejectReason), "4");
    const std::string text = get(*busy, tag::kText);
    EXPECT_TRUE(text.starts_with("busy: ")) << text;
    EXPECT_NE(text.find("nothing was done; retry with the same ClOrdID (11) 'o-busy'"),
              std::string::npos)
        << text;
    EXPECT_EQ(gateway_->counters().busy_rejects, 1u);
    EXPECT_EQ(gateway_->counters().commands_submitted, 0u);
}

}  // namespace
}  // namespace fxsettle::adapters::edge
