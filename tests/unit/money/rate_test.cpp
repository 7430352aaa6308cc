#include "engine/money/rate.h"

#include <gtest/gtest.h>

#include "tests/unit/money/money_test_support.h"

namespace fxsettle::money {
namespace {

using testing::failed_with;
using testing::must_find;

CurrencyPair pair(const char* text) {
    return parse_pair(text).value();
}

std::string mantissa_text(const Rate& rate) {
    return to_decimal_string(rate.mantissa());
}

// ---------------------------------------------------------------- pairs and modes

TEST(MoneyCurrencyPair, ParsesWithAndWithoutSlash) {
    const auto with_slash = parse_pair("EUR/USD");
    ASSERT_TRUE(with_slash.has_value()) << with_slash.error().to_string();
    EXPECT_EQ(with_slash->base, must_find("EUR"));
    EXPECT_EQ(with_slash->quote, must_find("USD"));
    EXPECT_EQ(parse_pair("EURUSD"), with_slash);
    EXPECT_EQ(with_slash->to_string(), "EUR/USD");
    EXPECT_EQ(with_slash->inverted().to_string(), "USD/EUR");
}

TEST(MoneyCurrencyPair, RejectsMalformedUnknownAndSameCurrencyPairs) {
    EXPECT_TRUE(failed_with(parse_pair("EUR-USD"), StatusCode::kInvalidArgument, {"'EUR-USD'"}));
    EXPECT_TRUE(failed_with(parse_pair("EUR/US"), StatusCode::kInvalidArgument, {"'EUR/US'"}));
    EXPECT_TRUE(failed_with(parse_pair(""), StatusCode::kInvalidArgument, {"''"}));
    EXPECT_TRUE(failed_with(parse_pair("EUR/XYZ"), StatusCode::kNotFound,
                            {"'EUR/XYZ'", "unknown currency 'XYZ'"}));
    EXPECT_TRUE(
        failed_with(parse_pair("eurusd"), StatusCode::kInvalidArgument, {"'eurusd'", "'eur'"}));
    EXPECT_TRUE(failed_with(parse_pair("USD/CNH"), StatusCode::kNotFound, {"'CNH'"}));
    EXPECT_TRUE(failed_with(parse_pair("USD/USD"), StatusCode::kInvalidArgument,
                            {"'USD/USD'", "same currency"}));
}

TEST(MoneyCurrencyPair, ParsesConfiguredCurrenciesFromTheGivenTable) {
    CurrencyTable table;
    ASSERT_TRUE(table.add(testing::synthetic("CNH", 2)).is_ok());
    const auto usd_cnh = parse_pair("USD/CNH", table);
    ASSERT_TRUE(usd_cnh.has_value()) << usd_cnh.error().to_string();
    EXPECT_EQ(usd_cnh->quote.code_view(), "CNH");
    EXPECT_TRUE(parse_pair("CNY/CNH", table).has_value()) << "onshore and offshore differ";
}

TEST(MoneyRoundingMode, NamesRoundTrip) {
    for (const auto mode : {RoundingMode::kHalfEven, RoundingMode::kHalfUp, RoundingMode::kUp,
                            RoundingMode::kDown, RoundingMode::kTowardZero}) {
        EXPECT_EQ(parse_rounding_mode(rounding_mode_name(mode)), mode);
    }
    EXPECT_EQ(rounding_mode_name(RoundingMode::kHalfEven), "half_even");
    EXPECT_EQ(rounding_mode_name(RoundingMode::kTowardZero), "toward_zero");
    EXPECT_TRUE(failed_with(parse_rounding_mode("HALF_EVEN"), StatusCode::kInvalidArgument,
                            {"'HALF_EVEN'", "half_even"}));
    EXPECT_TRUE(failed_with(parse_rounding_mode(""), StatusCode::kInvalidArgument, {"''"}));
}

// ---------------------------------------------------------------- parse and format

TEST(MoneyRate, ParsesExactDecimalsIntoTheMantissa) {
    const struct {
        const char* text;
        const char* mantissa;
        const char* formatted;
    } cases[] = {
        {"7.1234", "7123400000000", "7.1234"},
        {"0.0067", "6700000000", "0.0067"},
        {"150", "150000000000000", "150.0"},
        {"150.", "150000000000000", "150.0"},
        {".5", "500000000000", "0.5"},
        {"1.085000", "1085000000000", "1.085"},
        {"0.000000000001", "1", "0.000000000001"},
        {"000123.456789012345", "123456789012345", "123.456789012345"},
        {"170141183460469231731687303.715884105727", "170141183460469231731687303715884105727",
         "170141183460469231731687303.715884105727"},
    };
    for (const auto& c : cases) {
        const auto rate = Rate::parse(pair("USD/CNY"), c.text);
        ASSERT_TRUE(rate.has_value()) << c.text << ": " << rate.error().to_string();
        EXPECT_EQ(mantissa_text(*rate), c.mantissa) << c.text;
        EXPECT_EQ(rate->to_string(), c.formatted) << c.text;
        EXPECT_EQ(rate->pair(), pair("USD/CNY"));
    }
}

TEST(MoneyRate, RejectsMalformedRatesNamingTheProblemAndTheText) {
    const struct {
        const char* text;
        StatusCode code;
        std::initializer_list<std::string_view> parts;
    } cases[] = {
        {"", StatusCode::kInvalidArgument, {"USD/CNY rate", "''", "empty"}},
        {".", StatusCode::kInvalidArgument, {"'.'", "no digits"}},
        {"-7.1", StatusCode::kInvalidArgument, {"'-7.1'", "sign"}},
        {"+7.1", StatusCode::kInvalidArgument, {"'+7.1'", "sign"}},
        {"0", StatusCode::kInvalidArgument, {"'0'", "positive"}},
        {"0.000000000000", StatusCode::kInvalidArgument, {"'0.000000000000'", "positive"}},
        {"7,1", StatusCode::kInvalidArgument, {"'7,1'", "','"}},
        {"7.1.2", StatusCode::kInvalidArgument, {"'7.1.2'", "second decimal point"}},
        {"7.1 ", StatusCode::kInvalidArgument, {"'7.1 '", "whitespace"}},
        {"7e2", StatusCode::kInvalidArgument, {"'7e2'", "exponent notation"}},
        {"7.1x", StatusCode::kInvalidArgument, {"'7.1x'", "'x'"}},
        {"0.0000000000001",
         StatusCode::kInvalidArgument,
         {"'0.0000000000001'", "13 decimals; at most 12"}},
        {"1.0000000000000", StatusCode::kInvalidArgument, {"13 decimals"}},
        {"170141183460469231731687303.715884105728",
         StatusCode::kOutOfRange,
         {"'170141183460469231731687303.715884105728'", "largest rate"}},
        {"170141183460469231731687303715884105727", StatusCode::kOutOfRange, {"largest rate"}},
    };
    for (const auto& c : cases) {
        EXPECT_TRUE(failed_with(Rate::parse(pair("USD/CNY"), c.text), c.code, c.parts))
            << "rate '" << c.text << "'";
    }
}

TEST(MoneyRate, FromMantissaAcceptsOnlyPositiveMantissasUpToTheMax) {
    const auto rate = Rate::from_mantissa(pair("EUR/USD"), Int128(1085000000000));
    ASSERT_TRUE(rate.has_value());
    EXPECT_EQ(rate->to_string(), "1.085");
    EXPECT_EQ(Rate::from_mantissa(pair("EUR/USD"), Rate::mantissa_max())->to_string(),
              "170141183460469231731687303.715884105727");
    EXPECT_TRUE(failed_with(Rate::from_mantissa(pair("EUR/USD"), Int128(0)),
                            StatusCode::kInvalidArgument, {"not positive", "EUR/USD"}));
    EXPECT_TRUE(failed_with(Rate::from_mantissa(pair("EUR/USD"), Int128(-5)),
                            StatusCode::kInvalidArgument, {"-5"}));
    EXPECT_TRUE(failed_with(Rate::from_mantissa(pair("EUR/USD"), Rate::mantissa_max() + 1),
                            StatusCode::kOutOfRange, {"170141183460469231731687303715884105728"}));
}

// ---------------------------------------------------------------- inversion

TEST(MoneyRate, InvertsExactlyWhenTheInverseHas12DecimalsOrFewer) {
    const auto inverse = Rate::parse(pair("EUR/USD"), "1.25")->inverted();
    ASSERT_TRUE(inverse.has_value());
    EXPECT_EQ(inverse->pair(), pair("USD/EUR"));
    EXPECT_EQ(inverse->to_string(), "0.8");
    EXPECT_EQ(Rate::parse(pair("USD/JPY"), "0.000001")->inverted()->to_string(), "1000000.0");
}

TEST(MoneyRate, InvertsWithTheRequestedRounding) {
    const Rate usd_jpy = Rate::parse(pair("USD/JPY"), "150").value();
    // 1/150 = 0.006666666666|666...
    EXPECT_EQ(usd_jpy.inverted()->to_string(), "0.006666666667");
    EXPECT_EQ(usd_jpy.inverted(RoundingMode::kHalfUp)->to_string(), "0.006666666667");
    EXPECT_EQ(usd_jpy.inverted(RoundingMode::kUp)->to_string(), "0.006666666667");
    EXPECT_EQ(usd_jpy.inverted(RoundingMode::kDown)->to_string(), "0.006666666666");
    EXPECT_EQ(usd_jpy.inverted(RoundingMode::kTowardZero)->to_string(), "0.006666666666");
    // 1/3 = 0.333333333333|333...: nearest is down.
    const Rate three = Rate::parse(pair("EUR/USD"), "3").value();
    EXPECT_EQ(three.inverted()->to_string(), "0.333333333333");
    EXPECT_EQ(three.inverted(RoundingMode::kUp)->to_string(), "0.333333333334");
}

TEST(MoneyRate, InversionTiesGoToEvenOrAwayFromZero) {
    // 1/400000000000 = 0.0000000000025: a tie whose lower neighbour (2) is even...
    const Rate rate = Rate::parse(pair("USD/JPY"), "400000000000").value();
    EXPECT_EQ(rate.inverted(RoundingMode::kHalfEven)->to_string(), "0.000000000002");
    EXPECT_EQ(rate.inverted(RoundingMode::kHalfUp)->to_string(), "0.000000000003");
    // 1/80000000000 = 0.0000000000125: a tie whose lower neighbour (12) is the even one.
    const Rate other = Rate::parse(pair("USD/JPY"), "80000000000").value();
    EXPECT_EQ(other.inverted(RoundingMode::kHalfEven)->to_string(), "0.000000000012");
    EXPECT_EQ(other.inverted(RoundingMode::kHalfUp)->to_string(), "0.000000000013");
    // 1/40000000000 = 0.000000000025 exactly: no rounding in any mode.
    const Rate exact = Rate::parse(pair("USD/JPY"), "40000000000").value();
    EXPECT_EQ(exact.inverted(RoundingMode::kUp), exact.inverted(RoundingMode::kDown));
}

TEST(MoneyRate, InversionThatRoundsToZeroFails) {
    // 1/2000000000000 = 0.0000000000005: half-even rounds to 0, half-up to 1e-12.
    const Rate rate = Rate::parse(pair("USD/JPY"), "2000000000000").value();
    EXPECT_TRUE(failed_with(rate.inverted(), StatusCode::kOutOfRange,
                            {"USD/JPY", "2000000000000.0", "rounds to zero", "half_even"}));
    EXPECT_EQ(rate.inverted(RoundingMode::kHalfUp)->to_string(), "0.000000000001");
    EXPECT_EQ(rate.inverted(RoundingMode::kUp)->to_string(), "0.000000000001");
    EXPECT_FALSE(rate.inverted(RoundingMode::kDown).has_value());
}

TEST(MoneyRate, DoubleInversionOfAnExactInverseIsTheIdentity) {
    for (const char* text : {"1.25", "0.5", "4", "0.008", "1000", "0.000001"}) {
        const Rate rate = Rate::parse(pair("EUR/USD"), text).value();
        const auto back = rate.inverted()->inverted();
        ASSERT_TRUE(back.has_value()) << text;
        EXPECT_EQ(*back, rate) << text << " came back as " << back->to_string();
    }
}

}  // namespace
}  // namespace fxsettle::money
