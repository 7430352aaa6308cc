// The crash harness: the real `fxsettled` as a child process under load from PSP clients
// over FIX, VenueSim and BankSim answering hedges and payment orders, killed with SIGKILL
// at seeded random moments and restarted on the same ledger and data dir.
//
// The PSP side is the harness's own client (PspClients): it sends what fxsim's PspFlow
// builds, over one SessionHost whose FIX store persists across the daemon's restarts, and
// records every answer by its client id, so that it can tell what was acknowledged before
// a kill, retry what was not answered, and count what came twice.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "adapters/fix/session_host.h"
#include "config/config.h"
#include "tools/fxsim/psp_sim.h"

namespace fxsettle::crash {

using adapters::SessionKey;
using adapters::WireMessage;

// A loopback TCP port free now (a probe socket bound to port 0 on 127.0.0.1).
std::uint16_t free_port();

// Waits for `pred` up to `limit` (polling); false on time-out.
bool wait_for(const std::function<bool()>& pred, std::chrono::milliseconds limit);

// The engine clock the daemon and the simulators share: `origin` at the steady instant
// `anchor`, running `rate` times real time. Each daemon start re-anchors it at a whole
// second (what --clock-start takes) no earlier than now, so time never runs backwards.
class HarnessClock {
  public:
    HarnessClock(std::chrono::system_clock::time_point origin, std::uint32_t rate);
    std::chrono::system_clock::time_point now() const;
    // Re-anchors at the next whole second of engine time (or `at_least`, when later) and
    // returns that instant, for --clock-start.
    std::chrono::system_clock::time_point restart(
        std::optional<std::chrono::system_clock::time_point> at_least = std::nullopt);
    std::uint32_t rate() const { return rate_; }
    // Real time until engine time reaches `t` (0 when it has).
    std::chrono::milliseconds real_until(std::chrono::system_clock::time_point t) const;

  private:
    mutable std::mutex mu_;
    std::chrono::system_clock::time_point origin_;
    std::chrono::steady_clock::time_point anchor_;
    std::uint32_t rate_;
};

std::string utc_text(std::chrono::system_clock::time_point t);  // "2026-11-23T02:00:00Z"

// fxsettled as a child process: stdout read for the ready line, both streams appended
// to `log_path`.
class DaemonProcess {
  public:
    DaemonProcess(std::filesystem::path binary, std::filesystem::path log_path);
    ~DaemonProcess();
    // Starts it with `args` and waits up to `limit` for "fxsettled ready". False and
    // *error (the exit code and the log's last lines) when it exited or timed out.
    bool start(const std::vector<std::string>& args, std::chrono::milliseconds limit,
               std::string* error);
    // SIGKILL and reap.
    void kill_now();
    // SIGTERM, wait up to `limit`; the exit code, or -1 (killed then).
    int terminate(std::chrono::milliseconds limit);
    bool running() const { return pid_ > 0; }
    pid_t pid() const { return pid_; }
    std::string log_tail(std::size_t lines) const;

  private:
    void reap();
    std::filesystem::path binary_, log_path_;
    pid_t pid_ = -1;
    int status_ = 0;
    std::thread reader_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool ready_ = false, eof_ = false;
};

// What one client request came to.
enum class Outcome : std::uint8_t {
    kPending = 0,   // sent, no answer yet
    kAccepted = 1,  // D: ExecType 0; F: 4; G: 5; R: Quote; U1: U2 A
    kRejected = 2,  // ExecType 8, 9, AG, U2 R, or a BusinessMessageReject
};

struct Request {
    std::size_t psp = 0;
    WireMessage message;  // exactly what was sent (a retry sends it again)
    std::string id;       // ClOrdID / QuoteReqID / PayoutInstrID
    Outcome outcome = Outcome::kPending;
    std::uint64_t epoch = 0;           // the daemon run it was sent in
    std::uint64_t answered = 0;        // the daemon run the first answer came in (0: none)
    std::string answer_id;             // N<OrderID> ExecID, QuoteID, PayoutID; "" when rejected
    std::string order_id;              // D / F / G: OrderID (37)
    std::set<std::string> answer_ids;  // every distinct answer_id seen (must stay 1)
    std::uint32_t retries = 0;
};

// An order as its acknowledgements showed it.
struct OrderView {
    std::size_t psp = 0;
    std::string order_id, cl_ord_id, symbol, side;
    std::string cum_qty = "0";  // the largest CumQty reported
    std::string final_status;   // 2, 4, C (done) or ""
    std::uint64_t last_epoch = 0;
};

struct Figures {
    std::uint64_t kills = 0, kills_at_cutoff = 0;
    std::uint64_t kills_with_payouts_open = 0;  // accepted payouts not final at the kill
    std::uint64_t acks_checked = 0;             // acknowledgements compared with state
    std::uint64_t holds_checked = 0;            // accepted payouts found held in the ledger
    std::uint64_t orders_checked = 0;           // orders compared by OrderStatusRequest
    std::uint64_t orders_purged = 0;            // done orders already forgotten at a cut-off (fine)
    std::uint64_t retried_unanswered = 0;       // requests unanswered at a kill, retried
    std::uint64_t lost = 0;                     // acknowledged, then gone or different
    std::uint64_t duplicated = 0;               // a second effect, or an unflagged repeated message
    std::uint64_t flagged_repeats = 0;          // repeats with PossDupFlag / PossResend (fine)
    std::uint64_t repeat_answers = 0;           // answers to repeated requests (fine)
    std::uint64_t requests = 0, answers = 0;
    std::uint64_t payouts_accepted = 0, payouts_settled = 0, payouts_failed = 0;
    std::uint64_t obligations = 0;
    // Order ends (expiry, cancel) that reached the PSP as a BusinessMessageReject instead
    // of an ExecutionReport 4/C (the converter's fallback before the engine's events
    // carried Symbol and Side; must stay 0).
    std::uint64_t order_ends_as_reject = 0;
    // ExecutionReports 4/C of orders last reported in an earlier daemon run.
    std::uint64_t order_ends_after_restart = 0;
    std::uint64_t session_rejects = 0;  // the gateway refused a message of ours (35=3)
    std::vector<std::string> problems;  // one line per lost / duplicated case
};

// Two PSPs (alpha and borealis) over one initiator host.
class PspClients final : public adapters::Handler {
  public:
    struct Psp {
        fxsim::PspIdentity identity;
        SessionKey key;
    };
    // `options` feeds the flows (pairs, banks, mix, seed): it must outlive this.
    PspClients(const fxsim::PspOptions& options, Figures& figures,
               std::function<std::chrono::system_clock::time_point()> clock);
    ~PspClients() override;
    bool start(std::uint16_t gateway_port, const std::string& dictionary,
               const std::filesystem::path& dir, std::string* error);
    void stop();

    bool all_logged_on() const;
    // The next target sequence number per session (what the client expects next).
    std::map<std::string, std::uint64_t> target_seqs() const;

    void set_epoch(std::uint64_t epoch);
    // Sends the next request of the next PSP (or a locked payout for a received quote).
    void send_next();
    // Retries every request still pending (with PossDupFlag); returns how many.
    std::size_t retry_pending();
    // Resends every request accepted in `epoch` (with PossDupFlag) to compare the answer
    // with the acknowledgement; returns how many.
    std::size_t recheck_accepted(std::uint64_t epoch);
    // Sends an OrderStatusRequest for every order with an acknowledgement in `epoch`.
    std::size_t query_orders(std::uint64_t epoch);
    // True when no request is pending and every status query is answered.
    bool settled_answers() const;
    std::size_t pending() const;
    // Checks the status answers against the orders' acknowledgements (figures updated).
    void check_order_answers();

    // PayoutIDs acknowledged as accepted, and those that reached S or F.
    std::set<std::string> accepted_payouts() const;
    std::set<std::string> final_payouts() const;
    // Accepted payouts that did not reach S or F yet.
    std::size_t open_payouts() const;
    std::vector<std::string> open_payout_ids() const;

    // adapters::Handler
    std::string authenticate(const SessionKey&, const std::string&, const std::string&) override {
        return {};
    }
    void on_logon(const SessionKey&) override {}
    void on_logout(const SessionKey&) override {}
    void on_message(const SessionKey& key, WireMessage&& message) override;
    void on_sent(const SessionKey&, const std::vector<std::uint64_t>&) override {}

  private:
    void send_locked(std::size_t psp, WireMessage m, bool possdup);
    void answer(const std::string& id, Outcome outcome, const std::string& answer_id,
                const std::string& order_id);
    void problem(std::uint64_t& counter, const std::string& what);
    // A message seen before: fine when flagged or when its request was retried.
    void note_repeat(const std::string& key, const WireMessage& m, const std::string& request);

    const fxsim::PspOptions* options_;
    Figures* figures_;
    std::function<std::chrono::system_clock::time_point()> clock_;
    std::vector<Psp> psps_;
    std::vector<fxsim::PspFlow> flows_;
    std::unique_ptr<adapters::SessionHost> host_;

    mutable std::mutex mu_;
    std::uint64_t epoch_ = 0;
    std::size_t turn_ = 0;
    std::vector<std::pair<std::size_t, WireMessage>> quotes_;  // answered RFQs to pay
    std::map<std::string, Request> requests_;                  // by client id
    std::map<std::string, OrderView> orders_;                  // by OrderID
    std::set<std::string> seen_;                               // message keys
    std::map<std::string, std::string> payout_status_;         // PayoutID -> A/S/F
    std::set<std::string> final_payouts_;
    std::map<std::string, OrderView> status_queries_;  // OrdStatusReqID -> what to expect
    std::map<std::string, WireMessage> status_answers_;
    std::uint64_t status_serial_ = 0;
};

}  // namespace fxsettle::crash
