// Configs that must be rejected. Each test breaks one thing in a valid config and checks
// that the message names the file, the line (and column) and the key path.
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.h"
#include "config_test_support.h"

namespace fxsettle::config {
namespace {

using ::testing::AllOf;
using testing::at_line_of;
using ::testing::HasSubstr;
using testing::load_error;
using ::testing::Not;
using testing::replaced;
using ::testing::StartsWith;
using testing::valid_config;

TEST(ConfigErrors, TheBaseConfigOfTheseTestsIsValid) {
    auto config = load_config_string(valid_config(), testing::kSource);
    ASSERT_TRUE(config.has_value()) << config.error().message();
}

// ---- syntax ---------------------------------------------------------------------------

TEST(ConfigErrors, SyntaxErrorNamesFileLineColumnAndTomlsDescription) {
    const std::string text = "[node]\nname = \"n\"\n\n[engine]\nqueue_max = = 5\n";
    EXPECT_THAT(load_error(text),
                AllOf(StartsWith("test.toml:5:"), HasSubstr(": TOML syntax error: ")));
}

TEST(ConfigErrors, DuplicateKeyIsASyntaxErrorAtTheSecondOne) {
    const std::string text = "[node]\nname = \"n\"\nname = \"m\"\n";
    EXPECT_THAT(load_error(text), StartsWith("test.toml:3:"));
}

// ---- unknown keys ---------------------------------------------------------------------

TEST(ConfigErrors, UnknownTopLevelKeyIsNamedWithItsLine) {
    const std::string text = "colour = \"red\"\n" + valid_config();
    EXPECT_THAT(load_error(text), HasSubstr(at_line_of(text, "colour") + "1: colour: unknown key"));
}

TEST(ConfigErrors, UnknownTopLevelTableIsNamedWithItsLine) {
    const std::string text = valid_config() + "\n[enigne]\nqueue_max = 5\n";
    EXPECT_THAT(load_error(text),
                HasSubstr(at_line_of(text, "[enigne]") + "2: enigne: unknown key"));
}

TEST(ConfigErrors, UnknownKeyInATableIsNamedWithItsPath) {
    const std::string text = valid_config() + "\n[engine]\nqueue_mx = 5\n";
    EXPECT_THAT(load_error(text),
                HasSubstr(at_line_of(text, "queue_mx") + "1: engine.queue_mx: unknown key"));
}

TEST(ConfigErrors, UnknownKeyInAnArrayOfTablesNamesTheIndex) {
    const std::string text =
        replaced(valid_config(), "spread_bps = 10", "spread_bps = 10\nspred = 1");
    EXPECT_THAT(load_error(text),
                HasSubstr(at_line_of(text, "spred") + "1: psps[0].spred: unknown key"));
}

TEST(ConfigErrors, UnknownKeyInAnInlineTableIsNamed) {
    const std::string text =
        replaced(valid_config(), "currency = \"USD\" }", "currency = \"USD\", kind = 1 }");
    EXPECT_THAT(load_error(text), AllOf(HasSubstr(at_line_of(text, "kind")),
                                        HasSubstr(": psps[0].aggregate_cap.kind: unknown key")));
}

TEST(ConfigErrors, TlsKeyOnlyTheGatewayHasIsUnknownOnAVenue) {
    const std::string text =
        valid_config() + "\n[venues.tls]\nca = \"x\"\nrequire_client_cert = true\n";
    EXPECT_THAT(load_error(text), HasSubstr(at_line_of(text, "require_client_cert") +
                                            "1: venues[0].tls.require_client_cert: unknown key"));
}

// ---- types and required keys ----------------------------------------------------------

TEST(ConfigErrors, WrongTypeNamesExpectedAndActual) {
    const std::string text = valid_config() + "\n[engine]\nqueue_max = \"big\"\n";
    EXPECT_THAT(load_error(text),
                HasSubstr(at_line_of(text, "queue_max") +
                          "13: engine.queue_max: expected an integer, got string"));
}

TEST(ConfigErrors, TableGivenAsAValueIsATypeError) {
    const std::string text = "metrics = 5\n" + valid_config();
    EXPECT_THAT(load_error(text), HasSubstr(at_line_of(text, "metrics") +
                                            "11: metrics: expected a table, got integer"));
}

TEST(ConfigErrors, MissingRequiredKeyNamesItAtItsTable) {
    const std::string text = replaced(valid_config(), "username = \"alpha\"\n", "");
    EXPECT_THAT(load_error(text), HasSubstr(at_line_of(text, "[[psps]]") +
                                            "1: psps[0].username: missing required key"));
}

TEST(ConfigErrors, MissingNodeTableIsReported) {
    const std::string text = replaced(valid_config(), "[node]\nname = \"test-node\"\n", "");
    EXPECT_THAT(load_error(text), HasSubstr("test.toml:1:1: node: missing required key"));
}

TEST(ConfigErrors, BooleanWrittenAsStringIsATypeError) {
    const std::string text = valid_config() + "\n[metrics]\nenabled = \"yes\"\n";
    EXPECT_THAT(load_error(text),
                HasSubstr(at_line_of(text, "enabled") + "11: metrics.enabled: expected a boolean"));
}

// ---- numbers and _max -----------------------------------------------------------------

TEST(ConfigErrors, OutOfRangeNumberNamesTheAllowedRange) {
    const std::string text = valid_config() + "\n[engine]\nfx_buffer_bps = 99999\n";
    EXPECT_THAT(load_error(text), HasSubstr(at_line_of(text, "fx_buffer_bps") +
                                            "17: engine.fx_buffer_bps: 99999 is out of range; "
                                            "allowed 0..5000"));
}

TEST(ConfigErrors, HedgeTimeoutOutsideOneSecondToOneHourIsRejected) {
    for (const char* value : {"999", "3600001", "0", "-30000"}) {
        const std::string text = valid_config() + "\n[engine]\nhedge_timeout_ms = " + value + "\n";
        EXPECT_THAT(load_error(text), HasSubstr(at_line_of(text, "hedge_timeout_ms") +
                                                "20: engine.hedge_timeout_ms: " + value +
                                                " is out of range; allowed 1000..3600000"))
            << "hedge_timeout_ms = " << value;
    }
}

// The gateway's bound on connections that have not logged on: 1..4096 (0 would refuse
// every PSP; no bound at all is what it exists to prevent).
TEST(ConfigErrors, UnauthenticatedConnectionsMaxOutsideOneTo4096IsRejected) {
    for (const char* value : {"0", "4097", "-1"}) {
        const std::string text =
            valid_config() + "\n[gateway]\nunauthenticated_connections_max = " + value + "\n";
        EXPECT_THAT(load_error(text),
                    HasSubstr(at_line_of(text, "unauthenticated_connections_max") +
                              "35: gateway.unauthenticated_connections_max: " + value +
                              " is out of range; allowed 1..4096"))
            << "unauthenticated_connections_max = " << value;
    }
}

// The logon deadline: 1..300 s (0 would close every connection before its Logon).
TEST(ConfigErrors, LogonDeadlineOutsideOneTo300SecondsIsRejected) {
    for (const char* value : {"0", "301", "-5"}) {
        const std::string text = valid_config() + "\n[gateway]\nlogon_deadline_s = " + value + "\n";
        EXPECT_THAT(load_error(text), HasSubstr(at_line_of(text, "logon_deadline_s") +
                                                "20: gateway.logon_deadline_s: " + value +
                                                " is out of range; allowed 1..300"))
            << "logon_deadline_s = " << value;
    }
}

TEST(ConfigErrors, MaxOfZeroIsRejected) {
    const std::string text = valid_config() + "\n[engine]\nqueue_max = 0\n";
    EXPECT_THAT(load_error(text), HasSubstr(at_line_of(text, "queue_max") +
                                            "13: engine.queue_max: 0 is out of range"));
}

TEST(ConfigErrors, AbsurdlyLargeMaxIsRejected) {
    const std::string text = valid_config() + "\n[ledger]\nbatch_max = 4294967296\n";
    EXPECT_THAT(load_error(text), HasSubstr(at_line_of(text, "batch_max") +
                                            "13: ledger.batch_max: 4294967296 is out of range; "
                                            "allowed 1..1048576"));
}

TEST(ConfigErrors, EngineBatchLargerThanQueueIsRejected) {
    const std::string text = valid_config() + "\n[engine]\nqueue_max = 10\nbatch_max = 20\n";
    EXPECT_THAT(load_error(text),
                HasSubstr(at_line_of(text, "batch_max") +
                          "13: engine.batch_max: 20 exceeds engine.queue_max (10)"));
}

TEST(ConfigErrors, EngineBatchLargerThanLedgerBatchIsRejected) {
    const std::string text =
        valid_config() + "\n[engine]\nbatch_max = 2000\n[ledger]\nbatch_max = 1000\n";
    EXPECT_THAT(load_error(text),
                HasSubstr("engine.batch_max: 2000 exceeds ledger.batch_max (1000)"));
}

TEST(ConfigErrors, MapInitialSizeAboveMaxIsRejected) {
    const std::string text =
        valid_config() + "\n[ledger]\nmap_size_initial_mb = 100\nmap_size_max_mb = 10\n";
    EXPECT_THAT(load_error(text), HasSubstr(at_line_of(text, "map_size_initial_mb") +
                                            "23: ledger.map_size_initial_mb: map_size_initial_mb "
                                            "(100) exceeds map_size_max_mb (10)"));
}

// ---- ids ------------------------------------------------------------------------------

TEST(ConfigErrors, DuplicatePspIdNamesBothPlaces) {
    std::string text = valid_config();
    const std::string second_psp = R"(
[[psps]]
id = "alpha"
name = "Alpha again"
sender_comp_id = "ALPHA2"
username = "alpha2"
password_hash = "pbkdf2-sha256$1000$00112233445566778899aabbccddeeff$00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
spread_bps = 10
funding_mode = "prefunded"
aggregate_cap = { amount = "1000.00", currency = "USD" }
)";
    text += second_psp;
    const std::string first_line = std::to_string(testing::line_of(text, "id = \"alpha\""));
    const std::string second_line = std::to_string(testing::line_of(text, "Alpha again") - 1);
    EXPECT_THAT(load_error(text),
                HasSubstr("test.toml:" + second_line +
                          ":6: psps[1].id: duplicate id \"alpha\" (first at psps[0].id, line " +
                          first_line + ")"));
}

TEST(ConfigErrors, VenueIdThatIsAPspIdIsADuplicate) {
    const std::string text = replaced(valid_config(), "id = \"venue-a\"", "id = \"alpha\"");
    EXPECT_THAT(load_error(text),
                HasSubstr("venues[0].id: duplicate id \"alpha\" (first at psps[0].id"));
}

TEST(ConfigErrors, DuplicateUsernameIsRejected) {
    std::string text = valid_config();
    text += R"(
[[psps]]
id = "beta"
name = "Beta"
sender_comp_id = "BETA"
username = "alpha"
password_hash = "pbkdf2-sha256$1000$00112233445566778899aabbccddeeff$00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
spread_bps = 10
funding_mode = "prefunded"
aggregate_cap = { amount = "1000.00", currency = "USD" }
)";
    EXPECT_THAT(load_error(text), HasSubstr("psps[1].username: duplicate username \"alpha\""));
}

TEST(ConfigErrors, MalformedIdIsRejected) {
    const std::string text = replaced(valid_config(), "id = \"alpha\"", "id = \"Alpha Pay\"");
    EXPECT_THAT(load_error(text), HasSubstr(at_line_of(text, "Alpha Pay") +
                                            "6: psps[0].id: \"Alpha Pay\" is not a valid id"));
}

TEST(ConfigErrors, PspCompIdEqualToTheGatewaysIsRejected) {
    const std::string text =
        replaced(valid_config(), "sender_comp_id = \"ALPHA\"", "sender_comp_id = \"FXSETTLE\"");
    EXPECT_THAT(
        load_error(text),
        HasSubstr("psps[0].sender_comp_id: \"FXSETTLE\" is the gateway's own sender_comp_id"));
}

TEST(ConfigErrors, TwoInitiatorSessionsWithTheSameCompIdsAreRejected) {
    const std::string text =
        replaced(valid_config(), "target_comp_id = \"BANKA\"", "target_comp_id = \"VENUEA\"");
    EXPECT_THAT(load_error(text),
                HasSubstr("banks[0].target_comp_id: duplicate FIX session \"FXSETTLE->VENUEA\""));
}

// ---- currencies -----------------------------------------------------------------------

TEST(ConfigErrors, UnknownCurrencyCodeAsAMapKeyIsNamed) {
    const std::string text =
        replaced(valid_config(), "credit_limits = { USD", "credit_limits = { XYZ");
    EXPECT_THAT(load_error(text), HasSubstr(at_line_of(text, "XYZ") +
                                            "19: psps[0].credit_limits.XYZ: unknown currency"));
}

TEST(ConfigErrors, LowerCaseCurrencyCodeIsRejected) {
    const std::string text = replaced(valid_config(), "currency = \"CNY\"", "currency = \"cny\"");
    EXPECT_THAT(load_error(text),
                HasSubstr(at_line_of(text, "\"cny\"") + "12: cycles[0].currency: "));
}

TEST(ConfigErrors, NonIsoCurrencyIsUnknownUnlessConfigured) {
    const std::string text = replaced(valid_config(), "code = \"CNH\"", "code = \"CNX\"") +
                             "\n[[cycles]]\ncurrency = \"CNH\"\ncutoffs = [\"04:00\"]\n";
    EXPECT_THAT(load_error(text), HasSubstr(at_line_of(text, "currency = \"CNH\"") +
                                            "12: cycles[1].currency: unknown currency"));
}

TEST(ConfigErrors, IsoCurrencyWithADifferentExponentCannotBeAdded) {
    const std::string text = valid_config() + "\n[[currencies]]\ncode = \"USD\"\nexponent = 3\n";
    EXPECT_THAT(load_error(text),
                HasSubstr(at_line_of(text, "code = \"USD\"") + "8: currencies[1].code: "));
}

TEST(ConfigErrors, DuplicateCycleCurrencyIsRejected) {
    const std::string text =
        valid_config() + "\n[[cycles]]\ncurrency = \"CNY\"\ncutoffs = [\"09:00\"]\n";
    EXPECT_THAT(load_error(text),
                HasSubstr("cycles[1].currency: duplicate cycle currency \"CNY\""));
}

TEST(ConfigErrors, BankCurrencyThatDoesNotExistIsNamedWithItsIndex) {
    const std::string text = replaced(valid_config(), "currencies = [\"CNY\", \"USD\"]",
                                      "currencies = [\"CNY\", \"USX\"]");
    EXPECT_THAT(load_error(text), HasSubstr(at_line_of(text, "USX") +
                                            "22: banks[0].currencies[1]: unknown currency"));
}

// ---- pairs ----------------------------------------------------------------------------

TEST(ConfigErrors, PairOfOneCurrencyWithItselfIsRejected) {
    const std::string text = replaced(valid_config(), "USD/CNY", "USD/USD");
    EXPECT_THAT(load_error(text), HasSubstr(at_line_of(text, "USD/USD") + "10: pairs[0].symbol: "));
}

TEST(ConfigErrors, MalformedPairIsRejected) {
    const std::string text = replaced(valid_config(), "USD/CNY", "USD-CNY");
    EXPECT_THAT(load_error(text), HasSubstr(at_line_of(text, "USD-CNY") + "10: pairs[0].symbol: "));
}

TEST(ConfigErrors, PairListedInBothDirectionsIsRejected) {
    const std::string text =
        valid_config() + "\n[[pairs]]\nsymbol = \"CNY/USD\"\ntick = \"0.0001\"\nmin_qty = \"1\"\n";
    EXPECT_THAT(load_error(text), HasSubstr("pairs[1].symbol: CNY/USD is USD/CNY inverted"));
}

TEST(ConfigErrors, BadTickIsRejected) {
    const std::string text = replaced(valid_config(), "tick = \"0.0001\"", "tick = \"0\"");
    EXPECT_THAT(load_error(text), HasSubstr(at_line_of(text, "tick") + "8: pairs[0].tick: "));
}

TEST(ConfigErrors, VenuePairThatIsNotConfiguredIsRejected) {
    const std::string text = replaced(valid_config(), "target_comp_id = \"VENUEA\"",
                                      "target_comp_id = \"VENUEA\"\npairs = [\"EUR/USD\"]");
    EXPECT_THAT(load_error(text),
                HasSubstr(at_line_of(text, "EUR/USD") +
                          "10: venues[0].pairs[0]: pair EUR/USD is not one of [[pairs]]"));
}

// ---- amounts --------------------------------------------------------------------------

TEST(ConfigErrors, AmountWithTooManyDecimalsSaysWhatTheCurrencyAllows) {
    const std::string text = replaced(valid_config(), "USD = \"100.00\"", "USD = \"12.345\"");
    EXPECT_THAT(
        load_error(text),
        HasSubstr(at_line_of(text, "12.345") +
                  "25: psps[0].credit_limits.USD: amount '12.345' has 3 decimals; USD allows 2"));
}

TEST(ConfigErrors, AmountWrittenAsAFloatSaysToWriteAmountsAsStrings) {
    const std::string text = replaced(valid_config(), "USD = \"100.00\"", "USD = 100.5");
    EXPECT_THAT(load_error(text),
                HasSubstr(at_line_of(text, "100.5") +
                          "25: psps[0].credit_limits.USD: expected an amount as a "
                          "string, got float: write amounts as strings"));
}

TEST(ConfigErrors, AmountWrittenAsAnIntegerSaysToWriteAmountsAsStrings) {
    const std::string text = replaced(valid_config(), "min_qty = \"100.00\"", "min_qty = 100");
    EXPECT_THAT(load_error(text),
                HasSubstr(at_line_of(text, "min_qty") +
                          "11: pairs[0].min_qty: expected an amount as a string, got "
                          "integer: write amounts as strings"));
}

TEST(ConfigErrors, NegativeLimitIsRejected) {
    const std::string text = replaced(valid_config(), "amount = \"1000.00\"", "amount = \"-1.00\"");
    EXPECT_THAT(load_error(text),
                HasSubstr(at_line_of(text, "-1.00") +
                          "28: psps[0].aggregate_cap.amount: amount \"-1.00\" must "
                          "be zero or positive"));
}

TEST(ConfigErrors, GarbageAmountIsRejected) {
    const std::string text = replaced(valid_config(), "min_qty = \"100.00\"", "min_qty = \"1e5\"");
    EXPECT_THAT(load_error(text), HasSubstr(at_line_of(text, "1e5") + "11: pairs[0].min_qty: "));
}

// ---- times and dates ------------------------------------------------------------------

TEST(ConfigErrors, BadTimeOfDayIsNamedWithItsIndex) {
    const std::string text = replaced(valid_config(), "\"08:00\"", "\"25:00\"");
    EXPECT_THAT(load_error(text),
                HasSubstr(at_line_of(text, "25:00") +
                          "21: cycles[0].cutoffs[1]: \"25:00\" is not a time of day"));
}

TEST(ConfigErrors, CutoffsThatDoNotIncreaseAreRejected) {
    const std::string text =
        replaced(valid_config(), "[\"03:00\", \"08:00\"]", "[\"08:00\", \"03:00\"]");
    EXPECT_THAT(
        load_error(text),
        HasSubstr("cycles[0].cutoffs[1]: \"03:00\" is not after \"08:00\": cut-offs must be "
                  "strictly increasing"));
}

TEST(ConfigErrors, TimeWrittenAsATomlTimeSaysToWriteItAsAString) {
    const std::string text = replaced(valid_config(), "\"08:00\"", "08:00:00");
    EXPECT_THAT(load_error(text),
                HasSubstr("cycles[0].cutoffs[1]: expected a time as a string, got time"));
}

TEST(ConfigErrors, EmptyCutoffListIsRejected) {
    const std::string text = replaced(valid_config(), "[\"03:00\", \"08:00\"]", "[]");
    EXPECT_THAT(load_error(text),
                HasSubstr("cycles[0].cutoffs: must list at least one cut-off time"));
}

TEST(ConfigErrors, ImpossibleHolidayDateIsRejected) {
    const std::string text = replaced(valid_config(), "cutoffs = [\"03:00\", \"08:00\"]",
                                      "cutoffs = [\"03:00\"]\nholidays = [\"2025-02-29\"]");
    EXPECT_THAT(load_error(text),
                HasSubstr(at_line_of(text, "2025-02-29") +
                          "13: cycles[0].holidays[0]: \"2025-02-29\" is not a calendar date"));
}

TEST(ConfigErrors, CalendarsDirectoryMustBeAString) {
    const std::string text = valid_config() + "\n[calendars]\ndirectory = 5\n";
    EXPECT_THAT(load_error(text), HasSubstr(at_line_of(text, "directory = 5") +
                                            "13: calendars.directory: expected a string, got "
                                            "integer"));
}

TEST(ConfigErrors, UnknownKeyUnderCalendarsIsRejected) {
    const std::string text = valid_config() + "\n[calendars]\ndir = \"x\"\n";
    EXPECT_THAT(load_error(text),
                HasSubstr(at_line_of(text, "dir = ") + "1: calendars.dir: unknown key"));
}

TEST(ConfigErrors, SkipUsdHolidaysMustBeABoolean) {
    const std::string text = replaced(valid_config(), "min_qty = \"100.00\"",
                                      "min_qty = \"100.00\"\nskip_usd_holidays = \"yes\"");
    EXPECT_THAT(load_error(text),
                HasSubstr(at_line_of(text, "skip_usd_holidays") +
                          "21: pairs[0].skip_usd_holidays: expected a boolean (true or false), "
                          "got string"));
}

// ---- hosts and ports ------------------------------------------------------------------

TEST(ConfigErrors, ListenPortOutOfRangeIsRejected) {
    const std::string text = valid_config() + "\n[gateway]\nlisten = \"127.0.0.1:99999\"\n";
    EXPECT_THAT(load_error(text),
                HasSubstr(at_line_of(text, "99999") +
                          "10: gateway.listen: \"127.0.0.1:99999\" is not a valid "
                          "\"host:port\" address: port \"99999\""));
}

TEST(ConfigErrors, ListenWithoutPortIsRejected) {
    const std::string text = valid_config() + "\n[metrics]\nlisten = \"localhost\"\n";
    EXPECT_THAT(load_error(text),
                HasSubstr("metrics.listen: \"localhost\" is not a valid \"host:port\" "
                          "address: the port is missing"));
}

TEST(ConfigErrors, BadHostNameIsRejected) {
    const std::string text =
        replaced(valid_config(), "host = \"localhost\"", "host = \"bank a.local\"");
    EXPECT_THAT(load_error(text),
                HasSubstr(at_line_of(text, "bank a.local") +
                          "8: banks[0].host: \"bank a.local\" is not a valid host name"));
}

TEST(ConfigErrors, BadIpv4AddressIsRejected) {
    const std::string text =
        replaced(valid_config(), "host = \"127.0.0.1\"", "host = \"127.0.0.300\"");
    EXPECT_THAT(load_error(text),
                HasSubstr("venues[0].host: \"127.0.0.300\" is not a valid IPv4 address"));
}

TEST(ConfigErrors, ConnectPortZeroIsRejected) {
    const std::string text = replaced(valid_config(), "port = 9881", "port = 0");
    EXPECT_THAT(load_error(text),
                HasSubstr(at_line_of(text, "port = 0") +
                          "8: venues[0].port: 0 is out of range; allowed 1..65535"));
}

// ---- enumerations and formats ---------------------------------------------------------

TEST(ConfigErrors, UnknownFundingModeListsTheChoices) {
    const std::string text = replaced(valid_config(), "\"prefunded\"", "\"prepaid\"");
    EXPECT_THAT(load_error(text),
                HasSubstr(at_line_of(text, "prepaid") +
                          "16: psps[0].funding_mode: unknown funding mode \"prepaid\"; "
                          "use \"prefunded\" or \"postfunded\""));
}

TEST(ConfigErrors, UnknownRoundingModeIsRejected) {
    const std::string text = valid_config() + "\n[engine]\nrounding_mode = \"nearest\"\n";
    EXPECT_THAT(load_error(text),
                HasSubstr(at_line_of(text, "nearest") + "17: engine.rounding_mode: "));
}

TEST(ConfigErrors, UnknownLogLevelIsRejected) {
    const std::string text = valid_config() + "\n[log]\nlevel = \"verbose\"\n";
    EXPECT_THAT(load_error(text), HasSubstr("log.level: unknown log level \"verbose\""));
}

TEST(ConfigErrors, MalformedPasswordHashIsRejected) {
    const std::string text = replaced(valid_config(), "pbkdf2-sha256$1000$", "bcrypt$1000$");
    EXPECT_THAT(load_error(text), HasSubstr(at_line_of(text, "bcrypt") +
                                            "17: psps[0].password_hash: not a password hash"));
}

TEST(ConfigErrors, GatewayTlsWithoutKeyIsRejected) {
    const std::string text = valid_config() + "\n[gateway.tls]\ncert = \"gw.crt\"\n";
    EXPECT_THAT(load_error(text), HasSubstr(at_line_of(text, "[gateway.tls]") +
                                            "1: gateway.tls.key: missing required key"));
}

TEST(ConfigErrors, ClientCertificateRequiredWithoutCaIsRejected) {
    const std::string text =
        valid_config() + "\n[gateway.tls]\ncert = \"c\"\nkey = \"k\"\nrequire_client_cert = true\n";
    EXPECT_THAT(load_error(text), HasSubstr("gateway.tls.ca: missing required key"));
}

// ---- reporting ------------------------------------------------------------------------

TEST(ConfigErrors, EveryProblemIsReportedSortedByLine) {
    std::string text = replaced(valid_config(), "spread_bps = 10", "spread_bps = -1");
    text = replaced(text, "port = 9881", "port = 70000");
    text += "\n[engine]\nqueue_max = 0\n";
    const std::string message = load_error(text);
    const auto spread = message.find("psps[0].spread_bps");
    const auto port = message.find("venues[0].port");
    const auto queue = message.find("engine.queue_max");
    ASSERT_NE(spread, std::string::npos) << message;
    ASSERT_NE(port, std::string::npos) << message;
    ASSERT_NE(queue, std::string::npos) << message;
    EXPECT_LT(spread, port);
    EXPECT_LT(port, queue);
    EXPECT_THAT(message, Not(HasSubstr("\n\n")));
}

TEST(ConfigErrors, KeyThatIsNotABareKeyIsQuotedInThePath) {
    const std::string text = valid_config() + "\n[engine]\n\"queue max\" = 5\n";
    EXPECT_THAT(load_error(text), HasSubstr("engine.\"queue max\": unknown key"));
}

}  // namespace
}  // namespace fxsettle::config
