#!/usr/bin/env bash
# Installs cerebras-gateway as a systemd service. Safe to run again (an upgrade): it never overwrites the
# configuration file, which holds secrets.
#
#   sudo scripts/install-systemd.sh                  build (scripts/build.sh --release) and install
#   sudo scripts/install-systemd.sh --binary PATH    install a binary built elsewhere
#   scripts/install-systemd.sh --destdir DIR …       stage everything under DIR (packaging, tests); no root needed,
#                                                    no user created, systemd untouched
#   scripts/install-systemd.sh --dry-run …           print what would be done, change nothing
#
# Installs /usr/local/bin/cerebras-gateway, /etc/systemd/system/cerebras-gateway.service, the system user
# cerebras-gateway, and /etc/cerebras-gateway/env (from .env.example, only when absent; root:cerebras-gateway 0640:
# the service reads it itself on every reload).
set -euo pipefail
cd "$(dirname "$0")/.."

service=cerebras-gateway
binary=""
destdir="${DESTDIR:-}"
dry_run=0

while (($#)); do
    case "$1" in
        --binary)
            [[ $# -ge 2 ]] || { echo "install-systemd.sh: --binary needs a path" >&2; exit 2; }
            binary="$2"
            shift
            ;;
        --destdir)
            [[ $# -ge 2 ]] || { echo "install-systemd.sh: --destdir needs a directory" >&2; exit 2; }
            destdir="$2"
            shift
            ;;
        --dry-run) dry_run=1 ;;
        -h | --help)
            sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "install-systemd.sh: unknown argument '$1' (try --help)" >&2
            exit 2
            ;;
    esac
    shift
done

if [[ -n "$destdir" ]]; then
    destdir="$(mkdir -p "$destdir" && cd "$destdir" && pwd)"
fi
is_root=0
[[ $(id -u) -eq 0 ]] && is_root=1
if [[ -z "$destdir" && $is_root -eq 0 && $dry_run -eq 0 ]]; then
    echo "install-systemd.sh: run as root (sudo $0 $*), or stage into a directory with --destdir" >&2
    exit 1
fi

# Every change goes through `run`, so --dry-run prints exactly what a real run does.
run() {
    if ((dry_run)); then
        printf '+'
        printf ' %q' "$@"
        printf '\n'
    else
        "$@"
    fi
}
note() { echo "install-systemd.sh: $*"; }

# ---- the binary -------------------------------------------------------------------------------------------------
if [[ -z "$binary" ]]; then
    if ((dry_run)); then
        binary="<output of scripts/build.sh --release>"
        note "would build with scripts/build.sh --release"
    else
        note "building with scripts/build.sh --release"
        binary="$(scripts/build.sh --release | tail -n 1)"
    fi
elif [[ ! -x "$binary" ]]; then
    echo "install-systemd.sh: $binary is not an executable file" >&2
    exit 1
fi

# ---- the system user --------------------------------------------------------------------------------------------
have_user=0
if id -u "$service" >/dev/null 2>&1; then
    have_user=1
elif [[ -n "$destdir" ]]; then
    note "staging into $destdir: not creating the system user '$service' (create it on the target machine)"
else
    run useradd --system --user-group --no-create-home --home-dir "/var/lib/$service" \
        --shell /usr/sbin/nologin --comment "cerebras-gateway service" "$service"
    have_user=1
fi

# ---- files ------------------------------------------------------------------------------------------------------
run install -d -m 0755 "$destdir/usr/local/bin" "$destdir/etc/systemd/system"
# install(1) unlinks the old file before writing the new one: a running gateway keeps its binary until restarted.
run install -m 0755 "$binary" "$destdir/usr/local/bin/$service"
run install -m 0644 "systemd/$service.service" "$destdir/etc/systemd/system/$service.service"

config_dir="$destdir/etc/$service"
config="$config_dir/env"
run install -d -m 0750 "$config_dir"
if [[ -e "$config" ]]; then
    note "keeping the existing $config (secrets are never overwritten; compare with .env.example for new options)"
else
    run install -m 0640 .env.example "$config"
    created_config=1
fi
# root owns the configuration; the service's group may read it (the gateway re-reads it on reload).
if ((is_root)) && ((have_user)); then
    run chown root:"$service" "$config_dir"
    [[ -e "$config" || $dry_run -eq 1 ]] && run chown root:"$service" "$config" && run chmod 0640 "$config"
fi

# ---- systemd ----------------------------------------------------------------------------------------------------
if [[ -n "$destdir" ]]; then
    note "staged into $destdir: systemd not reloaded"
elif [[ -d /run/systemd/system ]]; then
    run systemctl daemon-reload
else
    note "systemd is not running on this machine: skipped 'systemctl daemon-reload'"
fi

if ((dry_run)); then
    echo
    echo "Dry run: nothing was changed."
    exit 0
fi
cat <<EOF

Installed $service.
Next steps:
  1. Put your keys in $config (CEREBRAS_API_KEY, GATEWAY_API_KEYS; see docs/deployment.md), then check it:
       ENV_FILE=$config /usr/local/bin/$service check-config
  2. Start it now and at boot:
       systemctl enable --now $service
  3. After editing $config (zero downtime):
       systemctl reload $service
     After installing a new binary:
       systemctl restart $service
  Status and logs: systemctl status $service; journalctl -u $service -f
EOF
[[ -n "${created_config:-}" ]] && echo "  ($config was created from .env.example: it has no keys yet.)"
exit 0
