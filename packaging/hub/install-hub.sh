#!/usr/bin/env bash
# Install one hub replica on a Debian/Ubuntu host, as root. PostgreSQL runs elsewhere (or here).
#   sudo ./packaging/hub/install-hub.sh
# Before the first start: create the database and the two roles (docs/operations.md, "Hub").
# Re-running it upgrades the package and the units and keeps /etc/fnbpos/hub.env.
# FNBPOS_ROOT and FNBPOS_USER: see packaging/python.sh.
set -euo pipefail

# A new random secret on stdout (never echoed anywhere else).
new_secret() {
    python3 -c 'import secrets; print(secrets.token_urlsafe(48))' 2>/dev/null \
        || head -c 48 /dev/urandom | base64 | tr -d '\n/+='
}

# Give every secret of hub.env that is empty, short or a placeholder (hub.env.example's) a
# new random value; a real one is kept, so a re-install never changes it. The hub refuses
# to start with a placeholder (hub/settings.py secret_problem). Replicas on other machines
# need the same value: copy this hub.env there.
ensure_hub_secrets() {
    local env_file="$1" key value tmp
    for key in POS_HUB_JWT_SECRET POS_HUB_PIN_KEY; do
        value="$(sed -n "s/^${key}=//p" "$env_file" | tail -n 1)"
        if [ "${#value}" -ge 32 ] \
                && ! printf '%s' "$value" | grep -qiE 'change-?me|replace-?me|placeholder|example'; then
            continue
        fi
        tmp="$(mktemp "$env_file.XXXXXX")"
        SECRET="$(new_secret)" awk -v key="$key" '
            index($0, key "=") == 1 { if (!done) print key "=" ENVIRON["SECRET"]; done = 1; next }
            { print }
            END { if (!done) print key "=" ENVIRON["SECRET"] }' "$env_file" > "$tmp"
        chmod --reference="$env_file" "$tmp"
        chown --reference="$env_file" "$tmp" 2>/dev/null || true
        mv "$tmp" "$env_file"
        echo "generated a random $key in $env_file"
    done
}

# Tests call the functions above on a scratch file: FNBPOS_FUNCTIONS_ONLY=1 . install-hub.sh
if [ "${FNBPOS_FUNCTIONS_ONLY:-}" = 1 ]; then return 0 2>/dev/null || exit 0; fi

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
ensure_hub_secrets "$ETC/hub.env"
install -d -m 0755 "$UNIT_DIR"
install -m 0644 "$SRC/packaging/systemd/pos-hub.service" "$SRC/packaging/systemd/pos-hub@.service" \
    "$UNIT_DIR/"
systemctl daemon-reload
echo "edit /etc/fnbpos/hub.env (database URL), then: systemctl enable --now pos-hub"
echo "(replicas on other machines need the same POS_HUB_JWT_SECRET and POS_HUB_PIN_KEY: copy hub.env there)"
echo "(or one replica per CPU core: systemctl enable --now pos-hub@8001 pos-hub@8002 ...)"
