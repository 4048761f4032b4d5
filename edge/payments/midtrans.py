"""Midtrans Core API as a payment provider (async httpx, Basic auth with the server key).

* create: ``POST /v2/charge``, ``payment_type`` "qris" (or the e-wallet: gopay, shopeepay,
  dana, ovo), ``transaction_details.order_id`` = the attempt id, ``custom_expiry`` in
  seconds, ``custom_field1`` = the outlet id (echoed in the webhook so the hub can route it).
  A retried create (its first reply lost) is refused with 406 "duplicate order ID": the
  charge exists but its QR cannot be asked for again, so it is cancelled and the create
  reported as refused - a new attempt (new order id) takes its place, and the cancelled one
  can never be paid.
* status: ``GET /v2/{order_id}/status``; cancel: ``POST /v2/{order_id}/cancel``;
  refund: ``POST /v2/{order_id}/refund`` with ``refund_key`` (a retried refund is the same).

An answer's error may be in its HTTP status or only in its ``status_code`` field (older
Midtrans answers carried errors in a 200): both are read.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from edge.payments._http import basic_auth, call
from edge.payments.provider import (
    Charge,
    ChargeRequest,
    GatewayRejected,
    GatewayStatus,
    GatewayUnavailable,
    RefundResult,
)

if TYPE_CHECKING:
    import httpx

__all__ = ["MidtransProvider"]

WIB = timezone(timedelta(hours=7))
EWALLET_TYPES = {"gopay": "gopay", "shopeepay": "shopeepay", "dana": "dana", "ovo": "ovo"}
_STATES = {"pending": "pending", "settlement": "paid", "capture": "paid", "expire": "expired",
           "cancel": "cancelled", "deny": "failed", "failure": "failed", "refund": "refunded",
           "partial_refund": "refunded"}


def _amount(text: Any) -> int:
    """Whole rupiah from Midtrans' "25000.00" (no float touches an amount); 0 if unreadable."""
    try:
        return int(Decimal(str(text)).to_integral_value())
    except (InvalidOperation, ValueError):
        return 0


def _wib_time(text: Any) -> datetime | None:
    try:
        return datetime.strptime(str(text), "%Y-%m-%d %H:%M:%S").replace(tzinfo=WIB).astimezone(UTC)
    except ValueError:
        return None


class MidtransProvider:
    name = "midtrans"

    def __init__(self, base_url: str, server_key: str, *, timeout: float = 5.0,
                 client: httpx.AsyncClient | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self._headers = {"Authorization": basic_auth(server_key), "Accept": "application/json",
                         "Content-Type": "application/json"}
        if client is None:
            # httpx (with its CLI's click and rich, ~0.1 s) loads only for an edge that has a
            # gateway, not at every edge start
            import httpx

            client = httpx.AsyncClient(timeout=timeout)
        self._client = client

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _call(self, method: str, path: str, body: Any = None) -> tuple[int, dict[str, Any]]:
        status, data = await call(self._client, method, f"{self.base_url}{path}",
                                  gateway="midtrans", headers=self._headers, json=body)
        code = str(data.get("status_code", status))
        return (int(code) if code.isdigit() else status), data

    @staticmethod
    def _refused(code: int, data: dict[str, Any]) -> GatewayRejected:
        return GatewayRejected(f"midtrans refused: {str(data.get('status_message', ''))[:200]}",
                               code=str(code), status=code)

    async def create(self, request: ChargeRequest) -> Charge:
        if request.method == "qris":
            payment_type = "qris"
        elif request.channel in EWALLET_TYPES:
            payment_type = EWALLET_TYPES[request.channel]
        else:
            raise GatewayRejected(f"midtrans takes no e-wallet channel {request.channel!r}",
                                  code="channel")
        body = {"payment_type": payment_type,
                "transaction_details": {"order_id": request.gateway_order_id,
                                        "gross_amount": request.amount},
                "custom_expiry": {"expiry_duration": request.expiry_seconds, "unit": "second"},
                "custom_field1": request.outlet_id}
        if payment_type == "ovo" and request.mobile_number:  # "+628..." -> "08..."
            body["ovo"] = {"payer_phone_number": "0" + request.mobile_number.removeprefix("+62")}
        code, data = await self._call("POST", "/v2/charge", body)
        if code == 406:
            await self._forget_lost(request.gateway_order_id)
            raise GatewayRejected("midtrans already holds this order id (a create whose reply was "
                                  "lost); it was cancelled: start a new QR", code="406", status=406)
        if code >= 500:
            raise GatewayUnavailable(f"midtrans answered {code}", status=code)
        if code >= 300:
            raise self._refused(code, data)
        qr = str(data.get("qr_string", ""))
        if not qr:  # e-wallets without a QR: the deeplink is what the customer opens
            qr = next((str(a.get("url", "")) for a in data.get("actions", [])
                       if a.get("name") == "deeplink-redirect"), "")
        expires = _wib_time(data.get("expiry_time")) or (
            datetime.now(UTC) + timedelta(seconds=request.expiry_seconds))
        return Charge(gateway_ref=str(data.get("transaction_id", "")), qr_string=qr[:1024],
                      expires_at=expires)

    async def _forget_lost(self, order_id: str) -> None:
        try:
            code, data = await self._call("GET", f"/v2/{order_id}/status")
            if code < 300 and data.get("transaction_status") == "pending":
                await self._call("POST", f"/v2/{order_id}/cancel")
        except GatewayUnavailable:
            pass  # it expires on its own; nobody saw its QR

    async def status(self, gateway_order_id: str, gateway_ref: str) -> GatewayStatus:
        code, data = await self._call("GET", f"/v2/{gateway_order_id}/status")
        if code == 404:
            return GatewayStatus(status="unknown")
        if code >= 500:
            raise GatewayUnavailable(f"midtrans answered {code}", status=code)
        if code >= 300 and code != 407:  # 407: the transaction expired (a status, not an error)
            raise self._refused(code, data)
        return GatewayStatus(status=_STATES.get(str(data.get("transaction_status")), "unknown"),  # type: ignore[arg-type]
                             gross_amount=_amount(data.get("gross_amount")),
                             transaction_id=str(data.get("transaction_id", "")),
                             payment_type=str(data.get("payment_type", "")))

    async def cancel(self, gateway_order_id: str, gateway_ref: str) -> None:
        code, data = await self._call("POST", f"/v2/{gateway_order_id}/cancel")
        if code in (200, 404):
            return
        if code >= 500:
            raise GatewayUnavailable(f"midtrans answered {code}", status=code)
        raise self._refused(code, data)

    async def refund(self, gateway_order_id: str, transaction_id: str, amount: int, key: str,
                     reason: str, *, outlet_id: str = "") -> RefundResult:
        code, data = await self._call("POST", f"/v2/{gateway_order_id}/refund",
                                      {"refund_key": key, "amount": amount, "reason": reason[:200]})
        if code >= 300:
            raise self._refused(code, data)
        return RefundResult(refund_id=str(data.get("refund_key", key)), status="done",
                            amount=_amount(data.get("refund_amount", amount)))
