"""One place that turns an HTTP exchange with a gateway into (status, JSON body) or a
GatewayUnavailable: connection errors, timeouts, 5xx and answers that are not JSON."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from edge.payments.provider import GatewayUnavailable

if TYPE_CHECKING:
    import httpx

__all__ = ["MAX_REPLY_BYTES", "basic_auth", "call"]

MAX_REPLY_BYTES = 256 * 1024  # a gateway's answer is a few KB


def basic_auth(secret_key: str) -> str:
    """``Authorization`` value: the secret key as user name, empty password."""
    return "Basic " + base64.b64encode(f"{secret_key}:".encode()).decode()


async def call(client: httpx.AsyncClient, method: str, url: str, *, gateway: str,
               headers: dict[str, str], json: Any = None) -> tuple[int, dict[str, Any]]:
    import httpx  # loaded with the provider's client (see midtrans.py), not at every edge start

    try:
        res = await client.request(method, url, headers=headers, json=json)
    except httpx.TimeoutException as exc:
        raise GatewayUnavailable(f"{gateway} did not answer in time ({type(exc).__name__})") from None
    except httpx.HTTPError as exc:
        raise GatewayUnavailable(f"{gateway} cannot be reached ({type(exc).__name__})") from None
    if res.status_code >= 500:
        raise GatewayUnavailable(f"{gateway} answered {res.status_code}", status=res.status_code)
    if len(res.content) > MAX_REPLY_BYTES:
        raise GatewayUnavailable(f"{gateway} answered {len(res.content)} bytes", status=res.status_code)
    try:
        body = res.json()
    except ValueError:
        raise GatewayUnavailable(f"{gateway} answered {res.status_code} without JSON",
                                 status=res.status_code) from None
    if not isinstance(body, dict):
        raise GatewayUnavailable(f"{gateway} answered a JSON {type(body).__name__}",
                                 status=res.status_code)
    return res.status_code, body
