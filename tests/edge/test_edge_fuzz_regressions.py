"""What fuzzing the edge's OpenAPI schema found (test_edge_fuzz_openapi.py), one test each.

Both were answers that did not match the schema the edge documents (no 5xx was found):
* a printer may be created with a host of up to 253 characters (a DNS name), but the
  ``Printer`` it answers with documented at most 200, so ``POST``/``GET /api/v1/printers``
  answered outside their own schema;
* ``GET /api/v1/menu`` answers the catalog's JSON but documented a bare string.
"""

from __future__ import annotations

from typing import Any

import httpx

from tests.edge.edge_server import EdgeServer


def _schema(server: EdgeServer) -> dict[str, Any]:
    return httpx.get(f"{server.base_url}/schema/openapi.json", timeout=10).json()


def test_a_printer_with_a_long_host_is_answered_as_documented(shared_edge: EdgeServer) -> None:
    manager = shared_edge.login("manager")
    host = "p" * 63 + "." + "q" * 63 + "." + "r" * 63 + "." + "s" * 61  # 253 characters
    created = shared_edge.call("POST", "/api/v1/printers", manager,
                               json={"name": "Long", "host": host, "role": "receipt"})
    listed = [p for p in shared_edge.call("GET", "/api/v1/printers", manager)["items"]
              if p["id"] == created["id"]]
    documented = _schema(shared_edge)["components"]["schemas"]["Printer"]["properties"]["host"]
    assert created["host"] == listed[0]["host"] == host
    assert documented.get("maxLength", len(host)) >= len(host), documented


def test_the_menu_is_documented_as_the_catalog_it_answers(shared_edge: EdgeServer) -> None:
    answer = shared_edge.menu()
    operation = _schema(shared_edge)["paths"]["/api/v1/menu"]["get"]
    documented = operation["responses"]["200"]["content"]["application/json"]["schema"]
    assert documented == {"$ref": "#/components/schemas/Catalog"}, documented
    assert {"version", "products", "categories", "modifier_groups"} <= set(answer)
