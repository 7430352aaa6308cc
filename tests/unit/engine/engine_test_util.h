// Test helpers for the engine: a small config, an engine whose every batch is committed
// to a real LMDB ledger in a temp directory (so that any operation the ledger refuses
// fails the test), builders for commands, and at the end of each test a check that the
// ledger's trial balance is zero per currency and that verify() passes.
#pragma once

#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "config/config.h"
#include "engine/core/codec.h"
#include "engine/core/engine.h"
#include "ledger/ledger.h"

namespace fxsettle::engine::testing {

using namespace std::chrono_literals;

inline constexpr PspIndex kAlpha = 0;  // prefunded, generous limits
inline constexpr PspIndex kBeta = 1;   // postfunded, 50,000.00 USD of credit
inline constexpr PspIndex kGamma = 2;  // prefunded, tight limits for the risk tests

inline std::string test_config(std::string_view book_orders_max = "1000") {
    const std::string hash =
        "pbkdf2-sha256$1000$00112233445566778899aabbccddeeff$"
        "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    auto psp = [&](std::string id, std::string mode, std::string extra) {
        return "[[psps]]\nid = \"" + id + "\"\nname = \"" + id + "\"\nsender_comp_id = \"" + id +
               "X\"\nusername = \"" + id + "\"\npassword_hash = \"" + hash +
               "\"\nspread_bps = 25\nfunding_mode = \"" + mode + "\"\n" + extra + "\n";
    };
    std::string text = "[node]\nname = \"engine-test\"\n\n[engine]\nbook_orders_max = " +
                       std::string(book_orders_max) +
                       "\nquote_ttl_ms = 5000\nfx_buffer_bps = 200\n\n";
    text += R"([[pairs]]
symbol = "USD/CNY"
tick = "0.0001"
min_qty = "100.00"

[[pairs]]
symbol = "EUR/USD"
tick = "0.0001"
min_qty = "100.00"

[[pairs]]
symbol = "GBP/USD"
tick = "0.0001"
min_qty = "100.00"

)";
    const std::string wide =
        "net_debit_caps = { USD = \"10000000.00\", CNY = \"100000000.00\", EUR = "
        "\"10000000.00\" }\naggregate_cap = { amount = \"50000000.00\", currency = \"USD\" }\n"
        "short_position_limits = { USD = \"10000000.00\", CNY = \"100000000.00\", EUR = "
        "\"10000000.00\" }";
    text += psp("alpha", "prefunded", wide);
    text += psp("beta", "postfunded", "credit_limits = { USD = \"50000.00\" }\n" + wide);
    text += psp("gamma", "prefunded",
                "net_debit_caps = { USD = \"1000.00\", EUR = \"1000.00\" }\n"
                "aggregate_cap = { amount = \"1500.00\", currency = \"USD\" }\n"
                "short_position_limits = { USD = \"500.00\" }");
    text += R"([[cycles]]
currency = "USD"
cutoffs = ["21:00"]

[[cycles]]
currency = "CNY"
cutoffs = ["21:30"]

[[cycles]]
currency = "EUR"
cutoffs = ["22:00"]

[[venues]]
id = "venue-a"
host = "127.0.0.1"
port = 9881
sender_comp_id = "FXSETTLE"
target_comp_id = "VENUEA"
rate_stale_ms = 60000

[[banks]]
id = "bank-a"
host = "127.0.0.1"
port = 9891
sender_comp_id = "FXSETTLE"
target_comp_id = "BANKA"
currencies = ["USD", "CNY", "EUR"]

[[banks]]
id = "bank-cn"
host = "127.0.0.1"
port = 9892
sender_comp_id = "FXSETTLE"
target_comp_id = "BANKCN"
currencies = ["CNY"]
)";
    return text;
}

// Tuesday 10 March 2026, 10:00 UTC: a business day of USD, CNY and EUR.
inline const ledger::Timestamp kT0 =
    ledger::Timestamp(std::chrono::sys_days(std::chrono::year{2026} / 3 / 10)) + 10h;

inline ledger::Date day(int y, unsigned m, unsigned d) {
    return ledger::Date(std::chrono::year{y} / m / d);
}

// The reason of a rejection event, or nullopt for any other event.
inline std::optional<Reason> reason_of(const Event& event) {
    if (const auto* e = std::get_if<OrderRejected>(&event))
        return e->reason;
    if (const auto* e = std::get_if<QuoteRejected>(&event))
        return e->reason;
    if (const auto* e = std::get_if<PayoutRejected>(&event))
        return e->reason;
    if (const auto* e = std::get_if<CommandRejected>(&event))
        return e->reason;
    return std::nullopt;
}
inline std::string text_of(const Event& event) {
    if (const auto* e = std::get_if<OrderRejected>(&event))
        return e->text;
    if (const auto* e = std::get_if<QuoteRejected>(&event))
        return e->text;
    if (const auto* e = std::get_if<PayoutRejected>(&event))
        return e->text;
    if (const auto* e = std::get_if<CommandRejected>(&event))
        return e->text;
    return {};
}

struct LoggedBatch {
    ledger::Timestamp now{};
    std::vector<Command> commands;
};

class EngineTest : public ::testing::Test {
  protected:
    void SetUp() override { start(test_config()); }

    void start(const std::string& config_text) {
        auto config = config::load_config_string(config_text, "engine-test.toml");
        ASSERT_TRUE(config.has_value()) << config.error().to_string();
        config_ = *config;
        auto engine = Engine::create(config_);
        ASSERT_TRUE(engine.has_value()) << engine.error().to_string();
        engine_ = std::make_unique<Engine>(std::move(*engine));
        if (dir_.empty()) {
            std::string pattern =
                (std::filesystem::temp_directory_path() / "fxsettle-engine-XXXXXX").string();
            ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
            dir_ = pattern;
        }
        ledger_.reset();
        std::filesystem::remove(dir_ / "ledger");
        std::filesystem::remove(dir_ / "ledger-lock");
        ledger::OpenOptions options;
        options.path = dir_ / "ledger";
        auto ledger = ledger::Ledger::open(options);
        ASSERT_TRUE(ledger.has_value()) << ledger.error().to_string();
        ledger_ = std::move(*ledger);
        const auto ops = engine_->initial_operations();
        auto results = ledger_->commit(ops, kT0 - 1h);
        ASSERT_TRUE(results.has_value()) << results.error().to_string();
        for (const auto& r : *results) {
            ASSERT_TRUE(ledger::is_success(r.code)) << r.detail;
        }
        log_.clear();
        now_ = kT0;
    }

    void TearDown() override {
        if (ledger_) {
            auto view = ledger_->read();
            ASSERT_TRUE(view.has_value());
            auto rows = (*view)->trial_balance();
            ASSERT_TRUE(rows.has_value());
            for (const auto& row : *rows) {
                EXPECT_EQ(row.debits_posted, row.credits_posted) << row.currency.to_string();
                EXPECT_EQ(row.debits_pending, row.credits_pending) << row.currency.to_string();
            }
            auto report = (*view)->verify();
            ASSERT_TRUE(report.has_value());
            EXPECT_TRUE(report->ok) << report->failure;
        }
        ledger_.reset();
        if (!dir_.empty())
            std::filesystem::remove_all(dir_);
    }

    // Applies one batch at `at` (default now_), commits it to the ledger (every operation
    // must succeed) and returns its events.
    std::vector<Event> run(std::vector<Command> commands,
                           std::optional<ledger::Timestamp> at = std::nullopt) {
        BatchOutput<Event> out;
        const ledger::Timestamp when = at.value_or(now_);
        const Status status = engine_->apply(commands, when, out);
        EXPECT_TRUE(status.is_ok()) << status.to_string();
        auto results = ledger_->commit(out.operations, when, out.state);
        EXPECT_TRUE(results.has_value()) << results.error().to_string();
        if (results) {
            for (std::size_t i = 0; i < results->size(); ++i) {
                EXPECT_TRUE(ledger::is_success((*results)[i].code))
                    << "operation " << i << ": " << ledger::result_code_name((*results)[i].code)
                    << " " << (*results)[i].detail;
            }
        }
        for (const auto& event : out.events) {
            // Every event survives the outbox encoding.
            auto decoded = Engine::decode_event(Engine::encode_event(event));
            EXPECT_TRUE(decoded.has_value()) << decoded.error().to_string();
            if (decoded) {
                EXPECT_TRUE(*decoded == event);
            }
        }
        log_.push_back(LoggedBatch{when, std::move(commands)});
        last_operations_ = std::move(out.operations);
        last_state_ = std::move(out.state);
        return out.events;
    }
    std::vector<Event> run1(Command command, std::optional<ledger::Timestamp> at = std::nullopt) {
        return run({std::move(command)}, at);
    }

    // Applies `command` alone, expects one rejection event with `reason` and a text, and
    // that the state hash did not change.
    void expect_rejected(Command command, Reason reason) {
        const auto before = engine_->state_hash();
        const auto events = run1(std::move(command));
        ASSERT_EQ(events.size(), 1u);
        const auto got = reason_of(events[0]);
        ASSERT_TRUE(got.has_value()) << "event " << events[0].index() << " is not a rejection";
        EXPECT_EQ(*got, reason) << reason_name(*got) << ": " << text_of(events[0]);
        EXPECT_FALSE(text_of(events[0]).empty());
        EXPECT_EQ(engine_->state_hash(), before) << "a rejected command changed the state";
        EXPECT_TRUE(last_operations_.empty());
    }

    money::Currency ccy(std::string_view code) const { return *config_.currency_table.find(code); }
    CurrencyIndex ci(std::string_view code) const { return *engine_->chart().currency_index(code); }
    money::Amount amt(std::string_view text, std::string_view code) const {
        auto a = money::parse_amount(text, ccy(code));
        EXPECT_TRUE(a.has_value()) << text;
        return a.value_or(money::Amount{});
    }
    money::Money mon(std::string_view text, std::string_view code) const {
        return money::Money{amt(text, code), ccy(code)};
    }
    money::CurrencyPair pair(std::string_view base, std::string_view quote) const {
        return money::CurrencyPair{ccy(base), ccy(quote)};
    }
    money::Rate rate(std::string_view base, std::string_view quote, std::string_view text) const {
        auto r = money::Rate::parse(pair(base, quote), text);
        EXPECT_TRUE(r.has_value()) << text;
        return *r;
    }
    PspBalances bal(PspIndex psp, std::string_view code) const {
        return engine_->balances(psp, ci(code));
    }

    Command deposit(PspIndex psp, std::string id, std::string_view amount, std::string_view code,
                    BankIndex bank = 0) const {
        return Deposit{psp, std::move(id), bank, mon(amount, code)};
    }
    NewOrder limit(PspIndex psp, std::string id, book::Side side, std::string_view qty,
                   std::string_view price, book::TimeInForce tif = book::TimeInForce::kGtc) const {
        NewOrder o;
        o.psp = psp;
        o.client_id = std::move(id);
        o.pair = pair("USD", "CNY");
        o.side = side;
        o.type = book::OrderType::kLimit;
        o.tif = tif;
        o.price = rate("USD", "CNY", price);
        o.quantity = amt(qty, "USD");
        return o;
    }
    NewOrder market(PspIndex psp, std::string id, book::Side side, std::string_view qty,
                    book::TimeInForce tif = book::TimeInForce::kIoc) const {
        NewOrder o = limit(psp, std::move(id), side, qty, "1", tif);
        o.type = book::OrderType::kMarket;
        o.price.reset();
        return o;
    }
    Command venue_rate(std::string_view base, std::string_view quote, std::string_view bid,
                       std::string_view ask,
                       std::optional<ledger::Timestamp> at = std::nullopt) const {
        return VenueRate{0,
                         pair(base, quote),
                         rate(base, quote, bid),
                         rate(base, quote, ask),
                         amt("1000000.00", base),
                         amt("1000000.00", base),
                         at.value_or(now_)};
    }
    PayoutInstruction payout(PspIndex psp, std::string id, std::string_view amount,
                             std::string_view code, std::string_view funding) const {
        PayoutInstruction p;
        p.psp = psp;
        p.client_id = std::move(id);
        p.beneficiary = Beneficiary{"bank-a", "DE89370400440532013000", "Li Wei Trading", "CN"};
        p.amount = mon(amount, code);
        p.funding_currency = ccy(funding);
        p.purpose = "goods";
        p.reference = "INV-1";
        return p;
    }

    config::Config config_;
    std::unique_ptr<Engine> engine_;
    std::filesystem::path dir_;
    std::unique_ptr<ledger::Ledger> ledger_;
    ledger::Timestamp now_ = kT0;
    std::vector<LoggedBatch> log_;
    std::vector<ledger::Operation> last_operations_;
    std::vector<ledger::AuxWrite> last_state_;
};

// The event as T; a mismatch throws, which fails the test (gtest catches it).
template <typename T>
const T& as(const Event& event) {
    const T* value = std::get_if<T>(&event);
    if (value == nullptr)
        throw std::runtime_error("event alternative " + std::to_string(event.index()) +
                                 " is not the one expected");
    return *value;
}

}  // namespace fxsettle::engine::testing
