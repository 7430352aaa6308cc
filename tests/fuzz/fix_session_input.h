// What a fxsettle FIX session does with the bytes of one inbound message before the
// application sees it (adapters/fix/session_host.cpp): parse with the data dictionary
// (BodyLength and CheckSum checked), DataDictionary::validate with the session's settings,
// validate_strict, then from_fix into a WireMessage. Plain C++14 header (wire.h only), so
// the C++20 fuzz target can call it; fix_session_input.cpp is the QuickFIX side.
#pragma once

#include <string>

#include "adapters/fix/wire.h"

namespace fxsettle {
namespace fuzz {

enum class SessionVerdict {
    kApplication,  // an application message: `*out` is what the Handler would receive
    kAdmin,        // a valid session-level message (Logon, Heartbeat, ...): not ours
    kRejected,     // the session refuses it (Reject or a dropped garbled message)
};

// `dictionary_path` is loaded on the first call and kept. `*error` names the problem for
// kRejected. Exceptions other than QuickFIX's are not caught: they would escape the
// session too, so the fuzzer must see them.
SessionVerdict receive_as_session(const std::string& text, const std::string& dictionary_path,
                                  adapters::WireMessage* out, std::string* error);

}  // namespace fuzz
}  // namespace fxsettle
