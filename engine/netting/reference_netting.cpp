// The reference netting: std::map keyed by (psp, currency), one obligation at a time,
// unbounded integers for the hedge cost. Written to be obviously right, not fast.
#include "engine/netting/reference_netting.h"

#include <algorithm>
#include <set>
#include <string>
#include <tuple>
#include <utility>

#include <boost/multiprecision/cpp_int.hpp>

namespace fxsettle::engine::netting::reference {
namespace {

using money::Amount;
using BigInt = boost::multiprecision::cpp_int;

std::string n(std::size_t i) {
    return std::to_string(i);
}

Amount add(const Amount& a, const Amount& b) {
    auto sum = a.checked_add(b);
    FXSETTLE_ASSERT(sum.has_value(), "reference netting: a sum below the gross overflowed");
    return *sum;
}

Status too_many(std::string_view what, std::size_t value, std::string_view bound_name,
                std::size_t bound) {
    return Status(StatusCode::kOutOfRange, std::string(what) + " " + n(value) + " exceeds " +
                                               std::string(bound_name) + " (" + n(bound) + ")");
}

Status invalid(std::string text) {
    return Status(StatusCode::kInvalidArgument, std::move(text));
}

Status validate_counts(std::size_t obligations, std::size_t psp_count, std::size_t bank_count,
                       std::size_t currency_count) {
    if (obligations > kObligationsMax)
        return too_many("obligations", obligations, "kObligationsMax", kObligationsMax);
    if (psp_count > kPspsMax)
        return too_many("psp_count", psp_count, "kPspsMax", kPspsMax);
    if (bank_count > kBanksMax)
        return too_many("bank_count", bank_count, "kBanksMax", kBanksMax);
    if (currency_count > kCurrenciesMax)
        return too_many("currency_count", currency_count, "kCurrenciesMax", kCurrenciesMax);
    return Status::ok();
}

Status validate(const Obligation& o, std::size_t i, std::size_t psp_count, std::size_t bank_count,
                std::size_t currency_count) {
    const std::string at = "obligation " + n(i) + ": ";
    const bool external = o.payee == kExternal;
    if (o.payer >= psp_count)
        return invalid(at + "payer " + n(o.payer) + " is out of range (" + n(psp_count) + " PSPs)");
    if (!external && o.payee >= psp_count)
        return invalid(at + "payee " + n(o.payee) + " is out of range (" + n(psp_count) + " PSPs)");
    if (o.payee == o.payer)
        return invalid(at + "payer " + n(o.payer) + " pays itself");
    if (external && o.bank >= bank_count)
        return invalid(at + "bank " + n(o.bank) + " is out of range (" + n(bank_count) + " banks)");
    if (o.currency >= currency_count) {
        return invalid(at + "currency " + n(o.currency) + " is out of range (" + n(currency_count) +
                       " currencies)");
    }
    if (!o.amount.is_positive())
        return invalid(at + "amount " + o.amount.to_string() + " is not positive");
    return Status::ok();
}

// Everything one walk over the obligations learns, kept in ordered maps.
struct Walk {
    std::map<std::pair<PspIndex, CurrencyIndex>, Amount> position;       // (psp, currency)
    std::map<std::pair<CurrencyIndex, BankIndex>, PaymentOrder> orders;  // (currency, bank)
    std::map<CurrencyIndex, Amount> gross;
    std::map<CurrencyIndex, std::uint64_t> count;
};

Result<Walk> walk(std::span<const Obligation> obligations, std::size_t psp_count,
                  std::size_t bank_count, std::size_t currency_count) {
    if (Status s = validate_counts(obligations.size(), psp_count, bank_count, currency_count); !s)
        return fail(std::move(s));
    Walk w;
    for (std::size_t i = 0; i < obligations.size(); ++i) {
        const Obligation& o = obligations[i];
        if (Status s = validate(o, i, psp_count, bank_count, currency_count); !s)
            return fail(std::move(s));
        auto gross = w.gross[o.currency].checked_add(o.amount);
        if (!gross) {
            return fail(StatusCode::kOutOfRange, "obligation " + n(i) + ": the gross of currency " +
                                                     n(o.currency) + " exceeds the Amount range");
        }
        w.gross[o.currency] = *gross;
        ++w.count[o.currency];
        Amount& payer = w.position[{o.payer, o.currency}];
        payer = add(payer, -o.amount);
        if (o.payee == kExternal) {
            PaymentOrder& order = w.orders[{o.currency, o.bank}];
            order.bank = o.bank;
            order.currency = o.currency;
            order.total = add(order.total, o.amount);
            order.lines.push_back(static_cast<std::uint32_t>(i));
        } else {
            Amount& payee = w.position[{o.payee, o.currency}];
            payee = add(payee, o.amount);
        }
    }
    return w;
}

BigInt big(const money::Int128& v) {
    return BigInt(v);
}

}  // namespace

Result<NettingResult> net(std::span<const Obligation> obligations, std::size_t psp_count,
                          std::size_t bank_count, std::size_t currency_count) {
    auto w = walk(obligations, psp_count, bank_count, currency_count);
    if (!w)
        return fail(w.error());
    NettingResult result;
    // The map is keyed (psp, currency); the result is ordered (currency, psp).
    std::map<std::pair<CurrencyIndex, PspIndex>, Amount> by_currency;
    for (const auto& [key, amount] : w->position) {
        if (!amount.is_zero())
            by_currency[{key.second, key.first}] = amount;
    }
    std::map<CurrencyIndex, Amount> pay_in;
    std::map<CurrencyIndex, std::uint64_t> after;
    for (const auto& [key, amount] : by_currency) {
        result.positions.push_back(NetPosition{key.second, key.first, amount});
        Payment p;
        p.psp = key.second;
        p.currency = key.first;
        p.direction = amount.is_negative() ? PaymentDirection::kPayIn : PaymentDirection::kPayOut;
        p.amount = amount.is_negative() ? -amount : amount;
        result.payments.push_back(p);
        if (amount.is_negative())
            pay_in[key.first] = add(pay_in[key.first], p.amount);
        ++after[key.first];
    }
    for (const auto& [key, order] : w->orders) {
        result.orders.push_back(order);
        ++after[key.first];
    }
    for (const auto& [currency, gross] : w->gross) {
        CurrencyFigures f;
        f.currency = currency;
        f.gross = gross;
        f.net = pay_in[currency];
        f.payments_before = w->count[currency];
        f.payments_after = after[currency];
        const BigInt g = big(gross.minor());
        f.liquidity_saving_ppm =
            g == 0 ? 0 : static_cast<std::uint32_t>((g - big(f.net.minor())) * 1'000'000 / g);
        result.figures.push_back(f);
    }
    return result;
}

Result<MinimumPayments> minimum_payments(std::span<const Obligation> obligations,
                                         std::size_t psp_count, std::size_t bank_count,
                                         std::size_t currency_count) {
    auto w = walk(obligations, psp_count, bank_count, currency_count);
    if (!w)
        return fail(w.error());
    MinimumPayments m;
    for (const auto& [currency, count] : w->count)
        m.per_currency[currency] = 0;
    // Every PSP whose position is not zero must take part in at least one payment.
    for (const auto& [key, amount] : w->position) {
        if (!amount.is_zero())
            ++m.per_currency[key.second];
    }
    // Every bank with external lines in a currency must receive at least one order.
    std::set<std::pair<CurrencyIndex, BankIndex>> banks;
    for (const Obligation& o : obligations) {
        if (o.payee == kExternal)
            banks.insert({o.currency, o.bank});
    }
    for (const auto& key : banks)
        ++m.per_currency[key.first];
    for (const auto& [currency, count] : m.per_currency)
        m.total += count;
    return m;
}

Result<std::vector<PairCross>> cross(std::span<const ConversionNeed> needs,
                                     std::size_t pair_count) {
    if (needs.size() > kObligationsMax)
        return fail(too_many("needs", needs.size(), "kObligationsMax", kObligationsMax));
    if (pair_count > kPairsMax)
        return fail(too_many("pair_count", pair_count, "kPairsMax", kPairsMax));
    std::map<PairIndex, std::pair<Amount, Amount>> sides;  // bought, sold
    for (std::size_t i = 0; i < needs.size(); ++i) {
        const ConversionNeed& need = needs[i];
        if (need.pair >= pair_count) {
            return fail(invalid("need " + n(i) + ": pair " + n(need.pair) + " is out of range (" +
                                n(pair_count) + " pairs)"));
        }
        if (!need.base_amount.is_positive()) {
            return fail(invalid("need " + n(i) + ": amount " + need.base_amount.to_string() +
                                " is not positive"));
        }
        auto& [bought, sold] = sides[need.pair];
        Amount& side = need.buy_base ? bought : sold;
        auto sum = side.checked_add(need.base_amount);
        if (!sum) {
            return fail(StatusCode::kOutOfRange,
                        "need " + n(i) + ": the " + (need.buy_base ? "bought" : "sold") +
                            " total of pair " + n(need.pair) + " exceeds the Amount range");
        }
        side = *sum;
    }
    std::vector<PairCross> out;
    for (const auto& [pair, bs] : sides) {
        PairCross x;
        x.pair = pair;
        x.bought_base = bs.first;
        x.sold_base = bs.second;
        x.crossed_base = bs.first < bs.second ? bs.first : bs.second;
        x.residual_base = bs.first - bs.second;
        out.push_back(x);
    }
    return out;
}

Result<HedgePlan> plan_hedge(PairIndex pair, const money::Amount& residual_base,
                             std::span<const VenueQuote> quotes) {
    if (quotes.size() > kQuotesMax)
        return fail(too_many("quotes", quotes.size(), "kQuotesMax", kQuotesMax));
    std::optional<money::CurrencyPair> currency_pair;
    for (std::size_t i = 0; i < quotes.size(); ++i) {
        const VenueQuote& q = quotes[i];
        if (q.pair != pair)
            continue;
        if (q.bid_size.is_negative() || q.ask_size.is_negative()) {
            return fail(invalid("quote " + n(i) + ": a negative size (bid " +
                                q.bid_size.to_string() + ", ask " + q.ask_size.to_string() + ")"));
        }
        if (!(q.bid.pair() == q.ask.pair())) {
            return fail(invalid("quote " + n(i) + ": bid on " + q.bid.pair().to_string() +
                                " but ask on " + q.ask.pair().to_string()));
        }
        if (!currency_pair) {
            currency_pair = q.bid.pair();
        } else if (!(*currency_pair == q.bid.pair())) {
            return fail(invalid("quote " + n(i) + ": on " + q.bid.pair().to_string() +
                                " but an earlier quote of pair " + n(pair) + " is on " +
                                currency_pair->to_string()));
        }
    }
    HedgePlan plan;
    if (residual_base.is_zero())
        return plan;
    const bool buy = residual_base.is_positive();
    Amount remaining = buy ? residual_base : -residual_base;
    std::vector<bool> used(quotes.size(), false);
    // Each round takes the best quote not yet used: a linear scan every time.
    while (remaining.is_positive()) {
        std::optional<std::size_t> best;
        for (std::size_t i = 0; i < quotes.size(); ++i) {
            const VenueQuote& q = quotes[i];
            if (used[i] || q.pair != pair || !(buy ? q.ask_size : q.bid_size).is_positive())
                continue;
            if (!best) {
                best = i;
                continue;
            }
            const VenueQuote& b = quotes[*best];
            const auto& price = (buy ? q.ask : q.bid).mantissa();
            const auto& best_price = (buy ? b.ask : b.bid).mantissa();
            const bool better = buy ? price < best_price : price > best_price;
            if (better || (price == best_price && q.venue < b.venue))
                best = i;
        }
        if (!best)
            break;
        used[*best] = true;
        const VenueQuote& q = quotes[*best];
        const Amount& size = buy ? q.ask_size : q.bid_size;
        const Amount take = size < remaining ? size : remaining;
        plan.slices.push_back(HedgeSlice{q.venue, pair, buy, take, buy ? q.ask : q.bid});
        remaining = remaining - take;
    }
    plan.unhedged_base = remaining;
    return plan;
}

Result<money::Amount> hedge_cost_against_mid(std::span<const HedgeSlice> fills,
                                             const money::Rate& mid) {
    if (fills.size() > kFillsMax)
        return fail(too_many("fills", fills.size(), "kFillsMax", kFillsMax));
    const money::CurrencyPair& pair = mid.pair();
    if (pair.base.exponent > money::kExponentMax || pair.quote.exponent > money::kExponentMax) {
        return fail(invalid("mid on " + pair.to_string() + ": an exponent exceeds kExponentMax"));
    }
    // cost = sum |price - mid| x amount x 10^e_quote / (10^kDecimals x 10^e_base), exactly.
    BigInt numerator = 0;
    for (std::size_t i = 0; i < fills.size(); ++i) {
        const HedgeSlice& f = fills[i];
        if (!(f.price.pair() == pair)) {
            return fail(invalid("fill " + n(i) + ": price on " + f.price.pair().to_string() +
                                " but mid on " + pair.to_string()));
        }
        if (!f.base_amount.is_positive()) {
            return fail(invalid("fill " + n(i) + ": amount " + f.base_amount.to_string() +
                                " is not positive"));
        }
        numerator += abs(big(f.price.mantissa()) - big(mid.mantissa())) *
                     big(f.base_amount.minor()) *
                     boost::multiprecision::pow(BigInt(10), pair.quote.exponent);
    }
    const BigInt denominator =
        boost::multiprecision::pow(BigInt(10), money::Rate::kDecimals + pair.base.exponent);
    BigInt quotient = numerator / denominator;
    const BigInt remainder = numerator % denominator;
    if (remainder * 2 > denominator || (remainder * 2 == denominator && quotient % 2 == 1))
        quotient += 1;
    if (quotient > big(Amount::max().minor()))
        return fail(StatusCode::kOutOfRange, "the hedge cost exceeds the Amount range");
    return Amount::from_int(money::Int128(quotient));
}

}  // namespace fxsettle::engine::netting::reference
