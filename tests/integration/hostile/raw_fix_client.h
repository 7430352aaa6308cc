// A raw FIX 4.4 client for hostile-input tests: it composes the tag=value text itself
// (BodyLength and CheckSum computed, or overridden to garble them), so it can send what a
// well-behaved engine such as QuickFIX would refuse to build -- missing required tags,
// wrong types, undefined tags, oversized messages. Plain TCP or TLS (OpenSSL, optionally
// presenting a client certificate). A reader thread splits the incoming byte stream into
// messages, keeps them all, answers TestRequest (1) with a Heartbeat and ResendRequest (2)
// with a SequenceReset-GapFill, so the session stays in step whatever the test sends.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace fxsettle::hostile {

inline constexpr char kSoh = '\x01';

struct FixField {
    int tag = 0;
    std::string value;
};

// One message as received: every field in order (header and trailer included).
struct FixMessage {
    std::vector<FixField> fields;
    std::string raw;

    const std::string* find(int tag) const;
    std::string get(int tag) const;  // empty when absent
    std::string type() const { return get(35); }
    // The message with SOH shown as '|', for failure messages.
    std::string text() const;
};

// "8=FIX.4.4|9=<len>|<body>10=<sum>|" with BodyLength and CheckSum computed over `body`
// (which starts with 35= and ends with SOH). Overrides replace the computed values as they
// are (garbling).
std::string frame_fix(std::string_view body, const std::optional<std::string>& body_length = {},
                      const std::optional<std::string>& checksum = {});
// The FIX UTCTIMESTAMP of the system clock (SendingTime: QuickFIX checks its latency).
std::string utc_now_text();

struct RawClientOptions {
    std::uint16_t port = 0;
    std::string sender_comp_id;  // the PSP's
    std::string target_comp_id = "FXSETTLE";
    bool tls = false;
    std::string client_cert;  // TLS: PEM certificate to present (empty: none)
    std::string client_key;
};

struct SendOptions {
    // False: the message is sent with the next sequence number but the counter is not
    // advanced (a garbled message the counterparty discards without reading its number).
    bool consume_seq = true;
    std::optional<std::string> body_length;  // garble BodyLength (9)
    std::optional<std::string> checksum;     // garble CheckSum (10)
    // Header fields after SendingTime (e.g. PossDupFlag) and instead of the standard
    // header's CompIDs when `sender_comp_id` is set.
    std::optional<std::string> sender_comp_id;
};

class RawFixClient {
  public:
    explicit RawFixClient(RawClientOptions options);
    ~RawFixClient();
    RawFixClient(const RawFixClient&) = delete;
    RawFixClient& operator=(const RawFixClient&) = delete;

    // Connects (and completes the TLS handshake). False with *error on failure.
    bool connect(std::string* error);
    void disconnect();
    // False once the peer closed the connection (or a read/TLS failure).
    bool connected() const { return connected_.load(); }

    // Sends a Logon (98=0, 108, 553, 554) and waits for the answer: true when a Logon
    // came back; false with *why = the Logout's Text (58) or "disconnected"/"no answer".
    bool logon(const std::string& username, const std::string& password, std::string* why,
               int heartbeat_s = 30);

    // Sends `type` with the standard header (35, 49, 56, 34, 52) and `body` as given, in
    // order. Returns the MsgSeqNum used (0 when the socket write failed).
    std::uint64_t send(const std::string& type, const std::vector<FixField>& body,
                       const SendOptions& options = {});
    // The header (35, 49, 56, 34 = `seq`, 52) and `body` as tag=value text, unframed.
    std::string compose(const std::string& type, const std::vector<FixField>& body,
                        std::uint64_t seq) const;
    // Bytes as they are.
    bool send_raw(std::string_view bytes);
    // TestRequest with TestReqID `id`, true when the Heartbeat echoing it arrives.
    bool probe(const std::string& id, std::chrono::seconds limit);

    // The first message received at index >= `from` that `pred` accepts, waiting up to
    // `limit`.
    std::optional<FixMessage> wait(const std::function<bool(const FixMessage&)>& pred,
                                   std::chrono::milliseconds limit, std::size_t from = 0);
    std::size_t received() const;
    std::vector<FixMessage> messages(std::size_t from = 0) const;

    std::uint64_t next_out_seq() const { return next_out_seq_.load(); }
    void set_next_out_seq(std::uint64_t seq) { next_out_seq_.store(seq); }
    // The last TLS or socket error the reader saw (for failure messages).
    std::string last_error() const;

  private:
    struct Tls;
    bool write_all(std::string_view bytes);
    bool write_locked(std::string_view bytes);  // write_mu_ held
    void reader_loop();
    void on_message(FixMessage message);
    std::string header(const std::string& type, std::uint64_t seq,
                       const std::optional<std::string>& sender) const;

    RawClientOptions options_;
    int fd_ = -1;
    Tls* tls_ = nullptr;
    std::mutex io_mu_;  // TLS: one SSL object, reads and writes serialised
    std::mutex write_mu_;
    std::thread reader_;
    std::atomic<bool> stop_{false};
    std::atomic<bool> connected_{false};
    std::atomic<std::uint64_t> next_out_seq_{1};

    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<FixMessage> got_;
    std::string error_;
};

}  // namespace fxsettle::hostile
