"""Reading finance's input workbook into a Portfolio, reporting every problem in one pass.

`read_workbook(path)` / `read_portfolio(path)` / `examine_workbook(path)` read what
finance really sends (headers in any case, spacing or unit, known aliases, title rows,
totals rows, numbers stored as text, percentages, formulas) and check every sheet and the
references between them: this is the one place inputs are validated. The file is checked
first (`workbook_file`), then each sheet is read as a table (`workbook_tables`), then the
tables become the domain's frozen objects.

The format is `planner.inputs.workbook_format`; writing is `planner.inputs.workbook_writer`.
Cell values are read with python-calamine (fast, and it returns formulas' cached values).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import python_calamine

from planner.core.domain import (
    Commitment,
    Experience,
    FundingOption,
    Portfolio,
    Settings,
    Team,
    find_cycles,
    normalise_quarter,
    quarter_index,
    quarter_label,
    quarter_labels,
)
from planner.core.collector import collector_paused
from planner.core.errors import InputError, Problem
from planner.inputs.workbook_file import Inspection, ReadLimits, check_used_range, inspect_file
from planner.inputs.workbook_format import (
    BUDGET,
    EXPERIENCES,
    IN_FLIGHT,
    OPTIONS,
    SETTINGS,
    SETTINGS_SHEET,
    SHARED_ATTENTION,
    SHEET_LOOKUP,
    SHEETS,
    TEAMS,
    SheetSpec,
    show_default,
    squash,
)
from planner.inputs.workbook_cells import WORKBOOK_CURRENCY, id_key, put_back_markers
from planner.inputs.workbook_tables import Examination, Findings, read_settings_table, read_table, Row, Table


_DEFAULT_OPTION = "standard"


def read_portfolio(path: str | Path) -> Portfolio:
    """Read and validate a workbook; raise InputError listing every problem found."""
    portfolio, errors, warnings = read_workbook(path)
    if errors or portfolio is None:
        raise InputError(errors, warnings)
    return portfolio


def read_workbook(path: str | Path, limits: ReadLimits | None = None) -> tuple[Portfolio | None, list[Problem], list[Problem]]:
    """Read a workbook: (the portfolio, or None if there are errors; the errors; the warnings)."""
    examination = examine_workbook(path, limits)
    return examination.portfolio, examination.errors, examination.warnings


def examine_workbook(path: str | Path, limits: ReadLimits | None = None) -> Examination:
    """Read a workbook and say everything about it: see `Examination`.

    The file is read once into memory and never written; `source_sha256` is the hash of
    exactly the bytes that were parsed. Its structure and size are checked against `limits`
    (by default `ReadLimits` with the environment's PLANNER_MAX_* settings) before any cell is.
    """
    path = Path(path)
    findings = Findings(path.name)
    if limits is None:
        limits, bad_settings = ReadLimits.from_environment()
        for message in bad_settings:
            findings.warn(message)
    try:
        data = path.read_bytes()
    except OSError as error:
        findings.error(f"cannot be read ({error.strerror or error})")
        return findings.examination(None)
    inspection = inspect_file(data, limits)
    if _refused(inspection, findings):
        return findings.examination(None)
    try:
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except (python_calamine.CalamineError, ValueError) as error:
        findings.error(_unreadable(data, error))
        return findings.examination(None)
    findings.sheets = list(book.sheet_names)
    with collector_paused(), _currency_of_this_workbook():
        portfolio = _Reader(book, findings, inspection, limits).portfolio()
    if portfolio is None or findings.errors:
        return findings.examination(None)
    return findings.examination(replace(portfolio, source=str(path), source_sha256=hashlib.sha256(data).hexdigest()))


def _refused(inspection: Inspection, findings: Findings) -> bool:
    """Whether the file is refused before calamine opens it (a problem of the whole file, or of a sheet of an .ods,
    which calamine parses whole when it opens it)."""
    for message in inspection.file_problems:
        findings.error(message)
    if inspection.eager:
        for sheet, messages in inspection.sheet_problems.items():
            for message in messages:
                findings.error(message, sheet)
    return bool(findings.errors)


_ENCRYPTED_OR_XLS = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an OLE2 compound file: .xls, or an encrypted .xlsx


def _unreadable(data: bytes, error: Exception) -> str:
    """Why a file is not a workbook, in the words of someone who has to fix it."""
    if not data:
        return "is empty (0 bytes); expected an Excel workbook (.xlsx)"
    if data.startswith(_ENCRYPTED_OR_XLS):
        return ("is password-protected (encrypted) or an old .xls workbook; expected an .xlsx without a password: "
                "open it in Excel, remove the password (File > Info > Protect Workbook) and save as .xlsx")
    if not data.startswith(b"PK"):
        kind = "text (a CSV file renamed .xlsx?)" if _looks_like_text(data) else "not a zip archive"
        return f"is not an Excel workbook: the file is {kind}; open it in Excel and save it as .xlsx"
    return f"cannot be read as a workbook ({error}); expected an .xlsx saved by Excel"


def _looks_like_text(data: bytes) -> bool:
    return b"\0" not in data[:4096]  # a binary file has NUL bytes; text (CSV, HTML) has none


@contextlib.contextmanager
def _currency_of_this_workbook() -> Iterator[None]:
    """The default currency until the Settings sheet names one; the caller's value back afterwards."""
    token = WORKBOOK_CURRENCY.set(Settings().currency)
    try:
        yield
    finally:
        WORKBOOK_CURRENCY.reset(token)


# ---------------------------------------------------------------------------------------
# Reading: from tables to a portfolio
# ---------------------------------------------------------------------------------------


class _Reader:
    """Reads every sheet, then checks the cross-references between them, locating each problem."""

    def __init__(self, book: Any, findings: Findings, inspection: Inspection, limits: ReadLimits):
        self.book = book
        self.findings = findings
        self.tables: dict[str, Table | None] = {}
        self.inspection = inspection  # what the raw file says: sheets too large, cells calamine misreads
        self.limits = limits
        self.merged: dict[str, Any] = {}

    def portfolio(self) -> Portfolio | None:
        self._read_sheets()
        settings, total_budget = self._settings()
        self._normalise_quarters(settings)
        labels = quarter_labels(settings)
        teams = self._teams(labels)
        budget = self._budget(labels, total_budget)
        experiences = self._experiences(settings, labels, teams)
        if self.findings.errors:
            return None
        return Portfolio(experiences=experiences, teams=tuple(teams.values()), budget=budget,
                         settings=settings, total_budget=total_budget)

    # -- sheets ---------------------------------------------------------------------------

    def _read_sheets(self) -> None:
        found: dict[str, str] = {}
        # Settings first: the currency its amounts and every other sheet's are read in.
        for name in sorted(self.book.sheet_names, key=lambda name: SHEET_LOOKUP.get(squash(name)) is not SETTINGS_SHEET):
            spec = SHEET_LOOKUP.get(squash(name))
            if spec is None:
                # Listed, so no data goes unread unseen (a copy named "Experiences (2)" is not the Experiences sheet).
                self.findings.warn("sheet not part of the format; ignored", name)
                continue
            if spec.name in found:
                self.findings.error(f'sheets "{found[spec.name]}" and "{name}" both mean {spec.name}; keep one', name)
                continue
            found[spec.name] = name
            rows = self._sheet_cells(name)
            if rows is None:
                self.tables[spec.name] = None
                continue
            read = read_settings_table if spec is SETTINGS_SHEET else read_table
            self.tables[spec.name] = read(rows, name, spec, self.findings, self.merged.get(name, ()))
        for spec in SHEETS:
            if spec.name not in found and spec.required and spec is not BUDGET:
                sheets = ", ".join(self.book.sheet_names)
                self.findings.error(f"sheet {spec.name} is missing (sheets found: {sheets})")

    def _sheet_cells(self, name: str) -> list[list[Any]] | None:
        """A sheet's cells from A1, each misread cell put back; None (reported) if it is too large or damaged."""
        for message in self.inspection.sheet_problems.get(name, ()):
            self.findings.error(message, name)
        if name in self.inspection.sheet_problems:
            return None
        try:
            sheet = self.book.get_sheet_by_name(name)
            # The raw file was checked when it could be (.xlsx, .ods); calamine's own count covers the rest (.xls).
            end = sheet.end or (-1, -1)
            problem = check_used_range(end[0] + 1, end[1] + 1, self.limits)
            if problem:
                self.findings.error(problem, name)
                return None
            rows = sheet.to_python(skip_empty_area=False)
            self.merged[name] = sheet.merged_cell_ranges or ()
        except python_calamine.CalamineError as error:
            self.findings.error(f"cannot be read ({error}); the file is damaged: open it in Excel and save it again", name)
            return None
        put_back_markers(rows, self.inspection.marks.get(name, {}))
        return rows

    def _usable(self, spec: SheetSpec) -> bool:
        """Whether a sheet was read with its id column; if not (reported already), checks against
        it are skipped: one problem, not one for every row of another sheet that refers to it."""
        table = self.tables.get(spec.name)
        return table is not None and spec.id_column.key in table.headers

    def _rows(self, spec: SheetSpec) -> list[Row]:
        table = self.tables.get(spec.name)
        return table.rows if table is not None else []

    def _error(self, spec: SheetSpec, row: Row | int | None, key: str | None, message: str) -> None:
        table = self.tables.get(spec.name)
        sheet = table.sheet if table is not None else spec.name
        number = row.number if isinstance(row, Row) else row
        column = table.header(key) if (table is not None and key) else key
        self.findings.error(message, sheet, number, column)

    # -- settings -------------------------------------------------------------------------

    def _settings(self) -> tuple[Settings, float | None]:
        values = {row.values["key"]: row.values["value"] for row in self._rows(SETTINGS_SHEET) if "value" in row.values}
        total_budget = values.pop("total_budget", None)
        table = self.tables.get(SETTINGS_SHEET.name)
        for setting in SETTINGS:
            if setting.key not in values and setting.key != "total_budget":
                self.findings.default(f"{setting.label} not given: {show_default(setting)} used", table.sheet if table else None)
        settings = Settings(**values)
        self._check_stage_order(settings)
        if SETTINGS_SHEET.name not in self.tables:
            self.findings.warn("no Settings sheet: the default settings are used")
        try:
            settings = replace(settings, first_quarter=normalise_quarter(settings, settings.first_quarter))
        except ValueError as error:
            row = next(row for row in self._rows(SETTINGS_SHEET) if row.values["key"] == "first_quarter")
            self._error(SETTINGS_SHEET, row, "value", f"First quarter: {error}")
            settings = replace(settings, fiscal_year_start=1)  # to read on and report every other problem
        return settings, total_budget

    def _check_stage_order(self, settings: Settings) -> None:
        """Each stage of the Journey stage order named once (case and spacing aside)."""
        seen: dict[str, str] = {}
        for stage in settings.journey_stages:
            key = stage_key(stage)
            if key in seen:
                row = next(row for row in self._rows(SETTINGS_SHEET) if row.values["key"] == "journey_stages")
                self._error(SETTINGS_SHEET, row, "value", f'Journey stage order: "{stage}" is named twice (as "{seen[key]}" before); '
                                                           "name each stage once")
            seen.setdefault(key, stage)

    def _normalise_quarters(self, settings: Settings) -> None:
        """Every quarter read, in the settings' calendar's spelling (2027Q2 becomes FY28 Q1 with April years)."""
        for spec, key in ((BUDGET, "quarter"), (EXPERIENCES, "earliest_start"), (IN_FLIGHT, "start_quarter")):
            for row in self._rows(spec):
                if key not in row.values:
                    continue
                try:
                    row.values[key] = normalise_quarter(settings, row.values[key])
                except ValueError as error:
                    self._error(spec, row, key, str(error))
                    del row.values[key]
                    row.fail(key)
        table = self.tables.get(TEAMS.name)
        if table is None:
            return
        renamed: dict[str, str] = {}
        for key, text in list(table.headers.items()):
            if key.startswith("capacity:"):
                try:
                    renamed[key] = "capacity:" + normalise_quarter(settings, key.split(":", 1)[1])
                except ValueError as error:
                    self.findings.error(str(error), table.sheet, table.header_row, text)
                    renamed[key] = key + ":unread"
        table.headers = {renamed.get(key, key): text for key, text in table.headers.items() if not renamed.get(key, "").endswith(":unread")}
        for row in table.rows:
            row.values = {renamed.get(key, key): value for key, value in row.values.items()}

    # -- teams and budget -----------------------------------------------------------------

    def _teams(self, labels: list[str]) -> dict[str, Team]:
        """Team by case-folded name, with a capacity for every quarter of the horizon."""
        teams: dict[str, Team] = {}
        first_row: dict[str, int] = {}
        table = self.tables.get(TEAMS.name)
        quarters = [key.split(":", 1)[1] for key in (table.headers if table else {}) if key.startswith("capacity:")]
        outside = [label for label in quarters if label not in labels]
        if outside and table is not None:
            self._error(TEAMS, table.header_row, None,
                        f"quarter columns {', '.join(outside)} are outside the horizon {labels[0]}..{labels[-1]} (see Settings)")
        for row in self._rows(TEAMS):
            name = row.values.get("team")
            if name is None:
                continue
            if name.casefold() in teams:
                self._error(TEAMS, row, "team", f'team "{name}" appears twice: rows {first_row[name.casefold()]} and {row.number}')
                continue
            teams[name.casefold()] = Team(name, self._capacity(row, labels))
            first_row[name.casefold()] = row.number
        return teams

    def _capacity(self, row: Row, labels: list[str]) -> tuple[float, ...]:
        """A team's capacity per quarter: its quarter's column if filled, else Capacity per quarter."""
        capacity: list[float] = []
        table = self.tables[TEAMS.name]
        for label in labels:
            value = row.values.get(f"capacity:{label}", row.values.get("capacity"))
            if value is None:
                # A bad cell was reported already; only a missing number is new.
                if not {f"capacity:{label}", "capacity"} & row.failed:
                    self._error(TEAMS, row, "capacity", f"no capacity for {label}; fill Capacity per quarter or a {label} column")
                break
            key = f"capacity:{label}"
            if table is not None and key in table.headers and key not in row.values and key not in row.failed:
                self.findings.default(f"blank: Capacity per quarter used, {value:,g}", table.sheet, row.number, table.headers[key])
            capacity.append(value)
        return tuple(capacity)

    def _budget(self, labels: list[str], total_budget: float | None) -> tuple[float, ...]:
        table = self.tables.get(BUDGET.name)
        if table is None:
            if BUDGET.name in self.tables:
                return ()
            if total_budget is None:
                self.findings.error("sheet Budget is missing, and Settings give no Total budget")
                return ()
            # Only a total: each quarter may spend up to all of it; the total caps the horizon.
            self.findings.default(f"no sheet Budget: each quarter may spend up to the Total budget (Settings), "
                                  f"{total_budget:,.0f}; the total caps the horizon")
            return (total_budget,) * len(labels)
        # A row whose quarter was unreadable keeps its place, so the rows after it are not reported too.
        rows = [row for row in table.rows if "quarter" in row.values or "quarter" in row.failed]
        found = [row.values.get("quarter") for row in rows]
        for row, expected in zip(rows, labels):
            if row.values.get("quarter", expected) != expected:
                self._error(BUDGET, row, "quarter", f'"{row.values["quarter"]}" is not the next quarter of the horizon; expected {expected}')
                break
        else:
            if len(found) != len(labels) and len(found) == len(table.rows):
                span = f"{labels[0]}..{labels[-1]}"
                self._error(BUDGET, None, "quarter", f"has {len(found)} quarters; the horizon (Settings) has {len(labels)}: {span}")
        return tuple(row.values.get("budget", 0.0) for row in rows)

    # -- experiences and options ----------------------------------------------------------

    def _experiences(self, settings: Settings, labels: list[str], teams: dict[str, Team]) -> tuple[Experience, ...]:
        if not self._usable(EXPERIENCES):
            return ()
        rows = self._unique_experiences()
        options = self._options(rows, teams)
        self._check_experiences(rows, options, labels, teams)
        self._check_stages(rows, settings)
        self._check_overlap_groups(rows)
        self._check_references(rows)
        commitments = self._commitments(rows, options, settings)
        if self.findings.errors:
            return ()
        ids = {key: row.values["id"] for key, row in rows.items()}
        stages = {stage_key(stage): stage for stage in settings.journey_stages}
        experiences = self._build_experiences(rows, options, labels, teams, ids, stages)
        if not commitments:
            return experiences
        return tuple(replace(e, commitment=commitments[e.id.casefold()]) if e.id.casefold() in commitments else e for e in experiences)

    def _commitments(self, rows: dict[str, Row], options: dict[str, dict[str, dict[str, Any]]], settings: Settings) -> dict[str, Commitment]:
        """The In flight sheet: each experience under way with its committed option and start, and its actuals."""
        commitments: dict[str, Commitment] = {}
        first_row: dict[str, int] = {}
        for row in self._rows(IN_FLIGHT):
            key = self._experience_key(IN_FLIGHT, row, rows)
            if key is None:
                continue
            if key in first_row:
                self._error(IN_FLIGHT, row, "experience_id",
                            f'"{row.values["experience_id"]}" appears twice: rows {first_row[key]} and {row.number}')
                continue
            first_row[key] = row.number
            name = row.values.get("option") or _DEFAULT_OPTION
            option = options[key].get(name.casefold())
            if option is None:
                known = ", ".join(o["option"] for o in options[key].values()) or "none"
                self._error(IN_FLIGHT, row, "option", f'"{name}" is not an option of experience "{row.values["experience_id"]}" on sheet Options (its options: {known})')
                continue
            start = row.values.get("start_quarter")
            if start is None:
                continue  # reported when the cell was read
            index = quarter_index(settings, start)
            if index >= 0:
                self._error(IN_FLIGHT, row, "start_quarter",
                            f"{start} is not before the first quarter {quarter_label(settings, 0)} (see Settings): "
                            "work that has not started is not in flight; leave it off this sheet")
                continue
            commitments[key] = _commitment(row.values, option, index)
        return commitments

    def _unique_experiences(self) -> dict[str, Row]:
        rows: dict[str, Row] = {}
        for row in self._rows(EXPERIENCES):
            identifier = row.values.get("id")
            if identifier is None:
                continue
            key = id_key(identifier)
            if key in rows:
                self._error(EXPERIENCES, row, "id", f'id "{identifier}" is used twice: rows {rows[key].number} and {row.number} (ids ignore case)')
            else:
                rows[key] = row
        return rows

    def _options(self, experiences: dict[str, Row], teams: dict[str, Team]) -> dict[str, dict[str, dict[str, Any]]]:
        """Options by experience key and case-folded option name, each with its shared attention."""
        options: dict[str, dict[str, dict[str, Any]]] = {key: {} for key in experiences}
        for row in self._rows(OPTIONS):
            values = row.values
            # The common case inline (30,000 rows at scale): an id as its experience row spells it.
            key = values.get("experience_id", "").casefold()
            if key not in experiences:
                key = self._experience_key(OPTIONS, row, experiences)
                if key is None:
                    continue
            name = values.get("option") or _DEFAULT_OPTION
            folded, known = name.casefold(), options[key]
            if folded in known:
                self._error(OPTIONS, row, "option", f'option "{name}" of experience "{values["experience_id"]}" appears twice')
                continue
            values["option"], values["shared"] = name, []
            known[folded] = values
        for row in self._rows(SHARED_ATTENTION):
            key = self._experience_key(SHARED_ATTENTION, row, experiences)
            if key is not None:
                self._add_shared(row, options[key], experiences[key], teams)
        return options

    def _experience_key(self, spec: SheetSpec, row: Row, experiences: dict[str, Row]) -> str | None:
        identifier = row.values.get("experience_id")
        if identifier is None:
            return None
        key = id_key(identifier)
        if key not in experiences:
            self._error(spec, row, "experience_id", f'"{identifier}" is not an experience id on sheet Experiences')
            return None
        return key

    def _add_shared(self, row: Row, options: dict[str, dict[str, Any]], experience: Row, teams: dict[str, Team]) -> None:
        name = row.values.get("option") or _DEFAULT_OPTION
        option = options.get(name.casefold())
        team = row.values.get("team")
        if option is None:
            if self._usable(OPTIONS):
                known = ", ".join(o["option"] for o in options.values()) or "none"
                self._error(SHARED_ATTENTION, row, "option",
                            f'"{name}" is not an option of experience "{row.values["experience_id"]}" on sheet Options (its options: {known})')
        elif team is not None and team.casefold() not in teams:
            self._unknown_team(SHARED_ATTENTION, row, team, teams)
        elif team is not None and team.casefold() == str(experience.values.get("team", "")).casefold():
            self._error(SHARED_ATTENTION, row, "team", f'"{team}" owns the experience; put its team-weeks in the Attention column of Options')
        elif team is not None and any(t.casefold() == team.casefold() for t, _ in option["shared"]):
            self._error(SHARED_ATTENTION, row, "team", f'team "{team}" appears twice for option "{name}"')
        elif team is not None and "attention" in row.values:
            option["shared"].append((teams[team.casefold()].name, row.values["attention"]))

    def _unknown_team(self, spec: SheetSpec, row: Row, team: str, teams: dict[str, Team]) -> None:
        if not self._usable(TEAMS):
            return
        known = ", ".join(t.name for t in teams.values()) or "none"
        self._error(spec, row, "team", f'"{team}" is not a team on sheet Teams (teams: {known})')

    def _check_experiences(self, rows: dict[str, Row], options: dict[str, dict[str, dict[str, Any]]],
                           labels: list[str], teams: dict[str, Team]) -> None:
        for key, row in rows.items():
            values = row.values
            team = values.get("team")
            if team is not None and team.casefold() not in teams:
                self._unknown_team(EXPERIENCES, row, team, teams)
            base = values.get("uplift_base")
            low, high = values.get("uplift_low", base), values.get("uplift_high", base)
            if None not in (low, base, high) and not low <= base <= high:
                self._error(EXPERIENCES, row, "uplift_base", f"uplift low {low:g}, base {base:g}, high {high:g}: expected low <= base <= high")
            start = values.get("earliest_start")
            if start is not None and start not in labels:
                self._error(EXPERIENCES, row, "earliest_start", f"{start} is outside the horizon {labels[0]}..{labels[-1]} (see Settings)")
            if not options.get(key) and self._usable(OPTIONS):
                self._error(EXPERIENCES, row, "id", f'experience "{values["id"]}" has no funding option on sheet Options')

    def _check_stages(self, rows: dict[str, Row], settings: Settings) -> None:
        """With a Journey stage order in Settings, every experience's stage is one of it: a stage
        spelt otherwise would be listed after all the others, out of the journey."""
        if not settings.journey_stages:
            return
        stages = {stage_key(stage) for stage in settings.journey_stages}
        order = ", ".join(settings.journey_stages)
        for row in rows.values():
            stage = row.values.get("journey_stage")
            if stage and stage_key(stage) not in stages:
                self._error(EXPERIENCES, row, "journey_stage",
                            f'"{stage}" is not a stage of the Journey stage order (Settings): {order}; '
                            "use one of them or add it to the order")

    def _check_overlap_groups(self, rows: dict[str, Row]) -> None:
        """An overlap group is one set of customers at one stage: a member at another stage is most
        likely a typo in the group or the stage, so it is a warning (the group is still read)."""
        first: dict[str, Row] = {}
        for row in rows.values():
            group = row.values.get("overlap_group")
            if not group:
                continue
            leader = first.setdefault(group.casefold(), row)
            stage, leading = row.values.get("journey_stage", ""), leader.values.get("journey_stage", "")
            if leader is not row and stage_key(stage) != stage_key(leading):
                table = self.tables[EXPERIENCES.name]
                self.findings.warn(f'overlap group "{group}" is at stage "{leading}" (row {leader.number}) and here at "{stage}": '
                                   "its experiences should reach the same customers at the same stage",
                                   table.sheet, row.number, table.header("overlap_group"))

    def _check_references(self, rows: dict[str, Row]) -> None:
        for row in rows.values():
            for key in ("requires", "excludes"):
                for reference in row.values.get(key, ()):
                    if id_key(reference) not in rows:
                        self._error(EXPERIENCES, row, key, f'"{reference}" is not an experience id on sheet Experiences')
            if row.values.get("mandatory"):
                for reference in row.values.get("excludes", ()):
                    other = rows.get(id_key(reference))
                    if other is not None and other.values.get("mandatory"):
                        self._error(EXPERIENCES, row, "excludes",
                                    f'mandatory experience excludes "{reference}", which is mandatory too (row {other.number}); both cannot be funded')
        graph = {key: tuple(id_key(r) for r in row.values.get("requires", ()) if id_key(r) in rows)
                 for key, row in rows.items()}
        for cycle in find_cycles(graph):
            names = " -> ".join(str(rows[key].values["id"]) for key in cycle)
            numbers = ", ".join(str(rows[key].number) for key in cycle[:-1])
            self._error(EXPERIENCES, rows[cycle[0]], "requires", f"circular dependency: {names} (rows {numbers})")

    @staticmethod
    def _build_experiences(rows: dict[str, Row], options: dict[str, dict[str, dict[str, Any]]], labels: list[str],
                           teams: dict[str, Team], ids: dict[str, str], stages: dict[str, str]) -> tuple[Experience, ...]:
        """The experiences of checked rows; references, team names and stages as the workbook spells their targets
        (a stage as the Journey stage order spells it, when Settings give one: "Get  Help" is "get help").

        One loop with its look-ups made once (team spellings, quarter positions): it runs
        for every experience of a 50,000-row workbook.
        """
        owners: dict[str, str] = {}
        # A journey or an overlap group is one group however its rows spell it: the first spelling is kept.
        journeys: dict[str, str] = {}
        groups: dict[str, str] = {}
        starts = {label: index for index, label in enumerate(labels)}
        experiences: list[Experience] = []
        for key, row in rows.items():
            values = row.values
            get = values.get
            team = values["team"]
            owner = owners.get(team) or owners.setdefault(team, teams[team.casefold()].name)
            base = values["uplift_base"]
            requires, excludes = get("requires"), get("excludes")
            stage = get("journey_stage", "")
            experiences.append(Experience(
                id=values["id"], name=get("name", ""), description=get("description", ""),
                journey_stage=stages.get(stage_key(stage), stage) if stages else stage, channel=get("channel", ""),
                product_line=get("product_line", ""), layer=values["layer"], team=owner,
                reach_per_quarter=values["reach_per_quarter"], outcome=get("outcome", ""),
                value_per_outcome=values["value_per_outcome"],
                uplift_low=get("uplift_low", base), uplift_base=base, uplift_high=get("uplift_high", base),
                options=tuple([_funding_option(option, owner) for option in options[key].values()]),
                mandatory=get("mandatory", False),
                requires=tuple([ids[id_key(r)] for r in requires]) if requires else (),
                excludes=tuple([ids[id_key(r)] for r in excludes]) if excludes else (),
                earliest_start=starts[values["earliest_start"]] if "earliest_start" in values else 0,
                owner=get("owner", ""), journey=_spelt(get("journey", ""), journeys),
                overlap_group=_spelt(get("overlap_group", ""), groups),
            ))
        return tuple(experiences)


def _spelt(name: str, spellings: dict[str, str]) -> str:
    return spellings.setdefault(name.casefold(), name) if name else name


def stage_key(stage: str) -> str:
    """A journey stage as compared: without case or extra spacing ("Get  Help" is "get help")."""
    return " ".join(stage.casefold().split())


def _commitment(values: dict[str, Any], option: dict[str, Any], start: int) -> Commitment:
    """An In flight row as a commitment; done work is live from the first quarter, with nothing left to pay unless stated."""
    status = values.get("status", "on track")
    remaining = values.get("remaining_one_off")
    if status == "done":
        # Delivered: take the start early enough for delivery to have ended before the horizon.
        start = min(start, -option.get("delivery_quarters", 1))
        remaining = 0.0 if remaining is None else remaining
    return Commitment(option["option"], start, remaining, values.get("spent_to_date", 0.0), status)


def _funding_option(values: dict[str, Any], owner: str) -> FundingOption:
    get, shared = values.get, values["shared"]
    return FundingOption(
        name=values["option"], one_off_cost=values["one_off_cost"], run_cost_per_quarter=get("run_cost_per_quarter", 0.0),
        attention=((owner, values["attention"]), *shared) if shared else ((owner, values["attention"]),),
        delivery_quarters=values["delivery_quarters"], uplift_share=get("uplift_share", 1.0),
    )

