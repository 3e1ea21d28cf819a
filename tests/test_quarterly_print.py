"""Issue 14, point 4, on paper: the example's quarterly report prints with no orphan total row in
Chromium's A4 print, its workbook (the Why column of the changes included) prints readably through
LibreOffice, and the blank input template prints on a few readable pages."""

from __future__ import annotations

import re
import statistics
import zipfile
import subprocess
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from conftest import require_program, run_chromium
from planner.cli import cli

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def q2(tmp_path_factory) -> Path:
    """The README's two-quarter story: the 2027Q1 plan, then the 2027Q2 re-plan with actuals (html and xlsx)."""
    work = tmp_path_factory.mktemp("quarterly")
    first = CliRunner().invoke(cli, ["plan", str(REPO / "scenarios" / "q1-plan.yaml"), "-o", str(work / "q1"), "--format", "csv"])
    assert first.exit_code == 0, first.output
    second = CliRunner().invoke(cli, ["roll", str(work / "q1" / "plan.json"), str(REPO / "scenarios" / "q2-roll.yaml"),
                                      "-o", str(work / "q2"), "--format", "html,xlsx"])
    assert second.exit_code == 0, second.output
    return work / "q2"


def pdf_pages(pdf: Path) -> list[str]:
    text = subprocess.run([require_program("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return [page for page in text.split("\f") if page.strip()]


def word_heights_by_page(pdf: Path) -> list[list[float]]:
    boxes = subprocess.run([require_program("pdftotext"), "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    return [[float(bottom) - float(top) for top, bottom in re.findall(r'yMin="([\d.]+)" xMax="[\d.]+" yMax="([\d.]+)"', page)]
            for page in boxes.split("<page ")[1:]]


def libreoffice_pdf(workbook: Path, work: Path) -> Path:
    soffice = require_program("soffice")
    subprocess.run([soffice, "--headless", "--norestore", f"-env:UserInstallation={(work / 'lo').as_uri()}",
                    "--convert-to", "pdf", "--outdir", str(work), str(workbook)], capture_output=True, timeout=300, check=True)
    return work / (workbook.stem + ".pdf")


def test_the_quarterly_report_prints_on_a4_with_no_page_opening_on_a_total_row(q2, tmp_path):
    """Seen by a CFO: the quarterly report's Total row alone on a page."""
    pdf = tmp_path / "q2.pdf"
    run_chromium(q2 / "report.html", tmp_path, f"--print-to-pdf={pdf}", "--no-pdf-header-footer")
    pages = pdf_pages(pdf)
    assert pages
    for number, page in enumerate(pages, 1):
        lines = [line.strip() for line in page.splitlines() if line.strip()]
        assert not lines[0].startswith(("Total", "This plan, from")), (number, lines[0])
        assert len(lines) > 3, (number, lines)  # no page holds only a row or two


def test_the_quarterly_workbook_prints_readably_and_whole_why_column_included(q2, tmp_path):
    """Seen through LibreOffice: the changes' Why column ran off the page. Every sheet prints at about 7 pt or more,
    and each change's reason is on paper (its first words, as the wrapped column starts them)."""
    pdf = libreoffice_pdf(q2 / "report.xlsx", tmp_path)
    heights = word_heights_by_page(pdf)
    assert [round(statistics.median(h), 1) for h in heights if h and statistics.median(h) < 7.7] == []
    # In reading order (-raw) a wrapped cell's lines follow each other.
    raw = subprocess.run([require_program("pdftotext"), "-raw", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    paper = re.sub(r"\s+", " ", raw)
    book = openpyxl.load_workbook(q2 / "report.xlsx")
    why = [c.value for c in ws_column(book["Changes"], "Why")]
    assert why, "the quarterly workbook lists no change"
    for reason in why:
        assert " ".join(str(reason).split()[:5]) in paper, reason


def ws_column(sheet, header: str):
    """The cells under the header cell that says `header`."""
    top, column = next((c.row, c.column) for row in sheet.iter_rows(max_row=40) for c in row if c.value == header)
    return [row[column - 1] for row in sheet.iter_rows(min_row=top + 1) if row[column - 1].value]


def test_the_blank_input_template_prints_on_few_readable_pages(tmp_path):
    """Seen through LibreOffice: the input template spread over 18 pages."""
    result = CliRunner().invoke(cli, ["template", str(tmp_path / "inputs.xlsx")])
    assert result.exit_code == 0, result.output
    pdf = libreoffice_pdf(tmp_path / "inputs.xlsx", tmp_path)
    heights = word_heights_by_page(pdf)
    assert len(heights) <= 10, len(heights)
    assert [round(statistics.median(h), 1) for h in heights if h and statistics.median(h) < 7.7] == []


def test_the_bridge_sheet_prints_its_steps_and_waterfall_on_one_page(q2, tmp_path):
    """Seen through LibreOffice: the waterfall sat under the long list of experiences, after a page holding that
    list's last row alone, and its bars began at the first cause, not at the previous plan's NPV. The Bridge sheet
    now holds the steps from the previous plan's NPV to this plan's and their waterfall, on one page; the
    experiences moved by each cause have a sheet of their own."""
    pages = pdf_pages(libreoffice_pdf(q2 / "report.xlsx", tmp_path))
    bridge = next(n for n, page in enumerate(pages) if "NPV bridge from the previous plan" in page)
    for text in ("Previous plan (2027Q1)", "re-optimisation", "This plan (2027Q2)", "NPV from the previous plan to this one, by cause",
                 "cause, in the order applied"):
        assert text in pages[bridge], text
    assert "NPV bridge by experience" in pages[bridge + 1]
    book = openpyxl.load_workbook(q2 / "report.xlsx")
    assert book.sheetnames[1:4] == ["Bridge", "Bridge by experience", "Changes"]
    moved = [c.value for c in ws_column(book["Bridge by experience"], "ID")]
    assert "CX-601" in moved and "CX-201" in moved
    with zipfile.ZipFile(q2 / "report.xlsx") as archive:
        chart = next(text for text in (archive.read(n).decode() for n in archive.namelist() if n.startswith("xl/charts/chart"))
                     if "NPV from the previous plan to this one" in text)
    # Four series over the nine rows (the two plans and the seven steps): base, adds, takes away, plan NPV.
    assert re.findall(r"'Bridge'!\$([A-H])\$9:\$\1\$17", chart) == ["A", "E", "A", "F", "A", "G", "A", "H"]
