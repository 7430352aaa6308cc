#include "adapters/fix/strict_validation.h"

#include <quickfix/FieldConvertors.h>
#include <quickfix/FieldTypes.h>

#include <exception>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace fxsettle {
namespace adapters {
namespace {

// True when `value` converts as `type` (the same convertors DataDictionary uses for
// body fields). Text-like types accept anything but emptiness, checked by the caller.
bool format_ok(FIX::TYPE::Type type, const std::string& value) {
    try {
        switch (type) {
            case FIX::TYPE::Char:
                FIX::CharConvertor::convert(value);
                break;
            case FIX::TYPE::Price:
            case FIX::TYPE::Amt:
            case FIX::TYPE::Qty:
            case FIX::TYPE::Float:
            case FIX::TYPE::PriceOffset:
            case FIX::TYPE::Percentage:
                FIX::DoubleConvertor::convert(value);
                break;
            case FIX::TYPE::Int:
            case FIX::TYPE::NumInGroup:
            case FIX::TYPE::SeqNum:
            case FIX::TYPE::Length:
                FIX::IntConvertor::convert(value);
                break;
            case FIX::TYPE::UtcTimeStamp:
                FIX::UtcTimeStampConvertor::convert(value);
                break;
            case FIX::TYPE::Boolean:
                FIX::BoolConvertor::convert(value);
                break;
            case FIX::TYPE::UtcDate:
                FIX::UtcDateConvertor::convert(value);
                break;
            case FIX::TYPE::UtcTimeOnly:
                FIX::UtcTimeOnlyConvertor::convert(value);
                break;
            case FIX::TYPE::LocalMktDate:
                return is_local_mkt_date(value);
            default:
                break;
        }
    } catch (const FIX::FieldConvertError&) {
        return false;
    }
    return true;
}

void check_field(const FIX::FieldBase& field, const FIX::DataDictionary& dictionary) {
    const int tag = field.getTag();
    const std::string& value = field.getString();
    if (value.empty()) {
        throw FIX::IncorrectDataFormat(tag, "empty value");
    }
    FIX::TYPE::Type type = FIX::TYPE::Unknown;
    if (dictionary.getFieldType(tag, type) && !format_ok(type, value)) {
        throw FIX::IncorrectDataFormat(tag, value);
    }
    if (dictionary.hasFieldValue(tag) && !dictionary.isFieldValue(tag, value)) {
        throw FIX::IncorrectTagValue(tag, value);
    }
}

// Checks LOCALMKTDATE fields of `map` itself (QuickFIX checked the rest of its fields).
void check_dates(const FIX::FieldMap& map, const FIX::DataDictionary& dictionary) {
    for (FIX::FieldMap::const_iterator i = map.begin(); i != map.end(); ++i) {
        const FIX::FieldBase& field = *i;
        FIX::TYPE::Type type = FIX::TYPE::Unknown;
        if (dictionary.getFieldType(field.getTag(), type) && type == FIX::TYPE::LocalMktDate &&
            !is_local_mkt_date(field.getString())) {
            throw FIX::IncorrectDataFormat(field.getTag(), field.getString());
        }
    }
}

// Checks every field of every group of `map`, recursing into nested groups. `layout` is
// the dictionary (or group dictionary) that knows `map`'s groups; `types` the message
// dictionary, which holds every field's type and enumeration.
void check_groups(const FIX::FieldMap& map, const std::string& msg_type,
                  const FIX::DataDictionary& layout, const FIX::DataDictionary& types) {
    for (FIX::FieldMap::g_const_iterator g = map.g_begin(); g != map.g_end(); ++g) {
        int delim = 0;
        const FIX::DataDictionary* group_layout = nullptr;
        const bool known = layout.getGroup(msg_type, g->first, delim, group_layout);
        for (const FIX::FieldMap* entry : g->second) {
            for (FIX::FieldMap::const_iterator f = entry->begin(); f != entry->end(); ++f) {
                check_field(*f, types);
            }
            if (known && group_layout != nullptr) {
                check_groups(*entry, msg_type, *group_layout, types);
            }
        }
    }
}

}  // namespace

bool is_local_mkt_date(const std::string& text) {
    if (text.size() != 8) {
        return false;
    }
    for (char c : text) {
        if (c < '0' || c > '9') {
            return false;
        }
    }
    const int year = std::stoi(text.substr(0, 4));
    const int month = std::stoi(text.substr(4, 2));
    const int day = std::stoi(text.substr(6, 2));
    if (year < 1900 || month < 1 || month > 12 || day < 1) {
        return false;
    }
    static const int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    const int days = kDays[month - 1] + (month == 2 && leap ? 1 : 0);
    return day <= days;
}

bool find_group_repeat(const std::string& raw, const FIX::DataDictionary& dictionary,
                       GroupRepeat* out) {
    // The fields in order.
    std::vector<std::pair<int, std::string>> fields;
    std::string msg_type;
    for (std::string::size_type at = 0; at < raw.size();) {
        std::string::size_type end = raw.find('\001', at);
        if (end == std::string::npos) {
            end = raw.size();
        }
        const std::string::size_type eq = raw.find('=', at);
        if (eq != std::string::npos && eq < end) {
            int tag = 0;
            bool digits = eq > at;
            for (std::string::size_type i = at; i < eq && digits; ++i) {
                digits = raw[i] >= '0' && raw[i] <= '9' && tag < 100000000;
                tag = tag * 10 + (raw[i] - '0');
            }
            if (digits) {
                fields.emplace_back(tag, raw.substr(eq + 1, end - eq - 1));
                if (tag == 35) {
                    msg_type = fields.back().second;
                }
            }
        }
        at = end + 1;
    }
    const auto name = [&](int tag) {
        std::string n;
        if (!dictionary.getFieldName(tag, n)) {
            n = "tag";
        }
        return n + " (" + std::to_string(tag) + ")";
    };
    for (std::size_t i = 0; i < fields.size(); ++i) {
        int delim = 0;
        const FIX::DataDictionary* group = nullptr;
        if (!dictionary.getGroup(msg_type, fields[i].first, delim, group) || group == nullptr) {
            continue;
        }
        const int count_tag = fields[i].first;
        long count = 0;
        try {
            count = std::stol(fields[i].second);
        } catch (const std::exception&) {
            continue;  // QuickFIX names a malformed count itself
        }
        std::set<int> seen;
        long entries = 0;
        for (std::size_t k = i + 1; k < fields.size() && group->isField(fields[k].first); ++k) {
            const int tag = fields[k].first;
            if (tag == delim) {
                ++entries;
                seen.clear();
                if (entries > count) {
                    *out =
                        GroupRepeat{delim, 16,
                                    name(delim) + " starts entry " + std::to_string(entries) +
                                        " of " + name(count_tag) + " = " + std::to_string(count) +
                                        ": repeated, or the count is wrong"};
                    return true;
                }
            } else if (!seen.insert(tag).second) {
                *out = GroupRepeat{tag, 13,
                                   name(tag) + " appears more than once in entry " +
                                       std::to_string(entries) + " of " + name(count_tag)};
                return true;
            }
        }
    }
    return false;
}

void validate_strict(const FIX::Message& message, const FIX::DataDictionary& dictionary) {
    FIX::MsgType msg_type;
    message.getHeader().getFieldIfSet(msg_type);
    check_dates(message.getHeader(), dictionary);
    check_dates(message, dictionary);
    check_groups(message, msg_type.getValue(), dictionary, dictionary);
}

}  // namespace adapters
}  // namespace fxsettle
