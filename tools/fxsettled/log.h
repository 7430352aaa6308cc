// fxsettled's logging: spdlog loggers "fxsettled" (the daemon), "edge" (the FIX edge's
// NodeOptions::log) and "metrics", writing to stderr as text lines
//   2026-11-23T02:00:00.123Z info fxsettled: ready gateway=127.0.0.1:9878
// or, with --log-json, one JSON object a line
//   {"ts":"2026-11-23T02:00:00.123Z","level":"info","logger":"fxsettled","msg":"ready",
//    "gateway":"127.0.0.1:9878"}
// Timestamps are UTC wall-clock time (not the engine's clock). Structured fields are
// passed with log_fields(); nothing here knows which values are secret: callers never
// pass passwords or beneficiary account numbers at info level.
#pragma once

#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include <spdlog/spdlog.h>

#include "adapters/edge/common.h"

namespace fxsettle::daemon {

// Parses "trace" | "debug" | "info" | "warn" | "error" (also spdlog's "critical", "off").
// False for anything else.
bool parse_log_level(std::string_view name, spdlog::level::level_enum* level);

// Creates (or re-creates) the three loggers on stderr with `level` and the text or JSON
// format. Call once at start-up, before any thread logs.
void init_logging(spdlog::level::level_enum level, bool json);

// The loggers init_logging() created (never null after it).
spdlog::logger& daemon_log();
spdlog::logger& edge_log();
spdlog::logger& metrics_log();

using Field = std::pair<std::string_view, std::string>;
// Logs `message` with structured fields: JSON keys with --log-json, " key=value" in text.
void log_fields(spdlog::logger& logger, spdlog::level::level_enum level, std::string_view message,
                std::initializer_list<Field> fields);

// The edge's LogFn over edge_log(): info -> info, warning -> warn, error -> error.
adapters::edge::LogFn edge_log_fn();

// `text` as a JSON string body (quotes, backslashes and control characters escaped).
std::string json_escape(std::string_view text);

}  // namespace fxsettle::daemon
