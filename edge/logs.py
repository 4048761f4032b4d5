"""Structured logs: one JSON object per line on stderr.

Fields passed with ``extra=`` (request id, order id, outlet id, ...) become top-level keys.
Never pass secrets, PINs or tokens. As a second line of defence every line is redacted
before it is written (``redact``): a ``token=`` query parameter (uvicorn logs a WebSocket's
path with its query: ``"WebSocket /api/v1/stream?token=dev_..."``), an ``Authorization``
value, and anything shaped like a device token (``dev_...``) or a JWT become ``[redacted]``.
"""

from __future__ import annotations

import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

import msgspec

__all__ = ["JsonFormatter", "configure_logging", "redact"]

_encoder = msgspec.json.Encoder()
# Attributes every LogRecord has; anything else on a record came from ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", (), None)).keys()) | {"message", "asctime", "color_message"}


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


def redact(text: str) -> str:
    """``text`` with every token, bearer credential or JWT in it replaced by [redacted]."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    return text


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
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
    """Route every logger (ours, uvicorn's, litestar's) to JSON lines on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "litestar"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # our middleware logs each request
