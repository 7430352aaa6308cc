// `fxledger reconcile`: a bank statement against the postings of one account (a nostro).
//
// Sign: a statement credit (money into the account at the bank) is a movement on the
// account's normal side: a debit of a nostro (debit-normal). Only posted movements count
// (ordinary entries and posts of holds); holds, voids and expiries never reach a bank.
//
// Period: from the earliest to the latest date of the statement (its lines and its
// opening / closing balance dates), unless given. Ledger postings whose entry's value
// date falls in the period are the candidates.
//
// Matching: a statement line matches one unused ledger posting with the same reference
// (the entry's reference), the same signed amount and the same date (the entry's value
// date). What is left on either side is unmatched; an unmatched line names a ledger
// posting with the same reference when one exists, to show what differs.
//
// Balances: the ledger's opening balance is the sum of posted movements with a value date
// before the period, its closing balance those up to the period's last day; each is
// compared with the statement's OPBD / CLBD when the statement has one.
//
// Exit 1 when anything is unmatched or a balance differs.
#pragma once

#include <optional>
#include <string_view>

#include "engine/base/status.h"
#include "ledger/ledger.h"
#include "tools/fxledger/commands.h"
#include "tools/fxledger/statement.h"

namespace fxsettle::fxledger {

struct ReconcilePeriod {
    std::optional<ledger::Date> from;  // first day, inclusive
    std::optional<ledger::Date> to;    // last day, inclusive
};

// Fails with kNotFound for an unknown account and kInvalidArgument when the statement
// is in another currency than the account (naming the line) or has nothing to reconcile.
Result<CommandOutput> reconcile_command(ledger::ReadView& view, std::string_view account,
                                        const BankStatement& statement,
                                        const ReconcilePeriod& period = {});

}  // namespace fxsettle::fxledger
