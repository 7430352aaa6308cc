// Bank statements for `fxledger reconcile`: a simple CSV and ISO 20022 camt.053.
//
// CSV (UTF-8, RFC 4180 quoting, '#' starts a comment line, blank lines ignored). The
// first non-comment line is the header; columns in any order, names case-insensitive,
// extra columns ignored:
//   date,reference,amount,currency[,direction]
//   date       YYYY-MM-DD, the value date (an RFC 3339 time is cut to its date)
//   reference  the payment reference, matched against the ledger entry's reference
//   amount     a decimal in major units with at most the currency's decimals ("1234.50";
//              zeros past them are tolerated: "1000.00" JPY); no thousands separators.
//              Without a direction column it is signed: positive = credit (money into
//              the account), negative = debit. With one, it is unsigned.
//   currency   ISO 4217 code; must be the reconciled account's currency
//   direction  CRDT / DBIT (also C / D, CR / DR, credit / debit)
// Two reserved references carry balances instead of movements: OPENING BALANCE and
// CLOSING BALANCE (case-insensitive), with the balance's date and signed (or directed)
// amount; both are optional.
//
// camt.053 (any version: urn:iso:std:iso:20022:tech:xsd:camt.053.001.NN, elements
// matched by local name, prefixes allowed): Document/BkToCstmrStmt/Stmt (one or more):
// Acct/Ccy; Bal with Tp/CdOrPrtry/Cd OPBD (or PRCD) and CLBD, Amt@Ccy, CdtDbtInd,
// Dt/Dt|DtTm; Ntry with Amt@Ccy, CdtDbtInd, Sts (only booked entries count: BOOK or no
// status), ValDt (else BookgDt) Dt|DtTm, and the reference from
// NtryDtls/TxDtls/Refs/EndToEndId (unless NOTPROVIDED), else Refs/AcctSvcrRef, else
// Ntry/AcctSvcrRef, else Ntry/NtryRef; AddtlNtryInf as a note. A batch entry with
// several TxDtls counts as one line with the entry's amount and the first reference.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/status.h"
#include "engine/money/amount.h"
#include "engine/money/currency.h"
#include "ledger/types.h"

namespace fxsettle::fxledger {

enum class StatementFormat { kCsv, kCamt053 };
// "csv" or "camt053" (also "camt.053").
Result<StatementFormat> parse_statement_format(std::string_view name);
// camt053 when the first non-blank character is '<', else csv.
StatementFormat detect_statement_format(std::string_view content);
std::string_view statement_format_name(StatementFormat format) noexcept;

struct BankLine {
    std::string location;  // "line 7" or "Stmt[1]/Ntry[3] (line 42)"
    ledger::Date date{};
    std::string reference;
    money::Money amount;  // signed: credit (money into the account) positive
    std::string note;     // camt AddtlNtryInf
};

struct BankBalance {
    std::string location;
    ledger::Date date{};
    money::Money amount;  // signed: credit balance positive
};

struct BankStatement {
    StatementFormat format = StatementFormat::kCsv;
    std::string account;                      // camt Acct/Id (IBAN or Othr/Id), if any
    std::optional<money::Currency> currency;  // camt Acct/Ccy, if any
    std::optional<BankBalance> opening;
    std::optional<BankBalance> closing;
    std::vector<BankLine> lines;
};

// Parse errors fail with kInvalidArgument naming the line (CSV) or the element and its
// line (camt.053) and what is wrong.
// Currency codes are looked up in `currencies` (ISO 4217 by default; `fxledger reconcile`
// adds the reconciled account's currency, so a configured non-ISO code such as CNH works).
Result<BankStatement> parse_csv_statement(
    std::string_view content, const money::CurrencyTable& currencies = money::CurrencyTable::iso());
Result<BankStatement> parse_camt053_statement(
    std::string_view content, const money::CurrencyTable& currencies = money::CurrencyTable::iso());
// Reads `path` (kIoError when it cannot be read) and parses it in `format`, or in the
// format its content shows when nullopt.
Result<BankStatement> read_statement(
    const std::filesystem::path& path, std::optional<StatementFormat> format,
    const money::CurrencyTable& currencies = money::CurrencyTable::iso());

// A bank's decimal amount in `currency`: money::parse_amount after dropping zeros past
// the currency's decimals ("1000.00" JPY -> 1000).
Result<money::Amount> parse_bank_amount(std::string_view text, const money::Currency& currency);

}  // namespace fxsettle::fxledger
