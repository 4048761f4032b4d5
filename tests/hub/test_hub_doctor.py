"""`pos-hub doctor` names each fault with what to do, and its exit code says whether all is
well: a healthy SQLite and PostgreSQL hub, then a broken setting, folder, schema and URL.

The commands run in this process (tests/cli_in_process.py: the same ``main``, without a
Python start for each of a dozen runs); the healthy hub's text report runs as a real
``pos-hub`` process, so the exit code is also seen through the console entry point."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import psycopg
import pytest

from hub.db import run_migrations
from tests.cli_in_process import pos_hub
from tests.hub.conftest import JWT_SECRET, PIN_KEY, free_port, run_cli


def doctor(db_url: str, env: dict[str, str], *options: str
           ) -> tuple[int, dict[str, dict[str, Any]]]:
    done = pos_hub("doctor", "--json", *options, db_url=db_url, env=env)
    assert done.returncode in (0, 1), done.stderr
    findings = json.loads(done.stdout)
    assert findings["ok"] == (done.returncode == 0)
    return done.returncode, {f["check"]: f for f in findings["findings"]}


@pytest.fixture(scope="module")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A hub database migrated once for the file; each test gets a copy of its own."""
    path = tmp_path_factory.mktemp("migrated") / "hub.db"
    run_migrations(f"sqlite:///{path}")
    return path


@pytest.fixture
def healthy(tmp_path: Path, migrated_sqlite: Path) -> tuple[str, dict[str, str]]:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    shutil.copyfile(migrated_sqlite, data / "hub.db")
    url = f"sqlite:///{data / 'hub.db'}"
    env = {"POS_HUB_DATA_DIR": str(data), "POS_HUB_PIN_KEY": PIN_KEY,
           "POS_HUB_PORT": str(free_port())}
    return url, env


def test_a_healthy_sqlite_hub_passes(healthy):
    url, env = healthy
    code, found = doctor(url, env)
    assert code == 0, found
    assert {found[k]["status"] for k in ("database", "migrations", "JWT secret", "PIN key",
                                         "data folder", "disk space")} == {"ok"}
    assert found["server"]["status"] == "warn" and "systemctl start pos-hub" in found["server"]["fix"]
    text = run_cli("doctor", db_url=url, check=False, env=env)
    assert text.returncode == 0 and "0 fault(s), 1 warning(s)" in text.stdout


def test_each_fault_is_named_with_a_fix(healthy, tmp_path):
    _, env = healthy
    data = Path(env["POS_HUB_DATA_DIR"])
    os.chmod(data, 0o755)
    old = tmp_path / "old.db"  # a schema a release behind
    run_migrations(f"sqlite:///{old}", revision="0200_staff")
    code, found = doctor(f"sqlite:///{old}", {**env, "POS_HUB_JWT_SECRET": "changeme-changeme"})
    assert code == 1
    assert found["JWT secret"]["status"] == "fail" and "POS_HUB_JWT_SECRET" in found["JWT secret"]["fix"]
    assert found["data folder"]["status"] == "fail" and "chmod 700" in found["data folder"]["fix"]
    assert found["migrations"]["status"] == "fail" and "pos-hub migrate" in found["migrations"]["fix"]
    assert "changeme" not in json.dumps(found)  # the secret itself is never printed


def test_a_busy_port_and_a_missing_database(healthy, tmp_path):
    import socket

    _, env = healthy
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        # The squatter accepts the probe's connection and never answers: the probe waits
        # its whole timeout, so a short one (the default 3 s proves nothing more).
        code, found = doctor(f"sqlite:///{tmp_path / 'none' / 'hub.db'}",
                             {**env, "POS_HUB_PORT": str(port)}, "--timeout", "0.5")
    assert code == 1
    assert found["database"]["status"] == "fail" and "pos-hub migrate" in found["database"]["fix"]
    assert found["server"]["status"] == "fail" and f"sport = :{port}" in found["server"]["fix"]


@pytest.mark.postgres
def test_a_running_postgresql_hub_passes_and_a_wrong_url_fails(hub_server, pg_url, pg_roles,
                                                               tmp_path):
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    port = hub_server.base_url.rsplit(":", 1)[1]
    env = {"POS_HUB_DATA_DIR": str(data), "POS_HUB_PIN_KEY": PIN_KEY, "POS_HUB_PORT": port,
           "POS_HUB_JWT_SECRET": JWT_SECRET}
    code, found = doctor(pg_roles.app, {**env, "POS_HUB_DB_SYSTEM_URL": pg_roles.system})
    assert code == 0, found
    assert "PostgreSQL" in found["database"]["detail"]
    assert found["migrations"]["status"] == "ok" and found["app role"]["status"] == "ok"
    assert found["server"]["status"] == "ok"
    # A warning, not a failure: this machine's CI server runs with autovacuum off.
    with psycopg.connect(pg_url, autocommit=True) as conn:
        autovacuum = conn.execute("SHOW autovacuum").fetchone()[0]
    assert found["autovacuum"]["status"] == ("ok" if autovacuum == "on" else "warn")
    assert autovacuum == "on" or "ANALYZE" in found["autovacuum"]["fix"]
    code, found = doctor(pg_url.rsplit("/", 1)[0] + "/no_such_database", env)
    assert code == 1 and found["database"]["status"] == "fail"
    assert "psql" in found["database"]["fix"]


def test_create_tenant_takes_the_owner_password_from_the_environment(healthy):
    url, env = healthy
    made = pos_hub("create-tenant", "--name", "Env Tenant", "--admin-email",
                       "owner@env.test", db_url=url,
                       env={**env, "POS_HUB_ADMIN_PASSWORD": "a-long-passphrase-42"})
    assert made.returncode == 0 and "--admin-password" not in made.stdout
    missing = pos_hub("create-tenant", "--name", "No Password", "--admin-email",
                          "o@none.test", db_url=url, env=env)  # no variable, no terminal
    assert missing.returncode == 1 and "POS_HUB_ADMIN_PASSWORD" in missing.stderr
    from sqlalchemy import create_engine, text

    from hub.db import sync_url

    engine = create_engine(sync_url(url))
    with engine.connect() as conn:
        names = {n for (n,) in conn.execute(text("SELECT name FROM tenants"))}
    engine.dispose()
    assert "Env Tenant" in names and "No Password" not in names
