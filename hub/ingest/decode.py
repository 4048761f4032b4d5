"""Journal entries read before any database work: each body decoded, each hash checked
against the entry's own content. This is the CPU-heavy part of a push; ``hub.ingest.push``
runs it before taking the outlet's lock, so it overlaps the previous batch's writes.

The hub stores text from the edges in PostgreSQL, which cannot hold NUL: ``decode_event``
replaces it (see there), ``pg_text`` does the same for text the hub writes itself.
``decode_all`` leaves that step to ``nul_free``: finding a NUL costs as much as the decoding,
and the push's fast path needs no such step (its rows are sent as JSON text, where a NUL is
one ``\u0000`` to look for: ``hub.ingest.store.write_facts_on``), so only the full path
takes it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from shared.journal import chain_hash
from shared.schemas import JournalEntry, event_decoder, json_encoder

__all__ = ["Decoded", "decode_all", "decode_event", "kind_of", "nul_free", "pg_text"]


@dataclass
class Decoded:
    """What can be learned of an entry without the database: its body (None and a problem
    when undecodable) and whether its hash is the chain hash of its own content (its link to
    the held journal is checked later)."""

    body: Any
    problem: str
    hash_ok: bool


def decode_event(raw: bytes) -> Any:
    """An event body as the hub stores it: every NUL in its text replaced by U+FFFD.

    PostgreSQL text and JSON cannot hold NUL. Edges refuse it now, but an older edge may have
    journaled one (an order note): quarantining that event would keep the order from head
    office forever, so the hub keeps the order and marks the character instead. The journal
    keeps the bytes as sent (its hash chain covers them).
    """
    return _nul_replaced(event_decoder.decode(raw), raw)


def _nul_replaced(body: Any, raw: bytes) -> Any:
    # A NUL byte is common in msgpack (the integer 0); only a JSON rendering of the decoded
    # event tells a NUL inside a text apart, and only then is the event rebuilt.
    if b"\x00" in raw and b"\\u0000" in json_encoder.encode(body):
        return _without_nul(body)
    return body


def _without_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace("\x00", "\ufffd")
    if isinstance(value, msgspec.Struct):
        return msgspec.structs.replace(value, **{name: _without_nul(getattr(value, name))
                                                 for name in value.__struct_fields__})
    if isinstance(value, list | tuple):
        return type(value)(_without_nul(item) for item in value)
    if isinstance(value, dict):
        return {_without_nul(k): _without_nul(v) for k, v in value.items()}
    return value


def pg_text(text: str) -> str:
    """Text from an edge for a column of ours (a quarantine reason, an event kind)."""
    return text.replace("\x00", "\ufffd")


def decode_all(entries: list[JournalEntry]) -> list[Decoded]:
    """Decode and hash-check a batch, entry by entry (an undecodable body is not an error
    here: it is quarantined once its place in the journal is proven). A body's text may still
    hold NUL: ``nul_free`` before storing it anywhere but through the fast path."""
    decoded = []
    for entry in entries:
        hash_ok = chain_hash(entry.prev_hash, entry.seq, entry.body) == entry.hash
        try:
            decoded.append(Decoded(event_decoder.decode(entry.body), "", hash_ok))
        except msgspec.MsgspecError as exc:
            decoded.append(Decoded(None, f"undecodable event body: {exc}", hash_ok))
    return decoded


def nul_free(entries: list[JournalEntry], decoded: list[Decoded]) -> list[Decoded]:
    """``decoded`` with every NUL in its bodies' text replaced, as ``decode_event`` does."""
    return [Decoded(_nul_replaced(d.body, entry.body), d.problem, d.hash_ok)
            if d.body is not None else d for entry, d in zip(entries, decoded, strict=True)]


def kind_of(body: Any, raw: bytes) -> str:
    """The event's ``kind`` tag, read from the raw msgpack when the body did not decode."""
    if body is not None:
        return type(body).__struct_config__.tag
    try:
        found = msgspec.msgpack.decode(raw)
        if isinstance(found, dict):
            return pg_text(str(found.get("kind", "unknown"))[:32])
    except msgspec.MsgspecError:
        pass
    return "unknown"
