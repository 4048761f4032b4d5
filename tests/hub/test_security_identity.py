"""Security issue 9, hub identity and enrollment: each attack through a real ``pos-hub serve``.

H4 a placeholder or weak JWT secret (the hub refuses to start; the installer writes a real
one), M1 enrollment codes and deactivated outlets, M2 access tokens that outlive the events
that should end them, M3 the login limit (parallel guesses; a guesser at one address cannot
lock the owner out at another), M5 one permission table (docs/api.md equals the code), the
lows (cross-tenant email oracle, unbounded outlet settings, how redemption is audited) and
the fleet alert for an outlet with a second active sync credential.
"""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from hub.app import create_app
from hub.identity import PERMISSIONS
from hub.models import ROLES
from hub.settings import HubSettings, secret_problem
from sync.protocol import MEDIA_TYPE, EnrollRequest, PushRequest, encode_frame
from tests.cli_in_process import pos_hub
from tests.hub.conftest import JWT_SECRET, POS_HUB, REPO, HubServer, TenantCtx, login

pytestmark = pytest.mark.postgres

PLACEHOLDER = "change-me-to-at-least-32-random-characters"  # packaging/hub/hub.env.example


# ---------------------------------------------------------------- H4: the signing secret


WEAK_SECRETS = [PLACEHOLDER, "x" * 40, "too-short-but-random-Zq8"]


def test_serve_refuses_a_placeholder_secret(tmp_path: Path) -> None:
    secret = PLACEHOLDER
    env = {**os.environ, "POS_HUB_JWT_SECRET": secret, "POS_HUB_DATA_DIR": str(tmp_path)}
    done = subprocess.run([*POS_HUB, "serve", "--db", f"sqlite:///{tmp_path}/hub.db",
                           "--port", "1"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=60, check=False)
    assert done.returncode != 0
    assert "refusing to start" in done.stderr and "POS_HUB_JWT_SECRET" in done.stderr
    assert "Traceback" not in done.stderr
    assert secret not in done.stderr  # the message names the problem, never the secret
    assert not (tmp_path / "hub.db").exists()  # refused before touching the database


@pytest.mark.parametrize("secret", WEAK_SECRETS)
def test_every_kind_of_weak_secret_is_refused_without_being_shown(secret: str) -> None:
    """What serve checks first (the test above sees it refuse a start): a placeholder, a
    secret of few different characters and a short one are each refused, and the message
    names the variable, never the secret. One process start proves serve asks; the kinds
    are told apart here, in this process (a start per kind cost a Python start each)."""
    with pytest.raises(ValueError) as refused:
        HubSettings(jwt_secret=secret).resolved_jwt_secret()
    assert "POS_HUB_JWT_SECRET" in str(refused.value) and secret not in str(refused.value)


def test_the_example_env_file_would_not_start_a_hub() -> None:
    example = (REPO / "packaging" / "hub" / "hub.env.example").read_text()
    assert f"POS_HUB_JWT_SECRET={PLACEHOLDER}\n" in example
    assert secret_problem(PLACEHOLDER) is not None
    with pytest.raises(ValueError, match="placeholder"):
        HubSettings(jwt_secret=PLACEHOLDER).resolved_jwt_secret()
    # A demo on a laptop may run with it; a generated key is always accepted.
    assert HubSettings(jwt_secret=PLACEHOLDER, demo=True).resolved_jwt_secret() == PLACEHOLDER
    assert secret_problem(secrets.token_urlsafe(48)) is None
    assert secret_problem(secrets.token_hex(16)) is None


def _ensure_hub_secrets(env_file: Path) -> subprocess.CompletedProcess[str]:
    script = REPO / "packaging" / "hub" / "install-hub.sh"
    return subprocess.run(["bash", "-c", 'FNBPOS_FUNCTIONS_ONLY=1 . "$0"; ensure_hub_secrets "$1"',
                           str(script), str(env_file)], capture_output=True, text=True,
                          timeout=60, check=False)


def test_installer_writes_a_real_secret_once_and_keeps_it(tmp_path: Path) -> None:
    example = (REPO / "packaging" / "hub" / "hub.env.example").read_text()
    env_file = tmp_path / "hub.env"
    env_file.write_text(example)
    env_file.chmod(0o640)
    done = _ensure_hub_secrets(env_file)
    assert done.returncode == 0, done.stderr
    first = env_file.read_text()
    secret = re.search(r"^POS_HUB_JWT_SECRET=(.*)$", first, re.MULTILINE)
    assert secret is not None and secret_problem(secret.group(1)) is None
    assert secret.group(1) not in done.stdout + done.stderr  # never printed
    pin_key = re.search(r"^POS_HUB_PIN_KEY=(.*)$", first, re.MULTILINE)
    assert pin_key is not None and secret_problem(pin_key.group(1)) is None
    assert pin_key.group(1) != secret.group(1)
    assert env_file.stat().st_mode & 0o777 == 0o640
    # Every other line is the example's, untouched.
    generated = ("POS_HUB_JWT_SECRET=", "POS_HUB_PIN_KEY=")
    assert [ln for ln in first.splitlines() if not ln.startswith(generated)] == \
        [ln for ln in example.splitlines() if not ln.startswith(generated)]
    # A re-install keeps the real secret (tokens stay valid, replicas stay in step).
    assert _ensure_hub_secrets(env_file).returncode == 0
    assert env_file.read_text() == first
    # Another install gets another secret; a missing line is added.
    other = tmp_path / "other.env"
    other.write_text("POS_HUB_DB_URL=sqlite:////tmp/x.db\n")
    assert _ensure_hub_secrets(other).returncode == 0
    added = re.search(r"^POS_HUB_JWT_SECRET=(.*)$", other.read_text(), re.MULTILINE)
    assert added is not None and added.group(1) != secret.group(1)
    assert secret_problem(added.group(1)) is None


# ---------------------------------------------------------------- helpers


def _redeem(server: HubServer, code: str, device_key: str, **fields: Any) -> httpx.Response:
    body = encode_frame(EnrollRequest(code=code, device_key=device_key, hostname="box", **fields))
    return httpx.post(server.base_url + "/api/v1/enrollment/redeem", content=body,
                      headers={"Content-Type": MEDIA_TYPE}, timeout=30)


def _pull(server: HubServer, credential: str) -> httpx.Response:
    return httpx.get(server.base_url + "/api/v1/sync/pull",
                     headers={"Authorization": f"Bearer {credential}"}, timeout=30)


def _push(server: HubServer, credential: str, outlet_id: str) -> httpx.Response:
    body = encode_frame(PushRequest(outlet_id=outlet_id, epoch=str(uuid.uuid4()), entries=[]))
    return httpx.post(server.base_url + "/api/v1/sync/push", content=body,
                      headers={"Authorization": f"Bearer {credential}",
                               "Content-Type": MEDIA_TYPE}, timeout=30)


def _code(t: TenantCtx, outlet_id: str, client: httpx.Client | None = None) -> str:
    response = (client or t.client).post(f"/api/v1/outlets/{outlet_id}/enrollment-codes", json={})
    assert response.status_code == 201, response.text
    return response.json()["code"]


def _credential(response: httpx.Response) -> str:
    from sync.protocol import EnrollResponse, decode_frame

    assert response.status_code == 200, response.text
    return decode_frame(response.content, EnrollResponse).credential


def _error(response: httpx.Response) -> str:
    return response.json()["error"]["code"]


# ---------------------------------------------------------------- M1: codes and outlets


def test_a_revoked_credentials_code_never_mints_again(hub_server: HubServer,
                                                      tenant_factory) -> None:
    t = tenant_factory()
    outlet = t.create_outlet("Revoked")
    code, key = _code(t, outlet["id"]), secrets.token_urlsafe(24)
    first = _credential(_redeem(hub_server, code, key))
    # A replay with the same key while nothing is revoked: the lost-reply path still works.
    second = _credential(_redeem(hub_server, code, key))
    assert _pull(hub_server, first).status_code == 401  # the unseen one was replaced
    assert _pull(hub_server, second).status_code == 200
    revoked = t.client.post(f"/api/v1/outlets/{outlet['id']}/sync-credentials/revoke")
    assert revoked.status_code == 200 and revoked.json() == {"revoked": 1}
    again = _redeem(hub_server, code, key)
    assert again.status_code == 410 and _error(again) == "code_revoked"
    assert _pull(hub_server, second).status_code == 401
    active = [c for c in t.client.get(f"/api/v1/outlets/{outlet['id']}/sync-credentials")
              .json()["items"] if c["revoked_at"] is None]
    assert active == []


def test_an_expired_code_is_not_replayed(hub_server: HubServer, tenant_factory,
                                         pg_url: str) -> None:
    t = tenant_factory()
    outlet = t.create_outlet("Expired")
    response = t.client.post(f"/api/v1/outlets/{outlet['id']}/enrollment-codes",
                             json={"ttl_minutes": 1})
    code, key = response.json()["code"], secrets.token_urlsafe(24)
    credential = _credential(_redeem(hub_server, code, key))
    # Three minutes later (the clock moved by ageing the row rather than by waiting).
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("UPDATE enrollment_codes SET expires_at = now() - interval '2 minutes' "
                     "WHERE id = %s", (response.json()["id"],))
    replay = _redeem(hub_server, code, key)
    assert replay.status_code == 410 and _error(replay) == "code_expired"
    assert _pull(hub_server, credential).status_code == 200  # the box's credential stands


def test_a_deactivated_outlet_neither_syncs_nor_enrolls(hub_server: HubServer,
                                                        tenant_factory) -> None:
    t = tenant_factory()
    outlet = t.create_outlet("Closed")
    spare_code = _code(t, outlet["id"])
    credential = _credential(_redeem(hub_server, _code(t, outlet["id"]), secrets.token_urlsafe(24)))
    assert _pull(hub_server, credential).status_code == 200
    assert _push(hub_server, credential, outlet["id"]).status_code == 200
    off = t.client.patch(f"/api/v1/outlets/{outlet['id']}", json={"active": False})
    assert off.status_code == 200
    for response in (_pull(hub_server, credential), _push(hub_server, credential, outlet["id"]),
                     _redeem(hub_server, spare_code, secrets.token_urlsafe(24))):
        assert response.status_code == 403 and _error(response) == "outlet_inactive", response.text
    assert t.client.patch(f"/api/v1/outlets/{outlet['id']}", json={"active": True}).status_code == 200
    assert _pull(hub_server, credential).status_code == 200  # back, nothing re-enrolled


# ---------------------------------------------------------------- M2: access ends at once


def test_a_deactivated_hq_admin_cannot_create_an_hq_admin(tenant_factory) -> None:
    t = tenant_factory()
    admin, admin_client = t.create_user("hq_admin")
    assert admin_client.get("/api/v1/users").status_code == 200
    assert t.client.patch(f"/api/v1/users/{admin['id']}", json={"active": False}).status_code == 200
    minted = admin_client.post("/api/v1/users", json={
        "email": f"evil-{uuid.uuid4().hex[:6]}@x.test", "password": "password-123",
        "role": "hq_admin"})
    assert minted.status_code == 401 and _error(minted) == "session_ended"
    emails = [u["email"] for u in t.client.get("/api/v1/users").json()["items"]]
    assert not any(e.startswith("evil-") for e in emails)


@pytest.mark.parametrize("change", [{"role": "outlet_manager"}, {"password": "new-password-9"},
                                    "outlets", "logout", "refresh_reuse"])
def test_role_password_outlet_change_logout_and_reuse_end_access_tokens(
        tenant_factory, change: Any) -> None:
    t = tenant_factory()
    first, second = t.create_outlet("One"), t.create_outlet("Two")
    role = "area_manager" if change == "outlets" else "hq_admin"
    user, client = t.create_user(role, [first["id"]] if change == "outlets" else None)
    tokens = login(t.server, user["email"], "password-123")
    client = t.server.client(tokens["access_token"])
    assert client.get("/api/v1/outlets").status_code == 200
    if change == "outlets":
        body: dict[str, Any] = {"outlet_ids": [second["id"]]}
        assert t.client.patch(f"/api/v1/users/{user['id']}", json=body).status_code == 200
    elif change == "logout":
        assert httpx.post(t.server.base_url + "/api/v1/auth/logout",
                          json={"refresh_token": tokens["refresh_token"]}).status_code == 204
    elif change == "refresh_reuse":
        refresh = {"refresh_token": tokens["refresh_token"]}
        assert httpx.post(t.server.base_url + "/api/v1/auth/refresh", json=refresh).status_code == 200
        assert httpx.post(t.server.base_url + "/api/v1/auth/refresh", json=refresh).status_code == 401
    else:
        if "role" in change:
            change = {**change, "outlet_ids": [first["id"]]}
        assert t.client.patch(f"/api/v1/users/{user['id']}", json=change).status_code == 200
    ended = client.get("/api/v1/outlets")
    assert ended.status_code == 401 and _error(ended) == "session_ended"
    assert client.get("/api/v1/me").status_code == 401


def _principal_routes() -> list[tuple[str, str]]:
    app = create_app(HubSettings(jwt_secret=JWT_SECRET, scheduler_enabled=False))
    found = []
    for route in app.routes:
        for method, handler in getattr(route, "route_handler_map", {}).items():
            fn = handler[0] if isinstance(handler, tuple) else handler
            if "principal" in fn.parsed_fn_signature.parameters and method != "OPTIONS":
                found.append((method, route.path))
    return sorted(found)


def test_no_route_serves_a_token_whose_session_ended(hub_server: HubServer,
                                                     tenant_factory) -> None:
    t = tenant_factory()
    tokens = login(hub_server, t.email, t.password)
    stale = hub_server.client(tokens["access_token"])
    assert stale.get("/api/v1/brands").status_code == 200
    assert httpx.post(hub_server.base_url + "/api/v1/auth/logout",
                      json={"refresh_token": tokens["refresh_token"]}).status_code == 204
    routes = _principal_routes()
    assert len(routes) > 30
    for method, path in routes:
        url = re.sub(r"\{[a-z_]+:str\}", "0196a0a0-0000-7000-8000-000000000000", path)
        url += "?from=2026-01-01&to=2026-12-31" if path.startswith("/api/v1/reports/") else ""
        response = stale.request(method, url, json={} if method in ("POST", "PUT", "PATCH") else None)
        assert not 200 <= response.status_code < 300, (method, path, response.text)
        assert response.status_code < 500, (method, path, response.text)
        if "{" not in path and method == "GET":
            assert response.status_code == 401, (method, path, response.text)


# ---------------------------------------------------------------- M3: login limits


def _attempt(server: HubServer, email: str, password: str, source: str = "127.0.0.1") -> int:
    transport = httpx.HTTPTransport(local_address=source)
    with httpx.Client(transport=transport, timeout=60) as client:
        return client.post(server.base_url + "/api/v1/auth/login",
                           json={"email": email, "password": password}).status_code


@pytest.fixture(scope="module")
def limited_hub_process(pg_url: str, hub_server_factory: Callable[..., HubServer]) -> HubServer:
    return hub_server_factory(pg_url, scheduler_enabled=False)


@pytest.fixture
def limited_hub(pg_url: str, limited_hub_process: HubServer) -> HubServer:
    """A hub with the default per-account limit (5) whose counters start empty: one process
    for the file (the counters live in the database, not in the process)."""
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DELETE FROM login_attempts")
    return limited_hub_process


def test_parallel_wrong_passwords_are_checked_at_most_the_limit(limited_hub: HubServer,
                                                                tenant_factory) -> None:
    victim = tenant_factory(server=limited_hub)
    with ThreadPoolExecutor(max_workers=60) as pool:
        statuses = list(pool.map(lambda n: _attempt(limited_hub, victim.email, f"guess-{n:04d}"),
                                 range(60)))
    checked = statuses.count(401)  # 401 = the password was verified (and wrong)
    assert statuses.count(429) == 60 - checked
    print(f"60 parallel wrong logins: {checked} checked, {60 - checked} refused 429")
    assert 1 <= checked <= 5, statuses


def test_a_guesser_at_one_address_does_not_lock_the_owner_out(limited_hub: HubServer,
                                                              tenant_factory) -> None:
    owner = tenant_factory(server=limited_hub)
    statuses = [_attempt(limited_hub, owner.email, f"guess-{n}", "127.0.0.1") for n in range(12)]
    assert statuses[:5] == [401] * 5 and set(statuses[5:]) == {429}
    # The guesser's address backs off, even with the right password ...
    assert _attempt(limited_hub, owner.email, owner.password, "127.0.0.1") == 429
    # ... the owner, elsewhere, signs in at once.
    assert _attempt(limited_hub, owner.email, owner.password, "127.0.0.2") == 200
    # Recovery: the operator clears the account's counters.
    done = pos_hub("users", "unlock", owner.email, db_url=limited_hub.db_url)
    assert "cleared" in done.stdout
    assert _attempt(limited_hub, owner.email, owner.password, "127.0.0.1") == 200


# ---------------------------------------------------------------- M5: one permission table


def test_outlet_manager_cannot_mint_list_or_revoke_credentials(tenant_factory) -> None:
    t = tenant_factory()
    outlet = t.create_outlet("Managed")
    _, manager = t.create_user("outlet_manager", [outlet["id"]])
    _, technician = t.create_user("technician", [outlet["id"]])
    base = f"/api/v1/outlets/{outlet['id']}"
    for response in (manager.post(f"{base}/enrollment-codes", json={}),
                     manager.get(f"{base}/sync-credentials"),
                     manager.post(f"{base}/sync-credentials/revoke")):
        assert response.status_code == 403, response.text
        assert response.json()["error"]["details"]["permission"] == "enrollment:manage"
    assert technician.post(f"{base}/enrollment-codes", json={}).status_code == 201
    assert technician.get(f"{base}/sync-credentials").status_code == 200


def _docs_permissions() -> dict[str, frozenset[str]]:
    text = (REPO / "docs" / "api.md").read_text()
    section = text.split("#### Permissions", 1)[1].split("\n#", 1)[0]
    table: dict[str, frozenset[str]] = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith("`") and ":" in cells[0]:
            roles = cells[1].replace("`", "")
            table[cells[0].strip("`")] = (frozenset(ROLES) if roles == "all roles"
                                          else frozenset(r.strip() for r in roles.split(",")))
    return table


def test_the_documented_permission_table_is_the_codes() -> None:
    assert _docs_permissions() == PERMISSIONS


def test_no_ad_hoc_role_checks_remain() -> None:
    pattern = re.compile(r"principal\.role\s*(not in|in|==|!=)")
    offenders = [str(p.relative_to(REPO)) for p in (REPO / "hub").rglob("*.py")
                 if p.name != "identity.py" and pattern.search(p.read_text())]
    assert offenders == []


# ---------------------------------------------------------------- lows


def test_another_tenants_email_is_no_oracle(hub_server: HubServer, tenant_factory) -> None:
    a, b = tenant_factory(), tenant_factory()
    taken, fresh = b.email, f"fresh-{uuid.uuid4().hex[:6]}@x.test"
    answers = [a.client.post("/api/v1/users", json={"email": email, "password": "password-a1",
                                                      "role": "hq_admin"})
               for email in (taken, fresh)]
    assert [r.status_code for r in answers] == [201, 201]
    assert set(answers[0].json()) == set(answers[1].json())
    # Both accounts named b.email work, each with its own password and tenant.
    mine = login(hub_server, taken, "password-a1")
    theirs = login(hub_server, taken, b.password)
    assert hub_server.client(mine["access_token"]).get("/api/v1/me").json()["tenant_id"] == a.id
    assert hub_server.client(theirs["access_token"]).get("/api/v1/me").json()["tenant_id"] == b.id
    # A duplicate inside one tenant is still a conflict (the caller can list those anyway).
    dup = a.client.post("/api/v1/users", json={"email": taken.upper(), "password": "password-a2",
                                               "role": "hq_admin"})
    assert dup.status_code == 409


def test_outlet_settings_are_bounded(tenant_factory) -> None:
    t = tenant_factory()
    outlet = t.create_outlet("Bounded")
    url = f"/api/v1/outlets/{outlet['id']}"
    audit_before = len(t.client.get(f"/api/v1/audit?entity_id={outlet['id']}").json()["items"])
    huge = t.client.patch(url, json={"settings": {"blob": "x" * 7_000_000}})
    assert huge.status_code in (400, 413)  # refused by the settings bound or the body limit
    big = t.client.patch(url, json={"settings": {"blob": "x" * 20_000}})
    assert big.status_code == 400 and _error(big) == "validation_failed"
    many = t.client.patch(url, json={"settings": {f"k{n}": n for n in range(65)}})
    assert many.status_code == 400
    long_key = t.client.patch(url, json={"settings": {"k" * 65: 1}})
    assert long_key.status_code == 400
    assert t.client.post("/api/v1/outlets", json={
        "name": "Too big", "timezone": "Asia/Jakarta",
        "settings": {"blob": "y" * 20_000}}).status_code == 400
    fine = t.client.patch(url, json={"settings": {"kitchen_trigger": "payment"}})
    assert fine.status_code == 200 and fine.json()["settings"] == {"kitchen_trigger": "payment"}
    entries = t.client.get(f"/api/v1/audit?entity_id={outlet['id']}").json()["items"]
    assert len(entries) == audit_before + 1  # only the accepted change


def test_redemption_is_audited_with_the_box_and_its_address(hub_server: HubServer,
                                                            tenant_factory) -> None:
    t = tenant_factory()
    outlet = t.create_outlet("Audited")
    _credential(_redeem(hub_server, _code(t, outlet["id"]), secrets.token_urlsafe(24)))
    entries = t.client.get(f"/api/v1/audit?entity_id={outlet['id']}").json()["items"]
    redeem = next(e for e in entries if e["action"] == "enrollment_code.redeem")
    assert redeem["actor_email"].startswith("device:") and redeem["actor_email"] != "cli"
    assert redeem["ip"] == "127.0.0.1"


# ---------------------------------------------------------------- fleet alert


def test_fleet_counts_active_credentials_of_each_outlet(hub_server: HubServer,
                                                        tenant_factory) -> None:
    t = tenant_factory()
    outlet = t.create_outlet("Twice")

    def active() -> int:
        entries = t.client.get("/api/v1/fleet").json()["items"]
        return next(e for e in entries if e["outlet_id"] == outlet["id"])["active_credentials"]

    assert active() == 0
    _credential(_redeem(hub_server, _code(t, outlet["id"]), secrets.token_urlsafe(24)))
    assert active() == 1
    # A second box (or a credential minted with no box) enrolls the same outlet: an alert.
    _credential(_redeem(hub_server, _code(t, outlet["id"]), secrets.token_urlsafe(24)))
    assert active() == 2
    listed = t.client.get(f"/api/v1/outlets/{outlet['id']}/sync-credentials").json()["items"]
    newest = listed[0]["id"]
    revoked = t.client.post(f"/api/v1/outlets/{outlet['id']}/sync-credentials/{newest}/revoke")
    assert revoked.status_code == 200 and revoked.json() == {"revoked": 1}
    assert active() == 1
    script = (REPO / "hub" / "dashboard" / "js" / "pages" / "fleet.js").read_text()
    assert "active_credentials" in script
