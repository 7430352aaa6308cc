#include "config/fix_dictionary.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>

namespace fxsettle::config {
namespace {

bool holds_exactly(const std::filesystem::path& file, std::string_view text) {
    std::ifstream in(file, std::ios::binary);
    if (!in)
        return false;
    const std::string content((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
    return content == text;
}

Status write_all(int fd, std::string_view text, const std::filesystem::path& file) {
    while (!text.empty()) {
        const ssize_t n = ::write(fd, text.data(), text.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return Status(StatusCode::kIoError,
                          "cannot write " + file.string() + ": " + std::strerror(errno));
        text.remove_prefix(static_cast<std::size_t>(n));
    }
    return Status::ok();
}

}  // namespace

Result<std::filesystem::path> write_fix_dictionary(const std::filesystem::path& dir) {
    const std::filesystem::path file = dir / kFixDictionaryFileName;
    const std::string_view text = fix_dictionary_text();
    if (holds_exactly(file, text))
        return file;
    const std::filesystem::path temp =
        dir / (std::string(kFixDictionaryFileName) + ".tmp." + std::to_string(::getpid()));
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return fail(StatusCode::kIoError,
                    "cannot create " + temp.string() + ": " + std::strerror(errno));
    Status written = write_all(fd, text, temp);
    if (::close(fd) != 0 && written)
        written = Status(StatusCode::kIoError,
                         "cannot write " + temp.string() + ": " + std::strerror(errno));
    if (written && ::rename(temp.c_str(), file.c_str()) != 0)
        written = Status(StatusCode::kIoError, "cannot rename " + temp.string() + " to " +
                                                   file.string() + ": " + std::strerror(errno));
    if (!written) {
        ::unlink(temp.c_str());
        return fail(std::move(written));
    }
    return file;
}

}  // namespace fxsettle::config
