#include "tools/fxledger/reconcile.h"

#include <algorithm>
#include <map>
#include <vector>

#include "tools/fxledger/report.h"

namespace fxsettle::fxledger {

using ledger::Side;

namespace {

struct LedgerMove {
    std::uint64_t sequence = 0;
    ledger::EntryId entry;
    ledger::Date value_date{};
    std::string reference;
    money::Amount amount;  // signed: on the account's normal side positive
    bool used = false;
};

}  // namespace

Result<CommandOutput> reconcile_command(ledger::ReadView& view, std::string_view code_or_id,
                                        const BankStatement& st, const ReconcilePeriod& period) {
    auto account = find_account(view, code_or_id);
    if (!account) {
        return fail(account.error());
    }
    const money::Currency& ccy = account->currency;
    const std::string acc_ccy = ccy.to_string();
    auto mismatch = [&](const std::string& where, const money::Currency& c) {
        return fail(StatusCode::kInvalidArgument, "statement " + where + " is in " + c.to_string() +
                                                      ", but account " + account->code + " is in " +
                                                      acc_ccy);
    };
    if (st.currency && *st.currency != ccy) {
        return mismatch("account (Acct/Ccy)", *st.currency);
    }
    for (const auto& l : st.lines) {
        if (l.amount.currency != ccy) {
            return mismatch(l.location, l.amount.currency);
        }
    }
    for (const auto* b : {&st.opening, &st.closing}) {
        if (*b && (*b)->amount.currency != ccy) {
            return mismatch((*b)->location, (*b)->amount.currency);
        }
    }

    // The period.
    std::optional<ledger::Date> first = period.from;
    std::optional<ledger::Date> last = period.to;
    auto widen = [&](ledger::Date d) {
        if (!period.from && (!first || d < *first)) {
            first = d;
        }
        if (!period.to && (!last || d > *last)) {
            last = d;
        }
    };
    for (const auto& l : st.lines) {
        widen(l.date);
    }
    if (st.opening) {
        widen(st.opening->date);
    }
    if (st.closing) {
        widen(st.closing->date);
    }
    if (!first || !last) {
        return fail(StatusCode::kInvalidArgument,
                    "the statement has no entries and no balances to reconcile");
    }
    if (*last < *first) {
        return fail(StatusCode::kInvalidArgument, "the period ends (" + format_date(*last) +
                                                      ") before it starts (" + format_date(*first) +
                                                      ")");
    }

    // The ledger's posted movements of the account, with their entries' value dates.
    auto lines =
        view.statement(account->id, ledger::Timestamp{}, ledger::Timestamp::max(), kReportLinesMax);
    if (!lines) {
        return fail(lines.error());
    }
    if (Status s = check_not_truncated(lines->size(), "postings of the account"); !s.is_ok()) {
        return fail(s);
    }
    const Side normal = ledger::normal_side(account->kind);
    std::vector<LedgerMove> moves;
    money::Amount ledger_opening;
    money::Amount ledger_closing;
    std::map<std::uint64_t, ledger::Date> value_dates;
    for (const auto& l : *lines) {
        const bool posted =
            l.kind == ledger::EntryKind::kPosted || l.kind == ledger::EntryKind::kPostPending;
        if (!posted || l.amount.is_zero()) {
            continue;
        }
        auto vd = value_dates.find(l.sequence);
        if (vd == value_dates.end()) {
            // StatementLine has no value date: read it from the entry (once per entry).
            auto e = view.entry_at_sequence(l.sequence);
            if (!e) {
                return fail(e.error());
            }
            if (!*e) {
                return fail(StatusCode::kCorruption,
                            "entry sequence " + std::to_string(l.sequence) + " is missing");
            }
            vd = value_dates.emplace(l.sequence, (*e)->value_date).first;
        }
        const money::Amount signed_amount = l.side == normal ? l.amount : -l.amount;
        if (vd->second < *first) {
            ledger_opening += signed_amount;
        }
        if (vd->second <= *last) {
            ledger_closing += signed_amount;
        }
        if (vd->second >= *first && vd->second <= *last) {
            moves.push_back(
                LedgerMove{l.sequence, l.entry, vd->second, l.reference, signed_amount, false});
        }
    }

    // Matching.
    Table t;
    t.columns = {"status",          "date",         "reference",          "amount",
                 "ledger_sequence", "ledger_entry", "statement_location", "note"};
    std::size_t matched = 0;
    std::size_t unmatched_statement = 0;
    std::vector<std::vector<Cell>> statement_only;
    for (const auto& l : st.lines) {
        auto it = std::find_if(moves.begin(), moves.end(), [&](const LedgerMove& m) {
            return !m.used && m.reference == l.reference && m.amount == l.amount.amount &&
                   m.value_date == l.date;
        });
        if (it != moves.end()) {
            it->used = true;
            ++matched;
            t.add({Cell::str("matched"), Cell::str(format_date(l.date)), Cell::str(l.reference),
                   Cell::amount(l.amount.amount, ccy), Cell::num(it->sequence),
                   Cell::str(it->entry.to_hex()), Cell::str(l.location), Cell::str(l.note)});
            continue;
        }
        ++unmatched_statement;
        std::string note = l.note;
        auto same_ref = std::find_if(moves.begin(), moves.end(), [&](const LedgerMove& m) {
            return !m.used && !l.reference.empty() && m.reference == l.reference;
        });
        if (same_ref != moves.end()) {
            note = "ledger #" + std::to_string(same_ref->sequence) + " has this reference with " +
                   money::format_amount(same_ref->amount, ccy) + " on " +
                   format_date(same_ref->value_date) + (note.empty() ? "" : "; " + note);
        }
        statement_only.push_back({Cell::str("statement_only"), Cell::str(format_date(l.date)),
                                  Cell::str(l.reference), Cell::amount(l.amount.amount, ccy),
                                  Cell::null(), Cell::null(), Cell::str(l.location),
                                  Cell::str(note)});
    }
    for (auto& row : statement_only) {
        t.add(std::move(row));
    }
    std::size_t unmatched_ledger = 0;
    for (const auto& m : moves) {
        if (m.used) {
            continue;
        }
        ++unmatched_ledger;
        t.add({Cell::str("ledger_only"), Cell::str(format_date(m.value_date)),
               Cell::str(m.reference), Cell::amount(m.amount, ccy), Cell::num(m.sequence),
               Cell::str(m.entry.to_hex()), Cell::null(), Cell::null()});
    }

    bool differs = unmatched_statement > 0 || unmatched_ledger > 0;
    CommandOutput out;
    Report& r = out.report;
    r.fields.emplace_back("account", Cell::str(account->code));
    r.fields.emplace_back("currency", Cell::str(acc_ccy));
    r.fields.emplace_back("statement_format",
                          Cell::str(std::string(statement_format_name(st.format))));
    r.fields.emplace_back("statement_account",
                          st.account.empty() ? Cell::null() : Cell::str(st.account));
    r.fields.emplace_back("period_from", Cell::str(format_date(*first)));
    r.fields.emplace_back("period_to", Cell::str(format_date(*last)));
    r.fields.emplace_back("statement_lines", Cell::num(st.lines.size()));
    r.fields.emplace_back("ledger_postings", Cell::num(moves.size()));
    r.fields.emplace_back("matched", Cell::num(matched));
    r.fields.emplace_back("unmatched_statement", Cell::num(unmatched_statement));
    r.fields.emplace_back("unmatched_ledger", Cell::num(unmatched_ledger));
    auto balance_fields = [&](const char* name, const std::optional<BankBalance>& bank,
                              const money::Amount& ours) {
        const std::string n = name;
        r.fields.emplace_back("statement_" + n,
                              bank ? Cell::amount(bank->amount.amount, ccy) : Cell::null());
        r.fields.emplace_back("ledger_" + n, Cell::amount(ours, ccy));
        if (bank) {
            const money::Amount diff = bank->amount.amount - ours;
            differs = differs || !diff.is_zero();
            r.fields.emplace_back(n + "_difference", Cell::amount(diff, ccy));
        } else {
            r.fields.emplace_back(n + "_difference", Cell::null());
        }
    };
    balance_fields("opening", st.opening, ledger_opening);
    balance_fields("closing", st.closing, ledger_closing);
    r.fields.emplace_back("result", Cell::str(differs ? "DIFFERENCES" : "RECONCILED"));
    r.table = std::move(t);
    r.table_key = "lines";
    out.exit_code = differs ? kExitDifference : kExitOk;
    return out;
}

}  // namespace fxsettle::fxledger
