"""An independent reference for the optimum, and the random portfolios it is compared on.

Nothing here comes from planner/model.py, planner/optimise.py or planner/economics.py:
the cash flows of every (experience, option, start) are recomputed from the formulas of
DOMAIN.md and docs/model.md, the rules are re-read from the same pages, and the optimum
is found twice, by two methods that share nothing with the planner's model:

- `brute_force`: every combination of choices, depth first with partial feasibility and
  an upper bound, for up to about a dozen experiences; exact by exhaustion.
- `scip_optimum`: a model written directly from the rules for SCIP (pyscipopt), with the
  dependency rule in its per-choice form (the planner uses a cumulative form), for the
  sizes brute force cannot reach.

`score_plan` checks any set of choices against every rule and recomputes its objective,
counting overlap groups (experiences reaching the same customers: combined uplift
1 - prod(1 - u), `group_benefit`); `check_economics` asserts the recomputed cash flows and
overlap equal planner.core.economics' and planner.rules.overlap's (the one place this module
reads planner's numbers, to compare them, never to use them).

`CaseSpec` and `build_case` make seeded random portfolios that cover free and fixed
starts, dependency chains, one- and two-sided exclusions, mandatory, forced-in and
forced-out items, balance rules, an ROI hurdle, small and large uplifts, tight and
loose budgets, and (when asked for) overlap groups of two to four members.
tests/test_differential.py and bench/differential.py both use them.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace

import numpy as np

from planner.core.domain import Experience, FundingOption, Portfolio, Settings, Team, normalise_id, validate_portfolio
from planner.inputs.scenario import BalanceRule, Scenario, apply_scenario

# A rule holds when it is broken by at most this share of its limit (of 1 for limits below 1):
# what the planner's own check accepts, and far below anything a finance reader would see.
TOLERANCE = 1e-6


# ---------------------------------------------------------------------------------------
# Choices and their economics, from DOMAIN.md


@dataclass(frozen=True)
class Choice:
    """Experience `experience` funded at option `option` from quarter `start`, with its economics.

    `spend` is per horizon quarter (what the budget sees); `attention` is (team index,
    quarter, team-weeks); the PVs include the tail quarters.
    """

    experience: int
    option: int
    start: int
    delivery: int
    spend: tuple[float, ...]
    attention: tuple[tuple[int, int, float], ...]
    pv_benefit: float
    pv_cost: float
    reach_quarters: float
    # Extra outcomes per reached customer by quarter over horizon + tail (uplift x share x ramp; 0 until live).
    uplift_by_quarter: tuple[float, ...] = ()

    @property
    def npv(self) -> float:
        return self.pv_benefit - self.pv_cost

    @property
    def live_from(self) -> int:
        """The first quarter the choice is live (go-live is the end of the quarter before)."""
        return self.start + self.delivery

    def value(self, objective: str) -> float:
        return {"npv": self.npv, "benefit": self.pv_benefit, "reach": self.reach_quarters}[objective]


def flows_of(settings: Settings, experience: Experience, option: FundingOption, start: int) -> tuple[list[float], list[float], list[float]]:
    """(one-off, run, benefit) per quarter over horizon + tail, straight from DOMAIN.md."""
    d = option.delivery_quarters
    go_live = start + d - 1
    rate = experience.reach_per_quarter * experience.uplift_base * option.uplift_share * experience.value_per_outcome
    one_off, run, benefit = [], [], []
    for q in range(settings.horizon_quarters + settings.tail_quarters):
        one_off.append(option.one_off_cost / d if start <= q <= go_live else 0.0)
        j = q - go_live
        run.append(option.run_cost_per_quarter if j >= 1 else 0.0)
        benefit.append(min(1.0, j / (settings.ramp_quarters + 1)) * rate if j >= 1 else 0.0)
    return one_off, run, benefit


def discount(settings: Settings, quarter: int) -> float:
    """Quarter `quarter`'s cash sits at its end."""
    return (1.0 + settings.annual_discount_rate) ** (-(quarter + 1) / 4)


def make_choice(portfolio: Portfolio, i: int, k: int, start: int) -> Choice:
    settings = portfolio.settings
    horizon = settings.horizon_quarters
    experience = portfolio.experiences[i]
    option = experience.options[k]
    one_off, run, benefit = flows_of(settings, experience, option, start)
    factors = [discount(settings, q) for q in range(len(benefit))]
    team_of = {team.name.casefold(): t for t, team in enumerate(portfolio.teams)}
    d = option.delivery_quarters
    attention = tuple((team_of[team.casefold()], q, weeks / d) for team, weeks in option.attention for q in range(start, start + d) if weeks)
    per_customer = experience.reach_per_quarter * experience.value_per_outcome
    return Choice(
        experience=i, option=k, start=start, delivery=d,
        spend=tuple(one_off[q] + run[q] for q in range(horizon)),
        attention=attention,
        pv_benefit=sum(b * f for b, f in zip(benefit, factors)),
        pv_cost=sum((o + r) * f for o, r, f in zip(one_off, run, factors)),
        reach_quarters=experience.reach_per_quarter * max(0, horizon - (start + d)),
        uplift_by_quarter=tuple(b / per_customer if per_customer > 0 else 0.0 for b in benefit),
    )


# ---------------------------------------------------------------------------------------
# The problem as the rules state it


@dataclass(frozen=True)
class Problem:
    """A portfolio under a scenario, as plain rules over candidate choices.

    `candidates[i]` are experience i's choices on offer (none when forced out); `must[i]`
    says it must be funded; `requires[i]` and `alternatives[i]` are indices.
    """

    portfolio: Portfolio
    objective: str
    candidates: tuple[tuple[Choice, ...], ...]
    must: tuple[bool, ...]
    requires: tuple[tuple[int, ...], ...]
    alternatives: tuple[frozenset[int], ...]
    forced_out: frozenset[int]
    balance: tuple[tuple[BalanceRule, tuple[bool, ...]], ...]
    roi_hurdle: float | None
    overlap_groups: tuple[tuple[int, ...], ...] = ()  # experience indices of each group of two or more

    @property
    def counts_overlap(self) -> bool:
        """Whether the objective is money (NPV or PV of benefits), which overlap takes from; reach is customers."""
        return bool(self.overlap_groups) and self.objective != "reach"

    @property
    def limits(self) -> list[float]:
        """Resource limits: budget per quarter, then team capacity per (team, quarter), then the total budget."""
        portfolio = self.portfolio
        limits = list(portfolio.budget) + [c for team in portfolio.teams for c in team.capacity]
        return limits + [portfolio.total_budget if portfolio.total_budget is not None else math.inf]

    def usage(self, choice: Choice) -> list[tuple[int, float]]:
        """(resource index, amount) of everything the choice uses, in `limits` order."""
        horizon = self.portfolio.horizon
        total = len(self.limits) - 1
        used = [(q, s) for q, s in enumerate(choice.spend) if s]
        used += [(horizon + t * horizon + q, w) for t, q, w in choice.attention]
        return used + [(total, sum(choice.spend))]


def earliest_starts(portfolio: Portfolio) -> list[int]:
    """docs/model.md's earliest start, as planner defines it for fixed starts: an experience's
    own earliest start, and no earlier than each prerequisite could be live (the prerequisite's
    earliest start plus its fastest delivery)."""
    index = {e.key: i for i, e in enumerate(portfolio.experiences)}
    earliest: dict[int, int] = {}

    def visit(i: int) -> int:
        if i not in earliest:
            experience = portfolio.experiences[i]
            prerequisites = [index[normalise_id(r)] for r in experience.requires]
            earliest[i] = max([experience.earliest_start] + [
                visit(j) + min(o.delivery_quarters for o in portfolio.experiences[j].options) for j in prerequisites])
        return earliest[i]

    return [visit(i) for i in range(len(portfolio.experiences))]


def make_problem(portfolio: Portfolio, scenario: Scenario) -> Problem:
    """The scenario applied (planner.inputs.scenario.apply_scenario: inputs only), then the rules of DOMAIN.md."""
    portfolio = apply_scenario(portfolio, scenario)
    settings = portfolio.settings
    if any(e.commitment is not None for e in portfolio.experiences):
        raise NotImplementedError("the reference does not model work in flight")
    index = {e.key: i for i, e in enumerate(portfolio.experiences)}
    forced_in = {index[normalise_id(x)] for x in scenario.forced_in}
    forced_out = frozenset(index[normalise_id(x)] for x in scenario.forced_out)
    first = earliest_starts(portfolio)
    candidates = []
    for i, experience in enumerate(portfolio.experiences):
        offered = []
        if i not in forced_out:
            for k, option in enumerate(experience.options):
                last = settings.horizon_quarters - option.delivery_quarters
                if settings.start_quarters == "fixed":
                    last = min(last, first[i])
                offered += [make_choice(portfolio, i, k, s) for s in range(first[i], last + 1)]
        candidates.append(tuple(offered))
    alternatives: list[set[int]] = [set() for _ in portfolio.experiences]
    for i, experience in enumerate(portfolio.experiences):
        for ref in experience.excludes:
            j = index[normalise_id(ref)]
            alternatives[i].add(j)
            alternatives[j].add(i)
    balance = tuple(
        (rule, tuple(normalise_id(getattr(e, rule.dimension)) == normalise_id(rule.value) for e in portfolio.experiences))
        for rule in scenario.balance
    )
    members: dict[str, list[int]] = {}
    for i, experience in enumerate(portfolio.experiences):
        if experience.overlap_group.strip():
            members.setdefault(normalise_id(experience.overlap_group), []).append(i)
    return Problem(
        portfolio=portfolio, objective=scenario.objective, candidates=tuple(candidates),
        must=tuple(e.mandatory or i in forced_in for i, e in enumerate(portfolio.experiences)),
        requires=tuple(tuple(index[normalise_id(r)] for r in e.requires) for e in portfolio.experiences),
        alternatives=tuple(frozenset(a) for a in alternatives), forced_out=forced_out, balance=balance,
        roi_hurdle=scenario.roi_hurdle, overlap_groups=tuple(tuple(group) for group in members.values() if len(group) > 1),
    )


# ---------------------------------------------------------------------------------------
# Overlap groups, from DOMAIN.md: members reach the same customers, so a customer moved by one
# member is not moved again by another; combined uplift 1 - product of (1 - u_i), not the sum.


def reach_value(portfolio: Portfolio, i: int) -> float:
    """Customers reached per quarter, weighed by what one outcome is worth: the size of a member's population."""
    experience = portfolio.experiences[i]
    return experience.reach_per_quarter * experience.value_per_outcome


def group_benefit(populations: list[float], uplifts: list[float]) -> float:
    """One quarter's benefit of a group's members with these population sizes and uplifts that quarter.

    The members reach the same customers, so the populations are nested: a smaller one lies
    inside every larger one. Cut the largest into layers at each member's size; the layer
    between the k-th and the (k+1)-th largest size is reached by the k largest members, and a
    customer there brings an outcome unless every one of them misses: 1 - prod(1 - u).
    """
    ranked = sorted(zip(populations, uplifts), key=lambda member: -member[0])
    total, missed = 0.0, 1.0
    for k, (size, uplift) in enumerate(ranked):
        missed *= 1.0 - uplift
        below = ranked[k + 1][0] if k + 1 < len(ranked) else 0.0
        total += (size - below) * (1.0 - missed)
    return total


def overlap_change(problem: Problem, chosen: dict[int, Choice]) -> float:
    """PV of what the overlap groups change in the plan's benefit (<= 0): each group's benefit, quarter by
    quarter as its members go live, minus the sum of its funded members' own benefits."""
    portfolio = problem.portfolio
    change = 0.0
    for group in problem.overlap_groups:
        funded = [i for i in group if i in chosen]
        if len(funded) < 2:
            continue
        populations = [reach_value(portfolio, i) for i in funded]
        for q in range(len(chosen[funded[0]].uplift_by_quarter)):
            uplifts = [chosen[i].uplift_by_quarter[q] for i in funded]
            own = sum(size * uplift for size, uplift in zip(populations, uplifts))
            change += (group_benefit(populations, uplifts) - own) * discount(portfolio.settings, q)
    return change


def check_economics(problem: Problem, plans: int = 20) -> None:
    """Assert that planner.core.economics gives every candidate the cash flows and PVs of DOMAIN.md's formulas
    here, and planner.rules.overlap the same overlap as `overlap_change` on `plans` drawn choices of each
    group's members (each member funded at a random choice or not)."""
    from planner.core.economics import cash_flows, discount_factors, present_value
    from planner.rules.overlap import correction

    portfolio = problem.portfolio
    settings = portfolio.settings
    for choice in (c for candidates in problem.candidates for c in candidates):
        experience = portfolio.experiences[choice.experience]
        flows = cash_flows(settings, experience, experience.options[choice.option], choice.start)
        scale = max(1.0, abs(choice.pv_benefit), abs(choice.pv_cost))
        assert np.allclose(flows.cost[:settings.horizon_quarters], choice.spend, rtol=1e-12, atol=1e-9), (experience.id, choice)
        assert abs(present_value(settings, flows.benefit) - choice.pv_benefit) <= 1e-9 * scale, (experience.id, choice)
        assert abs(present_value(settings, flows.cost) - choice.pv_cost) <= 1e-9 * scale, (experience.id, choice)
    rng = np.random.default_rng(len(portfolio.experiences))
    factors = discount_factors(settings, settings.horizon_quarters + settings.tail_quarters)
    for _ in range(plans if problem.overlap_groups else 0):
        chosen = {}
        for i in (i for group in problem.overlap_groups for i in group):
            offered = problem.candidates[i]
            pick = int(rng.integers(len(offered) + 1))
            if pick < len(offered):
                chosen[i] = offered[pick]
        planner_change = sum(float(lost @ factors) for lost in correction(
            portfolio, [(i, portfolio.experiences[i].options[c.option], c.start) for i, c in chosen.items()]).values())
        own = sum(c.pv_benefit for c in chosen.values())
        assert abs(planner_change - overlap_change(problem, chosen)) <= 1e-9 * max(1.0, own), (chosen, planner_change)


def plan_value(problem: Problem, chosen: dict[int, Choice]) -> tuple[float, float]:
    """(objective, NPV) of the choices, with the overlap of their groups: the one scoring of every plan here."""
    change = overlap_change(problem, chosen) if problem.overlap_groups else 0.0
    objective = sum(c.value(problem.objective) for c in chosen.values()) + (change if problem.counts_overlap else 0.0)
    return objective, sum(c.npv for c in chosen.values()) + change


def violations(problem: Problem, chosen: dict[int, Choice]) -> list[str]:
    """Every rule the choices (experience index -> choice) break; empty when the plan is sound."""
    portfolio = problem.portfolio
    found = []
    for i, experience in enumerate(portfolio.experiences):
        choice = chosen.get(i)
        if choice is None:
            if problem.must[i]:
                found.append(f"{experience.id} must be funded")
            continue
        if i in problem.forced_out:
            found.append(f"{experience.id} is forced out")
        if (choice.option, choice.start) not in {(c.option, c.start) for c in problem.candidates[i]}:
            found.append(f"{experience.id}: option {choice.option} from quarter {choice.start} is not on offer")
        for j in problem.requires[i]:
            if j not in chosen or chosen[j].live_from > choice.start:
                found.append(f"{experience.id} starts before its prerequisite {portfolio.experiences[j].id} is live")
        for j in problem.alternatives[i]:
            if j in chosen and j > i:
                found.append(f"{experience.id} and {portfolio.experiences[j].id} are alternatives")
    used = [0.0] * len(problem.limits)
    for choice in chosen.values():
        for r, amount in problem.usage(choice):
            used[r] += amount
    for r, (use, limit) in enumerate(zip(used, problem.limits)):
        if use > limit + TOLERANCE * max(1.0, limit):
            found.append(f"resource {r} uses {use:,.2f} of {limit:,.2f}")
    found += portfolio_violations(problem, chosen)
    return found


def portfolio_violations(problem: Problem, chosen: dict[int, Choice]) -> list[str]:
    """Balance rules (share of the plan's spend) and the ROI hurdle (NPV, overlap counted, / PV of costs)."""
    found = []
    choices = list(chosen.values())
    total = sum(sum(c.spend) for c in choices)
    for rule, in_group in problem.balance:
        share = sum(sum(c.spend) for c in choices if in_group[c.experience]) / total if total > 0 else 0.0
        if rule.min_share is not None and total > 0 and share < rule.min_share - TOLERANCE:
            found.append(f"{share:.4%} of spend on {rule.label}, below {rule.min_share:.2%}")
        if rule.max_share is not None and share > rule.max_share + TOLERANCE:
            found.append(f"{share:.4%} of spend on {rule.label}, above {rule.max_share:.2%}")
    if problem.roi_hurdle is not None:
        npv = plan_value(problem, chosen)[1]
        if npv < problem.roi_hurdle * sum(c.pv_cost for c in choices) - TOLERANCE * max(1.0, abs(npv)):
            found.append(f"portfolio ROI below the hurdle {problem.roi_hurdle:.2%}")
    return found


@dataclass(frozen=True)
class PlanScore:
    """A plan (the planner's, or any) re-scored from its decisions: objective, NPV, spend, broken rules."""

    objective: float
    npv: float
    spend_by_quarter: tuple[float, ...]
    violations: tuple[str, ...]


def score_plan(problem: Problem, decisions: dict[str, tuple[str, int]]) -> PlanScore:
    """Score decisions given as experience id -> (option name, start quarter), from the inputs alone."""
    portfolio = problem.portfolio
    index = {e.key: i for i, e in enumerate(portfolio.experiences)}
    chosen: dict[int, Choice] = {}
    for experience_id, (option_name, start) in decisions.items():
        i = index[normalise_id(experience_id)]
        k = [o.name for o in portfolio.experiences[i].options].index(option_name)
        chosen[i] = make_choice(portfolio, i, k, start)
    spend = tuple(sum(c.spend[q] for c in chosen.values()) for q in range(portfolio.horizon))
    return PlanScore(*plan_value(problem, chosen), spend, tuple(violations(problem, chosen)))


def plan_decisions(plan) -> dict[str, tuple[str, int]]:
    """A planner Plan's funded decisions as experience id -> (option, start)."""
    return {d.experience.id: (d.option, d.start_quarter) for d in plan.decisions if d.funded}


# ---------------------------------------------------------------------------------------
# The optimum


@dataclass(frozen=True)
class Optimum:
    """What a reference method established: "optimal", "infeasible", or "unknown" (a limit was hit).

    `objective` is the value of the best plan found and verified against every rule (None
    when none), `bound` the best proven upper bound.
    """

    status: str
    objective: float | None
    bound: float | None
    chosen: tuple[Choice, ...] = ()
    method: str = ""
    seconds: float = 0.0
    note: str = ""

    def decisions(self, portfolio: Portfolio) -> dict[str, tuple[str, int]]:
        return {portfolio.experiences[c.experience].id: (portfolio.experiences[c.experience].options[c.option].name, c.start)
                for c in self.chosen}


class TooLarge(Exception):
    """Brute force would take too long for this portfolio."""


def topological_order(problem: Problem) -> list[int]:
    """Experiences with every prerequisite before its dependents (inputs have no cycles)."""
    order: list[int] = []
    placed: set[int] = set()

    def place(i: int) -> None:
        if i not in placed:
            placed.add(i)
            for j in problem.requires[i]:
                place(j)
            order.append(i)

    for i in range(len(problem.candidates)):
        place(i)
    return order


def brute_force(problem: Problem, node_limit: int = 3_000_000) -> Optimum:
    """The optimum by enumerating every combination of choices (depth first).

    Prerequisites are decided before their dependents, so the dependency rule, exclusions
    and every budget and capacity (spend and attention are never negative) are checked as
    soon as a choice is added; balance and the hurdle at the leaves. A branch is cut when
    even the best remaining choice of every experience left could not beat the best plan
    (the choices' own values: overlap groups only take from them). A leaf is scored as
    `score_plan` scores a plan (`plan_value`, with its overlap groups).
    Raises TooLarge past `node_limit` nodes.
    """
    started = time.perf_counter()
    order = topological_order(problem)
    limits = problem.limits
    slack = [limit + TOLERANCE * max(1.0, limit) for limit in limits]
    objective = problem.objective
    options = []
    for i in order:
        ranked = sorted(problem.candidates[i], key=lambda c: -c.value(objective))
        options.append([(c, problem.usage(c), c.value(objective)) for c in ranked])
    # The most the experiences from position p on can add.
    ceiling = [0.0] * (len(order) + 1)
    for p in range(len(order) - 1, -1, -1):
        values = [v for _, _, v in options[p]]
        best = max(values, default=-math.inf)
        ceiling[p] = ceiling[p + 1] + (best if problem.must[order[p]] else max(0.0, best))
    used = [0.0] * len(limits)
    chosen: dict[int, Choice] = {}
    best: dict = {"value": -math.inf, "chosen": None}
    nodes = 0

    def descend(p: int, value: float) -> None:
        nonlocal nodes
        nodes += 1
        if nodes > node_limit:
            raise TooLarge(f"more than {node_limit} nodes")
        if value + ceiling[p] <= best["value"] + 1e-9 * max(1.0, abs(best["value"])):
            return
        if p == len(order):
            # Overlap only takes away, so the sum of the choices' own values bounds the branch; a leaf is scored in full.
            scored = plan_value(problem, chosen)[0] if problem.counts_overlap else value
            better = best["chosen"] is None or scored > best["value"] + 1e-9 * max(1.0, abs(best["value"]))
            if better and not portfolio_violations(problem, chosen):
                best["value"], best["chosen"] = scored, tuple(chosen.values())
            return
        i = order[p]
        for choice, usage, choice_value in options[p]:
            if any(j in chosen for j in problem.alternatives[i]):
                break
            if any(j not in chosen or chosen[j].live_from > choice.start for j in problem.requires[i]):
                continue
            if any(used[r] + amount > slack[r] for r, amount in usage):
                continue
            for r, amount in usage:
                used[r] += amount
            chosen[i] = choice
            descend(p + 1, value + choice_value)
            del chosen[i]
            for r, amount in usage:
                used[r] -= amount
        if not problem.must[i]:
            descend(p + 1, value)

    descend(0, 0.0)
    seconds = time.perf_counter() - started
    if best["chosen"] is None:
        return Optimum("infeasible", None, None, (), "brute force", seconds, f"{nodes} nodes")
    return Optimum("optimal", best["value"], best["value"], best["chosen"], "brute force", seconds, f"{nodes} nodes")


def scip_optimum(problem: Problem, time_limit: float = 60.0) -> Optimum:
    """The optimum from SCIP, on a model written from the rules (not the planner's model).

    The dependency rule is per choice: a dependent's choice starting in quarter s needs one
    of the prerequisite's choices live by s. Overlap groups are modelled exactly as
    `group_benefit` states them (`_overlap_benefit`). SCIP's plan is re-scored and re-checked
    here (`plan_value`, `violations`); a plan that breaks a rule is reported as such, never as
    the optimum.
    """
    from pyscipopt import Model, quicksum

    started = time.perf_counter()
    model = Model("reference")
    model.hideOutput()
    model.setParam("limits/time", time_limit)
    model.setParam("limits/gap", 0.0)
    model.setParam("limits/absgap", 0.0)
    model.setParam("parallel/maxnthreads", 1)
    objective = problem.objective
    overlapping = bool(problem.overlap_groups) and (problem.counts_overlap or problem.roi_hurdle is not None)
    if overlapping:
        model.setParam("numerics/feastol", 1e-9)  # the layers' shares are in [0, 1] and weigh a population's worth each
    grouped = {i for group in problem.overlap_groups for i in group} if overlapping else set()

    def money(i: int, choice: Choice) -> float:
        """The choice's NPV, without its benefit where its group's benefit carries it."""
        return choice.npv - choice.pv_benefit if i in grouped else choice.npv

    def value(i: int, choice: Choice) -> float:
        if i in grouped and problem.counts_overlap:
            return choice.value(objective) - choice.pv_benefit
        return choice.value(objective)

    variables: dict[int, list] = {}
    for i, candidates in enumerate(problem.candidates):
        variables[i] = [model.addVar(f"x_{i}_{c.option}_{c.start}", vtype="B", obj=value(i, c)) for c in candidates]
        total = quicksum(variables[i])
        if problem.must[i]:
            model.addCons(total == 1)
        elif candidates:
            model.addCons(total <= 1)
    if any(problem.must[i] and not problem.candidates[i] for i in range(len(problem.candidates))):
        return Optimum("infeasible", None, None, (), "SCIP", time.perf_counter() - started, "a must-fund experience has no choice on offer")
    pairs = [(i, c, x) for i in variables for c, x in zip(problem.candidates[i], variables[i])]
    rows: dict[int, list] = {}
    for i, choice, x in pairs:
        for r, amount in problem.usage(choice):
            rows.setdefault(r, []).append((amount, x))
    for r, limit in enumerate(problem.limits):
        if math.isfinite(limit) and r in rows:
            model.addCons(quicksum(a * x for a, x in rows[r]) <= limit)
    for i, choice, x in pairs:
        for j in problem.requires[i]:
            live = [y for c, y in zip(problem.candidates[j], variables[j]) if c.live_from <= choice.start]
            model.addCons(x <= quicksum(live))
    for i in variables:
        for j in problem.alternatives[i]:
            if j > i:
                model.addCons(quicksum(variables[i]) + quicksum(variables[j]) <= 1)
    for rule, in_group in problem.balance:
        for share, sense in ((rule.min_share, ">="), (rule.max_share, "<=")):
            if share is not None:
                expression = quicksum(sum(c.spend) * ((1.0 if in_group[i] else 0.0) - share) * x for i, c, x in pairs)
                model.addCons(expression >= 0 if sense == ">=" else expression <= 0)
    groups = [_overlap_benefit(model, problem, group, variables) for group in problem.overlap_groups] if overlapping else []
    if problem.counts_overlap:
        model.addObjoffset(sum(constant for constant, _ in groups))
    if problem.roi_hurdle is not None:
        model.addCons(quicksum((money(i, c) - problem.roi_hurdle * c.pv_cost) * x for i, c, x in pairs)
                      + quicksum(a * v for _, terms in groups for a, v in terms) + sum(constant for constant, _ in groups) >= 0)
    model.setMaximize()
    model.optimize()
    status = model.getStatus()
    seconds = time.perf_counter() - started
    if status == "infeasible":
        return Optimum("infeasible", None, None, (), "SCIP", seconds)
    bound = model.getDualbound()
    if model.getNSols() == 0:
        return Optimum("unknown", None, bound, (), "SCIP", seconds, f"SCIP status {status}, no plan")
    solution = model.getBestSol()
    chosen = {c.experience: c for _, c, x in pairs if model.getSolVal(solution, x) > 0.5}
    worth = plan_value(problem, chosen)[0]
    broken = violations(problem, chosen)
    if broken:
        return Optimum("unknown", None, bound, (), "SCIP", seconds, f"SCIP's plan (worth {worth:,.2f}) breaks rules: {broken[:3]}")
    return Optimum("optimal" if status == "optimal" else "unknown", worth, max(bound, worth) if status == "optimal" else bound,
                   tuple(chosen.values()), "SCIP", seconds, f"SCIP status {status}")


def _overlap_benefit(model, problem: Problem, group: tuple[int, ...], variables: dict[int, list]) -> tuple[float, list]:
    """The PV of a group's benefit in SCIP, as (constant, [(coefficient, variable)]), exact at integer points;
    the variables carry their coefficients in the objective when it counts overlap.

    Members by population size, largest first; quarter by quarter, missed_k is the share of
    the k-th layer's customers that none of the k largest members moves:
    missed_k = missed_(k-1) - sum over k's choices c of u_c x (missed_(k-1) x_c), with
    missed_0 = 1. Each product missed_(k-1) x_c of a share and a yes/no is a variable p_c with
    p_c <= x_c, p_c >= missed_(k-1) - (1 - x_c) and sum over c of p_c <= missed_(k-1) (a member
    takes one choice at most), which is the product exactly once x is 0 or 1. The layer
    between the k-th and (k+1)-th size brings its size difference x (1 - missed_k).
    """
    from pyscipopt import quicksum

    portfolio = problem.portfolio
    members = sorted(group, key=lambda i: -reach_value(portfolio, i))
    sizes = [reach_value(portfolio, i) for i in members] + [0.0]
    quarters = portfolio.settings.horizon_quarters + portfolio.settings.tail_quarters
    constant, terms = 0.0, []
    for q in range(quarters):
        if not any(c.uplift_by_quarter[q] for i in members for c in problem.candidates[i]):
            continue
        missed = None  # missed_(k-1); None is the constant 1
        for k, i in enumerate(members):
            moved = []
            for c, x in zip(problem.candidates[i], variables[i]):
                if not c.uplift_by_quarter[q]:
                    continue
                if missed is None:
                    moved.append((c.uplift_by_quarter[q], x))
                    continue
                product = model.addVar(f"p_{i}_{c.option}_{c.start}_{q}", lb=0.0, ub=1.0)
                model.addCons(product <= x)
                model.addCons(product >= missed - (1 - x))
                moved.append((c.uplift_by_quarter[q], product))
            if missed is not None and moved:
                model.addCons(quicksum(v for _, v in moved) <= missed)
            weight = (sizes[k] - sizes[k + 1]) * discount(portfolio.settings, q)
            layer = model.addVar(f"missed_{i}_{q}", lb=0.0, ub=1.0, obj=-weight if problem.counts_overlap else 0.0)
            model.addCons(layer == (1 if missed is None else missed) - quicksum(u * v for u, v in moved))
            missed = layer
            constant += weight
            terms.append((-weight, layer))
    return constant, terms


def reference_optimum(problem: Problem, brute_force_limit: int = 12, time_limit: float = 60.0) -> Optimum:
    """Brute force where the portfolio is small enough, SCIP otherwise (or when brute force gives up)."""
    if len(problem.candidates) <= brute_force_limit:
        try:
            return brute_force(problem)
        except TooLarge:
            pass
    return scip_optimum(problem, time_limit)


# ---------------------------------------------------------------------------------------
# Random cases


STAGES = ("discover", "choose", "buy", "use", "get help", "renew or leave")
CHANNELS = ("app", "web", "store", "contact centre")
PRODUCT_LINES = ("Everyday banking", "Mortgages", "Cards")
TEAMS = ("Digital", "Data", "Operations")


@dataclass(frozen=True)
class CaseSpec:
    """The knobs of one random case; `build_case` turns them into a portfolio and a scenario."""

    seed: int
    experiences: int
    start_quarters: str = "free"
    horizon: int = 6
    options: int = 2
    teams: int = 2
    uplift: float = 1.0  # multiplier on a typical uplift: 0.6 small (few items pay), 3 large
    budget_share: float = 0.5  # budget per quarter as a share of what the attractive items would spend
    capacity_share: float = 0.7
    total_budget: bool = False
    requires: float = 0.2  # share of experiences that require an earlier one
    one_sided: int = 0  # exclusions written on one side only
    two_sided: int = 0  # exclusions written on both sides
    mandatory: int = 0
    forced_in: int = 0
    forced_out: int = 0
    balance: tuple[tuple[str, float | None, float | None], ...] = ()  # (dimension, min, max) on a drawn group
    roi_hurdle: float | None = None
    objective: str = "npv"
    ramp: int = 0
    tail: int = 0
    gap: float = 0.0
    time_limit: float = 60.0
    # Sizes of the overlap groups (2-4 members each): members drawn, and made to reach the same customers, by build_case.
    overlap: tuple[int, ...] = ()
    extra: dict = field(default_factory=dict, compare=False)

    def describe(self) -> str:
        parts = [f"seed {self.seed}", f"{self.experiences} experiences", f"{self.start_quarters} starts", f"H={self.horizon}",
                 f"uplift x{self.uplift:g}", f"budget {self.budget_share:.0%}"]
        for name in ("one_sided", "two_sided", "mandatory", "forced_in", "forced_out"):
            if getattr(self, name):
                parts.append(f"{name.replace('_', '-')} {getattr(self, name)}")
        if self.total_budget:
            parts.append("total budget")
        if self.balance:
            parts.append(f"balance {list(self.balance)}")
        if self.roi_hurdle is not None:
            parts.append(f"hurdle {self.roi_hurdle:.0%}")
        if self.objective != "npv":
            parts.append(f"objective {self.objective}")
        if self.overlap:
            parts.append(f"overlap groups of {', '.join(str(size) for size in self.overlap)}")
        return ", ".join(parts)


def random_spec(rng: np.random.Generator, smallest: int, largest: int, seed: int | None = None, overlap: bool = False) -> CaseSpec:
    """A CaseSpec with every knob drawn, for portfolios of `smallest`..`largest` experiences.

    With `overlap`, one to three overlap groups of 2-4 members, drawn after every other knob so
    that the rest of the spec is the one the same `rng` gives without them.
    """
    n = int(rng.integers(smallest, largest + 1))
    dimensions = ("journey_stage", "channel", "product_line", "layer")
    balance = []
    for _ in range(int(rng.choice([0, 0, 1, 2]))):
        low = float(rng.choice([0.1, 0.2, 0.3])) if rng.random() < 0.6 else None
        high = float(rng.choice([0.4, 0.6])) if low is None or rng.random() < 0.3 else None
        balance.append((str(rng.choice(dimensions)), low, high))
    spec = CaseSpec(
        seed=int(rng.integers(0, 2**31)) if seed is None else seed,
        experiences=n,
        start_quarters=str(rng.choice(["free", "fixed"])),
        horizon=int(rng.integers(4, 9)),
        options=int(rng.integers(1, 4)),
        teams=int(rng.integers(1, 4)),
        uplift=float(rng.choice([0.6, 1.0, 1.0, 3.0])),
        budget_share=float(rng.choice([0.15, 0.3, 0.5, 0.8, 1.3])),
        capacity_share=float(rng.choice([0.4, 0.7, 1.5])),
        total_budget=bool(rng.random() < 0.3),
        requires=float(rng.choice([0.0, 0.1, 0.3])),
        one_sided=int(rng.integers(0, max(1, n // 8) + 1)),
        two_sided=int(rng.integers(0, max(1, n // 8) + 1)),
        mandatory=int(rng.choice([0, 0, 1, max(1, n // 20)])),
        forced_in=int(rng.choice([0, 0, 1])),
        forced_out=int(rng.choice([0, 0, 1])),
        balance=tuple(balance),
        roi_hurdle=float(rng.choice([0.2, 0.5, 1.0])) if rng.random() < 0.25 else None,
        objective="npv",
        ramp=int(rng.choice([0, 0, 1, 2])),
        tail=int(rng.choice([0, 0, 4])),
    )
    if not overlap:
        return spec
    return replace(spec, overlap=tuple(int(rng.integers(2, 5)) for _ in range(int(rng.choice([1, 1, 2, 3])))))


def _options(rng: np.random.Generator, count: int, cost: float, weeks: float, delivery: int, owner: str, support: str | None,
             run_share: float) -> tuple[FundingOption, ...]:
    """Options with diminishing returns: each costs more for less extra uplift."""
    tiers = [("lean", 0.5, 0.6), ("standard", 1.0, 0.85), ("premium", 1.7, 1.0)][3 - count:] if count <= 3 else []
    options = []
    for name, multiplier, share in tiers:
        attention = [(owner, round(weeks * multiplier, 1))]
        if support is not None:
            attention.append((support, round(weeks * multiplier * 0.3, 1)))
        options.append(FundingOption(
            name=name, one_off_cost=float(round(cost * multiplier, -2)), run_cost_per_quarter=float(round(cost * multiplier * run_share, -1)),
            attention=tuple(attention), delivery_quarters=int(min(4, max(1, delivery + (name == "premium") - (name == "lean")))),
            uplift_share=share,
        ))
    return tuple(options)


def build_case(spec: CaseSpec) -> tuple[Portfolio, Scenario]:
    """The portfolio and scenario of a spec, the same on every machine."""
    rng = np.random.default_rng(spec.seed)
    n, horizon = spec.experiences, spec.horizon
    teams = list(TEAMS[:spec.teams])
    experiences = []
    for i in range(n):
        enabler = rng.random() < 0.1
        cost = float(np.clip(rng.lognormal(np.log(250_000), 0.7), 40_000, 2_000_000))
        delivery = int(rng.choice([1, 2, 3], p=[0.45, 0.4, 0.15]))
        owner = teams[int(rng.integers(len(teams)))]
        support = teams[int(rng.integers(len(teams)))] if rng.random() < 0.3 else None
        options = _options(rng, spec.options, cost, cost / 20_000 * rng.uniform(0.6, 1.4) + 1, delivery, owner,
                           support if support != owner else None, float(rng.uniform(0.01, 0.05)))
        reach = float(round(rng.lognormal(np.log(50_000), 1.0), -2) + 100)
        value = float(round(rng.lognormal(np.log(150), 0.8)) + 1)
        # Benefit per quarter about a fifth of the cost at uplift x1: pays back in a year or so.
        uplift = 0.0 if enabler else float(min(0.9, cost * rng.lognormal(np.log(0.2), 0.6) * spec.uplift / (reach * value)))
        experiences.append(Experience(
            id=f"X{i + 1:03d}", name=f"{'Enabler' if enabler else 'Experience'} {i + 1}",
            journey_stage=STAGES[int(rng.integers(len(STAGES)))], channel=CHANNELS[int(rng.integers(len(CHANNELS)))],
            product_line=PRODUCT_LINES[int(rng.integers(len(PRODUCT_LINES)))], layer="backstage" if enabler else "frontstage",
            team=owner, reach_per_quarter=reach, outcome="conversion", value_per_outcome=value,
            uplift_low=round(uplift * 0.5, 10), uplift_base=round(uplift, 10), uplift_high=round(min(1.0, uplift * 1.5), 10),
            options=options, earliest_start=int(rng.integers(1, 3)) if rng.random() < 0.15 else 0,
        ))
    experiences = _link(experiences, spec, rng)
    picked = [str(x) for x in rng.permutation([e.id for e in experiences if not e.mandatory])]
    forced_in = tuple(picked[:spec.forced_in])
    forced_out = tuple(picked[spec.forced_in:spec.forced_in + spec.forced_out])
    settings = Settings(horizon_quarters=horizon, start_quarters=spec.start_quarters, ramp_quarters=spec.ramp, tail_quarters=spec.tail,
                        gap=spec.gap, time_limit_seconds=spec.time_limit)
    portfolio = Portfolio(tuple(experiences), tuple(Team(t, (0.0,) * horizon) for t in teams), (0.0,) * horizon, settings,
                          source=f"differential case: {spec.describe()}")
    portfolio = _overlap_groups(portfolio, spec)
    portfolio = _fund(portfolio, spec, {normalise_id(x) for x in forced_in})
    validate_portfolio(portfolio)
    return portfolio, _scenario(portfolio, spec, rng, forced_in, forced_out)


def _link(experiences: list[Experience], spec: CaseSpec, rng: np.random.Generator) -> list[Experience]:
    """Dependencies on earlier experiences (so chains form and cycles cannot), exclusions, mandatory items."""
    n = len(experiences)
    requires: dict[int, list[str]] = {}
    excludes: dict[int, list[str]] = {}
    for i in range(1, n):
        if rng.random() < spec.requires:
            enablers = [j for j in range(i) if experiences[j].layer == "backstage"]
            j = int(rng.choice(enablers)) if enablers and rng.random() < 0.7 else int(rng.integers(i))
            requires[i] = [experiences[j].id]
    mandatory = set(int(i) for i in rng.choice(n, min(n, spec.mandatory), replace=False)) if spec.mandatory else set()
    for count, both in ((spec.one_sided, False), (spec.two_sided, True)):
        for _ in range(count):
            a, b = (int(x) for x in rng.choice(n, 2, replace=False))
            if a in mandatory and b in mandatory:
                continue  # two mandatory alternatives are an input error, not a case
            excludes.setdefault(a, []).append(experiences[b].id)
            if both:
                excludes.setdefault(b, []).append(experiences[a].id)
    return [replace(e, requires=tuple(requires.get(i, ())), excludes=tuple(dict.fromkeys(excludes.get(i, ()))), mandatory=i in mandatory)
            for i, e in enumerate(experiences)]


# The overlap groups' own random stream: a spec without them builds the portfolio it built before they existed.
OVERLAP_STREAM = 7_919


def _overlap_groups(portfolio: Portfolio, spec: CaseSpec) -> Portfolio:
    """Members for each group of `spec.overlap`, drawn first among the experiences with an uplift that
    pay at some option from their earliest start (so that often two or more members would be funded,
    and the overlap decides), then among the other experiences with an uplift.

    A group is one stage and one value per outcome (the same customers, the same outcome).
    Each member keeps its benefit at full rate (reach x uplift x value) but gets an uplift of
    10-50%, so that the overlap moves the optimum; in half the groups the members share one
    reach (then the uplifts follow from it), in the others each member's reach follows from its
    uplift, so the smaller populations lie inside the larger.
    """
    if not spec.overlap:
        return portfolio
    rng = np.random.default_rng([spec.seed, OVERLAP_STREAM])
    experiences = list(portfolio.experiences)
    start = [e.earliest_start for e in experiences]
    paying = {i for i, e in enumerate(experiences)
              if any(make_choice(portfolio, i, k, start[i]).npv > 0 for k, o in enumerate(e.options) if start[i] + o.delivery_quarters <= spec.horizon)}
    order = [int(i) for pays in (True, False) for i in rng.permutation([i for i, e in enumerate(experiences)
                                                                        if e.uplift_base > 0 and (i in paying) == pays])]
    for number, size in enumerate(spec.overlap):
        members, order = order[:size], order[size:]
        if len(members) < 2:
            break
        leader = experiences[members[0]]
        shared_reach = rng.random() < 0.5
        reach = None
        for i in members:
            member = experiences[i]
            benefit = _benefit_per_quarter(member)
            if reach is None or not shared_reach:
                reach = float(round(benefit / (rng.uniform(0.1, 0.5) * leader.value_per_outcome), -1) + 10)
            uplift = min(0.9, benefit / (reach * leader.value_per_outcome))
            experiences[i] = replace(member, overlap_group=f"Same customers {number + 1}", journey_stage=leader.journey_stage,
                                     reach_per_quarter=reach, value_per_outcome=leader.value_per_outcome, uplift_low=round(uplift * 0.5, 10),
                                     uplift_base=round(uplift, 10), uplift_high=round(min(1.0, uplift * 1.5), 10))
    return replace(portfolio, experiences=tuple(experiences))


def _benefit_per_quarter(experience: Experience) -> float:
    """At full rate and full share: reach x uplift x value per outcome."""
    return experience.reach_per_quarter * experience.uplift_base * experience.value_per_outcome


def _fund(portfolio: Portfolio, spec: CaseSpec, forced_in: set[str]) -> Portfolio:
    """Budget and capacity: a share of what the attractive experiences would use at their best
    option and earliest start, on top of what the must-fund ones (and their prerequisites) need
    at their cheapest, so most cases have a plan and some do not."""
    horizon = portfolio.horizon
    index = {e.key: i for i, e in enumerate(portfolio.experiences)}
    must = {i for i, e in enumerate(portfolio.experiences) if e.mandatory or e.key in forced_in}
    pending = list(must)
    while pending:
        for ref in portfolio.experiences[pending.pop()].requires:
            if index[normalise_id(ref)] not in must:
                must.add(index[normalise_id(ref)])
                pending.append(index[normalise_id(ref)])
    wanted = [[0.0] * horizon, [0.0] * horizon]  # attractive, must-fund
    weeks = {team.name: [[0.0] * horizon, [0.0] * horizon] for team in portfolio.teams}
    for i, experience in enumerate(portfolio.experiences):
        offered = [make_choice(portfolio, i, k, experience.earliest_start) for k, o in enumerate(experience.options)
                   if experience.earliest_start + o.delivery_quarters <= horizon]
        if i in must and offered:
            choice, row = min(offered, key=lambda c: sum(c.spend)), 1
        elif offered and (max(c.npv for c in offered) > 0 or experience.layer == "backstage"):
            choice, row = max(offered, key=lambda c: c.npv), 0
        else:
            continue
        for q, s in enumerate(choice.spend):
            wanted[row][q] += s
        for t, q, w in choice.attention:
            weeks[portfolio.teams[t].name][row][q] += w
    average = sum(wanted[0]) / horizon
    budget = tuple(float(round(max(wanted[0][q], average) * spec.budget_share + 1.1 * max(wanted[1]), -3)) + 1000.0 for q in range(horizon))
    teams = tuple(Team(name, tuple(float(round(max(10.0, sum(w[0]) / horizon * spec.capacity_share * 1.5) + 1.1 * max(w[1]), 0))
                                   for _ in range(horizon))) for name, w in weeks.items())
    total = float(round(sum(budget) * 0.7, -3)) if spec.total_budget else None
    return replace(portfolio, budget=budget, teams=teams, total_budget=total)


def _scenario(portfolio: Portfolio, spec: CaseSpec, rng: np.random.Generator, forced_in: tuple[str, ...],
              forced_out: tuple[str, ...]) -> Scenario:
    """Forced in/out, balance rules, hurdle, objective and solver settings of the spec."""
    balance = []
    for dimension, low, high in spec.balance:
        values = sorted({getattr(e, dimension) for e in portfolio.experiences})
        balance.append(BalanceRule(dimension, str(rng.choice(values)), low, high))
    return Scenario(name=f"differential {spec.seed}", forced_in=forced_in, forced_out=forced_out, balance=tuple(balance),
                    roi_hurdle=spec.roi_hurdle, objective=spec.objective, gap=spec.gap, time_limit_seconds=spec.time_limit,
                    start_quarters=spec.start_quarters)


# ---------------------------------------------------------------------------------------
# The honesty contract


@dataclass(frozen=True)
class Finding:
    """One way a planner answer breaks the honesty contract: `kind` is the family counted by bench/differential.py."""

    kind: str  # false optimal, wrong gap, wrong objective, broken rules, false infeasible, worse than greedy, beats reference
    detail: str


def relative_gap(objective: float, bound: float) -> float:
    """(bound - objective) / |objective|, as solvers state a gap."""
    if abs(objective) < 1e-9:
        return 0.0 if abs(bound) < 1e-9 else math.inf
    return max(0.0, (bound - objective) / abs(objective))


def honesty_findings(problem: Problem, plan, optimum: Optimum) -> list[Finding]:
    """Everything a planner Plan claims that the reference optimum contradicts (empty: an honest plan).

    - the plan, re-scored from its decisions, breaks no rule, and its objective and NPV are
      the ones reported;
    - "optimal" means within the gap target of the true optimum;
    - the reported gap is never smaller than the true gap, and the reported bound never
      below the true optimum;
    - the plan is no worse than the greedy baseline it reports (NPV objective).
    """
    findings = []
    score = score_plan(problem, plan_decisions(plan))
    solve = plan.solve
    scale = max(1.0, abs(score.objective))
    if score.violations:
        findings.append(Finding("broken rules", "; ".join(score.violations[:3])))
    if abs(score.objective - solve.objective) > TOLERANCE * scale:
        findings.append(Finding("wrong objective", f"reported {solve.objective:,.2f}, the decisions are worth {score.objective:,.2f}"))
    if abs(score.npv - plan.npv) > TOLERANCE * max(1.0, abs(score.npv)):
        findings.append(Finding("wrong objective", f"plan NPV {plan.npv:,.2f}, the decisions' cash flows give {score.npv:,.2f}"))
    if problem.objective == "npv" and plan.greedy.feasible and score.objective < plan.greedy.npv - TOLERANCE * max(1.0, abs(plan.greedy.npv)):
        findings.append(Finding("worse than greedy", f"plan {score.objective:,.2f} < greedy {plan.greedy.npv:,.2f}"))
    if optimum.status == "infeasible":
        findings.append(Finding("beats reference", f"the planner gives a plan ({solve.status}) where the reference ({optimum.method}) proves none exists"))
        return findings
    if optimum.objective is None:
        return findings
    # With the optimum proven, `best` is the truth; otherwise it is a verified plan, so the truth is at least `best`
    # and every finding below still holds (the true gap can only be larger).
    best = optimum.objective
    proven = optimum.status == "optimal"
    what = f"the optimum is {best:,.2f}" if proven else f"a valid plan is worth {best:,.2f}"
    tolerance = TOLERANCE * max(1.0, abs(best))
    if proven and score.objective > best + tolerance and not score.violations:
        findings.append(Finding("beats reference", f"plan {score.objective:,.2f} above the {optimum.method} optimum {best:,.2f}"))
    true_gap = relative_gap(score.objective, best) if best - score.objective > tolerance else 0.0
    gap_words = "true gap" if proven else "true gap at least"
    if solve.status == "optimal" and true_gap > solve.gap_target + 1e-9:
        findings.append(Finding("false optimal", f"claimed optimal (gap target {solve.gap_target:g}) at {score.objective:,.2f}; "
                                                 f"{what} ({optimum.method}), {gap_words} {true_gap:.6%}"))
    if solve.gap is not None and solve.gap < true_gap - 1e-9:
        findings.append(Finding("wrong gap", f"reported gap {solve.gap:.6%} ({solve.status}), {gap_words} {true_gap:.6%} ({optimum.method})"))
    if solve.best_bound is not None and solve.best_bound < best - tolerance:
        findings.append(Finding("wrong gap", f"reported bound {solve.best_bound:,.2f} ({solve.status}) below what is possible: {what} "
                                             f"({optimum.method})"))
    return findings


def infeasible_findings(optimum: Optimum, message: str) -> list[Finding]:
    """A planner "infeasible" is a finding unless the reference proves no plan exists."""
    if optimum.status == "infeasible":
        return []
    if optimum.objective is not None:
        return [Finding("false infeasible", f"the planner says no plan exists; {optimum.method} finds one worth {optimum.objective:,.2f}: "
                                            f"{message.splitlines()[0] if message else ''}")]
    return []
