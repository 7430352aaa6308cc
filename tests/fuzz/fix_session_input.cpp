#include "tests/fuzz/fix_session_input.h"

#include <quickfix/DataDictionary.h>
#include <quickfix/Exceptions.h>
#include <quickfix/FieldNumbers.h>
#include <quickfix/Message.h>

#include <memory>

#include "adapters/fix/strict_validation.h"
#include "adapters/fix/wire_codec.h"

namespace fxsettle {
namespace fuzz {

SessionVerdict receive_as_session(const std::string& text, const std::string& dictionary_path,
                                  adapters::WireMessage* out, std::string* error) {
    // The session's dictionary settings are QuickFIX's defaults, which SessionHost states
    // explicitly (ValidateUserDefinedFields, ValidateFieldsOutOfOrder,
    // ValidateFieldsHaveValues: Y).
    static const std::unique_ptr<FIX::DataDictionary> dictionary(
        new FIX::DataDictionary(dictionary_path));
    try {
        // Session::next(const std::string&): the message is parsed with the dictionary,
        // BodyLength and CheckSum checked (ValidateLengthAndChecksum defaults to Y).
        FIX::Message message(text, *dictionary, true);
        FIX::DataDictionary::validate(message, dictionary.get(), dictionary.get());
        // fromAdmin / fromApp both start with validate_strict.
        adapters::validate_strict(message, *dictionary);
        if (message.isAdmin()) {
            return SessionVerdict::kAdmin;
        }
        if (!adapters::from_fix(message, out, error)) {
            return SessionVerdict::kRejected;
        }
        return SessionVerdict::kApplication;
    } catch (const FIX::Exception& e) {
        *error = adapters::describe_fix_exception(e);
        return SessionVerdict::kRejected;
    }
}

}  // namespace fuzz
}  // namespace fxsettle
