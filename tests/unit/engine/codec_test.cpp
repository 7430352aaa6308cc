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
        OrderRejected{kAlpha, "o", "orig", RequestKind::kReplace, Reason::kUnknownOrder,
                      "no order"},
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
    const Event event =
        OrderRejected{kAlpha, "o", "", RequestKind::kNewOrder, Reason::kPriceInvalid, "x"};
    const std::string bytes = Engine::encode_event(event);
    auto expect_error = [](const std::string& input, std::string_view what) {
        auto decoded = Engine::decode_event(input);
        ASSERT_FALSE(decoded.has_value());
        EXPECT_EQ(decoded.error().code(), StatusCode::kCorruption);
        EXPECT_NE(decoded.error().message().find(what), std::string::npos)
            << decoded.error().message();
    };
    expect_error("", "truncated");
    expect_error(bytes.substr(0, bytes.size() - 1), "exceeds the bytes left");
    expect_error(bytes.substr(0, 3), "truncated");
    expect_error(bytes + "x", "trailing");
    std::string version = bytes;
    version[0] = 9;
    expect_error(version, "version");
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

}  // namespace
}  // namespace fxsettle::engine::testing
