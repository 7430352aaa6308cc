// Settlement cycles against a real LMDB ledger: every operation Settlement produces is
// committed, must succeed, and after every scenario the trial balance is zero per currency
// and verify() passes.
#include "engine/core/settlement.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "ledger/ledger.h"

namespace fxsettle::engine {
namespace {

using money::Amount;
using money::Money;
using money::Rate;

Amount A(std::int64_t minor) {
    return Amount::from_minor(minor);
}
ledger::Timestamp at_s(std::int64_t seconds) {
    return ledger::Timestamp(std::chrono::seconds(seconds));
}
ledger::Date day(int n) {
    return ledger::Date(std::chrono::days(20'000 + n));
}

template <typename T>
std::vector<T> events_of(const std::vector<SettlementEvent>& events) {
    std::vector<T> out;
    for (const auto& e : events) {
        if (const T* t = std::get_if<T>(&e))
            out.push_back(*t);
    }
    return out;
}

int property_scale() {
    const char* s = std::getenv("FXSETTLE_PROPERTY_SCALE");
    if (s == nullptr)
        return 1;
    const int v = std::atoi(s);
    return v > 0 ? v : 1;
}

class SettlementTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto cfg = config::load_default_config();
        ASSERT_TRUE(cfg.has_value()) << cfg.error().to_string();
        config_ = std::move(*cfg);
        auto chart = Chart::build(config_);
        ASSERT_TRUE(chart.has_value()) << chart.error().to_string();
        chart_.emplace(std::move(*chart));
        for (const auto& p : config_.pairs)
            pairs_.push_back(p.pair);
        settlement_ = std::make_unique<Settlement>(*chart_, pairs_);

        std::string templ =
            (std::filesystem::temp_directory_path() / "fxsettle-settlement-XXXXXX").string();
        ASSERT_NE(::mkdtemp(templ.data()), nullptr);
        dir_ = templ;
        ledger::OpenOptions o;
        o.path = dir_ / "ledger.mdb";
        o.map_size_initial_bytes = 8u << 20;
        auto l = ledger::Ledger::open(o);
        ASSERT_TRUE(l.has_value()) << l.error().to_string();
        ledger_ = std::move(*l);
        commit_ok(chart_->create_operations());

        for (PspIndex p = 0; p < chart_->psp_count(); ++p) {
            PspTerms t = PspTerms::from_config(config_.psps[p]);
            for (const auto& c : chart_->currencies())
                t.net_debit_caps[c] = A(1'000'000'000'000'00);
            // In CNY, so that a CNY cycle needs no mid to value it (tests that need the
            // aggregate cap set their own).
            t.aggregate_cap = Money{A(1'000'000'000'000'00), ccy_of("CNY")};
            terms_.push_back(std::move(t));
        }
    }

    void TearDown() override {
        if (ledger_)
            expect_sound();
        ledger_.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    // ---- names ----
    money::Currency ccy_of(std::string_view code) const {
        return chart_->currency(*chart_->currency_index(code));
    }
    CurrencyIndex ccy(std::string_view code) const { return *chart_->currency_index(code); }
    PspIndex psp(std::string_view id) const { return *chart_->psp_index(id); }
    BankIndex bank(std::string_view id) const { return *chart_->bank_index(id); }
    VenueIndex venue(std::string_view id) const { return *chart_->venue_index(id); }
    PairIndex pair(std::string_view symbol) const {
        for (PairIndex i = 0; i < pairs_.size(); ++i) {
            if (pairs_[i].to_string() == symbol)
                return i;
        }
        ADD_FAILURE() << "no pair " << symbol;
        return 0;
    }
    Rate rate(std::string_view symbol, std::string_view text) const {
        auto r = Rate::parse(pairs_[pair(symbol)], text);
        EXPECT_TRUE(r.has_value()) << text;
        return *r;
    }
    PairMid mid(std::string_view symbol, std::string_view text) const {
        return PairMid{pair(symbol), rate(symbol, text)};
    }
    netting::VenueQuote quote(std::string_view venue_id, std::string_view symbol,
                              std::string_view bid, std::string_view ask, std::int64_t bid_size,
                              std::int64_t ask_size) const {
        return netting::VenueQuote{venue(venue_id),   pair(symbol), rate(symbol, bid),
                                   rate(symbol, ask), A(bid_size),  A(ask_size)};
    }

    // ---- ledger ----
    void commit_ok(const std::vector<ledger::Operation>& ops) {
        for (std::size_t i = 0; i < ops.size(); i += ledger::kBatchOperationsMax) {
            const std::size_t n = std::min(ledger::kBatchOperationsMax, ops.size() - i);
            auto r = ledger_->commit(std::span(ops).subspan(i, n), at_s(1000));
            ASSERT_TRUE(r.has_value()) << r.error().to_string();
            for (std::size_t k = 0; k < r->size(); ++k) {
                ASSERT_TRUE(ledger::is_success((*r)[k].code))
                    << "operation " << i + k << ": " << ledger::result_code_name((*r)[k].code)
                    << " " << (*r)[k].detail;
            }
        }
    }
    void commit_out(SettlementOutput& out) {
        commit_ok(out.operations);
        out.operations.clear();
    }
    void expect_sound() {
        auto view = ledger_->read();
        ASSERT_TRUE(view.has_value());
        auto tb = (*view)->trial_balance();
        ASSERT_TRUE(tb.has_value());
        for (const auto& row : *tb) {
            EXPECT_EQ(row.debits_posted, row.credits_posted)
                << "trial balance in " << row.currency.to_string();
        }
        auto report = (*view)->verify();
        ASSERT_TRUE(report.has_value());
        EXPECT_TRUE(report->ok) << report->failure;
    }
    Amount bal(const ledger::AccountId& id) {
        auto view = ledger_->read();
        EXPECT_TRUE(view.has_value());
        auto account = (*view)->account(id);
        EXPECT_TRUE(account.has_value() && account->has_value());
        auto b = (*view)->balance(id);
        EXPECT_TRUE(b.has_value());
        return b->posted(ledger::normal_side((*account)->kind));
    }
    Amount held(PspIndex p, CurrencyIndex c) { return bal(chart_->psp_held(p, c)); }
    Amount available(PspIndex p, CurrencyIndex c) { return bal(chart_->psp_available(p, c)); }

    // What intake does: funds moved to held (here straight from the nostro).
    void fund_held(PspIndex p, CurrencyIndex c, const Amount& a) {
        ledger::EntryRequest q;
        q.id = ledger::EntryId{0x7465'7374ULL, next_setup_++};
        q.value_date = day(0);
        q.reference = "test funding";
        const Money m{a, chart_->currency(c)};
        q.postings = {{chart_->nostro(*chart_->bank_for(c), c), ledger::Side::kDebit, m},
                      {chart_->psp_held(p, c), ledger::Side::kCredit, m}};
        commit_ok({ledger::Operation{std::move(q), false}});
    }

    // ---- items ----
    DuePayout external(PayoutId id, PspIndex payer, std::int64_t amount,
                       std::string_view bank_id = "bank-cn") {
        DuePayout p;
        p.id = id;
        p.client_id = "po-" + std::to_string(id);
        p.payer = payer;
        p.amount = A(amount);
        p.funding_currency = ccy("CNY");
        p.held = A(amount);
        p.bank = bank(bank_id);
        p.beneficiary = Beneficiary{std::string(bank_id), "ACC" + std::to_string(id),
                                    "Seller " + std::to_string(id), "CN"};
        return p;
    }
    DuePayout internal(PayoutId id, PspIndex payer, PspIndex payee, std::int64_t amount) {
        DuePayout p = external(id, payer, amount);
        p.payee_psp = payee;
        return p;
    }
    // Sets the payout's currencies and funds its hold.
    DuePayout& funded(DuePayout& p, CurrencyIndex c, CurrencyIndex funding,
                      std::optional<Amount> held_amount = std::nullopt) {
        p.funding_currency = funding;
        if (held_amount)
            p.held = *held_amount;
        fund_held(p.payer, funding, p.held);
        (void)c;
        return p;
    }
    CurrencyCutoff currency_cutoff(std::string_view code, std::vector<DuePayout> payouts,
                                   std::vector<DueTradeLeg> legs = {}) {
        CurrencyCutoff cc;
        cc.currency = ccy(code);
        cc.value_date = day(1);
        cc.payouts = std::move(payouts);
        cc.trade_legs = std::move(legs);
        return cc;
    }
    CutoffInput input(std::vector<CurrencyCutoff> currencies, std::vector<PairMid> mids = {},
                      std::vector<netting::VenueQuote> quotes = {}) {
        CutoffInput in;
        in.currencies = std::move(currencies);
        in.mids = std::move(mids);
        in.quotes = std::move(quotes);
        in.psps = terms_;
        return in;
    }
    SettlementOutput run(CutoffInput in, ledger::Timestamp now = at_s(10'000)) {
        SettlementOutput out;
        const Status s = settlement_->cutoff(std::move(in), now, out);
        EXPECT_TRUE(s.is_ok()) << s.to_string();
        commit_out(out);
        return out;
    }
    // Funds same-currency payouts and trade legs in `code` and runs one currency's cycle.
    SettlementOutput run_simple(std::string_view code, std::vector<DuePayout> payouts,
                                std::vector<DueTradeLeg> legs = {}) {
        const CurrencyIndex c = ccy(code);
        for (auto& p : payouts) {
            p.funding_currency = c;
            fund_held(p.payer, c, p.held);
        }
        for (const auto& l : legs)
            fund_held(l.payer, c, l.amount);
        return run(input({currency_cutoff(code, std::move(payouts), std::move(legs))}));
    }

    config::Config config_;
    std::optional<Chart> chart_;
    std::vector<money::CurrencyPair> pairs_;
    std::unique_ptr<Settlement> settlement_;
    std::vector<PspTerms> terms_;
    std::filesystem::path dir_;
    std::unique_ptr<ledger::Ledger> ledger_;
    std::uint64_t next_setup_ = 1;
};

// ---- single currency, figures ---------------------------------------------------------

TEST_F(SettlementTest, SingleCurrencyCycleNetsPostsAndReportsHandComputedFigures) {
    const PspIndex a = psp("alpha"), b = psp("borealis"), c = psp("coral");
    const CurrencyIndex cny = ccy("CNY");
    // A pays B 1000, B pays C 800, C pays A 600 (C's through a trade leg), A pays a
    // beneficiary 500 and B one 300.
    auto out = run_simple("CNY",
                          {internal(1, a, b, 100000), internal(2, b, c, 80000),
                           external(3, a, 50000), external(4, b, 30000)},
                          {DueTradeLeg{77, true, c, a, A(60000)}});

    const auto orders = events_of<PaymentOrder>(out.events);
    ASSERT_EQ(orders.size(), 1u);
    EXPECT_EQ(orders[0].bank, bank("bank-cn"));
    EXPECT_EQ(orders[0].currency, cny);
    EXPECT_EQ(orders[0].total, A(80000));
    ASSERT_EQ(orders[0].lines.size(), 2u);
    EXPECT_EQ(orders[0].lines[0].payout_id, 3u);
    EXPECT_EQ(orders[0].lines[0].beneficiary.account, "ACC3");
    EXPECT_EQ(orders[0].lines[1].payout_id, 4u);

    std::map<PspIndex, SettlementObligation> ob;
    for (const auto& o : events_of<SettlementObligation>(out.events))
        ob[o.psp] = o;
    ASSERT_EQ(ob.size(), 3u);
    EXPECT_EQ(ob[a].gross_out, A(150000));
    EXPECT_EQ(ob[a].gross_in, A(60000));
    EXPECT_EQ(ob[a].net, A(-90000));
    EXPECT_EQ(ob[a].direction, ObligationDirection::kPayIn);
    EXPECT_EQ(ob[a].amount, A(90000));
    EXPECT_EQ(ob[a].lines, 3u);
    EXPECT_EQ(ob[b].net, A(-10000));
    EXPECT_EQ(ob[c].net, A(20000));
    EXPECT_EQ(ob[c].direction, ObligationDirection::kPayOut);
    EXPECT_EQ(ob[c].value_date, day(1));

    const auto reports = events_of<CycleReport>(out.events);
    ASSERT_EQ(reports.size(), 1u);
    ASSERT_EQ(reports[0].currencies.size(), 1u);
    const auto& f = reports[0].currencies[0];
    EXPECT_EQ(f.gross, A(320000));
    EXPECT_EQ(f.net, A(100000));  // pay-ins 900 + 100 = pay-out 200 + order 800
    EXPECT_EQ(f.payments_before, 5u);
    EXPECT_EQ(f.payments_after, 4u);             // 2 pay-ins, 1 pay-out, 1 order
    EXPECT_EQ(f.liquidity_saving_ppm, 687500u);  // 1 - 1000/3200
    EXPECT_TRUE(f.fx_volume.is_zero());
    EXPECT_EQ(events_of<PayoutSettled>(out.events).size(), 2u);  // the internal ones

    // Held is spent, internal receipts are available, the bank's share is in transit.
    for (PspIndex p : {a, b, c})
        EXPECT_TRUE(held(p, cny).is_zero());
    EXPECT_EQ(available(a, cny), A(60000));
    EXPECT_EQ(available(b, cny), A(100000));
    EXPECT_EQ(available(c, cny), A(80000));
    EXPECT_EQ(bal(chart_->settlement(bank("bank-cn"), cny)), A(-80000));
    EXPECT_EQ(settlement_->open_payment_lines(), 2u);

    // Confirmation settles the nostro.
    const Amount nostro_before = bal(chart_->nostro(bank("bank-cn"), cny));
    SettlementOutput conf;
    ASSERT_TRUE(
        settlement_
            ->on_bank_confirmation(BankConfirmation{bank("bank-cn"), orders[0].order_id, "REF1"},
                                   at_s(11'000), conf)
            .is_ok());
    commit_out(conf);
    EXPECT_EQ(events_of<PayoutSettled>(conf.events).size(), 2u);
    EXPECT_TRUE(bal(chart_->settlement(bank("bank-cn"), cny)).is_zero());
    EXPECT_EQ(bal(chart_->nostro(bank("bank-cn"), cny)), nostro_before - A(80000));
    EXPECT_EQ(settlement_->open_payment_lines(), 0u);
}

// ---- conversions ----------------------------------------------------------------------

TEST_F(SettlementTest, UnlockedCrossCurrencyPayoutConvertsAtMidLessSpread) {
    const PspIndex a = psp("alpha");
    const CurrencyIndex cny = ccy("CNY"), usd = ccy("USD");
    // alpha (25 bps) sells USD: 7.1 x (1 - 0.0025) = 7.08225. 7100.00 CNY costs the
    // smallest X with round(X x 7.08225) >= 7100.00: 1002.51 USD, which converts to
    // 7100.03 CNY (0.03 CNY beyond the payout goes back to available).
    auto p = external(1, a, 710000);
    funded(p, cny, usd, A(103000));  // estimate + buffer
    auto out = run(
        input({currency_cutoff("CNY", {p})}, {mid("USD/CNY", "7.1")},
              {quote("venue-a", "USD/CNY", "7.0990", "7.1010", 100'000'000'00, 100'000'000'00)}));
    const auto conv = events_of<ConversionExecuted>(out.events);
    ASSERT_EQ(conv.size(), 1u);
    EXPECT_EQ(conv[0].from, (Money{A(100251), ccy_of("USD")}));
    EXPECT_EQ(conv[0].to, (Money{A(710003), ccy_of("CNY")}));
    EXPECT_EQ(conv[0].rate.to_string(), "7.08225");
    EXPECT_FALSE(conv[0].locked);
    EXPECT_EQ(available(a, usd), A(103000 - 100251));
    EXPECT_EQ(available(a, cny), A(3));
    EXPECT_TRUE(held(a, usd).is_zero());
    EXPECT_TRUE(held(a, cny).is_zero());
    EXPECT_EQ(bal(chart_->fx_position(usd)), A(-100251));  // the engine holds the USD
    EXPECT_EQ(bal(chart_->fx_position(cny)), A(710003));   // and owes the CNY

    // The residual: the engine sells the 1002.51 USD at the venue's bid.
    const auto hedges = events_of<HedgeOrder>(out.events);
    ASSERT_EQ(hedges.size(), 1u);
    EXPECT_FALSE(hedges[0].buy_base);
    EXPECT_EQ(hedges[0].base_amount, A(100251));
    EXPECT_EQ(hedges[0].limit.to_string(), "7.099");
    EXPECT_EQ(settlement_->next_deadline(), at_s(10'000) + std::chrono::seconds(30));

    SettlementOutput fill;
    ASSERT_TRUE(settlement_
                    ->on_hedge_fill(HedgeFill{venue("venue-a"), hedges[0].hedge_id, "E1", A(100251),
                                              rate("USD/CNY", "7.0990"), true},
                                    at_s(10'001), fill)
                    .is_ok());
    commit_out(fill);
    const auto filled = events_of<HedgeFilled>(fill.events);
    ASSERT_EQ(filled.size(), 1u);
    EXPECT_TRUE(filled[0].complete);
    EXPECT_EQ(filled[0].quote_amount, A(711682));   // 1002.51 x 7.099 = 7116.8184...
    EXPECT_EQ(filled[0].cost_against_mid, A(100));  // 1002.51 x 0.001 = 1.00251 -> 1.00
    EXPECT_TRUE(bal(chart_->fx_position(usd)).is_zero());
    EXPECT_EQ(bal(chart_->fx_position(cny)), A(710003 - 711682));  // the spread earned
    EXPECT_EQ(settlement_->hedges_in_flight(), 0u);
    EXPECT_FALSE(settlement_->next_deadline().has_value());
    const auto f = events_of<CycleReport>(out.events)[0].currencies[0];
    EXPECT_EQ(f.fx_volume, A(710003));
    EXPECT_TRUE(f.fx_crossed.is_zero());
}

TEST_F(SettlementTest, LockedPayoutConvertsAtItsQuoteRate) {
    const PspIndex b = psp("borealis");
    const CurrencyIndex cny = ccy("CNY"), eur = ccy("EUR");
    auto p = external(1, b, 770000);  // 7700.00 CNY at a locked 7.7 EUR/CNY: 1000.00 EUR
    p.locked_rate = rate("EUR/CNY", "7.7");
    funded(p, cny, eur, A(100000));
    auto out = run(input({currency_cutoff("CNY", {p})}, {}, {}));
    const auto conv = events_of<ConversionExecuted>(out.events);
    ASSERT_EQ(conv.size(), 1u);
    EXPECT_TRUE(conv[0].locked);
    EXPECT_EQ(conv[0].from.amount, A(100000));
    EXPECT_EQ(conv[0].to.amount, A(770000));
    EXPECT_TRUE(held(b, eur).is_zero());
    EXPECT_TRUE(available(b, eur).is_zero());
    EXPECT_TRUE(available(b, cny).is_zero());
    // No quotes: the whole residual stays open and is reported.
    const auto exposure = events_of<ExposureReported>(out.events);
    ASSERT_EQ(exposure.size(), 1u);
    EXPECT_EQ(exposure[0].reason, ExposureReason::kNoVenueSize);
    EXPECT_EQ(exposure[0].base_amount, A(-100000));
    ASSERT_EQ(settlement_->open_exposure().size(), 1u);
    EXPECT_EQ(settlement_->open_exposure()[0].open_base, A(-100000));
    EXPECT_EQ(bal(chart_->fx_position(eur)), A(-100000));
}

TEST_F(SettlementTest, PayoutWhoseRateMovedBeyondTheBufferFailsAndIsRefunded) {
    const PspIndex a = psp("alpha");
    const CurrencyIndex cny = ccy("CNY"), usd = ccy("USD");
    auto p = external(1, a, 710000);
    funded(p, cny, usd, A(100000));  // 1000.00 USD no longer buys 7100 CNY at 7.08225
    auto out = run(input({currency_cutoff("CNY", {p})}, {mid("USD/CNY", "7.1")}));
    const auto failed = events_of<PayoutFailed>(out.events);
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_EQ(failed[0].reason, static_cast<std::uint16_t>(SettlementCode::kFxBufferExceeded));
    EXPECT_EQ(failed[0].refunded, (Money{A(100000), ccy_of("USD")}));
    EXPECT_EQ(failed[0].client_id, "po-1");
    EXPECT_EQ(available(a, usd), A(100000));
    EXPECT_TRUE(events_of<PaymentOrder>(out.events).empty());
    EXPECT_EQ(events_of<CycleReport>(out.events)[0].currencies[0].failed, 1u);
}

TEST_F(SettlementTest, OppositeConversionsCrossInternallyAndOnlyTheResidualIsHedged) {
    const PspIndex a = psp("alpha"), b = psp("borealis");
    const CurrencyIndex cny = ccy("CNY"), usd = ccy("USD");
    // alpha pays 7100.00 CNY from USD (sells 1002.51 USD); borealis pays 1000.00 USD from
    // CNY (buys 1000.00 USD at 7.1 x 1.002 = 7.1142, i.e. 1/7.1142 rounded down: 7114.17
    // CNY). Crossed 1000.00 USD; the engine sells the 2.51 USD left.
    auto pa = external(1, a, 710000);
    funded(pa, cny, usd, A(103000));
    auto pb = external(2, b, 100000, "bank-intl");
    funded(pb, usd, cny, A(720000));
    CurrencyCutoff c1 = currency_cutoff("CNY", {pa});
    CurrencyCutoff c2 = currency_cutoff("USD", {pb});
    auto out =
        run(input({c1, c2}, {mid("USD/CNY", "7.1")},
                  {quote("venue-a", "USD/CNY", "7.0990", "7.1010", 100'000'00, 100'000'00)}));
    const auto conv = events_of<ConversionExecuted>(out.events);
    ASSERT_EQ(conv.size(), 2u);
    EXPECT_EQ(conv[1].from.amount, A(711417));
    EXPECT_EQ(conv[1].to.amount, A(100000));
    const auto report = events_of<CycleReport>(out.events)[0];
    ASSERT_EQ(report.pairs.size(), 1u);
    EXPECT_EQ(report.pairs[0].sold_base, A(100251));
    EXPECT_EQ(report.pairs[0].bought_base, A(100000));
    EXPECT_EQ(report.pairs[0].crossed_base, A(100000));
    EXPECT_EQ(report.pairs[0].residual_base, A(-251));
    EXPECT_EQ(report.pairs[0].internal_cross_ppm, 998746u);  // 2 x 1000 / 2002.51
    EXPECT_EQ(report.pairs[0].hedged_base, A(251));
    ASSERT_EQ(report.currencies.size(), 2u);
    EXPECT_EQ(report.currencies[0].fx_volume, A(710003));
    EXPECT_EQ(report.currencies[0].fx_crossed, A(708225));  // 7100.03 x 1000/1002.51
    EXPECT_EQ(report.currencies[0].internal_cross_ppm, 997495u);
    EXPECT_EQ(report.currencies[1].fx_crossed, A(100000));
    EXPECT_EQ(report.currencies[1].internal_cross_ppm, 1'000'000u);
    const auto hedges = events_of<HedgeOrder>(out.events);
    ASSERT_EQ(hedges.size(), 1u);
    EXPECT_EQ(hedges[0].base_amount, A(251));
    EXPECT_FALSE(hedges[0].buy_base);
    // Two payment orders: CNY at bank-cn, USD at bank-intl.
    EXPECT_EQ(events_of<PaymentOrder>(out.events).size(), 2u);
    EXPECT_EQ(available(b, cny), A(720000 - 711417));
    EXPECT_EQ(bal(chart_->fx_position(usd)), A(-251));
}

// ---- hedging --------------------------------------------------------------------------

TEST_F(SettlementTest, HedgeSplitsAcrossTwoVenuesAndFillsPostBothCurrencies) {
    const PspIndex a = psp("alpha");
    const CurrencyIndex cny = ccy("CNY"), usd = ccy("USD");
    // 10,623,375.00 CNY at 7.08225 costs exactly 1,500,000.00 USD.
    auto p = external(1, a, 10'623'375'00);
    funded(p, cny, usd, A(1'500'000'00));
    auto out =
        run(input({currency_cutoff("CNY", {p})}, {mid("USD/CNY", "7.1")},
                  {quote("venue-a", "USD/CNY", "7.0990", "7.1010", 1'000'000'00, 1'000'000'00),
                   quote("venue-b", "USD/CNY", "7.0985", "7.1015", 2'000'000'00, 2'000'000'00)}));
    const auto hedges = events_of<HedgeOrder>(out.events);
    ASSERT_EQ(hedges.size(), 2u);
    EXPECT_EQ(hedges[0].venue, venue("venue-a"));
    EXPECT_EQ(hedges[0].base_amount, A(1'000'000'00));
    EXPECT_EQ(hedges[1].venue, venue("venue-b"));
    EXPECT_EQ(hedges[1].base_amount, A(500'000'00));
    EXPECT_NE(hedges[0].hedge_id, hedges[1].hedge_id);
    // 1M x 0.001 + 0.5M x 0.0015 = 1750.00 CNY.
    EXPECT_EQ(events_of<CycleReport>(out.events)[0].pairs[0].hedge_cost_against_mid, A(1750'00));

    SettlementOutput fills;
    ASSERT_TRUE(settlement_
                    ->on_hedge_fill(HedgeFill{venue("venue-b"), hedges[1].hedge_id, "B1",
                                              A(200'000'00), rate("USD/CNY", "7.0985"), false},
                                    at_s(10'001), fills)
                    .is_ok());
    ASSERT_TRUE(settlement_
                    ->on_hedge_fill(HedgeFill{venue("venue-a"), hedges[0].hedge_id, "A1",
                                              A(1'000'000'00), rate("USD/CNY", "7.0990"), true},
                                    at_s(10'002), fills)
                    .is_ok());
    ASSERT_TRUE(settlement_
                    ->on_hedge_fill(HedgeFill{venue("venue-b"), hedges[1].hedge_id, "B2",
                                              A(300'000'00), rate("USD/CNY", "7.0985"), true},
                                    at_s(10'003), fills)
                    .is_ok());
    // A repeated ExecID changes nothing.
    ASSERT_TRUE(settlement_
                    ->on_hedge_fill(HedgeFill{venue("venue-b"), hedges[1].hedge_id, "B2",
                                              A(300'000'00), rate("USD/CNY", "7.0985"), true},
                                    at_s(10'004), fills)
                    .is_ok());
    commit_out(fills);
    const auto filled = events_of<HedgeFilled>(fills.events);
    ASSERT_EQ(filled.size(), 3u);
    Amount cost;
    for (const auto& f : filled)
        cost += f.cost_against_mid;
    EXPECT_EQ(cost, A(1750'00));
    EXPECT_TRUE(filled[2].complete);
    EXPECT_TRUE(events_of<ExposureReported>(fills.events).empty());
    EXPECT_TRUE(bal(chart_->fx_position(usd)).is_zero());
    // 26,625.00 CNY of spread less 1,750.00 of hedge cost.
    EXPECT_EQ(bal(chart_->fx_position(cny)), A(-24'875'00));
    EXPECT_EQ(bal(chart_->venue(venue("venue-a"), usd)), A(-1'000'000'00));
    EXPECT_EQ(bal(chart_->venue(venue("venue-a"), cny)), A(7'099'000'00));
    EXPECT_EQ(bal(chart_->venue(venue("venue-b"), cny)), A(3'549'250'00));
    EXPECT_EQ(settlement_->hedges_in_flight(), 0u);

    // A fill beyond the order, and a fill of an unknown order, are refused.
    SettlementOutput bad;
    ASSERT_TRUE(settlement_
                    ->on_hedge_fill(HedgeFill{venue("venue-a"), hedges[0].hedge_id, "A2", A(1),
                                              rate("USD/CNY", "7.0990"), true},
                                    at_s(10'005), bad)
                    .is_ok());
    ASSERT_TRUE(settlement_
                    ->on_hedge_fill(HedgeFill{venue("venue-a"), 999, "X", A(1),
                                              rate("USD/CNY", "7.0990"), true},
                                    at_s(10'005), bad)
                    .is_ok());
    const auto rejected = events_of<SettlementReplyRejected>(bad.events);
    ASSERT_EQ(rejected.size(), 2u);
    EXPECT_EQ(rejected[0].code, SettlementCode::kFillExceedsHedge);
    EXPECT_EQ(rejected[1].code, SettlementCode::kUnknownHedge);
    EXPECT_TRUE(bad.operations.empty());
}

TEST_F(SettlementTest, HedgeRejectAndTimeoutLeaveTheExposureReported) {
    const PspIndex a = psp("alpha");
    const CurrencyIndex cny = ccy("CNY"), usd = ccy("USD");
    auto p = external(1, a, 10'623'375'00);
    funded(p, cny, usd, A(1'500'000'00));
    auto out =
        run(input({currency_cutoff("CNY", {p})}, {mid("USD/CNY", "7.1")},
                  {quote("venue-a", "USD/CNY", "7.0990", "7.1010", 1'000'000'00, 1'000'000'00),
                   quote("venue-b", "USD/CNY", "7.0985", "7.1015", 2'000'000'00, 2'000'000'00)}));
    const auto hedges = events_of<HedgeOrder>(out.events);
    ASSERT_EQ(hedges.size(), 2u);
    SettlementOutput r;
    ASSERT_TRUE(
        settlement_
            ->on_hedge_reject(HedgeReject{venue("venue-a"), hedges[0].hedge_id, "no credit"},
                              at_s(10'001), r)
            .is_ok());
    auto exposure = events_of<ExposureReported>(r.events);
    ASSERT_EQ(exposure.size(), 1u);
    EXPECT_EQ(exposure[0].reason, ExposureReason::kHedgeRejected);
    EXPECT_EQ(exposure[0].base_amount, A(-1'000'000'00));
    EXPECT_EQ(exposure[0].open_base, A(-1'000'000'00));
    EXPECT_NE(exposure[0].detail.find("no credit"), std::string::npos);
    // A repeated reject changes nothing.
    SettlementOutput r2;
    ASSERT_TRUE(
        settlement_
            ->on_hedge_reject(HedgeReject{venue("venue-a"), hedges[0].hedge_id, "no credit"},
                              at_s(10'002), r2)
            .is_ok());
    EXPECT_TRUE(r2.events.empty());

    // The other hedge times out half filled.
    SettlementOutput f;
    ASSERT_TRUE(settlement_
                    ->on_hedge_fill(HedgeFill{venue("venue-b"), hedges[1].hedge_id, "B1",
                                              A(200'000'00), rate("USD/CNY", "7.0985"), false},
                                    at_s(10'003), f)
                    .is_ok());
    commit_out(f);
    EXPECT_EQ(settlement_->next_deadline(), hedges[1].deadline);
    SettlementOutput early;
    ASSERT_TRUE(settlement_->on_tick(hedges[1].deadline - std::chrono::seconds(1), early).is_ok());
    EXPECT_TRUE(early.events.empty());
    SettlementOutput t;
    ASSERT_TRUE(settlement_->on_tick(hedges[1].deadline, t).is_ok());
    exposure = events_of<ExposureReported>(t.events);
    ASSERT_EQ(exposure.size(), 1u);
    EXPECT_EQ(exposure[0].reason, ExposureReason::kHedgeTimedOut);
    EXPECT_EQ(exposure[0].base_amount, A(-300'000'00));
    EXPECT_EQ(exposure[0].open_base, A(-1'300'000'00));
    EXPECT_FALSE(settlement_->next_deadline().has_value());
    // The open USD stays in fx_position: 1.5M taken in, 0.2M sold.
    EXPECT_EQ(bal(chart_->fx_position(usd)), A(-1'300'000'00));

    // A late fill still posts and reduces the exposure.
    SettlementOutput late;
    ASSERT_TRUE(settlement_
                    ->on_hedge_fill(HedgeFill{venue("venue-b"), hedges[1].hedge_id, "B2",
                                              A(300'000'00), rate("USD/CNY", "7.0985"), true},
                                    at_s(10'100), late)
                    .is_ok());
    commit_out(late);
    EXPECT_TRUE(events_of<HedgeFilled>(late.events)[0].late);
    exposure = events_of<ExposureReported>(late.events);
    ASSERT_EQ(exposure.size(), 1u);
    EXPECT_EQ(exposure[0].reason, ExposureReason::kLateFill);
    EXPECT_EQ(exposure[0].open_base, A(-1'000'000'00));
    ASSERT_EQ(settlement_->open_exposure().size(), 1u);
    EXPECT_EQ(settlement_->open_exposure()[0].open_base, A(-1'000'000'00));
    EXPECT_EQ(bal(chart_->fx_position(usd)), A(-1'000'000'00));
}

// ---- bank replies ---------------------------------------------------------------------

TEST_F(SettlementTest, LineRejectionReturnsFundsAndConfirmationsAreIdempotent) {
    const PspIndex a = psp("alpha"), b = psp("borealis");
    const CurrencyIndex cny = ccy("CNY");
    auto out =
        run_simple("CNY", {external(1, a, 1000), external(2, b, 2000), external(3, a, 3000)});
    const auto orders = events_of<PaymentOrder>(out.events);
    ASSERT_EQ(orders.size(), 1u);
    const auto id = orders[0].order_id;
    const BankIndex bk = bank("bank-cn");

    SettlementOutput r;
    ASSERT_TRUE(settlement_
                    ->on_bank_line_rejection(BankLineRejection{bk, id, 1, "account closed"},
                                             at_s(11'000), r)
                    .is_ok());
    commit_out(r);
    const auto failed = events_of<PayoutFailed>(r.events);
    ASSERT_EQ(failed.size(), 1u);
    EXPECT_EQ(failed[0].payout_id, 2u);
    EXPECT_EQ(failed[0].psp, b);
    EXPECT_EQ(failed[0].text, "account closed");
    EXPECT_EQ(failed[0].reason, static_cast<std::uint16_t>(SettlementCode::kBankRejected));
    EXPECT_EQ(available(b, cny), A(2000));

    SettlementOutput again;  // repeats change nothing
    ASSERT_TRUE(settlement_
                    ->on_bank_line_rejection(BankLineRejection{bk, id, 1, "account closed"},
                                             at_s(11'001), again)
                    .is_ok());
    EXPECT_TRUE(again.events.empty());
    EXPECT_TRUE(again.operations.empty());

    SettlementOutput lc;  // confirming the rejected line is refused
    ASSERT_TRUE(
        settlement_
            ->on_bank_line_confirmation(BankLineConfirmation{bk, id, 1, "X"}, at_s(11'002), lc)
            .is_ok());
    ASSERT_EQ(events_of<SettlementReplyRejected>(lc.events).size(), 1u);
    EXPECT_EQ(events_of<SettlementReplyRejected>(lc.events)[0].code,
              SettlementCode::kLineAlreadyRejected);

    SettlementOutput c1;  // line 0 alone, then the whole order (line 2 only is left)
    ASSERT_TRUE(
        settlement_
            ->on_bank_line_confirmation(BankLineConfirmation{bk, id, 0, "R0"}, at_s(11'003), c1)
            .is_ok());
    ASSERT_TRUE(
        settlement_->on_bank_confirmation(BankConfirmation{bk, id, "R"}, at_s(11'004), c1).is_ok());
    commit_out(c1);
    const auto settled = events_of<PayoutSettled>(c1.events);
    ASSERT_EQ(settled.size(), 2u);
    EXPECT_EQ(settled[0].payout_id, 1u);
    EXPECT_EQ(settled[1].payout_id, 3u);
    EXPECT_TRUE(bal(chart_->settlement(bk, cny)).is_zero());

    SettlementOutput c2;
    ASSERT_TRUE(
        settlement_->on_bank_confirmation(BankConfirmation{bk, id, "R"}, at_s(11'005), c2).is_ok());
    ASSERT_TRUE(
        settlement_
            ->on_bank_line_confirmation(BankLineConfirmation{bk, id, 0, "R0"}, at_s(11'006), c2)
            .is_ok());
    EXPECT_TRUE(c2.events.empty());
    EXPECT_TRUE(c2.operations.empty());

    SettlementOutput bad;
    ASSERT_TRUE(settlement_->on_bank_confirmation(BankConfirmation{bk, 999, "R"}, at_s(11'007), bad)
                    .is_ok());
    ASSERT_TRUE(
        settlement_->on_bank_line_rejection(BankLineRejection{bk, id, 7, "?"}, at_s(11'008), bad)
            .is_ok());
    ASSERT_TRUE(
        settlement_
            ->on_bank_confirmation(BankConfirmation{bank("bank-intl"), id, "R"}, at_s(11'009), bad)
            .is_ok());
    ASSERT_TRUE(
        settlement_->on_bank_line_rejection(BankLineRejection{bk, id, 0, "late"}, at_s(11'010), bad)
            .is_ok());
    const auto rej = events_of<SettlementReplyRejected>(bad.events);
    ASSERT_EQ(rej.size(), 4u);
    EXPECT_EQ(rej[0].code, SettlementCode::kUnknownPaymentOrder);
    EXPECT_EQ(rej[1].code, SettlementCode::kUnknownLine);
    EXPECT_EQ(rej[2].code, SettlementCode::kBankMismatch);
    EXPECT_EQ(rej[3].code, SettlementCode::kLineAlreadyConfirmed);
    EXPECT_TRUE(bad.operations.empty());
}

// ---- pruning --------------------------------------------------------------------------

// Forty days of cut-offs, each with a payment order of three lines and a hedge, every
// reply answered: what the state keeps stays bounded by kFinishedDaysKept, and replies
// to finished orders and closed hedges behave as before while kept, and are refused
// with the "no longer kept" codes (changing nothing) once dropped.
TEST_F(SettlementTest, FinishedOrdersAndHedgesArePrunedAndRepeatsStillBehave) {
    const PspIndex a = psp("alpha"), b = psp("borealis");
    const CurrencyIndex cny = ccy("CNY"), usd = ccy("USD");
    const BankIndex bk = bank("bank-cn");
    const VenueIndex va = venue("venue-a");
    constexpr int kDays = 40;
    std::vector<PaymentOrderId> order_of_day;
    std::vector<HedgeId> hedge_of_day;
    std::size_t most_lines = 0, most_hedges = 0, most_finished = 0;
    for (int d = 0; d < kDays; ++d) {
        const std::int64_t t0 = 86'400LL * (d + 1) + 10'000;
        const PayoutId id0 = static_cast<PayoutId>(10 * d + 1);
        auto p1 = external(id0, a, 1000);
        auto p2 = external(id0 + 1, b, 2000);
        auto p3 = external(id0 + 2, a, 10'623'375'00);
        funded(p1, cny, cny);
        funded(p2, cny, cny);
        funded(p3, cny, usd, A(1'500'000'00));
        auto out = run(input({currency_cutoff("CNY", {p1, p2, p3})}, {mid("USD/CNY", "7.1")},
                             {quote("venue-a", "USD/CNY", "7.0990", "7.1010", 1'000'000'000'00,
                                    1'000'000'000'00)}),
                       at_s(t0));
        const auto orders = events_of<PaymentOrder>(out.events);
        const auto hedges = events_of<HedgeOrder>(out.events);
        ASSERT_EQ(orders.size(), 1u) << "day " << d;
        ASSERT_EQ(orders[0].lines.size(), 3u);
        ASSERT_EQ(hedges.size(), 1u) << "day " << d;
        order_of_day.push_back(orders[0].order_id);
        hedge_of_day.push_back(hedges[0].hedge_id);

        SettlementOutput r;
        if (d % 2 == 1) {
            ASSERT_TRUE(
                settlement_
                    ->on_bank_line_rejection(BankLineRejection{bk, orders[0].order_id, 0, "closed"},
                                             at_s(t0 + 1), r)
                    .is_ok());
        }
        ASSERT_TRUE(settlement_
                        ->on_bank_confirmation(BankConfirmation{bk, orders[0].order_id, "R"},
                                               at_s(t0 + 2), r)
                        .is_ok());
        if (d % 3 == 0) {
            ASSERT_TRUE(settlement_
                            ->on_hedge_fill(
                                HedgeFill{va, hedges[0].hedge_id, "F" + std::to_string(d),
                                          hedges[0].base_amount, rate("USD/CNY", "7.1010"), true},
                                at_s(t0 + 3), r)
                            .is_ok());
        } else if (d % 3 == 1) {
            ASSERT_TRUE(
                settlement_
                    ->on_hedge_reject(HedgeReject{va, hedges[0].hedge_id, "no"}, at_s(t0 + 3), r)
                    .is_ok());
        }
        ASSERT_TRUE(settlement_->on_tick(at_s(t0 + 3'600), r).is_ok());  // times out the rest
        commit_out(r);
        EXPECT_EQ(settlement_->payment_orders_open(), 0u);
        EXPECT_EQ(settlement_->hedges_in_flight(), 0u);
        most_lines = std::max(most_lines, settlement_->payment_lines_kept());
        most_hedges = std::max(most_hedges, settlement_->hedges_kept());
        most_finished = std::max(most_finished, settlement_->payment_orders_finished_kept());

        // Within the window a repeat is answered as before.
        SettlementOutput again;
        ASSERT_TRUE(settlement_
                        ->on_bank_confirmation(BankConfirmation{bk, orders[0].order_id, "R"},
                                               at_s(t0 + 3'601), again)
                        .is_ok());
        ASSERT_TRUE(
            settlement_
                ->on_bank_line_confirmation(BankLineConfirmation{bk, orders[0].order_id, 2, "R2"},
                                            at_s(t0 + 3'601), again)
                .is_ok());
        EXPECT_TRUE(again.events.empty()) << "day " << d;
        EXPECT_TRUE(again.operations.empty());
    }
    // Kept: the finished work of the last kFinishedDaysKept + 1 days at most.
    const std::size_t window = kFinishedDaysKept + 1;
    EXPECT_LE(most_finished, window);
    EXPECT_LE(most_lines, 3 * window);
    EXPECT_LE(most_hedges, window);
    EXPECT_EQ(settlement_->payment_orders_finished_kept(), window);

    const std::int64_t later = 86'400LL * (kDays + 1) + 20'000;
    // A recent finished order: repeats are repeats, conflicts are refused as before.
    const PaymentOrderId recent = order_of_day[kDays - 1];  // odd day: line 0 rejected
    ASSERT_EQ((kDays - 1) % 2, 1);
    SettlementOutput r;
    ASSERT_TRUE(
        settlement_
            ->on_bank_line_rejection(BankLineRejection{bk, recent, 0, "closed"}, at_s(later), r)
            .is_ok());
    ASSERT_TRUE(settlement_->on_bank_confirmation(BankConfirmation{bk, recent, "R"}, at_s(later), r)
                    .is_ok());
    EXPECT_TRUE(r.events.empty());
    ASSERT_TRUE(
        settlement_
            ->on_bank_line_confirmation(BankLineConfirmation{bk, recent, 0, "X"}, at_s(later), r)
            .is_ok());
    ASSERT_TRUE(
        settlement_
            ->on_bank_line_rejection(BankLineRejection{bk, recent, 1, "late"}, at_s(later), r)
            .is_ok());
    ASSERT_TRUE(
        settlement_
            ->on_bank_line_confirmation(BankLineConfirmation{bk, recent, 3, "X"}, at_s(later), r)
            .is_ok());
    ASSERT_TRUE(
        settlement_
            ->on_bank_confirmation(BankConfirmation{bank("bank-intl"), recent, "R"}, at_s(later), r)
            .is_ok());
    auto rej = events_of<SettlementReplyRejected>(r.events);
    ASSERT_EQ(rej.size(), 4u);
    EXPECT_EQ(rej[0].code, SettlementCode::kLineAlreadyRejected);
    EXPECT_EQ(rej[0].text, "payout " + std::to_string(10 * (kDays - 1) + 1) +
                               " was rejected before; its funds are returned");
    EXPECT_EQ(rej[1].code, SettlementCode::kLineAlreadyConfirmed);
    EXPECT_EQ(rej[2].code, SettlementCode::kUnknownLine);
    EXPECT_EQ(rej[3].code, SettlementCode::kBankMismatch);
    EXPECT_TRUE(r.operations.empty());

    // A closed hedge still kept takes a late fill (the venue did fill it).
    const HedgeId timed_out = hedge_of_day[kDays - 1];       // day 39: 39 % 3 == 0 was filled
    const HedgeId rejected_hedge = hedge_of_day[kDays - 2];  // 38 % 3 == 2: timed out
    (void)timed_out;
    SettlementOutput late;
    ASSERT_TRUE(settlement_
                    ->on_hedge_fill(HedgeFill{va, rejected_hedge, "LATE", A(1),
                                              rate("USD/CNY", "7.1010"), false},
                                    at_s(later), late)
                    .is_ok());
    const auto late_fills = events_of<HedgeFilled>(late.events);
    ASSERT_EQ(late_fills.size(), 1u);
    EXPECT_TRUE(late_fills[0].late);
    commit_out(late);

    // Dropped ones: refused as no longer kept, nothing changes.
    const auto digest = settlement_->state_digest();
    SettlementOutput old;
    ASSERT_TRUE(
        settlement_
            ->on_bank_confirmation(BankConfirmation{bk, order_of_day[0], "R"}, at_s(later), old)
            .is_ok());
    ASSERT_TRUE(settlement_
                    ->on_bank_line_rejection(BankLineRejection{bk, order_of_day[1], 0, "closed"},
                                             at_s(later), old)
                    .is_ok());
    ASSERT_TRUE(settlement_
                    ->on_hedge_fill(
                        HedgeFill{va, hedge_of_day[0], "F0", A(1), rate("USD/CNY", "7.1010"), true},
                        at_s(later), old)
                    .is_ok());
    ASSERT_TRUE(
        settlement_->on_hedge_reject(HedgeReject{va, hedge_of_day[1], "no"}, at_s(later), old)
            .is_ok());
    ASSERT_TRUE(
        settlement_->on_bank_confirmation(BankConfirmation{bk, 100'000, "R"}, at_s(later), old)
            .is_ok());
    rej = events_of<SettlementReplyRejected>(old.events);
    ASSERT_EQ(rej.size(), 5u);
    EXPECT_EQ(rej[0].code, SettlementCode::kPaymentOrderNoLongerKept);
    EXPECT_EQ(rej[1].code, SettlementCode::kPaymentOrderNoLongerKept);
    EXPECT_EQ(rej[2].code, SettlementCode::kHedgeNoLongerKept);
    EXPECT_EQ(rej[3].code, SettlementCode::kHedgeNoLongerKept);
    EXPECT_EQ(rej[4].code, SettlementCode::kUnknownPaymentOrder);
    EXPECT_TRUE(old.operations.empty());
    EXPECT_EQ(settlement_->state_digest(), digest);
}

// ---- hold-back ------------------------------------------------------------------------

TEST_F(SettlementTest, NetDebitCapBreachHoldsBackEverythingOfThatPspUntilTheNextCycle) {
    const PspIndex a = psp("alpha"), b = psp("borealis");
    const CurrencyIndex cny = ccy("CNY");
    terms_[a].net_debit_caps[ccy_of("CNY")] = A(1000'00);
    auto out =
        run_simple("CNY", {external(1, a, 900'00), external(2, a, 600'00), external(3, b, 200'00)});
    const auto hb = events_of<HoldBack>(out.events);
    ASSERT_EQ(hb.size(), 1u);
    EXPECT_EQ(hb[0].psp, a);
    EXPECT_EQ(hb[0].reason, HoldBackReason::kNetDebitCap);
    EXPECT_EQ(hb[0].cap, (Money{A(1000'00), ccy_of("CNY")}));
    EXPECT_EQ(hb[0].net_debit, (Money{A(1500'00), ccy_of("CNY")}));
    EXPECT_EQ(hb[0].payouts, (std::vector<PayoutId>{1, 2}));
    EXPECT_NE(hb[0].detail.find("net_debit_caps.CNY"), std::string::npos);
    const auto orders = events_of<PaymentOrder>(out.events);
    ASSERT_EQ(orders.size(), 1u);
    ASSERT_EQ(orders[0].lines.size(), 1u);
    EXPECT_EQ(orders[0].lines[0].payout_id, 3u);
    for (const auto& o : events_of<SettlementObligation>(out.events))
        EXPECT_NE(o.psp, a);
    EXPECT_EQ(held(a, cny), A(1500'00));  // nothing of alpha settled
    EXPECT_EQ(settlement_->held_back_items(cny), 2u);
    EXPECT_EQ(events_of<CycleReport>(out.events)[0].currencies[0].held_back, 2u);

    // Next cycle with a higher cap: the carried payouts settle, before the new one.
    terms_[a].net_debit_caps[ccy_of("CNY")] = A(5000'00);
    auto next = run_simple("CNY", {external(4, a, 100'00)});
    EXPECT_TRUE(events_of<HoldBack>(next.events).empty());
    const auto orders2 = events_of<PaymentOrder>(next.events);
    ASSERT_EQ(orders2.size(), 1u);
    ASSERT_EQ(orders2[0].lines.size(), 3u);
    EXPECT_EQ(orders2[0].lines[0].payout_id, 1u);
    EXPECT_EQ(orders2[0].lines[2].payout_id, 4u);
    EXPECT_TRUE(held(a, cny).is_zero());
    EXPECT_EQ(settlement_->held_back_items(cny), 0u);
}

TEST_F(SettlementTest, HoldBackCascadesToAPspThatReliedOnTheHeldBackReceipts) {
    const PspIndex a = psp("alpha"), b = psp("borealis");
    const CurrencyIndex cny = ccy("CNY");
    terms_[a].net_debit_caps[ccy_of("CNY")] = A(500'00);
    terms_[b].net_debit_caps[ccy_of("CNY")] = A(500'00);
    // alpha pays borealis 1000 (alpha breaches); without it borealis's 1200 payout is a
    // net debit of 1200, past its cap too.
    auto out = run_simple("CNY", {internal(1, a, b, 1000'00), external(2, b, 1200'00)});
    const auto hb = events_of<HoldBack>(out.events);
    ASSERT_EQ(hb.size(), 2u);
    EXPECT_TRUE(events_of<PaymentOrder>(out.events).empty());
    EXPECT_TRUE(events_of<SettlementObligation>(out.events).empty());
    EXPECT_TRUE(out.operations.empty());
    EXPECT_EQ(held(a, cny), A(1000'00));
    EXPECT_EQ(held(b, cny), A(1200'00));
}

TEST_F(SettlementTest, AggregateCapBreachNamesTheCap) {
    const PspIndex a = psp("alpha");
    terms_[a].aggregate_cap = Money{A(100'00), ccy_of("USD")};
    // 1000 CNY at USD/CNY 7.1 is 140.85 USD, past 100.00 USD.
    auto p = external(1, a, 1000'00);
    const CurrencyIndex cny = ccy("CNY");
    funded(p, cny, cny);
    auto out = run(input({currency_cutoff("CNY", {p})}, {mid("USD/CNY", "7.1")}));
    const auto hb = events_of<HoldBack>(out.events);
    ASSERT_EQ(hb.size(), 1u);
    EXPECT_EQ(hb[0].reason, HoldBackReason::kAggregateCap);
    EXPECT_EQ(hb[0].cap, (Money{A(100'00), ccy_of("USD")}));
    EXPECT_EQ(hb[0].net_debit, (Money{A(140'85), ccy_of("USD")}));
    EXPECT_NE(hb[0].detail.find("aggregate_cap"), std::string::npos);
    // Without a mid the debit cannot be valued: held back too, and said so.
    auto out2 = run(input({currency_cutoff("CNY", {})}));
    const auto hb2 = events_of<HoldBack>(out2.events);
    ASSERT_EQ(hb2.size(), 1u);
    EXPECT_EQ(hb2[0].reason, HoldBackReason::kNoAggregateRate);
}

TEST_F(SettlementTest, AggregateCapSumsTheCutoffsOfOneValueDate) {
    const PspIndex a = psp("alpha");
    const CurrencyIndex cny = ccy("CNY");
    terms_[a].aggregate_cap = Money{A(200'00), ccy_of("USD")};
    // 1000 CNY at 7.1 is 140.85 USD: within 200.00, settles.
    auto p1 = external(1, a, 1000'00);
    funded(p1, cny, cny);
    auto out = run(input({currency_cutoff("CNY", {p1})}, {mid("USD/CNY", "7.1")}));
    EXPECT_TRUE(events_of<HoldBack>(out.events).empty());
    ASSERT_EQ(events_of<PaymentOrder>(out.events).size(), 1u);
    // A second cut-off of the same value date: 500 CNY (70.43 USD) alone fits the cap, but
    // with the first cut-off's 140.85 it does not.
    auto p2 = external(2, a, 500'00);
    funded(p2, cny, cny);
    out = run(input({currency_cutoff("CNY", {p2})}, {mid("USD/CNY", "7.1")}), at_s(20'000));
    auto hb = events_of<HoldBack>(out.events);
    ASSERT_EQ(hb.size(), 1u) << "the second cut-off of the value date was not held back";
    EXPECT_EQ(hb[0].reason, HoldBackReason::kAggregateCap);
    EXPECT_EQ(hb[0].net_debit, (Money{A(211'28), ccy_of("USD")}));
    EXPECT_NE(hb[0].detail.find("settled by earlier cut-offs of value date"), std::string::npos)
        << hb[0].detail;
    EXPECT_TRUE(events_of<PaymentOrder>(out.events).empty());
    EXPECT_EQ(held(a, cny), A(500'00));
    // The next value date starts afresh: the carried payout settles.
    CurrencyCutoff next = currency_cutoff("CNY", {});
    next.value_date = day(2);
    out = run(input({next}, {mid("USD/CNY", "7.1")}), at_s(30'000));
    EXPECT_TRUE(events_of<HoldBack>(out.events).empty());
    ASSERT_EQ(events_of<PaymentOrder>(out.events).size(), 1u);
    EXPECT_EQ(held(a, cny), A(0));
}

// A trade: alpha buys 100.00 USD from borealis for 710.00 CNY. Its base leg (borealis pays
// USD) and its quote leg (alpha pays CNY).
TEST_F(SettlementTest, HoldingBackOneLegOfATradeHoldsBackItsOtherLegInTheSameCutoff) {
    const PspIndex a = psp("alpha"), b = psp("borealis");
    const CurrencyIndex usd = ccy("USD"), cny = ccy("CNY");
    terms_[b].net_debit_caps[ccy_of("USD")] = A(50'00);  // borealis cannot pay 100 USD
    const DueTradeLeg base{77, true, b, a, A(100'00)};
    const DueTradeLeg quote{77, false, a, b, A(710'00)};
    fund_held(b, usd, base.amount);
    fund_held(a, cny, quote.amount);
    auto out = run(input({currency_cutoff("USD", {}, {base}), currency_cutoff("CNY", {}, {quote})},
                         {mid("USD/CNY", "7.1")}));
    const auto hb = events_of<HoldBack>(out.events);
    ASSERT_EQ(hb.size(), 2u) << "both legs must be held back";
    EXPECT_EQ(hb[0].psp, b);
    EXPECT_EQ(hb[0].reason, HoldBackReason::kNetDebitCap);
    EXPECT_EQ(hb[1].psp, a);
    EXPECT_EQ(hb[1].currency, cny);
    EXPECT_EQ(hb[1].reason, HoldBackReason::kOtherLegHeldBack);
    EXPECT_EQ(hb[1].trade_ids, (std::vector<std::uint64_t>{77}));
    EXPECT_TRUE(out.operations.empty()) << "half of the trade was posted";
    EXPECT_EQ(held(b, usd), A(100'00));
    EXPECT_EQ(held(a, cny), A(710'00));
    EXPECT_EQ(available(b, cny), A(0));
}

TEST_F(SettlementTest, AHeldBackLegHoldsBackItsOtherLegAtALaterCutoffAndASettledOneNever) {
    const PspIndex a = psp("alpha"), b = psp("borealis");
    const CurrencyIndex usd = ccy("USD"), cny = ccy("CNY");
    terms_[b].net_debit_caps[ccy_of("USD")] = A(50'00);
    const DueTradeLeg base{77, true, b, a, A(100'00)};
    const DueTradeLeg quote{77, false, a, b, A(710'00)};
    fund_held(b, usd, base.amount);
    fund_held(a, cny, quote.amount);
    // USD cuts off first: the base leg breaches borealis's cap and is carried.
    auto out = run(input({currency_cutoff("USD", {}, {base})}, {mid("USD/CNY", "7.1")}));
    ASSERT_EQ(events_of<HoldBack>(out.events).size(), 1u);
    // The CNY cut-off of the same day: the quote leg waits with it.
    out = run(input({currency_cutoff("CNY", {}, {quote})}, {mid("USD/CNY", "7.1")}), at_s(11'000));
    auto hb = events_of<HoldBack>(out.events);
    ASSERT_EQ(hb.size(), 1u) << "the quote leg settled without its base leg";
    EXPECT_EQ(hb[0].reason, HoldBackReason::kOtherLegHeldBack);
    EXPECT_TRUE(out.operations.empty());
    EXPECT_EQ(held(a, cny), A(710'00));
    // Next USD cut-off with room: the base leg settles ...
    terms_[b].net_debit_caps[ccy_of("USD")] = A(1000'00);
    CurrencyCutoff usd2 = currency_cutoff("USD", {});
    usd2.value_date = day(2);
    out = run(input({usd2}, {mid("USD/CNY", "7.1")}), at_s(20'000));
    EXPECT_TRUE(events_of<HoldBack>(out.events).empty());
    EXPECT_EQ(available(a, usd), A(100'00));
    // ... so the quote leg must settle at the next CNY cut-off even though alpha's CNY cap
    // is now too small for it: a trade never stays half settled.
    terms_[a].net_debit_caps[ccy_of("CNY")] = A(1'00);
    CurrencyCutoff cny2 = currency_cutoff("CNY", {});
    cny2.value_date = day(2);
    out = run(input({cny2}, {mid("USD/CNY", "7.1")}), at_s(21'000));
    EXPECT_TRUE(events_of<HoldBack>(out.events).empty())
        << "the second leg of a half-settled trade was held back";
    EXPECT_EQ(held(a, cny), A(0));
    EXPECT_EQ(available(b, cny), A(710'00));
    EXPECT_EQ(settlement_->held_back_items(cny), 0u);
    EXPECT_EQ(settlement_->held_back_items(usd), 0u);
}

TEST_F(SettlementTest, BadInputFailsAndChangesNothing) {
    const PspIndex a = psp("alpha");
    auto p = external(1, a, 1000);
    p.funding_currency = ccy("CNY");
    SettlementOutput out;
    auto in = input({currency_cutoff("CNY", {p, p})});  // the same id twice
    const std::string before = [&] {
        std::string s;
        settlement_->append_state(s);
        return s;
    }();
    EXPECT_EQ(settlement_->cutoff(std::move(in), at_s(1), out).code(),
              StatusCode::kInvalidArgument);
    EXPECT_TRUE(out.events.empty());
    EXPECT_TRUE(out.operations.empty());
    std::string after;
    settlement_->append_state(after);
    EXPECT_EQ(before, after);
}

// ---- determinism ----------------------------------------------------------------------

TEST_F(SettlementTest, SameInputsGiveTheSameOutputsAndStateDigest) {
    const PspIndex a = psp("alpha"), b = psp("borealis");
    const CurrencyIndex cny = ccy("CNY"), usd = ccy("USD");
    auto pa = external(1, a, 710000);
    pa.funding_currency = usd;
    pa.held = A(103000);
    auto pb = internal(2, b, a, 5000);
    pb.funding_currency = cny;
    auto make = [&] {
        return input({currency_cutoff("CNY", {pa, pb})}, {mid("USD/CNY", "7.1")},
                     {quote("venue-a", "USD/CNY", "7.0990", "7.1010", 50000, 50000)});
    };
    Settlement s1(*chart_, pairs_);
    Settlement s2(*chart_, pairs_);
    SettlementOutput o1, o2;
    ASSERT_TRUE(s1.cutoff(make(), at_s(5), o1).is_ok());
    ASSERT_TRUE(s2.cutoff(make(), at_s(5), o2).is_ok());
    EXPECT_EQ(o1.events, o2.events);
    ASSERT_EQ(o1.operations.size(), o2.operations.size());
    for (std::size_t i = 0; i < o1.operations.size(); ++i) {
        const auto* e1 = std::get_if<ledger::EntryRequest>(&o1.operations[i].op);
        const auto* e2 = std::get_if<ledger::EntryRequest>(&o2.operations[i].op);
        ASSERT_EQ(e1 == nullptr, e2 == nullptr);
        if (e1 != nullptr) {
            EXPECT_EQ(*e1, *e2);
        }
    }
    EXPECT_EQ(s1.state_digest(), s2.state_digest());
    SettlementOutput t1, t2;
    ASSERT_TRUE(s1.on_tick(at_s(100), t1).is_ok());
    EXPECT_NE(s1.state_digest(), s2.state_digest());
    ASSERT_TRUE(s2.on_tick(at_s(100), t2).is_ok());
    EXPECT_EQ(s1.state_digest(), s2.state_digest());
    EXPECT_EQ(t1.events, t2.events);
}

TEST_F(SettlementTest, FundingAmountIsTheSmallestThatCoversThePayout) {
    std::mt19937_64 rng(7);
    struct Case {
        const char* pair;
        const char* rate;
        const char* payout;  // the payout's currency: the pair's quote or its base
    };
    // Rates far below and above one minor unit per minor unit, both directions.
    const Case cases[] = {{"KRW/CNY", "0.0052", "CNY"},   {"KRW/CNY", "0.0052", "KRW"},
                          {"JPY/CNY", "0.048123", "CNY"}, {"JPY/CNY", "0.048123", "JPY"},
                          {"USD/CNY", "7.1234", "CNY"},   {"USD/CNY", "7.1234", "USD"}};
    for (const auto& c : cases) {
        const Rate r = rate(c.pair, c.rate);
        const money::Currency payout = ccy_of(c.payout);
        const money::Currency funding = r.pair().base == payout ? r.pair().quote : r.pair().base;
        // The rate the ledger converts at: the given one, or its inverse rounded down.
        const Rate conv = r.pair().base == funding ? r : *r.inverted(money::RoundingMode::kDown);
        // Every rounding mode, small and large targets: the 128-bit path and, for the
        // largest, the general one must both give the smallest covering amount.
        for (const auto mode : {money::RoundingMode::kHalfEven, money::RoundingMode::kHalfUp,
                                money::RoundingMode::kUp, money::RoundingMode::kDown,
                                money::RoundingMode::kTowardZero}) {
            for (int i = 0; i < 300; ++i) {
                const std::int64_t top = i % 3 == 0   ? 1'000'000
                                         : i % 3 == 1 ? 1'000'000'000'000'000
                                                      : std::int64_t{1} << 62;
                Amount target = A(std::uniform_int_distribution<std::int64_t>(1, top)(rng));
                if (i % 50 == 49)  // beyond 64 bits: the general path
                    target = *Amount::from_int(target.minor() << 40);
                auto x = Settlement::funding_amount(Money{target, payout}, funding, r, mode);
                ASSERT_TRUE(x.has_value()) << x.error().to_string();
                auto got = money::convert(Money{*x, funding}, conv, mode);
                ASSERT_TRUE(got.has_value());
                EXPECT_GE(got->converted.amount, target)
                    << c.pair << " " << target.to_string() << " mode "
                    << money::rounding_mode_name(mode);
                if (*x > A(1)) {
                    auto less = money::convert(Money{*x - A(1), funding}, conv, mode);
                    ASSERT_TRUE(less.has_value());
                    EXPECT_LT(less->converted.amount, target)
                        << c.pair << " " << target.to_string() << " mode "
                        << money::rounding_mode_name(mode);
                }
            }
        }
    }
    EXPECT_FALSE(Settlement::funding_amount(Money{A(100), ccy_of("CNY")}, ccy_of("EUR"),
                                            rate("USD/CNY", "7.1"))
                     .has_value());
}

// A large cycle: 100,000 payouts (a fifth funded in USD) become a handful of aggregated
// entries, well inside one ledger batch. Prints the time (never asserts it).
TEST_F(SettlementTest, LargeCyclePostsAggregatedEntriesAndSplitsTheBankOrderIntoFixSizedOrders) {
    const CurrencyIndex cny = ccy("CNY"), usd = ccy("USD");
    const std::vector<PspIndex> psps = {psp("alpha"), psp("borealis"), psp("coral"), psp("delta"),
                                        psp("ember")};
    std::vector<DuePayout> payouts;
    std::map<std::pair<PspIndex, CurrencyIndex>, Amount> holds;
    for (PayoutId id = 1; id <= 100'000; ++id) {
        const PspIndex payer = psps[id % psps.size()];
        DuePayout p = external(id, payer, 100 + static_cast<std::int64_t>(id % 997) * 100);
        if (id % 5 == 0) {
            p.funding_currency = usd;
            auto cost = Settlement::funding_amount(Money{p.amount, ccy_of("CNY")}, ccy_of("USD"),
                                                   rate("USD/CNY", "7.0"));
            ASSERT_TRUE(cost.has_value());
            p.held = *cost;
        }
        holds[{payer, p.funding_currency}] += p.held;
        payouts.push_back(std::move(p));
    }
    for (const auto& [key, a] : holds)
        fund_held(key.first, key.second, a);
    const auto start = std::chrono::steady_clock::now();
    SettlementOutput out;
    ASSERT_TRUE(
        settlement_
            ->cutoff(input({currency_cutoff("CNY", std::move(payouts))}, {mid("USD/CNY", "7.1")},
                           {quote("venue-a", "USD/CNY", "7.0990", "7.1010", 1'000'000'000'00,
                                  1'000'000'000'00)}),
                     at_s(10'000), out)
            .is_ok());
    const auto elapsed = std::chrono::steady_clock::now() - start;
    std::printf("  100,000 payouts: cut-off in %lld ms, %zu operations, %zu events\n",
                static_cast<long long>(
                    std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count()),
                out.operations.size(), out.events.size());
    // One entry per payment order (100 of them) and a few per PSP and currency.
    EXPECT_LE(out.operations.size(), 150u);
    commit_out(out);
    for (PspIndex p : psps) {
        EXPECT_TRUE(held(p, cny).is_zero());
        EXPECT_TRUE(held(p, usd).is_zero());
    }
    // The bank's 100,000 lines go out as 100 payment orders of kPaymentOrderLinesMax lines,
    // in payout order, each with its own total, so each fits one FIX message.
    const auto orders = events_of<PaymentOrder>(out.events);
    ASSERT_EQ(orders.size(), 100'000u / kPaymentOrderLinesMax);
    PayoutId expected_id = 1;
    for (const auto& o : orders) {
        ASSERT_EQ(o.lines.size(), kPaymentOrderLinesMax) << "payment order " << o.order_id;
        Amount sum;
        for (const auto& l : o.lines) {
            EXPECT_EQ(l.payout_id, expected_id) << "payment order " << o.order_id;
            ++expected_id;
            sum += l.amount;
        }
        EXPECT_EQ(sum, o.total) << "payment order " << o.order_id << " total";
    }
}

// ---- property ---------------------------------------------------------------------------

using HeldKey = std::pair<PspIndex, CurrencyIndex>;
// Items still carried, with what each holds: payout id / trade id -> (payer, held
// currency), held amount.
using CarriedItems = std::map<std::uint64_t, std::pair<HeldKey, Amount>>;

// The random run's own state: the generator, the model of what is carried, the payment
// lines awaiting a bank reply, and what the run exercised.
struct PropertyRun {
    std::mt19937_64 rng{20'261'123};
    std::vector<PspIndex> psps;
    CurrencyIndex cny = 0;
    CurrencyIndex usd = 0;
    CurrencyIndex eur = 0;
    PayoutId next_id = 1;
    std::uint64_t next_trade = 1;
    std::map<CurrencyIndex, CarriedItems> carried_payouts;  // by cycle currency
    std::map<CurrencyIndex, CarriedItems> carried_legs;
    std::map<CurrencyIndex, CarriedItems> given_payouts;  // this cycle: carried + new
    std::map<CurrencyIndex, CarriedItems> given_legs;
    std::vector<std::tuple<BankIndex, std::uint64_t, std::uint32_t>> open_lines;
    std::map<std::string, int> seen;
    // This cycle's market.
    bool with_mids = true;
    std::string usd_mid;

    std::int64_t uniform(std::int64_t lo, std::int64_t hi) {
        return std::uniform_int_distribution<std::int64_t>(lo, hi)(rng);
    }
    PspIndex any_psp() { return psps[static_cast<std::size_t>(uniform(0, 4))]; }
    PspIndex next_psp(PspIndex p) const { return psps[(p + 1) % psps.size()]; }
};

class SettlementPropertyTest : public SettlementTest {
  protected:
    // A payout of `amount` in `c`, funded in `funding`: locked, or held at an estimate at
    // a rate well against the PSP (CNY per USD 7.0 / per EUR 7.5 when paying CNY; 7.3 CNY
    // per USD when paying USD), so that the buffer holds, except for a few payouts held
    // at half the cost, which fail.
    DuePayout random_payout(PropertyRun& run, PspIndex payer, CurrencyIndex c, std::int64_t amount,
                            CurrencyIndex funding) {
        DuePayout p =
            run.uniform(0, 3) == 0
                ? internal(run.next_id, payer, run.next_psp(payer), amount)
                : external(run.next_id, payer, amount, c == run.cny ? "bank-cn" : "bank-intl");
        ++run.next_id;
        p.funding_currency = funding;
        if (funding == c)
            return p;
        const Rate r = funding == run.usd   ? rate("USD/CNY", "7.0")
                       : funding == run.eur ? rate("EUR/CNY", "7.5")
                                            : rate("USD/CNY", "7.3");
        auto cost = Settlement::funding_amount(Money{p.amount, chart_->currency(c)},
                                               chart_->currency(funding), r);
        EXPECT_TRUE(cost.has_value());
        if (run.uniform(0, 2) == 0) {
            p.locked_rate = r;
            p.held = *cost;
        } else if (run.uniform(0, 15) == 0) {
            p.held = A(std::max<std::int64_t>(1, static_cast<std::int64_t>(cost->minor() / 2)));
        } else {
            p.held = *cost + A(100);
        }
        return p;
    }

    // Up to 30 items in `c` (payouts funded in `c`, in another currency, internal
    // payouts, trade legs), their holds funded in the ledger.
    CurrencyCutoff random_currency(PropertyRun& run, CurrencyIndex c) {
        std::vector<DuePayout> payouts;
        std::vector<DueTradeLeg> legs;
        const int n = static_cast<int>(run.uniform(0, 30));
        for (int i = 0; i < n; ++i) {
            const PspIndex payer = run.any_psp();
            const std::int64_t amount =
                (c == run.cny ? run.uniform(1, 2000) : run.uniform(1, 300)) * 100 +
                run.uniform(0, 99);
            if (run.uniform(0, 5) == 0) {
                PspIndex payee = run.any_psp();
                if (payee == payer)
                    payee = run.next_psp(payer);
                const DueTradeLeg leg{run.next_trade++, c == run.usd, payer, payee, A(amount)};
                fund_held(payer, c, leg.amount);
                run.given_legs[c][leg.trade_id] = {{payer, c}, leg.amount};
                legs.push_back(leg);
                continue;
            }
            const std::int64_t k = run.uniform(0, 2);
            const CurrencyIndex funding = k == 0         ? c
                                          : c == run.usd ? run.cny
                                          : k == 1       ? run.usd
                                                         : run.eur;
            DuePayout p = random_payout(run, payer, c, amount, funding);
            fund_held(p.payer, p.funding_currency, p.held);
            run.given_payouts[c][p.id] = {{p.payer, p.funding_currency}, p.held};
            payouts.push_back(std::move(p));
        }
        return currency_cutoff(c == run.cny ? "CNY" : "USD", std::move(payouts), std::move(legs));
    }

    // Caps: payouts are up to 2,000 CNY (or 300 USD), about six per PSP and currency, so
    // caps from 0 to 40,000 CNY and 0 to 6,000 USD, and aggregate caps from 100 to
    // 6,000 USD, breach now and then.
    void random_caps(PropertyRun& run) {
        for (PspIndex p : run.psps) {
            terms_[p].net_debit_caps[ccy_of("CNY")] = A(run.uniform(0, 40) * 1000'00);
            terms_[p].net_debit_caps[ccy_of("USD")] = A(run.uniform(0, 60) * 100'00);
            terms_[p].aggregate_cap = Money{A(run.uniform(1, 60) * 100'00), ccy_of("USD")};
        }
    }

    void count(PropertyRun& run, const SettlementOutput& out) {
        run.seen["conversion"] +=
            static_cast<int>(events_of<ConversionExecuted>(out.events).size());
        run.seen["hedge"] += static_cast<int>(events_of<HedgeOrder>(out.events).size());
        run.seen["fx_failed"] += static_cast<int>(events_of<PayoutFailed>(out.events).size());
        for (const auto& report : events_of<CycleReport>(out.events)) {
            for (const auto& pf : report.pairs)
                run.seen["crossed"] += pf.crossed_base.is_positive() ? 1 : 0;
        }
        for (const auto& hb : events_of<HoldBack>(out.events))
            ++run.seen[std::string(hold_back_reason_name(hb.reason))];
        for (const auto& op : out.operations) {
            const auto* e = std::get_if<ledger::EntryRequest>(&op.op);
            if (e != nullptr && e->reference.find("rounding of the payouts") != std::string::npos)
                ++run.seen["pooling_top_up"];
        }
    }

    // What the cycle held back becomes the model's carried items; returns the (PSP,
    // currency) pairs held back for a cap.
    std::set<HeldKey> carry(PropertyRun& run, const SettlementOutput& out,
                            const std::vector<CurrencyIndex>& in_call) {
        std::set<HeldKey> held_back;
        for (CurrencyIndex c : in_call) {
            run.carried_payouts[c].clear();
            run.carried_legs[c].clear();
        }
        for (const auto& hb : events_of<HoldBack>(out.events)) {
            if (hb.reason != HoldBackReason::kNoRate)
                held_back.insert({hb.psp, hb.currency});
            for (PayoutId id : hb.payouts)
                run.carried_payouts[hb.currency][id] = run.given_payouts[hb.currency].at(id);
            for (std::uint64_t id : hb.trade_ids)
                run.carried_legs[hb.currency][id] = run.given_legs[hb.currency].at(id);
        }
        return held_back;
    }

    // No settled net debit past a cap, none in aggregate; a held-back PSP pays nothing.
    void check_caps(PropertyRun& run, const SettlementOutput& out,
                    const std::set<HeldKey>& held_back, int cycle) {
        std::map<PspIndex, Amount> aggregate;  // settled net debits valued in USD
        for (const auto& o : events_of<SettlementObligation>(out.events)) {
            EXPECT_FALSE(held_back.count({o.psp, o.currency}) && o.gross_out.is_positive())
                << "cycle " << cycle << ": held-back PSP " << o.psp << " paid something";
            if (o.direction != ObligationDirection::kPayIn)
                continue;
            ++run.seen["pay_in"];
            const money::Currency cur = chart_->currency(o.currency);
            EXPECT_LE(o.amount, terms_[o.psp].net_debit_caps.at(cur))
                << "cycle " << cycle << ": PSP " << o.psp << " past its cap in " << cur.to_string();
            aggregate[o.psp] += value_in_usd(run, Money{o.amount, cur});
        }
        for (const auto& [p, total] : aggregate) {
            EXPECT_LE(total, terms_[p].aggregate_cap.amount)
                << "cycle " << cycle << ": PSP " << p << " past its aggregate cap";
        }
        for (const auto& po : events_of<PaymentOrder>(out.events)) {
            for (std::uint32_t i = 0; i < po.lines.size(); ++i) {
                EXPECT_FALSE(held_back.count({po.lines[i].payer, po.currency}));
                run.open_lines.emplace_back(po.bank, po.order_id, i);
            }
        }
    }

    // A debit valued in USD at the cycle's mid, rounded up (as Settlement values it).
    Amount value_in_usd(const PropertyRun& run, const Money& m) {
        if (m.currency == ccy_of("USD"))
            return m.amount;
        EXPECT_TRUE(run.with_mids) << "a CNY net debit settled without a rate to value it";
        if (!run.with_mids)
            return m.amount;
        auto inv = rate("USD/CNY", run.usd_mid).inverted(money::RoundingMode::kUp);
        EXPECT_TRUE(inv.has_value());
        auto v = money::convert(m, *inv, money::RoundingMode::kUp);
        EXPECT_TRUE(v.has_value());
        return v->converted.amount;
    }

    // The held accounts hold exactly what the model says is still carried.
    void check_held(const PropertyRun& run, int cycle) {
        std::map<HeldKey, Amount> expect;
        for (const auto* all : {&run.carried_payouts, &run.carried_legs}) {
            for (const auto& [c, items] : *all) {
                for (const auto& [id, v] : items)
                    expect[v.first] += v.second;
            }
        }
        for (PspIndex p : run.psps) {
            for (CurrencyIndex c : {run.cny, run.usd, run.eur}) {
                const auto it = expect.find({p, c});
                EXPECT_EQ(held(p, c), it == expect.end() ? Amount{} : it->second)
                    << "cycle " << cycle << " psp " << p << " currency " << c;
            }
        }
    }

    // Confirms (or, one in five, rejects) payment lines until `keep` are left open.
    void bank_replies(PropertyRun& run, std::size_t keep) {
        std::shuffle(run.open_lines.begin(), run.open_lines.end(), run.rng);
        while (run.open_lines.size() > keep) {
            const auto [bk, order, line] = run.open_lines.back();
            run.open_lines.pop_back();
            SettlementOutput reply;
            Status s;
            if (keep > 0 && run.uniform(0, 4) == 0) {
                ++run.seen["line_rejected"];
                s = settlement_->on_bank_line_rejection(BankLineRejection{bk, order, line, "no"},
                                                        at_s(200'000), reply);
            } else {
                s = settlement_->on_bank_line_confirmation(
                    BankLineConfirmation{bk, order, line, "ok"}, at_s(200'000), reply);
            }
            ASSERT_TRUE(s.is_ok()) << s.to_string();
            EXPECT_TRUE(events_of<SettlementReplyRejected>(reply.events).empty());
            commit_out(reply);
        }
    }
};

// Random cycles, committed to the ledger. Each cut-off settles CNY and, every other
// time, USD in the same call (so that CNY payouts funded in USD cross with USD payouts
// funded in CNY); payouts funded in the cycle currency, in USD/EUR/CNY at a locked or the
// cycle rate (some with too small a buffer), internal payouts, trade legs, random caps.
// Checked after every cycle: every operation succeeds; no PSP's settled net debit exceeds
// its cap, nor its net debits over the call its aggregate cap; a held-back PSP settles
// nothing in that currency; the held accounts hold exactly what is still carried. Bank
// replies drain the settlement accounts; the trial balance stays zero (TearDown).
TEST_F(SettlementPropertyTest, RandomCyclesNeverSettleAPspPastItsCapAndConserveMoney) {
    PropertyRun run;
    run.psps = {psp("alpha"), psp("borealis"), psp("coral"), psp("delta"), psp("ember")};
    run.cny = ccy("CNY");
    run.usd = ccy("USD");
    run.eur = ccy("EUR");
    const int cycles = 25 * property_scale();
    for (int cycle = 0; cycle < cycles; ++cycle) {
        run.with_mids = run.uniform(0, 9) != 0;
        run.usd_mid = "7.1" + std::to_string(run.uniform(0, 99));
        const std::string eur_mid = "7.7" + std::to_string(run.uniform(0, 99));
        std::vector<CurrencyIndex> in_call = {run.cny};
        if (run.uniform(0, 1) == 0)
            in_call.push_back(run.usd);
        random_caps(run);
        run.given_payouts = run.carried_payouts;
        run.given_legs = run.carried_legs;
        std::vector<CurrencyCutoff> currencies;
        for (CurrencyIndex c : in_call)
            currencies.push_back(random_currency(run, c));
        std::vector<PairMid> mids;
        if (run.with_mids)
            mids = {mid("USD/CNY", run.usd_mid), mid("EUR/CNY", eur_mid)};
        const std::vector<netting::VenueQuote> quotes = {
            quote("venue-a", "USD/CNY", "7.0", "7.3", 1'000'00, 1'000'00),
            quote("venue-b", "USD/CNY", "6.9", "7.4", 5'000'00, 5'000'00),
            quote("venue-b", "EUR/CNY", "7.6", "7.9", 100'000'00, 100'000'00)};
        const ledger::Timestamp now = at_s(100'000 + cycle * 100);

        SettlementOutput out;
        ASSERT_TRUE(
            settlement_->cutoff(input(std::move(currencies), mids, quotes), now, out).is_ok());
        count(run, out);
        commit_out(out);
        const auto held_back = carry(run, out, in_call);
        check_caps(run, out, held_back, cycle);
        check_held(run, cycle);
        bank_replies(run, 10);
        SettlementOutput tick;
        ASSERT_TRUE(settlement_->on_tick(now + std::chrono::seconds(60), tick).is_ok());
        commit_out(tick);
    }
    bank_replies(run, 0);
    EXPECT_EQ(settlement_->open_payment_lines(), 0u);
    EXPECT_TRUE(bal(chart_->settlement(bank("bank-cn"), run.cny)).is_zero());
    EXPECT_TRUE(bal(chart_->settlement(bank("bank-intl"), run.usd)).is_zero());
    for (const char* what :
         {"conversion", "hedge", "crossed", "fx_failed", "pooling_top_up", "net_debit_cap",
          "aggregate_cap", "no_aggregate_rate", "no_rate", "pay_in", "line_rejected"}) {
        EXPECT_GT(run.seen[what], 0) << "the random cycles never produced " << what;
    }
    for (const auto& [what, n] : run.seen)
        std::printf("  %-20s %d\n", what.c_str(), n);
}

}  // namespace
}  // namespace fxsettle::engine
