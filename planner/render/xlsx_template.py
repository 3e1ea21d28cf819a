"""The Excel template as the renderer reads it (planner.render.xlsx renders it): its sheets,
rows and cells (which rows repeat, which cells hold Jinja2), and the row map that moves a
formula's, a chart's or a defined name's references when repeated rows are rendered.
The conventions are planner.render.xlsx's docstring and docs/reports.md.
"""

from __future__ import annotations

import bisect
import re
import xml.etree.ElementTree as ET
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from posixpath import dirname, join, normpath
from typing import Any
from xml.sax.saxutils import escape

from openpyxl.utils import get_column_letter

from planner.core.ooxml import MAIN_NS, NS, REL_NS
from planner.core.errors import InputError, Problem


_LOOP = re.compile(r"^\s*\{%-?\s*for\s+(?P<target>.+?)\s+in\s+(?P<iter>.+?)\s*-?%\}(?P<rest>.*)$", re.S)
_WHOLE_EXPRESSION = re.compile(r"^\s*\{\{(?P<expr>.*?)\}\}\s*$", re.S)
_JINJA = re.compile(r"\{\{|\{%|\{#")
_REFERENCE = re.compile(
    r"(?<![\w.$'])(?P<sheet>(?:'(?:[^']|'')+'|[A-Za-z_][\w.]*)!)?"
    r"(?P<c1>\$?[A-Z]{1,3})(?P<r1>\$?\d+)(?::(?P<c2>\$?[A-Z]{1,3})(?P<r2>\$?\d+))?(?![\w(])"
)
_QUOTED = re.compile(r'("(?:[^"]|"")*")')
_DATE_CODE = re.compile(r"[dmyhs]", re.I)
_BUILTIN_DATE_FORMATS = frozenset(range(14, 23)) | frozenset(range(45, 48))


# ---------------------------------------------------------------------------------------
# The template, as read once


@dataclass
class TemplateCell:
    """One template cell: `kind` is blank, static, formula, expression or text."""

    column: int
    style: str | None
    kind: str
    value: Any = None
    source: str = ""


@dataclass
class TemplateRow:
    number: int
    attributes: str
    cells: list[TemplateCell]
    loop: tuple[str, str] | None = None
    positions: dict[int, int] = field(default_factory=dict)


@dataclass
class TemplateSheet:
    name: str
    path: str
    head: str
    tail: str
    rows: list[TemplateRow]
    related: list[str] = field(default_factory=list)


@dataclass
class Template:
    path: Path
    entries: list[tuple[str, bytes]]
    sheets: list[TemplateSheet]
    date_styles: set[str]


def _read_xml(archive: zipfile.ZipFile, name: str) -> ET.Element:
    return ET.fromstring(archive.read(name))


def _relationships(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """A part's relationships: id -> (type, target path inside the zip)."""
    rels_path = join(dirname(part), "_rels", part.rsplit("/", 1)[-1] + ".rels")
    if rels_path not in archive.namelist():
        return {}
    result = {}
    for rel in _read_xml(archive, rels_path).findall("p:Relationship", NS):
        target = rel.get("Target", "")
        resolved = target.lstrip("/") if target.startswith("/") else normpath(join(dirname(part), target))
        result[rel.get("Id", "")] = (rel.get("Type", "").rsplit("/", 1)[-1], resolved)
    return result


def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
    if "xl/sharedStrings.xml" not in archive.namelist():
        return []
    texts = []
    for item in _read_xml(archive, "xl/sharedStrings.xml").findall("m:si", NS):
        # Rich text keeps its runs in <r><t>; phonetic guides (<rPh>) are not part of the text.
        texts.append("".join(t.text or "" for t in item.iter(f"{{{MAIN_NS}}}t") if t not in _phonetic_texts(item)))
    return texts


def _phonetic_texts(item: ET.Element) -> set[ET.Element]:
    return {t for ph in item.findall("m:rPh", NS) for t in ph.iter(f"{{{MAIN_NS}}}t")}


def _date_styles(styles_xml: str) -> set[str]:
    """Indexes (as in a cell's s="...") of the cell styles whose number format shows a date."""
    root = ET.fromstring(styles_xml)
    custom = {f.get("numFmtId"): f.get("formatCode", "") for f in root.iterfind("m:numFmts/m:numFmt", NS)}
    result = set()
    for index, xf in enumerate(root.iterfind("m:cellXfs/m:xf", NS)):
        fmt = xf.get("numFmtId", "0")
        code = re.sub(r'"[^"]*"|\[[^\]]*\]|\\.', "", custom.get(fmt, ""))
        if int(fmt) in _BUILTIN_DATE_FORMATS or (fmt in custom and _DATE_CODE.search(code)):
            result.add(str(index))
    return result


def read_template(path: Path) -> Template:
    """Read an Excel template: its parts, and each sheet's rows classified cell by cell."""
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        raise InputError(Problem(str(path), f"is not an Excel workbook: {error}")) from error
    with archive:
        entries = [(info.filename, archive.read(info.filename)) for info in archive.infolist()]
        strings = _shared_strings(archive)
        workbook_rels = _relationships(archive, "xl/workbook.xml")
        sheets = []
        for sheet in _read_xml(archive, "xl/workbook.xml").iterfind("m:sheets/m:sheet", NS):
            name = sheet.get("name", "")
            _, part = workbook_rels[sheet.get(f"{{{REL_NS}}}id", "")]
            related = [target for _, target in _relationships(archive, part).values()]
            sheets.append(_read_sheet(name, part, archive.read(part).decode("utf-8"), strings, related))
        styles = archive.read("xl/styles.xml").decode("utf-8") if "xl/styles.xml" in archive.namelist() else ""
    return Template(Path(path), entries, sheets, _date_styles(styles) if styles else set())


_SHEET_DATA = re.compile(r"<sheetData\s*/>|<sheetData>.*?</sheetData>", re.S)


def _read_sheet(name: str, part: str, xml: str, strings: list[str], related: list[str]) -> TemplateSheet:
    match = _SHEET_DATA.search(xml)
    if match is None:
        raise InputError(Problem(f"template sheet {name}", "has no <sheetData>; save it again from Excel"))
    root = ET.fromstring(xml)
    shared: dict[str, tuple[int, int, str]] = {}
    rows = []
    for row in root.iterfind("m:sheetData/m:row", NS):
        number = int(row.get("r", "0"))
        attributes = "".join(f' {k}="{escape(v, {chr(34): "&quot;"})}"' for k, v in row.attrib.items() if k not in ("r", "spans"))
        cells = [_read_cell(cell, number, strings, shared) for cell in row.iterfind("m:c", NS)]
        row = _classify_row(TemplateRow(number, attributes, cells))
        row.positions = {c.column: i for i, c in enumerate(c for c in row.cells if c.kind == "expression")}
        rows.append(row)
    return TemplateSheet(name, part, xml[: match.start()], xml[match.end():], rows, related)


def _column_index(reference: str) -> int:
    index = 0
    for char in reference:
        if not char.isalpha():
            break
        index = index * 26 + ord(char.upper()) - 64
    return index - 1


def _read_cell(cell: ET.Element, row: int, strings: list[str], shared: dict[str, tuple[int, int, str]]) -> TemplateCell:
    column = _column_index(cell.get("r", "A"))
    style = cell.get("s")
    kind = cell.get("t", "n")
    formula = cell.find("m:f", NS)
    if formula is not None:
        text = formula.text or ""
        shared_index = formula.get("si")
        if formula.get("t") == "shared" and shared_index is not None:
            if text:
                shared[shared_index] = (row, column, text)
            else:
                origin_row, origin_column, text = shared[shared_index]
                text = translate_formula(text, row - origin_row, column - origin_column)
        return TemplateCell(column, style, "formula", source=text)
    value_node = cell.find("m:v", NS)
    raw = value_node.text if value_node is not None else None
    if kind == "s" and raw is not None:
        return _text_cell(column, style, strings[int(raw)])
    if kind == "inlineStr":
        return _text_cell(column, style, "".join(t.text or "" for t in cell.iter(f"{{{MAIN_NS}}}t")))
    if raw is None:
        return TemplateCell(column, style, "blank")
    if kind == "b":
        return TemplateCell(column, style, "static", raw == "1")
    if kind in ("str", "e"):
        return TemplateCell(column, style, "static", raw)
    number = float(raw)
    return TemplateCell(column, style, "static", int(number) if number.is_integer() and "." not in raw and "E" not in raw.upper() else number)


def _text_cell(column: int, style: str | None, text: str) -> TemplateCell:
    if not _JINJA.search(text):
        return TemplateCell(column, style, "static", text)
    whole = _WHOLE_EXPRESSION.match(text)
    if whole and not _JINJA.search(whole.group("expr")) and "}}" not in whole.group("expr"):
        return TemplateCell(column, style, "expression", source=whole.group("expr").strip())
    return TemplateCell(column, style, "text", source=text)


def _classify_row(row: TemplateRow) -> TemplateRow:
    """Find a repeat marker in the row's first non-empty cell and strip it from that cell."""
    first = next((c for c in row.cells if c.kind != "blank"), None)
    if first is None or first.kind not in ("text", "expression"):
        return row
    source = first.source if first.kind == "text" else "{{" + first.source + "}}"
    match = _LOOP.match(source)
    if match is None:
        return row
    row.loop = (match.group("target"), match.group("iter"))
    replacement = _text_cell(first.column, first.style, match.group("rest"))
    if replacement.kind == "static" and replacement.value == "":
        replacement = TemplateCell(first.column, first.style, "blank")
    row.cells[row.cells.index(first)] = replacement
    return row


# ---------------------------------------------------------------------------------------
# References: where a template row lands in the output


@dataclass
class RowMap:
    """Where each template row of one sheet landed: first output row and how many rows."""

    starts: list[int]
    counts: list[int]
    template_rows: list[int]

    def _shift(self, row: int) -> int:
        """Output row of template row `row` that is not itself in the map (beyond or between)."""
        i = bisect.bisect_left(self.template_rows, row)
        if i == 0:
            return row
        last = i - 1
        return self.starts[last] + self.counts[last] + (row - self.template_rows[last] - 1)

    def first(self, row: int) -> int:
        i = bisect.bisect_left(self.template_rows, row)
        if i < len(self.template_rows) and self.template_rows[i] == row:
            return self.starts[i]
        return self._shift(row)

    def last(self, row: int) -> int:
        i = bisect.bisect_left(self.template_rows, row)
        if i < len(self.template_rows) and self.template_rows[i] == row:
            return self.starts[i] + self.counts[i] - 1
        return self._shift(row)

    def span(self, top: int, bottom: int) -> tuple[int, int]:
        """A range's rows after rendering; a range left with no rows keeps the row above it."""
        first, last = self.first(top), self.last(bottom)
        if last < first:
            first = last = max(1, last)
        return first, last


IDENTITY = RowMap([], [], [])


def _sheet_key(prefix: str | None) -> str | None:
    if not prefix:
        return None
    name = prefix[:-1]
    if name.startswith("'"):
        name = name[1:-1].replace("''", "'")
    return name.casefold()


def _row_part(row: str, new: int) -> str:
    return ("$" if row.startswith("$") else "") + str(new)


def remap_references(text: str, maps: dict[str | None, RowMap], own: str | None, series: bool = False) -> str:
    """Rewrite every cell and range reference in a formula (outside string literals).

    With `series` (chart data), a single cell on a repeated row stands for the whole column
    of rendered rows: openpyxl writes a one-row series as a cell reference.
    """

    def replace(match: re.Match) -> str:
        sheet = match.group("sheet")
        rows = maps.get(_sheet_key(sheet) or own, IDENTITY)
        c1, r1, c2, r2 = match.group("c1", "r1", "c2", "r2")
        top = int(r1.lstrip("$"))
        if c2 is None and series and rows.first(top) != rows.last(top):
            c2, r2 = c1, r1
        if c2 is None:
            return f"{sheet or ''}{c1}{_row_part(r1, rows.first(top))}"
        first, last = rows.span(top, int(r2.lstrip("$")))
        return f"{sheet or ''}{c1}{_row_part(r1, first)}:{c2}{_row_part(r2, last)}"

    parts = _QUOTED.split(text)
    return "".join(part if i % 2 else _REFERENCE.sub(replace, part) for i, part in enumerate(parts))


def translate_formula(text: str, rows: int, columns: int) -> str:
    """A formula as if copied `rows` down and `columns` right: relative references move."""

    def move(column: str, row: str) -> str:
        if not column.startswith("$"):
            column = get_column_letter(_column_index(column) + 1 + columns)
        if not row.startswith("$"):
            row = str(int(row) + rows)
        return column + row

    def replace(match: re.Match) -> str:
        sheet = match.group("sheet") or ""
        c1, r1, c2, r2 = match.group("c1", "r1", "c2", "r2")
        moved = sheet + move(c1, r1)
        return moved + (":" + move(c2, r2) if c2 else "")

    parts = _QUOTED.split(text)
    return "".join(part if i % 2 else _REFERENCE.sub(replace, part) for i, part in enumerate(parts))
