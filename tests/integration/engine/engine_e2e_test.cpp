// The real Engine under the real Sequencer on a real LMDB ledger file, with a manual clock:
// simulated PSPs submit deposits, FX orders that cross between them, RFQ quotes and
// locked payouts, unlocked cross-currency payouts and internal payouts from several
// threads; venue rates come in as commands; a test sink answers hedge orders with fills
// and payment orders with bank confirmations (and one line rejection), and acknowledges
// what it received. The clock runs through the default config's cut-offs of one business
// day. At the end: one outcome per command, obligations and payment orders produced,
// consistent cycle figures, a zero trial balance, verify(), the same state hash after a
// restart (recover() from the same file), and redelivery of unacknowledged outbox rows.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "engine/core/engine.h"
#include "engine/sequencer/sequencer.h"
#include "ledger/ledger.h"

namespace fxsettle::engine {
namespace {

using namespace std::chrono_literals;
using Seq = Sequencer<Engine>;

constexpr auto kWaitMax = std::chrono::seconds(60);

// Tuesday 10 March 2026: a business day of USD, EUR and CNY.
const ledger::Date kDay = ledger::Date(std::chrono::year{2026} / 3 / 10);
ledger::Timestamp at(std::chrono::minutes since_midnight) {
    return ledger::Timestamp(kDay) + since_midnight;
}

class ManualClock {
  public:
    explicit ManualClock(ledger::Timestamp t) : ns_(t.time_since_epoch().count()) {}
    ledger::Timestamp now() const {
        return ledger::Timestamp(std::chrono::nanoseconds(ns_.load()));
    }
    void set(ledger::Timestamp t) { ns_.store(t.time_since_epoch().count()); }
    Clock clock() {
        return [this] { return now(); };
    }

  private:
    std::atomic<std::int64_t> ns_;
};

// The outcome key of a client command or of an outcome event: "<family>/<psp>/<client id>".
std::string key(std::string_view family, PspIndex psp, std::string_view client_id) {
    return std::string(family) + "/" + std::to_string(psp) + "/" + std::string(client_id);
}
std::optional<std::string> outcome_key(const Event& event) {
    if (const auto* e = std::get_if<DepositCredited>(&event))
        return key("deposit", e->psp, e->client_id);
    if (const auto* e = std::get_if<OrderAccepted>(&event))
        return key("order", e->psp, e->client_id);
    if (const auto* e = std::get_if<OrderRejected>(&event))
        return key("order", e->psp, e->client_id);
    if (const auto* e = std::get_if<QuoteIssued>(&event))
        return key("quote", e->psp, e->client_id);
    if (const auto* e = std::get_if<QuoteRejected>(&event))
        return key("quote", e->psp, e->client_id);
    if (const auto* e = std::get_if<PayoutAccepted>(&event))
        return key("payout", e->psp, e->client_id);
    if (const auto* e = std::get_if<PayoutRejected>(&event))
        return key("payout", e->psp, e->client_id);
    if (const auto* e = std::get_if<PositionReport>(&event))
        return key("position", e->psp, e->client_id);
    if (const auto* e = std::get_if<CommandRejected>(&event)) {
        const char* family = e->request == RequestKind::kDeposit    ? "deposit"
                             : e->request == RequestKind::kPosition ? "position"
                                                                    : "other";
        return key(family, e->psp, e->client_id);
    }
    return std::nullopt;
}
std::string rejection_text(const Event& event) {
    if (const auto* e = std::get_if<OrderRejected>(&event))
        return e->client_id + ": " + std::string(reason_name(e->reason)) + ": " + e->text;
    if (const auto* e = std::get_if<QuoteRejected>(&event))
        return e->client_id + ": " + std::string(reason_name(e->reason)) + ": " + e->text;
    if (const auto* e = std::get_if<PayoutRejected>(&event))
        return e->client_id + ": " + std::string(reason_name(e->reason)) + ": " + e->text;
    if (const auto* e = std::get_if<CommandRejected>(&event))
        return e->client_id + ": " + std::string(reason_name(e->reason)) + ": " + e->text;
    if (const auto* e = std::get_if<SettlementReplyRejected>(&event))
        return std::string(settlement_code_name(e->code)) + ": " + e->text;
    return {};
}
bool is_rejection(const Event& event) {
    return std::holds_alternative<OrderRejected>(event) ||
           std::holds_alternative<QuoteRejected>(event) ||
           std::holds_alternative<PayoutRejected>(event) ||
           std::holds_alternative<CommandRejected>(event) ||
           std::holds_alternative<SettlementReplyRejected>(event);
}

// Plays the venues and the banks: fills every hedge order at its limit, rejects line 0 of
// the first payment order with two lines or more and confirms every order; acknowledges
// every delivery while `acknowledge` is set.
class SimSink : public EventSink<Event> {
  public:
    struct Got {
        std::uint64_t outbox_id = 0;
        Event event;
        bool possible_resend = false;
    };

    void deliver(std::span<const Delivery<Event>> deliveries) override {
        std::vector<std::uint64_t> ids;
        std::vector<Command> replies;
        for (const Delivery<Event>& d : deliveries) {
            ids.push_back(d.outbox_id);
            if ((d.possible_resend && !answer_resends) || !answer.load())
                continue;
            if (const auto* h = std::get_if<HedgeOrder>(&d.event); h != nullptr && silent_venues) {
                std::lock_guard lock(mu_);
                hedges_unanswered.push_back(*h);
            } else if (h != nullptr) {
                replies.push_back(HedgeFill{h->venue, h->hedge_id,
                                            "EX-" + std::to_string(h->hedge_id), h->base_amount,
                                            h->limit, true});
            } else if (const auto* o = std::get_if<PaymentOrder>(&d.event)) {
                if (!line_rejected_ && o->lines.size() >= 2) {
                    line_rejected_ = true;
                    ++lines_rejected;
                    replies.push_back(
                        BankLineRejection{o->bank, o->order_id, 0, "beneficiary account closed"});
                }
                replies.push_back(
                    BankConfirmation{o->bank, o->order_id, "BR-" + std::to_string(o->order_id)});
            }
        }
        for (Command& reply : replies) {
            if (seq->submit(std::move(reply)) != SubmitResult::kAccepted)
                ++submit_failures;
        }
        {
            std::lock_guard lock(mu_);
            for (const Delivery<Event>& d : deliveries)
                got_.push_back(Got{d.outbox_id, d.event, d.possible_resend});
            replies_sent += replies.size();
            cv_.notify_all();
        }
        if (acknowledge.load()) {
            if (!seq->acknowledge(ids).is_ok())
                ++submit_failures;
        } else {
            std::lock_guard lock(mu_);
            unacknowledged.insert(ids.begin(), ids.end());
        }
    }

    bool wait_until(const std::function<bool(const std::vector<Got>&)>& pred) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, kWaitMax, [&] { return pred(got_); });
    }
    std::vector<Got> got() const {
        std::lock_guard lock(mu_);
        return got_;
    }
    std::vector<HedgeOrder> silent_hedges() const {
        std::lock_guard lock(mu_);
        return hedges_unanswered;
    }
    std::set<std::uint64_t> unacked() const {
        std::lock_guard lock(mu_);
        return unacknowledged;
    }

    Seq* seq = nullptr;
    std::atomic<bool> acknowledge{true};
    std::atomic<bool> answer{true};
    bool answer_resends = false;  // a restart after a crash before the replies
    std::atomic<int> lines_rejected{0};
    bool silent_venues = false;                 // hedge orders go unanswered (kept below)
    std::vector<HedgeOrder> hedges_unanswered;  // under mu_
    std::atomic<int> submit_failures{0};
    std::size_t replies_sent = 0;  // under mu_

  private:
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<Got> got_;
    std::set<std::uint64_t> unacknowledged;
    bool line_rejected_ = false;  // the sequencer thread's only
};

class EngineE2eTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto config = config::load_default_config();
        ASSERT_TRUE(config.has_value()) << config.error().to_string();
        config_ = *config;
        config_.engine.hedge_timeout_ms = 45s;  // not the default: the deadline follows it
        std::string pattern =
            (std::filesystem::temp_directory_path() / "fxsettle-e2e-XXXXXX").string();
        ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
        dir_ = pattern;
        open_ledger();
        auto engine = Engine::create(config_);
        ASSERT_TRUE(engine.has_value()) << engine.error().to_string();
        engine_ = std::make_unique<Engine>(std::move(*engine));
        const auto ops = engine_->initial_operations();
        auto results = ledger_->commit(ops, at(0min));
        ASSERT_TRUE(results.has_value()) << results.error().to_string();
        for (const auto& r : *results)
            ASSERT_TRUE(ledger::is_success(r.code)) << r.detail;
        alpha_ = *engine_->chart().psp_index("alpha");
        borealis_ = *engine_->chart().psp_index("borealis");
        coral_ = *engine_->chart().psp_index("coral");
        bank_cn_ = *engine_->chart().bank_index("bank-cn");
        bank_intl_ = *engine_->chart().bank_index("bank-intl");
        venue_a_ = *engine_->chart().venue_index("venue-a");
        venue_b_ = *engine_->chart().venue_index("venue-b");
    }

    void TearDown() override {
        if (seq_)
            static_cast<void>(seq_->stop());
        seq_.reset();
        ledger_.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    void open_ledger() {
        ledger_.reset();
        ledger::OpenOptions options;
        options.path = dir_ / "ledger";
        auto ledger = ledger::Ledger::open(options);
        ASSERT_TRUE(ledger.has_value()) << ledger.error().to_string();
        ledger_ = std::move(*ledger);
    }

    void start(SimSink& sink) {
        auto seq = Seq::create(*engine_, *ledger_, clock_.clock(), sink,
                               sequencer_options(config_.engine));
        ASSERT_TRUE(seq.has_value()) << seq.error().to_string();
        seq_ = std::move(*seq);
        sink.seq = seq_.get();
        ASSERT_TRUE(seq_->start().is_ok());
    }

    money::Currency ccy(std::string_view code) const { return *config_.currency_table.find(code); }
    money::Money mon(std::string_view text, std::string_view code) const {
        auto a = money::parse_amount(text, ccy(code));
        EXPECT_TRUE(a.has_value()) << text;
        return money::Money{a.value_or(money::Amount{}), ccy(code)};
    }
    money::Money minor(std::int64_t units, std::string_view code) const {
        return money::Money{money::Amount::from_minor(units), ccy(code)};
    }
    money::CurrencyPair pair(std::string_view base, std::string_view quote) const {
        return money::CurrencyPair{ccy(base), ccy(quote)};
    }
    money::Rate rate(std::string_view base, std::string_view quote, std::string_view text) const {
        auto r = money::Rate::parse(pair(base, quote), text);
        EXPECT_TRUE(r.has_value()) << text;
        return *r;
    }
    static calendar::ValueDateRequest tod() {
        return calendar::ValueDateRequest{calendar::Tenor::kToday, std::nullopt,
                                          calendar::Roll::kNone};
    }

    // Submits a client command and remembers that it expects one outcome.
    void submit(Command command, std::string family, PspIndex psp, const std::string& client_id) {
        {
            std::lock_guard lock(mu_);
            expected_.insert(key(family, psp, client_id));
        }
        EXPECT_EQ(seq_->submit_wait(std::move(command), 10s), SubmitResult::kAccepted);
    }

    // A position request whose report shows that everything submitted before it was
    // applied and delivered.
    void barrier(SimSink& sink) {
        const std::string id = "barrier-" + std::to_string(++barriers_);
        submit(PositionRequest{alpha_, id, std::nullopt}, "position", alpha_, id);
        ASSERT_TRUE(sink.wait_until([&](const std::vector<SimSink::Got>& got) {
            for (auto it = got.rbegin(); it != got.rend(); ++it) {
                const auto* r = std::get_if<PositionReport>(&it->event);
                if (r != nullptr && r->client_id == id)
                    return true;
            }
            return false;
        })) << id;
    }

    // Two-way prices from both venues, stamped `t` (the clock's time when they arrive).
    void feed_rates(SimSink& sink, ledger::Timestamp t) {
        const auto usd_size = mon("2000000.00", "USD").amount;
        const auto eur_size = mon("2000000.00", "EUR").amount;
        for (const VenueIndex v : {venue_a_, venue_b_}) {
            const bool a = v == venue_a_;
            EXPECT_EQ(
                seq_->submit_wait(
                    VenueRate{v, pair("USD", "CNY"), rate("USD", "CNY", a ? "7.1000" : "7.0998"),
                              rate("USD", "CNY", a ? "7.1010" : "7.1012"), usd_size, usd_size, t},
                    10s),
                SubmitResult::kAccepted);
            EXPECT_EQ(
                seq_->submit_wait(
                    VenueRate{v, pair("EUR", "CNY"), rate("EUR", "CNY", a ? "7.7000" : "7.6995"),
                              rate("EUR", "CNY", a ? "7.7012" : "7.7015"), eur_size, eur_size, t},
                    10s),
                SubmitResult::kAccepted);
        }
        barrier(sink);
    }

    // Moves the clock to a cut-off with fresh rates: rates one second before, then the
    // cut-off itself, then waits until its effects (and the sink's replies) are delivered.
    void run_cutoff(SimSink& sink, ledger::Timestamp cutoff) {
        clock_.set(cutoff - 1s);
        seq_->wake();
        feed_rates(sink, cutoff - 1s);
        clock_.set(cutoff);
        seq_->wake();
        ASSERT_TRUE(sink.wait_until([&](const std::vector<SimSink::Got>& got) {
            for (auto it = got.rbegin(); it != got.rend(); ++it) {
                const auto* r = std::get_if<CycleReport>(&it->event);
                if (r != nullptr && r->at == cutoff)
                    return true;
            }
            return false;
        })) << "no cycle report at the cut-off";
        // The sink's replies were queued while the report was delivered: after two
        // barriers their outcomes are in.
        barrier(sink);
        barrier(sink);
    }

    // One simulated PSP's share of a phase.
    void alpha_flow(int phase, int n) {
        std::mt19937_64 rng(100 + static_cast<unsigned>(phase));
        const std::string p = "a" + std::to_string(phase) + "-";
        for (int i = 0; i < n; ++i) {
            const std::string id = p + std::to_string(i);
            // Buys EUR with CNY (crosses borealis' offers). Among the default config's
            // PSPs only alpha may go short CNY, and only borealis EUR.
            NewOrder o;
            o.psp = alpha_;
            o.client_id = "o" + id;
            o.pair = pair("EUR", "CNY");
            o.side = book::Side::kBuy;
            o.type = book::OrderType::kLimit;
            o.tif = book::TimeInForce::kGtc;
            o.price = rate("EUR", "CNY", i % 3 == 0 ? "7.7006" : "7.7004");
            o.quantity = minor(100'000 + static_cast<std::int64_t>(rng() % 400'000), "EUR").amount;
            o.value_date = tod();
            submit(o, "order", alpha_, o.client_id);

            // An RFQ for CNY, then a payout locked at its rate.
            const std::string qid = "q" + id;
            const auto cny = minor(500'000 + static_cast<std::int64_t>(rng() % 500'000), "CNY");
            submit(QuoteRequest{alpha_, qid, ccy("USD"), ccy("CNY"), cny, tod()}, "quote", alpha_,
                   qid);
            std::optional<std::uint64_t> quote_id;
            EXPECT_TRUE(sink_->wait_until([&](const std::vector<SimSink::Got>& got) {
                for (auto it = got.rbegin(); it != got.rend(); ++it) {
                    if (const auto* q = std::get_if<QuoteIssued>(&it->event);
                        q != nullptr && q->psp == alpha_ && q->client_id == qid) {
                        quote_id = q->quote_id;
                        return true;
                    }
                    if (const auto* q = std::get_if<QuoteRejected>(&it->event);
                        q != nullptr && q->psp == alpha_ && q->client_id == qid)
                        return true;
                }
                return false;
            }));
            if (quote_id) {
                PayoutInstruction locked = payout(alpha_, "pl" + id, cny, "USD", "bank-cn");
                locked.quote_id = quote_id;
                submit(locked, "payout", alpha_, locked.client_id);
            }
            // An unlocked CNY payout funded in USD, a USD payout, an internal USD payout.
            const auto unlocked =
                payout(alpha_, "pu" + id,
                       minor(100'000 + static_cast<std::int64_t>(rng() % 900'000), "CNY"), "USD",
                       "bank-cn");
            submit(unlocked, "payout", alpha_, unlocked.client_id);
            const auto usd = payout(
                alpha_, "ps" + id, minor(10'000 + static_cast<std::int64_t>(rng() % 90'000), "USD"),
                "USD", "bank-intl");
            submit(usd, "payout", alpha_, usd.client_id);
            auto internal = payout(alpha_, "pi" + id,
                                   minor(5'000 + static_cast<std::int64_t>(rng() % 50'000), "USD"),
                                   "USD", "bank-intl");
            internal.payee_psp = borealis_;
            submit(internal, "payout", alpha_, internal.client_id);
        }
    }

    void borealis_flow(int phase, int n) {
        std::mt19937_64 rng(200 + static_cast<unsigned>(phase));
        const std::string p = "b" + std::to_string(phase) + "-";
        for (int i = 0; i < n; ++i) {
            const std::string id = p + std::to_string(i);
            NewOrder o;
            o.psp = borealis_;
            o.client_id = "o" + id;
            o.pair = pair("EUR", "CNY");
            o.side = book::Side::kSell;
            o.type = book::OrderType::kLimit;
            o.tif = i % 2 == 0 ? book::TimeInForce::kIoc : book::TimeInForce::kGtc;
            o.price = rate("EUR", "CNY", "7.7004");
            o.quantity = minor(100'000 + static_cast<std::int64_t>(rng() % 300'000), "EUR").amount;
            o.value_date = tod();
            submit(o, "order", borealis_, o.client_id);
            const auto unlocked =
                payout(borealis_, "pu" + id,
                       minor(100'000 + static_cast<std::int64_t>(rng() % 900'000), "CNY"), "EUR",
                       "bank-cn");
            submit(unlocked, "payout", borealis_, unlocked.client_id);
            const auto eur =
                payout(borealis_, "ps" + id,
                       minor(10'000 + static_cast<std::int64_t>(rng() % 90'000), "EUR"), "EUR",
                       "bank-intl");
            submit(eur, "payout", borealis_, eur.client_id);
            auto internal = payout(borealis_, "pi" + id,
                                   minor(5'000 + static_cast<std::int64_t>(rng() % 50'000), "CNY"),
                                   "CNY", "bank-cn");
            internal.payee_psp = coral_;
            submit(internal, "payout", borealis_, internal.client_id);
        }
    }

    void coral_flow(int phase, int n) {
        std::mt19937_64 rng(300 + static_cast<unsigned>(phase));
        const std::string p = "c" + std::to_string(phase) + "-";
        for (int i = 0; i < n; ++i) {
            const std::string id = p + std::to_string(i);
            const auto cny = payout(
                coral_, "ps" + id, minor(10'000 + static_cast<std::int64_t>(rng() % 90'000), "CNY"),
                "CNY", "bank-cn");
            submit(cny, "payout", coral_, cny.client_id);
            auto internal = payout(coral_, "pi" + id,
                                   minor(5'000 + static_cast<std::int64_t>(rng() % 50'000), "CNY"),
                                   "CNY", "bank-cn");
            internal.payee_psp = alpha_;
            submit(internal, "payout", coral_, internal.client_id);
            // Every fifth: a payout the engine must refuse (more than coral holds).
            if (i % 5 == 4) {
                const auto big =
                    payout(coral_, "px" + id, mon("900000000.00", "CNY"), "CNY", "bank-cn");
                submit(big, "payout", coral_, big.client_id);
            }
        }
    }

    PayoutInstruction payout(PspIndex psp, std::string id, money::Money amount,
                             std::string_view funding, std::string bank) const {
        PayoutInstruction p;
        p.psp = psp;
        p.client_id = std::move(id);
        p.beneficiary =
            Beneficiary{std::move(bank), "62220200" + p.client_id, "Shenzhen Supplier Co", "CN"};
        p.amount = amount;
        p.funding_currency = ccy(funding);
        p.value_date = tod();
        p.purpose = "goods";
        p.reference = "INV-" + p.client_id;
        return p;
    }

    // Stops the sequencer after a batch the sink leaves unacknowledged, reopens the ledger
    // file, recovers a new engine from it (the same state hash) and starts a new sequencer
    // with a new sink, which must get exactly the unacknowledged rows again.
    void restart(bool answer_resends = false) {
        sink_->acknowledge = false;
        const std::string id = "dep-late-" + std::to_string(++restarts_);
        submit(Deposit{coral_, id, bank_cn_, mon("1000.00", "CNY")}, "deposit", coral_, id);
        barrier(*sink_);
        ASSERT_TRUE(seq_->stop().is_ok()) << seq_->error().to_string();
        EXPECT_EQ(sink_->submit_failures.load(), 0);
        counters_.push_back(seq_->counters());
        const auto hash = engine_->state_hash();
        const auto unacked = sink_->unacked();
        ASSERT_FALSE(unacked.empty());
        seq_.reset();
        engine_.reset();
        open_ledger();
        auto engine = Engine::create(config_);
        ASSERT_TRUE(engine.has_value());
        engine_ = std::make_unique<Engine>(std::move(*engine));
        {
            auto view = ledger_->read();
            ASSERT_TRUE(view.has_value());
            const Status status = engine_->recover(**view);
            ASSERT_TRUE(status.is_ok()) << status.to_string();
        }
        EXPECT_EQ(engine_->state_hash(), hash) << "recover() gave another state";

        sinks_.push_back(std::make_unique<SimSink>());
        sink_ = sinks_.back().get();
        sink_->answer_resends = answer_resends;
        start(*sink_);
        ASSERT_TRUE(sink_->wait_until(
            [&](const std::vector<SimSink::Got>& g) { return g.size() >= unacked.size(); }));
        barrier(*sink_);
        std::set<std::uint64_t> redelivered;
        for (const auto& g : sink_->got()) {
            if (g.possible_resend)
                redelivered.insert(g.outbox_id);
        }
        EXPECT_EQ(redelivered, unacked);
    }

    // What every sink received first-hand (not redelivered), in delivery order.
    std::vector<SimSink::Got> delivered() const {
        std::vector<SimSink::Got> all;
        for (const auto& sink : sinks_) {
            for (auto& g : sink->got()) {
                if (!g.possible_resend)
                    all.push_back(std::move(g));
            }
        }
        return all;
    }

    void run_phase(int phase, int n) {
        std::vector<std::thread> threads;
        threads.emplace_back([&] { alpha_flow(phase, n); });
        threads.emplace_back([&] { borealis_flow(phase, n); });
        threads.emplace_back([&] { coral_flow(phase, n); });
        for (auto& t : threads)
            t.join();
        barrier(*sink_);
    }

    config::Config config_;
    std::filesystem::path dir_;
    std::unique_ptr<ledger::Ledger> ledger_;
    std::unique_ptr<Engine> engine_;
    std::unique_ptr<Seq> seq_;
    SimSink* sink_ = nullptr;
    ManualClock clock_{at(2h + 40min)};
    std::mutex mu_;
    std::set<std::string> expected_;
    int barriers_ = 0;
    int restarts_ = 0;
    std::vector<std::unique_ptr<SimSink>> sinks_;
    std::vector<SequencerCounters> counters_;
    PspIndex alpha_ = 0, borealis_ = 0, coral_ = 0;
    BankIndex bank_cn_ = 0, bank_intl_ = 0;
    VenueIndex venue_a_ = 0, venue_b_ = 0;
};

TEST_F(EngineE2eTest, ADayOfPspsVenuesAndBanksThroughTheSequencer) {
    sinks_.push_back(std::make_unique<SimSink>());
    sink_ = sinks_.back().get();
    start(*sink_);
    ASSERT_TRUE(seq_);

    // Funding, then the first phase of business before the first CNY cut-off (03:00).
    clock_.set(at(2h + 40min));
    feed_rates(*sink_, clock_.now());
    submit(Deposit{alpha_, "dep-a-usd", bank_intl_, mon("5000000.00", "USD")}, "deposit", alpha_,
           "dep-a-usd");
    submit(Deposit{alpha_, "dep-a-cny", bank_cn_, mon("10000000.00", "CNY")}, "deposit", alpha_,
           "dep-a-cny");
    submit(Deposit{borealis_, "dep-b-cny", bank_cn_, mon("20000000.00", "CNY")}, "deposit",
           borealis_, "dep-b-cny");
    submit(Deposit{borealis_, "dep-b-eur", bank_intl_, mon("3000000.00", "EUR")}, "deposit",
           borealis_, "dep-b-eur");
    submit(Deposit{coral_, "dep-c-cny", bank_cn_, mon("10000000.00", "CNY")}, "deposit", coral_,
           "dep-c-cny");
    barrier(*sink_);
    run_phase(1, 40);
    // A restart with open orders, payouts and trades: the recovered engine must run the
    // cut-offs as the first one would have.
    restart();
    run_cutoff(*sink_, at(3h));  // CNY

    // Second phase, then every cut-off of the day that settles something.
    clock_.set(at(5h + 10min));
    seq_->wake();
    feed_rates(*sink_, clock_.now());
    run_phase(2, 40);
    // The 08:00 cut-off's hedge and payment orders reach a sink that neither answers nor
    // acknowledges them (the process dies before the venues and banks got them): after
    // the restart they come again and are answered then.
    sink_->answer = false;
    sink_->acknowledge = false;
    run_cutoff(*sink_, at(8h));  // CNY (and SGD)
    restart(/*answer_resends=*/true);
    barrier(*sink_);
    barrier(*sink_);
    run_cutoff(*sink_, at(9h));   // EUR (and CNH)
    run_cutoff(*sink_, at(14h));  // USD and EUR
    run_cutoff(*sink_, at(19h));  // USD
    restart();
    ASSERT_TRUE(seq_->stop().is_ok()) << seq_->error().to_string();
    counters_.push_back(seq_->counters());
    // Each wait for the clock ran at most one tick per cut-off or hedge deadline: the
    // sequencer never spun on a deadline the engine did not clear.
    std::uint64_t ticks = 0;
    for (const auto& c : counters_)
        ticks += c.ticks;
    RecordProperty("sequencer_ticks", std::to_string(ticks));
    EXPECT_LE(ticks, 40u);
    EXPECT_GE(ticks, 5u);

    const auto got = delivered();
    // ---- every command got exactly one outcome ----
    std::map<std::string, int> outcomes;
    std::size_t rejections = 0;
    for (const auto& g : got) {
        if (auto k = outcome_key(g.event))
            ++outcomes[*k];
        if (is_rejection(g.event))
            ++rejections;
    }
    for (const std::string& k : expected_)
        EXPECT_EQ(outcomes[k], 1) << k;
    for (const auto& [k, count] : outcomes)
        EXPECT_TRUE(expected_.contains(k)) << "an outcome for no command: " << k;
    std::size_t payout_rejections = 0;
    for (const auto& g : got) {
        if (const auto* r = std::get_if<PayoutRejected>(&g.event)) {
            EXPECT_TRUE(r->client_id.starts_with("px")) << r->client_id << ": " << r->text;
            ++payout_rejections;
        } else if (is_rejection(g.event)) {
            ADD_FAILURE() << "unexpected rejection, outbox " << g.outbox_id << ": "
                          << rejection_text(g.event);
        }
    }
    EXPECT_EQ(payout_rejections, 16u);  // coral's px payouts, 8 per phase
    EXPECT_EQ(rejections, payout_rejections);

    // ---- settlement: obligations, payment orders, hedges, replies, figures ----
    std::size_t obligations = 0, payment_orders = 0, hedges = 0, hedge_fills = 0, settled = 0,
                failed = 0, fills = 0, holdbacks = 0, reports = 0, conversions = 0;
    std::map<std::pair<CycleId, CurrencyIndex>, money::Amount> pay_in, pay_out_and_orders,
        gross_out;
    std::map<std::pair<CycleId, CurrencyIndex>, std::uint64_t> payments;
    std::set<std::uint64_t> lines_sent, lines_done;
    std::vector<CycleReport> cycle_reports;
    for (const auto& g : got) {
        const Event& e = g.event;
        if (const auto* o = std::get_if<SettlementObligation>(&e)) {
            ++obligations;
            const auto k = std::make_pair(o->cycle_id, o->currency);
            gross_out[k] += o->gross_out;
            EXPECT_EQ(o->net, o->gross_in - o->gross_out);
            if (o->direction == ObligationDirection::kPayIn) {
                pay_in[k] += o->amount;
                ++payments[k];
            } else if (o->direction == ObligationDirection::kPayOut) {
                pay_out_and_orders[k] += o->amount;
                ++payments[k];
            }
        } else if (const auto* po = std::get_if<PaymentOrder>(&e)) {
            ++payment_orders;
            pay_out_and_orders[{po->cycle_id, po->currency}] += po->total;
            ++payments[{po->cycle_id, po->currency}];
            money::Amount sum;
            for (const auto& line : po->lines) {
                sum += line.amount;
                EXPECT_TRUE(lines_sent.insert(line.payout_id).second);
            }
            EXPECT_EQ(sum, po->total);
            EXPECT_TRUE(engine_->chart().bank_serves(po->bank, po->currency));
        } else if (std::holds_alternative<HedgeOrder>(e)) {
            ++hedges;
        } else if (const auto* f = std::get_if<HedgeFilled>(&e)) {
            ++hedge_fills;
            EXPECT_TRUE(f->complete);
        } else if (const auto* s = std::get_if<PayoutSettled>(&e)) {
            ++settled;
            lines_done.insert(s->payout_id);
        } else if (const auto* pf = std::get_if<PayoutFailed>(&e)) {
            ++failed;
            lines_done.insert(pf->payout_id);
        } else if (std::holds_alternative<OrderFilled>(e)) {
            ++fills;
        } else if (std::holds_alternative<HoldBack>(e)) {
            ++holdbacks;
        } else if (std::holds_alternative<ConversionExecuted>(e)) {
            ++conversions;
        } else if (const auto* r = std::get_if<CycleReport>(&e)) {
            ++reports;
            cycle_reports.push_back(*r);
        }
    }
    EXPECT_GT(fills, 0u);
    EXPECT_GT(obligations, 0u);
    EXPECT_GT(payment_orders, 0u);
    EXPECT_GT(conversions, 0u);
    EXPECT_GT(hedges, 0u);
    EXPECT_EQ(hedge_fills, hedges);
    int lines_rejected = 0;
    for (const auto& sink : sinks_)
        lines_rejected += sink->lines_rejected.load();
    EXPECT_GE(lines_rejected, 1);
    EXPECT_EQ(failed, static_cast<std::size_t>(lines_rejected));  // the lines the banks refused
    EXPECT_EQ(holdbacks, 0u);
    for (const std::uint64_t id : lines_sent)
        EXPECT_TRUE(lines_done.contains(id)) << "payment line of payout " << id << " unanswered";
    EXPECT_GE(reports, 5u);
    bool saving = false;
    for (const CycleReport& r : cycle_reports) {
        for (const CurrencyCycleFigures& f : r.currencies) {
            const auto k = std::make_pair(r.cycle_id, f.currency);
            const auto name = engine_->chart().currency(f.currency).to_string();
            EXPECT_EQ(f.gross, gross_out[k]) << name << " cycle " << r.cycle_id;
            EXPECT_EQ(f.net, pay_in[k]) << name << " cycle " << r.cycle_id;
            EXPECT_EQ(f.net, pay_out_and_orders[k]) << name << " cycle " << r.cycle_id;
            EXPECT_EQ(f.payments_after, payments[k]) << name << " cycle " << r.cycle_id;
            EXPECT_LE(f.payments_after, f.payments_before) << name;
            EXPECT_LE(f.net, f.gross) << name;
            EXPECT_LE(f.fx_crossed, f.fx_volume) << name;
            if (!f.gross.is_zero()) {
                const money::Int128 ppm =
                    (f.gross.minor() - f.net.minor()) * 1'000'000 / f.gross.minor();
                EXPECT_TRUE(money::Int128(f.liquidity_saving_ppm) == ppm)
                    << name << ": " << f.liquidity_saving_ppm << " ppm, expected "
                    << money::to_decimal_string(ppm);
                saving = saving || f.liquidity_saving_ppm > 0;
            }
            if (!f.fx_volume.is_zero()) {
                const money::Int128 cross = f.fx_crossed.minor() * 1'000'000 / f.fx_volume.minor();
                EXPECT_TRUE(money::Int128(f.internal_cross_ppm) == cross)
                    << name << ": " << f.internal_cross_ppm << " ppm, expected "
                    << money::to_decimal_string(cross);
            }
            EXPECT_EQ(f.held_back, 0u) << name;
        }
    }
    EXPECT_TRUE(saving) << "no cycle saved any liquidity by netting";

    // ---- the ledger ----
    {
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
    }

    // ---- the redelivered rows were acknowledged: nothing is left to send ----
    auto view = ledger_->read();
    ASSERT_TRUE(view.has_value());
    auto rows = (*view)->aux_scan(ledger::AuxTable::kOutbox, "o/", 1'000'000);
    ASSERT_TRUE(rows.has_value());
    EXPECT_TRUE(rows->empty()) << rows->size() << " outbox rows left after acknowledging";
}

// The venues fail: one hedge is rejected, the other times out on the sequencer's own tick
// at its deadline and is filled late. The exposure is reported, never dropped, the ledger
// stays sound, and recover() gives the same state.
TEST_F(EngineE2eTest, RejectedAndTimedOutHedgesAreReportedThroughTheSequencer) {
    sinks_.push_back(std::make_unique<SimSink>());
    sink_ = sinks_.back().get();
    sink_->silent_venues = true;
    start(*sink_);
    ASSERT_TRUE(seq_);
    clock_.set(at(2h + 40min));
    feed_rates(*sink_, clock_.now());
    submit(Deposit{alpha_, "dep-a-usd", bank_intl_, mon("1000000.00", "USD")}, "deposit", alpha_,
           "dep-a-usd");
    submit(Deposit{borealis_, "dep-b-eur", bank_intl_, mon("1000000.00", "EUR")}, "deposit",
           borealis_, "dep-b-eur");
    for (int i = 0; i < 5; ++i) {
        const std::string n = std::to_string(i);
        auto a = payout(alpha_, "pa" + n, mon("10000.00", "CNY"), "USD", "bank-cn");
        submit(a, "payout", alpha_, a.client_id);
        auto b = payout(borealis_, "pb" + n, mon("20000.00", "CNY"), "EUR", "bank-cn");
        submit(b, "payout", borealis_, b.client_id);
    }
    barrier(*sink_);
    run_cutoff(*sink_, at(3h));
    const auto hedges = sink_->silent_hedges();
    ASSERT_GE(hedges.size(), 2u);
    // The first is rejected; the others time out at their deadline: the cut-off plus the
    // configured hedge_timeout_ms.
    for (const HedgeOrder& h : hedges)
        EXPECT_EQ(h.deadline, at(3h) + config_.engine.hedge_timeout_ms)
            << "hedge " << h.hedge_id << ": deadline not 45 s after the cut-off";
    const HedgeOrder& rejected = hedges[0];
    EXPECT_EQ(
        seq_->submit_wait(HedgeReject{rejected.venue, rejected.hedge_id, "no liquidity"}, 10s),
        SubmitResult::kAccepted);
    barrier(*sink_);
    clock_.set(hedges[1].deadline);
    seq_->wake();
    ASSERT_TRUE(sink_->wait_until([&](const std::vector<SimSink::Got>& got) {
        std::size_t timed_out = 0;
        for (const auto& g : got) {
            const auto* e = std::get_if<ExposureReported>(&g.event);
            timed_out += e != nullptr && e->reason == ExposureReason::kHedgeTimedOut ? 1 : 0;
        }
        return timed_out == hedges.size() - 1;
    })) << "no timeout reported at the hedges' deadline";
    const HedgeOrder& late = hedges[1];
    EXPECT_EQ(seq_->submit_wait(HedgeFill{late.venue, late.hedge_id, "late-1", late.base_amount,
                                          late.limit, true},
                                10s),
              SubmitResult::kAccepted);
    barrier(*sink_);

    bool rejected_reported = false, late_reported = false, late_filled = false;
    for (const auto& g : sink_->got()) {
        if (const auto* e = std::get_if<ExposureReported>(&g.event)) {
            rejected_reported = rejected_reported || (e->reason == ExposureReason::kHedgeRejected &&
                                                      e->hedge_id == rejected.hedge_id);
            late_reported = late_reported || (e->reason == ExposureReason::kLateFill &&
                                              e->hedge_id == late.hedge_id);
        } else if (const auto* f = std::get_if<HedgeFilled>(&g.event)) {
            late_filled = late_filled || (f->hedge_id == late.hedge_id && f->late);
        } else {
            EXPECT_FALSE(is_rejection(g.event)) << rejection_text(g.event);
        }
    }
    EXPECT_TRUE(rejected_reported);
    EXPECT_TRUE(late_reported);
    EXPECT_TRUE(late_filled);

    restart();
    ASSERT_TRUE(seq_->stop().is_ok()) << seq_->error().to_string();
    auto view = ledger_->read();
    ASSERT_TRUE(view.has_value());
    auto rows = (*view)->trial_balance();
    ASSERT_TRUE(rows.has_value());
    for (const auto& row : *rows)
        EXPECT_EQ(row.debits_posted, row.credits_posted) << row.currency.to_string();
    auto report = (*view)->verify();
    ASSERT_TRUE(report.has_value());
    EXPECT_TRUE(report->ok) << report->failure;
}

}  // namespace
}  // namespace fxsettle::engine
