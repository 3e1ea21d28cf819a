"""The efficient frontier: the best NPV at each total budget, and what the next million buys.

`efficient_frontier(portfolio, scenario, points=30, workers=2)` re-solves the scenario at
a range of budgets and returns a `Frontier` (frozen; `to_rows()` for frontier.csv and the
report model). The choices, stated in docs/model.md ("The efficient frontier"):

- A budget on the frontier is the money the plan may spend over the horizon: the sum of
  the quarters' budgets, capped by the total when the scenario sets one. Moving along the
  frontier scales every quarter's budget and the total cap by the same factor, so the
  money keeps the shape over time that finance gave it.
- The range runs from the cheapest way to fund the experiences that must be funded
  (mandatory, forced in, in flight, and their prerequisites) to the budget where NPV
  stops rising: the budget profile that just fits the plan with no budget limit at all.
  The must-fund set's total cost may not fit the scaled profile quarter by quarter; such
  points are reported as infeasible, and each refinement round spends one point halving
  the interval to the first feasible budget.
- Points: half on an even grid whose top interval is split once more from the start
  (just below saturation the curve bends, as budgets stop binding, and those solves are
  the slowest: started in the first batch, they run beside the rest of the grid instead
  of alone in a later round), the rest in rounds that split the intervals where the
  slope changes most (width x change of slope at both ends), so the curve's bends get the
  points. The rounds never depend on the number of workers: 1 and 2 workers give the
  same frontier.
- Warm starts: each point starts from the better of two neighbouring plans that fit its
  budget: the plan of the nearest point below (it still fits: the budget only grew), and
  the plan of the nearest point above trimmed to the budget (its least valuable
  experiences per unit of overspend dropped, never a prerequisite of a kept one nor one
  that must be funded). The grid's points know only the no-budget-limit plan, trimmed.
  (`plan_portfolio` keeps the greedy plan instead when it scores better.) A good first
  incumbent lets the solver prune from the start; just below saturation, though, proving
  the gap is most of the work whatever the start. Each batch hands the dearest budgets
  (the slowest solves, near saturation) to the workers first.
- At and above saturation no solve is needed: the plan with no budget limit fits, and no
  budget can do better, so it is the optimum there (the top point reuses it).
- NPV never falls as the budget grows: a larger budget can always fund the smaller
  budget's plan. When a solve stopped within its gap below a cheaper point's plan, the
  point reports that plan instead (`carried_from` names its budget).
- Marginal NPV: the slope from the point below (NPV gained per extra unit of budget), and
  the LP marginal value at the point along the same direction: sum over quarters of the
  budget rule's marginal value x that quarter's budget, plus the total's marginal value x
  the total, divided by the budget.
- The knee: the point farthest above the chord from the first to the last point, with
  both axes scaled to 0..1 (the "Kneedle" rule): past it, money buys less and less.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from planner.core.glossary import column
from planner.analysis.variants import Progress, Solve, Solved, as_seen_by, solve, effective_budget, funded_ids, run_solves, scaled_budget
from planner.core.domain import Portfolio, normalise_id
from planner.core.economics import columns
from planner.core.errors import InputError
from planner.optimise.model import Rules
from planner.optimise.plan import Plan
from planner.inputs.scenario import Scenario

# The "no budget limit" solve gives every quarter this many times the money every
# experience's dearest choice could spend: enough that no budget rule binds.
AMPLE = 2.0
# The lowest budget sits this factor above the must-fund set's exact cost.
EDGE = 1.001


@dataclass(frozen=True)
class FrontierPoint:
    """The best plan at one total budget, and how it differs from the point below it."""

    budget: float
    scale: float
    status: str  # the solver's status, or "infeasible"
    npv: float | None
    pv_cost: float | None
    roi: float | None
    spend: float | None
    funded: tuple[str, ...]
    entered: tuple[str, ...]
    left: tuple[str, ...]
    marginal_npv: float | None
    budget_marginal_value: float | None
    gap: float | None
    carried_from: float | None = None
    seconds: float = 0.0

    @property
    def feasible(self) -> bool:
        return self.npv is not None


@dataclass(frozen=True)
class Frontier:
    """NPV against budget from the mandatory set's cost to where NPV stops rising."""

    scenario: str
    currency: str
    scenario_budget: float
    lowest_budget: float
    saturation_budget: float
    points: tuple[FrontierPoint, ...]
    knee_budget: float | None

    @property
    def feasible_points(self) -> tuple[FrontierPoint, ...]:
        return tuple(p for p in self.points if p.feasible)

    @property
    def knee(self) -> FrontierPoint | None:
        return next((p for p in self.points if p.budget == self.knee_budget), None)

    def to_rows(self) -> list[dict[str, Any]]:
        return [
            {"budget": p.budget, "scale": p.scale, "status": p.status, "npv": p.npv, "pv_cost": p.pv_cost, "roi": p.roi,
             "spend": p.spend, column("frontier_slope"): p.marginal_npv, column("scaled_budget_shadow_value"): p.budget_marginal_value,
             "knee": p.budget == self.knee_budget, "scenario_budget": math.isclose(p.scale, 1.0),
             "funded": len(p.funded), "entered": " ".join(p.entered), "left": " ".join(p.left), "gap": p.gap,
             "carried_from": p.carried_from, "seconds": p.seconds}
            for p in self.points
        ]


def efficient_frontier(portfolio: Portfolio, scenario: Scenario | None = None, points: int = 30, workers: int = 1,
                       lowest: float | None = None, highest: float | None = None, progress: Progress | None = None,
                       scheduler: str | None = None) -> Frontier:
    """Solve the scenario at `points` total budgets (see the module docstring for every choice)."""
    applied, rules = as_seen_by(portfolio, scenario)
    base_budget = effective_budget(applied)
    if base_budget <= 0:
        raise InputError("the scenario's budget is 0 in every quarter: there is no budget profile to scale for a frontier")
    points = max(2, points)
    calls = _Counter(points, progress)
    solved: dict[float, Solved] = {}
    if highest is None:
        unbounded = run_solves([Solve(_ample(applied), rules)], 1, calls.one, scheduler)[0]
        if not unbounded.feasible:
            raise InputError("the scenario has no plan even with no budget limit: "
                             + "; ".join(unbounded.conflicts or (unbounded.error,)))
        highest = _fitting_budget(applied, unbounded.plan)
        # The best plan with no budget limit fits this budget, so it is the best plan here too.
        solved[highest] = unbounded
    lowest = min(lowest if lowest is not None else mandatory_cost(applied, rules), highest)
    grid = _grid(lowest, highest, max(2, (points + 1) // 2))
    grid = [b for b in grid if b not in solved]
    starts = _neighbour_starts(applied, rules, base_budget, grid, solved)
    starts.update(_must_fund_start(applied, rules, base_budget, lowest))
    _solve_at(applied, rules, base_budget, grid, solved, starts, (workers, scheduler), calls)
    remaining = points - len(solved)
    rounds = 3
    for round_number in range(rounds):
        size = math.ceil(remaining / (rounds - round_number)) if remaining > 0 else 0
        budgets = _refinements(solved, size, base_budget)
        starts = _neighbour_starts(applied, rules, base_budget, budgets, solved)
        _solve_at(applied, rules, base_budget, budgets, solved, starts, (workers, scheduler), calls)
        remaining -= len(budgets)
    return _frontier(rules.name, applied, base_budget, lowest, highest, solved)


def _grid(lowest: float, highest: float, size: int) -> list[float]:
    """`size` budgets: an even grid of `size - 1`, its top interval split in two (an even grid of 3 or fewer)."""
    if highest <= lowest:
        return [highest]
    if size <= 3:
        return sorted(set(np.linspace(lowest, highest, size).tolist()))
    even = np.linspace(lowest, highest, size - 1).tolist()
    return sorted(set(even + [(even[-2] + even[-1]) / 2]))


class _Counter:
    """Progress across several batches of solves."""

    def __init__(self, total: int, progress: Progress | None):
        self.total, self.done, self.progress = total, 0, progress

    def one(self, *_: int) -> None:
        self.done += 1
        if self.progress:
            self.progress(min(self.done, self.total), self.total)


def mandatory_cost(portfolio: Portfolio, rules: Scenario) -> float:
    """The least budget on the scenario's profile that fits everything that must be funded.

    The must-fund experiences (mandatory, forced in, in flight) and the prerequisites they
    need are placed one at a time, prerequisites first, each at the choice that raises the
    profile's scale the least (then the cheapest); the answer is that scale times the
    budget. Team capacity is not considered: if the must-fund set needs more team time than
    the lowest budget's schedule allows, that point is infeasible and the refinement finds
    the first feasible budget. 0 when nothing must be funded.
    """
    order = _must_fund_order(portfolio, Rules.of(rules))
    if not order:
        return 0.0
    cols = columns(portfolio)
    budget = np.array(portfolio.budget, dtype=float)
    total = portfolio.total_budget
    spent = np.zeros(portfolio.horizon)
    go_live: dict[int, int] = {}
    index = {e.key: i for i, e in enumerate(portfolio.experiences)}
    for i in order:
        after = max((go_live.get(index[normalise_id(r)], -1) for r in portfolio.experiences[i].requires), default=-1)
        candidates = np.nonzero((cols.experience == i) & (cols.start > after))[0]
        if not len(candidates):
            candidates = np.nonzero(cols.experience == i)[0]
        if not len(candidates):
            continue  # nothing on offer: plan_portfolio says why, at every point
        best = min(candidates.tolist(), key=lambda c: (_scale_needed(spent + cols.spend[c], budget, total), cols.spend[c].sum()))
        spent += cols.spend[best]
        go_live[i] = int(cols.go_live[best])
    # A hair above the exact edge: at the edge itself the solvers' tolerances decide.
    return _scale_needed(spent, budget, total) * effective_budget(portfolio) * EDGE


def _must_fund_start(applied: Portfolio, rules: Scenario, base_budget: float, lowest: float) -> dict[float, Plan]:
    """A first plan for the lowest budget: the must-fund set alone, planned at that budget.

    At the lowest budget the must-fund set barely fits, and finding any plan is the hard
    part for the solver; the same question without the optional experiences is tiny.
    """
    closure = {applied.experiences[i].key for i in _must_fund_order(applied, Rules.of(rules))}
    if not closure:
        return {}
    others = tuple(e.id for e in applied.experiences if e.key not in closure)
    alone = solve(Solve(scaled_budget(applied, lowest / base_budget), replace(rules, forced_out=rules.forced_out + others)))
    return {lowest: alone.plan} if alone.feasible else {}


def _must_fund_order(portfolio: Portfolio, rules: Rules) -> list[int]:
    """The must-fund experiences and their prerequisites, each after its prerequisites."""
    index = {e.key: i for i, e in enumerate(portfolio.experiences)}
    order: list[int] = []
    placed: set[int] = set()
    for root in [i for i, e in enumerate(portfolio.experiences) if rules.must_fund(e)]:
        stack = [root]
        while stack:  # no recursion: dependency chains can be long
            i = stack[-1]
            if i in placed:
                stack.pop()
                continue
            pending = [index[normalise_id(r)] for r in portfolio.experiences[i].requires if index[normalise_id(r)] not in placed]
            if pending:
                stack += pending
                continue
            stack.pop()
            placed.add(i)
            order.append(i)
    return order


def _scale_needed(spend: np.ndarray, budget: np.ndarray, total: float | None) -> float:
    """The least factor on the budget profile under which `spend` fits (inf if it never can)."""
    ratios = [s / b if b > 0 else math.inf for s, b in zip(spend, budget) if s > 1e-9]
    if total is not None and spend.sum() > 1e-9:
        ratios.append(spend.sum() / total if total > 0 else math.inf)
    return max(ratios, default=0.0)


def _ample(portfolio: Portfolio) -> Portfolio:
    """The portfolio with no budget rule that could bind: every quarter gets more than all could spend."""
    cols = columns(portfolio)
    most = float(cols.spend.sum(axis=1).max()) * len(portfolio.experiences) * AMPLE if len(cols) else 1.0
    return replace(portfolio, budget=(max(most, 1.0),) * portfolio.horizon, total_budget=None)


def _fitting_budget(portfolio: Portfolio, plan: Plan) -> float:
    """The smallest budget on the scenario's profile (scaled) that the plan fits in."""
    spend = plan.spend_by_quarter
    needs = [s / b for s, b in zip(spend, portfolio.budget) if s > 0 and b > 0]
    if portfolio.total_budget:
        needs.append(sum(spend) / portfolio.total_budget)
    return effective_budget(portfolio) * max(needs, default=0.0)


def _solve_at(applied: Portfolio, rules: Scenario, base_budget: float, budgets: list[float], solved: dict[float, Solved],
              starts: dict[float, Plan], where: tuple[int, str | None], calls: _Counter) -> None:
    # Dearest first: the solves near saturation take longest, and a worker left with one of
    # them at the end of a batch would keep the other idle.
    budgets = sorted(budgets, reverse=True)
    tasks = [Solve(scaled_budget(applied, b / base_budget), rules, starts.get(b)) for b in budgets]
    for budget, result in zip(budgets, run_solves(tasks, where[0], calls.one, where[1])):
        solved[budget] = result


def _neighbour_starts(applied: Portfolio, rules: Scenario, base_budget: float, budgets: list[float],
                      solved: dict[float, Solved]) -> dict[float, Plan]:
    """For each budget, the better of the plan below it and the plan above it trimmed to fit it."""
    feasible = sorted((b, s.plan) for b, s in solved.items() if s.feasible)
    starts: dict[float, Plan] = {}
    for budget in budgets:
        below = [plan for b, plan in feasible if b <= budget]
        above = [plan for b, plan in feasible if b > budget]
        candidates = below[-1:]
        if above:
            trimmed = trimmed_to_fit(above[0], scaled_budget(applied, budget / base_budget), rules)
            candidates += [trimmed] if trimmed is not None else []
        if candidates:
            starts[budget] = max(candidates, key=lambda plan: plan.npv)
    return starts


def trimmed_to_fit(plan: Plan, portfolio: Portfolio, rules: Scenario) -> Plan | None:
    """The plan with experiences dropped until its spend fits `portfolio`'s budget; None if it cannot.

    A warm start, never a result: the plan keeps its solve record and rule uses, and only
    its funded experiences change. Each step drops the experience that loses the least NPV
    per unit of overspend it removes, never one that must be funded nor a prerequisite of
    an experience still funded. Team time and dependencies only get looser as experiences
    leave; the solver's start check (`previous_choices`) re-checks every rule anyway.
    """
    must_fund = Rules.of(rules).must_fund
    funded = list(plan.funded)
    if not funded:
        return plan
    spend = np.array([d.spend for d in funded], dtype=float)
    npv = np.array([d.npv for d in funded], dtype=float)
    budget = np.array(portfolio.budget, dtype=float)
    total = portfolio.total_budget
    fixed = np.array([must_fund(d.experience) for d in funded], dtype=bool)
    position = {d.experience.key: n for n, d in enumerate(funded)}
    prerequisites = [[position[normalise_id(r)] for r in d.experience.requires if normalise_id(r) in position] for d in funded]
    kept = np.ones(len(funded), dtype=bool)
    while True:
        used = spend[kept].sum(axis=0)
        over = np.maximum(used - budget, 0.0)
        total_over = max(used.sum() - total, 0.0) if total is not None else 0.0
        if over.sum() <= 0.0 and total_over <= 0.0:
            break
        needed = np.zeros(len(funded), dtype=bool)
        for n in np.nonzero(kept)[0]:
            needed[prerequisites[n]] = True
        relief = np.minimum(spend, over).sum(axis=1) + np.minimum(spend.sum(axis=1), total_over)
        candidates = np.nonzero(kept & ~fixed & ~needed & (relief > 0))[0]
        if not len(candidates):
            return None
        kept[candidates[np.argmin(npv[candidates] / relief[candidates])]] = False
    dropped = {funded[n].experience.key for n in np.nonzero(~kept)[0]}
    return replace(plan, decisions=tuple(d for d in plan.decisions if d.experience.key not in dropped))


def _refinements(solved: dict[float, Solved], size: int, base_budget: float) -> list[float]:
    """Midpoints of the `size` intervals where the curve bends most."""
    feasible = sorted((b, s.plan) for b, s in solved.items() if s.feasible)
    if size <= 0 or not feasible:
        return []
    below = [b for b, s in solved.items() if not s.feasible and b < feasible[0][0]]
    boundary: list[float] = []
    if below:
        # The must-fund set did not fit the lowest budget's profile: find where it starts to.
        boundary, size = [(max(below) + feasible[0][0]) / 2], size - 1
    if len(feasible) < 2:
        return boundary
    budgets = [b for b, _ in feasible]
    npvs = [p.npv for _, p in feasible]
    slopes = [(npvs[j + 1] - npvs[j]) / (budgets[j + 1] - budgets[j]) for j in range(len(budgets) - 1)]
    scores = []
    for j, slope in enumerate(slopes):
        width = budgets[j + 1] - budgets[j]
        if width < base_budget * 1e-4:
            continue  # fine enough: no point splitting a few hundred euros
        bend = (abs(slope - slopes[j - 1]) if j > 0 else 0.0) + (abs(slopes[j + 1] - slope) if j + 1 < len(slopes) else 0.0)
        # Where nothing bends, prefer the widest intervals, so the grid still fills evenly.
        scores.append((-(width * bend), -width, j))
    chosen = sorted(scores)[:size]
    return boundary + [(budgets[j] + budgets[j + 1]) / 2 for _, _, j in chosen]


def _frontier(name: str, applied: Portfolio, base_budget: float, lowest: float, highest: float, solved: dict[float, Solved]) -> Frontier:
    points: list[FrontierPoint] = []
    best: tuple[float, Plan] | None = None  # the best plan at or below the current budget
    previous: FrontierPoint | None = None
    for budget in sorted(solved):
        result = solved[budget]
        if not result.feasible:
            status = "no plan in time" if result.error else "infeasible"
            points.append(FrontierPoint(budget, budget / base_budget, status, None, None, None, None, (), (), (), None, None, None))
            continue
        plan = result.plan
        carried = None
        if best is not None and best[1].npv > plan.npv + 1e-9 * max(1.0, abs(plan.npv)):
            carried, plan = best[0], best[1]
        else:
            best = (budget, plan)
        funded = funded_ids(plan)
        before = set(previous.funded) if previous else set()
        npv = plan.npv
        slope = (npv - previous.npv) / (budget - previous.budget) if previous and budget > previous.budget else None
        point = FrontierPoint(
            budget=budget, scale=budget / base_budget, status=result.plan.solve.status, npv=npv, pv_cost=plan.pv_cost,
            roi=plan.roi, spend=plan.total_spend, funded=funded,
            entered=tuple(i for i in funded if i not in before) if previous else (),
            left=tuple(i for i in previous.funded if i not in set(funded)) if previous else (),
            marginal_npv=slope, budget_marginal_value=budget_marginal_value(result.plan, budget),
            gap=result.plan.solve.gap, carried_from=carried, seconds=_seconds(result.plan),
        )
        points.append(point)
        previous = point
    return Frontier(name, applied.settings.currency, base_budget, lowest, highest, tuple(points), knee(points))


def _seconds(plan: Plan) -> float:
    return plan.solve.build_seconds + plan.solve.solve_seconds + plan.solve.check_seconds


def budget_marginal_value(plan: Plan, budget: float) -> float | None:
    """NPV per extra unit of budget along the scaled profile, from the LP marginal values."""
    if budget <= 0:
        return None
    value = sum(r.marginal_value * r.limit for r in plan.rules if r.kind in ("budget", "total_budget"))
    return value / budget


def knee(points: list[FrontierPoint]) -> float | None:
    """The budget of the point farthest above the chord from first to last (axes scaled 0..1)."""
    feasible = [p for p in points if p.feasible]
    if len(feasible) < 3:
        return None
    x = np.array([p.budget for p in feasible])
    y = np.array([p.npv for p in feasible])
    if x[-1] <= x[0] or y[-1] <= y[0]:
        return None
    u, v = (x - x[0]) / (x[-1] - x[0]), (y - y[0]) / (y[-1] - y[0])
    above = v - u  # distance above the chord u = v, up to the constant 1/sqrt(2)
    best = int(np.argmax(above))
    return float(x[best]) if above[best] > 1e-9 else None
