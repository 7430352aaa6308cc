# Writes a C++ source that defines
#   std::span<const EmbeddedFile> <FUNCTION>() noexcept
# returning the name and bytes of every "*.toml" file of INPUT_DIR, sorted by name, so that
# a folder of data files (config/calendars/) is compiled into the library. Bytes are
# emitted as numbers, so any content embeds unchanged.
#   cmake -DINPUT_DIR=<dir> -DOUTPUT=<file.cpp> -DNAMESPACE=<ns> -DFUNCTION=<name>
#         -DINCLUDE=<header that declares FUNCTION and EmbeddedFile> -P embed_files.cmake
foreach(var INPUT_DIR OUTPUT NAMESPACE FUNCTION INCLUDE)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "embed_files.cmake: -D${var}= is required")
    endif()
endforeach()

file(GLOB inputs RELATIVE "${INPUT_DIR}" "${INPUT_DIR}/*.toml")
list(SORT inputs)
string(REPEAT "0x[0-9a-f][0-9a-f]," 16 line_regex)

set(arrays "")
set(entries "")
set(index 0)
foreach(name IN LISTS inputs)
    file(READ "${INPUT_DIR}/${name}" hex HEX)
    string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
    # 16 bytes a line keeps the generated file readable (CMake regexes have no {n}).
    string(REGEX REPLACE "(${line_regex})" "\\1\n        " bytes "${bytes}")
    string(APPEND arrays "// ${name}\nconstexpr unsigned char kFile${index}[] = {\n        ${bytes}0x00};\n")
    string(APPEND entries
           "        {\"${name}\", {reinterpret_cast<const char*>(kFile${index}), sizeof kFile${index} - 1}},\n")
    math(EXPR index "${index} + 1")
endforeach()

file(WRITE "${OUTPUT}.tmp"
"// Generated at build time from the *.toml files of ${INPUT_DIR}
// by config/embed_files.cmake. Do not edit.
#include \"${INCLUDE}\"

#include <span>
#include <string_view>

namespace ${NAMESPACE} {
namespace {
${arrays}}  // namespace

std::span<const EmbeddedFile> ${FUNCTION}() noexcept {
    static const EmbeddedFile kFiles[] = {
${entries}    };
    return kFiles;
}
}  // namespace ${NAMESPACE}
")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
