// The node the hostile-input and access tests attack: the default config run in-process
// (tools/fxsettled/node.h) on a manual clock (Tuesday 10 March 2026, 02:30 UTC), its
// gateway on a free loopback port, optionally with both venue simulators streaming rates;
// bank and (without simulators) venue sessions point at closed ports. Helpers take
// snapshots of everything a request could change and check the ledger.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "config/config.h"
#include "ledger/ledger.h"
#include "tests/integration/hostile/raw_fix_client.h"
#include "tools/fxsettled/node.h"
#include "tools/fxsim/venue_sim.h"

namespace fxsettle::hostile {

using namespace std::chrono_literals;

inline constexpr auto kWait = std::chrono::seconds(60);
inline const ledger::Date kDay = ledger::Date(std::chrono::year{2026} / 3 / 10);  // a Tuesday

// A port nothing listens on now (bind to 127.0.0.1:0).
std::uint16_t free_port();
// Polls `pred` until true or `limit` passed.
bool wait_for(const std::function<bool()>& pred, std::chrono::seconds limit = kWait);

class ManualClock {
  public:
    explicit ManualClock(ledger::Timestamp t) : ns_(t.time_since_epoch().count()) {}
    ledger::Timestamp now() const {
        return ledger::Timestamp(std::chrono::nanoseconds(ns_.load()));
    }

  private:
    std::atomic<std::int64_t> ns_;
};

// Everything an accepted request would change: the ledger's journal head, every account's
// balance, and the engine's state hash (books, orders, quotes, payouts, idempotency
// records, id counters, ...).
struct StateSnapshot {
    std::uint64_t last_sequence = 0;
    std::array<std::uint8_t, 32> head_hash{};
    std::map<std::string, ledger::Balance> balances;
    std::array<std::uint8_t, 32> engine_hash{};
    // Empty when equal; otherwise what differs (for failure messages).
    std::string diff(const StateSnapshot& after) const;
};

struct HarnessOptions {
    bool venues = false;  // run venue-a and venue-b (rates for quotes)
    bool fix_logs = false;
    std::function<void(config::Config&)> edit;  // changes to the default config
};

class NodeHarness {
  public:
    NodeHarness();
    ~NodeHarness();

    // Creates and starts the node (and the venues first when asked). Empty on success,
    // otherwise the error.
    std::string start(const HarnessOptions& options = {});
    void stop();

    node::Node& node() { return *node_; }
    const config::Config& config() const { return config_; }
    const std::filesystem::path& dir() const { return dir_; }
    std::uint16_t gateway_port() const { return gateway_port_; }
    ledger::Timestamp now() const { return clock_.now(); }

    // The session's client for `psp_id` (not connected).
    std::unique_ptr<RawFixClient> client(const std::string& psp_id) const;
    // A client of `psp_id` logged on with the demo password; nullptr with *error.
    std::unique_ptr<RawFixClient> logged_on(const std::string& psp_id, std::string* error) const;

    // Waits until the node drained, then snapshots. Not while the engine may still work.
    StateSnapshot snapshot();
    // Empty when `fxledger verify`'s checks pass (hash chain, invariants) and every
    // currency's debits equal its credits (posted and pending); otherwise the problems.
    std::string check_ledger();
    bool drained();
    // Lines the node logged at warning level or above, containing `needle`.
    std::size_t logged(const std::string& needle) const;
    std::vector<std::string> log_lines() const;

  private:
    config::Config config_;
    std::filesystem::path dir_;
    std::string dictionary_;
    std::uint16_t gateway_port_ = 0;
    ManualClock clock_{ledger::Timestamp(kDay) + 2h + 30min};
    std::vector<std::unique_ptr<fxsim::VenueSim>> venues_;
    std::unique_ptr<node::Node> node_;
    mutable std::mutex log_mu_;
    std::vector<std::string> log_;
};

// Options of a plain-TCP raw client of the gateway on `port` as `comp_id`.
RawClientOptions plain_options(std::uint16_t port, const std::string& comp_id);

// A TCP connection to the gateway that sends nothing (-1 if connect() failed).
int connect_silent(std::uint16_t port);

// Whether the gateway closed connection `fd` within `limit` (end of stream or reset), and
// how long that took.
bool closed_by_gateway(int fd, std::chrono::milliseconds limit,
                       std::chrono::milliseconds* after = nullptr);

}  // namespace fxsettle::hostile
