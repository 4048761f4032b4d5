"""Fixtures for edge tests: real ``pos-edge serve`` processes on free ports.

* ``edge_server`` - a fresh demo edge per test (init --demo, kiosk/cashier/kds paired, serving).
* ``edge_server_factory`` - make more (e.g. other init options or environment); all are
  stopped at the end of the test.
* ``shared_edge`` - one demo edge per test module, for tests that only add orders.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.edge.edge_server import EdgeServer


@pytest.fixture
def edge_server_factory(tmp_path: Path) -> Iterator[Callable[..., EdgeServer]]:
    made: list[EdgeServer] = []

    def factory(start: bool = True, name: str | None = None, **kwargs: Any) -> EdgeServer:
        server = EdgeServer(tmp_path / (name or f"edge{len(made)}"), **kwargs)
        made.append(server)
        if start:
            server.start()
        return server

    yield factory
    for server in made:
        server.stop()


@pytest.fixture
def edge_server(edge_server_factory: Callable[..., EdgeServer]) -> EdgeServer:
    return edge_server_factory()


@pytest.fixture(scope="module")
def shared_edge(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EdgeServer]:
    server = EdgeServer(tmp_path_factory.mktemp("shared") / "edge")
    server.start()
    yield server
    server.stop()
