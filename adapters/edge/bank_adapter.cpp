#include "adapters/edge/bank_adapter.h"

#include <type_traits>
#include <utility>
#include <variant>

namespace fxsettle::adapters::edge {
namespace {

// What a bank reply command says about a payment order: (order, line or whole order,
// which counter). Written with std::visit so that it compiles whether or not the engine's
// Command has BankLineConfirmation.
struct ReplyFacts {
    std::optional<engine::PaymentOrderId> order;
    std::optional<std::uint32_t> line;  // nullopt: the whole order
    std::uint64_t BankAdapterCounters::*counter = nullptr;
};

ReplyFacts facts_of(const engine::Command& command) {
    return std::visit(
        [](const auto& c) -> ReplyFacts {
            using T = std::decay_t<decltype(c)>;
            if constexpr (std::is_same_v<T, engine::BankConfirmation>) {
                return {c.payment_order_id, std::nullopt, &BankAdapterCounters::confirmations};
            } else if constexpr (std::is_same_v<T, engine::BankLineRejection>) {
                return {c.payment_order_id, c.line, &BankAdapterCounters::line_rejections};
            } else if constexpr (std::is_same_v<T, engine::BankLineConfirmation>) {
                return {c.payment_order_id, c.line, &BankAdapterCounters::line_confirmations};
            } else if constexpr (std::is_same_v<T, engine::Deposit>) {
                return {std::nullopt, std::nullopt, &BankAdapterCounters::deposits};
            } else {
                return {};
            }
        },
        command);
}

}  // namespace

BankAdapter::BankAdapter(const config::Config& config, convert::Converter& converter,
                         CommandSubmitter& submitter, ClockFn clock, LogFn log,
                         BankAdapterOptions options)
    : config_(config),
      converter_(converter),
      submitter_(submitter),
      clock_(std::move(clock)),
      log_(log ? std::move(log) : stderr_log()),
      options_(options),
      sessions_(converter.chart().bank_count(), config.banks,
                [&](std::string_view id) { return converter.chart().bank_index(id); }) {}

SessionKey BankAdapter::session_key(engine::BankIndex bank) const {
    return sessions_.key(bank);
}

std::optional<engine::BankIndex> BankAdapter::bank_of(const SessionKey& key) const {
    if (const auto index = sessions_.index_of(key)) {
        return static_cast<engine::BankIndex>(*index);
    }
    return std::nullopt;
}

SendResult BankAdapter::send(engine::BankIndex bank, WireMessage message, std::uint64_t token) {
    return sessions_.send(bank, std::move(message), token);
}

SendResult BankAdapter::send_payment_order(const engine::PaymentOrder& order,
                                           std::vector<WireMessage> messages, std::uint64_t token,
                                           std::size_t* queued) {
    {
        std::lock_guard lock(mu_);
        if (unconfirmed_.size() < kUnconfirmedPaymentOrdersMax ||
            unconfirmed_.contains(order.order_id)) {
            Unconfirmed& u = unconfirmed_[order.order_id];
            u.bank = order.bank;
            u.messages = messages;
            u.open_lines.clear();
            for (std::uint32_t i = 0; i < order.lines.size(); ++i)
                u.open_lines.insert(i);
        } else {
            log_(LogLevel::kError,
                 "payment order " + convert::payment_order_id_text(order.order_id) +
                     " not kept for resending: " + std::to_string(kUnconfirmedPaymentOrdersMax) +
                     " orders unconfirmed");
        }
        counters_.unconfirmed = unconfirmed_.size();
        ++counters_.payment_orders_sent;
    }
    *queued = 0;
    for (WireMessage& m : messages) {
        const SendResult r = send(order.bank, std::move(m), token);
        if (r != SendResult::kQueued && r != SendResult::kSlowConsumer)
            return r;
        ++*queued;
    }
    return SendResult::kQueued;
}

std::vector<engine::PaymentOrderId> BankAdapter::unconfirmed(engine::BankIndex bank) const {
    std::lock_guard lock(mu_);
    std::vector<engine::PaymentOrderId> out;
    for (const auto& [id, u] : unconfirmed_) {
        if (u.bank == bank)
            out.push_back(id);
    }
    return out;
}

BankAdapterCounters BankAdapter::counters() const {
    std::lock_guard lock(mu_);
    return counters_;
}

void BankAdapter::line_done(engine::PaymentOrderId order, std::optional<std::uint32_t> line) {
    std::lock_guard lock(mu_);
    const auto it = unconfirmed_.find(order);
    if (it == unconfirmed_.end())
        return;
    if (line)
        it->second.open_lines.erase(*line);
    if (!line || it->second.open_lines.empty())
        unconfirmed_.erase(it);
    counters_.unconfirmed = unconfirmed_.size();
}

void BankAdapter::on_logon(const SessionKey& key) {
    const std::optional<engine::BankIndex> bank = bank_of(key);
    if (!bank)
        return;
    std::vector<WireMessage> resend;
    {
        std::lock_guard lock(mu_);
        ++counters_.logons;
        for (const auto& [id, u] : unconfirmed_) {
            if (u.bank != *bank)
                continue;
            for (WireMessage m : u.messages) {
                m.poss_resend = true;
                resend.push_back(std::move(m));
            }
        }
    }
    log_(LogLevel::kInfo, "bank " + converter_.chart().bank_id(*bank) + " logged on (" +
                              key.to_string() + "); sending " + std::to_string(resend.size()) +
                              " unconfirmed payment order message(s) again");
    std::uint64_t sent = 0;
    for (WireMessage& m : resend) {
        if (send(*bank, std::move(m), 0) == SendResult::kQueued)
            ++sent;
    }
    std::lock_guard lock(mu_);
    counters_.payment_orders_resent += sent;
}

void BankAdapter::on_logout(const SessionKey& key) {
    {
        std::lock_guard lock(mu_);
        ++counters_.logouts;
    }
    log_(LogLevel::kInfo, "bank session " + key.to_string() + " logged out");
}

void BankAdapter::on_message(const SessionKey& key, WireMessage&& message) {
    const std::optional<engine::BankIndex> bank = bank_of(key);
    {
        std::lock_guard lock(mu_);
        ++counters_.messages_by_type[message.msg_type];
    }
    if (!bank) {
        log_(LogLevel::kError, "message " + message.msg_type + " on unknown bank session " +
                                   key.to_string() + " dropped");
        return;
    }
    retry_deferred();
    convert::Inbound in = converter_.from_bank(*bank, message, clock_());
    if (in.refused()) {
        {
            std::lock_guard lock(mu_);
            ++counters_.refused_messages;
        }
        log_(LogLevel::kWarning, "bank " + converter_.chart().bank_id(*bank) + " " +
                                     message.msg_type + " refused: " + in.text);
    } else if (!in.note.empty()) {
        log_(LogLevel::kInfo,
             "bank " + converter_.chart().bank_id(*bank) + " " + message.msg_type + ": " + in.note);
    }
    for (engine::Command& command : in.commands) {
        const engine::Command copy = command;
        switch (deferred_.submit(submitter_, std::move(command), options_.submit_wait_ms)) {
            case DeferredCommands::Outcome::kSubmitted:
                submitted(copy);
                break;
            case DeferredCommands::Outcome::kDeferred: {
                std::lock_guard lock(mu_);
                ++counters_.replies_deferred;
                counters_.deferred_now = deferred_.size();
                break;
            }
            case DeferredCommands::Outcome::kLost: {
                {
                    std::lock_guard lock(mu_);
                    ++counters_.replies_lost;
                }
                log_(LogLevel::kError, "bank " + converter_.chart().bank_id(*bank) + " " +
                                           message.msg_type +
                                           " lost: the engine is busy and too many replies "
                                           "already wait for it; its order stays unconfirmed "
                                           "and is sent again after the next logon");
                break;
            }
        }
    }
}

void BankAdapter::submitted(const engine::Command& command) {
    const ReplyFacts facts = facts_of(command);
    if (facts.counter != nullptr) {
        std::lock_guard lock(mu_);
        ++(counters_.*facts.counter);
    }
    if (facts.order)
        line_done(*facts.order, facts.line);
}

void BankAdapter::retry_deferred() {
    if (deferred_.size() == 0)
        return;
    for (const engine::Command& c : deferred_.retry(submitter_))
        submitted(c);
    std::lock_guard lock(mu_);
    counters_.deferred_now = deferred_.size();
}

void BankAdapter::on_sent(const SessionKey& /*key*/, const std::vector<std::uint64_t>& tokens) {
    if (AckTracker* tracker = tracker_.load())
        tracker->on_sent(tokens);
}

}  // namespace fxsettle::adapters::edge
