// Faulting in fresh memory at once (issue 4, cut-off performance).
#pragma once

#include <sys/mman.h>

#include <cstdint>
#include <vector>

namespace fxsettle {

// Faults in, with one system call, the whole pages of a vector's reserved room past its
// elements, so that filling it does not trap once per page. A large cut-off fills hundreds
// of megabytes of fresh memory, and a page fault costs several microseconds on a virtual
// machine, more than filling the page. Only the kernel touches the pages (populating them
// as if written): no element and no byte of the vector changes. Where the kernel cannot
// (MADV_POPULATE_WRITE is Linux 5.14 and later), nothing happens. Call it right after
// reserve() with a room close to what will be filled: every page of the room is populated.
//
// The whole 2 MiB blocks of the room are first marked for transparent huge pages
// (MADV_HUGEPAGE; Debian's default THP mode is "madvise"). Populating them fills those
// blocks with huge pages where the kernel has them. That counts on a virtual machine that
// shadows the guest's page tables, as this project's build machine does (PVM): there, the
// first user write to each populated 4 KiB page still exits to the hypervisor. Measured
// there, first touches of 256 MiB took 0.70 s after MADV_POPULATE_WRITE alone and
// 0.02-0.3 s (as the host allowed) with MADV_HUGEPAGE before it.
template <class T>
void prefault_room(std::vector<T>& v) noexcept {
#ifdef MADV_POPULATE_WRITE
    constexpr std::uintptr_t kPage = 4096;
    constexpr std::uintptr_t kHugePage = std::uintptr_t(2) << 20;
    const auto first = reinterpret_cast<std::uintptr_t>(v.data() + v.size());
    const auto last = reinterpret_cast<std::uintptr_t>(v.data() + v.capacity());
    const std::uintptr_t begin = (first + kPage - 1) & ~(kPage - 1);
    const std::uintptr_t end = last & ~(kPage - 1);
    const std::uintptr_t huge_begin = (first + kHugePage - 1) & ~(kHugePage - 1);
    const std::uintptr_t huge_end = last & ~(kHugePage - 1);
    if (huge_end > huge_begin)
        (void)::madvise(reinterpret_cast<void*>(huge_begin), huge_end - huge_begin, MADV_HUGEPAGE);
    if (end > begin)
        (void)::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
#else
    (void)v;
#endif
}

}  // namespace fxsettle
