// Network and counterparty faults (the reliability issue, tests/RELIABILITY.md): the whole
// node in-process over real FIX on loopback (node_fixture.h) with the simulators' fault
// modes switched on. Each test names one fault and ends with the same checks: every
// payout the engine accepted settled or failed exactly once (a failed one refunded), the
// PSPs saw those outcomes, no hedge or payment line left open, the exposure the engine
// reported equals its own open exposure, the ledger's fx_position and what the faults
// should leave, the ledger verifies with a zero trial balance per currency and an empty
// outbox, and bank-cn's camt.053 reconciles with the CNY nostro.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "tests/integration/node/node_fixture.h"

namespace fxsettle::node {
namespace {

using namespace test;

std::string text(const money::Int128& v) {
    std::ostringstream out;
    out << v;
    return out.str();
}

class FaultScenarios : public NodeFixture {
  protected:
    engine::PairIndex pair_index(const std::string& symbol) const {
        for (std::size_t i = 0; i < config_.pairs.size(); ++i) {
            if (config_.pairs[i].pair.to_string() == symbol)
                return static_cast<engine::PairIndex>(i);
        }
        ADD_FAILURE() << "no pair " << symbol;
        return 0;
    }

    // What the venues' own books say is still open: per pair, the signed quantity of
    // every hedge order that they did not fill, plus what no venue could quote
    // (kNoVenueSize). Only for venues that answered every order.
    std::map<engine::PairIndex, money::Int128> venue_unfilled() {
        std::map<engine::PairIndex, money::Int128> out;
        std::lock_guard lock(events_mu_);
        for (const engine::HedgeOrder& h : hedge_orders_) {
            const auto o = venues_[h.venue]->order("FXSETTLE", "HG-" + std::to_string(h.hedge_id));
            if (!o) {
                ADD_FAILURE() << "venue " << h.venue << " never got hedge " << h.hedge_id;
                continue;
            }
            out[h.pair] += signed_base(h.buy_base, o->qty - o->cum_qty);
        }
        for (const engine::ExposureReported& x : exposures_) {
            if (x.reason == engine::ExposureReason::kNoVenueSize)
                out[x.pair] += x.base_amount.minor();
        }
        std::erase_if(out, [](const auto& e) { return e.second == 0; });
        return out;
    }

    std::size_t exposures_for(engine::ExposureReason reason) {
        std::lock_guard lock(events_mu_);
        return static_cast<std::size_t>(
            std::count_if(exposures_.begin(), exposures_.end(),
                          [&](const engine::ExposureReported& x) { return x.reason == reason; }));
    }

    // Base sent to venues according to the cycle reports, and according to the orders.
    std::pair<money::Int128, money::Int128> hedged_reported_and_sent() {
        std::lock_guard lock(events_mu_);
        money::Int128 reported = 0, sent = 0;
        for (const auto& c : cycle_reports_) {
            for (const auto& p : c.pairs)
                reported += p.hedged_base.minor();
        }
        for (const auto& h : hedge_orders_)
            sent += h.base_amount.minor();
        return {reported, sent};
    }

    // "USD/CNY HG-3 hedge_rejected -4342311; ...": the exposure events, for messages.
    std::string exposure_events() {
        std::lock_guard lock(events_mu_);
        std::string out;
        for (const auto& x : exposures_)
            out += config_.pairs[x.pair].pair.to_string() + " HG-" + std::to_string(x.hedge_id) +
                   " " + std::string(engine::exposure_reason_name(x.reason)) + " " +
                   text(x.base_amount.minor()) + "; ";
        return out;
    }

    std::vector<engine::HedgeOrder> hedge_orders() {
        std::lock_guard lock(events_mu_);
        return hedge_orders_;
    }
    std::map<engine::PairIndex, money::Int128> hedges_sent() {
        std::map<engine::PairIndex, money::Int128> out;
        for (const auto& h : hedge_orders())
            out[h.pair] += signed_base(h.buy_base, h.base_amount);
        std::lock_guard lock(events_mu_);
        for (const engine::ExposureReported& x : exposures_) {
            if (x.reason == engine::ExposureReason::kNoVenueSize)
                out[x.pair] += x.base_amount.minor();
        }
        std::erase_if(out, [](const auto& e) { return e.second == 0; });
        return out;
    }

    // The house's fx_position in `ccy` as the ledger holds it: credits - debits.
    money::Int128 fx_position(const std::string& ccy) {
        const auto all = balances();
        const auto it = all.find("house/fx_position/" + ccy);
        EXPECT_NE(it, all.end()) << "no fx_position account in " << ccy;
        if (it == all.end())
            return 0;
        return it->second.credits_posted.minor() - it->second.debits_posted.minor();
    }

    // The checks every scenario ends with. `expected_open`: the open exposure per pair the
    // faults should leave (computed from the venues' books or the hedge orders).
    void finish(const std::map<engine::PairIndex, money::Int128>& expected_open,
                bool with_psps = true) {
        ASSERT_NO_FATAL_FAILURE(wait_payouts_final());
        if (with_psps)
            check_outcomes();
        {
            std::lock_guard lock(events_mu_);
            for (const auto& [id, times] : failed_)
                EXPECT_EQ(times, 1)
                    << "payout " << id << " failed (refunded) " << times << " times";
            for (const auto& [id, times] : settled_)
                EXPECT_FALSE(failed_.contains(id)) << "payout " << id << " settled and failed";
            for (const auto& r : reply_rejects_)
                ADD_FAILURE() << "a venue or bank reply was refused: " << r.text;
        }
        const auto reported = reported_open();
        if (psps_)
            psps_->stop();
        ASSERT_TRUE(node_->stop().is_ok());
        EXPECT_EQ(engine_open(), reported)
            << "the engine's open exposure differs from what its events reported";
        EXPECT_EQ(reported, expected_open)
            << "the open exposure differs from what the faults should leave";
        // Only the X/CNY pairs carry the PSPs' flows, so the ledger's fx_position in each
        // base currency is the house's open position in it: the opposite of what the
        // engine still has to buy.
        for (const char* symbol : {"USD/CNY", "EUR/CNY", "GBP/CNY"}) {
            const engine::PairIndex p = pair_index(symbol);
            const money::Int128 open = reported.contains(p) ? reported.at(p) : 0;
            const std::string base = std::string(symbol).substr(0, 3);
            EXPECT_EQ(text(fx_position(base)), text(-open))
                << "house/fx_position/" << base << " against the open exposure of " << symbol;
        }
        const auto all = balances();
        const auto settlement = all.find("bank-cn/settlement/CNY");
        EXPECT_NE(settlement, all.end()) << "no account bank-cn/settlement/CNY";
        if (settlement != all.end()) {
            EXPECT_EQ(settlement->second.debits_posted, settlement->second.credits_posted)
                << "bank-cn/settlement/CNY keeps lines neither confirmed nor refunded";
        }
        check_ledger();
        reconcile("bank-cn", "BANKCN", "CNY");
        std::printf("exposure:");
        for (const auto& [p, v] : reported)
            std::printf(" %s %s", config_.pairs[p].pair.to_string().c_str(), text(v).c_str());
        std::printf("\n");
    }

    // A PSP session the test drives itself (alpha), for RFQs.
    std::unique_ptr<adapters::SessionHost> connect_alpha(Psp& alpha) {
        adapters::HostOptions ho;
        ho.role = adapters::HostRole::kInitiator;
        ho.dictionary_path = dictionary_;
        ho.store_path = (dir_ / "alpha.lmdb").string();
        adapters::SessionSpec spec;
        spec.key = SessionKey{"ALPHAPAY", "FXSETTLE"};
        spec.connect_port = gateway_port_;
        spec.reconnect_interval = 1s;
        spec.username = "alpha";
        spec.password = "alpha-demo-password";
        ho.sessions.push_back(spec);
        std::string error;
        auto host = adapters::SessionHost::create(ho, alpha, &error);
        EXPECT_TRUE(host) << error;
        if (host && !host->start(&error)) {
            ADD_FAILURE() << error;
            host.reset();
        }
        return host;
    }
};

// VenueSim fills only 60% of what each hedge could take and cancels the rest (IOC). The
// unfilled 40% stays open in fx_position, equal to what the venues' books left unfilled,
// each residual reported (kVenueCancelledRest), none dropped.
TEST_F(FaultScenarios, VenuePartialFillsLeaveTheResidualAsReportedOpenExposure) {
    fxsim::VenueFaults faults;
    faults.short_fill_permille = 400;
    ASSERT_NO_FATAL_FAILURE(start_counterparties(faults));
    ASSERT_NO_FATAL_FAILURE(start_node());
    ASSERT_NO_FATAL_FAILURE(fund());
    ASSERT_NO_FATAL_FAILURE(start_psps(40, 0));
    ASSERT_NO_FATAL_FAILURE(wait_psps_done());
    ASSERT_NO_FATAL_FAILURE(run_days(3));
    const auto expected = venue_unfilled();
    EXPECT_FALSE(expected.empty()) << "the venues filled every hedge in full";
    {
        std::lock_guard lock(events_mu_);
        EXPECT_GT(fills_.size(), 0u) << "no partial fill was booked";
        for (const auto& f : fills_)
            EXPECT_FALSE(f.complete) << "hedge " << f.hedge_id << " filled in full";
    }
    // The venue cancels each rest in its own report (ExecType 4 after the fill): the
    // adapter hands that over as a reject of the rest (convert.h, from_venue), so each
    // short hedge is reported once, as kHedgeRejected (or kVenueCancelledRest when the
    // fill itself ends the order).
    EXPECT_EQ(exposures_for(engine::ExposureReason::kHedgeRejected) +
                  exposures_for(engine::ExposureReason::kVenueCancelledRest),
              hedge_orders().size())
        << "a short hedge's rest was not reported once: " << exposure_events();
    const auto [reported, sent] = hedged_reported_and_sent();
    EXPECT_EQ(text(reported), text(sent)) << "cycle reports' hedged base against the orders";
    ASSERT_NO_FATAL_FAILURE(finish(expected));
}

// Every hedge is rejected: the whole residual stays open and reported (kHedgeRejected),
// and every payout still settles.
TEST_F(FaultScenarios, VenueRejectingEveryHedgeLeavesTheExposureOpenAndPayoutsSettle) {
    fxsim::VenueFaults faults;
    faults.reject_permille = 1000;
    ASSERT_NO_FATAL_FAILURE(start_counterparties(faults));
    ASSERT_NO_FATAL_FAILURE(start_node());
    ASSERT_NO_FATAL_FAILURE(fund());
    ASSERT_NO_FATAL_FAILURE(start_psps(40, 0));
    ASSERT_NO_FATAL_FAILURE(wait_psps_done());
    ASSERT_NO_FATAL_FAILURE(run_days(3));
    const auto expected = venue_unfilled();
    EXPECT_FALSE(expected.empty());
    {
        std::lock_guard lock(events_mu_);
        EXPECT_TRUE(fills_.empty()) << "a rejected hedge was filled";
        EXPECT_EQ(settled_.size(), accepted_.size()) << "every payout settles";
    }
    EXPECT_EQ(exposures_for(engine::ExposureReason::kHedgeRejected), hedge_orders().size())
        << "every rejected hedge is reported: " << exposure_events() << " rejects submitted "
        << node_->counters().venues.rejects_submitted << ", refused "
        << node_->counters().venues.refused_messages << ", rejected_in "
        << node_->counters().venue_host.rejected_in << ", venue rejected "
        << venues_[0]->figures().rejected + venues_[1]->figures().rejected << ", 8 in "
        << node_->counters().venues.messages_by_type["8"];
    ASSERT_NO_FATAL_FAILURE(finish(expected));
}

// The venues take every hedge and never answer (they fill in their books, but fxsettle
// learns nothing). At the engine's hedge timeout (30 s of engine time after the cut-off)
// each hedge is closed and its whole quantity reported open (kHedgeTimedOut).
TEST_F(FaultScenarios, VenueSilenceTimesTheHedgesOutAndReportsTheExposure) {
    fxsim::VenueFaults faults;
    faults.orders_unanswered = true;
    past_hedge_timeout_ = true;
    ASSERT_NO_FATAL_FAILURE(start_counterparties(faults));
    ASSERT_NO_FATAL_FAILURE(start_node());
    ASSERT_NO_FATAL_FAILURE(fund());
    ASSERT_NO_FATAL_FAILURE(start_psps(40, 0));
    ASSERT_NO_FATAL_FAILURE(wait_psps_done());
    ASSERT_NO_FATAL_FAILURE(run_days(3));
    const auto orders = hedge_orders();
    EXPECT_FALSE(orders.empty());
    EXPECT_EQ(exposures_for(engine::ExposureReason::kHedgeTimedOut), orders.size())
        << "every unanswered hedge times out once: " << exposure_events();
    std::uint64_t venue_orders = 0;
    for (auto& v : venues_)
        venue_orders += v->figures().orders;
    EXPECT_EQ(venue_orders, orders.size()) << "the venues got every hedge";
    {
        std::lock_guard lock(events_mu_);
        EXPECT_TRUE(fills_.empty());
        EXPECT_EQ(settled_.size(), accepted_.size()) << "every payout settles";
    }
    ASSERT_NO_FATAL_FAILURE(finish(hedges_sent()));
}

// Stale rates. venue-a quotes USD/CNY around 7.1000 and venue-b around 7.5000 (no walk).
// When both stop streaming, past their rate_stale_ms (2 s, 3 s) an RFQ is rejected (no
// rate); with only venue-b streaming the quote is venue-b's; when venue-a streams again
// and venue-b is stale, the quote is venue-a's again. A payout locked on the last quote
// settles.
TEST_F(FaultScenarios, StaleVenueRatesAreLeftOutOfPricingUntilTheVenueStreamsAgain) {
    venue_tweak_ = [&](const std::string& id, fxsim::VenueOptions& o) {
        std::vector<std::string> symbols;
        for (const money::CurrencyPair& pair : config_.find_venue(id)->pairs)
            symbols.push_back(pair.to_string());
        o.pairs =
            *fxsim::pair_quotes(config_, symbols, {{"USD/CNY", id == "venue-a" ? "7.1" : "7.5"}});
        o.step_ticks_max = 0;
    };
    ASSERT_NO_FATAL_FAILURE(start_counterparties());
    ASSERT_NO_FATAL_FAILURE(start_node());
    ASSERT_NO_FATAL_FAILURE(fund());
    Psp alpha;
    auto host = connect_alpha(alpha);
    ASSERT_TRUE(host);
    ASSERT_TRUE(wait_for([&] { return alpha.logons.load() >= 1; })) << "alpha did not log on";
    const SessionKey key{"ALPHAPAY", "FXSETTLE"};
    int rfqs = 0;
    // Sends an RFQ selling 10,000 USD for CNY; returns the Quote's price, or nullopt
    // when it was rejected (AG).
    const auto rfq = [&]() -> std::optional<double> {
        const std::string id = "q-" + std::to_string(++rfqs);
        WireMessage r;
        r.msg_type = "R";
        r.add(tag::kQuoteReqId, id);
        r.groups.push_back(adapters::WireGroup{tag::kNoRelatedSym,
                                               {{{tag::kSymbol, "USD/CNY"},
                                                 {tag::kSide, "2"},
                                                 {tag::kOrderQty, "10000.00"},
                                                 {tag::kCurrency, "USD"}}}});
        EXPECT_EQ(host->send(key, r), adapters::SendResult::kQueued);
        std::optional<WireMessage> quote;
        const bool answered = wait_for([&] {
            quote = alpha.find("S", tag::kQuoteReqId, id);
            return quote || alpha.find("AG", tag::kQuoteReqId, id);
        });
        EXPECT_TRUE(answered) << "RFQ " << id << " got neither a Quote nor a reject";
        if (!quote)
            return std::nullopt;
        // A test's reading of a price, never money.
        std::string px = get(*quote, tag::kBidPx);
        if (px.empty())
            px = get(*quote, tag::kOfferPx);
        return std::stod(px);
    };
    // Moves the clock `by` and waits for `n` fresh rates stamped after it.
    const auto advance = [&](std::chrono::milliseconds by, std::uint64_t n) {
        clock_.set(clock_.now() + by);
        node_->wake();
        const auto before = node_->counters().venues.rates_submitted;
        EXPECT_TRUE(wait_for([&] {
            return node_->counters().venues.rates_submitted >= before + n;
        })) << "no fresh rate";
        drain();
    };
    auto silent = fxsim::VenueFaults{};
    silent.silent = true;
    venues_[0]->set_faults(silent);
    venues_[1]->set_faults(silent);
    std::this_thread::sleep_for(300ms);  // rates on the wire arrive
    advance(4s, 0);
    const auto none = rfq();
    EXPECT_FALSE(none) << "an RFQ was priced at " << none.value_or(0) << " with every rate stale";
    venues_[1]->set_faults(fxsim::VenueFaults{});
    advance(0s, 4);
    const auto b_only = rfq();
    ASSERT_TRUE(b_only) << "no quote while venue-b streams";
    EXPECT_NEAR(*b_only, 7.5, 0.05) << "the quote is not venue-b's price";
    venues_[0]->set_faults(fxsim::VenueFaults{});
    venues_[1]->set_faults(silent);
    std::this_thread::sleep_for(300ms);
    advance(4s, 4);
    const auto a_again = rfq();
    ASSERT_TRUE(a_again) << "no quote after venue-a streamed again";
    EXPECT_NEAR(*a_again, 7.1, 0.05) << "venue-a's fresh rate is not used again";
    venues_[1]->set_faults(fxsim::VenueFaults{});
    // A payout at the last quote's locked rate settles.
    auto quote = alpha.wait("S", tag::kQuoteReqId, "q-" + std::to_string(rfqs));
    ASSERT_TRUE(quote);
    WireMessage u1;
    u1.msg_type = "U1";
    u1.add(tag::kPayoutInstrId, "p-1")
        .add(tag::kCurrency, "CNY")
        .add(tag::kTransactTime, adapters::convert::format_utc_timestamp(clock_.now()))
        .add(tag::kPayoutAmt, get(*quote, tag::kContraAmt))  // what the quote pays in CNY
        .add(tag::kFundingCurrency, "USD")
        .add(tag::kQuoteId, get(*quote, tag::kQuoteId))
        .add(tag::kBeneficiaryBankId, "bank-cn")
        .add(tag::kBeneficiaryAccount, "6222020012345678")
        .add(tag::kBeneficiaryName, "Shenzhen Supplier Co")
        .add(tag::kBeneficiaryCountry, "CN");
    ASSERT_EQ(host->send(key, u1), adapters::SendResult::kQueued);
    auto accepted = alpha.wait("U2", tag::kPayoutInstrId, "p-1");
    ASSERT_TRUE(accepted);
    EXPECT_EQ(get(*accepted, tag::kPayoutStatusCode), "A") << get(*accepted, tag::kText);
    ASSERT_NO_FATAL_FAILURE(run_days(3));
    EXPECT_TRUE(alpha.wait("U2", tag::kPayoutInstrId, "p-1", 1, [](const WireMessage& m) {
        return get(m, tag::kPayoutStatusCode) == "S";
    })) << "the locked payout did not settle";
    {
        std::lock_guard lock(events_mu_);
        EXPECT_EQ(settled_.size(), 1u);
    }
    host->stop("test over", 500ms);
    ASSERT_NO_FATAL_FAILURE(finish(venue_unfilled(), false));
}

// bank-cn holds its answers past the next cut-off and rejects a share of the lines.
// The late confirmations settle each payout once (the nostro once: the camt.053
// reconciles), each rejected line is refunded once (U2 F), and bank-cn's settlement
// account ends at zero.
TEST_F(FaultScenarios, BankConfirmingLateAndRejectingLinesSettlesOnceRefundsOnceAndReconciles) {
    ASSERT_NO_FATAL_FAILURE(start_counterparties({}, 300));
    bank("bank-cn").hold_answers(true);
    ASSERT_NO_FATAL_FAILURE(start_node());
    ASSERT_NO_FATAL_FAILURE(fund());
    ASSERT_NO_FATAL_FAILURE(start_psps(40, 0));
    ASSERT_NO_FATAL_FAILURE(wait_psps_done());
    const std::chrono::minutes cutoffs[] = {3h, 8h, 9h, 9h + 30min, 14h, 14h + 30min, 19h};
    bool held = false, released = false;
    std::uint64_t settled_before_release = 0;
    for (int d = 0; d <= 3 && !released; ++d) {
        for (const auto m : cutoffs) {
            const auto t = ledger::Timestamp(kDay + std::chrono::days(d)) + m;
            ASSERT_NO_FATAL_FAILURE(run_cutoff(t, false));
            if (held) {
                // One more cut-off passed with the answers held: now they arrive late.
                EXPECT_GT(node_->counters().banks.unconfirmed, 0u);
                {
                    std::lock_guard lock(events_mu_);
                    settled_before_release = settled_.size();
                }
                bank("bank-cn").hold_answers(false);
                released = true;
                break;
            }
            held = wait_for([&] { return bank("bank-cn").answers_held() > 0; }, 0s) ||
                   bank("bank-cn").answers_held() > 0;
        }
    }
    ASSERT_TRUE(released) << "bank-cn never got a payment order";
    ASSERT_TRUE(wait_for([&] { return node_->counters().banks.unconfirmed == 0; }))
        << "late answers were not applied";
    ASSERT_NO_FATAL_FAILURE(run_days(3));
    {
        std::lock_guard lock(events_mu_);
        EXPECT_GT(settled_.size(), settled_before_release) << "no late confirmation settled";
        EXPECT_FALSE(failed_.empty()) << "no line was rejected";
    }
    EXPECT_GT(bank("bank-cn").figures().lines_rejected, 0u);
    ASSERT_NO_FATAL_FAILURE(finish(venue_unfilled()));
}

// Each PSP session is logged out by the PSP at random points (seeded), four times in all;
// after each logon the PSP sends every request it has no answer for again (PossDupFlag).
// Each instruction has one effect: the engine accepted exactly the payouts the PSPs were
// told were accepted, each settled once; no request is left unanswered.
TEST_F(FaultScenarios, PspDisconnectsAtRandomPointsRetriesHaveExactlyOneEffect) {
    psp_tweak_ = [](fxsim::PspOptions& o) {
        o.disconnect_random_max = 20;
        o.disconnects_max = 4;
        o.retry_unanswered = true;
    };
    ASSERT_NO_FATAL_FAILURE(start_counterparties());
    ASSERT_NO_FATAL_FAILURE(start_node());
    ASSERT_NO_FATAL_FAILURE(fund());
    ASSERT_NO_FATAL_FAILURE(start_psps(80, 0));
    ASSERT_NO_FATAL_FAILURE(wait_psps_done());
    ASSERT_TRUE(wait_for([&] { return psps_->unanswered() == 0; }))
        << psps_->unanswered() << " requests never answered";
    drain();
    EXPECT_GE(psps_->count("fault/disconnect"), 3u) << "the PSPs dropped too few sessions";
    ASSERT_NO_FATAL_FAILURE(run_days(3));
    ASSERT_NO_FATAL_FAILURE(wait_payouts_final());
    {
        std::lock_guard lock(events_mu_);
        EXPECT_EQ(accepted_.size(), psps_->count("U2 once/A"))
            << "payouts the engine accepted against instructions the PSPs saw accepted";
        EXPECT_EQ(settled_.size(), accepted_.size()) << "every payout settles";
    }
    std::printf("psp faults: %llu disconnects, %llu retries\n",
                static_cast<unsigned long long>(psps_->count("fault/disconnect")),
                static_cast<unsigned long long>(psps_->count("retry")));
    ASSERT_NO_FATAL_FAILURE(finish(venue_unfilled()));
}

// Delayed and reordered answers: the banks answer each line in its own U4 after a random
// 0-300 ms (so out of order), the venues answer every hedge after 300 ms. Run against the
// same PSP traffic (alpha alone: payouts, RFQs and locked payouts, deterministic content)
// and constant venue prices without the faults first: every account ends at the same
// balance.
TEST_F(FaultScenarios, DelayedAndReorderedAnswersEndWithTheBalancesOfTheFaultFreeRun) {
    const auto run = [&](bool faulty) -> std::map<std::string, ledger::Balance> {
        // Constant prices, venue-b's spread wider: every hedge goes to venue-a (equal
        // books would leave the choice to the order in which the rates arrived).
        venue_tweak_ = [](const std::string& id, fxsim::VenueOptions& o) {
            o.step_ticks_max = 0;
            o.half_spread_ticks = id == "venue-a" ? 5 : 9;
        };
        bank_tweak_ = [faulty](const std::string&, fxsim::BankOptions& o) {
            if (faulty) {
                o.confirm_per_line = true;
                o.confirm_jitter = 300ms;
            }
        };
        psp_tweak_ = [](fxsim::PspOptions& o) {
            o.psps.resize(1);  // alpha
            o.mix = fxsim::PspMix{0, 0, 0, 15, 25, 0, 0};
            o.retry_unanswered = true;  // counts what is unanswered
        };
        fxsim::VenueFaults faults;
        if (faulty)
            faults.answer_delay = 300ms;
        start_counterparties(faults);
        start_node();
        fund();
        start_psps(40, 0);
        wait_psps_done();
        EXPECT_TRUE(wait_for([&] { return psps_->unanswered() == 0; }));
        drain();
        run_days(3);
        wait_payouts_final();
        if (::testing::Test::HasFatalFailure())
            return {};
        {
            std::lock_guard lock(events_mu_);
            EXPECT_EQ(settled_.size(), accepted_.size()) << "every payout settles";
        }
        drain();
        return balances();
    };
    const auto clean = run(false);
    ASSERT_FALSE(HasFatalFailure());
    ASSERT_FALSE(clean.empty());
    reset_run();
    const auto faulty = run(true);
    ASSERT_FALSE(HasFatalFailure());
    for (const auto& [code, b] : clean) {
        const auto it = faulty.find(code);
        ASSERT_NE(it, faulty.end()) << code;
        EXPECT_EQ(it->second.credits_posted.minor() - it->second.debits_posted.minor(),
                  b.credits_posted.minor() - b.debits_posted.minor())
            << code << " ends at another balance with delayed and reordered answers";
    }
    std::uint64_t answers = 0, orders = 0;
    for (auto& b : banks_) {
        answers += b->messages_out()["U4"];
        orders += b->figures().orders;
    }
    EXPECT_GT(answers, orders) << "the banks did not answer line by line";
    ASSERT_NO_FATAL_FAILURE(finish(venue_unfilled(), false));
}

// A cut-off the engine runs late (the node was down over it, the sequencer woke late, a
// backlog): its hedge orders go out with the batch that runs it, so their deadline counts
// from that batch's time (CutoffInput::batch_time), not from the cut-off's own time.
// Before, a batch more than the hedge timeout (30 s) late timed its hedges out in the
// batch that created them, before the venue saw them (found by this suite).
TEST_F(FaultScenarios, ACutoffRunLateGivesItsHedgesTheFullTimeout) {
    ASSERT_NO_FATAL_FAILURE(start_counterparties());
    ASSERT_NO_FATAL_FAILURE(start_node());
    ASSERT_NO_FATAL_FAILURE(fund());
    ASSERT_NO_FATAL_FAILURE(start_psps(40, 0));
    ASSERT_NO_FATAL_FAILURE(wait_psps_done());
    // Every cut-off runs 31 s late: rates come at t - 1 s (fresh at t), the batch at t + 31 s.
    const std::chrono::minutes cutoffs[] = {3h, 8h, 9h, 9h + 30min, 14h, 14h + 30min, 19h};
    for (int d = 0; d <= 3 && hedge_orders().empty(); ++d) {
        for (const auto m : cutoffs) {
            const auto t = ledger::Timestamp(kDay + std::chrono::days(d)) + m;
            clock_.set(t - 1s);
            node_->wake();
            const auto before = node_->counters().venues.rates_submitted;
            ASSERT_TRUE(
                wait_for([&] { return node_->counters().venues.rates_submitted >= before + 4; }));
            drain();
            const auto reports = cycle_report_count();
            clock_.set(t + config_.engine.hedge_timeout_ms + 1s);
            node_->wake();
            ASSERT_TRUE(wait_for([&] { return cycle_report_count() > reports; }));
            drain();
            if (!hedge_orders().empty())
                break;
        }
    }
    ASSERT_FALSE(hedge_orders().empty()) << "no cut-off hedged";
    ASSERT_TRUE(wait_for([&] { return node_->counters().venues.hedges_in_flight == 0; }));
    drain();
    EXPECT_EQ(exposures_for(engine::ExposureReason::kHedgeTimedOut), 0u)
        << "hedges timed out in the batch that created them: " << exposure_events();
    std::lock_guard lock(events_mu_);
    for (const auto& f : fills_)
        EXPECT_FALSE(f.late) << "hedge " << f.hedge_id << " filled as a late fill";
}

}  // namespace
}  // namespace fxsettle::node
