"""The import graph of a package, read from its source with ``ast`` (nothing is imported).

Every import counts: at module level, inside functions, under ``if TYPE_CHECKING:``, and
``importlib.import_module("...")`` / ``__import__("...")`` with a literal name. Relative imports are
resolved against the importing module. ``from a.b import c`` is an edge to the module ``a.b.c`` when
there is one, else to ``a.b``. Only edges between modules of the package are kept.

The rules are data (``ALLOWED``): which subpackage may import which. Each check returns a list of
readable findings (``path:line: statement -- why``); an empty list means the rule holds.
tests/architecture/test_import_rules.py runs them on the real package and on tiny fake packages.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

TOP = "(top level)"  # the group of the modules directly in the package (web, cli, openapi, __init__)
MAX_TOP_MODULES = 5  # __init__.py counts as one


@dataclass(frozen=True)
class Import:
    importer: str  # dotted module name
    target: str  # dotted module name inside the package
    path: Path
    line: int
    statement: str

    def where(self, base: Path) -> str:
        try:
            shown = self.path.relative_to(base)
        except ValueError:
            shown = self.path
        return f"{shown}:{self.line}: `{self.statement}`"


class Package:
    """Every module of the package under ``root`` (a directory with ``__init__.py``) and its imports."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.name = root.name
        self.base = root.parent  # paths in findings are shown relative to this
        self.files: dict[str, Path] = {}
        for path in sorted(root.rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            self.files[".".join([self.name, *parts])] = path
        self.imports: list[Import] = []
        for module, path in self.files.items():
            self.imports.extend(imports_of(module, path, self.files, is_package=path.name == "__init__.py"))

    @property
    def subpackages(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and (p / "__init__.py").exists())

    @property
    def top_modules(self) -> list[str]:
        return sorted(p.name for p in self.root.glob("*.py"))

    def group(self, module: str) -> str:
        """The subpackage a module belongs to (``core``, ``lti13``...), or TOP."""
        parts = module.split(".")
        return parts[1] if len(parts) > 1 and parts[1] in self.subpackages else TOP

    def graph(self) -> dict[str, dict[str, Import]]:
        edges: dict[str, dict[str, Import]] = {module: {} for module in self.files}
        for imp in self.imports:
            edges[imp.importer].setdefault(imp.target, imp)
        return edges


def _statement(node: ast.AST, source: str) -> str:
    text = ast.get_source_segment(source, node) or ast.dump(node)
    return " ".join(text.split())


def _resolve(name: str, files: Mapping[str, Path]) -> str | None:
    """The longest prefix of ``name`` that is a module of the package."""
    parts = name.split(".")
    while parts:
        candidate = ".".join(parts)
        if candidate in files:
            return candidate
        parts.pop()
    return None


def imports_of(module: str, path: Path, files: Mapping[str, Path], *, is_package: bool = False) -> list[Import]:
    """The imports of one file that land in the package whose modules are ``files``."""
    source = path.read_text(encoding="utf-8")
    found: list[Import] = []

    def add(node: ast.AST, name: str) -> None:
        target = _resolve(name, files)
        if target is not None and target != module:
            found.append(Import(module, target, path, getattr(node, "lineno", 0), _statement(node, source)))

    for node in ast.walk(ast.parse(source, filename=str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(node, alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                here = module.split(".") if is_package else module.split(".")[:-1]
                up = node.level - 1
                if up > len(here) - 1:
                    continue  # beyond the package: not ours
                base = here[: len(here) - up] + (node.module.split(".") if node.module else [])
            else:
                base = node.module.split(".") if node.module else []
            for alias in node.names:
                full = ".".join([*base, alias.name])
                add(node, full if alias.name != "*" and full in files else ".".join(base))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                add(node, node.args[0].value)
    return found


def _once(findings: Iterable[str]) -> list[str]:
    """In order, each once (``from x import a, b`` is one statement, one finding)."""
    return list(dict.fromkeys(findings))


# -- checks ------------------------------------------------------------------------------------------


def cycles(package: Package) -> list[str]:
    """One finding per strongly connected component: a shortest cycle through it, edge by edge."""
    graph = package.graph()
    findings = []
    for component in _strongly_connected(graph):
        members = set(component)
        start = min(component)
        loop = _shortest_cycle(graph, start, members)
        lines = [f"import cycle: {' -> '.join([*loop, loop[0]])}"]
        for a, b in zip(loop, [*loop[1:], loop[0]], strict=True):
            lines.append(f"    {graph[a][b].where(package.base)}")
        if len(members) > len(loop):
            lines.append(f"    (one of the cycles among these {len(members)} modules: {', '.join(sorted(members))})")
        findings.append("\n".join(lines))
    return findings


def _strongly_connected(graph: Mapping[str, Mapping[str, Import]]) -> list[list[str]]:
    """Tarjan's algorithm (iterative); only components that contain a cycle."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            advanced = False
            for child in children:
                if child not in graph:
                    continue
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
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
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    found.append(sorted(component))
    return sorted(found)


def _shortest_cycle(graph: Mapping[str, Mapping[str, Import]], start: str, members: set[str]) -> list[str]:
    """Breadth-first from ``start`` back to it, inside the component."""
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node]):
                if child not in members:
                    continue
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return list(reversed(path))
                if child not in previous:
                    previous[child] = node
                    following.append(child)
        frontier = following
    return [start]


def forbidden(package: Package, allowed: Mapping[str, Iterable[str]]) -> list[str]:
    """Imports across subpackages that ``allowed`` (group -> the groups it may import) does not list."""
    rules = {group: set(targets) for group, targets in allowed.items()}
    findings = [
        f"{package.name}/{name}/ is a subpackage the import rules do not know: add it to ALLOWED"
        for name in package.subpackages
        if name not in rules
    ]
    for imp in package.imports:
        mine, theirs = package.group(imp.importer), package.group(imp.target)
        if mine == theirs or theirs in rules.get(mine, set()):
            continue
        may = ", ".join(sorted(rules.get(mine, set()) - {mine})) or "nothing else of the package"
        findings.append(f"{imp.where(package.base)} -- {mine} may not import {theirs} ({mine} may import: {may})")
    return _once(findings)


def between(package: Package, one: str, other: str) -> list[str]:
    """Imports from ``one`` into ``other`` and back."""
    return _once(
        f"{imp.where(package.base)} -- {package.group(imp.importer)} imports {package.group(imp.target)}"
        for imp in package.imports
        if {package.group(imp.importer), package.group(imp.target)} == {one, other}
    )


def imports_into(package: Package, group: str) -> list[str]:
    """Imports of ``group`` from outside it."""
    return _once(
        f"{imp.where(package.base)} -- only {group} itself may import {group}"
        for imp in package.imports
        if package.group(imp.target) == group and package.group(imp.importer) != group
    )


def too_many_top_modules(package: Package, limit: int = MAX_TOP_MODULES) -> list[str]:
    top = package.top_modules
    if len(top) <= limit:
        return []
    return [
        f"{package.name}/ has {len(top)} modules besides its subpackages (at most {limit}, __init__.py "
        f"included): {', '.join(top)} -- move the new ones into a subpackage"
    ]


def non_empty_inits(package: Package) -> list[str]:
    """Subpackage ``__init__.py`` files that are not empty (no docstring, no re-exports, no code:
    importing ``lti_gateway.x.y`` must load ``y`` and nothing else; what a folder owns is in
    docs/architecture.md)."""
    findings = []
    for name in package.subpackages:
        path = package.root / name / "__init__.py"
        text = path.read_text(encoding="utf-8")
        if text.strip():
            first = next(line for line in text.splitlines() if line.strip())
            shown = path.relative_to(package.base)
            findings.append(f"{shown}: `{first.strip()[:60]}` -- a subpackage __init__.py stays empty")
    return findings


def handler_imports(handler: Path, package: Package, forbidden_group: str) -> list[str]:
    """Imports of ``forbidden_group`` by a handler file (outside the package)."""
    return _once(
        f"{imp.where(handler.parents[2])} -- a handler routes and calls the domain; it does not import "
        f"{package.name}.{forbidden_group}"
        for imp in imports_of("app", handler, package.files)
        if package.group(imp.target) == forbidden_group
    )
