// Hand-worked netting, crossing and hedging examples and every validation error, run
// against both the fast implementation and the reference (typed tests, STYLE.md).
#include <gtest/gtest.h>

#include <vector>

#include "tests/unit/netting/netting_test_support.h"

namespace fxsettle::engine::netting::test {
namespace {

constexpr CurrencyIndex kUsd = 0;
constexpr CurrencyIndex kCny = 1;

template <typename Impl>
class NettingTyped : public ::testing::Test {};
using Impls = ::testing::Types<Fast, Reference>;
TYPED_TEST_SUITE(NettingTyped, Impls, ImplNames);

template <typename Impl>
NettingResult net_ok(const std::vector<Obligation>& obligations, std::size_t psps,
                     std::size_t banks, std::size_t currencies) {
    auto r = Impl::net(obligations, psps, banks, currencies);
    EXPECT_TRUE(r.has_value()) << r.error().to_string();
    if (!r)
        return {};
    expect_conserved(obligations, *r);
    return std::move(*r);
}

template <typename Impl>
void expect_net_fails(const std::vector<Obligation>& obligations, std::size_t psps,
                      std::size_t banks, std::size_t currencies, StatusCode code,
                      const std::string& message) {
    auto r = Impl::net(obligations, psps, banks, currencies);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), code) << r.error().to_string();
    EXPECT_EQ(r.error().message(), message);
}

// ---- net(): hand-worked cycles -------------------------------------------------------

TYPED_TEST(NettingTyped, ThreePspsPayingInACircleNetToNoPayments) {
    const std::vector<Obligation> o{internal(0, 1, kUsd, 100), internal(1, 2, kUsd, 100),
                                    internal(2, 0, kUsd, 100)};
    const auto r = net_ok<TypeParam>(o, 3, 1, 1);
    EXPECT_TRUE(r.positions.empty());
    EXPECT_TRUE(r.payments.empty());
    EXPECT_TRUE(r.orders.empty());
    ASSERT_EQ(r.figures.size(), 1u);
    EXPECT_EQ(r.figures[0].currency, kUsd);
    EXPECT_EQ(r.figures[0].gross, minor(300));
    EXPECT_EQ(r.figures[0].net, minor(0));
    EXPECT_EQ(r.figures[0].payments_before, 3u);
    EXPECT_EQ(r.figures[0].payments_after, 0u);
    EXPECT_EQ(r.figures[0].liquidity_saving_ppm, 1'000'000u);
}

TYPED_TEST(NettingTyped, UnevenCircleLeavesOneDebtorAndTwoCreditors) {
    // A pays B 100, B pays C 60, C pays A 30: A -70, B +40, C +30.
    const std::vector<Obligation> o{internal(0, 1, kUsd, 100), internal(1, 2, kUsd, 60),
                                    internal(2, 0, kUsd, 30)};
    const auto r = net_ok<TypeParam>(o, 3, 1, 1);
    ASSERT_EQ(r.positions.size(), 3u);
    EXPECT_EQ(r.positions[0].net, minor(-70));
    EXPECT_EQ(r.positions[1].net, minor(40));
    EXPECT_EQ(r.positions[2].net, minor(30));
    ASSERT_EQ(r.payments.size(), 3u);
    EXPECT_EQ(r.payments[0].psp, 0u);
    EXPECT_EQ(r.payments[0].direction, PaymentDirection::kPayIn);
    EXPECT_EQ(r.payments[0].amount, minor(70));
    EXPECT_EQ(r.payments[1].direction, PaymentDirection::kPayOut);
    EXPECT_EQ(r.payments[1].amount, minor(40));
    EXPECT_EQ(r.payments[2].direction, PaymentDirection::kPayOut);
    EXPECT_EQ(r.payments[2].amount, minor(30));
    ASSERT_EQ(r.figures.size(), 1u);
    EXPECT_EQ(r.figures[0].gross, minor(190));
    EXPECT_EQ(r.figures[0].net, minor(70));
    EXPECT_EQ(r.figures[0].payments_before, 3u);
    EXPECT_EQ(r.figures[0].payments_after, 3u);
    EXPECT_EQ(r.figures[0].liquidity_saving_ppm, 631'578u);  // 120/190 = 0.6315789...
}

TYPED_TEST(NettingTyped, OnePayerToManyExternalsThroughTwoBanks) {
    const std::vector<Obligation> o{external(0, 0, kCny, 10, 1000), external(0, 1, kCny, 30, 1001),
                                    external(0, 0, kCny, 20, 1002), external(0, 1, kCny, 40, 1003),
                                    external(0, 0, kCny, 5, 1004)};
    const auto r = net_ok<TypeParam>(o, 1, 2, 2);
    ASSERT_EQ(r.positions.size(), 1u);
    EXPECT_EQ(r.positions[0].psp, 0u);
    EXPECT_EQ(r.positions[0].currency, kCny);
    EXPECT_EQ(r.positions[0].net, minor(-105));
    ASSERT_EQ(r.payments.size(), 1u);
    EXPECT_EQ(r.payments[0].direction, PaymentDirection::kPayIn);
    EXPECT_EQ(r.payments[0].amount, minor(105));
    ASSERT_EQ(r.orders.size(), 2u);
    EXPECT_EQ(r.orders[0].bank, 0u);
    EXPECT_EQ(r.orders[0].currency, kCny);
    EXPECT_EQ(r.orders[0].total, minor(35));
    EXPECT_EQ(r.orders[0].lines, (std::vector<std::uint32_t>{0, 2, 4}));
    EXPECT_EQ(r.orders[1].bank, 1u);
    EXPECT_EQ(r.orders[1].total, minor(70));
    EXPECT_EQ(r.orders[1].lines, (std::vector<std::uint32_t>{1, 3}));
    ASSERT_EQ(r.figures.size(), 1u);
    EXPECT_EQ(r.figures[0].currency, kCny);
    EXPECT_EQ(r.figures[0].gross, minor(105));
    EXPECT_EQ(r.figures[0].net, minor(105));
    EXPECT_EQ(r.figures[0].payments_before, 5u);
    EXPECT_EQ(r.figures[0].payments_after, 3u);  // one pay-in, two payment orders
    EXPECT_EQ(r.figures[0].liquidity_saving_ppm, 0u);
}

TYPED_TEST(NettingTyped, TradeLegsAndPayoutsInTwoCurrencies) {
    // A sells 1000 USD to B for 7100 CNY; A pays 7100 CNY out through bank 0, B pays 1000
    // USD out through bank 1. Each PSP ends up paying in what its payout costs.
    const std::vector<Obligation> o{internal(0, 1, kUsd, 1000), internal(1, 0, kCny, 7100),
                                    external(0, 0, kCny, 7100), external(1, 1, kUsd, 1000)};
    const auto r = net_ok<TypeParam>(o, 2, 2, 2);
    ASSERT_EQ(r.positions.size(), 2u);
    EXPECT_EQ(r.positions[0].currency, kUsd);
    EXPECT_EQ(r.positions[0].psp, 0u);
    EXPECT_EQ(r.positions[0].net, minor(-1000));
    EXPECT_EQ(r.positions[1].currency, kCny);
    EXPECT_EQ(r.positions[1].psp, 1u);
    EXPECT_EQ(r.positions[1].net, minor(-7100));
    ASSERT_EQ(r.orders.size(), 2u);
    EXPECT_EQ(r.orders[0].currency, kUsd);
    EXPECT_EQ(r.orders[0].bank, 1u);
    EXPECT_EQ(r.orders[0].lines, (std::vector<std::uint32_t>{3}));
    EXPECT_EQ(r.orders[1].currency, kCny);
    EXPECT_EQ(r.orders[1].bank, 0u);
    EXPECT_EQ(r.orders[1].lines, (std::vector<std::uint32_t>{2}));
    ASSERT_EQ(r.figures.size(), 2u);
    EXPECT_EQ(r.figures[0].gross, minor(2000));
    EXPECT_EQ(r.figures[0].net, minor(1000));
    EXPECT_EQ(r.figures[0].liquidity_saving_ppm, 500'000u);
    EXPECT_EQ(r.figures[1].gross, minor(14200));
    EXPECT_EQ(r.figures[1].net, minor(7100));
    EXPECT_EQ(r.figures[1].payments_before, 2u);
    EXPECT_EQ(r.figures[1].payments_after, 2u);
}

TYPED_TEST(NettingTyped, CreditorIsPaidOutWhatOthersOweIt) {
    // Two PSPs pay a third; the third pays one external beneficiary less than it receives.
    const std::vector<Obligation> o{internal(0, 2, kUsd, 500), internal(1, 2, kUsd, 300),
                                    external(2, 0, kUsd, 200)};
    const auto r = net_ok<TypeParam>(o, 3, 1, 1);
    ASSERT_EQ(r.payments.size(), 3u);
    EXPECT_EQ(r.payments[0].direction, PaymentDirection::kPayIn);
    EXPECT_EQ(r.payments[0].amount, minor(500));
    EXPECT_EQ(r.payments[1].direction, PaymentDirection::kPayIn);
    EXPECT_EQ(r.payments[1].amount, minor(300));
    EXPECT_EQ(r.payments[2].psp, 2u);
    EXPECT_EQ(r.payments[2].direction, PaymentDirection::kPayOut);
    EXPECT_EQ(r.payments[2].amount, minor(600));
    ASSERT_EQ(r.orders.size(), 1u);
    EXPECT_EQ(r.orders[0].total, minor(200));
    EXPECT_EQ(r.figures[0].net, minor(800));
    EXPECT_EQ(r.figures[0].gross, minor(1000));
    EXPECT_EQ(r.figures[0].payments_after, 4u);
    EXPECT_EQ(r.figures[0].liquidity_saving_ppm, 200'000u);
}

TYPED_TEST(NettingTyped, NothingToNet) {
    const auto r = net_ok<TypeParam>({}, 0, 0, 0);
    EXPECT_TRUE(r.positions.empty());
    EXPECT_TRUE(r.payments.empty());
    EXPECT_TRUE(r.orders.empty());
    EXPECT_TRUE(r.figures.empty());
}

TYPED_TEST(NettingTyped, FiguresOnlyForCurrenciesWithObligationsInIndexOrder) {
    const std::vector<Obligation> o{external(0, 0, 4, 10), external(0, 0, 2, 10),
                                    internal(1, 0, 4, 10)};
    const auto r = net_ok<TypeParam>(o, 2, 1, 6);
    ASSERT_EQ(r.figures.size(), 2u);
    EXPECT_EQ(r.figures[0].currency, 2u);
    EXPECT_EQ(r.figures[1].currency, 4u);
    EXPECT_EQ(r.figures[1].payments_before, 2u);
    ASSERT_EQ(r.positions.size(), 2u);  // currency 4: PSP 0 nets to zero
    EXPECT_EQ(r.positions[0].currency, 2u);
    EXPECT_EQ(r.positions[1].currency, 4u);
    EXPECT_EQ(r.positions[1].psp, 1u);
}

TYPED_TEST(NettingTyped, InternalObligationIgnoresItsBank) {
    const std::vector<Obligation> o{[] {
        auto x = internal(0, 1, kUsd, 10);
        x.bank = 999;
        return x;
    }()};
    const auto r = net_ok<TypeParam>(o, 2, 1, 1);
    EXPECT_EQ(r.positions.size(), 2u);
    EXPECT_TRUE(r.orders.empty());
}

TYPED_TEST(NettingTyped, AmountsUpToTheFullRange) {
    // A currency's gross may reach Amount::max() exactly.
    const Amount max = Amount::max();
    std::vector<Obligation> o{external(0, 0, kUsd, 0), internal(1, 0, kCny, 0)};
    o[0].amount = max;
    o[1].amount = max;
    const auto r = net_ok<TypeParam>(o, 2, 1, 2);
    ASSERT_EQ(r.positions.size(), 3u);
    EXPECT_EQ(r.positions[0].net, -max);
    EXPECT_EQ(r.positions[1].net, max);
    EXPECT_EQ(r.positions[2].net, -max);
    EXPECT_EQ(r.figures[0].net, max);
    EXPECT_EQ(r.figures[1].net, max);
    EXPECT_EQ(r.figures[1].liquidity_saving_ppm, 0u);
}

TYPED_TEST(NettingTyped, GrossBeyondTheAmountRangeFails) {
    std::vector<Obligation> o{internal(0, 1, kUsd, 0), internal(1, 0, kUsd, 1)};
    o[0].amount = Amount::max();
    expect_net_fails<TypeParam>(o, 2, 1, 1, StatusCode::kOutOfRange,
                                "obligation 1: the gross of currency 0 exceeds the Amount range");
}

// ---- net(): every validation error ---------------------------------------------------

TYPED_TEST(NettingTyped, RejectsPayerOutOfRange) {
    expect_net_fails<TypeParam>({internal(0, 1, kUsd, 5), internal(3, 1, kUsd, 5)}, 3, 1, 1,
                                StatusCode::kInvalidArgument,
                                "obligation 1: payer 3 is out of range (3 PSPs)");
}

TYPED_TEST(NettingTyped, RejectsPayeeOutOfRange) {
    expect_net_fails<TypeParam>({internal(0, 7, kUsd, 5)}, 3, 1, 1, StatusCode::kInvalidArgument,
                                "obligation 0: payee 7 is out of range (3 PSPs)");
}

TYPED_TEST(NettingTyped, RejectsPayerPayingItself) {
    expect_net_fails<TypeParam>({internal(2, 2, kUsd, 5)}, 3, 1, 1, StatusCode::kInvalidArgument,
                                "obligation 0: payer 2 pays itself");
}

TYPED_TEST(NettingTyped, RejectsBankOutOfRange) {
    expect_net_fails<TypeParam>({external(0, 0, kUsd, 5), external(0, 2, kUsd, 5)}, 1, 2, 1,
                                StatusCode::kInvalidArgument,
                                "obligation 1: bank 2 is out of range (2 banks)");
}

TYPED_TEST(NettingTyped, RejectsCurrencyOutOfRange) {
    expect_net_fails<TypeParam>({external(0, 0, 2, 5)}, 1, 1, 2, StatusCode::kInvalidArgument,
                                "obligation 0: currency 2 is out of range (2 currencies)");
}

TYPED_TEST(NettingTyped, RejectsZeroAndNegativeAmounts) {
    expect_net_fails<TypeParam>({internal(0, 1, kUsd, 0)}, 2, 1, 1, StatusCode::kInvalidArgument,
                                "obligation 0: amount 0 is not positive");
    expect_net_fails<TypeParam>({internal(0, 1, kUsd, 1), external(0, 0, kUsd, -4)}, 2, 1, 1,
                                StatusCode::kInvalidArgument,
                                "obligation 1: amount -4 is not positive");
}

TYPED_TEST(NettingTyped, ReportsTheFirstBadObligationAndItsFirstProblem) {
    // Obligation 1 has a bad currency and a bad amount: the currency is named; obligation
    // 2's bad payer comes later.
    expect_net_fails<TypeParam>(
        {internal(0, 1, kUsd, 1), internal(0, 1, 9, -1), internal(9, 1, kUsd, 1)}, 2, 1, 1,
        StatusCode::kInvalidArgument, "obligation 1: currency 9 is out of range (1 currencies)");
}

TYPED_TEST(NettingTyped, RejectsCountsBeyondTheBounds) {
    expect_net_fails<TypeParam>({}, kPspsMax + 1, 1, 1, StatusCode::kOutOfRange,
                                "psp_count 65537 exceeds kPspsMax (65536)");
    expect_net_fails<TypeParam>({}, 1, kBanksMax + 1, 1, StatusCode::kOutOfRange,
                                "bank_count 1025 exceeds kBanksMax (1024)");
    expect_net_fails<TypeParam>({}, 1, 1, kCurrenciesMax + 1, StatusCode::kOutOfRange,
                                "currency_count 257 exceeds kCurrenciesMax (256)");
}

TYPED_TEST(NettingTyped, CountsAtTheBoundsAreAccepted) {
    const auto r = net_ok<TypeParam>({external(kPspsMax - 1, kBanksMax - 1, kCurrenciesMax - 1, 3)},
                                     kPspsMax, kBanksMax, kCurrenciesMax);
    ASSERT_EQ(r.orders.size(), 1u);
    EXPECT_EQ(r.orders[0].bank, kBanksMax - 1);
    EXPECT_EQ(r.positions[0].psp, kPspsMax - 1);
}

// ---- cross() -------------------------------------------------------------------------

ConversionNeed need(PspIndex psp, PairIndex pair, bool buy_base, std::int64_t amount) {
    return ConversionNeed{psp, pair, buy_base, minor(amount)};
}

TYPED_TEST(NettingTyped, CrossMatchesTheSmallerSideAndLeavesASignedResidual) {
    const std::vector<ConversionNeed> needs{need(0, 0, true, 100), need(1, 0, false, 120),
                                            need(2, 2, false, 80), need(3, 0, true, 50),
                                            need(0, 3, true, 40),  need(1, 3, false, 40)};
    auto r = TypeParam::cross(needs, 4);
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    ASSERT_EQ(r->size(), 3u);  // pair 1 has no need
    const PairCross& p0 = (*r)[0];
    EXPECT_EQ(p0.pair, 0u);
    EXPECT_EQ(p0.bought_base, minor(150));
    EXPECT_EQ(p0.sold_base, minor(120));
    EXPECT_EQ(p0.crossed_base, minor(120));
    EXPECT_EQ(p0.residual_base, minor(30));  // the engine buys 30 from venues
    const PairCross& p2 = (*r)[1];
    EXPECT_EQ(p2.pair, 2u);
    EXPECT_EQ(p2.bought_base, minor(0));
    EXPECT_EQ(p2.sold_base, minor(80));
    EXPECT_EQ(p2.crossed_base, minor(0));
    EXPECT_EQ(p2.residual_base, minor(-80));  // the engine sells 80
    const PairCross& p3 = (*r)[2];
    EXPECT_EQ(p3.crossed_base, minor(40));
    EXPECT_TRUE(p3.residual_base.is_zero());
}

TYPED_TEST(NettingTyped, CrossOfNothingIsEmpty) {
    auto r = TypeParam::cross({}, 0);
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->empty());
}

TYPED_TEST(NettingTyped, CrossRejectsBadNeeds) {
    auto r =
        TypeParam::cross(std::vector<ConversionNeed>{need(0, 0, true, 1), need(0, 2, true, 1)}, 2);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.error().message(), "need 1: pair 2 is out of range (2 pairs)");
    r = TypeParam::cross(std::vector<ConversionNeed>{need(0, 0, false, 0)}, 1);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().message(), "need 0: amount 0 is not positive");
    r = TypeParam::cross(std::vector<ConversionNeed>{need(0, 0, false, -3)}, 1);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().message(), "need 0: amount -3 is not positive");
    r = TypeParam::cross({}, kPairsMax + 1);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), StatusCode::kOutOfRange);
    EXPECT_EQ(r.error().message(), "pair_count 4097 exceeds kPairsMax (4096)");
    std::vector<ConversionNeed> big{need(0, 0, true, 1), need(1, 0, true, 1)};
    big[0].base_amount = Amount::max();
    r = TypeParam::cross(big, 1);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), StatusCode::kOutOfRange);
    EXPECT_EQ(r.error().message(), "need 1: the bought total of pair 0 exceeds the Amount range");
}

// ---- plan_hedge() --------------------------------------------------------------------

VenueQuote quote(VenueIndex venue, PairIndex pair, std::string_view bid, std::string_view ask,
                 std::int64_t bid_size, std::int64_t ask_size,
                 std::string_view currency_pair = "USD/CNY") {
    return VenueQuote{
        venue,           pair,           rate(currency_pair, bid), rate(currency_pair, ask),
        minor(bid_size), minor(ask_size)};
}

void expect_slice(const HedgeSlice& s, VenueIndex venue, bool buy, std::int64_t amount,
                  std::string_view price) {
    EXPECT_EQ(s.venue, venue);
    EXPECT_EQ(s.buy_base, buy);
    EXPECT_EQ(s.base_amount, minor(amount));
    EXPECT_EQ(s.price, rate("USD/CNY", price));
}

TYPED_TEST(NettingTyped, HedgeBuysTheLowestAsksFirstAndSplitsAcrossVenues) {
    const std::vector<VenueQuote> q{quote(0, 0, "7.10", "7.12", 500, 100),
                                    quote(1, 0, "7.09", "7.11", 500, 100),
                                    quote(2, 0, "7.08", "7.13", 500, 1000)};
    auto r = TypeParam::plan_hedge(0, minor(250), q);
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    ASSERT_EQ(r->slices.size(), 3u);
    expect_slice(r->slices[0], 1, true, 100, "7.11");
    expect_slice(r->slices[1], 0, true, 100, "7.12");
    expect_slice(r->slices[2], 2, true, 50, "7.13");
    EXPECT_TRUE(r->unhedged_base.is_zero());
    for (const auto& s : r->slices)
        EXPECT_EQ(s.pair, 0u);
}

TYPED_TEST(NettingTyped, HedgeSellsToTheHighestBidsFirst) {
    const std::vector<VenueQuote> q{quote(0, 0, "7.09", "7.12", 100, 100),
                                    quote(1, 0, "7.10", "7.11", 100, 100)};
    auto r = TypeParam::plan_hedge(0, minor(-150), q);
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->slices.size(), 2u);
    expect_slice(r->slices[0], 1, false, 100, "7.10");
    expect_slice(r->slices[1], 0, false, 50, "7.09");
    EXPECT_TRUE(r->unhedged_base.is_zero());
}

TYPED_TEST(NettingTyped, HedgeOnOneVenueWhenItsSizeIsEnough) {
    const std::vector<VenueQuote> q{quote(0, 0, "7.09", "7.12", 100, 100),
                                    quote(1, 0, "7.10", "7.11", 100, 1000)};
    auto r = TypeParam::plan_hedge(0, minor(700), q);
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->slices.size(), 1u);
    expect_slice(r->slices[0], 1, true, 700, "7.11");
}

TYPED_TEST(NettingTyped, HedgeLeavesWhatTheSizesCannotCoverUnhedged) {
    const std::vector<VenueQuote> q{quote(0, 0, "7.09", "7.12", 100, 100),
                                    quote(1, 0, "7.10", "7.11", 0, 200)};
    auto r = TypeParam::plan_hedge(0, minor(500), q);
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->slices.size(), 2u);
    EXPECT_EQ(r->unhedged_base, minor(200));
    // Selling: venue 1 bids nothing, so only venue 0's 100 is taken.
    r = TypeParam::plan_hedge(0, minor(-500), q);
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->slices.size(), 1u);
    expect_slice(r->slices[0], 0, false, 100, "7.09");
    EXPECT_EQ(r->unhedged_base, minor(400));
    // No quotes at all: everything is unhedged.
    r = TypeParam::plan_hedge(0, minor(-500), {});
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->slices.empty());
    EXPECT_EQ(r->unhedged_base, minor(500));
}

TYPED_TEST(NettingTyped, HedgeTiesGoToTheLowerVenueIndex) {
    const std::vector<VenueQuote> q{quote(3, 0, "7.10", "7.11", 100, 100),
                                    quote(1, 0, "7.10", "7.11", 100, 100),
                                    quote(2, 0, "7.10", "7.11", 100, 100)};
    auto r = TypeParam::plan_hedge(0, minor(250), q);
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->slices.size(), 3u);
    EXPECT_EQ(r->slices[0].venue, 1u);
    EXPECT_EQ(r->slices[1].venue, 2u);
    EXPECT_EQ(r->slices[2].venue, 3u);
    EXPECT_EQ(r->slices[2].base_amount, minor(50));
    r = TypeParam::plan_hedge(0, minor(-150), q);
    ASSERT_TRUE(r.has_value());
    ASSERT_EQ(r->slices.size(), 2u);
    EXPECT_EQ(r->slices[0].venue, 1u);
    EXPECT_EQ(r->slices[1].venue, 2u);
}

TYPED_TEST(NettingTyped, HedgeIgnoresQuotesOfOtherPairs) {
    // Pair 1's quote is better and even malformed (negative size): it is not looked at.
    const std::vector<VenueQuote> q{quote(0, 1, "7.50", "7.00", -5, 1000),
                                    quote(1, 0, "7.10", "7.11", 100, 100),
                                    quote(2, 1, "150.0", "150.1", 1000, 1000, "USD/JPY")};
    auto r = TypeParam::plan_hedge(0, minor(60), q);
    ASSERT_TRUE(r.has_value()) << r.error().to_string();
    ASSERT_EQ(r->slices.size(), 1u);
    expect_slice(r->slices[0], 1, true, 60, "7.11");
}

TYPED_TEST(NettingTyped, HedgeOfAZeroResidualIsEmpty) {
    const std::vector<VenueQuote> q{quote(0, 0, "7.10", "7.11", 100, 100)};
    auto r = TypeParam::plan_hedge(0, minor(0), q);
    ASSERT_TRUE(r.has_value());
    EXPECT_TRUE(r->slices.empty());
    EXPECT_TRUE(r->unhedged_base.is_zero());
}

TYPED_TEST(NettingTyped, HedgeRejectsMalformedQuotesOfItsPair) {
    std::vector<VenueQuote> q{quote(0, 0, "7.10", "7.11", 100, -1)};
    auto r = TypeParam::plan_hedge(0, minor(10), q);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.error().message(), "quote 0: a negative size (bid 100, ask -1)");

    q = {quote(0, 0, "7.10", "7.11", 100, 100), quote(1, 0, "7.10", "7.11", 100, 100)};
    q[1].ask = rate("USD/HKD", "7.11");
    r = TypeParam::plan_hedge(0, minor(10), q);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().message(), "quote 1: bid on USD/CNY but ask on USD/HKD");

    q = {quote(0, 0, "7.10", "7.11", 100, 100), quote(1, 0, "7.10", "7.11", 100, 100, "USD/HKD")};
    r = TypeParam::plan_hedge(0, minor(10), q);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().message(),
              "quote 1: on USD/HKD but an earlier quote of pair 0 is on USD/CNY");

    q.assign(kQuotesMax + 1, quote(0, 0, "7.10", "7.11", 100, 100));
    r = TypeParam::plan_hedge(0, minor(10), q);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), StatusCode::kOutOfRange);
    EXPECT_EQ(r.error().message(), "quotes 65537 exceeds kQuotesMax (65536)");
}

// ---- hedge_cost_against_mid() --------------------------------------------------------

HedgeSlice fill(std::string_view pair, std::string_view price, std::int64_t amount,
                bool buy = true) {
    return HedgeSlice{0, 0, buy, minor(amount), rate(pair, price)};
}

template <typename Impl>
Amount cost_ok(const std::vector<HedgeSlice>& fills, const money::Rate& mid) {
    auto r = Impl::hedge_cost_against_mid(fills, mid);
    EXPECT_TRUE(r.has_value()) << r.error().to_string();
    return r ? *r : Amount();
}

TYPED_TEST(NettingTyped, HedgeCostUsdToJpyExponentsTwoToZero) {
    // 1000.00 USD bought 0.05 above mid: 50 JPY.
    EXPECT_EQ(cost_ok<TypeParam>({fill("USD/JPY", "150.05", 100'000)}, rate("USD/JPY", "150.00")),
              minor(50));
    // Sold 0.10 below mid too: |price - mid| counts both ways.
    EXPECT_EQ(cost_ok<TypeParam>(
                  {fill("USD/JPY", "150.05", 100'000), fill("USD/JPY", "149.90", 100'000, false)},
                  rate("USD/JPY", "150.00")),
              minor(150));
}

TYPED_TEST(NettingTyped, HedgeCostJpyToUsdExponentsZeroToTwo) {
    // 1,000,000 JPY at 0.006700 against mid 0.006667: 33.00 USD = 3300 cents.
    EXPECT_EQ(
        cost_ok<TypeParam>({fill("JPY/USD", "0.0067", 1'000'000)}, rate("JPY/USD", "0.006667")),
        minor(3300));
}

TYPED_TEST(NettingTyped, HedgeCostUsdToKwdExponentsTwoToThree) {
    // 100.00 USD at 0.3075 against 0.3070: 0.050 KWD = 50 fils.
    EXPECT_EQ(cost_ok<TypeParam>({fill("USD/KWD", "0.3075", 10'000)}, rate("USD/KWD", "0.307")),
              minor(50));
}

TYPED_TEST(NettingTyped, HedgeCostKwdToJpyExponentsThreeToZero) {
    // 2.000 KWD at 490.5 against 488.0: 5 JPY.
    EXPECT_EQ(cost_ok<TypeParam>({fill("KWD/JPY", "490.5", 2'000)}, rate("KWD/JPY", "488")),
              minor(5));
    // 0.001 KWD at 490.5 against 488.0: 0.0025 JPY rounds to 0.
    EXPECT_EQ(cost_ok<TypeParam>({fill("KWD/JPY", "490.5", 1)}, rate("KWD/JPY", "488")), minor(0));
}

TYPED_TEST(NettingTyped, HedgeCostRoundsOnceHalfToEven) {
    const auto mid = rate("USD/JPY", "150");
    // 100.00 USD at 0.005 over mid: 0.5 JPY, half to even: 0.
    EXPECT_EQ(cost_ok<TypeParam>({fill("USD/JPY", "150.005", 10'000)}, mid), minor(0));
    // 300.00 USD: 1.5 -> 2; 500.00 USD: 2.5 -> 2.
    EXPECT_EQ(cost_ok<TypeParam>({fill("USD/JPY", "150.005", 30'000)}, mid), minor(2));
    EXPECT_EQ(cost_ok<TypeParam>({fill("USD/JPY", "150.005", 50'000)}, mid), minor(2));
    // Two fills of 0.5 each: the exact sum 1.0 is rounded once, to 1 (not 0 + 0).
    EXPECT_EQ(
        cost_ok<TypeParam>(
            {fill("USD/JPY", "150.005", 10'000), fill("USD/JPY", "149.995", 10'000, false)}, mid),
        minor(1));
    // Nothing filled costs nothing, and a fill at mid costs nothing.
    EXPECT_EQ(cost_ok<TypeParam>({}, mid), minor(0));
    EXPECT_EQ(cost_ok<TypeParam>({fill("USD/JPY", "150", 10'000)}, mid), minor(0));
}

TYPED_TEST(NettingTyped, HedgeCostRejectsBadFills) {
    const auto mid = rate("USD/JPY", "150");
    auto r = TypeParam::hedge_cost_against_mid(
        std::vector<HedgeSlice>{fill("USD/JPY", "150.1", 5), fill("USD/CNY", "7.1", 5)}, mid);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.error().message(), "fill 1: price on USD/CNY but mid on USD/JPY");
    r = TypeParam::hedge_cost_against_mid(std::vector<HedgeSlice>{fill("USD/JPY", "150.1", 0)},
                                          mid);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().message(), "fill 0: amount 0 is not positive");
    std::vector<HedgeSlice> many(kFillsMax + 1, fill("USD/JPY", "150.1", 5));
    r = TypeParam::hedge_cost_against_mid(many, mid);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), StatusCode::kOutOfRange);
    EXPECT_EQ(r.error().message(), "fills 65537 exceeds kFillsMax (65536)");
    // A cost beyond the Amount range.
    std::vector<HedgeSlice> huge{fill("USD/JPY", "150.1", 1)};
    huge[0].base_amount = Amount::max();
    huge[0].price = rate("USD/JPY", "1000000000");
    r = TypeParam::hedge_cost_against_mid(huge, mid);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), StatusCode::kOutOfRange);
}

// ---- the reference's minimum ---------------------------------------------------------

TEST(NettingReference, MinimumPaymentsCountsNonZeroPositionsAndBanksPerCurrency) {
    const std::vector<Obligation> o{internal(0, 1, kUsd, 100), internal(1, 2, kUsd, 100),
                                    internal(2, 0, kUsd, 100), external(0, 0, kCny, 10),
                                    external(1, 0, kCny, 10),  external(1, 1, kCny, 10)};
    auto m = reference::minimum_payments(o, 3, 2, 2);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(m->per_currency.at(kUsd), 0u);  // the circle needs no payment
    EXPECT_EQ(m->per_currency.at(kCny), 4u);  // two pay-ins, two banks
    EXPECT_EQ(m->total, 4u);
}

}  // namespace
}  // namespace fxsettle::engine::netting::test
