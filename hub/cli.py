"""``pos-hub``: run, migrate and bootstrap the hub from the command line.

    pos-hub serve [--db URL] [--host 127.0.0.1] [--port 8000] [--config FILE] [--no-migrate]
    pos-hub migrate [--db URL]
    pos-hub create-tenant --name NAME --admin-email E [--admin-password P] [--db URL]
      (the password: --admin-password, else POS_HUB_ADMIN_PASSWORD, else asked for)
    pos-hub create-outlet --tenant TENANT_ID --name NAME --timezone TZ [--brand ID] [--db URL]
    pos-hub enrollment-code --outlet OUTLET_ID [--ttl-minutes N] [--db URL]
    pos-hub revoke-credentials --outlet OUTLET_ID [--db URL]
    pos-hub doctor [--db URL] [--json]   (checks the hub's host; exit 1 on a fault)
    pos-hub --version
    pos-hub users unlock [EMAIL] [--ip ADDRESS] [--db URL]
    pos-hub partitions list|ensure|prune [--months-ahead N] [--keep-months N] [--dry-run]
      (PostgreSQL: the fact tables' monthly partitions, hub.partitions)

Without ``--db`` the hub uses ``POS_HUB_DB_URL`` or a SQLite file in ``./data/hub``. The
create commands print the new id as their last line. Bad input exits non-zero with a
message on stderr. The CLI is a thin transport over the services in hub.tenancy.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from hub import tenancy
from hub.db import Database, login_roles, run_migrations
from hub.models import Tenant, utcnow
from hub.schemas import OutletCreate
from hub.settings import HubSettings, load_settings
from shared.errors import PosError

__all__ = ["main"]


class CliError(Exception):
    """A problem to report in one line, exit code 1."""


def _settings(args: argparse.Namespace, **extra: Any) -> HubSettings:
    try:
        return load_settings(getattr(args, "config", None), db_url=args.db, **extra)
    except (ValueError, OSError) as exc:
        raise CliError(f"invalid settings: {exc}") from exc


def _migrate(settings: HubSettings) -> None:
    """Migrate as the owner (POS_HUB_DB_MIGRATE_URL, else the --db URL) and grant the login
    roles of the --db and system URLs; any failed statement is an error, nothing is kept."""
    grant_to = login_roles(settings.resolved_db_url(), settings.db_system_url)
    try:
        run_migrations(settings.resolved_migrate_url(), grant_to=grant_to)
    except (SQLAlchemyError, ValueError) as exc:
        raise CliError(f"cannot migrate the database: {exc.__class__.__name__}: "
                       f"{str(exc).splitlines()[0]}") from exc


def _check_secret(settings: HubSettings) -> None:
    """Create the key file if needed (before serving, not mid-request); refuse a weak key."""
    try:
        settings.resolved_jwt_secret()
    except (ValueError, OSError) as exc:
        raise CliError(f"refusing to start: {exc}") from exc
    if settings.demo:
        print("warning: demo mode: a weak JWT secret would be accepted; never serve a chain "
              "like this", file=sys.stderr)


def cmd_serve(args: argparse.Namespace) -> None:
    import uvicorn

    from hub.app import MissingFiles, configure_logging, create_app, require_files

    try:
        require_files()
    except MissingFiles as exc:
        raise CliError(str(exc)) from exc
    settings = _settings(args, host=args.host, port=args.port)
    configure_logging(settings.log_level)
    _check_secret(settings)  # refuse a weak key before touching the database
    if not args.no_migrate:
        _migrate(settings)
    proxy_options = ({"proxy_headers": True, "forwarded_allow_ips": settings.forwarded_allow_ips}
                     if settings.forwarded_allow_ips else {"proxy_headers": False})
    # access_log off: the app's middleware logs each request itself (with its request id)
    # loop="asyncio", not uvloop (uvicorn's "auto"): it serves connections in turn, where
    # uvloop left some waiting seconds under load; with 200 outlets pushing at once it also
    # gave more orders/s at a lower p99 (docs/performance.md, "The event loop").
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_config=None,
                access_log=False, lifespan="on", loop="asyncio",
                timeout_keep_alive=settings.keep_alive_seconds, **proxy_options)


def cmd_migrate(args: argparse.Namespace) -> None:
    settings = _settings(args)
    _migrate(settings)
    print("database is up to date")


async def _create_tenant(settings: HubSettings, args: argparse.Namespace) -> str:
    db = Database.from_settings(settings, pool_size=1)
    try:
        async with db.system() as session:
            tenant = await tenancy.create_tenant(session, args.name, args.admin_email,
                                                 _admin_password(args))
            return tenant.id
    finally:
        await db.dispose()


def _admin_password(args: argparse.Namespace) -> str:
    """--admin-password, else POS_HUB_ADMIN_PASSWORD, else asked for (never echoed): a
    password on the command line is visible to every user of the host in `ps`."""
    import os

    if args.admin_password:
        return str(args.admin_password)
    if os.environ.get("POS_HUB_ADMIN_PASSWORD"):
        return os.environ["POS_HUB_ADMIN_PASSWORD"]
    if not sys.stdin.isatty():
        raise CliError("no owner password: set POS_HUB_ADMIN_PASSWORD or pass --admin-password")
    import getpass

    first = getpass.getpass("owner password: ")
    if first != getpass.getpass("again: "):
        raise CliError("the two passwords differ")
    return first


def cmd_doctor(args: argparse.Namespace) -> int:
    from hub import doctor

    settings = _settings(args)
    return doctor.report(doctor.run_checks(settings, timeout=args.timeout), args.json)


def cmd_create_tenant(args: argparse.Namespace) -> None:
    settings = _settings(args)
    args.admin_password = _admin_password(args)  # asked before any work is done
    _migrate(settings)
    tenant_id = asyncio.run(_create_tenant(settings, args))
    print(f"created tenant {args.name!r} with owner {args.admin_email.strip().lower()}")
    print(tenant_id)


async def _create_outlet(settings: HubSettings, args: argparse.Namespace) -> str:
    db = Database.from_settings(settings, pool_size=1)
    try:
        async with db.tenant(args.tenant) as session:
            if await session.get(Tenant, args.tenant) is None:
                raise CliError(f"tenant {args.tenant!r} not found")
            data = OutletCreate(name=args.name.strip(), timezone=args.timezone,
                                brand_id=args.brand)
            if not data.name or len(data.name) > 200:
                raise CliError("outlet name must be 1-200 characters")
            outlet = await tenancy.create_outlet(session, None, data, tenant_id=args.tenant)
            return outlet.id
    finally:
        await db.dispose()


def cmd_create_outlet(args: argparse.Namespace) -> None:
    settings = _settings(args)
    _migrate(settings)
    outlet_id = asyncio.run(_create_outlet(settings, args))
    print(f"created outlet {args.name!r} ({args.timezone})")
    print(outlet_id)


async def _enrollment_code(settings: HubSettings, outlet_id: str, ttl_minutes: int) -> tuple[str, str]:
    from datetime import timedelta

    from hub.ingest import enrollment

    db = Database.from_settings(settings, pool_size=1)
    try:
        # The operator names an outlet, not a tenant: find it across tenants (system session).
        async with db.system() as session:
            issued = await enrollment.create_code(session, None, outlet_id,
                                                  timedelta(minutes=ttl_minutes))
            return issued.code, issued.expires_at.isoformat()
    finally:
        await db.dispose()


def cmd_enrollment_code(args: argparse.Namespace) -> None:
    settings = _settings(args)  # no migration here: the outlet exists, so the schema does
    code, expires_at = asyncio.run(_enrollment_code(settings, args.outlet, args.ttl_minutes))
    print(f"one-time enrollment code for outlet {args.outlet}, valid until {expires_at}:")
    print(f"  on the outlet box: pos-edge provision --hub <hub URL> --code {code} --data-dir <dir>")
    print(code)


async def _revoke_credentials(settings: HubSettings, outlet_id: str) -> int:
    from hub.ingest import enrollment

    db = Database.from_settings(settings, pool_size=1)
    try:
        async with db.system() as session:
            return await enrollment.revoke_outlet_credentials(session, None, outlet_id)
    finally:
        await db.dispose()


def cmd_revoke_credentials(args: argparse.Namespace) -> None:
    settings = _settings(args)
    count = asyncio.run(_revoke_credentials(settings, args.outlet))
    print(f"revoked {count} sync credential(s) of outlet {args.outlet}")


async def _unlock(settings: HubSettings, email: str | None, ip: str | None) -> int:
    from hub import identity

    db = Database.from_settings(settings, pool_size=1)
    try:
        return await identity.unlock(db, email=email, ip=ip)
    finally:
        await db.dispose()


def cmd_users_unlock(args: argparse.Namespace) -> None:
    if not args.email and not args.ip:
        raise CliError("give the account's email, --ip ADDRESS, or both")
    settings = _settings(args)
    cleared = asyncio.run(_unlock(settings, args.email, args.ip))
    who = " and ".join(x for x in (args.email and f"account {args.email.strip().lower()}",
                                   args.ip and f"client IP {args.ip}") if x)
    print(f"cleared {cleared} login counter(s) of {who}")


async def _partitions(settings: HubSettings, args: argparse.Namespace) -> list[str]:
    from hub import partitions

    db = Database.from_settings(settings, pool_size=1)
    try:
        async with db.system() as session:
            if not await partitions.is_partitioned(session):
                raise CliError("this hub's database has no partitions (SQLite, or not "
                               "migrated to 0500: run pos-hub migrate)")
            found = await partitions.list_partitions(session)
            today = utcnow().date()
            if args.action == "list":
                return [_partition_line(p) for p in found]
            if args.action == "ensure":
                months = (settings.partition_months_ahead if args.months_ahead is None
                          else args.months_ahead)
                if args.dry_run:
                    return [f"would add {table}_p{month:%Y%m}" for table, month
                            in partitions.plan_additions(found, today, months)]
                return [f"added {name}" for name in
                        await partitions.ensure_partitions(session, months, today)]
            keep = (settings.partition_retention_months if args.keep_months is None
                    else args.keep_months)
            if keep <= 0:
                raise CliError("no retention: give --keep-months N (N >= 1) or set "
                               "POS_HUB_PARTITION_RETENTION_MONTHS")
            if args.dry_run:
                return [f"would drop {p.name}" for p in partitions.plan_drops(found, today, keep)]
            dropped = await partitions.drop_old_partitions(session, keep, today)
            return [f"dropped {name}" + (f" ({kept} quarantined journal entries kept)"
                                         if kept else "") for name, kept in dropped.items()]
    finally:
        await db.dispose()


def _partition_line(p: Any) -> str:
    if p.default:
        return f"{p.table:<15} {p.name:<28} default (keys outside every range)"
    start = "MINVALUE" if p.start is None else p.start.isoformat()
    end = "MAXVALUE" if p.end is None else p.end.isoformat()
    return f"{p.table:<15} {p.name:<28} {start} .. {end}"


def cmd_partitions(args: argparse.Namespace) -> None:
    if args.months_ahead is not None and args.months_ahead < 0:
        raise CliError("--months-ahead must be 0 or more")
    if args.keep_months is not None and args.keep_months < 1:
        raise CliError("--keep-months must be 1 or more")
    settings = _settings(args)
    lines = asyncio.run(_partitions(settings, args))
    for line in lines:
        print(line)
    if args.action != "list" and not lines:
        print("nothing to do")


def _parser() -> argparse.ArgumentParser:
    from hub.doctor import version

    parser = argparse.ArgumentParser(prog="pos-hub", description="fnbpos head-office hub")
    parser.add_argument("--version", action="version", version=f"pos-hub {version()}")
    sub = parser.add_subparsers(dest="command", required=True)

    def with_db(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
        p.add_argument("--db", help="database URL (postgresql://... or sqlite:///path)")
        p.add_argument("--config", help="TOML settings file")
        return p

    serve = with_db(sub.add_parser("serve", help="run the HTTP server"))
    serve.add_argument("--host", default=None, help="bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default 8000)")
    serve.add_argument("--no-migrate", action="store_true", help="do not migrate on start")
    serve.set_defaults(func=cmd_serve)

    migrate = with_db(sub.add_parser("migrate", help="create or upgrade the schema"))
    migrate.set_defaults(func=cmd_migrate)

    tenant = with_db(sub.add_parser("create-tenant", help="create a tenant and its owner"))
    tenant.add_argument("--name", required=True)
    tenant.add_argument("--admin-email", required=True)
    tenant.add_argument("--admin-password", default=None,
                        help="owner password (better: POS_HUB_ADMIN_PASSWORD, or be asked)")
    tenant.set_defaults(func=cmd_create_tenant)

    outlet = with_db(sub.add_parser("create-outlet", help="create an outlet of a tenant"))
    outlet.add_argument("--tenant", required=True, help="tenant id")
    outlet.add_argument("--name", required=True)
    outlet.add_argument("--timezone", required=True, help="IANA zone, e.g. Asia/Jakarta")
    outlet.add_argument("--brand", default=None, help="brand id (default: the only brand)")
    outlet.set_defaults(func=cmd_create_outlet)

    code = with_db(sub.add_parser("enrollment-code",
                                  help="create a one-time code to provision an outlet box"))
    code.add_argument("--outlet", required=True, help="outlet id")
    code.add_argument("--ttl-minutes", type=int, default=24 * 60,
                      help="minutes the code stays valid (default 1440)")
    code.set_defaults(func=cmd_enrollment_code)

    revoke = with_db(sub.add_parser("revoke-credentials",
                                    help="revoke an outlet box's sync credential"))
    revoke.add_argument("--outlet", required=True, help="outlet id")
    revoke.set_defaults(func=cmd_revoke_credentials)

    doctor = with_db(sub.add_parser("doctor", help="check this hub and name every fault, with "
                                                   "what to do (exit 1 on a fault)"))
    doctor.add_argument("--json", action="store_true", help="print the findings as JSON")
    doctor.add_argument("--timeout", type=float, default=3.0, help="seconds per network check")
    doctor.set_defaults(func=cmd_doctor)

    users = sub.add_parser("users", help="manage head-office user accounts")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    unlock = with_db(users_sub.add_parser(
        "unlock", help="clear failed-login counters (an account from every IP, and/or an IP)"))
    unlock.add_argument("email", nargs="?", default=None, help="the account's email")
    unlock.add_argument("--ip", default=None, help="a client IP address to clear as well")
    unlock.set_defaults(func=cmd_users_unlock)

    parts = with_db(sub.add_parser(
        "partitions", help="the fact tables' monthly partitions (PostgreSQL): list them, add "
                           "the months ahead, drop those past a retention"))
    parts.add_argument("action", choices=("list", "ensure", "prune"))
    parts.add_argument("--months-ahead", type=int, default=None,
                       help="ensure: months after the current one (default: settings, 3)")
    parts.add_argument("--keep-months", type=int, default=None,
                       help="prune: months kept before the current one (default: settings)")
    parts.add_argument("--dry-run", action="store_true", help="say what would change, change "
                                                              "nothing")
    parts.set_defaults(func=cmd_partitions)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        code = args.func(args)
    except PosError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 1
    except CliError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        print(f"error: database: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return int(code or 0)


if __name__ == "__main__":
    sys.exit(main())
