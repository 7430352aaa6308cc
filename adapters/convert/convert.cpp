#include "adapters/convert/convert.h"

#include <algorithm>
#include <charconv>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <type_traits>
#include <unordered_map>
#include <utility>
#include <variant>

#include "engine/base/status.h"
#include "engine/calendar/calendar.h"
#include "engine/money/amount.h"
#include "engine/money/rate.h"

namespace fxsettle::adapters::convert {

namespace {

using engine::Reason;
using money::Amount;
using money::Currency;
using money::CurrencyPair;
using money::Rate;

// ---- small text helpers ------------------------------------------------------------------

std::string u64_text(std::uint64_t v) {
    return std::to_string(v);
}

std::optional<std::uint64_t> parse_u64(std::string_view text) {
    if (text.empty() || text.size() > 20)
        return std::nullopt;
    std::uint64_t v = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc{} || ptr != text.data() + text.size())
        return std::nullopt;
    return v;
}

// Ids "<prefix><digits>" with no leading zero, value >= 1.
std::optional<std::uint64_t> parse_prefixed_id(std::string_view text, std::string_view prefix) {
    if (!text.starts_with(prefix))
        return std::nullopt;
    text.remove_prefix(prefix.size());
    if (text.empty() || text.front() == '0')
        return std::nullopt;
    for (char c : text) {
        if (c < '0' || c > '9')
            return std::nullopt;
    }
    return parse_u64(text);
}

// A value quoted in a reject's Text; a long one is shortened (a reply never carries
// kilobytes of what was refused back to its sender).
std::string in_quotes(std::string_view s) {
    constexpr std::size_t kShown = 32;
    if (s.size() > 2 * kShown)
        return "'" + std::string(s.substr(0, kShown)) + "...' (" + std::to_string(s.size()) +
               " bytes)";
    return "'" + std::string(s) + "'";
}

char side_char(engine::book::Side side) {
    return side == engine::book::Side::kBuy ? '1' : '2';
}

std::string tif_text(engine::book::TimeInForce tif) {
    return std::to_string(static_cast<int>(tif));
}

char ord_status_char(engine::OrderState state) {
    switch (state) {
        case engine::OrderState::kNew:
            return '0';
        case engine::OrderState::kPartiallyFilled:
            return '1';
        case engine::OrderState::kFilled:
            return '2';
        case engine::OrderState::kCancelled:
            return '4';
        case engine::OrderState::kReplaced:
            return '5';
        case engine::OrderState::kExpired:
            return 'C';
    }
    return '0';
}

// What went wrong with an inbound message.
struct Fail {
    Reason reason = Reason::kNone;
    std::string text;
    bool breach = false;
};
template <typename T>
using Try = tl::expected<T, Fail>;
tl::unexpected<Fail> fail(Reason reason, std::string text, bool breach = false) {
    return tl::unexpected<Fail>(Fail{reason, std::move(text), breach});
}

std::string field_name(int tag) {
    switch (tag) {
        case tag::kAccount:
            return "Account (1)";
        case tag::kClOrdId:
            return "ClOrdID (11)";
        case tag::kCurrency:
            return "Currency (15)";
        case tag::kOrderQty:
            return "OrderQty (38)";
        case tag::kOrdType:
            return "OrdType (40)";
        case tag::kOrigClOrdId:
            return "OrigClOrdID (41)";
        case tag::kPrice:
            return "Price (44)";
        case tag::kSide:
            return "Side (54)";
        case tag::kSymbol:
            return "Symbol (55)";
        case tag::kTransactTime:
            return "TransactTime (60)";
        case tag::kOrdStatusReqId:
            return "OrdStatusReqID (790)";
        case tag::kTimeInForce:
            return "TimeInForce (59)";
        case tag::kSettlType:
            return "SettlType (63)";
        case tag::kSettlDate:
            return "SettlDate (64)";
        case tag::kQuoteId:
            return "QuoteID (117)";
        case tag::kQuoteReqId:
            return "QuoteReqID (131)";
        case tag::kNoRelatedSym:
            return "NoRelatedSym (146)";
        case tag::kPosReqId:
            return "PosReqID (710)";
        case tag::kPosReqType:
            return "PosReqType (724)";
        case tag::kPayoutInstrId:
            return "PayoutInstrID (7100)";
        case tag::kPayoutAmt:
            return "PayoutAmt (7102)";
        case tag::kFundingCurrency:
            return "FundingCurrency (7103)";
        case tag::kBeneficiaryBankId:
            return "BeneficiaryBankID (7105)";
        case tag::kBeneficiaryAccount:
            return "BeneficiaryAccount (7106)";
        case tag::kBeneficiaryName:
            return "BeneficiaryName (7107)";
        case tag::kBeneficiaryCountry:
            return "BeneficiaryCountry (7108)";
        case tag::kPayeeAccount:
            return "PayeeAccount (7109)";
        case tag::kPayoutPurpose:
            return "PayoutPurpose (7110)";
        case tag::kPayoutReference:
            return "PayoutReference (7111)";
        case tag::kDepositRef:
            return "DepositRef (7600)";
        case tag::kDepositAmt:
            return "DepositAmt (7601)";
        case tag::kPaymentOrderId:
            return "PaymentOrderID (7200)";
        case tag::kPaymentLineNo:
            return "PaymentLineNo (7203)";
        case tag::kPaymentLineStatus:
            return "PaymentLineStatus (7209)";
        case tag::kExecId:
            return "ExecID (17)";
        case tag::kExecType:
            return "ExecType (150)";
        case tag::kOrdStatus:
            return "OrdStatus (39)";
        case tag::kLastQty:
            return "LastQty (32)";
        case tag::kLastPx:
            return "LastPx (31)";
        case tag::kMdEntryPx:
            return "MDEntryPx (270)";
        case tag::kMdEntrySize:
            return "MDEntrySize (271)";
        default:
            return "tag " + std::to_string(tag);
    }
}

Try<std::string> required(const WireMessage& m, int t) {
    const std::string* v = m.find(t);
    if (v == nullptr || v->empty())
        return fail(Reason::kNone, field_name(t) + " is missing");
    return *v;
}

// The reason for a missing required field depends on the message; callers set it.
Try<std::string> required(const WireMessage& m, int t, Reason reason) {
    auto v = required(m, t);
    if (!v)
        return fail(reason, v.error().text);
    return v;
}

std::optional<std::string> optional_field(const WireMessage& m, int t) {
    const std::string* v = m.find(t);
    if (v == nullptr)
        return std::nullopt;
    return *v;
}

// A client id's text (RoE section 3): 1..kClientIdBytesMax bytes of visible ASCII. The
// refusal names the field and the problem without echoing the offending bytes.
Try<bool> check_client_id_text(std::string_view id, int t) {
    if (id.empty())
        return fail(Reason::kClientIdInvalid, field_name(t) + " is empty");
    if (id.size() > kClientIdBytesMax)
        return fail(Reason::kClientIdInvalid, field_name(t) + ": " + std::to_string(id.size()) +
                                                  " bytes; at most " +
                                                  std::to_string(kClientIdBytesMax));
    for (std::size_t i = 0; i < id.size(); ++i) {
        const auto byte = static_cast<unsigned char>(id[i]);
        if (byte < 0x21 || byte > 0x7e) {
            static constexpr char kHex[] = "0123456789abcdef";
            return fail(Reason::kClientIdInvalid,
                        field_name(t) + ": byte " + std::to_string(i + 1) + " is 0x" +
                            kHex[byte >> 4] + kHex[byte & 0xf] +
                            "; a client id is visible ASCII (0x21-0x7e) only");
        }
    }
    return true;
}

// TransactTime (60), when present (the dictionary says where it is required), must be a
// UTC time from kTransactTimeEarliest up to kTransactTimeLatest.
Try<bool> check_transact_time(const WireMessage& m) {
    const std::string* v = m.find(tag::kTransactTime);
    if (v == nullptr)
        return true;
    const std::string window = " (fxsettle takes 20000101-00:00:00 up to 21000101-00:00:00)";
    // Compared in days first: a date past what a ledger timestamp holds (2262) does not
    // parse as a time, and is still named as too late.
    const auto day = parse_fix_date(std::string_view(*v).substr(0, 8));
    if (day && *day >= kTransactTimeLatest)
        return fail(Reason::kNone, "TransactTime (60) " + in_quotes(*v) + " is too late" + window);
    const auto t = parse_utc_timestamp(*v);
    if (!t)
        return fail(Reason::kNone, "TransactTime (60) " + in_quotes(*v) +
                                       " is not a UTC time YYYYMMDD-HH:MM:SS[.sss]");
    if (*t < kTransactTimeEarliest)
        return fail(Reason::kNone, "TransactTime (60) " + in_quotes(*v) + " is too early" + window);
    return true;
}

// A free-text field of at most `bytes_max` bytes (the engine's bound), named when longer.
Try<bool> text_bytes(std::string_view v, int t, std::size_t bytes_max, Reason reason) {
    if (v.size() > bytes_max)
        return fail(reason, field_name(t) + ": " + std::to_string(v.size()) + " bytes; at most " +
                                std::to_string(bytes_max));
    return true;
}

// The tags of a PSP's client ids.
bool is_client_id_tag(int t) {
    return t == tag::kClOrdId || t == tag::kOrigClOrdId || t == tag::kOrdStatusReqId ||
           t == tag::kQuoteReqId || t == tag::kPayoutInstrId || t == tag::kPosReqId;
}

// A required client id: present, non-empty (else `missing_reason`) and well formed.
Try<std::string> client_id_field(const WireMessage& m, int t, Reason missing_reason) {
    auto v = required(m, t, missing_reason);
    if (!v)
        return v;
    if (auto ok = check_client_id_text(*v, t); !ok)
        return tl::unexpected(ok.error());
    return v;
}

}  // namespace

// ---- ids, times and dates ------------------------------------------------------------------

std::string hedge_cl_ord_id(engine::HedgeId hedge_id) {
    return "HG-" + u64_text(hedge_id);
}
std::optional<engine::HedgeId> parse_hedge_cl_ord_id(std::string_view text) {
    return parse_prefixed_id(text, "HG-");
}
std::string payment_order_id_text(engine::PaymentOrderId order_id) {
    return "PO-" + u64_text(order_id);
}
std::optional<engine::PaymentOrderId> parse_payment_order_id(std::string_view text) {
    return parse_prefixed_id(text, "PO-");
}

namespace {
void put2(std::string& s, unsigned v) {
    s.push_back(static_cast<char>('0' + v / 10));
    s.push_back(static_cast<char>('0' + v % 10));
}
std::string ymd_text(const std::chrono::year_month_day& ymd) {
    std::string s;
    const int y = static_cast<int>(ymd.year());
    s += std::to_string(y);
    while (s.size() < 4)
        s.insert(s.begin(), '0');
    put2(s, static_cast<unsigned>(ymd.month()));
    put2(s, static_cast<unsigned>(ymd.day()));
    return s;
}
bool all_digits(std::string_view s) {
    return !s.empty() &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}
int digits_value(std::string_view s) {
    int v = 0;
    for (char c : s)
        v = v * 10 + (c - '0');
    return v;
}
}  // namespace

std::string format_fix_date(ledger::Date date) {
    return ymd_text(std::chrono::year_month_day{date});
}

std::string format_utc_timestamp(ledger::Timestamp time) {
    using namespace std::chrono;
    const auto day = floor<days>(time);
    const auto ms = floor<milliseconds>(time - day);
    const hh_mm_ss<milliseconds> hms{ms};
    std::string s = ymd_text(year_month_day{day});
    s.push_back('-');
    put2(s, static_cast<unsigned>(hms.hours().count()));
    s.push_back(':');
    put2(s, static_cast<unsigned>(hms.minutes().count()));
    s.push_back(':');
    put2(s, static_cast<unsigned>(hms.seconds().count()));
    s.push_back('.');
    const auto frac = static_cast<unsigned>(hms.subseconds().count());
    s.push_back(static_cast<char>('0' + frac / 100));
    put2(s, frac % 100);
    return s;
}

std::optional<ledger::Date> parse_fix_date(std::string_view text) {
    using namespace std::chrono;
    if (text.size() != 8 || !all_digits(text))
        return std::nullopt;
    const int y = digits_value(text.substr(0, 4));
    const auto m = static_cast<unsigned>(digits_value(text.substr(4, 2)));
    const auto d = static_cast<unsigned>(digits_value(text.substr(6, 2)));
    const year_month_day ymd{year{y}, month{m}, day{d}};
    if (y < 1900 || !ymd.ok())
        return std::nullopt;
    return sys_days{ymd};
}

std::optional<ledger::Timestamp> parse_utc_timestamp(std::string_view text) {
    using namespace std::chrono;
    if (text.size() < 17 || text[8] != '-' || text[11] != ':' || text[14] != ':')
        return std::nullopt;
    const auto date = parse_fix_date(text.substr(0, 8));
    const std::string_view hh = text.substr(9, 2), mm = text.substr(12, 2), ss = text.substr(15, 2);
    if (!date || !all_digits(hh) || !all_digits(mm) || !all_digits(ss))
        return std::nullopt;
    // A ledger time is 64-bit nanoseconds since 1970, which ends in April 2262: a later
    // time is refused like any other invalid one, never converted with an overflow (found
    // by the fix_to_command fuzz target: SendingTime in the year 3026).
    if (year_month_day{*date}.year() > year{2261})
        return std::nullopt;
    const int h = digits_value(hh), mi = digits_value(mm), se = digits_value(ss);
    if (h > 23 || mi > 59 || se > 60)
        return std::nullopt;
    std::int64_t frac_ns = 0;
    if (text.size() > 17) {
        const std::string_view frac = text.substr(18);
        if (text[17] != '.' || !all_digits(frac) ||
            (frac.size() != 3 && frac.size() != 6 && frac.size() != 9))
            return std::nullopt;
        frac_ns = digits_value(frac);
        for (std::size_t i = frac.size(); i < 9; ++i)
            frac_ns *= 10;
    }
    return ledger::Timestamp{*date} + hours{h} + minutes{mi} + seconds{se} + nanoseconds{frac_ns};
}

std::optional<SessionKey> session_key(const config::Config& config, Destination destination) {
    switch (destination.peer) {
        case Peer::kPsp:
            if (destination.index >= config.psps.size())
                return std::nullopt;
            return SessionKey{config.gateway.sender_comp_id,
                              config.psps[destination.index].sender_comp_id};
        case Peer::kVenue:
            if (destination.index >= config.venues.size())
                return std::nullopt;
            return SessionKey{config.venues[destination.index].sender_comp_id,
                              config.venues[destination.index].target_comp_id};
        case Peer::kBank:
            if (destination.index >= config.banks.size())
                return std::nullopt;
            return SessionKey{config.banks[destination.index].sender_comp_id,
                              config.banks[destination.index].target_comp_id};
        case Peer::kNone:
            break;
    }
    return std::nullopt;
}

// ---- the converter's state --------------------------------------------------------------------

namespace {

template <typename T, typename Variant>
struct VariantHas;
template <typename T, typename... Ts>
struct VariantHas<T, std::variant<Ts...>> : std::bool_constant<(std::is_same_v<T, Ts> || ...)> {};

// A line confirmation becomes the engine's BankLineConfirmation command when the engine's
// Command variant has it; returns false when it does not (the caller then confirms the
// whole order).
template <typename CommandT>
bool push_line_confirmation(std::vector<CommandT>& out, engine::BankIndex bank,
                            std::uint64_t order_id, std::uint32_t line, std::string reference) {
    if constexpr (VariantHas<engine::BankLineConfirmation, CommandT>::value) {
        out.push_back(engine::BankLineConfirmation{bank, order_id, line, std::move(reference)});
        return true;
    } else {
        (void)out;
        (void)bank;
        (void)order_id;
        (void)line;
        (void)reference;
        return false;
    }
}

enum class Family : char { kOrder = 'O', kStatus = 'S', kQuote = 'Q' };

struct Remembered {
    std::string symbol;
    char side = '1';
    std::uint64_t order_id = 0;  // 0: not known (not accepted yet)
    char ord_status = '8';       // the order's last known OrdStatus; 8 when unknown
};

struct Side2 {
    std::optional<std::pair<Rate, Amount>> bid;
    std::optional<std::pair<Rate, Amount>> ask;
};

}  // namespace

struct Converter::Impl {
    config::Config config;
    engine::Chart chart;
    std::vector<CurrencyPair> pairs;  // config order: PairIndex

    mutable std::mutex mu;
    std::unordered_map<std::string, Remembered> remembered;            // under mu
    std::deque<std::string> remembered_order;                          // under mu: FIFO eviction
    std::map<std::pair<engine::VenueIndex, std::size_t>, Side2> tops;  // under mu

    Impl(config::Config c, engine::Chart ch) : config(std::move(c)), chart(std::move(ch)) {
        for (const auto& p : config.pairs)
            pairs.push_back(p.pair);
    }

    // ---- memory -------------------------------------------------------------------
    static std::string key(engine::PspIndex psp, Family f, std::string_view client_id) {
        std::string k = std::to_string(psp);
        k.push_back('\x1f');
        k.push_back(static_cast<char>(f));
        k.push_back('\x1f');
        k.append(client_id);
        return k;
    }
    // Records `r` unless an accepted order already holds the key (`force` replaces it).
    void remember(engine::PspIndex psp, Family f, std::string_view client_id, Remembered r,
                  bool force) {
        std::lock_guard lock(mu);
        std::string k = key(psp, f, client_id);
        auto it = remembered.find(k);
        if (it != remembered.end()) {
            if (force || it->second.order_id == 0)
                it->second = std::move(r);
            return;
        }
        while (remembered.size() >= kRememberedRequestsMax && !remembered_order.empty()) {
            remembered.erase(remembered_order.front());
            remembered_order.pop_front();
        }
        remembered.emplace(k, std::move(r));
        remembered_order.push_back(std::move(k));
    }
    std::optional<Remembered> recall(engine::PspIndex psp, Family f,
                                     std::string_view client_id) const {
        std::lock_guard lock(mu);
        auto it = remembered.find(key(psp, f, client_id));
        if (it == remembered.end())
            return std::nullopt;
        return it->second;
    }
    void update_status(engine::PspIndex psp, std::string_view client_id, char status) {
        std::lock_guard lock(mu);
        auto it = remembered.find(key(psp, Family::kOrder, client_id));
        if (it != remembered.end())
            it->second.ord_status = status;
    }

    // ---- lookups ------------------------------------------------------------------
    Try<Currency> currency(std::string_view code, int t) const {
        const auto c = config.currency_table.find(code);
        if (!c || !chart.currency_index(*c))
            return fail(Reason::kUnknownCurrency, field_name(t) + " " + in_quotes(code) +
                                                      " is not a currency fxsettle trades");
        return *c;
    }
    // The configured pair of a Symbol ("USD/CNY" or "USDCNY"), in its configured direction.
    Try<std::size_t> pair_index(std::string_view symbol) const {
        auto parsed = money::parse_pair(symbol, config.currency_table);
        if (!parsed)
            return fail(Reason::kUnknownPair,
                        "Symbol (55) " + in_quotes(symbol) +
                            " is not a currency pair: " + parsed.error().message());
        for (std::size_t i = 0; i < pairs.size(); ++i) {
            if (pairs[i] == *parsed)
                return i;
        }
        for (std::size_t i = 0; i < pairs.size(); ++i) {
            if (pairs[i] == parsed->inverted())
                return fail(Reason::kUnknownPair, "Symbol (55) " + in_quotes(symbol) +
                                                      " is quoted as " + pairs[i].to_string() +
                                                      " at fxsettle");
        }
        return fail(Reason::kUnknownPair,
                    "Symbol (55) " + in_quotes(symbol) + " is not a pair fxsettle trades");
    }
    static Try<Amount> amount(std::string_view text, const Currency& c, int t, Reason reason) {
        auto a = money::parse_amount(text, c);
        if (!a)
            return fail(reason, field_name(t) + ": " + a.error().message());
        if (!a->is_positive())
            return fail(reason, field_name(t) + " " + in_quotes(text) + " must be positive");
        return *a;
    }
    static Try<Rate> rate(std::string_view text, const CurrencyPair& pair, int t) {
        auto r = Rate::parse(pair, text);
        if (!r)
            return fail(Reason::kPriceInvalid, field_name(t) + ": " + r.error().message());
        return *r;
    }
    static Try<engine::book::Side> side(const WireMessage& m) {
        auto s = required(m, tag::kSide, Reason::kNone);
        if (!s)
            return tl::unexpected(s.error());
        if (*s == "1")
            return engine::book::Side::kBuy;
        if (*s == "2")
            return engine::book::Side::kSell;
        return fail(Reason::kNone, "Side (54) " + in_quotes(*s) + " is not 1 (buy) or 2 (sell)");
    }
    static Try<engine::ValueDateRequest> value_date(const WireMessage& m) {
        const auto type = optional_field(m, tag::kSettlType);
        const auto date_text = optional_field(m, tag::kSettlDate);
        std::optional<ledger::Date> date;
        if (date_text) {
            date = parse_fix_date(*date_text);
            if (!date)
                return fail(Reason::kValueDateInvalid,
                            "SettlDate (64) " + in_quotes(*date_text) + " is not a date YYYYMMDD");
        }
        auto r = engine::calendar::request_from_fix(type.value_or(""), date);
        if (!r)
            return fail(Reason::kValueDateInvalid,
                        "SettlType (63)/SettlDate (64): " + r.error().message());
        return *r;
    }
    // Account (1), when present, must be the session's own PSP.
    Try<bool> own_account(engine::PspIndex psp, const std::optional<std::string>& account,
                          std::string_view field) const {
        if (account && *account != chart.psp_id(psp))
            return fail(Reason::kUnknownPsp,
                        std::string(field) + " " + in_quotes(*account) +
                            " is not this session's PSP " + in_quotes(chart.psp_id(psp)) +
                            ": a session acts only for its own PSP",
                        true);
        return true;
    }

    // The pair of the Symbol on F, G or H, which with Side must be those of the order
    // named (its ClOrdID `order_client_id`) when this converter has seen the order
    // accepted: a request naming an order by one id and describing another is refused
    // (unknown_order, the Text naming the field) rather than acting on the id alone.
    Try<std::size_t> order_pair(engine::PspIndex psp, std::string_view order_client_id,
                                std::string_view symbol, engine::book::Side side) const {
        auto p = pair_index(symbol);
        if (!p)
            return p;
        const auto order = recall(psp, Family::kOrder, order_client_id);
        if (!order || order->order_id == 0)
            return p;
        const std::string pair_text = pairs[*p].to_string();
        if (order->symbol != pair_text)
            return fail(Reason::kUnknownOrder,
                        "Symbol (55) " + in_quotes(symbol) + " is not the Symbol of order " +
                            in_quotes(order_client_id) + " (" + order->symbol + ")");
        if (order->side != side_char(side))
            return fail(Reason::kUnknownOrder, "Side (54) " + std::string(1, side_char(side)) +
                                                   " is not the Side of order " +
                                                   in_quotes(order_client_id) + " (" +
                                                   std::string(1, order->side) + ")");
        return p;
    }

    // ---- PSP inbound ------------------------------------------------------------------
    Try<engine::Command> new_order(engine::PspIndex psp, const WireMessage& m) {
        auto client_id = client_id_field(m, tag::kClOrdId, Reason::kClientIdInvalid);
        if (!client_id)
            return tl::unexpected(client_id.error());
        if (auto a = own_account(psp, optional_field(m, tag::kAccount), "Account (1)"); !a)
            return tl::unexpected(a.error());
        auto symbol = required(m, tag::kSymbol, Reason::kUnknownPair);
        if (!symbol)
            return tl::unexpected(symbol.error());
        auto s = side(m);
        if (!s)
            return tl::unexpected(s.error());
        // Remember Symbol and Side now: a rejection (here or by the engine) needs them.
        remember(psp, Family::kOrder, *client_id, Remembered{*symbol, side_char(*s), 0, '8'},
                 false);
        auto p = pair_index(*symbol);
        if (!p)
            return tl::unexpected(p.error());
        const CurrencyPair& pair = pairs[*p];
        if (auto ccy = optional_field(m, tag::kCurrency); ccy && *ccy != pair.base.to_string())
            return fail(Reason::kCurrencyMismatch,
                        "Currency (15) " + in_quotes(*ccy) + " must be the base currency " +
                            pair.base.to_string() + " of " + pair.to_string() +
                            " (OrderQty is in the base currency)");
        engine::NewOrder o;
        o.psp = psp;
        o.client_id = *client_id;
        o.pair = pair;
        o.side = *s;
        auto qty_text = required(m, tag::kOrderQty, Reason::kQuantityInvalid);
        if (!qty_text)
            return tl::unexpected(qty_text.error());
        auto qty = amount(*qty_text, pair.base, tag::kOrderQty, Reason::kQuantityInvalid);
        if (!qty)
            return tl::unexpected(qty.error());
        o.quantity = *qty;
        auto type = required(m, tag::kOrdType, Reason::kPriceInvalid);
        if (!type)
            return tl::unexpected(type.error());
        if (*type == "1") {
            o.type = engine::book::OrderType::kMarket;
            o.tif = engine::book::TimeInForce::kIoc;
        } else if (*type == "2") {
            o.type = engine::book::OrderType::kLimit;
            o.tif = engine::book::TimeInForce::kDay;
        } else {
            return fail(Reason::kPriceInvalid,
                        "OrdType (40) " + in_quotes(*type) + " is not 1 (market) or 2 (limit)");
        }
        if (auto tif = optional_field(m, tag::kTimeInForce)) {
            if (*tif == "0")
                o.tif = engine::book::TimeInForce::kDay;
            else if (*tif == "1")
                o.tif = engine::book::TimeInForce::kGtc;
            else if (*tif == "3")
                o.tif = engine::book::TimeInForce::kIoc;
            else if (*tif == "4")
                o.tif = engine::book::TimeInForce::kFok;
            else
                return fail(Reason::kTimeInForceInvalid,
                            "TimeInForce (59) " + in_quotes(*tif) + " is not 0, 1, 3 or 4");
        }
        if (auto px = optional_field(m, tag::kPrice)) {
            auto r = rate(*px, pair, tag::kPrice);
            if (!r)
                return tl::unexpected(r.error());
            o.price = *r;
        }
        auto vd = value_date(m);
        if (!vd)
            return tl::unexpected(vd.error());
        o.value_date = *vd;
        return engine::Command{std::move(o)};
    }

    Try<engine::Command> cancel_or_replace(engine::PspIndex psp, const WireMessage& m,
                                           bool replace) {
        auto client_id = client_id_field(m, tag::kClOrdId, Reason::kClientIdInvalid);
        if (!client_id)
            return tl::unexpected(client_id.error());
        auto orig = client_id_field(m, tag::kOrigClOrdId, Reason::kUnknownOrder);
        if (!orig)
            return tl::unexpected(orig.error());
        if (auto a = own_account(psp, optional_field(m, tag::kAccount), "Account (1)"); !a)
            return tl::unexpected(a.error());
        auto symbol = required(m, tag::kSymbol, Reason::kUnknownPair);
        if (!symbol)
            return tl::unexpected(symbol.error());
        auto s = side(m);
        if (!s)
            return tl::unexpected(s.error());
        auto p = order_pair(psp, *orig, *symbol, *s);
        if (!p)
            return tl::unexpected(p.error());
        const CurrencyPair& pair = pairs[*p];
        remember(psp, Family::kOrder, *client_id, Remembered{*symbol, side_char(*s), 0, '8'},
                 false);
        if (!replace) {
            // OrderQty on a cancel is informational (the whole remaining order is
            // cancelled), but what is sent must be a valid quantity of the base currency.
            if (auto qty_text = optional_field(m, tag::kOrderQty)) {
                if (auto q = amount(*qty_text, pair.base, tag::kOrderQty, Reason::kQuantityInvalid);
                    !q)
                    return tl::unexpected(q.error());
            }
            return engine::Command{engine::CancelOrder{psp, *client_id, *orig}};
        }
        if (auto ccy = optional_field(m, tag::kCurrency)) {
            auto cc = currency(*ccy, tag::kCurrency);
            if (!cc)
                return tl::unexpected(cc.error());
            if (*cc != pair.base)
                return fail(Reason::kCurrencyMismatch,
                            "Currency (15) " + in_quotes(*ccy) + " must be the base currency " +
                                pair.base.to_string() + " of " + pair.to_string() +
                                " (OrderQty is in the base currency)");
        }
        auto type = required(m, tag::kOrdType, Reason::kPriceInvalid);
        if (!type)
            return tl::unexpected(type.error());
        if (*type != "2")
            return fail(Reason::kPriceInvalid, "OrdType (40) " + in_quotes(*type) +
                                                   ": only limit orders (2) are replaced");
        auto px_text = required(m, tag::kPrice, Reason::kPriceInvalid);
        if (!px_text)
            return tl::unexpected(px_text.error());
        auto px = rate(*px_text, pair, tag::kPrice);
        if (!px)
            return tl::unexpected(px.error());
        auto qty_text = required(m, tag::kOrderQty, Reason::kReplaceQuantityInvalid);
        if (!qty_text)
            return tl::unexpected(qty_text.error());
        auto qty = amount(*qty_text, pair.base, tag::kOrderQty, Reason::kReplaceQuantityInvalid);
        if (!qty)
            return tl::unexpected(qty.error());
        return engine::Command{engine::ReplaceOrder{psp, *client_id, *orig, *px, *qty}};
    }

    Try<engine::Command> status_request(engine::PspIndex psp, const WireMessage& m) {
        auto order = client_id_field(m, tag::kClOrdId, Reason::kUnknownOrder);
        if (!order)
            return tl::unexpected(order.error());
        const auto status_req_id = optional_field(m, tag::kOrdStatusReqId);
        if (status_req_id) {
            if (auto ok = check_client_id_text(*status_req_id, tag::kOrdStatusReqId); !ok)
                return tl::unexpected(ok.error());
        }
        const std::string client_id = status_req_id.value_or(*order);
        auto symbol = required(m, tag::kSymbol, Reason::kUnknownPair);
        if (!symbol)
            return tl::unexpected(symbol.error());
        auto s = side(m);
        if (!s)
            return tl::unexpected(s.error());
        if (auto p = order_pair(psp, *order, *symbol, *s); !p)
            return tl::unexpected(p.error());
        remember(psp, Family::kStatus, client_id, Remembered{*symbol, side_char(*s), 0, '8'}, true);
        if (auto a = own_account(psp, optional_field(m, tag::kAccount), "Account (1)"); !a)
            return tl::unexpected(a.error());
        return engine::Command{engine::OrderStatusRequest{psp, client_id, *order}};
    }

    Try<engine::Command> quote_request(engine::PspIndex psp, const WireMessage& m) {
        auto client_id = client_id_field(m, tag::kQuoteReqId, Reason::kClientIdInvalid);
        if (!client_id)
            return tl::unexpected(client_id.error());
        const WireGroup* g = m.find_group(tag::kNoRelatedSym);
        if (g == nullptr || g->entries.empty())
            return fail(Reason::kUnknownPair, "NoRelatedSym (146) is missing");
        const auto& e = g->entries.front();
        const std::string* symbol = find_in_entry(e, tag::kSymbol);
        if (symbol == nullptr || symbol->empty())
            return fail(Reason::kUnknownPair, "Symbol (55) is missing in NoRelatedSym (146)");
        remember(psp, Family::kQuote, *client_id, Remembered{*symbol, '1', 0, '8'}, true);
        if (g->entries.size() > kQuoteRequestSymbolsMax)
            return fail(Reason::kUnknownPair,
                        "NoRelatedSym (146) has " + std::to_string(g->entries.size()) +
                            " entries; fxsettle quotes one Symbol per QuoteRequest");
        if (const std::string* acc = find_in_entry(e, tag::kAccount)) {
            if (auto a = own_account(psp, *acc, "Account (1)"); !a)
                return tl::unexpected(a.error());
        }
        auto p = pair_index(*symbol);
        if (!p)
            return tl::unexpected(p.error());
        const CurrencyPair& pair = pairs[*p];
        const std::string* side_text = find_in_entry(e, tag::kSide);
        if (side_text == nullptr)
            return fail(Reason::kNone, "Side (54) is missing in NoRelatedSym (146): 1 buys " +
                                           pair.base.to_string() + ", 2 sells it");
        if (*side_text != "1" && *side_text != "2")
            return fail(Reason::kNone, "Side (54) " + in_quotes(*side_text) + " is not 1 or 2");
        const bool buys_base = *side_text == "1";
        const std::string* qty_text = find_in_entry(e, tag::kOrderQty);
        if (qty_text == nullptr)
            return fail(Reason::kAmountInvalid, "OrderQty (38) is missing in NoRelatedSym (146)");
        Currency ccy = pair.base;
        if (const std::string* c = find_in_entry(e, tag::kCurrency)) {
            auto cc = currency(*c, tag::kCurrency);
            if (!cc)
                return tl::unexpected(cc.error());
            if (*cc != pair.base && *cc != pair.quote)
                return fail(Reason::kCurrencyMismatch, "Currency (15) " + in_quotes(*c) +
                                                           " is neither currency of " +
                                                           pair.to_string());
            ccy = *cc;
        }
        auto qty = amount(*qty_text, ccy, tag::kOrderQty, Reason::kAmountInvalid);
        if (!qty)
            return tl::unexpected(qty.error());
        WireMessage entry_view;
        entry_view.fields = e;
        auto vd = value_date(entry_view);
        if (!vd)
            return tl::unexpected(vd.error());
        engine::QuoteRequest q;
        q.psp = psp;
        q.client_id = *client_id;
        q.sell = buys_base ? pair.quote : pair.base;
        q.buy = buys_base ? pair.base : pair.quote;
        q.amount = money::Money{*qty, ccy};
        q.value_date = *vd;
        return engine::Command{std::move(q)};
    }

    Try<engine::Command> payout(engine::PspIndex psp, const WireMessage& m) {
        auto client_id = client_id_field(m, tag::kPayoutInstrId, Reason::kClientIdInvalid);
        if (!client_id)
            return tl::unexpected(client_id.error());
        if (auto a = own_account(psp, optional_field(m, tag::kAccount), "Account (1)"); !a)
            return tl::unexpected(a.error());
        auto ccy_text = required(m, tag::kCurrency, Reason::kUnknownCurrency);
        if (!ccy_text)
            return tl::unexpected(ccy_text.error());
        auto ccy = currency(*ccy_text, tag::kCurrency);
        if (!ccy)
            return tl::unexpected(ccy.error());
        auto amt_text = required(m, tag::kPayoutAmt, Reason::kAmountInvalid);
        if (!amt_text)
            return tl::unexpected(amt_text.error());
        auto amt = amount(*amt_text, *ccy, tag::kPayoutAmt, Reason::kAmountInvalid);
        if (!amt)
            return tl::unexpected(amt.error());
        engine::PayoutInstruction p;
        p.psp = psp;
        p.client_id = *client_id;
        p.amount = money::Money{*amt, *ccy};
        p.funding_currency = *ccy;
        if (auto f = optional_field(m, tag::kFundingCurrency)) {
            auto fc = currency(*f, tag::kFundingCurrency);
            if (!fc)
                return tl::unexpected(fc.error());
            p.funding_currency = *fc;
        }
        if (auto q = optional_field(m, tag::kQuoteId)) {
            auto id = parse_u64(*q);
            if (!id || *id == 0)
                return fail(Reason::kUnknownQuote,
                            "QuoteID (117) " + in_quotes(*q) + " is not a quote fxsettle issued");
            p.quote_id = *id;
        }
        const int bene_tags[] = {tag::kBeneficiaryBankId, tag::kBeneficiaryAccount,
                                 tag::kBeneficiaryName, tag::kBeneficiaryCountry};
        int bene_present = 0;
        for (int t : bene_tags)
            bene_present += m.find(t) != nullptr ? 1 : 0;
        const auto payee = optional_field(m, tag::kPayeeAccount);
        if (payee) {
            if (bene_present != 0)
                return fail(Reason::kBeneficiaryInvalid,
                            "PayeeAccount (7109) and Beneficiary fields (7105-7108) exclude each "
                            "other: pay another PSP or a beneficiary, not both");
            const auto idx = chart.psp_index(*payee);
            if (!idx)
                return fail(Reason::kPayeeInvalid, "PayeeAccount (7109) " + in_quotes(*payee) +
                                                       " is not a PSP of fxsettle");
            p.payee_psp = *idx;
        } else {
            for (int t : bene_tags) {
                if (m.find(t) == nullptr)
                    return fail(Reason::kBeneficiaryInvalid,
                                field_name(t) +
                                    " is missing: an external payout names BeneficiaryBankID, "
                                    "BeneficiaryAccount, BeneficiaryName and BeneficiaryCountry "
                                    "(or PayeeAccount for another PSP)");
            }
            p.beneficiary.bank_id = *m.find(tag::kBeneficiaryBankId);
            if (auto ok = text_bytes(p.beneficiary.bank_id, tag::kBeneficiaryBankId,
                                     kBankIdBytesMax, Reason::kUnknownBank);
                !ok)
                return tl::unexpected(ok.error());
            if (!chart.bank_index(p.beneficiary.bank_id))
                return fail(Reason::kUnknownBank, "BeneficiaryBankID (7105) " +
                                                      in_quotes(p.beneficiary.bank_id) +
                                                      " is not a bank of fxsettle");
            p.beneficiary.account = *m.find(tag::kBeneficiaryAccount);
            p.beneficiary.name = *m.find(tag::kBeneficiaryName);
            p.beneficiary.country = *m.find(tag::kBeneficiaryCountry);
            if (auto ok =
                    text_bytes(p.beneficiary.account, tag::kBeneficiaryAccount,
                               engine::kBeneficiaryAccountBytesMax, Reason::kBeneficiaryInvalid);
                !ok)
                return tl::unexpected(ok.error());
            if (auto ok = text_bytes(p.beneficiary.name, tag::kBeneficiaryName,
                                     engine::kBeneficiaryNameBytesMax, Reason::kBeneficiaryInvalid);
                !ok)
                return tl::unexpected(ok.error());
            const std::string& country = p.beneficiary.country;
            if (country.size() != 2 || !std::all_of(country.begin(), country.end(),
                                                    [](char c) { return c >= 'A' && c <= 'Z'; }))
                return fail(Reason::kBeneficiaryInvalid,
                            "BeneficiaryCountry (7108) " + in_quotes(country) +
                                " is not an ISO 3166 alpha-2 code (two upper-case letters)");
        }
        if (auto t = optional_field(m, tag::kPayoutPurpose)) {
            if (auto ok = text_bytes(*t, tag::kPayoutPurpose, engine::kPurposeBytesMax,
                                     Reason::kTextTooLong);
                !ok)
                return tl::unexpected(ok.error());
        }
        if (auto t = optional_field(m, tag::kPayoutReference)) {
            if (auto ok = text_bytes(*t, tag::kPayoutReference, engine::kReferenceBytesMax,
                                     Reason::kTextTooLong);
                !ok)
                return tl::unexpected(ok.error());
        }
        auto vd = value_date(m);
        if (!vd)
            return tl::unexpected(vd.error());
        p.value_date = *vd;
        p.purpose = optional_field(m, tag::kPayoutPurpose).value_or("");
        p.reference = optional_field(m, tag::kPayoutReference).value_or("");
        return engine::Command{std::move(p)};
    }

    Try<engine::Command> positions(engine::PspIndex psp, const WireMessage& m) {
        auto client_id = client_id_field(m, tag::kPosReqId, Reason::kClientIdInvalid);
        if (!client_id)
            return tl::unexpected(client_id.error());
        auto account = required(m, tag::kAccount, Reason::kUnknownPsp);
        if (!account)
            return tl::unexpected(account.error());
        if (auto a = own_account(psp, *account, "Account (1)"); !a)
            return tl::unexpected(a.error());
        if (auto t = optional_field(m, tag::kPosReqType); t && *t != "0")
            return fail(Reason::kNone, "PosReqType (724) " + in_quotes(*t) +
                                           ": fxsettle reports positions (0) only");
        // Positions are always today's: ClearingBusinessDate is checked only for sense, in
        // the window of TransactTime.
        if (auto d = optional_field(m, tag::kClearingBusinessDate)) {
            const auto date = parse_fix_date(*d);
            if (!date || *date < kTransactTimeEarliest || *date >= kTransactTimeLatest)
                return fail(Reason::kNone, "ClearingBusinessDate (715) " + in_quotes(*d) +
                                               " is not a date from 20000101 to 20991231");
        }
        engine::PositionRequest r;
        r.psp = psp;
        r.client_id = *client_id;
        if (auto c = optional_field(m, tag::kCurrency)) {
            auto cc = currency(*c, tag::kCurrency);
            if (!cc)
                return tl::unexpected(cc.error());
            r.currency = *cc;
        }
        return engine::Command{std::move(r)};
    }

    // ---- PSP replies --------------------------------------------------------------------
    WireMessage reply(engine::PspIndex psp, const WireMessage& request, Reason reason,
                      const std::string& text, ledger::Timestamp now, bool not_authorized) const {
        const std::string code = std::to_string(static_cast<int>(reason));
        const std::string& type = request.msg_type;
        // A client id that is not one (overlong, control bytes) is not echoed: "NONE".
        const auto get = [&](int t) -> std::optional<std::string> {
            auto v = optional_field(request, t);
            if (v && is_client_id_tag(t) && !check_client_id_text(*v, t))
                return std::string("NONE");
            return v;
        };
        if (type == "D" || type == "H") {
            const bool status = type == "H";
            const std::string cl = get(tag::kClOrdId).value_or("NONE");
            const std::string id = status ? get(tag::kOrdStatusReqId).value_or(cl) : cl;
            return order_reject_8(status, cl, status ? get(tag::kOrdStatusReqId) : std::nullopt, id,
                                  get(tag::kSymbol).value_or("NONE"), get(tag::kSide).value_or("1"),
                                  reason, text, now, not_authorized, chart.psp_id(psp));
        }
        if (type == "F" || type == "G") {
            return cancel_reject_9(type == "G", get(tag::kClOrdId).value_or("NONE"),
                                   get(tag::kOrigClOrdId).value_or("NONE"),
                                   get(tag::kOrderId).value_or("NONE"), '8', reason, text, now,
                                   chart.psp_id(psp));
        }
        if (type == "R") {
            std::string symbol = "NONE";
            if (const WireGroup* g = request.find_group(tag::kNoRelatedSym);
                g != nullptr && !g->entries.empty()) {
                if (const std::string* s = find_in_entry(g->entries.front(), tag::kSymbol))
                    symbol = *s;
            }
            return quote_reject_ag(get(tag::kQuoteReqId).value_or("NONE"), symbol, reason, text,
                                   not_authorized);
        }
        if (type == "U1") {
            WireMessage u2;
            u2.msg_type = "U2";
            if (auto c = get(tag::kCurrency))
                u2.add(tag::kCurrency, *c);
            u2.add(tag::kText, text)
                .add(tag::kTransactTime, format_utc_timestamp(now))
                .add(tag::kReasonCode, code)
                .add(tag::kPayoutInstrId, get(tag::kPayoutInstrId).value_or("NONE"))
                .add(tag::kPayoutStatusCode, "R");
            return u2;
        }
        if (type == "AN") {
            return positions_ack(get(tag::kPosReqId).value_or("NONE"), chart.psp_id(psp),
                                 not_authorized ? "3" : "1", "2", 0, reason, text);
        }
        return business_reject_impl(request, not_authorized ? 6 : 0, reason, text);
    }

    static int ord_rej_reason(Reason reason, bool not_authorized) {
        if (not_authorized)
            return 15;  // UNKNOWN_ACCOUNT
        switch (reason) {
            case Reason::kUnknownPair:
            case Reason::kUnknownCurrency:
                return 1;
            case Reason::kUnknownOrder:
                return 5;
            case Reason::kDuplicateClientId:
                return 6;
            case Reason::kQuantityInvalid:
            case Reason::kAmountInvalid:
                return 13;
            case Reason::kInsufficientFunds:
            case Reason::kCreditLimitExceeded:
            case Reason::kNetDebitCapExceeded:
            case Reason::kAggregateCapExceeded:
            case Reason::kShortPositionLimitExceeded:
                return 3;
            case Reason::kUnknownPsp:
                return 15;
            default:
                return 99;
        }
    }

    static WireMessage order_reject_8(bool status, const std::string& cl_ord_id,
                                      const std::optional<std::string>& status_req_id,
                                      const std::string& exec_key, const std::string& symbol,
                                      const std::string& side, Reason reason,
                                      const std::string& text, ledger::Timestamp now,
                                      bool not_authorized, const std::string& account) {
        WireMessage m;
        m.msg_type = "8";
        m.add(tag::kOrderId, "NONE").add(tag::kClOrdId, cl_ord_id);
        if (status_req_id)
            m.add(tag::kOrdStatusReqId, *status_req_id);
        m.add(tag::kExecId, (status ? "XS-" : "X-") + exec_key)
            .add(tag::kExecType, status ? "I" : "8")
            .add(tag::kOrdStatus, "8");
        if (!status)
            m.add(tag::kOrdRejReason, std::to_string(ord_rej_reason(reason, not_authorized)));
        m.add(tag::kReasonCode, std::to_string(static_cast<int>(reason)))
            .add(tag::kAccount, account)
            .add(tag::kSymbol, symbol)
            .add(tag::kSide, side)
            .add(tag::kLeavesQty, "0")
            .add(tag::kCumQty, "0")
            .add(tag::kAvgPx, "0")
            .add(tag::kTransactTime, format_utc_timestamp(now))
            .add(tag::kText, text);
        return m;
    }

    static WireMessage cancel_reject_9(bool replace, const std::string& cl_ord_id,
                                       const std::string& orig, const std::string& order_id,
                                       char ord_status, Reason reason, const std::string& text,
                                       ledger::Timestamp now, const std::string& account) {
        WireMessage m;
        m.msg_type = "9";
        m.add(tag::kOrderId, order_id)
            .add(tag::kClOrdId, cl_ord_id)
            .add(tag::kOrigClOrdId, orig)
            .add(tag::kOrdStatus, std::string(1, ord_status))
            .add(tag::kAccount, account)
            .add(tag::kTransactTime, format_utc_timestamp(now))
            .add(tag::kCxlRejResponseTo, replace ? "2" : "1");
        int cxl = 99;
        if (reason == Reason::kUnknownOrder)
            cxl = 1;
        else if (reason == Reason::kOrderDone)
            cxl = 0;
        else if (reason == Reason::kDuplicateClientId)
            cxl = 6;
        m.add(tag::kCxlRejReason, std::to_string(cxl))
            .add(tag::kReasonCode, std::to_string(static_cast<int>(reason)))
            .add(tag::kText, text);
        return m;
    }

    static WireMessage quote_reject_ag(const std::string& quote_req_id, const std::string& symbol,
                                       Reason reason, const std::string& text,
                                       bool not_authorized) {
        int r = 99;
        if (not_authorized || reason == Reason::kUnknownPsp)
            r = 6;
        else if (reason == Reason::kUnknownPair || reason == Reason::kUnknownCurrency ||
                 reason == Reason::kNoConversionPair)
            r = 1;
        else if (reason == Reason::kNoRate)
            r = 8;
        else if (reason == Reason::kInsufficientFunds || reason == Reason::kCreditLimitExceeded ||
                 reason == Reason::kNetDebitCapExceeded ||
                 reason == Reason::kAggregateCapExceeded ||
                 reason == Reason::kShortPositionLimitExceeded)
            r = 3;
        WireMessage m;
        m.msg_type = "AG";
        m.add(tag::kQuoteReqId, quote_req_id)
            .add(tag::kQuoteRequestRejectReason, std::to_string(r));
        m.groups.push_back(WireGroup{tag::kNoRelatedSym, {{WireField{tag::kSymbol, symbol}}}});
        m.add(tag::kReasonCode, std::to_string(static_cast<int>(reason))).add(tag::kText, text);
        return m;
    }

    static WireMessage positions_ack(const std::string& pos_req_id, const std::string& account,
                                     const std::string& result, const std::string& status,
                                     std::size_t reports, Reason reason, const std::string& text) {
        WireMessage m;
        m.msg_type = "AO";
        m.add(tag::kPosMaintRptId, "AO-" + pos_req_id)
            .add(tag::kPosReqId, pos_req_id)
            .add(tag::kTotalNumPosReports, std::to_string(reports))
            .add(tag::kPosReqResult, result)
            .add(tag::kPosReqStatus, status)
            .add(tag::kAccount, account);
        if (reason != Reason::kNone)
            m.add(tag::kReasonCode, std::to_string(static_cast<int>(reason)));
        if (!text.empty())
            m.add(tag::kText, text);
        return m;
    }

    static WireMessage business_reject_impl(const WireMessage& request, int business_reason,
                                            Reason reason, const std::string& text) {
        WireMessage m;
        m.msg_type = "j";
        m.add(tag::kRefMsgType, request.msg_type.empty() ? "?" : request.msg_type);
        const int id_tags[] = {tag::kClOrdId,  tag::kQuoteReqId,     tag::kPayoutInstrId,
                               tag::kPosReqId, tag::kPaymentOrderId, tag::kDepositRef,
                               tag::kMdReqId};
        for (int t : id_tags) {
            if (const std::string* v = request.find(t)) {
                m.add(tag::kBusinessRejectRefId,
                      !is_client_id_tag(t) || check_client_id_text(*v, t) ? *v : "NONE");
                break;
            }
        }
        m.add(tag::kBusinessRejectReason, std::to_string(business_reason));
        if (reason != Reason::kNone)
            m.add(tag::kReasonCode, std::to_string(static_cast<int>(reason)));
        m.add(tag::kText, text);
        return m;
    }
};

// ---- construction -------------------------------------------------------------------------

Result<Converter> Converter::create(const config::Config& config) {
    auto chart = engine::Chart::build(config);
    if (!chart)
        return tl::unexpected(chart.error());
    return Converter(std::make_unique<Impl>(config, std::move(*chart)));
}
Converter::Converter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Converter::Converter(Converter&&) noexcept = default;
Converter& Converter::operator=(Converter&&) noexcept = default;
Converter::~Converter() = default;

const money::CurrencyPair& Converter::pair(engine::PairIndex pair) const {
    return impl_->pairs.at(pair);
}
const engine::Chart& Converter::chart() const {
    return impl_->chart;
}

WireMessage Converter::business_reject(const WireMessage& request, int business_reason,
                                       engine::Reason reason, std::string text) {
    return Impl::business_reject_impl(request, business_reason, reason, text);
}

WireMessage Converter::reject_reply(engine::PspIndex psp, const WireMessage& request,
                                    engine::Reason reason, std::string text, ledger::Timestamp now,
                                    bool not_authorized) const {
    return impl_->reply(psp, request, reason, text, now, not_authorized);
}

// ---- inbound: PSP -------------------------------------------------------------------------

Inbound Converter::from_psp(engine::PspIndex psp, const WireMessage& message,
                            ledger::Timestamp now) {
    FXSETTLE_ASSERT(psp < impl_->chart.psp_count(), "from_psp: PSP index outside the chart");
    Inbound in;
    const std::string& type = message.msg_type;
    Try<engine::Command> command = fail(Reason::kNone, "");
    const bool request = type == "D" || type == "F" || type == "G" || type == "H" || type == "R" ||
                         type == "U1" || type == "AN";
    const std::string* text = message.find(tag::kText);
    Try<bool> time_ok = request ? check_transact_time(message) : Try<bool>{true};
    if (request && text != nullptr && text->size() > kPspTextBytesMax) {
        command =
            fail(Reason::kTextTooLong, "Text (58): " + std::to_string(text->size()) +
                                           " bytes; at most " + std::to_string(kPspTextBytesMax));
    } else if (!time_ok) {
        command = tl::unexpected(time_ok.error());
    } else if (type == "D") {
        command = impl_->new_order(psp, message);
    } else if (type == "F") {
        command = impl_->cancel_or_replace(psp, message, false);
    } else if (type == "G") {
        command = impl_->cancel_or_replace(psp, message, true);
    } else if (type == "H") {
        command = impl_->status_request(psp, message);
    } else if (type == "R") {
        command = impl_->quote_request(psp, message);
    } else if (type == "U1") {
        command = impl_->payout(psp, message);
    } else if (type == "AN") {
        command = impl_->positions(psp, message);
    } else if (type == "j") {
        in.note = "BusinessMessageReject from PSP " + impl_->chart.psp_id(psp) + ": RefMsgType " +
                  optional_field(message, tag::kRefMsgType).value_or("?") + ", reason " +
                  optional_field(message, tag::kBusinessRejectReason).value_or("?") + ": " +
                  optional_field(message, tag::kText).value_or("");
        return in;
    } else {
        in.reason = Reason::kNone;
        in.text = "MsgType " + in_quotes(type) + " is not accepted from a PSP";
        in.reply = Impl::business_reject_impl(message, 3, Reason::kNone, in.text);
        in.note = in.text;
        return in;
    }
    if (command) {
        in.commands.push_back(std::move(*command));
        return in;
    }
    Fail f = std::move(command.error());
    // A field with no engine reason of its own (Side, PosReqType: the dictionary already
    // refuses what is wrong with them) reports amount_invalid; the Text names the field.
    in.reason = f.reason == Reason::kNone ? Reason::kAmountInvalid : f.reason;
    in.text = std::move(f.text);
    in.authorization_breach = f.breach;
    in.reply = impl_->reply(psp, message, in.reason, in.text, now, f.breach);
    return in;
}

// ---- inbound: venue -----------------------------------------------------------------------

Inbound Converter::from_venue(engine::VenueIndex venue, const WireMessage& message,
                              ledger::Timestamp now) {
    Impl& im = *impl_;
    Inbound in;
    const std::string venue_name =
        venue < im.chart.venue_count() ? im.chart.venue_id(venue) : std::to_string(venue);
    const auto noted = [&](std::string text) {
        in.note = "venue " + venue_name + " " + message.msg_type + ": " + std::move(text);
        return in;
    };
    if (venue >= im.chart.venue_count())
        return noted("venue index outside the config");
    const std::string& type = message.msg_type;
    ledger::Timestamp time = now;
    if (auto t = parse_utc_timestamp(message.sending_time))
        time = *t;

    // Reads one market data entry's price and size on `pair`.
    using Level = std::pair<Rate, Amount>;
    const auto read_entry = [&](const std::vector<WireField>& e,
                                const CurrencyPair& pair) -> tl::expected<Level, std::string> {
        const std::string* px = find_in_entry(e, tag::kMdEntryPx);
        if (px == nullptr)
            return tl::unexpected(std::string("MDEntryPx (270) is missing"));
        auto r = Rate::parse(pair, *px);
        if (!r)
            return tl::unexpected("MDEntryPx (270): " + r.error().message());
        Amount size;
        if (const std::string* sz = find_in_entry(e, tag::kMdEntrySize)) {
            auto a = money::parse_amount(*sz, pair.base);
            if (!a)
                return tl::unexpected("MDEntrySize (271): " + a.error().message());
            if (a->is_negative())
                return tl::unexpected("MDEntrySize (271) " + in_quotes(*sz) + " is negative");
            size = *a;
        }
        return Level{*r, size};
    };
    const auto emit_rate = [&](std::size_t p, const Side2& top) {
        if (!top.bid || !top.ask)
            return;
        engine::VenueRate r{
            venue,           im.pairs[p], top.bid->first, top.ask->first, top.bid->second,
            top.ask->second, time};
        in.commands.push_back(std::move(r));
    };

    if (type == "W") {
        auto symbol = required(message, tag::kSymbol);
        if (!symbol)
            return noted(symbol.error().text);
        auto p = im.pair_index(*symbol);
        if (!p)
            return noted(p.error().text);
        const WireGroup* g = message.find_group(tag::kNoMdEntries);
        if (g == nullptr)
            return noted("NoMDEntries (268) is missing");
        if (g->entries.size() > kMarketDataEntriesMax)
            return noted("NoMDEntries (268) has " + std::to_string(g->entries.size()) +
                         " entries; at most " + std::to_string(kMarketDataEntriesMax));
        Side2 top;
        for (const auto& e : g->entries) {
            const std::string* et = find_in_entry(e, tag::kMdEntryType);
            if (et == nullptr || (*et != "0" && *et != "1"))
                continue;  // trades, index values, ...: not prices fxsettle hedges at
            auto v = read_entry(e, im.pairs[*p]);
            if (!v)
                return noted(v.error());
            auto& slot = *et == "0" ? top.bid : top.ask;
            const bool better =
                !slot || (*et == "0" ? v->first.mantissa() > slot->first.mantissa()
                                     : v->first.mantissa() < slot->first.mantissa());
            if (better)
                slot = *v;
        }
        {
            std::lock_guard lock(im.mu);
            im.tops[{venue, *p}] = top;
        }
        emit_rate(*p, top);
        if (in.commands.empty())
            in.note = "venue " + venue_name + " W " + *symbol + ": no two-way price";
        return in;
    }
    if (type == "X") {
        const WireGroup* g = message.find_group(tag::kNoMdEntries);
        if (g == nullptr)
            return noted("NoMDEntries (268) is missing");
        if (g->entries.size() > kMarketDataEntriesMax)
            return noted("NoMDEntries (268) has " + std::to_string(g->entries.size()) +
                         " entries; at most " + std::to_string(kMarketDataEntriesMax));
        // Apply to a copy of the touched books first, so a bad entry changes nothing.
        std::map<std::size_t, Side2> touched;
        std::optional<std::size_t> current;
        {
            std::lock_guard lock(im.mu);
            for (const auto& e : g->entries) {
                if (const std::string* s = find_in_entry(e, tag::kSymbol)) {
                    auto p = im.pair_index(*s);
                    if (!p)
                        return noted(p.error().text);
                    current = *p;
                }
                if (!current)
                    return noted("the first entry of NoMDEntries (268) names no Symbol (55)");
                if (!touched.contains(*current)) {
                    auto it = im.tops.find({venue, *current});
                    touched[*current] = it == im.tops.end() ? Side2{} : it->second;
                }
                const std::string* et = find_in_entry(e, tag::kMdEntryType);
                if (et == nullptr || (*et != "0" && *et != "1"))
                    continue;
                auto& slot = *et == "0" ? touched[*current].bid : touched[*current].ask;
                const std::string* action = find_in_entry(e, tag::kMdUpdateAction);
                if (action != nullptr && *action == "2") {
                    slot.reset();
                    continue;
                }
                auto v = read_entry(e, im.pairs[*current]);
                if (!v)
                    return noted(v.error());
                slot = *v;
            }
            for (const auto& [p, top] : touched)
                im.tops[{venue, p}] = top;
        }
        for (const auto& [p, top] : touched)
            emit_rate(p, top);
        return in;
    }
    if (type == "8") {
        auto cl = required(message, tag::kClOrdId);
        if (!cl)
            return noted(cl.error().text);
        const auto hedge = parse_hedge_cl_ord_id(*cl);
        if (!hedge)
            return noted("ClOrdID (11) " + in_quotes(*cl) + " is not a hedge order (HG-<id>)");
        const std::string exec_type = optional_field(message, tag::kExecType).value_or("");
        const std::string ord_status = optional_field(message, tag::kOrdStatus).value_or("");
        const std::string text = optional_field(message, tag::kText).value_or("");
        const bool done = ord_status == "2" || ord_status == "3" || ord_status == "4" ||
                          ord_status == "C" || ord_status == "8";
        if (exec_type == "F") {
            auto symbol = required(message, tag::kSymbol);
            if (!symbol)
                return noted(symbol.error().text);
            auto p = im.pair_index(*symbol);
            if (!p)
                return noted(p.error().text);
            const CurrencyPair& pair = im.pairs[*p];
            auto exec_id = required(message, tag::kExecId);
            if (!exec_id)
                return noted(exec_id.error().text);
            auto qty_text = required(message, tag::kLastQty);
            if (!qty_text)
                return noted(qty_text.error().text);
            auto qty = Impl::amount(*qty_text, pair.base, tag::kLastQty, Reason::kAmountInvalid);
            if (!qty)
                return noted(qty.error().text);
            auto px_text = required(message, tag::kLastPx);
            if (!px_text)
                return noted(px_text.error().text);
            auto px = Impl::rate(*px_text, pair, tag::kLastPx);
            if (!px)
                return noted(px.error().text);
            in.commands.push_back(engine::HedgeFill{venue, *hedge, *exec_id, *qty, *px, done});
            return in;
        }
        if (exec_type == "8") {
            in.commands.push_back(engine::HedgeReject{
                venue, *hedge,
                text.empty() ? "rejected, OrdRejReason " +
                                   optional_field(message, tag::kOrdRejReason).value_or("?")
                             : text});
            return in;
        }
        if (exec_type == "3" || exec_type == "4" || exec_type == "C" ||
            (exec_type == "I" && (ord_status == "4" || ord_status == "C" || ord_status == "8"))) {
            in.commands.push_back(engine::HedgeReject{venue, *hedge,
                                                      "the venue ended the order (ExecType " +
                                                          exec_type + ", OrdStatus " + ord_status +
                                                          ")" + (text.empty() ? "" : ": " + text)});
            return in;
        }
        return noted(*cl + " ExecType " + exec_type + " OrdStatus " + ord_status +
                     ": nothing to apply");
    }
    if (type == "Y") {
        return noted("MarketDataRequestReject MDReqID " +
                     optional_field(message, tag::kMdReqId).value_or("?") + ", reason " +
                     optional_field(message, tag::kMdReqRejReason).value_or("?") + ": " +
                     optional_field(message, tag::kText).value_or(""));
    }
    if (type == "j") {
        return noted("BusinessMessageReject RefMsgType " +
                     optional_field(message, tag::kRefMsgType).value_or("?") + ", ref " +
                     optional_field(message, tag::kBusinessRejectRefId).value_or("?") +
                     ", reason " +
                     optional_field(message, tag::kBusinessRejectReason).value_or("?") + ": " +
                     optional_field(message, tag::kText).value_or(""));
    }
    return noted("MsgType " + in_quotes(type) + " is not expected from a venue");
}

// ---- inbound: bank ------------------------------------------------------------------------

Inbound Converter::from_bank(engine::BankIndex bank, const WireMessage& message,
                             ledger::Timestamp /*now*/) {
    Impl& im = *impl_;
    Inbound in;
    const std::string bank_name =
        bank < im.chart.bank_count() ? im.chart.bank_id(bank) : std::to_string(bank);
    const auto refused = [&](Reason reason, std::string text) {
        in.reason = reason;
        in.text = std::move(text);
        in.note = "bank " + bank_name + " " + message.msg_type + " refused: " + in.text;
        in.commands.clear();
        return in;
    };
    if (bank >= im.chart.bank_count())
        return refused(Reason::kUnknownBank, "bank index outside the config");
    const std::string& type = message.msg_type;
    if (type == "U4") {
        auto id_text = required(message, tag::kPaymentOrderId);
        if (!id_text)
            return refused(Reason::kUnknownBank, id_text.error().text);
        const auto order = parse_payment_order_id(*id_text);
        if (!order)
            return refused(Reason::kUnknownBank, "PaymentOrderID (7200) " + in_quotes(*id_text) +
                                                     " is not a payment order of fxsettle "
                                                     "(PO-<id>)");
        const WireGroup* g = message.find_group(tag::kNoPaymentLineStatus);
        if (g == nullptr || g->entries.empty())
            return refused(Reason::kUnknownBank, "NoPaymentLineStatus (7208) is missing");
        const std::string order_ref = optional_field(message, tag::kBankReference).value_or("");
        std::optional<std::string> confirm_ref;
        std::vector<engine::Command> rejections;
        for (const auto& e : g->entries) {
            const std::string* line_text = find_in_entry(e, tag::kPaymentLineNo);
            const std::string* status = find_in_entry(e, tag::kPaymentLineStatus);
            if (line_text == nullptr)
                return refused(Reason::kUnknownBank, "PaymentLineNo (7203) is missing");
            const auto line = parse_u64(*line_text);
            if (!line || *line > 0xFFFF'FFFFull)
                return refused(
                    Reason::kUnknownBank,
                    "PaymentLineNo (7203) " + in_quotes(*line_text) + " is not a line index");
            if (status == nullptr)
                return refused(Reason::kUnknownBank, "PaymentLineStatus (7209) is missing");
            const std::string* ref = find_in_entry(e, tag::kBankReference);
            if (*status == "R") {
                const std::string* code = find_in_entry(e, tag::kBankRejectCode);
                const std::string* text = find_in_entry(e, tag::kText);
                std::string why = code != nullptr ? *code : "rejected";
                if (text != nullptr && !text->empty())
                    why += ": " + *text;
                rejections.push_back(engine::BankLineRejection{
                    bank, *order, static_cast<std::uint32_t>(*line), std::move(why)});
            } else if (*status == "C") {
                std::string reference = ref != nullptr ? *ref : order_ref;
                if (order_ref.empty() &&
                    push_line_confirmation(in.commands, bank, *order,
                                           static_cast<std::uint32_t>(*line), reference))
                    continue;
                if (!confirm_ref)
                    confirm_ref = order_ref.empty() ? reference : order_ref;
            } else {
                return refused(Reason::kUnknownBank,
                               "PaymentLineStatus (7209) " + in_quotes(*status) + " is not C or R");
            }
        }
        // Rejections first, so a whole-order confirmation settles only the other lines.
        std::vector<engine::Command> out = std::move(rejections);
        for (auto& c : in.commands)
            out.push_back(std::move(c));
        if (confirm_ref)
            out.push_back(engine::BankConfirmation{bank, *order, *confirm_ref});
        in.commands = std::move(out);
        return in;
    }
    if (type == "U6") {
        auto account = required(message, tag::kAccount);
        if (!account)
            return refused(Reason::kUnknownPsp, account.error().text);
        const auto psp = im.chart.psp_index(*account);
        if (!psp)
            return refused(Reason::kUnknownPsp,
                           "Account (1) " + in_quotes(*account) + " is not a PSP of fxsettle");
        auto ref = required(message, tag::kDepositRef);
        if (!ref)
            return refused(Reason::kClientIdInvalid, ref.error().text);
        auto ccy_text = required(message, tag::kCurrency);
        if (!ccy_text)
            return refused(Reason::kUnknownCurrency, ccy_text.error().text);
        auto ccy = im.currency(*ccy_text, tag::kCurrency);
        if (!ccy)
            return refused(ccy.error().reason, ccy.error().text);
        auto amt_text = required(message, tag::kDepositAmt);
        if (!amt_text)
            return refused(Reason::kAmountInvalid, amt_text.error().text);
        auto amt = Impl::amount(*amt_text, *ccy, tag::kDepositAmt, Reason::kAmountInvalid);
        if (!amt)
            return refused(amt.error().reason, amt.error().text);
        in.commands.push_back(engine::Deposit{*psp, *ref, bank, money::Money{*amt, *ccy}});
        return in;
    }
    if (type == "j") {
        in.note = "bank " + bank_name + " BusinessMessageReject RefMsgType " +
                  optional_field(message, tag::kRefMsgType).value_or("?") + ", ref " +
                  optional_field(message, tag::kBusinessRejectRefId).value_or("?") + ": " +
                  optional_field(message, tag::kText).value_or("");
        return in;
    }
    return refused(Reason::kUnknownBank,
                   "MsgType " + in_quotes(type) + " is not expected from a bank");
}

// ---- outbound -----------------------------------------------------------------------------

namespace {
std::string fmt(const Amount& a, const Currency& c) {
    return money::format_amount(a, c);
}
}  // namespace

Outbound Converter::to_wire(const engine::Event& event, ledger::Timestamp now) {
    Impl& im = *impl_;
    const std::string ts = format_utc_timestamp(now);
    const auto psp_dest = [](engine::PspIndex psp) { return Destination{Peer::kPsp, psp}; };
    const auto nowhere = [](std::string why) {
        Outbound o;
        o.note = std::move(why);
        return o;
    };
    const auto account = [&](engine::PspIndex psp) {
        return psp < im.chart.psp_count() ? im.chart.psp_id(psp) : std::to_string(psp);
    };
    const auto fallback_j = [&](engine::PspIndex psp, const std::string& ref_type,
                                const std::string& ref_id, Reason reason, const std::string& text) {
        WireMessage req;
        req.msg_type = ref_type;
        WireMessage j = Impl::business_reject_impl(req, 0, reason, text);
        j.fields.insert(j.fields.begin() + 1, WireField{tag::kBusinessRejectRefId, ref_id});
        Outbound o;
        o.to = Destination{Peer::kPsp, psp};
        o.messages.push_back(std::move(j));
        o.note = "the Symbol and Side of " + ref_id +
                 " are no longer known: sent as BusinessMessageReject";
        return o;
    };
    const auto pair_text = [](const CurrencyPair& p) { return p.to_string(); };
    // An amount of the base currency of a remembered Symbol.
    const auto base_text = [&](const std::string& symbol, const Amount& a) {
        auto p = im.pair_index(symbol);
        return p ? fmt(a, im.pairs[*p].base) : a.to_string();
    };

    return std::visit(
        [&](const auto& e) -> Outbound {
            using E = std::decay_t<decltype(e)>;
            // PayoutStatus (U2) of an accepted or settled payout `p`: `funding` is what was
            // held at acceptance or paid at settlement, in the funding currency.
            const auto payout_status_u2 = [&](const auto& p, const char* status,
                                              const money::Money& funding) {
                WireMessage m;
                m.msg_type = "U2";
                m.add(tag::kCurrency, p.amount.currency.to_string());
                if (p.rate)
                    m.add(tag::kSymbol, pair_text(p.rate->pair()));
                m.add(tag::kSettlDate, format_fix_date(p.value_date))
                    .add(tag::kTransactTime, ts)
                    .add(tag::kPayoutInstrId, p.client_id)
                    .add(tag::kPayoutId, u64_text(p.payout_id))
                    .add(tag::kPayoutAmt, fmt(p.amount.amount, p.amount.currency))
                    .add(tag::kFundingCurrency, funding.currency.to_string())
                    .add(tag::kFundingAmt, fmt(funding.amount, funding.currency))
                    .add(tag::kPayoutStatusCode, status);
                if (p.rate)
                    m.add(tag::kPayoutRate, p.rate->to_string());
                return m;
            };
            if constexpr (std::is_same_v<E, engine::OrderAccepted>) {
                im.remember(e.psp, Family::kOrder, e.client_id,
                            Remembered{pair_text(e.pair), side_char(e.side), e.order_id, '0'},
                            true);
                WireMessage m;
                m.msg_type = "8";
                m.add(tag::kOrderId, u64_text(e.order_id))
                    .add(tag::kClOrdId, e.client_id)
                    .add(tag::kExecId, "N" + u64_text(e.order_id))
                    .add(tag::kExecType, "0")
                    .add(tag::kOrdStatus, "0")
                    .add(tag::kAccount, account(e.psp))
                    .add(tag::kSymbol, pair_text(e.pair))
                    .add(tag::kProduct, "4")
                    .add(tag::kSide, std::string(1, side_char(e.side)))
                    .add(tag::kOrderQty, fmt(e.quantity, e.pair.base))
                    .add(tag::kOrdType, e.type == engine::book::OrderType::kLimit ? "2" : "1");
                if (e.price)
                    m.add(tag::kPrice, e.price->to_string());
                m.add(tag::kCurrency, e.pair.base.to_string())
                    .add(tag::kTimeInForce, tif_text(e.tif))
                    .add(tag::kLeavesQty, fmt(e.quantity, e.pair.base))
                    .add(tag::kCumQty, "0")
                    .add(tag::kAvgPx, "0")
                    .add(tag::kSettlDate, format_fix_date(e.value_date))
                    .add(tag::kTransactTime, ts);
                return Outbound{psp_dest(e.psp), {std::move(m)}, {}};
            } else if constexpr (std::is_same_v<E, engine::OrderFilled>) {
                const char status = e.leaves.is_zero() ? '2' : '1';
                im.remember(e.psp, Family::kOrder, e.client_id,
                            Remembered{pair_text(e.pair), side_char(e.side), e.order_id, status},
                            true);
                WireMessage m;
                m.msg_type = "8";
                m.add(tag::kOrderId, u64_text(e.order_id))
                    .add(tag::kClOrdId, e.client_id)
                    .add(tag::kTrdMatchId, u64_text(e.trade_id))
                    .add(tag::kExecId, "F" + u64_text(e.order_id) + "-" + u64_text(e.trade_id))
                    .add(tag::kExecType, "F")
                    .add(tag::kOrdStatus, std::string(1, status))
                    .add(tag::kAccount, account(e.psp))
                    .add(tag::kSymbol, pair_text(e.pair))
                    .add(tag::kProduct, "4")
                    .add(tag::kSide, std::string(1, side_char(e.side)))
                    .add(tag::kOrderQty, fmt(e.cum_quantity + e.leaves, e.pair.base))
                    .add(tag::kCurrency, e.pair.base.to_string())
                    .add(tag::kLastQty, fmt(e.quantity, e.pair.base))
                    .add(tag::kLastPx, e.price.to_string())
                    .add(tag::kContraAmt, fmt(e.quote_amount, e.pair.quote))
                    .add(tag::kContraCurrency, e.pair.quote.to_string())
                    .add(tag::kLeavesQty, fmt(e.leaves, e.pair.base))
                    .add(tag::kCumQty, fmt(e.cum_quantity, e.pair.base))
                    // The engine's average of the order's fills; an event of an outbox row
                    // written before it reported one (codec version 2 and older) has it
                    // only on the order's first fill, where it is LastPx, and 0 after.
                    .add(tag::kAvgPx, e.avg_price                    ? e.avg_price->to_string()
                                      : e.cum_quantity == e.quantity ? e.price.to_string()
                                                                     : "0")
                    .add(tag::kSettlDate, format_fix_date(e.value_date))
                    .add(tag::kTransactTime, ts)
                    .add(tag::kText, e.maker ? "maker" : "taker");
                return Outbound{psp_dest(e.psp), {std::move(m)}, {}};
            } else if constexpr (std::is_same_v<E, engine::OrderCancelled>) {
                const bool expired = e.reason == engine::book::CancelReason::kExpired;
                const char status = expired ? 'C' : '4';
                // Symbol and Side from the event; only an event of a version-1 outbox row
                // (written before the engine added them) falls back on the memory.
                std::optional<Remembered> r;
                if (e.pair && e.side)
                    r = Remembered{pair_text(*e.pair), side_char(*e.side), e.order_id, status};
                if (!r)
                    r = im.recall(e.psp, Family::kOrder, e.orig_client_id);
                if (!r)
                    r = im.recall(e.psp, Family::kOrder, e.client_id);
                const std::string text =
                    std::string("cancelled: ") +
                    std::string(engine::book::cancel_reason_name(e.reason)) +
                    (e.released.amount.is_zero() ? std::string()
                                                 : ", released " + money::format_money(e.released));
                if (!r)
                    return fallback_j(
                        e.psp, "F", e.client_id, Reason::kNone,
                        "order " + e.orig_client_id + " (" + u64_text(e.order_id) + ") " + text);
                im.update_status(e.psp, e.orig_client_id, status);
                WireMessage m;
                m.msg_type = "8";
                m.add(tag::kOrderId, u64_text(e.order_id)).add(tag::kClOrdId, e.client_id);
                if (e.orig_client_id != e.client_id)
                    m.add(tag::kOrigClOrdId, e.orig_client_id);
                m.add(tag::kExecId, "C" + u64_text(e.order_id))
                    .add(tag::kExecType, std::string(1, status))
                    .add(tag::kOrdStatus, std::string(1, status))
                    .add(tag::kAccount, account(e.psp))
                    .add(tag::kSymbol, r->symbol)
                    .add(tag::kProduct, "4")
                    .add(tag::kSide, std::string(1, r->side))
                    .add(tag::kLeavesQty, "0")
                    .add(tag::kCumQty, e.pair ? fmt(e.cum_quantity, e.pair->base)
                                              : base_text(r->symbol, e.cum_quantity))
                    .add(tag::kAvgPx, "0")
                    .add(tag::kTransactTime, ts)
                    .add(tag::kText, text);
                return Outbound{psp_dest(e.psp), {std::move(m)}, {}};
            } else if constexpr (std::is_same_v<E, engine::OrderReplaced>) {
                // Symbol from the price's pair, Side from the event; only an event of a
                // version-1 outbox row (no side) falls back on the memory.
                std::optional<Remembered> r;
                if (e.side)
                    r = Remembered{pair_text(e.price.pair()), side_char(*e.side), e.order_id, '0'};
                if (!r)
                    r = im.recall(e.psp, Family::kOrder, e.orig_client_id);
                if (!r)
                    r = im.recall(e.psp, Family::kOrder, e.client_id);
                if (!r)
                    return fallback_j(
                        e.psp, "G", e.client_id, Reason::kNone,
                        "order " + e.orig_client_id + " replaced: price " + e.price.to_string());
                const CurrencyPair& pair = e.price.pair();
                const Amount cum = e.quantity - e.leaves;
                const char status = cum.is_positive() ? '1' : '0';
                im.remember(e.psp, Family::kOrder, e.client_id,
                            Remembered{r->symbol, r->side, e.order_id, status}, true);
                WireMessage m;
                m.msg_type = "8";
                m.add(tag::kOrderId, u64_text(e.order_id))
                    .add(tag::kClOrdId, e.client_id)
                    .add(tag::kOrigClOrdId, e.orig_client_id)
                    .add(tag::kExecId, "R" + u64_text(e.order_id) + "-" + e.client_id)
                    .add(tag::kExecType, "5")
                    .add(tag::kOrdStatus, std::string(1, status))
                    .add(tag::kAccount, account(e.psp))
                    .add(tag::kSymbol, r->symbol)
                    .add(tag::kProduct, "4")
                    .add(tag::kSide, std::string(1, r->side))
                    .add(tag::kOrderQty, fmt(e.quantity, pair.base))
                    .add(tag::kOrdType, "2")
                    .add(tag::kPrice, e.price.to_string())
                    .add(tag::kCurrency, pair.base.to_string())
                    .add(tag::kLeavesQty, fmt(e.leaves, pair.base))
                    .add(tag::kCumQty, fmt(cum, pair.base))
                    .add(tag::kAvgPx, "0")
                    .add(tag::kTransactTime, ts)
                    .add(tag::kText, e.priority_kept ? "priority kept" : "priority lost");
                return Outbound{psp_dest(e.psp), {std::move(m)}, {}};
            } else if constexpr (std::is_same_v<E, engine::OrderStatusReport>) {
                const char status = ord_status_char(e.state);
                im.remember(e.psp, Family::kOrder, e.order_client_id,
                            Remembered{pair_text(e.pair), side_char(e.side), e.order_id, status},
                            true);
                WireMessage m;
                m.msg_type = "8";
                m.add(tag::kOrderId, u64_text(e.order_id)).add(tag::kClOrdId, e.order_client_id);
                if (e.client_id != e.order_client_id)
                    m.add(tag::kOrdStatusReqId, e.client_id);
                m.add(tag::kExecId, "S" + u64_text(e.order_id) + "-" + e.client_id)
                    .add(tag::kExecType, "I")
                    .add(tag::kOrdStatus, std::string(1, status))
                    .add(tag::kAccount, account(e.psp))
                    .add(tag::kSymbol, pair_text(e.pair))
                    .add(tag::kProduct, "4")
                    .add(tag::kSide, std::string(1, side_char(e.side)))
                    .add(tag::kOrderQty, fmt(e.quantity, e.pair.base));
                if (e.price)
                    m.add(tag::kPrice, e.price->to_string());
                m.add(tag::kCurrency, e.pair.base.to_string())
                    .add(tag::kLeavesQty, fmt(e.leaves, e.pair.base))
                    .add(tag::kCumQty, fmt(e.cum_quantity, e.pair.base))
                    .add(tag::kAvgPx, "0")
                    .add(tag::kTransactTime, ts);
                return Outbound{psp_dest(e.psp), {std::move(m)}, {}};
            } else if constexpr (std::is_same_v<E, engine::OrderRejected>) {
                const std::string reason_text =
                    e.text.empty() ? std::string(engine::reason_name(e.reason)) : e.text;
                if (e.request == engine::RequestKind::kCancel ||
                    e.request == engine::RequestKind::kReplace) {
                    // OrderID and OrdStatus from the event when the engine knows the order.
                    // Without them: an order the engine does not know (kUnknownOrder) is
                    // NONE / 8; any other reason means an event of a version-1 outbox row
                    // (a version-2 engine fills them for every order it knows), for which
                    // the memory of the order is all there is.
                    std::string order_id = "NONE";
                    char ord_status = '8';
                    if (e.order_id && e.order_state) {
                        order_id = u64_text(*e.order_id);
                        ord_status = ord_status_char(*e.order_state);
                    } else if (e.reason != Reason::kUnknownOrder) {
                        const auto order = im.recall(e.psp, Family::kOrder, e.orig_client_id);
                        if (order && order->order_id != 0) {
                            order_id = u64_text(order->order_id);
                            ord_status = order->ord_status;
                        }
                    }
                    WireMessage m = Impl::cancel_reject_9(
                        e.request == engine::RequestKind::kReplace, e.client_id,
                        e.orig_client_id.empty() ? "NONE" : e.orig_client_id, order_id, ord_status,
                        e.reason, reason_text, now, account(e.psp));
                    return Outbound{psp_dest(e.psp), {std::move(m)}, {}};
                }
                const bool status = e.request == engine::RequestKind::kOrderStatus;
                // Symbol and Side from the event (a new order's own, or the known order's);
                // else (a status request for an unknown order, an event of a version-1
                // outbox row) from the memory of the request.
                std::optional<Remembered> r;
                if (e.pair && e.side)
                    r = Remembered{pair_text(*e.pair), side_char(*e.side), 0, '8'};
                if (!r)
                    r = im.recall(e.psp, status ? Family::kStatus : Family::kOrder, e.client_id);
                if (!r)
                    return fallback_j(e.psp, status ? "H" : "D", e.client_id, e.reason,
                                      reason_text);
                const std::string cl = status ? e.orig_client_id : e.client_id;
                std::optional<std::string> status_id;
                if (status && e.client_id != e.orig_client_id)
                    status_id = e.client_id;
                WireMessage m = Impl::order_reject_8(
                    status, cl, status_id, e.client_id, r->symbol, std::string(1, r->side),
                    e.reason, reason_text, now, e.reason == Reason::kUnknownPsp, account(e.psp));
                return Outbound{psp_dest(e.psp), {std::move(m)}, {}};
            } else if constexpr (std::is_same_v<E, engine::QuoteIssued>) {
                const CurrencyPair& pair = e.rate.pair();
                const bool buys_base = e.buy == pair.base;
                const money::Money& base_amt = buys_base ? e.buy_amount : e.sell_amount;
                const money::Money& quote_amt = buys_base ? e.sell_amount : e.buy_amount;
                WireMessage m;
                m.msg_type = "S";
                m.add(tag::kQuoteReqId, e.client_id)
                    .add(tag::kQuoteId, u64_text(e.quote_id))
                    .add(tag::kAccount, account(e.psp))
                    .add(tag::kSymbol, pair_text(pair))
                    .add(tag::kProduct, "4")
                    .add(tag::kSide, buys_base ? "1" : "2")
                    .add(tag::kOrderQty, fmt(base_amt.amount, base_amt.currency))
                    .add(tag::kSettlDate, format_fix_date(e.value_date))
                    .add(tag::kCurrency, base_amt.currency.to_string())
                    .add(buys_base ? tag::kOfferPx : tag::kBidPx, e.rate.to_string())
                    .add(tag::kContraAmt, fmt(quote_amt.amount, quote_amt.currency))
                    .add(tag::kContraCurrency, quote_amt.currency.to_string())
                    .add(tag::kValidUntilTime, format_utc_timestamp(e.valid_until))
                    .add(tag::kTransactTime, ts);
                return Outbound{psp_dest(e.psp), {std::move(m)}, {}};
            } else if constexpr (std::is_same_v<E, engine::QuoteRejected>) {
                const std::string text =
                    e.text.empty() ? std::string(engine::reason_name(e.reason)) : e.text;
                // The Symbol from the event; else (currencies no pair converts, an event of
                // a version-1 outbox row) from the memory of the request.
                std::optional<std::string> symbol;
                if (e.pair)
                    symbol = pair_text(*e.pair);
                else if (const auto r = im.recall(e.psp, Family::kQuote, e.client_id))
                    symbol = r->symbol;
                if (!symbol)
                    return fallback_j(e.psp, "R", e.client_id, e.reason, text);
                return Outbound{
                    psp_dest(e.psp),
                    {Impl::quote_reject_ag(e.client_id, *symbol, e.reason, text, false)},
                    {}};
            } else if constexpr (std::is_same_v<E, engine::PayoutAccepted>) {
                WireMessage m = payout_status_u2(e, "A", e.held);
                m.add(tag::kRateLocked, e.rate_locked ? "Y" : "N");
                return Outbound{psp_dest(e.psp), {std::move(m)}, {}};
            } else if constexpr (std::is_same_v<E, engine::PayoutRejected>) {
                WireMessage m;
                m.msg_type = "U2";
                m.add(tag::kText,
                      e.text.empty() ? std::string(engine::reason_name(e.reason)) : e.text)
                    .add(tag::kTransactTime, ts)
                    .add(tag::kReasonCode, std::to_string(static_cast<int>(e.reason)))
                    .add(tag::kPayoutInstrId, e.client_id)
                    .add(tag::kPayoutStatusCode, "R");
                return Outbound{psp_dest(e.psp), {std::move(m)}, {}};
            } else if constexpr (std::is_same_v<E, engine::PayoutSettled>) {
                return Outbound{psp_dest(e.psp), {payout_status_u2(e, "S", e.funded)}, {}};
            } else if constexpr (std::is_same_v<E, engine::PayoutFailed>) {
                WireMessage m;
                m.msg_type = "U2";
                m.add(tag::kText, e.text)
                    .add(tag::kTransactTime, ts)
                    .add(tag::kReasonCode, std::to_string(e.reason))
                    .add(tag::kPayoutInstrId, e.client_id)
                    .add(tag::kPayoutId, u64_text(e.payout_id))
                    .add(tag::kPayoutStatusCode, "F")
                    .add(tag::kRefundAmt, fmt(e.refunded.amount, e.refunded.currency))
                    .add(tag::kRefundCurrency, e.refunded.currency.to_string());
                return Outbound{psp_dest(e.psp), {std::move(m)}, {}};
            } else if constexpr (std::is_same_v<E, engine::PositionReport>) {
                const std::string acc = account(e.psp);
                const std::string date =
                    format_fix_date(std::chrono::floor<std::chrono::days>(now));
                Outbound o{psp_dest(e.psp), {}, {}};
                o.messages.push_back(Impl::positions_ack(e.client_id, acc,
                                                         e.lines.empty() ? "2" : "0", "0",
                                                         e.lines.size(), Reason::kNone, ""));
                for (const auto& l : e.lines) {
                    const Currency& c = l.currency;
                    WireMessage m;
                    m.msg_type = "AP";
                    m.add(tag::kPosMaintRptId, e.client_id + "-" + c.to_string())
                        .add(tag::kPosReqId, e.client_id)
                        .add(tag::kPosReqType, "0")
                        .add(tag::kTotalNumPosReports, std::to_string(e.lines.size()))
                        .add(tag::kPosReqResult, "0")
                        .add(tag::kClearingBusinessDate, date)
                        .add(tag::kAccount, acc)
                        .add(tag::kCurrency, c.to_string())
                        .add(tag::kAvailableAmt, fmt(l.available, c))
                        .add(tag::kHeldAmt, fmt(l.held, c))
                        .add(tag::kReceivableAmt, fmt(l.receivable, c))
                        .add(tag::kNetPositionAmt, fmt(l.net_position, c))
                        .add(tag::kNetDebitCapAmt, fmt(l.cap, c))
                        .add(tag::kHeadroomAmt, fmt(l.headroom, c))
                        .add(tag::kAggregateCapAmt,
                             fmt(e.aggregate_cap.amount, e.aggregate_cap.currency))
                        .add(tag::kAggregateCapCurrency, e.aggregate_cap.currency.to_string());
                    if (e.aggregate_used)
                        m.add(tag::kAggregateUsedAmt,
                              fmt(e.aggregate_used->amount, e.aggregate_used->currency));
                    o.messages.push_back(std::move(m));
                }
                return o;
            } else if constexpr (std::is_same_v<E, engine::CommandRejected>) {
                const std::string text =
                    e.text.empty() ? std::string(engine::reason_name(e.reason)) : e.text;
                if (e.request == engine::RequestKind::kPosition)
                    return Outbound{psp_dest(e.psp),
                                    {Impl::positions_ack(e.client_id, account(e.psp), "1", "2", 0,
                                                         e.reason, text)},
                                    {}};
                return nowhere("CommandRejected (request kind " +
                               std::to_string(static_cast<int>(e.request)) + ", id " + e.client_id +
                               ", reason " + std::to_string(static_cast<int>(e.reason)) +
                               "): " + text);
            } else if constexpr (std::is_same_v<E, engine::SettlementObligation>) {
                const Currency& c = im.chart.currency(e.currency);
                const std::string id =
                    "SO-" + u64_text(e.cycle_id) + "-" + account(e.psp) + "-" + c.to_string();
                WireMessage m;
                m.msg_type = "U5";
                m.add(tag::kAccount, account(e.psp))
                    .add(tag::kTransactTime, ts)
                    .add(tag::kClearingBusinessDate, format_fix_date(e.value_date))
                    .add(tag::kSettlementCycleId, u64_text(e.cycle_id))
                    .add(tag::kSettlObligMsgId, id)
                    .add(tag::kSettlObligMode, "2");
                std::vector<WireField> entry{
                    {tag::kSettlObligId, id},
                    {tag::kSettlObligTransType, "N"},
                    {430, "1"},  // NetGrossInd: net
                    {tag::kCurrency, c.to_string()},
                    {tag::kCcyAmt, fmt(e.amount, c)},
                    {tag::kObligationDirection, std::to_string(static_cast<int>(e.direction))},
                    {tag::kGrossInAmt, fmt(e.gross_in, c)},
                    {tag::kGrossOutAmt, fmt(e.gross_out, c)},
                    {tag::kNetAmt, fmt(e.net, c)},
                    {tag::kSettlDate, format_fix_date(e.value_date)},
                    {tag::kInstructionCount, std::to_string(e.lines)},
                    {tag::kFundingMode, std::to_string(static_cast<int>(e.funding_mode))}};
                m.groups.push_back(WireGroup{tag::kNoSettlOblig, {std::move(entry)}});
                return Outbound{psp_dest(e.psp), {std::move(m)}, {}};
            } else if constexpr (std::is_same_v<E, engine::HedgeOrder>) {
                const CurrencyPair& pair = im.pairs.at(e.pair);
                WireMessage m;
                m.msg_type = "D";
                m.add(tag::kClOrdId, hedge_cl_ord_id(e.hedge_id))
                    .add(tag::kSymbol, pair_text(pair))
                    .add(tag::kProduct, "4")
                    .add(tag::kSide, e.buy_base ? "1" : "2")
                    .add(tag::kTransactTime, ts)
                    .add(tag::kOrderQty, fmt(e.base_amount, pair.base))
                    .add(tag::kOrdType, "2")
                    .add(tag::kPrice, e.limit.to_string())
                    .add(tag::kCurrency, pair.base.to_string())
                    .add(tag::kTimeInForce, "3");
                return Outbound{Destination{Peer::kVenue, e.venue}, {std::move(m)}, {}};
            } else if constexpr (std::is_same_v<E, engine::PaymentOrder>) {
                const Currency& c = im.chart.currency(e.currency);
                WireMessage m;
                m.msg_type = "U3";
                m.add(tag::kCurrency, c.to_string())
                    .add(tag::kTransactTime, ts)
                    .add(tag::kSettlDate, format_fix_date(e.value_date))
                    .add(tag::kPaymentOrderId, payment_order_id_text(e.order_id))
                    .add(tag::kPaymentOrderTotalAmt, fmt(e.total, c))
                    .add(tag::kSettlementCycleId, u64_text(e.cycle_id));
                WireGroup g{tag::kNoPaymentLines, {}};
                for (std::size_t i = 0; i < e.lines.size(); ++i) {
                    const auto& l = e.lines[i];
                    g.entries.push_back({{tag::kPaymentLineNo, std::to_string(i)},
                                         {tag::kPayoutId, u64_text(l.payout_id)},
                                         {tag::kBeneficiaryBankId, l.beneficiary.bank_id},
                                         {tag::kBeneficiaryAccount, l.beneficiary.account},
                                         {tag::kBeneficiaryName, l.beneficiary.name},
                                         {tag::kBeneficiaryCountry, l.beneficiary.country},
                                         {tag::kLineAmt, fmt(l.amount, c)},
                                         {tag::kLineCurrency, c.to_string()},
                                         {tag::kOrderingAccount, account(l.payer)}});
                }
                m.groups.push_back(std::move(g));
                return Outbound{Destination{Peer::kBank, e.bank}, {std::move(m)}, {}};
            } else if constexpr (std::is_same_v<E, engine::DepositCredited>) {
                return nowhere("DepositCredited: no FIX message (the PSP sees it in AP)");
            } else if constexpr (std::is_same_v<E, engine::LimitsChanged>) {
                return nowhere("LimitsChanged: internal (audit row)");
            } else if constexpr (std::is_same_v<E, engine::ConversionExecuted>) {
                return nowhere("ConversionExecuted: internal (reported in U2 S and U5)");
            } else if constexpr (std::is_same_v<E, engine::HedgeFilled>) {
                return nowhere("HedgeFilled: internal (hedge " + u64_text(e.hedge_id) + ")");
            } else if constexpr (std::is_same_v<E, engine::ExposureReported>) {
                return nowhere("ExposureReported: internal (metrics, alert): " + e.detail);
            } else if constexpr (std::is_same_v<E, engine::HoldBack>) {
                return nowhere("HoldBack: internal: " + e.detail);
            } else if constexpr (std::is_same_v<E, engine::CycleReport>) {
                return nowhere("CycleReport: internal (metrics)");
            } else if constexpr (std::is_same_v<E, engine::SettlementReplyRejected>) {
                return nowhere("SettlementReplyRejected " +
                               std::to_string(static_cast<int>(e.code)) + ": " + e.text);
            } else {
                static_assert(sizeof(E) == 0, "to_wire: an Event alternative is not handled");
            }
        },
        event);
}

WireMessage Converter::market_data_request(engine::VenueIndex venue,
                                           std::string_view md_req_id) const {
    const Impl& im = *impl_;
    WireMessage m;
    m.msg_type = "V";
    m.add(tag::kMdReqId, std::string(md_req_id))
        .add(tag::kSubscriptionRequestType, "1")
        .add(tag::kMarketDepth, "1")
        .add(tag::kMdUpdateType, "0")
        .add(tag::kAggregatedBook, "Y");
    m.groups.push_back(
        WireGroup{tag::kNoMdEntryTypes,
                  {{WireField{tag::kMdEntryType, "0"}}, {WireField{tag::kMdEntryType, "1"}}}});
    WireGroup syms{tag::kNoRelatedSym, {}};
    const auto& v = im.config.venues.at(venue);
    const auto& list = v.pairs.empty() ? im.pairs : v.pairs;
    for (const auto& p : list)
        syms.entries.push_back({{tag::kSymbol, p.to_string()}, {tag::kProduct, "4"}});
    m.groups.push_back(std::move(syms));
    return m;
}

WireMessage Converter::hedge_status_request(const engine::HedgeOrder& hedge) const {
    const CurrencyPair& pair = impl_->pairs.at(hedge.pair);
    WireMessage m;
    m.msg_type = "H";
    m.add(tag::kClOrdId, hedge_cl_ord_id(hedge.hedge_id))
        .add(tag::kSymbol, pair.to_string())
        .add(tag::kProduct, "4")
        .add(tag::kSide, hedge.buy_base ? "1" : "2");
    return m;
}

}  // namespace fxsettle::adapters::convert
