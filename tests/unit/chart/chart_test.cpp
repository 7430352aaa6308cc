#include "engine/chart/chart.h"

#include <gtest/gtest.h>

#include <set>

namespace fxsettle::engine {
namespace {

config::Config default_config() {
    auto config = config::load_default_config();
    EXPECT_TRUE(config.has_value()) << config.error().to_string();
    return *config;
}

TEST(Chart, CoversEveryCycleAndPairCurrencySortedByCode) {
    const auto config = default_config();
    const auto chart = Chart::build(config);
    ASSERT_TRUE(chart.has_value()) << chart.error().to_string();
    std::set<std::string> expected;
    for (const auto& cycle : config.cycles)
        expected.insert(cycle.currency.to_string());
    for (const auto& pair : config.pairs) {
        expected.insert(pair.pair.base.to_string());
        expected.insert(pair.pair.quote.to_string());
    }
    std::vector<std::string> got;
    for (const auto& currency : chart->currencies())
        got.push_back(currency.to_string());
    EXPECT_EQ(got, std::vector<std::string>(expected.begin(), expected.end()));
    EXPECT_TRUE(chart->currency_index("CNH").has_value()) << "CNH is a currency of its own";
    EXPECT_NE(chart->currency_index("CNH"), chart->currency_index("CNY"));
}

TEST(Chart, AccountIdsAndCodesAreUniqueAndMatchTheAccessors) {
    const auto chart = Chart::build(default_config());
    ASSERT_TRUE(chart.has_value());
    const auto accounts = chart->accounts();
    std::set<ledger::AccountId> ids;
    std::set<std::string> codes;
    for (const auto& account : accounts) {
        EXPECT_TRUE(ids.insert(account.id).second) << "duplicate id for " << account.code;
        EXPECT_TRUE(codes.insert(account.code).second) << "duplicate code " << account.code;
        EXPECT_LE(account.code.size(), ledger::kAccountCodeBytesMax) << account.code;
    }
    const auto psp = *chart->psp_index("alpha");
    const auto usd = *chart->currency_index("USD");
    EXPECT_TRUE(ids.count(chart->psp_available(psp, usd)));
    EXPECT_TRUE(ids.count(chart->psp_held(psp, usd)));
    EXPECT_TRUE(ids.count(chart->fx_position(usd)));
    const auto bank = *chart->bank_for(usd);
    EXPECT_EQ(chart->bank_id(bank), "bank-intl");
    EXPECT_TRUE(ids.count(chart->nostro(bank, usd)));
    EXPECT_EQ(chart->psp_available(psp, usd),
              Chart::account_id(OwnerType::kPsp, "alpha", ledger::AccountKind::kPspAvailable,
                                chart->currency(usd)));
}

TEST(Chart, IdsDoNotDependOnTheOrderOfTheConfig) {
    auto config = default_config();
    const auto first = Chart::build(config);
    std::reverse(config.psps.begin(), config.psps.end());
    std::reverse(config.banks.begin(), config.banks.end());
    const auto second = Chart::build(config);
    ASSERT_TRUE(first.has_value() && second.has_value());
    const auto usd1 = *first->currency_index("USD");
    const auto usd2 = *second->currency_index("USD");
    EXPECT_EQ(first->psp_available(*first->psp_index("coral"), usd1),
              second->psp_available(*second->psp_index("coral"), usd2));
    EXPECT_EQ(first->nostro(*first->bank_index("bank-intl"), usd1),
              second->nostro(*second->bank_index("bank-intl"), usd2));
}

}  // namespace
}  // namespace fxsettle::engine
