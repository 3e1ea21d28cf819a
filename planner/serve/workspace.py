"""The leadership workspace's planning: the plan of record, a what-if re-planned against it, and the answer as JSON.

`open_workspace` reads the served scenario and its workbook once and plans the plan of
record. `plan_what_if` re-plans a what-if (`planner.inputs.what_if`: the scenario keys as a
mapping) warm-started from the plan of record, and `answer` makes the JSON the page and the
API get: the plan.json document (`planner.cycle.roll.state_json`), plus the solver's status
with its gap, what entered, left or moved against the plan of record and why, and where the
plan sits on the plan of record's efficient frontier (solved once, in the background).

Every solve is capped at the workspace's time limit: the plan says so when that stopped it
short of a proof.
"""

from __future__ import annotations

import bisect
import logging
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from planner.analysis.frontier import Frontier, efficient_frontier
from planner.analysis.compare import compare_plans
from planner.analysis.variants import effective_budget
from planner.core.cancel import cancelled_by
from planner.core.domain import Portfolio, quarter_label
from planner.core.errors import InputError
from planner.core.formatting import symbol
from planner.cycle.roll import plan_state, state_json
from planner.inputs.scenario import Scenario, load_scenario
from planner.inputs.what_if import what_if_scenario, what_if_yaml
from planner.inputs.workbook import read_workbook
from planner.optimise.optimiser import plan_portfolio
from planner.optimise.plan import Plan
from planner.reports.experience_view import stage_order

log = logging.getLogger(__name__)

# Budgets solved for the frontier the page places each what-if on (in the background, once).
FRONTIER_POINTS = 12
# Monte Carlo draws for each plan's P10/P90 (planner.analysis.risk; about 0.05 s for the example).
RISK_DRAWS = 1000


@dataclass
class Workspace:
    """The served scenario, its workbook as read, the plan of record and (once solved) its frontier."""

    scenario: Scenario
    portfolio: Portfolio
    record: Plan
    time_limit: float
    frontier: Frontier | None = None
    frontier_error: str = ""
    frontier_done: threading.Event = field(default_factory=threading.Event)
    # Set when the workspace closes: a frontier still solving stops, solver processes and all.
    closing: threading.Event = field(default_factory=threading.Event)
    record_uncertainty: dict[str, Any] = field(default_factory=dict)


def capped(scenario: Scenario, portfolio: Portfolio, time_limit: float) -> Scenario:
    """The scenario with its solver time limit no longer than the workspace's."""
    asked = scenario.time_limit_seconds or portfolio.settings.time_limit_seconds
    return replace(scenario, time_limit_seconds=min(asked, time_limit))


def open_workspace(scenario_path: str | Path, time_limit: float = 30.0) -> Workspace:
    """Read the scenario and its workbook (InputError with every problem) and plan the plan of record."""
    scenario = load_scenario(scenario_path)
    portfolio, errors, warnings = read_workbook(scenario.workbook)
    if errors:
        raise InputError(errors, warnings)
    record = plan_portfolio(portfolio, capped(scenario, portfolio, time_limit))
    return Workspace(scenario, portfolio, record, time_limit, record_uncertainty=uncertainty(record))


def solve_frontier(workspace: Workspace) -> None:
    """The plan of record's efficient frontier, for placing what-ifs on it; any failure is said, not raised."""
    try:
        with cancelled_by(workspace.closing):
            workspace.frontier = efficient_frontier(workspace.portfolio, capped(workspace.scenario, workspace.portfolio, workspace.time_limit),
                                                    points=FRONTIER_POINTS)
    except Exception as error:  # the workspace works without a frontier: the page says why there is none
        log.warning("no frontier for the workspace: %s", error)
        workspace.frontier_error = str(error)
    finally:
        workspace.frontier_done.set()


def what_if_of(workspace: Workspace, data: Any) -> Scenario:
    """The what-if as the scenario it stands for (InputError located by key, workbook problems included)."""
    from planner.inputs.scenario import apply_scenario

    scenario = what_if_scenario(workspace.scenario, data)
    apply_scenario(workspace.portfolio, scenario)  # unknown ids, teams, quarters: reported now, before any solve
    return scenario


def plan_what_if(workspace: Workspace, data: Any) -> Plan:
    """The what-if planned, warm-started from the plan of record; InputError, InfeasibleError or SolverError as planning raises."""
    scenario = what_if_of(workspace, data)
    if not data:
        return workspace.record
    return plan_portfolio(workspace.portfolio, capped(scenario, workspace.portfolio, workspace.time_limit), start_from=workspace.record)


def scenario_file(workspace: Workspace, data: dict[str, Any]) -> str:
    """The what-if as a scenario file `planner plan` reproduces (with the time limit the workspace used, if it cut one)."""
    what_if_of(workspace, data)
    limit = workspace.scenario.time_limit_seconds or workspace.portfolio.settings.time_limit_seconds
    asked = data.get("time_limit_seconds", limit)
    if isinstance(asked, (int, float)) and asked > workspace.time_limit:
        data = {**data, "time_limit_seconds": workspace.time_limit}
    elif "time_limit_seconds" not in data and limit > workspace.time_limit:
        data = {**data, "time_limit_seconds": workspace.time_limit}
    return what_if_yaml(workspace.scenario, data)


# ---------------------------------------------------------------------------------------
# The answer


def answer(workspace: Workspace, plan: Plan, data: Any, spread: dict[str, Any] | None = None) -> dict[str, Any]:
    """plan.json's document for the plan, plus what_if, status, uncertainty (`spread`, from `uncertainty`), changes and frontier."""
    document = state_json(plan_state(plan))
    document["what_if"] = data
    document["status"] = status_of(plan)
    document["uncertainty"] = workspace.record_uncertainty if plan is workspace.record else (spread or uncertainty(plan))
    document["changes"] = changes(workspace.record, plan)
    document["frontier"] = frontier_position(workspace, plan)
    return document


def uncertainty(plan: Plan) -> dict[str, Any]:
    """The plan's NPV over sampled estimates (PERT on the three-point estimates, shocks shared by stage and team): P10, P50, P90."""
    from planner.analysis.risk import RiskSettings, sample_for, simulate

    if not plan.funded:
        return {"draws": 0, "mean": 0.0, "p10": 0.0, "p50": 0.0, "p90": 0.0, "loss_probability": 0.0}
    simulation = simulate(plan, sample_for([plan], RiskSettings(draws=RISK_DRAWS)), top_drivers=0)
    return {"draws": simulation.draws, "mean": simulation.mean.value, "p10": simulation.p10.value, "p50": simulation.p50.value,
            "p90": simulation.p90.value, "loss_probability": simulation.loss_probability.value}


def plan_with_uncertainty(workspace: Workspace, data: Any) -> tuple[Plan, dict[str, Any]]:
    """`plan_what_if` and the plan's `uncertainty`, together (one job on the solve pool)."""
    plan = plan_what_if(workspace, data)
    return plan, workspace.record_uncertainty if plan is workspace.record else uncertainty(plan)


def status_of(plan: Plan) -> dict[str, Any]:
    """Whether the plan is proven optimal, its gap to the best bound, and a sentence saying so."""
    solve = plan.solve
    seconds = solve.build_seconds + solve.solve_seconds + solve.check_seconds
    gap = "unknown" if solve.gap is None else f"{solve.gap:.2%}"
    if solve.status == "optimal":
        text = f"proven optimal (gap {gap}, target {solve.gap_target:.2%})"
    elif solve.status == "feasible":
        text = f"NOT proven optimal: stopped at the {solve.time_limit_seconds:g} s time limit with a gap of {gap}"
    else:
        text = f"NOT proven optimal: no plan from the solver in {solve.time_limit_seconds:g} s; {solve.heuristic or 'the greedy ranking'}, {gap} below the LP bound"
    return {"status": solve.status, "proven_optimal": solve.status == "optimal", "gap": solve.gap, "gap_target": solve.gap_target,
            "best_bound": solve.best_bound, "time_limit_seconds": solve.time_limit_seconds, "seconds": seconds, "solver": solve.solver,
            "text": text}


def changes(record: Plan, plan: Plan) -> list[dict[str, Any]]:
    """Every experience that entered, left or moved (another option or start) against the plan of record, with why."""
    if plan is record:
        return []
    settings = plan.portfolio.settings
    out = [{"id": d.experience_id, "name": d.name, "change": d.change, "record": d.reference_choice, "what_if": d.other_choice,
            "npv_delta": d.npv_other - d.npv_reference, "reason": d.reason}
           for d in compare_plans([record, plan], ["the plan of record", "the what-if"]).differences]
    before = {d.experience.key: d for d in record.decisions}
    for after in plan.funded:
        old = before.get(after.experience.key)
        if old is None or not old.funded or (old.option, old.start_quarter) == (after.option, after.start_quarter):
            continue
        moves = []
        if old.option != after.option:
            moves.append(f"funded at {after.option} instead of {old.option}")
        if old.start_quarter != after.start_quarter:
            moves.append(f"starts {quarter_label(settings, after.start_quarter)} instead of "
                         f"{quarter_label(record.portfolio.settings, old.start_quarter)}")
        out.append({"id": after.experience.id, "name": after.experience.name, "change": "moved",
                    "record": f"{old.option} from {quarter_label(record.portfolio.settings, old.start_quarter)}",
                    "what_if": f"{after.option} from {quarter_label(settings, after.start_quarter)}",
                    "npv_delta": after.npv - old.npv,
                    "reason": "; ".join(moves) + ": the re-optimised plan fits the what-if's money and team time better this way"})
    order = {"entered": 0, "left": 1, "moved": 2}
    return sorted(out, key=lambda c: (order[c["change"]], c["id"]))


def frontier_position(workspace: Workspace, plan: Plan) -> dict[str, Any]:
    """The plan's budget and NPV beside the plan of record's frontier: the best NPV at that budget and how far below it the plan is."""
    budget = effective_budget(plan.portfolio)
    position: dict[str, Any] = {"budget": budget, "npv": plan.npv, "ready": workspace.frontier is not None,
                                "error": workspace.frontier_error, "points": [], "frontier_npv": None, "below_frontier": None}
    frontier = workspace.frontier
    if frontier is None:
        return position
    points = sorted((p.budget, p.npv) for p in frontier.feasible_points)
    position["points"] = [{"budget": b, "npv": n} for b, n in points]
    best = interpolate(points, budget)
    if best is not None:
        position["frontier_npv"] = best
        position["below_frontier"] = max(0.0, best - plan.npv)
    return position


def interpolate(points: list[tuple[float, float]], budget: float) -> float | None:
    """The frontier's NPV at a budget, straight between its solved points; flat past the last (NPV stops rising there)."""
    if not points or budget < points[0][0]:
        return None
    if budget >= points[-1][0]:
        return points[-1][1]
    budgets = [b for b, _ in points]
    i = bisect.bisect_right(budgets, budget)
    (b0, n0), (b1, n1) = points[i - 1], points[i]
    return n0 if b1 == b0 else n0 + (n1 - n0) * (budget - b0) / (b1 - b0)


# ---------------------------------------------------------------------------------------
# What the page needs to draw its controls


def page_data(workspace: Workspace) -> dict[str, Any]:
    """The served scenario's inputs as the page's controls show them: quarters, budget, teams, stages, experiences, rules."""
    applied = workspace.record.portfolio
    base = workspace.scenario
    return {
        "scenario": base.name,
        "workbook": Path(workspace.portfolio.source).name,
        "currency": applied.settings.currency,
        "currency_symbol": symbol(applied.settings.currency),  # money on the page reads as the reports': €8.75m
        "quarters": workspace.record.quarters,
        "budget": list(applied.budget),
        "total_budget": effective_budget(applied),
        "teams": [{"name": t.name, "capacity": list(t.capacity)} for t in applied.teams],
        "journey_stages": list(stage_order(applied)),
        "experiences": [{"id": e.id, "name": e.name, "journey_stage": e.journey_stage, "team": e.team, "layer": e.layer,
                         "mandatory": e.mandatory} for e in applied.experiences],
        "balance": [{rule.dimension: rule.value, **({"min_share": rule.min_share} if rule.min_share is not None else {}),
                     **({"max_share": rule.max_share} if rule.max_share is not None else {})} for rule in base.balance],
        "dimensions": {d: sorted({getattr(e, d) for e in applied.experiences}) for d in ("journey_stage", "channel", "product_line", "layer")},
        "forced_in": list(base.forced_in),
        "forced_out": list(base.forced_out),
        "time_limit": workspace.time_limit,
    }
