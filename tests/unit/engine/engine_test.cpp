// The engine state machine through its commands: deposits, orders, quotes, payouts,
// risk limits, value dates, idempotency, replay and recovery. Every batch is committed
// to a real ledger (engine_test_util.h), and every test ends with a zero trial balance.
#include <gtest/gtest.h>

#include <set>
#include <string_view>

#include "engine/core/engine.h"
#include "tests/unit/engine/engine_test_util.h"

namespace fxsettle::engine::testing {
namespace {

using book::CancelReason;
using book::Side;
using book::TimeInForce;

// ---- deposits and idempotency ---------------------------------------------------------

TEST_F(EngineTest, DepositCreditsAvailableAndARepeatChangesNothing) {
    auto events = run1(deposit(kAlpha, "dep-1", "1000.00", "USD"));
    ASSERT_EQ(events.size(), 1u);
    const auto credited = as<DepositCredited>(events[0]);
    EXPECT_EQ(credited.credited, mon("1000.00", "USD"));
    EXPECT_EQ(bal(kAlpha, "USD").available, amt("1000.00", "USD"));

    const auto hash = engine_->state_hash();
    events = run1(deposit(kAlpha, "dep-1", "1000.00", "USD"));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_TRUE(events[0] == Event{credited});
    EXPECT_EQ(engine_->state_hash(), hash);
    EXPECT_TRUE(last_operations_.empty());
    EXPECT_EQ(bal(kAlpha, "USD").available, amt("1000.00", "USD"));

    expect_rejected(deposit(kAlpha, "dep-1", "999.00", "USD"), Reason::kDuplicateClientId);
}

TEST_F(EngineTest, DepositRejections) {
    expect_rejected(deposit(kAlpha, "d", "1.00", "USD", 7), Reason::kUnknownBank);
    expect_rejected(deposit(kAlpha, "d", "1.00", "USD", 1), Reason::kBankDoesNotServeCurrency);
    expect_rejected(deposit(kAlpha, "d", "0.00", "USD"), Reason::kAmountInvalid);
    expect_rejected(Deposit{kAlpha, "d", 0, money::Money{money::Amount::from_minor(5), ccy("JPY")}},
                    Reason::kUnknownCurrency);
    expect_rejected(deposit(kAlpha, "", "1.00", "USD"), Reason::kClientIdInvalid);
    expect_rejected(deposit(9, "d", "1.00", "USD"), Reason::kUnknownPsp);
}

// ---- orders ---------------------------------------------------------------------------

TEST_F(EngineTest, LimitOrdersCrossHoldAndRelease) {
    run({deposit(kAlpha, "d1", "10000.00", "USD"), deposit(kBeta, "d2", "100000.00", "CNY"),
         venue_rate("USD", "CNY", "7.1000", "7.1010")});
    auto events = run1(limit(kAlpha, "a1", Side::kSell, "1000.00", "7.1000"));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(as<OrderAccepted>(events[0]).held, mon("1000.00", "USD"));
    EXPECT_EQ(bal(kAlpha, "USD").available, amt("9000.00", "USD"));
    EXPECT_EQ(bal(kAlpha, "USD").held, amt("1000.00", "USD"));

    events = run1(limit(kBeta, "b1", Side::kBuy, "400.00", "7.1100"));
    ASSERT_EQ(events.size(), 3u);
    EXPECT_EQ(as<OrderAccepted>(events[0]).held, mon("2844.00", "CNY"));
    const auto taker = as<OrderFilled>(events[1]);
    EXPECT_EQ(taker.client_id, "b1");
    EXPECT_FALSE(taker.maker);
    EXPECT_EQ(taker.price, rate("USD", "CNY", "7.1"));
    EXPECT_EQ(taker.quantity, amt("400.00", "USD"));
    EXPECT_EQ(taker.quote_amount, amt("2840.00", "CNY"));
    EXPECT_TRUE(taker.leaves.is_zero());
    const auto maker = as<OrderFilled>(events[2]);
    EXPECT_EQ(maker.client_id, "a1");
    EXPECT_TRUE(maker.maker);
    EXPECT_EQ(maker.trade_id, taker.trade_id);
    EXPECT_EQ(maker.leaves, amt("600.00", "USD"));
    // The buyer's unused hold (bought below its limit) went back; the trade stays held.
    EXPECT_EQ(bal(kBeta, "CNY").held, amt("2840.00", "CNY"));
    EXPECT_EQ(bal(kBeta, "CNY").available, amt("97160.00", "CNY"));
    EXPECT_EQ(bal(kAlpha, "USD").held, amt("1000.00", "USD"));
    EXPECT_EQ(engine_->open_trades(), 1u);

    events = run1(CancelOrder{kAlpha, "a1-c", "a1"});
    ASSERT_EQ(events.size(), 1u);
    const auto cancelled = as<OrderCancelled>(events[0]);
    EXPECT_EQ(cancelled.reason, CancelReason::kRequested);
    EXPECT_EQ(cancelled.cancelled, amt("600.00", "USD"));
    EXPECT_EQ(cancelled.cum_quantity, amt("400.00", "USD"));
    EXPECT_EQ(cancelled.released, mon("600.00", "USD"));
    EXPECT_EQ(bal(kAlpha, "USD").held, amt("400.00", "USD"));
    EXPECT_EQ(bal(kAlpha, "USD").available, amt("9600.00", "USD"));

    // The cancel repeats idempotently; a second cancel is refused: the order is done.
    const auto hash = engine_->state_hash();
    events = run1(CancelOrder{kAlpha, "a1-c", "a1"});
    ASSERT_EQ(events.size(), 1u);
    EXPECT_TRUE(events[0] == Event{cancelled});
    EXPECT_EQ(engine_->state_hash(), hash);
    expect_rejected(CancelOrder{kAlpha, "a1-c2", "a1"}, Reason::kOrderDone);

    events = run1(OrderStatusRequest{kAlpha, "st-1", "a1"});
    ASSERT_EQ(events.size(), 1u);
    const auto status = as<OrderStatusReport>(events[0]);
    EXPECT_EQ(status.state, OrderState::kCancelled);
    EXPECT_EQ(status.cum_quantity, amt("400.00", "USD"));
    EXPECT_TRUE(status.leaves.is_zero());
}

TEST_F(EngineTest, MarketOrderWalksTheBookAndReleasesTheRest) {
    run({deposit(kAlpha, "d1", "10000.00", "USD"), deposit(kBeta, "d2", "100000.00", "CNY"),
         venue_rate("USD", "CNY", "7.1000", "7.1010")});
    run({limit(kAlpha, "a1", Side::kSell, "300.00", "7.1000"),
         limit(kAlpha, "a2", Side::kSell, "300.00", "7.1200")});
    auto events = run1(market(kBeta, "m1", Side::kBuy, "1000.00"));
    ASSERT_EQ(events.size(), 6u);
    EXPECT_EQ(as<OrderAccepted>(events[0]).held, mon("4266.00", "CNY"));
    EXPECT_EQ(as<OrderFilled>(events[1]).quote_amount, amt("2130.00", "CNY"));
    EXPECT_EQ(as<OrderFilled>(events[3]).quote_amount, amt("2136.00", "CNY"));
    // The average price of the taker's fills so far (FIX AvgPx): its first fill's price,
    // then (300.00 x 7.10 + 300.00 x 7.12) / 600.00; each maker's is its own price.
    EXPECT_EQ(as<OrderFilled>(events[1]).client_id, "m1");
    EXPECT_EQ(as<OrderFilled>(events[1]).avg_price, rate("USD", "CNY", "7.10"));
    EXPECT_EQ(as<OrderFilled>(events[3]).client_id, "m1");
    EXPECT_EQ(as<OrderFilled>(events[3]).avg_price, rate("USD", "CNY", "7.11"));
    EXPECT_EQ(as<OrderFilled>(events[4]).client_id, "a2");
    EXPECT_EQ(as<OrderFilled>(events[4]).avg_price, rate("USD", "CNY", "7.12"));
    const auto rest = as<OrderCancelled>(events[5]);
    EXPECT_EQ(rest.reason, CancelReason::kIocRemainder);
    EXPECT_EQ(rest.cancelled, amt("400.00", "USD"));
    EXPECT_EQ(rest.cum_quantity, amt("600.00", "USD"));
    EXPECT_EQ(bal(kBeta, "CNY").held, amt("4266.00", "CNY"));
    EXPECT_EQ(engine_->open_orders(), 0u);

    // Nothing left to buy: the market order is cancelled for lack of liquidity.
    events = run1(market(kBeta, "m2", Side::kBuy, "100.00"));
    ASSERT_EQ(events.size(), 2u);
    EXPECT_TRUE(as<OrderAccepted>(events[0]).held.amount.is_zero());
    EXPECT_EQ(as<OrderCancelled>(events[1]).reason, CancelReason::kNoLiquidity);
    EXPECT_EQ(bal(kBeta, "CNY").held, amt("4266.00", "CNY"));
}

TEST_F(EngineTest, IocFokAndSelfTradePrevention) {
    run({deposit(kAlpha, "d1", "10000.00", "USD"), deposit(kAlpha, "d2", "100000.00", "CNY"),
         deposit(kBeta, "d3", "100000.00", "CNY"), venue_rate("USD", "CNY", "7.1000", "7.1010")});
    run1(limit(kAlpha, "a1", Side::kSell, "300.00", "7.1000"));

    // FOK for more than rests: nothing fills, the whole hold comes back.
    auto events = run1(limit(kBeta, "f1", Side::kBuy, "500.00", "7.1000", TimeInForce::kFok));
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(as<OrderAccepted>(events[0]).held, mon("3550.00", "CNY"));
    EXPECT_EQ(as<OrderCancelled>(events[1]).reason, CancelReason::kFokUnfilled);
    EXPECT_EQ(as<OrderCancelled>(events[1]).released, mon("3550.00", "CNY"));
    EXPECT_TRUE(bal(kBeta, "CNY").held.is_zero());

    // IOC fills what it can and cancels the rest.
    events = run1(limit(kBeta, "i1", Side::kBuy, "500.00", "7.1000", TimeInForce::kIoc));
    ASSERT_EQ(events.size(), 4u);
    EXPECT_EQ(as<OrderCancelled>(events[3]).reason, CancelReason::kIocRemainder);
    EXPECT_EQ(as<OrderCancelled>(events[3]).released, mon("1420.00", "CNY"));
    EXPECT_EQ(bal(kBeta, "CNY").held, amt("2130.00", "CNY"));

    // Alpha's own buy meets alpha's own sell: the incoming order is cancelled.
    run1(limit(kAlpha, "a2", Side::kSell, "300.00", "7.1000"));
    events = run1(limit(kAlpha, "a3", Side::kBuy, "100.00", "7.1000"));
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(as<OrderCancelled>(events[1]).reason, CancelReason::kSelfTrade);
    EXPECT_TRUE(bal(kAlpha, "CNY").held.is_zero());
    EXPECT_EQ(engine_->open_orders(), 1u);
}

TEST_F(EngineTest, ReplaceKeepsOrLosesPriorityAndAdjustsTheHold) {
    run1(deposit(kAlpha, "d1", "2000.00", "USD"));
    run1(limit(kAlpha, "r1", Side::kSell, "1000.00", "7.1000"));
    auto events =
        run1(ReplaceOrder{kAlpha, "r2", "r1", rate("USD", "CNY", "7.1000"), amt("600.00", "USD")});
    ASSERT_EQ(events.size(), 1u);
    const auto kept = as<OrderReplaced>(events[0]);
    EXPECT_TRUE(kept.priority_kept);
    EXPECT_EQ(kept.orig_client_id, "r1");
    EXPECT_EQ(kept.held, mon("600.00", "USD"));
    EXPECT_EQ(bal(kAlpha, "USD").held, amt("600.00", "USD"));

    events =
        run1(ReplaceOrder{kAlpha, "r3", "r2", rate("USD", "CNY", "7.1500"), amt("1500.00", "USD")});
    ASSERT_EQ(events.size(), 1u);
    EXPECT_FALSE(as<OrderReplaced>(events[0]).priority_kept);
    EXPECT_EQ(bal(kAlpha, "USD").held, amt("1500.00", "USD"));
    EXPECT_EQ(bal(kAlpha, "USD").available, amt("500.00", "USD"));

    expect_rejected(
        ReplaceOrder{kAlpha, "r4", "r3", rate("USD", "CNY", "7.1500"), amt("2600.00", "USD")},
        Reason::kInsufficientFunds);
    expect_rejected(
        ReplaceOrder{kAlpha, "r4", "nope", rate("USD", "CNY", "7.1500"), amt("100.00", "USD")},
        Reason::kUnknownOrder);
    expect_rejected(
        ReplaceOrder{kAlpha, "r4", "r3", rate("USD", "CNY", "7.15005"), amt("100.00", "USD")},
        Reason::kPriceInvalid);
}

TEST_F(EngineTest, ReplaceBelowTheFilledQuantityIsRefused) {
    run({deposit(kAlpha, "d1", "2000.00", "USD"), deposit(kBeta, "d2", "100000.00", "CNY"),
         venue_rate("USD", "CNY", "7.1000", "7.1010")});
    run1(limit(kAlpha, "a1", Side::kSell, "1000.00", "7.1000"));
    run1(limit(kBeta, "b1", Side::kBuy, "400.00", "7.1000"));
    expect_rejected(
        ReplaceOrder{kAlpha, "a2", "a1", rate("USD", "CNY", "7.1000"), amt("400.00", "USD")},
        Reason::kReplaceQuantityInvalid);
    // Down to 500 in total: 100 left open, 500 held (400 for the trade, 100 for the order).
    auto events =
        run1(ReplaceOrder{kAlpha, "a2", "a1", rate("USD", "CNY", "7.1000"), amt("500.00", "USD")});
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(as<OrderReplaced>(events[0]).leaves, amt("100.00", "USD"));
    EXPECT_EQ(bal(kAlpha, "USD").held, amt("500.00", "USD"));
}

// The gateway fills OrderID and OrdStatus of an OrderCancelReject from the rejection alone
// (its memory does not survive a restart): every refused cancel or replace of an order the
// engine knows carries the order's id and current state, whatever the reason; one of an
// order it does not know, and a new order's rejection, carry neither.
TEST_F(EngineTest, RefusedCancelOrReplaceOfAKnownOrderCarriesItsIdAndState) {
    run({deposit(kAlpha, "d1", "3000.00", "USD"), deposit(kBeta, "d2", "100000.00", "CNY"),
         venue_rate("USD", "CNY", "7.1000", "7.1010")});
    const auto a1 =
        as<OrderAccepted>(run1(limit(kAlpha, "a1", Side::kSell, "1000.00", "7.1000")).at(0))
            .order_id;
    const auto b1 =
        as<OrderAccepted>(run1(limit(kBeta, "b1", Side::kBuy, "400.00", "7.1000")).at(0)).order_id;
    const auto r1 =
        as<OrderAccepted>(run1(limit(kAlpha, "r1", Side::kSell, "500.00", "7.3000")).at(0))
            .order_id;
    ASSERT_EQ(
        run1(ReplaceOrder{kAlpha, "r2", "r1", rate("USD", "CNY", "7.3000"), amt("600.00", "USD")})
            .size(),
        1u);

    const auto refused = [&](const Command& command, Reason reason) {
        const auto events = run1(command);
        EXPECT_EQ(events.size(), 1u);
        const auto* rej = events.empty() ? nullptr : std::get_if<OrderRejected>(&events[0]);
        EXPECT_NE(rej, nullptr) << "the command was not refused";
        if (rej == nullptr)
            return OrderRejected{};
        EXPECT_EQ(rej->reason, reason) << rej->text;
        return *rej;
    };
    struct Case {
        const char* what;
        Command command;
        Reason reason;
        std::uint64_t order_id;
        OrderState state;
        Side side;
    };
    const std::vector<Case> cases{
        {"a replace below the filled quantity of a partly filled order",
         ReplaceOrder{kAlpha, "a2", "a1", rate("USD", "CNY", "7.1000"), amt("400.00", "USD")},
         Reason::kReplaceQuantityInvalid, a1, OrderState::kPartiallyFilled, Side::kSell},
        {"a replace off the tick",
         ReplaceOrder{kAlpha, "a3", "a1", rate("USD", "CNY", "7.10005"), amt("900.00", "USD")},
         Reason::kPriceInvalid, a1, OrderState::kPartiallyFilled, Side::kSell},
        {"a cancel that reuses the order's own ClOrdID", CancelOrder{kAlpha, "a1", "a1"},
         Reason::kDuplicateClientId, a1, OrderState::kPartiallyFilled, Side::kSell},
        {"a replace past the funds of a replaced order",
         ReplaceOrder{kAlpha, "r3", "r2", rate("USD", "CNY", "7.3000"), amt("5000.00", "USD")},
         Reason::kInsufficientFunds, r1, OrderState::kReplaced, Side::kSell},
        {"a replace naming the replaced order by its first ClOrdID",
         ReplaceOrder{kAlpha, "r4", "r1", rate("USD", "CNY", "7.3000"), amt("5000.00", "USD")},
         Reason::kInsufficientFunds, r1, OrderState::kReplaced, Side::kSell},
        {"a cancel of a filled order", CancelOrder{kBeta, "b1-c", "b1"}, Reason::kOrderDone, b1,
         OrderState::kFilled, Side::kBuy},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.what);
        const OrderRejected rej = refused(c.command, c.reason);
        EXPECT_EQ(rej.order_id, c.order_id);
        EXPECT_EQ(rej.order_state, c.state)
            << "state " << (rej.order_state ? static_cast<int>(*rej.order_state) : -1)
            << ", expected " << static_cast<int>(c.state) << " (FIX OrdStatus numbers)";
        EXPECT_EQ(rej.pair, pair("USD", "CNY"));
        EXPECT_EQ(rej.side, c.side);
    }

    // Cancelled, then cancelled again: the second is refused with the order's final state.
    ASSERT_EQ(as<OrderCancelled>(run1(CancelOrder{kAlpha, "a1-c", "a1"}).at(0)).order_id, a1);
    OrderRejected rej = refused(CancelOrder{kAlpha, "a1-c2", "a1"}, Reason::kOrderDone);
    EXPECT_EQ(rej.order_id, a1);
    EXPECT_EQ(rej.order_state, OrderState::kCancelled);

    rej = refused(CancelOrder{kAlpha, "x-c", "nope"}, Reason::kUnknownOrder);
    EXPECT_EQ(rej.order_id, std::nullopt) << "an order the engine does not know has no id";
    EXPECT_EQ(rej.order_state, std::nullopt);
    rej =
        refused(limit(kAlpha, "big", Side::kSell, "9000.00", "7.2000"), Reason::kInsufficientFunds);
    EXPECT_EQ(rej.order_id, std::nullopt) << "a refused new order has no engine id";
    EXPECT_EQ(rej.order_state, std::nullopt);
}

TEST_F(EngineTest, OrderRejections) {
    run({deposit(kAlpha, "d1", "1000.00", "USD")});
    auto o = limit(kAlpha, "x", Side::kSell, "100.00", "7.1000");
    auto bad_pair = o;
    bad_pair.pair = pair("EUR", "CNY");
    expect_rejected(bad_pair, Reason::kUnknownPair);
    auto small = o;
    small.quantity = amt("99.99", "USD");
    expect_rejected(small, Reason::kQuantityInvalid);
    auto off_tick = o;
    off_tick.price = rate("USD", "CNY", "7.10005");
    expect_rejected(off_tick, Reason::kPriceInvalid);
    auto no_price = o;
    no_price.price.reset();
    expect_rejected(no_price, Reason::kPriceInvalid);
    expect_rejected(market(kAlpha, "x", Side::kSell, "100.00", TimeInForce::kGtc),
                    Reason::kTimeInForceInvalid);
    expect_rejected(limit(kAlpha, "x", Side::kSell, "1000.01", "7.1000"),
                    Reason::kInsufficientFunds);
    expect_rejected(limit(kAlpha, "", Side::kSell, "100.00", "7.1000"), Reason::kClientIdInvalid);
    expect_rejected(limit(7, "x", Side::kSell, "100.00", "7.1000"), Reason::kUnknownPsp);
    expect_rejected(CancelOrder{kAlpha, "c", "missing"}, Reason::kUnknownOrder);
    expect_rejected(OrderStatusRequest{kAlpha, "s", "missing"}, Reason::kUnknownOrder);
    // A ClOrdID reused with other content.
    run1(o);
    auto other = o;
    other.quantity = amt("200.00", "USD");
    expect_rejected(other, Reason::kDuplicateClientId);
    // The same content again returns the original acceptance.
    const auto hash = engine_->state_hash();
    const auto events = run1(o);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(as<OrderAccepted>(events[0]).client_id, "x");
    EXPECT_EQ(engine_->state_hash(), hash);
}

TEST_F(EngineTest, BookFullIsRefused) {
    start(test_config("2"));
    run1(deposit(kAlpha, "d1", "1000.00", "USD"));
    run({limit(kAlpha, "a1", Side::kSell, "100.00", "7.2000"),
         limit(kAlpha, "a2", Side::kSell, "100.00", "7.3000")});
    expect_rejected(limit(kAlpha, "a3", Side::kSell, "100.00", "7.4000"), Reason::kBookFull);
}

TEST_F(EngineTest, DayOrdersExpireAtThePairsCutoffAndReleaseTheirHold) {
    run1(deposit(kAlpha, "d1", "1000.00", "USD"));
    run1(limit(kAlpha, "day", Side::kSell, "300.00", "7.2000", TimeInForce::kDay));
    run1(limit(kAlpha, "gtc", Side::kSell, "300.00", "7.3000", TimeInForce::kGtc));
    // USD/CNY's earliest cut-off is USD's, at 21:00.
    ASSERT_TRUE(engine_->next_deadline().has_value());
    EXPECT_EQ(*engine_->next_deadline(), kT0 + 11h);
    const auto events = run({}, kT0 + 11h);
    bool expired = false;
    for (const auto& event : events) {
        if (const auto* c = std::get_if<OrderCancelled>(&event)) {
            EXPECT_EQ(c->client_id, "day");
            EXPECT_EQ(c->reason, CancelReason::kExpired);
            EXPECT_EQ(c->released, mon("300.00", "USD"));
            expired = true;
        }
    }
    EXPECT_TRUE(expired);
    EXPECT_EQ(bal(kAlpha, "USD").held, amt("300.00", "USD"));
    EXPECT_EQ(engine_->open_orders(), 1u);
}

// The gateway builds Symbol and Side of these reports from the events alone (its memory of
// the requests does not survive a restart), so every emitting path must fill them.
TEST_F(EngineTest, OrderAndQuoteOutcomesCarryThePairAndSide) {
    const auto usdcny = pair("USD", "CNY");
    run({deposit(kAlpha, "d1", "1000.00", "USD"), deposit(kBeta, "d2", "100000.00", "CNY"),
         venue_rate("USD", "CNY", "7.1000", "7.1010")});
    run1(limit(kAlpha, "day", Side::kSell, "300.00", "7.2000", TimeInForce::kDay));
    run1(limit(kAlpha, "gtc", Side::kSell, "300.00", "7.3000", TimeInForce::kGtc));

    auto events = run1(
        ReplaceOrder{kAlpha, "gtc-2", "gtc", rate("USD", "CNY", "7.3500"), amt("200.00", "USD")});
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(as<OrderReplaced>(events[0]).side, Side::kSell);

    events = run1(CancelOrder{kAlpha, "gtc-c", "gtc-2"});
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(as<OrderCancelled>(events[0]).pair, usdcny);
    EXPECT_EQ(as<OrderCancelled>(events[0]).side, Side::kSell);

    // A new order's rejection carries the request's own pair and side.
    events = run1(limit(kAlpha, "big", Side::kSell, "5000.00", "7.2000"));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(as<OrderRejected>(events[0]).reason, Reason::kInsufficientFunds);
    EXPECT_EQ(as<OrderRejected>(events[0]).pair, usdcny);
    EXPECT_EQ(as<OrderRejected>(events[0]).side, Side::kSell);
    // A cancel of a known order: the order's; of an unknown one and a status request for
    // an unknown order: none (the request names only a ClOrdID).
    events = run1(CancelOrder{kAlpha, "gtc-c2", "gtc-2"});
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(as<OrderRejected>(events[0]).reason, Reason::kOrderDone);
    EXPECT_EQ(as<OrderRejected>(events[0]).pair, usdcny);
    EXPECT_EQ(as<OrderRejected>(events[0]).side, Side::kSell);
    for (const Command& command : {Command{CancelOrder{kAlpha, "x-c", "nope"}},
                                   Command{OrderStatusRequest{kAlpha, "x-s", "nope"}}}) {
        events = run1(command);
        ASSERT_EQ(events.size(), 1u);
        EXPECT_EQ(as<OrderRejected>(events[0]).reason, Reason::kUnknownOrder);
        EXPECT_EQ(as<OrderRejected>(events[0]).pair, std::nullopt);
        EXPECT_EQ(as<OrderRejected>(events[0]).side, std::nullopt);
    }

    // The Day order's expiry at USD's 21:00 cut-off.
    bool expired = false;
    for (const auto& event : run({}, kT0 + 11h)) {
        if (const auto* c = std::get_if<OrderCancelled>(&event)) {
            EXPECT_EQ(c->reason, CancelReason::kExpired);
            EXPECT_EQ(c->pair, usdcny);
            EXPECT_EQ(c->side, Side::kSell);
            expired = true;
        }
    }
    EXPECT_TRUE(expired);

    // A market buy with nothing left to buy: the engine cancels it unsolicited.
    events = run1(market(kBeta, "m1", Side::kBuy, "100.00"));
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(as<OrderCancelled>(events[1]).reason, CancelReason::kNoLiquidity);
    EXPECT_EQ(as<OrderCancelled>(events[1]).pair, usdcny);
    EXPECT_EQ(as<OrderCancelled>(events[1]).side, Side::kBuy);

    // A quote's rejection: the configured pair (USD/CNY for a CNY -> USD request), none when
    // no pair converts the currencies.
    events = run1(QuoteRequest{kAlpha, "q1", ccy("CNY"), ccy("USD"), mon("0.00", "USD"), {}});
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(as<QuoteRejected>(events[0]).reason, Reason::kAmountInvalid);
    EXPECT_EQ(as<QuoteRejected>(events[0]).pair, usdcny);
    events = run1(QuoteRequest{kAlpha, "q2", ccy("USD"), ccy("USD"), mon("1.00", "USD"), {}});
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(as<QuoteRejected>(events[0]).reason, Reason::kUnknownPair);
    EXPECT_EQ(as<QuoteRejected>(events[0]).pair, std::nullopt);
}

// ---- quotes ---------------------------------------------------------------------------

TEST_F(EngineTest, QuoteIsFirmForItsTtlAndLocksAPayout) {
    run({deposit(kAlpha, "d1", "100000.00", "CNY"), venue_rate("USD", "CNY", "7.1000", "7.1010")});
    QuoteRequest request{kAlpha, "q1", ccy("CNY"), ccy("USD"), mon("1000.00", "USD"), {}};
    auto events = run1(request);
    ASSERT_EQ(events.size(), 1u);
    const auto quote = as<QuoteIssued>(events[0]);
    const auto expected_rate =
        Settlement::psp_rate(rate("USD", "CNY", "7.1005"), 25, /*psp_buys_base=*/true);
    ASSERT_TRUE(expected_rate.has_value());
    EXPECT_EQ(quote.rate, *expected_rate);
    EXPECT_EQ(quote.buy_amount, mon("1000.00", "USD"));
    const auto funding = Settlement::funding_amount(mon("1000.00", "USD"), ccy("CNY"), quote.rate);
    ASSERT_TRUE(funding.has_value());
    EXPECT_EQ(quote.sell_amount, money::Money(*funding, ccy("CNY")));
    EXPECT_EQ(quote.valid_until, kT0 + 5s);
    EXPECT_EQ(quote.value_date, day(2026, 3, 12));  // USD/CNY spot, T+2

    auto p = payout(kAlpha, "p1", "1000.00", "USD", "CNY");
    p.quote_id = quote.quote_id;
    events = run1(p, kT0 + 4s);
    ASSERT_EQ(events.size(), 1u);
    const auto accepted = as<PayoutAccepted>(events[0]);
    EXPECT_TRUE(accepted.rate_locked);
    EXPECT_EQ(accepted.held, quote.sell_amount);
    EXPECT_EQ(bal(kAlpha, "CNY").held, quote.sell_amount.amount);

    auto again = payout(kAlpha, "p2", "1000.00", "USD", "CNY");
    again.quote_id = quote.quote_id;
    now_ = kT0 + 4s;
    expect_rejected(again, Reason::kQuoteUsed);
}

TEST_F(EngineTest, ExpiredOrForeignOrMismatchedQuotesAreRefused) {
    run({deposit(kAlpha, "d1", "100000.00", "CNY"), deposit(kBeta, "d2", "100000.00", "CNY"),
         venue_rate("USD", "CNY", "7.1000", "7.1010")});
    const auto quote = as<QuoteIssued>(
        run1(QuoteRequest{kAlpha, "q1", ccy("CNY"), ccy("USD"), mon("1000.00", "USD"), {}})[0]);
    auto p = payout(kAlpha, "p1", "1000.00", "USD", "CNY");
    p.quote_id = quote.quote_id;
    now_ = kT0 + 1s;
    auto wrong_amount = p;
    wrong_amount.amount = mon("999.00", "USD");
    expect_rejected(wrong_amount, Reason::kQuoteMismatch);
    auto foreign = p;
    foreign.psp = kBeta;
    expect_rejected(foreign, Reason::kUnknownQuote);
    auto unknown = p;
    unknown.quote_id = 999;
    expect_rejected(unknown, Reason::kUnknownQuote);
    auto other_date = p;
    other_date.value_date.tenor = calendar::Tenor::kBroken;
    other_date.value_date.date = day(2026, 3, 13);
    expect_rejected(other_date, Reason::kValueDateMismatch);
    now_ = kT0 + 5s;
    expect_rejected(p, Reason::kQuoteExpired);
}

TEST_F(EngineTest, QuoteRejections) {
    auto q = QuoteRequest{kAlpha, "q", ccy("CNY"), ccy("USD"), mon("1000.00", "USD"), {}};
    expect_rejected(q, Reason::kNoRate);
    run1(venue_rate("USD", "CNY", "7.1000", "7.1010"));
    auto jpy = q;
    jpy.sell = ccy("JPY");
    expect_rejected(jpy, Reason::kUnknownCurrency);
    auto mismatch = q;
    mismatch.amount = mon("1.00", "EUR");
    expect_rejected(mismatch, Reason::kCurrencyMismatch);
    auto zero = q;
    zero.amount = mon("0.00", "USD");
    expect_rejected(zero, Reason::kAmountInvalid);
    auto no_pair = q;
    no_pair.buy = ccy("EUR");
    no_pair.amount = mon("10.00", "EUR");
    expect_rejected(no_pair, Reason::kUnknownPair);
    auto stale = q;
    now_ = kT0 + 61s;
    expect_rejected(stale, Reason::kNoRate);
}

// ---- payouts --------------------------------------------------------------------------

TEST_F(EngineTest, SameCurrencyPayoutHoldsItsAmount) {
    run1(deposit(kAlpha, "d1", "1000.00", "USD"));
    const auto events = run1(payout(kAlpha, "p1", "400.00", "USD", "USD"));
    ASSERT_EQ(events.size(), 1u);
    const auto accepted = as<PayoutAccepted>(events[0]);
    EXPECT_EQ(accepted.held, mon("400.00", "USD"));
    EXPECT_FALSE(accepted.rate.has_value());
    EXPECT_EQ(accepted.value_date, day(2026, 3, 10));
    EXPECT_EQ(bal(kAlpha, "USD").available, amt("600.00", "USD"));
    EXPECT_EQ(bal(kAlpha, "USD").held, amt("400.00", "USD"));
    EXPECT_EQ(engine_->open_payouts(), 1u);
    // Repeat: the same acceptance, nothing new.
    const auto hash = engine_->state_hash();
    const auto repeat = run1(payout(kAlpha, "p1", "400.00", "USD", "USD"));
    ASSERT_EQ(repeat.size(), 1u);
    EXPECT_TRUE(repeat[0] == events[0]);
    EXPECT_EQ(engine_->state_hash(), hash);
    expect_rejected(payout(kAlpha, "p1", "401.00", "USD", "USD"), Reason::kDuplicateClientId);
}

TEST_F(EngineTest, UnlockedCrossCurrencyPayoutHoldsTheEstimatePlusTheBuffer) {
    run({deposit(kAlpha, "d1", "100000.00", "CNY"), venue_rate("USD", "CNY", "7.1000", "7.1010")});
    const auto events = run1(payout(kAlpha, "p1", "1000.00", "USD", "CNY"));
    ASSERT_EQ(events.size(), 1u);
    const auto accepted = as<PayoutAccepted>(events[0]);
    EXPECT_FALSE(accepted.rate_locked);
    const auto psp_rate = Settlement::psp_rate(rate("USD", "CNY", "7.1005"), 25, true);
    ASSERT_TRUE(psp_rate.has_value());
    ASSERT_TRUE(accepted.rate.has_value());
    EXPECT_EQ(*accepted.rate, *psp_rate);
    const auto estimate = Settlement::funding_amount(mon("1000.00", "USD"), ccy("CNY"), *psp_rate);
    ASSERT_TRUE(estimate.has_value());
    // The buffer: 200 bps of the estimate, rounded up to the fen.
    const money::Int128 buffer = (estimate->minor() * 200 + 9999) / 10000;
    EXPECT_EQ(accepted.held.amount.minor(), estimate->minor() + buffer);
    EXPECT_EQ(bal(kAlpha, "CNY").held, accepted.held.amount);
    EXPECT_EQ(accepted.value_date, day(2026, 3, 12));
}

TEST_F(EngineTest, PostfundedPspDrawsCreditAndADepositRepaysItFirst) {
    auto events = run1(payout(kBeta, "p1", "1000.00", "USD", "USD"));
    ASSERT_EQ(events.size(), 1u);
    as<PayoutAccepted>(events[0]);
    EXPECT_EQ(bal(kBeta, "USD").receivable, amt("1000.00", "USD"));
    EXPECT_EQ(bal(kBeta, "USD").held, amt("1000.00", "USD"));
    EXPECT_TRUE(bal(kBeta, "USD").available.is_zero());

    events = run1(deposit(kBeta, "d1", "1300.00", "USD"));
    const auto credited = as<DepositCredited>(events[0]);
    EXPECT_EQ(credited.receivable_repaid, mon("1000.00", "USD"));
    EXPECT_EQ(credited.credited, mon("300.00", "USD"));
    EXPECT_TRUE(bal(kBeta, "USD").receivable.is_zero());
    EXPECT_EQ(bal(kBeta, "USD").available, amt("300.00", "USD"));

    // 300.00 available and 50,000.00 of credit: 50,300.01 is one cent too much.
    expect_rejected(payout(kBeta, "p2", "50300.01", "USD", "USD"), Reason::kCreditLimitExceeded);
    events = run1(payout(kBeta, "p3", "50300.00", "USD", "USD"));
    as<PayoutAccepted>(events[0]);
    EXPECT_EQ(bal(kBeta, "USD").receivable, amt("50000.00", "USD"));
    // A prefunded PSP never draws credit.
    expect_rejected(payout(kAlpha, "p4", "0.01", "USD", "USD"), Reason::kInsufficientFunds);
}

TEST_F(EngineTest, PayoutRejections) {
    run({deposit(kAlpha, "d1", "1000.00", "USD"), deposit(kAlpha, "d2", "1000.00", "EUR")});
    const auto p = payout(kAlpha, "p", "10.00", "USD", "USD");
    auto jpy = p;
    jpy.amount = money::Money{money::Amount::from_minor(5), ccy("JPY")};
    expect_rejected(jpy, Reason::kUnknownCurrency);
    auto zero = p;
    zero.amount = mon("0.00", "USD");
    expect_rejected(zero, Reason::kAmountInvalid);
    auto gbp = p;
    gbp.amount = mon("10.00", "GBP");
    gbp.funding_currency = ccy("GBP");
    expect_rejected(gbp, Reason::kNoCycle);
    auto long_text = p;
    long_text.purpose = std::string(kPurposeBytesMax + 1, 'x');
    expect_rejected(long_text, Reason::kTextTooLong);
    auto self = p;
    self.payee_psp = kAlpha;
    expect_rejected(self, Reason::kPayeeInvalid);
    auto bank = p;
    bank.beneficiary.bank_id = "bank-zz";
    expect_rejected(bank, Reason::kUnknownBank);
    auto cn = p;
    cn.beneficiary.bank_id = "bank-cn";
    expect_rejected(cn, Reason::kBankDoesNotServeCurrency);
    auto ben = p;
    ben.beneficiary.country = "cn";
    expect_rejected(ben, Reason::kBeneficiaryInvalid);
    auto no_pair = payout(kAlpha, "p", "10.00", "CNY", "EUR");
    expect_rejected(no_pair, Reason::kNoConversionPair);
    expect_rejected(payout(kAlpha, "p", "10.00", "CNY", "USD"), Reason::kNoRate);
    expect_rejected(payout(kAlpha, "p", "1000.01", "USD", "USD"), Reason::kInsufficientFunds);
    auto same_ccy_quote = p;
    same_ccy_quote.quote_id = 1;
    expect_rejected(same_ccy_quote, Reason::kUnknownQuote);
}

TEST_F(EngineTest, InternalPayoutToAnotherPsp) {
    run1(deposit(kAlpha, "d1", "1000.00", "USD"));
    auto p = payout(kAlpha, "p1", "250.00", "USD", "USD");
    p.payee_psp = kBeta;
    const auto events = run1(p);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(as<PayoutAccepted>(events[0]).held, mon("250.00", "USD"));
    // Beta's position shows the expected inflow.
    const auto report = as<PositionReport>(run1(PositionRequest{kBeta, "pos", ccy("USD")})[0]);
    ASSERT_EQ(report.lines.size(), 1u);
    EXPECT_EQ(report.lines[0].net_position, amt("250.00", "USD"));
}

// ---- value dates ----------------------------------------------------------------------

TEST_F(EngineTest, ValueDatesAreCheckedAndRolledOnRequest) {
    run1(deposit(kAlpha, "d1", "1000.00", "USD"));
    auto saturday = payout(kAlpha, "p1", "10.00", "USD", "USD");
    saturday.value_date.tenor = calendar::Tenor::kBroken;
    saturday.value_date.date = day(2026, 3, 14);
    expect_rejected(saturday, Reason::kValueDateNotBusinessDay);
    auto rolled = saturday;
    rolled.value_date.roll = calendar::Roll::kFollowing;
    const auto events = run1(rolled);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(as<PayoutAccepted>(events[0]).value_date, day(2026, 3, 16));

    auto past = saturday;
    past.client_id = "p2";
    past.value_date.date = day(2026, 3, 2);
    expect_rejected(past, Reason::kValueDateInPast);
    auto far = saturday;
    far.client_id = "p3";
    far.value_date.date = day(2031, 1, 6);
    expect_rejected(far, Reason::kValueDateOutOfRange);
    auto no_date = saturday;
    no_date.client_id = "p4";
    no_date.value_date.date.reset();
    expect_rejected(no_date, Reason::kValueDateInvalid);

    // An order for a weekend value date.
    auto order = limit(kAlpha, "o1", Side::kSell, "100.00", "7.1000");
    order.value_date.tenor = calendar::Tenor::kBroken;
    order.value_date.date = day(2026, 3, 15);
    expect_rejected(order, Reason::kValueDateNotBusinessDay);
}

// ---- risk limits ----------------------------------------------------------------------

TEST_F(EngineTest, NetDebitCapAggregateCapAndShortPositionLimit) {
    run({deposit(kGamma, "d1", "10000.00", "USD"), deposit(kGamma, "d2", "10000.00", "EUR")});
    expect_rejected(payout(kGamma, "p1", "1000.01", "USD", "USD"), Reason::kNetDebitCapExceeded);
    // Selling USD it holds is not short (its limit is 500); the net debit cap still counts
    // the sale: 1000.01 > 1000.
    expect_rejected(limit(kGamma, "o1", Side::kSell, "1000.01", "7.1000"),
                    Reason::kNetDebitCapExceeded);
    as<OrderAccepted>(run1(limit(kGamma, "o2", Side::kSell, "400.00", "7.1000"))[0]);
    // 400 USD in the order, 500 more is 900 <= 1000: fine; then a EUR net debit with no
    // rate cannot be valued against the aggregate cap.
    as<PayoutAccepted>(run1(payout(kGamma, "p2", "500.00", "USD", "USD"))[0]);
    expect_rejected(payout(kGamma, "p3", "600.00", "EUR", "EUR"), Reason::kNoRateForRisk);
    // EUR 600 at 1.0801 is 648.06 USD: 900 + 648.06 > 1500.
    run1(venue_rate("EUR", "USD", "1.0800", "1.0802"));
    expect_rejected(payout(kGamma, "p3", "600.00", "EUR", "EUR"), Reason::kAggregateCapExceeded);
    as<PayoutAccepted>(run1(payout(kGamma, "p4", "500.00", "EUR", "EUR"))[0]);
}

NewOrder eur_usd(NewOrder order, const money::Rate& price) {
    order.pair = price.pair();
    order.price = price;
    return order;
}

TEST_F(EngineTest, SellingFundsItHoldsIsNotShortAndNoEntryMeansNoShortLimit) {
    // alpha (prefunded) has no short position limit for EUR: before, a missing entry was a
    // limit of zero and refused every EUR sale, even of EUR it holds.
    RiskLimits limits = risk_limits(config_.psps[kAlpha]);
    limits.short_position_limits.erase(ccy("EUR"));
    limits.short_position_limits[ccy("USD")] = amt("100.00", "USD");
    run1(SetLimits{kAlpha, "lim-1", "ops", limits});
    run({deposit(kAlpha, "d1", "5000.00", "EUR"), deposit(kAlpha, "d2", "5000.00", "USD"),
         venue_rate("EUR", "USD", "1.0800", "1.0802")});
    auto events = run1(eur_usd(limit(kAlpha, "o1", Side::kSell, "3000.00", "7.1000"),
                               rate("EUR", "USD", "1.0900")));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(reason_of(events[0]), std::nullopt) << text_of(events[0]);
    // A USD limit of 100.00, and 5000 USD held: selling 4000 of them is not short either.
    events = run1(limit(kAlpha, "o2", Side::kSell, "4000.00", "7.1000"));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(reason_of(events[0]), std::nullopt) << text_of(events[0]);
    // Selling 1100 more with 1000 left would be short 100.00, within its limit: a funds
    // question for a prefunded PSP; 0.01 more is past the limit.
    expect_rejected(limit(kAlpha, "o3", Side::kSell, "1100.00", "7.1000"),
                    Reason::kInsufficientFunds);
    expect_rejected(limit(kAlpha, "o3", Side::kSell, "1100.01", "7.1000"),
                    Reason::kShortPositionLimitExceeded);
    expect_rejected(eur_usd(limit(kAlpha, "o4", Side::kSell, "2000.01", "7.1000"),
                            rate("EUR", "USD", "1.0900")),
                    Reason::kInsufficientFunds);
}

TEST_F(EngineTest, ShortPositionIsWhatAPostfundedPspSellsOnCredit) {
    // beta (postfunded, 50,000.00 USD of credit): a USD short limit of 500.00.
    RiskLimits limits = risk_limits(config_.psps[kBeta]);
    limits.short_position_limits = {{ccy("USD"), amt("500.00", "USD")}};
    run1(SetLimits{kBeta, "lim-1", "ops", limits});
    run1(deposit(kBeta, "d1", "1000.00", "USD"));
    as<OrderAccepted>(run1(limit(kBeta, "o1", Side::kSell, "1000.00", "7.1000"))[0]);
    // 400 on credit: short 400 <= 500.
    as<OrderAccepted>(run1(limit(kBeta, "o2", Side::kSell, "400.00", "7.1000"))[0]);
    EXPECT_EQ(bal(kBeta, "USD").receivable, amt("400.00", "USD"));
    // 200 more would be short 600.
    const auto events = run1(limit(kBeta, "o3", Side::kSell, "200.00", "7.1000"));
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(reason_of(events[0]), Reason::kShortPositionLimitExceeded);
    EXPECT_NE(text_of(events[0]).find("short position would be 600.00"), std::string::npos)
        << text_of(events[0]);
    // Cancelling o1 lowers its commitments by 1000 while its own funds stay 1000: the same
    // sale is not short any more.
    run1(CancelOrder{kBeta, "c1", "o1"});
    as<OrderAccepted>(run1(limit(kBeta, "o4", Side::kSell, "200.00", "7.1000"))[0]);
    // Without a USD entry, no short limit at all: only its credit limit bounds it.
    limits.short_position_limits.clear();
    run1(SetLimits{kBeta, "lim-2", "ops", limits});
    as<OrderAccepted>(run1(limit(kBeta, "o5", Side::kSell, "5000.00", "7.1000"))[0]);
}

TEST_F(EngineTest, SetLimitsAppliesAfterItsBatchAndIsAudited) {
    run1(deposit(kGamma, "d1", "10000.00", "USD"));
    RiskLimits wider = risk_limits(config_.psps[kGamma]);
    wider.net_debit_caps[ccy("USD")] = amt("5000.00", "USD");
    wider.aggregate_cap = mon("5000.00", "USD");
    // In the same batch, the payout still meets the old cap.
    auto events = run({SetLimits{kGamma, "lim-1", "ops:alice", wider},
                       payout(kGamma, "p1", "2000.00", "USD", "USD")});
    ASSERT_EQ(events.size(), 2u);
    EXPECT_EQ(reason_of(events[0]), Reason::kNetDebitCapExceeded);
    EXPECT_EQ(as<LimitsChanged>(events[1]).limits, wider);
    bool audited = false;
    for (const auto& row : last_state_) {
        if (row.key.rfind("audit/limits/", 0) == 0) {
            audited = true;
            ASSERT_TRUE(row.value.has_value());
            EXPECT_NE(row.value->find("actor=ops:alice"), std::string::npos) << *row.value;
            EXPECT_NE(row.value->find("USD:5000.00"), std::string::npos) << *row.value;
        }
    }
    EXPECT_TRUE(audited);
    as<PayoutAccepted>(run1(payout(kGamma, "p1", "2000.00", "USD", "USD"))[0]);

    // Repeat: the same event, no change.
    const auto hash = engine_->state_hash();
    events = run1(SetLimits{kGamma, "lim-1", "ops:alice", wider});
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(engine_->state_hash(), hash);

    RiskLimits bad = wider;
    bad.credit_limits[ccy("JPY")] = money::Amount::from_minor(1);
    expect_rejected(SetLimits{kGamma, "lim-2", "ops", bad}, Reason::kLimitsInvalid);
    bad = wider;
    bad.aggregate_cap.amount = -amt("1.00", "USD");
    expect_rejected(SetLimits{kGamma, "lim-3", "ops", bad}, Reason::kLimitsInvalid);
}

TEST_F(EngineTest, ConfigReloadBecomesSetLimits) {
    config::Config reloaded = config_;
    reloaded.psps[kBeta].credit_limits[ccy("USD")] = amt("1.00", "USD");
    const auto commands = limits_from_config(config_, reloaded, engine_->chart(), 3);
    ASSERT_EQ(commands.size(), 1u);
    const auto& set = std::get<SetLimits>(commands[0]);
    EXPECT_EQ(set.psp, kBeta);
    EXPECT_EQ(set.client_id, "reload-3-beta");
    EXPECT_EQ(set.actor, "config-reload");
    const auto events = run(commands);
    ASSERT_EQ(events.size(), 1u);
    as<LimitsChanged>(events[0]);
    expect_rejected(payout(kBeta, "p1", "1.01", "USD", "USD"), Reason::kCreditLimitExceeded);
}

// ---- reports and venue/bank input -------------------------------------------------------

TEST_F(EngineTest, PositionReport) {
    run1(deposit(kAlpha, "d1", "1000.00", "USD"));
    run1(payout(kAlpha, "p1", "400.00", "USD", "USD"));
    const auto events = run1(PositionRequest{kAlpha, "pos-1", std::nullopt});
    ASSERT_EQ(events.size(), 1u);
    const auto report = as<PositionReport>(events[0]);
    EXPECT_EQ(report.lines.size(), engine_->chart().currencies().size());
    for (const auto& line : report.lines) {
        if (line.currency != ccy("USD"))
            continue;
        EXPECT_EQ(line.available, amt("600.00", "USD"));
        EXPECT_EQ(line.held, amt("400.00", "USD"));
        EXPECT_EQ(line.net_position, -amt("400.00", "USD"));
        EXPECT_EQ(line.cap, amt("10000000.00", "USD"));
        EXPECT_EQ(line.headroom, amt("9999600.00", "USD"));
    }
    ASSERT_TRUE(report.aggregate_used.has_value());
    EXPECT_EQ(*report.aggregate_used, mon("400.00", "USD"));
    expect_rejected(PositionRequest{kAlpha, "pos-2", ccy("JPY")}, Reason::kUnknownCurrency);
}

TEST_F(EngineTest, VenueAndBankInputRejections) {
    auto bad_venue = std::get<VenueRate>(venue_rate("USD", "CNY", "7.1", "7.2"));
    bad_venue.venue = 5;
    expect_rejected(bad_venue, Reason::kUnknownVenue);
    expect_rejected(venue_rate("EUR", "GBP", "0.8", "0.9"), Reason::kUnknownPair);
    expect_rejected(venue_rate("USD", "CNY", "7.2", "7.1"), Reason::kPriceInvalid);
    expect_rejected(HedgeFill{9, 1, "x", amt("1.00", "USD"), rate("USD", "CNY", "7.1"), true},
                    Reason::kUnknownVenue);
    expect_rejected(BankConfirmation{9, 1, "ref"}, Reason::kUnknownBank);
    expect_rejected(BankLineRejection{9, 1, 0, "closed"}, Reason::kUnknownBank);
}

// ---- cycles -----------------------------------------------------------------------------

TEST_F(EngineTest, CutoffHandsDuePayoutsAndTradesToSettlement) {
    run({deposit(kAlpha, "d1", "10000.00", "USD"), deposit(kBeta, "d2", "100000.00", "CNY"),
         venue_rate("USD", "CNY", "7.1000", "7.1010")});
    run1(payout(kAlpha, "p1", "100.00", "USD", "USD"));
    run1(limit(kAlpha, "a1", Side::kSell, "300.00", "7.1000"));
    run1(limit(kBeta, "b1", Side::kBuy, "300.00", "7.1000"));
    EXPECT_EQ(engine_->open_payouts(), 1u);
    EXPECT_EQ(engine_->open_trades(), 1u);
    // The USD cut-off takes today's payout; the trade's legs wait for spot (12 March).
    const auto events = run({}, kT0 + 11h);
    EXPECT_EQ(engine_->open_payouts(), 0u);
    EXPECT_EQ(engine_->open_trades(), 1u);
    // The payout went out in a payment order to bank-a; the bank refuses its line and
    // the money comes back to alpha's available USD.
    std::optional<PaymentOrder> order;
    for (const auto& event : events) {
        if (const auto* o = std::get_if<PaymentOrder>(&event))
            order = *o;
    }
    ASSERT_TRUE(order.has_value());
    ASSERT_EQ(order->lines.size(), 1u);
    EXPECT_EQ(order->lines[0].amount, amt("100.00", "USD"));
    EXPECT_EQ(bal(kAlpha, "USD").available, amt("9600.00", "USD"));
    const auto replies = run1(BankLineRejection{order->bank, order->order_id, 0, "account closed"});
    bool failed = false;
    for (const auto& event : replies) {
        if (const auto* f = std::get_if<PayoutFailed>(&event)) {
            EXPECT_EQ(f->client_id, "p1");
            EXPECT_EQ(f->refunded, mon("100.00", "USD"));
            failed = true;
        }
    }
    EXPECT_TRUE(failed);
    EXPECT_EQ(bal(kAlpha, "USD").available, amt("9700.00", "USD"));
    // A reply for an order the engine never sent is settlement's to refuse.
    const auto unknown = run1(BankConfirmation{0, 999, "ref"});
    ASSERT_EQ(unknown.size(), 1u);
    EXPECT_TRUE(std::holds_alternative<SettlementReplyRejected>(unknown[0]));
    // Spot day, after both cut-offs: the trade has left the engine.
    run({}, kT0 + 48h + 11h + 31min);
    EXPECT_EQ(engine_->open_trades(), 0u);
}

TEST_F(EngineTest, BankLineConfirmationSettlesOneLineAndLeavesTheOthersOpen) {
    run1(deposit(kAlpha, "d1", "10000.00", "USD"));
    run1(payout(kAlpha, "p1", "100.00", "USD", "USD"));
    run1(payout(kAlpha, "p2", "250.00", "USD", "USD"));
    const auto cutoff = run({}, kT0 + 11h);
    std::optional<PaymentOrder> order;
    for (const auto& event : cutoff) {
        if (const auto* o = std::get_if<PaymentOrder>(&event))
            order = *o;
    }
    ASSERT_TRUE(order.has_value()) << "the USD cut-off sent no payment order";
    ASSERT_EQ(order->lines.size(), 2u);
    const std::uint32_t first = order->lines[0].amount == amt("100.00", "USD") ? 0 : 1;
    const std::uint32_t second = 1 - first;
    EXPECT_EQ(engine_->settlement().open_payment_lines(), 2u);

    // One line confirmed: its payout is settled, the other line stays open.
    auto events = run1(BankLineConfirmation{order->bank, order->order_id, first,
                                            "BR-line-" + std::to_string(first)});
    ASSERT_EQ(events.size(), 1u) << "expected exactly one PayoutSettled";
    const auto settled = as<PayoutSettled>(events[0]);
    EXPECT_EQ(settled.client_id, "p1");
    EXPECT_EQ(settled.amount, mon("100.00", "USD"));
    EXPECT_EQ(engine_->settlement().open_payment_lines(), 1u);

    // A repeat changes nothing and says nothing.
    const auto hash = engine_->state_hash();
    events = run1(BankLineConfirmation{order->bank, order->order_id, first, "BR-again"});
    EXPECT_TRUE(events.empty()) << "a repeated line confirmation produced events";
    EXPECT_EQ(engine_->state_hash(), hash) << "a repeated line confirmation changed the state";

    // Rejecting the confirmed line is refused; the other line can still be rejected.
    events = run1(BankLineRejection{order->bank, order->order_id, first, "too late"});
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(as<SettlementReplyRejected>(events[0]).code, SettlementCode::kLineAlreadyConfirmed);
    events = run1(BankLineRejection{order->bank, order->order_id, second, "account closed"});
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(as<PayoutFailed>(events[0]).client_id, "p2");
    EXPECT_EQ(bal(kAlpha, "USD").available, amt("9900.00", "USD"));
    // ... and then a confirmation of the rejected line is refused.
    events = run1(BankLineConfirmation{order->bank, order->order_id, second, "BR-2"});
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(as<SettlementReplyRejected>(events[0]).code, SettlementCode::kLineAlreadyRejected);
    EXPECT_EQ(engine_->settlement().open_payment_lines(), 0u);

    // Unknown lines, orders and banks.
    events = run1(BankLineConfirmation{order->bank, order->order_id, 7, "BR-7"});
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(as<SettlementReplyRejected>(events[0]).code, SettlementCode::kUnknownLine);
    events = run1(BankLineConfirmation{order->bank, 999, 0, "BR"});
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(as<SettlementReplyRejected>(events[0]).code, SettlementCode::kUnknownPaymentOrder);
    expect_rejected(BankLineConfirmation{9, order->order_id, 0, "BR"}, Reason::kUnknownBank);
}

TEST_F(EngineTest, IdempotencyOutcomesExpireAfterRetentionAndARepeatIsThenRefused) {
    const auto first = run1(deposit(kAlpha, "d1", "100.00", "USD"));
    ASSERT_EQ(first.size(), 1u);
    as<DepositCredited>(first[0]);
    // Within kIdempotencyDaysKept: the original outcome again, nothing changes.
    run({}, kT0 + 24h * 6);  // the cut-offs due by then, in a batch of their own
    const auto hash = engine_->state_hash();
    auto events = run1(deposit(kAlpha, "d1", "100.00", "USD"), kT0 + 24h * 6);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_TRUE(events[0] == first[0]) << "a repeat within retention gave another outcome";
    EXPECT_EQ(engine_->state_hash(), hash);
    EXPECT_EQ(bal(kAlpha, "USD").available, amt("100.00", "USD"));
    // After it: refused as a duplicate whose outcome is no longer kept; never credited again.
    const ledger::Timestamp later = kT0 + 24h * (kIdempotencyDaysKept + 2);
    run({}, later);
    events = run1(deposit(kAlpha, "d1", "100.00", "USD"), later);
    ASSERT_EQ(events.size(), 1u);
    EXPECT_EQ(reason_of(events[0]), Reason::kDuplicateClientId);
    EXPECT_NE(text_of(events[0]).find("no longer kept"), std::string::npos) << text_of(events[0]);
    EXPECT_EQ(bal(kAlpha, "USD").available, amt("100.00", "USD"));
    // A new id still works, and replaying the log prunes the same: equal state hashes.
    as<DepositCredited>(run1(deposit(kAlpha, "d2", "1.00", "USD"), later)[0]);
    auto replayed = Engine::create(config_);
    ASSERT_TRUE(replayed.has_value());
    for (const auto& batch : log_) {
        BatchOutput<Event> out;
        ASSERT_TRUE(replayed->apply(batch.commands, batch.now, out).is_ok());
    }
    EXPECT_EQ(replayed->state_hash(), engine_->state_hash()) << "replay pruned differently";
}

// ---- replay and recovery ----------------------------------------------------------------

class ReplayTest : public EngineTest {
  protected:
    void play() {
        run({deposit(kAlpha, "d1", "10000.00", "USD"), deposit(kBeta, "d2", "100000.00", "CNY"),
             venue_rate("USD", "CNY", "7.1000", "7.1010")});
        run({limit(kAlpha, "a1", Side::kSell, "1000.00", "7.1000"),
             limit(kBeta, "b1", Side::kBuy, "400.00", "7.1100"),
             payout(kBeta, "p1", "500.00", "USD", "CNY"),
             payout(kBeta, "p2", "300.00", "USD", "USD")});
        run({QuoteRequest{kAlpha, "q1", ccy("USD"), ccy("CNY"), mon("100.00", "USD"), {}},
             CancelOrder{kAlpha, "a1-c", "a1"}},
            kT0 + 1s);
        run({SetLimits{kGamma, "l1", "ops", risk_limits(config_.psps[kAlpha])}}, kT0 + 2s);
        run({}, kT0 + 11h);  // the USD cut-off
        // Spot day: a fresh rate just before the USD cut-off, which converts beta's
        // unlocked CNY-funded payout and settles the trade's legs.
        const ledger::Timestamp spot = kT0 + 48h + 10h + 59min + 30s;
        run({venue_rate("USD", "CNY", "7.1000", "7.1010", spot)}, spot);
        run({}, kT0 + 48h + 11h + 31min);
    }
};

TEST_F(ReplayTest, SameCommandLogGivesTheSameStateAndOperations) {
    play();
    const auto hash = engine_->state_hash();
    auto other = Engine::create(config_);
    ASSERT_TRUE(other.has_value());
    // Replay the log and compare every batch's operations.
    auto replay_ops = [&](Engine& engine) {
        std::vector<std::string> ops;
        for (const auto& batch : log_) {
            BatchOutput<Event> out;
            EXPECT_TRUE(engine.apply(batch.commands, batch.now, out).is_ok());
            for (const auto& op : out.operations) {
                if (const auto* e = std::get_if<ledger::EntryRequest>(&op.op)) {
                    std::string text = e->id.to_hex() + e->reference;
                    for (const auto& posting : e->postings)
                        text += posting.account.to_hex() + posting.amount.amount.to_string();
                    ops.push_back(text);
                } else if (const auto* fx = std::get_if<ledger::FxConversionRequest>(&op.op)) {
                    ops.push_back(fx->id.to_hex() + fx->from.amount.to_string() +
                                  fx->rate.to_string());
                } else {
                    ops.push_back("other");
                }
            }
            for (const auto& event : out.events)
                ops.push_back(Engine::encode_event(event));
        }
        return ops;
    };
    const auto first = replay_ops(*other);
    EXPECT_EQ(other->state_hash(), hash);
    auto third = Engine::create(config_);
    ASSERT_TRUE(third.has_value());
    EXPECT_EQ(replay_ops(*third), first);
    EXPECT_EQ(third->state_hash(), hash);
}

TEST_F(ReplayTest, RecoverFromTheLedgerRebuildsTheSameState) {
    play();
    const auto hash = engine_->state_hash();
    auto recovered = Engine::create(config_);
    ASSERT_TRUE(recovered.has_value());
    {
        auto view = ledger_->read();
        ASSERT_TRUE(view.has_value());
        const Status status = recovered->recover(**view);
        ASSERT_TRUE(status.is_ok()) << status.to_string();
    }
    EXPECT_EQ(recovered->state_hash(), hash);
    EXPECT_EQ(recovered->batches_applied(), log_.size());
    // It carries on exactly like the original.
    BatchOutput<Event> a;
    BatchOutput<Event> b;
    const std::vector<Command> next{deposit(kAlpha, "d9", "5.00", "USD")};
    ASSERT_TRUE(engine_->apply(next, kT0 + 12h, a).is_ok());
    ASSERT_TRUE(recovered->apply(next, kT0 + 12h, b).is_ok());
    EXPECT_EQ(recovered->state_hash(), engine_->state_hash());
    ASSERT_EQ(a.events.size(), b.events.size());
    EXPECT_TRUE(a.events == b.events);
    // Twice is refused.
    auto view = ledger_->read();
    ASSERT_TRUE(view.has_value());
    EXPECT_EQ(recovered->recover(**view).code(), StatusCode::kFailedPrecondition);
}

TEST_F(ReplayTest, RecoverFindsABalanceTheLogDoesNotExplain) {
    play();
    // Someone moved alpha's money outside the engine.
    const auto& chart = engine_->chart();
    ledger::EntryRequest entry;
    entry.id = ledger::EntryId{42, 42};
    entry.value_date = day(2026, 3, 10);
    entry.reference = "manual";
    entry.postings = {
        ledger::Posting{chart.psp_available(kAlpha, ci("USD")), ledger::Side::kDebit,
                        mon("1.00", "USD")},
        ledger::Posting{chart.suspense(ci("USD")), ledger::Side::kCredit, mon("1.00", "USD")}};
    const std::vector<ledger::Operation> ops{ledger::Operation{entry, false}};
    auto results = ledger_->commit(ops, kT0 + 12h);
    ASSERT_TRUE(results.has_value());
    ASSERT_TRUE(ledger::is_success((*results)[0].code)) << (*results)[0].detail;
    auto recovered = Engine::create(config_);
    ASSERT_TRUE(recovered.has_value());
    auto view = ledger_->read();
    ASSERT_TRUE(view.has_value());
    const Status status = recovered->recover(**view);
    EXPECT_EQ(status.code(), StatusCode::kCorruption);
    EXPECT_NE(status.message().find(chart.psp_available(kAlpha, ci("USD")).to_hex()),
              std::string::npos)
        << status.message();
}

}  // namespace
}  // namespace fxsettle::engine::testing

namespace fxsettle::engine::testing {
namespace {

TEST(EngineReasons, EveryReasonHasAUniqueName) {
    std::set<std::string_view> names;
    int known = 0;
    for (int code = 0; code < 1000; ++code) {
        const auto name = reason_name(static_cast<Reason>(code));
        if (name == "unknown")
            continue;
        ++known;
        EXPECT_TRUE(names.insert(name).second) << name;
    }
    EXPECT_GE(known, 40);
    EXPECT_EQ(reason_name(Reason::kNetDebitCapExceeded), "net_debit_cap_exceeded");
}

TEST(EngineDefaultConfig, BuildsAndTakesAPayout) {
    auto config = config::load_default_config();
    ASSERT_TRUE(config.has_value()) << config.error().to_string();
    auto engine = Engine::create(*config);
    ASSERT_TRUE(engine.has_value()) << engine.error().to_string();
    EXPECT_EQ(engine->initial_operations().size(), engine->chart().accounts().size());
    const PspIndex alpha = *engine->chart().psp_index("alpha");
    const money::Currency usd = *config->currency_table.find("USD");
    PayoutInstruction payout;
    payout.psp = alpha;
    payout.client_id = "p1";
    payout.beneficiary = Beneficiary{"bank-intl", "US0012345678", "Acme Supplies", "US"};
    payout.amount = money::Money{money::Amount::from_minor(10'000), usd};
    payout.funding_currency = usd;
    BatchOutput<Event> out;
    const std::vector<Command> commands{payout};
    ASSERT_TRUE(engine->apply(commands, kT0, out).is_ok());
    ASSERT_EQ(out.events.size(), 1u);
    // Alpha is postfunded with USD credit: the payout draws it.
    EXPECT_TRUE(std::holds_alternative<PayoutAccepted>(out.events[0])) << text_of(out.events[0]);
    EXPECT_EQ(engine->balances(alpha, *engine->chart().currency_index("USD")).receivable,
              money::Amount::from_minor(10'000));
    ASSERT_TRUE(engine->next_deadline().has_value());
}

}  // namespace
}  // namespace fxsettle::engine::testing
