# Writes a C++ source that defines `std::string_view <FUNCTION>() noexcept` returning the
# bytes of INPUT, so that a text file (config/default.toml) is compiled into the library.
# Bytes are emitted as numbers, so any content embeds unchanged.
#   cmake -DINPUT=<file> -DOUTPUT=<file.cpp> -DNAMESPACE=<ns> -DFUNCTION=<name>
#         [-DINCLUDE=<header that declares FUNCTION>] -P embed_text.cmake
foreach(var INPUT OUTPUT NAMESPACE FUNCTION)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "embed_text.cmake: -D${var}= is required")
    endif()
endforeach()

file(READ "${INPUT}" hex HEX)
string(LENGTH "${hex}" hex_length)
math(EXPR byte_count "${hex_length} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
# 16 bytes a line keeps the generated file readable (CMake regexes have no {n}).
string(REPEAT "0x[0-9a-f][0-9a-f]," 16 line_regex)
string(REGEX REPLACE "(${line_regex})" "\\1\n        " bytes "${bytes}")
get_filename_component(in_name "${INPUT}" NAME)

set(include_line "")
if(DEFINED INCLUDE)
    set(include_line "#include \"${INCLUDE}\"\n")
endif()

file(WRITE "${OUTPUT}.tmp"
"// Generated at build time from ${in_name} by config/embed_text.cmake. Do not edit.
${include_line}#include <string_view>

namespace ${NAMESPACE} {
namespace {
// ${byte_count} bytes of ${in_name}, then a NUL so that the text is also a C string.
constexpr unsigned char kBytes[] = {
        ${bytes}0x00};
}  // namespace

std::string_view ${FUNCTION}() noexcept {
    return {reinterpret_cast<const char*>(kBytes), sizeof kBytes - 1};
}
}  // namespace ${NAMESPACE}
")
file(COPY_FILE "${OUTPUT}.tmp" "${OUTPUT}" ONLY_IF_DIFFERENT)
file(REMOVE "${OUTPUT}.tmp")
