#include "adapters/fix/masking_log.h"

#include <dirent.h>
#include <sys/stat.h>

#include <quickfix/FileLog.h>

namespace fxsettle {
namespace adapters {
namespace {

class MaskingLog : public FIX::Log {
  public:
    MaskingLog(FIX::LogFactory& factory, FIX::Log* inner) : factory_(factory), inner_(inner) {}
    ~MaskingLog() override { factory_.destroy(inner_); }
    void clear() override { inner_->clear(); }
    void backup() override { inner_->backup(); }
    void onIncoming(const std::string& value) override { inner_->onIncoming(mask_secrets(value)); }
    void onOutgoing(const std::string& value) override { inner_->onOutgoing(mask_secrets(value)); }
    void onEvent(const std::string& value) override { inner_->onEvent(mask_secrets(value)); }

  private:
    FIX::LogFactory& factory_;
    FIX::Log* inner_;
};

}  // namespace

std::string mask_secrets(const std::string& message) {
    static const char* const kSecretTags[] = {
        "\001"
        "554=",
        "\001"
        "925="};
    std::string out = message;
    for (const char* tag : kSecretTags) {
        const std::string needle(tag);
        std::string::size_type at = out.find(needle);
        while (at != std::string::npos) {
            const std::string::size_type value = at + needle.size();
            std::string::size_type end = out.find('\001', value);
            if (end == std::string::npos) {
                end = out.size();
            }
            out.replace(value, end - value, "********");
            at = out.find(needle, value);
        }
    }
    return out;
}

MaskingLogFactory::MaskingLogFactory(const std::string& dir)
    : dir_(dir), inner_(new FIX::FileLogFactory(dir)) {}

void MaskingLogFactory::restrict_files() const {
    DIR* d = ::opendir(dir_.c_str());
    if (d == nullptr) {
        return;
    }
    while (const dirent* e = ::readdir(d)) {
        const std::string path = dir_ + "/" + e->d_name;
        struct stat st {};
        if (::lstat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0) {
            ::chmod(path.c_str(), st.st_mode & 0700);
        }
    }
    ::closedir(d);
}

FIX::Log* MaskingLogFactory::create() {
    FIX::Log* log = new MaskingLog(*inner_, inner_->create());
    restrict_files();
    return log;
}

FIX::Log* MaskingLogFactory::create(const FIX::SessionID& id) {
    FIX::Log* log = new MaskingLog(*inner_, inner_->create(id));
    restrict_files();
    return log;
}

void MaskingLogFactory::destroy(FIX::Log* log) {
    delete log;
}

}  // namespace adapters
}  // namespace fxsettle
