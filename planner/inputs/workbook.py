"""Finance's input workbook: the format, the blank template, the writer and the reader.

This module owns the workbook format. One table of sheet and column specs (`SHEETS`,
`SETTINGS`) drives all four uses, so they cannot drift apart:

- `write_template(path)`: the blank workbook an analyst fills without reading docs;
- `write_portfolio(portfolio, path)`: a Portfolio in the same format;
- `read_workbook(path)` / `read_portfolio(path)`: read what finance really sends (headers
  in any case, spacing or unit, known aliases, title rows, totals rows, numbers stored as
  text, percentages, formulas) and report every problem in one pass, located by file,
  sheet, row and column as the user sees them;
- `format_reference()`: the per-sheet tables of docs/workbook.md.

Cell values are read with python-calamine (fast, and it returns formulas' cached values);
workbooks are written with openpyxl's write-only mode (fast enough for 50,000 experiences).
"""

from __future__ import annotations

import collections
import contextlib
import contextvars
import datetime
import difflib
import gc
import hashlib
import io
import itertools
import math
import operator
import os
import re
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.sax.saxutils import escape

import python_calamine

from planner.core.domain import (
    LAYERS,
    MONTHS,
    SOLVERS,
    START_MODES,
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
    tidy_quarter,
)
from planner.core.errors import InputError, Problem
from planner.inputs.workbook_file import (
    ExcelError,
    Inspection,
    Marker,
    ReadLimits,
    Uncalculated,
    check_used_range,
    column_letters,
    inspect_file,
)

if TYPE_CHECKING:
    from openpyxl import Workbook

# ---------------------------------------------------------------------------------------
# The format
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """One column of a sheet (or one row of the Settings sheet).

    `kind` says how a cell is read and written: text, id, ids (a list of ids), amount
    (a number >= 0), whole (a whole number >= `minimum`), fraction (0 to 1), yesno,
    choice (one of `choices`), quarter (a label like 2027Q1), positive (a number > 0).
    `unit` is shown in brackets in the header; "{currency}" becomes the settings' currency.
    """

    key: str
    label: str
    kind: str
    note: str
    unit: str = ""
    required: bool = False
    aliases: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    minimum: int = 0
    width: int = 0
    number_format: str = ""
    # What a blank cell (or a missing column) means, as `planner validate` lists it; "" for text,
    # where blank is simply no text.
    default: str = ""

    def header(self, currency: str) -> str:
        unit = self.unit.replace("{currency}", currency)
        return f"{self.label} ({unit})" if unit else self.label


@dataclass(frozen=True)
class SheetSpec:
    """One sheet: its name, the names finance also uses for it, and its columns.

    The first column identifies a row (an experience id, a team, a quarter...): a row whose
    first column is blank or says Total is not data.
    """

    name: str
    columns: tuple[Column, ...]
    note: str
    aliases: tuple[str, ...] = ()
    required: bool = True

    @property
    def id_column(self) -> Column:
        return self.columns[0]


_EXPERIENCE_ID_ALIASES = ("Experience ID", "Experience", "ID", "Key", "Experience key", "Ref")
_OPTION_ALIASES = ("Option name", "Funding option", "Level", "Tier", "Variant")
_ATTENTION_ALIASES = ("Team-weeks", "Team weeks", "Effort", "Weeks")
# Finance's many names for the running cost (headers are compared without case, spacing,
# punctuation or a unit in brackets: "Opex / qtr (EUR)" is "Opex per qtr").
_RUN_COST_ALIASES = (
    "Run cost", "Run costs", "Run cost per qtr", "Run costs per quarter", "Run cost p.q.", "Run cost pq", "Quarterly run cost",
    "Running cost", "Running costs", "Running cost per quarter", "Running costs per quarter", "Running costs per qtr",
    "Running cost per qtr", "Running costs p.q.", "Running cost p.q.", "Running costs pq", "Quarterly running cost",
    "Quarterly running costs", "Opex", "Opex per quarter", "Opex per qtr", "Opex p.q.", "Opex pq", "Opex quarterly",
    "Quarterly opex", "Opex per q", "Operating cost per quarter", "Operating costs per quarter", "Operating cost",
    "Operating costs", "Ongoing cost", "Ongoing costs", "Ongoing cost per quarter", "Ongoing costs per quarter",
    "Maintenance cost per quarter", "BAU cost per quarter",
)

EXPERIENCES = SheetSpec(
    name="Experiences",
    aliases=("Experience", "Portfolio", "Assets", "Experience portfolio"),
    note="One row per experience: the asset, who owns it, whom it reaches and what it is worth.",
    columns=(
        Column("id", "ID", "id", "Unique id of the experience (case does not matter), e.g. CX-101.",
               required=True, aliases=("Experience ID", "Key", "Experience key", "Ref", "Reference"), width=12),
        Column("name", "Name", "text", "Short name of the experience.", aliases=("Experience name", "Title"), width=34),
        Column("description", "Description", "text", "What changes for the customer (optional).",
               aliases=("Details", "Summary"), width=40),
        Column("journey_stage", "Journey stage", "text", "Stage of the customer journey: discover, choose, buy, use, get help, renew...",
               aliases=("Stage", "Customer journey stage", "Journey step"), width=16),
        Column("channel", "Channel", "text", "Channel: app, web, store, contact centre...", width=14),
        Column("product_line", "Product line", "text", "Product line the experience serves.",
               aliases=("Product", "Line of business"), width=18),
        Column("layer", "Layer", "choice", "frontstage (what customers see) or backstage (the enabling data, systems, processes).",
               required=True, aliases=("Front or back", "Front/back", "Frontstage or backstage", "Frontstage/backstage"), choices=LAYERS, width=12),
        Column("team", "Team", "team", "Owning team (a team on the Teams sheet); its attention is the Attention column of Options.",
               required=True, aliases=("Owning team", "Owner team", "Delivery team", "Team name"), width=18),
        Column("reach_per_quarter", "Reach per quarter", "amount", "Customers the experience touches in a quarter.",
               unit="customers", required=True,
               aliases=("Reach", "Customers reached per quarter", "Customers per quarter", "Quarterly reach", "Reach per qtr"), width=18),
        Column("outcome", "Outcome", "text", "The outcome it moves: conversion, retention, repeat purchase, contacts avoided...",
               aliases=("Outcome moved", "Metric", "KPI"), width=18),
        Column("value_per_outcome", "Value per outcome", "amount",
               "Value of one extra outcome: margin of a conversion, value of a retained customer, cost of a contact.",
               unit="{currency}", required=True, aliases=("Value", "Outcome value", "Unit value", "Value per unit"), width=18),
        Column("uplift_low", "Uplift low", "fraction", "Low estimate of the uplift: extra outcomes per reached customer, 0 to 1 (type 1.5% or 0.015). Blank: the base uplift.",
               unit="fraction", aliases=("Low uplift", "Uplift min", "Minimum uplift", "Pessimistic uplift"), width=12,
               default="the base uplift"),
        Column("uplift_base", "Uplift base", "fraction", "Base (most likely) uplift: extra outcomes per reached customer, 0 to 1 (type 1.5% or 0.015).",
               unit="fraction", required=True, aliases=("Uplift", "Base uplift", "Expected uplift", "Most likely uplift", "Uplift mid"), width=12),
        Column("uplift_high", "Uplift high", "fraction", "High estimate of the uplift, 0 to 1. Blank: the base uplift.",
               unit="fraction", aliases=("High uplift", "Uplift max", "Maximum uplift", "Optimistic uplift"), width=12,
               default="the base uplift"),
        Column("mandatory", "Mandatory", "yesno", "yes if it must be funded (regulatory or committed); blank means no.",
               unit="yes/no", aliases=("Must do", "Must have", "Committed", "Regulatory"), width=12, default="no"),
        Column("requires", "Requires", "ids", "Ids of experiences it depends on (e.g. its backstage enabler), comma or semicolon separated: it can only be funded, and start, once they are funded and delivered.",
               unit="ids", aliases=("Depends on", "Dependencies", "Prerequisites", "Needs", "Enabled by"), width=16),
        Column("excludes", "Excludes", "ids", "Ids of alternative experiences: at most one of them is funded.",
               unit="ids", aliases=("Alternatives", "Alternative to", "Mutually exclusive with", "Conflicts with"), width=16),
        Column("earliest_start", "Earliest start", "quarter", "First quarter it may start, like 2027Q3 (optional; blank means the first quarter).",
               unit="quarter", aliases=("Not before", "Start not before", "Earliest start quarter", "Earliest quarter"), width=14,
               default="the first quarter"),
        # Last, so the columns before them keep their letters in workbooks written before they existed.
        Column("owner", "Owner", "text", "The accountable executive (a person; the delivering team is Team). Listed, not planned on.",
               aliases=("Accountable executive", "Executive owner", "Business owner", "Accountable owner", "Exec owner",
                        "Executive sponsor", "Sponsor"), width=18),
        Column("journey", "Journey", "text", "The customer journey it belongs to (returns, onboarding...); Journey stage is the step in it.",
               aliases=("Customer journey", "Journey name"), width=16),
    ),
)

OPTIONS = SheetSpec(
    name="Options",
    aliases=("Funding options", "Option", "Funding", "Investment options"),
    note="One row per way of funding an experience (lean, standard, premium...); every experience needs at least one.",
    columns=(
        Column("experience_id", "Experience ID", "id", "Id of the experience on the Experiences sheet.",
               required=True, aliases=_EXPERIENCE_ID_ALIASES, width=14),
        Column("option", "Option", "text", "Name of the option: lean, standard, premium or any name, unique per experience. Blank: standard.",
               aliases=_OPTION_ALIASES, width=12, default="standard"),
        Column("one_off_cost", "One-off cost", "amount", "Cost to deliver, spread evenly over the delivery quarters.",
               unit="{currency}", required=True,
               aliases=("One off cost", "Oneoff cost", "Capex", "Cost", "Investment", "Build cost", "Upfront cost", "Delivery cost"), width=16),
        Column("run_cost_per_quarter", "Run cost per quarter", "amount", "Running cost each quarter after go-live. Blank: 0.",
               unit="{currency}", aliases=_RUN_COST_ALIASES, width=18, default="0"),
        Column("attention", "Attention", "amount", "Team-weeks of the owning team needed to deliver it, in total (other teams: sheet Shared attention).",
               unit="team-weeks", required=True, aliases=_ATTENTION_ALIASES, number_format="#,##0.0", width=14),
        Column("delivery_quarters", "Delivery", "whole", "Quarters from start to go-live, a whole number >= 1.",
               unit="quarters", required=True, minimum=1,
               aliases=("Delivery quarters", "Duration", "Delivery time", "Lead time", "Quarters to deliver", "Build time"), width=12),
        Column("uplift_share", "Uplift share", "fraction", "Share of the experience's full uplift this option achieves, 0 to 1. Blank: 1.",
               unit="fraction", aliases=("Share of uplift", "Share", "Uplift achieved", "Benefit share", "Share of benefit"), width=12,
               default="1"),
    ),
)

SHARED_ATTENTION = SheetSpec(
    name="Shared attention",
    aliases=("Shared", "Shared teams", "Other teams", "Extra attention", "Shared capacity"),
    note="Optional: team-weeks an option needs from teams other than the experience's owning team.",
    required=False,
    columns=(
        OPTIONS.columns[0],
        Column("option", "Option", "text", "Name of the option on the Options sheet. Blank: standard.", aliases=_OPTION_ALIASES, width=12,
               default="standard"),
        Column("team", "Team", "team", "The other team (a team on the Teams sheet).", required=True, aliases=("Team name", "Other team"), width=18),
        Column("attention", "Attention", "amount", "Team-weeks of that team needed to deliver the option, in total.",
               unit="team-weeks", required=True, aliases=_ATTENTION_ALIASES, number_format="#,##0.0", width=14),
    ),
)

TEAMS = SheetSpec(
    name="Teams",
    aliases=("Team", "Capacity", "Capacities", "Team capacity"),
    note="One row per team. Capacity: one number for every quarter, or one column per quarter headed by its label (2027Q1...), which overrides it.",
    columns=(
        Column("team", "Team", "text", "Name of the team.", required=True, aliases=("Team name", "Name"), width=20),
        Column("description", "Description", "text", "What the team does (optional).", aliases=("Details",), width=30),
        Column("capacity", "Capacity per quarter", "amount",
               "Team-weeks the team can give to change each quarter. Columns headed by a quarter (2027Q1...) override it for that quarter.",
               unit="team-weeks", aliases=("Capacity", "Team-weeks per quarter", "Weeks per quarter", "Quarterly capacity"),
               number_format="#,##0.0", width=22),
    ),
)

BUDGET = SheetSpec(
    name="Budget",
    aliases=("Budgets", "Money", "Budget per quarter"),
    note="One row per quarter of the horizon, in order. May be left out when Settings give a Total budget.",
    columns=(
        Column("quarter", "Quarter", "quarter", "Quarter label like 2027Q1; the horizon's quarters in order.",
               required=True, aliases=("Period",), width=12),
        Column("budget", "Budget", "amount", "Money available for change in the quarter.",
               unit="{currency}", required=True, aliases=("Amount", "Money", "Funding", "Available", "Budget per quarter"), width=18),
    ),
)

IN_FLIGHT_STATUSES: tuple[str, ...] = ("on track", "late", "done")

IN_FLIGHT = SheetSpec(
    name="In flight",
    aliases=("Actuals", "In-flight", "Inflight", "Under way", "Committed", "Work in progress"),
    note="Optional, from the second planning round on: one row per experience already under way, with actuals to the quarter just closed. "
         "Its option and start are committed; the plan pays only what is left.",
    required=False,
    columns=(
        Column("experience_id", "Experience ID", "id", "Id of the experience on the Experiences sheet.",
               required=True, aliases=_EXPERIENCE_ID_ALIASES, width=14),
        Column("option", "Option", "text", "The option it is being delivered at (on the Options sheet). Blank: standard.",
               aliases=_OPTION_ALIASES, width=12, default="standard"),
        Column("start_quarter", "Start quarter", "quarter", "Quarter the work started, before the horizon's first quarter (Settings).",
               required=True, aliases=("Start", "Started", "Started in", "Start qtr"), width=14),
        Column("spent_to_date", "Spent to date", "amount", "One-off cost paid so far (sunk: reported, never counted as a saving). Blank: 0.",
               unit="{currency}", aliases=("Spent", "Spend to date", "Actual spend to date", "Actuals to date", "Actual to date"), width=16,
               default="0"),
        Column("remaining_one_off", "Remaining one-off cost", "amount",
               "Revised one-off cost still to pay, spread over the delivery quarters left. Blank: the plan's even spread.",
               unit="{currency}", aliases=("Remaining cost", "Cost to complete", "Estimate to complete", "ETC", "Remaining one off cost"), width=20,
               default="the plan's even spread"),
        Column("status", "Status", "choice", "on track, late or done (done: live from the first quarter). Blank: on track.",
               choices=IN_FLIGHT_STATUSES, aliases=("Delivery status", "RAG", "State"), width=12, default="on track"),
    ),
)

SETTINGS_SHEET = SheetSpec(
    name="Settings",
    aliases=("Setting", "Parameters", "Assumptions", "Config"),
    note="One row per setting; a setting left out or blank keeps its default.",
    required=False,
    columns=(
        Column("setting", "Setting", "text", "Name of the setting.", required=True, aliases=("Parameter", "Name", "Assumption"), width=30),
        # Not required cell by cell: a blank value keeps the setting's default.
        Column("value", "Value", "raw", "Its value.", width=14),
        Column("notes", "Notes", "text", "What the setting means.", aliases=("Note", "Meaning", "Comment"), width=70),
    ),
)

_DEFAULTS = Settings()
# Rows of the Settings sheet; `key` is the field of Settings (or Portfolio.total_budget).
SETTINGS: tuple[Column, ...] = (
    Column("currency", "Currency", "text", "Currency of every amount, e.g. EUR.", width=0),
    Column("first_quarter", "First quarter", "quarter", "First quarter of the planning horizon, like 2027Q1 (or FY28 Q1 in a fiscal calendar).",
           aliases=("First quarter of the horizon", "Planning starts", "Horizon start")),
    Column("fiscal_year_start", "Fiscal year starts", "month",
           "Month the finance year starts, 1-12 or its name: 1 gives calendar quarters (2027Q1); 4 (April) gives FY28 Q1 for April-June 2027, "
           "the year named after the calendar year it ends in.",
           aliases=("Fiscal year start", "Financial year starts", "Financial year start", "Year starts", "FY starts")),
    Column("horizon_quarters", "Horizon", "whole", "Number of quarters planned.", unit="quarters", minimum=1,
           aliases=("Horizon quarters", "Planning horizon", "Number of quarters")),
    Column("annual_discount_rate", "Annual discount rate", "fraction", "Discount rate per year, e.g. 8% or 0.08.",
           aliases=("Discount rate", "WACC", "Cost of capital")),
    Column("ramp_quarters", "Ramp", "whole", "Quarters benefits take to reach full rate after go-live (0: at once).",
           unit="quarters", aliases=("Ramp quarters", "Ramp up", "Ramp-up quarters")),
    Column("tail_quarters", "Tail quarters", "whole", "Quarters after the horizon whose benefits and run costs still count.",
           aliases=("Tail", "Benefit tail", "Quarters after horizon")),
    Column("start_quarters", "Start quarters", "choice", "free: the optimiser picks each start quarter; fixed: each starts at its earliest start.",
           choices=START_MODES, aliases=("Start mode", "Start quarter mode")),
    Column("solver", "Solver", "choice", "Solver: cbc or highs.", choices=SOLVERS, aliases=("MIP solver",)),
    Column("time_limit_seconds", "Time limit", "positive", "Longest the solver may run.", unit="seconds",
           aliases=("Time limit seconds", "Solver time limit")),
    Column("gap", "Gap", "fraction", "Relative gap at which a plan counts as optimal, e.g. 0.1% or 0.001.",
           aliases=("MIP gap", "Optimality gap", "Relative gap")),
    Column("total_budget", "Total budget", "amount", "Optional cap on spend over the whole horizon; blank for none.",
           unit="{currency}", aliases=("Budget total", "Overall budget")),
)

SHEETS: tuple[SheetSpec, ...] = (EXPERIENCES, OPTIONS, SHARED_ATTENTION, TEAMS, BUDGET, IN_FLIGHT, SETTINGS_SHEET)

_CHOICE_ALIASES = {
    "front": "frontstage", "frontoffice": "frontstage", "back": "backstage", "backoffice": "backstage",
}
_YES = frozenset({"yes", "y", "true", "1", "x", "ja", "oui"})
_NO = frozenset({"no", "n", "false", "0", ""})
# The spellings the template's list offers, read without a closer look.
_YES_NO_WORDS = {"yes": True, "no": False}
_TOTALS = frozenset({"total", "totals", "sum", "grandtotal", "subtotal"})
_TOTALS_INITIALS = frozenset("TtSsGg")
_DEFAULT_OPTION = "standard"


def _squash(text: str) -> str:
    """Header words without case, spacing or punctuation: 'Reach / quarter' -> 'reachperquarter'."""
    text = str(text).casefold().replace("/", " per ").replace("&", " and ")
    return re.sub(r"[^0-9a-z]+", "", text)


_BRACKETS = re.compile(r"[(\[][^)\]]*[)\]]")


def _lookup_table(columns: Iterable[Column]) -> dict[str, Column]:
    """Squashed label and aliases -> column; a name meaning two columns is a bug in the format."""
    table: dict[str, Column] = {}
    for column in columns:
        for name in (column.label, column.header(""), *column.aliases):
            key = _squash(name)
            if table.get(key, column) is not column:
                raise AssertionError(f'"{name}" means both {table[key].label} and {column.label}')
            table[key] = column
    return table


_COLUMN_LOOKUP: dict[str, dict[str, Column]] = {spec.name: _lookup_table(spec.columns) for spec in SHEETS}
_SETTING_LOOKUP = _lookup_table(SETTINGS)
_SHEET_LOOKUP: dict[str, SheetSpec] = {_squash(name): spec for spec in SHEETS for name in (spec.name, *spec.aliases)}


def _match(lookup: dict[str, Column], text: Any) -> Column | None:
    """The column a header means: as written, then without units in brackets."""
    text = str(text)
    return lookup.get(_squash(text)) or lookup.get(_squash(_BRACKETS.sub(" ", text)))


def _header_quarter(text: Any) -> str | None:
    """A per-quarter capacity header such as '2027Q1', 'FY28 Q1' or '2027 Q1 (team-weeks)', as a label."""
    try:
        return tidy_quarter(_BRACKETS.sub(" ", str(text)))
    except ValueError:
        return None


def _label(year: int, quarter: int) -> str:
    return f"{year}Q{quarter}"


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
    strings = _SharedStrings()
    bodies: list[tuple[Any, Iterable[str]]] = []
    for spec, columns, rows in _tables(portfolio, in_flight_sheet):
        sheet = _write_header(workbook, spec.name, columns, currency)
        styles = [_style_id(sheet, column) for column in columns]
        bodies.append((sheet, _rows_xml(rows, itertools.repeat(styles), strings)))
    bodies.append(_write_settings(workbook, portfolio, strings))
    _save_atomically(workbook, bodies, strings, Path(path))


def read_portfolio(path: str | Path) -> Portfolio:
    """Read and validate a workbook; raise InputError listing every problem found."""
    portfolio, errors, warnings = read_workbook(path)
    if errors or portfolio is None:
        raise InputError(errors, warnings)
    return portfolio


@dataclass(frozen=True)
class Examination:
    """Everything reading a workbook found: the portfolio (None if there are errors), the errors, the
    warnings (values dropped or cleaned), and every value a default stands in for (`defaults`)."""

    portfolio: Portfolio | None
    errors: list[Problem]
    warnings: list[Problem]
    defaults: list[Problem]


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
    findings = _Findings(path.name)
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
    with _collector_paused(), _currency_of_this_workbook():
        portfolio = _Reader(book, findings, inspection, limits).portfolio()
    if portfolio is None or findings.errors:
        return findings.examination(None)
    return findings.examination(replace(portfolio, source=str(path), source_sha256=hashlib.sha256(data).hexdigest()))


def _refused(inspection: Inspection, findings: _Findings) -> bool:
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
    token = _WORKBOOK_CURRENCY.set(Settings().currency)
    try:
        yield
    finally:
        _WORKBOOK_CURRENCY.reset(token)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause Python's cycle collector while reading.

    Reading builds hundreds of thousands of small objects and no cycles; the collector would
    rescan them all again and again (a third of the time of a 50,000-experience read).
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def example_portfolio() -> Portfolio:
    """The template's two example experiences: a backstage enabler and the frontstage experience on it."""
    teams = (Team("Digital", (120.0,) * 8), Team("Data", (40.0,) * 8))
    enabler = Experience(
        id="CX-001", name="Returns data platform", description="One record of every return across channels",
        journey_stage="get help", channel="all", product_line="Retail", layer="backstage", team="Data",
        reach_per_quarter=0.0, outcome="contacts avoided", value_per_outcome=0.0,
        uplift_low=0.0, uplift_base=0.0, uplift_high=0.0, mandatory=False,
        options=(FundingOption("standard", 250_000.0, 15_000.0, (("Data", 30.0), ("Digital", 6.0)), 2, 1.0),),
    )
    frontstage = Experience(
        id="CX-002", name="One-click returns in the app", description="Start and track a return in the app",
        journey_stage="get help", channel="app", product_line="Retail", layer="frontstage", team="Digital",
        reach_per_quarter=150_000.0, outcome="contacts avoided", value_per_outcome=6.5,
        uplift_low=0.05, uplift_base=0.08, uplift_high=0.12, requires=("CX-001",), earliest_start=2,
        options=(FundingOption("standard", 400_000.0, 20_000.0, (("Digital", 48.0), ("Data", 4.0)), 2, 0.9),),
    )
    return Portfolio(experiences=(enabler, frontstage), teams=teams, budget=(500_000.0,) * 8)


def format_reference() -> str:
    """The format as Markdown tables, one per sheet (docs/workbook.md embeds this text)."""
    parts: list[str] = []
    for spec in SHEETS:
        required = "required" if spec.required else "optional"
        parts.append(f"### {spec.name} ({required} sheet)\n\n{spec.note}")
        if spec.aliases:
            parts[-1] += f" Also accepted as sheet name: {', '.join(spec.aliases)}."
        parts.append(_reference_table(spec.columns, "Column"))
        if spec is SETTINGS_SHEET:
            parts.append("Its rows:\n\n" + _reference_table(SETTINGS, "Setting", defaults=True))
    return "\n\n".join(parts) + "\n"


def _reference_table(columns: Iterable[Column], title: str, defaults: bool = False) -> str:
    head = f"| {title} | Unit | {'Default' if defaults else 'Required?'} | Meaning | Aliases accepted |"
    lines = [head, "| --- | --- | --- | --- | --- |"]
    for column in columns:
        third = _show_default(getattr(_DEFAULTS, column.key, None)) if defaults else ("yes" if column.required else "no")
        unit = column.unit or {"fraction": "fraction", "whole": "whole number", "quarter": "quarter", "month": "month"}.get(column.kind, "")
        meaning = column.note.replace("|", "/")
        lines.append(f"| {column.label} | {unit} | {third} | {meaning} | {', '.join(column.aliases)} |")
    return "\n".join(lines)


def _show_default(value: Any) -> str:
    return "blank" if value is None else str(value)


# ---------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------

_HEADER_FILL_COLOUR = "DDEBF7"
# Control characters XML 1.0 cannot carry (openpyxl's ILLEGAL_CHARACTERS_RE): dropped from texts.
_ILLEGAL_CHARACTERS = re.compile(r"[\000-\010\013\014\016-\037]")
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
    sheet.append(header)
    return sheet


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


def _write_settings(workbook: Workbook, portfolio: Portfolio, strings: _SharedStrings) -> tuple[Any, Iterable[str]]:
    """The Settings sheet: one row per setting, each value cell with its own format and validation."""
    currency = portfolio.settings.currency
    sheet = _write_header(workbook, SETTINGS_SHEET.name, SETTINGS_SHEET.columns, currency)
    values = {**{f.name: getattr(portfolio.settings, f.name) for f in fields(Settings)}, "total_budget": portfolio.total_budget}
    rows = [[setting.header(currency), values[setting.key], setting.note] for setting in SETTINGS]
    styles = [[0, _style_id(sheet, setting), 0] for setting in SETTINGS]
    for number, setting in enumerate(SETTINGS, start=2):
        if setting.kind != "quarter":
            _add_validation(sheet, setting, f"B{number}")
    return sheet, _rows_xml(rows, styles, strings)


def _rows_xml(rows: list[list[Any]], row_styles: Iterable[list[int]], strings: _SharedStrings) -> Iterator[str]:
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


def _cell_xml(reference: str, value: Any, style: int, strings: _SharedStrings) -> str:
    if isinstance(value, str):
        return f'<c r="{reference}" t="s"><v>{strings.index(value)}</v></c>'
    if isinstance(value, bool):
        return f'<c r="{reference}" t="b"><v>{int(value)}</v></c>'
    number = str(value) if isinstance(value, int) else repr(float(value))
    return f'<c r="{reference}" s="{style}"><v>{number}</v></c>'


class _SharedStrings:
    """The workbook's table of texts: a text cell holds the index of its text, as Excel writes them.

    Each distinct text is stored once; the sheets' XML shrinks by a third and reads faster.
    """

    def __init__(self) -> None:
        self.indexes: dict[str, int] = {}
        self.references = 0

    def index(self, text: str) -> int:
        self.references += 1
        return self.indexes.setdefault(text, len(self.indexes))

    def xml(self) -> bytes:
        items = "".join(f'<si><t xml:space="preserve">{escape(_ILLEGAL_CHARACTERS.sub("", text))}</t></si>' for text in self.indexes)
        return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{_MAIN_NAMESPACE}" '
                f'count="{self.references}" uniqueCount="{len(self.indexes)}">{items}</sst>').encode("utf-8")


_MAIN_NAMESPACE = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
# openpyxl's write-only mode writes texts inline and declares no shared strings part: these add it.
_SHARED_STRINGS_PART = "xl/sharedStrings.xml"
_SHARED_STRINGS_DECLARATIONS = {
    "[Content_Types].xml": (b"</Types>", b'<Override PartName="/xl/sharedStrings.xml" '
                            b'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'),
    "xl/_rels/workbook.xml.rels": (b"</Relationships>", b'<Relationship Id="rIdSharedStrings" Target="sharedStrings.xml" '
                                   b'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"/>'),
}


def _save_atomically(workbook: Workbook, bodies: list[tuple[Any, Iterable[str]]], strings: _SharedStrings, path: Path) -> None:
    """Save the laid-out sheets with their rows beside `path`, then rename: no reader sees half a file."""
    temporaries: list[Path] = []
    try:
        shell = _temporary_path(path, temporaries)
        final = _temporary_path(path, temporaries)
        workbook.save(shell)
        rows = {sheet.path.lstrip("/"): body for sheet, body in bodies}
        with zipfile.ZipFile(shell) as source, zipfile.ZipFile(final, "w", zipfile.ZIP_DEFLATED) as target:
            for entry in source.infolist():
                data = source.read(entry)
                if entry.filename in _SHARED_STRINGS_DECLARATIONS:
                    end, declaration = _SHARED_STRINGS_DECLARATIONS[entry.filename]
                    data = data.replace(end, declaration + end)
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
            target.writestr(_SHARED_STRINGS_PART, strings.xml())
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


# ---------------------------------------------------------------------------------------
# Reading: cells
# ---------------------------------------------------------------------------------------


class _CellError(ValueError):
    """A cell's value does not fit its column; the message says what was found and what is expected."""


# No portfolio has amounts (money, customers, team-weeks) above 10^15, and a solver loses
# precision long before; such a number is a typo or a stand-in for "unlimited".
_LARGEST = 1e15
# Whole numbers are counts of quarters (horizon, delivery, ramp, tail): 100 years is plenty,
# and a typo of 10^9 would otherwise have the planner build a label for every quarter.
_LARGEST_WHOLE = 400


_NUMBER_JUNK = re.compile(r"[\s\u00a0\u202f']")
# A currency written with an amount: a sign, or a three-letter code before or after the number.
_CURRENCY_SIGNS: dict[str, tuple[str, ...]] = {
    "€": ("EUR",), "£": ("GBP",), "¥": ("JPY", "CNY"), "₹": ("INR",), "₣": ("CHF",), "₽": ("RUB",), "₩": ("KRW",),
    "$": ("USD", "AUD", "CAD", "NZD", "SGD", "HKD", "MXN"),
}
_CURRENCY_MARK = re.compile(r"[€£¥₹₣₽₩$]|(?<![A-Za-z])[A-Za-z]{3}(?![A-Za-z])")
# The workbook's currency (Settings), while a workbook is read: an amount in another is refused.
_WORKBOOK_CURRENCY: contextvars.ContextVar[str] = contextvars.ContextVar("workbook_currency", default="")
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_GROUPED_NUMBER = re.compile(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")


def _show(raw: Any) -> str:
    """A cell value as a message quotes it."""
    if isinstance(raw, str):
        return f'"{raw}"'
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw)


# Control characters: invisible in Excel, dropped by XML (so by report.xlsx), passed into HTML and CSV.
# The reader removes them from every text, the same way everywhere, and `validate` lists where.
_CONTROL_CHARACTERS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# The most characters an Excel cell holds: a longer text could not be written into report.xlsx.
_LONGEST_TEXT = 32_767


def _text(raw: Any, column: Column) -> str:
    if raw.__class__ is str:
        return _CONTROL_CHARACTERS.sub("", raw).strip() if _CONTROL_CHARACTERS.search(raw) else raw.strip()
    # Excel stores a typed 101 as the number 101.0; an id or name means the text "101".
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw).strip()


def _number(raw: Any, percent_allowed: bool = False) -> float:
    if raw.__class__ is float and raw - raw == 0:  # finite: inf - inf and nan - nan are nan
        return raw
    if isinstance(raw, float) or (isinstance(raw, int) and not isinstance(raw, bool)):
        if math.isfinite(raw):
            return float(raw)
    elif isinstance(raw, str):
        text = _NUMBER_JUNK.sub("", raw)
        if _CURRENCY_MARK.search(text):
            text = _without_currency(raw, text)
        percent = text.endswith("%")
        text = text[:-1] if percent else text
        if _GROUPED_NUMBER.fullmatch(text):
            text = text.replace(",", "")
        if _PLAIN_NUMBER.fullmatch(text):
            if percent and not percent_allowed:
                raise _CellError(f"{_show(raw)} is a percentage; expected a number")
            return float(text) / 100 if percent else float(text)
    elif isinstance(raw, (datetime.date, datetime.time, datetime.timedelta)):
        raise _CellError(f"{raw} is a date or time; expected a number")
    raise _CellError(f"{_show(raw)} is not a number")


def _without_currency(raw: str, text: str) -> str:
    """The number's text without its currency; _CellError if that currency is not the workbook's.

    "$1,000" in a EUR workbook is not 1,000 euros: converting is finance's call, not the reader's.
    """
    marks = _CURRENCY_MARK.findall(text)
    bare = _CURRENCY_MARK.sub("", text)
    if not (_PLAIN_NUMBER.fullmatch(bare.removesuffix("%")) or _GROUPED_NUMBER.fullmatch(bare.removesuffix("%"))):
        return text  # not a number with a currency: reported as not a number
    currency = _WORKBOOK_CURRENCY.get().upper()
    for mark in marks:
        codes = _CURRENCY_SIGNS.get(mark, (mark.upper(),))
        if currency and currency not in codes and _CURRENCY_SIGNS.get(currency, ()) != codes:
            named = f"{codes[0]} ({mark})" if mark in _CURRENCY_SIGNS else mark.upper()
            raise _CellError(f"{_show(raw)} is an amount in {named}, not in the workbook's currency {currency} (Settings); "
                             f"convert it to {currency} and type the number")
    return bare


def _amount(raw: Any, column: Column) -> float:
    value = _number(raw)
    if value < 0:
        raise _CellError(f"{_show(raw)} is negative; expected a number >= 0")
    return _not_huge(value, raw)


def _positive(raw: Any, column: Column) -> float:
    value = _number(raw)
    if value <= 0:
        raise _CellError(f"{_show(raw)} is not above 0; expected a positive number")
    return _not_huge(value, raw)


def _not_huge(value: float, raw: Any) -> float:
    if value > _LARGEST:
        raise _CellError(f"{_show(raw)} is too large; expected at most {_LARGEST:,.0f} (10^15)")
    return value


def _whole(raw: Any, column: Column) -> int:
    value = _number(raw)
    if not value.is_integer() or value < column.minimum:
        raise _CellError(f"{_show(raw)} is not a whole number >= {column.minimum}")
    if value > _LARGEST_WHOLE:
        raise _CellError(f"{_show(raw)} quarters is too many; expected a whole number from {column.minimum} to {_LARGEST_WHOLE}")
    return int(value)


def _fraction(raw: Any, column: Column) -> float:
    value = _number(raw, percent_allowed=True)
    if 0 <= value <= 1:
        return value
    name = column.label.casefold()
    if value > 1:
        # A typed 15 may mean 15% or an error; guessing would silently scale the benefit.
        shown = f"{value:g}"
        raise _CellError(f"{name} {shown} is not between 0 and 1; type {shown}% or {value / 100:g}")
    raise _CellError(f"{name} {value:g} is not between 0 and 1")


def _yes_no(raw: Any, column: Column) -> bool:
    if isinstance(raw, bool):
        return raw
    word = _text(raw, column).casefold()
    if word in _YES:
        return True
    if word in _NO:
        return False
    raise _CellError(f"{_show(raw)} is not yes or no")


def _ids(raw: Any, column: Column) -> tuple[str, ...]:
    return tuple(part.strip() for part in re.split(r"[,;\n]", _text(raw, column)) if part.strip())


def _choice(raw: Any, column: Column) -> str:
    if raw in column.choices:
        return raw
    word = _squash(_text(raw, column))
    word = _CHOICE_ALIASES.get(word, word) if column.choices == LAYERS else word
    for choice in column.choices:
        if _squash(choice) == word:
            return choice
    raise _CellError(f"{_show(raw)} is not a {column.label.casefold()}; expected {' or '.join(column.choices)}")


def _quarter(raw: Any, column: Column) -> str:
    """A quarter label in its standard spelling; which calendar it belongs to is checked once Settings are read."""
    if isinstance(raw, (datetime.date, datetime.datetime)):
        return _label(raw.year, (raw.month - 1) // 3 + 1)
    try:
        return tidy_quarter(_text(raw, column))
    except ValueError:
        raise _CellError(f"{_show(raw)} is not a quarter like 2027Q1 or FY28 Q1") from None


def _month(raw: Any, column: Column) -> int:
    """A month as its number 1-12 or its name ('April', 'apr')."""
    if isinstance(raw, str) and raw.strip()[:3].casefold() in [m[:3].casefold() for m in MONTHS] and not raw.strip().isdigit():
        return [m[:3].casefold() for m in MONTHS].index(raw.strip()[:3].casefold()) + 1
    try:
        value = _number(raw)
    except _CellError:
        raise _CellError(f"{_show(raw)} is not a month; expected 1 to 12 or a month's name") from None
    if not value.is_integer() or not 1 <= value <= 12:
        raise _CellError(f"{_show(raw)} is not a month; expected 1 to 12 or a month's name")
    return int(value)


_PARSERS: dict[str, Callable[[Any, Column], Any]] = {
    "raw": lambda raw, column: raw, "text": _text, "id": _text, "team": _text, "ids": _ids, "amount": _amount, "positive": _positive,
    "whole": _whole, "fraction": _fraction, "yesno": _yes_no, "choice": _choice, "quarter": _quarter,
    "month": _month,
}


def _parse(raw: Any, column: Column) -> Any:
    """A filled cell's value as its column's kind; _CellError if it does not fit."""
    if raw.__class__ is ExcelError:
        raise _CellError(f"{raw} is an Excel error value (a formula that failed); expected {_expected(column)}: "
                         "fix the formula or type the value")
    if raw.__class__ is str and len(raw) > _LONGEST_TEXT:
        raise _CellError(f"is a text of {len(raw):,} characters; at most {_LONGEST_TEXT:,} fit in an Excel cell: shorten it")
    if raw.__class__ is Uncalculated:
        raise _CellError(f"formula {raw} has no calculated value (the file was saved by a program that does not calculate "
                         "formulas); open it in Excel or LibreOffice and save it, or type the value")
    return _PARSERS[column.kind](raw, column)


def _marker_problem(marker: Marker) -> str:
    if marker.__class__ is ExcelError:
        return f"{marker}, an Excel error value (a formula that failed): fix the formula or type the header"
    return f"formula {marker} with no calculated value: open the file in Excel or LibreOffice and save it, or type the header"


def _key(identifier: str) -> str:
    """domain.normalise_id for an id already read (stripped text): the cheap half of it."""
    return identifier.casefold()


def _blank(raw: Any) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _is_numeric(raw: Any) -> bool:
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return True
    try:
        _number(raw)
    except _CellError:
        return False
    return True


def _mark(rows: list[list[Any]], marks: dict[tuple[int, int], Marker]) -> None:
    """Put each cell calamine misreads (an error value, an uncalculated formula) back in its place."""
    for (row, column), marker in marks.items():
        if row < len(rows) and column < len(rows[row]):
            rows[row][column] = marker


# ---------------------------------------------------------------------------------------
# Reading: sheets and tables
# ---------------------------------------------------------------------------------------


@dataclass
class _Findings:
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
class _Row:
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
class _Table:
    """A sheet's data as read: the sheet's own name, the header text of each column found, the rows."""

    spec: SheetSpec
    sheet: str
    headers: dict[str, str]
    rows: list[_Row]
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
    lookup = _COLUMN_LOOKUP[spec.name]
    best, best_count = None, 0
    for index, row in enumerate(rows[:_HEADER_SEARCH_ROWS]):
        count = sum(1 for cell in row if isinstance(cell, str) and cell.strip() and
                    (_match(lookup, cell) or (spec is TEAMS and _header_quarter(cell))))
        if count > best_count:
            best, best_count = index, count
    # One matching cell could be a title ("Budget"); a header names at least two columns.
    return best if best_count >= 2 else None


def _map_columns(header: list[Any], table: _Table, findings: _Findings) -> tuple[list[tuple[int, Column]], dict[str, int]]:
    """(column index, column) for each known header, and per-quarter capacity columns by label."""
    spec, lookup = table.spec, _COLUMN_LOOKUP[table.spec.name]
    mapped: list[tuple[int, Column]] = []
    quarters: dict[str, int] = {}
    extra: list[str] = []
    for index, cell in enumerate(header):
        if _blank(cell):
            continue
        text = _text(cell, spec.id_column)
        findings.columns.setdefault((table.sheet, text), index)
        if cell.__class__ in (ExcelError, Uncalculated):
            # A header computed by a formula that failed or was never calculated names no column.
            findings.error(f"the header of column {column_letters(index + 1)} is {_marker_problem(cell)}", table.sheet, table.header_row)
            continue
        column = _match(lookup, text)
        label = _header_quarter(text) if spec is TEAMS and column is None else None
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


def _close_to_a_column(text: str, table: _Table, findings: _Findings) -> bool:
    """Whether an unknown header looks like a column of the format the sheet lacks: then it is an error with
    "did you mean", because ignoring it would silently put the column's default in the plan."""
    squashed = _squash(_BRACKETS.sub(" ", text))
    best, best_ratio = None, 0.0
    for column in table.spec.columns:
        if column.key in table.headers:
            continue
        for name in (column.label, *column.aliases):
            ratio = difflib.SequenceMatcher(None, squashed, _squash(name)).ratio()
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


def _read_table(rows: list[list[Any]], sheet: str, spec: SheetSpec, findings: _Findings,
                merged: Sequence[tuple[tuple[int, int], tuple[int, int]]] = ()) -> _Table | None:
    """A sheet's cells (rows of calamine values from A1) as a table: header found, columns mapped, cells parsed.

    `merged` are the sheet's merged cell ranges ((first row, first column), (last row, last column)), from 0.
    """
    header_index = _find_header(rows, spec)
    if header_index is None:
        expected = ", ".join(c.label for c in spec.columns if c.required)
        findings.error(f"no header row found; expected a row naming the columns {expected}", sheet)
        return None
    table = _Table(spec, sheet, {}, [], header_row=header_index + 1)
    mapped, quarters = _map_columns(rows[header_index], table, findings)
    id_index = next((index for index, column in mapped if column is spec.id_column), None)
    if id_index is None:
        return table
    value_columns = [(index, column) for index, column in mapped] + [
        (index, Column(f"capacity:{label}", label, "amount", "")) for label, index in quarters.items()
    ]
    numbers, body = _data_rows(rows, header_index, id_index, table, findings)
    table.rows = [_Row(number, {}) for number in numbers]
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
                           merged: Sequence[tuple[tuple[int, int], tuple[int, int]]], table: _Table, findings: _Findings) -> None:
    """A filled column must have a header of its own: a header merged over several columns, or a blank
    header over values, would otherwise have the values ignored (the low uplift planned as the base)."""
    row = table.header_row - 1
    covered: set[int] = set()
    for (first_row, first_column), (last_row, last_column) in merged or ():
        if first_row <= row <= last_row and last_column > first_column:
            name = _text(header[first_column], table.spec.id_column) if first_column < len(header) else ""
            span = f"{column_letters(first_column + 1)} to {column_letters(last_column + 1)}"
            findings.error(f'the header "{name}" is merged over columns {span}, so only the first has a header; '
                           "unmerge it and give each column its own header (e.g. Uplift low, Uplift base, Uplift high)",
                           table.sheet, table.header_row, name or None)
            covered.update(range(first_column, last_column + 1))
    for index, cells in enumerate(columns):
        if index in covered or (index < len(header) and not _blank(header[index])) or cells.count("") == len(cells):
            continue
        filled = [str(number) for number, cell in zip(numbers, cells) if not _blank(cell)]
        if not filled:
            continue
        letter = column_letters(index + 1)
        rows = ", ".join(filled[:5]) + (f" and {len(filled) - 5:,} more" if len(filled) > 5 else "")
        findings.columns.setdefault((table.sheet, letter), index)
        findings.error(f"column {letter} has no header but holds values (rows {rows}); give it a header "
                       "(a column the format does not know is ignored with a warning) or clear it",
                       table.sheet, table.header_row, letter)


def _note_defaults(table: _Table, findings: _Findings) -> None:
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


def _data_rows(rows: list[list[Any]], header_index: int, id_index: int, table: _Table,
               findings: _Findings) -> tuple[list[int], list[list[Any]]]:
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
        if _CONTROL_CHARACTERS.search(joined) or (len(joined) > _LONGEST_TEXT and max(map(len, cells)) > _LONGEST_TEXT):
            return None
        if "" not in stripped:
            return stripped
        return None if column.required else [text or None for text in stripped]
    if kind == "choice" and types == {str} and set(filled) <= set(column.choices):
        return [cell or None for cell in cells]
    if kind == "yesno" and types == {str} and set(filled) <= _YES_NO_WORDS.keys():
        return list(map(_YES_NO_WORDS.get, cells))
    if kind not in ("amount", "positive", "fraction", "whole") or not types <= {float, int}:
        return None
    # calamine never returns NaN or infinity (Excel cannot store them), so min and max are safe.
    low, high = min(filled), max(filled)
    fits = {"amount": low >= 0 and high <= _LARGEST, "positive": low > 0 and high <= _LARGEST, "fraction": low >= 0 and high <= 1,
            "whole": low >= column.minimum and high <= _LARGEST_WHOLE and all(map(float.is_integer, map(float, filled)))}[kind]
    if not fits:
        return None
    convert = int if kind == "whole" else float
    if not has_blank:
        return list(cells) if types == {convert} else list(map(convert, cells))
    return [None if cell == "" else convert(cell) for cell in cells]


def _parse_cell(raw: Any, column: Column, row: _Row, table: _Table, findings: _Findings) -> Any:
    """One cell's value, or None when blank or bad (a bad or missing required cell is reported)."""
    if _blank(raw):
        if column.required:
            row.fail(column.key)
            findings.error(f"is blank; expected {_expected(column)}", table.sheet, row.number, table.header(column.key))
        return None
    try:
        value = _parse(raw, column)
    except _CellError as error:
        row.fail(column.key)
        findings.error(str(error), table.sheet, row.number, table.header(column.key))
        return None
    if raw.__class__ is str and column.kind in _TEXT_KINDS and _CONTROL_CHARACTERS.search(raw):
        findings.warn("control characters (invisible in Excel) removed from the text", table.sheet, row.number, table.header(column.key))
    return value


_TEXT_KINDS = frozenset({"text", "id", "team", "ids", "choice", "yesno", "quarter"})


def _is_data_row(row: list[Any], id_index: int, table: _Table, number: int, findings: _Findings) -> bool:
    """False for blank rows, totals rows and rows without an id (the last two with a warning)."""
    identifier = row[id_index]
    if identifier.__class__ is str and identifier[:1].isalnum() and identifier[:1] not in _TOTALS_INITIALS:
        return True  # the common case, decided without any further look
    if not _blank(identifier):
        text = _text(identifier, table.spec.id_column)
        if text[:1] in _TOTALS_INITIALS and _squash(text) in _TOTALS:
            findings.warn("totals row ignored", table.sheet, number)
            return False
        return True
    filled = [cell for cell in row if not _blank(cell)]
    if not filled:
        return False
    if any(_is_numeric(cell) for cell in filled):
        findings.warn(f'row without {table.header(table.spec.id_column.key)} but with numbers: taken for a totals row and ignored',
                      table.sheet, number)
    else:
        findings.warn(f"row without {table.header(table.spec.id_column.key)} skipped", table.sheet, number)
    return False


def _expected(column: Column) -> str:
    return {
        "amount": "a number >= 0", "positive": "a number > 0", "fraction": "a fraction between 0 and 1",
        "whole": f"a whole number >= {column.minimum}", "quarter": "a quarter like 2027Q1 or FY28 Q1", "yesno": "yes or no",
        "choice": " or ".join(column.choices), "ids": "experience ids separated by commas",
    }.get(column.kind, f"the {column.label.casefold()}")


# ---------------------------------------------------------------------------------------
# Reading: from tables to a portfolio
# ---------------------------------------------------------------------------------------


class _Reader:
    """Reads every sheet, then checks the cross-references between them, locating each problem."""

    def __init__(self, book: Any, findings: _Findings, inspection: Inspection, limits: ReadLimits):
        self.book = book
        self.findings = findings
        self.tables: dict[str, _Table | None] = {}
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
        for name in sorted(self.book.sheet_names, key=lambda name: _SHEET_LOOKUP.get(_squash(name)) is not SETTINGS_SHEET):
            spec = _SHEET_LOOKUP.get(_squash(name))
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
            read = _read_settings_table if spec is SETTINGS_SHEET else _read_table
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
        _mark(rows, self.inspection.marks.get(name, {}))
        return rows

    def _usable(self, spec: SheetSpec) -> bool:
        """Whether a sheet was read with its id column; if not (reported already), checks against
        it are skipped: one problem, not one for every row of another sheet that refers to it."""
        table = self.tables.get(spec.name)
        return table is not None and spec.id_column.key in table.headers

    def _rows(self, spec: SheetSpec) -> list[_Row]:
        table = self.tables.get(spec.name)
        return table.rows if table is not None else []

    def _error(self, spec: SheetSpec, row: _Row | int | None, key: str | None, message: str) -> None:
        table = self.tables.get(spec.name)
        sheet = table.sheet if table is not None else spec.name
        number = row.number if isinstance(row, _Row) else row
        column = table.header(key) if (table is not None and key) else key
        self.findings.error(message, sheet, number, column)

    # -- settings -------------------------------------------------------------------------

    def _settings(self) -> tuple[Settings, float | None]:
        values = {row.values["key"]: row.values["value"] for row in self._rows(SETTINGS_SHEET) if "value" in row.values}
        total_budget = values.pop("total_budget", None)
        table = self.tables.get(SETTINGS_SHEET.name)
        for setting in SETTINGS:
            if setting.key not in values and setting.key != "total_budget":
                self.findings.default(f"{setting.label} not given: {_show_default(getattr(_DEFAULTS, setting.key))} used",
                                      table.sheet if table else None)
        settings = Settings(**values)
        if SETTINGS_SHEET.name not in self.tables:
            self.findings.warn("no Settings sheet: the default settings are used")
        try:
            settings = replace(settings, first_quarter=normalise_quarter(settings, settings.first_quarter))
        except ValueError as error:
            row = next(row for row in self._rows(SETTINGS_SHEET) if row.values["key"] == "first_quarter")
            self._error(SETTINGS_SHEET, row, "value", f"First quarter: {error}")
            settings = replace(settings, fiscal_year_start=1)  # to read on and report every other problem
        return settings, total_budget

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

    def _capacity(self, row: _Row, labels: list[str]) -> tuple[float, ...]:
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
        self._check_references(rows)
        commitments = self._commitments(rows, options, settings)
        if self.findings.errors:
            return ()
        ids = {key: row.values["id"] for key, row in rows.items()}
        experiences = self._build_experiences(rows, options, labels, teams, ids)
        if not commitments:
            return experiences
        return tuple(replace(e, commitment=commitments[e.id.casefold()]) if e.id.casefold() in commitments else e for e in experiences)

    def _commitments(self, rows: dict[str, _Row], options: dict[str, dict[str, dict[str, Any]]], settings: Settings) -> dict[str, Commitment]:
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

    def _unique_experiences(self) -> dict[str, _Row]:
        rows: dict[str, _Row] = {}
        for row in self._rows(EXPERIENCES):
            identifier = row.values.get("id")
            if identifier is None:
                continue
            key = _key(identifier)
            if key in rows:
                self._error(EXPERIENCES, row, "id", f'id "{identifier}" is used twice: rows {rows[key].number} and {row.number} (ids ignore case)')
            else:
                rows[key] = row
        return rows

    def _options(self, experiences: dict[str, _Row], teams: dict[str, Team]) -> dict[str, dict[str, dict[str, Any]]]:
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

    def _experience_key(self, spec: SheetSpec, row: _Row, experiences: dict[str, _Row]) -> str | None:
        identifier = row.values.get("experience_id")
        if identifier is None:
            return None
        key = _key(identifier)
        if key not in experiences:
            self._error(spec, row, "experience_id", f'"{identifier}" is not an experience id on sheet Experiences')
            return None
        return key

    def _add_shared(self, row: _Row, options: dict[str, dict[str, Any]], experience: _Row, teams: dict[str, Team]) -> None:
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

    def _unknown_team(self, spec: SheetSpec, row: _Row, team: str, teams: dict[str, Team]) -> None:
        if not self._usable(TEAMS):
            return
        known = ", ".join(t.name for t in teams.values()) or "none"
        self._error(spec, row, "team", f'"{team}" is not a team on sheet Teams (teams: {known})')

    def _check_experiences(self, rows: dict[str, _Row], options: dict[str, dict[str, dict[str, Any]]],
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

    def _check_references(self, rows: dict[str, _Row]) -> None:
        for row in rows.values():
            for key in ("requires", "excludes"):
                for reference in row.values.get(key, ()):
                    if _key(reference) not in rows:
                        self._error(EXPERIENCES, row, key, f'"{reference}" is not an experience id on sheet Experiences')
            if row.values.get("mandatory"):
                for reference in row.values.get("excludes", ()):
                    other = rows.get(_key(reference))
                    if other is not None and other.values.get("mandatory"):
                        self._error(EXPERIENCES, row, "excludes",
                                    f'mandatory experience excludes "{reference}", which is mandatory too (row {other.number}); both cannot be funded')
        graph = {key: tuple(_key(r) for r in row.values.get("requires", ()) if _key(r) in rows)
                 for key, row in rows.items()}
        for cycle in find_cycles(graph):
            names = " -> ".join(str(rows[key].values["id"]) for key in cycle)
            numbers = ", ".join(str(rows[key].number) for key in cycle[:-1])
            self._error(EXPERIENCES, rows[cycle[0]], "requires", f"circular dependency: {names} (rows {numbers})")

    @staticmethod
    def _build_experiences(rows: dict[str, _Row], options: dict[str, dict[str, dict[str, Any]]], labels: list[str],
                           teams: dict[str, Team], ids: dict[str, str]) -> tuple[Experience, ...]:
        """The experiences of checked rows; references and team names as the workbook spells their targets.

        One loop with its look-ups made once (team spellings, quarter positions): it runs
        for every experience of a 50,000-row workbook.
        """
        owners: dict[str, str] = {}
        starts = {label: index for index, label in enumerate(labels)}
        experiences: list[Experience] = []
        for key, row in rows.items():
            values = row.values
            get = values.get
            team = values["team"]
            owner = owners.get(team) or owners.setdefault(team, teams[team.casefold()].name)
            base = values["uplift_base"]
            requires, excludes = get("requires"), get("excludes")
            experiences.append(Experience(
                id=values["id"], name=get("name", ""), description=get("description", ""),
                journey_stage=get("journey_stage", ""), channel=get("channel", ""),
                product_line=get("product_line", ""), layer=values["layer"], team=owner,
                reach_per_quarter=values["reach_per_quarter"], outcome=get("outcome", ""),
                value_per_outcome=values["value_per_outcome"],
                uplift_low=get("uplift_low", base), uplift_base=base, uplift_high=get("uplift_high", base),
                options=tuple([_funding_option(option, owner) for option in options[key].values()]),
                mandatory=get("mandatory", False),
                requires=tuple([ids[_key(r)] for r in requires]) if requires else (),
                excludes=tuple([ids[_key(r)] for r in excludes]) if excludes else (),
                earliest_start=starts[values["earliest_start"]] if "earliest_start" in values else 0,
                owner=get("owner", ""), journey=get("journey", ""),
            ))
        return tuple(experiences)


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


def _read_settings_table(rows: list[list[Any]], sheet: str, spec: SheetSpec, findings: _Findings,
                         merged: Sequence[tuple[tuple[int, int], tuple[int, int]]] = ()) -> _Table | None:
    """The Settings sheet: rows of Setting | Value, each value read by its setting's kind."""
    table = _read_table(rows, sheet, spec, findings, merged)
    if table is None:
        return None
    if "value" not in table.headers:
        findings.error('column "Value" is missing (a required column of sheet Settings)', sheet, table.header_row)
    seen: dict[str, int] = {}
    settings_rows: list[_Row] = []
    # The currency first: the amounts of the other settings are read in it. A row whose setting
    # cell did not read (reported already) is left out.
    named = [row for row in table.rows if "setting" in row.values]
    for row in sorted(named, key=lambda row: _match(_SETTING_LOOKUP, row.values["setting"]) is not SETTINGS[0]):
        setting = _match(_SETTING_LOOKUP, row.values["setting"])
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
                    _WORKBOOK_CURRENCY.set(str(parsed.values["value"]))
    table.rows = settings_rows
    return table


def _parse_setting(setting: Column, row: _Row, table: _Table, findings: _Findings) -> _Row | None:
    raw = row.values.get("value")
    if raw is None or _blank(raw):
        return None
    try:
        return _Row(row.number, {"key": setting.key, "value": _parse(raw, setting)})
    except _CellError as error:
        findings.error(f"{setting.label}: {error}", table.sheet, row.number, table.header("value"))
        return None
