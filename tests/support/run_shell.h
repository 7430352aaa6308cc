// Running a program as a user would from a shell, for the tests of the command-line
// tools (fxledger, the fxsim simulators): its exit code, stdout and stderr.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace fxsettle::test {

struct RunResult {
    int exit_code = -1;  // 128 + the signal when a signal ended it
    std::string out;
    std::string err;
};

// One shell word: `s` in single quotes, its own single quotes escaped.
inline std::string shell_quote(const std::string& s) {
    std::string q = "'";
    for (char c : s) {
        if (c == '\'') {
            q += "'\\''";
        } else {
            q.push_back(c);
        }
    }
    return q + "'";
}

// Runs a shell command line through popen, capturing stdout, stderr (through a temp file)
// and the exit code.
inline RunResult run_shell(const std::string& command) {
    static int counter = 0;
    const std::filesystem::path err_file =
        std::filesystem::temp_directory_path() /
        ("fxsettle-test-stderr-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
    RunResult r;
    const std::string line = command + " 2>" + shell_quote(err_file.string());
    FILE* p = ::popen(line.c_str(), "r");
    if (p == nullptr) {
        ADD_FAILURE() << "popen failed: " << line;
        return r;
    }
    char buf[4096];
    std::size_t n = 0;
    while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) {
        r.out.append(buf, n);
    }
    const int status = ::pclose(p);
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::ifstream in(err_file, std::ios::binary);
    r.err.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    std::filesystem::remove(err_file);
    return r;
}

// Runs `program` with `args`, each one shell word.
inline RunResult run_program(const std::string& program, const std::vector<std::string>& args,
                             const std::string& env = "") {
    std::string line = env.empty() ? "" : env + " ";
    line += shell_quote(program);
    for (const auto& a : args) {
        line.push_back(' ');
        line += shell_quote(a);
    }
    return run_shell(line);
}

}  // namespace fxsettle::test
