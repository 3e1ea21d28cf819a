"""The capacity family: each team's attention in each quarter within its capacity (team-weeks).

Its scenario key (capacity) changes the capacities themselves and is read with the other
input changes in planner.inputs.scenario. Capacity a family buys (hiring) counts here:
the check allows attention up to capacity plus what was bought. Its marginal value is the
NPV one more team-week of that team in that quarter would add.
"""

from __future__ import annotations

import numpy as np

from planner.core.domain import Portfolio, quarter_label
from planner.rules.base import Build, Family, RuleSpec, Rules, Usage, team_slugs

TOLERANCE = 1e-6


def specs(portfolio: Portfolio, rules: Rules) -> list[RuleSpec]:
    settings = portfolio.settings
    slugs = team_slugs(portfolio)
    found = []
    for team in portfolio.teams:
        for q, limit in enumerate(team.capacity):
            label = quarter_label(settings, q)
            found.append(RuleSpec(f"capacity_{slugs[team.name]}_{label}", "capacity", f"{team.name} capacity {label}", q, team.name,
                                  limit, "team-weeks"))
    return found


def rows(build: Build) -> None:
    """Each team's attention in each quarter within its capacity.

    A column's team-weeks per quarter count in every quarter of its delivery inside the horizon.
    """
    portfolio, cols, keep = build.portfolio, build.cols, build.keep
    capacity = [spec for spec in build.specs if spec.kind == "capacity"]
    team_index = {team.name: t for t, team in enumerate(portfolio.teams)}
    row_of = {(team_index[spec.team], spec.quarter): r for r, spec in enumerate(capacity)}
    horizon = 1 + max((spec.quarter for spec in capacity), default=-1)
    row_at = np.full((len(portfolio.teams), max(horizon, 1)), -1, dtype=np.int64)
    for (t, q), r in row_of.items():
        row_at[t, q] = r
    variable_of = np.cumsum(keep) - 1
    blocks = [], [], []
    for t, (ids, weekly) in enumerate(cols.attention):
        kept = keep[ids]
        ids, weekly = ids[kept], weekly[kept]
        first = np.clip(cols.start[ids], 0, horizon)
        last = np.clip(cols.start[ids] + cols.delivery[ids], 0, horizon)
        spans = last - first
        entry = np.repeat(np.arange(len(ids)), spans)
        quarter = first[entry] + np.arange(len(entry)) - np.repeat(np.cumsum(spans) - spans, spans)
        row = row_at[t, quarter]
        found = row >= 0
        for block, values in zip(blocks, (row[found], variable_of[ids[entry[found]]], weekly[entry[found]])):
            block.append(values)
    row, variable, weeks = (np.concatenate(block) if block else np.zeros(0) for block in blocks)
    build.rows.add([spec.name for spec in capacity], "L", [spec.limit for spec in capacity],
                   [1.0 / max(spec.limit, 1.0) for spec in capacity], row, variable, weeks)


def check(usage: Usage) -> list[str]:
    portfolio = usage.portfolio
    problems = []
    for q in range(portfolio.horizon):
        for t, team in enumerate(portfolio.teams):
            limit = team.capacity[q] + usage.extra_capacity[t, q]
            if usage.attention[t, q] > limit + TOLERANCE * max(1.0, limit):
                bought = f" and {usage.extra_capacity[t, q]:,.2f} bought" if usage.extra_capacity[t, q] > 0 else ""
                problems.append(f"team {team.name} needs {usage.attention[t, q]:,.2f} team-weeks in {quarter_label(portfolio.settings, q)}; "
                                f"capacity {team.capacity[q]:,.2f}{bought}")
    return problems


def used(spec: RuleSpec, usage: Usage) -> float:
    t = [team.name for team in usage.portfolio.teams].index(spec.team)
    return float(usage.attention[t, spec.quarter] - usage.extra_capacity[t, spec.quarter])


def conflict(portfolio: Portfolio, spec: RuleSpec, needed: float) -> str:
    return (f"team {spec.team} needs {needed:,.1f} team-weeks in {quarter_label(portfolio.settings, spec.quarter)} for the mandatory "
            f"and forced-in experiences; its capacity is {spec.limit:,.1f}")


FAMILY = Family(
    name="capacity", specs=specs, rows=rows, check=check, used=used, conflict=conflict,
    marginal="the NPV one more team-week of that team in that quarter would add",
)
