// Hand-picked conversion vectors: every rounding mode on positive and negative ties and
// non-ties, the residue, exponent differences both ways, the 128-bit edge.
#include <gtest/gtest.h>

#include "engine/money/rate.h"
#include "tests/unit/money/money_test_support.h"

namespace fxsettle::money {
namespace {

using testing::failed_with;
using testing::must_find;
using testing::synthetic;

constexpr RoundingMode kAllModes[] = {RoundingMode::kHalfEven, RoundingMode::kHalfUp,
                                      RoundingMode::kUp, RoundingMode::kDown,
                                      RoundingMode::kTowardZero};

Rate rate(const char* pair_text, const char* rate_text) {
    return Rate::parse(parse_pair(pair_text).value(), rate_text).value();
}

Money money(const char* text, const char* code) {
    return parse_money(text, code).value();
}

struct Expected {
    const char* converted;  // in major units of the quote currency
    const char* residue;    // in 10^-18 quote minor units
};

// Converts and compares the formatted result and the residue with `expected`.
::testing::AssertionResult converts(const Money& from, const Rate& r, RoundingMode mode,
                                    Expected expected) {
    const auto result = convert(from, r, mode);
    if (!result) {
        return ::testing::AssertionFailure() << "failed: " << result.error().to_string();
    }
    const std::string converted = format_amount(result->converted.amount, r.pair().quote);
    const std::string residue = to_decimal_string(result->residue);
    if (converted != expected.converted || residue != expected.residue ||
        result->converted.currency != r.pair().quote) {
        return ::testing::AssertionFailure()
               << format_money(from) << " at " << r.pair().to_string() << " " << r.to_string()
               << " (" << rounding_mode_name(mode) << "): want " << expected.converted
               << " residue " << expected.residue << ", got " << format_money(result->converted)
               << " residue " << residue;
    }
    return ::testing::AssertionSuccess();
}

TEST(MoneyConvert, ExactConversionHasZeroResidueInEveryMode) {
    for (const auto mode : kAllModes) {
        EXPECT_TRUE(
            converts(money("100.00", "EUR"), rate("EUR/USD", "1.085"), mode, {"108.50", "0"}));
        EXPECT_TRUE(
            converts(money("-100.00", "EUR"), rate("EUR/USD", "1.085"), mode, {"-108.50", "0"}));
        EXPECT_TRUE(converts(money("0", "EUR"), rate("EUR/USD", "1.085"), mode, {"0.00", "0"}));
    }
}

TEST(MoneyConvert, PositiveTieWithEvenLowerNeighbourInEveryMode) {
    // 1.00 USD at 150.5 = 150.5 JPY exactly: a tie between 150 (even) and 151.
    const Money from = money("1.00", "USD");
    const Rate r = rate("USD/JPY", "150.5");
    const char* half = "500000000000000000";
    const char* minus_half = "-500000000000000000";
    EXPECT_TRUE(converts(from, r, RoundingMode::kHalfEven, {"150", half}));
    EXPECT_TRUE(converts(from, r, RoundingMode::kHalfUp, {"151", minus_half}));
    EXPECT_TRUE(converts(from, r, RoundingMode::kUp, {"151", minus_half}));
    EXPECT_TRUE(converts(from, r, RoundingMode::kDown, {"150", half}));
    EXPECT_TRUE(converts(from, r, RoundingMode::kTowardZero, {"150", half}));
}

TEST(MoneyConvert, PositiveTieWithOddLowerNeighbourInEveryMode) {
    // 1.00 USD at 151.5 = 151.5 JPY: half-even now goes up to 152.
    const Money from = money("1.00", "USD");
    const Rate r = rate("USD/JPY", "151.5");
    EXPECT_TRUE(converts(from, r, RoundingMode::kHalfEven, {"152", "-500000000000000000"}));
    EXPECT_TRUE(converts(from, r, RoundingMode::kHalfUp, {"152", "-500000000000000000"}));
    EXPECT_TRUE(converts(from, r, RoundingMode::kUp, {"152", "-500000000000000000"}));
    EXPECT_TRUE(converts(from, r, RoundingMode::kDown, {"151", "500000000000000000"}));
    EXPECT_TRUE(converts(from, r, RoundingMode::kTowardZero, {"151", "500000000000000000"}));
}

TEST(MoneyConvert, NegativeTiesInEveryMode) {
    // -150.5: half-even -150, half-up (away from zero) -151, up (ceiling) -150,
    // down (floor) -151, toward zero -150. The residue is exact - converted.
    const Money from = money("-1.00", "USD");
    const Rate even = rate("USD/JPY", "150.5");
    EXPECT_TRUE(converts(from, even, RoundingMode::kHalfEven, {"-150", "-500000000000000000"}));
    EXPECT_TRUE(converts(from, even, RoundingMode::kHalfUp, {"-151", "500000000000000000"}));
    EXPECT_TRUE(converts(from, even, RoundingMode::kUp, {"-150", "-500000000000000000"}));
    EXPECT_TRUE(converts(from, even, RoundingMode::kDown, {"-151", "500000000000000000"}));
    EXPECT_TRUE(converts(from, even, RoundingMode::kTowardZero, {"-150", "-500000000000000000"}));
    // -151.5: half-even goes to -152.
    const Rate odd = rate("USD/JPY", "151.5");
    EXPECT_TRUE(converts(from, odd, RoundingMode::kHalfEven, {"-152", "500000000000000000"}));
    EXPECT_TRUE(converts(from, odd, RoundingMode::kHalfUp, {"-152", "500000000000000000"}));
    EXPECT_TRUE(converts(from, odd, RoundingMode::kUp, {"-151", "-500000000000000000"}));
    EXPECT_TRUE(converts(from, odd, RoundingMode::kDown, {"-152", "500000000000000000"}));
    EXPECT_TRUE(converts(from, odd, RoundingMode::kTowardZero, {"-151", "-500000000000000000"}));
}

TEST(MoneyConvert, NonTiesBelowAndAboveHalfInEveryMode) {
    const Money plus = money("1.00", "USD");
    const Money minus = money("-1.00", "USD");
    // 150.3 JPY: nearest is 150.
    const Rate low = rate("USD/JPY", "150.3");
    const char* r3 = "300000000000000000";
    const char* r7 = "700000000000000000";
    EXPECT_TRUE(converts(plus, low, RoundingMode::kHalfEven, {"150", r3}));
    EXPECT_TRUE(converts(plus, low, RoundingMode::kHalfUp, {"150", r3}));
    EXPECT_TRUE(converts(plus, low, RoundingMode::kUp, {"151", "-700000000000000000"}));
    EXPECT_TRUE(converts(plus, low, RoundingMode::kDown, {"150", r3}));
    EXPECT_TRUE(converts(plus, low, RoundingMode::kTowardZero, {"150", r3}));
    EXPECT_TRUE(converts(minus, low, RoundingMode::kHalfEven, {"-150", "-300000000000000000"}));
    EXPECT_TRUE(converts(minus, low, RoundingMode::kHalfUp, {"-150", "-300000000000000000"}));
    EXPECT_TRUE(converts(minus, low, RoundingMode::kUp, {"-150", "-300000000000000000"}));
    EXPECT_TRUE(converts(minus, low, RoundingMode::kDown, {"-151", r7}));
    EXPECT_TRUE(converts(minus, low, RoundingMode::kTowardZero, {"-150", "-300000000000000000"}));
    // 150.7 JPY: nearest is 151.
    const Rate high = rate("USD/JPY", "150.7");
    EXPECT_TRUE(converts(plus, high, RoundingMode::kHalfEven, {"151", "-300000000000000000"}));
    EXPECT_TRUE(converts(plus, high, RoundingMode::kHalfUp, {"151", "-300000000000000000"}));
    EXPECT_TRUE(converts(plus, high, RoundingMode::kUp, {"151", "-300000000000000000"}));
    EXPECT_TRUE(converts(plus, high, RoundingMode::kDown, {"150", r7}));
    EXPECT_TRUE(converts(plus, high, RoundingMode::kTowardZero, {"150", r7}));
    EXPECT_TRUE(converts(minus, high, RoundingMode::kHalfEven, {"-151", r3}));
    EXPECT_TRUE(converts(minus, high, RoundingMode::kHalfUp, {"-151", r3}));
    EXPECT_TRUE(converts(minus, high, RoundingMode::kUp, {"-150", "-700000000000000000"}));
    EXPECT_TRUE(converts(minus, high, RoundingMode::kDown, {"-151", r3}));
    EXPECT_TRUE(converts(minus, high, RoundingMode::kTowardZero, {"-150", "-700000000000000000"}));
}

TEST(MoneyConvert, TiesJustBelowAndAboveHalfAreNotTies) {
    // 0.499999999999 and 0.500000000001 JPY per cent: the smallest steps around a tie.
    EXPECT_TRUE(converts(money("0.01", "USD"), rate("USD/JPY", "49.9999999999"),
                         RoundingMode::kHalfUp, {"0", "499999999999000000"}));
    EXPECT_TRUE(converts(money("0.01", "USD"), rate("USD/JPY", "50.0000000001"),
                         RoundingMode::kHalfEven, {"1", "-499999999999000000"}));
    EXPECT_TRUE(converts(money("-0.01", "USD"), rate("USD/JPY", "50.0000000001"),
                         RoundingMode::kHalfEven, {"-1", "499999999999000000"}));
}

TEST(MoneyConvert, HigherToLowerExponentUsdToJpy) {
    // 1.00 USD at 151.237 = 151.237 JPY.
    EXPECT_TRUE(converts(money("1.00", "USD"), rate("USD/JPY", "151.237"), RoundingMode::kHalfEven,
                         {"151", "237000000000000000"}));
    // 0.01 USD at 151.237 = 1.51237 JPY.
    EXPECT_TRUE(converts(money("0.01", "USD"), rate("USD/JPY", "151.237"), RoundingMode::kHalfEven,
                         {"2", "-487630000000000000"}));
}

TEST(MoneyConvert, LowerToHigherExponentJpyToUsd) {
    // 1000 JPY at 0.006612 = 6.612 USD = 661.2 cents.
    EXPECT_TRUE(converts(money("1000", "JPY"), rate("JPY/USD", "0.006612"), RoundingMode::kHalfEven,
                         {"6.61", "200000000000000000"}));
    EXPECT_TRUE(converts(money("1000", "JPY"), rate("JPY/USD", "0.006612"), RoundingMode::kUp,
                         {"6.62", "-800000000000000000"}));
    // The smallest rate: 1 JPY at 10^-12 = 10^-10 cents = 10^8 residue units.
    EXPECT_TRUE(converts(money("1", "JPY"), rate("JPY/USD", "0.000000000001"),
                         RoundingMode::kHalfEven, {"0.00", "100000000"}));
    EXPECT_TRUE(converts(money("-1", "JPY"), rate("JPY/USD", "0.000000000001"), RoundingMode::kDown,
                         {"-0.01", "999999999900000000"}));
}

TEST(MoneyConvert, ThreeDecimalsToZeroAndBackKwdJpy) {
    // 0.005 KWD at 490.5 = 2.4525 JPY.
    EXPECT_TRUE(converts(money("0.005", "KWD"), rate("KWD/JPY", "490.5"), RoundingMode::kHalfEven,
                         {"2", "452500000000000000"}));
    EXPECT_TRUE(converts(money("-0.005", "KWD"), rate("KWD/JPY", "490.5"), RoundingMode::kUp,
                         {"-2", "-452500000000000000"}));
    // 1 JPY at 0.002 = 0.002 KWD, exactly 2 fils; at 0.0020005 = 2.0005 fils.
    EXPECT_TRUE(converts(money("1", "JPY"), rate("JPY/KWD", "0.002"), RoundingMode::kHalfEven,
                         {"0.002", "0"}));
    EXPECT_TRUE(converts(money("1", "JPY"), rate("JPY/KWD", "0.0020005"), RoundingMode::kUp,
                         {"0.003", "-999500000000000000"}));
}

TEST(MoneyConvert, FourDecimalCurrenciesClfUyw) {
    // 1.0000 CLF at 39.5 USD = 39.50 USD exactly (exponent 4 -> 2).
    EXPECT_TRUE(converts(money("1.0000", "CLF"), rate("CLF/USD", "39.5"), RoundingMode::kHalfEven,
                         {"39.50", "0"}));
    // 0.0001 CLF at 39.5 = 0.00395 USD = 0.395 cents.
    EXPECT_TRUE(converts(money("0.0001", "CLF"), rate("CLF/USD", "39.5"), RoundingMode::kHalfEven,
                         {"0.00", "395000000000000000"}));
    // 3 JPY at 0.0000125 UYW = 0.0000375 UYW = 0.375 minor units (exponent 0 -> 4).
    EXPECT_TRUE(converts(money("3", "JPY"), rate("JPY/UYW", "0.0000125"), RoundingMode::kHalfEven,
                         {"0.0000", "375000000000000000"}));
    // 0.0001 UYW at 150.5 JPY = 0.01505 JPY (exponent 4 -> 0).
    EXPECT_TRUE(converts(money("0.0001", "UYW"), rate("UYW/JPY", "150.5"), RoundingMode::kHalfEven,
                         {"0", "15050000000000000"}));
}

TEST(MoneyConvert, ExtremeExponentDifferencesOfSix) {
    const Currency zero = synthetic("ZRO", 0);
    const Currency six = synthetic("SIX", 6);
    // 1 minor unit of SIX (10^-6) at 10^-12 = 10^-18 ZRO: the smallest residue unit.
    const Rate down = Rate::from_mantissa({six, zero}, Int128(1)).value();
    const auto tiny = convert(Money{Amount::from_minor(1), six}, down);
    ASSERT_TRUE(tiny.has_value()) << tiny.error().to_string();
    EXPECT_TRUE(tiny->converted.amount.is_zero());
    EXPECT_EQ(to_decimal_string(tiny->residue), "1");
    // 1 ZRO at 10^-12 SIX = 10^-6 SIX minor units; at rate 1, 1 ZRO = 10^6 SIX minor.
    const Rate up = Rate::from_mantissa({zero, six}, Int128(1)).value();
    const auto small = convert(Money{Amount::from_minor(1), zero}, up);
    ASSERT_TRUE(small.has_value());
    EXPECT_EQ(to_decimal_string(small->residue), "1000000000000");
    const Rate one = Rate::parse({zero, six}, "1").value();
    EXPECT_EQ(convert(Money{Amount::from_minor(-3), zero}, one)->converted.amount,
              Amount::from_minor(-3'000'000));
}

TEST(MoneyConvert, ResidueBalancesTheExactValue) {
    // converted * 10^18 + residue == amount * mantissa * 10^(6 + e_quote - e_base).
    const Money from = money("-12345.67", "EUR");
    const Rate r = rate("EUR/JPY", "161.234567891234");
    for (const auto mode : kAllModes) {
        const auto result = convert(from, r, mode).value();
        const Int128 lhs_minor = result.converted.amount.minor();
        // exact = -1234567 * 161234567891234 * 10^4 residue units
        using Wide = boost::multiprecision::int256_t;
        const Wide exact = Wide(-1234567) * Wide(161234567891234LL) * 10000;
        const Wide rebuilt = Wide(lhs_minor) * Wide("1000000000000000000") + Wide(result.residue);
        EXPECT_TRUE(exact == rebuilt) << rounding_mode_name(mode);
    }
}

TEST(MoneyConvert, RefusesAmountsNotInTheBaseCurrency) {
    EXPECT_TRUE(failed_with(convert(money("1.00", "USD"), rate("EUR/USD", "1.085")),
                            StatusCode::kInvalidArgument,
                            {"cannot convert USD", "EUR/USD", "base currency EUR", "invert"}));
}

TEST(MoneyConvert, RefusesUnnamedRoundingModes) {
    const auto bad = static_cast<RoundingMode>(7);
    EXPECT_TRUE(failed_with(convert(money("1.00", "EUR"), rate("EUR/USD", "1.085"), bad),
                            StatusCode::kInvalidArgument, {"unknown rounding mode 7"}));
    EXPECT_TRUE(failed_with(rate("EUR/USD", "1.085").inverted(bad), StatusCode::kInvalidArgument,
                            {"unknown rounding mode 7"}));
    EXPECT_EQ(rounding_mode_name(bad), "unknown");
}

TEST(MoneyConvert, RefusesExponentsAboveMax) {
    const Currency seven = synthetic("SVN", kExponentMax + 1);
    const Rate r = Rate::from_mantissa({seven, must_find("USD")}, Int128(1)).value();
    EXPECT_TRUE(failed_with(convert(Money{Amount::from_minor(1), seven}, r),
                            StatusCode::kInvalidArgument, {"SVN/USD", "exponent"}));
}

TEST(MoneyConvert, ReachesTheAmountLimitsExactly) {
    const Rate par = rate("EUR/USD", "1");
    EXPECT_EQ(convert(Money{Amount::max(), must_find("EUR")}, par)->converted.amount,
              Amount::max());
    EXPECT_EQ(convert(Money{Amount::min(), must_find("EUR")}, par)->converted.amount,
              Amount::min());
    // max / 2 at rate 2 is max - 1 (max is odd).
    const Amount half = Amount::from_int(Amount::max().minor() / 2).value();
    EXPECT_EQ(
        convert(Money{half, must_find("EUR")}, rate("EUR/USD", "2"))->converted.amount.to_string(),
        "170141183460469231731687303715884105726");
}

TEST(MoneyConvert, OverflowingTheAmountRangeFails) {
    const Currency eur = must_find("EUR");
    // Just past the edge: max * (1 + 10^-12).
    EXPECT_TRUE(failed_with(convert(Money{Amount::max(), eur}, rate("EUR/USD", "1.000000000001")),
                            StatusCode::kOutOfRange, {"EUR/USD", "128-bit", "USD"}));
    EXPECT_TRUE(failed_with(convert(Money{Amount::min(), eur}, rate("EUR/USD", "1.000000000001")),
                            StatusCode::kOutOfRange,
                            {"-1701411834604692317316873037158841057.27"}));
    // A product far too wide for 256 bits (max * largest rate * 10^12) also fails cleanly.
    const Currency zero = synthetic("ZRO", 0);
    const Currency six = synthetic("SIX", 6);
    const Rate widest = Rate::from_mantissa({zero, six}, Rate::mantissa_max()).value();
    EXPECT_TRUE(failed_with(convert(Money{Amount::max(), zero}, widest), StatusCode::kOutOfRange,
                            {"ZRO/SIX"}));
    EXPECT_TRUE(failed_with(convert(Money{Amount::min(), zero}, widest), StatusCode::kOutOfRange,
                            {"ZRO/SIX"}));
}

TEST(MoneyConvert, RoundingAcrossTheEdgeDependsOnTheMode) {
    // (2^128 - 1) / 3 at rate 1.5 is exactly (2^128 - 1) / 2 = max + 0.5: a tie whose
    // upper neighbour, 2^127, is even and one past max.
    const Currency a = synthetic("AAA", 0);
    const Currency b = synthetic("BBB", 0);
    const Rate r = Rate::parse({a, b}, "1.5").value();
    const Amount third =
        Amount::from_int(Int128("113427455640312821154458202477256070485")).value();
    const Money plus{third, a};
    const Money minus{-third, a};
    for (const auto mode : {RoundingMode::kHalfEven, RoundingMode::kHalfUp, RoundingMode::kUp}) {
        EXPECT_TRUE(failed_with(convert(plus, r, mode), StatusCode::kOutOfRange, {"AAA/BBB"}))
            << rounding_mode_name(mode);
    }
    for (const auto mode : {RoundingMode::kDown, RoundingMode::kTowardZero}) {
        const auto result = convert(plus, r, mode);
        ASSERT_TRUE(result.has_value()) << rounding_mode_name(mode);
        EXPECT_EQ(result->converted.amount, Amount::max()) << rounding_mode_name(mode);
        EXPECT_EQ(to_decimal_string(result->residue), "500000000000000000");
    }
    for (const auto mode : {RoundingMode::kHalfEven, RoundingMode::kHalfUp, RoundingMode::kDown}) {
        EXPECT_TRUE(failed_with(convert(minus, r, mode), StatusCode::kOutOfRange, {"AAA/BBB"}))
            << rounding_mode_name(mode);
    }
    for (const auto mode : {RoundingMode::kUp, RoundingMode::kTowardZero}) {
        const auto result = convert(minus, r, mode);
        ASSERT_TRUE(result.has_value()) << rounding_mode_name(mode);
        EXPECT_EQ(result->converted.amount, Amount::min()) << rounding_mode_name(mode);
        EXPECT_EQ(to_decimal_string(result->residue), "-500000000000000000");
    }
}

TEST(MoneyConvert, InvertedRateConvertsTheOtherWay) {
    const Rate eur_usd = rate("EUR/USD", "1.25");
    const Rate usd_eur = eur_usd.inverted().value();
    EXPECT_TRUE(
        converts(money("125.00", "USD"), usd_eur, RoundingMode::kHalfEven, {"100.00", "0"}));
    // USD/JPY 150 inverted (half-even) is 0.006666666667: 1000 JPY -> 6.666666667 USD.
    const Rate jpy_usd = rate("USD/JPY", "150").inverted().value();
    EXPECT_TRUE(converts(money("1000", "JPY"), jpy_usd, RoundingMode::kHalfEven,
                         {"6.67", "-333333300000000000"}));
    // The uninverted rate refuses the quote currency.
    EXPECT_FALSE(convert(money("1000", "JPY"), rate("USD/JPY", "150")).has_value());
}

}  // namespace
}  // namespace fxsettle::money
