// What the three FIX simulators share: a seeded random generator, FIX time and date text,
// prices as Rate mantissas on a pair's tick grid, the default mid rates, the FIX session
// runtime (SimRuntime) that turns SessionHost callbacks into work on one worker thread,
// and per-message-type counters.
//
// Money is never a float here either: prices are integer mantissas of money::Rate (12
// decimals) that move in whole ticks, quantities are money::Amount minor units.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <queue>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "adapters/fix/session_host.h"
#include "adapters/fix/wire.h"
#include "config/config.h"
#include "engine/base/status.h"
#include "engine/money/amount.h"
#include "engine/money/rate.h"

namespace fxsettle::fxsim {

using adapters::SessionKey;
using adapters::WireField;
using adapters::WireGroup;
using adapters::WireMessage;
using Clock = std::chrono::steady_clock;

// The business clock a simulator stamps and dates with (TransactTime, value and booking
// dates, statement times). Empty: the system clock. The demo runs fxsettled on an
// accelerated clock and gives the simulators the same one (accelerated_clock).
using SimClock = std::function<std::chrono::system_clock::time_point()>;
// now() of `clock`, or of the system clock when it is empty.
std::chrono::system_clock::time_point sim_now(const SimClock& clock);
// A clock that reads `start` at the moment it is made and then runs `rate` times faster
// than real time (rate >= 1), as `fxsettled --clock-start --clock-rate` does.
SimClock accelerated_clock(std::chrono::system_clock::time_point start, std::uint32_t rate);
// Parses "YYYY-MM-DDTHH:MM:SSZ" (UTC); nullopt when malformed.
std::optional<std::chrono::system_clock::time_point> parse_utc_instant(std::string_view text);

// A small, fast, seeded generator (SplitMix64): the same seed gives the same sequence on
// every platform, which std::uniform_int_distribution does not promise.
class Rng {
  public:
    explicit Rng(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next() noexcept {
        std::uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        return z ^ (z >> 31);
    }
    // Uniform in [0, n); 0 when n is 0.
    std::uint64_t below(std::uint64_t n) noexcept { return n == 0 ? 0 : next() % n; }
    // Uniform in [lo, hi] (lo <= hi).
    std::int64_t between(std::int64_t lo, std::int64_t hi) noexcept {
        return lo + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(hi - lo) + 1));
    }
    // True with probability permille / 1000.
    bool chance_permille(std::uint32_t permille) noexcept { return below(1000) < permille; }

  private:
    std::uint64_t state_;
};

// A stable 64-bit hash of text (FNV-1a), to derive per-id random streams from a seed.
std::uint64_t hash_text(std::string_view text) noexcept;

// FIX UTCTIMESTAMP "YYYYMMDD-HH:MM:SS.sss" and LOCALMKTDATE / UTCDATEONLY "YYYYMMDD".
std::string fix_timestamp(std::chrono::system_clock::time_point t);
std::string fix_date(std::chrono::year_month_day d);
// Parses "YYYYMMDD"; nullopt when malformed.
std::optional<std::chrono::year_month_day> parse_fix_date(std::string_view text);
// ISO 8601 "YYYY-MM-DD" and "YYYY-MM-DDTHH:MM:SS" (UTC, for camt.053).
std::string iso_date(std::chrono::year_month_day d);
std::string iso_datetime(std::chrono::system_clock::time_point t);
std::chrono::year_month_day utc_today(std::chrono::system_clock::time_point t);

// A price on `pair`: a Rate mantissa (Rate::kDecimals decimals) as a 64-bit integer. The
// simulators' prices stay far below 9.2e6, the most an int64 mantissa can hold.
using Mantissa = std::int64_t;
// The decimal text of a price mantissa ("7.1234"); the pair only names it in errors.
std::string format_price(const money::CurrencyPair& pair, Mantissa mantissa);
// The mantissa of an exact decimal rate text on `pair`.
Result<Mantissa> parse_price(const money::CurrencyPair& pair, std::string_view text);
Mantissa to_mantissa(const money::Rate& rate);

// A pair a simulator quotes or trades: its tick (from [[pairs]]) and a mid to start from.
struct PairQuote {
    money::CurrencyPair pair;
    Mantissa tick = 0;  // > 0
    Mantissa mid = 0;   // > 0, a multiple of tick
    std::string symbol() const { return pair.to_string(); }
};

// The built-in starting mid of a pair (a realistic level for the default config's
// pairs: USD/CNY 7.1000, JPY/CNY 0.047500, ...), or nullopt for a pair it does not know.
std::optional<std::string> default_mid_text(std::string_view symbol);

// The pairs of `config` (all of them, or only `symbols` when not empty) with their ticks
// and mids: `mids` ("USD/CNY" -> "7.1") overrides the built-in mids, rounded to the tick.
// Fails naming a symbol that is not a configured pair or has no mid.
Result<std::vector<PairQuote>> pair_quotes(const config::Config& config,
                                           const std::vector<std::string>& symbols,
                                           const std::map<std::string, std::string>& mids);

// The config file at `path`, or the embedded default when `path` is empty.
Result<config::Config> load_sim_config(const std::string& path);

// Counters by message type (and anything else keyed by a short string).
class Counts {
  public:
    void add(const std::string& key, std::uint64_t n = 1);
    std::uint64_t get(const std::string& key) const;
    std::map<std::string, std::uint64_t> snapshot() const;

  private:
    mutable std::mutex mu_;
    std::map<std::string, std::uint64_t> counts_;
};

// "8=3 S=1 U2/A=2": counters on one line, for logs.
std::string format_counts(const std::map<std::string, std::uint64_t>& counts);

// The session runtime every simulator runs on. SessionHost's Handler callbacks (on
// QuickFIX's threads) only enqueue; one worker thread takes the events in order and calls
// the simulator's on_* hooks, sends what they schedule when it is due (answers may be
// delayed on purpose), and calls on_tick() every `tick_interval`. Everything a hook
// touches is therefore owned by the worker thread; public accessors of the simulators
// take `state_mu_`, which the worker holds while a hook runs.
class SimRuntime : public adapters::Handler {
  public:
    ~SimRuntime() override;
    SimRuntime(const SimRuntime&) = delete;
    SimRuntime& operator=(const SimRuntime&) = delete;

    // Stops the worker and the host (logging every session out). Idempotent.
    void stop();
    bool running() const { return running_.load(); }
    // Sessions logged on now.
    std::vector<SessionKey> sessions_up() const;
    bool logged_on(const SessionKey& key) const;
    // Application messages in and out by MsgType (what the simulator handled and sent).
    std::map<std::string, std::uint64_t> messages_in() const { return in_.snapshot(); }
    std::map<std::string, std::uint64_t> messages_out() const { return out_.snapshot(); }
    // The host's own figures (nullopt before start).
    std::optional<adapters::HostCounters> host_counters() const;
    std::uint16_t listen_port() const;

    // adapters::Handler (QuickFIX's threads): enqueue only.
    std::string authenticate(const SessionKey& key, const std::string& username,
                             const std::string& password) override;
    void on_logon(const SessionKey& key) override;
    void on_logout(const SessionKey& key) override;
    void on_message(const SessionKey& key, WireMessage&& message) override;
    void on_sent(const SessionKey& key, const std::vector<std::uint64_t>& tokens) override;

  protected:
    explicit SimRuntime(std::string name, std::chrono::milliseconds tick_interval);
    // Creates and starts the host, then the worker. False and *error on failure.
    bool start_runtime(adapters::HostOptions options, std::string* error);

    // Hooks, on the worker thread with state_mu_ held.
    virtual void on_session_up(const SessionKey& /*key*/, Clock::time_point /*now*/) {}
    virtual void on_session_down(const SessionKey& /*key*/, Clock::time_point /*now*/) {}
    virtual void on_app_message(const SessionKey& key, WireMessage&& message,
                                Clock::time_point now) = 0;
    virtual void on_tick(Clock::time_point /*now*/) {}
    // Acceptors: accept or refuse a Logon (any thread). Default: accept.
    virtual std::string check_logon(const SessionKey& /*key*/, const std::string& /*username*/,
                                    const std::string& /*password*/) {
        return {};
    }

    // From hooks: send `message` on `key` after `delay` (0: on this pass).
    void schedule_send(const SessionKey& key, WireMessage message,
                       std::chrono::milliseconds delay = std::chrono::milliseconds{0});
    // From hooks: log the session out with `reason` after `delay`.
    void schedule_logout(const SessionKey& key, std::string reason,
                         std::chrono::milliseconds delay = std::chrono::milliseconds{0});
    // From any thread: run `work` on the worker thread (with state_mu_ held).
    void post(std::function<void(Clock::time_point)> work);

    const std::string& name() const { return name_; }
    mutable std::mutex state_mu_;

  private:
    struct Event;
    struct Timed;
    void worker_loop();
    void enqueue(Event event);

    std::string name_;
    std::chrono::milliseconds tick_interval_;
    std::unique_ptr<adapters::SessionHost> host_;
    std::thread worker_;
    std::atomic<bool> running_{false};
    std::atomic<bool> stopping_{false};

    std::mutex queue_mu_;
    std::condition_variable queue_cv_;
    std::deque<Event> events_;

    // Worker-owned.
    std::vector<Timed> timed_;  // a heap by due time, then insertion order
    std::uint64_t timed_seq_ = 0;

    mutable std::mutex up_mu_;
    std::map<SessionKey, bool> up_;
    Counts in_;
    Counts out_;
};

}  // namespace fxsettle::fxsim
