#!/usr/bin/env bash
# Turn an installed box into an outlet: redeem the one-time enrollment code from the hub,
# then start the edge and its nightly backup. Safe to re-run (provision says if it is done).
#   sudo ./provision-edge.sh --hub https://hub.example.com --code ABCD-EFGH
set -euo pipefail
[ "$(id -u)" = 0 ] || { echo "run as root (sudo)" >&2; exit 1; }
HUB=""; CODE=""
while [ $# -gt 0 ]; do
    case "$1" in
        --hub) HUB="$2"; shift 2 ;;
        --code) CODE="$2"; shift 2 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done
[ -n "$HUB" ] && [ -n "$CODE" ] || { echo "usage: $0 --hub URL --code CODE" >&2; exit 2; }
runuser -u fnbpos -- /opt/fnbpos/venv/bin/pos-edge provision --hub "$HUB" --code "$CODE" --data-dir /var/lib/fnbpos
systemctl enable --now pos-edge.service pos-edge-backup.timer
echo "edge running: http://$(hostname -I | awk '{print $1}'):8080/  (kiosk /kiosk/, cashier /cashier/, KDS /kds/)"
echo "pair each device: runuser -u fnbpos -- /opt/fnbpos/venv/bin/pos-edge pair --data-dir /var/lib/fnbpos --role kiosk --name kiosk-1"
