// A FIX application message as plain C++14 data: what crosses between the QuickFIX
// side of the adapters (C++14, adapters/fix) and the C++20 side (adapters/convert, the
// gateway, the venue and bank adapters, the simulators). No QuickFIX type appears here,
// so C++20 code can include this header.
//
// Only the message type, the few header fields the application acts on, the body and its
// repeating groups travel; the session layer (BeginString, sequence numbers, CompIDs,
// checksums) stays with QuickFIX. Groups are one level deep (every group of
// config/fix/FIX44-fxsettle.xml is), each entry a list of fields in the dictionary's
// order, the group's delimiter (first field) first.
#pragma once

#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace fxsettle {
namespace adapters {

// Bounds (STYLE.md): what one message may carry.
constexpr std::size_t kWireFieldsMax = 512;         // body fields outside groups
constexpr std::size_t kWireGroupEntriesMax = 4096;  // entries of one group
constexpr std::size_t kWireValueBytesMax = 4096;    // one field's value

struct WireField {
    int tag = 0;
    std::string value;  // the FIX text of the value, as on the wire
};

struct WireGroup {
    int count_tag = 0;  // the NumInGroup tag (e.g. 268 NoMDEntries)
    std::vector<std::vector<WireField>> entries;
};

struct WireMessage {
    std::string msg_type;  // 35: "D", "8", "U1", ...
    // Header fields the application reads or sets. Inbound: as received. Outbound:
    // poss_resend is set on messages the outbox delivers again after a restart.
    bool poss_dup = false;          // 43
    bool poss_resend = false;       // 97
    std::string sending_time;       // 52, inbound only (UTCTIMESTAMP text)
    std::vector<WireField> fields;  // body fields outside groups, in order
    std::vector<WireGroup> groups;

    // The first body field with `tag` (outside groups), or nullptr.
    const std::string* find(int tag) const {
        for (const WireField& f : fields) {
            if (f.tag == tag)
                return &f.value;
        }
        return nullptr;
    }
    // Appends a body field (outbound messages are built in the dictionary's order).
    WireMessage& add(int tag, std::string value) {
        fields.push_back(WireField{tag, std::move(value)});
        return *this;
    }
    // The group with `count_tag`, or nullptr.
    const WireGroup* find_group(int count_tag) const {
        for (const WireGroup& g : groups) {
            if (g.count_tag == count_tag)
                return &g;
        }
        return nullptr;
    }
};

// The first field with `tag` in a group entry, or nullptr.
inline const std::string* find_in_entry(const std::vector<WireField>& entry, int tag) {
    for (const WireField& f : entry) {
        if (f.tag == tag)
            return &f.value;
    }
    return nullptr;
}

// A session as the application names it: our CompID and the counterparty's. Unique per
// host (FIX 4.4 only; no qualifiers).
struct SessionKey {
    std::string sender_comp_id;  // ours
    std::string target_comp_id;  // the counterparty's
    friend bool operator==(const SessionKey& a, const SessionKey& b) {
        return a.sender_comp_id == b.sender_comp_id && a.target_comp_id == b.target_comp_id;
    }
    friend bool operator!=(const SessionKey& a, const SessionKey& b) { return !(a == b); }
    friend bool operator<(const SessionKey& a, const SessionKey& b) {
        return a.sender_comp_id < b.sender_comp_id ||
               (a.sender_comp_id == b.sender_comp_id && a.target_comp_id < b.target_comp_id);
    }
    std::string to_string() const { return sender_comp_id + "->" + target_comp_id; }
};

}  // namespace adapters
}  // namespace fxsettle
