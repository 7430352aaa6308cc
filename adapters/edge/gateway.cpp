#include "adapters/edge/gateway.h"

#include <chrono>
#include <utility>

namespace fxsettle::adapters::edge {
namespace {

// The request's own id, for the busy reject's text: (tag name, value).
std::pair<std::string, std::string> client_id_of(const WireMessage& m) {
    namespace tag = convert::tag;
    static constexpr std::pair<int, const char*> kIds[] = {
        {tag::kPayoutInstrId, "PayoutInstrID (7100)"},
        {tag::kQuoteReqId, "QuoteReqID (131)"},
        {tag::kPosReqId, "PosReqID (710)"},
        {tag::kOrdStatusReqId, "OrdStatusReqID (790)"},
        {tag::kClOrdId, "ClOrdID (11)"},
    };
    for (const auto& [t, name] : kIds) {
        if (const std::string* v = m.find(t))
            return {name, *v};
    }
    return {"id", ""};
}

}  // namespace

Gateway::Gateway(const config::Config& config, convert::Converter& converter,
                 CommandSubmitter& submitter, ClockFn clock, LogFn log, GatewayOptions options)
    : config_(config),
      converter_(converter),
      submitter_(submitter),
      clock_(std::move(clock)),
      log_(log ? std::move(log) : stderr_log()),
      throttle_(options.throttle) {
    psps_.resize(converter_.chart().psp_count());
    for (const config::PspConfig& p : config_.psps) {
        const std::optional<engine::PspIndex> index = converter_.chart().psp_index(p.id);
        if (!index || *index >= psps_.size())
            continue;
        Psp& psp = psps_[*index];
        psp.index = *index;
        psp.id = p.id;
        psp.username = p.username;
        psp.key = SessionKey{config_.gateway.sender_comp_id, p.sender_comp_id};
        auto hash = parse_password_hash(p.password_hash);
        psp.hash_ok = hash.has_value();
        if (hash) {
            psp.hash = std::move(*hash);
        } else {
            log_(LogLevel::kError,
                 "psp " + p.id + " can never log on: its password_hash: " + hash.error().message());
        }
        by_target_[p.sender_comp_id] = *index;
    }
    // A fixed hash of the same cost as the demo ones: an unknown session's logon takes as
    // long as a real one, so timing does not tell which CompIDs exist.
    dummy_hash_.iterations = kPasswordIterationsDefault;
    dummy_hash_.salt.assign(16, 0x5a);
}

SessionKey Gateway::session_key(engine::PspIndex psp) const {
    return psps_.at(psp).key;
}

std::optional<engine::PspIndex> Gateway::psp_of(const SessionKey& key) const {
    const Psp* p = find(key);
    if (p == nullptr)
        return std::nullopt;
    return p->index;
}

const Gateway::Psp* Gateway::find(const SessionKey& key) const {
    if (key.sender_comp_id != config_.gateway.sender_comp_id)
        return nullptr;
    const auto it = by_target_.find(key.target_comp_id);
    if (it == by_target_.end())
        return nullptr;
    return &psps_[it->second];
}

SendResult Gateway::send(engine::PspIndex psp, WireMessage message, std::uint64_t token) {
    SessionHost* host = host_.load(std::memory_order_acquire);
    if (host == nullptr || psp >= psps_.size())
        return host == nullptr ? SendResult::kStopped : SendResult::kUnknownSession;
    return host->send(psps_[psp].key, std::move(message), token);
}

GatewayCounters Gateway::counters() const {
    GatewayCounters c;
    {
        std::lock_guard lock(mu_);
        c = counters_;
    }
    c.throttle = throttle_.counters();
    return c;
}

std::string Gateway::authenticate(const SessionKey& key, const std::string& username,
                                  const std::string& password) {
    const auto now = std::chrono::steady_clock::now();
    std::chrono::seconds remaining{};
    if (throttle_.locked(username, now, &remaining)) {
        {
            std::lock_guard lock(mu_);
            ++counters_.auth_locked;
        }
        log_(LogLevel::kWarning, "logon of " + key.to_string() + " refused: username '" + username +
                                     "' is locked out for " + std::to_string(remaining.count()) +
                                     " s after repeated failures");
        return "logon refused: too many failed logons for this username; retry in " +
               std::to_string(remaining.count()) + " s";
    }
    const Psp* psp = find(key);
    std::string refusal;
    std::uint64_t GatewayCounters::*counter = nullptr;
    if (psp == nullptr) {
        static_cast<void>(verify_password(password, dummy_hash_));
        refusal =
            "logon refused: SenderCompID '" + key.target_comp_id + "' is not a PSP of this gateway";
        counter = &GatewayCounters::auth_unknown_session;
    } else if (username != psp->username) {
        static_cast<void>(verify_password(password, psp->hash_ok ? psp->hash : dummy_hash_));
        refusal = "logon refused: wrong Username (553) or Password (554)";
        counter = &GatewayCounters::auth_wrong_username;
    } else if (!psp->hash_ok || !verify_password(password, psp->hash)) {
        refusal = "logon refused: wrong Username (553) or Password (554)";
        counter = &GatewayCounters::auth_wrong_password;
    }
    if (counter == nullptr) {
        throttle_.record_success(username);
        return {};
    }
    throttle_.record_failure(username, now);
    {
        std::lock_guard lock(mu_);
        ++(counters_.*counter);
    }
    log_(LogLevel::kWarning, "logon of " + key.to_string() + " as '" + username + "': " +
                                 refusal.substr(std::string_view("logon refused: ").size()));
    return refusal;
}

void Gateway::on_logon(const SessionKey& key) {
    {
        std::lock_guard lock(mu_);
        ++counters_.logons;
    }
    const Psp* psp = find(key);
    log_(LogLevel::kInfo,
         "psp " + (psp ? psp->id : std::string("?")) + " logged on (" + key.to_string() + ")");
}

void Gateway::on_logout(const SessionKey& key) {
    {
        std::lock_guard lock(mu_);
        ++counters_.logouts;
    }
    const Psp* psp = find(key);
    log_(LogLevel::kInfo,
         "psp " + (psp ? psp->id : std::string("?")) + " logged out (" + key.to_string() + ")");
}

void Gateway::reply(const SessionKey& key, WireMessage message) {
    SessionHost* host = host_.load(std::memory_order_acquire);
    if (host == nullptr)
        return;
    const SendResult r = host->send(key, std::move(message), 0);
    if (r != SendResult::kQueued && r != SendResult::kSlowConsumer) {
        log_(LogLevel::kWarning,
             "reply to " + key.to_string() + " not queued: " + send_result_name(r));
    }
}

void Gateway::count_reject(engine::Reason reason) {
    std::lock_guard lock(mu_);
    ++counters_.rejects_by_reason[static_cast<std::uint16_t>(reason)];
}

void Gateway::on_message(const SessionKey& key, WireMessage&& message) {
    {
        std::lock_guard lock(mu_);
        ++counters_.messages_by_type[message.msg_type];
    }
    const Psp* psp = find(key);
    if (psp == nullptr) {
        // The host only hands over messages of configured sessions after authenticate().
        log_(LogLevel::kError,
             "message " + message.msg_type + " on unknown session " + key.to_string() + " dropped");
        return;
    }
    convert::Inbound in = converter_.from_psp(psp->index, message, clock_());
    if (in.authorization_breach) {
        {
            std::lock_guard lock(mu_);
            ++counters_.authorization_breaches;
            ++counters_.rejects_by_reason[static_cast<std::uint16_t>(in.reason)];
        }
        log_(LogLevel::kWarning, "authorisation breach by psp " + psp->id + " (" + key.to_string() +
                                     "), MsgType " + message.msg_type + ": " + in.text);
        if (in.reply)
            reply(key, std::move(*in.reply));
        return;
    }
    if (in.refused()) {
        count_reject(in.reason);
        if (in.reply)
            reply(key, std::move(*in.reply));
        return;
    }
    std::size_t submitted = 0;
    for (engine::Command& command : in.commands) {
        const engine::SubmitResult r = submitter_.submit(std::move(command));
        if (r == engine::SubmitResult::kAccepted) {
            ++submitted;
            continue;
        }
        const auto [id_name, id] = client_id_of(message);
        std::string text = "busy: ";
        text +=
            r == engine::SubmitResult::kQueueFull
                ? "the engine's queue is full"
                : "the engine is not running (" + std::string(engine::submit_result_name(r)) + ")";
        text += "; nothing was done; retry with the same " + id_name;
        if (!id.empty())
            text += " '" + id + "'";
        {
            std::lock_guard lock(mu_);
            ++counters_.busy_rejects;
            counters_.commands_submitted += submitted;
        }
        log_(LogLevel::kWarning, "psp " + psp->id + " " + message.msg_type + ": " + text);
        reply(key,
              convert::Converter::business_reject(message, kBusinessRejectApplicationNotAvailable,
                                                  engine::Reason::kNone, std::move(text)));
        return;
    }
    if (!in.note.empty())
        log_(LogLevel::kInfo, "psp " + psp->id + " " + message.msg_type + ": " + in.note);
    std::lock_guard lock(mu_);
    counters_.commands_submitted += submitted;
}

void Gateway::on_sent(const SessionKey& /*key*/, const std::vector<std::uint64_t>& tokens) {
    if (AckTracker* tracker = tracker_.load())
        tracker->on_sent(tokens);
}

}  // namespace fxsettle::adapters::edge
