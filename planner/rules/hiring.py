"""The hiring family: extra team capacity bought at a price per team-week, chosen by the optimiser.

Scenario key (one entry per team; every sub-key but the price is optional):

    hiring:
      Digital: {cost_per_team_week: 12000, max_team_weeks: 20}
      Data:
        cost_per_team_week: 9000
        max_team_weeks: {2027Q1: 10, 2027Q2: 5}   # or one number for every quarter, or a list
        max_total_team_weeks: 12                  # over the horizon

The model buys h(team, quarter) >= 0 team-weeks: they add to that team's capacity in that
quarter, their cost counts against that quarter's budget (and the total budget), comes off
the NPV (discounted like any cash of the quarter) and counts as a cost in the ROI hurdle.
Balance shares are of the spend on experiences: capacity bought belongs to no group.
A quarter a `{quarter: weeks}` cap does not name allows no buying. Without `max_team_weeks`
nothing is capped per quarter but the budget.

Given the funded choices, the cheapest purchase is exactly each team's shortfall
(attention beyond capacity), so the plan's purchases are recomputed from its choices
(`account`), never read from the solver. The greedy baseline buys nothing: it works with
the teams it has, the spreadsheet habit the optimiser must beat.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from planner.core.domain import Portfolio, normalise_quarter, quarter_label
from planner.core.economics import discount_factors
from planner.core.errors import Problem
from planner.rules.base import Build, Family, Reader, RuleCost, RuleSpec, Rules, Usage, did_you_mean, team_slugs

KEYS = ("cost_per_team_week", "max_team_weeks", "max_total_team_weeks")
TOLERANCE = 1e-6
UNLIMITED = math.inf


@dataclass(frozen=True)
class TeamHiring:
    """What one team may buy: the price per team-week and the caps as the scenario gives them."""

    team: str
    cost_per_team_week: float
    per_quarter: tuple[float, ...] | None = None  # one value for every quarter, or one per quarter
    by_quarter: tuple[tuple[str, float], ...] = ()  # {2027Q1: 10}: only the quarters named
    total: float | None = None


def parse(reader: Reader, data: dict) -> dict[str, Any]:
    hiring = data["hiring"]
    if not isinstance(hiring, dict) or not hiring:
        reader.problem("hiring", "must map team names to {cost_per_team_week: amount, max_team_weeks: weeks}")
        return {}
    teams = []
    for name, entry in hiring.items():
        prefix = f"hiring.{name}"
        if not isinstance(entry, dict):
            reader.problem(prefix, "must be a mapping like {cost_per_team_week: 12000, max_team_weeks: 20}", hiring, name)
            continue
        reader.unknown_keys(entry, KEYS, f"{prefix}.")
        cost = entry.get("cost_per_team_week")
        if not _is_number(cost) or cost <= 0:
            found = "is required" if cost is None else f"{cost!r} is not an amount > 0"
            reader.problem(f"{prefix}.cost_per_team_week", f"{found}: the price of one team-week bought{reader.hint(cost)}",
                           entry if "cost_per_team_week" in entry else hiring, "cost_per_team_week" if "cost_per_team_week" in entry else name)
            continue
        per_quarter, by_quarter = None, ()
        if "max_team_weeks" in entry:
            per_quarter, by_quarter = _caps(reader, f"{prefix}.max_team_weeks", entry["max_team_weeks"], entry)
        total = entry.get("max_total_team_weeks")
        if total is not None and (not _is_number(total) or total < 0):
            reader.problem(f"{prefix}.max_total_team_weeks", f"{total!r} is not a number of team-weeks >= 0", entry, "max_total_team_weeks")
            total = None
        teams.append(TeamHiring(reader.text(name), float(cost), per_quarter, by_quarter, None if total is None else float(total)))
    return {"hiring": tuple(teams)}


def _caps(reader: Reader, key_path: str, value: Any, entry: dict) -> tuple[tuple[float, ...] | None, tuple[tuple[str, float], ...]]:
    """Team-weeks as numbers >= 0: one, a list per quarter or {quarter: weeks}; a change (+10%, +5) means nothing here."""
    per_quarter, by_quarter = reader.amounts(key_path, value, entry, "max_team_weeks")
    amounts = list(per_quarter or ()) + [amount for _, amount in by_quarter]
    if any(amount.relative or amount.added or amount.value < 0 for amount in amounts):
        reader.problem(key_path, "must be team-weeks >= 0 without a sign (a cap, not a change)", entry, "max_team_weeks")
        return (0.0,), ()
    return (None if per_quarter is None else tuple(a.value for a in per_quarter)), tuple((label, a.value) for label, a in by_quarter)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def problems(portfolio: Portfolio, scenario, place) -> list[Problem]:
    """Teams the workbook lacks, lists of the wrong length, quarters outside the horizon."""
    found = []
    teams = [team.name for team in portfolio.teams]
    horizon = scenario.horizon_quarters or portfolio.horizon
    settings = replace(portfolio.settings, horizon_quarters=horizon)
    labels = {quarter_label(settings, q) for q in range(horizon)}
    for hiring in dict(scenario.rule_settings).get("hiring", ()):
        key = f"hiring.{hiring.team}"
        if hiring.team.casefold() not in {t.casefold() for t in teams}:
            found.append(Problem(place(key), f'"{hiring.team}" is not a team in the workbook{did_you_mean(hiring.team, teams)}'))
        if hiring.per_quarter is not None and len(hiring.per_quarter) not in (1, horizon):
            found.append(Problem(place(f"{key}.max_team_weeks"), f"has {len(hiring.per_quarter)} values; give one, or one per quarter ({horizon})"))
        for label, _ in hiring.by_quarter:
            if _quarter(settings, label) not in labels:
                found.append(Problem(place(f"{key}.max_team_weeks.{label}"),
                                     f"is not a quarter of the horizon ({quarter_label(settings, 0)} to {quarter_label(settings, horizon - 1)})"))
    return found


def _quarter(settings, label: str) -> str | None:
    try:
        return normalise_quarter(settings, str(label))
    except ValueError:
        return None


@dataclass(frozen=True)
class _Terms:
    """The hiring terms resolved against the portfolio: per team (portfolio order) and quarter."""

    cost: np.ndarray  # per team; 0 where the team cannot buy
    cap: np.ndarray  # teams x quarters; 0 where nothing may be bought
    total: np.ndarray  # per team; inf where not capped
    offered: np.ndarray  # per team: whether the scenario lets it buy


def terms(portfolio: Portfolio, rules: Rules) -> _Terms:
    teams, horizon = len(portfolio.teams), portfolio.horizon
    cost, cap = np.zeros(teams), np.zeros((teams, horizon))
    total, offered = np.full(teams, UNLIMITED), np.zeros(teams, dtype=bool)
    index = {team.name.casefold(): t for t, team in enumerate(portfolio.teams)}
    labels = [quarter_label(portfolio.settings, q) for q in range(horizon)]
    for hiring in rules.setting("hiring", ()):
        t = index[hiring.team.casefold()]
        cost[t], offered[t] = hiring.cost_per_team_week, True
        if hiring.per_quarter is not None:
            values = hiring.per_quarter * horizon if len(hiring.per_quarter) == 1 else hiring.per_quarter
            cap[t] = values[:horizon]
        elif hiring.by_quarter:
            for label, weeks in hiring.by_quarter:
                cap[t, labels.index(_quarter(portfolio.settings, label))] = weeks
        else:
            cap[t] = UNLIMITED
        if hiring.total is not None:
            total[t] = hiring.total
    return _Terms(cost, cap, total, offered)


def specs(portfolio: Portfolio, rules: Rules) -> list[RuleSpec]:
    """A cap per team and quarter in which buying is allowed and capped, and per team over the horizon."""
    if not rules.setting("hiring"):
        return []
    found = []
    deal = terms(portfolio, rules)
    slugs = team_slugs(portfolio)
    for t, team in enumerate(portfolio.teams):
        if not deal.offered[t]:
            continue
        for q in range(portfolio.horizon):
            if 0 < deal.cap[t, q] < UNLIMITED:
                label = quarter_label(portfolio.settings, q)
                found.append(RuleSpec(f"hiring_{slugs[team.name]}_{label}", "hiring", f"{team.name} capacity bought {label}", q, team.name,
                                      float(deal.cap[t, q]), "team-weeks"))
        if deal.total[t] < UNLIMITED:
            found.append(RuleSpec(f"hiring_{slugs[team.name]}_total", "hiring", f"{team.name} capacity bought over the horizon", None,
                                  team.name, float(deal.total[t]), "team-weeks"))
    return found


def rows(build: Build) -> None:
    """h(team, quarter) team-weeks bought: in the team's capacity row (-1), the quarter's and the total
    budget rows (+price), the hurdle row (-(1 + hurdle) x PV of the price), the objective (-PV of the
    price, NPV objective only), and its own caps."""
    if not build.rules.setting("hiring"):
        return
    portfolio, rules = build.portfolio, build.rules
    deal = terms(portfolio, rules)
    discount = build.discount()
    named = {(spec.kind, spec.team, spec.quarter): spec for spec in build.specs}
    hurdle = rules.roi_hurdle
    totals: dict[str, list[int]] = {}
    for t, team in enumerate(portfolio.teams):
        for q in range(portfolio.horizon):
            if not deal.offered[t] or deal.cap[t, q] <= 0:
                continue
            price, pv = deal.cost[t], deal.cost[t] * discount[q]
            label = quarter_label(portfolio.settings, q)
            [h] = build.rows.add_variables([f"hire_{team.name}_{label}"], [-pv if rules.objective == "npv" else 0.0])
            targets = [(named[("capacity", team.name, q)].name, -1.0), (named[("budget", None, q)].name, price)]
            if ("total_budget", None, None) in named:
                targets.append(("budget_total", price))
            if hurdle is not None:
                targets.append(("roi_hurdle", -(1.0 + hurdle) * pv))
            build.rows.add_entries([name for name, _ in targets], [h] * len(targets), [c for _, c in targets])
            cap = named.get(("hiring", team.name, q))
            if cap is not None:
                # Relaxing what may be bought weighs less than relaxing the team's capacity, so a
                # conflict that buying could settle names the cap ("would need 15 bought, 5 allowed").
                weight = 0.5 / max(cap.limit + portfolio.teams[t].capacity[q], 1.0)
                build.rows.add([cap.name], "L", cap.limit, weight, [0], [h], 1.0,
                               [f"at most {cap.limit:,.1f} team-weeks of {team.name} may be bought in {label}"])
            totals.setdefault(team.name, []).append(h)
    for team, variables in totals.items():
        cap = named.get(("hiring", team, None))
        if cap is not None:
            capacity = sum(next(t for t in portfolio.teams if t.name == team).capacity)
            build.rows.add([cap.name], "L", cap.limit, 0.5 / max(cap.limit + capacity, 1.0), np.zeros(len(variables)), variables, 1.0,
                           [f"at most {cap.limit:,.1f} team-weeks of {team} may be bought over the horizon"])


def bought(usage: Usage) -> np.ndarray:
    """Team-weeks the plan must buy (teams x quarters): each offering team's attention beyond its capacity."""
    portfolio = usage.portfolio
    deal = terms(portfolio, usage.rules)
    capacity = np.array([team.capacity for team in portfolio.teams], dtype=float).reshape(len(portfolio.teams), portfolio.horizon)
    shortfall = np.maximum(0.0, usage.attention - capacity)
    shortfall[shortfall <= 1e-9] = 0.0  # what floating-point sums leave over is not a purchase
    return np.where(deal.offered[:, None], shortfall, 0.0)


def account(usage: Usage) -> None:
    """The cheapest purchase for the plan's choices: its cost in each quarter's spend, its weeks in capacity."""
    if not usage.rules.setting("hiring"):
        return
    portfolio = usage.portfolio
    deal = terms(portfolio, usage.rules)
    weeks = bought(usage)
    discount = discount_factors(portfolio.settings, portfolio.horizon)
    for t, q in zip(*np.nonzero(weeks)):
        spend = float(weeks[t, q] * deal.cost[t])
        usage.extra_spend[q] += spend
        usage.extra_capacity[t, q] += weeks[t, q]
        team = portfolio.teams[t].name
        usage.costs.append(RuleCost("hiring", f"{team} capacity bought {quarter_label(portfolio.settings, q)}", team, int(q),
                                    float(weeks[t, q]), "team-weeks", spend, spend * float(discount[q])))


def check(usage: Usage) -> list[str]:
    if not usage.rules.setting("hiring"):
        return []
    portfolio = usage.portfolio
    deal = terms(portfolio, usage.rules)
    weeks = bought(usage)
    found = []
    for t, q in zip(*np.nonzero(weeks > deal.cap + TOLERANCE * np.maximum(1.0, np.where(np.isfinite(deal.cap), deal.cap, 1.0)))):
        found.append(f"team {portfolio.teams[t].name} needs {weeks[t, q]:,.2f} team-weeks bought in {quarter_label(portfolio.settings, q)}; "
                     f"at most {deal.cap[t, q]:,.2f} may be bought")
    for t in np.nonzero(weeks.sum(axis=1) > deal.total + TOLERANCE * np.maximum(1.0, np.where(np.isfinite(deal.total), deal.total, 1.0)))[0]:
        found.append(f"team {portfolio.teams[t].name} needs {weeks[t].sum():,.2f} team-weeks bought over the horizon; "
                     f"at most {deal.total[t]:,.2f} may be bought")
    return found


def used(spec: RuleSpec, usage: Usage) -> float:
    t = [team.name for team in usage.portfolio.teams].index(spec.team)
    weeks = bought(usage)[t]
    return float(weeks.sum() if spec.quarter is None else weeks[spec.quarter])


def conflict(portfolio: Portfolio, spec: RuleSpec, needed: float) -> str:
    when = "over the horizon" if spec.quarter is None else f"in {quarter_label(portfolio.settings, spec.quarter)}"
    return (f"team {spec.team} would need {needed:,.1f} team-weeks bought {when} for the mandatory and forced-in experiences; "
            f"at most {spec.limit:,.1f} may be bought")


def shown(teams: tuple[TeamHiring, ...] | None) -> str:
    """'Digital: 12,000 a team-week, at most 20 a quarter; ...' or 'none'."""
    if not teams:
        return "none"
    parts = []
    for hiring in teams:
        caps = ([f"at most {', '.join(f'{w:g}' for w in hiring.per_quarter)} a quarter"] if hiring.per_quarter is not None else []) + (
            [f"at most {', '.join(f'{q}: {w:g}' for q, w in hiring.by_quarter)}"] if hiring.by_quarter else []) + (
            [f"at most {hiring.total:g} over the horizon"] if hiring.total is not None else [])
        parts.append(f"{hiring.team}: {hiring.cost_per_team_week:,.0f} a team-week" + (f", {', '.join(caps)}" if caps else ""))
    return "; ".join(parts)


FAMILY = Family(
    name="hiring", keys=("hiring",), parse=parse, problems=problems, specs=specs, rows=rows, account=account, check=check,
    used=used, conflict=conflict, plan_wide=True, shown=shown, adds=lambda portfolio, rules: bool(rules.setting("hiring")),
    marginal="the NPV one more team-week allowed to be bought for that team (in that quarter, or over the horizon) would add",
)
