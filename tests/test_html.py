"""The HTML report: valid HTML5, self-contained, escaped, and rendered by headless Chromium."""

from __future__ import annotations

import re
import subprocess

import html5lib
import pytest

from conftest import HOSTILE_NAME, SMALL_CHOICES, distinct_colours, make_plan, require_program, run_chromium, small_portfolio
from planner.render.html import render_html
from planner.reports.plan_report import build_report


@pytest.fixture
def page(small_plan) -> str:
    return render_html(build_report(small_plan))


def test_is_valid_html5(page):
    html5lib.HTMLParser(strict=True).parse(page)


def test_every_section_is_there(page):
    for key in ("summary", "funded", "experience_map", "quarters", "attention", "constraints", "not_funded", "assumptions"):
        assert f'<section id="{key}">' in page
    assert page.count("<svg") == 7  # the blueprint, four heat-maps, spend by quarter, attention by team


def test_input_text_is_escaped(page):
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert HOSTILE_NAME not in page
    assert "<script" not in page.lower()


def test_nothing_is_fetched_from_elsewhere(page):
    assert not re.search(r"""(?:src|href|xlink:href)\s*=\s*["']?(?:https?:)?//""", page, re.I)
    assert not re.search(r"url\(\s*['\"]?(?:https?:)?//|@import", page, re.I)
    assert "<link" not in page and "<iframe" not in page


def test_summary_states_the_numbers_and_the_proof(page):
    lead = " ".join(re.search(r'<p class="lead">(.*?)</p>', page, re.S).group(1).split())
    assert len(re.findall(r"[.!?](?:\s|$)", lead.strip())) == 3
    assert "€3.60m budget" in lead and "€81.4k" in lead and "2028Q4" in lead
    assert "more NPV than funding down the ROI ranking" in lead
    assert "proved that no plan within these rules has a higher NPV" in lead


def test_summary_says_when_the_plan_is_not_proven_optimal():
    plan = make_plan(small_portfolio(), SMALL_CHOICES, status="feasible", gap=0.023)
    page = render_html(build_report(plan))
    assert "stopped before proving this plan optimal: the best possible NPV may be up to 2.3% higher" in page


def test_inputs_and_assumptions_name_the_workbook_and_checksum(page):
    assert "example-portfolio.xlsx" in page and "ab" * 32 in page


def test_binding_constraints_say_what_one_more_unit_is_worth(page):
    assert "€12.5k of NPV per extra team-week" in page
    # Binding now means used to the limit (planner/plan.py RuleUse.binding): the fixture's
    # 2027Q1 budget has a marginal value of €0.35 but money left over, so it is not listed.
    assert "€0.35 of NPV per extra €1" not in page


def test_chromium_renders_without_errors_or_requests(page, tmp_path):
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    dom, console, requested = run_chromium(path, tmp_path, "--window-size=700,900", f"--screenshot={tmp_path / 'shot.png'}")
    assert console == []
    assert requested == []
    assert "Executive summary" in dom and "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    assert distinct_colours((tmp_path / "shot.png").read_bytes()) > 20


def test_the_chromium_check_catches_errors_and_requests(tmp_path):
    """The check above would see a page that calls elsewhere or throws."""
    path = tmp_path / "bad.html"
    path.write_text('<!DOCTYPE html><img src="http://example.invalid/x.png"><script>console.error("boom")</script>')
    _, console, requested = run_chromium(path, tmp_path)
    assert any("boom" in line for line in console)
    assert requested == ["http://example.invalid/x.png"]


def test_the_example_prints_on_at_most_six_a4_pages_with_no_orphan_total_or_note(page, tmp_path):
    path = tmp_path / "report.html"
    path.write_text(page, encoding="utf-8")
    pdf = tmp_path / "report.pdf"
    run_chromium(path, tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    info = subprocess.run([require_program("pdfinfo"), str(pdf)], capture_output=True, text=True, check=True).stdout
    assert re.search(r"Page size:.*\(A4\)", info), info
    assert int(re.search(r"Pages:\s+(\d+)", info).group(1)) <= 6
    text = subprocess.run([require_program("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    pages = [page_text for page_text in text.split("\f") if page_text.strip()]
    for number, page_text in enumerate(pages, 1):
        first = next(line.strip() for line in page_text.splitlines() if line.strip())
        # A page never opens on a table's total row or on the note that belongs under a table.
        assert not first.startswith(("Total", "Spend is undiscounted", "Undiscounted cash")), (number, first)
    # The service blueprint takes the last page, in landscape.
    sizes = subprocess.run([require_program("pdfinfo"), "-f", "1", "-l", str(len(pages)), str(pdf)], capture_output=True, text=True, check=True).stdout
    assert "Service blueprint" in pages[-1]
    last = re.search(rf"Page\s+{len(pages)} size:\s+([\d.]+) x ([\d.]+)", sizes)
    assert float(last.group(1)) > float(last.group(2)), sizes


@pytest.mark.parametrize("quarters", [4, 8, 12, 20])
def test_attention_quarter_labels_never_collide_and_both_axes_are_labelled(quarters):
    """Seen: '27Q127Q2...' run together under the bars; the y-axis had no label."""
    from planner.render.charts import Series, small_multiples

    categories = [f"{2027 + q // 4}Q{q % 4 + 1}" for q in range(quarters)]
    svg = str(small_multiples("Attention", [("Digital", categories, Series("used", [5.0] * quarters), Series("capacity", [8.0] * quarters))],
                              "team-weeks", str))
    texts = re.findall(r'<text x="([\d.]+)" y="([\d.]+)"[^>]*font-size="(\d+)"[^>]*>([^<]*)</text>', svg)
    assert texts, svg[:500]
    rows: dict[str, list[tuple[float, str, int]]] = {}
    for x, y, size, content in texts:
        rows.setdefault(y, []).append((float(x), content, int(size)))
    for row in rows.values():
        row.sort()
        for (x1, a, size), (x2, b, _) in zip(row, row[1:]):
            # Centred or left-anchored labels: the gap must hold half of each label at about 0.7 em a character (DejaVu Sans: digits 0.64, Q 0.79).
            assert x2 - x1 >= 0.7 * size * (len(a) + len(b)) / 2, (a, b, x2 - x1)
    assert "Q1" in svg and "2027" in svg and ">quarter<" in svg
    assert re.search(r'transform="rotate\(-90[^"]*"[^>]*>team-weeks<', svg)


def test_the_report_fits_an_a4_width_with_ids_whole(page, tmp_path):
    from conftest import layout_problems

    assert layout_problems(page, tmp_path) == []
