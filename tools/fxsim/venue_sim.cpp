#include "tools/fxsim/venue_sim.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

namespace fxsettle::fxsim {

namespace {

money::Amount pow10_amount(int exponent) {
    std::int64_t v = 1;
    for (int i = 0; i < exponent; ++i) {
        v *= 10;
    }
    return money::Amount::from_minor(v);
}

}  // namespace

// ---- VenueBook -------------------------------------------------------------------------

VenueBook::VenueBook(PairQuote quote, const VenueOptions& options)
    : quote_(std::move(quote)),
      start_(quote_.mid),
      mid_(quote_.mid),
      depth_(options.depth),
      half_spread_ticks_(options.half_spread_ticks),
      level_gap_ticks_(options.level_gap_ticks),
      step_ticks_max_(options.step_ticks_max),
      band_ticks_(options.band_ticks) {
    const money::Amount unit = pow10_amount(quote_.pair.base.exponent);
    auto size = unit.checked_mul(options.level_size_major);
    FXSETTLE_ASSERT(size.has_value(), "fxsim: level size overflows");
    level_size_ = *size;
}

void VenueBook::step(Rng& rng) {
    const std::int64_t max = step_ticks_max_;
    const std::int64_t move = rng.between(-max, max);
    Mantissa next = mid_ + move * quote_.tick;
    const Mantissa band = static_cast<Mantissa>(band_ticks_) * quote_.tick;
    // The lowest mid keeps the deepest bid a tick above zero.
    const Mantissa floor_mid =
        quote_.tick * (1 + half_spread_ticks_ + static_cast<Mantissa>(depth_) * level_gap_ticks_);
    if (next > start_ + band || next < start_ - band || next < floor_mid) {
        next = mid_ - move * quote_.tick;  // reflect
    }
    mid_ = std::max(next, floor_mid);
}

std::vector<BookLevel> VenueBook::bids() const {
    std::vector<BookLevel> out;
    for (std::uint32_t i = 0; i < depth_; ++i) {
        const Mantissa px =
            mid_ - quote_.tick * (half_spread_ticks_ + static_cast<Mantissa>(i) * level_gap_ticks_);
        out.push_back({px, *level_size_.checked_mul(i + 1)});
    }
    return out;
}

std::vector<BookLevel> VenueBook::asks() const {
    std::vector<BookLevel> out;
    for (std::uint32_t i = 0; i < depth_; ++i) {
        const Mantissa px =
            mid_ + quote_.tick * (half_spread_ticks_ + static_cast<Mantissa>(i) * level_gap_ticks_);
        out.push_back({px, *level_size_.checked_mul(i + 1)});
    }
    return out;
}

VenueBook::Fill VenueBook::match(char side, const money::Amount& qty, std::optional<Mantissa> limit,
                                 bool all_or_none) const {
    // A buyer takes the asks, a seller hits the bids.
    const std::vector<BookLevel> levels = side == '1' ? asks() : bids();
    money::Amount available;
    Mantissa sweep = 0;
    for (const BookLevel& l : levels) {
        const bool within = !limit || (side == '1' ? l.price <= *limit : l.price >= *limit);
        if (!within) {
            break;
        }
        available += l.size;
        sweep = l.price;
        if (available >= qty) {
            return {qty, sweep};
        }
    }
    if (all_or_none || available.is_zero()) {
        return {money::Amount{}, 0};
    }
    return {available, sweep};
}

// ---- VenueSim --------------------------------------------------------------------------

std::unique_ptr<VenueSim> VenueSim::create(VenueOptions options, std::string* error) {
    auto bad = [&](const std::string& what) {
        *error = "venue simulator: " + what;
        return nullptr;
    };
    if (options.venue_comp_id.empty()) {
        return bad("venue_comp_id is empty");
    }
    if (options.client_comp_ids.empty()) {
        return bad("no client CompID: nobody could log on");
    }
    if (options.pairs.empty()) {
        return bad("no pairs to quote");
    }
    if (options.depth == 0 || options.depth > kVenueDepthMax) {
        return bad("depth " + std::to_string(options.depth) + " is outside 1.." +
                   std::to_string(kVenueDepthMax));
    }
    if (options.level_size_major <= 0) {
        return bad("level size must be positive");
    }
    if (options.level_gap_ticks == 0) {
        return bad("level gap must be at least one tick");
    }
    if (options.stream_interval.count() <= 0) {
        return bad("stream interval must be positive");
    }
    if (options.faults.reject_permille > 1000 || options.faults.partial_fill_permille > 1000 ||
        options.faults.short_fill_permille > 1000) {
        return bad("a fault share is above 1000 permille");
    }
    for (const PairQuote& q : options.pairs) {
        if (q.tick <= 0 || q.mid <= 0 || q.mid % q.tick != 0) {
            return bad("pair " + q.symbol() + " needs a positive tick and a mid on its grid");
        }
    }
    return std::unique_ptr<VenueSim>(new VenueSim(std::move(options)));
}

VenueSim::VenueSim(VenueOptions options)
    : SimRuntime("venue " + options.venue_comp_id, options.stream_interval),
      options_(std::move(options)),
      rng_(options_.seed) {
    for (const PairQuote& q : options_.pairs) {
        books_.emplace(q.symbol(), VenueBook(q, options_));
    }
}

VenueSim::~VenueSim() {
    stop();
}

bool VenueSim::start(std::string* error) {
    adapters::HostOptions h;
    h.role = adapters::HostRole::kAcceptor;
    h.bind_address = options_.bind_address;
    h.listen_port = options_.listen_port;
    h.dictionary_path = options_.dictionary_path;
    h.store_path = options_.store_path;
    h.log_dir = options_.log_dir;
    for (const std::string& client : options_.client_comp_ids) {
        adapters::SessionSpec s;
        s.key = SessionKey{options_.venue_comp_id, client};
        h.sessions.push_back(s);
    }
    if (!start_runtime(std::move(h), error)) {
        return false;
    }
    spdlog::info("{}: listening on {}:{} for {} client(s), {} pair(s)", name(),
                 options_.bind_address, listen_port(), options_.client_comp_ids.size(),
                 options_.pairs.size());
    return true;
}

void VenueSim::set_faults(const VenueFaults& faults) {
    std::lock_guard lock(state_mu_);
    options_.faults = faults;
}

VenueFaults VenueSim::faults() const {
    std::lock_guard lock(state_mu_);
    return options_.faults;
}

VenueSim::Figures VenueSim::figures() const {
    std::lock_guard lock(state_mu_);
    return figures_;
}

std::optional<VenueOrder> VenueSim::order(const std::string& client,
                                          const std::string& cl_ord_id) const {
    std::lock_guard lock(state_mu_);
    auto it = orders_.find({client, cl_ord_id});
    if (it == orders_.end()) {
        return std::nullopt;
    }
    return it->second;
}

std::optional<Mantissa> VenueSim::mid(const std::string& symbol) const {
    std::lock_guard lock(state_mu_);
    auto it = books_.find(symbol);
    if (it == books_.end()) {
        return std::nullopt;
    }
    return it->second.mid();
}

VenueBook* VenueSim::book(const std::string& symbol) {
    auto it = books_.find(symbol);
    return it == books_.end() ? nullptr : &it->second;
}

void VenueSim::on_session_up(const SessionKey& key, Clock::time_point /*now*/) {
    SessionState& s = sessions_[key];
    s.messages = 0;
    s.subscriptions.clear();  // a client subscribes again after every logon
    s.disconnect_at = options_.faults.disconnect_after_messages;
    if (options_.faults.disconnect_random_max > 0) {
        s.disconnect_at = 1 + rng_.below(options_.faults.disconnect_random_max);
    }
}

void VenueSim::answer(const SessionKey& key, std::vector<WireMessage> messages, bool send) {
    if (!send || options_.faults.orders_unanswered) {
        return;
    }
    for (WireMessage& m : messages) {
        schedule_send(key, std::move(m), options_.faults.answer_delay);
    }
}

void VenueSim::on_app_message(const SessionKey& key, WireMessage&& m, Clock::time_point) {
    SessionState& s = sessions_[key];
    ++s.messages;
    bool send = true;
    if (s.disconnect_at != 0 && s.messages >= s.disconnect_at) {
        // The fault: book this message, drop its answer, drop the session.
        send = false;
        ++figures_.disconnects;
        schedule_logout(key, "simulated venue fault: disconnect after " +
                                 std::to_string(s.messages) + " messages");
        s.messages = 0;
    }
    if (m.msg_type == "V") {
        if (send) {
            on_market_data_request(key, m);
        }
    } else if (m.msg_type == "D") {
        on_new_order(key, m, send);
    } else if (m.msg_type == "H") {
        on_status_request(key, m, send);
    } else if (send) {
        WireMessage j;
        j.msg_type = "j";
        j.add(372, m.msg_type)
            .add(380, "3")
            .add(58, "the venue simulator does not handle " + m.msg_type);
        schedule_send(key, std::move(j));
    }
}

WireMessage VenueSim::snapshot(const VenueBook& b, const std::string& md_req_id,
                               std::uint32_t depth) const {
    WireMessage w;
    w.msg_type = "W";
    if (!md_req_id.empty()) {
        w.add(262, md_req_id);
    }
    w.add(55, b.quote().symbol());
    WireGroup g;
    g.count_tag = 268;
    const std::string base = b.quote().pair.base.to_string();
    const auto add_side = [&](const std::vector<BookLevel>& levels, char type) {
        for (std::uint32_t i = 0; i < levels.size() && (depth == 0 || i < depth); ++i) {
            g.entries.push_back({{269, std::string(1, type)},
                                 {270, format_price(b.quote().pair, levels[i].price)},
                                 {15, base},
                                 {271, money::format_amount(levels[i].size, b.quote().pair.base)},
                                 {278, b.quote().symbol() + "-" + type + std::to_string(i + 1)},
                                 {290, std::to_string(i + 1)}});
        }
    };
    add_side(b.bids(), '0');
    add_side(b.asks(), '1');
    w.groups.push_back(std::move(g));
    return w;
}

void VenueSim::on_market_data_request(const SessionKey& key, const WireMessage& m) {
    const std::string id = m.find(262) ? *m.find(262) : "";
    const std::string sub = m.find(263) ? *m.find(263) : "";
    const std::uint32_t depth =
        m.find(264) ? static_cast<std::uint32_t>(std::stoul("0" + *m.find(264))) : 0;
    auto reject = [&](const char* reason, const std::string& text) {
        WireMessage y;
        y.msg_type = "Y";
        y.add(262, id).add(281, reason).add(58, text);
        schedule_send(key, std::move(y));
    };
    SessionState& s = sessions_[key];
    if (sub == "2") {
        std::erase_if(s.subscriptions, [&](const Subscription& x) { return x.md_req_id == id; });
        return;
    }
    if (sub == "1" && std::any_of(s.subscriptions.begin(), s.subscriptions.end(),
                                  [&](const Subscription& x) { return x.md_req_id == id; })) {
        return reject("1", "MDReqID " + id + " is already subscribed");
    }
    Subscription subscription{id, {}, depth};
    if (const WireGroup* g = m.find_group(146)) {
        for (const auto& entry : g->entries) {
            const std::string* sym = adapters::find_in_entry(entry, 55);
            if (sym == nullptr || book(*sym) == nullptr) {
                return reject("0", "unknown symbol " + (sym ? *sym : std::string("(none)")));
            }
            subscription.symbols.push_back(*sym);
        }
    }
    if (options_.faults.silent) {
        return;
    }
    for (const std::string& sym : subscription.symbols) {
        schedule_send(key, snapshot(*book(sym), id, depth));
        ++figures_.snapshots;
    }
    if (sub == "1") {
        s.subscriptions.push_back(std::move(subscription));
    }
}

void VenueSim::on_tick(Clock::time_point /*now*/) {
    for (auto& [sym, b] : books_) {
        b.step(rng_);
    }
    if (options_.faults.silent) {
        return;
    }
    for (auto& [key, s] : sessions_) {
        if (!logged_on(key)) {
            continue;
        }
        for (const Subscription& sub : s.subscriptions) {
            WireMessage x;
            x.msg_type = "X";
            x.add(262, sub.md_req_id);
            WireGroup g;
            g.count_tag = 268;
            for (const std::string& sym : sub.symbols) {
                const VenueBook& b = *book(sym);
                const std::string base = b.quote().pair.base.to_string();
                const auto add_side = [&](const std::vector<BookLevel>& levels, char type) {
                    for (std::uint32_t i = 0;
                         i < levels.size() && (sub.depth == 0 || i < sub.depth); ++i) {
                        g.entries.push_back(
                            {{279, "1"},
                             {269, std::string(1, type)},
                             {278, sym + "-" + type + std::to_string(i + 1)},
                             {55, sym},
                             {270, format_price(b.quote().pair, levels[i].price)},
                             {15, base},
                             {271, money::format_amount(levels[i].size, b.quote().pair.base)},
                             {290, std::to_string(i + 1)}});
                    }
                };
                add_side(b.bids(), '0');
                add_side(b.asks(), '1');
            }
            x.groups.push_back(std::move(g));
            schedule_send(key, std::move(x));
            ++figures_.increments;
        }
    }
}

WireMessage VenueSim::report(VenueOrder& o, char exec_type, const money::Amount& last_qty,
                             Mantissa last_px, const std::string& text) {
    const VenueBook* b = book(o.symbol);
    WireMessage r;
    r.msg_type = "8";
    r.add(37, o.order_id).add(11, o.cl_ord_id);
    r.add(17, o.order_id + "-E" + std::to_string(++o.exec_seq));
    r.add(150, std::string(1, exec_type)).add(39, std::string(1, o.ord_status));
    if (o.ord_status == '8') {
        r.add(103, o.rej_reason.empty() ? "0" : o.rej_reason);
    }
    r.add(55, o.symbol).add(54, std::string(1, o.side));
    const money::Currency base = b ? b->quote().pair.base : money::Currency{};
    if (b != nullptr) {
        r.add(38, money::format_amount(o.qty, base));
    }
    r.add(40, std::string(1, o.ord_type));
    if (o.price && b != nullptr) {
        r.add(44, format_price(b->quote().pair, *o.price));
    }
    if (b != nullptr) {
        r.add(15, base.to_string());
    }
    r.add(59, std::string(1, o.tif));
    if (last_qty.is_positive() && b != nullptr) {
        r.add(32, money::format_amount(last_qty, base));
        r.add(31, format_price(b->quote().pair, last_px));
        auto rate = money::Rate::from_mantissa(b->quote().pair, money::Int128(last_px));
        auto contra = money::convert(money::Money{last_qty, base}, *rate);
        if (contra) {
            r.add(7400, money::format_amount(contra->converted.amount, b->quote().pair.quote));
            r.add(7401, b->quote().pair.quote.to_string());
        }
    }
    const money::Amount leaves =
        (o.ord_status == '1' || o.ord_status == '0') ? o.qty - o.cum_qty : money::Amount{};
    if (b != nullptr) {
        r.add(151, money::format_amount(leaves, base));
        r.add(14, money::format_amount(o.cum_qty, base));
        r.add(6, o.avg_px > 0 ? format_price(b->quote().pair, o.avg_px) : "0");
    } else {
        r.add(151, "0").add(14, "0").add(6, "0");
    }
    r.add(60, fix_timestamp(sim_now(options_.clock)));
    if (!text.empty()) {
        r.add(58, text);
    }
    return r;
}

void VenueSim::on_new_order(const SessionKey& key, const WireMessage& m, bool send) {
    const std::string cl = m.find(11) ? *m.find(11) : "";
    auto existing = orders_.find({key.target_comp_id, cl});
    if (existing != orders_.end()) {
        // A repeat (PossDup or not): the original answers, same ExecIDs.
        spdlog::info("{}: ClOrdID {} again: answering as before", name(), cl);
        answer(key, existing->second.reports, send);
        return;
    }
    if (orders_.size() >= kVenueOrdersMax) {
        orders_.erase(orders_.begin());
    }
    ++figures_.orders;
    VenueOrder o;
    o.order_id = options_.venue_comp_id + "-" + std::to_string(++next_order_);
    o.cl_ord_id = cl;
    o.symbol = m.find(55) ? *m.find(55) : "";
    o.side = m.find(54) ? m.find(54)->front() : '1';
    o.ord_type = m.find(40) ? m.find(40)->front() : '2';
    o.tif = m.find(59) ? m.find(59)->front() : '0';
    VenueBook* b = book(o.symbol);
    std::vector<WireMessage> out;
    auto finish = [&](char exec_type, char status, const std::string& text) {
        o.ord_status = status;
        out.push_back(report(o, exec_type, money::Amount{}, 0, text));
    };
    std::string problem;
    if (b == nullptr) {
        problem = "unknown symbol " + o.symbol;
        o.rej_reason = "1";
    } else {
        auto qty = money::parse_amount(m.find(38) ? *m.find(38) : "", b->quote().pair.base);
        if (!qty || !qty->is_positive()) {
            problem = "OrderQty is not a positive amount of " + b->quote().pair.base.to_string();
            o.rej_reason = "13";
        } else {
            o.qty = *qty;
        }
        if (problem.empty() && o.ord_type == '2') {
            auto px = parse_price(b->quote().pair, m.find(44) ? *m.find(44) : "");
            if (!px) {
                problem = "a limit order needs a positive Price";
            } else {
                o.price = *px;
            }
        }
        if (problem.empty() && o.tif != '3' && o.tif != '4') {
            problem = "time in force " + std::string(1, o.tif) +
                      " is not supported: the venue takes IOC (3) and FOK (4)";
            o.rej_reason = "11";
        }
    }
    if (!problem.empty()) {
        ++figures_.rejected;
        finish('8', '8', problem);
    } else if (rng_.chance_permille(options_.faults.reject_permille)) {
        ++figures_.rejected;
        finish('8', '8', "simulated venue reject");
    } else {
        VenueBook::Fill f = b->match(o.side, o.qty, o.price, o.tif == '4');
        if (options_.faults.short_fill_permille > 0 && f.qty.is_positive()) {
            // The short-fill fault: keep (1000 - permille)/1000 of what could trade.
            const money::Int128 kept =
                f.qty.minor() * (1000 - options_.faults.short_fill_permille) / 1000;
            f.qty = *money::Amount::from_int(kept);
        }
        if (f.qty.is_zero()) {
            ++figures_.cancelled;
            finish('4', '4', "nothing to trade at or better than the limit");
        } else {
            money::Amount first = f.qty;
            if (rng_.chance_permille(options_.faults.partial_fill_permille) &&
                f.qty > money::Amount::from_minor(1)) {
                first = money::Amount::from_minor(static_cast<std::int64_t>(f.qty.minor() / 2));
                o.cum_qty = first;
                o.avg_px = f.price;
                o.ord_status = '1';
                out.push_back(report(o, 'F', first, f.price, "partial fill 1 of 2"));
                first = f.qty - first;
            }
            o.cum_qty += first;
            o.avg_px = f.price;
            o.ord_status = o.cum_qty == o.qty ? '2' : '1';
            out.push_back(report(o, 'F', first, f.price, ""));
            if (o.cum_qty == o.qty) {
                ++figures_.filled;
            } else {
                ++figures_.partially_filled;
                o.ord_status = '4';
                out.push_back(report(o, '4', money::Amount{}, 0,
                                     "IOC remainder cancelled: the book held " +
                                         money::format_amount(f.qty, b->quote().pair.base)));
            }
        }
    }
    spdlog::debug("{}: order {} ({}) -> status {}", name(), o.cl_ord_id, o.order_id, o.ord_status);
    o.reports = out;
    answer(key, std::move(out), send);
    orders_.emplace(std::make_pair(key.target_comp_id, cl), std::move(o));
}

void VenueSim::on_status_request(const SessionKey& key, const WireMessage& m, bool send) {
    ++figures_.status_requests;
    const std::string cl = m.find(11) ? *m.find(11) : "";
    const std::string req = m.find(790) ? *m.find(790) : "";
    auto it = orders_.find({key.target_comp_id, cl});
    WireMessage r;
    if (it == orders_.end()) {
        r.msg_type = "8";
        r.add(37, "NONE").add(11, cl);
        if (!req.empty()) {
            r.add(790, req);
        }
        r.add(17, options_.venue_comp_id + "-UNKNOWN-" + std::to_string(figures_.status_requests));
        r.add(150, "I").add(39, "8").add(103, "5");
        r.add(55, m.find(55) ? *m.find(55) : "").add(54, m.find(54) ? *m.find(54) : "1");
        r.add(151, "0").add(14, "0").add(6, "0").add(60, fix_timestamp(sim_now(options_.clock)));
        r.add(58, "unknown ClOrdID " + cl);
    } else {
        VenueOrder& o = it->second;
        r = report(o, 'I', money::Amount{}, 0, "");
        // A status report has its own ExecID series, so the fills' ExecIDs stay theirs.
        --o.exec_seq;
        for (WireField& f : r.fields) {
            if (f.tag == 17) {
                f.value = o.order_id + "-S" + std::to_string(++o.status_seq);
            }
        }
        if (!req.empty()) {
            // OrdStatusReqID goes after ClOrdID (and OrigClOrdID) in the dictionary's order.
            r.fields.insert(r.fields.begin() + 2, WireField{790, req});
        }
    }
    answer(key, {std::move(r)}, send);
}

}  // namespace fxsettle::fxsim
