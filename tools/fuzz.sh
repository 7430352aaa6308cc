#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, the `fuzz` CMake preset: clang, ASan + UBSan,
# -O1) and runs each one for a fixed time from its committed seed corpus, then prints per
# target the executions, the coverage (libFuzzer's `cov:` at the end of the run), the
# corpus size and whether it crashed. Exits non-zero when any target crashes, leaks,
# times out or fails a property; the input that did it is kept under
# <build dir>/fuzz-artifacts/<target>/ (README in tests/fuzz says how to replay it).
#
#   tools/fuzz.sh                   # 10 s per target (what tools/test.sh runs)
#   tools/fuzz.sh --seconds 120     # longer
#   tools/fuzz.sh --long            # 600 s per target
#   tools/fuzz.sh --build-dir build/h-fuzz --targets "config_loader ledger_record"
#   tools/fuzz.sh --no-build        # run what is built
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=10
build_dir=""
targets="fix_to_command config_loader statement_import ledger_record"
build=1
while [ $# -gt 0 ]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --long) seconds=600; shift ;;
        --build-dir) build_dir="$2"; shift 2 ;;
        --targets) targets="$2"; shift 2 ;;
        --no-build) build=0; shift ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "fuzz.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
    echo "fuzz.sh: --seconds needs a whole number of seconds above 0, not '$seconds'" >&2
    exit 2
fi
[ -n "$build_dir" ] || build_dir=build/fuzz

if [ "$build" -eq 1 ]; then
    start=$(date +%s)
    echo "== fuzz: configure and build ($build_dir)"
    cmake --preset fuzz -B "$build_dir" >/dev/null
    cmake --build "$build_dir" --target fuzzers -j "$(nproc)"
    echo "== fuzz: build took $(($(date +%s) - start)) s"
fi

failed=0
summary=()
for target in $targets; do
    binary="$build_dir/tests/fuzz/fuzz_$target"
    seeds="tests/fuzz/corpus/$target"
    if [ ! -x "$binary" ] || [ ! -d "$seeds" ]; then
        echo "fuzz.sh: no fuzz target '$target' ($binary, $seeds)" >&2
        exit 2
    fi
    # New inputs go to the work corpus (kept between runs of this build directory); the
    # committed seeds are only read.
    work="$build_dir/fuzz-corpus/$target"
    artifacts="$build_dir/fuzz-artifacts/$target"
    log="$build_dir/fuzz-logs/$target.log"
    mkdir -p "$work" "$artifacts" "$(dirname "$log")"
    dict=()
    [ -f "tests/fuzz/dict/$target.dict" ] && dict=(-dict="tests/fuzz/dict/$target.dict")
    echo "== fuzz: $target for ${seconds} s"
    marker="$artifacts/.run-started"
    touch "$marker"
    set +e
    ASAN_OPTIONS="detect_leaks=1:abort_on_error=0" UBSAN_OPTIONS="print_stacktrace=1" \
        "$binary" -max_total_time="$seconds" -print_final_stats=1 -timeout=60 \
        -rss_limit_mb=2560 -artifact_prefix="$artifacts/" "${dict[@]}" "$work" "$seeds" \
        >"$log" 2>&1
    rc=$?
    set -e
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
    rate=$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$log" | grep -o '[0-9]*$' || true)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || true)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | grep -o '[0-9]*' || true)
    corpus=$(find "$work" -type f | wc -l)
    crashes=$(find "$artifacts" -type f -newer "$marker" ! -name .run-started | wc -l)
    status=ok
    if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
        status="FAILED (exit $rc)"
        failed=1
        echo "---- $target: last lines of $log"
        tail -40 "$log"
        echo "---- $target: inputs kept in $artifacts:"
        find "$artifacts" -type f -newer "$marker" ! -name .run-started
    fi
    line=$(printf '%-17s execs %10s  (%s/s)  cov %5s  ft %6s  corpus %5s  crashes %s  %s' \
        "$target" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "$corpus" "$crashes" "$status")
    echo "$line"
    summary+=("$line")
done

echo "== fuzz summary (${seconds} s per target)"
printf '%s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
    echo "== fuzz: FAILED: a target crashed or broke a property (inputs under $build_dir/fuzz-artifacts)"
    exit 1
fi
echo "== fuzz: no crashes"
