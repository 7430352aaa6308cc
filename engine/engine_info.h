// Build facts of the engine, printed by the tools' --version.
#pragma once

#include <string_view>

namespace fxsettle::engine {

// The project version, e.g. "0.1.0". The returned view lives for the whole program.
std::string_view version() noexcept;

}  // namespace fxsettle::engine
