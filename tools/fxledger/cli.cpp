#include "tools/fxledger/cli.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "tools/fxledger/commands.h"
#include "tools/fxledger/export.h"
#include "tools/fxledger/reconcile.h"
#include "tools/fxledger/report.h"
#include "tools/fxledger/statement.h"

namespace fxsettle::fxledger {

namespace {

constexpr const char* kFooter = R"(
Exit codes:
  0  OK
  1  verify, reconcile or trial-balance found a difference
  2  usage error: bad arguments, or a malformed bank statement
  3  the ledger cannot be opened (not found, not a ledger, unsupported version)
  4  not found: no such account or entry
  5  internal or I/O error

The ledger is opened read-only; no command writes to it. ACCOUNT is an account code
("PSP1/available/USD") or hex id; ENTRY is a hex id or #SEQ; times are RFC 3339 UTC
(2026-11-23T10:00:00Z) or dates (2026-11-23). Amounts are printed exactly, with the
currency's decimals, and are strings in JSON.)";

const char* kFormats[] = {"table", "csv", "json"};

void add_format(CLI::App* sub, std::string& format) {
    sub->add_option("--format", format, "output format: table (default), csv or json")
        ->check(CLI::IsMember({kFormats[0], kFormats[1], kFormats[2]}));
}

Result<ledger::Timestamp> time_or(const std::string& text, ledger::Timestamp fallback,
                                  const char* option) {
    if (text.empty()) {
        return fallback;
    }
    auto t = parse_time(text);
    if (!t) {
        return fail(StatusCode::kInvalidArgument, std::string(option) + ": " + t.error().message());
    }
    return t;
}

// Writes `text` through a temporary file renamed over `path`, so that a failed export
// never leaves half a file behind.
Status write_file_atomically(const std::filesystem::path& path,
                             const std::function<Status(std::ostream&)>& write) {
    const std::filesystem::path tmp =
        path.string() + ".tmp-" + std::to_string(static_cast<long>(::getpid()));
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) {
        return Status(StatusCode::kIoError, "cannot write " + path.string());
    }
    Status s = write(f);
    f.close();
    if (s.is_ok() && !f) {
        s = Status(StatusCode::kIoError, "writing " + path.string() + " failed");
    }
    std::error_code ec;
    if (s.is_ok()) {
        std::filesystem::rename(tmp, path, ec);
        if (ec) {
            s = Status(StatusCode::kIoError,
                       "renaming into " + path.string() + ": " + ec.message());
        }
    }
    if (!s.is_ok()) {
        std::filesystem::remove(tmp, ec);
    }
    return s;
}

}  // namespace

int run(int argc, const char* const* argv, std::ostream& out, std::ostream& err) {
    CLI::App app{"fxledger: read, export, verify, back up and reconcile the fxsettle ledger",
                 "fxledger"};
    app.footer(kFooter);
    app.require_subcommand(1);
    app.set_version_flag("--version", "fxledger 0.1.0");
    std::string ledger_path;
    app.add_option("--ledger", ledger_path, "the ledger file (or env FXLEDGER_LEDGER)")
        ->envname("FXLEDGER_LEDGER");

    std::string format = "table";
    std::string account;
    std::string at_text;
    std::string from_text;
    std::string to_text;
    std::string entry_text;
    std::string export_format;
    std::string output_path;
    std::string dest;
    std::string statement_path;
    std::string statement_format;

    auto* accounts = app.add_subcommand("accounts", "list every account with its balances");
    add_format(accounts, format);

    auto* balance = app.add_subcommand("balance", "one account's balances, now or at a point");
    balance->add_option("ACCOUNT", account, "account code or hex id")->required();
    balance->add_option("--at", at_text, "a sequence (#SEQ or SEQ) or an RFC 3339 time");
    add_format(balance, format);

    auto* statement = app.add_subcommand(
        "statement", "an account's postings in [--from, --to) with running balances");
    statement->add_option("ACCOUNT", account, "account code or hex id")->required();
    statement->add_option("--from", from_text, "first time, inclusive (default: the start)");
    statement->add_option("--to", to_text, "end time, exclusive (default: the end)");
    add_format(statement, format);

    auto* trial = app.add_subcommand("trial-balance", "debits and credits per currency");
    trial->add_option("--at", at_text, "a sequence (#SEQ or SEQ) or an RFC 3339 time");
    add_format(trial, format);

    auto* entries = app.add_subcommand("entries", "journal entries in [--from, --to)");
    entries->add_option("--from", from_text, "first time, inclusive (default: the start)");
    entries->add_option("--to", to_text, "end time, exclusive (default: the end)");
    add_format(entries, format);

    auto* show = app.add_subcommand("show", "one journal entry with its postings and hashes");
    show->add_option("ENTRY", entry_text, "entry hex id or #SEQ")->required();
    add_format(show, format);

    auto* export_cmd = app.add_subcommand(
        "export", "the whole journal as csv, json, an hledger journal or a beancount file");
    export_cmd->add_option("--format", export_format, "csv, json, hledger or beancount")
        ->required()
        ->check(CLI::IsMember({"csv", "json", "hledger", "beancount"}));
    export_cmd->add_option("--output", output_path, "write to FILE instead of stdout");

    auto* verify = app.add_subcommand(
        "verify", "recompute the hash chain and every invariant (exit 1 on a failure)");
    add_format(verify, format);

    auto* backup = app.add_subcommand("backup", "a consistent, compacted copy of the ledger");
    backup->add_option("DEST", dest, "the new file (must not exist)")->required();

    auto* reconcile =
        app.add_subcommand("reconcile",
                           "match a bank statement against an account's postings (exit 1 on a "
                           "difference)");
    reconcile->add_option("--account", account, "the nostro: account code or hex id")->required();
    reconcile->add_option("--statement", statement_path, "the bank statement file")->required();
    reconcile
        ->add_option("--format,--statement-format", statement_format,
                     "statement format: csv or camt053 (default: detected from the content)")
        ->check(CLI::IsMember({"csv", "camt053", "camt.053"}));
    reconcile->add_option("--report-format", format, "output format: table, csv or json")
        ->check(CLI::IsMember({kFormats[0], kFormats[1], kFormats[2]}));
    reconcile->add_option("--from", from_text, "first value date (default: the statement's)");
    reconcile->add_option("--to", to_text, "last value date (default: the statement's)");
    reconcile->footer(
        "CSV statements: a header row date,reference,amount,currency[,direction]; amounts in "
        "major units, signed (credit positive) or unsigned with direction CRDT/DBIT; rows "
        "with reference OPENING BALANCE / CLOSING BALANCE carry the balances.");

    const std::vector<const CLI::App*> commands = {
        accounts, balance, statement, trial, entries, show, export_cmd, verify, backup, reconcile};
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForVersion& e) {
        out << e.what() << '\n';
        return kExitOk;
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0) {
            return app.exit(e, out, err);  // --help
        }
        // CLI11 reports an unknown command as a missing one: name it instead.
        for (int i = 1; i < argc; ++i) {
            const std::string_view arg = argv[i];
            if (arg == "--ledger") {
                ++i;
                continue;
            }
            if (arg.empty() || arg.front() == '-') {
                continue;
            }
            const bool known = std::any_of(commands.begin(), commands.end(),
                                           [&](const CLI::App* c) { return c->get_name() == arg; });
            if (!known) {
                err << "fxledger: unknown command '" << arg
                    << "' (accounts, balance, statement, trial-balance, entries, show, export, "
                       "verify, backup, reconcile; see fxledger --help)\n";
                return kExitUsage;
            }
            break;
        }
        err << "fxledger: " << e.what() << " (see fxledger --help)\n";
        return kExitUsage;
    }
    CLI::App* sub = app.get_subcommands().front();
    const std::string command = sub->get_name();
    auto error = [&](const Status& s, int code) {
        err << "fxledger: " << command << ": " << s.message() << '\n';
        return code;
    };
    auto usage = [&](const std::string& message) {
        return error(Status(StatusCode::kInvalidArgument, message), kExitUsage);
    };

    // Arguments that need no ledger are checked first: a usage error stays exit 2.
    const OutputFormat out_format = *parse_output_format(format);
    std::optional<At> at;
    if (!at_text.empty()) {
        auto parsed = parse_at(at_text);
        if (!parsed) {
            return usage(parsed.error().message());
        }
        at = *parsed;
    }
    auto from = time_or(from_text, ledger::Timestamp{}, "--from");
    auto to = time_or(to_text, ledger::Timestamp::max(), "--to");
    if (!from || !to) {
        return usage((!from ? from : to).error().message());
    }
    if (ledger_path.empty()) {
        return usage("no ledger: pass --ledger PATH or set FXLEDGER_LEDGER");
    }

    auto opened = open_ledger(ledger_path);
    if (!opened) {
        return error(Status(opened.error().code(),
                            "cannot open ledger " + ledger_path + ": " + opened.error().message()),
                     kExitCannotOpen);
    }
    auto view = (*opened)->read();
    if (!view) {
        return error(view.error(), kExitInternal);
    }
    ledger::ReadView& v = **view;

    Result<CommandOutput> result = fail(StatusCode::kInternal, "no command ran");
    if (sub == accounts) {
        result = accounts_command(v);
    } else if (sub == balance) {
        result = balance_command(v, account, at);
    } else if (sub == statement) {
        result = statement_command(v, account, *from, *to);
    } else if (sub == trial) {
        result = trial_balance_command(v, at);
    } else if (sub == entries) {
        result = entries_command(v, *from, *to);
    } else if (sub == show) {
        result = show_command(v, entry_text);
    } else if (sub == verify) {
        result = verify_command(v);
    } else if (sub == export_cmd) {
        const ExportFormat f = *parse_export_format(export_format);
        Status s = output_path.empty()
                       ? export_ledger(v, f, out, ledger_path)
                       : write_file_atomically(output_path, [&](std::ostream& file) {
                             return export_ledger(v, f, file, ledger_path);
                         });
        if (!s.is_ok()) {
            return error(s, exit_code_for(s));
        }
        out.flush();
        return kExitOk;
    } else if (sub == backup) {
        Status s = (*opened)->backup(dest);
        if (!s.is_ok()) {
            return error(s, s.code() == StatusCode::kAlreadyExists ? kExitUsage : exit_code_for(s));
        }
        auto info = v.info();
        std::error_code ec;
        const auto bytes = std::filesystem::file_size(dest, ec);
        out << "backup of " << ledger_path << " written to " << dest << " (" << (ec ? 0 : bytes)
            << " bytes, last sequence " << (info ? info->last_sequence : 0) << ")\n";
        return kExitOk;
    } else if (sub == reconcile) {
        std::optional<StatementFormat> sf;
        if (!statement_format.empty()) {
            sf = *parse_statement_format(statement_format);
        }
        ReconcilePeriod period;
        if (!from_text.empty()) {
            period.from = std::chrono::floor<std::chrono::days>(*from);
        }
        if (!to_text.empty()) {
            period.to = std::chrono::floor<std::chrono::days>(*to);
        }
        // The statement's currency codes: ISO 4217 and the reconciled account's own (a
        // configured non-ISO code such as CNH is known to the ledger, not to ISO).
        money::CurrencyTable currencies;
        if (auto a = find_account(v, account); a.has_value() && !a->currency.is_iso()) {
            if (Status added = currencies.add(a->currency); !added.is_ok()) {
                return error(added, exit_code_for(added));
            }
        }
        auto parsed = read_statement(statement_path, sf, currencies);
        if (!parsed) {
            return error(parsed.error(), exit_code_for(parsed.error()));
        }
        result = reconcile_command(v, account, *parsed, period);
    }
    if (!result) {
        return error(result.error(), exit_code_for(result.error()));
    }
    print_report(out, result->report, out_format);
    out.flush();
    if (result->exit_code == kExitDifference) {
        if (sub == verify) {
            for (const auto& [key, cell] : result->report.fields) {
                if (key == "failure") {
                    err << "fxledger: verify: FAILED: " << cell.text << '\n';
                }
            }
        } else if (sub == reconcile) {
            err << "fxledger: reconcile: differences found (see the report)\n";
        } else if (sub == trial) {
            err << "fxledger: trial-balance: debits and credits differ\n";
        }
    }
    return result->exit_code;
}

}  // namespace fxsettle::fxledger
