// Validation of a WireMessage against the FIX data dictionary, for C++20 code (plain
// header: no QuickFIX type). The converters prove in their tests that every message they
// build is one a counterparty's session accepts.
#pragma once

#include <string>

#include "adapters/fix/wire.h"

namespace fxsettle {
namespace adapters {

// Builds the FIX 4.4 message `message` describes (wire_codec.h: to_fix), completes its
// header, serialises and parses it back with the dictionary at `dictionary_path` exactly
// as a receiving session does, and runs QuickFIX's DataDictionary::validate and
// validate_strict (strict_validation.h). Returns "" when a session would accept it, or
// the first error naming the tag, e.g. "Required tag missing (tag 55)". A dictionary that
// cannot be loaded is reported as "cannot load data dictionary <path>: <why>".
// Thread-safe; each dictionary is loaded once per process and kept.
std::string wire_check(const WireMessage& message, const std::string& dictionary_path);

}  // namespace adapters
}  // namespace fxsettle
