"""The edge and the hub share one kit (shared/errors.py, shared/logs.py): the same malformed
request gets the same error code and shape from both, and a request id is taken, echoed and
logged the same way by both, and sent by the sync client with every call.

Real servers: a demo ``pos-edge serve`` and a ``pos-hub serve`` on SQLite, over sockets.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest

from hub.db import run_migrations
from shared.logs import REQUEST_ID_HEADER
from sync.client import HubClient, HubRefused
from tests.edge.edge_server import EdgeServer
from tests.hub.conftest import HubServer, start_hub

MALFORMED = [
    pytest.param(b"[]", id="array"),
    pytest.param(b'"pin"', id="string"),
    pytest.param(b"{", id="truncated"),
    pytest.param(b'{"pin": "1", ', id="cut-short"),
    pytest.param(b"not json", id="not-json"),
    pytest.param(b"", id="empty"),
]


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeServer]:
    server = EdgeServer(tmp_path_factory.mktemp("kit") / "edge")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HubServer]:
    folder = tmp_path_factory.mktemp("kit-hub")
    url = f"sqlite:///{folder / 'hub.db'}"
    run_migrations(url)
    server = start_hub(url, folder, log_requests="true")
    yield server
    server.stop()


T = TypeVar("T")


def _wait_for(read: Callable[[], T], what: str, seconds: float = 15.0) -> T:
    """``read()`` once it is truthy (a log line is written as its response leaves)."""
    deadline = time.monotonic() + seconds
    while not (found := read()):
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.05)
    return found


def _log_lines(text: str) -> list[dict[str, Any]]:
    lines = []
    for line in text.splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            continue
    return lines


def _post_login(base_url: str, body: bytes, token: str | None = None,
                headers: dict[str, str] | None = None) -> httpx.Response:
    """POST /api/v1/auth/login: both apps have it (a PIN on the edge, a password on the hub)."""
    sent = {"Content-Type": "application/json", **(headers or {})}
    if token:
        sent["Authorization"] = f"Bearer {token}"
    return httpx.post(base_url + "/api/v1/auth/login", content=body, headers=sent, timeout=30)


def _shape(value: Any) -> Any:
    """The JSON's structure: keys and value types, not the values."""
    if isinstance(value, dict):
        return {key: _shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_shape(item) for item in value]
    return type(value).__name__


@pytest.mark.parametrize("body", MALFORMED)
def test_a_malformed_body_gets_the_same_code_and_shape_from_both_apps(
        edge: EdgeServer, hub: HubServer, body: bytes) -> None:
    at_edge = _post_login(edge.base_url, body, edge.tokens["cashier"])
    at_hub = _post_login(hub.base_url, body)
    assert at_edge.status_code == at_hub.status_code == 400, (at_edge.text, at_hub.text)
    edge_error, hub_error = at_edge.json(), at_hub.json()
    assert edge_error["error"]["code"] == hub_error["error"]["code"] == "validation_failed"
    assert _shape(edge_error) == _shape(hub_error) == {
        "error": {"code": "str", "message": "str", "details": {"field": "NoneType"}}}
    assert edge_error["error"]["details"] == hub_error["error"]["details"] == {"field": None}


def test_a_wrongly_typed_body_is_answered_word_for_word_alike(edge: EdgeServer,
                                                              hub: HubServer) -> None:
    at_edge = _post_login(edge.base_url, b"[1]", edge.tokens["cashier"]).json()
    at_hub = _post_login(hub.base_url, b"[1]").json()
    assert at_edge == at_hub, (at_edge, at_hub)


def test_a_query_parameter_of_the_wrong_type_is_named_like_a_body_field(edge: EdgeServer) -> None:
    at_edge = httpx.get(edge.base_url + "/api/v1/orders?limit=many", timeout=30,
                        headers={"Authorization": f"Bearer {edge.tokens['cashier']}"})
    assert at_edge.status_code == 400
    error = at_edge.json()["error"]
    assert error["code"] == "validation_failed" and error["details"] == {"field": "limit"}


@pytest.mark.parametrize("app", ["edge", "hub"])
def test_a_request_id_is_echoed_and_tags_the_request_log_line(edge: EdgeServer, hub: HubServer,
                                                              app: str) -> None:
    server: Any = edge if app == "edge" else hub
    token = edge.tokens["cashier"] if app == "edge" else None
    mine = f"kit-{app}-0193a5c2-7e4f"
    answer = _post_login(server.base_url, b"[]", token, headers={REQUEST_ID_HEADER: mine})
    assert answer.headers[REQUEST_ID_HEADER] == mine
    # an id a log reader could trip on is replaced, not echoed
    odd = _post_login(server.base_url, b"[]", token, headers={REQUEST_ID_HEADER: 'a" b{}'})
    assert odd.headers[REQUEST_ID_HEADER] != 'a" b{}' and len(odd.headers[REQUEST_ID_HEADER]) == 36
    minted = _post_login(server.base_url, b"[]", token)
    assert len(minted.headers[REQUEST_ID_HEADER]) == 36  # a UUIDv7 on both apps

    lines = _wait_for(lambda: [line for line in _log_lines(server.log())
                               if line.get("msg") == "request" and line.get("request_id") == mine],
                      f"a request line with request_id {mine} in the {app} log")
    assert lines[0]["route"] == "/api/v1/auth/login" and lines[0]["status"] == 400
    assert {"ts", "level", "logger", "msg", "request_id", "method", "path", "status",
            "ms"} <= set(lines[0])


def test_the_sync_client_sends_a_request_id_that_the_hub_logs(hub: HubServer) -> None:
    sent: list[str] = []

    class Recording(httpx.AsyncHTTPTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            sent.append(request.headers[REQUEST_ID_HEADER])
            return await super().handle_async_request(request)

    async def pull_with_a_revoked_credential() -> None:
        async with HubClient(hub.base_url, "sync_not-a-credential",
                             transport=Recording()) as client:
            for _ in range(2):
                with pytest.raises(HubRefused):
                    await client.pull(0)

    asyncio.run(pull_with_a_revoked_credential())
    assert len(sent) == 2 and len(set(sent)) == 2, sent  # one id per call
    def tagged() -> dict[str, dict[str, Any]]:
        found = {line["request_id"]: line for line in _log_lines(hub.log())
                 if line.get("request_id") in sent and line.get("msg") == "request"}
        return found if len(found) == 2 else {}

    lines = _wait_for(tagged, f"the hub's lines of requests {sent}")
    assert set(lines) == set(sent)
    assert {line["route"] for line in lines.values()} == {"/api/v1/sync/pull"}


def test_both_apps_log_through_the_shared_formatter() -> None:
    import logging

    import hub.app
    import shared.logs

    assert hub.app.configure_logging is shared.logs.configure_logging
    record = logging.LogRecord("hub.api", logging.INFO, __file__, 1,
                               "GET /x?token=dev_abcdefghijklmnop Authorization: Bearer s3cr3t",
                               (), None)
    line = json.loads(shared.logs.JsonFormatter().format(record))
    assert "dev_abcdefghijklmnop" not in line["msg"] and "s3cr3t" not in line["msg"]
    token = shared.logs.bind_request_id("abc-1")
    try:
        assert json.loads(shared.logs.JsonFormatter().format(record))["request_id"] == "abc-1"
    finally:
        shared.logs.unbind_request_id(token)
    assert "request_id" not in json.loads(shared.logs.JsonFormatter().format(record))
