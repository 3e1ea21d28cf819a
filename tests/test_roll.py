"""The quarterly cycle: plan state, rolling forward, in-flight commitments, stops, and the changes list.

Plans come from the real optimiser on the six-experience portfolio of conftest (about a
second a solve); the changes list is checked against a diff of the two plan.json files
written here independently of planner.cycle.roll.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import small_portfolio
from planner.core.domain import Commitment, normalise_id, shift_label
from planner.core.errors import InputError
from planner.optimise.optimiser import plan_portfolio
from planner.publish import write_quarterly_reports
from planner.reports.plan_report import build_report
from planner.reports.quarterly import build_quarterly_report
from planner.cycle.roll import VERSION, read_plan_state, roll_forward, state_json, write_plan_state
from planner.inputs.scenario import Scenario
from planner.inputs.workbook import read_workbook
from planner.inputs.workbook_writer import write_portfolio


@pytest.fixture(scope="module")
def first(tmp_path_factory):
    """The Q1 plan of the small portfolio and its saved state."""
    path = tmp_path_factory.mktemp("q1") / "plan.json"
    plan = plan_portfolio(small_portfolio())
    write_plan_state(plan, path)
    return plan, read_plan_state(path)


def started_in_first_quarter(plan) -> set[str]:
    return {d.experience.id for d in plan.funded if d.start_quarter == 0}


def test_plan_state_round_trips_and_is_versioned(first, tmp_path):
    plan, state = first
    assert state_json(state)["version"] == VERSION == 1
    assert state.workbook == "example-portfolio.xlsx" and state.first_quarter == "2027Q1" and state.settings.horizon_quarters == 8
    assert {e.id for e in state.experiences if e.funded} == {d.experience.id for d in plan.funded}
    cx = next(e for e in state.experiences if e.funded)
    assert sum(cx.spend.values()) == pytest.approx(next(d for d in plan.funded if d.experience.id == cx.id).total_spend)
    assert state.npv == pytest.approx(plan.npv)
    write_plan_state(plan, tmp_path / "again.json")
    assert (tmp_path / "again.json").read_bytes() == Path(state.source).read_bytes()


@pytest.mark.parametrize("edit, message", [
    (lambda d: d.update(version=99), "key version: 99 is not a plan-state version"),
    (lambda d: d.update(format="other"), 'is not a saved plan'),
    (lambda d: d["experiences"][0].pop("funded"), "key experiences[0].funded: is missing"),
    (lambda d: d["totals"].update(npv="lots"), "key totals.npv: 'lots' is not a float"),
])
def test_a_bad_plan_state_is_located(first, tmp_path, edit, message):
    data = json.loads(Path(first[1].source).read_text())
    edit(data)
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")):
        read_plan_state(path)


@pytest.fixture(scope="module")
def unchanged(first):
    """Rolled forward on the same inputs: no new information at all."""
    return roll_forward(first[1], small_portfolio())


def test_rolling_forward_with_no_new_information_changes_nothing(first, unchanged):
    plan, _ = first
    assert unchanged.plan.quarters[0] == "2027Q2" and unchanged.closed_quarters == ("2027Q1",)
    assert unchanged.changes == ()
    before = {d.experience.id: (d.option, d.start_quarter - 1, tuple(round(x, 6) for x in d.spend[1:])) for d in plan.funded}
    after = {d.experience.id: (d.option, d.start_quarter, tuple(round(x, 6) for x in d.spend)) for d in unchanged.plan.funded}
    assert after == before


def test_work_started_is_in_flight_and_committed_with_a_warning_when_actuals_are_missing(first, unchanged):
    started = started_in_first_quarter(first[0])
    assert started
    committed = {e.id for e in unchanged.plan.portfolio.experiences if e.commitment is not None}
    assert committed == started
    assert {w.message.split()[0] for w in unchanged.warnings} == started
    assert all("has no row" in w.message for w in unchanged.warnings)


def test_in_flight_work_is_never_dropped_or_moved_even_when_it_loses_money(first):
    _, state = first
    started = sorted(started_in_first_quarter(first[0]))
    portfolio = small_portfolio()
    # Its value collapses: a fresh plan would drop it; a roll must keep it.
    experiences = tuple(replace(e, reach_per_quarter=0.0) if e.id == started[0] else e for e in portfolio.experiences)
    roll = roll_forward(state, replace(portfolio, experiences=experiences))
    decision = next(d for d in roll.plan.decisions if d.experience.id == started[0])
    previous = state.experience(started[0])
    assert decision.funded and decision.option == previous.option and decision.start_quarter == -1
    assert [c.kinds for c in roll.changes if c.id == started[0]] == [("revised",)]


def test_stopping_needs_an_explicit_instruction_and_shows_with_its_sunk_cost(first):
    _, state = first
    target = sorted(started_in_first_quarter(first[0]))[0]
    roll = roll_forward(state, small_portfolio(), Scenario(stop=(target,)))
    change = next(c for c in roll.changes if c.id == target)
    assert change.kinds == ("stopped",) and change.reasons[0] == "stopped by the scenario while in flight"
    assert change.spend_after == 0 and change.spend_before == pytest.approx(state.experience(target).spend["2027Q2"] + sum(
        v for q, v in state.experience(target).spend.items() if q > "2027Q2"))
    # The sunk quarter is in neither side: only the spend from 2027Q2 on is saved.
    assert change.sunk == pytest.approx(state.experience(target).spend["2027Q1"])
    decision = next(d for d in roll.plan.decisions if d.experience.id == target)
    assert decision.reason == "stopped by the scenario while in flight"


def test_stopping_work_that_has_not_started_is_refused(first):
    _, state = first
    waiting = next(e.id for e in state.experiences if e.funded and e.start_quarter > "2027Q1")
    with pytest.raises(InputError, match=f'"{waiting}" is not in flight: to leave out work that has not started, use forced_out'):
        roll_forward(state, small_portfolio(), Scenario(stop=(waiting,)))


def test_in_flight_work_missing_from_the_new_workbook_is_an_error(first):
    _, state = first
    target = sorted(started_in_first_quarter(first[0]))[0]
    portfolio = small_portfolio()
    kept = tuple(e for e in portfolio.experiences if e.id != target and target not in e.requires)
    with pytest.raises(InputError, match=f"experience {target}: is in flight .* but is not in example-portfolio.xlsx"):
        roll_forward(state, replace(portfolio, experiences=kept))


# ---------------------------------------------------------------------------------------
# The changes list against an independent diff of the two plan.json files


def independent_diff(before: dict, after: dict) -> dict[str, set[str]]:
    """What changed per experience, from the two plan.json files alone: funding, option, timing, spend from the new first quarter."""
    quarters = list(after["budget"])
    old = {normalise_id(e["id"]): e for e in before["experiences"]}
    new = {normalise_id(e["id"]): e for e in after["experiences"]}
    found: dict[str, set[str]] = {}
    for key in old.keys() | new.keys():
        a, b = old.get(key, {"funded": False}), new.get(key, {"funded": False})
        kinds = set()
        if a["funded"] != b["funded"]:
            kinds.add("added" if b["funded"] else ("stopped" if b.get("in_flight") else "dropped"))
        elif a["funded"]:
            if a["option"] != b["option"]:
                kinds.add("option changed")
            if (a["start_quarter"], a["go_live_quarter"]) != (b["start_quarter"], b["go_live_quarter"]):
                kinds.add("moved")
            if not kinds and abs(sum(a["spend"].get(q, 0.0) for q in quarters) - sum(b["spend"].values())) > 0.5:
                kinds.add("revised")
        if kinds:
            found[key] = kinds
    return found


def test_the_changes_list_leaves_out_nothing_an_independent_diff_finds(first, tmp_path):
    _, state = first
    portfolio = small_portfolio()
    stopped = sorted(started_in_first_quarter(first[0]))[0]
    # New information of every kind: a budget cut, revised estimates, a new cost for work in flight.
    in_flight = sorted(started_in_first_quarter(first[0]))[-1]
    experiences = tuple(
        replace(e, uplift_base=e.uplift_base * 0.3, uplift_low=e.uplift_low * 0.3) if e.id == "CX-104" else
        replace(e, options=tuple(replace(o, one_off_cost=o.one_off_cost * 0.5) for o in e.options)) if e.id == "CX-103" else
        replace(e, commitment=Commitment(e.options[0].name, -1, 40_000.0, 90_000.0, "late"))
        if e.id == in_flight and state.experience(e.id).option == e.options[0].name else e
        for e in portfolio.experiences
    )
    portfolio = replace(portfolio, experiences=experiences, budget=(450_000.0, 450_000.0, 300_000.0) + portfolio.budget[3:])
    roll = roll_forward(state, portfolio, Scenario(stop=(stopped,)))
    out = write_quarterly_reports(roll, tmp_path, ("csv",))
    after = json.loads(out[-1].read_text())
    for e in after["experiences"]:  # the in-flight flag as the new plan.json records it
        e["in_flight"] = e["in_flight"] is not None
    expected = independent_diff(json.loads(Path(state.source).read_text()), after)
    reported = {normalise_id(c.id): set(c.kinds) for c in roll.changes}
    assert expected, "the new information should change the plan"
    missing = {k: v for k, v in expected.items() if not v <= reported.get(k, set())}
    assert not missing, f"changes the report leaves out: {missing}"
    assert all(c.reasons and "no new information" not in c.reason for c in roll.changes)
    section = build_quarterly_report(roll).section("changes")
    assert {c.id for c in section.rows} == {c.id for c in roll.changes}
    assert section.summary.stopped == 1


def test_the_quarterly_report_has_its_sections_and_labels_work_in_flight(unchanged, tmp_path):
    report = build_quarterly_report(unchanged)
    keys = [s.key for s in report.sections]
    assert keys[:5] == ["summary", "bridge", "changes", "timeline", "plan_vs_actual"]
    timeline = report.section("timeline")
    flying = [r for r in timeline.rows if r.in_flight]
    assert flying and all(r.start_quarter == "2027Q1" for r in flying)
    assert all(r.cells[0] in ("in flight", "benefit") for r in flying)
    # A bug fixed: a start before the horizon was labelled with the last quarter (a negative index).
    funded = {r.id: r for r in build_report(unchanged.plan).section("funded")}
    assert all(funded[r.id].start_quarter == "2027Q1" for r in flying)
    written = write_quarterly_reports(unchanged, tmp_path)
    assert [p.name for p in written] == ["report.html", "report.xlsx", "plan.csv", "plan.json"]
    assert "What changed since the previous plan" in written[0].read_text()


def test_actuals_come_from_the_in_flight_sheet(first, tmp_path):
    _, state = first
    target = sorted(started_in_first_quarter(first[0]))[0]
    option = state.experience(target).option
    portfolio = small_portfolio()
    settings = replace(portfolio.settings, first_quarter="2027Q2", horizon_quarters=7)
    experiences = tuple(replace(e, commitment=Commitment(option, -1, 999.0, 123_000.0, "late")) if e.id == target else e
                        for e in portfolio.experiences)
    workbook = tmp_path / "q2.xlsx"
    write_portfolio(replace(portfolio, experiences=experiences, settings=settings, budget=portfolio.budget[1:],
                            teams=tuple(replace(t, capacity=t.capacity[1:]) for t in portfolio.teams)), workbook)
    read, errors, _ = read_workbook(workbook)
    assert not errors
    roll = roll_forward(state, read)
    assert target not in {w.message.split()[0] for w in roll.warnings}
    row = next(r for r in roll.actuals if r.id == target)
    assert (row.status, row.remaining, row.actual_spend) == ("late", 999.0, 123_000.0)
    assert row.planned_spend == pytest.approx(state.experience(target).spend["2027Q1"])


@pytest.mark.parametrize("cell, value, message", [
    ("A2", "CX-999", '"CX-999" is not an experience id on sheet Experiences'),
    ("B2", "gold", '"gold" is not an option of experience "CX-102" on sheet Options'),
    ("C2", "2027Q2", "2027Q2 is not before the first quarter 2027Q2 (see Settings)"),
    ("C2", "next spring", '"next spring" is not a quarter like 2027Q1 or FY28 Q1'),
    ("F2", "behind", '"behind" is not a status; expected on track or late or done'),
])
def test_a_bad_in_flight_row_is_located(tmp_path, cell, value, message):
    import openpyxl

    portfolio = small_portfolio()
    settings = replace(portfolio.settings, first_quarter="2027Q2")
    experiences = tuple(replace(e, commitment=Commitment("standard", -1)) if e.id == "CX-102" else e for e in portfolio.experiences)
    path = tmp_path / "q2.xlsx"
    write_portfolio(replace(portfolio, experiences=experiences, settings=settings), path)
    book = openpyxl.load_workbook(path)
    book["In flight"][cell].value = value
    book.save(path)
    _, errors, _ = read_workbook(path)
    assert [e.message for e in errors if message in e.message], [str(e) for e in errors]
    assert all(e.where.startswith("q2.xlsx, sheet In flight, row 2, column") for e in errors)


def test_labels_before_the_horizon_keep_their_form():
    assert shift_label("2027Q2", -1) == "2027Q1" and shift_label("FY28 Q1", -1) == "FY27 Q4"


# ---------------------------------------------------------------------------------------
# The NPV bridge


@pytest.fixture(scope="module")
def eventful(first):
    """A roll with one cause of each kind: late actuals, new estimates, a stop, a budget cut, less capacity."""
    _, state = first
    portfolio = small_portfolio()
    started = sorted(started_in_first_quarter(first[0]))
    stopped, late = started[0], started[-1]
    experiences = tuple(
        replace(e, uplift_base=e.uplift_base * 0.3, uplift_low=e.uplift_low * 0.3) if e.id == "CX-104" else
        replace(e, options=tuple(replace(o, one_off_cost=o.one_off_cost * 0.5) for o in e.options)) if e.id == "CX-103" else
        replace(e, commitment=Commitment(state.experience(e.id).option, -1, 120_000.0, 90_000.0, "late")) if e.id == late else e
        for e in portfolio.experiences
    )
    teams = tuple(replace(t, capacity=(16.0, 16.0, 6.0) + t.capacity[3:]) if t.name == "Digital" else t for t in portfolio.teams)
    portfolio = replace(portfolio, experiences=experiences, teams=teams, budget=(450_000.0, 450_000.0, 250_000.0) + portfolio.budget[3:])
    return roll_forward(state, portfolio, Scenario(stop=(stopped,))), stopped, late


def test_the_bridge_steps_add_up_to_the_change_and_each_step_to_its_experiences(first, eventful):
    roll, _, _ = eventful
    bridge = roll.bridge
    plan, state = first
    assert bridge.previous_npv == pytest.approx(plan.npv) and bridge.npv == pytest.approx(roll.plan.npv)
    assert [s.label for s in bridge.steps] == ["quarter closed", "actuals", "new estimates", "stopped work", "budget", "capacity",
                                               "re-optimisation"]
    assert sum(s.change for s in bridge.steps) == pytest.approx(roll.plan.npv - plan.npv, abs=1e-6)
    for before, after in zip(bridge.steps, bridge.steps[1:]):
        assert after.npv_before == before.npv_after
    # Each step is the sum of what it did to each experience.
    for n, step in enumerate(bridge.steps):
        assert sum(e.changes[n] for e in bridge.experiences) == pytest.approx(step.change, abs=1e-3), step.label
    # The quarter closed is the restatement the changes list compares with: like with like.
    summary = build_quarterly_report(roll).section("changes").summary
    assert bridge.step("closed").npv_after == pytest.approx(summary.npv_before)
    assert summary.npv_as_planned == pytest.approx(state.npv)


def test_each_change_has_its_own_cause_and_its_npv_by_cause_adds_up(eventful):
    roll, stopped, late = eventful
    causes = {c.id: c.cause for c in roll.changes}
    assert causes[stopped] == "stopped" and causes[late] == "actuals"
    assert causes["CX-104"] in ("estimates", "reoptimised")
    assert len(set(causes.values())) >= 3, causes
    for change in roll.changes:
        assert change.cause, change
        assert not change.reason.startswith("re-planned for"), change.reason  # no shared list of causes
        assert sum(d for _, d in change.npv_by_cause) == pytest.approx(change.npv_delta, abs=1.0), change.id
    # The budget cut and the capacity cut each had to drop work from the plan as it stood, or the plan still fitted.
    assert {roll.bridge.step(k).how.split(":")[0] for k in ("budget", "capacity")} == {"re-solve"}


def test_with_no_new_information_only_the_closed_quarter_moves_the_npv(first, unchanged):
    bridge = unchanged.bridge
    assert bridge.step("closed").change != 0
    assert all(abs(s.change) < 0.5 for s in bridge.steps[1:]), [(s.label, s.change) for s in bridge.steps]
    assert bridge.step("budget").how == "re-solve: the plan fits, nothing to drop"


def test_the_example_roll_prints_the_bridge_and_writes_it_in_every_format(tmp_path):
    """The README's two-quarter story: planner plan q1, planner roll q2; the bridge in the CLI, the HTML and the Bridge sheet."""
    from click.testing import CliRunner
    import openpyxl
    from planner.cli import cli

    repo = Path(__file__).resolve().parent.parent
    first_run = CliRunner().invoke(cli, ["plan", str(repo / "scenarios" / "q1-plan.yaml"), "-o", str(tmp_path / "q1"), "--format", "csv"])
    assert first_run.exit_code == 0, first_run.output
    result = CliRunner().invoke(cli, ["roll", str(tmp_path / "q1" / "plan.json"), str(repo / "scenarios" / "q2-roll.yaml"), "-o", str(tmp_path / "q2")])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "NPV bridge from the previous plan (Q1 2027 plan) to this one" in text
    for label in ("quarter closed", "actuals", "new estimates", "stopped work", "budget", "capacity", "re-optimisation"):
        assert f"\n  {label} " in text
    # CX-601's premium-to-standard move is the re-optimisation's, after new estimates cut its uplift.
    line = next(line for line in text.split("Changes since the previous plan")[1].splitlines() if line.strip().startswith("CX-601"))
    assert "[re-optimisation]" in line and "at standard (was premium)" in line and "uplift 2.00% -> 1.33%" in line
    assert "re-planned for" not in text
    page = (tmp_path / "q2" / "report.html").read_text(encoding="utf-8")
    assert "The plan&#39;s NPV from the previous plan to this one, by cause" in page or "The plan's NPV from the previous plan" in page
    assert page.count("<rect") > 9 and "re-optimisation" in page
    from conftest import layout_problems
    assert layout_problems(page, tmp_path) == []  # the bridge and the changes with their causes fit an A4 text width
    sheet = openpyxl.load_workbook(tmp_path / "q2" / "report.xlsx")["Bridge"]
    values = {row[0]: row[1] for row in sheet.iter_rows(min_row=4, max_row=7, values_only=True)}
    rows = list(sheet.iter_rows(min_row=9, max_row=17, values_only=True))
    # The table runs from the previous plan's NPV, through the seven steps, to this plan's, as the HTML's does.
    assert [rows[0][0], rows[-1][0]] == ["Previous plan (2027Q1)", "This plan (2027Q2)"]
    assert [rows[0][3], rows[-1][3]] == pytest.approx([values["NPV, previous plan (as planned)"], values["NPV, this plan"]])
    steps = [row[2] for row in rows[1:-1]]
    assert sum(steps) == pytest.approx(values["NPV, this plan"] - values["NPV, previous plan (as planned)"], abs=1e-3)
    assert rows[-1][2] == "=SUM(C10:C16)" and sheet["B7"].value == "=SUM(C10:C16)"
