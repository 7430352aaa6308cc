// VenueSim: an FX liquidity provider that speaks FIX 4.4 as an acceptor (fxsim-venue).
//
// - MarketDataRequest (V) for configured pairs: a MarketDataSnapshotFullRefresh (W) per
//   pair, then (SubscriptionRequestType 1) a MarketDataIncrementalRefresh (X) every
//   `stream_interval` with every level of every subscribed pair. Prices follow a seeded
//   random walk of whole ticks around each pair's mid, with `depth` levels a side.
//   Unknown pairs and duplicate MDReqIDs get MarketDataRequestReject (Y).
// - NewOrderSingle (D), limit or market, IOC or FOK: filled in one execution at the sweep
//   price (the worst level needed, never worse than the limit) when the book at or
//   better than the limit holds the quantity; an IOC takes what there is and cancels the
//   rest; what cannot trade is cancelled (ExecType 4). Other time in force values are
//   rejected (OrdRejReason 11). A repeated ClOrdID (PossDup or not) gets the original
//   reports again, with the same ExecIDs.
// - OrderStatusRequest (H): an ExecutionReport (ExecType I) with the order's state, so an
//   adapter reconnecting learns fills it missed; an unknown ClOrdID gets OrdStatus 8 with
//   OrdRejReason 5.
// - Faults (VenueFaults, changeable while running): reject a share of orders, fill a
//   share in two parts, delay answers, log a session out after N messages or at a random
//   one (the N-th message is booked but its answer is dropped), go silent (no W or X),
//   fill only part of what an order could take (the rest cancelled), or never answer
//   orders.
//
// ExecIDs are "<OrderID>-E<n>" (status reports "<OrderID>-S<n>"), OrderIDs
// "<venue CompID>-<n>": unique within a run, and a report sent again keeps its ExecID.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tools/fxsim/sim_common.h"

namespace fxsettle::fxsim {

struct VenueFaults {
    std::uint32_t reject_permille = 0;          // orders rejected (OrdRejReason 0)
    std::uint32_t partial_fill_permille = 0;    // fills sent in two executions
    std::chrono::milliseconds answer_delay{0};  // before every order / status answer
    // Log a session out when it has sent this many application messages since its logon
    // (0: never); the message that trips it is booked but not answered.
    std::uint64_t disconnect_after_messages = 0;
    // Like disconnect_after_messages with N drawn in [1, this] at every logon (0: off).
    std::uint64_t disconnect_random_max = 0;
    bool silent = false;  // send no market data: the client's rates go stale
    // Of an order that can trade, this share of what it could take is not filled: the
    // fill is short and the rest is cancelled (ExecType 4), as an IOC on a thin book.
    std::uint32_t short_fill_permille = 0;
    // Take orders and status requests (booked, filled as usual) but never answer them.
    bool orders_unanswered = false;
};

struct VenueOptions {
    std::string venue_comp_id = "VENUEA";                  // ours (SenderCompID)
    std::vector<std::string> client_comp_ids{"FXSETTLE"};  // who may log on
    std::string bind_address = "127.0.0.1";
    std::uint16_t listen_port = 0;
    std::string dictionary_path;  // config/fix/FIX44-fxsettle.xml
    std::string store_path;       // the LMDB message store file
    std::string log_dir;          // QuickFIX logs; empty: none
    std::vector<PairQuote> pairs;
    std::uint32_t depth = 5;              // levels per side, 1..kVenueDepthMax
    std::uint32_t half_spread_ticks = 5;  // best bid/ask from the mid
    std::uint32_t level_gap_ticks = 3;    // between levels
    std::uint32_t step_ticks_max = 2;     // the walk moves the mid by up to this per step
    std::uint32_t band_ticks = 2000;      // the walk stays within this of the start
    // Size of the best level in major units of the base currency; level i holds i+1 times.
    std::int64_t level_size_major = 1'000'000;
    std::chrono::milliseconds stream_interval{250};
    std::uint64_t seed = 1;
    VenueFaults faults;
    SimClock clock;  // TransactTime of reports; empty: the system clock
};

constexpr std::uint32_t kVenueDepthMax = 20;
constexpr std::size_t kVenueOrdersMax = 1'000'000;  // orders remembered for H and repeats

// One level of a side.
struct BookLevel {
    Mantissa price = 0;
    money::Amount size;  // minor units of the base currency
};

// The book of one pair: a mid that walks in ticks and the levels around it. Pure, for
// tests and fix_bench.
class VenueBook {
  public:
    VenueBook(PairQuote quote, const VenueOptions& options);
    // One step of the walk: the mid moves by -step_ticks_max..+step_ticks_max ticks,
    // reflected at the band's edges.
    void step(Rng& rng);
    Mantissa mid() const { return mid_; }
    const PairQuote& quote() const { return quote_; }
    std::vector<BookLevel> bids() const;  // best (highest) first
    std::vector<BookLevel> asks() const;  // best (lowest) first

    struct Fill {
        money::Amount qty;  // 0: nothing can trade
        Mantissa price = 0;
    };
    // What an order buying (side '1') or selling ('2') `qty` base at `limit` (nullopt:
    // market) can take from the book, at one sweep price. `all_or_none`: all or nothing.
    Fill match(char side, const money::Amount& qty, std::optional<Mantissa> limit,
               bool all_or_none) const;

  private:
    PairQuote quote_;
    Mantissa start_ = 0;
    Mantissa mid_ = 0;
    std::uint32_t depth_;
    std::uint32_t half_spread_ticks_;
    std::uint32_t level_gap_ticks_;
    std::uint32_t step_ticks_max_;
    std::uint32_t band_ticks_;
    money::Amount level_size_;
};

// An order as the venue remembers it.
struct VenueOrder {
    std::string order_id;
    std::string cl_ord_id;
    std::string symbol;
    char side = '1';
    money::Amount qty;
    char ord_type = '2';
    std::optional<Mantissa> price;
    char tif = '3';
    money::Amount cum_qty;
    Mantissa avg_px = 0;
    char ord_status = 'A';
    std::string rej_reason;  // OrdRejReason (103) when rejected
    std::uint32_t exec_seq = 0;
    std::uint32_t status_seq = 0;
    std::vector<WireMessage> reports;  // what was answered, for a repeated ClOrdID
};

class VenueSim final : public SimRuntime {
  public:
    // Checks the options (an error names the bad one).
    static std::unique_ptr<VenueSim> create(VenueOptions options, std::string* error);
    ~VenueSim() override;

    // Listens and starts streaming. False and *error on failure.
    bool start(std::string* error);
    void set_faults(const VenueFaults& faults);
    VenueFaults faults() const;

    struct Figures {
        std::uint64_t orders = 0, filled = 0, partially_filled = 0, cancelled = 0, rejected = 0,
                      status_requests = 0, snapshots = 0, increments = 0, disconnects = 0;
    };
    Figures figures() const;
    // The order with this ClOrdID from `client` (CompID), if any.
    std::optional<VenueOrder> order(const std::string& client, const std::string& cl_ord_id) const;
    // The current mid of a pair (nullopt: not quoted).
    std::optional<Mantissa> mid(const std::string& symbol) const;

  private:
    explicit VenueSim(VenueOptions options);
    void on_session_up(const SessionKey& key, Clock::time_point now) override;
    void on_app_message(const SessionKey& key, WireMessage&& message,
                        Clock::time_point now) override;
    void on_tick(Clock::time_point now) override;

    void on_market_data_request(const SessionKey& key, const WireMessage& m);
    void on_new_order(const SessionKey& key, const WireMessage& m, bool answer);
    void on_status_request(const SessionKey& key, const WireMessage& m, bool answer);
    WireMessage snapshot(const VenueBook& book, const std::string& md_req_id,
                         std::uint32_t depth) const;
    WireMessage report(VenueOrder& o, char exec_type, const money::Amount& last_qty,
                       Mantissa last_px, const std::string& text);
    void answer(const SessionKey& key, std::vector<WireMessage> messages, bool send);
    VenueBook* book(const std::string& symbol);

    struct Subscription {
        std::string md_req_id;
        std::vector<std::string> symbols;
        std::uint32_t depth = 0;
    };
    struct SessionState {
        std::uint64_t messages = 0;
        std::uint64_t disconnect_at = 0;  // 0: never
        std::vector<Subscription> subscriptions;
    };

    VenueOptions options_;
    Rng rng_;
    std::map<std::string, VenueBook> books_;
    std::map<SessionKey, SessionState> sessions_;
    std::map<std::pair<std::string, std::string>, VenueOrder> orders_;  // (client, ClOrdID)
    std::uint64_t next_order_ = 0;
    Figures figures_;
};

}  // namespace fxsettle::fxsim
