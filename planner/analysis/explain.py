"""Why each experience is in or out of a plan, in plain words, and what it would take to change it.

`explain(portfolio, scenario)` returns `Explanations` (frozen; `to_rows()` for
explanations.csv and the report model). Two layers:

1. The reason, from the plan alone (no re-solve). The optimiser's `Decision.reason` is the
   first cut; here the plan's marginal values (LP shadow prices of budget and team time)
   and what is left of each rule say which resource keeps the experience out, with the
   numbers: "its best option returns 0.42 NPV per EUR it spends; budget at the margin
   returns 0.81 per EUR in 2027Q1-2027Q2", or "Digital has no capacity left in
   2027Q2-2027Q3, the quarters it would need". Its "best option" is the (option, start)
   closest to entering: the highest NPV after charging the budget and team time it uses
   at their marginal values (its reduced cost in the LP).
2. What it would take, by a bounded search of re-solves (`search=True`):
   - for an experience not funded, the uplift multiplier and the cost multiplier at which
     it enters. Forcing it in costs the plan L (NPV with it forced in vs the plan); its
     forced-in plan stays feasible when its uplift is multiplied by m and gains (m - 1) x
     its PV of benefits B, so at m = 1 + L / B it must enter; likewise a cost multiplier
     c = 1 - L / C (C its PV of costs) must bring it in (L measured against the proven
     bound of the plan, so the solver's gap cannot hide it). Where the argument holds (no
     overlap group shares the gain, no minimum share of spend, the bound not capped at
     100% uplift) that bound needs no re-solve; otherwise a re-solve confirms it (widened
     twice at most). No plan with it gains more than (m - 1) x its largest PV of benefits
     over its choices, so the uplift search starts above 1 + L' / B_max. Then at most
     `steps` halvings narrow the interval, stopping at a hundredth. The multiplier reported
     is always one at which it provably enters or a re-solve saw it enter.
     Each step asks "does it enter at m?": its own multiplier changes no plan without it,
     so the best plan without it is still the explained one, and a re-solve with it forced
     in (cheaper than the whole plan: about 2.4 instead of 4.1 CPU seconds on the example)
     answers with its NPV and proven bound; only within a hair of a tie is the whole plan
     re-solved, as before. A forced-in plan found at one step, priced at the next
     multiplier (its benefit or costs are proportional to it), may prove entry there
     with no re-solve at all.
   - for a funded experience, the NPV the plan loses without it (a re-solve with it forced
     out), and which other experiences leave with it.
   The searches run one experience per task through the shared executor, longest first;
   each is at most 1 + 2 x (3 + steps) re-solves (2 x (3 + steps) more on ties), and
   usually 1 + 2 x steps or fewer. `solve_kinds` counts them by kind.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from planner.analysis.bundles import enabler_bundles, members_of_bundles
from planner.analysis.variants import (
    Progress, Solve, as_seen_by, choice_text, decision_of, forcing, funded_ids, quarter_span, run_parallel, solve,
    with_adjustment,
)
from planner.core.formatting import per_unit
from planner.core.glossary import column, name
from planner.core.domain import Portfolio, normalise_id, quarter_label
from planner.core.economics import Columns, columns
from planner.core.errors import InputError, Problem
from planner.core.formatting import bundle_reason, money
from planner.optimise.model import Rules
from planner.optimise.optimiser import plan_portfolio
from planner.rules.excludes import alternatives_of
from planner.optimise.plan import Decision, Plan
from planner.inputs.scenario import Scenario, did_you_mean

TOLERANCE = 1e-6
# The forced-in bound sits exactly where the experience ties; a hair beyond breaks the tie.
PAST_TIE = 1.001
WIDENINGS = 2
# Relative to the plan's NPV: closer than this, a forced-in re-solve and the plan tie, and the
# whole plan is re-solved to see which the solver picks (as every search did before).
TIE = 1e-6


@dataclass(frozen=True)
class Explanation:
    """One experience: in or out, why, and what would change it.

    `kind` names the reason: for funded experiences "funded", "mandatory", "forced in" or
    "in flight"; otherwise "forced out", "no option", "excluded", "prerequisite",
    "not positive", "capacity", "budget", "rules" or "gap". `choice` is the plan's choice
    (funded) or the best option closest to entering (not funded), as "standard from
    2027Q3"; `npv` and `npv_per_spend` are that choice's. The search fields are None
    when no search ran or it does not apply.
    """

    experience_id: str
    name: str
    funded: bool
    kind: str
    reason: str
    choice: str
    npv: float | None
    npv_per_spend: float | None
    margin_return: float | None = None
    uplift_to_enter: float | None = None
    cost_to_enter: float | None = None
    to_enter: str = ""
    npv_without: float | None = None
    npv_loss: float | None = None
    leave_with_it: tuple[str, ...] = ()
    solves: int = 0
    solve_kinds: tuple[tuple[str, int], ...] = ()  # (kind, re-solves): what the searches spent, not shown


@dataclass(frozen=True)
class Explanations:
    scenario: str
    currency: str
    plan_npv: float
    searched: bool
    items: tuple[Explanation, ...]

    def to_rows(self) -> list[dict[str, Any]]:
        return [
            {"experience": e.experience_id, "name": e.name, "funded": e.funded, "kind": e.kind, "reason": e.reason,
             "choice": e.choice, "npv": e.npv, column("npv_per_spend"): e.npv_per_spend, column("budget_shadow_value"): e.margin_return,
             "uplift_to_enter": e.uplift_to_enter, "cost_to_enter": e.cost_to_enter, "to_enter": e.to_enter,
             "npv_without": e.npv_without, column("npv_lost_without_it"): e.npv_loss, "leave_with_it": " ".join(e.leave_with_it),
             "solves": e.solves}
            for e in self.items
        ]


def explain(portfolio: Portfolio, scenario: Scenario | None = None, experience_ids: Sequence[str] | None = None,
            search: bool = True, steps: int = 2, workers: int = 1, plan: Plan | None = None,
            progress: Progress | None = None, scheduler: str | None = None) -> Explanations:
    """Explain every experience (or those named) of the scenario's plan; see the module docstring."""
    applied, rules = as_seen_by(portfolio, scenario)
    _check_ids(applied, experience_ids)  # before the solve: a typo should not cost a plan
    plan = plan or plan_portfolio(applied, rules)
    decisions = _selected(plan, experience_ids)
    context = _Context.of(plan)
    first = [plain_reason(plan, d, context) for d in decisions]
    if not search:
        return Explanations(rules.name, applied.settings.currency, plan.npv, False, tuple(first))
    first = _bundle_reasons(plan, first, workers, scheduler)
    # Only the experiences with something to search go to the executor, the longest searches
    # first, so two workers do not end on one long search while the other waits.
    searched = sorted((n for n, e in enumerate(first) if _expected_solves(e) > 0), key=lambda n: -_expected_solves(first[n]))
    tasks = [_Search(applied, rules, plan, first[n].experience_id, first[n].kind, steps) for n in searched]
    found: list[dict[str, Any]] = [{} for _ in first]
    for n, fields in zip(searched, run_parallel(search_one, tasks, workers, progress, scheduler)):
        found[n] = fields
    items = tuple(replace(e, **f) for e, f in zip(first, found))
    return Explanations(rules.name, applied.settings.currency, plan.npv, True, items)


def _bundle_reasons(plan: Plan, first: list[Explanation], workers: int, scheduler: str | None) -> list[Explanation]:
    """An experience left out with an enabler not funded (the enabler itself, or what needs it)
    is explained by what the bundle as a whole would return, in the plan report's words
    (planner.core.formatting.bundle_reason), instead of each member pointing at another: one
    re-solve per such enabler, with it forced in."""
    funded = {d.experience.id for d in plan.funded}
    out = [e.experience_id for e in first if not e.funded]
    if not out:
        return first
    enablers = [e.id for e in plan.portfolio.experiences if e.layer == "backstage" and e.id not in funded]
    members = members_of_bundles(plan.portfolio, enablers)
    relevant = [b for b in enablers if any(i in members[b] for i in out)]
    if not relevant:
        return first
    valued = {b.enabler: b for b in enabler_bundles(plan, workers, scheduler, only=relevant)}
    currency = plan.portfolio.settings.currency
    explained = []
    for e in first:
        owners = [valued[b] for b in relevant if not e.funded and e.experience_id in members[b]]
        explained.append(replace(e, reason=" ".join(bundle_reason(b, currency) for b in owners)) if owners else e)
    return explained


def _check_ids(portfolio: Portfolio, experience_ids: Sequence[str] | None) -> None:
    known = {e.key for e in portfolio.experiences}
    unknown = [i for i in experience_ids or () if normalise_id(i) not in known]
    if unknown:
        ids = [e.id for e in portfolio.experiences]
        raise InputError([Problem("--experience", f"not an experience of the portfolio: {ref}{did_you_mean(ref, ids)}") for ref in unknown])


def _selected(plan: Plan, experience_ids: Sequence[str] | None) -> list[Decision]:
    if not experience_ids:
        return list(plan.decisions)
    known = {d.experience.key: d for d in plan.decisions}
    return [known[normalise_id(i)] for i in experience_ids]


# ---------------------------------------------------------------------------------------
# The reason, from the plan alone


@dataclass(frozen=True)
class _Margins:
    """What is left of every budget and capacity rule, and the marginal value of each."""

    budget_left: np.ndarray  # per quarter
    budget_value: np.ndarray
    total_left: float
    total_value: float
    capacity_left: np.ndarray  # teams x quarters
    capacity_value: np.ndarray

    @classmethod
    def of(cls, plan: Plan) -> "_Margins":
        horizon, teams = plan.portfolio.horizon, [t.name for t in plan.portfolio.teams]
        margins = cls(np.full(horizon, math.inf), np.zeros(horizon), math.inf, 0.0,
                      np.full((len(teams), horizon), math.inf), np.zeros((len(teams), horizon)))
        total_left, total_value = math.inf, 0.0
        for rule in plan.rules:
            if rule.kind == "budget":
                margins.budget_left[rule.quarter], margins.budget_value[rule.quarter] = rule.slack, rule.marginal_value
            elif rule.kind == "total_budget":
                total_left, total_value = rule.slack, rule.marginal_value
            elif rule.kind == "capacity":
                t = teams.index(rule.team)
                margins.capacity_left[t, rule.quarter], margins.capacity_value[t, rule.quarter] = rule.slack, rule.marginal_value
        return replace(margins, total_left=total_left, total_value=total_value)


@dataclass(frozen=True)
class _Context:
    """What every experience's reason reads from one plan, worked out once: the economics, the
    rules, who is funded, who excludes and who requires whom, the margins, and every column's
    team-weeks per delivery quarter. Worked out per experience instead, `explain --no-search`
    on 2,000 experiences took 40 s for a plan solved in 1 s."""

    plan: Plan
    rules: Rules
    cols: Columns
    npv: np.ndarray  # each column's NPV (Columns.npv computes it at each use)
    first_column: np.ndarray  # experience i's columns are first_column[i] to first_column[i + 1] - 1
    index: dict[str, int]  # experience key -> its position in the portfolio
    decisions: dict[str, Decision]  # experience key -> its decision
    funded: dict[str, Decision]
    alternatives: list[set[int]]
    required_by: dict[str, list[str]]  # experience key -> ids of the experiences that require it
    margins: _Margins
    weekly: np.ndarray  # columns x teams

    @classmethod
    def of(cls, plan: Plan) -> "_Context":
        portfolio = plan.portfolio
        cols = columns(portfolio)
        weekly = np.zeros((len(cols.experience), len(portfolio.teams)))
        for t, (ids, weeks) in enumerate(cols.attention):
            weekly[ids, t] = weeks
        required_by: dict[str, list[str]] = {}
        for e in portfolio.experiences:
            for r in dict.fromkeys(normalise_id(r) for r in e.requires):
                required_by.setdefault(r, []).append(e.id)
        first_column = np.searchsorted(cols.experience, np.arange(len(portfolio.experiences) + 1))  # columns come grouped by experience
        return cls(plan, Rules.of(plan.scenario), cols, cols.npv, first_column, {e.key: i for i, e in enumerate(portfolio.experiences)},
                   {d.experience.key: d for d in plan.decisions}, {d.experience.key: d for d in plan.funded},
                   alternatives_of(portfolio), required_by, _Margins.of(plan), weekly)


def plain_reason(plan: Plan, decision: Decision, context: _Context | None = None) -> Explanation:
    """The reason in plain words, from the plan, its marginal values and the experience's options
    (`context`: `_Context.of(plan)`, to explain many experiences of one plan)."""
    experience = decision.experience
    if decision.funded:
        return _funded_reason(plan, decision)
    context = context or _Context.of(plan)
    base = Explanation(experience.id, experience.name, False, "", decision.reason, "", None, None)
    cols = context.cols
    i = context.index[experience.key]
    mine = np.arange(context.first_column[i], context.first_column[i + 1])
    if experience.key in context.rules.forced_out:
        return replace(base, kind="forced out")
    if not len(mine):
        return replace(base, kind="no option")
    structural = _structural_reason(context, i, mine)
    if structural is not None:
        return replace(base, kind=structural[0], reason=structural[1])
    return _economic_reason(context, base, mine)


def _funded_reason(plan: Plan, decision: Decision) -> Explanation:
    experience = decision.experience
    rules = Rules.of(plan.scenario)
    per_spend = decision.npv / decision.total_spend if decision.total_spend > 0 else None
    currency = plan.portfolio.settings.currency
    if experience.mandatory:
        kind, why = "mandatory", "mandatory (regulatory or committed)"
    elif experience.commitment is not None:
        kind, why = "in flight", "in flight: its option and start are committed"
    elif experience.key in rules.forced_in:
        kind, why = "forced in", "forced in by the scenario"
    else:
        kind, why = "funded", f"funded for its NPV of {money(decision.npv, currency)}"
        if decision.npv <= 0:
            unlocks = [d.experience.id for d in plan.funded if experience.key in {normalise_id(r) for r in d.experience.requires}]
            why = f"funded as the prerequisite of {', '.join(unlocks)}" if unlocks else why
    returns = f"; {name('npv_per_spend')}: {per_unit(per_spend, currency)}" if per_spend is not None else ""
    return Explanation(experience.id, experience.name, True, kind, why + returns, choice_text(plan, decision), decision.npv, per_spend)


def _structural_reason(context: _Context, i: int, mine: np.ndarray) -> tuple[str, str] | None:
    """Exclusion, a missing or late prerequisite, or no positive NPV: no margins needed."""
    plan, cols, npv, funded = context.plan, context.cols, context.npv, context.funded
    portfolio = plan.portfolio
    experience = portfolio.experiences[i]
    currency = portfolio.settings.currency
    for j in sorted(context.alternatives[i]):
        other = funded.get(portfolio.experiences[j].key)
        if other is not None:
            return "excluded", (f"excluded by the funded alternative {other.experience.id} ({other.experience.name}), "
                                f"worth {money(other.npv, currency)} in the plan")
    missing = [r for r in experience.requires if normalise_id(r) not in funded]
    if missing:
        needed = [portfolio.experiences[context.index[normalise_id(r)]] for r in missing]
        names = ", ".join(f"{e.id} ({e.name})" for e in needed)
        return "prerequisite", f"its prerequisite{'s' if len(missing) > 1 else ''} {names} {'are' if len(missing) > 1 else 'is'} not funded"
    live = max((funded[normalise_id(r)].go_live_quarter for r in experience.requires), default=-1)
    if experience.commitment is None and not np.any(cols.start[mine] > live):
        return "prerequisite", (f"its prerequisites go live only at the end of {quarter_label(portfolio.settings, live)}, "
                                "too late to deliver it within the horizon")
    best = int(mine[np.argmax(npv[mine])])
    if npv[best] > TOLERANCE:
        return None
    unlocks = context.required_by.get(experience.key, [])
    if unlocks:
        return "not positive", (f"an enabler with no NPV of its own (its best option, {_choice(plan, cols, best)}, has an NPV of "
                                f"{money(float(npv[best]), currency)}); what it unlocks ({', '.join(unlocks)}) does not "
                                "return enough to pay for it with this budget and team time")
    return "not positive", (f"no option pays for itself: its best ({_choice(plan, cols, best)}) has an NPV of "
                            f"{money(float(npv[best]), currency)}")


def _economic_reason(context: _Context, base: Explanation, mine: np.ndarray) -> Explanation:
    """Budget or team time: which one keeps it out, with the marginal values and what is left."""
    plan, cols, npv, margins = context.plan, context.cols, context.npv, context.margins
    portfolio = plan.portfolio
    currency = portfolio.settings.currency
    live = max((context.decisions[normalise_id(r)].go_live_quarter for r in portfolio.experiences[int(cols.experience[mine[0]])].requires),
               default=-1)
    mine = mine[(cols.start[mine] > live) & (npv[mine] > TOLERANCE)]
    if not len(mine):
        return replace(base, kind="not positive", reason="no option that can start after its prerequisites go live pays for itself")
    weekly = context.weekly[mine]  # columns x teams
    spend = cols.spend[mine]
    budget_cost = spend @ margins.budget_value + spend.sum(axis=1) * margins.total_value
    capacity_cost = np.array([_capacity_cost(margins, weekly[n], cols, c) for n, c in enumerate(mine)])
    n = int(np.argmax(npv[mine] - budget_cost - capacity_cost))
    c = int(mine[n])
    total = float(spend[n].sum())
    per_spend = float(npv[c]) / total if total > 0 else None
    margin = float(budget_cost[n]) / total if total > 0 else None
    found = replace(base, choice=_choice(plan, cols, c), npv=float(npv[c]), npv_per_spend=per_spend, margin_return=margin)
    short_teams = _short_capacity(portfolio, margins, weekly[n], cols, c)
    short_quarters = [q for q in range(portfolio.horizon) if spend[n][q] > margins.budget_left[q] + TOLERANCE]
    short_total = total > margins.total_left + TOLERANCE
    if short_teams and (capacity_cost[n] >= budget_cost[n] or not (short_quarters or short_total)):
        return replace(found, kind="capacity", reason=_capacity_text(portfolio, short_teams, weekly[n], cols, c))
    if short_quarters or short_total or budget_cost[n] > TOLERANCE:
        return replace(found, kind="budget", reason=_budget_text(plan, found, margins, spend[n], short_quarters, short_total))
    if plan.scenario.balance or plan.scenario.roi_hurdle is not None:
        return replace(found, kind="rules", reason=(f"its best option ({found.choice}) fits in the money and team time left and "
                                                   f"adds {money(found.npv, currency)}, but the scenario's balance or ROI-hurdle "
                                                   "rules keep it out"))
    gap = plan.solve.gap_target
    return replace(found, kind="gap", reason=(f"its best option ({found.choice}) fits in the money and team time left and would add "
                                             f"{money(found.npv, currency)}: the solver stopped within its {gap:.1%} optimality gap"))


def _delivery(cols: Columns, c: int) -> range:
    return range(int(cols.start[c]), int(cols.start[c] + cols.delivery[c]))


def _capacity_cost(margins: _Margins, weekly: np.ndarray, cols: Columns, c: int) -> float:
    quarters = [q for q in _delivery(cols, c) if q < margins.capacity_value.shape[1]]
    return float(sum(weekly @ margins.capacity_value[:, q] for q in quarters))


def _short_capacity(portfolio: Portfolio, margins: _Margins, weekly: np.ndarray, cols: Columns, c: int) -> dict[int, list[int]]:
    """Team index -> the delivery quarters in which the team has less time left than it needs."""
    short: dict[int, list[int]] = {}
    for q in _delivery(cols, c):
        for t in np.nonzero(weekly > 0)[0].tolist():
            if weekly[t] > margins.capacity_left[t, q] + TOLERANCE:
                short.setdefault(t, []).append(q)
    return short


def _capacity_text(portfolio: Portfolio, short: dict[int, list[int]], weekly: np.ndarray, cols: Columns, c: int) -> str:
    parts = []
    for t, quarters in short.items():
        team = portfolio.teams[t].name
        parts.append(f"{team} has no capacity left in {quarter_span(portfolio, quarters)}, the quarter{'s' if len(quarters) > 1 else ''} "
                     f"it would need ({weekly[t]:.1f} team-weeks a quarter)")
    return "; ".join(parts)


def _budget_text(plan: Plan, found: Explanation, margins: _Margins, spend: np.ndarray, short_quarters: list[int], short_total: bool) -> str:
    portfolio = plan.portfolio
    currency = portfolio.settings.currency
    spending = [q for q in range(portfolio.horizon) if spend[q] > TOLERANCE]
    if found.margin_return and found.margin_return > TOLERANCE:
        return (f"its best option ({found.choice}) returns {per_unit(found.npv_per_spend, currency)} of NPV per euro spent; "
                f"the {name('budget_shadow_value').lower()} ({quarter_span(portfolio, spending)}) is "
                f"{per_unit(found.margin_return, currency)}")
    if short_total:
        return (f"it does not fit in the budget left: {money(margins.total_left, currency)} of the total is left and its best "
                f"option ({found.choice}) needs {money(float(spend.sum()), currency)}")
    q = short_quarters[0]
    return (f"it does not fit in the budget left: {money(float(margins.budget_left[q]), currency)} is left in "
            f"{quarter_label(portfolio.settings, q)} and its best option ({found.choice}) needs {money(float(spend[q]), currency)} there")


def _choice(plan: Plan, cols: Columns, c: int) -> str:
    experience = plan.portfolio.experiences[int(cols.experience[c])]
    return f"{experience.options[int(cols.option[c])].name} from {quarter_label(plan.portfolio.settings, int(cols.start[c]))}"


# ---------------------------------------------------------------------------------------
# What it would take: bounded searches of re-solves


@dataclass(frozen=True)
class _Search:
    portfolio: Portfolio
    rules: Scenario
    plan: Plan
    experience_id: str
    kind: str
    steps: int


class _Counter:
    """Re-solves done for one experience, by kind (the benchmark reports them)."""

    def __init__(self) -> None:
        self.kinds: dict[str, int] = {}

    @property
    def solves(self) -> int:
        return sum(n for kind, n in self.kinds.items() if not kind.endswith(": no re-solve"))

    def count(self, kind: str) -> None:
        self.kinds[kind] = self.kinds.get(kind, 0) + 1

    def spare(self, kind: str) -> None:
        """A step answered by a plan found earlier: no re-solve."""
        self.kinds[f"{kind}: no re-solve"] = self.kinds.get(f"{kind}: no re-solve", 0) + 1


SEARCHED_OUT = ("excluded", "prerequisite", "not positive", "capacity", "budget", "rules", "gap")


def _expected_solves(explanation: Explanation, steps: int = 2) -> int:
    """About how many re-solves its search takes: 0 (nothing to search), 1 (without it), or for
    one left out the forced-in solve and, per multiplier, a bound check half the time and the
    steps (the example at steps 2: 84 re-solves for 16 searched, about 5 each)."""
    if explanation.funded:
        return 1 if explanation.kind in ("funded", "forced in") else 0
    return 2 + 2 * steps if explanation.kind in SEARCHED_OUT else 0


def expected_re_solves(plan: Plan, experience_ids: Sequence[str] | None = None, steps: int = 2) -> int:
    """About how many re-solves `explain(..., search=True, steps=steps)` makes for the plan: to say
    up front how long it will take (the CLI multiplies by the plan's own solve time)."""
    context = _Context.of(plan)
    return sum(_expected_solves(plain_reason(plan, d, context), steps) for d in _selected(plan, experience_ids))


def search_one(task: _Search) -> dict[str, Any]:
    """The search fields of one experience's Explanation (run in a worker)."""
    decision = decision_of(task.plan, task.experience_id)
    counter = _Counter()
    if decision.funded:
        fields = _without(task, counter) if task.kind == "funded" or task.kind == "forced in" else {}
    elif task.kind in SEARCHED_OUT:
        fields = _what_it_takes(task, counter)
    else:
        fields = {}
    return {**fields, "solves": counter.solves, "solve_kinds": tuple(sorted(counter.kinds.items()))}


def _solve(task: _Search, counter: _Counter, rules: Scenario, kind: str, start_from: Plan | None = None):
    counter.count(kind)
    return solve(Solve(task.portfolio, rules, start_from))


def _without(task: _Search, counter: _Counter) -> dict[str, Any]:
    """The NPV the plan loses without a funded experience, and who leaves with it."""
    result = _solve(task, counter, forcing(task.rules, task.experience_id, funded=False), "without it")
    if not result.feasible:
        return {"to_enter": "the plan cannot do without it: forced out, no plan meets the rules"}
    before = set(funded_ids(task.plan)) - {task.experience_id}
    leave = tuple(sorted(before - set(funded_ids(result.plan))))
    fields = {"npv_without": result.plan.npv, "npv_loss": task.plan.npv - result.plan.npv, "leave_with_it": leave}
    info = result.plan.solve
    if info.status != "optimal":
        # The re-solve stopped (time limit) before proving its plan best: the loss is at most
        # what its plan says, and at least what its bound allows. Never shown as exact.
        currency = task.portfolio.settings.currency
        bound = _bound_of(result.plan)
        least = f"between {money(max(0.0, task.plan.npv - bound), currency)} and " if math.isfinite(bound) else "at most "
        fields["to_enter"] = (f"not proven: the re-solve without it stopped with its plan {info.status} "
                              f"(gap {info.gap:.2%})" if info.gap is not None else "not proven: the re-solve without it stopped "
                              f"with its plan {info.status}") + f"; the plan loses {least}{money(task.plan.npv - result.plan.npv, currency)} without it"
    return fields


def _what_it_takes(task: _Search, counter: _Counter) -> dict[str, Any]:
    """The uplift and cost multipliers at which an experience not funded enters the plan."""
    currency = task.portfolio.settings.currency
    if task.rules.objective != "npv":
        return {"to_enter": "searched only for the NPV objective"}
    forced = _solve(task, counter, forcing(task.rules, task.experience_id, funded=True), "forced in")
    if not forced.feasible:
        return {"to_enter": "no uplift or cost brings it in: forced in, no plan meets the scenario's rules"}
    loss = max(0.0, task.plan.npv - forced.plan.npv)
    mine = decision_of(forced.plan, task.experience_id)
    experience = mine.experience

    def enters(scenario: Scenario, start_from: Plan | None, kind: str, lines: list[_Line] | None, at: float) -> bool:
        # A plan with it that an earlier step found may already beat the ceiling here.
        if lines is not None and any(line.value_at(at) > ceiling + hair for line in lines):
            counter.spare(kind)
            return True
        decided, found = _decided_forced_in(task, counter, forcing(scenario, task.experience_id, funded=True), start_from, kind)
        if found is not None and lines is not None:
            lines.append(_line_of(found, task.experience_id, at, lines[0].direction))
        if decided is not None:
            return decided
        result = _solve(task, counter, scenario, f"{kind}: whole plan (a tie)", start_from)
        return result.feasible and decision_of(result.plan, task.experience_id).funded

    uplift = cost = None
    hair = TIE * max(1.0, abs(task.plan.npv))
    # What the solves prove, whatever the solver's gap: the plan without it is worth at most
    # `ceiling`; the best plan with it (forced in) at most `forced_ceiling`.
    ceiling, forced_ceiling = _bound_of(task.plan), _bound_of(forced.plan)
    shared = experience.overlap_group.strip() and any(
        e.overlap_group.strip().casefold() == experience.overlap_group.strip().casefold() and e.key != experience.key
        for e in task.portfolio.experiences)
    if mine.pv_benefit > 0 and experience.uplift_base > 0:
        limit = 1.0 / experience.uplift_base  # uplift is a share of customers: at most 100%
        # At m the forced-in plan gains (m - 1) x its PV of benefits and stays feasible, so it
        # enters once that beats the ceiling (unless an overlap group shares the gain); and no
        # plan with it gains more than (m - 1) x its largest PV of benefits over its choices,
        # so below `floor` it cannot enter.
        proven = min(limit, 1.0 + max(0.0, ceiling - forced.plan.npv) / mine.pv_benefit * PAST_TIE + TOLERANCE)
        floor = min(proven, 1.0 + max(0.0, task.plan.npv - forced_ceiling) / _largest_benefit(task.portfolio, experience))
        # Its benefit grows in proportion to its uplift (unless an overlap group shares it).
        lines = None if shared else [_line_of(forced.plan, task.experience_id, 1.0, 1)]
        uplift = _threshold(lambda m, kind: enters(with_adjustment(task.rules, task.experience_id, uplift=m), forced.plan, kind, lines, m),
                            proven, floor, limit, task.steps,
                            known=math.isfinite(ceiling) and proven < limit and not shared)
    if mine.pv_cost > 0:
        # Cheaper spend keeps the forced-in plan feasible, unless a minimum share of spend needs it.
        start = forced.plan if not task.rules.balance else None
        proven = max(0.0, 1.0 - max(0.0, ceiling - forced.plan.npv) / mine.pv_cost * PAST_TIE - TOLERANCE)
        lines = None if task.rules.balance else [_line_of(forced.plan, task.experience_id, 1.0, -1)]
        cost = _threshold(lambda c, kind: enters(with_adjustment(task.rules, task.experience_id, cost=c), start, kind, lines, c), proven, 1.0, 0.0,
                          task.steps, known=math.isfinite(ceiling) and proven > 0.0 and not task.rules.balance)
    ways, dead_ends = [], []
    if uplift is not None:
        ways.append(f"uplift x{uplift:.2f} ({experience.uplift_base:.2%} -> {min(1.0, experience.uplift_base * uplift):.2%})")
    elif mine.pv_benefit > 0:
        dead_ends.append("no uplift up to 100% of customers brings it in")
    if cost is not None:
        ways.append(f"cost x{cost:.2f}" if cost >= 0.005 else "no cost at all")
    elif mine.pv_cost > 0:
        dead_ends.append("not even at no cost")
    prerequisites = [d.experience.id for d in forced.plan.funded
                     if d.experience.key in {normalise_id(r) for r in experience.requires} and not decision_of(task.plan, d.experience.id).funded]
    with_them = f" (with {', '.join(prerequisites)} funded too)" if prerequisites else ""
    parts = [f"enters at {' or '.join(ways)}{with_them}"] if ways else []
    parts += dead_ends or ([] if ways else ["no search was possible (no benefit and no cost)"])
    text = f"{'; '.join(parts)}; forced in as it is, the plan loses {money(loss, currency)}"
    return {"uplift_to_enter": uplift, "cost_to_enter": cost, "to_enter": text}


@dataclass(frozen=True)
class _Line:
    """What a plan with the experience, found with its multiplier at `at`, is worth at another multiplier.

    Its benefit (uplift) or its costs (cost) are proportional to the multiplier and nothing
    else in the plan depends on it, so the plan is worth `value + |x - at| x slope` at x,
    and it stays within the rules in `direction` (+1: more uplift; -1: less cost).
    """

    at: float
    value: float
    slope: float
    direction: int

    def value_at(self, x: float) -> float:
        return self.value + self.direction * (x - self.at) * self.slope if self.direction * (x - self.at) >= 0 else -math.inf


def _line_of(plan: Plan, experience_id: str, at: float, direction: int) -> _Line:
    mine = decision_of(plan, experience_id)
    per_unit = (mine.pv_benefit if direction > 0 else mine.pv_cost) / at if at > 0 else 0.0
    return _Line(at, plan.npv, per_unit, direction)


def _decided_forced_in(task: _Search, counter: _Counter, forced_in: Scenario, start_from: Plan | None,
                       kind: str) -> tuple[bool | None, Plan | None]:
    """Whether it enters under an adjustment of its own, from a re-solve with it forced in
    (None on a tie), and the forced-in plan.

    It enters when the best plan with it beats the best plan without it. Its own uplift or
    cost does not change any plan without it (nor its overlap group's uplift, nor the
    balance of spend, nor the hurdle), so the best without it is still the explained plan,
    worth between its NPV and its proven bound. The forced-in re-solve is the cheaper one
    (its choices are fixed) and, with its proven bound, settles the question both ways;
    within a hair of a tie (or with nothing proven) the whole plan is re-solved instead.
    """
    result = _solve(task, counter, forced_in, f"{kind}: forced in", start_from)
    if not result.feasible:
        # Proven infeasible: no plan has it. No plan in time proves nothing.
        return (False if result.conflicts else None), None
    hair = TIE * max(1.0, abs(task.plan.npv))
    if result.plan.npv > _bound_of(task.plan) + hair:
        return True, result.plan
    if _bound_of(result.plan) < task.plan.npv - hair:
        return False, result.plan
    return None, result.plan


def _bound_of(plan: Plan) -> float:
    """The most any plan of this problem is worth, as the solver proved it (inf if it proved nothing)."""
    bound = plan.solve.best_bound
    return max(plan.npv, bound) if bound is not None and math.isfinite(bound) else math.inf


def _largest_benefit(portfolio: Portfolio, experience) -> float:
    """The largest PV of benefits over the experience's (option, start) choices."""
    economics = columns(portfolio)
    index = next(i for i, e in enumerate(portfolio.experiences) if e.key == experience.key)
    mine = economics.pv_benefit[economics.experience == index]
    return float(mine.max()) if len(mine) and mine.max() > 0 else math.inf


def _threshold(enters: Callable[[float, str], bool], inside: float, outside: float, limit: float, steps: int,
               known: bool = False) -> float | None:
    """A multiplier at which it enters, between `outside` (it does not) and `limit`.

    `inside` is the bound where it should enter. When `known`, the solves so far prove it
    enters there; otherwise a re-solve checks, and if the solver's gap hides it the bound
    moves twice as far from `outside` (at most WIDENINGS times, never past `limit`). Then
    at most `steps` halvings move it toward the true threshold, stopping once the two are
    within a hundredth (the precision the multiplier is shown with).
    """
    for attempt in range(0 if known else WIDENINGS + 1):
        if enters(inside, "bound check"):
            break
        if inside == limit or attempt == WIDENINGS:
            return None
        wider = outside + 2 * (inside - outside)
        inside = min(limit, wider) if limit > outside else max(limit, wider)
    for _ in range(steps):
        if abs(inside - outside) < 0.005:
            break
        middle = (inside + outside) / 2
        if enters(middle, "halving"):
            inside = middle
        else:
            outside = middle
    return inside
