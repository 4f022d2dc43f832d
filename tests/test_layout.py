"""The package's layout, a house with wings, read from the source with ``ast`` (nothing is imported).

* foundations: the top-level modules ``prodassoc_lab/*.py`` (data, rules, graph, ...);
* wings: the subpackages ``nodes``, ``links``, ``next_basket`` (chapters 7-9) and ``explain`` (10);
* ``tools``: the site and measuring tools.

Foundations import no wing and no tool; a wing imports foundations, itself and tools (explain's
cost model measures with ``tools.measure``), and only ``explain`` imports the other wings;
``tools`` imports no wing; no module imports itself back
through others (no cycle); no module-level ``__getattr__`` (a lazy-import shim hides a cycle).
Every import counts, also one inside a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "prodassoc_lab"
SOURCE = Path(__file__).resolve().parent.parent / PACKAGE
WINGS = ("nodes", "links", "next_basket", "explain")
TOOLS = "tools"


def module_name(path: Path) -> str:
    parts = [PACKAGE, *path.relative_to(SOURCE).with_suffix("").parts]
    return ".".join(parts[:-1]) if parts[-1] == "__init__" else ".".join(parts)


MODULES = {module_name(path): path for path in sorted(SOURCE.rglob("*.py"))}


def is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def imports(name: str) -> dict[str, int]:
    """The package's modules that module ``name`` imports, each with the line of its first import."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"), filename=str(MODULES[name]))
    here = name if is_package(name) else name.rpartition(".")[0]  # the package relative imports start from
    found: dict[str, int] = {}

    def add(target: str, line: int) -> None:
        # the most specific module that exists: `prodassoc_lab.data.basket_matrix` -> `prodassoc_lab.data`
        while target and target not in MODULES:
            target = target.rpartition(".")[0]
        if target and target != name:
            found.setdefault(target, line)

    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    add(alias.name, node.lineno)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = here.split(".")
                base = base[: len(base) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            if source.split(".")[0] != PACKAGE:
                continue
            for alias in node.names:
                submodule = f"{source}.{alias.name}"
                add(submodule if submodule in MODULES else source, node.lineno)
    return found


GRAPH = {name: imports(name) for name in MODULES}


def part(name: str) -> str:
    """'foundation', a wing's name or 'tools'."""
    pieces = name.split(".")
    if len(pieces) == 1 or (len(pieces) == 2 and not is_package(name)):
        return "foundation"
    return pieces[1]


def where(name: str, target: str) -> str:
    return f"{MODULES[name].relative_to(SOURCE.parent)}:{GRAPH[name][target]} imports {target}"


def test_the_parts_are_known():
    unknown = sorted({part(name) for name in MODULES} - {"foundation", TOOLS, *WINGS})
    assert not unknown, (
        f"subpackages that are neither a wing {WINGS} nor {TOOLS!r}: {unknown}; "
        "place them in the layout (tests/test_layout.py) and pyproject.toml"
    )


def test_foundations_import_no_wing_and_no_tool():
    wrong = [where(name, target) for name in MODULES if part(name) == "foundation"
             for target in GRAPH[name] if part(target) != "foundation"]
    assert not wrong, "a foundation may import only foundations:\n  " + "\n  ".join(wrong)


def test_wings_import_foundations_and_only_explain_imports_other_wings():
    wrong = []
    for name in MODULES:
        wing = part(name)
        if wing not in WINGS:
            continue
        for target in GRAPH[name]:
            other = part(target)
            if other in WINGS and other != wing and wing != "explain":
                wrong.append(f"{where(name, target)} (only explain imports another wing)")
    assert not wrong, "wrong imports between wings:\n  " + "\n  ".join(wrong)


def test_tools_import_no_wing():
    wrong = [where(name, target) for name in MODULES if part(name) == TOOLS
             for target in GRAPH[name] if part(target) in WINGS]
    assert not wrong, "tools may import foundations and tools only:\n  " + "\n  ".join(wrong)


def cycles() -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in GRAPH[node]:
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for name in sorted(GRAPH):
        if name not in index:
            visit(name)
    return found


def shortest_cycle(component: list[str]) -> list[str]:
    """A shortest cycle through the component's first module, as a list that ends where it starts."""
    start, members = component[0], set(component)
    previous: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for name in frontier:
            for target in sorted(GRAPH[name]):
                if target == start:
                    path = [name]
                    while path[-1] != start:
                        path.append(previous[path[-1]])
                    return [*reversed(path), start]
                if target in members and target not in previous:
                    previous[target] = name
                    following.append(target)
        frontier = following
    return [start, start]


def test_no_import_cycle():
    found = cycles()
    lines = []
    for component in found:
        path = shortest_cycle(component)
        lines.append(f"{len(component)} modules import each other ({', '.join(component)}); one cycle:")
        lines += [f"    {where(name, target)}" for name, target in zip(path, path[1:], strict=False)]
    assert not found, "modules that import each other (directly or through others):\n" + "\n".join(lines)


def test_no_module_level_getattr():
    shims = []
    for path in MODULES.values():
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            targets = []
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                targets = [node.name]
            elif isinstance(node, ast.Assign):
                targets = [t.id for t in node.targets if isinstance(t, ast.Name)]
            elif isinstance(node, ast.AnnAssign | ast.AugAssign) and isinstance(node.target, ast.Name):
                targets = [node.target.id]
            if "__getattr__" in targets:
                shims.append(f"{path.relative_to(SOURCE.parent)}:{node.lineno}")
    message = "module-level __getattr__ (a lazy-import shim; import the module itself):\n  "
    assert not shims, message + "\n  ".join(shims)


def test_the_graph_sees_the_package():
    # guards the checks above against passing vacuously (a moved package, a broken parser)
    assert {"prodassoc_lab.data", "prodassoc_lab.nodes.cli", "prodassoc_lab.tools.student_edition"} <= set(MODULES)
    assert all(part(target) == "foundation" for target in GRAPH["prodassoc_lab.data"])
    assert any(part(target) == "foundation" for name in MODULES if part(name) in WINGS for target in GRAPH[name])
