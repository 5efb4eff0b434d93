# syntax=docker/dockerfile:1
# cerebras-gateway: a static-stdlib Swift binary on Debian bookworm-slim.
#
#   docker build -t cerebras-gateway .
#   docker run --rm -p 8080:8080 -e CEREBRAS_API_KEY=csk-… -e GATEWAY_API_KEYS=team-key cerebras-gateway
#
# See docs/deployment.md (compose fleet, signals, exposure of the admin port).

# ---- build ------------------------------------------------------------------------------------------------------
# The builder matches the toolchain the project is developed with (Swift 6.3) on the same Debian release as the
# runtime image, so the C libraries built against (libcurl, hiredis 0.14, OpenSSL 3) are the ones installed at run
# time. (libcurl is opened by the workers at boot, not linked: ldd does not list it, libcurl4 below provides it.)
ARG SWIFT_IMAGE=swift:6.3-bookworm
FROM ${SWIFT_IMAGE} AS build
WORKDIR /src

# System packages and Swift dependencies first: these layers survive source edits.
COPY scripts/install-deps.sh scripts/
RUN scripts/install-deps.sh
COPY Package.* ./
RUN swift package resolve

COPY . .
# Exactly the script developers and CI use; it prints the binary's path last.
RUN bin="$(scripts/build.sh --release)" \
    && install -D -m 0755 "$bin" /staging/usr/local/bin/cerebras-gateway

# ---- runtime ----------------------------------------------------------------------------------------------------
# Debian 12 on purpose: its libcurl 7.88 is the one the gateway is built and measured against. Debian 13's libcurl
# 8.14 costs about 1.1x the instructions a request and 1.16x a streamed chunk (BENCHMARKS.md, "Forty-seventh round").
FROM debian:bookworm-slim AS runtime

# Only the shared libraries `ldd cerebras-gateway` resolves (Tests/e2e/test_ship.py checks this list against the
# binary): libcurl4 brings libssl3 (libcrypto) and zlib; hiredis 0.14 is bookworm's. libc, libstdc++ and libgcc
# are part of the base image. ca-certificates lets libcurl verify api.cerebras.ai.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        libcurl4 libhiredis0.14 ca-certificates \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --system --uid 10001 --user-group --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin cerebras-gateway

COPY --from=build /staging/ /

# Containers listen on every interface: publish or network-isolate ports with care. The admin listener (/health,
# /metrics, no authentication) must stay on a private network: publish 8080 only, never 9090.
# The drain deadline stays under Docker's default 10 s stop timeout (docker stop / compose down), so in-flight
# streams get 8 s and the master still exits on its own before Docker's SIGKILL. Raise both together, e.g.
# `docker run --stop-timeout 35 -e DRAIN_TIMEOUT_SECONDS=30` or compose's stop_grace_period.
# Configuration comes from the environment. For settings a reload (`docker kill -s HUP`) can change, mount a file
# at /etc/cerebras-gateway/.env (ENV_FILE's default, relative to the working directory): the environment outranks
# that file, so keep such settings out of the environment.
# GNUTLS_NO_IMPLICIT_INIT: GnuTLS is loaded only as a dependency of libcurl's dependencies (TLS is OpenSSL); this
# skips its load-time initialisation, about 1 MB per process. The master sets it for its workers anyway.
ENV HOST=0.0.0.0 \
    GNUTLS_NO_IMPLICIT_INIT=1 \
    PORT=8080 \
    ADMIN_HOST=0.0.0.0 \
    ADMIN_PORT=9090 \
    DRAIN_TIMEOUT_SECONDS=8

WORKDIR /etc/cerebras-gateway
USER cerebras-gateway:cerebras-gateway
EXPOSE 8080 9090

# SIGTERM drains (graceful); SIGQUIT stops at once; SIGHUP reloads. The master reaps its own workers, so it can run
# as PID 1 without an init.
STOPSIGNAL SIGTERM

# curl is not in the slim image: bash's /dev/tcp asks the admin listener (the master's own view: 200 while at least
# one worker serves, 503 with none or while draining), or the API port when the admin listener is disabled.
HEALTHCHECK --interval=15s --timeout=5s --start-period=20s --retries=3 \
    CMD ["bash", "-c", "port=${ADMIN_PORT:-9090}; [ \"$port\" -gt 0 ] 2>/dev/null || port=${PORT:-8080}; exec 3<>/dev/tcp/127.0.0.1/$port || exit 1; printf 'GET /health HTTP/1.0\\r\\nHost: localhost\\r\\n\\r\\n' >&3; IFS= read -r -t 4 status <&3; [[ $status =~ ^HTTP/1\\.[01]\\ 200 ]]"]

ENTRYPOINT ["/usr/local/bin/cerebras-gateway"]
