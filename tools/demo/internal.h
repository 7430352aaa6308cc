// Pieces of fxsettle-demo shared by driver.cpp, report.cpp and cli.cpp.
#pragma once

#include <string>

#include "config/config.h"
#include "engine/base/status.h"
#include "tools/demo/demo.h"

namespace fxsettle::demo {

// Reads fxsettled's /metrics over HTTP (loopback) and sums series by name.
class MetricsScraper {
  public:
    explicit MetricsScraper(std::string host_port) : host_port_(std::move(host_port)) {}
    // GETs /metrics; false when the endpoint did not answer (the last text is kept).
    bool scrape();
    // The sum of every sample of `name` (any labels) in the last scrape; 0 when absent.
    double sum(const std::string& name) const;
    const std::string& text() const { return text_; }

  private:
    std::string host_port_;
    std::string text_;
};

// After fxsettled stopped: the checks on its ledger (trial balance, verify, fxledger
// verify, the camt.053 statements reconciled) and the replay of its command log, into
// `report`. A failing check is recorded in report.checks; a Status only when the
// ledger cannot be read at all.
Status check_ledger(const config::Config& config, const DemoOptions& options, DemoReport& report);

}  // namespace fxsettle::demo
