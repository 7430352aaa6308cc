// Internal to fxsettle::config: typed, position-aware reading of a toml++ tree. Every
// problem becomes one diagnostic "<source>:<line>:<column>: <key path>: <what>"; reading
// goes on after a problem so that one load reports all of them.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "engine/base/status.h"

namespace fxsettle::config::detail {

// Collects the problems of one load.
class Diagnostics {
  public:
    // At most this many problems are listed; the rest are counted.
    static constexpr std::size_t kErrorsMax = 50;

    explicit Diagnostics(std::string source_name) : source_name_(std::move(source_name)) {}

    // Records a problem at `where` (a node's or key's source region; a region without a
    // line is reported without one) for the key path `path` (may be empty).
    void error(const toml::source_region& where, std::string_view path, std::string_view what);

    bool has_errors() const noexcept { return !errors_.empty(); }
    const std::string& source_name() const noexcept { return source_name_; }

    // kInvalidArgument listing every problem, one per line, sorted by position.
    Status to_status() const;

  private:
    struct Entry {
        std::uint32_t line = 0;
        std::uint32_t column = 0;
        std::size_t order = 0;  // keeps equal positions in reporting order
        std::string text;
    };
    std::string source_name_;
    std::vector<Entry> errors_;
    std::size_t errors_dropped_ = 0;
};

// "a.b", "a.\"odd key\"" (quoted when not a TOML bare key), or "b" when `parent` is empty.
std::string child_path(std::string_view parent, std::string_view key);
// "psps[3]".
std::string index_path(std::string_view parent, std::size_t index);
// "string", "integer", "float", "boolean", "table", "array", "date", "time", "date-time".
std::string_view type_name(toml::node_type type) noexcept;

enum class Need : std::uint8_t { kOptional, kRequired };

// One TOML table being read: every key asked for is marked known, and finish() reports
// the keys nobody asked for as unknown.
class TableReader {
  public:
    TableReader(Diagnostics& diagnostics, const toml::table& table, std::string path);
    TableReader(const TableReader&) = delete;
    TableReader& operator=(const TableReader&) = delete;

    Diagnostics& diagnostics() const noexcept { return diagnostics_; }
    const toml::table& table() const noexcept { return table_; }
    const std::string& path() const noexcept { return path_; }
    std::string path_of(std::string_view key) const { return child_path(path_, key); }

    // The value under `key` (marking it known), or nullptr; a required key that is absent
    // is reported as missing, at the table's position.
    const toml::node* find(std::string_view key, Need need);

    // Typed values. nullopt when absent or invalid (a problem is then recorded, except for
    // an absent optional key). Strings must not be empty unless `allow_empty`.
    std::optional<std::string> string(std::string_view key, Need need, bool allow_empty = false);
    std::optional<std::int64_t> integer(std::string_view key, Need need, std::int64_t min,
                                        std::int64_t max);
    std::optional<bool> boolean(std::string_view key, Need need);
    // A sub-table, inline or not.
    const toml::table* table(std::string_view key, Need need);
    // An array; `what` describes its elements for the type error ("array of tables").
    const toml::array* array(std::string_view key, Need need, std::string_view what);

    // Records a problem about the value under `key`, at the value's position.
    void value_error(std::string_view key, std::string_view what);
    // Records a problem at the table's own position (e.g. a missing combination of keys).
    void table_error(std::string_view what);

    // Reports every key of the table that no accessor asked for. Call once, at the end.
    void finish();

  private:
    Diagnostics& diagnostics_;
    const toml::table& table_;
    std::string path_;
    std::set<std::string, std::less<>> known_;
};

// Reports a type mismatch: "<path>: expected <expected>, got <actual type>".
void type_error(Diagnostics& diagnostics, const toml::node& node, std::string_view path,
                std::string_view expected);

// A string element of an array (or any node) that must be a non-empty string.
std::optional<std::string> string_of(Diagnostics& diagnostics, const toml::node& node,
                                     std::string_view path, std::string_view expected);

}  // namespace fxsettle::config::detail
