"""Staff tokens and paired devices of a test edge, without paying for them again and again.

* ``staff_login(edge, role)`` - the demo staff member of ``role`` logged in on the till (the
  KDS for the kitchen), once per edge: a PIN login derives argon2id (64 MiB, about 0.2 s of
  CPU, seconds on a busy machine) and tests that only need *a* logged-in cashier or manager
  would otherwise derive it for every request. Staff tokens last a shift (12 h) and the demo
  staff never change, so one login per edge data folder serves the session. Tests about
  logging in itself call ``EdgeServer.login``.
* ``pair(edge, role, name)`` - ``pos-edge pair`` run in this process (tests/cli_in_process.py),
  the device token as its last line, as ``EdgeServer.pair`` reads it from the process.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.cli_in_process import pos_edge
from tests.edge.edge_server import EdgeServer

__all__ = ["pair", "staff_login", "staff_token"]

_logins: dict[tuple[str, str, str], dict[str, Any]] = {}


def staff_login(edge: EdgeServer, role: str, device: str | None = None) -> dict[str, Any]:
    """The login answer (``access_token``, ``staff``) of ``role`` on ``device``, made once."""
    device = device or ("kds" if role == "kitchen" else "cashier")
    key = (str(edge.data_dir), role, device)
    if key not in _logins:
        res = httpx.post(f"{edge.base_url}/api/v1/auth/login", json={"pin": edge.pins[role]},
                         headers={"Authorization": f"Bearer {edge.tokens[device]}"}, timeout=10)
        assert res.status_code == 200, f"login failed: {res.status_code} {res.text}"
        _logins[key] = res.json()
    return _logins[key]


def staff_token(edge: EdgeServer, role: str = "cashier") -> str:
    """A staff JWT of the demo staff member of ``role`` (see ``staff_login``)."""
    return str(staff_login(edge, role)["access_token"])


def pair(edge: EdgeServer, role: str, name: str) -> str:
    """Pair a device as ``pos-edge pair`` does; its token."""
    done = pos_edge("pair", "--data-dir", str(edge.data_dir), "--role", role, "--name", name,
                    env=edge.env)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip().splitlines()[-1].strip()
