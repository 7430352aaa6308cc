// The bank adapter: the Handler of the initiator SessionHost with one session per
// configured bank ({banks[].sender_comp_id, banks[].target_comp_id}), issue 5 "The bank
// adapter".
//
// Outbound: a PaymentOrder event becomes one U3 (convert.h to_wire); the adapter keeps it
// as unconfirmed until the bank has answered every line, and after every logon sends each
// unconfirmed order of that bank again with PossResend (97=Y): the bank recognises the
// PaymentOrderID (idempotent by payment id). These resends carry no outbox token (the
// outbox row was acknowledged when QuickFIX first stored the U3).
//
// Inbound: U4 PaymentConfirmation becomes BankConfirmation / BankLineConfirmation /
// BankLineRejection, U6 DepositNotice a Deposit (convert.h from_bank), each submitted with
// a bounded wait; one the sequencer still cannot take is deferred (DeferredCommands) and
// submitted again, in order, on the adapter's next message and on EdgeSink's next
// delivery.
//
// The unconfirmed set lives in memory: after a process restart, the bank's session
// recovers by FIX resend from the durable message store. At most
// kUnconfirmedPaymentOrdersMax orders are kept.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "adapters/convert/convert.h"
#include "adapters/edge/common.h"
#include "adapters/fix/session_host.h"
#include "config/config.h"

namespace fxsettle::adapters::edge {

inline constexpr std::size_t kUnconfirmedPaymentOrdersMax = 1u << 16;

struct BankAdapterOptions {
    // How long a bank reply waits for room in the sequencer's queue.
    std::chrono::milliseconds submit_wait_ms{2'000};
};

struct BankAdapterCounters {
    std::map<std::string, std::uint64_t> messages_by_type;  // inbound, MsgType -> count
    std::uint64_t payment_orders_sent = 0;
    std::uint64_t payment_orders_resent = 0;  // PossResend after a logon
    std::uint64_t confirmations = 0;          // BankConfirmation commands
    std::uint64_t line_confirmations = 0;
    std::uint64_t line_rejections = 0;
    std::uint64_t deposits = 0;
    std::uint64_t replies_deferred = 0;  // the sequencer could not take them at once
    std::uint64_t replies_lost = 0;      // ... nor could they be kept (deferred full)
    std::uint64_t deferred_now = 0;
    std::uint64_t refused_messages = 0;
    std::uint64_t unconfirmed = 0;
    std::uint64_t logons = 0;
    std::uint64_t logouts = 0;
};

class BankAdapter final : public Handler {
  public:
    BankAdapter(const config::Config& config, convert::Converter& converter,
                CommandSubmitter& submitter, ClockFn clock, LogFn log,
                BankAdapterOptions options = {});

    void attach(SessionHost* host) { sessions_.attach(host); }
    void set_ack_tracker(AckTracker* tracker) { tracker_.store(tracker); }

    SessionKey session_key(engine::BankIndex bank) const;
    std::optional<engine::BankIndex> bank_of(const SessionKey& key) const;

    // Sends a PaymentOrder event's messages to its bank (EdgeSink), keeping the order as
    // unconfirmed first. As VenueAdapter::send_hedge.
    SendResult send_payment_order(const engine::PaymentOrder& order,
                                  std::vector<WireMessage> messages, std::uint64_t token,
                                  std::size_t* queued);
    SendResult send(engine::BankIndex bank, WireMessage message, std::uint64_t token);

    // Submits deferred bank replies again (never blocks; EdgeSink calls it).
    void retry_deferred();

    // Payment order ids not yet answered in full at `bank`, ascending.
    std::vector<engine::PaymentOrderId> unconfirmed(engine::BankIndex bank) const;
    BankAdapterCounters counters() const;

    // Handler
    std::string authenticate(const SessionKey&, const std::string&, const std::string&) override {
        return {};
    }
    void on_logon(const SessionKey& key) override;
    void on_logout(const SessionKey& key) override;
    void on_message(const SessionKey& key, WireMessage&& message) override;
    void on_sent(const SessionKey& key, const std::vector<std::uint64_t>& tokens) override;

  private:
    struct Unconfirmed {
        engine::BankIndex bank = 0;
        std::vector<WireMessage> messages;
        std::set<std::uint32_t> open_lines;
    };
    void line_done(engine::PaymentOrderId order, std::optional<std::uint32_t> line);
    void submitted(const engine::Command& command);

    const config::Config& config_;
    convert::Converter& converter_;
    CommandSubmitter& submitter_;
    ClockFn clock_;
    LogFn log_;
    const BankAdapterOptions options_;
    CounterpartySessions sessions_;  // by BankIndex
    std::atomic<AckTracker*> tracker_{nullptr};

    mutable std::mutex mu_;
    std::map<engine::PaymentOrderId, Unconfirmed> unconfirmed_;
    DeferredCommands deferred_{kUnconfirmedPaymentOrdersMax};
    BankAdapterCounters counters_;
};

}  // namespace fxsettle::adapters::edge
