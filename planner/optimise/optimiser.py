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
from dataclasses import dataclass, replace

import numpy as np

from planner.core.domain import Experience, FundingOption, Portfolio, normalise_id, quarter_label
from planner.core.economics import Columns, choice_flows, columns, discount_factors, payback_quarters
from planner.core.errors import InfeasibleError, SolverError
from planner.optimise.model import (Rules, SolveOutcome, build_model, diagnose_infeasible, objective_values, rule_specs, solve_model,
                           start_solve, stopped_outcome, wait_for, write_model)
from planner.optimise.plan import Baseline, Certificate, Decision, Plan, RuleUse, SolveInfo
from planner.inputs.scenario import Scenario, apply_scenario
from planner.core.scratch import solver_folder

log = logging.getLogger(__name__)

# Parent-side grace beyond the time limit before the solving process is stopped.
GRACE_SECONDS = 10.0
GRACE_FRACTION = 0.25
TOLERANCE = 1e-6


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
            chosen, objective = tuple(previous.tolist()), float(objective_values(portfolio, cols, rules.objective)[previous].sum())
    else:
        fallback = best_fallback(portfolio, rules, cols, keep, lp, greedy_columns if greedy.feasible else None)
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
    violations = check_plan(portfolio, scenario, decisions)
    if violations:
        raise SolverError("the solver's plan breaks the rules; it is not reported:\n" + "\n".join(f"  - {v}" for v in violations))
    check_objective(portfolio, rules.objective, decisions, objective)
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
    return Plan(portfolio, scenario, decisions, rule_uses(portfolio, rules, decisions, lp.duals), solve_info, greedy)


def _better_start(portfolio: Portfolio, rules: Rules, cols: Columns, *starts: np.ndarray | None) -> np.ndarray | None:
    """The start that scores best (the first on a tie): a previous plan far from these inputs can be worse than the greedy one."""
    values = objective_values(portfolio, cols, rules.objective)
    return max((s for s in starts if s is not None), key=lambda s: float(values[s].sum()), default=None)


def _no_worse(portfolio: Portfolio, rules: Rules, cols: Columns, previous: np.ndarray, objective: float) -> bool:
    """Whether the previous plan's choices (still valid: see previous_choices) score as well as the solver's plan."""
    value = float(objective_values(portfolio, cols, rules.objective)[previous].sum())
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


def plan_objective(portfolio: Portfolio, objective: str, decisions: tuple[Decision, ...]) -> float:
    """The plan's objective recomputed from its decisions (their cash flows, recomputed from the inputs)."""
    funded = [d for d in decisions if d.funded]
    if objective == "npv":
        return float(sum(d.npv for d in funded))
    if objective == "benefit":
        return float(sum(d.pv_benefit for d in funded))
    horizon = portfolio.horizon
    return float(sum(d.experience.reach_per_quarter * max(0, horizon - d.go_live_quarter - 1) for d in funded))


def check_objective(portfolio: Portfolio, objective: str, decisions: tuple[Decision, ...], claimed: float) -> None:
    """Raise SolverError unless the plan, recomputed from the inputs, is worth what the solver said."""
    recomputed = plan_objective(portfolio, objective, decisions)
    if abs(recomputed - claimed) > TOLERANCE * max(1.0, abs(claimed)):
        raise SolverError(f"the solver's plan is worth {recomputed:,.2f} recomputed from the inputs, "
                          f"not the {claimed:,.2f} it reported: not reported")


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


# ---------------------------------------------------------------------------------------
# When the solver gives no plan in time: the best of LP rounding with repair and greedy

LP_ROUNDING = "LP rounding with repair"
GREEDY = "the greedy ROI ranking"


def best_fallback(portfolio: Portfolio, rules: Rules, cols: Columns, keep: np.ndarray, lp: SolveOutcome,
                  greedy_columns: np.ndarray | None) -> tuple[str, np.ndarray, float] | None:
    """(what it is, columns, objective) of the best valid plan the heuristics give; None if neither gives one."""
    values = objective_values(portfolio, cols, rules.objective)
    candidates = []
    if lp.status == "optimal" and lp.column_values is not None:
        rounded = lp_rounding_plan(portfolio, rules, cols, keep, lp.column_values)
        if rounded is not None:
            candidates.append((LP_ROUNDING, rounded, float(values[rounded].sum())))
    if greedy_columns is not None:
        candidates.append((GREEDY, greedy_columns, float(values[greedy_columns].sum())))
    return max(candidates, key=lambda candidate: candidate[2], default=None)


def lp_rounding_plan(portfolio: Portfolio, rules: Rules, cols: Columns, keep: np.ndarray, lp_values: np.ndarray) -> np.ndarray | None:
    """A valid plan guided by the LP relaxation, or None when this rounding breaks a portfolio rule.

    Experiences are taken in order of how much of them the LP funds (then ROI); each takes
    the choice the LP weights most that still fits the budget and capacity left, starts after
    its prerequisites go live and has no funded alternative (the repair). Must-fund
    experiences come first, each after what it requires; a second pass picks up experiences
    whose prerequisite was placed later, and a last pass fills what is left by ROI. When the
    LP's choices for the must-fund experiences do not fit together, they are placed as the
    greedy ranking places them (prerequisites live soonest, the rest cheapest).
    """
    for must_by_lp in (True, False):
        plan = _lp_rounding(portfolio, rules, cols, keep, lp_values, must_by_lp)
        if plan is not None:
            return plan
    return None


def _lp_rounding(portfolio: Portfolio, rules: Rules, cols: Columns, keep: np.ndarray, lp_values: np.ndarray,
                 must_by_lp: bool) -> np.ndarray | None:
    ledger = _Ledger(
        budget=np.array(portfolio.budget, dtype=float),
        total=portfolio.total_budget if portfolio.total_budget is not None else math.inf,
        capacity=np.array([team.capacity for team in portfolio.teams], dtype=float).reshape(len(portfolio.teams), portfolio.horizon),
        weekly=weekly_attention(portfolio, cols),
    )
    weight = np.zeros(len(cols))
    weight[: min(len(cols), len(lp_values))] = lp_values[: len(cols)]
    objective = objective_values(portfolio, cols, rules.objective)
    roi = np.where(cols.pv_cost > 0, cols.npv / np.maximum(cols.pv_cost, 1e-12), np.inf)
    by_experience: dict[int, list[int]] = {}
    for c in np.nonzero(keep)[0].tolist():
        by_experience.setdefault(int(cols.experience[c]), []).append(c)
    index = {e.key: i for i, e in enumerate(portfolio.experiences)}
    must = {i for i, e in enumerate(portfolio.experiences) if rules.must_fund(e)}
    first = must_fund_order(portfolio, must, index)
    mass = {i: float(weight[ids].sum()) for i, ids in by_experience.items()}
    guided = sorted((i for i in by_experience if i not in set(first) and mass[i] > TOLERANCE),
                    key=lambda i: (-mass[i], -float(roi[by_experience[i]].max()), i))
    filling = sorted((i for i in by_experience if i not in set(first)), key=lambda i: (-float(roi[by_experience[i]].max()), i))
    alternatives = alternatives_of(portfolio)
    go_live: dict[int, int] = {}
    excluded: set[int] = set()
    chosen: list[int] = []

    def place(i: int, order: list[int], required: bool) -> bool:
        experience = portfolio.experiences[i]
        prerequisites = [index[normalise_id(r)] for r in experience.requires]
        for c in order:
            if experience.commitment is None and any(j not in go_live or go_live[j] >= cols.start[c] for j in prerequisites):
                continue
            if not required and objective[c] <= TOLERANCE and weight[c] <= TOLERANCE:
                continue  # nothing to gain: only what the LP funds (an enabler) or what must be funded
            if ledger.fits(cols, c):
                ledger.take(cols, c)
                chosen.append(c)
                go_live[i] = int(cols.start[c] + cols.delivery[c] - 1)
                excluded.update(alternatives[i])
                return True
        return False

    enablers = {index[normalise_id(ref)] for i in first if portfolio.experiences[i].commitment is None
                for ref in portfolio.experiences[i].requires}

    def must_order(i: int):
        if must_by_lp:
            return lambda c: (-weight[c], cols.spend[c].sum(), c)
        if i in enablers:  # live as soon as possible, so that what needs it can start
            return lambda c: (cols.go_live[c], cols.spend[c].sum(), c)
        return lambda c: (cols.spend[c].sum(), cols.start[c], c)

    for i in first:
        if not place(i, sorted(by_experience.get(i, []), key=must_order(i)), True):
            return None
    for sequence in (guided, guided, filling):
        for i in sequence:
            if i not in go_live and i not in excluded:
                place(i, sorted(by_experience[i], key=lambda c: (-weight[c], -objective[c], c)), False)
    plan = _meet_roi_hurdle(portfolio, rules, cols, np.array(sorted(chosen), dtype=np.int64), set(first))
    broken = portfolio_rule_violations(portfolio, rules, cols.spend[plan].sum(axis=1), cols.experience[plan],
                                       float(cols.npv[plan].sum()), float(cols.pv_cost[plan].sum()))
    return None if broken else plan


def _meet_roi_hurdle(portfolio: Portfolio, rules: Rules, cols: Columns, plan: np.ndarray, must: set[int]) -> np.ndarray:
    """The plan with the choices that pull its ROI below the hurdle dropped, worst first, until the hurdle holds.

    A choice returning less than the hurdle on its own cost lowers NPV - hurdle x PV cost, so
    dropping it can only help; must-fund experiences and prerequisites of what stays are kept.
    """
    if rules.roi_hurdle is None or not len(plan):
        return plan
    contribution = cols.npv - rules.roi_hurdle * cols.pv_cost
    kept = [int(c) for c in plan]
    margin = float(contribution[plan].sum())
    index = {e.key: i for i, e in enumerate(portfolio.experiences)}
    for c in sorted(kept, key=lambda c: (contribution[c], c)):
        if margin >= 0 or contribution[c] >= 0:
            break
        i = int(cols.experience[c])
        if i in must:
            continue
        needed = {index[normalise_id(r)] for k in kept if k != c for r in portfolio.experiences[int(cols.experience[k])].requires}
        if i in needed:
            continue
        kept.remove(c)
        margin -= float(contribution[c])
    return np.array(sorted(kept), dtype=np.int64)


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


def alternatives_of(portfolio: Portfolio) -> list[set[int]]:
    """For each experience, the experiences it excludes or that exclude it."""
    index = {e.key: i for i, e in enumerate(portfolio.experiences)}
    alternatives: list[set[int]] = [set() for _ in portfolio.experiences]
    for i, experience in enumerate(portfolio.experiences):
        for ref in experience.excludes:
            j = index[normalise_id(ref)]
            alternatives[i].add(j)
            alternatives[j].add(i)
    return alternatives


def prerequisites_of_anything(portfolio: Portfolio) -> set[int]:
    index = {e.key: i for i, e in enumerate(portfolio.experiences)}
    return {index[normalise_id(ref)] for e in portfolio.experiences for ref in e.requires}


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


# ---------------------------------------------------------------------------------------
# The greedy baseline: rank by ROI, fund down the list


@dataclass
class _Ledger:
    """Remaining budget and capacity while a plan is filled in one experience at a time."""

    budget: np.ndarray
    total: float
    capacity: np.ndarray  # teams x quarters
    weekly: np.ndarray  # columns x teams: team-weeks per delivery quarter

    def fits(self, cols: Columns, c: int) -> bool:
        spend = cols.spend[c]
        if (spend > self.budget + TOLERANCE).any() or spend.sum() > self.total + TOLERANCE:
            return False
        return bool((self.weekly[c][:, None] <= self.capacity[:, self._delivery(cols, c)] + TOLERANCE).all())

    def take(self, cols: Columns, c: int) -> None:
        self.budget -= cols.spend[c]
        self.total -= cols.spend[c].sum()
        self.capacity[:, self._delivery(cols, c)] -= self.weekly[c][:, None]

    @staticmethod
    def _delivery(cols: Columns, c: int) -> slice:
        """The delivery quarters inside the horizon (an in-flight start may lie before it)."""
        return slice(max(0, int(cols.start[c])), max(0, int(cols.start[c] + cols.delivery[c])))


def must_fund_order(portfolio: Portfolio, must: set[int], index: dict[str, int]) -> list[int]:
    """The must-fund experiences and everything they require, each after its prerequisites.

    An in-flight experience's start is history, so what it requires is not added for it.
    Depth-first with an explicit stack (dependency cycles are rejected at the input boundary).
    """
    order: list[int] = []
    seen: set[int] = set()
    for root in sorted(must):
        stack = [(root, False)]
        while stack:
            i, expanded = stack.pop()
            if expanded:
                order.append(i)
                continue
            if i in seen:
                continue
            seen.add(i)
            stack.append((i, True))
            experience = portfolio.experiences[i]
            if experience.commitment is None:
                stack += [(index[normalise_id(ref)], False) for ref in reversed(experience.requires)]
    return order


def weekly_attention(portfolio: Portfolio, cols: Columns) -> np.ndarray:
    weekly = np.zeros((len(cols), len(portfolio.teams)))
    for t, (ids, weeks) in enumerate(cols.attention):
        weekly[ids, t] = weeks
    return weekly


def _kept_by_experience(cols: Columns, keep: np.ndarray, npv: np.ndarray, roi: np.ndarray) -> tuple[dict[int, list[int]], dict[int, float], dict[int, float]]:
    """The kept columns of each experience that has any (columns come grouped by experience), with their best NPV and ROI."""
    kept = np.nonzero(keep)[0]
    if not len(kept):
        return {}, {}, {}
    experience = cols.experience[kept]
    first = np.flatnonzero(np.r_[True, experience[1:] != experience[:-1]])
    bounds = first.tolist() + [len(kept)]
    ids = kept.tolist()
    owners = experience[first].tolist()
    by_experience = {i: ids[bounds[n]:bounds[n + 1]] for n, i in enumerate(owners)}
    best_npv = dict(zip(owners, np.maximum.reduceat(npv[kept], first).tolist()))
    best_roi = dict(zip(owners, np.maximum.reduceat(roi[kept], first).tolist()))
    return by_experience, best_npv, best_roi


def greedy_baseline(portfolio: Portfolio, rules: Rules, cols: Columns, keep: np.ndarray) -> tuple[np.ndarray, Baseline]:
    """Fund what must be funded first, then the rest in order of ROI while they fit.

    Mandatory, forced-in and in-flight experiences come first, each after everything it
    requires (a prerequisite takes the choice that goes live soonest, then the cheapest;
    a must-fund experience its cheapest). Then each other experience takes its best-ROI
    (option, start) that fits the remaining budget and capacity, has its prerequisites live
    before it starts and no funded alternative. An experience whose own NPV is not positive
    is never picked for its own sake: that is the spreadsheet habit, blind to enablers,
    which the optimiser must beat.
    """
    ledger = _Ledger(
        budget=np.array(portfolio.budget, dtype=float),
        total=portfolio.total_budget if portfolio.total_budget is not None else math.inf,
        capacity=np.array([team.capacity for team in portfolio.teams], dtype=float).reshape(len(portfolio.teams), portfolio.horizon),
        weekly=weekly_attention(portfolio, cols),
    )
    npv = cols.npv
    roi = np.where(cols.pv_cost > 0, npv / np.maximum(cols.pv_cost, 1e-12), np.inf)
    by_experience, best_npv, best_roi = _kept_by_experience(cols, keep, npv, roi)
    index = {e.key: i for i, e in enumerate(portfolio.experiences)}
    must = {i for i, e in enumerate(portfolio.experiences) if rules.must_fund(e)}
    first = must_fund_order(portfolio, must, index)
    needed = set(first)
    # What a must-fund experience requires goes live as soon as it can (even if it must be
    # funded itself): its cheapest choice, with the least run cost inside the horizon, is
    # often the latest start, which would leave its dependents no quarter to start in.
    enablers = {index[normalise_id(ref)] for i in needed if portfolio.experiences[i].commitment is None
                for ref in portfolio.experiences[i].requires}
    ranked = sorted((i for i in by_experience if i not in needed and best_npv[i] > TOLERANCE), key=lambda i: (-best_roi[i], i))
    alternatives = alternatives_of(portfolio)
    go_live_of = cols.go_live.tolist()
    go_live: dict[int, int] = {}
    excluded: set[int] = set()
    chosen: list[int] = []
    missing: list[str] = []

    # Plain lists for the per-column lookups in the loop below: numpy scalars cost more than the comparisons.
    start, roi_of, npv_of = cols.start.tolist(), roi.tolist(), npv.tolist()

    def preference(i: int):
        if i in enablers:  # live as soon as possible, so that what needs it can start
            return lambda c: (go_live_of[c], cols.spend[c].sum(), c)
        if i in must:
            return lambda c: (cols.spend[c].sum(), start[c])
        return lambda c: (-roi_of[c], start[c])

    for i in first + ranked:
        experience = portfolio.experiences[i]
        if i in excluded:
            continue
        order = sorted(by_experience.get(i, []), key=preference(i))
        prerequisites = [index[normalise_id(r)] for r in experience.requires]
        for c in order:
            if experience.commitment is None and any(j not in go_live or go_live[j] >= start[c] for j in prerequisites):
                continue
            if npv_of[c] <= TOLERANCE and i not in needed:
                continue
            if ledger.fits(cols, c):
                ledger.take(cols, c)
                chosen.append(c)
                go_live[i] = int(cols.start[c] + cols.delivery[c] - 1)
                excluded.update(alternatives[i])
                break
        else:
            if i in must:
                missing.append(experience.id)
    chosen_arr = np.array(sorted(chosen), dtype=np.int64)
    broken = portfolio_rule_violations(portfolio, rules, cols.spend[chosen_arr].sum(axis=1), cols.experience[chosen_arr],
                                       float(npv[chosen_arr].sum()), float(cols.pv_cost[chosen_arr].sum()))
    feasible = not missing and not broken
    message = "; ".join(
        (["the ROI ranking could not fit mandatory or forced-in " + ", ".join(missing)] if missing else []) + broken
    )
    funded = tuple(portfolio.experiences[int(cols.experience[c])].id for c in chosen_arr.tolist())
    baseline = Baseline(
        npv=float(npv[chosen_arr].sum()) if len(chosen_arr) else 0.0,
        spend=float(cols.spend[chosen_arr].sum()) if len(chosen_arr) else 0.0,
        funded=funded,
        feasible=feasible,
        message=message,
    )
    return chosen_arr, baseline


# ---------------------------------------------------------------------------------------
# From chosen columns to decisions, and the independent check


def make_decisions(portfolio: Portfolio, rules: Rules, cols: Columns, chosen) -> tuple[Decision, ...]:
    """One Decision per experience, in workbook order, with the reason for each one not funded.

    The cash flows of all funded choices are computed at once, one row each.
    """
    settings = portfolio.settings
    horizon = portfolio.horizon
    by_experience = {int(cols.experience[c]): int(c) for c in chosen}
    best_npv = np.full(len(portfolio.experiences), -np.inf)
    np.maximum.at(best_npv, cols.experience, cols.npv)
    dependents: dict[str, list[Experience]] = {}
    for experience in portfolio.experiences:
        for required in {normalise_id(r) for r in experience.requires}:
            dependents.setdefault(required, []).append(experience)
    context = _ReasonContext(
        set(by_experience), {portfolio.experiences[i].key for i in by_experience}, alternatives_of(portfolio), prerequisites_of_anything(portfolio),
        best_npv, dependents)
    funded = sorted(by_experience.items())
    choices = [(portfolio.experiences[i], portfolio.experiences[i].options[int(cols.option[c])], int(cols.start[c])) for i, c in funded]
    economics = _choice_economics(portfolio, choices)
    team_names = {team.name.casefold(): team.name for team in portfolio.teams}
    zeros = (0.0,) * horizon
    decisions: list[Decision | None] = [None] * len(portfolio.experiences)
    for row, ((i, _), (experience, option, start)) in enumerate(zip(funded, choices)):
        weekly = {team: weeks / option.delivery_quarters for team, weeks in option.attention}
        delivering = economics.delivering[row]
        decisions[i] = Decision(
            experience=experience, funded=True, option=option.name, start_quarter=start,
            go_live_quarter=start + option.delivery_quarters - 1,
            spend=tuple(economics.spend[row]), benefit=tuple(economics.benefit[row]),
            attention=tuple((team_names[team.casefold()], tuple(w if on else 0.0 for on in delivering)) for team, w in weekly.items()),
            pv_benefit=economics.pv_benefit[row], pv_cost=economics.pv_cost[row], npv=economics.npv[row],
            payback_quarter=economics.payback[row], net_cash=tuple(economics.net[row]),
        )
    for i, experience in enumerate(portfolio.experiences):
        if decisions[i] is None:
            decisions[i] = Decision(
                experience=experience, funded=False, option=None, start_quarter=None, go_live_quarter=None,
                spend=zeros, benefit=zeros, attention=(), pv_benefit=0.0, pv_cost=0.0, npv=0.0,
                payback_quarter=None, reason=not_funded_reason(portfolio, rules, i, context),
            )
    return tuple(decisions)


@dataclass(frozen=True)
class _ChoiceEconomics:
    """The economics of a list of (experience, option, start) choices, as plain lists, one entry per choice."""

    spend: list[list[float]]  # inside the horizon
    benefit: list[list[float]]  # inside the horizon
    net: list[list[float]]  # horizon and tail quarters
    delivering: list[list[bool]]  # quarters of the horizon the choice is being delivered
    pv_benefit: list[float]
    pv_cost: list[float]
    npv: list[float]
    payback: list[int | None]


def _choice_economics(portfolio: Portfolio, choices: list[tuple[Experience, FundingOption, int]]) -> _ChoiceEconomics:
    settings = portfolio.settings
    horizon = portfolio.horizon
    flows = choice_flows(settings, choices)
    factors = discount_factors(settings, settings.horizon_quarters + settings.tail_quarters)
    start = np.array([s for _, _, s in choices], dtype=np.int64).reshape(-1, 1)
    delivery = np.array([o.delivery_quarters for _, o, _ in choices], dtype=np.int64).reshape(-1, 1)
    q = np.arange(horizon)[None, :]
    return _ChoiceEconomics(
        spend=flows.cost[:, :horizon].tolist(), benefit=flows.benefit[:, :horizon].tolist(), net=flows.net.tolist(),
        delivering=((q >= start) & (q < start + delivery)).tolist(),
        pv_benefit=(flows.benefit @ factors).tolist(), pv_cost=(flows.cost @ factors).tolist(), npv=(flows.net @ factors).tolist(),
        payback=payback_quarters(flows.net),
    )


@dataclass(frozen=True)
class _ReasonContext:
    funded: set[int]
    funded_keys: set[str]
    alternatives: list[set[int]]
    enablers: set[int]
    best_npv: np.ndarray  # per experience; -inf where no column is on offer
    dependents: dict[str, list[Experience]]  # by prerequisite key: the experiences that require it


def not_funded_reason(portfolio: Portfolio, rules: Rules, i: int, context: _ReasonContext) -> str:
    """Why the plan leaves experience i out, in plain words."""
    experience = portfolio.experiences[i]
    if experience.key in rules.forced_out:
        return "stopped by the scenario while in flight" if experience.commitment is not None else "forced out by the scenario"
    if not math.isfinite(context.best_npv[i]):
        return f"no option can be delivered within the horizon from its earliest start ({quarter_label(portfolio.settings, experience.earliest_start)})"
    funded_alternatives = sorted(context.alternatives[i] & context.funded)
    if funded_alternatives:
        return f"excluded by the funded alternative {portfolio.experiences[funded_alternatives[0]].id}"
    missing = [r for r in experience.requires if normalise_id(r) not in context.funded_keys]
    if missing:
        return f"its prerequisite {missing[0]} is not funded" if len(missing) == 1 else f"its prerequisites {' and '.join(missing)} are not funded"
    if context.best_npv[i] <= TOLERANCE and i not in context.enablers:
        return "its NPV is not positive at any option and start"
    if context.best_npv[i] <= TOLERANCE:
        # An enabler pays only through what it unlocks; blaming the budget would send the reader looking in the wrong place.
        unlocks = context.dependents.get(experience.key, [])
        if not any(d.key in context.funded_keys for d in unlocks):
            return (f"its NPV is not positive on its own, and none of the experiences it enables "
                    f"({', '.join(d.id for d in unlocks)}) is funded")
    return "the budget and team time return more NPV elsewhere"


def check_plan(portfolio: Portfolio, scenario: Scenario, decisions: tuple[Decision, ...]) -> list[str]:
    """Every rule the plan breaks, recomputed from the inputs alone (empty when the plan is sound).

    Nothing here trusts the solver or the decisions' numbers: each funded decision's option
    and start are looked up in the inputs, their cash flows and attention recomputed (all
    funded choices at once), and every rule re-checked against the portfolio and scenario.
    """
    settings = portfolio.settings
    horizon = portfolio.horizon
    tolerance = 1e-6
    problems: list[str] = []
    rules = Rules.of(scenario)
    funded = {d.experience.key: d for d in decisions if d.funded}
    keys = [d.experience.key for d in decisions]
    if len(set(keys)) != len(keys) or len(keys) != len(portfolio.experiences):
        problems.append("the plan does not hold exactly one decision per experience")
    valid: list[Decision] = []
    choices = []
    for decision in funded.values():
        experience = decision.experience
        option = next((o for o in experience.options if o.name == decision.option), None)
        if option is None:
            problems.append(f"{experience.id}: option {decision.option} is not one of its options")
            continue
        valid.append(decision)
        choices.append((experience, option, decision.start_quarter))
        problems += _choice_problems(experience, option, decision.start_quarter, funded, rules, horizon)
    economics = _choice_economics(portfolio, choices)
    spend = np.array(economics.spend, dtype=float).reshape(len(choices), horizon)
    for decision, npv in zip(valid, economics.npv):
        if abs(npv - decision.npv) > tolerance * max(1.0, abs(decision.npv)):
            problems.append(f"{decision.experience.id}: NPV {decision.npv:,.2f} does not match its cash flows")
    for experience in portfolio.experiences:
        if rules.must_fund(experience) and experience.key not in funded:
            problems.append(f"{experience.id} must be funded but is not")
    problems += _resource_problems(portfolio, spend.sum(axis=0), _attention_by_team(portfolio, choices, economics.delivering), tolerance)
    index = {e.key: i for i, e in enumerate(portfolio.experiences)}
    problems += portfolio_rule_violations(
        portfolio, rules, spend.sum(axis=1), np.array([index[d.experience.key] for d in valid], dtype=np.int64),
        float(sum(economics.npv)), float(sum(economics.pv_cost)),
    )
    return problems


def _choice_problems(experience: Experience, option: FundingOption, start: int, funded: dict[str, Decision], rules: Rules,
                     horizon: int) -> list[str]:
    """The rules one funded choice breaks on its own: commitment, horizon, dependencies, alternatives, forced out."""
    problems = []
    commitment = experience.commitment
    if commitment is not None:
        if (option.name, start) != (commitment.option, commitment.start_quarter):
            problems.append(f"{experience.id} is in flight with {commitment.option} from quarter {commitment.start_quarter}, "
                            f"but the plan has {option.name} from quarter {start}")
    elif start < experience.earliest_start or start + option.delivery_quarters > horizon:
        problems.append(f"{experience.id}: starts in quarter {start} and cannot be delivered within the horizon")
    for ref in experience.requires if commitment is None else ():
        prerequisite = funded.get(normalise_id(ref))
        if prerequisite is None:
            problems.append(f"{experience.id} is funded but its prerequisite {ref} is not")
        elif prerequisite.go_live_quarter >= start:
            problems.append(f"{experience.id} starts in quarter {start}, before its prerequisite {ref} is live")
    for ref in experience.excludes:
        if normalise_id(ref) in funded:
            problems.append(f"{experience.id} and its alternative {ref} are both funded")
    if experience.key in rules.forced_out:
        problems.append(f"{experience.id} is forced out but funded")
    return problems


def _attention_by_team(portfolio: Portfolio, choices: list[tuple[Experience, FundingOption, int]],
                       delivering: list[list[bool]]) -> np.ndarray:
    """Team-weeks by team and quarter (teams x horizon) of the choices, spread evenly over their delivery quarters."""
    team_index = {team.name.casefold(): t for t, team in enumerate(portfolio.teams)}
    rows, teams, weekly = [], [], []
    for row, (_, option, _) in enumerate(choices):
        for team, weeks in option.attention:
            rows.append(row)
            teams.append(team_index[team.casefold()])
            weekly.append(weeks / option.delivery_quarters)
    attention = np.zeros((len(portfolio.teams), portfolio.horizon))
    mask = np.array(delivering, dtype=bool).reshape(len(choices), portfolio.horizon)
    np.add.at(attention, np.array(teams, dtype=np.int64), mask[np.array(rows, dtype=np.int64)] * np.array(weekly, dtype=float)[:, None])
    return attention


def _resource_problems(portfolio: Portfolio, spend: np.ndarray, attention: np.ndarray, tolerance: float) -> list[str]:
    """Budget per quarter, team capacity per quarter and the total budget, against spend and attention."""
    settings = portfolio.settings
    problems = []
    for q in range(portfolio.horizon):
        if spend[q] > portfolio.budget[q] + tolerance * max(1.0, portfolio.budget[q]):
            problems.append(f"spend {spend[q]:,.2f} in {quarter_label(settings, q)} exceeds the budget {portfolio.budget[q]:,.2f}")
        for t, team in enumerate(portfolio.teams):
            if attention[t, q] > team.capacity[q] + tolerance * max(1.0, team.capacity[q]):
                problems.append(f"team {team.name} needs {attention[t, q]:,.2f} team-weeks in {quarter_label(settings, q)}; capacity {team.capacity[q]:,.2f}")
    if portfolio.total_budget is not None and spend.sum() > portfolio.total_budget + tolerance * max(1.0, portfolio.total_budget):
        problems.append(f"total spend {spend.sum():,.2f} exceeds the total budget {portfolio.total_budget:,.2f}")
    return problems


def balance_shares(portfolio: Portfolio, rules: Rules, spend: np.ndarray, experience: np.ndarray) -> list[float]:
    """The share of spend each balance rule's group gets (0 when nothing is spent)."""
    total = float(spend.sum())
    shares = []
    for rule in rules.balance:
        in_group = np.array([rule.matches(e) for e in portfolio.experiences], dtype=bool)[experience] if len(experience) else np.zeros(0, bool)
        shares.append(float(spend[in_group].sum()) / total if total > 0 else 0.0)
    return shares


def portfolio_rule_violations(portfolio: Portfolio, rules: Rules, spend: np.ndarray, experience: np.ndarray, npv: float,
                              pv_cost: float) -> list[str]:
    """Balance and ROI-hurdle rules a set of funded choices breaks (spend and experience per choice)."""
    problems = []
    tolerance = 1e-6
    for rule, share in zip(rules.balance, balance_shares(portfolio, rules, spend, experience)):
        total = float(spend.sum())
        if rule.min_share is not None and total > 0 and share < rule.min_share - tolerance:
            problems.append(f"{share:.1%} of spend goes to {rule.label}; at least {rule.min_share:.0%} is required")
        if rule.max_share is not None and share > rule.max_share + tolerance:
            problems.append(f"{share:.1%} of spend goes to {rule.label}; at most {rule.max_share:.0%} is allowed")
    if rules.roi_hurdle is not None and npv < rules.roi_hurdle * pv_cost - tolerance * max(1.0, abs(npv)):
        problems.append(f"the portfolio ROI {npv / pv_cost if pv_cost else 0:.1%} is below the hurdle of {rules.roi_hurdle:.0%}")
    return problems


def rule_uses(portfolio: Portfolio, rules: Rules, decisions: tuple[Decision, ...], duals: dict[str, float]) -> tuple[RuleUse, ...]:
    """Each budget, capacity, balance and hurdle rule with the plan's use of it and its marginal value."""
    horizon = portfolio.horizon
    spend = np.zeros(horizon)
    attention = {team.name: np.zeros(horizon) for team in portfolio.teams}
    funded = [d for d in decisions if d.funded]
    for decision in funded:
        spend += np.array(decision.spend)
        for team, weeks in decision.attention:
            attention[team] += np.array(weeks)
    index = {e.key: i for i, e in enumerate(portfolio.experiences)}
    share_of = dict(zip(rules.balance, balance_shares(portfolio, rules, np.array([d.total_spend for d in funded]),
                                                      np.array([index[d.experience.key] for d in funded], dtype=np.int64))))
    npv = sum(d.npv for d in funded)
    pv_cost = sum(d.pv_cost for d in funded)
    uses = []
    for spec in rule_specs(portfolio, rules):
        if spec.kind == "budget":
            used = spend[spec.quarter]
        elif spec.kind == "total_budget":
            used = spend.sum()
        elif spec.kind == "capacity":
            used = attention[spec.team][spec.quarter]
        elif spec.kind == "balance":
            used = share_of[spec.balance]
        else:
            used = npv / pv_cost if pv_cost > 0 else 0.0
        uses.append(RuleUse(spec.name, spec.kind, spec.label, spec.quarter, spec.team, spec.limit, float(used), spec.unit,
                            abs(duals.get(spec.name, 0.0)), spec.sense))
    return tuple(uses)
