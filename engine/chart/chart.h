// fxsettle's chart of accounts: which ledger accounts exist for a configuration, their
// stable ids and human codes. The engine, the demo, the benchmarks and the tools all
// derive account ids here, so the same configuration always names the same accounts.
//
// Accounts (DESIGN.md, "The ledger"):
//   per PSP and currency    available (no_negative), held (no_negative), receivable
//                           (no_negative, debit-normal: intraday credit a postfunded PSP
//                           has drawn and not yet repaid)
//   per bank and currency   nostro (what the bank holds for us), settlement (in transit)
//   per venue and currency  venue (receivable from / payable to the venue)
//   per currency            fx_position, rounding, fees, suspense, equity (owner "house")
// "Currency" ranges over every currency the configuration trades or settles: each
// [[cycles]] currency and both sides of each [[pairs]] entry.
//
// Ids: hi = FNV-1a 64 of "<owner type>:<owner id>", lo = kind << 32 | the currency's
// three ASCII letters. They depend only on names, never on the order of the config
// file, so reordering the file keeps every account.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "config/config.h"
#include "engine/base/status.h"
#include "ledger/types.h"

namespace fxsettle::engine {

// Dense indices into the chart's lists (the config's order).
using PspIndex = std::uint32_t;
using BankIndex = std::uint32_t;
using VenueIndex = std::uint32_t;
using CurrencyIndex = std::uint32_t;

inline constexpr std::string_view kHouseOwner = "house";

enum class OwnerType : std::uint8_t { kPsp = 1, kBank = 2, kVenue = 3, kHouse = 4 };

class Chart {
  public:
    // Builds the chart of `config`. Fails (kAlreadyExists) in the practically impossible
    // case of two owners whose ids hash alike, naming both.
    static Result<Chart> build(const config::Config& config);

    const std::vector<money::Currency>& currencies() const noexcept { return currencies_; }
    std::optional<CurrencyIndex> currency_index(const money::Currency& currency) const noexcept;
    std::optional<CurrencyIndex> currency_index(std::string_view code) const noexcept;
    const money::Currency& currency(CurrencyIndex index) const { return currencies_.at(index); }

    std::size_t psp_count() const noexcept { return psp_ids_.size(); }
    std::size_t bank_count() const noexcept { return bank_ids_.size(); }
    std::size_t venue_count() const noexcept { return venue_ids_.size(); }
    std::optional<PspIndex> psp_index(std::string_view psp_id) const noexcept;
    std::optional<BankIndex> bank_index(std::string_view bank_id) const noexcept;
    std::optional<VenueIndex> venue_index(std::string_view venue_id) const noexcept;
    const std::string& psp_id(PspIndex psp) const { return psp_ids_.at(psp); }
    const std::string& bank_id(BankIndex bank) const { return bank_ids_.at(bank); }
    const std::string& venue_id(VenueIndex venue) const { return venue_ids_.at(venue); }
    // Whether the bank pays in the currency (config banks[].currencies).
    bool bank_serves(BankIndex bank, CurrencyIndex currency) const;
    // The first bank, in config order, that pays in the currency; nullopt when none does.
    std::optional<BankIndex> bank_for(CurrencyIndex currency) const;

    // Account ids. O(1), no allocation.
    ledger::AccountId psp_available(PspIndex psp, CurrencyIndex currency) const;
    ledger::AccountId psp_held(PspIndex psp, CurrencyIndex currency) const;
    ledger::AccountId psp_receivable(PspIndex psp, CurrencyIndex currency) const;
    ledger::AccountId nostro(BankIndex bank, CurrencyIndex currency) const;
    ledger::AccountId settlement(BankIndex bank, CurrencyIndex currency) const;
    ledger::AccountId venue(VenueIndex venue, CurrencyIndex currency) const;
    ledger::AccountId fx_position(CurrencyIndex currency) const;
    ledger::AccountId rounding(CurrencyIndex currency) const;
    ledger::AccountId fees(CurrencyIndex currency) const;
    ledger::AccountId suspense(CurrencyIndex currency) const;
    ledger::AccountId equity(CurrencyIndex currency) const;

    // Every account of the chart, with owner, kind, flags, code ("alpha/available/USD",
    // "bank-cn/nostro/CNY", "house/fx_position/USD") and name. Creating them all in one
    // ledger batch is idempotent: a second run reports kAccountExists for each.
    std::vector<ledger::Account> accounts() const;
    std::vector<ledger::Operation> create_operations() const;

    // The id of an account from its owner and kind (what the accessors above return).
    static ledger::AccountId account_id(OwnerType owner_type, std::string_view owner_id,
                                        ledger::AccountKind kind,
                                        const money::Currency& currency) noexcept;

  private:
    Chart() = default;
    ledger::AccountId id_for(std::uint64_t owner_hash, ledger::AccountKind kind,
                             CurrencyIndex currency) const;

    std::vector<money::Currency> currencies_;  // sorted by code
    std::vector<std::string> psp_ids_;
    std::vector<std::string> bank_ids_;
    std::vector<std::string> venue_ids_;
    std::vector<std::uint64_t> psp_hashes_;
    std::vector<std::uint64_t> bank_hashes_;
    std::vector<std::uint64_t> venue_hashes_;
    std::uint64_t house_hash_ = 0;
    std::vector<std::vector<bool>> bank_serves_;  // [bank][currency]
};

}  // namespace fxsettle::engine
