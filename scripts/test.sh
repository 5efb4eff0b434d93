#!/usr/bin/env bash
# The whole test suite on a fresh Debian machine: installs what is missing, builds, runs the Swift tests
# (translation fixtures, worker over real sockets, master with real processes and signals, Redis against a
# real redis-server), then the end-to-end suite (official anthropic SDK, fleet behaviour, shipping checks)
# against the release binary.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/contain.sh

scripts/install-deps.sh --test

echo "== swift build (debug, with tests)"
swift build --build-tests
echo "== swift test"
# Bounded, as is the end-to-end suite below (each takes a minute or two): a test that hangs fails the run instead
# of holding it until CI's own limit.
contained timeout 1500 swift test --skip-build

echo "== release build (the same script the Dockerfile uses)"
release_bin="$(dirname "$(scripts/build.sh --release --product fake-cerebras --product cerebras-gateway | tail -n 1)")"

echo "== end-to-end suite"
venv=.build-venv
if [[ ! -x "$venv/bin/pytest" ]] || ! "$venv/bin/python" -c "import anthropic, yaml, h2" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check "anthropic>=0.40" "pytest>=7" "pyyaml>=6" "h2>=4"
fi
contained env CGW_BIN_DIR="$release_bin" timeout 1200 "$venv/bin/python" -m pytest -q -p no:cacheprovider Tests/e2e
