"""The saved plan state (plan.json) and the previous plan's cash on the new plan's calendar.

`plan_state`, `write_plan_state` and `read_plan_state` save a plan as JSON beside the reports
and read it back next quarter. The format is versioned (`FORMAT`, `VERSION`) and documented in
docs/roll.md. `translate_quarter`, `cash_at`, `previous_spend` and `restated_npv` read the
previous plan's money on the new plan's quarters: sunk cash (the quarters now closed) is in
none of them.

Library code: nothing here prints; problems are InputError with located messages.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from planner.core.domain import (
    FiscalCalendar, FundingOption, Settings, normalise_id, normalise_quarter, quarter_index, quarter_label, quarter_labels,
)
from planner.core.economics import cash_flows, discount_factors
from planner.core.errors import InputError, Problem
from planner.optimise.plan import Plan

FORMAT = "planner-plan"
VERSION = 1
FILE_NAME = "plan.json"
NO_ACTUALS = "no actuals"



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
    # What rule families add to or take from the plan beyond the experiences' own (capacity
    # bought, benefit lost where experiences reach the same customers): plain dicts, as saved.
    rule_costs: tuple[dict[str, Any], ...] = ()

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
        rule_costs=tuple(_rule_cost_json(settings, cost) for cost in plan.costs),
    )


def _rule_cost_json(settings: Settings, cost) -> dict[str, Any]:
    return {"kind": cost.kind, "label": cost.label, "team": cost.team, "quarter": quarter_label(settings, cost.quarter),
            "amount": float(cost.amount), "unit": cost.unit, "spend": float(cost.spend), "pv_cost": float(cost.pv_cost),
            "benefit": float(cost.benefit), "pv_benefit": float(cost.pv_benefit)}


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
        "rule_costs": list(state.rule_costs),
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
        rule_costs=tuple(get(data, "rule_costs", "", list, True) or ()),
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
# The previous plan on the new plan's calendar


def translate_quarter(label: str, calendar_start: int, settings: Settings) -> str:
    """A label of a calendar whose year starts in `calendar_start`, as `settings`' calendar labels the same quarter."""
    if calendar_start == settings.fiscal_year_start:
        return normalise_quarter(settings, label)
    calendar = FiscalCalendar(calendar_start)
    day = calendar.first_day(calendar.ordinal(label))
    if day.month not in (1, 4, 7, 10):
        raise ValueError(f"{label} does not begin a calendar quarter, so it has no quarter in the new finance calendar")
    return normalise_quarter(settings, f"{day.year}Q{(day.month - 1) // 3 + 1}")


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


def _translated(previous: PlanState, label: str | None, settings: Settings) -> str | None:
    return None if label is None else translate_quarter(label, previous.settings.fiscal_year_start, settings)


def _previous_label(previous: PlanState, label: str, settings: Settings) -> str:
    """The previous plan's label of a quarter of the new plan."""
    return translate_quarter(label, settings.fiscal_year_start, previous.settings)
