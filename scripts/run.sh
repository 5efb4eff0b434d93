#!/usr/bin/env bash
# Builds (installing missing system packages) and runs the gateway. Arguments are passed to it, e.g.
#   scripts/run.sh --port 8080 --workers 4
# Configuration comes from the environment and ./.env (see .env.example).
set -euo pipefail
cd "$(dirname "$0")/.."
binary="$(scripts/build.sh --release | tail -n 1)"
# GnuTLS is loaded only as a dependency of libcurl's dependencies (TLS is OpenSSL): skip its load-time set-up.
export GNUTLS_NO_IMPLICIT_INIT=${GNUTLS_NO_IMPLICIT_INIT:-1}
exec "$binary" "$@"
