#include "tests/integration/hostile/raw_fix_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>

namespace fxsettle::hostile {

struct RawFixClient::Tls {
    SSL_CTX* ctx = nullptr;
    SSL* ssl = nullptr;
    ~Tls() {
        if (ssl != nullptr)
            SSL_free(ssl);
        if (ctx != nullptr)
            SSL_CTX_free(ctx);
    }
};

namespace {

std::string openssl_error(const char* what) {
    std::string out = what;
    while (const unsigned long e = ERR_get_error()) {
        char buf[256];
        ERR_error_string_n(e, buf, sizeof buf);
        out += ": ";
        out += buf;
    }
    return out;
}

}  // namespace

const std::string* FixMessage::find(int tag) const {
    for (const FixField& f : fields) {
        if (f.tag == tag)
            return &f.value;
    }
    return nullptr;
}

std::string FixMessage::get(int tag) const {
    const std::string* v = find(tag);
    return v != nullptr ? *v : std::string();
}

std::string FixMessage::text() const {
    std::string out = raw;
    for (char& c : out) {
        if (c == kSoh)
            c = '|';
    }
    return out;
}

std::string frame_fix(std::string_view body, const std::optional<std::string>& body_length,
                      const std::optional<std::string>& checksum) {
    std::string out = "8=FIX.4.4";
    out += kSoh;
    out += "9=" + (body_length ? *body_length : std::to_string(body.size()));
    out += kSoh;
    out += body;
    unsigned sum = 0;
    for (const char c : out)
        sum += static_cast<unsigned char>(c);
    char cks[8];
    std::snprintf(cks, sizeof cks, "%03u", sum % 256);
    out += "10=" + (checksum ? *checksum : std::string(cks));
    out += kSoh;
    return out;
}

std::string utc_now_text() {
    const auto now = std::chrono::system_clock::now();
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() %
        1000;
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    char buf[96];
    std::snprintf(buf, sizeof buf, "%04d%02d%02d-%02d:%02d:%02d.%03d", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
    return buf;
}

RawFixClient::RawFixClient(RawClientOptions options) : options_(std::move(options)) {}

RawFixClient::~RawFixClient() {
    disconnect();
}

bool RawFixClient::connect(std::string* error) {
    disconnect();
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd_ < 0) {
        *error = std::string("socket: ") + std::strerror(errno);
        return false;
    }
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    in.sin_port = htons(options_.port);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&in), sizeof in) != 0) {
        *error =
            "connect to 127.0.0.1:" + std::to_string(options_.port) + ": " + std::strerror(errno);
        ::close(fd_);
        fd_ = -1;
        return false;
    }
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (options_.tls) {
        tls_ = new Tls();
        tls_->ctx = SSL_CTX_new(TLS_client_method());
        if (tls_->ctx == nullptr) {
            *error = openssl_error("SSL_CTX_new");
            disconnect();
            return false;
        }
        // The test is about the client's certificate; the server's is not checked here.
        SSL_CTX_set_verify(tls_->ctx, SSL_VERIFY_NONE, nullptr);
        if (!options_.client_cert.empty()) {
            if (SSL_CTX_use_certificate_file(tls_->ctx, options_.client_cert.c_str(),
                                             SSL_FILETYPE_PEM) != 1 ||
                SSL_CTX_use_PrivateKey_file(tls_->ctx, options_.client_key.c_str(),
                                            SSL_FILETYPE_PEM) != 1) {
                *error = openssl_error("client certificate");
                disconnect();
                return false;
            }
        }
        tls_->ssl = SSL_new(tls_->ctx);
        SSL_set_fd(tls_->ssl, fd_);
        SSL_set_mode(tls_->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                    SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER | SSL_MODE_AUTO_RETRY);
        if (SSL_connect(tls_->ssl) != 1) {
            *error = openssl_error("TLS handshake");
            disconnect();
            return false;
        }
    }
    ::fcntl(fd_, F_SETFL, ::fcntl(fd_, F_GETFL) | O_NONBLOCK);
    stop_ = false;
    connected_ = true;
    reader_ = std::thread([this] { reader_loop(); });
    return true;
}

void RawFixClient::disconnect() {
    stop_ = true;
    if (reader_.joinable())
        reader_.join();
    if (tls_ != nullptr) {
        if (tls_->ssl != nullptr && connected_)
            SSL_shutdown(tls_->ssl);
        delete tls_;
        tls_ = nullptr;
    }
    if (fd_ >= 0) {
        ::close(fd_);
        fd_ = -1;
    }
    connected_ = false;
}

std::string RawFixClient::last_error() const {
    std::lock_guard lock(mu_);
    return error_;
}

bool RawFixClient::write_all(std::string_view bytes) {
    std::lock_guard write_lock(write_mu_);
    return write_locked(bytes);
}

bool RawFixClient::write_locked(std::string_view bytes) {
    std::size_t done = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (done < bytes.size()) {
        if (fd_ < 0 || std::chrono::steady_clock::now() > deadline)
            return false;
        ssize_t n = 0;
        bool again = false;
        if (tls_ != nullptr) {
            std::lock_guard lock(io_mu_);
            const int r =
                SSL_write(tls_->ssl, bytes.data() + done,
                          static_cast<int>(std::min<std::size_t>(bytes.size() - done, 1 << 20)));
            if (r > 0) {
                n = r;
            } else {
                const int e = SSL_get_error(tls_->ssl, r);
                if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ)
                    return false;
                again = true;
            }
        } else {
            n = ::send(fd_, bytes.data() + done, bytes.size() - done, MSG_NOSIGNAL);
            if (n < 0) {
                if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                    return false;
                again = true;
            }
        }
        if (again) {
            pollfd p{fd_, POLLOUT, 0};
            ::poll(&p, 1, 20);
            continue;
        }
        done += static_cast<std::size_t>(n);
    }
    return true;
}

bool RawFixClient::send_raw(std::string_view bytes) {
    return write_all(bytes);
}

std::string RawFixClient::header(const std::string& type, std::uint64_t seq,
                                 const std::optional<std::string>& sender) const {
    std::string h = "35=" + type;
    h += kSoh;
    h += "49=" + (sender ? *sender : options_.sender_comp_id);
    h += kSoh;
    h += "56=" + options_.target_comp_id;
    h += kSoh;
    h += "34=" + std::to_string(seq);
    h += kSoh;
    h += "52=" + utc_now_text();
    h += kSoh;
    return h;
}

std::string RawFixClient::compose(const std::string& type, const std::vector<FixField>& body,
                                  std::uint64_t seq) const {
    std::string text = header(type, seq, std::nullopt);
    for (const FixField& f : body) {
        text += std::to_string(f.tag) + "=" + f.value;
        text += kSoh;
    }
    return text;
}

std::uint64_t RawFixClient::send(const std::string& type, const std::vector<FixField>& body,
                                 const SendOptions& options) {
    // One sequence number per message, in the order the bytes go out (the reader thread's
    // automatic answers take numbers too).
    std::lock_guard lock(write_mu_);
    const std::uint64_t seq =
        options.consume_seq ? next_out_seq_.fetch_add(1) : next_out_seq_.load();
    std::string text = header(type, seq, options.sender_comp_id);
    for (const FixField& f : body) {
        text += std::to_string(f.tag) + "=" + f.value;
        text += kSoh;
    }
    return write_locked(frame_fix(text, options.body_length, options.checksum)) ? seq : 0;
}

bool RawFixClient::logon(const std::string& username, const std::string& password, std::string* why,
                         int heartbeat_s) {
    const std::size_t from = received();
    std::vector<FixField> body = {{98, "0"}, {108, std::to_string(heartbeat_s)}};
    if (!username.empty())
        body.push_back({553, username});
    if (!password.empty())
        body.push_back({554, password});
    if (send("A", body) == 0) {
        *why = "logon not sent";
        return false;
    }
    std::optional<FixMessage> answer;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
        answer = wait([](const FixMessage& m) { return m.type() == "A" || m.type() == "5"; },
                      std::chrono::milliseconds(50), from);
        if (answer || !connected())
            break;
    }
    if (!answer) {
        // A refused logon may be followed at once by the disconnect: look once more.
        answer = wait([](const FixMessage& m) { return m.type() == "A" || m.type() == "5"; },
                      std::chrono::milliseconds(200), from);
    }
    if (!answer) {
        *why = connected() ? "no answer to the Logon" : "disconnected without a Logout";
        return false;
    }
    if (answer->type() == "A")
        return true;
    // A refused Logon is not taken: the acceptor still expects the same sequence number.
    next_out_seq_.fetch_sub(1);
    *why = answer->get(58);
    return false;
}

bool RawFixClient::probe(const std::string& id, std::chrono::seconds limit) {
    const std::size_t from = received();
    if (send("1", {{112, id}}) == 0)
        return false;
    return wait([&](const FixMessage& m) { return m.type() == "0" && m.get(112) == id; }, limit,
                from)
        .has_value();
}

std::optional<FixMessage> RawFixClient::wait(const std::function<bool(const FixMessage&)>& pred,
                                             std::chrono::milliseconds limit, std::size_t from) {
    std::unique_lock lock(mu_);
    std::size_t checked = from;
    std::optional<FixMessage> found;
    cv_.wait_for(lock, limit, [&] {
        for (; checked < got_.size(); ++checked) {
            if (pred(got_[checked])) {
                found = got_[checked];
                return true;
            }
        }
        return !connected_.load();
    });
    if (!found) {
        for (; checked < got_.size(); ++checked) {
            if (pred(got_[checked]))
                return got_[checked];
        }
    }
    return found;
}

std::size_t RawFixClient::received() const {
    std::lock_guard lock(mu_);
    return got_.size();
}

std::vector<FixMessage> RawFixClient::messages(std::size_t from) const {
    std::lock_guard lock(mu_);
    if (from >= got_.size())
        return {};
    return {got_.begin() + static_cast<std::ptrdiff_t>(from), got_.end()};
}

void RawFixClient::on_message(FixMessage message) {
    const std::string type = message.type();
    if (type == "1") {
        send("0", {{112, message.get(112)}});
    } else if (type == "2") {
        // Fill whatever the peer asks for with one gap fill up to our next number.
        const std::string begin = message.get(7);
        std::string text = "35=4";
        text += kSoh;
        text += "49=" + options_.sender_comp_id;
        text += kSoh;
        text += "56=" + options_.target_comp_id;
        text += kSoh;
        text += "34=" + begin;
        text += kSoh;
        text += "43=Y";
        text += kSoh;
        text += "52=" + utc_now_text();
        text += kSoh;
        text += "122=" + utc_now_text();
        text += kSoh;
        text += "123=Y";
        text += kSoh;
        text += "36=" + std::to_string(next_out_seq_.load());
        text += kSoh;
        write_all(frame_fix(text));
    }
    std::lock_guard lock(mu_);
    got_.push_back(std::move(message));
    cv_.notify_all();
}

void RawFixClient::reader_loop() {
    std::string buffer;
    char chunk[65536];
    const auto fail = [&](const std::string& why) {
        {
            std::lock_guard lock(mu_);
            error_ = why;
        }
        connected_ = false;
        cv_.notify_all();
    };
    while (!stop_) {
        bool pending = false;
        if (tls_ != nullptr) {
            std::lock_guard lock(io_mu_);
            pending = SSL_pending(tls_->ssl) > 0;
        }
        if (!pending) {
            pollfd p{fd_, POLLIN, 0};
            if (::poll(&p, 1, 20) <= 0)
                continue;
        }
        ssize_t n = 0;
        if (tls_ != nullptr) {
            std::lock_guard lock(io_mu_);
            const int r = SSL_read(tls_->ssl, chunk, sizeof chunk);
            if (r <= 0) {
                const int e = SSL_get_error(tls_->ssl, r);
                if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
                    continue;
                fail(openssl_error("TLS read"));
                return;
            }
            n = r;
        } else {
            n = ::recv(fd_, chunk, sizeof chunk, 0);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                continue;
            if (n <= 0) {
                fail(n == 0 ? "closed by the peer" : std::string("recv: ") + std::strerror(errno));
                return;
            }
        }
        buffer.append(chunk, static_cast<std::size_t>(n));
        for (;;) {
            const std::size_t start = buffer.find("8=FIX");
            if (start == std::string::npos) {
                buffer.clear();
                break;
            }
            buffer.erase(0, start);
            const std::size_t len_at = buffer.find(std::string(1, kSoh) + "9=");
            if (len_at == std::string::npos)
                break;
            const std::size_t len_end = buffer.find(kSoh, len_at + 1);
            if (len_end == std::string::npos)
                break;
            const std::size_t body_length = std::strtoull(buffer.c_str() + len_at + 3, nullptr, 10);
            const std::size_t total = len_end + 1 + body_length + 7;  // "10=nnn" SOH
            if (buffer.size() < total)
                break;
            FixMessage m;
            m.raw = buffer.substr(0, total);
            buffer.erase(0, total);
            std::size_t pos = 0;
            while (pos < m.raw.size()) {
                const std::size_t eq = m.raw.find('=', pos);
                const std::size_t end = m.raw.find(kSoh, pos);
                if (eq == std::string::npos || end == std::string::npos || eq > end)
                    break;
                m.fields.push_back(
                    FixField{std::atoi(m.raw.c_str() + pos), m.raw.substr(eq + 1, end - eq - 1)});
                pos = end + 1;
            }
            on_message(std::move(m));
        }
    }
}

}  // namespace fxsettle::hostile
