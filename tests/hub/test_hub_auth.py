"""Login, access tokens, refresh rotation with reuse detection, logout, rate limiting."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import jwt
import psycopg
import pytest

from tests.hub.conftest import JWT_SECRET, HubServer, TenantCtx, login

pytestmark = pytest.mark.postgres


def _post(server: HubServer, path: str, body: object) -> httpx.Response:
    return httpx.post(server.base_url + path, json=body, timeout=30)


def test_login_returns_tokens_that_authorize(hub_server: HubServer, tenant: TenantCtx) -> None:
    tokens = login(hub_server, tenant.email.upper(), tenant.password)  # email is case-insensitive
    assert tokens["token_type"] == "bearer" and tokens["expires_in"] == 900
    assert tokens["refresh_token"].startswith("rt_")
    claims = jwt.decode(tokens["access_token"], JWT_SECRET, algorithms=["HS256"], issuer="pos-hub")
    assert claims["tid"] == tenant.id and claims["role"] == "owner"
    assert claims["exp"] - claims["iat"] == 900
    me = hub_server.client(tokens["access_token"]).get("/api/v1/me")
    assert me.status_code == 200
    assert me.json() == {"user_id": claims["sub"], "tenant_id": tenant.id, "email": tenant.email,
                         "role": "owner", "outlet_ids": None}


@pytest.mark.parametrize("body", [
    {"email": "nobody@nowhere.test", "password": "whatever-1"},
    {"email": "owner@alpha.test", "password": "wrong-password"},
])
def test_wrong_credentials_get_401(hub_server: HubServer, tenant: TenantCtx, body: dict) -> None:
    response = _post(hub_server, "/api/v1/auth/login", body)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    assert "access_token" not in response.text


@pytest.mark.parametrize("body", [{}, {"email": "a@b.c"}, {"email": 5, "password": "x"},
                                  {"email": "a@b.c", "password": "x", "tenant": "t"}, [], "x"])
def test_malformed_login_gets_400(hub_server: HubServer, body: object) -> None:
    response = _post(hub_server, "/api/v1/auth/login", body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_failed"


def test_missing_bad_or_forged_token_gets_401(hub_server: HubServer, tenant: TenantCtx) -> None:
    assert httpx.get(hub_server.base_url + "/api/v1/me").status_code == 401
    assert hub_server.client("garbage").get("/api/v1/me").status_code == 401
    forged = jwt.encode({"sub": "x", "tid": tenant.id, "role": "owner", "typ": "access",
                         "iat": int(time.time()), "exp": int(time.time()) + 60, "iss": "pos-hub"},
                        "not-the-hub-secret-" + "y" * 30, algorithm="HS256")
    response = hub_server.client(forged).get("/api/v1/brands")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthorized"
    expired = jwt.encode({"sub": "x", "tid": tenant.id, "role": "owner", "typ": "access",
                          "iat": int(time.time()) - 100, "exp": int(time.time()) - 10,
                          "iss": "pos-hub"}, JWT_SECRET, algorithm="HS256")
    response = hub_server.client(expired).get("/api/v1/brands")
    assert response.status_code == 401 and "expired" in response.json()["error"]["message"]


def test_tenant_comes_from_token_not_from_headers(hub_server: HubServer, tenant: TenantCtx,
                                                   other_tenant: TenantCtx) -> None:
    response = tenant.client.get("/api/v1/tenant", headers={"X-Tenant-Id": other_tenant.id})
    assert response.status_code == 200 and response.json()["id"] == tenant.id


def test_refresh_rotates_and_reuse_revokes_the_family(hub_server: HubServer,
                                                      tenant_factory) -> None:
    tenant = tenant_factory()  # its own owner: reuse ends this user's access tokens
    first = login(hub_server, tenant.email, tenant.password)
    second = _post(hub_server, "/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert second.status_code == 200
    second_tokens = second.json()
    assert second_tokens["refresh_token"] != first["refresh_token"]
    assert hub_server.client(second_tokens["access_token"]).get("/api/v1/me").status_code == 200

    third = _post(hub_server, "/api/v1/auth/refresh",
                  {"refresh_token": second_tokens["refresh_token"]})
    assert third.status_code == 200
    third_tokens = third.json()

    # The first token is replayed (stolen?): refused, and the whole family dies with it.
    replay = _post(hub_server, "/api/v1/auth/refresh", {"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401
    assert "revoked" in replay.json()["error"]["message"]
    latest = _post(hub_server, "/api/v1/auth/refresh",
                   {"refresh_token": third_tokens["refresh_token"]})
    assert latest.status_code == 401
    # ... and so do the user's access tokens (not 15 minutes later).
    ended = hub_server.client(third_tokens["access_token"]).get("/api/v1/me")
    assert ended.status_code == 401 and ended.json()["error"]["code"] == "session_ended"

    # Other logins of the same user are separate families and keep working.
    other_login = login(hub_server, tenant.email, tenant.password)
    assert _post(hub_server, "/api/v1/auth/refresh",
                 {"refresh_token": other_login["refresh_token"]}).status_code == 200


def test_logout_revokes_refresh_token(hub_server: HubServer, tenant_factory) -> None:
    tenant = tenant_factory()  # its own owner: logout ends this user's access tokens
    tokens = login(hub_server, tenant.email, tenant.password)
    assert _post(hub_server, "/api/v1/auth/logout",
                 {"refresh_token": tokens["refresh_token"]}).status_code == 204
    response = _post(hub_server, "/api/v1/auth/refresh", {"refresh_token": tokens["refresh_token"]})
    assert response.status_code == 401


def test_unknown_refresh_token_gets_401(hub_server: HubServer) -> None:
    response = _post(hub_server, "/api/v1/auth/refresh", {"refresh_token": "rt_nope"})
    assert response.status_code == 401
    assert _post(hub_server, "/api/v1/auth/refresh", {}).status_code == 400


def test_deactivated_user_cannot_log_in_or_refresh(hub_server: HubServer,
                                                   tenant: TenantCtx) -> None:
    user, _client = tenant.create_user("hq_admin")
    tokens = login(hub_server, user["email"], "password-123")
    response = tenant.client.patch(f"/api/v1/users/{user['id']}", json={"active": False})
    assert response.status_code == 200 and response.json()["active"] is False
    assert _post(hub_server, "/api/v1/auth/login",
                 {"email": user["email"], "password": "password-123"}).status_code == 401
    assert _post(hub_server, "/api/v1/auth/refresh",
                 {"refresh_token": tokens["refresh_token"]}).status_code == 401


def test_login_rate_limited_per_ip_account_pair_and_per_ip(pg_url: str, hub_server_factory,
                                                           tenant_factory) -> None:
    # The server trusts X-Forwarded-For from 127.0.0.1, as it would from a load balancer.
    server = hub_server_factory(pg_url, login_max_failures_per_account=3,
                                login_max_failures_per_ip=6, scheduler_enabled=False,
                                forwarded_allow_ips="127.0.0.1")
    # Attempts are counted in the shared database: start from a clean slate.
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("DELETE FROM login_attempts")

    def attempt(email: str, password: str, ip: str) -> int:
        return httpx.post(server.base_url + "/api/v1/auth/login",
                          json={"email": email, "password": password},
                          headers={"X-Forwarded-For": ip}, timeout=30).status_code

    victim, other = tenant_factory(server=server), tenant_factory(server=server)
    for _ in range(3):
        assert attempt(victim.email, "wrong-password", "10.0.0.1") == 401
    # That address now backs off for this account, even with the right password ...
    limited = httpx.post(server.base_url + "/api/v1/auth/login",
                         json={"email": victim.email, "password": victim.password},
                         headers={"X-Forwarded-For": "10.0.0.1"})
    assert limited.status_code == 429
    assert limited.json()["error"]["code"] == "rate_limited"
    assert 0 < limited.json()["error"]["details"]["retry_after_seconds"] <= 30
    # ... but the account is not locked: its owner signs in from elsewhere.
    assert attempt(victim.email, victim.password, "10.0.0.9") == 200
    # Another account from the same IP still works until the per-IP limit is reached ...
    assert attempt(other.email, other.password, "10.0.0.1") == 200
    for n in range(3):
        assert attempt(f"ghost{n}@x.test", "nope-nope", "10.0.0.1") == 401
    # ... 6 failures from 10.0.0.1 now: every account is refused from there, not elsewhere.
    assert attempt(other.email, other.password, "10.0.0.1") == 429
    assert attempt(other.email, other.password, "10.0.0.2") == 200
    with psycopg.connect(pg_url, autocommit=True) as conn:
        failures = dict(conn.execute("SELECT key, failures FROM login_attempts").fetchall())
    assert failures["ip:10.0.0.1"] == 6 and failures[f"pair:10.0.0.1|{victim.email}"] == 3
    # Counted under the forwarded address, not the balancer's (whose logins all succeeded).
    assert failures.get("ip:127.0.0.1", 0) == 0


def test_concurrent_use_of_one_refresh_token_succeeds_once(hub_server: HubServer,
                                                           tenant_factory) -> None:
    tenant = tenant_factory()  # its own owner: reuse ends this user's access tokens
    tokens = login(hub_server, tenant.email, tenant.password)
    with ThreadPoolExecutor(max_workers=6) as pool:
        responses = list(pool.map(
            lambda _: _post(hub_server, "/api/v1/auth/refresh",
                            {"refresh_token": tokens["refresh_token"]}), range(6)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 401, 401, 401, 401, 401]
    # The losers were reuse: the winner's new token belongs to a revoked family now.
    winner = next(r for r in responses if r.status_code == 200).json()
    assert _post(hub_server, "/api/v1/auth/refresh",
                 {"refresh_token": winner["refresh_token"]}).status_code == 401


def test_an_expired_access_token_is_refused_and_the_test_owner_logs_in_again(
        pg_url: str, hub_server_factory, tenant_factory) -> None:
    short = hub_server_factory(pg_url, access_ttl_seconds=1)
    owner = tenant_factory(server=short)
    time.sleep(2.1)
    stale = httpx.get(short.base_url + "/api/v1/brands", headers=owner.headers, timeout=30)
    assert stale.status_code == 401 and stale.json()["error"]["message"] == "token expired"
    # the fixture's client (tests/hub/conftest.py OwnerLogin) logs in again and is served
    assert owner.client.get("/api/v1/brands").status_code == 200
