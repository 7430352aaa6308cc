// EdgeSink: where the sequencer delivers committed events (engine::EventSink). Each event
// goes through Converter::to_wire to its destination: a PSP's gateway session, a venue or
// a bank, queued with token = its outbox id, with PossResend (97=Y) when the delivery is a
// possible resend after a restart. The outbox row is acknowledged (Sequencer::acknowledge)
// only once QuickFIX stored every message made from it (Handler::on_sent, on the sender
// threads, through the AckTracker). Events that go to no counterparty are acknowledged at
// once. deliver() never blocks: SessionHost::send only queues.
//
// A message that cannot be queued (no host attached, the host stopped, an unknown session)
// leaves its row unacknowledged: it is delivered again after the next restart (logged).
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <span>
#include <string>

#include "adapters/convert/convert.h"
#include "adapters/edge/bank_adapter.h"
#include "adapters/edge/common.h"
#include "adapters/edge/gateway.h"
#include "adapters/edge/venue_adapter.h"
#include "engine/core/engine.h"
#include "engine/sequencer/sequencer.h"

namespace fxsettle::adapters::edge {

struct EdgeSinkCounters {
    std::uint64_t delivered = 0;         // events
    std::uint64_t routed = 0;            // events of batches handed over in full
    std::uint64_t possible_resends = 0;  // of them, redelivered after a restart
    std::uint64_t to_psps = 0;           // events sent to a PSP
    std::uint64_t to_venues = 0;
    std::uint64_t to_banks = 0;
    std::uint64_t to_nobody = 0;  // acknowledged at once
    std::uint64_t messages_queued = 0;
    std::uint64_t not_queued = 0;    // events left unacknowledged (send refused)
    std::uint64_t acknowledged = 0;  // outbox rows acknowledged
    std::uint64_t pending = 0;       // rows waiting for QuickFIX to store them
    std::map<std::string, std::uint64_t> messages_by_type;  // outbound, MsgType -> count
};

class EdgeSink final : public engine::EventSink<engine::Event> {
  public:
    EdgeSink(convert::Converter& converter, ClockFn clock, LogFn log);

    // Where acknowledgements go: normally Sequencer::acknowledge (acknowledge_with()), set
    // after the sequencer was created with this sink and before it starts.
    void set_acknowledge(AcknowledgeFn acknowledge) {
        tracker_.set_acknowledge(std::move(acknowledge));
    }

    // Wires the three handlers to this sink: their on_sent tokens come back here. Any of
    // them may be null (a destination without a handler leaves its rows unacknowledged).
    void attach(Gateway* gateway, VenueAdapter* venues, BankAdapter* banks);

    void deliver(std::span<const engine::Delivery<engine::Event>> deliveries) override;

    AckTracker& tracker() { return tracker_; }
    EdgeSinkCounters counters() const;

  private:
    void route(const engine::Delivery<engine::Event>& delivery, std::vector<std::uint64_t>& now);

    convert::Converter& converter_;
    ClockFn clock_;
    LogFn log_;
    AckTracker tracker_;
    Gateway* gateway_ = nullptr;
    VenueAdapter* venues_ = nullptr;
    BankAdapter* banks_ = nullptr;

    mutable std::mutex mu_;
    EdgeSinkCounters counters_;
};

// Sequencer::acknowledge as an AcknowledgeFn (a refused acknowledgement, after the
// sequencer stopped, leaves the rows for the next start: nothing to do here).
template <typename Seq>
AcknowledgeFn acknowledge_with(Seq& sequencer) {
    return [&sequencer](std::span<const std::uint64_t> ids) {
        static_cast<void>(sequencer.acknowledge(ids));
    };
}

}  // namespace fxsettle::adapters::edge
