#include "tools/fxsim/bank_sim.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>

namespace fxsettle::fxsim {

namespace {

// The payment order's number as the engine's ledger references write it ("payment order
// 12 line 0 confirmed"): the wire PaymentOrderID is "PO-<number>" (adapters/convert), so
// the EndToEndId of the camt.053 matches the nostro entry fxledger reconciles against.
std::string ledger_order_number(const std::string& payment_order_id) {
    constexpr std::string_view kPrefix = "PO-";
    if (payment_order_id.size() > kPrefix.size() &&
        payment_order_id.compare(0, kPrefix.size(), kPrefix) == 0) {
        return payment_order_id.substr(kPrefix.size());
    }
    return payment_order_id;
}

std::string xml_escape(std::string_view s) {
    std::string out;
    for (const char c : s) {
        switch (c) {
            case '&':
                out += "&amp;";
                break;
            case '<':
                out += "&lt;";
                break;
            case '>':
                out += "&gt;";
                break;
            case '"':
                out += "&quot;";
                break;
            default:
                out += c;
        }
    }
    return out;
}

std::string el(const std::string& name, const std::string& body) {
    return "<" + name + ">" + body + "</" + name + ">";
}

std::string amt(const money::Amount& a, const money::Currency& c) {
    const money::Amount abs = a.is_negative() ? -a : a;
    return "<Amt Ccy=\"" + c.to_string() + "\">" + money::format_amount(abs, c) + "</Amt>" +
           el("CdtDbtInd", a.is_negative() ? "DBIT" : "CRDT");
}

}  // namespace

// ---- BankBook --------------------------------------------------------------------------

BankBook::BankBook(std::string bank_comp_id, std::map<std::string, money::Amount> opening)
    : bank_comp_id_(std::move(bank_comp_id)), opening_(std::move(opening)) {}

void BankBook::book(Booking booking) {
    bookings_.push_back(std::move(booking));
}

money::Amount BankBook::opening(const money::Currency& currency) const {
    auto it = opening_.find(currency.to_string());
    return it == opening_.end() ? money::Amount{} : it->second;
}

money::Amount BankBook::closing(const money::Currency& currency) const {
    money::Amount sum = opening(currency);
    for (const Booking& b : bookings_) {
        if (b.currency == currency) {
            sum += b.amount;
        }
    }
    return sum;
}

std::vector<money::Currency> BankBook::currencies() const {
    std::set<money::Currency> set;
    for (const Booking& b : bookings_) {
        set.insert(b.currency);
    }
    return {set.begin(), set.end()};
}

std::string BankBook::account_id(const money::Currency& currency) const {
    return bank_comp_id_ + "-" + currency.to_string();
}

std::string BankBook::camt053(const money::Currency& currency,
                              std::chrono::system_clock::time_point created) const {
    std::vector<const Booking*> mine;
    for (const Booking& b : bookings_) {
        if (b.currency == currency) {
            mine.push_back(&b);
        }
    }
    std::chrono::year_month_day first = utc_today(created);
    std::chrono::year_month_day last = first;
    if (!mine.empty()) {
        first = last = mine.front()->booking_date;
        for (const Booking* b : mine) {
            first = std::min({first, b->booking_date, b->value_date});
            last = std::max({last, b->booking_date, b->value_date});
        }
    }
    const std::string stmt_id = account_id(currency) + "-" + fix_date(first) + "-" + fix_date(last);
    const auto bal = [&](const char* code, const money::Amount& a, std::chrono::year_month_day d) {
        return "\n      " + el("Bal", el("Tp", el("CdOrPrtry", el("Cd", code))) + amt(a, currency) +
                                          el("Dt", el("Dt", iso_date(d))));
    };
    std::string ntries;
    for (const Booking* b : mine) {
        ntries +=
            "\n      " +
            el("Ntry",
               el("NtryRef", xml_escape(b->bank_reference)) + amt(b->amount, currency) +
                   el("Sts", "BOOK") + el("BookgDt", el("Dt", iso_date(b->booking_date))) +
                   el("ValDt", el("Dt", iso_date(b->value_date))) +
                   el("AcctSvcrRef", xml_escape(b->bank_reference)) +
                   el("BkTxCd",
                      el("Prtry", el("Cd", b->amount.is_negative() ? "PMNT/ICDT" : "PMNT/RCDT"))) +
                   el("NtryDtls",
                      el("TxDtls",
                         el("Refs", el("AcctSvcrRef", xml_escape(b->bank_reference)) +
                                        el("EndToEndId", xml_escape(b->end_to_end_id))))) +
                   el("AddtlNtryInf", xml_escape(b->info)));
    }
    std::string stmt =
        el("Id", xml_escape(stmt_id)) + el("ElctrncSeqNb", "1") +
        el("CreDtTm", iso_datetime(created)) +
        el("Acct", el("Id", el("Othr", el("Id", xml_escape(account_id(currency))))) +
                       el("Ccy", currency.to_string()) +
                       el("Svcr", el("FinInstnId", el("Nm", xml_escape(bank_comp_id_))))) +
        bal("OPBD", opening(currency), first) + bal("CLBD", closing(currency), last) +
        el("TxsSummry", el("TtlNtries", el("NbOfNtries", std::to_string(mine.size())))) + ntries +
        "\n    ";
    return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
           "<Document xmlns=\"urn:iso:std:iso:20022:tech:xsd:camt.053.001.02\">\n  "
           "<BkToCstmrStmt>\n    " +
           el("GrpHdr", el("MsgId", xml_escape(stmt_id)) + el("CreDtTm", iso_datetime(created))) +
           "\n    " + el("Stmt", stmt) + "\n  </BkToCstmrStmt>\n</Document>\n";
}

// ---- BankSim ---------------------------------------------------------------------------

std::unique_ptr<BankSim> BankSim::create(BankOptions options, std::string* error) {
    auto bad = [&](const std::string& what) {
        *error = "bank simulator: " + what;
        return nullptr;
    };
    if (options.bank_comp_id.empty() || options.bank_id.empty()) {
        return bad("bank_comp_id and bank_id are required");
    }
    if (options.client_comp_ids.empty()) {
        return bad("no client CompID: nobody could log on");
    }
    if (options.currencies.empty()) {
        return bad("no currencies: the bank would keep no account");
    }
    if (options.reject_permille > 1000) {
        return bad("reject share " + std::to_string(options.reject_permille) +
                   " is above 1000 permille");
    }
    if (options.reject_permille > 0 && options.reject_codes.empty()) {
        return bad("rejecting lines needs at least one reject code");
    }
    for (const auto& [code, a] : options.opening_balances) {
        if (std::none_of(options.currencies.begin(), options.currencies.end(),
                         [&](const money::Currency& c) { return c.to_string() == code; })) {
            return bad("opening balance in " + code + ", which the bank does not keep");
        }
    }
    return std::unique_ptr<BankSim>(new BankSim(std::move(options)));
}

BankSim::BankSim(BankOptions options)
    : SimRuntime("bank " + options.bank_comp_id, std::chrono::milliseconds{1000}),
      options_(std::move(options)),
      rng_(options_.seed),
      book_(options_.bank_comp_id, options_.opening_balances) {}

BankSim::~BankSim() {
    stop();
}

bool BankSim::start(std::string* error) {
    adapters::HostOptions h;
    h.role = adapters::HostRole::kAcceptor;
    h.bind_address = options_.bind_address;
    h.listen_port = options_.listen_port;
    h.dictionary_path = options_.dictionary_path;
    h.store_path = options_.store_path;
    h.log_dir = options_.log_dir;
    for (const std::string& client : options_.client_comp_ids) {
        adapters::SessionSpec s;
        s.key = SessionKey{options_.bank_comp_id, client};
        h.sessions.push_back(s);
    }
    if (!start_runtime(std::move(h), error)) {
        return false;
    }
    std::string ccys;
    for (const auto& c : options_.currencies) {
        ccys += (ccys.empty() ? "" : ",") + c.to_string();
    }
    spdlog::info("{}: listening on {}:{}; accounts {}; rejects {} permille of lines", name(),
                 options_.bind_address, listen_port(), ccys, options_.reject_permille);
    return true;
}

void BankSim::stop_and_write() {
    stop();
    if (options_.statement_dir.empty()) {
        return;
    }
    auto written = write_statements(options_.statement_dir);
    if (!written) {
        spdlog::error("{}: {}", name(), written.error().message());
        return;
    }
    for (const auto& p : *written) {
        spdlog::info("{}: statement {}", name(), p.string());
    }
}

BankSim::Figures BankSim::figures() const {
    std::lock_guard lock(state_mu_);
    return figures_;
}

std::vector<Booking> BankSim::bookings() const {
    std::lock_guard lock(state_mu_);
    return book_.bookings();
}

std::string BankSim::camt053(const money::Currency& currency) const {
    std::lock_guard lock(state_mu_);
    return book_.camt053(currency, sim_now(options_.clock));
}

void BankSim::set_reject_permille(std::uint32_t permille) {
    std::lock_guard lock(state_mu_);
    options_.reject_permille = std::min<std::uint32_t>(permille, 1000);
}

Result<std::vector<std::filesystem::path>> BankSim::write_statements(
    const std::filesystem::path& dir) const {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    if (ec) {
        return fail(StatusCode::kIoError,
                    "cannot create statement directory " + dir.string() + ": " + ec.message());
    }
    std::lock_guard lock(state_mu_);
    std::vector<std::filesystem::path> out;
    const auto now = sim_now(options_.clock);
    for (const money::Currency& c : options_.currencies) {
        const auto p = dir / (options_.bank_comp_id + "-" + c.to_string() + ".camt053.xml");
        std::ofstream f(p, std::ios::binary | std::ios::trunc);
        f << book_.camt053(c, now);
        f.close();
        if (!f) {
            return fail(StatusCode::kIoError, "cannot write statement " + p.string());
        }
        out.push_back(p);
    }
    return out;
}

Result<std::string> BankSim::send_deposit(const std::string& psp_account,
                                          const money::Money& amount) {
    if (psp_account.empty()) {
        return fail(StatusCode::kInvalidArgument, "a deposit needs the PSP's account");
    }
    if (std::find(options_.currencies.begin(), options_.currencies.end(), amount.currency) ==
        options_.currencies.end()) {
        return fail(StatusCode::kInvalidArgument, "bank " + options_.bank_id + " keeps no " +
                                                      amount.currency.to_string() +
                                                      " account for fxsettle");
    }
    if (!amount.amount.is_positive()) {
        return fail(StatusCode::kInvalidArgument, "a deposit amount must be positive");
    }
    std::lock_guard lock(state_mu_);
    const auto now = sim_now(options_.clock);
    const auto today = utc_today(now);
    const std::string ref =
        options_.bank_comp_id + "-DEP-" + fix_date(today) + "-" + std::to_string(++next_ref_);
    WireMessage u6;
    u6.msg_type = "U6";
    u6.add(1, psp_account)
        .add(15, amount.currency.to_string())
        .add(64, fix_date(today))
        .add(60, fix_timestamp(now))
        .add(7600, ref)
        .add(7601, money::format_amount(amount.amount, amount.currency));
    book_.book(Booking{amount.currency, amount.amount, today, today,
                       "deposit " + options_.bank_id + "/" + ref, ref,
                       "deposit of " + psp_account});
    ++figures_.deposits;
    const SessionKey key{options_.bank_comp_id, options_.client_comp_ids.front()};
    // Hooks own the schedule; post() runs the send on the worker thread.
    post([this, key, u6](Clock::time_point) mutable { schedule_send(key, std::move(u6)); });
    spdlog::info("{}: deposit {} {} for {}", name(), ref, money::format_money(amount), psp_account);
    return ref;
}

void BankSim::on_app_message(const SessionKey& key, WireMessage&& m, Clock::time_point) {
    if (m.msg_type == "U3") {
        on_payment_order(key, m);
        return;
    }
    WireMessage j;
    j.msg_type = "j";
    j.add(372, m.msg_type).add(380, "3").add(58, "the bank simulator handles only U3");
    schedule_send(key, std::move(j));
}

void BankSim::on_payment_order(const SessionKey& key, const WireMessage& m) {
    const std::string id = m.find(7200) ? *m.find(7200) : "";
    auto seen = answers_.find(id);
    if (seen != answers_.end()) {
        ++figures_.repeats;
        spdlog::info("{}: payment order {} again{}: not booked twice, answering as before", name(),
                     id, m.poss_dup || m.poss_resend ? " (possible resend)" : "");
        for (const WireMessage& a : seen->second) {
            send_answer(key, a);
        }
        return;
    }
    if (answers_.size() >= kBankOrdersMax) {
        answers_.erase(answers_.begin());
    }
    ++figures_.orders;
    const auto now = sim_now(options_.clock);
    const auto today = utc_today(now);
    const std::string ccy_code = m.find(15) ? *m.find(15) : "";
    std::optional<money::Currency> ccy;
    for (const money::Currency& c : options_.currencies) {
        if (c.code_view() == ccy_code) {
            ccy = c;
        }
    }
    const auto value_date = parse_fix_date(m.find(64) ? *m.find(64) : "").value_or(today);
    const WireGroup* lines = m.find_group(7202);

    // The order-level checks: any failure rejects every line with its code.
    std::string refuse_code, refuse_text;
    std::vector<money::Amount> amounts;
    if (!ccy) {
        refuse_code = "AM03";
        refuse_text = "currency " + ccy_code + " is not kept at bank " + options_.bank_id;
    } else if (lines == nullptr || lines->entries.empty() ||
               lines->entries.size() > kBankLinesPerOrderMax) {
        refuse_code = "AM10";
        refuse_text =
            "a payment order needs 1 to " + std::to_string(kBankLinesPerOrderMax) + " lines";
    } else {
        money::Amount sum;
        for (const auto& entry : lines->entries) {
            const std::string* lc = adapters::find_in_entry(entry, 7205);
            const std::string* la = adapters::find_in_entry(entry, 7204);
            auto a = money::parse_amount(la ? *la : "", *ccy);
            if (lc == nullptr || *lc != ccy_code) {
                refuse_code = "AM03";
                refuse_text = "a line's currency differs from the order's " + ccy_code;
            } else if (!a || !a->is_positive()) {
                refuse_code = "AM01";
                refuse_text = "a line's amount is not a positive amount of " + ccy_code;
            }
            if (!refuse_code.empty()) {
                break;
            }
            amounts.push_back(*a);
            sum += *a;
        }
        auto total = money::parse_amount(m.find(7201) ? *m.find(7201) : "", *ccy);
        if (refuse_code.empty() && (!total || *total != sum)) {
            refuse_code = "AM10";
            refuse_text = "PaymentOrderTotalAmt " + (m.find(7201) ? *m.find(7201) : "") +
                          " is not the sum of the lines (" + money::format_amount(sum, *ccy) + ")";
        }
    }
    if (!refuse_code.empty()) {
        ++figures_.orders_refused;
        spdlog::warn("{}: payment order {} refused: {} {}", name(), id, refuse_code, refuse_text);
    }

    const std::string order_ref = options_.bank_comp_id + "-PO-" + id;
    std::vector<std::vector<WireField>> statuses;
    const std::size_t n = lines ? lines->entries.size() : 0;
    for (std::size_t i = 0; i < n; ++i) {
        const auto& entry = lines->entries[i];
        const std::string line_no = adapters::find_in_entry(entry, 7203)
                                        ? *adapters::find_in_entry(entry, 7203)
                                        : std::to_string(i);
        const std::string* payout = adapters::find_in_entry(entry, 7101);
        std::vector<WireField> st{{7203, line_no}};
        if (payout != nullptr) {
            st.push_back({7101, *payout});
        }
        const std::string line_ref = order_ref + "-" + line_no;
        std::string code = refuse_code;
        std::string text = refuse_text;
        if (code.empty() && rng_.chance_permille(options_.reject_permille)) {
            code = options_.reject_codes[rng_.below(options_.reject_codes.size())];
            text = "simulated bank rejection " + code + " of payout " +
                   (payout ? *payout : std::string("?"));
        }
        if (code.empty()) {
            st.push_back({7209, "C"});
            st.push_back({7207, line_ref});
            ++figures_.lines_confirmed;
            book_.book(Booking{
                *ccy, -amounts[i], value_date, today,
                "payment order " + ledger_order_number(id) + " line " + line_no + " confirmed",
                line_ref,
                "payout " + (payout ? *payout : std::string("?")) + " to " +
                    (adapters::find_in_entry(entry, 7107) ? *adapters::find_in_entry(entry, 7107)
                                                          : std::string("?"))});
        } else {
            st.push_back({7209, "R"});
            st.push_back({7210, code});
            st.push_back({58, text});
            ++figures_.lines_rejected;
        }
        statuses.push_back(std::move(st));
    }
    std::vector<WireMessage> replies;
    const auto make = [&](std::vector<std::vector<WireField>> entries) {
        WireMessage u4;
        u4.msg_type = "U4";
        // No order-level BankReference: fxsettle reads one as "the whole order confirmed"
        // (RULES_OF_ENGAGEMENT.md), and each line has its own status here.
        u4.add(60, fix_timestamp(now)).add(7200, id);
        u4.groups.push_back(WireGroup{7208, std::move(entries)});
        replies.push_back(std::move(u4));
    };
    if (statuses.empty()) {
        // No line to report: a U4 needs at least one; answer with line 0 rejected.
        make({{{7203, "0"}, {7209, "R"}, {7210, refuse_code}, {58, refuse_text}}});
    } else if (options_.confirm_per_line) {
        for (auto& s : statuses) {
            make({std::move(s)});
        }
    } else {
        make(std::move(statuses));
    }
    spdlog::info("{}: payment order {} {} with {} line(s): answer in {} ms", name(), id, ccy_code,
                 n, options_.confirm_delay.count());
    for (const WireMessage& r : replies) {
        send_answer(key, r);
    }
    answers_.emplace(id, std::move(replies));
}

void BankSim::send_answer(const SessionKey& key, const WireMessage& answer) {
    if (hold_) {
        held_.emplace_back(key, answer);
        return;
    }
    auto delay = options_.confirm_delay;
    if (options_.confirm_jitter.count() > 0) {
        delay += std::chrono::milliseconds(
            rng_.below(static_cast<std::uint64_t>(options_.confirm_jitter.count()) + 1));
    }
    schedule_send(key, answer, delay);
}

void BankSim::hold_answers(bool hold) {
    std::lock_guard lock(state_mu_);
    hold_ = hold;
    if (hold) {
        return;
    }
    post([this](Clock::time_point) {
        auto held = std::move(held_);
        held_.clear();
        for (const auto& [key, answer] : held) {
            send_answer(key, answer);
        }
    });
}

std::size_t BankSim::answers_held() const {
    std::lock_guard lock(state_mu_);
    return held_.size();
}

}  // namespace fxsettle::fxsim
