"""The hiring family (planner.rules.hiring): team capacity bought at a price per team-week, chosen by the
optimiser, end to end: scenario keys, model, independent check, conflict wording, marginal value, report."""

from __future__ import annotations

import itertools
import math
import textwrap
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from planner.core.domain import Experience, FundingOption, Portfolio, Settings, Team
from planner.core.economics import columns, discount_factors
from planner.core.errors import InfeasibleError, InputError
from planner.inputs.scenario import Scenario, apply_scenario, load_scenario
from planner.optimise.check import make_decisions
from planner.optimise.optimiser import check_plan, plan_portfolio
from planner.reports.plan_report import build_constraints
from planner.rules.base import Rules
from planner.rules.hiring import TeamHiring


def portfolio(budget: float = 400.0, rate: float = 0.0) -> Portfolio:
    """One team of 20 team-weeks a quarter and three experiences that want more of it than it has."""
    def experience(id_, reach, weeks, cost, options=("standard",), mandatory=False):
        made = tuple(FundingOption(name, cost * (1 + n), 0.0, (("Digital", weeks * (1 + n)),), 1, 0.7 + 0.3 * n)
                     for n, name in enumerate(options))
        return Experience(id_, f"Experience {id_}", "buy", "app", "cards", "frontstage", "Digital", reach, "conversion", 100.0,
                          0.005, 0.01, 0.02, made, mandatory=mandatory)

    experiences = (
        experience("APP-1", 100.0, 20.0, 100.0),
        experience("APP-2", 80.0, 15.0, 80.0, options=("lean", "standard")),
        experience("WEB-1", 60.0, 10.0, 50.0),
    )
    settings = Settings(horizon_quarters=3, annual_discount_rate=rate, gap=0.0)
    return Portfolio(experiences, (Team("Digital", (20.0,) * 3),), (budget,) * 3, settings, source="inputs.xlsx")


def hiring(price: float, per_quarter=None, by_quarter=(), total=None) -> Scenario:
    return Scenario(rule_settings=(("hiring", (TeamHiring("Digital", price, per_quarter, by_quarter, total),)),))


def brute_force(portfolio: Portfolio, price: float, caps: list[float], total: float = math.inf) -> float:
    """The best NPV over every combination of choices, with the capacity each needs bought, computed here
    from the columns alone (not through planner.rules): shortfall = attention beyond capacity, each
    team-week at `price`, within the caps, its cost in that quarter's budget and discounted off the NPV."""
    cols = columns(portfolio)
    horizon = portfolio.horizon
    discount = discount_factors(portfolio.settings, horizon)
    capacity = np.array(portfolio.teams[0].capacity)
    weekly = np.zeros(len(cols))
    ids, weeks = cols.attention[0]
    weekly[ids] = weeks
    choices = [[None] + [c for c in range(len(cols)) if cols.experience[c] == i] for i in range(len(portfolio.experiences))]
    best = -math.inf
    for combination in itertools.product(*choices):
        chosen = [c for c in combination if c is not None]
        attention = np.zeros(horizon)
        for c in chosen:
            attention[cols.start[c]:cols.start[c] + cols.delivery[c]] += weekly[c]
        bought = np.maximum(0.0, attention - capacity)
        if (bought > np.array(caps) + 1e-9).any() or bought.sum() > total + 1e-9:
            continue
        spend = cols.spend[chosen].sum(axis=0) + bought * price
        if (spend > np.array(portfolio.budget) + 1e-9).any():
            continue
        best = max(best, float(cols.npv[chosen].sum() - (bought * price * discount).sum()))
    return best


@pytest.mark.parametrize("solver", ["cbc", "highs"])
@pytest.mark.parametrize("price, caps, total, rate", [
    (1.0, (20.0,), None, 0.0),  # cheap: buys what pays
    (4.0, (10.0,), None, 0.08),  # capped per quarter, discounted
    (30.0, (20.0,), None, 0.0),  # dear: buys nothing
    (2.0, None, 12.0, 0.0),  # no cap per quarter, a total over the horizon
])
def test_the_optimiser_buys_the_capacity_brute_force_says_pays(solver, price, caps, total, rate):
    base = portfolio(rate=rate)
    base = replace(base, settings=replace(base.settings, solver=solver))
    scenario = hiring(price, caps, (), total)
    plan = plan_portfolio(base, scenario)
    per_quarter = list(caps) * 3 if caps else [math.inf] * 3
    expected = brute_force(base, price, per_quarter, math.inf if total is None else total)
    assert plan.solve.status == "optimal"
    assert plan.npv == pytest.approx(expected, rel=1e-9, abs=1e-6)
    assert plan.solve.objective == pytest.approx(plan.npv, rel=1e-9, abs=1e-6)
    assert check_plan(plan.portfolio, scenario, plan.decisions) == []
    without = plan_portfolio(base)
    assert plan.npv >= without.npv - 1e-6  # buying is a choice: never worse than not being allowed to


def test_capacity_bought_is_in_the_plan_its_spend_and_its_rules():
    plan = plan_portfolio(portfolio(), hiring(1.0, (20.0,)))
    bought = {cost.quarter: cost.amount for cost in plan.costs}
    assert bought, "at a price of 1 a team-week the plan buys capacity"
    funded_spend = [sum(d.spend[q] for d in plan.funded) for q in range(3)]
    for q in range(3):
        assert plan.spend_by_quarter[q] == pytest.approx(funded_spend[q] + bought.get(q, 0.0) * 1.0)
    rules = {rule.name: rule for rule in plan.rules if rule.kind == "hiring"}
    assert set(rules) == {"hiring_Digital_2027Q1", "hiring_Digital_2027Q2", "hiring_Digital_2027Q3"}
    for rule in rules.values():
        assert rule.used == pytest.approx(bought.get(rule.quarter, 0.0)) and rule.unit == "team-weeks"
    attention = plan.attention_by_team()["Digital"]
    for q in range(3):
        assert attention[q] <= 20.0 + bought.get(q, 0.0) + 1e-9
    listed = build_constraints(plan)
    assert any(row.kind == "hiring" and row.label == "Digital capacity bought 2027Q1" for row in listed.all)


def test_a_binding_cap_on_buying_has_a_marginal_value():
    plan = plan_portfolio(portfolio(), hiring(1.0, (5.0,)))
    capped = [rule for rule in plan.rules if rule.kind == "hiring" and rule.binding]
    assert capped and all(rule.marginal_value > 0 for rule in capped)


def test_the_check_refuses_a_plan_that_buys_more_than_allowed():
    base = portfolio(budget=1000.0)
    cols = columns(base)
    scenario = hiring(1.0, (5.0,))
    # APP-1 (20 weeks) and APP-2 standard (30 weeks) both in the first quarter: 30 bought, 5 allowed.
    chosen = [c for c in range(len(cols)) if cols.start[c] == 0 and (int(cols.experience[c]), int(cols.option[c])) in ((0, 0), (1, 1))]
    problems = check_plan(apply_scenario(base, scenario), scenario, make_decisions(base, Rules.of(scenario), cols, chosen))
    assert any("team Digital needs 30.00 team-weeks bought in 2027Q1; at most 5.00 may be bought" in p for p in problems), problems


def test_the_money_spent_on_capacity_counts_against_the_budget_in_its_quarter():
    base = portfolio(budget=100.0)
    cols = columns(base)
    scenario = hiring(10.0, (20.0,))
    # APP-1 (100, 20 weeks) and WEB-1 (50, 10 weeks) in one quarter: 150 plus 10 weeks at 10 against 100.
    chosen = [c for c in range(len(cols)) if cols.start[c] == 0 and int(cols.experience[c]) in (0, 2)]
    problems = check_plan(apply_scenario(base, scenario), scenario, make_decisions(base, Rules.of(scenario), cols, chosen))
    assert any(p.startswith("spend 250.00 in 2027Q1 exceeds the budget 100.00") for p in problems), problems


def test_mandatory_work_beyond_what_may_be_bought_names_the_cap():
    base = portfolio(budget=1000.0)
    must = tuple(replace(e, mandatory=True) if e.id in ("APP-1", "APP-2") else e for e in base.experiences)
    base = replace(base, experiences=must, settings=replace(base.settings, horizon_quarters=1), budget=(1000.0,),
                   teams=(Team("Digital", (20.0,)),))
    with pytest.raises(InfeasibleError) as raised:
        plan_portfolio(base, hiring(1.0, (5.0,)))
    assert any("may be bought" in c and "team Digital" in c for c in raised.value.conflicts), raised.value.conflicts


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "inputs.xlsx").write_bytes(b"")
    return tmp_path


def test_the_hiring_key_is_read_from_a_scenario_file_and_planned(folder):
    path = write(folder, "hire.yaml", """
        workbook: inputs.xlsx
        hiring:
          Digital: {cost_per_team_week: 1, max_team_weeks: {2027Q1: 20, 2027Q2: 10}, max_total_team_weeks: 25}
        """)
    scenario = load_scenario(path)
    [terms] = dict(scenario.rule_settings)["hiring"]
    assert terms == TeamHiring("Digital", 1.0, None, (("2027Q1", 20.0), ("2027Q2", 10.0)), 25.0)
    plan = plan_portfolio(portfolio(), scenario)
    names = {rule.name for rule in plan.rules if rule.kind == "hiring"}
    assert names == {"hiring_Digital_2027Q1", "hiring_Digital_2027Q2", "hiring_Digital_total"}  # 2027Q3 allows none
    assert all(cost.quarter in (0, 1) for cost in plan.costs)
    assert plan.npv == pytest.approx(brute_force(portfolio(), 1.0, [20.0, 10.0, 0.0], 25.0), rel=1e-9)


def test_a_child_scenario_keeps_the_hiring_its_parent_set(folder):
    write(folder, "base.yaml", "workbook: inputs.xlsx\nhiring: {Digital: {cost_per_team_week: 3}}\n")
    child = write(folder, "child.yaml", "extends: base.yaml\nroi_hurdle: 10%\n")
    assert dict(load_scenario(child).rule_settings)["hiring"] == (TeamHiring("Digital", 3.0),)


BAD_HIRING = [
    ("hiring: [Digital]\n", "line 2, key hiring", "must map team names"),
    ("hiring: {Digital: {cost_per_team_week: -5}}\n", "key hiring.Digital.cost_per_team_week", "is not an amount > 0"),
    ("hiring: {Digital: {max_team_weeks: 5}}\n", "key hiring.Digital.cost_per_team_week", "is required"),
    ("hiring: {Digital: {cost_per_team_week: 9, max_team_weeks: +10%}}\n", "key hiring.Digital.max_team_weeks", "a cap, not a change"),
    ("hiring: {Digital: {cost_per_team_week: 9, max_weeks: 5}}\n", "key hiring.Digital.max_weeks", 'did you mean "max_team_weeks"?'),
    ("hiring: {Digital: {cost_per_team_week: 9, max_total_team_weeks: lots}}\n", "key hiring.Digital.max_total_team_weeks",
     "is not a number of team-weeks"),
]


@pytest.mark.parametrize("text, where, message", BAD_HIRING, ids=[b[2][:30] for b in BAD_HIRING])
def test_bad_hiring_keys_are_reported_with_line_and_key(folder, text, where, message):
    path = write(folder, "bad.yaml", "workbook: inputs.xlsx\n" + text)
    with pytest.raises(InputError) as raised:
        load_scenario(path)
    problems = [str(p) for p in raised.value.problems]
    assert any(where in p and message in p and "bad.yaml" in p for p in problems), problems


def test_hiring_for_a_team_or_quarter_the_workbook_lacks_is_named(folder):
    path = write(folder, "bad.yaml", """
        workbook: inputs.xlsx
        hiring:
          Digtal: {cost_per_team_week: 5}
          Digital: {cost_per_team_week: 5, max_team_weeks: {2029Q1: 4}}
        """)
    with pytest.raises(InputError) as raised:
        apply_scenario(portfolio(), load_scenario(path))
    text = str(raised.value)
    assert 'bad.yaml, line 4, key hiring.Digtal: "Digtal" is not a team in the workbook (did you mean "Digital"?)' in text
    assert "key hiring.Digital.max_team_weeks.2029Q1: is not a quarter of the horizon (2027Q1 to 2027Q3)" in text


def test_planner_validate_lists_the_hiring_in_effect(folder):
    from planner.inputs.scenario import scenario_values

    path = write(folder, "hire.yaml", "workbook: inputs.xlsx\nhiring: {Digital: {cost_per_team_week: 12000, max_team_weeks: 20}}\n")
    rows = {key: (value, source) for key, value, source in scenario_values(portfolio(), load_scenario(path))}
    assert rows["hiring"] == ("Digital: 12,000 a team-week, at most 20 a quarter", "hire.yaml, line 2")
    plain = write(folder, "plain.yaml", "workbook: inputs.xlsx\n")
    assert dict((k, v) for k, v, _ in scenario_values(portfolio(), load_scenario(plain)))["hiring"] == "none"
