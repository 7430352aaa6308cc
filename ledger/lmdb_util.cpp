#include "ledger/lmdb_util.h"

#include <cerrno>

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
        case MDB_TXN_FULL:
            code = StatusCode::kIoError;
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

}  // namespace fxsettle::ledger::lmdb
