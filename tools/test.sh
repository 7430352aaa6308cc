#!/usr/bin/env bash
# The README's test command: installs what is missing, then builds with warnings as
# errors and runs every test twice, in a release build and in an ASan+UBSan build, then
# builds the libFuzzer targets (clang) and runs each for 10 s (tools/fuzz.sh).
set -euo pipefail
cd "$(dirname "$0")/.."

tools/setup.sh

jobs=$(nproc)
for preset in release asan; do
    echo "== ${preset}: configure, build, test"
    cmake --preset "$preset" >/dev/null
    cmake --build --preset "$preset" -j "$jobs"
    ctest --preset "$preset" -j "$jobs"
done
echo "== all tests passed in the release and asan builds"
tools/fuzz.sh --seconds 10
