"""The balance family: at least / at most a share of the plan's spend on one journey stage,
channel, product line or layer (scenario key `balance`).

Shares are of the spend on experiences: capacity bought (hiring) belongs to no group. Its
marginal value is the NPV one more unit of share (1.0 = 100 points) would add.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from planner.core.domain import Experience, Portfolio, normalise_id
from planner.core.errors import Problem
from planner.rules.base import Build, Family, Reader, RuleSpec, Rules, Usage, did_you_mean, unique_slugs

DIMENSIONS = ("journey_stage", "channel", "product_line", "layer")
TOLERANCE = 1e-6


@dataclass(frozen=True)
class BalanceRule:
    """A minimum and/or maximum share of the plan's spend on one journey stage, channel, product line or layer."""

    dimension: str
    value: str
    min_share: float | None = None
    max_share: float | None = None

    @property
    def label(self) -> str:
        return f"{self.dimension.replace('_', ' ')} {self.value}"

    def matches(self, experience: Experience) -> bool:
        return normalise_id(getattr(experience, self.dimension)) == normalise_id(self.value)


def parse(reader: Reader, data: dict) -> dict[str, Any]:
    balance = data["balance"]
    if not isinstance(balance, list):
        reader.problem("balance", "must be a list like [{journey_stage: get help, min_share: 15%}]")
        return {}
    rules = []
    for n, item in enumerate(balance):
        prefix = f"balance[{n}]"
        if not isinstance(item, dict):
            reader.problem(prefix, "must be a mapping like {journey_stage: get help, min_share: 15%}")
            continue
        reader.unknown_keys(item, DIMENSIONS + ("min_share", "max_share"), f"{prefix}.")
        dimensions = [d for d in DIMENSIONS if d in item]
        if len(dimensions) != 1:
            reader.problem(prefix, f"must name exactly one of {', '.join(DIMENSIONS)}")
            continue
        shares = {}
        for key in ("min_share", "max_share"):
            if key in item:
                try:
                    share = reader.share(item[key])
                    if not 0 <= share <= 1:
                        raise ValueError
                    shares[key] = share
                except ValueError:
                    reader.problem(f"{prefix}.{key}", f"{item[key]!r} is not a share between 0% and 100%{reader.hint(item[key])}", item, key)
        if not shares:
            reader.problem(prefix, "needs min_share or max_share")
            continue
        if shares.get("min_share", 0) > shares.get("max_share", 1):
            reader.problem(f"{prefix}.min_share", "is above max_share", item, "min_share")
        rules.append(BalanceRule(dimensions[0], reader.text(item[dimensions[0]]), shares.get("min_share"), shares.get("max_share")))
    return {"balance": tuple(rules)}


def problems(portfolio: Portfolio, scenario, place) -> list[Problem]:
    found = []
    for n, rule in enumerate(scenario.balance):
        values = sorted({getattr(e, rule.dimension) for e in portfolio.experiences})
        if not any(rule.matches(e) for e in portfolio.experiences):
            found.append(Problem(place(f"balance[{n}].{rule.dimension}"),
                                 f'"{rule.value}" matches no experience{did_you_mean(rule.value, values)}; known: {", ".join(values)}'))
    return found


def specs(portfolio: Portfolio, rules: Rules) -> list[RuleSpec]:
    found = []
    slugs = unique_slugs([f"{rule.dimension}_{rule.value}" for rule in rules.balance], "group")
    for rule, slug in zip(rules.balance, slugs):
        for sense, share in (("at least", rule.min_share), ("at most", rule.max_share)):
            if share is not None:
                bound = "min" if sense == "at least" else "max"
                found.append(RuleSpec(f"balance_{slug}_{bound}", "balance", f"Share of spend on {rule.label}", None, None, share,
                                      "share of spend", sense, rule))
    return found


def rows(build: Build) -> None:
    """share x total spend <= group spend is linear: sum over columns of spend x (in group - share) >= 0."""
    spend = build.cols.spend[build.column_ids].sum(axis=1)
    for spec in build.specs:
        if spec.kind == "balance":
            rule = spec.balance
            in_group = np.array([rule.matches(e) for e in build.portfolio.experiences], dtype=float)[build.cols.experience[build.column_ids]]
            build.rows.add([spec.name], "G" if spec.sense == "at least" else "L", 0.0, 1.0 / max(1.0, float(spend.max(initial=0.0))),
                           np.zeros(len(spend)), np.arange(len(spend)), spend * (in_group - spec.limit),
                           [f"{spec.sense} {spec.limit:.0%} of spend on {rule.label}"])


def shares(portfolio: Portfolio, rules: Rules, spend: np.ndarray, experience: np.ndarray) -> list[float]:
    """The share of spend each balance rule's group gets (0 when nothing is spent)."""
    total = float(spend.sum())
    found = []
    for rule in rules.balance:
        in_group = np.array([rule.matches(e) for e in portfolio.experiences], dtype=bool)[experience] if len(experience) else np.zeros(0, bool)
        found.append(float(spend[in_group].sum()) / total if total > 0 else 0.0)
    return found


def check(usage: Usage) -> list[str]:
    found = []
    total = float(usage.choice_spend.sum())
    for rule, share in zip(usage.rules.balance, shares(usage.portfolio, usage.rules, usage.choice_spend, usage.choice_experience)):
        if rule.min_share is not None and total > 0 and share < rule.min_share - TOLERANCE:
            found.append(f"{share:.1%} of spend goes to {rule.label}; at least {rule.min_share:.0%} is required")
        if rule.max_share is not None and share > rule.max_share + TOLERANCE:
            found.append(f"{share:.1%} of spend goes to {rule.label}; at most {rule.max_share:.0%} is allowed")
    return found


def used(spec: RuleSpec, usage: Usage) -> float:
    share_of = dict(zip(usage.rules.balance, shares(usage.portfolio, usage.rules, usage.choice_spend, usage.choice_experience)))
    return share_of[spec.balance]


def conflict(portfolio: Portfolio, spec: RuleSpec, needed: float) -> str:
    return f"the plan cannot put {spec.sense} {spec.limit:.0%} of its spend on {spec.balance.label} within the other rules"


FAMILY = Family(
    name="balance", plan_wide=True, keys=("balance",), parse=parse, problems=problems, specs=specs, rows=rows, check=check, used=used,
    conflict=conflict, marginal="the NPV a rule one share point looser would add (per 1.0 of share, i.e. 100 points)",
)
