// CPU time of the whole process and of each of its threads (Linux: getrusage and
// /proc/self/task/<tid>/stat), so that fix_bench can report CPU microseconds per round
// trip -- the figure that stays meaningful on a shared machine where wall-clock rates are
// noisy -- and where that CPU goes, by thread name. Plain C++14 (the bare echo pair uses it).
#pragma once

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace fxsettle {
namespace bench {

// One sample of the process's and its threads' CPU time.
struct CpuSample {
    std::uint64_t process_us = 0;                              // user + system, all threads
    std::map<long, std::pair<std::string, double>> threads_s;  // tid -> (name, user+system s)
};

inline std::uint64_t timeval_us(const timeval& t) {
    return static_cast<std::uint64_t>(t.tv_sec) * 1000000u + static_cast<std::uint64_t>(t.tv_usec);
}

// Reads the process's CPU time (microseconds) and each thread's (clock ticks, 10 ms
// resolution on a 100 Hz kernel: meaningful over runs of seconds).
inline CpuSample cpu_sample() {
    CpuSample s;
    rusage ru{};
    if (::getrusage(RUSAGE_SELF, &ru) == 0) {
        s.process_us = timeval_us(ru.ru_utime) + timeval_us(ru.ru_stime);
    }
    const double tick_s = 1.0 / static_cast<double>(::sysconf(_SC_CLK_TCK));
    DIR* dir = ::opendir("/proc/self/task");
    if (dir == nullptr) {
        return s;
    }
    while (const dirent* e = ::readdir(dir)) {
        if (e->d_name[0] == '.') {
            continue;
        }
        std::ifstream in(std::string("/proc/self/task/") + e->d_name + "/stat");
        std::string line;
        if (!std::getline(in, line)) {
            continue;
        }
        // "tid (comm) state ppid ... utime(14) stime(15)": comm may hold spaces; split
        // after its closing parenthesis.
        const std::size_t open = line.find('(');
        const std::size_t close = line.rfind(')');
        if (open == std::string::npos || close == std::string::npos || close < open) {
            continue;
        }
        const std::string name = line.substr(open + 1, close - open - 1);
        std::istringstream rest(line.substr(close + 2));
        std::string field;
        std::uint64_t utime = 0;
        std::uint64_t stime = 0;
        // Fields 3.. follow; utime is field 14, stime 15 (12th and 13th after comm).
        for (int i = 3; i <= 15 && (rest >> field); ++i) {
            if (i == 14) {
                utime = std::stoull(field);
            } else if (i == 15) {
                stime = std::stoull(field);
            }
        }
        s.threads_s[std::stol(e->d_name)] = {name, static_cast<double>(utime + stime) * tick_s};
    }
    ::closedir(dir);
    return s;
}

// CPU spent between two samples: the process's, and per thread name (threads of one name
// summed; a thread that ended in between is missing from `after` and left out).
struct CpuSpent {
    std::uint64_t process_us = 0;
    std::vector<std::pair<std::string, double>> by_name_s;  // most CPU first
};

inline CpuSpent cpu_spent(const CpuSample& before, const CpuSample& after) {
    CpuSpent spent;
    spent.process_us = after.process_us - before.process_us;
    std::map<std::string, double> by_name;
    for (const auto& t : after.threads_s) {
        auto it = before.threads_s.find(t.first);
        const double was = it == before.threads_s.end() ? 0.0 : it->second.second;
        by_name[t.second.first] += t.second.second - was;
    }
    for (const auto& n : by_name) {
        spent.by_name_s.push_back(n);
    }
    std::sort(spent.by_name_s.begin(), spent.by_name_s.end(),
              [](const std::pair<std::string, double>& a, const std::pair<std::string, double>& b) {
                  return a.second > b.second;
              });
    return spent;
}

}  // namespace bench
}  // namespace fxsettle
