"""The rule families, one module each, and the registry the rest of the planner walks.

Adding a family: write its module (see planner.rules.base.Family for what it may define)
and list it in FAMILIES. The order is the model's row order and the report's rule order.
"""

from __future__ import annotations

from planner.core.domain import Portfolio
from planner.rules import balance, budget, capacity, choice, excludes, hiring, overlap, requires, roi_hurdle
import numpy as np

from planner.core.economics import Columns
from planner.rules.base import Build, Family, RuleSpec, Rules, Usage, attention_of

FAMILIES: tuple[Family, ...] = (
    choice.FAMILY, budget.FAMILY, capacity.FAMILY, requires.FAMILY, excludes.FAMILY, balance.FAMILY, roi_hurdle.FAMILY,
    hiring.FAMILY, overlap.FAMILY,
)
BY_NAME = {family.name: family for family in FAMILIES}
# The kinds of RuleSpec each family names (the budget family names two: budget and total_budget).
_KIND_FAMILY = {"total_budget": "budget"}


def family_of(kind: str) -> Family:
    """The family that owns rules of this kind."""
    return BY_NAME[_KIND_FAMILY.get(kind, kind)]


def scenario_keys() -> tuple[str, ...]:
    """Every scenario key a family reads."""
    return tuple(key for family in FAMILIES for key in family.keys)


def rule_specs(portfolio: Portfolio, rules: Rules | None = None) -> list[RuleSpec]:
    """Every rule with a limit (budget, total budget, capacity, balance, hurdle, ...), in report order."""
    rules = rules or Rules()
    return [spec for family in FAMILIES if family.specs for spec in family.specs(portfolio, rules)]


def add_rows(build: Build) -> None:
    """Every family's rows, in registry order."""
    for family in FAMILIES:
        if family.rows:
            family.rows(build)


def account(usage: Usage) -> None:
    """What the families buy, added to the usage (before any check or measure)."""
    for family in FAMILIES:
        if family.account:
            family.account(usage)


def check(usage: Usage) -> list[str]:
    """Every rule the usage breaks, family by family (the usage must be accounted first)."""
    return [problem for family in FAMILIES if family.check for problem in family.check(usage)]


def adds_anything(portfolio: Portfolio, rules: Rules) -> bool:
    """Whether any family's accounting can add to or take from a plan of these inputs (capacity bought, overlap)."""
    return any(family.adds(portfolio, rules) for family in FAMILIES if family.adds is not None)


def plan_wide_problems(usage: Usage) -> list[str]:
    """What the usage breaks of the rules only a whole plan can be checked against (balance, ROI hurdle):
    the greedy baseline and LP rounding fill a plan within the others as they go."""
    return [problem for family in FAMILIES if family.check and family.plan_wide for problem in family.check(usage)]


def conflict_text(portfolio: Portfolio, spec: RuleSpec, needed: float) -> str:
    """An infeasibility's words for a rule that needed relaxing to `needed`."""
    return family_of(spec.kind).conflict(portfolio, spec, needed)


def used(spec: RuleSpec, usage: Usage) -> float:
    return family_of(spec.kind).used(spec, usage)


def marginal_meaning(kind: str) -> str:
    """What a rule's marginal value means, in words (for docs, tooltips and explanations)."""
    return family_of(kind).marginal


def usage_of_columns(portfolio: Portfolio, rules: Rules, cols: Columns, chosen: np.ndarray) -> Usage:
    """The Usage of a set of columns (the greedy baseline's, a heuristic's, a warm start's), accounted by every family."""
    chosen = np.asarray(chosen, dtype=np.int64)
    usage = Usage(portfolio, rules, cols.spend[chosen].sum(axis=0) if len(chosen) else np.zeros(portfolio.horizon),
                  attention_of(portfolio, cols, chosen), cols.spend[chosen].sum(axis=1), cols.experience[chosen],
                  float(cols.npv[chosen].sum()), float(cols.pv_cost[chosen].sum()),
                  tuple(portfolio.experiences[int(i)].options[int(k)] for i, k in zip(cols.experience[chosen], cols.option[chosen])),
                  cols.start[chosen])
    account(usage)
    return usage
