// Randomized conversions checked against an independent reference (decimal_reference.h:
// digit strings, schoolbook multiplication, rounding by reading digits). Fixed seed,
// printed with every failure; FXSETTLE_TEST_SEED=<n> replays another one.
#include <chrono>
#include <cstdlib>
#include <random>
#include <string>

#include <gtest/gtest.h>

#include "engine/money/rate.h"
#include "tests/unit/money/decimal_reference.h"
#include "tests/unit/money/money_test_support.h"

namespace fxsettle::money {
namespace {

constexpr std::uint64_t kDefaultSeed = 20261123;
// Each case is converted in all five modes: 5 * 30,000 = 150,000 conversions.
constexpr int kCasesMax = 30'000;
constexpr RoundingMode kAllModes[] = {RoundingMode::kHalfEven, RoundingMode::kHalfUp,
                                      RoundingMode::kUp, RoundingMode::kDown,
                                      RoundingMode::kTowardZero};

std::uint64_t seed() {
    if (const char* text = std::getenv("FXSETTLE_TEST_SEED")) {
        return std::strtoull(text, nullptr, 10);
    }
    return kDefaultSeed;
}

class Generator {
  public:
    explicit Generator(std::uint64_t seed) : random_(seed) {}

    int uniform(int low, int high) {
        return std::uniform_int_distribution<int>(low, high)(random_);
    }
    std::string digits(int count, bool nonzero_first = true) {
        std::string out;
        for (int i = 0; i < count; ++i) {
            out += static_cast<char>('0' + uniform(i == 0 && nonzero_first ? 1 : 0, 9));
        }
        return out;
    }

  private:
    std::mt19937_64 random_;
};

// Writes minor-unit digits as a major-unit decimal with `exponent` decimals, by string
// manipulation (the library's format_amount is not used to build its own input).
std::string major_text(bool negative, const std::string& minor_digits, int exponent) {
    std::string padded = minor_digits;
    if (padded.size() <= static_cast<std::size_t>(exponent)) {
        padded.insert(0, static_cast<std::size_t>(exponent) + 1 - padded.size(), '0');
    }
    std::string text = (negative ? "-" : "") + padded.substr(0, padded.size() - exponent);
    if (exponent > 0) {
        text += "." + padded.substr(padded.size() - exponent);
    }
    return text;
}

struct Case {
    bool negative = false;
    std::string amount_digits;    // base minor units, no leading zeros
    std::string mantissa_digits;  // no leading zeros, nonzero
    int exponent_base = 0;
    int exponent_quote = 0;
};

// Mostly uniform-ish cases; one in five is built to be an exact tie (odd * 0.5), and
// one in ten sits next to a tie, so the tie rules are exercised thousands of times.
Case make_case(Generator& g) {
    Case c;
    c.exponent_base = g.uniform(0, kExponentMax);
    c.exponent_quote = g.uniform(0, kExponentMax);
    c.negative = g.uniform(0, 1) == 1;
    const int kind = g.uniform(0, 9);
    if (kind <= 1 || kind == 2) {
        // exact = amount * mantissa / 10^places. With amount = odd * 10^i and mantissa =
        // 5 * 10^(places - 1 - i), exact = odd / 2: a tie.
        const int places = Rate::kDecimals + c.exponent_base - c.exponent_quote;
        const int i = g.uniform(0, places - 1);
        std::string odd = g.digits(g.uniform(1, 12));
        odd.back() = static_cast<char>('1' + 2 * g.uniform(0, 4));
        c.amount_digits = odd + std::string(static_cast<std::size_t>(i), '0');
        c.mantissa_digits = "5" + std::string(static_cast<std::size_t>(places - 1 - i), '0');
        if (kind == 2) {
            // Next to the tie: one minor unit more or less.
            c.amount_digits = g.uniform(0, 1) ? reference::add_one(c.amount_digits)
                                              : reference::subtract(c.amount_digits, "1");
        }
        if (c.amount_digits == "0") {
            c.amount_digits = "1";
        }
        return c;
    }
    // Amounts up to ~10^30 minor units, small ones more often than a uniform pick of the
    // digit count alone would give.
    const int amount_digits_count = kind <= 5 ? g.uniform(1, 31) : g.uniform(1, 6);
    c.amount_digits = g.digits(amount_digits_count);
    // Rates with 0..12 decimals and 0..7 integer digits.
    const int integer_count = g.uniform(0, 7);
    const int decimal_count = g.uniform(0, Rate::kDecimals);
    std::string mantissa =
        g.digits(integer_count) + g.digits(decimal_count, false) +
        std::string(static_cast<std::size_t>(Rate::kDecimals - decimal_count), '0');
    mantissa = reference::strip_zeros(mantissa);
    if (mantissa == "0") {
        mantissa = "1" + std::string(static_cast<std::size_t>(Rate::kDecimals), '0');
    }
    c.mantissa_digits = mantissa;
    return c;
}

// The rate as text with exactly 12 decimals, built from the mantissa digits.
std::string rate_text(const std::string& mantissa_digits) {
    return major_text(false, mantissa_digits, Rate::kDecimals);
}

TEST(MoneyConvertRandom, MatchesTheDecimalStringReferenceInEveryMode) {
    const std::uint64_t run_seed = seed();
    Generator g(run_seed);
    const auto started = std::chrono::steady_clock::now();
    int conversions = 0;
    int ties = 0;
    int out_of_range = 0;
    int failures = 0;
    for (int n = 0; n < kCasesMax && failures < 10; ++n) {
        const Case c = make_case(g);
        const Currency base = testing::synthetic("BAS", c.exponent_base);
        const Currency quote = testing::synthetic("QUO", c.exponent_quote);
        const CurrencyPair pair{base, quote};

        const std::string amount_text = major_text(c.negative, c.amount_digits, c.exponent_base);
        const auto amount = parse_amount(amount_text, base);
        const std::string rate_string = rate_text(c.mantissa_digits);
        const auto rate = Rate::parse(pair, rate_string);
        const std::string where = "seed " + std::to_string(run_seed) + " case " +
                                  std::to_string(n) + ": " + amount_text + " (exponent " +
                                  std::to_string(c.exponent_base) + ") at " + rate_string +
                                  " to exponent " + std::to_string(c.exponent_quote);
        ASSERT_TRUE(amount.has_value()) << where << ": " << amount.error().to_string();
        ASSERT_TRUE(rate.has_value()) << where << ": " << rate.error().to_string();
        ASSERT_EQ(amount->to_string(), (c.negative ? "-" : "") + c.amount_digits) << where;
        ASSERT_EQ(to_decimal_string(rate->mantissa()), c.mantissa_digits) << where;

        for (const auto mode : kAllModes) {
            const auto want = reference::convert(c.negative, c.amount_digits, c.exponent_base,
                                                 c.mantissa_digits, c.exponent_quote, mode);
            const auto got = convert(Money{*amount, base}, *rate, mode);
            ++conversions;
            ties += want.tie ? 1 : 0;
            out_of_range += want.out_of_range ? 1 : 0;
            const std::string context = where + " (" + std::string(rounding_mode_name(mode)) + ")";
            if (want.out_of_range) {
                if (got.has_value() || got.error().code() != StatusCode::kOutOfRange) {
                    ++failures;
                    ADD_FAILURE() << context << ": want out_of_range, got "
                                  << (got ? to_decimal_string(got->converted.amount.minor())
                                          : got.error().to_string());
                }
                continue;
            }
            if (!got) {
                ++failures;
                ADD_FAILURE() << context << ": want " << want.converted << " residue "
                              << want.residue << ", got " << got.error().to_string();
                continue;
            }
            const std::string got_converted = to_decimal_string(got->converted.amount.minor());
            const std::string got_residue = to_decimal_string(got->residue);
            if (got_converted != want.converted || got_residue != want.residue ||
                got->converted.currency != quote) {
                ++failures;
                ADD_FAILURE() << context << ": want " << want.converted << " residue "
                              << want.residue << ", got " << got_converted << " residue "
                              << got_residue;
            }
        }
    }
    const auto elapsed_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::steady_clock::now() - started)
                                .count();
    std::printf("seed %llu: %d conversions (%d ties, %d out of range) in %lld ms\n",
                static_cast<unsigned long long>(run_seed), conversions, ties, out_of_range,
                static_cast<long long>(elapsed_ms));
    EXPECT_EQ(failures, 0) << "seed " << run_seed;
    EXPECT_GE(conversions, 100'000) << "seed " << run_seed;
    // The generator aims a fifth of the cases at ties; make sure they happened.
    EXPECT_GE(ties, conversions / 10) << "seed " << run_seed;
    EXPECT_GT(out_of_range, 0) << "seed " << run_seed << ": the overflow path went untested";
}

TEST(MoneyRateRandom, InversionRoundsTheExactInverseInEveryMode) {
    // Checks q = inverted mantissa against 10^24 / m by multiplying back with the
    // reference's string arithmetic: truncation gives q*m <= 10^24 < (q+1)*m, the
    // ceiling gives (q-1)*m < 10^24 <= q*m, and the half modes |10^24 - q*m| * 2 <= m.
    const std::uint64_t run_seed = seed();
    Generator g(run_seed + 1);
    const std::string one = "1" + std::string(24, '0');
    const CurrencyPair pair{testing::synthetic("BAS", 2), testing::synthetic("QUO", 2)};
    int zero_results = 0;
    for (int n = 0; n < 4000; ++n) {
        // Up to 26 digits, so some inverses round to zero (m > 2 * 10^24).
        const std::string mantissa = g.digits(g.uniform(1, 26));
        const auto rate = Rate::from_mantissa(pair, Int128(mantissa.c_str()));
        ASSERT_TRUE(rate.has_value());
        for (const auto mode : kAllModes) {
            const auto inverse = rate->inverted(mode);
            const std::string where = "seed " + std::to_string(run_seed) + " mantissa " + mantissa +
                                      " (" + std::string(rounding_mode_name(mode)) + ")";
            if (!inverse) {
                // Only when the inverse rounds to zero, which must then be the right
                // answer: 10^24 / m below 1 (truncating), below 1/2 (half-up), at most
                // 1/2 (half-even); the ceiling is never zero.
                const int one_versus_m = reference::compare(one, mantissa);
                const int two_versus_m =
                    reference::compare(reference::multiply(one, "2"), mantissa);
                bool zero_right = false;
                switch (mode) {
                    case RoundingMode::kDown:
                    case RoundingMode::kTowardZero:
                        zero_right = one_versus_m < 0;
                        break;
                    case RoundingMode::kUp:
                        zero_right = false;
                        break;
                    case RoundingMode::kHalfUp:
                        zero_right = two_versus_m < 0;
                        break;
                    case RoundingMode::kHalfEven:
                        zero_right = two_versus_m <= 0;
                        break;
                }
                EXPECT_TRUE(zero_right) << where << ": " << inverse.error().to_string();
                ++zero_results;
                continue;
            }
            const std::string q = to_decimal_string(inverse->mantissa());
            const std::string qm = reference::multiply(q, mantissa);
            const int versus = reference::compare(qm, one);  // q*m vs 10^24
            switch (mode) {
                case RoundingMode::kDown:
                case RoundingMode::kTowardZero:
                    EXPECT_LE(versus, 0) << where;
                    EXPECT_GT(reference::compare(
                                  reference::multiply(reference::add_one(q), mantissa), one),
                              0)
                        << where;
                    break;
                case RoundingMode::kUp:
                    EXPECT_GE(versus, 0) << where;
                    EXPECT_LT(reference::compare(
                                  reference::multiply(reference::subtract(q, "1"), mantissa), one),
                              0)
                        << where;
                    break;
                case RoundingMode::kHalfEven:
                case RoundingMode::kHalfUp: {
                    const std::string distance =
                        versus >= 0 ? reference::subtract(qm, one) : reference::subtract(one, qm);
                    const int twice_versus_m =
                        reference::compare(reference::multiply(distance, "2"), mantissa);
                    EXPECT_LE(twice_versus_m, 0) << where;
                    if (twice_versus_m == 0) {
                        // A tie: half-up went away from zero (q*m > 10^24), half-even to
                        // the even neighbour.
                        if (mode == RoundingMode::kHalfUp) {
                            EXPECT_GT(versus, 0) << where;
                        } else {
                            EXPECT_EQ((q.back() - '0') % 2, 0) << where;
                        }
                    }
                    break;
                }
            }
        }
    }
    EXPECT_GT(zero_results, 0) << "seed " << run_seed << ": the round-to-zero path went untested";
}

}  // namespace
}  // namespace fxsettle::money
