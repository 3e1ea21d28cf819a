"""Scenarios: a named set of changes to the inputs, read from YAML and validated at the boundary.

A scenario names its input workbook (relative to the scenario file), may `extends:` another
scenario (its keys are inherited; a key set here replaces the inherited one, and the
sub-keys of `budget` and `capacity` merge), and may change:

    name: Budget cut 10%
    extends: base.yaml
    workbook: example-portfolio.xlsx
    budget:                         # or budget: -10% (every quarter and the total, like change)
      per_quarter: -10%             # a number, a change, a list (one per quarter) or {2027Q3: 900000}
      total: 8000000                # optional cap over the horizon (a number or a change)
    capacity:
      Digital: -20%                 # a team: a number, a change, a list or {2027Q1: 40}
      all teams: +10%
    adjust:                         # multipliers on a filtered set of experiences
      - where: {channel: app}       # id, journey_stage, channel, product_line, layer, team
        uplift: 0.5                 # or -50%; also cost, reach, value
    forced_in: [CX-101]
    forced_out: [CX-205]
    stop: [CX-301]                  # stop work in flight (In flight sheet, or `planner roll`); forced out
    horizon_quarters: 8
    discount_rate: 6%
    uplift_estimate: low            # low, base or high
    objective: npv                  # npv, benefit or reach
    balance:                        # share of spend per journey stage, channel, product line, layer
      - {journey_stage: get help, min_share: 15%}
    roi_hurdle: 50%                 # portfolio NPV / PV cost at least this
    solver: cbc                     # cbc or highs
    time_limit_seconds: 60
    gap: 0.001
    start_quarters: free            # free or fixed
    certify: true                   # re-solve with the second solver and say whether they agree

A change is a signed percentage (-10%: times 0.9) or a signed amount (+250000: added).
The YAML is read by `planner.inputs.yaml12` (YAML 1.2 scalars; no aliases, anchors or tags).
Every problem is reported in one pass with the file, line and key path; problems that
need the portfolio (unknown ids, teams, quarters) come from `scenario_problems`. What the
loader reads in a way the file does not spell out is kept as located notes
(`Scenario.notes`, `applied_notes`), and `scenario_values` says where each value in effect
comes from: both are listed by `planner validate SCENARIO.yaml`.
"""

from __future__ import annotations

import difflib
import math
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from planner.inputs import yaml12
from planner.inputs.risk_keys import parse_risk_keys
from planner.core.domain import (
    SOLVERS, START_MODES, Experience, Portfolio, Team, normalise_id, normalise_quarter, quarter_label, tidy_quarter,
)
from planner.core.errors import InputError, Problem

OBJECTIVES = ("npv", "benefit", "reach")
ESTIMATES = ("low", "base", "high")
DIMENSIONS = ("journey_stage", "channel", "product_line", "layer")
FILTER_KEYS = ("id", "journey_stage", "channel", "product_line", "layer", "team")
ADJUST_FACTORS = ("cost", "uplift", "reach", "value")
ALL_TEAMS = "all teams"


@dataclass(frozen=True)
class Amount:
    """A value from a scenario: absolute (1200000), relative to the input ("-10%" -> x0.9) or added to it ("+250000")."""

    value: float
    relative: bool = False
    added: bool = False

    def apply(self, base: float) -> float:
        if self.added:
            return base + self.value
        return base * self.value if self.relative else self.value


@dataclass(frozen=True)
class Filter:
    """Which experiences a rule applies to; every key given must match (values are alternatives)."""

    id: tuple[str, ...] = ()
    journey_stage: tuple[str, ...] = ()
    channel: tuple[str, ...] = ()
    product_line: tuple[str, ...] = ()
    layer: tuple[str, ...] = ()
    team: tuple[str, ...] = ()

    def matches(self, experience: Experience) -> bool:
        for key in FILTER_KEYS:
            wanted = getattr(self, key)
            actual = experience.id if key == "id" else getattr(experience, key)
            if wanted and normalise_id(actual) not in {normalise_id(w) for w in wanted}:
                return False
        return True

    def describe(self) -> str:
        parts = [f"{key.replace('_', ' ')} {' or '.join(getattr(self, key))}" for key in FILTER_KEYS if getattr(self, key)]
        return ", ".join(parts) or "all experiences"


@dataclass(frozen=True)
class Adjustment:
    """Multipliers on the experiences a filter selects."""

    where: Filter
    cost: float = 1.0
    uplift: float = 1.0
    reach: float = 1.0
    value: float = 1.0


@dataclass(frozen=True)
class BalanceRule:
    """A minimum and/or maximum share of the plan's spend on one journey stage, channel, product line or layer."""

    dimension: str
    value: str
    min_share: float | None = None
    max_share: float | None = None

    @property
    def label(self) -> str:
        return f"{self.dimension.replace('_', ' ')} {self.value}"

    def matches(self, experience: Experience) -> bool:
        return normalise_id(getattr(experience, self.dimension)) == normalise_id(self.value)


@dataclass(frozen=True)
class Scenario:
    """The changes a scenario makes; None or empty means "as in the workbook"."""

    name: str = "base"
    description: str = ""
    workbook: str = ""
    source: str = ""
    extends: tuple[str, ...] = ()
    budget_per_quarter: tuple[Amount, ...] | None = None
    budget_by_quarter: tuple[tuple[str, Amount], ...] = ()
    total_budget: Amount | None = None
    capacity: tuple[tuple[str, tuple[Amount, ...] | None, tuple[tuple[str, Amount], ...]], ...] = ()
    adjustments: tuple[Adjustment, ...] = ()
    forced_in: tuple[str, ...] = ()
    forced_out: tuple[str, ...] = ()
    # In-flight experiences to stop; load_scenario also lists them in forced_out, which the optimiser reads.
    stop: tuple[str, ...] = ()
    horizon_quarters: int | None = None
    discount_rate: float | None = None
    uplift_estimate: str = "base"
    objective: str = "npv"
    balance: tuple[BalanceRule, ...] = ()
    roi_hurdle: float | None = None
    solver: str | None = None
    time_limit_seconds: float | None = None
    gap: float | None = None
    start_quarters: str | None = None
    certify: bool = False
    # Planning under uncertainty (planner.inputs.risk_keys): the keys set, as (key, value) pairs.
    risk: tuple[tuple[str, Any], ...] = ()
    robust: tuple[tuple[str, Any], ...] = ()
    # Where each key path was set ("base.yaml, line 7"), so problems found later name the line.
    places: tuple[tuple[str, str], ...] = field(default=(), compare=False, repr=False)
    # What the loader read in a way the file does not spell out ("CX-1, CX-2" as two ids, a
    # default name), located; `planner validate SCENARIO.yaml` lists them.
    notes: tuple[Problem, ...] = field(default=(), compare=False, repr=False)


def key_place(scenario: Scenario, key_path: str) -> str:
    """'base.yaml, line 7, key forced_in': the file and line that set a key path (or its nearest parent)."""
    places = dict(scenario.places)
    path = key_path
    while path:
        if path in places:
            return f"{places[path]}, key {key_path}"
        parent = re.sub(r"(\.[^.\[]*|\[\d+\])$", "", path)
        path = "" if parent == path else parent
    return f"{Path(scenario.source).name if scenario.source else 'scenario'}, key {key_path}"


KNOWN_KEYS = (
    "name", "description", "workbook", "extends", "budget", "capacity", "adjust", "forced_in", "forced_out", "stop",
    "horizon_quarters", "discount_rate", "uplift_estimate", "objective", "balance", "roi_hurdle", "solver",
    "time_limit_seconds", "gap", "start_quarters", "certify", "risk", "robust",
)
BUDGET_KEYS = ("per_quarter", "total", "change")


# ---------------------------------------------------------------------------------------
# YAML with line numbers (planner.inputs.yaml12: YAML 1.2 scalars, no aliases or tags)


def read_yaml(path: Path) -> tuple[Any, dict[int, dict], list[tuple[Any, int, int]]]:
    """Load a scenario file strictly; return the data, the key lines of each mapping, and duplicate keys."""
    if path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        raise InputError(Problem(path.name, "is an Excel workbook, not a scenario file; give a scenario .yaml that names it "
                                            f"(workbook: {path.name}), e.g. scenarios/base.yaml"))
    try:
        with path.open("rb") as handle:  # bounded: a device or a huge file is not read whole
            raw = handle.read(yaml12.MAX_BYTES + 1)
    except OSError as error:
        raise InputError(Problem(str(path), f"cannot be read: {error.strerror or error}")) from error
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        line = text_line_of(raw, error.start)
        raise InputError(Problem(f"{path.name}, line {line}", "is not UTF-8 text; save the file as UTF-8 (in Notepad: Save as, Encoding UTF-8)")) from error
    try:
        return yaml12.load(text)
    except yaml12.RefusedYaml as error:
        raise InputError(Problem(f"{path.name}, line {error.line}", error.message)) from error
    except yaml.YAMLError as error:
        raise InputError(Problem(_yaml_error_place(path, text, error), f"is not valid YAML: {_yaml_problem(error)}")) from error


def _yaml_error_place(path: Path, text: str, error: yaml.YAMLError) -> str:
    """'base.yaml, line 3': where PyYAML found the problem (a reader error gives a character offset, not a mark)."""
    mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
    if mark is not None:
        return f"{path.name}, line {mark.line + 1}"
    position = getattr(error, "position", None)
    if isinstance(position, int):
        return f"{path.name}, line {text[:position].count(chr(10)) + 1}"
    return path.name


def _yaml_problem(error: yaml.YAMLError) -> str:
    if "single document" in str(getattr(error, "context", "")):
        return "holds a second document (a line '---' or '...'); a scenario file is one document"
    if isinstance(error, yaml.reader.ReaderError):
        code = error.character if isinstance(error.character, int) else ord(str(error.character)[:1] or "\0")
        return f"the control character U+{code:04X} cannot appear in a YAML file; remove it"
    problem = str(getattr(error, "problem", None) or error)
    if "'\\t'" in problem:
        return f"{problem}: a tab indents this line; YAML indents with spaces"
    return problem


def text_line_of(data: bytes, offset: int) -> int:
    """The 1-based line of a byte offset."""
    return data[:offset].count(b"\n") + 1


def parse_change(value: Any) -> float:
    """'-10%' -> 0.9, '+5%' -> 1.05; a plain number is a multiplier (0.9 stays 0.9).

    A percentage needs its sign: "50%" could mean half or one and a half times.
    """
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, (int, float)):
        if not math.isfinite(value):  # .inf and .nan are YAML floats, never a multiplier
            raise ValueError
        return float(value)
    match = re.fullmatch(r"\s*([+-]\d+(?:\.\d+)?)\s*%\s*", str(value))
    if not match:
        raise ValueError
    return 1.0 + float(match.group(1)) / 100.0


def parse_amount(value: Any) -> Amount:
    """1200000 or 1,200,000 -> absolute; '-10%' or '+5%' -> relative to the workbook's value; +250000 -> added to it.

    The sign makes a change, as in the README: `+250000` adds 250,000 to the workbook's
    amount, it does not replace it (YAML alone would read it as the number 250000).
    """
    if not isinstance(value, (str, int, float)) or isinstance(value, bool):
        raise ValueError
    text = yaml12.text_of(value).strip()
    if text.startswith(("+", "-")) and text.endswith("%"):
        return Amount(parse_change(text), relative=True)
    number = _grouped_number(text) if isinstance(value, str) else float(value)
    if number is None or not math.isfinite(number):
        raise ValueError
    if text.startswith(("+", "-")):
        return Amount(number, added=True)
    return Amount(number)


def _grouped_number(text: str) -> float | None:
    """'1,200,000' -> 1200000.0, as the workbook reads a typed amount with thousands separators; None if not a number."""
    if re.fullmatch(r"[+-]?\d{1,3}(?:,\d{3})+(?:\.\d+)?", text):
        text = text.replace(",", "")
    if re.fullmatch(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", text):
        return float(text)
    return None


def decimal_comma_hint(value: Any) -> str:
    """'; write 6.5% with a decimal point' for '6,5%' or '-2,5%', which some locales type; '' otherwise.

    Also the minus sign or dash Word and Outlook put for '-' ('−10%'): named, not silently read.
    """
    if isinstance(value, str) and re.match(r"\s*[\u2212\u2013\u2014]", value):
        return "; the first character is a dash or minus sign from a word processor: type the minus as -"
    match = re.fullmatch(r"\s*([+-]?\d+),(\d+)\s*(%?)\s*", value) if isinstance(value, str) else None
    if not match or (not match.group(3) and len(match.group(2)) == 3):
        return ""
    return f"; write {match.group(1)}.{match.group(2)}{match.group(3)} with a decimal point"


def parse_share(value: Any) -> float:
    """'15%' -> 0.15; 0.15 stays 0.15."""
    if _is_number(value):
        return float(value)
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%\s*", str(value))
    if not match:
        raise ValueError
    return float(match.group(1)) / 100.0


def _is_quarter(value: Any) -> bool:
    try:
        tidy_quarter(str(value))
    except ValueError:
        return False
    return True


def _is_text_like(value: Any) -> bool:
    """An id or a name: text, or a number YAML read from what the user typed (101, 1.10), not true/false or a list."""
    return isinstance(value, (str, int, float)) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


# ---------------------------------------------------------------------------------------
# Reading one file


class _File:
    """One scenario file being read: its data, key lines and the problems found so far."""

    def __init__(self, path: Path, problems: list[Problem]):
        self.path = path
        self.problems = problems
        self.notes: dict[str, list[Problem]] = {}  # by top-level key, so a key a child file sets drops the parent's notes
        self.data, self.key_lines, duplicates = read_yaml(path)
        prefixes = self.mapping_prefixes()
        for key, line, mapping in duplicates:
            self.problems.append(Problem(f"{path.name}, line {line}, key {prefixes.get(mapping, '')}{key}",
                                         "appears twice; keep one (YAML would silently keep the last)"))

    def where(self, key_path: str, mapping: Any = None, key: Any = None) -> str:
        mapping = self.data if mapping is None else mapping
        line = self.key_lines.get(id(mapping), {}).get(key_path.split(".")[-1] if key is None else key)
        return f"{self.path.name}, line {line}, key {key_path}" if line else f"{self.path.name}, key {key_path}"

    def note(self, key_path: str, message: str, mapping: Any = None, key: Any = None) -> None:
        self.notes.setdefault(key_path.split(".")[0].split("[")[0], []).append(
            Problem(self.where(key_path, mapping, key), message, "warning"))

    def problem(self, key_path: str, message: str, mapping: Any = None, key: Any = None) -> None:
        self.problems.append(Problem(self.where(key_path, mapping, key), message))

    def unknown_keys(self, mapping: dict, known: tuple[str, ...], prefix: str = "", reported: tuple = ()) -> None:
        for key in mapping:
            if key not in known and key not in reported:
                hint = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
                suggestion = f'; did you mean "{hint[0]}"?' if hint else f"; known keys: {', '.join(known)}"
                if re.fullmatch(r"\d+(\.\d+)?%?", str(key)) and mapping[key] is None:
                    # {total: 8,000,000} or {min_share: 12,5%}: inside braces a comma separates entries, so "000" became a key.
                    suggestion = ("; inside { } a comma separates entries: write numbers without commas, "
                                  "with a decimal point (8000000, 12.5%)")
                self.problem(f"{prefix}{key}", f"is not a known key{suggestion}", mapping, key)

    def mapping_prefixes(self) -> dict[int, str]:
        """The key path prefix ("budget.", "adjust[0].where.") of every mapping in the file, by id."""
        prefixes: dict[int, str] = {}

        def walk(value: Any, prefix: str) -> None:
            if isinstance(value, dict):
                prefixes[id(value)] = prefix
                for key, item in value.items():
                    walk(item, f"{prefix}{key}.")
            elif isinstance(value, list):
                for n, item in enumerate(value):
                    walk(item, f"{prefix.rstrip('.')}[{n}].")

        walk(self.data, "")
        return prefixes

    def places(self) -> dict[str, str]:
        """'file.yaml, line N' for every key path the file sets (list items by index: adjust[0].where)."""
        places: dict[str, str] = {}

        def walk(value: Any, prefix: str) -> None:
            if isinstance(value, dict):
                lines = self.key_lines.get(id(value), {})
                for key, item in value.items():
                    path = f"{prefix}{key}"
                    if key in lines:
                        places[path] = f"{self.path.name}, line {lines[key]}"
                    walk(item, path + ".")
            elif isinstance(value, list):
                for n, item in enumerate(value):
                    walk(item, f"{prefix.rstrip('.')}[{n}].")

        walk(self.data, "")
        return places


def _parse_file(file: _File) -> dict[str, Any]:
    """The Scenario fields one file sets (validated), without what it inherits."""
    data = file.data
    if data is None:
        data = file.data = {}
    if not isinstance(data, dict):
        raise InputError(Problem(f"{file.path.name}, line 1", "must be a mapping of keys (name:, workbook:, ...)"))
    file.unknown_keys(data, KNOWN_KEYS)
    out: dict[str, Any] = {}
    for key in ("name", "description"):
        if key in data:
            out[key] = yaml12.text_of(data[key]) if data[key] is not None else ""
    if "workbook" in data:
        workbook = data["workbook"]
        if not isinstance(workbook, str) or not workbook.strip():
            file.problem("workbook", "must be the input workbook's path, relative to this file")
        else:
            resolved, why_not = referenced_file(file.path.parent, workbook, "workbook")
            if why_not:
                file.problem("workbook", why_not)
            out["workbook"] = str(resolved or workbook)
    _parse_budget(file, data, out)
    _parse_capacity(file, data, out)
    _parse_adjust(file, data, out)
    _parse_balance(file, data, out)
    _parse_simple(file, data, out)
    parse_risk_keys(file, data, out)
    return out


def _amounts(file: _File, key_path: str, value: Any, mapping: dict, key: Any) -> tuple[tuple[Amount, ...] | None, tuple[tuple[str, Amount], ...]]:
    """One amount for every quarter, a list (one per quarter) or {quarter label: amount}."""
    try:
        if isinstance(value, dict):
            by_quarter = []
            for label, amount in value.items():
                try:
                    tidy_quarter(str(label))
                except ValueError:
                    file.problem(f"{key_path}.{label}", f'"{label}" is not a quarter like 2027Q1 or FY28 Q1', value, label)
                    continue
                by_quarter.append((str(label), _noted_amount(file, f"{key_path}.{label}", amount, value, label)))
            return None, tuple(by_quarter)
        values = value if isinstance(value, list) else [value]
        if not values:
            raise ValueError
        return tuple(_noted_amount(file, key_path, v, mapping, key) for v in values), ()
    except ValueError:
        found = "is empty; expected" if value is None else f"{value!r} is not"
        file.problem(key_path, f"{found} an amount >= 0, a change like -10% or +250000, a list of them, or {{2027Q1: amount}}"
                               f"{decimal_comma_hint(value)}", mapping, key)
        return None, ()


def _noted_amount(file: _File, key_path: str, raw: Any, mapping: dict, key: Any) -> Amount:
    """parse_amount, noting what a reader could take otherwise: thousands separators, a signed amount added."""
    amount = parse_amount(raw)
    if isinstance(raw, str) and "," in raw:
        file.note(key_path, f'"{raw}" read as {amount.value:.15g} (commas as thousands separators, as the workbook reads them)',
                  mapping, key)
    if amount.added:
        file.note(key_path, f"{yaml12.text_of(raw)} is added to the workbook's amount (a signed amount is a change)", mapping, key)
    return amount


def _parse_budget(file: _File, data: dict, out: dict) -> None:
    if "budget" not in data:
        return
    budget = data["budget"]
    if not isinstance(budget, dict):
        per_quarter, by_quarter = _amounts(file, "budget", budget, data, "budget")
        out["budget_per_quarter"], out["budget_by_quarter"] = per_quarter, by_quarter
        if per_quarter is not None and len(per_quarter) == 1 and per_quarter[0].relative:
            # "budget: -10%" reads as "the budget is cut 10%": the total too, as budget.change does.
            out["total_budget"] = per_quarter[0]
            file.note("budget", f"{budget} changes every quarter's budget and the total budget alike (as budget.change does)")
        return
    quarters = [key for key in budget if key not in BUDGET_KEYS and _is_quarter(key)]
    for key in quarters:
        file.problem(f"budget.{key}", f"a quarter's budget goes under per_quarter: budget: {{per_quarter: {{{key}: {budget[key]}}}}}", budget, key)
    file.unknown_keys(budget, BUDGET_KEYS, "budget.", reported=tuple(quarters))
    if "per_quarter" in budget and "change" in budget:
        file.problem("budget.change", "cannot be given with budget.per_quarter (change applies to every quarter); keep one", budget, "change")
    if "per_quarter" in budget:
        per_quarter, by_quarter = _amounts(file, "budget.per_quarter", budget["per_quarter"], budget, "per_quarter")
        out["budget_per_quarter"], out["budget_by_quarter"] = per_quarter, by_quarter
    if "change" in budget:
        try:
            change = Amount(parse_change(budget["change"]), relative=True)
            out["budget_per_quarter"], out["budget_by_quarter"] = (change,), ()
            out.setdefault("total_budget", change)
        except ValueError:
            file.problem("budget.change", f"{budget['change']!r} is not a change with its sign, like -10% or +5%"
                                         f"{decimal_comma_hint(budget['change'])}", budget, "change")
    if "total" in budget:
        try:
            out["total_budget"] = _noted_amount(file, "budget.total", budget["total"], budget, "total")
        except ValueError:
            file.problem("budget.total", f"{budget['total']!r} is not an amount >= 0 or a change like -10% or +250000"
                                        f"{decimal_comma_hint(budget['total'])}", budget, "total")


def _parse_capacity(file: _File, data: dict, out: dict) -> None:
    if "capacity" not in data:
        return
    capacity = data["capacity"]
    if not isinstance(capacity, dict):
        file.problem("capacity", "must map team names (or 'all teams') to capacities or changes")
        return
    entries = []
    for team, value in capacity.items():
        per_quarter, by_quarter = _amounts(file, f"capacity.{team}", value, capacity, team)
        entries.append((str(team), per_quarter, by_quarter))
    out["capacity"] = tuple(entries)


def _parse_filter(file: _File, key_path: str, where: Any) -> Filter | None:
    if not isinstance(where, dict) or not where:
        file.problem(key_path, f"must map one or more of {', '.join(FILTER_KEYS)} to a value or a list of values")
        return None
    file.unknown_keys(where, FILTER_KEYS, f"{key_path}.")
    values = {}
    for key in FILTER_KEYS:
        if key in where:
            raw = where[key]
            items = raw if isinstance(raw, list) else [raw]
            if not items or not all(_is_text_like(v) for v in items):
                file.problem(f"{key_path}.{key}", "must be a value or a list of values", where, key)
                continue
            values[key] = tuple(yaml12.text_of(v) for v in items)
    return Filter(**values)


def _parse_adjust(file: _File, data: dict, out: dict) -> None:
    if "adjust" not in data:
        return
    adjust = data["adjust"]
    if not isinstance(adjust, list):
        file.problem("adjust", "must be a list of {where: {...}, cost/uplift/reach/value: multiplier}")
        return
    adjustments = []
    for n, item in enumerate(adjust):
        prefix = f"adjust[{n}]"
        if not isinstance(item, dict):
            file.problem(prefix, "must be a mapping with where: and a multiplier", adjust, None)
            continue
        file.unknown_keys(item, ("where",) + ADJUST_FACTORS, f"{prefix}.")
        where = _parse_filter(file, f"{prefix}.where", item.get("where"))
        factors = {}
        for factor in ADJUST_FACTORS:
            if factor in item:
                try:
                    factors[factor] = parse_change(item[factor])
                    if factors[factor] < 0:
                        raise ValueError
                except ValueError:
                    file.problem(f"{prefix}.{factor}", f"{item[factor]!r} is not a multiplier >= 0 (0.5) or a change with its sign "
                                                       "(-50% for half, +50% for one and a half times)"
                                                       f"{decimal_comma_hint(item[factor])}", item, factor)
        if not factors:
            file.problem(prefix, f"changes nothing; give one of {', '.join(ADJUST_FACTORS)}", adjust, None)
        if where is not None:
            adjustments.append(Adjustment(where, **factors))
    out["adjustments"] = tuple(adjustments)


def _parse_balance(file: _File, data: dict, out: dict) -> None:
    if "balance" not in data:
        return
    balance = data["balance"]
    if not isinstance(balance, list):
        file.problem("balance", "must be a list like [{journey_stage: get help, min_share: 15%}]")
        return
    rules = []
    for n, item in enumerate(balance):
        prefix = f"balance[{n}]"
        if not isinstance(item, dict):
            file.problem(prefix, "must be a mapping like {journey_stage: get help, min_share: 15%}")
            continue
        file.unknown_keys(item, DIMENSIONS + ("min_share", "max_share"), f"{prefix}.")
        dimensions = [d for d in DIMENSIONS if d in item]
        if len(dimensions) != 1:
            file.problem(prefix, f"must name exactly one of {', '.join(DIMENSIONS)}")
            continue
        shares = {}
        for key in ("min_share", "max_share"):
            if key in item:
                try:
                    share = parse_share(item[key])
                    if not 0 <= share <= 1:
                        raise ValueError
                    shares[key] = share
                except ValueError:
                    file.problem(f"{prefix}.{key}", f"{item[key]!r} is not a share between 0% and 100%{decimal_comma_hint(item[key])}", item, key)
        if not shares:
            file.problem(prefix, "needs min_share or max_share")
            continue
        if shares.get("min_share", 0) > shares.get("max_share", 1):
            file.problem(f"{prefix}.min_share", "is above max_share", item, "min_share")
        rules.append(BalanceRule(dimensions[0], yaml12.text_of(item[dimensions[0]]), shares.get("min_share"), shares.get("max_share")))
    out["balance"] = tuple(rules)


def _parse_simple(file: _File, data: dict, out: dict) -> None:
    choices = {"solver": SOLVERS, "start_quarters": START_MODES, "objective": OBJECTIVES, "uplift_estimate": ESTIMATES}
    for key, allowed in choices.items():
        if key in data:
            value = str(data[key]).strip().lower()
            if value not in allowed:
                found = "is empty; expected" if data[key] is None else f'"{data[key]}" is not'
                file.problem(key, f'{found} one of {", ".join(allowed)}')
            out[key] = value
    if "time_limit_seconds" in data:
        if _is_number(data["time_limit_seconds"]) and data["time_limit_seconds"] > 0:
            out["time_limit_seconds"] = float(data["time_limit_seconds"])
        else:
            file.problem("time_limit_seconds", f"{data['time_limit_seconds']!r} is not a number of seconds > 0")
    if "certify" in data:
        if isinstance(data["certify"], bool):
            out["certify"] = data["certify"]
        else:
            file.problem("certify", f"{data['certify']!r} is not true or false")
    if "horizon_quarters" in data:
        value = data["horizon_quarters"]
        if isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= 80:
            out["horizon_quarters"] = value
        else:
            file.problem("horizon_quarters", f"{value!r} is not a whole number of quarters from 1 to 80")
    examples = {"gap": "0.5% or 0.005", "discount_rate": "6% or 0.06", "roi_hurdle": "50% or 0.5"}
    for key, low, high in (("gap", 0.0, 1.0), ("discount_rate", 0.0, 1.0), ("roi_hurdle", -1.0, 100.0)):
        if key in data:
            try:
                value = parse_share(data[key]) if not str(data[key]).strip().startswith("-") else -parse_share(str(data[key]).strip()[1:])
                if not low <= value <= high:
                    raise ValueError
                out[key] = value
            except ValueError:
                file.problem(key, f"{data[key]!r} is not a number or percentage between {low:.0%} and {high:.0%}; type {examples[key]}"
                                  f"{decimal_comma_hint(data[key])}")
    for key in ("forced_in", "forced_out", "stop"):
        if key in data:
            value = data[key]
            items = value if isinstance(value, list) else [value]
            if all(_is_text_like(v) for v in items):
                # "CX-101, CX-102" without brackets is one YAML string: split it as the workbook splits Requires.
                out[key] = tuple(part.strip() for v in items for part in re.split(r"[,;]", yaml12.text_of(v)) if part.strip())
                for v in items:
                    if re.search(r"[,;]", yaml12.text_of(v)):
                        parts = [part.strip() for part in re.split(r"[,;]", yaml12.text_of(v)) if part.strip()]
                        file.note(key, f'"{yaml12.text_of(v)}" read as {len(parts)} ids: {", ".join(parts)}')
            else:
                file.problem(key, "must be a list of experience ids")


# ---------------------------------------------------------------------------------------
# Loading with extends


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file and what it extends; raise InputError with every problem."""
    path = Path(path)
    problems: list[Problem] = []
    chain: list[Path] = []
    merged: dict[str, Any] = {}
    places: dict[str, str] = {}
    notes: dict[str, list[Problem]] = {}
    for file_path in _extends_chain(path, problems):
        chain.append(file_path)
        file = _File(file_path, problems)
        merged = _merge(merged, _parse_file(file))
        places = _merge_places(places, file)
        for key in file.data if isinstance(file.data, dict) else ():
            if key not in ("budget", "capacity"):  # these two merge; every other key replaces the parent's, notes and all
                notes.pop(str(key), None)
        for key, found in file.notes.items():
            notes.setdefault(key, []).extend(found)
    # Said once: a workbook key that is there but wrong, misspelt, or a broken extends is reported already.
    reported = any("key extends" in p.where or "key workbook" in p.where or '"workbook"' in p.message for p in problems)
    if "workbook" not in merged and "workbook" not in places and not reported:
        problems.append(Problem(f"{path.name}, key workbook", "is required (here or in a scenario it extends): the input workbook's path"))
    both = {normalise_id(i) for i in merged.get("forced_in", ())} & {normalise_id(i) for i in merged.get("forced_out", ())}
    located = Scenario(source=str(path), places=tuple(places.items()))
    for key in sorted(both):
        problems.append(Problem(key_place(located, "forced_out"), f'"{key}" is forced both in and out'))
    for key in sorted({normalise_id(i) for i in merged.get("forced_in", ())} & {normalise_id(i) for i in merged.get("stop", ())}):
        problems.append(Problem(key_place(located, "stop"), f'"{key}" is both forced in and stopped'))
    if merged.get("stop"):
        # A stopped experience is forced out: the optimiser, which reads forced_out, leaves it unfunded.
        known = {normalise_id(i) for i in merged.get("forced_out", ())}
        merged["forced_out"] = tuple(merged.get("forced_out", ())) + tuple(i for i in merged["stop"] if normalise_id(i) not in known)
        notes.setdefault("stop", []).append(Problem(key_place(located, "stop"), "the experiences stopped are forced out too", "warning"))
    if problems:
        raise InputError(problems)
    if not merged.get("name"):
        merged["name"] = path.stem
        notes.setdefault("name", []).append(Problem(key_place(located, "name"), f'not given: the scenario is named "{path.stem}" '
                                                                               "after its file", "warning"))
    return Scenario(**merged, source=str(path), extends=tuple(str(p) for p in chain[:-1]), places=tuple(places.items()),
                    notes=tuple(note for found in notes.values() for note in found))


def _extends_chain(path: Path, problems: list[Problem]) -> list[Path]:
    """The files from the root ancestor down to `path`; a cycle or a missing parent is a problem."""
    chain = [path.resolve()]
    while True:
        data, key_lines, _ = read_yaml(chain[0])
        parent = data.get("extends") if isinstance(data, dict) else None
        if parent is None:
            return chain
        line = key_lines.get(id(data), {}).get("extends")
        where = f"{chain[0].name}, line {line}, key extends"
        if not isinstance(parent, str):
            problems.append(Problem(where, "must be the path of another scenario file"))
            return chain
        parent_path, why_not = referenced_file(chain[0].parent, parent, "scenario file")
        if parent_path is None:
            problems.append(Problem(where, why_not))
            return chain
        if parent_path in chain:
            # chain[0] extends parent_path, which (through the files after it) extends chain[0].
            cycle = " -> ".join(p.name for p in chain[: chain.index(parent_path) + 1][::-1] + [parent_path])
            problems.append(Problem(where, f"makes a cycle of extends: {cycle}"))
            return chain
        if why_not:
            problems.append(Problem(where, why_not))
            return chain
        if parent_path.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
            problems.append(Problem(where, f'"{parent}" is an Excel workbook, not a scenario file: name it with workbook: {parent}'))
            return chain
        chain.insert(0, parent_path)


def referenced_file(folder: Path, text: str, kind: str) -> tuple[Path | None, str | None]:
    """(path, None) for a file a scenario names relative to its folder; else (path or None, why it cannot be used).

    A name too long for the file system, a NUL byte or an unknown ~user is a problem with
    the key, not an OSError traceback.
    """
    shown = text if len(text) <= 80 else text[:77] + "..."
    try:
        path = (folder / Path(text.strip()).expanduser()).resolve()
        if path.is_file():
            return path, None
        found = f"is a folder, not a {kind}" if path.is_dir() else "does not exist"
    except (OSError, ValueError, RuntimeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        return None, f'"{shown}" cannot be used as the path of a {kind} ({reason})'
    return path, f'"{shown}" {found} (looked for {path})'


def _merge_places(inherited: dict[str, str], file: _File) -> dict[str, str]:
    """Where each key was set: a key this file sets hides what the parent set under it (budget and capacity merge)."""
    own = file.places()
    replaced = [key for key in (file.data if isinstance(file.data, dict) else {}) if key not in ("budget", "capacity")]
    kept = {path: place for path, place in inherited.items()
            if not any(path == key or path.startswith((f"{key}.", f"{key}[")) for key in map(str, replaced))}
    return {**kept, **own}


def _merge(inherited: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """A key the file sets replaces the inherited one; capacity merges team by team."""
    merged = {**inherited, **own}
    if "capacity" in inherited and "capacity" in own:
        teams = {entry[0].casefold(): entry for entry in inherited["capacity"]}
        teams.update({entry[0].casefold(): entry for entry in own["capacity"]})
        merged["capacity"] = tuple(teams.values())
    return merged


# ---------------------------------------------------------------------------------------
# Applying a scenario to a portfolio


def scenario_problems(portfolio: Portfolio, scenario: Scenario) -> list[Problem]:
    """Problems that need both the scenario and the portfolio: unknown ids, teams, quarters, values."""
    workbook = Path(portfolio.source).name or "the portfolio"
    known = {e.key for e in portfolio.experiences}
    in_flight = {e.key for e in portfolio.experiences if e.commitment is not None}
    stopped = {normalise_id(ref) for ref in scenario.stop}
    problems = [
        Problem(key_place(scenario, key), f'"{ref}" is not an experience in {workbook}{did_you_mean(ref, [e.id for e in portfolio.experiences])}')
        for key in ("forced_in", "forced_out", "stop")
        # A stopped experience is listed in forced_out too (load_scenario): report it once, under stop.
        for ref in getattr(scenario, key)
        if normalise_id(ref) not in known and not (key == "forced_out" and normalise_id(ref) in stopped)
    ]
    problems += [Problem(key_place(scenario, "stop"), f'"{ref}" is not in flight in {workbook}: to leave out work that has not started, use forced_out')
                 for ref in scenario.stop if normalise_id(ref) in known and normalise_id(ref) not in in_flight]
    horizon = scenario.horizon_quarters or portfolio.horizon
    settings = replace(portfolio.settings, horizon_quarters=horizon)
    labels = {quarter_label(settings, q) for q in range(horizon)}

    def check_amounts(key: str, per_quarter, by_quarter) -> None:
        if per_quarter is not None and len(per_quarter) not in (1, horizon):
            problems.append(Problem(key_place(scenario, key), f"has {len(per_quarter)} values; give one, or one per quarter ({horizon})"))
        for label, _ in by_quarter:
            if _quarter_key(settings, label) not in labels:
                problems.append(Problem(key_place(scenario, f"{key}.{label}"), f"is not a quarter of the horizon ({quarter_label(settings, 0)} to {quarter_label(settings, horizon - 1)})"))

    check_amounts("budget.per_quarter", scenario.budget_per_quarter, scenario.budget_by_quarter)
    team_names = {team.name.casefold() for team in portfolio.teams}
    for team, per_quarter, by_quarter in scenario.capacity:
        if team.casefold() not in team_names and team.casefold() != ALL_TEAMS:
            problems.append(Problem(key_place(scenario, f"capacity.{team}"), f'"{team}" is not a team in {workbook}{did_you_mean(team, [t.name for t in portfolio.teams])}'))
        check_amounts(f"capacity.{team}", per_quarter, by_quarter)
    for n, adjustment in enumerate(scenario.adjustments):
        problems += _filter_problems(portfolio, adjustment.where, scenario, f"adjust[{n}].where")
    for n, rule in enumerate(scenario.balance):
        values = sorted({getattr(e, rule.dimension) for e in portfolio.experiences})
        if not any(rule.matches(e) for e in portfolio.experiences):
            problems.append(Problem(key_place(scenario, f"balance[{n}].{rule.dimension}"),
                                    f'"{rule.value}" matches no experience{did_you_mean(rule.value, values)}; known: {", ".join(values)}'))
    return problems


def did_you_mean(value: str, known: list[str]) -> str:
    """' (did you mean "CX-101"?)' for the closest known value, ignoring case as ids do; "" when none is close."""
    by_case = {k.casefold(): k for k in known}
    hint = difflib.get_close_matches(value.casefold(), list(by_case), n=1, cutoff=0.6)
    return f' (did you mean "{by_case[hint[0]]}"?)' if hint else ""


def _filter_problems(portfolio: Portfolio, where_filter: Filter, scenario: Scenario, key_path: str) -> list[Problem]:
    problems = []
    for key in FILTER_KEYS:
        known = sorted({e.id if key == "id" else getattr(e, key) for e in portfolio.experiences})
        known_keys = {normalise_id(k) for k in known}
        for value in getattr(where_filter, key):
            if normalise_id(value) not in known_keys:
                listing = "" if key == "id" else f'; known: {", ".join(known)}'
                problems.append(Problem(key_place(scenario, f"{key_path}.{key}"), f'"{value}" matches no experience{did_you_mean(value, known)}{listing}'))
    return problems


def _quarter_key(settings, label: str) -> str | None:
    """A scenario's quarter (2027Q3 or FY28 Q2) as the portfolio's calendar labels it; None if not in that calendar."""
    try:
        return normalise_quarter(settings, str(label))
    except ValueError:
        return None


def _resize(values: tuple[float, ...], horizon: int) -> tuple[float, ...]:
    """Cut to the horizon, or carry the last quarter's value forward."""
    if len(values) >= horizon:
        return tuple(values[:horizon])
    return tuple(values) + (values[-1] if values else 0.0,) * (horizon - len(values))


def _apply_amounts(base: tuple[float, ...], per_quarter, by_quarter, settings) -> tuple[float, ...]:
    values = list(base)
    if per_quarter is not None:
        amounts = per_quarter * len(values) if len(per_quarter) == 1 else per_quarter
        values = [amount.apply(v) for amount, v in zip(amounts, values)]
    labels = [quarter_label(settings, q) for q in range(len(values))]
    for label, amount in by_quarter:
        q = labels.index(_quarter_key(settings, label))
        values[q] = amount.apply(values[q])
    return tuple(values)


def _below_zero(scenario: Scenario, key: str, what: str, values: tuple[float, ...], settings) -> list[Problem]:
    """A signed amount (-250000) that takes a quarter below zero is a mistake, not a zero budget."""
    negative = [quarter_label(settings, q) for q, value in enumerate(values) if value < 0]
    if not negative:
        return []
    return [Problem(key_place(scenario, key), f"takes {what} below zero in {', '.join(negative)} "
                                              f"(lowest {min(values):,.0f}); give a smaller cut or a new amount without a sign")]


def _adjusted(experience: Experience, scenario: Scenario) -> Experience:
    cost = uplift = reach = value = 1.0
    for adjustment in scenario.adjustments:
        if adjustment.where.matches(experience):
            cost *= adjustment.cost
            uplift *= adjustment.uplift
            reach *= adjustment.reach
            value *= adjustment.value
    low, base, high = experience.uplift_low, experience.uplift_base, experience.uplift_high
    base = {"low": low, "base": base, "high": high}[scenario.uplift_estimate]
    if (cost, uplift, reach, value) == (1.0, 1.0, 1.0, 1.0) and base == experience.uplift_base:
        return experience
    options = tuple(replace(o, one_off_cost=o.one_off_cost * cost, run_cost_per_quarter=o.run_cost_per_quarter * cost) for o in experience.options)
    # Uplift is a fraction of customers: a multiplier never takes it past 1.
    return replace(
        experience, options=options, reach_per_quarter=experience.reach_per_quarter * reach,
        value_per_outcome=experience.value_per_outcome * value, uplift_low=min(1.0, low * uplift),
        uplift_base=min(1.0, base * uplift), uplift_high=min(1.0, max(high, base) * uplift),
    )


def apply_scenario(portfolio: Portfolio, scenario: Scenario) -> Portfolio:
    """The portfolio as the scenario sees it: budget, capacity, estimates and settings changed.

    Never mutates; raises InputError when the scenario refers to what the portfolio lacks.
    """
    problems = scenario_problems(portfolio, scenario)
    if problems:
        raise InputError(problems)
    overrides = {
        key: getattr(scenario, key)
        for key in ("solver", "time_limit_seconds", "gap", "start_quarters", "horizon_quarters")
        if getattr(scenario, key) is not None
    }
    if scenario.discount_rate is not None:
        overrides["annual_discount_rate"] = scenario.discount_rate
    settings = replace(portfolio.settings, **overrides)
    horizon = settings.horizon_quarters
    below_zero: list[Problem] = []
    budget = _apply_amounts(_resize(portfolio.budget, horizon), scenario.budget_per_quarter, scenario.budget_by_quarter, settings)
    below_zero += _below_zero(scenario, "budget.per_quarter", "the budget", budget, settings)
    total = portfolio.total_budget
    if scenario.total_budget is not None:
        base_total = total if total is not None else sum(_resize(portfolio.budget, horizon))
        total = scenario.total_budget.apply(base_total)
        if total < 0:
            below_zero.append(Problem(key_place(scenario, "budget.total"), f"takes the total budget below zero ({total:,.0f})"))
    teams = []
    for team in portfolio.teams:
        capacity = _resize(team.capacity, horizon)
        # "all teams" first, so a team named on its own gets exactly what its entry says.
        for name, per_quarter, by_quarter in sorted(scenario.capacity, key=lambda entry: entry[0].casefold() != ALL_TEAMS):
            if name.casefold() in (team.name.casefold(), ALL_TEAMS):
                capacity = _apply_amounts(capacity, per_quarter, by_quarter, settings)
                below_zero += _below_zero(scenario, f"capacity.{name}", f"{team.name}'s capacity", capacity, settings)
        teams.append(Team(team.name, capacity))
    if below_zero:
        raise InputError(below_zero)
    experiences = tuple(_adjusted(e, scenario) for e in portfolio.experiences)
    return replace(portfolio, experiences=experiences, teams=tuple(teams), budget=budget, total_budget=total, settings=settings)



# ---------------------------------------------------------------------------------------
# What the scenario leaves to the workbook or the defaults (planner validate SCENARIO.yaml)


def scenario_values(portfolio: Portfolio, scenario: Scenario) -> list[tuple[str, str, str]]:
    """(key, value in effect, where it comes from) for every scenario key: a file and line, the workbook, or a default.

    The portfolio is the workbook as read (before the scenario); nothing is left unsaid, so a
    user sees every value that did not come from their scenario file.
    """
    settings = portfolio.settings
    workbook = f"the workbook ({Path(portfolio.source).name or 'in memory'})"
    given = {"solver": scenario.solver, "time_limit_seconds": scenario.time_limit_seconds, "gap": scenario.gap,
             "start_quarters": scenario.start_quarters, "horizon_quarters": scenario.horizon_quarters,
             "discount_rate": scenario.discount_rate}
    from_settings = {"solver": settings.solver, "time_limit_seconds": settings.time_limit_seconds, "gap": settings.gap,
                     "start_quarters": settings.start_quarters, "horizon_quarters": settings.horizon_quarters,
                     "discount_rate": settings.annual_discount_rate}
    rows = [("name", scenario.name, _set_at(scenario, "name") or "default: the file's name"),
            ("workbook", Path(scenario.workbook).name, _set_at(scenario, "workbook") or "not given")]
    per_quarter = scenario.budget_per_quarter or ()
    budget = ", ".join([_shown(a) for a in per_quarter] + [f"{label}: {_shown(a)}" for label, a in scenario.budget_by_quarter])
    rows.append(("budget.per_quarter", budget or "as in the workbook", _set_at(scenario, "budget.per_quarter", "budget") or workbook))
    total = _shown(scenario.total_budget) if scenario.total_budget else (
        f"{portfolio.total_budget:,.0f}" if portfolio.total_budget is not None else "none (the quarters' budgets only)")
    rows.append(("budget.total", total, _set_at(scenario, "budget.total", "budget.change", "budget") or workbook))
    teams = "; ".join(f"{team}: " + ", ".join([_shown(a) for a in per or ()] + [f"{q}: {_shown(a)}" for q, a in by])
                      for team, per, by in scenario.capacity)
    rows.append(("capacity", teams or "as in the workbook", _set_at(scenario, "capacity") or workbook))
    for key in ("horizon_quarters", "discount_rate", "solver", "time_limit_seconds", "gap", "start_quarters"):
        value = given[key] if given[key] is not None else from_settings[key]
        shown = f"{value:.2%}" if key == "discount_rate" else f"{value:g}" if isinstance(value, float) else str(value)
        rows.append((key, shown, (_set_at(scenario, key) if given[key] is not None else None) or f"{workbook}, sheet Settings"))
    listed = {
        "uplift_estimate": scenario.uplift_estimate, "objective": scenario.objective,
        "forced_in": ", ".join(scenario.forced_in) or "none", "forced_out": ", ".join(scenario.forced_out) or "none",
        "stop": ", ".join(scenario.stop) or "none",
        "adjust": "; ".join(f"{a.where.describe()}: " + ", ".join(f"{f} x{getattr(a, f):g}" for f in ADJUST_FACTORS if getattr(a, f) != 1)
                            for a in scenario.adjustments) or "none",
        "balance": "; ".join(f"{r.label} " + " ".join(f"{k} {v:.0%}" for k, v in (("min", r.min_share), ("max", r.max_share)) if v is not None)
                             for r in scenario.balance) or "none",
        "roi_hurdle": f"{scenario.roi_hurdle:.0%}" if scenario.roi_hurdle is not None else "none",
    }
    rows += [(key, value, _set_at(scenario, key) or "default") for key, value in listed.items()]
    if scenario.stop and not _set_at(scenario, "forced_out"):
        rows = [(key, value, f"stop: {_set_at(scenario, 'stop')}" if key == "forced_out" else source) for key, value, source in rows]
    return rows


def _set_at(scenario: Scenario, *keys: str) -> str | None:
    places = dict(scenario.places)
    return next((places[key] for key in keys if key in places), None)


def _shown(amount: Amount) -> str:
    if amount.relative:
        return f"{(amount.value - 1):+.1%} of the workbook's"
    return f"{amount.value:+,.0f} on the workbook's" if amount.added else f"{amount.value:,.0f}"


def applied_notes(portfolio: Portfolio, scenario: Scenario) -> list[Problem]:
    """What applying the scenario fills in or caps without a key saying so: quarters past the workbook's, uplifts capped at 100%."""
    notes = []
    horizon = scenario.horizon_quarters or portfolio.horizon
    if horizon > len(portfolio.budget):
        notes.append(Problem(key_place(scenario, "horizon_quarters"),
                             f"{horizon} quarters, the workbook budgets {len(portfolio.budget)}: the last quarter's budget "
                             f"and team capacities carry on to the end", "warning"))
    capped = [e.id for e in portfolio.experiences if max(e.uplift_high, getattr(e, f"uplift_{scenario.uplift_estimate}"))
              * math.prod(a.uplift for a in scenario.adjustments if a.where.matches(e)) > 1.0]
    if capped:
        notes.append(Problem(key_place(scenario, "adjust"), f"uplift capped at 100% of customers for {len(capped)} experience"
                                                            f"{'s' if len(capped) != 1 else ''}: {', '.join(capped[:5])}"
                                                            f"{' ...' if len(capped) > 5 else ''}", "warning"))
    return notes
