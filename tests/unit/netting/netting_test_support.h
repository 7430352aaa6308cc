// Shared by the netting tests: the two implementations behind one interface (for typed
// tests), builders for inputs, printers and field-by-field comparisons of results.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <map>
#include <ostream>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "engine/money/amount.h"
#include "engine/money/rate.h"
#include "engine/netting/netting.h"
#include "engine/netting/reference_netting.h"

namespace fxsettle::money {
// gtest prints amounts as their minor units rather than as bytes.
inline void PrintTo(const Amount& amount, std::ostream* os) {
    *os << amount.to_string();
}
inline void PrintTo(const Rate& rate, std::ostream* os) {
    *os << rate.pair().to_string() << " " << rate.to_string();
}
}  // namespace fxsettle::money

namespace fxsettle::engine::netting::test {

using money::Amount;

// The fast implementation (netting.h).
struct Fast {
    static Result<NettingResult> net(std::span<const Obligation> o, std::size_t psps,
                                     std::size_t banks, std::size_t currencies) {
        return netting::net(o, psps, banks, currencies);
    }
    static Result<std::vector<PairCross>> cross(std::span<const ConversionNeed> n,
                                                std::size_t pairs) {
        return netting::cross(n, pairs);
    }
    static Result<HedgePlan> plan_hedge(PairIndex pair, const Amount& residual,
                                        std::span<const VenueQuote> q) {
        return netting::plan_hedge(pair, residual, q);
    }
    static Result<Amount> hedge_cost_against_mid(std::span<const HedgeSlice> f,
                                                 const money::Rate& mid) {
        return netting::hedge_cost_against_mid(f, mid);
    }
};

// The reference implementation (reference_netting.h).
struct Reference {
    static Result<NettingResult> net(std::span<const Obligation> o, std::size_t psps,
                                     std::size_t banks, std::size_t currencies) {
        return reference::net(o, psps, banks, currencies);
    }
    static Result<std::vector<PairCross>> cross(std::span<const ConversionNeed> n,
                                                std::size_t pairs) {
        return reference::cross(n, pairs);
    }
    static Result<HedgePlan> plan_hedge(PairIndex pair, const Amount& residual,
                                        std::span<const VenueQuote> q) {
        return reference::plan_hedge(pair, residual, q);
    }
    static Result<Amount> hedge_cost_against_mid(std::span<const HedgeSlice> f,
                                                 const money::Rate& mid) {
        return reference::hedge_cost_against_mid(f, mid);
    }
};

struct ImplNames {
    template <typename T>
    static std::string GetName(int) {
        return std::is_same_v<T, Fast> ? "Fast" : "Reference";
    }
};

inline Amount minor(std::int64_t v) {
    return Amount::from_minor(v);
}

inline Obligation internal(PspIndex payer, PspIndex payee, CurrencyIndex currency,
                           std::int64_t amount, std::uint64_t reference = 0) {
    Obligation o;
    o.payer = payer;
    o.payee = payee;
    o.currency = currency;
    o.amount = minor(amount);
    o.reference = reference;
    return o;
}

inline Obligation external(PspIndex payer, BankIndex bank, CurrencyIndex currency,
                           std::int64_t amount, std::uint64_t reference = 0) {
    Obligation o;
    o.payer = payer;
    o.payee = kExternal;
    o.bank = bank;
    o.currency = currency;
    o.amount = minor(amount);
    o.reference = reference;
    return o;
}

inline money::CurrencyPair pair_of(std::string_view text) {
    auto p = money::parse_pair(text);
    EXPECT_TRUE(p.has_value()) << text;
    return *p;
}

inline money::Rate rate(std::string_view pair, std::string_view text) {
    auto r = money::Rate::parse(pair_of(pair), text);
    EXPECT_TRUE(r.has_value()) << pair << " " << text;
    return *r;
}

// A count scaled by FXSETTLE_PROPERTY_SCALE, in percent (default 100). Never below 1.
inline std::uint64_t scaled(std::uint64_t base) {
    std::uint64_t percent = 100;
    if (const char* v = std::getenv("FXSETTLE_PROPERTY_SCALE"); v != nullptr && *v != '\0') {
        char* end = nullptr;
        const unsigned long long n = std::strtoull(v, &end, 10);
        if (end != nullptr && *end == '\0')
            percent = n;
    }
    const std::uint64_t n = base * percent / 100;
    return n == 0 ? 1 : n;
}

// Field-by-field equality, with messages naming the first difference.
inline void expect_same(const NettingResult& a, const NettingResult& b) {
    ASSERT_EQ(a.positions.size(), b.positions.size());
    for (std::size_t i = 0; i < a.positions.size(); ++i) {
        SCOPED_TRACE("position " + std::to_string(i));
        EXPECT_EQ(a.positions[i].psp, b.positions[i].psp);
        EXPECT_EQ(a.positions[i].currency, b.positions[i].currency);
        EXPECT_EQ(a.positions[i].net, b.positions[i].net);
    }
    ASSERT_EQ(a.payments.size(), b.payments.size());
    for (std::size_t i = 0; i < a.payments.size(); ++i) {
        SCOPED_TRACE("payment " + std::to_string(i));
        EXPECT_EQ(a.payments[i].psp, b.payments[i].psp);
        EXPECT_EQ(a.payments[i].currency, b.payments[i].currency);
        EXPECT_EQ(a.payments[i].direction, b.payments[i].direction);
        EXPECT_EQ(a.payments[i].amount, b.payments[i].amount);
    }
    ASSERT_EQ(a.orders.size(), b.orders.size());
    for (std::size_t i = 0; i < a.orders.size(); ++i) {
        SCOPED_TRACE("order " + std::to_string(i));
        EXPECT_EQ(a.orders[i].bank, b.orders[i].bank);
        EXPECT_EQ(a.orders[i].currency, b.orders[i].currency);
        EXPECT_EQ(a.orders[i].total, b.orders[i].total);
        EXPECT_EQ(a.orders[i].lines, b.orders[i].lines);
    }
    ASSERT_EQ(a.figures.size(), b.figures.size());
    for (std::size_t i = 0; i < a.figures.size(); ++i) {
        SCOPED_TRACE("figures " + std::to_string(i));
        EXPECT_EQ(a.figures[i].currency, b.figures[i].currency);
        EXPECT_EQ(a.figures[i].gross, b.figures[i].gross);
        EXPECT_EQ(a.figures[i].net, b.figures[i].net);
        EXPECT_EQ(a.figures[i].payments_before, b.figures[i].payments_before);
        EXPECT_EQ(a.figures[i].payments_after, b.figures[i].payments_after);
        EXPECT_EQ(a.figures[i].liquidity_saving_ppm, b.figures[i].liquidity_saving_ppm);
    }
}

inline void expect_same(const std::vector<PairCross>& a, const std::vector<PairCross>& b) {
    ASSERT_EQ(a.size(), b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        SCOPED_TRACE("cross " + std::to_string(i));
        EXPECT_EQ(a[i].pair, b[i].pair);
        EXPECT_EQ(a[i].bought_base, b[i].bought_base);
        EXPECT_EQ(a[i].sold_base, b[i].sold_base);
        EXPECT_EQ(a[i].crossed_base, b[i].crossed_base);
        EXPECT_EQ(a[i].residual_base, b[i].residual_base);
    }
}

inline void expect_same(const HedgePlan& a, const HedgePlan& b) {
    EXPECT_EQ(a.unhedged_base, b.unhedged_base);
    ASSERT_EQ(a.slices.size(), b.slices.size());
    for (std::size_t i = 0; i < a.slices.size(); ++i) {
        SCOPED_TRACE("slice " + std::to_string(i));
        EXPECT_EQ(a.slices[i].venue, b.slices[i].venue);
        EXPECT_EQ(a.slices[i].pair, b.slices[i].pair);
        EXPECT_EQ(a.slices[i].buy_base, b.slices[i].buy_base);
        EXPECT_EQ(a.slices[i].base_amount, b.slices[i].base_amount);
        EXPECT_EQ(a.slices[i].price, b.slices[i].price);
    }
}

// Conservation, checked from the result alone: per currency, positions plus payment
// orders sum to zero; pay-ins equal pay-outs plus orders and equal the figures' net;
// every order's total is the sum of its lines.
inline void expect_conserved(std::span<const Obligation> obligations, const NettingResult& r) {
    std::map<CurrencyIndex, money::Int128> sum, pay_in, pay_out_and_orders, gross;
    for (const auto& p : r.positions)
        sum[p.currency] += p.net.minor();
    for (const auto& o : r.orders) {
        sum[o.currency] += o.total.minor();
        pay_out_and_orders[o.currency] += o.total.minor();
        money::Int128 lines = 0;
        for (const auto line : o.lines) {
            EXPECT_EQ(obligations[line].payee, kExternal);
            EXPECT_EQ(obligations[line].bank, o.bank);
            EXPECT_EQ(obligations[line].currency, o.currency);
            lines += obligations[line].amount.minor();
        }
        EXPECT_EQ(lines, o.total.minor()) << "order of bank " << o.bank;
    }
    for (const auto& p : r.payments) {
        if (p.direction == PaymentDirection::kPayIn)
            pay_in[p.currency] += p.amount.minor();
        else
            pay_out_and_orders[p.currency] += p.amount.minor();
    }
    for (const auto& o : obligations)
        gross[o.currency] += o.amount.minor();
    for (const auto& [currency, s] : sum)
        EXPECT_TRUE(s.is_zero()) << "currency " << currency << " does not sum to zero";
    for (const auto& f : r.figures) {
        EXPECT_EQ(pay_in[f.currency], pay_out_and_orders[f.currency]) << "currency " << f.currency;
        EXPECT_EQ(pay_in[f.currency], f.net.minor()) << "currency " << f.currency;
        EXPECT_EQ(gross[f.currency], f.gross.minor()) << "currency " << f.currency;
    }
    EXPECT_EQ(r.figures.size(), gross.size());
}

}  // namespace fxsettle::engine::netting::test
