// What the sequencer needs of an engine: the contract between engine/core (the state
// machine) and engine/sequencer (the thread, queue, ledger commit and outbox).
#pragma once

#include <concepts>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"
#include "ledger/ledger.h"
#include "ledger/types.h"

namespace fxsettle::engine {

// What applying one batch of commands produced. The sequencer commits `operations` and
// `state` plus one outbox row per event in ONE ledger write transaction, and only after
// the commit hands `events` on (DESIGN.md "Durable before acknowledged").
template <typename Event>
struct BatchOutput {
    std::vector<Event> events;                  // in order; each becomes one outbox row
    std::vector<ledger::Operation> operations;  // journal entries, accounts, holds
    std::vector<ledger::AuxWrite> state;        // engine rows (AuxTable::kState only)

    void clear() {
        events.clear();
        operations.clear();
        state.clear();
    }
};

// An engine the sequencer can drive.
//  - apply(): applies `commands` in order at time `now` (the injected clock; the engine
//    never reads a clock) and appends what it produced to `out`. Business rejections are
//    events, never a failed Status; a failed Status is a defect or a broken invariant and
//    stops the sequencer (the engine's memory is then ahead of the ledger: the process
//    must restart and recover). An empty `commands` span is a timer tick: the engine
//    runs whatever is due at `now` (cut-offs, expiries).
//  - next_deadline(): the earliest time at which something is due without any command
//    (a cut-off, a quote or hold expiry); the sequencer ticks the engine then.
//  - encode_event()/decode_event(): the outbox row encoding, so that rows left unsent by
//    a crash can be delivered again after a restart.
template <typename E>
concept SequencedEngine = requires(E& engine, const E& const_engine,
                                   std::span<const typename E::Command> commands,
                                   ledger::Timestamp now, BatchOutput<typename E::Event>& out,
                                   const typename E::Event& event, std::string_view bytes) {
    { engine.apply(commands, now, out) } -> std::same_as<Status>;
    { const_engine.next_deadline() } -> std::same_as<std::optional<ledger::Timestamp>>;
    { E::encode_event(event) } -> std::same_as<std::string>;
    { E::decode_event(bytes) } -> std::same_as<Result<typename E::Event>>;
};

// An engine whose recover() can roll an interrupted split commit forward (sequencer.h,
// "Split commits"). After recover():
//  - unfinished_operations(): empty when every operation of the replayed log is in the
//    ledger; otherwise the operations of the trailing batches whose last operation the
//    ledger lacks, in order (those already written are harmless to commit again: same id,
//    same content). Valid until finish_recovery() or the next recover().
//  - finish_recovery(view): called once those are committed; checks the engine's state
//    against `view` (what recover() skipped) and clears them. Until then apply() fails.
template <typename E>
concept SplitRecoverableEngine = SequencedEngine<E> &&
    requires(E& engine, const E& const_engine, ledger::ReadView& view) {
    { const_engine.unfinished_operations() } -> std::same_as<std::span<const ledger::Operation>>;
    { engine.finish_recovery(view) } -> std::same_as<Status>;
};

}  // namespace fxsettle::engine
