// fxsettle's FIX 4.4 data dictionary (config/fix/FIX44-fxsettle.xml), compiled into the
// config library so that an installed fxsettled or simulator needs no source tree.
// QuickFIX reads its dictionary from a file, so write_fix_dictionary() puts the
// compiled-in copy into a directory the program owns.
#pragma once

#include <filesystem>
#include <string_view>

#include "engine/base/status.h"

namespace fxsettle::config {

// The file name write_fix_dictionary() writes.
inline constexpr std::string_view kFixDictionaryFileName = "FIX44-fxsettle.xml";

// The bytes of config/fix/FIX44-fxsettle.xml as built.
std::string_view fix_dictionary_text() noexcept;

// Writes fix_dictionary_text() to <dir>/FIX44-fxsettle.xml with mode 0600 (through a
// temporary file and a rename, so that a reader never sees half a file), unless that
// file already holds exactly those bytes, and returns its path. kIoError naming the file
// when the directory is missing or not writable.
Result<std::filesystem::path> write_fix_dictionary(const std::filesystem::path& dir);

}  // namespace fxsettle::config
