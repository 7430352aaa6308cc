// SessionHost (adapters/fix/session_host.h) with real QuickFIX sessions over loopback, the
// data dictionary and the LMDB message store: an acceptor host ("FXSETTLE") and initiator
// hosts ("PSP1", ...) on ports picked free, on 127.0.0.1 only.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <quickfix/FieldConvertors.h>
#include <quickfix/Message.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "adapters/fix/bind_override.h"
#include "adapters/fix/lmdb_store.h"
#include "adapters/fix/session_host.h"
#include "tests/unit/fix/fix_test_support.h"
#include "tests/unit/fix/test_pki.h"

#ifndef FXSETTLE_FIX_DICTIONARY
#error "FXSETTLE_FIX_DICTIONARY must name config/fix/FIX44-fxsettle.xml"
#endif

// LeakSanitizer: QuickFIX 1.15.1's SSL set-up leaks what it allocates in findCAList /
// loadCAInfo (the CA name list, once per acceptor or initiator start). Not ours to free.
// Full unwinding at malloc, so that stacks through libcrypto (no frame pointers) still
// show the QuickFIX frame the suppression names.
extern "C" const char* __lsan_default_suppressions() {
    return "leak:libquickfix.so\n";
}
extern "C" const char* __asan_default_options() {
    return "fast_unwind_on_malloc=0";
}

namespace {

using fxsettle::adapters::Handler;
using fxsettle::adapters::HostOptions;
using fxsettle::adapters::HostRole;
using fxsettle::adapters::SendResult;
using fxsettle::adapters::SessionHost;
using fxsettle::adapters::SessionKey;
using fxsettle::adapters::SessionSpec;
using fxsettle::adapters::WireGroup;
using fxsettle::adapters::WireMessage;
using fxsettle::testing::TempDir;

const std::chrono::seconds kWait(20);

std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&in), sizeof in) != 0) {
        ::close(fd);
        return 0;
    }
    socklen_t len = sizeof in;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&in), &len);
    ::close(fd);
    return ntohs(in.sin_port);
}

const SessionKey kAcceptorPsp1{"FXSETTLE", "PSP1"};
const SessionKey kAcceptorPsp2{"FXSETTLE", "PSP2"};
const SessionKey kPsp1{"PSP1", "FXSETTLE"};

// Records every callback; authenticates "<psp>" / "<psp>-secret". Never sends.
class RecordingHandler : public Handler {
  public:
    std::string authenticate(const SessionKey& key, const std::string& username,
                             const std::string& password) override {
        std::lock_guard<std::mutex> lock(mutex_);
        ++auth_calls_;
        if (username != key.target_comp_id || password != key.target_comp_id + "-secret") {
            return "bad credentials for " + key.target_comp_id;
        }
        return "";
    }
    void on_logon(const SessionKey& key) override {
        std::lock_guard<std::mutex> lock(mutex_);
        ++logons_[key];
        logged_on_[key] = true;
        cv_.notify_all();
    }
    void on_logout(const SessionKey& key) override {
        std::lock_guard<std::mutex> lock(mutex_);
        logged_on_[key] = false;
        cv_.notify_all();
    }
    void on_message(const SessionKey& key, WireMessage&& message) override {
        std::lock_guard<std::mutex> lock(mutex_);
        messages_[key].push_back(std::move(message));
        cv_.notify_all();
    }
    void on_sent(const SessionKey& key, const std::vector<std::uint64_t>& tokens) override {
        std::lock_guard<std::mutex> lock(mutex_);
        auto& all = sent_[key];
        all.insert(all.end(), tokens.begin(), tokens.end());
        cv_.notify_all();
    }

    bool wait_logged_on(const SessionKey& key, bool state, std::chrono::milliseconds wait = kWait) {
        std::unique_lock<std::mutex> lock(mutex_);
        return cv_.wait_for(lock, wait, [&] { return logged_on_[key] == state; });
    }
    std::vector<WireMessage> wait_messages(const SessionKey& key, std::size_t count) {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait_for(lock, kWait, [&] { return messages_[key].size() >= count; });
        return messages_[key];
    }
    std::vector<std::uint64_t> wait_sent(const SessionKey& key, std::size_t count) {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait_for(lock, kWait, [&] { return sent_[key].size() >= count; });
        return sent_[key];
    }
    int logons(const SessionKey& key) {
        std::lock_guard<std::mutex> lock(mutex_);
        return logons_[key];
    }
    int auth_calls() {
        std::lock_guard<std::mutex> lock(mutex_);
        return auth_calls_;
    }
    std::size_t message_count(const SessionKey& key) {
        std::lock_guard<std::mutex> lock(mutex_);
        return messages_[key].size();
    }

  private:
    std::mutex mutex_;
    std::condition_variable cv_;
    int auth_calls_ = 0;
    std::map<SessionKey, int> logons_;
    std::map<SessionKey, bool> logged_on_;
    std::map<SessionKey, std::vector<WireMessage>> messages_;
    std::map<SessionKey, std::vector<std::uint64_t>> sent_;
};

WireMessage new_order(const std::string& cl_ord_id) {
    WireMessage m;
    m.msg_type = "D";
    m.add(11, cl_ord_id)
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

WireMessage execution_report(const std::string& cl_ord_id, const std::string& exec_id) {
    WireMessage m;
    m.msg_type = "8";
    m.add(37, "1001")
        .add(11, cl_ord_id)
        .add(17, exec_id)
        .add(150, "0")
        .add(39, "0")
        .add(55, "EUR/USD")
        .add(54, "1")
        .add(151, "1000000.00")
        .add(14, "0")
        .add(6, "0");
    return m;
}

// A PaymentOrder whose second line has LineAmt (7204) "abc": only validate_strict sees it.
WireMessage payment_order_with_bad_line() {
    WireMessage m;
    m.msg_type = "U3";
    m.add(15, "CNY")
        .add(60, "20240105-10:00:00.000")
        .add(64, "20240109")
        .add(7200, "PO-1")
        .add(7201, "100.00");
    WireGroup lines;
    lines.count_tag = 7202;
    for (int line = 0; line < 2; ++line) {
        lines.entries.push_back({{7203, std::to_string(line)},
                                 {7101, "900" + std::to_string(line)},
                                 {7105, "BANK_CN1"},
                                 {7106, "62220202"},
                                 {7107, "Li Wei"},
                                 {7108, "CN"},
                                 {7204, line == 0 ? "50.00" : "abc"},
                                 {7205, "CNY"}});
    }
    m.groups.push_back(lines);
    return m;
}

std::string file_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

class SessionHostTest : public ::testing::Test {
  protected:
    HostOptions acceptor_options(std::uint16_t port,
                                 const std::vector<std::string>& psps = {"PSP1"}) {
        HostOptions o;
        o.role = HostRole::kAcceptor;
        o.listen_port = port;
        o.dictionary_path = FXSETTLE_FIX_DICTIONARY;
        o.store_path = dir_.file("acceptor.lmdb");
        for (const std::string& psp : psps) {
            SessionSpec s;
            s.key = SessionKey{"FXSETTLE", psp};
            o.sessions.push_back(s);
        }
        return o;
    }
    HostOptions initiator_options(std::uint16_t port, const std::string& password = "PSP1-secret") {
        HostOptions o;
        o.role = HostRole::kInitiator;
        o.dictionary_path = FXSETTLE_FIX_DICTIONARY;
        o.store_path = dir_.file("initiator.lmdb");
        SessionSpec s;
        s.key = kPsp1;
        s.connect_port = port;
        s.reconnect_interval = std::chrono::seconds(1);
        s.username = "PSP1";
        s.password = password;
        o.sessions.push_back(s);
        return o;
    }
    std::unique_ptr<SessionHost> started(const HostOptions& options, Handler& handler) {
        std::string error;
        std::unique_ptr<SessionHost> host = SessionHost::create(options, handler, &error);
        EXPECT_NE(host, nullptr) << error;
        if (host != nullptr) {
            EXPECT_TRUE(host->start(&error)) << error;
        }
        return host;
    }

    TempDir dir_;
    RecordingHandler acceptor_handler_;
    RecordingHandler initiator_handler_;
};

TEST_F(SessionHostTest, ApplicationMessagesRoundTripBothWaysAndTheAcceptorListensOnLoopbackOnly) {
    const std::uint16_t port = free_port();
    auto acceptor = started(acceptor_options(port), acceptor_handler_);
    ASSERT_NE(acceptor, nullptr);
    EXPECT_EQ(acceptor->listen_port(), port);
    const std::vector<std::string> where = fxsettle::adapters::detail::listening_addresses(port);
    ASSERT_EQ(where.size(), 1u);
    EXPECT_EQ(where[0], "127.0.0.1") << "the acceptor must listen on 127.0.0.1 only";

    auto initiator = started(initiator_options(port), initiator_handler_);
    ASSERT_NE(initiator, nullptr);
    ASSERT_TRUE(acceptor_handler_.wait_logged_on(kAcceptorPsp1, true));
    ASSERT_TRUE(initiator_handler_.wait_logged_on(kPsp1, true));
    EXPECT_TRUE(acceptor->logged_on(kAcceptorPsp1));

    for (int i = 1; i <= 3; ++i) {
        EXPECT_EQ(initiator->send(kPsp1, new_order("C-" + std::to_string(i)), i),
                  SendResult::kQueued);
    }
    const std::vector<WireMessage> orders = acceptor_handler_.wait_messages(kAcceptorPsp1, 3);
    ASSERT_EQ(orders.size(), 3u);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(orders[i].msg_type, "D");
        EXPECT_EQ(*orders[i].find(11), "C-" + std::to_string(i + 1));
        EXPECT_EQ(*orders[i].find(38), "1000000.00");
        EXPECT_FALSE(orders[i].poss_dup);
        EXPECT_FALSE(orders[i].sending_time.empty());
    }
    for (int i = 1; i <= 3; ++i) {
        EXPECT_EQ(
            acceptor->send(kAcceptorPsp1,
                           execution_report("C-" + std::to_string(i), "E-" + std::to_string(i)),
                           100 + i),
            SendResult::kQueued);
    }
    const std::vector<WireMessage> reports = initiator_handler_.wait_messages(kPsp1, 3);
    ASSERT_EQ(reports.size(), 3u);
    EXPECT_EQ(*reports[2].find(17), "E-3");
    EXPECT_EQ(initiator_handler_.wait_sent(kPsp1, 3), (std::vector<std::uint64_t>{1, 2, 3}));
    EXPECT_EQ(acceptor_handler_.wait_sent(kAcceptorPsp1, 3),
              (std::vector<std::uint64_t>{101, 102, 103}));

    const auto a = acceptor->counters();
    EXPECT_EQ(a.messages_in, 3u);
    EXPECT_EQ(a.messages_out, 3u);
    EXPECT_EQ(a.rejected_in, 0u);
    EXPECT_EQ(a.logons_refused, 0u);
    EXPECT_EQ(acceptor_handler_.auth_calls(), 1);
    const auto c = initiator->counters();
    EXPECT_EQ(c.messages_in, 3u);
    EXPECT_EQ(c.messages_out, 3u);

    initiator->stop();
    EXPECT_TRUE(acceptor_handler_.wait_logged_on(kAcceptorPsp1, false));
    acceptor->stop();
    acceptor->stop();  // idempotent
}

TEST_F(SessionHostTest, ALogoutTheHostAsksForEndsTheConnectionNotTheCounterpartysAccess) {
    const std::uint16_t port = free_port();
    auto acceptor = started(acceptor_options(port), acceptor_handler_);
    ASSERT_NE(acceptor, nullptr);
    auto initiator = started(initiator_options(port), initiator_handler_);
    ASSERT_NE(initiator, nullptr);
    ASSERT_TRUE(acceptor_handler_.wait_logged_on(kAcceptorPsp1, true));
    ASSERT_TRUE(initiator_handler_.wait_logged_on(kPsp1, true));

    // QuickFIX's Session::logout() disables a session; the host enables it again once the
    // logout is done, so the initiator reconnects (every second here) and logs on again.
    ASSERT_TRUE(acceptor->logout(kAcceptorPsp1, "logged out by the test"));
    ASSERT_TRUE(initiator_handler_.wait_logged_on(kPsp1, false))
        << "the initiator was never logged out";
    ASSERT_TRUE(acceptor_handler_.wait_logged_on(kAcceptorPsp1, true))
        << "the acceptor did not take the initiator's next logon";
    ASSERT_TRUE(initiator_handler_.wait_logged_on(kPsp1, true));
    EXPECT_EQ(initiator->send(kPsp1, new_order("AFTER-LOGOUT"), 1), SendResult::kQueued);
    const std::vector<WireMessage> orders = acceptor_handler_.wait_messages(kAcceptorPsp1, 1);
    ASSERT_EQ(orders.size(), 1u);
    EXPECT_EQ(*orders[0].find(11), "AFTER-LOGOUT");
    initiator->stop();
    acceptor->stop();
}

TEST_F(SessionHostTest, SendRefusesUnknownSessionsInvalidMessagesAndAfterStop) {
    const std::uint16_t port = free_port();
    auto acceptor = started(acceptor_options(port), acceptor_handler_);
    ASSERT_NE(acceptor, nullptr);
    EXPECT_EQ(acceptor->send(SessionKey{"FXSETTLE", "NOBODY"}, new_order("C-1")),
              SendResult::kUnknownSession);
    WireMessage bad = new_order("C-1");
    bad.add(11, "C-2");
    std::string error;
    EXPECT_EQ(acceptor->send(kAcceptorPsp1, bad, 7, &error), SendResult::kInvalid);
    EXPECT_EQ(error, "tag 11 appears more than once in the body");
    EXPECT_EQ(acceptor->counters().invalid_out, 1u);
    acceptor->stop();
    EXPECT_EQ(acceptor->send(kAcceptorPsp1, new_order("C-3")), SendResult::kStopped);
    EXPECT_STREQ(fxsettle::adapters::send_result_name(SendResult::kSlowConsumer), "slow_consumer");
}

TEST_F(SessionHostTest, WrongPasswordIsRefusedTheLogonFailsAndTheRefusalIsCounted) {
    const std::uint16_t port = free_port();
    auto acceptor = started(acceptor_options(port), acceptor_handler_);
    auto initiator = started(initiator_options(port, "wrong"), initiator_handler_);
    ASSERT_NE(acceptor, nullptr);
    ASSERT_NE(initiator, nullptr);
    for (int i = 0; i < 200 && acceptor->counters().logons_refused == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    EXPECT_GE(acceptor->counters().logons_refused, 1u);
    EXPECT_FALSE(initiator_handler_.wait_logged_on(kPsp1, true, std::chrono::milliseconds(1500)));
    EXPECT_EQ(acceptor_handler_.logons(kAcceptorPsp1), 0);
    EXPECT_FALSE(acceptor->logged_on(kAcceptorPsp1));
    initiator->stop();
    acceptor->stop();
}

TEST_F(SessionHostTest,
       MessagesBreakingTheDictionaryGetASessionRejectNamingTheTagAndNeverReachTheHandler) {
    const std::uint16_t port = free_port();
    auto acceptor = started(acceptor_options(port), acceptor_handler_);
    HostOptions io = initiator_options(port);
    io.log_dir = dir_.file("initiator-log");
    auto initiator = started(io, initiator_handler_);
    ASSERT_NE(acceptor, nullptr);
    ASSERT_NE(initiator, nullptr);
    ASSERT_TRUE(initiator_handler_.wait_logged_on(kPsp1, true));

    WireMessage no_symbol = new_order("C-bad");
    no_symbol.fields.erase(no_symbol.fields.begin() + 1);  // Symbol (55): QuickFIX's check
    EXPECT_EQ(initiator->send(kPsp1, no_symbol), SendResult::kQueued);
    EXPECT_EQ(initiator->send(kPsp1, payment_order_with_bad_line()), SendResult::kQueued);
    EXPECT_EQ(initiator->send(kPsp1, new_order("C-good")), SendResult::kQueued);
    const std::vector<WireMessage> got = acceptor_handler_.wait_messages(kAcceptorPsp1, 1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(*got[0].find(11), "C-good") << "the bad messages reached the handler";
    for (int i = 0; i < 100 && acceptor->counters().rejected_in < 2; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_EQ(acceptor->counters().rejected_in, 2u);
    EXPECT_EQ(acceptor->counters().messages_in, 1u);

    // The initiator's message log shows both Rejects, each naming its tag (once they
    // arrived: the acceptor counts a Reject as it sends it).
    const std::string log_path = io.log_dir + "/FIX.4.4-PSP1-FXSETTLE.messages.current.log";
    std::string log = file_text(log_path);
    for (int i = 0; i < 500 && (log.find("371=55\x01") == std::string::npos ||
                                log.find("371=7204\x01") == std::string::npos);
         ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        log = file_text(log_path);
    }
    EXPECT_NE(log.find("35=3\x01"), std::string::npos) << log;
    EXPECT_NE(log.find("371=55\x01"), std::string::npos) << "Reject naming Symbol: " << log;
    EXPECT_NE(log.find("371=7204\x01"), std::string::npos) << "Reject naming LineAmt: " << log;
    initiator->stop();
    acceptor->stop();
}

TEST_F(SessionHostTest, OnSentReportsEveryTokenOnceAndInQueueOrder) {
    const std::uint16_t port = free_port();
    auto acceptor = started(acceptor_options(port), acceptor_handler_);
    auto initiator = started(initiator_options(port), initiator_handler_);
    ASSERT_NE(acceptor, nullptr);
    ASSERT_NE(initiator, nullptr);
    ASSERT_TRUE(initiator_handler_.wait_logged_on(kPsp1, true));
    const std::uint64_t count = 300;
    std::vector<std::uint64_t> expected;
    for (std::uint64_t i = 1; i <= count; ++i) {
        // Every third message has no token (0): never reported.
        const std::uint64_t token = i % 3 == 0 ? 0 : i;
        ASSERT_EQ(initiator->send(kPsp1, new_order("C-" + std::to_string(i)), token),
                  SendResult::kQueued);
        if (token != 0) {
            expected.push_back(token);
        }
    }
    EXPECT_EQ(acceptor_handler_.wait_messages(kAcceptorPsp1, count).size(), count);
    EXPECT_EQ(initiator_handler_.wait_sent(kPsp1, expected.size()), expected);
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    EXPECT_EQ(initiator_handler_.wait_sent(kPsp1, expected.size()).size(), expected.size())
        << "a token was reported twice";
    initiator->stop();
    acceptor->stop();
}

TEST_F(SessionHostTest, MessagesSentInsideWakeupBatchesAllArriveInOrderWithTheirTokens) {
    const std::uint16_t port = free_port();
    auto acceptor = started(acceptor_options(port), acceptor_handler_);
    auto initiator = started(initiator_options(port), initiator_handler_);
    ASSERT_NE(acceptor, nullptr);
    ASSERT_NE(initiator, nullptr);
    ASSERT_TRUE(initiator_handler_.wait_logged_on(kPsp1, true));
    // 300 messages: more than a sender's hand-over batch (256), so the queue reaching it
    // wakes the sender before the batch ends; the inner batch ending wakes no one (nested).
    const std::uint64_t count = 300;
    std::vector<std::uint64_t> expected;
    {
        SessionHost::WakeupBatch outer;
        {
            SessionHost::WakeupBatch inner;
            for (std::uint64_t i = 1; i <= count / 2; ++i) {
                ASSERT_EQ(initiator->send(kPsp1, new_order("C-" + std::to_string(i)), i),
                          SendResult::kQueued);
                expected.push_back(i);
            }
        }
        for (std::uint64_t i = count / 2 + 1; i <= count; ++i) {
            ASSERT_EQ(initiator->send(kPsp1, new_order("C-" + std::to_string(i)), i),
                      SendResult::kQueued);
            expected.push_back(i);
        }
    }
    // Outside any batch, a send wakes its sender at once, as before.
    ASSERT_EQ(initiator->send(kPsp1, new_order("C-" + std::to_string(count + 1)), count + 1),
              SendResult::kQueued);
    expected.push_back(count + 1);
    const std::vector<WireMessage> got = acceptor_handler_.wait_messages(kAcceptorPsp1, count + 1);
    ASSERT_EQ(got.size(), count + 1);
    for (std::uint64_t i = 0; i < got.size(); ++i) {
        const std::string* cl = got[i].find(11);
        ASSERT_NE(cl, nullptr);
        EXPECT_EQ(*cl, "C-" + std::to_string(i + 1)) << "message " << i << " out of order";
    }
    EXPECT_EQ(initiator_handler_.wait_sent(kPsp1, expected.size()), expected);
    initiator->stop();
    acceptor->stop();
}

TEST_F(SessionHostTest, SequenceNumbersResumeAfterBothHostsAreRecreatedOnTheSameStores) {
    const std::uint16_t port = free_port();
    std::uint64_t acceptor_next_sender = 0;
    std::uint64_t acceptor_next_target = 0;
    {
        auto acceptor = started(acceptor_options(port), acceptor_handler_);
        auto initiator = started(initiator_options(port), initiator_handler_);
        ASSERT_NE(acceptor, nullptr);
        ASSERT_NE(initiator, nullptr);
        ASSERT_TRUE(initiator_handler_.wait_logged_on(kPsp1, true));
        for (int i = 1; i <= 5; ++i) {
            initiator->send(kPsp1, new_order("C-" + std::to_string(i)));
        }
        ASSERT_EQ(acceptor_handler_.wait_messages(kAcceptorPsp1, 5).size(), 5u);
        acceptor->send(kAcceptorPsp1, execution_report("C-1", "E-1"));
        ASSERT_EQ(initiator_handler_.wait_messages(kPsp1, 1).size(), 1u);
        initiator->stop();
        acceptor->stop();
        const auto counters = acceptor->session_counters();
        ASSERT_EQ(counters.size(), 1u);
        acceptor_next_sender = counters[0].next_sender_seq;
        acceptor_next_target = counters[0].next_target_seq;
        EXPECT_GE(acceptor_next_target, 7u);  // Logon, 5 orders, Logout
    }
    RecordingHandler acceptor_handler;
    RecordingHandler initiator_handler;
    auto acceptor = started(acceptor_options(port), acceptor_handler);
    ASSERT_NE(acceptor, nullptr);
    const auto before = acceptor->session_counters();
    EXPECT_EQ(before[0].next_sender_seq, acceptor_next_sender) << "sequence numbers were reset";
    EXPECT_EQ(before[0].next_target_seq, acceptor_next_target) << "sequence numbers were reset";
    auto initiator = started(initiator_options(port), initiator_handler);
    ASSERT_NE(initiator, nullptr);
    ASSERT_TRUE(initiator_handler.wait_logged_on(kPsp1, true));
    initiator->send(kPsp1, new_order("C-6"));
    const std::vector<WireMessage> got = acceptor_handler.wait_messages(kAcceptorPsp1, 1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(*got[0].find(11), "C-6");
    EXPECT_GT(acceptor->session_counters()[0].next_target_seq, acceptor_next_target);
    EXPECT_EQ(acceptor->counters().rejected_in, 0u);
    initiator->stop();
    acceptor->stop();
}

TEST_F(SessionHostTest, MessagesSentWhileTheCounterpartyIsLoggedOutArriveByResendAfterItsLogon) {
    const std::uint16_t port = free_port();
    auto acceptor = started(acceptor_options(port), acceptor_handler_);
    ASSERT_NE(acceptor, nullptr);
    {
        auto initiator = started(initiator_options(port), initiator_handler_);
        ASSERT_NE(initiator, nullptr);
        ASSERT_TRUE(acceptor_handler_.wait_logged_on(kAcceptorPsp1, true));
        initiator->stop();
        ASSERT_TRUE(acceptor_handler_.wait_logged_on(kAcceptorPsp1, false));
    }
    for (int i = 1; i <= 3; ++i) {
        EXPECT_EQ(acceptor->send(kAcceptorPsp1, execution_report("C-1", "E-" + std::to_string(i)),
                                 static_cast<std::uint64_t>(i)),
                  SendResult::kQueued);
    }
    // Stored durably while logged out: the tokens come back before anyone logs on.
    EXPECT_EQ(acceptor_handler_.wait_sent(kAcceptorPsp1, 3), (std::vector<std::uint64_t>{1, 2, 3}));
    RecordingHandler initiator_handler;
    auto initiator = started(initiator_options(port), initiator_handler);
    ASSERT_NE(initiator, nullptr);
    const std::vector<WireMessage> got = initiator_handler.wait_messages(kPsp1, 3);
    ASSERT_EQ(got.size(), 3u);
    for (int i = 0; i < 3; ++i) {
        EXPECT_EQ(*got[i].find(17), "E-" + std::to_string(i + 1));
        EXPECT_TRUE(got[i].poss_dup) << "resent messages carry PossDupFlag=Y";
    }
    initiator->stop();
    acceptor->stop();
}

TEST_F(SessionHostTest, TheSynchronousStoreReportsOnSentAfterEachStoreCallIsDurable) {
    const std::uint16_t port = free_port();
    HostOptions ao = acceptor_options(port);
    ao.store_durability = fxsettle::adapters::StoreMode::kSynchronous;
    HostOptions io = initiator_options(port);
    io.store_durability = fxsettle::adapters::StoreMode::kSynchronous;
    auto acceptor = started(ao, acceptor_handler_);
    auto initiator = started(io, initiator_handler_);
    ASSERT_NE(acceptor, nullptr);
    ASSERT_NE(initiator, nullptr);
    ASSERT_TRUE(initiator_handler_.wait_logged_on(kPsp1, true));
    for (std::uint64_t i = 1; i <= 20; ++i) {
        ASSERT_EQ(initiator->send(kPsp1, new_order("C-" + std::to_string(i)), i),
                  SendResult::kQueued);
    }
    EXPECT_EQ(acceptor_handler_.wait_messages(kAcceptorPsp1, 20).size(), 20u);
    EXPECT_EQ(initiator_handler_.wait_sent(kPsp1, 20).size(), 20u);
    const auto c = initiator->counters();
    EXPECT_EQ(c.awaiting_durable, 0u);
    // Logon, then 20 orders, each of its own commit(s): at least one commit per message.
    EXPECT_GE(c.store_commits, 20u);
    initiator->stop();
    acceptor->stop();
}

std::string value_or_empty(const WireMessage& m, int tag) {
    const std::string* v = m.find(tag);
    return v == nullptr ? std::string() : *v;
}

// The lagging store's promise over real sessions. The acceptor ("the engine side") streams
// ExecutionReports (token = report number, as the outbox would) while the initiator streams
// orders; mid-stream the acceptor's store stops committing as if the process died
// (simulate_crash), the acceptor keeps sending for a moment (messages on the wire, not
// durable), then goes away. A new acceptor on the same store file must: start its sender
// above every number the old one used; let the sessions resume (the initiator asks for
// the gap, QuickFIX answers with what the store has and SequenceReset-GapFill for the
// rest; the acceptor's lagging target number makes it ask for the initiator's orders
// again, which come with PossDupFlag); and, with the test redelivering every report whose
// token was not reported durable (PossResend, as the outbox does), the initiator ends up
// with every report and the acceptor side with every order.
TEST_F(SessionHostTest, AfterAStoreCrashMidStreamSessionsResumeAndNoAcknowledgedMessageIsLost) {
    const std::uint16_t port = free_port();
    HostOptions ao = acceptor_options(port);
    const int kReports = 600;
    const int kOrders = 300;
    const int kCrashAfter = 250;  // reports sent before the crash
    const int kOnTheWire = 50;    // reports sent after it, before the acceptor goes

    auto initiator = started(initiator_options(port), initiator_handler_);
    ASSERT_NE(initiator, nullptr);
    std::set<std::uint64_t> reported;  // tokens the old acceptor reported durable
    std::uint64_t old_next_sender = 0;
    {
        auto acceptor = started(ao, acceptor_handler_);
        ASSERT_NE(acceptor, nullptr);
        ASSERT_TRUE(initiator_handler_.wait_logged_on(kPsp1, true));
        ASSERT_TRUE(acceptor_handler_.wait_logged_on(kAcceptorPsp1, true));
        std::thread orders([&] {
            for (int i = 1; i <= kOrders / 2; ++i) {
                initiator->send(kPsp1, new_order("C-" + std::to_string(i)),
                                static_cast<std::uint64_t>(i));
                if (i % 20 == 0) {
                    std::this_thread::sleep_for(std::chrono::milliseconds(2));
                }
            }
        });
        for (int i = 1; i <= kCrashAfter; ++i) {
            acceptor->send(kAcceptorPsp1,
                           execution_report("C-" + std::to_string(i), "E-" + std::to_string(i)),
                           static_cast<std::uint64_t>(i));
            if (i % 25 == 0) {
                std::this_thread::sleep_for(std::chrono::milliseconds(3));
            }
        }
        // Let some of them become durable, then "kill" the store.
        acceptor_handler_.wait_sent(kAcceptorPsp1, kCrashAfter / 2);
        fxsettle::adapters::LmdbStoreOptions so;
        so.path = ao.store_path;
        fxsettle::adapters::LmdbStoreFactory same_file(so);  // joins the host's environment
        orders.join();
        same_file.simulate_crash();
        // Reports already on their way to on_sent were durable before the crash; none
        // after this pause is.
        std::this_thread::sleep_for(std::chrono::milliseconds(200));
        for (const std::uint64_t t : acceptor_handler_.wait_sent(kAcceptorPsp1, 0)) {
            reported.insert(t);
        }
        // Orders received now advance the acceptor's target number in memory only: after
        // the restart they come again, with PossDupFlag.
        for (int i = kOrders / 2 + 1; i <= kOrders; ++i) {
            initiator->send(kPsp1, new_order("C-" + std::to_string(i)),
                            static_cast<std::uint64_t>(i));
        }
        for (int i = kCrashAfter + 1; i <= kCrashAfter + kOnTheWire; ++i) {
            acceptor->send(kAcceptorPsp1,
                           execution_report("C-" + std::to_string(i), "E-" + std::to_string(i)),
                           static_cast<std::uint64_t>(i));
        }
        acceptor_handler_.wait_messages(kAcceptorPsp1, static_cast<std::size_t>(kOrders));
        // On the wire but never durable: those reports reach the initiator (no logon is
        // lost on the way), and their tokens are never reported.
        initiator_handler_.wait_messages(kPsp1, static_cast<std::size_t>(kCrashAfter + kOnTheWire));
        old_next_sender = acceptor->session_counters()[0].next_sender_seq;
        for (const std::uint64_t t : acceptor_handler_.wait_sent(kAcceptorPsp1, 0)) {
            EXPECT_TRUE(reported.count(t) != 0) << "token " << t << " reported after the crash";
        }
        acceptor->stop("crash", std::chrono::milliseconds(200));
    }
    EXPECT_LT(reported.size(), static_cast<std::size_t>(kCrashAfter + kOnTheWire));
    ASSERT_TRUE(initiator_handler_.wait_logged_on(kPsp1, false));

    // The restart.
    RecordingHandler acceptor_handler;
    auto acceptor = started(ao, acceptor_handler);
    ASSERT_NE(acceptor, nullptr);
    const std::uint64_t new_next_sender = acceptor->session_counters()[0].next_sender_seq;
    EXPECT_GT(new_next_sender, old_next_sender)
        << "the sender must start above every number the crashed store handed out";
    std::printf("[ crash    ] %zu of %d reports durable before the crash; sender %llu -> %llu\n",
                reported.size(), kCrashAfter + kOnTheWire,
                static_cast<unsigned long long>(old_next_sender),
                static_cast<unsigned long long>(new_next_sender));
    ASSERT_TRUE(initiator_handler_.wait_logged_on(kPsp1, true));
    // The outbox's redelivery: every report not reported durable, again, with PossResend.
    for (int i = 1; i <= kCrashAfter + kOnTheWire; ++i) {
        if (reported.count(static_cast<std::uint64_t>(i)) == 0) {
            WireMessage m = execution_report("C-" + std::to_string(i), "E-" + std::to_string(i));
            m.poss_resend = true;
            acceptor->send(kAcceptorPsp1, m, static_cast<std::uint64_t>(i));
        }
    }
    for (int i = kCrashAfter + kOnTheWire + 1; i <= kReports; ++i) {
        acceptor->send(kAcceptorPsp1,
                       execution_report("C-" + std::to_string(i), "E-" + std::to_string(i)),
                       static_cast<std::uint64_t>(i));
    }
    initiator->send(kPsp1, new_order("C-LAST"), 9999);

    // Every report reached the initiator, at least once.
    const auto has_all_reports = [&] {
        std::set<std::string> ids;
        for (const WireMessage& m : initiator_handler_.wait_messages(kPsp1, 0)) {
            ids.insert(value_or_empty(m, 17));
        }
        for (int i = 1; i <= kReports; ++i) {
            if (ids.count("E-" + std::to_string(i)) == 0) {
                return "E-" + std::to_string(i);
            }
        }
        return std::string();
    };
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    std::string missing = has_all_reports();
    while (!missing.empty() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        missing = has_all_reports();
    }
    EXPECT_EQ(missing, "") << "a report never reached the initiator";
    // Every order reached the acceptor side (before the crash, or again after it).
    const auto has_last_order = [&] {
        for (const WireMessage& m : acceptor_handler.wait_messages(kAcceptorPsp1, 0)) {
            if (value_or_empty(m, 11) == "C-LAST") {
                return true;
            }
        }
        return false;
    };
    while (!has_last_order() && std::chrono::steady_clock::now() < deadline + kWait) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::set<std::string> orders;
    for (const WireMessage& m : acceptor_handler_.wait_messages(kAcceptorPsp1, 0)) {
        orders.insert(value_or_empty(m, 11));
    }
    bool saw_poss_dup = false;
    for (const WireMessage& m : acceptor_handler.wait_messages(kAcceptorPsp1, 1)) {
        orders.insert(value_or_empty(m, 11));
        saw_poss_dup = saw_poss_dup || m.poss_dup;
    }
    for (int i = 1; i <= kOrders; ++i) {
        EXPECT_TRUE(orders.count("C-" + std::to_string(i)) != 0) << "order C-" << i << " lost";
    }
    EXPECT_TRUE(orders.count("C-LAST") != 0);
    EXPECT_TRUE(saw_poss_dup) << "the restarted acceptor should have asked for orders again";
    // Every report sent after the restart is reported durable, and the sessions are up.
    EXPECT_GE(
        acceptor_handler
            .wait_sent(kAcceptorPsp1, static_cast<std::size_t>(kReports - kCrashAfter - kOnTheWire))
            .size(),
        static_cast<std::size_t>(kReports - kCrashAfter - kOnTheWire));
    EXPECT_TRUE(acceptor->logged_on(kAcceptorPsp1));
    EXPECT_TRUE(initiator->logged_on(kPsp1));
    EXPECT_EQ(initiator->counters().rejected_in, 0u);
    initiator->stop();
    acceptor->stop();
}

// Logs on as `sender` by hand over a raw socket and then never reads.
int raw_logon(std::uint16_t port, const std::string& sender) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_port = htons(port);
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&in), sizeof in) != 0) {
        ::close(fd);
        return -1;
    }
    FIX::Message logon;
    logon.getHeader().setField(8, "FIX.4.4");
    logon.getHeader().setField(35, "A");
    logon.getHeader().setField(49, sender);
    logon.getHeader().setField(56, "FXSETTLE");
    logon.getHeader().setField(34, "1");
    logon.getHeader().setField(52, FIX::UtcTimeStampConvertor::convert(FIX::UtcTimeStamp(), 3));
    logon.setField(98, "0");
    logon.setField(108, "30");
    logon.setField(141, "Y");
    logon.setField(553, sender);
    logon.setField(554, sender + "-secret");
    const std::string text = logon.toString();
    if (::send(fd, text.data(), text.size(), 0) != static_cast<ssize_t>(text.size())) {
        ::close(fd);
        return -1;
    }
    return fd;
}

TEST_F(SessionHostTest, ASlowConsumerIsLoggedOutAndCountedAndTheHostStaysHealthy) {
    const std::uint16_t port = free_port();
    HostOptions ao = acceptor_options(port, {"PSP1", "PSP2"});
    ao.outbound_queue_max = 16;
    auto acceptor = started(ao, acceptor_handler_);
    ASSERT_NE(acceptor, nullptr);
    auto initiator = started(initiator_options(port), initiator_handler_);
    ASSERT_NE(initiator, nullptr);
    const int raw = raw_logon(port, "PSP2");
    ASSERT_GE(raw, 0);
    ASSERT_TRUE(acceptor_handler_.wait_logged_on(kAcceptorPsp2, true));

    // PSP2 never reads. Once the socket's buffers are full (a few MB on loopback: more
    // than 16 messages of 3 kB, so the test sends until the queue reports it, up to
    // 12 MB), the sender blocks and the queue reaches its limit.
    std::size_t slow = 0;
    std::uint64_t queued = 0;
    WireMessage report = execution_report("C-1", "E-1");
    report.add(58, std::string(3000, 'x'));
    constexpr std::uint64_t kMessagesMax = 4000;
    while (queued < kMessagesMax && slow == 0) {
        ++queued;
        if (acceptor->send(kAcceptorPsp2, report, queued) == SendResult::kSlowConsumer) {
            ++slow;
        }
    }
    EXPECT_GT(slow, 0u) << "send() never said slow consumer in " << queued << " messages";
    EXPECT_EQ(acceptor->counters().slow_consumer_logouts, 1u);
    EXPECT_TRUE(acceptor_handler_.wait_logged_on(kAcceptorPsp2, false))
        << "the slow consumer was not logged out";
    // Nothing queued is lost: every message is handed to QuickFIX (stored).
    EXPECT_EQ(acceptor_handler_.wait_sent(kAcceptorPsp2, queued).size(), queued);

    // PSP1's session on the same host is unaffected.
    ASSERT_TRUE(initiator_handler_.wait_logged_on(kPsp1, true));
    initiator->send(kPsp1, new_order("C-after"));
    const std::vector<WireMessage> got = acceptor_handler_.wait_messages(kAcceptorPsp1, 1);
    ASSERT_EQ(got.size(), 1u);
    acceptor->send(kAcceptorPsp1, execution_report("C-after", "E-after"));
    EXPECT_EQ(initiator_handler_.wait_messages(kPsp1, 1).size(), 1u);
    ::close(raw);
    initiator->stop();
    acceptor->stop();
}

TEST_F(SessionHostTest, StartFailsNamingTheAddressWhenThePortIsInUse) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&in), sizeof in), 0);
    ASSERT_EQ(::listen(fd, 1), 0);
    socklen_t len = sizeof in;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&in), &len);
    const std::uint16_t port = ntohs(in.sin_port);

    std::string error;
    auto host = SessionHost::create(acceptor_options(port), acceptor_handler_, &error);
    ASSERT_NE(host, nullptr) << error;
    EXPECT_FALSE(host->start(&error));
    EXPECT_EQ(error,
              "cannot listen on 127.0.0.1:" + std::to_string(port) + ": Address already in use");
    host->stop();
    ::close(fd);
}

TEST_F(SessionHostTest,
       CreateFailsWithAClearErrorForBadOptionsAMissingDictionaryAndAnUnopenableStore) {
    std::string error;
    HostOptions o = acceptor_options(free_port());
    o.dictionary_path = dir_.file("missing.xml");
    EXPECT_EQ(SessionHost::create(o, acceptor_handler_, &error), nullptr);
    EXPECT_EQ(error.find("cannot load data dictionary " + o.dictionary_path), 0u) << error;

    o = acceptor_options(free_port());
    o.store_path = dir_.file("no/such/dir/store.lmdb");
    EXPECT_EQ(SessionHost::create(o, acceptor_handler_, &error), nullptr);
    EXPECT_EQ(error.find("cannot open message store " + o.store_path), 0u) << error;

    o = acceptor_options(free_port());
    o.sessions.clear();
    EXPECT_EQ(SessionHost::create(o, acceptor_handler_, &error), nullptr);
    EXPECT_EQ(error, "sessions is empty");

    o = acceptor_options(free_port(), {"PSP1", "PSP1"});
    EXPECT_EQ(SessionHost::create(o, acceptor_handler_, &error), nullptr);
    EXPECT_EQ(error, "session FXSETTLE->PSP1: appears twice");

    o = acceptor_options(free_port());
    o.bind_address = "localhost";
    EXPECT_EQ(SessionHost::create(o, acceptor_handler_, &error), nullptr);
    EXPECT_EQ(error, "bind_address 'localhost' is not an IPv4 address");

    o = acceptor_options(free_port());
    o.outbound_queue_max = 0;
    EXPECT_EQ(SessionHost::create(o, acceptor_handler_, &error), nullptr);
    EXPECT_NE(error.find("outbound_queue_max"), std::string::npos) << error;

    HostOptions i = initiator_options(0);
    EXPECT_EQ(SessionHost::create(i, initiator_handler_, &error), nullptr);
    EXPECT_EQ(error, "session PSP1->FXSETTLE: connect_port is 0");

    o = acceptor_options(free_port());
    o.sessions[0].tls.enabled = true;
    EXPECT_EQ(SessionHost::create(o, acceptor_handler_, &error), nullptr);
    EXPECT_EQ(error, "tls: an acceptor needs cert and key");
}

class SessionHostTlsTest : public SessionHostTest {
  protected:
    void SetUp() override { pki_ = fxsettle::testing::make_test_pki(dir_.path()); }
    fxsettle::testing::TestPki pki_;
};

TEST_F(SessionHostTlsTest, ASessionLogsOnOverMutualTlsAndMessagesFlow) {
    const std::uint16_t port = free_port();
    HostOptions ao = acceptor_options(port);
    ao.sessions[0].tls.enabled = true;
    ao.sessions[0].tls.cert = pki_.server_cert;
    ao.sessions[0].tls.key = pki_.server_key;
    ao.sessions[0].tls.ca = pki_.ca_cert;
    ao.sessions[0].tls.require_peer_cert = true;
    auto acceptor = started(ao, acceptor_handler_);
    ASSERT_NE(acceptor, nullptr);
    EXPECT_EQ(fxsettle::adapters::detail::listening_addresses(port),
              std::vector<std::string>{"127.0.0.1"});
    HostOptions io = initiator_options(port);
    io.sessions[0].tls.enabled = true;
    io.sessions[0].tls.cert = pki_.client_cert;
    io.sessions[0].tls.key = pki_.client_key;
    io.sessions[0].tls.ca = pki_.ca_cert;
    auto initiator = started(io, initiator_handler_);
    ASSERT_NE(initiator, nullptr);
    ASSERT_TRUE(initiator_handler_.wait_logged_on(kPsp1, true));
    initiator->send(kPsp1, new_order("C-tls"));
    const std::vector<WireMessage> got = acceptor_handler_.wait_messages(kAcceptorPsp1, 1);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(*got[0].find(11), "C-tls");
    acceptor->send(kAcceptorPsp1, execution_report("C-tls", "E-tls"));
    EXPECT_EQ(initiator_handler_.wait_messages(kPsp1, 1).size(), 1u);
    initiator->stop();
    acceptor->stop();
}

TEST_F(SessionHostTlsTest, WithRequirePeerCertAClientWithoutAnAcceptedCertificateCannotLogOn) {
    const std::uint16_t port = free_port();
    HostOptions ao = acceptor_options(port);
    ao.sessions[0].tls.enabled = true;
    ao.sessions[0].tls.cert = pki_.server_cert;
    ao.sessions[0].tls.key = pki_.server_key;
    ao.sessions[0].tls.ca = pki_.ca_cert;
    ao.sessions[0].tls.require_peer_cert = true;
    auto acceptor = started(ao, acceptor_handler_);
    ASSERT_NE(acceptor, nullptr);

    // No client certificate at all.
    HostOptions io = initiator_options(port);
    io.sessions[0].tls.enabled = true;
    io.sessions[0].tls.ca = pki_.ca_cert;
    {
        auto initiator = started(io, initiator_handler_);
        ASSERT_NE(initiator, nullptr);
        EXPECT_FALSE(
            initiator_handler_.wait_logged_on(kPsp1, true, std::chrono::milliseconds(3000)));
        initiator->stop();
    }
    // A certificate from a CA the acceptor does not trust.
    io.sessions[0].tls.cert = pki_.stranger_cert;
    io.sessions[0].tls.key = pki_.stranger_key;
    io.store_path = dir_.file("initiator2.lmdb");
    {
        RecordingHandler handler;
        auto initiator = started(io, handler);
        ASSERT_NE(initiator, nullptr);
        EXPECT_FALSE(handler.wait_logged_on(kPsp1, true, std::chrono::milliseconds(3000)));
        initiator->stop();
    }
    EXPECT_EQ(acceptor_handler_.logons(kAcceptorPsp1), 0);
    EXPECT_EQ(acceptor_handler_.message_count(kAcceptorPsp1), 0u);
    acceptor->stop();
}

}  // namespace
