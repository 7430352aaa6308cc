// SessionHost: a set of QuickFIX sessions (one acceptor, or initiators) behind a plain
// C++14 interface (no QuickFIX type here), used by the PSP gateway, the venue and bank
// adapters, the simulators and fix_bench.
//
// Threads and the rule this file exists for (issue 5, "Never send from QuickFIX's reader
// thread"): QuickFIX's reader threads only validate, decode into WireMessage and call the
// Handler, which must enqueue and return. send() never touches a QuickFIX session: it
// puts the message on the session's bounded outbound queue, and the session's own sender
// thread calls FIX::Session::sendToTarget. A blocking socket send therefore stalls only
// that session's sender. A session whose queue reaches `outbound_queue_max` is a slow
// consumer: it is logged out with the text "slow consumer: <n> messages queued" and
// counted; what was queued is still handed to QuickFIX (which, with the session logged
// out, stores it without sending), so the counterparty receives it by ResendRequest
// after its next logon and nothing the outbox released is lost.
//
// Durability: sessions use the LMDB message store (lmdb_store.h) at `store_path`. The
// host reports a message through Handler::on_sent only once it is stored durably (with
// its sequence number), so an outbox row may be acknowledged from there. That holds
// whether the session is logged on or not (QuickFIX stores application messages of a
// logged-out session and resends them on the counterparty's ResendRequest). With
// `store_durability` kLagging (the default) QuickFIX's store calls only queue their
// writes and a flusher commits those of all sessions together; the message goes to the
// socket at once, and a host thread (the "acknowledger") calls on_sent once the flush
// covering it is durable -- so one fsync serves many messages and sessions, and a crash
// loses only messages whose outbox rows are still unacknowledged (redelivered after the
// restart). With kSynchronous every store call is fsynced before QuickFIX continues
// (one fsync per message per session), and on_sent follows sendToTarget directly.
//
// Validation: every session loads the data dictionary (`dictionary_path`,
// config/fix/FIX44-fxsettle.xml) with UseDataDictionary=Y, and every incoming
// application message also passes validate_strict (strict_validation.h): a message that
// breaks the dictionary is answered with a session Reject (35=3) naming the tag, counted,
// and never reaches the Handler.
//
// Binding: QuickFIX 1.15.1 has no bind-address setting and listens on INADDR_ANY. The
// host makes its acceptor listen on `bind_address` (127.0.0.1 by default) by
// interposing bind() for the sockets its own acceptor creates; listening elsewhere than
// the configured address is never silent.
//
// TLS: a session spec with tls.enabled runs through QuickFIX's ThreadedSSLSocketAcceptor
// / -Initiator (all sessions of one host use TLS or none do); the host writes QuickFIX's
// SSL settings (ServerCertificateFile, ..., CertificateVerifyLevel) from the spec.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "adapters/fix/wire.h"

namespace fxsettle {
namespace adapters {

constexpr std::size_t kSessionsPerHostMax = 1024;
constexpr std::size_t kOutboundQueueMaxCeiling = std::size_t{1} << 20;

struct TlsSpec {
    bool enabled = false;
    std::string cert;  // PEM certificate presented to the peer (acceptor: required)
    std::string key;   // PEM private key of `cert`
    std::string ca;    // PEM CA bundle that verifies the peer
    // Acceptor: peers must present a certificate signed by `ca` (mutual TLS).
    bool require_peer_cert = false;
};

struct SessionSpec {
    SessionKey key;
    // Initiators: where the counterparty listens.
    std::string connect_host = "127.0.0.1";
    std::uint16_t connect_port = 0;
    std::chrono::seconds heartbeat{30};
    std::chrono::seconds reconnect_interval{5};
    // Initiators: Username (553) and Password (554) sent on Logon (empty: none).
    std::string username;
    std::string password;
    // Ask for sequence numbers 1/1 at every logon (ResetSeqNumFlag 141=Y). Off for every
    // production session; the bare echo pair of fix_bench may use it.
    bool reset_on_logon = false;
    TlsSpec tls;
};

enum class HostRole : std::uint8_t { kAcceptor = 0, kInitiator = 1 };

// The message store's durability (mirrors lmdb_store.h's StoreDurability, which this plain
// header cannot include).
enum class StoreMode : std::uint8_t { kSynchronous = 0, kLagging = 1 };

struct HostOptions {
    HostRole role = HostRole::kAcceptor;
    // Acceptor: the address and port to listen on (the port must be free: tests pick
    // one with a probe socket on 127.0.0.1).
    std::string bind_address = "127.0.0.1";
    std::uint16_t listen_port = 0;
    std::vector<SessionSpec> sessions;  // at most kSessionsPerHostMax
    std::string dictionary_path;        // the FIX 4.4 data dictionary (required)
    std::string store_path;             // the LMDB message store file (required)
    // QuickFIX's message and event logs go to files here; empty: no QuickFIX log.
    std::string log_dir;
    // The per-session bounded outbound queue; reaching it logs the session out.
    std::size_t outbound_queue_max = 65'536;
    // The durable store's group commit size (lmdb_store.h).
    std::size_t store_group_commit_writes_max = 1024;
    // Lagging (group) persistence with durable acknowledgement, or one fsync per store
    // call (lmdb_store.h: StoreDurability).
    StoreMode store_durability = StoreMode::kLagging;
    // Lagging: the longest a queued store write waits when no acknowledgement waits for it.
    std::chrono::microseconds store_flush_interval{2000};
    // Lagging: the sender sequence numbers reserved ahead (lmdb_store.h), 2 .. 1,000,000.
    std::int64_t store_sender_reserve_block = 10000;
    // Acceptor: a socket send to a counterparty that stopped reading fails after this long
    // (SO_SNDTIMEO) instead of blocking its session for ever; 0: never.
    std::chrono::milliseconds send_timeout{5000};
    // Acceptor: connections accepted that have not completed a Logon yet (TLS handshake
    // included): while this many are open, a new one is closed as it is accepted
    // (HostCounters::connections_refused). 0: no bound. Logged-on sessions are not counted.
    std::uint32_t unauthenticated_connections_max = 64;
    // Acceptor: a connection that has not completed a Logon this long after it was accepted
    // is closed (HostCounters::logon_deadline_closes). 0: never. QuickFIX 1.15.1 times out
    // none (its LogonTimeout applies only to a side that sent a Logon).
    std::chrono::milliseconds logon_deadline{10000};
};

// Why send() did not queue a message.
enum class SendResult : std::uint8_t {
    kQueued = 0,
    kUnknownSession = 1,  // no session with that key on this host
    kSlowConsumer = 2,    // the queue was full: the session is being logged out; the message
                          // was still queued (it will be stored, not lost)
    kStopped = 3,         // the host is stopping or stopped: nothing was queued
    kInvalid = 4,         // the message cannot be built (wire_codec.h: to_fix): nothing was
                          // queued; send()'s `error` says why, naming the tag
};
const char* send_result_name(SendResult result);

// A snapshot of the host's counters (metrics and tests), summed over its sessions.
struct HostCounters {
    std::uint64_t messages_in = 0;     // application messages handed to the Handler
    std::uint64_t messages_out = 0;    // application messages handed to QuickFIX
    std::uint64_t rejected_in = 0;     // incoming messages refused by validation
    std::uint64_t logons_refused = 0;  // Handler::authenticate said no
    std::uint64_t slow_consumer_logouts = 0;
    std::uint64_t queued_out = 0;   // messages waiting in the outbound queues now
    std::uint64_t invalid_out = 0;  // send() refused with SendResult::kInvalid
    // Lagging store: messages stored but not yet reported through on_sent (waiting for
    // their flush), and flushes the store committed (fsyncs) so far.
    std::uint64_t awaiting_durable = 0;
    std::uint64_t store_commits = 0;
    // Acceptor: connections not logged on yet now; connections closed at accept() because
    // unauthenticated_connections_max were open; connections closed for not logging on
    // within logon_deadline.
    std::uint64_t unauthenticated_connections = 0;
    std::uint64_t connections_refused = 0;
    std::uint64_t logon_deadline_closes = 0;
};

// Per-session figures (metrics: per session and message type).
struct SessionCounters {
    SessionKey key;
    bool logged_on = false;
    std::uint64_t messages_in = 0;
    std::uint64_t messages_out = 0;
    std::uint64_t rejected_in = 0;
    std::uint64_t queued_out = 0;
    std::uint64_t next_sender_seq = 0;
    std::uint64_t next_target_seq = 0;
    std::uint64_t slow_consumer_logouts = 0;
    // Application messages per MsgType (non-zero only): received (handed to the Handler)
    // and sent (handed to QuickFIX). Types outside the dictionary's are counted as "other".
    std::vector<std::pair<std::string, std::uint64_t>> received_by_type;
    std::vector<std::pair<std::string, std::uint64_t>> sent_by_type;
};

// The application's side. Called on QuickFIX's threads (and on_sent on the session's
// sender thread): return quickly, never block on the engine, never call send() expecting
// it to go out before returning. May be called concurrently for different sessions.
class Handler {
  public:
    virtual ~Handler() = default;
    // Acceptor: a Logon arrived. Return an empty string to accept it, or the reason to
    // refuse it (sent as the Logout's Text (58); the session is disconnected and the
    // refusal counted). Initiators are never asked.
    virtual std::string authenticate(const SessionKey& key, const std::string& username,
                                     const std::string& password) = 0;
    virtual void on_logon(const SessionKey& key) = 0;
    virtual void on_logout(const SessionKey& key) = 0;
    // A valid application message (dictionary and validate_strict passed).
    virtual void on_message(const SessionKey& key, WireMessage&& message) = 0;
    // The messages queued with these tokens were handed to QuickFIX, which stored them
    // durably (sent, or to be resent after the next logon). Tokens of one session in
    // queue order. A token of 0 is never reported. Called on the session's sender thread
    // (synchronous store) or on the host's acknowledger thread (lagging store).
    virtual void on_sent(const SessionKey& key, const std::vector<std::uint64_t>& tokens) = 0;
};

class SessionHost {
  public:
    // Checks the options (an error names the bad option), loads the dictionary and opens
    // the store. Returns nullptr and sets *error on failure: a missing dictionary, a
    // store that cannot be opened, a port in use (acceptor), unreadable certificates.
    static std::unique_ptr<SessionHost> create(HostOptions options, Handler& handler,
                                               std::string* error);
    ~SessionHost();  // stop()s
    SessionHost(const SessionHost&) = delete;
    SessionHost& operator=(const SessionHost&) = delete;

    // Starts listening (acceptor) or connecting (initiators) and the sender threads.
    // False and *error on failure (port in use: "cannot listen on 127.0.0.1:9878: ...").
    bool start(std::string* error);
    // Drains the outbound queues into QuickFIX, logs every session out (text `reason`),
    // waits up to `grace` for the logouts, then stops the threads; with the lagging store
    // it then reports the last on_sent once they are durable (up to 5 s). Idempotent.
    void stop(const std::string& reason = "shutdown",
              std::chrono::milliseconds grace = std::chrono::milliseconds{2000});

    // Thread-safe and never blocks: builds the FIX message (to_fix: structure only, no
    // required-field check; wire_check() does that in tests) and queues it for the
    // session's sender thread. `token` (0: none) comes back through Handler::on_sent once
    // QuickFIX stored it. kInvalid sets *error (when given) to the reason.
    SendResult send(const SessionKey& key, WireMessage message, std::uint64_t token = 0,
                    std::string* error = nullptr);
    // While an object of this class lives, send() calls made on its thread (to any host)
    // queue their messages but wake each session's sender thread once, when the object
    // ends, instead of once per message: a batch of events delivered together costs one
    // thread wake-up per session, and the sender takes the messages as one batch. A queue
    // that reaches a sender's batch size wakes its sender at once. Nests; not movable.
    class WakeupBatch {
      public:
        WakeupBatch();
        ~WakeupBatch();
        WakeupBatch(const WakeupBatch&) = delete;
        WakeupBatch& operator=(const WakeupBatch&) = delete;
    };

    // Logs a session out with `reason` (e.g. an authorisation breach the gateway counts).
    // It ends the connection, not the counterparty's access: the session takes (acceptor)
    // or makes (initiator) the next logon as usual.
    bool logout(const SessionKey& key, const std::string& reason);

    bool logged_on(const SessionKey& key) const;
    HostCounters counters() const;
    std::vector<SessionCounters> session_counters() const;
    // The port actually listened on (acceptor, after start()).
    std::uint16_t listen_port() const;

  private:
    struct Impl;
    explicit SessionHost(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace adapters
}  // namespace fxsettle
