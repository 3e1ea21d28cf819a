"""The input workbook's format: its sheets, their columns, the header names finance also uses.

One table of sheet and column specs (`SHEETS`, `SETTINGS`) drives the template writer
(`planner.inputs.workbook_writer`), the reader (`planner.inputs.workbook`) and the reference
tables of docs/workbook.md (`format_reference`), so they cannot drift apart. Headers are
matched without case, spacing, punctuation or a unit in brackets (`match`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from planner.core.domain import (
    DEFAULT_STAGE_ORDER,
    LAYERS,
    SOLVERS,
    START_MODES,
    Experience,
    FundingOption,
    Portfolio,
    Settings,
    Team,
    tidy_quarter,
)


@dataclass(frozen=True)
class Column:
    """One column of a sheet (or one row of the Settings sheet).

    `kind` says how a cell is read and written: text, id, ids (a list of ids), list (of
    texts, comma separated), amount (a number >= 0), whole (a whole number >= `minimum`),
    fraction (0 to 1), yesno, choice (one of `choices`), quarter (a label like 2027Q1),
    positive (a number > 0).
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
        Column("overlap_group", "Overlap group", "text",
               "Experiences given the same group reach the same customers at the same stage, often from different channels: "
               "together they lift less than the sum of their uplifts (1 - product of (1 - uplift)); the optimiser and the plan's "
               "NPV count the shared customers once.",
               aliases=("Overlap", "Overlaps", "Overlap set", "Audience overlap", "Same customers as", "Same customers",
                        "Cannibalisation group", "Cannibalization group"), width=16),
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
               "Revised one-off cost still to pay, spread over the delivery quarters left. Blank: the plan's even spread (nothing, when done).",
               unit="{currency}", aliases=("Remaining cost", "Cost to complete", "Estimate to complete", "ETC", "Remaining one off cost"), width=20,
               default="the plan's even spread (nothing when done)"),
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

DEFAULT_SETTINGS = Settings()
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
    Column("journey_stages", "Journey stage order", "list",
           "The journey's stages in the order customers live them, comma separated; every experience's Journey stage must be "
           "one of them. Reports list stages in this order. Blank: " + ", ".join(DEFAULT_STAGE_ORDER) + ", then any other "
           "stage in the order the workbook first names it.",
           aliases=("Journey stages", "Stage order", "Journey order", "Order of journey stages", "Journey stage sequence"),
           default="the default order (" + ", ".join(DEFAULT_STAGE_ORDER) + ")"),
)

SHEETS: tuple[SheetSpec, ...] = (EXPERIENCES, OPTIONS, SHARED_ATTENTION, TEAMS, BUDGET, IN_FLIGHT, SETTINGS_SHEET)


def squash(text: str) -> str:
    """Header words without case, spacing or punctuation: 'Reach / quarter' -> 'reachperquarter'."""
    text = str(text).casefold().replace("/", " per ").replace("&", " and ")
    return re.sub(r"[^0-9a-z]+", "", text)


BRACKETS = re.compile(r"[(\[][^)\]]*[)\]]")


def _lookup_table(columns: Iterable[Column]) -> dict[str, Column]:
    """Squashed label and aliases -> column; a name meaning two columns is a bug in the format."""
    table: dict[str, Column] = {}
    for column in columns:
        for name in (column.label, column.header(""), *column.aliases):
            key = squash(name)
            if table.get(key, column) is not column:
                raise AssertionError(f'"{name}" means both {table[key].label} and {column.label}')
            table[key] = column
    return table


COLUMN_LOOKUP: dict[str, dict[str, Column]] = {spec.name: _lookup_table(spec.columns) for spec in SHEETS}
SETTING_LOOKUP = _lookup_table(SETTINGS)
SHEET_LOOKUP: dict[str, SheetSpec] = {squash(name): spec for spec in SHEETS for name in (spec.name, *spec.aliases)}


def match_header(lookup: dict[str, Column], text: Any) -> Column | None:
    """The column a header means: as written, then without units in brackets."""
    text = str(text)
    return lookup.get(squash(text)) or lookup.get(squash(BRACKETS.sub(" ", text)))


def header_quarter(text: Any) -> str | None:
    """A per-quarter capacity header such as '2027Q1', 'FY28 Q1' or '2027 Q1 (team-weeks)', as a label."""
    try:
        return tidy_quarter(BRACKETS.sub(" ", str(text)))
    except ValueError:
        return None


def example_portfolio() -> Portfolio:
    """The template's two example experiences: a backstage enabler and the frontstage experience on it."""
    teams = (Team("Digital", (120.0,) * 8), Team("Data", (40.0,) * 8))
    enabler = Experience(
        id="CX-001", name="Returns data platform", description="One record of every return across channels",
        journey_stage="get help", channel="all", product_line="Retail", layer="backstage", team="Data",
        owner="Maria Keller, Head of Returns", journey="Return an item",
        reach_per_quarter=0.0, outcome="contacts avoided", value_per_outcome=0.0,
        uplift_low=0.0, uplift_base=0.0, uplift_high=0.0, mandatory=False,
        options=(FundingOption("standard", 250_000.0, 15_000.0, (("Data", 30.0), ("Digital", 6.0)), 2, 1.0),),
    )
    frontstage = Experience(
        id="CX-002", name="One-click returns in the app", description="Start and track a return in the app",
        journey_stage="get help", channel="app", product_line="Retail", layer="frontstage", team="Digital",
        owner="Maria Keller, Head of Returns", journey="Return an item",
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
        third = show_default(column) if defaults else ("yes" if column.required else "no")
        unit = column.unit or {"fraction": "fraction", "whole": "whole number", "quarter": "quarter", "month": "month",
                              "list": "list"}.get(column.kind, "")
        meaning = column.note.replace("|", "/")
        lines.append(f"| {column.label} | {unit} | {third} | {meaning} | {', '.join(column.aliases)} |")
    return "\n".join(lines)


def show_default(setting: Column) -> str:
    """A setting's default as docs and `planner validate` say it."""
    if setting.default:
        return setting.default
    value = getattr(DEFAULT_SETTINGS, setting.key, None)
    return "blank" if value is None else str(value)

