// prefault_room (engine/base/prefault.h): the cut-off faults in the reserved room of its
// large lists with one system call; the pages must then be resident and the vector
// unchanged.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/base/prefault.h"

namespace fxsettle {
namespace {

TEST(Prefault, FaultsInTheWholePagesOfTheRoomAndChangesNoElement) {
#ifndef MADV_POPULATE_WRITE
    GTEST_SKIP() << "no MADV_POPULATE_WRITE in these headers: prefault_room does nothing";
#else
    const long page = ::sysconf(_SC_PAGESIZE);
    ASSERT_EQ(page, 4096) << "prefault_room assumes 4 KiB pages";
    {
        // The kernel must know the advice (Linux 5.14 and later), else nothing is expected.
        void* probe =
            ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        ASSERT_NE(probe, MAP_FAILED);
        const int known = ::madvise(probe, 4096, MADV_POPULATE_WRITE);
        ::munmap(probe, 4096);
        if (known != 0)
            GTEST_SKIP() << "the kernel refuses MADV_POPULATE_WRITE: prefault_room does nothing";
    }
    std::vector<std::uint64_t> v = {7, 8, 9};
    v.reserve(std::size_t{1} << 20);  // 8 MiB of fresh room
    const std::uint64_t* data = v.data();
    const std::size_t capacity = v.capacity();
    prefault_room(v);
    EXPECT_EQ(v.data(), data) << "prefault_room moved the elements";
    EXPECT_EQ(v.capacity(), capacity) << "prefault_room changed the capacity";
    EXPECT_EQ(v, (std::vector<std::uint64_t>{7, 8, 9})) << "prefault_room changed an element";

    const auto first = reinterpret_cast<std::uintptr_t>(v.data() + v.size());
    const auto last = reinterpret_cast<std::uintptr_t>(v.data() + v.capacity());
    const std::uintptr_t begin = (first + 4095) & ~std::uintptr_t{4095};
    const std::uintptr_t end = last & ~std::uintptr_t{4095};
    ASSERT_GT(end, begin);
    std::vector<unsigned char> resident((end - begin) / 4096);
    ASSERT_EQ(::mincore(reinterpret_cast<void*>(begin), end - begin, resident.data()), 0);
    std::size_t missing = 0;
    for (const unsigned char r : resident)
        missing += (r & 1) == 0 ? 1 : 0;
    EXPECT_EQ(missing, 0u) << missing << " of the room's " << resident.size()
                           << " whole pages are not resident after prefault_room";
#endif
}

// The VmFlags line of the mapping in /proc/self/smaps that holds `address` ("" if none).
std::string vm_flags_at(std::uintptr_t address) {
    std::ifstream smaps("/proc/self/smaps");
    std::string line;
    bool inside = false;
    while (std::getline(smaps, line)) {
        std::uintptr_t lo = 0;
        std::uintptr_t hi = 0;
        char dash = 0;
        std::istringstream head(line);
        if (head >> std::hex >> lo >> dash >> hi && dash == '-') {
            inside = address >= lo && address < hi;
            continue;
        }
        if (inside && line.rfind("VmFlags:", 0) == 0)
            return line;
    }
    return "";
}

// On a virtual machine that shadows page tables the first user write to each 4 KiB page
// exits to the hypervisor even after populating; huge pages make that one exit per 2 MiB.
// So the room's whole 2 MiB blocks carry MADV_HUGEPAGE ("hg" in VmFlags) and no byte
// outside the room is advised.
TEST(Prefault, MarksTheWholeTwoMebibyteBlocksOfTheRoomForHugePages) {
#ifndef MADV_POPULATE_WRITE
    GTEST_SKIP() << "no MADV_POPULATE_WRITE in these headers: prefault_room does nothing";
#else
    if (!std::filesystem::exists("/sys/kernel/mm/transparent_hugepage/enabled"))
        GTEST_SKIP() << "this kernel has no transparent huge pages";
    std::vector<std::uint64_t> v = {1, 2};
    v.reserve(std::size_t{3} << 20);  // 24 MiB: at least 11 whole 2 MiB blocks
    prefault_room(v);
    EXPECT_EQ(v, (std::vector<std::uint64_t>{1, 2})) << "prefault_room changed an element";
    constexpr std::uintptr_t kHuge = std::uintptr_t{2} << 20;
    const auto first = reinterpret_cast<std::uintptr_t>(v.data() + v.size());
    const auto last = reinterpret_cast<std::uintptr_t>(v.data() + v.capacity());
    const std::uintptr_t huge_begin = (first + kHuge - 1) & ~(kHuge - 1);
    const std::uintptr_t huge_end = last & ~(kHuge - 1);
    ASSERT_GT(huge_end, huge_begin);
    for (std::uintptr_t block = huge_begin; block < huge_end; block += kHuge) {
        const std::string flags = vm_flags_at(block);
        EXPECT_NE(flags.find(" hg"), std::string::npos)
            << "block at " << std::hex << block << " not marked for huge pages: " << flags;
    }
    // The vector's first bytes lie before the first whole block: not advised.
    const std::string head = vm_flags_at(reinterpret_cast<std::uintptr_t>(v.data()));
    if (reinterpret_cast<std::uintptr_t>(v.data()) < huge_begin) {
        EXPECT_EQ(head.find(" hg"), std::string::npos)
            << "advice outside the room's blocks: " << head;
    }
#endif
}

}  // namespace
}  // namespace fxsettle
