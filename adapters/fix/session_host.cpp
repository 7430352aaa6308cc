#include "adapters/fix/session_host.h"

#include <arpa/inet.h>
#include <pthread.h>
#include <quickfix/Application.h>
#include <quickfix/DataDictionary.h>
#include <quickfix/FileLog.h>
#include <quickfix/Message.h>
#include <quickfix/MessageStore.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/ThreadedSSLSocketAcceptor.h>
#include <quickfix/ThreadedSSLSocketInitiator.h>
#include <quickfix/ThreadedSocketAcceptor.h>
#include <quickfix/ThreadedSocketInitiator.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include "adapters/fix/bind_override.h"
#include "adapters/fix/lmdb_store.h"
#include "adapters/fix/masking_log.h"
#include "adapters/fix/read_limit.h"
#include "adapters/fix/strict_validation.h"
#include "adapters/fix/wire_codec.h"

namespace fxsettle {
namespace adapters {

const char* send_result_name(SendResult result) {
    switch (result) {
        case SendResult::kQueued:
            return "queued";
        case SendResult::kUnknownSession:
            return "unknown_session";
        case SendResult::kSlowConsumer:
            return "slow_consumer";
        case SendResult::kStopped:
            return "stopped";
        case SendResult::kInvalid:
            return "invalid";
    }
    return "unknown";
}

namespace {

// How many queued messages one hand-over to QuickFIX (and one on_sent call) carries.
constexpr std::size_t kSendBatchMax = 256;
// How long a session being logged out may take (LogoutTimeout is 2 s) before it is
// disconnected.
constexpr std::chrono::milliseconds kLogoutWait{4000};

bool fail(std::string* error, const std::string& text) {
    if (error != nullptr) {
        *error = text;
    }
    return false;
}

bool comp_id_ok(const std::string& id) {
    if (id.empty() || id.size() > 64) {
        return false;
    }
    for (const char c : id) {
        const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                        (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
        if (!ok) {
            return false;
        }
    }
    return true;
}

bool readable(const std::string& path) {
    std::ifstream in(path);
    return in.good();
}

FIX::SessionID session_id_of(const SessionKey& key) {
    return FIX::SessionID("FIX.4.4", key.sender_comp_id, key.target_comp_id);
}

// Forwards to the LMDB store, except for the creation time: QuickFIX resets a session's
// sequence numbers when its store was created in an earlier session period (StartTime /
// EndTime / StartDay / EndDay). fxsettle's sessions never reset on a clock, so the
// creation time reported to QuickFIX is always "now" (the store keeps the real one).
class NoClockResetStore : public FIX::MessageStore {
  public:
    NoClockResetStore(FIX::MessageStoreFactory& factory, FIX::MessageStore* inner)
        : factory_(factory), inner_(inner) {}
    ~NoClockResetStore() override { factory_.destroy(inner_); }
    NoClockResetStore(const NoClockResetStore&) = delete;
    NoClockResetStore& operator=(const NoClockResetStore&) = delete;

    bool set(int seq, const std::string& message) throw(FIX::IOException) override {
        return inner_->set(seq, message);
    }
    void get(int begin, int end, std::vector<std::string>& messages) const
        throw(FIX::IOException) override {
        inner_->get(begin, end, messages);
    }
    int getNextSenderMsgSeqNum() const throw(FIX::IOException) override {
        return inner_->getNextSenderMsgSeqNum();
    }
    int getNextTargetMsgSeqNum() const throw(FIX::IOException) override {
        return inner_->getNextTargetMsgSeqNum();
    }
    void setNextSenderMsgSeqNum(int value) throw(FIX::IOException) override {
        inner_->setNextSenderMsgSeqNum(value);
    }
    void setNextTargetMsgSeqNum(int value) throw(FIX::IOException) override {
        inner_->setNextTargetMsgSeqNum(value);
    }
    void incrNextSenderMsgSeqNum() throw(FIX::IOException) override {
        inner_->incrNextSenderMsgSeqNum();
    }
    void incrNextTargetMsgSeqNum() throw(FIX::IOException) override {
        inner_->incrNextTargetMsgSeqNum();
    }
    FIX::UtcTimeStamp getCreationTime() const throw(FIX::IOException) override {
        return FIX::UtcTimeStamp();
    }
    void reset() throw(FIX::IOException) override { inner_->reset(); }
    void refresh() throw(FIX::IOException) override { inner_->refresh(); }

  private:
    FIX::MessageStoreFactory& factory_;
    FIX::MessageStore* inner_;
};

class NoClockResetStoreFactory : public FIX::MessageStoreFactory {
  public:
    explicit NoClockResetStoreFactory(FIX::MessageStoreFactory& inner) : inner_(inner) {}
    FIX::MessageStore* create(const FIX::SessionID& id) override {
        return new NoClockResetStore(inner_, inner_.create(id));
    }
    void destroy(FIX::MessageStore* store) override { delete store; }

  private:
    FIX::MessageStoreFactory& inner_;
};

// A message queued by send(): checked there (check_wire) and built into a FIX::Message by
// the session's sender thread, off the caller's (the engine's) thread.
struct Outbound {
    WireMessage message;
    std::uint64_t token = 0;
    std::size_t type_index = 0;  // kCountedMsgTypes index, for the per-type counters
};

// Application message types counted per session and type (metrics); the last slot counts
// every other type. Lock-free: one relaxed atomic per slot.
const char* const kCountedMsgTypes[] = {"D", "F",  "G",  "H",  "8",  "9",  "j",  "R",
                                        "S", "AG", "AN", "AO", "AP", "V",  "W",  "X",
                                        "Y", "U1", "U2", "U3", "U4", "U5", "U6", "other"};
constexpr std::size_t kCountedMsgTypeSlots = sizeof(kCountedMsgTypes) / sizeof(kCountedMsgTypes[0]);

std::size_t msg_type_index(const std::string& msg_type) {
    for (std::size_t i = 0; i + 1 < kCountedMsgTypeSlots; ++i) {
        if (msg_type == kCountedMsgTypes[i]) {
            return i;
        }
    }
    return kCountedMsgTypeSlots - 1;
}

void by_type(const std::atomic<std::uint64_t> (&counts)[kCountedMsgTypeSlots],
             std::vector<std::pair<std::string, std::uint64_t>>* out) {
    for (std::size_t i = 0; i < kCountedMsgTypeSlots; ++i) {
        const std::uint64_t n = counts[i].load(std::memory_order_relaxed);
        if (n != 0) {
            out->emplace_back(kCountedMsgTypes[i], n);
        }
    }
}

// How long stop() waits for the last stored messages to become durable before it gives
// up on reporting them (their outbox rows then stay for the next start).
constexpr std::chrono::milliseconds kFinalFlushWait{5000};

}  // namespace

struct SessionSlot;

namespace {

// The sessions whose sender threads this thread's open WakeupBatch will wake (send() on
// this thread), and how deeply WakeupBatch objects nest on it.
struct HeldWakeups {
    int depth = 0;
    std::vector<SessionSlot*> slots;
};
thread_local HeldWakeups held_wakeups;

}  // namespace

// One session: its spec, outbound queue, sender thread and counters.
struct SessionSlot {
    SessionSpec spec;
    FIX::SessionID id;
    FIX::Session* session = nullptr;  // owned by the acceptor / initiator; set in start()

    std::mutex mutex;
    std::condition_variable cv;
    std::deque<Outbound> queue;  // guarded by mutex
    bool handing = false;        // the sender is handing a batch to QuickFIX
    bool slow_consumer = false;  // logged out as a slow consumer; cleared once drained
    bool stop_sender = false;    // finish the queue, then exit
    std::string logout_reason;   // non-empty: the sender logs the session out
    std::thread sender;

    std::atomic<bool> logged_on{false};
    std::atomic<std::uint64_t> messages_in{0};
    std::atomic<std::uint64_t> messages_out{0};
    std::atomic<std::uint64_t> rejected_in{0};
    std::atomic<std::uint64_t> slow_consumer_logouts{0};
    std::atomic<std::uint64_t> in_by_type[kCountedMsgTypeSlots] = {};
    std::atomic<std::uint64_t> out_by_type[kCountedMsgTypeSlots] = {};

    // The raw text of the last message received (CaptureLog), so that a Reject QuickFIX
    // generates for it can name the field it got wrong (find_group_repeat).
    std::mutex last_in_mutex;
    std::string last_in;  // guarded by last_in_mutex
};

namespace {

// A FIX::Log that keeps each session's last incoming message in its slot, then forwards
// everything to `inner` (the MaskingLog when log_dir is set; nothing otherwise).
class CaptureLog : public FIX::Log {
  public:
    CaptureLog(SessionSlot* slot, FIX::LogFactory* inner_factory, FIX::Log* inner)
        : slot_(slot), inner_factory_(inner_factory), inner_(inner) {}
    ~CaptureLog() override {
        if (inner_ != nullptr) {
            inner_factory_->destroy(inner_);
        }
    }
    void clear() override {
        if (inner_ != nullptr) {
            inner_->clear();
        }
    }
    void backup() override {
        if (inner_ != nullptr) {
            inner_->backup();
        }
    }
    void onIncoming(const std::string& value) override {
        if (slot_ != nullptr) {
            std::lock_guard<std::mutex> lock(slot_->last_in_mutex);
            slot_->last_in = value;
        }
        if (inner_ != nullptr) {
            inner_->onIncoming(value);
        }
    }
    void onOutgoing(const std::string& value) override {
        if (inner_ != nullptr) {
            inner_->onOutgoing(value);
        }
    }
    void onEvent(const std::string& value) override {
        if (inner_ != nullptr) {
            inner_->onEvent(value);
        }
    }

  private:
    SessionSlot* slot_;
    FIX::LogFactory* inner_factory_;
    FIX::Log* inner_;
};

class CaptureLogFactory : public FIX::LogFactory {
  public:
    CaptureLogFactory(const std::map<FIX::SessionID, SessionSlot*>& by_id, FIX::LogFactory* inner)
        : by_id_(by_id), inner_(inner) {}
    FIX::Log* create() override {
        return new CaptureLog(nullptr, inner_, inner_ != nullptr ? inner_->create() : nullptr);
    }
    FIX::Log* create(const FIX::SessionID& id) override {
        auto it = by_id_.find(id);
        return new CaptureLog(it == by_id_.end() ? nullptr : it->second, inner_,
                              inner_ != nullptr ? inner_->create(id) : nullptr);
    }
    void destroy(FIX::Log* log) override { delete log; }

  private:
    const std::map<FIX::SessionID, SessionSlot*>& by_id_;
    FIX::LogFactory* inner_;
};

}  // namespace

struct SessionHost::Impl : public FIX::Application {
    Impl(HostOptions opts, Handler& h) : options(std::move(opts)), handler(h) {}

    HostOptions options;
    Handler& handler;
    std::unique_ptr<FIX::DataDictionary> dictionary;
    std::unique_ptr<LmdbStoreFactory> lmdb;
    std::unique_ptr<NoClockResetStoreFactory> store;
    std::unique_ptr<FIX::LogFactory> log_factory;  // MaskingLogFactory (masking_log.h)
    std::unique_ptr<FIX::LogFactory> capture;      // CaptureLogFactory over log_factory
    FIX::SessionSettings settings;
    std::unique_ptr<FIX::Acceptor> acceptor;
    std::unique_ptr<FIX::Initiator> initiator;

    std::map<SessionKey, std::unique_ptr<SessionSlot>> sessions;
    std::map<FIX::SessionID, SessionSlot*> by_id;

    std::mutex lifecycle;  // start() / stop()
    bool started = false;
    bool stopped = false;
    std::atomic<bool> stopping{false};
    std::uint16_t port = 0;
    std::vector<int> listeners;  // the acceptor's listening sockets (refused at stop())
    // Written (in start() and stop()) and read by counters() under listeners_mutex.
    mutable std::mutex listeners_mutex;

    std::atomic<std::uint64_t> logons_refused{0};
    std::atomic<std::uint64_t> slow_consumer_logouts{0};
    // Acceptor: the thread closing connections past logon_deadline (watch_logons), and
    // the counts of the listeners already forgotten at stop().
    std::mutex watch_mutex;
    std::condition_variable watch_cv;
    bool watch_stop = false;  // guarded by watch_mutex
    std::thread watcher;
    std::atomic<std::uint64_t> logon_deadline_closes_before{0};
    std::atomic<std::uint64_t> connections_refused_before{0};
    std::atomic<std::uint64_t> invalid_out{0};

    // Lagging store: tokens stored by QuickFIX, reported once the store's durable epoch
    // reaches `epoch` (the store's submitted epoch read after the messages were stored).
    struct PendingAck {
        std::uint64_t epoch = 0;
        SessionSlot* slot = nullptr;
        std::vector<std::uint64_t> tokens;
    };
    std::mutex ack_mutex;
    std::condition_variable ack_cv;
    std::deque<PendingAck> acks;  // guarded by ack_mutex
    bool ack_stop = false;        // guarded by ack_mutex
    std::thread acker;
    std::atomic<std::uint64_t> awaiting_durable{0};

    bool lagging() const { return options.store_durability == StoreMode::kLagging; }

    bool is_acceptor() const { return options.role == HostRole::kAcceptor; }

    SessionSlot* slot(const FIX::SessionID& id) {
        auto it = by_id.find(id);
        return it == by_id.end() ? nullptr : it->second;
    }

    // ---- FIX::Application (QuickFIX's threads): validate, decode, hand over; never send.
    void onCreate(const FIX::SessionID&) override {}
    void onLogon(const FIX::SessionID& id) override {
        if (is_acceptor()) {
            // On the connection's own QuickFIX thread: it no longer counts against
            // unauthenticated_connections_max nor logon_deadline.
            detail::logged_on_here();
        }
        if (SessionSlot* s = slot(id)) {
            s->logged_on = true;
            handler.on_logon(s->spec.key);
        }
    }
    void onLogout(const FIX::SessionID& id) override {
        if (SessionSlot* s = slot(id)) {
            s->logged_on = false;
            handler.on_logout(s->spec.key);
        }
    }
    void toAdmin(FIX::Message& message, const FIX::SessionID& id) override {
        SessionSlot* s = slot(id);
        if (s == nullptr) {
            return;
        }
        const std::string& type = message.getHeader().getField(FIX::FIELD::MsgType);
        if (type == "3") {
            // A session Reject: QuickFIX's own validation or a throw from fromApp/fromAdmin.
            ++s->rejected_in;
            name_group_repeat(*s, message);
        } else if (type == "A" && !is_acceptor()) {
            if (!s->spec.username.empty()) {
                message.setField(553, s->spec.username);
            }
            if (!s->spec.password.empty()) {
                message.setField(554, s->spec.password);
            }
        }
    }
    // QuickFIX reads a field repeated inside a repeating group's entry as a new entry and
    // rejects naming the delimiter (373=1) or the count (373=16): name the repeated field
    // instead, from the raw message the Reject answers.
    void name_group_repeat(SessionSlot& s, FIX::Message& reject) {
        if (!reject.isSetField(45) || !reject.isSetField(373)) {
            return;
        }
        const std::string reason = reject.getField(373);
        if (reason != "1" && reason != "16") {
            return;
        }
        std::string raw;
        {
            std::lock_guard<std::mutex> lock(s.last_in_mutex);
            raw = s.last_in;
        }
        if (raw.find("\00134=" + reject.getField(45) + "\001") == std::string::npos) {
            return;  // not the message this Reject answers
        }
        GroupRepeat repeat;
        if (!find_group_repeat(raw, *dictionary, &repeat)) {
            return;
        }
        reject.setField(371, std::to_string(repeat.tag));
        reject.setField(373, std::to_string(repeat.session_reject_reason));
        reject.setField(58, repeat.text);
    }
    void toApp(FIX::Message&, const FIX::SessionID&) throw(FIX::DoNotSend) override {}
    void fromAdmin(const FIX::Message& message,
                   const FIX::SessionID& id) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                                   FIX::IncorrectTagValue,
                                                   FIX::RejectLogon) override {
        validate_strict(message, *dictionary);
        SessionSlot* s = slot(id);
        if (s == nullptr || !is_acceptor()) {
            return;
        }
        if (message.getHeader().getField(FIX::FIELD::MsgType) != "A") {
            return;
        }
        const std::string username = message.isSetField(553) ? message.getField(553) : "";
        const std::string password = message.isSetField(554) ? message.getField(554) : "";
        const std::string refusal = handler.authenticate(s->spec.key, username, password);
        if (!refusal.empty()) {
            ++logons_refused;
            throw FIX::RejectLogon(refusal);
        }
    }
    void fromApp(const FIX::Message& message,
                 const FIX::SessionID& id) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                                 FIX::IncorrectTagValue,
                                                 FIX::UnsupportedMessageType) override {
        // What DataDictionary::validate left out; a throw becomes a Reject naming the tag
        // (counted in toAdmin).
        validate_strict(message, *dictionary);
        SessionSlot* s = slot(id);
        if (s == nullptr) {
            return;
        }
        WireMessage wire;
        std::string error;
        if (!from_fix(message, &wire, &error)) {
            throw FIX::IncorrectDataFormat(0, error);
        }
        ++s->messages_in;
        s->in_by_type[msg_type_index(wire.msg_type)].fetch_add(1, std::memory_order_relaxed);
        handler.on_message(s->spec.key, std::move(wire));
    }

    // ---- the acceptor's logon deadline: every connection not logged on `logon_deadline`
    // after its accept is shut down (QuickFIX's reader then sees it gone and closes it).
    void watch_logons() {
        const auto deadline = options.logon_deadline;
        const auto period = std::max(std::chrono::milliseconds(10),
                                     std::min(std::chrono::milliseconds(200), deadline / 4));
        std::unique_lock<std::mutex> lock(watch_mutex);
        while (!watch_cv.wait_for(lock, period, [&] { return watch_stop; })) {
            const auto before = std::chrono::steady_clock::now() - deadline;
            for (int fd : listeners) {
                static_cast<void>(detail::shut_down_overdue(fd, before));
            }
        }
    }

    // ---- the sender thread of one session
    void sender_loop(SessionSlot& s) {
        std::vector<Outbound> batch;
        std::vector<std::uint64_t> tokens;
        for (;;) {
            std::string logout_reason;
            {
                std::unique_lock<std::mutex> lock(s.mutex);
                s.cv.wait(lock, [&] {
                    return !s.queue.empty() || !s.logout_reason.empty() || s.stop_sender;
                });
                logout_reason.swap(s.logout_reason);
                if (s.queue.empty() && logout_reason.empty() && s.stop_sender) {
                    return;
                }
                const std::size_t n = std::min(s.queue.size(), kSendBatchMax);
                for (std::size_t i = 0; i < n; ++i) {
                    batch.push_back(std::move(s.queue.front()));
                    s.queue.pop_front();
                }
                s.handing = true;
            }
            if (!logout_reason.empty() && s.session != nullptr) {
                log_out(s, logout_reason);
            }
            tokens.clear();
            for (Outbound& out : batch) {
                bool stored = true;
                try {
                    FIX::Message message;
                    build_checked_fix(out.message, *dictionary, &message);
                    // Stores the message durably (LMDB store) with its sequence number, and
                    // writes it to the socket when logged on. With ResetOnLogon and no logon
                    // QuickFIX drops an application message (it would be reset away).
                    const bool sent = s.session->send(message);
                    stored = sent || !s.spec.reset_on_logon;
                } catch (const std::exception&) {
                    stored = false;  // the store failed: not durable, not reported
                }
                if (stored) {
                    ++s.messages_out;
                    s.out_by_type[out.type_index].fetch_add(1, std::memory_order_relaxed);
                    if (out.token != 0) {
                        tokens.push_back(out.token);
                    }
                }
            }
            batch.clear();
            if (!tokens.empty()) {
                if (lagging()) {
                    // Every store write QuickFIX made for this batch has an epoch at most
                    // this one; report the tokens once it is durable.
                    PendingAck ack;
                    ack.epoch = lmdb->submitted_epoch();
                    ack.slot = &s;
                    ack.tokens = tokens;
                    awaiting_durable += tokens.size();
                    {
                        std::lock_guard<std::mutex> lock(ack_mutex);
                        acks.push_back(std::move(ack));
                    }
                    ack_cv.notify_one();
                } else {
                    handler.on_sent(s.spec.key, tokens);
                }
            }
            {
                std::lock_guard<std::mutex> lock(s.mutex);
                s.handing = false;
                if (s.queue.empty()) {
                    s.slow_consumer = false;
                }
            }
            s.cv.notify_all();
        }
    }

    // ---- the acknowledger (lagging store): on_sent once the flush covering it is durable.
    // Entries leave in the order they came, so each session's tokens stay in queue order.
    void acker_loop() {
        std::unique_lock<std::mutex> lock(ack_mutex);
        std::chrono::steady_clock::time_point give_up{};
        for (;;) {
            ack_cv.wait(lock, [&] { return !acks.empty() || ack_stop; });
            if (acks.empty()) {
                return;
            }
            if (ack_stop && give_up == std::chrono::steady_clock::time_point{}) {
                give_up = std::chrono::steady_clock::now() + kFinalFlushWait;
            }
            std::uint64_t target = 0;
            for (const PendingAck& a : acks) {
                target = std::max(target, a.epoch);
            }
            const bool stopping_now = ack_stop;
            lock.unlock();
            // Not urgent: the messages are on the wire already; only the outbox's
            // acknowledgement waits, so the flush may gather more (fewer fsyncs competing
            // with the ledger's), except at stop.
            const bool durable_now =
                lmdb->wait_durable(target, std::chrono::milliseconds(100), stopping_now);
            const std::uint64_t durable = lmdb->durable_epoch();
            lock.lock();
            std::vector<PendingAck> ready;
            while (!acks.empty() && acks.front().epoch <= durable) {
                ready.push_back(std::move(acks.front()));
                acks.pop_front();
            }
            if (ready.empty() && !durable_now) {
                if (ack_stop &&
                    (std::chrono::steady_clock::now() >= give_up || !lmdb->failure().empty())) {
                    // Not durable (a failed commit): not reported; the rows stay.
                    acks.clear();
                    awaiting_durable = 0;
                    return;
                }
                // A failed store reports at once: do not spin.
                ack_cv.wait_for(lock, std::chrono::milliseconds(50));
                continue;
            }
            lock.unlock();
            for (const PendingAck& a : ready) {
                awaiting_durable -= a.tokens.size();
                handler.on_sent(a.slot->spec.key, a.tokens);
            }
            lock.lock();
        }
    }

    // Logs the session out and waits for it to go (QuickFIX sends the Logout from its
    // timer, and waits LogoutTimeout for the answer). A counterparty that neither reads nor
    // answers is disconnected after kLogoutWait, so that a slow consumer cannot keep its
    // session (and this sender) busy. QuickFIX's Session::logout() also disables the
    // session for good (an acceptor then refuses every later Logon, an initiator never
    // reconnects), so once it is gone the session is enabled again: a logout ends this
    // connection, not the counterparty's access. (stop() logs out without re-enabling.)
    void log_out(SessionSlot& s, const std::string& reason) {
        s.session->logout(reason);
        const auto deadline = std::chrono::steady_clock::now() + kLogoutWait;
        while (s.logged_on && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
        if (s.logged_on) {
            s.session->disconnect();
        }
        if (!stopping.load()) {
            s.session->logon();
        }
    }

    bool check_options(std::string* error) const;
    bool build_settings(std::string* error);
    bool port_free(std::string* error) const;
};

bool SessionHost::Impl::check_options(std::string* error) const {
    const HostOptions& o = options;
    if (o.dictionary_path.empty()) {
        return fail(error, "dictionary_path is empty");
    }
    if (o.store_path.empty()) {
        return fail(error, "store_path is empty");
    }
    if (o.sessions.empty()) {
        return fail(error, "sessions is empty");
    }
    if (o.sessions.size() > kSessionsPerHostMax) {
        return fail(error, "sessions has " + std::to_string(o.sessions.size()) +
                               " entries (at most " + std::to_string(kSessionsPerHostMax) + ")");
    }
    if (o.outbound_queue_max == 0 || o.outbound_queue_max > kOutboundQueueMaxCeiling) {
        return fail(error, "outbound_queue_max must be between 1 and " +
                               std::to_string(kOutboundQueueMaxCeiling));
    }
    if (o.store_group_commit_writes_max == 0) {
        return fail(error, "store_group_commit_writes_max must be at least 1");
    }
    if (o.store_durability != StoreMode::kSynchronous &&
        o.store_durability != StoreMode::kLagging) {
        return fail(error, "store_durability is neither synchronous nor lagging");
    }
    if (o.store_flush_interval.count() < 0 || o.store_flush_interval > std::chrono::seconds(1)) {
        return fail(error, "store_flush_interval must be between 0 and 1 s");
    }
    if (o.store_sender_reserve_block < 2 || o.store_sender_reserve_block > kSenderReserveBlockMax) {
        return fail(error, "store_sender_reserve_block must be between 2 and " +
                               std::to_string(kSenderReserveBlockMax));
    }
    if (o.send_timeout.count() < 0) {
        return fail(error, "send_timeout must not be negative");
    }
    if (o.logon_deadline.count() < 0) {
        return fail(error, "logon_deadline must not be negative");
    }
    if (is_acceptor()) {
        in_addr address{};
        if (::inet_pton(AF_INET, o.bind_address.c_str(), &address) != 1) {
            return fail(error, "bind_address '" + o.bind_address + "' is not an IPv4 address");
        }
    }
    std::set<SessionKey> keys;
    const TlsSpec& tls = o.sessions.front().tls;
    for (const SessionSpec& s : o.sessions) {
        const std::string name = "session " + s.key.to_string() + ": ";
        if (!comp_id_ok(s.key.sender_comp_id) || !comp_id_ok(s.key.target_comp_id)) {
            return fail(error, name +
                                   "CompIDs must be 1-64 characters of A-Z a-z 0-9 _ - . (got '" +
                                   s.key.sender_comp_id + "', '" + s.key.target_comp_id + "')");
        }
        if (!keys.insert(s.key).second) {
            return fail(error, name + "appears twice");
        }
        if (s.heartbeat.count() <= 0) {
            return fail(error, name + "heartbeat must be at least 1 second");
        }
        if (s.reconnect_interval.count() <= 0) {
            return fail(error, name + "reconnect_interval must be at least 1 second");
        }
        if (!is_acceptor()) {
            if (s.connect_port == 0) {
                return fail(error, name + "connect_port is 0");
            }
            if (s.connect_host.empty()) {
                return fail(error, name + "connect_host is empty");
            }
        }
        if (s.tls.enabled != tls.enabled || s.tls.cert != tls.cert || s.tls.key != tls.key ||
            s.tls.ca != tls.ca || s.tls.require_peer_cert != tls.require_peer_cert) {
            return fail(error, name +
                                   "TLS settings differ from the first session's (all sessions of "
                                   "a host share one TLS setup)");
        }
    }
    if (tls.enabled) {
        if (is_acceptor() && (tls.cert.empty() || tls.key.empty())) {
            return fail(error, "tls: an acceptor needs cert and key");
        }
        if (tls.require_peer_cert && tls.ca.empty()) {
            return fail(error, "tls: require_peer_cert needs ca");
        }
        if (tls.cert.empty() != tls.key.empty()) {
            return fail(error, "tls: cert and key go together");
        }
        for (const std::string* file : {&tls.cert, &tls.key, &tls.ca}) {
            if (!file->empty() && !readable(*file)) {
                return fail(error, "tls: cannot read " + *file);
            }
        }
    }
    return true;
}

bool SessionHost::Impl::build_settings(std::string* error) {
    try {
        FIX::Dictionary defaults;
        defaults.setString("ConnectionType", is_acceptor() ? "acceptor" : "initiator");
        defaults.setString("BeginString", "FIX.4.4");
        // A session that never ends on the clock: StartDay = EndDay with StartTime =
        // EndTime is in range at every moment; with NoClockResetStore the store never
        // looks older than the session period, so QuickFIX never resets on time.
        defaults.setString("StartDay", "Sunday");
        defaults.setString("EndDay", "Sunday");
        defaults.setString("StartTime", "00:00:00");
        defaults.setString("EndTime", "00:00:00");
        defaults.setString("UseDataDictionary", "Y");
        defaults.setString("DataDictionary", options.dictionary_path);
        defaults.setString("ValidateUserDefinedFields", "Y");
        defaults.setString("ValidateFieldsOutOfOrder", "Y");
        defaults.setString("ValidateFieldsHaveValues", "Y");
        defaults.setString("SocketNodelay", "Y");
        defaults.setString("SocketReuseAddress", "Y");
        defaults.setString("LogonTimeout", "10");
        defaults.setString("LogoutTimeout", "2");
        defaults.setString("PersistMessages", "Y");
        long reconnect = options.sessions.front().reconnect_interval.count();
        for (const SessionSpec& s : options.sessions) {
            reconnect = std::min<long>(reconnect, s.reconnect_interval.count());
        }
        defaults.setInt("ReconnectInterval", static_cast<int>(reconnect));
        const TlsSpec& tls = options.sessions.front().tls;
        if (tls.enabled) {
            // QuickFIX reads its SSL settings from [DEFAULT]. TLS 1.2 and later only.
            defaults.setString("SSLProtocol", "all -SSLv2 -SSLv3 -TLSv1 -TLSv1_1");
            if (is_acceptor()) {
                defaults.setString("ServerCertificateFile", tls.cert);
                defaults.setString("ServerCertificateKeyFile", tls.key);
            } else if (!tls.cert.empty()) {
                defaults.setString("ClientCertificateFile", tls.cert);
                defaults.setString("ClientCertificateKeyFile", tls.key);
            }
            if (!tls.ca.empty()) {
                defaults.setString("CertificationAuthoritiesFile", tls.ca);
                // QuickFIX's levels (UtilitySSL.h): 0 none, 1 require (the peer must
                // present a certificate the CA signed), 2 optional. An initiator always
                // verifies the acceptor's certificate against `ca`.
                defaults.setInt("CertificateVerifyLevel",
                                is_acceptor() ? (tls.require_peer_cert ? 1 : 0) : 1);
            }
        }
        settings.set(defaults);
        for (const SessionSpec& s : options.sessions) {
            FIX::Dictionary d;
            d.setInt("HeartBtInt", static_cast<int>(s.heartbeat.count()));
            d.setString("ResetOnLogon", s.reset_on_logon ? "Y" : "N");
            if (is_acceptor()) {
                d.setInt("SocketAcceptPort", port);
            } else {
                d.setString("SocketConnectHost", s.connect_host);
                d.setInt("SocketConnectPort", s.connect_port);
            }
            settings.set(session_id_of(s.key), d);
        }
    } catch (const FIX::Exception& e) {
        return fail(error, std::string("session settings: ") + e.what());
    }
    return true;
}

bool SessionHost::Impl::port_free(std::string* error) const {
    const std::string where =
        "cannot listen on " + options.bind_address + ":" + std::to_string(port) + ": ";
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return fail(error, where + std::strerror(errno));
    }
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    ::inet_pton(AF_INET, options.bind_address.c_str(), &in.sin_addr);
    bool ok =
        ::bind(fd, reinterpret_cast<const sockaddr*>(&in), sizeof in) == 0 && ::listen(fd, 1) == 0;
    const int saved = errno;
    ::close(fd);
    if (!ok) {
        return fail(error, where + std::strerror(saved));
    }
    return true;
}

SessionHost::SessionHost(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

SessionHost::~SessionHost() {
    stop();
}

std::unique_ptr<SessionHost> SessionHost::create(HostOptions options, Handler& handler,
                                                 std::string* error) {
    std::unique_ptr<Impl> impl(new Impl(std::move(options), handler));
    if (!impl->check_options(error)) {
        return nullptr;
    }
    try {
        impl->dictionary.reset(new FIX::DataDictionary(impl->options.dictionary_path));
    } catch (const FIX::Exception& e) {
        fail(error,
             "cannot load data dictionary " + impl->options.dictionary_path + ": " + e.what());
        return nullptr;
    }
    try {
        LmdbStoreOptions store_options;
        store_options.path = impl->options.store_path;
        store_options.group_commit_writes_max = impl->options.store_group_commit_writes_max;
        store_options.durability = impl->options.store_durability == StoreMode::kLagging
                                       ? StoreDurability::kLagging
                                       : StoreDurability::kSynchronous;
        store_options.flush_interval = impl->options.store_flush_interval;
        store_options.sender_reserve_block = impl->options.store_sender_reserve_block;
        store_options.flusher_thread_name =
            impl->options.role == HostRole::kAcceptor ? "fx-flush-acc" : "fx-flush-ini";
        impl->lmdb.reset(new LmdbStoreFactory(store_options));
        impl->store.reset(new NoClockResetStoreFactory(*impl->lmdb));
    } catch (const FIX::Exception& e) {
        fail(error, "cannot open message store " + impl->options.store_path + ": " + e.what());
        return nullptr;
    }
    if (!impl->options.log_dir.empty()) {
        struct stat st {};
        if (::stat(impl->options.log_dir.c_str(), &st) != 0 &&
            ::mkdir(impl->options.log_dir.c_str(), 0700) != 0) {
            fail(error,
                 "cannot create log_dir " + impl->options.log_dir + ": " + std::strerror(errno));
            return nullptr;
        }
        // The logs hold every message: owner only, and passwords masked (masking_log.h).
        ::chmod(impl->options.log_dir.c_str(), 0700);
        impl->log_factory.reset(new MaskingLogFactory(impl->options.log_dir));
    }
    for (const SessionSpec& spec : impl->options.sessions) {
        std::unique_ptr<SessionSlot> s(new SessionSlot());
        s->spec = spec;
        s->id = session_id_of(spec.key);
        impl->by_id[s->id] = s.get();
        impl->sessions[spec.key] = std::move(s);
    }
    return std::unique_ptr<SessionHost>(new SessionHost(std::move(impl)));
}

bool SessionHost::start(std::string* error) {
    Impl& m = *impl_;
    std::lock_guard<std::mutex> lock(m.lifecycle);
    if (m.started) {
        return fail(error, "start() was already called");
    }
    m.started = true;
    in_addr address{};
    if (m.is_acceptor()) {
        ::inet_pton(AF_INET, m.options.bind_address.c_str(), &address);
        m.port = m.options.listen_port;
        if (m.port == 0) {
            // Pick a free port on the bind address (tests and tools may pass 0).
            const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
            sockaddr_in in{};
            in.sin_family = AF_INET;
            in.sin_addr = address;
            socklen_t len = sizeof in;
            if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&in), sizeof in) == 0 &&
                ::getsockname(fd, reinterpret_cast<sockaddr*>(&in), &len) == 0) {
                m.port = ntohs(in.sin_port);
            }
            if (fd >= 0) {
                ::close(fd);
            }
        }
        if (!m.port_free(error)) {
            m.stopped = true;
            return false;
        }
    }
    if (!m.build_settings(error)) {
        m.stopped = true;
        return false;
    }
    const bool tls = m.options.sessions.front().tls.enabled;
    // Every session logs through CaptureLog (the raw last message, for name_group_repeat),
    // which forwards to the masking file log when log_dir is set.
    m.capture.reset(new CaptureLogFactory(m.by_id, m.log_factory.get()));
    FIX::LogFactory& logs = *m.capture;
    try {
        if (m.is_acceptor()) {
            if (tls) {
                m.acceptor.reset(new FIX::ThreadedSSLSocketAcceptor(m, *m.store, m.settings, logs));
            } else {
                m.acceptor.reset(new FIX::ThreadedSocketAcceptor(m, *m.store, m.settings, logs));
            }
        } else {
            if (tls) {
                m.initiator.reset(
                    new FIX::ThreadedSSLSocketInitiator(m, *m.store, m.settings, logs));
            } else {
                m.initiator.reset(new FIX::ThreadedSocketInitiator(m, *m.store, m.settings, logs));
            }
        }
    } catch (const FIX::Exception& e) {
        m.stopped = true;
        return fail(error, std::string("QuickFIX configuration: ") + e.what());
    }
    for (auto& entry : m.sessions) {
        SessionSlot& s = *entry.second;
        s.session = m.acceptor ? m.acceptor->getSession(s.id) : m.initiator->getSession(s.id);
        if (s.session == nullptr) {
            s.session = FIX::Session::lookupSession(s.id);
        }
        if (s.session == nullptr) {
            m.stopped = true;
            m.acceptor.reset();
            m.initiator.reset();
            return fail(error, "QuickFIX created no session " + entry.first.to_string());
        }
    }
    try {
        if (m.acceptor) {
            detail::ScopedBindOverride override_bind(address, m.port, m.options.send_timeout);
            m.acceptor->start();
            std::lock_guard<std::mutex> llock(m.listeners_mutex);
            m.listeners = override_bind.rewritten();
            for (int fd : m.listeners) {
                detail::limit_unauthenticated(fd, m.options.unauthenticated_connections_max);
            }
        } else {
            m.initiator->start();
        }
    } catch (const FIX::Exception& e) {
        m.stopped = true;
        m.acceptor.reset();
        m.initiator.reset();
        if (m.is_acceptor()) {
            return fail(error, "cannot listen on " + m.options.bind_address + ":" +
                                   std::to_string(m.port) + ": " + e.what());
        }
        return fail(error, std::string("cannot start the initiator: ") + e.what());
    }
    if (m.acceptor) {
        // Listening anywhere but bind_address is never silent.
        const std::vector<std::string> where = detail::listening_addresses(m.port);
        const bool ok = where.size() == 1 && where.front() == m.options.bind_address;
        if (!ok) {
            std::string text;
            for (const std::string& w : where) {
                text += (text.empty() ? "" : ", ") + w;
            }
            m.acceptor->stop(true);
            m.acceptor.reset();
            m.stopped = true;
            return fail(error, "the acceptor listens on [" + text + "]:" + std::to_string(m.port) +
                                   ", not on bind_address " + m.options.bind_address +
                                   " (is another bind() interposed?)");
        }
    }
    if (m.acceptor && m.options.logon_deadline.count() > 0) {
        m.watcher = std::thread([&m] { m.watch_logons(); });
    }
    if (m.lagging()) {
        m.acker = std::thread([&m] {
            ::pthread_setname_np(::pthread_self(), m.is_acceptor() ? "fx-ack-acc" : "fx-ack-ini");
            m.acker_loop();
        });
    }
    for (auto& entry : m.sessions) {
        SessionSlot* s = entry.second.get();
        s->sender = std::thread([&m, s] {
            // Named for top -H and perf (15 characters at most); QuickFIX's own threads
            // keep the name of the thread that started the host.
            ::pthread_setname_np(::pthread_self(), m.is_acceptor() ? "fx-send-acc" : "fx-send-ini");
            m.sender_loop(*s);
        });
    }
    return true;
}

void SessionHost::stop(const std::string& reason, std::chrono::milliseconds grace) {
    Impl& m = *impl_;
    std::lock_guard<std::mutex> lock(m.lifecycle);
    m.stopping = true;
    if (m.stopped || !m.started) {
        m.stopped = true;
        return;
    }
    m.stopped = true;
    const auto deadline = std::chrono::steady_clock::now() + grace;
    // 1. Drain: every queued message is handed to QuickFIX (stored; sent when logged on).
    std::vector<SessionSlot*> drained;
    for (auto& entry : m.sessions) {
        SessionSlot& s = *entry.second;
        std::unique_lock<std::mutex> slock(s.mutex);
        if (s.cv.wait_until(slock, deadline, [&] { return s.queue.empty() && !s.handing; })) {
            drained.push_back(&s);
        }
    }
    // 2. Log out the sessions whose sender is idle (a sender stuck in a socket send holds
    // the session's lock; closing the sockets below frees it).
    for (SessionSlot* s : drained) {
        if (s->logged_on) {
            s->session->logout(reason);
        }
    }
    for (SessionSlot* s : drained) {
        while (s->logged_on && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        }
    }
    // 3. Stop QuickFIX (closes the sockets), then let every sender finish its queue (the
    // sessions are logged out now: QuickFIX stores what is left for a later resend).
    if (m.watcher.joinable()) {
        {
            std::lock_guard<std::mutex> wlock(m.watch_mutex);
            m.watch_stop = true;
        }
        m.watch_cv.notify_all();
        m.watcher.join();
    }
    if (m.acceptor) {
        // No new connection from here on (read_limit.h, refuse_connections); one accepted
        // just before gets the time to be handed to its QuickFIX thread, which stop()
        // then joins.
        for (int fd : m.listeners)
            detail::refuse_connections(fd);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        m.acceptor->stop(true);
        for (int fd : m.listeners) {
            m.connections_refused_before += detail::connections_refused(fd);
            m.logon_deadline_closes_before += detail::connections_overdue(fd);
            detail::forget_listener(fd);
        }
        std::lock_guard<std::mutex> llock(m.listeners_mutex);
        m.listeners.clear();
    }
    if (m.initiator) {
        m.initiator->stop(true);
    }
    for (auto& entry : m.sessions) {
        SessionSlot& s = *entry.second;
        {
            std::lock_guard<std::mutex> slock(s.mutex);
            s.stop_sender = true;
        }
        s.cv.notify_all();
    }
    for (auto& entry : m.sessions) {
        if (entry.second->sender.joinable()) {
            entry.second->sender.join();
        }
        entry.second->logged_on = false;
    }
    // 4. The last acknowledgements: once what the senders stored is durable.
    if (m.acker.joinable()) {
        {
            std::lock_guard<std::mutex> alock(m.ack_mutex);
            m.ack_stop = true;
        }
        m.ack_cv.notify_all();
        m.acker.join();
    }
}

SendResult SessionHost::send(const SessionKey& key, WireMessage message, std::uint64_t token,
                             std::string* error) {
    Impl& m = *impl_;
    if (m.stopping) {
        return SendResult::kStopped;
    }
    auto it = m.sessions.find(key);
    if (it == m.sessions.end()) {
        return SendResult::kUnknownSession;
    }
    std::string why;
    if (!check_wire(message, *m.dictionary, &why)) {
        ++m.invalid_out;
        if (error != nullptr) {
            *error = why;
        }
        return SendResult::kInvalid;
    }
    Outbound out;
    out.type_index = msg_type_index(message.msg_type);
    out.message = std::move(message);
    out.token = token;
    SessionSlot& s = *it->second;
    SendResult result = SendResult::kQueued;
    bool hold = false;  // wake the sender when the open WakeupBatch ends
    {
        std::lock_guard<std::mutex> lock(s.mutex);
        if (s.stop_sender) {
            return SendResult::kStopped;
        }
        s.queue.push_back(std::move(out));
        if (held_wakeups.depth > 0 && s.queue.size() < kSendBatchMax) {
            hold = true;
        }
        if (s.queue.size() >= m.options.outbound_queue_max) {
            result = SendResult::kSlowConsumer;
            if (!s.slow_consumer) {
                s.slow_consumer = true;
                ++m.slow_consumer_logouts;
                ++s.slow_consumer_logouts;
                s.logout_reason =
                    "slow consumer: " + std::to_string(s.queue.size()) + " messages queued";
                hold = false;
            }
        }
    }
    if (hold) {
        std::vector<SessionSlot*>& slots = held_wakeups.slots;
        if (std::find(slots.begin(), slots.end(), &s) == slots.end()) {
            slots.push_back(&s);
        }
    } else {
        s.cv.notify_all();
    }
    return result;
}

SessionHost::WakeupBatch::WakeupBatch() {
    ++held_wakeups.depth;
}

SessionHost::WakeupBatch::~WakeupBatch() {
    if (--held_wakeups.depth > 0) {
        return;
    }
    // The slots stay valid: their hosts outlive every send() made on this thread.
    for (SessionSlot* s : held_wakeups.slots) {
        s->cv.notify_all();
    }
    held_wakeups.slots.clear();
}

bool SessionHost::logout(const SessionKey& key, const std::string& reason) {
    Impl& m = *impl_;
    auto it = m.sessions.find(key);
    if (it == m.sessions.end()) {
        return false;
    }
    SessionSlot& s = *it->second;
    {
        std::lock_guard<std::mutex> lock(s.mutex);
        s.logout_reason = reason.empty() ? std::string("logout") : reason;
    }
    s.cv.notify_all();
    return true;
}

bool SessionHost::logged_on(const SessionKey& key) const {
    auto it = impl_->sessions.find(key);
    return it != impl_->sessions.end() && it->second->logged_on;
}

HostCounters SessionHost::counters() const {
    HostCounters c;
    for (const SessionCounters& s : session_counters()) {
        c.messages_in += s.messages_in;
        c.messages_out += s.messages_out;
        c.rejected_in += s.rejected_in;
        c.queued_out += s.queued_out;
    }
    c.logons_refused = impl_->logons_refused;
    c.slow_consumer_logouts = impl_->slow_consumer_logouts;
    c.invalid_out = impl_->invalid_out;
    c.awaiting_durable = impl_->awaiting_durable;
    c.store_commits = impl_->lmdb ? impl_->lmdb->stats().commits : 0;
    c.connections_refused = impl_->connections_refused_before;
    c.logon_deadline_closes = impl_->logon_deadline_closes_before;
    {
        std::lock_guard<std::mutex> lock(impl_->listeners_mutex);
        for (int fd : impl_->listeners) {
            c.connections_refused += detail::connections_refused(fd);
            c.unauthenticated_connections += detail::unauthenticated_connections(fd);
            c.logon_deadline_closes += detail::connections_overdue(fd);
        }
    }
    return c;
}

std::vector<SessionCounters> SessionHost::session_counters() const {
    std::vector<SessionCounters> out;
    for (const auto& entry : impl_->sessions) {
        SessionSlot& s = *entry.second;
        SessionCounters c;
        c.key = entry.first;
        c.logged_on = s.logged_on;
        c.messages_in = s.messages_in;
        c.messages_out = s.messages_out;
        c.rejected_in = s.rejected_in;
        c.slow_consumer_logouts = s.slow_consumer_logouts;
        by_type(s.in_by_type, &c.received_by_type);
        by_type(s.out_by_type, &c.sent_by_type);
        {
            std::lock_guard<std::mutex> lock(s.mutex);
            c.queued_out = s.queue.size();
        }
        if (s.session != nullptr) {
            c.next_sender_seq = static_cast<std::uint64_t>(s.session->getExpectedSenderNum());
            c.next_target_seq = static_cast<std::uint64_t>(s.session->getExpectedTargetNum());
        }
        out.push_back(c);
    }
    return out;
}

std::uint16_t SessionHost::listen_port() const {
    return impl_->port;
}

}  // namespace adapters
}  // namespace fxsettle
