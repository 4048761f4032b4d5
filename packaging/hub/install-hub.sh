#!/usr/bin/env bash
# Install one hub replica on a Debian/Ubuntu host, as root. PostgreSQL runs elsewhere (or here).
#   sudo ./packaging/hub/install-hub.sh
# Before the first start: create the database and the two roles (docs/operations.md, "Hub").
# Re-running it upgrades the package and the units and keeps /etc/fnbpos/hub.env.
# FNBPOS_ROOT and FNBPOS_USER: see packaging/python.sh.
set -euo pipefail
. "$(dirname "$0")/../python.sh"
require_root
HUB_USER="${FNBPOS_USER:-fnbpos-hub}"
ETC="$ROOT/etc/fnbpos"

ensure_python
ensure_service_user "$HUB_USER" /var/lib/fnbpos-hub
HUB_GROUP="$(id -gn "$HUB_USER")"
# POS_HUB_DATA_DIR (the units also declare it as their StateDirectory=, writable under
# ProtectSystem=strict).
install -d -o "$HUB_USER" -g "$HUB_GROUP" -m 0700 "$ROOT/var/lib/fnbpos-hub"
install_package
install -d -m 0750 -g "$HUB_GROUP" "$ETC"
[ -f "$ETC/hub.env" ] || install -m 0640 -g "$HUB_GROUP" "$SRC/packaging/hub/hub.env.example" "$ETC/hub.env"
install -d -m 0755 "$UNIT_DIR"
install -m 0644 "$SRC/packaging/systemd/pos-hub.service" "$SRC/packaging/systemd/pos-hub@.service" \
    "$UNIT_DIR/"
systemctl daemon-reload
echo "edit /etc/fnbpos/hub.env (database URL, secret), then: systemctl enable --now pos-hub"
echo "(or one replica per CPU core: systemctl enable --now pos-hub@8001 pos-hub@8002 ...)"
