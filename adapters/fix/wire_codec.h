// FIX::Message <-> WireMessage (wire.h): the one place where the plain message type meets
// QuickFIX (C++14, QuickFIX headers; C++20 code uses wire_check.h instead).
//
// to_fix() builds the message the session layer sends: MsgType, PossDupFlag (43) and
// PossResend (97) in the header when set, the body fields, and every group through the
// data dictionary (its delimiter and the dictionary's field order within an entry; the
// NumInGroup count is written from the entries). It checks what QuickFIX's setField would
// otherwise hide: a tag set twice (setField overwrites), header or trailer tags in the
// body, a NumInGroup tag among the plain fields, a group the message type does not have,
// an entry that does not start with the group's delimiter or holds a tag outside the
// group, empty values, SOH in a value, and the wire.h bounds. It does not check required
// fields, types or enumerations: wire_check() does that (DataDictionary::validate plus
// validate_strict), and so does the receiving session.
//
// from_fix() reads a message the session received (parsed with the same dictionary, so
// its groups are structured): MsgType, 43, 97, 52 from the header, body fields in order
// without the NumInGroup tags of groups, and one level of groups.
#pragma once

#include <quickfix/DataDictionary.h>
#include <quickfix/Exceptions.h>
#include <quickfix/Message.h>

#include <string>

#include "adapters/fix/wire.h"

namespace fxsettle {
namespace adapters {

// Fills `*out` (which must be a freshly constructed FIX::Message; its BeginString, CompIDs and
// sequence number are left to the session). Returns false and sets `*error` (naming the tag) when
// `in` cannot be represented; `*out` is then unspecified.
bool to_fix(const WireMessage& in, const FIX::DataDictionary& dictionary, FIX::Message* out,
            std::string* error);
// The checks of to_fix() alone, without building the message: true when to_fix() would
// succeed, else false and `*error` as to_fix() would set it. SessionHost::send checks on
// the caller's thread and builds on the session's sender thread.
bool check_wire(const WireMessage& in, const FIX::DataDictionary& dictionary, std::string* error);
// Builds what to_fix() builds, for a message check_wire() accepted with the same
// dictionary (not checked again). `*out` must be a freshly constructed FIX::Message.
void build_checked_fix(const WireMessage& in, const FIX::DataDictionary& dictionary,
                       FIX::Message* out);

// Fills `*out` from a received message. Returns false and sets `*error` when the message
// exceeds the wire.h bounds or has groups nested more than one level deep.
bool from_fix(const FIX::Message& in, WireMessage* out, std::string* error);

// A QuickFIX exception as text naming the tag when it carries one, e.g.
// "Required tag missing (tag 55)".
std::string describe_fix_exception(const FIX::Exception& e);

// The whole receiving-side check of one message: serialise `message` with its header
// completed (BeginString FIX.4.4, CompIDs, MsgSeqNum, SendingTime), parse it back with
// `dictionary` as a session would, run DataDictionary::validate and validate_strict.
// Returns "" when valid, or the error naming the tag.
std::string check_fix(const FIX::Message& message, const FIX::DataDictionary& dictionary);

}  // namespace adapters
}  // namespace fxsettle
