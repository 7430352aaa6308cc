#include "tools/fxsettled/log.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <vector>

#include <spdlog/formatter.h>
#include <spdlog/sinks/stdout_sinks.h>

namespace fxsettle::daemon {

namespace {

// Structured fields travel inside the payload: message, then per field a unit separator,
// the key, a record separator and the value. Only the formatters below read them.
constexpr char kFieldSep = '\x1f';
constexpr char kValueSep = '\x1e';

struct Parsed {
    std::string_view message;
    std::vector<std::pair<std::string_view, std::string_view>> fields;
};

Parsed parse_payload(std::string_view payload) {
    Parsed p;
    std::size_t cut = payload.find(kFieldSep);
    p.message = payload.substr(0, cut);
    while (cut != std::string_view::npos) {
        const std::size_t next = payload.find(kFieldSep, cut + 1);
        const std::string_view field = payload.substr(
            cut + 1, next == std::string_view::npos ? std::string_view::npos : next - cut - 1);
        const std::size_t eq = field.find(kValueSep);
        if (eq != std::string_view::npos)
            p.fields.emplace_back(field.substr(0, eq), field.substr(eq + 1));
        cut = next;
    }
    return p;
}

// "2026-11-23T02:00:00.123Z" (UTC, milliseconds).
std::string utc_time(std::chrono::system_clock::time_point t) {
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof buf - n, ".%03dZ", static_cast<int>(ms % 1000));
    return buf;
}

std::string_view level_name(spdlog::level::level_enum level) {
    const auto sv = spdlog::level::to_string_view(level);
    return {sv.data(), sv.size()};
}

void append(spdlog::memory_buf_t& dest, std::string_view text) {
    dest.append(text.data(), text.data() + text.size());
}

class JsonFormatter final : public spdlog::formatter {
  public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        const Parsed p = parse_payload(std::string_view(msg.payload.data(), msg.payload.size()));
        append(dest, "{\"ts\":\"");
        append(dest, utc_time(msg.time));
        append(dest, "\",\"level\":\"");
        append(dest, level_name(msg.level));
        append(dest, "\",\"logger\":\"");
        append(dest, json_escape(std::string_view(msg.logger_name.data(), msg.logger_name.size())));
        append(dest, "\",\"msg\":\"");
        append(dest, json_escape(p.message));
        append(dest, "\"");
        for (const auto& [key, value] : p.fields) {
            append(dest, ",\"");
            append(dest, json_escape(key));
            append(dest, "\":\"");
            append(dest, json_escape(value));
            append(dest, "\"");
        }
        append(dest, "}\n");
    }
    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<JsonFormatter>();
    }
};

class TextFormatter final : public spdlog::formatter {
  public:
    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        const Parsed p = parse_payload(std::string_view(msg.payload.data(), msg.payload.size()));
        append(dest, utc_time(msg.time));
        append(dest, " ");
        append(dest, level_name(msg.level));
        append(dest, " ");
        append(dest, std::string_view(msg.logger_name.data(), msg.logger_name.size()));
        append(dest, ": ");
        append(dest, p.message);
        for (const auto& [key, value] : p.fields) {
            append(dest, " ");
            append(dest, key);
            append(dest, "=");
            if (value.find(' ') != std::string_view::npos || value.empty()) {
                append(dest, "\"");
                append(dest, value);
                append(dest, "\"");
            } else {
                append(dest, value);
            }
        }
        append(dest, "\n");
    }
    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<TextFormatter>();
    }
};

std::shared_ptr<spdlog::logger> g_daemon, g_edge, g_metrics;

}  // namespace

bool parse_log_level(std::string_view name, spdlog::level::level_enum* level) {
    static constexpr std::pair<std::string_view, spdlog::level::level_enum> kLevels[] = {
        {"trace", spdlog::level::trace}, {"debug", spdlog::level::debug},
        {"info", spdlog::level::info},   {"warn", spdlog::level::warn},
        {"error", spdlog::level::err},   {"critical", spdlog::level::critical},
        {"off", spdlog::level::off}};
    for (const auto& [n, l] : kLevels) {
        if (n == name) {
            *level = l;
            return true;
        }
    }
    return false;
}

void init_logging(spdlog::level::level_enum level, bool json) {
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    if (json)
        sink->set_formatter(std::make_unique<JsonFormatter>());
    else
        sink->set_formatter(std::make_unique<TextFormatter>());
    const auto make = [&](const char* name) {
        auto logger = std::make_shared<spdlog::logger>(name, sink);
        logger->set_level(level);
        logger->flush_on(spdlog::level::trace);  // stderr: every line goes out at once
        return logger;
    };
    g_daemon = make("fxsettled");
    g_edge = make("edge");
    g_metrics = make("metrics");
}

spdlog::logger& daemon_log() {
    return *g_daemon;
}
spdlog::logger& edge_log() {
    return *g_edge;
}
spdlog::logger& metrics_log() {
    return *g_metrics;
}

void log_fields(spdlog::logger& logger, spdlog::level::level_enum level, std::string_view message,
                std::initializer_list<Field> fields) {
    if (!logger.should_log(level))
        return;
    std::string payload(message);
    for (const auto& [key, value] : fields) {
        payload += kFieldSep;
        payload += key;
        payload += kValueSep;
        payload += value;
    }
    logger.log(level, spdlog::string_view_t(payload.data(), payload.size()));
}

adapters::edge::LogFn edge_log_fn() {
    return [](adapters::edge::LogLevel level, const std::string& message) {
        spdlog::level::level_enum l = spdlog::level::info;
        if (level == adapters::edge::LogLevel::kWarning)
            l = spdlog::level::warn;
        else if (level == adapters::edge::LogLevel::kError)
            l = spdlog::level::err;
        std::string text = message;
        for (char& c : text) {  // the field separators belong to log_fields()
            if (c == kFieldSep || c == kValueSep || c == '\n')
                c = ' ';
        }
        edge_log().log(l, spdlog::string_view_t(text.data(), text.size()));
    };
}

std::string json_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size() + 8);
    for (const char c : text) {
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (static_cast<unsigned char>(c) < 0x20) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
                    out += buf;
                } else {
                    out += c;
                }
        }
    }
    return out;
}

}  // namespace fxsettle::daemon
