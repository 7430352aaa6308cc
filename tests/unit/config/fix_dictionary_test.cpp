// The compiled-in FIX dictionary (config/fix_dictionary.h): it is the source tree's file,
// and write_fix_dictionary() puts exactly those bytes in a 0600 file, leaves an identical
// file alone, replaces a stale one and names the file when it cannot write.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "config/fix_dictionary.h"
#include "config_test_support.h"

namespace fxsettle::config {
namespace {

using ::testing::HasSubstr;

std::string read_all(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

class ConfigFixDictionary : public ::testing::Test {
  protected:
    void SetUp() override {
        char pattern[] = "/tmp/fxsettle-dictionary-XXXXXX";
        ASSERT_NE(::mkdtemp(pattern), nullptr);
        dir_ = pattern;
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }
    std::filesystem::path dir_;
};

TEST_F(ConfigFixDictionary, CompiledInTextIsTheSourceTreesFile) {
    const std::string source = read_all(testing::config_source_dir() + "/fix/FIX44-fxsettle.xml");
    ASSERT_FALSE(source.empty()) << "cannot read config/fix/FIX44-fxsettle.xml";
    EXPECT_TRUE(fix_dictionary_text() == source)
        << "the compiled-in dictionary differs from config/fix/FIX44-fxsettle.xml: the build "
           "did not regenerate it";
}

TEST_F(ConfigFixDictionary, WriteCreatesTheFileWithMode0600) {
    auto written = write_fix_dictionary(dir_);
    ASSERT_TRUE(written.has_value()) << written.error().message();
    EXPECT_EQ(*written, dir_ / kFixDictionaryFileName);
    EXPECT_TRUE(read_all(*written) == fix_dictionary_text()) << "the file's bytes differ";
    struct stat st {};
    ASSERT_EQ(::stat(written->c_str(), &st), 0);
    EXPECT_EQ(st.st_mode & 0777, 0600U) << "mode " << std::oct << (st.st_mode & 0777);
    EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_),
                            std::filesystem::directory_iterator()),
              1)
        << "a temporary file was left behind";
}

TEST_F(ConfigFixDictionary, WriteLeavesAnIdenticalFileAloneAndReplacesAStaleOne) {
    ASSERT_TRUE(write_fix_dictionary(dir_).has_value());
    const auto file = dir_ / kFixDictionaryFileName;
    struct stat before {};
    ASSERT_EQ(::stat(file.c_str(), &before), 0);
    ASSERT_TRUE(write_fix_dictionary(dir_).has_value());
    struct stat after {};
    ASSERT_EQ(::stat(file.c_str(), &after), 0);
    EXPECT_EQ(before.st_ino, after.st_ino) << "an identical file was rewritten";

    std::ofstream(file, std::ios::trunc) << "<fix>stale</fix>";
    ASSERT_TRUE(write_fix_dictionary(dir_).has_value());
    EXPECT_TRUE(read_all(file) == fix_dictionary_text()) << "a stale file was not replaced";
}

TEST_F(ConfigFixDictionary, WriteIntoAMissingDirectoryNamesTheFile) {
    auto written = write_fix_dictionary(dir_ / "missing");
    ASSERT_FALSE(written.has_value());
    EXPECT_EQ(written.error().code(), StatusCode::kIoError);
    EXPECT_THAT(written.error().message(), HasSubstr((dir_ / "missing").string()));
}

}  // namespace
}  // namespace fxsettle::config
