// statement_import: a bank statement file -> fxledger's parsers (tools/fxledger/
// statement.h): the CSV reader and the camt.053 reader (pugixml), both run on every input,
// with the ISO 4217 table as `fxledger reconcile` uses it.
// Properties: never a crash or a sanitizer report; a refusal is kInvalidArgument with a
// message; an accepted statement's lines and balances each have a location, and every
// amount is in a currency of the table.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "tests/fuzz/fuzz_check.h"
#include "tools/fxledger/statement.h"

namespace {

using fxsettle::fuzz::check;
namespace fxledger = fxsettle::fxledger;

void check_statement(const fxsettle::Result<fxledger::BankStatement>& r, std::string_view format) {
    if (!r) {
        check(r.error().code() == fxsettle::StatusCode::kInvalidArgument,
              "a refused statement is kInvalidArgument", r.error().message());
        check(!r.error().message().empty(), "a refused statement names the problem", format);
        return;
    }
    const auto& table = fxsettle::money::CurrencyTable::iso();
    auto known = [&](const fxsettle::money::Money& m) {
        return table.find(m.currency.code_view()).has_value();
    };
    for (const fxledger::BankLine& line : r->lines) {
        check(!line.location.empty(), "every statement line has a location", format);
        check(known(line.amount), "every statement line's currency is in the table", format);
    }
    for (const auto* balance : {&r->opening, &r->closing}) {
        if (*balance) {
            check(!(*balance)->location.empty(), "a statement balance has a location", format);
            check(known((*balance)->amount), "a statement balance's currency is in the table",
                  format);
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view content(reinterpret_cast<const char*>(data), size);
    check_statement(fxledger::parse_csv_statement(content), "csv");
    check_statement(fxledger::parse_camt053_statement(content), "camt053");
    (void)fxledger::detect_statement_format(content);
    return 0;
}
