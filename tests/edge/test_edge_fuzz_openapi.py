"""Fuzz every operation of the edge's OpenAPI schema on a real ``pos-edge serve`` (issue 9).

schemathesis (tests/openapi_fuzz.py) runs examples, coverage, fuzzing and the stateful phase
against ``/schema/openapi.json`` with a manager's staff token, on a demo edge seeded with
orders (placed, paid), kitchen tickets, two open shifts (on other tills) and a printer, whose
ids it is given alongside the menu's product and option ids and a few small amounts.
Expected: no 5xx, every error in the project's shape, every 2xx as documented, and the fuzzer
reaching the real handlers (2xx answers from the operations that change orders, tickets,
shifts and printers).

No operation is excluded, and every generated request is sent. Three are redirected
(``redirect`` below) so the handlers behind them stay reachable for the whole run: a void of
the seeded unpaid orders that take payments voids one order kept for voids instead, a payment
of that order or of the paid one pays an unpaid order instead, and a close of the shift that
takes cash movements closes a spare shift instead. The print worker is off
(``POS_EDGE_PRINT_WORKER_ENABLED=false``): the fuzzer creates printers at hosts and ports it
makes up, and the test must not send ESC/POS bytes to whatever listens there; queueing print
jobs is still fuzzed.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.cli_in_process import pos_edge
from tests.edge.edge_server import EdgeServer
from tests.openapi_fuzz import fuzz

# Operations that must answer 2xx at least once: proof the seeded ids reach real handlers.
MUST_REACH = {
    "POST /api/v1/orders",
    "GET /api/v1/orders/{order_id}",
    "POST /api/v1/orders/{order_id}/payments",
    "POST /api/v1/orders/{order_id}/void",
    "POST /api/v1/orders/{order_id}/print",
    "PUT /api/v1/menu/products/{product_id}/availability",
    "POST /api/v1/kitchen/tickets/{ticket_id}/bump",
    "POST /api/v1/shifts",
    "GET /api/v1/shifts/{shift_id}/report",
    "POST /api/v1/shifts/{shift_id}/cash-movements",
    "POST /api/v1/shifts/{shift_id}/close",
    "POST /api/v1/printers",
}

# Operations of MUST_REACH that answer 2xx to few generated requests get more of them than the
# others' 5 (examples per operation in the fuzzing phase; the coverage phase sends every case
# the schema defines whatever the count): an order needs real products with options of their
# own, a payment an unpaid order and an amount it takes, a void or print a real order.
MORE_EXAMPLES = {
    "POST /api/v1/orders": 20,
    "POST /api/v1/orders/{order_id}/payments": 20,
    "POST /api/v1/orders/{order_id}/void": 15,
    "POST /api/v1/orders/{order_id}/print": 10,
}


def _pair_till(server: EdgeServer, name: str) -> str:
    """A cashier device paired with ``pos-edge pair`` run in this process (the command
    ``server.pair`` starts, without a Python start-up)."""
    done = pos_edge("pair", "--data-dir", str(server.data_dir), "--role", "cashier",
                    "--name", name, env=server.env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1].strip()


@pytest.fixture(scope="module")
def seeded_edge(tmp_path_factory: pytest.TempPathFactory
                ) -> Iterator[tuple[EdgeServer, dict[str, Any]]]:
    # a copy of the test process's demo edge (EdgeServer's template): no init of its own
    server = EdgeServer(tmp_path_factory.mktemp("fuzz") / "edge")
    server.env["POS_EDGE_PRINT_WORKER_ENABLED"] = "false"
    server.start()
    manager = server.login("manager")
    menu = server.menu()
    simple = [p["id"] for p in menu["products"] if not p["modifier_group_ids"]]
    orders = [server.call("POST", "/api/v1/orders", server.tokens["kiosk"],
                          json={"type": "takeaway", "lines": [{"product_id": pid, "qty": 1}]})
              for pid in (simple * 6)[:6]]
    server.call("POST", f"/api/v1/orders/{orders[0]['id']}/payments", manager,
                json={"method": "cash", "amount": orders[0]["total"], "tendered": 0})
    shifts = []
    for till in ("till-2", "till-3"):  # the fuzzer's own till opens its shifts itself
        token = server.login_pin(server.pins["manager"], _pair_till(server, till))
        shifts.append(server.call("POST", "/api/v1/shifts", token,
                                  json={"opening_float": 50000})["id"])
    printer = server.call("POST", "/api/v1/printers", manager,
                          json={"name": "Kitchen", "host": "192.0.2.1", "role": "kitchen"})
    tickets = server.call("GET", "/api/v1/kitchen/tickets", manager)["items"]
    ids: dict[str, Any] = {
        "manager": manager,
        "products": [p["id"] for p in menu["products"]],
        "options": [o["id"] for g in menu["modifier_groups"] for o in g["options"]],
        "orders": [o["id"] for o in orders], "tickets": [t["id"] for t in tickets],
        "shifts": shifts, "printers": [printer["id"]], "amounts": [500, 1000, 5000],
        "tenders": [0, 100000],
        # methods a payment needs nothing more for (a card needs the terminal's reference):
        # without them the fuzzing phase's payments were all card ones, refused 400
        "methods": ["cash", "qris"],
        # orders[0] is paid, orders[3] is the one voids reach, the others take payments
        "redirect": [
            *({"method": "POST", "path": "/api/v1/orders/{order_id}/void", "param": "order_id",
               "value": order["id"], "instead": orders[3]["id"],
               "why": "keeps the unpaid orders for payments"}
              for order in (orders[1], orders[2], orders[4], orders[5])),
            *({"method": "POST", "path": "/api/v1/orders/{order_id}/payments",
               "param": "order_id", "value": order["id"], "instead": orders[4]["id"],
               "why": "the paid order takes no more payments, the voids' order is kept unpaid"}
              for order in (orders[0], orders[3])),
            {"method": "POST", "path": "/api/v1/shifts/{shift_id}/close", "param": "shift_id",
             "value": shifts[0], "instead": shifts[1],
             "why": "keeps an open shift for cash movements"}],
    }
    yield server, ids
    server.stop()


def test_fuzzing_the_edge_schema_finds_no_server_error(seeded_edge, tmp_path: Path) -> None:
    server, ids = seeded_edge
    assert ids["tickets"], "the seeded orders went to the kitchen"
    started = time.monotonic()
    run = fuzz(server.base_url, tmp_path, token=ids["manager"], max_examples=5, max_steps=10,
               max_scenarios=3,
               dictionaries={name: ids[name] for name in ("products", "options", "orders",
                                                           "tickets", "shifts", "printers",
                                                           "amounts", "tenders", "methods")},
               parameters={"path.product_id": "products", "body.lines[*].product_id": "products",
                           "body.lines[*].modifiers[*]": "options", "path.order_id": "orders",
                           "path.ticket_id": "tickets", "path.shift_id": "shifts",
                           "path.printer_id": "printers", "body.amount": "amounts",
                           "body.tendered": "tenders",
                           "body.method": "methods"},
               operations=[{"include-name": name, "generation": {"max-examples": examples}}
                           for name, examples in MORE_EXAMPLES.items()],
               redirect=ids["redirect"])
    elapsed = time.monotonic() - started
    print(f"edge fuzz: {run.report['test_cases']['generated']} cases in {elapsed:.1f} s")
    assert run.failures == [], run.summary()
    assert run.returncode == 0, run.summary()
    operations = run.report["operations"]
    assert operations["tested"] == operations["total"] == operations["selected"], operations
    assert run.report["phases"]["stateful"]["status"] == "success", run.report["phases"]
    assert MUST_REACH <= run.accepted(), sorted(MUST_REACH - run.accepted())
    assert server.proc is not None and server.proc.poll() is None, "the edge is still serving"


BROKEN_SCHEMA = {"openapi": "3.1.0", "info": {"title": "broken", "version": "1"}, "paths": {
    "/api/v1/boom": {"get": {
        "parameters": [{"name": "n", "in": "query", "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "ok"}}}}}}


class _Broken(BaseHTTPRequestHandler):
    """An API of one operation that answers 500 in the project's error shape."""

    def do_GET(self) -> None:
        if self.path.startswith("/schema/openapi.json"):
            status, body = 200, BROKEN_SCHEMA
        else:
            status, body = 500, {"error": {"code": "internal", "message": "boom", "details": {}}}
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


def test_the_fuzz_run_fails_on_a_server_error(tmp_path: Path) -> None:
    """The harness itself: a 500, even one in the project's error shape, fails the run."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Broken)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        run = fuzz(f"http://127.0.0.1:{server.server_address[1]}", tmp_path, token="x",
                   max_examples=5)
    finally:
        server.shutdown()
    assert run.returncode != 0
    server_errors = [f for f in run.failures if f["code"] == "ST101"]  # "Server error"
    assert server_errors and "GET /api/v1/boom" in server_errors[0]["operations"], run.failures
