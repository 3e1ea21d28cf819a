"""Plan a portfolio: economics, greedy baseline, model, solve under a hard time limit, check, plan.

`plan_portfolio(portfolio, scenario)` is the one entry point. The model is built here,
once; the LP relaxation and the MIP run in solver processes (`planner.optimise.model.start_solve`)
that are stopped when the time limit (plus a grace period) is past: a solver's own limit
is not enough (HiGHS has run past it on large models). When the
solver gives no plan in time, the plan is the greedy baseline, labelled "heuristic" with
its gap to the LP bound. Every plan is checked against the inputs, independently of the
solver, before it is returned: a violation is a SolverError, never a report.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import replace

import numpy as np

from planner.core.collector import collector_paused
from planner.core.domain import Portfolio
from planner.core.economics import Columns, columns
from planner.core.errors import InfeasibleError, SolverError
from planner.core.scratch import solver_folder
from planner.inputs.scenario import Scenario, apply_scenario
from planner.optimise.check import (check_objective, check_plan, make_decisions, plan_objective, plan_problems, plan_usage,
                                    rule_uses)
from planner.optimise.diagnose import diagnose_infeasible
from planner.optimise.greedy import GREEDY, LP_ROUNDING, best_fallback, greedy_baseline, lp_rounding_plan, must_fund_order
from planner.optimise.model import Rules, build_model, objective_of, objective_values
from planner.optimise.plan import Certificate, Plan, SolveInfo
from planner.optimise.solve import SolveOutcome, solve_model, start_solve, stopped_outcome, wait_for, write_model
from planner.rules.requires import prerequisites_of_anything

__all__ = [  # what callers and tests reach through this module, beside plan_portfolio
    "GREEDY", "LP_ROUNDING", "check_objective", "check_plan", "greedy_baseline", "lp_rounding_plan", "make_decisions",
    "must_fund_order", "plan_objective", "plan_portfolio",
]

log = logging.getLogger(__name__)

# Parent-side grace beyond the time limit before the solving process is stopped.
GRACE_SECONDS = 10.0
GRACE_FRACTION = 0.25
TOLERANCE = 1e-6


@collector_paused()  # it builds many small objects and no cycles: see planner.core.collector
def plan_portfolio(portfolio: Portfolio, scenario: Scenario | None = None, start_from: Plan | None = None) -> Plan:
    """The optimal plan for the portfolio under the scenario (or the best found, labelled).

    `start_from`, a plan of a similar scenario (a neighbouring budget on a frontier), gives
    the solver its choices as a first incumbent where they still fit; otherwise the greedy
    plan does.
    """
    scenario = scenario or Scenario()
    portfolio = apply_scenario(portfolio, scenario)
    settings = portfolio.settings
    rules = Rules.of(scenario)
    started = time.perf_counter()
    cols = columns(portfolio)
    _check_required_can_be_delivered(portfolio, rules, cols)
    keep = columns_on_offer(portfolio, rules, cols)
    greedy_columns, greedy = greedy_baseline(portfolio, rules, cols, keep)
    economics_seconds = time.perf_counter() - started

    previous = previous_choices(start_from, portfolio, scenario, rules, cols, keep) if start_from is not None else None
    warm = _better_start(portfolio, rules, cols, previous, greedy_columns if greedy.feasible else None)
    outcome, lp, build_seconds, solve_seconds, counts = solve_isolated(portfolio, rules, cols, keep, warm)
    if outcome.status == "infeasible" or lp.status == "infeasible":  # only ever on a solver's proof
        raise InfeasibleError(diagnose_isolated(portfolio, rules, cols, keep))
    heuristic = ""
    if outcome.status in ("optimal", "feasible"):
        chosen, status = outcome.chosen, outcome.status
        objective, bound = outcome.objective, outcome.best_bound
        if previous is not None and _no_worse(portfolio, rules, cols, previous, objective):
            # No churn without cause: an equally good plan is not a reason to move work around.
            chosen, objective = tuple(previous.tolist()), objective_of(portfolio, rules, cols, previous)
        elif warm is not None and objective_of(portfolio, rules, cols, warm) > objective + 1e-9 * max(1.0, abs(objective)):
            # CBC solves without the start (planner.optimise.solve.start_solve), so a plan it
            # stopped on can be worse than the start: the start is the plan then, and the
            # solver's bound still proves its gap.
            log.info("the starting plan is worth more than the solver's plan at its stop; it is the plan")
            chosen, objective = tuple(warm.tolist()), objective_of(portfolio, rules, cols, warm)
    else:
        fallback = best_fallback(portfolio, rules, cols, keep, lp, greedy_columns)
        if fallback is None:
            raise SolverError(f"the {settings.solver.upper()} solver found no plan within {settings.time_limit_seconds:g} s "
                              f"({outcome.message}), and the greedy ranking gives no valid plan either ({greedy.message})")
        heuristic, fallback_columns, objective = fallback
        chosen, status, bound = tuple(fallback_columns.tolist()), "heuristic", None
    lp_bound = lp.objective if lp.status == "optimal" else None
    check_claim(status, objective, bound, lp_bound, settings.gap)
    best_bound = _best_bound(bound, lp_bound, objective, status, settings.gap)
    check_started = time.perf_counter()
    decisions = make_decisions(portfolio, rules, cols, chosen)
    usage, found = plan_usage(portfolio, rules, decisions)  # recomputed from the inputs alone
    violations = plan_problems(portfolio, decisions, usage, found)
    if violations:
        raise SolverError("the solver's plan breaks the rules; it is not reported:\n" + "\n".join(f"  - {v}" for v in violations))
    costs = tuple(usage.costs)  # what the families bought for the plan (capacity), recomputed from its choices
    check_objective(portfolio, rules.objective, decisions, objective, costs)
    check_seconds = time.perf_counter() - check_started
    certificate = None
    if scenario.certify:
        certificate = certify(portfolio, rules, cols, keep, warm, status, objective, best_bound)
    solve_info = SolveInfo(
        solver=settings.solver,
        status=status,
        objective=objective,
        best_bound=best_bound,
        lp_bound=lp.objective if lp.status == "optimal" else None,
        gap=relative_gap(objective, best_bound),
        gap_target=settings.gap,
        time_limit_seconds=settings.time_limit_seconds,
        build_seconds=economics_seconds + build_seconds,
        solve_seconds=solve_seconds,
        check_seconds=check_seconds,
        variables=counts[0],
        constraints=counts[1],
        message=outcome.message,
        heuristic=heuristic,
        certificate=certificate,
    )
    return Plan(portfolio, scenario, decisions, rule_uses(portfolio, usage, lp.duals), solve_info, greedy, costs)


def _better_start(portfolio: Portfolio, rules: Rules, cols: Columns, *starts: np.ndarray | None) -> np.ndarray | None:
    """The start that scores best (the first on a tie): a previous plan far from these inputs can be worse than the greedy one."""
    return max((s for s in starts if s is not None), key=lambda s: objective_of(portfolio, rules, cols, s), default=None)


def _no_worse(portfolio: Portfolio, rules: Rules, cols: Columns, previous: np.ndarray, objective: float) -> bool:
    """Whether the previous plan's choices (still valid: see previous_choices) score as well as the solver's plan."""
    value = objective_of(portfolio, rules, cols, previous)
    return value >= objective - 1e-9 * max(1.0, abs(objective))


def previous_choices(plan: Plan, portfolio: Portfolio, scenario: Scenario, rules: Rules, cols: Columns,
                     keep: np.ndarray) -> np.ndarray | None:
    """The columns repeating a previous plan's choices, if they still make a valid plan; otherwise None.

    A previous plan stops fitting when one of its choices is no longer on offer (an option
    or experience gone, forced out, a shorter horizon) or when the choices together break a
    rule of the new inputs (less budget or capacity, a new dependency or exclusion, a new
    mandatory experience). Then the solver starts from the greedy plan instead: a warm
    start that does not fit is no start at all.
    """
    previous = columns_of(plan, portfolio, cols, keep)
    if previous is None:
        log.info("the previous plan is not used as a start: some of its choices are no longer on offer")
        return None
    problems = check_plan(portfolio, scenario, make_decisions(portfolio, rules, cols, previous.tolist()))
    if problems:
        log.info("the previous plan is not used as a start: %s", problems[0])
        return None
    return previous


def columns_of(plan: Plan, portfolio: Portfolio, cols: Columns, keep: np.ndarray) -> np.ndarray | None:
    """The columns on offer that repeat a plan's choices; None when any of them is not on offer."""
    index = {(e.key, o.name): (i, k) for i, e in enumerate(portfolio.experiences) for k, o in enumerate(e.options)}
    position = {(int(i), int(k), int(s)): c for c, (i, k, s) in enumerate(zip(cols.experience, cols.option, cols.start)) if keep[c]}
    chosen = []
    for decision in plan.funded:
        i, k = index.get((decision.experience.key, decision.option), (None, None))
        c = position.get((i, k, decision.start_quarter))
        if c is None:
            return None
        chosen.append(c)
    return np.array(sorted(chosen), dtype=np.int64)


def _best_bound(bound: float | None, lp_bound: float | None, objective: float, status: str, gap_target: float) -> float | None:
    """The tightest proven upper bound on the NPV of any plan.

    The solver's own final bound is used as it is (never tightened to the gap target: that
    would claim more than was proven); only a solver that reports optimal without a bound
    is taken at the gap target.
    """
    candidates = [b for b in (bound, lp_bound) if b is not None and math.isfinite(b)]
    if status == "optimal" and (bound is None or not math.isfinite(bound)):
        # Without the solver's final bound, its proof still says: within the gap target.
        candidates.append(objective + gap_target * abs(objective))
    if not candidates:
        return None
    best = min(candidates)
    return max(best, objective) if status == "optimal" else best


def relative_gap(objective: float, bound: float | None) -> float | None:
    """(bound - objective) / |objective|, the solvers' relative gap; None when unknown."""
    if bound is None or not math.isfinite(bound):
        return None
    if abs(objective) < 1e-9:
        return 0.0 if abs(bound) < 1e-9 else math.inf
    return max(0.0, (bound - objective) / abs(objective))


# ---------------------------------------------------------------------------------------
# Claims checked on evidence


def check_claim(status: str, objective: float, bound: float | None, lp_bound: float | None, gap_target: float) -> None:
    """Raise SolverError when the solver's numbers contradict each other, before any report.

    A plan worth more than a proven upper bound (the solver's or the LP relaxation's) means
    the plan or the bound was misread; an "optimal" claim must fit within the gap target
    of every bound proven.
    """
    for name, proven in (("the solver's best bound", bound), ("the LP bound", lp_bound)):
        if proven is None or not math.isfinite(proven):
            continue
        if objective > proven + TOLERANCE * max(1.0, abs(proven)):
            raise SolverError(f"the solver's plan is worth {objective:,.2f}, above {name} of {proven:,.2f}: "
                              "an impossible result, not reported")
    if status == "optimal" and bound is not None and math.isfinite(bound):
        # Solvers measure the relative gap against the plan or the bound (CBC: the bound): the larger divisor is allowed.
        allowed = gap_target * max(abs(objective), abs(bound)) + TOLERANCE * max(1.0, abs(objective))
        if bound - objective > allowed:
            raise SolverError(f"the solver called a plan worth {objective:,.2f} optimal, but its bound {bound:,.2f} "
                              f"leaves a gap of {relative_gap(objective, bound):.4%}, above the {gap_target:.4%} target: not reported")



# ---------------------------------------------------------------------------------------
# Certification by a second solver

SOLVER_NAMES = {"cbc": "CBC", "highs": "HiGHS"}


def second_solver(solver: str) -> str:
    return "highs" if solver == "cbc" else "cbc"


def certify(portfolio: Portfolio, rules: Rules, cols: Columns, keep: np.ndarray, warm: np.ndarray | None,
            status: str, objective: float, bound: float | None) -> Certificate:
    """Re-solve the same model with the second solver, under the same limits, and compare."""
    settings = portfolio.settings
    other = second_solver(settings.solver)
    second, second_lp, *_ = solve_isolated(replace(portfolio, settings=replace(settings, solver=other)), rules, cols, keep, warm)
    lp_bound = second_lp.objective if second_lp.status == "optimal" else None
    second_objective = second.objective if second.status in ("optimal", "feasible") else None
    second_bound = (_best_bound(second.best_bound, lp_bound, second.objective, second.status, settings.gap)
                    if second_objective is not None else lp_bound)
    return compare_solvers(settings.solver, status, objective, bound, other, second.status, second_objective, second_bound, settings.gap)


def compare_solvers(first: str, first_status: str, first_objective: float, first_bound: float | None,
                    second: str, second_status: str, second_objective: float | None, second_bound: float | None,
                    gap_target: float) -> Certificate:
    """Whether two solvers' answers certify each other: both proved optimality, and each plan is
    within the gap target of the other's and of the other's bound. Otherwise the disagreement, named."""
    a, b = SOLVER_NAMES.get(first, first), SOLVER_NAMES.get(second, second)
    agree = first_status == "optimal" and second_status == "optimal" and second_objective is not None
    if agree:
        slack = gap_target * max(abs(first_objective), abs(second_objective)) + TOLERANCE * max(1.0, abs(first_objective))
        agree = (abs(first_objective - second_objective) <= slack
                 and (second_bound is None or first_objective <= second_bound + slack)
                 and (first_bound is None or second_objective <= first_bound + slack))
    if agree:
        pair = " and ".join(name for key, name in SOLVER_NAMES.items() if key in (first, second))
        message = f"certified by two solvers ({pair} agree within the gap)"
    else:
        message = (f"NOT certified: {a} and {b} disagree: {a} {first_status} {_amount(first_objective)} (bound {_amount(first_bound)}), "
                   f"{b} {second_status} {_amount(second_objective)} (bound {_amount(second_bound)})")
    return Certificate(second, second_status, second_objective, second_bound, agree, message)


def _amount(value: float | None) -> str:
    return "none" if value is None or not math.isfinite(value) else f"{value:,.2f}"



def _check_required_can_be_delivered(portfolio: Portfolio, rules: Rules, cols: Columns) -> None:
    offered = set(cols.experience.tolist())
    conflicts = []
    for i, experience in enumerate(portfolio.experiences):
        if experience.key in rules.forced_in and experience.key in rules.forced_out:
            conflicts.append(f"{experience.id} is forced both in and out")
        if rules.must_fund(experience) and i not in offered:
            why = "mandatory" if experience.mandatory else "forced in" if experience.key in rules.forced_in else "in flight"
            conflicts.append(f"{experience.id} ({experience.name}) is {why}, but none of its options can be delivered "
                             f"within the {portfolio.horizon}-quarter horizon from its earliest start")
        if experience.mandatory and experience.key in rules.forced_out:
            conflicts.append(f"{experience.id} ({experience.name}) is mandatory and forced out")
    if conflicts:
        raise InfeasibleError(conflicts)



def columns_on_offer(portfolio: Portfolio, rules: Rules, cols: Columns) -> np.ndarray:
    """Mask of the columns the model may choose.

    Forced-out experiences offer nothing. A column that adds nothing to the objective cannot
    be in an optimal plan unless its experience must be funded, unlocks another, belongs
    to a group a minimum share of spend must go to, or lies outside a group capped at a
    maximum share (its spend can make room for that group's required spend); such columns
    are dropped to keep the model small.
    """
    if not len(cols):
        return np.zeros(0, dtype=bool)
    forced_out = np.array([e.key in rules.forced_out for e in portfolio.experiences], dtype=bool)
    needed = np.array([rules.must_fund(e) for e in portfolio.experiences], dtype=bool)
    needed[list(prerequisites_of_anything(portfolio))] = True
    for rule in rules.balance:
        matches = np.array([rule.matches(e) for e in portfolio.experiences], dtype=bool)
        if rule.min_share is not None:
            needed |= matches
        if rule.max_share is not None:
            needed |= ~matches
    experience = cols.experience
    return ~forced_out[experience] & ((objective_values(portfolio, cols, rules.objective) > TOLERANCE) | needed[experience])


# ---------------------------------------------------------------------------------------
# The solve, in processes that can be stopped


def time_allowed(settings) -> float:
    """The time limit plus the grace the solver gets to stop by itself and report."""
    return settings.time_limit_seconds + max(GRACE_SECONDS, GRACE_FRACTION * settings.time_limit_seconds)


def solve_isolated(portfolio: Portfolio, rules: Rules, cols: Columns, keep: np.ndarray, warm: np.ndarray | None):
    """Build the model once, then solve its LP relaxation and the MIP side by side in solver processes.

    The LP gives the bound and the marginal values; running it beside the MIP uses the
    second core instead of adding its time. Both are stopped, solver and all, once the time
    limit plus the grace is past. Returns (MIP outcome, LP outcome, build seconds (model and
    MPS file), solve seconds (wall clock, after the build), (variables, constraints)).
    """
    settings = portfolio.settings
    started = time.monotonic()
    model = build_model(portfolio, rules, cols, keep)
    counts = (len(model.variables), len(model.constraints))
    if not model.variables:  # nothing worth funding: the empty plan is optimal, no solver needed
        empty = solve_model(model, settings.solver, None, settings.gap)
        return empty, empty, time.monotonic() - started, 0.0, counts
    with solver_folder() as folder:
        written = write_model(model, folder, negate_objective=settings.solver == "cbc")
        build_seconds = time.monotonic() - started
        remaining = max(1.0, settings.time_limit_seconds - build_seconds)
        runs = {
            "lp": start_solve(written, settings.solver, True, remaining, settings.gap, name="lp"),
            "mip": start_solve(written, settings.solver, False, remaining, settings.gap, warm, name="mip"),
        }
        results: dict[str, SolveOutcome] = {}

        def finished() -> bool:
            for kind, run in runs.items():
                if kind not in results and run.finished():
                    results[kind] = run.outcome()
            lp = results.get("lp")
            return lp is not None and ("mip" in results or lp.status == "infeasible")

        try:
            wait_for(list(runs.values()), time_allowed(settings) - build_seconds, finished)
        finally:
            for run in runs.values():
                run.stop()
    # A solve that did not finish in time gives nothing: the plan then says it has no bound
    # (no LP) or falls back to the greedy plan, labelled "heuristic" (no MIP).
    lp = results.get("lp") or stopped_outcome(settings.time_limit_seconds)
    mip = results.get("mip") or stopped_outcome(settings.time_limit_seconds)
    if lp.status == "infeasible" and mip.stopped:
        mip = replace(mip, status="infeasible")
    return mip, lp, build_seconds, time.monotonic() - started - build_seconds, counts


def diagnose_isolated(portfolio: Portfolio, rules: Rules, cols: Columns, keep: np.ndarray) -> list[str]:
    """The rules in conflict, found by a solver process stopped at the same time limit."""
    return diagnose_infeasible(portfolio, rules, cols, keep, portfolio.settings.solver, time_allowed(portfolio.settings))
