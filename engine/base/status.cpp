#include "engine/base/status.h"

#include <cstdio>
#include <cstdlib>

namespace fxsettle {

std::string_view status_code_name(StatusCode code) noexcept {
    switch (code) {
        case StatusCode::kOk:
            return "ok";
        case StatusCode::kInvalidArgument:
            return "invalid_argument";
        case StatusCode::kNotFound:
            return "not_found";
        case StatusCode::kAlreadyExists:
            return "already_exists";
        case StatusCode::kOutOfRange:
            return "out_of_range";
        case StatusCode::kFailedPrecondition:
            return "failed_precondition";
        case StatusCode::kIoError:
            return "io_error";
        case StatusCode::kCorruption:
            return "corruption";
        case StatusCode::kUnavailable:
            return "unavailable";
        case StatusCode::kInternal:
            return "internal";
        case StatusCode::kUnsupported:
            return "unsupported";
        case StatusCode::kResourceExhausted:
            return "resource_exhausted";
    }
    return "unknown";
}

std::string Status::to_string() const {
    if (is_ok())
        return "ok";
    std::string out(status_code_name(code_));
    out += ": ";
    out += message_;
    return out;
}

void assert_failed(const char* cond, std::string_view msg, const char* file, int line) noexcept {
    std::fprintf(stderr, "fxsettle: assertion failed at %s:%d: %s (%.*s)\n", file, line, cond,
                 static_cast<int>(msg.size()), msg.data());
    std::fflush(stderr);
    std::abort();
}

}  // namespace fxsettle
