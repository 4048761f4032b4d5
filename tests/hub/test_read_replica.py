"""Read replicas (docs/scaling.md, "PostgreSQL primary and read replicas"), on a real
PostgreSQL streaming replica made in this module with ``pg_basebackup -R`` from the main
cluster and started on a free port, then torn down.

What is checked through a real ``pos-hub serve`` with ``POS_HUB_DB_READ_URL`` set to the
replica (logging in there as the app role, as in production):

* listings and reports run on the replica: with the replica's WAL replay paused, a second
  user of the tenant does not see an outlet the owner just created, and sees it once replay
  resumes; the replica's own statement log shows the report's queries under the app role;
* writes and read-your-writes go to the primary: the owner who created the outlet sees it at
  once, and single-object reads (not routed) see it too;
* Row-Level Security holds on the replica: another tenant's listing there shows only its own
  rows, the app role on the replica sees nothing without a tenant and only that tenant's rows
  with one, and the replica refuses writes;
* a replica that stops answering sends reads to the primary instead of failing them.
"""

from __future__ import annotations

import asyncio
import glob
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import text

from hub.db import Database
from tests.hub.conftest import PG_ADMIN_DSN, HubServer, PgRoles, TenantCtx, free_port

pytestmark = pytest.mark.usefixtures("pg_url")

PERIOD = {"from": "2026-01-01", "to": "2026-01-31"}
HBA_LINE = ("host replication postgres 127.0.0.1/32 trust"
            "  # fnbpos tests/hub/test_read_replica.py: a local streaming replica")


@dataclass
class Replica:
    port: int
    datadir: Path
    bindir: Path

    def dsn(self, database: str, user: str = "postgres") -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{database}"

    def log(self) -> str:
        return (self.datadir / "replica.log").read_text(errors="replace")

    def log_size(self) -> int:
        return (self.datadir / "replica.log").stat().st_size

    def log_since(self, offset: int) -> str:
        with open(self.datadir / "replica.log", "rb") as handle:
            handle.seek(offset)
            return handle.read().decode(errors="replace")

    def stop(self) -> None:
        if (self.datadir / "postmaster.pid").exists():
            _as_postgres(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast",
                         "-w", "stop", check=False)


def _as_postgres(*cmd: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """initdb/pg_ctl refuse root: run as the postgres OS user."""
    if os.geteuid() == 0:
        cmd = ("runuser", "-u", "postgres", "--", *cmd)
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed: {result.stderr}{result.stdout}")
    return result


def _allow_local_replication(conn: psycopg.Connection[Any]) -> None:
    """Add a trust rule for replication from 127.0.0.1 when there is none, and reload (no
    restart of the main cluster)."""
    rules = conn.execute(
        "SELECT count(*) FROM pg_hba_file_rules WHERE 'replication' = ANY(database) "
        "AND type = 'host' AND address IN ('127.0.0.1', 'all') AND auth_method = 'trust'"
    ).fetchone()
    if rules and rules[0]:
        return
    hba_file = conn.execute("SHOW hba_file").fetchone()[0]  # type: ignore[index]
    if not os.access(hba_file, os.W_OK):
        pytest.skip(f"no replication rule in {hba_file} and it is not writable here")
    with open(hba_file, "a") as handle:
        handle.write("\n" + HBA_LINE + "\n")
    conn.execute("SELECT pg_reload_conf()")
    time.sleep(0.5)  # the postmaster reloads asynchronously


def _wait_replayed(replica: Replica, timeout: float = 60) -> None:
    """Until the replica has replayed everything the primary had written when called."""
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as primary:
        lsn = primary.execute("SELECT pg_current_wal_lsn()").fetchone()[0]  # type: ignore[index]
    deadline = time.monotonic() + timeout
    with psycopg.connect(replica.dsn("postgres"), autocommit=True) as conn:
        while time.monotonic() < deadline:
            done = conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn",
                                (lsn,)).fetchone()[0]  # type: ignore[index]
            if done:
                return
            time.sleep(0.05)
    raise AssertionError(f"the replica did not replay up to {lsn} within {timeout} s")


@pytest.fixture(scope="module")
def replica(pg_admin_url: str) -> Iterator[Replica]:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        version = int(conn.execute("SHOW server_version_num").fetchone()[0])  # type: ignore[index]
        bindir = Path(f"/usr/lib/postgresql/{version // 10000}/bin")
        if not (bindir / "pg_basebackup").exists():
            found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_basebackup"))
            if not found:
                pytest.skip("pg_basebackup not installed")
            bindir = Path(found[-1]).parent
        if os.geteuid() != 0 and os.environ.get("USER") != "postgres":
            pytest.skip("the replica must run as the postgres OS user")
        _allow_local_replication(conn)
        limits = {name: conn.execute(f"SHOW {name}").fetchone()[0]  # type: ignore[index]
                  for name in ("max_connections", "max_worker_processes", "max_wal_senders",
                               "max_prepared_transactions", "max_locks_per_transaction")}
    datadir = Path(tempfile.mkdtemp(prefix="fnbpos-replica-"))
    shutil.chown(datadir, "postgres", "postgres")
    datadir.chmod(0o700)
    port = free_port()
    node = Replica(port=port, datadir=datadir, bindir=bindir)
    try:
        _as_postgres(str(bindir / "pg_basebackup"), "-h", "127.0.0.1", "-p", "5432",
                     "-U", "postgres", "-D", str(datadir), "-R", "-X", "stream",
                     "--checkpoint=fast", "--no-sync")
        # Debian keeps the main cluster's configuration in /etc: the copy has none of it.
        conf = {"port": port, "listen_addresses": "'127.0.0.1'",
                "unix_socket_directories": f"'{datadir}'", "hot_standby": "on",
                "fsync": "off", "shared_buffers": "'32MB'", "log_statement": "'all'",
                "log_line_prefix": "'%m [%p] %u@%d '", **limits}
        _write_as_postgres(datadir / "postgresql.conf",
                           "".join(f"{k} = {v}\n" for k, v in conf.items()))
        _write_as_postgres(datadir / "pg_hba.conf",
                           "local all all trust\nhost all all 127.0.0.1/32 trust\n")
        _as_postgres(str(bindir / "pg_ctl"), "-D", str(datadir), "-l",
                     str(datadir / "replica.log"), "-w", "-t", "120", "start")
        with psycopg.connect(node.dsn("postgres"), autocommit=True) as conn:
            assert conn.execute("SELECT pg_is_in_recovery()").fetchone() == (True,)
        _wait_replayed(node)
        yield node
    finally:
        node.stop()
        shutil.rmtree(datadir, ignore_errors=True)


def _write_as_postgres(path: Path, content: str) -> None:
    path.write_text(content)
    shutil.chown(path, "postgres", "postgres")


@pytest.fixture(scope="module")
def replica_hub(replica: Replica, pg_url: str, pg_roles: PgRoles,
                hub_server_factory: Callable[..., HubServer]) -> HubServer:
    name = pg_url.rsplit("/", 1)[1]
    return hub_server_factory(pg_url, db_read_url=replica.dsn(name, user=f"{name}_app"),
                              read_your_writes_seconds=30)


def _outlet_names(client: Any) -> set[str]:
    response = client.get("/api/v1/outlets")
    assert response.status_code == 200, response.text
    return {item["name"] for item in response.json()["items"]}


def test_listings_and_reports_read_from_the_replica(
        replica: Replica, replica_hub: HubServer, pg_roles: PgRoles,
        tenant_factory: Callable[..., TenantCtx]) -> None:
    alpha = tenant_factory(server=replica_hub)
    _, admin = alpha.create_user("hq_admin")  # an admin of the same tenant who writes nothing
    alpha.create_outlet("Before")
    _wait_replayed(replica)
    assert _outlet_names(admin) == {"Before"}  # (the tenant was made with no outlet)

    with psycopg.connect(replica.dsn("postgres"), autocommit=True) as conn:
        conn.execute("SELECT pg_wal_replay_pause()")
        try:
            during = alpha.create_outlet("During")  # a write: on the primary
            # read-your-writes: the owner who wrote reads from the primary
            assert _outlet_names(alpha.client) == {"Before", "During"}
            # the admin's listing comes from the replica, which has not replayed the write
            assert _outlet_names(admin) == {"Before"}
            users = admin.get("/api/v1/users")
            assert users.status_code == 200 and len(users.json()["items"]) == 2
            # a single outlet is not a listing: read on the primary
            assert admin.get(f"/api/v1/outlets/{during['id']}").status_code == 200

            # the report's queries run on the replica, as the app role
            offset = replica.log_size()
            report = admin.get("/api/v1/reports/sales", params=PERIOD)
            assert report.status_code == 200, report.text
            ran = replica.log_since(offset)
            assert f"{pg_roles.app.split('@')[0].split('//')[1]}@" in ran
            assert "orders" in ran and alpha.id in ran, ran[-2000:]
        finally:
            conn.execute("SELECT pg_wal_replay_resume()")
    _wait_replayed(replica)
    assert _outlet_names(admin) == {"Before", "During"}


def test_rls_holds_on_the_replica(replica: Replica, replica_hub: HubServer, pg_url: str,
                                  pg_roles: PgRoles,
                                  tenant_factory: Callable[..., TenantCtx]) -> None:
    alpha = tenant_factory(server=replica_hub)
    bravo = tenant_factory(server=replica_hub)
    alpha.create_outlet("Alpha outlet")
    bravo.create_outlet("Bravo outlet")
    _wait_replayed(replica)

    offset = replica.log_size()
    _, bravo_admin = bravo.create_user("hq_admin")
    _wait_replayed(replica)
    assert _outlet_names(bravo_admin) == {"Bravo outlet"}
    assert bravo.id in replica.log_since(offset)  # that listing ran on the replica

    name = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(replica.dsn(name, user=f"{name}_app")) as conn:
        # the app role, with no tenant stated, sees no tenant's rows on the replica
        assert conn.execute("SELECT count(*) FROM outlets").fetchone() == (0,)
        conn.execute("SELECT set_config('app.tenant_id', %s, true)", (alpha.id,))
        tenants = {row[0] for row in conn.execute("SELECT tenant_id FROM outlets")}
        assert tenants == {alpha.id}
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("UPDATE outlets SET name = 'x'")


def test_readonly_sessions_refuse_writes_on_the_primary_too(pg_roles: PgRoles,
                                                            tenant: TenantCtx) -> None:
    """A handler routed to the replica that wrote would fail there: it fails everywhere."""

    async def attempt() -> str:
        db = Database(pg_roles.app, pool_size=1)
        try:
            async with db.tenant(tenant.id, readonly=True) as session:
                await session.execute(text("UPDATE outlets SET name = name"))
        except Exception as exc:  # noqa: BLE001 - the error is what is checked
            return str(exc)
        finally:
            await db.dispose()
        return "no error"

    assert "read-only transaction" in asyncio.run(attempt())


def test_a_replica_that_stops_answering_sends_reads_to_the_primary(
        replica: Replica, replica_hub: HubServer,
        tenant_factory: Callable[..., TenantCtx]) -> None:
    alpha = tenant_factory(server=replica_hub)
    alpha.create_outlet("Kept")
    _, admin = alpha.create_user("hq_admin")
    _wait_replayed(replica)
    replica.stop()
    assert _outlet_names(admin) == {"Kept"}
    assert admin.get("/api/v1/reports/sales", params=PERIOD).status_code == 200
    assert "read replica did not answer" in replica_hub.log()
