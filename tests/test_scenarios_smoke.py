"""Every scenario file in scenarios/ plans the bundled example to a valid plan.

The solves use a looser gap and a short time limit than the files ask for: the point is
that each file loads, applies to the workbook and plans (every plan passes the optimiser's
independent check before it is returned), not the last 1% of NPV.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from planner.optimise.optimiser import check_plan, plan_portfolio
from planner.inputs.scenario import load_scenario
from planner.inputs.workbook import read_portfolio

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.yaml"))


def test_the_scenarios_folder_has_the_what_if_stories():
    names = {path.name for path in SCENARIOS}
    assert {"base.yaml", "budget-cut-10.yaml", "growth-get-help.yaml", "pessimistic-uplift.yaml", "backstage-first.yaml"} <= names


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_scenario_plans_to_a_valid_plan(path):
    scenario = replace(load_scenario(path), gap=0.02, time_limit_seconds=20)
    plan = plan_portfolio(read_portfolio(scenario.workbook), scenario)
    assert plan.solve.status in ("optimal", "feasible")
    assert plan.funded and plan.total_spend <= sum(plan.portfolio.budget) + 1e-6
    assert check_plan(plan.portfolio, plan.scenario, plan.decisions) == []
