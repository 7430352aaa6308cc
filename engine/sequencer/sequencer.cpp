// The non-template parts of the sequencer: options, outbox keys, names, counters.
#include "engine/sequencer/sequencer.h"

#include <charconv>

namespace fxsettle::engine {

namespace {

Status bad_option(std::string_view name, const std::string& value, std::string_view why) {
    return Status(StatusCode::kInvalidArgument, "sequencer option " + std::string(name) + " = " +
                                                    value + ": " + std::string(why));
}

}  // namespace

Status validate_sequencer_options(const SequencerOptions& o) {
    if (o.queue_max == 0 || o.queue_max > kSequencerQueueMaxCeiling) {
        return bad_option("queue_max", std::to_string(o.queue_max),
                          "must be 1.." + std::to_string(kSequencerQueueMaxCeiling));
    }
    if (o.batch_max == 0 || o.batch_max > kSequencerBatchMaxCeiling) {
        return bad_option("batch_max", std::to_string(o.batch_max),
                          "must be 1.." + std::to_string(kSequencerBatchMaxCeiling));
    }
    if (o.batch_max > o.queue_max) {
        return bad_option("batch_max", std::to_string(o.batch_max),
                          "must not exceed queue_max (" + std::to_string(o.queue_max) + ")");
    }
    if (o.outbox_batch_max == 0 || o.outbox_batch_max > kSequencerBatchMaxCeiling) {
        return bad_option("outbox_batch_max", std::to_string(o.outbox_batch_max),
                          "must be 1.." + std::to_string(kSequencerBatchMaxCeiling));
    }
    if (o.outbox_key_prefix.empty() || o.outbox_key_prefix.size() > kOutboxKeyBytesMax) {
        return bad_option("outbox_key_prefix", "'" + o.outbox_key_prefix + "'",
                          "must be 1.." + std::to_string(kOutboxKeyBytesMax) + " bytes");
    }
    if (o.outbox_next_id_key.empty() || o.outbox_next_id_key.size() > kOutboxKeyBytesMax) {
        return bad_option("outbox_next_id_key", "'" + o.outbox_next_id_key + "'",
                          "must be 1.." + std::to_string(kOutboxKeyBytesMax) + " bytes");
    }
    if (o.outbox_next_id_key.starts_with(o.outbox_key_prefix)) {
        return bad_option("outbox_next_id_key", "'" + o.outbox_next_id_key + "'",
                          "must not start with outbox_key_prefix '" + o.outbox_key_prefix +
                              "' (it would be taken for an outbox row)");
    }
    if (o.commit_operations_max == 0 || o.commit_operations_max > ledger::kBatchOperationsMax) {
        return bad_option("commit_operations_max", std::to_string(o.commit_operations_max),
                          "must be 1.." + std::to_string(ledger::kBatchOperationsMax) +
                              " (ledger::kBatchOperationsMax)");
    }
    if (o.split_marker_key.empty() || o.split_marker_key.size() > kOutboxKeyBytesMax) {
        return bad_option("split_marker_key", "'" + o.split_marker_key + "'",
                          "must be 1.." + std::to_string(kOutboxKeyBytesMax) + " bytes");
    }
    if (o.split_marker_key.starts_with(o.outbox_key_prefix) ||
        o.split_marker_key == o.outbox_next_id_key) {
        return bad_option("split_marker_key", "'" + o.split_marker_key + "'",
                          "must neither start with outbox_key_prefix '" + o.outbox_key_prefix +
                              "' nor equal outbox_next_id_key");
    }
    if (o.idle_wait_ms.count() <= 0 || o.idle_wait_ms > kIdleWaitMsMax) {
        return bad_option("idle_wait_ms", std::to_string(o.idle_wait_ms.count()),
                          "must be 1.." + std::to_string(kIdleWaitMsMax.count()));
    }
    return Status::ok();
}

SequencerOptions sequencer_options(const config::EngineConfig& engine) {
    SequencerOptions o;
    o.queue_max = engine.queue_max;
    o.batch_max = engine.batch_max;
    o.outbox_batch_max = engine.outbox_batch_max;
    return o;
}

std::string outbox_key(std::string_view prefix, std::uint64_t id) {
    std::string key(prefix);
    key.resize(prefix.size() + kOutboxIdDigits, '0');
    char* end = key.data() + key.size();
    for (char* p = end; id != 0; id /= 10) {
        *--p = static_cast<char>('0' + id % 10);
    }
    return key;
}

std::optional<std::uint64_t> parse_outbox_key(std::string_view prefix, std::string_view key) {
    if (key.size() != prefix.size() + kOutboxIdDigits || !key.starts_with(prefix)) {
        return std::nullopt;
    }
    const std::string_view digits = key.substr(prefix.size());
    std::uint64_t id = 0;
    for (const char c : digits) {
        if (c < '0' || c > '9') {
            return std::nullopt;
        }
    }
    const auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), id);
    if (ec != std::errc() || ptr != digits.data() + digits.size()) {
        return std::nullopt;  // above 2^64 - 1
    }
    return id;
}

Clock system_clock() {
    return [] {
        return std::chrono::time_point_cast<std::chrono::nanoseconds>(
            std::chrono::system_clock::now());
    };
}

std::string_view submit_result_name(SubmitResult result) noexcept {
    switch (result) {
        case SubmitResult::kAccepted:
            return "accepted";
        case SubmitResult::kQueueFull:
            return "queue_full";
        case SubmitResult::kNotRunning:
            return "not_running";
        case SubmitResult::kFailed:
            return "failed";
    }
    return "unknown";
}

Result<std::vector<std::size_t>> split_operations(std::span<const ledger::Operation> operations,
                                                  std::size_t operations_max) {
    std::vector<std::size_t> ends;
    if (operations_max == 0) {
        return fail(StatusCode::kInvalidArgument, "split_operations: operations_max is 0");
    }
    std::size_t begin = 0;          // the current part's first operation
    std::size_t last_unlinked = 0;  // one past the part's last operation without `linked`
    for (std::size_t i = 0; i < operations.size(); ++i) {
        if (i - begin == operations_max) {
            if (last_unlinked == begin) {
                return fail(StatusCode::kOutOfRange,
                            "a linked chain from operation " + std::to_string(begin) +
                                " is longer than a commit's " + std::to_string(operations_max) +
                                " operations");
            }
            ends.push_back(last_unlinked);
            begin = last_unlinked;
        }
        if (!operations[i].linked) {
            last_unlinked = i + 1;
        }
    }
    if (!operations.empty() && operations.back().linked) {
        return fail(StatusCode::kOutOfRange, "the last of " + std::to_string(operations.size()) +
                                                 " operations is linked: its chain never ends");
    }
    ends.push_back(operations.size());
    return ends;
}

namespace detail {

SequencerCounters AtomicCounters::snapshot() const noexcept {
    constexpr auto r = std::memory_order_relaxed;
    SequencerCounters c;
    c.batches = batches.load(r);
    c.ticks = ticks.load(r);
    c.commands = commands.load(r);
    c.events = events.load(r);
    c.commits = commits.load(r);
    c.queue_depth = queue_depth.load(r);
    c.last_batch_size = last_batch_size.load(r);
    c.commit_latency_ns_sum = commit_latency_ns_sum.load(r);
    c.commit_latency_ns_max = commit_latency_ns_max.load(r);
    c.outbox_backlog = outbox_backlog.load(r);
    c.redelivered = redelivered.load(r);
    c.refused_queue_full = refused_queue_full.load(r);
    c.split_batches = split_batches.load(r);
    c.split_parts = split_parts.load(r);
    c.split_recovered = split_recovered.load(r);
    c.commit_retries = commit_retries.load(r);
    return c;
}

std::optional<std::string> describe_failed_operation(std::span<const ledger::OpResult> results) {
    std::optional<std::size_t> first;
    for (std::size_t i = 0; i < results.size(); ++i) {
        const ledger::ResultCode code = results[i].code;
        if (ledger::is_success(code)) {
            continue;
        }
        if (!first) {
            first = i;
        }
        if (code != ledger::ResultCode::kLinkedOperationFailed &&
            code != ledger::ResultCode::kBatchAborted) {
            first = i;  // the cause, not a victim of its chain or of the batch
            break;
        }
    }
    if (!first) {
        return std::nullopt;
    }
    const ledger::OpResult& r = results[*first];
    std::string text = "operation " + std::to_string(*first) + " of " +
                       std::to_string(results.size()) + ": " +
                       std::string(ledger::result_code_name(r.code));
    if (!r.detail.empty()) {
        text += " (" + r.detail + ")";
    }
    return text;
}

}  // namespace detail

}  // namespace fxsettle::engine
