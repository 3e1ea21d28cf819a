"""The requires family: a dependent starts only once its prerequisite is funded and live
(frontstage after its backstage enabler). The workbook's Requires column sets it; it has no
scenario keys and no amount, so no marginal value: an infeasibility names the dependency.
"""

from __future__ import annotations

import numpy as np

from planner.core.domain import normalise_id, quarter_label
from planner.rules.base import LINK_SLACK_WEIGHT, Build, Family, Usage, must_fund_why


def rows(build: Build) -> None:
    """For each quarter t in which the dependent could start: the dependent's columns starting
    by t are at most the prerequisite's columns live by t (go-live quarter before t). The
    cumulative form is tighter in the LP relaxation than one row per column.
    """
    portfolio, rules, cols, bounds, labels = build.portfolio, build.rules, build.cols, build.bounds, build.labels
    index = {e.key: i for i, e in enumerate(portfolio.experiences)}
    settings = portfolio.settings
    start = cols.start[build.column_ids]
    live_from = start + cols.delivery[build.column_ids]
    for i, experience in enumerate(portfolio.experiences):
        if not experience.requires or bounds[i] == bounds[i + 1] or experience.commitment is not None:  # in flight: its start is history
            continue
        mine = np.arange(bounds[i], bounds[i + 1])
        quarters = np.unique(start[mine])
        started_row, started = np.nonzero(start[mine][None, :] <= quarters[:, None])
        for ref in experience.requires:
            j = index[normalise_id(ref)]
            theirs = np.arange(bounds[j], bounds[j + 1])
            prerequisite = portfolio.experiences[j]
            # What forces the conflict, when the scenario does: said with the rule it breaks.
            causes = ([f"{experience.id} is {must_fund_why(experience, rules)}"] if rules.must_fund(experience) else []) + (
                [f"{prerequisite.id} is forced out by the scenario"] if prerequisite.key in rules.forced_out else [])
            live_row, live = np.nonzero(live_from[theirs][None, :] <= quarters[:, None])
            names, meanings = [], []
            for t in quarters.tolist():
                label = quarter_label(settings, t)
                names.append(f"requires_{labels[i]}_{labels[j]}_{label}")
                meanings.append(f"{experience.id} requires {prerequisite.id} to be funded and live before it starts ({label})"
                                + (f", but {' and '.join(causes)}" if causes else ""))
            build.rows.add(names, "L", 0.0, LINK_SLACK_WEIGHT, np.concatenate([started_row, live_row]),
                           np.concatenate([mine[started], theirs[live]]), np.concatenate([np.ones(len(started)), -np.ones(len(live))]),
                           meanings)


def check(usage: Usage) -> list[str]:
    """Every funded experience not in flight has each prerequisite funded and live before it starts."""
    portfolio = usage.portfolio
    go_live = {portfolio.experiences[i].key: start + option.delivery_quarters - 1
               for i, option, start in zip(usage.choice_experience.tolist(), usage.choice_option, usage.choice_start.tolist())}
    problems = []
    for i, start in zip(usage.choice_experience.tolist(), usage.choice_start.tolist()):
        experience = portfolio.experiences[i]
        for ref in experience.requires if experience.commitment is None else ():
            live = go_live.get(normalise_id(ref))
            if live is None:
                problems.append(f"{experience.id} is funded but its prerequisite {ref} is not")
            elif live >= start:
                problems.append(f"{experience.id} starts in quarter {start}, before its prerequisite {ref} is live")
    return problems


def prerequisites_of_anything(portfolio) -> set[int]:
    """The experiences something requires (enablers)."""
    index = {e.key: i for i, e in enumerate(portfolio.experiences)}
    return {index[normalise_id(ref)] for e in portfolio.experiences for ref in e.requires}


FAMILY = Family(name="requires", rows=rows, check=check,
                marginal="none: a dependency has no amount to add; an infeasibility names the dependency")
