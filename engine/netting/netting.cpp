// The fast netting: dense per-currency rows of positions and payment-order totals, two
// passes over the obligations (sum, then the payment orders' line indices), no allocation
// per obligation. reference_netting.cpp computes the same results with maps.
#include "engine/netting/netting.h"

#include <algorithm>
#include <string>

#include <boost/multiprecision/cpp_int.hpp>

namespace fxsettle::engine::netting {
namespace {

using money::Amount;
using money::Int128;
using Int256 = boost::multiprecision::int256_t;

// 2^127 - 1: the largest magnitude of an Amount.
const Int128& amount_max() {
    static const Int128 max = Amount::max().minor();
    return max;
}

// An Amount from a sum the caller has kept within the Amount range.
Amount to_amount(const Int128& minor) {
    auto amount = Amount::from_int(minor);
    FXSETTLE_ASSERT(amount.has_value(), "netting: a bounded sum left the Amount range");
    return *amount;
}

std::string idx(std::size_t i) {
    return std::to_string(i);
}

Status check_bound(std::string_view what, std::size_t value, std::string_view bound_name,
                   std::size_t bound) {
    if (value > bound) {
        return Status(StatusCode::kOutOfRange, std::string(what) + " " + idx(value) + " exceeds " +
                                                   std::string(bound_name) + " (" + idx(bound) +
                                                   ")");
    }
    return Status::ok();
}

// The checks of one obligation, in the order the header documents them.
Status check_obligation(const Obligation& o, std::size_t i, std::size_t psp_count,
                        std::size_t bank_count, std::size_t currency_count) {
    const std::string where = "obligation " + idx(i) + ": ";
    if (o.payer >= psp_count) {
        return Status(
            StatusCode::kInvalidArgument,
            where + "payer " + idx(o.payer) + " is out of range (" + idx(psp_count) + " PSPs)");
    }
    if (o.payee != kExternal && o.payee >= psp_count) {
        return Status(
            StatusCode::kInvalidArgument,
            where + "payee " + idx(o.payee) + " is out of range (" + idx(psp_count) + " PSPs)");
    }
    if (o.payee == o.payer) {
        return Status(StatusCode::kInvalidArgument,
                      where + "payer " + idx(o.payer) + " pays itself");
    }
    if (o.payee == kExternal && o.bank >= bank_count) {
        return Status(
            StatusCode::kInvalidArgument,
            where + "bank " + idx(o.bank) + " is out of range (" + idx(bank_count) + " banks)");
    }
    if (o.currency >= currency_count) {
        return Status(StatusCode::kInvalidArgument, where + "currency " + idx(o.currency) +
                                                        " is out of range (" + idx(currency_count) +
                                                        " currencies)");
    }
    if (!o.amount.is_positive()) {
        return Status(StatusCode::kInvalidArgument,
                      where + "amount " + o.amount.to_string() + " is not positive");
    }
    return Status::ok();
}

// Per currency: a dense row of PSP positions and of bank order totals and line counts,
// allocated when the currency first appears.
struct CurrencyRow {
    std::vector<Int128> position;            // [psp]: receipts - payments
    std::vector<Int128> order_total;         // [bank]
    std::vector<std::uint32_t> order_lines;  // [bank]: external obligations
    std::vector<std::uint32_t> order_slot;   // [bank]: index into result.orders, pass 2
    Int128 gross;
    std::uint64_t obligations = 0;
};

// floor((gross - net) * 10^6 / gross); 0 when gross is 0.
std::uint32_t saving_ppm(const Int128& gross, const Int128& net_value) {
    if (gross.is_zero())
        return 0;
    const Int256 ppm = (Int256(gross) - Int256(net_value)) * 1'000'000 / Int256(gross);
    return static_cast<std::uint32_t>(ppm);
}

// |a - b| for two positive mantissas.
Int128 abs_diff(const Int128& a, const Int128& b) {
    return a >= b ? Int128(a - b) : Int128(b - a);
}

}  // namespace

Result<NettingResult> net(std::span<const Obligation> obligations, std::size_t psp_count,
                          std::size_t bank_count, std::size_t currency_count) {
    if (auto s = check_bound("obligations", obligations.size(), "kObligationsMax", kObligationsMax);
        !s)
        return fail(std::move(s));
    if (auto s = check_bound("psp_count", psp_count, "kPspsMax", kPspsMax); !s)
        return fail(std::move(s));
    if (auto s = check_bound("bank_count", bank_count, "kBanksMax", kBanksMax); !s)
        return fail(std::move(s));
    if (auto s = check_bound("currency_count", currency_count, "kCurrenciesMax", kCurrenciesMax);
        !s)
        return fail(std::move(s));

    std::vector<CurrencyRow> rows(currency_count);
    const Int128& max = amount_max();

    // Pass 1: validate and sum. Every partial position and order total is bounded by its
    // currency's partial gross, so checking the gross alone keeps them all in range.
    for (std::size_t i = 0; i < obligations.size(); ++i) {
        const Obligation& o = obligations[i];
        if (o.payer >= psp_count || o.payee == o.payer || o.currency >= currency_count ||
            !o.amount.is_positive() ||
            (o.payee == kExternal ? o.bank >= bank_count : o.payee >= psp_count)) {
            Status bad = check_obligation(o, i, psp_count, bank_count, currency_count);
            FXSETTLE_ASSERT(!bad.is_ok(), "netting: the fast check and the named checks differ");
            return fail(std::move(bad));
        }
        CurrencyRow& row = rows[o.currency];
        if (row.position.empty()) {
            row.position.assign(psp_count, Int128(0));
            row.order_total.assign(bank_count, Int128(0));
            row.order_lines.assign(bank_count, 0);
        }
        const Int128& a = o.amount.minor();
        row.gross += a;
        if (row.gross > max) {
            return fail(StatusCode::kOutOfRange, "obligation " + idx(i) +
                                                     ": the gross of currency " + idx(o.currency) +
                                                     " exceeds the Amount range");
        }
        ++row.obligations;
        row.position[o.payer] -= a;
        if (o.payee == kExternal) {
            row.order_total[o.bank] += a;
            ++row.order_lines[o.bank];
        } else {
            row.position[o.payee] += a;
        }
    }

    NettingResult result;
    std::size_t position_count = 0;
    std::size_t order_count = 0;
    for (const CurrencyRow& row : rows) {
        for (const Int128& p : row.position)
            position_count += p.is_zero() ? 0 : 1;
        for (const std::uint32_t n : row.order_lines)
            order_count += n == 0 ? 0 : 1;
    }
    result.positions.reserve(position_count);
    result.payments.reserve(position_count);
    result.orders.reserve(order_count);

    for (CurrencyIndex c = 0; c < currency_count; ++c) {
        CurrencyRow& row = rows[c];
        if (row.obligations == 0)
            continue;
        Int128 pay_in;
        Int128 pay_out;
        Int128 orders_total;
        std::uint64_t payments_after = 0;
        for (PspIndex p = 0; p < psp_count; ++p) {
            const Int128& position = row.position[p];
            if (position.is_zero())
                continue;
            const Amount net_amount = to_amount(position);
            result.positions.push_back(NetPosition{p, c, net_amount});
            Payment payment;
            payment.psp = p;
            payment.currency = c;
            if (position.sign() < 0) {
                payment.direction = PaymentDirection::kPayIn;
                payment.amount = -net_amount;
                pay_in -= position;
            } else {
                payment.direction = PaymentDirection::kPayOut;
                payment.amount = net_amount;
                pay_out += position;
            }
            result.payments.push_back(payment);
            ++payments_after;
        }
        row.order_slot.assign(bank_count, 0);
        for (BankIndex b = 0; b < bank_count; ++b) {
            if (row.order_lines[b] == 0)
                continue;
            row.order_slot[b] = static_cast<std::uint32_t>(result.orders.size());
            PaymentOrder order;
            order.bank = b;
            order.currency = c;
            order.total = to_amount(row.order_total[b]);
            order.lines.reserve(row.order_lines[b]);
            result.orders.push_back(std::move(order));
            orders_total += row.order_total[b];
            ++payments_after;
        }
        // Conservation: what the debtors pay in is what the creditors and the banks' payees
        // receive; so positions and payment orders sum to zero.
        FXSETTLE_ASSERT(pay_in == pay_out + orders_total,
                        "netting: pay-ins differ from pay-outs plus payment orders");
        FXSETTLE_ASSERT(pay_in <= row.gross, "netting: net exceeds gross");

        CurrencyFigures figures;
        figures.currency = c;
        figures.gross = to_amount(row.gross);
        figures.net = to_amount(pay_in);
        figures.payments_before = row.obligations;
        figures.payments_after = payments_after;
        figures.liquidity_saving_ppm = saving_ppm(row.gross, pay_in);
        result.figures.push_back(figures);
    }

    // Pass 2: the payment orders' lines, in input order, summed again as a check.
    std::vector<Int128> line_sum(result.orders.size(), Int128(0));
    for (std::size_t i = 0; i < obligations.size(); ++i) {
        const Obligation& o = obligations[i];
        if (o.payee != kExternal)
            continue;
        const std::uint32_t slot = rows[o.currency].order_slot[o.bank];
        result.orders[slot].lines.push_back(static_cast<std::uint32_t>(i));
        line_sum[slot] += o.amount.minor();
    }
    for (std::size_t k = 0; k < result.orders.size(); ++k) {
        FXSETTLE_ASSERT(line_sum[k] == result.orders[k].total.minor(),
                        "netting: a payment order's lines do not add up to its total");
    }
    return result;
}

Result<std::vector<PairCross>> cross(std::span<const ConversionNeed> needs,
                                     std::size_t pair_count) {
    if (auto s = check_bound("needs", needs.size(), "kObligationsMax", kObligationsMax); !s)
        return fail(std::move(s));
    if (auto s = check_bound("pair_count", pair_count, "kPairsMax", kPairsMax); !s)
        return fail(std::move(s));
    std::vector<Int128> bought(pair_count, Int128(0));
    std::vector<Int128> sold(pair_count, Int128(0));
    std::vector<bool> seen(pair_count, false);
    const Int128& max = amount_max();
    for (std::size_t i = 0; i < needs.size(); ++i) {
        const ConversionNeed& n = needs[i];
        if (n.pair >= pair_count) {
            return fail(StatusCode::kInvalidArgument, "need " + idx(i) + ": pair " + idx(n.pair) +
                                                          " is out of range (" + idx(pair_count) +
                                                          " pairs)");
        }
        if (!n.base_amount.is_positive()) {
            return fail(
                StatusCode::kInvalidArgument,
                "need " + idx(i) + ": amount " + n.base_amount.to_string() + " is not positive");
        }
        Int128& side = n.buy_base ? bought[n.pair] : sold[n.pair];
        side += n.base_amount.minor();
        if (side > max) {
            return fail(StatusCode::kOutOfRange,
                        "need " + idx(i) + ": the " + (n.buy_base ? "bought" : "sold") +
                            " total of pair " + idx(n.pair) + " exceeds the Amount range");
        }
        seen[n.pair] = true;
    }
    std::vector<PairCross> out;
    for (PairIndex p = 0; p < pair_count; ++p) {
        if (!seen[p])
            continue;
        PairCross x;
        x.pair = p;
        x.bought_base = to_amount(bought[p]);
        x.sold_base = to_amount(sold[p]);
        x.crossed_base = std::min(x.bought_base, x.sold_base);
        x.residual_base = x.bought_base - x.sold_base;
        FXSETTLE_ASSERT(
            x.crossed_base + (x.residual_base.is_negative() ? -x.residual_base : x.residual_base) ==
                std::max(x.bought_base, x.sold_base),
            "crossing: crossed plus residual is not the larger side");
        out.push_back(x);
    }
    return out;
}

Result<HedgePlan> plan_hedge(PairIndex pair, const money::Amount& residual_base,
                             std::span<const VenueQuote> quotes) {
    if (auto s = check_bound("quotes", quotes.size(), "kQuotesMax", kQuotesMax); !s)
        return fail(std::move(s));
    const bool buy = residual_base.is_positive();
    std::vector<std::uint32_t> usable;
    const money::CurrencyPair* currency_pair = nullptr;
    for (std::size_t i = 0; i < quotes.size(); ++i) {
        const VenueQuote& q = quotes[i];
        if (q.pair != pair)
            continue;
        if (q.bid_size.is_negative() || q.ask_size.is_negative()) {
            return fail(StatusCode::kInvalidArgument,
                        "quote " + idx(i) + ": a negative size (bid " + q.bid_size.to_string() +
                            ", ask " + q.ask_size.to_string() + ")");
        }
        if (!(q.bid.pair() == q.ask.pair())) {
            return fail(StatusCode::kInvalidArgument,
                        "quote " + idx(i) + ": bid on " + q.bid.pair().to_string() +
                            " but ask on " + q.ask.pair().to_string());
        }
        if (currency_pair == nullptr) {
            currency_pair = &q.bid.pair();
        } else if (!(*currency_pair == q.bid.pair())) {
            return fail(StatusCode::kInvalidArgument,
                        "quote " + idx(i) + ": on " + q.bid.pair().to_string() +
                            " but an earlier quote of pair " + idx(pair) + " is on " +
                            currency_pair->to_string());
        }
        if ((buy ? q.ask_size : q.bid_size).is_positive())
            usable.push_back(static_cast<std::uint32_t>(i));
    }
    HedgePlan plan;
    if (residual_base.is_zero())
        return plan;
    // Best price first: buying takes the lowest asks, selling the highest bids; equal
    // prices by venue index, then input order (stable sort).
    std::stable_sort(usable.begin(), usable.end(), [&](std::uint32_t a, std::uint32_t b) {
        const VenueQuote& qa = quotes[a];
        const VenueQuote& qb = quotes[b];
        const Int128& pa = (buy ? qa.ask : qa.bid).mantissa();
        const Int128& pb = (buy ? qb.ask : qb.bid).mantissa();
        if (pa != pb)
            return buy ? pa < pb : pa > pb;
        return qa.venue < qb.venue;
    });
    Amount remaining = buy ? residual_base : -residual_base;
    for (const std::uint32_t i : usable) {
        if (remaining.is_zero())
            break;
        const VenueQuote& q = quotes[i];
        const Amount& size = buy ? q.ask_size : q.bid_size;
        const Amount take = std::min(size, remaining);
        plan.slices.push_back(HedgeSlice{q.venue, pair, buy, take, buy ? q.ask : q.bid});
        remaining -= take;
    }
    plan.unhedged_base = remaining;
    return plan;
}

Result<money::Amount> hedge_cost_against_mid(std::span<const HedgeSlice> fills,
                                             const money::Rate& mid) {
    if (auto s = check_bound("fills", fills.size(), "kFillsMax", kFillsMax); !s)
        return fail(std::move(s));
    const money::CurrencyPair& pair = mid.pair();
    if (pair.base.exponent > money::kExponentMax || pair.quote.exponent > money::kExponentMax) {
        return fail(StatusCode::kInvalidArgument,
                    "mid on " + pair.to_string() + ": an exponent exceeds kExponentMax");
    }
    // cost in quote minor units = |price - mid| (mantissa / 10^kDecimals) x base_amount
    // (base minor / 10^e_base) x 10^e_quote; so the exact product of mantissa difference
    // and base minor units is in units of 10^-shift quote minor units.
    const int shift = money::Rate::kDecimals + pair.base.exponent - pair.quote.exponent;
    FXSETTLE_ASSERT(shift > 0 && shift <= 24, "hedge cost: shift out of range");
    Int256 unit = 1;
    for (int k = 0; k < shift; ++k)
        unit *= 10;
    Int256 whole = 0;  // sum of the per-fill quotients
    Int256 part = 0;   // sum of the remainders, kept below `unit`
    const Int256 whole_max = Int256(amount_max());
    for (std::size_t i = 0; i < fills.size(); ++i) {
        const HedgeSlice& f = fills[i];
        if (!(f.price.pair() == pair)) {
            return fail(StatusCode::kInvalidArgument, "fill " + idx(i) + ": price on " +
                                                          f.price.pair().to_string() +
                                                          " but mid on " + pair.to_string());
        }
        if (!f.base_amount.is_positive()) {
            return fail(
                StatusCode::kInvalidArgument,
                "fill " + idx(i) + ": amount " + f.base_amount.to_string() + " is not positive");
        }
        // < 2^127 x 2^127: fits 256 bits.
        const Int256 product =
            Int256(abs_diff(f.price.mantissa(), mid.mantissa())) * Int256(f.base_amount.minor());
        whole += product / unit;
        part += product % unit;
        if (part >= unit) {
            part -= unit;
            whole += 1;
        }
        if (whole > whole_max) {
            return fail(StatusCode::kOutOfRange,
                        "fill " + idx(i) + ": the hedge cost exceeds the Amount range");
        }
    }
    // Half-even: up when above half, or exactly half with an odd quotient.
    const Int256 twice = part * 2;
    if (twice > unit || (twice == unit && (whole & 1) != 0))
        whole += 1;
    if (whole > whole_max)
        return fail(StatusCode::kOutOfRange, "the hedge cost exceeds the Amount range");
    return to_amount(Int128(whole));
}

}  // namespace fxsettle::engine::netting
