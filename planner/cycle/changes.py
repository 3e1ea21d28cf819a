"""What changed between the previous plan and this one, and plan versus actual for the quarters just closed.

`diff_plans` lists every experience whose funding, option, timing, spend or NPV differs
between the two plans, with its reasons (new estimates, actuals, stopped by the scenario...).
NPVs are compared on one footing: the previous plan's cash flows from the new first quarter
on, discounted to it (`restated_npv`); sunk cash is in neither. `actuals_rows` sets the
previous plan's expectations for work in flight beside the actuals.

Library code: nothing here prints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from planner.core.domain import Experience, Portfolio, Settings, normalise_id, quarter_label, quarter_labels
from planner.cycle.bridge import DROPPED, LABELS, STEPS, Bridge, ExperienceBridge
from planner.cycle.state import (
    NO_ACTUALS, ExperienceState, PlanState, _previous_label, _start_index, _translated, cash_at, previous_spend, restated_npv,
)
from planner.core.formatting import money as format_money
from planner.optimise.plan import Plan

# Money and NPV differences below this many currency units are rounding, not change.
TOLERANCE = 0.5


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
    # The bridge step at which it changed (planner.cycle.bridge.STEPS), and its NPV change by step.
    cause: str = ""
    npv_by_cause: tuple[tuple[str, float], ...] = ()

    @property
    def cause_label(self) -> str:
        return LABELS.get(self.cause, "")

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


def diff_plans(previous: PlanState, plan: Plan, context: "_Context | None" = None, bridge: Bridge | None = None) -> tuple[Change, ...]:
    """Every experience whose funding, option, timing, spend or NPV differs between the plans, with the reasons.

    With the roll's `bridge`, each change carries its own cause (the step at which it changed)
    and its NPV change by step, and an experience with no new information of its own says what
    that step did to it.
    """
    settings = plan.portfolio.settings
    context = context or _Context.of(previous, plan)
    decisions = {d.experience.key: d for d in plan.decisions}
    keys = list(dict.fromkeys([e.key for e in previous.experiences] + list(decisions)))
    changes = []
    for key in keys:
        state, decision = previous.experience(key), decisions.get(key)
        change = _change(previous, state, decision, settings, context)
        if change is not None:
            changes.append(_with_cause(change, bridge.experience(change.id)) if bridge is not None else change)
    order = {kind: n for n, kind in enumerate(KINDS)}
    return tuple(sorted(changes, key=lambda c: (order[c.kinds[0]], -abs(c.npv_delta), normalise_id(c.id))))


def _with_cause(change: Change, steps: ExperienceBridge | None) -> Change:
    """The change with the bridge step that caused it, its NPV by step, and what the steps did to it.

    Its own facts (new estimates, actuals, a stopped prerequisite) stay; a step that moved it
    says where to, and the re-optimisation says what it chose, so no two changes share a
    portfolio-wide list of reasons.
    """
    if steps is None or steps.cause is None:
        return change
    by_cause = tuple((LABELS[key], delta) for (key, _), delta in zip(STEPS[1:], steps.changes[1:]) if abs(delta) > TOLERANCE)
    decided = [k for k in steps.changed_at if k != "closed"]
    # A step that dropped work the new plan funds again is part of its story; a final drop is told by its own facts.
    words = [steps.note(k) for k in decided if steps.note(k) and (steps.note(k) not in DROPPED.values() or change.option_after is not None)]
    if decided and decided[-1] == "reoptimised":
        words.append(_reoptimised(change))
    own = () if change.reasons and change.reasons[0].startswith("re-planned") else change.reasons
    fallback = (steps.note(steps.cause) or LABELS[steps.cause],) if not (own or words) else ()
    return replace(change, cause=steps.cause, npv_by_cause=by_cause, reasons=tuple(words) + own + fallback)


def _reoptimised(change: Change) -> str:
    """What the re-optimised plan chose for the experience, in words."""
    if change.option_after is None:
        return "left out by the re-optimised plan"
    if change.option_before is None:
        return f"funded by the re-optimised plan ({change.option_after} from {change.start_after})"
    parts = []
    if change.option_after != change.option_before:
        parts.append(f"at {change.option_after} (was {change.option_before})")
    if change.start_after != change.start_before:
        parts.append(f"from {change.start_after} (was {change.start_before})")
    return "the re-optimised plan funds it " + " and ".join(parts) if parts else "kept by the re-optimised plan"


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
