"""``pos-edge``: set up, run and look after an outlet edge. A thin layer over the edge modules.

    pos-edge init --data-dir D [--demo] [--outlet-name N] [--timezone TZ] [--kitchen-trigger place|payment]
    pos-edge serve --data-dir D [--host 127.0.0.1] [--port 8080] [--no-advertise]
    pos-edge pair --data-dir D --role kiosk|cashier|kds|admin --name NAME   (token = last line)
    pos-edge staff add|list|disable ...
    pos-edge devices --data-dir D [--json]
    pos-edge discover [--timeout 3] [--interface IP]
    pos-edge sync now --data-dir D [--wait 30]   (wake a running edge's sync: push and pull now)
    pos-edge provision / status / backup / restore   (see edge/provision.py, edge/backup.py)
    pos-edge doctor --data-dir D [--json]   (see edge/doctor.py)
    pos-edge --version
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge import devices, outbox, outlet, tables
from edge.connection_guard import ConnectionGuard, guarded_http_protocol
from edge.settings import DB_NAME, SettingsError, load_settings, write_config
from shared.errors import PosError

__all__ = ["build_parser", "main"]



class _LazyConsole:
    """rich's Console, imported on first use (serve never needs it)."""

    def __getattr__(self, name: str) -> Any:
        from rich.console import Console

        real = Console(highlight=False, soft_wrap=True)
        globals()["console"] = real
        return getattr(real, name)


console: Any = _LazyConsole()


def Table(*args: Any, **kwargs: Any) -> Any:
    from rich.table import Table as RichTable

    return RichTable(*args, **kwargs)


def _db_path(data_dir: Path) -> Path:
    return Path(data_dir) / DB_NAME


def _open_db(data_dir: str) -> Any:
    from edge.db import Database

    path = _db_path(Path(data_dir))
    if not path.exists():
        raise SystemExit(f"error: no edge database in {data_dir}; run `pos-edge init` first")
    return Database(path)


# ---------------------------------------------------------------- init


def cmd_init(args: argparse.Namespace) -> int:
    from edge import catalog, demo, sync_state
    from edge.db import Database

    data_dir = Path(args.data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(data_dir, 0o700)
    timezone = args.timezone or (demo.DEMO_TIMEZONE if args.demo else "UTC")
    name = args.outlet_name or (demo.DEMO_OUTLET_NAME if args.demo else "Outlet")
    try:
        outlet.check_timezone(timezone)
    except PosError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    config = write_config(data_dir, demo=args.demo)
    settings = load_settings(data_dir)
    db = Database(_db_path(data_dir))
    staff_created: list[tuple[str, str, str]] = []

    def setup(conn: Any) -> outlet.OutletInfo:
        sync_state.ensure_journal(conn)
        info = outlet.create_outlet(conn, name, timezone, args.kitchen_trigger)
        if args.demo and conn.execute("SELECT COUNT(*) FROM products").fetchone()[0] == 0:
            catalog.replace_catalog(conn, demo.demo_catalog())
        if args.demo and not tables.floor_plan(conn).tables:
            tables.replace_floor_plan(conn, demo.demo_floor_plan())
        if args.demo and conn.execute("SELECT COUNT(*) FROM staff").fetchone()[0] == 0:
            for staff_name, role, pin in demo.DEMO_STAFF:
                devices.add_staff(conn, staff_name, role, pin, settings.pin_pepper)
                staff_created.append((staff_name, role, pin))
        return info

    try:
        info = db.write_blocking(setup)
        head = db.read_now(outbox.head)
    finally:
        db.close()
    console.print(f"edge initialised in [bold]{data_dir}[/bold]")
    console.print(f"  outlet:   {info.name} ({info.id}), timezone {info.timezone}")
    console.print(f"  database: {_db_path(data_dir)} (journal epoch {head['epoch']})")
    console.print(f"  config:   {config} (mode 600)")
    if staff_created:
        table = Table(title="demo staff (PINs)")
        for column in ("name", "role", "PIN"):
            table.add_column(column)
        for row in staff_created:
            table.add_row(*row)
        console.print(table)
    return 0


# ---------------------------------------------------------------- serve

WS_MAX_MESSAGE_BYTES = 4096  # the largest message a screen may send on its live stream


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from edge.app import create_app
    from shared.logs import configure_logging

    if _db_path(Path(args.data_dir)).exists():
        # A box set up by `pos-edge provision` alone has no edge.toml yet: give it secrets now.
        write_config(args.data_dir, demo=False)
    try:
        overrides: dict[str, Any] = {"host": args.host, "port": args.port}
        if args.no_advertise:
            overrides["advertise"] = False
        settings = load_settings(args.data_dir, **overrides).check()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not settings.db_path.exists():
        print(f"error: no edge database in {args.data_dir}; run `pos-edge init` first", file=sys.stderr)
        return 2
    from edge import lock

    try:  # held until this process ends: restore refuses while it is held
        held = lock.acquire(settings.data_path, "pos-edge serve", host=settings.host,
                            port=settings.port)
    except lock.FolderBusy as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    app = create_app(settings)
    app.state.folder_lock = held
    guard = ConnectionGuard(max_per_client=settings.max_connections_per_client,
                            read_timeout_seconds=settings.request_read_timeout_seconds)
    app.state.edge.metrics.watch_connections(guard)
    # No "Server: uvicorn" on every answer (the apps load 10-20 files: each header counts, and
    # it tells a scanner nothing it needs); Date stays (HTTP requires it of an origin server).
    # loop="asyncio", not uvloop (uvicorn's "auto"): under wrk with 100-500 connections
    # uvloop served some connections seconds late (p99 0.65-4.6 s against p50 23-59 ms);
    # the standard loop keeps p99 within 2-3x p50 (62-274 ms) for 5-10 % less throughput.
    # A kiosk must not wait seconds because the cashiers are busy (docs/performance.md).
    # ws_max_size: screens send nothing on their stream; uvicorn's 16 MiB per message let one
    # client with 32 streams raise the edge's memory by 1 GB (docs/security.md, Connections).
    uvicorn.run(app, host=settings.host, port=settings.port, log_config=None, access_log=False,
                lifespan="on", timeout_graceful_shutdown=5, ws_ping_interval=20,
                server_header=False, loop="asyncio", http=guarded_http_protocol(guard),
                ws_max_size=WS_MAX_MESSAGE_BYTES)
    return 0


# ---------------------------------------------------------------- devices and staff


def cmd_pair(args: argparse.Namespace) -> int:
    db = _open_db(args.data_dir)
    try:
        device, token = db.write_blocking(lambda conn: devices.pair_device(conn, args.name, args.role))
    except PosError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    finally:
        db.close()
    app = {"kiosk": "kiosk", "cashier": "cashier", "kds": "kds", "board": "board"}.get(device.role)
    console.print(f"paired {device.role} [bold]{device.name}[/bold] ({device.id})")
    if app:
        settings = load_settings(args.data_dir)
        print(f"open on the device: {edge_url(settings.host, settings.port)}/{app}/?token={token}")
    console.print("device token (shown once):")
    print(token)
    return 0


def edge_url(host: str, port: int) -> str:
    """The URL a device on the shop LAN opens: the address the server listens on, or this
    box's LAN address when it listens on every interface."""
    if host in ("", "0.0.0.0", "::"):
        import socket

        probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        try:
            probe.connect(("192.0.2.1", 9))  # picks the outgoing interface; sends nothing
            host = probe.getsockname()[0]
        except OSError:
            host = socket.gethostname()
        finally:
            probe.close()
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def cmd_devices(args: argparse.Namespace) -> int:
    db = _open_db(args.data_dir)
    try:
        found = db.read_now(devices.list_devices)
    finally:
        db.close()
    if args.json:
        print(json.dumps([{"id": d.id, "name": d.name, "role": d.role, "paired": d.created_at,
                           "revoked": d.revoked_at} for d in found]))
        return 0
    table = Table(title="paired devices")
    # Ids are what `revoke-device` takes: never shortened, other columns give way instead.
    table.add_column("id", no_wrap=True, min_width=max((len(d.id) for d in found), default=2))
    table.add_column("name")
    table.add_column("role")
    table.add_column("paired", no_wrap=True)
    table.add_column("revoked", no_wrap=True)
    for d in found:
        table.add_row(d.id, d.name, d.role, d.created_at[:10], (d.revoked_at or "")[:10])
    console.print(table)
    return 0


def cmd_revoke(args: argparse.Namespace) -> int:
    db = _open_db(args.data_dir)
    try:
        db.write_blocking(lambda conn: devices.revoke_device(conn, args.device_id))
    except PosError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    finally:
        db.close()
    console.print(f"device {args.device_id} revoked")
    return 0


def cmd_staff_add(args: argparse.Namespace) -> int:
    if _db_path(Path(args.data_dir)).exists():
        write_config(args.data_dir, demo=False)  # pre-0010 PIN lookups need this box's pepper
    settings = load_settings(args.data_dir)
    pin = args.pin or os.environ.get("POS_EDGE_NEW_PIN") or ""
    if not pin:
        import getpass

        pin = getpass.getpass("PIN (4-8 digits, 6+ for a manager): ")
    db = _open_db(args.data_dir)
    try:
        member = db.write_blocking(lambda conn: devices.add_staff(conn, args.name, args.role, pin,
                                                                  settings.pin_pepper))
    except PosError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    finally:
        db.close()
    console.print(f"added {member.role} [bold]{member.name}[/bold]")
    print(member.id)
    return 0


def cmd_staff_list(args: argparse.Namespace) -> int:
    db = _open_db(args.data_dir)
    try:
        found = db.read_now(devices.list_staff)
    finally:
        db.close()
    table = Table(title="staff")
    for column in ("id", "name", "role", "active", "managed by"):
        table.add_column(column)
    for s in found:
        table.add_row(s.id, s.name, s.role, "yes" if s.active else "no",
                      "head office" if s.source == "hub" else "this box")
    console.print(table)
    return 0


def cmd_staff_disable(args: argparse.Namespace) -> int:
    db = _open_db(args.data_dir)
    try:
        db.write_blocking(lambda conn: devices.set_staff_active(conn, args.staff_id, False))
    except PosError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    finally:
        db.close()
    console.print(f"staff {args.staff_id} disabled")
    return 0


def cmd_outlet(args: argparse.Namespace) -> int:
    db = _open_db(args.data_dir)
    try:
        info = db.write_blocking(lambda conn: outlet.update_outlet(
            conn, name=args.name, timezone=args.timezone, kitchen_trigger=args.kitchen_trigger,
            business_day_start_hour=args.business_day_start_hour))
    except PosError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    finally:
        db.close()
    console.print(f"outlet {info.name} ({info.id}): timezone {info.timezone}, kitchen trigger "
                  f"{info.kitchen_trigger}, business day starts {info.business_day_start_hour:02d}:00")
    console.print("a running edge picks the change up within a few seconds")
    return 0


# ---------------------------------------------------------------- sync now


def cmd_sync_now(args: argparse.Namespace) -> int:
    import signal
    import time

    from edge import lock, sync_state

    data_dir = Path(args.data_dir)
    if not sync_state.is_provisioned(data_dir):
        print(f"error: {data_dir} is not provisioned: nothing to sync (pos-edge provision)",
              file=sys.stderr)
        return 1
    held = lock.holder(data_dir)
    if not held or held.get("purpose") != "pos-edge serve" or not held.get("pid"):
        print(f"error: no edge is serving {data_dir}: start it (e.g. `systemctl start pos-edge`);"
              " it pushes its backlog as soon as it runs", file=sys.stderr)
        return 1
    db = _open_db(args.data_dir)
    try:
        before = db.read_now(sync_state.status)
        try:
            os.kill(int(held["pid"]), signal.SIGUSR1)
        except (ProcessLookupError, PermissionError) as exc:
            print(f"error: cannot signal the edge (pid {held['pid']}): {exc}; run as the user "
                  "the edge runs as (e.g. sudo -u fnbpos)", file=sys.stderr)
            return 1
        console.print(f"woke the edge's sync (pid {held['pid']}); backlog {before['backlog']}")
        deadline = time.monotonic() + max(0.0, args.wait)
        now = before
        while time.monotonic() < deadline:
            time.sleep(0.2)
            now = db.read_now(sync_state.status)
            if now["last_error_at"] != before["last_error_at"] and now["last_error"]:
                print(f"error: the hub did not take the push: {now['last_error']}", file=sys.stderr)
                return 1
            if now["last_push_at"] != before["last_push_at"] and now["backlog"] == 0:
                break
    finally:
        db.close()
    if args.wait <= 0:
        return 0
    if now["last_push_at"] == before["last_push_at"]:
        print(f"error: no answer from the hub within {args.wait:g} s; see `pos-edge status`",
              file=sys.stderr)
        return 1
    console.print(f"hub answered at {now['last_push_at']}; backlog now {now['backlog']}")
    return 0


# ---------------------------------------------------------------- discover


def cmd_discover(args: argparse.Namespace) -> int:
    from edge.discovery import discover

    found = asyncio.run(discover(args.timeout, args.interface or []))
    if args.json:
        print(json.dumps([{"outlet_id": f.outlet_id, "outlet_name": f.outlet_name,
                           "version": f.version, "url": f.url, "name": f.name} for f in found]))
        return 0
    if not found:
        console.print("no edge answered")
        return 1
    table = Table(title="edges on this network")
    for column in ("outlet", "outlet id", "url", "version"):
        table.add_column(column)
    for f in found:
        table.add_row(f.outlet_name, f.outlet_id, f.url, f.version)
    console.print(table)
    return 0


# ---------------------------------------------------------------- parser


def build_parser(plugins: tuple[str, ...] = ("edge.provision", "edge.backup", "edge.doctor")
                 ) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pos-edge", description="fnbpos outlet edge server")
    parser.add_argument("--version", action="version", version=f"pos-edge {version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    def add(name: str, func: Callable[[argparse.Namespace], int], help_: str,
            data_dir: bool = True) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help_)
        if data_dir:
            p.add_argument("--data-dir", required=True, help="edge data folder")
        p.set_defaults(func=func)
        return p

    p = add("init", cmd_init, "create the database and config (optionally with the demo outlet)")
    p.add_argument("--demo", action="store_true", help="load the demo menu and demo staff")
    p.add_argument("--outlet-name", default=None)
    p.add_argument("--timezone", default=None, help="IANA zone, e.g. Asia/Jakarta")
    p.add_argument("--kitchen-trigger", choices=outlet.KITCHEN_TRIGGERS, default="place",
                   help="send orders to the kitchen when placed (default) or when paid")

    p = add("serve", cmd_serve, "run the edge server")
    p.add_argument("--host", default=None)
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--no-advertise", action="store_true", help="do not announce on mDNS")

    p = add("pair", cmd_pair, "pair a device; prints its token as the last line")
    p.add_argument("--role", required=True, choices=devices.DEVICE_ROLES)
    p.add_argument("--name", required=True)

    p = add("outlet", cmd_outlet, "show or change outlet settings")
    p.add_argument("--name", default=None)
    p.add_argument("--timezone", default=None)
    p.add_argument("--kitchen-trigger", choices=outlet.KITCHEN_TRIGGERS, default=None)
    p.add_argument("--business-day-start-hour", type=int, default=None,
                   help="sales before this local hour count for the previous day")

    p = add("devices", cmd_devices, "list paired devices (full ids, for revoke-device)")
    p.add_argument("--json", action="store_true")
    p = add("revoke-device", cmd_revoke, "revoke a paired device")
    p.add_argument("device_id")

    staff = sub.add_parser("staff", help="manage staff")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True)
    p = staff_sub.add_parser("add", help="add a staff member with a PIN")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--name", required=True)
    p.add_argument("--role", required=True, choices=devices.STAFF_ROLES)
    p.add_argument("--pin", default=None, help="4-8 digits, 6+ for a manager (asked for when omitted)")
    p.set_defaults(func=cmd_staff_add)
    p = staff_sub.add_parser("list", help="list staff")
    p.add_argument("--data-dir", required=True)
    p.set_defaults(func=cmd_staff_list)
    p = staff_sub.add_parser("disable", help="disable a staff member")
    p.add_argument("--data-dir", required=True)
    p.add_argument("staff_id")
    p.set_defaults(func=cmd_staff_disable)

    sync = sub.add_parser("sync", help="sync with the hub")
    sync_sub = sync.add_subparsers(dest="sync_command", required=True)
    p = sync_sub.add_parser("now", help="end any backoff: the running edge pushes and pulls at once")
    p.add_argument("--data-dir", required=True)
    p.add_argument("--wait", type=float, default=30.0,
                   help="seconds to wait for the hub's answer (0: do not wait)")
    p.set_defaults(func=cmd_sync_now)

    p = add("discover", cmd_discover, "list edges advertising on the LAN", data_dir=False)
    p.add_argument("--timeout", type=float, default=3.0)
    p.add_argument("--interface", action="append", help="IPv4 address to browse on (repeatable)")
    p.add_argument("--json", action="store_true")

    for module in plugins:  # a broken module fails loudly instead of hiding its command
        __import__(module, fromlist=["register_cli"]).register_cli(sub, _db_path)
    return parser


# Subcommands other modules add (they import httpx and friends): loaded only when needed,
# so `pos-edge serve` and `pos-edge pair` start fast.
_PLUGINS = {"provision": "edge.provision", "status": "edge.provision", "backup": "edge.backup",
            "restore": "edge.backup", "doctor": "edge.doctor"}
_CORE_COMMANDS = {"init", "serve", "pair", "devices", "revoke-device", "staff", "discover", "outlet",
                  "sync"}


def version() -> str:
    """The installed fnbpos version (the package metadata; the source's when not installed)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed("fnbpos")
    except PackageNotFoundError:
        return "0.1.0+source"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    command = next((a for a in argv if not a.startswith("-")), None)
    if command in _CORE_COMMANDS:
        plugins: tuple[str, ...] = ()
    elif command in _PLUGINS:
        plugins = (_PLUGINS[command],)
    else:  # help or an unknown command: show everything
        plugins = tuple(dict.fromkeys(_PLUGINS.values()))
    args = build_parser(plugins).parse_args(argv)
    from edge.db import DatabaseUnusable

    try:
        return int(args.func(args) or 0)
    except (SettingsError, DatabaseUnusable) as exc:  # said plainly, with no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
