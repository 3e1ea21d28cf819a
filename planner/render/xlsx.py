"""The Excel renderer: an Excel template whose cells hold Jinja2, rendered into a workbook.

The template (templates/report.xlsx) is an ordinary workbook a finance analyst edits in
Excel. The conventions, documented for its users in docs/reports.md:

- A cell whose whole content is one expression, `{{ summary.npv }}`, is written with the
  expression's type: a number stays a number, a date a date, True/False a boolean, None an
  empty cell; anything else becomes text. Text is always written as text: a name that
  begins with "=", "+", "-" or "@" never becomes a formula.
- A cell mixing text and Jinja (`Plan for {{ summary.scenario }}`) is rendered as text.
- A row whose first non-empty cell begins with `{% for e in funded %}` repeats once per item
  (the loop ends with the row, no `{% endfor %}`); with no items the row disappears. Rows
  below move down.
- Formulas in the template stay formulas. Their references follow the rows they point to:
  a range that covers a repeated row grows to cover every rendered row (`=SUM(F5:F5)` becomes
  `=SUM(F5:F104)`), references below a repeated row move down with it, and a formula inside
  a repeated row is copied down like Excel's fill. The same holds for references from other
  sheets, chart series, defined names (print areas), merged cells, conditional formats,
  data validations, tables and the positions of charts.
- Everything else is kept as the template has it: styles, number formats, column widths,
  row heights, merged cells, charts, page setup, freeze panes.

The renderer does not load the template through openpyxl: it edits the template's XML
directly, keeping each cell's style index, so every formatting feature Excel has survives
and a 10,000-experience report (about 540,000 cells) renders in about a second. Output is deterministic: fixed
zip dates, fixed document dates, entries in the template's order.
"""
from __future__ import annotations

import bisect
import math
import numbers
import re
import traceback
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from html import unescape
from io import BytesIO
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

import jinja2
from openpyxl.utils import get_column_letter

from planner.core.formatting import FILTERS
from planner.core.glossary import name as glossary_name
from planner.core.ooxml import SharedStrings, xml_text
from planner.core.errors import InputError, Problem
from planner.core.resources import TEMPLATES


FIXED_ZIP_DATE = (1980, 1, 1, 0, 0, 0)
FIXED_DOCUMENT_DATE = "2000-01-01T00:00:00Z"
BUILTIN_DATE_FORMAT = 14
# zlib level 1: a 10,000-experience report compresses 3x faster than at 6 for a file ~15% larger.
COMPRESS_LEVEL = 1
EXCEL_EPOCH = datetime(1899, 12, 30)

_JINJA = re.compile(r"\{\{|\{%|\{#")
_REFERENCE = re.compile(
    r"(?<![\w.$'])(?P<sheet>(?:'(?:[^']|'')+'|[A-Za-z_][\w.]*)!)?"
    r"(?P<c1>\$?[A-Z]{1,3})(?P<r1>\$?\d+)(?::(?P<c2>\$?[A-Z]{1,3})(?P<r2>\$?\d+))?(?![\w(])"
)
from planner.render.xlsx_template import (  # noqa: E402  (the template side, read before rendering)
    RowMap, Template, TemplateRow, TemplateSheet, _column_index, _sheet_key, read_template, remap_references, translate_formula,
)

# ---------------------------------------------------------------------------------------
# Rendering: Jinja2 evaluates the cells, then rows are written as sheet XML


@dataclass
class RenderedRow:
    """One output row: its template row, the values of its whole-cell expressions (in the
    template row's `positions` order), the text of its mixed cells, and its loop index."""

    template: TemplateRow
    values: tuple
    index: int
    output: int = 0
    texts: dict[int, str] | None = None

    def value(self, column: int) -> Any:
        position = self.template.positions.get(column)
        if position is not None:
            return self.values[position]
        if self.texts and column in self.texts:
            return self.texts[column]
        return next((c.value for c in self.template.cells if c.column == column and c.kind == "static"), None)


class _UndefinedCell(Exception):
    """A whole-cell expression gave an undefined value (StrictUndefined fails only when used)."""

    def __init__(self, row: TemplateRow, position: int, value: jinja2.Undefined):
        cells = [c for c in row.cells if c.kind == "expression"]
        self.reference = f"{get_column_letter(cells[position].column + 1)}{row.number}"
        self.message = value._undefined_message
        super().__init__(self.message)


class _Collector:
    """Receives typed values from the generated Jinja template, one output row at a time."""

    def __init__(self, rows: list[TemplateRow]):
        self.template_rows = {row.number: row for row in rows}
        self.rows: list[RenderedRow] = []

    def row(self, number: int, values: tuple = ()) -> str:
        # Consecutive rows from the same template row are the items of its loop.
        last = self.rows[-1] if self.rows else None
        index = last.index + 1 if last is not None and last.template.number == number else 0
        for position, value in enumerate(values):
            if isinstance(value, jinja2.Undefined):
                raise _UndefinedCell(self.template_rows[number], position, value)
        self.rows.append(RenderedRow(self.template_rows[number], values, index))
        return ""

    def text(self, value: str, column: int) -> str:
        row = self.rows[-1]
        if row.texts is None:
            row.texts = {}
        row.texts[column] = str(value)
        return ""


def _generated_source(sheet: TemplateSheet) -> tuple[str, list[tuple[int, str]]]:
    """The Jinja2 source that renders a sheet, and (first line, cell reference) for messages.

    Each row becomes one call `_row(number, (expression, ...))` with its whole-cell
    expressions as a tuple, so Jinja hands over typed values and calls Python once a row;
    each expression sits on its own line so an error names its cell. Mixed text cells
    are filter blocks that pass the rendered text to `_text`.
    """
    lines: list[str] = []
    where: list[tuple[int, str]] = []

    def add(text: str, reference: str) -> None:
        where.append((len(lines) + 1, reference))
        lines.extend(text.split("\n"))

    for row in sheet.rows:
        head = f"A{row.number}"
        if row.loop:
            add("{%% for %s in %s %%}" % row.loop, head)
        add("{{ _row(%d, (" % row.number, head)
        for cell in row.cells:
            if cell.kind == "expression":
                add("(%s)," % cell.source, f"{get_column_letter(cell.column + 1)}{row.number}")
        add(")) }}", head)
        for cell in row.cells:
            if cell.kind == "text":
                add("{%% filter _text(%d) %%}%s{%% endfilter %%}" % (cell.column, cell.source), f"{get_column_letter(cell.column + 1)}{row.number}")
        if row.loop:
            add("{% endfor %}", head)
    return "\n".join(lines), where


def _environment() -> jinja2.Environment:
    """Cells see the same formatting filters as the HTML pages, for text that mixes words and numbers."""
    environment = jinja2.Environment(
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        finalize=lambda value: "" if value is None else value,
        keep_trailing_newline=True,
    )
    environment.filters.update(FILTERS)
    environment.globals["term"] = glossary_name  # {{ term("enabler") }}: the glossary's one name for it
    return environment


def _cell_of_error(error: BaseException, name: str, where: list[tuple[int, str]]) -> str:
    line = getattr(error, "lineno", None)
    if line is None:
        frames = [f for f in traceback.extract_tb(error.__traceback__) if f.filename == name]
        line = frames[-1].lineno if frames else None
    if line is None or not where:
        return ""
    i = bisect.bisect_right([start for start, _ in where], line) - 1
    return f", cell {where[max(i, 0)][1]}"


def _evaluate(sheet: TemplateSheet, context: dict[str, Any], environment: jinja2.Environment, template_name: str) -> list[RenderedRow]:
    source, where = _generated_source(sheet)
    name = f"<{template_name} sheet {sheet.name}>"
    collector = _Collector(sheet.rows)
    environment.filters["_text"] = collector.text
    try:
        template = environment.from_string(source)
    except jinja2.TemplateSyntaxError as error:
        raise InputError(Problem(f"{template_name}, sheet {sheet.name}{_cell_of_error(error, name, where)}", f"template error: {error.message}")) from error
    template.filename = name
    try:
        for _ in template.root_render_func(template.new_context({**context, "_row": collector.row})):
            pass
    except _UndefinedCell as error:
        raise InputError(Problem(f"{template_name}, sheet {sheet.name}, cell {error.reference}", f"template error: {error.message}")) from error
    except jinja2.TemplateError as error:
        raise InputError(Problem(f"{template_name}, sheet {sheet.name}{_cell_of_error(error, name, where)}", f"template error: {error}")) from error
    return collector.rows


def _number_rows(sheet: TemplateSheet, rows: list[RenderedRow]) -> RowMap:
    """Give each rendered row its output row number and return where every template row landed.

    A template row lands at its own number plus the rows the repeated rows above it added
    (or removed: a repeated row with no items leaves nothing). Empty template rows between
    stay, so the spacing the template shows is kept.
    """
    counts: dict[int, int] = {}
    for row in rows:
        counts[row.template.number] = counts.get(row.template.number, 0) + 1
    starts, numbers, shift = [], [], 0
    for template_row in sheet.rows:
        starts.append(template_row.number + shift)
        numbers.append(template_row.number)
        shift += counts.get(template_row.number, 0) - 1
    row_map = RowMap(starts, [counts.get(n, 0) for n in numbers], numbers)
    for row in rows:
        row.output = row_map.first(row.template.number) + row.index
    return row_map


def _serial(value: date) -> float:
    moment = value if isinstance(value, datetime) else datetime.combine(value, time())
    delta = moment.replace(tzinfo=None) - EXCEL_EPOCH
    return delta.days + delta.seconds / 86_400


class _Styles:
    """The template's cell styles, and date variants added for dates in non-date cells."""

    def __init__(self, xml: str, date_styles: set[str]):
        self.xml = xml
        self.date_styles = set(date_styles)
        self.added: dict[str | None, str] = {}
        match = re.search(r"<cellXfs[^>]*>(.*?)</cellXfs>", xml, re.S)
        self.xfs = re.findall(r"<xf\b[^>]*?(?:/>|>.*?</xf>)", match.group(1), re.S) if match else []

    def for_date(self, style: str | None) -> str:
        if style in self.date_styles:
            return style or "0"
        if style not in self.added:
            source = self.xfs[int(style or 0)] if self.xfs else '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
            source = re.sub(r'\snumFmtId="\d+"', "", source)
            source = re.sub(r'\sapplyNumberFormat="\w+"', "", source)
            self.xfs.append(source.replace("<xf", f'<xf numFmtId="{BUILTIN_DATE_FORMAT}" applyNumberFormat="1"', 1))
            self.added[style] = str(len(self.xfs) - 1)
        return self.added[style]

    def final_xml(self) -> str:
        if not self.added:
            return self.xml
        body = "".join(self.xfs)
        return re.sub(r"<cellXfs[^>]*>.*?</cellXfs>", lambda _: f'<cellXfs count="{len(self.xfs)}">{body}</cellXfs>', self.xml, count=1, flags=re.S)


def _text_xml(reference: str, attribute: str, text: str, strings: SharedStrings) -> str:
    return f'<c r="{reference}"{attribute} t="s"><v>{strings.index(text)}</v></c>'


def _empty_xml(reference: str, attribute: str) -> str:
    return f'<c r="{reference}"{attribute}/>' if attribute else ""


def cell_xml(reference: str, style: str | None, value: Any, styles: _Styles, strings: SharedStrings) -> str:
    """One cell as sheet XML, typed by the Python value; strings are inline text, never formulas."""
    attribute = f' s="{style}"' if style is not None else ""
    kind = type(value)
    # Exact-type fast paths first: they are nearly every cell of a large report.
    if kind is float:
        return f'<c r="{reference}"{attribute}><v>{value!r}</v></c>' if math.isfinite(value) else _empty_xml(reference, attribute)
    if kind is str:
        return _text_xml(reference, attribute, value, strings) if value else _empty_xml(reference, attribute)
    if kind is int:
        return f'<c r="{reference}"{attribute}><v>{value}</v></c>'
    if value is None:
        return _empty_xml(reference, attribute)
    if isinstance(value, bool):
        return f'<c r="{reference}"{attribute} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, (date, datetime)):
        return f'<c r="{reference}" s="{styles.for_date(style)}"><v>{_serial(value)!r}</v></c>'
    if isinstance(value, (numbers.Real, Decimal)):
        number = float(value)
        return f'<c r="{reference}"{attribute}><v>{number!r}</v></c>' if math.isfinite(number) else _empty_xml(reference, attribute)
    return _text_xml(reference, attribute, str(value), strings) if str(value) else _empty_xml(reference, attribute)


def _formula_xml(reference: str, style: str | None, formula: str, cached: float | None) -> str:
    attribute = f' s="{style}"' if style is not None else ""
    value = f"<v>{cached!r}</v>" if cached is not None else ""
    return f'<c r="{reference}"{attribute}><f>{xml_text(formula)}</f>{value}</c>'


@dataclass
class RenderedSheet:
    template: TemplateSheet
    rows: list[RenderedRow]
    row_map: RowMap


class _Evaluator:
    """Cached values for the formulas a report uses for totals: =SUM(range) over rendered numbers.

    Excel and LibreOffice recalculate on opening (fullCalcOnLoad); the cached value serves
    readers that do not calculate (openpyxl's data_only, pandas, previewers).
    """

    _SUM = re.compile(r"^\s*SUM\(\s*(?P<sheet>(?:'(?:[^']|'')+'|[A-Za-z_][\w.]*)!)?\$?(?P<c1>[A-Z]{1,3})\$?(?P<r1>\d+):\$?(?P<c2>[A-Z]{1,3})\$?(?P<r2>\d+)\s*\)\s*$")

    def __init__(self, sheets: dict[str, RenderedSheet]):
        self.sheets = sheets
        self.outputs = {key: [row.output for row in sheet.rows] for key, sheet in sheets.items()}

    def value(self, formula: str, own: str) -> float | None:
        match = self._SUM.match(formula)
        if not match:
            return None
        key = _sheet_key(match.group("sheet")) or own
        sheet, outputs = self.sheets.get(key), self.outputs.get(key, [])
        if sheet is None:
            return None
        first_column, last_column = _column_index(match.group("c1")), _column_index(match.group("c2"))
        top, bottom = int(match.group("r1")), int(match.group("r2"))
        total = 0.0
        for row in sheet.rows[bisect.bisect_left(outputs, top): bisect.bisect_right(outputs, bottom)]:
            for column in range(first_column, last_column + 1):
                if self._is_formula(row, column):
                    return None
                value = row.value(column)
                if isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value):
                    total += value
        return total

    @staticmethod
    def _is_formula(row: RenderedRow, column: int) -> bool:
        return any(c.column == column and c.kind == "formula" for c in row.template.cells)


def _letters(count: int) -> list[str]:
    return [get_column_letter(i + 1) for i in range(count)]


def _sheet_data(rendered: RenderedSheet, maps: dict[str | None, RowMap], styles: _Styles, strings: SharedStrings, evaluator: _Evaluator) -> tuple[str, int, int]:
    """The <sheetData> of a rendered sheet; also its last row and last column (for <dimension>).

    This loop writes every cell of a large report, so the common values (float, str, int)
    are written inline here rather than through `cell_xml`.
    """
    own = rendered.template.name.casefold()
    width = max((c.column for row in rendered.template.rows for c in row.cells), default=0) + 1
    letters = _letters(width)
    formulas: dict[tuple[int, int], str] = {}
    plans = {row.number: [(c, letters[c.column], f' s="{c.style}"' if c.style is not None else "", row.positions.get(c.column)) for c in row.cells]
             for row in rendered.template.rows}
    wrapped = _wrapped_cells(rendered.template, styles)
    out: list[str] = ["<sheetData>"]
    append = out.append
    indexes = strings.indexes
    for row in rendered.rows:
        output, template, values = str(row.output), row.template, row.values
        lines = _lines_needed(row, wrapped[template.number]) if template.number in wrapped else 1
        height = f' ht="{LINE_HEIGHT * lines:g}" customHeight="1"' if lines > 1 else ""
        parts = [f'<row r="{output}"{template.attributes}{height}>']
        add = parts.append
        for cell, letter, attribute, position in plans[template.number]:
            if position is not None:
                value = values[position]
                kind = type(value)
                if kind is float and value - value == 0:
                    add(f'<c r="{letter}{output}"{attribute}><v>{value!r}</v></c>')
                elif kind is str and value:
                    index = indexes.get(value)
                    if index is None:
                        index = strings.index(value)
                    add(f'<c r="{letter}{output}"{attribute} t="s"><v>{index}</v></c>')
                else:
                    add(cell_xml(letter + output, cell.style, value, styles, strings))
            elif cell.kind == "text":
                add(cell_xml(letter + output, cell.style, (row.texts or {}).get(cell.column), styles, strings))
            elif cell.kind == "static":
                add(cell_xml(letter + output, cell.style, cell.value, styles, strings))
            elif cell.kind == "formula":
                key = (template.number, cell.column)
                if key not in formulas:
                    formulas[key] = remap_references(cell.source, maps, own)
                text = translate_formula(formulas[key], row.index, 0) if row.index else formulas[key]
                add(_formula_xml(letter + output, cell.style, text, evaluator.value(text, own)))
            elif attribute:
                add(f'<c r="{letter}{output}"{attribute}/>')
        add("</row>")
        append("".join(parts))
    append("</sheetData>")
    return "".join(out), rendered.rows[-1].output if rendered.rows else 1, width


# A row of wrapped text is given the height of its longest cell: neither Excel nor LibreOffice
# grows a row to its text when the file is opened (LibreOffice drew wrapped names over the next
# row). About 1.1 characters of 11 pt text per unit of column width, 15 points a line.
LINE_HEIGHT = 15.0
CHARACTERS_PER_WIDTH = 1.1


def _wrapped_cells(sheet: TemplateSheet, styles: _Styles) -> dict[int, list[tuple[int, float]]]:
    """For each repeated template row without a height of its own: its wrapping cells' columns and characters a line."""
    wraps = {str(i) for i, xf in enumerate(styles.xfs) if 'wrapText="1"' in xf}
    widths: dict[int, float] = {}
    for tag in re.findall(r"<col\b[^>]*>", sheet.head):
        attributes = dict(re.findall(r'\b(min|max|width)="([\d.]+)"', tag))
        if len(attributes) == 3:
            for column in range(int(attributes["min"]), min(int(attributes["max"]), 200) + 1):
                widths[column - 1] = float(attributes["width"])
    found = {}
    for row in sheet.rows:
        if row.loop is None or " ht=" in row.attributes:
            continue
        cells = [(c.column, max(1.0, widths.get(c.column, 8.43) * CHARACTERS_PER_WIDTH)) for c in row.cells
                 if c.style in wraps and c.kind in ("expression", "text")]
        if cells:
            found[row.number] = cells
    return found


def _lines_needed(row: RenderedRow, cells: list[tuple[int, float]]) -> int:
    lines = 1
    for column, characters in cells:
        value = row.value(column)
        if isinstance(value, str) and len(value) > characters:
            lines = max(lines, sum(math.ceil(max(1, len(part)) / characters) for part in value.split("\n")))
    return min(lines, 20)


def _remap_attribute(xml: str, attribute: str, rows: RowMap, series: bool = False) -> str:
    """Rewrite a space-separated list of ranges held in an attribute (sqref, ref)."""

    def replace(match: re.Match) -> str:
        ranges = " ".join(remap_references(part, {None: rows}, None, series) for part in unescape(match.group(2)).split())
        return f'{match.group(1)}"{escape(ranges)}"'

    # Merged cells have their own rule (_merged_cells).
    return re.sub(rf'(<(?!mergeCell\b)[\w:]+\b[^>]*?\s{attribute}=)"([^"]*)"', replace, xml)


def _merged_cells(xml: str, rendered: RenderedSheet) -> str:
    """Merges inside a repeated row repeat with it; other merges follow their rows."""
    repeated = {row.number for row in rendered.template.rows if row.loop}
    rows_map = rendered.row_map

    def replace(block: re.Match) -> str:
        refs = []
        for ref in re.findall(r'<mergeCell ref="([^"]+)"\s*/>', block.group(0)):
            match = _REFERENCE.fullmatch(ref)
            if match is None or match.group("c2") is None:
                continue
            top, bottom = int(match.group("r1").lstrip("$")), int(match.group("r2").lstrip("$"))
            if top == bottom and top in repeated:
                first, last = rows_map.first(top), rows_map.last(top)
                refs += [f"{match.group('c1')}{r}:{match.group('c2')}{r}" for r in range(first, last + 1)]
            else:
                refs.append(remap_references(ref, {None: rows_map}, None))
        if not refs:
            return ""
        return f'<mergeCells count="{len(refs)}">' + "".join(f'<mergeCell ref="{r}"/>' for r in refs) + "</mergeCells>"

    return re.sub(r"<mergeCells\b[^>]*>.*?</mergeCells>", replace, xml, flags=re.S)


def _sheet_xml(rendered: RenderedSheet, maps: dict[str | None, RowMap], styles: _Styles, strings: SharedStrings, evaluator: _Evaluator) -> str:
    data, last_row, width = _sheet_data(rendered, maps, styles, strings, evaluator)
    rows_map = rendered.row_map
    head = re.sub(r'<dimension ref="[^"]*"\s*/>', f'<dimension ref="A1:{get_column_letter(width)}{max(last_row, 1)}"/>', rendered.template.head)
    tail = rendered.template.tail
    # A conditional format or validation on one cell of a repeated row covers all its rows.
    tail = _remap_attribute(tail, "sqref", rows_map, series=True)
    tail = _remap_attribute(tail, "ref", rows_map)
    tail = _merged_cells(tail, rendered)
    tail = re.sub(r'(<brk id=")(\d+)"', lambda m: f'{m.group(1)}{rows_map.first(int(m.group(2)) + 1) - 1}"', tail)
    return head + data + tail


def _drawing_xml(xml: str, rows: RowMap) -> str:
    """Chart and picture anchors (0-based rows) move with the rows they sit on."""
    return re.sub(r"(<(?:xdr:)?row>)(\d+)(</(?:xdr:)?row>)", lambda m: f"{m.group(1)}{rows.first(int(m.group(2)) + 1) - 1}{m.group(3)}", xml)


def _chart_xml(xml: str, maps: dict[str | None, RowMap], render_text: Callable[[str], str]) -> str:
    """Series references follow the rendered rows; caches go, so charts read the new data.

    Titles and labels may hold Jinja2 too (an axis titled `{{ currency }}`).
    """
    xml = re.sub(r"(<a:t>)(.*?)(</a:t>)", lambda m: m.group(1) + escape(render_text(unescape(m.group(2)))) + m.group(3), xml, flags=re.S)
    xml = re.sub(r"<((?:c:)?)(numCache|strCache)>.*?</\1\2>", "", xml, flags=re.S)
    return re.sub(r"(<(?:c:)?f>)(.*?)(</(?:c:)?f>)",
                  lambda m: m.group(1) + escape(remap_references(unescape(m.group(2)), maps, None, series=True)) + m.group(3), xml, flags=re.S)


def _workbook_xml(xml: str, maps: dict[str | None, RowMap]) -> str:
    xml = re.sub(r"(<definedName\b[^>]*>)(.*?)(</definedName>)",
                 lambda m: m.group(1) + escape(remap_references(unescape(m.group(2)), maps, None)) + m.group(3), xml, flags=re.S)
    if "<calcPr" in xml:
        if "fullCalcOnLoad" not in xml:
            xml = xml.replace("<calcPr", '<calcPr fullCalcOnLoad="1"', 1)
        return xml
    anchor = "</definedNames>" if "</definedNames>" in xml else "</sheets>"
    return xml.replace(anchor, anchor + '<calcPr calcId="191029" fullCalcOnLoad="1"/>', 1)


def _core_xml(xml: str) -> str:
    """Fixed document dates, so the same plan gives the same bytes."""
    for tag in ("dcterms:created", "dcterms:modified"):
        xml = re.sub(rf"(<{tag}\b[^>]*>)[^<]*(</{tag}>)", rf"\g<1>{FIXED_DOCUMENT_DATE}\g<2>", xml)
    return xml


def _without_calc_chain(name: str, data: bytes) -> bytes:
    """calcChain lists formula cells by address; rows moved, so it goes (Excel rebuilds it)."""
    text = data.decode("utf-8")
    if name == "[Content_Types].xml":
        text = re.sub(r'<Override[^>]*calcChain[^>]*/>', "", text)
    else:
        text = re.sub(r'<Relationship[^>]*calcChain[^>]*/>', "", text)
    return text.encode("utf-8")


def render_template(template: Template, context: dict[str, Any]) -> bytes:
    """Render an Excel template with a Jinja2 context; return the .xlsx bytes."""
    environment = _environment()
    rendered: dict[str, RenderedSheet] = {}
    for sheet in template.sheets:
        rows = _evaluate(sheet, context, environment, template.path.name)
        rendered[sheet.name.casefold()] = RenderedSheet(sheet, rows, _number_rows(sheet, rows))
    maps: dict[str | None, RowMap] = {key: sheet.row_map for key, sheet in rendered.items()}
    by_path = {sheet.template.path: sheet for sheet in rendered.values()}
    owners = {part: sheet for sheet in rendered.values() for part in sheet.template.related}
    styles_xml = next((data.decode("utf-8") for name, data in template.entries if name == "xl/styles.xml"), "")
    styles = _Styles(styles_xml, template.date_styles)
    evaluator = _Evaluator(rendered)
    strings = SharedStrings()
    parts: dict[str, bytes] = {}
    for name, data in template.entries:
        if name in by_path:
            parts[name] = _sheet_xml(by_path[name], maps, styles, strings, evaluator).encode("utf-8")
        elif name.startswith("xl/drawings/drawing") and name in owners:
            parts[name] = _drawing_xml(data.decode("utf-8"), owners[name].row_map).encode("utf-8")
        elif name.startswith("xl/tables/") and name in owners:
            parts[name] = _remap_attribute(data.decode("utf-8"), "ref", owners[name].row_map).encode("utf-8")
        elif name.startswith("xl/charts/chart"):
            parts[name] = _chart_xml(data.decode("utf-8"), maps, lambda text: _render_text(environment, text, context)).encode("utf-8")
        elif name == "xl/workbook.xml":
            parts[name] = _workbook_xml(data.decode("utf-8"), maps).encode("utf-8")
        elif name == "docProps/core.xml":
            parts[name] = _core_xml(data.decode("utf-8")).encode("utf-8")
        elif name in ("[Content_Types].xml", "xl/_rels/workbook.xml.rels"):
            parts[name] = _without_calc_chain(name, data)
        elif name != "xl/calcChain.xml":
            parts[name] = data
    if "xl/styles.xml" in parts:
        parts["xl/styles.xml"] = styles.final_xml().encode("utf-8")
    parts[SharedStrings.PART] = strings.xml()
    SharedStrings.register(parts)
    return _zip(parts)


def _render_text(environment: jinja2.Environment, text: str, context: dict[str, Any]) -> str:
    return environment.from_string(text).render(context) if _JINJA.search(text) else text


def _zip(parts: dict[str, bytes]) -> bytes:
    buffer = BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in parts.items():
            info = zipfile.ZipInfo(name, FIXED_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compresslevel=COMPRESS_LEVEL)
    return buffer.getvalue()


TEMPLATE = TEMPLATES / "report.xlsx"


def render_xlsx(report: Any, template: Path | None = None) -> bytes:
    """The Excel report of a report model (`planner.reports.plan_report.Report`), from templates/<kind>.xlsx."""
    return render_template(read_template(template or TEMPLATES / f"{report.kind}.xlsx"), report.context())
