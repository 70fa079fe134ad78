"""The layout keeps its data flow: no import cycle between letrolab's packages (ARCHITECTURE.md).

Module-level imports only (imports under ``if TYPE_CHECKING:`` are for annotations and do not
run); an import inside a function is still an edge, since it runs whenever the function does.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "letrolab"


def _package_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "letrolab"


def _runtime_imports(tree: ast.AST) -> list[str]:
    """Absolute ``letrolab.*`` modules imported outside ``if TYPE_CHECKING:`` blocks."""
    found: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.extend(a.name for a in node.names if a.name.startswith("letrolab"))
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").startswith("letrolab")
        ):
            found.append(str(node.module))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found


def _package_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC.parent).with_suffix("")
        module = ".".join(rel.parts).removesuffix(".__init__")
        src_pkg = _package_of(module)
        for target in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
            dst_pkg = _package_of(target)
            if dst_pkg not in (src_pkg, "letrolab"):
                graph.setdefault(src_pkg, set()).add(dst_pkg)
    return graph


def _find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def dfs(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (cycle := dfs(nxt)):
                return cycle
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := dfs(node)):
            return cycle
    return None


def test_cycle_finder_finds_a_planted_cycle():
    assert _find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _find_cycle({"a": {"b"}, "b": {"c"}}) is None


def test_no_import_cycle_between_packages():
    graph = _package_graph()
    assert graph, "no letrolab imports found: the scan is broken"
    cycle = _find_cycle(graph)
    if cycle:
        pytest.fail("import cycle between packages: " + " -> ".join(cycle))


def test_report_depends_on_the_result_types_not_on_the_experiments():
    graph = _package_graph()
    assert "experiments" not in graph.get("report", set())
    assert "pipeline" not in graph.get("experiments", set())
