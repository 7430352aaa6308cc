// Business days and value dates on the compiled-in calendars: year end, consecutive
// holidays, holidays of one currency only, the loaded range, spot dates of majors and of
// CNY/CNH pairs, TOD/TOM/T+n/broken dates, the FIX SettlType mapping and rolling.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "calendar_test_support.h"
#include "config/config.h"
#include "engine/calendar/calendar.h"

namespace fxsettle::engine::calendar {
namespace {

using ::testing::AllOf;
using testing::currency;
using testing::day;
using ::testing::HasSubstr;
using testing::pair;
using testing::show;

class CalendarTest : public ::testing::Test {
  protected:
    void SetUp() override {
        config_ = testing::test_config();
        auto set = CalendarSet::from_config(config_);
        ASSERT_TRUE(set.has_value()) << set.error().message();
        set_.emplace(std::move(*set));
    }

    money::Currency ccy(std::string_view code) const { return currency(config_, code); }
    money::CurrencyPair p(std::string_view symbol) const { return pair(config_, symbol); }
    const CalendarSet& set() const { return *set_; }
    std::string spot(std::string_view symbol, Date trade) const {
        return show(set().spot_date(p(symbol), trade));
    }
    std::string value(std::string_view symbol, Date trade, const ValueDateRequest& request) const {
        return show(set().value_date(p(symbol), trade, request));
    }

    config::Config config_;
    std::optional<CalendarSet> set_;
};

// ---- single-currency business days -----------------------------------------------------

TEST_F(CalendarTest, DefaultConfigLoadsACalendarForEveryCurrency) {
    for (const char* code :
         {"USD", "EUR", "GBP", "JPY", "KRW", "AUD", "CAD", "SGD", "HKD", "CNY", "CNH"}) {
        const Calendar* calendar = set().find(ccy(code));
        ASSERT_NE(calendar, nullptr) << code << " has no calendar";
        EXPECT_EQ(format_date(calendar->first()), "2025-01-01") << code;
        EXPECT_EQ(format_date(calendar->last()), "2027-12-31") << code;
    }
}

TEST_F(CalendarTest, YearEndSkipsNewYearsDay) {
    EXPECT_EQ(show(set().is_business_day(ccy("USD"), day(2025, 12, 31))), "business day");
    EXPECT_EQ(show(set().is_business_day(ccy("USD"), day(2026, 1, 1))), "closed");
    EXPECT_EQ(show(set().next_business_day(ccy("USD"), day(2025, 12, 31))), "2026-01-02");
    // JPY: 31 December and 1-2 January are bank holidays; 3-4 January 2026 a weekend.
    EXPECT_EQ(show(set().next_business_day(ccy("JPY"), day(2025, 12, 30))), "2026-01-05");
}

TEST_F(CalendarTest, ChristmasWeekInTargetSkipsTwoHolidaysAndAWeekend) {
    const Calendar* eur = set().find(ccy("EUR"));
    ASSERT_NE(eur, nullptr);
    EXPECT_EQ(show(eur->next_business_day(day(2025, 12, 24))), "2025-12-29");
    EXPECT_EQ(show(eur->previous_business_day(day(2025, 12, 29))), "2025-12-24");
    EXPECT_EQ(show(eur->add_business_days(day(2025, 12, 23), 2)), "2025-12-29");
    EXPECT_EQ(show(eur->add_business_days(day(2025, 12, 29), -2)), "2025-12-23");
    EXPECT_EQ(eur->holiday_name(day(2025, 12, 26)).value_or("-"), "Christmas Holiday");
}

TEST_F(CalendarTest, GoldenWeekClosesCnyForSevenBusinessDaysInARow) {
    const Calendar* cny = set().find(ccy("CNY"));
    ASSERT_NE(cny, nullptr);
    EXPECT_EQ(show(cny->next_business_day(day(2025, 9, 30))), "2025-10-09");
    EXPECT_EQ(cny->closed_reason(day(2025, 10, 6)), "Mid-Autumn Festival and National Day");
    // A make-up working weekend is not a settlement day (README: CNY).
    EXPECT_EQ(show(cny->is_business_day(day(2025, 9, 28))), "closed");
    EXPECT_EQ(show(cny->is_business_day(day(2025, 10, 11))), "closed");
    EXPECT_EQ(cny->closed_reason(day(2025, 10, 11)), "a Saturday");
}

TEST_F(CalendarTest, JapaneseGoldenWeekIncludesTheSubstituteHoliday) {
    EXPECT_EQ(show(set().next_business_day(ccy("JPY"), day(2025, 5, 2))), "2025-05-07");
    EXPECT_EQ(show(set().add_business_days(ccy("JPY"), day(2025, 5, 1), 2)), "2025-05-07");
}

TEST_F(CalendarTest, HolidayOfOneCurrencyOnlyClosesOnlyThatCurrency) {
    const Date july_4 = day(2025, 7, 4);
    EXPECT_EQ(show(set().is_business_day(ccy("USD"), july_4)), "closed");
    EXPECT_EQ(show(set().is_business_day(ccy("EUR"), july_4)), "business day");
    EXPECT_EQ(show(set().is_business_day(ccy("JPY"), july_4)), "business day");
    EXPECT_EQ(show(set().is_good_day(p("EUR/USD"), july_4)), "closed");
    EXPECT_EQ(show(set().is_good_day(p("EUR/JPY"), july_4)), "business day");
}

TEST_F(CalendarTest, CnyAndCnhHaveTheirOwnCalendars) {
    // Mainland golden week closes CNY but not CNH (Hong Kong is open on 2 October) ...
    EXPECT_EQ(show(set().is_business_day(ccy("CNY"), day(2025, 10, 2))), "closed");
    EXPECT_EQ(show(set().is_business_day(ccy("CNH"), day(2025, 10, 2))), "business day");
    // ... and Hong Kong's Chung Yeung Festival closes CNH but not CNY.
    EXPECT_EQ(show(set().is_business_day(ccy("CNH"), day(2025, 10, 29))), "closed");
    EXPECT_EQ(show(set().is_business_day(ccy("CNY"), day(2025, 10, 29))), "business day");
}

TEST_F(CalendarTest, DatePastTheLoadedRangeIsAnErrorNamingCurrencyDateAndRange) {
    const auto result = set().is_business_day(ccy("USD"), day(2028, 1, 3));
    ASSERT_FALSE(result.has_value()) << "a date past the data must not count as a business day";
    EXPECT_EQ(result.error().code(), StatusCode::kOutOfRange);
    EXPECT_THAT(result.error().message(), AllOf(HasSubstr("2028-01-03"), HasSubstr("USD"),
                                                HasSubstr("2025-01-01..2027-12-31")));
    EXPECT_THAT(show(set().is_business_day(ccy("USD"), day(2024, 12, 31))),
                HasSubstr("error(out_of_range): 2024-12-31 is outside the USD holiday calendar"));
    // The last loaded day has no next business day inside the data.
    EXPECT_THAT(show(set().next_business_day(ccy("EUR"), day(2027, 12, 31))),
                HasSubstr("error(out_of_range): 2028-01-01 is outside the EUR"));
    // A spot date that would fall past the data is an error too, not a guess.
    EXPECT_THAT(spot("EUR/USD", day(2027, 12, 30)), HasSubstr("error(out_of_range): 2028-01-01"));
}

TEST_F(CalendarTest, CurrencyWithoutCalendarIsNotFound) {
    const auto result = set().is_business_day(ccy("CHF"), day(2025, 3, 3));
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code(), StatusCode::kNotFound);
    EXPECT_THAT(result.error().message(), HasSubstr("CHF"));
}

// ---- spot dates -----------------------------------------------------------------------

TEST_F(CalendarTest, EurUsdSpotIsTPlusTwoBusinessDays) {
    EXPECT_EQ(spot("EUR/USD", day(2025, 3, 3)), "2025-03-05");  // Mon -> Wed
    EXPECT_EQ(spot("EUR/USD", day(2025, 3, 6)), "2025-03-10");  // Thu -> Mon
    EXPECT_EQ(spot("USD/EUR", day(2025, 3, 6)), "2025-03-10");  // either direction
    EXPECT_EQ(spot("EUR/USD", day(2025, 12, 22)), "2025-12-24");
    EXPECT_EQ(spot("EUR/USD", day(2025, 12, 23)), "2025-12-29");  // over Christmas
    EXPECT_EQ(spot("EUR/USD", day(2025, 12, 30)), "2026-01-02");  // over year end
}

TEST_F(CalendarTest, UsdHolidayOnTPlusOneDoesNotDelayAUsdPair) {
    // Trade Thu 3 July: T+1 is 4 July, a US holiday that still counts (only JPY days
    // count), so spot is Mon 7 July, not Tue 8 July.
    EXPECT_EQ(spot("USD/JPY", day(2025, 7, 3)), "2025-07-07");
}

TEST_F(CalendarTest, SpotOnAUsdHolidayMovesToTheNextDayBothSettle) {
    EXPECT_EQ(spot("USD/JPY", day(2025, 7, 2)), "2025-07-07");
    EXPECT_EQ(spot("GBP/USD", day(2025, 11, 25)), "2025-11-28");  // Thanksgiving
}

TEST_F(CalendarTest, UsdJpySpotSkipsJapaneseGoldenWeek) {
    EXPECT_EQ(spot("USD/JPY", day(2025, 5, 1)), "2025-05-07");
    EXPECT_EQ(spot("USD/JPY", day(2025, 5, 2)), "2025-05-08");
}

TEST_F(CalendarTest, UsdCadSpotIsTPlusOne) {
    ASSERT_EQ(set().spot_days(p("USD/CAD")).value_or(99), 1U);
    EXPECT_EQ(spot("USD/CAD", day(2025, 3, 3)), "2025-03-04");
    // Canada Day on T+1 does not count: spot is the next CAD day.
    EXPECT_EQ(spot("USD/CAD", day(2025, 6, 30)), "2025-07-02");
    // T+1 is 4 July: a CAD day, but USD does not settle; spot moves to Monday.
    EXPECT_EQ(spot("USD/CAD", day(2025, 7, 3)), "2025-07-07");
}

TEST_F(CalendarTest, UsdCnySpotSkipsTheWholeGoldenWeek) {
    EXPECT_EQ(spot("USD/CNY", day(2025, 9, 29)), "2025-10-09");
    EXPECT_EQ(spot("USD/CNY", day(2025, 9, 30)), "2025-10-10");
}

TEST_F(CalendarTest, UsdCnySpotDoesNotCountTheMakeUpWorkingSaturday) {
    // Spring Festival 2026: closed 16-20 and 23 February; Sat 14 February is a make-up
    // working day that fxsettle does not settle on.
    EXPECT_EQ(spot("USD/CNY", day(2026, 2, 12)), "2026-02-24");
    EXPECT_EQ(spot("USD/CNY", day(2026, 2, 13)), "2026-02-25");
}

TEST_F(CalendarTest, UsdCnhSpotFollowsHongKongNotTheMainland) {
    EXPECT_EQ(spot("USD/CNH", day(2025, 9, 29)), "2025-10-02");  // HK closed on 1 Oct only
    EXPECT_EQ(spot("USD/CNH", day(2025, 10, 2)), "2025-10-06");
    EXPECT_EQ(spot("USD/CNH", day(2025, 10, 3)), "2025-10-08");  // 7 Oct: Mid-Autumn (HK)
}

TEST_F(CalendarTest, CnhCnySpotNeedsBothRenminbiCalendars) {
    // T+1 is the first day both are open after golden week (9 Oct), T+2 the 10th.
    EXPECT_EQ(spot("CNH/CNY", day(2025, 9, 30)), "2025-10-10");
    EXPECT_EQ(spot("CNY/CNH", day(2025, 9, 30)), "2025-10-10");
}

TEST_F(CalendarTest, CrossSpotSkipsUsdHolidaysWhenItsConventionSaysSo) {
    ASSERT_TRUE(set().needs_usd_day(p("CNH/CNY")));
    ASSERT_TRUE(set().needs_usd_day(p("EUR/JPY")));
    ASSERT_FALSE(set().needs_usd_day(p("EUR/GBP")));  // configured skip_usd_holidays = false
    ASSERT_FALSE(set().needs_usd_day(p("USD/JPY")));  // a USD pair: USD is one of its sides
    // Trade Wed 2 July 2025: T+2 is 4 July, a US holiday.
    EXPECT_EQ(spot("CNH/CNY", day(2025, 7, 2)), "2025-07-07");
    EXPECT_EQ(spot("EUR/JPY", day(2025, 7, 2)), "2025-07-07");
    EXPECT_EQ(spot("EUR/GBP", day(2025, 7, 2)), "2025-07-04");
    // A US holiday on T+1 does not count against a cross either.
    EXPECT_EQ(spot("EUR/JPY", day(2025, 7, 3)), "2025-07-07");
}

TEST_F(CalendarTest, SpotOfAPairThatIsNotConfiguredIsNotFound) {
    const auto result = set().spot_date(p("GBP/JPY"), day(2025, 3, 3));
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code(), StatusCode::kNotFound);
    EXPECT_THAT(result.error().message(), HasSubstr("GBP/JPY"));
}

TEST_F(CalendarTest, SpotOfAWeekendTradeCountsFromTheWeekend) {
    EXPECT_EQ(spot("EUR/USD", day(2025, 3, 8)), "2025-03-11");  // Sat -> Mon, Tue
}

// ---- TOD, TOM, T+n and broken dates -----------------------------------------------------

TEST_F(CalendarTest, TodIsTheTradeDateWhenBothCurrenciesSettle) {
    EXPECT_EQ(show(set().value_date(p("EUR/USD"), day(2025, 3, 4), Tenor::kToday)), "2025-03-04");
}

TEST_F(CalendarTest, TodOnAHolidayIsRejectedNamingTheCurrencyAndHoliday) {
    const auto result = set().value_date(p("EUR/USD"), day(2025, 7, 4), Tenor::kToday);
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(result.error().message(), AllOf(HasSubstr("TOD"), HasSubstr("2025-07-04"),
                                                HasSubstr("USD"), HasSubstr("Independence Day")));
}

TEST_F(CalendarTest, TodOnAHolidayRollsWhenAsked) {
    EXPECT_EQ(value("EUR/USD", day(2025, 7, 4), {Tenor::kToday, std::nullopt, Roll::kFollowing}),
              "2025-07-07");
}

TEST_F(CalendarTest, TomIsTheNextDayBothCurrenciesSettle) {
    EXPECT_EQ(show(set().value_date(p("EUR/USD"), day(2025, 3, 4), Tenor::kTomorrow)),
              "2025-03-05");
    EXPECT_EQ(show(set().value_date(p("EUR/USD"), day(2025, 12, 24), Tenor::kTomorrow)),
              "2025-12-29");
    EXPECT_EQ(show(set().value_date(p("USD/CNY"), day(2025, 9, 30), Tenor::kTomorrow)),
              "2025-10-09");
}

TEST_F(CalendarTest, TPlusNCountsLikeSpotWithAFixedNumberOfDays) {
    // USD/CAD spot is T+1, but SettlType 3 asks for T+2 explicitly.
    EXPECT_EQ(show(set().value_date(p("USD/CAD"), day(2025, 3, 3), Tenor::kSpot)), "2025-03-04");
    EXPECT_EQ(show(set().value_date(p("USD/CAD"), day(2025, 3, 3), Tenor::kTPlus2)), "2025-03-05");
    EXPECT_EQ(show(set().value_date(p("USD/CAD"), day(2025, 3, 3), Tenor::kTPlus3)), "2025-03-06");
    EXPECT_EQ(show(set().value_date(p("USD/CAD"), day(2025, 3, 3), Tenor::kTPlus4)), "2025-03-07");
    EXPECT_EQ(show(set().value_date(p("EUR/USD"), day(2025, 3, 6), Tenor::kTPlus3)), "2025-03-11");
}

TEST_F(CalendarTest, BrokenDateOnAGoodDayIsKept) {
    EXPECT_EQ(value("USD/CNY", day(2025, 3, 3), {Tenor::kBroken, day(2025, 4, 15), Roll::kNone}),
              "2025-04-15");
    EXPECT_EQ(value("USD/CNY", day(2025, 3, 3), {Tenor::kBroken, day(2025, 3, 3), Roll::kNone}),
              "2025-03-03")
        << "a broken date on the trade date itself is allowed";
}

TEST_F(CalendarTest, BrokenDateBeforeTheTradeDateIsRejected) {
    EXPECT_THAT(
        value("USD/CNY", day(2025, 3, 3), {Tenor::kBroken, day(2025, 2, 28), Roll::kFollowing}),
        HasSubstr("error(invalid_argument): value date 2025-02-28 is before the trade date "
                  "2025-03-03"));
}

TEST_F(CalendarTest, BrokenDateOnAHolidayOfEitherCurrencyIsRejectedUnlessRolled) {
    EXPECT_THAT(value("USD/CNY", day(2025, 9, 1), {Tenor::kBroken, day(2025, 10, 3), Roll::kNone}),
                AllOf(HasSubstr("error(invalid_argument)"), HasSubstr("2025-10-03"),
                      HasSubstr("CNY"), HasSubstr("National Day")));
    EXPECT_EQ(
        value("USD/CNY", day(2025, 9, 1), {Tenor::kBroken, day(2025, 10, 3), Roll::kFollowing}),
        "2025-10-09");
    EXPECT_EQ(
        value("USD/CNY", day(2025, 9, 1), {Tenor::kBroken, day(2025, 11, 27), Roll::kFollowing}),
        "2025-11-28")
        << "Thanksgiving closes USD only";
}

TEST_F(CalendarTest, ModifiedFollowingStaysInTheMonth) {
    // Sat 31 May 2025: following is Mon 2 June, in the next month, so modified following
    // goes back to Fri 30 May.
    EXPECT_EQ(value("EUR/USD", day(2025, 5, 1),
                    {Tenor::kBroken, day(2025, 5, 31), Roll::kModifiedFollowing}),
              "2025-05-30");
    EXPECT_EQ(
        value("EUR/USD", day(2025, 5, 1), {Tenor::kBroken, day(2025, 5, 31), Roll::kFollowing}),
        "2025-06-02");
}

TEST_F(CalendarTest, BrokenTenorWithoutADateIsRejected) {
    EXPECT_THAT(show(set().value_date(p("EUR/USD"), day(2025, 3, 3), Tenor::kBroken)),
                HasSubstr("error(invalid_argument): a broken date needs the value date"));
}

// ---- FIX SettlType (63) and SettlDate (64) ---------------------------------------------

TEST(CalendarFix, SettlTypeCodesMapOntoTenors) {
    const struct {
        std::string_view settl_type;
        Tenor tenor;
    } cases[] = {{"", Tenor::kSpot},      {"0", Tenor::kSpot},   {"1", Tenor::kToday},
                 {"2", Tenor::kTomorrow}, {"3", Tenor::kTPlus2}, {"4", Tenor::kTPlus3},
                 {"5", Tenor::kTPlus4}};
    for (const auto& c : cases) {
        const auto request = request_from_fix(c.settl_type, std::nullopt);
        ASSERT_TRUE(request.has_value()) << "SettlType \"" << c.settl_type << "\"";
        EXPECT_EQ(tenor_name(request->tenor), tenor_name(c.tenor))
            << "SettlType \"" << c.settl_type << "\"";
        EXPECT_FALSE(request->date.has_value());
    }
}

TEST(CalendarFix, FutureAndBrokenSettlTypesCarryTheSettlDate) {
    const Date date = testing::day(2025, 8, 14);
    for (const std::string_view settl_type : {"6", "B"}) {
        const auto request = request_from_fix(settl_type, date, Roll::kFollowing);
        ASSERT_TRUE(request.has_value()) << settl_type;
        EXPECT_EQ(*request, (ValueDateRequest{Tenor::kBroken, date, Roll::kFollowing}))
            << settl_type;
    }
}

TEST(CalendarFix, FutureWithoutSettlDateIsRejected) {
    const auto request = request_from_fix("6", std::nullopt);
    ASSERT_FALSE(request.has_value());
    EXPECT_EQ(request.error().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(request.error().message(), HasSubstr("needs a SettlDate (64)"));
}

TEST(CalendarFix, UnsupportedSettlTypeIsRejectedListingTheSupportedOnes) {
    for (const std::string_view settl_type : {"7", "M1", "W1", "C", "00"}) {
        const auto request = request_from_fix(settl_type, std::nullopt);
        ASSERT_FALSE(request.has_value()) << settl_type;
        EXPECT_THAT(request.error().message(),
                    AllOf(HasSubstr("unsupported SettlType (63) \"" + std::string(settl_type)),
                          HasSubstr("B (broken date)")));
    }
}

TEST_F(CalendarTest, SettlDateAlongsideRegularSettlTypeMustMatchTheSpotDate) {
    auto matching = request_from_fix("0", day(2025, 3, 5));
    ASSERT_TRUE(matching.has_value());
    EXPECT_EQ(value("EUR/USD", day(2025, 3, 3), *matching), "2025-03-05");
    auto contradicting = request_from_fix("0", day(2025, 3, 6));
    ASSERT_TRUE(contradicting.has_value());
    EXPECT_THAT(value("EUR/USD", day(2025, 3, 3), *contradicting),
                HasSubstr("error(invalid_argument): SettlDate (64) 2025-03-06 does not match the "
                          "SPOT value date 2025-03-05 of EUR/USD traded on 2025-03-03"));
}

TEST_F(CalendarTest, FixFutureSettlTypeGivesACheckedBrokenDate) {
    auto request = request_from_fix("6", day(2025, 12, 25));
    ASSERT_TRUE(request.has_value());
    EXPECT_THAT(value("EUR/USD", day(2025, 12, 1), *request),
                AllOf(HasSubstr("error(invalid_argument)"), HasSubstr("Christmas Day")));
}

// ---- single-currency value dates (payouts) ---------------------------------------------

TEST_F(CalendarTest, PayoutValueDateOnAHolidayIsRejectedWithTheReason) {
    const auto result = set().check_value_date(ccy("CNY"), day(2025, 10, 1), Roll::kNone);
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(result.error().message(), "2025-10-01 is not a business day of CNY (National Day)");
}

TEST_F(CalendarTest, PayoutValueDateRollsToTheFollowingBusinessDayWhenAsked) {
    EXPECT_EQ(show(set().check_value_date(ccy("CNY"), day(2025, 10, 1), Roll::kFollowing)),
              "2025-10-09");
    EXPECT_EQ(show(set().check_value_date(ccy("USD"), day(2025, 5, 31), Roll::kFollowing)),
              "2025-06-02");
    EXPECT_EQ(show(set().check_value_date(ccy("USD"), day(2025, 5, 31), Roll::kModifiedFollowing)),
              "2025-05-30");
    EXPECT_EQ(show(set().check_value_date(ccy("KRW"), day(2025, 3, 4), Roll::kNone)), "2025-03-04");
}

TEST_F(CalendarTest, PayoutValueDateBeforeTodayIsRejectedWhateverTheRoll) {
    EXPECT_THAT(show(set().check_value_date(ccy("EUR"), day(2025, 3, 3), Roll::kFollowing,
                                            day(2025, 3, 4))),
                HasSubstr("error(invalid_argument): value date 2025-03-03 is before today "
                          "(2025-03-04)"));
    // Modified following from Sat 31 May back to Fri 30 May, when today is 30 May, is
    // fine; when today is 31 May it would go back before today.
    EXPECT_EQ(show(set().check_value_date(ccy("USD"), day(2025, 5, 31), Roll::kModifiedFollowing,
                                          day(2025, 5, 30))),
              "2025-05-30");
    EXPECT_THAT(show(set().check_value_date(ccy("USD"), day(2025, 5, 31), Roll::kModifiedFollowing,
                                            day(2025, 5, 31))),
                HasSubstr("before today"));
}

}  // namespace
}  // namespace fxsettle::engine::calendar
