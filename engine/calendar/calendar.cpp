// Holiday calendars and FX value dates: see calendar.h and README.md.
#include "engine/calendar/calendar.h"

#include <algorithm>
#include <array>
#include <initializer_list>
#include <utility>

#include <fmt/format.h>

#include "config/calendar_file.h"

namespace fxsettle::engine::calendar {
namespace {

constexpr std::array<std::string_view, 7> kDayNames = {"Sunday",   "Monday", "Tuesday", "Wednesday",
                                                       "Thursday", "Friday", "Saturday"};

// Steps of a value date computation never go further than this many days from the trade
// date (T+5 over the longest closure, Chinese golden week, is about two weeks).
constexpr int kSearchDaysMax = 62;

tl::unexpected<Status> invalid(std::string message) {
    return fail(StatusCode::kInvalidArgument, std::move(message));
}

std::string_view code(const money::Currency& currency) {
    return currency.code_view();
}

}  // namespace

std::string format_date(Date date) {
    const std::chrono::year_month_day ymd{date};
    return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(ymd.year()),
                       static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
}

std::string_view roll_name(Roll roll) noexcept {
    switch (roll) {
        case Roll::kNone:
            return "none";
        case Roll::kFollowing:
            return "following";
        case Roll::kModifiedFollowing:
            return "modified_following";
    }
    return "unknown";
}

std::string_view tenor_name(Tenor tenor) noexcept {
    switch (tenor) {
        case Tenor::kToday:
            return "TOD";
        case Tenor::kTomorrow:
            return "TOM";
        case Tenor::kSpot:
            return "SPOT";
        case Tenor::kTPlus2:
            return "T+2";
        case Tenor::kTPlus3:
            return "T+3";
        case Tenor::kTPlus4:
            return "T+4";
        case Tenor::kBroken:
            return "broken date";
    }
    return "unknown";
}

// ---- Calendar -------------------------------------------------------------------------

Calendar::Calendar(const config::CalendarData& data)
    : currency_(data.currency),
      first_(data.first),
      last_(data.last),
      weekend_mask_(data.weekend_mask) {
    FXSETTLE_ASSERT(first_ <= last_, "a calendar's range is checked when its file is loaded");
    business_.assign(index(last_) + 1, true);
    for (Date day = first_; day <= last_; day += std::chrono::days{1}) {
        business_[index(day)] = !is_weekend(day);
    }
    holidays_.reserve(data.holidays.size());
    for (const config::CalendarDay& holiday : data.holidays) {
        FXSETTLE_ASSERT(covers(holiday.date) && !is_weekend(holiday.date),
                        "holidays are checked when the file is loaded");
        FXSETTLE_ASSERT(holidays_.empty() || holidays_.back().first < holiday.date,
                        "holidays are checked sorted when the file is loaded");
        holidays_.emplace_back(holiday.date, holiday.name);
        business_[index(holiday.date)] = false;
    }
}

bool Calendar::is_weekend(Date date) const noexcept {
    return ((weekend_mask_ >> std::chrono::weekday{date}.c_encoding()) & 1U) != 0;
}

std::optional<std::string_view> Calendar::holiday_name(Date date) const noexcept {
    const auto it = std::lower_bound(
        holidays_.begin(), holidays_.end(), date,
        [](const std::pair<Date, std::string>& holiday, Date d) { return holiday.first < d; });
    if (it == holidays_.end() || it->first != date) {
        return std::nullopt;
    }
    return std::string_view(it->second);
}

Status Calendar::out_of_range(Date date) const {
    return {
        StatusCode::kOutOfRange,
        fmt::format("{} is outside the {} holiday calendar ({}..{}): extend the calendar "
                    "data",
                    format_date(date), code(currency_), format_date(first_), format_date(last_))};
}

Result<bool> Calendar::is_business_day(Date date) const {
    if (!covers(date)) {
        return fail(out_of_range(date));
    }
    return static_cast<bool>(business_[index(date)]);
}

Result<Date> Calendar::next_business_day(Date date) const {
    if (!covers(date)) {
        return fail(out_of_range(date));
    }
    Date day = date + std::chrono::days{1};
    for (; covers(day); day += std::chrono::days{1}) {
        if (business_[index(day)]) {
            return day;
        }
    }
    return fail(out_of_range(day));
}

Result<Date> Calendar::previous_business_day(Date date) const {
    if (!covers(date)) {
        return fail(out_of_range(date));
    }
    Date day = date - std::chrono::days{1};
    for (; covers(day); day -= std::chrono::days{1}) {
        if (business_[index(day)]) {
            return day;
        }
    }
    return fail(out_of_range(day));
}

Result<Date> Calendar::add_business_days(Date date, int days) const {
    if (days == 0) {
        return adjust(date, Roll::kFollowing);
    }
    Date day = date;
    for (int i = 0; i < (days > 0 ? days : -days); ++i) {
        auto moved = days > 0 ? next_business_day(day) : previous_business_day(day);
        if (!moved) {
            return moved;
        }
        day = *moved;
    }
    return day;
}

std::string Calendar::closed_reason(Date date) const {
    if (!covers(date) || business_[index(date)]) {
        return {};
    }
    if (const auto name = holiday_name(date)) {
        return std::string(*name);
    }
    return fmt::format("a {}", kDayNames[std::chrono::weekday{date}.c_encoding()]);
}

Result<Date> Calendar::adjust(Date date, Roll roll) const {
    auto open = is_business_day(date);
    if (!open) {
        return fail(open.error());
    }
    if (*open) {
        return date;
    }
    switch (roll) {
        case Roll::kNone:
            return invalid(fmt::format("{} is not a business day of {} ({})", format_date(date),
                                       code(currency_), closed_reason(date)));
        case Roll::kFollowing:
            return next_business_day(date);
        case Roll::kModifiedFollowing: {
            auto next = next_business_day(date);
            if (!next) {
                return next;
            }
            if (std::chrono::year_month_day{*next}.month() ==
                std::chrono::year_month_day{date}.month()) {
                return next;
            }
            return previous_business_day(date);
        }
    }
    return invalid(fmt::format("unknown roll {}", static_cast<int>(roll)));
}

Status Calendar::add_closure(Date date, std::string_view name) {
    if (!covers(date)) {
        return out_of_range(date);
    }
    if (is_weekend(date)) {
        return {StatusCode::kInvalidArgument,
                fmt::format("{} is a {}, a weekend day of the {} calendar: a closure must close a "
                            "business day",
                            format_date(date), kDayNames[std::chrono::weekday{date}.c_encoding()],
                            code(currency_))};
    }
    if (holiday_name(date)) {
        return Status::ok();
    }
    const auto at = std::lower_bound(
        holidays_.begin(), holidays_.end(), date,
        [](const std::pair<Date, std::string>& holiday, Date d) { return holiday.first < d; });
    holidays_.emplace(at, date, std::string(name));
    business_[index(date)] = false;
    return Status::ok();
}

// ---- FIX SettlType ----------------------------------------------------------------------

Result<ValueDateRequest> request_from_fix(std::string_view settl_type,
                                          std::optional<Date> settl_date, Roll roll) {
    ValueDateRequest request;
    request.date = settl_date;
    request.roll = roll;
    if (settl_type.empty() || settl_type == "0") {
        request.tenor = Tenor::kSpot;
    } else if (settl_type == "1") {
        request.tenor = Tenor::kToday;
    } else if (settl_type == "2") {
        request.tenor = Tenor::kTomorrow;
    } else if (settl_type == "3") {
        request.tenor = Tenor::kTPlus2;
    } else if (settl_type == "4") {
        request.tenor = Tenor::kTPlus3;
    } else if (settl_type == "5") {
        request.tenor = Tenor::kTPlus4;
    } else if (settl_type == "6" || settl_type == "B") {
        request.tenor = Tenor::kBroken;
        if (!settl_date) {
            return invalid(fmt::format("SettlType (63) \"{}\" ({}) needs a SettlDate (64)",
                                       settl_type, settl_type == "6" ? "future" : "broken date"));
        }
    } else {
        return invalid(
            fmt::format("unsupported SettlType (63) \"{}\": use 0 (regular, spot), "
                        "1 (cash, TOD), 2 (next day, TOM), 3 (T+2), 4 (T+3), "
                        "5 (T+4), 6 (future) or B (broken date) with SettlDate (64)",
                        settl_type));
    }
    return request;
}

// ---- CalendarSet ------------------------------------------------------------------------

Result<CalendarSet> CalendarSet::from_config(const config::Config& config) {
    const money::CurrencyTable& table = config.currency_table;
    std::vector<config::CalendarData> data;
    std::string problems;
    const auto problem = [&problems](const std::string& text) {
        problems += problems.empty() ? "" : "\n";
        problems += text;
    };
    const bool embedded = config.calendars.directory.empty();
    if (embedded) {
        for (const config::EmbeddedFile& file : config::default_calendar_files()) {
            const std::string_view stem = file.name.substr(0, file.name.find('.'));
            if (!table.find(stem)) {
                continue;  // e.g. CNH when the config does not add it
            }
            auto parsed = config::parse_calendar(
                file.text, config::embedded_calendar_source_name(file.name), table, stem);
            if (!parsed) {
                problem(parsed.error().message());
                continue;
            }
            data.push_back(std::move(*parsed));
        }
    } else {
        auto loaded = config::load_calendar_directory(config.calendars.directory, table);
        if (!loaded) {
            if (loaded.error().code() != StatusCode::kInvalidArgument) {
                return fail(loaded.error());
            }
            problem(loaded.error().message());
        } else {
            data = std::move(*loaded);
        }
    }

    CalendarSet set;
    for (const config::CalendarData& calendar : data) {
        set.calendars_.emplace_back(calendar);
    }
    std::sort(set.calendars_.begin(), set.calendars_.end(),
              [](const Calendar& a, const Calendar& b) { return a.currency() < b.currency(); });
    set.usd_ = table.find("USD");

    // Every currency that needs a calendar, with where the config first needs it.
    const std::string where_files =
        embedded ? std::string("the compiled-in calendars (config/calendars/)")
                 : fmt::format("calendar directory {}", config.calendars.directory);
    std::vector<money::Currency> reported;
    const auto require = [&](const money::Currency& currency, const std::string& path) {
        if (set.find(currency) != nullptr ||
            std::find(reported.begin(), reported.end(), currency) != reported.end()) {
            return;
        }
        reported.push_back(currency);
        problem(fmt::format("{}: {}: no holiday calendar for {}: {}.toml is not among {}",
                            config.source_name, path, code(currency), code(currency), where_files));
    };
    for (std::size_t i = 0; i < config.pairs.size(); ++i) {
        const config::PairConfig& pair = config.pairs[i];
        const std::string path = fmt::format("pairs[{}] ({})", i, pair.pair.to_string());
        require(pair.pair.base, path);
        require(pair.pair.quote, path);
        set.rules_.push_back(PairRule{pair.pair, pair.spot_days, pair.skip_usd_holidays});
        if (set.needs_usd_day(pair.pair)) {
            if (set.usd_) {
                require(*set.usd_, path + ", a cross that skips USD holidays");
            }
        }
    }
    for (std::size_t i = 0; i < config.cycles.size(); ++i) {
        const config::CycleConfig& cycle = config.cycles[i];
        require(cycle.currency, fmt::format("cycles[{}]", i));
        const auto calendar =
            std::find_if(set.calendars_.begin(), set.calendars_.end(),
                         [&](const Calendar& c) { return c.currency() == cycle.currency; });
        if (calendar == set.calendars_.end()) {
            continue;
        }
        for (std::size_t j = 0; j < cycle.holidays.size(); ++j) {
            const Date date{cycle.holidays[j]};
            if (Status status = calendar->add_closure(date, "extra closure (config)"); !status) {
                problem(fmt::format("{}: cycles[{}].holidays[{}]: {}", config.source_name, i, j,
                                    status.message()));
            }
        }
    }
    if (!problems.empty()) {
        return invalid(std::move(problems));
    }
    return set;
}

const Calendar* CalendarSet::find(const money::Currency& currency) const noexcept {
    const auto it = std::lower_bound(
        calendars_.begin(), calendars_.end(), currency,
        [](const Calendar& calendar, const money::Currency& c) { return calendar.currency() < c; });
    return it == calendars_.end() || it->currency() != currency ? nullptr : &*it;
}

Result<const Calendar*> CalendarSet::get(const money::Currency& currency) const {
    const Calendar* calendar = find(currency);
    if (calendar == nullptr) {
        return fail(StatusCode::kNotFound,
                    fmt::format("no holiday calendar for {}", code(currency)));
    }
    return calendar;
}

Result<bool> CalendarSet::is_business_day(const money::Currency& currency, Date date) const {
    auto calendar = get(currency);
    if (!calendar) {
        return fail(calendar.error());
    }
    return (*calendar)->is_business_day(date);
}

Result<Date> CalendarSet::next_business_day(const money::Currency& currency, Date date) const {
    auto calendar = get(currency);
    if (!calendar) {
        return fail(calendar.error());
    }
    return (*calendar)->next_business_day(date);
}

Result<Date> CalendarSet::add_business_days(const money::Currency& currency, Date date,
                                            int days) const {
    auto calendar = get(currency);
    if (!calendar) {
        return fail(calendar.error());
    }
    return (*calendar)->add_business_days(date, days);
}

Result<Date> CalendarSet::check_value_date(const money::Currency& currency, Date date, Roll roll,
                                           std::optional<Date> earliest) const {
    auto calendar = get(currency);
    if (!calendar) {
        return fail(calendar.error());
    }
    const auto before = [&](Date d) -> tl::unexpected<Status> {
        return invalid(fmt::format("value date {} is before today ({})", format_date(d),
                                   format_date(*earliest)));
    };
    if (earliest && date < *earliest) {
        return before(date);
    }
    auto adjusted = (*calendar)->adjust(date, roll);
    if (adjusted && earliest && *adjusted < *earliest) {
        // Modified following stepped back across today.
        return invalid(
            fmt::format("value date {} is not a business day of {} ({}) and rolling "
                        "it ({}) gives {}, before today ({})",
                        format_date(date), code(currency), (*calendar)->closed_reason(date),
                        roll_name(roll), format_date(*adjusted), format_date(*earliest)));
    }
    return adjusted;
}

namespace {

// The first calendar of `calendars` that is closed on `date`, nullptr when all are open,
// or the error of a date outside a range.
Result<const Calendar*> first_closed(std::initializer_list<const Calendar*> calendars, Date date) {
    for (const Calendar* calendar : calendars) {
        if (calendar == nullptr) {
            continue;
        }
        auto open = calendar->is_business_day(date);
        if (!open) {
            return fail(open.error());
        }
        if (!*open) {
            return calendar;
        }
    }
    return static_cast<const Calendar*>(nullptr);
}

// The first day after `date` (or `date` itself when `inclusive`) on which every calendar
// is open.
Result<Date> next_open(std::initializer_list<const Calendar*> calendars, Date date,
                       bool inclusive) {
    Date day = inclusive ? date : date + std::chrono::days{1};
    for (int i = 0; i <= kSearchDaysMax; ++i, day += std::chrono::days{1}) {
        auto closed = first_closed(calendars, day);
        if (!closed) {
            return fail(closed.error());
        }
        if (*closed == nullptr) {
            return day;
        }
    }
    return fail(StatusCode::kOutOfRange,
                fmt::format("no common business day within {} days after {}", kSearchDaysMax,
                            format_date(date)));
}

Result<Date> previous_open(std::initializer_list<const Calendar*> calendars, Date date) {
    Date day = date - std::chrono::days{1};
    for (int i = 0; i < kSearchDaysMax; ++i, day -= std::chrono::days{1}) {
        auto closed = first_closed(calendars, day);
        if (!closed) {
            return fail(closed.error());
        }
        if (*closed == nullptr) {
            return day;
        }
    }
    return fail(StatusCode::kOutOfRange,
                fmt::format("no common business day within {} days before {}", kSearchDaysMax,
                            format_date(date)));
}

}  // namespace

Result<bool> CalendarSet::is_good_day(const money::CurrencyPair& pair, Date date) const {
    auto base = get(pair.base);
    if (!base) {
        return fail(base.error());
    }
    auto quote = get(pair.quote);
    if (!quote) {
        return fail(quote.error());
    }
    auto closed = first_closed({*base, *quote}, date);
    if (!closed) {
        return fail(closed.error());
    }
    return *closed == nullptr;
}

const CalendarSet::PairRule* CalendarSet::find_rule(
    const money::CurrencyPair& pair) const noexcept {
    const auto it = std::find_if(rules_.begin(), rules_.end(), [&pair](const PairRule& rule) {
        return rule.pair == pair || rule.pair == pair.inverted();
    });
    return it == rules_.end() ? nullptr : &*it;
}

std::optional<std::uint32_t> CalendarSet::spot_days(
    const money::CurrencyPair& pair) const noexcept {
    const PairRule* rule = find_rule(pair);
    return rule == nullptr ? std::nullopt : std::optional(rule->spot_days);
}

bool CalendarSet::needs_usd_day(const money::CurrencyPair& pair) const noexcept {
    if (code(pair.base) == "USD" || code(pair.quote) == "USD") {
        return false;
    }
    const PairRule* rule = find_rule(pair);
    return rule != nullptr && rule->skip_usd_holidays;
}

// Counts `days` business days from the trade date as the FX market does: a day counts
// when every non-USD currency of the pair settles on it (a USD holiday between trade date
// and value date does not delay a USD pair); the day reached then moves forward to the
// first day on which both currencies settle (and USD, for a cross that needs it).
Result<Date> CalendarSet::count_days(const money::CurrencyPair& pair, Date trade_date,
                                     std::uint32_t days, bool with_usd) const {
    auto base = get(pair.base);
    if (!base) {
        return fail(base.error());
    }
    auto quote = get(pair.quote);
    if (!quote) {
        return fail(quote.error());
    }
    const Calendar* usd = nullptr;
    if (with_usd) {
        auto found = usd_ ? get(*usd_) : fail(StatusCode::kNotFound, "no USD currency");
        if (!found) {
            return fail(found.error());
        }
        usd = *found;
    }
    const Calendar* counting_base = code(pair.base) == "USD" ? nullptr : *base;
    const Calendar* counting_quote = code(pair.quote) == "USD" ? nullptr : *quote;
    // The trade date itself must lie in the data, even when it is not a business day.
    for (const Calendar* calendar : {*base, *quote}) {
        if (auto in = calendar->is_business_day(trade_date); !in) {
            return fail(in.error());
        }
    }
    Date day = trade_date;
    for (std::uint32_t i = 0; i < days; ++i) {
        auto next = next_open({counting_base, counting_quote}, day, false);
        if (!next) {
            return next;
        }
        day = *next;
    }
    return next_open({*base, *quote, usd}, day, true);
}

Result<Date> CalendarSet::spot_date(const money::CurrencyPair& pair, Date trade_date) const {
    const PairRule* rule = find_rule(pair);
    if (rule == nullptr) {
        return fail(StatusCode::kNotFound,
                    fmt::format("pair {} is not configured ([[pairs]])", pair.to_string()));
    }
    return count_days(pair, trade_date, rule->spot_days, needs_usd_day(pair));
}

Result<Date> CalendarSet::value_date(const money::CurrencyPair& pair, Date trade_date,
                                     Tenor tenor) const {
    ValueDateRequest request;
    request.tenor = tenor;
    return value_date(pair, trade_date, request);
}

Result<Date> CalendarSet::value_date(const money::CurrencyPair& pair, Date trade_date,
                                     const ValueDateRequest& request) const {
    if (find_rule(pair) == nullptr) {
        return fail(StatusCode::kNotFound,
                    fmt::format("pair {} is not configured ([[pairs]])", pair.to_string()));
    }
    auto base = get(pair.base);
    if (!base) {
        return fail(base.error());
    }
    auto quote = get(pair.quote);
    if (!quote) {
        return fail(quote.error());
    }
    const std::string_view tenor = tenor_name(request.tenor);

    // A date that must be good for both currencies: checked, or rolled per request.roll.
    const auto checked = [&](Date date) -> Result<Date> {
        auto closed = first_closed({*base, *quote}, date);
        if (!closed) {
            return fail(closed.error());
        }
        if (*closed == nullptr) {
            return date;
        }
        const std::string why = fmt::format("{} value date {} is not a business day of {} ({})",
                                            tenor, format_date(date), code((*closed)->currency()),
                                            (*closed)->closed_reason(date));
        if (request.roll == Roll::kNone) {
            return invalid(why + " and no roll was asked for");
        }
        auto next = next_open({*base, *quote}, date, false);
        if (!next || request.roll == Roll::kFollowing ||
            std::chrono::year_month_day{*next}.month() ==
                std::chrono::year_month_day{date}.month()) {
            return next;
        }
        auto previous = previous_open({*base, *quote}, date);
        if (previous && *previous < trade_date) {
            return invalid(fmt::format("{}; rolling it ({}) gives {}, before the trade date {}",
                                       why, roll_name(request.roll), format_date(*previous),
                                       format_date(trade_date)));
        }
        return previous;
    };

    Result<Date> computed = trade_date;
    switch (request.tenor) {
        case Tenor::kBroken: {
            if (!request.date) {
                return invalid(fmt::format("a broken date needs the value date (SettlDate)"));
            }
            if (*request.date < trade_date) {
                return invalid(fmt::format("value date {} is before the trade date {}",
                                           format_date(*request.date), format_date(trade_date)));
            }
            return checked(*request.date);
        }
        case Tenor::kToday:
            computed = checked(trade_date);
            break;
        case Tenor::kTomorrow:
            computed = next_open({*base, *quote}, trade_date, false);
            break;
        case Tenor::kSpot:
            computed = spot_date(pair, trade_date);
            break;
        case Tenor::kTPlus2:
        case Tenor::kTPlus3:
        case Tenor::kTPlus4: {
            const auto days = static_cast<std::uint32_t>(request.tenor) - 1;  // 3 -> 2, ...
            computed = count_days(pair, trade_date, days, needs_usd_day(pair));
            break;
        }
    }
    if (computed && request.date && *request.date != *computed) {
        return invalid(
            fmt::format("SettlDate (64) {} does not match the {} value date {} of {} "
                        "traded on {}",
                        format_date(*request.date), tenor, format_date(*computed), pair.to_string(),
                        format_date(trade_date)));
    }
    return computed;
}

}  // namespace fxsettle::engine::calendar
