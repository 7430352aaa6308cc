#include "engine/money/amount.h"

#include <random>
#include <string>

#include <gtest/gtest.h>

#include "tests/unit/money/money_test_support.h"

namespace fxsettle::money {
namespace {

using testing::failed_with;
using testing::must_find;

// 2^127 - 1 and its text in USD (2 decimals) and JPY (0 decimals).
constexpr const char* kMaxMinor = "170141183460469231731687303715884105727";
constexpr const char* kMaxUsd = "1701411834604692317316873037158841057.27";
constexpr const char* kMaxPlusOneUsd = "1701411834604692317316873037158841057.28";

Amount minor(const char* digits) {
    return Amount::from_int(Int128(digits)).value();
}

// ---------------------------------------------------------------- range and arithmetic

TEST(MoneyAmount, RangeIsSymmetricAroundZero) {
    EXPECT_EQ(Amount::max().to_string(), kMaxMinor);
    EXPECT_EQ(Amount::min().to_string(), std::string("-") + kMaxMinor);
    EXPECT_EQ(-Amount::max(), Amount::min());
    EXPECT_EQ(-Amount::min(), Amount::max());
    EXPECT_TRUE(Amount().is_zero());
}

TEST(MoneyAmount, FromIntRejectsValuesOutsideTheRange) {
    EXPECT_EQ(Amount::from_int(Int128(kMaxMinor)).value(), Amount::max());
    const Int128 max_plus_one = Int128(kMaxMinor) + 1;
    EXPECT_TRUE(failed_with(Amount::from_int(max_plus_one), StatusCode::kOutOfRange,
                            {"170141183460469231731687303715884105728"}));
    EXPECT_TRUE(failed_with(Amount::from_int(-max_plus_one), StatusCode::kOutOfRange,
                            {"-170141183460469231731687303715884105728"}));
}

TEST(MoneyAmount, CheckedAddAndSubStopAtTheRangeEdge) {
    const Amount one = Amount::from_minor(1);
    EXPECT_EQ(Amount::max().checked_sub(one)->checked_add(one), Amount::max());
    EXPECT_FALSE(Amount::max().checked_add(one).has_value()) << "max + 1";
    EXPECT_FALSE(Amount::min().checked_sub(one).has_value()) << "min - 1";
    EXPECT_FALSE(Amount::max().checked_add(Amount::max()).has_value()) << "max + max";
    EXPECT_FALSE(Amount::min().checked_add(Amount::min()).has_value()) << "min + min";
    EXPECT_FALSE(Amount::max().checked_sub(Amount::min()).has_value()) << "max - min";
    EXPECT_EQ(Amount::max().checked_add(Amount::min()), Amount());
    EXPECT_EQ(Amount::from_minor(-5).checked_add(Amount::from_minor(3)), Amount::from_minor(-2));
}

TEST(MoneyAmount, CheckedMulStopsAtTheRangeEdge) {
    EXPECT_EQ(Amount::from_minor(-7).checked_mul(6), Amount::from_minor(-42));
    EXPECT_EQ(Amount::max().checked_mul(1), Amount::max());
    EXPECT_EQ(Amount::max().checked_mul(-1), Amount::min());
    EXPECT_EQ(Amount::max().checked_mul(0), Amount());
    EXPECT_FALSE(Amount::max().checked_mul(2).has_value());
    EXPECT_FALSE(Amount::min().checked_mul(INT64_MIN).has_value());
    // 2^63 * 2^63 = 2^126 fits; times 2 more does not.
    const Amount two_pow_63 = minor("9223372036854775808");
    EXPECT_EQ(two_pow_63.checked_mul(INT64_MIN)->to_string(),
              "-85070591730234615865843651857942052864");
    EXPECT_FALSE(two_pow_63.checked_mul(INT64_MIN)->checked_mul(2).has_value());
}

TEST(MoneyAmount, OperatorsComputeAndCompare) {
    Amount a = Amount::from_minor(100);
    a += Amount::from_minor(50);
    a -= Amount::from_minor(200);
    EXPECT_EQ(a, Amount::from_minor(-50));
    EXPECT_LT(Amount::min(), a);
    EXPECT_GT(Amount::max(), Amount());
    EXPECT_EQ(Amount::from_minor(3) <=> Amount::from_minor(3), std::strong_ordering::equal);
    EXPECT_TRUE(a.is_negative());
    EXPECT_FALSE(a.is_positive());
}

TEST(MoneyAmountDeathTest, UncheckedOverflowStopsTheProcess) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    EXPECT_DEATH((void)(Amount::max() + Amount::from_minor(1)), "addition overflowed");
    EXPECT_DEATH((void)(Amount::min() - Amount::from_minor(1)), "subtraction overflowed");
}

// ---------------------------------------------------------------- 16-byte encoding

TEST(MoneyAmount, LittleEndianBytesAreTwosComplement) {
    using Bytes = std::array<std::uint8_t, 16>;
    Bytes zero{};
    EXPECT_EQ(Amount().to_le_bytes(), zero);
    Bytes one{};
    one[0] = 1;
    EXPECT_EQ(Amount::from_minor(1).to_le_bytes(), one);
    Bytes minus_one;
    minus_one.fill(0xff);
    EXPECT_EQ(Amount::from_minor(-1).to_le_bytes(), minus_one);
    Bytes minus_256;
    minus_256.fill(0xff);
    minus_256[0] = 0x00;
    EXPECT_EQ(Amount::from_minor(-256).to_le_bytes(), minus_256);
    Bytes max;
    max.fill(0xff);
    max[15] = 0x7f;
    EXPECT_EQ(Amount::max().to_le_bytes(), max);
    Bytes min{};
    min[0] = 0x01;
    min[15] = 0x80;
    EXPECT_EQ(Amount::min().to_le_bytes(), min);
    const Bytes x = Amount::from_minor(0x0102030405060708).to_le_bytes();
    EXPECT_EQ(x[0], 0x08);
    EXPECT_EQ(x[7], 0x01);
    EXPECT_EQ(x[8], 0x00);
}

TEST(MoneyAmount, LittleEndianBytesRoundTrip) {
    std::mt19937_64 random(1234);
    std::vector<Amount> samples = {Amount(), Amount::max(), Amount::min(), Amount::from_minor(1),
                                   Amount::from_minor(-1)};
    for (int i = 0; i < 2000; ++i) {
        // Random 127-bit magnitudes, random sign.
        const Int128 high = Int128(random() >> 1);
        const Int128 value = high * Int128("18446744073709551616") + Int128(random());
        samples.push_back(Amount::from_int(random() % 2 ? -value : value).value());
        samples.push_back(Amount::from_minor(static_cast<std::int64_t>(random())));
    }
    for (const Amount& amount : samples) {
        const auto bytes = amount.to_le_bytes();
        EXPECT_EQ(Amount::from_le_bytes(bytes.data()), amount);
        EXPECT_EQ(Amount::decode_le_bytes(bytes.data()).value(), amount);
    }
}

TEST(MoneyAmount, DecodingMinus2Pow127ReportsCorruption) {
    std::array<std::uint8_t, 16> bytes{};
    bytes[15] = 0x80;
    EXPECT_TRUE(
        failed_with(Amount::decode_le_bytes(bytes.data()), StatusCode::kCorruption, {"-2^127"}));
}

TEST(MoneyAmountDeathTest, FromLeBytesOfMinus2Pow127StopsTheProcess) {
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    std::array<std::uint8_t, 16> bytes{};
    bytes[15] = 0x80;
    EXPECT_DEATH((void)Amount::from_le_bytes(bytes.data()), "outside the Amount range");
}

TEST(MoneyAmount, DecimalStringOfInt128) {
    EXPECT_EQ(to_decimal_string(Int128(0)), "0");
    EXPECT_EQ(to_decimal_string(Int128(-7)), "-7");
    EXPECT_EQ(to_decimal_string(Int128("10000000000000000000")), "10000000000000000000");
    EXPECT_EQ(to_decimal_string(Int128("9999999999999999999")), "9999999999999999999");
    EXPECT_EQ(to_decimal_string(Int128("-100000000000000000000000000000000000001")),
              "-100000000000000000000000000000000000001");
    EXPECT_EQ(to_decimal_string(Int128("340282366920938463463374607431768211455")),
              "340282366920938463463374607431768211455")
        << "2^128 - 1, the widest Int128";
}

// ---------------------------------------------------------------- parse

struct ParseCase {
    const char* text;
    const char* currency;
    const char* minor;
};

TEST(MoneyParseAmount, ParsesExactlyForEveryExponent) {
    const ParseCase cases[] = {
        {"1234.56", "USD", "123456"},
        {"-0.005", "KWD", "-5"},
        {"1000", "JPY", "1000"},
        {"0", "USD", "0"},
        {"-0", "USD", "0"},
        {"+1.5", "USD", "150"},
        {".5", "USD", "50"},
        {"5.", "USD", "500"},
        {"007.10", "USD", "710"},
        {"0.01", "USD", "1"},
        {"-0.01", "USD", "-1"},
        {"1.2345", "CLF", "12345"},
        {"-0.0001", "UYW", "-1"},
        {"12.3", "KWD", "12300"},
        {"0.000", "BHD", "0"},
        {"999999", "KRW", "999999"},
        {"-42", "JPY", "-42"},
        {"1.1", "TND", "1100"},
        {"00000000000000000000000000000000000000000000000000.01", "USD", "1"},
        {kMaxUsd, "USD", kMaxMinor},
        {kMaxMinor, "JPY", kMaxMinor},
        {"-1701411834604692317316873037158841057.27", "USD",
         "-170141183460469231731687303715884105727"},
        {"170141183460469231731687303715884105.727", "KWD", kMaxMinor},
    };
    for (const auto& c : cases) {
        const auto amount = parse_amount(c.text, must_find(c.currency));
        ASSERT_TRUE(amount.has_value())
            << "parse '" << c.text << "' " << c.currency << ": " << amount.error().to_string();
        EXPECT_EQ(amount->to_string(), c.minor) << "parse '" << c.text << "' " << c.currency;
    }
}

struct ParseErrorCase {
    const char* text;
    const char* currency;
    StatusCode code;
    std::initializer_list<std::string_view> message_parts;
};

TEST(MoneyParseAmount, RejectsMalformedTextNamingTheProblemAndTheText) {
    const ParseErrorCase cases[] = {
        {"", "USD", StatusCode::kInvalidArgument, {"''", "empty"}},
        {"-", "USD", StatusCode::kInvalidArgument, {"'-'", "no digits"}},
        {"+", "USD", StatusCode::kInvalidArgument, {"'+'", "no digits"}},
        {".", "USD", StatusCode::kInvalidArgument, {"'.'", "no digits"}},
        {"-.", "USD", StatusCode::kInvalidArgument, {"'-.'", "no digits"}},
        {"1.2.3", "USD", StatusCode::kInvalidArgument, {"'1.2.3'", "second decimal point"}},
        {"1..2", "USD", StatusCode::kInvalidArgument, {"'1..2'", "second decimal point"}},
        {"1,000", "USD", StatusCode::kInvalidArgument, {"'1,000'", "','", "position 2"}},
        {"1,5", "EUR", StatusCode::kInvalidArgument, {"'1,5'", "','"}},
        {"1 000", "USD", StatusCode::kInvalidArgument, {"'1 000'", "whitespace", "position 2"}},
        {" 1", "USD", StatusCode::kInvalidArgument, {"' 1'", "whitespace", "position 1"}},
        {"1 ", "USD", StatusCode::kInvalidArgument, {"'1 '", "whitespace"}},
        {"\t1", "USD", StatusCode::kInvalidArgument, {"'\\x091'", "whitespace"}},
        {"1e5", "USD", StatusCode::kInvalidArgument, {"'1e5'", "exponent notation"}},
        {"1E5", "JPY", StatusCode::kInvalidArgument, {"'1E5'", "exponent notation"}},
        {"1.5e-3", "USD", StatusCode::kInvalidArgument, {"'1.5e-3'", "exponent notation"}},
        {"abc", "USD", StatusCode::kInvalidArgument, {"'abc'", "unexpected character 'a'"}},
        {"12a", "USD", StatusCode::kInvalidArgument, {"'12a'", "'a'", "position 3"}},
        {"$1", "USD", StatusCode::kInvalidArgument, {"'$1'", "'$'"}},
        {"--1", "USD", StatusCode::kInvalidArgument, {"'--1'", "sign", "position 2"}},
        {"+-1", "USD", StatusCode::kInvalidArgument, {"'+-1'", "sign"}},
        {"1-", "USD", StatusCode::kInvalidArgument, {"'1-'", "sign"}},
        {"\xd9\xa1", "USD", StatusCode::kInvalidArgument, {"'\\xd9\\xa1'"}},  // Arabic-Indic 1
        {"NaN", "USD", StatusCode::kInvalidArgument, {"'NaN'"}},
        {"inf", "USD", StatusCode::kInvalidArgument, {"'inf'"}},
        {"0x10", "USD", StatusCode::kInvalidArgument, {"'0x10'", "'x'"}},
        {"1.234", "USD", StatusCode::kInvalidArgument, {"'1.234'", "3 decimals; USD allows 2"}},
        {"1.230", "USD", StatusCode::kInvalidArgument, {"'1.230'", "3 decimals; USD allows 2"}},
        {"1.5", "JPY", StatusCode::kInvalidArgument, {"'1.5'", "1 decimals; JPY allows 0"}},
        {"0.0001", "KWD", StatusCode::kInvalidArgument, {"'0.0001'", "KWD allows 3"}},
        {"0.00001", "CLF", StatusCode::kInvalidArgument, {"'0.00001'", "CLF allows 4"}},
        {kMaxPlusOneUsd, "USD", StatusCode::kOutOfRange, {kMaxPlusOneUsd, "128-bit"}},
        {"-1701411834604692317316873037158841057.28",
         "USD",
         StatusCode::kOutOfRange,
         {"'-1701411834604692317316873037158841057.28'", "USD"}},
        {"170141183460469231731687303715884105728",
         "JPY",
         StatusCode::kOutOfRange,
         {"'170141183460469231731687303715884105728'"}},
        {"170141183460469231731687303715884105727",
         "USD",
         StatusCode::kOutOfRange,
         {"'170141183460469231731687303715884105727'"}},
        {"1000000000000000000000000000000000000000000000000000000000000000000000000000000000",
         "USD",
         StatusCode::kOutOfRange,
         {"'10000000000", "...'"}},
    };
    for (const auto& c : cases) {
        EXPECT_TRUE(
            failed_with(parse_amount(c.text, must_find(c.currency)), c.code, c.message_parts))
            << "parse '" << c.text << "' " << c.currency;
    }
}

TEST(MoneyParseMoney, LooksTheCurrencyUpFirst) {
    const auto money = parse_money("12.34", "EUR");
    ASSERT_TRUE(money.has_value()) << money.error().to_string();
    EXPECT_EQ(money->amount, Amount::from_minor(1234));
    EXPECT_EQ(money->currency, must_find("EUR"));
    EXPECT_TRUE(
        failed_with(parse_money("1", "XYZ"), StatusCode::kNotFound, {"unknown currency", "'XYZ'"}));
    EXPECT_TRUE(failed_with(parse_money("1", "CNH"), StatusCode::kNotFound, {"'CNH'"}));
    EXPECT_TRUE(failed_with(parse_money("1", "eur"), StatusCode::kInvalidArgument, {"'eur'"}));
    EXPECT_TRUE(failed_with(parse_money("1.5", "JPY"), StatusCode::kInvalidArgument,
                            {"'1.5'", "JPY allows 0"}));
}

TEST(MoneyParseMoney, AcceptsConfiguredCurrenciesFromTheGivenTable) {
    CurrencyTable table;
    ASSERT_TRUE(table.add(testing::synthetic("CNH", 2)).is_ok());
    const auto money = parse_money("-88.8", "CNH", table);
    ASSERT_TRUE(money.has_value()) << money.error().to_string();
    EXPECT_EQ(money->amount, Amount::from_minor(-8880));
    EXPECT_EQ(format_money(*money), "-88.80 CNH");
}

// ---------------------------------------------------------------- format

struct FormatCase {
    const char* minor;
    const char* currency;
    const char* text;
};

TEST(MoneyFormatAmount, PrintsExactlyTheCurrencysDecimals) {
    const FormatCase cases[] = {
        {"123456", "USD", "1234.56"},
        {"-5", "KWD", "-0.005"},
        {"1000", "JPY", "1000"},
        {"0", "USD", "0.00"},
        {"0", "JPY", "0"},
        {"0", "CLF", "0.0000"},
        {"1", "CLF", "0.0001"},
        {"-1", "JPY", "-1"},
        {"-100", "USD", "-1.00"},
        {"7", "USD", "0.07"},
        {"-70", "USD", "-0.70"},
        {"12345", "BHD", "12.345"},
        {kMaxMinor, "USD", kMaxUsd},
        {kMaxMinor, "JPY", kMaxMinor},
        {"-170141183460469231731687303715884105727", "USD",
         "-1701411834604692317316873037158841057.27"},
    };
    for (const auto& c : cases) {
        EXPECT_EQ(format_amount(minor(c.minor), must_find(c.currency)), c.text)
            << c.minor << " minor " << c.currency;
    }
    EXPECT_EQ(format_amount(Amount::from_minor(-1), testing::synthetic("SIX", 6)), "-0.000001");
    EXPECT_EQ(format_money(Money{Amount::from_minor(123456), must_find("USD")}), "1234.56 USD");
}

TEST(MoneyFormatAmount, FormatThenParseRoundTripsForEveryExponent) {
    std::mt19937_64 random(42);
    for (int exponent = 0; exponent <= kExponentMax; ++exponent) {
        const Currency currency = testing::synthetic("RTX", exponent);
        for (int i = 0; i < 500; ++i) {
            // Below 2^127, then shifted so every magnitude class occurs.
            const Int128 value =
                (Int128(random() >> 1) * Int128(random())) >> static_cast<int>(random() % 127);
            const Amount amount = Amount::from_int(i % 2 ? -value : value).value();
            const std::string text = format_amount(amount, currency);
            const auto back = parse_amount(text, currency);
            ASSERT_TRUE(back.has_value()) << text << ": " << back.error().to_string();
            EXPECT_EQ(*back, amount) << "exponent " << exponent << " text " << text;
        }
    }
}

}  // namespace
}  // namespace fxsettle::money
