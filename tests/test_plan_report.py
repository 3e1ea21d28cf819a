"""The report model of a plan: its numbers match the plan; plan.csv holds them exactly."""

from __future__ import annotations

import csv
import io
import math

import pytest

from conftest import HOSTILE_NAME
from planner.render.csv import render_csv
from planner.reports.plan_report import build_report

SECTIONS = ["summary", "funded", "enablers", "journeys", "experience_map", "quarters", "attention", "constraints",
            "not_funded", "assumptions", "glossary", "blueprint"]


def test_sections_come_in_reading_order(small_plan):
    assert [s.key for s in build_report(small_plan).sections] == SECTIONS


def test_summary_matches_the_plan(small_plan):
    summary = build_report(small_plan).section("summary")
    assert summary.npv == pytest.approx(small_plan.npv)
    assert summary.spend == pytest.approx(small_plan.total_spend)
    assert summary.budget == pytest.approx(sum(small_plan.portfolio.budget))
    assert summary.gain_over_greedy == pytest.approx(small_plan.npv - small_plan.greedy.npv)
    assert (summary.funded, summary.experiences) == (5, 6)
    assert summary.payback_quarter == small_plan.quarters[small_plan.payback_quarter]


def test_model_holds_plain_python_numbers(small_plan):
    """Solvers hand back numpy scalars; the model must not pass them on to the renderers."""
    model = build_report(small_plan)
    row = model.section("funded")[0]
    assert type(row.npv) is float and type(row.total_spend) is float
    assert all(type(r.binding) is bool for r in model.section("constraints").all)


def test_funded_rows_are_largest_npv_first_and_not_funded_carry_reasons(small_plan):
    model = build_report(small_plan)
    npvs = [r.npv for r in model.section("funded")]
    assert npvs == sorted(npvs, reverse=True)
    (left_out,) = model.section("not_funded")
    assert left_out.id == "CX-103" and "excluded by CX-202" in left_out.reason


def test_experience_map_adds_up_to_the_plan(small_plan):
    area = build_report(small_plan).section("experience_map")
    for grid in (area.spend_by_stage_channel, area.spend_by_product_stage):
        assert grid.total == pytest.approx(small_plan.total_spend)
    for grid in (area.npv_by_stage_channel, area.npv_by_product_stage):
        assert grid.total == pytest.approx(small_plan.npv)
    assert sum(c.funded for c in area.stage_channel) == len(small_plan.funded)
    # Journey order (discover, choose, buy, use, get help, renew or leave), not the order the
    # inputs first name them; a stage of the workbook's own ("renew") follows.
    assert area.spend_by_stage_channel.rows == ("discover", "buy", "use", "get help", "renew")


def test_attention_and_quarters_add_up(small_plan):
    model = build_report(small_plan)
    used = small_plan.attention_by_team()
    for team in model.section("attention").teams:
        assert team.used == pytest.approx(sum(used.get(team.team, ())))
    assert len(model.section("attention").by_quarter) == 4 * 8
    quarters = model.section("quarters")
    assert sum(q.spend for q in quarters) == pytest.approx(small_plan.total_spend)
    assert quarters[-1].cumulative_net == pytest.approx(sum(small_plan.benefit_by_quarter) - small_plan.total_spend)


def test_binding_rules_are_sorted_by_marginal_value(small_plan):
    binding = build_report(small_plan).section("constraints").binding
    assert [r.name for r in binding][:1] == ["capacity_data_2027Q1"]
    # Binding means used to the limit: the Q1 budget has a marginal value but money left over.
    assert "budget_2027Q1" not in [r.name for r in binding]
    assert [r.marginal_value for r in binding] == sorted((r.marginal_value for r in binding), reverse=True)


def test_csv_has_one_row_per_experience_with_exact_numbers(small_plan):
    text = render_csv(build_report(small_plan)).decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == 6
    assert list(rows[0]) == ["id", "name", "stage", "channel", "product line", "layer", "team", "funded", "option",
                             "start quarter", "go-live quarter", "total spend", "PV benefit", "PV cost", "NPV", "ROI", "reason"]
    by_id = {r["id"]: r for r in rows}
    assert by_id["CX-104"]["name"] == HOSTILE_NAME
    assert by_id["CX-103"]["funded"] == "no" and by_id["CX-103"]["option"] == ""
    assert by_id["CX-101"]["start quarter"] == "2027Q2"
    assert math.fsum(float(r["NPV"]) for r in rows) == pytest.approx(small_plan.npv, abs=1e-3)


def test_require_program_skips_or_fails_as_the_environment_says(monkeypatch):
    import conftest

    monkeypatch.setattr(conftest.shutil, "which", lambda name: None)
    monkeypatch.delenv("PLANNER_REQUIRE_EXTERNAL", raising=False)
    with pytest.raises(pytest.skip.Exception):
        conftest.require_program("chromium")
    monkeypatch.setenv("PLANNER_REQUIRE_EXTERNAL", "1")
    with pytest.raises(pytest.fail.Exception):
        conftest.require_program("chromium")
