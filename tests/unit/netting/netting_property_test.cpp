// Random settlement cycles, crossings, hedge plans and hedge costs (seeded), the fast
// implementation checked against the reference: same net positions, payments, payment
// orders and figures; no more payments than the reference's minimum; conservation per
// currency; the same error for the same bad input. FXSETTLE_PROPERTY_SCALE (percent,
// default 100) scales the number of cases.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <vector>

#include "tests/unit/netting/netting_test_support.h"

namespace fxsettle::engine::netting::test {
namespace {

using Rng = std::mt19937_64;

std::uint32_t below(Rng& rng, std::uint64_t n) {
    return static_cast<std::uint32_t>(std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng));
}

bool chance(Rng& rng, double p) {
    return std::bernoulli_distribution(p)(rng);
}

// Mostly payment-sized amounts, some large, a few of up to 100 bits (the 128-bit range).
Amount random_amount(Rng& rng) {
    const std::uint32_t roll = below(rng, 100);
    if (roll < 80)
        return minor(1 + below(rng, 1'000'000));
    if (roll < 95)
        return minor(1 + static_cast<std::int64_t>(rng() % 1'000'000'000'000ull));
    money::Int128 v = money::Int128(rng() >> 28);  // 36 bits
    v <<= 64;
    v += money::Int128(rng());
    return *Amount::from_int(v + 1);
}

struct Shape {
    std::size_t psps = 0;
    std::size_t banks = 0;
    std::size_t currencies = 0;
    std::size_t obligations = 0;
};

Shape random_shape(Rng& rng, std::size_t obligations_max) {
    Shape s;
    s.psps = 2 + below(rng, chance(rng, 0.3) ? 8 : 300);
    s.banks = 1 + below(rng, 12);
    s.currencies = 1 + below(rng, 25);
    s.obligations = below(rng, obligations_max + 1);
    return s;
}

PspIndex other_psp(Rng& rng, std::size_t psps, PspIndex not_this) {
    PspIndex p = below(rng, psps - 1);
    return p >= not_this ? p + 1 : p;
}

// A cycle's obligations: external payouts, internal payouts, trade legs (two obligations
// in two currencies) and circles (that net to zero), with skew towards a few PSPs and
// currencies so that positions collide.
std::vector<Obligation> random_cycle(Rng& rng, const Shape& s) {
    std::vector<Obligation> out;
    out.reserve(s.obligations + 4);
    std::uint64_t reference = 1;
    auto psp = [&] {
        return chance(rng, 0.5) ? below(rng, std::min<std::size_t>(s.psps, 4)) : below(rng, s.psps);
    };
    auto currency = [&] {
        return chance(rng, 0.6) ? below(rng, std::min<std::size_t>(s.currencies, 3))
                                : below(rng, s.currencies);
    };
    while (out.size() < s.obligations) {
        const std::uint32_t kind = below(rng, 100);
        const PspIndex payer = psp();
        const CurrencyIndex c = currency();
        const Amount amount = random_amount(rng);
        Obligation o;
        o.payer = payer;
        o.currency = c;
        o.amount = amount;
        o.reference = reference++;
        if (kind < 55) {
            o.payee = kExternal;
            o.bank = below(rng, s.banks);
            out.push_back(o);
        } else if (kind < 75) {
            o.payee = other_psp(rng, s.psps, payer);
            o.bank = below(rng, 2000);  // ignored for internal obligations
            out.push_back(o);
        } else if (kind < 95) {
            // A trade: payer sells `amount` of c to the counterparty for some of another
            // currency.
            o.payee = other_psp(rng, s.psps, payer);
            out.push_back(o);
            Obligation leg;
            leg.payer = o.payee;
            leg.payee = payer;
            leg.currency = currency();
            leg.amount = random_amount(rng);
            leg.reference = o.reference;
            out.push_back(leg);
        } else if (s.psps >= 3) {
            // A circle of three that nets to zero.
            const PspIndex b = other_psp(rng, s.psps, payer);
            PspIndex c3 = below(rng, s.psps);
            while (c3 == payer || c3 == b)
                c3 = below(rng, s.psps);
            out.push_back(internal(payer, b, c, 0, o.reference));
            out.push_back(internal(b, c3, c, 0, o.reference));
            out.push_back(internal(c3, payer, c, 0, o.reference));
            for (std::size_t k = out.size() - 3; k < out.size(); ++k)
                out[k].amount = amount;
        }
    }
    out.resize(s.obligations);
    return out;
}

// Breaks one obligation in one of the ways net() must refuse.
void corrupt(Rng& rng, std::vector<Obligation>& o, const Shape& s) {
    if (o.empty())
        return;
    Obligation& x = o[below(rng, o.size())];
    switch (below(rng, 7)) {
        case 0:
            x.payer = static_cast<PspIndex>(s.psps + below(rng, 3));
            break;
        case 1:
            x.payee = static_cast<PspIndex>(s.psps + below(rng, 3));
            break;
        case 2:
            x.payee = x.payer;
            break;
        case 3:
            x.payee = kExternal;
            x.bank = static_cast<BankIndex>(s.banks + below(rng, 3));
            break;
        case 4:
            x.currency = static_cast<CurrencyIndex>(s.currencies + below(rng, 3));
            break;
        case 5:
            x.amount = minor(0);
            break;
        default:
            x.amount = minor(-1 - static_cast<std::int64_t>(below(rng, 1000)));
            break;
    }
}

// What the random cases covered, so a generator that stops producing a case is noticed.
struct Coverage {
    std::uint64_t ok = 0;
    std::uint64_t failed = 0;
    std::uint64_t zero_positions = 0;  // a PSP with obligations whose position nets to zero
    std::uint64_t orders = 0;
    std::uint64_t pay_outs = 0;
};

void check_cycle(const std::vector<Obligation>& o, const Shape& s, Coverage& cov) {
    auto fast = netting::net(o, s.psps, s.banks, s.currencies);
    auto ref = reference::net(o, s.psps, s.banks, s.currencies);
    ASSERT_EQ(fast.has_value(), ref.has_value())
        << (fast ? ref.error().to_string() : fast.error().to_string());
    if (!fast) {
        EXPECT_EQ(fast.error(), ref.error());
        ++cov.failed;
        return;
    }
    ++cov.ok;
    cov.orders += fast->orders.size();
    std::set<std::pair<CurrencyIndex, PspIndex>> involved;
    for (const auto& x : o) {
        involved.insert({x.currency, x.payer});
        if (x.payee != kExternal)
            involved.insert({x.currency, x.payee});
    }
    cov.zero_positions += involved.size() - fast->positions.size();
    for (const auto& p : fast->payments)
        cov.pay_outs += p.direction == PaymentDirection::kPayOut ? 1 : 0;
    expect_same(*fast, *ref);
    expect_conserved(o, *fast);
    // No more payments than the reference's minimum, per currency and overall.
    auto minimum = reference::minimum_payments(o, s.psps, s.banks, s.currencies);
    ASSERT_TRUE(minimum.has_value());
    std::uint64_t after = 0;
    for (const auto& f : fast->figures) {
        EXPECT_LE(f.payments_after, minimum->per_currency.at(f.currency));
        EXPECT_LE(f.net, f.gross);
        after += f.payments_after;
    }
    EXPECT_LE(after, minimum->total);
    EXPECT_EQ(fast->figures.size(), minimum->per_currency.size());
    // One payment per non-zero position, in the same order, of its magnitude.
    ASSERT_EQ(fast->payments.size(), fast->positions.size());
    for (std::size_t i = 0; i < fast->payments.size(); ++i) {
        const auto& pos = fast->positions[i];
        EXPECT_FALSE(pos.net.is_zero());
        EXPECT_EQ(fast->payments[i].amount, pos.net.is_negative() ? -pos.net : pos.net);
    }
}

TEST(NettingProperty, RandomCyclesMatchTheReference) {
    Rng rng(20240611);
    const std::uint64_t cycles = scaled(80);
    Coverage cov;
    for (std::uint64_t k = 0; k < cycles; ++k) {
        const Shape s = random_shape(rng, 1'500);
        SCOPED_TRACE("cycle " + std::to_string(k) + ": " + std::to_string(s.obligations) +
                     " obligations, " + std::to_string(s.psps) + " PSPs, " +
                     std::to_string(s.currencies) + " currencies");
        const auto o = random_cycle(rng, s);
        check_cycle(o, s, cov);
        if (HasFatalFailure())
            return;
    }
    EXPECT_EQ(cov.ok, cycles);
    EXPECT_GT(cov.zero_positions, 0u);
    EXPECT_GT(cov.orders, 0u);
    EXPECT_GT(cov.pay_outs, 0u);
}

TEST(NettingProperty, OneLargeCycleMatchesTheReference) {
    Rng rng(7);
    Shape s;
    s.psps = 1'000;
    s.banks = 40;
    s.currencies = 20;
    s.obligations = scaled(20'000);
    Coverage cov;
    check_cycle(random_cycle(rng, s), s, cov);
    EXPECT_EQ(cov.ok, 1u);
}

TEST(NettingProperty, RandomBadInputsFailAlikeAtTheFirstBadObligation) {
    Rng rng(99);
    const std::uint64_t cycles = scaled(150);
    Coverage cov;
    for (std::uint64_t k = 0; k < cycles; ++k) {
        const Shape s = random_shape(rng, 300);
        auto o = random_cycle(rng, s);
        const std::size_t bad = 1 + below(rng, 3);
        for (std::size_t b = 0; b < bad; ++b)
            corrupt(rng, o, s);
        SCOPED_TRACE("cycle " + std::to_string(k));
        check_cycle(o, s, cov);
        if (HasFatalFailure())
            return;
    }
    // Only the cycles that drew no obligation at all can pass.
    EXPECT_GT(cov.failed, cycles * 9 / 10);
}

TEST(NettingProperty, GrossOverflowFailsAlike) {
    Rng rng(5);
    const Amount quarter = *Amount::from_int(Amount::max().minor() / 4);
    Coverage cov;
    for (std::uint64_t k = 0; k < scaled(50); ++k) {
        Shape s{5, 2, 3, 0};
        std::vector<Obligation> o;
        const std::size_t n = 2 + below(rng, 8);
        for (std::size_t i = 0; i < n; ++i) {
            Obligation x = external(below(rng, 5), below(rng, 2), below(rng, 3), 1);
            x.amount = chance(rng, 0.5) ? quarter : random_amount(rng);
            o.push_back(x);
        }
        s.obligations = o.size();
        check_cycle(o, s, cov);
    }
    if (scaled(50) >= 20) {
        EXPECT_GT(cov.failed, 0u);
        EXPECT_GT(cov.ok, 0u);
    }
}

TEST(NettingProperty, OrderOfObligationsChangesOnlyTheLineOrder) {
    Rng rng(31);
    for (std::uint64_t k = 0; k < scaled(30); ++k) {
        const Shape s = random_shape(rng, 1'000);
        const auto o = random_cycle(rng, s);
        std::vector<std::uint32_t> perm(o.size());
        for (std::uint32_t i = 0; i < perm.size(); ++i)
            perm[i] = i;
        std::shuffle(perm.begin(), perm.end(), rng);
        std::vector<Obligation> shuffled;
        for (const auto i : perm)
            shuffled.push_back(o[i]);
        auto a = netting::net(o, s.psps, s.banks, s.currencies);
        auto b = netting::net(shuffled, s.psps, s.banks, s.currencies);
        ASSERT_TRUE(a && b);
        NettingResult a_cmp = *a;
        NettingResult b_cmp = *b;
        // Map the shuffled lines back to the original indices, and compare as sets.
        for (auto& order : b_cmp.orders) {
            for (auto& line : order.lines)
                line = perm[line];
            std::sort(order.lines.begin(), order.lines.end());
        }
        expect_same(a_cmp, b_cmp);
    }
}

// ---- cross, plan_hedge and hedge cost ------------------------------------------------

TEST(NettingProperty, RandomCrossingsMatchTheReference) {
    Rng rng(404);
    for (std::uint64_t k = 0; k < scaled(200); ++k) {
        const std::size_t pairs = 1 + below(rng, 30);
        std::vector<ConversionNeed> needs(below(rng, 500));
        for (auto& n : needs) {
            n.psp = below(rng, 100);
            n.pair = below(rng, pairs);
            n.buy_base = chance(rng, 0.5);
            n.base_amount = random_amount(rng);
        }
        if (chance(rng, 0.05) && !needs.empty())
            needs[below(rng, needs.size())].pair = static_cast<PairIndex>(pairs);
        if (chance(rng, 0.05) && !needs.empty())
            needs[below(rng, needs.size())].base_amount = minor(-static_cast<int>(below(rng, 3)));
        auto fast = netting::cross(needs, pairs);
        auto ref = reference::cross(needs, pairs);
        ASSERT_EQ(fast.has_value(), ref.has_value());
        if (!fast) {
            EXPECT_EQ(fast.error(), ref.error());
            continue;
        }
        expect_same(*fast, *ref);
        for (const auto& x : *fast) {
            EXPECT_EQ(x.crossed_base, std::min(x.bought_base, x.sold_base));
            EXPECT_EQ(x.residual_base, x.bought_base - x.sold_base);
            EXPECT_EQ(x.residual_base.is_positive(), x.bought_base > x.sold_base);
        }
    }
}

TEST(NettingProperty, RandomHedgePlansMatchTheReference) {
    Rng rng(808);
    const auto usd_cny = pair_of("USD/CNY");
    const auto eur_usd = pair_of("EUR/USD");
    std::uint64_t split = 0, short_of_size = 0, tied = 0;
    for (std::uint64_t k = 0; k < scaled(300); ++k) {
        std::vector<VenueQuote> quotes;
        const std::size_t quote_count = below(rng, 25);
        for (std::size_t i = 0; i < quote_count; ++i) {
            const VenueIndex venue = below(rng, 6);
            const PairIndex quote_pair = below(rng, 2);
            const auto& cp = quote_pair == 0 ? usd_cny : eur_usd;
            // Few distinct prices, so ties happen.
            const std::int64_t mid = quote_pair == 0 ? 7'100 : 1'085;
            const std::int64_t half = 1 + below(rng, 4);
            const Amount bid_size = chance(rng, 0.15) ? minor(0) : minor(below(rng, 1'000));
            const Amount ask_size = chance(rng, 0.15) ? minor(0) : minor(below(rng, 1'000));
            quotes.push_back(VenueQuote{
                venue, quote_pair,
                *money::Rate::from_mantissa(cp, money::Int128(mid - half) * 1'000'000'000),
                *money::Rate::from_mantissa(cp, money::Int128(mid + half) * 1'000'000'000),
                bid_size, ask_size});
        }
        const PairIndex pair = below(rng, 2);
        const Amount residual = minor(static_cast<std::int64_t>(below(rng, 6'000)) - 3'000);
        auto fast = netting::plan_hedge(pair, residual, quotes);
        auto ref = reference::plan_hedge(pair, residual, quotes);
        ASSERT_TRUE(fast.has_value()) << fast.error().to_string();
        ASSERT_TRUE(ref.has_value()) << ref.error().to_string();
        expect_same(*fast, *ref);
        Amount sum = fast->unhedged_base;
        for (std::size_t i = 0; i < fast->slices.size(); ++i) {
            const auto& sl = fast->slices[i];
            EXPECT_EQ(sl.buy_base, residual.is_positive());
            EXPECT_TRUE(sl.base_amount.is_positive());
            sum += sl.base_amount;
            if (i > 0) {
                const auto& prev = fast->slices[i - 1].price.mantissa();
                if (sl.buy_base)
                    EXPECT_LE(prev, sl.price.mantissa());
                else
                    EXPECT_GE(prev, sl.price.mantissa());
            }
        }
        EXPECT_EQ(sum, residual.is_negative() ? -residual : residual);
        EXPECT_FALSE(fast->unhedged_base.is_negative());
        split += fast->slices.size() > 1 ? 1 : 0;
        short_of_size += fast->unhedged_base.is_positive() ? 1 : 0;
        for (std::size_t i = 1; i < fast->slices.size(); ++i)
            tied += fast->slices[i].price == fast->slices[i - 1].price ? 1 : 0;
    }
    if (scaled(300) >= 100) {
        EXPECT_GT(split, 0u);
        EXPECT_GT(short_of_size, 0u);
        EXPECT_GT(tied, 0u);
    }
}

TEST(NettingProperty, RandomHedgeCostsMatchTheReference) {
    Rng rng(1234);
    // Exponents 0 (JPY), 2 (USD, EUR), 3 (KWD, BHD), 4 (CLF).
    const std::vector<std::string> codes{"JPY", "USD", "EUR", "KWD", "BHD", "CLF"};
    std::uint64_t overflowed = 0, positive = 0;
    for (std::uint64_t k = 0; k < scaled(400); ++k) {
        std::string base = codes[below(rng, codes.size())];
        std::string quote = codes[below(rng, codes.size())];
        while (quote == base)
            quote = codes[below(rng, codes.size())];
        const auto cp = pair_of(base + "/" + quote);
        auto mantissa = [&](bool huge) {
            money::Int128 m = huge ? money::Int128(rng() >> 1) * money::Int128(rng() >> 8)
                                   : money::Int128(1 + below(rng, 1'000'000'000)) * 1'000;
            return *money::Rate::from_mantissa(cp, m + 1);
        };
        const bool huge = chance(rng, 0.1);
        const auto mid = mantissa(huge);
        std::vector<HedgeSlice> fills;
        const std::size_t fill_count = below(rng, 12);
        for (std::size_t i = 0; i < fill_count; ++i) {
            const VenueIndex venue = below(rng, 4);
            const bool buy = chance(rng, 0.5);
            const Amount amount = random_amount(rng);
            const money::Rate price = chance(rng, 0.1) ? mid : mantissa(huge);
            fills.push_back(HedgeSlice{venue, 0, buy, amount, price});
        }
        auto fast = netting::hedge_cost_against_mid(fills, mid);
        auto ref = reference::hedge_cost_against_mid(fills, mid);
        ASSERT_EQ(fast.has_value(), ref.has_value())
            << base << "/" << quote << ": "
            << (fast ? ref.error().to_string() : fast.error().to_string());
        if (!fast) {
            EXPECT_EQ(fast.error().code(), ref.error().code());
            ++overflowed;
            continue;
        }
        EXPECT_EQ(*fast, *ref) << base << "/" << quote;
        EXPECT_FALSE(fast->is_negative());
        positive += fast->is_positive() ? 1 : 0;
    }
    if (scaled(400) >= 100) {
        EXPECT_GT(overflowed, 0u);
        EXPECT_GT(positive, 0u);
    }
}

}  // namespace
}  // namespace fxsettle::engine::netting::test
