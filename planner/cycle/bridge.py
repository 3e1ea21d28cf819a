"""The NPV bridge: from the previous plan's NPV to this plan's, by cause, one cause at a time.

The causes are applied in a fixed order (`STEPS`), each to the plan as it stands after the
ones before, so each step's change is what that cause alone did and the steps add up
exactly to the whole change:

1. **quarter closed** (re-evaluation): the previous plan's own cash from the new first
   quarter on, discounted to it (its restated NPV); the closed quarters' cash is sunk.
2. **actuals** (re-evaluation): work in flight as the In flight sheet says (the option
   delivered, the one-off cost still to pay); work that needs it and can no longer start
   on time starts as soon as it can, or leaves the plan if it no longer fits the horizon.
3. **new estimates** (re-evaluation): the new workbook's and scenario's estimates and
   settings (reach, uplift, value, costs, delivery, discount rate, horizon); an experience
   no longer in the workbook, or whose option is withdrawn, leaves here.
4. **stopped work** (re-evaluation): what the scenario stops or forces out, and the work that
   cannot go on without it.
5. **budget** (a re-solve only when needed): the new budget. When the plan as it stands still
   fits, nothing changes; otherwise the re-solve keeps or drops each of its choices (no new
   work, no moves) to fit, losing the least NPV.
6. **capacity** (likewise): the new team capacity, with the new budget.
7. **re-optimisation** (the re-solve): the new plan, free to add, drop, move and re-option
   work under this quarter's budget, capacity and rules.

Every experience's NPV is kept at every step, so each change has its own cause: the step at
which its decision (funded, option, start) changed, or for money alone, the step that moved
its NPV most. Library code: nothing here prints.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from planner.core.domain import Experience, Portfolio, Settings, Team, normalise_id, quarter_index, quarter_label
from planner.core.economics import cash_flows, present_value
from planner.core.errors import InfeasibleError, SolverError
from planner.cycle.state import NO_ACTUALS, PlanState, _start_index, restated_npv, translate_quarter
from planner.inputs.scenario import Scenario
from planner.optimise.optimiser import plan_portfolio
from planner.optimise.plan import Plan

# (key, label): the causes in the order they are applied.
STEPS: tuple[tuple[str, str], ...] = (
    ("closed", "quarter closed"), ("actuals", "actuals"), ("estimates", "new estimates"), ("stopped", "stopped work"),
    ("budget", "budget"), ("capacity", "capacity"), ("reoptimised", "re-optimisation"),
)
LABELS = dict(STEPS)
# NPV moves below this many currency units are rounding, not a cause.
TOLERANCE = 0.5


@dataclass(frozen=True)
class Held:
    """One experience as the plan stands at a step: its option, start quarter (from the new first quarter) and NPV."""

    option: str
    start: int
    go_live: int
    npv: float
    note: str = ""  # why this step moved it, when the step did


@dataclass(frozen=True)
class BridgeStep:
    """One cause: the plan's NPV before and after it, and how it was found."""

    key: str
    label: str
    how: str
    npv_before: float
    npv_after: float

    @property
    def change(self) -> float:
        return self.npv_after - self.npv_before


@dataclass(frozen=True)
class ExperienceBridge:
    """One experience across the steps: its NPV in the previous plan, after each step, and where its decision changed."""

    id: str
    name: str
    npv_before: float
    npv: tuple[float, ...]  # after each step, in STEPS order
    changed_at: tuple[str, ...]  # step keys at which it entered, left, moved or changed option
    notes: tuple[tuple[str, str], ...]  # (step key, what that step did to it)

    @property
    def changes(self) -> tuple[float, ...]:
        before = (self.npv_before,) + self.npv[:-1]
        return tuple(after - prior for prior, after in zip(before, self.npv))

    @property
    def cause(self) -> str | None:
        """The step at which its decision changed (after the quarter closed), else the one that moved its NPV most."""
        decided = [k for k in self.changed_at if k != "closed"]
        if decided:
            return decided[0]
        moves = [(abs(c), k) for (k, _), c in zip(STEPS[1:], self.changes[1:]) if abs(c) > TOLERANCE]
        return max(moves)[1] if moves else None

    @property
    def cause_label(self) -> str:
        return LABELS.get(self.cause or "", "")

    def note(self, step: str) -> str:
        return next((text for key, text in self.notes if key == step), "")


@dataclass(frozen=True)
class Bridge:
    """The previous plan's NPV to this plan's, by cause; the steps add up to the whole change."""

    previous_scenario: str
    previous_first_quarter: str
    first_quarter: str
    previous_npv: float
    npv: float
    steps: tuple[BridgeStep, ...]
    experiences: tuple[ExperienceBridge, ...]

    @property
    def change(self) -> float:
        return self.npv - self.previous_npv

    def step(self, key: str) -> BridgeStep:
        return next(s for s in self.steps if s.key == key)

    def experience(self, experience_id: str) -> ExperienceBridge | None:
        key = normalise_id(experience_id)
        return next((e for e in self.experiences if normalise_id(e.id) == key), None)

    @property
    def moved(self) -> tuple[ExperienceBridge, ...]:
        """The experiences whose NPV moved after the quarter closed, largest move first."""
        moved = [e for e in self.experiences if any(abs(c) > TOLERANCE for c in e.changes[1:])]
        return tuple(sorted(moved, key=lambda e: (-abs(e.npv[-1] - e.npv[0]), normalise_id(e.id))))


def build_bridge(previous: PlanState, portfolio: Portfolio, scenario: Scenario, plan: Plan) -> Bridge:
    """The bridge of a roll: `portfolio` and `scenario` as `roll_forward` planned them (aligned, in-flight work committed)."""
    new = plan.portfolio  # as the scenario sees it: estimates, budget, capacity and settings applied
    settings = new.settings
    old_settings = _previous_settings(previous, settings)
    names = {e.key: e.id for e in new.experiences} | {e.key: e.id for e in previous.experiences if e.key not in {x.key for x in new.experiences}}
    titles = {normalise_id(e.id): e.name for e in previous.experiences} | {e.key: e.name for e in new.experiences}
    by_key = {e.key: e for e in new.experiences}

    closed = {e.key: Held(e.option, _start_index(previous, e, settings), _go_live_index(previous, e, settings),
                          restated_npv(previous, e, old_settings)) for e in previous.experiences if e.funded}
    actuals = _evaluate(old_settings, {k: _with_previous_estimates(previous, k, by_key[k]) for k in closed if k in by_key},
                        {k: _committed(h, by_key.get(k)) for k, h in closed.items()}, closed)
    estimates = _evaluate(settings, by_key, {k: (h.option, h.start) for k, h in actuals.items()}, {})
    out = {normalise_id(i) for i in scenario.forced_out}
    stopped = _evaluate(settings, by_key, {k: (h.option, h.start) for k, h in estimates.items() if k not in out}, {})
    budget, budget_how = _fit(replace(new, teams=_relaxed_capacity(new)), scenario, stopped, "budget")
    capacity, capacity_how = _fit(new, scenario, budget, "capacity")
    final = _held(plan)

    states = (closed, actuals, estimates, stopped, budget, capacity, final)
    hows = ("re-evaluation", "re-evaluation", "re-evaluation", "re-evaluation", budget_how, capacity_how, "re-solve")
    previous_npv = float(previous.npv)
    totals = [previous_npv] + [sum(h.npv for h in state.values()) for state in states[:-1]] + [float(plan.npv)]
    steps = tuple(BridgeStep(key, label, how, totals[n], totals[n + 1]) for n, ((key, label), how) in enumerate(zip(STEPS, hows)))
    keys = list(dict.fromkeys([normalise_id(e.id) for e in previous.experiences if e.funded] + [k for s in states for k in s]))
    before = {normalise_id(e.id): float(e.npv) for e in previous.experiences if e.funded}
    rows = tuple(_experience_bridge(k, names.get(k, k), titles.get(k, ""), before.get(k, 0.0), states, previous, settings) for k in keys)
    return Bridge(previous.scenario, previous.first_quarter, quarter_label(settings, 0), previous_npv, float(plan.npv), steps, rows)


def _experience_bridge(key: str, experience_id: str, name: str, before: float, states: tuple[dict[str, Held], ...],
                       previous: PlanState, settings: Settings) -> ExperienceBridge:
    state = previous.experience(key)
    start = (state.option, _start_index(previous, state, settings)) if state is not None and state.funded else None
    changed, notes = [], []
    for (step, _), held in zip(STEPS, states):
        now = (held[key].option, held[key].start) if key in held else None
        if now != start:
            changed.append(step)
            note = held[key].note if key in held else (DROPPED[step] if start is not None else "")
            if note:
                notes.append((step, note))
        start = now
    return ExperienceBridge(experience_id, name, before, tuple(s[key].npv if key in s else 0.0 for s in states), tuple(changed), tuple(notes))


def _go_live_index(previous: PlanState, state, settings: Settings) -> int:
    return quarter_index(settings, translate_quarter(state.go_live_quarter, previous.settings.fiscal_year_start, settings))


def _held(plan: Plan) -> dict[str, Held]:
    return {d.experience.key: Held(d.option, d.start_quarter, d.go_live_quarter, float(d.npv)) for d in plan.funded}


def _previous_settings(previous: PlanState, settings: Settings) -> Settings:
    """The previous plan's valuation settings (rate, ramp, tail, horizon end) on the new plan's quarters."""
    old = previous.settings
    end = quarter_index(settings, translate_quarter(previous.quarters[-1], old.fiscal_year_start, settings))
    return replace(settings, annual_discount_rate=old.annual_discount_rate, ramp_quarters=old.ramp_quarters,
                   tail_quarters=old.tail_quarters, horizon_quarters=max(1, end + 1))


def _with_previous_estimates(previous: PlanState, key: str, experience: Experience) -> Experience:
    """The experience with the estimates the previous plan used, and this quarter's actuals (its commitment)."""
    state = previous.experience(key)
    options = {o.name: o for o in state.options}
    options.update({o.name: o for o in experience.options if o.name not in options})  # an option new with the actuals
    return replace(experience, reach_per_quarter=state.reach_per_quarter, value_per_outcome=state.value_per_outcome,
                   uplift_base=state.uplift_base, mandatory=state.mandatory, options=tuple(options.values()))


def _committed(held: Held, experience: Experience | None) -> tuple[str, int]:
    """The choice after the actuals: what the In flight sheet says for work in flight, else the previous plan's."""
    commitment = experience.commitment if experience is not None else None
    if commitment is None or commitment.status == NO_ACTUALS:
        return held.option, held.start
    return commitment.option, commitment.start_quarter


def _evaluate(settings: Settings, experiences: dict[str, Experience], choices: dict[str, tuple[str, int]],
              carried: dict[str, Held]) -> dict[str, Held]:
    """The NPV of each choice under `settings` and these estimates, prerequisites first.

    A choice whose experience is missing here keeps its value from `carried` (none: it leaves).
    Work that is not committed starts no earlier than its prerequisites allow; it leaves when a
    prerequisite left or it can no longer be delivered within the horizon.
    """
    held: dict[str, Held] = {}
    pending = dict(choices)
    while pending:
        ready = [k for k in pending if k not in experiences or all(normalise_id(r) not in pending for r in experiences[k].requires)]
        for key in sorted(ready or pending):  # a cycle cannot be funded anyway: value what is left as it is
            option_name, start = pending.pop(key)
            experience = experiences.get(key)
            if experience is None:
                if key in carried:
                    held[key] = carried[key]
                continue
            choice = _placed(settings, experience, option_name, start, held)
            if choice is not None:
                option, start, note = choice
                flows = cash_flows(settings, experience, option, start)
                npv = present_value(settings, flows.benefit) - present_value(settings, flows.one_off + flows.run)
                held[key] = Held(option.name, start, start + option.delivery_quarters - 1, npv, note)
    return held


def _placed(settings: Settings, experience: Experience, option_name: str, start: int, held: dict[str, Held]):
    """(option, start, note) where the choice can run now, or None when it cannot."""
    option = next((o for o in experience.options if o.name == option_name), None)
    if option is None:
        return None
    if experience.commitment is not None:
        return option, start, ""
    live = [(held[normalise_id(r)].go_live, r) for r in experience.requires if normalise_id(r) in held]
    if len(live) < len(experience.requires):
        return None
    earliest = max((go_live + 1 for go_live, _ in live), default=start)
    if earliest <= start:
        return option, start, ""
    if earliest + option.delivery_quarters > settings.horizon_quarters:
        return None
    late = max(live)[1]
    return option, earliest, f"starts in {quarter_label(settings, earliest)}, after its prerequisite {late} goes live (was {quarter_label(settings, start)})"



def _relaxed_capacity(portfolio: Portfolio) -> tuple[Team, ...]:
    """Capacity no plan can exhaust: the budget step sees the new budget alone."""
    room = sum(o.total_attention for e in portfolio.experiences for o in e.options) + 1.0
    return tuple(replace(team, capacity=tuple(c + room for c in team.capacity)) for team in portfolio.teams)


def _fit(limits: Portfolio, scenario: Scenario, stood: dict[str, Held], kind: str) -> tuple[dict[str, Held], str]:
    """The plan as it stands under `limits`: unchanged when it fits, else the keep-or-drop re-solve that loses the least NPV."""
    experiences = []
    for experience in limits.experiences:
        held = stood.get(experience.key)
        if held is None:
            experiences.append(replace(experience, mandatory=False))
        elif experience.commitment is not None:
            experiences.append(experience)
        else:
            option = next(o for o in experience.options if o.name == held.option)
            experiences.append(replace(experience, options=(option,), earliest_start=held.start))
    restricted = replace(limits, experiences=tuple(experiences), settings=replace(limits.settings, start_quarters="fixed"))
    out = tuple(e.id for e in limits.experiences if e.key not in stood)
    keep = tuple(e.id for e in limits.experiences if e.key in stood and e.commitment is None)
    rules = Scenario(name=f"{scenario.name}: {kind} step", forced_out=out)
    try:
        plan_portfolio(restricted, replace(rules, forced_in=keep))
        return stood, "re-solve: the plan fits, nothing to drop"
    except (InfeasibleError, SolverError):
        pass
    try:
        fitted = plan_portfolio(restricted, rules)
    except (InfeasibleError, SolverError):
        return stood, "re-solve: no cut fits; re-optimisation resolves it"
    return _held(fitted), "re-solve: keep or drop each choice"


# What a step did to an experience it took out of the plan.
DROPPED: dict[str, str] = {
    "closed": "",
    "actuals": "can no longer be delivered within the horizon after its prerequisite's actuals",
    "estimates": "no longer in the workbook, or its option is withdrawn",
    "stopped": "stopped or forced out by the scenario, or its prerequisite was",
    "budget": "dropped to fit the new budget: of the plan's choices, the least NPV lost",
    "capacity": "dropped to fit the new team capacity: of the plan's choices, the least NPV lost",
    "reoptimised": "left out by the re-optimised plan",
}
