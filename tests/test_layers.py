"""Check that coursegen's packages import one way: none imports a package of a higher layer."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "coursegen"
# Lowest first (docs/architecture.md); packages on one line may not import each other either.
LAYERS: list[set[str]] = [
    {"names"},
    {"prompts"},
    {"domain", "settings"},
    {"providers", "chains", "exports", "quality", "sources"},
    {"graph"},
    {"server", "client"},
    {"cli"},
]
LAYER_OF = {name: rank for rank, layer in enumerate(LAYERS) for name in layer}


def imports() -> list[tuple[str, str, str]]:
    """(file, importing package, imported package) for every `coursegen.*` import."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        owner = parts[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            for name in names:
                if name.startswith("coursegen."):
                    found.append((str(path.relative_to(PACKAGE)), owner, name.split(".")[1]))
    return found


def test_every_package_has_a_layer() -> None:
    top = {p.stem if p.is_file() else p.name for p in PACKAGE.iterdir() if p.name != "__init__.py"}
    top = {name for name in top if not name.startswith(("_", "."))}
    assert top - set(LAYER_OF) == set()


def test_imports_go_down_the_layers() -> None:
    wrong = [
        f"{path}: {owner} imports {target}"
        for path, owner, target in imports()
        if owner != target and LAYER_OF[target] >= LAYER_OF[owner]
    ]
    assert wrong == []
