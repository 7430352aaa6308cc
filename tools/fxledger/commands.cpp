#include "tools/fxledger/commands.h"

#include <utility>
#include <vector>

#include "engine/money/amount.h"

namespace fxsettle::fxledger {

using ledger::Account;
using ledger::AccountId;
using ledger::Entry;
using ledger::EntryId;
using ledger::ReadView;
using ledger::Side;
using ledger::Timestamp;

Status check_not_truncated(std::size_t count, std::string_view what) {
    if (count < kReportLinesMax) {
        return {};
    }
    return Status(StatusCode::kOutOfRange, "more than " + std::to_string(kReportLinesMax) + " " +
                                               std::string(what) +
                                               " in the period: narrow it with --from / --to");
}

int exit_code_for(const Status& status) {
    switch (status.code()) {
        case StatusCode::kNotFound:
            return kExitNotFound;
        case StatusCode::kInvalidArgument:
            return kExitUsage;
        default:
            return kExitInternal;
    }
}

Result<std::unique_ptr<ledger::Ledger>> open_ledger(const std::filesystem::path& path, bool write) {
    ledger::OpenOptions o;
    o.path = path;
    o.read_only = !write;
    o.create_if_missing = false;
    return ledger::Ledger::open(o);
}

Result<AccountIndex> load_accounts(ReadView& view) {
    auto all = view.accounts();
    if (!all) {
        return fail(all.error());
    }
    AccountIndex index;
    for (auto& a : *all) {
        const AccountId id = a.id;
        index.emplace(id, std::move(a));
    }
    return index;
}

Result<Account> find_account(ReadView& view, std::string_view code_or_id) {
    auto by_code = view.account_by_code(code_or_id);
    if (!by_code) {
        return fail(by_code.error());
    }
    if (*by_code) {
        return **by_code;
    }
    if (auto id = AccountId::parse(code_or_id); id && code_or_id.front() != '#') {
        auto by_id = view.account(*id);
        if (!by_id) {
            return fail(by_id.error());
        }
        if (*by_id) {
            return **by_id;
        }
    }
    return fail(StatusCode::kNotFound, "account '" + std::string(code_or_id) +
                                           "' not found (no account has this " +
                                           "code or hex id; 'fxledger accounts' lists them)");
}

Result<Entry> find_entry(ReadView& view, std::string_view id_or_seq) {
    if (!id_or_seq.empty() && id_or_seq.front() == '#') {
        auto at = parse_at(id_or_seq);
        if (!at) {
            return fail(at.error());
        }
        auto e = view.entry_at_sequence(*at->sequence);
        if (!e) {
            return fail(e.error());
        }
        if (!*e) {
            return fail(StatusCode::kNotFound,
                        "entry " + std::string(id_or_seq) + " not found (no such sequence)");
        }
        return **e;
    }
    auto id = EntryId::parse(id_or_seq);
    if (!id) {
        return fail(StatusCode::kInvalidArgument,
                    "entry: " + id.error().message() + " (give a hex id or #SEQ)");
    }
    auto e = view.entry(*id);
    if (!e) {
        return fail(e.error());
    }
    if (!*e) {
        return fail(StatusCode::kNotFound, "entry " + id->to_hex() + " not found");
    }
    return **e;
}

Result<At> parse_at(std::string_view text) {
    std::string_view digits = text;
    if (!digits.empty() && digits.front() == '#') {
        digits.remove_prefix(1);
    }
    const bool numeric = !digits.empty() && digits.size() <= 19 &&
                         digits.find_first_not_of("0123456789") == std::string_view::npos;
    if (numeric) {
        std::uint64_t n = 0;
        for (char c : digits) {
            n = n * 10 + static_cast<std::uint64_t>(c - '0');
        }
        return At{n, std::nullopt};
    }
    if (text.empty() || text.front() == '#' || text.size() < 10) {
        return fail(StatusCode::kInvalidArgument,
                    "--at '" + std::string(text) +
                        "' is neither a sequence (#SEQ or an integer) nor an RFC 3339 time");
    }
    auto t = parse_time(text);
    if (!t) {
        return fail(t.error());
    }
    return At{std::nullopt, *t};
}

Result<std::uint64_t> sequence_at_time(ReadView& view, Timestamp at) {
    auto info = view.info();
    if (!info) {
        return fail(info.error());
    }
    std::uint64_t lo = 0;
    std::uint64_t hi = info->last_sequence;
    while (lo < hi) {
        const std::uint64_t mid = lo + (hi - lo + 1) / 2;
        auto e = view.entry_at_sequence(mid);
        if (!e) {
            return fail(e.error());
        }
        if (!*e) {
            return fail(StatusCode::kCorruption,
                        "entry sequence " + std::to_string(mid) + " is missing");
        }
        if ((*e)->timestamp <= at) {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    return lo;
}

std::string_view entry_kind_name(ledger::EntryKind kind) noexcept {
    switch (kind) {
        case ledger::EntryKind::kPosted:
            return "posted";
        case ledger::EntryKind::kPending:
            return "pending";
        case ledger::EntryKind::kPostPending:
            return "post_pending";
        case ledger::EntryKind::kVoidPending:
            return "void_pending";
        case ledger::EntryKind::kExpirePending:
            return "expire_pending";
    }
    return "unknown";
}

std::string account_label(const AccountId& id, const AccountIndex& accounts) {
    auto it = accounts.find(id);
    return it == accounts.end() ? id.to_hex() : it->second.code;
}

namespace {

std::string flags_text(std::uint32_t flags) {
    std::string out;
    if (flags & ledger::kAccountNoNegative) {
        out += "no_negative";
    }
    if (flags & ledger::kAccountClosed) {
        out += out.empty() ? "closed" : ",closed";
    }
    return out;
}

std::string side_name(Side s) {
    return s == Side::kDebit ? "debit" : "credit";
}

void add_balance_fields(Report& r, const ledger::Balance& b, const Account& a) {
    const Side normal = ledger::normal_side(a.kind);
    r.fields.emplace_back("posted", Cell::amount(b.posted(normal), a.currency));
    r.fields.emplace_back("available", Cell::amount(b.available(normal), a.currency));
    r.fields.emplace_back("debits_posted", Cell::amount(b.debits_posted, a.currency));
    r.fields.emplace_back("credits_posted", Cell::amount(b.credits_posted, a.currency));
    r.fields.emplace_back("debits_pending", Cell::amount(b.debits_pending, a.currency));
    r.fields.emplace_back("credits_pending", Cell::amount(b.credits_pending, a.currency));
}

void add_account_fields(Report& r, const Account& a) {
    r.fields.emplace_back("account", Cell::str(a.code));
    r.fields.emplace_back("id", Cell::str(a.id.to_hex()));
    r.fields.emplace_back("owner", Cell::str(a.owner));
    r.fields.emplace_back("currency", Cell::str(a.currency.to_string()));
    r.fields.emplace_back("kind", Cell::str(std::string(ledger::account_kind_name(a.kind))));
}

}  // namespace

nlohmann::json account_json(const Account& a) {
    return {{"id", a.id.to_hex()},
            {"code", a.code},
            {"owner", a.owner},
            {"currency", a.currency.to_string()},
            {"exponent", a.currency.exponent},
            {"kind", std::string(ledger::account_kind_name(a.kind))},
            {"normal_side", side_name(ledger::normal_side(a.kind))},
            {"flags", flags_text(a.flags)},
            {"name", a.name}};
}

Result<CommandOutput> accounts_command(ReadView& view) {
    auto accounts = view.accounts();
    if (!accounts) {
        return fail(accounts.error());
    }
    Table t;
    t.columns = {"id",          "code",  "owner",  "currency",  "kind",
                 "normal_side", "flags", "posted", "available", "name"};
    for (const Account& a : *accounts) {
        auto b = view.balance(a.id);
        if (!b) {
            return fail(b.error());
        }
        const Side normal = ledger::normal_side(a.kind);
        t.add({Cell::str(a.id.to_hex()), Cell::str(a.code), Cell::str(a.owner),
               Cell::str(a.currency.to_string()),
               Cell::str(std::string(ledger::account_kind_name(a.kind))),
               Cell::str(side_name(normal)), Cell::str(flags_text(a.flags)),
               Cell::amount(b->posted(normal), a.currency),
               Cell::amount(b->available(normal), a.currency), Cell::str(a.name)});
    }
    CommandOutput out;
    out.report.table = std::move(t);
    return out;
}

Result<CommandOutput> balance_command(ReadView& view, std::string_view code_or_id,
                                      const std::optional<At>& at) {
    auto a = find_account(view, code_or_id);
    if (!a) {
        return fail(a.error());
    }
    Result<ledger::Balance> b = !at            ? view.balance(a->id)
                                : at->sequence ? view.balance_at_sequence(a->id, *at->sequence)
                                               : view.balance_at_time(a->id, *at->time);
    if (!b) {
        return fail(b.error());
    }
    CommandOutput out;
    add_account_fields(out.report, *a);
    out.report.fields.emplace_back("at_sequence",
                                   at && at->sequence ? Cell::num(*at->sequence) : Cell::null());
    out.report.fields.emplace_back(
        "at_time", at && at->time ? Cell::str(format_time(*at->time)) : Cell::null());
    add_balance_fields(out.report, *b, *a);
    return out;
}

Result<CommandOutput> statement_command(ReadView& view, std::string_view code_or_id, Timestamp from,
                                        Timestamp to) {
    if (to <= from) {
        return fail(StatusCode::kInvalidArgument,
                    "--to " + format_time(to) + " is not after --from " + format_time(from));
    }
    auto a = find_account(view, code_or_id);
    if (!a) {
        return fail(a.error());
    }
    auto opening = view.balance_at_time(a->id, from - std::chrono::nanoseconds(1));
    if (!opening) {
        return fail(opening.error());
    }
    auto lines = view.statement(a->id, from, to, kReportLinesMax);
    if (!lines) {
        return fail(lines.error());
    }
    if (Status s = check_not_truncated(lines->size(), "statement lines"); !s.is_ok()) {
        return fail(s);
    }
    const Side normal = ledger::normal_side(a->kind);
    const money::Currency& ccy = a->currency;
    Table t;
    t.columns = {"sequence", "timestamp", "entry",  "kind",     "reference",
                 "debit",    "credit",    "posted", "available"};
    for (const auto& l : *lines) {
        const bool debit = l.side == Side::kDebit;
        t.add({Cell::num(l.sequence), Cell::str(format_time(l.timestamp)),
               Cell::str(l.entry.to_hex()), Cell::str(std::string(entry_kind_name(l.kind))),
               Cell::str(l.reference), debit ? Cell::amount(l.amount, ccy) : Cell::null(),
               debit ? Cell::null() : Cell::amount(l.amount, ccy),
               Cell::amount(l.balance_after.posted(normal), ccy),
               Cell::amount(l.balance_after.available(normal), ccy)});
    }
    const ledger::Balance closing = lines->empty() ? *opening : lines->back().balance_after;
    CommandOutput out;
    Report& r = out.report;
    add_account_fields(r, *a);
    // Open bounds (the defaults) print as null rather than as 1970 and 2262.
    r.fields.emplace_back("from",
                          from == Timestamp{} ? Cell::null() : Cell::str(format_time(from)));
    r.fields.emplace_back("to", to == Timestamp::max() ? Cell::null() : Cell::str(format_time(to)));
    r.fields.emplace_back("opening_posted", Cell::amount(opening->posted(normal), ccy));
    r.fields.emplace_back("opening_available", Cell::amount(opening->available(normal), ccy));
    r.fields.emplace_back("closing_posted", Cell::amount(closing.posted(normal), ccy));
    r.fields.emplace_back("closing_available", Cell::amount(closing.available(normal), ccy));
    r.fields.emplace_back("line_count", Cell::num(lines->size()));
    r.table = std::move(t);
    r.table_key = "lines";
    return out;
}

Result<CommandOutput> trial_balance_command(ReadView& view, const std::optional<At>& at) {
    std::optional<std::uint64_t> seq;
    if (at) {
        if (at->sequence) {
            seq = *at->sequence;
        } else {
            auto s = sequence_at_time(view, *at->time);
            if (!s) {
                return fail(s.error());
            }
            seq = *s;
        }
    }
    auto info = view.info();
    if (!info) {
        return fail(info.error());
    }
    auto rows = view.trial_balance(seq);
    if (!rows) {
        return fail(rows.error());
    }
    Table t;
    t.columns = {"currency",   "debits_posted",  "credits_posted",
                 "difference", "debits_pending", "credits_pending"};
    bool balanced = true;
    for (const auto& row : *rows) {
        auto diff = row.debits_posted.checked_sub(row.credits_posted);
        if (!diff || !diff->is_zero()) {
            balanced = false;
        }
        t.add({Cell::str(row.currency.to_string()), Cell::amount(row.debits_posted, row.currency),
               Cell::amount(row.credits_posted, row.currency),
               diff ? Cell::amount(*diff, row.currency) : Cell::str("overflow"),
               Cell::amount(row.debits_pending, row.currency),
               Cell::amount(row.credits_pending, row.currency)});
    }
    CommandOutput out;
    Report& r = out.report;
    r.fields.emplace_back(
        "at_sequence", Cell::num(seq ? std::min(*seq, info->last_sequence) : info->last_sequence));
    if (at && at->time) {
        r.fields.emplace_back("at_time", Cell::str(format_time(*at->time)));
    }
    r.fields.emplace_back("balanced", Cell::flag(balanced));
    r.table = std::move(t);
    r.table_key = "currencies";
    out.exit_code = balanced ? kExitOk : kExitDifference;
    return out;
}

Table entries_table() {
    Table t;
    t.columns = {"sequence",  "timestamp", "entry", "kind",   "value_date",
                 "reference", "account",   "debit", "credit", "currency"};
    t.group_columns = 6;
    return t;
}

void add_entry_rows(Table& t, const Entry& e, const AccountIndex& accounts) {
    bool first = true;
    for (const auto& p : e.postings) {
        const bool debit = p.side == Side::kDebit;
        const Cell amount = Cell::amount(p.amount.amount, p.amount.currency);
        t.add({Cell::num(e.sequence), Cell::str(format_time(e.timestamp)), Cell::str(e.id.to_hex()),
               Cell::str(std::string(entry_kind_name(e.kind))),
               Cell::str(format_date(e.value_date)), Cell::str(e.reference),
               Cell::str(account_label(p.account, accounts)), debit ? amount : Cell::null(),
               debit ? Cell::null() : amount, Cell::str(p.amount.currency.to_string())},
              !first);
        first = false;
    }
    if (e.postings.empty()) {
        t.add({Cell::num(e.sequence), Cell::str(format_time(e.timestamp)), Cell::str(e.id.to_hex()),
               Cell::str(std::string(entry_kind_name(e.kind))),
               Cell::str(format_date(e.value_date)), Cell::str(e.reference), Cell::null(),
               Cell::null(), Cell::null(), Cell::null()});
    }
}

nlohmann::json entry_json(const Entry& e, const AccountIndex& accounts) {
    nlohmann::json postings = nlohmann::json::array();
    for (const auto& p : e.postings) {
        postings.push_back({{"account", account_label(p.account, accounts)},
                            {"account_id", p.account.to_hex()},
                            {"side", side_name(p.side)},
                            {"amount", money::format_amount(p.amount.amount, p.amount.currency)},
                            {"currency", p.amount.currency.to_string()}});
    }
    nlohmann::json j = {{"sequence", e.sequence},
                        {"timestamp", format_time(e.timestamp)},
                        {"id", e.id.to_hex()},
                        {"kind", std::string(entry_kind_name(e.kind))},
                        {"value_date", format_date(e.value_date)},
                        {"reference", e.reference},
                        {"pending_id", nullptr},
                        {"pending_deadline", nullptr},
                        {"fx_residue", money::to_decimal_string(e.fx_residue)},
                        {"hash", hex32(e.hash)},
                        {"prev_hash", hex32(e.prev_hash)},
                        {"postings", std::move(postings)}};
    if (!e.pending_id.is_zero()) {
        j["pending_id"] = e.pending_id.to_hex();
    }
    if (e.pending_deadline) {
        j["pending_deadline"] = format_time(*e.pending_deadline);
    }
    return j;
}

Result<CommandOutput> entries_command(ReadView& view, Timestamp from, Timestamp to) {
    if (to <= from) {
        return fail(StatusCode::kInvalidArgument,
                    "--to " + format_time(to) + " is not after --from " + format_time(from));
    }
    auto accounts = load_accounts(view);
    if (!accounts) {
        return fail(accounts.error());
    }
    auto entries = view.entries(from, to, kReportLinesMax);
    if (!entries) {
        return fail(entries.error());
    }
    if (Status s = check_not_truncated(entries->size(), "entries"); !s.is_ok()) {
        return fail(s);
    }
    Table t = entries_table();
    nlohmann::json j = nlohmann::json::array();
    for (const Entry& e : *entries) {
        add_entry_rows(t, e, *accounts);
        j.push_back(entry_json(e, *accounts));
    }
    CommandOutput out;
    out.report.table = std::move(t);
    out.report.json = std::move(j);
    return out;
}

Result<CommandOutput> show_command(ReadView& view, std::string_view which) {
    auto e = find_entry(view, which);
    if (!e) {
        return fail(e.error());
    }
    auto accounts = load_accounts(view);
    if (!accounts) {
        return fail(accounts.error());
    }
    CommandOutput out;
    Report& r = out.report;
    r.fields = {
        {"entry", Cell::str(e->id.to_hex())},
        {"sequence", Cell::num(e->sequence)},
        {"timestamp", Cell::str(format_time(e->timestamp))},
        {"kind", Cell::str(std::string(entry_kind_name(e->kind)))},
        {"value_date", Cell::str(format_date(e->value_date))},
        {"reference", Cell::str(e->reference)},
        {"pending_id", e->pending_id.is_zero() ? Cell::null() : Cell::str(e->pending_id.to_hex())},
        {"pending_deadline",
         e->pending_deadline ? Cell::str(format_time(*e->pending_deadline)) : Cell::null()},
        {"fx_residue", Cell::str(money::to_decimal_string(e->fx_residue))},
        {"hash", Cell::str(hex32(e->hash))},
        {"prev_hash", Cell::str(hex32(e->prev_hash))},
    };
    Table postings;
    postings.columns = {"account", "account_id", "debit", "credit", "currency"};
    for (const auto& p : e->postings) {
        const bool debit = p.side == Side::kDebit;
        const Cell amount = Cell::amount(p.amount.amount, p.amount.currency);
        postings.add({Cell::str(account_label(p.account, *accounts)), Cell::str(p.account.to_hex()),
                      debit ? amount : Cell::null(), debit ? Cell::null() : amount,
                      Cell::str(p.amount.currency.to_string())});
    }
    r.table = std::move(postings);
    Table flat = entries_table();
    add_entry_rows(flat, *e, *accounts);
    r.csv = std::move(flat);
    r.json = entry_json(*e, *accounts);
    return out;
}

Result<CommandOutput> verify_command(ReadView& view) {
    auto report = view.verify();
    if (!report) {
        return fail(report.error());
    }
    auto info = view.info();
    if (!info) {
        return fail(info.error());
    }
    CommandOutput out;
    Report& r = out.report;
    r.fields.emplace_back("result", Cell::str(report->ok ? "OK" : "FAILED"));
    r.fields.emplace_back("ok", Cell::flag(report->ok));
    r.fields.emplace_back("entries_checked", Cell::num(report->entries_checked));
    r.fields.emplace_back("accounts_checked", Cell::num(report->accounts_checked));
    r.fields.emplace_back("last_sequence", Cell::num(info->last_sequence));
    r.fields.emplace_back("head_hash", Cell::str(hex32(info->head_hash)));
    r.fields.emplace_back(
        "bad_entry", report->bad_entry ? Cell::str(report->bad_entry->to_hex()) : Cell::null());
    r.fields.emplace_back("bad_sequence",
                          report->bad_sequence ? Cell::num(*report->bad_sequence) : Cell::null());
    r.fields.emplace_back("bad_account", report->bad_account
                                             ? Cell::str(report->bad_account->to_hex())
                                             : Cell::null());
    r.fields.emplace_back("failure", report->ok ? Cell::null() : Cell::str(report->failure));
    out.exit_code = report->ok ? kExitOk : kExitDifference;
    return out;
}

}  // namespace fxsettle::fxledger
