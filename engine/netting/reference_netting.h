// The reference netting: the same functions as netting.h, computed the slow, obvious way
// (ordered maps, unbounded integers, linear scans) for tests that compare the two. Not for
// production use: it allocates per obligation and is many times slower.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <vector>

#include "engine/netting/netting.h"

namespace fxsettle::engine::netting::reference {

// As netting::net(): same results, same validation (same codes and messages).
Result<NettingResult> net(std::span<const Obligation> obligations, std::size_t psp_count,
                          std::size_t bank_count, std::size_t currency_count);

// The fewest payments that can settle `obligations` in the hub model (every payment is
// between fxsettle and one PSP, or one payment order to a bank): each PSP with a non-zero
// net position must make or receive at least one payment, and each bank that has
// external lines in a currency must receive at least one payment order in it.
struct MinimumPayments {
    std::map<CurrencyIndex, std::uint64_t> per_currency;  // currencies with an obligation
    std::uint64_t total = 0;
};
// Fails like net().
Result<MinimumPayments> minimum_payments(std::span<const Obligation> obligations,
                                         std::size_t psp_count, std::size_t bank_count,
                                         std::size_t currency_count);

// As netting::cross(), netting::plan_hedge() and netting::hedge_cost_against_mid().
Result<std::vector<PairCross>> cross(std::span<const ConversionNeed> needs, std::size_t pair_count);
Result<HedgePlan> plan_hedge(PairIndex pair, const money::Amount& residual_base,
                             std::span<const VenueQuote> quotes);
Result<money::Amount> hedge_cost_against_mid(std::span<const HedgeSlice> fills,
                                             const money::Rate& mid);

}  // namespace fxsettle::engine::netting::reference
