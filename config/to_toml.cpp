// Config -> TOML text. Keep in step with the schema in config.cpp: the round-trip test
// (load(to_toml(c)) == c) fails when a field is missing here.
#include <string>

#include <fmt/format.h>

#include "config/config.h"
#include "config/text_checks.h"

namespace fxsettle::config {
namespace {

// A TOML basic string.
std::string quote(std::string_view text) {
    std::string out = "\"";
    for (const char c : text) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
                    out += fmt::format("\\u{:04X}", static_cast<unsigned char>(c));
                } else {
                    out += c;
                }
        }
    }
    out += '"';
    return out;
}

std::string amounts(const CurrencyAmounts& map) {
    std::string out = "{";
    const char* separator = " ";
    for (const auto& [currency, amount] : map) {
        out += fmt::format("{}{} = {}", separator, currency.code_view(),
                           quote(money::format_amount(amount, currency)));
        separator = ", ";
    }
    out += map.empty() ? "}" : " }";
    return out;
}

template <typename T, typename F>
std::string list(const std::vector<T>& items, F&& format) {
    std::string out = "[";
    const char* separator = "";
    for (const T& item : items) {
        out += separator;
        out += quote(format(item));
        separator = ", ";
    }
    out += "]";
    return out;
}

void tls(std::string& out, std::string_view table, const std::optional<TlsConfig>& config,
         bool acceptor) {
    if (!config) {
        return;
    }
    out += fmt::format("[{}]\n", table);
    if (!config->cert.empty()) {
        out += fmt::format("cert = {}\nkey = {}\n", quote(config->cert), quote(config->key));
    }
    if (!config->ca.empty()) {
        out += fmt::format("ca = {}\n", quote(config->ca));
    }
    if (acceptor) {
        out += fmt::format("require_client_cert = {}\n", config->require_client_cert);
    }
}

}  // namespace

std::string to_toml(const Config& c) {
    std::string out = fmt::format("# fxsettle configuration loaded from {}\n", c.source_name);
    out += fmt::format("\n[node]\nname = {}\ndata_dir = {}\n", quote(c.node.name),
                       quote(c.node.data_dir));
    out += fmt::format("\n[log]\nlevel = {}\n", quote(c.log.level));
    out += fmt::format(
        "\n[ledger]\npath = {}\nmap_size_initial_mb = {}\nmap_size_max_mb = {}\nbatch_max = "
        "{}\n",
        quote(c.ledger.path), c.ledger.map_size_initial_mb, c.ledger.map_size_max_mb,
        c.ledger.batch_max);
    const EngineConfig& e = c.engine;
    out += fmt::format(
        "\n[engine]\nqueue_max = {}\nbatch_max = {}\nbook_orders_max = {}\noutbox_batch_max = "
        "{}\nquote_ttl_ms = {}\nhold_ttl_s = {}\nfx_buffer_bps = {}\nrounding_mode = {}\n"
        "hedge_timeout_ms = {}\n",
        e.queue_max, e.batch_max, e.book_orders_max, e.outbox_batch_max, e.quote_ttl_ms.count(),
        e.hold_ttl_s.count(), e.fx_buffer_bps, quote(money::rounding_mode_name(e.rounding_mode)),
        e.hedge_timeout_ms.count());
    out += fmt::format("\n[metrics]\nenabled = {}\nlisten = {}\nexposure_alert_limits = {}\n",
                       c.metrics.enabled, quote(c.metrics.listen.to_string()),
                       amounts(c.metrics.exposure_alert_limits));
    out += fmt::format(
        "\n[gateway]\nlisten = {}\nsender_comp_id = {}\nheartbeat_s = {}\n"
        "unauthenticated_connections_max = {}\nlogon_deadline_s = {}\n",
        quote(c.gateway.listen.to_string()), quote(c.gateway.sender_comp_id),
        c.gateway.heartbeat_s.count(), c.gateway.unauthenticated_connections_max,
        c.gateway.logon_deadline_s.count());
    tls(out, "gateway.tls", c.gateway.tls, true);

    for (const money::Currency& currency : c.currencies) {
        out += fmt::format("\n[[currencies]]\ncode = {}\nexponent = {}\n",
                           quote(currency.code_view()), currency.exponent);
    }
    for (const PairConfig& p : c.pairs) {
        out += fmt::format(
            "\n[[pairs]]\nsymbol = {}\ntick = {}\nmin_qty = {}\nspot_days = {}\n"
            "skip_usd_holidays = {}\n",
            quote(p.pair.to_string()), quote(p.tick.to_string()),
            quote(money::format_amount(p.min_qty, p.pair.base)), p.spot_days, p.skip_usd_holidays);
    }
    out += fmt::format("\n[calendars]\ndirectory = {}\n", quote(c.calendars.directory));
    for (const PspConfig& p : c.psps) {
        out += fmt::format(
            "\n[[psps]]\nid = {}\nname = {}\nsender_comp_id = {}\nusername = {}\npassword_hash = "
            "{}\nspread_bps = {}\nfunding_mode = {}\ncredit_limits = {}\nnet_debit_caps = "
            "{}\nshort_position_limits = {}\naggregate_cap = {{ amount = {}, currency = {} }}\n",
            quote(p.id), quote(p.name), quote(p.sender_comp_id), quote(p.username),
            quote(p.password_hash), p.spread_bps, quote(funding_mode_name(p.funding_mode)),
            amounts(p.credit_limits), amounts(p.net_debit_caps), amounts(p.short_position_limits),
            quote(money::format_amount(p.aggregate_cap.amount, p.aggregate_cap.currency)),
            quote(p.aggregate_cap.currency.code_view()));
    }
    for (const CycleConfig& cycle : c.cycles) {
        out += fmt::format("\n[[cycles]]\ncurrency = {}\ncutoffs = {}\nholidays = {}\n",
                           quote(cycle.currency.code_view()),
                           list(cycle.cutoffs, detail::format_time_of_day),
                           list(cycle.holidays, [](const std::chrono::year_month_day& d) {
                               return fmt::format("{:04}-{:02}-{:02}", static_cast<int>(d.year()),
                                                  static_cast<unsigned>(d.month()),
                                                  static_cast<unsigned>(d.day()));
                           }));
    }
    for (const VenueConfig& v : c.venues) {
        out += fmt::format(
            "\n[[venues]]\nid = {}\nhost = {}\nport = {}\nsender_comp_id = {}\ntarget_comp_id = "
            "{}\nrate_stale_ms = {}\nheartbeat_s = {}\nreconnect_interval_s = {}\n",
            quote(v.id), quote(v.host), v.port, quote(v.sender_comp_id), quote(v.target_comp_id),
            v.rate_stale_ms.count(), v.heartbeat_s.count(), v.reconnect_interval_s.count());
        // An empty list would not load back; it can only come from a file without pairs,
        // where leaving the key out means the same (all pairs: none).
        if (!v.pairs.empty()) {
            out += fmt::format("pairs = {}\n", list(v.pairs, [](const money::CurrencyPair& p) {
                                   return p.to_string();
                               }));
        }
        tls(out, "venues.tls", v.tls, false);
    }
    for (const BankConfig& b : c.banks) {
        out += fmt::format(
            "\n[[banks]]\nid = {}\nhost = {}\nport = {}\nsender_comp_id = {}\ntarget_comp_id = "
            "{}\nheartbeat_s = {}\nreconnect_interval_s = {}\ncurrencies = {}\n",
            quote(b.id), quote(b.host), b.port, quote(b.sender_comp_id), quote(b.target_comp_id),
            b.heartbeat_s.count(), b.reconnect_interval_s.count(),
            list(b.currencies, [](const money::Currency& cur) { return cur.to_string(); }));
        tls(out, "banks.tls", b.tls, false);
    }
    return out;
}

}  // namespace fxsettle::config
