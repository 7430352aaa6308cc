// fxsettled's Prometheus metrics (prometheus-cpp pull exposer; names in METRICS.md and
// README.md). Nothing here runs on a hot path per event:
//   - the engine thread calls observer() once per committed batch of deliveries: it copies
//     the few figures the metrics need (cycle reports, hedges, rejects, order changes,
//     payment orders) into a pending list under one lock per batch, and observes the
//     batch-size and commit-latency histograms once per batch;
//   - a collector thread samples the node's counters every `sample_interval` (and a
//     scrape samples them first), and folds the pending list into the families;
//   - a verifier thread runs the ledger's verify() in its own read transaction at start
//     and after each batch that carried a cycle report.
// The engine's clock (the daemon's, possibly accelerated) stamps cycle times and ages.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "config/config.h"
#include "engine/base/status.h"
#include "engine/core/events.h"
#include "engine/sequencer/sequencer.h"
#include "tools/fxsettled/node.h"

namespace fxsettle::daemon {

struct MetricsOptions {
    std::string host = "127.0.0.1";
    std::uint16_t port = 9464;  // 0: the OS picks one (port() tells which)
    std::chrono::milliseconds sample_interval{250};
    std::string version;  // fxsettle_build_info{version}
};

class Metrics {
  public:
    using Observer = std::function<void(std::span<const engine::Delivery<engine::Event>>)>;

    // Builds every family and binds the exposer on host:port. Fails with kUnavailable
    // ("metrics port 127.0.0.1:9464 is in use: ...") when it cannot listen.
    // `config` must outlive the Metrics.
    static Result<std::unique_ptr<Metrics>> create(const config::Config& config,
                                                   const MetricsOptions& options,
                                                   engine::Clock clock);
    ~Metrics();  // stop()s
    Metrics(const Metrics&) = delete;
    Metrics& operator=(const Metrics&) = delete;

    // The port the exposer listens on.
    std::uint16_t port() const;
    // For NodeOptions::observe. Forwards to `next` (may be empty) after copying. Valid
    // while the Metrics lives; does nothing until attach().
    Observer observer(Observer next = {});
    // Reads the node's initial state (open exposure: call before node.start(), while
    // no other thread runs the engine), then starts the collector and verifier threads.
    // `node` must outlive the Metrics or stop() must come first.
    void attach(node::Node& node);
    // Stops the threads (the exposer keeps serving the last values until destruction).
    void stop();
    // One sample now (tests of the daemon; the collector does it periodically).
    void sample();

  private:
    struct Impl;
    explicit Metrics(std::shared_ptr<Impl> impl);
    // Shared: the exposer holds a weak pointer to it as its Collectable.
    std::shared_ptr<Impl> impl_;
};

}  // namespace fxsettle::daemon
