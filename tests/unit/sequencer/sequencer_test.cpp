// The sequencer against a small test engine and a real ledger file in a temp directory:
// events leave only after their batch is durable, batches respect batch_max, many
// producers lose nothing and keep their order, a full queue refuses, acknowledged rows
// are deleted and unacknowledged ones come back after a restart, a failed commit or apply
// stops everything and delivers nothing of its batch (a refused operation leaves nothing
// of its batch in the ledger either), timer ticks follow the clock, and stop() drains.
// Threads meet on conditions, never on sleeps; nothing asserts timing.
#include "engine/sequencer/sequencer.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <charconv>
#include <condition_variable>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "engine/money/amount.h"
#include "engine/money/currency.h"
#include "ledger/ledger.h"
#include "tests/support/split_marker.h"

namespace fxsettle::engine {
namespace {

using ledger::AccountId;
using ledger::EntryId;
using ledger::Timestamp;

constexpr std::chrono::milliseconds kWaitMax{60'000};  // a safety net, never a timing check

constexpr std::uint64_t kAccountFrom = 1;      // equity USD: credit-normal, may go negative
constexpr std::uint64_t kAccountTo = 2;        // PSP available USD
constexpr std::uint64_t kAccountMissing = 99;  // never created: the ledger refuses it

Timestamp at_s(std::int64_t seconds) {
    return Timestamp(std::chrono::seconds(seconds));
}

money::Currency usd() {
    return *money::CurrencyTable::iso().find("USD");
}

// ---- the test engine -------------------------------------------------------------------

// Moves `amount_minor` USD cents from kAccountFrom to kAccountTo.
struct Move {
    std::uint32_t producer = 0;
    std::uint64_t seq = 0;
    std::int64_t amount_minor = 1;
    bool reject = false;  // post to an account that does not exist: the ledger refuses it
    bool fail = false;    // apply() returns a failed Status
    std::optional<Timestamp> deadline;  // the engine's next deadline from now on
    std::uint32_t entries = 1;          // journal entries it posts (`amount_minor` each)
};

// What a Move (or a timer tick) did.
struct Moved {
    std::uint32_t producer = 0;
    std::uint64_t seq = 0;
    std::uint64_t entry = 0;  // the journal entry's id (lo); 0 for a tick
    std::int64_t amount_minor = 0;
    std::int64_t at_ns = 0;  // the batch's time
    bool tick = false;
    friend bool operator==(const Moved&, const Moved&) = default;
};

class CounterEngine {
  public:
    using Command = Move;
    using Event = Moved;

    explicit CounterEngine(std::uint64_t first_entry = 1,
                           std::optional<Timestamp> deadline = std::nullopt)
        : next_entry_(first_entry), deadline_(deadline) {}

    Status apply(std::span<const Move> commands, Timestamp now, BatchOutput<Moved>& out) {
        batch_sizes.push_back(commands.size());
        const std::int64_t at_ns = now.time_since_epoch().count();
        if (commands.empty()) {
            if (deadline_ && *deadline_ <= now) {
                deadline_.reset();
                out.events.push_back(Moved{.at_ns = at_ns, .tick = true});
            }
            return Status::ok();
        }
        for (const Move& m : commands) {
            if (m.fail) {
                return Status(StatusCode::kInternal, "test engine told to fail");
            }
            if (m.deadline) {
                deadline_ = m.deadline;
            }
            const std::uint64_t entry = next_entry_;
            for (std::uint32_t n = 0; n < m.entries; ++n) {
                ledger::EntryRequest q;
                q.id = EntryId{0, next_entry_++};
                q.value_date = ledger::Date(std::chrono::days(19000));
                q.reference = "move " + std::to_string(m.producer) + "/" + std::to_string(m.seq);
                const money::Money amount{money::Amount::from_minor(m.amount_minor), usd()};
                q.postings = {
                    ledger::Posting{AccountId{0, kAccountFrom}, ledger::Side::kDebit, amount},
                    ledger::Posting{AccountId{0, m.reject ? kAccountMissing : kAccountTo},
                                    ledger::Side::kCredit, amount}};
                out.operations.push_back(ledger::Operation{std::move(q), false});
            }
            out.events.push_back(Moved{m.producer, m.seq, entry, m.amount_minor, at_ns, false});
        }
        out.state.push_back(ledger::AuxWrite{ledger::AuxTable::kState, "counter/next_entry",
                                             std::to_string(next_entry_)});
        return Status::ok();
    }

    std::optional<Timestamp> next_deadline() const { return deadline_; }

    static std::string encode_event(const Moved& e) {
        return std::to_string(e.producer) + "," + std::to_string(e.seq) + "," +
               std::to_string(e.entry) + "," + std::to_string(e.amount_minor) + "," +
               std::to_string(e.at_ns) + "," + (e.tick ? "1" : "0");
    }

    static Result<Moved> decode_event(std::string_view bytes) {
        std::int64_t f[6] = {};
        const char* p = bytes.data();
        const char* end = bytes.data() + bytes.size();
        for (int i = 0; i < 6; ++i) {
            const auto [next, ec] = std::from_chars(p, end, f[i]);
            if (ec != std::errc() || (i < 5 && (next == end || *next != ',')) ||
                (i == 5 && next != end)) {
                return fail(StatusCode::kCorruption, "bad test event '" + std::string(bytes) + "'");
            }
            p = next + 1;
        }
        return Moved{static_cast<std::uint32_t>(f[0]),
                     static_cast<std::uint64_t>(f[1]),
                     static_cast<std::uint64_t>(f[2]),
                     f[3],
                     f[4],
                     f[5] != 0};
    }

    // Read only after the sequencer stopped (the thread is joined).
    std::vector<std::size_t> batch_sizes;

  private:
    std::uint64_t next_entry_;
    std::optional<Timestamp> deadline_;
};
static_assert(SequencedEngine<CounterEngine>);

using TestSequencer = Sequencer<CounterEngine>;

// ---- test plumbing ---------------------------------------------------------------------

class ManualClock {
  public:
    explicit ManualClock(Timestamp t) : ns_(t.time_since_epoch().count()) {}
    Timestamp now() const { return Timestamp(std::chrono::nanoseconds(ns_.load())); }
    void set(Timestamp t) { ns_.store(t.time_since_epoch().count()); }
    Clock clock() {
        return [this] { return now(); };
    }

  private:
    std::atomic<std::int64_t> ns_;
};

// Records deliveries; optionally checks the ledger inside the callback, blocks on a gate,
// and acknowledges what it got.
class RecordingSink : public EventSink<Moved> {
  public:
    void deliver(std::span<const Delivery<Moved>> deliveries) override {
        {
            std::unique_lock lock(mu_);
            ++inside_;
            cv_.notify_all();
            cv_.wait(lock, [this] { return gate_open_; });
            --inside_;
        }
        if (ledger != nullptr) {
            check_durable(deliveries);
        }
        std::vector<std::uint64_t> ids;
        {
            std::lock_guard lock(mu_);
            calls_.push_back(deliveries.size());
            for (const Delivery<Moved>& d : deliveries) {
                got_.push_back(d);
                ids.push_back(d.outbox_id);
            }
            cv_.notify_all();
        }
        if (acknowledge_to != nullptr) {
            EXPECT_TRUE(acknowledge_to->acknowledge(ids).is_ok());
        }
    }

    void close_gate() {
        std::lock_guard lock(mu_);
        gate_open_ = false;
    }
    void open_gate() {
        std::lock_guard lock(mu_);
        gate_open_ = true;
        cv_.notify_all();
    }
    // Until the sequencer thread waits at the closed gate.
    bool wait_blocked() {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, kWaitMax, [this] { return inside_ > 0; });
    }
    bool wait_for(std::size_t count) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, kWaitMax, [&] { return got_.size() >= count; });
    }
    bool wait_until(const std::function<bool(const std::vector<Delivery<Moved>>&)>& pred) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, kWaitMax, [&] { return pred(got_); });
    }
    std::vector<Delivery<Moved>> got() const {
        std::lock_guard lock(mu_);
        return got_;
    }
    std::vector<std::size_t> calls() const {
        std::lock_guard lock(mu_);
        return calls_;
    }
    int durability_misses() const { return misses_.load(); }

    ledger::Ledger* ledger = nullptr;         // set: check each batch is in the ledger
    TestSequencer* acknowledge_to = nullptr;  // set: acknowledge every delivery

  private:
    // Everything delivered must already be committed: the journal entry and the outbox
    // row (with this very event) are visible to a fresh reader.
    void check_durable(std::span<const Delivery<Moved>> deliveries) {
        auto view = ledger->read();
        ASSERT_TRUE(view.has_value());
        for (const Delivery<Moved>& d : deliveries) {
            if (!d.event.tick) {
                auto entry = (*view)->entry(EntryId{0, d.event.entry});
                if (!entry || !*entry) {
                    ++misses_;
                }
            }
            auto row = (*view)->aux_get(ledger::AuxTable::kOutbox, outbox_key("o/", d.outbox_id));
            if (!row || !*row || **row != CounterEngine::encode_event(d.event)) {
                ++misses_;
            }
        }
    }

    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<Delivery<Moved>> got_;
    std::vector<std::size_t> calls_;
    bool gate_open_ = true;
    int inside_ = 0;
    std::atomic<int> misses_{0};
};

class SequencerTest : public ::testing::Test {
  protected:
    void SetUp() override {
        std::string templ =
            (std::filesystem::temp_directory_path() / "fxsettle-seq-test-XXXXXX").string();
        ASSERT_NE(::mkdtemp(templ.data()), nullptr);
        dir_ = templ;
        open_ledger();
        ledger::Account from{
            AccountId{0, kAccountFrom}, "house", usd(), ledger::AccountKind::kEquity, 0,
            "house/equity/USD",         "equity"};
        ledger::Account to{
            AccountId{0, kAccountTo}, "PSP1", usd(), ledger::AccountKind::kPspAvailable, 0,
            "PSP1/available/USD",     "psp"};
        const std::vector<ledger::Operation> ops = {
            ledger::Operation{ledger::CreateAccount{from}, false},
            ledger::Operation{ledger::CreateAccount{to}, false}};
        auto r = ledger_->commit(ops, at_s(1));
        ASSERT_TRUE(r.has_value());
        for (const ledger::OpResult& res : *r) {
            ASSERT_EQ(res.code, ledger::ResultCode::kOk) << res.detail;
        }
    }

    void TearDown() override {
        ledger_.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }

    void open_ledger() {
        ledger::OpenOptions o;
        o.path = dir_ / "ledger.mdb";
        o.map_size_initial_bytes = 1ull << 20;
        auto l = ledger::Ledger::open(o);
        ASSERT_TRUE(l.has_value()) << l.error().to_string();
        ledger_ = std::move(*l);
    }

    // Room for tens of thousands of entries.
    void open_ledger_large() {
        ledger_.reset();
        ledger::OpenOptions o;
        o.path = dir_ / "ledger.mdb";
        o.map_size_initial_bytes = 64ull << 20;
        auto l = ledger::Ledger::open(o);
        ASSERT_TRUE(l.has_value()) << l.error().to_string();
        ledger_ = std::move(*l);
    }

    // A sequencer on the test's ledger, or on `on` (a wrapper of it).
    std::unique_ptr<TestSequencer> make(CounterEngine& engine, RecordingSink& sink,
                                        SequencerOptions options = {},
                                        ledger::Ledger* on = nullptr) {
        auto s = TestSequencer::create(engine, on ? *on : *ledger_, clock_.clock(), sink, options);
        EXPECT_TRUE(s.has_value()) << s.error().to_string();
        return s ? std::move(*s) : nullptr;
    }

    std::map<std::uint64_t, std::string> outbox_rows() {
        auto view = ledger_->read();
        EXPECT_TRUE(view.has_value());
        auto rows = (*view)->aux_scan(ledger::AuxTable::kOutbox, "o/", 1'000'000);
        EXPECT_TRUE(rows.has_value());
        std::map<std::uint64_t, std::string> out;
        for (auto& [key, value] : *rows) {
            if (auto id = parse_outbox_key("o/", key)) {
                out.emplace(*id, value);
            }
        }
        return out;
    }

    std::optional<ledger::Entry> entry(std::uint64_t id) {
        auto view = ledger_->read();
        EXPECT_TRUE(view.has_value());
        auto e = (*view)->entry(EntryId{0, id});
        EXPECT_TRUE(e.has_value());
        return e.value_or(std::nullopt);
    }

    std::optional<std::string> split_marker() { return test::split_marker(*ledger_); }

    money::Amount credited_to_psp() {
        auto view = ledger_->read();
        EXPECT_TRUE(view.has_value());
        auto b = (*view)->balance(AccountId{0, kAccountTo});
        EXPECT_TRUE(b.has_value());
        return b ? b->credits_posted : money::Amount{};
    }

    std::filesystem::path dir_;
    std::unique_ptr<ledger::Ledger> ledger_;
    ManualClock clock_{at_s(1'000)};
};

Move move(std::uint64_t seq, std::uint32_t producer = 0) {
    Move m;
    m.producer = producer;
    m.seq = seq;
    m.amount_minor = 100;
    return m;
}

// One command whose batch posts `entries` journal entries of 0.01 each (a large cut-off).
Move big_move(std::uint32_t entries) {
    Move m = move(0);
    m.amount_minor = 1;
    m.entries = entries;
    return m;
}

// ---- options and keys ------------------------------------------------------------------

TEST(SequencerOptionsTest, DefaultsAndConfigAreValid) {
    EXPECT_TRUE(validate_sequencer_options(SequencerOptions{}).is_ok());
    config::EngineConfig engine;
    const SequencerOptions o = sequencer_options(engine);
    EXPECT_EQ(o.queue_max, engine.queue_max);
    EXPECT_EQ(o.batch_max, engine.batch_max);
    EXPECT_EQ(o.outbox_batch_max, engine.outbox_batch_max);
    EXPECT_TRUE(validate_sequencer_options(o).is_ok());
}

TEST(SequencerOptionsTest, EachBadValueIsNamed) {
    struct Case {
        std::function<void(SequencerOptions&)> change;
        std::string expected;
    };
    const std::vector<Case> cases = {
        {[](SequencerOptions& o) { o.queue_max = 0; }, "queue_max = 0"},
        {[](SequencerOptions& o) { o.queue_max = kSequencerQueueMaxCeiling + 1; },
         "queue_max = " + std::to_string(kSequencerQueueMaxCeiling + 1)},
        {[](SequencerOptions& o) { o.batch_max = 0; }, "batch_max = 0"},
        {[](SequencerOptions& o) {
             o.queue_max = 10;
             o.batch_max = 11;
         },
         "batch_max = 11: must not exceed queue_max (10)"},
        {[](SequencerOptions& o) { o.outbox_batch_max = 0; }, "outbox_batch_max = 0"},
        {[](SequencerOptions& o) { o.outbox_key_prefix = ""; }, "outbox_key_prefix = ''"},
        {[](SequencerOptions& o) { o.outbox_key_prefix = std::string(65, 'x'); },
         "outbox_key_prefix"},
        {[](SequencerOptions& o) { o.outbox_next_id_key = ""; }, "outbox_next_id_key = ''"},
        {[](SequencerOptions& o) { o.outbox_next_id_key = "o/next"; },
         "outbox_next_id_key = 'o/next': must not start with outbox_key_prefix"},
        {[](SequencerOptions& o) { o.idle_wait_ms = std::chrono::milliseconds(0); },
         "idle_wait_ms = 0"},
        {[](SequencerOptions& o) {
             o.idle_wait_ms = kIdleWaitMsMax + std::chrono::milliseconds(1);
         },
         "idle_wait_ms = 60001"},
    };
    for (const Case& c : cases) {
        SequencerOptions o;
        c.change(o);
        const Status s = validate_sequencer_options(o);
        EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.expected;
        EXPECT_NE(s.message().find(c.expected), std::string::npos) << s.message();
    }
}

TEST(SequencerOptionsTest, CreateChecksOptionsAndClock) {
    CounterEngine engine;
    RecordingSink sink;
    class NoLedger : public ledger::Ledger {
        Result<std::vector<ledger::OpResult>> commit(std::span<const ledger::Operation>, Timestamp,
                                                     std::span<const ledger::AuxWrite>,
                                                     const ledger::CommitOptions&) override {
            return fail(StatusCode::kInternal, "unused");
        }
        Result<std::unique_ptr<ledger::ReadView>> read() override {
            return fail(StatusCode::kInternal, "unused");
        }
        Status backup(const std::filesystem::path&) override { return Status::ok(); }
    } ledger;
    SequencerOptions bad;
    bad.batch_max = 0;
    auto a = TestSequencer::create(engine, ledger, system_clock(), sink, bad);
    ASSERT_FALSE(a.has_value());
    EXPECT_NE(a.error().message().find("batch_max = 0"), std::string::npos);
    auto b = TestSequencer::create(engine, ledger, Clock{}, sink);
    ASSERT_FALSE(b.has_value());
    EXPECT_NE(b.error().message().find("clock"), std::string::npos);
    // A ledger that cannot be read fails start(), which then starts no thread.
    auto c = TestSequencer::create(engine, ledger, system_clock(), sink);
    ASSERT_TRUE(c.has_value());
    EXPECT_FALSE((*c)->start().is_ok());
}

TEST(SequencerOptionsTest, CommitOperationsMaxAndSplitMarkerKeyAreChecked) {
    SequencerOptions o;
    o.commit_operations_max = 0;
    EXPECT_FALSE(validate_sequencer_options(o).is_ok());
    o.commit_operations_max = static_cast<std::uint32_t>(ledger::kBatchOperationsMax) + 1;
    const Status too_many = validate_sequencer_options(o);
    EXPECT_NE(too_many.message().find("commit_operations_max = " +
                                      std::to_string(ledger::kBatchOperationsMax + 1)),
              std::string::npos)
        << too_many.message();
    o = SequencerOptions{};
    o.split_marker_key = "o/split";
    EXPECT_FALSE(validate_sequencer_options(o).is_ok()) << "a marker key under the prefix";
    o.split_marker_key = o.outbox_next_id_key;
    EXPECT_FALSE(validate_sequencer_options(o).is_ok()) << "the marker key is the next-id key";
    EXPECT_TRUE(validate_sequencer_options(SequencerOptions{}).is_ok());
}

std::vector<ledger::Operation> chained(const std::vector<bool>& linked) {
    std::vector<ledger::Operation> ops;
    for (const bool l : linked) {
        ops.push_back(ledger::Operation{ledger::ExpirePending{}, l});
    }
    return ops;
}

TEST(SplitOperationsTest, PartsRespectTheMaximumAndNeverCutALinkedChain) {
    auto one = split_operations(chained({false, false, false}), 3);
    ASSERT_TRUE(one.has_value());
    EXPECT_EQ(*one, (std::vector<std::size_t>{3}));
    auto none = split_operations({}, 3);
    ASSERT_TRUE(none.has_value());
    EXPECT_EQ(*none, (std::vector<std::size_t>{0}));
    auto plain = split_operations(chained({false, false, false, false, false, false, false}), 3);
    ASSERT_TRUE(plain.has_value());
    EXPECT_EQ(*plain, (std::vector<std::size_t>{3, 6, 7}));
    // Operations 2-4 are one chain (2 and 3 linked): the first part ends before it.
    auto chain = split_operations(chained({false, false, true, true, false, false}), 3);
    ASSERT_TRUE(chain.has_value());
    EXPECT_EQ(*chain, (std::vector<std::size_t>{2, 5, 6}));
    auto too_long = split_operations(chained({true, true, true, false}), 3);
    ASSERT_FALSE(too_long.has_value());
    EXPECT_EQ(too_long.error().code(), StatusCode::kOutOfRange);
    EXPECT_NE(too_long.error().message().find("linked chain"), std::string::npos);
    auto open = split_operations(chained({false, true}), 3);
    ASSERT_FALSE(open.has_value());
    EXPECT_NE(open.error().message().find("never ends"), std::string::npos);
}

TEST(OutboxKeyTest, RoundTripAndOrder) {
    EXPECT_EQ(outbox_key("o/", 42), "o/00000000000000000042");
    EXPECT_EQ(outbox_key("o/", 0), "o/00000000000000000000");
    EXPECT_EQ(outbox_key("", UINT64_MAX), "18446744073709551615");
    const std::uint64_t ids[] = {0, 1, 9, 10, 123456789, UINT64_MAX};
    for (const std::uint64_t id : ids) {
        EXPECT_EQ(parse_outbox_key("o/", outbox_key("o/", id)), id);
    }
    EXPECT_LT(outbox_key("o/", 9), outbox_key("o/", 10));
    EXPECT_LT(outbox_key("o/", 99999), outbox_key("o/", 100000));
    EXPECT_EQ(parse_outbox_key("o/", "o/1"), std::nullopt);
    EXPECT_EQ(parse_outbox_key("o/", "x/00000000000000000042"), std::nullopt);
    EXPECT_EQ(parse_outbox_key("o/", "o/0000000000000000004a"), std::nullopt);
    EXPECT_EQ(parse_outbox_key("o/", "o/+0000000000000000042"), std::nullopt);
    EXPECT_EQ(parse_outbox_key("", "99999999999999999999"), std::nullopt);  // > 2^64 - 1
    EXPECT_EQ(submit_result_name(SubmitResult::kQueueFull), "queue_full");
}

// ---- delivery after durability ---------------------------------------------------------

TEST_F(SequencerTest, EventsAreDeliveredOnlyAfterTheirBatchIsDurable) {
    CounterEngine engine;
    RecordingSink sink;
    sink.ledger = ledger_.get();
    auto seq = make(engine, sink);
    ASSERT_TRUE(seq);
    ASSERT_TRUE(seq->start().is_ok());
    constexpr std::uint64_t kCommands = 300;
    for (std::uint64_t i = 0; i < kCommands; ++i) {
        ASSERT_EQ(seq->submit_wait(move(i), kWaitMax), SubmitResult::kAccepted);
    }
    ASSERT_TRUE(sink.wait_for(kCommands));
    ASSERT_TRUE(seq->stop().is_ok());

    EXPECT_EQ(sink.durability_misses(), 0);
    const auto got = sink.got();
    ASSERT_EQ(got.size(), kCommands);
    for (std::uint64_t i = 0; i < kCommands; ++i) {
        EXPECT_EQ(got[i].outbox_id, i + 1);
        EXPECT_EQ(got[i].event.seq, i);
        EXPECT_FALSE(got[i].possible_resend);
    }
    EXPECT_EQ(credited_to_psp(), money::Amount::from_minor(100 * kCommands));
    EXPECT_EQ(outbox_rows().size(), kCommands);  // nothing acknowledged

    const SequencerCounters c = seq->counters();
    EXPECT_EQ(c.commands, kCommands);
    EXPECT_EQ(c.events, kCommands);
    EXPECT_EQ(c.outbox_backlog, kCommands);
    EXPECT_EQ(c.queue_depth, 0u);
    EXPECT_EQ(c.batches, c.commits);
    EXPECT_GE(c.commit_latency_ns_sum, c.commit_latency_ns_max);
    EXPECT_EQ(seq->next_outbox_id(), kCommands + 1);
    // The engine's state rows are committed with the batch.
    auto view = ledger_->read();
    ASSERT_TRUE(view.has_value());
    auto state = (*view)->aux_get(ledger::AuxTable::kState, "counter/next_entry");
    ASSERT_TRUE(state.has_value() && state->has_value());
    EXPECT_EQ(**state, std::to_string(kCommands + 1));
}

TEST_F(SequencerTest, BatchesRespectBatchMax) {
    CounterEngine engine;
    RecordingSink sink;
    SequencerOptions o;
    o.queue_max = 64;
    o.batch_max = 4;
    auto seq = make(engine, sink, o);
    ASSERT_TRUE(seq);
    ASSERT_TRUE(seq->start().is_ok());

    // Hold the thread in the sink while 41 commands queue up behind it.
    sink.close_gate();
    ASSERT_EQ(seq->submit(move(0)), SubmitResult::kAccepted);
    ASSERT_TRUE(sink.wait_blocked());
    for (std::uint64_t i = 1; i <= 41; ++i) {
        ASSERT_EQ(seq->submit(move(i)), SubmitResult::kAccepted);
    }
    EXPECT_EQ(seq->counters().queue_depth, 41u);
    sink.open_gate();
    ASSERT_TRUE(sink.wait_for(42));
    ASSERT_TRUE(seq->stop().is_ok());

    std::vector<std::size_t> expected = {1};
    for (int i = 0; i < 10; ++i) {
        expected.push_back(4);
    }
    expected.push_back(1);
    EXPECT_EQ(engine.batch_sizes, expected);
    EXPECT_EQ(sink.calls(), expected);
    EXPECT_EQ(seq->counters().last_batch_size, 1u);
    EXPECT_EQ(seq->counters().batches, expected.size());
}

// ---- many producers --------------------------------------------------------------------

TEST_F(SequencerTest, ManyProducersLoseNothingDuplicateNothingAndKeepTheirOrder) {
    CounterEngine engine;
    RecordingSink sink;
    SequencerOptions o;
    o.queue_max = 16;  // small: producers meet a full queue and wait
    o.batch_max = 8;
    auto seq = make(engine, sink, o);
    ASSERT_TRUE(seq);
    sink.acknowledge_to = seq.get();
    ASSERT_TRUE(seq->start().is_ok());

    constexpr std::uint32_t kProducers = 4;
    constexpr std::uint64_t kPerProducer = 600;
    std::vector<std::thread> producers;
    std::atomic<int> refused{0};
    for (std::uint32_t p = 0; p < kProducers; ++p) {
        producers.emplace_back([&, p] {
            for (std::uint64_t i = 0; i < kPerProducer; ++i) {
                if (seq->submit_wait(move(i, p), kWaitMax) != SubmitResult::kAccepted) {
                    ++refused;
                }
            }
        });
    }
    for (std::thread& t : producers) {
        t.join();
    }
    ASSERT_EQ(refused.load(), 0);
    ASSERT_TRUE(sink.wait_for(kProducers * kPerProducer));
    ASSERT_TRUE(seq->stop().is_ok());

    const auto got = sink.got();
    ASSERT_EQ(got.size(), kProducers * kPerProducer);
    std::vector<std::uint64_t> next(kProducers, 0);
    std::uint64_t last_id = 0;
    for (const Delivery<Moved>& d : got) {
        ASSERT_LT(d.event.producer, kProducers);
        EXPECT_EQ(d.event.seq, next[d.event.producer]++) << "producer " << d.event.producer;
        EXPECT_GT(d.outbox_id, last_id);
        last_id = d.outbox_id;
    }
    for (std::uint32_t p = 0; p < kProducers; ++p) {
        EXPECT_EQ(next[p], kPerProducer);
    }
    EXPECT_EQ(credited_to_psp(), money::Amount::from_minor(100 * kProducers * kPerProducer));
    for (const std::size_t size : engine.batch_sizes) {
        EXPECT_LE(size, 8u);
    }
    // Every delivery was acknowledged from inside the sink; stop() committed the last
    // acknowledgements, so the outbox is empty.
    EXPECT_TRUE(outbox_rows().empty());
    EXPECT_EQ(seq->counters().outbox_backlog, 0u);
}

// ---- refusals --------------------------------------------------------------------------

TEST_F(SequencerTest, AFullQueueIsRefusedWithoutBlocking) {
    CounterEngine engine;
    RecordingSink sink;
    SequencerOptions o;
    o.queue_max = 4;
    o.batch_max = 2;
    auto seq = make(engine, sink, o);
    ASSERT_TRUE(seq);
    ASSERT_TRUE(seq->start().is_ok());
    sink.close_gate();
    ASSERT_EQ(seq->submit(move(0)), SubmitResult::kAccepted);
    ASSERT_TRUE(sink.wait_blocked());
    for (std::uint64_t i = 1; i <= 4; ++i) {
        ASSERT_EQ(seq->submit(move(i)), SubmitResult::kAccepted);
    }
    EXPECT_EQ(seq->submit(move(5)), SubmitResult::kQueueFull);
    const Move kept = move(5);
    EXPECT_EQ(seq->submit_wait(kept, std::chrono::milliseconds(1)), SubmitResult::kQueueFull);
    EXPECT_EQ(seq->counters().refused_queue_full, 2u);
    EXPECT_EQ(seq->counters().queue_depth, 4u);
    sink.open_gate();
    // Room again: the refused command goes in now.
    EXPECT_EQ(seq->submit_wait(kept, kWaitMax), SubmitResult::kAccepted);
    ASSERT_TRUE(sink.wait_for(6));
    ASSERT_TRUE(seq->stop().is_ok());
    EXPECT_EQ(sink.got().back().event.seq, 5u);
}

TEST_F(SequencerTest, RefusesBeforeStartAndAfterStop) {
    CounterEngine engine;
    RecordingSink sink;
    auto seq = make(engine, sink);
    ASSERT_TRUE(seq);
    EXPECT_EQ(seq->submit(move(0)), SubmitResult::kNotRunning);
    const std::uint64_t ids[] = {1};
    EXPECT_EQ(seq->acknowledge(ids).code(), StatusCode::kFailedPrecondition);
    ASSERT_TRUE(seq->start().is_ok());
    EXPECT_EQ(seq->start().code(), StatusCode::kFailedPrecondition);
    ASSERT_TRUE(seq->stop().is_ok());
    EXPECT_EQ(seq->state(), TestSequencer::State::kStopped);
    EXPECT_EQ(seq->submit(move(1)), SubmitResult::kNotRunning);
    EXPECT_EQ(seq->submit_wait(move(1), kWaitMax), SubmitResult::kNotRunning);
    EXPECT_EQ(seq->acknowledge(ids).code(), StatusCode::kFailedPrecondition);
    EXPECT_TRUE(seq->stop().is_ok());  // idempotent
}

// ---- acknowledgement and redelivery ----------------------------------------------------

TEST_F(SequencerTest, AcknowledgedRowsAreDeletedAndTheRestRedeliveredAfterRestart) {
    std::vector<Delivery<Moved>> first_run;
    {
        CounterEngine engine;
        RecordingSink sink;
        auto seq = make(engine, sink);
        ASSERT_TRUE(seq);
        ASSERT_TRUE(seq->start().is_ok());
        for (std::uint64_t i = 0; i < 10; ++i) {
            ASSERT_EQ(seq->submit_wait(move(i), kWaitMax), SubmitResult::kAccepted);
        }
        ASSERT_TRUE(sink.wait_for(10));
        const std::vector<std::uint64_t> sent = {1, 2, 3, 4, 5, 6, 6, 999};  // repeat, unknown
        ASSERT_TRUE(seq->acknowledge(sent).is_ok());
        ASSERT_TRUE(seq->stop().is_ok());  // commits the pending acknowledgements
        first_run = sink.got();
        EXPECT_EQ(seq->counters().outbox_backlog, 4u);
    }
    auto rows = outbox_rows();
    ASSERT_EQ(rows.size(), 4u);
    EXPECT_EQ(rows.begin()->first, 7u);
    EXPECT_EQ(rows.rbegin()->first, 10u);

    // "Crash": close the ledger, reopen it, a new engine and sequencer.
    ledger_.reset();
    open_ledger();
    {
        CounterEngine engine(/*first_entry=*/1'000);
        RecordingSink sink;
        sink.ledger = ledger_.get();
        SequencerOptions o;
        o.outbox_batch_max = 3;  // redelivered in pages of 3
        auto seq = make(engine, sink, o);
        ASSERT_TRUE(seq);
        ASSERT_TRUE(seq->start().is_ok());
        ASSERT_TRUE(sink.wait_for(4));
        ASSERT_EQ(seq->submit_wait(move(100), kWaitMax), SubmitResult::kAccepted);
        ASSERT_TRUE(sink.wait_for(5));
        const auto got = sink.got();
        for (std::size_t i = 0; i < 4; ++i) {
            EXPECT_EQ(got[i].outbox_id, 7 + i);
            EXPECT_TRUE(got[i].possible_resend);
            EXPECT_EQ(got[i].event, first_run[6 + i].event);
        }
        EXPECT_EQ(got[4].outbox_id, 11u);  // ids continue after the highest row
        EXPECT_FALSE(got[4].possible_resend);
        EXPECT_EQ(got[4].event.entry, 1'000u);
        EXPECT_EQ(sink.calls(), (std::vector<std::size_t>{3, 1, 1}));
        EXPECT_EQ(seq->counters().redelivered, 4u);
        // Now everything is sent.
        const std::vector<std::uint64_t> sent = {7, 8, 9, 10, 11};
        ASSERT_TRUE(seq->acknowledge(sent).is_ok());
        ASSERT_TRUE(seq->stop().is_ok());
        EXPECT_EQ(seq->counters().outbox_backlog, 0u);
        EXPECT_EQ(sink.durability_misses(), 0);
    }
    EXPECT_TRUE(outbox_rows().empty());

    // With no row left, ids still continue (the next id is kept in the outbox table), so
    // an id is never reused for a different event.
    ledger_.reset();
    open_ledger();
    {
        CounterEngine engine(/*first_entry=*/2'000);
        RecordingSink sink;
        auto seq = make(engine, sink);
        ASSERT_TRUE(seq);
        ASSERT_TRUE(seq->start().is_ok());
        EXPECT_EQ(seq->next_outbox_id(), 12u);
        ASSERT_EQ(seq->submit_wait(move(200), kWaitMax), SubmitResult::kAccepted);
        ASSERT_TRUE(sink.wait_for(1));
        ASSERT_TRUE(seq->stop().is_ok());
        EXPECT_EQ(sink.got()[0].outbox_id, 12u);
        EXPECT_FALSE(sink.got()[0].possible_resend);
    }
}

TEST_F(SequencerTest, StartRefusesACorruptOutbox) {
    {
        const std::vector<ledger::AuxWrite> aux = {
            {ledger::AuxTable::kOutbox, "o/12", std::string("0,0,0,0,0,0")}};
        ASSERT_TRUE(ledger_->commit({}, at_s(2), aux).has_value());
        CounterEngine engine;
        RecordingSink sink;
        auto seq = make(engine, sink);
        ASSERT_TRUE(seq);
        const Status s = seq->start();
        EXPECT_EQ(s.code(), StatusCode::kCorruption);
        EXPECT_NE(s.message().find("'o/12'"), std::string::npos) << s.message();
    }
    {
        const std::vector<ledger::AuxWrite> aux = {
            {ledger::AuxTable::kOutbox, "o/12", std::nullopt},
            {ledger::AuxTable::kOutbox, outbox_key("o/", 3), std::string("not an event")}};
        ASSERT_TRUE(ledger_->commit({}, at_s(2), aux).has_value());
        CounterEngine engine;
        RecordingSink sink;
        auto seq = make(engine, sink);
        ASSERT_TRUE(seq);
        const Status s = seq->start();
        EXPECT_EQ(s.code(), StatusCode::kCorruption);
        EXPECT_NE(s.message().find(outbox_key("o/", 3)), std::string::npos) << s.message();
        EXPECT_NE(s.message().find("does not decode"), std::string::npos) << s.message();
        EXPECT_TRUE(sink.got().empty());
    }
}

// ---- fatal failures --------------------------------------------------------------------

TEST_F(SequencerTest, ARefusedOperationStopsTheSequencerAndDeliversNothingOfItsBatch) {
    CounterEngine engine;
    RecordingSink sink;
    auto seq = make(engine, sink);
    ASSERT_TRUE(seq);
    ASSERT_TRUE(seq->start().is_ok());
    sink.close_gate();
    ASSERT_EQ(seq->submit(move(0)), SubmitResult::kAccepted);  // batch 1: fine
    ASSERT_TRUE(sink.wait_blocked());
    // Batch 2: a good move, one the ledger refuses, another good one.
    ASSERT_EQ(seq->submit(move(1)), SubmitResult::kAccepted);
    Move bad = move(2);
    bad.reject = true;
    ASSERT_EQ(seq->submit(bad), SubmitResult::kAccepted);
    ASSERT_EQ(seq->submit(move(3)), SubmitResult::kAccepted);
    sink.open_gate();
    const Status stopped = seq->stop();

    EXPECT_EQ(stopped.code(), StatusCode::kInternal);
    EXPECT_NE(stopped.message().find("unknown_account"), std::string::npos) << stopped.message();
    EXPECT_NE(stopped.message().find("operation 1 of 3"), std::string::npos) << stopped.message();
    EXPECT_NE(stopped.message().find("nothing of the batch was written"), std::string::npos)
        << stopped.message();
    EXPECT_EQ(seq->error(), stopped);
    EXPECT_EQ(seq->state(), TestSequencer::State::kFailed);
    EXPECT_EQ(seq->submit(move(4)), SubmitResult::kFailed);

    const auto got = sink.got();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].event.seq, 0u);
    // The commit was all-or-nothing, and that one commit was all: nothing of batch 2 is
    // in the ledger. No journal entry ...
    EXPECT_EQ(seq->counters().commits, 2u);
    EXPECT_TRUE(entry(1).has_value());
    EXPECT_FALSE(entry(2).has_value());
    EXPECT_FALSE(entry(3).has_value());
    EXPECT_FALSE(entry(4).has_value());
    EXPECT_EQ(credited_to_psp(), money::Amount::from_minor(100));
    auto view = ledger_->read();
    ASSERT_TRUE(view.has_value());
    EXPECT_EQ((*view)->info()->last_sequence, 1u);
    // ... no engine state row (batch 1 wrote next_entry 2; batch 2 would have written 5) ...
    auto state = (*view)->aux_scan(ledger::AuxTable::kState, "", 100);
    ASSERT_TRUE(state.has_value());
    EXPECT_EQ(*state,
              (std::vector<std::pair<std::string, std::string>>{{"counter/next_entry", "2"}}));
    // ... and no outbox row, nor the next-id row past batch 1's, so a restart neither
    // replays nor sends anything of it.
    auto rows = outbox_rows();
    ASSERT_EQ(rows.size(), 1u);
    EXPECT_EQ(rows.begin()->first, 1u);
    auto next_id = (*view)->aux_get(ledger::AuxTable::kOutbox, "n/next_id");
    ASSERT_TRUE(next_id.has_value());
    EXPECT_EQ(next_id->value_or(""), outbox_key("", 2));
    auto all_outbox = (*view)->aux_scan(ledger::AuxTable::kOutbox, "", 100);
    ASSERT_TRUE(all_outbox.has_value());
    EXPECT_EQ(all_outbox->size(), 2u) << "batch 1's row and the next-id row only";
}

// A cut-off of a large day: one batch with more operations than a ledger commit takes.
TEST_F(SequencerTest, ABatchOfMoreOperationsThanOneCommitTakesIsCommittedInPartsThenDelivered) {
    constexpr std::uint32_t kEntries = 20'000;
    constexpr std::uint32_t kPerCommit = 8'190;
    static_assert(kEntries > kPerCommit * 2 && kPerCommit <= ledger::kBatchOperationsMax);
    open_ledger_large();
    CounterEngine engine;
    RecordingSink sink;
    sink.ledger = ledger_.get();  // checks every entry is durable at delivery
    SequencerOptions options;
    options.commit_operations_max = kPerCommit;
    auto seq = make(engine, sink, options);
    ASSERT_TRUE(seq);
    ASSERT_TRUE(seq->start().is_ok());
    ASSERT_EQ(seq->submit(big_move(kEntries)), SubmitResult::kAccepted);
    ASSERT_TRUE(sink.wait_for(1));
    const Status stopped = seq->stop();
    ASSERT_TRUE(stopped.is_ok()) << stopped.to_string();
    EXPECT_EQ(sink.durability_misses(), 0);
    ASSERT_EQ(sink.got().size(), 1u) << "the batch's one event, delivered once";

    const SequencerCounters c = seq->counters();
    EXPECT_EQ(c.split_batches, 1u);
    EXPECT_EQ(c.split_parts, 3u) << "8190 + 8190 + 3620 operations";
    EXPECT_EQ(c.commits, 3u);
    for (const std::uint64_t id : {1ull, 8190ull, 8191ull, 16380ull, 16381ull, 20000ull}) {
        EXPECT_TRUE(entry(id).has_value()) << "entry " << id << " is missing";
    }
    EXPECT_EQ(credited_to_psp(), money::Amount::from_minor(kEntries));
    EXPECT_FALSE(split_marker().has_value()) << "the split marker outlived its last part";
    EXPECT_EQ(outbox_rows().size(), 1u);
}

// The real ledger behind a bound on one transaction: a commit of more than `operations_max`
// operations fails as LMDB's MDB_TXN_FULL does (kResourceExhausted, nothing written) and
// writes nothing; every other call goes to the real ledger. It notes each attempt's size and
// what the commits that went through did with the split marker.
class TransactionBoundLedger final : public ledger::Ledger {
  public:
    TransactionBoundLedger(ledger::Ledger& real, std::size_t operations_max)
        : real_(real), operations_max_(operations_max) {}

    Result<std::vector<ledger::OpResult>> commit(std::span<const ledger::Operation> operations,
                                                 Timestamp now,
                                                 std::span<const ledger::AuxWrite> aux,
                                                 const ledger::CommitOptions& options) override {
        attempts.push_back(operations.size());
        if (operations.size() > operations_max_) {
            return fail(StatusCode::kResourceExhausted,
                        "writing a posting row: MDB_TXN_FULL: Transaction has too many dirty "
                        "pages - transaction too big");
        }
        for (const ledger::AuxWrite& w : aux) {
            if (w.key == "n/split") {
                marker_writes.push_back(w.value.has_value() ? "set" : "deleted");
            }
        }
        return real_.commit(operations, now, aux, options);
    }
    Result<std::unique_ptr<ledger::ReadView>> read() override { return real_.read(); }
    Status backup(const std::filesystem::path& destination) override {
        return real_.backup(destination);
    }

    std::vector<std::size_t> attempts;       // operations per commit call, in order
    std::vector<std::string> marker_writes;  // "set" / "deleted", per commit that wrote it

  private:
    ledger::Ledger& real_;
    std::size_t operations_max_;
};

TEST_F(SequencerTest, APartTooLargeForOneLedgerTransactionIsCommittedAgainInHalvesThenDelivered) {
    constexpr std::uint32_t kEntries = 20'000;
    open_ledger_large();
    TransactionBoundLedger bound(*ledger_, 5'000);
    CounterEngine engine;
    RecordingSink sink;
    sink.ledger = ledger_.get();  // checks every entry is durable at delivery
    auto seq = make(engine, sink, {}, &bound);
    ASSERT_TRUE(seq);
    ASSERT_TRUE(seq->start().is_ok());
    ASSERT_EQ(seq->submit(big_move(kEntries)), SubmitResult::kAccepted);
    ASSERT_TRUE(sink.wait_for(1));
    const Status stopped = seq->stop();
    ASSERT_TRUE(stopped.is_ok()) << stopped.to_string();

    const std::vector<std::size_t> attempts{20'000, 10'000, 5'000, 5'000, 5'000, 5'000};
    EXPECT_EQ(bound.attempts, attempts)
        << "one part of 20,000, then halves until a part fits, then parts of that size";
    EXPECT_EQ(bound.marker_writes, (std::vector<std::string>{"set", "deleted"}))
        << "a batch of one part became a split one: the marker goes with the first part "
           "written and its deletion with the last";
    EXPECT_EQ(sink.durability_misses(), 0);
    ASSERT_EQ(sink.got().size(), 1u) << "the batch's one event, delivered once";
    const SequencerCounters c = seq->counters();
    EXPECT_EQ(c.commit_retries, 2u);
    EXPECT_EQ(c.split_batches, 1u);
    EXPECT_EQ(c.split_parts, 4u);
    EXPECT_EQ(c.commits, 6u) << "every call to the ledger's commit, the two refused too";
    for (const std::uint64_t id : {1ull, 5'000ull, 5'001ull, 15'001ull, 20'000ull}) {
        EXPECT_TRUE(entry(id).has_value()) << "entry " << id << " is missing";
    }
    EXPECT_EQ(credited_to_psp(), money::Amount::from_minor(kEntries));
    EXPECT_FALSE(split_marker().has_value()) << "the split marker outlived its last part";
}

TEST_F(SequencerTest, AnOperationTooLargeForOneLedgerTransactionIsFatalAndWritesNothing) {
    TransactionBoundLedger bound(*ledger_, 0);
    CounterEngine engine;
    RecordingSink sink;
    auto seq = make(engine, sink, {}, &bound);
    ASSERT_TRUE(seq);
    ASSERT_TRUE(seq->start().is_ok());
    ASSERT_EQ(seq->submit(big_move(3)), SubmitResult::kAccepted);
    const Status stopped = seq->stop();

    EXPECT_EQ(stopped.code(), StatusCode::kResourceExhausted) << stopped.to_string();
    EXPECT_NE(stopped.message().find("MDB_TXN_FULL"), std::string::npos) << stopped.message();
    EXPECT_NE(stopped.message().find("nothing of the batch was written"), std::string::npos)
        << stopped.message();
    EXPECT_EQ(seq->state(), TestSequencer::State::kFailed);
    EXPECT_EQ(bound.attempts, (std::vector<std::size_t>{3, 1}))
        << "three operations, then a part of one, which cannot be split";
    EXPECT_TRUE(bound.marker_writes.empty()) << "nothing went through";
    EXPECT_TRUE(sink.got().empty()) << "an event of a batch that was not written was delivered";
    EXPECT_FALSE(entry(1).has_value());
    EXPECT_EQ(credited_to_psp(), money::Amount{});
    EXPECT_TRUE(outbox_rows().empty());
    EXPECT_EQ(seq->counters().commit_retries, 1u);
}

// An engine that cannot report unfinished operations must not start over an interrupted
// split commit: it would deliver the batch's events without all of its operations.
TEST_F(SequencerTest, ASplitMarkerWithAnEngineThatCannotCompleteItFailsStart) {
    const std::vector<ledger::AuxWrite> marker{
        ledger::AuxWrite{ledger::AuxTable::kOutbox, "n/split", "20000 operations"}};
    auto r = ledger_->commit({}, at_s(2), marker);
    ASSERT_TRUE(r.has_value());
    CounterEngine engine;
    RecordingSink sink;
    auto seq = make(engine, sink);
    ASSERT_TRUE(seq);
    const Status started = seq->start();
    EXPECT_EQ(started.code(), StatusCode::kFailedPrecondition);
    EXPECT_NE(started.message().find("split commit was interrupted"), std::string::npos)
        << started.message();
}

TEST_F(SequencerTest, AFailedApplyStopsTheSequencerAndDeliversNothingOfItsBatch) {
    CounterEngine engine;
    RecordingSink sink;
    auto seq = make(engine, sink);
    ASSERT_TRUE(seq);
    ASSERT_TRUE(seq->start().is_ok());
    sink.close_gate();
    ASSERT_EQ(seq->submit(move(0)), SubmitResult::kAccepted);
    ASSERT_TRUE(sink.wait_blocked());
    ASSERT_EQ(seq->submit(move(1)), SubmitResult::kAccepted);
    Move broken = move(2);
    broken.fail = true;
    ASSERT_EQ(seq->submit(broken), SubmitResult::kAccepted);
    sink.open_gate();
    const Status stopped = seq->stop();
    EXPECT_EQ(stopped.code(), StatusCode::kInternal);
    EXPECT_NE(stopped.message().find("test engine told to fail"), std::string::npos);
    EXPECT_EQ(sink.got().size(), 1u);
    EXPECT_FALSE(entry(2).has_value());
    EXPECT_EQ(outbox_rows().size(), 1u);
}

// An engine that writes into the outbox table itself breaks the contract.
class OutboxWritingEngine : public CounterEngine {
  public:
    Status apply(std::span<const Move> commands, Timestamp now, BatchOutput<Moved>& out) {
        Status s = CounterEngine::apply(commands, now, out);
        out.state.push_back(ledger::AuxWrite{ledger::AuxTable::kOutbox, "o/x", "y"});
        return s;
    }
};

TEST_F(SequencerTest, AnEngineWritingTheOutboxIsFatal) {
    OutboxWritingEngine engine;
    class Sink : public EventSink<Moved> {
      public:
        void deliver(std::span<const Delivery<Moved>> d) override { count += d.size(); }
        std::size_t count = 0;
    } sink;
    auto seq = Sequencer<OutboxWritingEngine>::create(engine, *ledger_, clock_.clock(), sink);
    ASSERT_TRUE(seq.has_value());
    ASSERT_TRUE((*seq)->start().is_ok());
    ASSERT_EQ((*seq)->submit(move(0)), SubmitResult::kAccepted);
    const Status s = (*seq)->stop();
    EXPECT_EQ(s.code(), StatusCode::kInternal);
    EXPECT_NE(s.message().find("outside AuxTable::kState"), std::string::npos);
    EXPECT_EQ(sink.count, 0u);
    EXPECT_TRUE(outbox_rows().empty());
}

// ---- timer ticks -----------------------------------------------------------------------

TEST_F(SequencerTest, TimerTicksAtTheEnginesDeadlineOnTheInjectedClock) {
    const Timestamp t0 = at_s(1'000);
    clock_.set(t0);
    CounterEngine engine(1, t0 + std::chrono::seconds(60));
    RecordingSink sink;
    sink.ledger = ledger_.get();
    auto seq = make(engine, sink);
    ASSERT_TRUE(seq);
    ASSERT_TRUE(seq->start().is_ok());

    // Before the deadline: commands only, at the clock's time.
    ASSERT_EQ(seq->submit(move(0)), SubmitResult::kAccepted);
    ASSERT_TRUE(sink.wait_for(1));
    EXPECT_FALSE(sink.got()[0].event.tick);
    EXPECT_EQ(sink.got()[0].event.at_ns, t0.time_since_epoch().count());

    // The clock reaches the deadline: an empty-span tick at that time.
    const Timestamp t1 = t0 + std::chrono::seconds(60);
    clock_.set(t1);
    seq->wake();
    ASSERT_TRUE(sink.wait_for(2));
    EXPECT_TRUE(sink.got()[1].event.tick);
    EXPECT_EQ(sink.got()[1].event.at_ns, t1.time_since_epoch().count());

    // A command sets the next deadline; when a batch arrives after it is due, the tick
    // runs first, in the same commit.
    Move m = move(1);
    const Timestamp t2 = t1 + std::chrono::seconds(60);
    m.deadline = t2;
    ASSERT_EQ(seq->submit(m), SubmitResult::kAccepted);
    ASSERT_TRUE(sink.wait_for(3));
    sink.close_gate();
    clock_.set(t2 + std::chrono::seconds(1));
    ASSERT_EQ(seq->submit(move(2)), SubmitResult::kAccepted);
    ASSERT_TRUE(sink.wait_blocked());
    sink.open_gate();
    ASSERT_TRUE(sink.wait_for(5));
    ASSERT_TRUE(seq->stop().is_ok());

    const auto got = sink.got();
    EXPECT_TRUE(got[3].event.tick);
    EXPECT_EQ(got[4].event.seq, 2u);
    EXPECT_EQ(sink.calls().back(), 2u);  // tick and command delivered together
    EXPECT_EQ(sink.durability_misses(), 0);
    EXPECT_EQ(seq->counters().ticks, 2u);
    std::vector<std::size_t> expected = {1, 0, 1, 0, 1};
    EXPECT_EQ(engine.batch_sizes, expected);
}

// ---- stop ------------------------------------------------------------------------------

TEST_F(SequencerTest, StopDrainsWhatIsQueued) {
    CounterEngine engine;
    RecordingSink sink;
    SequencerOptions o;
    o.batch_max = 8;
    auto seq = make(engine, sink, o);
    ASSERT_TRUE(seq);
    ASSERT_TRUE(seq->start().is_ok());
    sink.close_gate();
    ASSERT_EQ(seq->submit(move(0)), SubmitResult::kAccepted);
    ASSERT_TRUE(sink.wait_blocked());
    for (std::uint64_t i = 1; i <= 50; ++i) {
        ASSERT_EQ(seq->submit(move(i)), SubmitResult::kAccepted);
    }
    Status stopped;
    std::thread stopper([&] { stopped = seq->stop(); });
    // stop() refuses new commands at once, while the thread still holds a batch.
    while (seq->state() != TestSequencer::State::kStopping) {
        std::this_thread::yield();
    }
    EXPECT_EQ(seq->submit(move(51)), SubmitResult::kNotRunning);
    sink.open_gate();
    stopper.join();
    EXPECT_TRUE(stopped.is_ok()) << stopped.to_string();
    const auto got = sink.got();
    ASSERT_EQ(got.size(), 51u);
    EXPECT_EQ(got.back().event.seq, 50u);
    EXPECT_EQ(outbox_rows().size(), 51u);
    EXPECT_EQ(credited_to_psp(), money::Amount::from_minor(100 * 51));
}

TEST_F(SequencerTest, TheDestructorStopsAndDrains) {
    CounterEngine engine;
    RecordingSink sink;
    {
        auto seq = make(engine, sink);
        ASSERT_TRUE(seq);
        ASSERT_TRUE(seq->start().is_ok());
        for (std::uint64_t i = 0; i < 20; ++i) {
            ASSERT_EQ(seq->submit(move(i)), SubmitResult::kAccepted);
        }
    }
    EXPECT_EQ(sink.got().size(), 20u);
    EXPECT_EQ(outbox_rows().size(), 20u);
}

}  // namespace
}  // namespace fxsettle::engine
