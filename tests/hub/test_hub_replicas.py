"""Two ``pos-hub serve`` processes on one PostgreSQL database: requests may land on either,
and scheduled jobs run exactly once per slot across both."""

from __future__ import annotations

import json
import socket
import time
from datetime import timedelta
from itertools import pairwise

import httpx
import psycopg
import pytest

from hub.models import utcnow
from shared.auth import digest
from shared.ids import new_id

pytestmark = pytest.mark.postgres


def _job_lines(log: str, job: str) -> int:
    entries = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    return sum(1 for e in entries if e.get("msg") == "job ran" and e.get("job") == job)


def test_two_replicas_share_state_and_run_jobs_once(pg_url: str, hub_server_factory,
                                                    tenant_factory) -> None:
    first = hub_server_factory(pg_url, token_cleanup_interval_seconds=1,
                               report_rollup_interval_seconds=3600)
    second = hub_server_factory(pg_url, token_cleanup_interval_seconds=1,
                                report_rollup_interval_seconds=3600)
    t = tenant_factory(server=first)

    # Stateless: a token from one replica works on the other; rotation state is shared.
    tokens = httpx.post(first.base_url + "/api/v1/auth/login",
                        json={"email": t.email, "password": t.password}).json()
    assert second.client(tokens["access_token"]).get("/api/v1/me").json()["tenant_id"] == t.id
    outlet = t.client.post("/api/v1/outlets", json={"name": "R1", "timezone": "Asia/Jakarta"}).json()
    assert second.client(tokens["access_token"]).get(f"/api/v1/outlets/{outlet['id']}").status_code == 200
    rotated = httpx.post(second.base_url + "/api/v1/auth/refresh",
                         json={"refresh_token": tokens["refresh_token"]})
    assert rotated.status_code == 200
    # A replayed refresh token ends the user's sessions (hub.identity), on every replica.
    replay = httpx.post(first.base_url + "/api/v1/auth/refresh",
                        json={"refresh_token": tokens["refresh_token"]})
    assert replay.status_code == 401
    assert second.client(rotated.json()["access_token"]).get("/api/v1/me").status_code == 401

    # An expired refresh token for the clean-up job to remove.
    expired_digest = digest("rt_expired_" + new_id())
    with psycopg.connect(pg_url, autocommit=True) as conn:
        user_id = conn.execute("SELECT id FROM users WHERE email = %s", (t.email,)).fetchone()[0]
        conn.execute("INSERT INTO refresh_tokens (id, tenant_id, user_id, family_id, token_digest,"
                     " issued_at, expires_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
                     (new_id(), t.id, user_id, new_id(), expired_digest,
                      utcnow() - timedelta(days=40), utcnow() - timedelta(days=10)))

    started = utcnow()
    time.sleep(5)
    runners = {f"{socket.gethostname()}:{s.process.pid}" for s in (first, second)}
    with psycopg.connect(pg_url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT slot_start, runner, finished_at FROM job_runs WHERE job = 'token_cleanup'"
            " AND slot_start >= %s ORDER BY slot_start", (started - timedelta(seconds=1),)
        ).fetchall()
        left = conn.execute("SELECT count(*) FROM refresh_tokens WHERE token_digest = %s",
                            (expired_digest,)).fetchone()[0]
    ours = [r for r in rows if r[1] in runners]
    assert len(ours) >= 3, rows
    slots = [r[0] for r in ours]
    # One run per slot, slots back to back (nothing skipped), every run finished.
    assert len(set(slots)) == len(slots)
    assert all((b - a).total_seconds() == 1 for a, b in pairwise(slots))
    assert all(r[2] is not None for r in ours)
    # Each process logged exactly the runs it claimed: together, one per slot.
    first.stop()
    second.stop()
    executed = _job_lines(first.log(), "token_cleanup") + _job_lines(second.log(), "token_cleanup")
    with psycopg.connect(pg_url, autocommit=True) as conn:
        claimed = conn.execute("SELECT count(*) FROM job_runs WHERE job = 'token_cleanup'"
                               " AND runner = ANY(%s)", (list(runners),)).fetchone()[0]
    assert executed == claimed
    assert left == 0
