#include "engine/chart/chart.h"

#include <algorithm>
#include <map>

namespace fxsettle::engine {
namespace {

std::uint64_t fnv1a64(std::string_view text) noexcept {
    std::uint64_t hash = 0xcbf29ce484222325ULL;
    for (const char c : text) {
        hash ^= static_cast<std::uint8_t>(c);
        hash *= 0x100000001b3ULL;
    }
    return hash;
}

std::string_view owner_type_name(OwnerType type) noexcept {
    switch (type) {
        case OwnerType::kPsp:
            return "psp";
        case OwnerType::kBank:
            return "bank";
        case OwnerType::kVenue:
            return "venue";
        case OwnerType::kHouse:
            return "house";
    }
    return "unknown";
}

std::uint64_t owner_hash(OwnerType type, std::string_view owner_id) {
    std::string key(owner_type_name(type));
    key += ':';
    key += owner_id;
    return fnv1a64(key);
}

std::uint64_t currency_bits(const money::Currency& currency) noexcept {
    return (std::uint64_t{static_cast<std::uint8_t>(currency.code[0])} << 16) |
           (std::uint64_t{static_cast<std::uint8_t>(currency.code[1])} << 8) |
           std::uint64_t{static_cast<std::uint8_t>(currency.code[2])};
}

ledger::AccountId make_id(std::uint64_t hash, ledger::AccountKind kind,
                          const money::Currency& currency) noexcept {
    ledger::AccountId id;
    id.hi = hash;
    id.lo = (std::uint64_t{static_cast<std::uint16_t>(kind)} << 32) | currency_bits(currency);
    return id;
}

template <typename T>
std::optional<std::uint32_t> index_of(const std::vector<T>& list, const T& value) {
    const auto it = std::find(list.begin(), list.end(), value);
    if (it == list.end())
        return std::nullopt;
    return static_cast<std::uint32_t>(it - list.begin());
}

}  // namespace

ledger::AccountId Chart::account_id(OwnerType owner_type, std::string_view owner_id,
                                    ledger::AccountKind kind,
                                    const money::Currency& currency) noexcept {
    return make_id(owner_hash(owner_type, owner_id), kind, currency);
}

Result<Chart> Chart::build(const config::Config& config) {
    Chart chart;
    std::vector<money::Currency> currencies;
    for (const auto& cycle : config.cycles)
        currencies.push_back(cycle.currency);
    for (const auto& pair : config.pairs) {
        currencies.push_back(pair.pair.base);
        currencies.push_back(pair.pair.quote);
    }
    std::sort(currencies.begin(), currencies.end());
    currencies.erase(std::unique(currencies.begin(), currencies.end()), currencies.end());
    chart.currencies_ = std::move(currencies);

    std::map<std::uint64_t, std::string> seen;
    auto add_owner = [&](OwnerType type, const std::string& id) -> Result<std::uint64_t> {
        const std::uint64_t hash = owner_hash(type, id);
        const std::string name = std::string(owner_type_name(type)) + ":" + id;
        const auto [it, inserted] = seen.emplace(hash, name);
        if (!inserted) {
            return fail(StatusCode::kAlreadyExists,
                        "chart: owners '" + it->second + "' and '" + name +
                            "' hash to the same account id; rename one");
        }
        return hash;
    };
    for (const auto& psp : config.psps) {
        auto hash = add_owner(OwnerType::kPsp, psp.id);
        if (!hash)
            return fail(hash.error());
        chart.psp_ids_.push_back(psp.id);
        chart.psp_hashes_.push_back(*hash);
    }
    for (const auto& bank : config.banks) {
        auto hash = add_owner(OwnerType::kBank, bank.id);
        if (!hash)
            return fail(hash.error());
        chart.bank_ids_.push_back(bank.id);
        chart.bank_hashes_.push_back(*hash);
        std::vector<bool> serves(chart.currencies_.size(), false);
        for (const auto& currency : bank.currencies) {
            if (auto index = chart.currency_index(currency))
                serves[*index] = true;
        }
        chart.bank_serves_.push_back(std::move(serves));
    }
    for (const auto& venue : config.venues) {
        auto hash = add_owner(OwnerType::kVenue, venue.id);
        if (!hash)
            return fail(hash.error());
        chart.venue_ids_.push_back(venue.id);
        chart.venue_hashes_.push_back(*hash);
    }
    auto house = add_owner(OwnerType::kHouse, std::string(kHouseOwner));
    if (!house)
        return fail(house.error());
    chart.house_hash_ = *house;
    return chart;
}

std::optional<CurrencyIndex> Chart::currency_index(const money::Currency& currency) const noexcept {
    const auto it = std::lower_bound(currencies_.begin(), currencies_.end(), currency);
    if (it == currencies_.end() || *it != currency)
        return std::nullopt;
    return static_cast<CurrencyIndex>(it - currencies_.begin());
}

std::optional<CurrencyIndex> Chart::currency_index(std::string_view code) const noexcept {
    for (std::size_t i = 0; i < currencies_.size(); ++i) {
        if (currencies_[i].code_view() == code)
            return static_cast<CurrencyIndex>(i);
    }
    return std::nullopt;
}

std::optional<PspIndex> Chart::psp_index(std::string_view psp_id) const noexcept {
    return index_of(psp_ids_, std::string(psp_id));
}
std::optional<BankIndex> Chart::bank_index(std::string_view bank_id) const noexcept {
    return index_of(bank_ids_, std::string(bank_id));
}
std::optional<VenueIndex> Chart::venue_index(std::string_view venue_id) const noexcept {
    return index_of(venue_ids_, std::string(venue_id));
}

bool Chart::bank_serves(BankIndex bank, CurrencyIndex currency) const {
    return bank_serves_.at(bank).at(currency);
}

std::optional<BankIndex> Chart::bank_for(CurrencyIndex currency) const {
    for (std::size_t bank = 0; bank < bank_serves_.size(); ++bank) {
        if (bank_serves_[bank].at(currency))
            return static_cast<BankIndex>(bank);
    }
    return std::nullopt;
}

ledger::AccountId Chart::id_for(std::uint64_t owner_hash_value, ledger::AccountKind kind,
                                CurrencyIndex currency) const {
    return make_id(owner_hash_value, kind, currencies_.at(currency));
}

ledger::AccountId Chart::psp_available(PspIndex psp, CurrencyIndex currency) const {
    return id_for(psp_hashes_.at(psp), ledger::AccountKind::kPspAvailable, currency);
}
ledger::AccountId Chart::psp_held(PspIndex psp, CurrencyIndex currency) const {
    return id_for(psp_hashes_.at(psp), ledger::AccountKind::kPspHeld, currency);
}
ledger::AccountId Chart::psp_receivable(PspIndex psp, CurrencyIndex currency) const {
    return id_for(psp_hashes_.at(psp), ledger::AccountKind::kPspReceivable, currency);
}
ledger::AccountId Chart::nostro(BankIndex bank, CurrencyIndex currency) const {
    return id_for(bank_hashes_.at(bank), ledger::AccountKind::kNostro, currency);
}
ledger::AccountId Chart::settlement(BankIndex bank, CurrencyIndex currency) const {
    return id_for(bank_hashes_.at(bank), ledger::AccountKind::kSettlement, currency);
}
ledger::AccountId Chart::venue(VenueIndex venue_index_value, CurrencyIndex currency) const {
    return id_for(venue_hashes_.at(venue_index_value), ledger::AccountKind::kVenue, currency);
}
ledger::AccountId Chart::fx_position(CurrencyIndex currency) const {
    return id_for(house_hash_, ledger::AccountKind::kFxPosition, currency);
}
ledger::AccountId Chart::rounding(CurrencyIndex currency) const {
    return id_for(house_hash_, ledger::AccountKind::kRounding, currency);
}
ledger::AccountId Chart::fees(CurrencyIndex currency) const {
    return id_for(house_hash_, ledger::AccountKind::kFees, currency);
}
ledger::AccountId Chart::suspense(CurrencyIndex currency) const {
    return id_for(house_hash_, ledger::AccountKind::kSuspense, currency);
}
ledger::AccountId Chart::equity(CurrencyIndex currency) const {
    return id_for(house_hash_, ledger::AccountKind::kEquity, currency);
}

std::vector<ledger::Account> Chart::accounts() const {
    std::vector<ledger::Account> out;
    auto add = [&](const ledger::AccountId& id, const std::string& owner, ledger::AccountKind kind,
                   CurrencyIndex currency, std::uint32_t flags, const std::string& name) {
        ledger::Account account;
        account.id = id;
        account.owner = owner;
        account.currency = currencies_[currency];
        account.kind = kind;
        account.flags = flags;
        account.code = owner + "/" + std::string(ledger::account_kind_name(kind)) + "/" +
                       currencies_[currency].to_string();
        account.name = name;
        out.push_back(std::move(account));
    };
    for (CurrencyIndex c = 0; c < currencies_.size(); ++c) {
        const std::string code = currencies_[c].to_string();
        for (PspIndex p = 0; p < psp_ids_.size(); ++p) {
            add(psp_available(p, c), psp_ids_[p], ledger::AccountKind::kPspAvailable, c,
                ledger::kAccountNoNegative, psp_ids_[p] + " funds free to use in " + code);
            add(psp_held(p, c), psp_ids_[p], ledger::AccountKind::kPspHeld, c,
                ledger::kAccountNoNegative, psp_ids_[p] + " funds reserved in " + code);
            add(psp_receivable(p, c), psp_ids_[p], ledger::AccountKind::kPspReceivable, c,
                ledger::kAccountNoNegative, psp_ids_[p] + " intraday credit owed in " + code);
        }
        for (BankIndex b = 0; b < bank_ids_.size(); ++b) {
            if (!bank_serves_[b][c])
                continue;
            add(nostro(b, c), bank_ids_[b], ledger::AccountKind::kNostro, c, 0,
                "our " + code + " account at " + bank_ids_[b]);
            add(settlement(b, c), bank_ids_[b], ledger::AccountKind::kSettlement, c, 0,
                code + " payments in transit at " + bank_ids_[b]);
        }
        for (VenueIndex v = 0; v < venue_ids_.size(); ++v) {
            add(venue(v, c), venue_ids_[v], ledger::AccountKind::kVenue, c, 0,
                code + " receivable from / payable to " + venue_ids_[v]);
        }
        const std::string house(kHouseOwner);
        add(fx_position(c), house, ledger::AccountKind::kFxPosition, c, 0,
            "open FX position in " + code);
        add(rounding(c), house, ledger::AccountKind::kRounding, c, 0,
            "rounding residue of conversions into " + code);
        add(fees(c), house, ledger::AccountKind::kFees, c, 0, "fees and spreads in " + code);
        add(suspense(c), house, ledger::AccountKind::kSuspense, c, 0,
            "unexplained " + code + " items awaiting reconciliation");
        add(equity(c), house, ledger::AccountKind::kEquity, c, 0, "capital in " + code);
    }
    return out;
}

std::vector<ledger::Operation> Chart::create_operations() const {
    std::vector<ledger::Operation> ops;
    for (auto& account : accounts()) {
        ops.push_back(ledger::Operation{ledger::CreateAccount{std::move(account)}, false});
    }
    return ops;
}

}  // namespace fxsettle::engine
