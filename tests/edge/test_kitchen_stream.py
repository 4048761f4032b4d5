"""The live stream over a real WebSocket to a real edge process: a kitchen screen that drops
off and reconnects with its last id gets exactly the events it missed (none lost, none
repeated), also when the edge was killed and started again on the same data dir."""

from __future__ import annotations

import json
from typing import Any

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect as ws_connect

from tests.edge.edge_server import EdgeServer
from tests.edge.kitchen_support import Edge, Screen, place_order, products_by_station


@pytest.fixture(scope="module")
def stream_edge(shared_edge: EdgeServer) -> Edge:
    return Edge(shared_edge)


def _two_station_order(edge: Edge) -> dict[str, Any]:
    menu = products_by_station(edge.url, edge.kiosk)
    return place_order(edge.url, edge.kiosk, [(menu["kitchen"][0], 1), (menu["bar"][0], 1)])


def _created(events: list[dict[str, Any]]) -> list[tuple[str, str]]:
    assert all(e["type"] == "ticket.created" and e["topic"] == "kitchen" for e in events), events
    return [(e["data"]["order_id"], e["station"]) for e in events]


def test_reconnect_with_last_id_gets_exactly_the_missed_events(stream_edge: Edge) -> None:
    edge = stream_edge
    first = _two_station_order(edge)
    with Screen(edge.url, edge.kds, heartbeat=0.3) as screen:
        seen = screen.events(2)
        assert sorted(_created(seen)) == sorted([(first["id"], "kitchen"), (first["id"], "bar")])
        live = _two_station_order(edge)  # delivered live on the open connection
        assert {o for o, _ in _created(screen.events(2))} == {live["id"]}
        beat = next(f for f in iter(screen.receive, None) if f.get("type") == "heartbeat")
        assert beat["latest_id"] >= screen.last_id
        last = screen.last_id

    missed = [_two_station_order(edge), _two_station_order(edge)]
    with Screen(edge.url, edge.kds, after=last, heartbeat=0.3) as screen:
        again = screen.events(4)
        assert [e["id"] for e in again] == sorted(e["id"] for e in again)
        assert all(e["id"] > last for e in again)
        assert [o for o, _ in _created(again)] == [missed[0]["id"]] * 2 + [missed[1]["id"]] * 2
        assert screen.quiet(1.0) == []  # nothing more, nothing twice
        assert screen.heartbeats >= 1


def test_resume_across_an_edge_restart(stream_edge: Edge) -> None:
    edge = stream_edge
    _two_station_order(edge)
    with Screen(edge.url, edge.kds) as screen:
        screen.events(1)
        screen.quiet(0.5)  # drain everything up to now
        last = screen.last_id
    before_kill = _two_station_order(edge)
    edge.stop(hard=True)  # power cut: no clean shutdown
    edge.start()
    after_restart = _two_station_order(edge)
    with Screen(edge.url, edge.kds, after=last, heartbeat=0.3) as screen:
        got = screen.events(4)
        assert [o for o, _ in _created(got)] == [before_kill["id"]] * 2 + [after_restart["id"]] * 2
        assert all(e["id"] > last for e in got)
        assert screen.quiet(0.8) == []


def test_station_screen_sees_only_its_station(stream_edge: Edge) -> None:
    edge = stream_edge
    with Screen(edge.url, edge.kds, station="bar") as screen:
        screen.quiet(0.5)
        order = _two_station_order(edge)
        [event] = screen.events(1)
        assert (event["data"]["order_id"], event["station"]) == (order["id"], "bar")
        assert screen.quiet(0.8) == []


@pytest.mark.parametrize(("query", "code", "error"), [
    ("token=dev_not-a-token&topics=kitchen", 4401, "unauthorized"),
    ("topics=kitchen", 4401, "unauthorized"),
    ("token={kiosk}&topics=kitchen", 4403, "forbidden"),
    ("token={kds}&topics=kitchen&after=soon", 4400, "validation_failed"),
    ("token={kds}&topics=kitchen,gossip", 4400, "validation_failed"),
])
def test_a_refused_stream_says_why(stream_edge: Edge, query: str, code: int, error: str) -> None:
    url = stream_edge.url.replace("http://", "ws://") + "/api/v1/stream?" + query.format(
        kiosk=stream_edge.kiosk, kds=stream_edge.kds)
    with ws_connect(url, open_timeout=10) as ws:
        frame = json.loads(ws.recv(timeout=5))
        assert frame["error"]["code"] == error
        with pytest.raises(ConnectionClosed) as closed:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == code


def test_a_flaky_screen_sees_every_ticket_exactly_once(stream_edge: Edge) -> None:
    """Orders keep coming while the screen drops its link every few frames and resumes."""
    import threading
    import time

    edge = stream_edge
    with Screen(edge.url, edge.kds) as screen:
        screen.quiet(0.5)
        start = screen.last_id
    placed: list[str] = []

    def kiosk() -> None:
        for _ in range(15):
            placed.append(_two_station_order(edge)["id"])
            time.sleep(0.03)

    worker = threading.Thread(target=kiosk)
    worker.start()
    seen: list[tuple[str, str]] = []
    last = start
    deadline = time.monotonic() + 60
    while (worker.is_alive() or len(seen) < 30) and time.monotonic() < deadline:
        with Screen(edge.url, edge.kds, after=last, heartbeat=0.3) as screen:
            events, give_up = 0, time.monotonic() + 2  # heartbeats alone must not keep us here
            try:
                while events < 3 and time.monotonic() < give_up:
                    frame = screen.receive(timeout=2)
                    if "id" in frame:
                        events += 1
                        if frame["type"] == "ticket.created":
                            seen.append((frame["data"]["order_id"], frame["station"]))
            except TimeoutError:
                pass
            last = screen.last_id  # the link drops here, mid-stream
    worker.join()
    assert len(placed) == 15
    assert sorted(seen) == sorted((o, s) for o in placed for s in ("kitchen", "bar"))
