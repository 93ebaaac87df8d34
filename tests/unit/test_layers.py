"""The package's layers point one way and no modules import each other in a circle.

Every import counts: module level, inside functions, under ``if TYPE_CHECKING:`` and
``import_module("...")`` with a literal name. The order (docs/architecture.md):

    errors, retry, progress, lease, filelease, atomic, _version
      < spec < model < rendering < planning < targets < api, applier, runs (and the package's __init__) < cli

A module may import its own layer and the ones below it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "modeldeploy"

LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "interrupt", "retry", "progress", "lease", "filelease", "atomic", "_version"),
    ("spec",),
    ("model",),
    ("rendering",),
    ("planning",),
    ("targets",),
    ("api", "deployment", "applier", "runs", "evaluation", ""),  # "": the package's own __init__ (the public API)
    ("cli", "__main__"),
)


def layer_of(module: str) -> int:
    parts = module.split(".")
    first = parts[1] if len(parts) > 1 else ""
    for i, names in enumerate(LAYERS):
        if first in names:
            return i
    raise AssertionError(f"{module} is in no layer: add its top-level name to LAYERS (and docs/architecture.md)")


def modules(package: Path) -> dict[str, Path]:
    root = package.parent
    out = {}
    for f in sorted(package.rglob("*.py")):
        parts = f.relative_to(root).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = f
    return out


def _absolute(name: str | None, here: str, level: int, is_package: bool) -> str:
    if not level:
        return name or ""
    parts = here.split(".")
    if not is_package:
        parts = parts[:-1]
    parts = parts[: len(parts) - (level - 1)]
    return ".".join(parts + ([name] if name else []))


def imports(package: Path) -> dict[str, set[tuple[str, int]]]:
    """Module → {(imported package module, line)}, every kind of import included."""
    mods = modules(package)
    top = package.name

    def owner(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[tuple[str, int]]] = {}
    for name, path in mods.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        is_package = path.name == "__init__.py"
        found: set[tuple[str, int]] = set()
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(node.module, name, node.level, is_package)
                names = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                func = node.func
                called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
                if called in {"import_module", "__import__"} and isinstance(node.args[0].value, str):
                    names = [node.args[0].value.partition(":")[0]]
            for n in names:
                if n == top or n.startswith(top + "."):
                    target = owner(n)
                    if target is not None and target != name:
                        found.add((target, node.lineno))
        graph[name] = found
    return graph


def layer_violations(graph: dict[str, set[tuple[str, int]]]) -> list[str]:
    return sorted(
        f"{src}:{line} imports {dst} (layer {LAYERS[layer_of(dst)]} is above {LAYERS[layer_of(src)]})"
        for src, edges in graph.items()
        for dst, line in edges
        if layer_of(dst) > layer_of(src)
    )


def cycles(graph: dict[str, set[tuple[str, int]]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(d for d, _ in graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(d for d, _ in graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    out.append(sorted(component))
    return sorted(out)


def test_layers_point_one_way() -> None:
    assert layer_violations(imports(PACKAGE)) == []


def test_no_import_cycles() -> None:
    assert cycles(imports(PACKAGE)) == []


def test_every_module_has_a_layer() -> None:
    for name in modules(PACKAGE):
        layer_of(name)


def _fake_package(tmp_path: Path, files: dict[str, str]) -> Path:
    pkg = tmp_path / "modeldeploy"
    for rel, text in {"__init__.py": "", **files}.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(text)
    for d in [p for p in pkg.rglob("*") if p.is_dir()]:
        (d / "__init__.py").touch()
    return pkg


@pytest.mark.parametrize(
    "source",
    [
        "from modeldeploy.targets.base import Target\n",
        "def f():\n    from modeldeploy.targets import base\n",
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from modeldeploy.targets.base import Target\n",
        "import importlib\nimportlib.import_module('modeldeploy.targets.base')\n",
        "from ..targets import base\n",
    ],
    ids=["module-level", "function-local", "type-checking", "import_module", "relative"],
)
def test_an_upward_import_is_caught(tmp_path: Path, source: str) -> None:
    pkg = _fake_package(tmp_path, {"targets/base.py": "", "model/ref.py": source})
    found = layer_violations(imports(pkg))
    assert len(found) == 1, found
    assert found[0].startswith("modeldeploy.model.ref:") and " imports modeldeploy.targets.base " in found[0]


def test_a_cycle_inside_one_layer_is_caught(tmp_path: Path) -> None:
    pkg = _fake_package(
        tmp_path,
        {
            "targets/a.py": "from modeldeploy.targets.b import x\n",
            "targets/b.py": "def x():\n    from modeldeploy.targets import c\n",
            "targets/c.py": "from modeldeploy.targets.a import y\n",
        },
    )
    assert layer_violations(imports(pkg)) == []
    assert cycles(imports(pkg)) == [["modeldeploy.targets.a", "modeldeploy.targets.b", "modeldeploy.targets.c"]]
