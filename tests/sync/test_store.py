"""The edge's journal store (``edge.sync_state.EdgeStore``) is what ``sync.store`` declares:
every method of the interfaces, with the same parameters, over a real edge database."""

from __future__ import annotations

import asyncio
import inspect
import os
from pathlib import Path

from edge import sync_state
from edge.sync_state import EdgeStore
from sync.store import HubLink, Journal, JournalStore
from tests.sync.conftest import EdgeJournal


def _public(kind: type) -> dict[str, inspect.Signature]:
    return {name: inspect.signature(member) for name, member in vars(kind).items()
            if callable(member) and not name.startswith("_")}


def test_the_edge_implements_every_method_of_both_interfaces() -> None:
    transaction = sync_state._Transaction  # what a job is handed inside EdgeStore.read/write
    for interface, implementation in ((Journal, transaction), (JournalStore, EdgeStore)):
        declared, offered = _public(interface), _public(implementation)
        assert set(declared) <= set(offered), set(declared) - set(offered)
        for name, signature in declared.items():
            assert list(offered[name].parameters) == list(signature.parameters), name


def _config(credential: str) -> sync_state.SyncConfig:
    return sync_state.SyncConfig(hub_url="http://127.0.0.1:9", tenant_id="t-1", outlet_id="o-1",
                                 credential_id="c-1", credential=credential)


def test_hub_link_follows_sync_toml(tmp_path: Path) -> None:
    journal = EdgeJournal(tmp_path / "edge.db", "o-1")
    try:
        assert EdgeStore(journal.db).hub_link() is None  # no data folder: no link
        store = EdgeStore(journal.db, tmp_path)
        assert store.hub_link() is None  # not provisioned
        path = sync_state.write_config(tmp_path, _config("fpc_first"))
        first = store.hub_link()
        assert first == HubLink(hub_url="http://127.0.0.1:9", outlet_id="o-1",
                                credential="fpc_first")
        assert "fpc_first" not in repr(first)  # a link in a log line shows no credential
        # `pos-edge provision --reenroll` rewrites the file while the box runs
        sync_state.write_config(tmp_path, _config("fpc_second"))
        stat = path.stat()
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
        second = store.hub_link()
        assert second is not None and second.credential == "fpc_second"
        path.unlink()  # gone while running: the engine keeps the link it has
        assert store.hub_link() == second
    finally:
        journal.close()


def test_jobs_see_the_journal_and_status_through_the_store(tmp_path: Path) -> None:
    journal = EdgeJournal(tmp_path / "edge.db", "o-1")
    try:
        journal.sale([("Nasi Goreng", 25_000, 1)])
        store = journal.store

        async def go() -> tuple[int, int, int, str | None]:
            before = await store.read(lambda j: j.backlog())
            acked = await store.write(lambda j: j.mark_acked(2))
            head = await store.read(lambda j: j.head())
            return before, acked, head.backlog, await store.read(lambda j: j.first_unacked_epoch())

        before, acked, after, epoch = asyncio.run(go())
        assert (before, acked, after) == (4, 2, 2)
        assert epoch == journal.head()["epoch"]
        entries = journal.pending()
        assert [e.seq for e in entries] == [3, 4]
    finally:
        journal.close()
