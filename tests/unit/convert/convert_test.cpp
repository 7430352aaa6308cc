// adapters/convert: every inbound message class to commands or to the reject reply, every
// engine event to its messages, and every message built checked against the data
// dictionary with wire_check (the checks a receiving QuickFIX session makes).
#include "adapters/convert/convert.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <variant>

#include "adapters/fix/wire_check.h"
#include "config/config.h"

namespace fxsettle::adapters::convert {
namespace {

using engine::Reason;
using money::Amount;
using namespace std::chrono_literals;

const std::string kDictionary = FXSETTLE_FIX_DICTIONARY;

std::string dump(const WireMessage& m) {
    std::string s = "35=";
    s.append(m.msg_type);
    const auto put = [&s](int t, const std::string& v) {
        s.push_back(' ');
        s.append(std::to_string(t));
        s.push_back('=');
        s.append(v);
    };
    for (const auto& f : m.fields)
        put(f.tag, f.value);
    for (const auto& g : m.groups) {
        put(g.count_tag, std::to_string(g.entries.size()));
        for (const auto& e : g.entries) {
            s.append(" {");
            for (const auto& f : e)
                put(f.tag, f.value);
            s.append(" }");
        }
    }
    return s;
}

// The dictionary accepts `m` (what a counterparty's session would say otherwise).
void expect_valid(const WireMessage& m) {
    EXPECT_EQ(wire_check(m, kDictionary), "") << dump(m);
}

std::string field(const WireMessage& m, int t) {
    const std::string* v = m.find(t);
    return v == nullptr ? "<absent>" : *v;
}

WireMessage& set(WireMessage& m, int t, const std::string& v) {
    for (auto& f : m.fields) {
        if (f.tag == t) {
            f.value = v;
            return m;
        }
    }
    return m.add(t, v);
}
WireMessage without(WireMessage m, int t) {
    std::erase_if(m.fields, [t](const WireField& f) { return f.tag == t; });
    return m;
}

const ledger::Timestamp kNow =
    ledger::Timestamp{std::chrono::sys_days{2025y / 3 / 10}} + 9h + 30min + 15s + 123ms;
constexpr engine::PspIndex kAlpha = 0;

class ConvertTest : public ::testing::Test {
  protected:
    void SetUp() override {
        auto cfg = config::load_default_config();
        ASSERT_TRUE(cfg) << cfg.error().to_string();
        config_ = *cfg;
        auto c = Converter::create(config_);
        ASSERT_TRUE(c) << c.error().to_string();
        conv_.emplace(std::move(*c));
    }
    Converter& conv() { return *conv_; }
    money::Currency ccy(const char* code) { return *config_.currency_table.find(code); }
    money::CurrencyPair usdcny() { return {ccy("USD"), ccy("CNY")}; }
    money::Rate rate(const char* text) { return *money::Rate::parse(usdcny(), text); }
    // The engine's acceptance of new_order() (ORD-1, engine id 11: buy 1000.00 USD/CNY at
    // 7.1234 GTC).
    engine::OrderAccepted order_one_accepted() {
        return {kAlpha,
                "ORD-1",
                11,
                usdcny(),
                engine::book::Side::kBuy,
                engine::book::OrderType::kLimit,
                engine::book::TimeInForce::kGtc,
                rate("7.1234"),
                Amount::from_minor(100000),
                std::chrono::sys_days{2025y / 3 / 12},
                {Amount::from_minor(712340), ccy("CNY")}};
    }

    static WireMessage new_order() {
        WireMessage m;
        m.msg_type = "D";
        m.add(11, "ORD-1")
            .add(55, "USD/CNY")
            .add(54, "1")
            .add(60, "20250310-09:30:15.000")
            .add(38, "1000.00")
            .add(40, "2")
            .add(44, "7.1234")
            .add(59, "1");
        return m;
    }
    static WireMessage payout() {
        WireMessage m;
        m.msg_type = "U1";
        m.add(7100, "PAY-1")
            .add(15, "CNY")
            .add(60, "20250310-09:30:15.000")
            .add(7102, "7000.00")
            .add(7103, "USD")
            .add(7105, "bank-cn")
            .add(7106, "6222020200112233")
            .add(7107, "Shenzhen Widgets Ltd")
            .add(7108, "CN")
            .add(7110, "supplier invoice");
        return m;
    }
    static WireMessage quote_request() {
        WireMessage m;
        m.msg_type = "R";
        m.add(131, "RFQ-1");
        m.groups.push_back(WireGroup{146, {{{55, "USD/CNY"}, {54, "1"}, {38, "5000.00"}}}});
        return m;
    }

    // Converts a PSP message that must be refused; checks the reply is valid and
    // carries the reason, the text naming `needle`, and returns it.
    Inbound refused(const WireMessage& m, Reason reason, const std::string& needle,
                    const std::string& reply_type) {
        Inbound in = conv().from_psp(kAlpha, m, kNow);
        EXPECT_TRUE(in.commands.empty()) << dump(m);
        EXPECT_EQ(in.reason, reason) << dump(m) << " text: " << in.text;
        EXPECT_NE(in.text.find(needle), std::string::npos)
            << "text '" << in.text << "' does not name '" << needle << "'";
        EXPECT_TRUE(in.reply.has_value());
        if (in.reply) {
            expect_valid(*in.reply);
            EXPECT_EQ(in.reply->msg_type, reply_type);
            EXPECT_EQ(field(*in.reply, 7000), std::to_string(static_cast<int>(reason)));
            EXPECT_EQ(field(*in.reply, 58), in.text);
        }
        return in;
    }

    config::Config config_;
    std::optional<Converter> conv_;
};

// ---- ids and times -------------------------------------------------------------------------

TEST(ConvertIds, HedgeAndPaymentOrderIdsRoundTripAndRefuseOtherText) {
    EXPECT_EQ(hedge_cl_ord_id(42), "HG-42");
    EXPECT_EQ(parse_hedge_cl_ord_id("HG-42"), 42u);
    EXPECT_EQ(parse_hedge_cl_ord_id("HG-0"), std::nullopt);
    EXPECT_EQ(parse_hedge_cl_ord_id("HG-042"), std::nullopt);
    EXPECT_EQ(parse_hedge_cl_ord_id("HG-"), std::nullopt);
    EXPECT_EQ(parse_hedge_cl_ord_id("HG-1x"), std::nullopt);
    EXPECT_EQ(parse_hedge_cl_ord_id("HG-99999999999999999999999"), std::nullopt);
    EXPECT_EQ(parse_hedge_cl_ord_id("ORD-1"), std::nullopt);
    EXPECT_EQ(payment_order_id_text(7), "PO-7");
    EXPECT_EQ(parse_payment_order_id("PO-7"), 7u);
    EXPECT_EQ(parse_payment_order_id("HG-7"), std::nullopt);
}

TEST(ConvertTimes, TimestampsAndDatesFormatAndParseBack) {
    EXPECT_EQ(format_utc_timestamp(kNow), "20250310-09:30:15.123");
    EXPECT_EQ(parse_utc_timestamp("20250310-09:30:15.123"), kNow);
    EXPECT_EQ(parse_utc_timestamp("20250310-09:30:15"), kNow - 123ms);
    EXPECT_EQ(parse_utc_timestamp("20250310-09:30:15.123000"), kNow);
    EXPECT_EQ(parse_utc_timestamp("20250310-24:00:00"), std::nullopt);
    EXPECT_EQ(parse_utc_timestamp("20250230-09:30:15"), std::nullopt);
    EXPECT_EQ(parse_utc_timestamp("2025031009:30:15"), std::nullopt);
    // The last year a ledger time (64-bit ns) holds whole, and beyond it (no overflow).
    EXPECT_EQ(parse_utc_timestamp("22611231-23:59:59"),
              ledger::Timestamp{std::chrono::sys_days{2261y / 12 / 31}} + 86'399s);
    EXPECT_EQ(parse_utc_timestamp("22620101-00:00:00"), std::nullopt);
    EXPECT_EQ(parse_utc_timestamp("30261123-10:00:00.123"), std::nullopt);
    EXPECT_EQ(parse_utc_timestamp("99991231-23:59:59"), std::nullopt);
    EXPECT_EQ(format_fix_date(std::chrono::sys_days{2025y / 3 / 12}), "20250312");
    EXPECT_EQ(parse_fix_date("20250312"), std::chrono::sys_days{2025y / 3 / 12});
    EXPECT_EQ(parse_fix_date("99991231"), std::chrono::sys_days{9999y / 12 / 31});
    EXPECT_EQ(parse_fix_date("18991231"), std::nullopt);
    EXPECT_EQ(parse_fix_date("20251301"), std::nullopt);
    EXPECT_EQ(parse_fix_date("2025-03-12"), std::nullopt);
}

TEST_F(ConvertTest, SessionKeysComeFromTheConfig) {
    EXPECT_EQ(session_key(config_, {Peer::kPsp, kAlpha}), (SessionKey{"FXSETTLE", "ALPHAPAY"}));
    EXPECT_EQ(session_key(config_, {Peer::kVenue, 0}), (SessionKey{"FXSETTLE", "VENUEA"}));
    EXPECT_EQ(session_key(config_, {Peer::kBank, 1}), (SessionKey{"FXSETTLE", "BANKINTL"}));
    EXPECT_EQ(session_key(config_, {Peer::kNone, 0}), std::nullopt);
    EXPECT_EQ(session_key(config_, {Peer::kPsp, 999}), std::nullopt);
}

// ---- PSP inbound: orders ---------------------------------------------------------------------

TEST_F(ConvertTest, NewOrderSingleBecomesNewOrderForTheSessionsPsp) {
    WireMessage m = new_order();
    m.add(1, "alpha").add(63, "0");
    expect_valid(m);
    Inbound in = conv().from_psp(kAlpha, m, kNow);
    ASSERT_FALSE(in.refused()) << in.text;
    ASSERT_EQ(in.commands.size(), 1u);
    const auto& o = std::get<engine::NewOrder>(in.commands[0]);
    EXPECT_EQ(o.psp, kAlpha);
    EXPECT_EQ(o.client_id, "ORD-1");
    EXPECT_EQ(o.pair, usdcny());
    EXPECT_EQ(o.side, engine::book::Side::kBuy);
    EXPECT_EQ(o.type, engine::book::OrderType::kLimit);
    EXPECT_EQ(o.tif, engine::book::TimeInForce::kGtc);
    EXPECT_EQ(o.quantity, Amount::from_minor(100000));
    EXPECT_EQ(o.price, rate("7.1234"));
    EXPECT_EQ(o.value_date.tenor, engine::calendar::Tenor::kSpot);
}

TEST_F(ConvertTest, MarketOrderDefaultsToIocAndBrokenDateCarriesSettlDate) {
    WireMessage m = without(new_order(), 44);
    set(m, 40, "1");
    set(m, 54, "2");
    m = without(m, 59);
    m.add(63, "B").add(64, "20250317");
    expect_valid(m);
    Inbound in = conv().from_psp(kAlpha, m, kNow);
    ASSERT_EQ(in.commands.size(), 1u) << in.text;
    const auto& o = std::get<engine::NewOrder>(in.commands[0]);
    EXPECT_EQ(o.type, engine::book::OrderType::kMarket);
    EXPECT_EQ(o.tif, engine::book::TimeInForce::kIoc);
    EXPECT_EQ(o.side, engine::book::Side::kSell);
    EXPECT_FALSE(o.price.has_value());
    EXPECT_EQ(o.value_date.tenor, engine::calendar::Tenor::kBroken);
    EXPECT_EQ(o.value_date.date, std::chrono::sys_days{2025y / 3 / 17});
}

TEST_F(ConvertTest, NewOrderWithBadContentIsRejectedWithAnExecutionReportNamingTheField) {
    struct Case {
        std::string name;
        int tag;
        std::string value;
        Reason reason;
        std::string needle;
    };
    const std::vector<Case> cases = {
        {"unknown currency in Symbol", 55, "XYZ/CNY", Reason::kUnknownPair, "XYZ"},
        {"pair not traded", 55, "USD/EUR", Reason::kUnknownPair, "not a pair fxsettle trades"},
        {"inverted pair", 55, "CNY/USD", Reason::kUnknownPair, "quoted as USD/CNY"},
        {"too many decimals", 38, "1000.001", Reason::kQuantityInvalid, "3 decimals"},
        {"40-digit quantity", 38, "1234567890123456789012345678901234567890",
         Reason::kQuantityInvalid, "OrderQty (38)"},
        {"zero quantity", 38, "0", Reason::kQuantityInvalid, "must be positive"},
        {"negative quantity", 38, "-100.00", Reason::kQuantityInvalid, "must be positive"},
        {"zero price", 44, "0", Reason::kPriceInvalid, "Price (44)"},
        {"negative price", 44, "-7.1", Reason::kPriceInvalid, "Price (44)"},
        {"price with 13 decimals", 44, "7.1234567890123", Reason::kPriceInvalid, "Price (44)"},
        {"Currency not the base", 15, "CNY", Reason::kCurrencyMismatch, "Currency (15)"},
        {"broken date without SettlDate", 63, "6", Reason::kValueDateInvalid, "SettlType (63)"},
    };
    for (const Case& c : cases) {
        SCOPED_TRACE(c.name);
        WireMessage m = new_order();
        set(m, c.tag, c.value);
        Inbound in = refused(m, c.reason, c.needle, "8");
        ASSERT_TRUE(in.reply);
        EXPECT_EQ(field(*in.reply, 150), "8");
        EXPECT_EQ(field(*in.reply, 39), "8");
        EXPECT_EQ(field(*in.reply, 11), "ORD-1");
        EXPECT_EQ(field(*in.reply, 55), field(m, 55));
        EXPECT_NE(field(*in.reply, 103), "<absent>");
        EXPECT_FALSE(in.authorization_breach);
    }
}

TEST_F(ConvertTest, NewOrderWithSettlDateOutsideTheCalendarIsRejectedByDateValidationOnly) {
    // A malformed date is refused here; a well-formed date far in the past or future goes
    // to the engine, which names the calendar range (kValueDateOutOfRange / InPast).
    WireMessage bad = new_order();
    bad.add(63, "B").add(64, "20251301");
    refused(bad, Reason::kValueDateInvalid, "SettlDate (64) '20251301'", "8");
    for (const char* date : {"19000101", "99991231"}) {
        WireMessage m = new_order();
        m.add(63, "B").add(64, date);
        expect_valid(m);
        Inbound in = conv().from_psp(kAlpha, m, kNow);
        ASSERT_EQ(in.commands.size(), 1u) << date << ": " << in.text;
    }
}

TEST_F(ConvertTest, NewOrderMissingRequiredFieldsIsRejectedNamingTheTag) {
    const std::vector<std::pair<int, std::string>> tags = {
        {55, "Symbol (55)"}, {54, "Side (54)"}, {38, "OrderQty (38)"}, {40, "OrdType (40)"}};
    for (const auto& [t, name] : tags) {
        SCOPED_TRACE(name);
        WireMessage m = without(new_order(), t);
        EXPECT_NE(wire_check(m, kDictionary), "") << "the dictionary requires " << name;
        Inbound in = conv().from_psp(kAlpha, m, kNow);
        EXPECT_TRUE(in.refused());
        EXPECT_NE(in.text.find(name + " is missing"), std::string::npos) << in.text;
        ASSERT_TRUE(in.reply);
        expect_valid(*in.reply);
    }
}

TEST_F(ConvertTest, AccountOfAnotherPspIsAnAuthorisationBreach) {
    WireMessage m = new_order();
    m.add(1, "borealis");
    Inbound in = refused(m, Reason::kUnknownPsp, "'borealis' is not this session's PSP", "8");
    EXPECT_TRUE(in.authorization_breach);
    EXPECT_EQ(field(*in.reply, 103), "15");
    EXPECT_EQ(field(*in.reply, 1), "alpha");
}

TEST_F(ConvertTest, CancelReplaceAndStatusRequestsBecomeCommands) {
    WireMessage f;
    f.msg_type = "F";
    f.add(41, "ORD-1")
        .add(11, "CXL-1")
        .add(55, "USD/CNY")
        .add(54, "1")
        .add(60, "20250310-09:30:15");
    expect_valid(f);
    Inbound in = conv().from_psp(kAlpha, f, kNow);
    ASSERT_EQ(in.commands.size(), 1u) << in.text;
    EXPECT_EQ(std::get<engine::CancelOrder>(in.commands[0]),
              (engine::CancelOrder{kAlpha, "CXL-1", "ORD-1"}));

    WireMessage g = f;
    g.msg_type = "G";
    set(g, 11, "RPL-1");
    g.add(38, "2000.00").add(40, "2").add(44, "7.1200");
    expect_valid(g);
    in = conv().from_psp(kAlpha, g, kNow);
    ASSERT_EQ(in.commands.size(), 1u) << in.text;
    const auto& r = std::get<engine::ReplaceOrder>(in.commands[0]);
    EXPECT_EQ(r.orig_client_id, "ORD-1");
    EXPECT_EQ(r.price, rate("7.12"));
    EXPECT_EQ(r.quantity, Amount::from_minor(200000));

    WireMessage h;
    h.msg_type = "H";
    h.add(11, "ORD-1").add(55, "USD/CNY").add(54, "1");
    expect_valid(h);
    in = conv().from_psp(kAlpha, h, kNow);
    ASSERT_EQ(in.commands.size(), 1u);
    EXPECT_EQ(std::get<engine::OrderStatusRequest>(in.commands[0]),
              (engine::OrderStatusRequest{kAlpha, "ORD-1", "ORD-1"}));
    h.add(790, "STAT-9");
    in = conv().from_psp(kAlpha, h, kNow);
    EXPECT_EQ(std::get<engine::OrderStatusRequest>(in.commands[0]).client_id, "STAT-9");
}

TEST_F(ConvertTest, BadCancelReplaceAndStatusRequestsGetCancelRejectOrStatusReject) {
    WireMessage g;
    g.msg_type = "G";
    g.add(41, "ORD-1")
        .add(11, "RPL-1")
        .add(55, "USD/CNY")
        .add(54, "1")
        .add(60, "20250310-09:30:15")
        .add(38, "2000.00")
        .add(40, "1")
        .add(44, "7.12");
    Inbound in = refused(g, Reason::kPriceInvalid, "only limit orders", "9");
    EXPECT_EQ(field(*in.reply, 434), "2");
    EXPECT_EQ(field(*in.reply, 41), "ORD-1");
    set(g, 40, "2");
    set(g, 38, "99999999999999999999999999999999999999999");
    refused(g, Reason::kReplaceQuantityInvalid, "OrderQty (38)", "9");
    set(g, 38, "2000.00");
    set(g, 44, "abc");
    refused(g, Reason::kPriceInvalid, "Price (44)", "9");

    WireMessage f;
    f.msg_type = "F";
    f.add(41, "ORD-1")
        .add(11, "CXL-1")
        .add(1, "coral")
        .add(55, "USD/CNY")
        .add(54, "2")
        .add(60, "20250310-09:30:15");
    in = refused(f, Reason::kUnknownPsp, "'coral'", "9");
    EXPECT_TRUE(in.authorization_breach);
    EXPECT_EQ(field(*in.reply, 434), "1");

    WireMessage h;
    h.msg_type = "H";
    h.add(11, "ORD-1").add(1, "delta").add(55, "USD/CNY").add(54, "1");
    in = refused(h, Reason::kUnknownPsp, "'delta'", "8");
    EXPECT_EQ(field(*in.reply, 150), "I");
    EXPECT_TRUE(in.authorization_breach);
}

// Client ids (RoE section 1): 1..64 bytes of visible ASCII on every PSP request, refused
// with client_id_invalid naming the field, and the bad id never echoed in the reply.
TEST_F(ConvertTest, ClientIdsMustBeOneTo64VisibleAsciiBytesAndAreRefusedNamingTheField) {
    WireMessage f;
    f.msg_type = "F";
    f.add(41, "ORD-1")
        .add(11, "CXL-1")
        .add(55, "USD/CNY")
        .add(54, "1")
        .add(60, "20250310-09:30:15");
    WireMessage h;
    h.msg_type = "H";
    h.add(11, "ORD-1").add(790, "STAT-1").add(55, "USD/CNY").add(54, "1");
    WireMessage an;
    an.msg_type = "AN";
    an.add(710, "POS-1")
        .add(724, "0")
        .add(1, "alpha")
        .add(715, "20250310")
        .add(60, "20250310-09:30:15");
    WireMessage g = f;
    g.msg_type = "G";
    g.add(38, "2000.00").add(40, "2").add(44, "7.1200");
    struct Message {
        WireMessage m;
        int tag;
        const char* name;
        const char* reply_type;
    };
    const std::vector<Message> messages = {
        {new_order(), 11, "ClOrdID (11)", "8"},
        {f, 11, "ClOrdID (11)", "9"},
        {f, 41, "OrigClOrdID (41)", "9"},
        {g, 11, "ClOrdID (11)", "9"},
        {g, 41, "OrigClOrdID (41)", "9"},
        {h, 11, "ClOrdID (11)", "8"},
        {h, 790, "OrdStatusReqID (790)", "8"},
        {quote_request(), 131, "QuoteReqID (131)", "AG"},
        {payout(), 7100, "PayoutInstrID (7100)", "U2"},
        {an, 710, "PosReqID (710)", "AO"},
    };
    const std::vector<std::pair<std::string, std::string>> bad = {
        {std::string(65, 'i'), "65 bytes; at most 64"},
        {std::string(4096, 'i'), "4096 bytes; at most 64"},
        {"id\x02x", "byte 3 is 0x02"},
        {"id\xff\xfe", "byte 3 is 0xff"},
        {"id x", "byte 3 is 0x20"},
    };
    for (const Message& msg : messages) {
        SCOPED_TRACE(msg.m.msg_type + " " + msg.name);
        WireMessage m = msg.m;
        set(m, msg.tag, std::string(64, 'k'));
        Inbound ok = conv().from_psp(kAlpha, m, kNow);
        EXPECT_EQ(ok.commands.size(), 1u) << "a 64-byte id was refused: " << ok.text;
        for (const auto& [value, why] : bad) {
            set(m, msg.tag, value);
            Inbound in = refused(m, Reason::kClientIdInvalid, std::string(msg.name) + ": " + why,
                                 msg.reply_type);
            ASSERT_TRUE(in.reply.has_value());
            EXPECT_EQ(in.text.find(value), std::string::npos) << "the Text echoes the id";
            for (const WireField& fld : in.reply->fields)
                EXPECT_NE(fld.value.find(value), 0u) << "the reply echoes the id in " << fld.tag;
        }
    }
}

// TransactTime (60) on a PSP's request: from 2000-01-01 up to 2100-01-01 (absolute: the
// engine's clock may be simulated while clients stamp wall time).
TEST_F(ConvertTest, TransactTimeBefore2000OrFrom2100IsRefusedNamingIt) {
    WireMessage p = payout();
    WireMessage f;
    f.msg_type = "F";
    f.add(41, "ORD-1")
        .add(11, "CXL-1")
        .add(55, "USD/CNY")
        .add(54, "1")
        .add(60, "20250310-09:30:15");
    const std::vector<std::pair<WireMessage, const char*>> messages = {
        {new_order(), "8"}, {f, "9"}, {p, "U2"}};
    for (const auto& [message, reply_type] : messages) {
        SCOPED_TRACE(message.msg_type);
        WireMessage m = message;
        for (const char* accepted :
             {"20000101-00:00:00.000", "20261207-13:05:10.521", "20991231-23:59:59.999"}) {
            set(m, 60, accepted);
            Inbound in = conv().from_psp(kAlpha, m, kNow);
            EXPECT_EQ(in.commands.size(), 1u) << accepted << " refused: " << in.text;
        }
        for (const char* far : {"19991231-23:59:59.999", "19000101-00:00:00.000"}) {
            set(m, 60, far);
            refused(m, Reason::kAmountInvalid,
                    "TransactTime (60) '" + std::string(far) + "' is too early", reply_type);
        }
        for (const char* late : {"21000101-00:00:00.000", "99991231-23:59:59.999"}) {
            set(m, 60, late);
            refused(m, Reason::kAmountInvalid,
                    "TransactTime (60) '" + std::string(late) +
                        "' is too late (fxsettle takes 20000101-00:00:00 up to 21000101",
                    reply_type);
        }
    }
}

// ClearingBusinessDate (715) on AN: positions are today's; the date is checked for sense
// in the window of TransactTime.
TEST_F(ConvertTest, ClearingBusinessDateOutsideTheWindowIsRefusedNamingIt) {
    WireMessage an;
    an.msg_type = "AN";
    an.add(710, "POS-1")
        .add(724, "0")
        .add(1, "alpha")
        .add(715, "20250310")
        .add(60, "20250310-09:30:15");
    for (const char* accepted : {"20000101", "20250310", "20991231"}) {
        set(an, 715, accepted);
        Inbound in = conv().from_psp(kAlpha, an, kNow);
        EXPECT_EQ(in.commands.size(), 1u) << accepted << " refused: " << in.text;
    }
    for (const char* refused_date : {"19991231", "19000101", "21000101", "99991231"}) {
        set(an, 715, refused_date);
        Inbound in = refused(an, Reason::kAmountInvalid,
                             "ClearingBusinessDate (715) '" + std::string(refused_date) +
                                 "' is not a date from 20000101 to 20991231",
                             "AO");
        EXPECT_EQ(field(*in.reply, 729), "2");
    }
}

// F, G and H name an order by its ClOrdID: the Symbol and Side they carry must be that
// order's (refused as unknown_order naming the field, never acted on by id alone), F's
// OrderQty a valid quantity and G's Currency the pair's base currency.
TEST_F(ConvertTest, CancelReplaceAndStatusMustCarryTheOrdersSymbolSideAndValidFields) {
    ASSERT_EQ(conv().from_psp(kAlpha, new_order(), kNow).commands.size(), 1u);
    const engine::OrderAccepted acc = order_one_accepted();
    ASSERT_EQ(conv().to_wire(acc, kNow).messages.size(), 1u);

    WireMessage f;
    f.msg_type = "F";
    f.add(41, "ORD-1")
        .add(11, "CXL-1")
        .add(55, "USD/CNY")
        .add(54, "1")
        .add(60, "20250310-09:30:15");
    WireMessage g = f;
    g.msg_type = "G";
    set(g, 11, "RPL-1");
    g.add(38, "2000.00").add(40, "2").add(44, "7.1200");
    WireMessage h;
    h.msg_type = "H";
    h.add(11, "ORD-1").add(55, "USD/CNY").add(54, "1");
    for (WireMessage m : {f, g, h}) {
        SCOPED_TRACE(m.msg_type);
        const char* reply_type = m.msg_type == "H" ? "8" : "9";
        // The order's own Symbol, also written without the slash, and Side: converted.
        EXPECT_EQ(conv().from_psp(kAlpha, m, kNow).commands.size(), 1u);
        set(m, 55, "USDCNY");
        EXPECT_EQ(conv().from_psp(kAlpha, m, kNow).commands.size(), 1u);
        set(m, 55, "EUR/CNY");  // a configured pair, not the order's
        refused(m, Reason::kUnknownOrder, "Symbol (55) 'EUR/CNY' is not the Symbol of order",
                reply_type);
        set(m, 55, "CNY/USD");
        refused(m, Reason::kUnknownPair, "Symbol (55) 'CNY/USD' is quoted as USD/CNY", reply_type);
        set(m, 55, "XXX/YYY");
        refused(m, Reason::kUnknownPair, "Symbol (55) 'XXX/YYY'", reply_type);
        set(m, 55, "USD/CNY");
        set(m, 54, "2");
        refused(m, Reason::kUnknownOrder, "Side (54) 2 is not the Side of order 'ORD-1' (1)",
                reply_type);
    }
    // An order the converter has not seen accepted (another PSP's, or one forgotten):
    // the engine decides; the Symbol must still be a configured pair.
    WireMessage other = f;
    set(other, 41, "ORD-UNSEEN");
    set(other, 55, "EUR/CNY");
    EXPECT_EQ(conv().from_psp(kAlpha, other, kNow).commands.size(), 1u);

    // F's OrderQty, when sent, is a valid base quantity.
    WireMessage fq = f;
    fq.add(38, "1000.00");
    EXPECT_EQ(conv().from_psp(kAlpha, fq, kNow).commands.size(), 1u);
    for (const char* qty :
         {"0", "0.00", "-10000.00", "10000.001", "1234567890123456789012345678901234567890"}) {
        set(fq, 38, qty);
        refused(fq, Reason::kQuantityInvalid, "OrderQty (38)", "9");
    }
    // G's Currency, when sent, is the pair's base currency.
    WireMessage gc = g;
    gc.add(15, "USD");
    EXPECT_EQ(conv().from_psp(kAlpha, gc, kNow).commands.size(), 1u);
    set(gc, 15, "CNY");
    refused(gc, Reason::kCurrencyMismatch, "Currency (15) 'CNY' must be the base currency USD",
            "9");
    set(gc, 15, "XXX");
    refused(gc, Reason::kUnknownCurrency, "Currency (15) 'XXX'", "9");
}

// PayoutInstruction text fields past the engine's bounds, or a malformed country, are
// refused naming the field; a long value is not echoed in full.
TEST_F(ConvertTest, PayoutTextFieldsPastTheirBoundsAreRefusedNamingTheField) {
    struct Bad {
        int tag;
        std::string value;
        Reason reason;
        std::string needle;
    };
    const std::vector<Bad> bad = {
        {7105, std::string(10000, 'b'), Reason::kUnknownBank,
         "BeneficiaryBankID (7105): 10000 bytes; at most 64"},
        {7106, std::string(65, 'a'), Reason::kBeneficiaryInvalid,
         "BeneficiaryAccount (7106): 65 bytes; at most 64"},
        {7107, std::string(141, 'n'), Reason::kBeneficiaryInvalid,
         "BeneficiaryName (7107): 141 bytes; at most 140"},
        {7108, "CHN", Reason::kBeneficiaryInvalid, "BeneficiaryCountry (7108) 'CHN'"},
        {7108, "cn", Reason::kBeneficiaryInvalid, "BeneficiaryCountry (7108) 'cn'"},
        {7110, std::string(141, 'p'), Reason::kTextTooLong,
         "PayoutPurpose (7110): 141 bytes; at most 140"},
        {7111, std::string(10000, 'r'), Reason::kTextTooLong,
         "PayoutReference (7111): 10000 bytes; at most 140"},
    };
    for (const Bad& b : bad) {
        SCOPED_TRACE(b.tag);
        WireMessage m = payout();
        set(m, b.tag, b.value);
        Inbound in = refused(m, b.reason, b.needle, "U2");
        EXPECT_LT(in.text.size(), 300u);
    }
    // At the bounds: accepted.
    WireMessage m = payout();
    set(m, 7106, std::string(64, 'a'));
    set(m, 7107, std::string(140, 'n'));
    set(m, 7110, std::string(140, 'p'));
    set(m, 7111, std::string(140, 'r'));
    EXPECT_EQ(conv().from_psp(kAlpha, m, kNow).commands.size(), 1u);
    // A long value quoted in a Text is shortened: a 200-byte Symbol on an order.
    WireMessage d = new_order();
    set(d, 55, std::string(200, 'S'));
    Inbound in = refused(d, Reason::kUnknownPair, "Symbol (55) 'SSSS", "8");
    EXPECT_NE(in.text.find("...' (200 bytes)"), std::string::npos) << in.text;
    EXPECT_EQ(in.text.find(std::string(100, 'S')), std::string::npos) << in.text;
}

// ---- PSP inbound: quotes, payouts, positions, others ---------------------------------------

TEST_F(ConvertTest, QuoteRequestBecomesQuoteRequestSellingTheQuoteCurrencyForABuy) {
    WireMessage m = quote_request();
    expect_valid(m);
    Inbound in = conv().from_psp(kAlpha, m, kNow);
    ASSERT_EQ(in.commands.size(), 1u) << in.text;
    const auto& q = std::get<engine::QuoteRequest>(in.commands[0]);
    EXPECT_EQ(q.client_id, "RFQ-1");
    EXPECT_EQ(q.buy, ccy("USD"));
    EXPECT_EQ(q.sell, ccy("CNY"));
    EXPECT_EQ(q.amount, (money::Money{Amount::from_minor(500000), ccy("USD")}));

    m.groups[0].entries[0] = {{55, "USD/CNY"}, {54, "2"}, {38, "35000.00"}, {15, "CNY"}};
    expect_valid(m);
    in = conv().from_psp(kAlpha, m, kNow);
    ASSERT_EQ(in.commands.size(), 1u) << in.text;
    const auto& q2 = std::get<engine::QuoteRequest>(in.commands[0]);
    EXPECT_EQ(q2.sell, ccy("USD"));
    EXPECT_EQ(q2.amount, (money::Money{Amount::from_minor(3500000), ccy("CNY")}));
}

TEST_F(ConvertTest, BadQuoteRequestsGetQuoteRequestReject) {
    WireMessage m = quote_request();
    m.groups[0].entries.push_back({{55, "EUR/CNY"}, {54, "1"}, {38, "1.00"}});
    Inbound in = refused(m, Reason::kUnknownPair, "one Symbol per QuoteRequest", "AG");
    m = quote_request();
    m.groups[0].entries[0] = {{55, "USD/CNY"}, {38, "1.00"}};
    refused(m, Reason::kAmountInvalid, "Side (54) is missing", "AG");
    m.groups[0].entries[0] = {{55, "USD/CNY"}, {54, "1"}, {38, "1.00"}, {15, "EUR"}};
    refused(m, Reason::kCurrencyMismatch, "neither currency of USD/CNY", "AG");
    m.groups[0].entries[0] = {{55, "USD/CNY"}, {54, "1"}, {38, "1.00"}, {15, "QQQ"}};
    refused(m, Reason::kUnknownCurrency, "'QQQ'", "AG");
    m.groups[0].entries[0] = {{55, "USD/CNY"}, {54, "1"}, {38, "1.001"}};
    refused(m, Reason::kAmountInvalid, "3 decimals", "AG");
    m.groups[0].entries[0] = {{55, "USD/CNY"}, {54, "1"}, {38, "1.00"}, {1, "ember"}};
    in = refused(m, Reason::kUnknownPsp, "'ember'", "AG");
    EXPECT_TRUE(in.authorization_breach);
    EXPECT_EQ(field(*in.reply, 658), "6");
    m.groups[0].entries[0] = {{55, "GBP/USD"}, {54, "1"}, {38, "1.00"}};
    in = refused(m, Reason::kUnknownPair, "GBP/USD", "AG");
    EXPECT_EQ(field(*in.reply, 658), "1");
}

TEST_F(ConvertTest, PayoutInstructionBecomesExternalOrInternalPayout) {
    WireMessage m = payout();
    m.add(117, "17").add(63, "B").add(64, "20250312");
    expect_valid(m);
    Inbound in = conv().from_psp(kAlpha, m, kNow);
    ASSERT_EQ(in.commands.size(), 1u) << in.text;
    const auto& p = std::get<engine::PayoutInstruction>(in.commands[0]);
    EXPECT_EQ(p.psp, kAlpha);
    EXPECT_EQ(p.amount, (money::Money{Amount::from_minor(700000), ccy("CNY")}));
    EXPECT_EQ(p.funding_currency, ccy("USD"));
    EXPECT_EQ(p.quote_id, 17u);
    EXPECT_EQ(p.beneficiary.bank_id, "bank-cn");
    EXPECT_EQ(p.beneficiary.country, "CN");
    EXPECT_EQ(p.purpose, "supplier invoice");
    EXPECT_FALSE(p.payee_psp);

    WireMessage internal = without(without(without(without(payout(), 7105), 7106), 7107), 7108);
    internal.add(7109, "borealis");
    expect_valid(internal);
    in = conv().from_psp(kAlpha, internal, kNow);
    ASSERT_EQ(in.commands.size(), 1u) << in.text;
    EXPECT_EQ(std::get<engine::PayoutInstruction>(in.commands[0]).payee_psp, 1u);
    EXPECT_FALSE(in.authorization_breach);
}

TEST_F(ConvertTest, BadPayoutInstructionsGetPayoutStatusRejected) {
    struct Case {
        std::string name;
        WireMessage m;
        Reason reason;
        std::string needle;
    };
    std::vector<Case> cases;
    {
        WireMessage m = without(without(without(without(payout(), 7105), 7106), 7107), 7108);
        m.add(7109, "nobody");
        cases.push_back({"unknown payee", m, Reason::kPayeeInvalid, "'nobody'"});
    }
    cases.push_back({"payee and beneficiary", payout().add(7109, "borealis"),
                     Reason::kBeneficiaryInvalid, "exclude each other"});
    cases.push_back({"beneficiary name missing", without(payout(), 7107),
                     Reason::kBeneficiaryInvalid, "BeneficiaryName (7107) is missing"});
    cases.push_back({"unknown bank", set(*std::make_unique<WireMessage>(payout()), 7105, "bank-x"),
                     Reason::kUnknownBank, "'bank-x'"});
    cases.push_back({"40-digit amount",
                     set(*std::make_unique<WireMessage>(payout()), 7102,
                         "1234567890123456789012345678901234567890.00"),
                     Reason::kAmountInvalid, "PayoutAmt (7102)"});
    cases.push_back({"zero amount", set(*std::make_unique<WireMessage>(payout()), 7102, "0.00"),
                     Reason::kAmountInvalid, "must be positive"});
    cases.push_back({"JPY with decimals",
                     set(*std::make_unique<WireMessage>(payout()), 15, "JPY").add(7102, "1.5"),
                     Reason::kAmountInvalid, "PayoutAmt (7102)"});
    cases.push_back({"unknown currency", set(*std::make_unique<WireMessage>(payout()), 15, "XTS"),
                     Reason::kUnknownCurrency, "'XTS'"});
    cases.push_back({"unknown funding currency",
                     set(*std::make_unique<WireMessage>(payout()), 7103, "ZZZ"),
                     Reason::kUnknownCurrency, "FundingCurrency (7103)"});
    cases.push_back({"quote id not a number", payout().add(117, "Q-1"), Reason::kUnknownQuote,
                     "QuoteID (117) 'Q-1'"});
    cases.push_back(
        {"another PSP's account", payout().add(1, "borealis"), Reason::kUnknownPsp, "'borealis'"});
    for (Case& c : cases) {
        SCOPED_TRACE(c.name);
        // The JPY case carries PayoutAmt twice; keep the last value only.
        if (c.name == "JPY with decimals") {
            c.m = without(c.m, 7102);
            c.m.add(7102, "1.5");
        }
        Inbound in = refused(c.m, c.reason, c.needle, "U2");
        EXPECT_EQ(field(*in.reply, 7112), "R");
        EXPECT_EQ(field(*in.reply, 7100), "PAY-1");
        EXPECT_EQ(in.authorization_breach, c.name == "another PSP's account");
    }
}

TEST_F(ConvertTest, RequestForPositionsBecomesPositionRequestOrAckRejected) {
    WireMessage m;
    m.msg_type = "AN";
    m.add(710, "POS-1")
        .add(724, "0")
        .add(1, "alpha")
        .add(715, "20250310")
        .add(60, "20250310-09:30:15");
    expect_valid(m);
    Inbound in = conv().from_psp(kAlpha, m, kNow);
    ASSERT_EQ(in.commands.size(), 1u) << in.text;
    EXPECT_EQ(std::get<engine::PositionRequest>(in.commands[0]),
              (engine::PositionRequest{kAlpha, "POS-1", std::nullopt}));
    m.add(15, "EUR");
    in = conv().from_psp(kAlpha, m, kNow);
    EXPECT_EQ(std::get<engine::PositionRequest>(in.commands[0]).currency, ccy("EUR"));

    WireMessage other = m;
    set(other, 1, "borealis");
    in = refused(other, Reason::kUnknownPsp, "'borealis'", "AO");
    EXPECT_TRUE(in.authorization_breach);
    EXPECT_EQ(field(*in.reply, 728), "3");
    EXPECT_EQ(field(*in.reply, 729), "2");
    WireMessage trades = m;
    set(trades, 724, "1");
    in = refused(trades, Reason::kAmountInvalid, "PosReqType (724) '1'", "AO");
    EXPECT_EQ(field(*in.reply, 728), "1");
    set(m, 15, "ABC");
    refused(m, Reason::kUnknownCurrency, "'ABC'", "AO");
}

TEST_F(ConvertTest, UnsupportedMessageTypeFromPspGetsBusinessMessageReject) {
    WireMessage m;
    m.msg_type = "V";
    m.add(262, "MD-1");
    Inbound in = conv().from_psp(kAlpha, m, kNow);
    EXPECT_TRUE(in.commands.empty());
    ASSERT_TRUE(in.reply);
    expect_valid(*in.reply);
    EXPECT_EQ(in.reply->msg_type, "j");
    EXPECT_EQ(field(*in.reply, 372), "V");
    EXPECT_EQ(field(*in.reply, 380), "3");
    EXPECT_EQ(field(*in.reply, 379), "MD-1");
    EXPECT_NE(in.text.find("'V' is not accepted"), std::string::npos);

    WireMessage j;
    j.msg_type = "j";
    j.add(372, "8").add(380, "0").add(58, "whatever");
    in = conv().from_psp(kAlpha, j, kNow);
    EXPECT_TRUE(in.commands.empty());
    EXPECT_FALSE(in.reply);
    EXPECT_NE(in.note.find("whatever"), std::string::npos);
}

TEST_F(ConvertTest, RejectReplyRefusesAnyPspMessageForTheCallersOwnReasons) {
    for (WireMessage m : {new_order(), payout(), quote_request()}) {
        const WireMessage r =
            conv().reject_reply(kAlpha, m, Reason::kBookFull, "engine queue full: retry", kNow);
        expect_valid(r);
        EXPECT_EQ(field(r, 7000), "207");
        EXPECT_EQ(field(r, 58), "engine queue full: retry");
    }
    const WireMessage j = Converter::business_reject(new_order(), 4, Reason::kNone, "down");
    expect_valid(j);
    EXPECT_EQ(field(j, 379), "ORD-1");
    EXPECT_EQ(field(j, 7000), "<absent>");
}

// ---- venue inbound ----------------------------------------------------------------------------

TEST_F(ConvertTest, SnapshotGivesBestBidAndOfferWithSizesAndSendingTime) {
    WireMessage w;
    w.msg_type = "W";
    w.sending_time = "20250310-09:30:14.500";
    w.add(262, "MD-1").add(55, "USD/CNY");
    w.groups.push_back(WireGroup{268,
                                 {{{269, "0"}, {270, "7.1230"}, {271, "1000000.00"}},
                                  {{269, "0"}, {270, "7.1232"}, {271, "500000.00"}},
                                  {{269, "1"}, {270, "7.1240"}, {271, "2000000"}},
                                  {{269, "1"}, {270, "7.1236"}, {271, "750000.00"}},
                                  {{269, "2"}, {270, "7.1000"}}}});
    expect_valid(w);
    Inbound in = conv().from_venue(0, w, kNow);
    ASSERT_EQ(in.commands.size(), 1u) << in.note;
    const auto& r = std::get<engine::VenueRate>(in.commands[0]);
    EXPECT_EQ(r.venue, 0u);
    EXPECT_EQ(r.bid, rate("7.1232"));
    EXPECT_EQ(r.ask, rate("7.1236"));
    EXPECT_EQ(r.bid_size, Amount::from_minor(50000000));
    EXPECT_EQ(r.ask_size, Amount::from_minor(75000000));
    EXPECT_EQ(r.time, *parse_utc_timestamp("20250310-09:30:14.500"));

    // One-sided: nothing to price with.
    w.groups[0].entries.resize(2);
    in = conv().from_venue(0, w, kNow);
    EXPECT_TRUE(in.commands.empty());
    EXPECT_NE(in.note.find("no two-way price"), std::string::npos);
}

TEST_F(ConvertTest, IncrementalRefreshUpdatesTheTopOfBookPerSymbol) {
    WireMessage x;
    x.msg_type = "X";
    x.groups.push_back(WireGroup{268,
                                 {{{279, "0"}, {269, "0"}, {55, "USD/CNY"}, {270, "7.1"}},
                                  {{279, "0"}, {269, "1"}, {270, "7.2"}, {271, "10.00"}}}});
    expect_valid(x);
    Inbound in = conv().from_venue(1, x, kNow);
    ASSERT_EQ(in.commands.size(), 1u) << in.note;
    EXPECT_EQ(std::get<engine::VenueRate>(in.commands[0]).ask, rate("7.2"));
    EXPECT_EQ(std::get<engine::VenueRate>(in.commands[0]).time, kNow);

    WireMessage change;
    change.msg_type = "X";
    change.groups.push_back(
        WireGroup{268, {{{279, "1"}, {269, "0"}, {55, "USD/CNY"}, {270, "7.15"}}}});
    in = conv().from_venue(1, change, kNow);
    ASSERT_EQ(in.commands.size(), 1u);
    EXPECT_EQ(std::get<engine::VenueRate>(in.commands[0]).bid, rate("7.15"));
    EXPECT_EQ(std::get<engine::VenueRate>(in.commands[0]).ask, rate("7.2"));

    WireMessage del;
    del.msg_type = "X";
    del.groups.push_back(WireGroup{268, {{{279, "2"}, {269, "1"}, {55, "USD/CNY"}}}});
    in = conv().from_venue(1, del, kNow);
    EXPECT_TRUE(in.commands.empty());

    // A bad entry changes nothing: the book keeps the bid 7.15 and no ask.
    WireMessage bad;
    bad.msg_type = "X";
    bad.groups.push_back(WireGroup{268,
                                   {{{279, "0"}, {269, "1"}, {55, "USD/CNY"}, {270, "7.3"}},
                                    {{279, "0"}, {269, "0"}, {270, "-1"}}}});
    in = conv().from_venue(1, bad, kNow);
    EXPECT_TRUE(in.commands.empty());
    EXPECT_NE(in.note.find("MDEntryPx (270)"), std::string::npos) << in.note;
    WireMessage ask;
    ask.msg_type = "X";
    ask.groups.push_back(
        WireGroup{268, {{{279, "0"}, {269, "1"}, {55, "USD/CNY"}, {270, "7.25"}}}});
    in = conv().from_venue(1, ask, kNow);
    ASSERT_EQ(in.commands.size(), 1u);
    EXPECT_EQ(std::get<engine::VenueRate>(in.commands[0]).bid, rate("7.15"));
}

TEST_F(ConvertTest, MarketDataForAnUnknownSymbolIsNotedNotApplied) {
    WireMessage w;
    w.msg_type = "W";
    w.add(55, "USD/XYZ");
    w.groups.push_back(WireGroup{268, {{{269, "0"}, {270, "1"}}}});
    Inbound in = conv().from_venue(0, w, kNow);
    EXPECT_TRUE(in.commands.empty());
    EXPECT_FALSE(in.reply);
    EXPECT_NE(in.note.find("USD/XYZ"), std::string::npos) << in.note;
}

TEST_F(ConvertTest, HedgeExecutionReportsBecomeFillsAndRejects) {
    WireMessage er;
    er.msg_type = "8";
    er.add(37, "V-1")
        .add(11, "HG-5")
        .add(17, "E-1")
        .add(150, "F")
        .add(39, "1")
        .add(55, "USD/CNY")
        .add(54, "1")
        .add(32, "400000.00")
        .add(31, "7.1236")
        .add(151, "600000.00")
        .add(14, "400000.00")
        .add(6, "7.1236");
    expect_valid(er);
    Inbound in = conv().from_venue(0, er, kNow);
    ASSERT_EQ(in.commands.size(), 1u) << in.note;
    EXPECT_EQ(
        std::get<engine::HedgeFill>(in.commands[0]),
        (engine::HedgeFill{0, 5, "E-1", Amount::from_minor(40000000), rate("7.1236"), false}));
    set(er, 39, "2");
    set(er, 17, "E-2");
    in = conv().from_venue(0, er, kNow);
    EXPECT_TRUE(std::get<engine::HedgeFill>(in.commands[0]).last);

    WireMessage rej = er;
    set(rej, 150, "8");
    set(rej, 39, "8");
    rej.add(58, "price away");
    in = conv().from_venue(0, rej, kNow);
    ASSERT_EQ(in.commands.size(), 1u);
    EXPECT_EQ(std::get<engine::HedgeReject>(in.commands[0]),
              (engine::HedgeReject{0, 5, "price away"}));

    WireMessage cxl = without(without(er, 32), 31);
    set(cxl, 150, "4");
    set(cxl, 39, "4");
    in = conv().from_venue(0, cxl, kNow);
    ASSERT_EQ(in.commands.size(), 1u);
    EXPECT_NE(std::get<engine::HedgeReject>(in.commands[0]).text.find("ended the order"),
              std::string::npos);

    WireMessage ack = cxl;
    set(ack, 150, "0");
    set(ack, 39, "0");
    in = conv().from_venue(0, ack, kNow);
    EXPECT_TRUE(in.commands.empty());
    EXPECT_FALSE(in.note.empty());

    WireMessage other = er;
    set(other, 11, "CLIENT-7");
    in = conv().from_venue(0, other, kNow);
    EXPECT_TRUE(in.commands.empty());
    EXPECT_NE(in.note.find("not a hedge order"), std::string::npos);

    WireMessage bad_qty = er;
    set(bad_qty, 32, "0.001");
    in = conv().from_venue(0, bad_qty, kNow);
    EXPECT_TRUE(in.commands.empty());
    EXPECT_NE(in.note.find("LastQty (32)"), std::string::npos) << in.note;
}

TEST_F(ConvertTest, MarketDataRequestRejectAndBusinessRejectFromVenuesAreNoted) {
    WireMessage y;
    y.msg_type = "Y";
    y.add(262, "MD-1").add(281, "0").add(58, "unknown symbol");
    expect_valid(y);
    Inbound in = conv().from_venue(0, y, kNow);
    EXPECT_TRUE(in.commands.empty());
    EXPECT_NE(in.note.find("unknown symbol"), std::string::npos);
    WireMessage j;
    j.msg_type = "j";
    j.add(372, "D").add(379, "HG-3").add(380, "0").add(58, "closed");
    in = conv().from_venue(0, j, kNow);
    EXPECT_NE(in.note.find("HG-3"), std::string::npos);
}

// ---- bank inbound ------------------------------------------------------------------------------

TEST_F(ConvertTest, PaymentConfirmationGivesRejectionsThenConfirmations) {
    WireMessage u4;
    u4.msg_type = "U4";
    u4.add(60, "20250310-09:30:15").add(7200, "PO-3");
    u4.groups.push_back(WireGroup{7208,
                                  {{{7203, "0"}, {7209, "C"}, {7207, "BR-0"}},
                                   {{7203, "1"}, {7209, "R"}, {7210, "AC04"}, {58, "closed"}}}});
    expect_valid(u4);
    Inbound in = conv().from_bank(0, u4, kNow);
    ASSERT_FALSE(in.refused()) << in.text;
    ASSERT_EQ(in.commands.size(), 2u);
    EXPECT_EQ(std::get<engine::BankLineRejection>(in.commands[0]),
              (engine::BankLineRejection{0, 3, 1, "AC04: closed"}));
    // Without an order-level BankReference each C line is confirmed on its own.
    EXPECT_EQ(std::get<engine::BankLineConfirmation>(in.commands[1]),
              (engine::BankLineConfirmation{0, 3, 0, "BR-0"}));

    WireMessage whole = u4;
    whole.add(7207, "ORDER-REF");
    whole.groups[0].entries = {{{7203, "0"}, {7209, "C"}}, {{7203, "1"}, {7209, "C"}}};
    in = conv().from_bank(0, whole, kNow);
    ASSERT_EQ(in.commands.size(), 1u);
    EXPECT_EQ(std::get<engine::BankConfirmation>(in.commands[0]),
              (engine::BankConfirmation{0, 3, "ORDER-REF"}));
}

TEST_F(ConvertTest, PaymentConfirmationForAnotherOrderIdFormIsRefusedAndNoted) {
    WireMessage u4;
    u4.msg_type = "U4";
    u4.add(60, "20250310-09:30:15").add(7200, "12");
    u4.groups.push_back(WireGroup{7208, {{{7203, "0"}, {7209, "C"}}}});
    Inbound in = conv().from_bank(0, u4, kNow);
    EXPECT_TRUE(in.refused());
    EXPECT_TRUE(in.commands.empty());
    EXPECT_FALSE(in.reply);
    EXPECT_NE(in.note.find("PaymentOrderID (7200) '12'"), std::string::npos) << in.note;
    set(u4, 7200, "PO-1");
    u4.groups[0].entries = {{{7203, "-1"}, {7209, "C"}}};
    in = conv().from_bank(0, u4, kNow);
    EXPECT_NE(in.text.find("PaymentLineNo (7203) '-1'"), std::string::npos) << in.text;
}

TEST_F(ConvertTest, DepositNoticeBecomesDepositForTheNamedPsp) {
    WireMessage u6;
    u6.msg_type = "U6";
    u6.add(1, "coral")
        .add(15, "EUR")
        .add(60, "20250310-09:30:15")
        .add(7600, "DEP-1")
        .add(7601, "250000.00");
    expect_valid(u6);
    Inbound in = conv().from_bank(1, u6, kNow);
    ASSERT_EQ(in.commands.size(), 1u) << in.text;
    EXPECT_EQ(std::get<engine::Deposit>(in.commands[0]),
              (engine::Deposit{2, "DEP-1", 1, {Amount::from_minor(25000000), ccy("EUR")}}));

    for (const auto& [t, v, needle] : std::vector<std::tuple<int, std::string, std::string>>{
             {1, "zeta", "'zeta'"},
             {15, "XAU", "'XAU'"},
             {7601, "-5.00", "must be positive"},
             {7601, "12345678901234567890123456789012345678901234567890", "DepositAmt (7601)"}}) {
        WireMessage bad = u6;
        set(bad, t, v);
        in = conv().from_bank(1, bad, kNow);
        EXPECT_TRUE(in.commands.empty()) << v;
        EXPECT_NE(in.text.find(needle), std::string::npos) << in.text;
    }
}

// ---- outbound -----------------------------------------------------------------------------------

TEST_F(ConvertTest, OrderLifecycleEventsBecomeValidExecutionReportsWithDeterministicExecIds) {
    // The PSP's D, so the converter knows Symbol and Side.
    ASSERT_EQ(conv().from_psp(kAlpha, new_order(), kNow).commands.size(), 1u);
    const engine::OrderAccepted acc = order_one_accepted();
    Outbound out = conv().to_wire(acc, kNow);
    EXPECT_EQ(out.to, (Destination{Peer::kPsp, kAlpha}));
    ASSERT_EQ(out.messages.size(), 1u);
    expect_valid(out.messages[0]);
    EXPECT_EQ(field(out.messages[0], 17), "N11");
    EXPECT_EQ(field(out.messages[0], 38), "1000.00");
    EXPECT_EQ(field(out.messages[0], 64), "20250312");
    EXPECT_EQ(conv().to_wire(acc, kNow + 5s).messages[0].find(17)[0], "N11");

    engine::OrderFilled fill{kAlpha,
                             "ORD-1",
                             11,
                             77,
                             usdcny(),
                             engine::book::Side::kBuy,
                             rate("7.1234"),
                             Amount::from_minor(40000),
                             Amount::from_minor(284936),
                             Amount::from_minor(60000),
                             Amount::from_minor(40000),
                             false,
                             std::chrono::sys_days{2025y / 3 / 12},
                             rate("7.1234")};
    out = conv().to_wire(fill, kNow);
    expect_valid(out.messages[0]);
    EXPECT_EQ(field(out.messages[0], 17), "F11-77");
    EXPECT_EQ(field(out.messages[0], 39), "1");
    EXPECT_EQ(field(out.messages[0], 6), "7.1234");
    EXPECT_EQ(field(out.messages[0], 7400), "2849.36");

    // A second fill, 200.00 at 7.13: AvgPx is the engine's average of both fills,
    // (400.00 x 7.1234 + 200.00 x 7.13) / 600.00 = 7.1256, LastPx this fill's price.
    engine::OrderFilled second = fill;
    second.trade_id = 78;
    second.price = rate("7.13");
    second.quantity = Amount::from_minor(20000);
    second.quote_amount = Amount::from_minor(142600);
    second.leaves = Amount::from_minor(40000);
    second.cum_quantity = Amount::from_minor(60000);
    second.avg_price = rate("7.1256");
    out = conv().to_wire(second, kNow);
    expect_valid(out.messages[0]);
    EXPECT_EQ(field(out.messages[0], 31), "7.13");
    EXPECT_EQ(field(out.messages[0], 14), "600.00");
    EXPECT_EQ(field(out.messages[0], 6), "7.1256") << "AvgPx of two fills";
    // The same fill from an outbox row written before the engine reported the average
    // (codec version 2): AvgPx is 0, as the rules of engagement say for such rows.
    second.avg_price.reset();
    out = conv().to_wire(second, kNow);
    expect_valid(out.messages[0]);
    EXPECT_EQ(field(out.messages[0], 6), "0");
    fill.avg_price.reset();
    out = conv().to_wire(fill, kNow);
    EXPECT_EQ(field(out.messages[0], 6), "7.1234") << "a first fill's AvgPx is its LastPx";

    engine::OrderReplaced rep{kAlpha,
                              "RPL-1",
                              "ORD-1",
                              11,
                              rate("7.1200"),
                              Amount::from_minor(200000),
                              Amount::from_minor(160000),
                              false,
                              {Amount::from_minor(1139200), ccy("CNY")},
                              engine::book::Side::kBuy};
    out = conv().to_wire(rep, kNow);
    ASSERT_EQ(out.messages.size(), 1u) << out.note;
    expect_valid(out.messages[0]);
    EXPECT_EQ(field(out.messages[0], 150), "5");
    EXPECT_EQ(field(out.messages[0], 55), "USD/CNY");
    EXPECT_EQ(field(out.messages[0], 17), "R11-RPL-1");

    engine::OrderCancelled cxl{kAlpha,
                               "CXL-1",
                               "RPL-1",
                               11,
                               engine::book::CancelReason::kRequested,
                               Amount::from_minor(160000),
                               Amount::from_minor(40000),
                               {Amount::from_minor(1139200), ccy("CNY")},
                               usdcny(),
                               engine::book::Side::kBuy};
    out = conv().to_wire(cxl, kNow);
    ASSERT_EQ(out.messages.size(), 1u) << out.note;
    expect_valid(out.messages[0]);
    EXPECT_EQ(field(out.messages[0], 150), "4");
    EXPECT_EQ(field(out.messages[0], 14), "400.00");
    EXPECT_EQ(field(out.messages[0], 17), "C11");

    engine::OrderStatusReport st{kAlpha,
                                 "STAT-1",
                                 "ORD-1",
                                 11,
                                 engine::OrderState::kCancelled,
                                 usdcny(),
                                 engine::book::Side::kBuy,
                                 rate("7.12"),
                                 Amount::from_minor(200000),
                                 Amount{},
                                 Amount::from_minor(40000)};
    out = conv().to_wire(st, kNow);
    expect_valid(out.messages[0]);
    EXPECT_EQ(field(out.messages[0], 150), "I");
    EXPECT_EQ(field(out.messages[0], 790), "STAT-1");
    EXPECT_EQ(field(out.messages[0], 39), "4");
}

TEST_F(ConvertTest, OrderRejectionsBecomeRejectedReportsOrCancelRejects) {
    ASSERT_EQ(conv().from_psp(kAlpha, new_order(), kNow).commands.size(), 1u);
    engine::OrderRejected rej{kAlpha,
                              "ORD-1",
                              "",
                              engine::RequestKind::kNewOrder,
                              Reason::kInsufficientFunds,
                              "available 10.00 USD < 7123.40",
                              usdcny(),
                              engine::book::Side::kBuy,
                              std::nullopt,
                              std::nullopt};
    Outbound out = conv().to_wire(rej, kNow);
    ASSERT_EQ(out.messages.size(), 1u);
    expect_valid(out.messages[0]);
    EXPECT_EQ(out.messages[0].msg_type, "8");
    EXPECT_EQ(field(out.messages[0], 103), "3");
    EXPECT_EQ(field(out.messages[0], 7000), "300");
    EXPECT_EQ(field(out.messages[0], 17), "X-ORD-1");

    engine::OrderRejected cxl{kAlpha,
                              "CXL-9",
                              "ORD-404",
                              engine::RequestKind::kCancel,
                              Reason::kUnknownOrder,
                              "no order 'ORD-404'",
                              std::nullopt,
                              std::nullopt,
                              std::nullopt,
                              std::nullopt};
    out = conv().to_wire(cxl, kNow);
    expect_valid(out.messages[0]);
    EXPECT_EQ(out.messages[0].msg_type, "9");
    EXPECT_EQ(field(out.messages[0], 102), "1");
    EXPECT_EQ(field(out.messages[0], 37), "NONE");
    EXPECT_EQ(field(out.messages[0], 39), "8");

    // A rejection without pair and side (decoded from a version-1 outbox row) whose
    // request this converter never saw (after a restart): a j.
    engine::OrderRejected unknown{kAlpha,
                                  "ORD-OLD",
                                  "",
                                  engine::RequestKind::kNewOrder,
                                  Reason::kQuantityInvalid,
                                  "quantity 1.00 USD below 100.00",
                                  std::nullopt,
                                  std::nullopt,
                                  std::nullopt,
                                  std::nullopt};
    out = conv().to_wire(unknown, kNow);
    ASSERT_EQ(out.messages.size(), 1u);
    expect_valid(out.messages[0]);
    EXPECT_EQ(out.messages[0].msg_type, "j");
    EXPECT_EQ(field(out.messages[0], 379), "ORD-OLD");
    EXPECT_EQ(field(out.messages[0], 372), "D");
    EXPECT_EQ(field(out.messages[0], 7000), "201");
    EXPECT_FALSE(out.note.empty());
}

// After a restart the converter has seen none of the requests: the ends of orders accepted
// before it, and rejections, are still proper reports, built from the events alone.
TEST_F(ConvertTest, OrderAndQuoteOutcomesNeedNoMemoryOfTheRequest) {
    const auto cancelled = [&](engine::book::CancelReason reason, engine::book::Side side) {
        return engine::OrderCancelled{kAlpha,
                                      "ORD-1",
                                      "ORD-1",
                                      11,
                                      reason,
                                      Amount::from_minor(60000),
                                      Amount::from_minor(40000),
                                      {Amount::from_minor(60000), ccy("USD")},
                                      usdcny(),
                                      side};
    };
    for (const auto& [reason, side, status, side_text] : std::vector<
             std::tuple<engine::book::CancelReason, engine::book::Side, std::string, std::string>>{
             {engine::book::CancelReason::kExpired, engine::book::Side::kSell, "C", "2"},
             {engine::book::CancelReason::kRequested, engine::book::Side::kBuy, "4", "1"}}) {
        Outbound out = conv().to_wire(cancelled(reason, side), kNow);
        EXPECT_EQ(out.to, (Destination{Peer::kPsp, kAlpha}));
        ASSERT_EQ(out.messages.size(), 1u);
        expect_valid(out.messages[0]);
        EXPECT_EQ(out.messages[0].msg_type, "8") << "the end of order ORD-1 went out as a "
                                                 << out.messages[0].msg_type << ": " << out.note;
        EXPECT_EQ(field(out.messages[0], 150), status);
        EXPECT_EQ(field(out.messages[0], 39), status);
        EXPECT_EQ(field(out.messages[0], 55), "USD/CNY");
        EXPECT_EQ(field(out.messages[0], 54), side_text);
        EXPECT_EQ(field(out.messages[0], 14), "400.00");
        EXPECT_EQ(field(out.messages[0], 37), "11");
        EXPECT_EQ(field(out.messages[0], 17), "C11");
        EXPECT_TRUE(out.note.empty()) << out.note;
    }

    engine::OrderReplaced rep{kAlpha,
                              "RPL-1",
                              "ORD-1",
                              11,
                              rate("7.1200"),
                              Amount::from_minor(200000),
                              Amount::from_minor(160000),
                              true,
                              {Amount::from_minor(160000), ccy("USD")},
                              engine::book::Side::kSell};
    Outbound out = conv().to_wire(rep, kNow);
    ASSERT_EQ(out.messages.size(), 1u);
    expect_valid(out.messages[0]);
    EXPECT_EQ(out.messages[0].msg_type, "8");
    EXPECT_EQ(field(out.messages[0], 150), "5");
    EXPECT_EQ(field(out.messages[0], 55), "USD/CNY");
    EXPECT_EQ(field(out.messages[0], 54), "2");

    engine::OrderRejected rej{kAlpha,
                              "ORD-2",
                              "",
                              engine::RequestKind::kNewOrder,
                              Reason::kInsufficientFunds,
                              "available 10.00 USD < 1000.00",
                              usdcny(),
                              engine::book::Side::kSell,
                              std::nullopt,
                              std::nullopt};
    out = conv().to_wire(rej, kNow);
    ASSERT_EQ(out.messages.size(), 1u);
    expect_valid(out.messages[0]);
    EXPECT_EQ(out.messages[0].msg_type, "8");
    EXPECT_EQ(field(out.messages[0], 150), "8");
    EXPECT_EQ(field(out.messages[0], 55), "USD/CNY");
    EXPECT_EQ(field(out.messages[0], 54), "2");

    engine::QuoteRejected quote{kAlpha, "RFQ-2", Reason::kNoRate, "no fresh venue rate", usdcny()};
    out = conv().to_wire(quote, kNow);
    ASSERT_EQ(out.messages.size(), 1u);
    expect_valid(out.messages[0]);
    EXPECT_EQ(out.messages[0].msg_type, "AG");
    ASSERT_EQ(out.messages[0].groups.size(), 1u);
    ASSERT_EQ(out.messages[0].groups[0].entries.size(), 1u);
    EXPECT_EQ(out.messages[0].groups[0].entries[0][0].value, "USD/CNY");

    // What the event cannot say: a status request for an order the engine does not know
    // names no pair or side (only the H had them); unseen, it is answered with a j.
    engine::OrderRejected status{kAlpha,
                                 "STAT-9",
                                 "ORD-404",
                                 engine::RequestKind::kOrderStatus,
                                 Reason::kUnknownOrder,
                                 "no order 'ORD-404'",
                                 std::nullopt,
                                 std::nullopt,
                                 std::nullopt,
                                 std::nullopt};
    out = conv().to_wire(status, kNow);
    ASSERT_EQ(out.messages.size(), 1u);
    EXPECT_EQ(out.messages[0].msg_type, "j");
    EXPECT_EQ(field(out.messages[0], 372), "H");
}

// After a restart a refused cancel or replace of an order the engine knows is still an
// OrderCancelReject naming the order: OrderID (37) and OrdStatus (39) come from the event
// (the engine's id and state, OrdStatus mapped as in the status report), not from the
// converter's memory, which is empty here.
TEST_F(ConvertTest, CancelRejectOfAKnownOrderTakesOrderIdAndStatusFromTheEvent) {
    auto fresh = Converter::create(config_);
    ASSERT_TRUE(fresh) << fresh.error().to_string();
    struct Case {
        engine::RequestKind request;
        Reason reason;
        engine::OrderState state;
        std::string ord_status;
        std::string response_to;  // CxlRejResponseTo (434)
        std::string cxl_reason;   // CxlRejReason (102)
    };
    for (const Case& c :
         std::vector<Case>{{engine::RequestKind::kReplace, Reason::kReplaceQuantityInvalid,
                            engine::OrderState::kPartiallyFilled, "1", "2", "99"},
                           {engine::RequestKind::kReplace, Reason::kInsufficientFunds,
                            engine::OrderState::kNew, "0", "2", "99"},
                           {engine::RequestKind::kReplace, Reason::kPriceInvalid,
                            engine::OrderState::kReplaced, "5", "2", "99"},
                           {engine::RequestKind::kCancel, Reason::kOrderDone,
                            engine::OrderState::kFilled, "2", "1", "0"},
                           {engine::RequestKind::kCancel, Reason::kOrderDone,
                            engine::OrderState::kExpired, "C", "1", "0"},
                           {engine::RequestKind::kCancel, Reason::kDuplicateClientId,
                            engine::OrderState::kPartiallyFilled, "1", "1", "6"}}) {
        const engine::OrderRejected rej{kAlpha,   "CXL-7",   "ORD-1",  c.request,
                                        c.reason, "refused", usdcny(), engine::book::Side::kSell,
                                        11,       c.state};
        const Outbound out = fresh->to_wire(rej, kNow);
        EXPECT_EQ(out.to, (Destination{Peer::kPsp, kAlpha}));
        ASSERT_EQ(out.messages.size(), 1u) << out.note;
        expect_valid(out.messages[0]);
        const std::string what =
            std::string(engine::reason_name(c.reason)) + " with OrdStatus " + c.ord_status + ": ";
        EXPECT_EQ(out.messages[0].msg_type, "9") << what << out.note;
        EXPECT_EQ(field(out.messages[0], 37), "11") << what;
        EXPECT_EQ(field(out.messages[0], 39), c.ord_status) << what;
        EXPECT_EQ(field(out.messages[0], 11), "CXL-7") << what;
        EXPECT_EQ(field(out.messages[0], 41), "ORD-1") << what;
        EXPECT_EQ(field(out.messages[0], 434), c.response_to) << what;
        EXPECT_EQ(field(out.messages[0], 102), c.cxl_reason) << what;
    }

    // The event wins over the memory: this converter saw the order accepted (OrdStatus 0),
    // the engine's state in the event is filled.
    ASSERT_EQ(conv().from_psp(kAlpha, new_order(), kNow).commands.size(), 1u);
    const engine::OrderAccepted accepted = order_one_accepted();
    ASSERT_EQ(conv().to_wire(accepted, kNow).messages.size(), 1u);
    const engine::OrderRejected done{kAlpha,
                                     "CXL-8",
                                     "ORD-1",
                                     engine::RequestKind::kCancel,
                                     Reason::kOrderDone,
                                     "no longer open",
                                     usdcny(),
                                     engine::book::Side::kBuy,
                                     11,
                                     engine::OrderState::kFilled};
    const Outbound out = conv().to_wire(done, kNow);
    ASSERT_EQ(out.messages.size(), 1u);
    expect_valid(out.messages[0]);
    EXPECT_EQ(field(out.messages[0], 37), "11");
    EXPECT_EQ(field(out.messages[0], 39), "2")
        << "OrdStatus from the event (filled), not the memory (accepted, 0)";
}

// Without an order id and state the engine did not know the order, or the event comes from
// a version-1 outbox row. Unknown to the engine: NONE / 8 even where this converter's memory
// still has the order (dropped by the engine at a cut-off). A version-1 event of an order
// the engine knew (any other reason) falls back on the memory while the converter has it.
TEST_F(ConvertTest, CancelRejectWithoutOrderIdUsesTheMemoryOnlyForOldLayoutEvents) {
    ASSERT_EQ(conv().from_psp(kAlpha, new_order(), kNow).commands.size(), 1u);
    const engine::OrderAccepted accepted = order_one_accepted();
    ASSERT_EQ(conv().to_wire(accepted, kNow).messages.size(), 1u);

    const engine::OrderRejected unknown{kAlpha,
                                        "CXL-1",
                                        "ORD-1",
                                        engine::RequestKind::kCancel,
                                        Reason::kUnknownOrder,
                                        "no order 'ORD-1'",
                                        std::nullopt,
                                        std::nullopt,
                                        std::nullopt,
                                        std::nullopt};
    Outbound out = conv().to_wire(unknown, kNow);
    ASSERT_EQ(out.messages.size(), 1u);
    expect_valid(out.messages[0]);
    EXPECT_EQ(out.messages[0].msg_type, "9");
    EXPECT_EQ(field(out.messages[0], 37), "NONE") << "the engine does not know ORD-1";
    EXPECT_EQ(field(out.messages[0], 39), "8");
    EXPECT_EQ(field(out.messages[0], 102), "1");

    const engine::OrderRejected old_layout{kAlpha,
                                           "RPL-1",
                                           "ORD-1",
                                           engine::RequestKind::kReplace,
                                           Reason::kReplaceQuantityInvalid,
                                           "new quantity must exceed the filled",
                                           std::nullopt,
                                           std::nullopt,
                                           std::nullopt,
                                           std::nullopt};
    out = conv().to_wire(old_layout, kNow);
    ASSERT_EQ(out.messages.size(), 1u);
    expect_valid(out.messages[0]);
    EXPECT_EQ(field(out.messages[0], 37), "11") << "a version-1 event uses the memory";
    EXPECT_EQ(field(out.messages[0], 39), "0");

    auto fresh = Converter::create(config_);
    ASSERT_TRUE(fresh) << fresh.error().to_string();
    out = fresh->to_wire(old_layout, kNow);
    ASSERT_EQ(out.messages.size(), 1u);
    expect_valid(out.messages[0]);
    EXPECT_EQ(field(out.messages[0], 37), "NONE") << "a restarted converter has no memory";
    EXPECT_EQ(field(out.messages[0], 39), "8");
}

// An event decoded from a version-1 outbox row has no pair or side: the memory of the
// request still gives the report while the converter has it.
TEST_F(ConvertTest, OldLayoutEventsWithoutPairOrSideUseTheMemoryOfTheRequest) {
    ASSERT_EQ(conv().from_psp(kAlpha, new_order(), kNow).commands.size(), 1u);
    engine::OrderCancelled cxl{kAlpha,
                               "ORD-1",
                               "ORD-1",
                               11,
                               engine::book::CancelReason::kExpired,
                               Amount::from_minor(100000),
                               Amount{},
                               {Amount::from_minor(712340), ccy("CNY")},
                               std::nullopt,
                               std::nullopt};
    Outbound out = conv().to_wire(cxl, kNow);
    ASSERT_EQ(out.messages.size(), 1u);
    expect_valid(out.messages[0]);
    EXPECT_EQ(out.messages[0].msg_type, "8");
    EXPECT_EQ(field(out.messages[0], 150), "C");
    EXPECT_EQ(field(out.messages[0], 55), "USD/CNY");
    EXPECT_EQ(field(out.messages[0], 54), "1");
    EXPECT_EQ(field(out.messages[0], 14), "0.00");

    // Another converter (a restarted daemon) has no memory: the old fallback, a j.
    auto fresh = Converter::create(config_);
    ASSERT_TRUE(fresh) << fresh.error().to_string();
    out = fresh->to_wire(cxl, kNow);
    ASSERT_EQ(out.messages.size(), 1u);
    EXPECT_EQ(out.messages[0].msg_type, "j");
    EXPECT_FALSE(out.note.empty());
}

TEST_F(ConvertTest, QuoteEventsBecomeQuoteOrQuoteRequestReject) {
    ASSERT_EQ(conv().from_psp(kAlpha, quote_request(), kNow).commands.size(), 1u);
    engine::QuoteIssued q{kAlpha,
                          "RFQ-1",
                          31,
                          ccy("CNY"),
                          ccy("USD"),
                          rate("7.1412"),
                          {Amount::from_minor(3570600), ccy("CNY")},
                          {Amount::from_minor(500000), ccy("USD")},
                          kNow + 5s,
                          std::chrono::sys_days{2025y / 3 / 12}};
    Outbound out = conv().to_wire(q, kNow);
    expect_valid(out.messages[0]);
    EXPECT_EQ(field(out.messages[0], 117), "31");
    EXPECT_EQ(field(out.messages[0], 133), "7.1412");
    EXPECT_EQ(field(out.messages[0], 7400), "35706.00");
    EXPECT_EQ(field(out.messages[0], 62), "20250310-09:30:20.123");

    engine::QuoteRejected r{kAlpha, "RFQ-1", Reason::kNoRate, "no fresh venue rate for USD/CNY",
                            usdcny()};
    out = conv().to_wire(r, kNow);
    expect_valid(out.messages[0]);
    EXPECT_EQ(out.messages[0].msg_type, "AG");
    EXPECT_EQ(field(out.messages[0], 658), "8");
}

TEST_F(ConvertTest, PayoutEventsBecomePayoutStatus) {
    const auto cny = [&](std::int64_t m) {
        return money::Money{Amount::from_minor(m), ccy("CNY")};
    };
    const auto usd = [&](std::int64_t m) {
        return money::Money{Amount::from_minor(m), ccy("USD")};
    };
    const engine::Event events[] = {
        engine::PayoutAccepted{kAlpha, "PAY-1", 9, cny(700000), usd(98200), rate("7.1300"), true,
                               std::chrono::sys_days{2025y / 3 / 12}},
        engine::PayoutRejected{kAlpha, "PAY-2", Reason::kInsufficientFunds, "short 5.00 USD"},
        engine::PayoutSettled{kAlpha, "PAY-1", 9, cny(700000), usd(98177), rate("7.1300"),
                              std::chrono::sys_days{2025y / 3 / 12}},
        engine::PayoutFailed{kAlpha, "PAY-1", 9, 900, "AC04: closed", cny(700000)},
    };
    const char* codes = "ARSF";
    for (int i = 0; i < 4; ++i) {
        Outbound out = conv().to_wire(events[i], kNow);
        ASSERT_EQ(out.messages.size(), 1u);
        expect_valid(out.messages[0]);
        EXPECT_EQ(field(out.messages[0], 7112), std::string(1, codes[i]));
    }
    EXPECT_EQ(field(conv().to_wire(events[0], kNow).messages[0], 7104), "982.00");
    EXPECT_EQ(field(conv().to_wire(events[3], kNow).messages[0], 7000), "900");
}

TEST_F(ConvertTest, PositionReportGivesAckAndOneReportPerCurrency) {
    engine::PositionReport rep;
    rep.psp = kAlpha;
    rep.client_id = "POS-1";
    rep.aggregate_cap = {Amount::from_minor(1500000000), ccy("USD")};
    rep.aggregate_used = money::Money{Amount::from_minor(1000), ccy("USD")};
    rep.lines.push_back({ccy("CNY"), Amount::from_minor(5), Amount::from_minor(6), Amount{},
                         Amount::from_minor(-700), Amount::from_minor(6000000000),
                         Amount::from_minor(5999999300)});
    rep.lines.push_back({ccy("USD"), Amount::from_minor(100), Amount{}, Amount::from_minor(3),
                         Amount{}, Amount{}, Amount{}});
    Outbound out = conv().to_wire(rep, kNow);
    ASSERT_EQ(out.messages.size(), 3u);
    for (const auto& m : out.messages)
        expect_valid(m);
    EXPECT_EQ(out.messages[0].msg_type, "AO");
    EXPECT_EQ(field(out.messages[0], 727), "2");
    EXPECT_EQ(field(out.messages[1], 721), "POS-1-CNY");
    EXPECT_EQ(field(out.messages[1], 7503), "-7.00");
    EXPECT_EQ(field(out.messages[2], 15), "USD");

    rep.lines.clear();
    out = conv().to_wire(rep, kNow);
    ASSERT_EQ(out.messages.size(), 1u);
    EXPECT_EQ(field(out.messages[0], 728), "2");

    engine::CommandRejected rej{engine::RequestKind::kPosition, kAlpha, "POS-2",
                                Reason::kUnknownCurrency, "currency XAU is not settled"};
    out = conv().to_wire(rej, kNow);
    expect_valid(out.messages[0]);
    EXPECT_EQ(field(out.messages[0], 729), "2");
}

TEST_F(ConvertTest, SettlementObligationHedgeOrderAndPaymentOrderAreValid) {
    const auto cny = *conv().chart().currency_index(ccy("CNY"));
    engine::SettlementObligation ob{4,
                                    kAlpha,
                                    cny,
                                    std::chrono::sys_days{2025y / 3 / 12},
                                    Amount::from_minor(100),
                                    Amount::from_minor(800),
                                    Amount::from_minor(-700),
                                    engine::ObligationDirection::kPayIn,
                                    Amount::from_minor(700),
                                    3,
                                    config::FundingMode::kPostfunded};
    Outbound out = conv().to_wire(ob, kNow);
    expect_valid(out.messages[0]);
    EXPECT_EQ(out.messages[0].msg_type, "U5");
    EXPECT_EQ(field(out.messages[0], 7301), "SO-4-alpha-CNY");

    engine::HedgeOrder h{6,         4, 1, 0, true, Amount::from_minor(50000000), rate("7.1250"),
                         kNow + 30s};
    out = conv().to_wire(h, kNow);
    EXPECT_EQ(out.to, (Destination{Peer::kVenue, 1}));
    expect_valid(out.messages[0]);
    EXPECT_EQ(field(out.messages[0], 11), "HG-6");
    EXPECT_EQ(field(out.messages[0], 59), "3");
    expect_valid(conv().hedge_status_request(h));

    engine::PaymentOrder po;
    po.order_id = 3;
    po.cycle_id = 4;
    po.bank = 0;
    po.currency = cny;
    po.value_date = std::chrono::sys_days{2025y / 3 / 12};
    po.total = Amount::from_minor(1500000);
    po.lines.push_back(
        {9, kAlpha, {"bank-cn", "6222", "Widgets", "CN"}, Amount::from_minor(700000)});
    po.lines.push_back({10, 1, {"bank-cn", "6223", "Gadgets", "CN"}, Amount::from_minor(800000)});
    out = conv().to_wire(po, kNow);
    EXPECT_EQ(out.to, (Destination{Peer::kBank, 0}));
    expect_valid(out.messages[0]);
    EXPECT_EQ(field(out.messages[0], 7200), "PO-3");
    ASSERT_EQ(out.messages[0].groups.size(), 1u);
    EXPECT_EQ(out.messages[0].groups[0].entries.size(), 2u);

    // Round trip: the bank confirms line 0 and rejects line 1 of what we sent.
    WireMessage u4;
    u4.msg_type = "U4";
    u4.add(60, "20250310-09:30:15").add(7200, field(out.messages[0], 7200));
    u4.groups.push_back(WireGroup{
        7208,
        {{{7203, "0"}, {7209, "C"}, {7207, "B1"}}, {{7203, "1"}, {7209, "R"}, {7210, "AC01"}}}});
    Inbound in = conv().from_bank(0, u4, kNow);
    ASSERT_EQ(in.commands.size(), 2u);
    EXPECT_EQ(std::get<engine::BankLineRejection>(in.commands[0]).payment_order_id, 3u);
}

TEST_F(ConvertTest, MarketDataRequestCoversTheVenuesPairs) {
    const WireMessage v = conv().market_data_request(1, "MD-venue-b");
    expect_valid(v);
    const WireGroup* syms = v.find_group(146);
    ASSERT_NE(syms, nullptr);
    EXPECT_EQ(syms->entries.size(), config_.venues[1].pairs.size());
    const WireMessage all = conv().market_data_request(0, "MD-venue-a");
    EXPECT_EQ(all.find_group(146)->entries.size(), config_.pairs.size());
}

TEST_F(ConvertTest, InternalEventsGoNowhereAndSayWhy) {
    const engine::Event events[] = {
        engine::DepositCredited{},
        engine::LimitsChanged{},
        engine::CycleReport{},
        engine::SettlementReplyRejected{},
        engine::HoldBack{},
        engine::CommandRejected{engine::RequestKind::kDeposit, 0, "DEP-1", Reason::kUnknownBank,
                                "x"},
    };
    for (const auto& e : events) {
        Outbound out = conv().to_wire(e, kNow);
        EXPECT_EQ(out.to.peer, Peer::kNone);
        EXPECT_TRUE(out.messages.empty());
        EXPECT_FALSE(out.note.empty());
    }
}

}  // namespace
}  // namespace fxsettle::adapters::convert
