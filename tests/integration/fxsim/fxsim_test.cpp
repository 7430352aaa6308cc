// The simulators over real FIX on loopback: each against a SessionHost the test drives
// (the role fxsettle's adapters play), on free ports, with the project's dictionary. Every
// message a simulator sends is checked with wire_check as well as by the receiving session.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "adapters/fix/session_host.h"
#include "adapters/fix/wire_check.h"
#include "tests/integration/fxledger/fxledger_test_support.h"
#include "tools/fxledger/statement.h"
#include "tools/fxsim/bank_sim.h"
#include "tools/fxsim/psp_sim.h"
#include "tools/fxsim/venue_sim.h"

namespace fxsettle::fxsim {
namespace {

using ::testing::HasSubstr;
using namespace std::chrono_literals;
namespace fxt = fxsettle::fxledger::testing;

std::uint16_t free_port() {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

config::Config default_config() {
    auto c = config::load_default_config();
    EXPECT_TRUE(c.has_value());
    return *c;
}

// The counterparty the test drives: records what arrives, answers through `reply`.
class Peer : public adapters::Handler {
  public:
    std::function<void(const SessionKey&, const WireMessage&)> reply;
    std::function<std::string(const std::string&, const std::string&)> auth;

    std::string authenticate(const SessionKey&, const std::string& u,
                             const std::string& p) override {
        return auth ? auth(u, p) : "";
    }
    void on_logon(const SessionKey& k) override {
        std::lock_guard l(mu_);
        up_.push_back(k);
        cv_.notify_all();
    }
    void on_logout(const SessionKey&) override {
        std::lock_guard l(mu_);
        ++logouts_;
        cv_.notify_all();
    }
    void on_message(const SessionKey& k, WireMessage&& m) override {
        if (reply) {
            reply(k, m);
        }
        std::lock_guard l(mu_);
        got_.push_back(std::move(m));
        cv_.notify_all();
    }
    void on_sent(const SessionKey&, const std::vector<std::uint64_t>&) override {}

    bool wait_logons(std::size_t n, std::chrono::seconds t = 30s) {
        std::unique_lock l(mu_);
        return cv_.wait_for(l, t, [&] { return up_.size() >= n; });
    }
    bool wait_logouts(std::size_t n, std::chrono::seconds t = 30s) {
        std::unique_lock l(mu_);
        return cv_.wait_for(l, t, [&] { return logouts_ >= n; });
    }
    // Waits until `n` messages of `type` arrived since the last take(); returns them.
    std::vector<WireMessage> take(const std::string& type, std::size_t n,
                                  std::chrono::seconds t = 30s) {
        std::unique_lock l(mu_);
        cv_.wait_for(l, t, [&] { return count_locked(type) >= n; });
        std::vector<WireMessage> out;
        for (auto it = got_.begin(); it != got_.end();) {
            if (it->msg_type == type) {
                out.push_back(std::move(*it));
                it = got_.erase(it);
            } else {
                ++it;
            }
        }
        return out;
    }
    std::vector<WireMessage> all() {
        std::lock_guard l(mu_);
        return {got_.begin(), got_.end()};
    }

  private:
    std::size_t count_locked(const std::string& type) const {
        return static_cast<std::size_t>(std::count_if(
            got_.begin(), got_.end(), [&](const WireMessage& m) { return m.msg_type == type; }));
    }
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<WireMessage> got_;
    std::vector<SessionKey> up_;
    std::size_t logouts_ = 0;
};

void expect_valid(const WireMessage& m) {
    EXPECT_EQ(adapters::wire_check(m, FXSIM_DICTIONARY), "") << "message " << m.msg_type;
}

std::string field(const WireMessage& m, int tag) {
    const std::string* v = m.find(tag);
    return v ? *v : "<missing " + std::to_string(tag) + ">";
}

std::unique_ptr<adapters::SessionHost> initiator(Peer& peer, const fxt::TempDir& dir,
                                                 const std::string& name, SessionKey key,
                                                 std::uint16_t port) {
    adapters::HostOptions h;
    h.role = adapters::HostRole::kInitiator;
    h.dictionary_path = FXSIM_DICTIONARY;
    h.store_path = (dir.path() / (name + ".mdb")).string();
    adapters::SessionSpec s;
    s.key = std::move(key);
    s.connect_port = port;
    s.reconnect_interval = 1s;
    h.sessions.push_back(s);
    std::string error;
    auto host = adapters::SessionHost::create(h, peer, &error);
    EXPECT_TRUE(host) << error;
    if (host) {
        EXPECT_TRUE(host->start(&error)) << error;
    }
    return host;
}

// ---- venue -----------------------------------------------------------------------------

VenueOptions venue_options(const fxt::TempDir& dir) {
    VenueOptions o;
    o.venue_comp_id = "VENUEA";
    o.client_comp_ids = {"FXSETTLE"};
    o.listen_port = free_port();
    o.dictionary_path = FXSIM_DICTIONARY;
    o.store_path = (dir.path() / "venue.mdb").string();
    auto q = pair_quotes(default_config(), {"USD/CNY", "JPY/CNY"}, {});
    EXPECT_TRUE(q.has_value());
    o.pairs = *q;
    o.stream_interval = 50ms;
    o.seed = 7;
    return o;
}

WireMessage order(const std::string& cl, const std::string& side, const std::string& qty,
                  const std::string& px, const std::string& tif = "3") {
    WireMessage d;
    d.msg_type = "D";
    d.add(11, cl).add(55, "USD/CNY").add(54, side).add(60, "20261123-09:00:00.000");
    d.add(38, qty).add(40, "2").add(44, px).add(15, "USD").add(59, tif);
    return d;
}

TEST(VenueBookTest, WalkIsSeededAndFillsNeverWorseThanTheLimit) {
    VenueOptions o;
    auto q = pair_quotes(default_config(), {"USD/CNY"}, {{"USD/CNY", "7.1"}});
    ASSERT_TRUE(q.has_value());
    VenueBook a((*q)[0], o), b((*q)[0], o);
    Rng ra(3), rb(3);
    for (int i = 0; i < 1000; ++i) {
        a.step(ra);
        b.step(rb);
        ASSERT_EQ(a.mid(), b.mid()) << "same seed, different walk at step " << i;
        ASSERT_EQ(a.mid() % (*q)[0].tick, 0) << "the mid left the tick grid";
        ASSERT_LT(a.bids()[0].price, a.asks()[0].price) << "crossed book";
    }
    const auto asks = a.asks();
    const money::Currency usd = (*q)[0].pair.base;
    // A buy of more than the best level at the second level's price fills all there.
    const auto two_levels = asks[0].size + asks[1].size;
    auto f = a.match('1', two_levels, asks[1].price, false);
    EXPECT_EQ(f.qty, two_levels);
    EXPECT_EQ(f.price, asks[1].price);
    // Limited to the best level: an IOC takes the best level only; a FOK nothing.
    f = a.match('1', two_levels, asks[0].price, false);
    EXPECT_EQ(f.qty, asks[0].size);
    EXPECT_LE(f.price, asks[0].price);
    EXPECT_TRUE(a.match('1', two_levels, asks[0].price, true).qty.is_zero());
    // A sell below the best bid hits it.
    f = a.match('2', money::Amount::from_minor(100), a.bids()[0].price - (*q)[0].tick, false);
    EXPECT_EQ(f.price, a.bids()[0].price);
    (void)usd;
}

TEST(VenueSimTest, StreamsValidSnapshotsAndIncrementsAndFillsRejectsAndSplits) {
    fxt::TempDir dir("fxsim-venue");
    std::string error;
    auto venue = VenueSim::create(venue_options(dir), &error);
    ASSERT_TRUE(venue) << error;
    ASSERT_TRUE(venue->start(&error)) << error;
    Peer peer;
    const SessionKey key{"FXSETTLE", "VENUEA"};
    auto host = initiator(peer, dir, "client", key, venue->listen_port());
    ASSERT_TRUE(peer.wait_logons(1)) << "no logon to the venue";

    WireMessage v;
    v.msg_type = "V";
    v.add(262, "MD-1").add(263, "1").add(264, "3");
    v.groups.push_back({267, {{{269, "0"}}, {{269, "1"}}}});
    v.groups.push_back({146, {{{55, "USD/CNY"}}, {{55, "JPY/CNY"}}}});
    host->send(key, v);
    auto w = peer.take("W", 2);
    ASSERT_EQ(w.size(), 2u) << "one snapshot per pair";
    for (const auto& m : w) {
        expect_valid(m);
        EXPECT_EQ(m.find_group(268)->entries.size(), 6u) << "3 levels a side";
    }
    auto x = peer.take("X", 3);
    ASSERT_GE(x.size(), 3u) << "incremental refreshes stream";
    for (const auto& m : x) {
        expect_valid(m);
    }

    // A buy IOC through the best ask fills, at or better than the limit.
    const auto mid = *venue->mid("USD/CNY");
    const auto pair = venue_options(dir).pairs[0].pair;
    const std::string through = format_price(pair, mid + 100 * 10'000'000'000LL);
    host->send(key, order("B-1", "1", "250000.00", through));
    auto er = peer.take("8", 1);
    ASSERT_EQ(er.size(), 1u);
    expect_valid(er[0]);
    EXPECT_EQ(field(er[0], 150), "F");
    EXPECT_EQ(field(er[0], 39), "2");
    EXPECT_EQ(field(er[0], 14), "250000.00");
    auto last = parse_price(pair, field(er[0], 31));
    ASSERT_TRUE(last.has_value());
    EXPECT_LE(*last, *parse_price(pair, through));
    EXPECT_EQ(field(er[0], 7401), "CNY");
    const std::string exec_id = field(er[0], 17);

    // A limit far below the book cannot trade: cancelled.
    host->send(key, order("B-2", "1", "1000.00", "6.0"));
    er = peer.take("8", 1);
    ASSERT_EQ(er.size(), 1u);
    expect_valid(er[0]);
    EXPECT_EQ(field(er[0], 39), "4");
    EXPECT_EQ(field(er[0], 14), "0.00");

    // A GTC order is refused: the venue takes IOC and FOK.
    host->send(key, order("B-3", "1", "1000.00", through, "1"));
    er = peer.take("8", 1);
    ASSERT_EQ(er.size(), 1u);
    EXPECT_EQ(field(er[0], 39), "8");
    EXPECT_EQ(field(er[0], 103), "11");

    // Fault: every order rejected.
    VenueFaults f;
    f.reject_permille = 1000;
    venue->set_faults(f);
    host->send(key, order("B-4", "2", "1000.00", "6.0"));
    er = peer.take("8", 1);
    ASSERT_EQ(er.size(), 1u);
    expect_valid(er[0]);
    EXPECT_EQ(field(er[0], 150), "8");
    EXPECT_THAT(field(er[0], 58), HasSubstr("simulated"));

    // Fault: every fill in two parts, the second completing the order.
    f = {};
    f.partial_fill_permille = 1000;
    venue->set_faults(f);
    host->send(key, order("B-5", "2", "1000.01", "6.0"));
    er = peer.take("8", 2);
    ASSERT_EQ(er.size(), 2u);
    EXPECT_EQ(field(er[0], 39), "1");
    EXPECT_EQ(field(er[0], 32), "500.00");
    EXPECT_EQ(field(er[1], 39), "2");
    EXPECT_EQ(field(er[1], 32), "500.01");
    EXPECT_EQ(field(er[1], 14), "1000.01");
    EXPECT_NE(field(er[0], 17), field(er[1], 17)) << "ExecIDs must be unique";

    // The same ClOrdID again (PossDup): the original report, the same ExecID.
    WireMessage again = order("B-1", "1", "250000.00", through);
    again.poss_dup = true;
    host->send(key, again);
    er = peer.take("8", 1);
    ASSERT_EQ(er.size(), 1u);
    EXPECT_EQ(field(er[0], 17), exec_id);

    // OrderStatusRequest: the order's state; an unknown one: rejected, unknown order.
    WireMessage h;
    h.msg_type = "H";
    h.add(11, "B-5").add(790, "ST-1").add(55, "USD/CNY").add(54, "2");
    host->send(key, h);
    WireMessage h2 = h;
    h2.fields[0].value = "NOPE";
    host->send(key, h2);
    er = peer.take("8", 2);
    ASSERT_EQ(er.size(), 2u);
    expect_valid(er[0]);
    expect_valid(er[1]);
    EXPECT_EQ(field(er[0], 150), "I");
    EXPECT_EQ(field(er[0], 39), "2");
    EXPECT_EQ(field(er[0], 14), "1000.01");
    EXPECT_EQ(field(er[0], 790), "ST-1");
    EXPECT_EQ(field(er[1], 39), "8");
    EXPECT_EQ(field(er[1], 103), "5");

    const auto fig = venue->figures();
    EXPECT_EQ(fig.orders, 5u);
    EXPECT_EQ(fig.rejected, 2u);
    host->stop();
    venue->stop();
}

TEST(VenueSimTest, DisconnectsAfterNMessagesAndGoesSilent) {
    fxt::TempDir dir("fxsim-venue-faults");
    VenueOptions o = venue_options(dir);
    o.faults.disconnect_after_messages = 2;
    o.faults.silent = true;
    std::string error;
    auto venue = VenueSim::create(o, &error);
    ASSERT_TRUE(venue) << error;
    ASSERT_TRUE(venue->start(&error)) << error;
    Peer peer;
    const SessionKey key{"FXSETTLE", "VENUEA"};
    auto host = initiator(peer, dir, "client", key, venue->listen_port());
    ASSERT_TRUE(peer.wait_logons(1));
    WireMessage v;
    v.msg_type = "V";
    v.add(262, "MD-1").add(263, "1").add(264, "1");
    v.groups.push_back({267, {{{269, "0"}}}});
    v.groups.push_back({146, {{{55, "USD/CNY"}}}});
    host->send(key, v);
    // The second message is booked, unanswered, and the session dropped.
    host->send(key, order("C-1", "2", "1000.00", "6.0"));
    ASSERT_TRUE(peer.wait_logouts(1)) << "the venue did not disconnect";
    EXPECT_TRUE(venue->order("FXSETTLE", "C-1").has_value()) << "the order was not booked";
    // The fill is booked, so an OrderStatusRequest after a reconnect recovers it. (The
    // reconnect itself is not tested here: SessionHost::logout disables the QuickFIX
    // session, which then refuses the next Logon.)
    const auto booked = venue->order("FXSETTLE", "C-1");
    ASSERT_TRUE(booked.has_value());
    EXPECT_EQ(booked->ord_status, '2');
    EXPECT_EQ(booked->reports.size(), 1u);
    EXPECT_EQ(peer.take("W", 0).size() + peer.take("X", 0).size(), 0u) << "a silent venue streamed";
    EXPECT_EQ(venue->figures().disconnects, 1u);
    host->stop();
    venue->stop();
}

// ---- bank ------------------------------------------------------------------------------

WireMessage payment_order(const std::string& id, const std::vector<std::string>& amounts) {
    WireMessage u;
    u.msg_type = "U3";
    money::Amount total;
    const money::Currency cny = *money::CurrencyTable::iso().find("CNY");
    WireGroup g{7202, {}};
    for (std::size_t i = 0; i < amounts.size(); ++i) {
        total += *money::parse_amount(amounts[i], cny);
        g.entries.push_back({{7203, std::to_string(i)},
                             {7101, std::to_string(100 + i)},
                             {7105, "bank-cn"},
                             {7106, "6222020200112233"},
                             {7107, "Shenzhen Lighting Co Ltd"},
                             {7108, "CN"},
                             {7204, amounts[i]},
                             {7205, "CNY"}});
    }
    u.add(15, "CNY").add(60, "20261123-08:00:00.000").add(64, "20261124").add(7200, id);
    u.add(7201, money::format_amount(total, cny));
    u.groups.push_back(std::move(g));
    return u;
}

BankOptions bank_options(const fxt::TempDir& dir) {
    BankOptions o;
    o.bank_id = "bank-cn";
    o.bank_comp_id = "BANKCN";
    o.listen_port = free_port();
    o.dictionary_path = FXSIM_DICTIONARY;
    o.store_path = (dir.path() / "bank.mdb").string();
    o.currencies = {*money::CurrencyTable::iso().find("CNY"),
                    *money::CurrencyTable::iso().find("HKD")};
    o.confirm_delay = 20ms;
    return o;
}

TEST(BankSimTest, ConfirmsIsIdempotentRejectsItsShareAndWritesAStatementFxledgerReconciles) {
    fxt::TempDir dir("fxsim-bank");
    std::string error;
    auto bank = BankSim::create(bank_options(dir), &error);
    ASSERT_TRUE(bank) << error;
    ASSERT_TRUE(bank->start(&error)) << error;
    Peer peer;
    const SessionKey key{"FXSETTLE", "BANKCN"};
    auto host = initiator(peer, dir, "engine", key, bank->listen_port());
    ASSERT_TRUE(peer.wait_logons(1));

    host->send(key, payment_order("PO-41", {"1000.00", "2500.50", "99.99"}));
    auto u4 = peer.take("U4", 1);
    ASSERT_EQ(u4.size(), 1u);
    expect_valid(u4[0]);
    const auto* lines = u4[0].find_group(7208);
    ASSERT_NE(lines, nullptr);
    ASSERT_EQ(lines->entries.size(), 3u);
    for (const auto& e : lines->entries) {
        EXPECT_EQ(*adapters::find_in_entry(e, 7209), "C");
    }

    // The same order again, as a possible resend: answered again, booked once.
    WireMessage again = payment_order("PO-41", {"1000.00", "2500.50", "99.99"});
    again.poss_resend = true;
    host->send(key, again);
    auto repeat = peer.take("U4", 1);
    ASSERT_EQ(repeat.size(), 1u);
    ASSERT_EQ(repeat[0].fields.size(), u4[0].fields.size());
    for (std::size_t i = 0; i < u4[0].fields.size(); ++i) {
        EXPECT_EQ(repeat[0].fields[i].value, u4[0].fields[i].value)
            << "the repeat's answer differs at tag " << u4[0].fields[i].tag;
    }
    ASSERT_EQ(bank->bookings().size(), 3u) << "a resent payment order was booked twice";
    // The statement's EndToEndId is the engine's ledger reference, which names the order
    // by its number, not by the wire PaymentOrderID "PO-41".
    EXPECT_EQ(bank->bookings()[0].end_to_end_id, "payment order 41 line 0 confirmed");
    EXPECT_EQ(bank->figures().repeats, 1u);

    // Every line rejected with an ISO 20022 code; a bad control sum refuses the order.
    bank->set_reject_permille(1000);
    host->send(key, payment_order("42", {"10.00", "20.00"}));
    WireMessage bad_sum = payment_order("43", {"10.00"});
    bad_sum.fields[4].value = "11.00";
    host->send(key, bad_sum);
    u4 = peer.take("U4", 2);
    ASSERT_EQ(u4.size(), 2u);
    for (const auto& e : u4[0].find_group(7208)->entries) {
        EXPECT_EQ(*adapters::find_in_entry(e, 7209), "R");
        EXPECT_THAT((std::vector<std::string>{"AC04", "AC01", "AG01"}),
                    ::testing::Contains(*adapters::find_in_entry(e, 7210)));
    }
    EXPECT_EQ(*adapters::find_in_entry(u4[1].find_group(7208)->entries[0], 7210), "AM10");

    // A deposit notice, then the statement.
    auto ref = bank->send_deposit("alpha", money::Money{money::Amount::from_minor(5'000'000),
                                                        *money::CurrencyTable::iso().find("CNY")});
    ASSERT_TRUE(ref.has_value()) << ref.error().message();
    auto u6 = peer.take("U6", 1);
    ASSERT_EQ(u6.size(), 1u);
    expect_valid(u6[0]);
    EXPECT_EQ(field(u6[0], 7600), *ref);
    EXPECT_EQ(field(u6[0], 7601), "50000.00");
    EXPECT_FALSE(bank->send_deposit("alpha", money::Money{money::Amount::from_minor(1),
                                                          *money::CurrencyTable::iso().find("USD")})
                     .has_value())
        << "a deposit in a currency the bank does not keep";

    host->stop();
    bank->stop();
    auto files = bank->write_statements(dir.path() / "statements");
    ASSERT_TRUE(files.has_value()) << files.error().message();
    ASSERT_EQ(files->size(), 2u);
    const std::string xml = fxt::read_text((*files)[0]);
    EXPECT_THAT(xml, HasSubstr("urn:iso:std:iso:20022:tech:xsd:camt.053.001.02"));
    auto st = fxledger::parse_camt053_statement(xml);
    ASSERT_TRUE(st.has_value()) << st.error().message();
    ASSERT_EQ(st->lines.size(), 4u) << "three confirmed lines and a deposit";
    ASSERT_TRUE(st->closing.has_value());
    EXPECT_EQ(money::format_money(st->closing->amount), "46399.51 CNY");

    // The ledger fxsettle would hold: the same movements on its BANKCN CNY nostro, with
    // the engine's references and value dates. fxledger reconciles the bank's file.
    const auto ledger_path = dir.path() / "ledger.lmdb";
    {
        ledger::OpenOptions oo;
        oo.path = ledger_path;
        auto opened = ledger::Ledger::open(oo);
        ASSERT_TRUE(opened.has_value()) << opened.error().to_string();
        ledger::Ledger& l = **opened;
        std::vector<ledger::Operation> accounts{
            {ledger::CreateAccount{fxt::make_account(1, "bank-cn", ledger::AccountKind::kNostro,
                                                     "CNY", "bank-cn/nostro/CNY")},
             false},
            {ledger::CreateAccount{fxt::make_account(2, "fxsettle",
                                                     ledger::AccountKind::kSettlement, "CNY",
                                                     "fxsettle/settlement/CNY")},
             false}};
        ASSERT_TRUE(l.commit(accounts, fxt::minute(0)).has_value());
        std::uint64_t n = 0;
        for (const Booking& b : bank->bookings()) {
            if (b.currency.code_view() != "CNY") {
                continue;
            }
            const bool credit = b.amount.is_positive();
            const money::Amount abs = credit ? b.amount : -b.amount;
            ASSERT_NO_FATAL_FAILURE(fxt::commit_one(
                l,
                {fxt::transfer(++n, b.end_to_end_id, ledger::Date(b.value_date), credit ? 1 : 2,
                               credit ? 2 : 1, money::format_amount(abs, b.currency), "CNY")},
                static_cast<int>(n)));
        }
    }
    const std::string cmd = std::string(FXLEDGER_BIN) + " --ledger " + ledger_path.string() +
                            " reconcile --account bank-cn/nostro/CNY --statement " +
                            (*files)[0].string() + " 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string out;
    char buf[4096];
    while (std::size_t r = std::fread(buf, 1, sizeof buf, p)) {
        out.append(buf, r);
    }
    const int status = ::pclose(p);
    EXPECT_EQ(WEXITSTATUS(status), 0) << out;
    EXPECT_THAT(out, HasSubstr("RECONCILED")) << out;
}

// ---- PSP -------------------------------------------------------------------------------

TEST(PspSimTest, SendsValidRequestsOfEveryKindAndCountsTheAnswers) {
    fxt::TempDir dir("fxsim-psp");
    const config::Config cfg = default_config();
    PspOptions o;
    o.gateway_port = free_port();
    o.dictionary_path = FXSIM_DICTIONARY;
    o.store_path = (dir.path() / "psp.mdb").string();
    o.reconnect_interval = 1s;
    o.pairs = *pair_quotes(cfg, {}, {});
    o.banks = {{"CNY", "bank-cn"}, {"USD", "bank-intl"}, {"EUR", "bank-intl"}};
    o.rate_per_s = 400;
    o.messages_max = 120;
    o.possdup_permille = 50;
    o.seed = 11;
    const auto cur = [&](const char* c) { return *cfg.currency_table.find(c); };
    o.psps = {
        {"alpha", "ALPHAPAY", "alpha", "alpha-demo-password", {cur("USD"), cur("EUR")}, cur("CNY")},
        {"borealis",
         "BOREALIS",
         "borealis",
         "borealis-demo-password",
         {cur("EUR"), cur("GBP")},
         cur("CNY")}};

    // The gateway's part: checks the logon, answers D/F/G with 8, R with S, U1 with U2.
    Peer gw;
    std::unique_ptr<adapters::SessionHost> host;
    std::mutex host_mu;
    std::atomic<std::uint64_t> n{0};
    gw.auth = [](const std::string& u, const std::string& p) {
        return p == u + "-demo-password" ? "" : "bad password for " + u;
    };
    gw.reply = [&](const SessionKey& k, const WireMessage& m) {
        WireMessage r;
        const std::string id = std::to_string(++n);
        if (m.msg_type == "D" || m.msg_type == "F" || m.msg_type == "G") {
            r.msg_type = "8";
            r.add(37, "O" + id).add(11, field(m, 11)).add(17, "E" + id).add(150, "0").add(39, "0");
            r.add(55, field(m, 55)).add(54, field(m, 54)).add(151, "0").add(14, "0").add(6, "0");
        } else if (m.msg_type == "R") {
            r.msg_type = "S";
            r.add(131, field(m, 131)).add(117, "Q" + id).add(55, "USD/CNY").add(133, "7.1");
        } else if (m.msg_type == "U1") {
            r.msg_type = "U2";
            r.add(60, "20261123-09:00:00.000").add(7100, field(m, 7100)).add(7112, "A");
        } else {
            return;
        }
        std::lock_guard l(host_mu);
        host->send(k, r);
    };
    adapters::HostOptions h;
    h.role = adapters::HostRole::kAcceptor;
    h.listen_port = o.gateway_port;
    h.dictionary_path = FXSIM_DICTIONARY;
    h.store_path = (dir.path() / "gateway.mdb").string();
    for (const auto& p : o.psps) {
        adapters::SessionSpec s;
        s.key = SessionKey{"FXSETTLE", p.sender_comp_id};
        h.sessions.push_back(s);
    }
    std::string error;
    {
        std::lock_guard l(host_mu);
        host = adapters::SessionHost::create(h, gw, &error);
        ASSERT_TRUE(host) << error;
        ASSERT_TRUE(host->start(&error)) << error;
    }

    auto psp = PspSim::create(o, &error);
    ASSERT_TRUE(psp) << error;
    ASSERT_TRUE(psp->start(&error)) << error;
    ASSERT_TRUE(gw.wait_logons(2)) << "the PSPs did not log on";
    for (int i = 0; i < 600 && !psp->done(); ++i) {
        std::this_thread::sleep_for(50ms);
    }
    ASSERT_TRUE(psp->done()) << "sent only " << psp->sent();
    std::this_thread::sleep_for(1s);  // the last answers
    psp->stop();
    {
        std::lock_guard l(host_mu);
        host->stop();
    }
    const auto all = gw.all();
    std::map<std::string, int> kinds;
    bool locked = false, internal = false, outflow = false, possdup = false;
    for (const WireMessage& m : all) {
        expect_valid(m);
        ++kinds[m.msg_type];
        possdup |= m.poss_dup;
        if (m.msg_type == "U1") {
            locked |= m.find(117) != nullptr;
            internal |= m.find(7109) != nullptr;
            outflow |= field(m, 15) != "CNY";
        }
    }
    for (const char* k : {"D", "F", "G", "R", "U1"}) {
        EXPECT_GT(kinds[k], 0) << "no " << k << " sent";
    }
    EXPECT_TRUE(locked) << "no payout named a quote";
    EXPECT_TRUE(internal) << "no internal payout";
    EXPECT_TRUE(outflow) << "no CNY outflow abroad";
    // QuickFIX's Session::send drops PossDupFlag (43) from new messages, so the resends
    // arrive as plain repeats: the same PayoutInstrID / ClOrdID / QuoteReqID twice.
    (void)possdup;
    EXPECT_GT(psp->count("possdup"), 0u) << "no PossDup resend";
    std::set<std::string> ids;
    bool repeated = false;
    for (const WireMessage& m : all) {
        for (int tag : {11, 131, 7100}) {
            if (const std::string* id = m.find(tag)) {
                repeated |= !ids.insert(*id).second;
            }
        }
    }
    EXPECT_TRUE(repeated) << "no request id arrived twice";
    const auto c = psp->counts();
    EXPECT_EQ(c.at("recv/8"), static_cast<std::uint64_t>(kinds["D"] + kinds["F"] + kinds["G"]));
    EXPECT_EQ(c.at("recv/S"), static_cast<std::uint64_t>(kinds["R"]));
    EXPECT_EQ(c.at("U2/A"), static_cast<std::uint64_t>(kinds["U1"]));
    std::cout << "psp counts: " << format_counts(c) << "\n";
}

}  // namespace
}  // namespace fxsettle::fxsim
