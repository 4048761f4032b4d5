"""Structured logs for every app: one JSON object per line on stderr, and the request id.

Fields passed with ``extra=`` (order id, outlet id, ...) become top-level keys. Never pass
secrets, PINs or tokens. As a second line of defence every line is redacted before it is
written (``redact``): a ``token=`` query parameter (uvicorn logs a WebSocket's path with its
query: ``"WebSocket /api/v1/stream?token=dev_..."``), an ``Authorization`` value, and anything
shaped like a device token (``dev_...``) or a JWT become ``[redacted]``.

Request ids: each app's HTTP middleware takes the caller's ``X-Request-ID`` when it is sane
(``request_id_from``; the sync client sends one with every push and pull) or mints one,
sets it for the request (``bind_request_id``), and echoes it in the response header. While
it is set, every line logged by that request carries it as ``request_id``, so one id
finds the edge's lines and the hub's lines of the same sync call.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

import msgspec

from shared.ids import new_id

__all__ = [
    "REQUEST_ID_HEADER",
    "JsonFormatter",
    "bind_request_id",
    "configure_logging",
    "current_request_id",
    "new_request_id",
    "redact",
    "request_id_from",
    "unbind_request_id",
]

REQUEST_ID_HEADER = "X-Request-ID"
_HEADER_KEY = REQUEST_ID_HEADER.lower().encode()
# What a caller's id may look like: short, and nothing a log reader could mistake for syntax.
_SANE_ID = re.compile(rb"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_request_id: ContextVar[str] = ContextVar("request_id", default="")

_encoder = msgspec.json.Encoder()
# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()) | {
    "message", "asctime", "color_message", "taskName"}

_SECRETS = [
    # ?token=... / &access_token=... in a path or URL (the value ends at &, space, a quote or
    # the backslash of a quote escaped in JSON: redaction runs on the encoded line)
    (re.compile(r"(?i)([?&;](?:access_)?token=)[^&\s\"'#\\]+"), r"\1[redacted]"),
    # Authorization: Bearer xyz / "authorization": "Basic xyz"
    (re.compile(r"(?i)(authorization\\?[\"']?\s*[:=]\s*\\?[\"']?)(?:(?:bearer|basic)\s+)?"
                r"[^\s\"',;\\]+"),
     r"\1[redacted]"),
    (re.compile(r"\bdev_[A-Za-z0-9_\-]{8,}"), "dev_[redacted]"),  # device tokens
    (re.compile(r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+"), "[redacted-jwt]"),
]
# Libraries whose routine lines an operator does not need (INFO every scheduler tick).
_QUIET = ("apscheduler.executors.default", "apscheduler.scheduler")


# The literal each pattern of _SECRETS cannot match without (lower-cased for the two
# case-insensitive ones): a line without it skips that pattern. Every request and every push
# writes a line, and the four scans cost 50-90 us a line; the substring tests cost < 1 us.
_NEEDLES = ("token=", "authorization", "dev_", "eyJ")
_CASELESS = (True, True, False, False)


def redact(text: str) -> str:
    """``text`` with every token, bearer credential or JWT in it replaced by [redacted]."""
    # lower() finds the caseless literals exactly as (?i) does for ASCII text only (Unicode
    # folds a few other letters onto ASCII ones), so other text gets every scan.
    lowered = text.lower() if text.isascii() else None
    for (pattern, replacement), needle, caseless in zip(_SECRETS, _NEEDLES, _CASELESS,
                                                        strict=True):
        if caseless and lowered is not None and needle not in lowered:
            continue
        if not caseless and needle not in text:
            continue
        text = pattern.sub(replacement, text)
        if caseless and lowered is not None:
            lowered = text.lower()
    return text


def new_request_id() -> str:
    """A fresh request id (a UUIDv7: ids sort by time)."""
    return new_id()


def request_id_from(headers: Iterable[tuple[bytes, bytes]]) -> str:
    """The caller's X-Request-ID from ASGI headers when it is sane, else a new one."""
    for name, value in headers:
        if name.lower() == _HEADER_KEY:
            return value.decode() if _SANE_ID.fullmatch(value) else new_request_id()
    return new_request_id()


def bind_request_id(request_id: str) -> Token[str]:
    """Tag every line logged from here on (in this context) with ``request_id``."""
    return _request_id.set(request_id)


def unbind_request_id(token: Token[str]) -> None:
    _request_id.reset(token)


def current_request_id() -> str:
    """The request id of the request being served ("" outside one)."""
    return _request_id.get()


class JsonFormatter(logging.Formatter):
    """One redacted JSON object per line: ts, level, logger, msg, request_id, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = _request_id.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        try:
            line = _encoder.encode(entry).decode(errors="replace")
        except (TypeError, msgspec.EncodeError):
            # Something in ``extra`` is not JSON: show it as its repr rather than lose the line.
            line = _encoder.encode({k: v if isinstance(v, str | int | float | bool | None) else repr(v)
                                    for k, v in entry.items()}).decode(errors="replace")
        return redact(line)


def configure_logging(level: str = "INFO") -> None:
    """Route every logger (ours, uvicorn's, litestar's) to JSON lines on stderr.

    uvicorn's access log is off: each app's middleware logs one line per request itself,
    with the request id."""
    # No caller lookup per record (the logging HOWTO's "Optimization"): the JSON lines carry
    # no file or line, and walking the stack was 2 % of the hub's CPU per push.
    logging._srcfile = None  # type: ignore[attr-defined]
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "litestar"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    for name in _QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
