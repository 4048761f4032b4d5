"""Schemathesis hooks for the OpenAPI fuzz tests (loaded by the ``schemathesis`` process).

tests/openapi_fuzz.py names this module in the run's ``schemathesis.toml`` (``hooks``); it is
not imported by pytest. What it adds to schemathesis' own ``not_a_server_error``:

* ``error_shape`` - every 4xx/5xx JSON answer is ``{"error": {"code", "message", "details"}}``
  (docs/api.md). The 400 schema both servers' OpenAPI documents is Litestar's default
  (``status_code``/``detail``), which neither server sends, so schemathesis'
  ``response_schema_conformance`` is not used for errors; this check holds them to the
  documented shape instead.
* ``documented_2xx_schema`` - every 2xx answer matches the schema the operation documents
  (schemathesis' response schema validation, applied to successes only).
* a ``before_call`` that sends the few requests the test protects somewhere else (each rule,
  with its reason, given by the test in ``FNBPOS_FUZZ_REDIRECT``): e.g. a close of the shift
  that keeps cash movements reachable closes a spare shift instead. The request is still
  sent, only with another path parameter; nothing is skipped.
"""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis

# [{"method": "POST", "path": "/api/v1/shifts/{shift_id}/close", "param": "shift_id",
#   "value": "<protected id>", "instead": "<spare id>", "why": "..."}]
_REDIRECTS: list[dict[str, str]] = json.loads(os.environ.get("FNBPOS_FUZZ_REDIRECT", "[]"))


@schemathesis.hook
def before_call(context: Any, case: schemathesis.Case, kwargs: dict[str, Any]) -> None:
    for rule in _REDIRECTS:
        if (case.operation.method.upper() == rule["method"] and case.operation.path == rule["path"]
                and str((case.path_parameters or {}).get(rule["param"])) == rule["value"]):
            case.path_parameters[rule["param"]] = rule["instead"]


@schemathesis.check
def error_shape(ctx: schemathesis.CheckContext, response: schemathesis.Response,
                case: schemathesis.Case) -> bool | None:
    if response.status_code < 400:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"{response.status_code} answer is not JSON: "
                             f"{response.content[:200]!r}") from None
    error = body.get("error") if isinstance(body, dict) else None
    if not (isinstance(body, dict) and set(body) == {"error"} and isinstance(error, dict)
            and isinstance(error.get("code"), str) and isinstance(error.get("message"), str)
            and "details" in error):
        raise AssertionError(f"{response.status_code} answer is not "
                             f'{{"error": {{"code", "message", "details"}}}}: {body!r:.300}')
    return True


@schemathesis.check
def documented_2xx_schema(ctx: schemathesis.CheckContext, response: schemathesis.Response,
                          case: schemathesis.Case) -> bool | None:
    if not 200 <= response.status_code < 300:
        return None
    return case.operation.validate_response(response, case=case)
