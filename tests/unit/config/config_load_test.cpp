// Loading configs that are valid: the embedded default, the sample, a config that sets
// every field, defaults, the file API and to_toml().
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/config.h"
#include "config_test_support.h"

namespace fxsettle::config {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;
using namespace std::chrono_literals;
using testing::config_source_dir;
using testing::kSource;

money::Currency currency(const Config& config, std::string_view code) {
    auto found = config.currency_table.lookup(code);
    EXPECT_TRUE(found.has_value()) << code;
    return found.value_or(money::Currency{});
}

money::Amount amount(std::string_view text, const money::Currency& c) {
    auto parsed = money::parse_amount(text, c);
    EXPECT_TRUE(parsed.has_value()) << text;
    return parsed.value_or(money::Amount{});
}

money::CurrencyPair pair(const Config& config, std::string_view symbol) {
    auto parsed = money::parse_pair(symbol, config.currency_table);
    EXPECT_TRUE(parsed.has_value()) << symbol;
    return parsed.value_or(money::CurrencyPair{});
}

std::string read_file(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    EXPECT_TRUE(in.good()) << "cannot read " << path;
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

Config load_default_or_fail() {
    auto config = load_default_config();
    if (!config.has_value()) {
        ADD_FAILURE() << config.error().message();
        return Config{};
    }
    return std::move(*config);
}

// ---- the embedded default -------------------------------------------------------------

TEST(ConfigDefault, LoadsWithoutError) {
    auto config = load_default_config();
    ASSERT_TRUE(config.has_value()) << config.error().message();
    EXPECT_EQ(config->source_name, kDefaultConfigSourceName);
}

TEST(ConfigDefault, TextIsTheCurrentConfigDefaultToml) {
    EXPECT_EQ(default_config_text(), read_file(config_source_dir() + "/default.toml"))
        << "the embedded default differs from config/default.toml: the build did not "
           "regenerate it";
}

TEST(ConfigDefault, HasFivePspsWithDistinctIdsAndCredentials) {
    const Config config = load_default_or_fail();
    ASSERT_EQ(config.psps.size(), 5U);
    std::set<std::string> ids;
    for (const PspConfig& psp : config.psps) {
        ids.insert(psp.id);
        EXPECT_FALSE(psp.net_debit_caps.empty()) << psp.id;
        EXPECT_TRUE(psp.aggregate_cap.amount.is_positive()) << psp.id;
    }
    EXPECT_EQ(ids, (std::set<std::string>{"alpha", "borealis", "coral", "delta", "ember"}));
    const PspConfig* alpha = config.find_psp("alpha");
    ASSERT_NE(alpha, nullptr);
    const auto usd = currency(config, "USD");
    EXPECT_EQ(alpha->funding_mode, FundingMode::kPostfunded);
    EXPECT_EQ(alpha->spread_bps, 25U);
    EXPECT_EQ(alpha->credit_limits.at(usd), amount("5000000.00", usd));
    EXPECT_EQ(alpha->aggregate_cap, (money::Money{amount("15000000.00", usd), usd}));
}

TEST(ConfigDefault, AddsCnhAndUsesElevenOrMoreCurrencies) {
    const Config config = load_default_or_fail();
    ASSERT_EQ(config.currencies.size(), 1U);
    EXPECT_EQ(config.currencies[0].code_view(), "CNH");
    EXPECT_EQ(config.currencies[0].exponent, 2);
    EXPECT_TRUE(config.currency_table.find("CNH").has_value());
    std::set<std::string> used;
    for (const CycleConfig& cycle : config.cycles) {
        used.insert(cycle.currency.to_string());
    }
    for (const char* code :
         {"USD", "EUR", "GBP", "JPY", "KRW", "AUD", "CAD", "SGD", "HKD", "CNY", "CNH"}) {
        EXPECT_TRUE(used.count(code) == 1) << code << " has no settlement cycle";
    }
}

TEST(ConfigDefault, EveryPairQuotesInCnyOrCnh) {
    const Config config = load_default_or_fail();
    EXPECT_GE(config.pairs.size(), 10U);
    for (const PairConfig& p : config.pairs) {
        const auto quote = p.pair.quote.code_view();
        EXPECT_TRUE(quote == "CNY" || quote == "CNH") << p.pair.to_string();
        EXPECT_TRUE(p.min_qty.is_positive()) << p.pair.to_string();
        EXPECT_EQ(p.spot_days, 2U) << p.pair.to_string();
    }
    const PairConfig* usd_cny = config.find_pair(pair(config, "USD/CNY"));
    ASSERT_NE(usd_cny, nullptr);
    EXPECT_EQ(usd_cny->tick.to_string(), "0.0001");
}

TEST(ConfigDefault, HasTwoCutoffsADayPerCurrencyAndABankForEach) {
    const Config config = load_default_or_fail();
    for (const CycleConfig& cycle : config.cycles) {
        EXPECT_EQ(cycle.cutoffs.size(), 2U) << cycle.currency.to_string();
        const bool paid = std::any_of(config.banks.begin(), config.banks.end(), [&](const auto& b) {
            return std::find(b.currencies.begin(), b.currencies.end(), cycle.currency) !=
                   b.currencies.end();
        });
        EXPECT_TRUE(paid) << "no bank pays " << cycle.currency.to_string();
    }
    const CycleConfig* cny = config.find_cycle(currency(config, "CNY"));
    ASSERT_NE(cny, nullptr);
    EXPECT_EQ(cny->cutoffs, (std::vector<std::chrono::minutes>{3h, 8h}));
}

TEST(ConfigDefault, AllEndpointsAreLoopbackOnFixedPorts) {
    const Config config = load_default_or_fail();
    EXPECT_EQ(config.gateway.listen, (Endpoint{"127.0.0.1", 9878}));
    EXPECT_EQ(config.metrics.listen, (Endpoint{"127.0.0.1", 9464}));
    ASSERT_EQ(config.venues.size(), 2U);
    ASSERT_EQ(config.banks.size(), 2U);
    std::set<std::uint16_t> ports = {config.gateway.listen.port, config.metrics.listen.port};
    for (const VenueConfig& v : config.venues) {
        EXPECT_EQ(v.host, "127.0.0.1") << v.id;
        ports.insert(v.port);
    }
    for (const BankConfig& b : config.banks) {
        EXPECT_EQ(b.host, "127.0.0.1") << b.id;
        ports.insert(b.port);
    }
    EXPECT_EQ(ports.size(), 6U) << "two endpoints share a port";
    EXPECT_FALSE(config.gateway.tls.has_value());
}

TEST(ConfigDefault, VenueWithoutPairsQuotesAllPairs) {
    const Config config = load_default_or_fail();
    const VenueConfig* a = config.find_venue("venue-a");
    const VenueConfig* b = config.find_venue("venue-b");
    ASSERT_NE(a, nullptr);
    ASSERT_NE(b, nullptr);
    EXPECT_EQ(a->pairs.size(), config.pairs.size());
    EXPECT_EQ(b->pairs.size(), 6U);
    EXPECT_NE(config.find_bank("bank-cn"), nullptr);
    EXPECT_EQ(config.find_bank("bank-xx"), nullptr);
}

// ---- the sample -----------------------------------------------------------------------

TEST(ConfigSample, LoadsWithoutError) {
    const std::string path = config_source_dir() + "/fxsettle.sample.toml";
    auto config = load_config_file(path);
    ASSERT_TRUE(config.has_value()) << config.error().message();
    EXPECT_EQ(config->source_name, path);
    EXPECT_EQ(config->psps.size(), 2U);
}

// The sample is the reference for users: every key the schema has must appear in it
// (commented out or not).
TEST(ConfigSample, MentionsEveryKeyOfTheSchema) {
    const std::string sample = read_file(config_source_dir() + "/fxsettle.sample.toml");
    Config config = load_default_or_fail();
    config.gateway.tls = TlsConfig{"c", "k", "a", true};
    config.venues.at(0).tls = TlsConfig{"c", "k", "a", false};
    std::istringstream lines(to_toml(config));
    std::string line;
    while (std::getline(lines, line)) {
        const auto equals = line.find(" = ");
        if (equals == std::string::npos || line[0] == '#') {
            continue;
        }
        const std::string key = line.substr(0, equals + 3);
        EXPECT_THAT(sample, HasSubstr(key)) << "the sample does not document `" << key << "`";
    }
}

// ---- every field ----------------------------------------------------------------------

constexpr const char* kEveryField = R"(
[node]
name = "node-7"
data_dir = "/srv/fx"

[log]
level = "debug"

[ledger]
path = "/srv/fx/ledger"
map_size_initial_mb = 128
map_size_max_mb = 4096
batch_max = 500

[engine]
queue_max = 1000
batch_max = 100
book_orders_max = 5000
outbox_batch_max = 64
quote_ttl_ms = 1500
hold_ttl_s = 3600
fx_buffer_bps = 150
rounding_mode = "toward_zero"
hedge_timeout_ms = 45000

[metrics]
enabled = false
listen = "[::1]:9100"
exposure_alert_limits = { USD = "2500.00" }

[gateway]
listen = "0.0.0.0:0"
sender_comp_id = "GW.1"
heartbeat_s = 10
unauthenticated_connections_max = 7
logon_deadline_s = 3

[gateway.tls]
cert = "gw.crt"
key = "gw.key"
ca = "psp-ca.crt"
require_client_cert = true

[[currencies]]
code = "CNH"
exponent = 2

[[currencies]]
code = "XTK"
exponent = 4

[[pairs]]
symbol = "USDCNH"
tick = "0.00005"
min_qty = "0.01"
spot_days = 1

[[pairs]]
symbol = "XTK/JPY"
tick = "0.5"
min_qty = "0.0001"
spot_days = 0
skip_usd_holidays = false

[calendars]
directory = "/srv/fx/calendars"

[[psps]]
id = "p_1"
name = "P \"One\""
sender_comp_id = "P1"
username = "user@p1"
password_hash = "pbkdf2-sha256$600000$0011223344556677$AABBCCDDEEFF00112233445566778899aabbccddeeff00112233445566778899"
spread_bps = 7
funding_mode = "postfunded"
credit_limits = { USD = "1.50", JPY = "100" }
net_debit_caps = { CNH = "0.00" }
short_position_limits = { XTK = "2.0001" }
aggregate_cap = { amount = "99", currency = "JPY" }

[[cycles]]
currency = "XTK"
cutoffs = ["00:00", "12:30", "23:59"]
holidays = ["2026-12-25", "2024-02-29"]

[[venues]]
id = "v1"
host = "fx.example.com"
port = 443
sender_comp_id = "US"
target_comp_id = "THEM"
rate_stale_ms = 750
heartbeat_s = 15
reconnect_interval_s = 60
pairs = ["XTK/JPY"]

[venues.tls]
ca = "venue-ca.crt"
cert = "client.crt"
key = "client.key"

[[banks]]
id = "b1"
host = "::1"
port = 7000
sender_comp_id = "US"
target_comp_id = "BANK"
heartbeat_s = 45
reconnect_interval_s = 2
currencies = ["XTK", "CNH"]

[banks.tls]
ca = "bank-ca.crt"
)";

Config every_field_expected() {
    Config c;
    c.source_name = std::string(kSource);
    c.node = {"node-7", "/srv/fx"};
    c.log.level = "debug";
    c.ledger = {"/srv/fx/ledger", 128, 4096, 500};
    c.engine = {1000, 100, 5000, 64, 1500ms, 3600s, 150, money::RoundingMode::kTowardZero, 45000ms};
    c.metrics = {false, {"::1", 9100}, {}};
    c.gateway.listen.host = "0.0.0.0";
    c.gateway.listen.port = 0;
    c.gateway.sender_comp_id = "GW.1";
    c.gateway.heartbeat_s = 10s;
    c.gateway.unauthenticated_connections_max = 7;
    c.gateway.logon_deadline_s = 3s;
    c.gateway.tls = TlsConfig{"gw.crt", "gw.key", "psp-ca.crt", true};
    const money::Currency cnh{{'C', 'N', 'H'}, 0, 2};
    const money::Currency xtk{{'X', 'T', 'K'}, 0, 4};
    c.currencies = {cnh, xtk};
    EXPECT_TRUE(c.currency_table.add(cnh).is_ok());
    EXPECT_TRUE(c.currency_table.add(xtk).is_ok());
    const auto usd = currency(c, "USD");
    const auto jpy = currency(c, "JPY");
    const money::CurrencyPair usd_cnh{usd, cnh};
    const money::CurrencyPair xtk_jpy{xtk, jpy};
    c.pairs.push_back(
        {usd_cnh, money::Rate::parse(usd_cnh, "0.00005").value(), money::Amount::from_minor(1), 1});
    c.pairs.push_back({xtk_jpy, money::Rate::parse(xtk_jpy, "0.5").value(),
                       money::Amount::from_minor(1), 0, false});
    c.calendars.directory = "/srv/fx/calendars";
    PspConfig psp;
    psp.id = "p_1";
    psp.name = "P \"One\"";
    psp.sender_comp_id = "P1";
    psp.username = "user@p1";
    psp.password_hash =
        "pbkdf2-sha256$600000$0011223344556677$"
        "AABBCCDDEEFF00112233445566778899aabbccddeeff00112233445566778899";
    psp.spread_bps = 7;
    psp.funding_mode = FundingMode::kPostfunded;
    c.metrics.exposure_alert_limits = {{usd, money::Amount::from_minor(250'000)}};
    psp.credit_limits = {{usd, money::Amount::from_minor(150)},
                         {jpy, money::Amount::from_minor(100)}};
    psp.net_debit_caps = {{cnh, money::Amount{}}};
    psp.short_position_limits = {{xtk, money::Amount::from_minor(20001)}};
    psp.aggregate_cap = {money::Amount::from_minor(99), jpy};
    c.psps.push_back(psp);
    using std::chrono::year_month_day;
    c.cycles.push_back(
        {xtk,
         {0min, 12h + 30min, 23h + 59min},
         {year_month_day{std::chrono::year(2024), std::chrono::February, std::chrono::day(29)},
          year_month_day{std::chrono::year(2026), std::chrono::December, std::chrono::day(25)}}});
    c.venues.push_back({"v1",
                        "fx.example.com",
                        443,
                        "US",
                        "THEM",
                        750ms,
                        15s,
                        60s,
                        {xtk_jpy},
                        TlsConfig{"client.crt", "client.key", "venue-ca.crt", false}});
    c.banks.push_back(
        {"b1", "::1", 7000, "US", "BANK", {xtk, cnh}, 45s, 2s, TlsConfig{"", "", "bank-ca.crt"}});
    return c;
}

TEST(ConfigRoundTrip, EveryFieldSetLoadsIntoTheStruct) {
    auto loaded = load_config_string(kEveryField, kSource);
    ASSERT_TRUE(loaded.has_value()) << loaded.error().message();
    const Config expected = every_field_expected();
    // Section by section first, so that a failure names the section.
    EXPECT_EQ(loaded->node, expected.node);
    EXPECT_EQ(loaded->log, expected.log);
    EXPECT_EQ(loaded->ledger, expected.ledger);
    EXPECT_EQ(loaded->engine, expected.engine);
    EXPECT_EQ(loaded->metrics, expected.metrics);
    EXPECT_EQ(loaded->gateway, expected.gateway);
    EXPECT_EQ(loaded->currencies, expected.currencies);
    EXPECT_EQ(loaded->pairs, expected.pairs);
    EXPECT_EQ(loaded->calendars, expected.calendars);
    EXPECT_EQ(loaded->psps, expected.psps);
    EXPECT_EQ(loaded->cycles, expected.cycles);
    EXPECT_EQ(loaded->venues, expected.venues);
    EXPECT_EQ(loaded->banks, expected.banks);
    EXPECT_EQ(*loaded, expected);
}

TEST(ConfigRoundTrip, ToTomlLoadsBackToAnEqualConfig) {
    for (const Config& original : {load_default_or_fail(), every_field_expected()}) {
        const std::string text = to_toml(original);
        auto reloaded = load_config_string(text, original.source_name);
        ASSERT_TRUE(reloaded.has_value()) << reloaded.error().message() << "\n" << text;
        EXPECT_EQ(*reloaded, original);
    }
}

TEST(ConfigDefaults, MinimalConfigGetsTheDocumentedDefaults) {
    auto loaded = load_config_string("[node]\nname = \"n\"\n", kSource);
    ASSERT_TRUE(loaded.has_value()) << loaded.error().message();
    Config expected;
    expected.source_name = std::string(kSource);
    expected.node.name = "n";
    EXPECT_EQ(*loaded, expected);
    EXPECT_EQ(loaded->node.data_dir, "./var");
    EXPECT_EQ(loaded->ledger.path, "var/ledger");
    EXPECT_EQ(loaded->engine.rounding_mode, money::RoundingMode::kHalfEven);
    EXPECT_EQ(loaded->metrics.listen.to_string(), "127.0.0.1:9464");
    EXPECT_TRUE(loaded->psps.empty());
}

TEST(ConfigDefaults, PairSpotDaysDefaultsToTwo) {
    auto loaded = load_config_string(
        "[node]\nname = \"n\"\n[[pairs]]\nsymbol = \"EUR/USD\"\ntick = \"0.00001\"\n"
        "min_qty = \"1\"\n",
        kSource);
    ASSERT_TRUE(loaded.has_value()) << loaded.error().message();
    ASSERT_EQ(loaded->pairs.size(), 1U);
    EXPECT_EQ(loaded->pairs[0].spot_days, 2U);
    EXPECT_EQ(loaded->pairs[0].min_qty, money::Amount::from_minor(100));
}

TEST(ConfigDefaults, UsdCadSpotDaysDefaultsToOneAsTheMarketSettlesIt) {
    auto loaded = load_config_string(
        "[node]\nname = \"n\"\n[[pairs]]\nsymbol = \"USD/CAD\"\ntick = \"0.00001\"\n"
        "min_qty = \"1\"\n[[pairs]]\nsymbol = \"CAD/JPY\"\ntick = \"0.001\"\n"
        "min_qty = \"1\"\n[[pairs]]\nsymbol = \"TRY/USD\"\ntick = \"0.00001\"\n"
        "min_qty = \"1\"\n",
        kSource);
    ASSERT_TRUE(loaded.has_value()) << loaded.error().message();
    ASSERT_EQ(loaded->pairs.size(), 3U);
    EXPECT_EQ(loaded->pairs[0].spot_days, 1U) << "USD/CAD is T+1";
    EXPECT_EQ(loaded->pairs[1].spot_days, 2U) << "CAD/JPY, a cross, is T+2";
    EXPECT_EQ(loaded->pairs[2].spot_days, 1U) << "TRY/USD is T+1 in either direction";
}

TEST(ConfigDefaults, CrossesSkipUsdHolidaysAndCalendarsAreCompiledIn) {
    auto loaded = load_config_string(
        "[node]\nname = \"n\"\n[[pairs]]\nsymbol = \"EUR/GBP\"\ntick = \"0.00001\"\n"
        "min_qty = \"1\"\n",
        kSource);
    ASSERT_TRUE(loaded.has_value()) << loaded.error().message();
    EXPECT_TRUE(loaded->pairs.at(0).skip_usd_holidays);
    EXPECT_EQ(loaded->calendars.directory, "") << "empty means the compiled-in calendars";
}

TEST(ConfigDefault, UsesTheCompiledInCalendarsWithoutExtraClosures) {
    const Config config = load_default_or_fail();
    EXPECT_EQ(config.calendars.directory, "");
    for (const CycleConfig& cycle : config.cycles) {
        EXPECT_TRUE(cycle.holidays.empty())
            << cycle.currency.to_string()
            << ": public holidays belong in config/calendars/, not in [[cycles]].holidays";
    }
}

// ---- the file API ---------------------------------------------------------------------

TEST(ConfigFile, MissingFileIsNotFoundNamingThePath) {
    auto config = load_config_file("/nonexistent/fxsettle.toml");
    ASSERT_FALSE(config.has_value());
    EXPECT_EQ(config.error().code(), StatusCode::kNotFound);
    EXPECT_THAT(config.error().message(), StartsWith("/nonexistent/fxsettle.toml: "));
}

TEST(ConfigFile, DirectoryIsAnIoError) {
    auto config = load_config_file(config_source_dir());
    ASSERT_FALSE(config.has_value());
    EXPECT_EQ(config.error().code(), StatusCode::kIoError) << config.error().message();
}

TEST(ConfigFile, ErrorsNameTheFilePathAndLine) {
    const auto path = std::filesystem::temp_directory_path() /
                      ("fxsettle_config_test_" + std::to_string(::getpid()) + ".toml");
    {
        std::ofstream out(path);
        out << "[node]\nname = \"n\"\n\n[engine]\nqueue_max = 0\n";
    }
    auto config = load_config_file(path.string());
    std::filesystem::remove(path);
    ASSERT_FALSE(config.has_value());
    EXPECT_THAT(config.error().message(),
                StartsWith(path.string() + ":5:13: engine.queue_max: 0 is out of range"));
}

}  // namespace
}  // namespace fxsettle::config
