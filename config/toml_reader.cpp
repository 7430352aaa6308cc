#include "config/toml_reader.h"

#include <algorithm>
#include <tuple>
#include <utility>

#include <fmt/format.h>

namespace fxsettle::config::detail {

void Diagnostics::error(const toml::source_region& where, std::string_view path,
                        std::string_view what) {
    if (errors_.size() >= kErrorsMax) {
        ++errors_dropped_;
        return;
    }
    Entry entry;
    entry.line = where.begin.line;
    entry.column = where.begin.column;
    entry.order = errors_.size();
    std::string position = source_name_;
    if (entry.line > 0) {
        position += fmt::format(":{}", entry.line);
        if (entry.column > 0) {
            position += fmt::format(":{}", entry.column);
        }
    }
    entry.text = path.empty() ? fmt::format("{}: {}", position, what)
                              : fmt::format("{}: {}: {}", position, path, what);
    errors_.push_back(std::move(entry));
}

Status Diagnostics::to_status() const {
    std::vector<const Entry*> sorted;
    sorted.reserve(errors_.size());
    for (const Entry& entry : errors_) {
        sorted.push_back(&entry);
    }
    std::sort(sorted.begin(), sorted.end(), [](const Entry* a, const Entry* b) {
        return std::tie(a->line, a->column, a->order) < std::tie(b->line, b->column, b->order);
    });
    std::string message;
    for (const Entry* entry : sorted) {
        if (!message.empty()) {
            message += '\n';
        }
        message += entry->text;
    }
    if (errors_dropped_ > 0) {
        message += fmt::format("\n{}: {} more problems not listed", source_name_, errors_dropped_);
    }
    return {StatusCode::kInvalidArgument, std::move(message)};
}

namespace {

bool is_bare_key(std::string_view key) noexcept {
    if (key.empty()) {
        return false;
    }
    return std::all_of(key.begin(), key.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-';
    });
}

}  // namespace

std::string child_path(std::string_view parent, std::string_view key) {
    std::string quoted;
    if (is_bare_key(key)) {
        quoted = std::string(key);
    } else {
        quoted = "\"";
        for (const char c : key) {
            if (c == '"' || c == '\\') {
                quoted += '\\';
            }
            quoted += c;
        }
        quoted += '"';
    }
    if (parent.empty()) {
        return quoted;
    }
    return fmt::format("{}.{}", parent, quoted);
}

std::string index_path(std::string_view parent, std::size_t index) {
    return fmt::format("{}[{}]", parent, index);
}

std::string_view type_name(toml::node_type type) noexcept {
    switch (type) {
        case toml::node_type::none:
            return "nothing";
        case toml::node_type::table:
            return "table";
        case toml::node_type::array:
            return "array";
        case toml::node_type::string:
            return "string";
        case toml::node_type::integer:
            return "integer";
        case toml::node_type::floating_point:
            return "float";
        case toml::node_type::boolean:
            return "boolean";
        case toml::node_type::date:
            return "date";
        case toml::node_type::time:
            return "time";
        case toml::node_type::date_time:
            return "date-time";
    }
    return "unknown";
}

void type_error(Diagnostics& diagnostics, const toml::node& node, std::string_view path,
                std::string_view expected) {
    diagnostics.error(node.source(), path,
                      fmt::format("expected {}, got {}", expected, type_name(node.type())));
}

std::optional<std::string> string_of(Diagnostics& diagnostics, const toml::node& node,
                                     std::string_view path, std::string_view expected) {
    const auto* value = node.as_string();
    if (value == nullptr) {
        type_error(diagnostics, node, path, expected);
        return std::nullopt;
    }
    if (value->get().empty()) {
        diagnostics.error(node.source(), path, "must not be empty");
        return std::nullopt;
    }
    return value->get();
}

TableReader::TableReader(Diagnostics& diagnostics, const toml::table& table, std::string path)
    : diagnostics_(diagnostics), table_(table), path_(std::move(path)) {}

const toml::node* TableReader::find(std::string_view key, Need need) {
    known_.emplace(key);
    const toml::node* node = table_.get(key);
    if (node == nullptr && need == Need::kRequired) {
        diagnostics_.error(table_.source(), path_of(key), "missing required key");
    }
    return node;
}

std::optional<std::string> TableReader::string(std::string_view key, Need need, bool allow_empty) {
    const toml::node* node = find(key, need);
    if (node == nullptr) {
        return std::nullopt;
    }
    const auto* value = node->as_string();
    if (value == nullptr) {
        type_error(diagnostics_, *node, path_of(key), "a string");
        return std::nullopt;
    }
    if (!allow_empty && value->get().empty()) {
        diagnostics_.error(node->source(), path_of(key), "must not be empty");
        return std::nullopt;
    }
    return value->get();
}

std::optional<std::int64_t> TableReader::integer(std::string_view key, Need need, std::int64_t min,
                                                 std::int64_t max) {
    const toml::node* node = find(key, need);
    if (node == nullptr) {
        return std::nullopt;
    }
    const auto* value = node->as_integer();
    if (value == nullptr) {
        type_error(diagnostics_, *node, path_of(key), "an integer");
        return std::nullopt;
    }
    const std::int64_t v = value->get();
    if (v < min || v > max) {
        diagnostics_.error(node->source(), path_of(key),
                           fmt::format("{} is out of range; allowed {}..{}", v, min, max));
        return std::nullopt;
    }
    return v;
}

std::optional<bool> TableReader::boolean(std::string_view key, Need need) {
    const toml::node* node = find(key, need);
    if (node == nullptr) {
        return std::nullopt;
    }
    const auto* value = node->as_boolean();
    if (value == nullptr) {
        type_error(diagnostics_, *node, path_of(key), "a boolean (true or false)");
        return std::nullopt;
    }
    return value->get();
}

const toml::table* TableReader::table(std::string_view key, Need need) {
    const toml::node* node = find(key, need);
    if (node == nullptr) {
        return nullptr;
    }
    const auto* value = node->as_table();
    if (value == nullptr) {
        type_error(diagnostics_, *node, path_of(key), "a table");
    }
    return value;
}

const toml::array* TableReader::array(std::string_view key, Need need, std::string_view what) {
    const toml::node* node = find(key, need);
    if (node == nullptr) {
        return nullptr;
    }
    const auto* value = node->as_array();
    if (value == nullptr) {
        type_error(diagnostics_, *node, path_of(key), what);
    }
    return value;
}

void TableReader::value_error(std::string_view key, std::string_view what) {
    const toml::node* node = table_.get(key);
    diagnostics_.error(node != nullptr ? node->source() : table_.source(), path_of(key), what);
}

void TableReader::table_error(std::string_view what) {
    diagnostics_.error(table_.source(), path_, what);
}

void TableReader::finish() {
    for (auto&& [key, node] : table_) {
        if (known_.find(key.str()) == known_.end()) {
            diagnostics_.error(key.source(), path_of(key.str()), "unknown key");
        }
    }
}

}  // namespace fxsettle::config::detail
