"""HTTP routes of printing: queue a receipt or kitchen chits, list and configure printers."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request, get, post
from litestar.params import FromPath, JSONBody

from edge import orders, printing
from edge.api import deps
from shared.schemas import Printer, PrinterCreate, PrintJob, PrintRequest

__all__ = ["print_routes"]


def _wake_worker(request: Request[Any, Any, Any]) -> None:
    worker = deps.edge_state(request).print_worker
    if worker is not None:
        worker.wake()


@post("/api/v1/orders/{order_id:str}/print", tags=["printing"], status_code=202,
      guards=[deps.requires("orders:read")])
async def print_order(request: Request[Any, Any, Any], order_id: FromPath[str],
                      data: JSONBody[PrintRequest]) -> dict[str, Any]:
    def queue(conn: Any, now: datetime) -> list[PrintJob]:
        return printing.print_order(conn, orders.load_order(conn, order_id), data.kind, now)

    jobs = await deps.write(request, queue, notify=False)
    _wake_worker(request)
    return {"jobs": jobs}


@get("/api/v1/printers", tags=["printing"], guards=[deps.requires("orders:read")])
async def list_printers(request: Request[Any, Any, Any]) -> dict[str, list[Printer]]:
    return {"items": await deps.edge_state(request).db.read(printing.list_printers)}


@post("/api/v1/printers", tags=["printing"], status_code=201,
      guards=[deps.requires("printers:manage")])
async def add_printer(request: Request[Any, Any, Any], data: JSONBody[PrinterCreate]) -> Printer:
    printer = await deps.write(request, lambda c, now: printing.add_printer(c, data, now),
                               notify=False)
    _wake_worker(request)  # a reconfigured printer's queued jobs are due now
    return printer


@post("/api/v1/printers/{printer_id:str}/retry", tags=["printing"], status_code=200,
      guards=[deps.requires("printers:manage")])
async def retry_printer(request: Request[Any, Any, Any],
                        printer_id: FromPath[str]) -> dict[str, int]:
    requeued = await deps.write(request, lambda c, now: printing.retry_printer(c, printer_id, now),
                                notify=False)
    _wake_worker(request)
    return {"requeued": requeued}


print_routes: list[Any] = [print_order, list_printers, add_printer, retry_printer]
