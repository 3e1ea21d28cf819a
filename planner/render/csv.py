"""The CSV renderer: plan.csv from a plan's report model, and any report's own rows as CSV.

UTF-8, a header row, CRLF line ends, floats with every digit (so a CSV round-trips exactly
and the same report gives the same bytes), and text a spreadsheet will not run: a cell
that would start a formula is neutralised (CSV injection).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from typing import Any

from planner.reports.plan_report import Report

CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "id"), ("name", "name"), ("stage", "journey_stage"), ("channel", "channel"),
    ("product line", "product_line"), ("layer", "layer"), ("team", "team"), ("funded", "funded"),
    ("option", "option"), ("start quarter", "start_quarter"), ("go-live quarter", "go_live_quarter"),
    ("total spend", "total_spend"), ("PV benefit", "pv_benefit"), ("PV cost", "pv_cost"),
    ("NPV", "npv"), ("ROI", "roi"), ("reason", "reason"),
)


# A text cell starting with one of these is a formula to Excel, LibreOffice and Sheets.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# A signed number or percentage ("-10%", "+1.5") cannot call anything: it stays as it is.
_PLAIN_NUMBER = re.compile(r"[+-]?\d[\d,]*(?:\.\d+)?%?")


def csv_text(text: str) -> str:
    """Text for a CSV cell that a spreadsheet will not run: CSV injection is neutralised.

    Text beginning with = + - @, a tab or a carriage return gets a leading single quote
    (the OWASP convention), so a name like `=HYPERLINK(...)` from the inputs reads as text.
    """
    if text.startswith(FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        # repr keeps every digit, so the CSV round-trips exactly and stays byte-stable.
        return repr(round(value, 6))
    if isinstance(value, str):
        return csv_text(value)
    return value


def csv_rows(rows: Sequence[dict[str, Any]]) -> bytes:
    """Flat dicts with the same keys as CSV bytes (UTF-8, a header, CRLF); text neutralised, floats exact."""
    buffer = io.StringIO()
    if rows:
        # Headers can be input too (a comparison names a column after each scenario).
        fields = list(rows[0])
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerow([csv_text(field) for field in fields])
        writer.writerows([csv_text(value) if isinstance(value, str) else value for value in (row[f] for f in fields)] for row in rows)
    return buffer.getvalue().encode("utf-8")


def render_csv(report: Report) -> bytes:
    """plan.csv: one row per experience, funded first; UTF-8 with a BOM so Excel reads accents."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([header for header, _ in CSV_COLUMNS])
    rows = report.section("funded") + report.section("not_funded")
    for row in rows:
        writer.writerow([_csv_value(getattr(row, field)) for _, field in CSV_COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
