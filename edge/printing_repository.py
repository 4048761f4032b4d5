"""SQL for printers and the durable print queue (migration 0006)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from shared.schemas import Printer, PrintJob

__all__ = [
    "due_jobs",
    "get_job",
    "get_printer",
    "insert_job",
    "jobs_of_order",
    "list_printers",
    "mark_attempt_failed",
    "mark_printed",
    "printers_for",
    "retry_failed",
    "set_printer_status",
    "upsert_printer",
]


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _printer(row: sqlite3.Row) -> Printer:
    return Printer(
        id=row["id"], name=row["name"], host=row["host"], port=row["port"], role=row["role"],
        station=row["station"], enabled=bool(row["enabled"]), status=row["status"],
        last_error=row["last_error"][:200], last_ok_at=_dt(row["last_ok_at"]),
        queued_jobs=row["queued_jobs"], failed_jobs=row["failed_jobs"],
    )


_PRINTER_SELECT = (
    "SELECT p.*,"
    " (SELECT COUNT(*) FROM print_jobs j WHERE j.printer_id = p.id AND j.status = 'queued')"
    " AS queued_jobs,"
    " (SELECT COUNT(*) FROM print_jobs j WHERE j.printer_id = p.id AND j.status = 'failed')"
    " AS failed_jobs FROM printers p"
)


def upsert_printer(conn: sqlite3.Connection, printer_id: str, data: dict[str, Any],
                   now: datetime) -> None:
    """Insert or update by name (a printer's name is how staff know it)."""
    conn.execute(
        "INSERT INTO printers (id, name, host, port, role, station, enabled, created_at, updated_at)"
        " VALUES (:id, :name, :host, :port, :role, :station, :enabled, :now, :now)"
        " ON CONFLICT (name) DO UPDATE SET host = excluded.host, port = excluded.port,"
        " role = excluded.role, station = excluded.station, enabled = excluded.enabled,"
        " status = 'unknown', updated_at = excluded.updated_at",
        {**data, "id": printer_id, "enabled": int(data["enabled"]), "now": now.isoformat()},
    )


def get_printer(conn: sqlite3.Connection, printer_id: str) -> Printer | None:
    row = conn.execute(f"{_PRINTER_SELECT} WHERE p.id = ?", (printer_id,)).fetchone()
    return _printer(row) if row else None


def get_printer_by_name(conn: sqlite3.Connection, name: str) -> Printer | None:
    row = conn.execute(f"{_PRINTER_SELECT} WHERE p.name = ?", (name,)).fetchone()
    return _printer(row) if row else None


def list_printers(conn: sqlite3.Connection) -> list[Printer]:
    return [_printer(r) for r in conn.execute(f"{_PRINTER_SELECT} ORDER BY p.role, p.name")]


def printers_for(conn: sqlite3.Connection, role: str) -> list[Printer]:
    return [_printer(r) for r in conn.execute(
        f"{_PRINTER_SELECT} WHERE p.role = ? AND p.enabled = 1 ORDER BY p.name", (role,))]


def insert_job(conn: sqlite3.Connection, job: PrintJob, payload: bytes) -> None:
    conn.execute(
        "INSERT INTO print_jobs (id, printer_id, order_id, kind, payload, status, attempts,"
        " next_attempt_at, created_at) VALUES (?, ?, ?, ?, ?, 'queued', 0, ?, ?)",
        (job.id, job.printer_id, job.order_id, job.kind, payload, job.created_at.isoformat(),
         job.created_at.isoformat()),
    )


def _job(row: sqlite3.Row) -> PrintJob:
    return PrintJob(id=row["id"], printer_id=row["printer_id"], order_id=row["order_id"],
                    kind=row["kind"], status=row["status"], attempts=row["attempts"],
                    last_error=row["last_error"][:200],
                    created_at=datetime.fromisoformat(row["created_at"]),
                    printed_at=_dt(row["printed_at"]))


def get_job(conn: sqlite3.Connection, job_id: str) -> PrintJob | None:
    row = conn.execute("SELECT * FROM print_jobs WHERE id = ?", (job_id,)).fetchone()
    return _job(row) if row else None


def jobs_of_order(conn: sqlite3.Connection, order_id: str) -> list[PrintJob]:
    return [_job(r) for r in conn.execute(
        "SELECT * FROM print_jobs WHERE order_id = ? ORDER BY created_at, id", (order_id,))]


def due_jobs(conn: sqlite3.Connection, now: datetime) -> list[tuple[PrintJob, Printer, bytes]]:
    """Per printer, its oldest queued job if that one is due (jobs print in queue order)."""
    rows = conn.execute(
        "SELECT j.*, j.id AS job_id FROM print_jobs j JOIN printers p ON p.id = j.printer_id"
        " WHERE j.status = 'queued' AND p.enabled = 1 AND j.rowid = ("
        "   SELECT j2.rowid FROM print_jobs j2 WHERE j2.printer_id = j.printer_id"
        "   AND j2.status = 'queued' ORDER BY j2.created_at, j2.rowid LIMIT 1)"
        " AND j.next_attempt_at <= ?", (now.isoformat(),)).fetchall()
    found = []
    for row in rows:
        printer = get_printer(conn, row["printer_id"])
        if printer is not None:
            found.append((_job(row), printer, bytes(row["payload"])))
    return found


def next_due_at(conn: sqlite3.Connection) -> datetime | None:
    """When the next job can go: the earliest of each enabled printer's oldest queued job
    (a job behind one that is backing off waits for it, so its own time does not count)."""
    row = conn.execute(
        "SELECT MIN(j.next_attempt_at) FROM print_jobs j JOIN printers p ON p.id = j.printer_id"
        " WHERE j.status = 'queued' AND p.enabled = 1 AND j.rowid = ("
        "   SELECT j2.rowid FROM print_jobs j2 WHERE j2.printer_id = j.printer_id"
        "   AND j2.status = 'queued' ORDER BY j2.created_at, j2.rowid LIMIT 1)").fetchone()
    return _dt(row[0])


def retry_queued_now(conn: sqlite3.Connection, printer_id: str, now: datetime) -> int:
    """A printer's queued jobs due at once with their back-off forgotten (it was set up
    again: a new address, or switched on)."""
    return conn.execute(
        "UPDATE print_jobs SET attempts = 0, next_attempt_at = ?"
        " WHERE printer_id = ? AND status = 'queued'", (now.isoformat(), printer_id)).rowcount


def mark_printed(conn: sqlite3.Connection, job_id: str, now: datetime) -> None:
    conn.execute("UPDATE print_jobs SET status = 'printed', attempts = attempts + 1,"
                 " printed_at = ?, last_error = '' WHERE id = ?", (now.isoformat(), job_id))


def mark_attempt_failed(conn: sqlite3.Connection, job_id: str, error: str,
                        next_attempt_at: datetime, give_up: bool) -> None:
    conn.execute(
        "UPDATE print_jobs SET attempts = attempts + 1, last_error = ?, next_attempt_at = ?,"
        " status = CASE WHEN ? THEN 'failed' ELSE status END WHERE id = ?",
        (error[:500], next_attempt_at.isoformat(), int(give_up), job_id))


def set_printer_status(conn: sqlite3.Connection, printer_id: str, ok: bool, error: str,
                       now: datetime) -> None:
    if ok:
        conn.execute("UPDATE printers SET status = 'ok', last_error = '', last_ok_at = ?"
                     " WHERE id = ?", (now.isoformat(), printer_id))
    else:
        conn.execute("UPDATE printers SET status = 'error', last_error = ? WHERE id = ?",
                     (error[:500], printer_id))


def retry_failed(conn: sqlite3.Connection, printer_id: str, now: datetime) -> int:
    return conn.execute(
        "UPDATE print_jobs SET status = 'queued', attempts = 0, next_attempt_at = ?"
        " WHERE printer_id = ? AND status = 'failed'", (now.isoformat(), printer_id)).rowcount
