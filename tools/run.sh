#!/usr/bin/env bash
# The README's main-job command: installs what is missing, builds the release preset and
# runs the settlement demo: fxsettled as a separate process on an accelerated clock, five
# simulated PSPs, two venues and two banks over FIX on loopback, a day of traffic through
# every cut-off, then the ledger checked, verified and reconciled (tools/demo/demo.h).
# Options go to fxsettle-demo (--help lists them), e.g. tools/run.sh --instructions 5000.
set -euo pipefail
cd "$(dirname "$0")/.."

tools/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)"
# The daemon runs as ops/systemd/fxsettled.service runs it: glibc's malloc in huge pages.
export GLIBC_TUNABLES=glibc.malloc.hugetlb=1
exec build/release/tools/fxsettle-demo "$@"
