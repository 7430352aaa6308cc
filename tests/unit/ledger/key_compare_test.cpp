// The ledger's key comparison for binary keys must order exactly as LMDB's default
// (memcmp over the common length, then the shorter key first): files written before it
// existed, and tools that open the file with plain LMDB, must see the same trees.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include "ledger/codec.h"
#include "ledger/lmdb_util.h"

namespace fxsettle::ledger {
namespace {

int sign(int v) {
    return (v > 0) - (v < 0);
}

// LMDB's mdb_cmp_memn, restated.
int default_order(const std::vector<unsigned char>& a, const std::vector<unsigned char>& b) {
    const std::size_t n = std::min(a.size(), b.size());
    const int diff = n == 0 ? 0 : std::memcmp(a.data(), b.data(), n);
    if (diff != 0) {
        return sign(diff);
    }
    return a.size() < b.size() ? -1 : (a.size() > b.size() ? 1 : 0);
}

int binary_order(std::vector<unsigned char>& a, std::vector<unsigned char>& b) {
    const MDB_val va{a.size(), a.data()};
    const MDB_val vb{b.size(), b.data()};
    return sign(lmdb::compare_binary_keys(&va, &vb));
}

TEST(KeyCompareTest, OrdersExactlyAsLmdbsDefault) {
    std::mt19937_64 rng(7);
    // Few distinct byte values and shared prefixes, so that most pairs agree on a long
    // prefix and differ late, in a high bit, or only in length.
    const unsigned char values[] = {0x00, 0x01, 0x7F, 0x80, 0xFE, 0xFF};
    std::vector<std::vector<unsigned char>> keys;
    for (int i = 0; i < 400; ++i) {
        std::vector<unsigned char> k(rng() % 30);
        for (auto& c : k) {
            c = values[rng() % std::size(values)];
        }
        keys.push_back(k);
        if (!k.empty()) {
            auto shorter = k;
            shorter.pop_back();
            keys.push_back(shorter);
            auto changed = k;
            changed[rng() % k.size()] ^= 0x80;
            keys.push_back(changed);
        }
    }
    for (auto& a : keys) {
        for (auto& b : keys) {
            ASSERT_EQ(binary_order(a, b), default_order(a, b));
        }
    }
}

TEST(KeyCompareTest, IdKeysOrderAsIds) {
    const AccountId ids[] = {{0, 1}, {0, 2}, {0, 0xFF}, {0, 0x100}, {1, 0}, {0, ~0ull}, {~0ull, 0}};
    for (const AccountId& x : ids) {
        for (const AccountId& y : ids) {
            auto kx = codec::id_key(x);
            auto ky = codec::id_key(y);
            const MDB_val vx{kx.size(), kx.data()};
            const MDB_val vy{ky.size(), ky.data()};
            const int expected = x < y ? -1 : (x == y ? 0 : 1);
            EXPECT_EQ(sign(lmdb::compare_binary_keys(&vx, &vy)), expected);
            EXPECT_EQ(codec::id_from_key<AccountTag>(kx.data()), x);
        }
    }
}

}  // namespace
}  // namespace fxsettle::ledger
