"""From chosen columns to the plan's decisions, and the independent check of any plan.

`make_decisions` gives each experience its decision (option, start, cash flows, or the
reason it is not funded). `check_plan` recomputes everything from the inputs alone and
asks every rule family (planner.rules) what the plan breaks; `rule_uses` asks each family
how much of its rules the plan uses; `plan_objective` rescores a plan.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from planner.core.domain import Experience, FundingOption, Portfolio, normalise_id, quarter_label
from planner.core.economics import Columns, choice_flows, discount_factors, payback_quarters
from planner.core.errors import SolverError
from planner.inputs.scenario import Scenario
from planner.optimise.plan import Decision, RuleUse
from planner.rules import account, check as family_problems, rule_specs, used
from planner.rules.base import RuleCost, Rules, Usage
from planner.rules.excludes import alternatives_of
from planner.rules.requires import prerequisites_of_anything

TOLERANCE = 1e-6


def plan_objective(portfolio: Portfolio, objective: str, decisions: tuple[Decision, ...], costs: tuple[RuleCost, ...] = ()) -> float:
    """The plan's objective recomputed from its decisions (their cash flows, recomputed from the inputs)
    and what the families add or take (`costs`: capacity bought, benefit lost to overlap)."""
    funded = [d for d in decisions if d.funded]
    if objective == "npv":
        return float(sum(d.npv for d in funded) - sum(cost.pv_cost - cost.pv_benefit for cost in costs))
    if objective == "benefit":
        return float(sum(d.pv_benefit for d in funded) + sum(cost.pv_benefit for cost in costs))
    horizon = portfolio.horizon
    return float(sum(d.experience.reach_per_quarter * max(0, horizon - d.go_live_quarter - 1) for d in funded))


def check_objective(portfolio: Portfolio, objective: str, decisions: tuple[Decision, ...], claimed: float,
                    costs: tuple[RuleCost, ...] = ()) -> None:
    """Raise SolverError unless the plan, recomputed from the inputs, is worth what the solver said."""
    recomputed = plan_objective(portfolio, objective, decisions, costs)
    if abs(recomputed - claimed) > TOLERANCE * max(1.0, abs(claimed)):
        raise SolverError(f"the solver's plan is worth {recomputed:,.2f} recomputed from the inputs, "
                          f"not the {claimed:,.2f} it reported: not reported")



def make_decisions(portfolio: Portfolio, rules: Rules, cols: Columns, chosen) -> tuple[Decision, ...]:
    """One Decision per experience, in workbook order, with the reason for each one not funded.

    The cash flows of all funded choices are computed at once, one row each.
    """
    horizon = portfolio.horizon
    by_experience = {int(cols.experience[c]): int(c) for c in chosen}
    best_npv = np.full(len(portfolio.experiences), -np.inf)
    np.maximum.at(best_npv, cols.experience, cols.npv)
    dependents: dict[str, list[Experience]] = {}
    for experience in portfolio.experiences:
        for required in {normalise_id(r) for r in experience.requires}:
            dependents.setdefault(required, []).append(experience)
    context = _ReasonContext(
        set(by_experience), {portfolio.experiences[i].key for i in by_experience}, alternatives_of(portfolio), prerequisites_of_anything(portfolio),
        best_npv, dependents)
    funded = sorted(by_experience.items())
    choices = [(portfolio.experiences[i], portfolio.experiences[i].options[int(cols.option[c])], int(cols.start[c])) for i, c in funded]
    economics = _choice_economics(portfolio, choices)
    team_names = {team.name.casefold(): team.name for team in portfolio.teams}
    zeros = (0.0,) * horizon
    decisions: list[Decision | None] = [None] * len(portfolio.experiences)
    for row, ((i, _), (experience, option, start)) in enumerate(zip(funded, choices)):
        weekly = {team: weeks / option.delivery_quarters for team, weeks in option.attention}
        delivering = economics.delivering[row]
        decisions[i] = Decision(
            experience=experience, funded=True, option=option.name, start_quarter=start,
            go_live_quarter=start + option.delivery_quarters - 1,
            spend=tuple(economics.spend[row]), benefit=tuple(economics.benefit[row]),
            attention=tuple((team_names[team.casefold()], tuple(w if on else 0.0 for on in delivering)) for team, w in weekly.items()),
            pv_benefit=economics.pv_benefit[row], pv_cost=economics.pv_cost[row], npv=economics.npv[row],
            payback_quarter=economics.payback[row], net_cash=tuple(economics.net[row]),
        )
    for i, experience in enumerate(portfolio.experiences):
        if decisions[i] is None:
            decisions[i] = Decision(
                experience=experience, funded=False, option=None, start_quarter=None, go_live_quarter=None,
                spend=zeros, benefit=zeros, attention=(), pv_benefit=0.0, pv_cost=0.0, npv=0.0,
                payback_quarter=None, reason=not_funded_reason(portfolio, rules, i, context),
            )
    return tuple(decisions)


@dataclass(frozen=True)
class _ChoiceEconomics:
    """The economics of a list of (experience, option, start) choices, as plain lists, one entry per choice."""

    spend: list[list[float]]  # inside the horizon
    benefit: list[list[float]]  # inside the horizon
    net: list[list[float]]  # horizon and tail quarters
    delivering: list[list[bool]]  # quarters of the horizon the choice is being delivered
    pv_benefit: list[float]
    pv_cost: list[float]
    npv: list[float]
    payback: list[int | None]


def _choice_economics(portfolio: Portfolio, choices: list[tuple[Experience, FundingOption, int]]) -> _ChoiceEconomics:
    settings = portfolio.settings
    horizon = portfolio.horizon
    flows = choice_flows(settings, choices)
    factors = discount_factors(settings, settings.horizon_quarters + settings.tail_quarters)
    start = np.array([s for _, _, s in choices], dtype=np.int64).reshape(-1, 1)
    delivery = np.array([o.delivery_quarters for _, o, _ in choices], dtype=np.int64).reshape(-1, 1)
    q = np.arange(horizon)[None, :]
    return _ChoiceEconomics(
        spend=flows.cost[:, :horizon].tolist(), benefit=flows.benefit[:, :horizon].tolist(), net=flows.net.tolist(),
        delivering=((q >= start) & (q < start + delivery)).tolist(),
        pv_benefit=(flows.benefit @ factors).tolist(), pv_cost=(flows.cost @ factors).tolist(), npv=(flows.net @ factors).tolist(),
        payback=payback_quarters(flows.net),
    )


@dataclass(frozen=True)
class _ReasonContext:
    funded: set[int]
    funded_keys: set[str]
    alternatives: list[set[int]]
    enablers: set[int]
    best_npv: np.ndarray  # per experience; -inf where no column is on offer
    dependents: dict[str, list[Experience]]  # by prerequisite key: the experiences that require it


def not_funded_reason(portfolio: Portfolio, rules: Rules, i: int, context: _ReasonContext) -> str:
    """Why the plan leaves experience i out, in plain words."""
    experience = portfolio.experiences[i]
    if experience.key in rules.forced_out:
        return "stopped by the scenario while in flight" if experience.commitment is not None else "forced out by the scenario"
    if not math.isfinite(context.best_npv[i]):
        return f"no option can be delivered within the horizon from its earliest start ({quarter_label(portfolio.settings, experience.earliest_start)})"
    funded_alternatives = sorted(context.alternatives[i] & context.funded)
    if funded_alternatives:
        return f"excluded by the funded alternative {portfolio.experiences[funded_alternatives[0]].id}"
    missing = [r for r in experience.requires if normalise_id(r) not in context.funded_keys]
    if missing:
        return f"its prerequisite {missing[0]} is not funded" if len(missing) == 1 else f"its prerequisites {' and '.join(missing)} are not funded"
    if context.best_npv[i] <= TOLERANCE and i not in context.enablers:
        return "its NPV is not positive at any option and start"
    if context.best_npv[i] <= TOLERANCE:
        # An enabler pays only through what it unlocks; blaming the budget would send the reader looking in the wrong place.
        unlocks = context.dependents.get(experience.key, [])
        if not any(d.key in context.funded_keys for d in unlocks):
            return (f"its NPV is not positive on its own, and none of the experiences it enables "
                    f"({', '.join(d.id for d in unlocks)}) is funded")
    return "the budget and team time return more NPV elsewhere"


def check_plan(portfolio: Portfolio, scenario: Scenario, decisions: tuple[Decision, ...]) -> list[str]:
    """Every rule the plan breaks, recomputed from the inputs alone (empty when the plan is sound).

    Nothing here trusts the solver or the decisions' numbers: each funded decision's option
    and start are looked up in the inputs, their cash flows and attention recomputed (all
    funded choices at once), and every rule family re-checks its rules against them.
    """
    usage, found = plan_usage(portfolio, Rules.of(scenario), decisions)
    return plan_problems(portfolio, decisions, usage, found)


def plan_problems(portfolio: Portfolio, decisions: tuple[Decision, ...], usage: Usage, found: list[str]) -> list[str]:
    """`check_plan`'s verdict from a usage already recomputed by `plan_usage` (with what it found on the way)."""
    problems: list[str] = []
    keys = [d.experience.key for d in decisions]
    if len(set(keys)) != len(keys) or len(keys) != len(portfolio.experiences):
        problems.append("the plan does not hold exactly one decision per experience")
    return problems + found + family_problems(usage)


def plan_usage(portfolio: Portfolio, rules: Rules, decisions: tuple[Decision, ...]) -> tuple[Usage, list[str]]:
    """What the plan's funded decisions use, recomputed from the inputs and accounted by every family,
    with what did not match on the way (an option the experience lacks, an NPV its cash flows do not give)."""
    index = {e.key: i for i, e in enumerate(portfolio.experiences)}
    problems: list[str] = []
    valid: list[Decision] = []
    choices = []
    for decision in (d for d in decisions if d.funded):
        experience = decision.experience
        option = next((o for o in experience.options if o.name == decision.option), None)
        if option is None:
            problems.append(f"{experience.id}: option {decision.option} is not one of its options")
            continue
        valid.append(decision)
        choices.append((experience, option, decision.start_quarter))
    economics = _choice_economics(portfolio, choices)
    spend = np.array(economics.spend, dtype=float).reshape(len(choices), portfolio.horizon)
    for decision, npv in zip(valid, economics.npv):
        if abs(npv - decision.npv) > TOLERANCE * max(1.0, abs(decision.npv)):
            problems.append(f"{decision.experience.id}: NPV {decision.npv:,.2f} does not match its cash flows")
    usage = Usage(portfolio, rules, spend.sum(axis=0), _attention_by_team(portfolio, choices, economics.delivering), spend.sum(axis=1),
                  np.array([index[d.experience.key] for d in valid], dtype=np.int64), float(sum(economics.npv)),
                  float(sum(economics.pv_cost)), tuple(option for _, option, _ in choices),
                  np.array([start for _, _, start in choices], dtype=np.int64))
    account(usage)
    return usage, problems


def _attention_by_team(portfolio: Portfolio, choices: list[tuple[Experience, FundingOption, int]],
                       delivering: list[list[bool]]) -> np.ndarray:
    """Team-weeks by team and quarter (teams x horizon) of the choices, spread evenly over their delivery quarters."""
    team_index = {team.name.casefold(): t for t, team in enumerate(portfolio.teams)}
    rows, teams, weekly = [], [], []
    for row, (_, option, _) in enumerate(choices):
        for team, weeks in option.attention:
            rows.append(row)
            teams.append(team_index[team.casefold()])
            weekly.append(weeks / option.delivery_quarters)
    attention = np.zeros((len(portfolio.teams), portfolio.horizon))
    mask = np.array(delivering, dtype=bool).reshape(len(choices), portfolio.horizon)
    np.add.at(attention, np.array(teams, dtype=np.int64), mask[np.array(rows, dtype=np.int64)] * np.array(weekly, dtype=float)[:, None])
    return attention




def rule_uses(portfolio: Portfolio, usage: Usage, duals: dict[str, float]) -> tuple[RuleUse, ...]:
    """Each rule with a limit (every family's) with the plan's use of it and its marginal value."""
    return tuple(RuleUse(spec.name, spec.kind, spec.label, spec.quarter, spec.team, spec.limit, float(used(spec, usage)), spec.unit,
                         abs(duals.get(spec.name, 0.0)), spec.sense)
                 for spec in rule_specs(portfolio, usage.rules))
