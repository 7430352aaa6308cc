// What the gateway, the venue and bank adapters and the outbox sink share: how commands
// reach the sequencer, how outbox rows are acknowledged, the clock, the log, and the
// tracker that acknowledges an outbox row only once every message made from it was
// stored by QuickFIX.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "adapters/fix/session_host.h"
#include "engine/core/commands.h"
#include "engine/sequencer/sequencer.h"
#include "ledger/types.h"

namespace fxsettle::adapters::edge {

// How commands reach the sequencer (tests and the daemon plug a Sequencer in with
// SequencerSubmitter; a fake is never needed: the real sequencer runs in tests).
class CommandSubmitter {
  public:
    virtual ~CommandSubmitter() = default;
    // Never blocks. On anything but kAccepted the command is left as it was.
    virtual engine::SubmitResult submit(engine::Command&& command) = 0;
    // Waits up to `timeout` for room in a full queue.
    virtual engine::SubmitResult submit_wait(engine::Command&& command,
                                             std::chrono::milliseconds timeout) = 0;
};

template <typename Seq>
class SequencerSubmitter final : public CommandSubmitter {
  public:
    explicit SequencerSubmitter(Seq& sequencer) : sequencer_(sequencer) {}
    engine::SubmitResult submit(engine::Command&& command) override {
        return sequencer_.submit(std::move(command));
    }
    engine::SubmitResult submit_wait(engine::Command&& command,
                                     std::chrono::milliseconds timeout) override {
        return sequencer_.submit_wait(std::move(command), timeout);
    }

  private:
    Seq& sequencer_;
};

// Acknowledges outbox rows (Sequencer::acknowledge). Called from the sequencer thread
// (events that go nowhere) and from the sessions' sender threads (on_sent).
using AcknowledgeFn = std::function<void(std::span<const std::uint64_t> outbox_ids)>;
// The time handed to the converter (TransactTime, a rate without SendingTime): the same
// clock as the sequencer's in tests with a manual clock, the system clock in the daemon.
using ClockFn = std::function<ledger::Timestamp()>;

enum class LogLevel : std::uint8_t { kInfo = 0, kWarning = 1, kError = 2 };
std::string_view log_level_name(LogLevel level) noexcept;
// Where the edge logs (authorisation breaches, refused logons, busy rejects, sessions up
// and down). Called from any thread; must be thread-safe.
using LogFn = std::function<void(LogLevel level, const std::string& message)>;
// Writes "fxsettle-edge <level>: <message>" lines to stderr.
LogFn stderr_log();

// Outbox rows waiting for QuickFIX to store their messages. The sink registers a row
// with the number of messages it queued for it BEFORE queueing them (a sender thread may
// report one before send() returns); each on_sent token of that row counts one down; at
// zero the row is acknowledged. Thread-safe.
class AckTracker {
  public:
    AckTracker() = default;
    explicit AckTracker(AcknowledgeFn acknowledge) : acknowledge_(std::move(acknowledge)) {}
    // Sets where acknowledgements go (the sequencer, created after its sink). Call before
    // anything is delivered.
    void set_acknowledge(AcknowledgeFn acknowledge) { acknowledge_ = std::move(acknowledge); }

    // Expect `messages` (> 0) on_sent reports for `outbox_id`.
    void expect(std::uint64_t outbox_id, std::uint32_t messages);
    // A message that was never queued (send() refused it): the row is no longer
    // expected; it stays unacknowledged in the outbox and is delivered again after a
    // restart.
    void abandon(std::uint64_t outbox_id);
    // Tokens reported by a host's on_sent; acknowledges the rows completed by them.
    void on_sent(const std::vector<std::uint64_t>& tokens);
    // Acknowledges rows at once (events that go to no counterparty).
    void acknowledge_now(std::span<const std::uint64_t> outbox_ids);

    std::uint64_t acknowledged() const;  // rows acknowledged so far
    std::size_t pending() const;         // rows waiting for their messages

  private:
    AcknowledgeFn acknowledge_;
    mutable std::mutex mu_;
    std::unordered_map<std::uint64_t, std::uint32_t> pending_;
    std::uint64_t acknowledged_ = 0;
};

// Commands from a venue or bank that the sequencer could not take (its queue stayed full
// through the bounded wait, or it is not running), kept in arrival order and submitted
// again, never blocking, before anything newer: a venue's fill or a bank's confirmation
// has been consumed from its FIX session and must not be lost. At most `max` are kept
// (beyond that a command is lost, logged and counted by the caller). Thread-safe.
class DeferredCommands {
  public:
    enum class Outcome : std::uint8_t { kSubmitted = 0, kDeferred = 1, kLost = 2 };
    explicit DeferredCommands(std::size_t max) : max_(max) {}

    // Submits `command` with a wait of up to `wait`, unless older commands are deferred
    // (then it queues behind them). A command that still cannot be submitted is deferred.
    Outcome submit(CommandSubmitter& submitter, engine::Command&& command,
                   std::chrono::milliseconds wait);
    // Submits deferred commands in order without blocking until one is refused. Returns
    // copies of those submitted (the caller applies their effects).
    std::vector<engine::Command> retry(CommandSubmitter& submitter);
    std::size_t size() const;

  private:
    const std::size_t max_;
    mutable std::mutex mu_;
    std::deque<engine::Command> queue_;
};

// The initiator sessions of one kind of counterparty (the venues or the banks), by the
// chart's index: each one's session key (our SenderCompID and theirs, from the config),
// the index of a key, and send() through the host attached once it exists. Thread-safe.
class CounterpartySessions {
  public:
    // `configs`: config.venues or config.banks; `index_of(id)`: the chart's index of an id
    // (nullopt for an id the chart lacks, whose slot then keeps an empty key).
    template <typename Configs, typename IndexOf>
    CounterpartySessions(std::size_t count, const Configs& configs, IndexOf index_of)
        : keys_(count) {
        for (const auto& c : configs) {
            if (const auto index = index_of(c.id)) {
                keys_.at(*index) = SessionKey{c.sender_comp_id, c.target_comp_id};
            }
        }
    }

    void attach(SessionHost* host) { host_.store(host, std::memory_order_release); }
    // Throws std::out_of_range for an index past the chart's.
    const SessionKey& key(std::size_t index) const { return keys_.at(index); }
    std::optional<std::size_t> index_of(const SessionKey& key) const;
    // kStopped before attach(), kUnknownSession for an index past the chart's.
    SendResult send(std::size_t index, WireMessage message, std::uint64_t token) const;

  private:
    std::vector<SessionKey> keys_;
    std::atomic<SessionHost*> host_{nullptr};
};

}  // namespace fxsettle::adapters::edge
