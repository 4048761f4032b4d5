#!/usr/bin/env bash
# Install the fnbpos edge on an outlet box (Debian/Ubuntu), as root:
#   sudo ./packaging/install/install-edge.sh            # from a checkout of this repository
# Then provision it with the one-time code from the hub (see provision-edge.sh).
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "run as root (sudo)" >&2; exit 1; }
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
PREFIX=/opt/fnbpos
DATA=/var/lib/fnbpos
BACKUPS=/var/backups/fnbpos

apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
id fnbpos >/dev/null 2>&1 || useradd --system --home-dir "$DATA" --shell /usr/sbin/nologin fnbpos
install -d -o fnbpos -g fnbpos -m 0700 "$DATA" "$BACKUPS"
install -d -m 0755 "$PREFIX"
python3 -m venv "$PREFIX/venv"
"$PREFIX/venv/bin/pip" install --quiet --upgrade pip
"$PREFIX/venv/bin/pip" install --quiet "$SRC"
install -m 0644 "$SRC/packaging/systemd/pos-edge.service" /etc/systemd/system/
install -m 0644 "$SRC/packaging/systemd/pos-edge-backup.service" /etc/systemd/system/
install -m 0644 "$SRC/packaging/systemd/pos-edge-backup.timer" /etc/systemd/system/
systemctl daemon-reload
echo "installed. next: sudo $SRC/packaging/install/provision-edge.sh --hub https://hub.example.com --code CODE"
