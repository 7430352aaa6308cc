#include "engine/money/currency.h"

#include <set>
#include <string>

#include <gtest/gtest.h>

#include "tests/unit/money/money_test_support.h"

namespace fxsettle::money {
namespace {

using testing::failed_with;
using testing::synthetic;

TEST(MoneyCurrencyTable, FindsCurrenciesByAlphabeticCodeWithIsoFacts) {
    struct Fact {
        const char* code;
        std::uint16_t numeric;
        int exponent;
    };
    // Exponents from every class: 0 (JPY, KRW), 2 (USD, EUR, CNY, HKD), 3 (KWD, BHD),
    // 4 (CLF, UYW); and numeric codes with leading zeros (BHD 048, ALL 008).
    const Fact facts[] = {{"USD", 840, 2}, {"EUR", 978, 2}, {"JPY", 392, 0}, {"KRW", 410, 0},
                          {"KWD", 414, 3}, {"BHD", 48, 3},  {"CLF", 990, 4}, {"UYW", 927, 4},
                          {"CNY", 156, 2}, {"HKD", 344, 2}, {"GBP", 826, 2}, {"ALL", 8, 2},
                          {"TND", 788, 3}, {"XOF", 952, 0}, {"XCG", 532, 2}, {"ZWG", 924, 2}};
    for (const auto& fact : facts) {
        const auto found = CurrencyTable::iso().find(fact.code);
        ASSERT_TRUE(found.has_value()) << fact.code << " missing from the ISO table";
        EXPECT_EQ(found->code_view(), fact.code);
        EXPECT_EQ(found->numeric, fact.numeric) << fact.code;
        EXPECT_EQ(found->exponent, fact.exponent) << fact.code;
        EXPECT_TRUE(found->is_iso()) << fact.code;
    }
}

TEST(MoneyCurrencyTable, FindsCurrenciesByNumericCode) {
    EXPECT_EQ(CurrencyTable::iso().find_numeric(840)->code_view(), "USD");
    EXPECT_EQ(CurrencyTable::iso().find_numeric(392)->code_view(), "JPY");
    EXPECT_EQ(CurrencyTable::iso().find_numeric(48)->code_view(), "BHD");
    EXPECT_EQ(CurrencyTable::iso().find_numeric(990)->code_view(), "CLF");
    EXPECT_EQ(CurrencyTable::iso().find_numeric(156)->code_view(), "CNY");
}

TEST(MoneyCurrencyTable, NumericLookupOfUnassignedOrZeroFindsNothing) {
    EXPECT_FALSE(CurrencyTable::iso().find_numeric(0).has_value());
    EXPECT_FALSE(CurrencyTable::iso().find_numeric(1).has_value());
    EXPECT_FALSE(CurrencyTable::iso().find_numeric(999).has_value()) << "XXX is left out";
    EXPECT_FALSE(CurrencyTable::iso().find_numeric(65535).has_value());
}

TEST(MoneyCurrencyTable, AlphabeticLookupIsCaseSensitiveAndExact) {
    EXPECT_FALSE(CurrencyTable::iso().find("usd").has_value());
    EXPECT_FALSE(CurrencyTable::iso().find("US").has_value());
    EXPECT_FALSE(CurrencyTable::iso().find("USDX").has_value());
    EXPECT_FALSE(CurrencyTable::iso().find("").has_value());
    EXPECT_FALSE(CurrencyTable::iso().find("CNH").has_value()) << "CNH is not ISO";
}

TEST(MoneyCurrencyTable, HoldsOnlyActiveCurrenciesWithMinorUnits) {
    for (const char* withdrawn : {"ANG", "BGN", "CUC", "HRK", "SLL", "ZWL", "VEF", "MRO"}) {
        EXPECT_FALSE(CurrencyTable::iso().find(withdrawn).has_value()) << withdrawn;
    }
    for (const char* no_minor_unit : {"XAU", "XAG", "XPT", "XPD", "XDR", "XXX", "XTS"}) {
        EXPECT_FALSE(CurrencyTable::iso().find(no_minor_unit).has_value()) << no_minor_unit;
    }
}

TEST(MoneyCurrencyTable, CountsAllActiveCurrencies) {
    // 165 rows of config/iso4217.csv; a changed count means the CSV changed, and this
    // test should change with it deliberately.
    EXPECT_EQ(CurrencyTable::iso().all().size(), 165u);
}

TEST(MoneyCurrencyTable, IsSortedWithoutDuplicateCodesOrNumerics) {
    const auto all = CurrencyTable::iso().all();
    std::set<std::string> codes;
    std::set<std::uint16_t> numerics;
    for (std::size_t i = 0; i < all.size(); ++i) {
        const Currency& c = all[i];
        EXPECT_TRUE(codes.insert(c.to_string()).second) << "duplicate code " << c.to_string();
        EXPECT_TRUE(numerics.insert(c.numeric).second) << "duplicate numeric " << c.numeric;
        EXPECT_GT(c.numeric, 0) << c.to_string();
        EXPECT_LE(c.exponent, kExponentMax) << c.to_string();
        if (i > 0) {
            EXPECT_LT(all[i - 1].code_view(), c.code_view()) << "table not sorted by code";
        }
        // Every entry is reachable through both lookups.
        EXPECT_EQ(CurrencyTable::iso().find(c.code_view()), c);
        EXPECT_EQ(CurrencyTable::iso().find_numeric(c.numeric), c);
    }
}

TEST(MoneyCurrencyTable, LookupNamesUnknownAndMalformedCodes) {
    EXPECT_EQ(CurrencyTable::iso().lookup("USD").value().numeric, 840);
    EXPECT_TRUE(failed_with(CurrencyTable::iso().lookup("ABC"), StatusCode::kNotFound,
                            {"unknown currency", "'ABC'"}));
    EXPECT_TRUE(failed_with(CurrencyTable::iso().lookup("usd"), StatusCode::kInvalidArgument,
                            {"'usd'", "upper-case"}));
    EXPECT_TRUE(failed_with(CurrencyTable::iso().lookup("US"), StatusCode::kInvalidArgument,
                            {"'US'", "2 characters"}));
    EXPECT_TRUE(failed_with(CurrencyTable::iso().lookup(""), StatusCode::kInvalidArgument,
                            {"''", "0 characters"}));
    EXPECT_TRUE(failed_with(CurrencyTable::iso().lookup("U\nD"), StatusCode::kInvalidArgument,
                            {"'U\\x0aD'"}));
}

TEST(MoneyCurrencyTable, DefaultConstructedTableIsACopyOfIso) {
    CurrencyTable table;
    EXPECT_EQ(table.all().size(), CurrencyTable::iso().all().size());
    EXPECT_TRUE(table.find("USD").has_value());
    EXPECT_TRUE(CurrencyTable::empty_table().all().empty());
}

TEST(MoneyCurrencyTable, AddsCnhWithoutChangingTheIsoTable) {
    CurrencyTable table;
    ASSERT_TRUE(table.add(synthetic("CNH", 2)).is_ok());
    const auto cnh = table.find("CNH");
    ASSERT_TRUE(cnh.has_value());
    EXPECT_EQ(cnh->exponent, 2);
    EXPECT_EQ(cnh->numeric, 0);
    EXPECT_FALSE(cnh->is_iso());
    EXPECT_NE(*cnh, *table.find("CNY")) << "CNY and CNH are distinct currencies";
    EXPECT_EQ(table.all().size(), CurrencyTable::iso().all().size() + 1);
    EXPECT_FALSE(CurrencyTable::iso().find("CNH").has_value());
    EXPECT_FALSE(table.find_numeric(0).has_value()) << "numeric 0 names no currency";
    // The table stays sorted, so lookups around the new entry still work.
    EXPECT_TRUE(table.find("CNY").has_value());
    EXPECT_TRUE(table.find("CLP").has_value());
    for (std::size_t i = 1; i < table.all().size(); ++i) {
        EXPECT_LT(table.all()[i - 1].code_view(), table.all()[i].code_view());
    }
}

TEST(MoneyCurrencyTable, AddingTheSameCurrencyTwiceIsOk) {
    CurrencyTable table;
    ASSERT_TRUE(table.add(synthetic("CNH", 2)).is_ok());
    EXPECT_TRUE(table.add(synthetic("CNH", 2)).is_ok());
    EXPECT_EQ(table.all().size(), CurrencyTable::iso().all().size() + 1);
    // An ISO code listed again in config with its ISO exponent keeps the ISO entry.
    EXPECT_TRUE(table.add(synthetic("USD", 2)).is_ok());
    EXPECT_EQ(table.find("USD")->numeric, 840);
}

TEST(MoneyCurrencyTable, AddRejectsMalformedCodes) {
    CurrencyTable table;
    EXPECT_TRUE(failed_with(table.add(synthetic("cnh", 2)), StatusCode::kInvalidArgument,
                            {"'cnh'", "upper-case"}));
    EXPECT_TRUE(
        failed_with(table.add(synthetic("C1H", 2)), StatusCode::kInvalidArgument, {"'C1H'"}));
    Currency blank;  // three NUL characters
    EXPECT_TRUE(failed_with(table.add(blank), StatusCode::kInvalidArgument, {"\\x00"}));
    EXPECT_EQ(table.all().size(), CurrencyTable::iso().all().size()) << "nothing added";
}

TEST(MoneyCurrencyTable, AddRejectsExponentAboveMax) {
    CurrencyTable table;
    EXPECT_TRUE(table.add(synthetic("AAA", kExponentMax)).is_ok());
    EXPECT_TRUE(failed_with(table.add(synthetic("AAB", kExponentMax + 1)),
                            StatusCode::kInvalidArgument, {"AAB", "exponent 7", "at most 6"}));
}

TEST(MoneyCurrencyTable, AddRejectsNonZeroNumeric) {
    CurrencyTable table;
    Currency with_numeric = synthetic("CNH", 2);
    with_numeric.numeric = 157;
    EXPECT_TRUE(failed_with(table.add(with_numeric), StatusCode::kInvalidArgument,
                            {"CNH", "numeric code 157"}));
}

TEST(MoneyCurrencyTable, AddRejectsTakenCodeWithDifferentExponent) {
    CurrencyTable table;
    EXPECT_TRUE(failed_with(table.add(synthetic("USD", 3)), StatusCode::kAlreadyExists,
                            {"USD", "exponent 2", "exponent 3"}));
    ASSERT_TRUE(table.add(synthetic("CNH", 2)).is_ok());
    EXPECT_TRUE(failed_with(table.add(synthetic("CNH", 0)), StatusCode::kAlreadyExists, {"CNH"}));
    EXPECT_EQ(table.find("CNH")->exponent, 2) << "the first definition stays";
}

TEST(MoneyCurrencyTable, CurrencyOrderIsByCode) {
    EXPECT_LT(testing::must_find("EUR"), testing::must_find("USD"));
    EXPECT_EQ(testing::must_find("USD").to_string(), "USD");
}

}  // namespace
}  // namespace fxsettle::money
