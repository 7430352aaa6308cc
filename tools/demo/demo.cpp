// The engine stage of the demo: the day of demo.h through the real engine and sequencer,
// with simulated PSPs (DayDriver), venues and banks (DemoSink).
#include "tools/demo/demo.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <utility>

#include "engine/calendar/calendar.h"
#include "engine/chart/chart.h"
#include "engine/core/engine.h"
#include "engine/money/rate.h"
#include "engine/sequencer/sequencer.h"

namespace fxsettle::demo {

namespace {

using namespace std::chrono_literals;
using engine::BankIndex;
using engine::Command;
using engine::Event;
using engine::PspIndex;
using engine::VenueIndex;
using money::Amount;
using money::Money;
using money::Rate;
using Seq = engine::Sequencer<engine::Engine>;

constexpr auto kWaitMax = std::chrono::seconds(120);
constexpr std::uint32_t kRejectOrderOnePer = 4;  // payment orders with a refused line

// SplitMix64: a portable generator, so a seed gives the same day on every platform (the
// standard distributions are implementation-defined).
class Rng {
  public:
    explicit Rng(std::uint64_t seed) noexcept : state_(seed) {}
    std::uint64_t next() noexcept {
        std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    std::uint64_t between(std::uint64_t lo, std::uint64_t hi) noexcept {
        return lo + next() % (hi - lo + 1);
    }

  private:
    std::uint64_t state_;
};

class ManualClock {
  public:
    ledger::Timestamp now() const {
        return ledger::Timestamp(std::chrono::nanoseconds(ns_.load()));
    }
    void set(ledger::Timestamp t) { ns_.store(t.time_since_epoch().count()); }

  private:
    std::atomic<std::int64_t> ns_{0};
};

// The venues and banks, and the report's event counts. deliver() runs on the sequencer
// thread; the driver waits on it for quotes and barriers.
class DemoSink : public engine::EventSink<Event> {
  public:
    DemoSink(const engine::Chart& chart, std::vector<money::CurrencyPair> pairs, std::uint64_t seed,
             DemoReport& report)
        : chart_(chart), pairs_(std::move(pairs)), rng_(seed ^ 0xba4cull), report_(report) {}

    void deliver(std::span<const engine::Delivery<Event>> deliveries) override {
        std::vector<std::uint64_t> ids;
        std::vector<Command> replies;
        std::lock_guard lock(mu_);
        for (const auto& d : deliveries) {
            ids.push_back(d.outbox_id);
            count(d.event, replies);
        }
        for (Command& reply : replies) {
            if (seq->submit(std::move(reply)) != engine::SubmitResult::kAccepted)
                ++submit_failures;
        }
        if (!seq->acknowledge(ids).is_ok())
            ++submit_failures;
        cv_.notify_all();
    }

    // The quote id of the PSP's QuoteIssued (nullopt when it was rejected).
    std::optional<std::uint64_t> wait_quote(PspIndex psp, const std::string& client_id) {
        std::unique_lock lock(mu_);
        const std::string k = std::to_string(psp) + "/" + client_id;
        cv_.wait_for(lock, kWaitMax, [&] { return quotes_.contains(k); });
        auto it = quotes_.find(k);
        return it == quotes_.end() ? std::nullopt : it->second;
    }
    bool wait_barrier(const std::string& client_id) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, kWaitMax, [&] { return barriers_.contains(client_id); });
    }
    bool wait_cycle(ledger::Timestamp at) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, kWaitMax, [&] { return cycles_at_.contains(at); });
    }

    Seq* seq = nullptr;
    std::atomic<int> submit_failures{0};

  private:
    CurrencyDay& day_of(engine::CurrencyIndex c) {
        auto [it, added] = days_.try_emplace(c);
        if (added)
            it->second.currency = chart_.currency(c);
        return it->second;
    }
    PairDay& pair_day(std::size_t p) {
        auto [it, added] = pair_days_.try_emplace(p);
        if (added)
            it->second.pair = pairs_[p];
        return it->second;
    }
    std::optional<std::size_t> pair_index(const money::CurrencyPair& pair) const {
        for (std::size_t p = 0; p < pairs_.size(); ++p) {
            if (pairs_[p] == pair)
                return p;
        }
        return std::nullopt;
    }

  public:
    // Under mu_ (and after the sequencer stopped): the per-currency and per-pair figures.
    std::vector<CurrencyDay> currency_days() const {
        std::vector<CurrencyDay> out;
        for (const auto& [c, day] : days_) {
            if (!day.gross.is_zero() || !day.fx_volume.is_zero())
                out.push_back(day);
        }
        std::sort(out.begin(), out.end(), [](const CurrencyDay& a, const CurrencyDay& b) {
            return a.currency.to_string() < b.currency.to_string();
        });
        return out;
    }
    std::vector<PairDay> pair_days() const {
        std::vector<PairDay> out;
        for (const auto& [p, day] : pair_days_)
            out.push_back(day);
        return out;
    }

  private:
    void count(const Event& event, std::vector<Command>& replies) {
        DemoReport& r = report_;
        if (std::holds_alternative<engine::DepositCredited>(event)) {
            ++r.deposits.accepted;
        } else if (const auto* e = std::get_if<engine::CommandRejected>(&event)) {
            if (e->request == engine::RequestKind::kDeposit)
                ++r.deposits.rejected;
            else
                ++r.unexpected;
        } else if (std::holds_alternative<engine::OrderAccepted>(event)) {
            ++r.orders.accepted;
        } else if (std::holds_alternative<engine::OrderRejected>(event)) {
            ++r.orders.rejected;
        } else if (const auto* f = std::get_if<engine::OrderFilled>(&event)) {
            if (!f->maker) {
                if (auto p = pair_index(f->pair)) {
                    ++pair_day(*p).trades;
                    pair_day(*p).traded_base += f->quantity;
                }
            }
        } else if (const auto* q = std::get_if<engine::QuoteIssued>(&event)) {
            ++r.quotes.accepted;
            quotes_[std::to_string(q->psp) + "/" + q->client_id] = q->quote_id;
        } else if (const auto* qr = std::get_if<engine::QuoteRejected>(&event)) {
            ++r.quotes.rejected;
            quotes_[std::to_string(qr->psp) + "/" + qr->client_id] = std::nullopt;
        } else if (const auto* pa = std::get_if<engine::PayoutAccepted>(&event)) {
            ++r.payouts.accepted;
            if (pa->rate_locked)
                ++r.locked_payouts;
            else if (pa->rate)
                ++r.unlocked_payouts;
        } else if (std::holds_alternative<engine::PayoutRejected>(event)) {
            ++r.payouts.rejected;
        } else if (const auto* pr = std::get_if<engine::PositionReport>(&event)) {
            barriers_.insert(pr->client_id);
        } else if (std::holds_alternative<engine::ConversionExecuted>(event)) {
            ++r.conversions;
        } else if (const auto* h = std::get_if<engine::HedgeOrder>(&event)) {
            PairDay& pd = pair_day(h->pair);
            ++pd.hedge_orders;
            pd.hedged_base += h->base_amount;
            // Odd hedges fill in two parts, the rest in one, at the venue's quoted price.
            const std::string exec = "EX-" + std::to_string(h->hedge_id);
            if (h->hedge_id % 2 == 1 && h->base_amount.minor() >= 2) {
                const Amount first =
                    Amount::from_minor(static_cast<std::int64_t>(h->base_amount.minor() / 2));
                replies.push_back(
                    engine::HedgeFill{h->venue, h->hedge_id, exec + "-1", first, h->limit, false});
                replies.push_back(engine::HedgeFill{h->venue, h->hedge_id, exec + "-2",
                                                    h->base_amount - first, h->limit, true});
            } else {
                replies.push_back(
                    engine::HedgeFill{h->venue, h->hedge_id, exec, h->base_amount, h->limit, true});
            }
        } else if (const auto* hf = std::get_if<engine::HedgeFilled>(&event)) {
            ++r.hedge_fills;
            PairDay& pd = pair_day(hf->pair);
            pd.filled_base += hf->base_amount;
            pd.hedge_cost += hf->cost_against_mid;
        } else if (std::holds_alternative<engine::ExposureReported>(event)) {
            ++r.exposures;
        } else if (std::holds_alternative<engine::HoldBack>(event)) {
            ++r.hold_backs;
        } else if (std::holds_alternative<engine::SettlementObligation>(event)) {
            ++r.obligations;
        } else if (const auto* o = std::get_if<engine::PaymentOrder>(&event)) {
            ++r.payment_orders;
            r.payment_lines += o->lines.size();
            if (o->lines.size() >= 2 && rng_.between(1, kRejectOrderOnePer) == 1) {
                const auto line = static_cast<std::uint32_t>(rng_.between(0, o->lines.size() - 1));
                replies.push_back(engine::BankLineRejection{o->bank, o->order_id, line,
                                                            "beneficiary account closed"});
                ++r.line_rejections;
            }
            replies.push_back(engine::BankConfirmation{o->bank, o->order_id,
                                                       "BR-" + std::to_string(o->order_id)});
            ++r.bank_confirmations;
        } else if (std::holds_alternative<engine::PayoutSettled>(event)) {
            ++r.payouts_settled;
        } else if (std::holds_alternative<engine::PayoutFailed>(event)) {
            ++r.payouts_failed;
        } else if (std::holds_alternative<engine::SettlementReplyRejected>(event)) {
            ++r.unexpected;
        } else if (const auto* c = std::get_if<engine::CycleReport>(&event)) {
            ++r.cycles;
            cycles_at_.insert(c->at);
            for (const auto& fig : c->currencies) {
                CurrencyDay& d = day_of(fig.currency);
                ++d.cycles;
                d.gross += fig.gross;
                d.net += fig.net;
                d.payments_before += fig.payments_before;
                d.payments_after += fig.payments_after;
                d.fx_volume += fig.fx_volume;
                d.fx_crossed += fig.fx_crossed;
                d.held_back += fig.held_back;
                d.failed += fig.failed;
            }
        }
    }

    const engine::Chart& chart_;
    std::vector<money::CurrencyPair> pairs_;
    Rng rng_;  // the sequencer thread's
    DemoReport& report_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::map<std::string, std::optional<std::uint64_t>> quotes_;
    std::set<std::string> barriers_;
    std::set<ledger::Timestamp> cycles_at_;
    std::map<engine::CurrencyIndex, CurrencyDay> days_;
    std::map<std::size_t, PairDay> pair_days_;
};

// Removes an existing demo ledger at `path`. Returns whether there was one; fails, leaving
// the file alone, when something else is there.
Result<bool> remove_old_demo_ledger(const std::filesystem::path& path) {
    std::error_code ec;
    const auto status = std::filesystem::symlink_status(path, ec);
    if (ec || status.type() == std::filesystem::file_type::not_found)
        return false;
    const std::string refuse = path.string() +
                               " exists and is not a ledger written by fxsettle-demo, so the "
                               "demo leaves it alone; move it away or pass --ledger PATH";
    if (status.type() != std::filesystem::file_type::regular)
        return fail(StatusCode::kFailedPrecondition, refuse + " (it is not a regular file)");
    {
        ledger::OpenOptions open;
        open.path = path;
        open.create_if_missing = false;
        open.read_only = true;
        auto old = ledger::Ledger::open(open);
        if (!old)
            return fail(StatusCode::kFailedPrecondition,
                        refuse + " (" + old.error().message() + ")");
        auto view = (*old)->read();
        if (!view)
            return fail(StatusCode::kFailedPrecondition,
                        refuse + " (" + view.error().message() + ")");
        auto marker = (*view)->aux_get(ledger::AuxTable::kState, kMarkerKey);
        if (!marker || !marker->has_value())
            return fail(StatusCode::kFailedPrecondition, refuse + " (it has no demo marker)");
    }
    std::filesystem::remove(path, ec);
    if (ec) {
        return fail(StatusCode::kIoError,
                    "cannot remove the old demo ledger " + path.string() + ": " + ec.message());
    }
    std::filesystem::remove(path.string() + "-lock", ec);  // LMDB's lock file, if any
    return true;
}

std::string date_text(const std::chrono::year_month_day& ymd) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
    return buf;
}

// The simulated PSPs (and the venues' rate streams): submits the day's commands in a
// seeded order and moves the clock.
class DayDriver {
  public:
    DayDriver(const config::Config& config, const engine::Chart& chart, Seq& seq, DemoSink& sink,
              ManualClock& clock, ledger::Date day, const DemoOptions& options, DemoReport& report)
        : config_(config),
          chart_(chart),
          seq_(seq),
          sink_(sink),
          clock_(clock),
          day_(day),
          options_(options),
          report_(report),
          rng_(options.seed) {}

    Status run() {
        if (Status s = resolve(); !s)
            return s;
        set_clock(at(2h + 30min));
        if (Status s = rates(); !s)
            return s;
        if (Status s = deposits(); !s)
            return s;
        const std::uint32_t first = options_.payouts / 2;
        if (Status s = business(1, 0, first); !s)
            return s;
        if (Status s = cutoff(at(3h)); !s)
            return s;
        set_clock(at(5h + 10min));
        if (Status s = rates(); !s)
            return s;
        if (Status s = business(2, first, options_.payouts); !s)
            return s;
        for (const auto t : {at(8h), at(9h), at(14h), at(19h)}) {
            if (Status s = cutoff(t); !s)
                return s;
        }
        return barrier();
    }

  private:
    ledger::Timestamp at(std::chrono::minutes m) const { return ledger::Timestamp(day_) + m; }
    void set_clock(ledger::Timestamp t) {
        clock_.set(t);
        seq_.wake();
    }
    Money money_of(std::int64_t minor_units, const money::Currency& c) const {
        return Money{Amount::from_minor(minor_units), c};
    }
    // Amount `units` whole units of `c` (minor units scaled by the exponent).
    Money units(std::uint64_t whole, const money::Currency& c) const {
        std::int64_t minor = static_cast<std::int64_t>(whole);
        for (int i = 0; i < static_cast<int>(c.exponent); ++i)
            minor *= 10;
        return Money{Amount::from_minor(minor), c};
    }

    Status resolve() {
        auto psp = [&](std::string_view id, PspIndex& out) -> Status {
            auto i = chart_.psp_index(id);
            if (!i)
                return Status(StatusCode::kFailedPrecondition,
                              "the demo's PSP '" + std::string(id) + "' is not configured");
            out = *i;
            return Status::ok();
        };
        if (Status s = psp("alpha", alpha_); !s)
            return s;
        if (Status s = psp("borealis", borealis_); !s)
            return s;
        if (Status s = psp("coral", coral_); !s)
            return s;
        if (Status s = psp("delta", delta_); !s)
            return s;
        auto bank = [&](std::string_view id, BankIndex& out) -> Status {
            auto i = chart_.bank_index(id);
            if (!i)
                return Status(StatusCode::kFailedPrecondition,
                              "the demo's bank '" + std::string(id) + "' is not configured");
            out = *i;
            return Status::ok();
        };
        if (Status s = bank("bank-cn", bank_cn_); !s)
            return s;
        if (Status s = bank("bank-intl", bank_intl_); !s)
            return s;
        auto venue_a = chart_.venue_index("venue-a");
        auto venue_b = chart_.venue_index("venue-b");
        if (!venue_a || !venue_b)
            return Status(StatusCode::kFailedPrecondition,
                          "the demo's venues 'venue-a' and 'venue-b' are not configured");
        venue_a_ = *venue_a;
        venue_b_ = *venue_b;
        for (std::string_view code : {"USD", "EUR", "CNY", "SGD"}) {
            auto c = config_.currency_table.find(code);
            if (!c || !chart_.currency_index(*c))
                return Status(StatusCode::kFailedPrecondition,
                              "the demo's currency " + std::string(code) + " is not settled");
        }
        usd_ = *config_.currency_table.find("USD");
        eur_ = *config_.currency_table.find("EUR");
        cny_ = *config_.currency_table.find("CNY");
        sgd_ = *config_.currency_table.find("SGD");
        return Status::ok();
    }

    Status submit(Command command) {
        const auto r = seq_.submit_wait(std::move(command), std::chrono::milliseconds(60'000));
        if (r != engine::SubmitResult::kAccepted)
            return Status(StatusCode::kInternal, "the sequencer refused a command: " +
                                                     std::string(engine::submit_result_name(r)) +
                                                     " " + seq_.error().to_string());
        return Status::ok();
    }

    // A position request: once its report is delivered, everything before it was.
    Status barrier() {
        const std::string id = "barrier-" + std::to_string(++barriers_);
        if (Status s = submit(engine::PositionRequest{alpha_, id, std::nullopt}); !s)
            return s;
        if (!sink_.wait_barrier(id))
            return Status(StatusCode::kInternal,
                          "the sequencer delivered nothing for 120 s: " + seq_.error().to_string());
        return Status::ok();
    }

    // Two-way prices from both venues, stamped with the clock.
    Status rates() {
        const ledger::Timestamp t = clock_.now();
        struct Quote {
            std::string_view pair;
            std::string_view bid_a, ask_a, bid_b, ask_b;
        };
        const Quote quotes[] = {
            {"USD/CNY", "7.1000", "7.1010", "7.0998", "7.1012"},
            {"EUR/CNY", "7.7000", "7.7012", "7.6995", "7.7015"},
            {"SGD/CNY", "5.4600", "5.4610", "", ""},
        };
        for (const Quote& q : quotes) {
            const auto slash = q.pair.find('/');
            const money::CurrencyPair pair{*config_.currency_table.find(q.pair.substr(0, slash)),
                                           *config_.currency_table.find(q.pair.substr(slash + 1))};
            const Money size = units(3'000'000, pair.base);
            for (const bool a : {true, false}) {
                if (!a && q.bid_b.empty())
                    continue;
                auto bid = Rate::parse(pair, a ? q.bid_a : q.bid_b);
                auto ask = Rate::parse(pair, a ? q.ask_a : q.ask_b);
                if (!bid || !ask)
                    return Status(StatusCode::kInternal, "a demo rate does not parse");
                if (Status s = submit(engine::VenueRate{a ? venue_a_ : venue_b_, pair, *bid, *ask,
                                                        size.amount, size.amount, t});
                    !s)
                    return s;
            }
        }
        return barrier();
    }

    Status deposit(PspIndex psp, BankIndex bank, std::uint64_t whole, const money::Currency& c) {
        ++report_.deposits.submitted;
        return submit(engine::Deposit{psp, "PAYIN-" + chart_.psp_id(psp) + "-" + c.to_string(),
                                      bank, units(whole, c)});
    }
    Status deposits() {
        const Status all[] = {deposit(alpha_, bank_intl_, 6'000'000, usd_),
                              deposit(alpha_, bank_cn_, 30'000'000, cny_),
                              deposit(borealis_, bank_intl_, 4'000'000, eur_),
                              deposit(borealis_, bank_cn_, 5'000'000, cny_),
                              deposit(coral_, bank_cn_, 20'000'000, cny_),
                              deposit(delta_, bank_intl_, 2'500'000, sgd_)};
        for (const Status& s : all) {
            if (!s)
                return s;
        }
        return barrier();
    }

    engine::PayoutInstruction payout(PspIndex psp, std::uint32_t n, Money amount,
                                     const money::Currency& funding) {
        static constexpr std::string_view kNames[] = {
            "Shenzhen Huaqiang Electronics", "Yiwu Jinyuan Trading",  "Guangzhou Pearl Textiles",
            "Ningbo Harbour Logistics",      "Hangzhou Westlake Tea", "Dongguan Precision Molds"};
        engine::PayoutInstruction p;
        p.psp = psp;
        p.client_id = "PO-" + std::to_string(n);
        const bool cn = amount.currency == cny_;
        p.beneficiary = engine::Beneficiary{
            cn ? "bank-cn" : "bank-intl",
            (cn ? "6222020" : "DE8937040044") + std::to_string(100'000 + rng_.between(0, 899'999)),
            std::string(kNames[rng_.between(0, 5)]), cn ? "CN" : "DE"};
        p.amount = amount;
        p.funding_currency = funding;
        p.value_date = engine::calendar::ValueDateRequest{
            engine::calendar::Tenor::kToday, std::nullopt, engine::calendar::Roll::kNone};
        p.purpose = "marketplace seller payout";
        p.reference = "SETTLE-" + std::to_string(n);
        return p;
    }

    Status one_payout(std::uint32_t n) {
        ++report_.payouts.submitted;
        const std::uint64_t kind = rng_.between(1, 100);
        if (kind <= 30) {  // alpha: CNY funded in USD, a third at a quoted rate
            const Money amount =
                money_of(static_cast<std::int64_t>(rng_.between(50'000, 2'000'000)), cny_);
            auto p = payout(alpha_, n, amount, usd_);
            if (rng_.between(1, 3) == 1) {
                ++report_.quotes.submitted;
                const std::string qid = "RFQ-" + std::to_string(n);
                if (Status s =
                        submit(engine::QuoteRequest{alpha_, qid, usd_, cny_, amount, p.value_date});
                    !s)
                    return s;
                p.quote_id = sink_.wait_quote(alpha_, qid);
            }
            return submit(std::move(p));
        }
        if (kind <= 45) {  // alpha: USD, one in three to borealis' account
            auto p = payout(
                alpha_, n, money_of(static_cast<std::int64_t>(rng_.between(10'000, 300'000)), usd_),
                usd_);
            if (rng_.between(1, 3) == 1) {
                p.payee_psp = borealis_;
                ++internal_;
            }
            return submit(std::move(p));
        }
        if (kind <= 65) {  // borealis: CNY funded in EUR, or EUR
            if (rng_.between(1, 2) == 1)
                return submit(payout(
                    borealis_, n,
                    money_of(static_cast<std::int64_t>(rng_.between(50'000, 2'000'000)), cny_),
                    eur_));
            return submit(payout(
                borealis_, n,
                money_of(static_cast<std::int64_t>(rng_.between(10'000, 300'000)), eur_), eur_));
        }
        if (kind <= 80) {                   // coral: CNY, one in three to alpha's account
            if (rng_.between(1, 100) == 1)  // beyond coral's funds: refused at intake
                return submit(payout(coral_, n, units(90'000'000, cny_), cny_));
            auto p = payout(
                coral_, n,
                money_of(static_cast<std::int64_t>(rng_.between(50'000, 2'000'000)), cny_), cny_);
            if (rng_.between(1, 3) == 1) {
                p.payee_psp = alpha_;
                ++internal_;
            }
            return submit(std::move(p));
        }
        // delta: CNY funded in SGD
        return submit(payout(
            delta_, n, money_of(static_cast<std::int64_t>(rng_.between(50'000, 2'000'000)), cny_),
            sgd_));
    }

    // EUR/CNY between alpha (buys EUR, pays CNY) and borealis (sells EUR): the only pair
    // where the default config lets two PSPs take the opposite short positions.
    Status one_order(std::uint32_t n) {
        ++report_.orders.submitted;
        const bool buy = rng_.between(0, 1) == 0;
        engine::NewOrder o;
        o.psp = buy ? alpha_ : borealis_;
        o.client_id = "ORD-" + std::to_string(n);
        o.pair = money::CurrencyPair{eur_, cny_};
        o.side = buy ? engine::book::Side::kBuy : engine::book::Side::kSell;
        o.type = engine::book::OrderType::kLimit;
        o.tif = rng_.between(1, 3) == 1 ? engine::book::TimeInForce::kIoc
                                        : engine::book::TimeInForce::kGtc;
        const std::int64_t ticks =
            77'000 + static_cast<std::int64_t>(rng_.between(0, 12)) - (buy ? 2 : 0);
        auto price = Rate::parse(o.pair, std::to_string(ticks / 10'000) + "." +
                                             std::to_string(ticks % 10'000 + 10'000).substr(1));
        if (!price)
            return Status(StatusCode::kInternal, "a demo price does not parse");
        o.price = *price;
        o.quantity = Amount::from_minor(static_cast<std::int64_t>(rng_.between(10'000, 200'000)));
        o.value_date = engine::calendar::ValueDateRequest{
            engine::calendar::Tenor::kToday, std::nullopt, engine::calendar::Roll::kNone};
        return submit(std::move(o));
    }

    // Payouts [from, to) and a third as many orders, interleaved.
    Status business(int phase, std::uint32_t from, std::uint32_t to) {
        static_cast<void>(phase);
        for (std::uint32_t n = from; n < to; ++n) {
            if (Status s = one_payout(n); !s)
                return s;
            if (n % 3 == 0) {
                if (Status s = one_order(n); !s)
                    return s;
            }
        }
        return barrier();
    }

    // Fresh rates a second before the cut-off, then the cut-off; waits for its report and
    // for the venues' and banks' answers.
    Status cutoff(ledger::Timestamp t) {
        set_clock(t - 1s);
        if (Status s = rates(); !s)
            return s;
        set_clock(t);
        if (!sink_.wait_cycle(t))
            return Status(StatusCode::kInternal,
                          "no cycle report at a cut-off: " + seq_.error().to_string());
        if (Status s = barrier(); !s)
            return s;
        return barrier();
    }

  public:
    std::uint64_t internal_ = 0;

  private:
    const config::Config& config_;
    const engine::Chart& chart_;
    Seq& seq_;
    DemoSink& sink_;
    ManualClock& clock_;
    ledger::Date day_;
    const DemoOptions& options_;
    DemoReport& report_;
    Rng rng_;
    int barriers_ = 0;
    PspIndex alpha_ = 0, borealis_ = 0, coral_ = 0, delta_ = 0;
    BankIndex bank_cn_ = 0, bank_intl_ = 0;
    VenueIndex venue_a_ = 0, venue_b_ = 0;
    money::Currency usd_, eur_, cny_, sgd_;
};

// The day itself, on an open ledger. Separate from run_demo so that the ledger closes
// before the read-back.
Status run_day(ledger::Ledger& ledger, const config::Config& config, engine::Engine& engine,
               ledger::Date day, const DemoOptions& options, DemoReport& report) {
    // The chart, with the marker that makes the file the demo's own, before the sequencer
    // (which must be the only writer) starts.
    const ledger::AuxWrite marker{
        ledger::AuxTable::kState, std::string(kMarkerKey),
        "fxsettle-demo engine stage, seed " + std::to_string(options.seed)};
    const auto ops = engine.initial_operations();
    auto created = ledger.commit(ops, ledger::Timestamp(day), {&marker, 1});
    if (!created)
        return created.error();
    for (const auto& r : *created) {
        if (!ledger::is_success(r.code))
            return Status(StatusCode::kInternal, "creating the chart of accounts: " + r.detail);
    }
    std::vector<money::CurrencyPair> pairs;
    for (const auto& p : config.pairs)
        pairs.push_back(p.pair);
    ManualClock clock;
    clock.set(ledger::Timestamp(day) + 2h + 30min);
    DemoSink sink(engine.chart(), pairs, options.seed, report);
    auto seq = Seq::create(
        engine, ledger, [&clock] { return clock.now(); }, sink,
        engine::sequencer_options(config.engine));
    if (!seq)
        return seq.error();
    sink.seq = seq->get();
    if (Status s = (*seq)->start(); !s)
        return s;
    DayDriver driver(config, engine.chart(), **seq, sink, clock, day, options, report);
    const Status ran = driver.run();
    const Status stopped = (*seq)->stop();
    if (!ran)
        return ran;
    if (!stopped)
        return Status(stopped.code(), "the sequencer failed: " + stopped.message());
    if (sink.submit_failures.load() != 0)
        return Status(StatusCode::kInternal, "the simulated venues or banks could not reply");
    const auto counters = (*seq)->counters();
    report.commands = counters.commands;
    report.events = counters.events;
    report.commits = counters.commits + 1;  // and the chart's
    report.internal_payouts = driver.internal_;
    report.by_currency = sink.currency_days();
    report.by_pair = sink.pair_days();
    return Status::ok();
}

}  // namespace

bool DemoReport::trial_balance_zero() const {
    return std::all_of(trial_balance.begin(), trial_balance.end(),
                       [](const ledger::TrialBalanceRow& row) {
                           return row.debits_posted == row.credits_posted &&
                                  row.debits_pending == row.credits_pending;
                       });
}

Result<DemoReport> run_demo(const config::Config& config, const DemoOptions& options) {
    using SteadyClock = std::chrono::steady_clock;
    const auto started = SteadyClock::now();
    if (options.payouts == 0 || options.payouts > kPayoutsMax) {
        return fail(StatusCode::kInvalidArgument, "payouts must be 1.." +
                                                      std::to_string(kPayoutsMax) + ", not " +
                                                      std::to_string(options.payouts));
    }
    if (!options.business_date.ok())
        return fail(StatusCode::kInvalidArgument, "the business date is not a valid date");
    if (options.ledger_path.empty())
        return fail(StatusCode::kInvalidArgument, "the ledger path is empty");

    auto engine = engine::Engine::create(config);
    if (!engine)
        return fail(engine.error());
    const engine::Chart& chart = engine->chart();
    const ledger::Date day(options.business_date);
    auto calendars = engine::calendar::CalendarSet::from_config(config);
    if (!calendars)
        return fail(calendars.error());
    for (std::string_view code : {"CNY", "USD", "EUR", "SGD"}) {
        auto c = config.currency_table.find(code);
        if (!c)
            return fail(StatusCode::kFailedPrecondition,
                        "the demo's currency " + std::string(code) + " is not configured");
        auto open = calendars->is_business_day(*c, day);
        if (!open)
            return fail(open.error());
        if (!*open)
            return fail(StatusCode::kFailedPrecondition, date_text(options.business_date) +
                                                             " is not a business day of " +
                                                             std::string(code));
    }

    DemoReport report;
    report.ledger_path = options.ledger_path;
    report.config_source = config.source_name;
    report.business_date = date_text(options.business_date);
    report.seed = options.seed;
    report.psps = chart.psp_count();
    report.currencies = chart.currencies().size();
    report.banks = chart.bank_count();
    report.venues = chart.venue_count();
    report.day_after = date_text(std::chrono::year_month_day(day + std::chrono::days(1)));

    auto replaced = remove_old_demo_ledger(options.ledger_path);
    if (!replaced)
        return fail(replaced.error());
    report.replaced_old_ledger = *replaced;
    if (options.ledger_path.has_parent_path()) {
        std::error_code ec;
        std::filesystem::create_directories(options.ledger_path.parent_path(), ec);
        if (ec) {
            return fail(StatusCode::kIoError, "cannot create " +
                                                  options.ledger_path.parent_path().string() +
                                                  ": " + ec.message());
        }
    }

    ledger::OpenOptions open;
    open.path = options.ledger_path;
    open.create_if_missing = true;
    open.map_size_initial_bytes = config.ledger.map_size_initial_mb << 20;
    open.map_size_max_bytes = config.ledger.map_size_max_mb << 20;
    {
        auto ledger = ledger::Ledger::open(open);
        if (!ledger) {
            return fail(ledger.error().code(), "cannot create the ledger " +
                                                   options.ledger_path.string() + ": " +
                                                   ledger.error().message());
        }
        if (Status s = run_day(**ledger, config, *engine, day, options, report); !s.is_ok())
            return fail(std::move(s));
    }
    const auto ran = SteadyClock::now();
    report.run_elapsed = ran - started;

    // Read everything back from a fresh read-only open, as fxledger would.
    open.create_if_missing = false;
    open.read_only = true;
    auto ledger = ledger::Ledger::open(open);
    if (!ledger)
        return fail(ledger.error().code(), "cannot reopen the ledger: " + ledger.error().message());
    auto view = (*ledger)->read();
    if (!view)
        return fail(view.error());
    auto info = (*view)->info();
    if (!info)
        return fail(info.error());
    report.accounts = info->accounts;
    report.entries = info->last_sequence;
    report.head_hash = info->head_hash;
    auto trial = (*view)->trial_balance();
    if (!trial)
        return fail(trial.error());
    report.trial_balance = std::move(*trial);
    auto verified = (*view)->verify();
    if (!verified)
        return fail(verified.error());
    report.verify = std::move(*verified);

    const auto cn = chart.bank_index("bank-cn");
    const auto alpha = chart.psp_index("alpha");
    if (cn && alpha) {
        report.example_nostro = "bank-cn/nostro/CNY";
        report.example_settlement = "bank-cn/settlement/CNY";
        report.example_psp_held = "alpha/held/CNY";
    }
    report.verify_elapsed = SteadyClock::now() - ran;
    report.total_elapsed = SteadyClock::now() - started;
    return report;
}

}  // namespace fxsettle::demo
