#include "tests/unit/money/decimal_reference.h"

#include <algorithm>
#include <vector>

namespace fxsettle::money::reference {

std::string strip_zeros(std::string_view digits) {
    const auto first = digits.find_first_not_of('0');
    return first == std::string_view::npos ? "0" : std::string(digits.substr(first));
}

std::string multiply(std::string_view a, std::string_view b) {
    // Column sums, least significant digit first, then one carry pass.
    std::vector<int> columns(a.size() + b.size(), 0);
    for (std::size_t i = 0; i < a.size(); ++i) {
        for (std::size_t j = 0; j < b.size(); ++j) {
            columns[i + j] += (a[a.size() - 1 - i] - '0') * (b[b.size() - 1 - j] - '0');
        }
    }
    std::string out;
    int carry = 0;
    for (const int column : columns) {
        const int total = column + carry;
        out += static_cast<char>('0' + total % 10);
        carry = total / 10;
    }
    while (carry > 0) {
        out += static_cast<char>('0' + carry % 10);
        carry /= 10;
    }
    std::reverse(out.begin(), out.end());
    return strip_zeros(out);
}

int compare(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return a.size() < b.size() ? -1 : 1;
    }
    const int c = a.compare(b);
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
}

std::string subtract(std::string_view a, std::string_view b) {
    std::string out(a);
    int borrow = 0;
    for (std::size_t i = 0; i < out.size(); ++i) {
        const std::size_t pos = out.size() - 1 - i;
        int digit = (out[pos] - '0') - borrow - (i < b.size() ? b[b.size() - 1 - i] - '0' : 0);
        borrow = digit < 0 ? 1 : 0;
        out[pos] = static_cast<char>('0' + digit + 10 * borrow);
    }
    return strip_zeros(out);
}

std::string add_one(std::string_view a) {
    std::string out(a);
    for (std::size_t i = out.size(); i-- > 0;) {
        if (out[i] != '9') {
            ++out[i];
            return out;
        }
        out[i] = '0';
    }
    return "1" + out;
}

Conversion convert(bool negative, std::string_view amount_digits, int exponent_base,
                   std::string_view mantissa_digits, int exponent_quote, RoundingMode mode) {
    // exact (quote minor units) = amount * mantissa / 10^(12 + e_base - e_quote). Place
    // a decimal point `places` digits from the right of the product's digits.
    const int places = Rate::kDecimals + exponent_base - exponent_quote;  // 6..18
    std::string product = multiply(amount_digits, mantissa_digits);
    if (product.size() <= static_cast<std::size_t>(places)) {
        product.insert(0, static_cast<std::size_t>(places) + 1 - product.size(), '0');
    }
    const std::string integer = strip_zeros(product.substr(0, product.size() - places));
    const std::string fraction = product.substr(product.size() - places);  // `places` digits
    const bool fraction_zero = fraction.find_first_not_of('0') == std::string::npos;
    const bool is_negative = negative && !(integer == "0" && fraction_zero);

    // Halfway is the fraction "5000...".
    const std::string half = "5" + std::string(static_cast<std::size_t>(places) - 1, '0');
    const int versus_half = compare(strip_zeros(fraction), strip_zeros(half));

    Conversion out;
    out.tie = !fraction_zero && versus_half == 0;
    bool magnitude_up = false;  // does rounding increase the magnitude?
    if (!fraction_zero) {
        switch (mode) {
            case RoundingMode::kTowardZero:
                magnitude_up = false;
                break;
            case RoundingMode::kUp:  // ceiling grows positive magnitudes only
                magnitude_up = !is_negative;
                break;
            case RoundingMode::kDown:  // floor grows negative magnitudes only
                magnitude_up = is_negative;
                break;
            case RoundingMode::kHalfUp:
                magnitude_up = versus_half >= 0;
                break;
            case RoundingMode::kHalfEven: {
                const bool last_digit_odd = (integer.back() - '0') % 2 == 1;
                magnitude_up = versus_half > 0 || (versus_half == 0 && last_digit_odd);
                break;
            }
        }
    }
    const std::string converted = magnitude_up ? add_one(integer) : integer;
    // exact - converted. Without rounding up it is the fraction, with the value's sign;
    // rounding up leaves 1 - fraction with the opposite sign. Scale from `places`
    // decimals to 18 by appending zeros.
    std::string residue;
    if (fraction_zero) {
        residue = "0";
    } else {
        const std::string one = "1" + std::string(static_cast<std::size_t>(places), '0');
        const std::string magnitude =
            magnitude_up ? subtract(one, fraction) : strip_zeros(fraction);
        const bool residue_negative = magnitude_up ? !is_negative : is_negative;
        residue = (residue_negative ? "-" : "") + magnitude +
                  std::string(static_cast<std::size_t>(kResidueDecimals - places), '0');
    }
    out.out_of_range = compare(converted, "170141183460469231731687303715884105727") > 0;
    out.converted = (is_negative && converted != "0" ? "-" : "") + converted;
    out.residue = residue;
    return out;
}

}  // namespace fxsettle::money::reference
