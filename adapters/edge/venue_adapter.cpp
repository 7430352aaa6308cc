#include "adapters/edge/venue_adapter.h"

#include <utility>

#include "engine/core/settlement.h"

namespace fxsettle::adapters::edge {
namespace {

bool is_done_status(const std::string* ord_status) {
    return ord_status != nullptr &&
           (*ord_status == "2" || *ord_status == "4" || *ord_status == "8" || *ord_status == "C" ||
            *ord_status == "3");
}

}  // namespace

VenueAdapter::VenueAdapter(const config::Config& config, convert::Converter& converter,
                           CommandSubmitter& submitter, ClockFn clock, LogFn log,
                           VenueAdapterOptions options)
    : config_(config),
      converter_(converter),
      submitter_(submitter),
      clock_(std::move(clock)),
      log_(log ? std::move(log) : stderr_log()),
      options_(options),
      sessions_(converter.chart().venue_count(), config.venues,
                [&](std::string_view id) { return converter.chart().venue_index(id); }) {}

SessionKey VenueAdapter::session_key(engine::VenueIndex venue) const {
    return sessions_.key(venue);
}

std::optional<engine::VenueIndex> VenueAdapter::venue_of(const SessionKey& key) const {
    if (const auto index = sessions_.index_of(key)) {
        return static_cast<engine::VenueIndex>(*index);
    }
    return std::nullopt;
}

SendResult VenueAdapter::send(engine::VenueIndex venue, WireMessage message, std::uint64_t token) {
    return sessions_.send(venue, std::move(message), token);
}

SendResult VenueAdapter::send_hedge(const engine::HedgeOrder& hedge,
                                    std::vector<WireMessage> messages, std::uint64_t token,
                                    std::size_t* queued) {
    {
        std::lock_guard lock(mu_);
        if (in_flight_.size() < engine::kHedgesInFlightMax || in_flight_.contains(hedge.hedge_id))
            in_flight_.insert_or_assign(hedge.hedge_id, hedge);
        else
            log_(LogLevel::kError,
                 "hedge " + convert::hedge_cl_ord_id(hedge.hedge_id) + " not tracked: " +
                     std::to_string(engine::kHedgesInFlightMax) + " hedges already in flight");
        counters_.hedges_in_flight = in_flight_.size();
        ++counters_.hedges_sent;
    }
    *queued = 0;
    for (WireMessage& m : messages) {
        const SendResult r = send(hedge.venue, std::move(m), token);
        if (r != SendResult::kQueued && r != SendResult::kSlowConsumer)
            return r;
        ++*queued;
    }
    return SendResult::kQueued;
}

std::vector<engine::HedgeId> VenueAdapter::hedges_in_flight(engine::VenueIndex venue) const {
    std::lock_guard lock(mu_);
    std::vector<engine::HedgeId> out;
    for (const auto& [id, h] : in_flight_) {
        if (h.venue == venue)
            out.push_back(id);
    }
    return out;
}

VenueAdapterCounters VenueAdapter::counters() const {
    std::lock_guard lock(mu_);
    return counters_;
}

void VenueAdapter::hedge_done(engine::HedgeId hedge) {
    std::lock_guard lock(mu_);
    in_flight_.erase(hedge);
    counters_.hedges_in_flight = in_flight_.size();
}

void VenueAdapter::on_logon(const SessionKey& key) {
    const std::optional<engine::VenueIndex> venue = venue_of(key);
    if (!venue)
        return;
    std::vector<engine::HedgeOrder> hedges;
    std::string md_req_id;
    {
        std::lock_guard lock(mu_);
        ++counters_.logons;
        for (const auto& [id, h] : in_flight_) {
            if (h.venue == *venue)
                hedges.push_back(h);
        }
        md_req_id =
            "MD-" + converter_.chart().venue_id(*venue) + "-" + std::to_string(++md_requests_);
    }
    log_(LogLevel::kInfo, "venue " + converter_.chart().venue_id(*venue) + " logged on (" +
                              key.to_string() + "); " + std::to_string(hedges.size()) +
                              " hedge(s) in flight, asking their status");
    std::uint64_t sent_md = 0, sent_status = 0;
    if (send(*venue, converter_.market_data_request(*venue, md_req_id), 0) == SendResult::kQueued)
        ++sent_md;
    for (const engine::HedgeOrder& h : hedges) {
        if (send(*venue, converter_.hedge_status_request(h), 0) == SendResult::kQueued)
            ++sent_status;
    }
    std::lock_guard lock(mu_);
    counters_.subscriptions_sent += sent_md;
    counters_.status_requests_sent += sent_status;
}

void VenueAdapter::on_logout(const SessionKey& key) {
    {
        std::lock_guard lock(mu_);
        ++counters_.logouts;
    }
    log_(LogLevel::kInfo, "venue session " + key.to_string() + " logged out");
}

void VenueAdapter::on_message(const SessionKey& key, WireMessage&& message) {
    const std::optional<engine::VenueIndex> venue = venue_of(key);
    {
        std::lock_guard lock(mu_);
        ++counters_.messages_by_type[message.msg_type];
    }
    if (!venue) {
        log_(LogLevel::kError, "message " + message.msg_type + " on unknown venue session " +
                                   key.to_string() + " dropped");
        return;
    }
    retry_deferred();
    if (options_.stamp_rates_on_receipt && (message.msg_type == "W" || message.msg_type == "X"))
        message.sending_time.clear();
    convert::Inbound in = converter_.from_venue(*venue, message, clock_());
    if (in.commands.empty()) {
        if (in.refused() || !in.note.empty()) {
            std::lock_guard lock(mu_);
            counters_.refused_messages += in.refused() ? 1 : 0;
        }
        if (!in.note.empty() || in.refused()) {
            log_(in.refused() ? LogLevel::kWarning : LogLevel::kInfo,
                 "venue " + converter_.chart().venue_id(*venue) + " " + message.msg_type + ": " +
                     (in.note.empty() ? in.text : in.note));
        }
    }
    bool deferred = false;
    for (engine::Command& command : in.commands) {
        if (std::holds_alternative<engine::VenueRate>(command)) {
            const bool ok =
                submitter_.submit(std::move(command)) == engine::SubmitResult::kAccepted;
            std::lock_guard lock(mu_);
            ++(ok ? counters_.rates_submitted : counters_.rates_dropped_busy);
            continue;
        }
        const engine::Command copy = command;
        switch (deferred_.submit(submitter_, std::move(command), options_.submit_wait_ms)) {
            case DeferredCommands::Outcome::kSubmitted:
                submitted(copy);
                break;
            case DeferredCommands::Outcome::kDeferred: {
                deferred = true;
                std::lock_guard lock(mu_);
                ++counters_.replies_deferred;
                counters_.deferred_now = deferred_.size();
                break;
            }
            case DeferredCommands::Outcome::kLost: {
                {
                    std::lock_guard lock(mu_);
                    ++counters_.replies_lost;
                }
                log_(LogLevel::kError, "venue " + converter_.chart().venue_id(*venue) + " " +
                                           message.msg_type + " lost: the engine is busy and " +
                                           std::to_string(kDeferredRepliesMax) +
                                           " replies already wait for it");
                break;
            }
        }
    }
    // An execution report that closes the order (a status report of a filled order, say)
    // ends the hedge's flight once everything it carried was submitted.
    if (!deferred && message.msg_type == "8") {
        if (const std::string* cl = message.find(convert::tag::kClOrdId)) {
            if (const auto id = convert::parse_hedge_cl_ord_id(*cl);
                id && is_done_status(message.find(convert::tag::kOrdStatus)))
                hedge_done(*id);
        }
    }
}

void VenueAdapter::submitted(const engine::Command& command) {
    if (const auto* f = std::get_if<engine::HedgeFill>(&command)) {
        {
            std::lock_guard lock(mu_);
            ++counters_.fills_submitted;
        }
        if (f->last)
            hedge_done(f->hedge_order_id);
    } else if (const auto* r = std::get_if<engine::HedgeReject>(&command)) {
        {
            std::lock_guard lock(mu_);
            ++counters_.rejects_submitted;
        }
        hedge_done(r->hedge_order_id);
    }
}

void VenueAdapter::retry_deferred() {
    if (deferred_.size() == 0)
        return;
    for (const engine::Command& c : deferred_.retry(submitter_))
        submitted(c);
    std::lock_guard lock(mu_);
    counters_.deferred_now = deferred_.size();
}

void VenueAdapter::on_sent(const SessionKey& /*key*/, const std::vector<std::uint64_t>& tokens) {
    if (AckTracker* tracker = tracker_.load())
        tracker->on_sent(tokens);
}

}  // namespace fxsettle::adapters::edge
