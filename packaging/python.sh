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

# venv_is_current DIR: DIR is a venv of this python3 (same interpreter and version) whose pip
# still imports, so a re-run can keep it instead of re-creating it and re-bootstrapping pip.
venv_is_current() {
    local probe='import sys; print(sys.base_prefix, sys.version)'
    [ -x "$1/bin/python" ] && "$1/bin/python" -c 'import pip' 2>/dev/null \
        && [ "$("$1/bin/python" -c "$probe")" = "$(python3 -c "$probe")" ]
}

# install_package: the venv in $PREFIX/venv with fnbpos from this checkout (a plain install:
# the wheel carries the browser apps, the dashboard and the migrations). Re-running upgrades.
# The build backend (pyproject.toml's build-system.requires) is installed into the venv and
# the checkout is built there, not in a throw-away build environment: a re-run neither
# reinstalls the backend nor needs the package index for it, so an offline box can be
# upgraded from a new checkout as long as the dependencies did not change.
install_package() {
    local venv="$PREFIX/venv" pip_install build_requires
    install -d -m 0755 "$PREFIX"
    venv_is_current "$venv" || python3 -m venv "$venv"
    pip_install=("$venv/bin/pip" install --quiet --disable-pip-version-check)
    mapfile -t build_requires < <(python3 -c 'import sys, tomllib
print("\n".join(tomllib.load(open(sys.argv[1], "rb"))["build-system"]["requires"]))' \
        "$SRC/pyproject.toml")
    "${pip_install[@]}" "${build_requires[@]}"
    "${pip_install[@]}" --no-build-isolation "$SRC"
}
