"""``pos-edge doctor``: every fault a technician can see from the box, each with what to do.

Checks run in order and never stop at the first fault; each gives one ``Finding``:
``ok``, ``warn`` (works, but look at it), ``fail`` (something is broken) or ``skip`` (could
not be checked, e.g. no hub for an outlet that is not provisioned). The command exits 1 if
any check failed, 0 otherwise, so a script or a monitoring agent can run it too.

What is checked: versions; the data folder (owner, permissions, writable) and its config
files (mode 0600, usable secrets); the database (``PRAGMA quick_check``, migrations); free
disk space; the server (running and healthy, or its port free); the hub (reachable, the
credential accepted, clock skew against the hub's clock); sync (backlog, last error);
printers (a TCP connection to each enabled one); mDNS (the outlet can be discovered).
Reading only: the one message sent to the hub is an empty push, the heartbeat the running
edge sends every 15 s anyway. No secret is printed.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import sqlite3
import stat
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge import lock, outbox, sync_state
from edge.migrations import pending_migrations
from edge.settings import CONFIG_NAME, DB_NAME, SettingsError, load_settings
from shared.doctor import Finding, report

__all__ = ["Finding", "register_cli", "run_checks"]

MIN_FREE_BYTES = 200 * 2**20  # below this the box cannot be trusted to keep taking orders
WARN_FREE_BYTES = 1 * 2**30
SKEW_FAIL_S = 60.0  # business days, shift times and reports go wrong
SKEW_WARN_S = 5.0
STALE_BACKLOG_S = 300.0  # events waiting longer than this mean sync is not keeping up


class _Report:
    def __init__(self) -> None:
        self.findings: list[Finding] = []

    def add(self, check: str, status: str, detail: str, fix: str = "") -> None:
        self.findings.append(Finding(check, status, detail, fix))


def run_checks(data_dir: Path | str, *, timeout: float = 3.0, mdns: bool = True) -> list[Finding]:
    """Run every check on the edge in ``data_dir``; never raises for a fault it finds."""
    data_dir = Path(data_dir)
    report = _Report()
    _versions(report)
    if not _folder(report, data_dir):
        return report.findings
    settings = _config(report, data_dir)
    db_ok = _database(report, data_dir / DB_NAME)
    _disk(report, data_dir)
    running = _server(report, data_dir, settings, timeout)
    _hub(report, data_dir, db_ok, timeout)
    if db_ok:
        _printers(report, data_dir / DB_NAME, timeout)
    _mdns(report, data_dir, settings, running, db_ok, timeout if mdns else 0.0)
    return report.findings


# ---------------------------------------------------------------- the checks


def _versions(report: _Report) -> None:
    from edge.cli import version

    report.add("versions", "ok", f"pos-edge {version()}, Python {sys.version.split()[0]}, "
                                 f"SQLite {sqlite3.sqlite_version}")


def _folder(report: _Report, data_dir: Path) -> bool:
    if not data_dir.is_dir():
        report.add("data folder", "fail", f"{data_dir} does not exist",
                   "check --data-dir (the units use /var/lib/fnbpos), or `pos-edge init` / "
                   "`pos-edge provision` to set a box up")
        return False
    info = data_dir.stat()
    problems = []
    if info.st_uid != os.getuid():
        problems.append(f"owned by uid {info.st_uid}, not by this user ({os.getuid()})")
    if info.st_mode & 0o077:
        problems.append(f"mode {stat.filemode(info.st_mode)} lets other users in")
    if not os.access(data_dir, os.W_OK):
        problems.append("not writable by this user")
    if problems:
        report.add("data folder", "fail", f"{data_dir}: " + "; ".join(problems),
                   f"run as the edge's user (e.g. sudo -u fnbpos), chown it to that user and "
                   f"chmod 700 {data_dir}")
    else:
        report.add("data folder", "ok", f"{data_dir} (mode 700, writable)")
    return True


def _config(report: _Report, data_dir: Path) -> Any:
    for name in (CONFIG_NAME, sync_state.CONFIG_NAME):
        path = data_dir / name
        if path.exists() and path.stat().st_mode & 0o077:
            report.add(f"{name} permissions", "fail",
                       f"{path} is mode {stat.filemode(path.stat().st_mode)}: it holds secrets",
                       f"chmod 600 {path}")
    if not (data_dir / CONFIG_NAME).exists():
        report.add("settings", "fail", f"no {CONFIG_NAME} in {data_dir} (the box's own secrets)",
                   "`pos-edge init` (a new box) or `pos-edge serve` once (a provisioned box) "
                   "writes it")
        return None
    try:
        settings = load_settings(data_dir).check()
    except SettingsError as exc:
        report.add("settings", "fail", str(exc), f"fix {data_dir / CONFIG_NAME} or the POS_EDGE_* "
                   "environment of the unit")
        return None
    report.add("settings", "ok", f"{CONFIG_NAME} readable, secrets set; serves on "
                                 f"{settings.host}:{settings.port}")
    return settings


def _database(report: _Report, db_file: Path) -> bool:
    if not db_file.exists():
        report.add("database", "fail", f"no database at {db_file}",
                   "`pos-edge init` (a new box), `pos-edge provision`, or restore the last backup "
                   "(`pos-edge restore`)")
        return False
    try:
        conn = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=5)
        try:
            verdict = [r[0] for r in conn.execute("PRAGMA quick_check").fetchall()]
            pending = pending_migrations(conn)
            head = outbox.position(conn)
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        report.add("database integrity", "fail", f"{db_file} cannot be read: {exc}",
                   "stop the edge and restore the last backup (`pos-edge restore`); keep the "
                   "damaged file for an investigation")
        return False
    if verdict != ["ok"]:
        report.add("database integrity", "fail", f"quick_check: {'; '.join(verdict[:3])}",
                   "stop the edge and restore the last backup (`pos-edge restore`); keep the "
                   "damaged file for an investigation")
        return False
    report.add("database integrity", "ok", f"{db_file}: quick_check ok")
    if pending:
        report.add("database schema", "warn",
                   f"{len(pending)} migration(s) not applied yet (up to {pending[-1][0]:04d})",
                   "they are applied when the edge starts: restart it after an upgrade")
    else:
        report.add("database schema", "ok", "migrations at head")
    if head is None:
        report.add("journal", "fail", "the database has no journal",
                   "run `pos-edge init` on this folder")
        return False
    return True


def _disk(report: _Report, data_dir: Path) -> None:
    free = shutil.disk_usage(data_dir).free
    detail = f"{free / 2**30:.1f} GiB free on the data folder's disk"
    fix = ("free space: remove old backups and logs (journalctl --vacuum-size=200M); backups "
           "belong on another disk")
    if free < MIN_FREE_BYTES:
        report.add("disk space", "fail", detail, fix)
    elif free < WARN_FREE_BYTES:
        report.add("disk space", "warn", detail, fix)
    else:
        report.add("disk space", "ok", detail)


def _server(report: _Report, data_dir: Path, settings: Any, timeout: float) -> bool:
    import httpx

    held = lock.holder(data_dir)
    if held and held.get("purpose") != "pos-edge serve":
        report.add("server", "warn", lock.describe(data_dir, held), "wait for it, then run again")
        return False
    if not held:
        fix = "start it: `systemctl start pos-edge` (or `pos-edge serve --data-dir ...`)"
        report.add("server", "warn", "the edge is not running on this folder", fix)
        if settings is not None:
            _port_free(report, settings.host, settings.port)
        return False
    host = held.get("host") or "127.0.0.1"
    host = "127.0.0.1" if host in ("0.0.0.0", "") else "::1" if host == "::" else host
    port = held.get("port")
    url = f"http://{'[' + host + ']' if ':' in host else host}:{port}/api/health"
    try:
        answer = httpx.get(url, timeout=timeout)
        healthy = answer.status_code == 200
        detail = f"HTTP {answer.status_code}"
    except httpx.HTTPError as exc:
        healthy, detail = False, str(exc) or type(exc).__name__
    if healthy:
        report.add("server", "ok", f"running (pid {held.get('pid')}), {url} answers")
    else:
        report.add("server", "fail", f"pid {held.get('pid')} holds the folder but {url}: {detail}",
                   "restart it: `systemctl restart pos-edge`, then `journalctl -u pos-edge`")
    return healthy


def _port_free(report: _Report, host: str, port: int) -> None:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    probe = socket.socket(family, socket.SOCK_STREAM)
    try:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind((host, port))
        report.add("port", "ok", f"{host}:{port} is free for the edge")
    except OSError as exc:
        report.add("port", "fail", f"{host}:{port} cannot be used: {exc.strerror}",
                   f"another program holds it (`ss -ltnp 'sport = :{port}'`): stop it, or set "
                   "POS_EDGE_PORT")
    finally:
        probe.close()


def _hub(report: _Report, data_dir: Path, db_ok: bool, timeout: float) -> None:
    config = sync_state.read_config(data_dir) if sync_state.is_provisioned(data_dir) else None
    if config is None:
        report.add("hub", "skip", "not provisioned: this box sells on its own, nothing syncs",
                   "to connect it to head office: `pos-edge provision --hub URL --code CODE`")
        return
    status: dict[str, Any] | None = None
    if db_ok:
        conn = sqlite3.connect(f"file:{data_dir / DB_NAME}?mode=ro", uri=True, timeout=5)
        conn.row_factory = sqlite3.Row
        try:
            status = sync_state.status(conn)
        finally:
            conn.close()
    asyncio.run(_hub_online(report, config, status, timeout))
    if status is not None:
        _backlog(report, status)


async def _hub_online(report: _Report, config: Any, status: dict[str, Any] | None,
                      timeout: float) -> None:
    from sync.client import HubClient, HubRefused, HubUnreachable
    from sync.protocol import PushRequest
    from sync.push import EDGE_VERSION

    epoch = (status or {}).get("epoch") or "00000000-0000-0000-0000-000000000000"
    started = time.time()
    try:
        async with HubClient(config.hub_url, config.credential, timeout=timeout) as client:
            reply = await client.push(PushRequest(outlet_id=config.outlet_id, epoch=epoch,
                                                  entries=[], backlog=0,
                                                  sent_at=datetime.now(UTC),
                                                  edge_version=EDGE_VERSION))
    except HubUnreachable as exc:
        report.add("hub", "fail", f"{config.hub_url} unreachable: {exc}",
                   "check the network and DNS from the box (`curl "
                   f"{config.hub_url}/api/health`); the box keeps selling and syncs later")
        report.add("clock", "skip", "no hub to compare with")
        return
    except HubRefused as exc:
        report.add("hub", "ok", f"{config.hub_url} reachable")
        fix = ("ask head office for a new code and `pos-edge provision --reenroll --hub URL "
               "--code CODE`" if exc.code in ("credential_revoked", "unauthorized")
               else "see the outlet on the hub's fleet view")
        report.add("credential", "fail", f"the hub refused it: {exc.message} ({exc.code})", fix)
        report.add("clock", "skip", "the hub did not answer with its time")
        return
    report.add("hub", "ok", f"{config.hub_url} reachable")
    report.add("credential", "ok", f"accepted for outlet {config.outlet_name or config.outlet_id}")
    midpoint = started + (time.time() - started) / 2
    skew = midpoint - reply.hub_time.timestamp()
    detail = f"box clock {'ahead of' if skew > 0 else 'behind'} the hub by {abs(skew):.1f} s"
    fix = "turn time sync on: `timedatectl set-ntp true` (check with `timedatectl status`)"
    if abs(skew) > SKEW_FAIL_S:
        report.add("clock", "fail", detail, fix)
    elif abs(skew) > SKEW_WARN_S:
        report.add("clock", "warn", detail, fix)
    else:
        report.add("clock", "ok", detail)


def _backlog(report: _Report, status: dict[str, Any]) -> None:
    backlog = status["backlog"]
    if status["refused"]:
        report.add("sync", "fail", f"the hub refused the last push: {status['last_error']}",
                   "see `pos-edge status` and the outlet on the hub's fleet view")
        return
    last = status["last_push_at"]
    age = (datetime.now(UTC) - datetime.fromisoformat(last)).total_seconds() if last else None
    if backlog and (age is None or age > STALE_BACKLOG_S):
        since = f"last push {last}" if last else "never pushed"
        report.add("sync", "warn", f"{backlog} event(s) waiting for the hub ({since}); "
                                   f"last error: {status['last_error'] or '-'}",
                   "once the hub is reachable: `pos-edge sync now --data-dir ...` (or wait for "
                   "the backoff)")
    elif status["last_error"] and (not last or (status["last_error_at"] or "") > last):
        report.add("sync", "warn", f"last error {status['last_error_at']}: {status['last_error']}",
                   "see `pos-edge status`; `pos-edge sync now` retries at once")
    else:
        report.add("sync", "ok", f"backlog {backlog}, last push {last or 'never'}")


def _printers(report: _Report, db_file: Path, timeout: float) -> None:
    conn = sqlite3.connect(f"file:{db_file}?mode=ro", uri=True, timeout=5)
    try:
        rows = conn.execute("SELECT name, host, port FROM printers WHERE enabled = 1"
                            " ORDER BY name").fetchall()
    except sqlite3.DatabaseError:
        rows = []
    finally:
        conn.close()
    if not rows:
        report.add("printers", "skip", "no printer configured")
        return
    for name, host, port in rows:
        try:
            with socket.create_connection((host, port), timeout=min(timeout, 2.0)):
                pass
            report.add(f"printer {name}", "ok", f"{host}:{port} accepts connections")
        except OSError as exc:
            report.add(f"printer {name}", "fail", f"{host}:{port}: {exc.strerror or exc}",
                       "check the printer is on, has paper, and keeps its IP address (a DHCP "
                       "reservation); then `POST /api/v1/printers/{id}/test`")


def _mdns(report: _Report, data_dir: Path, settings: Any, running: bool, db_ok: bool,
          timeout: float) -> None:
    if settings is None or not settings.advertise:
        report.add("mDNS", "skip", "advertising is off (POS_EDGE_ADVERTISE=0)")
        return
    if not running or not db_ok or timeout <= 0:
        report.add("mDNS", "skip", "not checked (the edge is not running)" if not running
                   else "not checked")
        return
    from edge import outlet
    from edge.discovery import discover

    conn = sqlite3.connect(f"file:{data_dir / DB_NAME}?mode=ro", uri=True, timeout=5)
    conn.row_factory = sqlite3.Row
    try:
        me = outlet.load_outlet(conn).id
    finally:
        conn.close()
    try:
        found = asyncio.run(discover(min(timeout, 3.0), settings.advertise_interfaces or []))
    except OSError as exc:
        report.add("mDNS", "fail", f"cannot browse: {exc}", "multicast may be blocked on this host")
        return
    if any(f.outlet_id == me for f in found):
        report.add("mDNS", "ok", "the outlet can be discovered on the LAN (_fnbpos._tcp)")
    else:
        report.add("mDNS", "warn", "the outlet did not answer an mDNS browse",
                   "devices must be given the URL by hand; check that the firewall allows UDP "
                   "5353 and that POS_EDGE_ADVERTISE_INTERFACES names the LAN interface")


# ---------------------------------------------------------------- CLI


def register_cli(sub: Any, db_path_for: Any = None) -> None:
    """Add ``doctor`` to pos-edge's subcommands."""
    p = sub.add_parser("doctor", help="check this box and name every fault, with what to do")
    p.add_argument("--data-dir", required=True, help="edge data folder")
    p.add_argument("--json", action="store_true", help="print the findings as JSON")
    p.add_argument("--timeout", type=float, default=3.0, help="seconds per network check")
    p.add_argument("--no-mdns", action="store_true", help="skip the mDNS browse")
    p.set_defaults(func=lambda args: cli_doctor(Path(args.data_dir), args.json, args.timeout,
                                                not args.no_mdns))


def cli_doctor(data_dir: Path, as_json: bool, timeout: float, mdns: bool) -> int:
    return report(run_checks(data_dir, timeout=timeout, mdns=mdns), as_json)
