#!/usr/bin/env python3
"""Checks of ops/ that ctest runs (ops/CMakeLists.txt). Python 3 standard library only.

  check_ops.py promtool ARGS...           run promtool (PATH or $PROMTOOL) with ARGS
  check_ops.py dashboard DASHBOARD.json   the Grafana dashboard parses and is well formed
  check_ops.py names METRICS.txt ALERTS.yml DASHBOARD.json [METRICS.md [METRICS.cpp]]
                                          every metric and label the rules and the
                                          dashboard use is in the metric list; the
                                          daemon's METRICS.md (when present) and the
                                          names its source registers are the same list
  check_ops.py alerts ALERTS.yml RUNBOOK.md TEST.yml...
                                          every alert has a severity, a summary, a
                                          description, a runbook link to an existing
                                          section, and a firing and a non-firing test
  check_ops.py systemd UNIT               the unit has the hardening options, and
                                          `systemd-analyze verify` accepts it (skipped,
                                          exit 77, where systemd-analyze cannot run)

Exit 0 when the check passes, 1 with one line per problem on stderr when it does not,
77 for a skipped check. The YAML files are read as text with patterns that fit how
alerts.yml and the test files are written (PyYAML is not a dependency); promtool checks
their syntax and meaning.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

SKIP = 77

# Labels Prometheus adds (job, instance, from the scrape; le on histogram buckets) or the
# scrape config adds (service).
TARGET_LABELS = {"job", "instance", "service"}
# Metrics the scrape itself produces.
SCRAPE_METRICS = {"up": set()}

PROMQL_KEYWORDS = {
    "by", "without", "on", "ignoring", "group_left", "group_right", "and", "or", "unless",
    "offset", "bool", "sum", "min", "max", "avg", "count", "stddev", "stdvar", "topk",
    "bottomk", "quantile", "count_values", "group", "abs", "absent", "rate", "irate",
    "increase", "delta", "idelta", "deriv", "histogram_quantile", "time", "vector",
    "scalar", "min_over_time", "max_over_time", "avg_over_time", "sum_over_time",
    "count_over_time", "last_over_time", "changes", "resets", "clamp_min", "clamp_max",
    "label_values", "inf", "nan", "le", "atan2",
}


def fail(problems):
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


# ---------------------------------------------------------------------------------------
# promtool


def cmd_promtool(args):
    promtool = os.environ.get("PROMTOOL") or shutil.which("promtool")
    if not promtool:
        print("promtool not found on PATH (nor $PROMTOOL): install the Debian package "
              "'prometheus' (tools/setup.sh does)", file=sys.stderr)
        return 1
    return subprocess.run([promtool] + args).returncode


# ---------------------------------------------------------------------------------------
# Metric list and PromQL scanning


def read_metric_list(path):
    """name -> (type, set of labels) from metrics.txt."""
    metrics = {}
    problems = []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.split("#", 1)[0].strip()
            if not line:
                continue
            fields = line.split()
            if len(fields) != 3 or fields[1] not in ("counter", "gauge", "histogram"):
                problems.append(f"{path}:{number}: expected 'name type labels', got {line!r}")
                continue
            name, kind, labels = fields
            if name in metrics:
                problems.append(f"{path}:{number}: {name} listed twice")
            if kind == "counter" and not name.endswith("_total"):
                problems.append(f"{path}:{number}: counter {name} does not end in _total")
            metrics[name] = (kind, set() if labels == "-" else set(labels.split(",")))
    if not metrics:
        problems.append(f"{path}: no metrics listed")
    return metrics, problems


def resolve(name, metrics):
    """The listed metric `name` refers to and the labels it may carry, or None."""
    if name in SCRAPE_METRICS:
        return name, SCRAPE_METRICS[name]
    if name in metrics:
        kind, labels = metrics[name]
        return (None if kind == "histogram" else name), labels
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[: -len(suffix)]
        if name.endswith(suffix) and metrics.get(base, ("",))[0] == "histogram":
            labels = set(metrics[base][1])
            if suffix == "_bucket":
                labels.add("le")
            return base, labels
    return None


def strip_strings(expr):
    """`expr` with the contents of string literals blanked (label values, regexes)."""
    return re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)


def check_expr(expr, where, metrics, problems, used):
    """Checks the metric names, selector labels and grouping labels of one expression."""
    all_labels = set(TARGET_LABELS) | {"le"}
    for _, labels in metrics.values():
        all_labels |= labels
    plain = strip_strings(expr)
    # Selectors with matchers: name{label op "value", ...}
    for m in re.finditer(r"\b([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{([^}]*)\}", plain):
        name, body = m.group(1), m.group(2)
        if name in PROMQL_KEYWORDS:
            continue
        found = resolve(name, metrics)
        if found is None:
            continue  # reported below with the other names
        allowed = found[1] | TARGET_LABELS
        for label in re.findall(r"([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)", body):
            if label not in allowed:
                problems.append(f"{where}: {name} has no label '{label}' "
                                f"(labels: {', '.join(sorted(allowed))})")
    # Grouping and matching clauses: by (...), on (...), ...
    for m in re.finditer(r"\b(by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)",
                         plain):
        for label in re.findall(r"[a-zA-Z_][a-zA-Z0-9_]*", m.group(2)):
            if label not in all_labels:
                problems.append(f"{where}: '{m.group(1)} ({label})' names a label no "
                                f"listed metric has")
    # Every identifier that is not a keyword, a function, a duration or a label must be a
    # listed metric.
    no_braces = re.sub(r"\{[^}]*\}", "", plain)
    no_brackets = re.sub(r"\[[^\]]*\]", "", no_braces)
    no_groups = re.sub(
        r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", no_brackets)
    for m in re.finditer(r"(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)", no_groups):
        token = m.group(1)
        if token in PROMQL_KEYWORDS or re.fullmatch(r"\d+[smhdwy]", token):
            continue
        following = no_groups[m.end():].lstrip()
        if following.startswith("(") and token not in metrics:
            problems.append(f"{where}: unknown function '{token}'")
            continue
        found = resolve(token, metrics)
        if found is None:
            problems.append(f"{where}: metric '{token}' is not in the metric list")
        elif found[0]:
            used.add(found[0])
        else:
            problems.append(f"{where}: histogram '{token}' used without _bucket, _sum "
                            f"or _count")


def alert_blocks(path):
    """[(name, line number, text of the rule)] of an alerts.yml written one rule per
    `- alert:` item."""
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    starts = [i for i, l in enumerate(lines) if re.match(r"\s*- alert:\s*\S", l)]
    blocks = []
    for k, start in enumerate(starts):
        end = starts[k + 1] if k + 1 < len(starts) else len(lines)
        # A rule ends at the next item or group of lower or equal indentation.
        indent = len(lines[start]) - len(lines[start].lstrip())
        for j in range(start + 1, end):
            stripped = lines[j].strip()
            if stripped and not stripped.startswith("#"):
                if len(lines[j]) - len(lines[j].lstrip()) <= indent:
                    end = j
                    break
        name = lines[start].split(":", 1)[1].strip()
        blocks.append((name, start + 1, "".join(lines[start:end])))
    return blocks


def rule_expr(block):
    """The expr of a rule block: a one-line value or a folded block scalar."""
    m = re.search(r"^(\s*)expr:\s*(.*)$", block, re.M)
    if not m:
        return None
    indent, first = len(m.group(1)), m.group(2).strip()
    if first and first not in (">-", ">", "|", "|-"):
        return first.strip("'\"")
    text = []
    for line in block[m.end():].splitlines()[1:]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        text.append(line.strip())
    return " ".join(text)


def dashboard_exprs(dashboard):
    """[(where, expr)] of every query in the dashboard, variables included."""
    out = []

    def walk_panels(panels):
        for p in panels:
            for t in p.get("targets", []):
                if "expr" in t:
                    out.append((f"panel '{p.get('title')}' {t.get('refId')}", t["expr"]))
            walk_panels(p.get("panels", []))

    walk_panels(dashboard.get("panels", []))
    for v in dashboard.get("templating", {}).get("list", []):
        if v.get("type") == "query":
            q = v.get("query")
            q = q.get("query") if isinstance(q, dict) else q
            m = re.fullmatch(r"\s*label_values\((.*),\s*([a-zA-Z_]\w*)\s*\)\s*", q or "")
            if m:
                out.append((f"variable '{v['name']}'", f"count by ({m.group(2)}) ({m.group(1)})"))
            elif q:
                out.append((f"variable '{v['name']}'", q))
    return out


def legend_labels(dashboard):
    """[(where, label)] of the {{label}} placeholders in legends."""
    out = []

    def walk(panels):
        for p in panels:
            for t in p.get("targets", []):
                for label in re.findall(r"\{\{\s*([a-zA-Z_]\w*)\s*\}\}", t.get("legendFormat", "")):
                    out.append((f"panel '{p.get('title')}' {t.get('refId')}", label))
            walk(p.get("panels", []))

    walk(dashboard.get("panels", []))
    return out


def cmake_targets():
    """Library and executable names of the project (this script is in its ops/)."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    targets = set()
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith((".", "build"))]
        if "CMakeLists.txt" in files:
            with open(os.path.join(folder, "CMakeLists.txt"), encoding="utf-8") as f:
                targets |= set(re.findall(r"add_(?:library|executable)\(\s*([\w-]+)", f.read()))
    return targets


def cmd_names(args):
    if len(args) not in (3, 4, 5):
        return fail(["usage: check_ops.py names METRICS.txt ALERTS.yml DASHBOARD.json "
                     "[DAEMON_METRICS.md [DAEMON_METRICS_SOURCE.cpp]]"])
    metrics, problems = read_metric_list(args[0])
    used = set()
    rules = alert_blocks(args[1])
    if not rules:
        problems.append(f"{args[1]}: no alert rules found")
    for name, line, block in rules:
        expr = rule_expr(block)
        if expr is None:
            problems.append(f"{args[1]}:{line}: alert {name} has no expr")
            continue
        check_expr(expr, f"{args[1]}:{line}: alert {name}", metrics, problems, used)
    with open(args[2], encoding="utf-8") as f:
        dashboard = json.load(f)
    queries = dashboard_exprs(dashboard)
    if not queries:
        problems.append(f"{args[2]}: no queries found")
    for where, expr in queries:
        check_expr(expr.replace("$__rate_interval", "5m"), f"{args[2]}: {where}", metrics,
                   problems, used)
    all_labels = set(TARGET_LABELS)
    for _, labels in metrics.values():
        all_labels |= labels
    for where, label in legend_labels(dashboard):
        if label not in all_labels:
            problems.append(f"{args[2]}: {where}: legend label '{label}' is on no metric")
    used -= set(SCRAPE_METRICS)
    unused = sorted(set(metrics) - used)
    if unused:
        problems.append(f"metrics neither alerted on nor shown on the dashboard: "
                        f"{', '.join(unused)}")
    if len(args) == 5:
        # The daemon's source: every family is built with .Name("fxsettle_...").
        registered = set()
        if os.path.exists(args[4]):
            with open(args[4], encoding="utf-8") as f:
                registered = set(re.findall(r'\.Name\(\s*"(fxsettle_\w+)"', f.read()))
        if not registered:
            problems.append(f"{args[4]}: no .Name(\"fxsettle_...\") found")
        else:
            for name in sorted(set(metrics) - registered):
                problems.append(f"{args[0]} lists {name}, which {args[4]} does not register")
            for name in sorted(registered - set(metrics)):
                problems.append(f"{args[4]} registers {name}, which {args[0]} lacks")
    if len(args) >= 4:
        if os.path.exists(args[3]):
            with open(args[3], encoding="utf-8") as f:
                text = f.read()
            documented = set()
            for token in set(re.findall(r"\bfxsettle_[a-z0-9_]+", text)):
                found = resolve(token, metrics)
                documented.add(token if token in metrics or not found else found[0])
            missing = sorted(set(metrics) - documented)
            # Names of build targets (fxsettle_node, ...) share the prefix; they are no
            # metrics.
            extra = sorted(documented - set(metrics) - cmake_targets())
            if missing:
                problems.append(f"{args[3]} does not mention: {', '.join(missing)} "
                                f"(listed in {args[0]})")
            if extra:
                problems.append(f"{args[3]} names metrics {args[0]} lacks: {', '.join(extra)}")
        else:
            print(f"note: {args[3]} does not exist (yet): not compared")
    if not problems:
        print(f"{len(rules)} alert rules and {len(queries)} dashboard queries use only "
              f"listed metrics ({len(used)} of {len(metrics)} used)")
    return fail(problems)


# ---------------------------------------------------------------------------------------
# Dashboard


def cmd_dashboard(args):
    if len(args) != 1:
        return fail(["usage: check_ops.py dashboard DASHBOARD.json"])
    path = args[0]
    try:
        with open(path, encoding="utf-8") as f:
            d = json.load(f)
    except (OSError, ValueError) as e:
        return fail([f"{path}: does not parse as JSON: {e}"])
    problems = []
    if not isinstance(d.get("schemaVersion"), int) or d["schemaVersion"] < 36:
        problems.append(f"{path}: schemaVersion {d.get('schemaVersion')!r}: expected 36 or more")
    for key in ("title", "uid"):
        if not d.get(key):
            problems.append(f"{path}: no {key}")
    variables = {v.get("name"): v for v in d.get("templating", {}).get("list", [])}
    ds = variables.get("datasource")
    if not ds or ds.get("type") != "datasource" or ds.get("query") != "prometheus":
        problems.append(f"{path}: no templated Prometheus data source variable 'datasource'")
    ids = set()
    panels = d.get("panels", [])
    if not panels:
        problems.append(f"{path}: no panels")
    for p in panels:
        title = p.get("title", "?")
        if p.get("id") in ids:
            problems.append(f"{path}: panel '{title}': id {p.get('id')} used twice")
        ids.add(p.get("id"))
        g = p.get("gridPos", {})
        if not all(isinstance(g.get(k), int) for k in ("h", "w", "x", "y")) or \
                g.get("x", 0) + g.get("w", 0) > 24:
            problems.append(f"{path}: panel '{title}': bad gridPos {g}")
        if p.get("type") == "row":
            continue
        if p.get("datasource", {}).get("uid") != "${datasource}":
            problems.append(f"{path}: panel '{title}': data source is not ${{datasource}}")
        targets = p.get("targets", [])
        if not targets:
            problems.append(f"{path}: panel '{title}': no queries")
        refs = [t.get("refId") for t in targets]
        if len(set(refs)) != len(refs):
            problems.append(f"{path}: panel '{title}': refIds repeat: {refs}")
        for t in targets:
            if not t.get("expr"):
                problems.append(f"{path}: panel '{title}' {t.get('refId')}: empty expr")
            if t.get("datasource", {}).get("uid") != "${datasource}":
                problems.append(f"{path}: panel '{title}' {t.get('refId')}: data source is "
                                f"not ${{datasource}}")
    if not problems:
        problems += promql_parses(path, dashboard_exprs(d))
    if not problems:
        print(f"{path}: schemaVersion {d['schemaVersion']}, {len(panels)} panels, "
              f"variables {', '.join(variables)}; every query parses (promtool)")
    return fail(problems)


def promql_parses(path, queries):
    """Problems of queries that PromQL does not parse: each becomes a recording rule of a
    temporary rule file that `promtool check rules` reads. Grafana's variables are
    replaced by values of their kind first."""
    promtool = os.environ.get("PROMTOOL") or shutil.which("promtool")
    if not promtool:
        return [f"{path}: promtool not found: install the Debian package 'prometheus' to "
                f"check the dashboard's queries"]
    lines = ["groups:", "  - name: dashboard", "    rules:"]
    for i, (where, expr) in enumerate(queries):
        expr = (expr.replace("$__rate_interval", "5m").replace("$__interval", "1m")
                .replace("$instance", ".*").replace("$currency", ".*"))
        lines.append(f"      - record: dashboard_query_{i}")
        lines.append(f"        expr: {json.dumps(expr)}")
    with tempfile.TemporaryDirectory(prefix="fxsettle-dashboard-") as tmp:
        rules = os.path.join(tmp, "queries.yml")
        with open(rules, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        r = subprocess.run([promtool, "check", "rules", rules], capture_output=True, text=True)
    if r.returncode == 0:
        return []
    out = []
    for m in re.finditer(r"dashboard_query_(\d+)", r.stdout + r.stderr):
        where, expr = queries[int(m.group(1))]
        out.append(f"{path}: {where}: PromQL does not parse: {expr}")
    return out or [f"{path}: promtool check rules on the queries failed: "
                   f"{(r.stdout + r.stderr).strip()}"]


# ---------------------------------------------------------------------------------------
# Alerts: annotations, runbook sections, tests


def github_anchor(heading):
    """The anchor GitHub gives a Markdown heading."""
    text = heading.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def cmd_alerts(args):
    if len(args) < 3:
        return fail(["usage: check_ops.py alerts ALERTS.yml RUNBOOK.md TEST.yml..."])
    rules_path, runbook_path, test_paths = args[0], args[1], args[2:]
    problems = []
    with open(runbook_path, encoding="utf-8") as f:
        runbook = f.read()
    anchors = {github_anchor(m.group(1)) for m in re.finditer(r"^#+\s+(.*)$", runbook, re.M)}
    for link in sorted(set(re.findall(r"\]\(#([^)]+)\)", runbook))):
        if link not in anchors:
            problems.append(f"{runbook_path}: link to #{link}, which is no heading")
    tests_text = ""
    for p in test_paths:
        with open(p, encoding="utf-8") as f:
            tests_text += f.read() + "\n"
    # alertname -> [firing?] for every alert_rule_test item
    outcomes = {}
    for m in re.finditer(r"alertname:\s*(\S+)\s*\n\s*exp_alerts:\s*(\[\])?", tests_text):
        outcomes.setdefault(m.group(1), []).append(m.group(2) is None)
    names = set()
    rules = alert_blocks(rules_path)
    for name, line, block in rules:
        where = f"{rules_path}:{line}: alert {name}"
        if name in names:
            # Two rules with one name are legal, but the runbook and tests key on names.
            problems.append(f"{where}: name used twice")
        names.add(name)
        sev = re.search(r"^\s*severity:\s*(\S+)", block, re.M)
        if not sev or sev.group(1) not in ("critical", "warning"):
            problems.append(f"{where}: severity label must be critical or warning")
        for key in ("summary", "description"):
            if not re.search(rf"^\s*{key}:\s*\S", block, re.M):
                problems.append(f"{where}: no {key} annotation")
        url = re.search(r"^\s*runbook_url:\s*\"?([^\"\s]+)", block, re.M)
        if not url:
            problems.append(f"{where}: no runbook_url annotation")
        else:
            anchor = url.group(1).split("#", 1)[1] if "#" in url.group(1) else ""
            if not url.group(1).split("#", 1)[0].endswith("RUNBOOK.md"):
                problems.append(f"{where}: runbook_url {url.group(1)} is not RUNBOOK.md")
            if anchor not in anchors:
                problems.append(f"{where}: runbook_url anchor '#{anchor}' is no heading of "
                                f"{runbook_path}")
            if anchor != name.lower():
                problems.append(f"{where}: runbook_url anchor '#{anchor}' should be "
                                f"'#{name.lower()}'")
        seen = outcomes.get(name, [])
        if True not in seen:
            problems.append(f"{where}: no test where it fires ({', '.join(test_paths)})")
        if False not in seen:
            problems.append(f"{where}: no test where it does not fire")
    for name in sorted(set(outcomes) - names):
        problems.append(f"tests name an alert that {rules_path} does not have: {name}")
    if not problems:
        print(f"{len(rules)} alerts: severity, summary, description, runbook section, "
              f"firing and non-firing tests present")
    return fail(problems)


# ---------------------------------------------------------------------------------------
# systemd unit

REQUIRED_UNIT_SETTINGS = {
    "Type": "simple",
    "User": "fxsettle",
    "KillSignal": "SIGTERM",
    "Restart": "on-failure",
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ReadWritePaths": "/var/lib/fxsettle",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes",
    "ProtectKernelModules": "yes",
    "ProtectKernelLogs": "yes",
    "RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
    "MemoryDenyWriteExecute": "yes",
    "LockPersonality": "yes",
    "SystemCallFilter": "@system-service",
    "CapabilityBoundingSet": "",
    "UMask": "0077",
    "Environment": "GLIBC_TUNABLES=glibc.malloc.hugetlb=1",
}
REQUIRED_UNIT_KEYS = ("ExecStart", "TimeoutStopSec", "LimitNOFILE")


def systemd_analyze_works(analyze, tmp):
    """True when `systemd-analyze verify` accepts a trivial unit silently here."""
    probe = os.path.join(tmp, "fxsettle-probe.service")
    with open(probe, "w", encoding="utf-8") as f:
        f.write(f"[Unit]\nDescription=probe\n[Service]\nExecStart={shutil.which('true')}\n")
    try:
        r = subprocess.run([analyze, "verify", probe], capture_output=True, text=True,
                           timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        print(f"systemd-analyze does not run here: {e}")
        return False
    if r.returncode != 0 or r.stdout.strip() or r.stderr.strip():
        print("systemd-analyze verify does not work here (a trivial unit gave: "
              f"exit {r.returncode}, {(r.stdout + r.stderr).strip()[:300]!r})")
        return False
    return True


def cmd_systemd(args):
    if len(args) != 1:
        return fail(["usage: check_ops.py systemd UNIT"])
    path = args[0]
    problems = []
    settings = {}
    with open(path, encoding="utf-8") as f:
        text = f.read()
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";", "[")) and "=" in line:
            key, value = line.split("=", 1)
            settings.setdefault(key.strip(), []).append(value.strip())
    for key, want in REQUIRED_UNIT_SETTINGS.items():
        if want not in settings.get(key, []):
            problems.append(f"{path}: needs {key}={want} (has {settings.get(key)})")
    for key in REQUIRED_UNIT_KEYS:
        if key not in settings:
            problems.append(f"{path}: needs {key}=")
    exec_start = settings.get("ExecStart", [""])[0]
    if not exec_start.startswith("/usr/local/bin/fxsettled "):
        problems.append(f"{path}: ExecStart should run /usr/local/bin/fxsettled: {exec_start}")
    if problems:
        return fail(problems)
    print(f"{path}: type, user, stop, restart and hardening settings present")

    analyze = shutil.which("systemd-analyze")
    if not analyze:
        print("systemd-analyze not found: `systemd-analyze verify` skipped")
        return SKIP
    with tempfile.TemporaryDirectory(prefix="fxsettle-unit-") as tmp:
        if not systemd_analyze_works(analyze, tmp):
            print("`systemd-analyze verify` skipped")
            return SKIP
        # verify insists that ExecStart's program exists; fxsettled is not installed
        # here, so the copy runs `true` instead. Everything else is the unit as shipped.
        unit = os.path.join(tmp, os.path.basename(path))
        with open(unit, "w", encoding="utf-8") as f:
            f.write(text.replace("/usr/local/bin/fxsettled", shutil.which("true")))
        r = subprocess.run([analyze, "verify", unit], capture_output=True, text=True,
                           timeout=60)
        # verify exits 0 on unknown keys and bad values (it only warns), so any output
        # is a failure.
        output = (r.stdout + r.stderr).strip()
        if r.returncode != 0 or output:
            return fail([f"systemd-analyze verify {path}: exit {r.returncode}",
                         output.replace(unit, path)])
    print(f"systemd-analyze verify {path}: no warnings")
    return 0


def main(argv):
    commands = {"promtool": cmd_promtool, "dashboard": cmd_dashboard, "names": cmd_names,
                "alerts": cmd_alerts, "systemd": cmd_systemd}
    if len(argv) < 2 or argv[1] not in commands:
        print(__doc__, file=sys.stderr)
        return 2
    return commands[argv[1]](argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv))
