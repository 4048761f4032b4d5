"""Both apps declare every handler parameter the way Litestar 3 will still read it.

Litestar 2 warns (``LitestarDeprecationWarning``, "will stop working in Litestar 3.0") when a
route's signature relies on inference: a path or query parameter without ``FromPath`` /
``FromQuery`` (or ``Annotated[..., QueryParameter(...)]``), ``data`` without a body marker
(``JSONBody``), a dependency without ``NamedDependency`` (the hub's ``DbDep``,
``PrincipalDep``), a header in ``Parameter(header=...)``. The warnings are raised while the
app is built, in the server's process; this test builds both apps here, so a new one fails
the suite (pyproject's pytest ``filterwarnings`` also turns the category into an error).
"""

from __future__ import annotations

import warnings
from pathlib import Path

from litestar.exceptions import LitestarDeprecationWarning

from edge.app import create_app as create_edge_app
from edge.settings import load_settings as load_edge_settings
from hub.app import create_app as create_hub_app
from hub.settings import HubSettings
from tests.edge.edge_server import run_cli

JWT_SECRET = "test-secret-Qm7vR2kX9pL4wZ8nT1cY6hB3jD5fG0sA"


def _deprecations(build: object) -> list[str]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", LitestarDeprecationWarning)
        app = build()  # type: ignore[operator]
    assert app is not None
    return [str(w.message) for w in caught if issubclass(w.category, LitestarDeprecationWarning)]


def test_the_hub_app_builds_without_a_litestar_deprecation() -> None:
    found = _deprecations(lambda: create_hub_app(
        HubSettings(jwt_secret=JWT_SECRET, scheduler_enabled=False)))
    assert found == [], "\n".join(found)


def test_the_edge_app_builds_without_a_litestar_deprecation(tmp_path: Path) -> None:
    data_dir = tmp_path / "edge"
    run_cli("init", "--data-dir", str(data_dir), "--demo",
            env={"POS_EDGE_ADVERTISE": "false", "POS_SYNC_ENABLED": "false"})
    settings = load_edge_settings(data_dir)
    apps: list[object] = []
    found = _deprecations(lambda: apps.append(create_edge_app(settings)) or apps[-1])
    try:
        assert found == [], "\n".join(found)
    finally:
        for app in apps:
            app.state.edge.db.close()  # type: ignore[attr-defined]
