"""The package's modules import one another one way: no cycle, at import time or inside
functions (lazy imports, which keep ``import wattprint`` cheap, must not hide one).

``zones`` loads the cloud table through ``cloud`` and builds the Intensity values of
``intensity``; ``cloud`` knows nothing of ``zones``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import wattprint

SRC = Path(wattprint.__file__).parent


def _name(path: Path) -> str:
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_name(p): p for p in SRC.rglob("*.py")}


def _target(name: str) -> str | None:
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(path: Path, *, module_level: bool) -> set[str]:
    """The wattprint modules ``path`` imports (at module level only, or anywhere), leaving out
    imports under ``if TYPE_CHECKING:``, which never run."""
    found: set[str] = set()

    def walk(node: ast.AST) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            if module_level and isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            if isinstance(child, ast.Import):
                found.update(a.name for a in child.names)
            elif isinstance(child, ast.ImportFrom) and child.level == 0 and child.module:
                found.update(f"{child.module}.{a.name}" for a in child.names)
            walk(child)

    walk(ast.parse(path.read_text(encoding="utf-8")))
    own = _name(path)
    return {t for n in found if (t := _target(n)) and t.startswith("wattprint.") and t != own}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of ``graph`` (as a path that returns to its start), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(v: str) -> list[str] | None:
        state[v] = 1
        path.append(v)
        for w in sorted(graph.get(v, ())):
            if state.get(w) == 1:
                return [*path[path.index(w) :], w]
            if w not in state and (found := visit(w)):
                return found
        state[v] = 2
        path.pop()
        return None

    for v in sorted(graph):
        if v not in state and (found := visit(v)):
            return found
    return None


def test_no_module_level_import_cycle() -> None:
    graph = {m: _imports(p, module_level=True) for m, p in MODULES.items()}
    assert _cycle(graph) is None


def test_no_import_cycle_in_the_carbon_package_even_inside_functions() -> None:
    graph = {
        m: {d for d in _imports(p, module_level=False) if d.startswith("wattprint.carbon")}
        for m, p in MODULES.items()
        if m.startswith("wattprint.carbon")
    }
    assert _cycle(graph) is None


def test_cloud_never_imports_the_zone_registry() -> None:
    cloud = _imports(MODULES["wattprint.carbon.cloud"], module_level=False)
    assert "wattprint.carbon.zones" not in cloud
    assert "wattprint.carbon.cloud" in _imports(
        MODULES["wattprint.carbon.zones"], module_level=True
    )


def test_the_cycle_finder_finds_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None
