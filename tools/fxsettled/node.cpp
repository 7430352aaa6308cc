#include "tools/fxsettled/node.h"

#include <atomic>
#include <cstdio>
#include <limits>
#include <system_error>
#include <utility>

#include "adapters/convert/convert.h"
#include "adapters/edge/host_options.h"
#include "config/fix_dictionary.h"
#include "engine/core/engine.h"
#include "ledger/ledger.h"

namespace fxsettle::node {

namespace edge = adapters::edge;

// Records nothing itself: hands every delivery to the test's observer, then to EdgeSink.
class Node::ObservingSink final : public engine::EventSink<engine::Event> {
  public:
    ObservingSink(edge::EdgeSink& next,
                  std::function<void(std::span<const engine::Delivery<engine::Event>>)> observe)
        : next_(next), observe_(std::move(observe)) {}
    void deliver(std::span<const engine::Delivery<engine::Event>> deliveries) override {
        if (observe_)
            observe_(deliveries);
        next_.deliver(deliveries);
    }

  private:
    edge::EdgeSink& next_;
    std::function<void(std::span<const engine::Delivery<engine::Event>>)> observe_;
};

// The gateway's submitter: the sequencer's, until close_intake() shuts it.
class Node::GatedSubmitter final : public edge::CommandSubmitter {
  public:
    explicit GatedSubmitter(edge::CommandSubmitter& next) : next_(next) {}
    engine::SubmitResult submit(engine::Command&& command) override {
        if (closed_.load(std::memory_order_acquire))
            return engine::SubmitResult::kNotRunning;
        return next_.submit(std::move(command));
    }
    engine::SubmitResult submit_wait(engine::Command&& command,
                                     std::chrono::milliseconds timeout) override {
        if (closed_.load(std::memory_order_acquire))
            return engine::SubmitResult::kNotRunning;
        return next_.submit_wait(std::move(command), timeout);
    }
    void close() { closed_.store(true, std::memory_order_release); }

  private:
    edge::CommandSubmitter& next_;
    std::atomic<bool> closed_{false};
};

// The venue host's handler: notes when each venue's rates arrive (metrics), then hands
// everything to the VenueAdapter.
class Node::RateWatch final : public adapters::Handler {
  public:
    RateWatch(const config::Config& config, edge::VenueAdapter& next, edge::ClockFn clock)
        : next_(next), clock_(std::move(clock)), last_ns_(config.venues.size()) {
        for (std::size_t i = 0; i < config.venues.size(); ++i)
            index_[config.venues[i].target_comp_id] = i;
        for (auto& a : last_ns_)
            a.store(kNever, std::memory_order_relaxed);
    }
    std::string authenticate(const adapters::SessionKey& key, const std::string& username,
                             const std::string& password) override {
        return next_.authenticate(key, username, password);
    }
    void on_logon(const adapters::SessionKey& key) override { next_.on_logon(key); }
    void on_logout(const adapters::SessionKey& key) override { next_.on_logout(key); }
    void on_message(const adapters::SessionKey& key, adapters::WireMessage&& message) override {
        // Noted after the adapter submitted the rates, with the time read before it
        // stamped them: last(v) >= t means rates of v stamped at t or later are queued
        // for the engine (a test that waits for it and then for drained() knows the
        // engine priced with them).
        std::optional<std::size_t> venue;
        ledger::Timestamp::rep at = kNever;
        if (message.msg_type == "W" || message.msg_type == "X") {
            if (auto it = index_.find(key.target_comp_id); it != index_.end()) {
                venue = it->second;
                at = clock_().time_since_epoch().count();
            }
        }
        next_.on_message(key, std::move(message));
        if (venue)
            last_ns_[*venue].store(at, std::memory_order_relaxed);
    }
    void on_sent(const adapters::SessionKey& key,
                 const std::vector<std::uint64_t>& tokens) override {
        next_.on_sent(key, tokens);
    }
    std::optional<ledger::Timestamp> last(std::size_t venue) const {
        if (venue >= last_ns_.size())
            return std::nullopt;
        const auto ns = last_ns_[venue].load(std::memory_order_relaxed);
        if (ns == kNever)
            return std::nullopt;
        return ledger::Timestamp(ledger::Timestamp::duration(ns));
    }

  private:
    static constexpr ledger::Timestamp::rep kNever =
        std::numeric_limits<ledger::Timestamp::rep>::min();
    edge::VenueAdapter& next_;
    edge::ClockFn clock_;
    std::map<std::string, std::size_t> index_;  // target CompID -> venue index
    std::vector<std::atomic<ledger::Timestamp::rep>> last_ns_;
};

namespace {

std::string one_line(std::string text) {
    for (char& c : text) {
        if (c == '\n')
            c = ';';
    }
    return text;
}

Status with_context(const Status& s, const std::string& what) {
    return Status(s.code(), what + ": " + one_line(s.message()));
}

// The config with the test's overrides applied must still be a valid config: it is
// written as TOML and loaded back, which runs every check of the loader.
Status validate(const config::Config& config) {
    auto again = config::load_config_string(config::to_toml(config), config.source_name);
    if (!again.has_value())
        return with_context(again.error(), "invalid config");
    return {};
}

// Creates `dir` (and missing parents) when it does not exist and makes it owner-only
// (0700): it holds the FIX message stores and logs (every message, with amounts and
// beneficiaries). An existing directory keeps the mode its operator gave it.
void create_private_directory(const std::filesystem::path& dir, std::error_code& ec) {
    ec.clear();
    if (std::filesystem::exists(dir, ec) || ec)
        return;
    std::filesystem::create_directories(dir, ec);
    if (!ec)
        std::filesystem::permissions(dir, std::filesystem::perms::owner_all,
                                     std::filesystem::perm_options::replace, ec);
}

}  // namespace

Result<std::unique_ptr<Node>> Node::create(const config::Config& config, NodeOptions options) {
    std::unique_ptr<Node> node(new Node());
    node->config_ = config;
    config::Config& c = node->config_;
    if (options.gateway_port)
        c.gateway.listen.port = *options.gateway_port;
    for (config::VenueConfig& v : c.venues) {
        if (auto it = options.venue_ports.find(v.id); it != options.venue_ports.end())
            v.port = it->second;
        if (options.reconnect_interval)
            v.reconnect_interval_s = *options.reconnect_interval;
    }
    for (config::BankConfig& b : c.banks) {
        if (auto it = options.bank_ports.find(b.id); it != options.bank_ports.end())
            b.port = it->second;
        if (options.reconnect_interval)
            b.reconnect_interval_s = *options.reconnect_interval;
    }
    for (const auto& [id, port] : options.venue_ports) {
        if (c.find_venue(id) == nullptr)
            return fail(StatusCode::kInvalidArgument,
                        "invalid node options: no venue '" + id + "' in the config");
    }
    for (const auto& [id, port] : options.bank_ports) {
        if (c.find_bank(id) == nullptr)
            return fail(StatusCode::kInvalidArgument,
                        "invalid node options: no bank '" + id + "' in the config");
    }
    if (Status s = validate(c); !s)
        return fail(std::move(s));

    node->ledger_path_ = options.ledger_path.value_or(std::filesystem::path(c.ledger.path));
    node->data_dir_ = options.data_dir.value_or(std::filesystem::path(c.node.data_dir));
    std::error_code ec;
    create_private_directory(node->data_dir_, ec);
    if (ec)
        return fail(StatusCode::kIoError, "cannot create the data directory " +
                                              node->data_dir_.string() + ": " + ec.message());
    if (node->ledger_path_.has_parent_path()) {
        create_private_directory(node->ledger_path_.parent_path(), ec);
        if (ec)
            return fail(StatusCode::kIoError, "cannot create the ledger's directory " +
                                                  node->ledger_path_.parent_path().string() + ": " +
                                                  ec.message());
    }
    node->clock_ = options.clock ? options.clock : [] {
        return ledger::Timestamp(std::chrono::duration_cast<ledger::Timestamp::duration>(
            std::chrono::system_clock::now().time_since_epoch()));
    };
    if (!options.log) {
        options.log = [](edge::LogLevel level, const std::string& message) {
            std::fprintf(stderr, "fxsettled %s: %s\n", edge::log_level_name(level).data(),
                         message.c_str());
        };
    }
    if (options.dictionary_path.empty()) {
        // The compiled-in dictionary, written into the data directory for QuickFIX.
        auto written = config::write_fix_dictionary(node->data_dir_);
        if (!written)
            return fail(std::move(written.error()));
        options.dictionary_path = written->string();
    }
    if (!std::filesystem::is_regular_file(options.dictionary_path, ec))
        return fail(
            StatusCode::kInvalidArgument,
            "the FIX data dictionary " + options.dictionary_path + " is not a readable file");

    // ---- the ledger and the engine ----
    ledger::OpenOptions lo;
    lo.path = node->ledger_path_;
    lo.map_size_initial_bytes = c.ledger.map_size_initial_mb << 20;
    lo.map_size_max_bytes = c.ledger.map_size_max_mb << 20;
    auto ledger = ledger::Ledger::open(lo);
    if (!ledger.has_value())
        return fail(with_context(ledger.error(), "cannot open the ledger " + lo.path.string()));
    node->ledger_ = std::move(*ledger);
    auto engine = engine::Engine::create(c);
    if (!engine.has_value())
        return fail(with_context(engine.error(), "cannot create the engine"));
    node->engine_ = std::make_unique<engine::Engine>(std::move(*engine));
    {
        auto view = node->ledger_->read();
        if (!view.has_value())
            return fail(with_context(view.error(), "cannot read the ledger"));
        auto accounts = (*view)->accounts();
        if (!accounts.has_value())
            return fail(with_context(accounts.error(), "cannot read the ledger's accounts"));
        if (accounts->empty()) {
            view->reset();
            const auto ops = node->engine_->initial_operations();
            auto results = node->ledger_->commit(ops, node->clock_());
            if (!results.has_value())
                return fail(with_context(results.error(), "cannot create the chart's accounts"));
            for (const ledger::OpResult& r : *results) {
                if (!ledger::is_success(r.code))
                    return fail(StatusCode::kCorruption,
                                "cannot create the chart's accounts: " +
                                    std::string(ledger::result_code_name(r.code)) + " " + r.detail);
            }
        } else if (Status s = node->engine_->recover(**view); !s) {
            return fail(with_context(s, "cannot recover the engine from " + lo.path.string()));
        }
    }

    // ---- the edge and the sequencer (adapters/edge/README.md, "Wiring") ----
    auto converter = adapters::convert::Converter::create(c);
    if (!converter.has_value())
        return fail(with_context(converter.error(), "cannot create the FIX converter"));
    node->converter_ = std::make_unique<adapters::convert::Converter>(std::move(*converter));
    const edge::ClockFn clock = node->clock_;
    node->sink_ = std::make_unique<edge::EdgeSink>(*node->converter_, clock, options.log);
    node->observing_ = std::make_unique<ObservingSink>(*node->sink_, options.observe);
    auto seq = Seq::create(*node->engine_, *node->ledger_, node->clock_, *node->observing_,
                           engine::sequencer_options(c.engine));
    if (!seq.has_value())
        return fail(with_context(seq.error(), "cannot create the sequencer"));
    node->seq_ = std::move(*seq);
    node->submitter_ = std::make_unique<edge::SequencerSubmitter<Seq>>(*node->seq_);
    node->gateway_submitter_ = std::make_unique<GatedSubmitter>(*node->submitter_);
    node->gateway_ = std::make_unique<edge::Gateway>(c, *node->converter_,
                                                     *node->gateway_submitter_, clock, options.log);
    edge::VenueAdapterOptions vo;
    vo.stamp_rates_on_receipt = options.stamp_rates_on_receipt;
    node->venues_ = std::make_unique<edge::VenueAdapter>(c, *node->converter_, *node->submitter_,
                                                         clock, options.log, vo);
    node->banks_ = std::make_unique<edge::BankAdapter>(c, *node->converter_, *node->submitter_,
                                                       clock, options.log);
    node->sink_->attach(node->gateway_.get(), node->venues_.get(), node->banks_.get());
    node->sink_->set_acknowledge(edge::acknowledge_with(*node->seq_));

    const auto files = [&](const std::string& name) {
        std::string log_dir;
        if (options.fix_logs) {
            create_private_directory(node->data_dir_ / "fix-logs", ec);
            const auto dir = node->data_dir_ / "fix-logs" / name;
            create_private_directory(dir, ec);
            log_dir = dir.string();
        }
        return edge::HostFiles{options.dictionary_path,
                               (node->data_dir_ / ("fix-" + name + ".lmdb")).string(), log_dir};
    };
    const auto make_host =
        [&](adapters::HostOptions ho, adapters::Handler& handler,
            const std::string& name) -> Result<std::unique_ptr<adapters::SessionHost>> {
        std::string error;
        auto host = adapters::SessionHost::create(std::move(ho), handler, &error);
        if (!host)
            return fail(StatusCode::kInvalidArgument,
                        "cannot create the " + name + " FIX host: " + one_line(error));
        return host;
    };
    auto gw =
        make_host(edge::gateway_host_options(c, files("gateway")), *node->gateway_, "gateway");
    if (!gw.has_value())
        return fail(gw.error());
    node->gateway_host_ = std::move(*gw);
    node->rate_watch_ = std::make_unique<RateWatch>(c, *node->venues_, clock);
    auto vh = make_host(edge::venue_host_options(c, files("venues")), *node->rate_watch_, "venue");
    if (!vh.has_value())
        return fail(vh.error());
    node->venue_host_ = std::move(*vh);
    auto bh = make_host(edge::bank_host_options(c, files("banks")), *node->banks_, "bank");
    if (!bh.has_value())
        return fail(bh.error());
    node->bank_host_ = std::move(*bh);
    node->gateway_->attach(node->gateway_host_.get());
    node->venues_->attach(node->venue_host_.get());
    node->banks_->attach(node->bank_host_.get());
    node->options_ = std::move(options);
    return node;
}

Node::~Node() {
    static_cast<void>(stop());
}

Status Node::start() {
    if (started_ || stopped_)
        return Status(StatusCode::kFailedPrecondition,
                      "the node was started already; create a new one to start again");
    started_ = true;
    if (Status s = seq_->start(); !s) {
        stopped_ = true;
        return with_context(s, "cannot start the sequencer");
    }
    const std::pair<adapters::SessionHost*, const char*> hosts[] = {
        {gateway_host_.get(), "gateway"}, {venue_host_.get(), "venue"}, {bank_host_.get(), "bank"}};
    for (const auto& [host, name] : hosts) {
        std::string error;
        if (!host->start(&error)) {
            static_cast<void>(stop(std::chrono::milliseconds{200}));
            return Status(StatusCode::kUnavailable, std::string("cannot start the ") + name +
                                                        " FIX host: " + one_line(error));
        }
    }
    return {};
}

Status Node::stop(std::chrono::milliseconds grace) {
    if (!started_ || stopped_) {
        stopped_ = true;
        return {};
    }
    stopped_ = true;
    // PSP-facing first, then the counterparties: stop() hands every queued message to
    // QuickFIX, so the last on_sent acknowledgements reach the sequencer before it stops.
    gateway_host_->stop("fxsettle node stopping", grace);
    venue_host_->stop("fxsettle node stopping", grace);
    bank_host_->stop("fxsettle node stopping", grace);
    if (Status s = seq_->stop(); !s)
        return with_context(s, "the sequencer failed");
    return {};
}

void Node::wake() {
    seq_->wake();
}

void Node::close_intake() {
    gateway_submitter_->close();
}

std::optional<ledger::Timestamp> Node::last_rate_at(engine::VenueIndex venue) const {
    return rate_watch_->last(venue);
}

Status Node::health() const {
    return seq_->error();
}

engine::SequencerCounters Node::sequencer_counters() const {
    return seq_->counters();
}

bool Node::drained() const {
    const auto g = gateway_->counters();
    const auto v = venues_->counters();
    const auto b = banks_->counters();
    const std::uint64_t submitted = g.commands_submitted + v.rates_submitted + v.fills_submitted +
                                    v.rejects_submitted + b.confirmations + b.line_confirmations +
                                    b.line_rejections + b.deposits;
    const auto c = seq_->counters();
    const auto s = sink_->counters();
    // routed: the sink counts a batch once every event of it was handed to its adapter
    // (a hedge is in flight, a payment order unconfirmed); the sequencer counts events
    // before it delivers them.
    return c.commands >= submitted && c.queue_depth == 0 && s.routed >= c.events + c.redelivered &&
           s.pending == 0 && v.deferred_now == 0 && b.deferred_now == 0;
}

NodeCounters Node::counters() const {
    NodeCounters n;
    n.sequencer = seq_->counters();
    n.gateway = gateway_->counters();
    n.venues = venues_->counters();
    n.banks = banks_->counters();
    n.sink = sink_->counters();
    n.gateway_host = gateway_host_->counters();
    n.venue_host = venue_host_->counters();
    n.bank_host = bank_host_->counters();
    return n;
}

}  // namespace fxsettle::node
