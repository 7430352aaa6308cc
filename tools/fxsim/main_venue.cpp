// fxsim-venue: an FX venue on loopback (VenueSim). See venue_sim.h and tools/README.md.
#include <spdlog/spdlog.h>

#include <atomic>
#include <iostream>

#include "tools/fxsim/cli_common.h"
#include "tools/fxsim/venue_sim.h"

using namespace fxsettle;
using namespace fxsettle::fxsim;

int main(int argc, char** argv) {
    block_signals();
    CLI::App app{
        "fxsim-venue: a simulated FX venue (FIX 4.4 acceptor) that streams rates and "
        "fills hedge orders, with faults on demand. SIGUSR1 toggles silence."};
    CommonCli common;
    add_common_options(app, common, "var/fxsim-venue.mdb");
    std::string venue_id = "venue-a";
    int port = -1;
    std::vector<std::string> pairs;
    std::map<std::string, std::string> mids;
    VenueOptions o;
    std::int64_t delay_ms = 0;
    std::int64_t interval_ms = 250;
    app.add_option("--venue", venue_id,
                   "the [[venues]] id in the config (its port, CompIDs, pairs)")
        ->capture_default_str();
    app.add_option("--port", port, "listen on this port instead of the config's");
    app.add_option("--pair", pairs, "quote only these pairs (repeat)");
    app.add_option("--mid", mids, "starting mid, e.g. --mid USD/CNY=7.1 (repeat)");
    app.add_option("--depth", o.depth, "levels per side")->capture_default_str();
    app.add_option("--spread-ticks", o.half_spread_ticks, "best bid/ask distance from the mid")
        ->capture_default_str();
    app.add_option("--level-size", o.level_size_major, "best level's size, base major units")
        ->capture_default_str();
    app.add_option("--interval-ms", interval_ms, "market data update interval")
        ->capture_default_str();
    app.add_option("--reject-permille", o.faults.reject_permille, "orders rejected (0-1000)");
    app.add_option("--partial-permille", o.faults.partial_fill_permille,
                   "fills sent in two parts (0-1000)");
    app.add_option("--delay-ms", delay_ms, "delay before every order answer");
    app.add_option("--disconnect-after", o.faults.disconnect_after_messages,
                   "log a session out at its N-th message (its answer dropped)");
    app.add_option("--disconnect-random", o.faults.disconnect_random_max,
                   "log a session out at a random message in 1..N");
    app.add_flag("--silent", o.faults.silent, "send no market data (stale rates)");
    app.add_option("--short-fill-permille", o.faults.short_fill_permille,
                   "of what an order could take, this share is left unfilled and the rest "
                   "cancelled (0-1000)");
    app.add_flag("--unanswered", o.faults.orders_unanswered,
                 "book orders and status requests but never answer them (venue silence)");
    CLI11_PARSE(app, argc, argv);
    if (std::string error; !resolve_dictionary(common, &error)) {
        std::cerr << "fxsim-venue: " << error << "\n";
        return 1;
    }
    if (!set_log_level(common.log_level)) {
        std::cerr << "fxsim-venue: unknown --log-level '" << common.log_level << "'\n";
        return 2;
    }
    auto cfg = load_sim_config(common.config_path);
    if (!cfg) {
        std::cerr << "fxsim-venue: " << cfg.error().message() << "\n";
        return 2;
    }
    const config::VenueConfig* v = cfg->find_venue(venue_id);
    if (v == nullptr) {
        std::cerr << "fxsim-venue: no venue '" << venue_id << "' in " << cfg->source_name << "\n";
        return 2;
    }
    if (pairs.empty()) {
        for (const auto& p : v->pairs) {
            pairs.push_back(p.to_string());
        }
    }
    auto quotes = pair_quotes(*cfg, pairs, mids);
    if (!quotes) {
        std::cerr << "fxsim-venue: " << quotes.error().message() << "\n";
        return 2;
    }
    o.venue_comp_id = v->target_comp_id;
    o.client_comp_ids = {v->sender_comp_id};
    o.listen_port = port >= 0 ? static_cast<std::uint16_t>(port) : v->port;
    o.dictionary_path = common.dictionary_path;
    o.store_path = common.store_path;
    o.log_dir = common.log_dir;
    o.pairs = *quotes;
    o.seed = common.seed;
    o.stream_interval = std::chrono::milliseconds{interval_ms};
    o.faults.answer_delay = std::chrono::milliseconds{delay_ms};
    std::string error;
    auto sim = VenueSim::create(o, &error);
    if (!sim || !sim->start(&error)) {
        std::cerr << "fxsim-venue: " << error << "\n";
        return 1;
    }
    const std::string why = wait_for_stop(nullptr, [&] {
        VenueFaults f = sim->faults();
        f.silent = !f.silent;
        sim->set_faults(f);
        spdlog::warn("venue: SIGUSR1: market data {}", f.silent ? "silenced" : "resumed");
    });
    spdlog::info("venue: {}: stopping", why);
    sim->stop();
    const auto f = sim->figures();
    spdlog::info(
        "venue: orders {} filled {} partial {} cancelled {} rejected {} status {} snapshots {} "
        "increments {} disconnects {}",
        f.orders, f.filled, f.partially_filled, f.cancelled, f.rejected, f.status_requests,
        f.snapshots, f.increments, f.disconnects);
    return 0;
}
