#!/usr/bin/env bash
# Installs the Debian packages the gateway needs, only when missing.
#   scripts/install-deps.sh          build + runtime libraries
#   scripts/install-deps.sh --test   also what the test suite needs (redis-server, python venv for the SDK)
set -euo pipefail
packages=(libhiredis-dev libcurl4-openssl-dev libssl-dev pkg-config ca-certificates)
if [[ "${1:-}" == "--test" ]]; then
    packages+=(redis-server python3-venv)
fi
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "installing: ${missing[*]}" >&2
    sudo_cmd=""
    [[ $(id -u) -ne 0 ]] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v swift >/dev/null 2>&1; then
    echo "swift 6 toolchain not found on PATH: install it from swift.org (or use the Dockerfile)" >&2
    exit 1
fi
