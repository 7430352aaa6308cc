// book_bench: the FX order book under a mixed command stream.
//
// It prefills one book with --resting passive orders (about 100k, both sides, most within
// 64 ticks of the mid, one in eight up to 1,000 ticks away), then runs --commands
// commands (10M by default): passive limit adds (GTC and Day), aggressive limit adds (IOC
// and GTC) that cross a few ticks, cancels of random live orders, replaces (reduce in
// place, price change, quantity increase) of random live orders, and IOC market orders.
// Adds and cancels swap when the book drifts more than 1% from --resting, so it stays
// near that depth. 50 owners, so self-trade prevention fires now and then. By default 80%
// of cancels and replaces aim at one of the 1,024 orders rested last (young orders are
// the ones amended and pulled most in a real book) and 20% at any live order;
// --recent-share 0 aims them all uniformly over the ~100k, the cache's worst case.
//
// Measurement. Commands are generated in chunks of kChunk from the live orders the
// benchmark tracks from the events (untimed), then executed back to back (timed): ops/s
// is commands over the summed time of the chunks' execution, so it counts the book's
// work and the appending of its events, not the generator. Per-command latency is read
// with rdtsc (constant and non-stop TSC on this machine, converted to ns by calibrating
// against steady_clock over the run) around one command in --sample-every (default 16):
// two rdtsc reads cost about 10-20 ns, a sizable share of a ~50 ns command, so timing
// every command would inflate the throughput figure; sampling one in 16 costs about 1 ns
// per command, and 600k samples still resolve p99.9. Use --sample-every 1 to time every
// command. A cancel or replace aimed at an order filled earlier in the same chunk is
// rejected (kUnknownOrder): rare (mostly orders a market order took), and counted like
// any command.
//
// It prints a summary, then (with --json) one JSON object last. It never asserts a time.
#include <time.h>
#include <x86intrin.h>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "engine/book/order_book.h"
#include "engine/book/reference_book.h"
#include "engine/book/types.h"

namespace {

namespace book = fxsettle::engine::book;
using Clock = std::chrono::steady_clock;

constexpr std::size_t kChunk = 4096;
constexpr std::int64_t kMid = 7'123'400;  // e.g. USD/CNY 7.12340 at a tick of 0.000001
constexpr std::uint32_t kNone = 0xFFFF'FFFFu;

struct Options {
    std::uint64_t commands = 10'000'000;
    std::uint32_t resting = 100'000;
    std::uint32_t owners = 50;
    std::uint32_t sample_every = 16;
    std::uint32_t recent_share = 80;
    std::uint64_t seed = 20240607;
    std::string book = "fast";
    bool json = false;
};

// SplitMix64: fast, deterministic, good enough for a workload.
class Rng {
  public:
    explicit Rng(std::uint64_t seed) : state_(seed) {}
    std::uint64_t next() {
        std::uint64_t z = (state_ += 0x9E37'79B9'7F4A'7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58'476D'1CE4'E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D0'49BB'1331'11EBull;
        return z ^ (z >> 31);
    }
    // Uniform in [0, n) for n < 2^32 (the bias of a 64-bit modulo is negligible here).
    std::uint64_t below(std::uint64_t n) { return next() % n; }
    std::int64_t between(std::int64_t low, std::int64_t high) {
        return low + static_cast<std::int64_t>(below(static_cast<std::uint64_t>(high - low + 1)));
    }

  private:
    std::uint64_t state_;
};

enum class Kind : std::uint8_t { kAdd, kCancel, kReplace };

struct Command {
    Kind kind = Kind::kAdd;
    book::NewOrder order;  // kAdd; kCancel/kReplace use id, owner, price, quantity
};

struct Counts {
    std::uint64_t passive_adds = 0;
    std::uint64_t aggressive_adds = 0;
    std::uint64_t markets = 0;
    std::uint64_t cancels = 0;
    std::uint64_t replaces = 0;
    std::uint64_t events = 0;
    std::uint64_t fills = 0;
    std::uint64_t rejects = 0;
    std::uint64_t self_trades = 0;
};

// The live (resting) orders as the benchmark knows them from the events: a dense vector
// for picking one at random and each id's position in it.
class LiveOrders {
  public:
    explicit LiveOrders(std::uint64_t ids_max) : position_(ids_max + 1, kNone) {
        ids_.reserve(ids_max < (1u << 22) ? ids_max : (1u << 22));
    }
    void insert(std::uint64_t id) {
        if (position_[id] != kNone)
            return;
        recent_[recent_next_++ % kRecent] = id;
        position_[id] = static_cast<std::uint32_t>(ids_.size());
        ids_.push_back(id);
    }
    void erase(std::uint64_t id) {
        const std::uint32_t at = position_[id];
        if (at == kNone)
            return;
        position_[id] = kNone;
        if (at + 1 != ids_.size()) {
            ids_[at] = ids_.back();
            position_[ids_[at]] = at;
        }
        ids_.pop_back();
    }
    std::size_t size() const { return ids_.size(); }
    std::uint64_t pick(Rng& rng) const { return ids_[rng.below(ids_.size())]; }
    // With probability recent_share %, one of the kRecent orders rested last that is
    // still live (most cancels and amendments in a real book are of young orders); else
    // any live order.
    std::uint64_t pick_target(Rng& rng, std::uint32_t recent_share) const {
        if (recent_next_ > 0 && rng.below(100) < recent_share) {
            const std::uint64_t filled = std::min<std::uint64_t>(recent_next_, kRecent);
            for (int attempt = 0; attempt < 4; ++attempt) {
                const std::uint64_t id = recent_[rng.below(filled)];
                if (position_[id] != kNone)
                    return id;
            }
        }
        return pick(rng);
    }
    void observe(const std::vector<book::Event>& events, Counts& counts) {
        for (const book::Event& e : events) {
            switch (e.kind) {
                case book::EventKind::kRested:
                    insert(e.order.value);
                    break;
                case book::EventKind::kCancelled:
                    erase(e.order.value);
                    counts.self_trades += e.cancel_reason == book::CancelReason::kSelfTrade;
                    break;
                case book::EventKind::kFill:
                    ++counts.fills;
                    if (e.counter_remaining.minor == 0)
                        erase(e.counter_order.value);
                    break;
                case book::EventKind::kRejected:
                    ++counts.rejects;
                    break;
                default:
                    break;
            }
        }
        counts.events += events.size();
    }

  private:
    static constexpr std::uint64_t kRecent = 1024;
    std::vector<std::uint64_t> ids_;
    std::vector<std::uint32_t> position_;
    std::vector<std::uint64_t> recent_ = std::vector<std::uint64_t>(kRecent, 0);
    std::uint64_t recent_next_ = 0;
};

class Workload {
  public:
    Workload(const Options& o) : o_(o), rng_(o.seed) {}

    book::OwnerId owner_of(std::uint64_t id) const {
        return book::OwnerId{static_cast<std::uint32_t>((id * 0x9E37'79B9ull >> 7) % o_.owners)};
    }
    std::int64_t passive_price(book::Side side) {
        std::int64_t offset = rng_.between(1, 64);
        if (rng_.below(8) == 0)
            offset = rng_.between(1, 1000);
        return side == book::Side::kBuy ? kMid - offset : kMid + offset;
    }
    book::Side side() { return rng_.below(2) == 0 ? book::Side::kBuy : book::Side::kSell; }
    std::int64_t quantity() { return rng_.between(1, 100) * 1000; }

    Command passive_add() {
        Command c;
        c.order.id = book::OrderId{next_id_++};
        c.order.owner = owner_of(c.order.id.value);
        c.order.side = side();
        c.order.type = book::OrderType::kLimit;
        c.order.tif = rng_.below(10) < 7 ? book::TimeInForce::kGtc : book::TimeInForce::kDay;
        c.order.price = book::Price{passive_price(c.order.side)};
        c.order.quantity = book::Quantity{quantity()};
        return c;
    }

    template <typename Book>
    Command next(const Book& b, LiveOrders& live, Counts& counts) {
        const std::uint64_t roll = rng_.below(100);
        const bool too_many = live.size() > o_.resting + o_.resting / 100;
        const bool too_few = live.size() + o_.resting / 100 < o_.resting || live.size() < 16;
        if ((roll < 40 && !too_many) || (roll >= 45 && roll < 75 && too_few)) {
            ++counts.passive_adds;
            return passive_add();
        }
        if (roll < 75) {
            if (roll < 45) {
                ++counts.aggressive_adds;
                Command c = passive_add();
                const std::int64_t through = rng_.between(0, 5);
                c.order.price =
                    book::Price{c.order.side == book::Side::kBuy ? kMid + through : kMid - through};
                c.order.tif =
                    rng_.below(2) == 0 ? book::TimeInForce::kIoc : book::TimeInForce::kGtc;
                c.order.quantity = book::Quantity{rng_.between(1, 200) * 1000};
                return c;
            }
            ++counts.cancels;
            Command c;
            c.kind = Kind::kCancel;
            c.order.id = book::OrderId{live.pick_target(rng_, o_.recent_share)};
            // Gone as of now: no later command of the chunk aims at it again.
            live.erase(c.order.id.value);
            c.order.owner = owner_of(c.order.id.value);
            return c;
        }
        if (roll < 92) {
            ++counts.replaces;
            Command c;
            c.kind = Kind::kReplace;
            c.order.id = book::OrderId{live.pick_target(rng_, o_.recent_share)};
            c.order.owner = owner_of(c.order.id.value);
            const auto current = b.find(c.order.id);
            const book::Side s = current ? current->side : book::Side::kBuy;
            const std::int64_t price = current ? current->price.ticks : passive_price(s);
            const std::int64_t remaining = current ? current->remaining.minor : quantity();
            const std::uint64_t how = rng_.below(4);
            if (how < 2) {  // reduce in place: keeps priority
                c.order.price = book::Price{price};
                c.order.quantity = book::Quantity{std::max<std::int64_t>(1, remaining / 2)};
            } else if (how == 2) {  // move: loses priority
                c.order.price = book::Price{passive_price(s)};
                c.order.quantity = book::Quantity{remaining};
            } else {  // increase: loses priority
                c.order.price = book::Price{price};
                c.order.quantity = book::Quantity{remaining + 1000};
            }
            return c;
        }
        ++counts.markets;
        Command c;
        c.order.id = book::OrderId{next_id_++};
        c.order.owner = owner_of(c.order.id.value);
        c.order.side = side();
        c.order.type = book::OrderType::kMarket;
        c.order.tif = book::TimeInForce::kIoc;
        c.order.quantity = book::Quantity{rng_.between(1, 300) * 1000};
        return c;
    }

  private:
    const Options& o_;
    Rng rng_;
    std::uint64_t next_id_ = 1;
};

template <typename Book>
inline void execute(Book& b, const Command& c, std::vector<book::Event>& out) {
    switch (c.kind) {
        case Kind::kAdd:
            b.add(c.order, out);
            break;
        case Kind::kCancel:
            b.cancel(c.order.id, c.order.owner, out);
            break;
        case Kind::kReplace:
            b.replace(c.order.id, c.order.owner, c.order.price, c.order.quantity, out);
            break;
    }
}

// This thread's CPU time: unlike the wall clock, it does not count the time the thread
// waits for a core on a shared machine.
double thread_cpu_s() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

struct Result {
    double seconds = 0;  // executing commands only, wall clock
    double ops_per_s = 0;
    double cpu_seconds = 0;  // executing commands only, this thread's CPU time
    double ops_per_cpu_s = 0;
    double p50_ns = 0, p90_ns = 0, p99_ns = 0, p999_ns = 0, max_ns = 0, mean_ns = 0;
    std::uint64_t samples = 0;
    double tsc_ghz = 0;
    std::size_t resting_start = 0, resting_end = 0;
    double prefill_s = 0;
    Counts counts;
};

double percentile(std::vector<std::uint64_t>& v, double q) {
    if (v.empty())
        return 0;
    const auto k = static_cast<std::size_t>(q * static_cast<double>(v.size() - 1));
    std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
    return static_cast<double>(v[k]);
}

template <typename Book>
Result run(const Options& o) {
    Result r;
    const std::uint64_t ids_max = o.resting + o.commands + 1;
    // Room above the target so that the drift band and the aggressive GTC remainders
    // never hit kBookFull.
    Book b(std::min<std::uint32_t>(book::kBookOrdersMax, o.resting * 2 + 1024));
    Workload workload(o);
    LiveOrders live(ids_max);
    Counts prefill_counts;
    std::vector<book::Event> events;
    events.reserve(kChunk * 64);

    const auto prefill_start = Clock::now();
    for (std::uint32_t i = 0; i < o.resting; ++i) {
        events.clear();
        execute(b, workload.passive_add(), events);
        live.observe(events, prefill_counts);
    }
    r.prefill_s = std::chrono::duration<double>(Clock::now() - prefill_start).count();
    r.resting_start = b.order_count();

    std::vector<Command> chunk(kChunk);
    std::vector<std::uint64_t> cycles;
    cycles.reserve(o.commands / o.sample_every + 1);
    Clock::duration busy{};
    double busy_cpu_s = 0;
    const auto calibrate_clock = Clock::now();
    const std::uint64_t calibrate_tsc = __rdtsc();
    std::uint64_t done = 0;
    while (done < o.commands) {
        const std::size_t n =
            static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, o.commands - done));
        for (std::size_t i = 0; i < n; ++i)
            chunk[i] = workload.next(b, live, r.counts);
        events.clear();
        const double start_cpu_s = thread_cpu_s();
        const auto start = Clock::now();
        for (std::size_t i = 0; i < n; ++i) {
            if ((done + i) % o.sample_every == 0) {
                const std::uint64_t t0 = __rdtsc();
                execute(b, chunk[i], events);
                const std::uint64_t t1 = __rdtsc();
                cycles.push_back(t1 - t0);
            } else {
                execute(b, chunk[i], events);
            }
        }
        busy += Clock::now() - start;
        busy_cpu_s += thread_cpu_s() - start_cpu_s;
        live.observe(events, r.counts);
        done += n;
    }
    const double wall_ns =
        std::chrono::duration<double, std::nano>(Clock::now() - calibrate_clock).count();
    const auto tsc_total = static_cast<double>(__rdtsc() - calibrate_tsc);
    const double ns_per_cycle = wall_ns / tsc_total;
    r.tsc_ghz = 1.0 / ns_per_cycle;

    r.seconds = std::chrono::duration<double>(busy).count();
    r.ops_per_s = static_cast<double>(o.commands) / r.seconds;
    r.cpu_seconds = busy_cpu_s;
    r.ops_per_cpu_s = static_cast<double>(o.commands) / busy_cpu_s;
    r.samples = cycles.size();
    double sum = 0;
    for (const auto c : cycles)
        sum += static_cast<double>(c);
    r.mean_ns = cycles.empty() ? 0 : sum / static_cast<double>(cycles.size()) * ns_per_cycle;
    r.p50_ns = percentile(cycles, 0.50) * ns_per_cycle;
    r.p90_ns = percentile(cycles, 0.90) * ns_per_cycle;
    r.p99_ns = percentile(cycles, 0.99) * ns_per_cycle;
    r.p999_ns = percentile(cycles, 0.999) * ns_per_cycle;
    r.max_ns =
        cycles.empty()
            ? 0
            : static_cast<double>(*std::max_element(cycles.begin(), cycles.end())) * ns_per_cycle;
    r.resting_end = b.order_count();
    return r;
}

}  // namespace

int main(int argc, char** argv) {
    Options o;
    CLI::App app{"fxsettle order book benchmark: mixed add/cancel/replace/market commands"};
    app.add_option("--commands", o.commands, "commands after the prefill")
        ->check(CLI::PositiveNumber);
    app.add_option("--resting", o.resting, "resting orders to prefill and hold the book near")
        ->check(CLI::Range(16u, book::kBookOrdersMax / 2 - 1024));
    app.add_option("--owners", o.owners, "owners (PSPs) placing orders")
        ->check(CLI::Range(2u, 1'000'000u));
    app.add_option("--sample-every", o.sample_every, "time one command in this many")
        ->check(CLI::Range(1u, 1'000'000u));
    app.add_option("--recent-share", o.recent_share,
                   "percent of cancels and replaces aimed at the 1,024 orders rested last "
                   "(0: all at uniformly random live orders)")
        ->check(CLI::Range(0u, 100u));
    app.add_option("--seed", o.seed, "random seed");
    app.add_option("--book", o.book, "fast or reference")
        ->check(CLI::IsMember({"fast", "reference"}));
    app.add_flag("--json", o.json, "print one JSON object last");
    CLI11_PARSE(app, argc, argv);

    fmt::print(
        "book_bench: {} book, {} resting orders prefilled, {} mixed commands, {} owners, "
        "{}% of cancels/replaces at young orders, latency of 1 command in {}, seed {}\n",
        o.book, o.resting, o.commands, o.owners, o.recent_share, o.sample_every, o.seed);
    std::fflush(stdout);
    const Result r = o.book == "fast" ? run<book::OrderBook>(o) : run<book::ReferenceBook>(o);
    const Counts& c = r.counts;
    fmt::print("prefill: {} orders in {:.3f} s\n", r.resting_start, r.prefill_s);
    fmt::print(
        "mix: {} passive adds, {} aggressive adds, {} markets, {} cancels, {} replaces; "
        "{} events, {} fills, {} self-trade cancels, {} rejects; resting at the end {}\n",
        c.passive_adds, c.aggressive_adds, c.markets, c.cancels, c.replaces, c.events, c.fills,
        c.self_trades, c.rejects, r.resting_end);
    fmt::print(
        "throughput: {:.2f}M ops/s ({:.3f} s executing, wall clock); {:.2f}M ops per CPU "
        "second ({:.3f} s of CPU)\n",
        r.ops_per_s / 1e6, r.seconds, r.ops_per_cpu_s / 1e6, r.cpu_seconds);
    fmt::print(
        "latency ns ({} samples, TSC {:.3f} GHz): mean {:.0f}, p50 {:.0f}, p90 {:.0f}, p99 "
        "{:.0f}, p99.9 {:.0f}, max {:.0f}\n",
        r.samples, r.tsc_ghz, r.mean_ns, r.p50_ns, r.p90_ns, r.p99_ns, r.p999_ns, r.max_ns);
    if (o.json) {
        nlohmann::json j;
        j["book"] = o.book;
        j["commands"] = o.commands;
        j["resting_target"] = o.resting;
        j["resting_start"] = r.resting_start;
        j["resting_end"] = r.resting_end;
        j["owners"] = o.owners;
        j["recent_share"] = o.recent_share;
        j["seed"] = o.seed;
        j["seconds"] = r.seconds;
        j["ops_per_s"] = r.ops_per_s;
        j["cpu_seconds"] = r.cpu_seconds;
        j["ops_per_cpu_s"] = r.ops_per_cpu_s;
        j["mean_ns"] = r.mean_ns;
        j["p50_ns"] = r.p50_ns;
        j["p90_ns"] = r.p90_ns;
        j["p99_ns"] = r.p99_ns;
        j["p999_ns"] = r.p999_ns;
        j["max_ns"] = r.max_ns;
        j["latency_samples"] = r.samples;
        j["sample_every"] = o.sample_every;
        j["tsc_ghz"] = r.tsc_ghz;
        j["passive_adds"] = c.passive_adds;
        j["aggressive_adds"] = c.aggressive_adds;
        j["markets"] = c.markets;
        j["cancels"] = c.cancels;
        j["replaces"] = c.replaces;
        j["events"] = c.events;
        j["fills"] = c.fills;
        j["self_trades"] = c.self_trades;
        j["rejects"] = c.rejects;
        fmt::print("{}\n", j.dump());
    }
    return 0;
}
