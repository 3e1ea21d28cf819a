"""The report model of a plan: a renderer-neutral picture of it, and the Report and Section types every report kind uses.

`build_report(plan)` turns a Plan into plain frozen dataclasses holding numbers, labels and
flags, never formatted text. The HTML renderer (`planner.render.html`) and the Excel renderer
(`planner.render.xlsx`) read only this model, so a number means the same in both. A report is an
ordered tuple of sections (`Section(key, title, data)`); other analyses (scenario
comparisons, frontiers, roll-forwards) add sections with new keys, and each renderer finds
the layout for a key in templates/ (the HTML partial `templates/sections/<key>.html.j2`, the
Excel sheets naming the key in their expressions).

The model holds what the plan says, not how long it took to find: solve times go to the
CLI's output and plan.json, so the same plan gives the same report bytes. Writing the files
is `planner.publish`'s job.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from planner.core.glossary import glossary
from planner.core.domain import Experience, Portfolio, quarter_first_day, quarter_label
from planner.analysis.bundles import Bundle, members_of_bundles
from planner.optimise.plan import Decision, Plan, RuleUse
from planner.reports.experience_view import build_experience_view, label_of, stage_order


def share_of(part: float, whole: float) -> float | None:
    """part / whole, or None where the whole is zero (no budget, no capacity): a share of nothing is undefined."""
    return part / whole if whole > 0 else None


@dataclass(frozen=True)
class ExperienceRow:
    """One experience as the plan treats it; quarters are labels ("2027Q1"), None if not funded."""

    id: str
    name: str
    journey_stage: str
    channel: str
    product_line: str
    layer: str
    team: str
    mandatory: bool
    funded: bool
    option: str | None
    start_quarter: str | None
    go_live_quarter: str | None
    total_spend: float
    pv_benefit: float
    pv_cost: float
    npv: float
    roi: float | None
    payback_quarter: str | None
    reason: str
    journey: str = ""
    owner: str = ""
    # The enablers, not funded, whose bundle this experience belongs to (itself when it is
    # one): its reason is what the bundle as a whole would return, not a member pointing
    # at another member.
    bundles: tuple[str, ...] = ()


@dataclass(frozen=True)
class Summary:
    """The headline numbers an executive reads first."""

    title: str
    scenario: str
    currency: str
    first_quarter: str
    last_quarter: str
    experiences: int
    funded: int
    budget: float
    spend: float
    pv_benefit: float
    pv_cost: float
    npv: float
    roi: float | None
    payback_quarter: str | None
    greedy_npv: float
    greedy_spend: float
    greedy_funded: int
    greedy_feasible: bool
    gain_over_greedy: float
    gain_share: float | None
    solver: str
    status: str
    proven_optimal: bool
    gap: float | None

    @property
    def budget_used(self) -> float | None:
        return share_of(self.spend, self.budget)


@dataclass(frozen=True)
class QuarterRow:
    """Money in one quarter: what the budget allows, what the plan spends, and what comes back."""

    quarter: str
    budget: float
    spend: float
    headroom: float
    benefit: float
    net: float
    cumulative_net: float


@dataclass(frozen=True)
class TeamQuarter:
    """One team's attention in one quarter, in team-weeks."""

    team: str
    quarter: str
    capacity: float
    used: float

    @property
    def share(self) -> float | None:
        return share_of(self.used, self.capacity)


@dataclass(frozen=True)
class TeamAttention:
    """One team over the horizon: its quarters and its totals."""

    team: str
    quarters: tuple[TeamQuarter, ...]
    capacity: float
    used: float

    @property
    def share(self) -> float | None:
        return share_of(self.used, self.capacity)


@dataclass(frozen=True)
class Attention:
    """Attention by team: each team's quarters and totals, and every (team, quarter) in one list."""

    teams: tuple[TeamAttention, ...]

    @property
    def by_quarter(self) -> tuple[TeamQuarter, ...]:
        return tuple(quarter for team in self.teams for quarter in team.quarters)


@dataclass(frozen=True)
class Grid:
    """A two-way table of one measure, e.g. spend by journey stage (rows) x channel (columns)."""

    measure: str
    row_dimension: str
    column_dimension: str
    rows: tuple[str, ...]
    columns: tuple[str, ...]
    values: tuple[tuple[float, ...], ...]

    @property
    def row_totals(self) -> tuple[float, ...]:
        return tuple(sum(row) for row in self.values)

    @property
    def column_totals(self) -> tuple[float, ...]:
        return tuple(sum(column) for column in zip(*self.values)) if self.values else ()

    @property
    def total(self) -> float:
        return sum(self.row_totals)


@dataclass(frozen=True)
class MapCell:
    """One combination of two dimensions (long form of a Grid), for tables finance can pivot."""

    row: str
    column: str
    funded: int
    spend: float
    npv: float


@dataclass(frozen=True)
class ExperienceMap:
    """Where spend and value land: journey stage x channel, and product line x journey stage."""

    spend_by_stage_channel: Grid
    npv_by_stage_channel: Grid
    spend_by_product_stage: Grid
    npv_by_product_stage: Grid
    stage_channel: tuple[MapCell, ...]
    product_lines: tuple[MapCell, ...]
    # The cells add up the funded experiences' own NPVs; the plan's NPV also takes off the
    # benefit overlap groups would count twice and adds the cost of capacity bought (plan.costs).
    cells_npv: float = 0.0
    plan_npv: float = 0.0
    overlap: float = 0.0
    # Funded enablers whose spend and NPV the cells charge to the funded work that needs them.
    charged_enablers: tuple[str, ...] = ()


@dataclass(frozen=True)
class RuleRow:
    """A budget or capacity rule: limit, use and what one more unit is worth (NPV per unit)."""

    name: str
    label: str
    kind: str
    quarter: str | None
    team: str | None
    limit: float
    used: float
    slack: float
    unit: str
    marginal_value: float
    binding: bool


@dataclass(frozen=True)
class Constraints:
    binding: tuple[RuleRow, ...]
    all: tuple[RuleRow, ...]


@dataclass(frozen=True)
class Assumptions:
    """Where the numbers came from and how they were found (not how long it took: that would change the bytes of every rerun)."""

    workbook: str
    workbook_sha256: str
    scenario: str
    scenario_file: str
    currency: str
    annual_discount_rate: float
    first_quarter: str
    first_day: date
    horizon_quarters: int
    ramp_quarters: int
    tail_quarters: int
    start_quarters: str
    total_budget: float | None
    solver: str
    status: str
    proven_optimal: bool
    objective: float
    best_bound: float | None
    lp_bound: float | None
    gap: float | None
    gap_target: float
    time_limit_seconds: float
    variables: int
    constraints: int
    message: str


@dataclass(frozen=True)
class InputExperience:
    """An experience as read from the inputs (echoed so a reader can check what was planned)."""

    id: str
    name: str
    journey_stage: str
    channel: str
    product_line: str
    layer: str
    team: str
    reach_per_quarter: float
    outcome: str
    value_per_outcome: float
    uplift_low: float
    uplift_base: float
    uplift_high: float
    mandatory: bool
    requires: str
    excludes: str
    earliest_start: str
    description: str


@dataclass(frozen=True)
class InputOption:
    experience_id: str
    option: str
    one_off_cost: float
    run_cost_per_quarter: float
    attention: str
    total_attention: float
    delivery_quarters: int
    uplift_share: float


@dataclass(frozen=True)
class Inputs:
    experiences: tuple[InputExperience, ...] = ()
    options: tuple[InputOption, ...] = ()


@dataclass(frozen=True)
class Section:
    """One part of a report; `key` names its layout in templates/, `data` is one of the classes above."""

    key: str
    title: str
    data: Any


@dataclass(frozen=True)
class Report:
    """A whole report: title, currency, ordered sections, and the inputs echoed.

    `kind` names the layouts: templates/<kind>.html.j2 and templates/<kind>.xlsx ("report"
    for a plan; "frontier", "compare", "explanations", "tornado" for the what-if reports).
    """

    title: str
    currency: str
    sections: tuple[Section, ...]
    inputs: Inputs = Inputs()
    kind: str = "report"

    def section(self, key: str) -> Any:
        for section in self.sections:
            if section.key == key:
                return section.data
        raise KeyError(key)

    def context(self) -> dict[str, Any]:
        """The names a template sees: `report`, `inputs`, and every section's data by its key."""
        names: dict[str, Any] = {section.key: section.data for section in self.sections}
        names.update(report=self, inputs=self.inputs, currency=self.currency)
        return names


# ---------------------------------------------------------------------------------------
# Building the model from a plan


def build_report(plan: Plan, bundles: Sequence[Bundle] | None = None) -> Report:
    """The report model of one plan; `bundles` (planner.analysis.bundles.enabler_bundles) adds what each enabler unlocks."""
    labels = plan.quarters
    view = build_experience_view(plan, bundles)
    rows = tuple(experience_row(d, labels, tuple(b.id for b in view.bundles_of(d.experience.id)))
                 for d in sorted(plan.decisions, key=_decision_order))
    funded = tuple(r for r in rows if r.funded)
    not_funded = tuple(r for r in rows if not r.funded)
    summary = build_summary(plan)
    sections = (
        Section("summary", "Executive summary", summary),
        Section("funded", "Funded experiences", funded),
        Section("enablers", "Enablers and what they unlock", view.enablers),
        Section("journeys", "Journeys, owners and fragmentation", view),
        Section("experience_map", "Experience map", build_experience_map(plan)),
        Section("quarters", "Spend by quarter", build_quarters(plan)),
        Section("attention", "Attention by team", build_attention(plan)),
        Section("constraints", "Binding constraints", build_constraints(plan)),
        Section("not_funded", "Experiences not funded", not_funded),
        Section("assumptions", "Inputs and assumptions", build_assumptions(plan)),
        Section("glossary", "Glossary", glossary("report")),
        # Last: it prints on an A4 landscape page, and a page turned before it would leave
        # the portrait page ahead of it part empty.
        Section("blueprint", "Service blueprint", view.blueprint),
    )
    return Report(summary.title, summary.currency, sections, build_inputs(plan.portfolio))


def _decision_order(decision: Decision) -> tuple:
    """Funded first by NPV (largest first), then by id, so every listing is stable."""
    return (not decision.funded, -decision.npv if decision.funded else 0.0, decision.experience.key)


def experience_row(decision: Decision, labels: Sequence[str], bundles: tuple[str, ...] = ()) -> ExperienceRow:
    experience = decision.experience
    return ExperienceRow(
        id=experience.id,
        name=experience.name,
        journey_stage=experience.journey_stage,
        channel=experience.channel,
        product_line=experience.product_line,
        layer=experience.layer,
        team=experience.team,
        mandatory=experience.mandatory,
        funded=decision.funded,
        option=decision.option,
        start_quarter=label_of(labels, decision.start_quarter),
        go_live_quarter=label_of(labels, decision.go_live_quarter),
        total_spend=float(decision.total_spend),
        pv_benefit=float(decision.pv_benefit),
        pv_cost=float(decision.pv_cost),
        npv=float(decision.npv),
        roi=plain_number(decision.roi),
        payback_quarter=label_of(labels, decision.payback_quarter),
        reason=decision.reason,
        journey=experience.journey,
        owner=experience.owner,
        bundles=bundles,
    )


def plain_number(value: float | None) -> float | None:
    """A plain float (solvers hand back numpy scalars), None kept as None."""
    return None if value is None else float(value)


def plan_budget(portfolio: Portfolio) -> float:
    """The money available over the horizon: the per-quarter budgets, capped by the total if set."""
    per_quarter = sum(portfolio.budget)
    if portfolio.total_budget is None:
        return per_quarter
    return min(per_quarter, portfolio.total_budget)


def build_summary(plan: Plan) -> Summary:
    portfolio, solve, greedy = plan.portfolio, plan.solve, plan.greedy
    labels = plan.quarters
    gain = plan.gain_over_greedy
    return Summary(
        title=f"Experience portfolio plan: {plan.scenario.name}",
        scenario=plan.scenario.name,
        currency=portfolio.settings.currency,
        first_quarter=labels[0],
        last_quarter=labels[-1],
        experiences=len(plan.decisions),
        funded=len(plan.funded),
        budget=float(plan_budget(portfolio)),
        spend=float(plan.total_spend),
        pv_benefit=float(plan.pv_benefit),
        pv_cost=float(plan.pv_cost),
        npv=float(plan.npv),
        roi=plain_number(plan.roi),
        payback_quarter=label_of(labels, plan.payback_quarter),
        greedy_npv=float(greedy.npv),
        greedy_spend=float(greedy.spend),
        greedy_funded=len(greedy.funded),
        greedy_feasible=greedy.feasible,
        gain_over_greedy=float(gain),
        gain_share=float(gain / abs(greedy.npv)) if abs(greedy.npv) > 1e-9 else None,
        solver=solve.solver,
        status=solve.status_text,
        proven_optimal=solve.proven_optimal,
        gap=plain_number(solve.gap),
    )


def build_quarters(plan: Plan) -> tuple[QuarterRow, ...]:
    rows = []
    cumulative = 0.0
    for label, budget, spend, benefit in zip(plan.quarters, plan.portfolio.budget, plan.spend_by_quarter, plan.benefit_by_quarter):
        budget, spend, benefit = float(budget), float(spend), float(benefit)
        cumulative += benefit - spend
        rows.append(QuarterRow(label, budget, spend, budget - spend, benefit, benefit - spend, cumulative))
    return tuple(rows)


def build_attention(plan: Plan) -> Attention:
    used_by_team = plan.attention_by_team()
    teams = []
    for team in sorted(plan.portfolio.teams, key=lambda t: t.name.casefold()):
        used = used_by_team.get(team.name, (0.0,) * plan.portfolio.horizon)
        quarters = tuple(
            TeamQuarter(team.name, label, float(capacity), float(weeks)) for label, capacity, weeks in zip(plan.quarters, team.capacity, used)
        )
        teams.append(TeamAttention(team.name, quarters, sum(q.capacity for q in quarters), sum(q.used for q in quarters)))
    return Attention(tuple(teams))


def build_constraints(plan: Plan) -> Constraints:
    labels = plan.quarters
    rows = tuple(rule_row(rule, labels) for rule in plan.rules)
    binding = tuple(sorted((r for r in rows if r.binding), key=lambda r: (-r.marginal_value, r.name)))
    return Constraints(binding=binding, all=rows)


def rule_row(rule: RuleUse, labels: Sequence[str]) -> RuleRow:
    return RuleRow(
        name=rule.name,
        label=rule.label,
        kind=rule.kind,
        quarter=label_of(labels, rule.quarter),
        team=rule.team,
        limit=float(rule.limit),
        used=float(rule.used),
        slack=float(rule.slack),
        unit=rule.unit,
        marginal_value=float(rule.marginal_value),
        binding=bool(rule.binding),
    )


def _grid(measure: str, dimensions: tuple[str, str], cells: dict[tuple[str, str], float], rows: Iterable[str], columns: Iterable[str]) -> Grid:
    rows, columns = tuple(rows), tuple(columns)
    values = tuple(tuple(cells.get((r, c), 0.0) for c in columns) for r in rows)
    return Grid(measure, dimensions[0], dimensions[1], rows, columns, values)


def _ordered(values: Iterable[str]) -> tuple[str, ...]:
    """Dimension values in the order the inputs first name them (journeys read left to right)."""
    return tuple(dict.fromkeys(values))


def _long_form(decisions: Sequence[Decision], key: Callable[[Experience], tuple[str, str]],
               charges: dict[str, tuple[tuple[str, float], ...]] | None = None) -> tuple[MapCell, ...]:
    """Cells of funded count, spend and NPV; an experience in `charges` puts its money in the cells of
    the experiences named, by the shares given (an enabler's in the work that needs it), and its count in its own."""
    by_id = {d.experience.id: d.experience for d in decisions}
    cells: dict[tuple[str, str], list[float]] = {}
    for decision in decisions:
        cells.setdefault(key(decision.experience), [0, 0.0, 0.0])[0] += 1
        for target, share in (charges or {}).get(decision.experience.id, ((decision.experience.id, 1.0),)):
            total = cells.setdefault(key(by_id[target]), [0, 0.0, 0.0])
            total[1] += float(decision.total_spend) * share
            total[2] += float(decision.npv) * share
    return tuple(MapCell(row, column, int(v[0]), v[1], v[2]) for (row, column), v in cells.items())


def enabler_charges(plan: Plan) -> dict[str, tuple[tuple[str, float], ...]]:
    """Each funded enabler's share of the funded frontstage work that needs it, by that work's spend (equal shares when
    it spends nothing): the experience map charges an enabler's spend and NPV there, not to its own stage and channel."""
    funded = {d.experience.id: d for d in plan.funded}
    enablers = [d for d in plan.funded if d.experience.layer == "backstage"]
    members = members_of_bundles(plan.portfolio, (d.experience.id for d in enablers))
    charges = {}
    for decision in enablers:
        work = [funded[m] for m in members[decision.experience.id][1:]
                if m in funded and funded[m].experience.layer != "backstage"]
        if not work:
            continue
        total = sum(float(d.total_spend) for d in work)
        charges[decision.experience.id] = tuple(
            (d.experience.id, float(d.total_spend) / total if total > 0 else 1.0 / len(work)) for d in work)
    return charges


def build_experience_map(plan: Plan) -> ExperienceMap:
    experiences = plan.portfolio.experiences
    stages = stage_order(plan.portfolio)
    channels = _ordered(e.channel for e in experiences)
    products = _ordered(e.product_line for e in experiences)
    funded = plan.funded
    charges = enabler_charges(plan)
    by_stage_channel = _long_form(funded, lambda e: (e.journey_stage, e.channel), charges)
    by_product_stage = _long_form(funded, lambda e: (e.product_line, e.journey_stage), charges)

    def grid(cells: tuple[MapCell, ...], measure: str, dims: tuple[str, str], rows: tuple[str, ...], columns: tuple[str, ...]) -> Grid:
        return _grid(measure, dims, {(c.row, c.column): getattr(c, measure) for c in cells}, rows, columns)

    stage_channel = ("journey stage", "channel")
    product_stage = ("product line", "journey stage")
    rank = {s: i for i, s in enumerate(stages)}, {c: i for i, c in enumerate(channels)}, {p: i for i, p in enumerate(products)}
    return ExperienceMap(
        spend_by_stage_channel=grid(by_stage_channel, "spend", stage_channel, stages, channels),
        npv_by_stage_channel=grid(by_stage_channel, "npv", stage_channel, stages, channels),
        spend_by_product_stage=grid(by_product_stage, "spend", product_stage, products, stages),
        npv_by_product_stage=grid(by_product_stage, "npv", product_stage, products, stages),
        stage_channel=tuple(sorted(by_stage_channel, key=lambda c: (rank[0][c.row], rank[1][c.column]))),
        product_lines=tuple(sorted(by_product_stage, key=lambda c: (rank[2][c.row], rank[0][c.column]))),
        cells_npv=float(sum(d.npv for d in funded)), plan_npv=float(plan.npv),
        overlap=float(-sum(c.pv_benefit for c in plan.costs if c.kind == "overlap")),
        charged_enablers=tuple(sorted(charges)),
    )


def build_assumptions(plan: Plan) -> Assumptions:
    portfolio, settings, solve, scenario = plan.portfolio, plan.portfolio.settings, plan.solve, plan.scenario
    return Assumptions(
        workbook=Path(portfolio.source).name if portfolio.source else "",
        workbook_sha256=portfolio.source_sha256,
        scenario=scenario.name,
        scenario_file=Path(scenario.source).name if scenario.source else "",
        currency=settings.currency,
        annual_discount_rate=settings.annual_discount_rate,
        first_quarter=quarter_label(settings, 0),
        first_day=quarter_first_day(settings, 0),
        horizon_quarters=settings.horizon_quarters,
        ramp_quarters=settings.ramp_quarters,
        tail_quarters=settings.tail_quarters,
        start_quarters=settings.start_quarters,
        total_budget=portfolio.total_budget,
        solver=solve.solver,
        status=solve.status,
        proven_optimal=solve.proven_optimal,
        objective=float(solve.objective),
        best_bound=plain_number(solve.best_bound),
        lp_bound=plain_number(solve.lp_bound),
        gap=plain_number(solve.gap),
        gap_target=solve.gap_target,
        time_limit_seconds=solve.time_limit_seconds,
        variables=solve.variables,
        constraints=solve.constraints,
        message=solve.message,
    )


def build_inputs(portfolio: Portfolio) -> Inputs:
    settings = portfolio.settings
    experiences = tuple(
        InputExperience(
            id=e.id, name=e.name, journey_stage=e.journey_stage, channel=e.channel,
            product_line=e.product_line, layer=e.layer, team=e.team,
            reach_per_quarter=e.reach_per_quarter, outcome=e.outcome,
            value_per_outcome=e.value_per_outcome, uplift_low=e.uplift_low,
            uplift_base=e.uplift_base, uplift_high=e.uplift_high, mandatory=e.mandatory,
            requires="; ".join(e.requires), excludes="; ".join(e.excludes),
            earliest_start=quarter_label(settings, e.earliest_start), description=e.description,
        )
        for e in portfolio.experiences
    )
    options = tuple(
        InputOption(
            experience_id=e.id, option=o.name, one_off_cost=o.one_off_cost,
            run_cost_per_quarter=o.run_cost_per_quarter,
            attention="; ".join(f"{team}: {weeks:g}" for team, weeks in o.attention),
            total_attention=o.total_attention, delivery_quarters=o.delivery_quarters,
            uplift_share=o.uplift_share,
        )
        for e in portfolio.experiences
        for o in e.options
    )
    return Inputs(experiences, options)
