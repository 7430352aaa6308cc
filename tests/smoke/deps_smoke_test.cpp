// Each test calls one third-party library the way fxsettle will, so that a missing or
// broken Debian package fails here, named, rather than deep inside a feature test.
#include <gtest/gtest.h>
#include <lmdb.h>
#include <openssl/evp.h>
#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <array>
#include <boost/multiprecision/cpp_int.hpp>
#include <cstdlib>
#include <filesystem>
#include <sstream>
#include <string>

#include "adapters/fix/quickfix_probe.h"
#include "ledger/ledger_info.h"

namespace {

TEST(DepsSmoke, LmdbStoresAndReadsBackAValue) {
    std::string dir = (std::filesystem::temp_directory_path() / "fxsettle-smoke-XXXXXX").string();
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    MDB_env* env = nullptr;
    ASSERT_EQ(mdb_env_create(&env), 0);
    ASSERT_EQ(mdb_env_open(env, dir.c_str(), 0, 0600), 0) << "mdb_env_open on " << dir;
    MDB_txn* txn = nullptr;
    ASSERT_EQ(mdb_txn_begin(env, nullptr, 0, &txn), 0);
    MDB_dbi dbi = 0;
    ASSERT_EQ(mdb_dbi_open(txn, nullptr, 0, &dbi), 0);
    std::string k = "key", v = "value";
    MDB_val key{k.size(), k.data()}, val{v.size(), v.data()};
    ASSERT_EQ(mdb_put(txn, dbi, &key, &val, 0), 0);
    ASSERT_EQ(mdb_txn_commit(txn), 0);
    ASSERT_EQ(mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn), 0);
    MDB_val out{};
    ASSERT_EQ(mdb_get(txn, dbi, &key, &out), 0);
    EXPECT_EQ(std::string(static_cast<const char*>(out.mv_data), out.mv_size), "value");
    mdb_txn_abort(txn);
    mdb_env_close(env);
    std::filesystem::remove_all(dir);
    EXPECT_NE(fxsettle::ledger::lmdb_version().find("LMDB"), std::string::npos);
}

TEST(DepsSmoke, BoostMultiprecisionInt128DetectsOverflow) {
    using boost::multiprecision::checked_int128_t;
    checked_int128_t big = (std::numeric_limits<checked_int128_t>::max)();
    EXPECT_THROW(big += 1, std::overflow_error);
    boost::multiprecision::int256_t wide = boost::multiprecision::int256_t(1) << 200;
    EXPECT_EQ(wide.str().size(), 61u) << "2^200 has 61 decimal digits";
}

TEST(DepsSmoke, OpenSslSha256OfAbcMatchesTheFips180Vector) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    ASSERT_EQ(EVP_Digest("abc", 3, md.data(), &len, EVP_sha256(), nullptr), 1);
    ASSERT_EQ(len, 32u);
    std::ostringstream hex;
    for (unsigned i = 0; i < len; ++i) {
        static const char* digits = "0123456789abcdef";
        hex << digits[md[i] >> 4] << digits[md[i] & 15];
    }
    EXPECT_EQ(hex.str(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(DepsSmoke, PrometheusCounterSerialisesInTextFormat) {
    prometheus::Registry registry;
    auto& family = prometheus::BuildCounter()
                       .Name("fxsettle_smoke_total")
                       .Help("Smoke test counter")
                       .Register(registry);
    family.Add({{"kind", "smoke"}}).Increment(3);
    std::ostringstream out;
    prometheus::TextSerializer().Serialize(out, registry.Collect());
    EXPECT_NE(out.str().find("fxsettle_smoke_total{kind=\"smoke\"} 3"), std::string::npos)
        << out.str();
}

TEST(DepsSmoke, QuickFixBuildsAndParsesANewOrderSingle) {
    auto probe = fxsettle::adapters::probe_quickfix("USD/CNY", "ORD-1");
    ASSERT_TRUE(probe.ok) << probe.error;
    EXPECT_NE(probe.message.find("|35=D|"), std::string::npos) << probe.message;
    EXPECT_NE(probe.message.find("|11=ORD-1|"), std::string::npos) << probe.message;
    EXPECT_NE(probe.message.find("|55=USD/CNY|"), std::string::npos) << probe.message;
}

}  // namespace
