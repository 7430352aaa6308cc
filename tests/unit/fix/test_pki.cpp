#include "tests/unit/fix/test_pki.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <cstdio>
#include <memory>
#include <stdexcept>

namespace fxsettle {
namespace testing {
namespace {

struct KeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct CertFree {
    void operator()(X509* c) const { X509_free(c); }
};
using Key = std::unique_ptr<EVP_PKEY, KeyFree>;
using Cert = std::unique_ptr<X509, CertFree>;

void check(bool ok, const char* what) {
    if (!ok) {
        throw std::runtime_error(std::string("test PKI: ") + what + " failed");
    }
}

Key rsa_key() {
    Key key(EVP_RSA_gen(2048));
    check(key != nullptr, "EVP_RSA_gen");
    return key;
}

void add_extension(X509* cert, X509* issuer, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    check(ext != nullptr, "X509V3_EXT_conf_nid");
    check(X509_add_ext(cert, ext, -1) == 1, "X509_add_ext");
    X509_EXTENSION_free(ext);
}

// A certificate for `key` named `cn`, signed by `issuer_key` (issuer nullptr: self-signed).
Cert make_cert(EVP_PKEY* key, const std::string& cn, X509* issuer, EVP_PKEY* issuer_key,
               long serial, bool ca, const char* alt_names) {
    Cert cert(X509_new());
    check(cert != nullptr, "X509_new");
    check(X509_set_version(cert.get(), 2) == 1, "X509_set_version");
    check(ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial) == 1, "serial");
    check(X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600) != nullptr, "notBefore");
    check(X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400) != nullptr, "notAfter");
    check(X509_set_pubkey(cert.get(), key) == 1, "X509_set_pubkey");
    X509_NAME* name = X509_get_subject_name(cert.get());
    check(X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>("fxsettle tests"), -1,
                                     -1, 0) == 1,
          "X509_NAME_add_entry_by_txt O");
    check(X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                                     reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1,
                                     0) == 1,
          "X509_NAME_add_entry_by_txt CN");
    X509* signer = issuer != nullptr ? issuer : cert.get();
    check(X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) == 1,
          "X509_set_issuer_name");
    if (ca) {
        add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:TRUE");
        add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
    } else {
        add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE");
        add_extension(cert.get(), signer, NID_key_usage,
                      "critical,digitalSignature,keyEncipherment");
        add_extension(cert.get(), signer, NID_ext_key_usage, "serverAuth,clientAuth");
        if (alt_names != nullptr) {
            add_extension(cert.get(), signer, NID_subject_alt_name, alt_names);
        }
    }
    check(X509_sign(cert.get(), issuer_key, EVP_sha256()) > 0, "X509_sign");
    return cert;
}

void write_cert(const std::string& path, X509* cert) {
    FILE* f = std::fopen(path.c_str(), "w");
    check(f != nullptr, "fopen (certificate)");
    const bool ok = PEM_write_X509(f, cert) == 1;
    std::fclose(f);
    check(ok, "PEM_write_X509");
}

void write_key(const std::string& path, EVP_PKEY* key) {
    FILE* f = std::fopen(path.c_str(), "w");
    check(f != nullptr, "fopen (key)");
    ::chmod(path.c_str(), 0600);
    const bool ok = PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
    std::fclose(f);
    check(ok, "PEM_write_PrivateKey");
}

}  // namespace

TestPki make_test_pki(const std::string& dir) {
    TestPki pki;
    pki.ca_cert = dir + "/ca.pem";
    pki.server_cert = dir + "/server.pem";
    pki.server_key = dir + "/server.key";
    pki.client_cert = dir + "/client.pem";
    pki.client_key = dir + "/client.key";
    pki.stranger_cert = dir + "/stranger.pem";
    pki.stranger_key = dir + "/stranger.key";

    Key ca_key = rsa_key();
    Cert ca = make_cert(ca_key.get(), "fxsettle test CA", nullptr, ca_key.get(), 1, true, nullptr);
    Key server_key = rsa_key();
    Cert server = make_cert(server_key.get(), "localhost", ca.get(), ca_key.get(), 2, false,
                            "IP:127.0.0.1,DNS:localhost");
    Key client_key = rsa_key();
    Cert client = make_cert(client_key.get(), "PSP1", ca.get(), ca_key.get(), 3, false, nullptr);
    Key other_ca_key = rsa_key();
    Cert other_ca =
        make_cert(other_ca_key.get(), "unknown CA", nullptr, other_ca_key.get(), 1, true, nullptr);
    Key stranger_key = rsa_key();
    Cert stranger = make_cert(stranger_key.get(), "PSP1", other_ca.get(), other_ca_key.get(), 2,
                              false, nullptr);

    write_cert(pki.ca_cert, ca.get());
    write_cert(pki.server_cert, server.get());
    write_key(pki.server_key, server_key.get());
    write_cert(pki.client_cert, client.get());
    write_key(pki.client_key, client_key.get());
    write_cert(pki.stranger_cert, stranger.get());
    write_key(pki.stranger_key, stranger_key.get());
    return pki;
}

}  // namespace testing
}  // namespace fxsettle
