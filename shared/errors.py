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
    │   └── InvalidState (409 invalid_state)
    ├── Rejected (422 rejected)
    ├── TooManyRequests (429 rate_limited)
    └── Unavailable (503 unavailable)
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BadRequest",
    "Conflict",
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
]


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
