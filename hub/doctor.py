"""``pos-hub doctor``: every fault an operator can see from the hub's host, each with what to do.

Checks (in order, never stopping at the first fault): versions; the settings load; secrets
(JWT secret and PIN key: set or kept in the data folder, not weak; demo mode is a fault on a
hub that serves a chain); the data folder (exists, writable, private); free disk space; the
database (reachable, its server version, migrations at head, on PostgreSQL logins that
keep tenants apart: hub.db.judge_logins); the HTTP port (a hub answers there, or it is free). Each finding is ``ok``,
``warn``, ``fail`` or ``skip``; the command exits 1 if any check failed, 0 otherwise.

It only reads: unlike ``serve``, it never creates a missing key file or migrates.
"""

from __future__ import annotations

import os
import shutil
import socket
import stat
import sys
from pathlib import Path
from typing import Any

from shared.doctor import Finding, report

__all__ = ["Finding", "report", "run_checks"]

MIN_FREE_BYTES = 500 * 2**20
WARN_FREE_BYTES = 2 * 2**30


def run_checks(settings: Any, *, timeout: float = 3.0) -> list[Finding]:
    """Run every check for the hub configured by ``settings`` (a HubSettings)."""
    out: list[Finding] = []

    def add(check: str, status: str, detail: str, fix: str = "") -> None:
        out.append(Finding(check, status, detail, fix))

    add("versions", "ok", f"pos-hub {version()}, Python {sys.version.split()[0]}")
    data_dir = settings.resolved_data_dir()
    _secrets(add, settings, data_dir)
    _data_dir(add, data_dir)
    _database(add, settings, timeout)
    _port(add, settings.host, settings.port, timeout)
    return out


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("fnbpos")
    except PackageNotFoundError:
        return "0.1.0+source"


def _secrets(add: Any, settings: Any, data_dir: Path) -> None:
    from hub.settings import secret_problem

    if settings.demo:
        add("demo mode", "fail", "POS_HUB_DEMO is on: weak secrets are accepted",
            "unset POS_HUB_DEMO on a hub that serves a chain")
    for name, value, env in (("JWT secret", settings.jwt_secret, "POS_HUB_JWT_SECRET"),
                             ("PIN key", settings.pin_key, "POS_HUB_PIN_KEY")):
        kept = data_dir / ("jwt-secret" if name == "JWT secret" else "pin-key")
        if value:
            source, secret = env, value
        elif kept.exists():
            source, secret = str(kept), kept.read_text().strip()
            if kept.stat().st_mode & 0o077:
                add(f"{name} file", "fail", f"{kept} is readable by other users",
                    f"chmod 600 {kept}")
        else:
            add(name, "warn", f"not set and no {kept} yet: `pos-hub serve` generates one",
                f"with several replicas set {env} to one shared value instead")
            continue
        problem = secret_problem(secret) if name == "JWT secret" else (
            "it is shorter than 32 characters" if len(secret) < 32 else None)
        if problem:
            if problem.startswith("it is a placeholder"):
                problem = "it is a known placeholder"  # the message would quote the secret
            add(name, "fail", f"{source}: {problem}",
                f"generate one: python3 -c 'import secrets; print(secrets.token_urlsafe(48))' "
                f"and set {env}")
        else:
            add(name, "ok", f"set ({source})")


def _data_dir(add: Any, data_dir: Path) -> None:
    if not data_dir.is_dir():
        add("data folder", "fail", f"{data_dir} does not exist",
            f"create it for the hub's user: install -d -m 700 -o fnbpos {data_dir} (or set "
            "POS_HUB_DATA_DIR)")
        return
    problems = []
    if not os.access(data_dir, os.W_OK):
        problems.append("not writable by this user")
    if data_dir.stat().st_mode & 0o077:
        problems.append(f"mode {stat.filemode(data_dir.stat().st_mode)} lets other users in")
    if problems:
        add("data folder", "fail", f"{data_dir}: " + "; ".join(problems),
            f"run as the hub's user; chown it to that user and chmod 700 {data_dir} (under "
            "systemd ProtectSystem=strict it must be the unit's StateDirectory)")
    else:
        add("data folder", "ok", f"{data_dir} (private, writable)")
    free = shutil.disk_usage(data_dir).free
    detail = f"{free / 2**30:.1f} GiB free on the data folder's disk"
    if free < MIN_FREE_BYTES:
        add("disk space", "fail", detail, "free space (old logs, backups) or grow the disk")
    elif free < WARN_FREE_BYTES:
        add("disk space", "warn", detail, "free space (old logs, backups) or grow the disk")
    else:
        add("disk space", "ok", detail)


def _database(add: Any, settings: Any, timeout: float) -> None:
    from sqlalchemy import create_engine, text
    from sqlalchemy.exc import SQLAlchemyError

    from hub.db import LOGIN_FACTS_SQL, is_postgres, sync_url

    url = settings.resolved_db_url()
    postgres = is_postgres(url)
    shown = _redacted(url)
    args = {"connect_timeout": int(max(1, timeout))} if postgres else {}
    if not postgres:
        from sqlalchemy.engine import make_url

        path = make_url(url).database
        if path and path != ":memory:" and not Path(path).exists():
            add("database", "fail", f"{shown}: no such file",
                "`pos-hub migrate` creates it (check POS_HUB_DB_URL / POS_HUB_DATA_DIR)")
            return
    engine = create_engine(sync_url(url), connect_args=args)
    try:
        with engine.connect() as conn:
            server = conn.execute(text("SHOW server_version" if postgres
                                       else "SELECT sqlite_version()")).scalar()
            current = set(conn.execute(text("SELECT version_num FROM alembic_version")).scalars()) \
                if _has_table(conn, "alembic_version") else set()
            app_login = conn.execute(LOGIN_FACTS_SQL).one() if postgres else None
            autovacuum = conn.execute(text("SHOW autovacuum")).scalar() if postgres else None
    except SQLAlchemyError as exc:
        add("database", "fail", f"{shown}: {str(exc.orig if hasattr(exc, 'orig') else exc)[:200]}",
            "check that the server runs, the URL (POS_HUB_DB_URL), the password and "
            "pg_hba.conf; `psql URL -c 'select 1'` from this host")
        return
    finally:
        engine.dispose()
    add("database", "ok", f"{shown} reachable ({'PostgreSQL' if postgres else 'SQLite'} {server})")
    heads = _script_heads()
    if not current:
        add("migrations", "fail", "the database has no schema yet", "run `pos-hub migrate`")
    elif current != heads:
        add("migrations", "fail", f"schema at {', '.join(sorted(current))}, the code expects "
                                  f"{', '.join(sorted(heads))}",
            "run `pos-hub migrate` (after a backup), or upgrade this hub if the database is newer")
    else:
        add("migrations", "ok", f"at head ({', '.join(sorted(heads))})")
    if postgres:
        # Without autovacuum the fact tables' statistics stay those of an empty table, and
        # the ingest's lookups by id turn into scans that grow with the table.
        if autovacuum == "on":
            add("autovacuum", "ok", "on: the planner's statistics follow the tables")
        else:
            add("autovacuum", "warn", "off: statistics go stale and lookups slow down as the "
                                      "fact tables grow",
                "set `autovacuum = on` in postgresql.conf (its default), or run `ANALYZE` "
                "after each day's sync (docs/operations.md)")
        verdict = _logins(settings, app_login, args)
        add("app role", verdict.status, verdict.message, "" if verdict.status == "ok" else
            "the three roles and URLs of docs/operations.md (Database)")


def _logins(settings: Any, app_login: Any, args: dict[str, Any]) -> Any:
    """Whether the app and system logins keep tenants apart (hub.db.judge_logins)."""
    from sqlalchemy import create_engine
    from sqlalchemy.exc import SQLAlchemyError

    from hub.db import LOGIN_FACTS_SQL, LoginVerdict, judge_logins, sync_url

    system_url = settings.db_system_url
    if not system_url or system_url == settings.resolved_db_url():
        return judge_logins(app_login, None)
    engine = create_engine(sync_url(system_url), connect_args=args)
    try:
        with engine.connect() as conn:
            system_login = conn.execute(LOGIN_FACTS_SQL).one()
    except SQLAlchemyError as exc:
        return LoginVerdict("fail", "POS_HUB_DB_SYSTEM_URL: "
                            + str(exc.orig if hasattr(exc, "orig") else exc)[:200])
    finally:
        engine.dispose()
    return judge_logins(app_login, system_login)


def _has_table(conn: Any, name: str) -> bool:
    from sqlalchemy import inspect

    return bool(inspect(conn).has_table(name))


def _script_heads() -> set[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from hub.db import MIGRATIONS_DIR

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return set(ScriptDirectory.from_config(config).get_heads())


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL is shown by its scheme only
        return url.split(":", 1)[0] + ":..."


def _port(add: Any, host: str, port: int, timeout: float) -> None:
    import httpx

    probe_host = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host
    try:
        answer = httpx.get(f"http://{'[' + probe_host + ']' if ':' in probe_host else probe_host}"
                           f":{port}/api/health", timeout=timeout)
        if answer.status_code == 200:
            add("server", "ok", f"a hub answers on {host}:{port}")
            return
        add("server", "fail", f"{host}:{port}/api/health answers HTTP {answer.status_code}",
            "see `journalctl -u pos-hub`")
        return
    except httpx.HTTPError:
        pass
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        add("server", "warn", f"no hub running on {host}:{port} (the port is free)",
            "start it: `systemctl start pos-hub`")
    except OSError as exc:
        add("server", "fail", f"{host}:{port} is held by another program: {exc.strerror}",
            f"find it with `ss -ltnp 'sport = :{port}'`; stop it or set POS_HUB_PORT")
    finally:
        sock.close()
