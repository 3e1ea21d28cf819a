"""The budget family: spend in each quarter within that quarter's budget, and total spend within
the total budget over the horizon.

Its scenario keys (budget.per_quarter, budget.total, budget.change) change the budget
itself and are read with the other input changes in planner.inputs.scenario. Its marginal
value is the NPV one more unit of money in that quarter (or over the horizon) would add.
"""

from __future__ import annotations

import numpy as np

from planner.core.domain import Portfolio, quarter_label
from planner.core.formatting import money
from planner.rules.base import Build, Family, RuleSpec, Rules, Usage

TOLERANCE = 1e-6


def specs(portfolio: Portfolio, rules: Rules) -> list[RuleSpec]:
    settings = portfolio.settings
    currency = settings.currency
    found = [
        RuleSpec(f"budget_{quarter_label(settings, q)}", "budget", f"Budget {quarter_label(settings, q)}", q, None, limit, currency)
        for q, limit in enumerate(portfolio.budget)
    ]
    if portfolio.total_budget is not None:
        found.append(RuleSpec("budget_total", "total_budget", "Total budget over the horizon", None, None, portfolio.total_budget, currency))
    return found


def limit_scale(limit: float, coefficients: np.ndarray) -> float:
    """Slack weight per unit of a budget: per whole limit, or per the largest spend when the limit is (near) zero.

    A budget of 0 weighted per EUR would make blaming it dearer than dropping every
    mandatory experience, and the message would not name the budget at all.
    """
    return 1.0 / max(limit, float(np.abs(coefficients).max(initial=0.0)), 1.0)


def rows(build: Build) -> None:
    """Spend in each quarter within that quarter's budget; total spend within the total budget."""
    spend = build.cols.spend[build.column_ids]
    budgets = [spec for spec in build.specs if spec.kind == "budget"]
    quarters = np.array([spec.quarter for spec in budgets], dtype=np.int64)
    block = spend[:, quarters].T  # one row per budget rule
    row, variable = np.nonzero(block)
    build.rows.add([spec.name for spec in budgets], "L", [spec.limit for spec in budgets],
                   [limit_scale(spec.limit, block[r]) for r, spec in enumerate(budgets)], row, variable, block[row, variable])
    for spec in build.specs:
        if spec.kind == "total_budget":
            total = spend.sum(axis=1)
            build.rows.add([spec.name], "L", spec.limit, limit_scale(spec.limit, total), np.zeros(len(total)), np.arange(len(total)), total)


def check(usage: Usage) -> list[str]:
    portfolio = usage.portfolio
    spend = usage.total_spend
    problems = []
    for q in range(portfolio.horizon):
        if spend[q] > portfolio.budget[q] + TOLERANCE * max(1.0, portfolio.budget[q]):
            problems.append(f"spend {spend[q]:,.2f} in {quarter_label(portfolio.settings, q)} exceeds the budget {portfolio.budget[q]:,.2f}")
    if portfolio.total_budget is not None and spend.sum() > portfolio.total_budget + TOLERANCE * max(1.0, portfolio.total_budget):
        problems.append(f"total spend {spend.sum():,.2f} exceeds the total budget {portfolio.total_budget:,.2f}")
    return problems


def used(spec: RuleSpec, usage: Usage) -> float:
    spend = usage.total_spend
    return float(spend[spec.quarter] if spec.kind == "budget" else spend.sum())


def conflict(portfolio: Portfolio, spec: RuleSpec, needed: float) -> str:
    currency = portfolio.settings.currency
    if spec.kind == "total_budget":
        return (f"the mandatory and forced-in experiences need {money(needed, currency)} over the horizon; "
                f"the total budget is {money(spec.limit, currency)}")
    return (f"the mandatory and forced-in experiences need {money(needed, currency)} in {quarter_label(portfolio.settings, spec.quarter)}; "
            f"the budget is {money(spec.limit, currency)}")


FAMILY = Family(
    name="budget", specs=specs, rows=rows, check=check, used=used, conflict=conflict,
    marginal="the NPV one more unit of money in that quarter (or over the whole horizon, for the total budget) would add",
)
