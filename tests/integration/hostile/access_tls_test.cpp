// Access over TLS (issue 7, "Access"): with mutual TLS a client without a certificate the
// CA signed cannot log on; a connection that never starts the handshake is closed at the
// logon deadline; the bound on an unframed run applies to what TLS decrypted. Apart from
// access_test.cpp because LeakSanitizer needs full unwinding here (below), which makes
// every allocation slower: the other hostile tests keep ASan's fast unwinding.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>

#include "adapters/fix/read_limit.h"
#include "tests/integration/hostile/hostile_support.h"
#include "tests/integration/hostile/raw_fix_client.h"
#include "tests/unit/fix/test_pki.h"

// LeakSanitizer, for this binary (hostile_tls_test) alone: QuickFIX 1.15.1's SSL acceptor leaks
// what these functions allocate through OpenSSL -- loadSSLCert's readX509 (the server
// certificate it reads, once per acceptor start), loadCAInfo's findCAList (the CA name
// list, once per start) and acceptSSLConnection (the reference SSL_get1_peer_certificate
// takes on each client certificate it accepts, never freed: a few kB per mutual-TLS
// connection). Only those functions are named, not libquickfix.so: our Handler and logs
// run on QuickFIX's threads, and a leak of ours there must still be reported. Full
// unwinding at malloc, deep enough to cross OpenSSL's decoder frames (no frame pointers),
// so that the stacks reach the QuickFIX frame the suppression names.
extern "C" const char* __lsan_default_suppressions() {
    return "leak:FIX::loadSSLCert\n"
           "leak:FIX::loadCAInfo\n"
           "leak:FIX::acceptSSLConnection\n";
}
extern "C" const char* __asan_default_options() {
    return "fast_unwind_on_malloc=0:malloc_context_size=64";
}

namespace fxsettle::hostile {
namespace {

// A PKI made at run time under the harness's directory.
testing::TestPki make_pki(NodeHarness& harness) {
    const auto pki_dir = harness.dir() / "pki";
    std::filesystem::create_directories(pki_dir);
    return testing::make_test_pki(pki_dir.string());
}

// Starts the node with mutual TLS on the gateway (require_client_cert, `pki`'s CA), after
// `more` edits of the config; "" or what went wrong.
std::string start_with_mutual_tls(NodeHarness& harness, const testing::TestPki& pki,
                                  const std::function<void(config::Config&)>& more = {}) {
    HarnessOptions o;
    o.edit = [&](config::Config& c) {
        c.gateway.tls = config::TlsConfig{pki.server_cert, pki.server_key, pki.ca_cert, true};
        if (more)
            more(c);
    };
    return harness.start(o);
}

// Mutual TLS on the gateway (require_client_cert, the CA of a PKI made at run time): a
// client without a certificate, or with one another CA signed, cannot log on; one with a
// certificate the CA signed logs on with its password.
TEST(AccessTlsTest, WithMutualTlsOnlyAClientCertificateTheCaSignedLogsOn) {
    NodeHarness harness;
    const testing::TestPki pki = make_pki(harness);
    ASSERT_EQ(start_with_mutual_tls(harness, pki), "");
    const auto key = adapters::SessionKey{"FXSETTLE", "ALPHAPAY"};
    std::uint64_t seq = 1;
    const auto attempt = [&](const std::string& cert, const std::string& key_file,
                             std::string* why) {
        RawClientOptions c;
        c.port = harness.gateway_port();
        c.sender_comp_id = "ALPHAPAY";
        c.tls = true;
        c.client_cert = cert;
        c.client_key = key_file;
        RawFixClient client(c);
        if (!client.connect(why))
            return false;
        client.set_next_out_seq(seq);
        const bool ok = client.logon("alpha", "alpha-demo-password", why);
        if (!ok && why->find("disconnected") != std::string::npos)
            *why += " (" + client.last_error() + ")";
        seq = std::max(seq, client.next_out_seq());
        if (ok) {
            client.send("5", {{58, "bye"}});
            client.wait([](const FixMessage& m) { return m.type() == "5"; },
                        std::chrono::seconds(10));
        }
        return ok;
    };
    std::string why;
    EXPECT_FALSE(attempt("", "", &why)) << "a client without a certificate logged on";
    std::printf("no certificate: %s\n", why.c_str());
    EXPECT_FALSE(harness.node().gateway_host().logged_on(key));
    EXPECT_FALSE(attempt(pki.stranger_cert, pki.stranger_key, &why))
        << "a certificate of another CA logged on";
    std::printf("another CA's certificate: %s\n", why.c_str());
    // Plain TCP to a TLS gateway: no logon either.
    {
        RawFixClient plain(plain_options(harness.gateway_port(), "ALPHAPAY"));
        ASSERT_TRUE(plain.connect(&why)) << why;
        plain.set_next_out_seq(seq);
        EXPECT_FALSE(plain.logon("alpha", "alpha-demo-password", &why))
            << "plain TCP logged on to a TLS gateway";
    }
    EXPECT_EQ(harness.node().counters().gateway.logons, 0u);
    EXPECT_TRUE(attempt(pki.client_cert, pki.client_key, &why))
        << "a certificate the CA signed did not log on: " << why;
    EXPECT_EQ(harness.node().counters().gateway.logons, 1u);
}

// Over TLS the deadline covers the handshake too: a connection that never starts one
// (QuickFIX's SSL acceptor would wait in SSL_accept for ever) is closed.
TEST(AccessTlsTest, AConnectionThatNeverStartsTheTlsHandshakeIsClosedAtTheDeadline) {
    NodeHarness harness;
    const testing::TestPki pki = make_pki(harness);
    ASSERT_EQ(start_with_mutual_tls(
                  harness, pki,
                  [](config::Config& c) { c.gateway.logon_deadline_s = std::chrono::seconds(1); }),
              "");
    const int silent = connect_silent(harness.gateway_port());
    ASSERT_GE(silent, 0);
    std::chrono::milliseconds after{0};
    EXPECT_TRUE(closed_by_gateway(silent, std::chrono::seconds(10), &after))
        << "a TLS connection without a handshake was kept 10 s (deadline 1 s)";
    std::printf("closed %lld ms after connecting\n", static_cast<long long>(after.count()));
    ::close(silent);
    EXPECT_EQ(harness.node().gateway_host().counters().logon_deadline_closes, 1u);
}

// The bound on an unframed run (adapters/fix/read_limit.h, kUnframedBytesMax) over TLS: a
// client with a certificate the CA signed completes the handshake, claims a 2 GB Logon
// (9=2000000000) and keeps sending. The gateway scans what SSL_read decrypted and cuts the
// connection past the bound, as it does over plain TCP.
TEST(AccessTlsTest, AnUnframedRunOverTlsIsCutOffAtTheBound) {
    NodeHarness harness;
    const testing::TestPki pki = make_pki(harness);
    ASSERT_EQ(start_with_mutual_tls(harness, pki,
                                    [](config::Config& c) {
                                        c.gateway.logon_deadline_s =
                                            std::chrono::seconds(300);  // not what this test checks
                                    }),
              "");
    // SSL_write to a connection the gateway shut would raise SIGPIPE.
    struct sigaction ignore {};
    struct sigaction previous {};
    ignore.sa_handler = SIG_IGN;
    ::sigaction(SIGPIPE, &ignore, &previous);
    const std::uint64_t cut_before = adapters::detail::connections_cut();
    RawClientOptions c;
    c.port = harness.gateway_port();
    c.sender_comp_id = "ALPHAPAY";
    c.tls = true;
    c.client_cert = pki.client_cert;
    c.client_key = pki.client_key;
    RawFixClient client(c);
    std::string why;
    ASSERT_TRUE(client.connect(&why)) << why;
    const std::string kSoh = "\x01";
    const std::string head = "8=FIX.4.4" + kSoh + "9=2000000000" + kSoh + "35=A" + kSoh +
                             "49=ALPHAPAY" + kSoh + "56=FXSETTLE" + kSoh + "58=";
    ASSERT_TRUE(client.send_raw(head));
    const std::string chunk(std::size_t{64} << 10, 'x');
    const std::size_t goal = std::size_t{64} << 20;  // 4x the bound
    std::size_t sent = 0;
    while (sent < goal && client.send_raw(chunk))
        sent += chunk.size();
    client.disconnect();
    ::sigaction(SIGPIPE, &previous, nullptr);
    EXPECT_LT(sent, goal) << "the gateway took " << sent << " bytes of one unframed message";
    EXPECT_GE(sent, adapters::detail::kUnframedBytesMax - (std::size_t{1} << 20))
        << "cut before the bound";
    EXPECT_EQ(adapters::detail::connections_cut(), cut_before + 1);
    std::printf("cut after %zu bytes sent over TLS\n", sent);
}

}  // namespace
}  // namespace fxsettle::hostile
