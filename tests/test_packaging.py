"""The built wheel is self-sufficient: it carries the report templates and the bundled example.

templates/ and scenarios/ sit at the top of the repository, outside the package; a wheel
must carry them (pyproject.toml maps them into planner/) and an installed planner must find
its own copy (planner.core.resources). The wheel is built once, from a copy of the sources so the
repository's build/ folder neither feeds nor receives it, then unpacked and run from an
empty folder.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import skip_unless_required

from planner.core.resources import bundled_folder

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "planner", "templates", "scenarios")


def wheel_builder_missing() -> str | None:
    """Why this environment cannot build the wheel without the network, or None if it can."""
    if importlib.util.find_spec("pip") is None:
        return "pip is not installed in this environment"
    try:
        version = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        return "setuptools is not installed (the test extra in pyproject.toml brings it)"
    major, minor = (int(part) for part in re.match(r"(\d+)\.(\d+)", version).groups())
    # pyproject.toml's SPDX licence needs setuptools 77, which also builds wheels without `wheel`.
    if (major, minor) < (77, 0):
        return f"setuptools {version} cannot build this project (the test extra brings setuptools>=77)"
    return None


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    reason = wheel_builder_missing()
    if reason is not None:
        skip_unless_required(reason)
    work = tmp_path_factory.mktemp("packaging")
    source = work / "source"
    source.mkdir()
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
        else:
            shutil.copy2(ROOT / name, source / name)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    str(source), "-w", str(work / "dist")], check=True, cwd=work, timeout=120)
    [built] = (work / "dist").glob("planner-*.whl")
    return built


def data_files(folder: str) -> list[str]:
    """The files under the repository's `folder` a wheel must carry: all but the maker scripts."""
    root = ROOT / folder
    return sorted(path.relative_to(root).as_posix() for path in root.rglob("*")
                  if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts)


def test_the_wheel_carries_every_template_and_the_bundled_example(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    templates, scenarios = data_files("templates"), data_files("scenarios")
    # What the code loads: a page, each kind's HTML and Excel template, every section partial.
    assert {"page.html.j2", "report.html.j2", "report.xlsx", "quarterly.xlsx", "frontier.xlsx", "compare.xlsx",
            "explanations.xlsx", "tornado.xlsx", "sections/summary.html.j2"} <= set(templates)
    assert {"base.yaml", "example-portfolio.xlsx", "q2-actuals.xlsx"} <= set(scenarios)
    missing = [f"planner/templates/{name}" for name in templates if f"planner/templates/{name}" not in names]
    missing += [f"planner/scenarios/{name}" for name in scenarios if f"planner/scenarios/{name}" not in names]
    assert missing == [], f"the wheel lacks {missing}: add their pattern to [tool.setuptools.package-data]"
    assert "planner/core/resources.py" in names


def test_the_wheel_carries_every_module_of_every_subpackage(wheel: Path) -> None:
    """A subpackage missing from [tool.setuptools] packages leaves its modules out of the wheel."""
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = sorted(path.relative_to(ROOT).as_posix() for path in (ROOT / "planner").rglob("*.py") if "__pycache__" not in path.parts)
    assert {"planner/core/formatting.py", "planner/render/html.py", "planner/reports/plan_report.py", "planner/publish.py"} <= set(modules)
    missing = [module for module in modules if module not in names]
    assert missing == [], f"the wheel lacks {missing}: add their package to [tool.setuptools] packages"


def test_the_wheel_carries_the_workspace_page_its_script_and_styles(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    shipped = sorted(f"planner/serve/static/{path.name}" for path in (ROOT / "planner" / "serve" / "static").iterdir())
    assert {"planner/serve/static/workspace.js", "planner/serve/static/workspace.css"} <= set(shipped)
    assert [name for name in shipped + ["planner/templates/workspace.html.j2"] if name not in names] == []


def test_an_installed_planner_runs_the_demo_from_its_own_copy(wheel: Path, tmp_path: Path) -> None:
    installed = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(installed)
    empty = tmp_path / "elsewhere"
    empty.mkdir()
    environment = {**os.environ, "PYTHONPATH": str(installed)}
    where = subprocess.run([sys.executable, "-c", "import planner.core.resources as r; print(r.TEMPLATES); print(r.EXAMPLE_SCENARIO)"],
                           cwd=empty, env=environment, capture_output=True, text=True, check=True)
    assert where.stdout.splitlines() == [str(installed / "planner" / "templates"), str(installed / "planner" / "scenarios" / "base.yaml")]
    run = subprocess.run([sys.executable, "-c", "from planner.cli import main; main()", "demo", "-o", "out"],
                         cwd=empty, env=environment, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert (empty / "out" / "report.html").stat().st_size > 0
    assert (empty / "out" / "report.xlsx").stat().st_size > 0


def test_a_clone_reads_the_repository_folders() -> None:
    assert bundled_folder("templates") == ROOT / "templates"
    assert bundled_folder("scenarios") == ROOT / "scenarios"
