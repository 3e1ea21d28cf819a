"""The workbook file before its cells are read: zip structure, sizes, used ranges, and what calamine hides.

python-calamine reads cell values fast, but on its own it would
- trust the zip: duplicate members (the last one wins) and a few hundred KB that inflate to
  gigabytes of sheet XML are read as they come;
- build a dense grid over a sheet's used range: one stray value at XFD1048576 asks for 17
  billion cells and aborts the process, one at A1048576 takes seconds and most of a gigabyte;
- read an Excel error value (#DIV/0!) as a blank cell (.xlsx, .xls) or as 0 (.ods), and a
  formula saved without its calculated value as a blank cell.

`inspect_file` looks at the raw bytes first, cheaply, against `ReadLimits`: it refuses a
file that breaks a limit before any cell is parsed, and it returns, per sheet, the cells
calamine would misread (`ExcelError`, `Uncalculated`), which the reader puts back in their
place. A file that is not a workbook at all is left to calamine, whose error the reader words.
"""

from __future__ import annotations

import collections
import io
import os
import posixpath
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any
from xml.etree import ElementTree

from defusedxml import ElementTree as SafeElementTree  # a sheet's XML is the sender's: no entity expansion

_MIB = 1024 * 1024
# Excel's own grid: 1,048,576 rows by 16,384 columns (XFD).
EXCEL_ROWS = 1_048_576
EXCEL_COLUMNS = 16_384


@dataclass(frozen=True)
class ReadLimits:
    """How large a workbook the reader accepts; each is a setting, read from the environment.

    The defaults leave room for a 50,000-experience portfolio (about 30 MiB of sheet XML,
    50,000 rows by 20 columns) and refuse what would take minutes or gigabytes to read.
    """

    max_uncompressed_mib: int = 256  # PLANNER_MAX_WORKBOOK_MIB: all the zip's members, unpacked
    max_rows: int = 250_000          # PLANNER_MAX_SHEET_ROWS: the last row holding anything, per sheet
    max_columns: int = 1_000         # PLANNER_MAX_SHEET_COLUMNS: the last column holding anything, per sheet
    max_cells: int = 5_000_000       # PLANNER_MAX_SHEET_CELLS: rows x columns of a sheet's used range

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> tuple[ReadLimits, list[str]]:
        """The limits with any PLANNER_MAX_* variables applied, and a message per variable that is not a whole number > 0."""
        environ = os.environ if environ is None else environ
        values: dict[str, int] = {}
        problems: list[str] = []
        for limit in fields(cls):
            name = ENVIRONMENT_NAMES[limit.name]
            text = environ.get(name, "").strip().replace("_", "").replace(",", "")
            if not text:
                continue
            if text.isdigit() and int(text) > 0:
                values[limit.name] = int(text)
            else:
                problems.append(f"{name}={environ[name]!r} is not a whole number above 0; the default {getattr(cls(), limit.name)} is used")
        return cls(**values), problems


ENVIRONMENT_NAMES = {
    "max_uncompressed_mib": "PLANNER_MAX_WORKBOOK_MIB", "max_rows": "PLANNER_MAX_SHEET_ROWS",
    "max_columns": "PLANNER_MAX_SHEET_COLUMNS", "max_cells": "PLANNER_MAX_SHEET_CELLS",
}
# What each limit counts, and its unit, as docs/workbook.md shows them (`format_limits`).
_LIMIT_MEANINGS = {
    "max_uncompressed_mib": ("All the zip's parts, unpacked", " MiB"), "max_rows": ("Last row holding anything, per sheet read", ""),
    "max_columns": ("Last column holding anything, per sheet read", ""), "max_cells": ("Rows x columns of a sheet's used range", ""),
}


def format_limits() -> str:
    """The size limits as a Markdown table (docs/workbook.md embeds this text)."""
    lines = ["| Limit | Default | Setting (environment variable) |", "| --- | --- | --- |"]
    for limit in fields(ReadLimits):
        meaning, unit = _LIMIT_MEANINGS[limit.name]
        lines.append(f"| {meaning} | {limit.default:,}{unit} | `{ENVIRONMENT_NAMES[limit.name]}` |")
    return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class ExcelError:
    """A cell holding an Excel error value (#REF!, #DIV/0!, #N/A...): a formula that failed."""

    code: str

    def __str__(self) -> str:
        return self.code


@dataclass(frozen=True)
class Uncalculated:
    """A formula cell saved without its calculated value (by a program that does not calculate)."""

    formula: str

    def __str__(self) -> str:
        return self.formula


Marker = ExcelError | Uncalculated


@dataclass
class Inspection:
    """What the raw file says: problems that stop the read (whole file or one sheet), and the misread cells per sheet."""

    file_problems: list[str] = field(default_factory=list)
    sheet_problems: dict[str, list[str]] = field(default_factory=dict)
    # sheet name -> (row, column) counted from 0 -> what the cell really holds
    marks: dict[str, dict[tuple[int, int], Marker]] = field(default_factory=dict)
    # An .ods is parsed whole when calamine opens it: a sheet too large refuses the file.
    eager: bool = False

    def refuse(self, sheet: str, message: str) -> None:
        self.sheet_problems.setdefault(sheet, []).append(message)


def inspect_file(data: bytes, limits: ReadLimits) -> Inspection:
    """Check the file's structure and size against `limits`; find the cells calamine misreads."""
    inspection = Inspection()
    if data.startswith(b"PK"):
        _inspect_zip(data, limits, inspection)
    elif data.startswith(_OLE2):
        inspection.marks = _xls_errors(data)
    return inspection


_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


def column_letters(column: int) -> str:
    """1 -> A, 27 -> AA, 16384 -> XFD."""
    letters = ""
    while column > 0:
        column, remainder = divmod(column - 1, 26)
        letters = chr(ord("A") + remainder) + letters
    return letters


def column_number(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def check_used_range(rows: int, columns: int, limits: ReadLimits, cell: Callable[[int, int], str] | None = None) -> str | None:
    """Why a sheet whose used range ends at row `rows`, column `columns` is too large to read, or None.

    `cell(rows, columns)` names the cell that stretches the range (by default the range's corner).
    """
    if rows <= limits.max_rows and columns <= limits.max_columns and rows * columns <= limits.max_cells:
        return None
    corner = cell(rows, columns) if cell else f"{column_letters(columns)}{rows}"
    fix = ("delete the rows and columns below and right of your data (select them, Delete, save) "
           "or raise the limit (see docs/workbook.md, Size limits)")
    if rows > limits.max_rows:
        return f"holds a value in row {rows:,} (cell {corner}); at most {limits.max_rows:,} rows are read: {fix}"
    if columns > limits.max_columns:
        return f"holds a value in column {column_letters(columns)}; at most {limits.max_columns:,} columns are read: {fix}"
    if rows * columns > limits.max_cells:
        return (f"spans {rows:,} rows by {columns:,} columns to cell {corner} ({rows * columns:,} cells); "
                f"at most {limits.max_cells:,} cells are read: {fix}")
    return None


# ---------------------------------------------------------------------------------------
# Zip-based files: .xlsx and .ods
# ---------------------------------------------------------------------------------------


# What Python's zipfile raises for a damaged zip: an unknown version or compression is
# NotImplementedError, an encrypted member RuntimeError, a bad header struct.error.
_DAMAGED_ZIP = (zipfile.BadZipFile, OSError, EOFError, zlib.error, NotImplementedError, RuntimeError, ValueError, struct.error)


def _inspect_zip(data: bytes, limits: ReadLimits, inspection: Inspection) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _DAMAGED_ZIP:
        return  # not a readable zip: calamine's error says so
    with archive:
        unpacker = _Unpacker(archive, limits, inspection)
        if not unpacker.acceptable():
            return
        if "xl/workbook.xml" in unpacker.names:
            _inspect_xlsx(unpacker, limits, inspection)
        elif "content.xml" in unpacker.names:
            inspection.eager = True
            content = unpacker.read("content.xml")
            if content is not None:
                _inspect_ods(content, limits, inspection)


class _Unpacker:
    """Reads the zip's members, counting the unpacked bytes against the limit as they come
    (the sizes a zip declares can lie); once over the limit, the file is refused."""

    def __init__(self, archive: zipfile.ZipFile, limits: ReadLimits, inspection: Inspection):
        self.archive, self.limits, self.inspection = archive, limits, inspection
        self.entries = archive.infolist()
        self.names = {entry.filename for entry in self.entries}
        self.cap = limits.max_uncompressed_mib * _MIB
        self.total = 0
        self.refused = False

    def acceptable(self) -> bool:
        """No duplicate member, and the declared sizes within the limit (a first, cheap look)."""
        twice = sorted(name for name, count in collections.Counter(e.filename for e in self.entries).items() if count > 1)
        if twice:
            self.inspection.file_problems.append(
                f"holds two parts named {', '.join(twice[:3])} (a damaged or tampered file: which one Excel would read is unclear); "
                "open it in Excel and save it again")
            return False
        if sum(entry.file_size for entry in self.entries) > self.cap:
            self._refuse()
            return False
        return True

    def read(self, name: str) -> bytes | None:
        """The member unpacked; None if it is absent, damaged, or takes the total over the limit (then refused)."""
        if self.refused or name not in self.names:
            return None
        chunks: list[bytes] = []
        try:
            with self.archive.open(name) as member:
                while chunk := member.read(_MIB):
                    self.total += len(chunk)
                    if self.total > self.cap:
                        self._refuse()
                        return None
                    chunks.append(chunk)
        except _DAMAGED_ZIP:
            return None  # a damaged or encrypted member: calamine reports it where it matters
        return b"".join(chunks)

    def _refuse(self) -> None:
        self.refused = True
        packed = sum(entry.compress_size for entry in self.entries) / _MIB
        self.inspection.file_problems.append(
            f"unpacks to more than {self.limits.max_uncompressed_mib:,} MiB (the limit; the file is {packed:,.1f} MiB packed); "
            "a workbook this large is damaged or not a portfolio: save it again, or raise PLANNER_MAX_WORKBOOK_MIB (see docs/workbook.md)")


_MAIN_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELATIONSHIP_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def _sheet_members(relationships: bytes, workbook_xml: bytes) -> dict[str, str]:
    """Sheet name -> the zip member holding its XML (xl/workbook.xml and its relationships)."""
    targets: dict[str, str] = {}
    for relationship in SafeElementTree.fromstring(relationships):
        target = relationship.get("Target", "")
        targets[relationship.get("Id", "")] = target.lstrip("/") if target.startswith("/") else posixpath.normpath("xl/" + target)
    workbook = SafeElementTree.fromstring(workbook_xml)
    return {sheet.get("name", ""): targets.get(sheet.get(_RELATIONSHIP_NS + "id", ""), "")
            for sheet in workbook.iter(_MAIN_NS + "sheet")}


def _inspect_xlsx(unpacker: _Unpacker, limits: ReadLimits, inspection: Inspection) -> None:
    """Each sheet's used range and misread cells; the parts calamine reads beside the sheets are unpacked to count their size."""
    relationships, workbook_xml = unpacker.read("xl/_rels/workbook.xml.rels"), unpacker.read("xl/workbook.xml")
    for part in ("xl/sharedStrings.xml", "xl/styles.xml", "[Content_Types].xml", "_rels/.rels"):
        unpacker.read(part)
    if relationships is None or workbook_xml is None:
        return  # calamine reports a workbook without its parts (or the size was refused)
    try:
        sheets = _sheet_members(relationships, workbook_xml)
    except (KeyError, ValueError, ElementTree.ParseError):
        return
    for name, member in sheets.items():
        xml = unpacker.read(member)
        if xml is None:
            continue
        rows, columns = _xlsx_used_range(xml)
        problem = check_used_range(rows, columns, limits, lambda rows, columns: _xlsx_far_cell(xml, rows, columns))
        if problem:
            inspection.refuse(name, problem)
            continue
        marks: dict[tuple[int, int], Marker] = {}
        if b"<v>#" in xml:  # every error value starts with #: one search clears a clean sheet
            marks.update(_xlsx_error_cells(xml))
        if _FORMULA_START.search(xml):
            marks.update(_xlsx_uncalculated_cells(xml))
        if marks:
            inspection.marks[name] = marks


_ROW_NUMBER = re.compile(rb"<row\b[^>]*?\br=[\"'](\d+)[\"']")
_CELL_COLUMN = re.compile(rb"<c\b[^>]*?\br=[\"']([A-Z]+)[0-9]")
# Only cell references have letters after r=" (a row's r holds digits); a literal prefix keeps the search fast.
_TWO_LETTER_CELL = re.compile(rb'r="[A-Z][A-Z]')
_FORMULA_START = re.compile(rb"<f[ >/]")


def _xlsx_used_range(xml: bytes) -> tuple[int, int]:
    """(last row, last column) holding a cell, from the cells' own references (the <dimension> element can lie).

    Rows are few and scanned in C; a sheet whose cells all sit in columns A-Z (most of them)
    is cleared by one search, and only a wider one has its cell references read one by one.
    """
    rows = max(map(int, _ROW_NUMBER.findall(xml)), default=0)
    if b"<row>" in xml:  # rows without a number follow each other: count them too
        rows += xml.count(b"<row>")
    if _TWO_LETTER_CELL.search(xml) is None and b"r='" not in xml:
        return rows, 26 if b"<c " in xml else 0
    return rows, max(map(column_number, map(bytes.decode, set(_CELL_COLUMN.findall(xml)))), default=0)


def _xlsx_far_cell(xml: bytes, rows: int, columns: int) -> str:
    """The reference of a cell in the last row (or, if the row is fine, in the last column) of the used range."""
    in_row = re.findall(rb"<c\b[^>]*?\br=[\"']([A-Z]+" + str(rows).encode() + rb")[\"']", xml)
    if in_row:
        return max((reference.decode() for reference in in_row), key=lambda r: column_number(r.rstrip("0123456789")))
    return f"{column_letters(columns)}{rows}"


_ERROR_CELL = re.compile(rb"""<c\b[^>]*\bt=["']e["'][^>]*>""")
_CELL_REFERENCE = re.compile(rb"""\br=["']([A-Z]{1,3})([0-9]+)["']""")
_CELL_VALUE = re.compile(rb"<v>([^<]*)</v>")
_CELL_START = re.compile(rb"<c\b[^>]*>")
_FORMULA = re.compile(rb"<f\b([^>]*?)(?:/>|>([^<]*)</f>)")
_SHARED_INDEX = re.compile(rb"""\bsi=["'](\d+)["']""")


def _position(reference: re.Match[bytes]) -> tuple[int, int]:
    return int(reference.group(2)) - 1, column_number(reference.group(1).decode()) - 1


def _xlsx_error_cells(xml: bytes) -> dict[tuple[int, int], Marker]:
    cells: dict[tuple[int, int], Marker] = {}
    for match in _ERROR_CELL.finditer(xml):
        reference = _CELL_REFERENCE.search(match.group(0))
        if reference is None:
            continue
        end = xml.find(b"</c>", match.end())
        value = _CELL_VALUE.search(xml, match.end(), end if end >= 0 else len(xml))
        cells[_position(reference)] = ExcelError(value.group(1).decode("utf-8", "replace") if value else "#N/A")
    return cells


def _xlsx_uncalculated_cells(xml: bytes) -> dict[tuple[int, int], Marker]:
    """Formula cells with no cached value: no <v>, or an empty one on a cell not typed as text."""
    cells: dict[tuple[int, int], Marker] = {}
    shared: dict[bytes, str] = {}
    for formula in _FORMULA.finditer(xml):
        start = xml.rfind(b"<c", 0, formula.start())
        head = _CELL_START.match(xml, start) if start >= 0 else None
        end = xml.find(b"</c>", formula.end())
        if head is None or end < 0:
            continue
        text = _unescape(formula.group(2) or b"")
        index = _SHARED_INDEX.search(formula.group(1))
        if index and text:
            shared[index.group(1)] = text
        value = _CELL_VALUE.search(xml, formula.end(), end)
        is_text = re.search(rb"""\bt=["']str["']""", head.group(0)) is not None
        if (value and value.group(1)) or (value and is_text):
            continue
        reference = _CELL_REFERENCE.search(head.group(0))
        if reference is None:
            continue
        if not text and index:
            text = shared.get(index.group(1), "")
            text = f"{text} (shared)" if text else "a shared formula"
        cells[_position(reference)] = Uncalculated(f"={text}" if text and not text.startswith("a shared") else text or "a formula")
    return cells


def _unescape(text: bytes) -> str:
    return (text.decode("utf-8", "replace").replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"')
            .replace("&apos;", "'").replace("&amp;", "&"))


# ---------------------------------------------------------------------------------------
# .ods: one content.xml for every sheet
# ---------------------------------------------------------------------------------------

_TABLE = "{urn:oasis:names:tc:opendocument:xmlns:table:1.0}"
_OFFICE = "{urn:oasis:names:tc:opendocument:xmlns:office:1.0}"
_CALC_EXTENSION = "{urn:org:documentfoundation:names:experimental:calc:xmlns:calcext:1.0}"
_TEXT = "{urn:oasis:names:tc:opendocument:xmlns:text:1.0}"
_ERROR_TEXT = re.compile(r"#(?:DIV/0!|N/A|NAME\?|NULL!|NUM!|REF!|VALUE!|GETTING_DATA|SPILL!|CALC!)|Err:\d{3}")


def _inspect_ods(content: bytes, limits: ReadLimits, inspection: Inspection) -> None:
    """Each table's used range (repeated rows and cells counted) and its error and uncalculated cells."""
    try:
        root = SafeElementTree.fromstring(content)
    except (ValueError, ElementTree.ParseError):
        return  # calamine reports a damaged or hostile content.xml
    for table in root.iter(_TABLE + "table"):
        name = table.get(_TABLE + "name", "")
        marks: dict[tuple[int, int], Marker] = {}
        last_row = last_column = 0
        far_cell = ""
        row_index = 0
        for row in table.iter(_TABLE + "table-row"):
            row_repeat = _repeat(row, "number-rows-repeated")
            column_index = 0
            for cell in row:
                if cell.tag not in (_TABLE + "table-cell", _TABLE + "covered-table-cell"):
                    continue
                repeat = _repeat(cell, "number-columns-repeated")
                if _filled(cell):
                    if row_index + row_repeat >= last_row:
                        far_cell = f"{column_letters(column_index + repeat)}{row_index + row_repeat}"
                    last_row = max(last_row, row_index + row_repeat)
                    last_column = max(last_column, column_index + repeat)
                    marker = _ods_marker(cell)
                    if marker is not None:
                        marks[(row_index, column_index)] = marker
                column_index += repeat
            row_index += row_repeat
        problem = check_used_range(last_row, last_column, limits, lambda rows, columns: far_cell)
        if problem:
            inspection.refuse(name, problem)
        elif marks:
            inspection.marks[name] = marks


def _repeat(element: Any, attribute: str) -> int:
    text = element.get(_TABLE + attribute, "1")
    return int(text) if text.isdigit() and int(text) > 0 else 1


def _filled(cell: Any) -> bool:
    return cell.get(_OFFICE + "value-type") is not None or cell.get(_TABLE + "formula") is not None or len(cell) > 0


def _ods_marker(cell: Any) -> Marker | None:
    formula = cell.get(_TABLE + "formula")
    if formula is None:
        return None
    shown = "".join(cell.itertext()).strip()
    if cell.get(_CALC_EXTENSION + "value-type") == "error" or _ERROR_TEXT.fullmatch(shown):
        return ExcelError(shown or "#VALUE!")
    if cell.get(_OFFICE + "value-type") is None:
        return Uncalculated("=" + formula.split(":", 1)[-1].lstrip("="))
    return None


# ---------------------------------------------------------------------------------------
# .xls: the old binary format
# ---------------------------------------------------------------------------------------


def _xls_errors(data: bytes) -> dict[str, dict[tuple[int, int], Marker]]:
    """Error cells of an .xls workbook, read with xlrd (calamine reads them as blank)."""
    import xlrd  # only .xls needs it

    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
    except Exception:  # noqa: BLE001 - an encrypted or damaged file: calamine's error says what it is
        return {}
    marks: dict[str, dict[tuple[int, int], Marker]] = {}
    try:
        for name in book.sheet_names():
            sheet = book.sheet_by_name(name)
            cells = {(row, column): ExcelError(xlrd.error_text_from_code.get(sheet.cell_value(row, column), "#N/A"))
                     for row in range(sheet.nrows) for column in range(sheet.row_len(row))
                     if sheet.cell_type(row, column) == xlrd.XL_CELL_ERROR}
            if cells:
                marks[name] = cells
    except Exception:  # noqa: BLE001 - as above
        return marks
    finally:
        book.release_resources()
    return marks
