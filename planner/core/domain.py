"""Domain objects: experiences, funding options, teams, budget, settings and the portfolio.

These are frozen dataclasses built once, at the input boundary (`planner.inputs.workbook`, or
directly in Python). Everything behind the boundary trusts them: ids are unique
(case-insensitively), references resolve, numbers are in range. `validate_portfolio`
checks the cross-references for portfolios built in Python; the workbook reader reports
the same problems with sheet/row/column locations.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

from planner.core.errors import InputError, Problem

Layer = Literal["frontstage", "backstage"]
LAYERS: tuple[str, ...] = ("frontstage", "backstage")
SOLVERS: tuple[str, ...] = ("cbc", "highs")
START_MODES: tuple[str, ...] = ("free", "fixed")
# Journey stages in the order a customer lives them: the order reports use unless Settings give another.
DEFAULT_STAGE_ORDER: tuple[str, ...] = ("discover", "choose", "buy", "use", "get help", "renew or leave")


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
    # From actuals: "on track", "late" or "done"; reported beside the plan, not priced.
    status: str = "on track"


@dataclass(frozen=True)
class Estimates:
    """How uncertain an experience's inputs are, beyond the uplift's low/base/high.

    Each None means certain: reach low/high are customers per quarter around the base reach;
    cost low/high multiply every option's one-off cost (0.9 and 1.4 for -10% / +40%); a
    delivery may slip by up to `slip_high` quarters (0 most likely). `planner.analysis.risk` samples
    them; the plan itself uses the base values.
    """

    reach_low: float | None = None
    reach_high: float | None = None
    cost_low: float | None = None
    cost_high: float | None = None
    slip_high: int = 0

    @property
    def certain(self) -> bool:
        return self == Estimates()


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
    # The accountable executive (a person, not the delivering team) and the customer journey
    # it belongs to: read from the workbook and listed, never used by the optimiser.
    owner: str = ""
    journey: str = ""
    # Experiences in one overlap group reach the same customers at the same stage: their
    # combined uplift has diminishing returns, 1 - product of (1 - u) (docs/model.md).
    overlap_group: str = ""
    estimates: Estimates = field(default_factory=Estimates)
    # The id as compared: ids are unique regardless of case and surrounding spaces. Computed
    # once: readers and the optimiser compare ids hundreds of thousands of times.
    key: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", normalise_id(self.id))

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
    # Month (1-12) the finance year starts in: 1 gives calendar quarters (2027Q1), 4 gives FY28 Q1 for April-June 2027.
    fiscal_year_start: int = 1
    horizon_quarters: int = 8
    annual_discount_rate: float = 0.08
    ramp_quarters: int = 0
    # Benefits (and run costs) after the horizon count for this many extra quarters.
    tail_quarters: int = 0
    start_quarters: str = "free"
    solver: str = "cbc"
    time_limit_seconds: float = 60.0
    gap: float = 0.001
    # The order of the customer journey's stages, used wherever stages are listed; empty
    # means the default (discover, choose, buy, use, get help, renew or leave).
    journey_stages: tuple[str, ...] = ()


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


# ---------------------------------------------------------------------------------------
# The finance calendar: quarter labels and quarter arithmetic
#
# A quarter has an ordinal: fiscal year x 4 + (fiscal quarter - 1). A fiscal year is named
# after the calendar year in which it ends (UK and US practice): with the year starting in
# April, FY28 runs from April 2027 to March 2028 and FY28 Q1 is April-June 2027. With the
# year starting in January (the default) the fiscal year is the calendar year and labels
# keep the calendar form 2027Q1. Either form is read anywhere a quarter is expected; a
# calendar label always means the calendar quarter (2027Q2 is April-June 2027).

MONTHS: tuple[str, ...] = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
                           "October", "November", "December")
_QUARTER = re.compile(r"^\s*(\d{4})\s*-?\s*Q([1-4])\s*$", re.IGNORECASE)
_FISCAL_QUARTER = re.compile(r"^\s*FY\s*'?\s*(\d{2}|\d{4})\s*[-/ ]?\s*Q([1-4])\s*$", re.IGNORECASE)


def parse_quarter(label: str) -> tuple[int, int]:
    """'2027Q1' or '2027-Q1' -> (2027, 1): a calendar quarter; raises ValueError otherwise."""
    match = _QUARTER.match(str(label))
    if not match:
        raise ValueError(f'"{label}" is not a quarter like 2027Q1')
    return int(match.group(1)), int(match.group(2))


def parse_fiscal_quarter(label: str) -> tuple[int, int]:
    """'FY28 Q1', 'FY2028-Q1' or 'fy28q1' -> (2028, 1): a fiscal year and quarter; ValueError otherwise."""
    match = _FISCAL_QUARTER.match(str(label))
    if not match:
        raise ValueError(f'"{label}" is not a quarter like FY28 Q1')
    year = int(match.group(1))
    return (2000 + year if year < 100 else year), int(match.group(2))


def _read_label(label: str) -> tuple[bool, int, int]:
    """(is fiscal, year, quarter number) of a label in either form; ValueError if neither.

    Text is read through a cache: rule names and reasons label a quarter for every row of a
    large model, and a horizon has few labels (a bad label raises every time: errors are not cached).
    """
    return _read_text_label(label) if isinstance(label, str) else _parse_label(label)


@functools.lru_cache(maxsize=4096)
def _read_text_label(label: str) -> tuple[bool, int, int]:
    return _parse_label(label)


def _parse_label(label: str) -> tuple[bool, int, int]:
    for fiscal, parse in ((True, parse_fiscal_quarter), (False, parse_quarter)):
        try:
            return (fiscal, *parse(label))
        except ValueError:
            pass
    raise ValueError(f'"{label}" is not a quarter like 2027Q1 or FY28 Q1')


def tidy_quarter(label: str) -> str:
    """A quarter label in its standard spelling ('2027-q1' -> '2027Q1', 'fy2028q1' -> 'FY28 Q1'); ValueError if neither form."""
    fiscal, year, number = _read_label(label)
    return f"FY{year % 100:02d} Q{number}" if fiscal else f"{year}Q{number}"


@dataclass(frozen=True)
class FiscalCalendar:
    """Quarters of a finance year starting in `start_month` (1-12), as ordinals and labels."""

    start_month: int = 1

    def ordinal(self, label: str) -> int:
        """The quarter's ordinal (fiscal year x 4 + quarter - 1), from either form of label."""
        try:
            fiscal, year, number = _read_label(label)
        except ValueError:
            raise ValueError(f'"{label}" is not a quarter like {self.example}') from None
        if fiscal:
            return year * 4 + number - 1
        month = 3 * number - 2
        offset = (month - self.start_month) % 12
        if offset % 3:
            raise ValueError(f'"{label}" is a calendar quarter, but fiscal quarters start in {MONTHS[self.start_month - 1]}: '
                             f"write it like {self.example}")
        return self._fiscal_year(year, month) * 4 + offset // 3

    def _fiscal_year(self, year: int, month: int) -> int:
        """The fiscal year a calendar month falls in: named after the calendar year it ends in."""
        return year + (1 if self.start_month > 1 and month >= self.start_month else 0)

    def label(self, ordinal: int) -> str:
        year, quarter = divmod(ordinal, 4)
        return f"{year}Q{quarter + 1}" if self.start_month == 1 else f"FY{year % 100:02d} Q{quarter + 1}"

    def first_day(self, ordinal: int) -> date:
        """The calendar day the quarter begins."""
        year, quarter = divmod(ordinal, 4)
        months = (year - (1 if self.start_month > 1 else 0)) * 12 + self.start_month - 1 + 3 * quarter
        return date(months // 12, months % 12 + 1, 1)

    @property
    def example(self) -> str:
        return "2027Q1" if self.start_month == 1 else "FY28 Q1"


def calendar_of(settings: Settings) -> FiscalCalendar:
    return FiscalCalendar(settings.fiscal_year_start)


def quarter_ordinal(settings: Settings, label: str) -> int:
    """The ordinal of a quarter label (either form) in the settings' finance calendar; ValueError if not a quarter."""
    return calendar_of(settings).ordinal(label)


def quarter_index(settings: Settings, label: str) -> int:
    """Quarters from the horizon's first quarter to `label` (negative before it); ValueError if not a quarter."""
    return quarter_ordinal(settings, label) - quarter_ordinal(settings, settings.first_quarter)


def quarter_label(settings: Settings, quarter: int) -> str:
    """The label of quarter `quarter` (0-based from the first quarter of the horizon; any integer)."""
    calendar = calendar_of(settings)
    return calendar.label(calendar.ordinal(settings.first_quarter) + quarter)


def quarter_labels(settings: Settings) -> list[str]:
    return [quarter_label(settings, q) for q in range(settings.horizon_quarters)]


def normalise_quarter(settings: Settings, label: str) -> str:
    """A quarter label (either form) as the settings' calendar writes it: 2027Q2 -> FY28 Q1 with April years."""
    calendar = calendar_of(settings)
    return calendar.label(calendar.ordinal(label))


def next_quarter(settings: Settings, label: str) -> str:
    """The label of the quarter after `label`, in the settings' calendar."""
    calendar = calendar_of(settings)
    return calendar.label(calendar.ordinal(label) + 1)


def shift_label(label: str, quarters: int) -> str:
    """The label `quarters` after `label` (before, if negative), in the same form: 2027Q4 + 1 = 2028Q1, FY28 Q4 + 1 = FY29 Q1.

    Counting quarters does not depend on the month the fiscal year starts in, so no settings are needed.
    """
    fiscal, _, _ = _read_label(label)
    calendar = FiscalCalendar(4 if fiscal else 1)
    return calendar.label(calendar.ordinal(label) + quarters)


def quarter_first_day(settings: Settings, quarter: int) -> date:
    """The calendar day quarter `quarter` of the horizon begins."""
    calendar = calendar_of(settings)
    return calendar.first_day(calendar.ordinal(settings.first_quarter) + quarter)


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
    if not 1 <= portfolio.settings.fiscal_year_start <= 12:
        problems.append(Problem("settings", f"fiscal year start {portfolio.settings.fiscal_year_start} is not a month from 1 to 12"))
    else:
        try:
            quarter_ordinal(portfolio.settings, portfolio.settings.first_quarter)
        except ValueError as error:
            problems.append(Problem("settings", f"first quarter: {error}"))
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
