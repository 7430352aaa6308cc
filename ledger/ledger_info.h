#pragma once

#include <string>

namespace fxsettle::ledger {

// The LMDB library version this build links, e.g. "LMDB 0.9.24: (July 24, 2019)".
std::string lmdb_version();

}  // namespace fxsettle::ledger
