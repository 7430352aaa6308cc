// WireMessage <-> FIX::Message (wire_codec.h) and wire_check() (wire_check.h) against
// config/fix/FIX44-fxsettle.xml: round trips through the bytes a session sends, groups in
// the dictionary's order, and every structural mistake refused naming the tag.
#include <gtest/gtest.h>
#include <quickfix/DataDictionary.h>
#include <quickfix/Message.h>

#include <string>
#include <vector>

#include "adapters/fix/wire_check.h"
#include "adapters/fix/wire_codec.h"

#ifndef FXSETTLE_FIX_DICTIONARY
#error "FXSETTLE_FIX_DICTIONARY must name config/fix/FIX44-fxsettle.xml"
#endif

namespace {

using fxsettle::adapters::check_fix;
using fxsettle::adapters::from_fix;
using fxsettle::adapters::to_fix;
using fxsettle::adapters::wire_check;
using fxsettle::adapters::WireField;
using fxsettle::adapters::WireGroup;
using fxsettle::adapters::WireMessage;

const std::string kDictionary = FXSETTLE_FIX_DICTIONARY;

WireMessage new_order() {
    WireMessage m;
    m.msg_type = "D";
    m.add(11, "C-1")
        .add(55, "EUR/USD")
        .add(54, "1")
        .add(60, "20240105-10:00:00.000")
        .add(38, "1000000.00")
        .add(40, "2")
        .add(44, "1.0850")
        .add(59, "1")
        .add(63, "0");
    return m;
}

std::vector<WireField> payment_line(int line, const std::string& amount) {
    return {{7203, std::to_string(line)},
            {7101, "900" + std::to_string(line)},
            {7105, "BANK_CN1"},
            {7106, "62220202"},
            {7107, "Li Wei"},
            {7108, "CN"},
            {7204, amount},
            {7205, "CNY"}};
}

WireMessage payment_order() {
    WireMessage m;
    m.msg_type = "U3";
    m.add(15, "CNY")
        .add(60, "20240105-10:00:00.000")
        .add(64, "20240109")
        .add(7200, "PO-1")
        .add(7201, "100.00");
    WireGroup lines;
    lines.count_tag = 7202;
    lines.entries.push_back(payment_line(0, "50.00"));
    lines.entries.push_back(payment_line(1, "50.00"));
    m.groups.push_back(lines);
    return m;
}

class WireCodecTest : public ::testing::Test {
  protected:
    WireCodecTest() : dictionary_(kDictionary) {}

    // to_fix, then the bytes a session would send, parsed back as the receiver does.
    WireMessage round_trip(const WireMessage& in) {
        FIX::Message fix;
        std::string error;
        EXPECT_TRUE(to_fix(in, dictionary_, &fix, &error)) << error;
        fix.getHeader().setField(8, "FIX.4.4");
        fix.getHeader().setField(49, "A");
        fix.getHeader().setField(56, "B");
        fix.getHeader().setField(34, "7");
        fix.getHeader().setField(52, "20240105-10:00:00.123");
        const FIX::Message parsed(fix.toString(), dictionary_, true);
        WireMessage out;
        EXPECT_TRUE(from_fix(parsed, &out, &error)) << error;
        return out;
    }

    // to_fix's refusal; check_wire (SessionHost::send's check) must refuse with the same text.
    std::string to_fix_error(const WireMessage& in) {
        FIX::Message fix;
        std::string error;
        EXPECT_FALSE(to_fix(in, dictionary_, &fix, &error)) << "accepted: " << fix.toString();
        std::string check_error;
        EXPECT_FALSE(check_wire(in, dictionary_, &check_error)) << "check_wire accepted it";
        EXPECT_EQ(check_error, error) << "check_wire and to_fix refuse differently";
        return error;
    }

    FIX::DataDictionary dictionary_;
};

TEST_F(WireCodecTest, PlainMessageRoundTripsWithEveryFieldAndHeaderFlags) {
    WireMessage in = new_order();
    in.poss_dup = true;
    in.poss_resend = true;
    const WireMessage out = round_trip(in);
    EXPECT_EQ(out.msg_type, "D");
    EXPECT_TRUE(out.poss_dup);
    EXPECT_TRUE(out.poss_resend);
    EXPECT_EQ(out.sending_time, "20240105-10:00:00.123");
    ASSERT_EQ(out.fields.size(), in.fields.size());
    for (const WireField& f : in.fields) {
        const std::string* value = out.find(f.tag);
        ASSERT_NE(value, nullptr) << "tag " << f.tag << " lost";
        EXPECT_EQ(*value, f.value) << "tag " << f.tag;
    }
    EXPECT_TRUE(out.groups.empty());
}

TEST_F(WireCodecTest, GroupsRoundTripInOrderWithTheDelimiterFirstAndNoCountField) {
    const WireMessage in = payment_order();
    const WireMessage out = round_trip(in);
    EXPECT_EQ(out.find(7202), nullptr) << "the NumInGroup tag is carried by the group";
    ASSERT_EQ(out.groups.size(), 1u);
    const WireGroup& lines = out.groups[0];
    EXPECT_EQ(lines.count_tag, 7202);
    ASSERT_EQ(lines.entries.size(), 2u);
    for (std::size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(lines.entries[i].front().tag, 7203);
        EXPECT_EQ(lines.entries[i].size(), in.groups[0].entries[i].size());
        for (const WireField& f : in.groups[0].entries[i]) {
            const std::string* value = fxsettle::adapters::find_in_entry(lines.entries[i], f.tag);
            ASSERT_NE(value, nullptr) << "entry " << i << " lost tag " << f.tag;
            EXPECT_EQ(*value, f.value);
        }
    }
    EXPECT_EQ(*fxsettle::adapters::find_in_entry(lines.entries[1], 7101), "9001");
}

TEST_F(WireCodecTest, GroupFieldsGivenOutOfDictionaryOrderAreSentInDictionaryOrder) {
    WireMessage in = payment_order();
    std::vector<WireField>& entry = in.groups[0].entries[1];
    std::swap(entry[3], entry[6]);  // LineAmt before BeneficiaryAccount
    EXPECT_EQ(wire_check(in, kDictionary), "");
    const WireMessage out = round_trip(in);
    EXPECT_EQ(*fxsettle::adapters::find_in_entry(out.groups[0].entries[1], 7204), "50.00");
}

TEST_F(WireCodecTest, WireCheckAcceptsValidMessages) {
    EXPECT_EQ(wire_check(new_order(), kDictionary), "");
    EXPECT_EQ(wire_check(payment_order(), kDictionary), "");
    WireMessage snapshot;
    snapshot.msg_type = "W";
    snapshot.add(55, "EUR/USD");
    WireGroup entries;
    entries.count_tag = 268;
    entries.entries.push_back({{269, "0"}, {270, "1.0850"}, {271, "1000000"}});
    entries.entries.push_back({{269, "1"}, {270, "1.0852"}, {271, "1000000"}});
    snapshot.groups.push_back(entries);
    EXPECT_EQ(wire_check(snapshot, kDictionary), "");
}

TEST_F(WireCodecTest, WireCheckNamesAMissingRequiredTag) {
    WireMessage m = new_order();
    m.fields.erase(m.fields.begin() + 1);  // Symbol
    const std::string error = wire_check(m, kDictionary);
    EXPECT_NE(error.find("Required tag missing"), std::string::npos) << error;
    EXPECT_NE(error.find("tag 55"), std::string::npos) << error;
}

TEST_F(WireCodecTest, WireCheckNamesAWrongTypeAndAValueOutsideTheEnumeration) {
    WireMessage m = new_order();
    m.fields[4].value = "lots";  // OrderQty
    std::string error = wire_check(m, kDictionary);
    EXPECT_NE(error.find("tag 38"), std::string::npos) << error;
    m = new_order();
    m.fields[2].value = "9";  // Side
    error = wire_check(m, kDictionary);
    EXPECT_NE(error.find("tag 54"), std::string::npos) << error;
}

TEST_F(WireCodecTest, WireCheckSeesInsideGroupsThroughValidateStrict) {
    WireMessage m = payment_order();
    m.groups[0].entries[1][6].value = "abc";  // LineAmt of the second line
    const std::string error = wire_check(m, kDictionary);
    EXPECT_NE(error.find("tag 7204"), std::string::npos) << error;
}

TEST_F(WireCodecTest, WireCheckNamesATagTheMessageTypeDoesNotHave) {
    WireMessage m = new_order();
    m.add(7204, "1.00");  // LineAmt belongs to PaymentOrder lines
    const std::string error = wire_check(m, kDictionary);
    EXPECT_NE(error.find("tag 7204"), std::string::npos) << error;
}

TEST_F(WireCodecTest, WireCheckReportsAMissingDictionary) {
    const std::string error = wire_check(new_order(), "/nonexistent/FIX44.xml");
    EXPECT_NE(error.find("cannot load data dictionary /nonexistent/FIX44.xml"), std::string::npos)
        << error;
}

TEST_F(WireCodecTest, ToFixRefusesStructuralMistakesNamingTheTag) {
    WireMessage m = new_order();
    m.add(11, "C-2");
    EXPECT_EQ(to_fix_error(m), "tag 11 appears more than once in the body");

    m = new_order();
    m.fields[0].value.clear();
    EXPECT_EQ(to_fix_error(m), "tag 11 has an empty value");

    m = new_order();
    m.fields[0].value = std::string("C\x01") + "1";
    EXPECT_EQ(to_fix_error(m), "tag 11 contains the SOH delimiter (\\x01)");

    m = new_order();
    m.fields[0].value.assign(fxsettle::adapters::kWireValueBytesMax + 1, 'x');
    EXPECT_NE(to_fix_error(m).find("tag 11 has a value of 4097 bytes"), std::string::npos);

    m = new_order();
    m.add(34, "5");
    EXPECT_EQ(to_fix_error(m), "tag 34 belongs to the session header or trailer, not the body");

    m = new_order();
    m.add(0, "x");
    EXPECT_EQ(to_fix_error(m), "tag 0 is not a valid tag number");

    m = new_order();
    m.msg_type = "ZZ";
    EXPECT_EQ(to_fix_error(m), "MsgType (tag 35) 'ZZ' is not defined in the data dictionary");

    m = payment_order();
    m.add(7202, "2");
    EXPECT_NE(to_fix_error(m).find("tag 7202 is the NumInGroup"), std::string::npos);

    m = new_order();
    m.groups.push_back(payment_order().groups[0]);
    EXPECT_EQ(to_fix_error(m), "tag 7202 is not a repeating group of MsgType D");

    m = payment_order();
    std::swap(m.groups[0].entries[0][0], m.groups[0].entries[0][1]);
    EXPECT_EQ(to_fix_error(m),
              "group 7202 entry 0: the first field must be the delimiter tag 7203");

    m = payment_order();
    m.groups[0].entries[1].push_back(WireField{55, "EUR/USD"});
    EXPECT_EQ(to_fix_error(m), "group 7202 entry 1: tag 55 is not a field of the group");

    m = payment_order();
    m.groups[0].entries[1].push_back(WireField{7204, "1.00"});
    EXPECT_EQ(to_fix_error(m), "group 7202 entry 1: tag 7204 appears more than once");

    m = payment_order();
    m.groups[0].entries.clear();
    EXPECT_EQ(to_fix_error(m), "group 7202 has no entries (leave the group out instead)");

    m = payment_order();
    m.groups.push_back(m.groups[0]);
    EXPECT_EQ(to_fix_error(m), "tag 7202 appears more than once in the body");
}

TEST_F(WireCodecTest, BuildCheckedFixBuildsWhatToFixBuildsForAcceptedMessages) {
    WireMessage flagged = new_order();
    flagged.poss_dup = true;
    flagged.poss_resend = true;
    for (const WireMessage& in : {flagged, payment_order()}) {
        std::string error;
        EXPECT_TRUE(check_wire(in, dictionary_, &error)) << error;
        FIX::Message expected;
        ASSERT_TRUE(to_fix(in, dictionary_, &expected, &error)) << error;
        FIX::Message built;
        build_checked_fix(in, dictionary_, &built);
        EXPECT_EQ(built.toString(), expected.toString()) << "MsgType " << in.msg_type;
    }
}

TEST_F(WireCodecTest, CheckFixRunsTheReceivingSessionsChecksOnAFixMessage) {
    FIX::Message fix;
    std::string error;
    ASSERT_TRUE(to_fix(new_order(), dictionary_, &fix, &error)) << error;
    EXPECT_EQ(check_fix(fix, dictionary_), "");
    fix.removeField(40);
    EXPECT_NE(check_fix(fix, dictionary_).find("tag 40"), std::string::npos);
}

}  // namespace
