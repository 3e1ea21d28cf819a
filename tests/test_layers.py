"""The package's layers hold: the import-linter contracts in pyproject.toml, and no import cycle anywhere.

Imports inside functions and under TYPE_CHECKING count: a cycle there still ties the
modules together (the restructure issue found one of six modules through such imports).
"""

from __future__ import annotations

from pathlib import Path

import grimp
from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parent.parent


def test_the_import_linter_contracts_hold(monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    exit_code = lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True)
    assert exit_code == 0, capsys.readouterr().out


def import_cycles(package: str) -> list[list[str]]:
    """Every set of modules that import each other, directly or through others (Tarjan's strongly connected components)."""
    graph = grimp.build_graph(package, exclude_type_checking_imports=False)
    imports = {module: graph.find_modules_directly_imported_by(module) for module in graph.modules}
    order: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        order[module] = low[module] = len(order)
        stack.append(module)
        for imported in imports[module]:
            if imported not in order:
                visit(imported)
                low[module] = min(low[module], low[imported])
            elif imported in stack:
                low[module] = min(low[module], order[imported])
        if low[module] == order[module]:
            component = []
            while component[-1:] != [module]:
                component.append(stack.pop())
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(imports):
        if module not in order:
            visit(module)
    return cycles


def test_no_module_of_planner_is_in_an_import_cycle():
    assert import_cycles("planner") == []


def test_the_cycle_finder_finds_a_cycle_through_an_import_inside_a_function(tmp_path, monkeypatch):
    package = tmp_path / "looped"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("import looped.b\n")
    (package / "b.py").write_text("def late():\n    from looped import c\n")
    (package / "c.py").write_text("from looped.a import *\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    assert import_cycles("looped") == [["looped.a", "looped.b", "looped.c"]]
