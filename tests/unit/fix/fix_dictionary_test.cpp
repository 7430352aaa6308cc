// fxsettle's FIX 4.4 data dictionary (config/fix/FIX44-fxsettle.xml) through QuickFIX's
// own FIX::DataDictionary: it loads; a well-formed example of every message validates;
// and every way of breaking a message that the dictionary can see -- a required tag
// missing, a value of the wrong type, a value outside the enumeration, a tag the
// dictionary does not know, a tag the message does not carry, a wrong group count -- is
// refused with an exception that names the tag (the Session turns it into a Reject
// whose RefTagID (371) is that tag).
//
// QuickFIX 1.15.1's validate never looks inside repeating groups and reads LOCALMKTDATE
// as text; fxsettle's adapters add adapters::validate_strict() for those, so "refused"
// here means by validate() or, after it, validate_strict() -- the gateway's order.
//
// The examples are wire text in field order; each broken variant is derived from the
// example mechanically, for every field that can be broken that way.
#include <gtest/gtest.h>
#include <quickfix/DataDictionary.h>
#include <quickfix/Exceptions.h>
#include <quickfix/Message.h>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "adapters/fix/strict_validation.h"

#ifndef FXSETTLE_FIX_DICTIONARY
#error "FXSETTLE_FIX_DICTIONARY must name config/fix/FIX44-fxsettle.xml"
#endif

namespace {

using Field = std::pair<int, std::string>;
using Fields = std::vector<Field>;

struct Example {
    const char* name;
    const char* msg_type;
    Fields body;  // in wire order, groups as count then entries
};

const char kTime[] = "20240105-10:00:00.000";

// The well-formed examples: every message of the dictionary, with most optional fields
// and at least two entries in each repeating group.
std::vector<Example> examples() {
    std::vector<Example> out;
    // ---- session
    out.push_back({"Heartbeat", "0", {{112, "TR-1"}}});
    out.push_back({"TestRequest", "1", {{112, "TR-1"}}});
    out.push_back({"ResendRequest", "2", {{7, "5"}, {16, "0"}}});
    out.push_back({"Reject",
                   "3",
                   {{45, "7"}, {371, "55"}, {372, "D"}, {373, "1"}, {58, "Required tag missing"}}});
    out.push_back({"SequenceReset", "4", {{123, "Y"}, {36, "12"}}});
    out.push_back({"Logout", "5", {{58, "bye"}}});
    out.push_back({"Logon",
                   "A",
                   {{98, "0"},
                    {108, "30"},
                    {141, "N"},
                    {789, "3"},
                    {383, "65536"},
                    {464, "N"},
                    {553, "psp1"},
                    {554, "secret"}}});
    // ---- FX orders
    out.push_back({"NewOrderSingle",
                   "D",
                   {{11, "C-1"},
                    {1, "PSP1"},
                    {55, "EUR/USD"},
                    {460, "4"},
                    {54, "1"},
                    {60, kTime},
                    {38, "1000000.00"},
                    {40, "2"},
                    {44, "1.0850"},
                    {15, "EUR"},
                    {59, "1"},
                    {63, "B"},
                    {64, "20240112"},
                    {58, "hedge"}}});
    out.push_back({"OrderCancelRequest",
                   "F",
                   {{41, "C-1"},
                    {37, "1001"},
                    {11, "C-2"},
                    {1, "PSP1"},
                    {55, "EUR/USD"},
                    {460, "4"},
                    {54, "1"},
                    {60, kTime},
                    {38, "1000000.00"},
                    {58, "cancel"}}});
    out.push_back({"OrderCancelReplaceRequest",
                   "G",
                   {{37, "1001"},
                    {41, "C-1"},
                    {11, "C-3"},
                    {1, "PSP1"},
                    {55, "EUR/USD"},
                    {460, "4"},
                    {54, "1"},
                    {60, kTime},
                    {38, "2000000.00"},
                    {40, "2"},
                    {44, "1.0845"},
                    {15, "EUR"},
                    {59, "1"},
                    {58, "replace"}}});
    out.push_back({"OrderStatusRequest",
                   "H",
                   {{37, "1001"},
                    {11, "C-1"},
                    {790, "S-1"},
                    {1, "PSP1"},
                    {55, "EUR/USD"},
                    {460, "4"},
                    {54, "1"}}});
    out.push_back({"ExecutionReport",
                   "8",
                   {{37, "1001"},      {11, "C-1"},         {41, "C-0"},        {790, "S-1"},
                    {880, "T-77"},     {17, "E-1"},         {150, "F"},         {39, "1"},
                    {103, "99"},       {7000, "300"},       {1, "PSP1"},        {55, "EUR/USD"},
                    {460, "4"},        {54, "1"},           {38, "1000000.00"}, {40, "2"},
                    {44, "1.0850"},    {15, "EUR"},         {59, "1"},          {32, "400000.00"},
                    {31, "1.0849"},    {7400, "433960.00"}, {7401, "USD"},      {151, "600000.00"},
                    {14, "400000.00"}, {6, "1.0849"},       {63, "0"},          {64, "20240109"},
                    {60, kTime},       {58, "partial fill"}}});
    out.push_back({"OrderCancelReject",
                   "9",
                   {{37, "1001"},
                    {11, "C-2"},
                    {41, "C-1"},
                    {39, "2"},
                    {1, "PSP1"},
                    {60, kTime},
                    {434, "1"},
                    {102, "0"},
                    {7000, "205"},
                    {58, "order is filled"}}});
    out.push_back({"BusinessMessageReject",
                   "j",
                   {{45, "9"},
                    {372, "U1"},
                    {379, "P-1"},
                    {380, "6"},
                    {7000, "102"},
                    {58, "not authorised"}}});
    // ---- quotes
    out.push_back({"QuoteRequest",
                   "R",
                   {{131, "Q-1"},
                    {146, "2"},
                    {55, "USD/CNY"},
                    {460, "4"},
                    {54, "1"},
                    {38, "5000.00"},
                    {63, "0"},
                    {64, "20240109"},
                    {15, "USD"},
                    {1, "PSP1"},
                    {55, "EUR/CNY"},
                    {54, "2"},
                    {38, "1200.00"},
                    {15, "EUR"},
                    {58, "rfq"}}});
    out.push_back({"Quote",
                   "S",
                   {{131, "Q-1"},
                    {117, "42"},
                    {1, "PSP1"},
                    {55, "USD/CNY"},
                    {460, "4"},
                    {54, "1"},
                    {38, "5000.00"},
                    {63, "0"},
                    {64, "20240109"},
                    {15, "USD"},
                    {132, "7.1010"},
                    {133, "7.1090"},
                    {134, "5000.00"},
                    {135, "5000.00"},
                    {7400, "35545.00"},
                    {7401, "CNY"},
                    {62, "20240105-10:00:05.000"},
                    {60, kTime},
                    {58, "firm"}}});
    out.push_back({"QuoteRequestReject",
                   "AG",
                   {{131, "Q-1"},
                    {658, "8"},
                    {146, "1"},
                    {55, "USD/CNY"},
                    {460, "4"},
                    {54, "1"},
                    {38, "5000.00"},
                    {15, "USD"},
                    {7000, "600"},
                    {58, "no rate"}}});
    // ---- positions
    out.push_back({"RequestForPositions",
                   "AN",
                   {{710, "P-1"},
                    {724, "0"},
                    {263, "0"},
                    {1, "PSP1"},
                    {581, "1"},
                    {15, "CNY"},
                    {715, "20240105"},
                    {60, kTime}}});
    out.push_back({"RequestForPositionsAck",
                   "AO",
                   {{721, "PM-1"},
                    {710, "P-1"},
                    {727, "2"},
                    {325, "N"},
                    {728, "0"},
                    {729, "0"},
                    {1, "PSP1"},
                    {581, "1"},
                    {15, "CNY"},
                    {7000, "0"},
                    {58, "ok"}}});
    out.push_back(
        {"PositionReport", "AP", {{721, "PM-1"},       {710, "P-1"},       {724, "0"},
                                  {263, "0"},          {727, "2"},         {325, "N"},
                                  {728, "0"},          {715, "20240105"},  {1, "PSP1"},
                                  {581, "1"},          {15, "CNY"},        {7500, "125000.00"},
                                  {7501, "5000.00"},   {7502, "0.00"},     {7503, "-3500.00"},
                                  {7504, "100000.00"}, {7505, "96500.00"}, {7506, "250000.00"},
                                  {7507, "USD"},       {7508, "490.12"},   {58, "CNY balances"}}});
    // ---- market data
    out.push_back({"MarketDataRequest",
                   "V",
                   {{262, "MD-1"},
                    {263, "1"},
                    {264, "1"},
                    {265, "0"},
                    {266, "Y"},
                    {267, "2"},
                    {269, "0"},
                    {269, "1"},
                    {146, "2"},
                    {55, "EUR/USD"},
                    {460, "4"},
                    {55, "USD/CNH"}}});
    out.push_back({"MarketDataSnapshotFullRefresh",
                   "W",
                   {{262, "MD-1"},
                    {55, "EUR/USD"},
                    {460, "4"},
                    {268, "2"},
                    {269, "0"},
                    {270, "1.08495"},
                    {15, "EUR"},
                    {271, "5000000"},
                    {272, "20240105"},
                    {273, "10:00:00.000"},
                    {276, "A"},
                    {282, "VENUE1"},
                    {278, "B1"},
                    {290, "1"},
                    {269, "1"},
                    {270, "1.08505"},
                    {271, "3000000"}}});
    out.push_back({"MarketDataIncrementalRefresh",
                   "X",
                   {{262, "MD-1"},
                    {268, "2"},
                    {279, "1"},
                    {269, "0"},
                    {278, "B1"},
                    {280, "B0"},
                    {55, "EUR/USD"},
                    {460, "4"},
                    {270, "1.08490"},
                    {15, "EUR"},
                    {271, "4000000"},
                    {272, "20240105"},
                    {273, "10:00:00.250"},
                    {276, "A"},
                    {282, "VENUE1"},
                    {290, "1"},
                    {279, "2"},
                    {269, "1"},
                    {278, "O7"},
                    {55, "EUR/USD"}}});
    out.push_back(
        {"MarketDataRequestReject", "Y", {{262, "MD-1"}, {281, "0"}, {58, "unknown symbol"}}});
    // ---- user-defined
    out.push_back({"PayoutInstruction",
                   "U1",
                   {{7100, "PI-1"},
                    {1, "PSP1"},
                    {15, "CNY"},
                    {117, "42"},
                    {63, "0"},
                    {64, "20240109"},
                    {60, kTime},
                    {7102, "35000.00"},
                    {7103, "USD"},
                    {7105, "BANK_CN1"},
                    {7106, "6222020200112233"},
                    {7107, "Shenzhen Widgets Co"},
                    {7108, "CN"},
                    {7110, "supplier invoice"},
                    {7111, "INV-2024-001"}}});
    out.push_back({"PayoutInstruction (internal payee)",
                   "U1",
                   {{7100, "PI-2"}, {15, "EUR"}, {60, kTime}, {7102, "10.00"}, {7109, "PSP2"}}});
    out.push_back({"PayoutStatus",
                   "U2",
                   {{15, "CNY"},
                    {55, "USD/CNY"},
                    {64, "20240109"},
                    {58, "accepted"},
                    {60, kTime},
                    {7000, "0"},
                    {7100, "PI-1"},
                    {7101, "9001"},
                    {7102, "35000.00"},
                    {7103, "USD"},
                    {7104, "4925.40"},
                    {7112, "A"},
                    {7113, "7.1060"},
                    {7114, "Y"}}});
    out.push_back({"PayoutStatus (failed)",
                   "U2",
                   {{58, "beneficiary account closed"},
                    {60, kTime},
                    {7000, "900"},
                    {7100, "PI-1"},
                    {7101, "9001"},
                    {7112, "F"},
                    {7115, "35000.00"},
                    {7116, "CNY"}}});
    out.push_back({"PaymentOrder",
                   "U3",
                   {{15, "CNY"},
                    {60, kTime},
                    {64, "20240109"},
                    {7200, "PO-7"},
                    {7201, "35100.00"},
                    {7202, "2"},
                    {7203, "0"},
                    {7101, "9001"},
                    {7105, "BANK_CN1"},
                    {7106, "6222020200112233"},
                    {7107, "Shenzhen Widgets Co"},
                    {7108, "CN"},
                    {7204, "35000.00"},
                    {7205, "CNY"},
                    {7206, "PSP1"},
                    {7110, "supplier invoice"},
                    {7111, "INV-2024-001"},
                    {7203, "1"},
                    {7101, "9002"},
                    {7105, "BANK_CN1"},
                    {7106, "6222020200445566"},
                    {7107, "Li Wei"},
                    {7108, "CN"},
                    {7204, "100.00"},
                    {7205, "CNY"},
                    {7300, "31"}}});
    out.push_back({"PaymentConfirmation",
                   "U4",
                   {{60, kTime},
                    {7200, "PO-7"},
                    {7207, "BK-REF-1"},
                    {7208, "2"},
                    {7203, "0"},
                    {7101, "9001"},
                    {7209, "C"},
                    {7207, "BK-REF-1-0"},
                    {7203, "1"},
                    {7101, "9002"},
                    {7209, "R"},
                    {7210, "AC04"},
                    {58, "account closed"}}});
    out.push_back({"SettlementObligationReport",
                   "U5",
                   {{1, "PSP1"},        {58, "cycle 31"},    {60, kTime},
                    {715, "20240105"},  {7300, "31"},        {7301, "SO-31-PSP1"},
                    {7302, "2"},        {7303, "2"},         {7304, "SO-31-PSP1-CNY"},
                    {7305, "N"},        {430, "1"},          {15, "CNY"},
                    {7307, "35100.00"}, {7311, "1"},         {7308, "0.00"},
                    {7309, "35100.00"}, {7310, "-35100.00"}, {64, "20240109"},
                    {7312, "2"},        {7313, "0"},         {7304, "SO-31-PSP1-USD"},
                    {7305, "N"},        {15, "USD"},         {7307, "0.00"},
                    {7311, "0"},        {64, "20240109"}}});
    out.push_back({"DepositNotice",
                   "U6",
                   {{1, "PSP1"},
                    {15, "USD"},
                    {64, "20240105"},
                    {58, "pay-in"},
                    {60, kTime},
                    {7600, "BK-DEP-1"},
                    {7601, "250000.00"}}});
    return out;
}

// The first example of `msg_type`.
const Example& example_of(const std::vector<Example>& all, const std::string& msg_type) {
    for (const Example& e : all) {
        if (msg_type == e.msg_type) {
            return e;
        }
    }
    throw std::logic_error("no example of " + msg_type);
}

std::string checksum_of(const std::string& text) {
    unsigned sum = 0;
    for (unsigned char c : text) {
        sum += c;
    }
    char buf[4];
    std::snprintf(buf, sizeof buf, "%03u", sum % 256);
    return buf;
}

// Wire text of `msg_type` with `body`: a standard header, BodyLength and CheckSum right.
std::string wire(const std::string& msg_type, const Fields& body) {
    std::string inner = "35=" + msg_type + "\x01" + "49=PSP1\x01" + "56=FXSETTLE\x01" + "34=7\x01" +
                        "52=" + kTime + "\x01";
    for (const Field& f : body) {
        inner += std::to_string(f.first) + "=" + f.second + "\x01";
    }
    std::string text =
        "8=FIX.4.4\x01" + std::string("9=") + std::to_string(inner.size()) + "\x01" + inner;
    return text + "10=" + checksum_of(text) + "\x01";
}

// What validation said: nothing (accepted), or the exception's kind and the tag it
// names (0 when it names none).
struct Outcome {
    bool refused = false;
    std::string kind;
    int tag = 0;
};

template <typename E>
bool named(const FIX::Exception& e, Outcome& out) {
    const E* typed = dynamic_cast<const E*>(&e);
    if (typed == nullptr) {
        return false;
    }
    out.tag = typed->field;
    return true;
}

class FixDictionaryTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        dictionary_.reset(new FIX::DataDictionary(FXSETTLE_FIX_DICTIONARY));
    }
    static void TearDownTestSuite() { dictionary_.reset(); }

    static Outcome validate(const std::string& text, bool strict = true) {
        Outcome out;
        try {
            FIX::Message message(text, *dictionary_, false);
            dictionary_->validate(message);
            if (strict) {
                fxsettle::adapters::validate_strict(message, *dictionary_);
            }
        } catch (const FIX::Exception& e) {
            out.refused = true;
            out.kind = e.type;
            if (!named<FIX::RequiredTagMissing>(e, out) && !named<FIX::InvalidTagNumber>(e, out) &&
                !named<FIX::TagNotDefinedForMessage>(e, out) &&
                !named<FIX::IncorrectDataFormat>(e, out) &&
                !named<FIX::IncorrectTagValue>(e, out) && !named<FIX::NoTagValue>(e, out) &&
                !named<FIX::RepeatingGroupCountMismatch>(e, out) &&
                !named<FIX::TagOutOfOrder>(e, out) && !named<FIX::RepeatedTag>(e, out)) {
                out.tag = 0;
            }
        }
        return out;
    }

    static bool is_count_field(int tag) {
        FIX::TYPE::Type type = FIX::TYPE::Unknown;
        return dictionary_->getFieldType(tag, type) && type == FIX::TYPE::NumInGroup;
    }

    static std::unique_ptr<FIX::DataDictionary> dictionary_;
};

std::unique_ptr<FIX::DataDictionary> FixDictionaryTest::dictionary_;

TEST_F(FixDictionaryTest, LoadsAsFix44WithEveryMessage) {
    EXPECT_EQ(dictionary_->getVersion(), "FIX.4.4");
    const char* types[] = {"0", "1", "2", "3", "4",  "5",  "A",  "D",  "F",  "G",
                           "H", "8", "9", "j", "R",  "S",  "AG", "AN", "AO", "AP",
                           "V", "W", "X", "Y", "U1", "U2", "U3", "U4", "U5", "U6"};
    for (const char* type : types) {
        EXPECT_TRUE(dictionary_->isMsgType(type)) << type;
    }
    EXPECT_FALSE(dictionary_->isMsgType("BQ"));  // carried as U5
    EXPECT_TRUE(dictionary_->isField(63));
    EXPECT_TRUE(dictionary_->isField(64));
    EXPECT_TRUE(dictionary_->isMsgField("A", 553));
    EXPECT_TRUE(dictionary_->isMsgField("A", 554));
    // Every user-defined tag lies in FIX's user-defined range.
    for (int tag = 1; tag < 10000; ++tag) {
        if (dictionary_->isField(tag) && tag >= 1000) {
            EXPECT_GE(tag, 5000) << tag;
        }
    }
}

TEST_F(FixDictionaryTest, FieldTypesFollowTheSpecification) {
    struct Expected {
        int tag;
        FIX::TYPE::Type type;
    };
    const Expected expected[] = {
        {34, FIX::TYPE::SeqNum},       {38, FIX::TYPE::Qty},          {44, FIX::TYPE::Price},
        {15, FIX::TYPE::Currency},     {52, FIX::TYPE::UtcTimeStamp}, {54, FIX::TYPE::Char},
        {63, FIX::TYPE::Char},         {64, FIX::TYPE::LocalMktDate}, {98, FIX::TYPE::Int},
        {141, FIX::TYPE::Boolean},     {146, FIX::TYPE::NumInGroup},  {272, FIX::TYPE::UtcDate},
        {273, FIX::TYPE::UtcTimeOnly}, {7102, FIX::TYPE::Amt},        {7108, FIX::TYPE::Country},
        {7202, FIX::TYPE::NumInGroup}, {7303, FIX::TYPE::NumInGroup}, {7113, FIX::TYPE::Price},
    };
    for (const Expected& e : expected) {
        FIX::TYPE::Type type = FIX::TYPE::Unknown;
        ASSERT_TRUE(dictionary_->getFieldType(e.tag, type)) << e.tag;
        EXPECT_EQ(type, e.type) << e.tag;
    }
}

TEST_F(FixDictionaryTest, EveryWellFormedExampleValidates) {
    for (const Example& example : examples()) {
        const Outcome out = validate(wire(example.msg_type, example.body));
        EXPECT_FALSE(out.refused) << example.name << ": " << out.kind << " tag " << out.tag;
    }
}

TEST_F(FixDictionaryTest, MissingRequiredTagIsRefusedNamingIt) {
    int checked = 0;
    for (const Example& example : examples()) {
        for (std::size_t i = 0; i < example.body.size(); ++i) {
            const int tag = example.body[i].first;
            if (!dictionary_->isRequiredField(example.msg_type, tag) || is_count_field(tag)) {
                continue;
            }
            Fields broken = example.body;
            broken.erase(broken.begin() + static_cast<std::ptrdiff_t>(i));
            const Outcome out = validate(wire(example.msg_type, broken));
            EXPECT_TRUE(out.refused) << example.name << " without " << tag;
            EXPECT_EQ(out.kind, "Required tag missing") << example.name << " without " << tag;
            EXPECT_EQ(out.tag, tag) << example.name << " without " << tag;
            ++checked;
        }
    }
    EXPECT_GT(checked, 60);
}

TEST_F(FixDictionaryTest, MissingRequiredGroupIsRefusedNamingItsCountTag) {
    int checked = 0;
    for (const Example& example : examples()) {
        for (std::size_t i = 0; i < example.body.size(); ++i) {
            const int tag = example.body[i].first;
            if (!is_count_field(tag) || !dictionary_->isRequiredField(example.msg_type, tag)) {
                continue;
            }
            int delim = 0;
            const FIX::DataDictionary* group = nullptr;
            ASSERT_TRUE(dictionary_->getGroup(example.msg_type, tag, delim, group)) << tag;
            // Remove the count and every field of its entries.
            std::size_t end = i + 1;
            while (end < example.body.size() && group->isField(example.body[end].first)) {
                ++end;
            }
            Fields broken = example.body;
            broken.erase(broken.begin() + static_cast<std::ptrdiff_t>(i),
                         broken.begin() + static_cast<std::ptrdiff_t>(end));
            const Outcome out = validate(wire(example.msg_type, broken));
            EXPECT_EQ(out.kind, "Required tag missing") << example.name << " without " << tag;
            EXPECT_EQ(out.tag, tag) << example.name << " without " << tag;
            ++checked;
        }
    }
    EXPECT_GE(checked, 9);
}

TEST_F(FixDictionaryTest, MissingRequiredTagInsideGroupIsRefusedNamingIt) {
    struct Case {
        const char* msg_type;
        int tag;
        int nth;  // which occurrence to remove (0 = first)
    };
    // Not the first field of an entry: that one delimits the entries.
    const Case cases[] = {
        {"U3", 7204, 1}, {"U3", 7101, 0}, {"U3", 7108, 1}, {"U4", 7209, 1},
        {"U5", 7311, 0}, {"U5", 64, 1},   {"U5", 7305, 1},
    };
    const std::vector<Example> all = examples();
    for (const Case& c : cases) {
        const Example* example = &example_of(all, c.msg_type);
        Fields broken = example->body;
        int seen = 0;
        for (auto it = broken.begin(); it != broken.end(); ++it) {
            if (it->first == c.tag && seen++ == c.nth) {
                broken.erase(it);
                break;
            }
        }
        ASSERT_EQ(broken.size() + 1, example->body.size()) << c.msg_type << " " << c.tag;
        const Outcome out = validate(wire(c.msg_type, broken));
        EXPECT_EQ(out.kind, "Required tag missing") << c.msg_type << " " << c.tag;
        EXPECT_EQ(out.tag, c.tag) << c.msg_type << " " << c.tag;
    }
}

TEST_F(FixDictionaryTest, WrongTypeIsRefusedNamingTheTag) {
    int checked = 0;
    for (const Example& example : examples()) {
        for (std::size_t i = 0; i < example.body.size(); ++i) {
            const int tag = example.body[i].first;
            FIX::TYPE::Type type = FIX::TYPE::Unknown;
            ASSERT_TRUE(dictionary_->getFieldType(tag, type)) << tag;
            // Text-like types accept any text; group counts break the parse itself.
            if (type == FIX::TYPE::String || type == FIX::TYPE::Currency ||
                type == FIX::TYPE::Country || type == FIX::TYPE::MultipleValueString ||
                type == FIX::TYPE::NumInGroup) {
                continue;
            }
            Fields broken = example.body;
            broken[i].second = "1x.Q";
            const Outcome out = validate(wire(example.msg_type, broken));
            EXPECT_TRUE(out.refused) << example.name << " " << tag << "=1x.Q";
            EXPECT_EQ(out.kind, "Incorrect data format for value") << example.name << " " << tag;
            EXPECT_EQ(out.tag, tag) << example.name << " " << tag;
            ++checked;
        }
    }
    EXPECT_GT(checked, 100);
}

TEST_F(FixDictionaryTest, ValueOutsideEnumerationIsRefusedNamingTheTag) {
    int checked = 0;
    for (const Example& example : examples()) {
        for (std::size_t i = 0; i < example.body.size(); ++i) {
            const int tag = example.body[i].first;
            if (!dictionary_->hasFieldValue(tag)) {
                continue;
            }
            FIX::TYPE::Type type = FIX::TYPE::Unknown;
            dictionary_->getFieldType(tag, type);
            // A value of the right format that no enumeration of this dictionary holds.
            const std::string bad = type == FIX::TYPE::Char  ? "~"
                                    : type == FIX::TYPE::Int ? "987"
                                                             : "ZZ";
            ASSERT_FALSE(dictionary_->isFieldValue(tag, bad)) << tag;
            Fields broken = example.body;
            broken[i].second = bad;
            const Outcome out = validate(wire(example.msg_type, broken));
            EXPECT_TRUE(out.refused) << example.name << " " << tag << "=" << bad;
            EXPECT_EQ(out.kind, "Value is incorrect (out of range) for this tag")
                << example.name << " " << tag;
            EXPECT_EQ(out.tag, tag) << example.name << " " << tag;
            ++checked;
        }
    }
    EXPECT_GT(checked, 50);
}

TEST_F(FixDictionaryTest, UnsupportedValuesOfFieldsFxsettleActsOnAreRefused) {
    // fxsettle's profile: stop orders, GTD, SettlType T+5 and tenor codes are refused at
    // the session level.
    const std::vector<Example> all = examples();
    const Example& order = example_of(all, "D");
    const std::pair<int, std::string> cases[] = {
        {40, "3"}, {59, "6"}, {63, "9"}, {63, "C"}, {54, "5"}};
    for (const auto& c : cases) {
        Fields broken = order.body;
        for (Field& f : broken) {
            if (f.first == c.first) {
                f.second = c.second;
            }
        }
        const Outcome out = validate(wire("D", broken));
        EXPECT_TRUE(out.refused) << c.first << "=" << c.second;
        EXPECT_EQ(out.tag, c.first) << c.first << "=" << c.second;
    }
    // A tenor code such as M1 is not a CHAR at all.
    Fields tenor = order.body;
    for (Field& f : tenor) {
        if (f.first == 63) {
            f.second = "M1";
        }
    }
    const Outcome out = validate(wire("D", tenor));
    EXPECT_EQ(out.kind, "Incorrect data format for value");
    EXPECT_EQ(out.tag, 63);
}

TEST_F(FixDictionaryTest, UnknownTagIsRefusedNamingIt) {
    int checked = 0;
    for (const Example& example : examples()) {
        // A tag in the user-defined range that the dictionary does not define, and one
        // below it.
        for (int tag : {7999, 4999}) {
            Fields broken = example.body;
            broken.insert(broken.begin(), Field(tag, "1"));
            const Outcome out = validate(wire(example.msg_type, broken));
            EXPECT_TRUE(out.refused) << example.name << " with " << tag;
            EXPECT_EQ(out.kind, "Invalid tag number") << example.name << " with " << tag;
            EXPECT_EQ(out.tag, tag) << example.name << " with " << tag;
            ++checked;
        }
        // A tag the dictionary knows but this message does not carry.
        const int foreign = std::string(example.msg_type) == "A" ? 7100 : 553;
        Fields broken = example.body;
        broken.insert(broken.begin(), Field(foreign, "x"));
        const Outcome out = validate(wire(example.msg_type, broken));
        EXPECT_EQ(out.kind, "Tag not defined for this message type") << example.name;
        EXPECT_EQ(out.tag, foreign) << example.name;
    }
    EXPECT_GT(checked, 60);
}

TEST_F(FixDictionaryTest, GroupCountMismatchIsRefusedNamingTheCountTag) {
    for (const Example& example : examples()) {
        for (std::size_t i = 0; i < example.body.size(); ++i) {
            const int tag = example.body[i].first;
            if (!is_count_field(tag)) {
                continue;
            }
            Fields broken = example.body;
            broken[i].second = std::to_string(std::stoi(broken[i].second) + 1);
            const Outcome out = validate(wire(example.msg_type, broken));
            EXPECT_TRUE(out.refused) << example.name << " " << tag;
            EXPECT_EQ(out.tag, tag) << example.name << " " << tag;
        }
    }
}

TEST_F(FixDictionaryTest, QuickFixAloneLeavesGroupFieldsAndDatesUnchecked) {
    // Why validate_strict() exists: QuickFIX 1.15.1 accepts these.
    const std::vector<Example> all = examples();
    Fields order_lines = example_of(all, "U3").body;
    for (Field& f : order_lines) {
        if (f.first == 7204) {
            f.second = "abc";
        }
    }
    EXPECT_FALSE(validate(wire("U3", order_lines), false).refused);
    Outcome strict = validate(wire("U3", order_lines));
    EXPECT_EQ(strict.kind, "Incorrect data format for value");
    EXPECT_EQ(strict.tag, 7204);

    Fields order = example_of(all, "D").body;
    for (Field& f : order) {
        if (f.first == 64) {
            f.second = "20240230";
        }
    }
    EXPECT_FALSE(validate(wire("D", order), false).refused);
    strict = validate(wire("D", order));
    EXPECT_EQ(strict.kind, "Incorrect data format for value");
    EXPECT_EQ(strict.tag, 64);
}

TEST_F(FixDictionaryTest, LocalMktDateFormat) {
    using fxsettle::adapters::is_local_mkt_date;
    EXPECT_TRUE(is_local_mkt_date("20240229"));
    EXPECT_TRUE(is_local_mkt_date("20000229"));
    EXPECT_FALSE(is_local_mkt_date("19000229"));
    EXPECT_FALSE(is_local_mkt_date("20230229"));
    EXPECT_FALSE(is_local_mkt_date("20241301"));
    EXPECT_FALSE(is_local_mkt_date("20240100"));
    EXPECT_FALSE(is_local_mkt_date("2024-01-05"));
    EXPECT_FALSE(is_local_mkt_date("2024010"));
    EXPECT_FALSE(is_local_mkt_date(""));
    EXPECT_FALSE(is_local_mkt_date("2024O105"));
}

// QuickFIX reads a field repeated inside a group entry as a new entry and names the
// delimiter or the count; find_group_repeat (which the session host uses to rewrite that
// Reject) names the repeated field itself.
TEST_F(FixDictionaryTest, AFieldRepeatedInsideAGroupEntryIsNamed) {
    using fxsettle::adapters::find_group_repeat;
    const Fields entry = {{146, "1"}, {55, "USD/CNY"}, {54, "2"}, {38, "10000.00"}, {15, "USD"}};
    Fields body = {{131, "Q-1"}};
    body.insert(body.end(), entry.begin(), entry.end());
    fxsettle::adapters::GroupRepeat none;
    EXPECT_FALSE(find_group_repeat(wire("R", body), *dictionary_, &none))
        << "a valid QuoteRequest has no repeat";
    for (const int repeated : {54, 38, 15}) {
        Fields broken = body;
        for (std::size_t i = 0; i < broken.size(); ++i) {
            if (broken[i].first == repeated) {
                broken.insert(broken.begin() + static_cast<std::ptrdiff_t>(i) + 1, broken[i]);
                break;
            }
        }
        // QuickFIX refuses it, naming something else...
        const Outcome out = validate(wire("R", broken));
        EXPECT_TRUE(out.refused) << repeated;
        EXPECT_NE(out.tag, repeated);
        // ...find_group_repeat names it.
        fxsettle::adapters::GroupRepeat r;
        ASSERT_TRUE(find_group_repeat(wire("R", broken), *dictionary_, &r)) << repeated;
        EXPECT_EQ(r.tag, repeated);
        EXPECT_EQ(r.session_reject_reason, 13);
        EXPECT_NE(r.text.find("(" + std::to_string(repeated) +
                              ") appears more than once in "
                              "entry 1 of NoRelatedSym (146)"),
                  std::string::npos)
            << r.text;
    }
    // The delimiter repeated: more entries than the count.
    Fields twice = body;
    twice.insert(twice.begin() + 3, Field(55, "USD/CNY"));
    fxsettle::adapters::GroupRepeat r;
    ASSERT_TRUE(find_group_repeat(wire("R", twice), *dictionary_, &r));
    EXPECT_EQ(r.tag, 55);
    EXPECT_EQ(r.session_reject_reason, 16);
    EXPECT_NE(r.text.find("Symbol (55) starts entry 2 of NoRelatedSym (146) = 1"),
              std::string::npos)
        << r.text;
}

TEST_F(FixDictionaryTest, UnknownMessageTypeIsRefused) {
    const Outcome out = validate(wire("BQ", {{58, "x"}}));
    EXPECT_TRUE(out.refused);
    EXPECT_EQ(out.kind, "Invalid Message Type");
    const Outcome u9 = validate(wire("U9", {{58, "x"}}));
    EXPECT_EQ(u9.kind, "Invalid Message Type");
}

}  // namespace
