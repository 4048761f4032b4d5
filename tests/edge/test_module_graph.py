"""The edge's modules import each other in one direction (docs/architecture.md, STYLE.md).

An AST scan of every module of the ``edge`` package (``edge/*.py`` and ``edge/api/*.py``):

* the graph of imports between edge modules has no cycle. Every import counts, wherever it is
  written, so an import tucked inside a function cannot hide a cycle (that is how
  ``orders -> kitchen -> printing -> orders`` survived);
* no edge module imports another edge module inside a function: such an import is either a
  cycle in waiting or a dependency a reader cannot see at the top of the file.

Imports of other packages inside a function are not this test's business (the CLI keeps
``uvicorn`` and ``rich`` off ``pos-edge --version``'s path, printing loads python-escpos only
to send).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

EDGE = Path(__file__).resolve().parents[2] / "edge"

# Imports inside functions that modules outside this change still make, each with why it is
# left. The list may only shrink: a test below fails when an entry no longer exists.
LEFT_TO_THEIR_OWNERS: dict[tuple[str, str], str] = {
    ("edge.backup", "edge.settings"): "backup/restore CLI, owned by the operations work",
    ("edge.backup", "edge.sync_state"): "backup/restore CLI, owned by the operations work",
    ("edge.doctor", "edge.cli"): "pos-edge doctor (cli loads doctor as a plugin)",
    ("edge.doctor", "edge.discovery"): "pos-edge doctor",
    ("edge.doctor", "edge.outlet"): "pos-edge doctor",
    ("edge.cli", "edge.app"): "the CLI loads a command's modules when it runs",
    ("edge.cli", "edge.catalog"): "the CLI loads a command's modules when it runs",
    ("edge.cli", "edge.db"): "the CLI loads a command's modules when it runs",
    ("edge.cli", "edge.demo"): "the CLI loads a command's modules when it runs",
    ("edge.cli", "edge.discovery"): "the CLI loads a command's modules when it runs",
    ("edge.cli", "edge.lock"): "the CLI loads a command's modules when it runs",
    ("edge.cli", "edge.sync_state"): "the CLI loads a command's modules when it runs",
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(EDGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(path): path for path in sorted(EDGE.rglob("*.py"))
           if "__pycache__" not in path.parts}


def _targets(node: ast.Import | ast.ImportFrom, module: str) -> set[str]:
    """The edge modules an import statement loads (a package's own __init__ left out)."""
    names: list[str] = []
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = node.module or ""
        if node.level:  # relative: from . import x / from .x import y
            package = module.split(".")
            if MODULES[module].name != "__init__.py":
                package = package[:-1]
            package = package[:len(package) - (node.level - 1)]
            base = ".".join([*package, base] if base else package)
        names = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base
                 for alias in node.names]
    found = set()
    for name in names:
        while name and name not in MODULES:
            name = name.rpartition(".")[0]
        if name and name != module and MODULES[name].name != "__init__.py":
            found.add(name)
    return found


def _imports(module: str) -> tuple[set[str], set[str]]:
    """(every edge module ``module`` imports, those it imports inside a function)."""
    tree = ast.parse(MODULES[module].read_text(), filename=str(MODULES[module]))
    everywhere: set[str] = set()
    in_functions: set[str] = set()

    def visit(node: ast.AST, in_function: bool) -> None:
        if isinstance(node, ast.Import | ast.ImportFrom):
            found = _targets(node, module)
            everywhere.update(found)
            if in_function:
                in_functions.update(found)
        inside = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for child in ast.iter_child_nodes(node):
            visit(child, inside)

    visit(tree, False)
    return everywhere, in_functions


GRAPH = {module: _imports(module) for module in MODULES}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle through each strongly connected group of modules (Tarjan), as a path."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def connect(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                connect(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = set()
            while True:
                member = stack.pop()
                group.add(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(group)

    for node in sorted(graph):
        if node not in index:
            connect(node)
    cycles = []
    for group in groups:  # walk inside the group from its first member back to it
        start = min(group)
        path, seen = [start], {start}
        while True:
            nxt = min(n for n in graph[path[-1]] if n in group)
            if nxt in seen:
                cycles.append([*path[path.index(nxt):], nxt])
                break
            path.append(nxt)
            seen.add(nxt)
    return cycles


def test_the_scan_sees_the_edge_modules_and_their_imports() -> None:
    # Guards the test itself: a scan that finds nothing would pass everything.
    assert {"edge.orders", "edge.kitchen", "edge.printing", "edge.app", "edge.api.kitchen"} <= set(
        MODULES)
    assert "edge.kitchen" in GRAPH["edge.orders"][0]
    assert "edge.printing" in GRAPH["edge.kitchen"][0]
    assert {"edge.orders", "edge.printing"} <= GRAPH["edge.api.printing"][0]


def test_edge_modules_import_each_other_without_a_cycle() -> None:
    cycles = _cycles({module: found for module, (found, _) in GRAPH.items()})
    assert not cycles, "edge modules import each other in a circle: " + "; ".join(
        " -> ".join(cycle) for cycle in cycles)


def test_orders_kitchen_printing_point_one_way() -> None:
    """The order sends itself to the kitchen, the kitchen feeds printing; never back."""
    assert "edge.orders" not in GRAPH["edge.kitchen"][0]
    assert not {"edge.orders", "edge.kitchen"} & GRAPH["edge.printing"][0]


@pytest.mark.parametrize("module", sorted(MODULES))
def test_no_edge_import_inside_a_function(module: str) -> None:
    late = {target for target in GRAPH[module][1]
            if (module, target) not in LEFT_TO_THEIR_OWNERS}
    assert not late, (f"{module} imports {sorted(late)} inside a function: import at the top "
                      "(if that makes a cycle, the dependency points the wrong way)")


def test_the_list_of_late_imports_left_only_shrinks() -> None:
    stale = [pair for pair in LEFT_TO_THEIR_OWNERS if pair[1] not in GRAPH[pair[0]][1]]
    assert not stale, f"no longer imported inside a function, drop from the list: {stale}"


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []
