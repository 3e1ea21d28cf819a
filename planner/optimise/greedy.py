"""Plans without the solver: the greedy ROI ranking (the spreadsheet habit the optimiser must beat)
and, when the solver gives no plan in time, LP rounding with repair.

Both fill a plan one experience at a time against a ledger of the budget and team
capacity left; the rules of the whole plan (balance, ROI hurdle: the families marked
plan_wide in planner.rules) are checked at the end. Capacity a family could buy (hiring)
is not used here: the baseline works with the teams it has.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from planner.core.domain import Portfolio, normalise_id
from planner.core.economics import Columns
from planner.optimise.model import objective_of, objective_values
from planner.optimise.plan import Baseline
from planner.optimise.solve import SolveOutcome
from planner.rules import plan_wide_problems, usage_of_columns
from planner.rules.base import Rules
from planner.rules.excludes import alternatives_of

TOLERANCE = 1e-6

# ---------------------------------------------------------------------------------------
# When the solver gives no plan in time: the best of LP rounding with repair and greedy

LP_ROUNDING = "LP rounding with repair"
GREEDY = "the greedy ROI ranking"


def best_fallback(portfolio: Portfolio, rules: Rules, cols: Columns, keep: np.ndarray, lp: SolveOutcome,
                  greedy_columns: np.ndarray | None) -> tuple[str, np.ndarray, float] | None:
    """(what it is, columns, objective) of the best valid plan the heuristics give; None if neither gives one."""
    candidates = []
    if lp.status == "optimal" and lp.column_values is not None:
        rounded = lp_rounding_plan(portfolio, rules, cols, keep, lp.column_values)
        if rounded is not None:
            candidates.append((LP_ROUNDING, rounded, objective_of(portfolio, rules, cols, rounded)))
    greedy_plan = meeting_plan_wide_rules(portfolio, rules, cols, greedy_columns) if greedy_columns is not None else None
    if greedy_plan is not None:
        label = GREEDY if len(greedy_plan) == len(greedy_columns) else GREEDY + " with repair"
        candidates.append((label, greedy_plan, objective_of(portfolio, rules, cols, greedy_plan)))
    return max(candidates, key=lambda candidate: candidate[2], default=None)


def meeting_plan_wide_rules(portfolio: Portfolio, rules: Rules, cols: Columns, plan: np.ndarray) -> np.ndarray | None:
    """The plan repaired to meet the rules of the whole plan (balance shares, then the ROI hurdle)
    by dropping choices; None when it leaves a must-fund experience out or cannot be repaired.

    The plan must already keep the budget, capacity, dependencies and exclusions (the ledger's
    rules): dropping a choice that nothing left requires keeps them.
    """
    index = {e.key: i for i, e in enumerate(portfolio.experiences)}
    must = {i for i, e in enumerate(portfolio.experiences) if rules.must_fund(e)}
    if not must <= set(cols.experience[plan].tolist()):
        return None
    for _ in range(3):  # dropping for the hurdle can break a share again, and the other way round
        if not plan_wide_problems(usage_of_columns(portfolio, rules, cols, plan)):
            return plan
        repaired = _meet_roi_hurdle(portfolio, rules, cols, _meet_balance(portfolio, rules, cols, plan, must, index), must)
        if len(repaired) == len(plan):
            return None
        plan = repaired
    return None if plan_wide_problems(usage_of_columns(portfolio, rules, cols, plan)) else plan


def _meet_balance(portfolio: Portfolio, rules: Rules, cols: Columns, plan: np.ndarray, must: set[int],
                  index: dict[str, int]) -> np.ndarray:
    """The plan with choices dropped, one at a time, until every balance share holds (or no drop helps).

    A rule "at most s of spend on a group" reads sum of spend x (in group - s) <= 0, and "at
    least s" the same sum >= 0, so each choice moves each rule's excess by a fixed amount.
    Each step drops the choice that removes the most excess per unit of objective it loses
    (a loss-making enabler first), never a must-fund experience or a prerequisite of a choice
    that stays. Nothing is refilled: the result is a repair, labelled as a heuristic.
    """
    if not rules.balance or not len(plan):
        return plan
    spend = cols.spend[plan].sum(axis=1)
    signed = []
    for rule in rules.balance:
        in_group = np.array([rule.matches(portfolio.experiences[int(i)]) for i in cols.experience[plan]], dtype=float)
        for sign, share in ((-1.0, rule.min_share), (1.0, rule.max_share)):
            if share is not None:
                signed.append(sign * spend * (in_group - share))
    excess_of = np.array(signed)  # rules x choices: a rule's excess is the positive part of its row's sum
    value = objective_values(portfolio, cols, rules.objective)[plan]
    experience = cols.experience[plan].tolist()
    kept = np.ones(len(plan), dtype=bool)
    while True:
        total = excess_of[:, kept].sum(axis=1)
        allowed = TOLERANCE * max(1.0, float(spend[kept].sum()))
        excess = float(np.maximum(total - allowed, 0.0).sum())
        if excess <= 0.0:
            break
        needed = {index[normalise_id(r)] for c in np.nonzero(kept)[0].tolist() for r in portfolio.experiences[experience[c]].requires}
        droppable = kept & np.array([i not in must and i not in needed for i in experience], dtype=bool)
        after = np.maximum(total[:, None] - excess_of - allowed, 0.0).sum(axis=0)
        gain = excess - after
        candidates = np.nonzero(droppable & (gain > TOLERANCE * excess))[0]
        if not len(candidates):
            break
        kept[candidates[np.argmin(value[candidates] / gain[candidates])]] = False
    return plan[kept]


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
    return meeting_plan_wide_rules(portfolio, rules, cols, np.array(sorted(chosen), dtype=np.int64))


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
    usage = usage_of_columns(portfolio, rules, cols, chosen_arr)
    broken = plan_wide_problems(usage)
    feasible = not missing and not broken
    message = "; ".join(
        (["the ROI ranking could not fit mandatory or forced-in " + ", ".join(missing)] if missing else []) + broken
    )
    funded = tuple(portfolio.experiences[int(cols.experience[c])].id for c in chosen_arr.tolist())
    baseline = Baseline(
        npv=usage.total_npv,
        spend=float(cols.spend[chosen_arr].sum()) if len(chosen_arr) else 0.0,
        funded=funded,
        feasible=feasible,
        message=message,
    )
    return chosen_arr, baseline
