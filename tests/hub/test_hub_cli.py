"""The ``pos-hub`` command-line contract: migrate, create-tenant, create-outlet, serve.

Real ``pos-hub`` processes make the file's tenant, migrate and serve; the runs that only check
a message and an exit code call the same ``main`` in this process (tests/cli_in_process.py),
without a Python start for each."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from hub import cli
from tests.cli_in_process import pos_hub, run_main
from tests.hub.conftest import POS_HUB, REPO, free_port, login, run_cli

WARUNG = ["create-tenant", "--name", "Warung Cli", "--admin-email", "Boss@Cli.test",
          "--admin-password", "password-1"]


@pytest.fixture(scope="module")
def warung(sqlite_url: str) -> subprocess.CompletedProcess[str]:
    """One tenant made through the CLI, for the file: its id, then the same command again."""
    return run_cli(*WARUNG, db_url=sqlite_url)


def test_create_tenant_and_outlet_print_ids_last(sqlite_url: str,
                                                 warung: subprocess.CompletedProcess[str]) -> None:
    tenant_id = warung.stdout.strip().splitlines()[-1]
    assert len(tenant_id) == 36 and tenant_id.count("-") == 4
    outlet = pos_hub("create-outlet", "--tenant", tenant_id, "--name", "Cli 1",
                     "--timezone", "Asia/Jakarta", db_url=sqlite_url)
    assert outlet.returncode == 0, outlet.stderr
    outlet_id = outlet.stdout.strip().splitlines()[-1]
    assert len(outlet_id) == 36 and outlet_id != tenant_id


@pytest.mark.parametrize("args, message", [
    (["create-tenant", "--name", "", "--admin-email", "a@b.test", "--admin-password", "password-1"],
     "tenant name"),
    (["create-tenant", "--name", "X", "--admin-email", "not-an-email", "--admin-password",
      "password-1"], "email"),
    (["create-tenant", "--name", "X", "--admin-email", "a@b.test", "--admin-password", "short"],
     "password"),
    (["create-outlet", "--tenant", "no-such-tenant", "--name", "X", "--timezone", "Asia/Jakarta"],
     "tenant"),
    (["create-tenant", "--name", "X"], "required"),
])
def test_bad_input_is_refused_with_message(sqlite_url: str, args: list[str], message: str) -> None:
    result = pos_hub(*args, db_url=sqlite_url)
    assert result.returncode != 0
    assert message in result.stderr.lower()
    assert "Traceback" not in result.stderr


def test_duplicate_admin_email_and_bad_timezone_refused(
        sqlite_url: str, warung: subprocess.CompletedProcess[str]) -> None:
    again = pos_hub(*WARUNG, db_url=sqlite_url)
    assert again.returncode != 0 and "already exists" in again.stderr
    tenant_id = warung.stdout.strip().splitlines()[-1]
    bad = pos_hub("create-outlet", "--tenant", tenant_id, "--name", "X", "--timezone",
                  "Jakarta", db_url=sqlite_url)
    assert bad.returncode != 0 and "time zone" in bad.stderr


def test_unreachable_database_is_a_clear_error() -> None:
    result = pos_hub("migrate", db_url="postgresql://postgres@127.0.0.1:1/nope")
    assert result.returncode != 0
    assert "cannot migrate" in result.stderr and "Traceback" not in result.stderr
    bad_url = pos_hub("migrate", db_url="mysql://x@y/z")
    assert bad_url.returncode != 0 and "unsupported database" in bad_url.stderr


def test_serve_on_a_fresh_machine_uses_sqlite_in_data_folder(tmp_path: Path) -> None:
    """No --db, no settings: a SQLite file under ./data/hub and a generated JWT key."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POS_HUB_")}
    env["PYTHONPATH"] = str(REPO)
    process = subprocess.Popen([*POS_HUB, "serve", "--port", str(port)], cwd=tmp_path, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise AssertionError("hub did not start")
        assert health.json()["backend"] == "sqlite" and health.json()["database"] == "ok"
        assert (tmp_path / "data" / "hub" / "hub.db").exists()
        key = tmp_path / "data" / "hub" / "jwt-secret"
        assert key.exists() and oct(key.stat().st_mode & 0o777) == "0o600"
        # The operator path works against that same default database (no --db either).
        made = run_main(cli.main, ["create-tenant", "--name", "Fresh", "--admin-email",
                                   "fresh@x.test", "--admin-password", "password-1"],
                        env=env, cwd=tmp_path)
        assert made.returncode == 0, made.stderr
        server = type("S", (), {"base_url": f"http://127.0.0.1:{port}"})()
        assert login(server, "fresh@x.test", "password-1")["access_token"]  # type: ignore[arg-type]
    finally:
        process.terminate()
        process.wait(timeout=10)
    logs = process.stderr.read().decode() if process.stderr else ""
    assert "password-1" not in logs


@pytest.mark.postgres
def test_migrate_is_idempotent(pg_url: str) -> None:
    # pg_url is migrated already, by run_migrations: what `pos-hub migrate` runs, so this is
    # the second run on it (a CLI start costs ~2 s of CPU: one run, not two)
    again = run_cli("migrate", db_url=pg_url)
    assert "up to date" in again.stdout
