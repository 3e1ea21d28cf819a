"""The CSV renderer: plan.csv from a plan's report model.

UTF-8 with a BOM (so Excel reads accents), a header row, CRLF line ends, floats with every
digit (so the CSV round-trips exactly and the same report gives the same bytes), and text a
spreadsheet will not run (`planner.core.csv_safe`). A what-if report's CSV is its
analysis's own rows, written by `planner.core.csv_safe.csv_rows`.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from planner.core.csv_safe import csv_text
from planner.core.glossary import name
from planner.reports.plan_report import Report

CSV_COLUMNS: tuple[tuple[str, str], ...] = (
    ("id", "id"), ("name", "name"), ("stage", "journey_stage"), ("channel", "channel"),
    ("product line", "product_line"), ("layer", "layer"), ("team", "team"), ("funded", "funded"),
    ("option", "option"), ("start quarter", "start_quarter"), ("go-live quarter", "go_live_quarter"),
    ("total spend", "total_spend"), ("PV benefit", "pv_benefit"), ("PV cost", "pv_cost"),
    ("NPV", "npv"), ("ROI", "roi"), ("reason", "reason"),
)


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


def csv_headers(report: Report) -> list[str]:
    """plan.csv's header row; a rolled-forward plan's spend and ROI are on what remains (planner.core.glossary)."""
    if report.kind != "quarterly":
        return [header for header, _ in CSV_COLUMNS]
    renamed = {"total_spend": name("remaining_spend").lower(), "roi": name("roi_remaining")}
    return [renamed.get(field, header) for header, field in CSV_COLUMNS]


def render_csv(report: Report) -> bytes:
    """plan.csv: one row per experience, funded first; UTF-8 with a BOM so Excel reads accents."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(csv_headers(report))
    rows = report.section("funded") + report.section("not_funded")
    for row in rows:
        writer.writerow([_csv_value(getattr(row, field)) for _, field in CSV_COLUMNS])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")
