// An independent reference for conversions, for the randomized tests: plain decimal
// digit strings, schoolbook multiplication, and rounding decided by reading digits.
// It shares no arithmetic with the library (no Boost, no binary integers wider than a
// digit), so the two can only agree by both being right.
#pragma once

#include <string>
#include <string_view>

#include "engine/money/rate.h"

namespace fxsettle::money::reference {

// Magnitudes are strings of decimal digits without leading zeros ("0" for zero).
std::string strip_zeros(std::string_view digits);
std::string multiply(std::string_view a, std::string_view b);
// -1, 0, 1 as a < b, a == b, a > b.
int compare(std::string_view a, std::string_view b);
// a - b for a >= b.
std::string subtract(std::string_view a, std::string_view b);
std::string add_one(std::string_view a);

struct Conversion {
    bool out_of_range = false;
    bool tie = false;       // the exact value lay exactly halfway between two results
    std::string converted;  // signed integer text of quote minor units
    std::string residue;    // signed integer text of 10^-18 quote minor units
};

// amount (signed, base minor units, as `negative` + magnitude digits) times
// rate mantissa / 10^12, moved from exponent_base to exponent_quote, rounded with `mode`.
Conversion convert(bool negative, std::string_view amount_digits, int exponent_base,
                   std::string_view mantissa_digits, int exponent_quote, RoundingMode mode);

}  // namespace fxsettle::money::reference
