#include "ledger/ledger_info.h"

#include <lmdb.h>

namespace fxsettle::ledger {

std::string lmdb_version() {
    return mdb_version(nullptr, nullptr, nullptr);
}

}  // namespace fxsettle::ledger
