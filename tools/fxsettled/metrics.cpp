#include "tools/fxsettled/metrics.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include <prometheus/collectable.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include "engine/core/engine.h"
#include "engine/money/amount.h"
#include "ledger/ledger.h"
#include "tools/fxsettled/log.h"

namespace fxsettle::daemon {

namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;
using prometheus::Labels;

double seconds_of(ledger::Timestamp t) {
    return std::chrono::duration<double>(t.time_since_epoch()).count();
}

// A finished amount as a gauge value in major units (exact text first, then a double).
double major_units(const money::Amount& amount, const money::Currency& currency) {
    return std::strtod(money::format_amount(amount, currency).c_str(), nullptr);
}

const Histogram::BucketBoundaries kBatchBuckets = {1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
const Histogram::BucketBoundaries kCommitBuckets = {
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};

// The bucket increments of `count` observations of `value` (ObserveMultiple).
std::vector<double> increments(const Histogram::BucketBoundaries& bounds, double value,
                               double count) {
    std::vector<double> inc(bounds.size() + 1, 0.0);
    const auto it = std::lower_bound(bounds.begin(), bounds.end(), value);
    inc[static_cast<std::size_t>(it - bounds.begin())] = count;
    return inc;
}

// Monotonic counters fed from snapshots: adds what grew since the last sample.
class CounterFeed {
  public:
    void feed(Family<Counter>& family, const Labels& labels, std::uint64_t value) {
        auto [it, inserted] = last_.try_emplace({&family, labels}, 0);
        Counter& c = family.Add(labels);
        if (value > it->second) {
            c.Increment(static_cast<double>(value - it->second));
            it->second = value;
        }
        static_cast<void>(inserted);
    }

  private:
    std::map<std::pair<const void*, Labels>, std::uint64_t> last_;  // (family, labels)
};

// What the engine thread copies out of one batch of deliveries (cheap, no formatting).
struct CycleFigures {
    money::Currency currency;
    money::Amount gross, net;
    std::uint64_t payments_before = 0, payments_after = 0;
    std::uint32_t liquidity_saving_ppm = 0;
};
struct Observed {
    ledger::Timestamp at{};                        // the engine clock when the batch was delivered
    std::map<std::string, std::uint64_t> rejects;  // reason name -> count
    struct HedgeOutcome {
        std::uint32_t venue = 0;
        const char* outcome = "";
    };
    std::vector<HedgeOutcome> hedges;
    struct Cycle {
        engine::CycleId id = 0;
        ledger::Timestamp at{};
        std::vector<CycleFigures> currencies;
    };
    std::vector<Cycle> cycles;
    struct Order {  // the open quantity of an order after this event; 0 closes it
        std::uint64_t id = 0;
        std::uint32_t pair = 0;
        bool buy = true;
        bool open = false;
    };
    std::vector<Order> orders;
    struct Payment {  // a payment order's payouts, by cycle and currency
        engine::CycleId cycle = 0;
        money::Currency currency;
        std::vector<std::uint64_t> payouts;
    };
    std::vector<Payment> payments;
    std::vector<std::uint64_t> payouts_done;  // settled or failed
    std::optional<std::vector<engine::OpenExposure>> exposure;
};

}  // namespace

struct Metrics::Impl : public prometheus::Collectable {
    const config::Config& config;
    // The engine's holiday calendars, for the next-cut-off gauge (immutable).
    engine::calendar::CalendarSet calendars;
    MetricsOptions options;
    engine::Clock clock;
    std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
    std::unique_ptr<prometheus::Exposer> exposer;
    std::uint16_t port = 0;
    node::Node* node = nullptr;
    std::atomic<bool> attached{false};

    // Families.
    Family<Gauge>* build_info;
    Family<Counter>* fix_received;
    Family<Counter>* fix_sent;
    Family<Gauge>* session_up;
    Family<Counter>* rejects;
    Family<Counter>* logon_failures;
    Family<Counter>* access_denied;
    Family<Counter>* slow_consumer;
    Family<Counter>* connections_closed;
    Family<Gauge>* queue_depth;
    Family<Histogram>* batch_size;
    Family<Counter>* commands;
    Family<Counter>* split_commits;
    Family<Counter>* commit_retries;
    Family<Histogram>* commit_duration;
    Family<Counter>* entries_committed;
    Family<Gauge>* outbox_backlog;
    Family<Gauge>* book_depth;
    Family<Gauge>* position_open;
    Family<Gauge>* position_limit;
    Family<Counter>* cycles_completed;
    Family<Gauge>* cycle_duration;
    Family<Gauge>* cycle_gross;
    Family<Gauge>* cycle_net;
    Family<Gauge>* cycle_saving;
    Family<Gauge>* cycle_before;
    Family<Gauge>* cycle_after;
    Family<Gauge>* cycle_last_completed;
    Family<Gauge>* cycle_next_cutoff;
    Family<Gauge>* venue_rate_age;
    Family<Gauge>* venue_stale;
    Family<Counter>* hedge_orders;
    Family<Gauge>* bank_unconfirmed;
    Family<Gauge>* bank_oldest_age;
    Family<Gauge>* verify_last_success;
    Family<Counter>* verify_failures;

    // The engine thread's batch figures (one lock per batch).
    std::mutex batch_mu;
    std::uint64_t seen_commands = 0, seen_commits = 0, seen_latency_ns = 0;

    // Handed from the engine thread to the collector.
    std::mutex pending_mu;
    std::vector<Observed> pending;

    // The collector's own state (under sample_mu).
    std::mutex sample_mu;
    CounterFeed feed;
    std::map<std::string, std::string> session_ids;  // "<host>/<target CompID>" -> id
    std::optional<std::uint64_t> first_sequence;
    std::map<std::uint64_t, std::pair<std::uint32_t, bool>> open_orders;  // id -> pair, buy
    struct OpenCycle {
        ledger::Timestamp cutoff_at{};
        std::set<std::uint64_t> payouts;
        bool reported = false;
    };
    std::map<std::pair<engine::CycleId, std::string>, OpenCycle> cycles;  // (id, currency)
    std::map<std::uint64_t, std::pair<engine::CycleId, std::string>> payout_cycle;
    std::map<std::uint64_t, ledger::Timestamp> unconfirmed_since;  // payment order -> first seen
    std::vector<engine::OpenExposure> exposure;

    // Threads.
    std::mutex thread_mu;
    std::condition_variable thread_cv;
    bool stopping = false;
    bool verify_wanted = false;
    std::thread collector, verifier;

    Impl(const config::Config& c, engine::calendar::CalendarSet cals, MetricsOptions o,
         engine::Clock k)
        : config(c), calendars(std::move(cals)), options(std::move(o)), clock(std::move(k)) {
        auto& r = *registry;
        build_info = &prometheus::BuildGauge()
                          .Name("fxsettle_build_info")
                          .Help("1, labelled with the running version")
                          .Register(r);
        fix_received = &prometheus::BuildCounter()
                            .Name("fxsettle_fix_messages_received_total")
                            .Help("FIX application messages received, per session and MsgType")
                            .Register(r);
        fix_sent = &prometheus::BuildCounter()
                        .Name("fxsettle_fix_messages_sent_total")
                        .Help(
                            "FIX application messages sent (stored by QuickFIX), per session "
                            "and MsgType")
                        .Register(r);
        session_up = &prometheus::BuildGauge()
                          .Name("fxsettle_fix_session_up")
                          .Help("1 while the FIX session is logged on")
                          .Register(r);
        rejects = &prometheus::BuildCounter()
                       .Name("fxsettle_rejects_total")
                       .Help("Requests refused, per reason (edge and engine)")
                       .Register(r);
        logon_failures = &prometheus::BuildCounter()
                              .Name("fxsettle_logon_failures_total")
                              .Help(
                                  "PSP logons refused (unknown session, wrong credentials, "
                                  "locked)")
                              .Register(r);
        access_denied = &prometheus::BuildCounter()
                             .Name("fxsettle_access_denied_total")
                             .Help("Requests for another PSP's accounts or orders")
                             .Register(r);
        slow_consumer = &prometheus::BuildCounter()
                             .Name("fxsettle_slow_consumer_logouts_total")
                             .Help("Sessions logged out because their outbound queue was full")
                             .Register(r);
        connections_closed =
            &prometheus::BuildCounter()
                 .Name("fxsettle_gateway_connections_closed_total")
                 .Help(
                     "Gateway connections closed before a Logon: at accept, over "
                     "unauthenticated_connections_max (reason unauthenticated_max); not logged "
                     "on within logon_deadline_s (reason logon_deadline)")
                 .Register(r);
        queue_depth = &prometheus::BuildGauge()
                           .Name("fxsettle_engine_queue_depth")
                           .Help("Commands waiting for the engine thread")
                           .Register(r);
        batch_size = &prometheus::BuildHistogram()
                          .Name("fxsettle_engine_batch_size")
                          .Help("Commands applied per engine batch")
                          .Register(r);
        commands = &prometheus::BuildCounter()
                        .Name("fxsettle_engine_commands_total")
                        .Help("Commands the engine applied")
                        .Register(r);
        commit_duration = &prometheus::BuildHistogram()
                               .Name("fxsettle_ledger_commit_duration_seconds")
                               .Help("Ledger write transaction latency (commit and fsync)")
                               .Register(r);
        split_commits = &prometheus::BuildCounter()
                             .Name("fxsettle_ledger_split_commits_total")
                             .Help("Engine batches committed to the ledger in more than one part")
                             .Register(r);
        commit_retries =
            &prometheus::BuildCounter()
                 .Name("fxsettle_ledger_commit_retries_total")
                 .Help("Commit parts too large for one LMDB transaction, committed again in halves")
                 .Register(r);
        entries_committed = &prometheus::BuildCounter()
                                 .Name("fxsettle_ledger_entries_committed_total")
                                 .Help("Journal entries committed by this process")
                                 .Register(r);
        outbox_backlog = &prometheus::BuildGauge()
                              .Name("fxsettle_outbox_backlog")
                              .Help("Outbox rows written and not yet acknowledged as sent")
                              .Register(r);
        book_depth = &prometheus::BuildGauge()
                          .Name("fxsettle_order_book_depth")
                          .Help("Orders resting in the book, per pair and side")
                          .Register(r);
        position_open = &prometheus::BuildGauge()
                             .Name("fxsettle_fx_position_open")
                             .Help(
                                 "House open FX exposure per currency, major units, signed "
                                 "(positive: long)")
                             .Register(r);
        position_limit = &prometheus::BuildGauge()
                              .Name("fxsettle_fx_position_limit")
                              .Help(
                                  "Alert limit of the open exposure, major units "
                                  "([metrics] exposure_alert_limits)")
                              .Register(r);
        cycles_completed = &prometheus::BuildCounter()
                                .Name("fxsettle_cycles_completed_total")
                                .Help(
                                    "Settlement cycles completed (every payment line "
                                    "answered)")
                                .Register(r);
        cycle_duration = &prometheus::BuildGauge()
                              .Name("fxsettle_cycle_duration_seconds")
                              .Help(
                                  "Last completed cycle: cut-off to last bank answer, engine "
                                  "time")
                              .Register(r);
        cycle_gross = &prometheus::BuildGauge()
                           .Name("fxsettle_cycle_gross_value")
                           .Help("Last cycle's gross value, major units")
                           .Register(r);
        cycle_net = &prometheus::BuildGauge()
                         .Name("fxsettle_cycle_net_value")
                         .Help("Last cycle's net value, major units")
                         .Register(r);
        cycle_saving = &prometheus::BuildGauge()
                            .Name("fxsettle_cycle_liquidity_saving_ratio")
                            .Help("Last cycle's 1 - net/gross")
                            .Register(r);
        cycle_before = &prometheus::BuildGauge()
                            .Name("fxsettle_cycle_payments_before")
                            .Help("Last cycle's payments before netting")
                            .Register(r);
        cycle_after = &prometheus::BuildGauge()
                           .Name("fxsettle_cycle_payments_after")
                           .Help("Last cycle's payments after netting")
                           .Register(r);
        cycle_last_completed = &prometheus::BuildGauge()
                                    .Name("fxsettle_cycle_last_completed_timestamp_seconds")
                                    .Help("Engine time the last cycle completed")
                                    .Register(r);
        cycle_next_cutoff = &prometheus::BuildGauge()
                                 .Name("fxsettle_cycle_next_cutoff_timestamp_seconds")
                                 .Help(
                                     "Engine time of the next cut-off (weekends and the "
                                     "config's extra closures skipped)")
                                 .Register(r);
        venue_rate_age = &prometheus::BuildGauge()
                              .Name("fxsettle_venue_rate_age_seconds")
                              .Help("Engine time since the venue's last rate message")
                              .Register(r);
        venue_stale = &prometheus::BuildGauge()
                           .Name("fxsettle_venue_stale")
                           .Help(
                               "1 when the venue's rates are older than its rate_stale_ms "
                               "(or none came yet)")
                           .Register(r);
        hedge_orders = &prometheus::BuildCounter()
                            .Name("fxsettle_hedge_orders_total")
                            .Help(
                                "Hedge orders per venue and outcome (sent, filled, "
                                "rejected, timed_out, partial)")
                            .Register(r);
        bank_unconfirmed = &prometheus::BuildGauge()
                                .Name("fxsettle_bank_orders_unconfirmed")
                                .Help("Payment orders sent and not yet answered in full")
                                .Register(r);
        bank_oldest_age = &prometheus::BuildGauge()
                               .Name("fxsettle_bank_order_oldest_unconfirmed_age_seconds")
                               .Help(
                                   "Age of the oldest unconfirmed payment order (0: none), "
                                   "engine time")
                               .Register(r);
        verify_last_success = &prometheus::BuildGauge()
                                   .Name("fxsettle_ledger_verify_last_success_timestamp_seconds")
                                   .Help("Wall-clock time of the last ledger verify that passed")
                                   .Register(r);
        verify_failures = &prometheus::BuildCounter()
                               .Name("fxsettle_ledger_verify_failures_total")
                               .Help("Ledger verifies that failed")
                               .Register(r);

        build_info->Add({{"version", options.version}}).Set(1);
        for (const auto& [currency, limit] : config.metrics.exposure_alert_limits)
            position_limit->Add({{"currency", currency.to_string()}})
                .Set(major_units(limit, currency));
        for (const config::PspConfig& p : config.psps)
            session_ids["gateway/" + p.sender_comp_id] = p.id;
        for (const config::VenueConfig& v : config.venues)
            session_ids["venue/" + v.target_comp_id] = v.id;
        for (const config::BankConfig& b : config.banks)
            session_ids["bank/" + b.target_comp_id] = b.id;
        // Every known series exists from the start (0), so alerts and dashboards see them.
        for (const auto& [key, id] : session_ids) {
            session_up->Add({{"session", id}}).Set(0);
            slow_consumer->Add({{"session", id}});
        }
        logon_failures->Add({});
        access_denied->Add({});
        queue_depth->Add({});
        batch_size->Add({}, kBatchBuckets);
        commands->Add({});
        commit_duration->Add({}, kCommitBuckets);
        entries_committed->Add({});
        split_commits->Add({});
        commit_retries->Add({});
        outbox_backlog->Add({});
        verify_failures->Add({});
        for (const config::VenueConfig& v : config.venues) {
            venue_stale->Add({{"venue", v.id}}).Set(1);
            for (const char* outcome : {"sent", "filled", "rejected", "timed_out", "partial"})
                hedge_orders->Add({{"venue", v.id}, {"outcome", outcome}});
        }
        for (const config::BankConfig& b : config.banks) {
            bank_unconfirmed->Add({{"bank", b.id}}).Set(0);
            bank_oldest_age->Add({{"bank", b.id}}).Set(0);
        }
        for (const config::CycleConfig& cy : config.cycles)
            cycles_completed->Add({{"currency", cy.currency.to_string()}});
    }

    // prometheus::Collectable: a scrape samples first, so it sees current counters.
    std::vector<prometheus::MetricFamily> Collect() const override {
        const_cast<Impl*>(this)->sample();
        return registry->Collect();
    }

    // ---- the engine thread ----------------------------------------------------------

    // Once per committed batch: histograms from the sequencer's counters, then a copy of
    // what the collector needs.
    void observe(std::span<const engine::Delivery<engine::Event>> deliveries) {
        if (!attached.load(std::memory_order_acquire))
            return;
        batch_figures();
        Observed o;
        o.at = clock();
        bool cycle_seen = false, exposure_changed = false;
        const auto reject = [&](engine::Reason reason) {
            ++o.rejects[std::string(engine::reason_name(reason))];
        };
        for (const auto& d : deliveries) {
            std::visit(
                [&](const auto& e) {
                    using T = std::decay_t<decltype(e)>;
                    if constexpr (std::is_same_v<T, engine::OrderRejected> ||
                                  std::is_same_v<T, engine::QuoteRejected> ||
                                  std::is_same_v<T, engine::PayoutRejected> ||
                                  std::is_same_v<T, engine::CommandRejected>) {
                        reject(e.reason);
                    } else if constexpr (std::is_same_v<T, engine::OrderAccepted>) {
                        o.orders.push_back({e.order_id, pair_index(e.pair),
                                            e.side == engine::book::Side::kBuy, true});
                    } else if constexpr (std::is_same_v<T, engine::OrderFilled>) {
                        o.orders.push_back({e.order_id, pair_index(e.pair),
                                            e.side == engine::book::Side::kBuy,
                                            !e.leaves.is_zero()});
                    } else if constexpr (std::is_same_v<T, engine::OrderCancelled>) {
                        o.orders.push_back({e.order_id, 0, true, false});
                    } else if constexpr (std::is_same_v<T, engine::HedgeOrder>) {
                        o.hedges.push_back({e.venue, "sent"});
                    } else if constexpr (std::is_same_v<T, engine::HedgeFilled>) {
                        if (e.complete)
                            o.hedges.push_back({e.venue, "filled"});
                        exposure_changed = true;
                    } else if constexpr (std::is_same_v<T, engine::ExposureReported>) {
                        if (e.reason == engine::ExposureReason::kHedgeRejected)
                            o.hedges.push_back({e.venue, "rejected"});
                        else if (e.reason == engine::ExposureReason::kHedgeTimedOut)
                            o.hedges.push_back({e.venue, "timed_out"});
                        else if (e.reason == engine::ExposureReason::kVenueCancelledRest)
                            o.hedges.push_back({e.venue, "partial"});
                        exposure_changed = true;
                    } else if constexpr (std::is_same_v<T, engine::CycleReport>) {
                        Observed::Cycle c;
                        c.id = e.cycle_id;
                        c.at = e.at;
                        for (const engine::CurrencyCycleFigures& f : e.currencies) {
                            c.currencies.push_back(CycleFigures{
                                node->engine().chart().currency(f.currency), f.gross, f.net,
                                f.payments_before, f.payments_after, f.liquidity_saving_ppm});
                        }
                        o.cycles.push_back(std::move(c));
                        cycle_seen = true;
                        exposure_changed = true;
                    } else if constexpr (std::is_same_v<T, engine::PaymentOrder>) {
                        Observed::Payment p;
                        p.cycle = e.cycle_id;
                        p.currency = node->engine().chart().currency(e.currency);
                        for (const engine::PaymentLine& l : e.lines)
                            p.payouts.push_back(l.payout_id);
                        o.payments.push_back(std::move(p));
                    } else if constexpr (std::is_same_v<T, engine::PayoutSettled> ||
                                         std::is_same_v<T, engine::PayoutFailed>) {
                        o.payouts_done.push_back(e.payout_id);
                    }
                },
                d.event);
        }
        // The engine is between batches on this thread: its state may be read.
        if (exposure_changed)
            o.exposure = node->engine().settlement().open_exposure();
        {
            std::lock_guard lock(pending_mu);
            pending.push_back(std::move(o));
        }
        if (cycle_seen) {
            std::lock_guard lock(thread_mu);
            verify_wanted = true;
            thread_cv.notify_all();
        }
    }

    std::uint32_t pair_index(const money::CurrencyPair& pair) const {
        for (std::size_t i = 0; i < config.pairs.size(); ++i) {
            if (config.pairs[i].pair == pair)
                return static_cast<std::uint32_t>(i);
        }
        return 0;
    }

    // Batch size and commit latency since the last call: exact per batch when every batch
    // delivers; commits without events (acknowledgements only) are folded in at their
    // mean latency.
    void batch_figures() {
        const engine::SequencerCounters sc = node->sequencer_counters();
        std::lock_guard lock(batch_mu);
        if (sc.commands > seen_commands) {
            batch_size->Add({}, kBatchBuckets)
                .Observe(static_cast<double>(sc.commands - seen_commands));
            seen_commands = sc.commands;
        }
        if (sc.commits > seen_commits) {
            const double n = static_cast<double>(sc.commits - seen_commits);
            const double sum_s =
                static_cast<double>(sc.commit_latency_ns_sum - seen_latency_ns) / 1e9;
            commit_duration->Add({}, kCommitBuckets)
                .ObserveMultiple(increments(kCommitBuckets, sum_s / n, n), sum_s);
            seen_commits = sc.commits;
            seen_latency_ns = sc.commit_latency_ns_sum;
        }
    }

    // ---- the collector --------------------------------------------------------------

    std::string session_id(const char* host, const adapters::SessionKey& key) const {
        auto it = session_ids.find(std::string(host) + "/" + key.target_comp_id);
        return it != session_ids.end() ? it->second : key.target_comp_id;
    }

    void sample() {
        if (!attached.load(std::memory_order_acquire))
            return;
        std::lock_guard lock(sample_mu);
        node::Node& n = *node;
        const ledger::Timestamp now = clock();

        const std::pair<const char*, adapters::SessionHost*> hosts[] = {
            {"gateway", &n.gateway_host()}, {"venue", &n.venue_host()}, {"bank", &n.bank_host()}};
        for (const auto& [name, host] : hosts) {
            for (const adapters::SessionCounters& s : host->session_counters()) {
                const std::string id = session_id(name, s.key);
                session_up->Add({{"session", id}}).Set(s.logged_on ? 1 : 0);
                feed.feed(*slow_consumer, {{"session", id}}, s.slow_consumer_logouts);
                for (const auto& [type, count] : s.received_by_type)
                    feed.feed(*fix_received, {{"session", id}, {"msg_type", type}}, count);
                for (const auto& [type, count] : s.sent_by_type)
                    feed.feed(*fix_sent, {{"session", id}, {"msg_type", type}}, count);
            }
        }
        const adapters::HostCounters gh = n.gateway_host().counters();
        feed.feed(*connections_closed, {{"reason", "unauthenticated_max"}}, gh.connections_refused);
        feed.feed(*connections_closed, {{"reason", "logon_deadline"}}, gh.logon_deadline_closes);
        const adapters::edge::GatewayCounters g = n.counters().gateway;
        feed.feed(*logon_failures, {}, g.auth_failures());
        feed.feed(*access_denied, {}, g.authorization_breaches);
        for (const auto& [code, count] : g.rejects_by_reason)
            feed.feed(
                *rejects,
                {{"reason", std::string(engine::reason_name(static_cast<engine::Reason>(code)))}},
                count);
        feed.feed(*rejects, {{"reason", "engine_busy"}}, g.busy_rejects);

        const engine::SequencerCounters sc = n.sequencer_counters();
        queue_depth->Add({}).Set(static_cast<double>(sc.queue_depth));
        outbox_backlog->Add({}).Set(static_cast<double>(sc.outbox_backlog));
        feed.feed(*commands, {}, sc.commands);
        feed.feed(*split_commits, {}, sc.split_batches);
        feed.feed(*commit_retries, {}, sc.commit_retries);
        batch_figures();
        if (auto view = n.ledger().read(); view.has_value()) {
            if (auto info = (*view)->info(); info.has_value()) {
                if (!first_sequence)
                    first_sequence = info->last_sequence;
                feed.feed(*entries_committed, {}, info->last_sequence - *first_sequence);
            } else {
                log_fields(metrics_log(), spdlog::level::debug, "cannot read the ledger's head",
                           {{"error", info.error().message()}});
            }
        }

        fold_pending(now);

        // Venues: rate age in engine time.
        for (std::size_t i = 0; i < config.venues.size(); ++i) {
            const config::VenueConfig& v = config.venues[i];
            const auto last = n.last_rate_at(static_cast<engine::VenueIndex>(i));
            if (!last) {
                venue_stale->Add({{"venue", v.id}}).Set(1);
                continue;
            }
            const auto age = now - *last;
            venue_rate_age->Add({{"venue", v.id}})
                .Set(std::max(0.0, std::chrono::duration<double>(age).count()));
            venue_stale->Add({{"venue", v.id}}).Set(age > v.rate_stale_ms ? 1 : 0);
        }
        // Banks: unconfirmed payment orders and the oldest one's age (first seen here).
        std::set<std::uint64_t> still;
        for (std::size_t i = 0; i < config.banks.size(); ++i) {
            const auto ids = n.bank_adapter().unconfirmed(static_cast<engine::BankIndex>(i));
            double oldest = 0;
            for (const auto id : ids) {
                auto [it, inserted] = unconfirmed_since.try_emplace(id, now);
                static_cast<void>(inserted);
                still.insert(id);
                oldest = std::max(oldest, std::chrono::duration<double>(now - it->second).count());
            }
            bank_unconfirmed->Add({{"bank", config.banks[i].id}})
                .Set(static_cast<double>(ids.size()));
            bank_oldest_age->Add({{"bank", config.banks[i].id}}).Set(oldest);
        }
        std::erase_if(unconfirmed_since, [&](const auto& kv) { return !still.contains(kv.first); });

        for (const config::CycleConfig& cy : config.cycles) {
            if (auto next = engine::cutoff_after(cy, calendars, now))
                cycle_next_cutoff->Add({{"currency", cy.currency.to_string()}})
                    .Set(seconds_of(*next));
        }
    }

    void fold_pending(ledger::Timestamp now) {
        std::vector<Observed> batch;
        {
            std::lock_guard lock(pending_mu);
            batch.swap(pending);
        }
        for (Observed& o : batch) {
            for (const auto& [reason, count] : o.rejects)
                rejects->Add({{"reason", reason}}).Increment(static_cast<double>(count));
            for (const auto& h : o.hedges) {
                const std::string venue =
                    h.venue < config.venues.size() ? config.venues[h.venue].id : "unknown";
                hedge_orders->Add({{"venue", venue}, {"outcome", h.outcome}}).Increment();
            }
            for (const auto& ord : o.orders) {
                if (ord.open)
                    open_orders[ord.id] = {ord.pair, ord.buy};
                else
                    open_orders.erase(ord.id);
            }
            for (const auto& c : o.cycles) {
                for (const CycleFigures& f : c.currencies) {
                    const Labels l{{"currency", f.currency.to_string()}};
                    cycle_gross->Add(l).Set(major_units(f.gross, f.currency));
                    cycle_net->Add(l).Set(major_units(f.net, f.currency));
                    cycle_saving->Add(l).Set(static_cast<double>(f.liquidity_saving_ppm) / 1e6);
                    cycle_before->Add(l).Set(static_cast<double>(f.payments_before));
                    cycle_after->Add(l).Set(static_cast<double>(f.payments_after));
                    OpenCycle& oc = cycles[{c.id, f.currency.to_string()}];
                    oc.cutoff_at = c.at;
                    oc.reported = true;
                }
            }
            for (const auto& p : o.payments) {
                OpenCycle& oc = cycles[{p.cycle, p.currency.to_string()}];
                for (const auto id : p.payouts) {
                    oc.payouts.insert(id);
                    payout_cycle[id] = {p.cycle, p.currency.to_string()};
                }
            }
            for (const auto id : o.payouts_done) {
                auto it = payout_cycle.find(id);
                if (it == payout_cycle.end())
                    continue;
                if (auto c = cycles.find(it->second); c != cycles.end())
                    c->second.payouts.erase(id);
                payout_cycle.erase(it);
            }
            // A reported cycle with no payment line left is complete.
            for (auto it = cycles.begin(); it != cycles.end();) {
                if (!it->second.reported || !it->second.payouts.empty()) {
                    ++it;
                    continue;
                }
                const Labels l{{"currency", it->first.second}};
                cycles_completed->Add(l).Increment();
                cycle_duration->Add(l).Set(std::max(
                    0.0, std::chrono::duration<double>(o.at - it->second.cutoff_at).count()));
                cycle_last_completed->Add(l).Set(seconds_of(o.at));
                it = cycles.erase(it);
            }
            if (o.exposure)
                exposure = std::move(*o.exposure);
        }
        static_cast<void>(now);
        // Book depth per pair and side (every configured pair has its series).
        std::vector<std::array<std::uint64_t, 2>> depth(config.pairs.size(), {0, 0});
        for (const auto& [id, ps] : open_orders) {
            if (ps.first < depth.size())
                ++depth[ps.first][ps.second ? 0 : 1];
        }
        for (std::size_t i = 0; i < config.pairs.size(); ++i) {
            const std::string pair = config.pairs[i].pair.to_string();
            book_depth->Add({{"pair", pair}, {"side", "buy"}})
                .Set(static_cast<double>(depth[i][0]));
            book_depth->Add({{"pair", pair}, {"side", "sell"}})
                .Set(static_cast<double>(depth[i][1]));
        }
        // Open exposure per base currency: the engine still has to buy open_base (> 0),
        // so the house is short by it: the position is -open_base.
        std::map<std::string, double> position;
        for (const config::CycleConfig& cy : config.cycles)
            position[cy.currency.to_string()] = 0;
        for (const engine::OpenExposure& e : exposure) {
            if (e.pair >= config.pairs.size())
                continue;
            const money::Currency& base = config.pairs[e.pair].pair.base;
            position[base.to_string()] -= major_units(e.open_base, base);
        }
        for (const auto& [currency, value] : position)
            position_open->Add({{"currency", currency}}).Set(value);
    }

    // ---- the verifier ----------------------------------------------------------------

    void verify_once() {
        auto view = node->ledger().read();
        std::string failure;
        if (!view.has_value()) {
            failure = view.error().message();
        } else if (auto report = (*view)->verify(); !report.has_value()) {
            failure = report.error().message();
        } else if (!report->ok) {
            failure = report->failure;
        } else {
            verify_last_success->Add({}).Set(
                std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
                    .count());
            log_fields(metrics_log(), spdlog::level::debug, "ledger verify passed",
                       {{"entries", std::to_string(report->entries_checked)},
                        {"accounts", std::to_string(report->accounts_checked)}});
            return;
        }
        verify_failures->Add({}).Increment();
        log_fields(metrics_log(), spdlog::level::err, "ledger verify failed",
                   {{"failure", failure}});
    }

    void verifier_loop() {
        verify_once();
        std::unique_lock lock(thread_mu);
        for (;;) {
            thread_cv.wait(lock, [&] { return stopping || verify_wanted; });
            if (stopping)
                return;
            verify_wanted = false;
            lock.unlock();
            verify_once();
            lock.lock();
        }
    }

    void collector_loop() {
        std::unique_lock lock(thread_mu);
        while (!stopping) {
            thread_cv.wait_for(lock, options.sample_interval);
            if (stopping)
                break;
            lock.unlock();
            sample();
            lock.lock();
        }
    }
};

Metrics::Metrics(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

Metrics::~Metrics() {
    stop();
    impl_->exposer.reset();  // no scrape runs after this
}

Result<std::unique_ptr<Metrics>> Metrics::create(const config::Config& config,
                                                 const MetricsOptions& options,
                                                 engine::Clock clock) {
    auto calendars = engine::calendar::CalendarSet::from_config(config);
    if (!calendars)
        return fail(calendars.error());
    auto impl = std::make_shared<Impl>(config, std::move(*calendars), options, std::move(clock));
    const std::string where = options.host + ":" + std::to_string(options.port);
    try {
        impl->exposer = std::make_unique<prometheus::Exposer>(where, 2);
    } catch (const std::exception& e) {
        return fail(StatusCode::kUnavailable,
                    "cannot listen on the metrics port " + where + " (in use?): " + e.what());
    }
    const std::vector<int> ports = impl->exposer->GetListeningPorts();
    impl->port = ports.empty() ? options.port : static_cast<std::uint16_t>(ports.front());
    impl->exposer->RegisterCollectable(impl);
    return std::unique_ptr<Metrics>(new Metrics(std::move(impl)));
}

std::uint16_t Metrics::port() const {
    return impl_->port;
}

Metrics::Observer Metrics::observer(Observer next) {
    Impl* impl = impl_.get();
    return [impl,
            next = std::move(next)](std::span<const engine::Delivery<engine::Event>> deliveries) {
        impl->observe(deliveries);
        if (next)
            next(deliveries);
    };
}

void Metrics::attach(node::Node& node) {
    Impl& m = *impl_;
    m.node = &node;
    m.exposure = node.engine().settlement().open_exposure();
    // Orders resting from before a restart (the collector thread owns open_orders and
    // has not started yet).
    for (const auto& o : node.engine().open_order_refs())
        m.open_orders[o.id] = {o.pair, o.buy};
    const engine::SequencerCounters sc = node.sequencer_counters();
    {
        std::lock_guard lock(m.batch_mu);
        m.seen_commands = sc.commands;
        m.seen_commits = sc.commits;
        m.seen_latency_ns = sc.commit_latency_ns_sum;
    }
    m.attached.store(true, std::memory_order_release);
    m.collector = std::thread([&m] { m.collector_loop(); });
    m.verifier = std::thread([&m] { m.verifier_loop(); });
}

void Metrics::stop() {
    Impl& m = *impl_;
    {
        std::lock_guard lock(m.thread_mu);
        m.stopping = true;
        m.thread_cv.notify_all();
    }
    if (m.collector.joinable())
        m.collector.join();
    if (m.verifier.joinable())
        m.verifier.join();
    // A scrape in flight finishes its sample before the node may go.
    std::lock_guard lock(m.sample_mu);
    m.attached.store(false, std::memory_order_release);
}

void Metrics::sample() {
    impl_->sample();
}

}  // namespace fxsettle::daemon
