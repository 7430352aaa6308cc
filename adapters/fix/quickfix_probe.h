// A C++14-clean probe of the QuickFIX library: builds a FIX 4.4 message with QuickFIX
// and parses it back. Used by the dependency smoke test; the FIX adapters proper
// (issue 5) replace it as the target's first real user.
#pragma once

#include <string>

namespace fxsettle {
namespace adapters {

struct QuickFixProbe {
    bool ok = false;
    std::string message;  // the FIX text QuickFIX produced (SOH shown as '|')
    std::string error;    // what went wrong, when !ok
};

// Builds a NewOrderSingle for `symbol` with ClOrdID `cl_ord_id`, serialises it, parses
// the text back and checks the fields survived. Never throws.
QuickFixProbe probe_quickfix(const std::string& symbol, const std::string& cl_ord_id);

}  // namespace adapters
}  // namespace fxsettle
