#!/usr/bin/env bash
# The crash test's long mode (tests/integration/crash): builds fxsettled, fxledger and
# fxsettled_crash_test, then kills the real daemon with SIGKILL --kills times under FIX
# load (restarting it on the same files each time) and prints the figures line
# "crash figures: kills ..., lost 0, duplicated 0" (tests/RELIABILITY.md).
#
#   tools/crash.sh                       # 100 kills, release build in build/release
#   tools/crash.sh --kills 300 --seed 7
#   tools/crash.sh --build-dir build/h-store --no-build
set -euo pipefail
cd "$(dirname "$0")/.."

kills=100
seed=20261123
build_dir=build/release
build=1
while [ $# -gt 0 ]; do
    case "$1" in
        --kills) kills="$2"; shift 2 ;;
        --seed) seed="$2"; shift 2 ;;
        --build-dir) build_dir="$2"; shift 2 ;;
        --no-build) build=0; shift ;;
        -h|--help) sed -n '2,10p' "$0"; exit 0 ;;
        *) echo "crash.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
case "$kills" in ''|*[!0-9]*) echo "crash.sh: --kills '$kills' is not a number" >&2; exit 2 ;; esac
case "$seed" in ''|*[!0-9]*) echo "crash.sh: --seed '$seed' is not a number" >&2; exit 2 ;; esac

if [ "$build" = 1 ]; then
    if [ ! -f "$build_dir/CMakeCache.txt" ]; then
        cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DFXSETTLE_BUILD_TESTS=ON
    fi
    cmake --build "$build_dir" --target fxsettled fxledger fxsettled_crash_test
fi
bin="$build_dir/tests/integration/crash/fxsettled_crash_test"
if [ ! -x "$bin" ]; then
    echo "crash.sh: $bin is not built (drop --no-build)" >&2
    exit 2
fi
FXSETTLE_CRASH_KILLS="$kills" FXSETTLE_CRASH_SEED="$seed" "$bin" --gtest_color=no
