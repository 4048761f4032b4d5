"""The fast tenant read path (issue 14, "Per request"): ``Database.reader`` and the outlet
listing served by it, the verified-token cache.

The reader runs asyncpg directly on a pooled connection, behind SQLAlchemy's back, so these
tests check what the ORM session path gave for free: RLS binds its statements (raw SQL with
no tenant filter sees one tenant), the transaction is read-only, the token-version check
ends access at once, a failed or cancelled read leaves no transaction or tenant setting on a
pooled connection, a replica that does not answer sends the read to the primary, and SQLite
gets the same answers. Through a real hub: the listing equals the single-outlet reads of the
ORM path field for field, scoped roles and other tenants see what they saw before, and a
deactivated or signed-out user's cached token stops working at once.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import psycopg
import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import DBAPIError

from hub import fleet, tenancy
from hub.db import CallerNotCurrent, Database
from hub.identity import Principal, Tokens
from hub.models import Brand, Outlet, OutletStatus, Tenant, User
from hub.schemas import OutletOut
from hub.settings import HubSettings
from shared.errors import Unauthorized
from shared.ids import new_id
from tests.hub.conftest import JWT_SECRET, TenantCtx, free_port, login

pytestmark = pytest.mark.postgres

_TENANT_OF_ROWS = text("SELECT tenant_id, name FROM outlets ORDER BY name")  # no tenant filter
_SETTING = text("SELECT current_setting('app.tenant_id', true) AS tenant, "
                "pg_backend_pid() AS pid")


async def _seed(db: Database, name: str, outlets: int = 2) -> tuple[str, str]:
    """A tenant with ``outlets`` outlets and one active user; (tenant id, user id)."""
    async with db.system() as session:
        tenant = Tenant(id=new_id(), name=name)
        session.add(tenant)
        await session.flush()
        brand = Brand(id=new_id(), tenant_id=tenant.id, name=name)
        user = User(id=new_id(), tenant_id=tenant.id, email=f"u@{name.lower()}.test",
                    password_hash="x", role="owner", token_version=3)
        session.add_all([brand, user])
        await session.flush()
        session.add_all([Outlet(id=new_id(), tenant_id=tenant.id, brand_id=brand.id,
                                name=f"{name} {i}", timezone="Asia/Jakarta",
                                settings={"n": i}) for i in range(outlets)])
    return tenant.id, user.id


@pytest.fixture(params=[False, True], ids=["statements", "pgbouncer-transaction"])
async def db(pg_roles: Any, request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    database = Database(pg_roles.app, system_url=pg_roles.system, pool_size=1,
                        pgbouncer=request.param)
    yield database
    await database.dispose()


async def test_rls_binds_the_fast_path_and_it_is_read_only(db: Database) -> None:
    alpha, _ = await _seed(db, f"A{new_id()[-6:]}", outlets=3)
    bravo, _ = await _seed(db, f"B{new_id()[-6:]}", outlets=2)
    async with db.reader(alpha) as reader:
        rows = await reader.all(_TENANT_OF_ROWS)
        assert len(rows) == 3 and {row["tenant_id"] for row in rows} == {alpha}
        assert isinstance(rows[0]["name"], str)
    async with db.reader(bravo) as reader:
        assert {row["tenant_id"] for row in await reader.all(_TENANT_OF_ROWS)} == {bravo}
    for write in ("UPDATE outlets SET name = name || '!' RETURNING id",
                  ("WITH w AS (UPDATE outlets SET name = name || '!' RETURNING id) "
                   "SELECT id FROM w")):
        with pytest.raises(DBAPIError) as refused:
            async with db.reader(alpha) as reader:
                await reader.all(text(write))
        # a syntax error on the statement path (no DML in a subquery), 25006 in a
        # READ ONLY transaction (behind PgBouncer)
        assert getattr(refused.value.orig, "sqlstate", None) in ("42601", "0A000", "25006")
    async with db.system() as session:
        names = set(await session.scalars(select(Outlet.name).where(Outlet.tenant_id == alpha)))
    assert not any(name.endswith("!") for name in names)


async def test_a_tenant_id_that_is_not_plain_is_bound_not_spliced(db: Database) -> None:
    alpha, user = await _seed(db, f"C{new_id()[-6:]}")
    hostile = f"{alpha}' OR true OR '"
    async with db.reader(hostile) as reader:
        assert await reader.all(_TENANT_OF_ROWS) == []  # bound: nobody's tenant id
    with pytest.raises(CallerNotCurrent):
        async with db.reader(alpha, caller=(f"{user}'; DROP TABLE outlets; --", 3)):
            pass
    async with db.reader(alpha) as reader:
        assert len(await reader.all(_TENANT_OF_ROWS)) == 2


async def test_the_caller_check_runs_in_the_read_transaction(db: Database) -> None:
    alpha, user = await _seed(db, f"D{new_id()[-6:]}")
    bravo, other = await _seed(db, f"E{new_id()[-6:]}")
    async with db.reader(alpha, caller=(user, 3)) as reader:
        assert len(await reader.all(_TENANT_OF_ROWS)) == 2
    for caller in ((user, 2), (user, 4), (other, 3), (new_id(), 0)):
        with pytest.raises(CallerNotCurrent):
            async with db.reader(alpha, caller=caller):
                raise AssertionError(f"{caller} was let in")
    nothing = text("SELECT id FROM outlets WHERE name = 'no such outlet'")
    with pytest.raises(CallerNotCurrent):  # an empty answer still says so
        async with db.reader(alpha, caller=(user, 2)) as reader:
            await reader.all(nothing)
    async with db.reader(alpha, caller=(user, 3)) as reader:
        assert await reader.all(nothing) == []
        assert len(await reader.all(_TENANT_OF_ROWS)) == 2  # checked once, still bound
    async with db.system() as session:
        await session.execute(update(User).where(User.id == user).values(active=False))
    with pytest.raises(CallerNotCurrent):
        async with db.reader(alpha, caller=(user, 3)):
            raise AssertionError("an inactive user was let in")
    async with db.reader(bravo, caller=(other, 3)) as reader:
        assert {row["tenant_id"] for row in await reader.all(_TENANT_OF_ROWS)} == {bravo}


async def _pooled_connection_state(db: Database) -> dict[str, Any]:
    async with db.engine.connect() as conn:
        row = (await conn.execute(_SETTING)).one()
        visible = (await conn.execute(text("SELECT count(*) FROM outlets"))).scalar_one()
        return {"tenant": row.tenant or "", "pid": row.pid, "visible": visible,
                "in_transaction": conn.in_transaction()}


def _orm_json(items: list[Any]) -> Any:
    return json.loads(msgspec.json.encode(items))


async def test_json_arrays_rendered_by_the_database_equal_the_orm_answers(db: Database) -> None:
    alpha, user = await _seed(db, f"J{new_id()[-6:]}", outlets=3)
    await _seed(db, f"K{new_id()[-6:]}", outlets=2)
    async with db.system() as session:
        outlets = list(await session.scalars(select(Outlet).where(Outlet.tenant_id == alpha)
                                             .order_by(Outlet.name)))
        # a time on a whole second (msgspec then writes no fraction), nested settings, text
        # that JSON must escape, a contact that makes one outlet online
        await session.execute(update(Outlet).where(Outlet.id == outlets[0].id).values(
            created_at=text("date_trunc('second', created_at)"),
            settings={"z": [1, {"é": "a\"b\n"}], "a": None}, address='Jl. "Ü" \\ 1'))
        session.add(OutletStatus(outlet_id=outlets[1].id, tenant_id=alpha,
                                 last_contact_at=text("now()"), reported_backlog=7,
                                 edge_version="1.2.3"))
    owner = Principal(user_id=user, tenant_id=alpha, role="owner", token_version=3)
    manager = Principal(user_id=user, tenant_id=alpha, role="area_manager", token_version=3,
                        outlet_ids=(outlets[2].id, outlets[0].id, new_id()))
    for principal in (owner, manager):
        async with db.tenant(alpha, readonly=True) as session:
            orm_outlets = [OutletOut(**{f: getattr(o, f) for f in OutletOut.__struct_fields__})
                           for o in await tenancy.list_outlets(session, principal)]
            orm_fleet = await fleet.fleet(session, principal, 300)
        async with db.reader(alpha, caller=(user, 3)) as reader:
            outlets_body = await tenancy.outlets_json(reader, principal)
            fleet_body = await fleet.fleet_json(reader, principal, 300)
        assert json.loads(outlets_body) == _orm_json(orm_outlets)
        assert json.loads(fleet_body) == _orm_json(orm_fleet)
        assert len(json.loads(outlets_body)) == (3 if principal is owner else 2)
    times = [(o["created_at"], o["updated_at"]) for o in _orm_json(orm_outlets)]
    assert any("." not in created for created, _ in times)  # the whole-second case was met
    assert [e["online"] for e in json.loads(fleet_body)] == [False, False]  # manager's two
    async with db.reader(alpha, caller=(user, 3)) as reader:
        assert await reader.json_array(tenancy._OUTLET_ROWS, OutletOut, keep=("id", [])) == b"[]"
    with pytest.raises(CallerNotCurrent):  # checked by the rendering statement too
        async with db.reader(new_id(), caller=(user, 3)) as reader:
            await reader.json_array(tenancy._OUTLET_ROWS, OutletOut)


async def test_clean_connections_are_kept_between_reads(pg_roles: Any) -> None:
    database = Database(pg_roles.app, system_url=pg_roles.system, pool_size=4)
    try:
        alpha, _ = await _seed(database, f"P{new_id()[-6:]}")
        assert database.park_max == 2

        async def read(pause: float = 0) -> int:
            async with database.reader(alpha) as reader:
                await asyncio.sleep(pause)
                return (await reader.first(_SETTING))["pid"]  # type: ignore[index]

        pids = await asyncio.gather(*(read(0.2) for _ in range(3)))  # three at once
        kept = database.parked[database.engine]
        assert len(set(pids)) == 3 and len(kept) == 2  # the third went back to the pool
        assert database.engine.pool.checkedout() == 2  # type: ignore[attr-defined]
        for fairy in kept:  # neither a transaction nor the tenant left on them
            connection = fairy.driver_connection
            assert not connection.is_in_transaction()
            assert (await connection.fetchval(
                "SELECT current_setting('app.tenant_id', true)")) in ("", None)
        assert await read() in pids  # a kept one
        with pytest.raises(DBAPIError):
            async with database.reader(alpha) as reader:
                await reader.all(text("SELECT no_such_column FROM outlets"))
        assert len(database.parked[database.engine]) == 2  # still clean, kept again
        kept[0].driver_connection.terminate()  # closed while kept (a restarted server)
        assert len(await asyncio.gather(read(), read())) == 2
    finally:
        await database.dispose()
    assert database.parked == {}
    assert database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_a_failed_read_leaves_the_pooled_connection_clean(db: Database) -> None:
    alpha, user = await _seed(db, f"F{new_id()[-6:]}")
    with pytest.raises(ZeroDivisionError):
        async with db.reader(alpha) as reader:
            pid = (await reader.first(_SETTING))["pid"]  # type: ignore[index]
            _ = 1 / 0
    state = await _pooled_connection_state(db)
    # the same connection (pool of 1), with neither the tenant nor its rows left on it
    assert state["pid"] == pid and state["tenant"] == "" and state["visible"] == 0
    with pytest.raises(DBAPIError):
        async with db.reader(alpha) as reader:
            await reader.all(text("SELECT no_such_column FROM outlets"))
    with pytest.raises(CallerNotCurrent):
        async with db.reader(alpha, caller=(user, 99)):
            pass
    state = await _pooled_connection_state(db)
    assert state["pid"] == pid and state["tenant"] == "" and state["visible"] == 0
    async with db.reader(alpha) as reader:
        assert len(await reader.all(_TENANT_OF_ROWS)) == 2
    assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]


_PLANNER = text("SELECT current_setting('enable_nestloop') AS nestloop, "
                "current_setting('jit') AS jit, pg_backend_pid() AS pid, "
                "current_setting('transaction_read_only') AS read_only")


async def test_planner_settings_hold_for_the_rest_of_the_block_only(db: Database) -> None:
    """The fast sales report plans its live statements with ``LIVE_PLAN_SETTINGS``
    (``TenantReader.set_local``): in force for the block's later statements, read-only,
    still under RLS, and gone from the connection afterwards."""
    alpha, user = await _seed(db, f"S{new_id()[-6:]}")
    async with db.reader(alpha, caller=(user, 3)) as reader:
        before = await reader.first(_PLANNER)
        await reader.set_local([("enable_nestloop", "off"), ("jit", "off")])
        after = await reader.first(_PLANNER)
        assert len(await reader.all(_TENANT_OF_ROWS)) == 2  # still this tenant's rows only
    with pytest.raises(DBAPIError):  # (a block of its own: a failed statement rolls back)
        async with db.reader(alpha) as reader:
            await reader.set_local([("jit", "off")])
            await reader.all(text("WITH w AS (UPDATE outlets SET name = name RETURNING id) "
                                  "SELECT id FROM w"))
    assert before["nestloop"] == "on"  # type: ignore[index]
    assert after["nestloop"] == "off" and after["jit"] == "off"  # type: ignore[index]
    assert after["read_only"] == "on"  # type: ignore[index]
    async with db.reader(alpha) as reader:  # the same connection (pool of 1), clean again
        again = await reader.first(_PLANNER)
    assert again["pid"] == after["pid"] and again["nestloop"] == "on"  # type: ignore[index]
    state = await _pooled_connection_state(db)
    assert state["pid"] == after["pid"]  # type: ignore[index]
    assert state["tenant"] == "" and state["visible"] == 0


async def test_a_cancelled_read_drops_its_connection(db: Database) -> None:
    alpha, _ = await _seed(db, f"G{new_id()[-6:]}")
    started = asyncio.Event()

    async def slow() -> None:
        async with db.reader(alpha) as reader:
            started.set()
            await reader.all(text("SELECT pg_sleep(30)"))

    task = asyncio.create_task(slow())
    await asyncio.wait_for(started.wait(), 30)
    await asyncio.sleep(0.3)
    task.cancel()
    began = time.monotonic()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.monotonic() - began < 10
    assert db.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    state = await _pooled_connection_state(db)
    assert state["tenant"] == "" and state["visible"] == 0
    async with db.reader(alpha) as reader:
        assert len(await reader.all(_TENANT_OF_ROWS)) == 2


async def test_a_replica_that_does_not_answer_sends_the_read_to_the_primary(
        pg_roles: Any) -> None:
    dead = pg_roles.app.replace("127.0.0.1:5432", f"127.0.0.1:{free_port()}")
    database = Database(pg_roles.app, system_url=pg_roles.system, read_url=dead, pool_size=1)
    try:
        alpha, _ = await _seed(database, f"H{new_id()[-6:]}")
        async with database.reader(alpha) as reader:
            assert len(await reader.all(_TENANT_OF_ROWS)) == 2
        assert database.reads.counts == {"replica": 0, "primary": 0, "fallback": 1}
        async with database.reader(alpha) as reader:  # within the retry pause: no new try
            assert len(await reader.all(_TENANT_OF_ROWS)) == 2
        assert database.reads.counts["fallback"] == 2
    finally:
        await database.dispose()


async def test_a_dead_pooled_replica_connection_moves_the_read_to_the_primary(
        pg_roles: Any, pg_url: str) -> None:
    # The "replica" is the primary under another URL: its pool is the one that goes stale.
    replica = pg_roles.app + "?prepared_statement_cache_size=99"
    database = Database(pg_roles.app, system_url=pg_roles.system, read_url=replica,
                        pool_size=1)
    try:
        alpha, user = await _seed(database, f"R{new_id()[-6:]}")
        async with database.reader(alpha) as reader:
            pid = (await reader.first(_SETTING))["pid"]  # type: ignore[index]
        assert database.reads.counts["replica"] == 1
        with psycopg.connect(pg_url, autocommit=True) as conn:  # the replica restarts
            assert conn.execute("SELECT pg_terminate_backend(%s)", (pid,)).fetchone() == (True,)
        await asyncio.sleep(0.2)
        async with database.reader(alpha, caller=(user, 3)) as reader:
            rows = await reader.all(_TENANT_OF_ROWS)
            assert (await reader.first(_SETTING))["pid"] != pid  # type: ignore[index]
        assert len(rows) == 2 and {row["tenant_id"] for row in rows} == {alpha}
        assert database.reads.counts == {"replica": 1, "primary": 0, "fallback": 1}
        assert database.read_engine.pool.checkedout() == 0  # type: ignore[attr-defined]
        assert database.engine.pool.checkedout() == 0  # type: ignore[attr-defined]
    finally:
        await database.dispose()


async def test_sqlite_reader_gives_the_same_answers(sqlite_url: str) -> None:
    database = Database(sqlite_url)
    try:
        alpha, user = await _seed(database, f"S{new_id()[-6:]}", outlets=3)
        await _seed(database, f"T{new_id()[-6:]}", outlets=1)
        from hub.tenancy import _OUTLET_ROWS

        async with database.reader(alpha, caller=(user, 3)) as reader:
            rows = await reader.all(_OUTLET_ROWS)
        assert [row["name"] for row in rows] == [f"{rows[0]['name'][:-2]} {i}" for i in range(3)]
        assert [row["settings"] for row in rows] == [{"n": 0}, {"n": 1}, {"n": 2}]
        assert rows[0]["created_at"].tzinfo is not None
        with pytest.raises(CallerNotCurrent):
            async with database.reader(alpha, caller=(user, 2)):
                pass
        owner = Principal(user_id=user, tenant_id=alpha, role="owner", token_version=3)
        async with database.tenant(alpha, readonly=True) as session:
            orm_fleet = await fleet.fleet(session, owner, 300)
        async with database.reader(alpha, caller=(user, 3)) as reader:
            outlets = json.loads(await tenancy.outlets_json(reader, owner))
            fleet_body = await fleet.fleet_json(reader, owner, 300)
        assert [o["settings"] for o in outlets] == [{"n": 0}, {"n": 1}, {"n": 2}]
        assert outlets[0]["created_at"].endswith("Z")
        assert json.loads(fleet_body) == _orm_json(orm_fleet)
    finally:
        await database.dispose()


def test_verified_tokens_are_cached_only_until_they_expire() -> None:
    tokens = Tokens(HubSettings(jwt_secret=JWT_SECRET, access_ttl_seconds=1))
    user = User(id=new_id(), tenant_id=new_id(), email="a@b.test", role="owner",
                token_version=0)
    token = tokens.issue_access(user, None)
    first = tokens.principal(token)
    assert tokens.principal(token) is first  # from the cache
    with pytest.raises(Unauthorized):
        tokens.principal(token[:-2] + ("AA" if not token.endswith("AA") else "BB"))
    time.sleep(2.1)  # exp has whole seconds
    with pytest.raises(Unauthorized, match="expired"):
        tokens.principal(token)
    tokens.MAX_CACHED = 3
    for _ in range(5):
        tokens.principal(Tokens(HubSettings(jwt_secret=JWT_SECRET)).issue_access(user, None))
    assert len(tokens._verified) <= 3


# ---------------------------------------------------------------- through a real hub


def test_listing_equals_the_orm_reads_and_keeps_scopes(tenant: TenantCtx,
                                                       other_tenant: TenantCtx) -> None:
    made = [tenant.create_outlet(f"RP {name}", settings={"kitchen_trigger": "place", "k": name},
                                 address=f"Jl. {name} 1") for name in ("b", "a", "c")]
    foreign = other_tenant.create_outlet("RP foreign")
    listed = tenant.client.get("/api/v1/outlets")
    assert listed.status_code == 200, listed.text
    items = listed.json()["items"]
    assert foreign["id"] not in {item["id"] for item in items}
    assert [(i["name"], i["id"]) for i in items] == sorted((i["name"], i["id"]) for i in items)
    for item in items:
        single = tenant.client.get(f"/api/v1/outlets/{item['id']}")  # the ORM path
        assert single.json() == item
    mine = {item["id"]: item for item in items}
    assert all(mine[m["id"]] == m for m in made)

    _, manager = tenant.create_user("area_manager", outlet_ids=[made[0]["id"], made[2]["id"]])
    scoped = manager.get("/api/v1/outlets").json()["items"]
    assert [i["id"] for i in scoped] == [made[0]["id"], made[2]["id"]]  # "RP b", "RP c"
    assert foreign["id"] in {i["id"] for i in other_tenant.client.get("/api/v1/outlets")
                             .json()["items"]}
    assert made[0]["id"] not in {i["id"] for i in other_tenant.client.get("/api/v1/outlets")
                                 .json()["items"]}


def test_a_cached_token_stops_at_once_on_deactivation_and_logout(tenant: TenantCtx) -> None:
    user, admin = tenant.create_user("hq_admin")
    for _ in range(3):  # verified once, then served from the cache
        assert admin.get("/api/v1/outlets").status_code == 200
    changed = tenant.client.patch(f"/api/v1/users/{user['id']}", json={"active": False})
    assert changed.status_code == 200, changed.text
    ended = admin.get("/api/v1/outlets")
    assert ended.status_code == 401 and ended.json()["error"]["code"] == "session_ended"

    other, _ = tenant.create_user("hq_admin", password="password-456")
    pair = login(tenant.server, other["email"], "password-456")
    with tenant.server.client(pair["access_token"]) as client:
        assert client.get("/api/v1/outlets").status_code == 200
        out = httpx.post(tenant.server.base_url + "/api/v1/auth/logout",
                         json={"refresh_token": pair["refresh_token"]}, timeout=30)
        assert out.status_code in (200, 204), out.text
        ended = client.get("/api/v1/outlets")
        assert ended.status_code == 401 and ended.json()["error"]["code"] == "session_ended"


def test_the_fast_pull_answers_what_the_full_path_does(tenant: TenantCtx) -> None:
    """A caught-up pull (hub.pull_fast) equals the full feed's empty page field for field;
    a change, a lost cursor, a kind it does not build or a revoked credential goes to the
    full path (None), and the revoked credential is refused at once through the hub."""
    from hub import pull_fast
    from hub.ingest import enrollment, feed
    from sync.protocol import PullResponse, decode_frame
    from tests.sync.conftest import enroll, issue_code, publish_catalog

    outlet = tenant.create_outlet("Fast pull")
    publish_catalog(tenant, [("Nasi", 25000)])
    staff = tenant.client.post("/api/v1/staff", json={"name": "Dewi", "role": "cashier",
                                                      "pin": "314159",
                                                      "outlet_ids": [outlet["id"]]})
    assert staff.status_code == 201, staff.text
    token = enroll(tenant.server.base_url,
                   issue_code(tenant, outlet["id"]).json()["code"]).credential
    kinds = frozenset({"catalog", "staff", "settings"})

    async def answers(cursor: int, asked: frozenset[str] = kinds
                      ) -> tuple[PullResponse | None, PullResponse]:
        db = Database(tenant.server.db_url, pool_size=2)
        try:
            fast, _ = await pull_fast.caught_up(db, token, cursor, False, asked)
            who = await enrollment.authenticate(db, token)
            full = await feed.outlet_feed(db, who, cursor, kinds=asked)
            return fast, full
        finally:
            await db.dispose()

    # the first pull through the hub: it derives the staff's PIN verifiers for this outlet
    first = decode_frame(httpx.get(f"{tenant.server.base_url}/api/v1/sync/pull",
                                   params={"cursor": 0, "kinds": "catalog,staff,settings"},
                                   headers={"Authorization": f"Bearer {token}"}).content,
                         PullResponse)
    assert {c.kind for c in first.changes} == set(kinds)
    roster = next(c.staff for c in first.changes if c.kind == "staff")
    assert roster is not None and [s.name for s in roster.staff] == ["Dewi"]
    head = first.cursor
    assert asyncio.run(answers(0))[0] is None  # changes to send: the full path
    fast, full = asyncio.run(answers(head))
    assert fast is not None and full.changes == [] and fast.changes == []
    assert msgspec.structs.replace(fast, hub_time=full.hub_time) == full
    assert set(fast.checksums) == set(kinds) and fast.cursor == head
    assert asyncio.run(answers(head + 1))[0] is None  # lost cursor: the full path repairs it
    assert asyncio.run(answers(head, frozenset({"catalog", "floor"})))[0] is None
    # through the hub: the fast page decodes to the full path's
    reply = httpx.get(f"{tenant.server.base_url}/api/v1/sync/pull",
                      params={"cursor": head, "kinds": "catalog,staff,settings"},
                      headers={"Authorization": f"Bearer {token}"})
    assert reply.status_code == 200
    served = decode_frame(reply.content, PullResponse)
    assert msgspec.structs.replace(served, hub_time=full.hub_time) == full

    renamed = tenant.client.patch(f"/api/v1/staff/{staff.json()['id']}", json={"name": "Dewi S"})
    assert renamed.status_code == 200, renamed.text
    fast, full = asyncio.run(answers(head))
    assert fast is None and [c.kind for c in full.changes] == ["staff"]

    revoked = tenant.client.post(f"/api/v1/outlets/{outlet['id']}/sync-credentials/revoke")
    assert revoked.status_code in (200, 204), revoked.text
    # revoked: no page and no outlet, so the full path checks the credential and refuses it
    assert asyncio.run(_fast_only(tenant.server.db_url, token, full.cursor)) == (None, None)
    refused = httpx.get(f"{tenant.server.base_url}/api/v1/sync/pull",
                        params={"cursor": full.cursor, "kinds": "catalog,staff,settings"},
                        headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 401 or refused.status_code == 403, refused.text
    assert "revoked" in refused.text


async def _fast_only(db_url: str, token: str, cursor: int) -> Any:
    from hub import pull_fast

    db = Database(db_url, pool_size=2)
    try:
        return await pull_fast.caught_up(db, token, cursor, False,
                                         frozenset({"catalog", "staff", "settings"}))
    finally:
        await db.dispose()
