// The venue adapter: the Handler of the initiator SessionHost with one session per
// configured venue ({venues[].sender_comp_id, venues[].target_comp_id}), issue 5 "The
// venue adapter".
//
// On every logon it subscribes to the venue's rates (MarketDataRequest V for the venue's
// pairs) and sends an OrderStatusRequest (H) for every hedge order it has in flight there,
// so a fill the venue reported while the session was down is reported again; the engine
// ignores an ExecID it has seen, so nothing is lost or counted twice.
//
// Inbound: W / X become VenueRate commands, submitted without blocking (a full queue drops
// the rate, counted: the next one replaces it anyway). ExecutionReports become HedgeFill /
// HedgeReject (convert.h from_venue), submitted with a bounded wait; one the sequencer
// still cannot take is deferred (DeferredCommands) and submitted again, in order, on the
// adapter's next message and on EdgeSink's next delivery; the hedge stays in flight until
// then.
//
// Hedges in flight: a hedge is added when EdgeSink hands its HedgeOrder over, and removed
// when the venue reports it done (a last fill, a reject, or an ExecutionReport whose
// OrdStatus is filled, cancelled, rejected or expired). The set lives in memory: after a
// process restart, FIX's own resend (the venue's stored ExecutionReports) recovers what
// the venue sent meanwhile. At most engine::kHedgesInFlightMax hedges are tracked.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "adapters/convert/convert.h"
#include "adapters/edge/common.h"
#include "adapters/fix/session_host.h"
#include "config/config.h"

namespace fxsettle::adapters::edge {

inline constexpr std::size_t kDeferredRepliesMax = 1u << 16;

struct VenueAdapterOptions {
    // How long a hedge fill or reject waits for room in the sequencer's queue.
    std::chrono::milliseconds submit_wait_ms{2'000};
    // Stamp W / X rates with the edge's clock (the engine's) on receipt instead of the
    // venue's SendingTime (52): for a venue whose clock is not trusted, and for tests
    // whose engine runs on a manual clock. Staleness is then measured from receipt.
    bool stamp_rates_on_receipt = false;
};

struct VenueAdapterCounters {
    std::map<std::string, std::uint64_t> messages_by_type;  // inbound, MsgType -> count
    std::uint64_t rates_submitted = 0;
    std::uint64_t rates_dropped_busy = 0;
    std::uint64_t fills_submitted = 0;    // HedgeFill commands
    std::uint64_t rejects_submitted = 0;  // HedgeReject commands
    std::uint64_t replies_deferred = 0;   // fills/rejects the sequencer could not take at once
    std::uint64_t replies_lost = 0;       // ... and could not keep either (deferred full)
    std::uint64_t deferred_now = 0;
    std::uint64_t refused_messages = 0;  // content the converter could not read (noted)
    std::uint64_t subscriptions_sent = 0;
    std::uint64_t status_requests_sent = 0;
    std::uint64_t hedges_sent = 0;
    std::uint64_t hedges_in_flight = 0;
    std::uint64_t logons = 0;
    std::uint64_t logouts = 0;
};

class VenueAdapter final : public Handler {
  public:
    VenueAdapter(const config::Config& config, convert::Converter& converter,
                 CommandSubmitter& submitter, ClockFn clock, LogFn log,
                 VenueAdapterOptions options = {});

    void attach(SessionHost* host) { sessions_.attach(host); }
    void set_ack_tracker(AckTracker* tracker) { tracker_.store(tracker); }

    SessionKey session_key(engine::VenueIndex venue) const;
    std::optional<engine::VenueIndex> venue_of(const SessionKey& key) const;

    // Sends the messages of a HedgeOrder event to its venue (EdgeSink), remembering the
    // hedge as in flight first. Returns the first send result that was not kQueued /
    // kSlowConsumer (and how many messages were queued in *queued), else kQueued.
    SendResult send_hedge(const engine::HedgeOrder& hedge, std::vector<WireMessage> messages,
                          std::uint64_t token, std::size_t* queued);
    // Any other message to a venue.
    SendResult send(engine::VenueIndex venue, WireMessage message, std::uint64_t token);

    // Submits deferred fills and rejects again (never blocks; EdgeSink calls it).
    void retry_deferred();

    // Hedge ids in flight at `venue`, ascending.
    std::vector<engine::HedgeId> hedges_in_flight(engine::VenueIndex venue) const;
    VenueAdapterCounters counters() const;

    // Handler
    std::string authenticate(const SessionKey&, const std::string&, const std::string&) override {
        return {};
    }
    void on_logon(const SessionKey& key) override;
    void on_logout(const SessionKey& key) override;
    void on_message(const SessionKey& key, WireMessage&& message) override;
    void on_sent(const SessionKey& key, const std::vector<std::uint64_t>& tokens) override;

  private:
    void hedge_done(engine::HedgeId hedge);
    void submitted(const engine::Command& command);

    const config::Config& config_;
    convert::Converter& converter_;
    CommandSubmitter& submitter_;
    ClockFn clock_;
    LogFn log_;
    const VenueAdapterOptions options_;
    CounterpartySessions sessions_;  // by VenueIndex
    std::atomic<AckTracker*> tracker_{nullptr};

    mutable std::mutex mu_;
    std::map<engine::HedgeId, engine::HedgeOrder> in_flight_;
    DeferredCommands deferred_{kDeferredRepliesMax};
    std::uint64_t md_requests_ = 0;
    VenueAdapterCounters counters_;
};

}  // namespace fxsettle::adapters::edge
