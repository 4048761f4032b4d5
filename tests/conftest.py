"""Suite-wide settings: the slowest test files first, small hub pools, one TLS context.

``./dev test`` runs pytest-xdist with ``--dist loadfile --no-loadscope-reorder``: each file
goes whole to one worker, in collection order. Handing out the longest files first (longest
processing time first) keeps one late chaos run or fuzz file from stretching the run while
the other workers sit idle. ``tests/durations.json`` holds each file's measured seconds
(setup + call + teardown of all its tests); ``tests/timings.py`` rewrites it from a
``--durations=0`` log. Files it does not know keep their place after the known ones.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any

import httpx._transports.default as httpx_transport
import pytest

DURATIONS = Path(__file__).with_name("durations.json")

# Every hub a test starts (directly, through `pos demo`, the chaos harness or the sync tests)
# inherits a small pool unless the test sets its own: three workers' hubs share one
# PostgreSQL whose max_connections is 100, and a hub may hold 2 x pool + its system pool.
os.environ.setdefault("POS_HUB_DB_POOL_SIZE", "4")

# Every httpx client builds an SSL context (loading the CA bundle: ~20 ms of CPU), even for
# http:// URLs; the tests make thousands (health polls every 20 ms, one-shot httpx.get calls),
# which was a large share of the workers' CPU in a profile. Same settings, same context: an
# SSLContext is safe to share between clients and threads.
_create_ssl_context = httpx_transport.create_ssl_context


@functools.lru_cache(maxsize=16)
def _shared_ssl_context(verify: Any, cert: Any, trust_env: bool) -> Any:
    return _create_ssl_context(verify=verify, cert=cert, trust_env=trust_env)


def _ssl_context(verify: Any = True, cert: Any = None, trust_env: bool = True) -> Any:
    if isinstance(verify, bool | str) and (cert is None or isinstance(cert, str | tuple)):
        return _shared_ssl_context(verify, cert, trust_env)
    return _create_ssl_context(verify=verify, cert=cert, trust_env=trust_env)


httpx_transport.create_ssl_context = _ssl_context


def _file_seconds() -> dict[str, float]:
    try:
        return {str(k): float(v) for k, v in json.loads(DURATIONS.read_text()).items()}
    except (OSError, ValueError):
        return {}


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    seconds = _file_seconds()
    if not seconds:
        return
    first_seen: dict[str, int] = {}
    for index, item in enumerate(items):
        first_seen.setdefault(item.nodeid.split("::", 1)[0], index)
    # Stable: tests keep their order inside a file; files sort by known duration, longest first.
    items.sort(key=lambda item: (-seconds.get(item.nodeid.split("::", 1)[0], 0.0),
                                 first_seen[item.nodeid.split("::", 1)[0]]))
