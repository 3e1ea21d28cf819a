"""The what-if reports: report models of a frontier, a comparison, explanations and a tornado.

Each builder turns an analysis result (`planner.analysis.frontier`, `planner.analysis.variants`,
`planner.analysis.explain`) into an ordinary `planner.reports.plan_report.Report` of plain frozen dataclasses,
numbers and labels only, with its own `kind`; the renderers lay it out with
templates/<kind>.html.j2 and templates/<kind>.xlsx, and the sections with
templates/sections/<key>.html.j2, exactly as for a plan's report:

- `build_frontier_report(frontier, portfolio, chosen)` (kind "frontier"): the summary, the chart (and
  the HTML's budget slider), the points (with the scenario's own plan, "the chosen point",
  placed among them) and the portfolio funded at each point;
- `build_comparison_report(comparison)` (kind "compare"): totals side by side (a scenario whose
  assumptions differ from the reference's flagged: not like for like), the experiences funded
  in one and not another and the option and timing changes, each with its spend and NPV effect
  and the reason, spend shifts by journey stage, channel, product line, layer and quarter;
- `build_explanations_report(explanations, plan)` (kind "explanations"): why each
  experience is in or out and what would change it;
- `build_tornado_report(tornado, plan)` (kind "tornado"): which inputs move the NPV most.

Writing the files (<kind>.html, <kind>.xlsx and <kind>.csv, the analysis's own rows) is
`planner.publish`'s job.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from planner.analysis.compare import Comparison
from planner.analysis.variants import Tornado, effective_budget, funded_ids
from planner.core.domain import Portfolio, quarter_labels
from planner.core.glossary import glossary
from planner.analysis.explain import Explanation, Explanations
from planner.analysis.frontier import Frontier, FrontierPoint, budget_marginal_value
from planner.optimise.plan import Plan
from planner.reports.plan_report import Report, Section, plain_number, share_of
from planner.inputs.scenario import DIMENSIONS

# Two budgets closer than this (relative) are the same point.
SAME_BUDGET = 1e-9


@dataclass(frozen=True)
class ExperienceLabel:
    """What a reader needs to recognise an experience in a list of ids."""

    id: str
    name: str
    journey_stage: str
    channel: str
    product_line: str
    layer: str
    team: str


# ---------------------------------------------------------------------------------------
# The frontier


@dataclass(frozen=True)
class FrontierRow:
    """One budget on the frontier; `marginal_npv` is NPV per extra unit of budget since the feasible row above.

    `chosen` marks the scenario's own budget (its plan, solved as `planner plan` would),
    `knee` the point past which money buys less and less. Money is None where no plan was found.
    """

    budget: float
    scale: float
    status: str
    npv: float | None
    pv_cost: float | None
    roi: float | None
    spend: float | None
    marginal_npv: float | None
    lp_marginal: float | None
    gap: float | None
    funded: tuple[str, ...]
    entered: tuple[str, ...]
    left: tuple[str, ...]
    knee: bool
    chosen: bool
    carried_from: float | None

    @property
    def feasible(self) -> bool:
        return self.npv is not None

    @property
    def funded_count(self) -> int:
        return len(self.funded)

    @property
    def mark(self) -> str:
        """"scenario budget", "knee", both, or ""."""
        return " and ".join(label for label, on in (("scenario budget", self.chosen), ("knee", self.knee)) if on)


@dataclass(frozen=True)
class FrontierSummary:
    """The headline: the range of budgets, the knee, the chosen point and what the next unit of budget buys."""

    title: str
    scenario: str
    currency: str
    first_quarter: str
    last_quarter: str
    lowest_budget: float
    saturation_budget: float
    best_npv: float | None
    points: int
    infeasible_points: int
    not_proven_optimal: int
    chosen_budget: float
    chosen_npv: float | None  # None: no plan meets the rules at the scenario's budget
    chosen_roi: float | None
    chosen_spend: float | None
    chosen_funded: int | None
    chosen_status: str
    chosen_lp_marginal: float | None
    next_budget: float | None
    next_npv: float | None
    next_marginal_npv: float | None
    knee_budget: float | None
    knee_npv: float | None
    knee_roi: float | None

    @property
    def share_of_best(self) -> float | None:
        """The chosen point's NPV as a share of the most NPV any budget buys."""
        if self.chosen_npv is None or not self.best_npv or self.best_npv <= 0:
            return None
        return self.chosen_npv / self.best_npv



@dataclass(frozen=True)
class PortfolioRow:
    """One experience funded at one point (long form, for the Excel sheet and readers without JavaScript)."""

    point: int
    budget: float
    npv: float
    experience: ExperienceLabel
    entered: bool


@dataclass(frozen=True)
class FrontierView:
    """The frontier's points in budget order, the experiences they name, and where the chosen point and knee sit."""

    summary: FrontierSummary
    points: tuple[FrontierRow, ...]
    experiences: tuple[ExperienceLabel, ...]

    @property
    def feasible(self) -> tuple[FrontierRow, ...]:
        return tuple(p for p in self.points if p.feasible)

    @property
    def chosen_index(self) -> int:
        return next(n for n, p in enumerate(self.points) if p.chosen)

    @property
    def knee_index(self) -> int | None:
        return next((n for n, p in enumerate(self.points) if p.knee), None)

    def experience(self, experience_id: str) -> ExperienceLabel:
        return self._by_id[experience_id]

    @cached_property
    def _by_id(self) -> dict[str, ExperienceLabel]:
        return {e.id: e for e in self.experiences}

    @property
    def ever_funded(self) -> tuple[ExperienceLabel, ...]:
        """Every experience funded at some point, in the order they first enter as the budget grows."""
        order: dict[str, None] = {}
        for point in self.feasible:
            order.update(dict.fromkeys(sorted(point.funded, key=self._input_order.__getitem__)))
        return tuple(self._by_id[i] for i in order)

    @cached_property
    def _input_order(self) -> dict[str, int]:
        return {e.id: n for n, e in enumerate(self.experiences)}

    @property
    def portfolio_rows(self) -> tuple[PortfolioRow, ...]:
        by_id = self._by_id
        return tuple(PortfolioRow(n, p.budget, p.npv, by_id[i], i in p.entered)
                     for n, p in enumerate(self.points) if p.feasible for i in p.funded)


def build_frontier_report(frontier: Frontier, portfolio: Portfolio, chosen: Plan | None, status: str = "infeasible") -> Report:
    """The frontier report of the portfolio as the scenario sees it (`as_seen_by`).

    `chosen` is the scenario's own plan, placed among the points at the scenario's budget;
    None when no plan meets the rules there (`status` says why), which the frontier still
    shows: how much budget the scenario would need.
    """
    points = frontier_rows(frontier, effective_budget(portfolio), chosen, status)
    view = FrontierView(frontier_summary(frontier, portfolio, points), points, experience_labels(portfolio))
    sections = (
        Section("frontier_summary", "Executive summary", view.summary),
        Section("frontier", "NPV against budget", view),
        Section("frontier_points", "Every budget planned", view),
        Section("frontier_portfolios", "The portfolio at each budget", view),
        Section("glossary", "Glossary", glossary("frontier")),
    )
    return Report(view.summary.title, frontier.currency, sections, kind="frontier")


def experience_labels(portfolio: Portfolio) -> tuple[ExperienceLabel, ...]:
    return tuple(ExperienceLabel(e.id, e.name, e.journey_stage, e.channel, e.product_line, e.layer, e.team) for e in portfolio.experiences)


def frontier_rows(frontier: Frontier, budget: float, chosen: Plan | None, status: str = "infeasible") -> tuple[FrontierRow, ...]:
    """The frontier's points with the chosen plan among them at `budget`; entered, left and marginal NPV between feasible rows."""
    scale = budget / frontier.scenario_budget if frontier.scenario_budget else 1.0
    if chosen is None:
        mine = FrontierPoint(budget, scale, status, None, None, None, None, (), (), (), None, None, None)
    else:
        mine = FrontierPoint(budget, scale, chosen.solve.status, chosen.npv, chosen.pv_cost, chosen.roi, chosen.total_spend,
                             funded_ids(chosen), (), (), None, budget_marginal_value(chosen, budget), chosen.solve.gap)
    points = [p for p in frontier.points if not math.isclose(p.budget, budget, rel_tol=SAME_BUDGET)] + [mine]
    rows: list[FrontierRow] = []
    previous: FrontierRow | None = None
    for point in sorted(points, key=lambda p: p.budget):
        below = previous if point.feasible else None
        funded, before = set(point.funded), set(below.funded) if below else set()
        row = FrontierRow(
            budget=float(point.budget), scale=float(point.scale), status=point.status, npv=plain_number(point.npv),
            pv_cost=plain_number(point.pv_cost), roi=plain_number(point.roi), spend=plain_number(point.spend),
            marginal_npv=(point.npv - below.npv) / (point.budget - below.budget) if below and point.budget > below.budget else None,
            lp_marginal=plain_number(point.budget_marginal_value), gap=plain_number(point.gap), funded=tuple(point.funded),
            entered=tuple(i for i in point.funded if i not in before) if below else (),
            left=tuple(i for i in below.funded if i not in funded) if below else (),
            knee=frontier.knee_budget is not None and math.isclose(point.budget, frontier.knee_budget, rel_tol=SAME_BUDGET),
            chosen=point is mine, carried_from=plain_number(point.carried_from),
        )
        rows.append(row)
        if row.feasible:
            previous = row
    return tuple(rows)


def frontier_summary(frontier: Frontier, portfolio: Portfolio, points: Sequence[FrontierRow]) -> FrontierSummary:
    feasible = [p for p in points if p.feasible]
    mine = next(n for n, p in enumerate(points) if p.chosen)
    chosen = points[mine]
    after = next((p for p in points[mine + 1:] if p.feasible), None) if chosen.feasible else None
    knee = next((p for p in points if p.knee), None)
    labels = quarter_labels(portfolio.settings)
    return FrontierSummary(
        title=f"Efficient frontier: {frontier.scenario}", scenario=frontier.scenario, currency=frontier.currency,
        first_quarter=labels[0], last_quarter=labels[-1],
        lowest_budget=float(frontier.lowest_budget), saturation_budget=float(frontier.saturation_budget),
        best_npv=max((p.npv for p in feasible), default=None), points=len(points),
        infeasible_points=len(points) - len(feasible), not_proven_optimal=sum(1 for p in feasible if p.status != "optimal"),
        chosen_budget=chosen.budget, chosen_npv=chosen.npv, chosen_roi=chosen.roi, chosen_spend=chosen.spend,
        chosen_funded=chosen.funded_count if chosen.feasible else None, chosen_status=chosen.status,
        chosen_lp_marginal=chosen.lp_marginal,
        next_budget=after.budget if after else None, next_npv=after.npv if after else None,
        next_marginal_npv=after.marginal_npv if after else None,
        knee_budget=knee.budget if knee else None, knee_npv=knee.npv if knee else None, knee_roi=knee.roi if knee else None,
    )


# ---------------------------------------------------------------------------------------
# The comparison


@dataclass(frozen=True)
class ScenarioColumn:
    """One scenario's totals, and the change from the reference (the first scenario)."""

    name: str
    reference: bool
    budget: float
    spend: float
    pv_cost: float
    npv: float
    roi: float | None
    funded: int
    status: str
    npv_change: float
    spend_change: float
    entered: int
    left: int
    changed: int = 0  # funded in both at another option or start
    assumptions: tuple[str, ...] = ()  # what it assumes differently from the reference: not like for like

    @property
    def like_for_like(self) -> bool:
        return not self.assumptions

    @property
    def budget_used(self) -> float | None:
        return share_of(self.spend, self.budget)


@dataclass(frozen=True)
class ComparisonSummary:
    title: str
    reference: str
    currency: str
    scenarios: tuple[ScenarioColumn, ...]
    differences: int

    @property
    def others(self) -> tuple[ScenarioColumn, ...]:
        return self.scenarios[1:]

    @property
    def not_like_for_like(self) -> tuple[ScenarioColumn, ...]:
        return tuple(c for c in self.scenarios if not c.like_for_like)


@dataclass(frozen=True)
class ShiftRow:
    """Spend on one value of a dimension (a journey stage, a quarter) in one scenario against the reference."""

    dimension: str
    value: str
    scenario: str
    reference_spend: float
    spend: float

    @property
    def change(self) -> float:
        return self.spend - self.reference_spend


@dataclass(frozen=True)
class ShiftTable:
    """Spend by the values of one dimension: a row per value, a column per scenario (reference first)."""

    dimension: str
    label: str
    scenarios: tuple[str, ...]
    values: tuple[str, ...]
    spend: tuple[tuple[float, ...], ...]

    @property
    def rows(self) -> tuple[ShiftRow, ...]:
        """Long form: each value in each scenario after the reference, with the reference's spend."""
        return tuple(ShiftRow(self.dimension, value, scenario, spend[0], spend[n])
                     for n, scenario in enumerate(self.scenarios) if n > 0 for value, spend in zip(self.values, self.spend))

    @property
    def largest_change(self) -> float:
        return max((abs(s - row[0]) for row in self.spend for s in row[1:]), default=0.0)

    @property
    def moved(self) -> bool:
        return self.largest_change > 1e-6

    def column(self, n: int) -> tuple[float, ...]:
        return tuple(row[n] for row in self.spend)


@dataclass(frozen=True)
class Shifts:
    journey_stage: ShiftTable
    channel: ShiftTable
    product_line: ShiftTable
    layer: ShiftTable
    quarter: ShiftTable

    @property
    def tables(self) -> tuple[ShiftTable, ...]:
        return (self.journey_stage, self.channel, self.product_line, self.layer, self.quarter)


def build_comparison_report(comparison: Comparison, reference: Plan | None = None) -> Report:
    """The comparison report; everything is relative to the first scenario, the reference.

    With the reference's plan, journey stages, channels and product lines come in the order
    its inputs name them (journeys read left to right); otherwise alphabetically.
    """
    summary = comparison_summary(comparison)
    sections = (
        Section("compare_summary", "Totals side by side", summary),
        Section("differences", "Experiences funded in one and not the other", comparison.differences),
        Section("choice_changes", "Option and timing changes", comparison.choice_changes),
        Section("shifts", "Where the spend moves", build_shifts(comparison, reference)),
        Section("glossary", "Glossary", glossary("compare")),
    )
    return Report(summary.title, comparison.currency, sections, kind="compare")


def comparison_summary(comparison: Comparison) -> ComparisonSummary:
    reference = comparison.totals[0]
    columns = []
    for n, totals in enumerate(comparison.totals):
        mine = [d for d in comparison.differences if d.other == totals.name]
        changed = sum(1 for c in comparison.choice_changes if c.other == totals.name)
        columns.append(ScenarioColumn(
            name=totals.name, reference=n == 0, budget=float(totals.budget), spend=float(totals.spend), pv_cost=float(totals.pv_cost),
            npv=float(totals.npv), roi=plain_number(totals.roi), funded=totals.funded, status=totals.status,
            npv_change=float(totals.npv - reference.npv), spend_change=float(totals.spend - reference.spend),
            entered=sum(1 for d in mine if d.change == "entered"), left=sum(1 for d in mine if d.change == "left"),
            changed=changed, assumptions=totals.assumptions,
        ))
    title = f"Scenario comparison: {' vs '.join(comparison.scenarios)}"
    return ComparisonSummary(title, comparison.scenarios[0], comparison.currency, tuple(columns), len(comparison.differences))


SHIFT_LABELS = {"journey_stage": "journey stage", "channel": "channel", "product_line": "product line", "layer": "layer", "quarter": "quarter"}


def build_shifts(comparison: Comparison, reference: Plan | None = None) -> Shifts:
    tables = {}
    for dimension in (*DIMENSIONS, "quarter"):
        shifts = [s for s in comparison.shifts if s.dimension == dimension]
        if reference is not None and dimension != "quarter":
            rank = {value: n for n, value in enumerate(dict.fromkeys(getattr(e, dimension) for e in reference.portfolio.experiences))}
            shifts.sort(key=lambda s: (rank.get(s.value, len(rank)), s.value))
        tables[dimension] = ShiftTable(dimension, SHIFT_LABELS.get(dimension, dimension.replace("_", " ")), comparison.scenarios,
                                       tuple(s.value for s in shifts), tuple(tuple(float(v) for v in s.spend) for s in shifts))
    return Shifts(**tables)


# ---------------------------------------------------------------------------------------
# Explanations


@dataclass(frozen=True)
class KindCount:
    kind: str
    funded: bool
    count: int


@dataclass(frozen=True)
class ExplanationSummary:
    title: str
    scenario: str
    currency: str
    first_quarter: str
    last_quarter: str
    plan_npv: float
    plan_spend: float
    budget: float
    experiences: int
    funded: int
    searched: bool
    kinds: tuple[KindCount, ...]

    @property
    def not_funded(self) -> int:
        return self.experiences - self.funded


def build_explanations_report(explanations: Explanations, plan: Plan) -> Report:
    """Why each experience is in or out: the experiences left out first (closest to entering first), then the funded."""
    items = explanations.items
    out = tuple(sorted((e for e in items if not e.funded), key=_closest_first))
    funded = tuple(sorted((e for e in items if e.funded), key=lambda e: (-(e.npv_loss if e.npv_loss is not None else -math.inf),
                                                                        -(e.npv or 0.0), e.experience_id)))
    kinds: dict[tuple[str, bool], int] = {}
    for e in items:
        kinds[(e.kind, e.funded)] = kinds.get((e.kind, e.funded), 0) + 1
    summary = ExplanationSummary(
        title=f"Why in, why out: {explanations.scenario}", scenario=explanations.scenario, currency=explanations.currency,
        first_quarter=plan.quarters[0], last_quarter=plan.quarters[-1], plan_npv=float(explanations.plan_npv),
        plan_spend=float(plan.total_spend), budget=float(effective_budget(plan.portfolio)), experiences=len(items),
        funded=len(funded), searched=explanations.searched,
        kinds=tuple(KindCount(k, f, n) for (k, f), n in sorted(kinds.items(), key=lambda kv: (kv[0][1], -kv[1], kv[0][0]))),
    )
    sections = (
        Section("explain_summary", "Executive summary", summary),
        Section("why_not_funded", "Why not funded, and what it would take", out),
        Section("why_funded", "Why funded, and what each is worth to the plan", funded),
        Section("glossary", "Glossary", glossary("explanations")),
    )
    return Report(summary.title, explanations.currency, sections, kind="explanations")


def _closest_first(e: Explanation) -> tuple:
    """Experiences that need the smallest change to enter first; those no change brings in last."""
    uplift = e.uplift_to_enter if e.uplift_to_enter is not None else math.inf
    return (uplift, e.kind, e.experience_id)


# ---------------------------------------------------------------------------------------
# The tornado


@dataclass(frozen=True)
class TornadoSummary:
    title: str
    scenario: str
    currency: str
    first_quarter: str
    last_quarter: str
    base_npv: float
    inputs: int
    widest: str | None
    widest_swing: float | None
    worst_input: str | None
    worst_change: float | None
    best_input: str | None
    best_change: float | None
    without_plan: tuple[str, ...]  # inputs at one end of which no plan meets the rules
    unproven: tuple[str, ...]  # "all costs at -20% (gap 4.32%)": ends whose NPV is the best plan found, not the optimum


def build_tornado_report(result: Tornado, plan: Plan) -> Report:
    """The tornado report: the inputs that move the plan's NPV most, widest swing first."""
    bars = result.bars
    finite = [b for b in bars if math.isfinite(b.swing)]
    ends = [(b.input, change) for b in bars for change in (b.change_low, b.change_high) if change is not None]
    worst = min(ends, key=lambda e: e[1], default=None)
    best = max(ends, key=lambda e: e[1], default=None)
    summary = TornadoSummary(
        title=f"What moves the NPV: {result.scenario}", scenario=result.scenario, currency=result.currency,
        first_quarter=plan.quarters[0], last_quarter=plan.quarters[-1], base_npv=float(result.base_npv), inputs=len(bars),
        widest=finite[0].input if finite else None, widest_swing=float(finite[0].swing) if finite else None,
        worst_input=worst[0] if worst else None, worst_change=float(worst[1]) if worst else None,
        best_input=best[0] if best else None, best_change=float(best[1]) if best else None,
        without_plan=tuple(b.input for b in bars if not math.isfinite(b.swing)),
        unproven=tuple(f"{b.input} at {value}" + ("" if gap is None else f" (gap {gap:.2%})")
                       for b in bars for value, gap in b.unproven_values),
    )
    sections = (
        Section("tornado_summary", "Executive summary", summary),
        Section("tornado", "NPV with each input at its low and its high value", bars),
        Section("glossary", "Glossary", glossary("tornado")),
    )
    return Report(summary.title, result.currency, sections, kind="tornado")
