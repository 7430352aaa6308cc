// fxsim-psp: PSPs driving fxsettle's FIX gateway (PspSim). See psp_sim.h and tools/README.md.
#include <spdlog/spdlog.h>

#include <iostream>
#include <set>

#include "tools/fxsim/cli_common.h"
#include "tools/fxsim/psp_sim.h"

using namespace fxsettle;
using namespace fxsettle::fxsim;

namespace {

// The PSP's currencies from its limits: those it is paid out in (CNY, or CNH offshore)
// and those it collects in (the others with a pair into the payout currency).
std::optional<PspIdentity> identity_of(const config::Config& cfg, const config::PspConfig& p) {
    std::set<money::Currency> all;
    for (const auto* m : {&p.credit_limits, &p.net_debit_caps, &p.short_position_limits}) {
        for (const auto& [c, a] : *m) {
            all.insert(c);
        }
    }
    PspIdentity id;
    id.psp_id = p.id;
    id.sender_comp_id = p.sender_comp_id;
    id.username = p.username;
    id.password = p.username + "-demo-password";
    auto cny = cfg.currency_table.find("CNY");
    auto cnh = cfg.currency_table.find("CNH");
    id.payout = (cnh && all.contains(*cnh) && !(cny && all.contains(*cny))) ? *cnh : *cny;
    for (const money::Currency& c : all) {
        if (c != id.payout && cfg.find_pair(money::CurrencyPair{c, id.payout}) != nullptr) {
            id.collect.push_back(c);
        }
    }
    if (id.collect.empty()) {
        return std::nullopt;
    }
    return id;
}

}  // namespace

int main(int argc, char** argv) {
    block_signals();
    CLI::App app{
        "fxsim-psp: simulated PSPs (FIX 4.4 initiators) sending orders, RFQs and "
        "payouts to fxsettle's gateway and counting the answers."};
    CommonCli common;
    add_common_options(app, common, "var/fxsim-psp.mdb");
    std::vector<std::string> psp_ids;
    std::string host;
    int port = -1;
    std::string password;
    PspOptions o;
    std::int64_t duration_s = 0;
    app.add_option("--psp", psp_ids, "the [[psps]] ids to play (repeat; default: all)");
    app.add_option("--host", host, "gateway host (default: the config's gateway address)");
    app.add_option("--port", port, "gateway port (default: the config's)");
    app.add_option("--password", password, "Logon password (default: <username>-demo-password)");
    app.add_option("--rate", o.rate_per_s, "messages per second over all PSPs")
        ->capture_default_str();
    app.add_option("--count", o.messages_max, "stop after this many requests (0: never)")
        ->capture_default_str();
    app.add_option("--duration-s", duration_s, "stop after this many seconds (0: never)");
    app.add_option("--possdup-permille", o.possdup_permille,
                   "requests sent again with PossDupFlag (0-1000)");
    app.add_option("--max-in-flight", o.max_in_flight,
                   "at most N requests sent and not answered yet (0: no limit)")
        ->capture_default_str();
    app.add_option("--disconnect-random", o.disconnect_random_max,
                   "log a PSP's session out after a random 1..N requests since its logon");
    app.add_option("--disconnects-max", o.disconnects_max,
                   "with --disconnect-random: this many logouts in all")
        ->capture_default_str();
    app.add_flag("--retry-unanswered", o.retry_unanswered,
                 "after each logon, send every unanswered request again with PossDupFlag");
    app.add_option("--mix-order", o.mix.order)->capture_default_str();
    app.add_option("--mix-cancel", o.mix.cancel)->capture_default_str();
    app.add_option("--mix-replace", o.mix.replace)->capture_default_str();
    app.add_option("--mix-rfq", o.mix.rfq)->capture_default_str();
    app.add_option("--mix-payout", o.mix.payout)->capture_default_str();
    app.add_option("--mix-outflow", o.mix.outflow)->capture_default_str();
    app.add_option("--mix-internal", o.mix.internal)->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    if (std::string error; !resolve_dictionary(common, &error)) {
        std::cerr << "fxsim-psp: " << error << "\n";
        return 1;
    }
    if (!set_log_level(common.log_level)) {
        std::cerr << "fxsim-psp: unknown --log-level '" << common.log_level << "'\n";
        return 2;
    }
    auto cfg = load_sim_config(common.config_path);
    if (!cfg) {
        std::cerr << "fxsim-psp: " << cfg.error().message() << "\n";
        return 2;
    }
    for (const auto& p : cfg->psps) {
        if (!psp_ids.empty() && std::find(psp_ids.begin(), psp_ids.end(), p.id) == psp_ids.end()) {
            continue;
        }
        auto id = identity_of(*cfg, p);
        if (!id) {
            std::cerr << "fxsim-psp: PSP '" << p.id << "' has no currency to collect in\n";
            return 2;
        }
        if (!password.empty()) {
            id->password = password;
        }
        o.psps.push_back(*id);
    }
    for (const auto& want : psp_ids) {
        if (cfg->find_psp(want) == nullptr) {
            std::cerr << "fxsim-psp: no PSP '" << want << "' in " << cfg->source_name << "\n";
            return 2;
        }
    }
    for (const auto& b : cfg->banks) {
        for (const auto& c : b.currencies) {
            o.banks.emplace(c.to_string(), b.id);
        }
    }
    auto quotes = pair_quotes(*cfg, {}, {});
    if (!quotes) {
        std::cerr << "fxsim-psp: " << quotes.error().message() << "\n";
        return 2;
    }
    o.pairs = *quotes;
    o.gateway_host = host.empty() ? cfg->gateway.listen.host : host;
    o.gateway_port = port >= 0 ? static_cast<std::uint16_t>(port) : cfg->gateway.listen.port;
    o.gateway_comp_id = cfg->gateway.sender_comp_id;
    o.dictionary_path = common.dictionary_path;
    o.store_path = common.store_path;
    o.log_dir = common.log_dir;
    o.seed = common.seed;
    std::string error;
    auto sim = PspSim::create(o, &error);
    if (!sim || !sim->start(&error)) {
        std::cerr << "fxsim-psp: " << error << "\n";
        return 1;
    }
    const auto started = std::chrono::steady_clock::now();
    auto done_at = std::chrono::steady_clock::time_point::max();
    const std::string why = wait_for_stop(
        [&] {
            const auto now = std::chrono::steady_clock::now();
            if (duration_s > 0 && now - started >= std::chrono::seconds{duration_s}) {
                return true;
            }
            // After the last request, a few seconds for the answers.
            if (sim->done() && done_at == std::chrono::steady_clock::time_point::max()) {
                done_at = now + std::chrono::seconds{3};
            }
            return now >= done_at;
        },
        [&] { spdlog::info("psp: {}", format_counts(sim->counts())); });
    spdlog::info("psp: {}: stopping", why.empty() ? "done" : why);
    sim->stop();
    spdlog::info("psp: {}", format_counts(sim->counts()));
    return 0;
}
