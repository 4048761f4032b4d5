"""Older edges: payloads saved from wire version 1 decode, apply, and get a reply they can read."""

from __future__ import annotations

import json
import zlib
from datetime import datetime
from pathlib import Path

import httpx
import msgspec
import pytest

from edge.outbox import chain_hash, genesis_hash
from shared.schemas import KitchenEvent, PaymentEvent, event_decoder
from sync.protocol import (
    ACCEPTED_VERSIONS,
    MEDIA_TYPE,
    WIRE_VERSION,
    FrameError,
    PushRequest,
    decode_frame,
    encode_frame,
    frame_version,
)
from tests.sync.conftest import enroll, issue_code, pg_query

FIXTURES = Path(__file__).parent / "fixtures"


def saved_v1() -> tuple[bytes, dict]:
    return (FIXTURES / "push_v1.bin").read_bytes(), json.loads(
        (FIXTURES / "push_v1.expected.json").read_text())


class PushResponseV1(msgspec.Struct, kw_only=True):
    """What a version-1 edge decodes a push reply into (frozen copy of the v1 struct)."""

    status: str
    epoch: str
    acked_seq: int
    version: int = 1
    resend_from: int | None = None
    applied: int = 0
    duplicates: int = 0


def test_saved_v1_push_decodes_into_the_current_structs():
    frame, expected = saved_v1()
    assert frame_version(frame) == 1 and 1 in ACCEPTED_VERSIONS and WIRE_VERSION == 2
    request = decode_frame(frame, PushRequest)
    assert (request.outlet_id, request.epoch) == (expected["outlet_id"], expected["epoch"])
    assert [e.seq for e in request.entries] == expected["seqs"]
    # fields added in v2 take their defaults
    assert (request.backlog, request.sent_at, request.edge_version) == (0, None, "")
    prev = genesis_hash(request.epoch)
    kinds = []
    for entry in request.entries:
        assert entry.prev_hash == prev and chain_hash(prev, entry.seq, entry.body) == entry.hash
        prev = entry.hash
        body = event_decoder.decode(entry.body)
        kinds.append(type(body).__struct_config__.tag)
        assert isinstance(body, (PaymentEvent, KitchenEvent))
        assert isinstance(entry.occurred_at, datetime) and entry.occurred_at.tzinfo is not None
    assert kinds == expected["kinds"] and prev == expected["last_hash"]


def test_frames_that_are_not_ours_are_rejected():
    good = encode_frame(PushRequest(outlet_id="o", epoch="e", entries=[]))
    assert decode_frame(good, PushRequest).outlet_id == "o"
    with pytest.raises(FrameError):
        decode_frame(b"<html>proxy error</html>", PushRequest)
    with pytest.raises(FrameError, match="unsupported wire version"):
        decode_frame(b"FPS" + bytes((99, 0)) + good[5:], PushRequest)
    with pytest.raises(FrameError):
        decode_frame(b"FPS" + bytes((2, 1)) + b"not zlib", PushRequest)
    with pytest.raises(FrameError):
        decode_frame(b"FPS" + bytes((2, 0)) + b"\xc1", PushRequest)


@pytest.mark.postgres
def test_hub_applies_a_v1_push_and_answers_in_v1(hub_server, tenant, outlet_factory):
    outlet = outlet_factory(tenant)
    credential = enroll(hub_server.base_url, issue_code(tenant, outlet["id"]).json()["code"]).credential
    frame, expected = saved_v1()
    # Re-address only the envelope to the enrolled outlet (bodies are hashed, envelopes are not);
    # the payload stays the bytes the old edge produced.
    raw = msgspec.msgpack.decode(zlib.decompress(frame[5:]))
    raw["outlet_id"] = outlet["id"]
    for entry in raw["entries"]:
        entry["outlet_id"] = outlet["id"]
    v1_frame = b"FPS" + bytes((1, 0)) + msgspec.msgpack.encode(raw)
    headers = {"Authorization": f"Bearer {credential}", "Content-Type": MEDIA_TYPE}
    for attempt in range(2):  # the second time is an idempotent replay
        reply = httpx.post(hub_server.base_url + "/api/v1/sync/push", content=v1_frame,
                           headers=headers, timeout=30)
        assert reply.status_code == 200, reply.text
        assert frame_version(reply.content) == 1
        old = decode_frame(reply.content, PushResponseV1)
        assert (old.status, old.acked_seq, old.applied) == ("ok", 4, 4 if attempt == 0 else 0)
    rows = pg_query(hub_server.db_url,
                    "SELECT id, amount FROM payments WHERE outlet_id = %s ORDER BY id", outlet["id"])
    assert dict(rows) == expected["payments"]
    kitchen = pg_query(hub_server.db_url, "SELECT action FROM kitchen_events WHERE outlet_id = %s"
                       " ORDER BY at", outlet["id"])
    assert [k[0] for k in kitchen] == ["created", "bumped"]
    versions = pg_query(hub_server.db_url, "SELECT DISTINCT wire_version FROM sync_journal"
                        " WHERE outlet_id = %s", outlet["id"])
    assert versions == [(1,)]


@pytest.mark.postgres
def test_hub_rejects_garbage_with_a_clear_400(hub_server, tenant, outlet_factory):
    outlet = outlet_factory(tenant)
    credential = enroll(hub_server.base_url, issue_code(tenant, outlet["id"]).json()["code"]).credential
    reply = httpx.post(hub_server.base_url + "/api/v1/sync/push", content=b"hello",
                       headers={"Authorization": f"Bearer {credential}"}, timeout=30)
    assert reply.status_code == 400 and reply.json()["error"]["code"] == "corrupt_frame"
    # A real batch damaged on the way (one byte flipped, or cut short) is caught by the frame's
    # checksum: a retryable 400, not a "broken chain" alarm against the outlet.
    frame = bytearray(encode_frame(PushRequest(outlet_id=outlet["id"], epoch="e1", entries=[])))
    frame[len(frame) // 2] ^= 0x40
    for damaged in (bytes(frame), bytes(frame[: len(frame) - 3])):
        reply = httpx.post(hub_server.base_url + "/api/v1/sync/push", content=damaged,
                           headers={"Authorization": f"Bearer {credential}"}, timeout=30)
        assert reply.status_code == 400 and reply.json()["error"]["code"] == "corrupt_frame"
    assert pg_query(hub_server.db_url, "SELECT count(*) FROM sync_alarms WHERE outlet_id = %s",
                    outlet["id"]) == [(0,)]
    unauth = httpx.post(hub_server.base_url + "/api/v1/sync/push", content=b"hello", timeout=30)
    assert unauth.status_code == 401 and "error" in unauth.json()
