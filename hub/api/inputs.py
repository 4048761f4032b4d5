"""Checks every hub request passes before a handler sees it, whatever its route.

* ``CheckedRequest`` (the app's request class): a JSON body nested deeper than
  ``MAX_JSON_DEPTH``, or with a NUL character in any string or key, is a 400
  ``validation_failed`` naming the field (``lines[2].note``). PostgreSQL cannot store NUL in
  text or JSON, and deep nesting exhausts the decoder's recursion: both used to be 500s.
* ``refuse_nul_in_url`` (middleware): a NUL in the path or the query string (``%00``) is a
  400 before routing, so no route, static file lookup or query ever meets it.

Body *sizes* are bounded where the body is read (``request_max_body_size`` on the app and
per route, see ``hub.app``).
"""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Request
from litestar.types import ASGIApp, Receive, Scope, Send

from shared.errors import ValidationFailed, error_body

__all__ = ["MAX_JSON_DEPTH", "CheckedRequest", "json_problem", "refuse_nul_in_url"]

# The deepest body the API takes is an outlet's free-form settings; nothing needs more.
MAX_JSON_DEPTH = 32


def json_problem(value: Any, max_depth: int = MAX_JSON_DEPTH) -> tuple[str, str] | None:
    """``(field, problem)`` for the first string holding a NUL or the first value nested past
    ``max_depth``; None when the decoded JSON is fine. Iterative: no recursion to exhaust."""
    stack: list[tuple[Any, str, int]] = [(value, "", 0)]
    while stack:
        item, path, depth = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return path or "$", "text contains a NUL character"
        elif isinstance(item, dict | list):
            if depth >= max_depth:
                return path or "$", f"nested deeper than {max_depth} levels"
            if isinstance(item, dict):
                for key, child in item.items():
                    where = f"{path}.{key}" if path else str(key)
                    if "\x00" in key:
                        return where.replace("\x00", "\\u0000"), "key contains a NUL character"
                    stack.append((child, where, depth + 1))
            else:
                stack.extend((child, f"{path}[{i}]", depth + 1) for i, child in enumerate(item))
    return None


class CheckedRequest(Request[Any, Any, Any]):
    """Litestar's request whose decoded JSON body has passed ``json_problem``."""

    async def json(self) -> Any:
        try:
            value = await super().json()
        except RecursionError:
            raise ValidationFailed("the JSON body is nested too deeply",
                                   details={"max_depth": MAX_JSON_DEPTH}) from None
        problem = json_problem(value)
        if problem is not None:
            field, message = problem
            raise ValidationFailed(f"{message}: {field}", details={"field": field})
        return value


def refuse_nul_in_url(app: ASGIApp) -> ASGIApp:
    """Answer 400 to a request whose path or query string holds a NUL (raw or ``%00``)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            query = scope.get("query_string", b"").lower()
            if "\x00" in scope.get("path", "") or b"%00" in query or b"\x00" in query:
                if scope["type"] == "http":
                    await _send_nul_refusal(send)
                    return
                await send({"type": "websocket.close", "code": 1008})
                return
        await app(scope, receive, send)

    return middleware


async def _send_nul_refusal(send: Send) -> None:
    body = msgspec.json.encode(error_body("bad_request", "the URL contains a NUL character"))
    await send({"type": "http.response.start", "status": 400,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})
