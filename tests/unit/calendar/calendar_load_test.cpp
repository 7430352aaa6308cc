// Loading calendars: the compiled-in files, a deployment's own directory, the config's
// extra closures, a Friday/Saturday weekend, and every load error with its file and line.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "calendar_test_support.h"
#include "config/calendar_file.h"
#include "config/config.h"
#include "engine/calendar/calendar.h"

namespace fxsettle::engine::calendar {
namespace {

using ::testing::AllOf;
using testing::day;
using ::testing::HasSubstr;
using testing::show;
using ::testing::StartsWith;

constexpr std::string_view kSource = "XTS.toml";

// A valid calendar text; tests break one thing in it.
std::string valid_calendar() {
    return R"(currency = "USD"
weekend = ["Saturday", "Sunday"]
first = "2025-01-01"
last = "2025-12-31"
holidays = [
    { date = "2025-01-01", name = "New Year's Day" },
    { date = "2025-07-04", name = "Independence Day" },
    { date = "2025-12-25", name = "Christmas Day" },
]
)";
}

std::string replaced(std::string text, std::string_view from, std::string_view to) {
    const auto at = text.find(from);
    EXPECT_NE(at, std::string::npos) << "the test's calendar has no \"" << from << "\"";
    if (at != std::string::npos) {
        text.replace(at, from.size(), to);
    }
    return text;
}

// The load error of `text` (parsed as kSource); fails the test when it loads.
std::string load_error(const std::string& text, std::string_view expected_code = {}) {
    auto data = config::parse_calendar(text, kSource, money::CurrencyTable::iso(), expected_code);
    EXPECT_FALSE(data.has_value()) << "expected the calendar to be rejected:\n" << text;
    if (data.has_value()) {
        return {};
    }
    EXPECT_EQ(data.error().code(), StatusCode::kInvalidArgument) << data.error().message();
    return data.error().message();
}

std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in.good()) << "cannot read " << path;
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

// A temporary directory of calendar files, removed at the end of the test.
class TempDir {
  public:
    TempDir() {
        static int counter = 0;
        path_ = std::filesystem::temp_directory_path() /
                ("fxsettle_calendar_test_" + std::to_string(::getpid()) + "_" +
                 std::to_string(counter++));
        std::filesystem::create_directories(path_);
    }
    ~TempDir() {
        std::error_code ignored;
        std::filesystem::remove_all(path_, ignored);
    }
    TempDir(const TempDir&) = delete;
    TempDir& operator=(const TempDir&) = delete;

    void write(const std::string& name, const std::string& text) const {
        std::ofstream(path_ / name, std::ios::binary) << text;
    }
    std::string path() const { return path_.string(); }

  private:
    std::filesystem::path path_;
};

// ---- the compiled-in calendars ----------------------------------------------------------

TEST(CalendarLoad, EmbeddedCalendarsAreTheFilesOfConfigCalendars) {
    std::map<std::string, std::string> on_disk;
    for (const auto& entry : std::filesystem::directory_iterator(testing::calendar_source_dir())) {
        if (entry.path().extension() == ".toml") {
            on_disk[entry.path().filename().string()] = read_file(entry.path());
        }
    }
    std::map<std::string, std::string> embedded;
    for (const config::EmbeddedFile& file : config::default_calendar_files()) {
        embedded[std::string(file.name)] = std::string(file.text);
    }
    EXPECT_EQ(embedded.size(), on_disk.size()) << "a calendar file was added or removed "
                                                  "without re-running CMake";
    for (const auto& [name, text] : on_disk) {
        ASSERT_TRUE(embedded.count(name) == 1) << name << " is not compiled in";
        EXPECT_TRUE(embedded[name] == text)
            << name << ": the compiled-in copy differs: the build did not regenerate it";
    }
}

TEST(CalendarLoad, EveryDefaultCalendarCoversTwentyTwentyFiveToTwentyTwentySeven) {
    config::Config config = testing::test_config();
    for (const config::EmbeddedFile& file : config::default_calendar_files()) {
        const std::string_view code = file.name.substr(0, 3);
        auto data = config::parse_calendar(file.text, file.name, config.currency_table, code);
        ASSERT_TRUE(data.has_value()) << data.error().message();
        EXPECT_EQ(format_date(data->first), "2025-01-01") << file.name;
        EXPECT_EQ(format_date(data->last), "2027-12-31") << file.name;
        EXPECT_GE(data->holidays.size(), 14U) << file.name << ": too few holidays to be real";
        EXPECT_EQ(data->weekend_mask, 0b1000001) << file.name << ": Saturday and Sunday";
    }
}

TEST(CalendarLoad, CnhCalendarIsHongKongsWithoutMainlandClosures) {
    config::Config config = testing::test_config();
    std::map<std::string, config::CalendarData> by_code;
    for (const config::EmbeddedFile& file : config::default_calendar_files()) {
        auto data = config::parse_calendar(file.text, file.name, config.currency_table);
        ASSERT_TRUE(data.has_value()) << data.error().message();
        by_code[data->currency.to_string()] = *data;
    }
    const auto dates = [](const config::CalendarData& data) {
        std::vector<Date> out;
        for (const auto& holiday : data.holidays) {
            out.push_back(holiday.date);
        }
        return out;
    };
    EXPECT_EQ(dates(by_code.at("CNH")), dates(by_code.at("HKD")));
    EXPECT_NE(dates(by_code.at("CNH")), dates(by_code.at("CNY")));
    EXPECT_FALSE(by_code.at("CNY").working_weekends.empty())
        << "CNY records the make-up working weekends";
}

TEST(CalendarLoad, ConfigWithoutCnhSkipsTheCnhCalendar) {
    auto config = config::load_config_string(
        "[node]\nname = \"n\"\n[[pairs]]\nsymbol = \"EUR/USD\"\ntick = \"0.00001\"\n"
        "min_qty = \"1\"\n",
        "test.toml");
    ASSERT_TRUE(config.has_value()) << config.error().message();
    auto set = CalendarSet::from_config(*config);
    ASSERT_TRUE(set.has_value()) << set.error().message();
    EXPECT_EQ(set->calendars().size(), 10U);
}

// ---- the config's extra closures ------------------------------------------------------

TEST(CalendarLoad, CycleHolidaysAreExtraClosuresOnTopOfTheCalendar) {
    config::Config config = testing::test_config();
    const money::Currency cnh = testing::currency(config, "CNH");
    for (config::CycleConfig& cycle : config.cycles) {
        if (cycle.currency == cnh) {
            // A typhoon day (Wed) and a day that is a holiday already (accepted, no change).
            cycle.holidays = {std::chrono::year{2025} / 9 / 24, std::chrono::year{2025} / 12 / 25};
        }
    }
    auto set = CalendarSet::from_config(config);
    ASSERT_TRUE(set.has_value()) << set.error().message();
    EXPECT_EQ(show(set->is_business_day(cnh, day(2025, 9, 24))), "closed");
    EXPECT_EQ(set->find(cnh)->closed_reason(day(2025, 9, 24)), "extra closure (config)");
    EXPECT_EQ(set->find(cnh)->closed_reason(day(2025, 12, 25)), "Christmas Day");
    EXPECT_EQ(show(set->is_business_day(testing::currency(config, "HKD"), day(2025, 9, 24))),
              "business day")
        << "a CNH closure must not close HKD";
}

TEST(CalendarLoad, ExtraClosureOnAWeekendOrOutsideTheRangeIsALoadError) {
    config::Config config = testing::test_config();
    config.cycles.at(0).holidays = {std::chrono::year{2025} / 10 / 11,
                                    std::chrono::year{2024} / 2 / 29};
    auto set = CalendarSet::from_config(config);
    ASSERT_FALSE(set.has_value());
    const std::string currency = config.cycles.at(0).currency.to_string();
    EXPECT_THAT(set.error().message(),
                AllOf(HasSubstr("default.toml (embedded): cycles[0].holidays[0]: 2025-10-11 is a "
                                "Saturday, a weekend day of the " +
                                currency + " calendar"),
                      HasSubstr("cycles[0].holidays[1]: 2024-02-29 is outside the " + currency +
                                " holiday calendar (2025-01-01..2027-12-31)")));
}

TEST(CalendarLoad, PairCurrencyWithoutCalendarIsALoadErrorNamingThePair) {
    config::Config config = testing::test_config();
    testing::add_pair(config, "USD/CHF");
    auto set = CalendarSet::from_config(config);
    ASSERT_FALSE(set.has_value());
    EXPECT_EQ(set.error().code(), StatusCode::kInvalidArgument);
    EXPECT_THAT(set.error().message(),
                HasSubstr("(USD/CHF): no holiday calendar for CHF: CHF.toml is not among the "
                          "compiled-in calendars"));
}

// ---- a deployment's own directory, with a Friday/Saturday weekend -------------------------

constexpr const char* kSarCalendar = R"(# A test calendar with a Friday/Saturday weekend.
currency = "SAR"
weekend = ["Friday", "Saturday"]
first = "2025-01-01"
last = "2025-12-31"
holidays = [
    { date = "2025-03-30", name = "Eid al-Fitr holiday" },
    { date = "2025-03-31", name = "Eid al-Fitr holiday" },
]
)";

constexpr const char* kUsdCalendar = R"(currency = "USD"
weekend = ["Saturday", "Sunday"]
first = "2025-01-01"
last = "2025-12-31"
holidays = [{ date = "2025-07-04", name = "Independence Day" }]
)";

Result<CalendarSet> load_directory(const TempDir& dir, std::vector<std::string> pairs) {
    auto config = config::load_default_config();
    EXPECT_TRUE(config.has_value());
    config->calendars.directory = dir.path();
    config->pairs.clear();
    config->cycles.clear();
    for (const std::string& symbol : pairs) {
        testing::add_pair(*config, symbol);
    }
    return CalendarSet::from_config(*config);
}

TEST(CalendarLoad, FridaySaturdayWeekendCalendarSettlesOnSunday) {
    TempDir dir;
    dir.write("SAR.toml", kSarCalendar);
    dir.write("USD.toml", kUsdCalendar);
    dir.write("README.md", "not a calendar: ignored");
    auto set = load_directory(dir, {"USD/SAR"});
    ASSERT_TRUE(set.has_value()) << set.error().message();
    const Calendar* sar = set->find(money::CurrencyTable::iso().find("SAR").value());
    ASSERT_NE(sar, nullptr);
    EXPECT_EQ(show(sar->is_business_day(day(2025, 3, 7))), "closed");  // Friday
    EXPECT_EQ(sar->closed_reason(day(2025, 3, 7)), "a Friday");
    EXPECT_EQ(show(sar->is_business_day(day(2025, 3, 9))), "business day");   // Sunday
    EXPECT_EQ(show(sar->next_business_day(day(2025, 3, 6))), "2025-03-09");   // Thu -> Sun
    EXPECT_EQ(show(sar->next_business_day(day(2025, 3, 27))), "2025-04-01");  // over Eid
    // USD/SAR traded Thursday: T+1 is Sunday (a SAR day), T+2 Monday, a day both settle.
    const auto usd_sar = money::parse_pair("USD/SAR").value();
    EXPECT_EQ(show(set->spot_date(usd_sar, day(2025, 3, 6))), "2025-03-10");
    // Traded Wednesday: T+2 is Sunday, when USD does not settle: Monday.
    EXPECT_EQ(show(set->spot_date(usd_sar, day(2025, 3, 5))), "2025-03-10");
}

TEST(CalendarLoad, DirectoryThatDoesNotExistIsNotFound) {
    auto config = config::load_default_config();
    ASSERT_TRUE(config.has_value());
    config->calendars.directory = "/nonexistent/fxsettle-calendars";
    auto set = CalendarSet::from_config(*config);
    ASSERT_FALSE(set.has_value());
    EXPECT_EQ(set.error().code(), StatusCode::kNotFound);
    EXPECT_THAT(set.error().message(), StartsWith("/nonexistent/fxsettle-calendars: "));
}

TEST(CalendarLoad, DirectoryFileForAnUnknownCurrencyIsALoadError) {
    TempDir dir;
    dir.write("USD.toml", kUsdCalendar);
    dir.write("XYZ.toml", replaced(kUsdCalendar, "\"USD\"", "\"XYZ\""));
    auto set = load_directory(dir, {});
    ASSERT_FALSE(set.has_value());
    EXPECT_THAT(set.error().message(),
                HasSubstr(dir.path() + "/XYZ.toml:1:12: currency: unknown currency 'XYZ'"));
}

TEST(CalendarLoad, DirectoryFileNamedForAnotherCurrencyIsALoadError) {
    TempDir dir;
    dir.write("EUR.toml", kUsdCalendar);
    auto set = load_directory(dir, {});
    ASSERT_FALSE(set.has_value());
    EXPECT_THAT(set.error().message(),
                HasSubstr(dir.path() + "/EUR.toml:1:12: currency: \"USD\" does not match the "
                                       "file name: a calendar for USD must be named USD.toml"));
}

TEST(CalendarLoad, DirectoryListsTheErrorsOfEveryFile) {
    TempDir dir;
    dir.write("USD.toml", replaced(kUsdCalendar, "2025-07-04", "2025-07-05"));
    dir.write("SAR.toml", replaced(kSarCalendar, "\"Friday\"", "\"Fri\""));
    auto set = load_directory(dir, {});
    ASSERT_FALSE(set.has_value());
    EXPECT_THAT(set.error().message(),
                AllOf(HasSubstr("SAR.toml:3:12: weekend[0]: \"Fri\" is not a day name"),
                      HasSubstr("USD.toml:5:22: holidays[0].date: \"2025-07-05\" (Independence "
                                "Day) is a Saturday")));
}

// ---- every load error of a calendar file, with file, line and column ---------------------

TEST(CalendarFileErrors, TheBaseCalendarOfTheseTestsIsValid) {
    auto data = config::parse_calendar(valid_calendar(), kSource, money::CurrencyTable::iso());
    ASSERT_TRUE(data.has_value()) << data.error().message();
    EXPECT_EQ(data->holidays.size(), 3U);
    EXPECT_EQ(data->holidays[1].name, "Independence Day");
    EXPECT_EQ(data->holidays[1].line, 7U);
}

TEST(CalendarFileErrors, SyntaxErrorNamesFileAndLine) {
    EXPECT_THAT(load_error(replaced(valid_calendar(), "last = ", "last == ")),
                AllOf(StartsWith("XTS.toml:4:"), HasSubstr("TOML syntax error")));
}

TEST(CalendarFileErrors, UnknownCurrencyIsRejected) {
    EXPECT_THAT(load_error(replaced(valid_calendar(), "\"USD\"", "\"XTS\"")),
                HasSubstr("XTS.toml:1:12: currency: unknown currency 'XTS'"));
}

TEST(CalendarFileErrors, CurrencyThatIsNotTheFileNameIsRejected) {
    EXPECT_THAT(load_error(valid_calendar(), "EUR"),
                HasSubstr("XTS.toml:1:12: currency: \"USD\" does not match the file name"));
}

TEST(CalendarFileErrors, MissingKeysAreNamed) {
    const std::string text = "currency = \"USD\"\n";
    const std::string error = load_error(text);
    for (const char* key : {"weekend", "first", "last", "holidays"}) {
        EXPECT_THAT(error, HasSubstr(std::string(key) + ": missing required key")) << key;
    }
}

TEST(CalendarFileErrors, UnknownKeyIsRejected) {
    EXPECT_THAT(load_error(valid_calendar() + "timezone = \"UTC\"\n"),
                HasSubstr("XTS.toml:10:1: timezone: unknown key"));
    EXPECT_THAT(load_error(replaced(valid_calendar(), "name = \"Christmas Day\"",
                                    "name = \"Christmas Day\", half_day = true")),
                HasSubstr("XTS.toml:8:52: holidays[2].half_day: unknown key"));
}

TEST(CalendarFileErrors, UnknownWeekendDayIsRejected) {
    EXPECT_THAT(load_error(replaced(valid_calendar(), "\"Sunday\"", "\"Sun\"")),
                HasSubstr("XTS.toml:2:24: weekend[1]: \"Sun\" is not a day name; use Monday .. "
                          "Sunday"));
}

TEST(CalendarFileErrors, DuplicateWeekendDayIsRejected) {
    EXPECT_THAT(load_error(replaced(valid_calendar(), "\"Sunday\"", "\"Saturday\"")),
                HasSubstr("XTS.toml:2:24: weekend[1]: duplicate day \"Saturday\""));
}

TEST(CalendarFileErrors, AllDaysWeekendIsRejected) {
    const std::string text =
        replaced(valid_calendar(), "[\"Saturday\", \"Sunday\"]",
                 "[\"Monday\", \"Tuesday\", \"Wednesday\", \"Thursday\", \"Friday\", \"Saturday\", "
                 "\"Sunday\"]");
    EXPECT_THAT(load_error(text), HasSubstr("XTS.toml:2:11: weekend: every day is a weekend day"));
}

TEST(CalendarFileErrors, RangeEndingBeforeItStartsIsRejected) {
    EXPECT_THAT(
        load_error(replaced(valid_calendar(), "last = \"2025-12-31\"", "last = \"2024-12-31\"")),
        HasSubstr("XTS.toml:4:8: last: \"2024-12-31\" is before first (\"2025-01-01\")"));
}

TEST(CalendarFileErrors, ImpossibleDateIsRejected) {
    EXPECT_THAT(load_error(replaced(valid_calendar(), "2025-07-04", "2025-02-30")),
                HasSubstr("XTS.toml:7:14: holidays[1].date: \"2025-02-30\" is not a calendar "
                          "date"));
}

TEST(CalendarFileErrors, TomlDateInsteadOfAStringIsRejectedSayingHowToWriteIt) {
    EXPECT_THAT(
        load_error(replaced(valid_calendar(), "first = \"2025-01-01\"", "first = 2025-01-01")),
        HasSubstr("XTS.toml:3:9: first: expected a date as a string, got date: write "
                  "dates as strings"));
}

TEST(CalendarFileErrors, HolidayOutsideTheRangeIsRejected) {
    EXPECT_THAT(load_error(replaced(valid_calendar(), "2025-12-25", "2026-12-25")),
                HasSubstr("XTS.toml:8:14: holidays[2].date: \"2026-12-25\" is outside the "
                          "calendar's range 2025-01-01..2025-12-31"));
}

TEST(CalendarFileErrors, HolidayOnAWeekendDayIsRejected) {
    EXPECT_THAT(load_error(replaced(valid_calendar(), "2025-07-04", "2025-07-06")),
                HasSubstr("XTS.toml:7:14: holidays[1].date: \"2025-07-06\" (Independence Day) is "
                          "a Sunday, a weekend day"));
}

TEST(CalendarFileErrors, DuplicateHolidayIsRejectedNamingTheFirstLine) {
    EXPECT_THAT(load_error(replaced(valid_calendar(), "2025-07-04", "2025-01-01")),
                HasSubstr("XTS.toml:7:14: holidays[1].date: duplicate date \"2025-01-01\" (first "
                          "at line 6)"));
}

TEST(CalendarFileErrors, UnsortedHolidayIsRejected) {
    EXPECT_THAT(load_error(replaced(valid_calendar(), "2025-12-25", "2025-05-01")),
                HasSubstr("XTS.toml:8:14: holidays[2].date: \"2025-05-01\" is not after "
                          "\"2025-07-04\" (line 7): dates must be sorted"));
}

TEST(CalendarFileErrors, HolidayWithoutANameIsRejected) {
    EXPECT_THAT(load_error(replaced(valid_calendar(), ", name = \"Independence Day\"", "")),
                HasSubstr("XTS.toml:7:5: holidays[1].name: missing required key"));
}

TEST(CalendarFileErrors, HolidayThatIsNotATableIsRejected) {
    EXPECT_THAT(
        load_error(replaced(valid_calendar(),
                            "{ date = \"2025-07-04\", name = \"Independence Day\" }",
                            "\"2025-07-04\"")),
        HasSubstr("XTS.toml:7:5: holidays[1]: expected a table { date = \"YYYY-MM-DD\", name = "
                  "\"...\" }, got string"));
}

TEST(CalendarFileErrors, WorkingWeekendOnAWeekdayIsRejected) {
    const std::string text =
        valid_calendar() + "working_weekends = [{ date = \"2025-01-27\", name = \"Make-up\" }]\n";
    EXPECT_THAT(load_error(text),
                HasSubstr("XTS.toml:10:30: working_weekends[0].date: \"2025-01-27\" (Make-up) is "
                          "a Monday, not a weekend day"));
}

TEST(CalendarFileErrors, EveryProblemIsReportedSortedByLine) {
    std::string text = replaced(valid_calendar(), "\"Sunday\"", "\"Sundy\"");
    text = replaced(text, "2025-12-25", "2025-12-27");
    const std::string error = load_error(text);
    EXPECT_THAT(error, AllOf(StartsWith("XTS.toml:2:"), HasSubstr("\nXTS.toml:8:")));
}

}  // namespace
}  // namespace fxsettle::engine::calendar
