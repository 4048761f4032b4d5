#!/usr/bin/env bash
# Install the fnbpos edge on an outlet box (Debian/Ubuntu), as root:
#   sudo ./packaging/install/install-edge.sh            # from a checkout of this repository
# Then provision it with the one-time code from the hub (see provision-edge.sh). Re-running
# it upgrades the package and the units and keeps the data. FNBPOS_ROOT and FNBPOS_USER:
# see packaging/python.sh.
set -euo pipefail
. "$(dirname "$0")/../python.sh"
require_root
EDGE_USER="${FNBPOS_USER:-fnbpos}"
DATA="$ROOT/var/lib/fnbpos"
BACKUPS="$ROOT/var/backups/fnbpos"

ensure_python
ensure_service_user "$EDGE_USER" /var/lib/fnbpos
install -d -o "$EDGE_USER" -g "$(id -gn "$EDGE_USER")" -m 0700 "$DATA" "$BACKUPS"
install_package
install -d -m 0755 "$UNIT_DIR"
install -m 0644 "$SRC/packaging/systemd/pos-edge.service" "$SRC/packaging/systemd/pos-edge-backup.service" \
    "$SRC/packaging/systemd/pos-edge-backup.timer" "$UNIT_DIR/"
systemctl daemon-reload
echo "installed. next: sudo $SRC/packaging/install/provision-edge.sh --hub https://hub.example.com --code CODE"
