#!/usr/bin/env bash
# Turn an installed box into an outlet: redeem the one-time enrollment code from the hub,
# then start the edge and its nightly backup. Safe to re-run: on a provisioned box it skips
# the enrollment (the code is single use) and makes sure both are enabled and running.
#   sudo ./provision-edge.sh --hub https://hub.example.com --code ABCD-EFGH
# FNBPOS_ROOT and FNBPOS_USER: see packaging/python.sh.
set -euo pipefail
. "$(dirname "$0")/../python.sh"
require_root
EDGE_USER="${FNBPOS_USER:-fnbpos}"
DATA="$ROOT/var/lib/fnbpos"
POS_EDGE="$PREFIX/venv/bin/pos-edge"
HUB=""; CODE=""
while [ $# -gt 0 ]; do
    case "$1" in
        --hub) HUB="${2:-}"; shift 2 ;;
        --code) CODE="${2:-}"; shift 2 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
[ -n "$HUB" ] && [ -n "$CODE" ] || { echo "usage: $0 --hub URL --code CODE" >&2; exit 2; }
[ -x "$POS_EDGE" ] || { echo "$POS_EDGE is missing: run install-edge.sh first" >&2; exit 1; }
# sync.toml is written last by a successful `pos-edge provision` (edge/sync_state.py).
if [ -f "$DATA/sync.toml" ]; then
    echo "this box is already provisioned (pos-edge status --data-dir /var/lib/fnbpos); starting it"
else
    runuser -u "$EDGE_USER" -- "$POS_EDGE" provision --hub "$HUB" --code "$CODE" --data-dir "$DATA"
fi
systemctl enable --now pos-edge.service pos-edge-backup.timer
ADDRESS="$(hostname -I 2>/dev/null | awk '{print $1}')"
echo "edge running: http://${ADDRESS:-<this box>}:8080/  (kiosk /kiosk/, cashier /cashier/, KDS /kds/, board /board/)"
echo "pair each device: runuser -u $EDGE_USER -- /opt/fnbpos/venv/bin/pos-edge pair --data-dir /var/lib/fnbpos --role kiosk --name kiosk-1"
