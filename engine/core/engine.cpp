#include "engine/core/engine.h"

#include <openssl/evp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <set>
#include <tuple>
#include <utility>

#include "engine/base/prefault.h"
#include "engine/book/order_book.h"
#include "engine/core/codec.h"
#include "engine/money/detail.h"

namespace fxsettle::engine {

Event to_event(SettlementEvent&& event) {
    return std::visit([](auto&& alternative) -> Event { return Event{std::move(alternative)}; },
                      std::move(event));
}

namespace {

using money::Amount;
using money::Currency;
using money::CurrencyPair;
using money::Int128;
using money::Money;
using money::Rate;

constexpr std::size_t kRoleAvailable = 0;
constexpr std::size_t kRoleHeld = 1;
constexpr std::size_t kRoleReceivable = 2;
constexpr std::size_t kRoles = 3;

struct Reject {
    Reason reason = Reason::kNone;
    std::string text;
};
using Check = std::optional<Reject>;

std::string fmt(const Amount& amount, const Currency& currency) {
    return money::format_amount(amount, currency) + " " + currency.to_string();
}

ledger::Date date_of(ledger::Timestamp t) {
    return std::chrono::floor<std::chrono::days>(t);
}

std::string pad20(std::uint64_t n) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%020llu", static_cast<unsigned long long>(n));
    return buf;
}

std::array<std::uint8_t, 32> sha256(std::string_view bytes) {
    std::array<std::uint8_t, 32> digest{};
    unsigned int size = 0;
    const int ok =
        EVP_Digest(bytes.data(), bytes.size(), digest.data(), &size, EVP_sha256(), nullptr);
    FXSETTLE_ASSERT(ok == 1 && size == digest.size(), "SHA-256 failed");
    return digest;
}

Amount amount_of(const Int128& value) {
    auto amount = Amount::from_int(value);
    FXSETTLE_ASSERT(amount.has_value(), "amount out of range");
    return *amount;
}

// amount x bps / 10000, rounded up.
Amount bps_up(const Amount& amount, std::uint32_t bps) {
    const Int128 product = amount.minor() * bps;
    return amount_of((product + 9999) / 10000);
}

Check check_client_id(const std::string& id) {
    if (id.empty() || id.size() > kClientIdBytesMax) {
        return Reject{Reason::kClientIdInvalid, "client id must be 1.." +
                                                    std::to_string(kClientIdBytesMax) +
                                                    " bytes, got " + std::to_string(id.size())};
    }
    return std::nullopt;
}

enum class Family : std::uint8_t {
    kOrders = 1,
    kQuotes = 2,
    kPayouts = 3,
    kDeposits = 4,
    kAdmin = 5
};

}  // namespace

// ---------------------------------------------------------------------------------------

struct Engine::Impl {
    struct PairInfo {
        CurrencyPair pair;
        CurrencyIndex base = 0;
        CurrencyIndex quote = 0;
        Int128 tick_mantissa;
        Amount min_qty;
        std::unique_ptr<book::OrderBook> book;  // created on the pair's first order
    };
    struct OrderRec {
        std::uint64_t id = 0;
        PspIndex psp = 0;
        std::string client_id;  // the latest ClOrdID (a replace renames the order)
        PairIndex pair = 0;
        book::Side side = book::Side::kBuy;
        book::OrderType type = book::OrderType::kLimit;
        book::TimeInForce tif = book::TimeInForce::kGtc;
        std::optional<std::int64_t> price_ticks;
        Amount quantity;  // total, as last accepted or replaced
        Amount leaves;
        Amount cum;  // filled so far
        // The sum over its fills of quantity (minor units) x price (Rate mantissa), exact:
        // the average price is notional / cum (OrderFilled::avg_price).
        money::detail::Int256 notional;
        Amount hold;  // still held for the order, in hold_currency
        CurrencyIndex hold_currency = 0;
        OrderState state = OrderState::kNew;
        bool open = true;
        ledger::Date value_date{};
    };
    struct TradeRec {
        std::uint64_t id = 0;
        PairIndex pair = 0;
        PspIndex buyer = 0;
        PspIndex seller = 0;
        std::uint64_t buy_order = 0;
        std::uint64_t sell_order = 0;
        std::int64_t price_ticks = 0;
        Amount base_amount;
        Amount quote_amount;
        ledger::Date value_date{};
        bool base_handed = false;
        bool quote_handed = false;
    };
    struct QuoteRec {
        std::uint64_t id = 0;
        PspIndex psp = 0;
        std::string client_id;
        CurrencyIndex sell = 0;
        CurrencyIndex buy = 0;
        Rate rate;
        Amount sell_amount;
        Amount buy_amount;
        ledger::Timestamp valid_until{};
        ledger::Date value_date{};
        bool used = false;
    };
    // Open commitments of a PSP in a currency for the risk checks (issue 8): outflows
    // (payout and order holds, trade legs it pays) and inflows (trade legs and internal
    // payouts it receives); FX sold and bought (orders and trades only).
    struct Figures {
        Amount out;
        Amount in;
        Amount sold;
        Amount bought;
    };
    struct Seen {
        std::array<std::uint8_t, 32> fingerprint{};
        Event outcome;
        ledger::Date day{};  // of the batch that accepted it
    };
    using SeenKey = std::tuple<std::uint8_t, std::uint32_t, std::string>;

    Impl(const config::Config& config_in, Chart chart_in, calendar::CalendarSet calendars_in,
         std::vector<CurrencyPair> pair_list)
        : config(config_in),
          chart(std::move(chart_in)),
          calendars(std::move(calendars_in)),
          settlement(chart, std::move(pair_list),
                     SettlementOptions{config_in.engine.rounding_mode,
                                       config_in.engine.hedge_timeout_ms}) {}

    config::Config config;
    Chart chart;
    calendar::CalendarSet calendars;
    Settlement settlement;

    std::vector<PairInfo> pairs;
    std::size_t currency_count = 0;
    std::vector<RiskLimits> limits;                             // per PSP
    std::vector<std::uint32_t> spreads;                         // per PSP
    std::vector<CurrencyIndex> cycle_currency;                  // per config cycle
    std::vector<std::optional<ledger::Timestamp>> next_cutoff;  // per config cycle (derived)

    // State.
    std::uint64_t batches = 0;  // the log position (not part of the state hash)
    std::optional<ledger::Timestamp> processed_until;
    // recover(): the operations of the trailing logged batches the ledger lacks (a split
    // commit interrupted by a crash); apply() refuses until finish_recovery().
    std::vector<ledger::Operation> unfinished;
    std::uint64_t entry_seq = 0;
    std::uint64_t order_seq = 0;
    std::uint64_t trade_seq = 0;
    std::uint64_t quote_seq = 0;
    std::uint64_t payout_seq = 0;
    std::map<std::uint64_t, OrderRec> orders;
    std::map<std::pair<PspIndex, std::string>, std::uint64_t> order_by_client;
    std::map<std::uint64_t, TradeRec> trades;
    std::map<std::uint64_t, QuoteRec> quotes;
    // Open payouts per payout currency, each in id order (ids only grow, so intake
    // appends), kept as the DuePayouts a cut-off hands to Settlement: it moves them out
    // in one pass (the whole vector when all are due), copying none.
    struct OpenPayouts {
        std::vector<DuePayout> due;  // locked_rate: the quote's rate when locked
        struct Extra {
            ledger::Date value_date{};
            std::optional<Rate> estimate;  // unlocked cross-currency: the rate at intake
        };
        std::vector<Extra> extra;  // parallel to `due`
    };
    std::vector<OpenPayouts> payouts;  // [currency]
    std::size_t payouts_open = 0;
    std::vector<Amount> mirror;  // [psp][currency][role]
    std::map<ledger::AccountId, std::size_t> mirror_slot;
    std::vector<Figures> figures;                 // [psp][currency]
    std::vector<std::optional<VenueRate>> rates;  // [venue][pair]
    std::map<SeenKey, Seen> seen;
    // Client ids whose outcome retention dropped: 64 bits of SHA-256 of the key -> the day
    // it was accepted (engine.h, "Idempotency retention").
    std::map<std::uint64_t, ledger::Date> seen_expired;
    std::optional<ledger::Date> pruned_on;

    // Per batch.
    ledger::Timestamp now{};
    BatchOutput<Event>* out = nullptr;
    std::vector<SetLimits> pending_limits;

    // ---- lookups ------------------------------------------------------------------
    std::size_t slot(PspIndex psp, CurrencyIndex c, std::size_t role) const {
        return (static_cast<std::size_t>(psp) * currency_count + c) * kRoles + role;
    }
    const Amount& bal(PspIndex psp, CurrencyIndex c, std::size_t role) const {
        return mirror[slot(psp, c, role)];
    }
    Figures& fig(PspIndex psp, CurrencyIndex c) {
        return figures[static_cast<std::size_t>(psp) * currency_count + c];
    }
    const Currency& cur(CurrencyIndex c) const { return chart.currency(c); }
    std::optional<PairIndex> find_pair(const CurrencyPair& pair) const {
        for (PairIndex i = 0; i < pairs.size(); ++i) {
            if (pairs[i].pair == pair)
                return i;
        }
        return std::nullopt;
    }
    // The configured pair of two currencies, in either direction.
    std::optional<PairIndex> find_pair_either(CurrencyIndex a, CurrencyIndex b) const {
        for (PairIndex i = 0; i < pairs.size(); ++i) {
            if ((pairs[i].base == a && pairs[i].quote == b) ||
                (pairs[i].base == b && pairs[i].quote == a))
                return i;
        }
        return std::nullopt;
    }
    bool has_cycle(CurrencyIndex c) const {
        return std::find(cycle_currency.begin(), cycle_currency.end(), c) != cycle_currency.end();
    }
    Amount limit_of(const config::CurrencyAmounts& map, CurrencyIndex c) const {
        const auto it = map.find(cur(c));
        return it == map.end() ? Amount{} : it->second;
    }
    // An order's average fill price (its notional over its filled quantity), rounded
    // half-even to Rate::kDecimals; it lies between its lowest and highest fill price.
    static Rate average_price(const CurrencyPair& pair, const OrderRec& o) {
        const money::detail::RoundedQuotient q = money::detail::divide_rounded(
            o.notional, money::detail::Int256(o.cum.minor()), money::RoundingMode::kHalfEven);
        auto rate = Rate::from_mantissa(pair, Int128(q.quotient));
        FXSETTLE_ASSERT(rate.has_value(), "average fill price out of range");
        return *rate;
    }
    Rate rate_of(PairIndex p, std::int64_t ticks) const {
        auto rate = Rate::from_mantissa(pairs[p].pair, pairs[p].tick_mantissa * ticks);
        FXSETTLE_ASSERT(rate.has_value(), "price in ticks out of range");
        return *rate;
    }
    Amount cost(PairIndex p, const Amount& qty, std::int64_t ticks,
                money::RoundingMode mode) const {
        auto conv = money::convert(Money{qty, pairs[p].pair.base}, rate_of(p, ticks), mode);
        FXSETTLE_ASSERT(conv.has_value(), "order cost overflows");
        return conv->converted.amount;
    }
    book::OrderBook& book_of(PairIndex p) {
        if (!pairs[p].book)
            pairs[p].book = std::make_unique<book::OrderBook>(config.engine.book_orders_max);
        return *pairs[p].book;
    }

    // ---- rates ----------------------------------------------------------------------
    bool fresh(VenueIndex v, const VenueRate& rate) const {
        return now - rate.time <= std::chrono::duration_cast<std::chrono::nanoseconds>(
                                      config.venues[v].rate_stale_ms) &&
               rate.time <= now + std::chrono::seconds(60);
    }
    std::optional<Rate> best_mid(PairIndex p) const {
        std::optional<Int128> bid;
        std::optional<Int128> ask;
        for (VenueIndex v = 0; v < chart.venue_count(); ++v) {
            const auto& rate = rates[v * pairs.size() + p];
            if (!rate || !fresh(v, *rate))
                continue;
            if (!bid || rate->bid.mantissa() > *bid)
                bid = rate->bid.mantissa();
            if (!ask || rate->ask.mantissa() < *ask)
                ask = rate->ask.mantissa();
        }
        if (!bid || !ask)
            return std::nullopt;
        auto mid = Rate::from_mantissa(pairs[p].pair, (*bid + *ask) / 2);
        if (!mid)
            return std::nullopt;
        return *mid;
    }
    // `money` converted at the mid into `to` through a configured pair, directly or
    // through one other currency; nullopt without fresh rates.
    std::optional<Amount> value_at_mid(const Amount& amount, CurrencyIndex from,
                                       CurrencyIndex to) const {
        if (from == to)
            return amount;
        auto step = [&](const Amount& a, CurrencyIndex f,
                        CurrencyIndex t) -> std::optional<Amount> {
            const auto p = find_pair_either(f, t);
            if (!p)
                return std::nullopt;
            const auto mid = best_mid(*p);
            if (!mid)
                return std::nullopt;
            Result<money::Conversion> conv = fail(StatusCode::kInternal, "");
            if (pairs[*p].base == f) {
                conv = money::convert(Money{a, cur(f)}, *mid);
            } else {
                auto inverse = mid->inverted();
                if (!inverse)
                    return std::nullopt;
                conv = money::convert(Money{a, cur(f)}, *inverse);
            }
            if (!conv)
                return std::nullopt;
            return conv->converted.amount;
        };
        if (auto direct = step(amount, from, to))
            return direct;
        for (CurrencyIndex via = 0; via < currency_count; ++via) {
            if (via == from || via == to)
                continue;
            if (auto first = step(amount, from, via)) {
                if (auto second = step(*first, via, to))
                    return second;
            }
        }
        return std::nullopt;
    }

    // ---- ledger and mirror ----------------------------------------------------------
    ledger::EntryId next_entry_id() { return ledger::EntryId{kEngineEntryIdHi, ++entry_seq}; }

    void mirror_posting(const ledger::AccountId& account, ledger::Side side, const Amount& amount) {
        const auto it = mirror_slot.find(account);
        if (it == mirror_slot.end())
            return;
        const bool debit_normal = it->second % kRoles == kRoleReceivable;
        const bool increases = (side == ledger::Side::kDebit) == debit_normal;
        Amount& balance = mirror[it->second];
        balance = increases ? balance + amount : balance - amount;
        FXSETTLE_ASSERT(!balance.is_negative(),
                        "an operation would make a no_negative PSP account negative");
    }

    void mirror_operation(const ledger::Operation& op) {
        if (const auto* entry = std::get_if<ledger::EntryRequest>(&op.op)) {
            if (entry->kind != ledger::EntryKind::kPosted) {
                for (const auto& posting : entry->postings)
                    FXSETTLE_ASSERT(!mirror_slot.contains(posting.account),
                                    "the engine does not mirror holds on PSP accounts");
                return;
            }
            for (const auto& posting : entry->postings)
                mirror_posting(posting.account, posting.side, posting.amount.amount);
        } else if (const auto* fx = std::get_if<ledger::FxConversionRequest>(&op.op)) {
            auto conv = money::convert(fx->from, fx->rate, fx->mode);
            FXSETTLE_ASSERT(conv.has_value(), "an FX conversion the ledger would refuse");
            mirror_posting(fx->from_account, ledger::Side::kDebit, fx->from.amount);
            mirror_posting(fx->to_account, ledger::Side::kCredit, conv->converted.amount);
        }
    }

    void post(ledger::Date value_date, std::string reference,
              std::vector<ledger::Posting> postings) {
        ledger::EntryRequest entry;
        entry.id = next_entry_id();
        entry.kind = ledger::EntryKind::kPosted;
        entry.value_date = value_date;
        entry.reference = std::move(reference);
        entry.postings = std::move(postings);
        ledger::Operation op{std::move(entry), false};
        mirror_operation(op);
        out->operations.push_back(std::move(op));
    }

    void move(PspIndex psp, CurrencyIndex c, std::size_t from_role, std::size_t to_role,
              const Amount& amount, ledger::Date value_date, std::string reference) {
        if (!amount.is_positive())
            return;
        auto id = [&](std::size_t role) {
            return role == kRoleAvailable ? chart.psp_available(psp, c)
                   : role == kRoleHeld    ? chart.psp_held(psp, c)
                                          : chart.psp_receivable(psp, c);
        };
        const Money money{amount, cur(c)};
        // Value leaves a credit-normal account by a debit and a debit-normal one by a credit.
        const ledger::Side leave =
            from_role == kRoleReceivable ? ledger::Side::kCredit : ledger::Side::kDebit;
        const ledger::Side enter =
            to_role == kRoleReceivable ? ledger::Side::kDebit : ledger::Side::kCredit;
        post(value_date, std::move(reference),
             {ledger::Posting{id(from_role), leave, money},
              ledger::Posting{id(to_role), enter, money}});
    }

    // Moves `amount` available -> held, drawing credit first for what available lacks
    // (checked by check_funds before).
    void hold(PspIndex psp, CurrencyIndex c, const Amount& amount, ledger::Date value_date,
              const std::string& reference) {
        if (!amount.is_positive())
            return;
        const Amount available = bal(psp, c, kRoleAvailable);
        if (amount > available) {
            const Amount shortfall = amount - available;
            // Dr receivable / Cr available: the PSP now owes what it drew.
            post(value_date, reference + " credit",
                 {ledger::Posting{chart.psp_receivable(psp, c), ledger::Side::kDebit,
                                  Money{shortfall, cur(c)}},
                  ledger::Posting{chart.psp_available(psp, c), ledger::Side::kCredit,
                                  Money{shortfall, cur(c)}}});
        }
        move(psp, c, kRoleAvailable, kRoleHeld, amount, value_date, reference + " hold");
    }
    void release(PspIndex psp, CurrencyIndex c, const Amount& amount, ledger::Date value_date,
                 const std::string& reference) {
        move(psp, c, kRoleHeld, kRoleAvailable, amount, value_date, reference + " release");
    }

    Check check_funds(PspIndex psp, CurrencyIndex c, const Amount& amount) const {
        const Amount available = bal(psp, c, kRoleAvailable);
        if (amount <= available)
            return std::nullopt;
        if (limits[psp].funding_mode == config::FundingMode::kPostfunded) {
            const Amount limit = limit_of(limits[psp].credit_limits, c);
            const Amount drawn = bal(psp, c, kRoleReceivable);
            const Amount headroom = limit > drawn ? limit - drawn : Amount{};
            if (amount <= available + headroom)
                return std::nullopt;
            return Reject{Reason::kCreditLimitExceeded,
                          "needs " + fmt(amount, cur(c)) + "; available " + fmt(available, cur(c)) +
                              ", credit headroom " + fmt(headroom, cur(c)) + " (credit_limits." +
                              cur(c).to_string() + " " + fmt(limit, cur(c)) + ", drawn " +
                              fmt(drawn, cur(c)) + ")"};
        }
        return Reject{Reason::kInsufficientFunds,
                      "needs " + fmt(amount, cur(c)) + "; available " + fmt(available, cur(c))};
    }

    // Net debit cap, aggregate cap and (for FX orders) short position limit, for an
    // added outflow of `delta` in `c`.
    Check check_risk(PspIndex psp, CurrencyIndex c, const Amount& delta, bool fx_order) {
        if (!delta.is_positive())
            return std::nullopt;
        const RiskLimits& lim = limits[psp];
        const Figures& f = fig(psp, c);
        const Amount net_after = f.out + delta - f.in;
        const Amount cap = limit_of(lim.net_debit_caps, c);
        if (net_after > cap) {
            return Reject{Reason::kNetDebitCapExceeded,
                          "net_debit_caps." + cur(c).to_string() + ": cap " + fmt(cap, cur(c)) +
                              ", net debit would be " + fmt(net_after, cur(c))};
        }
        // Short position limit: only where the PSP has an entry for the currency (no entry
        // means no limit). A short position is what the PSP has committed to deliver in `c`
        // (its unsettled outflows, this order's included, less its unsettled inflows)
        // beyond its own funds there (available + held - credit drawn): selling funds it
        // holds is not short, selling on credit is.
        const auto short_entry = lim.short_position_limits.find(cur(c));
        if (fx_order && short_entry != lim.short_position_limits.end()) {
            const Amount own =
                bal(psp, c, kRoleAvailable) + bal(psp, c, kRoleHeld) - bal(psp, c, kRoleReceivable);
            const Amount committed = f.out + delta - f.in;
            const Amount short_after = committed > own ? committed - own : Amount{};
            const Amount& short_limit = short_entry->second;
            if (short_after > short_limit) {
                return Reject{Reason::kShortPositionLimitExceeded,
                              "short_position_limits." + cur(c).to_string() + ": limit " +
                                  fmt(short_limit, cur(c)) + ", short position would be " +
                                  fmt(short_after, cur(c)) + " (commitments " +
                                  fmt(committed, cur(c)) + " against own funds " +
                                  fmt(own, cur(c)) + ")"};
            }
        }
        const auto ref = chart.currency_index(lim.aggregate_cap.currency);
        if (!ref)
            return std::nullopt;  // validated at set-limits; a config cap outside the chart
        Amount total;
        for (CurrencyIndex d = 0; d < currency_count; ++d) {
            const Figures& g = fig(psp, d);
            Amount net = g.out - g.in;
            if (d == c)
                net += delta;
            if (!net.is_positive())
                continue;
            const auto valued = value_at_mid(net, d, *ref);
            if (!valued) {
                return Reject{Reason::kNoRateForRisk,
                              "aggregate_cap: no fresh rate values the net debit of " +
                                  fmt(net, cur(d)) + " in " + cur(*ref).to_string()};
            }
            total += *valued;
        }
        if (total > lim.aggregate_cap.amount) {
            return Reject{Reason::kAggregateCapExceeded,
                          "aggregate_cap: cap " + fmt(lim.aggregate_cap.amount, cur(*ref)) +
                              ", net debits would be " + fmt(total, cur(*ref))};
        }
        return std::nullopt;
    }

    // ---- value dates ----------------------------------------------------------------
    Check value_date_reject(const Status& status) const {
        switch (status.code()) {
            case StatusCode::kOutOfRange:
                return Reject{Reason::kValueDateOutOfRange, status.message()};
            case StatusCode::kNotFound:
                return Reject{Reason::kUnknownPair, status.message()};
            default:
                return Reject{Reason::kValueDateInvalid, status.message()};
        }
    }
    // Pre-checks that give the specific reasons for a requested date.
    Check check_requested_date(const ValueDateRequest& request,
                               std::span<const Currency> currencies) const {
        if (request.tenor == calendar::Tenor::kBroken && !request.date)
            return Reject{Reason::kValueDateInvalid, "a broken-date value date needs a date"};
        if (!request.date)
            return std::nullopt;
        const ledger::Date today = date_of(now);
        if (*request.date < today) {
            return Reject{Reason::kValueDateInPast,
                          "value date " + calendar::format_date(*request.date) +
                              " is before today " + calendar::format_date(today)};
        }
        if (request.roll != calendar::Roll::kNone || request.tenor != calendar::Tenor::kBroken)
            return std::nullopt;
        for (const auto& currency : currencies) {
            auto business = calendars.is_business_day(currency, *request.date);
            if (!business)
                return value_date_reject(business.error());
            if (!*business) {
                const auto* cal = calendars.find(currency);
                return Reject{Reason::kValueDateNotBusinessDay,
                              "value date " + calendar::format_date(*request.date) +
                                  " is not a business day of " + currency.to_string() +
                                  (cal ? " (" + cal->closed_reason(*request.date) + ")" : "")};
            }
        }
        return std::nullopt;
    }
    Result<ledger::Date> pair_value_date(PairIndex p, const ValueDateRequest& request,
                                         Check& reject) const {
        const Currency both[] = {pairs[p].pair.base, pairs[p].pair.quote};
        if ((reject = check_requested_date(request, both)))
            return ledger::Date{};
        auto date = calendars.value_date(pairs[p].pair, date_of(now), request);
        if (!date) {
            reject = value_date_reject(date.error());
            return ledger::Date{};
        }
        return *date;
    }
    Result<ledger::Date> currency_value_date(CurrencyIndex c, const ValueDateRequest& request,
                                             Check& reject) const {
        const Currency one[] = {cur(c)};
        if ((reject = check_requested_date(request, one)))
            return ledger::Date{};
        const ledger::Date today = date_of(now);
        Result<ledger::Date> date = fail(StatusCode::kInternal, "");
        switch (request.tenor) {
            case calendar::Tenor::kBroken:
                date = calendars.check_value_date(cur(c), *request.date, request.roll, today);
                break;
            case calendar::Tenor::kToday:
                date = calendars.check_value_date(cur(c), today, request.roll, today);
                break;
            case calendar::Tenor::kTomorrow:
                date = calendars.next_business_day(cur(c), today);
                break;
            case calendar::Tenor::kSpot:
                // A payout in one currency settles in the currency's next cycle.
                date = calendars.add_business_days(cur(c), today, 0);
                break;
            case calendar::Tenor::kTPlus2:
            case calendar::Tenor::kTPlus3:
            case calendar::Tenor::kTPlus4:
                date = calendars.add_business_days(cur(c), today,
                                                   2 + static_cast<int>(request.tenor) -
                                                       static_cast<int>(calendar::Tenor::kTPlus2));
                break;
        }
        if (!date) {
            reject = value_date_reject(date.error());
            return ledger::Date{};
        }
        if (request.date && request.tenor != calendar::Tenor::kBroken && *request.date != *date) {
            reject = Reject{Reason::kValueDateInvalid,
                            "value date " + calendar::format_date(*request.date) + " is not the " +
                                std::string(calendar::tenor_name(request.tenor)) + " date " +
                                calendar::format_date(*date) + " of " + cur(c).to_string()};
            return ledger::Date{};
        }
        return *date;
    }

    // ---- idempotency ----------------------------------------------------------------
    // True when the command was handled as a repeat (the original outcome re-emitted) or
    // refused as a duplicate (via `reject`).
    template <typename RejectFn>
    bool repeat_or_duplicate(Family family, std::uint32_t owner, const std::string& client_id,
                             const std::array<std::uint8_t, 32>& fingerprint, RejectFn&& reject) {
        SeenKey key{static_cast<std::uint8_t>(family), owner, client_id};
        const auto it = seen.find(key);
        if (it == seen.end()) {
            const auto expired = seen_expired.find(seen_digest(key));
            if (expired == seen_expired.end())
                return false;
            reject(Reject{Reason::kDuplicateClientId,
                          "client id '" + client_id + "' was accepted on " +
                              calendar::format_date(expired->second) +
                              "; its outcome is no longer kept (kIdempotencyDaysKept " +
                              std::to_string(kIdempotencyDaysKept) +
                              " days), so a repeat is refused, never executed again"});
            return true;
        }
        if (it->second.fingerprint == fingerprint) {
            out->events.push_back(it->second.outcome);
        } else {
            reject(Reject{Reason::kDuplicateClientId,
                          "client id '" + client_id + "' was used before for another request"});
        }
        return true;
    }
    void remember(Family family, std::uint32_t owner, const std::string& client_id,
                  const std::array<std::uint8_t, 32>& fingerprint, const Event& outcome) {
        seen.emplace(SeenKey{static_cast<std::uint8_t>(family), owner, client_id},
                     Seen{fingerprint, outcome, date_of(now)});
    }
    static std::uint64_t seen_digest(const SeenKey& key) {
        std::string bytes;
        codec::Writer w(bytes);
        w.put(std::get<0>(key));
        w.put(std::get<1>(key));
        w.put(std::get<2>(key));
        const auto digest = sha256(bytes);
        std::uint64_t v = 0;
        for (std::size_t i = 0; i < 8; ++i)
            v = (v << 8) | digest[i];
        return v;
    }
    // Once per day (the first batch of a date): outcomes older than kIdempotencyDaysKept
    // become expired digests, dropped in turn after kIdempotencyExpiredDaysKept.
    void prune_seen(ledger::Date today) {
        if (pruned_on && *pruned_on >= today)
            return;
        pruned_on = today;
        const ledger::Date keep_from = today - std::chrono::days(kIdempotencyDaysKept);
        for (auto it = seen.begin(); it != seen.end();) {
            if (it->second.day < keep_from) {
                seen_expired.emplace(seen_digest(it->first), it->second.day);
                it = seen.erase(it);
            } else {
                ++it;
            }
        }
        const ledger::Date expired_from = today - std::chrono::days(kIdempotencyExpiredDaysKept);
        std::erase_if(seen_expired, [&](const auto& e) { return e.second < expired_from; });
    }
    static std::array<std::uint8_t, 32> fingerprint_of(const Command& command) {
        return sha256(codec::encode(command));
    }

    void emit(Event event) { out->events.push_back(std::move(event)); }

    // ---- figures helpers ------------------------------------------------------------
    void add_order_hold(OrderRec& o, const Amount& delta) {
        o.hold += delta;
        FXSETTLE_ASSERT(!o.hold.is_negative(), "an order's hold went negative");
        Figures& f = fig(o.psp, o.hold_currency);
        f.out += delta;
        f.sold += delta;
    }
    void release_order(OrderRec& o, Amount amount) {  // by value: callers pass o.hold
        if (!amount.is_positive())
            return;
        add_order_hold(o, -amount);
        release(o.psp, o.hold_currency, amount, o.value_date, "order " + std::to_string(o.id));
    }
    // What a resting order still needs held: its leaves (a sell) or their cost at its
    // limit rounded up (a buy).
    Amount required_hold(const OrderRec& o) const {
        if (o.side == book::Side::kSell)
            return o.leaves;
        if (!o.price_ticks || !o.leaves.is_positive())
            return Amount{};
        return cost(o.pair, o.leaves, *o.price_ticks, money::RoundingMode::kUp);
    }
    void trim_order(OrderRec& o) {
        if (!o.open)
            return;
        if (!o.leaves.is_positive()) {
            o.open = false;
            o.state = OrderState::kFilled;
            release_order(o, o.hold);
            return;
        }
        if (o.type == book::OrderType::kMarket)
            return;  // the book ends it in the same call (IOC remainder)
        const Amount need = required_hold(o);
        if (o.hold > need)
            release_order(o, o.hold - need);
    }

    // ---- order book events ----------------------------------------------------------
    void on_fill(PairIndex p, const book::Event& ev, std::set<std::uint64_t>& touched) {
        OrderRec& taker = orders.at(ev.order.value);
        OrderRec& maker = orders.at(ev.counter_order.value);
        const Amount qty = Amount::from_minor(ev.quantity.minor);
        const Amount quote_amount = cost(p, qty, ev.price.ticks, money::RoundingMode::kDown);
        OrderRec& buyer = taker.side == book::Side::kBuy ? taker : maker;
        OrderRec& seller = taker.side == book::Side::kBuy ? maker : taker;
        TradeRec trade;
        trade.id = ++trade_seq;
        trade.pair = p;
        trade.buyer = buyer.psp;
        trade.seller = seller.psp;
        trade.buy_order = buyer.id;
        trade.sell_order = seller.id;
        trade.price_ticks = ev.price.ticks;
        trade.base_amount = qty;
        trade.quote_amount = quote_amount;
        trade.value_date = std::max(buyer.value_date, seller.value_date);
        // The order's hold becomes the trade's: still held, now owed at settlement.
        add_order_hold(buyer, -quote_amount);
        add_order_hold(seller, -qty);
        const PairInfo& info = pairs[p];
        Figures& bq = fig(buyer.psp, info.quote);
        bq.out += quote_amount;
        bq.sold += quote_amount;
        Figures& bb = fig(buyer.psp, info.base);
        bb.in += qty;
        bb.bought += qty;
        Figures& sb = fig(seller.psp, info.base);
        sb.out += qty;
        sb.sold += qty;
        Figures& sq = fig(seller.psp, info.quote);
        sq.in += quote_amount;
        sq.bought += quote_amount;
        taker.leaves = Amount::from_minor(ev.remaining.minor);
        maker.leaves = Amount::from_minor(ev.counter_remaining.minor);
        taker.cum += qty;
        maker.cum += qty;
        const Rate price = rate_of(p, ev.price.ticks);
        const money::detail::Int256 fill_notional =
            money::detail::Int256(qty.minor()) * money::detail::Int256(price.mantissa());
        for (OrderRec* o : {&taker, &maker}) {
            o->state = o->leaves.is_positive() ? OrderState::kPartiallyFilled : OrderState::kFilled;
            o->notional += fill_notional;
            emit(OrderFilled{o->psp, o->client_id, o->id, trade.id, info.pair, o->side, price, qty,
                             quote_amount, o->leaves, o->cum, o == &maker, trade.value_date,
                             average_price(info.pair, *o)});
            touched.insert(o->id);
        }
        trades.emplace(trade.id, trade);
    }

    void on_book_events(PairIndex p, const std::vector<book::Event>& events,
                        const std::string& request_client_id, const Amount& replaced_hold) {
        std::set<std::uint64_t> touched;
        for (const auto& ev : events) {
            switch (ev.kind) {
                case book::EventKind::kAccepted:
                case book::EventKind::kRested:
                case book::EventKind::kRejected:
                    break;
                case book::EventKind::kFill:
                    on_fill(p, ev, touched);
                    break;
                case book::EventKind::kReplaced: {
                    OrderRec& o = orders.at(ev.order.value);
                    emit(OrderReplaced{o.psp, o.client_id, std::string{}, o.id,
                                       rate_of(p, ev.price.ticks), o.quantity, o.leaves,
                                       ev.priority_kept, Money{replaced_hold, cur(o.hold_currency)},
                                       o.side});
                    break;
                }
                case book::EventKind::kCancelled: {
                    OrderRec& o = orders.at(ev.order.value);
                    const Amount cancelled = Amount::from_minor(ev.remaining.minor);
                    o.leaves = Amount{};
                    o.open = false;
                    o.state = ev.cancel_reason == book::CancelReason::kExpired
                                  ? OrderState::kExpired
                                  : OrderState::kCancelled;
                    const Amount released = o.hold;
                    release_order(o, released);
                    const bool requested = ev.cancel_reason == book::CancelReason::kRequested;
                    emit(OrderCancelled{o.psp, requested ? request_client_id : o.client_id,
                                        o.client_id, o.id, ev.cancel_reason, cancelled, o.cum,
                                        Money{released, cur(o.hold_currency)}, pairs[p].pair,
                                        o.side});
                    break;
                }
            }
        }
        for (const std::uint64_t id : touched)
            trim_order(orders.at(id));
    }

    // ---- commands -------------------------------------------------------------------
    // `pair` and `side`: a new order's own; for a cancel, replace or status request those
    // of the order `orig` names when it is known, with its id and current state
    // (event_types.h OrderRejected). Every cancel, replace and status reject comes through
    // here, so each of them carries what the engine knows of the order.
    void reject_order(const std::string& client_id, const std::string& orig, PspIndex psp,
                      RequestKind kind, Reject r,
                      std::optional<money::CurrencyPair> pair = std::nullopt,
                      std::optional<book::Side> side = std::nullopt) {
        std::optional<std::uint64_t> order_id;
        std::optional<OrderState> order_state;
        if (kind != RequestKind::kNewOrder) {
            if (const OrderRec* o = find_order(psp, orig)) {
                pair = pairs[o->pair].pair;
                side = o->side;
                order_id = o->id;
                order_state = o->state;
            }
        }
        emit(OrderRejected{psp, client_id, orig, kind, r.reason, std::move(r.text), pair, side,
                           order_id, order_state});
    }

    Check validate_psp(PspIndex psp) const {
        if (psp >= chart.psp_count())
            return Reject{Reason::kUnknownPsp,
                          "PSP index " + std::to_string(psp) + " is not configured"};
        return std::nullopt;
    }

    Check price_ticks(PairIndex p, const Rate& price, std::int64_t& ticks) const {
        const PairInfo& info = pairs[p];
        if (price.pair() != info.pair)
            return Reject{Reason::kPriceInvalid, "price " + price.to_string() + " is on " +
                                                     price.pair().to_string() + ", not " +
                                                     info.pair.to_string()};
        const Int128& m = price.mantissa();
        if (m % info.tick_mantissa != 0)
            return Reject{Reason::kPriceInvalid,
                          "price " + price.to_string() + " is not a multiple of the tick " +
                              Rate::from_mantissa(info.pair, info.tick_mantissa)->to_string()};
        const Int128 t = m / info.tick_mantissa;
        if (t > Int128(std::numeric_limits<std::int64_t>::max() / 2))
            return Reject{Reason::kPriceInvalid, "price " + price.to_string() + " is out of range"};
        ticks = static_cast<std::int64_t>(t);
        return std::nullopt;
    }

    void on_new_order(const NewOrder& cmd, const Command& command) {
        auto reject = [&](Reject r) {
            reject_order(cmd.client_id, {}, cmd.psp, RequestKind::kNewOrder, std::move(r), cmd.pair,
                         cmd.side);
        };
        if (auto r = check_client_id(cmd.client_id))
            return reject(*r);
        if (auto r = validate_psp(cmd.psp))
            return reject(*r);
        const auto fingerprint = fingerprint_of(command);
        if (repeat_or_duplicate(Family::kOrders, cmd.psp, cmd.client_id, fingerprint, reject))
            return;
        const auto p = find_pair(cmd.pair);
        if (!p)
            return reject(
                {Reason::kUnknownPair, "pair " + cmd.pair.to_string() + " is not traded"});
        const PairInfo& info = pairs[*p];
        if (cmd.quantity < info.min_qty || cmd.quantity > Amount::from_minor(book::kQuantityMax)) {
            return reject({Reason::kQuantityInvalid,
                           "quantity " + fmt(cmd.quantity, info.pair.base) + " must be in [" +
                               fmt(info.min_qty, info.pair.base) + ", " +
                               fmt(Amount::from_minor(book::kQuantityMax), info.pair.base) + "]"});
        }
        std::optional<std::int64_t> ticks;
        if (cmd.type == book::OrderType::kMarket) {
            if (cmd.tif == book::TimeInForce::kGtc || cmd.tif == book::TimeInForce::kDay)
                return reject({Reason::kTimeInForceInvalid,
                               "a market order is IOC or FOK, never GTC or Day"});
            if (cmd.price)
                return reject({Reason::kPriceInvalid, "a market order takes no price"});
        } else {
            if (!cmd.price)
                return reject({Reason::kPriceInvalid, "a limit order needs a price"});
            std::int64_t t = 0;
            if (auto r = price_ticks(*p, *cmd.price, t))
                return reject(*r);
            ticks = t;
        }
        Check date_reject;
        const auto value_date = pair_value_date(*p, cmd.value_date, date_reject);
        if (date_reject)
            return reject(*date_reject);

        // What the order needs held, in the currency it sells.
        const bool buy = cmd.side == book::Side::kBuy;
        const CurrencyIndex sold = buy ? info.quote : info.base;
        const book::OwnerId owner{cmd.psp};
        Amount need;
        if (cmd.type == book::OrderType::kLimit) {
            need = buy ? cost(*p, cmd.quantity, *ticks, money::RoundingMode::kUp) : cmd.quantity;
        } else {
            // Market: what the reachable liquidity up to the quantity would cost.
            Amount left = cmd.quantity;
            const book::Side taker = cmd.side;
            book_of(*p).walk(taker, owner, std::nullopt, [&](book::Price price, book::Quantity q) {
                const Amount take = std::min(left, Amount::from_minor(q.minor));
                need += buy ? cost(*p, take, price.ticks, money::RoundingMode::kUp) : take;
                left -= take;
                return left.is_positive();
            });
        }
        if (auto r = check_risk(cmd.psp, sold, need, true))
            return reject(*r);
        if (auto r = check_funds(cmd.psp, sold, need))
            return reject(*r);

        book::OrderBook& book = book_of(*p);
        if (book.order_count() >= book.orders_max() && cmd.type == book::OrderType::kLimit &&
            (cmd.tif == book::TimeInForce::kGtc || cmd.tif == book::TimeInForce::kDay)) {
            // It might fill at once, but refuse up front rather than unwind a rest.
            return reject({Reason::kBookFull, info.pair.to_string() +
                                                  " book holds its maximum of " +
                                                  std::to_string(book.orders_max()) + " orders"});
        }
        const std::uint64_t id = order_seq + 1;
        std::vector<book::Event> events;
        book::NewOrder order{book::OrderId{id},
                             owner,
                             cmd.side,
                             cmd.type,
                             cmd.tif,
                             book::Price{ticks.value_or(0)},
                             book::Quantity{static_cast<std::int64_t>(cmd.quantity.minor())}};
        book.add(order, events);
        FXSETTLE_ASSERT(!events.empty(), "the book reported nothing for an add");
        if (events.front().kind == book::EventKind::kRejected) {
            return reject({events.front().reject == book::BookReject::kBookFull
                               ? Reason::kBookFull
                               : Reason::kQuantityInvalid,
                           "order book refused the order: " +
                               std::string(book::book_reject_name(events.front().reject))});
        }
        order_seq = id;
        OrderRec rec;
        rec.id = id;
        rec.psp = cmd.psp;
        rec.client_id = cmd.client_id;
        rec.pair = *p;
        rec.side = cmd.side;
        rec.type = cmd.type;
        rec.tif = cmd.tif;
        rec.price_ticks = ticks;
        rec.quantity = cmd.quantity;
        rec.leaves = cmd.quantity;
        rec.hold_currency = sold;
        rec.value_date = *value_date;
        auto& stored = orders.emplace(id, std::move(rec)).first->second;
        hold(cmd.psp, sold, need, *value_date, "order " + std::to_string(id));
        add_order_hold(stored, need);
        order_by_client[{cmd.psp, cmd.client_id}] = id;
        OrderAccepted accepted{cmd.psp,
                               cmd.client_id,
                               id,
                               info.pair,
                               cmd.side,
                               cmd.type,
                               cmd.tif,
                               cmd.price,
                               cmd.quantity,
                               *value_date,
                               Money{need, cur(sold)}};
        remember(Family::kOrders, cmd.psp, cmd.client_id, fingerprint, Event{accepted});
        emit(std::move(accepted));
        on_book_events(*p, events, cmd.client_id, Amount{});
    }

    OrderRec* find_order(PspIndex psp, const std::string& client_id) {
        const auto it = order_by_client.find({psp, client_id});
        if (it == order_by_client.end())
            return nullptr;
        return &orders.at(it->second);
    }

    void on_cancel(const CancelOrder& cmd, const Command& command) {
        auto reject = [&](Reject r) {
            reject_order(cmd.client_id, cmd.orig_client_id, cmd.psp, RequestKind::kCancel,
                         std::move(r));
        };
        if (auto r = check_client_id(cmd.client_id))
            return reject(*r);
        if (auto r = validate_psp(cmd.psp))
            return reject(*r);
        const auto fingerprint = fingerprint_of(command);
        if (repeat_or_duplicate(Family::kOrders, cmd.psp, cmd.client_id, fingerprint, reject))
            return;
        OrderRec* o = find_order(cmd.psp, cmd.orig_client_id);
        if (!o)
            return reject({Reason::kUnknownOrder, "no order '" + cmd.orig_client_id + "'"});
        if (!o->open)
            return reject(
                {Reason::kOrderDone, "order '" + cmd.orig_client_id + "' is no longer open"});
        std::vector<book::Event> events;
        book_of(o->pair).cancel(book::OrderId{o->id}, book::OwnerId{o->psp}, events);
        FXSETTLE_ASSERT(!events.empty() && events.front().kind == book::EventKind::kCancelled,
                        "the book did not cancel an open order");
        const std::size_t first = out->events.size();
        on_book_events(o->pair, events, cmd.client_id, Amount{});
        remember(Family::kOrders, cmd.psp, cmd.client_id, fingerprint, out->events.at(first));
    }

    void on_replace(const ReplaceOrder& cmd, const Command& command) {
        auto reject = [&](Reject r) {
            reject_order(cmd.client_id, cmd.orig_client_id, cmd.psp, RequestKind::kReplace,
                         std::move(r));
        };
        if (auto r = check_client_id(cmd.client_id))
            return reject(*r);
        if (auto r = validate_psp(cmd.psp))
            return reject(*r);
        const auto fingerprint = fingerprint_of(command);
        if (repeat_or_duplicate(Family::kOrders, cmd.psp, cmd.client_id, fingerprint, reject))
            return;
        OrderRec* o = find_order(cmd.psp, cmd.orig_client_id);
        if (!o)
            return reject({Reason::kUnknownOrder, "no order '" + cmd.orig_client_id + "'"});
        if (!o->open)
            return reject(
                {Reason::kOrderDone, "order '" + cmd.orig_client_id + "' is no longer open"});
        std::int64_t ticks = 0;
        if (auto r = price_ticks(o->pair, cmd.price, ticks))
            return reject(*r);
        const Amount filled = o->cum;
        if (cmd.quantity <= filled ||
            cmd.quantity - filled > Amount::from_minor(book::kQuantityMax)) {
            return reject({Reason::kReplaceQuantityInvalid,
                           "new quantity " + fmt(cmd.quantity, pairs[o->pair].pair.base) +
                               " must exceed the filled " + fmt(filled, pairs[o->pair].pair.base)});
        }
        const Amount leaves = cmd.quantity - filled;
        const Amount need = o->side == book::Side::kSell
                                ? leaves
                                : cost(o->pair, leaves, ticks, money::RoundingMode::kUp);
        const Amount extra = need > o->hold ? need - o->hold : Amount{};
        if (auto r = check_risk(o->psp, o->hold_currency, extra, true))
            return reject(*r);
        if (auto r = check_funds(o->psp, o->hold_currency, extra))
            return reject(*r);
        hold(o->psp, o->hold_currency, extra, o->value_date, "order " + std::to_string(o->id));
        add_order_hold(*o, extra);
        o->price_ticks = ticks;
        o->quantity = cmd.quantity;
        o->leaves = leaves;
        o->client_id = cmd.client_id;
        o->state = OrderState::kReplaced;
        order_by_client[{cmd.psp, cmd.client_id}] = o->id;
        const PairIndex p = o->pair;
        std::vector<book::Event> events;
        book_of(p).replace(book::OrderId{o->id}, book::OwnerId{o->psp}, book::Price{ticks},
                           book::Quantity{static_cast<std::int64_t>(leaves.minor())}, events);
        FXSETTLE_ASSERT(!events.empty() && events.front().kind == book::EventKind::kReplaced,
                        "the book refused a checked replace");
        const std::size_t first = out->events.size();
        on_book_events(p, events, cmd.client_id, o->hold);
        trim_order(*o);
        auto& replaced = std::get<OrderReplaced>(out->events.at(first));
        replaced.orig_client_id = cmd.orig_client_id;
        // A replace to a lower need releases the excess (trim), which the event reports.
        replaced.held.amount = orders.at(replaced.order_id).hold;
        remember(Family::kOrders, cmd.psp, cmd.client_id, fingerprint, out->events.at(first));
    }

    void on_status(const OrderStatusRequest& cmd) {
        auto reject = [&](Reject r) {
            reject_order(cmd.client_id, cmd.order_client_id, cmd.psp, RequestKind::kOrderStatus,
                         std::move(r));
        };
        if (auto r = validate_psp(cmd.psp))
            return reject(*r);
        OrderRec* o = find_order(cmd.psp, cmd.order_client_id);
        if (!o)
            return reject({Reason::kUnknownOrder, "no order '" + cmd.order_client_id + "'"});
        std::optional<Rate> price;
        if (o->price_ticks)
            price = rate_of(o->pair, *o->price_ticks);
        emit(OrderStatusReport{cmd.psp, cmd.client_id, cmd.order_client_id, o->id, o->state,
                               pairs[o->pair].pair, o->side, price, o->quantity,
                               o->open ? o->leaves : Amount{}, o->cum});
    }

    // The PSP's all-in rate on pair p (from the mid, against the PSP by its spread).
    Result<Rate> psp_rate(PspIndex psp, PairIndex p, bool psp_buys_base) const {
        const auto mid = best_mid(p);
        if (!mid)
            return fail(StatusCode::kNotFound,
                        "no fresh venue rate for " + pairs[p].pair.to_string());
        return Settlement::psp_rate(*mid, spreads[psp], psp_buys_base);
    }

    void on_quote(const QuoteRequest& cmd, const Command& command) {
        auto reject = [&](Reject r) {
            // The Symbol of the reject: the configured pair of the two currencies, if any.
            std::optional<money::CurrencyPair> pair;
            const auto sell = chart.currency_index(cmd.sell);
            const auto buy = chart.currency_index(cmd.buy);
            if (sell && buy && *sell != *buy) {
                if (const auto p = find_pair_either(*sell, *buy))
                    pair = pairs[*p].pair;
            }
            emit(QuoteRejected{cmd.psp, cmd.client_id, r.reason, std::move(r.text), pair});
        };
        if (auto r = check_client_id(cmd.client_id))
            return reject(*r);
        if (auto r = validate_psp(cmd.psp))
            return reject(*r);
        const auto fingerprint = fingerprint_of(command);
        if (repeat_or_duplicate(Family::kQuotes, cmd.psp, cmd.client_id, fingerprint, reject))
            return;
        const auto sell = chart.currency_index(cmd.sell);
        const auto buy = chart.currency_index(cmd.buy);
        if (!sell || !buy)
            return reject(
                {Reason::kUnknownCurrency,
                 "currency " + (!sell ? cmd.sell : cmd.buy).to_string() + " is not traded"});
        if (cmd.amount.currency != cmd.sell && cmd.amount.currency != cmd.buy)
            return reject(
                {Reason::kCurrencyMismatch, "amount in " + cmd.amount.currency.to_string() +
                                                " is neither the sold nor the bought currency"});
        if (!cmd.amount.amount.is_positive())
            return reject({Reason::kAmountInvalid, "amount must be positive"});
        const auto p = *sell == *buy ? std::nullopt : find_pair_either(*sell, *buy);
        if (!p)
            return reject({Reason::kUnknownPair, "no pair converts " + cmd.sell.to_string() +
                                                     " into " + cmd.buy.to_string()});
        Check date_reject;
        const auto value_date = pair_value_date(*p, cmd.value_date, date_reject);
        if (date_reject)
            return reject(*date_reject);
        const bool psp_buys_base = pairs[*p].base == *buy;
        auto rate = psp_rate(cmd.psp, *p, psp_buys_base);
        if (!rate)
            return reject({Reason::kNoRate, rate.error().message()});
        Amount sell_amount;
        Amount buy_amount;
        if (cmd.amount.currency == cmd.buy) {
            buy_amount = cmd.amount.amount;
            auto funding = Settlement::funding_amount(cmd.amount, cmd.sell, *rate,
                                                      config.engine.rounding_mode);
            if (!funding)
                return reject({Reason::kAmountInvalid, funding.error().message()});
            sell_amount = *funding;
        } else {
            sell_amount = cmd.amount.amount;
            Result<money::Conversion> conv = fail(StatusCode::kInternal, "");
            if (psp_buys_base) {
                auto inverse = rate->inverted(money::RoundingMode::kHalfEven);
                if (!inverse)
                    return reject({Reason::kNoRate, inverse.error().message()});
                conv = money::convert(cmd.amount, *inverse, money::RoundingMode::kDown);
            } else {
                conv = money::convert(cmd.amount, *rate, money::RoundingMode::kDown);
            }
            if (!conv || !conv->converted.amount.is_positive())
                return reject({Reason::kAmountInvalid,
                               "amount " + fmt(cmd.amount.amount, cmd.amount.currency) +
                                   " converts to nothing"});
            buy_amount = conv->converted.amount;
        }
        const std::uint64_t id = ++quote_seq;
        const ledger::Timestamp valid_until =
            now + std::chrono::duration_cast<std::chrono::nanoseconds>(config.engine.quote_ttl_ms);
        quotes.emplace(id, QuoteRec{id, cmd.psp, cmd.client_id, *sell, *buy, *rate, sell_amount,
                                    buy_amount, valid_until, *value_date, false});
        QuoteIssued issued{cmd.psp,
                           cmd.client_id,
                           id,
                           cmd.sell,
                           cmd.buy,
                           *rate,
                           Money{sell_amount, cmd.sell},
                           Money{buy_amount, cmd.buy},
                           valid_until,
                           *value_date};
        remember(Family::kQuotes, cmd.psp, cmd.client_id, fingerprint, Event{issued});
        emit(std::move(issued));
    }

    void on_payout(const PayoutInstruction& cmd, const Command& command) {
        auto reject = [&](Reject r) {
            emit(PayoutRejected{cmd.psp, cmd.client_id, r.reason, std::move(r.text)});
        };
        if (auto r = check_client_id(cmd.client_id))
            return reject(*r);
        if (auto r = validate_psp(cmd.psp))
            return reject(*r);
        const auto fingerprint = fingerprint_of(command);
        if (repeat_or_duplicate(Family::kPayouts, cmd.psp, cmd.client_id, fingerprint, reject))
            return;
        const auto c = chart.currency_index(cmd.amount.currency);
        if (!c)
            return reject({Reason::kUnknownCurrency,
                           "currency " + cmd.amount.currency.to_string() + " is not settled"});
        const auto funding = chart.currency_index(cmd.funding_currency);
        if (!funding)
            return reject(
                {Reason::kUnknownCurrency,
                 "funding currency " + cmd.funding_currency.to_string() + " is not settled"});
        if (!cmd.amount.amount.is_positive())
            return reject({Reason::kAmountInvalid, "amount must be positive"});
        if (!has_cycle(*c))
            return reject({Reason::kNoCycle, cur(*c).to_string() + " has no settlement cycle"});
        if (cmd.purpose.size() > kPurposeBytesMax || cmd.reference.size() > kReferenceBytesMax)
            return reject({Reason::kTextTooLong, "purpose and reference take at most " +
                                                     std::to_string(kPurposeBytesMax) + " and " +
                                                     std::to_string(kReferenceBytesMax) +
                                                     " bytes"});
        BankIndex bank = 0;
        if (cmd.payee_psp) {
            if (*cmd.payee_psp >= chart.psp_count() || *cmd.payee_psp == cmd.psp)
                return reject({Reason::kPayeeInvalid, "payee PSP index " +
                                                          std::to_string(*cmd.payee_psp) +
                                                          " is unknown or the payer itself"});
            const auto b = chart.bank_for(*c);
            if (!b)
                return reject(
                    {Reason::kBankDoesNotServeCurrency, "no bank settles " + cur(*c).to_string()});
            bank = *b;
        } else {
            const Beneficiary& ben = cmd.beneficiary;
            const auto b = chart.bank_index(ben.bank_id);
            if (!b)
                return reject(
                    {Reason::kUnknownBank, "bank '" + ben.bank_id + "' is not connected"});
            if (!chart.bank_serves(*b, *c))
                return reject(
                    {Reason::kBankDoesNotServeCurrency,
                     "bank '" + ben.bank_id + "' does not pay in " + cur(*c).to_string()});
            const bool country_ok = ben.country.size() == 2 &&
                                    std::all_of(ben.country.begin(), ben.country.end(),
                                                [](char ch) { return ch >= 'A' && ch <= 'Z'; });
            if (ben.account.empty() || ben.account.size() > kBeneficiaryAccountBytesMax ||
                ben.name.empty() || ben.name.size() > kBeneficiaryNameBytesMax || !country_ok) {
                return reject({Reason::kBeneficiaryInvalid,
                               "beneficiary needs an account (1.." +
                                   std::to_string(kBeneficiaryAccountBytesMax) +
                                   " bytes), a name (1.." +
                                   std::to_string(kBeneficiaryNameBytesMax) +
                                   " bytes) and a two-letter upper-case country"});
            }
            bank = *b;
        }
        const bool cross = *funding != *c;
        std::optional<PairIndex> p;
        if (cross) {
            p = find_pair_either(*funding, *c);
            if (!p)
                return reject({Reason::kNoConversionPair, "no pair converts " +
                                                              cur(*funding).to_string() + " into " +
                                                              cur(*c).to_string()});
        }
        Check date_reject;
        const auto value_date = cross ? pair_value_date(*p, cmd.value_date, date_reject)
                                      : currency_value_date(*c, cmd.value_date, date_reject);
        if (date_reject)
            return reject(*date_reject);

        Amount held;
        std::optional<Rate> rate;
        bool locked = false;
        QuoteRec* quote = nullptr;
        if (cmd.quote_id) {
            const auto it = quotes.find(*cmd.quote_id);
            if (it == quotes.end() || it->second.psp != cmd.psp)
                return reject({Reason::kUnknownQuote,
                               "no quote " + std::to_string(*cmd.quote_id) + " of this PSP"});
            quote = &it->second;
            if (quote->used)
                return reject({Reason::kQuoteUsed, "quote " + std::to_string(quote->id) +
                                                       " already locked another payout"});
            if (now >= quote->valid_until)
                return reject({Reason::kQuoteExpired,
                               "quote " + std::to_string(quote->id) + " expired at " +
                                   std::to_string(quote->valid_until.time_since_epoch().count()) +
                                   " ns"});
            if (!cross || quote->sell != *funding || quote->buy != *c ||
                quote->buy_amount != cmd.amount.amount) {
                return reject({Reason::kQuoteMismatch,
                               "quote " + std::to_string(quote->id) + " converts " +
                                   fmt(quote->sell_amount, cur(quote->sell)) + " into " +
                                   fmt(quote->buy_amount, cur(quote->buy)) + ", not this payout"});
            }
            if (quote->value_date != *value_date)
                return reject({Reason::kValueDateMismatch,
                               "quote value date " + calendar::format_date(quote->value_date) +
                                   " differs from the payout's " +
                                   calendar::format_date(*value_date)});
            held = quote->sell_amount;
            rate = quote->rate;
            locked = true;
        } else if (cross) {
            const bool psp_buys_base = pairs[*p].base == *c;
            auto r = psp_rate(cmd.psp, *p, psp_buys_base);
            if (!r)
                return reject({Reason::kNoRate, r.error().message()});
            auto estimate = Settlement::funding_amount(cmd.amount, cur(*funding), *r,
                                                       config.engine.rounding_mode);
            if (!estimate)
                return reject({Reason::kAmountInvalid, estimate.error().message()});
            held = *estimate + bps_up(*estimate, config.engine.fx_buffer_bps);
            rate = *r;
        } else {
            held = cmd.amount.amount;
        }
        if (auto r = check_risk(cmd.psp, *funding, held, false))
            return reject(*r);
        if (auto r = check_funds(cmd.psp, *funding, held))
            return reject(*r);

        const std::uint64_t id = ++payout_seq;
        hold(cmd.psp, *funding, held, *value_date, "payout " + std::to_string(id));
        Figures& f = fig(cmd.psp, *funding);
        f.out += held;
        if (cmd.payee_psp)
            fig(*cmd.payee_psp, *c).in += cmd.amount.amount;
        if (quote)
            quote->used = true;
        payouts[*c].due.push_back(DuePayout{id, cmd.client_id, cmd.psp, cmd.amount.amount, *funding,
                                            held, locked ? rate : std::nullopt, cmd.payee_psp, bank,
                                            cmd.beneficiary});
        payouts[*c].extra.push_back(OpenPayouts::Extra{*value_date, locked ? std::nullopt : rate});
        ++payouts_open;
        PayoutAccepted accepted{
            cmd.psp, cmd.client_id, id,         cmd.amount, Money{held, cur(*funding)},
            rate,    locked,        *value_date};
        remember(Family::kPayouts, cmd.psp, cmd.client_id, fingerprint, Event{accepted});
        emit(std::move(accepted));
    }

    void on_deposit(const Deposit& cmd, const Command& command) {
        auto reject = [&](Reject r) {
            emit(CommandRejected{RequestKind::kDeposit, cmd.psp, cmd.client_id, r.reason,
                                 std::move(r.text)});
        };
        if (auto r = check_client_id(cmd.client_id))
            return reject(*r);
        if (auto r = validate_psp(cmd.psp))
            return reject(*r);
        if (cmd.bank >= chart.bank_count())
            return reject({Reason::kUnknownBank,
                           "bank index " + std::to_string(cmd.bank) + " is not connected"});
        const auto fingerprint = fingerprint_of(command);
        if (repeat_or_duplicate(Family::kDeposits, cmd.bank, cmd.client_id, fingerprint, reject))
            return;
        const auto c = chart.currency_index(cmd.amount.currency);
        if (!c)
            return reject({Reason::kUnknownCurrency,
                           "currency " + cmd.amount.currency.to_string() + " is not settled"});
        if (!chart.bank_serves(cmd.bank, *c))
            return reject({Reason::kBankDoesNotServeCurrency, "bank '" + chart.bank_id(cmd.bank) +
                                                                  "' holds no " +
                                                                  cur(*c).to_string() + " nostro"});
        if (!cmd.amount.amount.is_positive())
            return reject({Reason::kAmountInvalid, "amount must be positive"});
        const Amount owed = bal(cmd.psp, *c, kRoleReceivable);
        const Amount repay = std::min(owed, cmd.amount.amount);
        const Amount credit = cmd.amount.amount - repay;
        std::vector<ledger::Posting> postings{
            {chart.nostro(cmd.bank, *c), ledger::Side::kDebit, cmd.amount}};
        if (repay.is_positive())
            postings.push_back(
                {chart.psp_receivable(cmd.psp, *c), ledger::Side::kCredit, Money{repay, cur(*c)}});
        if (credit.is_positive())
            postings.push_back(
                {chart.psp_available(cmd.psp, *c), ledger::Side::kCredit, Money{credit, cur(*c)}});
        post(date_of(now), "deposit " + chart.bank_id(cmd.bank) + "/" + cmd.client_id,
             std::move(postings));
        DepositCredited credited{cmd.psp,    cmd.client_id,         cmd.bank,
                                 cmd.amount, Money{repay, cur(*c)}, Money{credit, cur(*c)}};
        remember(Family::kDeposits, cmd.bank, cmd.client_id, fingerprint, Event{credited});
        emit(std::move(credited));
    }

    Amount net_position(PspIndex psp, CurrencyIndex c) {
        const Figures& f = fig(psp, c);
        return f.in - f.out;
    }

    void on_position(const PositionRequest& cmd) {
        auto reject = [&](Reject r) {
            emit(CommandRejected{RequestKind::kPosition, cmd.psp, cmd.client_id, r.reason,
                                 std::move(r.text)});
        };
        if (auto r = validate_psp(cmd.psp))
            return reject(*r);
        std::optional<CurrencyIndex> only;
        if (cmd.currency) {
            only = chart.currency_index(*cmd.currency);
            if (!only)
                return reject({Reason::kUnknownCurrency,
                               "currency " + cmd.currency->to_string() + " is not settled"});
        }
        const RiskLimits& lim = limits[cmd.psp];
        PositionReport report;
        report.psp = cmd.psp;
        report.client_id = cmd.client_id;
        report.aggregate_cap = lim.aggregate_cap;
        const auto ref = chart.currency_index(lim.aggregate_cap.currency);
        std::optional<Amount> used = Amount{};
        for (CurrencyIndex c = 0; c < currency_count; ++c) {
            const Amount net = net_position(cmd.psp, c);
            if (net.is_negative() && used) {
                std::optional<Amount> valued;
                if (ref)
                    valued = value_at_mid(-net, c, *ref);
                if (valued)
                    *used += *valued;
                else
                    used.reset();
            }
            if (only && *only != c)
                continue;
            const Amount cap = limit_of(lim.net_debit_caps, c);
            report.lines.push_back(
                PositionLine{cur(c), bal(cmd.psp, c, kRoleAvailable), bal(cmd.psp, c, kRoleHeld),
                             bal(cmd.psp, c, kRoleReceivable), net, cap, cap + net});
        }
        if (used)
            report.aggregate_used = Money{*used, lim.aggregate_cap.currency};
        emit(std::move(report));
    }

    void on_venue_rate(const VenueRate& cmd) {
        auto reject = [&](Reject r) {
            emit(CommandRejected{RequestKind::kVenue, 0, std::string{}, r.reason,
                                 std::move(r.text)});
        };
        if (cmd.venue >= chart.venue_count())
            return reject({Reason::kUnknownVenue,
                           "venue index " + std::to_string(cmd.venue) + " is not configured"});
        const auto p = find_pair(cmd.pair);
        if (!p)
            return reject(
                {Reason::kUnknownPair, "pair " + cmd.pair.to_string() + " is not traded"});
        const auto& venue_pairs = config.venues[cmd.venue].pairs;
        if (!venue_pairs.empty() &&
            std::find(venue_pairs.begin(), venue_pairs.end(), cmd.pair) == venue_pairs.end())
            return reject({Reason::kUnknownPair, "venue '" + chart.venue_id(cmd.venue) +
                                                     "' does not quote " + cmd.pair.to_string()});
        if (cmd.bid.pair() != cmd.pair || cmd.ask.pair() != cmd.pair ||
            cmd.bid.mantissa() > cmd.ask.mantissa())
            return reject({Reason::kPriceInvalid,
                           "bid " + cmd.bid.to_string() + " / ask " + cmd.ask.to_string() +
                               " is not a two-way price on " + cmd.pair.to_string()});
        if (cmd.bid_size.is_negative() || cmd.ask_size.is_negative())
            return reject({Reason::kAmountInvalid, "sizes must not be negative"});
        rates[cmd.venue * pairs.size() + *p] = cmd;
    }

    Check validate_limits(const RiskLimits& lim) const {
        for (const auto* map :
             {&lim.credit_limits, &lim.net_debit_caps, &lim.short_position_limits}) {
            for (const auto& [currency, amount] : *map) {
                if (!chart.currency_index(currency))
                    return Reject{Reason::kLimitsInvalid,
                                  "limit in " + currency.to_string() + ", which is not settled"};
                if (amount.is_negative())
                    return Reject{Reason::kLimitsInvalid,
                                  "negative limit " + fmt(amount, currency)};
            }
        }
        if (!chart.currency_index(lim.aggregate_cap.currency))
            return Reject{Reason::kLimitsInvalid, "aggregate cap in " +
                                                      lim.aggregate_cap.currency.to_string() +
                                                      ", which is not settled"};
        if (lim.aggregate_cap.amount.is_negative())
            return Reject{Reason::kLimitsInvalid, "negative aggregate cap"};
        return std::nullopt;
    }

    void on_set_limits(const SetLimits& cmd, const Command& command) {
        auto reject = [&](Reject r) {
            emit(CommandRejected{RequestKind::kSetLimits, cmd.psp, cmd.client_id, r.reason,
                                 std::move(r.text)});
        };
        if (auto r = check_client_id(cmd.client_id))
            return reject(*r);
        if (auto r = validate_psp(cmd.psp))
            return reject(*r);
        const auto fingerprint = fingerprint_of(command);
        if (repeat_or_duplicate(Family::kAdmin, cmd.psp, cmd.client_id, fingerprint, reject))
            return;
        if (auto r = validate_limits(cmd.limits))
            return reject(*r);
        remember(Family::kAdmin, cmd.psp, cmd.client_id, fingerprint,
                 Event{LimitsChanged{cmd.psp, cmd.client_id, cmd.actor, cmd.limits}});
        pending_limits.push_back(cmd);
    }

    std::string audit_text(const SetLimits& cmd) const {
        auto amounts = [](const config::CurrencyAmounts& map) {
            std::string text;
            for (const auto& [currency, amount] : map)
                text += (text.empty() ? "" : ",") + currency.to_string() + ":" +
                        money::format_amount(amount, currency);
            return text;
        };
        return "psp=" + chart.psp_id(cmd.psp) + " actor=" + cmd.actor +
               " client_id=" + cmd.client_id +
               " funding_mode=" + std::string(config::funding_mode_name(cmd.limits.funding_mode)) +
               " credit_limits=" + amounts(cmd.limits.credit_limits) +
               " net_debit_caps=" + amounts(cmd.limits.net_debit_caps) + " aggregate_cap=" +
               fmt(cmd.limits.aggregate_cap.amount, cmd.limits.aggregate_cap.currency) +
               " short_position_limits=" + amounts(cmd.limits.short_position_limits);
    }

    void apply_pending_limits() {
        for (std::size_t i = 0; i < pending_limits.size(); ++i) {
            const SetLimits& cmd = pending_limits[i];
            limits[cmd.psp] = cmd.limits;
            out->state.push_back(ledger::AuxWrite{
                ledger::AuxTable::kState,
                "audit/limits/" + pad20(batches) + "/" + std::to_string(i), audit_text(cmd)});
            emit(LimitsChanged{cmd.psp, cmd.client_id, cmd.actor, cmd.limits});
        }
        pending_limits.clear();
    }

    Status on_settlement_reply(const Command& command) {
        SettlementOutput sout;
        Status status;
        std::optional<Reject> unknown;
        RequestKind kind = RequestKind::kVenue;
        if (const auto* fill = std::get_if<HedgeFill>(&command)) {
            if (fill->venue >= chart.venue_count())
                unknown =
                    Reject{Reason::kUnknownVenue,
                           "venue index " + std::to_string(fill->venue) + " is not configured"};
            else
                status = settlement.on_hedge_fill(*fill, now, sout);
        } else if (const auto* hedge_reject = std::get_if<HedgeReject>(&command)) {
            if (hedge_reject->venue >= chart.venue_count())
                unknown = Reject{
                    Reason::kUnknownVenue,
                    "venue index " + std::to_string(hedge_reject->venue) + " is not configured"};
            else
                status = settlement.on_hedge_reject(*hedge_reject, now, sout);
        } else if (const auto* confirmation = std::get_if<BankConfirmation>(&command)) {
            kind = RequestKind::kBank;
            if (confirmation->bank >= chart.bank_count())
                unknown = Reject{
                    Reason::kUnknownBank,
                    "bank index " + std::to_string(confirmation->bank) + " is not connected"};
            else
                status = settlement.on_bank_confirmation(*confirmation, now, sout);
        } else if (const auto* rejection = std::get_if<BankLineRejection>(&command)) {
            kind = RequestKind::kBank;
            if (rejection->bank >= chart.bank_count())
                unknown =
                    Reject{Reason::kUnknownBank,
                           "bank index " + std::to_string(rejection->bank) + " is not connected"};
            else
                status = settlement.on_bank_line_rejection(*rejection, now, sout);
        } else if (const auto* line_confirmation = std::get_if<BankLineConfirmation>(&command)) {
            kind = RequestKind::kBank;
            if (line_confirmation->bank >= chart.bank_count())
                unknown = Reject{
                    Reason::kUnknownBank,
                    "bank index " + std::to_string(line_confirmation->bank) + " is not connected"};
            else
                status = settlement.on_bank_line_confirmation(*line_confirmation, now, sout);
        } else {
            return Status(StatusCode::kInternal, "a command the engine does not dispatch");
        }
        if (unknown) {
            emit(
                CommandRejected{kind, 0, std::string{}, unknown->reason, std::move(unknown->text)});
            return Status::ok();
        }
        if (!status)
            return status;
        absorb(std::move(sout));
        return Status::ok();
    }

    void absorb(SettlementOutput&& sout) {
        for (const auto& op : sout.operations)
            mirror_operation(op);
        // A large cut-off hands over hundreds of thousands of operations and events: no
        // regrowing (and fresh pages) for either.
        if (out->operations.empty()) {
            out->operations = std::move(sout.operations);
        } else {
            out->operations.reserve(out->operations.size() + sout.operations.size());
            for (auto& op : sout.operations)
                out->operations.push_back(std::move(op));
        }
        out->events.reserve(out->events.size() + sout.events.size());
        prefault_room(out->events);
        for (auto& event : sout.events)
            out->events.push_back(to_event(std::move(event)));
    }

    // ---- the schedule ---------------------------------------------------------------
    std::optional<ledger::Timestamp> cutoff_after(std::size_t cycle, ledger::Timestamp t) const {
        return engine::cutoff_after(config.cycles[cycle], calendars, t);
    }

    Status run_due(ledger::Timestamp until) {
        if (!processed_until) {
            // The first batch: the schedule starts now; earlier cut-offs are not run.
            processed_until = until - std::chrono::nanoseconds(1);
            for (std::size_t i = 0; i < next_cutoff.size(); ++i)
                next_cutoff[i] = cutoff_after(i, *processed_until);
        }
        while (true) {
            std::optional<ledger::Timestamp> at;
            for (const auto& t : next_cutoff) {
                if (t && *t <= until && (!at || *t < *at))
                    at = *t;
            }
            if (!at)
                break;
            std::vector<std::size_t> due;
            for (std::size_t i = 0; i < next_cutoff.size(); ++i) {
                if (next_cutoff[i] == at)
                    due.push_back(i);
            }
            const ledger::Timestamp saved_now = now;
            now = *at;
            Status status = run_cutoff(due, *at, until);
            now = saved_now;
            if (!status)
                return status;
            for (const std::size_t i : due)
                next_cutoff[i] = cutoff_after(i, *at);
            processed_until = *at;
        }
        if (until > *processed_until)
            processed_until = until;
        SettlementOutput sout;
        if (Status status = settlement.on_tick(until, sout); !status)
            return status;
        absorb(std::move(sout));
        return Status::ok();
    }

    // `at` is the cut-off's time, `batch_time` the time of the batch that runs it (later
    // when the cut-off runs late).
    Status run_cutoff(const std::vector<std::size_t>& due, ledger::Timestamp at,
                      ledger::Timestamp batch_time) {
        const ledger::Date value_date = date_of(at);
        std::vector<CurrencyIndex> currencies;
        for (const std::size_t i : due)
            currencies.push_back(cycle_currency[i]);
        auto involved = [&](CurrencyIndex c) {
            return std::find(currencies.begin(), currencies.end(), c) != currencies.end();
        };
        // Day orders end at their pair's (earliest) cut-off.
        for (PairIndex p = 0; p < pairs.size(); ++p) {
            if (!pairs[p].book || !(involved(pairs[p].base) || involved(pairs[p].quote)))
                continue;
            std::vector<book::Event> events;
            pairs[p].book->expire_day_orders(events);
            on_book_events(p, events, std::string{}, Amount{});
        }
        CutoffInput input;
        input.batch_time = batch_time;
        for (const CurrencyIndex c : currencies) {
            CurrencyCutoff cutoff;
            cutoff.currency = c;
            cutoff.value_date = value_date;
            // Due payouts leave in id order; the others stay, in order.
            OpenPayouts& open = payouts[c];
            std::size_t due_count = 0;
            for (const auto& e : open.extra)
                due_count += e.value_date <= value_date ? 1 : 0;
            for (std::size_t i = 0; i < open.due.size(); ++i) {
                if (open.extra[i].value_date > value_date)
                    continue;
                const DuePayout& p = open.due[i];
                fig(p.payer, p.funding_currency).out -= p.held;
                if (p.payee_psp)
                    fig(*p.payee_psp, c).in -= p.amount;
            }
            if (due_count == open.due.size()) {
                cutoff.payouts = std::move(open.due);
                open.due.clear();
                open.extra.clear();
            } else {
                cutoff.payouts.reserve(due_count);
                std::size_t kept = 0;
                for (std::size_t i = 0; i < open.due.size(); ++i) {
                    if (open.extra[i].value_date <= value_date) {
                        cutoff.payouts.push_back(std::move(open.due[i]));
                        continue;
                    }
                    if (kept != i) {
                        open.due[kept] = std::move(open.due[i]);
                        open.extra[kept] = std::move(open.extra[i]);
                    }
                    ++kept;
                }
                open.due.erase(open.due.begin() + static_cast<std::ptrdiff_t>(kept),
                               open.due.end());
                open.extra.erase(open.extra.begin() + static_cast<std::ptrdiff_t>(kept),
                                 open.extra.end());
            }
            payouts_open -= due_count;
            for (auto it = trades.begin(); it != trades.end();) {
                TradeRec& t = it->second;
                const PairInfo& info = pairs[t.pair];
                if (t.value_date <= value_date && info.base == c && !t.base_handed) {
                    t.base_handed = true;
                    if (t.base_amount.is_positive())
                        cutoff.trade_legs.push_back(
                            DueTradeLeg{t.id, true, t.seller, t.buyer, t.base_amount});
                    Figures& sb = fig(t.seller, c);
                    sb.out -= t.base_amount;
                    sb.sold -= t.base_amount;
                    Figures& bb = fig(t.buyer, c);
                    bb.in -= t.base_amount;
                    bb.bought -= t.base_amount;
                }
                if (t.value_date <= value_date && info.quote == c && !t.quote_handed) {
                    t.quote_handed = true;
                    if (t.quote_amount.is_positive())
                        cutoff.trade_legs.push_back(
                            DueTradeLeg{t.id, false, t.buyer, t.seller, t.quote_amount});
                    Figures& bq = fig(t.buyer, c);
                    bq.out -= t.quote_amount;
                    bq.sold -= t.quote_amount;
                    Figures& sq = fig(t.seller, c);
                    sq.in -= t.quote_amount;
                    sq.bought -= t.quote_amount;
                }
                if (t.base_handed && t.quote_handed)
                    it = trades.erase(it);
                else
                    ++it;
            }
            input.currencies.push_back(std::move(cutoff));
        }
        for (PairIndex p = 0; p < pairs.size(); ++p) {
            for (VenueIndex v = 0; v < chart.venue_count(); ++v) {
                const auto& rate = rates[v * pairs.size() + p];
                if (rate && fresh(v, *rate))
                    input.quotes.push_back(netting::VenueQuote{v, p, rate->bid, rate->ask,
                                                               rate->bid_size, rate->ask_size});
            }
            if (auto mid = best_mid(p))
                input.mids.push_back(PairMid{p, *mid});
        }
        for (PspIndex psp = 0; psp < chart.psp_count(); ++psp)
            input.psps.push_back(PspTerms::from_limits(spreads[psp], limits[psp]));
        SettlementOutput sout;
        if (Status status = settlement.cutoff(std::move(input), at, sout); !status)
            return status;
        absorb(std::move(sout));
        // Expired quotes and done orders of these currencies leave the state.
        for (auto it = quotes.begin(); it != quotes.end();) {
            if (it->second.valid_until <= at)
                it = quotes.erase(it);
            else
                ++it;
        }
        std::set<std::uint64_t> done_orders;
        for (auto it = orders.begin(); it != orders.end();) {
            const PairInfo& info = pairs[it->second.pair];
            if (!it->second.open && (involved(info.base) || involved(info.quote))) {
                done_orders.insert(it->first);
                it = orders.erase(it);
            } else {
                ++it;
            }
        }
        // Keep their ClOrdID mappings out of the way too (one pass, not one per order).
        if (!done_orders.empty())
            std::erase_if(order_by_client,
                          [&](const auto& m) { return done_orders.contains(m.second); });
        return Status::ok();
    }

    // ---- apply ----------------------------------------------------------------------
    Status apply(std::span<const Command> commands, ledger::Timestamp at,
                 BatchOutput<Event>& batch_out) {
        if (commands.size() > kCommandsPerBatchMax)
            return Status(StatusCode::kOutOfRange, "batch of " + std::to_string(commands.size()) +
                                                       " commands exceeds kCommandsPerBatchMax");
        if (processed_until && at < *processed_until)
            at = *processed_until;
        out = &batch_out;
        ++batches;
        out->state.push_back(ledger::AuxWrite{ledger::AuxTable::kState, "cmdlog/" + pad20(batches),
                                              codec::encode_batch(at, commands)});
        now = at;
        prune_seen(date_of(at));
        if (Status status = run_due(at); !status)
            return status;
        for (const Command& command : commands) {
            Status status;
            std::visit(
                [&](const auto& cmd) {
                    using T = std::decay_t<decltype(cmd)>;
                    if constexpr (std::is_same_v<T, Deposit>)
                        on_deposit(cmd, command);
                    else if constexpr (std::is_same_v<T, NewOrder>)
                        on_new_order(cmd, command);
                    else if constexpr (std::is_same_v<T, CancelOrder>)
                        on_cancel(cmd, command);
                    else if constexpr (std::is_same_v<T, ReplaceOrder>)
                        on_replace(cmd, command);
                    else if constexpr (std::is_same_v<T, OrderStatusRequest>)
                        on_status(cmd);
                    else if constexpr (std::is_same_v<T, QuoteRequest>)
                        on_quote(cmd, command);
                    else if constexpr (std::is_same_v<T, PayoutInstruction>)
                        on_payout(cmd, command);
                    else if constexpr (std::is_same_v<T, PositionRequest>)
                        on_position(cmd);
                    else if constexpr (std::is_same_v<T, VenueRate>)
                        on_venue_rate(cmd);
                    else if constexpr (std::is_same_v<T, SetLimits>)
                        on_set_limits(cmd, command);
                    else
                        status = on_settlement_reply(command);
                },
                command);
            if (!status)
                return status;
        }
        apply_pending_limits();
        out = nullptr;
        return Status::ok();
    }

    // The mirrored PSP balances must agree with the ledger's.
    Status check_mirror(ledger::ReadView& view) const {
        for (const auto& [id, slot] : mirror_slot) {
            auto balance = view.balance(id);
            if (!balance)
                return Status(StatusCode::kCorruption,
                              "recover: account " + id.to_hex() + ": " + balance.error().message());
            const bool debit_normal = slot % kRoles == kRoleReceivable;
            const Amount ledger_amount =
                balance->posted(debit_normal ? ledger::Side::kDebit : ledger::Side::kCredit);
            if (ledger_amount != mirror[slot]) {
                return Status(StatusCode::kCorruption,
                              "recover: account " + id.to_hex() + " is " +
                                  ledger_amount.to_string() + " in the ledger but " +
                                  mirror[slot].to_string() + " after replaying the command log");
            }
        }
        return Status::ok();
    }

    // ---- state hash -----------------------------------------------------------------
    std::string canonical_state() const {
        std::string bytes;
        codec::Writer w(bytes);
        // The time of the last batch is left out: it is the log's position, not business
        // state (a rejected command at a later time must leave the hash alone).
        w.put(entry_seq);
        w.put(order_seq);
        w.put(trade_seq);
        w.put(quote_seq);
        w.put(payout_seq);
        for (const auto& info : pairs) {
            w.u8(info.book ? 1 : 0);
            if (!info.book)
                continue;
            w.put(static_cast<std::uint64_t>(info.book->order_count()));
            info.book->for_each_order([&](const book::OrderView& v) {
                w.put(v.id.value);
                w.put(v.owner.value);
                w.put(v.side);
                w.put(v.tif);
                w.put(v.price.ticks);
                w.put(v.remaining.minor);
            });
        }
        w.put(static_cast<std::uint64_t>(orders.size()));
        for (const auto& [id, o] : orders) {
            w.put(id);
            w.put(o.psp);
            w.put(o.client_id);
            w.put(o.pair);
            w.put(o.side);
            w.put(o.type);
            w.put(o.tif);
            w.put(o.price_ticks);
            w.put(o.quantity);
            w.put(o.leaves);
            w.put(o.hold);
            w.put(o.hold_currency);
            w.put(o.state);
            w.put(o.open);
            w.put(o.value_date);
        }
        w.put(static_cast<std::uint64_t>(order_by_client.size()));
        for (const auto& [key, id] : order_by_client) {
            w.put(key.first);
            w.put(key.second);
            w.put(id);
        }
        w.put(static_cast<std::uint64_t>(trades.size()));
        for (const auto& [id, t] : trades) {
            w.put(id);
            w.put(t.pair);
            w.put(t.buyer);
            w.put(t.seller);
            w.put(t.buy_order);
            w.put(t.sell_order);
            w.put(t.price_ticks);
            w.put(t.base_amount);
            w.put(t.quote_amount);
            w.put(t.value_date);
            w.put(t.base_handed);
            w.put(t.quote_handed);
        }
        w.put(static_cast<std::uint64_t>(quotes.size()));
        for (const auto& [id, q] : quotes) {
            w.put(id);
            w.put(q.psp);
            w.put(q.client_id);
            w.put(q.sell);
            w.put(q.buy);
            w.put(q.rate);
            w.put(q.sell_amount);
            w.put(q.buy_amount);
            w.put(q.valid_until);
            w.put(q.value_date);
            w.put(q.used);
        }
        // In id order over all currencies, as when they were kept in one map.
        struct OpenRef {
            const DuePayout* p;
            const OpenPayouts::Extra* extra;
            CurrencyIndex currency;
        };
        std::vector<OpenRef> open_payouts;
        open_payouts.reserve(payouts_open);
        for (CurrencyIndex c = 0; c < payouts.size(); ++c) {
            for (std::size_t i = 0; i < payouts[c].due.size(); ++i)
                open_payouts.push_back(OpenRef{&payouts[c].due[i], &payouts[c].extra[i], c});
        }
        std::sort(open_payouts.begin(), open_payouts.end(),
                  [](const OpenRef& x, const OpenRef& y) { return x.p->id < y.p->id; });
        w.put(static_cast<std::uint64_t>(open_payouts.size()));
        for (const OpenRef& ref : open_payouts) {
            const DuePayout& p = *ref.p;
            const std::optional<Rate> rate = p.locked_rate ? p.locked_rate : ref.extra->estimate;
            w.put(p.id);
            w.put(p.payer);
            w.put(p.client_id);
            w.put(ref.currency);
            w.put(p.amount);
            w.put(p.funding_currency);
            w.put(p.held);
            w.put(rate);
            w.put(p.locked_rate.has_value());
            w.put(p.payee_psp);
            w.put(p.bank);
            w.put(p.beneficiary);
            w.put(ref.extra->value_date);
        }
        w.put(mirror);
        for (const auto& f : figures) {
            w.put(f.out);
            w.put(f.in);
            w.put(f.sold);
            w.put(f.bought);
        }
        w.put(limits);
        w.put(spreads);
        w.put(rates);
        w.put(static_cast<std::uint64_t>(seen.size()));
        for (const auto& [key, s] : seen) {
            w.put(std::get<0>(key));
            w.put(std::get<1>(key));
            w.put(std::get<2>(key));
            bytes.append(reinterpret_cast<const char*>(s.fingerprint.data()), s.fingerprint.size());
            w.put(s.outcome);
            w.put(s.day);
        }
        w.put(static_cast<std::uint64_t>(seen_expired.size()));
        for (const auto& [digest, day] : seen_expired) {
            w.put(digest);
            w.put(day);
        }
        settlement.append_state(bytes);
        return bytes;
    }
};

// ---------------------------------------------------------------------------------------

Engine::Engine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Engine::Engine(Engine&&) noexcept = default;
Engine& Engine::operator=(Engine&&) noexcept = default;
Engine::~Engine() = default;

RiskLimits risk_limits(const config::PspConfig& psp) {
    return RiskLimits{psp.funding_mode, psp.credit_limits, psp.net_debit_caps, psp.aggregate_cap,
                      psp.short_position_limits};
}

std::optional<ledger::Timestamp> cutoff_after(const config::CycleConfig& cycle,
                                              const calendar::CalendarSet& calendars,
                                              ledger::Timestamp t) {
    ledger::Date day = date_of(t);
    for (int i = 0; i < kCutoffSearchDaysMax; ++i, day += std::chrono::days(1)) {
        auto business = calendars.is_business_day(cycle.currency, day);
        if (!business || !*business)
            continue;
        for (const auto& minutes : cycle.cutoffs) {
            const ledger::Timestamp at = ledger::Timestamp(day) + minutes;
            if (at > t)
                return at;
        }
    }
    return std::nullopt;
}

Result<Engine> Engine::create(const config::Config& config) {
    auto chart = Chart::build(config);
    if (!chart)
        return fail(chart.error());
    auto calendars = calendar::CalendarSet::from_config(config);
    if (!calendars)
        return fail(calendars.error());
    return create(config, std::move(*chart), std::move(*calendars));
}

Result<Engine> Engine::create(const config::Config& config, Chart chart,
                              calendar::CalendarSet calendars) {
    if (chart.psp_count() != config.psps.size() || chart.venue_count() != config.venues.size() ||
        chart.bank_count() != config.banks.size())
        return fail(StatusCode::kInvalidArgument,
                    "engine: the chart was built from another config");
    std::vector<CurrencyPair> pair_list;
    for (const auto& pair : config.pairs)
        pair_list.push_back(pair.pair);
    auto impl = std::make_unique<Impl>(config, std::move(chart), std::move(calendars), pair_list);
    Impl& s = *impl;
    s.currency_count = s.chart.currencies().size();
    for (const auto& pc : config.pairs) {
        Impl::PairInfo info;
        info.pair = pc.pair;
        const auto base = s.chart.currency_index(pc.pair.base);
        const auto quote = s.chart.currency_index(pc.pair.quote);
        if (!base || !quote)
            return fail(StatusCode::kInvalidArgument,
                        "engine: pair " + pc.pair.to_string() + " not in the chart");
        info.base = *base;
        info.quote = *quote;
        info.tick_mantissa = pc.tick.mantissa();
        info.min_qty = pc.min_qty;
        if (info.tick_mantissa <= 0)
            return fail(StatusCode::kInvalidArgument,
                        "engine: pair " + pc.pair.to_string() + " has no tick");
        s.pairs.push_back(std::move(info));
    }
    for (const auto& psp : config.psps) {
        s.limits.push_back(risk_limits(psp));
        s.spreads.push_back(psp.spread_bps);
    }
    for (const auto& cycle : config.cycles) {
        const auto c = s.chart.currency_index(cycle.currency);
        if (!c)
            return fail(StatusCode::kInvalidArgument, "engine: cycle currency not in the chart");
        s.cycle_currency.push_back(*c);
    }
    s.next_cutoff.assign(config.cycles.size(), std::nullopt);
    s.mirror.assign(s.chart.psp_count() * s.currency_count * kRoles, Amount{});
    s.figures.assign(s.chart.psp_count() * s.currency_count, Impl::Figures{});
    s.payouts.assign(s.currency_count, {});
    for (PspIndex psp = 0; psp < s.chart.psp_count(); ++psp) {
        for (CurrencyIndex c = 0; c < s.currency_count; ++c) {
            s.mirror_slot[s.chart.psp_available(psp, c)] = s.slot(psp, c, kRoleAvailable);
            s.mirror_slot[s.chart.psp_held(psp, c)] = s.slot(psp, c, kRoleHeld);
            s.mirror_slot[s.chart.psp_receivable(psp, c)] = s.slot(psp, c, kRoleReceivable);
        }
    }
    s.rates.assign(s.chart.venue_count() * s.pairs.size(), std::nullopt);
    return Engine(std::move(impl));
}

Status Engine::apply(std::span<const Command> commands, ledger::Timestamp now,
                     BatchOutput<Event>& out) {
    if (!impl_->unfinished.empty())
        return Status(StatusCode::kFailedPrecondition,
                      "recover() found " + std::to_string(impl_->unfinished.size()) +
                          " operations of an interrupted split commit; commit them and call "
                          "finish_recovery() (the sequencer's start() does) before applying");
    return impl_->apply(commands, now, out);
}

std::optional<ledger::Timestamp> Engine::next_deadline() const {
    std::optional<ledger::Timestamp> at = impl_->settlement.next_deadline();
    for (const auto& t : impl_->next_cutoff) {
        if (t && (!at || *t < *at))
            at = *t;
    }
    return at;
}

std::string Engine::encode_event(const Event& event) {
    return codec::encode(event);
}
Result<Event> Engine::decode_event(std::string_view bytes) {
    return codec::decode_event(bytes);
}

std::array<std::uint8_t, 32> Engine::state_hash() const {
    return sha256(impl_->canonical_state());
}

std::vector<ledger::Operation> Engine::initial_operations() const {
    return impl_->chart.create_operations();
}

namespace {

// Whether the ledger of `view` holds what `op` writes (an entry or an account by its id).
// Operations without an id of their own count as held.
Result<bool> operation_committed(ledger::ReadView& view, const ledger::Operation& op) {
    if (const auto* entry = std::get_if<ledger::EntryRequest>(&op.op)) {
        auto found = view.entry(entry->id);
        if (!found)
            return fail(found.error());
        return found->has_value();
    }
    if (const auto* fx = std::get_if<ledger::FxConversionRequest>(&op.op)) {
        auto found = view.entry(fx->id);
        if (!found)
            return fail(found.error());
        return found->has_value();
    }
    if (const auto* create = std::get_if<ledger::CreateAccount>(&op.op)) {
        auto found = view.account(create->account.id);
        if (!found)
            return fail(found.error());
        return found->has_value();
    }
    return true;
}

}  // namespace

Status Engine::recover(ledger::ReadView& view) {
    if (impl_->batches != 0)
        return Status(StatusCode::kFailedPrecondition,
                      "recover: the engine applied batches already");
    std::string from = "cmdlog/";
    BatchOutput<Event> scratch;
    // The operations of the trailing batches whose last operation the ledger lacks: the
    // sequencer commits a batch's operations in order (in parts when there are many), so
    // what is missing is always a suffix of the log's operations.
    std::vector<ledger::Operation> tail;
    std::string tail_first_key;
    while (true) {
        auto rows = view.aux_scan(ledger::AuxTable::kState, from, kRecoverRowsPerScan);
        if (!rows)
            return rows.error();
        bool more = false;
        for (const auto& [key, value] : *rows) {
            if (key.rfind("cmdlog/", 0) != 0)
                break;
            if (key == from)
                continue;  // the last row of the previous scan
            const std::string expected = "cmdlog/" + pad20(impl_->batches + 1);
            if (key != expected)
                return Status(StatusCode::kCorruption,
                              "recover: found " + key + " where " + expected + " was expected");
            auto batch = codec::decode_batch(value);
            if (!batch)
                return Status(StatusCode::kCorruption,
                              "recover: " + key + ": " + batch.error().message());
            scratch.clear();
            if (Status status = impl_->apply(batch->commands, batch->now, scratch); !status)
                return Status(status.code(), "recover: replaying " + key + ": " + status.message());
            if (!scratch.operations.empty()) {
                auto committed = operation_committed(view, scratch.operations.back());
                if (!committed)
                    return Status(committed.error().code(),
                                  "recover: " + key + ": " + committed.error().message());
                if (*committed && !tail.empty())
                    return Status(StatusCode::kCorruption,
                                  "recover: the ledger holds the operations of " + key +
                                      " but not all of those of " + tail_first_key);
                if (!*committed) {
                    if (tail.empty())
                        tail_first_key = key;
                    std::move(scratch.operations.begin(), scratch.operations.end(),
                              std::back_inserter(tail));
                }
            }
            from = key;
            more = true;
        }
        if (!more || rows->size() < kRecoverRowsPerScan)
            break;
    }
    impl_->unfinished = std::move(tail);
    if (!impl_->unfinished.empty())
        return Status::ok();  // finish_recovery() checks the mirror once they are committed
    return impl_->check_mirror(view);
}

std::span<const ledger::Operation> Engine::unfinished_operations() const {
    return impl_->unfinished;
}

Status Engine::finish_recovery(ledger::ReadView& view) {
    if (!impl_->unfinished.empty()) {
        auto committed = operation_committed(view, impl_->unfinished.back());
        if (!committed)
            return committed.error();
        if (!*committed)
            return Status(StatusCode::kFailedPrecondition,
                          "finish_recovery: the ledger still lacks the last of the " +
                              std::to_string(impl_->unfinished.size()) +
                              " operations recover() found unfinished");
    }
    if (Status status = impl_->check_mirror(view); !status)
        return status;
    impl_->unfinished.clear();
    impl_->unfinished.shrink_to_fit();
    return Status::ok();
}

const Chart& Engine::chart() const {
    return impl_->chart;
}
PspBalances Engine::balances(PspIndex psp, CurrencyIndex currency) const {
    return PspBalances{impl_->bal(psp, currency, kRoleAvailable),
                       impl_->bal(psp, currency, kRoleHeld),
                       impl_->bal(psp, currency, kRoleReceivable)};
}
std::uint64_t Engine::batches_applied() const {
    return impl_->batches;
}
std::size_t Engine::open_orders() const {
    std::size_t n = 0;
    for (const auto& [id, o] : impl_->orders)
        n += o.open ? 1 : 0;
    return n;
}
std::vector<Engine::OpenOrderRef> Engine::open_order_refs() const {
    std::vector<OpenOrderRef> refs;
    for (const auto& [id, o] : impl_->orders) {
        if (o.open)
            refs.push_back({id, o.pair, o.side == book::Side::kBuy});
    }
    return refs;
}
std::size_t Engine::open_payouts() const {
    return impl_->payouts_open;
}
std::size_t Engine::open_trades() const {
    return impl_->trades.size();
}
std::size_t Engine::live_quotes() const {
    return impl_->quotes.size();
}
const Settlement& Engine::settlement() const {
    return impl_->settlement;
}

std::vector<Command> limits_from_config(const config::Config& current,
                                        const config::Config& reloaded, const Chart& chart,
                                        std::uint64_t reload_number) {
    std::vector<Command> commands;
    for (const auto& psp : reloaded.psps) {
        const auto* before = current.find_psp(psp.id);
        const auto index = chart.psp_index(psp.id);
        if (!before || !index)
            continue;
        const RiskLimits next = risk_limits(psp);
        if (risk_limits(*before) == next)
            continue;
        commands.push_back(SetLimits{*index,
                                     "reload-" + std::to_string(reload_number) + "-" + psp.id,
                                     "config-reload", next});
    }
    return commands;
}

}  // namespace fxsettle::engine
