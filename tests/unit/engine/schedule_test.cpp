// engine::cutoff_after: the settlement schedule the engine runs and the daemon's
// next-cut-off metric shows skips weekends and the currency's holiday calendar.
#include <chrono>

#include <gtest/gtest.h>

#include "engine/core/engine.h"

namespace fxsettle::engine {
namespace {

using namespace std::chrono;

ledger::Timestamp at(year_month_day day, minutes time_of_day) {
    return ledger::Timestamp(sys_days(day)) + time_of_day;
}

class EngineSchedule : public ::testing::Test {
  protected:
    void SetUp() override {
        auto loaded = config::load_default_config();
        ASSERT_TRUE(loaded.has_value()) << loaded.error().message();
        config_ = std::move(*loaded);
        auto calendars = calendar::CalendarSet::from_config(config_);
        ASSERT_TRUE(calendars.has_value()) << calendars.error().message();
        calendars_ = std::move(*calendars);
    }
    const config::CycleConfig& cycle(std::string_view code) const {
        for (const auto& c : config_.cycles) {
            if (c.currency.to_string() == code)
                return c;
        }
        ADD_FAILURE() << "no cycle for " << code << " in the default config";
        return config_.cycles.front();
    }
    config::Config config_;
    calendar::CalendarSet calendars_;
};

// The default config's CNY cycle has cut-offs at 03:00 and 08:00 UTC.
TEST_F(EngineSchedule, NextCnyCutoffSkipsWeekendsAndTheCalendarsHolidays) {
    struct Case {
        const char* what;
        ledger::Timestamp from, expected;
    };
    const Case cases[] = {
        {"Mon 04:00: the 08:00 cut-off of the same day", at(2026y / December / 7, 4h),
         at(2026y / December / 7, 8h)},
        {"exactly at a cut-off: the next one", at(2026y / December / 7, 3h),
         at(2026y / December / 7, 8h)},
        {"Fri 09:00, after both: Monday's first", at(2026y / December / 11, 9h),
         at(2026y / December / 14, 3h)},
        {"Thu 2026-12-31 09:00: Fri 2027-01-01 is New Year's Day in the CNY calendar, then a "
         "weekend",
         at(2026y / December / 31, 9h), at(2027y / January / 4, 3h)},
    };
    const auto& cny = cycle("CNY");
    for (const Case& c : cases) {
        const auto got = cutoff_after(cny, calendars_, c.from);
        ASSERT_TRUE(got.has_value()) << c.what << ": no cut-off found";
        EXPECT_EQ(got->time_since_epoch().count(), c.expected.time_since_epoch().count())
            << c.what << ": got " << got->time_since_epoch().count() << " ns, expected "
            << c.expected.time_since_epoch().count() << " ns";
    }
}

}  // namespace
}  // namespace fxsettle::engine
