"""Scenarios side by side: totals, who enters and leaves, option and timing changes, spend shifts.

`compare_plans(plans, names)` compares plans of the same workbook under different scenarios;
the first is the reference. Everything is relative to it:

- totals per scenario, each flagged when its assumptions differ from the reference's
  (`ScenarioTotals.assumptions`: estimate multipliers, the uplift estimate used, the discount
  rate, the horizon, another workbook): its NPV then rests on other estimates, and comparing
  it with the reference's is not like for like (planner.core.glossary, "Like for like");
- `Difference`: an experience funded under one scenario and not the other, with every reason
  that applies;
- `ChoiceChange`: an experience funded under both at another option or start quarter, with
  its spend and NPV effect and the reason;
- `Shift`: spend by journey stage, channel, product line, layer and quarter.

`plan_scenarios` plans each scenario through the shared executor (`planner.analysis.variants`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planner.analysis.variants import Solve, choice_text, decision_of, effective_budget, funded_ids, run_solves
from planner.core.domain import Experience, Portfolio, normalise_id
from planner.core.errors import InfeasibleError, SolverError
from planner.core.executor import Progress
from planner.inputs.scenario import DIMENSIONS, Scenario
from planner.core.formatting import money
from planner.optimise.plan import Plan



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
    spend_reference: float = 0.0  # over the horizon; 0 where it is not funded
    spend_other: float = 0.0

    @property
    def spend_change(self) -> float:
        return self.spend_other - self.spend_reference

    @property
    def npv_change(self) -> float:
        return self.npv_other - self.npv_reference


@dataclass(frozen=True)
class ChoiceChange:
    """An experience funded under both scenarios at another option or start quarter, with its spend and NPV effect.

    `kind` is "option changed", "moved" or "option changed, moved"; choices read "option from
    start quarter"; spend is over each plan's horizon, NPV the experience's in each plan.
    """

    experience_id: str
    name: str
    other: str
    kind: str
    reference_choice: str
    other_choice: str
    spend_reference: float
    spend_other: float
    npv_reference: float
    npv_other: float
    reason: str

    @property
    def spend_change(self) -> float:
        return self.spend_other - self.spend_reference

    @property
    def npv_change(self) -> float:
        return self.npv_other - self.npv_reference


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
    # What this scenario assumes differently from the reference (estimates, rate, horizon, workbook):
    # empty when its totals compare like for like with the reference's.
    assumptions: tuple[str, ...] = ()

    @property
    def like_for_like(self) -> bool:
        return not self.assumptions


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
    choice_changes: tuple[ChoiceChange, ...] = ()

    def to_rows(self) -> list[dict[str, Any]]:
        """One CSV: section total / difference / option or timing change / shift; a column per scenario.

        Differences and option or timing changes carry their spend and NPV effect
        (`spend_change`, `npv_change`: the scenario's less the reference's).
        """
        rows: list[dict[str, Any]] = []

        def row(section: str, item: str, name: str, values: Sequence[Any], reason: str = "", change: str = "",
                spend_change: float | None = None, npv_change: float | None = None) -> None:
            rows.append({"section": section, "item": item, "name": name, **dict(zip(self.scenarios, values)),
                         "change": change, "spend_change": spend_change, "npv_change": npv_change, "reason": reason})

        for measure in ("npv", "pv_cost", "roi", "spend", "budget", "funded", "status"):
            row("total", measure, "", [getattr(t, measure) for t in self.totals])
        row("total", "like for like", "", ["yes" if t.like_for_like else "no" for t in self.totals])
        row("total", "assumptions that differ", "", ["; ".join(t.assumptions) for t in self.totals])
        for d in self.differences:
            values = [d.reference_choice if n == 0 else (d.other_choice if name == d.other else "") for n, name in enumerate(self.scenarios)]
            row("difference", d.experience_id, d.name, values, d.reason, f"{d.change} in {d.other}", d.spend_change, d.npv_change)
        for c in self.choice_changes:
            values = [c.reference_choice if n == 0 else (c.other_choice if name == c.other else "") for n, name in enumerate(self.scenarios)]
            row("option or timing change", c.experience_id, c.name, values, c.reason, f"{c.kind} in {c.other}", c.spend_change, c.npv_change)
        for s in self.shifts:
            row(f"spend by {s.dimension.replace('_', ' ')}", s.value, "", list(s.spend))
        return rows


def compare_plans(plans: Sequence[Plan], names: Sequence[str] | None = None) -> Comparison:
    """Compare plans of the same workbook under different scenarios; the first is the reference."""
    names = tuple(names or (p.scenario.name for p in plans))
    reference = plans[0]
    differences, choice_changes = [], []
    for plan, name in zip(plans[1:], names[1:]):
        differences += _differences(reference, plan, names[0], name)
        choice_changes += _choice_changes(reference, plan, name)
    return Comparison(
        scenarios=names,
        currency=reference.portfolio.settings.currency,
        totals=tuple(ScenarioTotals(n, p.npv, p.pv_cost, p.roi, p.total_spend, effective_budget(p.portfolio), len(p.funded), p.solve.status,
                                    assumptions(reference, p) if k else ())
                     for k, (p, n) in enumerate(zip(plans, names))),
        differences=tuple(differences),
        shifts=tuple(_shifts(plans)),
        choice_changes=tuple(choice_changes),
    )


def assumptions(reference: Plan, other: Plan) -> tuple[str, ...]:
    """What `other` assumes that the reference does not: its NPV then rests on other estimates (not like for like).

    Budgets, capacity and rules are what a comparison compares; estimate multipliers, the
    uplift estimate, the discount rate, the horizon and the workbook are assumptions.
    """
    out = []
    known = set(reference.scenario.adjustments)
    for adjustment in other.scenario.adjustments:
        if adjustment in known:
            continue
        factors = [f"{label} x{value:.2f}" for label, value in (("uplift", adjustment.uplift), ("cost", adjustment.cost),
                                                                ("reach", adjustment.reach), ("value", adjustment.value)) if value != 1.0]
        if factors:
            out.append(f"{', '.join(factors)} on {adjustment.where.describe()}")
    out += [f"{adjustment.where.describe()} no longer adjusted" for adjustment in reference.scenario.adjustments
            if adjustment not in set(other.scenario.adjustments)]
    if other.scenario.uplift_estimate != reference.scenario.uplift_estimate:
        out.append(f"{other.scenario.uplift_estimate} uplift estimates (the reference: {reference.scenario.uplift_estimate})")
    a, b = reference.portfolio.settings, other.portfolio.settings
    if abs(a.annual_discount_rate - b.annual_discount_rate) > 1e-12:
        out.append(f"discount rate {b.annual_discount_rate:.1%} (the reference: {a.annual_discount_rate:.1%})")
    if (a.first_quarter, a.horizon_quarters, a.tail_quarters) != (b.first_quarter, b.horizon_quarters, b.tail_quarters):
        out.append(f"horizon {b.first_quarter} + {b.horizon_quarters} quarters (the reference: {a.first_quarter} + {a.horizon_quarters})")
    if reference.portfolio.source_sha256 != other.portfolio.source_sha256:
        out.append(f"another workbook ({Path(other.portfolio.source).name or 'in memory'})")
    return tuple(out)


def _choice_changes(reference: Plan, other: Plan, b: str) -> list[ChoiceChange]:
    """Experiences funded under both plans at another option or start quarter."""
    after = {d.experience.key: d for d in other.funded}
    out = []
    for old in reference.funded:
        new = after.get(old.experience.key)
        if new is None or (old.option, old.start_quarter) == (new.option, new.start_quarter):
            continue
        kind = ", ".join(k for k, on in (("option changed", old.option != new.option), ("moved", old.start_quarter != new.start_quarter)) if on)
        out.append(ChoiceChange(old.experience.id, old.experience.name, b, kind, choice_text(reference, old), choice_text(other, new),
                                float(old.total_spend), float(new.total_spend), float(old.npv), float(new.npv),
                                "; ".join(_choice_reasons(reference, other, old, new, b))))
    return sorted(out, key=lambda c: (c.other, -abs(c.npv_change), c.experience_id))


def _choice_reasons(reference: Plan, other: Plan, old, new, b: str) -> list[str]:
    """Why an experience takes another option or start: its own estimates, the budget, its team's capacity, balance rules."""
    currency = reference.portfolio.settings.currency
    experience = new.experience
    reasons = []
    for adjustment in other.scenario.adjustments:
        if adjustment.where.matches(experience) and adjustment not in set(reference.scenario.adjustments):
            reasons.append(f"{b}'s adjustment ({adjustment.where.describe()}) changes its estimates")
    old_budget, new_budget = effective_budget(reference.portfolio), effective_budget(other.portfolio)
    saved = old.total_spend - new.total_spend
    if new_budget < old_budget * (1 - 1e-9) and saved > 0.5:
        cheaper = f"{new.option} costs {money(saved, currency)} less" if old.option != new.option else f"it spends {money(saved, currency)} less"
        reasons.append(f"{b}'s budget cut ({money(old_budget, currency)} -> {money(new_budget, currency)}): {cheaper}")
    if new_budget > old_budget * (1 + 1e-9) and saved < -0.5:
        reasons.append(f"{b}'s extra budget ({money(old_budget, currency)} -> {money(new_budget, currency)}) pays for {new.option}")
    team_before = sum(reference.portfolio.team(experience.team).capacity)
    team_after = sum(other.portfolio.team(experience.team).capacity)
    if abs(team_after - team_before) > 1e-9:
        reasons.append(f"{b} {'cut' if team_after < team_before else 'raised'} {experience.team}'s capacity")
    for rule in other.scenario.balance:
        if rule not in set(reference.scenario.balance) and rule.min_share is not None:
            reasons.append(f"{b}'s balance rule (at least {rule.min_share:.0%} of spend on {rule.label})")
    if not reasons:
        moved = "moves it" if old.start_quarter != new.start_quarter else "changes its option"
        reasons.append(f"re-optimised: {b}'s plan {moved} to get more NPV from the money and team time")
    return reasons


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
                              choice_text(other, new), float(old.npv) if old.funded else 0.0, float(new.npv) if new.funded else 0.0,
                              "; ".join(reasons), float(old.total_spend) if old.funded else 0.0,
                              float(new.total_spend) if new.funded else 0.0))
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
