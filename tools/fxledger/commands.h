// fxledger's commands as library functions over a ledger read view (STYLE.md "Small
// mains": main.cpp only parses arguments and calls these). Each read command returns a
// Report (printed by the caller in table, CSV or JSON) and the exit code it asks for.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "engine/base/status.h"
#include "ledger/ledger.h"
#include "ledger/types.h"
#include "tools/fxledger/report.h"

namespace fxsettle::fxledger {

// fxledger's exit codes (also in `fxledger --help`).
enum ExitCode : int {
    kExitOk = 0,
    kExitDifference = 1,  // verify, reconcile or trial-balance found a difference
    kExitUsage = 2,       // bad arguments, or a malformed input file (bank statement)
    kExitCannotOpen = 3,  // the ledger file does not exist or cannot be opened as a ledger
    kExitNotFound = 4,    // no such account or entry
    kExitInternal = 5,    // I/O or internal error (LMDB, a file that cannot be written)
};

// The exit code for a failed command: kNotFound -> 4, kInvalidArgument -> 2, else 5.
int exit_code_for(const Status& status);

// Opens the ledger file for fxledger: read-only unless `write`, never created. Failures
// keep the ledger's Status (kNotFound for a missing file, kCorruption for a file that is
// not a ledger, ...); the caller turns every one into exit code 3.
Result<std::unique_ptr<ledger::Ledger>> open_ledger(const std::filesystem::path& path,
                                                    bool write = false);

// Every account, by id, for naming accounts in reports.
using AccountIndex = std::map<ledger::AccountId, ledger::Account>;
Result<AccountIndex> load_accounts(ledger::ReadView& view);

// An account by code ("PSP1/available/USD", tried first) or by hex id. kNotFound names
// the text when neither matches.
Result<ledger::Account> find_account(ledger::ReadView& view, std::string_view code_or_id);
// An entry by hex id or "#SEQ" (a sequence number). kNotFound when there is none.
Result<ledger::Entry> find_entry(ledger::ReadView& view, std::string_view id_or_seq);

// A point in the ledger's history: a sequence ("#17" or "17") or an RFC 3339 time.
struct At {
    std::optional<std::uint64_t> sequence;
    std::optional<ledger::Timestamp> time;
};
Result<At> parse_at(std::string_view text);
// The last sequence whose entry's timestamp is <= `at` (0 when none). Entry timestamps
// never decrease, so this is a binary search over entry_at_sequence().
Result<std::uint64_t> sequence_at_time(ledger::ReadView& view, ledger::Timestamp at);

// The most lines one statement, entries or reconcile report reads (STYLE.md: every loop
// has a named maximum). Reaching it fails the command rather than print a silently cut
// report; narrow the period with --from / --to.
inline constexpr std::size_t kReportLinesMax = 1'000'000;
// Fails with kOutOfRange when a read returned `count` == kReportLinesMax rows.
Status check_not_truncated(std::size_t count, std::string_view what);

struct CommandOutput {
    Report report;
    int exit_code = kExitOk;
};

Result<CommandOutput> accounts_command(ledger::ReadView& view);
Result<CommandOutput> balance_command(ledger::ReadView& view, std::string_view account,
                                      const std::optional<At>& at);
// Postings with from <= timestamp < to and a running balance; the fields carry the
// opening (just before `from`) and closing balances.
Result<CommandOutput> statement_command(ledger::ReadView& view, std::string_view account,
                                        ledger::Timestamp from, ledger::Timestamp to);
// Exit 1 when debits differ from credits in some currency.
Result<CommandOutput> trial_balance_command(ledger::ReadView& view, const std::optional<At>& at);
Result<CommandOutput> entries_command(ledger::ReadView& view, ledger::Timestamp from,
                                      ledger::Timestamp to);
Result<CommandOutput> show_command(ledger::ReadView& view, std::string_view entry);
// Exit 1 with the first failure (entry id and sequence, or account) when verify fails.
Result<CommandOutput> verify_command(ledger::ReadView& view);

// Shared by entries, show and export: one entry as a JSON object with nested postings,
// and its postings as flat rows (entry columns repeated) of entries_table_columns().
nlohmann::json entry_json(const ledger::Entry& entry, const AccountIndex& accounts);
Table entries_table();
void add_entry_rows(Table& table, const ledger::Entry& entry, const AccountIndex& accounts);
nlohmann::json account_json(const ledger::Account& account);

// "posted", "pending", "post_pending", "void_pending", "expire_pending".
std::string_view entry_kind_name(ledger::EntryKind kind) noexcept;
// The account's code, or its hex id when the index does not know it.
std::string account_label(const ledger::AccountId& id, const AccountIndex& accounts);

// Calls `fn(entry)` for every entry in sequence order, reading `chunk` at a time.
template <typename Fn>
Status for_each_entry(ledger::ReadView& view, Fn&& fn, std::size_t chunk = 4096) {
    auto info = view.info();
    if (!info) {
        return info.error();
    }
    for (std::uint64_t first = 1; first <= info->last_sequence;) {
        auto batch = view.entries_by_sequence(first, info->last_sequence, chunk);
        if (!batch) {
            return batch.error();
        }
        if (batch->empty()) {
            return Status(StatusCode::kCorruption,
                          "entry sequence " + std::to_string(first) + " is missing");
        }
        for (const auto& e : *batch) {
            if (Status s = fn(e); !s.is_ok()) {
                return s;
            }
        }
        first = batch->back().sequence + 1;
    }
    return {};
}

}  // namespace fxsettle::fxledger
