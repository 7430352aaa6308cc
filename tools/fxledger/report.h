// fxledger's output layer: a report is a few key/value fields and a table, printed as an
// aligned table for people or as CSV / JSON for programs. Amounts arrive here already
// formatted exactly (money::format_amount) and stay strings in every format, JSON too:
// no number in a report ever passes through a float.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/base/status.h"
#include "engine/money/amount.h"
#include "ledger/types.h"

namespace fxsettle::fxledger {

enum class OutputFormat { kTable, kCsv, kJson };
// "table", "csv" or "json"; anything else fails with kInvalidArgument.
Result<OutputFormat> parse_output_format(std::string_view name);

// One value of a report. The kind decides alignment in tables (numbers and amounts to
// the right) and the JSON type (integers and booleans as JSON numbers and booleans,
// amounts and text as strings, null as null).
struct Cell {
    enum class Kind { kText, kInteger, kAmount, kBool, kNull };
    Kind kind = Kind::kNull;
    std::string text;
    std::uint64_t integer = 0;
    bool boolean = false;

    static Cell str(std::string s) { return Cell{Kind::kText, std::move(s), 0, false}; }
    static Cell num(std::uint64_t n) { return Cell{Kind::kInteger, std::to_string(n), n, false}; }
    static Cell amount(const money::Amount& a, const money::Currency& c);
    static Cell flag(bool b) { return Cell{Kind::kBool, b ? "true" : "false", 0, b}; }
    static Cell null() { return Cell{}; }

    nlohmann::json to_json() const;
};

struct Table {
    std::vector<std::string> columns;  // snake_case: the CSV header and the JSON keys
    std::vector<std::vector<Cell>> rows;
    // In the aligned table only, a row marked as a continuation shows blanks in its first
    // `group_columns` cells (the postings of one entry under a single entry heading).
    std::vector<bool> continuation;
    std::size_t group_columns = 0;

    void add(std::vector<Cell> row, bool continues = false) {
        rows.push_back(std::move(row));
        continuation.push_back(continues);
    }
    // The rows as an array of objects keyed by column name.
    nlohmann::json to_json() const;
};

// What a command prints: fields (a heading of key/value pairs), an optional table, and
// optionally a JSON document of its own shape (nested entries) instead of the generic one.
struct Report {
    std::vector<std::pair<std::string, Cell>> fields;
    std::optional<Table> table;
    std::string table_key = "rows";  // the table's key in the generic JSON object
    std::optional<nlohmann::json> json;
    // CSV normally prints the table (or, without one, the fields as one row); this one
    // replaces it (e.g. `show` prints its postings flattened like `entries`).
    std::optional<Table> csv;
};

// Prints `report` in `format` on `out`:
// - table: the fields as aligned "key  value" lines, a blank line, then the table;
// - csv: RFC 4180 (header row, quoting where needed, CRLF-free "\n" line ends);
// - json: `report.json` if set; otherwise the table as an array of objects when there
//   are no fields, or an object of the fields plus the table under `table_key`.
void print_report(std::ostream& out, const Report& report, OutputFormat format);

void print_table(std::ostream& out, const Table& table);
void print_csv(std::ostream& out, const Table& table);
// One CSV field, quoted when it holds a comma, quote, CR or LF, or leading/trailing space.
std::string csv_field(std::string_view text);

// RFC 3339 UTC text: "2026-11-23T10:00:00Z", with the fraction of a second only when
// there is one ("…:00.5Z", "…:00.000000001Z").
std::string format_time(ledger::Timestamp t);
// "2026-11-23".
std::string format_date(ledger::Date d);
// The whole years a ledger::Timestamp (64-bit nanoseconds since 1970) can hold.
inline constexpr int kTimeYearMin = 1678;
inline constexpr int kTimeYearMax = 2261;
// Accepts an RFC 3339 date-time ("2026-11-23T10:00:00Z", "…T10:00:00.25+01:00", 't'/'z'
// or a space as separator) or a plain date ("2026-11-23": midnight UTC), in the years
// kTimeYearMin-kTimeYearMax. Fails with kInvalidArgument naming the text and what is wrong.
Result<ledger::Timestamp> parse_time(std::string_view text);
// "2026-11-23" (or the date part of an RFC 3339 date-time).
Result<ledger::Date> parse_date(std::string_view text);

// The 64 hex digits of a hash.
std::string hex32(const std::array<std::uint8_t, 32>& bytes);

}  // namespace fxsettle::fxledger
