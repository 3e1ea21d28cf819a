"""The overlap family (planner.rules.overlap): experiences of one overlap group reach the same customers,
their combined uplift 1 - prod(1 - u_i), modelled exactly, checked against brute force."""

from __future__ import annotations

import itertools
import math
from dataclasses import replace

import numpy as np
import pytest

from planner.core.domain import Experience, FundingOption, Portfolio, Settings, Team
from planner.core.economics import cash_flows, columns, discount_factors
from planner.inputs.scenario import Scenario
from planner.optimise.optimiser import check_plan, plan_portfolio


def portfolio(group_of: dict[str, str], reach: dict[str, float] | None = None, budget: float = 260.0, free: bool = True) -> Portfolio:
    """Four app experiences, big uplifts (so that overlap matters), two options each."""
    reach = reach or {}

    def experience(id_, uplift, cost):
        options = (FundingOption("lean", cost, 2.0, (("Digital", 5.0),), 1, 0.6),
                   FundingOption("standard", cost * 1.6, 3.0, (("Digital", 8.0),), 2, 1.0))
        return Experience(id_, f"Experience {id_}", "buy", "app", "cards", "frontstage", "Digital", reach.get(id_, 100.0), "conversion",
                          10.0, uplift * 0.5, uplift, uplift * 1.2, options, overlap_group=group_of.get(id_, ""))

    experiences = (experience("APP-1", 0.30, 100.0), experience("APP-2", 0.25, 80.0), experience("APP-3", 0.20, 60.0),
                   experience("WEB-1", 0.10, 50.0))
    settings = Settings(horizon_quarters=4, annual_discount_rate=0.08, tail_quarters=2, gap=0.0,
                        start_quarters="free" if free else "fixed")
    return Portfolio(experiences, (Team("Digital", (20.0,) * 4),), (budget, budget / 2, budget / 2, budget / 2), settings)


def group_benefit(portfolio: Portfolio, funded: list[tuple[int, object, int]]) -> np.ndarray:
    """The benefit by quarter of the funded choices with overlap, computed another way than the module:
    per group, members ordered by reach x value, each one's own benefit times prod(1 - e_j) over the
    members with a larger reach x value (ties: the later listed counts as larger)."""
    settings = portfolio.settings
    total = np.zeros(settings.horizon_quarters + settings.tail_quarters)
    by_group: dict[str, list[tuple[float, int, np.ndarray]]] = {}
    for i, option, start in funded:
        experience = portfolio.experiences[i]
        own = cash_flows(settings, experience, option, start).benefit
        m = experience.reach_per_quarter * experience.value_per_outcome
        if experience.overlap_group:
            by_group.setdefault(experience.overlap_group.casefold(), []).append((m, i, own))
        else:
            total += own
    for members in by_group.values():
        members.sort(key=lambda member: (member[0], member[1]))
        for n, (m, _, own) in enumerate(members):
            kept = np.ones(len(total))
            for larger_m, _, larger_own in members[n + 1:]:
                kept *= 1 - larger_own / larger_m
            total += own * kept
    return total


def brute_force(portfolio: Portfolio, hurdle: float | None = None) -> float:
    """The best NPV over every combination of choices within budget and capacity (and an ROI hurdle:
    NPV at least `hurdle` x PV of costs), with overlap counted."""
    cols = columns(portfolio)
    settings = portfolio.settings
    discount = discount_factors(settings, settings.horizon_quarters + settings.tail_quarters)
    weekly = np.zeros(len(cols))
    ids, weeks = cols.attention[0]
    weekly[ids] = weeks
    choices = [[None] + [c for c in range(len(cols)) if cols.experience[c] == i] for i in range(len(portfolio.experiences))]
    best = -math.inf
    for combination in itertools.product(*choices):
        chosen = [c for c in combination if c is not None]
        attention = np.zeros(portfolio.horizon)
        for c in chosen:
            attention[cols.start[c]:cols.start[c] + cols.delivery[c]] += weekly[c]
        if (attention > 20.0 + 1e-9).any() or (cols.spend[chosen].sum(axis=0) > np.array(portfolio.budget) + 1e-9).any():
            continue
        funded = [(int(cols.experience[c]), portfolio.experiences[int(cols.experience[c])].options[int(cols.option[c])], int(cols.start[c]))
                  for c in chosen]
        benefit, cost = float(group_benefit(portfolio, funded) @ discount), float(cols.pv_cost[chosen].sum())
        if hurdle is not None and benefit - cost < hurdle * cost - 1e-9:
            continue
        best = max(best, benefit - cost)
    return best


GROUPS = {
    "pair": ({"APP-1": "checkout", "APP-2": "Checkout"}, None),
    "three": ({"APP-1": "checkout", "APP-2": "checkout", "APP-3": "checkout"}, None),
    "three, unequal reach": ({"APP-1": "checkout", "APP-2": "checkout", "APP-3": "checkout"}, {"APP-1": 60.0, "APP-3": 150.0}),
    "two pairs": ({"APP-1": "a", "APP-2": "a", "APP-3": "b", "WEB-1": "b"}, None),
    # Four members: the term of all four is a loss over three outer members (see overlap._add_term).
    "four, unequal reach": ({"APP-1": "a", "APP-2": "a", "APP-3": "a", "WEB-1": "a"}, {"APP-2": 70.0, "WEB-1": 400.0}),
}


@pytest.mark.parametrize("solver", ["cbc", "highs"])
@pytest.mark.parametrize("name", list(GROUPS))
def test_the_optimum_with_overlap_groups_is_the_brute_force_optimum(name, solver):
    group_of, reach = GROUPS[name]
    overlapping = portfolio(group_of, reach, free=name != "three")
    overlapping = replace(overlapping, settings=replace(overlapping.settings, solver=solver))
    plan = plan_portfolio(overlapping)
    assert plan.solve.status == "optimal"
    assert plan.npv == pytest.approx(brute_force(overlapping), rel=1e-9, abs=1e-6)
    assert plan.solve.objective == pytest.approx(plan.npv, rel=1e-9, abs=1e-6)
    assert check_plan(plan.portfolio, Scenario(), plan.decisions) == []


@pytest.mark.parametrize("solver", ["cbc", "highs"])
def test_an_roi_hurdle_counts_the_overlap_as_brute_force_does(solver):
    """The hurdle row carries each overlap term (a loss lowers the NPV the hurdle sees): a hurdle just
    above the unconstrained plan's ROI changes the optimum, and the planner finds brute force's."""
    group_of, reach = GROUPS["three, unequal reach"]
    overlapping = portfolio(group_of, reach, budget=1000.0)
    overlapping = replace(overlapping, settings=replace(overlapping.settings, solver=solver))
    free_plan = plan_portfolio(overlapping)
    hurdle = free_plan.npv / free_plan.pv_cost + 0.05
    truth = brute_force(overlapping, hurdle)
    assert truth < free_plan.npv - 1e-6  # the hurdle binds
    plan = plan_portfolio(overlapping, Scenario(roi_hurdle=hurdle))
    assert plan.solve.status == "optimal"
    assert plan.npv == pytest.approx(truth, rel=1e-9, abs=1e-6)
    assert plan.npv >= hurdle * plan.pv_cost - 1e-6


def test_two_members_of_a_group_are_worth_1_minus_the_product_not_the_sum():
    """Equal reach and value: the domain's formula, 1 - (1 - u1)(1 - u2), exactly."""
    overlapping = portfolio({"APP-1": "checkout", "APP-2": "checkout"}, budget=1000.0, free=False)
    forced = Scenario(forced_in=("APP-1", "APP-2"))
    plan = plan_portfolio(overlapping, forced)
    alone = plan_portfolio(portfolio({}, budget=1000.0, free=False), forced)
    app1, app2 = (next(d for d in plan.funded if d.experience.id == i) for i in ("APP-1", "APP-2"))
    m = 100.0 * 10.0
    for q in range(plan.portfolio.horizon):
        e1, e2 = app1.benefit[q] / m, app2.benefit[q] / m
        assert plan.benefit_by_quarter[q] == pytest.approx(sum(d.benefit[q] for d in plan.funded if d.experience.id not in ("APP-1", "APP-2"))
                                                           + m * (1 - (1 - e1) * (1 - e2)))
    lost = [c for c in plan.costs if c.kind == "overlap"]
    assert lost and all(c.pv_benefit < 0 for c in lost)
    assert plan.npv == pytest.approx(sum(d.npv for d in plan.funded) + sum(c.pv_benefit for c in lost))
    assert plan.npv < alone.npv  # the same choices, the overlap taken off


def test_overlap_makes_the_optimiser_prefer_experiences_that_reach_different_customers():
    """Alone, APP-1 and APP-2 are the best two; reaching the same customers, the plan takes one of them and something else."""
    free_budget = 1000.0
    apart = plan_portfolio(portfolio({}, budget=free_budget))
    together = plan_portfolio(portfolio({"APP-1": "checkout", "APP-2": "checkout"}, budget=free_budget))
    assert together.npv <= apart.npv + 1e-9
    assert together.npv == pytest.approx(brute_force(portfolio({"APP-1": "checkout", "APP-2": "checkout"}, budget=free_budget)), rel=1e-9)


def rows_broken(model, values: np.ndarray) -> list[str]:
    row, variable, coefficient = model.entries
    activity = np.zeros(len(model.rhs))
    np.add.at(activity, row, coefficient * values[variable])
    broken = ((model.sense == "L") & (activity > model.rhs + 1e-9)) | ((model.sense == "G") & (activity < model.rhs - 1e-9)) | (
        (model.sense == "E") & (np.abs(activity - model.rhs) > 1e-9))
    return [model.constraints[r] for r in np.nonzero(broken)[0]]


@pytest.mark.parametrize("case", ["overlap", "hiring"])
def test_a_warm_start_sets_the_families_variables_so_that_the_solver_keeps_it(case, tmp_path):
    """With the families' variables at 0, a start funding two members of a group (or more than a team has) broke their
    rows, and the solvers dropped it."""
    from planner.optimise.model import build_model
    from planner.optimise.optimiser import columns_on_offer
    from planner.optimise.solve import _start_values, write_model
    from planner.rules.base import Rules
    from planner.rules.hiring import TeamHiring

    if case == "overlap":
        base, rules = portfolio({"APP-1": "g", "APP-2": "g", "APP-3": "g"}, budget=1000.0, free=False), Rules()
        wanted = ("APP-1", "APP-2", "APP-3")
    else:
        base = replace(portfolio({}, budget=1000.0, free=False), teams=(Team("Digital", (6.0,) * 4),))
        rules = Rules(settings=(("hiring", (TeamHiring("Digital", 1.0, (30.0,)),)),))
        wanted = ("APP-1", "APP-2", "APP-3", "WEB-1")  # standard: 4 team-weeks a quarter each, 16 of a team of 6
    cols = columns(base)
    keep = columns_on_offer(base, rules, cols)
    model = build_model(base, rules, cols, keep)
    ids = [e.id for e in base.experiences]
    start = np.array([c for c in np.nonzero(keep)[0] if ids[int(cols.experience[c])] in wanted and int(cols.option[c]) == 1
                      and int(cols.start[c]) == 0], dtype=np.int64)
    written = write_model(model, str(tmp_path))
    values = _start_values(written, start)
    assert values[len(model.column_ids):].max() > 0  # the start needs what the family accounts for
    assert rows_broken(model, values) == []


def test_plan_json_keeps_the_overlap_lost_and_reads_it_back(tmp_path):
    """plan.json had the totals but not what made them differ from the experiences' sum (benefit lost to overlap)."""
    from planner.cycle.state import read_plan_state, write_plan_state

    overlapping = portfolio({"APP-1": "checkout", "APP-2": "checkout"}, budget=1000.0, free=False)
    plan = plan_portfolio(overlapping, Scenario(forced_in=("APP-1", "APP-2")))
    state = read_plan_state(write_plan_state(plan, tmp_path / "plan.json"))
    lost = [c for c in state.rule_costs if c["kind"] == "overlap"]
    assert len(lost) == len([c for c in plan.costs if c.kind == "overlap"]) > 0
    assert sum(c["pv_benefit"] for c in lost) == pytest.approx(sum(c.pv_benefit for c in plan.costs if c.kind == "overlap"))
    assert state.npv == pytest.approx(sum(e.npv for e in state.experiences if e.funded) + sum(c["pv_benefit"] - c["pv_cost"] for c in state.rule_costs))


@pytest.mark.parametrize("solver", ["cbc", "highs"])
@pytest.mark.parametrize("seed", range(24))
def test_random_overlap_groups_reach_the_brute_force_optimum(seed, solver):
    """The formulation (planner.rules.overlap._add_term) on random groups of two to four members, random
    reach and uplift, and a budget that binds: bench/differential.py's portfolios have no overlap groups."""
    rng = np.random.default_rng(seed)
    ids = ["APP-1", "APP-2", "APP-3", "WEB-1"]
    names = rng.choice(["a", "b", ""], size=4, p=[0.5, 0.3, 0.2])
    if (names == "a").sum() < 2:
        names[:2] = "a"
    group_of = {i: str(n) for i, n in zip(ids, names) if n}
    reach = {i: float(rng.uniform(40.0, 300.0)) for i in ids}
    overlapping = portfolio(group_of, reach, budget=float(rng.uniform(150.0, 400.0)))
    overlapping = replace(overlapping, experiences=tuple(replace(e, uplift_base=float(rng.uniform(0.1, 0.45))) for e in overlapping.experiences),
                          settings=replace(overlapping.settings, solver=solver))
    plan = plan_portfolio(overlapping)
    assert plan.solve.status == "optimal"
    assert plan.npv == pytest.approx(brute_force(overlapping), rel=1e-9, abs=1e-6), group_of
    assert plan.solve.objective == pytest.approx(plan.npv, rel=1e-9, abs=1e-6)
