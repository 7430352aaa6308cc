// Calendar files: parsing and validation (see calendar_file.h for the format).
#include "config/calendar_file.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <filesystem>
#include <optional>
#include <utility>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "config/text_checks.h"
#include "config/toml_reader.h"

namespace fxsettle::config {
namespace {

using detail::Diagnostics;
using detail::Need;
using detail::TableReader;

constexpr std::array<std::string_view, 7> kDayNames = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                       "Thursday", "Friday", "Saturday"};

std::string date_text(std::chrono::sys_days date) {
    const std::chrono::year_month_day ymd{date};
    return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                       static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
}

std::string_view day_name(std::chrono::sys_days date) {
    return kDayNames[std::chrono::weekday{date}.c_encoding()];
}

bool on_weekend(std::uint8_t mask, std::chrono::sys_days date) {
    return ((mask >> std::chrono::weekday{date}.c_encoding()) & 1U) != 0;
}

class CalendarLoader {
  public:
    CalendarLoader(Diagnostics& d, const money::CurrencyTable& table) : d_(d), table_(table) {}

    CalendarData load(const toml::table& root, std::string_view source_name,
                      std::string_view expected_code) {
        data_.source_name = std::string(source_name);
        TableReader r(d_, root, "");
        read_currency(r, expected_code);
        read_weekend(r);
        const auto first = date_key(r, "first");
        const auto last = date_key(r, "last");
        if (first && last) {
            if (*last < *first) {
                r.value_error("last", fmt::format("\"{}\" is before first (\"{}\")",
                                                  date_text(*last), date_text(*first)));
            } else if ((*last - *first).count() >= kCalendarSpanDaysMax) {
                r.value_error("last",
                              fmt::format("the range spans {} days; at most {}",
                                          (*last - *first).count() + 1, kCalendarSpanDaysMax));
            } else {
                data_.first = *first;
                data_.last = *last;
                range_ok_ = true;
            }
        }
        read_days(r, "holidays", Need::kRequired, false, data_.holidays);
        read_days(r, "working_weekends", Need::kOptional, true, data_.working_weekends);
        r.finish();
        return std::move(data_);
    }

  private:
    void read_currency(TableReader& r, std::string_view expected_code) {
        const auto code = r.string("currency", Need::kRequired);
        if (!code) {
            return;
        }
        auto currency = table_.lookup(*code);
        if (!currency) {
            r.value_error("currency", currency.error().message());
            return;
        }
        if (!expected_code.empty() && currency->code_view() != expected_code) {
            r.value_error("currency", fmt::format("\"{}\" does not match the file name: a "
                                                  "calendar for {} must be named {}.toml",
                                                  *code, *code, *code));
            return;
        }
        data_.currency = *currency;
    }

    void read_weekend(TableReader& r) {
        const toml::array* days =
            r.array("weekend", Need::kRequired, "an array of day names (\"Saturday\")");
        if (days == nullptr) {
            return;
        }
        const std::string path = r.path_of("weekend");
        for (std::size_t i = 0; i < days->size(); ++i) {
            const toml::node& node = *days->get(i);
            const std::string element_path = detail::index_path(path, i);
            const auto name = detail::string_of(d_, node, element_path, "a day name as a string");
            if (!name) {
                continue;
            }
            const auto it = std::find(kDayNames.begin(), kDayNames.end(), *name);
            if (it == kDayNames.end()) {
                d_.error(node.source(), element_path,
                         fmt::format("\"{}\" is not a day name; use Monday .. Sunday", *name));
                continue;
            }
            const auto bit = static_cast<std::uint8_t>(1U << (it - kDayNames.begin()));
            if ((data_.weekend_mask & bit) != 0) {
                d_.error(node.source(), element_path, fmt::format("duplicate day \"{}\"", *name));
                continue;
            }
            data_.weekend_mask = static_cast<std::uint8_t>(data_.weekend_mask | bit);
        }
        if (data_.weekend_mask == 0x7F) {
            r.value_error("weekend", "every day is a weekend day: the currency would never settle");
        }
    }

    std::optional<std::chrono::sys_days> date_at(const toml::node& node, std::string_view path) {
        const auto* text = node.as_string();
        if (text == nullptr) {
            d_.error(node.source(), path,
                     fmt::format("expected a date as a string, got {}: write dates as strings, "
                                 "e.g. \"2025-12-25\"",
                                 detail::type_name(node.type())));
            return std::nullopt;
        }
        auto date = detail::parse_date(text->get());
        if (!date) {
            d_.error(node.source(), path, date.error().message());
            return std::nullopt;
        }
        return std::chrono::sys_days{*date};
    }

    std::optional<std::chrono::sys_days> date_key(TableReader& r, std::string_view key) {
        const toml::node* node = r.find(key, Need::kRequired);
        return node == nullptr ? std::nullopt : date_at(*node, r.path_of(key));
    }

    // An array of { date, name } inline tables. `weekend_days` says whether each date must
    // be a weekend day (working_weekends) or must not be one (holidays).
    void read_days(TableReader& r, std::string_view key, Need need, bool weekend_days,
                   std::vector<CalendarDay>& out) {
        const toml::array* list =
            r.array(key, need, "an array of { date = \"YYYY-MM-DD\", name = \"...\" } tables");
        if (list == nullptr) {
            return;
        }
        const std::string path = r.path_of(key);
        if (list->size() > kCalendarHolidaysMax) {
            r.value_error(
                key, fmt::format("{} entries; at most {}", list->size(), kCalendarHolidaysMax));
            return;
        }
        for (std::size_t i = 0; i < list->size(); ++i) {
            const toml::node& element = *list->get(i);
            const std::string element_path = detail::index_path(path, i);
            const toml::table* table = element.as_table();
            if (table == nullptr) {
                detail::type_error(d_, element, element_path,
                                   "a table { date = \"YYYY-MM-DD\", name = \"...\" }");
                continue;
            }
            TableReader er(d_, *table, element_path);
            const auto date = date_key(er, "date");
            const auto name = er.string("name", Need::kRequired);
            er.finish();
            if (!date || !name) {
                continue;
            }
            const toml::node& date_node = *table->get("date");
            const std::string date_path = er.path_of("date");
            const auto error = [&](std::string_view what) {
                d_.error(date_node.source(), date_path, what);
            };
            const std::string text = date_text(*date);
            if (range_ok_ && (*date < data_.first || *date > data_.last)) {
                error(fmt::format("\"{}\" is outside the calendar's range {}..{}", text,
                                  date_text(data_.first), date_text(data_.last)));
                continue;
            }
            const bool weekend = on_weekend(data_.weekend_mask, *date);
            if (!weekend_days && weekend) {
                error(
                    fmt::format("\"{}\" ({}) is a {}, a weekend day: list only holidays that "
                                "close a business day",
                                text, *name, day_name(*date)));
                continue;
            }
            if (weekend_days && !weekend) {
                error(fmt::format("\"{}\" ({}) is a {}, not a weekend day", text, *name,
                                  day_name(*date)));
                continue;
            }
            const std::uint32_t line = date_node.source().begin.line;
            if (!out.empty() && *date <= out.back().date) {
                const auto same = std::find_if(out.begin(), out.end(), [&](const CalendarDay& day) {
                    return day.date == *date;
                });
                if (same != out.end()) {
                    error(
                        fmt::format("duplicate date \"{}\" (first at line {})", text, same->line));
                } else {
                    error(fmt::format("\"{}\" is not after \"{}\" (line {}): dates must be sorted",
                                      text, date_text(out.back().date), out.back().line));
                }
                continue;
            }
            out.push_back(CalendarDay{*date, *name, line});
        }
    }

    Diagnostics& d_;
    const money::CurrencyTable& table_;
    CalendarData data_;
    bool range_ok_ = false;
};

Result<std::string> read_text_file(const std::filesystem::path& path) {
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (file == nullptr) {
        const int error = errno;
        return fail(error == ENOENT ? StatusCode::kNotFound : StatusCode::kIoError,
                    fmt::format("{}: cannot open the calendar file: {}", path.string(),
                                std::strerror(error)));
    }
    std::string text;
    char buffer[16 * 1024];
    std::size_t read = 0;
    while ((read = std::fread(buffer, 1, sizeof buffer, file)) > 0) {
        text.append(buffer, read);
    }
    const bool failed = std::ferror(file) != 0;
    const int error = errno;
    std::fclose(file);
    if (failed) {
        return fail(StatusCode::kIoError, fmt::format("{}: cannot read the calendar file: {}",
                                                      path.string(), std::strerror(error)));
    }
    return text;
}

}  // namespace

Result<CalendarData> parse_calendar(std::string_view text, std::string_view source_name,
                                    const money::CurrencyTable& table,
                                    std::string_view expected_code) {
    try {
        toml::table root;
        try {
            root = toml::parse(text, source_name);
        } catch (const toml::parse_error& e) {
            const auto& where = e.source().begin;
            return fail(StatusCode::kInvalidArgument,
                        fmt::format("{}:{}:{}: TOML syntax error: {}", source_name, where.line,
                                    where.column, e.description()));
        }
        Diagnostics diagnostics{std::string(source_name)};
        CalendarLoader loader(diagnostics, table);
        CalendarData data = loader.load(root, source_name, expected_code);
        if (diagnostics.has_errors()) {
            return fail(diagnostics.to_status());
        }
        return data;
    } catch (const std::exception& e) {
        return fail(StatusCode::kInternal,
                    fmt::format("{}: loading the calendar failed: {}", source_name, e.what()));
    }
}

Result<std::vector<CalendarData>> load_calendar_directory(const std::string& directory,
                                                          const money::CurrencyTable& table) {
    std::vector<std::filesystem::path> files;
    std::error_code error;
    std::filesystem::directory_iterator it(directory, error);
    if (error) {
        return fail(
            error == std::errc::no_such_file_or_directory ? StatusCode::kNotFound
                                                          : StatusCode::kIoError,
            fmt::format("{}: cannot read the calendar directory: {}", directory, error.message()));
    }
    for (const auto& entry : it) {
        if (entry.path().extension() == ".toml") {
            files.push_back(entry.path());
        }
    }
    std::sort(files.begin(), files.end());
    std::vector<CalendarData> calendars;
    std::string problems;
    for (const auto& path : files) {
        auto text = read_text_file(path);
        if (!text) {
            return fail(text.error());
        }
        auto data = parse_calendar(*text, path.string(), table, path.stem().string());
        if (!data) {
            problems += problems.empty() ? "" : "\n";
            problems += data.error().message();
            continue;
        }
        calendars.push_back(std::move(*data));
    }
    if (!problems.empty()) {
        return fail(StatusCode::kInvalidArgument, std::move(problems));
    }
    return calendars;
}

std::string embedded_calendar_source_name(std::string_view file_name) {
    return fmt::format("calendars/{} (embedded)", file_name);
}

}  // namespace fxsettle::config
