// Access (issue 7, "Access") over live PSP sessions of the whole node: a PSP session that
// reaches for another PSP's orders, quotes, payouts or positions is refused every time
// (every message type), logged and counted, and nothing changes; logons with a wrong
// password, another PSP's username, an unknown SenderCompID or no password are refused and
// counted, and repeated failures lock the username out; with mutual TLS a client without a
// certificate the CA signed cannot log on; the ledger, its backups and the FIX stores are
// private to their owner (0600); no password reaches the FIX logs or the node's log.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "adapters/convert/convert.h"
#include "adapters/fix/read_limit.h"
#include "tests/integration/hostile/hostile_support.h"
#include "tests/integration/hostile/raw_fix_client.h"
#include "tests/unit/fix/test_pki.h"

namespace fxsettle::hostile {
namespace {

std::string now_text(const NodeHarness& h) {
    return adapters::convert::format_utc_timestamp(h.now());
}

// The first application reply after `from` to the message sent with `seq` (a session or
// business reject naming its sequence number) or carrying `id` in `id_tag`.
std::optional<FixMessage> reply_to(RawFixClient& c, std::size_t from, std::uint64_t seq, int id_tag,
                                   const std::string& id) {
    return c.wait(
        [&](const FixMessage& m) {
            const std::string t = m.type();
            if ((t == "3" || t == "j") && m.get(45) == std::to_string(seq))
                return true;
            return t != "0" && t != "1" && t != "2" && t != "4" && t != "A" && m.get(id_tag) == id;
        },
        std::chrono::seconds(60), from);
}

class AccessTest : public ::testing::Test {
  protected:
    static void SetUpTestSuite() {
        harness_ = new NodeHarness();
        HarnessOptions o;
        o.venues = true;  // rates, so alpha gets a quote
        const std::string error = harness_->start(o);
        ASSERT_TRUE(error.empty()) << error;
        std::string why;
        alpha_ = harness_->logged_on("alpha", &why).release();
        ASSERT_NE(alpha_, nullptr) << "alpha did not log on: " << why;
        ember_ = harness_->logged_on("ember", &why).release();
        ASSERT_NE(ember_, nullptr) << "ember did not log on: " << why;
        // alpha's resting order, quote and accepted payout: what ember reaches for.
        std::size_t from = alpha_->received();
        std::uint64_t seq = alpha_->send("D", {{11, "a-order-1"},
                                               {1, "alpha"},
                                               {55, "USD/CNY"},
                                               {54, "2"},
                                               {60, now_text(*harness_)},
                                               {38, "10000.00"},
                                               {40, "2"},
                                               {44, "9.1000"},
                                               {59, "1"}});
        auto ack = reply_to(*alpha_, from, seq, 11, "a-order-1");
        ASSERT_TRUE(ack && ack->get(150) == "0")
            << "alpha's order: " << (ack ? ack->text() : "no answer");
        alpha_order_id_ = ack->get(37);
        from = alpha_->received();
        seq = alpha_->send("R", {{131, "a-quote-1"},
                                 {146, "1"},
                                 {55, "USD/CNY"},
                                 {54, "2"},
                                 {38, "10000.00"},
                                 {15, "USD"}});
        auto quote = reply_to(*alpha_, from, seq, 131, "a-quote-1");
        ASSERT_TRUE(quote && quote->type() == "S")
            << "alpha's quote: " << (quote ? quote->text() : "no answer");
        alpha_quote_id_ = quote->get(117);
        alpha_quote_cny_ = quote->get(7400);  // what the quote converts 10000.00 USD into
        ASSERT_FALSE(alpha_quote_cny_.empty()) << quote->text();
        from = alpha_->received();
        seq = alpha_->send("U1", payout("a-payout-1", "", "", "5000.00"));
        auto u2 = reply_to(*alpha_, from, seq, 7100, "a-payout-1");
        ASSERT_TRUE(u2 && u2->get(7112) == "A")
            << "alpha's payout: " << (u2 ? u2->text() : "no answer");
    }
    static void TearDownTestSuite() {
        delete alpha_;
        delete ember_;
        alpha_ = ember_ = nullptr;
        delete harness_;
        harness_ = nullptr;
    }
    void SetUp() override {
        ASSERT_NE(harness_, nullptr);
        ASSERT_NE(ember_, nullptr);
    }

    // A CNY payout to a supplier at bank-cn funded in USD (optionally at a quote's rate).
    static std::vector<FixField> payout(const std::string& id, const std::string& account,
                                        const std::string& quote_id, const std::string& amount) {
        std::vector<FixField> b = {{7100, id}};
        if (!account.empty())
            b.push_back({1, account});
        b.push_back({15, "CNY"});
        if (!quote_id.empty())
            b.push_back({117, quote_id});
        b.insert(b.end(), {{60, now_text(*harness_)},
                           {7102, amount},
                           {7103, "USD"},
                           {7105, "bank-cn"},
                           {7106, "6222020012345678"},
                           {7107, "Shenzhen Supplier Co"},
                           {7108, "CN"}});
        return b;
    }

    static NodeHarness* harness_;
    static RawFixClient* alpha_;
    static RawFixClient* ember_;
    static std::string alpha_order_id_;
    static std::string alpha_quote_id_;
    static std::string alpha_quote_cny_;
};

NodeHarness* AccessTest::harness_ = nullptr;
RawFixClient* AccessTest::alpha_ = nullptr;
RawFixClient* AccessTest::ember_ = nullptr;
std::string AccessTest::alpha_order_id_;
std::string AccessTest::alpha_quote_id_;
std::string AccessTest::alpha_quote_cny_;

struct Attempt {
    std::string name;
    std::string type;
    int id_tag = 0;
    std::string id;
    std::vector<FixField> body;
    bool names_other_psp = false;  // Account names alpha: an authorisation breach
    // alpha's id used by ember: ids are scoped per PSP, so this is ember's own new request,
    // answered for ember with nothing of alpha's in it (not a refusal).
    bool own_scope = false;
};

// ember's session reaching for alpha's orders, quote, payout and positions: every message
// type, by Account (an authorisation breach: ReasonCode 102, logged and counted) and by
// alpha's ids (which do not exist in ember's scope: unknown order / quote). Refused every
// time, nothing changes, alpha's order and quote stay alpha's and usable. alpha's
// QuoteReqID sent by ember is ember's own new request (ids are scoped per PSP): it is
// answered with ember's own quote, never alpha's.
TEST_F(AccessTest, AnotherPspsOrdersQuotesPayoutsAndPositionsAreRefusedLoggedAndCounted) {
    const std::string now = now_text(*harness_);
    const std::string& oid = alpha_order_id_;
    const std::vector<Attempt> attempts = {
        {"D on alpha's account",
         "D",
         11,
         "e-d-1",
         {{11, "e-d-1"},
          {1, "alpha"},
          {55, "USD/CNY"},
          {54, "1"},
          {60, now},
          {38, "10000.00"},
          {40, "2"},
          {44, "9.1000"},
          {59, "1"}},
         true},
        {"F of alpha's order on alpha's account",
         "F",
         11,
         "e-f-1",
         {{41, "a-order-1"},
          {37, oid},
          {11, "e-f-1"},
          {1, "alpha"},
          {55, "USD/CNY"},
          {54, "2"},
          {60, now}},
         true},
        {"F of alpha's order by ClOrdID and OrderID",
         "F",
         11,
         "e-f-2",
         {{41, "a-order-1"}, {37, oid}, {11, "e-f-2"}, {55, "USD/CNY"}, {54, "2"}, {60, now}},
         false},
        {"G of alpha's order on alpha's account",
         "G",
         11,
         "e-g-1",
         {{37, oid},
          {41, "a-order-1"},
          {11, "e-g-1"},
          {1, "alpha"},
          {55, "USD/CNY"},
          {54, "2"},
          {60, now},
          {38, "20000.00"},
          {40, "2"},
          {44, "9.2000"}},
         true},
        {"G of alpha's order by ClOrdID and OrderID",
         "G",
         11,
         "e-g-2",
         {{37, oid},
          {41, "a-order-1"},
          {11, "e-g-2"},
          {55, "USD/CNY"},
          {54, "2"},
          {60, now},
          {38, "20000.00"},
          {40, "2"},
          {44, "9.2000"}},
         false},
        {"H of alpha's order on alpha's account",
         "H",
         790,
         "e-h-1",
         {{37, oid}, {11, "a-order-1"}, {790, "e-h-1"}, {1, "alpha"}, {55, "USD/CNY"}, {54, "2"}},
         true},
        {"H of alpha's order by ClOrdID and OrderID",
         "H",
         790,
         "e-h-2",
         {{37, oid}, {11, "a-order-1"}, {790, "e-h-2"}, {55, "USD/CNY"}, {54, "2"}},
         false},
        {"R on alpha's account (inside NoRelatedSym)",
         "R",
         131,
         "e-r-1",
         {{131, "e-r-1"},
          {146, "1"},
          {55, "USD/CNY"},
          {54, "2"},
          {38, "10000.00"},
          {15, "USD"},
          {1, "alpha"}},
         true},
        {"R repeating alpha's QuoteReqID",
         "R",
         131,
         "a-quote-1",
         {{131, "a-quote-1"},
          {146, "1"},
          {55, "USD/CNY"},
          {54, "2"},
          {38, "10000.00"},
          {15, "USD"}},
         false,
         true},
        {"U1 paying from alpha's account", "U1", 7100, "e-u1-1",
         payout("e-u1-1", "alpha", "", "1000.00"), true},
        {"U1 at alpha's quote", "U1", 7100, "e-u1-2",
         payout("e-u1-2", "", alpha_quote_id_, "1000.00"), false},
        {"U1 repeating alpha's PayoutInstrID", "U1", 7100, "a-payout-1",
         payout("a-payout-1", "", "", "5000.00"), false},
        {"AN of alpha's positions",
         "AN",
         710,
         "e-an-1",
         {{710, "e-an-1"}, {724, "0"}, {1, "alpha"}, {715, "20260310"}, {60, now}},
         true},
        {"AN of alpha's USD position",
         "AN",
         710,
         "e-an-2",
         {{710, "e-an-2"}, {724, "0"}, {1, "alpha"}, {15, "USD"}, {715, "20260310"}, {60, now}},
         true},
    };
    StateSnapshot before = harness_->snapshot();
    const auto counters_before = harness_->node().counters().gateway;
    const std::size_t warnings_before = harness_->logged("authorisation breach");
    std::size_t breaches = 0;
    for (const Attempt& a : attempts) {
        SCOPED_TRACE(a.name);
        const std::size_t from = ember_->received();
        const std::uint64_t seq = ember_->send(a.type, a.body);
        ASSERT_NE(seq, 0u);
        const auto reply = reply_to(*ember_, from, seq, a.id_tag, a.id);
        ASSERT_TRUE(reply) << a.name << ": no answer";
        const std::string t = reply->type();
        if (a.own_scope) {
            ASSERT_EQ(t, "S") << a.name
                              << ": ember's own request was not quoted: " << reply->text();
            EXPECT_NE(reply->get(117), alpha_quote_id_) << a.name << ": ember got alpha's quote";
            EXPECT_EQ(reply->get(1), "ember") << reply->text();
            ASSERT_TRUE(ember_->probe("probe-" + a.id, std::chrono::seconds(60)))
                << "ember's session went down";
            // A quote changes the engine's state, never the ledger.
            StateSnapshot b = before, a2 = harness_->snapshot();
            b.engine_hash = a2.engine_hash = {};
            EXPECT_EQ(b.diff(a2), "") << a.name << ": changed the ledger";
            continue;
        }
        // A refusal: ExecutionReport rejected / unknown, OrderCancelReject,
        // QuoteRequestReject, PayoutStatus R, RequestForPositionsAck rejected.
        const bool refused = (t == "8" && (reply->get(150) == "8" || reply->get(39) == "8")) ||
                             t == "9" || t == "AG" || (t == "U2" && reply->get(7112) == "R") ||
                             (t == "AO" && reply->get(729) == "2") || t == "3" || t == "j";
        EXPECT_TRUE(refused) << a.name << ": not refused: " << reply->text();
        EXPECT_FALSE(reply->get(58).empty()) << a.name << ": no Text: " << reply->text();
        if (a.names_other_psp) {
            ++breaches;
            EXPECT_EQ(reply->get(7000), "102") << a.name << ": " << reply->text();
            EXPECT_NE(reply->get(58).find("alpha"), std::string::npos) << reply->text();
            if (t == "AO") {
                EXPECT_EQ(reply->get(728), "3") << "PosReqResult not authorised";
            }
        }
        // Nothing of alpha's leaks into the answer: no balance, no order state, no rate.
        for (const int leak : {7500, 7501, 7104, 133, 132, 14, 6}) {
            if (t != "8" || (leak != 14 && leak != 6)) {
                EXPECT_EQ(reply->find(leak), nullptr)
                    << a.name << ": tag " << leak << " in " << reply->text();
            }
        }
        if (t == "8") {
            EXPECT_NE(reply->get(37), oid) << a.name << ": alpha's OrderID in the answer";
            EXPECT_TRUE(reply->get(14).empty() || reply->get(14) == "0") << reply->text();
        }
        EXPECT_EQ(reply->find(7101), nullptr) << a.name << ": a PayoutID in the answer";
        if (t == "S") {
            ADD_FAILURE() << a.name << ": ember got a quote: " << reply->text();
        }
        ASSERT_TRUE(ember_->probe("probe-" + a.id, std::chrono::seconds(60)))
            << "ember's session went down";
        const std::string diff = before.diff(harness_->snapshot());
        if (!diff.empty()) {
            // Venue rates move the engine's state: compare the ledger and balances only.
            StateSnapshot b = before, a2 = harness_->snapshot();
            b.engine_hash = a2.engine_hash = {};
            EXPECT_EQ(b.diff(a2), "") << a.name << ": changed the ledger";
        }
    }
    const auto counters = harness_->node().counters().gateway;
    EXPECT_EQ(counters.authorization_breaches - counters_before.authorization_breaches, breaches)
        << "breaches counted";
    EXPECT_EQ(harness_->logged("authorisation breach") - warnings_before, breaches)
        << "breaches logged as warnings";
    EXPECT_GE(counters.rejects_by_reason.count(102), 1u);

    // alpha's order and quote are intact: the order is still live (H), the quote still
    // pays alpha's payout at its locked rate.
    std::size_t from = alpha_->received();
    std::uint64_t seq = alpha_->send(
        "H", {{37, oid}, {11, "a-order-1"}, {790, "a-h-1"}, {55, "USD/CNY"}, {54, "2"}});
    auto status = reply_to(*alpha_, from, seq, 790, "a-h-1");
    ASSERT_TRUE(status) << "alpha's status request got no answer";
    EXPECT_EQ(status->get(39), "0") << "alpha's order is no longer new: " << status->text();
    EXPECT_EQ(status->get(151), "10000.00") << status->text();
    from = alpha_->received();
    seq = alpha_->send("U1", payout("a-payout-2", "", alpha_quote_id_, alpha_quote_cny_));
    auto u2 = reply_to(*alpha_, from, seq, 7100, "a-payout-2");
    ASSERT_TRUE(u2) << "alpha's payout at its quote got no answer";
    EXPECT_EQ(u2->get(7112), "A") << "alpha's quote no longer pays: " << u2->text();
    EXPECT_EQ(u2->get(7114), "Y") << u2->text();
    const std::string ledger = harness_->check_ledger();
    EXPECT_TRUE(ledger.empty()) << ledger;
}

// A session that claims another PSP's SenderCompID in a message header is cut off (FIX:
// CompID problem, Reject 373=9 then Logout) and nothing it sent is applied.
TEST_F(AccessTest, AMessageWithAnotherPspsSenderCompIdIsRejectedAndTheSessionEnded) {
    StateSnapshot before = harness_->snapshot();
    before.engine_hash = {};
    const std::size_t from = ember_->received();
    SendOptions spoof;
    spoof.sender_comp_id = "ALPHAPAY";
    const std::uint64_t seq = ember_->send("F",
                                           {{41, "a-order-1"},
                                            {11, "e-spoof-1"},
                                            {55, "USD/CNY"},
                                            {54, "2"},
                                            {60, now_text(*harness_)}},
                                           spoof);
    ASSERT_NE(seq, 0u);
    const auto answer =
        ember_->wait([](const FixMessage& m) { return m.type() == "3" || m.type() == "5"; },
                     std::chrono::seconds(60), from);
    ASSERT_TRUE(answer) << "no Reject or Logout for a spoofed SenderCompID";
    if (answer->type() == "3") {
        EXPECT_EQ(answer->get(373), "9") << answer->text();
    }
    EXPECT_TRUE(wait_for([&] { return !ember_->connected(); }))
        << "the session stayed up after a spoofed SenderCompID";
    StateSnapshot after = harness_->snapshot();
    after.engine_hash = {};
    EXPECT_EQ(before.diff(after), "");
    // ember logs on again (with the sequence numbers the gateway kept).
    ASSERT_TRUE(wait_for([&] {
        return !harness_->node().gateway_host().logged_on(
            adapters::SessionKey{"FXSETTLE", "EMBER"});
    }));
    std::string why;
    const std::uint64_t next = ember_->next_out_seq();
    ASSERT_TRUE(ember_->connect(&why)) << why;
    ember_->set_next_out_seq(next);
    ASSERT_TRUE(ember_->logon("ember", "ember-demo-password", &why)) << why;
    EXPECT_TRUE(ember_->probe("after-spoof", std::chrono::seconds(60)));
}

// Logon refusals, each answered with a Logout naming the cause and counted by cause:
// a wrong password, another PSP's username, no password, an overlong password, an
// unknown SenderCompID; after 5 failures the username is locked out, and even the right
// password is refused (counted as locked) until the cooling period ends.
TEST_F(AccessTest, WrongCredentialsAreRefusedCountedAndThrottled) {
    const auto before = harness_->node().counters().gateway;
    const auto refused_before = harness_->node().gateway_host().counters().logons_refused;
    struct Try {
        std::string name, psp_comp, username, password, expect;
    };
    // delta and coral are not logged on elsewhere in this suite.
    const std::vector<Try> tries = {
        {"wrong password", "CORAL", "coral", "coral-guess-1", "wrong Username (553) or Password"},
        {"another PSP's username", "CORAL", "alpha", "alpha-demo-password",
         "wrong Username (553) or Password"},
        {"no password", "CORAL", "coral", "", "wrong Username (553) or Password"},
        {"2000-byte password", "CORAL", "coral", std::string(2000, 'p'),
         "wrong Username (553) or Password"},
    };
    std::uint64_t seq_coral = 1;
    for (const Try& t : tries) {
        SCOPED_TRACE(t.name);
        RawClientOptions o;
        o.port = harness_->gateway_port();
        o.sender_comp_id = t.psp_comp;
        RawFixClient c(o);
        std::string why;
        ASSERT_TRUE(c.connect(&why)) << why;
        c.set_next_out_seq(seq_coral);
        EXPECT_FALSE(c.logon(t.username, t.password, &why)) << t.name << " logged on";
        EXPECT_NE(why.find(t.expect), std::string::npos) << t.name << ": '" << why << "'";
        EXPECT_EQ(why.find(t.password.empty() ? "\x01" : t.password), std::string::npos);
        seq_coral = c.next_out_seq();
        EXPECT_TRUE(wait_for([&] { return !c.connected(); })) << "still connected";
    }
    auto g = harness_->node().counters().gateway;
    EXPECT_EQ(g.auth_wrong_password - before.auth_wrong_password, 3u) << "wrong passwords";
    EXPECT_EQ(g.auth_wrong_username - before.auth_wrong_username, 1u) << "wrong usernames";
    EXPECT_EQ(harness_->node().gateway_host().counters().logons_refused - refused_before, 4u);

    // An unknown SenderCompID: never logged on, whatever the credentials.
    {
        RawClientOptions o;
        o.port = harness_->gateway_port();
        o.sender_comp_id = "MALLORY";
        RawFixClient c(o);
        std::string why;
        ASSERT_TRUE(c.connect(&why)) << why;
        EXPECT_FALSE(c.logon("alpha", "alpha-demo-password", &why))
            << "an unknown SenderCompID logged on";
        std::printf("unknown SenderCompID: '%s'\n", why.c_str());
        EXPECT_TRUE(wait_for([&] { return !c.connected(); })) << "the connection stayed open";
    }

    // Throttle: delta fails 5 times, then the right password is refused at once.
    std::uint64_t seq_delta = 1;
    const auto delta_try = [&](const std::string& password, std::string* why) {
        RawClientOptions o;
        o.port = harness_->gateway_port();
        o.sender_comp_id = "DELTAREMIT";
        RawFixClient c(o);
        if (!c.connect(why))
            return false;
        c.set_next_out_seq(seq_delta);
        const bool ok = c.logon("delta", password, why);
        seq_delta = c.next_out_seq();
        if (ok)
            c.send("5", {{58, "bye"}});
        return ok;
    };
    for (int i = 1; i <= 5; ++i) {
        std::string why;
        EXPECT_FALSE(delta_try("delta-guess-" + std::to_string(i), &why));
        EXPECT_NE(why.find("wrong Username (553) or Password"), std::string::npos) << why;
    }
    std::string why;
    EXPECT_FALSE(delta_try("delta-demo-password", &why))
        << "the right password logged on during the lockout";
    EXPECT_NE(why.find("too many failed logons"), std::string::npos) << why;
    g = harness_->node().counters().gateway;
    EXPECT_GE(g.throttle.lockouts, 1u);
    EXPECT_GE(g.auth_locked - before.auth_locked, 1u);
    EXPECT_GE(harness_->logged("locked out"), 1u) << "the lockout was not logged";
    std::printf(
        "gateway logon refusals: wrong password %llu, wrong username %llu, unknown %llu, "
        "locked %llu; lockouts %llu\n",
        static_cast<unsigned long long>(g.auth_wrong_password),
        static_cast<unsigned long long>(g.auth_wrong_username),
        static_cast<unsigned long long>(g.auth_unknown_session),
        static_cast<unsigned long long>(g.auth_locked),
        static_cast<unsigned long long>(g.throttle.lockouts));
}

std::string read_all(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Files the node writes are its own: the ledger (and its lock file), a backup made by
// the library and by `fxledger backup`, the FIX message stores and logs, and the data
// directory that holds them (0700). No password
// (right or wrong) appears in any file under the node's directory or in its log.
TEST(AccessFilesTest, LedgerBackupsAndStoresAre0600AndNoPasswordIsWrittenAnywhere) {
    const mode_t old_umask = ::umask(022);  // a usual umask: 0644 files would show
    NodeHarness harness;
    HarnessOptions o;
    o.fix_logs = true;
    ASSERT_EQ(harness.start(o), "");
    std::string why;
    {
        // A wrong password first, then the right one; an order so the logs hold traffic.
        RawFixClient bad(plain_options(harness.gateway_port(), "ALPHAPAY"));
        ASSERT_TRUE(bad.connect(&why)) << why;
        EXPECT_FALSE(bad.logon("alpha", "alpha-wrong-guess", &why));
        EXPECT_TRUE(wait_for([&] { return !bad.connected(); }));
        RawFixClient alpha(plain_options(harness.gateway_port(), "ALPHAPAY"));
        ASSERT_TRUE(alpha.connect(&why)) << why;
        alpha.set_next_out_seq(bad.next_out_seq());
        ASSERT_TRUE(alpha.logon("alpha", "alpha-demo-password", &why)) << why;
        ASSERT_TRUE(alpha.probe("files", std::chrono::seconds(60)));
        alpha.send("5", {{58, "done"}});
        alpha.wait([](const FixMessage& m) { return m.type() == "5"; }, std::chrono::seconds(10));
    }
    const auto backup = harness.dir() / "backup-lib.lmdb";
    ASSERT_TRUE(harness.node().ledger().backup(backup).is_ok());
    const auto data_dir = harness.node().data_dir();
    const auto ledger_path = harness.node().ledger_path();
    harness.stop();
    const auto cli_backup = harness.dir() / "backup-cli.lmdb";
    const std::string cmd = std::string(FXLEDGER_BIN) + " --ledger " + ledger_path.string() +
                            " backup " + cli_backup.string() + " 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string out;
    char buf[4096];
    while (std::size_t r = std::fread(buf, 1, sizeof buf, p))
        out.append(buf, r);
    EXPECT_EQ(WEXITSTATUS(::pclose(p)), 0) << out;
    ::umask(old_umask);

    const auto mode_of = [](const std::filesystem::path& f) {
        struct stat st {};
        return ::stat(f.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 0777) : -1;
    };
    std::vector<std::filesystem::path> private_files = {ledger_path, backup, cli_backup};
    const auto lock = std::filesystem::path(ledger_path.string() + "-lock");
    if (std::filesystem::exists(lock))
        private_files.push_back(lock);
    std::size_t files = 0;
    // The node created data_dir (and every directory under it): owner only (0700), under
    // a usual umask that would give 0755.
    EXPECT_EQ(mode_of(data_dir), 0700)
        << data_dir << " has mode " << std::oct << mode_of(data_dir) << ", not 0700";
    std::size_t dirs = 1;
    for (const auto& e : std::filesystem::recursive_directory_iterator(data_dir)) {
        if (e.is_regular_file()) {
            private_files.push_back(e.path());
        } else if (e.is_directory()) {
            ++dirs;
            EXPECT_EQ(mode_of(e.path()) & 077, 0)
                << e.path() << " holds node files and others can list it: " << std::oct
                << mode_of(e.path());
        }
    }
    std::printf("%zu directories checked for mode 0700\n", dirs);
    for (const auto& f : private_files) {
        ++files;
        const int mode = mode_of(f);
        ASSERT_NE(mode, -1) << f << " missing";
        EXPECT_EQ(mode & 077, 0) << f << " has mode " << std::oct << mode << ", not 0600";
    }
    std::printf("%zu files checked for mode 0600\n", files);

    // No password in any file the node wrote (FIX logs and stores), nor in its log.
    std::size_t logs = 0;
    for (const auto& e : std::filesystem::recursive_directory_iterator(harness.dir())) {
        if (!e.is_regular_file())
            continue;
        const std::string text = read_all(e.path());
        logs += e.path().string().find("fix-logs") != std::string::npos ? 1 : 0;
        for (const char* secret : {"alpha-demo-password", "alpha-wrong-guess"}) {
            EXPECT_EQ(text.find(secret), std::string::npos) << secret << " written to " << e.path();
        }
    }
    EXPECT_GT(logs, 0u) << "the node wrote no FIX log (fix_logs on)";
    for (const std::string& line : harness.log_lines()) {
        EXPECT_EQ(line.find("alpha-demo-password"), std::string::npos) << line;
        EXPECT_EQ(line.find("alpha-wrong-guess"), std::string::npos) << line;
    }
}

// [gateway] unauthenticated_connections_max: with 3 connections open that never logged
// on, a 4th is closed as it is accepted and counted, while a PSP already logged on keeps
// working; once one of the 3 goes away, another PSP can connect and log on (and, logged
// on, no longer counts).
TEST(AccessConnectionsTest, BeyondTheUnauthenticatedBoundANewConnectionIsClosedAtAccept) {
    NodeHarness harness;
    HarnessOptions o;
    o.edit = [](config::Config& c) {
        c.gateway.unauthenticated_connections_max = 3;
        c.gateway.logon_deadline_s = std::chrono::seconds(300);  // not what this test checks
    };
    ASSERT_EQ(harness.start(o), "");
    std::string why;
    auto alpha = harness.logged_on("alpha", &why);
    ASSERT_NE(alpha, nullptr) << "alpha did not log on: " << why;
    const auto counters = [&] { return harness.node().gateway_host().counters(); };
    const auto wait_unauthenticated = [&](std::uint64_t n) {
        for (int i = 0; i < 500 && counters().unauthenticated_connections != n; ++i)
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
        return counters().unauthenticated_connections;
    };
    // Rarely (about 1 run in 10, release and ASan) the gateway's QuickFIX thread drops one
    // of these silent connections just after accept, well under the bound, for a reason
    // not found yet (not the bound, not the deadline: neither counter moves). Such a
    // connection is replaced, and reported, so that the bound itself is what is tested.
    std::vector<int> silent;
    int dropped = 0;
    while (silent.size() < 3 && dropped <= 2) {
        silent.push_back(connect_silent(harness.gateway_port()));
        ASSERT_GE(silent.back(), 0) << "connection " << silent.size();
        if (wait_unauthenticated(silent.size()) == silent.size())
            continue;
        for (auto it = silent.begin(); it != silent.end();) {
            if (closed_by_gateway(*it, std::chrono::milliseconds(1))) {
                ::close(*it);
                it = silent.erase(it);
                ++dropped;
            } else {
                ++it;
            }
        }
    }
    if (dropped > 0)
        std::printf("%d silent connection(s) dropped under the bound, replaced\n", dropped);
    ASSERT_EQ(wait_unauthenticated(3), 3u) << "the gateway's count of connections not logged on";
    EXPECT_EQ(counters().logon_deadline_closes, 0u);
    EXPECT_EQ(counters().connections_refused, 0u);

    const int fourth = connect_silent(harness.gateway_port());
    ASSERT_GE(fourth, 0);
    EXPECT_TRUE(closed_by_gateway(fourth, std::chrono::seconds(5)))
        << "a 4th connection not logged on was kept (bound 3)";
    ::close(fourth);
    EXPECT_EQ(counters().connections_refused, 1u);
    for (int fd : silent)
        EXPECT_FALSE(closed_by_gateway(fd, std::chrono::milliseconds(10)))
            << "a connection within the bound was closed";
    EXPECT_TRUE(alpha->probe("still-here", std::chrono::seconds(10)))
        << "alpha's session stopped answering: " << alpha->last_error();

    ::close(silent.back());
    silent.pop_back();
    ASSERT_EQ(wait_unauthenticated(2), 2u) << "a closed connection still counts";
    auto ember = harness.logged_on("ember", &why);
    ASSERT_NE(ember, nullptr) << "ember could not log on with room under the bound: " << why;
    EXPECT_EQ(wait_unauthenticated(2), 2u) << "a logged-on session counts as unauthenticated";
    EXPECT_TRUE(ember->probe("ember-up", std::chrono::seconds(10))) << ember->last_error();
    EXPECT_EQ(counters().connections_refused, 1u);
    for (int fd : silent)
        ::close(fd);
    EXPECT_EQ(wait_unauthenticated(0), 0u);
}

// [gateway] logon_deadline_s: a connection that sends nothing, and one that sends a
// message start but never a whole Logon, are closed about a deadline after they were
// accepted (QuickFIX 1.15.1 alone keeps them for ever); a PSP that logged on in time stays.
TEST(AccessConnectionsTest, AConnectionThatDoesNotLogOnBeforeTheDeadlineIsClosed) {
    NodeHarness harness;
    HarnessOptions o;
    // Longer under ASan, where alpha's own logon (PBKDF2 through intercepted memory
    // calls) took 2 to over 5 s from accept to onLogon; 40-100 ms in the release build.
#if defined(__SANITIZE_ADDRESS__)
    constexpr std::chrono::seconds kDeadline(15);
#else
    constexpr std::chrono::seconds kDeadline(3);
#endif
    o.edit = [&](config::Config& c) { c.gateway.logon_deadline_s = kDeadline; };
    ASSERT_EQ(harness.start(o), "");
    std::string why;
    auto alpha = harness.logged_on("alpha", &why);
    ASSERT_NE(alpha, nullptr) << "alpha did not log on: " << why;

    const int silent = connect_silent(harness.gateway_port());
    const int partial = connect_silent(harness.gateway_port());
    ASSERT_GE(silent, 0);
    ASSERT_GE(partial, 0);
    const std::string start =
        "8=FIX.4.4\x01"
        "9=120\x01"
        "35=A\x01";
    ASSERT_EQ(::send(partial, start.data(), start.size(), MSG_NOSIGNAL),
              static_cast<ssize_t>(start.size()));
    const auto connected_at = std::chrono::steady_clock::now();
    std::chrono::milliseconds waited{0};
    EXPECT_TRUE(closed_by_gateway(silent, kDeadline * 3, &waited))
        << "a connection that sent nothing was kept " << (kDeadline * 3).count() << " s (deadline "
        << kDeadline.count() << " s)";
    const auto after_silent = waited;
    EXPECT_TRUE(closed_by_gateway(partial, kDeadline * 3))
        << "a connection that never completed its Logon was kept " << (kDeadline * 3).count()
        << " s (deadline " << kDeadline.count() << " s)";
    const auto after_partial = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - connected_at);
    std::printf("closed %lld ms (silent), by %lld ms (partial Logon) after connecting\n",
                static_cast<long long>(after_silent.count()),
                static_cast<long long>(after_partial.count()));
    EXPECT_GE(after_silent, kDeadline - std::chrono::milliseconds(200))
        << "closed before the deadline";
    ::close(silent);
    ::close(partial);
    EXPECT_EQ(harness.node().gateway_host().counters().logon_deadline_closes, 2u);
    // Logged on within the deadline: kept past it.
    std::this_thread::sleep_for(std::chrono::milliseconds(1000));
    EXPECT_TRUE(alpha->probe("past-deadline", std::chrono::seconds(10)))
        << "a session logged on in time was closed: " << alpha->last_error();
}

}  // namespace
}  // namespace fxsettle::hostile
