#include "adapters/edge/edge_sink.h"

#include <utility>
#include <variant>
#include <vector>

namespace fxsettle::adapters::edge {

EdgeSink::EdgeSink(convert::Converter& converter, ClockFn clock, LogFn log)
    : converter_(converter), clock_(std::move(clock)), log_(log ? std::move(log) : stderr_log()) {}

void EdgeSink::attach(Gateway* gateway, VenueAdapter* venues, BankAdapter* banks) {
    gateway_ = gateway;
    venues_ = venues;
    banks_ = banks;
    if (gateway_ != nullptr)
        gateway_->set_ack_tracker(&tracker_);
    if (venues_ != nullptr)
        venues_->set_ack_tracker(&tracker_);
    if (banks_ != nullptr)
        banks_->set_ack_tracker(&tracker_);
}

EdgeSinkCounters EdgeSink::counters() const {
    EdgeSinkCounters c;
    {
        std::lock_guard lock(mu_);
        c = counters_;
    }
    c.acknowledged = tracker_.acknowledged();
    c.pending = tracker_.pending();
    return c;
}

void EdgeSink::deliver(std::span<const engine::Delivery<engine::Event>> deliveries) {
    // Bank and venue replies the sequencer could not take before go first (submit() from
    // the sink never blocks).
    if (venues_ != nullptr)
        venues_->retry_deferred();
    if (banks_ != nullptr)
        banks_->retry_deferred();
    std::vector<std::uint64_t> now;
    {
        // One wake-up per session for the whole batch, not one per message.
        SessionHost::WakeupBatch wakeups;
        for (const engine::Delivery<engine::Event>& d : deliveries)
            route(d, now);
    }
    tracker_.acknowledge_now(now);
    std::lock_guard lock(mu_);
    counters_.routed += deliveries.size();
}

void EdgeSink::route(const engine::Delivery<engine::Event>& d, std::vector<std::uint64_t>& now) {
    convert::Outbound out = converter_.to_wire(d.event, clock_());
    {
        std::lock_guard lock(mu_);
        ++counters_.delivered;
        counters_.possible_resends += d.possible_resend ? 1 : 0;
        if (out.to.peer == convert::Peer::kNone || out.messages.empty()) {
            ++counters_.to_nobody;
        } else {
            ++(out.to.peer == convert::Peer::kPsp     ? counters_.to_psps
               : out.to.peer == convert::Peer::kVenue ? counters_.to_venues
                                                      : counters_.to_banks);
            for (const WireMessage& m : out.messages)
                ++counters_.messages_by_type[m.msg_type];
        }
    }
    if (out.to.peer == convert::Peer::kNone || out.messages.empty()) {
        now.push_back(d.outbox_id);
        return;
    }
    for (WireMessage& m : out.messages)
        m.poss_resend = m.poss_resend || d.possible_resend;
    const auto n = static_cast<std::uint32_t>(out.messages.size());
    // Registered before queueing: a sender thread may report a message at once.
    tracker_.expect(d.outbox_id, n);
    std::size_t queued = 0;
    SendResult result = SendResult::kStopped;
    switch (out.to.peer) {
        case convert::Peer::kPsp:
            if (gateway_ != nullptr) {
                result = SendResult::kQueued;
                for (WireMessage& m : out.messages) {
                    result = gateway_->send(out.to.index, std::move(m), d.outbox_id);
                    if (result != SendResult::kQueued && result != SendResult::kSlowConsumer)
                        break;
                    ++queued;
                }
            }
            break;
        case convert::Peer::kVenue:
            if (venues_ != nullptr) {
                if (const auto* hedge = std::get_if<engine::HedgeOrder>(&d.event)) {
                    result =
                        venues_->send_hedge(*hedge, std::move(out.messages), d.outbox_id, &queued);
                } else {
                    result = SendResult::kQueued;
                    for (WireMessage& m : out.messages) {
                        result = venues_->send(out.to.index, std::move(m), d.outbox_id);
                        if (result != SendResult::kQueued && result != SendResult::kSlowConsumer)
                            break;
                        ++queued;
                    }
                }
            }
            break;
        case convert::Peer::kBank:
            if (banks_ != nullptr) {
                if (const auto* order = std::get_if<engine::PaymentOrder>(&d.event)) {
                    result = banks_->send_payment_order(*order, std::move(out.messages),
                                                        d.outbox_id, &queued);
                } else {
                    result = SendResult::kQueued;
                    for (WireMessage& m : out.messages) {
                        result = banks_->send(out.to.index, std::move(m), d.outbox_id);
                        if (result != SendResult::kQueued && result != SendResult::kSlowConsumer)
                            break;
                        ++queued;
                    }
                }
            }
            break;
        case convert::Peer::kNone:
            break;
    }
    {
        std::lock_guard lock(mu_);
        counters_.messages_queued += queued;
    }
    if (queued < n) {
        // Some message was not queued: the row must not be acknowledged now. Messages
        // already queued may still report on_sent; abandoning the row makes those
        // reports no-ops, and the whole event is delivered again after a restart.
        tracker_.abandon(d.outbox_id);
        {
            std::lock_guard lock(mu_);
            ++counters_.not_queued;
        }
        log_(LogLevel::kError, "outbox row " + std::to_string(d.outbox_id) + ": " +
                                   std::to_string(n - queued) + " of " + std::to_string(n) +
                                   " message(s) not queued (" + send_result_name(result) +
                                   "); the row stays in the outbox for the next start");
    }
}

}  // namespace fxsettle::adapters::edge
