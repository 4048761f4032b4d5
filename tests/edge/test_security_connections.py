"""Attack: one client on the shop's network takes the edge's connections away from the screens.

Guests' phones reach the edge (QR ordering at the table), and before edge.connection_guard
uvicorn kept any socket open for as long as its client liked while a request had not arrived
whole. Measured on the old code: 3,000 silent sockets from one address all stayed open (the
box would run out of file descriptors at its limit, and no till could connect), and a
header byte every 0.5 s kept a connection for as long as the test waited.

The attacker connects from 127.0.0.2, the till from 127.0.0.1: two client addresses on one
machine (Linux routes all of 127.0.0.0/8 to loopback), each against a real edge process.
"""

from __future__ import annotations

import re
import select
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack

import httpx
import pytest
from websockets.exceptions import ConnectionClosed, InvalidMessage
from websockets.sync.client import ClientConnection
from websockets.sync.client import connect as ws_connect

from edge.connection_guard import MAX_HEADER_BYTES
from tests.edge.edge_server import EdgeServer
from tests.hub.test_metrics import _promtool as check_metrics_text

ATTACKER = "127.0.0.2"
PER_CLIENT = 20
READ_TIMEOUT = 1.5


@pytest.fixture
def guarded_edge(edge_server_factory: Callable[..., EdgeServer], request: pytest.FixtureRequest) -> EdgeServer:
    """An edge with a low per-client limit and the read timeout the test's ``read_timeout``
    mark asks for (READ_TIMEOUT without one)."""
    mark = request.node.get_closest_marker("read_timeout")
    edge = edge_server_factory(start=False)
    edge.env.update({"POS_EDGE_MAX_CONNECTIONS_PER_CLIENT": str(PER_CLIENT),
                     "POS_EDGE_REQUEST_READ_TIMEOUT_SECONDS": str(mark.args[0] if mark else READ_TIMEOUT)})
    edge.start()
    return edge


def attacker_socket(edge: EdgeServer) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind((ATTACKER, 0))
    sock.connect(("127.0.0.1", edge.port))
    return sock


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """True if the edge closes ``sock`` within ``within`` seconds (reading whatever it sends)."""
    sock.settimeout(0.1)
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if sock.recv(65536) == b"":
                return True
        except TimeoutError:
            continue
        except ConnectionResetError:
            return True
    return False


def metric(edge: EdgeServer, name: str) -> float:
    text = httpx.get(f"{edge.base_url}/metrics").text
    found = re.search(rf"^{re.escape(name)} ([0-9.e+]+)$", text, re.MULTILINE)
    assert found, f"{name} not in /metrics"
    return float(found.group(1))


@pytest.fixture
def sockets() -> Iterator[list[socket.socket]]:
    made: list[socket.socket] = []
    yield made
    for sock in made:
        sock.close()


def test_a_silent_or_dribbling_connection_is_closed(guarded_edge: EdgeServer,
                                                     sockets: list[socket.socket]) -> None:
    edge = guarded_edge
    silent = attacker_socket(edge)
    sockets.append(silent)
    dribbling = attacker_socket(edge)
    sockets.append(dribbling)
    dribbling.sendall(b"GET /api/health HTTP/1.1\r\nHost: edge\r\n")
    started = time.monotonic()
    closed = False
    while not closed and time.monotonic() - started < READ_TIMEOUT + 5:
        try:
            dribbling.sendall(b"X-Slow: 1\r\n")  # a header line every 0.3 s, never the end
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        closed = closed_by_server(dribbling, 0.3)
    assert closed, "a request dribbled a header line at a time kept its connection"
    assert time.monotonic() - started < READ_TIMEOUT + 2
    assert closed_by_server(silent, 2.0), "a connection that never sent a byte is still open"
    assert metric(edge, 'edge_connections_closed_total{reason="read_timeout"}') == 2

    # A client that sends its requests whole keeps its connection across requests and pauses.
    with httpx.Client(base_url=edge.base_url) as till:
        for _ in range(3):
            assert till.get("/api/v1/menu", headers={
                "Authorization": f"Bearer {edge.tokens['cashier']}"}).status_code == 200
            time.sleep(READ_TIMEOUT / 2)
        assert metric(edge, 'edge_connections_closed_total{reason="read_timeout"}') == 2


@pytest.mark.read_timeout(60)  # the silent sockets stay for the whole test
def test_one_client_cannot_take_the_tills_connections(guarded_edge: EdgeServer,
                                                       sockets: list[socket.socket]) -> None:
    edge = guarded_edge
    for _ in range(PER_CLIENT + 10):
        sockets.append(attacker_socket(edge))
    time.sleep(0.5)
    readable, _, _ = select.select(sockets, [], [], 0)
    refused = [sock for sock in readable if closed_by_server(sock, 0.1)]
    assert len(refused) == 10, f"{len(refused)} of {len(sockets)} closed; the limit is {PER_CLIENT}"
    assert metric(edge, 'edge_connections_closed_total{reason="over_client_limit"}') == 10

    # The till, from another address, is served while the attacker holds its limit.
    with httpx.Client(base_url=edge.base_url) as till:
        response = till.get("/api/v1/menu", headers={"Authorization": f"Bearer {edge.tokens['cashier']}"})
        assert response.status_code == 200
        assert metric(edge, "edge_connection_clients") == 2
        assert metric(edge, "edge_connections_open") >= PER_CLIENT + 1
        check_metrics_text(httpx.get(f"{edge.base_url}/metrics").text)  # a scrape accepts them

    # Closed connections are given back: the same address is served again.
    for sock in sockets:
        sock.close()
    sockets.clear()
    deadline = time.monotonic() + 5
    while metric(edge, "edge_connections_open") > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    attacker = httpx.Client(base_url=edge.base_url, transport=httpx.HTTPTransport(local_address=ATTACKER))
    with attacker:
        assert attacker.get("/api/health").status_code == 200


def test_websockets_count_against_the_limit_and_are_given_back(guarded_edge: EdgeServer) -> None:
    edge = guarded_edge
    url = (edge.base_url.replace("http://", "ws://")
           + f"/api/v1/stream?token={edge.tokens['kiosk']}&topics=orders&heartbeat=5")

    def open_stream() -> ClientConnection:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((ATTACKER, 0))
        sock.connect(("127.0.0.1", edge.port))
        return ws_connect(url, sock=sock, open_timeout=5)

    with ExitStack() as held:
        streams = [held.enter_context(open_stream()) for _ in range(PER_CLIENT)]
        # The 21st is closed before its handshake (seen as a cut answer or a cut connection).
        with pytest.raises((InvalidMessage, ConnectionClosed, OSError)):
            open_stream()
        assert metric(edge, 'edge_connections_closed_total{reason="over_client_limit"}') == 1
        # The streams outlive the read timeout: a WebSocket is not a request being read.
        time.sleep(READ_TIMEOUT + 0.5)
        for stream in streams:
            stream.ping().wait(2)
    deadline = time.monotonic() + 5
    while metric(edge, "edge_connections_open") > 1 and time.monotonic() < deadline:
        time.sleep(0.05)
    with open_stream() as again:
        again.ping().wait(2)


@pytest.mark.parametrize("compression", [None, "deflate"], ids=["plain", "deflated"])
def test_a_big_message_on_the_stream_closes_it(shared_edge: EdgeServer, compression: str | None) -> None:
    """Screens send nothing on their stream; uvicorn took up to 16 MiB per message (one client
    with 32 streams raised the edge's memory by 1 GB). A deflated message counts inflated:
    1 MiB of one letter is about 1 KiB on the wire."""
    url = (shared_edge.base_url.replace("http://", "ws://")
           + f"/api/v1/stream?token={shared_edge.tokens['kiosk']}&topics=orders&heartbeat=5")
    with ws_connect(url, open_timeout=5, compression=compression, max_size=None) as stream:
        stream.send("x" * (1024 * 1024))
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                stream.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009  # message too big
    with httpx.Client(base_url=shared_edge.base_url) as till:
        assert till.get("/api/health").status_code == 200


def test_headers_are_bounded(shared_edge: EdgeServer, sockets: list[socket.socket]) -> None:
    """uvicorn's httptools parser sets no limit on headers: one request with 300 MB of them was
    read whole (the edge's memory grew by as much) and answered 200."""
    edge = shared_edge
    with httpx.Client(base_url=edge.base_url) as client:
        assert client.get("/api/health", headers={"X-Pad": "a" * 8000}).status_code == 200
        before = metric(edge, 'edge_connections_closed_total{reason="headers_too_large"}')
        refused = client.get("/api/health", headers={"X-Pad": "a" * (MAX_HEADER_BYTES + 1)})
        assert refused.status_code == 431
        assert refused.json()["error"]["code"] == "headers_too_large"
        assert refused.json()["error"]["details"] == {"max_bytes": MAX_HEADER_BYTES}

    # Headers that never end: the edge stops reading them at the limit, not at the client's will.
    endless = socket.create_connection(("127.0.0.1", edge.port))
    sockets.append(endless)
    endless.sendall(b"GET /api/health HTTP/1.1\r\nHost: edge\r\n")
    line = b"X-Pad: " + b"a" * 1000 + b"\r\n"
    sent = 0
    with pytest.raises(OSError):  # reset by the edge once it stopped reading
        while sent < 64 * 1024 * 1024:
            endless.sendall(line)
            sent += len(line)
    assert sent < 16 * 1024 * 1024, f"the edge read {sent} bytes of headers"
    assert metric(edge, 'edge_connections_closed_total{reason="headers_too_large"}') == before + 2


def test_an_upgrade_with_too_large_headers_is_refused(shared_edge: EdgeServer) -> None:
    edge = shared_edge
    logged = len(edge.log())
    with socket.create_connection(("127.0.0.1", edge.port)) as sock:
        sock.sendall(f"GET /api/v1/stream?token={edge.tokens['kiosk']}&topics=orders HTTP/1.1\r\n"
                     "Host: edge\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
                     f"X-Pad: {'a' * (MAX_HEADER_BYTES + 1)}\r\n\r\n".encode())
        answer = b""
        sock.settimeout(5)
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b"101 Switching" not in answer
    with httpx.Client(base_url=edge.base_url) as till:
        assert till.get("/api/health").status_code == 200
    # Refused once, cleanly: the upgrade was not attempted on the closed connection.
    assert '"level":"error"' not in edge.log()[logged:], edge.log()[logged:][-2000:]
