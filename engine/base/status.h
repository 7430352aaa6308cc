// Status and Result<T>: how fxsettle reports failures (STYLE.md, "Errors").
//
// A *failure* is something that went wrong with the machinery: a disk that is full,
// an LMDB error, a config file that does not parse. It is a Status: a code from the
// enum below and a human message that names what is wrong.
//
// A *business outcome* (insufficient funds, unknown account, ...) is NOT a Status: each
// subsystem reports those as its own `enum class` of stable numbers.
//
// g++ 12 has no std::expected, so Result<T> is tl::expected behind one alias; moving to
// C++23 is a one-line change here.
#pragma once

#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace fxsettle {

// Stable numbers: never renumber or reuse a value.
enum class StatusCode : int {
    kOk = 0,
    kInvalidArgument = 1,     // the caller's input is malformed (bad amount, bad key, ...)
    kNotFound = 2,            // a named thing does not exist (file, account, currency)
    kAlreadyExists = 3,       // creating something that exists with different content
    kOutOfRange = 4,          // a value outside what the type can hold (overflow)
    kFailedPrecondition = 5,  // the system is not in a state where this can be done
    kIoError = 6,             // the operating system refused a read or write
    kCorruption = 7,          // stored data fails a check (hash, format, invariant)
    kUnavailable = 8,         // a resource is busy or locked (ledger opened by a writer)
    kInternal = 9,            // a bug or an unexpected library error
    kUnsupported = 10,        // a format version or feature this build does not know
    kResourceExhausted = 11,  // a bounded resource ran out (a write with too many dirty pages)
};

// A short, stable name for a code ("invalid_argument", ...), for logs and JSON.
std::string_view status_code_name(StatusCode code) noexcept;

class [[nodiscard]] Status {
  public:
    Status() = default;  // OK
    Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

    static Status ok() { return {}; }

    bool is_ok() const noexcept { return code_ == StatusCode::kOk; }
    explicit operator bool() const noexcept { return is_ok(); }
    StatusCode code() const noexcept { return code_; }
    // The message names what is wrong; it is empty for OK.
    const std::string& message() const noexcept { return message_; }
    // "<code name>: <message>", or "ok".
    std::string to_string() const;

    friend bool operator==(const Status& a, const Status& b) {
        return a.code_ == b.code_ && a.message_ == b.message_;
    }

  private:
    StatusCode code_ = StatusCode::kOk;
    std::string message_;
};

// Result<T> holds a T or the Status that says why there is none. Construct a failure
// with `return fail(StatusCode::kX, "...")` (or `tl::make_unexpected(status)`).
template <typename T>
using Result = tl::expected<T, Status>;

inline tl::unexpected<Status> fail(StatusCode code, std::string message) {
    return tl::unexpected<Status>(Status(code, std::move(message)));
}
inline tl::unexpected<Status> fail(Status status) {
    return tl::unexpected<Status>(std::move(status));
}

}  // namespace fxsettle

// Assertions for programmer bugs. They stay on in release builds (STYLE.md): a broken
// money invariant must stop the process, never be written to the ledger.
#define FXSETTLE_ASSERT(cond, msg)                                       \
    do {                                                                 \
        if (!(cond))                                                     \
            ::fxsettle::assert_failed(#cond, (msg), __FILE__, __LINE__); \
    } while (false)

namespace fxsettle {
[[noreturn]] void assert_failed(const char* cond, std::string_view msg, const char* file,
                                int line) noexcept;
}  // namespace fxsettle
