"""The print queue's timing on a real edge database, with the worker sending real ESC/POS to
a fake network printer: setting a printer up again makes its waiting jobs go at once, and a
job stuck behind one that is backing off does not make the worker poll."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edge import printing, printing_repository
from edge.db import Database
from shared.schemas import PrinterCreate
from tests.fakes.escpos_printer import FakeEscposPrinter, free_port


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Database]:
    """An edge database with the receipt printer "counter" at an address nobody listens on."""
    database = Database(tmp_path / "edge.db")
    unplugged = PrinterCreate(name="counter", host="127.0.0.1", port=free_port())
    database.write_blocking(lambda c: printing.add_printer(c, unplugged, datetime.now(UTC)))
    yield database
    database.close()


def test_a_reconfigured_printer_gets_its_waiting_jobs_at_once(db: Database) -> None:
    job = db.write_blocking(lambda c: printing.kick_drawer(c, datetime.now(UTC)))
    worker = printing.PrintWorker(db)
    asyncio.run(worker.drain_once())  # nothing listens at that port: refused
    failed = db.read_now(lambda c: printing_repository.get_job(c, job.id))
    assert failed is not None and failed.status == "queued" and failed.attempts == 1
    # after many refusals the job waits long before its next try
    db.write_blocking(lambda c: printing_repository.mark_attempt_failed(
        c, job.id, "refused", datetime.now(UTC) + timedelta(minutes=5), give_up=False))
    assert asyncio.run(worker.drain_once()) > 0  # not due: nothing sent
    with FakeEscposPrinter() as printer:
        right = PrinterCreate(name="counter", host="127.0.0.1", port=printer.port)
        db.write_blocking(lambda c: printing.add_printer(c, right, datetime.now(UTC)))
        asyncio.run(worker.drain_once())
        [document] = printer.wait_for_documents(1, timeout=10)
    assert document.drawer_kicked
    printed = db.read_now(lambda c: printing_repository.get_job(c, job.id))
    assert printed is not None and printed.status == "printed"


def test_a_job_behind_a_backing_off_one_does_not_make_the_worker_poll(db: Database) -> None:
    now = datetime.now(UTC)
    head = db.write_blocking(lambda c: printing.kick_drawer(c, now))
    behind = db.write_blocking(lambda c: printing.kick_drawer(c, now + timedelta(seconds=1)))
    retry_at = now + timedelta(minutes=10)
    db.write_blocking(lambda c: printing_repository.mark_attempt_failed(
        c, head.id, "refused", retry_at, give_up=False))
    # the job behind is due by its own time, but prints only after the head
    assert db.read_now(printing_repository.next_due_at) == retry_at
    worker = printing.PrintWorker(db, idle_poll=1.0)
    assert asyncio.run(worker.drain_once()) == 1.0  # the idle poll, not 50 ms
    waiting = db.read_now(lambda c: printing_repository.get_job(c, behind.id))
    assert waiting is not None and waiting.attempts == 0  # not tried out of order
