"""The excludes family: alternatives, at most one of an excluding pair funded. The workbook's
Excludes column sets it; it has no scenario keys and no marginal value.
"""

from __future__ import annotations

import numpy as np

from planner.core.domain import normalise_id
from planner.rules.base import LINK_SLACK_WEIGHT, Build, Family, Usage, must_fund_why


def rows(build: Build) -> None:
    """Alternatives: at most one of an excluding pair is funded."""
    portfolio, rules, bounds, labels = build.portfolio, build.rules, build.bounds, build.labels
    index = {e.key: i for i, e in enumerate(portfolio.experiences)}
    done: set[tuple[int, int]] = set()
    for i, experience in enumerate(portfolio.experiences):
        for ref in experience.excludes:
            j = index[normalise_id(ref)]
            pair = (min(i, j), max(i, j))
            if pair in done or bounds[i] == bounds[i + 1] or bounds[j] == bounds[j + 1]:
                continue
            done.add(pair)
            both = np.concatenate([np.arange(bounds[i], bounds[i + 1]), np.arange(bounds[j], bounds[j + 1])])
            other = portfolio.experiences[j]
            build.rows.add(
                [f"excludes_{labels[i]}_{labels[j]}"], "L", 1.0, LINK_SLACK_WEIGHT, np.zeros(len(both)), both, 1.0,
                [f"{experience.id} and {other.id} are alternatives: at most one can be funded"
                 + (f", but {experience.id} is {must_fund_why(experience, rules)} and {other.id} is {must_fund_why(other, rules)}"
                    if rules.must_fund(experience) and rules.must_fund(other) else "")],
            )


def check(usage: Usage) -> list[str]:
    portfolio = usage.portfolio
    funded = {portfolio.experiences[i].key for i in usage.choice_experience.tolist()}
    return [f"{portfolio.experiences[i].id} and its alternative {ref} are both funded"
            for i in usage.choice_experience.tolist() for ref in portfolio.experiences[i].excludes if normalise_id(ref) in funded]


def alternatives_of(portfolio) -> list[set[int]]:
    """For each experience, the experiences it excludes or that exclude it."""
    index = {e.key: i for i, e in enumerate(portfolio.experiences)}
    alternatives: list[set[int]] = [set() for _ in portfolio.experiences]
    for i, experience in enumerate(portfolio.experiences):
        for ref in experience.excludes:
            j = index[normalise_id(ref)]
            alternatives[i].add(j)
            alternatives[j].add(i)
    return alternatives


FAMILY = Family(name="excludes", rows=rows, check=check,
                marginal="none: an exclusion has no amount to add; an infeasibility names the pair")
