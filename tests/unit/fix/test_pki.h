// A throw-away PKI for TLS tests, made at run time with OpenSSL's C API (no key is ever
// committed): a self-signed CA, and a server and a client certificate it signed (RSA 2048,
// SHA-256, valid from an hour ago for a day; the server's names 127.0.0.1 and localhost).
// Plain C++14 (no QuickFIX), so any test may use it.
#pragma once

#include <string>

namespace fxsettle {
namespace testing {

struct TestPki {
    std::string ca_cert;  // PEM paths under the directory given to make_test_pki
    std::string server_cert;
    std::string server_key;
    std::string client_cert;
    std::string client_key;
    // A second CA and a client certificate it signed: a peer the first CA does not know.
    std::string stranger_cert;
    std::string stranger_key;
};

// Writes ca.pem, server.pem, server.key, client.pem, client.key, stranger.pem and
// stranger.key (keys mode 0600) into `dir`, which must exist. Throws std::runtime_error
// naming the OpenSSL call that failed.
TestPki make_test_pki(const std::string& dir);

}  // namespace testing
}  // namespace fxsettle
