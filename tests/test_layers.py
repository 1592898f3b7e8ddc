"""The package's folders are its layers, and imports only point down them: cli → studies →
evaluation → training → models → core → paper (extras is shared by all). Read from the source's
import statements, function bodies included, so a lazy import cannot hide an upward one."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "gradjax"
# Lower number = lower layer. A module may import its own layer and the ones below.
LAYERS = {
    "paper": 0,
    "extras": 0,
    "core": 1,
    "models": 2,
    "training": 3,
    "evaluation": 4,
    "studies": 5,
    "cli": 6,
    "reproduce": 7,  # python -m gradjax.reproduce / gradjax.launch: entry points
    "launch": 7,
    "__init__": 1,  # import gradjax: the core's public API
}


def layer_of(module: str) -> int:
    parts = module.split(".")
    return LAYERS[parts[1] if len(parts) > 1 else "__init__"]


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gradjax"):
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(a.name for a in node.names if a.name.startswith("gradjax"))
    return names


MODULES = sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=[str(p.relative_to(PACKAGE)) for p in MODULES])
def test_no_import_runs_up_a_layer(path):
    module = "gradjax." + ".".join(path.relative_to(PACKAGE).with_suffix("").parts)
    module = module.removesuffix(".__init__") if path.name == "__init__.py" else module
    mine = layer_of(module) if module != "gradjax" else LAYERS["__init__"]
    upward = sorted(name for name in imported(path) if layer_of(name) > mine)
    assert not upward, f"{module} (layer {mine}) imports from higher layers: {upward}"


def test_every_top_level_name_has_a_layer():
    tops = {
        p.stem if p.is_file() else p.name
        for p in PACKAGE.iterdir()
        if p.suffix == ".py" or (p.is_dir() and (p / "__init__.py").exists())
    }
    assert tops <= set(LAYERS), tops - set(LAYERS)


def test_the_core_imports_nothing_but_jax_and_numpy():
    allowed = {
        "jax",
        "numpy",
        "gradjax",
        "__future__",
        "collections",
        "dataclasses",
        "functools",
        "math",
        "typing",
        "warnings",
    }
    for path in (PACKAGE / "core").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                roots = {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                roots = {node.module.split(".")[0]}
            else:
                continue
            assert roots <= allowed, f"{path.name} imports {roots - allowed}"
