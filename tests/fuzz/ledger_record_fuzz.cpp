// ledger_record: bytes as stored in LMDB -> the decoders of the ledger's records
// (ledger/records.h: accounts, balances, posting rows, journal entries, holds, the chain
// head, FX carries) and of the engine's rows (engine/core/codec.h: commands, outbox events,
// command batches). A damaged or hostile ledger file must give "does not decode", never a
// crash.
//
// Input: byte 0 picks the decoder (byte % 10), the rest is the stored value.
// Properties: never a crash or a sanitizer report; an engine-codec refusal is a
// kCorruption with a message; whatever decodes re-encodes to bytes that decode to an equal
// value and re-encode to the same bytes (encode(decode(x)) is a fixed point), so nothing
// read from disk changes when it is written back.
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "engine/core/codec.h"
#include "ledger/records.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace records = fxsettle::ledger::records;
namespace codec = fxsettle::engine::codec;
using fxsettle::fuzz::check;

std::string_view as_view(const std::uint8_t* p, std::size_t n) {
    return {reinterpret_cast<const char*>(p), n};
}

template <typename T>
void check_engine_refusal(const fxsettle::Result<T>& r) {
    if (!r) {
        check(r.error().code() == fxsettle::StatusCode::kCorruption,
              "an engine row that does not decode is kCorruption", r.error().message());
        check(!r.error().message().empty(), "an engine row refusal names the problem");
    }
}

template <typename T, typename Encode, typename Decode>
void check_fixed_point(const T& value, Encode encode, Decode decode, std::string_view what) {
    const std::string once = encode(value);
    T again{};
    check(decode(once, again), what, "a re-encoded value does not decode");
    check(again == value, what, "a re-encoded value decodes to a different value");
    check(encode(again) == once, what, "re-encoding is not stable");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const std::string_view bytes = as_view(data + 1, size - 1);
    switch (data[0] % 10) {
        case 0: {
            fxsettle::ledger::Account account;
            if (records::decode_account(bytes, account)) {
                check_fixed_point(
                    account,
                    [](const fxsettle::ledger::Account& a) {
                        std::string out;
                        records::encode_account(a, out);
                        return out;
                    },
                    [](std::string_view b, fxsettle::ledger::Account& a) {
                        return records::decode_account(b, a);
                    },
                    "account record");
            }
            break;
        }
        case 1: {
            fxsettle::ledger::Balance balance;
            if (records::decode_balance(bytes, balance)) {
                check_fixed_point(
                    balance,
                    [](const fxsettle::ledger::Balance& b) {
                        records::BalanceValue out{};
                        records::encode_balance(b, out.data());
                        return std::string(reinterpret_cast<const char*>(out.data()), out.size());
                    },
                    [](std::string_view b, fxsettle::ledger::Balance& out) {
                        return records::decode_balance(b, out);
                    },
                    "balance record");
            }
            break;
        }
        case 2: {
            records::PostingRow row;
            if (records::decode_posting_value(bytes, row)) {
                records::PostingValue out{};
                records::encode_posting_value(row.side, row.amount, row.balance_after, out.data());
                records::PostingRow again;
                check(records::decode_posting_value(as_view(out.data(), out.size()), again),
                      "posting row", "a re-encoded row does not decode");
                check(again.side == row.side && again.amount == row.amount &&
                          again.balance_after == row.balance_after,
                      "posting row", "a re-encoded row decodes to a different row");
            }
            break;
        }
        case 3: {
            records::EntryRecord record;
            if (records::decode_entry(bytes, record)) {
                // The hashed body is a view into the record, never past it.
                check(record.body.data() >= bytes.data() &&
                          record.body.data() + record.body.size() <= bytes.data() + bytes.size(),
                      "an entry's body lies inside the record");
            }
            break;
        }
        case 4: {
            records::HoldRecord hold;
            if (records::decode_hold(bytes, hold)) {
                std::string out;
                records::encode_hold(hold, out);
                records::HoldRecord again;
                check(records::decode_hold(out, again), "hold record",
                      "a re-encoded hold does not decode");
                check(again.status == hold.status && again.hold_sequence == hold.hold_sequence &&
                          again.deadline == hold.deadline &&
                          again.resolved_sequence == hold.resolved_sequence,
                      "hold record", "a re-encoded hold decodes to a different hold");
            }
            break;
        }
        case 5: {
            records::HeadRecord head;
            if (records::decode_head(bytes, head)) {
                std::string out;
                records::encode_head(head, out);
                records::HeadRecord again;
                check(records::decode_head(out, again), "head record",
                      "a re-encoded head does not decode");
                check(again.last_sequence == head.last_sequence &&
                          again.last_timestamp == head.last_timestamp &&
                          again.head_hash == head.head_hash,
                      "head record", "a re-encoded head decodes to a different head");
            }
            break;
        }
        case 6: {
            fxsettle::money::Int128 carry;
            if (records::decode_carry(bytes, carry)) {
                std::string out;
                records::encode_carry(carry, out);
                fxsettle::money::Int128 again;
                check(records::decode_carry(out, again) && again == carry, "FX carry",
                      "a re-encoded carry does not decode to the same value");
            }
            break;
        }
        case 7: {
            auto command = codec::decode_command(bytes);
            check_engine_refusal(command);
            if (command) {
                const std::string once = codec::encode(*command);
                auto again = codec::decode_command(once);
                check(again.has_value() && *again == *command, "command row",
                      "a re-encoded command does not decode to an equal command");
                check(codec::encode(*again) == once, "command row", "re-encoding is not stable");
            }
            break;
        }
        case 8: {
            auto event = codec::decode_event(bytes);
            check_engine_refusal(event);
            if (event) {
                const std::string once = codec::encode(*event);
                auto again = codec::decode_event(once);
                check(again.has_value() && *again == *event, "outbox row",
                      "a re-encoded event does not decode to an equal event");
                check(codec::encode(*again) == once, "outbox row", "re-encoding is not stable");
            }
            break;
        }
        default: {
            auto batch = codec::decode_batch(bytes);
            check_engine_refusal(batch);
            if (batch) {
                const std::string once = codec::encode_batch(
                    batch->now, std::span<const fxsettle::engine::Command>(batch->commands));
                auto again = codec::decode_batch(once);
                check(again.has_value() && again->now == batch->now &&
                          again->commands == batch->commands,
                      "command batch row", "a re-encoded batch does not decode to an equal batch");
                check(codec::encode_batch(again->now, std::span<const fxsettle::engine::Command>(
                                                          again->commands)) == once,
                      "command batch row", "re-encoding is not stable");
            }
            break;
        }
    }
    return 0;
}
