"""The quarterly planning cycle: the saved plan state, rolling a plan forward, and what changed.

Three things live here:

- **Plan state** (`plan_state`, `write_plan_state`, `read_plan_state`): a plan saved as JSON
  (plan.json beside the reports) so next quarter's run can read it back. The format is
  versioned (`FORMAT`, `VERSION`) and documented in docs/roll.md.
- **Roll forward** (`roll_forward`): re-plan from the quarter after the previous plan's first
  quarter (or the new workbook's first quarter, if later). Experiences the previous plan
  started before the new first quarter are in flight: their option and start are committed
  (from the workbook's In flight sheet of actuals, or else from the previous plan, with a
  warning); they can be stopped only by the scenario's `stop:` (or `forced_out:`). Quarters
  before the new first quarter are history: their cash is sunk.
- **What changed** (`diff_plans`): every experience whose funding, option, timing, spend or
  NPV differs between the two plans, with the reasons (new estimates, new budget, actuals,
  stopped by the scenario...). NPVs are compared on one footing: the previous plan's cash
  flows from the new first quarter on, discounted to it; sunk cash is in neither.

Library code: nothing here prints; problems are InputError with located messages.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from planner.core.domain import (
    Commitment, Experience, FiscalCalendar, FundingOption, Portfolio, Settings, Team, normalise_id, normalise_quarter,
    quarter_index, quarter_label, quarter_labels, quarter_ordinal,
)
from planner.core.economics import cash_flows, discount_factors
from planner.core.errors import InputError, Problem
from planner.core.formatting import money as format_money
from planner.optimise.optimiser import plan_portfolio
from planner.optimise.plan import Plan
from planner.inputs.scenario import Scenario, key_place

FORMAT = "planner-plan"
VERSION = 1
FILE_NAME = "plan.json"
NO_ACTUALS = "no actuals"
# Money and NPV differences below this many currency units are rounding, not change.
TOLERANCE = 0.5


# ---------------------------------------------------------------------------------------
# Plan state


@dataclass(frozen=True)
class ExperienceState:
    """One experience in a saved plan: the decision, its money by quarter label, and the estimates behind it.

    `cash_from` labels the first quarter of the `one_off`, `run` and `benefit` lists, which run
    over the horizon and the tail quarters the settings count.
    """

    id: str
    name: str
    funded: bool
    option: str | None
    start_quarter: str | None
    go_live_quarter: str | None
    spend: dict[str, float]
    npv: float
    pv_benefit: float
    pv_cost: float
    reason: str
    in_flight: bool
    status: str
    spent_to_date: float
    remaining_one_off: float | None
    cash_from: str
    one_off: tuple[float, ...]
    run: tuple[float, ...]
    benefit: tuple[float, ...]
    reach_per_quarter: float
    value_per_outcome: float
    uplift_base: float
    mandatory: bool
    options: tuple[FundingOption, ...]  # the options as the plan saw them (to tell new estimates from old)

    @property
    def key(self) -> str:
        return normalise_id(self.id)


@dataclass(frozen=True)
class PlanState:
    """A plan as saved in plan.json: enough to roll it forward and to say what changed."""

    scenario: str
    scenario_file: str
    workbook: str
    workbook_sha256: str
    settings: Settings
    total_budget: float | None
    budget: dict[str, float]
    capacity: dict[str, dict[str, float]]
    experiences: tuple[ExperienceState, ...]
    stopped: tuple[str, ...]
    forced_in: tuple[str, ...]
    forced_out: tuple[str, ...]
    npv: float
    pv_benefit: float
    pv_cost: float
    spend: float
    spend_by_quarter: dict[str, float]
    solver: str
    status: str
    gap: float | None
    source: str = ""

    @property
    def first_quarter(self) -> str:
        return self.settings.first_quarter

    @property
    def quarters(self) -> list[str]:
        return quarter_labels(self.settings)

    def experience(self, experience_id: str) -> ExperienceState | None:
        key = normalise_id(experience_id)
        return next((e for e in self.experiences if e.key == key), None)


def plan_state(plan: Plan) -> PlanState:
    """The state of a plan, as it would be saved."""
    portfolio, settings = plan.portfolio, plan.portfolio.settings
    labels = plan.quarters
    experiences = tuple(_experience_state(plan, d) for d in plan.decisions)
    scenario = plan.scenario
    stopped = tuple(d.experience.id for d in plan.decisions
                    if not d.funded and d.experience.commitment is not None and d.experience.key in {normalise_id(i) for i in scenario.forced_out})
    return PlanState(
        scenario=scenario.name, scenario_file=Path(scenario.source).name if scenario.source else "",
        workbook=Path(portfolio.source).name if portfolio.source else "", workbook_sha256=portfolio.source_sha256,
        settings=settings, total_budget=portfolio.total_budget,
        budget=dict(zip(labels, map(float, portfolio.budget))),
        capacity={team.name: dict(zip(labels, map(float, team.capacity))) for team in portfolio.teams},
        experiences=experiences, stopped=stopped, forced_in=tuple(scenario.forced_in),
        forced_out=tuple(i for i in scenario.forced_out if normalise_id(i) not in {normalise_id(s) for s in stopped}),
        npv=float(plan.npv), pv_benefit=float(plan.pv_benefit), pv_cost=float(plan.pv_cost), spend=float(plan.total_spend),
        spend_by_quarter=dict(zip(labels, map(float, plan.spend_by_quarter))),
        solver=plan.solve.solver, status=plan.solve.status, gap=None if plan.solve.gap is None else float(plan.solve.gap),
    )


def _experience_state(plan: Plan, decision) -> ExperienceState:
    settings = plan.portfolio.settings
    experience = decision.experience
    commitment = experience.commitment
    length = settings.horizon_quarters + settings.tail_quarters
    one_off = run = benefit = (0.0,) * length
    if decision.funded:
        option = next(o for o in experience.options if o.name == decision.option)
        flows = cash_flows(settings, experience, option, decision.start_quarter)
        one_off, run, benefit = (tuple(float(x) for x in array) for array in (flows.one_off, flows.run, flows.benefit))
    label = lambda q: None if q is None else quarter_label(settings, q)  # noqa: E731
    return ExperienceState(
        id=experience.id, name=experience.name, funded=decision.funded, option=decision.option,
        start_quarter=label(decision.start_quarter), go_live_quarter=label(decision.go_live_quarter),
        spend=dict(zip(plan.quarters, map(float, decision.spend))), npv=float(decision.npv),
        pv_benefit=float(decision.pv_benefit), pv_cost=float(decision.pv_cost), reason=decision.reason,
        in_flight=commitment is not None, status=commitment.status if commitment else "",
        spent_to_date=float(commitment.spent_to_date) if commitment else 0.0,
        remaining_one_off=commitment.remaining_one_off if commitment else None,
        cash_from=quarter_label(settings, 0), one_off=one_off, run=run, benefit=benefit,
        reach_per_quarter=experience.reach_per_quarter, value_per_outcome=experience.value_per_outcome,
        uplift_base=experience.uplift_base, mandatory=experience.mandatory,
        options=experience.options,
    )


def state_json(state: PlanState) -> dict[str, Any]:
    """The plan state as plain JSON data (docs/roll.md describes every key)."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "scenario": {"name": state.scenario, "file": state.scenario_file, "stopped": list(state.stopped),
                     "forced_in": list(state.forced_in), "forced_out": list(state.forced_out)},
        "workbook": {"name": state.workbook, "sha256": state.workbook_sha256},
        "first_quarter": state.first_quarter,
        "horizon_quarters": state.settings.horizon_quarters,
        "settings": {f.name: getattr(state.settings, f.name) for f in fields(Settings)},
        "total_budget": state.total_budget,
        "budget": state.budget,
        "capacity": state.capacity,
        "experiences": [_experience_json(e) for e in state.experiences],
        "totals": {"npv": state.npv, "pv_benefit": state.pv_benefit, "pv_cost": state.pv_cost, "spend": state.spend,
                   "spend_by_quarter": state.spend_by_quarter},
        "solve": {"solver": state.solver, "status": state.status, "gap": state.gap},
    }


def _experience_json(e: ExperienceState) -> dict[str, Any]:
    return {
        "id": e.id, "name": e.name, "funded": e.funded, "option": e.option, "start_quarter": e.start_quarter,
        "go_live_quarter": e.go_live_quarter, "spend": e.spend, "npv": e.npv, "pv_benefit": e.pv_benefit, "pv_cost": e.pv_cost,
        "reason": e.reason,
        "in_flight": {"status": e.status, "spent_to_date": e.spent_to_date, "remaining_one_off": e.remaining_one_off} if e.in_flight else None,
        "cash": {"from": e.cash_from, "one_off": list(e.one_off), "run": list(e.run), "benefit": list(e.benefit)},
        "estimates": {
            "reach_per_quarter": e.reach_per_quarter, "value_per_outcome": e.value_per_outcome, "uplift_base": e.uplift_base,
            "mandatory": e.mandatory,
            "options": [{"name": o.name, "one_off_cost": o.one_off_cost, "run_cost_per_quarter": o.run_cost_per_quarter,
                         "attention": dict(o.attention), "delivery_quarters": o.delivery_quarters, "uplift_share": o.uplift_share}
                        for o in e.options],
        },
    }


def write_plan_state(plan: Plan, path: str | Path) -> Path:
    """Save the plan as JSON (whole or not at all; the same plan gives the same bytes)."""
    from planner.core.files import write_atomically

    text = json.dumps(state_json(plan_state(plan)), indent=1, ensure_ascii=False) + "\n"
    return write_atomically(Path(path), text.encode("utf-8"))


class _Reader:
    """Reads plan.json data, collecting every problem with its key path."""

    def __init__(self, name: str):
        self.name = name
        self.problems: list[Problem] = []

    def get(self, data: Any, key: str, path: str, kind: type | tuple[type, ...], optional: bool = False) -> Any:
        value = data.get(key) if isinstance(data, dict) else None
        if value is None and optional:
            return None
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not isinstance(value, kind) or (isinstance(value, bool) and kind in (int, float)):
            expected = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
            found = "missing" if value is None else f"{value!r} is not a {expected}"
            self.problems.append(Problem(f"{self.name}, key {path}{key}", found if value is not None else f"is missing (a {expected})"))
            return {dict: {}, list: [], str: "", float: 0.0, int: 0, bool: False}.get(kind if isinstance(kind, type) else kind[0])
        return value


def read_plan_state(path: str | Path) -> PlanState:
    """Read plan.json; raise InputError listing every problem (with its key path)."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise InputError(Problem(str(path), f"cannot be read: {error.strerror}")) from error
    except UnicodeDecodeError as error:
        raise InputError(Problem(path.name, f"is not a saved plan (not text); give the {FILE_NAME} that planner plan or planner roll wrote")) from error
    except json.JSONDecodeError as error:
        raise InputError(Problem(f"{path.name}, line {error.lineno}",
                                 f"is not valid JSON: {error.msg}; give the {FILE_NAME} that planner plan or planner roll wrote")) from error
    reader = _Reader(path.name)
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise InputError(Problem(path.name, f'is not a saved plan (expected "format": "{FORMAT}"; planner plan writes one as {FILE_NAME})'))
    if data.get("version") != VERSION:
        raise InputError(Problem(f"{path.name}, key version", f"{data.get('version')!r} is not a plan-state version this planner reads ({VERSION})"))
    state = _state_of(data, reader)
    if reader.problems:
        raise InputError(reader.problems)
    return replace(state, source=str(path))


def _state_of(data: dict, reader: _Reader) -> PlanState:
    get = reader.get
    raw_settings = get(data, "settings", "", dict)
    known = {f.name for f in fields(Settings)}
    settings = Settings(**{k: v for k, v in raw_settings.items() if k in known})
    scenario, workbook = get(data, "scenario", "", dict), get(data, "workbook", "", dict)
    totals, solve = get(data, "totals", "", dict), get(data, "solve", "", dict)
    experiences = tuple(_experience_of(e, f"experiences[{n}].", reader) for n, e in enumerate(get(data, "experiences", "", list)))
    return PlanState(
        scenario=get(scenario, "name", "scenario.", str), scenario_file=get(scenario, "file", "scenario.", str, True) or "",
        workbook=get(workbook, "name", "workbook.", str), workbook_sha256=get(workbook, "sha256", "workbook.", str, True) or "",
        settings=settings, total_budget=get(data, "total_budget", "", float, True), budget=get(data, "budget", "", dict),
        capacity=get(data, "capacity", "", dict, True) or {}, experiences=experiences,
        stopped=tuple(get(scenario, "stopped", "scenario.", list, True) or ()),
        forced_in=tuple(get(scenario, "forced_in", "scenario.", list, True) or ()),
        forced_out=tuple(get(scenario, "forced_out", "scenario.", list, True) or ()),
        npv=get(totals, "npv", "totals.", float), pv_benefit=get(totals, "pv_benefit", "totals.", float),
        pv_cost=get(totals, "pv_cost", "totals.", float), spend=get(totals, "spend", "totals.", float),
        spend_by_quarter=get(totals, "spend_by_quarter", "totals.", dict),
        solver=get(solve, "solver", "solve.", str), status=get(solve, "status", "solve.", str), gap=get(solve, "gap", "solve.", float, True),
    )


def _experience_of(data: Any, path: str, reader: _Reader) -> ExperienceState:
    get = reader.get
    funded = get(data, "funded", path, bool)
    flight = get(data, "in_flight", path, dict, True)
    cash = get(data, "cash", path, dict)
    estimates = get(data, "estimates", path, dict)
    options = tuple(
        FundingOption(get(o, "name", f"{path}estimates.options[{n}].", str), get(o, "one_off_cost", f"{path}estimates.options[{n}].", float),
                       get(o, "run_cost_per_quarter", f"{path}estimates.options[{n}].", float),
                       tuple(get(o, "attention", f"{path}estimates.options[{n}].", dict).items()),
                       get(o, "delivery_quarters", f"{path}estimates.options[{n}].", int), get(o, "uplift_share", f"{path}estimates.options[{n}].", float))
        for n, o in enumerate(get(estimates, "options", f"{path}estimates.", list))
    )
    return ExperienceState(
        id=get(data, "id", path, str), name=get(data, "name", path, str, True) or "", funded=funded,
        option=get(data, "option", path, str, not funded), start_quarter=get(data, "start_quarter", path, str, not funded),
        go_live_quarter=get(data, "go_live_quarter", path, str, not funded), spend=get(data, "spend", path, dict),
        npv=get(data, "npv", path, float), pv_benefit=get(data, "pv_benefit", path, float), pv_cost=get(data, "pv_cost", path, float),
        reason=get(data, "reason", path, str, True) or "", in_flight=flight is not None,
        status=(flight or {}).get("status", ""), spent_to_date=float((flight or {}).get("spent_to_date", 0.0)),
        remaining_one_off=(flight or {}).get("remaining_one_off"),
        cash_from=get(cash, "from", f"{path}cash.", str), one_off=tuple(get(cash, "one_off", f"{path}cash.", list)),
        run=tuple(get(cash, "run", f"{path}cash.", list)), benefit=tuple(get(cash, "benefit", f"{path}cash.", list)),
        reach_per_quarter=get(estimates, "reach_per_quarter", f"{path}estimates.", float),
        value_per_outcome=get(estimates, "value_per_outcome", f"{path}estimates.", float),
        uplift_base=get(estimates, "uplift_base", f"{path}estimates.", float),
        mandatory=bool(estimates.get("mandatory", False)), options=options,
    )


# ---------------------------------------------------------------------------------------
# Rolling forward


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

    @property
    def stopped(self) -> tuple[str, ...]:
        return tuple(c.id for c in self.changes if "stopped" in c.kinds)


def translate_quarter(label: str, calendar_start: int, settings: Settings) -> str:
    """A label of a calendar whose year starts in `calendar_start`, as `settings`' calendar labels the same quarter."""
    if calendar_start == settings.fiscal_year_start:
        return normalise_quarter(settings, label)
    calendar = FiscalCalendar(calendar_start)
    day = calendar.first_day(calendar.ordinal(label))
    if day.month not in (1, 4, 7, 10):
        raise ValueError(f"{label} does not begin a calendar quarter, so it has no quarter in the new finance calendar")
    return normalise_quarter(settings, f"{day.year}Q{(day.month - 1) // 3 + 1}")


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
    return Roll(previous, plan, tuple(closed), diff_plans(previous, plan, context), actuals_rows(previous, plan, closed), context.news,
                tuple(notes), tuple(warnings))


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


def _start_index(previous: PlanState, state: ExperienceState, settings: Settings) -> int | None:
    """The previous plan's start of a funded experience, in quarters from the new first quarter."""
    if not state.funded or state.start_quarter is None:
        return None
    return quarter_index(settings, translate_quarter(state.start_quarter, previous.settings.fiscal_year_start, settings))


def cash_at(previous: PlanState, state: ExperienceState, kind: str, label: str, settings: Settings) -> float:
    """The previous plan's cash of one kind (one_off, run, benefit) in the quarter `label` (0 outside its flows)."""
    offset = quarter_index(settings, label) - quarter_index(settings, translate_quarter(state.cash_from, previous.settings.fiscal_year_start, settings))
    flows = getattr(state, kind)
    return float(flows[offset]) if 0 <= offset < len(flows) else 0.0


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


# ---------------------------------------------------------------------------------------
# What changed


KINDS: tuple[str, ...] = ("added", "dropped", "stopped", "option changed", "moved", "revised")


@dataclass(frozen=True)
class Change:
    """What happened to one experience between the previous plan and this one, and why.

    `kinds` holds one or more of KINDS. Spend is over the new plan's quarters; NPVs are as of
    the new first quarter (the previous plan's cash from then on, discounted to it); sunk
    cash is in neither.
    """

    id: str
    name: str
    kinds: tuple[str, ...]
    option_before: str | None
    option_after: str | None
    start_before: str | None
    start_after: str | None
    go_live_before: str | None
    go_live_after: str | None
    spend_before: float
    spend_after: float
    npv_before: float
    npv_after: float
    sunk: float
    in_flight: bool
    reasons: tuple[str, ...]

    @property
    def kind(self) -> str:
        return ", ".join(self.kinds)

    @property
    def spend_delta(self) -> float:
        return self.spend_after - self.spend_before

    @property
    def npv_delta(self) -> float:
        return self.npv_after - self.npv_before

    @property
    def reason(self) -> str:
        return "; ".join(self.reasons)


def previous_spend(previous: PlanState, state: ExperienceState, settings: Settings) -> float:
    """The previous plan's spend on an experience over the new plan's quarters."""
    return sum(cash_at(previous, state, kind, q, settings) for kind in ("one_off", "run") for q in quarter_labels(settings))


def restated_npv(previous: PlanState, state: ExperienceState, settings: Settings) -> float:
    """The previous plan's NPV of an experience from the new first quarter on, discounted to it (sunk cash left out)."""
    if not state.funded:
        return 0.0
    first = quarter_index(settings, translate_quarter(state.cash_from, previous.settings.fiscal_year_start, settings))
    length = settings.horizon_quarters + settings.tail_quarters
    net = [0.0] * length
    for offset, (one_off, run, benefit) in enumerate(zip(state.one_off, state.run, state.benefit)):
        q = first + offset
        if 0 <= q < length:
            net[q] = benefit - one_off - run
    return float(sum(n * f for n, f in zip(net, discount_factors(settings, length))))


def diff_plans(previous: PlanState, plan: Plan, context: "_Context | None" = None) -> tuple[Change, ...]:
    """Every experience whose funding, option, timing, spend or NPV differs between the plans, with the reasons."""
    settings = plan.portfolio.settings
    context = context or _Context.of(previous, plan)
    decisions = {d.experience.key: d for d in plan.decisions}
    keys = list(dict.fromkeys([e.key for e in previous.experiences] + list(decisions)))
    changes = []
    for key in keys:
        state, decision = previous.experience(key), decisions.get(key)
        change = _change(previous, state, decision, settings, context)
        if change is not None:
            changes.append(change)
    order = {kind: n for n, kind in enumerate(KINDS)}
    return tuple(sorted(changes, key=lambda c: (order[c.kinds[0]], -abs(c.npv_delta), normalise_id(c.id))))


def _change(previous: PlanState, state: ExperienceState | None, decision, settings: Settings, context: "_Context") -> Change | None:
    labels = quarter_labels(settings)
    funded_before = state is not None and state.funded
    funded_after = decision is not None and decision.funded
    start_before = _translated(previous, state.start_quarter if funded_before else None, settings)
    go_live_before = _translated(previous, state.go_live_quarter if funded_before else None, settings)
    start_after = quarter_label(settings, decision.start_quarter) if funded_after else None
    go_live_after = quarter_label(settings, decision.go_live_quarter) if funded_after else None
    spend_before = previous_spend(previous, state, settings) if funded_before else 0.0
    spend_after = float(decision.total_spend) if funded_after else 0.0
    npv_before = restated_npv(previous, state, settings) if funded_before else 0.0
    npv_after = float(decision.npv) if funded_after else 0.0
    experience = decision.experience if decision is not None else None
    in_flight = experience is not None and experience.commitment is not None
    kinds = change_kinds(funded_before, funded_after, in_flight, (state.option if funded_before else None, start_before, go_live_before),
                         (decision.option if funded_after else None, start_after, go_live_after),
                         spend_after - spend_before, npv_after - npv_before)
    if not kinds:
        return None
    name = experience.name if experience is not None else state.name
    sunk = experience.commitment.spent_to_date if in_flight else 0.0
    return Change(
        id=experience.id if experience is not None else state.id, name=name, kinds=kinds,
        option_before=state.option if funded_before else None, option_after=decision.option if funded_after else None,
        start_before=start_before, start_after=start_after, go_live_before=go_live_before, go_live_after=go_live_after,
        spend_before=spend_before, spend_after=spend_after, npv_before=npv_before, npv_after=npv_after, sunk=float(sunk),
        in_flight=in_flight, reasons=context.reasons(kinds, state, decision, sunk),
    )


def change_kinds(funded_before: bool, funded_after: bool, in_flight: bool, before: tuple, after: tuple,
                 spend_delta: float, npv_delta: float) -> tuple[str, ...]:
    """The kinds of change between two decisions: (option, start, go-live) before and after, and the money deltas."""
    if funded_before != funded_after:
        if funded_after:
            return ("added",)
        return ("stopped",) if in_flight else ("dropped",)
    if not funded_after:
        return ()
    kinds = []
    if before[0] != after[0]:
        kinds.append("option changed")
    if before[1:] != after[1:]:
        kinds.append("moved")
    if not kinds and (abs(spend_delta) > TOLERANCE or abs(npv_delta) > TOLERANCE):
        kinds.append("revised")
    return tuple(kinds)


def _translated(previous: PlanState, label: str | None, settings: Settings) -> str | None:
    return None if label is None else translate_quarter(label, previous.settings.fiscal_year_start, settings)


@dataclass(frozen=True)
class _Context:
    """The new information since the previous plan, portfolio-wide and per experience, in words."""

    money: Callable[[float], str]
    facts: tuple[tuple[str, str], ...]  # (cause in a few words, the detail)
    own_facts: dict[str, tuple[str, ...]]
    stopped: dict[str, str]  # key -> id
    left_out: dict[str, str]  # key -> id of what the previous plan funded and this one does not
    alternatives: dict[str, frozenset[str]]

    @classmethod
    def of(cls, previous: PlanState, plan: Plan) -> "_Context":
        portfolio = plan.portfolio
        settings = portfolio.settings
        currency = settings.currency
        own: dict[str, list[str]] = {}
        for experience in portfolio.experiences:
            state = previous.experience(experience.id)
            facts = own.setdefault(experience.key, [])
            if state is None:
                facts.append("new experience in the workbook")
            else:
                facts += _estimate_changes(state, experience, currency)
            facts += _actuals_facts(previous, state, experience, settings)
        for state in previous.experiences:
            if state.key not in own:
                own[state.key] = ["no longer in the workbook"]
        scenario = plan.scenario
        stopped = frozenset(normalise_id(i) for i in scenario.stop) | frozenset(
            e.key for e in portfolio.experiences if e.commitment is not None and e.key in {normalise_id(i) for i in scenario.forced_out})
        for key in {normalise_id(i) for i in scenario.forced_in} - {normalise_id(i) for i in previous.forced_in}:
            own.setdefault(key, []).append("forced in by the scenario")
        for key in {normalise_id(i) for i in scenario.forced_out} - {normalise_id(i) for i in previous.forced_out} - stopped:
            own.setdefault(key, []).append("forced out by the scenario")
        return cls(lambda v: format_money(v, currency), tuple(_portfolio_facts(previous, plan, own, stopped)),
                   {k: tuple(v) for k, v in own.items()}, {e.key: e.id for e in portfolio.experiences if e.key in stopped},
                   _left_out(previous, plan), _alternatives(portfolio))

    @property
    def news(self) -> tuple[str, ...]:
        """Everything new since the previous plan that is not about one experience, in detail."""
        return tuple(detail for _, detail in self.facts)

    def reasons(self, kinds: tuple[str, ...], state: ExperienceState | None, decision, sunk: float) -> tuple[str, ...]:
        """Why an experience changed: its own new information first; else what changed for the whole portfolio."""
        key = decision.experience.key if decision is not None else state.key
        own = list(self.own_facts.get(key, ()))
        if "stopped" in kinds:
            reasons = ["stopped by the scenario while in flight"]
            if sunk > 0:
                reasons.append(f"{self.money(sunk)} spent to date is sunk: not counted as a saving")
            return tuple(reasons + [f for f in own if not f.startswith("in flight")])
        if "dropped" in kinds and decision is not None and decision.reason:
            own.append(self._stopped_prerequisite(decision) or f"now: {decision.reason}")
        if "added" in kinds and decision is not None:
            own += [f"takes the place of its alternative {self.left_out[k]}" for k in sorted(self.alternatives.get(decision.experience.key, ()))
                    if k in self.left_out]
        if own:
            return tuple(own)
        causes = list(dict.fromkeys(cause for cause, _ in self.facts))
        return ("re-planned for: " + "; ".join(causes),) if causes else ("re-planned: no new information explains this",)

    def _stopped_prerequisite(self, decision) -> str | None:
        stopped = [self.stopped[normalise_id(r)] for r in decision.experience.requires if normalise_id(r) in self.stopped]
        if not stopped:
            return None
        return f"its prerequisite {stopped[0]} was stopped" if len(stopped) == 1 else f"its prerequisites {' and '.join(stopped)} were stopped"


def _left_out(previous: PlanState, plan: Plan) -> dict[str, str]:
    """Experiences the previous plan funded that this one does not (either direction of an exclusion counts)."""
    funded = {d.experience.key for d in plan.funded}
    return {e.key: e.id for e in previous.experiences if e.funded and e.key not in funded}


def _alternatives(portfolio: Portfolio) -> dict[str, frozenset[str]]:
    """Each experience's alternatives: those it excludes and those that exclude it."""
    pairs: dict[str, set[str]] = {e.key: set() for e in portfolio.experiences}
    for experience in portfolio.experiences:
        for ref in experience.excludes:
            pairs[experience.key].add(normalise_id(ref))
            pairs.setdefault(normalise_id(ref), set()).add(experience.key)
    return {key: frozenset(keys) for key, keys in pairs.items()}


def _estimate_changes(state: ExperienceState, experience: Experience, currency: str) -> list[str]:
    """New estimates of one experience, in words ('reach 120,000 -> 100,000 a quarter')."""
    money = lambda v: format_money(v, currency)  # noqa: E731
    changes = []
    for label, before, after, show in (
        ("reach", state.reach_per_quarter, experience.reach_per_quarter, lambda v: f"{v:,.0f} a quarter"),
        ("value per outcome", state.value_per_outcome, experience.value_per_outcome, money),
        ("uplift", state.uplift_base, experience.uplift_base, lambda v: f"{v:.2%}"),
    ):
        if not _same(before, after):
            changes.append(f"{label} {show(before)} -> {show(after)}")
    if state.mandatory != experience.mandatory:
        changes.append("now mandatory" if experience.mandatory else "no longer mandatory")
    old = {o.name: o for o in state.options}
    changes += [f"new option {o.name}" for o in experience.options if o.name not in old]
    for label, value, show in (("one-off cost", lambda o: o.one_off_cost, money), ("run cost", lambda o: o.run_cost_per_quarter, money),
                               ("delivery", lambda o: o.delivery_quarters, lambda v: f"{v} quarters"),
                               ("uplift share", lambda o: o.uplift_share, lambda v: f"{v:.0%}"),
                               ("attention", lambda o: o.total_attention, lambda v: f"{v:g} team-weeks")):
        moved = [(o.name, value(old[o.name]), value(o)) for o in experience.options if o.name in old and not _same(value(old[o.name]), value(o))]
        changes += _option_changes(label, moved, show)
    changes += [f"option {name} withdrawn" for name in old if name not in {o.name for o in experience.options}]
    return ["new estimates: " + ", ".join(changes)] if changes else []


def _option_changes(label: str, moved: list[tuple[str, float, float]], show: Callable[[float], str]) -> list[str]:
    """One field's changes over the options: one phrase when every option moved by the same factor."""
    ratios = {round(b / a, 6) if a else None for _, a, b in moved}
    if len(moved) > 1 and len(ratios) == 1 and None not in ratios:
        (ratio,) = ratios
        return [f"{label} {ratio - 1:+.0%} on {', '.join(name for name, _, _ in moved)}"]
    return [f"{name} {label} {show(a)} -> {show(b)}" for name, a, b in moved]


def _actuals_facts(previous: PlanState, state: ExperienceState | None, experience: Experience, settings: Settings) -> list[str]:
    commitment = experience.commitment
    if commitment is None:
        return []
    money = lambda v: format_money(v, settings.currency)  # noqa: E731
    if commitment.status == NO_ACTUALS:
        return ["in flight, no actuals: committed as the previous plan had it"]
    facts = []
    if state is None or not state.funded or (_start_index(previous, state, settings) or 0) >= 0:
        facts.append(f"new commitment from actuals: under way since {quarter_label(settings, commitment.start_quarter)}")
    elif state.option != commitment.option:
        facts.append(f"actuals: delivered at {commitment.option}, not {state.option}")
    if commitment.status == "done":
        facts.append("actuals: done, live from " + quarter_label(settings, 0))
    elif commitment.status == "late":
        facts.append("actuals: late")
    if commitment.remaining_one_off is not None and state is not None and state.funded:
        planned = sum(cash_at(previous, state, "one_off", quarter_label(settings, q), settings)
                      for q in range(settings.horizon_quarters + settings.tail_quarters))
        if not _same(planned, commitment.remaining_one_off):
            facts.append(f"actuals: remaining one-off cost {money(commitment.remaining_one_off)} (plan {money(planned)})")
    return facts


def _portfolio_facts(previous: PlanState, plan: Plan, own: dict[str, list[str]], stopped: frozenset[str]) -> list[tuple[str, str]]:
    """What changed for everyone, as (cause in a few words, detail): budget, capacity, horizon, stops, actuals, estimates."""
    portfolio, settings = plan.portfolio, plan.portfolio.settings
    money = lambda v: format_money(v, settings.currency)  # noqa: E731
    facts = []
    labels = quarter_labels(settings)
    budget = [f"{q} {money(previous.budget[old])} -> {money(new)}" for q, new in zip(labels, portfolio.budget)
              if (old := _previous_label(previous, q, settings)) in previous.budget and not _same(previous.budget[old], new)]
    if budget:
        facts.append(("budget", "new budget: " + ", ".join(budget)))
    if previous.total_budget is not None or portfolio.total_budget is not None:
        spent = sum(v for q, v in previous.spend_by_quarter.items() if _translated(previous, q, settings) not in labels)
        expected = None if previous.total_budget is None else previous.total_budget - spent
        if expected is None or portfolio.total_budget is None or not _same(expected, portfolio.total_budget):
            shown = lambda v: "none" if v is None else money(v)  # noqa: E731
            facts.append(("budget", f"new total budget: {shown(portfolio.total_budget)} "
                                              f"(the previous plan's less its spend to date: {shown(expected)})"))
    for team in portfolio.teams:
        old = previous.capacity.get(team.name, {})
        moved = [f"{q} {old[p]:g} -> {c:g}" for q, c in zip(labels, team.capacity)
                 if (p := _previous_label(previous, q, settings)) in old and not _same(old[p], c)]
        if moved:
            facts.append((f"{team.name} capacity", f"new capacity of {team.name}: " + ", ".join(moved)))
    previous_end = _translated(previous, previous.quarters[-1], settings)
    if previous_end != labels[-1]:
        facts.append(("horizon", f"the horizon now ends in {labels[-1]} (was {previous_end})"))
    if stopped:
        ids = ", ".join(sorted(e.id for e in portfolio.experiences if e.key in stopped))
        facts.append((f"{ids} stopped", f"money and team time freed by stopping {ids}"))
    revised = sorted(e.id for e in portfolio.experiences if e.commitment is not None and e.key not in stopped
                     and any(f.startswith(("actuals: remaining", "actuals: delivered", "new commitment")) for f in own.get(e.key, ())))
    if revised:
        facts.append(("in-flight actuals", "work in flight costs or runs differently from the plan: " + ", ".join(revised)))
    estimated = sorted(e.id for e in portfolio.experiences if any(f.startswith(("new estimates", "new experience")) for f in own.get(e.key, ())))
    if estimated:
        facts.append(("other estimates", "new estimates for " + ", ".join(estimated)))
    return facts


def _previous_label(previous: PlanState, label: str, settings: Settings) -> str:
    """The previous plan's label of a quarter of the new plan."""
    return translate_quarter(label, settings.fiscal_year_start, previous.settings)


def _same(a: float, b: float) -> bool:
    return abs(a - b) <= 1e-9 * max(1.0, abs(a), abs(b))


# ---------------------------------------------------------------------------------------
# Plan versus actual for the quarters just closed


@dataclass(frozen=True)
class ActualRow:
    """One in-flight experience: what the previous plan expected by now, and what the actuals say."""

    id: str
    name: str
    option: str
    start_quarter: str
    planned_go_live: str | None
    expected_go_live: str | None
    status: str
    planned_spend: float
    actual_spend: float | None
    planned_remaining: float
    remaining: float | None
    stopped: bool

    @property
    def spend_variance(self) -> float | None:
        return None if self.actual_spend is None else self.actual_spend - self.planned_spend

    @property
    def remaining_variance(self) -> float | None:
        return None if self.remaining is None else self.remaining - self.planned_remaining


def actuals_rows(previous: PlanState, plan: Plan, closed: list[str]) -> tuple[ActualRow, ...]:
    """Plan versus actual for each in-flight experience over the closed quarters."""
    settings = plan.portfolio.settings
    rows = []
    for decision in plan.decisions:
        experience = decision.experience
        commitment = experience.commitment
        if commitment is None:
            continue
        state = previous.experience(experience.id)
        planned_before = state.spent_to_date if state is not None else 0.0
        planned = sum(cash_at(previous, state, "one_off", q, settings) for q in closed) if state is not None and state.funded else 0.0
        reported = commitment.status != NO_ACTUALS
        planned_remaining = (sum(cash_at(previous, state, "one_off", quarter_label(settings, q), settings)
                                 for q in range(settings.horizon_quarters + settings.tail_quarters)) if state is not None and state.funded else 0.0)
        rows.append(ActualRow(
            id=experience.id, name=experience.name, option=commitment.option, start_quarter=quarter_label(settings, commitment.start_quarter),
            planned_go_live=_translated(previous, state.go_live_quarter, settings) if state is not None and state.funded else None,
            expected_go_live=quarter_label(settings, decision.go_live_quarter) if decision.funded else None,
            status=commitment.status, planned_spend=planned,
            actual_spend=commitment.spent_to_date - planned_before if reported else None,
            planned_remaining=planned_remaining,
            remaining=(planned_remaining if commitment.remaining_one_off is None else commitment.remaining_one_off) if reported else None,
            stopped=not decision.funded,
        ))
    return tuple(sorted(rows, key=lambda r: normalise_id(r.id)))
