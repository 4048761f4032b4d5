"""Cash as a payment provider: settled at the till the moment it is handed over; a refund is
money out of the drawer (the drawer kick is the printer's business)."""

from __future__ import annotations

from datetime import UTC, datetime

from edge.payments.provider import Charge, ChargeRequest, GatewayStatus, RefundResult

__all__ = ["CashProvider", "change_due"]


def change_due(amount: int, tendered: int) -> int:
    """Change for ``tendered`` against ``amount`` (ValueError when it does not cover it)."""
    if tendered < amount:
        raise ValueError("cash tendered is less than the amount")
    return tendered - amount


class CashProvider:
    name = "cash"

    async def create(self, request: ChargeRequest) -> Charge:
        return Charge(gateway_ref="", qr_string="", expires_at=datetime.now(UTC), paid=True)

    async def status(self, gateway_order_id: str, gateway_ref: str) -> GatewayStatus:
        return GatewayStatus(status="paid")

    async def cancel(self, gateway_order_id: str, gateway_ref: str) -> None:
        return None

    async def refund(self, gateway_order_id: str, transaction_id: str, amount: int, key: str,
                     reason: str, *, outlet_id: str = "") -> RefundResult:
        return RefundResult(refund_id=key, status="done", amount=amount)
