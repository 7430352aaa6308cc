#include "engine/engine_info.h"

namespace fxsettle::engine {

std::string_view version() noexcept {
    return FXSETTLE_VERSION;
}

}  // namespace fxsettle::engine
