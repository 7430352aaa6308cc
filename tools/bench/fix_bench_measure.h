// Round-trip latency samples and their percentiles, shared by fix_bench's bare QuickFIX
// echo pair and (later) its engine path. Plain C++14, no QuickFIX.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace fxsettle {
namespace bench {

class RttRecorder {
  public:
    explicit RttRecorder(std::size_t samples_max) { samples_ns_.reserve(samples_max); }
    void add(std::chrono::nanoseconds rtt) {
        samples_ns_.push_back(static_cast<std::uint64_t>(rtt.count()));
    }
    std::size_t size() const { return samples_ns_.size(); }
    // The p-th percentile (0 < p <= 100, nearest rank) in microseconds; 0 with no samples.
    double percentile_us(double p) {
        if (samples_ns_.empty()) {
            return 0.0;
        }
        std::sort(samples_ns_.begin(), samples_ns_.end());
        std::size_t rank = static_cast<std::size_t>(p / 100.0 * samples_ns_.size() + 0.999999);
        rank = std::min(std::max<std::size_t>(rank, 1), samples_ns_.size());
        return static_cast<double>(samples_ns_[rank - 1]) / 1000.0;
    }

  private:
    std::vector<std::uint64_t> samples_ns_;
};

// What one measured run reports.
struct EchoFigures {
    std::size_t messages = 0;  // round trips completed
    double seconds = 0.0;      // from the first send to the last reply
    double msgs_per_s = 0.0;   // round trips per second
    double rtt_us_p50 = 0.0;
    double rtt_us_p99 = 0.0;
    // CPU of the whole process over the measured round trips (both sides of the pair, or
    // the PSP client and the whole server side), and per round trip.
    double cpu_s = 0.0;
    double cpu_us_per_round_trip = 0.0;
    // Per thread name (threads of one name summed), most CPU first.
    std::vector<std::pair<std::string, double>> cpu_s_by_thread;
};

}  // namespace bench
}  // namespace fxsettle
