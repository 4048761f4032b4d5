"""Staff PIN login on a paired device: a short-lived staff JWT that also names the device.

Every attempt is counted by edge.login_throttle before the PIN is looked up (per device and
for the whole box, in the database), and a locked scope answers 429 without a lookup.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta
from typing import Annotated, Any

import msgspec
from litestar import Request, post
from litestar.params import JSONBody

from edge import devices, login_throttle
from edge.api import deps
from edge.db import connect
from shared.errors import Unauthorized
from shared.schemas import InputStruct

__all__ = ["LoginRequest", "auth_routes"]

log = logging.getLogger("edge.auth")


class LoginRequest(InputStruct):
    pin: Annotated[str, msgspec.Meta(min_length=1, max_length=16)]


@post("/api/v1/auth/login", tags=["auth"], status_code=200,
      guards=[deps.requires("staff:login")])
async def login(request: Request[Any, Any, Any], data: JSONBody[LoginRequest]) -> dict[str, Any]:
    state = deps.edge_state(request)
    device = deps.principal(request)
    if device.staff_id:
        raise Unauthorized("log in with the device token, not a staff token")
    policy = state.throttle
    await state.db.write(lambda c: login_throttle.reserve(c, device.device_id, policy, time.time()))
    pepper = state.settings.pin_pepper
    # argon2 takes ~20 ms of CPU: keep it off the event loop.
    staff = await asyncio.to_thread(_find, state, data.pin, pepper)
    if staff is None:
        locks = await state.db.write(
            lambda c: login_throttle.failed(c, device.device_id, policy, time.time()))
        state.metrics.logins_failed.inc()
        log.info("staff login refused", extra={"device_id": device.device_id})
        for lock in locks:
            log.warning("staff logins locked", extra={"device_id": device.device_id,
                                                      "scope": lock.scope, "seconds": lock.seconds,
                                                      "lockouts": lock.lockouts})
        raise Unauthorized("wrong PIN", details={"reason": "wrong_pin"})
    await state.db.write(
        lambda c: login_throttle.succeeded(c, device.device_id, policy, time.time()))
    ttl = timedelta(minutes=state.settings.staff_token_minutes)
    token = devices.issue_staff_token(device, staff, state.settings.jwt_secret, ttl)
    log.info("staff logged in", extra={"device_id": device.device_id, "staff_id": staff.id})
    return {"access_token": token, "token_type": "bearer", "expires_in": int(ttl.total_seconds()),
            "staff": {"id": staff.id, "name": staff.name, "role": staff.role}}


def _find(state: deps.EdgeState, pin: str, pepper: str) -> devices.StaffMember | None:
    # A private read connection: the shared reader belongs to the event-loop thread.
    conn = connect(state.settings.db_path)
    try:
        return devices.find_staff_by_pin(conn, pin, pepper)
    finally:
        conn.close()


auth_routes: list[Any] = [login]
