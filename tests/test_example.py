"""The bundled example: the committed workbook is what make_example.py builds, and every scenario runs.

If a test here fails after a change to the workbook format, rerun
`python scenarios/make_example.py` and commit the new scenarios/example-portfolio.xlsx.
"""

from __future__ import annotations

import importlib.util
from dataclasses import replace
from pathlib import Path
from types import ModuleType

import pytest

from planner.inputs.scenario import load_scenario

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
EXAMPLE = SCENARIOS / "example-portfolio.xlsx"
SCENARIO_FILES = sorted(SCENARIOS.glob("*.yaml"))


def load_make_example() -> ModuleType:
    """scenarios/ is not a package: load the example builder from its file."""
    spec = importlib.util.spec_from_file_location("make_example", SCENARIOS / "make_example.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def built():
    return load_make_example().example_portfolio()


@pytest.fixture(scope="module")
def read():
    workbook = pytest.importorskip("planner.inputs.workbook")
    return workbook.read_portfolio(EXAMPLE)


def test_example_workbook_has_the_built_settings_teams_and_budget(built, read):
    assert read.settings == built.settings
    assert read.teams == built.teams
    assert read.budget == built.budget
    assert read.total_budget == built.total_budget


def test_example_workbook_has_every_built_experience_unchanged(built, read):
    assert [e.id for e in read.experiences] == [e.id for e in built.experiences]
    for from_workbook, from_python in zip(read.experiences, built.experiences):
        assert from_workbook == from_python, from_python.id


def test_example_workbook_equals_the_built_portfolio(built, read):
    assert replace(read, source="", source_sha256="") == replace(built, source="", source_sha256="")


def test_example_has_the_promised_shape(built):
    experiences = built.experiences
    assert 35 <= len(experiences) <= 45
    assert {e.journey_stage for e in experiences} == {"discover", "choose", "buy", "use", "get help", "renew or leave"}
    assert {e.channel for e in experiences} == {"app", "web", "branch", "contact centre"}
    assert len({e.product_line for e in experiences}) == 3
    assert len(built.teams) == 4 and built.horizon == 8
    assert 2 <= sum(e.mandatory for e in experiences) <= 3
    assert sum(bool(e.excludes) for e in experiences) >= 4  # at least two pairs
    backstage = {e.key for e in experiences if e.layer == "backstage"}
    assert all(any(r.casefold() in backstage for r in e.requires) for e in experiences if e.requires)
    assert all(2 <= len(e.options) <= 3 and e.description for e in experiences)


def test_example_funds_about_half_of_the_attractive_demand(built):
    """Budget / (spend of each positive-NPV experience's best option, enablers and mandatory items)."""
    economics = pytest.importorskip("planner.core.economics")
    columns = economics.columns(replace(built, settings=replace(built.settings, start_quarters="fixed")))
    demand = 0.0
    for i, experience in enumerate(built.experiences):
        own = [c for c in range(len(columns)) if columns.experience[c] == i]
        best = max(own, key=lambda c: columns.npv[c])
        if columns.npv[best] > 0 or experience.mandatory or experience.layer == "backstage":
            demand += columns.spend[best].sum()
    money = min(sum(built.budget), built.total_budget or float("inf"))
    assert 0.4 <= money / demand <= 0.6


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=[p.name for p in SCENARIO_FILES])
def test_every_scenario_file_loads(path):
    scenario = load_scenario(path)
    assert Path(scenario.workbook).is_file()


@pytest.mark.parametrize("path", SCENARIO_FILES, ids=[p.name for p in SCENARIO_FILES])
def test_every_scenario_file_plans(path):
    optimise = pytest.importorskip("planner.optimise.optimiser")
    workbook = pytest.importorskip("planner.inputs.workbook")
    scenario = load_scenario(path)
    plan = optimise.plan_portfolio(workbook.read_portfolio(scenario.workbook), scenario)
    assert plan.solve.status in ("optimal", "feasible")


@pytest.mark.parametrize("solver", ["cbc", "highs"])
def test_base_scenario_plans_to_a_proven_optimum_well_above_greedy(solver):
    optimise = pytest.importorskip("planner.optimise.optimiser")
    workbook = pytest.importorskip("planner.inputs.workbook")
    scenario = replace(load_scenario(SCENARIOS / "base.yaml"), solver=solver)
    plan = optimise.plan_portfolio(workbook.read_portfolio(scenario.workbook), scenario)
    assert plan.solve.proven_optimal
    assert plan.greedy.feasible
    assert plan.npv >= plan.greedy.npv * 1.10
    funded = len(plan.funded) / len(plan.decisions)
    assert 0.35 <= funded <= 0.75
    assert any(rule.kind in ("budget", "total_budget") and rule.binding for rule in plan.rules)
    assert any(rule.kind == "capacity" and rule.binding for rule in plan.rules)
