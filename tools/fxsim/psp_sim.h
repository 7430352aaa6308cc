// PspSim: payment service providers that speak FIX 4.4 to fxsettle's gateway as
// initiators (fxsim-psp), one session per PSP, logging on with Username/Password.
//
// Each PSP collects in its own currencies (USD, EUR, GBP, JPY, KRW, ...) and pays sellers
// in CNY (CNH for an offshore PSP). At `rate_per_s` the simulator sends, by the weights of
// PspMix: FX orders (D; limit near the mid, IOC, Day or GTC), cancels (F) and replaces (G)
// of its resting orders, RFQs (R) answered by a Quote (S) that it follows with a payout
// naming the quote (U1 with QuoteID: a locked rate), payouts in CNY at the cycle's rate,
// CNY outflows to suppliers abroad (in USD, EUR, KRW, ...), and internal payouts to
// another PSP (PayeeAccount). A share of requests is sent again with PossDupFlag (same
// ClOrdID / PayoutInstrID / QuoteReqID) to exercise the gateway's idempotency.
//
// What comes back is counted per MsgType, ExecutionReports per ExecType and PayoutStatus
// per status code ("U2/A", "U2/R", "U2/S", "U2/F"; "U2 once/A", ... count each
// PayoutInstrID once per status). Faults: log a session out at random points, and retry
// unanswered requests after the logon. Content is reproducible: each PSP
// draws from its own stream seeded by `seed` and its id; only timing varies.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "tools/fxsim/sim_common.h"

namespace fxsettle::fxsim {

// Relative weights of what a PSP sends next (any may be 0, not all).
struct PspMix {
    std::uint32_t order = 30;
    std::uint32_t cancel = 5;
    std::uint32_t replace = 5;
    std::uint32_t rfq = 15;  // each answered quote is followed by a locked payout
    std::uint32_t payout = 25;
    std::uint32_t outflow = 10;
    std::uint32_t internal = 10;
};

struct PspIdentity {
    std::string psp_id;          // Account (1) and the PayeeAccount other PSPs pay
    std::string sender_comp_id;  // ours
    std::string username;
    std::string password;
    std::vector<money::Currency> collect;  // currencies its sellers are paid in
    money::Currency payout;                // CNY, or CNH offshore
};

struct PspOptions {
    std::string gateway_host = "127.0.0.1";
    std::uint16_t gateway_port = 9878;
    std::string gateway_comp_id = "FXSETTLE";
    std::vector<PspIdentity> psps;
    std::string dictionary_path;
    std::string store_path;
    std::string log_dir;
    std::chrono::seconds heartbeat{30};
    std::chrono::seconds reconnect_interval{5};
    std::vector<PairQuote> pairs;  // prices for limits; pairs "<collect>/<payout>"
    // Beneficiary banks: currency code -> the bank id fxsettle's config gives it.
    std::map<std::string, std::string> banks;
    std::uint32_t rate_per_s = 20;   // messages per second over all PSPs (> 0)
    std::uint64_t messages_max = 0;  // stop sending after this many (0: until stopped)
    PspMix mix;
    std::uint32_t possdup_permille = 0;
    std::uint64_t seed = 1;
    // Orders that buy the collection currency (the rest sell it), permille.
    std::uint32_t buy_permille = 200;
    // SettlType (63) on orders, RFQs and payouts ("1": today); empty: none (spot).
    std::string settl_type;
    SimClock clock;  // TransactTime; empty: the system clock
    // Flow control, as a PSP's client library keeps it: at most this many requests sent
    // and not yet answered (0: no limit). A request counts as answered at its first
    // answer (8 or 9 for D/F/G, S or AG for R, U2 for U1), or after in_flight_timeout.
    std::uint32_t max_in_flight = 0;
    std::chrono::milliseconds in_flight_timeout{10'000};
    // Fault: log a PSP's session out after N requests sent since its logon, N drawn in
    // [1, this] at every logon (0: never), at most `disconnects_max` times in all.
    std::uint64_t disconnect_random_max = 0;
    std::uint32_t disconnects_max = 1;
    // After every logon, send each request not answered yet again with PossDupFlag, as a
    // PSP's client library retries what it has no answer for.
    bool retry_unanswered = false;
    // Send nothing until every PSP session has logged on once (a PSP logging on late
    // would otherwise miss part of a short run's traffic).
    bool start_when_all_logged_on = false;
};

constexpr std::uint32_t kPspRatePerSecondMax = 100'000;
constexpr std::size_t kPspRestingMax = 10'000;  // resting orders remembered to cancel

// Builds one PSP's requests. Pure and seeded, for tests and fix_bench.
class PspFlow {
  public:
    PspFlow(PspIdentity identity, const PspOptions& options, std::vector<std::string> peers);
    // The next request by the mix (never empty: a cancel or replace without a resting
    // order becomes a new order).
    WireMessage next(std::chrono::system_clock::time_point now);
    // A payout at the locked rate of `quote` (a Quote S answering one of our RFQs).
    std::optional<WireMessage> payout_for_quote(const WireMessage& quote,
                                                std::chrono::system_clock::time_point now);
    // An ExecutionReport for one of our orders: forget it as a cancel target when done.
    void on_execution(const WireMessage& report);
    const PspIdentity& identity() const { return identity_; }
    std::uint64_t requests() const { return serial_; }

  private:
    WireMessage new_order(std::chrono::system_clock::time_point now);
    WireMessage payout(char kind, std::chrono::system_clock::time_point now);
    WireMessage rfq();
    const PairQuote* pair_of(const money::Currency& base) const;
    std::string next_id(const char* kind);

    struct Resting {
        std::string cl_ord_id, symbol;
        char side;
        std::string qty;
        Mantissa price;
    };
    PspIdentity identity_;
    const PspOptions* options_;
    std::vector<std::string> peers_;
    Rng rng_;
    std::uint64_t serial_ = 0;
    std::vector<Resting> resting_;
    std::map<std::string, std::string> rfq_side_;  // QuoteReqID -> collect currency
};

class PspSim final : public SimRuntime {
  public:
    static std::unique_ptr<PspSim> create(PspOptions options, std::string* error);
    ~PspSim() override;

    // Connects every PSP session and starts sending once a session is logged on.
    bool start(std::string* error);

    // Counters: "sent/D", "recv/8", "exec/F", "U2/A", "possdup", ...
    std::map<std::string, std::uint64_t> counts() const { return counts_.snapshot(); }
    std::uint64_t count(const std::string& key) const { return counts_.get(key); }
    // Requests sent so far (all PSPs), and whether messages_max was reached.
    std::uint64_t sent() const;
    bool done() const;
    // Sends no new request from now on (answers are still taken); done() becomes true.
    void stop_sending();
    // Sends the last request of `psp_id` again with PossDupFlag; false when it has none.
    bool resend_last(const std::string& psp_id);
    // Sends the next request of `psp_id` now (tests); false for an unknown PSP.
    bool send_now(const std::string& psp_id);
    // Requests sent and not answered yet (counted when retry_unanswered is set).
    std::size_t unanswered() const;

  private:
    explicit PspSim(PspOptions options);
    void on_app_message(const SessionKey& key, WireMessage&& message,
                        Clock::time_point now) override;
    void on_tick(Clock::time_point now) override;
    void on_session_up(const SessionKey& key, Clock::time_point now) override;
    void send_request(std::size_t psp, WireMessage m, bool possdup);
    std::optional<std::size_t> psp_of(const SessionKey& key) const;
    void answered(const WireMessage& m, int tag);

    PspOptions options_;
    std::vector<PspFlow> flows_;
    std::vector<std::optional<WireMessage>> last_;
    Counts counts_;
    std::uint64_t sent_ = 0;
    std::size_t turn_ = 0;
    std::uint64_t credit_micro_ = 0;  // millionths of a message the rate allows now
    Clock::time_point last_tick_{};
    Rng rng_;
    std::map<std::string, Clock::time_point> in_flight_;  // request id -> sent at
    // retry_unanswered: request id -> (PSP, the request); the fault's per-PSP counters.
    std::map<std::string, std::pair<std::size_t, WireMessage>> unanswered_;
    std::vector<std::uint64_t> since_logon_, disconnect_at_;
    std::uint32_t disconnects_ = 0;
    bool all_logged_on_ = false;
    std::set<std::string> outcomes_;  // "<U2 status>/<PayoutInstrID>" seen
};

}  // namespace fxsettle::fxsim
