#include "tools/fxledger/export.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <set>
#include <sstream>
#include <vector>

#include "engine/money/amount.h"
#include "tools/fxledger/report.h"

namespace fxsettle::fxledger {

using ledger::Account;
using ledger::AccountId;
using ledger::AccountKind;
using ledger::Entry;
using ledger::EntryKind;
using ledger::Side;

Result<ExportFormat> parse_export_format(std::string_view name) {
    if (name == "csv") {
        return ExportFormat::kCsv;
    }
    if (name == "json") {
        return ExportFormat::kJson;
    }
    if (name == "hledger") {
        return ExportFormat::kHledger;
    }
    if (name == "beancount") {
        return ExportFormat::kBeancount;
    }
    return fail(StatusCode::kInvalidArgument, "unknown export format '" + std::string(name) +
                                                  "' (csv, json, hledger or beancount)");
}

namespace {

std::string_view kind_group(AccountKind kind) {
    switch (kind) {
        case AccountKind::kPspAvailable:
        case AccountKind::kPspHeld:
            return "psp";
        case AccountKind::kNostro:
        case AccountKind::kSettlement:
            return "bank";
        case AccountKind::kVenue:
            return "venue";
        default:
            return "fxsettle";
    }
}

std::string_view beancount_root(AccountKind kind) {
    switch (kind) {
        case AccountKind::kPspAvailable:
        case AccountKind::kPspHeld:
            return "Liabilities";
        case AccountKind::kRounding:
        case AccountKind::kFees:
            return "Income";
        case AccountKind::kEquity:
            return "Equity";
        default:
            return "Assets";
    }
}

std::vector<std::string> split_code(std::string_view code) {
    std::vector<std::string> parts;
    std::string cur;
    for (char c : code) {
        if (c == '/' || c == ':') {
            parts.push_back(cur);
            cur.clear();
        } else {
            cur.push_back(c);
        }
    }
    parts.push_back(cur);
    return parts;
}

bool same_word(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::string hledger_component(std::string_view part) {
    std::string out;
    for (char c : part) {
        const auto u = static_cast<unsigned char>(c);
        const bool special = u < 0x20 || u == 0x7F || c == ' ' || c == ';' || c == '(' ||
                             c == ')' || c == '[' || c == ']' || c == '"' || c == '\t' ||
                             c == '=' || c == '*' || c == '!' || c == '#';
        out.push_back(special ? '_' : c);
    }
    return out.empty() ? "_" : out;
}

std::string beancount_component(std::string_view part) {
    std::string out;
    for (char c : part) {
        const bool ok = std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '-';
        out.push_back(ok ? c : '-');
    }
    if (out.empty() || !std::isalnum(static_cast<unsigned char>(out.front()))) {
        out.insert(out.begin(), 'X');
    }
    out.front() = static_cast<char>(std::toupper(static_cast<unsigned char>(out.front())));
    return out;
}

template <typename Build>
std::map<AccountId, std::string> unique_names(const AccountIndex& accounts, Build build) {
    std::map<std::string, int> uses;
    std::map<AccountId, std::string> names;
    for (const auto& [id, a] : accounts) {
        names[id] = build(a);
        ++uses[names[id]];
    }
    for (auto& [id, name] : names) {
        if (uses[name] > 1) {
            name.push_back('-');
            name += id.to_hex();
        }
    }
    return names;
}

}  // namespace

std::map<AccountId, std::string> hledger_account_names(const AccountIndex& accounts) {
    return unique_names(accounts, [](const Account& a) {
        const std::string_view group = kind_group(a.kind);
        std::string name(group);
        auto parts = split_code(a.code);
        for (std::size_t i = 0; i < parts.size(); ++i) {
            if (i == 0 && same_word(parts[0], group)) {
                continue;
            }
            name.push_back(':');
            name += hledger_component(parts[i]);
        }
        return name;
    });
}

std::map<AccountId, std::string> beancount_account_names(const AccountIndex& accounts) {
    return unique_names(accounts, [](const Account& a) {
        const std::string_view group = kind_group(a.kind);
        std::string name(beancount_root(a.kind));
        name.push_back(':');
        name += beancount_component(group);
        auto parts = split_code(a.code);
        for (std::size_t i = 0; i < parts.size(); ++i) {
            if (i == 0 && same_word(parts[0], group)) {
                continue;
            }
            name.push_back(':');
            name += beancount_component(parts[i]);
        }
        return name;
    });
}

namespace {

// Control characters become spaces; hledger also ends a description at ';'.
std::string one_line(std::string_view text, bool hledger) {
    std::string out;
    for (char c : text) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7F) {
            out.push_back(' ');
        } else if (hledger && c == ';') {
            out.push_back(',');
        } else {
            out.push_back(c);
        }
    }
    return out;
}

std::string quoted(std::string_view text) {
    std::string out = "\"";
    for (char c : one_line(text, false)) {
        if (c == '"' || c == '\\') {
            out.push_back('\\');
        }
        out.push_back(c);
    }
    return out + "\"";
}

ledger::Date entry_date(const Entry& e) {
    if (e.value_date != ledger::Date{}) {
        return e.value_date;
    }
    return std::chrono::floor<std::chrono::days>(e.timestamp);
}

// The signed amount of a posting: debits positive, credits negative.
std::string signed_amount(const ledger::Posting& p) {
    const money::Amount a = p.side == Side::kDebit ? p.amount.amount : -p.amount.amount;
    return money::format_amount(a, p.amount.currency) + " " + p.amount.currency.to_string();
}

bool moves_posted(EntryKind kind) {
    return kind == EntryKind::kPosted || kind == EntryKind::kPostPending;
}

struct AccountState {
    Account account;
    ledger::Balance balance;
};

Result<std::vector<AccountState>> account_states(ledger::ReadView& view,
                                                 const AccountIndex& accounts) {
    std::vector<AccountState> out;
    for (const auto& [id, a] : accounts) {
        auto b = view.balance(id);
        if (!b) {
            return fail(b.error());
        }
        out.push_back(AccountState{a, *b});
    }
    return out;
}

std::string padded(std::string_view account, std::string_view amount, std::size_t indent = 4) {
    // An indent, at least two spaces between account and amount (both programs end an
    // account name at two spaces), amounts aligned when names allow.
    std::string line(indent, ' ');
    line += account;
    const std::size_t target = 60;
    const std::size_t used = line.size() + amount.size();
    line.append(used + 2 < target ? target - used : 2, ' ');
    line += amount;
    return line;
}

// Writes the journal for hledger or beancount.
Status write_journal(ledger::ReadView& view, bool hledger, std::ostream& out,
                     std::string_view source) {
    auto accounts = load_accounts(view);
    if (!accounts) {
        return accounts.error();
    }
    auto info = view.info();
    if (!info) {
        return info.error();
    }
    auto states = account_states(view, *accounts);
    if (!states) {
        return states.error();
    }
    const auto names =
        hledger ? hledger_account_names(*accounts) : beancount_account_names(*accounts);
    std::set<money::Currency> currencies;
    for (const auto& [id, a] : *accounts) {
        currencies.insert(a.currency);
    }
    for (const auto& c : currencies) {
        const std::string code = c.to_string();
        const bool beancount_ok =
            code.size() >= 2 && code.size() <= 24 &&
            std::all_of(code.begin(), code.end(), [](char ch) { return ch >= 'A' && ch <= 'Z'; });
        if (!beancount_ok) {
            return Status(StatusCode::kInvalidArgument,
                          "currency '" + code + "' cannot be a commodity name (A-Z, 2-24)");
        }
    }

    std::ostringstream body;
    std::optional<ledger::Date> first_date;
    std::optional<ledger::Date> last_date;
    const char c = ';';
    Status s = for_each_entry(view, [&](const Entry& e) -> Status {
        const ledger::Date date = entry_date(e);
        std::string seq = "#";
        seq += std::to_string(e.sequence);
        const std::string ref = one_line(e.reference, hledger);
        if (!moves_posted(e.kind)) {
            // Holds, voids and expiries: comments only (see export.h).
            body << c << ' ' << format_date(date) << " (" << seq << ") " << entry_kind_name(e.kind)
                 << ' ' << ref << "  entry:" << e.id.to_hex();
            if (!e.pending_id.is_zero()) {
                body << " hold:" << e.pending_id.to_hex();
            }
            body << '\n'
                 << c << "   "
                 << (e.kind == EntryKind::kPending
                         ? "a hold: reserves these amounts as pending, posts nothing"
                         : "releases the hold's pending amounts, posts nothing")
                 << '\n';
            for (const auto& p : e.postings) {
                body << c << padded(names.at(p.account), signed_amount(p)) << '\n';
            }
            body << '\n';
            return {};
        }
        if (!first_date || date < *first_date) {
            first_date = date;
        }
        if (!last_date || date > *last_date) {
            last_date = date;
        }
        if (hledger) {
            body << format_date(date) << " * (" << seq << ") " << ref << '\n';
            body << "    ; entry:" << e.id.to_hex() << ", time:" << format_time(e.timestamp)
                 << ", kind:" << entry_kind_name(e.kind);
            if (!e.pending_id.is_zero()) {
                body << ", hold:" << e.pending_id.to_hex();
            }
            body << '\n';
        } else {
            body << format_date(date) << " * " << quoted(e.reference) << '\n';
            body << "  entry: " << quoted(e.id.to_hex()) << '\n';
            body << "  seq: " << e.sequence << '\n';
            body << "  time: " << quoted(format_time(e.timestamp)) << '\n';
            body << "  kind: " << quoted(entry_kind_name(e.kind)) << '\n';
            if (!e.pending_id.is_zero()) {
                body << "  hold: " << quoted(e.pending_id.to_hex()) << '\n';
            }
        }
        for (const auto& p : e.postings) {
            body << padded(names.at(p.account), signed_amount(p), hledger ? 4 : 2) << '\n';
        }
        body << '\n';
        return {};
    });
    if (!s.is_ok()) {
        return s;
    }

    const ledger::Date open_date = first_date.value_or(ledger::Date{});
    const ledger::Date end_date = last_date.value_or(open_date);
    out << c << " fxsettle ledger";
    if (!source.empty()) {
        out << ' ' << one_line(source, false);
    }
    out << ", exported by fxledger for " << (hledger ? "hledger" : "beancount") << '\n';
    out << c << " last sequence " << info->last_sequence << ", head hash " << hex32(info->head_hash)
        << '\n';
    out << c << " Debits are positive, credits negative; one commodity per currency.\n";
    out << c << " Holds (pending entries), their voids and expiries move no posted balance:\n";
    out << c << " they appear as comments only. The post of a hold is a transaction.\n";
    out << c << " The assertions at the end are the ledger's posted balances.\n\n";
    if (hledger) {
        for (const auto& cur : currencies) {
            // hledger wants a decimal mark in the directive, even with no decimals: "1000."
            std::string format = "1000.";
            format.append(cur.exponent, '0');
            out << "commodity " << format << ' ' << cur.to_string() << '\n';
        }
        out << '\n';
        for (const auto& st : *states) {
            out << "account " << names.at(st.account.id) << "  ; code:" << st.account.code
                << ", id:" << st.account.id.to_hex()
                << ", kind:" << ledger::account_kind_name(st.account.kind) << '\n';
        }
    } else {
        out << "option \"title\" \"fxsettle ledger\"\n\n";
        for (const auto& cur : currencies) {
            out << format_date(open_date) << " commodity " << cur.to_string() << '\n';
        }
        out << '\n';
        for (const auto& st : *states) {
            out << format_date(open_date) << " open " << names.at(st.account.id) << "  "
                << st.account.currency.to_string() << '\n';
            out << "  code: " << quoted(st.account.code) << '\n';
            out << "  id: " << quoted(st.account.id.to_hex()) << '\n';
            out << "  kind: " << quoted(ledger::account_kind_name(st.account.kind)) << '\n';
        }
    }
    out << '\n' << body.str();

    // The ledger's own figures, for the reader to check ours against.
    if (hledger) {
        out << format_date(end_date) << " * fxledger balance assertions after sequence "
            << info->last_sequence << '\n';
    } else {
        out << c << " balances after sequence " << info->last_sequence
            << " (a balance directive applies at the start of its day)\n";
    }
    const ledger::Date assert_date = end_date + std::chrono::days(1);
    for (const auto& st : *states) {
        const money::Currency& cur = st.account.currency;
        const money::Amount net = st.balance.debits_posted - st.balance.credits_posted;
        const std::string amount = money::format_amount(net, cur) + " " + cur.to_string();
        const std::string& name = names.at(st.account.id);
        if (hledger) {
            out << padded(name, money::format_amount(money::Amount{}, cur) + " " + cur.to_string() +
                                    " == " + amount);
        } else {
            // "~ 0": an exact check. Without it beancount tolerates a difference of one
            // unit of the last decimal shown (0.01 USD).
            out << format_date(assert_date) << " balance " << name << "  "
                << money::format_amount(net, cur) << " ~ 0 " << cur.to_string();
        }
        if (!st.balance.debits_pending.is_zero() || !st.balance.credits_pending.is_zero()) {
            out << "  ; pending: debits " << money::format_amount(st.balance.debits_pending, cur)
                << ", credits " << money::format_amount(st.balance.credits_pending, cur);
        }
        out << '\n';
    }
    return out ? Status{} : Status(StatusCode::kIoError, "writing the export failed");
}

Status write_csv(ledger::ReadView& view, std::ostream& out) {
    auto accounts = load_accounts(view);
    if (!accounts) {
        return accounts.error();
    }
    Table header = entries_table();
    for (std::size_t i = 0; i < header.columns.size(); ++i) {
        out << (i ? "," : "") << header.columns[i];
    }
    out << '\n';
    Status s = for_each_entry(view, [&](const Entry& e) -> Status {
        Table t = entries_table();
        add_entry_rows(t, e, *accounts);
        for (const auto& row : t.rows) {
            for (std::size_t i = 0; i < row.size(); ++i) {
                out << (i ? "," : "") << csv_field(row[i].text);
            }
            out << '\n';
        }
        return {};
    });
    if (!s.is_ok()) {
        return s;
    }
    return out ? Status{} : Status(StatusCode::kIoError, "writing the export failed");
}

Status write_json(ledger::ReadView& view, std::ostream& out, std::string_view source) {
    auto accounts = load_accounts(view);
    if (!accounts) {
        return accounts.error();
    }
    auto info = view.info();
    if (!info) {
        return info.error();
    }
    auto states = account_states(view, *accounts);
    if (!states) {
        return states.error();
    }
    nlohmann::json head = {{"format", "fxledger-export"},
                           {"version", 1},
                           {"source", std::string(source)},
                           {"last_sequence", info->last_sequence},
                           {"head_hash", hex32(info->head_hash)}};
    nlohmann::json accs = nlohmann::json::array();
    for (const auto& st : *states) {
        nlohmann::json a = account_json(st.account);
        const auto& cur = st.account.currency;
        const Side normal = ledger::normal_side(st.account.kind);
        a["balance"] = {{"posted", money::format_amount(st.balance.posted(normal), cur)},
                        {"available", money::format_amount(st.balance.available(normal), cur)},
                        {"debits_posted", money::format_amount(st.balance.debits_posted, cur)},
                        {"credits_posted", money::format_amount(st.balance.credits_posted, cur)},
                        {"debits_pending", money::format_amount(st.balance.debits_pending, cur)},
                        {"credits_pending", money::format_amount(st.balance.credits_pending, cur)}};
        accs.push_back(std::move(a));
    }
    head["accounts"] = std::move(accs);
    // Entries stream one per line, so an export never holds the whole journal in memory.
    std::string text = head.dump(2);
    text.pop_back();  // the closing brace
    while (!text.empty() && text.back() == '\n') {
        text.pop_back();
    }
    out << text << ",\n  \"entries\": [";
    bool first = true;
    Status s = for_each_entry(view, [&](const Entry& e) -> Status {
        out << (first ? "\n    " : ",\n    ") << entry_json(e, *accounts).dump();
        first = false;
        return {};
    });
    if (!s.is_ok()) {
        return s;
    }
    out << (first ? "]\n}\n" : "\n  ]\n}\n");
    return out ? Status{} : Status(StatusCode::kIoError, "writing the export failed");
}

}  // namespace

Status export_ledger(ledger::ReadView& view, ExportFormat format, std::ostream& out,
                     std::string_view source) {
    switch (format) {
        case ExportFormat::kCsv:
            return write_csv(view, out);
        case ExportFormat::kJson:
            return write_json(view, out, source);
        case ExportFormat::kHledger:
            return write_journal(view, true, out, source);
        case ExportFormat::kBeancount:
            return write_journal(view, false, out, source);
    }
    return Status(StatusCode::kInternal, "unknown export format");
}

}  // namespace fxsettle::fxledger
