"""The import graph of the project, read from the source files as they are (whatever modules exist
now): calibration/ stands alone, the Blender add-on imports only what Blender ships, no module
takes another module's private names, and no modules import each other in a circle."""

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("mocap", "calibration", "lifting", "exporters", "blender_addon")
# What Blender's own Python provides besides the standard library: its API modules and numpy.
BLENDER_PROVIDES = {"bpy", "bpy_extras", "mathutils", "bmesh", "gpu", "gpu_extras", "blf", "aud", "idprop",
                    "addon_utils", "numpy"}


def _modules() -> dict[str, tuple[Path, ast.Module]]:
    out = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            out[name] = (path, ast.parse(path.read_text(encoding="utf-8"), str(path)))
    return out


MODULES = _modules()


def _is_package(name: str) -> bool:
    return MODULES[name][0].name == "__init__.py"


def _imports(name: str, tree: ast.Module | None = None, is_package: bool | None = None):
    """(imported module, imported name or None, line) for every import statement of a module,
    function-level ones included; relative imports resolved."""
    tree = MODULES[name][1] if tree is None else tree
    is_package = _is_package(name) if is_package is None else is_package
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, None, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                here = name.split(".") if is_package else name.split(".")[:-1]
                base = ".".join(here[: len(here) - node.level + 1] + ([base] if base else []))
            for alias in node.names:
                yield base, alias.name, node.lineno


def _private(name: str, imports) -> list[str]:
    return [f"{name}:{line} takes {imported} from {module}" for module, imported, line in imports
            if imported and imported.startswith("_") and not imported.startswith("__") and module != name]


def _cycles(edges: dict[str, set[str]]) -> list[str]:
    """Every cycle a depth-first search closes (a back edge), as the path around it."""
    state, stack, cycles = {}, [], []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                cycles.append(" -> ".join(stack[stack.index(nxt):] + [nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(edges) + 100))
    for node in sorted(edges):
        if node not in state:
            visit(node)
    return cycles


def _edges() -> dict[str, set[str]]:
    """Module -> project modules it makes Python load: the target, every package above the target
    (importing ``a.b.c`` runs ``a`` and ``a.b`` too) and, for ``from m import n``, submodule m.n.
    A package and its own submodules are not counted (Python handles that order itself)."""
    edges = {}
    for name in MODULES:
        targets = set()
        for module, imported, _ in _imports(name):
            parts = module.split(".")
            for i in range(1, len(parts) + 1):
                targets.add(".".join(parts[:i]))
            if imported is not None:
                targets.add(f"{module}.{imported}")
        edges[name] = {t for t in targets if t in MODULES and t != name
                       and not t.startswith(name + ".") and not name.startswith(t + ".")}
    return edges


def test_calibration_imports_nothing_from_mocap():
    found = [f"{MODULES[m][0].relative_to(ROOT)}:{line} imports {module}"
             for m in MODULES if m.split(".")[0] == "calibration"
             for module, _, line in _imports(m) if module.split(".")[0] in ("mocap", "lifting", "exporters")]
    assert not found, "\n".join(found)


def test_the_blender_addon_imports_only_what_blender_ships():
    addon = [m for m in MODULES if m.split(".")[0] == "blender_addon"]
    assert addon, "blender_addon/ holds no module"
    found = []
    for m in addon:
        for module, _, line in _imports(m):
            top = module.split(".")[0]
            if top not in sys.stdlib_module_names and top not in BLENDER_PROVIDES and top != "blender_addon":
                found.append(f"{MODULES[m][0].relative_to(ROOT)}:{line} imports {module}")
    assert not found, "\n".join(found)


def test_no_module_imports_a_private_name_of_another_module():
    found = [f for m in MODULES for f in _private(m, _imports(m))]
    assert not found, "\n".join(found)


def test_there_is_no_import_cycle():
    cycles = _cycles(_edges())
    assert not cycles, "\n".join(cycles)


def test_the_graph_reader_sees_imports_of_every_kind():
    # The checks above are only as good as the reader: relative and function-level imports are
    # resolved, private names are caught, and a cycle is found.
    resolved = {(module, imported) for module, imported, _ in _imports("mocap.triangulate.association")}
    assert ("mocap.triangulate.matching", "pair_seeds") in resolved
    assert "exporters" in {module for module, _, _ in _imports("mocap.api")}  # imported inside functions
    assert {"mocap.filters.contacts", "mocap.filters"} <= _edges()["mocap.retarget"]
    lazy = ast.parse("def dumps():\n    from .toml_format import _value\n")
    assert _private("calibration.caliscope", _imports("calibration.caliscope", lazy, False)) == [
        "calibration.caliscope:2 takes _value from calibration.toml_format"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a -> b -> c -> a"]
    assert _cycles({"a": {"b"}, "b": set(), "c": {"a", "b"}}) == []
