// config_loader: TOML text -> config::load_config_string (parse, schema, validation).
// Properties: never crashes; a refusal is a kInvalidArgument with a message; an accepted
// config printed with to_toml() loads again and prints the same text (config.h: "Loading
// the text back gives an equal Config").
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "config/config.h"
#include "tests/fuzz/fuzz_check.h"

using fxsettle::fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto loaded = fxsettle::config::load_config_string(text, "fuzz.toml");
    if (!loaded) {
        check(loaded.error().code() == fxsettle::StatusCode::kInvalidArgument,
              "a refused config is kInvalidArgument", loaded.error().message());
        check(!loaded.error().message().empty(), "a refused config names the problem");
        return 0;
    }
    const std::string printed = fxsettle::config::to_toml(*loaded);
    auto reloaded = fxsettle::config::load_config_string(printed, "fuzz.toml");
    check(reloaded.has_value(), "an accepted config's to_toml() loads again",
          reloaded ? std::string_view{} : std::string_view{reloaded.error().message()});
    check(fxsettle::config::to_toml(*reloaded) == printed,
          "an accepted config's to_toml() prints the same after a reload", printed);
    return 0;
}
