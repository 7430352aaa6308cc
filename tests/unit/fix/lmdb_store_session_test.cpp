// Two real QuickFIX sessions over loopback TCP with fxsettle's data dictionary
// (validation on) and the LMDB message store on both sides:
//   1. a ThreadedSocketAcceptor ("FXSETTLE") and a ThreadedSocketInitiator ("PSP1", Logon
//      with Username/Password) exchange orders, execution reports and user-defined
//      payout messages; a message that breaks the dictionary gets a Reject naming the tag
//      (QuickFIX's own check, and validate_strict for a field inside a group);
//   2. the initiator goes away; the acceptor sends two execution reports that are only
//      stored; then both engines are destroyed and built again on the same LMDB files;
//   3. after the restart the sequence numbers resume where they were (no reset), the
//      initiator sees the gap and sends a ResendRequest, and the acceptor answers it from
//      its store: both reports arrive with PossDupFlag=Y; traffic then continues.
//
// Every message is sent from the test thread; the applications' callbacks (QuickFIX's
// reader threads) only record and notify (issue 5: never send from fromApp).
//
// QuickFIX 1.15.1's acceptor has no bind-address setting and listens on INADDR_ANY. So
// that the test listens on 127.0.0.1 only, this file interposes bind(): an IPv4 bind to
// INADDR_ANY becomes a bind to INADDR_LOOPBACK, and the test checks the listening
// socket's address in /proc/net/tcp.
#include <arpa/inet.h>
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <quickfix/Application.h>
#include <quickfix/DataDictionary.h>
#include <quickfix/Message.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/ThreadedSocketAcceptor.h>
#include <quickfix/ThreadedSocketInitiator.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <sstream>
#include <string>
#include <vector>

#include "adapters/fix/lmdb_store.h"
#include "adapters/fix/strict_validation.h"
#include "tests/unit/fix/fix_test_support.h"

#ifndef FXSETTLE_FIX_DICTIONARY
#error "FXSETTLE_FIX_DICTIONARY must name config/fix/FIX44-fxsettle.xml"
#endif

// ---- bind() interposition: loopback only -------------------------------------------------

extern "C" int bind(int fd, const struct sockaddr* addr, socklen_t len) noexcept {
    using BindFn = int (*)(int, const struct sockaddr*, socklen_t);
    static BindFn real = reinterpret_cast<BindFn>(::dlsym(RTLD_NEXT, "bind"));
    if (addr != nullptr && addr->sa_family == AF_INET && len >= sizeof(sockaddr_in)) {
        sockaddr_in in;
        std::memcpy(&in, addr, sizeof in);
        if (in.sin_addr.s_addr == htonl(INADDR_ANY)) {
            in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
            return real(fd, reinterpret_cast<const sockaddr*>(&in), sizeof in);
        }
    }
    return real(fd, addr, len);
}

namespace {

using fxsettle::adapters::LmdbStoreFactory;
using fxsettle::adapters::LmdbStoreOptions;
using fxsettle::testing::TempDir;

const std::chrono::seconds kWait(15);

// A port that was free on 127.0.0.1 a moment ago.
int free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    in.sin_port = 0;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&in), sizeof in) != 0) {
        ::close(fd);
        return -1;
    }
    socklen_t len = sizeof in;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&in), &len);
    ::close(fd);
    return ntohs(in.sin_port);
}

// The local addresses (hex, as /proc/net/tcp shows them) of sockets listening on `port`.
std::vector<std::string> listening_addresses(int port) {
    std::vector<std::string> out;
    std::ifstream tcp("/proc/net/tcp");
    std::string line;
    std::getline(tcp, line);  // header
    char want[8];
    std::snprintf(want, sizeof want, "%04X", port);
    while (std::getline(tcp, line)) {
        std::istringstream in(line);
        std::string slot, local, remote, state;
        in >> slot >> local >> remote >> state;
        const std::size_t colon = local.find(':');
        if (state == "0A" && colon != std::string::npos && local.substr(colon + 1) == want) {
            out.push_back(local.substr(0, colon));
        }
    }
    return out;
}

std::string field_or(const FIX::FieldMap& map, int tag, const std::string& fallback = "") {
    return map.isSetField(tag) ? map.getField(tag) : fallback;
}

// Records what a session receives and sends; wakes the test thread. Never sends.
class RecordingApp : public FIX::Application {
  public:
    RecordingApp(const FIX::DataDictionary& dictionary, bool is_acceptor)
        : dictionary_(dictionary), is_acceptor_(is_acceptor) {}

    void onCreate(const FIX::SessionID&) override {}
    void onLogon(const FIX::SessionID&) override {
        std::lock_guard<std::mutex> lock(mutex_);
        logged_on_ = true;
        ++logons_;
        cv_.notify_all();
    }
    void onLogout(const FIX::SessionID&) override {
        std::lock_guard<std::mutex> lock(mutex_);
        logged_on_ = false;
        cv_.notify_all();
    }
    void toAdmin(FIX::Message& message, const FIX::SessionID&) override {
        const std::string type = message.getHeader().getField(FIX::FIELD::MsgType);
        if (!is_acceptor_ && type == "A") {
            message.setField(553, "psp1");
            message.setField(554, "psp1-secret");
        }
        std::lock_guard<std::mutex> lock(mutex_);
        admin_out_.push_back(message);
    }
    void toApp(FIX::Message&, const FIX::SessionID&) throw(FIX::DoNotSend) override {}
    void fromAdmin(const FIX::Message& message,
                   const FIX::SessionID&) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                                FIX::IncorrectTagValue, FIX::RejectLogon) override {
        const std::string type = message.getHeader().getField(FIX::FIELD::MsgType);
        if (is_acceptor_ && type == "A") {
            if (field_or(message, 553) != "psp1" || field_or(message, 554) != "psp1-secret") {
                throw FIX::RejectLogon("bad credentials");
            }
        }
        std::lock_guard<std::mutex> lock(mutex_);
        admin_in_.push_back(message);
        cv_.notify_all();
    }
    void fromApp(const FIX::Message& message,
                 const FIX::SessionID&) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                              FIX::IncorrectTagValue,
                                              FIX::UnsupportedMessageType) override {
        // What QuickFIX's validation leaves out; a throw here becomes a Reject.
        fxsettle::adapters::validate_strict(message, dictionary_);
        std::lock_guard<std::mutex> lock(mutex_);
        app_in_.push_back(message);
        cv_.notify_all();
    }

    bool wait_logged_on(bool state) {
        std::unique_lock<std::mutex> lock(mutex_);
        return cv_.wait_for(lock, kWait, [&] { return logged_on_ == state; });
    }
    // Waits until at least `count` application messages were received; returns them.
    std::vector<FIX::Message> wait_app(std::size_t count) {
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait_for(lock, kWait, [&] { return app_in_.size() >= count; });
        return app_in_;
    }
    // Waits for an incoming admin message of `type` matching `pred`.
    bool wait_admin_in(const std::string& type,
                       const std::function<bool(const FIX::Message&)>& pred,
                       FIX::Message* found = nullptr) {
        std::unique_lock<std::mutex> lock(mutex_);
        return cv_.wait_for(lock, kWait, [&] {
            for (const FIX::Message& m : admin_in_) {
                if (m.getHeader().getField(FIX::FIELD::MsgType) == type && pred(m)) {
                    if (found != nullptr) {
                        *found = m;
                    }
                    return true;
                }
            }
            return false;
        });
    }
    std::vector<FIX::Message> admin_out() {
        std::lock_guard<std::mutex> lock(mutex_);
        return admin_out_;
    }
    std::vector<FIX::Message> admin_in() {
        std::lock_guard<std::mutex> lock(mutex_);
        return admin_in_;
    }
    void clear() {
        std::lock_guard<std::mutex> lock(mutex_);
        app_in_.clear();
        admin_in_.clear();
        admin_out_.clear();
    }

  private:
    const FIX::DataDictionary& dictionary_;
    const bool is_acceptor_;
    std::mutex mutex_;
    std::condition_variable cv_;
    bool logged_on_ = false;
    int logons_ = 0;
    std::vector<FIX::Message> app_in_;
    std::vector<FIX::Message> admin_in_;
    std::vector<FIX::Message> admin_out_;
};

std::string settings_text(bool acceptor, int port) {
    std::ostringstream s;
    s << "[DEFAULT]\n"
      << "BeginString=FIX.4.4\n"
      << "StartTime=00:00:00\nEndTime=00:00:00\n"
      << "HeartBtInt=30\n"
      << "UseDataDictionary=Y\n"
      << "DataDictionary=" << FXSETTLE_FIX_DICTIONARY << "\n"
      << "ValidateUserDefinedFields=Y\nValidateFieldsOutOfOrder=Y\nValidateFieldsHaveValues=Y\n"
      << "ReconnectInterval=1\nSocketNodelay=Y\nSocketReuseAddress=Y\n"
      << "LogonTimeout=10\nLogoutTimeout=2\n"
      << "[SESSION]\n";
    if (acceptor) {
        s << "ConnectionType=acceptor\nSenderCompID=FXSETTLE\nTargetCompID=PSP1\n"
          << "SocketAcceptPort=" << port << "\n";
    } else {
        s << "ConnectionType=initiator\nSenderCompID=PSP1\nTargetCompID=FXSETTLE\n"
          << "SocketConnectHost=127.0.0.1\nSocketConnectPort=" << port << "\n";
    }
    return s.str();
}

FIX::SessionSettings settings(bool acceptor, int port) {
    std::istringstream in(settings_text(acceptor, port));
    return FIX::SessionSettings(in);
}

const FIX::SessionID kAcceptorSide("FIX.4.4", "FXSETTLE", "PSP1");
const FIX::SessionID kInitiatorSide("FIX.4.4", "PSP1", "FXSETTLE");

FIX::Message new_order(const std::string& cl_ord_id) {
    FIX::Message m;
    m.getHeader().setField(FIX::FIELD::MsgType, "D");
    m.setField(11, cl_ord_id);
    m.setField(55, "EUR/USD");
    m.setField(54, "1");
    m.setField(60, "20240105-10:00:00.000");
    m.setField(38, "1000000.00");
    m.setField(40, "2");
    m.setField(44, "1.0850");
    m.setField(59, "1");
    m.setField(63, "0");
    return m;
}

FIX::Message execution_report(const std::string& cl_ord_id, const std::string& exec_id) {
    FIX::Message m;
    m.getHeader().setField(FIX::FIELD::MsgType, "8");
    m.setField(37, "1001");
    m.setField(11, cl_ord_id);
    m.setField(17, exec_id);
    m.setField(150, "0");
    m.setField(39, "0");
    m.setField(55, "EUR/USD");
    m.setField(54, "1");
    m.setField(151, "1000000.00");
    m.setField(14, "0");
    m.setField(6, "0");
    return m;
}

FIX::Message payout_instruction(const std::string& id) {
    FIX::Message m;
    m.getHeader().setField(FIX::FIELD::MsgType, "U1");
    m.setField(7100, id);
    m.setField(15, "CNY");
    m.setField(60, "20240105-10:00:00.000");
    m.setField(7102, "35000.00");
    m.setField(7103, "USD");
    m.setField(7105, "BANK_CN1");
    m.setField(7106, "6222020200112233");
    m.setField(7107, "Shenzhen Widgets Co");
    m.setField(7108, "CN");
    return m;
}

FIX::Message payout_status(const std::string& id) {
    FIX::Message m;
    m.getHeader().setField(FIX::FIELD::MsgType, "U2");
    m.setField(60, "20240105-10:00:00.000");
    m.setField(7100, id);
    m.setField(7101, "9001");
    m.setField(7112, "A");
    return m;
}

// A PaymentOrder whose second line has LineAmt (7204) "abc": only validate_strict sees it.
FIX::Message payment_order_with_bad_line() {
    FIX::Message m;
    m.getHeader().setField(FIX::FIELD::MsgType, "U3");
    m.setField(15, "CNY");
    m.setField(60, "20240105-10:00:00.000");
    m.setField(64, "20240109");
    m.setField(7200, "PO-1");
    m.setField(7201, "100.00");
    for (int line = 0; line < 2; ++line) {
        FIX::Group g(7202, 7203);
        g.setField(7203, std::to_string(line));
        g.setField(7101, "900" + std::to_string(line));
        g.setField(7105, "BANK_CN1");
        g.setField(7106, "62220202");
        g.setField(7107, "Li Wei");
        g.setField(7108, "CN");
        g.setField(7204, line == 0 ? "50.00" : "abc");
        g.setField(7205, "CNY");
        m.addGroup(g);
    }
    return m;
}

int seq_of(const FIX::Message& m) {
    return std::stoi(m.getHeader().getField(FIX::FIELD::MsgSeqNum));
}

class LmdbStoreSessionTest : public ::testing::Test {
  protected:
    LmdbStoreSessionTest() : dictionary_(FXSETTLE_FIX_DICTIONARY) {}

    std::unique_ptr<LmdbStoreFactory> store(const std::string& name) {
        LmdbStoreOptions options;
        options.path = dir_.file(name);
        return std::unique_ptr<LmdbStoreFactory>(new LmdbStoreFactory(options));
    }

    TempDir dir_;
    FIX::DataDictionary dictionary_;
};

TEST_F(LmdbStoreSessionTest, SequenceNumbersResumeAndResendIsAnsweredFromTheStoreAfterRestart) {
    const int port = free_port();
    ASSERT_GT(port, 0);
    RecordingApp acceptor_app(dictionary_, true);
    RecordingApp initiator_app(dictionary_, false);

    int acceptor_next_sender = 0;
    int acceptor_next_target = 0;
    int initiator_next_sender = 0;
    {
        // ---- 1. both up: traffic, and rejects naming the tag
        auto acceptor_store = store("acceptor.lmdb");
        auto initiator_store = store("initiator.lmdb");
        FIX::ThreadedSocketAcceptor acceptor(acceptor_app, *acceptor_store, settings(true, port));
        FIX::ThreadedSocketInitiator initiator(initiator_app, *initiator_store,
                                               settings(false, port));
        acceptor.start();
        const std::vector<std::string> listening = listening_addresses(port);
        ASSERT_EQ(listening.size(), 1u);
        EXPECT_EQ(listening[0], "0100007F") << "the acceptor must listen on 127.0.0.1 only";
        initiator.start();
        ASSERT_TRUE(acceptor_app.wait_logged_on(true));
        ASSERT_TRUE(initiator_app.wait_logged_on(true));

        for (int i = 1; i <= 3; ++i) {
            FIX::Message order = new_order("C-" + std::to_string(i));
            ASSERT_TRUE(FIX::Session::sendToTarget(order, kInitiatorSide));
        }
        FIX::Message instruction = payout_instruction("PI-1");
        ASSERT_TRUE(FIX::Session::sendToTarget(instruction, kInitiatorSide));
        const std::vector<FIX::Message> received = acceptor_app.wait_app(4);
        ASSERT_EQ(received.size(), 4u);
        EXPECT_EQ(received[0].getField(11), "C-1");
        EXPECT_EQ(received[2].getField(11), "C-3");
        EXPECT_EQ(received[3].getField(7107), "Shenzhen Widgets Co");

        for (int i = 1; i <= 3; ++i) {
            FIX::Message report =
                execution_report("C-" + std::to_string(i), "E-" + std::to_string(i));
            ASSERT_TRUE(FIX::Session::sendToTarget(report, kAcceptorSide));
        }
        FIX::Message status = payout_status("PI-1");
        ASSERT_TRUE(FIX::Session::sendToTarget(status, kAcceptorSide));
        const std::vector<FIX::Message> reports = initiator_app.wait_app(4);
        ASSERT_EQ(reports.size(), 4u);
        EXPECT_EQ(reports[3].getField(7112), "A");

        // QuickFIX's validation: NewOrderSingle without Symbol -> Reject 371=55, 373=1.
        FIX::Message no_symbol = new_order("C-bad");
        no_symbol.removeField(55);
        ASSERT_TRUE(FIX::Session::sendToTarget(no_symbol, kInitiatorSide));
        FIX::Message reject;
        ASSERT_TRUE(initiator_app.wait_admin_in(
            "3", [](const FIX::Message& m) { return field_or(m, 371) == "55"; }, &reject));
        EXPECT_EQ(field_or(reject, 373), "1");
        // validate_strict in fromApp: a bad amount inside a group -> 371=7204, 373=6.
        FIX::Message bad_line = payment_order_with_bad_line();
        ASSERT_TRUE(FIX::Session::sendToTarget(bad_line, kInitiatorSide));
        ASSERT_TRUE(initiator_app.wait_admin_in(
            "3", [](const FIX::Message& m) { return field_or(m, 371) == "7204"; }, &reject));
        EXPECT_EQ(field_or(reject, 373), "6");
        EXPECT_EQ(acceptor_app.wait_app(4).size(), 4u);  // neither reached the application

        // ---- 2. the initiator goes; the acceptor's reports are only stored
        initiator.stop();
        ASSERT_TRUE(acceptor_app.wait_logged_on(false));
        FIX::Session* session = FIX::Session::lookupSession(kAcceptorSide);
        ASSERT_NE(session, nullptr);
        const int before = session->getExpectedSenderNum();
        for (int i = 4; i <= 5; ++i) {
            FIX::Message report = execution_report("C-3", "E-" + std::to_string(i));
            FIX::Session::sendToTarget(report, kAcceptorSide);  // false: not logged on
        }
        EXPECT_EQ(session->getExpectedSenderNum(), before + 2);
        acceptor_next_sender = session->getExpectedSenderNum();
        acceptor_next_target = session->getExpectedTargetNum();
        initiator_next_sender = FIX::Session::lookupSession(kInitiatorSide)->getExpectedSenderNum();
        EXPECT_GT(initiator_next_sender, 7);
        acceptor.stop();
    }  // engines, sessions, stores and environments are gone: a restart

    // ---- 3. restart on the same files
    acceptor_app.clear();
    initiator_app.clear();
    auto acceptor_store = store("acceptor.lmdb");
    auto initiator_store = store("initiator.lmdb");
    FIX::ThreadedSocketAcceptor acceptor(acceptor_app, *acceptor_store, settings(true, port));
    FIX::ThreadedSocketInitiator initiator(initiator_app, *initiator_store, settings(false, port));
    acceptor.start();
    FIX::Session* acceptor_session = FIX::Session::lookupSession(kAcceptorSide);
    ASSERT_NE(acceptor_session, nullptr);
    EXPECT_EQ(acceptor_session->getExpectedSenderNum(), acceptor_next_sender) << "no reset";
    EXPECT_EQ(acceptor_session->getExpectedTargetNum(), acceptor_next_target) << "no reset";
    initiator.start();
    ASSERT_TRUE(acceptor_app.wait_logged_on(true));
    ASSERT_TRUE(initiator_app.wait_logged_on(true));

    // The initiator's Logon continued its numbering.
    FIX::Message logon;
    ASSERT_TRUE(acceptor_app.wait_admin_in(
        "A", [](const FIX::Message&) { return true; }, &logon));
    EXPECT_EQ(seq_of(logon), initiator_next_sender);
    EXPECT_NE(field_or(logon, 141, "N"), "Y") << "no ResetSeqNumFlag";

    // The two stored reports come back, resent from the acceptor's store.
    const std::vector<FIX::Message> resent = initiator_app.wait_app(2);
    ASSERT_EQ(resent.size(), 2u);
    for (int i = 0; i < 2; ++i) {
        const FIX::Message& m = resent[static_cast<std::size_t>(i)];
        EXPECT_EQ(m.getField(17), "E-" + std::to_string(4 + i));
        EXPECT_EQ(field_or(m.getHeader(), 43), "Y") << "PossDupFlag";
        EXPECT_TRUE(m.getHeader().isSetField(122)) << "OrigSendingTime";
        EXPECT_EQ(seq_of(m), acceptor_next_sender - 2 + i);
    }
    // ... because the initiator asked for them.
    bool asked = false;
    for (const FIX::Message& m : initiator_app.admin_out()) {
        if (m.getHeader().getField(FIX::FIELD::MsgType) == "2") {
            asked = true;
            EXPECT_EQ(std::stoi(m.getField(7)), acceptor_next_sender - 2);
        }
    }
    EXPECT_TRUE(asked) << "the initiator sent a ResendRequest";

    // Traffic continues in both directions with no reject.
    FIX::Message order = new_order("C-4");
    ASSERT_TRUE(FIX::Session::sendToTarget(order, kInitiatorSide));
    const std::vector<FIX::Message> orders = acceptor_app.wait_app(1);
    ASSERT_EQ(orders.size(), 1u);
    EXPECT_EQ(seq_of(orders[0]), initiator_next_sender + 2);  // after Logon and ResendRequest
    FIX::Message report = execution_report("C-4", "E-6");
    ASSERT_TRUE(FIX::Session::sendToTarget(report, kAcceptorSide));
    const std::vector<FIX::Message> after = initiator_app.wait_app(3);
    ASSERT_EQ(after.size(), 3u);
    EXPECT_EQ(after[2].getField(17), "E-6");
    EXPECT_EQ(field_or(after[2].getHeader(), 43, "N"), "N");
    for (const FIX::Message& m : initiator_app.admin_in()) {
        EXPECT_NE(m.getHeader().getField(FIX::FIELD::MsgType), "3") << m.toString();
    }
    for (const FIX::Message& m : acceptor_app.admin_in()) {
        EXPECT_NE(m.getHeader().getField(FIX::FIELD::MsgType), "3") << m.toString();
    }

    initiator.stop();
    acceptor.stop();
}

}  // namespace
