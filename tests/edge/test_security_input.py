"""Security issue 9, M7 and Low: what the edge accepts, through a real edge.

* Every text field of every input Struct refuses NUL and the other control characters with
  a 400 naming the field (a NUL used to be accepted here and then quarantined forever by the
  PostgreSQL hub); a line break only where a line break is legitimate (notes).
* Bodies are decoded strictly, as docs/api.md promises: ``"qty": "2"`` used to be taken as 2
  and answered 201.
* A body nested 1,000 deep is a 400, not a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import msgspec
import pytest

import edge.app  # noqa: F401 - registers every route's input Structs
from edge.api.auth import LoginRequest
from edge.app import JSON_MAX_BODY_BYTES
from shared.schemas import MAX_OPTIONS_PER_LINE, InputStruct
from tests.edge.edge_server import EdgeServer
from tests.edge.test_orders import place

ORDER: dict[str, Any] = {"type": "takeaway", "lines": [{"product_id": "p-air-mineral"}]}

Body = Callable[[str], dict[str, Any]]

# (Struct, field, method, path, who, body with the value in that field, details.field)
CASES: list[tuple[str, str, str, str, str, Body, str]] = [
    ("OrderCreate", "note", "POST", "/api/v1/orders", "kiosk",
     lambda v: {**ORDER, "note": v}, "note"),
    ("OrderCreate", "customer_name", "POST", "/api/v1/orders", "kiosk",
     lambda v: {**ORDER, "customer_name": v}, "customer_name"),
    ("OrderCreate", "table", "POST", "/api/v1/orders", "kiosk",
     lambda v: {**ORDER, "table": v}, "table"),
    ("OrderCreate", "discount_reason", "POST", "/api/v1/orders", "manager",
     lambda v: {**ORDER, "discount": 100, "discount_reason": v}, "discount_reason"),
    ("OrderLineCreate", "note", "POST", "/api/v1/orders", "kiosk",
     lambda v: {"type": "takeaway", "lines": [{"product_id": "p-air-mineral", "note": v}]},
     "lines[0].note"),
    ("OrderLineCreate", "product_id", "POST", "/api/v1/orders", "kiosk",
     lambda v: {"type": "takeaway", "lines": [{"product_id": v}]}, "lines[0].product_id"),
    ("OrderLineCreate", "modifiers", "POST", "/api/v1/orders", "kiosk",
     lambda v: {"type": "takeaway", "lines": [{"product_id": "p-nasi-goreng", "modifiers": [v]}]},
     "lines[0].modifiers"),
    ("PaymentCreate", "reference", "POST", "/api/v1/orders/{order}/payments", "manager",
     lambda v: {"method": "card", "amount": 1, "reference": v}, "reference"),
    ("OrderVoid", "reason", "POST", "/api/v1/orders/{order}/void", "manager",
     lambda v: {"reason": v}, "reason"),
    ("CashMovementCreate", "reason", "POST", "/api/v1/shifts/{shift}/cash-movements", "manager",
     lambda v: {"direction": "in", "amount": 1, "reason": v}, "reason"),
    ("PrinterCreate", "name", "POST", "/api/v1/printers", "manager",
     lambda v: {"name": v, "host": "127.0.0.1"}, "name"),
    ("PrinterCreate", "host", "POST", "/api/v1/printers", "manager",
     lambda v: {"name": "p", "host": v}, "host"),
    ("PrinterCreate", "station", "POST", "/api/v1/printers", "manager",
     lambda v: {"name": "p", "host": "127.0.0.1", "role": "kitchen", "station": v}, "station"),
    ("LoginRequest", "pin", "POST", "/api/v1/auth/login", "cashier",
     lambda v: {"pin": v}, "pin"),
    ("DiscountCreate", "reason", "POST", "/api/v1/orders/{order}/discount", "manager",
     lambda v: {"percent": 10, "reason": v}, "reason"),
    ("DiscountCreate", "line_id", "POST", "/api/v1/orders/{order}/discount", "manager",
     lambda v: {"line_id": v, "percent": 10, "reason": "promo"}, "line_id"),
    ("RefundCreate", "reason", "POST", "/api/v1/orders/{order}/refunds", "manager",
     lambda v: {"reason": v}, "reason"),
    ("RefundCreate", "payment_id", "POST", "/api/v1/orders/{order}/refunds", "manager",
     lambda v: {"method": "qris", "payment_id": v, "reason": "spilled"}, "payment_id"),
    ("RefundLineCreate", "line_id", "POST", "/api/v1/orders/{order}/refunds", "manager",
     lambda v: {"lines": [{"line_id": v}], "reason": "spilled"}, "lines[0].line_id"),
    # the guest QR page (edge.api.guest): the body is checked before the table's token
    ("GuestLine", "product_id", "POST", "/api/v1/guest/orders", "kiosk",
     lambda v: {"lines": [{"product_id": v}]}, "lines[0].product_id"),
    ("GuestLine", "modifiers", "POST", "/api/v1/guest/orders", "kiosk",
     lambda v: {"lines": [{"product_id": "p-nasi-goreng", "modifiers": [v]}]},
     "lines[0].modifiers"),
    ("GuestLine", "note", "POST", "/api/v1/guest/orders", "kiosk",
     lambda v: {"lines": [{"product_id": "p-air-mineral", "note": v}]}, "lines[0].note"),
    ("GuestReject", "reason", "POST", "/api/v1/guest-requests/{order}/reject", "manager",
     lambda v: {"reason": v}, "reason"),
    ("PaymentAttemptCreate", "mobile_number", "POST", "/api/v1/orders/{order}/payment-attempts",
     "manager", lambda v: {"method": "ewallet", "amount": 1, "channel": "ovo", "mobile_number": v},
     "mobile_number"),
    # table service (edge.bills, edge.bill_ops): the body is checked before the bill
    ("OrderCreate", "table_id", "POST", "/api/v1/orders", "kiosk",
     lambda v: {**ORDER, "table_id": v}, "table_id"),
    ("OrderLineCreate", "course", "POST", "/api/v1/orders", "kiosk",
     lambda v: {"type": "takeaway", "lines": [{"product_id": "p-air-mineral", "course": v}]},
     "lines[0].course"),
    ("CourseFire", "course", "POST", "/api/v1/orders/{order}/fire", "manager",
     lambda v: {"course": v}, "course"),
    ("LineUpdate", "course", "PATCH", "/api/v1/orders/{order}/lines/x", "manager",
     lambda v: {"course": v}, "course"),
    ("LineUpdate", "modifiers", "PATCH", "/api/v1/orders/{order}/lines/x", "manager",
     lambda v: {"modifiers": [v]}, "modifiers"),
    ("LineUpdate", "note", "PATCH", "/api/v1/orders/{order}/lines/x", "manager",
     lambda v: {"note": v}, "note"),
    ("LineVoid", "reason", "POST", "/api/v1/orders/{order}/lines/x/void", "manager",
     lambda v: {"reason": v}, "reason"),
    ("BillMove", "table_id", "POST", "/api/v1/orders/{order}/move", "manager",
     lambda v: {"table_id": v}, "table_id"),
    ("BillMerge", "order_id", "POST", "/api/v1/orders/{order}/merge", "manager",
     lambda v: {"order_id": v}, "order_id"),
    ("LinesMove", "line_ids", "POST", "/api/v1/orders/{order}/move-lines", "manager",
     lambda v: {"line_ids": [v], "to_order_id": "x"}, "line_ids"),
    ("LinesMove", "to_order_id", "POST", "/api/v1/orders/{order}/move-lines", "manager",
     lambda v: {"line_ids": ["x"], "to_order_id": v}, "to_order_id"),
    ("SplitPart", "line_ids", "POST", "/api/v1/orders/{order}/split", "manager",
     lambda v: {"parts": [{"line_ids": [v]}]}, "parts[0].line_ids"),
]
MULTILINE = {("OrderCreate", "note"), ("OrderLineCreate", "note"), ("LineUpdate", "note")}
PATTERNED = {("PaymentAttemptCreate", "mobile_number")}
BAD = ["nul\x00here", "\x1bp\x000\x19\x19", "bell\x07", "del\x7f", "c1\x85", "sep\u2028x", "tab\tx"]


@pytest.fixture(scope="module")
def ctx(shared_edge: EdgeServer) -> dict[str, Any]:
    manager = shared_edge.login("manager")
    order = place(shared_edge, ORDER)
    shift = shared_edge.call("POST", "/api/v1/shifts", manager, json={"opening_float": 1_000})
    return {"edge": shared_edge, "manager": manager, "order": order["id"], "shift": shift["id"]}


def _send(ctx: dict[str, Any], method: str, path: str, who: str, body: Any) -> Any:
    edge: EdgeServer = ctx["edge"]
    token = ctx["manager"] if who == "manager" else edge.tokens[who]
    return edge.request(method, path.format(order=ctx["order"], shift=ctx["shift"]), token,
                        json=body)


def _text_fields(struct: type[msgspec.Struct]) -> set[str]:
    found = set()
    for field in msgspec.inspect.type_info(struct).fields:
        kind = field.type
        kind = kind.type if isinstance(kind, msgspec.inspect.Metadata) else kind
        if isinstance(kind, msgspec.inspect.UnionType):
            kind = next(t for t in kind.types if not isinstance(t, msgspec.inspect.NoneType))
        if isinstance(kind, msgspec.inspect.ListType):
            kind = kind.item_type
        kind = kind.type if isinstance(kind, msgspec.inspect.Metadata) else kind
        if isinstance(kind, msgspec.inspect.StrType):
            found.add(field.name)
    return found


def _input_structs() -> list[type[InputStruct]]:
    """The edge's input Structs (every route module is imported by edge.app); the hub's,
    which a test worker may also have imported, are checked by the hub's own tests."""
    found, todo = [], list(InputStruct.__subclasses__())
    while todo:
        struct = todo.pop()
        if struct.__module__.split(".")[0] in ("edge", "shared"):
            found.append(struct)
        todo.extend(struct.__subclasses__())
    return found


def test_every_text_field_of_every_input_struct_is_tested() -> None:
    assert LoginRequest in _input_structs()
    declared = {(s.__name__, name) for s in _input_structs() for name in _text_fields(s)}
    tested = {(struct, field) for struct, field, *_ in CASES}
    assert declared == tested, declared ^ tested


@pytest.mark.parametrize("bad", BAD, ids=["nul", "esc-p", "bel", "del", "c1", "u2028", "tab"])
@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}.{c[1]}" for c in CASES])
def test_control_characters_are_refused_naming_the_field(ctx: dict[str, Any], case: Any,
                                                         bad: str) -> None:
    _, _, method, path, who, body, field = case
    res = _send(ctx, method, path, who, body(bad))
    assert res.status_code == 400, res.text
    error = res.json()["error"]
    assert error["code"] == "validation_failed"
    assert error["details"]["field"] == field, error
    # a field with a pattern (the OVO number: +62 and digits) refuses it by that pattern
    expected = "matching regex" if case[:2] in PATTERNED else "control character"
    assert expected in error["message"], error


@pytest.mark.parametrize("case", [c for c in CASES if c[:2] not in MULTILINE],
                         ids=[f"{c[0]}.{c[1]}" for c in CASES if c[:2] not in MULTILINE])
def test_a_line_break_is_refused_in_single_line_fields(ctx: dict[str, Any], case: Any) -> None:
    _, _, method, path, who, body, field = case
    res = _send(ctx, method, path, who, body("two\nlines"))
    assert res.status_code == 400, res.text
    assert res.json()["error"]["details"]["field"] == field


def test_notes_keep_their_line_breaks(ctx: dict[str, Any]) -> None:
    body = {"type": "takeaway", "note": "ring the bell\r\nthen wait",
            "lines": [{"product_id": "p-air-mineral", "note": "no ice\nno straw"}]}
    res = _send(ctx, "POST", "/api/v1/orders", "kiosk", body)
    assert res.status_code == 201, res.text
    order = res.json()
    assert (order["note"], order["lines"][0]["note"]) == ("ring the bell\nthen wait",
                                                          "no ice\nno straw")


@pytest.mark.parametrize(("method", "path", "who", "body", "field"), [
    ("POST", "/api/v1/orders", "kiosk",
     {"type": "takeaway", "lines": [{"product_id": "p-air-mineral", "qty": "2"}]}, "lines[0].qty"),
    ("POST", "/api/v1/orders", "kiosk",
     {"type": "takeaway", "lines": [{"product_id": "p-air-mineral", "qty": 2.0}]}, "lines[0].qty"),
    ("POST", "/api/v1/orders", "manager", {**ORDER, "discount": "100"}, "discount"),
    ("POST", "/api/v1/orders/{order}/payments", "manager", {"method": "cash", "amount": "1"},
     "amount"),
    ("POST", "/api/v1/shifts/{shift}/cash-movements", "manager",
     {"direction": "in", "amount": "5", "reason": "float"}, "amount"),
    ("POST", "/api/v1/shifts/{shift}/close", "manager", {"counted_cash": "5"}, "counted_cash"),
    ("PUT", "/api/v1/menu/products/p-air-mineral/availability", "manager", {"available": "false"},
     "available"),
    ("POST", "/api/v1/printers", "manager", {"name": "p", "host": "h", "port": "9100"}, "port"),
    ("POST", "/api/v1/orders/{order}/print", "manager", {"kind": "receipt", "extra": 1}, "extra"),
])
def test_wrong_types_are_400_as_documented(ctx: dict[str, Any], method: str, path: str, who: str,
                                           body: Any, field: str) -> None:
    res = _send(ctx, method, path, who, body)
    assert res.status_code == 400, res.text
    error = res.json()["error"]
    assert error["code"] == "validation_failed" and field in (error["details"]["field"] or "")
    if "availability" in path:  # the wrong-typed request changed nothing
        menu = ctx["edge"].menu()
        assert next(p for p in menu["products"] if p["id"] == "p-air-mineral")["available"]


@pytest.mark.parametrize(("path", "who", "content"), [
    ("/api/v1/orders", "kiosk", '{"type": "takeaway", "lines": ' + "[" * 1000 + "]" * 1000 + "}"),
    ("/api/v1/orders", "kiosk", "[" * 1000 + "]" * 1000),
    ("/api/v1/orders", "kiosk", '{"note": ' + '{"a": ' * 1000 + "1" + "}" * 1000 + "}"),
    ("/api/v1/auth/login", "cashier", '{"pin": ' + "[" * 1000 + "]" * 1000 + "}"),
])
def test_deeply_nested_json_is_a_400(ctx: dict[str, Any], path: str, who: str,
                                     content: str) -> None:
    edge: EdgeServer = ctx["edge"]
    res = edge.request("POST", path, edge.tokens[who], content=content.encode(),
                       headers={"content-type": "application/json"})
    assert res.status_code == 400, res.text
    assert res.json()["error"]["code"] == "validation_failed"


def _unbounded_lists(struct: type[InputStruct]) -> list[str]:
    """Fields of ``struct`` that take a list with no ``max_length``."""
    found = []
    for field in msgspec.inspect.type_info(struct).fields:
        kinds = [field.type]
        while kinds:
            kind = kinds.pop()
            if isinstance(kind, msgspec.inspect.UnionType):
                kinds.extend(kind.types)
            elif isinstance(kind, msgspec.inspect.Metadata):
                kinds.append(kind.type)
            elif isinstance(kind, msgspec.inspect.ListType) and kind.max_length is None:
                found.append(field.name)
    return found


def test_every_list_of_every_input_struct_is_bounded() -> None:
    """A list with no bound is work the edge does for each item a client sends: an order line
    once took any number of option ids (a 10 MB body held about 150,000)."""
    unbounded = {f"{s.__name__}.{name}" for s in _input_structs() for name in _unbounded_lists(s)}
    assert unbounded == set()


def test_a_line_with_more_options_than_any_menu_is_a_400(ctx: dict[str, Any]) -> None:
    edge: EdgeServer = ctx["edge"]
    line = {"product_id": "p-air-mineral", "modifiers": [f"o-{n}" for n in range(MAX_OPTIONS_PER_LINE + 1)]}
    res = edge.request("POST", "/api/v1/orders", edge.tokens["kiosk"],
                       json={"type": "takeaway", "lines": [line]})
    assert res.status_code == 400, res.text
    assert res.json()["error"]["details"]["field"] == "lines[0].modifiers"


def test_a_body_over_a_mebibyte_is_a_413(ctx: dict[str, Any]) -> None:
    """The largest order is about 0.6 MiB; Litestar's default limit was 10 MB, and 60 such
    bodies at once held 0.5 GB of the box's memory."""
    edge: EdgeServer = ctx["edge"]
    content = b'{"type": "takeaway", "note": "' + b"a" * (1024 * 1024) + b'", "lines": []}'
    res = edge.request("POST", "/api/v1/orders", edge.tokens["kiosk"], content=content,
                       headers={"content-type": "application/json"})
    assert res.status_code == 413, res.text
    assert res.json()["error"]["code"] == "payload_too_large"
    # The largest order the schema allows still fits.
    line = {"product_id": "p-air-mineral", "note": "é" * 500, "modifiers": ["o" * 64] * MAX_OPTIONS_PER_LINE,
            "course": "c" * 200}
    largest = msgspec.json.encode({"type": "takeaway", "note": "n" * 500, "lines": [line] * 100})
    assert len(largest) < JSON_MAX_BODY_BYTES
    res = edge.request("POST", "/api/v1/orders", edge.tokens["kiosk"], content=largest,
                       headers={"content-type": "application/json"})
    assert res.status_code != 413, res.text
