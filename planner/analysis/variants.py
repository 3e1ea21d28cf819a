"""What-if analysis shared by the frontier, comparison, explanations and sensitivity: re-solves.

Every analysis asks the same question many times with one input moved: plan the portfolio
as a scenario sees it, changed a little. This module owns how that is done once:

- `as_seen_by` splits a scenario into the portfolio it describes (budget, capacity and
  estimates applied) and its rules alone (forced in/out, balance, hurdle, objective,
  solver settings), so a variant changes the applied portfolio and keeps the rules, and
  no multiplier is ever applied twice.
- `Solve` is one re-solve to run; `run_solves` runs many through the shared executor
  (`planner.core.executor`: in this process, on an embedded Dask cluster, or on a named one)
  and returns the results in the order asked, whatever the number of workers.
- `Comparison` (`compare_plans`) and `Tornado` (`sensitivity`) live here; the frontier is
  `planner.analysis.frontier`, the explanations `planner.analysis.explain`.

Results are frozen dataclasses with `to_rows()` (a list of flat dicts, one per CSV row)
for the CSV files and for the report model. Library code never prints: progress goes to
an optional callback `progress(done, total)`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, TypeVar

from planner.core.domain import Experience, Portfolio, normalise_id, quarter_label
from planner.core.errors import InfeasibleError, SolverError
from planner.core.executor import Progress, run_tasks
from planner.core.formatting import money
from planner.optimise.optimiser import plan_portfolio
from planner.optimise.plan import Decision, Plan
from planner.core.csv_safe import csv_rows
from planner.core.files import write_atomically
from planner.inputs.scenario import DIMENSIONS, Adjustment, Filter, Scenario, apply_scenario

T = TypeVar("T")
R = TypeVar("R")

# Two plans whose NPVs differ by less than this (relative) are the same for reporting.
SAME = 1e-9


# ---------------------------------------------------------------------------------------
# Scenario variants


def as_seen_by(portfolio: Portfolio, scenario: Scenario | None) -> tuple[Portfolio, Scenario]:
    """The portfolio with the scenario's input changes applied, and the scenario's rules alone.

    `plan_portfolio(*as_seen_by(p, s))` plans exactly what `plan_portfolio(p, s)` plans; a
    variant changes the first and keeps the second.
    """
    scenario = scenario or Scenario()
    applied = apply_scenario(portfolio, scenario)
    rules = replace(
        scenario, budget_per_quarter=None, budget_by_quarter=(), total_budget=None, capacity=(), adjustments=(),
        uplift_estimate="base", discount_rate=None, horizon_quarters=None,
    )
    return applied, rules


def effective_budget(portfolio: Portfolio) -> float:
    """The money the plan may spend over the horizon: the quarters' sum, capped by the total."""
    total = sum(portfolio.budget)
    return min(total, portfolio.total_budget) if portfolio.total_budget is not None else total


def scaled_budget(portfolio: Portfolio, factor: float) -> Portfolio:
    """The portfolio with every quarter's budget, and the total cap, times `factor`.

    Scaling keeps the budget's shape over the quarters: a frontier point or a "budget -10%"
    asks for more or less money on the same profile finance gave.
    """
    total = portfolio.total_budget * factor if portfolio.total_budget is not None else None
    return replace(portfolio, budget=tuple(b * factor for b in portfolio.budget), total_budget=total)


def with_adjustment(rules: Scenario, experience_id: str | None = None, **factors: float) -> Scenario:
    """The rules plus multipliers (uplift, cost, reach, value) on one experience, or on all."""
    where = Filter(id=(experience_id,)) if experience_id is not None else Filter()
    return replace(rules, adjustments=rules.adjustments + (Adjustment(where, **factors),))


def forcing(rules: Scenario, experience_id: str, funded: bool) -> Scenario:
    """The rules with one experience forced in (funded=True) or out, whatever they said of it."""
    key = normalise_id(experience_id)
    forced_in = tuple(i for i in rules.forced_in if normalise_id(i) != key)
    forced_out = tuple(i for i in rules.forced_out if normalise_id(i) != key)
    if funded:
        return replace(rules, forced_in=forced_in + (experience_id,), forced_out=forced_out)
    return replace(rules, forced_in=forced_in, forced_out=forced_out + (experience_id,))


# ---------------------------------------------------------------------------------------
# Re-solves in parallel


@dataclass(frozen=True)
class Solve:
    """One re-solve: a portfolio, the rules, and optionally a plan to start from."""

    portfolio: Portfolio
    scenario: Scenario
    start_from: Plan | None = None


@dataclass(frozen=True)
class Solved:
    """A re-solve's answer: the plan, or the rules in conflict when no plan satisfies them."""

    plan: Plan | None
    conflicts: tuple[str, ...] = ()
    error: str = ""  # the solver gave no plan in time (the scenario may still be feasible)

    @property
    def feasible(self) -> bool:
        return self.plan is not None


def solve(task: Solve) -> Solved:
    """Plan one variant; an infeasible variant, or one the solver found no plan for in time,
    is an answer ("no plan"), not an error: the other variants still count."""
    try:
        return Solved(plan_portfolio(task.portfolio, task.scenario, start_from=task.start_from))
    except InfeasibleError as error:
        return Solved(None, tuple(error.conflicts))
    except SolverError as error:
        if "found no plan" not in str(error):
            raise  # a plan that broke the rules is a bug to report, not an answer
        return Solved(None, error=str(error))


def run_parallel(function: Callable[[T], R], tasks: Sequence[T], workers: int = 1, progress: Progress | None = None,
                 scheduler: str | None = None) -> list[R]:
    """`[function(t) for t in tasks]` through the shared executor (`planner.core.executor`); same order either way."""
    return run_tasks(function, tasks, workers, progress, scheduler)


def run_solves(tasks: Sequence[Solve], workers: int = 1, progress: Progress | None = None,
               scheduler: str | None = None) -> list[Solved]:
    return run_tasks(solve, tasks, workers, progress, scheduler)


# ---------------------------------------------------------------------------------------
# Small helpers for the result tables


def decision_of(plan: Plan, experience_id: str) -> Decision:
    key = normalise_id(experience_id)
    return next(d for d in plan.decisions if d.experience.key == key)


def funded_ids(plan: Plan) -> tuple[str, ...]:
    return tuple(d.experience.id for d in plan.funded)


def choice_text(plan: Plan, decision: Decision) -> str:
    """'standard from 2027Q3' or 'not funded'."""
    if not decision.funded:
        return "not funded"
    return f"{decision.option} from {quarter_label(plan.portfolio.settings, decision.start_quarter)}"


def quarter_span(portfolio: Portfolio, quarters: Iterable[int]) -> str:
    """Quarters as labels, runs joined: [1, 2, 4] -> '2027Q2-2027Q3, 2028Q1'."""
    ordered = sorted(set(quarters))
    runs: list[list[int]] = []
    for q in ordered:
        if runs and q == runs[-1][-1] + 1:
            runs[-1].append(q)
        else:
            runs.append([q])
    settings = portfolio.settings
    return ", ".join(
        quarter_label(settings, run[0]) if len(run) == 1 else f"{quarter_label(settings, run[0])}-{quarter_label(settings, run[-1])}"
        for run in runs
    )


def write_csv(path: Path, rows: list[dict[str, Any]]) -> Path:
    """Write rows (flat dicts with the same keys) as a CSV with a header, whole or not at all.

    Floats are kept exact; text that a spreadsheet would run as a formula is neutralised
    (`planner.report.csv_text`).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_atomically(path, csv_rows(rows))


# ---------------------------------------------------------------------------------------
# Comparison of scenarios


@dataclass(frozen=True)
class Difference:
    """An experience funded under one scenario and not under another, with the reason.

    `other` is the scenario compared with the reference (the first); `change` is "entered"
    (funded in `other`, not in the reference) or "left".
    """

    experience_id: str
    name: str
    other: str
    change: str
    reference_choice: str
    other_choice: str
    npv_reference: float
    npv_other: float
    reason: str


@dataclass(frozen=True)
class Shift:
    """Spend on one journey stage, channel, product line, layer or quarter, per scenario."""

    dimension: str
    value: str
    spend: tuple[float, ...]


@dataclass(frozen=True)
class ScenarioTotals:
    name: str
    npv: float
    pv_cost: float
    roi: float | None
    spend: float
    budget: float
    funded: int
    status: str


@dataclass(frozen=True)
class Comparison:
    """Scenarios side by side: totals, the experiences that differ (with reasons), spend shifts.

    Everything is relative to the first scenario, the reference.
    """

    scenarios: tuple[str, ...]
    currency: str
    totals: tuple[ScenarioTotals, ...]
    differences: tuple[Difference, ...]
    shifts: tuple[Shift, ...]

    def to_rows(self) -> list[dict[str, Any]]:
        """One CSV: section total / difference / shift; a column per scenario."""
        rows: list[dict[str, Any]] = []

        def row(section: str, item: str, name: str, values: Sequence[Any], reason: str = "", change: str = "") -> None:
            rows.append({"section": section, "item": item, "name": name, **dict(zip(self.scenarios, values)),
                         "change": change, "reason": reason})

        for measure in ("npv", "pv_cost", "roi", "spend", "budget", "funded", "status"):
            row("total", measure, "", [getattr(t, measure) for t in self.totals])
        for d in self.differences:
            values = [d.reference_choice if n == 0 else (d.other_choice if name == d.other else "") for n, name in enumerate(self.scenarios)]
            row("difference", d.experience_id, d.name, values, d.reason, f"{d.change} in {d.other}")
        for s in self.shifts:
            row(f"spend by {s.dimension.replace('_', ' ')}", s.value, "", list(s.spend))
        return rows


def compare_plans(plans: Sequence[Plan], names: Sequence[str] | None = None) -> Comparison:
    """Compare plans of the same workbook under different scenarios; the first is the reference."""
    names = tuple(names or (p.scenario.name for p in plans))
    reference = plans[0]
    differences = []
    for plan, name in zip(plans[1:], names[1:]):
        differences += _differences(reference, plan, names[0], name)
    return Comparison(
        scenarios=names,
        currency=reference.portfolio.settings.currency,
        totals=tuple(ScenarioTotals(n, p.npv, p.pv_cost, p.roi, p.total_spend, effective_budget(p.portfolio), len(p.funded), p.solve.status)
                     for p, n in zip(plans, names)),
        differences=tuple(differences),
        shifts=tuple(_shifts(plans)),
    )


def _differences(reference: Plan, other: Plan, reference_name: str, other_name: str) -> list[Difference]:
    before = {d.experience.key: d for d in reference.decisions}
    after = {d.experience.key: d for d in other.decisions}
    out = []
    for key, old in before.items():
        new = after.get(key)
        if new is None or old.funded == new.funded:
            continue
        change = "entered" if new.funded else "left"
        reasons = _change_reasons(reference, other, old.experience.id, change, reference_name, other_name)
        out.append(Difference(old.experience.id, old.experience.name, other_name, change, choice_text(reference, old),
                              choice_text(other, new), old.npv, new.npv, "; ".join(reasons)))
    return out


def _change_reasons(reference: Plan, other: Plan, experience_id: str, change: str, a: str, b: str) -> list[str]:
    """Why an experience entered or left between two plans, from the scenarios' differences.

    The checks run from the most direct cause (forced, an alternative, a prerequisite, its
    own estimates) to the portfolio-wide ones (balance rules, budget, capacity); every one
    that applies is given, most direct first.
    """
    entered = change == "entered"
    old, new = decision_of(reference, experience_id), decision_of(other, experience_id)
    experience = new.experience
    reasons = _forced_reasons(reference, other, experience, entered, b)
    reasons += _link_reasons(reference, other, experience, entered, b)
    reasons += _estimate_reasons(old.experience, new.experience, other.scenario, entered, b)
    reasons += _balance_reasons(reference, other, experience, entered, b)
    reasons += _money_reasons(reference, other, experience, entered, a, b)
    if not reasons:
        freed = set(funded_ids(reference)) - set(funded_ids(other))
        reasons.append(f"the money and team time freed by the experiences that left under {b} reached it" if entered and freed
                       else f"re-optimised: {b}'s plan gets more NPV with it" if entered
                       else f"re-optimised: {b}'s plan gets more NPV from the money and team time elsewhere")
    return reasons


def _forced_reasons(reference: Plan, other: Plan, experience: Experience, entered: bool, b: str) -> list[str]:
    key = experience.key
    keys = lambda ids: {normalise_id(i) for i in ids}  # noqa: E731
    if entered and key in keys(other.scenario.forced_in) - keys(reference.scenario.forced_in):
        return [f"forced in by {b}"]
    if not entered and key in keys(other.scenario.forced_out) - keys(reference.scenario.forced_out):
        return [f"forced out by {b}"]
    if not entered and key in keys(reference.scenario.forced_in) - keys(other.scenario.forced_in):
        return [f"no longer forced in under {b}"]
    return []


def _link_reasons(reference: Plan, other: Plan, experience: Experience, entered: bool, b: str) -> list[str]:
    """Prerequisites that entered or left, alternatives that left or entered."""
    funded_before = {d.experience.key for d in reference.funded}
    funded_after = {d.experience.key for d in other.funded}
    reasons = []
    for ref in experience.requires:
        key = normalise_id(ref)
        if entered and key in funded_after - funded_before:
            reasons.append(f"its prerequisite {ref} entered")
        if not entered and key in funded_before - funded_after:
            reasons.append(f"its prerequisite {ref} left")
    alternatives = {normalise_id(r): r for r in experience.excludes}
    alternatives.update({d.experience.key: d.experience.id for d in other.decisions
                         if experience.key in {normalise_id(r) for r in d.experience.excludes}})
    for key, ref in sorted(alternatives.items()):
        if entered and key in funded_before - funded_after:
            reasons.append(f"its alternative {ref} left")
        if not entered and key in funded_after - funded_before:
            reasons.append(f"excluded by the funded alternative {ref}")
    # An enabler moves with what it unlocks.
    unlocks = [d.experience for d in other.decisions if experience.key in {normalise_id(r) for r in d.experience.requires}]
    moved = [e.id for e in unlocks if (e.key in funded_after - funded_before if entered else e.key in funded_before - funded_after)]
    if moved:
        reasons.append(f"it unlocks {', '.join(moved)}, which {'entered' if entered else 'left'}")
    return reasons


def _estimate_reasons(before: Experience, after: Experience, scenario: Scenario, entered: bool, b: str) -> list[str]:
    """Its own uplift, cost, reach or value changed (by an adjustment or another estimate)."""
    reasons = []
    cost_before = sum(o.one_off_cost for o in before.options)
    cost_after = sum(o.one_off_cost for o in after.options)
    changes = [
        ("uplift", before.uplift_base, after.uplift_base, True),
        ("cost", cost_before, cost_after, False),
        ("reach", before.reach_per_quarter, after.reach_per_quarter, True),
        ("value per outcome", before.value_per_outcome, after.value_per_outcome, True),
    ]
    matching = [a for a in scenario.adjustments if a.where.matches(after)]
    for label, old, new, more_is_better in changes:
        if old <= 0 or abs(new / old - 1) < 1e-9:
            continue
        ratio = new / old
        helps = (ratio > 1) == more_is_better
        if helps != entered:
            continue  # a change that pulls the other way is not why it moved
        verb = {0.5: "halved", 2.0: "doubled"}.get(round(ratio, 6), f"multiplied by {ratio:.2f}")
        source = f"{b}'s adjustment ({matching[0].where.describe()})" if matching else f"{b}'s estimates"
        if label == "uplift" and not matching and scenario.uplift_estimate != "base":
            source = f"{b}'s {scenario.uplift_estimate} uplift estimate"
        reasons.append(f"its {label} was {verb} by {source}")
    return reasons


def _balance_reasons(reference: Plan, other: Plan, experience: Experience, entered: bool, b: str) -> list[str]:
    reasons = []
    old_rules = set(reference.scenario.balance)
    for rule in other.scenario.balance:
        if rule in old_rules or rule.min_share is None:
            continue
        share = f"at least {rule.min_share:.0%} of spend on {rule.label}"
        if entered and rule.matches(experience):
            reasons.append(f"{b}'s balance rule ({share}) brought it in")
        elif not entered and not rule.matches(experience):
            reasons.append(f"{b}'s balance rule ({share}) moved money away from it")
    if other.scenario.roi_hurdle is not None and other.scenario.roi_hurdle != reference.scenario.roi_hurdle and not entered:
        reasons.append(f"{b}'s ROI hurdle of {other.scenario.roi_hurdle:.0%}")
    return reasons


def _money_reasons(reference: Plan, other: Plan, experience: Experience, entered: bool, a: str, b: str) -> list[str]:
    """Budget, capacity and discount-rate changes that move the margin."""
    currency = reference.portfolio.settings.currency
    reasons = []
    old_budget, new_budget = effective_budget(reference.portfolio), effective_budget(other.portfolio)
    if not entered and new_budget < old_budget * (1 - 1e-9):
        rank, position, count = _return_rank(reference, experience)
        cut = f"{b}'s budget cut ({money(old_budget, currency)} -> {money(new_budget, currency)})"
        if position < max(1, count // 3):
            reasons.append(f"{cut} removed the lowest marginal-NPV items: it returned {rank} of {count} funded in {a}")
        else:
            reasons.append(f"{cut} left it out when the smaller budget was re-packed (it returned {rank} of {count} funded in {a})")
    if entered and new_budget > old_budget * (1 + 1e-9):
        reasons.append(f"{b}'s extra budget ({money(old_budget, currency)} -> {money(new_budget, currency)}) reached it")
    team_before = sum(reference.portfolio.team(experience.team).capacity)
    team_after = sum(other.portfolio.team(experience.team).capacity)
    if (team_after < team_before) if not entered else (team_after > team_before):
        reasons.append(f"{b} {'cut' if not entered else 'raised'} {experience.team}'s capacity")
    old_rate, new_rate = reference.portfolio.settings.annual_discount_rate, other.portfolio.settings.annual_discount_rate
    if abs(new_rate - old_rate) > 1e-12 and (new_rate > old_rate) != entered:
        reasons.append(f"{b}'s discount rate of {new_rate:.1%}")
    return reasons


def _return_rank(plan: Plan, experience: Experience) -> tuple[str, int, int]:
    """('the 2nd-lowest NPV per EUR', 0-based position, count) among the plan's funded experiences."""
    funded = sorted(plan.funded, key=lambda d: d.npv / d.total_spend if d.total_spend > 0 else float("inf"))
    position = next((n for n, d in enumerate(funded) if d.experience.key == experience.key), len(funded))
    ordinal = "the lowest" if position == 0 else f"the {_ordinal(position + 1)}-lowest"
    return f"{ordinal} NPV per {plan.portfolio.settings.currency}", position, len(funded)


def _ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _shifts(plans: Sequence[Plan]) -> list[Shift]:
    """Spend per journey stage, channel, product line and layer, then per quarter (label)."""
    shifts = []
    for dimension in DIMENSIONS:
        values = sorted({getattr(d.experience, dimension) for p in plans for d in p.decisions})
        for value in values:
            shifts.append(Shift(dimension, value, tuple(sum(d.total_spend for d in p.funded if getattr(d.experience, dimension) == value)
                                                        for p in plans)))
    labels: dict[str, list[float]] = {}
    for n, plan in enumerate(plans):
        for label, spend in zip(plan.quarters, plan.spend_by_quarter):
            labels.setdefault(label, [0.0] * len(plans))[n] = spend
    shifts += [Shift("quarter", label, tuple(values)) for label, values in sorted(labels.items())]
    return shifts


def plan_scenarios(portfolios: Sequence[Portfolio], scenarios: Sequence[Scenario], workers: int = 1,
                   progress: Progress | None = None, scheduler: str | None = None) -> list[Plan]:
    """Plan each scenario (in parallel); an infeasible one raises InfeasibleError naming it."""
    solved = run_solves([Solve(p, s) for p, s in zip(portfolios, scenarios)], workers, progress, scheduler)
    for result, scenario in zip(solved, scenarios):
        if result.error:
            raise SolverError(f"{scenario.name}: {result.error}")
        if not result.feasible:
            raise InfeasibleError([f"{scenario.name}: {c}" for c in result.conflicts])
    return [result.plan for result in solved]


# ---------------------------------------------------------------------------------------
# Sensitivity: the tornado


@dataclass(frozen=True)
class TornadoBar:
    """The plan's NPV with one input at its low and at its high value (each a re-solve)."""

    input: str
    kind: str  # "uplift", "budget", "discount rate", "costs", "capacity", "all uplifts"
    low: str
    high: str
    npv_low: float | None
    npv_high: float | None
    base_npv: float
    funded_changes_low: int
    funded_changes_high: int

    @property
    def change_low(self) -> float | None:
        return None if self.npv_low is None else self.npv_low - self.base_npv

    @property
    def change_high(self) -> float | None:
        return None if self.npv_high is None else self.npv_high - self.base_npv

    @property
    def swing(self) -> float:
        """The bar's width; an input whose low or high makes the scenario infeasible sorts first."""
        if self.npv_low is None or self.npv_high is None:
            return float("inf")
        return abs(self.npv_high - self.npv_low)


@dataclass(frozen=True)
class Tornado:
    """Which inputs move the plan most: bars sorted by swing, widest first."""

    scenario: str
    currency: str
    base_npv: float
    bars: tuple[TornadoBar, ...]

    def to_rows(self) -> list[dict[str, Any]]:
        return [
            {"input": b.input, "kind": b.kind, "low": b.low, "high": b.high, "npv_low": b.npv_low, "npv_high": b.npv_high,
             "change_low": b.change_low, "change_high": b.change_high, "swing": b.swing, "base_npv": b.base_npv,
             "funded_changes_low": b.funded_changes_low, "funded_changes_high": b.funded_changes_high}
            for b in self.bars
        ]


@dataclass(frozen=True)
class _Input:
    """One input to move: a label and how the low and high variants are made."""

    label: str
    kind: str
    low: str
    high: str
    variants: tuple[Solve, Solve] = field(repr=False)


def sensitivity(portfolio: Portfolio, scenario: Scenario | None = None, top: int = 8, budget_change: float = 0.10,
                rate_change: float = 0.02, cost_change: float = 0.20, capacity_change: float = 0.10, workers: int = 1,
                progress: Progress | None = None, base: Plan | None = None, scheduler: str | None = None) -> Tornado:
    """Re-solve with each key input at its low and high value; sort by the NPV swing.

    Inputs: the uplift of the `top` funded experiences with the most NPV, at their low and
    high estimates; and portfolio-wide, the budget (+-10%), the discount rate (+-2 points,
    never below 0), all costs (+-20%), all teams' capacity (+-10%) and every uplift at its
    low or high estimate. Each is one re-solve per end, started from the base plan where it
    still fits.
    """
    applied, rules = as_seen_by(portfolio, scenario)
    base = base or plan_portfolio(applied, rules)
    inputs = _sensitivity_inputs(applied, rules, base, top, budget_change, rate_change, cost_change, capacity_change)
    solved = run_solves([v for i in inputs for v in i.variants], workers, progress, scheduler)
    base_funded = set(funded_ids(base))
    bars = []
    for n, item in enumerate(inputs):
        low, high = solved[2 * n], solved[2 * n + 1]
        changes = lambda s: len(set(funded_ids(s.plan)) ^ base_funded) if s.feasible else 0  # noqa: E731
        bars.append(TornadoBar(item.label, item.kind, item.low, item.high, low.plan.npv if low.feasible else None,
                               high.plan.npv if high.feasible else None, base.npv, changes(low), changes(high)))
    bars.sort(key=lambda b: (-b.swing, b.input))
    return Tornado(rules.name, applied.settings.currency, base.npv, tuple(bars))


def _sensitivity_inputs(applied: Portfolio, rules: Scenario, base: Plan, top: int, budget_change: float, rate_change: float,
                        cost_change: float, capacity_change: float) -> list[_Input]:
    def pair(portfolio_low: Portfolio, rules_low: Scenario, portfolio_high: Portfolio, rules_high: Scenario,
             fits: tuple[bool, bool] = (False, True)) -> tuple[Solve, Solve]:
        # The base plan is a first incumbent only where it still fits: more money or time,
        # or other estimates under the same constraints (a hurdle could break with them).
        return (Solve(portfolio_low, rules_low, base if fits[0] else None),
                Solve(portfolio_high, rules_high, base if fits[1] else None))

    same_constraints = (rules.roi_hurdle is None,) * 2

    inputs = []
    ranked = sorted(base.funded, key=lambda d: (-d.npv, d.experience.id))
    for decision in [d for d in ranked if d.experience.uplift_base > 0][:top]:
        e = decision.experience
        low, high = e.uplift_low / e.uplift_base, e.uplift_high / e.uplift_base
        if low == high == 1.0:
            continue
        inputs.append(_Input(f"{e.id} uplift", "uplift", f"{e.uplift_low:.2%}", f"{e.uplift_high:.2%}",
                             pair(applied, with_adjustment(rules, e.id, uplift=low), applied, with_adjustment(rules, e.id, uplift=high),
                                  same_constraints)))
    inputs.append(_Input("budget", "budget", f"-{budget_change:.0%}", f"+{budget_change:.0%}",
                         pair(scaled_budget(applied, 1 - budget_change), rules, scaled_budget(applied, 1 + budget_change), rules)))
    rate = applied.settings.annual_discount_rate
    # A lower rate makes future benefits worth more: the "low" end of the bar is the lower rate.
    rate_low, rate_high = max(0.0, rate - rate_change), rate + rate_change
    inputs.append(_Input("discount rate", "discount rate", f"{rate_low:.1%}", f"{rate_high:.1%}",
                         pair(_with_rate(applied, rate_low), rules, _with_rate(applied, rate_high), rules, same_constraints)))
    inputs.append(_Input("all costs", "costs", f"-{cost_change:.0%}", f"+{cost_change:.0%}",
                         pair(applied, with_adjustment(rules, cost=1 - cost_change), applied, with_adjustment(rules, cost=1 + cost_change),
                              (False, False))))
    inputs.append(_Input("all teams' capacity", "capacity", f"-{capacity_change:.0%}", f"+{capacity_change:.0%}",
                         pair(_with_capacity(applied, 1 - capacity_change), rules, _with_capacity(applied, 1 + capacity_change), rules)))
    inputs.append(_Input("every uplift", "all uplifts", "low estimates", "high estimates",
                         pair(applied, replace(rules, uplift_estimate="low"), applied, replace(rules, uplift_estimate="high"), same_constraints)))
    return inputs


def _with_rate(portfolio: Portfolio, rate: float) -> Portfolio:
    return replace(portfolio, settings=replace(portfolio.settings, annual_discount_rate=rate))


def _with_capacity(portfolio: Portfolio, factor: float) -> Portfolio:
    return replace(portfolio, teams=tuple(replace(t, capacity=tuple(c * factor for c in t.capacity)) for t in portfolio.teams))
