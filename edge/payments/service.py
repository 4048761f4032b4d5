"""The running edge's payments: the gateway calls around ``edge.payments.attempts`` and the
poller that asks the gateway about open attempts.

``create`` records the attempt, then calls the gateway outside any transaction (retrying a
failed call with the same gateway order id and Idempotency-key, so a lost reply never makes
a second charge), then records the answer. When the gateway cannot be reached a QRIS
attempt falls back to the static QR.

The poller is one asyncio task: every second it takes at most ``POLL_BATCH`` pending
attempts whose next poll is due, asks their gateway (at most ``POLL_CONCURRENCY`` at a time)
and applies the answer through ``attempts.apply_confirmation``; an attempt with nothing new
is asked again later, backing off from 1 s to 5 s; one past its expiry by ``EXPIRY_GRACE``
with no final answer is expired here; a static QR expires at its time.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from edge.auth import Principal
from edge.db import Database
from edge.live import LiveFeed
from edge.outlet import load_outlet
from edge.payments import attempts, static_qris
from edge.payments import config as gateway_config
from edge.payments import repository as repo
from edge.payments.provider import (
    Charge,
    ChargeRequest,
    GatewayRejected,
    GatewayUnavailable,
    PaymentProvider,
)
from edge.payments.repository import AttemptRow
from shared.errors import Rejected, Unavailable
from shared.schemas import PaymentAttemptCreate

__all__ = ["EXPIRY_GRACE", "PaymentService"]

log = logging.getLogger("edge.payments")
CREATE_TRIES = 3
CREATE_BUDGET = 8.0  # seconds of retrying a create before giving up on the gateway
POLL_EVERY = 1.0
POLL_BATCH = 20
POLL_CONCURRENCY = 4
EXPIRY_GRACE = timedelta(seconds=30)


class PaymentService:
    def __init__(self, db: Database, feed: LiveFeed, *, timeout: float = 5.0,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.db = db
        self.feed = feed
        self.timeout = timeout
        self.clock = clock
        self._provider: PaymentProvider | None = None
        self._provider_key: tuple[str, str, str] | None = None
        self._task: asyncio.Task[None] | None = None

    # -- gateway clients --------------------------------------------------------------------

    def provider(self, config: gateway_config.GatewayConfig) -> PaymentProvider | None:
        """The client for the current settings (rebuilt when they change)."""
        key = (config.provider, config.api_base_url, config.server_key)
        if key != self._provider_key:
            old = self._provider
            self._provider = gateway_config.build_provider(config, self.timeout)
            self._provider_key = key
            if old is not None and hasattr(old, "aclose"):
                asyncio.get_running_loop().create_task(old.aclose())
        return self._provider

    # -- API ----------------------------------------------------------------------------------

    async def create(self, principal: Principal, order_id: str, data: PaymentAttemptCreate,
                     idempotency_key: str | None) -> tuple[AttemptRow, bool]:
        config = self.db.read_now(gateway_config.load)
        row, created = await self.db.write(lambda conn: attempts.begin(
            conn, order_id, data, principal=principal, config=config, now=self.clock(),
            idempotency_key=idempotency_key))
        if not created:
            return row, False
        attempt = row.attempt
        if attempt.gateway == "static":
            return await self._static(row, config), True
        provider = self.provider(config)
        assert provider is not None
        outlet_id = self.db.read_now(load_outlet).id
        request = ChargeRequest(gateway_order_id=attempt.gateway_order_id, amount=attempt.amount,
                                method=attempt.method, channel=attempt.channel,
                                expiry_seconds=config.qr_expiry_seconds,
                                expires_at=attempt.expires_at, outlet_id=outlet_id,
                                mobile_number=data.mobile_number)
        try:
            charge = await self._create_with_retries(provider, request)
        except GatewayRejected as exc:
            await self._write(lambda conn, now: attempts.failed(conn, attempt.id, now))
            raise Rejected(f"the payment gateway refused the charge: {exc.message}",
                           details={"attempt_id": attempt.id, "gateway_code": exc.code}) from None
        except GatewayUnavailable as exc:
            if attempt.method == "qris" and config.static_qris:
                log.warning("gateway unreachable: static QR", extra={
                    "attempt_id": attempt.id, "error": exc.message})
                return await self._static(row, config), True
            await self._write(lambda conn, now: attempts.failed(conn, attempt.id, now))
            raise Unavailable(f"the payment gateway cannot be reached: {exc.message}",
                              details={"attempt_id": attempt.id}) from None
        row = await self._write(lambda conn, now: attempts.charged(conn, attempt.id, charge, now))
        return row, True

    async def _create_with_retries(self, provider: PaymentProvider,
                                   request: ChargeRequest) -> Charge:
        started = time.monotonic()
        for attempt_no in range(CREATE_TRIES):
            try:
                return await provider.create(request)
            except GatewayUnavailable:
                # The charge may exist (a lost reply): asking again with the same gateway
                # order id / Idempotency-key gets it back rather than a second one.
                if attempt_no == CREATE_TRIES - 1 or time.monotonic() - started > CREATE_BUDGET:
                    raise
                await asyncio.sleep(0.2 * (attempt_no + 1))
        raise AssertionError("unreachable")

    async def _static(self, row: AttemptRow, config: gateway_config.GatewayConfig) -> AttemptRow:
        attempt = row.attempt
        if not config.static_qris:
            raise Unavailable("no static QRIS is set up for this outlet")
        qr = static_qris.dynamic_from_static(config.static_qris, attempt.amount)
        charge = Charge(gateway_ref="", qr_string=qr, expires_at=attempt.expires_at)
        return await self._write(lambda conn, now: attempts.charged(conn, attempt.id, charge, now,
                                                                    gateway="static"))

    async def cancel(self, principal: Principal, attempt_id: str,
                     cancel_order: bool = False) -> AttemptRow:
        row = await self._write(lambda conn, now: attempts.cancel(
            conn, attempt_id, principal=principal, now=now, cancel_order=cancel_order))
        config = self.db.read_now(gateway_config.load)
        provider = self.provider(config) if row.attempt.gateway == config.provider else None
        if provider is not None:
            try:  # void it at the gateway too; a payment that still comes is flagged late
                await provider.cancel(row.attempt.gateway_order_id, row.gateway_ref)
            except (GatewayUnavailable, GatewayRejected) as exc:
                log.warning("gateway cancel failed", extra={"attempt_id": attempt_id,
                                                            "error": exc.message})
        return row

    async def confirm_static(self, principal: Principal, attempt_id: str) -> AttemptRow:
        return await self._write(lambda conn, now: attempts.confirm_static(
            conn, attempt_id, principal=principal, now=now))

    async def _write(self, fn: Callable[[Any, datetime], AttemptRow]) -> AttemptRow:
        result = await self.db.write(lambda conn: fn(conn, self.clock()))
        self.feed.notify()
        return result

    # -- poller -------------------------------------------------------------------------------

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        if self._provider is not None and hasattr(self._provider, "aclose"):
            await self._provider.aclose()

    async def _run(self) -> None:
        while True:
            try:
                await self.poll_once()
            except Exception:  # the poller must never stop the edge
                log.exception("payment poll failed")
            await asyncio.sleep(POLL_EVERY)

    async def poll_once(self) -> int:
        """One round; returns how many attempts it asked about."""
        now = self.clock()
        due = self.db.read_now(lambda conn: repo.due_for_poll(conn, now, POLL_BATCH))
        stale = self.db.read_now(lambda conn: repo.expired_static(conn, now, POLL_BATCH))
        for row in stale:
            await self._write(lambda conn, t, a=row.attempt.id: attempts.expire_locally(conn, a, t))
        if not due:
            return 0
        config = self.db.read_now(gateway_config.load)
        provider = self.provider(config)
        gate = asyncio.Semaphore(POLL_CONCURRENCY)

        async def ask(row: AttemptRow) -> None:
            async with gate:
                await self._poll(provider, config.provider, row)

        await asyncio.gather(*(ask(row) for row in due))
        return len(due)

    async def _poll(self, provider: PaymentProvider | None, provider_name: str,
                    row: AttemptRow) -> None:
        attempt = row.attempt
        now = self.clock()
        answer = None
        if provider is not None and attempt.gateway == provider_name:
            try:
                answer = await provider.status(attempt.gateway_order_id, row.gateway_ref)
            except (GatewayUnavailable, GatewayRejected) as exc:
                log.info("gateway status failed", extra={"attempt_id": attempt.id,
                                                         "error": exc.message})
        if answer is not None and answer.status not in ("pending", "unknown"):
            await self._write(lambda conn, t: attempts.apply_confirmation(
                conn, gateway=attempt.gateway, gateway_order_id=attempt.gateway_order_id,
                status=answer.status, gross_amount=answer.gross_amount,
                transaction_id=answer.transaction_id, now=t) or row)
            await self.db.write(lambda conn: attempts.polled(conn, attempt.id, now))
        elif now > attempt.expires_at + EXPIRY_GRACE:
            await self._write(lambda conn, t: attempts.expire_locally(conn, attempt.id, t))
        else:
            await self.db.write(lambda conn: attempts.polled(conn, attempt.id, now))
