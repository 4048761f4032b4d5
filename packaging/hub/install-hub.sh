#!/usr/bin/env bash
# Install one hub replica on a Debian/Ubuntu host, as root. PostgreSQL runs elsewhere (or here).
#   sudo ./packaging/hub/install-hub.sh
# Before the first start: create the database and the two roles (docs/operations.md, "Hub").
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "run as root (sudo)" >&2; exit 1; }
SRC="$(cd "$(dirname "$0")/../.." && pwd)"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3 python3-venv >/dev/null
id fnbpos-hub >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin fnbpos-hub
python3 -m venv /opt/fnbpos/venv
/opt/fnbpos/venv/bin/pip install --quiet "$SRC"
install -d -m 0750 -g fnbpos-hub /etc/fnbpos
[ -f /etc/fnbpos/hub.env ] || install -m 0640 -g fnbpos-hub "$SRC/packaging/hub/hub.env.example" /etc/fnbpos/hub.env
install -m 0644 "$SRC/packaging/systemd/pos-hub.service" "$SRC/packaging/systemd/pos-hub@.service" \
    /etc/systemd/system/
systemctl daemon-reload
echo "edit /etc/fnbpos/hub.env (database URL, secret), then: systemctl enable --now pos-hub"
echo "(or one replica per CPU core: systemctl enable --now pos-hub@8001 pos-hub@8002 ...)"
