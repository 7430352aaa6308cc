// The engine state machine (issue 4, issue 8): FX order books, quotes, payout intake,
// deposits, risk limits and the settlement cycles' schedule, driven one batch of
// commands at a time by the sequencer (engine_concept.h). No threads, clocks, sockets,
// FIX or Prometheus: time comes in with every batch.
//
// Accounting (settlement.h relies on it): per PSP and currency `available`, `held` and
// `receivable` (chart.h). Accepting a payout moves its funding amount available -> held
// in one posted entry; accepting an order moves what it sells (or, for a buy, what it
// may cost at its limit, or by walking the book for a market order) the same way. A
// postfunded PSP short of available funds draws intraday credit up to its credit limit
// first: Dr receivable / Cr available. Fills create trades whose funds stay held until
// the cut-offs of the pair's currencies; what an order no longer needs goes back held ->
// available. A trade's quote amount is its base quantity at the fill price rounded down
// to the quote currency's minor unit (both sides use the same amount, so no residue).
// The engine mirrors every PSP balance it moves and never emits an operation the
// ledger would refuse; a refusal is a defect (FXSETTLE_ASSERT in the sequencer).
//
// Persistence: every apply() writes its commands and time as a "cmdlog/<20-digit batch
// number>" state row in the same transaction as its ledger operations; recover() replays
// those rows in order and then checks the mirror against the ledger. A SetLimits command
// is applied after the other commands of its batch and writes an
// "audit/limits/<batch>/<n>" state row.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "engine/base/status.h"
#include "engine/calendar/calendar.h"
#include "engine/chart/chart.h"
#include "engine/core/commands.h"
#include "engine/core/events.h"
#include "engine/sequencer/engine_concept.h"
#include "ledger/ledger.h"
#include "ledger/types.h"

namespace fxsettle::engine {

// The hi word of the ledger entry ids the engine's intake writes ("ENGI"); lo counts up
// from 1. Settlement uses kSettlementEntryIdHi.
inline constexpr std::uint64_t kEngineEntryIdHi = 0x454E'4749'0000'0001ULL;
// Bounds (STYLE.md).
inline constexpr std::size_t kCommandsPerBatchMax = 1u << 20;
inline constexpr std::size_t kRecoverRowsPerScan = 256;
// Idempotency retention. An accepted request's outcome is kept kIdempotencyDaysKept days
// (by the date of the batch that accepted it; pruned by the first batch of each date, so
// replay prunes the same): a repeat within them returns the original outcome. After that
// only 64 bits of a digest of its client id are kept, for kIdempotencyExpiredDaysKept
// days: a repeat then is refused (kDuplicateClientId, "no longer kept"), never executed
// again. Client ids must not be reused within kIdempotencyExpiredDaysKept days; beyond
// that an id is unknown and a request with it is new.
inline constexpr int kIdempotencyDaysKept = 7;
inline constexpr int kIdempotencyExpiredDaysKept = 400;
static_assert(kIdempotencyDaysKept < kIdempotencyExpiredDaysKept);

// A PSP's balances as the engine mirrors them (minor units on each account's normal side).
struct PspBalances {
    money::Amount available;
    money::Amount held;
    money::Amount receivable;
    friend bool operator==(const PspBalances&, const PspBalances&) = default;
};

class Engine {
  public:
    using Command = engine::Command;
    using Event = engine::Event;

    // Builds an engine for `config` (validated by config::load_*), its chart and its
    // calendars. Fails (kInvalidArgument) when the config and the chart disagree.
    static Result<Engine> create(const config::Config& config, Chart chart,
                                 calendar::CalendarSet calendars);
    // The same, building the chart and the calendars from the config.
    static Result<Engine> create(const config::Config& config);

    Engine(Engine&&) noexcept;
    Engine& operator=(Engine&&) noexcept;
    Engine(const Engine&) = delete;
    Engine& operator=(const Engine&) = delete;
    ~Engine();

    // engine_concept.h. Runs what is due at `now` (cut-offs of every currency whose
    // cut-off time has come, Day order expiry, hedge timeouts), then applies `commands`
    // in order, then the batch's SetLimits. Business rejections are events; a failed
    // Status is a defect (the engine must then be recovered from the ledger). `now`
    // before the previous batch's time is treated as that time.
    Status apply(std::span<const Command> commands, ledger::Timestamp now, BatchOutput<Event>& out);
    std::optional<ledger::Timestamp> next_deadline() const;
    static std::string encode_event(const Event& event);
    static Result<Event> decode_event(std::string_view bytes);

    // SHA-256 of every piece of state in a canonical order (books, orders, trades, quotes,
    // payouts, balance mirror, risk figures, limits, venue rates, idempotency records,
    // id counters, settlement's state). Equal after the same batches in the same order.
    std::array<std::uint8_t, 32> state_hash() const;

    // The chart's account creation, to commit once before the first batch (idempotent).
    std::vector<ledger::Operation> initial_operations() const;

    // Replays every "cmdlog/" row of `view` in order (outputs discarded) on a fresh
    // engine, then checks the mirrored PSP balances against the ledger's. Fails
    // (kFailedPrecondition) on an engine that applied batches already, (kCorruption) on
    // a gap in the log, an undecodable row or a balance that differs (naming it).
    // A crash between the parts of a split commit (sequencer.h, "Split commits") leaves
    // the log's last batches with only some of their operations in the ledger: recover()
    // then keeps their operations (unfinished_operations()), skips the balance check and
    // returns OK; apply() fails until finish_recovery(). Fails (kCorruption) when a
    // batch's operations are in the ledger but an earlier batch's are not.
    Status recover(ledger::ReadView& view);
    // engine_concept.h, SplitRecoverableEngine. The span is valid until finish_recovery()
    // or recover(). finish_recovery() fails (kFailedPrecondition) while the ledger still
    // lacks them, (kCorruption) when a balance differs.
    std::span<const ledger::Operation> unfinished_operations() const;
    Status finish_recovery(ledger::ReadView& view);

    // Read access for reports and tests.
    const Chart& chart() const;
    PspBalances balances(PspIndex psp, CurrencyIndex currency) const;
    std::uint64_t batches_applied() const;
    std::size_t open_orders() const;
    // The open orders (resting in the books), in id order: what the daemon's book-depth
    // metric starts from after a restart.
    struct OpenOrderRef {
        std::uint64_t id = 0;
        PairIndex pair = 0;
        bool buy = false;
    };
    std::vector<OpenOrderRef> open_order_refs() const;
    std::size_t open_payouts() const;
    std::size_t open_trades() const;
    std::size_t live_quotes() const;
    const Settlement& settlement() const;

  private:
    struct Impl;
    explicit Engine(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

static_assert(SequencedEngine<Engine>);
static_assert(SplitRecoverableEngine<Engine>);

// The SetLimits commands a config reload amounts to: one per PSP (by id, in the new
// config's order) whose funding mode or limits differ from `current`, with actor
// "config-reload" and client id "reload-<n>-<psp id>". PSPs added or removed by the
// reload are not covered (the chart would change: that needs a restart).
std::vector<Command> limits_from_config(const config::Config& current,
                                        const config::Config& reloaded, const Chart& chart,
                                        std::uint64_t reload_number);

// A PSP's limits as the config states them.
RiskLimits risk_limits(const config::PspConfig& psp);

// The schedule the engine runs: the first cut-off of `cycle` after `t` on a business day
// of the cycle currency's calendar in `calendars` (weekends and holidays skipped), or none
// within kCutoffSearchDaysMax days. The daemon's next-cut-off metric uses it too.
inline constexpr int kCutoffSearchDaysMax = 31;
std::optional<ledger::Timestamp> cutoff_after(const config::CycleConfig& cycle,
                                              const calendar::CalendarSet& calendars,
                                              ledger::Timestamp t);

}  // namespace fxsettle::engine
