// fix_to_command: raw FIX text from a counterparty -> what its session accepts
// (fix_session_input.h: parse with the dictionary, validate, validate_strict, from_fix) ->
// the Converter's from_psp / from_venue / from_bank -> engine commands or a reject.
//
// Input: one or more records separated by '\n', each sent in order to one Converter (built
// afresh per input from the embedded default config, so a crash reproduces):
//   byte 0  the session: 'P' a PSP, 'V' a venue, 'B' a bank (any other byte: byte % 3)
//   byte 1  which one: byte % (number of PSPs, venues or banks in the config)
//   rest    the message from 35= to the last field before CheckSum; '|' stands for SOH.
//           The harness adds 8=FIX.4.4, 9=BodyLength and 10=CheckSum, so the fuzzer
//           spends its time on content rather than on checksums.
// Properties, per message the session accepts:
//   - never a crash, a sanitizer report or an escaping exception;
//   - PSP: refused() means no command, a Text, and a reply; every reply (a reject, or the
//     j for a MsgType a PSP may not send) is a message the dictionary accepts (wire_check),
//     so the PSP's session would take it; otherwise there are commands, or a note;
//     every command acts for the session's PSP;
//   - venue, bank: never a reply; commands (for that venue or bank) or a note (market
//     data that leaves a one-sided book may give neither);
//   - every command survives the engine's codec (encode, decode, equal).
// FXSETTLE_FUZZ_VERBOSE=1 in the environment prints what became of each message (to check
// that the seeds reach the converter: run the binary on the seed files).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "adapters/convert/convert.h"
#include "adapters/fix/wire_check.h"
#include "config/config.h"
#include "engine/core/codec.h"
#include "tests/fuzz/fix_session_input.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using fxsettle::adapters::WireMessage;
using fxsettle::adapters::convert::Converter;
using fxsettle::adapters::convert::Inbound;
using fxsettle::fuzz::check;
using fxsettle::fuzz::fail;

constexpr std::size_t kMessagesPerInputMax = 16;

bool verbose() {
    static const bool on = [] {
        const char* v = std::getenv("FXSETTLE_FUZZ_VERBOSE");
        return v != nullptr && std::string_view(v) == "1";
    }();
    return on;
}

void report(const char* peer, const std::string& what) {
    if (verbose()) {
        std::fprintf(stderr, "fix_to_command: %s: %s\n", peer, what.c_str());
    }
}

void report(const char* peer, const Inbound& in) {
    if (verbose()) {
        std::string what = std::to_string(in.commands.size()) + " command(s)";
        if (in.refused()) {
            what += ", refused: " + in.text;
        }
        if (in.reply) {
            what += ", reply 35=" + in.reply->msg_type;
        }
        if (!in.note.empty()) {
            what += ", note: " + in.note;
        }
        report(peer, what);
    }
}

const std::string& dictionary_path() {
    static const std::string path =
        std::string(FXSETTLE_SOURCE_DIR) + "/config/fix/FIX44-fxsettle.xml";
    return path;
}

const fxsettle::config::Config& default_config() {
    static const fxsettle::config::Config config = [] {
        auto loaded = fxsettle::config::load_default_config();
        if (!loaded) {
            fail("the embedded default config loads", loaded.error().message());
        }
        return *loaded;
    }();
    return config;
}

// 8=FIX.4.4|9=<length>|<body>10=<checksum>| with '|' as SOH in the body.
std::string frame(std::string_view body_text) {
    std::string body(body_text);
    for (char& c : body) {
        if (c == '|') {
            c = '\x01';
        }
    }
    if (body.empty() || body.back() != '\x01') {
        body.push_back('\x01');
    }
    std::string text =
        "8=FIX.4.4\x01"
        "9=" +
        std::to_string(body.size()) + "\x01" + body;
    unsigned sum = 0;
    for (unsigned char c : text) {
        sum += c;
    }
    const unsigned checksum = sum % 256;
    text += "10=";
    text.push_back(static_cast<char>('0' + checksum / 100));
    text.push_back(static_cast<char>('0' + checksum / 10 % 10));
    text.push_back(static_cast<char>('0' + checksum % 10));
    text.push_back('\x01');
    return text;
}

std::string describe(const WireMessage& m) {
    std::string s = "35=" + m.msg_type;
    for (const auto& f : m.fields) {
        s += "|" + std::to_string(f.tag) + "=" + f.value;
    }
    for (const auto& g : m.groups) {
        s += "|group " + std::to_string(g.count_tag) + " x" + std::to_string(g.entries.size());
    }
    return s;
}

void check_reply(const WireMessage& reply, const WireMessage& request) {
    const std::string error = fxsettle::adapters::wire_check(reply, dictionary_path());
    check(error.empty(), "a reply to a PSP is a message the dictionary accepts",
          error + "\nreply: " + describe(reply) + "\nrequest: " + describe(request));
}

void check_codec(const fxsettle::engine::Command& command) {
    const std::string bytes = fxsettle::engine::codec::encode(command);
    auto decoded = fxsettle::engine::codec::decode_command(bytes);
    check(decoded.has_value(), "a converted command decodes from its encoding",
          decoded ? std::string_view{} : std::string_view{decoded.error().message()});
    check(*decoded == command, "a converted command is equal after encode and decode");
}

void check_psp(const Inbound& in, fxsettle::engine::PspIndex psp, const WireMessage& m) {
    if (in.refused()) {
        check(in.commands.empty(), "a refused PSP message gives no command", describe(m));
        check(!in.text.empty(), "a refused PSP message has a Text", describe(m));
        check(in.reply.has_value(), "a refused PSP message gets a reply", describe(m));
    } else if (!in.reply) {
        check(!in.commands.empty() || !in.note.empty(),
              "an accepted PSP message gives commands or a note", describe(m));
    }
    check(!in.authorization_breach || in.refused(), "an authorisation breach is refused",
          describe(m));
    if (in.reply) {
        check(in.commands.empty(), "a PSP message with a reply gives no command", describe(m));
        check_reply(*in.reply, m);
    }
    for (const auto& command : in.commands) {
        std::visit(
            [&](const auto& c) {
                if constexpr (requires { c.psp; }) {
                    check(c.psp == psp, "every command acts for the session's PSP", describe(m));
                }
            },
            command);
        check_codec(command);
    }
}

template <typename Index>
void check_counterparty(const Inbound& in, Index index, const WireMessage& m, bool venue) {
    check(!in.reply.has_value(), "a venue or bank message never gets a reply", describe(m));
    // Market data may change nothing the engine prices with (a one-sided book) silently.
    check(!in.commands.empty() || !in.note.empty() || m.msg_type == "W" || m.msg_type == "X",
          "a venue or bank message gives commands or a note", describe(m));
    check(!in.refused() || in.commands.empty(), "a refused message gives no command", describe(m));
    for (const auto& command : in.commands) {
        std::visit(
            [&](const auto& c) {
                if constexpr (requires { c.venue; }) {
                    check(venue && c.venue == index, "a venue command names the session's venue",
                          describe(m));
                }
                if constexpr (requires { c.bank; }) {
                    check(!venue && c.bank == index, "a bank command names the session's bank",
                          describe(m));
                }
            },
            command);
        check_codec(command);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const fxsettle::config::Config& config = default_config();
    auto created = Converter::create(config);
    check(created.has_value(), "the converter builds from the default config");
    Converter& converter = *created;
    // A fixed clock: the same input gives the same outcome.
    const fxsettle::ledger::Timestamp now{std::chrono::sys_days{std::chrono::year{2026} / 11 / 23} +
                                          std::chrono::hours{10}};

    std::string_view input(reinterpret_cast<const char*>(data), size);
    for (std::size_t n = 0; n < kMessagesPerInputMax && !input.empty(); ++n) {
        const std::size_t end = input.find('\n');
        std::string_view record = input.substr(0, end);
        input = end == std::string_view::npos ? std::string_view{} : input.substr(end + 1);
        if (record.size() < 3) {
            continue;
        }
        const auto selector = static_cast<unsigned char>(record[0]);
        const auto which = static_cast<unsigned char>(record[1]);
        const int peer = selector == 'P'   ? 0
                         : selector == 'V' ? 1
                         : selector == 'B' ? 2
                                           : selector % 3;

        WireMessage message;
        std::string error;
        const auto verdict = fxsettle::fuzz::receive_as_session(
            frame(record.substr(2)), dictionary_path(), &message, &error);
        if (verdict == fxsettle::fuzz::SessionVerdict::kRejected) {
            check(!error.empty(), "a session reject names the problem");
            report("session", "rejected: " + error);
            continue;
        }
        if (verdict != fxsettle::fuzz::SessionVerdict::kApplication) {
            report("session", "admin message");
            continue;
        }
        if (peer == 0) {
            const auto psp = static_cast<fxsettle::engine::PspIndex>(which % config.psps.size());
            const Inbound in = converter.from_psp(psp, message, now);
            report("psp", in);
            check_psp(in, psp, message);
        } else if (peer == 1) {
            const auto venue =
                static_cast<fxsettle::engine::VenueIndex>(which % config.venues.size());
            const Inbound in = converter.from_venue(venue, message, now);
            report("venue", in);
            check_counterparty(in, venue, message, true);
        } else {
            const auto bank = static_cast<fxsettle::engine::BankIndex>(which % config.banks.size());
            const Inbound in = converter.from_bank(bank, message, now);
            report("bank", in);
            check_counterparty(in, bank, message, false);
        }
    }
    return 0;
}
