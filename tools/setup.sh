#!/usr/bin/env bash
# Installs the Debian 12 packages fxsettle builds and tests with, and only those that are
# missing, so it is cheap to run every time. Runs apt as root, or through sudo.
set -euo pipefail

packages=(
    build-essential cmake ninja-build pkg-config
    libquickfix-dev libboost-dev liblmdb-dev lmdb-utils libssl-dev openssl
    prometheus-cpp-dev libgtest-dev libgmock-dev libbenchmark-dev
    libexpected-dev libcli11-dev libfmt-dev libspdlog-dev libtomlplusplus-dev
    nlohmann-json3-dev libpugixml-dev
    hledger beancount prometheus
    clang libclang-rt-14-dev lld
)

missing=()
for p in "${packages[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
    [ "$status" = "installed" ] || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all ${#packages[@]} packages present"
    exit 0
fi

echo "setup: installing ${missing[*]}"
if [ "$(id -u)" -eq 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
else
    echo "setup: need root or sudo to install: ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
echo "setup: done"
