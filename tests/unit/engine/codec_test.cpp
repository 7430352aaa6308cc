// The binary encoding of commands, events and command batches: round trips of every
// command alternative and of events, and a clear error for every kind of bad input.
#include <gtest/gtest.h>

#include <set>

#include "engine/core/codec.h"
#include "tests/unit/engine/engine_test_util.h"

namespace fxsettle::engine::testing {
namespace {

class CodecTest : public EngineTest {
  protected:
    std::vector<Command> every_command() const {
        auto order =
            limit(kAlpha, "o1", book::Side::kBuy, "123.45", "7.1234", book::TimeInForce::kDay);
        order.value_date = calendar::ValueDateRequest{calendar::Tenor::kBroken, day(2026, 3, 13),
                                                      calendar::Roll::kFollowing};
        auto p = payout(kBeta, "p1", "99.99", "USD", "CNY");
        p.quote_id = 77;
        p.payee_psp = kGamma;
        RiskLimits limits = risk_limits(config_.psps[kAlpha]);
        return {deposit(kAlpha, "d1", "1000.00", "USD"),
                order,
                market(kBeta, "m1", book::Side::kSell, "100.00", book::TimeInForce::kFok),
                CancelOrder{kAlpha, "c1", "o1"},
                ReplaceOrder{kAlpha, "r1", "o1", rate("USD", "CNY", "7.2"), amt("500.00", "USD")},
                OrderStatusRequest{kAlpha, "s1", "o1"},
                QuoteRequest{kGamma, "q1", ccy("CNY"), ccy("USD"), mon("10.00", "USD"), {}},
                p,
                PositionRequest{kAlpha, "pos", ccy("EUR")},
                venue_rate("EUR", "USD", "1.08", "1.09"),
                HedgeFill{0, 12, "ex-1", amt("-5.00", "USD"), rate("USD", "CNY", "7.1"), true},
                HedgeReject{0, 12, "no liquidity"},
                BankConfirmation{1, 3, "BANKREF"},
                BankLineRejection{1, 3, 2, "account closed"},
                SetLimits{kBeta, "l1", "ops", limits},
                BankLineConfirmation{1, 3, 1, "BANKREF-1"}};
    }
};

TEST_F(CodecTest, EveryCommandRoundTrips) {
    const auto commands = every_command();
    std::set<std::size_t> alternatives;
    for (const auto& command : commands)
        alternatives.insert(command.index());
    EXPECT_EQ(alternatives.size(), std::variant_size_v<Command>);
    for (std::size_t i = 0; i < commands.size(); ++i) {
        const std::string bytes = codec::encode(commands[i]);
        auto decoded = codec::decode_command(bytes);
        ASSERT_TRUE(decoded.has_value()) << i << ": " << decoded.error().to_string();
        EXPECT_TRUE(*decoded == commands[i]) << i;
    }
    const std::string batch = codec::encode_batch(kT0, commands);
    auto decoded = codec::decode_batch(batch);
    ASSERT_TRUE(decoded.has_value()) << decoded.error().to_string();
    EXPECT_EQ(decoded->now, kT0);
    EXPECT_TRUE(decoded->commands == commands);
}

TEST_F(CodecTest, EventsRoundTrip) {
    // run() checks the outbox encoding of every event it sees; these add a few by hand.
    std::vector<Event> events{
        OrderRejected{kAlpha, "o", "orig", RequestKind::kReplace, Reason::kUnknownOrder, "no order",
                      std::nullopt, std::nullopt, std::nullopt, std::nullopt},
        PositionReport{
            kAlpha,
            "p",
            {PositionLine{ccy("USD"), amt("1.00", "USD"), amt("2.00", "USD"), amt("3.00", "USD"),
                          -amt("4.00", "USD"), amt("5.00", "USD"), amt("1.00", "USD")}},
            mon("10.00", "USD"),
            std::nullopt},
        HoldBack{1,
                 kBeta,
                 2,
                 HoldBackReason::kAggregateCap,
                 mon("1.00", "USD"),
                 mon("2.00", "USD"),
                 {1, 2, 3},
                 {4},
                 "over"},
        PaymentOrder{5,
                     1,
                     0,
                     2,
                     day(2026, 3, 10),
                     amt("12.00", "USD"),
                     {PaymentLine{9, kAlpha, Beneficiary{"bank-a", "acc", "name", "CN"},
                                  amt("12.00", "USD")}}}};
    for (const auto& event : events) {
        auto decoded = Engine::decode_event(Engine::encode_event(event));
        ASSERT_TRUE(decoded.has_value()) << decoded.error().to_string();
        EXPECT_TRUE(*decoded == event) << event.index();
    }
}

TEST_F(CodecTest, BadBytesAreRefusedWithTheReason) {
    const Event event = OrderRejected{
        kAlpha, "o", "", RequestKind::kNewOrder, Reason::kPriceInvalid, "x", std::nullopt,
        {},     {},  {}};
    const std::string bytes = Engine::encode_event(event);
    auto expect_error = [](const std::string& input, std::string_view what) {
        auto decoded = Engine::decode_event(input);
        ASSERT_FALSE(decoded.has_value());
        EXPECT_EQ(decoded.error().code(), StatusCode::kCorruption);
        EXPECT_NE(decoded.error().message().find(what), std::string::npos)
            << decoded.error().message();
    };
    expect_error("", "truncated");
    expect_error(bytes.substr(0, bytes.find('x')), "exceeds the bytes left");  // the text
    expect_error(bytes.substr(0, bytes.size() - 1), "truncated");  // the state's presence
    expect_error(bytes.substr(0, 3), "truncated");
    expect_error(bytes + "x", "trailing");
    std::string version = bytes;
    for (const char v : {0, codec::kVersion + 1, 9}) {
        version[0] = v;
        expect_error(version, "version");
    }
    std::string alternative = bytes;
    alternative[1] = 0x7F;
    expect_error(alternative, "alternative");
    // Byte 6 is the request kind: version, alternative, psp, "o" (2 bytes), "" (1).
    std::string bad_enum = bytes;
    bad_enum[6] = 0x05;  // RequestKind 5 is valid: kQuote
    EXPECT_TRUE(Engine::decode_event(bad_enum).has_value());
    bad_enum[6] = 0x63;  // 99: no such request kind
    expect_error(bad_enum, "enum");
    auto command = codec::decode_command(std::string("\x01\x01", 2));
    ASSERT_FALSE(command.has_value());
    EXPECT_EQ(command.error().code(), StatusCode::kCorruption);
}

// Version 2 added the pair and side that the gateway's reports need (codec.h).
TEST_F(CodecTest, PairAndSideOfOrderAndQuoteOutcomesRoundTrip) {
    const auto usdcny = pair("USD", "CNY");
    std::vector<Event> events{
        OrderRejected{kAlpha, "o", "", RequestKind::kNewOrder, Reason::kInsufficientFunds, "funds",
                      usdcny, book::Side::kSell, std::nullopt, std::nullopt},
        OrderRejected{kAlpha, "s", "o", RequestKind::kOrderStatus, Reason::kUnknownOrder, "none",
                      std::nullopt, std::nullopt, std::nullopt, std::nullopt},
        OrderCancelled{kAlpha, "o", "o", 11, book::CancelReason::kExpired, amt("3.00", "USD"),
                       amt("1.00", "USD"), mon("3.00", "USD"), usdcny, book::Side::kBuy},
        OrderCancelled{kAlpha, "o", "o", 11, book::CancelReason::kRequested, amt("3.00", "USD"),
                       amt("1.00", "USD"), mon("3.00", "USD"), std::nullopt, std::nullopt},
        OrderReplaced{kAlpha, "r", "o", 11, rate("USD", "CNY", "7.12"), amt("5.00", "USD"),
                      amt("4.00", "USD"), true, mon("4.00", "USD"), book::Side::kSell},
        QuoteRejected{kAlpha, "q", Reason::kNoRate, "no rate", usdcny},
        QuoteRejected{kAlpha, "q", Reason::kUnknownPair, "no pair", std::nullopt}};
    for (const auto& event : events) {
        const std::string bytes = Engine::encode_event(event);
        EXPECT_EQ(bytes[0], static_cast<char>(codec::kVersion));
        auto decoded = Engine::decode_event(bytes);
        ASSERT_TRUE(decoded.has_value()) << decoded.error().to_string();
        EXPECT_TRUE(*decoded == event) << "event " << event.index() << " changed in a round trip";
    }
}

// Version 2 also carries the id and state of the order a refused cancel, replace or status
// request names (the OrderID and OrdStatus of an OrderCancelReject); OrderState is an enum
// like the others: LEB128 on the wire, an unknown value refused.
TEST_F(CodecTest, OrderIdAndStateOfARefusedCancelRoundTrip) {
    const auto usdcny = pair("USD", "CNY");
    const auto refused = [&](std::optional<std::uint64_t> id, std::optional<OrderState> state) {
        return OrderRejected{kAlpha,
                             "CXL-1",
                             "ORD-1",
                             RequestKind::kCancel,
                             Reason::kOrderDone,
                             "done",
                             usdcny,
                             book::Side::kBuy,
                             id,
                             state};
    };
    for (const OrderState state :
         {OrderState::kNew, OrderState::kPartiallyFilled, OrderState::kFilled,
          OrderState::kCancelled, OrderState::kReplaced, OrderState::kExpired}) {
        const Event event = refused(std::uint64_t{1} << 40, state);
        const std::string bytes = Engine::encode_event(event);
        EXPECT_EQ(bytes[0], static_cast<char>(codec::kVersion));
        auto decoded = Engine::decode_event(bytes);
        ASSERT_TRUE(decoded.has_value()) << decoded.error().to_string();
        EXPECT_TRUE(*decoded == event)
            << "state " << static_cast<int>(state) << " changed in a round trip";
    }
    const Event unknown = refused(std::nullopt, std::nullopt);
    auto decoded = Engine::decode_event(Engine::encode_event(unknown));
    ASSERT_TRUE(decoded.has_value()) << decoded.error().to_string();
    EXPECT_TRUE(*decoded == unknown) << "an order the engine does not know came back with an id";

    // The state is the last byte: OrdStatus 'C' (12) is kExpired; 3 names no state.
    std::string bytes = Engine::encode_event(refused(11, OrderState::kExpired));
    ASSERT_EQ(bytes.back(), 12);
    bytes.back() = 3;
    decoded = Engine::decode_event(bytes);
    ASSERT_FALSE(decoded.has_value()) << "order state 3 was accepted";
    EXPECT_NE(decoded.error().message().find("enum"), std::string::npos)
        << decoded.error().message();
}

// Outbox rows written by a daemon before the upgrade (version 1, without pair and side)
// still decode. The rows are built field by field here, as version 1 laid them out, not
// by the encoder.
TEST_F(CodecTest, VersionOneRowsOfOrderAndQuoteOutcomesDecodeWithoutPairOrSide) {
    using namespace std::string_literals;
    const auto put_currency = [](codec::Writer& w, const money::Currency& c) {
        for (const char letter : c.code)
            w.u8(static_cast<std::uint8_t>(letter));
        w.uvarint(c.numeric);
        w.u8(c.exponent);
    };
    const auto put_money = [&](codec::Writer& w, const money::Money& m) {
        w.int128(m.amount.minor());
        put_currency(w, m.currency);
    };
    const auto expect_decodes_to = [](const std::string& row, const Event& expected) {
        auto decoded = Engine::decode_event(row);
        ASSERT_TRUE(decoded.has_value()) << decoded.error().to_string();
        EXPECT_TRUE(*decoded == expected)
            << "the version-1 row of event " << expected.index() << " decoded to another event";
        // Written again, it is a row of the current version.
        EXPECT_EQ(Engine::encode_event(*decoded)[0], codec::kVersion);
    };

    // OrderRejected (alternative 1): version 1, psp 0, "ORD-1", "", kNewOrder (1),
    // kInsufficientFunds (300 = 0xAC 0x02), "no funds".
    expect_decodes_to(
        "\x01\x01\x00\x05ORD-1\x00\x01\xac\x02\x08no funds"s,
        OrderRejected{kAlpha, "ORD-1", "", RequestKind::kNewOrder, Reason::kInsufficientFunds,
                      "no funds", std::nullopt, std::nullopt, std::nullopt, std::nullopt});
    // A refused replace of a known order (kReplaceQuantityInvalid, 206 = 0xCE 0x01): no
    // pair, side, order id or state in version 1.
    expect_decodes_to("\x01\x01\x00\x05RPL-1\x05ORD-1\x03\xce\x01\x04less"s,
                      OrderRejected{kAlpha, "RPL-1", "ORD-1", RequestKind::kReplace,
                                    Reason::kReplaceQuantityInvalid, "less", std::nullopt,
                                    std::nullopt, std::nullopt, std::nullopt});
    // QuoteRejected (alternative 7): psp 0, "RFQ-1", kNoRate (600 = 0xD8 0x04), "no rate".
    expect_decodes_to("\x01\x07\x00\x05RFQ-1\xd8\x04\x07no rate"s,
                      QuoteRejected{kAlpha, "RFQ-1", Reason::kNoRate, "no rate", std::nullopt});

    // OrderCancelled (alternative 3): an expiry.
    const OrderCancelled cancelled{kAlpha,
                                   "ORD-1",
                                   "ORD-1",
                                   11,
                                   book::CancelReason::kExpired,
                                   amt("600.00", "USD"),
                                   amt("400.00", "USD"),
                                   mon("600.00", "USD"),
                                   std::nullopt,
                                   std::nullopt};
    std::string row;
    codec::Writer w(row);
    w.u8(1);
    w.uvarint(3);
    w.uvarint(kAlpha);
    w.bytes("ORD-1");
    w.bytes("ORD-1");
    w.uvarint(11);
    w.uvarint(5);  // kExpired
    w.int128(60000);
    w.int128(40000);
    put_money(w, mon("600.00", "USD"));
    expect_decodes_to(row, cancelled);

    // OrderReplaced (alternative 4).
    const money::Rate price = rate("USD", "CNY", "7.1200");
    const OrderReplaced replaced{kAlpha,
                                 "RPL-1",
                                 "ORD-1",
                                 11,
                                 price,
                                 amt("2000.00", "USD"),
                                 amt("1600.00", "USD"),
                                 false,
                                 mon("11392.00", "CNY"),
                                 std::nullopt};
    row.clear();
    w.u8(1);
    w.uvarint(4);
    w.uvarint(kAlpha);
    w.bytes("RPL-1");
    w.bytes("ORD-1");
    w.uvarint(11);
    put_currency(w, ccy("USD"));
    put_currency(w, ccy("CNY"));
    w.int128(price.mantissa());
    w.int128(200000);
    w.int128(160000);
    w.u8(0);
    put_money(w, mon("11392.00", "CNY"));
    expect_decodes_to(row, replaced);

    // A version-1 row cut short is still refused.
    EXPECT_FALSE(Engine::decode_event("\x01\x07\x00\x05RFQ-1\xd8\x04\x07no ra"s).has_value());
}

// Version 3 added the order's average fill price to OrderFilled (the gateway's AvgPx).
// A fill of a version-1 or version-2 outbox row has no average: those layouts end at
// value_date, without the optional's presence byte.
TEST_F(CodecTest, FillsCarryTheirAverageAndOlderRowsDecodeWithoutIt) {
    const OrderFilled fill{kAlpha,
                           "ORD-1",
                           11,
                           77,
                           pair("USD", "CNY"),
                           book::Side::kBuy,
                           rate("USD", "CNY", "7.13"),
                           amt("200.00", "USD"),
                           amt("1426.00", "CNY"),
                           amt("400.00", "USD"),
                           amt("600.00", "USD"),
                           false,
                           day(2026, 3, 12),
                           rate("USD", "CNY", "7.1256")};
    const std::string row = Engine::encode_event(fill);
    ASSERT_EQ(row[0], static_cast<char>(codec::kVersion));
    auto decoded = Engine::decode_event(row);
    ASSERT_TRUE(decoded.has_value()) << decoded.error().to_string();
    EXPECT_TRUE(*decoded == Event{fill}) << "a fill changed in a round trip";

    OrderFilled without = fill;
    without.avg_price.reset();
    std::string old = Engine::encode_event(without);
    ASSERT_EQ(old.back(), 0) << "the last byte is the absent average's presence byte";
    old.pop_back();
    for (const char version : {1, 2}) {
        old[0] = version;
        decoded = Engine::decode_event(old);
        ASSERT_TRUE(decoded.has_value())
            << "version " << int{version} << ": " << decoded.error().to_string();
        EXPECT_TRUE(*decoded == Event{without})
            << "the version-" << int{version} << " fill decoded to another event";
    }
    old[0] = static_cast<char>(codec::kVersion);
    EXPECT_FALSE(Engine::decode_event(old).has_value())
        << "a version-3 fill without its average's presence byte was read";
}

// Commands did not change in versions 2 and 3: a command log written by version 1 replays.
TEST_F(CodecTest, VersionOneCommandBatchesAndUnchangedEventsStillDecode) {
    const auto commands = every_command();
    std::string batch = codec::encode_batch(kT0, commands);
    ASSERT_EQ(batch[0], codec::kVersion);
    batch[0] = 1;
    auto decoded = codec::decode_batch(batch);
    ASSERT_TRUE(decoded.has_value()) << decoded.error().to_string();
    EXPECT_TRUE(decoded->commands == commands);
    std::string command = codec::encode(commands[1]);
    command[0] = 1;
    auto one = codec::decode_command(command);
    ASSERT_TRUE(one.has_value()) << one.error().to_string();
    EXPECT_TRUE(*one == commands[1]);
    batch[0] = 2;
    decoded = codec::decode_batch(batch);
    ASSERT_TRUE(decoded.has_value()) << decoded.error().to_string();
    EXPECT_TRUE(decoded->commands == commands) << "a version-2 command log did not replay";
    batch[0] = codec::kVersion + 1;
    EXPECT_FALSE(codec::decode_batch(batch).has_value()) << "a version from the future was read";

    const Event accepted = OrderAccepted{kAlpha,
                                         "ORD-1",
                                         11,
                                         pair("USD", "CNY"),
                                         book::Side::kBuy,
                                         book::OrderType::kLimit,
                                         book::TimeInForce::kDay,
                                         rate("USD", "CNY", "7.1"),
                                         amt("10.00", "USD"),
                                         day(2026, 3, 12),
                                         mon("71.00", "CNY")};
    std::string row = Engine::encode_event(accepted);
    row[0] = 1;
    auto event = Engine::decode_event(row);
    ASSERT_TRUE(event.has_value()) << event.error().to_string();
    EXPECT_TRUE(*event == accepted);
}

}  // namespace
}  // namespace fxsettle::engine::testing
