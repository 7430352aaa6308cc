#include "tools/fxledger/report.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace fxsettle::fxledger {

Result<OutputFormat> parse_output_format(std::string_view name) {
    if (name == "table") {
        return OutputFormat::kTable;
    }
    if (name == "csv") {
        return OutputFormat::kCsv;
    }
    if (name == "json") {
        return OutputFormat::kJson;
    }
    return fail(StatusCode::kInvalidArgument,
                "unknown output format '" + std::string(name) + "' (table, csv or json)");
}

Cell Cell::amount(const money::Amount& a, const money::Currency& c) {
    return Cell{Kind::kAmount, money::format_amount(a, c), 0, false};
}

nlohmann::json Cell::to_json() const {
    switch (kind) {
        case Kind::kText:
        case Kind::kAmount:
            return text;
        case Kind::kInteger:
            return integer;
        case Kind::kBool:
            return boolean;
        case Kind::kNull:
            break;
    }
    return nullptr;
}

nlohmann::json Table::to_json() const {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& row : rows) {
        nlohmann::json obj = nlohmann::json::object();
        for (std::size_t i = 0; i < columns.size() && i < row.size(); ++i) {
            obj[columns[i]] = row[i].to_json();
        }
        out.push_back(std::move(obj));
    }
    return out;
}

namespace {

// Display width of UTF-8 text: one column per code point (continuation bytes count 0).
std::size_t width(std::string_view s) {
    return static_cast<std::size_t>(std::count_if(
        s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

void pad(std::ostream& out, std::size_t n) {
    for (std::size_t i = 0; i < n; ++i) {
        out.put(' ');
    }
}

bool right_aligned(Cell::Kind k) {
    return k == Cell::Kind::kInteger || k == Cell::Kind::kAmount;
}

}  // namespace

void print_table(std::ostream& out, const Table& table) {
    const std::size_t n = table.columns.size();
    std::vector<std::size_t> widths(n);
    std::vector<bool> right(n, false);
    for (std::size_t i = 0; i < n; ++i) {
        widths[i] = width(table.columns[i]);
    }
    auto shown = [&](std::size_t r, std::size_t i) -> std::string_view {
        const bool blank =
            r < table.continuation.size() && table.continuation[r] && i < table.group_columns;
        return blank || i >= table.rows[r].size() ? std::string_view{} : table.rows[r][i].text;
    };
    for (std::size_t r = 0; r < table.rows.size(); ++r) {
        for (std::size_t i = 0; i < n && i < table.rows[r].size(); ++i) {
            widths[i] = std::max(widths[i], width(shown(r, i)));
            if (right_aligned(table.rows[r][i].kind)) {
                right[i] = true;
            }
        }
    }
    auto line = [&](auto cell_text) {
        std::string text;
        for (std::size_t i = 0; i < n; ++i) {
            const std::string_view t = cell_text(i);
            const std::size_t fill = widths[i] - width(t);
            std::string cell;
            if (right[i]) {
                cell.append(fill, ' ');
                cell.append(t);
            } else {
                cell.append(t);
                if (i + 1 < n) {
                    cell.append(fill, ' ');
                }
            }
            if (i > 0) {
                text.append("  ");
            }
            text.append(cell);
        }
        while (!text.empty() && text.back() == ' ') {
            text.pop_back();
        }
        out << text << '\n';
    };
    line([&](std::size_t i) { return std::string_view(table.columns[i]); });
    line([&](std::size_t i) {
        static const std::string dashes(256, '-');
        return std::string_view(dashes).substr(0, std::min<std::size_t>(widths[i], 256));
    });
    for (std::size_t r = 0; r < table.rows.size(); ++r) {
        line([&](std::size_t i) { return shown(r, i); });
    }
    if (table.rows.empty()) {
        out << "(none)\n";
    }
}

std::string csv_field(std::string_view text) {
    const bool quote = text.find_first_of(",\"\r\n") != std::string_view::npos ||
                       (!text.empty() && (text.front() == ' ' || text.back() == ' '));
    if (!quote) {
        return std::string(text);
    }
    std::string out = "\"";
    for (char c : text) {
        if (c == '"') {
            out.push_back('"');
        }
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

void print_csv(std::ostream& out, const Table& table) {
    for (std::size_t i = 0; i < table.columns.size(); ++i) {
        out << (i ? "," : "") << csv_field(table.columns[i]);
    }
    out << '\n';
    for (const auto& row : table.rows) {
        for (std::size_t i = 0; i < table.columns.size(); ++i) {
            out << (i ? "," : "") << (i < row.size() ? csv_field(row[i].text) : "");
        }
        out << '\n';
    }
}

void print_report(std::ostream& out, const Report& report, OutputFormat format) {
    switch (format) {
        case OutputFormat::kTable: {
            std::size_t key_width = 0;
            for (const auto& [key, cell] : report.fields) {
                key_width = std::max(key_width, key.size());
            }
            for (const auto& [key, cell] : report.fields) {
                out << key << ':';
                pad(out, key_width - key.size() + 1);
                out << (cell.kind == Cell::Kind::kNull ? "-" : cell.text) << '\n';
            }
            if (report.table) {
                if (!report.fields.empty()) {
                    out << '\n';
                }
                print_table(out, *report.table);
            }
            return;
        }
        case OutputFormat::kCsv: {
            if (report.csv) {
                print_csv(out, *report.csv);
            } else if (report.table) {
                print_csv(out, *report.table);
            } else {
                Table one;
                std::vector<Cell> row;
                for (const auto& [key, cell] : report.fields) {
                    one.columns.push_back(key);
                    row.push_back(cell);
                }
                one.add(std::move(row));
                print_csv(out, one);
            }
            return;
        }
        case OutputFormat::kJson: {
            nlohmann::json doc;
            if (report.json) {
                doc = *report.json;
            } else if (report.fields.empty() && report.table) {
                doc = report.table->to_json();
            } else {
                doc = nlohmann::json::object();
                for (const auto& [key, cell] : report.fields) {
                    doc[key] = cell.to_json();
                }
                if (report.table) {
                    doc[report.table_key] = report.table->to_json();
                }
            }
            out << doc.dump(2) << '\n';
            return;
        }
    }
}

// ---------------------------------------------------------------------------------------
// Times and dates

std::string format_date(ledger::Date d) {
    const std::chrono::year_month_day ymd(d);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
    return buf;
}

std::string format_time(ledger::Timestamp t) {
    using namespace std::chrono;
    const auto day = floor<days>(t);
    const auto ns = (t - day).count();  // nanoseconds into the day, >= 0
    const std::int64_t secs = ns / 1'000'000'000;
    std::int64_t frac = ns % 1'000'000'000;
    char buf[64];
    std::snprintf(buf, sizeof buf, "T%02d:%02d:%02d", static_cast<int>(secs / 3600),
                  static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60));
    std::string out = format_date(day) + buf;
    if (frac != 0) {
        int digits = 9;
        while (frac % 10 == 0) {
            frac /= 10;
            --digits;
        }
        std::snprintf(buf, sizeof buf, ".%0*lld", digits, static_cast<long long>(frac));
        out += buf;
    }
    return out + "Z";
}

namespace {

// Reads exactly `n` decimal digits at `pos`.
bool digits(std::string_view s, std::size_t pos, std::size_t n, int& value) {
    if (pos + n > s.size()) {
        return false;
    }
    value = 0;
    for (std::size_t i = pos; i < pos + n; ++i) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
        value = value * 10 + (s[i] - '0');
    }
    return true;
}

Result<ledger::Date> date_prefix(std::string_view text, std::string_view what) {
    int y = 0;
    int m = 0;
    int d = 0;
    if (!digits(text, 0, 4, y) || text.size() < 10 || text[4] != '-' || !digits(text, 5, 2, m) ||
        text[7] != '-' || !digits(text, 8, 2, d)) {
        return fail(StatusCode::kInvalidArgument,
                    std::string(what) + " '" + std::string(text) +
                        "' is not a date (YYYY-MM-DD) or RFC 3339 time (YYYY-MM-DDTHH:MM:SSZ)");
    }
    const std::chrono::year_month_day ymd{std::chrono::year(y),
                                          std::chrono::month(static_cast<unsigned>(m)),
                                          std::chrono::day(static_cast<unsigned>(d))};
    if (!ymd.ok()) {
        return fail(StatusCode::kInvalidArgument,
                    std::string(what) + " '" + std::string(text) + "' is not a calendar date");
    }
    return ledger::Date(ymd);
}

}  // namespace

Result<ledger::Date> parse_date(std::string_view text) {
    auto d = date_prefix(text, "date");
    if (!d) {
        return d;
    }
    if (text.size() == 10) {
        return d;
    }
    auto t = parse_time(text);
    if (!t) {
        return fail(t.error());
    }
    return std::chrono::floor<std::chrono::days>(*t);
}

Result<ledger::Timestamp> parse_time(std::string_view text) {
    using namespace std::chrono;
    auto bad = [&](std::string_view why) {
        return fail(StatusCode::kInvalidArgument,
                    "time '" + std::string(text) + "' " + std::string(why) +
                        " (expected RFC 3339 UTC such as 2026-11-23T10:00:00Z, or a date)");
    };
    auto day = date_prefix(text, "time");
    if (!day) {
        return fail(day.error());
    }
    // A ledger time is 64-bit nanoseconds since 1970 (about 1677-09-21 to 2262-04-11):
    // a year outside these whole years would overflow (signed overflow, found by
    // tests/fuzz statement_import with a camt.053 DtTm in the year 1013).
    const int year = static_cast<int>(year_month_day(*day).year());
    if (year < kTimeYearMin || year > kTimeYearMax) {
        return bad("is outside the years " + std::to_string(kTimeYearMin) + "-" +
                   std::to_string(kTimeYearMax) + " a ledger time can hold");
    }
    if (text.size() == 10) {
        return ledger::Timestamp(*day);
    }
    const char sep = text[10];
    if (sep != 'T' && sep != 't' && sep != ' ') {
        return bad("has no 'T' between date and time");
    }
    int hh = 0;
    int mm = 0;
    int ss = 0;
    if (!digits(text, 11, 2, hh) || text.size() < 19 || text[13] != ':' ||
        !digits(text, 14, 2, mm) || text[16] != ':' || !digits(text, 17, 2, ss)) {
        return bad("has no time of day HH:MM:SS");
    }
    if (hh > 23 || mm > 59 || ss > 60) {
        return bad("has an hour, minute or second out of range");
    }
    std::size_t pos = 19;
    std::int64_t frac_ns = 0;
    if (pos < text.size() && text[pos] == '.') {
        ++pos;
        int n = 0;
        std::int64_t scale = 100'000'000;
        while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
            if (n < 9) {
                frac_ns += (text[pos] - '0') * scale;
                scale /= 10;
            } else if (text[pos] != '0') {
                return bad("has more precision than nanoseconds");
            }
            ++n;
            ++pos;
        }
        if (n == 0) {
            return bad("has a '.' without digits");
        }
    }
    if (pos >= text.size()) {
        return bad("has no time zone: add 'Z' for UTC");
    }
    std::int64_t offset_s = 0;
    if ((text[pos] == 'Z' || text[pos] == 'z') && pos + 1 == text.size()) {
        // UTC
    } else if ((text[pos] == '+' || text[pos] == '-') && pos + 6 == text.size()) {
        int oh = 0;
        int om = 0;
        if (!digits(text, pos + 1, 2, oh) || text[pos + 3] != ':' ||
            !digits(text, pos + 4, 2, om) || oh > 23 || om > 59) {
            return bad("has a malformed offset (+HH:MM)");
        }
        offset_s = (oh * 3600 + om * 60) * (text[pos] == '-' ? -1 : 1);
    } else {
        return bad("ends in something that is not 'Z' or an offset +HH:MM");
    }
    const auto t = ledger::Timestamp(*day) + hours(hh) + minutes(mm) + seconds(ss) +
                   nanoseconds(frac_ns) - seconds(offset_s);
    return t;
}

std::string hex32(const std::array<std::uint8_t, 32>& bytes) {
    static constexpr char kDigits[] = "0123456789abcdef";
    std::string out;
    out.reserve(64);
    for (auto b : bytes) {
        out.push_back(kDigits[b >> 4]);
        out.push_back(kDigits[b & 15]);
    }
    return out;
}

}  // namespace fxsettle::fxledger
