#!/usr/bin/env bash
# The README's main-job command: installs what is missing, builds the release preset and
# runs what fxsettle can do so far. It grows into the full settlement demo (issue 6).
set -euo pipefail
cd "$(dirname "$0")/.."

tools/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
exec build/release/tools/fxsettle-demo "$@"
