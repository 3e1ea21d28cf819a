"""Writing the input workbook: the blank template and any Portfolio, in the format of `workbook_format`.

openpyxl's write-only mode lays out each sheet (header, notes, validation, widths, styles);
the data rows are streamed into the sheets' XML directly (fast enough for 50,000
experiences, and every float exact), and the file is replaced atomically.
"""

from __future__ import annotations

import itertools
import os
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

from planner.core.domain import Experience, Portfolio, Settings, quarter_label, quarter_labels
from planner.core.ooxml import SharedStrings, pages_across
from planner.inputs.workbook_format import (
    BUDGET,
    EXPERIENCES,
    IN_FLIGHT,
    OPTIONS,
    SETTINGS,
    SETTINGS_SHEET,
    SHARED_ATTENTION,
    TEAMS,
    Column,
    example_portfolio,
    SheetSpec,
)

if TYPE_CHECKING:
    from openpyxl import Workbook


# ---------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------


def write_template(path: str | Path) -> None:
    """Write the blank input workbook: every sheet with notes, validation and two example rows."""
    write_portfolio(example_portfolio(), path, in_flight_sheet=True)


def write_portfolio(portfolio: Portfolio, path: str | Path, in_flight_sheet: bool | None = None) -> None:
    """Write `portfolio` in the template's format, atomically (a temporary file, then a rename).

    The In flight sheet is written when an experience is in flight (or `in_flight_sheet` says so).

    openpyxl lays out each sheet (header, notes, validation, widths, styles); the data rows
    are streamed into the sheets' XML directly, which is about 20 times faster than
    openpyxl's cells and keeps every float exact (openpyxl rounds to 16 digits).
    """
    from openpyxl import Workbook  # only writing needs openpyxl (and, through it, numpy): reading starts faster

    workbook = Workbook(write_only=True)
    currency = portfolio.settings.currency
    strings = SharedStrings()
    bodies: list[tuple[Any, Iterable[str]]] = []
    for spec, columns, rows in _tables(portfolio, in_flight_sheet):
        sheet = _write_header(workbook, spec.name, columns, currency)
        styles = [_style_id(sheet, column) for column in columns]
        bodies.append((sheet, _rows_xml(rows, itertools.repeat(styles), strings)))
    bodies.append(_write_settings(workbook, portfolio, strings))
    _save_atomically(workbook, bodies, strings, Path(path))


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------

_HEADER_FILL_COLOUR = "DDEBF7"
_NUMBER_FORMATS = {"amount": "#,##0", "fraction": "0.0##%", "whole": "0", "positive": "#,##0", "month": "0"}
_LAST_ROW = 1_048_576
_MAX_LIST_ROWS = 2_000


def _tables(portfolio: Portfolio, in_flight_sheet: bool | None = None) -> list[tuple[SheetSpec, tuple[Column, ...], list[list[Any]]]]:
    """Each sheet with its columns and rows of cell values, in the order the writer lays them out."""
    settings = portfolio.settings
    experiences = [_experience_row(e, settings) for e in portfolio.experiences]
    options: list[list[Any]] = []
    shared: list[list[Any]] = []
    for experience in portfolio.experiences:
        owner = experience.team.casefold()
        for option in experience.options:
            own = sum(weeks for team, weeks in option.attention if team.casefold() == owner)
            options.append([experience.id, option.name, option.one_off_cost, option.run_cost_per_quarter,
                            own, option.delivery_quarters, option.uplift_share])
            shared.extend([experience.id, option.name, team, weeks]
                          for team, weeks in option.attention if team.casefold() != owner)
    teams_columns, teams = _team_rows(portfolio)
    budget = [[label, amount] for label, amount in zip(quarter_labels(settings), portfolio.budget)]
    tables = [
        (EXPERIENCES, EXPERIENCES.columns, experiences),
        (OPTIONS, OPTIONS.columns, options),
        (SHARED_ATTENTION, SHARED_ATTENTION.columns, shared),
        (TEAMS, teams_columns, teams),
        (BUDGET, BUDGET.columns, budget),
    ]
    in_flight = [_in_flight_row(e, settings) for e in portfolio.experiences if e.commitment is not None]
    if in_flight or in_flight_sheet:
        tables.append((IN_FLIGHT, IN_FLIGHT.columns, in_flight))
    return tables


def _in_flight_row(experience: Experience, settings: Settings) -> list[Any]:
    commitment = experience.commitment
    return [experience.id, commitment.option, quarter_label(settings, commitment.start_quarter), commitment.spent_to_date,
            commitment.remaining_one_off, commitment.status]


def _experience_row(experience: Experience, settings: Settings) -> list[Any]:
    values = {column.key: getattr(experience, column.key, None) for column in EXPERIENCES.columns}
    values["mandatory"] = "yes" if experience.mandatory else "no"
    values["requires"] = ", ".join(experience.requires)
    values["excludes"] = ", ".join(experience.excludes)
    values["earliest_start"] = quarter_label(settings, experience.earliest_start) if experience.earliest_start else None
    return [values[column.key] for column in EXPERIENCES.columns]


def _team_rows(portfolio: Portfolio) -> tuple[tuple[Column, ...], list[list[Any]]]:
    """One capacity column when every team is flat; otherwise one column per quarter."""
    if all(len(set(team.capacity)) == 1 and len(team.capacity) == portfolio.horizon for team in portfolio.teams):
        return TEAMS.columns, [[team.name, None, team.capacity[0]] for team in portfolio.teams]
    columns = TEAMS.columns + tuple(
        Column(f"capacity:{label}", label, "amount", f"Team-weeks available in {label}; overrides Capacity per quarter.",
               number_format="#,##0.0", width=10)
        for label in quarter_labels(portfolio.settings)
    )
    return columns, [[team.name, None, None, *team.capacity] for team in portfolio.teams]


def _write_header(workbook: Workbook, name: str, columns: tuple[Column, ...], currency: str) -> Any:
    """A sheet with widths, validation, and a frozen bold header row with a note on every header."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    sheet = workbook.create_sheet(name)
    header: list[WriteOnlyCell] = []
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        text = column.header(currency)
        sheet.column_dimensions[letter].width = column.width or max(12, len(text) + 2)
        if _number_format(column):
            # Cells an analyst adds later get the column's format too (15 typed in an uplift cell is 15%).
            sheet.column_dimensions[letter].number_format = _number_format(column)
        if name != SETTINGS_SHEET.name:
            _add_validation(sheet, column, f"{letter}2:{letter}{_LAST_ROW}")
        cell = WriteOnlyCell(sheet, value=text)
        cell.font, cell.alignment = Font(bold=True), Alignment(wrap_text=True, vertical="top")
        cell.fill = PatternFill("solid", fgColor=_HEADER_FILL_COLOUR)
        cell.comment = Comment(column.note, "planner", width=320, height=110)
        header.append(cell)
    sheet.freeze_panes = "A2"
    _print_setup(sheet, [sheet.column_dimensions[get_column_letter(i)].width for i in range(1, len(columns) + 1)])
    sheet.append(header)
    return sheet


def _print_setup(sheet: Any, widths: list[float]) -> None:
    """A4 landscape, as many pages across as keep the text readable, the header row (and the first
    two columns, when a row takes several pages) on every page: the template spread over 19 pages."""
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = "9"  # A4
    across = pages_across(widths)
    sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight = across, 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = "1:1"
    if across > 1:
        sheet.print_title_cols = "A:B"


def _number_format(column: Column) -> str:
    return column.number_format or _NUMBER_FORMATS.get(column.kind, "")


def _style_id(sheet: Any, column: Column) -> int:
    """The workbook's style index for the column's number format (0: none)."""
    number_format = _number_format(column)
    if not number_format:
        return 0
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet)
    cell.number_format = number_format
    return cell.style_id


def _add_validation(sheet: Any, column: Column, cells: str) -> None:
    """Excel data validation for a column's cells, where a rule fits (free text has none)."""
    from openpyxl.worksheet.datavalidation import DataValidation

    prompt = {"error": f"{column.label}: {column.note}", "errorTitle": column.label, "showErrorMessage": True, "allow_blank": True}
    kind = column.kind
    if kind in ("choice", "yesno"):
        choices = column.choices if kind == "choice" else ("yes", "no")
        validation = DataValidation(type="list", formula1=f'"{",".join(choices)}"', **prompt)
    elif kind in ("team", "quarter"):
        # A warning, not a stop: the analyst may type a team or quarter before adding it to its sheet.
        source = "Teams" if kind == "team" else "Budget"
        validation = DataValidation(type="list", formula1=f"{source}!$A$2:$A${_MAX_LIST_ROWS}", errorStyle="warning", **prompt)
    elif kind == "fraction":
        validation = DataValidation(type="decimal", operator="between", formula1="0", formula2="1", **prompt)
    elif kind in ("amount", "positive"):
        validation = DataValidation(type="decimal", operator="greaterThanOrEqual", formula1="0", **prompt)
    elif kind == "whole":
        validation = DataValidation(type="whole", operator="greaterThanOrEqual", formula1=str(column.minimum), **prompt)
    elif kind == "month":
        validation = DataValidation(type="whole", operator="between", formula1="1", formula2="12", **prompt)
    else:
        return
    validation.add(cells)
    sheet.data_validations.append(validation)


def _write_settings(workbook: Workbook, portfolio: Portfolio, strings: SharedStrings) -> tuple[Any, Iterable[str]]:
    """The Settings sheet: one row per setting, each value cell with its own format and validation."""
    currency = portfolio.settings.currency
    sheet = _write_header(workbook, SETTINGS_SHEET.name, SETTINGS_SHEET.columns, currency)
    values = {**{f.name: getattr(portfolio.settings, f.name) for f in fields(Settings)}, "total_budget": portfolio.total_budget}
    values["journey_stages"] = ", ".join(portfolio.settings.journey_stages)
    rows = [[setting.header(currency), values[setting.key], setting.note] for setting in SETTINGS]
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment

    wrapped = WriteOnlyCell(sheet)  # the notes wrap inside their column: on paper a long note shrank the whole page
    wrapped.alignment = Alignment(wrap_text=True, vertical="top")
    styles = [[0, _style_id(sheet, setting), wrapped.style_id] for setting in SETTINGS]
    for number, setting in enumerate(SETTINGS, start=2):
        if setting.kind != "quarter":
            _add_validation(sheet, setting, f"B{number}")
    return sheet, _rows_xml(rows, styles, strings)


def _rows_xml(rows: list[list[Any]], row_styles: Iterable[list[int]], strings: SharedStrings) -> Iterator[str]:
    """The `<row>` elements of the data rows (from Excel row 2) in chunks, each cell with its row's style."""
    from openpyxl.utils import get_column_letter

    letters = [get_column_letter(index) for index in range(1, max(map(len, rows), default=0) + 1)]
    chunk: list[str] = []
    for number, (values, styles) in enumerate(zip(rows, row_styles), start=2):
        cells = [_cell_xml(f"{letter}{number}", value, style, strings)
                 for letter, value, style in zip(letters, values, styles) if value is not None and value != ""]
        chunk.append(f'<row r="{number}">{"".join(cells)}</row>')
        if len(chunk) == 1000:
            yield "".join(chunk)
            chunk = []
    yield "".join(chunk)


def _cell_xml(reference: str, value: Any, style: int, strings: SharedStrings) -> str:
    if isinstance(value, str):
        shown = f' s="{style}"' if style else ""
        return f'<c r="{reference}"{shown} t="s"><v>{strings.index(value)}</v></c>'
    if isinstance(value, bool):
        return f'<c r="{reference}" t="b"><v>{int(value)}</v></c>'
    number = str(value) if isinstance(value, int) else repr(float(value))
    return f'<c r="{reference}" s="{style}"><v>{number}</v></c>'


def _save_atomically(workbook: Workbook, bodies: list[tuple[Any, Iterable[str]]], strings: SharedStrings, path: Path) -> None:
    """Save the laid-out sheets with their rows beside `path`, then rename: no reader sees half a file."""
    temporaries: list[Path] = []
    try:
        shell = _temporary_path(path, temporaries)
        final = _temporary_path(path, temporaries)
        workbook.save(shell)
        rows = {sheet.path.lstrip("/"): body for sheet, body in bodies}
        with zipfile.ZipFile(shell) as source, zipfile.ZipFile(final, "w", zipfile.ZIP_DEFLATED) as target:
            # openpyxl's write-only mode writes texts inline and declares no shared strings part: declare it.
            declarations = {name: source.read(name) for name in ("[Content_Types].xml", "xl/_rels/workbook.xml.rels")}
            SharedStrings.register(declarations)
            for entry in source.infolist():
                data = declarations.get(entry.filename) or source.read(entry)
                if entry.filename not in rows:
                    target.writestr(entry, data)
                    continue
                head, tail = data.split(b"</sheetData>", 1)
                with target.open(entry.filename, "w") as out:
                    out.write(head)
                    for chunk in rows[entry.filename]:
                        out.write(chunk.encode("utf-8"))
                    out.write(b"</sheetData>" + tail)
            # After the sheets: their rows filled the table.
            target.writestr(SharedStrings.PART, strings.xml())
        # mkstemp makes the file private (0600); a workbook gets the usual permissions.
        os.chmod(final, 0o666 & ~_umask())
        os.replace(final, path)
    finally:
        for temporary in temporaries:
            temporary.unlink(missing_ok=True)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _temporary_path(path: Path, temporaries: list[Path]) -> Path:
    """A new empty file beside `path` (so the final rename stays on one file system), remembered for clean-up."""
    handle, name = tempfile.mkstemp(prefix=f".{path.stem}-", suffix=".xlsx", dir=path.parent)
    os.close(handle)
    temporaries.append(Path(name))
    return temporaries[-1]

