#include "tests/integration/hostile/hostile_support.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <thread>

#include "engine/money/amount.h"

namespace fxsettle::hostile {

std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in in{};
    in.sin_family = AF_INET;
    in.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(fd, reinterpret_cast<sockaddr*>(&in), sizeof in) != 0) {
        ::close(fd);
        return 0;
    }
    socklen_t len = sizeof in;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&in), &len);
    ::close(fd);
    return ntohs(in.sin_port);
}

bool wait_for(const std::function<bool()>& pred, std::chrono::seconds limit) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (!pred()) {
        if (std::chrono::steady_clock::now() > deadline)
            return false;
        std::this_thread::sleep_for(2ms);
    }
    return true;
}

namespace {

std::string balance_text(const ledger::Balance& b) {
    return "dr " + b.debits_posted.to_string() + " cr " + b.credits_posted.to_string() +
           " pending dr " + b.debits_pending.to_string() + " cr " + b.credits_pending.to_string();
}

}  // namespace

std::string StateSnapshot::diff(const StateSnapshot& after) const {
    std::string out;
    if (last_sequence != after.last_sequence) {
        out += "journal entries " + std::to_string(last_sequence) + " -> " +
               std::to_string(after.last_sequence) + "; ";
    } else if (head_hash != after.head_hash) {
        out += "journal head hash changed; ";
    }
    for (const auto& [code, b] : after.balances) {
        const auto it = balances.find(code);
        if (it == balances.end())
            out += "new account " + code + "; ";
        else if (!(it->second == b))
            out += code + ": " + balance_text(it->second) + " -> " + balance_text(b) + "; ";
    }
    if (balances.size() != after.balances.size())
        out += "accounts " + std::to_string(balances.size()) + " -> " +
               std::to_string(after.balances.size()) + "; ";
    if (engine_hash != after.engine_hash)
        out += "engine state hash changed; ";
    return out;
}

NodeHarness::NodeHarness() {
    auto config = config::load_default_config();
    if (config)
        config_ = *config;
    std::string pattern =
        (std::filesystem::temp_directory_path() / "fxsettle-hostile-XXXXXX").string();
    if (::mkdtemp(pattern.data()) != nullptr)
        dir_ = pattern;
    dictionary_ = std::string(FXSETTLE_SOURCE_DIR_DEFAULT) + "/config/fix/FIX44-fxsettle.xml";
}

NodeHarness::~NodeHarness() {
    stop();
    std::error_code ec;
    if (!dir_.empty() && std::getenv("FXSETTLE_KEEP_TEST_FILES") == nullptr)
        std::filesystem::remove_all(dir_, ec);
}

void NodeHarness::stop() {
    if (node_)
        static_cast<void>(node_->stop(500ms));
    node_.reset();
    for (auto& v : venues_)
        v->stop();
    venues_.clear();
}

std::string NodeHarness::start(const HarnessOptions& options) {
    if (dir_.empty())
        return "no temporary directory";
    if (options.edit)
        options.edit(config_);
    std::map<std::string, std::uint16_t> venue_ports, bank_ports;
    for (const config::VenueConfig& v : config_.venues)
        venue_ports[v.id] = free_port();
    for (const config::BankConfig& b : config_.banks)
        bank_ports[b.id] = free_port();
    if (options.venues) {
        std::uint64_t seed = 11;
        for (const config::VenueConfig& v : config_.venues) {
            fxsim::VenueOptions o;
            o.venue_comp_id = v.target_comp_id;
            o.listen_port = venue_ports[v.id];
            o.dictionary_path = dictionary_;
            o.store_path = (dir_ / (v.id + ".lmdb")).string();
            std::vector<std::string> symbols;
            for (const money::CurrencyPair& pair : v.pairs)
                symbols.push_back(pair.to_string());
            auto q = fxsim::pair_quotes(config_, symbols, {});
            if (!q)
                return q.error().to_string();
            o.pairs = *q;
            o.stream_interval = 100ms;
            o.seed = ++seed;
            std::string error;
            auto venue = fxsim::VenueSim::create(o, &error);
            if (!venue || !venue->start(&error))
                return "venue " + v.id + ": " + error;
            venues_.push_back(std::move(venue));
        }
    }
    for (int attempt = 1;; ++attempt) {
        gateway_port_ = free_port();
        node::NodeOptions o;
        o.ledger_path = dir_ / "ledger.lmdb";
        o.data_dir = dir_ / "node";
        o.gateway_port = gateway_port_;
        o.venue_ports = venue_ports;
        o.bank_ports = bank_ports;
        o.reconnect_interval = 1s;
        o.clock = [this] { return clock_.now(); };
        o.stamp_rates_on_receipt = true;
        o.fix_logs = options.fix_logs;
        o.dictionary_path = dictionary_;
        o.log = [this](adapters::edge::LogLevel level, const std::string& message) {
            if (level == adapters::edge::LogLevel::kInfo)
                return;
            std::lock_guard lock(log_mu_);
            log_.push_back(std::string(adapters::edge::log_level_name(level)) + ": " + message);
        };
        auto node = node::Node::create(config_, o);
        if (!node)
            return node.error().to_string();
        const Status s = (*node)->start();
        if (s.is_ok()) {
            node_ = std::move(*node);
            break;
        }
        // A probed port taken by another process before the gateway bound it: another one.
        const bool port_taken =
            s.code() == StatusCode::kUnavailable && s.message().find("in use") != std::string::npos;
        if (!port_taken || attempt >= 5)
            return s.to_string();
        node->reset();
        std::error_code ec;
        std::filesystem::remove_all(dir_ / "node", ec);
        std::filesystem::remove(dir_ / "ledger.lmdb", ec);
        std::filesystem::remove(dir_ / "ledger.lmdb-lock", ec);
    }
    if (options.venues &&
        !wait_for([&] { return node_->counters().venues.rates_submitted >= 10; })) {
        return "no venue rates reached the node";
    }
    return {};
}

std::unique_ptr<RawFixClient> NodeHarness::client(const std::string& psp_id) const {
    RawClientOptions o;
    o.port = gateway_port_;
    const config::PspConfig* p = config_.find_psp(psp_id);
    o.sender_comp_id = p != nullptr ? p->sender_comp_id : psp_id;
    o.target_comp_id = config_.gateway.sender_comp_id;
    return std::make_unique<RawFixClient>(o);
}

std::unique_ptr<RawFixClient> NodeHarness::logged_on(const std::string& psp_id,
                                                     std::string* error) const {
    auto c = client(psp_id);
    if (!c->connect(error))
        return nullptr;
    const config::PspConfig* p = config_.find_psp(psp_id);
    if (p == nullptr || !c->logon(p->username, p->username + "-demo-password", error))
        return nullptr;
    return c;
}

bool NodeHarness::drained() {
    return wait_for([&] { return node_->drained(); });
}

StateSnapshot NodeHarness::snapshot() {
    StateSnapshot s;
    drained();
    auto view = node_->ledger().read();
    if (!view)
        return s;
    if (auto info = (*view)->info()) {
        s.last_sequence = info->last_sequence;
        s.head_hash = info->head_hash;
    }
    if (auto accounts = (*view)->accounts()) {
        for (const auto& a : *accounts) {
            if (auto b = (*view)->balance(a.id))
                s.balances[a.code] = *b;
        }
    }
    // The sequencer thread is idle once drained: the engine's state is still.
    s.engine_hash = node_->engine().state_hash();
    return s;
}

std::string NodeHarness::check_ledger() {
    drained();
    auto view = node_->ledger().read();
    if (!view)
        return view.error().to_string();
    std::string out;
    auto rows = (*view)->trial_balance();
    if (!rows)
        return rows.error().to_string();
    for (const auto& row : *rows) {
        if (row.debits_posted != row.credits_posted || row.debits_pending != row.credits_pending)
            out += row.currency.to_string() + " does not balance; ";
    }
    auto report = (*view)->verify();
    if (!report)
        return out + report.error().to_string();
    if (!report->ok)
        out += "verify: " + report->failure;
    return out;
}

std::size_t NodeHarness::logged(const std::string& needle) const {
    std::lock_guard lock(log_mu_);
    std::size_t n = 0;
    for (const std::string& line : log_)
        n += line.find(needle) != std::string::npos ? 1 : 0;
    return n;
}

std::vector<std::string> NodeHarness::log_lines() const {
    std::lock_guard lock(log_mu_);
    return log_;
}

RawClientOptions plain_options(std::uint16_t port, const std::string& comp_id) {
    RawClientOptions o;
    o.port = port;
    o.sender_comp_id = comp_id;
    return o;
}

// A TCP connection to the gateway that sends nothing (-1 if connect() failed).
int connect_silent(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    sockaddr_in to{};
    to.sin_family = AF_INET;
    to.sin_port = htons(port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<const sockaddr*>(&to), sizeof to) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Whether the gateway closed connection `fd` within `limit` (end of stream or reset), and
// how long that took.
bool closed_by_gateway(int fd, std::chrono::milliseconds limit, std::chrono::milliseconds* after) {
    const auto start = std::chrono::steady_clock::now();
    const auto deadline = start + limit;
    for (;;) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            deadline - std::chrono::steady_clock::now());
        if (left.count() <= 0)
            return false;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
            continue;
        char byte = 0;
        const ssize_t n = ::recv(fd, &byte, 1, 0);
        if (n == 0 || (n < 0 && errno == ECONNRESET)) {
            if (after != nullptr)
                *after = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::steady_clock::now() - start);
            return true;
        }
    }
}

}  // namespace fxsettle::hostile
