#include "tools/fxsim/sim_common.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <utility>

namespace fxsettle::fxsim {

namespace {

std::string two(unsigned v) {
    char b[8];
    std::snprintf(b, sizeof b, "%02u", v % 100U);
    return b;
}

}  // namespace

std::uint64_t hash_text(std::string_view text) noexcept {
    std::uint64_t h = 0xcbf29ce484222325ULL;
    for (const char c : text) {
        h ^= static_cast<unsigned char>(c);
        h *= 0x100000001b3ULL;
    }
    return h;
}

std::chrono::system_clock::time_point sim_now(const SimClock& clock) {
    return clock ? clock() : std::chrono::system_clock::now();
}

SimClock accelerated_clock(std::chrono::system_clock::time_point start, std::uint32_t rate) {
    const auto origin = std::chrono::steady_clock::now();
    const std::int64_t factor = rate == 0 ? 1 : rate;
    return [start, origin, factor] {
        const auto real = std::chrono::steady_clock::now() - origin;
        return start +
               std::chrono::duration_cast<std::chrono::system_clock::duration>(real * factor);
    };
}

std::optional<std::chrono::system_clock::time_point> parse_utc_instant(std::string_view text) {
    // YYYY-MM-DDTHH:MM:SSZ
    if (text.size() != 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' ||
        text[13] != ':' || text[16] != ':' || text[19] != 'Z') {
        return std::nullopt;
    }
    auto num = [&](std::size_t at, std::size_t n) -> int {
        int v = 0;
        for (std::size_t i = at; i < at + n; ++i) {
            if (text[i] < '0' || text[i] > '9') {
                return -1;
            }
            v = v * 10 + (text[i] - '0');
        }
        return v;
    };
    const int y = num(0, 4), mo = num(5, 2), d = num(8, 2), h = num(11, 2), mi = num(14, 2),
              se = num(17, 2);
    if (y < 0 || mo < 0 || d < 0 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59) {
        return std::nullopt;
    }
    const std::chrono::year_month_day ymd{std::chrono::year{y},
                                          std::chrono::month{static_cast<unsigned>(mo)},
                                          std::chrono::day{static_cast<unsigned>(d)}};
    if (!ymd.ok()) {
        return std::nullopt;
    }
    return std::chrono::sys_days(ymd) + std::chrono::hours(h) + std::chrono::minutes(mi) +
           std::chrono::seconds(se);
}

std::chrono::year_month_day utc_today(std::chrono::system_clock::time_point t) {
    return std::chrono::year_month_day(std::chrono::floor<std::chrono::days>(t));
}

std::string fix_date(std::chrono::year_month_day d) {
    return std::to_string(static_cast<int>(d.year())) + two(static_cast<unsigned>(d.month())) +
           two(static_cast<unsigned>(d.day()));
}

std::string iso_date(std::chrono::year_month_day d) {
    return std::to_string(static_cast<int>(d.year())) + "-" +
           two(static_cast<unsigned>(d.month())) + "-" + two(static_cast<unsigned>(d.day()));
}

std::optional<std::chrono::year_month_day> parse_fix_date(std::string_view text) {
    if (text.size() != 8 ||
        !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return std::nullopt;
    }
    const int y = std::stoi(std::string(text.substr(0, 4)));
    const unsigned m = static_cast<unsigned>(std::stoi(std::string(text.substr(4, 2))));
    const unsigned d = static_cast<unsigned>(std::stoi(std::string(text.substr(6, 2))));
    const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(m),
                                          std::chrono::day(d)};
    if (!ymd.ok()) {
        return std::nullopt;
    }
    return ymd;
}

namespace {
struct Clock3 {
    std::chrono::year_month_day day;
    std::chrono::hh_mm_ss<std::chrono::milliseconds> tod;
};
Clock3 split(std::chrono::system_clock::time_point t) {
    const auto ms = std::chrono::floor<std::chrono::milliseconds>(t);
    const auto day = std::chrono::floor<std::chrono::days>(ms);
    return {std::chrono::year_month_day(day), std::chrono::hh_mm_ss(ms - day)};
}
}  // namespace

std::string fix_timestamp(std::chrono::system_clock::time_point t) {
    const Clock3 c = split(t);
    char ms[8];
    std::snprintf(ms, sizeof ms, "%03d", static_cast<int>(c.tod.subseconds().count()));
    return fix_date(c.day) + "-" + two(static_cast<unsigned>(c.tod.hours().count())) + ":" +
           two(static_cast<unsigned>(c.tod.minutes().count())) + ":" +
           two(static_cast<unsigned>(c.tod.seconds().count())) + "." + ms;
}

std::string iso_datetime(std::chrono::system_clock::time_point t) {
    const Clock3 c = split(t);
    return iso_date(c.day) + "T" + two(static_cast<unsigned>(c.tod.hours().count())) + ":" +
           two(static_cast<unsigned>(c.tod.minutes().count())) + ":" +
           two(static_cast<unsigned>(c.tod.seconds().count()));
}

Mantissa to_mantissa(const money::Rate& rate) {
    return static_cast<Mantissa>(rate.mantissa());
}

std::string format_price(const money::CurrencyPair& pair, Mantissa mantissa) {
    auto r = money::Rate::from_mantissa(pair, money::Int128(mantissa));
    FXSETTLE_ASSERT(r.has_value(), "fxsim: a simulated price is not a positive rate");
    return r->to_string();
}

Result<Mantissa> parse_price(const money::CurrencyPair& pair, std::string_view text) {
    auto r = money::Rate::parse(pair, text);
    if (!r) {
        return fail(r.error());
    }
    if (r->mantissa() > money::Int128(std::int64_t{9'000'000'000'000'000'000})) {
        return fail(StatusCode::kOutOfRange,
                    "price '" + std::string(text) + "' on " + pair.to_string() + " is too large");
    }
    return to_mantissa(*r);
}

std::optional<std::string> default_mid_text(std::string_view symbol) {
    static const std::map<std::string, std::string, std::less<>> kMids = {
        {"USD/CNY", "7.1000"},   {"EUR/CNY", "7.7000"},    {"GBP/CNY", "9.0500"},
        {"JPY/CNY", "0.047500"}, {"KRW/CNY", "0.0052000"}, {"AUD/CNY", "4.6500"},
        {"CAD/CNY", "5.2000"},   {"SGD/CNY", "5.3000"},    {"HKD/CNY", "0.91000"},
        {"USD/CNH", "7.1200"},   {"EUR/CNH", "7.7200"},    {"GBP/CNH", "9.0700"},
        {"JPY/CNH", "0.047600"}, {"HKD/CNH", "0.91200"},   {"EUR/USD", "1.0850"},
        {"GBP/USD", "1.2700"},   {"USD/JPY", "150.00"},    {"USD/KRW", "1370.00"},
    };
    auto it = kMids.find(symbol);
    if (it == kMids.end()) {
        return std::nullopt;
    }
    return it->second;
}

Result<std::vector<PairQuote>> pair_quotes(const config::Config& config,
                                           const std::vector<std::string>& symbols,
                                           const std::map<std::string, std::string>& mids) {
    std::vector<PairQuote> out;
    std::vector<money::CurrencyPair> wanted;
    if (symbols.empty()) {
        for (const auto& p : config.pairs) {
            wanted.push_back(p.pair);
        }
    } else {
        for (const auto& s : symbols) {
            auto p = money::parse_pair(s, config.currency_table);
            if (!p) {
                return fail(StatusCode::kInvalidArgument,
                            "pair '" + s + "': " + p.error().message());
            }
            wanted.push_back(*p);
        }
    }
    for (const auto& pair : wanted) {
        const config::PairConfig* pc = config.find_pair(pair);
        if (pc == nullptr) {
            return fail(StatusCode::kNotFound,
                        "pair " + pair.to_string() + " is not one of the config's [[pairs]]");
        }
        PairQuote q;
        q.pair = pair;
        q.tick = to_mantissa(pc->tick);
        auto it = mids.find(pair.to_string());
        std::optional<std::string> text = it != mids.end() ? std::optional<std::string>(it->second)
                                                           : default_mid_text(pair.to_string());
        if (!text) {
            return fail(StatusCode::kNotFound, "pair " + pair.to_string() +
                                                   " has no built-in mid; give one (--mid " +
                                                   pair.to_string() + "=RATE)");
        }
        auto mid = parse_price(pair, *text);
        if (!mid) {
            return fail(StatusCode::kInvalidArgument,
                        "mid of " + pair.to_string() + ": " + mid.error().message());
        }
        q.mid = std::max<Mantissa>(q.tick, (*mid / q.tick) * q.tick);
        out.push_back(q);
    }
    return out;
}

Result<config::Config> load_sim_config(const std::string& path) {
    return path.empty() ? config::load_default_config() : config::load_config_file(path);
}

void Counts::add(const std::string& key, std::uint64_t n) {
    std::lock_guard lock(mu_);
    counts_[key] += n;
}

std::uint64_t Counts::get(const std::string& key) const {
    std::lock_guard lock(mu_);
    auto it = counts_.find(key);
    return it == counts_.end() ? 0 : it->second;
}

std::map<std::string, std::uint64_t> Counts::snapshot() const {
    std::lock_guard lock(mu_);
    return counts_;
}

std::string format_counts(const std::map<std::string, std::uint64_t>& counts) {
    std::string s;
    for (const auto& [k, v] : counts) {
        if (!s.empty()) {
            s += ' ';
        }
        s += k + "=" + std::to_string(v);
    }
    return s.empty() ? "none" : s;
}

// ---- SimRuntime ------------------------------------------------------------------------

struct SimRuntime::Event {
    enum class Kind { kLogon, kLogout, kMessage, kWork } kind = Kind::kMessage;
    SessionKey key;
    WireMessage message;
    std::function<void(Clock::time_point)> work;
};

struct SimRuntime::Timed {
    Clock::time_point due;
    std::uint64_t seq = 0;
    SessionKey key;
    bool logout = false;
    std::string reason;
    WireMessage message;
    // A min-heap by (due, seq) through std::push_heap's max-heap: "greater" sorts first.
    friend bool operator<(const Timed& a, const Timed& b) {
        return a.due != b.due ? a.due > b.due : a.seq > b.seq;
    }
};

SimRuntime::SimRuntime(std::string name, std::chrono::milliseconds tick_interval)
    : name_(std::move(name)), tick_interval_(tick_interval) {}

SimRuntime::~SimRuntime() {
    stop();
}

bool SimRuntime::start_runtime(adapters::HostOptions options, std::string* error) {
    if (running_.load()) {
        *error = name_ + " is already running";
        return false;
    }
    host_ = adapters::SessionHost::create(std::move(options), *this, error);
    if (!host_) {
        return false;
    }
    running_ = true;
    stopping_ = false;
    worker_ = std::thread([this] { worker_loop(); });
    if (!host_->start(error)) {
        stop();
        return false;
    }
    return true;
}

void SimRuntime::stop() {
    if (!running_.exchange(false)) {
        return;
    }
    // The worker first, so that nothing is sent into a stopping host; then the host logs
    // every session out and drains what the worker had handed it.
    {
        std::lock_guard lock(queue_mu_);
        stopping_ = true;
    }
    queue_cv_.notify_all();
    if (worker_.joinable()) {
        worker_.join();
    }
    if (host_) {
        host_->stop(name_ + " stopping");
    }
}

std::vector<SessionKey> SimRuntime::sessions_up() const {
    std::lock_guard lock(up_mu_);
    std::vector<SessionKey> out;
    for (const auto& [k, up] : up_) {
        if (up) {
            out.push_back(k);
        }
    }
    return out;
}

bool SimRuntime::logged_on(const SessionKey& key) const {
    std::lock_guard lock(up_mu_);
    auto it = up_.find(key);
    return it != up_.end() && it->second;
}

std::optional<adapters::HostCounters> SimRuntime::host_counters() const {
    if (!host_) {
        return std::nullopt;
    }
    return host_->counters();
}

std::uint16_t SimRuntime::listen_port() const {
    return host_ ? host_->listen_port() : 0;
}

std::string SimRuntime::authenticate(const SessionKey& key, const std::string& username,
                                     const std::string& password) {
    std::string refusal = check_logon(key, username, password);
    if (!refusal.empty()) {
        spdlog::warn("{}: logon of {} refused: {}", name_, key.to_string(), refusal);
    }
    return refusal;
}

void SimRuntime::on_logon(const SessionKey& key) {
    {
        std::lock_guard lock(up_mu_);
        up_[key] = true;
    }
    spdlog::info("{}: session {} logged on", name_, key.to_string());
    enqueue(Event{Event::Kind::kLogon, key, {}, {}});
}

void SimRuntime::on_logout(const SessionKey& key) {
    {
        std::lock_guard lock(up_mu_);
        up_[key] = false;
    }
    spdlog::info("{}: session {} logged out", name_, key.to_string());
    enqueue(Event{Event::Kind::kLogout, key, {}, {}});
}

void SimRuntime::on_message(const SessionKey& key, WireMessage&& message) {
    in_.add(message.msg_type);
    enqueue(Event{Event::Kind::kMessage, key, std::move(message), {}});
}

void SimRuntime::on_sent(const SessionKey& /*key*/, const std::vector<std::uint64_t>& /*tokens*/) {}

void SimRuntime::post(std::function<void(Clock::time_point)> work) {
    enqueue(Event{Event::Kind::kWork, {}, {}, std::move(work)});
}

void SimRuntime::enqueue(Event event) {
    {
        std::lock_guard lock(queue_mu_);
        events_.push_back(std::move(event));
    }
    queue_cv_.notify_one();
}

void SimRuntime::schedule_send(const SessionKey& key, WireMessage message,
                               std::chrono::milliseconds delay) {
    Timed t;
    t.due = Clock::now() + delay;
    t.seq = ++timed_seq_;
    t.key = key;
    t.message = std::move(message);
    timed_.push_back(std::move(t));
    std::push_heap(timed_.begin(), timed_.end());
}

void SimRuntime::schedule_logout(const SessionKey& key, std::string reason,
                                 std::chrono::milliseconds delay) {
    Timed t;
    t.due = Clock::now() + delay;
    t.seq = ++timed_seq_;
    t.key = key;
    t.logout = true;
    t.reason = std::move(reason);
    timed_.push_back(std::move(t));
    std::push_heap(timed_.begin(), timed_.end());
}

void SimRuntime::worker_loop() {
    Clock::time_point next_tick = Clock::now() + tick_interval_;
    for (;;) {
        std::deque<Event> batch;
        {
            std::unique_lock lock(queue_mu_);
            Clock::time_point wake = next_tick;
            if (!timed_.empty()) {
                wake = std::min(wake, timed_.front().due);
            }
            queue_cv_.wait_until(lock, wake, [&] { return stopping_ || !events_.empty(); });
            if (stopping_) {
                return;
            }
            batch.swap(events_);
        }
        std::lock_guard state(state_mu_);
        for (Event& e : batch) {
            const auto now = Clock::now();
            switch (e.kind) {
                case Event::Kind::kLogon:
                    on_session_up(e.key, now);
                    break;
                case Event::Kind::kLogout:
                    on_session_down(e.key, now);
                    break;
                case Event::Kind::kMessage:
                    on_app_message(e.key, std::move(e.message), now);
                    break;
                case Event::Kind::kWork:
                    e.work(now);
                    break;
            }
        }
        if (Clock::now() >= next_tick) {
            on_tick(Clock::now());
            next_tick = Clock::now() + tick_interval_;
        }
        while (!timed_.empty() && timed_.front().due <= Clock::now()) {
            std::pop_heap(timed_.begin(), timed_.end());
            Timed t = std::move(timed_.back());
            timed_.pop_back();
            if (t.logout) {
                spdlog::warn("{}: logging {} out: {}", name_, t.key.to_string(), t.reason);
                host_->logout(t.key, t.reason);
                continue;
            }
            const std::string type = t.message.msg_type;
            const adapters::SendResult r = host_->send(t.key, std::move(t.message));
            if (r == adapters::SendResult::kQueued || r == adapters::SendResult::kSlowConsumer) {
                out_.add(type);
            } else {
                spdlog::warn("{}: {} to {} not sent: {}", name_, type, t.key.to_string(),
                             adapters::send_result_name(r));
            }
        }
    }
}

}  // namespace fxsettle::fxsim
