"""The package's imports flow one way: no cycle between modules, and no cycle between packages."""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "coursegen"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_names(path: Path) -> Iterator[str]:
    """Every `coursegen…` name the module imports, relative imports resolved (TYPE_CHECKING too:
    a cycle that only type-checking sees is still a cycle a reader has to untangle)."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path.parent)
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def module_graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {
        name: {dep for dep in imported_names(path) if dep in modules and dep != name}
        for name, path in modules.items()
    }


def package_of(module: str, graph: dict[str, set[str]]) -> str:
    is_package = any(other.startswith(module + ".") for other in graph)
    return module if is_package else module.rpartition(".")[0]


# The application factory assembles the routers, which stand on the server's other modules:
# an edge down from the one module that builds the app is not a cycle a reader has to untangle.
COMPOSITION_ROOTS = {"coursegen.server.app"}


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """Packages as nodes; `a -> b` when a module directly in `a` imports one directly in `b`.
    A package's `__init__` re-exporting its own modules is not an edge to itself."""
    packages: dict[str, set[str]] = {}
    for module, deps in graph.items():
        if module in COMPOSITION_ROOTS:
            continue
        source = package_of(module, graph)
        targets = {package_of(dep, graph) for dep in deps} - {source}
        packages.setdefault(source, set()).update(targets)
    return packages


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A cycle in `graph` as a list of nodes, or None (iterative DFS, three colours)."""
    state: dict[str, int] = {}
    for start in sorted(graph):
        if state.get(start):
            continue
        stack = [(start, iter(sorted(graph.get(start, ()))))]
        path = [start]
        state[start] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
                path.pop()
            elif state.get(child) == 1:
                return [*path[path.index(child) :], child]
            elif not state.get(child):
                state[child] = 1
                path.append(child)
                stack.append((child, iter(sorted(graph.get(child, ())))))
    return None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": set()}) is None


def test_the_graph_sees_relative_and_absolute_imports() -> None:
    graph = module_graph()
    assert "coursegen.server.app" in graph
    assert any(deps for deps in graph.values()), "no import edges found: the walker is broken"


def test_no_import_cycle_between_modules() -> None:
    cycle = find_cycle(module_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_no_import_cycle_between_packages() -> None:
    cycle = find_cycle(package_graph(module_graph()))
    assert cycle is None, "package cycle: " + " -> ".join(cycle or [])


@pytest.mark.parametrize(
    ("lower", "upper"),
    [
        ("coursegen.prompts", "coursegen.names"),
        ("coursegen.prompts", "coursegen.domain"),
        ("coursegen.prompts", "coursegen.settings"),
        ("coursegen.names", "coursegen.domain"),
        ("coursegen.settings", "coursegen.domain"),
        ("coursegen.domain", "coursegen.providers"),
        ("coursegen.settings", "coursegen.providers"),
        ("coursegen.providers", "coursegen.chains"),
        ("coursegen.chains", "coursegen.providers"),
        ("coursegen.providers", "coursegen.graph"),
        ("coursegen.domain", "coursegen.chains"),
        ("coursegen.exports", "coursegen.chains"),
        ("coursegen.quality", "coursegen.chains"),
        ("coursegen.prompts", "coursegen.chains"),
        ("coursegen.chains", "coursegen.graph"),
        ("coursegen.graph", "coursegen.server"),
        ("coursegen.server", "coursegen.cli"),
        ("coursegen.client", "coursegen.server"),
        ("coursegen.server.jobs", "coursegen.server.routes"),
        ("coursegen.server.jobs", "coursegen.server.webhooks"),
        ("coursegen.server.jobs", "coursegen.server.wiring"),
        ("coursegen.server.core", "coursegen.server.jobs"),
        ("coursegen.server.sources", "coursegen.server.jobs"),
        ("coursegen.server.webhooks", "coursegen.server.routes"),
    ],
)
def test_lower_layers_do_not_import_upper_ones(lower: str, upper: str) -> None:
    offenders = sorted(
        f"{module} imports {dep}"
        for module, deps in module_graph().items()
        if module.startswith(lower)
        for dep in deps
        if dep.startswith(upper)
    )
    assert not offenders, offenders
