// fxsettle's configuration: one TOML file read into plain structs and validated once, at
// start-up. After load_config_*() succeeds, every value below is known to be well formed
// and inside its bounds, and every currency, pair and id it names exists, so the rest of
// the program never re-checks configuration.
//
// Amounts are TOML strings in major units ("1000000.00"), parsed exactly against the
// currency they belong to; never TOML floats. Times of day are "HH:MM" strings in UTC and
// dates are "YYYY-MM-DD" strings. See config/fxsettle.sample.toml for every key with its
// meaning and default.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"
#include "engine/money/amount.h"
#include "engine/money/currency.h"
#include "engine/money/rate.h"

namespace fxsettle::config {

// ---------------------------------------------------------------------------------------
// Bounds checked at load time. A `_max` of 0 or above its ceiling is a config error.
// ---------------------------------------------------------------------------------------
inline constexpr std::uint32_t kQueueMaxCeiling = 1U << 24;       // engine.queue_max
inline constexpr std::uint32_t kBatchMaxCeiling = 1U << 20;       // every batch_max
inline constexpr std::uint32_t kBookOrdersMaxCeiling = 1U << 24;  // engine.book_orders_max
inline constexpr std::uint64_t kMapSizeMbCeiling = 1ULL << 24;    // 16 TiB of LMDB map
inline constexpr std::uint32_t kBpsCeiling = 10'000;              // 100 %
inline constexpr std::uint32_t kSpotDaysMax = 5;
inline constexpr std::size_t kCurrenciesMax = 64;  // [[currencies]] entries
inline constexpr std::size_t kPairsMax = 256;
inline constexpr std::size_t kPspsMax = 1024;
inline constexpr std::size_t kVenuesMax = 16;
inline constexpr std::size_t kBanksMax = 64;
// gateway.unauthenticated_connections_max: connections that have not completed a Logon.
inline constexpr std::uint32_t kUnauthenticatedConnectionsMaxCeiling = 4'096;
inline constexpr std::int64_t kLogonDeadlineSMax = 300;  // gateway.logon_deadline_s
inline constexpr std::size_t kCutoffsPerDayMax = 24;     // per [[cycles]] entry

static_assert(kBatchMaxCeiling <= kQueueMaxCeiling,
              "a batch is drained from the queue, so its ceiling cannot exceed the queue's");

// A listening or connecting TCP address. `host` is a host name, an IPv4 address or an
// IPv6 address (without brackets).
struct Endpoint {
    std::string host;
    std::uint16_t port = 0;

    // "127.0.0.1:9464", "[::1]:9464".
    std::string to_string() const;
    friend bool operator==(const Endpoint&, const Endpoint&) = default;
};

// [node]: who this daemon is.
struct NodeConfig {
    std::string name;                // required; [a-z0-9][a-z0-9_-]*, at most 64 characters
    std::string data_dir = "./var";  // working files (FIX logs, exports); created by the daemon
    friend bool operator==(const NodeConfig&, const NodeConfig&) = default;
};

// [log]
struct LogConfig {
    // trace | debug | info | warn | error | critical | off (spdlog's level names).
    std::string level = "info";
    friend bool operator==(const LogConfig&, const LogConfig&) = default;
};

// [ledger]: the LMDB environment.
struct LedgerConfig {
    std::string path = "var/ledger";         // the LMDB environment's directory
    std::uint64_t map_size_initial_mb = 64;  // the map grows on demand from here ...
    std::uint64_t map_size_max_mb = 65'536;  // ... up to here (64 GiB)
    std::uint32_t batch_max = 8'192;         // journal entries per write transaction
    friend bool operator==(const LedgerConfig&, const LedgerConfig&) = default;
};

// [engine]: the single-writer core. Checked at load: batch_max <= queue_max and
// batch_max <= ledger.batch_max (each command of a batch writes at least one entry and a
// batch commits in one transaction).
struct EngineConfig {
    std::uint32_t queue_max = 65'536;               // commands waiting for the engine thread
    std::uint32_t batch_max = 1'024;                // commands applied per ledger commit
    std::uint32_t book_orders_max = 1'000'000;      // resting orders per FX order book
    std::uint32_t outbox_batch_max = 1'024;         // outbound messages drained per pass
    std::chrono::milliseconds quote_ttl_ms{5'000};  // how long an RFQ quote is firm
    std::chrono::seconds hold_ttl_s{86'400};        // a hold neither posted nor voided expires
    // Extra hold, in basis points of the converted amount, on a payout whose FX rate is
    // not locked by a quote (it converts at the cycle's rate, which may move against it).
    std::uint32_t fx_buffer_bps = 200;
    money::RoundingMode rounding_mode = money::RoundingMode::kHalfEven;
    // How long a hedge order sent to a venue may stay unfilled before its unfilled rest is
    // reported as open exposure (fills after that are booked as late fills).
    std::chrono::milliseconds hedge_timeout_ms{30'000};
    friend bool operator==(const EngineConfig&, const EngineConfig&) = default;
};

// [metrics]: the Prometheus exposer.
struct MetricsConfig {
    bool enabled = true;
    Endpoint listen{"127.0.0.1", 9464};  // port 0 lets the OS pick one (tests)
    // Open FX exposure alert limits per currency, major units (fxsettle_fx_position_limit);
    // a currency absent from the map has no limit series.
    std::map<money::Currency, money::Amount> exposure_alert_limits;
    friend bool operator==(const MetricsConfig&, const MetricsConfig&) = default;
};

// [[pairs]]: a currency pair the engine trades.
struct PairConfig {
    money::CurrencyPair pair;  // from `symbol`, "USD/CNY"
    money::Rate tick;          // the price increment; a positive decimal on this pair
    money::Amount min_qty;     // the smallest order, in minor units of pair.base
    // Business days from trade date to spot value date. When the file leaves it out:
    // conventional_spot_days(pair), T+2 but for the T+1 pairs (USD/CAD, ...).
    std::uint32_t spot_days = 2;
    // For a cross (neither currency USD): the spot date (and T+n) must also be a USD
    // business day, as the interbank market settles crosses. Ignored for a USD pair.
    bool skip_usd_holidays = true;
    friend bool operator==(const PairConfig&, const PairConfig&) = default;
};

// The market's spot convention: 1 business day for USD/CAD, USD/TRY, USD/PHP and USD/RUB
// (either direction), 2 for every other pair.
std::uint32_t conventional_spot_days(const money::CurrencyPair& pair) noexcept;

// [calendars]: where the per-currency holiday calendars come from
// (engine/calendar/README.md; format in config/calendar_file.h).
struct CalendarsConfig {
    // A directory of <CCY>.toml calendar files, used as written (relative to the daemon's
    // working directory). Empty (the default): the calendars compiled in from
    // config/calendars/.
    std::string directory;
    friend bool operator==(const CalendarsConfig&, const CalendarsConfig&) = default;
};

// Per-currency amounts (limits, caps). A currency absent from the map has a limit of zero.
using CurrencyAmounts = std::map<money::Currency, money::Amount>;

enum class FundingMode : std::uint8_t {
    kPrefunded = 0,   // pays in before its payouts settle
    kPostfunded = 1,  // settles its net debit after the cycle, within its credit limits
};
std::string_view funding_mode_name(FundingMode mode) noexcept;  // "prefunded", ...

// [[psps]]: a payment service provider connected through the FIX gateway.
struct PspConfig {
    std::string id;              // [a-z0-9][a-z0-9_-]*, at most 32; unique across all ids
    std::string name;            // for people: reports, logs
    std::string sender_comp_id;  // the PSP's SenderCompID (49) in its FIX session; unique
    std::string username;        // Logon Username (553); unique
    // Logon Password (554) check: "pbkdf2-sha256$<iterations>$<salt-hex>$<hash-hex>"
    // (32-byte hash, salt of 8 bytes or more), checked for syntax only.
    std::string password_hash;
    std::uint32_t spread_bps = 0;  // added to the mid on the PSP's conversions
    FundingMode funding_mode = FundingMode::kPrefunded;
    CurrencyAmounts credit_limits;          // credit extended per currency (>= 0)
    CurrencyAmounts net_debit_caps;         // the largest net debit per currency per cycle
    money::Money aggregate_cap;             // the largest net debit over all currencies
    CurrencyAmounts short_position_limits;  // the largest short FX position per currency
    friend bool operator==(const PspConfig&, const PspConfig&) = default;
};

// [[cycles]]: the settlement schedule of one currency.
struct CycleConfig {
    money::Currency currency;
    // Cut-off times as minutes after midnight UTC, strictly increasing, at least one.
    std::vector<std::chrono::minutes> cutoffs;
    // Extra closures, sorted: days this currency does not settle on top of its holiday
    // calendar (a typhoon day, a day of mourning, a clearing bank's own closure). Each
    // must lie in the calendar's range on a day that is not a weekend day (checked when
    // the calendars are loaded, engine/calendar).
    std::vector<std::chrono::year_month_day> holidays;
    friend bool operator==(const CycleConfig&, const CycleConfig&) = default;
};

// TLS for a FIX session. Paths are used as written (relative to the daemon's working
// directory); the adapter opens them.
struct TlsConfig {
    std::string cert;  // PEM certificate (chain) presented to the peer
    std::string key;   // PEM private key of `cert`
    std::string ca;    // PEM CA bundle that verifies the peer
    // Gateway only: PSPs must present a certificate signed by `ca`.
    bool require_client_cert = false;
    friend bool operator==(const TlsConfig&, const TlsConfig&) = default;
};

// [gateway]: the FIX acceptor the PSPs log on to.
struct GatewayConfig {
    Endpoint listen{"127.0.0.1", 9878};  // port 0 lets the OS pick one (tests)
    std::string sender_comp_id = "FXSETTLE";
    std::chrono::seconds heartbeat_s{30};
    // Connections accepted that have not completed a Logon (TLS handshake included): one
    // more is closed as it is accepted. Each PSP session needs one while it logs on.
    std::uint32_t unauthenticated_connections_max = 64;
    // A connection that has not completed a Logon this long after it was accepted is closed.
    std::chrono::seconds logon_deadline_s{10};
    std::optional<TlsConfig> tls;  // [gateway.tls]: cert and key required
    friend bool operator==(const GatewayConfig&, const GatewayConfig&) = default;
};

// [[venues]]: an FX venue fxsettle hedges on (FIX initiator).
struct VenueConfig {
    std::string id;
    std::string host;
    std::uint16_t port = 0;
    std::string sender_comp_id;                      // ours, as the venue knows us
    std::string target_comp_id;                      // the venue's
    std::chrono::milliseconds rate_stale_ms{2'000};  // a streamed rate older than this is unused
    std::chrono::seconds heartbeat_s{30};
    std::chrono::seconds reconnect_interval_s{5};
    // The pairs this venue quotes, each one of [[pairs]]; all of them when not given.
    std::vector<money::CurrencyPair> pairs;
    std::optional<TlsConfig> tls;  // [venues.tls]: ca required; cert and key together
    friend bool operator==(const VenueConfig&, const VenueConfig&) = default;
};

// [[banks]]: a settlement bank fxsettle sends payment orders to (FIX initiator).
struct BankConfig {
    std::string id;
    std::string host;
    std::uint16_t port = 0;
    std::string sender_comp_id;               // ours, as the bank knows us
    std::string target_comp_id;               // the bank's
    std::vector<money::Currency> currencies;  // the currencies this bank pays in; at least one
    std::chrono::seconds heartbeat_s{30};
    std::chrono::seconds reconnect_interval_s{5};
    std::optional<TlsConfig> tls;  // [banks.tls]: ca required; cert and key together
    friend bool operator==(const BankConfig&, const BankConfig&) = default;
};

// The whole configuration. Lists keep the file's order.
struct Config {
    std::string source_name;  // the file (or source name) it was loaded from

    NodeConfig node;
    LogConfig log;
    LedgerConfig ledger;
    EngineConfig engine;
    MetricsConfig metrics;
    // [[currencies]]: the non-ISO codes the file adds (e.g. CNH), as given.
    std::vector<money::Currency> currencies;
    // ISO 4217 plus `currencies`: every currency named anywhere in the file was resolved
    // against this table, and the rest of the program should use it too.
    money::CurrencyTable currency_table;
    std::vector<PairConfig> pairs;
    CalendarsConfig calendars;
    std::vector<PspConfig> psps;
    std::vector<CycleConfig> cycles;
    GatewayConfig gateway;
    std::vector<VenueConfig> venues;
    std::vector<BankConfig> banks;

    // Lookups by id; nullptr when absent. Pointers stay valid while the Config lives and
    // its vectors are not modified.
    const PspConfig* find_psp(std::string_view id) const noexcept;
    const PairConfig* find_pair(const money::CurrencyPair& pair) const noexcept;
    const CycleConfig* find_cycle(const money::Currency& currency) const noexcept;
    const VenueConfig* find_venue(std::string_view id) const noexcept;
    const BankConfig* find_bank(std::string_view id) const noexcept;

    // Compares every field; the currency tables compare by content.
    friend bool operator==(const Config& a, const Config& b);
};

// The configuration as TOML text with every key, defaults included, in the schema's
// order: what the daemon actually runs with (`--print-config`) and a readable form for
// test failures. Loading the text back gives an equal Config (but for source_name).
std::string to_toml(const Config& config);

// Reads and validates the TOML file at `path`. Fails with kNotFound when the file does
// not exist, kIoError when it cannot be read, and kInvalidArgument for a syntax error or
// any invalid content. An invalid-content message lists every problem found (up to 50),
// one per line, sorted by position, each as "<path>:<line>:<column>: <key path>: <what>",
// e.g. `fxsettle.toml:12:19: psps[1].credit_limits.USD: amount "12.345" has 3 decimals;
// USD allows 2`. Array indices in key paths count from 0.
Result<Config> load_config_file(const std::string& path);

// Like load_config_file() on `text`, naming `source_name` in messages.
Result<Config> load_config_string(std::string_view text, std::string_view source_name);

// The embedded default configuration (config/default.toml, compiled in): loopback
// hosts, fixed default ports, a demo set of PSPs, currencies, pairs, cycles, venues and
// banks. The text lives for the whole program.
std::string_view default_config_text() noexcept;
// The name under which the default is loaded and named in messages.
inline constexpr std::string_view kDefaultConfigSourceName = "default.toml (embedded)";

// load_config_string(default_config_text(), kDefaultConfigSourceName). The embedded
// default is checked by the tests, so a failure here is a build defect.
Result<Config> load_default_config();

}  // namespace fxsettle::config
