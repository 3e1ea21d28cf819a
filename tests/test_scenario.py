"""Scenario files: parsing, extends, validation messages, and what each change does to a plan."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from planner.domain import Experience, FundingOption, Portfolio, Settings, Team
from planner.errors import InfeasibleError, InputError
from planner.optimise import check_plan, plan_portfolio
from planner.scenario import Amount, Scenario, apply_scenario, load_scenario


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(textwrap.dedent(text).lstrip(), encoding="utf-8")
    return path


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "inputs.xlsx").write_bytes(b"not read by load_scenario")
    return tmp_path


def portfolio() -> Portfolio:
    def experience(id_, stage, channel, reach, cost, team="Digital", **extra):
        option = FundingOption("standard", cost, 0.0, ((team, 10.0),), 1, 1.0)
        return Experience(id_, f"Experience {id_}", stage, channel, "cards", "frontstage", team, reach, "conversion", 100.0,
                          0.005, 0.01, 0.02, (option,), **extra)

    experiences = (
        experience("APP-1", "buy", "app", 1000.0, 100.0),
        experience("APP-2", "choose", "app", 800.0, 100.0),
        experience("HELP-1", "get help", "contact centre", 300.0, 100.0, team="Service"),
        experience("WEB-1", "buy", "web", 500.0, 100.0),
    )
    teams = (Team("Digital", (30.0,) * 4), Team("Service", (30.0,) * 4))
    return Portfolio(experiences, teams, (200.0, 100.0, 0.0, 0.0), Settings(horizon_quarters=4, annual_discount_rate=0.0, gap=0.0),
                     source="inputs.xlsx")


BAD_FILES = [
    ("workbook: inputs.xlsx\nbudgte: 5\n", 'line 2, key budgte', 'did you mean "budget"?'),
    ("workbook: inputs.xlsx\nsolver: gurobi\n", "line 2, key solver", '"gurobi" is not one of cbc, highs'),
    ("workbook: inputs.xlsx\ntime_limit_seconds: soon\n", "key time_limit_seconds", "is not a number of seconds"),
    ("workbook: inputs.xlsx\nbudget:\n  per_quarter: 12k\n", "line 3, key budget.per_quarter", "is not an amount"),
    ("workbook: inputs.xlsx\nbudget: {total: -5}\n", "key budget.total", "is not an amount >= 0"),
    ("workbook: inputs.xlsx\nforced_in: {a: 1}\n", "key forced_in", "must be a list of experience ids"),
    ("workbook: inputs.xlsx\nname: a\nname: b\n", "line 3, key name", "appears twice"),
    ("workbook: missing.xlsx\n", "line 1, key workbook", '"missing.xlsx" does not exist'),
    ("name: no workbook\n", "key workbook", "is required"),
    ("workbook: inputs.xlsx\nadjust:\n  - where: {chanel: app}\n    uplift: 0.5\n", "key adjust[0].where.chanel", 'did you mean "channel"?'),
    ("workbook: inputs.xlsx\nadjust:\n  - where: {channel: app}\n    uplift: lots\n", "key adjust[0].uplift", "is not a multiplier"),
    ("workbook: inputs.xlsx\nbalance:\n  - {journey_stage: get help, min_share: 150%}\n", "key balance[0].min_share", "between 0% and 100%"),
    ("workbook: inputs.xlsx\nbalance:\n  - {min_share: 15%}\n", "key balance[0]", "exactly one of journey_stage"),
    ("workbook: inputs.xlsx\nobjective: profit\n", "key objective", "is not one of npv, benefit, reach"),
    ("workbook: inputs.xlsx\nforced_in: [A]\nforced_out: [a]\n", "key forced_out", "forced both in and out"),
    ("workbook: [inputs.xlsx\n", "line 2", "is not valid YAML"),
]


@pytest.mark.parametrize("text, where, message", BAD_FILES, ids=[b[2][:30] for b in BAD_FILES])
def test_bad_scenario_files_are_reported_with_line_and_key(folder, text, where, message):
    path = write(folder, "bad.yaml", text)
    with pytest.raises(InputError) as raised:
        load_scenario(path)
    problems = [str(p) for p in raised.value.problems]
    assert any(where in p and message in p and "bad.yaml" in p for p in problems), problems


def test_all_problems_of_a_file_come_in_one_pass(folder):
    path = write(folder, "bad.yaml", "workbook: inputs.xlsx\nsolver: gurobi\ngap: lots\nbudgte: 1\n")
    with pytest.raises(InputError) as raised:
        load_scenario(path)
    assert len(raised.value.problems) == 3


def test_extends_inherits_and_overrides(folder):
    write(folder, "base.yaml", "name: Base\nworkbook: inputs.xlsx\nbudget: {per_quarter: 100, total: 500}\ncapacity: {Digital: 20}\nsolver: highs\n")
    child = write(folder, "cut.yaml", "extends: base.yaml\nname: Cut\nbudget: {per_quarter: -10%}\ncapacity: {Service: +50%}\n")
    scenario = load_scenario(child)
    assert scenario.name == "Cut" and scenario.solver == "highs"
    assert scenario.budget_per_quarter == (Amount(0.9, relative=True),)
    assert scenario.total_budget == Amount(500.0)
    assert {team for team, _, _ in scenario.capacity} == {"Digital", "Service"}
    assert scenario.extends == (str((folder / "base.yaml").resolve()),)


def test_a_cycle_of_extends_is_named(folder):
    write(folder, "a.yaml", "extends: b.yaml\nworkbook: inputs.xlsx\n")
    write(folder, "b.yaml", "extends: a.yaml\n")
    with pytest.raises(InputError, match="cycle of extends"):
        load_scenario(folder / "a.yaml")


def test_unknown_experience_team_and_filter_values_are_named_against_the_workbook():
    scenario = Scenario(source="s.yaml", forced_in=("APP-9",), capacity=(("Digtal", (Amount(5.0),), ()),))
    with pytest.raises(InputError) as raised:
        apply_scenario(portfolio(), scenario)
    text = str(raised.value)
    assert '"APP-9" is not an experience in inputs.xlsx' in text
    assert '"Digtal" is not a team in inputs.xlsx (did you mean "Digital"?)' in text


def test_budget_capacity_and_adjustments_change_the_portfolio(folder):
    path = write(folder, "s.yaml", """
        workbook: inputs.xlsx
        budget: {per_quarter: {2027Q2: 300}, total: +0%}
        capacity: {all teams: -50%, Service: [1, 2, 3, 4, 5, 6]}
        adjust:
          - where: {channel: app}
            uplift: -50%
            cost: 2
        horizon_quarters: 6
        discount_rate: 6%
        """)
    changed = apply_scenario(portfolio(), load_scenario(path))
    assert changed.budget == (200.0, 300.0, 0.0, 0.0, 0.0, 0.0)
    assert changed.total_budget == pytest.approx(300.0)  # +0% of the workbook's (resized) per-quarter sum
    assert changed.team("Digital").capacity == (15.0,) * 6
    assert changed.team("Service").capacity == (1.0, 2.0, 3.0, 4.0, 5.0, 6.0)  # its own entry wins over "all teams"
    app = changed.experience("APP-1")
    assert app.uplift_base == pytest.approx(0.005) and app.options[0].one_off_cost == 200.0
    assert changed.experience("WEB-1") == portfolio().experience("WEB-1")
    assert changed.settings.annual_discount_rate == pytest.approx(0.06)


def test_a_minimum_share_for_get_help_funds_it_even_at_lower_npv():
    base = plan_portfolio(portfolio())
    assert "HELP-1" not in {d.experience.id for d in base.funded}
    scenario = replace(Scenario(), balance=(load_balance("{journey_stage: get help, min_share: 30%}"),))
    balanced = plan_portfolio(portfolio(), scenario)
    assert "HELP-1" in {d.experience.id for d in balanced.funded}
    assert balanced.npv <= base.npv
    assert check_plan(balanced.portfolio, scenario, balanced.decisions) == []
    rule = next(r for r in balanced.rules if r.kind == "balance")
    assert rule.used >= 0.3 and rule.sense == "at least"


def load_balance(text: str):
    from planner.scenario import _File, _parse_balance

    import yaml

    rule_data = yaml.safe_load(f"[{text}]")
    file = _File.__new__(_File)
    file.path, file.problems, file.data, file.key_lines = Path("inline.yaml"), [], {"balance": rule_data}, {}
    out: dict = {}
    _parse_balance(file, file.data, out)
    assert not file.problems
    return out["balance"][0]


def test_an_roi_hurdle_nobody_can_meet_with_a_mandatory_loss_maker_is_infeasible():
    loss = Experience("LOSS-1", "Regulatory report", "use", "web", "cards", "backstage", "Digital", 0.0, "none", 0.0, 0.0, 0.0, 0.0,
                      (FundingOption("standard", 150.0, 0.0, (("Digital", 1.0),), 1, 1.0),), mandatory=True)
    with_loss = replace(portfolio(), experiences=portfolio().experiences + (loss,))
    with pytest.raises(InfeasibleError, match="ROI hurdle of 2000%"):
        plan_portfolio(with_loss, Scenario(roi_hurdle=20.0))


def test_reach_objective_prefers_the_widest_reach():
    plan = plan_portfolio(replace(portfolio(), budget=(100.0, 0.0, 0.0, 0.0)), Scenario(objective="reach"))
    assert [d.experience.id for d in plan.funded] == ["APP-1"]


def test_pessimistic_uplift_estimate_lowers_npv():
    base = plan_portfolio(portfolio())
    low = plan_portfolio(portfolio(), Scenario(uplift_estimate="low"))
    assert low.npv < base.npv
