#!/usr/bin/env bash
# The README's test command: installs what is missing, then builds with warnings as
# errors and runs every test twice, in a release build and in an ASan+UBSan build, then
# builds the libFuzzer targets (clang) and runs each for 10 s (tools/fuzz.sh).
#
# The tests spend most of their time waiting (FIX sessions, business clocks, fsync): the
# release suite keeps about a quarter of the two cores busy, the ASan suite about two
# thirds. So the next build runs beside each test run at a lower priority (nice 10): the
# ASan build while the release tests run, the fuzz build while the ASan tests run. The
# tests keep their CPU; the builds take what is left. A build's output goes to a log
# under build/ that is printed when the build fails.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/setup.sh

jobs=$(nproc)
background=""
stop_background() {
    if [ -n "$background" ]; then
        kill -- "-$background" 2>/dev/null || kill "$background" 2>/dev/null || true
    fi
}
trap stop_background EXIT

# Starts `cmake --build` of a preset in the background at nice 10, in its own process
# group (so a failure elsewhere can stop it), logging to build/<name>-build.log.
start_build() {
    local name="$1"
    shift
    mkdir -p build
    echo "== ${name}: build in the background (log: build/${name}-build.log)"
    set -m
    nice -n 10 "$@" >"build/${name}-build.log" 2>&1 &
    background=$!
    set +m
}

# Waits for the background build; prints its last lines, or all of it when it failed.
finish_build() {
    local name="$1" started rc=0
    started=$(date +%s)
    wait "$background" || rc=$?
    background=""
    if [ "$rc" -ne 0 ]; then
        cat "build/${name}-build.log"
        echo "== ${name}: build FAILED (exit ${rc})" >&2
        exit "$rc"
    fi
    tail -n 2 "build/${name}-build.log"
    echo "== ${name}: build done (waited $(($(date +%s) - started)) s after the tests)"
}

for preset in release asan; do
    cmake --preset "$preset" >/dev/null
done
cmake --preset fuzz >/dev/null

echo "== release: build"
cmake --build --preset release -j "$jobs"

start_build asan cmake --build --preset asan -j "$jobs"
echo "== release: test"
ctest --preset release -j "$jobs"
finish_build asan

start_build fuzz cmake --build build/fuzz --target fuzzers -j "$jobs"
echo "== asan: test"
ctest --preset asan -j "$jobs"
finish_build fuzz
echo "== all tests passed in the release and asan builds"

tools/fuzz.sh --seconds 10 --no-build
