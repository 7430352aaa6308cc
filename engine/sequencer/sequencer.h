// The sequencer: the one engine thread (DESIGN.md, "One writer"). It owns the engine,
// takes commands from a bounded multi-producer queue in batches, applies each batch at
// the injected clock's time, commits everything the batch produced in ONE ledger write
// transaction (journal operations, engine state, one outbox row per event, and the
// deletion of acknowledged outbox rows), and only after that commit hands the events to
// the sink ("Durable before acknowledged", "Transactional outbox").
//
// Life cycle: create() checks the options; start() recovers the outbox rows a crash left
// unacknowledged and starts the thread, which delivers them again (possible_resend) before
// it takes any command; submit() queues commands from any thread; acknowledge() tells the
// sequencer which outbox rows were sent, so their rows are deleted in its next commit;
// stop() refuses new commands, drains the queue, commits, delivers and joins. A failed
// apply() or commit, or an operation the ledger refuses, is fatal: the sequencer stops,
// delivers nothing of that batch, and error() says why. Commits are all-or-nothing
// (ledger::CommitOptions::all_or_nothing), so a batch with a refused operation leaves
// nothing in the ledger either: no journal entry, no engine state row, no outbox row, and
// its acknowledged rows stay (they are delivered again after a restart). The process must
// then restart and recover from the ledger, as after a crash.
//
// Split commits. A ledger commit takes at most ledger::kBatchOperationsMax operations
// (options: commit_operations_max); a batch that produced more (a cut-off of a large day),
// or whose part the ledger could not hold in one transaction (kResourceExhausted: LMDB's
// bound on dirty pages; that part is then tried again in halves), is committed in several
// all-or-nothing parts, in order, never splitting a linked chain:
//   part 1     : its operations, ALL of the batch's aux rows (the engine's state rows,
//                so its command log, the outbox rows of every event, acknowledged
//                deletions) and a marker row (outbox table, split_marker_key);
//   parts 2..k : operations only; the last part also deletes the marker.
// The events are delivered only after part k. Part 1 is therefore a write-ahead record: a
// crash between parts leaves the commands logged, the events unsent in the outbox and the
// marker set, with only some of the operations posted. Recovery rolls forward: the
// engine's recover() replays the log (its memory then includes the whole batch), finds
// which trailing operations the ledger lacks (SplitRecoverableEngine in
// engine_concept.h) and keeps the batch's operations; start() sees the marker, and the
// thread first commits those operations again in parts (an entry already written comes
// back as kEntryExists with its first outcome, since its id and content are the same:
// the replay is deterministic), deletes the marker, lets the engine check its mirror
// against the completed ledger, and only then redelivers the outbox rows (the batch's
// events among them, flagged possible_resend). A reader of the ledger between parts sees
// some of the batch's entries, each balanced on its own. An engine that cannot report
// unfinished operations makes start() fail while a marker is set.
//
// The sequencer must be the ledger's only writer while it runs.
#pragma once

#include <pthread.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_set>
#include <utility>
#include <vector>

#include "config/config.h"
#include "engine/base/status.h"
#include "engine/sequencer/engine_concept.h"
#include "ledger/ledger.h"
#include "ledger/types.h"

namespace fxsettle::engine {

// ---------------------------------------------------------------------------------------
// Options and bounds
// ---------------------------------------------------------------------------------------

// Ceilings of the options (STYLE.md: every queue and batch has a named maximum).
inline constexpr std::uint32_t kSequencerQueueMaxCeiling = config::kQueueMaxCeiling;
inline constexpr std::uint32_t kSequencerBatchMaxCeiling = config::kBatchMaxCeiling;
inline constexpr std::size_t kOutboxKeyBytesMax = 64;  // prefix or next-id key
inline constexpr std::size_t kOutboxIdDigits = 20;     // digits of a u64, zero-padded
inline constexpr std::chrono::milliseconds kIdleWaitMsMax{60'000};
static_assert(kSequencerBatchMaxCeiling <= kSequencerQueueMaxCeiling,
              "a batch is taken from the queue, so it can never be longer than the queue");
static_assert(kOutboxKeyBytesMax + kOutboxIdDigits < 511, "outbox keys fit LMDB's key size");

struct SequencerOptions {
    // Commands waiting for the engine thread; submit() refuses beyond this.
    std::uint32_t queue_max = 65'536;
    // Commands applied per ledger commit; at most queue_max.
    std::uint32_t batch_max = 1'024;
    // Outbox rows redelivered per sink call at start-up, and acknowledgements deleted per
    // commit.
    std::uint32_t outbox_batch_max = 1'024;
    // Outbox row keys are this prefix and the id as 20 zero-padded decimal digits, so
    // that key order is id order.
    std::string outbox_key_prefix = "o/";
    // The outbox row (outside the prefix) that keeps the next outbox id, so that ids are
    // never reused after every row was acknowledged and the process restarted.
    std::string outbox_next_id_key = "n/next_id";
    // How long the idle thread sleeps before it reads the clock again (for the engine's
    // next_deadline()); a deadline nearer than this shortens the sleep.
    std::chrono::milliseconds idle_wait_ms{10};
    // Ledger operations per commit, 1..ledger::kBatchOperationsMax: a batch that produced
    // more is committed in parts (see "Split commits" above). Lower only in tests.
    std::uint32_t commit_operations_max = static_cast<std::uint32_t>(ledger::kBatchOperationsMax);
    // The outbox-table row (outside the prefix) that marks a split commit in progress.
    std::string split_marker_key = "n/split";
};

// OK, or kInvalidArgument naming the bad option and its value.
Status validate_sequencer_options(const SequencerOptions& options);

// The [engine] section's bounds as sequencer options (the rest keep their defaults).
SequencerOptions sequencer_options(const config::EngineConfig& engine);

// "o/00000000000000000042" for prefix "o/" and id 42.
std::string outbox_key(std::string_view prefix, std::uint64_t id);
// The id of an outbox key, or nullopt when `key` is not `prefix` and 20 digits.
std::optional<std::uint64_t> parse_outbox_key(std::string_view prefix, std::string_view key);

// Where the parts of a split commit end: indices one past each part's last operation, in
// order (the last is operations.size()); every part has at most `operations_max`
// operations and ends on an operation without `linked`. One part when everything fits.
// Fails (kOutOfRange) when a linked chain is longer than `operations_max`, or the last
// operation is linked (the ledger would refuse that chain anyway), naming it.
Result<std::vector<std::size_t>> split_operations(std::span<const ledger::Operation> operations,
                                                  std::size_t operations_max);

// ---------------------------------------------------------------------------------------
// Clock, sink, outcomes, counters
// ---------------------------------------------------------------------------------------

// The injected clock. Called on the sequencer thread only.
using Clock = std::function<ledger::Timestamp()>;
// The system clock, in nanoseconds since the epoch.
Clock system_clock();

// One event released to the outside world.
template <typename Event>
struct Delivery {
    std::uint64_t outbox_id = 0;  // acknowledge() this once the event is sent
    Event event;
    // True for rows found unacknowledged at start-up: the event may have been sent before
    // the crash (FIX PossResend); its idempotent identifiers make a repeat harmless.
    bool possible_resend = false;
};

// Where committed events go (the FIX adapters' outbound side). Called on the sequencer
// thread, only after the batch that produced the events is durable, in outbox id order.
// The span and its events are valid only during the call: copy what is kept. The sink
// must not throw and should not block for long (the engine thread waits for it); it may
// call acknowledge() and submit() (submit_wait() could deadlock on a full queue), never
// stop().
template <typename Event>
class EventSink {
  public:
    virtual ~EventSink() = default;
    virtual void deliver(std::span<const Delivery<Event>> deliveries) = 0;
};

// What submit() did with a command. Stable numbers, never reused.
enum class SubmitResult : std::uint8_t {
    kAccepted = 0,    // queued; its outcome comes back as events
    kQueueFull = 1,   // queue_max commands are waiting: back off and retry
    kNotRunning = 2,  // not started yet, stopping or stopped
    kFailed = 3,      // stopped by a fatal error (see Sequencer::error())
};
std::string_view submit_result_name(SubmitResult result) noexcept;  // "queue_full", ...

// A snapshot of the sequencer's counters, for metrics.
struct SequencerCounters {
    std::uint64_t batches = 0;          // apply() rounds: command batches and timer ticks
    std::uint64_t ticks = 0;            // timer ticks (rounds with an empty command span)
    std::uint64_t commands = 0;         // commands applied
    std::uint64_t events = 0;           // events committed and delivered
    std::uint64_t commits = 0;          // ledger commits, including acknowledgement-only ones
    std::uint64_t queue_depth = 0;      // commands waiting now
    std::uint64_t last_batch_size = 0;  // commands of the latest batch
    std::uint64_t commit_latency_ns_sum = 0;
    std::uint64_t commit_latency_ns_max = 0;
    std::uint64_t outbox_backlog = 0;  // outbox rows written and not yet acknowledged
    std::uint64_t redelivered = 0;     // rows delivered again at start-up
    std::uint64_t refused_queue_full = 0;
    std::uint64_t split_batches = 0;    // batches committed in more than one part
    std::uint64_t split_parts = 0;      // the parts of those commits
    std::uint64_t split_recovered = 0;  // split commits completed at start-up after a crash
    // Parts the ledger could not hold in one transaction (kResourceExhausted), each split
    // again in halves and committed.
    std::uint64_t commit_retries = 0;
};

namespace detail {
struct AtomicCounters {
    std::atomic<std::uint64_t> batches{0};
    std::atomic<std::uint64_t> ticks{0};
    std::atomic<std::uint64_t> commands{0};
    std::atomic<std::uint64_t> events{0};
    std::atomic<std::uint64_t> commits{0};
    std::atomic<std::uint64_t> queue_depth{0};
    std::atomic<std::uint64_t> last_batch_size{0};
    std::atomic<std::uint64_t> commit_latency_ns_sum{0};
    std::atomic<std::uint64_t> commit_latency_ns_max{0};
    std::atomic<std::uint64_t> outbox_backlog{0};
    std::atomic<std::uint64_t> redelivered{0};
    std::atomic<std::uint64_t> refused_queue_full{0};
    std::atomic<std::uint64_t> split_batches{0};
    std::atomic<std::uint64_t> split_parts{0};
    std::atomic<std::uint64_t> split_recovered{0};
    std::atomic<std::uint64_t> commit_retries{0};

    SequencerCounters snapshot() const noexcept;
};

// Relaxed add: the counters are statistics, not synchronisation.
inline void bump(std::atomic<std::uint64_t>& counter, std::uint64_t by = 1) noexcept {
    counter.fetch_add(by, std::memory_order_relaxed);
}
inline void put(std::atomic<std::uint64_t>& counter, std::uint64_t value) noexcept {
    counter.store(value, std::memory_order_relaxed);
}

// The first failed operation of a commit (the cause: not an operation that reports
// kLinkedOperationFailed or kBatchAborted because another one failed), described for
// error(); nullopt when all succeeded.
std::optional<std::string> describe_failed_operation(std::span<const ledger::OpResult> results);
}  // namespace detail

// ---------------------------------------------------------------------------------------
// The sequencer
// ---------------------------------------------------------------------------------------

template <SequencedEngine E>
class Sequencer {
  public:
    using Command = typename E::Command;
    using Event = typename E::Event;
    using Sink = EventSink<Event>;

    enum class State : std::uint8_t { kCreated, kRunning, kStopping, kStopped, kFailed };

    // Checks `options` (kInvalidArgument naming the bad value) and that `clock` is set.
    // `engine`, `ledger` and `sink` must outlive the sequencer; the engine and the ledger
    // are used only on the sequencer thread once start() succeeded.
    static Result<std::unique_ptr<Sequencer>> create(E& engine, ledger::Ledger& ledger, Clock clock,
                                                     Sink& sink, SequencerOptions options = {}) {
        if (Status s = validate_sequencer_options(options); !s) {
            return fail(std::move(s));
        }
        if (!clock) {
            return fail(StatusCode::kInvalidArgument, "sequencer clock is empty");
        }
        return std::unique_ptr<Sequencer>(
            new Sequencer(engine, ledger, std::move(clock), sink, std::move(options)));
    }

    Sequencer(const Sequencer&) = delete;
    Sequencer& operator=(const Sequencer&) = delete;
    ~Sequencer() { static_cast<void>(stop()); }

    // Scans the outbox for rows a crash left unacknowledged (each must have a well-formed
    // key and decode with E::decode_event, else kCorruption naming the key), continues
    // outbox ids after the highest one ever used, and starts the thread, which first
    // completes a split commit a crash interrupted (see "Split commits"), then delivers
    // those rows again (possible_resend) before it takes commands. Fails with
    // kFailedPrecondition when called twice or when a split marker is set and the engine
    // cannot report its unfinished operations, kCorruption when the marker and the
    // engine's recover() disagree, or with the ledger's Status.
    Status start() {
        std::lock_guard lock(mu_);
        if (state_ != State::kCreated) {
            return Status(StatusCode::kFailedPrecondition, "sequencer was already started");
        }
        if (Status s = scan_outbox(); !s) {
            return s;
        }
        state_ = State::kRunning;
        thread_ = std::thread([this] {
            // Named for top -H and perf (15 characters at most).
            ::pthread_setname_np(::pthread_self(), "fx-sequencer");
            run();
        });
        return Status::ok();
    }

    // Queues a command without blocking. On anything but kAccepted the command is left
    // as it was, so the caller may retry it.
    SubmitResult submit(Command&& command) { return push(command, std::nullopt); }
    SubmitResult submit(const Command& command) {
        Command copy = command;
        return push(copy, std::nullopt);
    }
    // As submit(), but waits up to `timeout` for room in a full queue (tests, simulators).
    SubmitResult submit_wait(Command&& command, std::chrono::milliseconds timeout) {
        return push(command, timeout);
    }
    SubmitResult submit_wait(const Command& command, std::chrono::milliseconds timeout) {
        Command copy = command;
        return push(copy, timeout);
    }

    // The sink's consumer sent these events: their outbox rows are deleted in the next
    // commit (one commit takes at most outbox_batch_max of them; the rest follow), so a
    // restart redelivers only unsent ones. Unknown or repeated ids are ignored. Fails
    // with kFailedPrecondition when the sequencer is not running (the rows then stay and
    // are delivered again after a restart).
    Status acknowledge(std::span<const std::uint64_t> outbox_ids) {
        std::lock_guard lock(mu_);
        if (state_ != State::kRunning && state_ != State::kStopping) {
            return Status(StatusCode::kFailedPrecondition,
                          "sequencer is not running; acknowledged rows stay in the outbox");
        }
        acks_.insert(acks_.end(), outbox_ids.begin(), outbox_ids.end());
        notify_consumer();
        return Status::ok();
    }

    // Makes the idle thread read the clock now instead of after idle_wait_ms (a test's
    // manual clock moved, or the system clock jumped).
    void wake() {
        std::lock_guard lock(mu_);
        wake_ = true;
        cv_.notify_all();
    }

    // Refuses new commands, applies and commits everything already queued (and pending
    // acknowledgements), delivers, and joins the thread. Returns error() (OK after a
    // clean stop). Idempotent. Called from the sink (the sequencer thread) it only asks
    // the thread to stop.
    Status stop() {
        {
            std::lock_guard lock(mu_);
            if (state_ == State::kCreated) {
                state_ = State::kStopped;
            } else if (state_ == State::kRunning) {
                state_ = State::kStopping;
            }
            cv_.notify_all();
            space_cv_.notify_all();
        }
        if (thread_.joinable()) {
            if (thread_.get_id() == std::this_thread::get_id()) {
                return Status::ok();
            }
            thread_.join();
        }
        std::lock_guard lock(mu_);
        if (state_ == State::kStopping) {
            state_ = State::kStopped;
        }
        return error_;
    }

    // OK, or the fatal failure that stopped the sequencer.
    Status error() const {
        std::lock_guard lock(mu_);
        return error_;
    }
    State state() const {
        std::lock_guard lock(mu_);
        return state_;
    }
    SequencerCounters counters() const noexcept { return counters_.snapshot(); }
    // The id the next event will get (for tests and diagnostics; exact only when idle).
    std::uint64_t next_outbox_id() const noexcept {
        return next_id_published_.load(std::memory_order_acquire);
    }

  private:
    Sequencer(E& engine, ledger::Ledger& ledger, Clock clock, Sink& sink, SequencerOptions options)
        : engine_(engine),
          ledger_(ledger),
          clock_(std::move(clock)),
          sink_(sink),
          options_(std::move(options)) {}

    // ---- intake (any thread) ---------------------------------------------------------

    SubmitResult push(Command& command, std::optional<std::chrono::milliseconds> timeout) {
        std::unique_lock lock(mu_);
        if (timeout && queue_.size() >= options_.queue_max && state_ == State::kRunning) {
            ++space_waiters_;
            space_cv_.wait_for(lock, *timeout, [this] {
                return queue_.size() < options_.queue_max || state_ != State::kRunning;
            });
            --space_waiters_;
        }
        if (state_ == State::kFailed) {
            return SubmitResult::kFailed;
        }
        if (state_ != State::kRunning) {
            return SubmitResult::kNotRunning;
        }
        if (queue_.size() >= options_.queue_max) {
            detail::bump(counters_.refused_queue_full);
            return SubmitResult::kQueueFull;
        }
        queue_.push_back(std::move(command));
        detail::put(counters_.queue_depth, queue_.size());
        notify_consumer();
        return SubmitResult::kAccepted;
    }

    // Under mu_. The consumer is woken only when it sleeps: a busy engine thread takes
    // the next batch without a system call from each producer.
    void notify_consumer() {
        if (consumer_waiting_) {
            cv_.notify_one();
        }
    }

    // ---- start-up (caller's thread, before the engine thread exists) -----------------

    // Under mu_. Validates every outbox row, collects their ids and sets next_id_.
    Status scan_outbox() {
        auto view = ledger_.read();
        if (!view) {
            return view.error();
        }
        std::uint64_t highest = 0;
        std::string from = options_.outbox_key_prefix;
        for (;;) {
            auto rows =
                (*view)->aux_scan(ledger::AuxTable::kOutbox, from, options_.outbox_batch_max);
            if (!rows) {
                return rows.error();
            }
            bool past_prefix = false;
            for (const auto& [key, value] : *rows) {
                if (!key.starts_with(options_.outbox_key_prefix)) {
                    past_prefix = true;
                    break;
                }
                const std::optional<std::uint64_t> id =
                    parse_outbox_key(options_.outbox_key_prefix, key);
                if (!id) {
                    return Status(StatusCode::kCorruption, "outbox row key '" + key + "' is not '" +
                                                               options_.outbox_key_prefix +
                                                               "' and 20 digits");
                }
                if (Result<Event> event = E::decode_event(value); !event) {
                    return Status(
                        StatusCode::kCorruption,
                        "outbox row " + key + " does not decode: " + event.error().to_string());
                }
                outstanding_.insert(*id);
                highest = std::max(highest, *id);
            }
            if (past_prefix || rows->size() < options_.outbox_batch_max) {
                break;
            }
            from = rows->back().first;
            from.push_back('\0');  // the smallest key after the last one read
        }
        std::uint64_t next = highest + 1;
        auto stored = (*view)->aux_get(ledger::AuxTable::kOutbox, options_.outbox_next_id_key);
        if (!stored) {
            return stored.error();
        }
        if (*stored) {
            const std::optional<std::uint64_t> id = parse_outbox_key("", **stored);
            if (!id) {
                return Status(StatusCode::kCorruption, "outbox row " + options_.outbox_next_id_key +
                                                           " is '" + **stored + "', not 20 digits");
            }
            next = std::max(next, *id);
        }
        next_id_ = next;
        next_id_published_.store(next_id_, std::memory_order_release);
        auto marker = (*view)->aux_get(ledger::AuxTable::kOutbox, options_.split_marker_key);
        if (!marker) {
            return marker.error();
        }
        split_pending_ = marker->has_value();
        bool engine_unfinished = false;
        if constexpr (SplitRecoverableEngine<E>) {
            engine_unfinished = !engine_.unfinished_operations().empty();
        } else if (split_pending_) {
            return Status(StatusCode::kFailedPrecondition,
                          "outbox row " + options_.split_marker_key + " ('" + **marker +
                              "') says a split commit was interrupted, and this engine cannot "
                              "report the operations it must complete");
        }
        if (split_pending_ != engine_unfinished) {
            return Status(StatusCode::kCorruption,
                          split_pending_
                              ? "outbox row " + options_.split_marker_key + " ('" + **marker +
                                    "') says a split commit was interrupted, but the engine's "
                                    "recover() found every operation of its log in the ledger "
                                    "(was recover() called before start()?)"
                              : "the engine's recover() found operations missing from the "
                                "ledger, but no split commit was interrupted (outbox row " +
                                    options_.split_marker_key + " is absent)");
        }
        detail::put(counters_.outbox_backlog, outstanding_.size());
        return Status::ok();
    }

    // ---- the engine thread ----------------------------------------------------------

    void run() {
        if (split_pending_ && !complete_split()) {
            return;
        }
        if (!redeliver()) {
            return;
        }
        std::vector<Command> batch;
        batch.reserve(options_.batch_max);
        std::vector<std::uint64_t> acks;
        for (;;) {
            batch.clear();
            acks.clear();
            bool stopping = false;
            {
                std::unique_lock lock(mu_);
                for (;;) {
                    if (state_ != State::kRunning && state_ != State::kStopping) {
                        return;
                    }
                    stopping = state_ == State::kStopping;
                    if (stopping && queue_.empty() && acks_.empty()) {
                        // Drained. Decided under mu_, so no acknowledgement is taken in
                        // that this thread would never commit.
                        state_ = State::kStopped;
                        return;
                    }
                    if (!queue_.empty() || !acks_.empty() || stopping) {
                        break;
                    }
                    const ledger::Timestamp now = clock_();
                    const std::optional<ledger::Timestamp> deadline = engine_.next_deadline();
                    if (deadline && *deadline <= now) {
                        break;
                    }
                    if (wake_) {
                        wake_ = false;
                        continue;
                    }
                    std::chrono::nanoseconds wait = options_.idle_wait_ms;
                    if (deadline) {
                        wait = std::min(wait, *deadline - now);
                    }
                    consumer_waiting_ = true;
                    cv_.wait_for(lock, wait);
                    consumer_waiting_ = false;
                }
                take(lock, batch, acks);
            }
            const ledger::Timestamp now = clock_();
            const std::optional<ledger::Timestamp> deadline = engine_.next_deadline();
            const bool tick = deadline && *deadline <= now;
            if (batch.empty() && acks.empty() && (stopping || !tick)) {
                continue;  // no timer ticks once stopping
            }
            if (!process(batch, tick, acks, now)) {
                return;
            }
        }
    }

    // Under mu_: moves up to batch_max commands and outbox_batch_max acknowledgements out.
    void take(std::unique_lock<std::mutex>& lock, std::vector<Command>& batch,
              std::vector<std::uint64_t>& acks) {
        static_cast<void>(lock);
        const std::size_t n = std::min<std::size_t>(queue_.size(), options_.batch_max);
        for (std::size_t i = 0; i < n; ++i) {
            batch.push_back(std::move(queue_.front()));
            queue_.pop_front();
        }
        const std::size_t k = std::min<std::size_t>(acks_.size(), options_.outbox_batch_max);
        if (k == acks_.size()) {
            acks.swap(acks_);
        } else {
            acks.assign(acks_.begin(), acks_.begin() + static_cast<std::ptrdiff_t>(k));
            acks_.erase(acks_.begin(), acks_.begin() + static_cast<std::ptrdiff_t>(k));
        }
        detail::put(counters_.queue_depth, queue_.size());
        if (n > 0 && space_waiters_ > 0) {
            space_cv_.notify_all();
        }
    }

    // Rolls an interrupted split commit forward: commits every operation the engine's
    // recover() kept for its unfinished batch again, in parts (those already written come
    // back as kEntryExists), deleting the marker with the last part, then lets the engine
    // check its mirror against the completed ledger. False after a fatal failure.
    bool complete_split() {
        if constexpr (SplitRecoverableEngine<E>) {
            const std::span<const ledger::Operation> ops = engine_.unfinished_operations();
            const std::vector<ledger::AuxWrite> last_aux{ledger::AuxWrite{
                ledger::AuxTable::kOutbox, options_.split_marker_key, std::nullopt}};
            if (!commit_parts(ops, clock_(), {}, last_aux, std::nullopt,
                              "completing an interrupted split "
                              "commit")) {
                return false;
            }
            auto view = ledger_.read();
            if (!view) {
                return fail_with(view.error());
            }
            if (Status s = engine_.finish_recovery(**view); !s) {
                return fail_with(Status(
                    s.code(), "after completing an interrupted split commit: " + s.message()));
            }
            split_pending_ = false;
            detail::bump(counters_.split_recovered);
            return true;
        } else {
            return fail_with(Status(StatusCode::kFailedPrecondition,
                                    "a split commit is pending and the engine cannot complete it"));
        }
    }

    // Commits `ops` in one or more all-or-nothing parts of at most commit_operations_max
    // operations (split_operations), `first_aux` with the first part and `last_aux` with the
    // last (both with the only one). When the batch goes in more than one part, `marker`
    // (if any) joins the first part and its deletion the last ("Split commits" above).
    // A part too large for one ledger transaction (kResourceExhausted: nothing of it was
    // written) is split again, in parts of half its operations, down to one operation;
    // a first part that fails so makes a batch of one part a split one. False after a
    // fatal failure, which `what` names.
    bool commit_parts(std::span<const ledger::Operation> ops, ledger::Timestamp now,
                      std::span<const ledger::AuxWrite> first_aux,
                      std::span<const ledger::AuxWrite> last_aux,
                      const std::optional<ledger::AuxWrite>& marker, std::string_view what) {
        std::size_t operations_max = options_.commit_operations_max;
        std::vector<ledger::AuxWrite> aux;
        std::size_t begin = 0;
        std::size_t part = 0;
        bool split = false;
        for (;;) {
            Result<std::vector<std::size_t>> ends =
                split_operations(ops.subspan(begin), operations_max);
            if (!ends) {
                return fail_with(
                    Status(ends.error().code(), std::string(what) + ": " + ends.error().message()));
            }
            const bool first = part == 0;
            split = split || (first && ends->size() > 1);
            const std::size_t end = begin + ends->front();
            const bool last = end == ops.size();
            aux.clear();
            if (first) {
                aux.insert(aux.end(), first_aux.begin(), first_aux.end());
                if (split && marker) {
                    aux.push_back(*marker);
                }
            }
            if (last) {
                aux.insert(aux.end(), last_aux.begin(), last_aux.end());
                if (split && marker) {
                    aux.push_back(split_marker_delete_);
                }
            }
            const std::size_t count = end - begin;
            switch (commit_one(ops.subspan(begin, count), now, aux, what, part, part + ends->size(),
                               count > 1)) {
                case PartOutcome::kCommitted:
                    break;
                case PartOutcome::kTooLarge:
                    // The next pass splits the rest in more than one part, so a first part
                    // refused here makes the batch a split one.
                    detail::bump(counters_.commit_retries);
                    operations_max = count / 2;
                    continue;
                case PartOutcome::kFailed:
                    return false;
            }
            ++part;
            begin = end;
            if (last) {
                break;
            }
        }
        if (part > 1) {
            detail::bump(counters_.split_batches);
            detail::bump(counters_.split_parts, part);
        }
        return true;
    }

    enum class PartOutcome {
        kCommitted,
        kTooLarge,  // the ledger could not hold it in one transaction; nothing was written
        kFailed,    // fatal: fail_with() has said why
    };

    // One all-or-nothing ledger commit. If the ledger refuses any operation, it writes
    // nothing of this commit (no entry, no state row, no outbox row). With `may_retry`, a
    // part too large for one transaction is kTooLarge rather than fatal.
    PartOutcome commit_one(std::span<const ledger::Operation> ops, ledger::Timestamp now,
                           std::span<const ledger::AuxWrite> aux, std::string_view what,
                           std::size_t part, std::size_t parts, bool may_retry) {
        const std::string where = parts > 1
                                      ? std::string(what) + ", part " + std::to_string(part + 1) +
                                            " of " + std::to_string(parts)
                                      : std::string(what);
        const auto started = std::chrono::steady_clock::now();
        auto results = ledger_.commit(ops, now, aux, ledger::CommitOptions{.all_or_nothing = true});
        const auto latency_ns =
            static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                           std::chrono::steady_clock::now() - started)
                                           .count());
        detail::bump(counters_.commits);
        detail::bump(counters_.commit_latency_ns_sum, latency_ns);
        if (latency_ns > counters_.commit_latency_ns_max.load(std::memory_order_relaxed)) {
            detail::put(counters_.commit_latency_ns_max, latency_ns);
        }
        // A failed part after the first leaves the earlier parts written, with the split
        // marker: a restart completes them.
        const std::string nothing =
            part == 0 ? "nothing of the batch was written"
                      : "nothing of this part was written; a restart completes the earlier ones";
        if (!results) {
            if (may_retry && results.error().code() == StatusCode::kResourceExhausted) {
                return PartOutcome::kTooLarge;
            }
            fail_with(Status(results.error().code(), "ledger commit failed (" + where + "; " +
                                                         nothing +
                                                         "): " + results.error().message()));
            return PartOutcome::kFailed;
        }
        if (std::optional<std::string> bad = detail::describe_failed_operation(*results)) {
            fail_with(Status(StatusCode::kInternal, "ledger refused " + *bad + " (" + where +
                                                        "); " + nothing + " or delivered"));
            return PartOutcome::kFailed;
        }
        return PartOutcome::kCommitted;
    }

    // Delivers the rows scan_outbox() found, in pages of outbox_batch_max.
    bool redeliver() {
        if (outstanding_.empty()) {
            return true;
        }
        auto view = ledger_.read();
        if (!view) {
            return fail_with(view.error());
        }
        std::string from = options_.outbox_key_prefix;
        for (;;) {
            auto rows =
                (*view)->aux_scan(ledger::AuxTable::kOutbox, from, options_.outbox_batch_max);
            if (!rows) {
                return fail_with(rows.error());
            }
            deliveries_.clear();
            for (const auto& [key, value] : *rows) {
                const std::optional<std::uint64_t> id =
                    parse_outbox_key(options_.outbox_key_prefix, key);
                if (!id || !outstanding_.contains(*id)) {
                    break;  // past the prefix (start() checked every row under it)
                }
                Result<Event> event = E::decode_event(value);
                if (!event) {
                    return fail_with(event.error());
                }
                deliveries_.push_back(Delivery<Event>{*id, std::move(*event), true});
            }
            if (!deliveries_.empty()) {
                detail::bump(counters_.redelivered, deliveries_.size());
                sink_.deliver(std::span<const Delivery<Event>>(deliveries_));
            }
            if (deliveries_.size() < options_.outbox_batch_max) {
                break;
            }
            from = rows->back().first;
            from.push_back('\0');
        }
        deliveries_.clear();
        return true;
    }

    // Applies one batch (a due timer tick first, then the commands), commits it with the
    // outbox rows and acknowledged deletions, then delivers. False after a fatal failure.
    bool process(std::span<const Command> batch, bool tick, std::span<const std::uint64_t> acks,
                 ledger::Timestamp now) {
        out_.clear();
        if (tick) {
            if (Status s = engine_.apply(std::span<const Command>(), now, out_); !s) {
                return fail_with(Status(s.code(), "engine timer tick failed: " + s.message()));
            }
            detail::bump(counters_.ticks);
            detail::bump(counters_.batches);
        }
        if (!batch.empty()) {
            if (Status s = engine_.apply(batch, now, out_); !s) {
                return fail_with(Status(s.code(), "engine failed to apply a batch of " +
                                                      std::to_string(batch.size()) +
                                                      " commands: " + s.message()));
            }
            detail::bump(counters_.batches);
            detail::bump(counters_.commands, batch.size());
            detail::put(counters_.last_batch_size, batch.size());
        }

        std::vector<ledger::AuxWrite>& aux = out_.state;
        for (const ledger::AuxWrite& w : aux) {
            if (w.table != ledger::AuxTable::kState) {
                return fail_with(Status(StatusCode::kInternal,
                                        "engine wrote aux row '" + w.key +
                                            "' outside AuxTable::kState; the outbox is the "
                                            "sequencer's"));
            }
        }
        const std::uint64_t first_id = next_id_;
        for (const Event& event : out_.events) {
            aux.push_back(ledger::AuxWrite{ledger::AuxTable::kOutbox,
                                           outbox_key(options_.outbox_key_prefix, next_id_++),
                                           E::encode_event(event)});
        }
        if (next_id_ != first_id) {
            aux.push_back(ledger::AuxWrite{ledger::AuxTable::kOutbox, options_.outbox_next_id_key,
                                           outbox_key("", next_id_)});
        }
        acked_.assign(acks.begin(), acks.end());
        std::sort(acked_.begin(), acked_.end());
        acked_.erase(std::unique(acked_.begin(), acked_.end()), acked_.end());
        std::erase_if(acked_, [this](std::uint64_t id) { return !outstanding_.contains(id); });
        for (const std::uint64_t id : acked_) {
            aux.push_back(ledger::AuxWrite{ledger::AuxTable::kOutbox,
                                           outbox_key(options_.outbox_key_prefix, id),
                                           std::nullopt});
        }

        std::vector<ledger::Operation>& ops = out_.operations;
        if (!ops.empty() || !aux.empty()) {
            // All-or-nothing per commit; a batch of more than commit_operations_max
            // operations is committed in parts, every aux row and a split marker in the
            // first, the marker's deletion in the last ("Split commits" above).
            const ledger::AuxWrite marker{ledger::AuxTable::kOutbox, options_.split_marker_key,
                                          std::to_string(ops.size()) + " operations, outbox ids " +
                                              std::to_string(first_id) + ".." +
                                              std::to_string(next_id_)};
            if (!commit_parts(ops, now, aux, {}, marker, "a batch's commit")) {
                return false;
            }
        }

        for (std::uint64_t id = first_id; id < next_id_; ++id) {
            outstanding_.insert(id);
        }
        for (const std::uint64_t id : acked_) {
            outstanding_.erase(id);
        }
        detail::put(counters_.outbox_backlog, outstanding_.size());
        next_id_published_.store(next_id_, std::memory_order_release);
        if (out_.events.empty()) {
            return true;
        }
        deliveries_.clear();
        deliveries_.reserve(out_.events.size());
        std::uint64_t id = first_id;
        for (Event& event : out_.events) {
            deliveries_.push_back(Delivery<Event>{id++, std::move(event), false});
        }
        detail::bump(counters_.events, deliveries_.size());
        sink_.deliver(std::span<const Delivery<Event>>(deliveries_));
        deliveries_.clear();
        return true;
    }

    // Records a fatal failure: intake refuses from now on and queued commands are dropped
    // (nobody was told they were done). Always false, for `return fail_with(...)`.
    bool fail_with(Status status) {
        std::lock_guard lock(mu_);
        error_ = std::move(status);
        state_ = State::kFailed;
        queue_.clear();
        acks_.clear();
        detail::put(counters_.queue_depth, 0);
        space_cv_.notify_all();
        return false;
    }

    E& engine_;
    ledger::Ledger& ledger_;
    const Clock clock_;
    Sink& sink_;
    const SequencerOptions options_;

    // Shared with producers, under mu_.
    mutable std::mutex mu_;
    std::condition_variable cv_;        // the engine thread waits for work here
    std::condition_variable space_cv_;  // submit_wait() waits for room here
    std::deque<Command> queue_;
    std::vector<std::uint64_t> acks_;
    State state_ = State::kCreated;
    Status error_;
    bool wake_ = false;
    bool consumer_waiting_ = false;
    std::uint32_t space_waiters_ = 0;

    // The engine thread's own (start() fills them before the thread exists).
    std::uint64_t next_id_ = 1;
    bool split_pending_ = false;  // a marker row was found: complete_split() first
    const ledger::AuxWrite split_marker_delete_{ledger::AuxTable::kOutbox,
                                                options_.split_marker_key, std::nullopt};
    std::unordered_set<std::uint64_t> outstanding_;  // outbox rows not yet acknowledged
    BatchOutput<Event> out_;
    std::vector<Delivery<Event>> deliveries_;
    std::vector<std::uint64_t> acked_;

    std::atomic<std::uint64_t> next_id_published_{1};
    detail::AtomicCounters counters_;
    std::thread thread_;
};

}  // namespace fxsettle::engine
