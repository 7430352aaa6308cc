// Hostile input over a live PSP session (issue 7, "Hostile input"): a raw FIX client
// logged on as alpha sends every application message a PSP may send (D F G H R U1 AN,
// adapters/fix/RULES_OF_ENGAGEMENT.md §3) broken one field at a time -- each required tag
// missing, each field empty, repeated, of the wrong type, and with out-of-range and
// extreme values -- then garbled frames and oversized messages. Every case must get a
// clear refusal (a session Reject 35=3 with SessionRejectReason and Text, or the business
// reject §3 defines, naming the tag or the problem), the session must stay up (a
// TestRequest is answered) and nothing may change (journal, every balance and the
// engine's state hash); afterwards the ledger verifies, every currency balances and a
// valid order is accepted.
#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include "adapters/convert/convert.h"
#include "adapters/fix/read_limit.h"
#include "tests/integration/hostile/hostile_support.h"
#include "tests/integration/hostile/raw_fix_client.h"

namespace fxsettle::hostile {
namespace {

// The process's resident set (VmRSS of /proc/self/status), in KiB; 0 when unreadable.
[[maybe_unused]] long resident_kib() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0)
            return std::strtol(line.c_str() + 6, nullptr, 10);
    }
    return 0;
}

// What a field holds, which decides the hostile values it gets.
enum class Kind {
    kId,         // a client id (STRING, <= 64 bytes)
    kText,       // free text (STRING)
    kAccount,    // Account (1): the session's PSP
    kSymbol,     // a configured pair
    kInt,        // INT with a fixed value (Product, PosReqType, AccountType)
    kChar,       // CHAR enumeration
    kTime,       // UTCTIMESTAMP
    kQty,        // QTY / AMT in a currency with 2 decimals
    kPrice,      // PRICE: rate
    kCurrency,   // CURRENCY
    kDate,       // LOCALMKTDATE
    kCountry,    // COUNTRY
    kNumInGroup  // NUMINGROUP
};

struct FieldSpec {
    int tag = 0;
    const char* name = "";
    std::string value;  // "{id}" is the case's id; "{now}" the node's time
    Kind kind = Kind::kText;
    bool required = false;  // by the dictionary or by fxsettle (RoE)
    bool in_group = false;  // inside NoRelatedSym
};

struct Template {
    std::string type;
    std::string name;
    int id_tag = 0;  // the field carrying the case's id, matched in the reply
    std::vector<FieldSpec> fields;
};

struct Case {
    std::string name;
    std::vector<FixField> body;
    int tag = 0;                // the field the case breaks (0: none in particular)
    const char* tag_name = "";  // its name
    bool id_broken = false;     // the id field itself is broken: match any reply
    std::string id;
};

// Values of each kind that must be refused (on top of empty and repeated).
std::vector<std::pair<std::string, std::string>> hostile_values(const FieldSpec& f) {
    const std::string forty_digits = "1234567890123456789012345678901234567890";
    switch (f.kind) {
        case Kind::kId:
            return {{"65 bytes", std::string(65, 'i')},
                    {"4096 bytes", std::string(4096, 'i')},
                    {"control character", "id\x02x"},
                    {"not UTF-8", "id\xff\xfe"}};
        case Kind::kText:
            return {{"10000 bytes", std::string(10000, 't')}};
        case Kind::kAccount:
            return {{"unknown PSP", "nobody"},
                    {"upper case", "ALPHA"},
                    {"300 bytes", std::string(300, 'a')}};
        case Kind::kSymbol:
            return {{"unknown pair", "XXX/YYY"},      {"inverted pair", "CNY/USD"},
                    {"unconfigured pair", "EUR/USD"}, {"no separator garbage", "USD-CNY"},
                    {"trailing garbage", "USD/CNYX"}, {"200 bytes", std::string(200, 'S')}};
        case Kind::kInt:
            return {{"letters", "abc"},
                    {"decimal", "1.5"},
                    {"negative", "-1"},
                    {"unsupported value", f.tag == 724 ? "1" : "99"},
                    {"overflow", "99999999999999999999999"}};
        case Kind::kChar:
            return {{"two characters", f.value + "9"}, {"unsupported value", "Z"}};
        case Kind::kTime:
            return {{"letters", "yesterday"},
                    {"date only", "20260310"},
                    {"month 13", "20261310-00:00:00.000"},
                    {"hour 25", "20260310-25:00:00.000"},
                    {"far past", "19000101-00:00:00.000"},
                    {"far future", "99991231-23:59:59.999"}};
        case Kind::kQty:
            return {{"letters", "abc"},
                    {"exponent", "1e5"},
                    {"thousands separator", "10,000.00"},
                    {"hex", "0x10"},
                    {"zero", "0"},
                    {"zero with decimals", "0.00"},
                    {"negative", "-10000.00"},
                    {"40 digits", forty_digits},
                    {"40 digits with decimals", forty_digits + ".00"},
                    {"too many decimals", "10000.001"},
                    {"tiny", "0.0000000000000001"},
                    {"two points", "10.000.00"},
                    {"NaN", "NaN"},
                    {"infinity", "inf"}};
        case Kind::kPrice:
            return {{"letters", "abc"},
                    {"exponent", "7e0"},
                    {"zero", "0"},
                    {"negative", "-7.1000"},
                    {"40 digits", forty_digits},
                    {"13 decimals", "7.1234567890123"},
                    {"NaN", "NaN"}};
        case Kind::kCurrency:
            return {{"unknown code", "XXX"},
                    {"two letters", "US"},
                    {"four letters", "USDX"},
                    {"lower case", "usd"},
                    {"digits", "840"}};
        case Kind::kDate:
            return {{"ISO form", "2026-03-10"}, {"month 13", "20261310"},
                    {"letters", "tomorrow"},    {"before 1900", "18991231"},
                    {"far past", "19000101"},   {"far future", "99991231"}};
        case Kind::kCountry:
            return {{"three letters", "CHN"}, {"digits", "156"}, {"lower case", "cn"}};
        case Kind::kNumInGroup:
            return {{"letters", "x"}, {"more than sent", "2"}, {"zero", "0"}, {"negative", "-1"}};
    }
    return {};
}

// The messages of a PSP (RoE §3), each valid as written for alpha: the cases break them.
std::vector<Template> templates() {
    return {
        {"D",
         "NewOrderSingle",
         11,
         {{11, "ClOrdID", "{id}", Kind::kId, true},
          {1, "Account", "alpha", Kind::kAccount},
          {55, "Symbol", "USD/CNY", Kind::kSymbol, true},
          {460, "Product", "4", Kind::kInt},
          {54, "Side", "2", Kind::kChar, true},
          {60, "TransactTime", "{now}", Kind::kTime, true},
          {38, "OrderQty", "10000.00", Kind::kQty, true},
          {40, "OrdType", "2", Kind::kChar, true},
          {44, "Price", "9.1000", Kind::kPrice},
          {15, "Currency", "USD", Kind::kCurrency},
          {59, "TimeInForce", "1", Kind::kChar},
          {63, "SettlType", "0", Kind::kChar},
          {58, "Text", "hostile", Kind::kText}}},
        {"F",
         "OrderCancelRequest",
         11,
         {{41, "OrigClOrdID", "base-1", Kind::kId, true},
          {11, "ClOrdID", "{id}", Kind::kId, true},
          {1, "Account", "alpha", Kind::kAccount},
          {55, "Symbol", "USD/CNY", Kind::kSymbol, true},
          {460, "Product", "4", Kind::kInt},
          {54, "Side", "2", Kind::kChar, true},
          {60, "TransactTime", "{now}", Kind::kTime, true},
          {38, "OrderQty", "10000.00", Kind::kQty},
          {58, "Text", "hostile", Kind::kText}}},
        {"G",
         "OrderCancelReplaceRequest",
         11,
         {{41, "OrigClOrdID", "base-1", Kind::kId, true},
          {11, "ClOrdID", "{id}", Kind::kId, true},
          {1, "Account", "alpha", Kind::kAccount},
          {55, "Symbol", "USD/CNY", Kind::kSymbol, true},
          {460, "Product", "4", Kind::kInt},
          {54, "Side", "2", Kind::kChar, true},
          {60, "TransactTime", "{now}", Kind::kTime, true},
          {38, "OrderQty", "12000.00", Kind::kQty, true},
          {40, "OrdType", "2", Kind::kChar, true},
          {44, "Price", "9.2000", Kind::kPrice, true},
          {15, "Currency", "USD", Kind::kCurrency},
          {59, "TimeInForce", "1", Kind::kChar},
          {58, "Text", "hostile", Kind::kText}}},
        {"H",
         "OrderStatusRequest",
         790,
         {{11, "ClOrdID", "base-1", Kind::kId, true},
          {790, "OrdStatusReqID", "{id}", Kind::kId},
          {1, "Account", "alpha", Kind::kAccount},
          {55, "Symbol", "USD/CNY", Kind::kSymbol, true},
          {460, "Product", "4", Kind::kInt},
          {54, "Side", "2", Kind::kChar, true}}},
        {"R",
         "QuoteRequest",
         131,
         {{131, "QuoteReqID", "{id}", Kind::kId, true},
          {146, "NoRelatedSym", "1", Kind::kNumInGroup, true},
          {55, "Symbol", "USD/CNY", Kind::kSymbol, true, true},
          {460, "Product", "4", Kind::kInt, false, true},
          {54, "Side", "2", Kind::kChar, true, true},
          {38, "OrderQty", "10000.00", Kind::kQty, true, true},
          {63, "SettlType", "0", Kind::kChar, false, true},
          {15, "Currency", "USD", Kind::kCurrency, false, true},
          {1, "Account", "alpha", Kind::kAccount, false, true},
          {58, "Text", "hostile", Kind::kText}}},
        {"U1",
         "PayoutInstruction",
         7100,
         {{7100, "PayoutInstrID", "{id}", Kind::kId, true},
          {1, "Account", "alpha", Kind::kAccount},
          {15, "Currency", "USD", Kind::kCurrency, true},
          {63, "SettlType", "0", Kind::kChar},
          {60, "TransactTime", "{now}", Kind::kTime, true},
          {7102, "PayoutAmt", "1000.00", Kind::kQty, true},
          {7103, "FundingCurrency", "USD", Kind::kCurrency},
          {7105, "BeneficiaryBankID", "bank-intl", Kind::kText},
          {7106, "BeneficiaryAccount", "US00111222333", Kind::kText},
          {7107, "BeneficiaryName", "Hostile Supplier Inc", Kind::kText},
          {7108, "BeneficiaryCountry", "US", Kind::kCountry},
          {7110, "PayoutPurpose", "GDDS", Kind::kText},
          {7111, "PayoutReference", "INV-1", Kind::kText}}},
        {"AN",
         "RequestForPositions",
         710,
         {{710, "PosReqID", "{id}", Kind::kId, true},
          {724, "PosReqType", "0", Kind::kInt, true},
          {263, "SubscriptionRequestType", "0", Kind::kChar},
          {1, "Account", "alpha", Kind::kAccount, true},
          {581, "AccountType", "1", Kind::kInt},
          {15, "Currency", "USD", Kind::kCurrency},
          {715, "ClearingBusinessDate", "20260310", Kind::kDate, true},
          {60, "TransactTime", "{now}", Kind::kTime, true}}},
    };
}

// Cases for one message: per field missing (when required), empty, repeated, then each
// hostile value of its kind; plus an undefined tag, a tag of another message and a
// non-numeric tag.
std::vector<Case> cases_of(const Template& t, const std::string& now) {
    std::vector<Case> out;
    int serial = 0;
    const auto body_with = [&](const std::function<void(std::vector<FixField>&, std::size_t)>& edit,
                               std::size_t at, const std::string& id) {
        std::vector<FixField> body;
        for (const FieldSpec& f : t.fields) {
            std::string v = f.value == "{id}" ? id : f.value == "{now}" ? now : f.value;
            body.push_back(FixField{f.tag, v});
        }
        edit(body, at);
        return body;
    };
    const auto add = [&](const std::string& what, std::size_t at,
                         const std::function<void(std::vector<FixField>&, std::size_t)>& edit) {
        Case c;
        c.id = t.type + "-" + std::to_string(++serial);
        c.body = body_with(edit, at, c.id);
        if (at < t.fields.size()) {
            c.tag = t.fields[at].tag;
            c.tag_name = t.fields[at].name;
            c.name = t.type + " " + t.fields[at].name + " (" + std::to_string(c.tag) + "): " + what;
            c.id_broken = c.tag == t.id_tag;
        } else {
            c.name = t.type + ": " + what;
        }
        out.push_back(std::move(c));
    };
    for (std::size_t i = 0; i < t.fields.size(); ++i) {
        const FieldSpec& f = t.fields[i];
        if (f.required) {
            add("missing", i, [&](std::vector<FixField>& b, std::size_t at) {
                if (f.tag == 146) {  // the group goes with its count
                    std::vector<FixField> kept;
                    for (std::size_t k = 0; k < b.size(); ++k) {
                        if (k != at && !t.fields[k].in_group)
                            kept.push_back(b[k]);
                    }
                    b = kept;
                } else {
                    b.erase(b.begin() + static_cast<std::ptrdiff_t>(at));
                }
            });
        }
        add("empty", i, [](std::vector<FixField>& b, std::size_t at) { b[at].value.clear(); });
        add("repeated", i, [](std::vector<FixField>& b, std::size_t at) {
            b.insert(b.begin() + static_cast<std::ptrdiff_t>(at) + 1, b[at]);
        });
        for (const auto& [what, value] : hostile_values(f)) {
            add(what + " '" + (value.size() > 24 ? value.substr(0, 12) + "..." : value) + "'", i,
                [v = value](std::vector<FixField>& b, std::size_t at) { b[at].value = v; });
        }
    }
    const std::size_t none = t.fields.size();
    add("undefined tag 9999", none, [](std::vector<FixField>& b, std::size_t) {
        b.push_back({9999, "x"});
    });
    add("tag of another message (DepositRef 7600)", none,
        [](std::vector<FixField>& b, std::size_t) {
            b.push_back({7600, "x"});
        });
    add("header tag in the body (SenderCompID 49)", none,
        [](std::vector<FixField>& b, std::size_t) {
            b.push_back({49, "BOREALIS"});
        });
    return out;
}

// A reply that refuses clearly: which kind, or empty when the reply is not a refusal.
std::string refusal_kind(const FixMessage& m) {
    const std::string type = m.type();
    const bool text = !m.get(58).empty();
    const bool code = m.find(7000) != nullptr;
    if (type == "3")
        return m.find(373) != nullptr && text ? "session Reject" : "";
    if (type == "j")
        return m.find(380) != nullptr && text ? "BusinessMessageReject" : "";
    if (type == "8")
        return (m.get(150) == "8" || m.get(39) == "8") && text && code ? "ExecutionReport rejected"
                                                                       : "";
    if (type == "9")
        return text && code ? "OrderCancelReject" : "";
    if (type == "AG")
        return m.find(658) != nullptr && text && code ? "QuoteRequestReject" : "";
    if (type == "U2")
        return m.get(7112) == "R" && text && code ? "PayoutStatus rejected" : "";
    if (type == "AO")
        return m.get(729) == "2" && text && code ? "RequestForPositionsAck rejected" : "";
    return "";
}

bool is_reply_type(const std::string& type) {
    static const std::set<std::string> kTypes = {"3", "j", "8", "9", "AG", "S", "U2", "AO", "AP"};
    return kTypes.contains(type);
}

std::string lower(std::string s) {
    for (char& c : s)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
}

// The refusal names the tag (RefTagID, its number or its name in the Text).
bool names_tag(const FixMessage& m, int tag, const std::string& name) {
    if (m.get(371) == std::to_string(tag))
        return true;
    const std::string text = lower(m.get(58));
    return text.find("(" + std::to_string(tag) + ")") != std::string::npos ||
           text.find(std::to_string(tag)) != std::string::npos ||
           text.find(lower(name)) != std::string::npos;
}

class HostileInputTest : public ::testing::TestWithParam<std::string> {
  protected:
    static void SetUpTestSuite() {
        harness_ = new NodeHarness();
        const std::string error = harness_->start();
        ASSERT_TRUE(error.empty()) << error;
        std::string why;
        alpha_ = harness_->logged_on("alpha", &why).release();
        ASSERT_NE(alpha_, nullptr) << "alpha did not log on: " << why;
        // The order F, G and H refer to: it rests (no bid near 9.1).
        const std::size_t from = alpha_->received();
        alpha_->send("D", {{11, "base-1"},
                           {1, "alpha"},
                           {55, "USD/CNY"},
                           {54, "2"},
                           {60, now()},
                           {38, "10000.00"},
                           {40, "2"},
                           {44, "9.1000"},
                           {59, "1"}});
        auto ack = alpha_->wait(
            [](const FixMessage& m) { return m.type() == "8" && m.get(11) == "base-1"; },
            std::chrono::seconds(60), from);
        ASSERT_TRUE(ack) << "no ExecutionReport for the base order";
        ASSERT_EQ(ack->get(150), "0") << "the base order was not accepted: " << ack->text();
    }
    static void TearDownTestSuite() {
        delete alpha_;
        alpha_ = nullptr;
        delete harness_;
        harness_ = nullptr;
    }
    void SetUp() override {
        ASSERT_NE(harness_, nullptr);
        ASSERT_NE(alpha_, nullptr);
        ASSERT_TRUE(alpha_->connected()) << "alpha's session is down: " << alpha_->last_error();
    }

    static std::string now() { return adapters::convert::format_utc_timestamp(harness_->now()); }

    // Sends one case and checks the refusal, the session and the state. Returns false
    // after a failure that ends the session (no point going on).
    bool run(const Case& c, StateSnapshot& before, const std::string& id_tag_name, int id_tag) {
        const std::size_t from = alpha_->received();
        const std::uint64_t seq = alpha_->send(GetParam(), c.body);
        if (seq == 0) {
            ADD_FAILURE() << c.name << ": could not be sent";
            return false;
        }
        const auto reply = alpha_->wait(
            [&](const FixMessage& m) {
                if (!is_reply_type(m.type()))
                    return false;
                if ((m.type() == "3" || m.type() == "j") && m.get(45) == std::to_string(seq))
                    return true;
                return c.id_broken || m.get(id_tag) == c.id;
            },
            std::chrono::seconds(60), from);
        bool ok = true;
        if (!reply) {
            ADD_FAILURE() << c.name << ": no reply (session "
                          << (alpha_->connected() ? "up" : "down: " + alpha_->last_error()) << ")";
            ok = false;
        } else {
            const std::string kind = refusal_kind(*reply);
            if (kind.empty()) {
                ADD_FAILURE() << c.name << ": not refused clearly: " << reply->text();
                ok = false;
            } else {
                ++refusals_[kind];
                if (c.tag != 0 && !names_tag(*reply, c.tag, c.tag_name)) {
                    ADD_FAILURE() << c.name << ": the " << kind << " does not name " << c.tag_name
                                  << " (" << c.tag << "): " << reply->text();
                }
            }
        }
        static_cast<void>(id_tag_name);
        if (!alpha_->connected() || !alpha_->probe("probe-" + c.id, std::chrono::seconds(60))) {
            ADD_FAILURE() << c.name << ": the session did not survive: " << alpha_->last_error();
            return false;
        }
        StateSnapshot after = harness_->snapshot();
        const std::string diff = before.diff(after);
        if (!diff.empty()) {
            ADD_FAILURE() << c.name << ": changed the state: " << diff
                          << (reply ? "reply " + reply->text() : "");
            before = after;
        }
        return ok || alpha_->connected();
    }

    static NodeHarness* harness_;
    static RawFixClient* alpha_;
    static std::map<std::string, int> refusals_;
};

NodeHarness* HostileInputTest::harness_ = nullptr;
RawFixClient* HostileInputTest::alpha_ = nullptr;
std::map<std::string, int> HostileInputTest::refusals_;

// Every field of the message broken every way: refused clearly naming the field, the
// session stays up, nothing changes; afterwards the ledger verifies and balances, and
// the same message, valid, is still answered.
TEST_P(HostileInputTest, EveryBrokenFieldIsRefusedNamingItWithTheSessionUpAndNothingChanged) {
    const std::string type = GetParam();
    Template t;
    for (const Template& candidate : templates()) {
        if (candidate.type == type)
            t = candidate;
    }
    ASSERT_FALSE(t.fields.empty());
    const std::vector<Case> cases = cases_of(t, now());
    StateSnapshot before = harness_->snapshot();
    const auto started = std::chrono::steady_clock::now();
    const auto host_rejects = harness_->node().gateway_host().counters().rejected_in;
    for (const Case& c : cases) {
        if (!run(c, before, t.name, t.id_tag))
            break;
    }
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    std::printf("%s (%s): %zu hostile cases in %.2f s; session rejects counted by the host %llu\n",
                t.name.c_str(), type.c_str(), cases.size(), seconds,
                static_cast<unsigned long long>(
                    harness_->node().gateway_host().counters().rejected_in - host_rejects));
    for (const auto& [kind, n] : refusals_)
        std::printf("  %s: %d\n", kind.c_str(), n);
    const std::string ledger = harness_->check_ledger();
    EXPECT_TRUE(ledger.empty()) << ledger;
    // A valid order afterwards is accepted on the same session.
    const std::string cl = "after-" + type;
    const std::size_t from = alpha_->received();
    alpha_->send("D", {{11, cl},
                       {55, "USD/CNY"},
                       {54, "2"},
                       {60, now()},
                       {38, "100.00"},
                       {40, "2"},
                       {44, "9.5000"},
                       {59, "1"}});
    const auto ack =
        alpha_->wait([&](const FixMessage& m) { return m.type() == "8" && m.get(11) == cl; },
                     std::chrono::seconds(60), from);
    ASSERT_TRUE(ack) << "no ExecutionReport for a valid order after the hostile cases";
    EXPECT_EQ(ack->get(150), "0") << "a valid order was not accepted: " << ack->text();
}

INSTANTIATE_TEST_SUITE_P(PspMessages, HostileInputTest,
                         ::testing::Values("D", "F", "G", "H", "R", "U1", "AN"),
                         [](const ::testing::TestParamInfo<std::string>& param) {
                             return param.param;
                         });

// Frames a FIX engine must discard unread (FIX session layer: a garbled message is
// ignored, its sequence number not taken), and oversized messages, on a live session of
// alpha: nothing is answered for a garbled frame, nothing changes, and the session stays
// up; an oversized message is refused naming its field.
class HostileFramingTest : public ::testing::Test {
  protected:
    void SetUp() override {
        const std::string error = harness_.start();
        ASSERT_TRUE(error.empty()) << error;
        std::string why;
        alpha_ = harness_.logged_on("alpha", &why);
        ASSERT_NE(alpha_, nullptr) << "alpha did not log on: " << why;
    }
    std::vector<FixField> order(const std::string& cl, const std::string& text = "t") const {
        return {{11, cl},         {55, "USD/CNY"},
                {54, "2"},        {60, adapters::convert::format_utc_timestamp(harness_.now())},
                {38, "10000.00"}, {40, "2"},
                {44, "9.1000"},   {59, "1"},
                {58, text}};
    }
    // A probe answered within a few tries (a frame that claimed more bytes than it had
    // swallows what follows it until its length is reached).
    bool session_up(const std::string& id) {
        for (int i = 0; i < 3; ++i) {
            if (!alpha_->connected())
                return false;
            if (alpha_->probe(id + "-" + std::to_string(i), std::chrono::seconds(i < 2 ? 5 : 60)))
                return true;
        }
        return false;
    }

    NodeHarness harness_;
    std::unique_ptr<RawFixClient> alpha_;
};

TEST_F(HostileFramingTest, GarbledFramesAreDiscardedUnansweredAndOversizedMessagesRefused) {
    StateSnapshot before = harness_.snapshot();
    struct Garble {
        std::string name;
        SendOptions options;
        std::string raw_prefix;  // bytes sent before the message (line noise)
    };
    std::vector<Garble> garbles;
    const auto with = [](auto edit) {
        SendOptions o;
        o.consume_seq = false;
        edit(o);
        return o;
    };
    garbles.push_back(
        {"CheckSum off by one", with([](SendOptions& o) { o.checksum = "256"; }), ""});
    garbles.push_back({"CheckSum 000", with([](SendOptions& o) { o.checksum = "000"; }), ""});
    garbles.push_back({"CheckSum letters", with([](SendOptions& o) { o.checksum = "abc"; }), ""});
    garbles.push_back(
        {"BodyLength 10 short", with([](SendOptions& o) { o.body_length = "-10"; }), ""});
    garbles.push_back(
        {"BodyLength letters", with([](SendOptions& o) { o.body_length = "abc"; }), ""});
    garbles.push_back(
        {"BodyLength 40 long", with([](SendOptions& o) { o.body_length = "+40"; }), ""});
    garbles.push_back({"line noise before the message", SendOptions{},
                       "garbage\x01"
                       "99=\x01"});
    int n = 0;
    for (Garble& g : garbles) {
        SCOPED_TRACE(g.name);
        const std::string cl = "garbled-" + std::to_string(++n);
        std::vector<FixField> body = order(cl);
        // Relative BodyLength: computed from the real one.
        if (g.options.body_length &&
            (g.options.body_length->front() == '-' || g.options.body_length->front() == '+')) {
            const int delta = std::stoi(*g.options.body_length);
            const std::string text = alpha_->compose("D", body, alpha_->next_out_seq());
            std::string framed =
                frame_fix(text, std::to_string(static_cast<int>(text.size()) + delta));
            if (delta > 0) {
                // What the frame claims beyond its end: filler and a trailer of its own, so
                // the frame swallows noise rather than the next message.
                framed += std::string(static_cast<std::size_t>(delta), 'x');
                framed += kSoh;
                framed += "10=000";
                framed += kSoh;
            }
            ASSERT_TRUE(alpha_->send_raw(framed));
        } else {
            if (!g.raw_prefix.empty()) {
                ASSERT_TRUE(alpha_->send_raw(g.raw_prefix));
            }
            ASSERT_NE(alpha_->send("D", body, g.options), 0u);
        }
        const std::size_t from = alpha_->received();
        ASSERT_TRUE(session_up("garble-" + std::to_string(n)))
            << "the session did not survive: " << alpha_->last_error();
        StateSnapshot after = harness_.snapshot();
        const bool discarded = g.raw_prefix.empty();
        if (discarded) {
            for (const FixMessage& m : alpha_->messages(0)) {
                EXPECT_FALSE(m.get(11) == cl) << "a garbled order was answered: " << m.text();
            }
            EXPECT_EQ(before.diff(after), "") << "a garbled frame changed the state";
        } else {
            // Noise before a well-formed message: the message itself is read and accepted.
            auto ack = alpha_->wait(
                [&](const FixMessage& m) { return m.type() == "8" && m.get(11) == cl; },
                std::chrono::seconds(60));
            ASSERT_TRUE(ack) << "the order after the noise was not answered";
            EXPECT_EQ(ack->get(150), "0") << ack->text();
            before = harness_.snapshot();
        }
        static_cast<void>(from);
    }

    // Oversized: 1 MB and 4 MB of Text on an order; the order is refused naming Text.
    for (const std::size_t size : {std::size_t{1} << 20, std::size_t{4} << 20}) {
        SCOPED_TRACE(std::to_string(size) + " bytes of Text");
        const std::string cl = "big-" + std::to_string(size);
        const std::size_t from = alpha_->received();
        const std::uint64_t seq = alpha_->send("D", order(cl, std::string(size, 'x')));
        ASSERT_NE(seq, 0u);
        auto reply = alpha_->wait(
            [&](const FixMessage& m) {
                return ((m.type() == "3" || m.type() == "j") && m.get(45) == std::to_string(seq)) ||
                       (m.type() == "8" && m.get(11) == cl);
            },
            std::chrono::seconds(60), from);
        ASSERT_TRUE(reply) << "no reply to an oversized order";
        EXPECT_FALSE(refusal_kind(*reply).empty()) << reply->text().substr(0, 300);
        EXPECT_TRUE(names_tag(*reply, 58, "Text")) << reply->text().substr(0, 300);
        EXPECT_LT(reply->raw.size(), std::size_t{64} << 10)
            << "the refusal echoes the oversized field";
        ASSERT_TRUE(session_up("big")) << alpha_->last_error();
        EXPECT_EQ(before.diff(harness_.snapshot()), "");
    }
    const std::string ledger = harness_.check_ledger();
    EXPECT_TRUE(ledger.empty()) << ledger;
}

// Before any Logon, a connection claims a 2 GB message (9=2000000000) and keeps sending:
// QuickFIX would buffer it all. Past adapters::detail::kUnframedBytesMax without a message
// end the gateway shuts the connection (fix/read_limit.h); the process does not grow by
// what was sent, and alpha's session is untouched.
TEST_F(HostileFramingTest, AnUnauthenticatedClaimOfAHugeMessageIsCutOffAtTheBound) {
    const std::uint64_t cut_before = adapters::detail::connections_cut();
#if !defined(__SANITIZE_ADDRESS__)
    const long rss_before = resident_kib();
#endif
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(harness_.gateway_port());
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to), 0);
    const std::string head = std::string("8=FIX.4.4") + kSoh + "9=2000000000" + kSoh + "35=A" +
                             kSoh + "49=EMBER" + kSoh + "56=FXSETTLE" + kSoh + "58=";
    ASSERT_EQ(::send(fd, head.data(), head.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(head.size()));
    const std::string chunk(std::size_t{64} << 10, 'x');
    const std::size_t goal = std::size_t{64} << 20;  // 4x the bound
    std::size_t sent = 0;
    while (sent < goal) {
        const ssize_t n = ::send(fd, chunk.data(), chunk.size(), MSG_NOSIGNAL);
        if (n <= 0)
            break;  // the gateway shut the connection
        sent += static_cast<std::size_t>(n);
    }
    ::close(fd);
    EXPECT_LT(sent, goal) << "the gateway took " << sent << " bytes of one unframed message";
    EXPECT_GE(sent, adapters::detail::kUnframedBytesMax - (std::size_t{1} << 20))
        << "cut before the bound";
    EXPECT_EQ(adapters::detail::connections_cut(), cut_before + 1);
#if !defined(__SANITIZE_ADDRESS__)
    // (Under ASan freed buffers stay in its quarantine, so the resident set says nothing.)
    const long rss_after = resident_kib();
    EXPECT_LT(rss_after - rss_before, 56L << 10)
        << "the process grew by " << (rss_after - rss_before) << " KiB";
#endif
    ASSERT_TRUE(session_up("after-cut")) << alpha_->last_error();
}

}  // namespace
}  // namespace fxsettle::hostile
