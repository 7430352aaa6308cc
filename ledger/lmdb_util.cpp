#include "ledger/lmdb_util.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>

namespace fxsettle::ledger::lmdb {

Status status(int rc, std::string_view what) {
    StatusCode code = StatusCode::kInternal;
    switch (rc) {
        case MDB_SUCCESS:
            return Status::ok();
        case MDB_MAP_FULL:
        case ENOSPC:
        case EIO:
        case EACCES:
        case EROFS:
            code = StatusCode::kIoError;
            break;
        case MDB_TXN_FULL:
            code = StatusCode::kResourceExhausted;
            break;
        case MDB_CORRUPTED:
        case MDB_INVALID:
        case MDB_PAGE_NOTFOUND:
            code = StatusCode::kCorruption;
            break;
        case MDB_VERSION_MISMATCH:
            code = StatusCode::kUnsupported;
            break;
        case EAGAIN:
        case EBUSY:
        case MDB_READERS_FULL:
            code = StatusCode::kUnavailable;
            break;
        case ENOENT:
            code = StatusCode::kNotFound;
            break;
        default:
            break;
    }
    std::string message(what);
    message += ": ";
    message += mdb_strerror(rc);
    return Status(code, std::move(message));
}

namespace {

inline std::uint64_t load_be64(const unsigned char* p) noexcept {
    std::uint64_t v;
    std::memcpy(&v, p, sizeof v);
    if constexpr (std::endian::native == std::endian::little) {
        v = __builtin_bswap64(v);
    }
    return v;
}

}  // namespace

int compare_binary_keys(const MDB_val* a, const MDB_val* b) noexcept {
    const auto* p = static_cast<const unsigned char*>(a->mv_data);
    const auto* q = static_cast<const unsigned char*>(b->mv_data);
    const std::size_t n = std::min(a->mv_size, b->mv_size);
    std::size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        const std::uint64_t x = load_be64(p + i);
        const std::uint64_t y = load_be64(q + i);
        if (x != y) {
            return x < y ? -1 : 1;
        }
    }
    for (; i < n; ++i) {
        if (p[i] != q[i]) {
            return p[i] < q[i] ? -1 : 1;
        }
    }
    return a->mv_size < b->mv_size ? -1 : (a->mv_size > b->mv_size ? 1 : 0);
}

}  // namespace fxsettle::ledger::lmdb
