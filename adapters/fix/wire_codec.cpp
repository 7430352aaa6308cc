#include "adapters/fix/wire_codec.h"

#include <quickfix/FieldConvertors.h>
#include <quickfix/FieldNumbers.h>
#include <quickfix/FieldTypes.h>
#include <quickfix/Group.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "adapters/fix/strict_validation.h"
#include "adapters/fix/wire_check.h"

namespace fxsettle {
namespace adapters {
namespace {

bool fail(std::string* error, std::string text) {
    if (error != nullptr) {
        *error = std::move(text);
    }
    return false;
}

std::string tag_text(int tag) {
    return "tag " + std::to_string(tag);
}

// The checks every value passes before it is handed to QuickFIX.
bool check_value(int tag, const std::string& value, const std::string& where, std::string* error) {
    if (tag <= 0) {
        return fail(error, where + tag_text(tag) + " is not a valid tag number");
    }
    if (value.empty()) {
        return fail(error, where + tag_text(tag) + " has an empty value");
    }
    if (value.size() > kWireValueBytesMax) {
        return fail(error, where + tag_text(tag) + " has a value of " +
                               std::to_string(value.size()) + " bytes (at most " +
                               std::to_string(kWireValueBytesMax) + ")");
    }
    if (value.find('\x01') != std::string::npos) {
        return fail(error, where + tag_text(tag) + " contains the SOH delimiter (\\x01)");
    }
    return true;
}

bool is_session_tag(int tag) {
    return FIX::Message::isHeaderField(tag) || FIX::Message::isTrailerField(tag);
}

// The tags seen so far in a message body or a group entry (at most kWireFieldsMax): a
// sorted vector, cheaper than a node per tag (std::set) on every outbound message.
class TagSet {
  public:
    TagSet() { tags_.reserve(32); }
    // False when `tag` was there already.
    bool insert(int tag) {
        const auto it = std::lower_bound(tags_.begin(), tags_.end(), tag);
        if (it != tags_.end() && *it == tag) {
            return false;
        }
        tags_.insert(it, tag);
        return true;
    }

  private:
    std::vector<int> tags_;
};

// The header fields a WireMessage sets: MsgType, and PossDupFlag/PossResend when flagged.
void set_header(const WireMessage& in, FIX::Message* out) {
    FIX::Header& header = out->getHeader();
    header.setField(FIX::FIELD::MsgType, in.msg_type);
    if (in.poss_dup) {
        header.setField(FIX::FIELD::PossDupFlag, "Y");
    }
    if (in.poss_resend) {
        header.setField(FIX::FIELD::PossResend, "Y");
    }
}

// The checks of check_wire(), and with `out` (may be null) the message built at the same
// time: one walk over the message's dictionary lookups serves both.
bool convert(const WireMessage& in, const FIX::DataDictionary& dictionary, FIX::Message* out,
             std::string* error) {
    if (in.msg_type.empty()) {
        return fail(error, "MsgType (tag 35) is empty");
    }
    if (in.msg_type.find('\x01') != std::string::npos || !dictionary.isMsgType(in.msg_type)) {
        return fail(error,
                    "MsgType (tag 35) '" + in.msg_type + "' is not defined in the data dictionary");
    }
    if (in.fields.size() > kWireFieldsMax) {
        return fail(error, "the message has " + std::to_string(in.fields.size()) +
                               " body fields (at most " + std::to_string(kWireFieldsMax) + ")");
    }
    if (out != nullptr) {
        set_header(in, out);
    }

    TagSet body_tags;
    for (const WireField& field : in.fields) {
        if (!check_value(field.tag, field.value, "", error)) {
            return false;
        }
        if (is_session_tag(field.tag)) {
            return fail(error, tag_text(field.tag) +
                                   " belongs to the session header or trailer, not the body");
        }
        if (dictionary.isGroup(in.msg_type, field.tag)) {
            return fail(error, tag_text(field.tag) + " is the NumInGroup of a repeating group of " +
                                   in.msg_type + ": give its entries as a group");
        }
        if (!body_tags.insert(field.tag)) {
            return fail(error, tag_text(field.tag) + " appears more than once in the body");
        }
        if (out != nullptr) {
            out->setField(field.tag, field.value);
        }
    }

    for (const WireGroup& group : in.groups) {
        const std::string where = "group " + std::to_string(group.count_tag);
        int delimiter = 0;
        const FIX::DataDictionary* group_dictionary = nullptr;
        if (!dictionary.getGroup(in.msg_type, group.count_tag, delimiter, group_dictionary)) {
            return fail(error, tag_text(group.count_tag) + " is not a repeating group of MsgType " +
                                   in.msg_type);
        }
        if (!body_tags.insert(group.count_tag)) {
            return fail(error, tag_text(group.count_tag) + " appears more than once in the body");
        }
        if (group.entries.empty()) {
            return fail(error, where + " has no entries (leave the group out instead)");
        }
        if (group.entries.size() > kWireGroupEntriesMax) {
            return fail(error, where + " has " + std::to_string(group.entries.size()) +
                                   " entries (at most " + std::to_string(kWireGroupEntriesMax) +
                                   ")");
        }
        for (std::size_t i = 0; i < group.entries.size(); ++i) {
            const std::vector<WireField>& entry = group.entries[i];
            const std::string entry_where = where + " entry " + std::to_string(i) + ": ";
            if (entry.empty() || entry.front().tag != delimiter) {
                return fail(error, entry_where + "the first field must be the delimiter " +
                                       tag_text(delimiter));
            }
            if (entry.size() > kWireFieldsMax) {
                return fail(error, entry_where + "too many fields (at most " +
                                       std::to_string(kWireFieldsMax) + ")");
            }
            std::unique_ptr<FIX::Group> fix_group;
            if (out != nullptr) {
                fix_group.reset(new FIX::Group(group.count_tag, delimiter,
                                               group_dictionary->getOrderedFields()));
            }
            TagSet entry_tags;
            for (const WireField& field : entry) {
                if (!check_value(field.tag, field.value, entry_where, error)) {
                    return false;
                }
                if (!group_dictionary->isField(field.tag) ||
                    group_dictionary->isGroup(in.msg_type, field.tag)) {
                    return fail(error,
                                entry_where + tag_text(field.tag) + " is not a field of the group");
                }
                if (!entry_tags.insert(field.tag)) {
                    return fail(error,
                                entry_where + tag_text(field.tag) + " appears more than once");
                }
                if (fix_group) {
                    fix_group->setField(field.tag, field.value);
                }
            }
            if (fix_group) {
                out->addGroup(*fix_group);
            }
        }
    }
    return true;
}

}  // namespace

bool check_wire(const WireMessage& in, const FIX::DataDictionary& dictionary, std::string* error) {
    return convert(in, dictionary, nullptr, error);
}

bool to_fix(const WireMessage& in, const FIX::DataDictionary& dictionary, FIX::Message* out,
            std::string* error) {
    return convert(in, dictionary, out, error);
}

void build_checked_fix(const WireMessage& in, const FIX::DataDictionary& dictionary,
                       FIX::Message* out) {
    set_header(in, out);
    for (const WireField& field : in.fields) {
        out->setField(field.tag, field.value);
    }
    for (const WireGroup& group : in.groups) {
        int delimiter = 0;
        const FIX::DataDictionary* group_dictionary = nullptr;
        const bool known =
            dictionary.getGroup(in.msg_type, group.count_tag, delimiter, group_dictionary);
        if (!known) {
            // check_wire() accepted it with this dictionary: a caller's bug (stays on in
            // release builds, STYLE.md).
            std::fprintf(stderr, "build_checked_fix: group %d of %s is not in the dictionary\n",
                         group.count_tag, in.msg_type.c_str());
            std::abort();
        }
        for (const std::vector<WireField>& entry : group.entries) {
            FIX::Group fix_group(group.count_tag, delimiter, group_dictionary->getOrderedFields());
            for (const WireField& field : entry) {
                fix_group.setField(field.tag, field.value);
            }
            out->addGroup(fix_group);
        }
    }
}

bool from_fix(const FIX::Message& in, WireMessage* out, std::string* error) {
    WireMessage& wire = *out;
    wire = WireMessage();
    const FIX::FieldMap& header = in.getHeader();
    wire.msg_type = header.getField(FIX::FIELD::MsgType);
    wire.poss_dup = header.isSetField(FIX::FIELD::PossDupFlag) &&
                    header.getField(FIX::FIELD::PossDupFlag) == "Y";
    wire.poss_resend =
        header.isSetField(FIX::FIELD::PossResend) && header.getField(FIX::FIELD::PossResend) == "Y";
    if (header.isSetField(FIX::FIELD::SendingTime)) {
        wire.sending_time = header.getField(FIX::FIELD::SendingTime);
    }

    std::set<int> group_tags;
    for (FIX::FieldMap::g_const_iterator g = in.g_begin(); g != in.g_end(); ++g) {
        group_tags.insert(g->first);
    }
    for (FIX::FieldMap::const_iterator f = in.begin(); f != in.end(); ++f) {
        if (group_tags.count(f->getTag()) != 0) {
            continue;
        }
        if (wire.fields.size() == kWireFieldsMax) {
            return fail(error, "the message has more than " + std::to_string(kWireFieldsMax) +
                                   " body fields");
        }
        wire.fields.push_back(WireField{f->getTag(), f->getString()});
    }
    for (FIX::FieldMap::g_const_iterator g = in.g_begin(); g != in.g_end(); ++g) {
        if (g->second.size() > kWireGroupEntriesMax) {
            return fail(error, "group " + std::to_string(g->first) + " has " +
                                   std::to_string(g->second.size()) + " entries (at most " +
                                   std::to_string(kWireGroupEntriesMax) + ")");
        }
        WireGroup group;
        group.count_tag = g->first;
        for (const FIX::FieldMap* entry : g->second) {
            if (entry->g_begin() != entry->g_end()) {
                return fail(error, "group " + std::to_string(g->first) +
                                       " has a nested group (wire.h carries one level)");
            }
            std::vector<WireField> fields;
            for (FIX::FieldMap::const_iterator f = entry->begin(); f != entry->end(); ++f) {
                fields.push_back(WireField{f->getTag(), f->getString()});
            }
            group.entries.push_back(std::move(fields));
        }
        wire.groups.push_back(std::move(group));
    }
    return true;
}

std::string describe_fix_exception(const FIX::Exception& e) {
    int tag = 0;
    if (const auto* x = dynamic_cast<const FIX::RequiredTagMissing*>(&e)) {
        tag = x->field;
    } else if (const auto* x1 = dynamic_cast<const FIX::InvalidTagNumber*>(&e)) {
        tag = x1->field;
    } else if (const auto* x2 = dynamic_cast<const FIX::TagNotDefinedForMessage*>(&e)) {
        tag = x2->field;
    } else if (const auto* x3 = dynamic_cast<const FIX::NoTagValue*>(&e)) {
        tag = x3->field;
    } else if (const auto* x4 = dynamic_cast<const FIX::IncorrectTagValue*>(&e)) {
        tag = x4->field;
    } else if (const auto* x5 = dynamic_cast<const FIX::IncorrectDataFormat*>(&e)) {
        tag = x5->field;
    } else if (const auto* x6 = dynamic_cast<const FIX::TagOutOfOrder*>(&e)) {
        tag = x6->field;
    } else if (const auto* x7 = dynamic_cast<const FIX::RepeatedTag*>(&e)) {
        tag = x7->field;
    } else if (const auto* x8 = dynamic_cast<const FIX::RepeatingGroupCountMismatch*>(&e)) {
        tag = x8->field;
    } else if (const auto* x9 = dynamic_cast<const FIX::FieldNotFound*>(&e)) {
        tag = x9->field;
    }
    std::string text = e.type;
    if (tag != 0) {
        text += " (tag " + std::to_string(tag) + ")";
    }
    if (!e.detail.empty() && e.detail != std::to_string(tag)) {
        text += ": " + e.detail;
    }
    return text;
}

std::string check_fix(const FIX::Message& message, const FIX::DataDictionary& dictionary) {
    try {
        FIX::Message copy(message);
        FIX::FieldMap& header = copy.getHeader();
        header.setField(FIX::FIELD::BeginString, "FIX.4.4");
        if (!header.isSetField(FIX::FIELD::SenderCompID)) {
            header.setField(FIX::FIELD::SenderCompID, "CHECK_SENDER");
        }
        if (!header.isSetField(FIX::FIELD::TargetCompID)) {
            header.setField(FIX::FIELD::TargetCompID, "CHECK_TARGET");
        }
        if (!header.isSetField(FIX::FIELD::MsgSeqNum)) {
            header.setField(FIX::FIELD::MsgSeqNum, "1");
        }
        if (!header.isSetField(FIX::FIELD::SendingTime)) {
            header.setField(FIX::FIELD::SendingTime,
                            FIX::UtcTimeStampConvertor::convert(FIX::UtcTimeStamp(), 3));
        }
        // What the counterparty's session does with the bytes: parse with the
        // dictionary (length and checksum checked), validate, then validate_strict.
        const std::string text = copy.toString();
        FIX::Message parsed(text, dictionary, true);
        FIX::DataDictionary::validate(parsed, &dictionary, &dictionary);
        validate_strict(parsed, dictionary);
    } catch (const FIX::Exception& e) {
        return describe_fix_exception(e);
    } catch (const std::exception& e) {
        return std::string("invalid message: ") + e.what();
    }
    return std::string();
}

std::string wire_check(const WireMessage& message, const std::string& dictionary_path) {
    // Dictionaries are loaded once per path and kept for the life of the process (a few
    // per process at most); DataDictionary's checks are const and safe to share.
    static std::mutex mutex;
    static std::map<std::string, std::unique_ptr<FIX::DataDictionary>>* dictionaries =
        new std::map<std::string, std::unique_ptr<FIX::DataDictionary>>();
    const FIX::DataDictionary* dictionary = nullptr;
    {
        std::lock_guard<std::mutex> lock(mutex);
        auto it = dictionaries->find(dictionary_path);
        if (it == dictionaries->end()) {
            try {
                std::unique_ptr<FIX::DataDictionary> loaded(
                    new FIX::DataDictionary(dictionary_path));
                it = dictionaries->emplace(dictionary_path, std::move(loaded)).first;
            } catch (const FIX::Exception& e) {
                return "cannot load data dictionary " + dictionary_path + ": " + e.what();
            }
        }
        dictionary = it->second.get();
    }
    FIX::Message fix;
    std::string error;
    if (!to_fix(message, *dictionary, &fix, &error)) {
        return error;
    }
    return check_fix(fix, *dictionary);
}

}  // namespace adapters
}  // namespace fxsettle
