"""planner: an experience portfolio investment planner.

Load finance's workbook, plan the portfolio with a mixed-integer optimiser, and report:

    import planner
    scenario = planner.load_scenario("scenarios/base.yaml")
    portfolio = planner.read_portfolio(scenario.workbook)
    plan = planner.plan_portfolio(portfolio, scenario)
    planner.write_reports(plan, "planner-output", formats=["html", "xlsx"])

The names below are the public API; each is the function of the step that owns it (see
docs/architecture.md). They are imported on first use, so `import planner` stays cheap
and a solver subprocess that needs one step does not load the others.

Read and check inputs:
    read_portfolio(path)       the workbook as a Portfolio; InputError lists every problem
    examine_workbook(path)     everything the reader found: errors, warnings, defaults used
    load_scenario(path)        a scenario .yaml (and what it extends), checked once
Plan:
    plan_portfolio(portfolio, scenario=None)   the optimal plan (or the best found, labelled)
Analyse:
    efficient_frontier, compare_plans, plan_scenarios, sensitivity, explain
    enabler_bundles(plan)      what each backstage enabler unlocks (pass to write_reports)
    roll_forward, read_plan_state, write_plan_state      the quarterly cycle
Report:
    write_reports(plan, folder, formats, bundles=None)   report.html, report.xlsx, plan.csv, atomically
"""

from __future__ import annotations

import importlib

# Public name -> the module that owns it.
_API = {
    "read_portfolio": "planner.inputs.workbook",
    "examine_workbook": "planner.inputs.workbook",
    "load_scenario": "planner.inputs.scenario",
    "Scenario": "planner.inputs.scenario",
    "Portfolio": "planner.core.domain",
    "Experience": "planner.core.domain",
    "InputError": "planner.core.errors",
    "plan_portfolio": "planner.optimise.optimiser",
    "Plan": "planner.optimise.plan",
    "efficient_frontier": "planner.analysis.frontier",
    "compare_plans": "planner.analysis.compare",
    "plan_scenarios": "planner.analysis.compare",
    "sensitivity": "planner.analysis.variants",
    "explain": "planner.analysis.explain",
    "enabler_bundles": "planner.analysis.bundles",
    "roll_forward": "planner.cycle.roll",
    "read_plan_state": "planner.cycle.roll",
    "write_plan_state": "planner.cycle.roll",
    "write_reports": "planner.publish",
    "write_quarterly_reports": "planner.publish",
}

__all__ = sorted(_API)


def __getattr__(name: str):
    if name not in _API:
        raise AttributeError(f"module 'planner' has no attribute {name!r}")
    value = getattr(importlib.import_module(_API[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_API))
