// fxsettle::node: the whole settlement node in one object -- the LMDB ledger, the engine
// under its sequencer, the FIX edge (Gateway, VenueAdapter, BankAdapter, EdgeSink) and
// their SessionHosts -- wired as adapters/edge/README.md ("Wiring") says. The daemon
// (fxsettled, issue 6) adds signals and metrics on top; the end-to-end tests
// (tests/integration/node) run it in-process against the FIX simulators.
//
// Life cycle: create() opens (creating) the ledger, commits the chart's accounts on a new
// ledger or recovers the engine from an existing one, and creates every component and
// host (checking stores, dictionary, certificates); start() starts the sequencer, then
// the hosts (the gateway listens, the venue and bank sessions connect); stop() stops the
// hosts first (their last on_sent acknowledgements reach the sequencer), then the
// sequencer. A node that was stopped cannot be started again: create another one on the
// same files (its sessions resume with their sequence numbers, the engine recovers).
//
// No signal handling and no metrics exporter here: counters() gives snapshots.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "adapters/convert/convert.h"
#include "adapters/edge/bank_adapter.h"
#include "adapters/edge/common.h"
#include "adapters/edge/edge_sink.h"
#include "adapters/edge/gateway.h"
#include "adapters/edge/venue_adapter.h"
#include "adapters/fix/session_host.h"
#include "config/config.h"
#include "engine/base/status.h"
#include "engine/sequencer/sequencer.h"

namespace fxsettle::node {

struct NodeOptions {
    // Overrides of the config (tests): the ledger file, the data directory (FIX stores
    // and logs), the gateway's listen port, venue and bank ports by id, and the
    // initiators' reconnect interval.
    std::optional<std::filesystem::path> ledger_path;
    std::optional<std::filesystem::path> data_dir;
    std::optional<std::uint16_t> gateway_port;
    std::map<std::string, std::uint16_t> venue_ports;
    std::map<std::string, std::uint16_t> bank_ports;
    std::optional<std::chrono::seconds> reconnect_interval;
    // The engine's clock (empty: the system clock). Tests give a clock they control.
    engine::Clock clock;
    // Where the edge logs (empty: stderr, one line per message).
    adapters::edge::LogFn log;
    // The FIX 4.4 data dictionary (empty: the compiled-in copy of
    // config/fix/FIX44-fxsettle.xml, written to <data_dir>/FIX44-fxsettle.xml).
    std::string dictionary_path;
    // QuickFIX message and event logs under <data_dir>/fix-logs/<host>.
    bool fix_logs = true;
    // Stamp venue rates with the node's clock on receipt (VenueAdapterOptions).
    bool stamp_rates_on_receipt = false;
    // Called with every committed delivery before the edge sends it (tests record the
    // engine's events); on the sequencer thread, must not block.
    std::function<void(std::span<const engine::Delivery<engine::Event>>)> observe;
};

// Snapshots of every component's counters, for the daemon's metrics.
struct NodeCounters {
    engine::SequencerCounters sequencer;
    adapters::edge::GatewayCounters gateway;
    adapters::edge::VenueAdapterCounters venues;
    adapters::edge::BankAdapterCounters banks;
    adapters::edge::EdgeSinkCounters sink;
    adapters::HostCounters gateway_host, venue_host, bank_host;
};

class Node {
  public:
    using Seq = engine::Sequencer<engine::Engine>;

    // Builds the node. Fails with a one-line Status naming the cause: kInvalidArgument
    // (the config with the overrides applied does not validate; the dictionary or a
    // store cannot be used; unreadable certificates), kUnsupported (a ledger of another
    // format version), kUnavailable (the ledger is open for writing by another process or
    // Node), kCorruption (recovery found the ledger inconsistent), kIoError.
    static Result<std::unique_ptr<Node>> create(const config::Config& config,
                                                NodeOptions options = {});
    ~Node();  // stop()s
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;

    // Starts the sequencer, then the hosts. Fails (kUnavailable) when a port is in use,
    // (kFailedPrecondition) when called twice or after stop(); what started is stopped.
    Status start();
    // Stops the hosts (PSP-facing first, `grace` each for the logouts), then the
    // sequencer. Returns the sequencer's error, if it failed. Idempotent.
    Status stop(std::chrono::milliseconds grace = std::chrono::milliseconds{2000});

    // Wakes the sequencer (e.g. after a test moved its clock past a cut-off).
    void wake();
    // Stops intake: from now on the gateway answers every PSP request with a business
    // reject ("busy: the engine is not running ...; nothing was done; retry"), while venue
    // and bank replies still reach the engine (the daemon's shutdown, before drained()).
    void close_intake();
    // True when every command the edge submitted was applied, the queue is empty and no
    // delivered row waits for QuickFIX to store its messages.
    bool drained() const;

    NodeCounters counters() const;
    // OK, or the failure that stopped the sequencer (the node then serves nothing more:
    // stop it and start a new process, which recovers from the ledger).
    Status health() const;
    // The sequencer's counters alone: atomic loads, no lock (metrics, per batch).
    engine::SequencerCounters sequencer_counters() const;
    // The adapters' read-only queries (thread-safe), for metrics.
    const adapters::edge::VenueAdapter& venue_adapter() const { return *venues_; }
    const adapters::edge::BankAdapter& bank_adapter() const { return *banks_; }
    // The node clock's time when the venue's last rate message (W or X) arrived; nullopt
    // before the first one. Thread-safe, no lock.
    std::optional<ledger::Timestamp> last_rate_at(engine::VenueIndex venue) const;
    const config::Config& config() const { return config_; }
    ledger::Ledger& ledger() { return *ledger_; }
    const engine::Engine& engine() const { return *engine_; }
    const std::filesystem::path& ledger_path() const { return ledger_path_; }
    const std::filesystem::path& data_dir() const { return data_dir_; }
    adapters::SessionHost& gateway_host() { return *gateway_host_; }
    adapters::SessionHost& venue_host() { return *venue_host_; }
    adapters::SessionHost& bank_host() { return *bank_host_; }

  private:
    class ObservingSink;
    class GatedSubmitter;
    class RateWatch;
    Node() = default;

    config::Config config_;
    NodeOptions options_;
    std::filesystem::path ledger_path_;
    std::filesystem::path data_dir_;
    engine::Clock clock_;
    std::unique_ptr<ledger::Ledger> ledger_;
    std::unique_ptr<engine::Engine> engine_;
    std::unique_ptr<adapters::convert::Converter> converter_;
    std::unique_ptr<adapters::edge::EdgeSink> sink_;
    std::unique_ptr<ObservingSink> observing_;
    std::unique_ptr<Seq> seq_;
    std::unique_ptr<adapters::edge::SequencerSubmitter<Seq>> submitter_;
    std::unique_ptr<GatedSubmitter> gateway_submitter_;  // the gateway's: close_intake()
    std::unique_ptr<adapters::edge::Gateway> gateway_;
    std::unique_ptr<adapters::edge::VenueAdapter> venues_;
    std::unique_ptr<RateWatch> rate_watch_;  // the venue host's handler, before venues_
    std::unique_ptr<adapters::edge::BankAdapter> banks_;
    std::unique_ptr<adapters::SessionHost> gateway_host_, venue_host_, bank_host_;
    bool started_ = false;
    bool stopped_ = false;
};

}  // namespace fxsettle::node
