// fxledger's library pieces called directly: times, CSV quoting, table alignment.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <sstream>

#include "tests/integration/fxledger/fxledger_test_support.h"
#include "tools/fxledger/commands.h"
#include "tools/fxledger/report.h"
#include "tools/fxledger/statement.h"

namespace fxsettle::fxledger::testing {
namespace {

TEST(FxledgerLib, TimesRoundTripExactly) {
    for (const char* text :
         {"2026-11-23T10:00:00Z", "2026-11-23T10:00:00.5Z", "2026-11-23T10:00:00.000000001Z",
          "1970-01-01T00:00:00Z", "2024-02-29T23:59:59.123456789Z"}) {
        auto t = parse_time(text);
        ASSERT_TRUE(t.has_value()) << text << ": " << t.error().to_string();
        EXPECT_EQ(format_time(*t), text);
    }
    EXPECT_EQ(format_time(*parse_time("2026-11-23T11:30:00+01:30")), "2026-11-23T10:00:00Z");
    EXPECT_EQ(format_time(*parse_time("2026-11-23t10:00:00z")), "2026-11-23T10:00:00Z");
    EXPECT_EQ(format_time(*parse_time("2026-11-23")), "2026-11-23T00:00:00Z");
    for (const char* bad : {"", "2026-11-23T10:00", "2026-11-23T10:00:00", "2026-11-31",
                            "2026-11-23T24:00:00Z", "2026-11-23T10:00:00.Z",
                            "2026-11-23T10:00:00+1:00", "23/11/2026", "2026-11-23T10:00:00Zjunk"}) {
        auto t = parse_time(bad);
        EXPECT_FALSE(t.has_value()) << bad;
        if (!t) {
            EXPECT_EQ(t.error().code(), StatusCode::kInvalidArgument);
        }
    }
    EXPECT_EQ(format_date(*parse_date("2026-11-23T23:59:59Z")), "2026-11-23");
}

// Found by tests/fuzz (statement_import): a time in the year 1013 overflowed the 64-bit
// nanoseconds of a ledger time (UBSan: signed integer overflow in std::chrono).
TEST(FxledgerLib, TimesOutsideWhatALedgerTimeHoldsAreRefusedNamingTheRange) {
    for (const char* bad :
         {"1013-11-24T01:02:03+09:00", "1013-11-24", "0000-01-01T00:00:00Z", "1677-12-31T23:59:59Z",
          "2262-01-01T00:00:00Z", "9999-12-31T23:59:59Z"}) {
        auto t = parse_time(bad);
        ASSERT_FALSE(t.has_value()) << bad << " gave " << format_time(*t);
        EXPECT_EQ(t.error().code(), StatusCode::kInvalidArgument) << bad;
        EXPECT_THAT(t.error().message(), ::testing::HasSubstr("outside the years 1678-2261"))
            << bad;
    }
    for (const char* good : {"1678-01-01T00:00:00Z", "2261-12-31T23:59:59.999999999Z"}) {
        auto t = parse_time(good);
        ASSERT_TRUE(t.has_value()) << good << ": " << t.error().to_string();
        EXPECT_EQ(format_time(*t), good);
    }
    // The camt.053 entry that found it: the reader falls back to the DtTm's date part
    // when the time does not parse, so the line keeps its calendar date.
    const std::string camt =
        "<Document><BkToCstmrStmt><Stmt><Ntry><Amt Ccy=\"JPY\">1000</Amt>"
        "<CdtDbtInd>DBIT</CdtDbtInd><ValDt><DtTm>1013-11-24T01:02:03+09:00</DtTm></ValDt>"
        "<NtryRef>R-1</NtryRef></Ntry></Stmt></BkToCstmrStmt></Document>";
    auto statement = parse_camt053_statement(camt);
    ASSERT_TRUE(statement.has_value()) << statement.error().to_string();
    ASSERT_EQ(statement->lines.size(), 1u);
    EXPECT_EQ(format_date(statement->lines[0].date), "1013-11-24");
}

TEST(FxledgerLib, AtIsASequenceOrATime) {
    EXPECT_EQ(parse_at("#17")->sequence, 17u);
    EXPECT_EQ(parse_at("17")->sequence, 17u);
    EXPECT_TRUE(parse_at("2026-11-23T10:00:00Z")->time.has_value());
    EXPECT_FALSE(parse_at("#").has_value());
    EXPECT_FALSE(parse_at("").has_value());
    EXPECT_FALSE(parse_at("#x1").has_value());
}

TEST(FxledgerLib, CsvQuotingAndAlignedTables) {
    EXPECT_EQ(csv_field("plain"), "plain");
    EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
    EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
    EXPECT_EQ(csv_field(" pad"), "\" pad\"");
    Table t;
    t.columns = {"name", "amount"};
    t.add({Cell::str("Zürich"), Cell::amount(money::Amount::from_minor(-5), ccy("KWD"))});
    t.add({Cell::str("x"), Cell::amount(money::Amount::from_minor(123456), ccy("USD"))});
    std::ostringstream out;
    print_table(out, t);
    EXPECT_EQ(out.str(),
              "name     amount\n"
              "------  -------\n"
              "Zürich   -0.005\n"
              "x       1234.56\n");
    Report r;
    r.fields = {{"a", Cell::num(1)}, {"b", Cell::null()}};
    std::ostringstream json;
    print_report(json, r, OutputFormat::kJson);
    EXPECT_EQ(nlohmann::json::parse(json.str()), nlohmann::json({{"a", 1}, {"b", nullptr}}));
}

TEST(FxledgerLib, SequenceAtTimeOnTheFixture) {
    auto l = open_ledger(fixture().ledger);
    ASSERT_TRUE(l.has_value()) << l.error().to_string();
    auto v = (*l)->read();
    ASSERT_TRUE(v.has_value());
    EXPECT_EQ(*sequence_at_time(**v, minute(0)), 0u);
    EXPECT_EQ(*sequence_at_time(**v, minute(1)), 1u);
    EXPECT_EQ(*sequence_at_time(**v, minute(5) + std::chrono::seconds(30)), 5u);
    EXPECT_EQ(*sequence_at_time(**v, minute(1000)), fixture().last_sequence);
}

}  // namespace
}  // namespace fxsettle::fxledger::testing
