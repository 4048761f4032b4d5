"""A local fake of Xendit's QR code (QRIS), e-wallet and refund APIs, for tests and the demo.

Speaks the documented endpoints, shapes and status codes:

* ``POST /qr_codes`` with ``api-version: 2022-07-31``: ``reference_id``, ``type`` DYNAMIC,
  ``currency`` IDR, ``amount``, ``expires_at``, ``metadata``; 201 with ``id`` "qr_...",
  ``qr_string``, ``status`` ACTIVE. ``GET /qr_codes/{id}``, ``GET /qr_codes/{id}/payments``,
  and the test-mode ``POST /qr_codes/{id}/payments/simulate`` ``{"amount"}`` which pays it
  and sends the ``qr.payment`` callback.
  https://docs.xendit.co/qr-codes/test-guideline, https://docs.xendit.co/docs/qris.md
* ``POST /ewallets/charges``: ``reference_id``, ``currency``, ``amount``, ``checkout_method``
  ONE_TIME_PAYMENT, ``channel_code`` ID_OVO / ID_DANA / ID_SHOPEEPAY / ID_LINKAJA,
  ``channel_properties``; 202 with ``id`` "ewc_..." and status PENDING; ``GET
  /ewallets/charges/{id}``; callback event ``ewallet.capture``.
  https://docs.xendit.co/ewallet/integrations/test-scenarios
* ``POST /refunds`` (``payment_request_id`` or ``payment_id``, ``reference_id``, ``amount``,
  ``reason``) - https://docs.xendit.co/credit-cards/refunds, https://docs.xendit.co/apidocs/create-a-refund
* ``GET /transactions`` - the balance's transactions (a PAYMENT per QR or e-wallet payment, a
  REFUND per refund; ``product_id`` = the payment's id, ``reference_id`` = the charge's):
  filters, newest first, ``limit`` at most 50, ``after_id`` / ``before_id``, ``has_more`` and
  ``links`` - https://docs.xendit.co/apidocs/list-transactions
* OVO (``ID_OVO``) needs ``channel_properties.mobile_number`` in E.164 ("+62..."); a STATIC QR
  code (the merchant's printed QRIS) is paid through the simulator with any ``amount``.

``Idempotency-key`` is honoured on every POST: the same key with the same body answers the
first answer again (nothing new is made); the same key with another body is a 409. A
``reference_id`` already used by a QR code or charge is refused with 409 DUPLICATE_ERROR.
Errors are ``{"error_code", "message"}``. Callbacks carry ``x-callback-token``
(https://docs.xendit.co/api-integration/callback/setup). Every request needs Basic auth with
the secret key as user name.

The simulator for e-wallets is ``POST /_fake/ewallets/charges/{id}/pay``; ``GET /_fake/`` lists
open charges with a pay button.

Run: ``python -m demo.fake_gateways.xendit --port 8932 --webhook-url URL --server-key KEY
--callback-token TOKEN``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from demo.fake_gateways._common import FakeGateway, Reply, Request, fake_qr_string, main, now_utc

__all__ = ["DEFAULT_PORT", "FakeXendit", "build"]

DEFAULT_PORT = 8932
QR_API_VERSION = "2022-07-31"
EWALLET_CHANNELS = ("ID_OVO", "ID_DANA", "ID_SHOPEEPAY", "ID_LINKAJA", "ID_ASTRAPAY")
REFUND_REASONS = ("FRAUDULENT", "DUPLICATE", "REQUESTED_BY_CUSTOMER", "CANCELLATION", "OTHERS")
MAX_QR_AMOUNT = 10_000_000  # QRIS "Max Amount 10,000,000.00" (docs.xendit.co/docs/qris.md)
BUSINESS_ID = "5f27a14a9bf05c73dd040bc8"
OVO_MOBILE = re.compile(r"\+62\d{8,13}")  # E.164, Indonesia
TRANSACTION_LIMIT = 50  # the most a page of GET /transactions holds
TRANSACTION_TYPES = ("PAYMENT", "REFUND", "DISBURSEMENT", "TRANSFER", "WITHDRAWAL", "TOPUP",
                     "REMITTANCE_PAYOUT", "CONVERSION")
TRANSACTION_STATUSES = ("PENDING", "SUCCESS", "FAILED", "VOIDED", "REVERSED")
CHANNEL_CATEGORIES = ("BANK", "CARDLESS_CREDIT", "PAYLATER", "CARDS", "CASH", "DIRECT_DEBIT",
                      "EWALLET", "INVOICE", "QR_CODE", "RETAIL_OUTLET", "VIRTUAL_ACCOUNT",
                      "XENPLATFORM", "DIRECT_BANK_TRANSFER", "OTHER")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _error(status: int, code: str, message: str) -> Reply:
    return Reply(status, {"error_code": code, "message": message})


def _parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text)  # Python 3.11 reads a trailing Z


class FakeXendit(FakeGateway):
    name = "xendit"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.qr_codes: dict[str, dict[str, Any]] = {}
        self.ewallets: dict[str, dict[str, Any]] = {}
        self.payments: list[dict[str, Any]] = []
        self.refunds: list[dict[str, Any]] = []
        self.transactions: list[dict[str, Any]] = []  # the balance's transactions, oldest first
        self.idempotency: dict[str, tuple[str, Reply]] = {}
        self.route("GET", r"/transactions", self.list_transactions)
        self.route("POST", r"/qr_codes", self.create_qr)
        self.route("GET", r"/qr_codes/(?P<id>[^/]+)", self.get_qr)
        self.route("GET", r"/qr_codes/(?P<id>[^/]+)/payments", self.qr_payments)
        self.route("POST", r"/qr_codes/(?P<id>[^/]+)/payments/simulate", self.simulate_qr)
        self.route("POST", r"/ewallets/charges", self.create_ewallet)
        self.route("GET", r"/ewallets/charges/(?P<id>[^/]+)", self.get_ewallet)
        self.route("POST", r"/refunds", self.create_refund)
        self.route("POST", r"/_fake/ewallets/charges/(?P<id>[^/]+)/pay", self.simulate_ewallet,
                   auth=False)
        self.route("POST", r"/_fake/qr_codes/(?P<id>[^/]+)/pay", self.simulate_qr, auth=False)

    # -- base hooks ----------------------------------------------------------------------------

    def unauthorized(self) -> Reply:
        return _error(401, "INVALID_API_KEY", "API key is not authorized for this API service")

    def not_found(self) -> Reply:
        return _error(404, "DATA_NOT_FOUND", "Data not found")

    def unavailable(self) -> Reply:
        return _error(503, "SERVER_ERROR", "Service is temporarily unavailable")

    def bad_request(self, message: str) -> Reply:
        return _error(400, "API_VALIDATION_ERROR", message)

    def ledger(self) -> dict[str, Any]:
        return {"qr_codes": list(self.qr_codes.values()), "ewallets": list(self.ewallets.values()),
                "payments": self.payments, "refunds": self.refunds,
                "transactions": self.transactions}

    def reset(self) -> None:
        for held in (self.qr_codes, self.ewallets, self.idempotency):
            held.clear()
        self.payments.clear()
        self.refunds.clear()
        self.transactions.clear()

    def page_rows(self) -> list[tuple[str, str, int, str]]:
        rows = [(q["id"], f"QRIS {q['reference_id']}", q["amount"], f"/_fake/qr_codes/{q['id']}/pay")
                for q in self.qr_codes.values() if q["status"] == "ACTIVE"]
        rows += [(c["id"], f"{c['channel_code']} {c['reference_id']}", c["charge_amount"],
                  f"/_fake/ewallets/charges/{c['id']}/pay")
                 for c in self.ewallets.values() if c["status"] == "PENDING"]
        return rows

    def sweep(self) -> None:
        now = now_utc()
        for qr in self.qr_codes.values():
            if qr["status"] == "ACTIVE" and _parse_time(qr["expires_at"]) <= now:
                qr["status"] = "INACTIVE"
                qr["updated"] = _iso(now)

    # -- idempotency ---------------------------------------------------------------------------

    def _replayed(self, request: Request, scope: str) -> Reply | None:
        key = request.headers.get("idempotency-key")
        if not key:
            return None
        seen = self.idempotency.get(f"{scope}:{key}")
        if seen is None:
            return None
        if seen[0] != hashlib.sha256(request.body).hexdigest():
            return _error(409, "IDEMPOTENCY_ERROR",
                          "Idempotency key has been used before with a different request")
        return Reply(seen[1].status, seen[1].body, {"idempotency-replayed": "true"})

    def _remember(self, request: Request, scope: str, reply: Reply) -> Reply:
        key = request.headers.get("idempotency-key")
        if key and reply.status < 300:
            self.idempotency[f"{scope}:{key}"] = (hashlib.sha256(request.body).hexdigest(), reply)
        return reply

    def _reference_used(self, reference_id: str) -> bool:
        return any(q["reference_id"] == reference_id for q in self.qr_codes.values()) or any(
            c["reference_id"] == reference_id for c in self.ewallets.values())

    # -- QR codes --------------------------------------------------------------------------------

    async def create_qr(self, request: Request) -> Reply:
        if request.headers.get("api-version") != QR_API_VERSION:
            return self.bad_request(f"api-version header must be {QR_API_VERSION}")
        replayed = self._replayed(request, "qr")
        if replayed is not None:
            return replayed
        data = request.json()
        if not isinstance(data, dict):
            return self.bad_request("the body must be a JSON object")
        reference_id, amount = data.get("reference_id"), data.get("amount")
        if not isinstance(reference_id, str) or not 1 <= len(reference_id) <= 255:
            return self.bad_request("reference_id is required (1 to 255 characters)")
        if data.get("type") not in ("DYNAMIC", "STATIC"):
            return self.bad_request("type must be DYNAMIC or STATIC")
        if data.get("currency", "IDR") != "IDR":
            return self.bad_request("currency must be IDR")
        if data.get("type") == "DYNAMIC" and (
                isinstance(amount, bool) or not isinstance(amount, int | float)
                or not 1 <= amount <= MAX_QR_AMOUNT):
            return self.bad_request(f"amount must be between 1 and {MAX_QR_AMOUNT}")
        if self._reference_used(reference_id):
            return _error(409, "DUPLICATE_ERROR", "reference_id has already been used")
        now = now_utc()
        expires_at = now + timedelta(hours=48)
        if data.get("expires_at"):
            expires_at = _parse_time(str(data["expires_at"]))
            if expires_at <= now:
                return self.bad_request("expires_at must be in the future")
        qr_id = f"qr_{uuid.uuid4()}"
        qr = {"id": qr_id, "reference_id": reference_id, "business_id": BUSINESS_ID,
              "type": data["type"], "currency": "IDR", "amount": int(amount or 0),
              "channel_code": data.get("channel_code", "ID_DANA"), "status": "ACTIVE",
              "qr_string": fake_qr_string(qr_id[3:], int(amount or 0)), "expires_at": _iso(expires_at),
              "created": _iso(now), "updated": _iso(now), "metadata": data.get("metadata")}
        self.qr_codes[qr_id] = qr
        reply = Reply(201, dict(qr), delay=self.take_create_delay())
        return self._remember(request, "qr", reply)

    async def get_qr(self, request: Request) -> Reply:
        qr = self.qr_codes.get(request.params["id"])
        return Reply(200, qr) if qr else self.not_found()

    async def qr_payments(self, request: Request) -> Reply:
        qr_id = request.params["id"]
        if qr_id not in self.qr_codes:
            return self.not_found()
        return Reply(200, {"data": [p for p in self.payments if p.get("qr_id") == qr_id],
                           "has_more": False})

    async def simulate_qr(self, request: Request) -> Reply:
        qr = self.qr_codes.get(request.params["id"])
        if qr is None:
            return self.not_found()
        self.sweep()
        if qr["status"] != "ACTIVE":
            return _error(400, "INACTIVE_QR_CODE", "QR code is inactive (paid or expired)")
        data = request.json() or {}
        amount = data.get("amount", qr["amount"])
        if qr["type"] == "DYNAMIC" and amount != qr["amount"]:
            return self.bad_request("amount must equal the QR code's amount")
        if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= MAX_QR_AMOUNT:
            return self.bad_request(f"amount must be between 1 and {MAX_QR_AMOUNT}")
        now = now_utc()
        payment = {"id": f"qrpy_{uuid.uuid4()}", "business_id": BUSINESS_ID, "currency": "IDR",
                   "amount": amount, "status": "SUCCEEDED", "created": _iso(now),
                   "qr_id": qr["id"], "qr_string": qr["qr_string"],
                   "reference_id": qr["reference_id"], "type": qr["type"],
                   "channel_code": qr["channel_code"], "expires_at": qr["expires_at"],
                   "metadata": qr["metadata"], "refunded_amount": 0,
                   "payment_detail": {"receipt_id": str(len(self.payments) + 100001),
                                      "source": "DANA", "name": "Simulated Payer"}}
        self.payments.append(payment)
        self._transaction("PAYMENT", payment["id"], "QR_CODE", qr["channel_code"],
                          qr["reference_id"], amount, now)
        if qr["type"] == "DYNAMIC":
            qr["status"] = "INACTIVE"
            qr["updated"] = _iso(now)
        self._callback("qr.payment", payment, QR_API_VERSION)
        return Reply(200, payment)

    # -- e-wallets -------------------------------------------------------------------------------

    async def create_ewallet(self, request: Request) -> Reply:
        replayed = self._replayed(request, "ewallet")
        if replayed is not None:
            return replayed
        data = request.json()
        if not isinstance(data, dict):
            return self.bad_request("the body must be a JSON object")
        reference_id, amount = data.get("reference_id"), data.get("amount")
        channel = data.get("channel_code")
        props = data.get("channel_properties") or {}
        if not isinstance(reference_id, str) or not 1 <= len(reference_id) <= 255:
            return self.bad_request("reference_id is required (1 to 255 characters)")
        if isinstance(amount, bool) or not isinstance(amount, int) or amount < 100:
            return self.bad_request("amount must be at least 100")
        if data.get("checkout_method") != "ONE_TIME_PAYMENT":
            return self.bad_request("checkout_method must be ONE_TIME_PAYMENT")
        if channel not in EWALLET_CHANNELS:
            return _error(400, "UNSUPPORTED_CHANNEL", f"channel_code {channel} is not supported")
        if channel == "ID_OVO" and not props.get("mobile_number"):
            return self.bad_request("channel_properties.mobile_number is required for ID_OVO")
        if channel == "ID_OVO" and not OVO_MOBILE.fullmatch(str(props["mobile_number"])):
            return self.bad_request("channel_properties.mobile_number must be in E.164 format "
                                    "(+62 followed by 8 to 13 digits)")
        if channel != "ID_OVO" and not props.get("success_redirect_url"):
            return self.bad_request("channel_properties.success_redirect_url is required")
        if self._reference_used(reference_id):
            return _error(409, "DUPLICATE_ERROR", "reference_id has already been used")
        now = now_utc()
        charge_id = f"ewc_{uuid.uuid4()}"
        checkout = f"https://ewallet-mock-connector.xendit.co/v1/ewallet_connector/checkouts?token={charge_id}"
        charge = {"id": charge_id, "business_id": BUSINESS_ID, "reference_id": reference_id,
                  "status": "PENDING", "currency": "IDR", "charge_amount": amount,
                  "capture_amount": amount, "refunded_amount": None,
                  "checkout_method": "ONE_TIME_PAYMENT", "channel_code": channel,
                  "channel_properties": props,
                  "actions": {"desktop_web_checkout_url": None if channel == "ID_OVO" else checkout,
                              "mobile_web_checkout_url": None if channel == "ID_OVO" else checkout,
                              "mobile_deeplink_checkout_url": None,
                              "qr_checkout_string": None},
                  "is_redirect_required": channel != "ID_OVO", "callback_url": self.webhook_url,
                  "created": _iso(now), "updated": _iso(now), "void_status": None,
                  "voided_at": None, "capture_now": True, "customer_id": None,
                  "payment_method_id": None, "failure_code": None, "basket": None,
                  "metadata": data.get("metadata")}
        self.ewallets[charge_id] = charge
        return self._remember(request, "ewallet", Reply(202, dict(charge),
                                                         delay=self.take_create_delay()))

    async def get_ewallet(self, request: Request) -> Reply:
        charge = self.ewallets.get(request.params["id"])
        return Reply(200, charge) if charge else self.not_found()

    async def simulate_ewallet(self, request: Request) -> Reply:
        charge = self.ewallets.get(request.params["id"])
        if charge is None:
            return self.not_found()
        if charge["status"] != "PENDING":
            return _error(400, "INVALID_STATUS", f"the charge is {charge['status']}")
        charge["status"] = "SUCCEEDED"
        charge["updated"] = _iso(now_utc())
        self._transaction("PAYMENT", charge["id"], "EWALLET", charge["channel_code"],
                          charge["reference_id"], charge["capture_amount"], now_utc(),
                          account=(charge["channel_properties"] or {}).get("mobile_number"))
        self._callback("ewallet.capture", dict(charge), None)
        return Reply(200, charge)

    # -- refunds -----------------------------------------------------------------------------------

    async def create_refund(self, request: Request) -> Reply:
        replayed = self._replayed(request, "refund")
        if replayed is not None:
            return replayed
        data = request.json()
        if not isinstance(data, dict):
            return self.bad_request("the body must be a JSON object")
        target_id = data.get("payment_id") or data.get("payment_request_id")
        if data.get("reason") not in REFUND_REASONS:
            return self.bad_request(f"reason must be one of {', '.join(REFUND_REASONS)}")
        paid = next((p for p in self.payments if p["id"] == target_id), None)
        charge = self.ewallets.get(str(target_id))
        if paid is None and (charge is None or charge["status"] != "SUCCEEDED"):
            return _error(404, "DATA_NOT_FOUND", "no successful payment with this id")
        record = paid if paid is not None else charge
        assert record is not None
        total = record["amount"] if paid is not None else record["capture_amount"]
        left = total - (record.get("refunded_amount") or 0)
        amount = data.get("amount", left)
        if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= left:
            return _error(400, "REFUND_AMOUNT_EXCEEDED" if isinstance(amount, int) else
                          "API_VALIDATION_ERROR", f"amount must be between 1 and {left}")
        record["refunded_amount"] = (record.get("refunded_amount") or 0) + amount
        now = now_utc()
        refund = {"id": f"rfd-{uuid.uuid4()}", "payment_id": target_id,
                  "payment_request_id": data.get("payment_request_id"), "invoice_id": "",
                  "amount": amount, "payment_method_type": "QR_CODE" if paid else "EWALLET",
                  "channel_code": record["channel_code"], "currency": "IDR",
                  "status": "SUCCEEDED", "reason": data["reason"],
                  "reference_id": data.get("reference_id", ""), "failure_code": None,
                  "refund_fee_amount": None, "created": _iso(now), "updated": _iso(now),
                  "metadata": data.get("metadata")}
        self.refunds.append(refund)
        self._transaction("REFUND", refund["id"], "QR_CODE" if paid else "EWALLET",
                          refund["channel_code"], refund["reference_id"], amount, now)
        self._callback("refund.succeeded", refund, None)
        return self._remember(request, "refund", Reply(200, refund))

    # -- balance transactions ------------------------------------------------------------------

    def _transaction(self, kind: str, product_id: str, category: str, channel_code: str,
                     reference_id: str, amount: int, at: datetime, account: str | None = None) -> None:
        fee = round(amount * 0.007)  # QRIS MDR 0.7 %, for a believable net amount
        self.transactions.append({
            "id": f"txn_{uuid.uuid4()}", "product_id": product_id, "type": kind,
            "status": "SUCCESS", "channel_category": category, "channel_code": channel_code,
            "reference_id": reference_id, "account_identifier": account, "currency": "IDR",
            "amount": amount, "net_amount": amount - fee if kind == "PAYMENT" else amount,
            "cashflow": "MONEY_IN" if kind == "PAYMENT" else "MONEY_OUT",
            "settlement_status": "PENDING" if kind == "PAYMENT" else None,
            "estimated_settlement_time": _iso(at + timedelta(days=1)) if kind == "PAYMENT" else None,
            "business_id": BUSINESS_ID,
            "fee": {"xendit_fee": fee if kind == "PAYMENT" else 0, "value_added_tax": 0,
                    "xendit_withholding_tax": 0, "third_party_withholding_tax": 0,
                    "status": "COMPLETED"},
            "created": _iso(at), "updated": _iso(at)})

    async def list_transactions(self, request: Request) -> Reply:
        """``GET /transactions``: filters ``types``, ``statuses``, ``channel_categories``
        (each may repeat), ``reference_id``, ``product_id``, ``amount``, ``currency``,
        ``created[gte]`` / ``created[lte]`` (and ``updated[...]``); newest first; ``limit``
        (1 to 50, default 10); cursor ``after_id`` (older than that one) / ``before_id``;
        ``has_more`` with a ``links`` "next" when more match."""
        q, many = request.query, request.query_all
        rows = list(reversed(self.transactions))
        for name, allowed in (("types", TRANSACTION_TYPES), ("statuses", TRANSACTION_STATUSES),
                              ("channel_categories", CHANNEL_CATEGORIES)):
            wanted = [v for raw in many.get(name, []) for v in raw.split(",") if v]
            bad = [v for v in wanted if v not in allowed]
            if bad:
                return self.bad_request(f"{name} has an invalid value: {bad[0]}")
            if wanted:
                key = {"types": "type", "statuses": "status",
                       "channel_categories": "channel_category"}[name]
                rows = [r for r in rows if r[key] in wanted]
        for name in ("reference_id", "product_id", "currency"):
            if q.get(name):
                rows = [r for r in rows if r[name] == q[name]]
        if q.get("amount"):
            try:
                wanted_amount = float(q["amount"])
            except ValueError:
                return self.bad_request("amount must be a number")
            rows = [r for r in rows if r["amount"] == wanted_amount]
        for stamp in ("created", "updated"):
            for bound in ("gte", "lte"):
                raw = q.get(f"{stamp}[{bound}]")
                if not raw:
                    continue
                try:
                    edge = _parse_time(raw)
                except ValueError:
                    return self.bad_request(f"{stamp}[{bound}] must be an ISO 8601 time")
                if edge.tzinfo is None:
                    return self.bad_request(f"{stamp}[{bound}] must carry its time zone")
                rows = [r for r in rows if (_parse_time(r[stamp]) >= edge if bound == "gte"
                                            else _parse_time(r[stamp]) <= edge)]
        try:
            limit = int(q.get("limit", "10"))
        except ValueError:
            return self.bad_request("limit must be a number")
        if not 1 <= limit <= TRANSACTION_LIMIT:
            return self.bad_request(f"limit must be between 1 and {TRANSACTION_LIMIT}")
        ids = [r["id"] for r in rows]
        if q.get("after_id"):
            if q["after_id"] not in ids:
                return self.bad_request("after_id names no transaction of this query")
            rows = rows[ids.index(q["after_id"]) + 1:]
        elif q.get("before_id"):
            if q["before_id"] not in ids:
                return self.bad_request("before_id names no transaction of this query")
            rows = rows[:ids.index(q["before_id"])][-limit:]
        page, has_more = rows[:limit], len(rows) > limit
        body: dict[str, Any] = {"has_more": has_more, "data": page}
        if has_more:
            kept = [(k, v) for k, values in many.items() if k not in ("after_id", "before_id")
                    for v in values]
            body["links"] = [{"href": "/transactions?" + urlencode(
                kept + [("after_id", page[-1]["id"])]), "rel": "next", "method": "GET"}]
        return Reply(200, body)

    # -- callbacks ---------------------------------------------------------------------------------

    def _callback(self, event: str, data: dict[str, Any], api_version: str | None) -> None:
        payload: dict[str, Any] = {"event": event, "business_id": BUSINESS_ID,
                                   "created": _iso(now_utc()), "data": data}
        if api_version:
            payload["api_version"] = api_version
        self.notify(json.loads(json.dumps(payload)), {"x-callback-token": self.callback_token},
                    f"{event}:{data['id']}")


def build(args: argparse.Namespace) -> FakeXendit:
    return FakeXendit(server_key=args.server_key or "xnd_development_fake",
                      webhook_url=args.webhook_url,
                      callback_token=args.callback_token or "fake-callback-token", seed=args.seed)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], build, DEFAULT_PORT, "xendit"))
