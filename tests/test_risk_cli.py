"""`planner risk` end to end on the bundled example (fixed start quarters and small settings, so
it runs in a test): the printed figures, the three reports, the same bytes for the same seed,
the same bytes from a separately started Dask scheduler, and located errors for bad keys."""

from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from planner.cli import cli
from planner.core.resources import EXAMPLE_SCENARIO
from test_executor import separate_cluster  # noqa: F401  (the fixture: dask scheduler and dask worker processes)

SMALL = """extends: {base}
start_quarters: fixed
risk: {{draws: 400, resolves: 6}}
robust: {{cvar_level: 10%, scenarios: 20, frontier_points: 2, time_limit_seconds: 30}}
"""


def small_scenario(folder: Path) -> Path:
    path = folder / "small-risk.yaml"
    path.write_text(SMALL.format(base=EXAMPLE_SCENARIO), encoding="utf-8")
    return path


def run_risk(scenario: Path, output: Path, *extra: str):
    result = CliRunner().invoke(cli, ["risk", str(scenario), "-o", str(output), "--seed", "5", *extra])
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


def contents(folder: Path) -> dict[str, bytes]:
    return {name: (folder / name).read_bytes() for name in ("risk.html", "risk.xlsx", "risk.csv")}


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory):
    """Two runs with the same seed on the embedded cluster (two worker processes)."""
    folder = tmp_path_factory.mktemp("risk")
    scenario = small_scenario(folder)
    first = run_risk(scenario, folder / "one", "--workers", "2")
    run_risk(scenario, folder / "two", "--workers", "2")
    return scenario, first.output, contents(folder / "one"), contents(folder / "two")


def test_the_command_prints_every_figure_with_its_standard_error(embedded):
    _, output, _, _ = embedded
    for expected in ("400 draws, seed 5", "expected", "P10 / P50 / P90", "P(loss)", "P(a quarter over budget)",
                     "expected disappointment", "Smith and Winkler (2006)", "Stability: 6 re-solves", "core ",
                     "Value of information", "Base plan vs robust plan (CVaR at 10%", "Contingency:", "Wrote "):
        assert expected in output, expected
    assert output.count(" ± ") >= 8


def test_the_same_seed_writes_the_same_bytes(embedded):
    _, _, one, two = embedded
    assert one == two


def test_the_reports_hold_the_sections_a_reader_needs(embedded):
    _, _, files, _ = embedded
    html = files["risk.html"].decode()
    for section in ("risk_summary", "risk_distribution", "risk_members", "risk_information", "risk_robust", "risk_quarters"):
        assert f'id="{section}"' in html
    assert html.count("<svg") == 3 and "Cumulative NPV by quarter" in html and "Robust plan" in html
    rows = list(csv.DictReader(io.StringIO(files["risk.csv"].decode("utf-8-sig"))))
    assert len(rows) == 40 and {r["label"] for r in rows} <= {"core", "borderline", "exterior"}
    with zipfile.ZipFile(io.BytesIO(files["risk.xlsx"])) as book:
        sheets = "".join(book.read(n).decode() for n in book.namelist() if n.startswith("xl/worksheets/sheet"))
    assert "<f>B5-B6</f>" in sheets and "COUNTIF(Members!D5:D" in sheets and "MAX(0,D5-B5)" in sheets


def test_a_separately_started_scheduler_gives_the_same_reports(embedded, separate_cluster, tmp_path):  # noqa: F811
    scenario, _, one, _ = embedded
    run_risk(scenario, tmp_path / "remote", "--scheduler", separate_cluster)
    assert contents(tmp_path / "remote") == one


@pytest.mark.parametrize("keys, where, message", [
    ("risk: {draws: 10}", "key risk.draws", "is not a whole number from 20"),
    ("risk: {distribution: normal}", "key risk.distribution", '"normal" is not one of pert, triangular'),
    ("risk: {stage_correlation: 70%, team_correlation: 40%}", "key risk.team_correlation", "must be at most 100%"),
    ("robust: {cvar_level: 0}", "key robust.cvar_level", "is not a share from 0% to 100%"),
    ("robust: {floor: lots}", "key robust.floor", "is not an amount of money"),
    ("robust: {scenaros: 50}", "key robust.scenaros", 'did you mean "scenarios"'),
])
def test_bad_risk_keys_are_located_errors_before_any_solve(tmp_path: Path, keys: str, where: str, message: str):
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(f"extends: {EXAMPLE_SCENARIO}\n{keys}\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["risk", str(scenario), "-o", str(tmp_path / "out")])
    assert result.exit_code == 2
    assert f"bad.yaml, line 2, {where}" in result.output and message in result.output
    assert not (tmp_path / "out").exists()


def test_re_solves_that_stopped_short_of_a_proof_are_counted_in_every_report(tmp_path: Path):
    """Stability counted the re-solves the solver proved optimal, and no report showed the count: a re-solve
    stopped on its time limit counted its best plan found as if it were the optimum, unsaid."""
    from dataclasses import replace

    import openpyxl

    from planner.analysis.uncertainty import analyse_risk
    from planner.inputs.scenario import load_scenario
    from planner.inputs.workbook import read_portfolio
    from planner.render.html import render_html
    from planner.render.risk_text import risk_text
    from planner.render.xlsx import render_xlsx
    from planner.reports.risk_report import build_risk_report

    scenario = load_scenario(small_scenario(tmp_path))
    analysis = analyse_risk(read_portfolio(scenario.workbook), scenario, draws=200, seed=5, workers=1)
    assert analysis.stability.proven == analysis.stability.solved == 6  # the small example proves every re-solve
    report = build_risk_report(analysis)
    assert "NOT proven" not in "\n".join(risk_text(report)) and "not proven" not in render_html(report)
    stopped = build_risk_report(replace(analysis, stability=replace(analysis.stability, proven=4)))
    assert "NOT proven optimal: 2 of the 6 re-solves stopped on the time limit" in "\n".join(risk_text(stopped))
    assert "2 of the 6 re-solves are not proven" in " ".join(render_html(stopped).split())
    sheet = openpyxl.load_workbook(io.BytesIO(render_xlsx(stopped)))["Summary"]
    pairs = {row[0].value: row[1].value for row in sheet.iter_rows(min_row=4, max_col=2)}
    assert pairs["Re-solves proven optimal (the others stopped on the time limit)"] == 4
