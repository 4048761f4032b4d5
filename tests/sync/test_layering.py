"""Every arrow between the top-level packages points one way (docs/architecture.md):

    demo -> edge, hub          edge -> sync -> shared          hub -> sync -> shared

``sync/`` is what both sides speak: the wire protocol and an engine written against
``sync.store.JournalStore``, which the edge implements and hands in. So no ``sync`` module
imports ``edge``, ``hub`` or ``demo``, checked two ways:

* importing every ``sync`` module in a fresh interpreter loads no ``edge``/``hub``/``demo``
  module (``sys.modules``), whatever the import machinery does;
* an AST scan of every module of every package finds no import against the arrows, wherever
  it is written (an import inside a function is not loaded by the first check).
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

# package -> the project packages it may import (besides itself)
ALLOWED: dict[str, frozenset[str]] = {
    "shared": frozenset(),
    "sync": frozenset({"shared"}),
    "edge": frozenset({"sync", "shared"}),
    "hub": frozenset({"sync", "shared"}),
    "demo": frozenset({"edge", "hub", "sync", "shared"}),
}


def _modules(package: str) -> list[Path]:
    return sorted(p for p in (REPO / package).rglob("*.py") if "__pycache__" not in p.parts)


def _dotted(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imported_packages(path: Path) -> dict[str, int]:
    """Top-level packages this file imports, each with the first line that does."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: dict[str, int] = {}
    for node in ast.walk(tree):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for name in names:
            found.setdefault(name.split(".")[0], node.lineno)
    return found


def test_every_top_level_package_is_checked() -> None:
    """A new top-level package gets its place in ALLOWED (so the map cannot go stale)."""
    packages = {p.name for p in REPO.iterdir() if (p / "__init__.py").is_file()}
    assert packages == set(ALLOWED), packages ^ set(ALLOWED)


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_imports_follow_the_arrows(package: str) -> None:
    wrong = []
    for path in _modules(package):
        for imported, line in _imported_packages(path).items():
            if imported in ALLOWED and imported != package and imported not in ALLOWED[package]:
                wrong.append(f"{path.relative_to(REPO)}:{line} imports {imported}")
    assert not wrong, "imports against the arrows:\n" + "\n".join(wrong)


def test_importing_all_of_sync_loads_nothing_of_edge_hub_or_demo() -> None:
    names = [_dotted(p) for p in _modules("sync")]
    assert {"sync.engine", "sync.push", "sync.pull", "sync.store", "sync.client",
            "sync.protocol"} <= set(names)
    script = (
        "import importlib, json, sys\n"
        f"for name in {names!r}:\n"
        "    importlib.import_module(name)\n"
        "print(json.dumps(sorted(m for m in sys.modules\n"
        "                        if m.split('.')[0] in ('edge', 'hub', 'demo'))))\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []


def test_the_scan_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    """The AST check catches what sys.modules cannot: an import run only when called."""
    module = tmp_path / "lazy.py"
    module.write_text("def later():\n    from edge import outbox\n    return outbox\n")
    assert _imported_packages(module) == {"edge": 2}
