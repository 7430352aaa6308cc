// The PSP gateway: the Handler of the acceptor SessionHost the PSPs log on to (issue 5,
// "The PSP gateway").
//
// Sessions. Each configured PSP has one session, {gateway.sender_comp_id,
// psp.sender_comp_id}, and that session acts for exactly that PSP: the PSP of every
// command is the session's, never message content (convert.h from_psp).
//
// Logon. authenticate() accepts a Logon only when the session's PSP is configured, its
// Username (553) is that PSP's username and its Password (554) verifies against the PSP's
// PBKDF2 hash (password.h). Failures are counted per cause and throttled per username:
// after LogonThrottleOptions::failures_max failures within the window the username is
// refused at once for the cooling period. PBKDF2 runs on the logging-on session's own
// reader thread (about 40 ms at 100,000 iterations), never on another session's.
//
// Messages. on_message() converts with Converter::from_psp and:
//  - content the engine cannot take: sends the converter's reply at once (counted per
//    Reason);
//  - an authorisation breach (the message names another PSP's account or orders): sends
//    the reply, logs a warning naming the session and what it tried, counts it;
//  - otherwise submits the command(s) without blocking; a full queue (or a stopped
//    sequencer) is answered at once with a BusinessMessageReject, BusinessRejectReason 4
//    (application not available), Text "busy: ... retry with the same <id>": nothing was
//    done, and client ids make the retry safe.
// Replies go through SessionHost::send (never from the reader thread itself: the host's
// sender thread sends them). Outcome events reach the PSP through EdgeSink.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "adapters/convert/convert.h"
#include "adapters/edge/common.h"
#include "adapters/edge/password.h"
#include "adapters/fix/session_host.h"
#include "config/config.h"

namespace fxsettle::adapters::edge {

// FIX BusinessRejectReason (380) 4: Application not available.
inline constexpr int kBusinessRejectApplicationNotAvailable = 4;

struct GatewayOptions {
    LogonThrottleOptions throttle;
};

struct GatewayCounters {
    std::map<std::string, std::uint64_t> messages_by_type;     // inbound, MsgType -> count
    std::map<std::uint16_t, std::uint64_t> rejects_by_reason;  // engine Reason -> count
    std::uint64_t busy_rejects = 0;  // refused because the sequencer's queue was full
    std::uint64_t commands_submitted = 0;
    std::uint64_t authorization_breaches = 0;
    std::uint64_t logons = 0;
    std::uint64_t logouts = 0;
    // Refused logons by cause.
    std::uint64_t auth_unknown_session = 0;  // no PSP with that SenderCompID
    std::uint64_t auth_wrong_username = 0;   // the Username is not the session's PSP's
    std::uint64_t auth_wrong_password = 0;
    std::uint64_t auth_locked = 0;  // refused at once: the username is cooling down
    std::uint64_t auth_failures() const {
        return auth_unknown_session + auth_wrong_username + auth_wrong_password + auth_locked;
    }
    LogonThrottleCounters throttle;
};

class Gateway final : public Handler {
  public:
    // `config`, `converter` and `submitter` must outlive the gateway. A PSP whose
    // password hash does not parse can never log on (logged once here).
    Gateway(const config::Config& config, convert::Converter& converter,
            CommandSubmitter& submitter, ClockFn clock, LogFn log, GatewayOptions options = {});

    // The host this gateway handles (created with *this as its Handler). Set once before
    // the host starts; replies and outbound events go through it.
    void attach(SessionHost* host) { host_.store(host, std::memory_order_release); }
    // Where on_sent tokens go (EdgeSink::tracker()). Set before the host starts.
    void set_ack_tracker(AckTracker* tracker) { tracker_.store(tracker); }

    // The session of `psp` (its key on the acceptor), and the PSP of a session.
    SessionKey session_key(engine::PspIndex psp) const;
    std::optional<engine::PspIndex> psp_of(const SessionKey& key) const;
    // Queues a message for a PSP's session (EdgeSink). kStopped when no host is attached.
    SendResult send(engine::PspIndex psp, WireMessage message, std::uint64_t token);

    GatewayCounters counters() const;

    // Handler
    std::string authenticate(const SessionKey& key, const std::string& username,
                             const std::string& password) override;
    void on_logon(const SessionKey& key) override;
    void on_logout(const SessionKey& key) override;
    void on_message(const SessionKey& key, WireMessage&& message) override;
    void on_sent(const SessionKey& key, const std::vector<std::uint64_t>& tokens) override;

  private:
    struct Psp {
        engine::PspIndex index = 0;
        std::string id;
        std::string username;
        PasswordHash hash;
        bool hash_ok = false;  // the config's hash parsed
        SessionKey key;
    };
    const Psp* find(const SessionKey& key) const;
    void reply(const SessionKey& key, WireMessage message);
    void count_reject(engine::Reason reason);

    const config::Config& config_;
    convert::Converter& converter_;
    CommandSubmitter& submitter_;
    ClockFn clock_;
    LogFn log_;
    std::vector<Psp> psps_;                              // by PspIndex
    std::map<std::string, engine::PspIndex> by_target_;  // PSP SenderCompID -> index
    LogonThrottle throttle_;
    PasswordHash dummy_hash_;  // checked for unknown sessions, so they take as long
    std::atomic<SessionHost*> host_{nullptr};
    std::atomic<AckTracker*> tracker_{nullptr};

    mutable std::mutex mu_;  // counters
    GatewayCounters counters_;
};

}  // namespace fxsettle::adapters::edge
