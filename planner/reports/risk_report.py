"""The report model of `planner risk` (risk.html, risk.xlsx, risk.csv): plain numbers, no formatting.

From a `planner.analysis.uncertainty.RiskAnalysis`: the headline figures with their Monte
Carlo standard errors, the fan of cumulative NPV by quarter, the histogram of NPV, the
drivers, the optimizer's curse, the contingency reserve by quarter, core / borderline /
exterior, the value-of-information ranking, the base and robust plans side by side and
the risk/return frontier. Renderers (templates/risk.html.j2, templates/risk.xlsx,
planner.render.risk_charts) lay these out; `risk_rows` is the CSV.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from planner.core.domain import quarter_label
from planner.reports.plan_report import Report, Section

HISTOGRAM_BINS = 30


@dataclass(frozen=True)
class Estimate:
    value: float
    error: float


@dataclass(frozen=True)
class RiskSummary:
    title: str
    scenario: str
    currency: str
    first_quarter: str
    last_quarter: str
    draws: int
    seed: int
    distribution: str
    stage_correlation: float
    team_correlation: float
    point_npv: float
    mean: Estimate
    p10: Estimate
    p50: Estimate
    p90: Estimate
    loss_probability: Estimate
    overspend_probability: Estimate
    expected_disappointment: float
    corrected_npv: float
    curse_method: str
    resolves: int
    solved: int
    core: int
    borderline: int
    exterior: int
    distinct_plans: int
    confidence: float
    reserve: float
    plan_status: str
    proven: int = 0  # re-solves the solver proved optimal; the others stopped on the time limit with their best plan


@dataclass(frozen=True)
class Band:
    """One quarter of the fan chart: cumulative discounted NPV at P10, P50 and P90, and the plan's point value."""

    quarter: str
    p10: float
    p50: float
    p90: float
    point: float


@dataclass(frozen=True)
class Bin:
    low: float
    high: float
    draws: int


@dataclass(frozen=True)
class DriverRow:
    experience_id: str
    name: str
    share_of_variance: float
    mean_npv: float
    p10: float
    p90: float


@dataclass(frozen=True)
class QuarterRisk:
    quarter: str
    budget: float
    planned_spend: float
    spend_at_confidence: float
    reserve: float
    overspend_probability: float


@dataclass(frozen=True)
class MemberRow:
    experience_id: str
    name: str
    share: float
    label: str
    in_base_plan: bool
    in_robust_plan: bool


@dataclass(frozen=True)
class InformationRow:
    rank: int
    experience_id: str
    name: str
    value: float
    error: float
    certain_zero: bool
    solves: int
    label: str


@dataclass(frozen=True)
class PlanColumn:
    """One plan in the side-by-side: figures on the same Monte Carlo draws."""

    name: str
    status: str
    gap: float | None
    funded: int
    point_npv: float
    expected_npv: Estimate
    p10: Estimate
    cvar: Estimate
    loss_probability: Estimate
    overspend_probability: Estimate
    spend: float
    reserve: float


@dataclass(frozen=True)
class ChoiceRow:
    experience_id: str
    name: str
    base: str
    robust: str
    changed: bool


@dataclass(frozen=True)
class RobustView:
    level: float
    scenarios: int
    floor: float
    floor_source: str
    base_cvar: float
    best_cvar: float
    robust_cvar: float
    base_expected: float
    robust_expected: float
    plans: tuple[PlanColumn, ...]
    choices: tuple[ChoiceRow, ...]
    frontier: tuple[Any, ...]


def build_risk_report(analysis) -> Report:
    """The report model of a RiskAnalysis (planner.analysis.uncertainty)."""
    plan, simulation, settings = analysis.plan, analysis.simulation, analysis.settings
    portfolio = plan.portfolio
    currency = portfolio.settings.currency
    stability = analysis.stability
    summary = RiskSummary(
        title=f"Planning under uncertainty: {plan.scenario.name}", scenario=plan.scenario.name, currency=currency,
        first_quarter=plan.quarters[0], last_quarter=plan.quarters[-1], draws=simulation.draws, seed=settings.seed,
        distribution=settings.distribution, stage_correlation=settings.stage_correlation, team_correlation=settings.team_correlation,
        point_npv=plan.npv, mean=_estimate(simulation.mean), p10=_estimate(simulation.p10), p50=_estimate(simulation.p50),
        p90=_estimate(simulation.p90), loss_probability=_estimate(simulation.loss_probability),
        overspend_probability=_estimate(simulation.overspend_probability),
        expected_disappointment=analysis.disappointment.expected_disappointment, corrected_npv=analysis.disappointment.corrected_npv,
        curse_method=analysis.disappointment.method, resolves=stability.resolves, solved=stability.solved,
        core=stability.count("core"), borderline=stability.count("borderline"), exterior=stability.count("exterior"),
        distinct_plans=stability.distinct_plans, confidence=settings.confidence, reserve=analysis.contingency.total_reserve,
        plan_status=plan.solve.status, proven=stability.proven,
    )
    sections = (
        Section("risk_summary", "Executive summary", summary),
        Section("risk_distribution", "How sure the NPV is", _distribution(plan, simulation)),
        Section("risk_drivers", "What drives the spread", tuple(DriverRow(**vars(d)) for d in simulation.drivers)),
        Section("risk_quarters", "Spend against budget, and the contingency reserve", _quarters(plan, analysis)),
        Section("risk_members", "Core, borderline and exterior", _members(analysis)),
        Section("risk_information", "What to research first: value of information", _information(analysis)),
        Section("risk_robust", "The base plan and the robust plan", _robust(analysis)),
    )
    return Report(summary.title, currency, sections, kind="risk")


def _estimate(figure) -> Estimate:
    return Estimate(float(figure.value), float(figure.error))


def _distribution(plan, simulation) -> dict[str, Any]:
    settings = plan.portfolio.settings
    quarters = simulation.cumulative_npv.shape[1]
    bands = np.quantile(simulation.cumulative_npv, [0.1, 0.5, 0.9], axis=0)
    point = np.cumsum(np.array([sum(d.net_cash[q] if q < len(d.net_cash) else 0.0 for d in plan.funded) for q in range(quarters)])
                      * _factors(settings, quarters))
    fan = tuple(Band(quarter_label(settings, q), float(bands[0, q]), float(bands[1, q]), float(bands[2, q]), float(point[q]))
                for q in range(quarters))
    counts, edges = np.histogram(simulation.npv, bins=HISTOGRAM_BINS)
    histogram = tuple(Bin(float(edges[n]), float(edges[n + 1]), int(c)) for n, c in enumerate(counts.tolist()))
    return {"fan": fan, "histogram": histogram, "horizon": settings.horizon_quarters, "point_npv": plan.npv,
            "mean": float(simulation.mean.value), "p10": float(simulation.p10.value), "p90": float(simulation.p90.value)}


def _factors(settings, quarters: int) -> np.ndarray:
    from planner.core.economics import discount_factors

    return discount_factors(settings, quarters)


def _quarters(plan, analysis) -> tuple[QuarterRisk, ...]:
    reserve = analysis.contingency
    return tuple(QuarterRisk(label, reserve.budget[q], plan.spend_by_quarter[q], reserve.spend_at_confidence[q], reserve.reserve[q],
                             analysis.simulation.quarter_overspend[q])
                 for q, label in enumerate(plan.quarters))


def _members(analysis) -> tuple[MemberRow, ...]:
    robust_ids = {d.experience.id for d in analysis.robust.plan.funded}
    return tuple(MemberRow(m.experience_id, m.name, m.share, m.label, m.in_base_plan, m.experience_id in robust_ids)
                 for m in analysis.stability.members)


def _information(analysis) -> tuple[InformationRow, ...]:
    labels = {m.experience_id: m.label for m in analysis.stability.members}
    return tuple(InformationRow(n, i.experience_id, i.name, i.value, i.error, i.certain_zero, i.solves, labels.get(i.experience_id, ""))
                 for n, i in enumerate(analysis.information, 1))


def _robust(analysis) -> RobustView:
    result = analysis.robust
    plans = (
        _column("Base plan", analysis.plan, analysis.simulation, analysis.cvar, analysis.contingency),
        _column("Robust plan", result.plan, analysis.robust_simulation, analysis.robust_cvar, analysis.robust_contingency),
    )
    base = {d.experience.key: d for d in analysis.plan.funded}
    other = {d.experience.key: d for d in result.plan.funded}
    choices = tuple(ChoiceRow(e.id, e.name, _choice(analysis.plan, base.get(e.key)), _choice(result.plan, other.get(e.key)),
                              _choice(analysis.plan, base.get(e.key)) != _choice(result.plan, other.get(e.key)))
                    for e in analysis.plan.portfolio.experiences if e.key in base or e.key in other)
    return RobustView(result.level, result.scenarios, result.floor, result.floor_source, result.base_cvar, result.best_cvar,
                      result.cvar, result.base_expected, result.expected, plans, choices, result.frontier)


def _column(name: str, plan, simulation, cvar, contingency) -> PlanColumn:
    return PlanColumn(name, plan.solve.status, plan.solve.gap, len(plan.funded), plan.npv, _estimate(simulation.mean),
                      _estimate(simulation.p10), _estimate(cvar), _estimate(simulation.loss_probability),
                      _estimate(simulation.overspend_probability), plan.total_spend, contingency.total_reserve)


def _choice(plan, decision) -> str:
    if decision is None:
        return "not funded"
    return f"{decision.option}, from {plan.quarters[decision.start_quarter] if 0 <= decision.start_quarter < len(plan.quarters) else decision.start_quarter}"


def risk_rows(report: Report) -> list[dict[str, Any]]:
    """risk.csv: one row per experience with its core index, label, value of information and both plans' choices."""
    members = report.section("risk_members")
    information = {i.experience_id: i for i in report.section("risk_information")}
    drivers = {d.experience_id: d for d in report.section("risk_drivers")}
    choices = {c.experience_id: c for c in report.section("risk_robust").choices}
    rows = []
    for m in members:
        info, driver, choice = information.get(m.experience_id), drivers.get(m.experience_id), choices.get(m.experience_id)
        rows.append({
            "experience_id": m.experience_id, "name": m.name, "in_base_plan": m.in_base_plan, "in_robust_plan": m.in_robust_plan,
            "base_plan_choice": choice.base if choice else "not funded", "robust_plan_choice": choice.robust if choice else "not funded",
            "share_of_optimal_plans": round(m.share, 6), "label": m.label,
            "value_of_information": None if info is None else round(info.value, 2),
            "value_of_information_standard_error": None if info is None else round(info.error, 2),
            "value_of_information_rank": None if info is None else info.rank,
            "share_of_npv_variance": None if driver is None else round(driver.share_of_variance, 6),
        })
    return rows
