# Sourced by the installers in packaging/: the common settings and a python3 that can run
# fnbpos. Not meant to be run on its own.
#
# FNBPOS_ROOT  install into this folder instead of / (image builds; tests/packaging runs the
#              installers in a scratch root with systemctl replaced). Root is needed only
#              when it is unset.
# FNBPOS_USER  an existing account to own the data instead of the system user the installer
#              creates (fnbpos for the edge, fnbpos-hub for the hub).

ROOT="${FNBPOS_ROOT:-}"
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="$ROOT/opt/fnbpos"
UNIT_DIR="$ROOT/etc/systemd/system"

require_root() {
    if [ -z "$ROOT" ] && [ "$(id -u)" != 0 ]; then
        echo "run as root (sudo)" >&2
        exit 1
    fi
}

# ensure_service_user NAME HOME: the account the service runs as (created when missing).
ensure_service_user() {
    if id "$1" >/dev/null 2>&1; then
        return
    fi
    if [ -n "$ROOT" ]; then
        echo "user $1 does not exist (with FNBPOS_ROOT set, FNBPOS_USER must name an existing account)" >&2
        exit 1
    fi
    useradd --system --home-dir "$2" --no-create-home --shell /usr/sbin/nologin "$1"
}

# ensure_python: python3 (3.11 or newer) with venv, from the distribution's packages.
ensure_python() {
    if ! command -v python3 >/dev/null 2>&1 || ! python3 -c 'import ensurepip, venv' 2>/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
    fi
    if ! python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
        echo "fnbpos needs Python 3.11 or newer; python3 here is $(python3 --version 2>&1)." >&2
        echo "Use Debian 12 / Ubuntu 24.04 or newer, or put a python3 >= 3.11 first on PATH." >&2
        exit 1
    fi
}

# install_package: the venv in $PREFIX/venv with fnbpos from this checkout (a plain install:
# the wheel carries the browser apps, the dashboard and the migrations). Re-running upgrades.
install_package() {
    install -d -m 0755 "$PREFIX"
    python3 -m venv "$PREFIX/venv"
    "$PREFIX/venv/bin/pip" install --quiet --disable-pip-version-check "$SRC"
}
