// `fxledger export`: the whole journal as CSV, JSON, an hledger journal or a beancount
// file. The plain-text journals are double-entry files the two programs read as is: one
// commodity per currency with its exact decimals, debits positive and credits negative,
// and balance assertions at the end so that hledger / bean-check recompute every
// account's posted balance from the exported transactions and compare it with ours.
//
// Holds: a pending entry (kPending) moves no posted balance, so it is exported as a
// comment only (with its postings), and so are its void and expiry; the post of a hold
// (kPostPending) is an ordinary transaction with the amounts it posted. The exported
// balances are therefore the ledger's posted balances; pending totals are written as
// comments beside the final assertions.
#pragma once

#include <map>
#include <ostream>
#include <string>
#include <string_view>

#include "engine/base/status.h"
#include "ledger/ledger.h"
#include "tools/fxledger/commands.h"

namespace fxsettle::fxledger {

enum class ExportFormat { kCsv, kJson, kHledger, kBeancount };
// "csv", "json", "hledger" or "beancount"; anything else fails with kInvalidArgument.
Result<ExportFormat> parse_export_format(std::string_view name);

// hledger account names: a group from the account's kind ("psp", "bank", "venue",
// "fxsettle") and the components of its code: "PSP1/available/USD" ->
// "psp:PSP1:available:USD". Characters hledger gives a meaning (spaces, ';', brackets,
// parentheses) become '_'; a name two accounts would share gets the id appended.
std::map<ledger::AccountId, std::string> hledger_account_names(const AccountIndex& accounts);
// beancount account names: a root from the account's normal side and kind (Assets,
// Liabilities, Income, Equity), a capitalised group, then the code's components with
// every character but letters, digits and '-' turned into '-', each starting with a
// capital or a digit: "PSP1/available/USD" -> "Liabilities:Psp:PSP1:Available:USD".
std::map<ledger::AccountId, std::string> beancount_account_names(const AccountIndex& accounts);

// Writes every account and entry of `view` to `out` in `format`. `source` names the
// ledger in the file's heading comment.
Status export_ledger(ledger::ReadView& view, ExportFormat format, std::ostream& out,
                     std::string_view source = {});

}  // namespace fxsettle::fxledger
