"""Reading a sheet of the input workbook as a table: header found, columns mapped, cells parsed, problems located.

`Findings` collects the errors, warnings and defaults of one workbook, each located by
file, sheet, row and column as the user sees them, and lists them top to bottom. A clean
column is read in a few passes at C speed (`clean_column`); anything unusual goes cell by cell.
"""

from __future__ import annotations

import collections
import difflib
import itertools
import operator
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from planner.core.domain import Portfolio
from planner.core.errors import Problem
from planner.inputs.workbook_file import ExcelError, Uncalculated, column_letters
from planner.inputs.workbook_format import (
    BRACKETS,
    COLUMN_LOOKUP,
    SETTING_LOOKUP,
    SETTINGS,
    TEAMS,
    Column,
    header_quarter,
    match_header,
    SheetSpec,
    squash,
)
from planner.inputs.workbook_cells import (
    CONTROL_CHARACTERS,
    LARGEST,
    LARGEST_WHOLE,
    LONGEST_TEXT,
    WORKBOOK_CURRENCY,
    YES_NO_WORDS,
    CellError,
    expected_value,
    is_blank,
    is_numeric,
    marker_problem,
    parse_value,
    read_text,
)


_TOTALS = frozenset({"total", "totals", "sum", "grandtotal", "subtotal"})
_TOTALS_INITIALS = frozenset("TtSsGg")


@dataclass(frozen=True)
class Examination:
    """Everything reading a workbook found: the portfolio (None if there are errors), the errors, the
    warnings (values dropped or cleaned), and every value a default stands in for (`defaults`)."""

    portfolio: Portfolio | None
    errors: list[Problem]
    warnings: list[Problem]
    defaults: list[Problem]


@dataclass
class Findings:
    """Errors and warnings found so far, each located as the user sees the workbook.

    Each problem remembers its place (sheet, row, column) so the lists can be given in the
    order a user walks the workbook: sheet by sheet as the tabs run, then row, then column.
    """

    file: str
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    # Values the format's defaults stand in for (blank cells, columns and settings left out).
    defaults: list[Problem] = field(default_factory=list)
    # The workbook's sheets in tab order, and each header's column position by (sheet, header text).
    sheets: list[str] = field(default_factory=list)
    columns: dict[tuple[str, str], int] = field(default_factory=dict)
    places: dict[Problem, tuple[str | None, int | None, str | None]] = field(default_factory=dict)

    def where(self, sheet: str | None = None, row: int | None = None, column: str | None = None) -> str:
        parts = [self.file]
        if sheet:
            parts.append(f"sheet {sheet}")
        if row:
            parts.append(f"row {row}")
        if column:
            parts.append(f'column "{column}"')
        return ", ".join(parts)

    def error(self, message: str, sheet: str | None = None, row: int | None = None, column: str | None = None) -> None:
        self.errors.append(self._placed(Problem(self.where(sheet, row, column), message), sheet, row, column))

    def warn(self, message: str, sheet: str | None = None, row: int | None = None, column: str | None = None) -> None:
        self.warnings.append(self._placed(Problem(self.where(sheet, row, column), message, "warning"), sheet, row, column))

    def default(self, message: str, sheet: str | None = None, row: int | None = None, column: str | None = None) -> None:
        self.defaults.append(self._placed(Problem(self.where(sheet, row, column), message, "default"), sheet, row, column))

    def _placed(self, problem: Problem, sheet: str | None, row: int | None, column: str | None) -> Problem:
        self.places[problem] = (sheet, row, column)
        return problem

    def examination(self, portfolio: Portfolio | None) -> Examination:
        """What was found, each list top to bottom, warnings and defaults summarised (one line per column and kind)."""
        return Examination(portfolio, self.in_order(self.errors), self.summarised(self.in_order(self.warnings)),
                           self.summarised(self.in_order(self.defaults)))

    def summarised(self, problems: list[Problem], shown: int = 5) -> list[Problem]:
        """One problem per sheet, column and message: the rows that share it counted, the first few named.

        A comments column filled to row 200,000 is one line, not 199,960.
        """
        groups: dict[Any, list[Problem]] = {}
        for problem in problems:
            sheet, row, column = self.places.get(problem, (None, None, None))
            groups.setdefault((sheet, column, problem.message) if row else id(problem), []).append(problem)
        summary: list[Problem] = []
        for group in groups.values():
            if len(group) == 1:
                summary.append(group[0])
                continue
            sheet, _, column = self.places[group[0]]
            rows = [self.places[problem][1] or 0 for problem in group]
            summary.append(self.over_rows(group[0].message, group[0].severity, sheet, rows, column, shown))
        return summary

    def over_rows(self, message: str, severity: str, sheet: str | None, rows: list[int], column: str | None,
                  shown: int = 5) -> Problem:
        """One problem of several rows: the first `shown` named, the rest counted."""
        if len(rows) == 1:
            return self._placed(Problem(self.where(sheet, rows[0], column), message, severity), sheet, rows[0], column)
        named = [str(row) for row in rows[:shown]]
        listed = (", ".join(named) + f" and {len(rows) - shown:,} more" if len(rows) > shown
                  else ", ".join(named[:-1]) + f" and {named[-1]}")
        where = self.where(sheet, None, None) + f", rows {listed}" + (f', column "{column}"' if column else "")
        return self._placed(Problem(where, message, severity), sheet, rows[0], column)

    def in_order(self, problems: list[Problem]) -> list[Problem]:
        """Problems top to bottom: the file's own first, then by sheet tab, row and column (a stable sort)."""
        def place(problem: Problem) -> tuple[int, int, int]:
            sheet, row, column = self.places.get(problem, (None, None, None))
            tab = -1 if sheet is None else (self.sheets.index(sheet) if sheet in self.sheets else len(self.sheets))
            position = -1 if column is None else self.columns.get((sheet, column), 1_000_000)
            return tab, row or 0, position
        return sorted(problems, key=place)


@dataclass(slots=True)
class Row:
    """One data row: its Excel row number, the values that parsed (a bad cell is left out), the keys of bad cells."""

    number: int
    values: dict[str, Any]
    # Shared and empty until a cell fails: a 10,000-experience workbook makes 50,000 rows, nearly all clean.
    failed: set[str] | frozenset[str] = frozenset()

    def fail(self, key: str) -> None:
        if not isinstance(self.failed, set):
            self.failed = set()
        self.failed.add(key)


@dataclass
class Table:
    """A sheet's data as read: the sheet's own name, the header text of each column found, the rows."""

    spec: SheetSpec
    sheet: str
    headers: dict[str, str]
    rows: list[Row]
    header_row: int = 0

    def header(self, key: str) -> str:
        """The column as the user's header names it (or the format's label if it is absent)."""
        if key in self.headers:
            return self.headers[key]
        column = next((c for c in self.spec.columns if c.key == key), None)
        return column.label if column else key


_HEADER_SEARCH_ROWS = 30


def _find_header(rows: list[list[Any]], spec: SheetSpec) -> int | None:
    """The index of the row that names the most known columns (title rows above it are skipped)."""
    lookup = COLUMN_LOOKUP[spec.name]
    best, best_count = None, 0
    for index, row in enumerate(rows[:_HEADER_SEARCH_ROWS]):
        count = sum(1 for cell in row if isinstance(cell, str) and cell.strip() and
                    (match_header(lookup, cell) or (spec is TEAMS and header_quarter(cell))))
        if count > best_count:
            best, best_count = index, count
    # One matching cell could be a title ("Budget"); a header names at least two columns.
    return best if best_count >= 2 else None


def _map_columns(header: list[Any], table: Table, findings: Findings) -> tuple[list[tuple[int, Column]], dict[str, int]]:
    """(column index, column) for each known header, and per-quarter capacity columns by label."""
    spec, lookup = table.spec, COLUMN_LOOKUP[table.spec.name]
    mapped: list[tuple[int, Column]] = []
    quarters: dict[str, int] = {}
    extra: list[str] = []
    for index, cell in enumerate(header):
        if is_blank(cell):
            continue
        text = read_text(cell, spec.id_column)
        findings.columns.setdefault((table.sheet, text), index)
        if cell.__class__ in (ExcelError, Uncalculated):
            # A header computed by a formula that failed or was never calculated names no column.
            findings.error(f"the header of column {column_letters(index + 1)} is {marker_problem(cell)}", table.sheet, table.header_row)
            continue
        column = match_header(lookup, text)
        label = header_quarter(text) if spec is TEAMS and column is None else None
        if column is not None and column.key in table.headers:
            findings.error(f'columns "{table.headers[column.key]}" and "{text}" both mean {column.label}; keep one',
                           table.sheet, table.header_row, text)
        elif column is not None:
            table.headers[column.key] = text
            mapped.append((index, column))
        elif label is not None and label in quarters:
            findings.error(f"quarter {label} has two columns; keep one", table.sheet, table.header_row, text)
        elif label is not None:
            quarters[label] = index
            table.headers[f"capacity:{label}"] = text
        else:
            extra.append(text)
    extra = [text for text in extra if not _close_to_a_column(text, table, findings)]
    if extra:
        names = ", ".join(f'"{text}"' for text in extra)
        findings.warn(f"column{'s' if len(extra) > 1 else ''} {names} not part of the format; ignored",
                      table.sheet, table.header_row)
    for column in spec.columns:
        if column.required and column.key not in table.headers:
            findings.error(f'column "{column.label}" is missing (a required column of sheet {spec.name})', table.sheet, table.header_row)
    return mapped, quarters


def _close_to_a_column(text: str, table: Table, findings: Findings) -> bool:
    """Whether an unknown header looks like a column of the format the sheet lacks: then it is an error with
    "did you mean", because ignoring it would silently put the column's default in the plan."""
    squashed = squash(BRACKETS.sub(" ", text))
    best, best_ratio = None, 0.0
    for column in table.spec.columns:
        if column.key in table.headers:
            continue
        for name in (column.label, *column.aliases):
            ratio = difflib.SequenceMatcher(None, squashed, squash(name)).ratio()
            if ratio > best_ratio:
                best, best_ratio = column, ratio
    if best is None or best_ratio < _CLOSE_HEADER:
        return False
    findings.error(f'"{text}" is not a column of the format; did you mean "{best.label}"? Rename the header '
                   f"(left unread, {_ignored_means(best)})", table.sheet, table.header_row, text)
    return True


# How alike (difflib's ratio of the squashed names) an unknown header must be to a column to be taken for a misspelling.
_CLOSE_HEADER = 0.8


def _ignored_means(column: Column) -> str:
    if column.required:
        return "the sheet would lack a required column"
    return f"{column.default} would be used for every row" if column.default else "its values would be lost"


def read_table(rows: list[list[Any]], sheet: str, spec: SheetSpec, findings: Findings,
                merged: Sequence[tuple[tuple[int, int], tuple[int, int]]] = ()) -> Table | None:
    """A sheet's cells (rows of calamine values from A1) as a table: header found, columns mapped, cells parsed.

    `merged` are the sheet's merged cell ranges ((first row, first column), (last row, last column)), from 0.
    """
    header_index = _find_header(rows, spec)
    if header_index is None:
        expected = ", ".join(c.label for c in spec.columns if c.required)
        findings.error(f"no header row found; expected a row naming the columns {expected}", sheet)
        return None
    table = Table(spec, sheet, {}, [], header_row=header_index + 1)
    mapped, quarters = _map_columns(rows[header_index], table, findings)
    id_index = next((index for index, column in mapped if column is spec.id_column), None)
    if id_index is None:
        return table
    value_columns = [(index, column) for index, column in mapped] + [
        (index, Column(f"capacity:{label}", label, "amount", "")) for label, index in quarters.items()
    ]
    numbers, body = _data_rows(rows, header_index, id_index, table, findings)
    table.rows = [Row(number, {}) for number in numbers]
    # Column by column: a clean column is checked in a few passes at C speed instead of cell by cell.
    columns = list(zip(*body)) if body else [() for _ in rows[header_index]]
    _check_unnamed_columns(rows[header_index], columns, numbers, merged, table, findings)
    dicts = [row.values for row in table.rows]
    for index, column in value_columns:
        cells = columns[index]
        values = _clean_column(cells, column)
        if values is None:
            required = column.required
            values = [None if cell == "" and not required else _parse_cell(cell, column, parsed, table, findings)
                      for cell, parsed in zip(cells, table.rows)]
        _store(dicts, column.key, values)
    _note_defaults(table, findings)
    return table


def _check_unnamed_columns(header: list[Any], columns: list[tuple[Any, ...]], numbers: list[int],
                           merged: Sequence[tuple[tuple[int, int], tuple[int, int]]], table: Table, findings: Findings) -> None:
    """A filled column must have a header of its own: a header merged over several columns, or a blank
    header over values, would otherwise have the values ignored (the low uplift planned as the base)."""
    row = table.header_row - 1
    covered: set[int] = set()
    for (first_row, first_column), (last_row, last_column) in merged or ():
        if first_row <= row <= last_row and last_column > first_column:
            name = read_text(header[first_column], table.spec.id_column) if first_column < len(header) else ""
            span = f"{column_letters(first_column + 1)} to {column_letters(last_column + 1)}"
            findings.error(f'the header "{name}" is merged over columns {span}, so only the first has a header; '
                           "unmerge it and give each column its own header (e.g. Uplift low, Uplift base, Uplift high)",
                           table.sheet, table.header_row, name or None)
            covered.update(range(first_column, last_column + 1))
    for index, cells in enumerate(columns):
        if index in covered or (index < len(header) and not is_blank(header[index])) or cells.count("") == len(cells):
            continue
        filled = [str(number) for number, cell in zip(numbers, cells) if not is_blank(cell)]
        if not filled:
            continue
        letter = column_letters(index + 1)
        rows = ", ".join(filled[:5]) + (f" and {len(filled) - 5:,} more" if len(filled) > 5 else "")
        findings.columns.setdefault((table.sheet, letter), index)
        findings.error(f"column {letter} has no header but holds values (rows {rows}); give it a header "
                       "(a column the format does not know is ignored with a warning) or clear it",
                       table.sheet, table.header_row, letter)


def _note_defaults(table: Table, findings: Findings) -> None:
    """List every value the format's default stands in for: a blank cell, or a column left out."""
    for column in table.spec.columns:
        if not column.default or not table.rows:
            continue
        if column.key not in table.headers:
            count = len(table.rows)
            findings.default(f'no column "{column.label}": {column.default} used for all {count:,} row{"s" if count != 1 else ""}',
                             table.sheet, table.header_row)
            continue
        # Gathered per column first: a 10,000-row sheet with a blank optional column is one problem, not 10,000.
        key = column.key
        rows = [row.number for row in table.rows if key not in row.values and key not in row.failed]
        if rows:
            findings.defaults.append(findings.over_rows(f"blank: {column.default} used", "default", table.sheet, rows,
                                                        table.header(key)))


def _store(dicts: list[dict[str, Any]], key: str, values: list[Any]) -> None:
    """dicts[i][key] = values[i] wherever the value is not None (a blank cell leaves the key out).

    map/compress/deque keep the loop in C: half a million cells go by in a few milliseconds.
    """
    if None in values:
        present = list(map(operator.is_not, values, itertools.repeat(None)))
        dicts, values = list(itertools.compress(dicts, present)), list(itertools.compress(values, present))
    collections.deque(map(operator.setitem, dicts, itertools.repeat(key), values), maxlen=0)


def _data_rows(rows: list[list[Any]], header_index: int, id_index: int, table: Table,
               findings: Findings) -> tuple[list[int], list[list[Any]]]:
    """The Excel row numbers and cells of the data rows under the header.

    Blank rows, totals rows and rows without an id are left out (the last two with a
    warning). A row whose id is ordinary text is data without a closer look.
    """
    start = header_index + 1
    body = rows[start:]
    unusual = [index for index, row in enumerate(body)
               if not ((identifier := row[id_index]).__class__ is str and identifier[:1].isalnum()
                       and identifier[:1] not in _TOTALS_INITIALS)]
    skipped = {index for index in unusual if not _is_data_row(body[index], id_index, table, start + index + 1, findings)}
    numbers = [start + 1 + index for index in range(len(body)) if index not in skipped]
    if skipped:
        body = [row for index, row in enumerate(body) if index not in skipped]
    return numbers, body


def _clean_column(cells: Sequence[Any], column: Column) -> list[Any] | None:
    """The column's values (None where blank) when every cell is obviously fine; else None.

    This is the fast path for 10,000-experience workbooks: each test is one pass in C
    (`in`, set, map, min, max). Anything unusual (text in a number column, a blank required
    cell, a value out of range, a number as an id) goes cell by cell instead.
    """
    kind = column.kind
    has_blank = "" in cells
    if column.required and has_blank:
        return None
    filled = [cell for cell in cells if cell != ""] if has_blank else cells
    if not filled:
        return [None] * len(cells)
    types = set(map(type, filled))
    if kind in ("text", "id", "team"):
        if types != {str}:
            return None
        stripped = list(map(str.strip, cells))
        joined = "".join(stripped)  # one search in C: most columns have no control character, nor a text too long
        if CONTROL_CHARACTERS.search(joined) or (len(joined) > LONGEST_TEXT and max(map(len, cells)) > LONGEST_TEXT):
            return None
        if "" not in stripped:
            return stripped
        return None if column.required else [text or None for text in stripped]
    if kind == "choice" and types == {str} and set(filled) <= set(column.choices):
        return [cell or None for cell in cells]
    if kind == "yesno" and types == {str} and set(filled) <= YES_NO_WORDS.keys():
        return list(map(YES_NO_WORDS.get, cells))
    if kind not in ("amount", "positive", "fraction", "whole") or not types <= {float, int}:
        return None
    # calamine never returns NaN or infinity (Excel cannot store them), so min and max are safe.
    low, high = min(filled), max(filled)
    fits = {"amount": low >= 0 and high <= LARGEST, "positive": low > 0 and high <= LARGEST, "fraction": low >= 0 and high <= 1,
            "whole": low >= column.minimum and high <= LARGEST_WHOLE and all(map(float.is_integer, map(float, filled)))}[kind]
    if not fits:
        return None
    convert = int if kind == "whole" else float
    if not has_blank:
        return list(cells) if types == {convert} else list(map(convert, cells))
    return [None if cell == "" else convert(cell) for cell in cells]


def _parse_cell(raw: Any, column: Column, row: Row, table: Table, findings: Findings) -> Any:
    """One cell's value, or None when blank or bad (a bad or missing required cell is reported)."""
    if is_blank(raw):
        if column.required:
            row.fail(column.key)
            findings.error(f"is blank; expected {expected_value(column)}", table.sheet, row.number, table.header(column.key))
        return None
    try:
        value = parse_value(raw, column)
    except CellError as error:
        row.fail(column.key)
        findings.error(str(error), table.sheet, row.number, table.header(column.key))
        return None
    if raw.__class__ is str and column.kind in _TEXT_KINDS and CONTROL_CHARACTERS.search(raw):
        findings.warn("control characters (invisible in Excel) removed from the text", table.sheet, row.number, table.header(column.key))
    return value


_TEXT_KINDS = frozenset({"text", "id", "team", "ids", "list", "choice", "yesno", "quarter"})


def _is_data_row(row: list[Any], id_index: int, table: Table, number: int, findings: Findings) -> bool:
    """False for blank rows, totals rows and rows without an id (the last two with a warning)."""
    identifier = row[id_index]
    if identifier.__class__ is str and identifier[:1].isalnum() and identifier[:1] not in _TOTALS_INITIALS:
        return True  # the common case, decided without any further look
    if not is_blank(identifier):
        text = read_text(identifier, table.spec.id_column)
        if text[:1] in _TOTALS_INITIALS and squash(text) in _TOTALS:
            findings.warn("totals row ignored", table.sheet, number)
            return False
        return True
    filled = [cell for cell in row if not is_blank(cell)]
    if not filled:
        return False
    if any(is_numeric(cell) for cell in filled):
        findings.warn(f'row without {table.header(table.spec.id_column.key)} but with numbers: taken for a totals row and ignored',
                      table.sheet, number)
    else:
        findings.warn(f"row without {table.header(table.spec.id_column.key)} skipped", table.sheet, number)
    return False


def read_settings_table(rows: list[list[Any]], sheet: str, spec: SheetSpec, findings: Findings,
                         merged: Sequence[tuple[tuple[int, int], tuple[int, int]]] = ()) -> Table | None:
    """The Settings sheet: rows of Setting | Value, each value read by its setting's kind."""
    table = read_table(rows, sheet, spec, findings, merged)
    if table is None:
        return None
    if "value" not in table.headers:
        findings.error('column "Value" is missing (a required column of sheet Settings)', sheet, table.header_row)
    seen: dict[str, int] = {}
    settings_rows: list[Row] = []
    # The currency first: the amounts of the other settings are read in it. A row whose setting
    # cell did not read (reported already) is left out.
    named = [row for row in table.rows if "setting" in row.values]
    for row in sorted(named, key=lambda row: match_header(SETTING_LOOKUP, row.values["setting"]) is not SETTINGS[0]):
        setting = match_header(SETTING_LOOKUP, row.values["setting"])
        if setting is None:
            findings.warn(f'"{row.values["setting"]}" is not a known setting; ignored', sheet, row.number, table.header("setting"))
        elif setting.key in seen:
            findings.error(f"setting {setting.label} appears twice: rows {seen[setting.key]} and {row.number}",
                           sheet, row.number, table.header("setting"))
        else:
            seen[setting.key] = row.number
            parsed = _parse_setting(setting, row, table, findings)
            if parsed is not None:
                settings_rows.append(parsed)
                if setting.key == "currency":
                    WORKBOOK_CURRENCY.set(str(parsed.values["value"]))
    table.rows = settings_rows
    return table


def _parse_setting(setting: Column, row: Row, table: Table, findings: Findings) -> Row | None:
    raw = row.values.get("value")
    if raw is None or is_blank(raw):
        return None
    try:
        return Row(row.number, {"key": setting.key, "value": parse_value(raw, setting)})
    except CellError as error:
        findings.error(f"{setting.label}: {error}", table.sheet, row.number, table.header("value"))
        return None
