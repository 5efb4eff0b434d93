# Sourced by the benchmark scripts: `install_if_missing COMMAND PACKAGE` installs PACKAGE with apt-get when COMMAND
# is missing (with sudo unless root).
# shellcheck shell=bash
install_if_missing() { # command package
    command -v "$1" >/dev/null 2>&1 && return 0
    local sudo_cmd
    sudo_cmd=$([[ $(id -u) == 0 ]] || echo sudo)
    $sudo_cmd apt-get update -qq >&2 || true
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "$2" >&2
}
