"""Reading a scenario file: YAML with line numbers, every key validated at the boundary, `extends:` merged.

Every problem is reported in one pass with the file, line and key path. The keys of the
rule families (balance, roi_hurdle, ...) are read by their families (planner.rules), each
given a Reader over the file; the rest (input changes, settings) are read here.
"""

from __future__ import annotations

import difflib
import math
import re
from pathlib import Path
from typing import Any

import yaml

from planner.core.domain import SOLVERS, START_MODES, normalise_id, tidy_quarter
from planner.core.errors import InputError, Problem
from planner.inputs.risk_keys import parse_risk_keys
from planner.inputs import yaml12
from planner.inputs.scenario_types import (ADJUST_FACTORS, ESTIMATES, FILTER_KEYS, OBJECTIVES, Adjustment, Amount, Filter, Scenario,
                                           key_place)
from planner.rules import FAMILIES, scenario_keys
from planner.rules.base import Reader

KNOWN_KEYS = (
    "name", "description", "workbook", "extends", "budget", "capacity", "adjust", "forced_in", "forced_out", "stop",
    "horizon_quarters", "discount_rate", "uplift_estimate", "objective", "solver",
    "time_limit_seconds", "gap", "start_quarters", "certify", "risk", "robust",
) + scenario_keys()
BUDGET_KEYS = ("per_quarter", "total", "change")


# ---------------------------------------------------------------------------------------
# YAML with line numbers (planner.inputs.yaml12: YAML 1.2 scalars, no aliases or tags)


MAX_REFUSALS_SHOWN = 30


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
        # Every alias, anchor and tag in one pass, as for any other input problem (the first few dozen).
        shown = error.refusals[:MAX_REFUSALS_SHOWN]
        problems = [Problem(f"{path.name}, line {line}", message) for line, message in shown]
        if len(error.refusals) > len(shown):
            problems.append(Problem(path.name, f"and {len(error.refusals) - len(shown)} more aliases, anchors or tags"))
        raise InputError(problems) from error
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
    _parse_rule_keys(file, data, out)
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


def _parse_rule_keys(file: _File, data: dict, out: dict) -> None:
    """The keys of the rule families, each read by its family (planner.rules) through a Reader over this file.

    A family returns Scenario fields (balance, roi_hurdle) or, for families added since,
    its settings, which land in Scenario.rule_settings under the family's name.
    """
    reader = Reader(problem=file.problem, note=file.note, unknown_keys=file.unknown_keys, text=yaml12.text_of,
                    amounts=lambda key_path, value, mapping, key: _amounts(file, key_path, value, mapping, key),
                    share=parse_share, hint=decimal_comma_hint)
    settings = []
    for family in FAMILIES:
        if family.parse is None or not any(key in data for key in family.keys):
            continue
        for field_name, value in family.parse(reader, data).items():
            if field_name in Scenario.__dataclass_fields__:
                out[field_name] = value
            else:
                settings.append((field_name, value))
    if settings:
        out["rule_settings"] = tuple(settings)


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
    examples = {"gap": "0.5% or 0.005", "discount_rate": "6% or 0.06"}
    for key, low, high in (("gap", 0.0, 1.0), ("discount_rate", 0.0, 1.0)):
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
    if "rule_settings" in inherited and "rule_settings" in own:  # family by family: a family's key replaces its own settings only
        merged["rule_settings"] = tuple({**dict(inherited["rule_settings"]), **dict(own["rule_settings"])}.items())
    if "capacity" in inherited and "capacity" in own:
        teams = {entry[0].casefold(): entry for entry in inherited["capacity"]}
        teams.update({entry[0].casefold(): entry for entry in own["capacity"]})
        merged["capacity"] = tuple(teams.values())
    return merged
