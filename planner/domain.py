"""Domain objects: experiences, funding options, teams, budget, settings and the portfolio.

These are frozen dataclasses built once, at the input boundary (`planner.workbook`, or
directly in Python). Everything behind the boundary trusts them: ids are unique
(case-insensitively), references resolve, numbers are in range. `validate_portfolio`
checks the cross-references for portfolios built in Python; the workbook reader reports
the same problems with sheet/row/column locations.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from planner.errors import InputError, Problem

Layer = Literal["frontstage", "backstage"]
LAYERS: tuple[str, ...] = ("frontstage", "backstage")
SOLVERS: tuple[str, ...] = ("cbc", "highs")
START_MODES: tuple[str, ...] = ("free", "fixed")


@dataclass(frozen=True)
class FundingOption:
    """One way to fund an experience (lean, standard, premium...).

    `attention` maps team name to the total team-weeks of that team the option needs,
    spread evenly over its delivery quarters; the owning team's share is listed first.
    `uplift_share` is the fraction of the experience's full uplift this option achieves.
    """

    name: str
    one_off_cost: float
    run_cost_per_quarter: float
    attention: tuple[tuple[str, float], ...]
    delivery_quarters: int
    uplift_share: float

    @property
    def total_attention(self) -> float:
        return sum(weeks for _, weeks in self.attention)


@dataclass(frozen=True)
class Commitment:
    """An experience already under way: its option and start are committed.

    `start_quarter` counts from the horizon's first quarter and is negative when the work
    started before it. `remaining_one_off` is the one-off cost still to pay from the first
    quarter on (from actuals), spread over the delivery quarters left; None means the
    plan's even spread. `spent_to_date` is sunk: reported, never counted as a saving.
    """

    option: str
    start_quarter: int
    remaining_one_off: float | None = None
    spent_to_date: float = 0.0


@dataclass(frozen=True)
class Experience:
    """A customer experience managed as an asset (a journey, touchpoint or service improvement)."""

    id: str
    name: str
    journey_stage: str
    channel: str
    product_line: str
    layer: str
    team: str
    reach_per_quarter: float
    outcome: str
    value_per_outcome: float
    uplift_low: float
    uplift_base: float
    uplift_high: float
    options: tuple[FundingOption, ...]
    mandatory: bool = False
    requires: tuple[str, ...] = ()
    excludes: tuple[str, ...] = ()
    earliest_start: int = 0
    description: str = ""
    commitment: Commitment | None = None

    @property
    def key(self) -> str:
        """The id as compared: ids are unique regardless of case and surrounding spaces."""
        return normalise_id(self.id)

    def full_benefit_per_quarter(self) -> float:
        """Benefit per quarter at full uplift (base estimate), before the option's share."""
        return self.reach_per_quarter * self.uplift_base * self.value_per_outcome


@dataclass(frozen=True)
class Team:
    """A pool of attention: capacity in team-weeks for each quarter of the horizon."""

    name: str
    capacity: tuple[float, ...]


@dataclass(frozen=True)
class Settings:
    """Planning settings; every field has the default a finance analyst would expect."""

    currency: str = "EUR"
    first_quarter: str = "2027Q1"
    horizon_quarters: int = 8
    annual_discount_rate: float = 0.08
    ramp_quarters: int = 0
    # Benefits (and run costs) after the horizon count for this many extra quarters.
    tail_quarters: int = 0
    start_quarters: str = "free"
    solver: str = "cbc"
    time_limit_seconds: float = 60.0
    gap: float = 0.001


@dataclass(frozen=True)
class Portfolio:
    """Everything the optimiser needs: experiences, teams, money, settings, and where it came from.

    `budget` is the money available in each quarter of the horizon (its length is the
    horizon); `total_budget`, when set, caps the spend over the whole horizon as well.
    """

    experiences: tuple[Experience, ...]
    teams: tuple[Team, ...]
    budget: tuple[float, ...]
    settings: Settings = field(default_factory=Settings)
    total_budget: float | None = None
    source: str = ""
    source_sha256: str = ""

    @property
    def horizon(self) -> int:
        return self.settings.horizon_quarters

    def experience(self, experience_id: str) -> Experience:
        key = normalise_id(experience_id)
        for experience in self.experiences:
            if experience.key == key:
                return experience
        raise KeyError(experience_id)

    def team(self, name: str) -> Team:
        for team in self.teams:
            if team.name.casefold() == name.casefold():
                return team
        raise KeyError(name)


def normalise_id(value: str) -> str:
    return str(value).strip().casefold()


_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*Q([1-4])\s*$", re.IGNORECASE)


def parse_quarter(label: str) -> tuple[int, int]:
    """'2027Q1' or '2027-Q1' -> (2027, 1); raises ValueError otherwise."""
    match = _QUARTER.match(str(label))
    if not match:
        raise ValueError(f'"{label}" is not a quarter like 2027Q1')
    return int(match.group(1)), int(match.group(2))


def quarter_label(settings: Settings, quarter: int) -> str:
    """The label of quarter `quarter` (0-based from the first quarter of the horizon)."""
    year, number = parse_quarter(settings.first_quarter)
    index = year * 4 + (number - 1) + quarter
    return f"{index // 4}Q{index % 4 + 1}"


def quarter_labels(settings: Settings) -> list[str]:
    return [quarter_label(settings, q) for q in range(settings.horizon_quarters)]


def find_cycles(requires: dict[str, tuple[str, ...]]) -> list[list[str]]:
    """Each dependency cycle once, as the list of keys around it.

    Depth-first search with an explicit stack: a chain of thousands of dependencies must not
    hit Python's recursion limit.
    """
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    for root in requires:
        if root in state:
            continue
        path: list[str] = [root]
        pending: list[list[str]] = [list(requires.get(root, ()))]
        state[root] = 1
        while path:
            if not pending[-1]:
                state[path.pop()] = 2
                pending.pop()
                continue
            nxt = pending[-1].pop()
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt in requires and nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                pending.append(list(requires.get(nxt, ())))
    return cycles


def portfolio_problems(portfolio: Portfolio) -> list[Problem]:
    """Cross-reference and range problems of a portfolio built in Python, without locations.

    The workbook reader reports the same rules with sheet/row/column locations; this is the
    check for portfolios that never passed through a workbook (tests, notebooks, benchmarks).
    """
    problems: list[Problem] = []
    horizon = portfolio.horizon
    team_names = {team.name.casefold() for team in portfolio.teams}
    if len(portfolio.budget) != horizon:
        problems.append(Problem("budget", f"has {len(portfolio.budget)} quarters; the horizon has {horizon}"))
    for team in portfolio.teams:
        if len(team.capacity) != horizon:
            problems.append(Problem(f"team {team.name}", f"capacity has {len(team.capacity)} quarters; the horizon has {horizon}"))
    keys: dict[str, Experience] = {}
    for experience in portfolio.experiences:
        where = f"experience {experience.id}"
        if experience.key in keys:
            problems.append(Problem(where, "duplicate id"))
        keys[experience.key] = experience
        if experience.layer not in LAYERS:
            problems.append(Problem(where, f'layer "{experience.layer}" is not frontstage or backstage'))
        if experience.team.casefold() not in team_names:
            problems.append(Problem(where, f'team "{experience.team}" is not a known team'))
        if not 0 <= experience.uplift_low <= experience.uplift_base <= experience.uplift_high <= 1:
            problems.append(Problem(where, "uplift must satisfy 0 <= low <= base <= high <= 1"))
        if not experience.options:
            problems.append(Problem(where, "has no funding option"))
        if experience.commitment is not None and experience.commitment.option not in {o.name for o in experience.options}:
            problems.append(Problem(where, f'is in flight with option "{experience.commitment.option}", which is not one of its options'))
        for option in experience.options:
            if min(option.one_off_cost, option.run_cost_per_quarter, option.total_attention) < 0:
                problems.append(Problem(where, f"option {option.name} has a negative cost or attention"))
            if option.delivery_quarters < 1:
                problems.append(Problem(where, f"option {option.name} must take at least one quarter to deliver"))
            for team, _ in option.attention:
                if team.casefold() not in team_names:
                    problems.append(Problem(where, f'option {option.name} needs unknown team "{team}"'))
    for experience in portfolio.experiences:
        for ref in experience.requires + experience.excludes:
            if normalise_id(ref) not in keys:
                problems.append(Problem(f"experience {experience.id}", f'refers to unknown experience "{ref}"'))
        for ref in experience.excludes:
            other = keys.get(normalise_id(ref))
            if other is not None and experience.mandatory and other.mandatory:
                problems.append(Problem(f"experience {experience.id}", f"is mandatory and excludes mandatory {other.id}"))
    graph = {e.key: tuple(normalise_id(r) for r in e.requires) for e in portfolio.experiences}
    for cycle in find_cycles(graph):
        names = " -> ".join(keys[k].id for k in cycle)
        problems.append(Problem("requires", f"circular dependency: {names}"))
    return problems


def validate_portfolio(portfolio: Portfolio) -> Portfolio:
    """Return the portfolio unchanged, or raise InputError listing every problem."""
    problems = portfolio_problems(portfolio)
    if problems:
        raise InputError(problems)
    return portfolio
