// `fxledger reconcile` with CSV and camt.053 statements written by the test, against the
// fixture's USD nostro: +1000.00 (PAYIN-USD-001, 23 Nov), +250.50 (PAYIN-USD-002, 24 Nov),
// -300.00 (PAYOUT-USD-001, 24 Nov); closing 950.50.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/integration/fxledger/fxledger_test_support.h"
#include "tools/fxledger/statement.h"

namespace fxsettle::fxledger::testing {
namespace {

using ::testing::HasSubstr;

const char* kCsvMatched =
    "date,reference,amount,currency,direction\n"
    "2026-11-23,OPENING BALANCE,0.00,USD,CRDT\n"
    "2026-11-23,PAYIN-USD-001,1000.00,USD,CRDT\n"
    "2026-11-24,PAYIN-USD-002,250.50,USD,CRDT\n"
    "2026-11-24,PAYOUT-USD-001,300.00,USD,DBIT\n"
    "2026-11-24,CLOSING BALANCE,950.50,USD,CRDT\n";

struct Camt {
    std::string ns = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.02";
    std::string prefix;  // "" or "c:"
    std::string closing = "950.50";
    std::string payout_ref = "PAYOUT-USD-001";
    std::string payin2_amount = "250.50";
    bool status_code_element = false;  // camt.053.001.08+: <Sts><Cd>BOOK</Cd></Sts>

    std::string tag(const std::string& name) const { return cat({prefix, name}); }
    std::string el(const std::string& name, const std::string& body,
                   const std::string& attrs = "") const {
        return cat({"<", tag(name), attrs, ">", body, "</", tag(name), ">"});
    }
    std::string bal(const std::string& code, const std::string& amount,
                    const std::string& date) const {
        return el("Bal",
                  cat({el("Tp", el("CdOrPrtry", el("Cd", code))), el("Amt", amount, " Ccy=\"USD\""),
                       el("CdtDbtInd", "CRDT"), el("Dt", el("Dt", date))}));
    }
    std::string status(const std::string& code) const {
        return status_code_element ? el("Sts", el("Cd", code)) : el("Sts", code);
    }
    std::string ntry(const std::string& amount, const std::string& dir, const std::string& date,
                     const std::string& ref, bool use_acct_svcr_ref = false) const {
        const std::string refs = use_acct_svcr_ref ? el("AcctSvcrRef", ref) : el("EndToEndId", ref);
        return cat({"\n      ",
                    el("Ntry",
                       cat({el("Amt", amount, " Ccy=\"USD\""), el("CdtDbtInd", dir), status("BOOK"),
                            el("BookgDt", el("Dt", date)), el("ValDt", el("Dt", date)),
                            el("NtryDtls", el("TxDtls", el("Refs", refs))),
                            el("AddtlNtryInf", cat({"entry ", ref}))}))});
    }
    std::string text() const {
        const std::string xmlns =
            prefix.empty() ? cat({" xmlns=\"", ns, "\""})
                           : cat({" xmlns:", prefix.substr(0, prefix.size() - 1), "=\"", ns, "\""});
        // A pending entry, which never counts.
        const std::string pending =
            el("Ntry", cat({el("Amt", "5.00", " Ccy=\"USD\""), el("CdtDbtInd", "CRDT"),
                            status("PDNG"), el("BookgDt", el("Dt", "2026-11-24"))}));
        const std::string stmt = el(
            "Stmt", cat({el("Id", "S1"),
                         el("Acct", cat({el("Id", el("IBAN", "DE00BANKA")), el("Ccy", "USD")})),
                         bal("OPBD", "0.00", "2026-11-23"), bal("CLBD", closing, "2026-11-24"),
                         ntry("1000.00", "CRDT", "2026-11-23", "PAYIN-USD-001"),
                         ntry(payin2_amount, "CRDT", "2026-11-24", "PAYIN-USD-002", true),
                         ntry("300.00", "DBIT", "2026-11-24", payout_ref), "\n      ", pending}));
        return cat({"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n",
                    el("Document",
                       cat({"\n  ", el("BkToCstmrStmt", cat({el("GrpHdr", el("MsgId", "STMT-1")),
                                                             "\n    ", stmt}))}),
                       xmlns),
                    "\n"});
    }
};

RunResult reconcile(const std::string& file_name, const std::string& content,
                    std::vector<std::string> extra = {},
                    const std::string& account = "BANK-A/nostro/USD") {
    static TempDir dir("fxledger-reconcile");
    const auto path = dir.path() / file_name;
    write_text(path, content);
    std::vector<std::string> args = {"reconcile", "--account", account, "--statement",
                                     path.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return on_fixture(args);
}

TEST(FxledgerReconcile, CsvAllMatched) {
    RunResult r = reconcile("ok.csv", kCsvMatched);
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_THAT(r.out, HasSubstr("RECONCILED"));
    EXPECT_THAT(r.out, HasSubstr("closing_difference:"));

    r = reconcile("ok.csv", kCsvMatched, {"--report-format", "json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const auto j = parse_json(r);
    EXPECT_EQ(j["matched"], 3);
    EXPECT_EQ(j["unmatched_statement"], 0);
    EXPECT_EQ(j["unmatched_ledger"], 0);
    EXPECT_EQ(j["statement_closing"], "950.50");
    EXPECT_EQ(j["ledger_closing"], "950.50");
    EXPECT_EQ(j["closing_difference"], "0.00");
    EXPECT_EQ(j["opening_difference"], "0.00");
    EXPECT_EQ(j["period_from"], "2026-11-23");
    EXPECT_EQ(j["period_to"], "2026-11-24");
    EXPECT_EQ(j["lines"].size(), 3u);

    // Signed amounts without a direction column, quoted fields, a comment, CRLF, any
    // column order, and the format given explicitly.
    r = reconcile("signed.csv",
                  "# exported by the bank\r\n"
                  "Reference,Date,Currency,Amount,Memo\r\n"
                  "\"PAYIN-USD-001\",2026-11-23,USD,1000,\"first, with a comma\"\r\n"
                  "PAYIN-USD-002,2026-11-24,USD,+250.5,\r\n"
                  "PAYOUT-USD-001,2026-11-24,USD,-300.00,\r\n"
                  "Closing Balance,2026-11-24,USD,950.50,\r\n",
                  {"--format", "csv", "--report-format", "csv"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    EXPECT_EQ(r.out.substr(0, r.out.find('\n')),
              "status,date,reference,amount,ledger_sequence,ledger_entry,statement_location,note");
    EXPECT_EQ(count_lines(r.out), 4u);
    EXPECT_THAT(r.out, HasSubstr("matched,2026-11-24,PAYOUT-USD-001,-300.00,10,"));
}

TEST(FxledgerReconcile, JpyAndKwdNostrosWithTheirOwnDecimals) {
    // JPY: banks often print "150000.00"; the zeros past the currency's 0 decimals are
    // dropped. The open JPY hold never reaches the bank and is not expected.
    RunResult r = reconcile("jpy.csv",
                            "date,reference,amount,currency\n"
                            "2026-11-23,PAYIN-JPY-001,150000.00,JPY\n"
                            "2026-11-25,CLOSING BALANCE,150000,JPY\n",
                            {"--report-format", "json"}, "BANK-B/nostro/JPY");
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    auto j = parse_json(r);
    EXPECT_EQ(j["ledger_closing"], "150000");
    EXPECT_EQ(j["closing_difference"], "0");

    r = reconcile("kwd.csv",
                  "date,reference,amount,currency,direction\n"
                  "2026-11-23,PAYIN-KWD-TAMPER-TARGET-001,12.345,KWD,CRDT\n"
                  "2026-11-23,CLOSING BALANCE,12.346,KWD,CRDT\n",
                  {"--report-format", "json"}, "BANK-C/nostro/KWD");
    ASSERT_EQ(r.exit_code, 1) << describe(r);
    j = parse_json(r);
    EXPECT_EQ(j["matched"], 1);
    EXPECT_EQ(j["closing_difference"], "0.001");
}

TEST(FxledgerReconcile, CsvOneUnmatchedOnEachSide) {
    std::string csv = kCsvMatched;
    csv.replace(csv.find("PAYOUT-USD-001"), 14, "PAYOUT-USD-999");
    RunResult r = reconcile("unmatched.csv", csv, {"--report-format", "json"});
    ASSERT_EQ(r.exit_code, 1) << describe(r);
    EXPECT_THAT(r.err, HasSubstr("differences"));
    const auto j = parse_json(r);
    EXPECT_EQ(j["matched"], 2);
    EXPECT_EQ(j["unmatched_statement"], 1);
    EXPECT_EQ(j["unmatched_ledger"], 1);
    EXPECT_EQ(j["closing_difference"], "0.00");
    EXPECT_EQ(j["result"], "DIFFERENCES");
    bool statement_only = false;
    bool ledger_only = false;
    for (const auto& l : j["lines"]) {
        if (l["status"] == "statement_only") {
            statement_only = true;
            EXPECT_EQ(l["reference"], "PAYOUT-USD-999");
            EXPECT_EQ(l["statement_location"], "line 5");
        }
        if (l["status"] == "ledger_only") {
            ledger_only = true;
            EXPECT_EQ(l["reference"], "PAYOUT-USD-001");
            EXPECT_EQ(l["amount"], "-300.00");
            EXPECT_EQ(l["ledger_sequence"], 10);
        }
    }
    EXPECT_TRUE(statement_only && ledger_only) << j.dump(2);

    // Same reference, wrong amount: the note names the ledger posting.
    csv = kCsvMatched;
    csv.replace(csv.find("250.50"), 6, "250.05");
    r = reconcile("amount.csv", csv);
    ASSERT_EQ(r.exit_code, 1) << describe(r);
    EXPECT_THAT(r.out, HasSubstr("ledger #4 has this reference with 250.50 on 2026-11-24"));
}

TEST(FxledgerReconcile, CsvClosingBalanceDiffers) {
    std::string csv = kCsvMatched;
    csv.replace(csv.find("950.50"), 6, "950.00");
    RunResult r = reconcile("closing.csv", csv, {"--report-format", "json"});
    ASSERT_EQ(r.exit_code, 1) << describe(r);
    const auto j = parse_json(r);
    EXPECT_EQ(j["matched"], 3);
    EXPECT_EQ(j["unmatched_statement"], 0);
    EXPECT_EQ(j["unmatched_ledger"], 0);
    EXPECT_EQ(j["closing_difference"], "-0.50");
    EXPECT_EQ(j["result"], "DIFFERENCES");
}

TEST(FxledgerReconcile, Camt053AllMatchedAutoDetected) {
    RunResult r = reconcile("ok.xml", Camt{}.text(), {"--report-format", "json"});
    ASSERT_EQ(r.exit_code, 0) << describe(r);
    const auto j = parse_json(r);
    EXPECT_EQ(j["statement_format"], "camt053");
    EXPECT_EQ(j["statement_account"], "DE00BANKA");
    EXPECT_EQ(j["matched"], 3);
    EXPECT_EQ(j["statement_lines"], 3);  // the PDNG entry is left out
    EXPECT_EQ(j["closing_difference"], "0.00");

    // A later version, with a namespace prefix and Sts/Cd.
    Camt v8;
    v8.ns = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08";
    v8.prefix = "c:";
    v8.status_code_element = true;
    r = reconcile("v8.xml", v8.text(), {"--format", "camt053"});
    ASSERT_EQ(r.exit_code, 0) << describe(r) << v8.text();
    EXPECT_THAT(r.out, HasSubstr("RECONCILED"));
}

TEST(FxledgerReconcile, Camt053UnmatchedAndClosingDifference) {
    Camt c;
    c.payout_ref = "PAYOUT-USD-XXX";
    RunResult r = reconcile("unmatched.xml", c.text(), {"--report-format", "json"});
    ASSERT_EQ(r.exit_code, 1) << describe(r);
    auto j = parse_json(r);
    EXPECT_EQ(j["unmatched_statement"], 1);
    EXPECT_EQ(j["unmatched_ledger"], 1);
    for (const auto& l : j["lines"]) {
        if (l["status"] == "statement_only") {
            EXPECT_THAT(l["statement_location"].get<std::string>(),
                        HasSubstr("Stmt[1]/Ntry[3] (line "));
            EXPECT_EQ(l["note"], "entry PAYOUT-USD-XXX");
        }
    }

    Camt closing;
    closing.closing = "951.50";
    r = reconcile("closing.xml", closing.text(), {"--report-format", "json"});
    ASSERT_EQ(r.exit_code, 1) << describe(r);
    j = parse_json(r);
    EXPECT_EQ(j["matched"], 3);
    EXPECT_EQ(j["closing_difference"], "1.00");
}

TEST(FxledgerReconcile, MalformedStatementsNameTheLineOrElement) {
    RunResult r = reconcile("bad-amount.csv",
                            "date,reference,amount,currency\n"
                            "2026-11-23,PAYIN-USD-001,1000.00,USD\n"
                            "2026-11-24,PAYIN-USD-002,250.505,USD\n");
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_THAT(r.err, HasSubstr("statement line 3"));
    EXPECT_THAT(r.err, HasSubstr("250.505"));
    EXPECT_EQ(count_lines(r.err), 1u);

    r = reconcile("bad-header.csv", "when,reference,amount,currency\n2026-11-23,A,1.00,USD\n");
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_THAT(r.err, HasSubstr("no 'date' column"));

    r = reconcile("bad-date.csv", "date,reference,amount,currency\n2026-02-30,A,1.00,USD\n");
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_THAT(r.err, HasSubstr("statement line 2"));

    r = reconcile("wrong-ccy.csv", "date,reference,amount,currency\n2026-11-23,A,1.00,EUR\n");
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_THAT(r.err, HasSubstr("line 2 is in EUR"));

    std::string xml = Camt{}.text();
    xml.replace(xml.find("<CdtDbtInd>DBIT"), 15, "<CdtDbtInd>DEBT");
    r = reconcile("bad-ind.xml", xml);
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_THAT(r.err, HasSubstr("Stmt[1]/Ntry[3]/CdtDbtInd (line "));
    EXPECT_THAT(r.err, HasSubstr("'DEBT'"));

    xml = Camt{}.text();
    xml.erase(xml.rfind("</Document>"));
    r = reconcile("truncated.xml", xml);
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_THAT(r.err, HasSubstr("not well-formed XML"));

    Camt other;
    other.ns = "urn:iso:std:iso:20022:tech:xsd:camt.052.001.02";
    r = reconcile("camt052.xml", other.text());
    EXPECT_EQ(r.exit_code, 2) << describe(r);
    EXPECT_THAT(r.err, HasSubstr("is not camt.053"));

    // An XML file read as CSV because the user said so.
    r = reconcile("forced.xml", Camt{}.text(), {"--format", "csv"});
    EXPECT_EQ(r.exit_code, 2) << describe(r);

    // A statement that does not exist: an I/O error, not a missing account.
    r = on_fixture({"reconcile", "--account", "BANK-A/nostro/USD", "--statement",
                    "/nonexistent/statement.csv"});
    EXPECT_EQ(r.exit_code, 5) << describe(r);
    EXPECT_THAT(r.err, HasSubstr("/nonexistent/statement.csv"));

    // An unknown account: not found.
    r = reconcile("ok2.csv", kCsvMatched, {}, "BANK-Z/nostro/USD");
    EXPECT_EQ(r.exit_code, 4) << describe(r);
    EXPECT_THAT(r.err, HasSubstr("BANK-Z/nostro/USD"));
}

TEST(FxledgerStatementParsing, BankAmountsAndDirections) {
    const auto jpy = ccy("JPY");
    EXPECT_EQ(parse_bank_amount("1000.00", jpy)->minor(), 1000);
    EXPECT_EQ(parse_bank_amount("1000.", jpy)->minor(), 1000);
    EXPECT_FALSE(parse_bank_amount("1000.50", jpy).has_value());
    EXPECT_EQ(parse_bank_amount(" 12.3450 ", ccy("KWD"))->minor(), 12345);
    auto st = parse_csv_statement(
        "date,reference,amount,currency,direction\n"
        "2026-11-23,\"A \"\"quoted\"\" ref\",1.00,USD,C\n"
        "2026-11-23T23:59:59Z,B,2,USD,debit\n");
    ASSERT_TRUE(st.has_value()) << st.error().to_string();
    ASSERT_EQ(st->lines.size(), 2u);
    EXPECT_EQ(st->lines[0].reference, "A \"quoted\" ref");
    EXPECT_EQ(st->lines[1].amount.amount.minor(), -200);
    EXPECT_FALSE(st->closing.has_value());
    auto bad = parse_csv_statement(
        "date,reference,amount,currency,direction\n"
        "2026-11-23,A,-1.00,USD,CRDT\n");
    ASSERT_FALSE(bad.has_value());
    EXPECT_THAT(bad.error().message(), HasSubstr("line 2"));
    EXPECT_EQ(detect_statement_format("  \n<?xml"), StatementFormat::kCamt053);
    EXPECT_EQ(detect_statement_format("\xEF\xBB\xBF"
                                      "date,"),
              StatementFormat::kCsv);
}

TEST(FxledgerStatementParsing, ANonIsoCurrencyIsReadWithTheTableThatDefinesIt) {
    const std::string csv =
        "date,reference,amount,currency,direction\n"
        "2026-11-23,PAYOUT-CNH-001,88.10,CNH,DBIT\n";
    // ISO 4217 has no CNH: the default table refuses it, naming the code.
    auto iso_only = parse_csv_statement(csv);
    ASSERT_FALSE(iso_only.has_value());
    EXPECT_THAT(iso_only.error().message(), HasSubstr("CNH"));
    // With CNH configured (as `fxledger reconcile` adds the reconciled account's currency)
    // the same line parses, in CNH's two decimals.
    money::CurrencyTable table;
    const money::Currency cnh{{'C', 'N', 'H'}, 0, 2};
    ASSERT_TRUE(table.add(cnh).is_ok());
    auto parsed = parse_csv_statement(csv, table);
    ASSERT_TRUE(parsed.has_value()) << parsed.error().to_string();
    ASSERT_EQ(parsed->lines.size(), 1u);
    EXPECT_EQ(parsed->lines[0].amount.currency, cnh);
    EXPECT_EQ(money::format_money(parsed->lines[0].amount), "-88.10 CNH");
}

}  // namespace
}  // namespace fxsettle::fxledger::testing
