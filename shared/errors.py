"""The one error hierarchy of the project.

Services raise these; each app has a single exception handler that renders them as
``{"error": {"code": ..., "message": ..., "details": ...}}`` with the class's status.

    PosError (500 internal)
    ├── BadRequest (400 bad_request)
    │   └── ValidationFailed (400 validation_failed)
    ├── Unauthorized (401 unauthorized)
    ├── Forbidden (403 forbidden)
    ├── NotFound (404 not_found)
    ├── Conflict (409 conflict)
    │   ├── IdempotencyConflict (409 idempotency_conflict)
    │   ├── DeadlinePassed (409 order_deadline_passed)
    │   └── InvalidState (409 invalid_state)
    ├── Rejected (422 rejected)
    ├── TooManyRequests (429 rate_limited)
    └── Unavailable (503 unavailable)

Errors the web framework raises itself (bad JSON, a body or query parameter of the wrong
shape, an unknown route, a wrong method, a body too large) are rendered by
``framework_error_body`` on every app: the same status gives the same code (``HTTP_CODES``;
every framework 400 is ``validation_failed``, like a ``ValidationFailed`` a service raises),
and a validation error names the field in ``details.field`` as the apps' own checks do.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "HTTP_CODES",
    "BadRequest",
    "Conflict",
    "DeadlinePassed",
    "Forbidden",
    "IdempotencyConflict",
    "InvalidState",
    "NotFound",
    "PosError",
    "Rejected",
    "TooManyRequests",
    "Unauthorized",
    "Unavailable",
    "ValidationFailed",
    "error_body",
    "framework_error_body",
]

# The code of an error the framework raised, by HTTP status (on the edge and the hub alike).
HTTP_CODES = {400: "validation_failed", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 409: "conflict", 413: "payload_too_large",
              415: "unsupported_media_type", 422: "rejected", 429: "rate_limited",
              503: "unavailable"}
# The key the framework gives a problem with the body as a whole (not one of its fields).
_WHOLE_BODY = ("", "data", "body")


class PosError(Exception):
    status: int = 500
    code: str = "internal"

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class BadRequest(PosError):
    status = 400
    code = "bad_request"


class ValidationFailed(BadRequest):
    code = "validation_failed"


class Unauthorized(PosError):
    status = 401
    code = "unauthorized"


class Forbidden(PosError):
    status = 403
    code = "forbidden"


class NotFound(PosError):
    status = 404
    code = "not_found"


class Conflict(PosError):
    status = 409
    code = "conflict"


class IdempotencyConflict(Conflict):
    code = "idempotency_conflict"


class DeadlinePassed(Conflict):
    """The request reached the server after the deadline its sender gave it (nothing done)."""

    code = "order_deadline_passed"


class InvalidState(Conflict):
    code = "invalid_state"


class Rejected(PosError):
    status = 422
    code = "rejected"


class TooManyRequests(PosError):
    status = 429
    code = "rate_limited"


class Unavailable(PosError):
    status = 503
    code = "unavailable"


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    """The single JSON error shape used by every app."""
    return {"error": {"code": code, "message": message, "details": details}}


def framework_error_body(status: int, message: str, problems: Any = None) -> dict[str, Any]:
    """The body for an error the web framework raised, the same on every app.

    ``problems`` is the framework's list of ``{"key", "message", "source"}`` for a validation
    error: its first problem gives the message and ``details.field`` (None when the body as
    a whole is wrong). Any 400 has ``details.field``; other statuses have no details."""
    code = HTTP_CODES.get(status, "internal" if status >= 500 else "bad_request")
    if status != 400:
        return error_body(code, message, None)
    first = problems[0] if isinstance(problems, list) and problems else None
    field = None
    if isinstance(first, dict):
        message = str(first.get("message") or message)
        key = str(first.get("key") or "")
        field = None if key in _WHOLE_BODY else key
    return error_body(code, message, {"field": field})
