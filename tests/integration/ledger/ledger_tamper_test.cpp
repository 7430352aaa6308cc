// Tamper evidence: a copy of a ledger file with one byte changed must not verify, and
// verify() must name what was changed. LMDB keeps no checksums of its own, so a flipped
// byte inside a record reaches the ledger's decoder and hash chain; if LMDB does reject
// the page, opening or reading must fail with a non-OK Status instead. Either way the
// change may never pass silently.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <vector>

#include "ledger/ledger.h"
#include "ledger/types.h"
#include "tests/integration/ledger/ledger_test_support.h"

namespace fxsettle::ledger {
namespace {

using testing::id_text;

constexpr std::size_t kEntries = 40;
constexpr std::size_t kTarget = 23;  // the entry whose record gets a flipped byte

money::Currency usd() {
    return *money::CurrencyTable::iso().find("USD");
}
Timestamp at(std::int64_t second) {
    return Timestamp(std::chrono::seconds(1'717'408'800 + second));
}
AccountId account(std::uint64_t n) {
    return AccountId{0xACC, n};
}
EntryId entry_id(std::size_t n) {
    return EntryId{0x7A, n + 1};
}
// Long and unique, so that a byte search finds this entry's record and nothing else.
std::string reference(std::size_t n) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "TAMPER-EVIDENCE-REF-%04zu-UNIQUE", n);
    return buf;
}

std::string read_file(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}
void write_file(const std::filesystem::path& p, const std::string& bytes) {
    std::ofstream out(p, std::ios::binary | std::ios::trunc);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::vector<std::size_t> find_all(const std::string& haystack, const std::string& needle) {
    std::vector<std::size_t> at_offsets;
    for (auto pos = haystack.find(needle); pos != std::string::npos;
         pos = haystack.find(needle, pos + 1))
        at_offsets.push_back(pos);
    return at_offsets;
}

class LedgerTamperTest : public ::testing::Test {
  protected:
    testing::TempDir dir_{"fxsettle-tamper"};

    // A ledger of kEntries transfers between two accounts, and its compacted backup
    // (mdb_env_copy2 with compaction writes no stale copies of pages, so every record is
    // in the copy exactly once).
    void build(const std::filesystem::path& copy) {
        ASSERT_TRUE(dir_.ok());
        OpenOptions o;
        o.path = dir_.path() / "ledger.lmdb";
        auto opened = Ledger::open(o);
        ASSERT_TRUE(opened.has_value()) << opened.error().to_string();
        auto& l = **opened;
        std::vector<Operation> ops;
        for (std::uint64_t n : {1, 2}) {
            Account a;
            a.id = account(n);
            a.owner = "PSP" + std::to_string(n);
            a.currency = usd();
            a.kind = AccountKind::kPspAvailable;
            a.code = "PSP" + std::to_string(n) + "/available/USD";
            ops.push_back(Operation{CreateAccount{a}, false});
        }
        auto created = l.commit(ops, at(0));
        ASSERT_TRUE(created.has_value()) << created.error().to_string();
        for (std::size_t n = 0; n < kEntries; ++n) {
            EntryRequest e;
            e.id = entry_id(n);
            e.value_date = std::chrono::sys_days(std::chrono::year(2024) / 6 / 3);
            e.reference = reference(n);
            const money::Money m{money::Amount::from_minor(100 + std::int64_t(n)), usd()};
            e.postings = {{account(1 + n % 2), Side::kDebit, m},
                          {account(2 - n % 2), Side::kCredit, m}};
            const std::vector<Operation> one{Operation{e, false}};
            auto r = l.commit(one, at(1 + std::int64_t(n)));
            ASSERT_TRUE(r.has_value()) << r.error().to_string();
            ASSERT_EQ((*r)[0].code, ResultCode::kOk) << (*r)[0].detail;
        }
        const Status s = l.backup(copy);
        ASSERT_TRUE(s.is_ok()) << "backup: " << s.to_string();
    }

    static Result<VerifyReport> open_and_verify(const std::filesystem::path& p) {
        OpenOptions o;
        o.path = p;
        o.read_only = true;
        o.create_if_missing = false;
        auto opened = Ledger::open(o);
        if (!opened)
            return fail(opened.error());
        auto view = (*opened)->read();
        if (!view)
            return fail(view.error());
        return (*view)->verify();
    }
};

TEST_F(LedgerTamperTest, UntouchedCopyVerifies) {
    const auto copy = dir_.path() / "copy.lmdb";
    ASSERT_NO_FATAL_FAILURE(build(copy));
    auto report = open_and_verify(copy);
    ASSERT_TRUE(report.has_value()) << report.error().to_string();
    EXPECT_TRUE(report->ok) << report->failure;
    EXPECT_EQ(report->entries_checked, kEntries);
    EXPECT_EQ(report->accounts_checked, 2u);
}

TEST_F(LedgerTamperTest, FlippedByteInAnEntryRecordIsNamedByVerify) {
    const auto copy = dir_.path() / "copy.lmdb";
    ASSERT_NO_FATAL_FAILURE(build(copy));
    std::string bytes = read_file(copy);
    const std::string needle = reference(kTarget);
    const auto hits = find_all(bytes, needle);
    ASSERT_FALSE(hits.empty()) << "the reference '" << needle << "' is not in the file bytes";
    // One letter of the reference changes ('E' of "EVIDENCE" becomes 'F'): the record
    // still decodes, only its content no longer matches its hash.
    for (std::size_t at_offset : hits)
        bytes[at_offset + 7] ^= 0x03;
    write_file(copy, bytes);
    std::remove((copy.string() + "-lock").c_str());

    auto report = open_and_verify(copy);
    if (!report) {
        // LMDB (or the ledger's decoder on open) refused the file: that is a detection
        // too, provided it says so.
        EXPECT_NE(report.error().code(), StatusCode::kOk);
        EXPECT_FALSE(report.error().message().empty());
        std::printf("tamper: %zu copies of the record changed; open/read failed: %s\n", hits.size(),
                    report.error().to_string().c_str());
        return;
    }
    ASSERT_FALSE(report->ok) << "verify() passed a file whose entry " << id_text(entry_id(kTarget))
                             << " was changed";
    EXPECT_FALSE(report->failure.empty());
    const bool names_entry = (report->bad_entry && *report->bad_entry == entry_id(kTarget)) ||
                             (report->bad_sequence && *report->bad_sequence == kTarget + 1);
    EXPECT_TRUE(names_entry) << "verify() must name entry " << id_text(entry_id(kTarget))
                             << " (sequence " << kTarget + 1 << "), it said: " << report->failure;
    EXPECT_EQ(report->entries_checked, kTarget) << "verify stops at the first failure";
    std::printf("tamper: %zu copies of the record changed; verify: %s\n", hits.size(),
                report->failure.c_str());
}

// A stored balance changed by one minor unit no longer equals the sum of its postings.
// The balance row is found the way LMDB 0.9 lays out a leaf node on a little-endian
// machine: data size (u16 lo, u16 hi), flags (u16), key size (u16), the key (the account
// id, big-endian), then the value (version byte, then debits_posted, 16 bytes LE).
TEST_F(LedgerTamperTest, ChangedBalanceIsNamedByVerify) {
    const auto copy = dir_.path() / "copy.lmdb";
    ASSERT_NO_FATAL_FAILURE(build(copy));
    std::string bytes = read_file(copy);
    std::string node = {65, 0, 0, 0, 0, 0, 16, 0};
    const AccountId target = account(2);
    for (std::uint64_t half : {target.hi, target.lo})
        for (int shift = 56; shift >= 0; shift -= 8)
            node.push_back(static_cast<char>((half >> shift) & 0xFF));
    const auto hits = find_all(bytes, node);
    ASSERT_EQ(hits.size(), 1u) << "expected one balance row of account " << id_text(target)
                               << " (a 65-byte value under its 16-byte id)";
    bytes[hits[0] + node.size() + 1] ^= 0x01;  // debits_posted, lowest byte
    write_file(copy, bytes);
    std::remove((copy.string() + "-lock").c_str());

    auto report = open_and_verify(copy);
    if (!report) {
        EXPECT_FALSE(report.error().message().empty());
        std::printf("tamper: balance changed; open/read failed: %s\n",
                    report.error().to_string().c_str());
        return;
    }
    ASSERT_FALSE(report->ok) << "verify() passed a file whose balance of account "
                             << id_text(target) << " was changed";
    EXPECT_TRUE(report->bad_account && *report->bad_account == target)
        << "verify() must name account " << id_text(target) << ", it said: " << report->failure;
    std::printf("tamper: balance changed; verify: %s\n", report->failure.c_str());
}

TEST_F(LedgerTamperTest, FileThatIsNotALedgerFailsToOpen) {
    ASSERT_TRUE(dir_.ok());
    const auto p = dir_.path() / "garbage.lmdb";
    std::string junk(64 * 1024, '\0');
    for (std::size_t i = 0; i < junk.size(); ++i)
        junk[i] = static_cast<char>((i * 131) ^ 0x5A);
    write_file(p, junk);
    OpenOptions o;
    o.path = p;
    o.read_only = true;
    o.create_if_missing = false;
    auto opened = Ledger::open(o);
    ASSERT_FALSE(opened.has_value()) << "a file of junk opened as a ledger";
    EXPECT_FALSE(opened.error().message().empty());
    EXPECT_TRUE(opened.error().code() == StatusCode::kCorruption ||
                opened.error().code() == StatusCode::kIoError)
        << opened.error().to_string();
}

}  // namespace
}  // namespace fxsettle::ledger
