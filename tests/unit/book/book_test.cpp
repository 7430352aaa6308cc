// Order book behaviour, scenario by scenario, run against both books (typed tests): the
// fast OrderBook and the ReferenceBook must produce exactly the events book_api.md
// describes. Every rejection is also checked to leave the book as it was.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/book/order_book.h"
#include "engine/book/reference_book.h"
#include "tests/unit/book/book_test_util.h"

namespace fxsettle::engine::book {
namespace {

constexpr Side kBuy = Side::kBuy;
constexpr Side kSell = Side::kSell;
using Events = std::vector<Event>;
using expect::accepted;
using expect::cancelled;
using expect::fill;
using expect::rejected;
using expect::replaced;
using expect::rested;

template <typename B>
class BookTest : public ::testing::Test {
  protected:
    static constexpr std::uint32_t kOrdersMax = 1000;

    Events add(std::uint64_t id, std::uint32_t owner, Side side, std::int64_t price,
               std::int64_t quantity, TimeInForce tif = TimeInForce::kGtc) {
        return add_order(NewOrder{OrderId{id}, OwnerId{owner}, side, OrderType::kLimit, tif,
                                  Price{price}, Quantity{quantity}});
    }
    Events market(std::uint64_t id, std::uint32_t owner, Side side, std::int64_t quantity,
                  TimeInForce tif = TimeInForce::kIoc) {
        return add_order(NewOrder{OrderId{id}, OwnerId{owner}, side, OrderType::kMarket, tif,
                                  Price{0}, Quantity{quantity}});
    }
    Events add_order(const NewOrder& order) {
        Events out;
        book.add(order, out);
        return out;
    }
    Events cancel(std::uint64_t id, std::uint32_t owner) {
        Events out;
        book.cancel(OrderId{id}, OwnerId{owner}, out);
        return out;
    }
    Events replace(std::uint64_t id, std::uint32_t owner, std::int64_t price,
                   std::int64_t remaining) {
        Events out;
        book.replace(OrderId{id}, OwnerId{owner}, Price{price}, Quantity{remaining}, out);
        return out;
    }
    Events expire() {
        Events out;
        book.expire_day_orders(out);
        return out;
    }
    // Adds a resting GTC limit order and checks that it rested whole.
    void rest(std::uint64_t id, std::uint32_t owner, Side side, std::int64_t price,
              std::int64_t quantity, TimeInForce tif = TimeInForce::kGtc) {
        const Events got = add(id, owner, side, price, quantity, tif);
        ASSERT_EQ(got, (Events{accepted(id, owner, side, price, quantity),
                               rested(id, owner, side, price, quantity)}));
    }
    std::vector<OrderView> orders() const { return snapshot(book); }
    std::vector<std::pair<std::int64_t, std::int64_t>> walk(Side taker_side, std::uint32_t owner,
                                                            std::optional<Price> limit,
                                                            std::size_t levels_max = 1000) const {
        std::vector<std::pair<std::int64_t, std::int64_t>> seen;
        book.walk(taker_side, OwnerId{owner}, limit, [&](Price price, Quantity quantity) {
            seen.emplace_back(price.ticks, quantity.minor);
            return seen.size() < levels_max;
        });
        return seen;
    }

    void TearDown() override {
        if constexpr (requires(const B& b) { b.validate(); }) {
            const Status status = book.validate();
            EXPECT_TRUE(status.is_ok()) << status.to_string();
        }
    }

    B book{kOrdersMax};
};

struct BookNames {
    template <typename T>
    static std::string GetName(int) {
        if constexpr (std::is_same_v<T, OrderBook>)
            return "OrderBook";
        else
            return "ReferenceBook";
    }
};

using Books = ::testing::Types<OrderBook, ReferenceBook>;
TYPED_TEST_SUITE(BookTest, Books, BookNames);

// ---- resting, crossing, priority ----

TYPED_TEST(BookTest, LimitOrderThatDoesNotCrossRestsAndIsTheBest) {
    this->rest(1, 7, kBuy, 100, 50);
    this->rest(2, 8, kSell, 101, 30);
    EXPECT_EQ(this->book.order_count(), 2u);
    EXPECT_EQ(this->book.best(kBuy), (Level{Price{100}, Quantity{50}, 1}));
    EXPECT_EQ(this->book.best(kSell), (Level{Price{101}, Quantity{30}, 1}));
    const auto found = this->book.find(OrderId{1});
    ASSERT_TRUE(found.has_value());
    EXPECT_EQ(*found, (OrderView{OrderId{1}, OwnerId{7}, kBuy, TimeInForce::kGtc, Price{100},
                                 Quantity{50}}));
    EXPECT_FALSE(this->book.find(OrderId{3}).has_value());
}

TYPED_TEST(BookTest, CrossingLimitOrderTradesAtTheMakersPrice) {
    this->rest(1, 7, kSell, 100, 50);
    EXPECT_EQ(this->add(2, 8, kBuy, 105, 50),
              (Events{accepted(2, 8, kBuy, 105, 50), fill(2, 8, kBuy, 1, 7, 100, 50, 0, 0)}));
    EXPECT_EQ(this->book.order_count(), 0u);
    EXPECT_FALSE(this->book.find(OrderId{1}).has_value()) << "a filled maker leaves the book";
}

TYPED_TEST(BookTest, PartialFillRestsTheTakersRemainderAtItsLimit) {
    this->rest(1, 7, kSell, 100, 30);
    EXPECT_EQ(this->add(2, 8, kBuy, 101, 50),
              (Events{accepted(2, 8, kBuy, 101, 50), fill(2, 8, kBuy, 1, 7, 100, 30, 20, 0),
                      rested(2, 8, kBuy, 101, 20)}));
    EXPECT_EQ(this->book.best(kBuy), (Level{Price{101}, Quantity{20}, 1}));
    EXPECT_FALSE(this->book.best(kSell).has_value());
}

TYPED_TEST(BookTest, PartialFillLeavesTheMakersRemainderAtItsPlace) {
    this->rest(1, 7, kBuy, 100, 50);
    this->rest(2, 7, kBuy, 100, 10);
    EXPECT_EQ(this->add(3, 8, kSell, 99, 20),
              (Events{accepted(3, 8, kSell, 99, 20), fill(3, 8, kSell, 1, 7, 100, 20, 0, 30)}));
    EXPECT_EQ(this->orders(),
              (std::vector<OrderView>{
                  {OrderId{1}, OwnerId{7}, kBuy, TimeInForce::kGtc, Price{100}, Quantity{30}},
                  {OrderId{2}, OwnerId{7}, kBuy, TimeInForce::kGtc, Price{100}, Quantity{10}},
              }));
}

TYPED_TEST(BookTest, TakerSweepsLevelsBestPriceFirstThenOldestFirst) {
    this->rest(1, 1, kSell, 102, 10);
    this->rest(2, 2, kSell, 101, 10);
    this->rest(3, 3, kSell, 101, 10);
    this->rest(4, 4, kSell, 103, 10);
    EXPECT_EQ(this->add(5, 9, kBuy, 102, 35),
              (Events{accepted(5, 9, kBuy, 102, 35), fill(5, 9, kBuy, 2, 2, 101, 10, 25, 0),
                      fill(5, 9, kBuy, 3, 3, 101, 10, 15, 0), fill(5, 9, kBuy, 1, 1, 102, 10, 5, 0),
                      rested(5, 9, kBuy, 102, 5)}))
        << "103 is beyond the limit, so 5 rests";
    EXPECT_EQ(this->book.best(kSell), (Level{Price{103}, Quantity{10}, 1}));
}

TYPED_TEST(BookTest, SellTakerTakesHighestBidsFirst) {
    this->rest(1, 1, kBuy, 98, 10);
    this->rest(2, 2, kBuy, 99, 10);
    EXPECT_EQ(this->add(3, 9, kSell, 98, 15),
              (Events{accepted(3, 9, kSell, 98, 15), fill(3, 9, kSell, 2, 2, 99, 10, 5, 0),
                      fill(3, 9, kSell, 1, 1, 98, 5, 0, 5)}));
}

TYPED_TEST(BookTest, LimitAtExactlyTheBestOppositePriceCrosses) {
    this->rest(1, 1, kBuy, 100, 10);
    EXPECT_EQ(this->add(2, 2, kSell, 100, 10),
              (Events{accepted(2, 2, kSell, 100, 10), fill(2, 2, kSell, 1, 1, 100, 10, 0, 0)}));
}

// ---- time in force ----

TYPED_TEST(BookTest, IocFillsWhatItCanAndCancelsTheRemainder) {
    this->rest(1, 1, kSell, 100, 30);
    EXPECT_EQ(this->add(2, 2, kBuy, 100, 50, TimeInForce::kIoc),
              (Events{accepted(2, 2, kBuy, 100, 50), fill(2, 2, kBuy, 1, 1, 100, 30, 20, 0),
                      cancelled(2, 2, kBuy, 100, 20, CancelReason::kIocRemainder)}));
    EXPECT_EQ(this->book.order_count(), 0u) << "an IOC never rests";
}

TYPED_TEST(BookTest, IocThatCrossesNothingIsCancelledWhole) {
    this->rest(1, 1, kSell, 101, 30);
    EXPECT_EQ(this->add(2, 2, kBuy, 100, 50, TimeInForce::kIoc),
              (Events{accepted(2, 2, kBuy, 100, 50),
                      cancelled(2, 2, kBuy, 100, 50, CancelReason::kIocRemainder)}));
    EXPECT_EQ(this->book.order_count(), 1u);
}

TYPED_TEST(BookTest, FokFillsInFullAcrossLevels) {
    this->rest(1, 1, kSell, 100, 30);
    this->rest(2, 1, kSell, 101, 30);
    EXPECT_EQ(this->add(3, 2, kBuy, 101, 50, TimeInForce::kFok),
              (Events{accepted(3, 2, kBuy, 101, 50), fill(3, 2, kBuy, 1, 1, 100, 30, 20, 0),
                      fill(3, 2, kBuy, 2, 1, 101, 20, 0, 10)}));
}

TYPED_TEST(BookTest, FokThatCannotFillInFullFillsNothingAndChangesNothing) {
    this->rest(1, 1, kSell, 100, 30);
    this->rest(2, 1, kSell, 102, 30);
    const auto before = this->orders();
    EXPECT_EQ(this->add(3, 2, kBuy, 101, 50, TimeInForce::kFok),
              (Events{accepted(3, 2, kBuy, 101, 50),
                      cancelled(3, 2, kBuy, 101, 50, CancelReason::kFokUnfilled)}))
        << "only 30 is within the limit";
    EXPECT_EQ(this->orders(), before);
}

TYPED_TEST(BookTest, FokCountsOnlyLiquidityBeforeItsOwnersRestingOrder) {
    this->rest(1, 1, kSell, 100, 30);
    this->rest(2, 2, kSell, 100, 30);  // the FOK's owner's own order
    this->rest(3, 1, kSell, 100, 30);
    const auto before = this->orders();
    EXPECT_EQ(this->add(4, 2, kBuy, 100, 40, TimeInForce::kFok),
              (Events{accepted(4, 2, kBuy, 100, 40),
                      cancelled(4, 2, kBuy, 100, 40, CancelReason::kFokUnfilled)}))
        << "90 rests in all, but only 30 before the owner's own order";
    EXPECT_EQ(this->orders(), before);
    EXPECT_EQ(this->add(5, 2, kBuy, 100, 30, TimeInForce::kFok),
              (Events{accepted(5, 2, kBuy, 100, 30), fill(5, 2, kBuy, 1, 1, 100, 30, 0, 0)}))
        << "30 is reachable before the own order, so a FOK of 30 fills";
}

TYPED_TEST(BookTest, DayOrderRestsLikeGtcUntilExpiry) {
    this->rest(1, 1, kBuy, 100, 10, TimeInForce::kDay);
    EXPECT_EQ(this->book.find(OrderId{1})->tif, TimeInForce::kDay);
    EXPECT_EQ(this->add(2, 2, kSell, 100, 4),
              (Events{accepted(2, 2, kSell, 100, 4), fill(2, 2, kSell, 1, 1, 100, 4, 0, 6)}));
}

TYPED_TEST(BookTest, ExpiryCancelsDayOrdersInPriorityOrderBidsFirstAndKeepsGtc) {
    this->rest(1, 1, kSell, 105, 10, TimeInForce::kDay);
    this->rest(2, 1, kSell, 104, 10, TimeInForce::kDay);
    this->rest(3, 1, kBuy, 100, 10, TimeInForce::kDay);
    this->rest(4, 2, kBuy, 101, 10, TimeInForce::kGtc);
    this->rest(5, 2, kBuy, 101, 20, TimeInForce::kDay);
    this->rest(6, 2, kBuy, 99, 20, TimeInForce::kDay);
    this->rest(7, 2, kSell, 104, 20, TimeInForce::kGtc);
    EXPECT_EQ(this->expire(), (Events{cancelled(5, 2, kBuy, 101, 20, CancelReason::kExpired),
                                      cancelled(3, 1, kBuy, 100, 10, CancelReason::kExpired),
                                      cancelled(6, 2, kBuy, 99, 20, CancelReason::kExpired),
                                      cancelled(2, 1, kSell, 104, 10, CancelReason::kExpired),
                                      cancelled(1, 1, kSell, 105, 10, CancelReason::kExpired)}));
    EXPECT_EQ(this->orders(),
              (std::vector<OrderView>{
                  {OrderId{4}, OwnerId{2}, kBuy, TimeInForce::kGtc, Price{101}, Quantity{10}},
                  {OrderId{7}, OwnerId{2}, kSell, TimeInForce::kGtc, Price{104}, Quantity{20}},
              }));
    EXPECT_TRUE(this->expire().empty()) << "a second expiry finds nothing";
}

// ---- market orders ----

TYPED_TEST(BookTest, MarketOrderTakesAnyPriceAndCancelsWhatIsLeft) {
    this->rest(1, 1, kSell, 100, 10);
    this->rest(2, 1, kSell, 5000, 10);
    EXPECT_EQ(this->market(3, 2, kBuy, 25),
              (Events{accepted(3, 2, kBuy, 0, 25), fill(3, 2, kBuy, 1, 1, 100, 10, 15, 0),
                      fill(3, 2, kBuy, 2, 1, 5000, 10, 5, 0),
                      cancelled(3, 2, kBuy, 0, 5, CancelReason::kIocRemainder)}));
    EXPECT_EQ(this->book.order_count(), 0u);
}

TYPED_TEST(BookTest, MarketOrderIgnoresItsPriceField) {
    this->rest(1, 1, kBuy, 100, 10);
    EXPECT_EQ(this->add_order(NewOrder{OrderId{2}, OwnerId{2}, kSell, OrderType::kMarket,
                                       TimeInForce::kIoc, Price{-5}, Quantity{10}}),
              (Events{accepted(2, 2, kSell, 0, 10), fill(2, 2, kSell, 1, 1, 100, 10, 0, 0)}));
}

TYPED_TEST(BookTest, MarketOrderOnAnEmptySideIsCancelledForNoLiquidity) {
    this->rest(1, 1, kBuy, 100, 10);  // same side: no use to a buyer
    for (const auto tif : {TimeInForce::kIoc, TimeInForce::kFok, TimeInForce::kGtc}) {
        EXPECT_EQ(this->market(2, 2, kBuy, 10, tif),
                  (Events{accepted(2, 2, kBuy, 0, 10),
                          cancelled(2, 2, kBuy, 0, 10, CancelReason::kNoLiquidity)}))
            << "tif " << tif_name(tif);
    }
}

TYPED_TEST(BookTest, MarketOrderWithGtcOrDayNeverRests) {
    this->rest(1, 1, kSell, 100, 10);
    EXPECT_EQ(this->market(2, 2, kBuy, 15, TimeInForce::kDay),
              (Events{accepted(2, 2, kBuy, 0, 15), fill(2, 2, kBuy, 1, 1, 100, 10, 5, 0),
                      cancelled(2, 2, kBuy, 0, 5, CancelReason::kIocRemainder)}));
    EXPECT_EQ(this->book.order_count(), 0u);
}

TYPED_TEST(BookTest, MarketFokFillsInFullOrNotAtAll) {
    this->rest(1, 1, kSell, 100, 10);
    this->rest(2, 1, kSell, 101, 10);
    EXPECT_EQ(this->market(3, 2, kBuy, 25, TimeInForce::kFok),
              (Events{accepted(3, 2, kBuy, 0, 25),
                      cancelled(3, 2, kBuy, 0, 25, CancelReason::kFokUnfilled)}));
    EXPECT_EQ(this->market(4, 2, kBuy, 20, TimeInForce::kFok),
              (Events{accepted(4, 2, kBuy, 0, 20), fill(4, 2, kBuy, 1, 1, 100, 10, 10, 0),
                      fill(4, 2, kBuy, 2, 1, 101, 10, 0, 0)}));
}

// ---- self-trade prevention ----

TYPED_TEST(BookTest, SelfTradeCancelsTheIncomingRemainderAndKeepsTheRestingOrder) {
    this->rest(1, 1, kSell, 100, 10);
    this->rest(2, 2, kSell, 100, 10);  // owner 2's own order
    this->rest(3, 1, kSell, 100, 10);
    EXPECT_EQ(this->add(4, 2, kBuy, 100, 25),
              (Events{accepted(4, 2, kBuy, 100, 25), fill(4, 2, kBuy, 1, 1, 100, 10, 15, 0),
                      cancelled(4, 2, kBuy, 100, 15, CancelReason::kSelfTrade)}))
        << "a GTC limit that meets its own order does not rest either";
    EXPECT_EQ(this->orders(),
              (std::vector<OrderView>{
                  {OrderId{2}, OwnerId{2}, kSell, TimeInForce::kGtc, Price{100}, Quantity{10}},
                  {OrderId{3}, OwnerId{1}, kSell, TimeInForce::kGtc, Price{100}, Quantity{10}},
              }));
}

TYPED_TEST(BookTest, SelfTradeStopsAMarketOrderAtTheBest) {
    this->rest(1, 2, kBuy, 100, 10);
    this->rest(2, 1, kBuy, 99, 10);
    EXPECT_EQ(this->market(3, 2, kSell, 5),
              (Events{accepted(3, 2, kSell, 0, 5),
                      cancelled(3, 2, kSell, 0, 5, CancelReason::kSelfTrade)}));
    EXPECT_EQ(this->book.order_count(), 2u);
}

TYPED_TEST(BookTest, OwnOrderBeyondTheLimitDoesNotStopTheOrder) {
    this->rest(1, 1, kSell, 100, 10);
    this->rest(2, 2, kSell, 101, 10);
    EXPECT_EQ(this->add(3, 2, kBuy, 100, 15),
              (Events{accepted(3, 2, kBuy, 100, 15), fill(3, 2, kBuy, 1, 1, 100, 10, 5, 0),
                      rested(3, 2, kBuy, 100, 5)}));
}

TYPED_TEST(BookTest, OrderFilledExactlyBeforeItsOwnOrderIsNotASelfTrade) {
    this->rest(1, 1, kSell, 100, 10);
    this->rest(2, 2, kSell, 100, 10);
    EXPECT_EQ(this->add(3, 2, kBuy, 100, 10, TimeInForce::kIoc),
              (Events{accepted(3, 2, kBuy, 100, 10), fill(3, 2, kBuy, 1, 1, 100, 10, 0, 0)}));
}

// ---- cancel ----

TYPED_TEST(BookTest, CancelRemovesTheOrderAndReportsWhatWasLeft) {
    this->rest(1, 1, kBuy, 100, 10);
    this->rest(2, 1, kBuy, 100, 20);
    EXPECT_EQ(this->cancel(1, 1),
              (Events{cancelled(1, 1, kBuy, 100, 10, CancelReason::kRequested)}));
    EXPECT_EQ(this->book.best(kBuy), (Level{Price{100}, Quantity{20}, 1}));
    EXPECT_EQ(this->cancel(2, 1),
              (Events{cancelled(2, 1, kBuy, 100, 20, CancelReason::kRequested)}));
    EXPECT_FALSE(this->book.best(kBuy).has_value()) << "the emptied level is gone";
}

TYPED_TEST(BookTest, CancelOfUnknownOrFilledOrderIsRejectedAndChangesNothing) {
    this->rest(1, 1, kSell, 100, 10);
    this->rest(2, 1, kSell, 101, 10);
    this->market(3, 2, kBuy, 10);  // fills 1 completely
    const auto before = this->orders();
    EXPECT_EQ(this->cancel(1, 1), (Events{rejected(1, 1, BookReject::kUnknownOrder)}));
    EXPECT_EQ(this->cancel(99, 1), (Events{rejected(99, 1, BookReject::kUnknownOrder)}));
    EXPECT_EQ(this->cancel(3, 2), (Events{rejected(3, 2, BookReject::kUnknownOrder)}))
        << "a market order never rests";
    EXPECT_EQ(this->cancel(0, 1), (Events{rejected(0, 1, BookReject::kUnknownOrder)}));
    EXPECT_EQ(this->orders(), before);
}

TYPED_TEST(BookTest, CancelByAnotherOwnerIsRejectedAndChangesNothing) {
    this->rest(1, 1, kSell, 100, 10);
    const auto before = this->orders();
    EXPECT_EQ(this->cancel(1, 2), (Events{rejected(1, 2, BookReject::kNotOwner)}));
    EXPECT_EQ(this->orders(), before);
}

// ---- replace ----

TYPED_TEST(BookTest, ReplaceThatReducesQuantityKeepsTimePriority) {
    this->rest(1, 1, kSell, 100, 10);
    this->rest(2, 2, kSell, 100, 10);
    EXPECT_EQ(this->replace(1, 1, 100, 4), (Events{replaced(1, 1, kSell, 100, 4, true)}));
    EXPECT_EQ(this->book.best(kSell), (Level{Price{100}, Quantity{14}, 2}));
    EXPECT_EQ(this->add(3, 3, kBuy, 100, 6),
              (Events{accepted(3, 3, kBuy, 100, 6), fill(3, 3, kBuy, 1, 1, 100, 4, 2, 0),
                      fill(3, 3, kBuy, 2, 2, 100, 2, 0, 8)}))
        << "order 1 is still first";
}

TYPED_TEST(BookTest, ReplaceToTheSameQuantityAndPriceKeepsTimePriority) {
    this->rest(1, 1, kSell, 100, 10);
    this->rest(2, 2, kSell, 100, 10);
    EXPECT_EQ(this->replace(1, 1, 100, 10), (Events{replaced(1, 1, kSell, 100, 10, true)}));
    EXPECT_EQ(this->orders().front().id, OrderId{1});
}

TYPED_TEST(BookTest, ReplaceThatIncreasesQuantityLosesTimePriority) {
    this->rest(1, 1, kSell, 100, 10);
    this->rest(2, 2, kSell, 100, 10);
    EXPECT_EQ(this->replace(1, 1, 100, 15),
              (Events{replaced(1, 1, kSell, 100, 15, false), rested(1, 1, kSell, 100, 15)}));
    const auto orders = this->orders();
    ASSERT_EQ(orders.size(), 2u);
    EXPECT_EQ(orders[0].id, OrderId{2});
    EXPECT_EQ(orders[1].id, OrderId{1}) << "order 1 moved to the back of its level";
    EXPECT_EQ(orders[1].remaining, Quantity{15});
}

TYPED_TEST(BookTest, ReplaceThatChangesPriceLosesTimePriorityAndKeepsTif) {
    this->rest(1, 1, kSell, 100, 10, TimeInForce::kDay);
    this->rest(2, 2, kSell, 101, 10);
    EXPECT_EQ(this->replace(1, 1, 101, 5),
              (Events{replaced(1, 1, kSell, 101, 5, false), rested(1, 1, kSell, 101, 5)}));
    EXPECT_EQ(this->orders(),
              (std::vector<OrderView>{
                  {OrderId{2}, OwnerId{2}, kSell, TimeInForce::kGtc, Price{101}, Quantity{10}},
                  {OrderId{1}, OwnerId{1}, kSell, TimeInForce::kDay, Price{101}, Quantity{5}},
              }));
    EXPECT_FALSE(this->book.best(kSell)->price == Price{100}) << "nothing is left at 100";
}

TYPED_TEST(BookTest, ReplaceBackToTheOldPriceStillLosesPriority) {
    this->rest(1, 1, kBuy, 100, 10);
    this->rest(2, 2, kBuy, 100, 10);
    this->replace(1, 1, 99, 10);
    this->replace(1, 1, 100, 10);
    EXPECT_EQ(this->orders().front().id, OrderId{2});
}

TYPED_TEST(BookTest, ReplaceThatCrossesTradesAndRestsTheRemainder) {
    this->rest(1, 1, kBuy, 100, 10);
    this->rest(2, 2, kSell, 102, 4);
    this->rest(3, 3, kSell, 103, 4);
    EXPECT_EQ(this->replace(1, 1, 102, 10),
              (Events{replaced(1, 1, kBuy, 102, 10, false), fill(1, 1, kBuy, 2, 2, 102, 4, 6, 0),
                      rested(1, 1, kBuy, 102, 6)}));
    EXPECT_EQ(this->book.best(kBuy), (Level{Price{102}, Quantity{6}, 1}));
    EXPECT_EQ(this->replace(1, 1, 103, 4),
              (Events{replaced(1, 1, kBuy, 103, 4, false), fill(1, 1, kBuy, 3, 3, 103, 4, 0, 0)}))
        << "filled in full by its replace: gone";
    EXPECT_EQ(this->book.order_count(), 0u);
}

TYPED_TEST(BookTest, ReplaceThatCrossesIntoItsOwnersOrderIsCancelledAsSelfTrade) {
    this->rest(1, 1, kBuy, 100, 10);
    this->rest(2, 1, kSell, 102, 10);
    EXPECT_EQ(this->replace(1, 1, 102, 10),
              (Events{replaced(1, 1, kBuy, 102, 10, false),
                      cancelled(1, 1, kBuy, 102, 10, CancelReason::kSelfTrade)}));
    EXPECT_FALSE(this->book.find(OrderId{1}).has_value());
    EXPECT_TRUE(this->book.find(OrderId{2}).has_value()) << "the resting order stays";
}

TYPED_TEST(BookTest, ReplaceRejectionsChangeNothing) {
    this->rest(1, 1, kBuy, 100, 10);
    this->rest(2, 2, kSell, 101, 10);
    const auto before = this->orders();
    EXPECT_EQ(this->replace(9, 1, 100, 5), (Events{rejected(9, 1, BookReject::kUnknownOrder)}));
    EXPECT_EQ(this->replace(1, 2, 100, 5), (Events{rejected(1, 2, BookReject::kNotOwner)}));
    EXPECT_EQ(this->replace(1, 1, 100, 0), (Events{rejected(1, 1, BookReject::kReplaceInvalid)}));
    EXPECT_EQ(this->replace(1, 1, 100, -3), (Events{rejected(1, 1, BookReject::kReplaceInvalid)}));
    EXPECT_EQ(this->replace(1, 1, 100, kQuantityMax + 1),
              (Events{rejected(1, 1, BookReject::kReplaceInvalid)}));
    EXPECT_EQ(this->replace(1, 1, 0, 5), (Events{rejected(1, 1, BookReject::kPriceInvalid)}));
    EXPECT_EQ(this->replace(1, 1, -100, 5), (Events{rejected(1, 1, BookReject::kPriceInvalid)}));
    EXPECT_EQ(this->replace(1, 2, 0, 0), (Events{rejected(1, 2, BookReject::kNotOwner)}))
        << "ownership is checked before the new values";
    EXPECT_EQ(this->orders(), before);
}

// ---- add rejections ----

TYPED_TEST(BookTest, AddRejectionsChangeNothing) {
    this->rest(1, 1, kBuy, 100, 10);
    this->rest(2, 2, kSell, 101, 10);
    const auto before = this->orders();
    EXPECT_EQ(this->add(3, 1, kBuy, 100, 0),
              (Events{rejected(3, 1, BookReject::kQuantityInvalid, kBuy)}));
    EXPECT_EQ(this->add(3, 1, kSell, 100, -1),
              (Events{rejected(3, 1, BookReject::kQuantityInvalid, kSell)}));
    EXPECT_EQ(this->add(3, 1, kSell, 100, kQuantityMax + 1),
              (Events{rejected(3, 1, BookReject::kQuantityInvalid, kSell)}));
    EXPECT_EQ(this->market(3, 1, kSell, 0),
              (Events{rejected(3, 1, BookReject::kQuantityInvalid, kSell)}));
    EXPECT_EQ(this->add(3, 1, kBuy, 0, 10),
              (Events{rejected(3, 1, BookReject::kPriceInvalid, kBuy)}));
    EXPECT_EQ(this->add(3, 1, kBuy, -5, 10, TimeInForce::kIoc),
              (Events{rejected(3, 1, BookReject::kPriceInvalid, kBuy)}));
    EXPECT_EQ(this->add(2, 1, kBuy, 101, 10),
              (Events{rejected(2, 1, BookReject::kDuplicateOrderId, kBuy)}))
        << "id 2 rests (and would have crossed)";
    EXPECT_EQ(this->market(1, 3, kSell, 5),
              (Events{rejected(1, 3, BookReject::kDuplicateOrderId, kSell)}));
    EXPECT_EQ(this->add(2, 1, kBuy, 0, 0),
              (Events{rejected(2, 1, BookReject::kQuantityInvalid, kBuy)}))
        << "quantity is checked first, then price, then the id";
    EXPECT_EQ(this->orders(), before);
}

TYPED_TEST(BookTest, QuantityOfExactlyTheMaximumIsAccepted) {
    this->rest(1, 1, kBuy, 100, kQuantityMax);
    this->rest(2, 2, kBuy, 100, kQuantityMax);
    EXPECT_EQ(this->book.best(kBuy), (Level{Price{100}, Quantity{2 * kQuantityMax}, 2}));
}

TYPED_TEST(BookTest, IdOfAnOrderThatLeftTheBookMayBeUsedAgain) {
    this->rest(1, 1, kBuy, 100, 10);
    this->cancel(1, 1);
    this->rest(1, 1, kSell, 105, 10);
}

TEST(BookFull, FullBookRejectsOrdersThatCouldRestButNotOthers) {
    auto check = [](auto book) {
        Events out;
        for (std::uint64_t id = 1; id <= 3; ++id) {
            book.add(NewOrder{OrderId{id}, OwnerId{1}, kSell, OrderType::kLimit, TimeInForce::kGtc,
                              Price{100 + static_cast<std::int64_t>(id)}, Quantity{10}},
                     out);
        }
        ASSERT_EQ(book.order_count(), 3u);
        const auto before = snapshot(book);
        for (const auto tif : {TimeInForce::kGtc, TimeInForce::kDay}) {
            out.clear();
            book.add(NewOrder{OrderId{10}, OwnerId{2}, kBuy, OrderType::kLimit, tif, Price{101},
                              Quantity{5}},
                     out);
            EXPECT_EQ(out, (Events{rejected(10, 2, BookReject::kBookFull, kBuy)}))
                << "a GTC/Day limit is refused when the book is full, even one that would "
                   "fill at once: the check is made before matching ("
                << tif_name(tif) << ")";
        }
        EXPECT_EQ(snapshot(book), before);

        out.clear();
        book.add(NewOrder{OrderId{11}, OwnerId{2}, kBuy, OrderType::kLimit, TimeInForce::kIoc,
                          Price{101}, Quantity{5}},
                 out);
        EXPECT_EQ(out,
                  (Events{accepted(11, 2, kBuy, 101, 5), fill(11, 2, kBuy, 1, 1, 101, 5, 0, 5)}))
            << "an IOC never rests, so a full book takes it";
        out.clear();
        book.add(NewOrder{OrderId{12}, OwnerId{2}, kBuy, OrderType::kMarket, TimeInForce::kFok,
                          Price{0}, Quantity{5}},
                 out);
        EXPECT_EQ(out,
                  (Events{accepted(12, 2, kBuy, 0, 5), fill(12, 2, kBuy, 1, 1, 101, 5, 0, 0)}));
        out.clear();
        book.add(NewOrder{OrderId{13}, OwnerId{2}, kBuy, OrderType::kLimit, TimeInForce::kGtc,
                          Price{50}, Quantity{5}},
                 out);
        EXPECT_EQ(out, (Events{accepted(13, 2, kBuy, 50, 5), rested(13, 2, kBuy, 50, 5)}))
            << "a fill freed a slot";
        out.clear();
        book.replace(OrderId{13}, OwnerId{2}, Price{51}, Quantity{50}, out);
        EXPECT_EQ(out, (Events{replaced(13, 2, kBuy, 51, 50, false), rested(13, 2, kBuy, 51, 50)}))
            << "a replace in a full book re-enters into its own slot";
    };
    check(OrderBook(3));
    check(ReferenceBook(3));
}

// ---- depth, best, walk ----

TYPED_TEST(BookTest, DepthAggregatesLevelsBestFirst) {
    this->rest(1, 1, kBuy, 100, 10);
    this->rest(2, 2, kBuy, 100, 5);
    this->rest(3, 1, kBuy, 98, 7);
    this->rest(4, 1, kBuy, 99, 1);
    this->rest(5, 1, kSell, 103, 2);
    this->rest(6, 1, kSell, 102, 3);
    EXPECT_EQ(this->book.depth(kBuy, 10), (std::vector<Level>{{Price{100}, Quantity{15}, 2},
                                                              {Price{99}, Quantity{1}, 1},
                                                              {Price{98}, Quantity{7}, 1}}));
    EXPECT_EQ(this->book.depth(kBuy, 2).size(), 2u);
    EXPECT_EQ(this->book.depth(kSell, 10),
              (std::vector<Level>{{Price{102}, Quantity{3}, 1}, {Price{103}, Quantity{2}, 1}}));
    EXPECT_TRUE(this->book.depth(kSell, 0).empty());
    EXPECT_EQ(this->book.best(kSell), (Level{Price{102}, Quantity{3}, 1}));
}

TYPED_TEST(BookTest, EmptyBookHasNoBestNoDepthAndNothingToWalk) {
    EXPECT_FALSE(this->book.best(kBuy).has_value());
    EXPECT_FALSE(this->book.best(kSell).has_value());
    EXPECT_TRUE(this->book.depth(kBuy, 5).empty());
    EXPECT_TRUE(this->walk(kBuy, 1, std::nullopt).empty());
    EXPECT_EQ(this->book.order_count(), 0u);
    EXPECT_TRUE(this->orders().empty());
}

TYPED_TEST(BookTest, WalkReportsReachableLiquidityUpToTheLimit) {
    using Walk = std::vector<std::pair<std::int64_t, std::int64_t>>;
    this->rest(1, 1, kSell, 100, 10);
    this->rest(2, 2, kSell, 100, 5);
    this->rest(3, 1, kSell, 101, 7);
    this->rest(4, 1, kSell, 103, 1);
    EXPECT_EQ(this->walk(kBuy, 9, std::nullopt), (Walk{{100, 15}, {101, 7}, {103, 1}}));
    EXPECT_EQ(this->walk(kBuy, 9, Price{101}), (Walk{{100, 15}, {101, 7}}));
    EXPECT_EQ(this->walk(kBuy, 9, Price{99}), Walk{});
    EXPECT_EQ(this->walk(kBuy, 9, std::nullopt, 1), (Walk{{100, 15}})) << "f returned false";
    EXPECT_EQ(this->walk(kSell, 9, std::nullopt), Walk{}) << "no bids to sell to";
}

TYPED_TEST(BookTest, WalkStopsAtTheOwnersOwnOrder) {
    using Walk = std::vector<std::pair<std::int64_t, std::int64_t>>;
    this->rest(1, 1, kBuy, 100, 10);
    this->rest(2, 2, kBuy, 100, 5);
    this->rest(3, 1, kBuy, 99, 7);
    this->rest(4, 2, kBuy, 98, 1);
    EXPECT_EQ(this->walk(kSell, 2, std::nullopt), (Walk{{100, 10}}));
    EXPECT_EQ(this->walk(kSell, 1, std::nullopt), Walk{}) << "own order first: nothing";
    EXPECT_EQ(this->walk(kSell, 3, Price{99}), (Walk{{100, 15}, {99, 7}}));
}

TYPED_TEST(BookTest, ForEachOrderListsBidsBestFirstThenAsksBestFirst) {
    this->rest(1, 1, kSell, 104, 1);
    this->rest(2, 1, kBuy, 99, 1);
    this->rest(3, 1, kSell, 103, 1);
    this->rest(4, 1, kBuy, 100, 1);
    this->rest(5, 1, kBuy, 100, 2);
    std::vector<std::uint64_t> ids;
    for (const auto& order : this->orders())
        ids.push_back(order.id.value);
    EXPECT_EQ(ids, (std::vector<std::uint64_t>{4, 5, 2, 3, 1}));
}

TYPED_TEST(BookTest, ManyLevelsStaySortedWhenAddedAndCancelledOutOfOrder) {
    // Deep enough that the fast book's search goes past its linear scan.
    std::vector<std::int64_t> prices;
    for (std::int64_t i = 0; i < 60; ++i)
        prices.push_back(1000 + (i * 37) % 60);
    std::uint64_t id = 1;
    for (const auto price : prices) {
        this->rest(id++, 1, kBuy, price, 1);
        this->rest(id++, 1, kSell, price + 100, 1);
    }
    for (std::uint64_t cancel_id = 1; cancel_id < id; cancel_id += 3)
        ASSERT_EQ(this->cancel(cancel_id, 1).size(), 1u);
    const auto bids = this->book.depth(kBuy, 100);
    const auto asks = this->book.depth(kSell, 100);
    for (std::size_t i = 1; i < bids.size(); ++i)
        EXPECT_GT(bids[i - 1].price, bids[i].price);
    for (std::size_t i = 1; i < asks.size(); ++i)
        EXPECT_LT(asks[i - 1].price, asks[i].price);
    EXPECT_EQ(bids.size() + asks.size(), this->book.order_count());
}

TYPED_TEST(BookTest, IdsThatCrowdTheIdMapAreStillFoundAndRemoved) {
    // Ids the fast book's id map handles worst: ids that fold to the same 32-bit tag
    // (i << 32 | i all fold to 0), ids above 2^32 whose tag is a small id's, and ids spaced
    // by powers of two (same low bits, so the same offset in their bucket groups). Fill
    // most of the book, then cancel and re-add in an order that exercises backward-shift
    // deletion inside the crowded runs.
    std::vector<std::uint64_t> ids;
    for (std::uint64_t i = 1; i <= 150; ++i) {
        ids.push_back(i << 32 | i);
        ids.push_back((i + 7) << 32 | 7);
        ids.push_back(i * 1024);
        ids.push_back(i * 65536 + 3);
    }
    const std::int64_t price = 1000;
    for (const auto id : ids)
        this->rest(id, 1, kBuy, price + static_cast<std::int64_t>(id % 7), 1);
    EXPECT_EQ(this->book.order_count(), ids.size());
    for (std::size_t i = 0; i < ids.size(); i += 2)
        ASSERT_EQ(this->cancel(ids[i], 1).size(), 1u) << ids[i];
    for (std::size_t i = 0; i < ids.size(); ++i) {
        const auto view = this->book.find(OrderId{ids[i]});
        EXPECT_EQ(view.has_value(), i % 2 == 1) << ids[i];
    }
    for (std::size_t i = 0; i < ids.size(); i += 2)
        this->rest(ids[i], 2, kBuy, price, 1);
    for (std::size_t i = 1; i < ids.size(); i += 2)
        ASSERT_EQ(this->cancel(ids[i], 1).size(), 1u) << ids[i];
    EXPECT_EQ(this->book.order_count(), ids.size() / 2);
    for (std::size_t i = 0; i < ids.size(); ++i)
        EXPECT_EQ(this->book.find(OrderId{ids[i]}).has_value(), i % 2 == 0) << ids[i];
}

TEST(BookNames, EveryReasonAndRejectHasAStableName) {
    EXPECT_EQ(cancel_reason_name(CancelReason::kSelfTrade), "self_trade");
    EXPECT_EQ(cancel_reason_name(CancelReason::kNoLiquidity), "no_liquidity");
    EXPECT_EQ(book_reject_name(BookReject::kBookFull), "book_full");
    EXPECT_EQ(book_reject_name(BookReject::kReplaceInvalid), "replace_invalid");
    EXPECT_EQ(event_kind_name(EventKind::kReplaced), "replaced");
}

}  // namespace
}  // namespace fxsettle::engine::book
