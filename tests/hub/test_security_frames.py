"""Attacks on the hub's sync frames through a real ``pos-hub serve`` (issue 9, H1).

``POST /api/v1/enrollment/redeem`` needs no login. A frame of 64 KB on the wire that inflates
to 63 MiB (``"code": "A" * 63 MiB``) used to be inflated and walked on the event loop: one
held ``/api/health`` for 5 s, four for 20 s. Now every unauthenticated input is bounded before
any work: the body by the route's limit (Content-Length, or counted while it streams), the
payload by inflating no further than that limit, every field by its length, and each client
IP by a rate limit. Authenticated pushes have their own (larger) limits and decode big bodies
off the event loop.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
import zlib
from collections.abc import Callable, Iterator
from typing import Any, Self

import httpx
import msgspec
import pytest

from sync.protocol import (
    MEDIA_TYPE,
    PUSH_MAX_BYTES,
    REDEEM_MAX_BYTES,
    EnrollRequest,
    EnrollResponse,
    PushRequest,
    PushResponse,
    decode_frame,
    encode_frame,
)

pytestmark = pytest.mark.postgres

HEADERS = {"Content-Type": MEDIA_TYPE}
HEALTH_BOUND_S = 1.0  # the acceptance: /api/health answers within 1 s meanwhile
ANSWER_BOUND_S = 5.0  # "each frame gets a 4xx quickly" (it took 6 s to 20 s before)


def bomb(field: str = "code", size: int = 63 * 1024 * 1024, **extra: Any) -> bytes:
    """A sync frame whose payload has one ``size``-byte text: ~64 KB on the wire at 63 MiB."""
    payload = msgspec.msgpack.encode({field: "A" * size, **extra})
    return b"FPS\x02\x01" + zlib.compress(payload, 9)


def error_of(reply: httpx.Response) -> dict[str, Any]:
    body = reply.json()
    assert set(body) == {"error"} and {"code", "message", "details"} <= set(body["error"]), body
    return body["error"]


class HealthProbe:
    """Polls /api/health on its own thread and keeps every latency until stopped."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with httpx.Client(base_url=self.base_url, timeout=30) as client:
            while not self._stop.is_set():
                started = time.perf_counter()
                try:
                    status = client.get("/api/health").status_code
                except httpx.HTTPError as exc:
                    self.failures.append(repr(exc))
                    continue
                self.latencies.append(time.perf_counter() - started)
                if status != 200:
                    self.failures.append(f"health answered {status}")
                time.sleep(0.02)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        time.sleep(0.2)  # a few probes after the attack too
        self._stop.set()
        self._thread.join(timeout=60)


def fire(base_url: str, path: str, bodies: list[Any], headers: dict[str, str]
         ) -> list[tuple[int, float, dict[str, Any]]]:
    """POST every body at once (one thread and connection each): (status, seconds, error)."""
    results: list[tuple[int, float, dict[str, Any]]] = [(0, 0.0, {})] * len(bodies)
    start = threading.Barrier(len(bodies))

    def one(index: int) -> None:
        with httpx.Client(base_url=base_url, timeout=60) as client:
            start.wait()
            started = time.perf_counter()
            reply = client.post(path, content=bodies[index], headers=headers)
            elapsed = time.perf_counter() - started
            results[index] = (reply.status_code, elapsed,
                              error_of(reply) if reply.status_code >= 400 else {})

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(bodies))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def chunked(data: bytes, size: int = 16 * 1024) -> Iterator[bytes]:
    """The body as a stream without Content-Length (chunked transfer encoding)."""
    for i in range(0, len(data), size):
        yield data[i:i + size]


def announce_only(base_url: str, path: str, length: int, headers: dict[str, str]
                  ) -> tuple[int, bytes]:
    """Send only the request head, announcing a ``length``-byte body, and read the answer: a
    server that waited for the body would not answer before the timeout."""
    host, port = base_url.removeprefix("http://").split(":")
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}", f"Content-Length: {length}",
             *(f"{k}: {v}" for k, v in headers.items()), "", ""]
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        sock.sendall("\r\n".join(lines).encode())
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        head, _, rest = answer.partition(b"\r\n\r\n")
        size = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                     if line.lower().startswith(b"content-length:")), 0)
        while len(rest) < size:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
    return int(head.split(b" ")[1]), rest


@pytest.fixture(scope="module")
def credential(hub_server, tenant_factory) -> Callable[[], tuple[str, str]]:
    """An enrolled outlet's (outlet_id, sync credential) on the shared hub."""
    t = tenant_factory()

    def make() -> tuple[str, str]:
        outlet = t.create_outlet(f"Bombed {uuid.uuid4().hex[:6]}")
        code = t.client.post(f"/api/v1/outlets/{outlet['id']}/enrollment-codes", json={})
        assert code.status_code == 201, code.text
        frame = encode_frame(EnrollRequest(code=code.json()["code"],
                                           device_key="dk_" + uuid.uuid4().hex))
        reply = httpx.post(hub_server.base_url + "/api/v1/enrollment/redeem", content=frame,
                           headers=HEADERS, timeout=30)
        assert reply.status_code == 200, reply.text
        return outlet["id"], decode_frame(reply.content, EnrollResponse).credential

    return make


def test_four_redeem_bombs_in_flight_leave_health_answering(hub_server) -> None:
    frame = bomb(device_key="k" * 32)
    assert len(frame) < 70 * 1024  # the attack: ~64 KB on the wire for 63 MiB inflated
    with HealthProbe(hub_server.base_url) as probe:
        results = fire(hub_server.base_url, "/api/v1/enrollment/redeem", [frame] * 4, HEADERS)
        # the same bombs streamed without a Content-Length: counted while they arrive
        streamed = [fire(hub_server.base_url, "/api/v1/enrollment/redeem",
                         [chunked(frame)], HEADERS)[0] for _ in range(2)]
    assert not probe.failures, probe.failures
    assert probe.latencies and max(probe.latencies) < HEALTH_BOUND_S, max(probe.latencies)
    for status, elapsed, error in [*results, *streamed]:
        assert status == 413 and error["code"] == "payload_too_large", (status, error)
        assert elapsed < ANSWER_BOUND_S, elapsed


def test_a_bomb_small_enough_on_the_wire_stops_inflating_at_the_limit(hub_server) -> None:
    # ~3 KB on the wire, under the route's body limit: refused by the inflate limit.
    small = bomb(size=3 * 1024 * 1024, device_key="k" * 32)
    assert len(small) < REDEEM_MAX_BYTES
    started = time.perf_counter()
    reply = httpx.post(hub_server.base_url + "/api/v1/enrollment/redeem", content=small,
                       headers=HEADERS, timeout=30)
    assert time.perf_counter() - started < ANSWER_BOUND_S
    error = error_of(reply)
    assert reply.status_code == 413 and error["code"] == "payload_too_large", reply.text
    assert error["details"] == {"max_bytes": REDEEM_MAX_BYTES}


def test_redeem_fields_are_bounded_and_named(hub_server) -> None:
    url = hub_server.base_url + "/api/v1/enrollment/redeem"
    cases = {
        "code": EnrollRequest(code="A" * 65, device_key="k" * 32),
        "device_key": EnrollRequest(code="A" * 16, device_key="k" * 129),
        "hostname": EnrollRequest(code="A" * 16, device_key="k" * 32, hostname="box\x00"),
        "edge_version": EnrollRequest(code="A" * 16, device_key="k" * 32, edge_version="v" * 201),
    }
    for field, message in cases.items():
        reply = httpx.post(url, content=encode_frame(message), headers=HEADERS, timeout=30)
        error = error_of(reply)
        assert reply.status_code == 400 and error["code"] == "invalid_frame", reply.text
        assert error["details"] == {"field": field}, error
    nul = httpx.post(url, content=encode_frame(cases["hostname"]), headers=HEADERS, timeout=30)
    assert "NUL" in error_of(nul)["message"]


def test_bytes_after_the_compressed_stream_are_refused(hub_server) -> None:
    frame = encode_frame(EnrollRequest(code="A" * 16, device_key="k" * 32))
    reply = httpx.post(hub_server.base_url + "/api/v1/enrollment/redeem",
                       content=frame + b"\x00smuggled", headers=HEADERS, timeout=30)
    error = error_of(reply)
    assert reply.status_code == 400 and error["code"] == "corrupt_frame", reply.text
    assert "after the end" in error["message"]


def test_four_push_bombs_from_an_enrolled_box_leave_health_answering(hub_server, credential
                                                                    ) -> None:
    outlet_id, secret = credential()
    frame = bomb("edge_version", outlet_id=outlet_id, epoch="e1", entries=[])
    headers = {**HEADERS, "Authorization": f"Bearer {secret}"}
    with HealthProbe(hub_server.base_url) as probe:
        results = fire(hub_server.base_url, "/api/v1/sync/push", [frame] * 4, headers)
    assert not probe.failures, probe.failures
    assert probe.latencies and max(probe.latencies) < HEALTH_BOUND_S, max(probe.latencies)
    for status, elapsed, error in results:
        assert status == 413 and error["code"] == "payload_too_large", (status, error)
        assert error["details"] == {"max_bytes": PUSH_MAX_BYTES}
        assert elapsed < ANSWER_BOUND_S, elapsed
    # A body past the push limit is refused by its Content-Length, before it is read, and an
    # unauthenticated one before that.
    status, body = announce_only(hub_server.base_url, "/api/v1/sync/push", PUSH_MAX_BYTES + 1,
                                 headers)
    assert status == 413 and b"payload_too_large" in body, body
    anonymous = httpx.post(hub_server.base_url + "/api/v1/sync/push", content=frame,
                           headers=HEADERS, timeout=30)
    assert anonymous.status_code == 401


def test_a_push_with_a_nul_in_a_stored_field_is_refused_naming_it(hub_server, credential) -> None:
    outlet_id, secret = credential()
    headers = {**HEADERS, "Authorization": f"Bearer {secret}"}
    url = hub_server.base_url + "/api/v1/sync/push"
    bad = PushRequest(outlet_id=outlet_id, epoch="e1", entries=[], edge_version="fnbpos\x00")
    reply = httpx.post(url, content=encode_frame(bad), headers=headers, timeout=30)
    error = error_of(reply)
    assert reply.status_code == 400 and error["code"] == "invalid_frame", reply.text
    assert error["details"] == {"field": "edge_version"}
    # the same push without the NUL is a normal heartbeat
    good = PushRequest(outlet_id=outlet_id, epoch="e1", entries=[], edge_version="fnbpos")
    reply = httpx.post(url, content=encode_frame(good), headers=headers, timeout=30)
    assert reply.status_code == 200 and decode_frame(reply.content, PushResponse).status == "ok"
    # A journal entry's text is checked by the entry itself (not a regex per field): the
    # second entry's event id carries the NUL, and the error names that entry and field.
    entry = {"outlet_id": outlet_id, "epoch": "e1", "seq": 1, "event_id": "ev-1",
             "occurred_at": "2026-12-01T00:00:00Z", "body": b"\x80", "prev_hash": "0" * 64,
             "hash": "1" * 64}
    entries = [entry, {**entry, "seq": 2, "event_id": "ev\x002"}]
    nul_entry = encode_frame({"outlet_id": outlet_id, "epoch": "e1", "entries": entries})
    reply = httpx.post(url, content=nul_entry, headers=headers, timeout=30)
    error = error_of(reply)
    assert reply.status_code == 400 and error["code"] == "invalid_frame", reply.text
    assert error["details"] == {"field": "entries[1].event_id"}
    assert "NUL" in error["message"]


def test_redeem_is_rate_limited_per_client_ip_behind_a_trusted_proxy(pg_url, hub_server_factory,
                                                                    tenant_factory) -> None:
    hub = hub_server_factory(pg_url, redeem_max_per_ip=3, redeem_window_seconds=60,
                             forwarded_allow_ips="127.0.0.1")
    url = hub.base_url + "/api/v1/enrollment/redeem"
    wrong = encode_frame(EnrollRequest(code="A" * 16, device_key="k" * 32))

    def redeem(ip: str, frame: bytes = wrong) -> httpx.Response:
        return httpx.post(url, content=frame, headers={**HEADERS, "X-Forwarded-For": ip},
                          timeout=30)

    for _ in range(3):
        assert redeem("203.0.113.7").status_code == 404  # a wrong code, answered
    limited = redeem("203.0.113.7")
    error = error_of(limited)
    assert limited.status_code == 429 and error["code"] == "rate_limited", limited.text
    retry_after = int(limited.headers["Retry-After"])
    assert 1 <= retry_after <= 60 and error["details"] == {"retry_after_seconds": retry_after}
    # another client behind the same proxy is not held back, and a real box still enrolls
    assert redeem("203.0.113.8").status_code == 404
    t = tenant_factory(server=hub)
    outlet = t.create_outlet("Rate limited")
    code = t.client.post(f"/api/v1/outlets/{outlet['id']}/enrollment-codes", json={}).json()["code"]
    box = redeem("198.51.100.9", encode_frame(EnrollRequest(code=code, device_key="dk_" + "b" * 32)))
    assert box.status_code == 200, box.text


def test_a_forged_forwarded_for_does_not_escape_the_limit(pg_url, hub_server_factory) -> None:
    # This hub trusts no proxy: X-Forwarded-For is the client's own words and is ignored.
    hub = hub_server_factory(pg_url, redeem_max_per_ip=2, redeem_window_seconds=60)
    frame = encode_frame(EnrollRequest(code="A" * 16, device_key="k" * 32))
    statuses = [httpx.post(hub.base_url + "/api/v1/enrollment/redeem", content=frame,
                           headers={**HEADERS, "X-Forwarded-For": f"198.51.100.{i}"},
                           timeout=30).status_code for i in range(4)]
    assert statuses == [404, 404, 429, 429]
