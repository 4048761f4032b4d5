"""QRIS payloads (EMVCo Merchant-Presented Mode) for the offline fallback, and QR rendering.

A QRIS payload is a string of TLV fields: two-digit tag, two-digit decimal length, value;
templates (26-51 merchant accounts, 62 additional data) nest fields the same way. The last
field is tag 63, a CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) over everything before its
value, "6304" included, as four upper-case hex digits.

``dynamic_from_static`` turns the merchant's printed (static) QRIS into a one-off payload
for one amount: tag 01 (point of initiation) becomes "12" (dynamic), tag 54 (transaction
amount) is set, the tip fields 55-57 are dropped (the customer may not add to a fixed
amount), and the CRC is recomputed. The bank apps that scan it pay the merchant's account as
the sticker would, with the amount filled in.

Why not a library: on PyPI ``qriskit`` (0.2.0, "Alpha", one maintainer, months old) parses
and builds QRIS; the part needed here is a TLV walk and a CRC (about 60 lines, tested against
published vectors), not worth an early-stage dependency in the payment path. Rendering uses
``segno`` (pure Python, maintained since 2016, SVG without Pillow).
"""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Sequence

import segno

__all__ = ["QrisError", "cached_svg", "crc16", "dynamic_from_static", "emv_payload", "parse",
           "render_svg", "svg_for"]

MAX_PAYLOAD = 512  # EMVCo MPM payloads are at most 512 characters
SVG_CACHE_SIZE = 128  # QRs kept rendered: far more than an outlet has pending at once
Field = tuple[str, str | Sequence["Field"]]


class QrisError(ValueError):
    """The text is not a well-formed QRIS payload (the message says where)."""


def crc16(data: str) -> str:
    """CRC-16/CCITT-FALSE of ``data`` (ASCII), as four upper-case hex digits."""
    crc = 0xFFFF
    for byte in data.encode("ascii"):
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return f"{crc:04X}"


def parse(payload: str, *, check_crc: bool = True) -> list[tuple[str, str]]:
    """The top-level fields of a payload, in order; raises QrisError if malformed."""
    if not payload or len(payload) > MAX_PAYLOAD:
        raise QrisError(f"a QRIS payload has 1 to {MAX_PAYLOAD} characters")
    if not payload.isascii() or not payload.isprintable():
        raise QrisError("a QRIS payload holds printable ASCII only")
    fields = _walk(payload)
    if not fields or fields[0] != ("00", "01"):
        raise QrisError("a QRIS payload starts with 000201 (payload format indicator)")
    if fields[-1][0] != "63" or len(fields[-1][1]) != 4:
        raise QrisError("a QRIS payload ends with its CRC (tag 63, 4 characters)")
    if check_crc and crc16(payload[:-4]) != fields[-1][1].upper():
        raise QrisError("the payload's CRC (tag 63) does not match its content")
    return fields


def _walk(text: str) -> list[tuple[str, str]]:
    fields, at = [], 0
    while at < len(text):
        tag, size = text[at:at + 2], text[at + 2:at + 4]
        if len(size) < 2 or not tag.isdigit() or not size.isdigit():
            raise QrisError(f"malformed field at position {at}")
        value = text[at + 4:at + 4 + int(size)]
        if len(value) != int(size):
            raise QrisError(f"field {tag} at position {at} is cut short")
        fields.append((tag, value))
        at += 4 + int(size)
    return fields


def _encode(fields: Sequence[Field]) -> str:
    out = []
    for tag, value in fields:
        text = value if isinstance(value, str) else _encode(value)
        if len(tag) != 2 or not tag.isdigit() or len(text) > 99:
            raise QrisError(f"field {tag} cannot be encoded (value of {len(text)} characters)")
        out.append(f"{tag}{len(text):02d}{text}")
    return "".join(out)


def emv_payload(fields: Sequence[Field]) -> str:
    """Encode fields (a value may be a list of sub-fields) and append the CRC field."""
    body = _encode([f for f in fields if f[0] != "63"]) + "6304"
    return body + crc16(body)


def dynamic_from_static(static_payload: str, amount: int) -> str:
    """The merchant's static QRIS with ``amount`` (whole rupiah) injected, as a dynamic QR."""
    if not 1 <= amount <= 9_999_999_999_999:
        raise QrisError("the amount must be between 1 and 13 digits")
    fields = parse(static_payload.strip())
    if not any(tag == "53" and value == "360" for tag, value in fields):
        raise QrisError("not a QRIS payload in rupiah (tag 53 must be 360)")
    kept: list[Field] = [(t, v) for t, v in fields if t not in ("01", "54", "55", "56", "57", "63")]
    kept.append(("01", "12"))
    kept.append(("54", str(amount)))
    kept.sort(key=lambda f: f[0])  # tags in ascending order, as EMVCo lists them
    return emv_payload(kept)


def render_svg(payload: str) -> str:
    """An SVG image of the QR code (medium error correction, a quiet zone of four modules)."""
    return segno.make(payload, error="m", micro=False).svg_inline(scale=6, border=4)


# Rendering costs about 8 ms of CPU per QR (segno, pure Python), and an attempt's QR string
# never changes: each one is rendered once, in a worker thread, and kept here (an LRU keyed by
# the string; at most SVG_CACHE_SIZE entries, about 9 kB for a 512-character payload) so
# the create request's replays and every GET of a pending attempt answer it without rendering.
_svgs: OrderedDict[str, str] = OrderedDict()
_svgs_lock = threading.Lock()


def cached_svg(payload: str) -> str | None:
    """The SVG already rendered for ``payload``, or None."""
    with _svgs_lock:
        svg = _svgs.get(payload)
        if svg is not None:
            _svgs.move_to_end(payload)
        return svg


def _render_and_keep(payload: str) -> str:
    svg = render_svg(payload)
    with _svgs_lock:
        _svgs[payload] = svg
        _svgs.move_to_end(payload)
        while len(_svgs) > SVG_CACHE_SIZE:
            _svgs.popitem(last=False)
    return svg


async def svg_for(payload: str) -> str:
    """``render_svg(payload)``, from the cache, or rendered off the event loop and cached."""
    svg = cached_svg(payload)
    if svg is None:
        svg = await asyncio.to_thread(_render_and_keep, payload)
    return svg
