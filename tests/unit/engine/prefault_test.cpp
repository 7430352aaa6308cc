// prefault_room (engine/base/prefault.h): the cut-off faults in the reserved room of its
// large lists with one system call; the pages must then be resident and the vector
// unchanged.
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
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

}  // namespace
}  // namespace fxsettle
