#include "adapters/edge/common.h"

#include <cstdio>

namespace fxsettle::adapters::edge {

std::string_view log_level_name(LogLevel level) noexcept {
    switch (level) {
        case LogLevel::kInfo:
            return "info";
        case LogLevel::kWarning:
            return "warning";
        case LogLevel::kError:
            return "error";
    }
    return "unknown";
}

LogFn stderr_log() {
    return [](LogLevel level, const std::string& message) {
        std::fprintf(stderr, "fxsettle-edge %s: %s\n", log_level_name(level).data(),
                     message.c_str());
    };
}

void AckTracker::expect(std::uint64_t outbox_id, std::uint32_t messages) {
    if (messages == 0)
        return;
    std::lock_guard lock(mu_);
    pending_[outbox_id] += messages;
}

void AckTracker::abandon(std::uint64_t outbox_id) {
    std::lock_guard lock(mu_);
    pending_.erase(outbox_id);
}

void AckTracker::on_sent(const std::vector<std::uint64_t>& tokens) {
    std::vector<std::uint64_t> done;
    {
        std::lock_guard lock(mu_);
        for (const std::uint64_t token : tokens) {
            const auto it = pending_.find(token);
            if (it == pending_.end())
                continue;  // a resend of our own (token 0 is never reported) or abandoned
            if (--it->second == 0) {
                pending_.erase(it);
                done.push_back(token);
            }
        }
        acknowledged_ += done.size();
    }
    if (!done.empty() && acknowledge_)
        acknowledge_(done);
}

void AckTracker::acknowledge_now(std::span<const std::uint64_t> outbox_ids) {
    if (outbox_ids.empty())
        return;
    {
        std::lock_guard lock(mu_);
        acknowledged_ += outbox_ids.size();
    }
    if (acknowledge_)
        acknowledge_(outbox_ids);
}

std::uint64_t AckTracker::acknowledged() const {
    std::lock_guard lock(mu_);
    return acknowledged_;
}

std::size_t AckTracker::pending() const {
    std::lock_guard lock(mu_);
    return pending_.size();
}

DeferredCommands::Outcome DeferredCommands::submit(CommandSubmitter& submitter,
                                                   engine::Command&& command,
                                                   std::chrono::milliseconds wait) {
    {
        std::lock_guard lock(mu_);
        if (!queue_.empty()) {
            if (queue_.size() >= max_)
                return Outcome::kLost;
            queue_.push_back(std::move(command));
            return Outcome::kDeferred;
        }
    }
    // The sequencer leaves a command it refuses as it was, so it can be kept.
    if (submitter.submit_wait(std::move(command), wait) == engine::SubmitResult::kAccepted)
        return Outcome::kSubmitted;
    std::lock_guard lock(mu_);
    if (queue_.size() >= max_)
        return Outcome::kLost;
    queue_.push_back(std::move(command));
    return Outcome::kDeferred;
}

std::vector<engine::Command> DeferredCommands::retry(CommandSubmitter& submitter) {
    std::vector<engine::Command> done;
    std::lock_guard lock(mu_);
    while (!queue_.empty()) {
        engine::Command copy = queue_.front();
        if (submitter.submit(std::move(queue_.front())) != engine::SubmitResult::kAccepted)
            break;
        queue_.pop_front();
        done.push_back(std::move(copy));
    }
    return done;
}

std::size_t DeferredCommands::size() const {
    std::lock_guard lock(mu_);
    return queue_.size();
}

std::optional<std::size_t> CounterpartySessions::index_of(const SessionKey& key) const {
    for (std::size_t i = 0; i < keys_.size(); ++i) {
        if (keys_[i] == key) {
            return i;
        }
    }
    return std::nullopt;
}

SendResult CounterpartySessions::send(std::size_t index, WireMessage message,
                                      std::uint64_t token) const {
    SessionHost* host = host_.load(std::memory_order_acquire);
    if (host == nullptr) {
        return SendResult::kStopped;
    }
    if (index >= keys_.size()) {
        return SendResult::kUnknownSession;
    }
    return host->send(keys_[index], std::move(message), token);
}

}  // namespace fxsettle::adapters::edge
