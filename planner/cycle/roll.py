"""The quarterly planning cycle: rolling a plan forward from its saved state.

`roll_forward` re-plans from the quarter after the previous plan's first quarter (or the new
workbook's first quarter, if later). Experiences the previous plan started before the new
first quarter are in flight: their option and start are committed (from the workbook's In
flight sheet of actuals, or else from the previous plan, with a warning); they can be stopped
only by the scenario's `stop:` (or `forced_out:`). Quarters before the new first quarter are
history: their cash is sunk. The roll says what changed (`planner.cycle.changes`) and bridges
the previous plan's NPV to the new one by cause (`planner.cycle.bridge`).

The plan state (plan.json) is `planner.cycle.state`; its names are re-exported here.

Library code: nothing here prints; problems are InputError with located messages.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from planner.core.domain import Commitment, Experience, Portfolio, Team, normalise_id, quarter_label, quarter_ordinal
from planner.core.errors import InputError, Problem
from planner.cycle.bridge import Bridge, build_bridge
from planner.cycle.changes import KINDS, TOLERANCE, ActualRow, Change, _Context, actuals_rows, change_kinds, diff_plans
from planner.cycle.state import (
    FILE_NAME, FORMAT, NO_ACTUALS, VERSION, ExperienceState, PlanState, _start_index, cash_at, plan_state, previous_spend,
    read_plan_state, restated_npv, state_json, translate_quarter, write_plan_state,
)
from planner.inputs.scenario import Scenario, key_place
from planner.core.formatting import money as format_money
from planner.optimise.optimiser import plan_portfolio
from planner.optimise.plan import Plan

__all__ = [
    "FILE_NAME", "FORMAT", "KINDS", "NO_ACTUALS", "TOLERANCE", "VERSION", "ActualRow", "Change", "ExperienceState", "PlanState", "Roll",
    "actuals_rows", "cash_at", "change_kinds", "diff_plans", "plan_state", "previous_spend", "read_plan_state", "restated_npv",
    "roll_forward", "state_json", "translate_quarter", "write_plan_state",
]


@dataclass(frozen=True)
class Roll:
    """A plan rolled forward: the previous state, the new plan, what changed, and what the actuals say."""

    previous: PlanState
    plan: Plan
    closed_quarters: tuple[str, ...]
    changes: tuple["Change", ...]
    actuals: tuple["ActualRow", ...]
    news: tuple[str, ...]
    notes: tuple[str, ...]
    warnings: tuple[Problem, ...]
    bridge: Bridge | None = None

    @property
    def stopped(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.changes if "stopped" in c.kinds)


def roll_forward(previous: PlanState, portfolio: Portfolio, scenario: Scenario | None = None,
                 warnings: tuple[Problem, ...] = ()) -> Roll:
    """Re-plan the portfolio from the quarter after the previous plan's first quarter, keeping work in flight.

    `portfolio` is the new workbook (revised estimates, budget, In flight actuals); when its
    first quarter is not after the previous plan's, the quarters already past are dropped
    from it (history). Raises InputError when in-flight work is missing from the workbook or
    the scenario stops work that is not in flight.
    """
    scenario = scenario or Scenario()
    notes: list[str] = []
    warnings = list(warnings)
    portfolio, closed = _align(previous, portfolio, notes)
    portfolio = _commit_in_flight(previous, portfolio, closed, warnings)
    scenario = _check_stops(portfolio, scenario)
    plan = plan_portfolio(portfolio, scenario, start_from=_PreviousChoices.of(previous, portfolio, scenario))
    context = _Context.of(previous, plan)
    bridge = build_bridge(previous, portfolio, scenario, plan)
    return Roll(previous, plan, tuple(closed), diff_plans(previous, plan, context, bridge), actuals_rows(previous, plan, closed),
                context.news, tuple(notes), tuple(warnings), bridge)


def _align(previous: PlanState, portfolio: Portfolio, notes: list[str]) -> tuple[Portfolio, list[str]]:
    """The portfolio from the new first quarter on, and the labels of the quarters closed since the previous plan."""
    settings = portfolio.settings
    try:
        previous_first = quarter_ordinal(settings, translate_quarter(previous.first_quarter, previous.settings.fiscal_year_start, settings))
    except ValueError as error:
        raise InputError(Problem(Path(portfolio.source).name or "workbook", f"the finance calendar changed since the previous plan: {error}")) from error
    first = quarter_ordinal(settings, settings.first_quarter)
    shift = previous_first + 1 - first
    if shift > 0:
        portfolio = _drop_quarters(previous, portfolio, shift, notes)
        settings = portfolio.settings
        first = previous_first + 1
    closed = [quarter_label(settings, q) for q in range(previous_first - first, 0)]
    return portfolio, closed


def _drop_quarters(previous: PlanState, portfolio: Portfolio, shift: int, notes: list[str]) -> Portfolio:
    """The portfolio without its first `shift` quarters: they are past. The horizon keeps its end."""
    settings = portfolio.settings
    if shift >= settings.horizon_quarters:
        raise InputError(Problem(Path(portfolio.source).name or "workbook",
                                 f"its horizon ends in {quarter_label(settings, settings.horizon_quarters - 1)}, before the quarter after "
                                 f"the previous plan's first quarter {previous.first_quarter}: update First quarter and Horizon in Settings"))
    dropped = [quarter_label(settings, q) for q in range(shift)]
    new_settings = replace(settings, first_quarter=quarter_label(settings, shift), horizon_quarters=settings.horizon_quarters - shift)
    total = portfolio.total_budget
    if total is not None:
        spent = sum(previous.spend_by_quarter.get(label, 0.0) for label in dropped)
        total = max(0.0, total - spent)
        notes.append(f"the total budget is reduced by the previous plan's spend in {', '.join(dropped)} "
                     f"({format_money(spent, settings.currency)}) to {format_money(total, settings.currency)}")
    notes.insert(0, f"the workbook starts in {settings.first_quarter}, not after the previous plan's first quarter {previous.first_quarter}: "
                    f"planning from {new_settings.first_quarter} to {quarter_label(settings, settings.horizon_quarters - 1)}; "
                    f"{', '.join(dropped)} {'is' if len(dropped) == 1 else 'are'} history")
    experiences = tuple(_shifted(e, shift) for e in portfolio.experiences)
    teams = tuple(Team(t.name, tuple(t.capacity[shift:])) for t in portfolio.teams)
    return replace(portfolio, experiences=experiences, teams=teams, budget=tuple(portfolio.budget[shift:]),
                   settings=new_settings, total_budget=total)


def _shifted(experience: Experience, shift: int) -> Experience:
    commitment = experience.commitment
    if commitment is not None:
        commitment = replace(commitment, start_quarter=commitment.start_quarter - shift)
    return replace(experience, earliest_start=max(0, experience.earliest_start - shift), commitment=commitment)


def _commit_in_flight(previous: PlanState, portfolio: Portfolio, closed: list[str], warnings: list[Problem]) -> Portfolio:
    """Commit every experience the previous plan started before the new first quarter."""
    settings = portfolio.settings
    workbook = Path(portfolio.source).name or "the workbook"
    by_key = {e.key: e for e in portfolio.experiences}
    problems: list[Problem] = []
    commitments: dict[str, Commitment] = {}
    for state in previous.experiences:
        start = _start_index(previous, state, settings)
        if start is None or start >= 0:
            continue
        experience = by_key.get(state.key)
        where = f"{Path(previous.source).name or 'previous plan'}, experience {state.id}"
        if experience is None:
            problems.append(Problem(where, f"is in flight ({state.option} since {state.start_quarter}) but is not in {workbook}: "
                                           "keep it in the workbook, and list it under stop: in the scenario to stop it"))
            continue
        if experience.commitment is not None:
            continue  # the actuals say how it stands
        if state.option not in {o.name for o in experience.options}:
            problems.append(Problem(where, f'is in flight with option "{state.option}", which {workbook} no longer offers for it; '
                                           "list it on the In flight sheet with its option"))
            continue
        planned_to_date = state.spent_to_date + sum(cash_at(previous, state, "one_off", label, settings) for label in closed)
        commitments[state.key] = Commitment(state.option, start, None, planned_to_date, NO_ACTUALS)
        warnings.append(Problem(f"{workbook}, sheet In flight",
                                f"{state.id} was in flight in the previous plan ({state.option} since {state.start_quarter}) but has no row: "
                                "committed as the previous plan had it, with its planned remaining cost", "warning"))
    if problems:
        raise InputError(problems)
    experiences = tuple(replace(e, commitment=commitments[e.key]) if e.key in commitments else e for e in portfolio.experiences)
    return replace(portfolio, experiences=experiences)


def _check_stops(portfolio: Portfolio, scenario: Scenario) -> Scenario:
    """Stopping is only for work in flight; the scenario's stops are forced out for the optimiser."""
    in_flight = {e.key for e in portfolio.experiences if e.commitment is not None}
    problems = [Problem(key_place(scenario, "stop"), f'"{ref}" is not in flight: to leave out work that has not started, use forced_out')
                for ref in scenario.stop if normalise_id(ref) not in in_flight and normalise_id(ref) in {e.key for e in portfolio.experiences}]
    if problems:
        raise InputError(problems)
    known = {normalise_id(i) for i in scenario.forced_out}
    return replace(scenario, forced_out=tuple(scenario.forced_out) + tuple(i for i in scenario.stop if normalise_id(i) not in known))


@dataclass(frozen=True)
class _Choice:
    experience: Experience
    option: str
    start_quarter: int


@dataclass(frozen=True)
class _PreviousChoices:
    """The previous plan's choices still open, in the shape `plan_portfolio(start_from=...)` reads: the solver's first incumbent.

    Starting from them keeps the new plan equal to the previous one wherever nothing better is
    found: no churn without cause.
    """

    funded: tuple[_Choice, ...]

    @classmethod
    def of(cls, previous: PlanState, portfolio: Portfolio, scenario: Scenario) -> "_PreviousChoices | None":
        out = {normalise_id(i) for i in scenario.forced_out}
        by_key = {e.key: e for e in portfolio.experiences}
        choices = []
        for state in previous.experiences:
            experience = by_key.get(state.key)
            if experience is None or state.key in out or not state.funded:
                continue
            if experience.commitment is not None:
                choices.append(_Choice(experience, experience.commitment.option, experience.commitment.start_quarter))
                continue
            start = _start_index(previous, state, portfolio.settings)
            if start is not None and start >= 0 and state.option in {o.name for o in experience.options}:
                choices.append(_Choice(experience, state.option, start))
        return cls(tuple(choices)) if choices else None
