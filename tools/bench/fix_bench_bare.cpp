#include "tools/bench/fix_bench_bare.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <quickfix/Application.h>
#include <quickfix/Message.h>
#include <quickfix/MessageStore.h>
#include <quickfix/Session.h>
#include <quickfix/SessionSettings.h>
#include <quickfix/ThreadedSocketAcceptor.h>
#include <quickfix/ThreadedSocketInitiator.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "adapters/fix/bind_override.h"
#include "tools/bench/fix_bench_cpu.h"

namespace fxsettle {
namespace bench {
namespace {

using Clock = std::chrono::steady_clock;

const FIX::SessionID kAcceptorSide("FIX.4.4", "ECHO", "CLIENT");
const FIX::SessionID kInitiatorSide("FIX.4.4", "CLIENT", "ECHO");

std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::uint16_t port = 0;
    socklen_t len = sizeof in;
    if (fd >= 0 && ::bind(fd, reinterpret_cast<sockaddr*>(&in), sizeof in) == 0 &&
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&in), &len) == 0) {
        port = ntohs(in.sin_port);
    }
    if (fd >= 0) {
        ::close(fd);
    }
    return port;
}

FIX::SessionSettings settings(bool acceptor, std::uint16_t port, const std::string& dictionary) {
    FIX::SessionSettings s;
    FIX::Dictionary d;
    d.setString("ConnectionType", acceptor ? "acceptor" : "initiator");
    d.setString("BeginString", "FIX.4.4");
    d.setString("StartTime", "00:00:00");
    d.setString("EndTime", "00:00:00");
    d.setString("UseDataDictionary", "Y");
    d.setString("DataDictionary", dictionary);
    d.setString("SocketNodelay", "Y");
    d.setString("ResetOnLogon", "Y");
    d.setInt("HeartBtInt", 30);
    d.setInt("ReconnectInterval", 1);
    s.set(d);
    FIX::Dictionary session;
    if (acceptor) {
        session.setInt("SocketAcceptPort", port);
        s.set(kAcceptorSide, session);
    } else {
        session.setString("SocketConnectHost", "127.0.0.1");
        session.setInt("SocketConnectPort", port);
        s.set(kInitiatorSide, session);
    }
    return s;
}

class Base : public FIX::Application {
  public:
    void onCreate(const FIX::SessionID&) override {}
    void onLogon(const FIX::SessionID&) override {
        std::lock_guard<std::mutex> lock(mutex_);
        logged_on_ = true;
        cv_.notify_all();
    }
    void onLogout(const FIX::SessionID&) override {
        std::lock_guard<std::mutex> lock(mutex_);
        logged_on_ = false;
        cv_.notify_all();
    }
    void toAdmin(FIX::Message&, const FIX::SessionID&) override {}
    void toApp(FIX::Message&, const FIX::SessionID&) throw(FIX::DoNotSend) override {}
    void fromAdmin(const FIX::Message&,
                   const FIX::SessionID&) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                                FIX::IncorrectTagValue, FIX::RejectLogon) override {
    }
    bool wait_logged_on() {
        std::unique_lock<std::mutex> lock(mutex_);
        return cv_.wait_for(lock, std::chrono::seconds(20), [&] { return logged_on_; });
    }

  protected:
    std::mutex mutex_;
    std::condition_variable cv_;
    bool logged_on_ = false;
};

// Answers every order with an ExecutionReport, from QuickFIX's reader thread (the bare
// QuickFIX way; the window keeps the pair from filling a socket).
class EchoAcceptor : public Base {
  public:
    void fromApp(const FIX::Message& order,
                 const FIX::SessionID& id) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                                 FIX::IncorrectTagValue,
                                                 FIX::UnsupportedMessageType) override {
        FIX::Message report;
        report.getHeader().setField(35, "8");
        report.setField(37, "1");
        report.setField(11, order.getField(11));
        report.setField(17, order.getField(11));
        report.setField(150, "0");
        report.setField(39, "0");
        report.setField(55, order.getField(55));
        report.setField(54, order.getField(54));
        report.setField(151, order.getField(38));
        report.setField(14, "0");
        report.setField(6, "0");
        FIX::Session::sendToTarget(report, id);
    }
};

class Client : public Base {
  public:
    Client(std::size_t total, std::size_t warmup) : sent_at_(total), warmup_(warmup), rtt_(total) {}

    void fromApp(const FIX::Message& report,
                 const FIX::SessionID&) throw(FIX::FieldNotFound, FIX::IncorrectDataFormat,
                                              FIX::IncorrectTagValue,
                                              FIX::UnsupportedMessageType) override {
        const Clock::time_point now = Clock::now();
        const std::size_t i = std::strtoul(report.getField(11).c_str() + 1, nullptr, 10);
        std::lock_guard<std::mutex> lock(mutex_);
        if (i < sent_at_.size()) {
            if (i >= warmup_) {
                rtt_.add(now - sent_at_[i]);
            }
            ++received_;
            last_ = now;
        }
        cv_.notify_all();
    }

    // Sends order i once fewer than `window` are outstanding.
    void send(std::size_t i, std::size_t window) {
        {
            std::unique_lock<std::mutex> lock(mutex_);
            cv_.wait(lock, [&] { return i - received_ < window; });
            sent_at_[i] = Clock::now();
        }
        FIX::Message order;
        order.getHeader().setField(35, "D");
        order.setField(11, "B" + std::to_string(i));
        order.setField(55, "EUR/USD");
        order.setField(54, "1");
        order.setField(60, "20240105-10:00:00.000");
        order.setField(38, "1000000.00");
        order.setField(40, "2");
        order.setField(44, "1.0850");
        order.setField(59, "1");
        order.setField(63, "0");
        FIX::Session::sendToTarget(order, kInitiatorSide);
    }
    bool wait_all(std::size_t total) {
        std::unique_lock<std::mutex> lock(mutex_);
        return cv_.wait_for(lock, std::chrono::seconds(120), [&] { return received_ >= total; });
    }
    Clock::time_point sent_at(std::size_t i) {
        std::lock_guard<std::mutex> lock(mutex_);
        return sent_at_[i];
    }
    Clock::time_point last() {
        std::lock_guard<std::mutex> lock(mutex_);
        return last_;
    }
    RttRecorder& rtt() { return rtt_; }

  private:
    std::vector<Clock::time_point> sent_at_;
    std::size_t warmup_;
    std::size_t received_ = 0;
    Clock::time_point last_;
    RttRecorder rtt_;
};

}  // namespace

bool run_bare_echo(const BareEchoOptions& options, EchoFigures* figures, std::string* error) {
    const std::uint16_t port = free_port();
    if (port == 0) {
        *error = "no free port on 127.0.0.1";
        return false;
    }
    if (options.window == 0 || options.messages == 0) {
        *error = "messages and window must be at least 1";
        return false;
    }
    const std::size_t total = options.warmup + options.messages;
    try {
        FIX::MemoryStoreFactory acceptor_store;
        FIX::MemoryStoreFactory initiator_store;
        EchoAcceptor echo;
        Client client(total, options.warmup);
        FIX::ThreadedSocketAcceptor acceptor(echo, acceptor_store,
                                             settings(true, port, options.dictionary_path));
        FIX::ThreadedSocketInitiator initiator(client, initiator_store,
                                               settings(false, port, options.dictionary_path));
        {
            in_addr loopback{};
            loopback.s_addr = htonl(INADDR_LOOPBACK);
            adapters::detail::ScopedBindOverride on_loopback(loopback, port,
                                                             std::chrono::milliseconds(0));
            acceptor.start();
        }
        initiator.start();
        if (!client.wait_logged_on() || !echo.wait_logged_on()) {
            *error = "the echo pair did not log on";
            initiator.stop(true);
            acceptor.stop(true);
            return false;
        }
        CpuSample cpu_before;
        for (std::size_t i = 0; i < total; ++i) {
            if (i == options.warmup) {
                cpu_before = cpu_sample();
            }
            client.send(i, options.window);
        }
        const bool done = client.wait_all(total);
        const CpuSpent cpu = cpu_spent(cpu_before, cpu_sample());
        initiator.stop();
        acceptor.stop();
        if (!done) {
            *error = "not every order was answered within 120 s";
            return false;
        }
        const std::size_t first = options.warmup;
        const double seconds =
            std::chrono::duration<double>(client.last() - client.sent_at(first)).count();
        figures->messages = options.messages;
        figures->seconds = seconds;
        figures->msgs_per_s = seconds > 0 ? static_cast<double>(options.messages) / seconds : 0;
        figures->rtt_us_p50 = client.rtt().percentile_us(50);
        figures->rtt_us_p99 = client.rtt().percentile_us(99);
        figures->cpu_s = static_cast<double>(cpu.process_us) / 1e6;
        figures->cpu_us_per_round_trip =
            static_cast<double>(cpu.process_us) / static_cast<double>(options.messages);
        figures->cpu_s_by_thread = cpu.by_name_s;
    } catch (const std::exception& e) {
        *error = std::string("QuickFIX: ") + e.what();
        return false;
    }
    return true;
}

}  // namespace bench
}  // namespace fxsettle
