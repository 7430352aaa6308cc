// The demo's checks on the ledger after fxsettled stopped, the replay of its command log
// for the day's figures, and the printed report (demo.h, step 6).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <sstream>

#include "engine/core/codec.h"
#include "engine/core/engine.h"
#include "ledger/ledger.h"
#include "tools/demo/internal.h"
#include "tools/fxsim/sim_common.h"

namespace fxsettle::demo {

namespace {

std::string shell_word(const std::string& s) {
    if (s.find_first_of(" '\"$\\") == std::string::npos)
        return s;
    std::string out = "'";
    for (char c : s)
        out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

// Runs a command; its exit code and combined output.
std::pair<int, std::string> run_command(const std::string& command) {
    FILE* p = ::popen((command + " 2>&1").c_str(), "r");
    if (p == nullptr)
        return {-1, "cannot run " + command};
    std::string out;
    char buf[4096];
    while (std::size_t n = std::fread(buf, 1, sizeof buf, p))
        out.append(buf, n);
    const int st = ::pclose(p);
    return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

std::string last_line(const std::string& text) {
    std::string t = text;
    while (!t.empty() && t.back() == '\n')
        t.pop_back();
    const auto nl = t.rfind('\n');
    return nl == std::string::npos ? t : t.substr(nl + 1);
}

std::string ppm_percent(const money::Amount& part, const money::Amount& whole) {
    if (!whole.is_positive())
        return "-";
    // Percent with one decimal, in integers: part * 1000 / whole.
    const auto permille = (part.minor() * 1000) / whole.minor();
    const auto v = static_cast<long long>(permille);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%lld.%lld%%", v / 10, v % 10);
    return buf;
}

// Counts the replayed events into the report.
class Tally {
  public:
    Tally(const config::Config& config, const engine::Chart& chart, DemoReport& report)
        : config_(config), chart_(chart), r_(report) {}

    void count(const engine::Event& event) {
        if (std::holds_alternative<engine::DepositCredited>(event)) {
            ++r_.deposits.accepted;
        } else if (const auto* e = std::get_if<engine::CommandRejected>(&event)) {
            if (e->request == engine::RequestKind::kDeposit)
                ++r_.deposits.rejected;
        } else if (std::holds_alternative<engine::OrderAccepted>(event)) {
            ++r_.orders.accepted;
        } else if (const auto* orj = std::get_if<engine::OrderRejected>(&event)) {
            if (orj->request == engine::RequestKind::kNewOrder) {
                ++r_.orders.rejected;
                reject(orj->reason, orj->text);
            }
        } else if (const auto* f = std::get_if<engine::OrderFilled>(&event)) {
            if (!f->maker) {
                PairDay& d = pair(f->pair);
                ++d.book_trades;
                d.book_base += f->quantity;
            }
        } else if (std::holds_alternative<engine::QuoteIssued>(event)) {
            ++r_.quotes.accepted;
        } else if (const auto* qr = std::get_if<engine::QuoteRejected>(&event)) {
            ++r_.quotes.rejected;
            reject(qr->reason, qr->text);
        } else if (const auto* pa = std::get_if<engine::PayoutAccepted>(&event)) {
            ++r_.payouts.accepted;
            if (pa->client_id.find("-INT-") != std::string::npos)
                ++r_.internal_payouts;
            else if (pa->rate_locked)
                ++r_.locked_payouts;
            else if (pa->rate)
                ++r_.cycle_rate_payouts;
        } else if (const auto* pr = std::get_if<engine::PayoutRejected>(&event)) {
            ++r_.payouts.rejected;
            reject(pr->reason, pr->text);
        } else if (const auto* h = std::get_if<engine::HedgeOrder>(&event)) {
            PairDay& d = pair(config_.pairs[h->pair].pair);
            ++d.hedge_orders;
            d.hedged_base += h->base_amount;
        } else if (const auto* hf = std::get_if<engine::HedgeFilled>(&event)) {
            ++r_.hedge_fills;
            PairDay& d = pair(config_.pairs[hf->pair].pair);
            d.filled_base += hf->base_amount;
            d.hedge_cost += hf->cost_against_mid;
        } else if (std::holds_alternative<engine::HoldBack>(event)) {
            ++r_.hold_backs;
        } else if (std::holds_alternative<engine::SettlementObligation>(event)) {
            ++r_.obligations;
        } else if (const auto* o = std::get_if<engine::PaymentOrder>(&event)) {
            ++r_.payment_orders;
            r_.payment_lines += o->lines.size();
        } else if (std::holds_alternative<engine::PayoutSettled>(event)) {
            ++r_.payouts_settled;
        } else if (std::holds_alternative<engine::PayoutFailed>(event)) {
            ++r_.payouts_failed;
        } else if (const auto* c = std::get_if<engine::CycleReport>(&event)) {
            ++r_.cycles;
            for (const auto& fig : c->currencies) {
                CurrencyDay& d = currency(chart_.currency(fig.currency));
                ++d.cycles;
                d.gross += fig.gross;
                d.net += fig.net;
                d.payments_before += fig.payments_before;
                d.payments_after += fig.payments_after;
                d.held_back += fig.held_back;
                d.failed += fig.failed;
            }
            for (const auto& fig : c->pairs) {
                PairDay& d = pair(config_.pairs[fig.pair].pair);
                d.bought_base += fig.bought_base;
                d.sold_base += fig.sold_base;
                d.crossed_base += fig.crossed_base;
            }
        }
    }

    void finish() {
        for (auto& [code, d] : currencies_)
            r_.by_currency.push_back(d);
        for (const auto& p : config_.pairs) {
            auto it = pairs_.find(p.pair.to_string());
            if (it != pairs_.end())
                r_.by_pair.push_back(it->second);
        }
    }

  private:
    void reject(engine::Reason reason, const std::string& text) {
        auto& [n, first] = r_.reject_reasons[std::string(engine::reason_name(reason))];
        if (n++ == 0)
            first = text;
    }
    CurrencyDay& currency(const money::Currency& c) {
        auto [it, added] = currencies_.try_emplace(c.to_string());
        if (added)
            it->second.currency = c;
        return it->second;
    }
    PairDay& pair(const money::CurrencyPair& p) {
        auto [it, added] = pairs_.try_emplace(p.to_string());
        if (added)
            it->second.pair = p;
        return it->second;
    }

    const config::Config& config_;
    const engine::Chart& chart_;
    DemoReport& r_;
    std::map<std::string, CurrencyDay> currencies_;
    std::map<std::string, PairDay> pairs_;
};

// Replays every "cmdlog/" row of the ledger through a fresh engine (as recover() does)
// and tallies the events it emits: the same events fxsettled emitted, since the engine is
// deterministic given its commands and their times.
Status replay(const config::Config& config, ledger::ReadView& view, DemoReport& report) {
    auto engine = engine::Engine::create(config);
    if (!engine)
        return engine.error();
    Tally tally(config, engine->chart(), report);
    std::string from = "cmdlog/";
    engine::BatchOutput<engine::Event> out;
    while (true) {
        auto rows = view.aux_scan(ledger::AuxTable::kState, from, 256);
        if (!rows)
            return rows.error();
        bool more = false;
        for (const auto& [key, value] : *rows) {
            if (key.rfind("cmdlog/", 0) != 0)
                break;
            if (key == from)
                continue;
            auto batch = engine::codec::decode_batch(value);
            if (!batch)
                return Status(StatusCode::kCorruption, key + ": " + batch.error().message());
            out.clear();
            if (Status s = engine->apply(batch->commands, batch->now, out); !s)
                return Status(s.code(), "replaying " + key + ": " + s.message());
            ++report.batches;
            report.commands += batch->commands.size();
            for (const auto& e : out.events)
                tally.count(e);
            from = key;
            more = true;
        }
        if (!more)
            break;
    }
    tally.finish();
    return Status::ok();
}

}  // namespace

bool MetricsScraper::scrape() {
    const auto colon = host_port_.rfind(':');
    if (colon == std::string::npos)
        return false;
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    timeval tv{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<std::uint16_t>(std::stoi(host_port_.substr(colon + 1))));
    ::inet_pton(AF_INET, host_port_.substr(0, colon).c_str(), &a.sin_addr);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return false;
    }
    const std::string req = "GET /metrics HTTP/1.0\r\nHost: " + host_port_ + "\r\n\r\n";
    if (::send(fd, req.data(), req.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(req.size())) {
        ::close(fd);
        return false;
    }
    std::string resp;
    char buf[16384];
    while (true) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0)
            break;
        resp.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    const auto body = resp.find("\r\n\r\n");
    if (resp.rfind("HTTP/1.", 0) != 0 || resp.find(" 200 ") == std::string::npos ||
        body == std::string::npos)
        return false;
    text_ = resp.substr(body + 4);
    return true;
}

double MetricsScraper::sum(const std::string& name) const {
    double total = 0;
    std::istringstream in(text_);
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind(name, 0) != 0)
            continue;
        const char next = line.size() > name.size() ? line[name.size()] : '\0';
        if (next != ' ' && next != '{')
            continue;
        const auto sp = line.rfind(' ');
        if (sp == std::string::npos)
            continue;
        try {
            total += std::stod(line.substr(sp + 1));
        } catch (...) {
        }
    }
    return total;
}

bool DemoReport::ok() const {
    return std::all_of(checks.begin(), checks.end(), [](const CheckResult& c) { return c.ok; });
}

Status check_ledger(const config::Config& config, const DemoOptions& options, DemoReport& report) {
    ledger::OpenOptions open;
    open.path = report.ledger_path;
    open.create_if_missing = false;
    open.read_only = true;
    open.map_size_max_bytes = config.ledger.map_size_max_mb << 20;
    auto ledger = ledger::Ledger::open(open);
    if (!ledger)
        return Status(ledger.error().code(), "cannot open the ledger " +
                                                 report.ledger_path.string() + ": " +
                                                 ledger.error().message());
    auto view = (*ledger)->read();
    if (!view)
        return view.error();
    auto info = (*view)->info();
    if (!info)
        return info.error();
    report.entries = info->last_sequence;
    report.accounts = info->accounts;

    auto trial = (*view)->trial_balance();
    if (!trial)
        return trial.error();
    bool zero = true;
    for (const auto& row : *trial) {
        const bool balanced =
            row.debits_posted == row.credits_posted && row.debits_pending == row.credits_pending;
        zero = zero && balanced;
        char line[200];
        std::snprintf(line, sizeof line, "%-4s %26s %26s  %s", row.currency.to_string().c_str(),
                      money::format_amount(row.debits_posted, row.currency).c_str(),
                      money::format_amount(row.credits_posted, row.currency).c_str(),
                      balanced ? "0" : "NOT ZERO");
        report.trial_balance.push_back(line);
    }
    report.checks.push_back({"trial balance zero in every currency", zero && !trial->empty(),
                             std::to_string(trial->size()) + " currencies"});

    auto verified = (*view)->verify();
    if (!verified)
        return verified.error();
    report.checks.push_back(
        {"ledger verify (hash chain, per-currency balance of every entry)", verified->ok,
         verified->ok ? std::to_string(verified->entries_checked) + " entries, " +
                            std::to_string(verified->accounts_checked) + " accounts"
                      : verified->failure});

    auto outbox = (*view)->aux_scan(ledger::AuxTable::kOutbox, "o/", 1'000'000);
    if (!outbox)
        return outbox.error();
    report.checks.push_back({"outbox drained (every message delivered and acknowledged)",
                             outbox->empty(), std::to_string(outbox->size()) + " rows left"});

    if (Status s = replay(config, **view, report); !s) {
        report.checks.push_back({"command log replays", false, s.message()});
    } else {
        report.checks.push_back({"command log replays through a fresh engine", true,
                                 std::to_string(report.batches) + " batches, " +
                                     std::to_string(report.commands) + " commands"});
    }
    report.checks.push_back(
        {"every accepted payout settled or failed",
         report.payouts.accepted == report.payouts_settled + report.payouts_failed,
         std::to_string(report.payouts_settled) + " settled + " +
             std::to_string(report.payouts_failed) + " failed of " +
             std::to_string(report.payouts.accepted)});
    view->reset();
    ledger->reset();

    const std::string fxl =
        shell_word(options.fxledger.string()) + " --ledger " + shell_word(report.ledger_path);
    {
        const auto [code, out] = run_command(fxl + " verify");
        // "Result: OK" and "entries_checked: N" of its report, or its last line.
        std::string detail;
        std::istringstream lines(out);
        std::string line;
        while (std::getline(lines, line)) {
            if (line.rfind("Result:", 0) == 0 || line.rfind("entries_checked:", 0) == 0 ||
                line.rfind("failure:", 0) == 0) {
                std::string compact;
                for (std::size_t i = 0; i < line.size(); ++i)
                    if (line[i] != ' ' || (i > 0 && line[i - 1] != ' ' && line[i - 1] != ':'))
                        compact += line[i];
                detail += (detail.empty() ? "" : ", ") + compact;
            }
        }
        report.checks.push_back(
            {"fxledger verify", code == 0,
             "exit " + std::to_string(code) + ": " + (detail.empty() ? last_line(out) : detail)});
    }
    // Every statement with an entry, against its bank's nostro.
    std::vector<std::filesystem::path> files;
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(report.statement_dir, ec))
        files.push_back(e.path());
    std::sort(files.begin(), files.end());
    std::size_t reconciled = 0, tried = 0;
    std::string failures;
    for (const auto& file : files) {
        // <BANK CompID>-<CCY>.camt053.xml
        const std::string name = file.filename().string();
        const auto dash = name.rfind('-', name.find('.'));
        if (dash == std::string::npos)
            continue;
        const std::string comp = name.substr(0, dash);
        const std::string ccy = name.substr(dash + 1, name.find('.') - dash - 1);
        std::string bank;
        for (const auto& b : config.banks)
            if (b.target_comp_id == comp)
                bank = b.id;
        if (bank.empty())
            continue;
        ++tried;
        const std::string account = bank + "/nostro/" + ccy;
        const auto [code, out] = run_command(fxl + " reconcile --account " + account +
                                             " --statement " + shell_word(file.string()));
        const bool ok = code == 0 && out.find("RECONCILED") != std::string::npos;
        reconciled += ok ? 1 : 0;
        if (!ok)
            failures += " " + account + " (exit " + std::to_string(code) + ")";
        report.reconciled.push_back(
            account + " vs " + name + ": " +
            (ok ? "RECONCILED" : "DIFFERENCES (exit " + std::to_string(code) + ")"));
    }
    report.checks.push_back({"fxledger reconcile of every camt.053 against its nostro",
                             tried > 0 && reconciled == tried,
                             std::to_string(reconciled) + " of " + std::to_string(tried) +
                                 " statements reconciled" + failures});
    return Status::ok();
}

void print_report(const DemoReport& r, const DemoOptions& options, std::ostream& out) {
    char buf[512];
    out << "\n== fxsettle demo: one settlement day over FIX ==\n";
    out << "fxsettled (separate process) on an engine clock from " << r.clock_start << " at x"
        << r.clock_rate << " real time, stopped at " << r.clock_end << "; " << r.psps << " PSPs, "
        << r.currencies << " settlement currencies, " << r.pairs
        << " pairs, 2 venues, 2 banks (simulators on loopback FIX)\n\n";

    out << "PSP requests sent: " << r.sent << " of " << r.requested
        << " (orders, cancels, replaces, RFQs, payouts; intake closed at " << r.intake_closed
        << ")\n";
    std::snprintf(buf, sizeof buf, "  %-26s %10s %10s\n", "", "accepted", "rejected");
    out << buf;
    auto row = [&](const char* what, const Outcomes& o) {
        std::snprintf(buf, sizeof buf, "  %-26s %10llu %10llu\n", what,
                      static_cast<unsigned long long>(o.accepted),
                      static_cast<unsigned long long>(o.rejected));
        out << buf;
    };
    row("deposits (bank U6)", r.deposits);
    row("FX orders", r.orders);
    row("RFQs (quotes)", r.quotes);
    row("payout instructions", r.payouts);
    out << "  payouts accepted: " << r.locked_payouts << " at a quoted rate, "
        << r.cycle_rate_payouts << " at the cycle's rate, " << r.internal_payouts
        << " to another PSP; settled " << r.payouts_settled << ", failed " << r.payouts_failed
        << " (bank rejected the line, refunded)\n";
    if (!r.reject_reasons.empty()) {
        out << "  rejections by reason (orders, RFQs, payouts; the first one's text):\n";
        for (const auto& [reason, v] : r.reject_reasons)
            out << "    " << reason << ": " << v.first << " (" << v.second << ")\n";
    }
    out << "\n";

    out << "Settlement: " << r.cycles << " cut-offs; " << r.obligations
        << " obligations reported to the PSPs; " << r.hold_backs << " held back\n";
    std::snprintf(buf, sizeof buf, "  %-4s %6s %24s %22s %8s %17s\n", "ccy", "cycles", "gross",
                  "net", "saving", "payments bef/aft");
    out << buf;
    std::uint64_t before = 0, after = 0;
    for (const auto& d : r.by_currency) {
        if (d.gross.is_zero())
            continue;
        before += d.payments_before;
        after += d.payments_after;
        std::snprintf(buf, sizeof buf, "  %-4s %6u %24s %22s %8s %8llu/%-8llu\n",
                      d.currency.to_string().c_str(), d.cycles,
                      money::format_amount(d.gross, d.currency).c_str(),
                      money::format_amount(d.net, d.currency).c_str(),
                      ppm_percent(d.gross - d.net, d.gross).c_str(),
                      static_cast<unsigned long long>(d.payments_before),
                      static_cast<unsigned long long>(d.payments_after));
        out << buf;
    }
    out << "  payments: " << before << " before netting, " << after << " after\n\n";

    out << "FX per pair (base amounts): PSP orders matched in the book, conversions at the\n"
           "cut-offs crossed between PSPs, the residual hedged at the venues\n";
    std::snprintf(buf, sizeof buf, "  %-8s %7s %16s %16s %16s %9s %7s %16s\n", "pair", "trades",
                  "book traded", "cut-off conv.", "crossed", "internal", "hedges", "hedge cost");
    out << buf;
    // Internal share per quote currency (CNY, CNH), valued at the simulators' start mids:
    // FX volume = both sides of every book trade + every conversion; internal = both
    // sides of book trades and of crossed conversions.
    std::map<std::string, std::pair<money::Amount, money::Amount>> by_quote;  // internal, all
    std::size_t crossing_pairs = 0;
    for (const auto& p : r.by_pair) {
        const money::Amount volume = p.book_base + p.book_base + p.bought_base + p.sold_base;
        const money::Amount internal = p.book_base + p.book_base + p.crossed_base + p.crossed_base;
        if (internal.is_positive())
            ++crossing_pairs;
        std::snprintf(
            buf, sizeof buf, "  %-8s %7llu %16s %16s %16s %9s %7llu %16s\n",
            p.pair.to_string().c_str(), static_cast<unsigned long long>(p.book_trades),
            money::format_amount(p.book_base, p.pair.base).c_str(),
            money::format_amount(p.bought_base + p.sold_base, p.pair.base).c_str(),
            money::format_amount(p.crossed_base, p.pair.base).c_str(),
            ppm_percent(internal, volume).c_str(), static_cast<unsigned long long>(p.hedge_orders),
            (money::format_amount(p.hedge_cost, p.pair.quote) + " " + p.pair.quote.to_string())
                .c_str());
        out << buf;
        const auto mid_text = fxsim::default_mid_text(p.pair.to_string());
        if (!mid_text)
            continue;
        const auto mid = money::Rate::parse(p.pair, *mid_text);
        if (!mid)
            continue;
        const auto in_quote = [&](const money::Amount& a) {
            auto c = money::convert(money::Money{a, p.pair.base}, *mid);
            return c ? c->converted.amount : money::Amount{};
        };
        auto& [in, all] = by_quote[p.pair.quote.to_string()];
        in += in_quote(internal);
        all += in_quote(volume);
    }
    out << "  internal cross ratio (FX volume matched between PSPs, valued at mid):";
    for (const auto& [code, v] : by_quote)
        out << " " << code << " pairs " << ppm_percent(v.first, v.second);
    out << "; " << crossing_pairs << " of " << r.by_pair.size() << " pairs crossed internally; "
        << r.hedge_fills << " hedge fills (cost = |fill price - mid| x quantity)\n\n";

    out << "Banks: " << r.payment_orders << " payment orders (" << r.payment_lines
        << " lines) sent; the bank simulators took " << r.bank_orders << " orders, confirmed "
        << r.bank_lines_confirmed << " lines, rejected " << r.bank_lines_rejected << "\n";
    out << "PSPs heard: " << r.u2_accepted << " payouts accepted, " << r.u2_settled << " settled, "
        << r.u2_failed << " failed; " << r.obligations_received << " obligation reports (U5)\n\n";

    out << "Trial balance (" << r.entries << " entries, " << r.accounts << " accounts):\n";
    std::snprintf(buf, sizeof buf, "  %-4s %26s %26s  %s\n", "ccy", "debits", "credits",
                  "difference");
    out << buf;
    for (const auto& line : r.trial_balance)
        out << "  " << line << "\n";
    out << "\nStatements reconciled (fxledger reconcile):\n";
    for (const auto& line : r.reconciled)
        out << "  " << line << "\n";
    out << "\nChecks:\n";
    for (const auto& c : r.checks)
        out << "  [" << (c.ok ? "ok" : "FAILED") << "] " << c.name << ": " << c.detail << "\n";

    const std::string fxl =
        shell_word(options.fxledger.string()) + " --ledger " + shell_word(r.ledger_path);
    out << "\nFiles: " << r.dir.string() << "\n"
        << "  ledger      " << r.ledger_path.string() << "\n"
        << "  config      " << r.config_path.string() << "\n"
        << "  daemon log  " << r.log_path.string() << "\n"
        << "  metrics     " << r.metrics_url << " during the run; last scrape in "
        << r.metrics_path.string() << "\n"
        << "  statements  " << r.statement_dir.string() << "/ (camt.053 per bank and currency)\n";
    out << "\nTry next (fxledger opens the ledger read-only):\n"
        << "  " << fxl << " trial-balance\n"
        << "  " << fxl << " balance bank-cn/nostro/CNY\n"
        << "  " << fxl << " statement bank-cn/nostro/CNY\n"
        << "  " << fxl << " entries --from " << r.clock_start.substr(0, 10) << "T03:00:00Z | head\n"
        << "  " << fxl << " export --format hledger --output day.journal\n"
        << "  " << fxl << " reconcile --account bank-cn/nostro/CNY --statement "
        << shell_word((r.statement_dir / "BANKCN-CNY.camt053.xml").string()) << "\n";
    std::snprintf(buf, sizeof buf, "%.1f", static_cast<double>(r.elapsed.count()) / 1000.0);
    out << "\nRun time " << buf
        << " s. Result: " << (r.ok() ? "every check passed" : "SOME CHECKS FAILED") << "\n";
}

}  // namespace fxsettle::demo
