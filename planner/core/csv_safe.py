"""CSV a spreadsheet will not run: text neutralised against CSV injection, and rows as CSV bytes.

Any CSV planner writes goes through here (plan.csv through `planner.render.csv`, a what-if
analysis's rows directly), so a name like `=HYPERLINK(...)` from the inputs always reads as
text. Nothing here imports from planner.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from typing import Any

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
