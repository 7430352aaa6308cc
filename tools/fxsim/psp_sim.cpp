#include "tools/fxsim/psp_sim.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <utility>

namespace fxsettle::fxsim {

namespace {

struct Beneficiary {
    const char* country;
    const char* name;
    const char* account;
};

// Sellers and suppliers by currency: country, name, account pattern.
Beneficiary beneficiary_for(std::string_view ccy, std::uint64_t pick) {
    static const std::array<Beneficiary, 4> kCn = {{
        {"CN", "Shenzhen Lighting Co Ltd", "6222020200112233"},
        {"CN", "Yiwu Small Goods Trading", "6217000010008899"},
        {"CN", "Guangzhou Apparel Works", "6228480402564890"},
        {"CN", "Ningbo Hardware Export", "6212260200012345"},
    }};
    if (ccy == "CNY" || ccy == "CNH") {
        Beneficiary b = kCn[pick % kCn.size()];
        if (ccy == "CNH") {
            b.country = "HK";
        }
        return b;
    }
    static const std::map<std::string_view, Beneficiary> kAbroad = {
        {"USD", {"US", "Pacific Packaging Inc", "021000021-483920011"}},
        {"EUR", {"DE", "Rhein Verpackung GmbH", "DE89370400440532013000"}},
        {"GBP", {"GB", "Thames Logistics Ltd", "GB29NWBK60161331926819"}},
        {"JPY", {"JP", "Osaka Components KK", "0005-123-4567890"}},
        {"KRW", {"KR", "Busan Textile Co", "110-234-567890"}},
        {"AUD", {"AU", "Sydney Freight Pty Ltd", "062-000-12345678"}},
        {"CAD", {"CA", "Toronto Supplies Corp", "003-00012-1234567"}},
        {"SGD", {"SG", "Lion City Parts Pte Ltd", "7171-012-345678"}},
        {"HKD", {"HK", "Kowloon Trading Ltd", "004-123-456789-001"}},
    };
    auto it = kAbroad.find(ccy);
    return it != kAbroad.end() ? it->second : Beneficiary{"US", "Supplier", "000000000"};
}

money::Amount whole_units(std::int64_t major, const money::Currency& c) {
    money::Amount a = money::Amount::from_minor(major);
    for (int i = 0; i < c.exponent; ++i) {
        a = *a.checked_mul(10);
    }
    return a;
}

// A payout's size in major units of `c`: roughly 1,000 to 50,000 US dollars' worth.
std::int64_t payout_major(Rng& rng, std::string_view c) {
    std::int64_t scale = 1;
    if (c == "JPY") {
        scale = 150;
    } else if (c == "KRW") {
        scale = 1'350;
    } else if (c == "CNY" || c == "CNH" || c == "HKD") {
        scale = 7;
    }
    return rng.between(1'000, 50'000) * scale;
}

}  // namespace

// ---- PspFlow ---------------------------------------------------------------------------

PspFlow::PspFlow(PspIdentity identity, const PspOptions& options, std::vector<std::string> peers)
    : identity_(std::move(identity)),
      options_(&options),
      peers_(std::move(peers)),
      rng_(options.seed ^ hash_text(identity_.psp_id)) {}

std::string PspFlow::next_id(const char* kind) {
    return identity_.psp_id + "-" + kind + "-" + std::to_string(++serial_);
}

const PairQuote* PspFlow::pair_of(const money::Currency& base) const {
    for (const PairQuote& q : options_->pairs) {
        if (q.pair.base == base && q.pair.quote == identity_.payout) {
            return &q;
        }
    }
    return nullptr;
}

WireMessage PspFlow::next(std::chrono::system_clock::time_point now) {
    const PspMix& m = options_->mix;
    const std::array<std::uint32_t, 7> w = {m.order,  m.cancel,  m.replace, m.rfq,
                                            m.payout, m.outflow, m.internal};
    std::uint64_t total = 0;
    for (auto x : w) {
        total += x;
    }
    std::uint64_t pick = rng_.below(total);
    std::size_t kind = 0;
    while (pick >= w[kind]) {
        pick -= w[kind];
        ++kind;
    }
    const auto ts = fix_timestamp(now);
    if ((kind == 1 || kind == 2) && !resting_.empty()) {
        const std::size_t i = rng_.below(resting_.size());
        Resting r = resting_[i];
        WireMessage x;
        x.msg_type = kind == 1 ? "F" : "G";
        const std::string cl = next_id(kind == 1 ? "CXL" : "RPL");
        x.add(41, r.cl_ord_id).add(11, cl).add(1, identity_.psp_id).add(55, r.symbol);
        x.add(54, std::string(1, r.side)).add(60, ts).add(38, r.qty);
        if (kind == 2) {
            const PairQuote* q = nullptr;
            for (const PairQuote& p : options_->pairs) {
                if (p.symbol() == r.symbol) {
                    q = &p;
                }
            }
            const Mantissa px =
                r.price + (r.side == '1' ? 1 : -1) * rng_.between(1, 3) * (q ? q->tick : 0);
            x.add(40, "2").add(44, format_price(q->pair, px));
            resting_[i].cl_ord_id = cl;
            resting_[i].price = px;
        } else {
            resting_.erase(resting_.begin() + static_cast<std::ptrdiff_t>(i));
        }
        return x;
    }
    switch (kind) {
        case 3:
            return rfq();
        case 4:
            return payout('P', now);
        case 5:
            return payout('O', now);
        case 6:
            if (!peers_.empty()) {
                return payout('I', now);
            }
            return payout('P', now);
        default:
            return new_order(now);
    }
}

WireMessage PspFlow::new_order(std::chrono::system_clock::time_point now) {
    const money::Currency base = identity_.collect[rng_.below(identity_.collect.size())];
    const PairQuote* q = pair_of(base);
    WireMessage d;
    d.msg_type = "D";
    if (q == nullptr) {
        // No pair to trade: an unlocked payout instead (create() checks at least one).
        return payout('P', now);
    }
    // Mostly selling collections for CNY; some buying back.
    const char side = rng_.chance_permille(options_->buy_permille) ? '1' : '2';
    const std::int64_t major = payout_major(rng_, base.code_view());
    const std::string qty = money::format_amount(whole_units(major, base), base);
    // A limit a few ticks through or away from the mid.
    const Mantissa px = q->mid + (side == '1' ? 1 : -1) * rng_.between(-5, 10) * q->tick;
    const std::uint64_t tif_pick = rng_.below(10);
    const char tif = tif_pick < 5 ? '3' : tif_pick < 8 ? '0' : '1';
    const std::string cl = next_id("ORD");
    d.add(11, cl).add(1, identity_.psp_id).add(55, q->symbol()).add(54, std::string(1, side));
    d.add(60, fix_timestamp(now)).add(38, qty).add(40, "2").add(44, format_price(q->pair, px));
    d.add(15, base.to_string()).add(59, std::string(1, tif));
    if (!options_->settl_type.empty()) {
        d.add(63, options_->settl_type);
    }
    if (tif != '3' && resting_.size() < kPspRestingMax) {
        resting_.push_back({cl, q->symbol(), side, qty, px});
    }
    return d;
}

WireMessage PspFlow::rfq() {
    const money::Currency base = identity_.collect[rng_.below(identity_.collect.size())];
    const PairQuote* q = pair_of(base);
    const std::string id = next_id("RFQ");
    WireMessage r;
    r.msg_type = "R";
    r.add(131, id);
    const std::string symbol =
        q ? q->symbol() : base.to_string() + "/" + identity_.payout.to_string();
    std::vector<WireField> entry{
        {55, symbol},
        {54, "2"},
        {38, money::format_amount(whole_units(payout_major(rng_, base.code_view()), base), base)},
        {15, base.to_string()},
        {1, identity_.psp_id}};
    if (!options_->settl_type.empty()) {
        entry.push_back({63, options_->settl_type});
    }
    r.groups.push_back(WireGroup{146, {std::move(entry)}});
    rfq_side_[id] = base.to_string();
    return r;
}

WireMessage PspFlow::payout(char kind, std::chrono::system_clock::time_point now) {
    WireMessage u;
    u.msg_type = "U1";
    const std::string id = next_id(kind == 'O' ? "OUT" : kind == 'I' ? "INT" : "PAY");
    money::Currency ccy = identity_.payout;
    money::Currency funding = identity_.collect[rng_.below(identity_.collect.size())];
    if (kind == 'O') {  // CNY out to a supplier abroad
        ccy = funding;
        funding = identity_.payout;
    } else if (kind == 'I') {
        funding = identity_.payout;
    }
    const std::int64_t major = payout_major(rng_, ccy.code_view());
    u.add(7100, id).add(1, identity_.psp_id).add(15, ccy.to_string());
    u.add(60, fix_timestamp(now)).add(7102, money::format_amount(whole_units(major, ccy), ccy));
    if (funding != ccy) {
        u.add(7103, funding.to_string());
    }
    if (kind == 'I') {
        u.add(7109, peers_[rng_.below(peers_.size())]);
        u.add(7110, "marketplace settlement");
    } else {
        const Beneficiary b = beneficiary_for(ccy.code_view(), rng_.next());
        auto bank = options_->banks.find(ccy.to_string());
        u.add(7105, bank != options_->banks.end() ? bank->second : "unknown-bank");
        u.add(7106, b.account).add(7107, b.name).add(7108, b.country);
        u.add(7110, kind == 'O' ? "supplier invoice" : "seller payout");
    }
    u.add(7111, "REF-" + id);
    if (!options_->settl_type.empty()) {
        u.add(63, options_->settl_type);
    }
    return u;
}

std::optional<WireMessage> PspFlow::payout_for_quote(const WireMessage& s,
                                                     std::chrono::system_clock::time_point now) {
    const std::string* req = s.find(131);
    const std::string* quote_id = s.find(117);
    if (req == nullptr || quote_id == nullptr || !rfq_side_.contains(*req)) {
        return std::nullopt;
    }
    const std::string collect = rfq_side_[*req];
    rfq_side_.erase(*req);
    // Pay out what the quote converts into: its ContraAmt in our payout currency when
    // given, else a fresh amount.
    Rng r(options_->seed ^ hash_text(*quote_id));
    WireMessage u;
    u.msg_type = "U1";
    const std::string id = next_id("LCK");
    const money::Currency ccy = identity_.payout;
    std::string amount =
        money::format_amount(whole_units(payout_major(r, ccy.code_view()), ccy), ccy);
    if (const std::string* contra = s.find(7400);
        contra != nullptr && s.find(7401) && *s.find(7401) == ccy.to_string()) {
        amount = *contra;
    }
    u.add(7100, id).add(1, identity_.psp_id).add(15, ccy.to_string()).add(117, *quote_id);
    u.add(60, fix_timestamp(now)).add(7102, amount).add(7103, collect);
    const Beneficiary b = beneficiary_for(ccy.code_view(), r.next());
    auto bank = options_->banks.find(ccy.to_string());
    u.add(7105, bank != options_->banks.end() ? bank->second : "unknown-bank");
    u.add(7106, b.account).add(7107, b.name).add(7108, b.country);
    u.add(7110, "seller payout at a quoted rate").add(7111, "REF-" + id);
    if (!options_->settl_type.empty()) {
        u.add(63, options_->settl_type);
    }
    return u;
}

void PspFlow::on_execution(const WireMessage& report) {
    const std::string* status = report.find(39);
    const std::string* cl = report.find(11);
    if (status == nullptr || cl == nullptr) {
        return;
    }
    if (*status == "2" || *status == "4" || *status == "8" || *status == "C") {
        std::erase_if(resting_, [&](const Resting& r) { return r.cl_ord_id == *cl; });
    }
}

// ---- PspSim ----------------------------------------------------------------------------

std::unique_ptr<PspSim> PspSim::create(PspOptions options, std::string* error) {
    auto bad = [&](const std::string& what) {
        *error = "PSP simulator: " + what;
        return nullptr;
    };
    if (options.psps.empty()) {
        return bad("no PSP to simulate");
    }
    if (options.rate_per_s == 0 || options.rate_per_s > kPspRatePerSecondMax) {
        return bad("rate " + std::to_string(options.rate_per_s) + " is outside 1.." +
                   std::to_string(kPspRatePerSecondMax) + " messages per second");
    }
    const PspMix& m = options.mix;
    if (m.order + m.cancel + m.replace + m.rfq + m.payout + m.outflow + m.internal == 0) {
        return bad("every weight of the mix is 0");
    }
    if (options.possdup_permille > 1000) {
        return bad("the PossDup share is above 1000 permille");
    }
    for (const PspIdentity& p : options.psps) {
        if (p.psp_id.empty() || p.sender_comp_id.empty()) {
            return bad("a PSP needs an id and a SenderCompID");
        }
        if (p.collect.empty()) {
            return bad("PSP " + p.psp_id + " collects in no currency");
        }
    }
    return std::unique_ptr<PspSim>(new PspSim(std::move(options)));
}

PspSim::PspSim(PspOptions options)
    : SimRuntime("psp", std::chrono::milliseconds{10}),
      options_(std::move(options)),
      rng_(options_.seed) {
    for (const PspIdentity& p : options_.psps) {
        std::vector<std::string> peers;
        for (const PspIdentity& q : options_.psps) {
            if (q.psp_id != p.psp_id) {
                peers.push_back(q.psp_id);
            }
        }
        flows_.emplace_back(p, options_, std::move(peers));
    }
    last_.resize(flows_.size());
    since_logon_.resize(flows_.size());
    disconnect_at_.resize(flows_.size());
}

PspSim::~PspSim() {
    stop();
}

bool PspSim::start(std::string* error) {
    adapters::HostOptions h;
    h.role = adapters::HostRole::kInitiator;
    h.dictionary_path = options_.dictionary_path;
    h.store_path = options_.store_path;
    h.log_dir = options_.log_dir;
    for (const PspIdentity& p : options_.psps) {
        adapters::SessionSpec s;
        s.key = SessionKey{p.sender_comp_id, options_.gateway_comp_id};
        s.connect_host = options_.gateway_host;
        s.connect_port = options_.gateway_port;
        s.heartbeat = options_.heartbeat;
        s.reconnect_interval = options_.reconnect_interval;
        s.username = p.username;
        s.password = p.password;
        h.sessions.push_back(s);
    }
    last_tick_ = Clock::now();
    if (!start_runtime(std::move(h), error)) {
        return false;
    }
    spdlog::info("psp: {} PSP session(s) to {}:{} at {} messages/s{}", options_.psps.size(),
                 options_.gateway_host, options_.gateway_port, options_.rate_per_s,
                 options_.messages_max ? ", " + std::to_string(options_.messages_max) + " in all"
                                       : std::string());
    return true;
}

std::uint64_t PspSim::sent() const {
    std::lock_guard lock(state_mu_);
    return sent_;
}

bool PspSim::done() const {
    std::lock_guard lock(state_mu_);
    return options_.messages_max != 0 && sent_ >= options_.messages_max;
}

void PspSim::stop_sending() {
    std::lock_guard lock(state_mu_);
    options_.messages_max = std::max<std::uint64_t>(sent_, 1);
}

std::optional<std::size_t> PspSim::psp_of(const SessionKey& key) const {
    for (std::size_t i = 0; i < options_.psps.size(); ++i) {
        if (options_.psps[i].sender_comp_id == key.sender_comp_id) {
            return i;
        }
    }
    return std::nullopt;
}

void PspSim::send_request(std::size_t psp, WireMessage m, bool possdup) {
    const SessionKey key{options_.psps[psp].sender_comp_id, options_.gateway_comp_id};
    counts_.add("sent/" + m.msg_type);
    if (possdup) {
        m.poss_dup = true;
        counts_.add("possdup");
    } else {
        last_[psp] = m;
    }
    const int tag = m.msg_type == "R" ? 131 : m.msg_type == "U1" ? 7100 : 11;
    if (const std::string* id = m.find(tag)) {
        if (options_.max_in_flight != 0) {
            in_flight_[*id] = Clock::now();
        }
        if (options_.retry_unanswered && !unanswered_.contains(*id)) {
            unanswered_.emplace(*id, std::make_pair(psp, m));
        }
    }
    schedule_send(key, std::move(m));
    if (disconnect_at_[psp] != 0 && ++since_logon_[psp] >= disconnect_at_[psp]) {
        disconnect_at_[psp] = 0;
        ++disconnects_;
        counts_.add("fault/disconnect");
        schedule_logout(key, "simulated PSP fault: disconnect after " +
                                 std::to_string(since_logon_[psp]) + " requests");
    }
}

void PspSim::on_session_up(const SessionKey& key, Clock::time_point /*now*/) {
    const auto psp = psp_of(key);
    if (!psp) {
        return;
    }
    since_logon_[*psp] = 0;
    disconnect_at_[*psp] = 0;
    if (options_.disconnect_random_max > 0 && disconnects_ < options_.disconnects_max) {
        disconnect_at_[*psp] = 1 + rng_.below(options_.disconnect_random_max);
    }
    if (!options_.retry_unanswered) {
        return;
    }
    std::vector<WireMessage> again;
    for (const auto& [id, entry] : unanswered_) {
        if (entry.first == *psp) {
            again.push_back(entry.second);
        }
    }
    for (WireMessage& m : again) {
        counts_.add("retry");
        send_request(*psp, std::move(m), true);
    }
}

std::size_t PspSim::unanswered() const {
    std::lock_guard lock(state_mu_);
    return unanswered_.size();
}

void PspSim::answered(const WireMessage& m, int tag) {
    if (const std::string* id = m.find(tag)) {
        in_flight_.erase(*id);
        unanswered_.erase(*id);
    }
}

bool PspSim::resend_last(const std::string& psp_id) {
    std::lock_guard lock(state_mu_);
    for (std::size_t i = 0; i < options_.psps.size(); ++i) {
        if (options_.psps[i].psp_id == psp_id && last_[i]) {
            WireMessage m = *last_[i];
            post([this, i, m](Clock::time_point) mutable { send_request(i, std::move(m), true); });
            return true;
        }
    }
    return false;
}

bool PspSim::send_now(const std::string& psp_id) {
    std::lock_guard lock(state_mu_);
    for (std::size_t i = 0; i < options_.psps.size(); ++i) {
        if (options_.psps[i].psp_id == psp_id) {
            post([this, i](Clock::time_point) {
                send_request(i, flows_[i].next(sim_now(options_.clock)), false);
            });
            return true;
        }
    }
    return false;
}

void PspSim::on_tick(Clock::time_point now) {
    const auto elapsed =
        std::chrono::duration_cast<std::chrono::microseconds>(now - last_tick_).count();
    last_tick_ = now;
    credit_micro_ +=
        static_cast<std::uint64_t>(std::max<std::int64_t>(elapsed, 0)) * options_.rate_per_s;
    // At most one second of backlog, so a long wait for logons does not turn into a burst.
    credit_micro_ =
        std::min<std::uint64_t>(credit_micro_, std::uint64_t{1'000'000} * options_.rate_per_s);
    std::vector<std::size_t> up;
    for (std::size_t i = 0; i < options_.psps.size(); ++i) {
        if (logged_on(SessionKey{options_.psps[i].sender_comp_id, options_.gateway_comp_id})) {
            up.push_back(i);
        }
    }
    all_logged_on_ = all_logged_on_ || up.size() == options_.psps.size();
    if (up.empty() || (options_.start_when_all_logged_on && !all_logged_on_)) {
        credit_micro_ = 0;
        return;
    }
    if (options_.max_in_flight != 0) {
        std::erase_if(in_flight_,
                      [&](const auto& e) { return now - e.second > options_.in_flight_timeout; });
    }
    while (credit_micro_ >= 1'000'000 &&
           (options_.messages_max == 0 || sent_ < options_.messages_max) &&
           (options_.max_in_flight == 0 || in_flight_.size() < options_.max_in_flight)) {
        credit_micro_ -= 1'000'000;
        const std::size_t psp = up[turn_++ % up.size()];
        ++sent_;
        if (last_[psp] && rng_.chance_permille(options_.possdup_permille)) {
            send_request(psp, *last_[psp], true);
            continue;
        }
        send_request(psp, flows_[psp].next(sim_now(options_.clock)), false);
    }
}

void PspSim::on_app_message(const SessionKey& key, WireMessage&& m, Clock::time_point) {
    counts_.add("recv/" + m.msg_type);
    if (m.msg_type == "8" || m.msg_type == "9") {
        answered(m, 11);
    } else if (m.msg_type == "S" || m.msg_type == "AG") {
        answered(m, 131);
    } else if (m.msg_type == "U2") {
        answered(m, 7100);
    }
    const auto psp = psp_of(key);
    if (m.msg_type == "8") {
        if (const std::string* et = m.find(150)) {
            counts_.add("exec/" + *et);
        }
        if (psp) {
            flows_[*psp].on_execution(m);
        }
    } else if (m.msg_type == "U2") {
        if (const std::string* st = m.find(7112)) {
            counts_.add("U2/" + *st);
            const std::string* instr = m.find(7100);
            if (instr != nullptr && outcomes_.insert(*st + "/" + *instr).second) {
                counts_.add("U2 once/" + *st);
            }
        }
    } else if (m.msg_type == "S" && psp) {
        if (auto u1 = flows_[*psp].payout_for_quote(m, sim_now(options_.clock))) {
            send_request(*psp, std::move(*u1), false);
        }
    } else if (m.msg_type == "j" || m.msg_type == "3" || m.msg_type == "AG" || m.msg_type == "9") {
        spdlog::info("psp: {} got {}: {}", key.to_string(), m.msg_type,
                     m.find(58) ? *m.find(58) : std::string("(no text)"));
    }
}

}  // namespace fxsettle::fxsim
