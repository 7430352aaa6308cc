// The schema: which tables and keys exist, their types, bounds and defaults, and the
// checks across them (duplicate ids, pairs that exist, currencies that exist). The
// key-by-key documentation for users is config/fxsettle.sample.toml; keep both in step.
#include "config/config.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <utility>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "config/text_checks.h"
#include "config/toml_reader.h"

namespace fxsettle::config {

std::string Endpoint::to_string() const {
    if (host.find(':') != std::string::npos) {
        return fmt::format("[{}]:{}", host, port);
    }
    return fmt::format("{}:{}", host, port);
}

std::string_view funding_mode_name(FundingMode mode) noexcept {
    switch (mode) {
        case FundingMode::kPrefunded:
            return "prefunded";
        case FundingMode::kPostfunded:
            return "postfunded";
    }
    return "unknown";
}

namespace {

template <typename T, typename Pred>
const T* find_in(const std::vector<T>& items, Pred pred) noexcept {
    const auto it = std::find_if(items.begin(), items.end(), pred);
    return it == items.end() ? nullptr : &*it;
}

}  // namespace

const PspConfig* Config::find_psp(std::string_view id) const noexcept {
    return find_in(psps, [id](const PspConfig& p) { return p.id == id; });
}
const PairConfig* Config::find_pair(const money::CurrencyPair& pair) const noexcept {
    return find_in(pairs, [&pair](const PairConfig& p) { return p.pair == pair; });
}
const CycleConfig* Config::find_cycle(const money::Currency& currency) const noexcept {
    return find_in(cycles, [&currency](const CycleConfig& c) { return c.currency == currency; });
}
const VenueConfig* Config::find_venue(std::string_view id) const noexcept {
    return find_in(venues, [id](const VenueConfig& v) { return v.id == id; });
}
const BankConfig* Config::find_bank(std::string_view id) const noexcept {
    return find_in(banks, [id](const BankConfig& b) { return b.id == id; });
}

bool operator==(const Config& a, const Config& b) {
    const auto table_a = a.currency_table.all();
    const auto table_b = b.currency_table.all();
    return a.source_name == b.source_name && a.node == b.node && a.log == b.log &&
           a.ledger == b.ledger && a.engine == b.engine && a.metrics == b.metrics &&
           a.currencies == b.currencies &&
           std::equal(table_a.begin(), table_a.end(), table_b.begin(), table_b.end()) &&
           a.pairs == b.pairs && a.calendars == b.calendars && a.psps == b.psps &&
           a.cycles == b.cycles && a.gateway == b.gateway && a.venues == b.venues &&
           a.banks == b.banks;
}

std::uint32_t conventional_spot_days(const money::CurrencyPair& pair) noexcept {
    const auto other = pair.base.code_view() == "USD"    ? pair.quote.code_view()
                       : pair.quote.code_view() == "USD" ? pair.base.code_view()
                                                         : std::string_view();
    return other == "CAD" || other == "TRY" || other == "PHP" || other == "RUB" ? 1 : 2;
}

namespace {

using detail::Diagnostics;
using detail::Need;
using detail::TableReader;

constexpr std::size_t kNodeNameLengthMax = 64;
constexpr std::size_t kIdLengthMax = 32;
constexpr std::size_t kTextLengthMax = 256;
constexpr std::int64_t kHeartbeatSMax = 300;
constexpr std::int64_t kReconnectIntervalSMax = 3'600;
constexpr std::int64_t kQuoteTtlMsMax = 3'600'000;
constexpr std::int64_t kHedgeTimeoutMsMin = 1'000;
constexpr std::int64_t kHedgeTimeoutMsMax = 3'600'000;
constexpr std::int64_t kHoldTtlSMax = 30 * 86'400;
constexpr std::int64_t kRateStaleMsMax = 600'000;
constexpr std::int64_t kSpreadBpsMax = 2'000;
constexpr std::int64_t kFxBufferBpsMax = 5'000;
constexpr std::size_t kHolidaysMax = 512;

static_assert(kSpreadBpsMax <= kBpsCeiling && kFxBufferBpsMax <= kBpsCeiling);

enum class Sign : std::uint8_t { kPositive, kNonNegative };

// Where a value was first seen, to name it when a duplicate turns up.
struct FirstSeen {
    std::string path;
    std::uint32_t line = 0;
};
using SeenMap = std::map<std::string, FirstSeen, std::less<>>;

class Loader {
  public:
    explicit Loader(Diagnostics& diagnostics) : d_(diagnostics) {}

    Config load(const toml::table& root, std::string source_name) {
        config_.source_name = std::move(source_name);
        TableReader r(d_, root, "");
        // Currencies first: every other section resolves codes against the table they
        // build. Pairs before venues, which name pairs.
        read_currencies(r);
        read_pairs(r);
        read_node(r);
        read_log(r);
        read_ledger(r);
        read_engine(r);
        read_metrics(r);
        read_gateway(r);
        read_calendars(r);
        read_psps(r);
        read_cycles(r);
        read_venues(r);
        read_banks(r);
        check_across(root);
        r.finish();
        return std::move(config_);
    }

  private:
    // ---- helpers -----------------------------------------------------------------------

    void error_at(const toml::node& node, std::string_view path, std::string_view what) {
        d_.error(node.source(), path, what);
    }

    // Records `value` as first seen at `path`; reports a duplicate and returns false when
    // it was seen before.
    bool claim(SeenMap& seen, const std::string& value, const toml::node& node,
               const std::string& path, std::string_view what) {
        const auto [it, inserted] =
            seen.try_emplace(value, FirstSeen{path, node.source().begin.line});
        if (!inserted) {
            error_at(node, path,
                     fmt::format("duplicate {} \"{}\" (first at {}, line {})", what, value,
                                 it->second.path, it->second.line));
        }
        return inserted;
    }

    // A non-empty string value with its node, for the checks that follow.
    struct Text {
        std::string value;
        const toml::node* node = nullptr;
        std::string path;
    };
    std::optional<Text> text(TableReader& r, std::string_view key, Need need) {
        auto value = r.string(key, need);
        if (!value) {
            return std::nullopt;
        }
        if (value->size() > kTextLengthMax) {
            r.value_error(key, fmt::format("is {} characters long; at most {}", value->size(),
                                           kTextLengthMax));
            return std::nullopt;
        }
        return Text{std::move(*value), r.table().get(key), r.path_of(key)};
    }

    // A text value that must pass `check`.
    std::optional<Text> checked(TableReader& r, std::string_view key, Need need,
                                const std::function<Status(std::string_view)>& check) {
        auto t = text(r, key, need);
        if (!t) {
            return std::nullopt;
        }
        if (Status status = check(t->value); !status) {
            error_at(*t->node, t->path, status.message());
            return std::nullopt;
        }
        return t;
    }

    template <typename T>
    void read_int(TableReader& r, std::string_view key, T& field, std::int64_t min,
                  std::int64_t max, Need need = Need::kOptional) {
        if (const auto v = r.integer(key, need, min, max)) {
            field = static_cast<T>(*v);
        }
    }
    template <typename Rep, typename Period>
    void read_duration(TableReader& r, std::string_view key,
                       std::chrono::duration<Rep, Period>& field, std::int64_t min,
                       std::int64_t max) {
        if (const auto v = r.integer(key, Need::kOptional, min, max)) {
            field = std::chrono::duration<Rep, Period>(static_cast<Rep>(*v));
        }
    }

    // Amounts, rates and times are strings; a TOML number or date where one is expected
    // gets a message saying how to write it.
    std::optional<std::string> string_value(const toml::node& node, std::string_view path,
                                            std::string_view what, std::string_view example) {
        if (node.is_string()) {
            return node.as_string()->get();
        }
        const std::string_view article =
            std::string_view("aeiou").find(what.front()) == std::string_view::npos ? "a" : "an";
        if (node.is_number() || node.is_date() || node.is_time() || node.is_date_time()) {
            error_at(node, path,
                     fmt::format("expected {} {} as a string, got {}: write {}s as strings, e.g. "
                                 "\"{}\"",
                                 article, what, detail::type_name(node.type()), what, example));
        } else {
            detail::type_error(d_, node, path, fmt::format("{} {} as a string", article, what));
        }
        return std::nullopt;
    }

    std::optional<money::Currency> currency_at(const toml::node& node, std::string_view path) {
        const auto code = string_value(node, path, "currency code", "USD");
        if (!code) {
            return std::nullopt;
        }
        auto currency = config_.currency_table.lookup(*code);
        if (!currency) {
            error_at(node, path, currency.error().message());
            return std::nullopt;
        }
        return *currency;
    }
    std::optional<money::Currency> currency(TableReader& r, std::string_view key, Need need) {
        const toml::node* node = r.find(key, need);
        return node == nullptr ? std::nullopt : currency_at(*node, r.path_of(key));
    }

    std::optional<money::Amount> amount_at(const toml::node& node, std::string_view path,
                                           const money::Currency& currency, Sign sign) {
        const auto text_value = string_value(node, path, "amount", "1000000.00");
        if (!text_value) {
            return std::nullopt;
        }
        auto amount = money::parse_amount(*text_value, currency);
        if (!amount) {
            error_at(node, path, amount.error().message());
            return std::nullopt;
        }
        if (amount->is_negative() || (sign == Sign::kPositive && amount->is_zero())) {
            error_at(node, path,
                     fmt::format("amount \"{}\" must be {}", *text_value,
                                 sign == Sign::kPositive ? "positive" : "zero or positive"));
            return std::nullopt;
        }
        return *amount;
    }
    std::optional<money::Amount> amount(TableReader& r, std::string_view key,
                                        const std::optional<money::Currency>& currency, Need need,
                                        Sign sign) {
        const toml::node* node = r.find(key, need);
        if (node == nullptr) {
            return std::nullopt;
        }
        if (!currency) {
            // The currency's problem was reported already; still report a wrong type.
            (void)string_value(*node, r.path_of(key), "amount", "1000000.00");
            return std::nullopt;
        }
        return amount_at(*node, r.path_of(key), *currency, sign);
    }

    // A table of currency code -> amount (zero or positive).
    CurrencyAmounts currency_amounts(TableReader& r, std::string_view key) {
        CurrencyAmounts out;
        const toml::table* table = r.table(key, Need::kOptional);
        if (table == nullptr) {
            return out;
        }
        const std::string path = r.path_of(key);
        for (auto&& [code, node] : *table) {
            const std::string entry_path = detail::child_path(path, code.str());
            auto currency = config_.currency_table.lookup(code.str());
            if (!currency) {
                d_.error(code.source(), entry_path, currency.error().message());
                continue;
            }
            if (auto value = amount_at(node, entry_path, *currency, Sign::kNonNegative)) {
                out.emplace(*currency, *value);
            }
        }
        return out;
    }

    // Calls `read` with a reader for each table of the array of tables under `key`.
    void for_each_table(TableReader& r, std::string_view key, std::size_t count_max,
                        const std::function<void(TableReader&, std::size_t)>& read) {
        const toml::array* array =
            r.array(key, Need::kOptional, fmt::format("an array of tables ([[{}]])", key));
        if (array == nullptr) {
            return;
        }
        const std::string path = r.path_of(key);
        if (array->size() > count_max) {
            error_at(*array, path, fmt::format("{} entries; at most {}", array->size(), count_max));
            return;
        }
        for (std::size_t i = 0; i < array->size(); ++i) {
            const toml::node& element = *array->get(i);
            const std::string element_path = detail::index_path(path, i);
            const toml::table* table = element.as_table();
            if (table == nullptr) {
                detail::type_error(d_, element, element_path, "a table");
                continue;
            }
            TableReader er(d_, *table, element_path);
            read(er, i);
            er.finish();
        }
    }

    // Calls `read` with a reader for the table under `key`, if present (or if required).
    void with_table(TableReader& r, std::string_view key, Need need,
                    const std::function<void(TableReader&)>& read) {
        const toml::table* table = r.table(key, need);
        if (table == nullptr) {
            return;
        }
        TableReader tr(d_, *table, r.path_of(key));
        read(tr);
        tr.finish();
    }

    // Calls `read` with each string element of the array under `key`.
    void for_each_string(TableReader& r, std::string_view key, Need need, std::size_t count_max,
                         std::string_view what,
                         const std::function<void(const toml::node&, const std::string&)>& read) {
        const toml::array* array =
            r.array(key, need, fmt::format("an array of {}s as strings", what));
        if (array == nullptr) {
            return;
        }
        const std::string path = r.path_of(key);
        if (array->size() > count_max) {
            error_at(*array, path, fmt::format("{} entries; at most {}", array->size(), count_max));
            return;
        }
        if (need == Need::kRequired && array->empty()) {
            error_at(*array, path, fmt::format("must list at least one {}", what));
        }
        for (std::size_t i = 0; i < array->size(); ++i) {
            read(*array->get(i), detail::index_path(path, i));
        }
    }

    std::optional<Endpoint> endpoint(TableReader& r, std::string_view key, bool allow_port_zero) {
        auto t = text(r, key, Need::kOptional);
        if (!t) {
            return std::nullopt;
        }
        auto parsed = detail::parse_endpoint(t->value, allow_port_zero);
        if (!parsed) {
            error_at(*t->node, t->path, parsed.error().message());
            return std::nullopt;
        }
        return *parsed;
    }

    // The id of a PSP, venue or bank: well formed, unique across all three kinds (they
    // are the owners of ledger accounts, so they share one namespace).
    std::string owner_id(TableReader& r) {
        auto id = checked(r, "id", Need::kRequired,
                          [](std::string_view s) { return detail::check_id(s, kIdLengthMax); });
        if (!id) {
            return {};
        }
        claim(owner_ids_, id->value, *id->node, id->path, "id");
        return id->value;
    }

    std::string comp_id(TableReader& r, std::string_view key, Need need) {
        auto t = checked(r, key, need, detail::check_comp_id);
        return t ? t->value : std::string();
    }

    // host + port of an initiator session.
    void host_port(TableReader& r, std::string& host, std::uint16_t& port) {
        if (auto t = checked(r, "host", Need::kRequired, detail::check_host)) {
            host = t->value;
        }
        read_int(r, "port", port, 1, 65'535, Need::kRequired);
    }

    // The session of an initiator (venue, bank) must be unique: QuickFIX keys sessions
    // by their comp ids.
    void claim_session(TableReader& r, const std::string& sender, const std::string& target) {
        if (sender.empty() || target.empty()) {
            return;
        }
        if (sender == target) {
            r.value_error("target_comp_id", "must differ from sender_comp_id");
            return;
        }
        claim(sessions_, fmt::format("{}->{}", sender, target), *r.table().get("target_comp_id"),
              r.path_of("target_comp_id"), "FIX session");
    }

    std::optional<TlsConfig> tls(TableReader& r, bool acceptor) {
        std::optional<TlsConfig> out;
        with_table(r, "tls", Need::kOptional, [&](TableReader& t) {
            TlsConfig tls;
            const Need cert_need = acceptor ? Need::kRequired : Need::kOptional;
            tls.cert = t.string("cert", cert_need).value_or("");
            tls.key = t.string("key", cert_need).value_or("");
            if (acceptor) {
                tls.require_client_cert =
                    t.boolean("require_client_cert", Need::kOptional).value_or(false);
                tls.ca = t.string("ca", tls.require_client_cert ? Need::kRequired : Need::kOptional)
                             .value_or("");
            } else {
                tls.ca = t.string("ca", Need::kRequired).value_or("");
                if (tls.cert.empty() != tls.key.empty()) {
                    t.table_error("give both cert and key (a client certificate), or neither");
                }
            }
            out = std::move(tls);
        });
        return out;
    }

    // ---- sections ----------------------------------------------------------------------

    void read_currencies(TableReader& root) {
        SeenMap seen;
        for_each_table(root, "currencies", kCurrenciesMax, [&](TableReader& r, std::size_t) {
            auto code = text(r, "code", Need::kRequired);
            std::uint8_t exponent = 0;
            const auto exponent_value =
                r.integer("exponent", Need::kRequired, 0, money::kExponentMax);
            if (!code || !exponent_value) {
                return;
            }
            exponent = static_cast<std::uint8_t>(*exponent_value);
            if (!claim(seen, code->value, *code->node, code->path, "currency")) {
                return;
            }
            if (code->value.size() != 3) {
                error_at(*code->node, code->path,
                         fmt::format("\"{}\" is not a currency code: want 3 upper-case letters",
                                     code->value));
                return;
            }
            money::Currency currency;
            std::copy(code->value.begin(), code->value.end(), currency.code.begin());
            currency.exponent = exponent;
            if (Status status = config_.currency_table.add(currency); !status) {
                error_at(*code->node, code->path, status.message());
                return;
            }
            config_.currencies.push_back(currency);
        });
    }

    void read_pairs(TableReader& root) {
        SeenMap seen;
        for_each_table(root, "pairs", kPairsMax, [&](TableReader& r, std::size_t) {
            auto symbol = text(r, "symbol", Need::kRequired);
            std::optional<money::CurrencyPair> pair;
            if (symbol) {
                auto parsed = money::parse_pair(symbol->value, config_.currency_table);
                if (!parsed) {
                    error_at(*symbol->node, symbol->path, parsed.error().message());
                } else {
                    pair = *parsed;
                    const std::string inverted = parsed->inverted().to_string();
                    if (const auto it = seen.find(inverted); it != seen.end()) {
                        error_at(*symbol->node, symbol->path,
                                 fmt::format("{} is {} inverted (first at {}, line {}); list "
                                             "a pair in one direction only",
                                             parsed->to_string(), inverted, it->second.path,
                                             it->second.line));
                        pair.reset();
                    } else if (!claim(seen, parsed->to_string(), *symbol->node, symbol->path,
                                      "pair")) {
                        pair.reset();
                    }
                }
            }
            std::optional<money::Rate> tick;
            if (const toml::node* node = r.find("tick", Need::kRequired)) {
                auto tick_text = string_value(*node, r.path_of("tick"), "tick", "0.0001");
                if (tick_text && pair) {
                    auto parsed = money::Rate::parse(*pair, *tick_text);
                    if (!parsed) {
                        error_at(*node, r.path_of("tick"), parsed.error().message());
                    } else {
                        tick = *parsed;
                    }
                }
            }
            const auto min_qty =
                amount(r, "min_qty", pair ? std::optional(pair->base) : std::nullopt,
                       Need::kRequired, Sign::kPositive);
            std::uint32_t spot_days = pair ? conventional_spot_days(*pair) : 2;
            read_int(r, "spot_days", spot_days, 0, kSpotDaysMax);
            const bool skip_usd_holidays =
                r.boolean("skip_usd_holidays", Need::kOptional).value_or(true);
            if (pair && tick && min_qty) {
                config_.pairs.push_back(
                    PairConfig{*pair, *tick, *min_qty, spot_days, skip_usd_holidays});
            }
        });
    }

    void read_node(TableReader& root) {
        with_table(root, "node", Need::kRequired, [&](TableReader& r) {
            if (auto name = checked(r, "name", Need::kRequired, [](std::string_view s) {
                    return detail::check_id(s, kNodeNameLengthMax);
                })) {
                config_.node.name = name->value;
            }
            if (auto dir = text(r, "data_dir", Need::kOptional)) {
                config_.node.data_dir = dir->value;
            }
        });
    }

    void read_log(TableReader& root) {
        with_table(root, "log", Need::kOptional, [&](TableReader& r) {
            static constexpr std::array<std::string_view, 7> kLevels = {
                "trace", "debug", "info", "warn", "error", "critical", "off"};
            if (auto level = text(r, "level", Need::kOptional)) {
                if (std::find(kLevels.begin(), kLevels.end(), level->value) == kLevels.end()) {
                    error_at(*level->node, level->path,
                             fmt::format("unknown log level \"{}\"; use one of trace, debug, "
                                         "info, warn, error, critical, off",
                                         level->value));
                } else {
                    config_.log.level = level->value;
                }
            }
        });
    }

    void read_ledger(TableReader& root) {
        with_table(root, "ledger", Need::kOptional, [&](TableReader& r) {
            LedgerConfig& ledger = config_.ledger;
            if (auto path = text(r, "path", Need::kOptional)) {
                ledger.path = path->value;
            }
            const auto map_max = static_cast<std::int64_t>(kMapSizeMbCeiling);
            read_int(r, "map_size_initial_mb", ledger.map_size_initial_mb, 1, map_max);
            read_int(r, "map_size_max_mb", ledger.map_size_max_mb, 1, map_max);
            read_int(r, "batch_max", ledger.batch_max, 1, kBatchMaxCeiling);
            if (ledger.map_size_initial_mb > ledger.map_size_max_mb) {
                r.value_error(r.table().contains("map_size_initial_mb") ? "map_size_initial_mb"
                                                                        : "map_size_max_mb",
                              fmt::format("map_size_initial_mb ({}) exceeds map_size_max_mb ({})",
                                          ledger.map_size_initial_mb, ledger.map_size_max_mb));
            }
        });
    }

    void read_engine(TableReader& root) {
        with_table(root, "engine", Need::kOptional, [&](TableReader& r) {
            EngineConfig& engine = config_.engine;
            read_int(r, "queue_max", engine.queue_max, 1, kQueueMaxCeiling);
            read_int(r, "batch_max", engine.batch_max, 1, kBatchMaxCeiling);
            read_int(r, "book_orders_max", engine.book_orders_max, 1, kBookOrdersMaxCeiling);
            read_int(r, "outbox_batch_max", engine.outbox_batch_max, 1, kBatchMaxCeiling);
            read_duration(r, "quote_ttl_ms", engine.quote_ttl_ms, 1, kQuoteTtlMsMax);
            read_duration(r, "hold_ttl_s", engine.hold_ttl_s, 1, kHoldTtlSMax);
            read_int(r, "fx_buffer_bps", engine.fx_buffer_bps, 0, kFxBufferBpsMax);
            if (auto mode = text(r, "rounding_mode", Need::kOptional)) {
                auto parsed = money::parse_rounding_mode(mode->value);
                if (!parsed) {
                    error_at(*mode->node, mode->path, parsed.error().message());
                } else {
                    engine.rounding_mode = *parsed;
                }
            }
            read_duration(r, "hedge_timeout_ms", engine.hedge_timeout_ms, kHedgeTimeoutMsMin,
                          kHedgeTimeoutMsMax);
        });
    }

    void read_metrics(TableReader& root) {
        with_table(root, "metrics", Need::kOptional, [&](TableReader& r) {
            config_.metrics.enabled = r.boolean("enabled", Need::kOptional).value_or(true);
            if (auto listen = endpoint(r, "listen", true)) {
                config_.metrics.listen = *listen;
            }
            config_.metrics.exposure_alert_limits = currency_amounts(r, "exposure_alert_limits");
        });
    }

    void read_gateway(TableReader& root) {
        with_table(root, "gateway", Need::kOptional, [&](TableReader& r) {
            GatewayConfig& gateway = config_.gateway;
            if (auto listen = endpoint(r, "listen", true)) {
                gateway.listen = *listen;
            }
            if (auto id = comp_id(r, "sender_comp_id", Need::kOptional); !id.empty()) {
                gateway.sender_comp_id = id;
            }
            read_duration(r, "heartbeat_s", gateway.heartbeat_s, 1, kHeartbeatSMax);
            read_int(r, "unauthenticated_connections_max", gateway.unauthenticated_connections_max,
                     1, kUnauthenticatedConnectionsMaxCeiling);
            read_duration(r, "logon_deadline_s", gateway.logon_deadline_s, 1, kLogonDeadlineSMax);
            gateway.tls = tls(r, true);
        });
    }

    void read_calendars(TableReader& root) {
        with_table(root, "calendars", Need::kOptional, [&](TableReader& r) {
            if (auto directory = r.string("directory", Need::kOptional, true)) {
                if (directory->size() > kTextLengthMax) {
                    r.value_error("directory", fmt::format("is {} characters long; at most {}",
                                                           directory->size(), kTextLengthMax));
                } else {
                    config_.calendars.directory = *directory;
                }
            }
        });
    }

    void read_psps(TableReader& root) {
        SeenMap usernames;
        SeenMap comp_ids;
        for_each_table(root, "psps", kPspsMax, [&](TableReader& r, std::size_t) {
            PspConfig psp;
            psp.id = owner_id(r);
            if (auto name = text(r, "name", Need::kRequired)) {
                psp.name = name->value;
            }
            if (auto id = checked(r, "sender_comp_id", Need::kRequired, detail::check_comp_id)) {
                psp.sender_comp_id = id->value;
                if (id->value == config_.gateway.sender_comp_id) {
                    error_at(*id->node, id->path,
                             fmt::format("\"{}\" is the gateway's own sender_comp_id", id->value));
                } else {
                    claim(comp_ids, id->value, *id->node, id->path, "sender_comp_id");
                }
            }
            if (auto user = checked(r, "username", Need::kRequired, detail::check_username)) {
                psp.username = user->value;
                claim(usernames, user->value, *user->node, user->path, "username");
            }
            if (auto hash =
                    checked(r, "password_hash", Need::kRequired, detail::check_password_hash)) {
                psp.password_hash = hash->value;
            }
            read_int(r, "spread_bps", psp.spread_bps, 0, kSpreadBpsMax, Need::kRequired);
            if (auto mode = text(r, "funding_mode", Need::kRequired)) {
                if (mode->value == "prefunded") {
                    psp.funding_mode = FundingMode::kPrefunded;
                } else if (mode->value == "postfunded") {
                    psp.funding_mode = FundingMode::kPostfunded;
                } else {
                    error_at(*mode->node, mode->path,
                             fmt::format("unknown funding mode \"{}\"; use \"prefunded\" or "
                                         "\"postfunded\"",
                                         mode->value));
                }
            }
            psp.credit_limits = currency_amounts(r, "credit_limits");
            psp.net_debit_caps = currency_amounts(r, "net_debit_caps");
            psp.short_position_limits = currency_amounts(r, "short_position_limits");
            with_table(r, "aggregate_cap", Need::kRequired, [&](TableReader& cap) {
                const auto cap_currency = currency(cap, "currency", Need::kRequired);
                const auto cap_amount =
                    amount(cap, "amount", cap_currency, Need::kRequired, Sign::kNonNegative);
                if (cap_currency && cap_amount) {
                    psp.aggregate_cap = money::Money{*cap_amount, *cap_currency};
                }
            });
            config_.psps.push_back(std::move(psp));
        });
    }

    void read_cycles(TableReader& root) {
        SeenMap seen;
        for_each_table(
            root, "cycles", config_.currency_table.all().size(), [&](TableReader& r, std::size_t) {
                CycleConfig cycle;
                const auto currency_value = currency(r, "currency", Need::kRequired);
                if (currency_value) {
                    cycle.currency = *currency_value;
                    claim(seen, currency_value->to_string(), *r.table().get("currency"),
                          r.path_of("currency"), "cycle currency");
                }
                std::string previous_text;
                for_each_string(
                    r, "cutoffs", Need::kRequired, kCutoffsPerDayMax, "cut-off time",
                    [&](const toml::node& node, const std::string& path) {
                        const auto time_text = string_value(node, path, "time", "16:00");
                        if (!time_text) {
                            return;
                        }
                        auto time = detail::parse_time_of_day(*time_text);
                        if (!time) {
                            error_at(node, path, time.error().message());
                            return;
                        }
                        if (!cycle.cutoffs.empty() && *time <= cycle.cutoffs.back()) {
                            error_at(node, path,
                                     fmt::format("\"{}\" is not after \"{}\": cut-offs must be "
                                                 "strictly increasing",
                                                 *time_text, previous_text));
                            return;
                        }
                        previous_text = *time_text;
                        cycle.cutoffs.push_back(*time);
                    });
                for_each_string(
                    r, "holidays", Need::kOptional, kHolidaysMax, "date",
                    [&](const toml::node& node, const std::string& path) {
                        const auto date_text = string_value(node, path, "date", "2025-12-25");
                        if (!date_text) {
                            return;
                        }
                        auto date = detail::parse_date(*date_text);
                        if (!date) {
                            error_at(node, path, date.error().message());
                            return;
                        }
                        if (std::find(cycle.holidays.begin(), cycle.holidays.end(), *date) !=
                            cycle.holidays.end()) {
                            error_at(node, path,
                                     fmt::format("duplicate holiday \"{}\"", *date_text));
                            return;
                        }
                        cycle.holidays.push_back(*date);
                    });
                std::sort(cycle.holidays.begin(), cycle.holidays.end());
                config_.cycles.push_back(std::move(cycle));
            });
    }

    void read_venues(TableReader& root) {
        for_each_table(root, "venues", kVenuesMax, [&](TableReader& r, std::size_t) {
            VenueConfig venue;
            venue.id = owner_id(r);
            host_port(r, venue.host, venue.port);
            venue.sender_comp_id = comp_id(r, "sender_comp_id", Need::kRequired);
            venue.target_comp_id = comp_id(r, "target_comp_id", Need::kRequired);
            claim_session(r, venue.sender_comp_id, venue.target_comp_id);
            read_duration(r, "rate_stale_ms", venue.rate_stale_ms, 1, kRateStaleMsMax);
            read_duration(r, "heartbeat_s", venue.heartbeat_s, 1, kHeartbeatSMax);
            read_duration(r, "reconnect_interval_s", venue.reconnect_interval_s, 1,
                          kReconnectIntervalSMax);
            const bool pairs_given = r.table().contains("pairs");
            for_each_string(
                r, "pairs", Need::kOptional, kPairsMax, "pair",
                [&](const toml::node& node, const std::string& path) {
                    const auto symbol = string_value(node, path, "pair", "USD/CNY");
                    if (!symbol) {
                        return;
                    }
                    auto pair = money::parse_pair(*symbol, config_.currency_table);
                    if (!pair) {
                        error_at(node, path, pair.error().message());
                    } else if (config_.find_pair(*pair) == nullptr) {
                        error_at(node, path,
                                 fmt::format("pair {} is not one of [[pairs]]", pair->to_string()));
                    } else if (std::find(venue.pairs.begin(), venue.pairs.end(), *pair) !=
                               venue.pairs.end()) {
                        error_at(node, path, fmt::format("duplicate pair {}", pair->to_string()));
                    } else {
                        venue.pairs.push_back(*pair);
                    }
                });
            if (!pairs_given) {
                for (const PairConfig& pair : config_.pairs) {
                    venue.pairs.push_back(pair.pair);
                }
            } else if (const toml::array* list = r.table().get_as<toml::array>("pairs");
                       list != nullptr && list->empty()) {
                r.value_error("pairs", "must list at least one pair (or leave it out for all)");
            }
            venue.tls = tls(r, false);
            config_.venues.push_back(std::move(venue));
        });
    }

    void read_banks(TableReader& root) {
        for_each_table(root, "banks", kBanksMax, [&](TableReader& r, std::size_t) {
            BankConfig bank;
            bank.id = owner_id(r);
            host_port(r, bank.host, bank.port);
            bank.sender_comp_id = comp_id(r, "sender_comp_id", Need::kRequired);
            bank.target_comp_id = comp_id(r, "target_comp_id", Need::kRequired);
            claim_session(r, bank.sender_comp_id, bank.target_comp_id);
            read_duration(r, "heartbeat_s", bank.heartbeat_s, 1, kHeartbeatSMax);
            read_duration(r, "reconnect_interval_s", bank.reconnect_interval_s, 1,
                          kReconnectIntervalSMax);
            for_each_string(
                r, "currencies", Need::kRequired, config_.currency_table.all().size(), "currency",
                [&](const toml::node& node, const std::string& path) {
                    const auto currency_value = currency_at(node, path);
                    if (!currency_value) {
                        return;
                    }
                    if (std::find(bank.currencies.begin(), bank.currencies.end(),
                                  *currency_value) != bank.currencies.end()) {
                        error_at(node, path,
                                 fmt::format("duplicate currency {}", currency_value->to_string()));
                        return;
                    }
                    bank.currencies.push_back(*currency_value);
                });
            bank.tls = tls(r, false);
            config_.banks.push_back(std::move(bank));
        });
    }

    // Checks that relate sections to each other.
    void check_across(const toml::table& root) {
        const EngineConfig& engine = config_.engine;
        const auto engine_node = [&](std::string_view key) -> const toml::node* {
            const toml::node* node = root.at_path(fmt::format("engine.{}", key)).node();
            return node != nullptr ? node : root.get("engine");
        };
        if (engine.batch_max > engine.queue_max) {
            const toml::node* node = engine_node("batch_max");
            d_.error(node != nullptr ? node->source() : root.source(), "engine.batch_max",
                     fmt::format("{} exceeds engine.queue_max ({}): a batch is drained from the "
                                 "queue",
                                 engine.batch_max, engine.queue_max));
        }
        if (engine.batch_max > config_.ledger.batch_max) {
            const toml::node* node = engine_node("batch_max");
            d_.error(node != nullptr ? node->source() : root.source(), "engine.batch_max",
                     fmt::format("{} exceeds ledger.batch_max ({}): each command writes at least "
                                 "one journal entry and a batch commits in one transaction",
                                 engine.batch_max, config_.ledger.batch_max));
        }
    }

    Diagnostics& d_;
    Config config_;
    SeenMap owner_ids_;  // PSP, venue and bank ids: one namespace
    SeenMap sessions_;   // "sender->target" of initiator sessions
};

}  // namespace

Result<Config> load_config_string(std::string_view text, std::string_view source_name) {
    try {
        toml::table root;
        try {
            root = toml::parse(text, source_name);
        } catch (const toml::parse_error& e) {
            const auto& where = e.source().begin;
            return fail(StatusCode::kInvalidArgument,
                        fmt::format("{}:{}:{}: TOML syntax error: {}", source_name, where.line,
                                    where.column, e.description()));
        }
        Diagnostics diagnostics{std::string(source_name)};
        Loader loader(diagnostics);
        Config config = loader.load(root, std::string(source_name));
        if (diagnostics.has_errors()) {
            return fail(diagnostics.to_status());
        }
        return config;
    } catch (const std::exception& e) {
        // Only allocation failures are expected here; no exception leaves the library.
        return fail(StatusCode::kInternal,
                    fmt::format("{}: loading the config failed: {}", source_name, e.what()));
    }
}

Result<Config> load_config_file(const std::string& path) {
    std::FILE* file = std::fopen(path.c_str(), "rb");
    if (file == nullptr) {
        const int error = errno;
        return fail(error == ENOENT ? StatusCode::kNotFound : StatusCode::kIoError,
                    fmt::format("{}: cannot open the config file: {}", path, std::strerror(error)));
    }
    std::string text;
    char buffer[16 * 1024];
    std::size_t read = 0;
    while ((read = std::fread(buffer, 1, sizeof buffer, file)) > 0) {
        text.append(buffer, read);
    }
    const bool failed = std::ferror(file) != 0;
    const int error = errno;
    std::fclose(file);
    if (failed) {
        return fail(StatusCode::kIoError,
                    fmt::format("{}: cannot read the config file: {}", path, std::strerror(error)));
    }
    return load_config_string(text, path);
}

Result<Config> load_default_config() {
    return load_config_string(default_config_text(), kDefaultConfigSourceName);
}

}  // namespace fxsettle::config
