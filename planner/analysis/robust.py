"""The robust plan: the best expected NPV whose bad outcomes stay above a floor.

This module owns

- `cvar`: the conditional value at risk of a sample of NPVs at a level a (the mean of the
  worst a share of outcomes, the exact Rockafellar-Uryasev value on the sample);
- the robust model (`solve_robust`, a module-level task the shared executor runs): the
  optimiser's model (every budget, capacity, dependency and balance rule) plus, over S
  sampled input sets, the Rockafellar-Uryasev rows

      z_s >= eta - NPV_s(x),  z_s >= 0   (s = 1..S)
      eta - sum(z_s) / (a S) >= floor

  maximising the plan's mean NPV over the S input sets; or, to find how high the floor
  can go, maximising eta - sum(z_s) / (a S) itself. One continuous threshold (eta) and one
  non-negative shortfall per input set; the choices stay 0-1;
- `robust_analysis`: the base plan's CVaR, the highest CVaR any plan reaches, the robust
  plan at the scenario's floor (or halfway between the two when no floor is set), and the
  risk/return frontier (expected NPV against CVaR) at evenly spaced floors, all through
  the executor (`planner.core.executor`).

The model is written as an MPS file here and solved with the optimiser's own solver
processes (`planner.optimise.model.start_solve`), so its status and gap are read as
honestly as the base plan's. The robust plan is checked against every rule of the
scenario, and its CVaR recomputed from the sample, before it is reported.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, replace

import numpy as np

from planner.analysis import risk
from planner.core.domain import Portfolio
from planner.core.economics import columns
from planner.core.errors import SolverError
from planner.core.executor import Progress, run_tasks
from planner.core.scratch import solver_folder
from planner.inputs.scenario import Scenario
from planner.optimise.model import Rules, build_model
from planner.optimise.solve import EXTRA, SLACK, WrittenModel, start_solve, stopped_outcome, wait_for
from planner.optimise.check import plan_usage
from planner.optimise.optimiser import (check_plan, columns_of, columns_on_offer, make_decisions, relative_gap, rule_uses,
                                        time_allowed)
from planner.optimise.plan import Plan, SolveInfo

# The robust model proves its optimum within this gap at least (the base plan's target when wider).
ROBUST_GAP = 0.001


@dataclass(frozen=True)
class RobustSettings:
    """The scenario's `robust:` keys: CVaR level, floor (None: halfway, see module doc), sample size, frontier points."""

    cvar_level: float = 0.10
    floor: float | None = None
    scenarios: int = 60
    frontier_points: int = 3
    # Each robust solve's time limit (None: the scenario's); a solve stopped by it reports its gap.
    time_limit_seconds: float | None = None


def cvar(values: np.ndarray, level: float) -> float:
    """The mean of the worst `level` share of the values (a fractional last outcome counts in part)."""
    ordered = np.sort(np.asarray(values, dtype=float))
    share = level * len(ordered)
    whole = int(math.floor(share + 1e-9))
    total = ordered[:whole].sum() + (share - whole) * (ordered[whole] if whole < len(ordered) else 0.0)
    return float(total / share)


# ---------------------------------------------------------------------------------------
# One robust solve (runs on a worker: plain data in, plain data out)


@dataclass(frozen=True)
class RobustTask:
    """One solve of the robust model. `floor` None: no CVaR floor; `objective` "expected" or "cvar"."""

    portfolio: Portfolio
    scenario: Scenario
    draws: risk.Draws
    level: float
    floor: float | None
    objective: str = "expected"
    time_limit_seconds: float | None = None
    start: tuple[int, ...] = ()  # column ids of a plan known to satisfy the rows: the solver's first incumbent


@dataclass(frozen=True)
class RobustOutcome:
    """What one robust solve established: status, chosen columns, its objective and bound, timings."""

    status: str
    chosen: tuple[int, ...]
    objective: float
    bound: float | None
    seconds: float
    message: str
    variables: int
    constraints: int


def scenario_npv(portfolio: Portfolio, cols, column_ids: np.ndarray, draws: risk.Draws) -> np.ndarray:
    """Each column's NPV in each sampled input set (draws x columns)."""
    choices = [(int(cols.experience[c]), portfolio.experiences[int(cols.experience[c])].options[int(cols.option[c])],
                int(cols.start[c])) for c in column_ids.tolist()]
    blocks = risk.choice_blocks(portfolio, choices, int(draws.slip.max(initial=0)))
    return risk.choice_npv(portfolio, draws, blocks)


def solve_robust(task: RobustTask) -> RobustOutcome:
    """Build the robust model from plain data, solve it in a solver process, report what was proven."""
    portfolio, rules = task.portfolio, Rules.of(task.scenario)
    settings = portfolio.settings
    cols = columns(portfolio)
    keep = columns_on_offer(portfolio, rules, cols)
    model = build_model(portfolio, rules, cols, keep)
    npv = scenario_npv(portfolio, cols, model.column_ids, task.draws)
    gap = max(settings.gap, ROBUST_GAP)
    limit = min(settings.time_limit_seconds, task.time_limit_seconds or settings.time_limit_seconds)
    # The start sets the choices (and each family variable at the least its rows allow): HiGHS
    # takes it where the model has no family variables. CBC is given no start at all
    # (planner.optimise.solve.start_solve: its -mips start proved a false optimum), so a solve
    # that stops with no plan falls back on a known plan in robust_analysis (_or_known_plan).
    start = (np.array(task.start, dtype=np.int64) if task.start and (not model.extra_names or settings.solver == "cbc")
             else None)
    with solver_folder() as folder:
        written = write_robust_model(model, npv, task.level, task.floor, task.objective, folder, settings.solver == "cbc")
        run = start_solve(written, settings.solver, False, limit, gap, start, name="robust")
        try:
            finished = wait_for([run], time_allowed(replace(settings, time_limit_seconds=limit)))
        finally:
            run.stop()
        outcome = run.outcome() if finished else stopped_outcome(limit)
    size = (len(written.cost), len(written.rows))
    return RobustOutcome(outcome.status, outcome.chosen, outcome.objective, outcome.best_bound, outcome.seconds, outcome.message, *size)


def write_robust_model(model, npv: np.ndarray, level: float, floor: float | None, objective: str, folder: str,
                       negated: bool) -> WrittenModel:
    """The optimiser's model with the Rockafellar-Uryasev rows and columns, as MPS files in `folder`.

    File columns: the model's 0-1 choices, then eta (free), then one shortfall per input set
    (>= 0). Rows: the model's rules, one shortfall row per input set, then the floor row.
    """
    draws, count = npv.shape
    # A family's continuous variables (overlap products, capacity bought) follow the choices,
    # as in the optimiser's file; eta and the shortfalls come after them. They keep their
    # rows; the input sets' NPV is scored as planner.analysis.risk scores a plan (choices
    # only), so they carry no value here (a known gap: overlap and hiring are not yet priced
    # in the sampled NPV).
    extras = len(model.extra_names)
    extra_value = np.zeros(extras)
    eta, shortfalls = count + extras, count + extras + 1 + np.arange(draws)
    weight = 1.0 / (level * draws)
    row, variable, coefficient = model.entries
    base_rows = len(model.constraints)
    sample_rows = base_rows + np.arange(draws)
    rows = [row, np.repeat(sample_rows, count), np.repeat(sample_rows, extras), sample_rows, sample_rows]
    variables = [variable, np.tile(np.arange(count), draws), np.tile(count + np.arange(extras), draws), np.full(draws, eta), shortfalls]
    values = [coefficient, npv.ravel(), np.tile(extra_value, draws), np.full(draws, -1.0), np.ones(draws)]
    sense = model.sense.tolist() + ["G"] * draws
    rhs = model.rhs.tolist() + [0.0] * draws
    names = list(model.constraints) + [f"shortfall_{s + 1}" for s in range(draws)]
    if floor is not None:
        rows += [np.array([base_rows + draws]), np.full(draws, base_rows + draws)]
        variables += [np.array([eta]), shortfalls]
        values += [np.ones(1), np.full(draws, -weight)]
        sense.append("G")
        rhs.append(float(floor))
        names.append("cvar_floor")
    if objective == "cvar":
        cost = np.concatenate([np.zeros(count + extras), [1.0], np.full(draws, -weight)])
    else:
        cost = np.concatenate([npv.mean(axis=0), extra_value, np.zeros(1 + draws)])
    entries = (np.concatenate(rows), np.concatenate(variables), np.concatenate(values))
    path = os.path.join(folder, "robust.mps")
    _write_mps(path, sense, rhs, entries, cost, count, eta)
    negated_path = None
    if negated:
        negated_path = os.path.join(folder, "robust.min.mps")
        _write_mps(negated_path, sense, rhs, entries, -cost, count, eta)
    variable_of_column = np.concatenate([np.arange(count), np.full(extras, EXTRA), np.full(1 + draws, SLACK)]).astype(np.int64)
    return WrittenModel(replace(model, objective=cost[:count], extra_objective=cost[count:count + extras]), path, variable_of_column, cost,
                        tuple(names), {}, negated_path)


def _write_mps(path: str, sense: list[str], rhs: list[float], entries, cost: np.ndarray, binaries: int, free: int) -> None:
    """A maximisation in fixed MPS, names by index as `planner.optimise.model.write_model` writes them."""
    row, variable, coefficient = entries
    keep = coefficient != 0
    row, variable, coefficient = row[keep], variable[keep], coefficient[keep]
    has_cost = np.nonzero(cost)[0]
    column = np.concatenate([has_cost, variable])
    order_row = np.concatenate([np.full(len(has_cost), -1), row])
    value = np.concatenate([cost[has_cost], coefficient])
    order = np.lexsort((order_row, column))
    column, order_row, value = column[order], order_row[order], value[order]
    lines = ["*SENSE:Maximize\nNAME          ROBUST\nROWS\n N  OBJ\n"]
    lines += [f" {s}  C{r:07d}\n" for r, s in enumerate(sense)]
    lines.append("COLUMNS\n")

    def entry_lines(part: slice) -> list[str]:
        return [f"    X{j:07d}  {'OBJ     ' if r < 0 else f'C{r:07d}'}  {v!r}\n"
                for j, r, v in zip(column[part].tolist(), order_row[part].tolist(), value[part].tolist())]

    end = int(np.searchsorted(column, binaries))
    lines.append("    MARK      'MARKER'                 'INTORG'\n")
    lines += entry_lines(slice(0, end))
    lines.append("    MARK      'MARKER'                 'INTEND'\n")
    lines += entry_lines(slice(end, None))
    lines.append("RHS\n")
    lines += [f"    RHS       C{r:07d}  {v!r}\n" for r, v in enumerate(rhs) if v != 0]
    lines.append("BOUNDS\n")
    lines += [f" UP BND       X{j:07d}  1\n" for j in range(binaries)]
    lines.append(f" FR BND       X{free:07d}\n")
    lines.append("ENDATA\n")
    with open(path, "w", encoding="ascii") as handle:
        handle.writelines(lines)


# ---------------------------------------------------------------------------------------
# The analysis: base plan, best CVaR, robust plan, frontier


@dataclass(frozen=True)
class FrontierPoint:
    """The best expected NPV at a CVaR floor (None: no plan reaches it), on the robust sample."""

    floor: float
    expected_npv: float | None
    cvar: float | None
    status: str
    funded: tuple[str, ...] = ()


@dataclass(frozen=True)
class Robust:
    """The base and robust plans on one sample, the floor used and why, and the frontier."""

    level: float
    scenarios: int
    floor: float
    floor_source: str  # "scenario" or "halfway"
    base_expected: float
    base_cvar: float
    best_cvar: float
    plan: Plan
    expected: float
    cvar: float
    frontier: tuple[FrontierPoint, ...]


def robust_analysis(plan: Plan, settings: risk.RiskSettings, robust: RobustSettings, workers: int = 1,
                    scheduler: str | None = None, progress: Progress | None = None) -> Robust:
    """The robust plan beside the base plan, and the risk/return frontier between them.

    The input sets are a stream seeded apart from the Monte Carlo's (seed + 3), so the
    robust plan is scored out of sample by the caller's Monte Carlo draws.
    """
    portfolio, rules = plan.portfolio, risk.rules_of(plan)
    draws = risk.sample(portfolio, settings, draws=robust.scenarios, seed=settings.seed + 3)
    base_npv = _plan_npv(plan, draws)
    base_expected, base_cvar = float(base_npv.mean()), cvar(base_npv, robust.cvar_level)
    task = RobustTask(portfolio, rules, draws, robust.cvar_level, None, "cvar", robust.time_limit_seconds, _columns_of(plan))
    top = run_tasks(solve_robust, [task], 1, progress, scheduler)[0]
    _raise_unless_plan(top, "the highest CVaR")
    # Recomputed from the sample; proven highest within the gap target (the solver's bound is in its status).
    best_cvar = max(cvar(_plan_npv(_as_plan(plan, rules, top), draws), robust.cvar_level), base_cvar)
    floor, source = (robust.floor, "scenario") if robust.floor is not None else (base_cvar + (best_cvar - base_cvar) * 0.5, "halfway")
    # Evenly spaced floors from the base plan's CVaR to the best, a hair below the top (the solver's tolerance).
    floors = [base_cvar + (best_cvar - base_cvar) * k / max(robust.frontier_points - 1, 1) for k in range(robust.frontier_points)]
    floors[-1] -= 1e-7 * max(1.0, abs(best_cvar))
    # The best-CVaR plan meets every floor asked: each solve starts from it.
    # A floor asked twice (the halfway floor is the middle of an odd sweep) is solved once.
    distinct = list(dict.fromkeys([floor, *floors]))
    asked = [replace(task, floor=f, objective="expected", start=top.chosen) for f in distinct]
    by_floor = dict(zip(distinct, run_tasks(solve_robust, asked, workers, progress, scheduler)))
    known = [(chosen, _plan_npv(_as_plan(plan, rules, replace(top, chosen=chosen)), draws)) for chosen in {top.chosen, task.start} if chosen]
    solved = [_or_known_plan(by_floor[f], f, known, robust.cvar_level) for f in [floor, *floors]]
    chosen = solved[0]
    if chosen.status == "infeasible":
        raise SolverError(f"no plan has a CVaR at {robust.cvar_level:.0%} of {floor:,.0f} or more on the {robust.scenarios} "
                          f"sampled input sets: the highest any plan reaches is {best_cvar:,.0f}")
    _raise_unless_plan(chosen, "the robust plan")
    robust_plan = _as_plan(plan, rules, chosen)
    robust_npv = _plan_npv(robust_plan, draws)
    achieved = cvar(robust_npv, robust.cvar_level)
    if achieved < floor - 1e-6 * max(1.0, abs(floor)):
        raise SolverError(f"the robust plan's CVaR recomputed from the sample is {achieved:,.2f}, below the floor {floor:,.2f}; "
                          "it is not reported")
    frontier = tuple(_point(f, outcome, plan, rules, draws, robust.cvar_level) for f, outcome in zip(floors, solved[1:]))
    return Robust(robust.cvar_level, robust.scenarios, floor, source, base_expected, base_cvar, best_cvar, robust_plan,
                  float(robust_npv.mean()), achieved, frontier)


def _columns_of(plan: Plan) -> tuple[int, ...]:
    cols = columns(plan.portfolio)
    keep = columns_on_offer(plan.portfolio, Rules.of(risk.rules_of(plan)), cols)
    chosen = columns_of(plan, plan.portfolio, cols, keep)
    return () if chosen is None else tuple(chosen.tolist())


def _or_known_plan(outcome: RobustOutcome, floor: float, known: list[tuple[tuple[int, ...], np.ndarray]],
                   level: float) -> RobustOutcome:
    """A solve that stopped with no plan gives the known plan (the best-CVaR plan, the base plan) with the
    most expected NPV among those whose CVaR on the sample meets the floor: a plan, labelled not proven
    ("feasible", no bound), not "no plan" where a plan is known. Under load the example's first floor
    (the base plan's own CVaR) stopped at its time limit and was printed "no plan"."""
    if outcome.status in ("optimal", "feasible", "infeasible"):
        return outcome
    meeting = [(float(values.mean()), chosen) for chosen, values in known
               if cvar(values, level) >= floor - 1e-6 * max(1.0, abs(floor))]
    if not meeting:
        return outcome
    expected, chosen = max(meeting)
    return replace(outcome, status="feasible", chosen=chosen, objective=expected, bound=None,
                   message=f"{outcome.message}; the solver stopped with no plan: the known plan that meets the floor with the "
                           "most expected NPV, not proven best")


def _raise_unless_plan(outcome: RobustOutcome, what: str) -> None:
    if outcome.status not in ("optimal", "feasible"):
        raise SolverError(f"the solver found no plan for {what} ({outcome.status}: {outcome.message})")


def _plan_npv(plan: Plan, draws: risk.Draws) -> np.ndarray:
    """The plan's NPV in each input set (zeros for an empty plan)."""
    if not plan.funded:
        return np.zeros(len(draws))
    blocks = risk._funded_blocks(plan, int(draws.slip.max(initial=0)))
    return risk.choice_npv(plan.portfolio, draws, blocks).sum(axis=1)


def _as_plan(base: Plan, rules: Scenario, outcome: RobustOutcome) -> Plan:
    """The robust solve's choices as a Plan, checked against every rule of the scenario."""
    portfolio = base.portfolio
    model_rules = Rules.of(rules)
    cols = columns(portfolio)
    decisions = make_decisions(portfolio, model_rules, cols, outcome.chosen)
    violations = check_plan(portfolio, rules, decisions)
    if violations:
        raise SolverError("the robust plan breaks the rules; it is not reported:\n" + "\n".join(f"  - {v}" for v in violations))
    settings = portfolio.settings
    info = SolveInfo(solver=settings.solver, status=outcome.status, objective=outcome.objective, best_bound=outcome.bound,
                     lp_bound=None, gap=relative_gap(outcome.objective, outcome.bound), gap_target=max(settings.gap, ROBUST_GAP),
                     time_limit_seconds=settings.time_limit_seconds, build_seconds=0.0, solve_seconds=outcome.seconds,
                     check_seconds=0.0, variables=outcome.variables, constraints=outcome.constraints, message=outcome.message)
    usage, _ = plan_usage(portfolio, model_rules, decisions)  # its problems are check_plan's, raised above
    return Plan(portfolio, base.scenario, decisions, rule_uses(portfolio, usage, {}), info, base.greedy)


def _point(floor: float, outcome: RobustOutcome, base: Plan, rules: Scenario, draws: risk.Draws,
           level: float) -> FrontierPoint:
    if outcome.status not in ("optimal", "feasible"):
        return FrontierPoint(floor, None, None, outcome.status)
    point_plan = _as_plan(base, rules, outcome)
    values = _plan_npv(point_plan, draws)
    return FrontierPoint(floor, float(values.mean()), cvar(values, level), outcome.status,
                         tuple(d.experience.id for d in point_plan.funded))
