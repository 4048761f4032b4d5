"""Run schemathesis against a live server's OpenAPI schema (tests/*/test_*_fuzz_openapi.py).

``fuzz(...)`` writes a ``schemathesis.toml`` for one run and starts ``schemathesis run`` on the
server's ``/schema/openapi.json``, with every phase on (examples, coverage, fuzzing and the
stateful phase over the links schemathesis infers), one worker, deterministic generation and
no example database or cache, so a run repeats exactly. ``max_examples`` is the examples per
operation and phase (``operations`` can give one operation more), ``max_scenarios`` the
stateful phase's scenarios of up to ``max_steps`` calls each. The checks are
``not_a_server_error`` and the two of tests/openapi_fuzz_hooks.py (``error_shape``,
``documented_2xx_schema``). The coverage phase sends each path three undeclared methods
(``UNEXPECTED_METHODS``), not all of them.
Dictionaries of real ids (products, orders, outlets, ...) are bound to the parameters that
take them with a probability below 1, so the fuzzer reaches real handlers and still sends
random ids. The JSON report is returned as a ``FuzzRun``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
SCHEMATHESIS = str(Path(sys.executable).parent / "schemathesis")
SEED = 20261130
CHECKS = ("not_a_server_error", "error_shape", "documented_2xx_schema")
# Methods the coverage phase sends to every path that does not declare them (its default is
# all eight). Both servers route an undeclared method the same way whichever it is (405 in
# the error shape; OPTIONS: 204 from Litestar's own handler), so one of each kind is sent to
# every path: TRACE (standard), QUERY (not in Litestar's list) and OPTIONS.
UNEXPECTED_METHODS = ("options", "trace", "query")
# The schemathesis process's compiled modules, kept apart from the venv's own __pycache__.
BYTECODE_CACHE = Path(tempfile.gettempdir()) / "fnbpos-schemathesis-pycache"


@dataclass
class FuzzRun:
    report: dict[str, Any]
    output: str
    returncode: int

    @property
    def failures(self) -> list[dict[str, Any]]:
        return list(self.report.get("failures", []))

    def accepted(self) -> set[str]:
        """Operations that answered 2xx to at least one generated request."""
        return {label for label, phases in self.report.get("valid_rates", {}).items()
                if any(counts.get("accepted", 0) for counts in phases.values())}

    def summary(self) -> str:
        """The tail of schemathesis' own output: each failure with its curl reproduction."""
        return self.output[-20000:]


def _toml(value: Any) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{json.dumps(k)} = {_toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value)  # strings, ints, floats and booleans are spelled alike


def write_config(path: Path, *, token: str, max_examples: int, max_steps: int,
                 max_scenarios: int, dictionaries: dict[str, list[str | int]],
                 parameters: dict[str, str], operations: list[dict[str, Any]]) -> None:
    lines = [
        'hooks = "tests.openapi_fuzz_hooks"',
        f"seed = {SEED}",
        "workers = 1",
        "request-timeout = 30",
        "[headers]",
        f"Authorization = {_toml('Bearer ' + token)}",
        "[cache]",
        "enabled = false",
        "[generation]",
        f"max-examples = {max_examples}",
        "deterministic = true",
        'database = "none"',
        "[phases.coverage]",
        f"unexpected-methods = {_toml(UNEXPECTED_METHODS)}",
        "[phases.stateful]",
        f"max-steps = {max_steps}",
        "[phases.stateful.generation]",
        f"max-examples = {max_scenarios}",
        "[checks]",
        "enabled = false",
        *(f"{name} = {{ enabled = true }}" for name in CHECKS),
    ]
    for name, values in dictionaries.items():
        lines += [f"[dictionaries.{name}]", f"values = {_toml(sorted(set(values)))}"]
    if parameters:
        lines.append("[parameters]")
        lines += [f"{json.dumps(key)} = {{ dictionary = {json.dumps(name)}, probability = 0.8 }}"
                  for key, name in parameters.items()]
    for operation in operations:
        lines.append("[[operations]]")
        lines += [f"{json.dumps(key)} = {_toml(value)}" for key, value in operation.items()]
    path.write_text("\n".join(lines) + "\n")


def fuzz(base_url: str, workdir: Path, *, token: str, max_examples: int, max_steps: int = 8,
         max_scenarios: int | None = None,
         dictionaries: dict[str, list[str | int]] | None = None,
         parameters: dict[str, str] | None = None,
         operations: list[dict[str, Any]] | None = None,
         redirect: list[dict[str, str]] | None = None, timeout: float = 600) -> FuzzRun:
    """One ``schemathesis run`` against ``base_url`` (``redirect``: tests/openapi_fuzz_hooks.py)."""
    workdir.mkdir(parents=True, exist_ok=True)
    config, report = workdir / "schemathesis.toml", workdir / "report.json"
    write_config(config, token=token, max_examples=max_examples, max_steps=max_steps,
                 max_scenarios=max_scenarios or max_examples,
                 dictionaries=dictionaries or {}, parameters=parameters or {},
                 operations=operations or [])
    env = {**os.environ, "FNBPOS_FUZZ_REDIRECT": json.dumps(redirect or []),
           "PYTHONPATH": str(REPO), "NO_COLOR": "1", "COLUMNS": "120",
           "PYTHONPYCACHEPREFIX": str(BYTECODE_CACHE)}
    # With PYTHONDONTWRITEBYTECODE (set on the test machines) every run compiled schemathesis,
    # hypothesis and their dependencies from source again: ~2.5 s of CPU a run.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    done = subprocess.run(
        [SCHEMATHESIS, "--config-file", str(config), "run", f"{base_url}/schema/openapi.json",
         "--phases", "examples,coverage,fuzzing,stateful", "--no-color",
         "--report", "json", "--report-json-path", str(report), "--output-truncate", "false"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    output = done.stdout + done.stderr
    if not report.exists():
        raise AssertionError(f"schemathesis wrote no report ({done.returncode}):\n{output[-5000:]}")
    return FuzzRun(report=json.loads(report.read_text()), output=output,
                   returncode=done.returncode)
