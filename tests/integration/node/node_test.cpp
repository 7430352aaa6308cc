// The whole fxsettle node (tools/fxsettled/node.h) end to end over real FIX sessions on
// loopback, against the FIX simulators run in-process: PspSim (alpha and borealis),
// VenueSim (venue-a, venue-b) and BankSim (bank-cn, bank-intl). The node runs the default
// config with its ports pointed at the simulators, on a manual clock (Tuesday 10 March
// 2026, 02:30 UTC) that the test moves through the cut-offs of three business days, so
// spot-dated payouts and trades settle within the test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/node/node_fixture.h"

namespace fxsettle::node {
namespace {

using namespace test;

class NodeTest : public NodeFixture {};

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
