#include "tools/fxledger/statement.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>

#include <pugixml.hpp>

#include "tools/fxledger/report.h"

namespace fxsettle::fxledger {

Result<StatementFormat> parse_statement_format(std::string_view name) {
    if (name == "csv") {
        return StatementFormat::kCsv;
    }
    if (name == "camt053" || name == "camt.053") {
        return StatementFormat::kCamt053;
    }
    return fail(StatusCode::kInvalidArgument,
                "unknown statement format '" + std::string(name) + "' (csv or camt053)");
}

std::string_view statement_format_name(StatementFormat format) noexcept {
    return format == StatementFormat::kCsv ? "csv" : "camt053";
}

namespace {

std::string_view strip_bom(std::string_view s) {
    if (s.size() >= 3 && s.substr(0, 3) == "\xEF\xBB\xBF") {
        s.remove_prefix(3);
    }
    return s;
}

std::string trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) {
        s.remove_prefix(1);
    }
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) {
        s.remove_suffix(1);
    }
    return std::string(s);
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    return out;
}

}  // namespace

StatementFormat detect_statement_format(std::string_view content) {
    content = strip_bom(content);
    for (char c : content) {
        if (!std::isspace(static_cast<unsigned char>(c))) {
            return c == '<' ? StatementFormat::kCamt053 : StatementFormat::kCsv;
        }
    }
    return StatementFormat::kCsv;
}

Result<money::Amount> parse_bank_amount(std::string_view text, const money::Currency& currency) {
    std::string t = trim(text);
    const auto dot = t.find('.');
    if (dot != std::string::npos) {
        while (t.size() - dot - 1 > currency.exponent && t.back() == '0') {
            t.pop_back();
        }
        if (t.size() == dot + 1 && dot > 0) {
            t.pop_back();  // "1000." after dropping zeros
        }
    }
    return money::parse_amount(t, currency);
}

// ---------------------------------------------------------------------------------------
// CSV

namespace {

struct CsvRecord {
    std::size_t line = 0;  // where the record starts
    std::vector<std::string> fields;
};

// RFC 4180 records; a field may be quoted and then hold commas, quotes ("") and line
// breaks. Lines that start with '#' (outside quotes) and blank lines are skipped.
Result<std::vector<CsvRecord>> csv_records(std::string_view text) {
    std::vector<CsvRecord> out;
    std::size_t line = 1;
    std::size_t i = 0;
    while (i < text.size()) {
        // Skip a blank or comment line.
        const std::size_t eol = text.find('\n', i);
        const std::string_view raw =
            text.substr(i, (eol == std::string_view::npos ? text.size() : eol) - i);
        if (trim(raw).empty() || trim(raw).front() == '#') {
            i = eol == std::string_view::npos ? text.size() : eol + 1;
            ++line;
            continue;
        }
        CsvRecord rec;
        rec.line = line;
        std::string field;
        bool quoted = false;
        bool was_quoted = false;
        bool done = false;
        while (!done) {
            if (i >= text.size()) {
                if (quoted) {
                    return fail(StatusCode::kInvalidArgument, "statement line " +
                                                                  std::to_string(rec.line) +
                                                                  ": a quoted field is not closed");
                }
                done = true;
                break;
            }
            const char c = text[i++];
            if (quoted) {
                if (c == '"') {
                    if (i < text.size() && text[i] == '"') {
                        field.push_back('"');
                        ++i;
                    } else {
                        quoted = false;
                    }
                } else {
                    if (c == '\n') {
                        ++line;
                    }
                    field.push_back(c);
                }
                continue;
            }
            if (c == '"' && trim(field).empty() && !was_quoted) {
                field.clear();
                quoted = true;
                was_quoted = true;
            } else if (c == ',') {
                rec.fields.push_back(was_quoted ? field : trim(field));
                field.clear();
                was_quoted = false;
            } else if (c == '\n') {
                ++line;
                done = true;
            } else if (c != '\r') {
                if (was_quoted && !std::isspace(static_cast<unsigned char>(c))) {
                    return fail(
                        StatusCode::kInvalidArgument,
                        "statement line " + std::to_string(line) + ": text after a closing quote");
                }
                if (!was_quoted) {
                    field.push_back(c);
                }
            }
        }
        rec.fields.push_back(was_quoted ? field : trim(field));
        out.push_back(std::move(rec));
    }
    return out;
}

Result<int> direction_sign(std::string_view text) {
    const std::string d = lower(trim(text));
    if (d == "crdt" || d == "c" || d == "cr" || d == "credit") {
        return 1;
    }
    if (d == "dbit" || d == "d" || d == "dr" || d == "debit") {
        return -1;
    }
    return fail(StatusCode::kInvalidArgument,
                "direction '" + std::string(text) + "' is not CRDT or DBIT");
}

}  // namespace

Result<BankStatement> parse_csv_statement(std::string_view content,
                                          const money::CurrencyTable& currencies) {
    auto records = csv_records(strip_bom(content));
    if (!records) {
        return fail(records.error());
    }
    if (records->empty()) {
        return fail(StatusCode::kInvalidArgument,
                    "statement is empty: expected a header row date,reference,amount,currency"
                    "[,direction]");
    }
    const CsvRecord& header = records->front();
    std::map<std::string, std::size_t> col;
    for (std::size_t i = 0; i < header.fields.size(); ++i) {
        col[lower(trim(header.fields[i]))] = i;
    }
    for (const char* need : {"date", "reference", "amount", "currency"}) {
        if (!col.count(need)) {
            return fail(StatusCode::kInvalidArgument,
                        "statement line " + std::to_string(header.line) + ": the header has no '" +
                            need +
                            "' column (expected date,reference,amount,currency[,direction])");
        }
    }
    const bool has_direction = col.count("direction") != 0;
    BankStatement st;
    st.format = StatementFormat::kCsv;
    for (std::size_t r = 1; r < records->size(); ++r) {
        const CsvRecord& rec = (*records)[r];
        const std::string where = "statement line " + std::to_string(rec.line);
        if (rec.fields.size() != header.fields.size()) {
            return fail(StatusCode::kInvalidArgument,
                        where + ": " + std::to_string(rec.fields.size()) +
                            " fields, the header has " + std::to_string(header.fields.size()));
        }
        auto field = [&](const char* name) -> const std::string& { return rec.fields[col[name]]; };
        auto bad = [&](const std::string& what) {
            return fail(StatusCode::kInvalidArgument, where + ": " + what);
        };
        auto date = parse_date(field("date"));
        if (!date) {
            return bad(date.error().message());
        }
        auto currency = currencies.lookup(field("currency"));
        if (!currency) {
            return bad("currency: " + currency.error().message());
        }
        std::string amount_text = field("amount");
        int sign = 1;
        if (has_direction) {
            auto d = direction_sign(field("direction"));
            if (!d) {
                return bad(d.error().message());
            }
            sign = *d;
            if (!amount_text.empty() &&
                (amount_text.front() == '-' || amount_text.front() == '+')) {
                return bad("amount '" + amount_text +
                           "' has a sign, but the direction column gives the sign");
            }
        }
        auto amount = parse_bank_amount(amount_text, *currency);
        if (!amount) {
            return bad("amount: " + amount.error().message());
        }
        const money::Money m{sign < 0 ? -*amount : *amount, *currency};
        const std::string reference = field("reference");
        const std::string ref_lower = lower(reference);
        if (ref_lower == "opening balance" || ref_lower == "closing balance") {
            auto& slot = ref_lower == "opening balance" ? st.opening : st.closing;
            if (slot) {
                return bad("a second " + reference + " row (the first is " + slot->location + ")");
            }
            slot = BankBalance{"line " + std::to_string(rec.line), *date, m};
            continue;
        }
        if (!has_direction && amount->is_zero()) {
            return bad("amount is zero");
        }
        st.lines.push_back(BankLine{"line " + std::to_string(rec.line), *date, reference, m, {}});
    }
    return st;
}

// ---------------------------------------------------------------------------------------
// camt.053

namespace {

std::string_view local_name(const pugi::xml_node& n) {
    std::string_view name = n.name();
    const auto colon = name.find(':');
    return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

pugi::xml_node child(const pugi::xml_node& n, std::string_view name) {
    for (pugi::xml_node c = n.first_child(); c; c = c.next_sibling()) {
        if (c.type() == pugi::node_element && local_name(c) == name) {
            return c;
        }
    }
    return {};
}

std::vector<pugi::xml_node> children(const pugi::xml_node& n, std::string_view name) {
    std::vector<pugi::xml_node> out;
    for (pugi::xml_node c = n.first_child(); c; c = c.next_sibling()) {
        if (c.type() == pugi::node_element && local_name(c) == name) {
            out.push_back(c);
        }
    }
    return out;
}

// A descendant by a path of local names: path(n, {"Tp", "CdOrPrtry", "Cd"}).
pugi::xml_node path(pugi::xml_node n, std::initializer_list<std::string_view> names) {
    for (std::string_view name : names) {
        if (!n) {
            break;
        }
        n = child(n, name);
    }
    return n;
}

std::string text_of(const pugi::xml_node& n) {
    return n ? trim(n.child_value()) : std::string();
}

class Camt {
  public:
    Camt(std::string_view content, const money::CurrencyTable& currencies)
        : content_(content), currencies_(currencies) {}
    const money::CurrencyTable& currencies() const { return currencies_; }

    std::size_t line_of(const pugi::xml_node& n) const {
        const std::ptrdiff_t off = n.offset_debug();
        if (off < 0 || static_cast<std::size_t>(off) > content_.size()) {
            return 0;
        }
        return 1 +
               static_cast<std::size_t>(std::count(content_.begin(), content_.begin() + off, '\n'));
    }
    std::string where(const std::string& element_path, const pugi::xml_node& n) const {
        const std::size_t line = line_of(n);
        return element_path + (line ? " (line " + std::to_string(line) + ")" : "");
    }
    tl::unexpected<Status> bad(const std::string& element_path, const pugi::xml_node& n,
                               const std::string& what) const {
        return fail(StatusCode::kInvalidArgument,
                    "camt.053 " + where(element_path, n) + ": " + what);
    }

    // An element's date: <Dt>YYYY-MM-DD</Dt> or <DtTm>…</DtTm> inside `n`.
    Result<ledger::Date> date(const pugi::xml_node& n, const std::string& p) const {
        if (!n) {
            return bad(p, n, "missing");
        }
        pugi::xml_node d = child(n, "Dt");
        std::string sub = "/Dt";
        if (!d) {
            d = child(n, "DtTm");
            sub = "/DtTm";
        }
        if (!d) {
            return bad(p, n, "has neither Dt nor DtTm");
        }
        const std::string t = text_of(d);
        auto parsed = t.size() == 10 ? parse_date(t) : parse_time(t).map([](ledger::Timestamp ts) {
            return std::chrono::floor<std::chrono::days>(ts);
        });
        if (!parsed && t.size() > 10) {
            // ISODateTime may come without a zone: take its date.
            parsed = parse_date(t.substr(0, 10));
        }
        if (!parsed) {
            return bad(p + sub, d, parsed.error().message());
        }
        return *parsed;
    }

    // Amt (with its Ccy attribute) and CdtDbtInd of `n`, signed.
    Result<money::Money> amount(const pugi::xml_node& n, const std::string& p) const {
        const pugi::xml_node amt = child(n, "Amt");
        if (!amt) {
            return bad(p, n, "has no Amt");
        }
        const std::string ccy = trim(amt.attribute("Ccy").value());
        if (ccy.empty()) {
            return bad(p + "/Amt", amt, "has no Ccy attribute");
        }
        auto currency = currencies_.lookup(ccy);
        if (!currency) {
            return bad(p + "/Amt", amt, currency.error().message());
        }
        auto a = parse_bank_amount(text_of(amt), *currency);
        if (!a) {
            return bad(p + "/Amt", amt, a.error().message());
        }
        if (a->is_negative()) {
            return bad(p + "/Amt", amt, "is negative (CdtDbtInd gives the sign)");
        }
        const pugi::xml_node ind = child(n, "CdtDbtInd");
        const std::string d = text_of(ind);
        if (d != "CRDT" && d != "DBIT") {
            return bad(p + "/CdtDbtInd", ind ? ind : n,
                       ind ? "is '" + d + "', not CRDT or DBIT" : "missing");
        }
        return money::Money{d == "DBIT" ? -*a : *a, *currency};
    }

  private:
    std::string_view content_;
    const money::CurrencyTable& currencies_;
};

std::string entry_reference(const pugi::xml_node& ntry) {
    const pugi::xml_node tx = path(ntry, {"NtryDtls", "TxDtls"});
    const std::string e2e = text_of(path(tx, {"Refs", "EndToEndId"}));
    if (!e2e.empty() && e2e != "NOTPROVIDED") {
        return e2e;
    }
    for (const pugi::xml_node& n :
         {path(tx, {"Refs", "AcctSvcrRef"}), child(ntry, "AcctSvcrRef"), child(ntry, "NtryRef")}) {
        const std::string t = text_of(n);
        if (!t.empty() && t != "NOTPROVIDED") {
            return t;
        }
    }
    return {};
}

}  // namespace

Result<BankStatement> parse_camt053_statement(std::string_view content,
                                              const money::CurrencyTable& currencies) {
    pugi::xml_document doc;
    const pugi::xml_parse_result parsed =
        doc.load_buffer(content.data(), content.size(), pugi::parse_default, pugi::encoding_auto);
    if (!parsed) {
        const auto off = static_cast<std::size_t>(std::max<std::ptrdiff_t>(parsed.offset, 0));
        const std::size_t line =
            1 + static_cast<std::size_t>(std::count(
                    content.begin(), content.begin() + std::min(off, content.size()), '\n'));
        return fail(StatusCode::kInvalidArgument, "camt.053 statement is not well-formed XML: " +
                                                      std::string(parsed.description()) +
                                                      " at line " + std::to_string(line));
    }
    const Camt camt(content, currencies);
    const pugi::xml_node root = doc.document_element();
    if (local_name(root) != "Document") {
        return camt.bad(root.name(), root, "the root element is not Document");
    }
    // The namespace of the root's prefix (or the default one), when declared, must be a
    // camt.053 one; every version is accepted.
    std::string_view root_name = root.name();
    const auto colon = root_name.find(':');
    const std::string xmlns = colon == std::string_view::npos
                                  ? "xmlns"
                                  : "xmlns:" + std::string(root_name.substr(0, colon));
    const std::string ns = root.attribute(xmlns.c_str()).value();
    if (!ns.empty() && ns.find("camt.053.") == std::string::npos) {
        return camt.bad("Document", root,
                        "namespace '" + ns +
                            "' is not camt.053 (urn:iso:std:iso:20022:tech:xsd:camt.053.001.NN)");
    }
    const pugi::xml_node bk = child(root, "BkToCstmrStmt");
    if (!bk) {
        return camt.bad("Document", root, "has no BkToCstmrStmt");
    }
    const auto stmts = children(bk, "Stmt");
    if (stmts.empty()) {
        return camt.bad("Document/BkToCstmrStmt", bk, "has no Stmt");
    }
    BankStatement st;
    st.format = StatementFormat::kCamt053;
    for (std::size_t s = 0; s < stmts.size(); ++s) {
        const pugi::xml_node stmt = stmts[s];
        const std::string sp = "Stmt[" + std::to_string(s + 1) + "]";
        const pugi::xml_node acct = child(stmt, "Acct");
        if (const std::string ccy = text_of(child(acct, "Ccy")); !ccy.empty()) {
            auto c = currencies.lookup(ccy);
            if (!c) {
                return camt.bad(sp + "/Acct/Ccy", child(acct, "Ccy"), c.error().message());
            }
            if (st.currency && *st.currency != *c) {
                return camt.bad(
                    sp + "/Acct/Ccy", child(acct, "Ccy"),
                    "is " + ccy + ", an earlier Stmt is in " + st.currency->to_string());
            }
            st.currency = *c;
        }
        if (st.account.empty()) {
            st.account = text_of(path(acct, {"Id", "IBAN"}));
            if (st.account.empty()) {
                st.account = text_of(path(acct, {"Id", "Othr", "Id"}));
            }
        }
        const auto bals = children(stmt, "Bal");
        for (std::size_t b = 0; b < bals.size(); ++b) {
            const pugi::xml_node bal = bals[b];
            const std::string bp = sp + "/Bal[" + std::to_string(b + 1) + "]";
            pugi::xml_node cd = path(bal, {"Tp", "CdOrPrtry", "Cd"});
            const std::string code = text_of(cd);
            const bool opening = code == "OPBD" || code == "PRCD";
            const bool closing = code == "CLBD";
            if (!opening && !closing) {
                continue;  // CLAV, ITBD, FWAV, ...: not needed to reconcile
            }
            auto m = camt.amount(bal, bp);
            if (!m) {
                return fail(m.error());
            }
            auto d = camt.date(child(bal, "Dt"), bp + "/Dt");
            if (!d) {
                return fail(d.error());
            }
            BankBalance value{camt.where(bp, bal), *d, *m};
            if (opening) {
                // The first statement's opening balance; OPBD wins over PRCD.
                if (s == 0 && (!st.opening || code == "OPBD")) {
                    st.opening = value;
                }
            } else {
                st.closing = value;  // the last statement's closing balance
            }
        }
        const auto ntries = children(stmt, "Ntry");
        for (std::size_t n = 0; n < ntries.size(); ++n) {
            const pugi::xml_node ntry = ntries[n];
            const std::string np = sp + "/Ntry[" + std::to_string(n + 1) + "]";
            pugi::xml_node sts = child(ntry, "Sts");
            std::string status = text_of(sts);
            if (status.empty()) {
                status = text_of(child(sts, "Cd"));  // camt.053.001.08 and later
            }
            if (!status.empty() && status != "BOOK") {
                continue;  // pending or information-only entries have not moved the balance
            }
            auto m = camt.amount(ntry, np);
            if (!m) {
                return fail(m.error());
            }
            pugi::xml_node when = child(ntry, "ValDt");
            std::string wp = np + "/ValDt";
            if (!when) {
                when = child(ntry, "BookgDt");
                wp = np + "/BookgDt";
            }
            if (!when) {
                return camt.bad(np, ntry, "has neither ValDt nor BookgDt");
            }
            auto d = camt.date(when, wp);
            if (!d) {
                return fail(d.error());
            }
            st.lines.push_back(BankLine{camt.where(np, ntry), *d, entry_reference(ntry), *m,
                                        text_of(child(ntry, "AddtlNtryInf"))});
        }
    }
    return st;
}

Result<BankStatement> read_statement(const std::filesystem::path& p,
                                     std::optional<StatementFormat> format,
                                     const money::CurrencyTable& currencies) {
    std::ifstream in(p, std::ios::binary);
    if (!in) {
        return fail(StatusCode::kIoError,
                    "cannot read statement " + p.string() + ": " +
                        (std::filesystem::exists(p) ? "permission denied" : "no such file"));
    }
    std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad()) {
        return fail(StatusCode::kIoError, "reading statement " + p.string() + " failed");
    }
    const StatementFormat f = format.value_or(detect_statement_format(content));
    auto st = f == StatementFormat::kCsv ? parse_csv_statement(content, currencies)
                                         : parse_camt053_statement(content, currencies);
    if (!st) {
        return fail(st.error().code(), p.filename().string() + ": " + st.error().message());
    }
    return st;
}

}  // namespace fxsettle::fxledger
