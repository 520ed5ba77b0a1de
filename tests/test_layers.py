"""The import graph of the project's modules runs one way (issue 11).

Layers, bottom to top, by top-level package: ``kernel`` (0) < ``audittrail`` (1,
the staff audit trail every app with staff actions writes to) <
``transparency`` (2) < ``circuits``, ``revocation`` (3, siblings that never
import each other) < ``billing`` (4) < ``config`` (5). Every ``.py`` under those packages
(migrations excluded; tests, scripts and bench are outside the graph) is
parsed with ``ast``, and:

(a) no two modules import each other, directly or through others (a cycle is
    reported as its path of modules);
(b) no module imports a module of a higher layer, nor of a sibling;
(c) no first-party import sits inside a function or method body, except in
    ``AppConfig.ready()`` (system checks and signal registration).

``if TYPE_CHECKING:`` imports count for (b), the layer rule, because a type
import still couples the lower layer to the upper one; they are left out of
(a), the cycle rule, since they never run.

Edges are module to module: ``from pkg import name`` is an edge to
``pkg.name`` when that is a module, else to ``pkg``; importing
``a.b.c`` also runs ``a/__init__`` and ``a/b/__init__``, but those package
edges are not counted (a package ``__init__`` that imports its own submodules
would otherwise make every submodule a cycle with it).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: Layer of each top-level package (equal numbers: siblings).
LAYERS = {
    "kernel": 0,
    "audittrail": 1,
    "transparency": 2,
    "circuits": 3,
    "revocation": 3,
    "billing": 4,
    "config": 5,
}


@dataclass(frozen=True)
class Edge:
    """One import: ``importer`` imports ``imported`` at ``line``."""

    importer: str
    imported: str
    line: int
    in_function: bool
    type_only: bool
    in_ready: bool


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    found = {}
    for package in LAYERS:
        for path in (ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            found[_module_name(path)] = path
    return found


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """Return the project module ``name`` denotes (longest existing prefix)."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in modules:
            return candidate
        parts.pop()
    return None


class _Visitor(ast.NodeVisitor):
    def __init__(self, module: str, is_package: bool, modules: dict[str, Path]):
        self.module = module
        self.package = module if is_package else module.rpartition(".")[0]
        self.modules = modules
        self.edges: list[Edge] = []
        self._functions: list[str] = []
        self._type_checking = 0
        self._classes: list[str] = []

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._classes.append(node.name)
        self.generic_visit(node)
        self._classes.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._functions.append(node.name)
        self.generic_visit(node)
        self._functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]

    def visit_If(self, node: ast.If) -> None:
        test = node.test
        is_tc = (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
            isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
        )
        if is_tc:
            self._type_checking += 1
            for child in node.body:
                self.visit(child)
            self._type_checking -= 1
            for child in node.orelse:
                self.visit(child)
        else:
            self.generic_visit(node)

    def _add(self, target: str, line: int) -> None:
        resolved = _resolve(target, self.modules)
        if resolved is None or resolved == self.module:
            return
        self.edges.append(
            Edge(
                importer=self.module,
                imported=resolved,
                line=line,
                in_function=bool(self._functions),
                type_only=self._type_checking > 0,
                in_ready=self._functions[-1:] == ["ready"],
            )
        )

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self._add(alias.name, node.lineno)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level:
            base = self.package.split(".")
            if node.level > 1:
                base = base[: len(base) - (node.level - 1)]
            source = ".".join(base + ([node.module] if node.module else []))
        else:
            source = node.module or ""
        for alias in node.names:
            full = f"{source}.{alias.name}"
            self._add(full if full in self.modules else source, node.lineno)


def _edges() -> list[Edge]:
    modules = _modules()
    edges: list[Edge] = []
    for name, path in sorted(modules.items()):
        visitor = _Visitor(name, path.name == "__init__.py", modules)
        visitor.visit(ast.parse(path.read_text(encoding="utf-8")))
        edges.extend(visitor.edges)
    return edges


def _layer(module: str) -> int:
    return LAYERS[module.split(".")[0]]


def _find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Return one cycle per strongly connected component of size > 1
    (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                    advanced = True
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            if advanced:
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    item = stack.pop()
                    on_stack.discard(item)
                    component.append(item)
                    if item == node:
                        break
                if len(component) > 1:
                    components.append(_cycle_path(graph, set(component)))
    return components


def _cycle_path(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    start = min(component)
    path = [start]
    seen = {start}
    node = start
    while True:
        nxt = sorted(c for c in graph.get(node, ()) if c in component)
        back = [c for c in nxt if c == start]
        if back and len(path) > 1:
            return [*path, start]
        unseen = [c for c in nxt if c not in seen]
        if not unseen:
            return [*path, nxt[0]] if nxt else path
        node = unseen[0]
        seen.add(node)
        path.append(node)


def test_no_import_cycle() -> None:
    """No module reaches itself through runtime imports (rule a)."""
    graph: dict[str, set[str]] = {}
    for edge in _edges():
        if edge.type_only:
            continue
        graph.setdefault(edge.importer, set()).add(edge.imported)
    cycles = _find_cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(
        " -> ".join(cycle) for cycle in cycles
    )


def test_no_import_from_a_higher_or_sibling_layer() -> None:
    """Every import points down the layers, or stays in its own package
    (rule b; ``TYPE_CHECKING`` imports included)."""
    wrong = sorted(
        f"{edge.importer}:{edge.line} imports {edge.imported}"
        for edge in _edges()
        if edge.importer.split(".")[0] != edge.imported.split(".")[0]
        and _layer(edge.imported) >= _layer(edge.importer)
    )
    assert not wrong, "imports against the layers:\n" + "\n".join(wrong)


def test_no_first_party_import_in_a_function_body() -> None:
    """First-party imports sit at module level, except in
    ``AppConfig.ready()`` (rule c)."""
    wrong = sorted(
        f"{edge.importer}:{edge.line} imports {edge.imported} in a function"
        for edge in _edges()
        if edge.in_function and not edge.in_ready
    )
    assert not wrong, "\n".join(wrong)


def test_layers_name_every_top_level_package() -> None:
    """Each layered package exists; the rules above would pass vacuously on a
    misspelt name."""
    for package in LAYERS:
        assert (ROOT / package / "__init__.py").is_file(), package
