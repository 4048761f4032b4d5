"""The PostgreSQL install of docs/operations.md ("Database"), followed literally (M4, issue 10).

The test reads the DBA's SQL and the hub's URLs out of docs/operations.md, runs the SQL as the
postgres superuser (role and database names made unique to this run: roles are cluster-wide
and other runs share the server), then runs ``pos-hub migrate``, ``pos-hub create-tenant`` (their
``main`` in this process, tests/cli_in_process.py) and ``pos-hub serve`` (a real process), each
with only those URLs in its environment, and attacks the result with the app role's own login:

* migrate succeeds as the database owner, which may not create roles (it used to fail with
  "permission denied to create role", and with a pre-created role swallow a failed GRANT);
* the app role's raw SELECTs see one tenant, whatever ``app.bypass_rls`` says; it cannot
  ``RESET ROLE`` / ``SET ROLE`` to the owner or the system role, nor lift RLS;
* the running hub logs in as the app and system roles only, and refuses the owner's login;
* a GRANT that fails makes migrate exit non-zero with PostgreSQL's error, leaving nothing.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg
import pytest

from hub import cli
from tests.cli_in_process import run_main
from tests.hub.conftest import JWT_SECRET, PG_ADMIN_DSN, PIN_KEY, POS_HUB, REPO, free_port

pytestmark = pytest.mark.postgres

OPERATIONS = REPO / "docs" / "operations.md"


def _database_section() -> str:
    text = OPERATIONS.read_text()
    start = text.index("### Database\n")
    return text[start:text.index("\n### ", start + 1)]


def _block(section: str, language: str, must_contain: str) -> str:
    for body in re.findall(rf"```{language}\n(.*?)```", section, flags=re.DOTALL):
        if must_contain in body:
            return body
    raise AssertionError(f"docs/operations.md: no ```{language} block with {must_contain!r}")


@dataclass
class Install:
    suffix: str
    sql: list[str]
    env: dict[str, str]

    def role(self, kind: str) -> str:
        return f"fnbpos_{self.suffix}" + ("" if kind == "owner" else f"_{kind}")

    @property
    def database(self) -> str:
        return f"fnbpos_{self.suffix}"

    def url(self, kind: str) -> str:
        return f"postgresql://{self.role(kind)}@127.0.0.1:5432/{self.database}"


def _documented_install(suffix: str) -> Install:
    """The docs' SQL and URLs, with this run's names and the local server."""
    section = _database_section()

    def localise(text: str) -> str:
        text = re.sub(r"\bfnbpos\b", f"fnbpos_{suffix}", text)
        text = re.sub(r"\bfnbpos_(app|system)\b", rf"fnbpos_{suffix}_\1", text)
        return text.replace("db.internal:5432", "127.0.0.1:5432")

    sql = [s.strip() for s in localise(_block(section, "sql", "CREATE ROLE")).split(";")]
    env_lines = localise(_block(section, "sh", "POS_HUB_DB_URL=")).splitlines()
    env = dict(line.split("=", 1) for line in env_lines if line.startswith("POS_HUB_"))
    return Install(suffix, [s for s in sql if s], env)


def _environment(install: Install, workdir: Path, env: dict[str, str] | None = None
                 ) -> dict[str, str]:
    """The process environment with no POS_HUB_* but the documented URLs and the test keys."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("POS_HUB_")}
    full_env.update(install.env, POS_HUB_JWT_SECRET=JWT_SECRET, POS_HUB_PIN_KEY=PIN_KEY,
                    POS_HUB_DATA_DIR=str(workdir / "data"), **(env or {}))
    return full_env


def _cli(install: Install, workdir: Path, *args: str, env: dict[str, str] | None = None
         ) -> subprocess.CompletedProcess[str]:
    """``pos-hub <args>`` as a process."""
    return subprocess.run([*POS_HUB, *args], cwd=REPO, env=_environment(install, workdir, env),
                          capture_output=True, text=True, timeout=180, check=False)


def _command(install: Install, workdir: Path, *args: str, env: dict[str, str] | None = None
             ) -> subprocess.CompletedProcess[str]:
    """``pos-hub <args>`` in this process, with the environment the process would get
    (tests/cli_in_process.py): migrate and create-tenant, five Python starts saved."""
    return run_main(cli.main, args, env=_environment(install, workdir, env), cwd=REPO)


@pytest.fixture(scope="module")
def install(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Install]:
    setup = _documented_install(uuid.uuid4().hex[:10])
    assert len(setup.sql) == 4 and set(setup.env) == {
        "POS_HUB_DB_URL", "POS_HUB_DB_SYSTEM_URL", "POS_HUB_DB_MIGRATE_URL"}
    spare = f"{setup.database}_b"
    try:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            for statement in setup.sql:  # as the DBA, word for word (names localised)
                conn.execute(statement)  # type: ignore[arg-type]
            conn.execute(f'CREATE DATABASE "{spare}" OWNER "{setup.role("owner")}"')
        yield setup
    finally:
        with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
            for database in (setup.database, spare):
                conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            for kind in ("app", "system", "owner"):
                conn.execute(f'DROP ROLE IF EXISTS "{setup.role(kind)}"')


@pytest.fixture(scope="module")
def served(install: Install, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """migrate, two tenants, and a running `pos-hub serve`, all as the docs say."""
    workdir = tmp_path_factory.mktemp("documented-hub")
    migrated = _command(install, workdir, "migrate")
    assert migrated.returncode == 0, migrated.stderr
    assert "database is up to date" in migrated.stdout
    tenants = {}
    for name in ("Alpha", "Bravo"):
        email = f"owner@{name.lower()}.test"
        created = _command(install, workdir, "create-tenant", "--name", name, "--admin-email",
                           email, "--admin-password", "owner-password-1")
        assert created.returncode == 0, created.stderr
        tenants[name] = {"id": created.stdout.strip().splitlines()[-1], "email": email}
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POS_HUB_")}
    env.update(install.env, POS_HUB_JWT_SECRET=JWT_SECRET, POS_HUB_PIN_KEY=PIN_KEY,
               POS_HUB_DATA_DIR=str(workdir / "data"))
    log = open(workdir / "serve.log", "wb")  # noqa: SIM115 - closed below
    process = subprocess.Popen([*POS_HUB, "serve", "--port", str(port)], cwd=REPO, env=env,
                               stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, (workdir / "serve.log").read_text()
            try:
                if httpx.get(base + "/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, (workdir / "serve.log").read_text()
            time.sleep(0.1)
        yield {"base": base, "tenants": tenants, "log": workdir / "serve.log", "workdir": workdir}
    finally:
        process.terminate()
        process.wait(timeout=20)
        log.close()


def test_documented_install_serves_each_tenant_its_own_data(served: dict) -> None:
    for name, tenant in served["tenants"].items():
        response = httpx.post(served["base"] + "/api/v1/auth/login", timeout=30,
                              json={"email": tenant["email"], "password": "owner-password-1"})
        assert response.status_code == 200, response.text  # the system role's lookup
        token = response.json()["access_token"]
        own = httpx.get(served["base"] + "/api/v1/tenant", timeout=30,
                        headers={"Authorization": f"Bearer {token}"})
        assert own.status_code == 200 and own.json()["name"] == name  # the app role's read
    assert "bypasses row-level security" not in served["log"].read_text()


def test_running_hub_logs_in_only_as_the_app_and_system_roles(install: Install,
                                                             served: dict) -> None:
    with psycopg.connect(PG_ADMIN_DSN, autocommit=True) as conn:
        users = {row[0] for row in conn.execute(
            "SELECT usename FROM pg_stat_activity WHERE datname = %s", (install.database,))}
    assert users == {install.role("app"), install.role("system")}


def test_app_role_sees_one_tenant_whatever_it_sets(install: Install, served: dict) -> None:
    alpha, bravo = served["tenants"]["Alpha"]["id"], served["tenants"]["Bravo"]["id"]
    with psycopg.connect(install.url("app"), autocommit=True) as conn:
        conn.execute("SET app.bypass_rls = 'on'")  # a custom setting: anyone may set it...
        assert conn.execute("SELECT count(*) FROM users").fetchone() == (0,)  # ...to no avail
        conn.execute("SELECT set_config('app.tenant_id', %s, false)", (alpha,))
        assert {r[0] for r in conn.execute("SELECT tenant_id FROM users")} == {alpha}
        assert conn.execute("SELECT count(*) FROM tenants WHERE id = %s",
                            (bravo,)).fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM brands WHERE tenant_id = %s",
                            (bravo,)).fetchone() == (0,)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute("UPDATE audit_log SET action = 'erased'")


@pytest.mark.parametrize("statement", [
    'SET ROLE "{owner}"', 'SET ROLE "{system}"', 'SET SESSION AUTHORIZATION "{owner}"',
    "ALTER TABLE users DISABLE ROW LEVEL SECURITY", "DROP POLICY tenant_isolation ON users",
    "CREATE TABLE mine (id int)",
])
def test_app_role_cannot_become_the_owner_or_lift_rls(install: Install, served: dict,
                                                     statement: str) -> None:
    with psycopg.connect(install.url("app"), autocommit=True) as conn:
        conn.execute("RESET ROLE")
        assert conn.execute("SELECT current_user").fetchone() == (install.role("app"),)
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement.format(owner=install.role("owner"),  # type: ignore[arg-type]
                                          system=install.role("system")))


def test_serve_refuses_to_log_in_as_the_owner(install: Install, served: dict) -> None:
    result = _cli(install, served["workdir"], "serve", "--no-migrate", "--port", str(free_port()),
                  env={"POS_HUB_DB_URL": install.url("owner")})
    assert result.returncode != 0
    assert "owns the hub's tables" in result.stdout + result.stderr


def test_a_failing_grant_fails_migrate(install: Install, served: dict) -> None:
    nobody = f"{install.role('app')}_nobody"  # a login role the DBA never created
    broken = {"POS_HUB_DB_URL": f"postgresql://{nobody}@127.0.0.1:5432/{install.database}"}
    result = _command(install, served["workdir"], "migrate", env=broken)
    assert result.returncode != 0
    assert f'role "{nobody}" does not exist' in result.stderr
    assert "up to date" not in result.stdout
    # On an empty database the same error leaves nothing behind: one transaction.
    spare = install.url("owner").rsplit("/", 1)[0] + f"/{install.database}_b"
    result = _command(install, served["workdir"], "migrate",
                  env={**broken, "POS_HUB_DB_MIGRATE_URL": spare})
    assert result.returncode != 0 and f'role "{nobody}" does not exist' in result.stderr
    with psycopg.connect(spare) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables"
                            " WHERE schemaname = 'public'").fetchone() == (0,)
