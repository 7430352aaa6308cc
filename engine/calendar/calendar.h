// Holiday calendars and FX value dates (issue 8, "Value dates").
//
// A Calendar says which days one currency settles on: not a weekend day of its calendar,
// not one of its holidays, and inside the range of dates its data covers. A date outside
// that range is an error (kOutOfRange), never a business day: a value date must not be
// computed from data that do not exist.
//
// A CalendarSet holds one Calendar per currency, loaded and validated once at start-up
// from the calendar files (config/calendars/<CCY>.toml, compiled in, or a deployment's own
// directory: [calendars] directory in the config) plus the config's extra closures
// ([[cycles]].holidays). On top of the calendars it computes value dates for currency
// pairs: SPOT (the pair's spot_days, T+2 by default, T+1 for USD/CAD), TOD, TOM, T+n and
// broken dates, and maps FIX SettlType (63) / SettlDate (64) onto them. The conventions
// are those of the interbank FX market; engine/calendar/README.md states them.
//
// Error codes of every Result below:
//   kInvalidArgument  the request cannot be honoured: a value date that is not a business
//                     day (and no roll was asked for), before the trade date, a SettlDate
//                     that contradicts the SettlType, an unknown SettlType. The message
//                     says why and is fit for a reject's Text (58).
//   kOutOfRange       a date (given or computed) lies outside a calendar's loaded range:
//                     the calendar data must be extended. The message names the currency,
//                     the date and the range.
//   kNotFound         no calendar for the currency, or the pair is not configured.
// Messages name dates as YYYY-MM-DD.
//
// Thread safety: a CalendarSet is immutable after from_config(); const calls may run
// concurrently. Returned pointers and references live as long as the CalendarSet.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "config/config.h"
#include "engine/base/status.h"
#include "engine/money/currency.h"
#include "engine/money/rate.h"

namespace fxsettle::config {
struct CalendarData;  // config/calendar_file.h: one parsed calendar file
}  // namespace fxsettle::config

namespace fxsettle::engine::calendar {

// A value date: a calendar day (the same type as ledger::Date).
using Date = std::chrono::sys_days;

// "2025-12-25".
std::string format_date(Date date);

// What to do with a requested value date that is not a business day.
enum class Roll : std::uint8_t {
    kNone = 0,               // reject it
    kFollowing = 1,          // the next business day
    kModifiedFollowing = 2,  // the next business day, unless that is in the next month:
                             // then the previous business day
};
std::string_view roll_name(Roll roll) noexcept;  // "none", "following", "modified_following"

// The settlement calendar of one currency.
class Calendar {
  public:
    // Builds the calendar of a parsed, validated calendar file (config/calendar_file.h).
    explicit Calendar(const config::CalendarData& data);

    const money::Currency& currency() const noexcept { return currency_; }
    // The loaded range, both ends included.
    Date first() const noexcept { return first_; }
    Date last() const noexcept { return last_; }
    bool covers(Date date) const noexcept { return date >= first_ && date <= last_; }

    // Whether `date` is one of the calendar's weekend days (any date, in range or not).
    bool is_weekend(Date date) const noexcept;
    // The holiday's name when `date` is a holiday (from the file, or "extra closure" for
    // one added by the config), else nullopt. The view lives as long as the Calendar.
    std::optional<std::string_view> holiday_name(Date date) const noexcept;

    // True when the currency settles on `date`; kOutOfRange outside first()..last().
    Result<bool> is_business_day(Date date) const;
    // The first business day strictly after / before `date`; kOutOfRange when `date` or
    // the answer lies outside the range.
    Result<Date> next_business_day(Date date) const;
    Result<Date> previous_business_day(Date date) const;
    // `date` moved by `days` business days (forward when positive, backward when
    // negative). With 0: `date` itself when it is a business day, else the next one.
    Result<Date> add_business_days(Date date, int days) const;
    // `date` when it is a business day; otherwise rolled per `roll`, or (kNone) a
    // kInvalidArgument that names the currency, the date and why it is closed.
    Result<Date> adjust(Date date, Roll roll) const;

    // Why `date` is not a business day: "a Saturday", "Christmas Day", ... (for messages).
    // Empty for a business day or a date outside the range.
    std::string closed_reason(Date date) const;

    // Adds closures on top of the file's holidays (the config's [[cycles]].holidays).
    // Fails (kOutOfRange) for a date outside the range and (kInvalidArgument) for a
    // weekend day; a date that is already a holiday is accepted and changes nothing.
    Status add_closure(Date date, std::string_view name);

  private:
    std::size_t index(Date date) const noexcept {
        return static_cast<std::size_t>((date - first_).count());
    }
    Status out_of_range(Date date) const;

    money::Currency currency_;
    Date first_{};
    Date last_{};
    std::uint8_t weekend_mask_ = 0;  // bit d set: weekday d (0 = Sunday) is a weekend day
    std::vector<bool> business_;     // per day of first_..last_
    std::vector<std::pair<Date, std::string>> holidays_;  // sorted by date
};

// The tenor of a value date request.
enum class Tenor : std::uint8_t {
    kToday = 0,     // TOD: the trade date
    kTomorrow = 1,  // TOM: the next good day after the trade date
    kSpot = 2,      // the pair's spot date (spot_days)
    kTPlus2 = 3,    // T+2, T+3, T+4: counted like spot with a fixed number of days
    kTPlus3 = 4,
    kTPlus4 = 5,
    kBroken = 6,  // a date the client gives (FIX "Future" or "Broken date")
};
std::string_view tenor_name(Tenor tenor) noexcept;  // "TOD", "TOM", "SPOT", "T+2", ...

// A value date as an order, quote or payout asks for it.
struct ValueDateRequest {
    Tenor tenor = Tenor::kSpot;
    // kBroken: the date asked for (required). Other tenors: when present, the date the
    // client expects (FIX SettlDate alongside SettlType 0..5); value_date() rejects the
    // request unless it equals the computed date.
    std::optional<Date> date;
    // A kBroken or kToday date that is not a good day for both currencies is rolled per
    // this instead of rejected (when the PSP asked for rolling).
    Roll roll = Roll::kNone;
    friend bool operator==(const ValueDateRequest&, const ValueDateRequest&) = default;
};

// Maps FIX SettlType (63) and SettlDate (64) onto a request. `settl_type` empty (absent)
// or "0" Regular = SPOT; "1" Cash = TOD; "2" Next Day = TOM; "3" T+2; "4" T+3; "5" T+4;
// "6" Future and "B" Broken date = kBroken with `settl_date` (required). Fails
// (kInvalidArgument) for any other SettlType (FIX 4.4's tenor codes such as "M1" are not
// supported) and for "6"/"B" without SettlDate.
Result<ValueDateRequest> request_from_fix(std::string_view settl_type,
                                          std::optional<Date> settl_date, Roll roll = Roll::kNone);

// The calendars of every currency the config trades or settles.
class CalendarSet {
  public:
    // Loads the calendars the config needs: every file of config.calendars.directory (all
    // validated; a file for a currency the config does not know is an error), or when
    // that is empty the compiled-in defaults for the currencies the config knows; then
    // adds [[cycles]].holidays as extra closures. Fails (kInvalidArgument) listing every
    // load error, each as "<file>:<line>:<column>: <key>: <what>" (for the config's
    // closures "<config source>: cycles[i].holidays[j]: <what>"), when a currency of a
    // pair or a cycle (or USD, when a cross needs it) has no calendar, and (kNotFound /
    // kIoError) when the directory cannot be read.
    static Result<CalendarSet> from_config(const config::Config& config);

    // The calendar of `currency`, or nullptr.
    const Calendar* find(const money::Currency& currency) const noexcept;
    // Every loaded calendar, ordered by currency code.
    const std::vector<Calendar>& calendars() const noexcept { return calendars_; }

    // Calendar::is_business_day of `currency`; kNotFound without a calendar.
    Result<bool> is_business_day(const money::Currency& currency, Date date) const;
    Result<Date> next_business_day(const money::Currency& currency, Date date) const;
    Result<Date> add_business_days(const money::Currency& currency, Date date, int days) const;

    // Checks a single-currency value date (a payout's): `date` when `currency` settles on
    // it, else rolled per `roll`, else kInvalidArgument naming the currency, the date and
    // the holiday or weekend. With `earliest` (today's date), a date before it is
    // kInvalidArgument whatever the roll.
    Result<Date> check_value_date(const money::Currency& currency, Date date, Roll roll,
                                  std::optional<Date> earliest = std::nullopt) const;

    // True when both currencies of `pair` settle on `date`.
    Result<bool> is_good_day(const money::CurrencyPair& pair, Date date) const;

    // The spot date of a trade on `trade_date` (any day; a weekend trade date counts from
    // that day): spot_days of the configured pair (or of its inverse) counted as in
    // README.md. kNotFound when neither the pair nor its inverse is configured.
    Result<Date> spot_date(const money::CurrencyPair& pair, Date trade_date) const;
    // The value date of `tenor` (not kBroken, which needs a date: kInvalidArgument).
    Result<Date> value_date(const money::CurrencyPair& pair, Date trade_date, Tenor tenor) const;
    // The value date of a full request, checked: a kBroken date must not be before the
    // trade date and must be a good day for both currencies (or rolled per request.roll);
    // a given date must equal the computed one for the other tenors.
    Result<Date> value_date(const money::CurrencyPair& pair, Date trade_date,
                            const ValueDateRequest& request) const;

    // The spot_days of `pair` (or its inverse); nullopt when not configured.
    std::optional<std::uint32_t> spot_days(const money::CurrencyPair& pair) const noexcept;
    // Whether the pair's computed dates (SPOT, T+n) must also be USD business days: true
    // for a cross (neither side USD) whose config says skip_usd_holidays (the default).
    bool needs_usd_day(const money::CurrencyPair& pair) const noexcept;

  private:
    struct PairRule {
        money::CurrencyPair pair;
        std::uint32_t spot_days = 2;
        bool skip_usd_holidays = true;
    };
    const PairRule* find_rule(const money::CurrencyPair& pair) const noexcept;
    Result<const Calendar*> get(const money::Currency& currency) const;
    Result<Date> count_days(const money::CurrencyPair& pair, Date trade_date, std::uint32_t days,
                            bool with_usd) const;

    std::vector<Calendar> calendars_;  // sorted by currency code
    std::vector<PairRule> rules_;
    std::optional<money::Currency> usd_;
};

}  // namespace fxsettle::engine::calendar
