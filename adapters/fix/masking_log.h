// QuickFIX file logs that keep secrets out and stay private: the value of Password (554)
// and NewPassword (925) is replaced by "********" before a line reaches QuickFIX's FileLog
// (a Logon, accepted or refused, is otherwise logged as it arrived, password included),
// and the log files are made mode 0600 as they are created (FileLog opens them with the
// process umask, usually 0644). C++14 with QuickFIX headers: fxsettle_adapters only.
#pragma once

#include <quickfix/Log.h>

#include <memory>
#include <string>

namespace fxsettle {
namespace adapters {

// `message` with the value of every 554= and 925= field (after SOH) replaced by
// "********". BodyLength and CheckSum are left as they were: the result is for logs only.
std::string mask_secrets(const std::string& message);

// A FIX::FileLogFactory on `dir` whose logs mask secrets; every regular file in `dir` is
// made mode 0600 after each log is created.
class MaskingLogFactory : public FIX::LogFactory {
  public:
    explicit MaskingLogFactory(const std::string& dir);
    FIX::Log* create() override;
    FIX::Log* create(const FIX::SessionID& id) override;
    void destroy(FIX::Log* log) override;

  private:
    void restrict_files() const;

    std::string dir_;
    std::unique_ptr<FIX::LogFactory> inner_;
};

}  // namespace adapters
}  // namespace fxsettle
