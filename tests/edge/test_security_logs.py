"""Security issue 9, M10: no secret in any log line of a real edge.

uvicorn logs each WebSocket with its path and query (``"WebSocket /api/v1/stream?token=..."``),
so every screen's device token used to land in the edge log in plain text.
"""

from __future__ import annotations

import json

from websockets.sync.client import connect as ws_connect

from tests.edge.edge_server import EdgeServer


def test_tokens_never_reach_the_log(edge_server: EdgeServer) -> None:
    kds, kiosk = edge_server.tokens["kds"], edge_server.tokens["kiosk"]
    staff = edge_server.login("cashier")
    ws_base = edge_server.base_url.replace("http://", "ws://")
    for token in (kds, staff):
        with ws_connect(f"{ws_base}/api/v1/stream?token={token}&topics=orders&heartbeat=0.2",
                        open_timeout=10) as ws:
            assert "error" not in json.loads(ws.recv(timeout=10))  # the stream is open
    with ws_connect(f"{ws_base}/api/v1/stream?topics=orders&token=dev_wrong-{kiosk[4:]}",
                    open_timeout=10) as ws:  # a refused token is a secret too
        assert json.loads(ws.recv(timeout=10))["error"]["code"] == "unauthorized"
    # the apps are opened with ?token= in their pairing URL; API calls carry Authorization
    assert edge_server.request("GET", f"/kiosk/?token={kiosk}").status_code == 200
    assert edge_server.request("GET", "/api/v1/me", staff).status_code == 200
    assert edge_server.request("GET", f"/api/v1/me?token={kds}", kds).status_code == 200
    edge_server.stop()  # flush every line
    log = edge_server.log()
    assert "WebSocket /api/v1/stream?token=[redacted]" in log  # the line is there, redacted
    for secret in (kds, kiosk, staff, kds[4:], kiosk[4:], staff.split(".")[2]):
        assert secret not in log, f"a token is in the log: {secret[:8]}..."
    for line in log.splitlines():
        if line.startswith("{"):
            json.loads(line)  # redaction kept every line valid JSON
