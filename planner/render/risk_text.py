"""What `planner risk` prints: the risk report model (planner.reports.risk_report) as lines of text."""

from __future__ import annotations

from planner.core.formatting import money, percent, signed_money
from planner.reports.plan_report import Report

SHOWN = 8  # rows of each ranking printed; the reports hold them all


def risk_text(report: Report) -> list[str]:
    s = report.section("risk_summary")
    c = report.currency
    m = lambda value: money(value, c)  # noqa: E731
    pm = lambda figure, f=m: f"{f(figure.value)} ± {f(figure.error)}"  # noqa: E731
    lines = [
        f"Risk: {s.scenario} ({s.draws:,} draws, seed {s.seed}, {s.distribution.upper()}, stage correlation "
        f"{percent(s.stage_correlation, 0)}, team {percent(s.team_correlation, 0)})",
        "",
        "NPV distribution (± Monte Carlo standard error)",
        f"  on the estimates (point)  {m(s.point_npv)} ({s.plan_status})",
        f"  expected                  {pm(s.mean)}",
        f"  P10 / P50 / P90           {pm(s.p10)} / {pm(s.p50)} / {pm(s.p90)}",
        f"  P(loss)                   {pm(s.loss_probability, percent)}",
        f"  P(a quarter over budget)  {pm(s.overspend_probability, percent)}",
        "",
        "Optimizer's curse",
        f"  expected disappointment   {signed_money(s.expected_disappointment, c)} (point NPV less expected NPV on fresh draws)",
        f"  corrected NPV             {m(s.corrected_npv)}",
        f"  method                    {s.curse_method}",
        "",
        "Drivers of the spread (share of the NPV's variance)",
    ]
    lines += [f"  {d.experience_id:<10} {percent(d.share_of_variance):>7}  {d.name}" for d in report.section("risk_drivers")[:SHOWN]]
    members = report.section("risk_members")
    lines += ["", f"Stability: {s.resolves} re-solves on sampled inputs ({s.solved} with a plan, {s.distinct_plans} different funded sets)",
              f"  core {s.core}, borderline {s.borderline}, exterior {s.exterior}"]
    if s.proven < s.solved:
        lines.append(f"  NOT proven optimal: {s.solved - s.proven} of the {s.solved} re-solves stopped on the time limit "
                     "(their plans are the best found, and count as found)")
    borderline = [x for x in members if x.label == "borderline"]
    lines += [f"  borderline {x.experience_id:<10} funded in {percent(x.share, 0):>4}  {x.name}" for x in borderline[:SHOWN]]
    lines += ["", "Value of information (what to research first)"]
    lines += [f"  {i.rank:>2}. {i.experience_id:<10} {m(i.value):>10} ± {m(i.error)}{' (exactly)' if i.certain_zero else ''}  {i.name}"
              for i in report.section("risk_information")[:SHOWN]] or ["  no estimate valued"]
    r = report.section("risk_robust")
    base, robust = r.plans
    lines += ["", f"Base plan vs robust plan (CVaR at {percent(r.level, 0)} >= {m(r.floor)}, "
                  f"{'from the scenario' if r.floor_source == 'scenario' else 'halfway to the highest CVaR any plan reaches'})",
              f"  {'':<26}{'base':>22}{'robust':>22}"]
    for label, key, f in (("expected NPV", "expected_npv", m), ("P10", "p10", m), (f"CVaR at {percent(r.level, 0)}", "cvar", m),
                          ("P(loss)", "loss_probability", percent), ("P(a quarter over budget)", "overspend_probability", percent)):
        lines.append(f"  {label:<26}{pm(getattr(base, key), f):>22}{pm(getattr(robust, key), f):>22}")
    lines.append(f"  {'experiences funded':<26}{base.funded:>22}{robust.funded:>22}")
    lines.append(f"  {'solver status':<26}{_status(base):>22}{_status(robust):>22}")
    changed = [x for x in r.choices if x.changed]
    lines += [f"  {x.experience_id:<10} {x.base} -> {x.robust}" for x in changed[:SHOWN]]
    lines += ["  frontier (CVaR floor: best expected NPV)"]
    lines += [f"    {m(p.floor)}: {_frontier_value(p, m)}" for p in r.frontier]
    quarters = report.section("risk_quarters")
    lines += ["", f"Contingency: to stay within budget with {percent(s.confidence, 0)} confidence, reserve {m(s.reserve)}"]
    lines += [f"  {q.quarter}  {m(q.reserve)}" for q in quarters if q.reserve > 0]
    return lines


def _frontier_value(point, m) -> str:
    """'€8.75m', '€8.75m (feasible, not proven best)', 'no plan meets it' or 'no plan in time'."""
    if point.expected_npv is None:
        return "no plan meets it" if point.status == "infeasible" else f"no plan in time ({point.status})"
    return m(point.expected_npv) + ("" if point.status == "optimal" else f" ({point.status}, not proven best)")


def _status(column) -> str:
    return column.status if column.status == "optimal" else f"{column.status}, gap {percent(column.gap, 2)}"
