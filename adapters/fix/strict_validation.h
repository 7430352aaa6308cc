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

// True when `text` is a LOCALMKTDATE: YYYYMMDD, a date of the Gregorian calendar
// between 1900 and 9999.
bool is_local_mkt_date(const std::string& text);

}  // namespace adapters
}  // namespace fxsettle
