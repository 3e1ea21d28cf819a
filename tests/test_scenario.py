"""Scenario files: parsing, extends, validation messages, and what each change does to a plan."""

from __future__ import annotations

import textwrap
from dataclasses import replace
from pathlib import Path

import pytest

from planner.core.domain import Experience, FundingOption, Portfolio, Settings, Team
from planner.core.errors import InfeasibleError, InputError
from planner.optimise.optimiser import check_plan, plan_portfolio
from planner.inputs.scenario import Amount, Scenario, apply_scenario, load_scenario


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
    ("workbook: inputs.xlsx\nbudget: {total: minus five}\n", "key budget.total", "is not an amount >= 0"),
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
    # Slips found using the tool: a budget that is not a mapping had no line; per_quarter and change clashed silently.
    ("workbook: inputs.xlsx\nbudget: lots\n", "line 2, key budget:", "'lots' is not an amount"),
    ("workbook: inputs.xlsx\nbudget:\n", "line 2, key budget:", "is empty; expected an amount"),
    ("workbook: inputs.xlsx\nsolver:\n", "line 2, key solver:", "is empty; expected one of cbc, highs"),
    ("workbook: inputs.xlsx\nbudget: {per_quarter: 100, change: -10%}\n", "line 2, key budget.change", "cannot be given with budget.per_quarter"),
    ("workbook: inputs.xlsx\nbudget: {2027Q3: 900}\n", "line 2, key budget.2027Q3", "goes under per_quarter"),
    ("workbook: inputs.xlsx\ndiscount_rate: 6\n", "line 2, key discount_rate", "type 6% or 0.06"),
    ("workbook: .\n", "line 1, key workbook", "is a folder, not a workbook"),
    # "uplift: 50%" was read as +50%, not half.
    ("workbook: inputs.xlsx\nadjust:\n  - where: {channel: app}\n    uplift: 50%\n", "line 4, key adjust[0].uplift", "-50% for half"),
    ("workbook: inputs.xlsx\nbudget: {change: 10%}\n", "line 2, key budget.change", "a change with its sign"),
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
    from planner.inputs.scenario import _File, _parse_rule_keys

    import yaml

    rule_data = yaml.safe_load(f"[{text}]")
    file = _File.__new__(_File)
    file.path, file.problems, file.data, file.key_lines = Path("inline.yaml"), [], {"balance": rule_data}, {}
    out: dict = {}
    _parse_rule_keys(file, file.data, out)
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


# ---------------------------------------------------------------------------------------
# Bugs found using the tool as finance would; each test is named after what broke


def test_extends_cycle_is_named_in_the_order_the_files_extend(folder):
    write(folder, "a.yaml", "extends: b.yaml\nworkbook: inputs.xlsx\n")
    write(folder, "b.yaml", "extends: a.yaml\n")
    with pytest.raises(InputError) as raised:
        load_scenario(folder / "a.yaml")
    assert [str(p) for p in raised.value.problems] == ["b.yaml, line 1, key extends: makes a cycle of extends: a.yaml -> b.yaml -> a.yaml"]


@pytest.mark.parametrize("text", ["workbook: 5\n", "extends: nowhere.yaml\n", "extends: [a.yaml]\n", "Workbook: inputs.xlsx\n"])
def test_workbook_required_is_not_said_twice_when_the_workbook_or_extends_key_is_wrong(folder, text):
    path = write(folder, "bad.yaml", text)
    with pytest.raises(InputError) as raised:
        load_scenario(path)
    assert len(raised.value.problems) == 1, raised.value.problems
    assert "is required" not in str(raised.value)


def test_workbook_required_is_still_said_beside_other_problems(folder):
    path = write(folder, "bad.yaml", "name: x\nsolver: gurobi\n")
    with pytest.raises(InputError) as raised:
        load_scenario(path)
    assert len(raised.value.problems) == 2 and "is required" in str(raised.value)


def test_scenario_file_not_utf8_is_a_problem_with_its_line_not_a_traceback(folder):
    path = folder / "latin.yaml"
    path.write_bytes(b"workbook: inputs.xlsx\nname: Caf\xe9\n")
    with pytest.raises(InputError) as raised:
        load_scenario(path)
    assert str(raised.value.problems[0]).startswith("latin.yaml, line 2: is not UTF-8 text")


def test_workbook_given_where_a_scenario_is_expected_says_so(folder):
    with pytest.raises(InputError, match="is an Excel workbook, not a scenario file"):
        load_scenario(folder / "inputs.xlsx")


def test_empty_name_falls_back_to_the_file_name(folder):
    assert load_scenario(write(folder, "cut-q3.yaml", "workbook: inputs.xlsx\nname:\n")).name == "cut-q3"


def test_unknown_ids_teams_and_values_name_the_file_and_line_that_set_them(folder):
    write(folder, "base.yaml", "workbook: inputs.xlsx\nforced_in: [APP-9]\n")
    child = write(folder, "child.yaml", """
        extends: base.yaml
        capacity:
          Digtal: -10%
        adjust:
          - where: {channel: apps}
            uplift: 0.5
        balance:
          - {journey_stage: get hlep, min_share: 5%}
        """)
    with pytest.raises(InputError) as raised:
        apply_scenario(portfolio(), load_scenario(child))
    places = sorted(p.where for p in raised.value.problems)
    assert places == [
        "base.yaml, line 2, key forced_in",
        "child.yaml, line 3, key capacity.Digtal",
        "child.yaml, line 5, key adjust[0].where.channel",
        "child.yaml, line 8, key balance[0].journey_stage",
    ]
    assert 'did you mean "app"?' in str(raised.value) and 'did you mean "get help"?' in str(raised.value)


def test_a_key_the_child_replaces_is_placed_in_the_child_not_the_parent(folder):
    write(folder, "base.yaml", "workbook: inputs.xlsx\nname: base\nforced_in: [APP-1]\n")
    child = write(folder, "child.yaml", "extends: base.yaml\nforced_in: [APP-9]\n")
    with pytest.raises(InputError) as raised:
        apply_scenario(portfolio(), load_scenario(child))
    assert [p.where for p in raised.value.problems] == ["child.yaml, line 2, key forced_in"]


def test_did_you_mean_ignores_case_like_ids_do():
    with pytest.raises(InputError, match='"help-l" is not an experience in inputs.xlsx \\(did you mean "HELP-1"\\?\\)'):
        apply_scenario(portfolio(), Scenario(source="s.yaml", forced_in=("help-l",)))


def test_stop_of_work_not_in_flight_is_rejected_by_plan_as_roll_does(folder):
    path = write(folder, "s.yaml", "workbook: inputs.xlsx\nstop: [APP-1]\n")
    with pytest.raises(InputError) as raised:
        plan_portfolio(portfolio(), load_scenario(path))
    assert [str(p) for p in raised.value.problems] == [
        's.yaml, line 2, key stop: "APP-1" is not in flight in inputs.xlsx: to leave out work that has not started, use forced_out']


def test_forced_in_alternatives_infeasible_message_says_both_are_forced_in():
    excluding = portfolio().experience("APP-1")
    experiences = tuple(replace(e, excludes=("APP-2",)) if e.id == "APP-1" else e for e in portfolio().experiences)
    assert excluding.excludes == ()
    with pytest.raises(InfeasibleError) as raised:
        plan_portfolio(replace(portfolio(), experiences=experiences), Scenario(forced_in=("APP-1", "APP-2")))
    assert raised.value.conflicts == [
        "APP-1 and APP-2 are alternatives: at most one can be funded, but APP-1 is forced in by the scenario and APP-2 is forced in by the scenario"]


def test_zero_budget_with_mandatory_experience_names_the_budget_not_only_the_mandatory_rule():
    # Slack on a budget of 0 was weighted per EUR: dropping a 5,000 EUR mandatory item looked cheaper than naming the budget.
    def mandatory_and_dear(e: Experience) -> Experience:
        return replace(e, mandatory=True, options=(replace(e.options[0], one_off_cost=5000.0),))

    experiences = tuple(mandatory_and_dear(e) if e.id == "WEB-1" else e for e in portfolio().experiences)
    zero = replace(portfolio(), experiences=experiences, budget=(0.0,) * 4)
    with pytest.raises(InfeasibleError) as raised:
        plan_portfolio(zero)
    assert any("need €5.00k in" in c and "the budget is €0" in c for c in raised.value.conflicts), raised.value.conflicts
    assert not any("must be funded" in c for c in raised.value.conflicts)


def test_forced_in_experience_whose_prerequisite_is_forced_out_names_both_rules():
    experiences = tuple(replace(e, requires=("WEB-1",)) if e.id == "APP-1" else e for e in portfolio().experiences)
    with pytest.raises(InfeasibleError) as raised:
        plan_portfolio(replace(portfolio(), experiences=experiences), Scenario(forced_in=("APP-1",), forced_out=("WEB-1",)))
    assert any(c.startswith("APP-1 requires WEB-1") and c.endswith("but APP-1 is forced in by the scenario and WEB-1 is forced out by the scenario")
               for c in raised.value.conflicts), raised.value.conflicts


def test_forced_in_written_without_brackets_is_split_into_ids(folder):
    scenario = load_scenario(write(folder, "s.yaml", "workbook: inputs.xlsx\nforced_in: APP-1, WEB-1\nforced_out: HELP-1\n"))
    assert scenario.forced_in == ("APP-1", "WEB-1") and scenario.forced_out == ("HELP-1",)


def test_budget_cut_written_as_one_change_cuts_the_total_too(folder):
    # "budget: -10%" cut only the quarters; with the total binding, the plan spent as much as before.
    scenario = load_scenario(write(folder, "s.yaml", "workbook: inputs.xlsx\nbudget: -10%\n"))
    assert scenario.budget_per_quarter == (Amount(0.9, relative=True),) and scenario.total_budget == Amount(0.9, relative=True)
    with_total = replace(portfolio(), total_budget=250.0)
    assert apply_scenario(with_total, scenario).total_budget == pytest.approx(225.0)
    absolute = load_scenario(write(folder, "a.yaml", "workbook: inputs.xlsx\nbudget: 100\n"))
    assert absolute.budget_per_quarter == (Amount(100.0),) and absolute.total_budget is None


# ---------------------------------------------------------------------------------------
# The YAML itself (issue 10, point 9): YAML 1.2 scalars, no aliases, no tags, bounded

ALIAS_BOMB = "workbook: inputs.xlsx\na: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{name}: &{name} [{', '.join([f'*{previous}'] * 9)}]\n" for previous, name in zip("abcdefgh", "bcdefghi"))

BAD_YAML = [
    # (what broke, file text, where, message)
    ("alias bomb ran for minutes past 2 GB", ALIAS_BOMB, "line 2", "&a is an anchor; scenario files do not use anchors or aliases"),
    ("alias alone", "workbook: inputs.xlsx\nforced_in: *ids\n", "line 2", "*ids is an alias"),
    ("!!int free gave a ValueError traceback", "workbook: inputs.xlsx\nstart_quarters: !!int free\n", "line 2",
     "!!int is a YAML tag; scenario files do not use tags"),
    ("!!bool npv gave a KeyError traceback", "workbook: inputs.xlsx\nobjective: !!bool npv\n", "line 2", "!!bool is a YAML tag"),
    ("!!map npv gave an AttributeError traceback", "workbook: inputs.xlsx\nobjective: !!map npv\n", "line 2", "!!map is a YAML tag"),
    ("a local tag", "workbook: inputs.xlsx\nname: !secret x\n", "line 2", "!secret is a YAML tag"),
    ("a tag on a list", "workbook: inputs.xlsx\nforced_in: !!set {CX-1}\n", "line 2", "!!set is a YAML tag"),
    ("1:30 was 90 seconds in YAML 1.1", "workbook: inputs.xlsx\ntime_limit_seconds: 1:30\n", "line 2, key time_limit_seconds",
     "'1:30' is not a number of seconds"),
    ("nesting deep enough to overflow the stack", "workbook: inputs.xlsx\nname: " + "[" * 3000 + "]" * 3000 + "\n", "line 2",
     "nests deeper than 20 levels"),
    ("a merge key is YAML 1.1 only", "workbook: inputs.xlsx\n<<: {gap: 0.1}\n", "line 2, key <<", "is not a known key"),
    ("a control character", "workbook: inputs.xlsx\nname: a\x07b\n", "line 2", "control character U+0007"),
    ("two documents", "workbook: inputs.xlsx\n---\nname: x\n", "line 2", "holds a second document"),
    ("a list, not a mapping", "- workbook\n- inputs.xlsx\n", "line 1", "must be a mapping of keys"),
    ("a duplicate key inside budget named only its last part", "workbook: inputs.xlsx\nbudget:\n  total: 1\n  total: 2\n",
     "line 4, key budget.total", "appears twice"),
    ("a percent with a decimal comma", "workbook: inputs.xlsx\ndiscount_rate: 6,5%\n", "line 2, key discount_rate",
     "write 6.5% with a decimal point"),
    ("a change with a decimal comma", "workbook: inputs.xlsx\nbudget: -2,5%\n", "line 2, key budget", "write -2.5% with a decimal point"),
    ("a share with a decimal comma", "workbook: inputs.xlsx\nbalance:\n  - {journey_stage: buy, min_share: 12,5%}\n",
     "line 3, key balance[0].5%", "inside { } a comma separates entries"),
    ("an amount with commas inside braces splits into keys", "workbook: inputs.xlsx\nbudget: {total: 8,000,000}\n",
     "line 2, key budget.000", "inside { } a comma separates entries"),
    # Found by the fuzz: a path too long for the file system was an OSError traceback.
    ("an extends path too long for the file system", "extends: " + "x" * 5000 + "\n", "line 1, key extends",
     "cannot be used as the path of a scenario file (File name too long)"),
    ("a workbook path too long for the file system", "workbook: " + "x" * 5000 + "\n", "line 1, key workbook",
     "cannot be used as the path of a workbook (File name too long)"),
    ("a workbook path with a NUL", 'workbook: "a\\0b.xlsx"\n', "line 1, key workbook", "embedded null byte"),
    # Found by the long fuzz (seed 7): a list of mappings as a budget was a TypeError; extends naming a workbook
    # was said of the workbook, not the line that named it.
    ("a list of mappings as the budget", "workbook: inputs.xlsx\nbudget:\n  - {journey_stage: buy}\n", "line 2, key budget",
     "is not an amount"),
    ("extends naming the workbook", "extends: inputs.xlsx\n", "line 1, key extends",
     '"inputs.xlsx" is an Excel workbook, not a scenario file: name it with workbook: inputs.xlsx'),
    ("a minus sign pasted from a word processor", "workbook: inputs.xlsx\nbudget: \u221210%\n", "line 2, key budget",
     "type the minus as -"),
    ("a tab to indent", "workbook: inputs.xlsx\nbudget:\n\tper_quarter: -10%\n", "line 3", "YAML indents with spaces"),
    # A rejected share was kept and compared: "min_share is above max_share" was said of a share never accepted.
    ("a share out of range", "workbook: inputs.xlsx\nbalance:\n  - journey_stage: buy\n    min_share: 150%\n    max_share: 50%\n",
     "line 4, key balance[0].min_share", "'150%' is not a share between 0% and 100%"),
    ("a multiplier of .nan planned NaN costs", "workbook: inputs.xlsx\nadjust:\n  - where: {channel: app}\n    cost: .nan\n",
     "line 4, key adjust[0].cost", "is not a multiplier"),
]


@pytest.mark.parametrize("text, where, message", [case[1:] for case in BAD_YAML], ids=[case[0] for case in BAD_YAML])
def test_yaml_the_scenario_loader_refuses_is_reported_with_file_and_line(folder, text, where, message):
    path = write(folder, "bad.yaml", text)
    before = path.read_bytes()
    with pytest.raises(InputError) as raised:
        load_scenario(path)
    problems = [str(p) for p in raised.value.problems]
    assert any(p.startswith("bad.yaml, ") and where in p and message in p for p in problems), problems
    assert path.read_bytes() == before


def test_an_alias_bomb_is_refused_before_it_is_expanded(folder):
    # Nine levels of nine aliases: 387 million nodes if expanded; refused at the first anchor.
    with pytest.raises(InputError, match="anchor"):
        load_scenario(write(folder, "bomb.yaml", ALIAS_BOMB))


@pytest.mark.parametrize("text, field, expected", [
    # YAML 1.1 read these as False, the octal 8 and a date; YAML 1.2 and the user mean the text and ten.
    ("name: NO\n", "name", "NO"),
    ("name: yes\n", "name", "yes"),
    ("time_limit_seconds: 010\n", "time_limit_seconds", 10.0),
    ("name: 2027-01-01\n", "name", "2027-01-01"),
    ("name: 1.10\n", "name", "1.10"),
    ("forced_in: [0101, CX-7]\n", "forced_in", ("0101", "CX-7")),
    ("gap: 1e-3\n", "gap", 0.001),
    ("time_limit_seconds: 0x3c\n", "time_limit_seconds", 60.0),
])
def test_scalars_are_read_as_yaml_1_2_reads_them(folder, text, field, expected):
    scenario = load_scenario(write(folder, "s.yaml", "workbook: inputs.xlsx\n" + text))
    assert getattr(scenario, field) == expected


def test_a_signed_amount_is_added_to_the_workbook_amount_as_the_readme_says(folder):
    # "+100" was read as the number 100: the budget became 100 a quarter instead of rising by 100.
    scenario = load_scenario(write(folder, "s.yaml", "workbook: inputs.xlsx\nbudget:\n  per_quarter: +100\ncapacity:\n  Digital: -5\n"))
    applied = apply_scenario(portfolio(), scenario)
    assert applied.budget == (300.0, 200.0, 100.0, 100.0)
    assert next(t for t in applied.teams if t.name == "Digital").capacity == (25.0,) * 4


def test_an_amount_with_thousands_separators_reads_as_the_workbook_reads_it(folder):
    scenario = load_scenario(write(folder, "s.yaml", "workbook: inputs.xlsx\nbudget:\n  total: 8,000,000\n"))
    assert scenario.total_budget == Amount(8_000_000.0)


def test_a_signed_cut_below_zero_names_the_key_and_the_quarters(folder):
    scenario = load_scenario(write(folder, "s.yaml", "workbook: inputs.xlsx\nbudget:\n  per_quarter: -150\n"))
    with pytest.raises(InputError) as raised:
        apply_scenario(portfolio(), scenario)
    (problem,) = raised.value.problems
    assert problem.where == "s.yaml, line 3, key budget.per_quarter"
    assert "takes the budget below zero in 2027Q2, 2027Q3, 2027Q4" in problem.message


def test_a_scenario_over_the_size_limit_is_refused_without_reading_it_whole(folder):
    path = folder / "huge.yaml"
    path.write_bytes(b"workbook: inputs.xlsx\n" + b"# padding\n" * 200_000)
    with pytest.raises(InputError, match="huge.yaml, line 1: is over 1 MB"):
        load_scenario(path)


def test_a_refused_min_share_is_not_then_compared_with_max_share(folder):
    path = write(folder, "s.yaml", "workbook: inputs.xlsx\nbalance:\n  - {journey_stage: buy, min_share: 150%, max_share: 50%}\n")
    with pytest.raises(InputError) as raised:
        load_scenario(path)
    assert [p.message for p in raised.value.problems] == ["'150%' is not a share between 0% and 100%"]


def test_notes_say_what_the_loader_read_that_the_file_does_not_spell_out(folder):
    from planner.inputs.scenario import applied_notes

    parent = write(folder, "base.yaml", "workbook: inputs.xlsx\nforced_in: APP-1; WEB-1\n")
    child = write(folder, "s.yaml", f"extends: {parent.name}\nname: Cut\nbudget: -10%\ncapacity:\n  Digital: +5\n"
                                    "adjust:\n  - where: {channel: app}\n    uplift: 100\n")
    scenario = load_scenario(child)
    notes = [str(n) for n in scenario.notes]
    assert notes == [
        'base.yaml, line 2, key forced_in: "APP-1; WEB-1" read as 2 ids: APP-1, WEB-1',
        "s.yaml, line 3, key budget: -10% changes every quarter's budget and the total budget alike (as budget.change does)",
        "s.yaml, line 5, key capacity.Digital: +5 is added to the workbook's amount (a signed amount is a change)",
    ]
    # The uplift multiplier takes APP-1 and APP-2 past 100% of customers: capped, and said so.
    assert [str(n) for n in applied_notes(portfolio(), scenario)] == [
        "s.yaml, line 6, key adjust: uplift capped at 100% of customers for 2 experiences: APP-1, APP-2"]


def test_a_key_the_child_sets_drops_the_parents_note_on_it(folder):
    parent = write(folder, "base.yaml", "workbook: inputs.xlsx\nforced_in: APP-1, WEB-1\n")
    scenario = load_scenario(write(folder, "s.yaml", f"extends: {parent.name}\nname: x\nforced_in: [APP-2]\n"))
    assert scenario.forced_in == ("APP-2",) and scenario.notes == ()


def test_a_scenario_is_checked_against_a_portfolio_once_per_shape(monkeypatch):
    """Re-checked on every solve, a frontier checked its scenario 30 times; amounts do not change what the check finds."""
    import planner.inputs.scenario_apply as applying

    calls = []
    real = applying.scenario_problems
    monkeypatch.setattr(applying, "scenario_problems", lambda p, s: calls.append(s) or real(p, s))
    checked = portfolio()
    for budget in (100.0, 200.0, 300.0):
        apply_scenario(checked, Scenario(budget_per_quarter=(Amount(budget),), forced_in=("APP-1",)))
    assert len(calls) == 1
    apply_scenario(checked, Scenario(budget_per_quarter=(Amount(100.0),), forced_in=("APP-2",)))
    assert len(calls) == 2
    with pytest.raises(InputError, match='"APP-9" is not an experience'):
        apply_scenario(checked, Scenario(forced_in=("APP-9",)))
    with pytest.raises(InputError, match="has 2 values"):
        apply_scenario(checked, Scenario(budget_per_quarter=(Amount(1.0), Amount(2.0)), forced_in=("APP-1",)))


def test_every_alias_anchor_and_tag_is_reported_in_one_pass(folder):
    """Only the first refused alias, anchor or tag was reported; a user fixed one and met the next."""
    text = "workbook: inputs.xlsx\nname: !secret x\nforced_in: &ids [CX-101]\nforced_out: *ids\nobjective: !!str npv\n"
    path = write(folder, "bad.yaml", text)
    with pytest.raises(InputError) as raised:
        load_scenario(path)
    problems = [str(p) for p in raised.value.problems]
    for where, message in (("line 2", "!secret is a YAML tag"), ("line 3", "&ids is an anchor"), ("line 4", "*ids is an alias"),
                           ("line 5", "!!str is a YAML tag")):
        assert any(p.startswith(f"bad.yaml, {where}") and message in p for p in problems), problems
    assert len(problems) == 4


def test_a_file_full_of_tags_lists_the_first_thirty_and_counts_the_rest(folder):
    text = "workbook: inputs.xlsx\n" + "".join(f"k{n}: !t{n} x\n" for n in range(40))
    with pytest.raises(InputError) as raised:
        load_scenario(write(folder, "tags.yaml", text))
    problems = [str(p) for p in raised.value.problems]
    assert len(problems) == 31 and "!t0 is a YAML tag" in problems[0] and "line 2" in problems[0]
    assert problems[-1] == "tags.yaml: and 10 more aliases, anchors or tags"
