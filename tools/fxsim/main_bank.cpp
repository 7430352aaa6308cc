// fxsim-bank: a settlement bank on loopback (BankSim). See bank_sim.h and tools/README.md.
#include <spdlog/spdlog.h>

#include <iostream>

#include "tools/fxsim/bank_sim.h"
#include "tools/fxsim/cli_common.h"

using namespace fxsettle;
using namespace fxsettle::fxsim;

int main(int argc, char** argv) {
    block_signals();
    CLI::App app{
        "fxsim-bank: a simulated settlement bank (FIX 4.4 acceptor) that confirms "
        "payment orders, sends deposit notices and writes camt.053 statements. "
        "SIGUSR1 writes the statements now."};
    CommonCli common;
    add_common_options(app, common, "var/fxsim-bank.mdb");
    std::string bank_id = "bank-cn";
    int port = -1;
    BankOptions o;
    std::int64_t delay_ms = 200;
    std::int64_t jitter_ms = 0;
    std::int64_t hold_s = 0;
    std::vector<std::string> deposits;
    std::vector<std::string> codes;
    o.statement_dir = "var/statements";
    app.add_option("--bank", bank_id, "the [[banks]] id in the config (port, CompIDs, currencies)")
        ->capture_default_str();
    app.add_option("--port", port, "listen on this port instead of the config's");
    app.add_option("--reject-permille", o.reject_permille, "payment lines rejected (0-1000)");
    app.add_option("--reject-code", codes, "ISO 20022 reason codes to reject with (repeat)");
    app.add_option("--delay-ms", delay_ms, "delay before a confirmation")->capture_default_str();
    app.add_option("--jitter-ms", jitter_ms,
                   "a random 0..N ms more before each confirmation (with --per-line the "
                   "lines' answers arrive out of order)");
    app.add_option("--hold-s", hold_s,
                   "hold every answer for the first N seconds, then send them all (a bank "
                   "confirming late)");
    app.add_flag("--per-line", o.confirm_per_line, "one PaymentConfirmation per line");
    app.add_option("--deposit", deposits,
                   "send a deposit notice after the first logon: PSP:CCY:AMOUNT (repeat)");
    app.add_option("--statement-dir", o.statement_dir, "where camt.053 files go on exit")
        ->capture_default_str();
    CLI11_PARSE(app, argc, argv);
    if (std::string error; !resolve_dictionary(common, &error)) {
        std::cerr << "fxsim-bank: " << error << "\n";
        return 1;
    }
    if (!set_log_level(common.log_level)) {
        std::cerr << "fxsim-bank: unknown --log-level '" << common.log_level << "'\n";
        return 2;
    }
    auto cfg = load_sim_config(common.config_path);
    if (!cfg) {
        std::cerr << "fxsim-bank: " << cfg.error().message() << "\n";
        return 2;
    }
    const config::BankConfig* b = cfg->find_bank(bank_id);
    if (b == nullptr) {
        std::cerr << "fxsim-bank: no bank '" << bank_id << "' in " << cfg->source_name << "\n";
        return 2;
    }
    // Deposits are checked before anything starts: a bad one is named, nothing is sent.
    std::vector<std::pair<std::string, money::Money>> parsed;
    for (const std::string& d : deposits) {
        const auto a = d.find(':');
        const auto c = a == std::string::npos ? a : d.find(':', a + 1);
        if (c == std::string::npos) {
            std::cerr << "fxsim-bank: --deposit '" << d << "' is not PSP:CCY:AMOUNT\n";
            return 2;
        }
        auto m =
            money::parse_money(d.substr(c + 1), d.substr(a + 1, c - a - 1), cfg->currency_table);
        if (!m) {
            std::cerr << "fxsim-bank: --deposit '" << d << "': " << m.error().message() << "\n";
            return 2;
        }
        parsed.emplace_back(d.substr(0, a), *m);
    }
    o.bank_id = b->id;
    o.bank_comp_id = b->target_comp_id;
    o.client_comp_ids = {b->sender_comp_id};
    o.listen_port = port >= 0 ? static_cast<std::uint16_t>(port) : b->port;
    o.dictionary_path = common.dictionary_path;
    o.store_path = common.store_path;
    o.log_dir = common.log_dir;
    o.currencies = b->currencies;
    for (const auto& [flag, value] :
         {std::pair{"--delay-ms", delay_ms}, std::pair{"--jitter-ms", jitter_ms},
          std::pair{"--hold-s", hold_s}}) {
        if (value < 0) {
            std::cerr << "fxsim-bank: " << flag << " " << value << " is negative\n";
            return 2;
        }
    }
    o.confirm_delay = std::chrono::milliseconds{delay_ms};
    o.confirm_jitter = std::chrono::milliseconds{jitter_ms};
    o.seed = common.seed;
    if (!codes.empty()) {
        o.reject_codes = codes;
    }
    std::string error;
    auto sim = BankSim::create(o, &error);
    if (!sim || !sim->start(&error)) {
        std::cerr << "fxsim-bank: " << error << "\n";
        return 1;
    }
    bool deposited = parsed.empty();
    const auto started = std::chrono::steady_clock::now();
    bool holding = hold_s > 0;
    if (holding) {
        sim->hold_answers(true);
        spdlog::warn("bank: answers held for {} s", hold_s);
    }
    const std::string why = wait_for_stop(
        [&] {
            if (holding &&
                std::chrono::steady_clock::now() - started >= std::chrono::seconds{hold_s}) {
                holding = false;
                spdlog::warn("bank: sending the {} answer(s) held", sim->answers_held());
                sim->hold_answers(false);
            }
            if (!deposited && !sim->sessions_up().empty()) {
                deposited = true;
                for (const auto& [psp, m] : parsed) {
                    auto ref = sim->send_deposit(psp, m);
                    if (!ref) {
                        spdlog::error("bank: deposit for {}: {}", psp, ref.error().message());
                    }
                }
            }
            return false;
        },
        [&] {
            auto w = sim->write_statements(o.statement_dir);
            if (!w) {
                spdlog::error("bank: {}", w.error().message());
            } else {
                spdlog::info("bank: SIGUSR1: {} statement(s) in {}", w->size(), o.statement_dir);
            }
        });
    spdlog::info("bank: {}: stopping", why);
    sim->stop_and_write();
    const auto f = sim->figures();
    spdlog::info(
        "bank: orders {} repeats {} lines confirmed {} rejected {} refused orders {} "
        "deposits {}",
        f.orders, f.repeats, f.lines_confirmed, f.lines_rejected, f.orders_refused, f.deposits);
    return 0;
}
