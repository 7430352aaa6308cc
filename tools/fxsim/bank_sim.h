// BankSim: a settlement bank that speaks FIX 4.4 as an acceptor (fxsim-bank).
//
// - PaymentOrder (U3): checked (currency served, lines in the order's currency, positive
//   amounts, the total equal to the sum of the lines), then each line is confirmed or,
//   for a configured share, rejected with an ISO 20022 reason code (AC04 closed account,
//   AC01, AG01, ...). The answer is one PaymentConfirmation (U4) with every line's
//   status (or one U4 per line), sent after `confirm_delay` (plus a random jitter), or
//   held until released (hold_answers). An order that fails the
//   checks has every line rejected (AM03 currency not served, AM10 control sum, AM01
//   zero amount).
// - Idempotent by PaymentOrderID: an order seen before (PossResend, PossDup or not) is
//   never booked again; the bank sends its original answer again.
// - DepositNotice (U6) on demand (send_deposit): a PSP's pay-in booked on fxsettle's
//   account, with a unique DepositRef.
// - A camt.053.001.02 statement per currency account (BankBook::camt053), what
//   `fxledger reconcile --statement` reads: opening and closing balance, one booked Ntry
//   per confirmed line (DBIT: money leaves fxsettle's account) and per deposit (CRDT).
//   Each Ntry's EndToEndId is the reference fxsettle's engine gives the matching ledger
//   entry ("payment order <id> line <n> confirmed", "deposit <bank id>/<DepositRef>"),
//   so the statement reconciles entry by entry; AcctSvcrRef is the bank's own reference.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tools/fxsim/sim_common.h"

namespace fxsettle::fxsim {

struct BankOptions {
    std::string bank_id = "bank-cn";  // the id fxsettle's config gives this bank
    std::string bank_comp_id = "BANKCN";
    std::vector<std::string> client_comp_ids{"FXSETTLE"};
    std::string bind_address = "127.0.0.1";
    std::uint16_t listen_port = 0;
    std::string dictionary_path;
    std::string store_path;
    std::string log_dir;
    std::vector<money::Currency> currencies;  // the accounts this bank keeps for fxsettle
    std::map<std::string, money::Amount> opening_balances;  // by currency code; default 0
    std::uint32_t reject_permille = 0;                      // lines rejected
    std::vector<std::string> reject_codes{"AC04", "AC01", "AG01"};
    std::chrono::milliseconds confirm_delay{200};
    bool confirm_per_line = false;  // one U4 per line instead of one per order
    // Each U4 is sent after confirm_delay plus a random [0, this] (seeded): with
    // confirm_per_line the lines' answers arrive out of order.
    std::chrono::milliseconds confirm_jitter{0};
    std::uint64_t seed = 1;
    // Where stop() (and write_statements()) put the camt.053 files; empty: nowhere.
    std::string statement_dir;
    // The business clock: deposits and confirmations are dated by it, statements created
    // at it (the node's clock, when that runs faster than real time). Empty: the system
    // clock.
    SimClock clock;
};

constexpr std::size_t kBankOrdersMax = 1'000'000;
constexpr std::size_t kBankLinesPerOrderMax = 4096;

// One movement on a currency account, as the statement shows it.
struct Booking {
    money::Currency currency;
    money::Amount amount;  // signed: credit (into fxsettle's account) positive
    std::chrono::year_month_day value_date;
    std::chrono::year_month_day booking_date;
    std::string end_to_end_id;  // the reference fxsettle's ledger entry carries
    std::string bank_reference;
    std::string info;
};

// The bank's books: bookings per currency and their camt.053 statement. Pure.
class BankBook {
  public:
    BankBook(std::string bank_comp_id, std::map<std::string, money::Amount> opening);
    void book(Booking booking);
    const std::vector<Booking>& bookings() const { return bookings_; }
    money::Amount opening(const money::Currency& currency) const;
    money::Amount closing(const money::Currency& currency) const;
    // Currencies with a booking, by code.
    std::vector<money::Currency> currencies() const;
    // A camt.053.001.02 BankToCustomerStatement of one currency account: one Stmt with
    // OPBD at the first booking's date and CLBD at the last one's (today's when nothing
    // was booked), one Ntry per booking in booking order.
    std::string camt053(const money::Currency& currency,
                        std::chrono::system_clock::time_point created) const;
    // The account's identifier in statements: "<bank CompID>-<currency>".
    std::string account_id(const money::Currency& currency) const;

  private:
    std::string bank_comp_id_;
    std::map<std::string, money::Amount> opening_;
    std::vector<Booking> bookings_;
};

class BankSim final : public SimRuntime {
  public:
    static std::unique_ptr<BankSim> create(BankOptions options, std::string* error);
    ~BankSim() override;

    bool start(std::string* error);
    // Stops, then writes the statements (when statement_dir is set).
    void stop_and_write();

    // Sends a DepositNotice to fxsettle (the first client CompID) for `psp_account` and
    // books it. Returns the DepositRef, or an error naming what is wrong (a currency this
    // bank does not keep, an amount that is not positive).
    Result<std::string> send_deposit(const std::string& psp_account, const money::Money& amount);

    struct Figures {
        std::uint64_t orders = 0, repeats = 0, lines_confirmed = 0, lines_rejected = 0,
                      orders_refused = 0, deposits = 0;
    };
    Figures figures() const;
    std::vector<Booking> bookings() const;
    std::string camt053(const money::Currency& currency) const;
    // Writes <dir>/<bank CompID>-<CCY>.camt053.xml for every currency; returns the paths.
    Result<std::vector<std::filesystem::path>> write_statements(
        const std::filesystem::path& dir) const;
    void set_reject_permille(std::uint32_t permille);
    // While held, payment orders are booked but their answers wait; releasing sends every
    // answer held (a bank confirming late, after fxsettle's next cut-off).
    void hold_answers(bool hold);
    // Answers waiting for hold_answers(false).
    std::size_t answers_held() const;

  private:
    explicit BankSim(BankOptions options);
    void on_app_message(const SessionKey& key, WireMessage&& message,
                        Clock::time_point now) override;
    void on_payment_order(const SessionKey& key, const WireMessage& m);

    BankOptions options_;
    Rng rng_;
    BankBook book_;
    std::map<std::string, std::vector<WireMessage>> answers_;  // by PaymentOrderID
    void send_answer(const SessionKey& key, const WireMessage& answer);

    std::uint64_t next_ref_ = 0;
    Figures figures_;
    bool hold_ = false;
    std::vector<std::pair<SessionKey, WireMessage>> held_;
};

}  // namespace fxsettle::fxsim
