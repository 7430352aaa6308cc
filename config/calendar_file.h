// Holiday calendar files: one TOML file per currency (config/calendars/<CCY>.toml), read
// into plain data and validated here; engine/calendar builds business-day logic on it.
// The format (engine/calendar/README.md has it with the conventions):
//
//   currency = "USD"                          # must match the file name's stem
//   weekend = ["Saturday", "Sunday"]          # 0..6 distinct English day names
//   first = "2025-01-01"                      # the loaded range, both ends included
//   last = "2027-12-31"
//   holidays = [                              # strictly increasing dates in the range,
//     { date = "2025-01-01", name = "New Year's Day" },   # none on a weekend day
//   ]
//   working_weekends = [                      # optional: weekend days that are official
//     { date = "2025-01-26", name = "..." },  # make-up working days (CNY); in the range,
//   ]                                         # on a weekend day, strictly increasing
//
// Every problem is reported, each as "<file>:<line>:<column>: <key path>: <what>".
#pragma once

#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"
#include "engine/money/currency.h"

namespace fxsettle::config {

inline constexpr std::size_t kCalendarHolidaysMax = 4'096;      // per file
inline constexpr std::int64_t kCalendarSpanDaysMax = 40 * 366;  // first..last

// A dated entry of a calendar file.
struct CalendarDay {
    std::chrono::sys_days date;
    std::string name;
    std::uint32_t line = 0;  // in the file, for later messages
    friend bool operator==(const CalendarDay&, const CalendarDay&) = default;
};

// One parsed and validated calendar file.
struct CalendarData {
    std::string source_name;  // the file it came from
    money::Currency currency;
    // Bit d set: std::chrono::weekday{d} (0 = Sunday .. 6 = Saturday) is a weekend day.
    std::uint8_t weekend_mask = 0;
    std::chrono::sys_days first;
    std::chrono::sys_days last;
    std::vector<CalendarDay> holidays;          // sorted, unique, weekdays in range
    std::vector<CalendarDay> working_weekends;  // sorted, unique, weekend days in range
    friend bool operator==(const CalendarData&, const CalendarData&) = default;
};

// Parses and validates a calendar file's text, resolving the currency against `table`.
// With `expected_code` (the file name's stem), a different `currency` is an error. Fails
// (kInvalidArgument) listing every problem (see above).
Result<CalendarData> parse_calendar(std::string_view text, std::string_view source_name,
                                    const money::CurrencyTable& table,
                                    std::string_view expected_code = {});

// Reads every "*.toml" file of `directory` (other files are ignored), each named
// <CCY>.toml, sorted by name. Fails with kNotFound / kIoError when the directory or a file
// cannot be read, and kInvalidArgument listing the problems of every file (a currency
// the table does not know is one of them).
Result<std::vector<CalendarData>> load_calendar_directory(const std::string& directory,
                                                          const money::CurrencyTable& table);

// A compiled-in text file.
struct EmbeddedFile {
    std::string_view name;  // "USD.toml"
    std::string_view text;
};
// The default calendars (config/calendars/*.toml, compiled in), sorted by name. The
// texts live for the whole program.
std::span<const EmbeddedFile> default_calendar_files() noexcept;
// The source name of an embedded calendar in messages: "calendars/USD.toml (embedded)".
std::string embedded_calendar_source_name(std::string_view file_name);

}  // namespace fxsettle::config
