// What QuickFIX 1.15.1's own validation leaves out, checked against the same data
// dictionary.
//
// FIX::DataDictionary::validate (which the Session runs on every incoming message with
// UseDataDictionary=Y) checks the type and enumeration of header, body and trailer
// fields, but never looks inside repeating groups: a PaymentOrder line with LineAmt=abc,
// or a QuoteRequest entry with Side=7, passes. It also reads LOCALMKTDATE (SettlDate,
// ClearingBusinessDate) as free text. validate_strict() adds those checks, so that a
// message that breaks config/fix/FIX44-fxsettle.xml anywhere is refused naming the tag.
//
// Call it first thing in Application::fromApp (and fromAdmin): it throws
// FIX::IncorrectDataFormat or FIX::IncorrectTagValue, both of which fromApp may throw
// and the Session answers with a Reject (35=3) whose RefTagID (371) is the tag and
// SessionRejectReason (373) is 6 or 5.
#pragma once

#include <quickfix/DataDictionary.h>
#include <quickfix/Exceptions.h>
#include <quickfix/Message.h>

#include <string>

namespace fxsettle {
namespace adapters {

// Checks every field inside the message's repeating groups (at any depth) for an empty
// value, its dictionary type and its enumeration, and every LOCALMKTDATE field (body or
// group) for YYYYMMDD naming a real date. Throws FIX::IncorrectDataFormat (empty value,
// wrong type, bad date) or FIX::IncorrectTagValue (outside the enumeration) naming the
// first offending tag; returns normally when all is well. The message must have been
// parsed with `dictionary` (so that its groups are known).
void validate_strict(const FIX::Message& message, const FIX::DataDictionary& dictionary);

// Why QuickFIX refused a raw message whose repeating group repeats a field inside one
// entry. QuickFIX reads a repeated field as the start of a new entry, so its Reject names
// the delimiter as missing (373=1) or the count as wrong (373=16), never the field that
// was repeated. Given the raw text (tag=value, SOH-separated) of the refused message, this
// finds the first field of a top-level group that appears twice in one entry, or a
// delimiter that starts more entries than the count says, into `*out`. Returns false (and
// leaves `*out`) when the message has no such repeat.
struct GroupRepeat {
    int tag = 0;                    // the repeated field (or the delimiter)
    int session_reject_reason = 0;  // 13 (tag appears more than once) or 16 (count)
    std::string text;               // names the field, its group and the entry
};
bool find_group_repeat(const std::string& raw, const FIX::DataDictionary& dictionary,
                       GroupRepeat* out);

// True when `text` is a LOCALMKTDATE: YYYYMMDD, a date of the Gregorian calendar
// between 1900 and 9999.
bool is_local_mkt_date(const std::string& text);

}  // namespace adapters
}  // namespace fxsettle
