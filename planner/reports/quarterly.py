"""The quarterly planning report: the plan rolled forward, what changed, the timeline, plan versus actual.

`build_quarterly_report(roll)` is the ordinary report model of the new plan
(`planner.reports.plan_report.build_report`) with three more sections after the summary:

- `bridge`: the previous plan's NPV to this plan's by cause (`planner.cycle.bridge.Bridge`),
  a waterfall in the HTML and the Bridge sheet in Excel;
- `changes`: what changed since the previous plan (`Changes`), each change with its cause and reasons;
- `timeline`: every funded experience across the horizon, delivery and benefit quarters
  told apart, work in flight marked (`Timeline`);
- `plan_vs_actual`: the quarters just closed, per in-flight experience (`PlanVsActual`).

Its kind is "quarterly": the HTML renderer lays it out with templates/quarterly.html.j2 (the
plan's page) and the sections with templates/sections/<key>.html.j2; the Excel renderer with
templates/quarterly.xlsx (the report template plus a sheet per section, built by
templates/make_quarterly_template.py). `planner.publish.write_quarterly_reports` writes the
files (named like a plan's: report.html, report.xlsx, plan.csv) and the new plan.json.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from planner.core.domain import quarter_label, quarter_labels
from planner.core.glossary import glossary
from planner.reports.plan_report import Report, Section, build_report
from planner.cycle.changes import ActualRow, Change
from planner.cycle.roll import Roll
from planner.cycle.state import previous_spend, restated_npv


@dataclass(frozen=True)
class ChangeSummary:
    """The changes counted, and the plan's NPV and spend before and after (same footing: from the new first quarter)."""

    previous_scenario: str
    previous_first_quarter: str
    first_quarter: str
    closed_quarters: tuple[str, ...]
    added: int
    dropped: int
    stopped: int
    moved: int
    option_changed: int
    revised: int
    npv_before: float  # restated: the previous plan's cash from this plan's first quarter on
    npv_after: float
    spend_before: float
    spend_after: float
    sunk: float
    npv_as_planned: float = 0.0  # the previous plan's NPV as it was reported, from its own first quarter

    @property
    def npv_delta(self) -> float:
        return self.npv_after - self.npv_before

    @property
    def spend_delta(self) -> float:
        return self.spend_after - self.spend_before

    @property
    def total(self) -> int:
        return self.added + self.dropped + self.stopped + self.moved + self.option_changed + self.revised


@dataclass(frozen=True)
class Changes:
    summary: ChangeSummary
    rows: tuple[Change, ...]
    news: tuple[str, ...]  # what is new for the whole portfolio: budget, capacity, stops, actuals, estimates
    notes: tuple[str, ...]  # how the roll-forward treated the inputs
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class TimelineRow:
    """One funded experience across the horizon: each quarter is "delivery" ("in flight" for work begun before the horizon), "benefit" or None."""

    id: str
    name: str
    option: str
    start_quarter: str
    go_live_quarter: str
    in_flight: bool
    status: str
    cells: tuple[str | None, ...]

    def cell(self, quarter: int) -> str | None:
        """The quarter's state; None past the horizon (the Excel sheet has a fixed number of quarter columns)."""
        return self.cells[quarter] if 0 <= quarter < len(self.cells) else None


@dataclass(frozen=True)
class Timeline:
    quarters: tuple[str, ...]
    rows: tuple[TimelineRow, ...]

    def quarter(self, quarter: int) -> str | None:
        return self.quarters[quarter] if 0 <= quarter < len(self.quarters) else None


@dataclass(frozen=True)
class PlanVsActual:
    """The closed quarters: one row per in-flight experience; totals over the rows with actuals (`reported`)."""

    closed_quarters: tuple[str, ...]
    rows: tuple[ActualRow, ...]
    reported: int
    planned_spend: float
    actual_spend: float
    planned_remaining: float
    remaining: float

    @property
    def spend_variance(self) -> float:
        return self.actual_spend - self.planned_spend

    @property
    def remaining_variance(self) -> float:
        return self.remaining - self.planned_remaining


def build_quarterly_report(roll: Roll) -> Report:
    """The report model of a rolled-forward plan: the ordinary report plus changes, timeline and plan versus actual."""
    base = build_report(roll.plan)
    summary = replace(base.section("summary"), title=f"Quarterly plan from {roll.plan.quarters[0]}: {roll.plan.scenario.name}")
    extra = (
        Section("bridge", "NPV bridge from the previous plan", roll.bridge),
        Section("changes", "What changed since the previous plan", build_changes(roll)),
        Section("timeline", "Timeline", build_timeline(roll)),
        Section("plan_vs_actual", "Plan versus actual", build_plan_vs_actual(roll)),
    )
    # A rolled-forward plan counts from the new first quarter: its ROI and spend are on what remains.
    rest = tuple(Section(s.key, s.title, glossary("quarterly")) if s.key == "glossary" else s for s in base.sections[1:])
    sections = (Section("summary", base.sections[0].title, summary),) + extra + rest
    return Report(summary.title, base.currency, sections, base.inputs, kind="quarterly")


def build_changes(roll: Roll) -> Changes:
    rows = roll.changes
    count = lambda kind: sum(1 for c in rows if kind in c.kinds)  # noqa: E731
    previous = roll.previous
    funded_before = [e for e in previous.experiences if e.funded]
    settings = roll.plan.portfolio.settings
    labels = roll.plan.quarters
    summary = ChangeSummary(
        previous_scenario=previous.scenario, previous_first_quarter=previous.first_quarter, first_quarter=labels[0],
        closed_quarters=roll.closed_quarters, added=count("added"), dropped=count("dropped"), stopped=count("stopped"),
        moved=count("moved"), option_changed=count("option changed"), revised=count("revised"),
        npv_before=sum(restated_npv(previous, e, settings) for e in funded_before), npv_after=float(roll.plan.npv),
        spend_before=sum(previous_spend(previous, e, settings) for e in funded_before), spend_after=float(roll.plan.total_spend),
        sunk=sum(d.experience.commitment.spent_to_date for d in roll.plan.decisions if d.experience.commitment is not None),
        npv_as_planned=float(previous.npv),
    )
    return Changes(summary, rows, roll.news, roll.notes, tuple(str(w) for w in roll.warnings))


def build_timeline(roll: Roll) -> Timeline:
    plan = roll.plan
    horizon = plan.portfolio.horizon
    rows = []
    for decision in sorted(plan.funded, key=lambda d: (d.start_quarter, d.go_live_quarter, d.experience.key)):
        commitment = decision.experience.commitment
        delivery = "in flight" if commitment is not None else "delivery"
        cells = tuple(delivery if decision.start_quarter <= q <= decision.go_live_quarter else
                      "benefit" if q > decision.go_live_quarter else None for q in range(horizon))
        settings = plan.portfolio.settings
        rows.append(TimelineRow(
            id=decision.experience.id, name=decision.experience.name, option=decision.option,
            start_quarter=quarter_label(settings, decision.start_quarter), go_live_quarter=quarter_label(settings, decision.go_live_quarter),
            in_flight=commitment is not None, status=commitment.status if commitment is not None else "", cells=cells,
        ))
    return Timeline(tuple(quarter_labels(plan.portfolio.settings)), tuple(rows))


def build_plan_vs_actual(roll: Roll) -> PlanVsActual:
    rows = roll.actuals
    reported = [r for r in rows if r.actual_spend is not None]
    return PlanVsActual(
        closed_quarters=roll.closed_quarters, rows=rows, reported=len(reported),
        planned_spend=sum(r.planned_spend for r in reported), actual_spend=sum(r.actual_spend for r in reported),
        planned_remaining=sum(r.planned_remaining for r in reported), remaining=sum(r.remaining for r in reported),
    )
