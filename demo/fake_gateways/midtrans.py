"""A local fake of the Midtrans Core API (QRIS and e-wallet charges), for tests and the demo.

Speaks the documented endpoints, shapes and status codes:

* ``POST /v2/charge`` - ``payment_type`` "qris" (or "gopay", "shopeepay", "dana", "ovo"),
  ``transaction_details.order_id`` / ``gross_amount``, ``custom_expiry``, ``custom_field1``;
  201 with ``qr_string`` and ``actions``. A used order_id is refused with 406 (unless that
  transaction expired: Midtrans lets an expired order_id be used again).
  https://docs.midtrans.com/reference-link/qris, https://docs.midtrans.com/reference/code-4xx
* ``GET /v2/{order_id}/status`` - https://docs.midtrans.com/reference/get-transaction-status
* ``POST /v2/{order_id}/cancel`` - https://docs.midtrans.com/reference/cancel-api-1
* ``POST /v2/{order_id}/expire`` - https://docs.midtrans.com/reference-link/expire-transaction
* ``POST /v2/{order_id}/refund`` (and ``/refund/online/direct``) with ``refund_key``,
  ``amount``, ``reason`` - https://docs.midtrans.com/reference-link/refund-transaction

Every request needs Basic auth with the server key as the user name. The HTTP status of an
answer equals its ``status_code`` field (a client must read both: older Midtrans answers
carried errors in a 200). Notifications are POSTed to ``--webhook-url`` with
``signature_key`` = SHA512(order_id + status_code + gross_amount + server key)
(https://docs.midtrans.com/reference/receiving-notifications).

The sandbox's payment simulator is ``POST /_fake/v2/{order_id}/pay`` (optional ``{"amount"}``);
``GET /_fake/`` lists open charges with a pay button.

Run: ``python -m demo.fake_gateways.midtrans --port 8931 --webhook-url URL --server-key KEY``.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from demo.fake_gateways._common import FakeGateway, Reply, Request, fake_qr_string, main, now_utc

__all__ = ["DEFAULT_PORT", "FakeMidtrans", "build", "signature"]

DEFAULT_PORT = 8931
WIB = timezone(timedelta(hours=7))  # Midtrans times are GMT+7
PAYMENT_TYPES = ("qris", "gopay", "shopeepay", "dana", "ovo")
DEFAULT_EXPIRY = {"qris": timedelta(minutes=15), "gopay": timedelta(minutes=15),
                  "shopeepay": timedelta(minutes=5), "dana": timedelta(minutes=15),
                  "ovo": timedelta(seconds=60)}
UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400}
MAX_AMOUNT = 10_000_000_000


def signature(order_id: str, status_code: str, gross_amount: str, server_key: str) -> str:
    """SHA512(order_id + status_code + gross_amount + server key), hex."""
    return hashlib.sha512(f"{order_id}{status_code}{gross_amount}{server_key}".encode()).hexdigest()


def _wib(moment: datetime) -> str:
    return moment.astimezone(WIB).strftime("%Y-%m-%d %H:%M:%S")


def _money(amount: int) -> str:
    return f"{amount}.00"


def _status_code(status: str) -> str:
    return {"pending": "201", "settlement": "200", "expire": "407", "cancel": "200",
            "refund": "200", "partial_refund": "200"}[status]


def _error(code: int, message: str, **extra: Any) -> Reply:
    return Reply(code, {"status_code": str(code), "status_message": message,
                        "id": str(uuid.uuid4()), **extra})


class FakeMidtrans(FakeGateway):
    name = "midtrans"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.charges: list[dict[str, Any]] = []  # every charge ever made, oldest first
        self.active: dict[str, dict[str, Any]] = {}  # order_id -> its current charge
        self.route("POST", r"/v2/charge", self.charge)
        self.route("GET", r"/v2/(?P<order_id>[^/]+)/status", self.status)
        self.route("POST", r"/v2/(?P<order_id>[^/]+)/cancel", self.cancel)
        self.route("POST", r"/v2/(?P<order_id>[^/]+)/expire", self.expire)
        self.route("POST", r"/v2/(?P<order_id>[^/]+)/refund(?:/online/direct)?", self.refund)
        self.route("POST", r"/_fake/v2/(?P<order_id>[^/]+)/pay", self.simulate_pay, auth=False)

    # -- base hooks --------------------------------------------------------------------------

    def unauthorized(self) -> Reply:
        return _error(401, "Unknown Merchant server_key/id")

    def not_found(self) -> Reply:
        return _error(404, "The requested resource is not found")

    def unavailable(self) -> Reply:
        return _error(503, "Midtrans is under maintenance, please try again later")

    def bad_request(self, message: str) -> Reply:
        return _error(400, "One or more parameters in the payload is invalid.",
                      validation_messages=[message])

    def ledger(self) -> dict[str, Any]:
        return {"charges": self.charges}

    def reset(self) -> None:
        self.charges.clear()
        self.active.clear()

    def page_rows(self) -> list[tuple[str, str, int, str]]:
        return [(c["order_id"], f"{c['payment_type']} {c['order_id']}", c["amount"],
                 f"/_fake/v2/{c['order_id']}/pay")
                for c in self.active.values() if c["transaction_status"] == "pending"]

    def sweep(self) -> None:
        now = now_utc()
        for charge in self.active.values():
            if charge["transaction_status"] == "pending" and charge["expires_at"] <= now:
                self._move(charge, "expire")

    # -- the API -----------------------------------------------------------------------------

    async def charge(self, request: Request) -> Reply:
        data = request.json()
        if not isinstance(data, dict):
            return self.bad_request("the body must be a JSON object")
        payment_type = data.get("payment_type")
        details = data.get("transaction_details") or {}
        order_id = details.get("order_id")
        amount = details.get("gross_amount")
        problems = []
        if payment_type not in PAYMENT_TYPES:
            problems.append("payment_type is not supported")
        if not isinstance(order_id, str) or not 1 <= len(order_id) <= 50:
            problems.append("transaction_details.order_id is required (at most 50 characters)")
        if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= MAX_AMOUNT:
            problems.append("transaction_details.gross_amount must be a positive integer")
        if problems:
            return _error(400, "One or more parameters in the payload is invalid.",
                          validation_messages=problems)
        held = self.active.get(order_id)
        if held is not None and held["transaction_status"] != "expire":
            return _error(406, "Duplicate order ID. order_id has already been utilized previously.")
        now = now_utc()
        expiry = DEFAULT_EXPIRY[payment_type]
        custom = data.get("custom_expiry")
        if isinstance(custom, dict) and custom.get("expiry_duration") is not None:
            unit = UNITS.get(custom.get("unit", "minute"))
            if unit is None:
                return self.bad_request("custom_expiry.unit must be second, minute, hour or day")
            expiry = timedelta(seconds=int(custom["expiry_duration"]) * unit)
        transaction_id = str(uuid.uuid4())
        charge = {
            "transaction_id": transaction_id, "order_id": order_id, "amount": amount,
            "payment_type": payment_type, "transaction_status": "pending",
            "created_at": now, "expires_at": now + expiry, "settled_at": None,
            "custom_field1": str(data.get("custom_field1", "")), "refunds": [],
            "acquirer": (data.get("qris") or {}).get("acquirer", "gopay"),
            "qr_string": fake_qr_string(transaction_id, amount),
        }
        self.charges.append(charge)
        self.active[order_id] = charge
        body = self._body(charge, "201", f"{'QRIS' if payment_type == 'qris' else payment_type.capitalize()}"
                          " transaction is created")
        body["actions"] = self._actions(charge)
        if payment_type in ("qris", "gopay"):
            body["qr_string"] = charge["qr_string"]
        if payment_type == "qris":
            body["acquirer"] = charge["acquirer"]
        return Reply(201, body, delay=self.take_create_delay())

    async def status(self, request: Request) -> Reply:
        charge = self._find(request.params["order_id"])
        if charge is None:
            return _error(404, "Transaction doesn't exist.")
        code = _status_code(charge["transaction_status"])
        body = self._body(charge, code, "Success, transaction is found")
        body["signature_key"] = signature(charge["order_id"], code, _money(charge["amount"]),
                                          self.server_key)
        return Reply(200, body)

    async def cancel(self, request: Request) -> Reply:
        charge = self._find(request.params["order_id"])
        if charge is None:
            return _error(404, "Transaction doesn't exist.")
        if charge["transaction_status"] == "cancel":
            return Reply(200, self._body(charge, "200", "Success, transaction is canceled"))
        if charge["transaction_status"] != "pending":
            return _error(412, "Merchant cannot modify status of the transaction")
        self._move(charge, "cancel")
        return Reply(200, self._body(charge, "200", "Success, transaction is canceled"))

    async def expire(self, request: Request) -> Reply:
        charge = self._find(request.params["order_id"])
        if charge is None:
            return _error(404, "Transaction doesn't exist.")
        if charge["transaction_status"] != "pending":
            return _error(412, "Merchant cannot modify status of the transaction")
        self._move(charge, "expire")
        return Reply(407, self._body(charge, "407", "Success, transaction has expired"))

    async def refund(self, request: Request) -> Reply:
        charge = self._find(request.params["order_id"])
        if charge is None:
            return _error(404, "Transaction doesn't exist.")
        data = request.json() or {}
        key = str(data.get("refund_key") or uuid.uuid4())
        for held in charge["refunds"]:
            if held["refund_key"] == key:  # a retried refund: answer it again, refund nothing
                return Reply(200, self._refund_body(charge, held))
        if charge["transaction_status"] not in ("settlement", "partial_refund"):
            return _error(412, "Merchant cannot modify status of the transaction")
        left = charge["amount"] - sum(r["refund_amount"] for r in charge["refunds"])
        amount = data.get("amount", left)
        if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= left:
            return self.bad_request(f"amount must be between 1 and {left}")
        held = {"refund_key": key, "refund_amount": amount, "reason": str(data.get("reason", "")),
                "refund_chargeback_id": len(self.charges) * 1000 + len(charge["refunds"]) + 1,
                "created_at": _wib(now_utc())}
        charge["refunds"].append(held)
        self._move(charge, "refund" if amount == left else "partial_refund")
        return Reply(200, self._refund_body(charge, held))

    async def simulate_pay(self, request: Request) -> Reply:
        """The sandbox simulator: the customer scans and pays."""
        self.sweep()
        charge = self._find(request.params["order_id"])
        if charge is None:
            return _error(404, "Transaction doesn't exist.")
        if charge["transaction_status"] != "pending":
            return _error(412, f"the transaction is {charge['transaction_status']}")
        self._move(charge, "settlement")
        return Reply(200, self._body(charge, "200", "Success, transaction is settled"))

    # -- helpers -------------------------------------------------------------------------------

    def _find(self, key: str) -> dict[str, Any] | None:
        found = self.active.get(key)
        if found is None:  # the API takes a transaction_id in place of the order_id too
            found = next((c for c in self.charges if c["transaction_id"] == key), None)
        return found

    def _move(self, charge: dict[str, Any], status: str) -> None:
        charge["transaction_status"] = status
        if status == "settlement":
            charge["settled_at"] = now_utc()
        code = _status_code(status)
        payload = self._body(charge, code, "midtrans payment notification")
        payload["signature_key"] = signature(charge["order_id"], code, _money(charge["amount"]),
                                             self.server_key)
        self.notify(payload, {}, f"{charge['transaction_id']}:{status}:{len(charge['refunds'])}")

    def _body(self, charge: dict[str, Any], code: str, message: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "status_code": code, "status_message": message,
            "transaction_id": charge["transaction_id"], "order_id": charge["order_id"],
            "merchant_id": "G000000001", "gross_amount": _money(charge["amount"]),
            "currency": "IDR", "payment_type": charge["payment_type"],
            "transaction_time": _wib(charge["created_at"]),
            "transaction_status": charge["transaction_status"], "fraud_status": "accept",
            "expiry_time": _wib(charge["expires_at"]),
        }
        if charge["custom_field1"]:
            body["custom_field1"] = charge["custom_field1"]
        if charge["settled_at"] is not None:
            body["settlement_time"] = _wib(charge["settled_at"])
        if charge["payment_type"] == "qris":
            body["acquirer"] = charge["acquirer"]
        if charge["refunds"]:
            body["refund_amount"] = _money(sum(r["refund_amount"] for r in charge["refunds"]))
            body["refunds"] = [{**r, "refund_amount": _money(r["refund_amount"])}
                               for r in charge["refunds"]]
        return body

    def _refund_body(self, charge: dict[str, Any], held: dict[str, Any]) -> dict[str, Any]:
        body = self._body(charge, "200", "Success, refund request is approved")
        body.update(refund_key=held["refund_key"], refund_amount=_money(held["refund_amount"]),
                    refund_chargeback_id=held["refund_chargeback_id"])
        return body

    def _actions(self, charge: dict[str, Any]) -> list[dict[str, Any]]:
        base = "https://api.sandbox.midtrans.com"
        tid = charge["transaction_id"]
        actions = [{"name": "generate-qr-code", "method": "GET",
                    "url": f"{base}/v2/{charge['payment_type']}/{tid}/qr-code"}]
        if charge["payment_type"] != "qris":
            actions += [{"name": "deeplink-redirect", "method": "GET",
                         "url": f"https://simulator.sandbox.midtrans.com/{charge['payment_type']}/{tid}"},
                        {"name": "get-status", "method": "GET", "url": f"{base}/v2/{tid}/status"},
                        {"name": "cancel", "method": "POST", "url": f"{base}/v2/{tid}/cancel"}]
        return actions


def build(args: argparse.Namespace) -> FakeMidtrans:
    return FakeMidtrans(server_key=args.server_key or "SB-Mid-server-fake", webhook_url=args.webhook_url,
                        seed=args.seed)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], build, DEFAULT_PORT, "midtrans"))

