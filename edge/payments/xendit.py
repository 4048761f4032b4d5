"""Xendit as a payment provider (async httpx, Basic auth with the secret key).

* QRIS: ``POST /qr_codes`` (``api-version: 2022-07-31``), ``reference_id`` = the attempt id,
  type DYNAMIC, ``expires_at``, ``metadata.outlet_id`` (echoed in the callback so the hub
  can route it). Every create carries ``Idempotency-key`` = the attempt id: a create retried
  after a lost reply gets the first QR back, never a second charge.
* e-wallets: ``POST /ewallets/charges`` (ONE_TIME_PAYMENT; ID_DANA, ID_SHOPEEPAY,
  ID_LINKAJA with ``success_redirect_url``; ID_OVO with ``channel_properties.mobile_number``,
  E.164 "+62...": the cashier types the customer's number, OVO pushes the payment to their
  app, and the charge has no QR or checkout URL to show).
* status: QRIS by ``GET /qr_codes/{id}/payments`` then ``GET /qr_codes/{id}``; e-wallets by
  ``GET /ewallets/charges/{id}``. A dynamic QR has no cancel call: a cancelled attempt's QR
  simply expires, and a payment on it after all is recorded and flagged for refund.
* refund: ``POST /refunds`` with the payment id, ``reference_id`` and ``Idempotency-key`` =
  the refund key, ``metadata.outlet_id`` (the refund callback echoes both: the hub routes it
  and the box settles a pending refund by its id).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from edge.payments._http import basic_auth, call
from edge.payments.provider import (
    Charge,
    ChargeRequest,
    GatewayRejected,
    GatewayStatus,
    RefundResult,
)

if TYPE_CHECKING:
    import httpx

__all__ = ["QR_API_VERSION", "XenditProvider"]

QR_API_VERSION = "2022-07-31"
CHANNELS = {"dana": "ID_DANA", "shopeepay": "ID_SHOPEEPAY", "linkaja": "ID_LINKAJA",
            "ovo": "ID_OVO"}
_EWALLET_STATES = {"PENDING": "pending", "SUCCEEDED": "paid", "FAILED": "failed",
                   "VOIDED": "cancelled", "REFUNDED": "refunded"}


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _time(text: Any) -> datetime | None:
    try:
        return datetime.fromisoformat(str(text))
    except ValueError:
        return None


class XenditProvider:
    name = "xendit"

    def __init__(self, base_url: str, secret_key: str, *, timeout: float = 5.0,
                 client: httpx.AsyncClient | None = None,
                 success_redirect_url: str = "https://fnbpos.invalid/paid") -> None:
        self.base_url = base_url.rstrip("/")
        self._auth = {"Authorization": basic_auth(secret_key), "Content-Type": "application/json"}
        if client is None:
            # httpx (with its CLI's click and rich, ~0.1 s) loads only for an edge that has a
            # gateway, not at every edge start
            import httpx

            client = httpx.AsyncClient(timeout=timeout)
        self._client = client
        self.success_redirect_url = success_redirect_url

    async def aclose(self) -> None:
        await self._client.aclose()

    async def _call(self, method: str, path: str, body: Any = None,
                    headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
        return await call(self._client, method, f"{self.base_url}{path}", gateway="xendit",
                          headers={**self._auth, **(headers or {})}, json=body)

    @staticmethod
    def _refused(code: int, data: dict[str, Any]) -> GatewayRejected:
        return GatewayRejected(f"xendit refused: {str(data.get('message', ''))[:200]}",
                               code=str(data.get("error_code", code))[:64], status=code)

    async def create(self, request: ChargeRequest) -> Charge:
        expires = request.expires_at or datetime.now(UTC) + timedelta(seconds=request.expiry_seconds)
        headers = {"Idempotency-key": request.gateway_order_id}
        metadata = {"outlet_id": request.outlet_id, "attempt_id": request.gateway_order_id}
        if request.method == "qris":
            code, data = await self._call("POST", "/qr_codes", {
                "reference_id": request.gateway_order_id, "type": "DYNAMIC", "currency": "IDR",
                "amount": request.amount, "expires_at": _iso(expires), "metadata": metadata},
                {**headers, "api-version": QR_API_VERSION})
            if code >= 300:
                raise self._refused(code, data)
            return Charge(gateway_ref=str(data.get("id", "")), qr_string=str(data.get("qr_string", ""))[:1024],
                          expires_at=_time(data.get("expires_at")) or expires)
        channel = CHANNELS.get(request.channel)
        if channel is None:
            raise GatewayRejected(f"xendit e-wallet channel {request.channel!r} is not offered at "
                                  "the till", code="channel")
        code, data = await self._call("POST", "/ewallets/charges", {
            "reference_id": request.gateway_order_id, "currency": "IDR", "amount": request.amount,
            "checkout_method": "ONE_TIME_PAYMENT", "channel_code": channel,
            # OVO pushes the payment to the customer's app (no redirect, no QR): its number
            "channel_properties": ({"mobile_number": request.mobile_number}
                                   if channel == "ID_OVO" else
                                   {"success_redirect_url": self.success_redirect_url}),
            "metadata": metadata}, headers)
        if code >= 300:
            raise self._refused(code, data)
        actions = data.get("actions") or {}
        target = (actions.get("qr_checkout_string") or actions.get("mobile_web_checkout_url")
                  or actions.get("desktop_web_checkout_url") or "")
        return Charge(gateway_ref=str(data.get("id", "")), qr_string=str(target)[:1024], expires_at=expires)

    async def status(self, gateway_order_id: str, gateway_ref: str) -> GatewayStatus:
        if not gateway_ref:
            return GatewayStatus(status="unknown")  # the create never answered: nothing to ask
        if gateway_ref.startswith("ewc_"):
            code, data = await self._call("GET", f"/ewallets/charges/{gateway_ref}")
            if code == 404:
                return GatewayStatus(status="unknown")
            if code >= 300:
                raise self._refused(code, data)
            return GatewayStatus(status=_EWALLET_STATES.get(str(data.get("status")), "unknown"),  # type: ignore[arg-type]
                                 gross_amount=int(data.get("capture_amount") or 0),
                                 transaction_id=str(data.get("id", "")),
                                 payment_type=str(data.get("channel_code", "")))
        headers = {"api-version": QR_API_VERSION}
        code, data = await self._call("GET", f"/qr_codes/{gateway_ref}/payments", headers=headers)
        if code == 404:
            return GatewayStatus(status="unknown")
        if code >= 300:
            raise self._refused(code, data)
        for payment in data.get("data") or []:
            if payment.get("status") == "SUCCEEDED":
                return GatewayStatus(status="paid", gross_amount=int(payment.get("amount") or 0),
                                     transaction_id=str(payment.get("id", "")), payment_type="qris")
        code, data = await self._call("GET", f"/qr_codes/{gateway_ref}", headers=headers)
        if code >= 300:
            raise self._refused(code, data)
        if data.get("status") == "ACTIVE":
            return GatewayStatus(status="pending")
        expires = _time(data.get("expires_at"))
        gone = expires is not None and expires <= datetime.now(UTC)
        return GatewayStatus(status="expired" if gone else "cancelled")

    async def cancel(self, gateway_order_id: str, gateway_ref: str) -> None:
        return None  # no cancel call for a dynamic QR or a pending e-wallet charge

    async def refund(self, gateway_order_id: str, transaction_id: str, amount: int, key: str,
                     reason: str, *, outlet_id: str = "") -> RefundResult:
        code, data = await self._call("POST", "/refunds", {
            "reference_id": key, "payment_id": transaction_id, "currency": "IDR",
            "amount": amount, "reason": "REQUESTED_BY_CUSTOMER",
            # echoed in the refund callback: how the hub routes it to this outlet
            "metadata": {"reason": reason[:200], "outlet_id": outlet_id}}, {"Idempotency-key": key})
        if code >= 300:
            raise self._refused(code, data)
        state = {"SUCCEEDED": "done", "PENDING": "pending"}.get(str(data.get("status")), "failed")
        return RefundResult(refund_id=str(data.get("id", "")), status=state,  # type: ignore[arg-type]
                            amount=int(data.get("amount") or amount))
