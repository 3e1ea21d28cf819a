"""Scenarios: a named set of changes to the inputs, read from YAML and validated at the boundary.

A scenario file names its input workbook (relative to the scenario file) and may override
the budget, the solver settings, the start-quarter mode, and force experiences in or out:

    name: Base plan FY27
    workbook: example-portfolio.xlsx
    budget:
      per_quarter: 1500000        # one number for every quarter, or a list, one per quarter
      total: 11000000             # optional cap over the whole horizon
      change: -10%                # optional: scale the workbook's budget
    solver: cbc                   # cbc or highs
    time_limit_seconds: 60
    gap: 0.001                    # relative gap at which a plan counts as optimal
    start_quarters: free          # free (optimiser picks) or fixed (earliest start)
    forced_in: [CX-101]
    forced_out: [CX-205]

Every problem is reported in one pass with the file, line and key path.
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml

from planner.domain import SOLVERS, START_MODES, Portfolio, normalise_id
from planner.errors import InputError, Problem


@dataclass(frozen=True)
class Scenario:
    """The changes a scenario makes; None means "as in the workbook"."""

    name: str = "base"
    description: str = ""
    workbook: str = ""
    source: str = ""
    budget_per_quarter: tuple[float, ...] | None = None
    total_budget: float | None = None
    budget_change: float | None = None
    solver: str | None = None
    time_limit_seconds: float | None = None
    gap: float | None = None
    start_quarters: str | None = None
    forced_in: tuple[str, ...] = ()
    forced_out: tuple[str, ...] = ()


KNOWN_KEYS = (
    "name", "description", "workbook", "budget", "solver", "time_limit_seconds", "gap",
    "start_quarters", "forced_in", "forced_out",
)
BUDGET_KEYS = ("per_quarter", "total", "change")


class _LineLoader(yaml.SafeLoader):
    """A safe loader that remembers the line of every mapping key and rejects duplicate keys."""


def _construct_mapping(loader: _LineLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    mapping: dict = {}
    lines: dict = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            loader.duplicates.append((key, key_node.start_mark.line + 1))
        mapping[key] = loader.construct_object(value_node, deep=True)
        lines[key] = key_node.start_mark.line + 1
    loader.key_lines[id(mapping)] = lines
    return mapping


_LineLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: Path) -> tuple[Any, dict[int, dict], list[tuple[Any, int]]]:
    """Safe-load YAML; return the data, the key lines of each mapping, and duplicate keys."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise InputError(Problem(str(path), f"cannot be read: {error.strerror}")) from error
    loader = _LineLoader(text)
    loader.key_lines = {}
    loader.duplicates = []
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f"{path.name}, line {mark.line + 1}" if mark else path.name
        raise InputError(Problem(where, f"is not valid YAML: {getattr(error, 'problem', error)}")) from error
    finally:
        loader.dispose()
    return data, loader.key_lines, loader.duplicates


def parse_change(value: Any) -> float:
    """'-10%' -> 0.9, '+5%' -> 1.05, 0.9 stays a multiplier of 0.9."""
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, (int, float)):
        return float(value)
    match = re.fullmatch(r"\s*([+-]?\d+(?:\.\d+)?)\s*%\s*", str(value))
    if not match:
        raise ValueError
    return 1.0 + float(match.group(1)) / 100.0


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario file; raise InputError with every problem found."""
    path = Path(path)
    data, key_lines, duplicates = read_yaml(path)
    problems: list[Problem] = []

    def where(key: str, mapping: dict | None = None, leaf: str | None = None) -> str:
        line = key_lines.get(id(mapping if mapping is not None else data), {}).get(leaf or key)
        return f"{path.name}, line {line}, key {key}" if line else f"{path.name}, key {key}"

    for key, line in duplicates:
        problems.append(Problem(f"{path.name}, line {line}, key {key}", "appears twice"))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(Problem(path.name, "must be a mapping of keys (name:, workbook:, ...)"))

    for key in data:
        if key not in KNOWN_KEYS:
            hint = difflib.get_close_matches(str(key), KNOWN_KEYS, n=1)
            suggestion = f'; did you mean "{hint[0]}"?' if hint else f"; known keys: {', '.join(KNOWN_KEYS)}"
            problems.append(Problem(where(str(key), leaf=key), f"is not a known key{suggestion}"))

    fields: dict[str, Any] = {"name": str(data.get("name") or path.stem), "source": str(path)}
    if "description" in data:
        fields["description"] = str(data["description"] or "")
    workbook = data.get("workbook")
    if not isinstance(workbook, str) or not workbook.strip():
        problems.append(Problem(where("workbook"), "is required: the input workbook's path, relative to this file"))
    else:
        resolved = (path.parent / workbook).resolve()
        if not resolved.is_file():
            problems.append(Problem(where("workbook"), f'"{workbook}" does not exist (looked for {resolved})'))
        fields["workbook"] = str(resolved)

    budget = data.get("budget")
    if budget is not None:
        if isinstance(budget, (int, float)) and not isinstance(budget, bool):
            budget = {"per_quarter": budget}
        if not isinstance(budget, dict):
            problems.append(Problem(where("budget"), "must be a mapping with per_quarter, total or change"))
        else:
            for key in budget:
                if key not in BUDGET_KEYS:
                    problems.append(Problem(where(f"budget.{key}", budget, key), f"is not a known key; known keys: {', '.join(BUDGET_KEYS)}"))
            if "per_quarter" in budget:
                value = budget["per_quarter"]
                values = value if isinstance(value, list) else [value]
                if all(_is_number(v) and v >= 0 for v in values) and values:
                    fields["budget_per_quarter"] = tuple(float(v) for v in values)
                else:
                    problems.append(Problem(where("budget.per_quarter", budget, "per_quarter"), f"{value!r} is not a number >= 0 or a list of them"))
            if "total" in budget:
                if _is_number(budget["total"]) and budget["total"] >= 0:
                    fields["total_budget"] = float(budget["total"])
                else:
                    problems.append(Problem(where("budget.total", budget, "total"), f"{budget['total']!r} is not a number >= 0"))
            if "change" in budget:
                try:
                    fields["budget_change"] = parse_change(budget["change"])
                except ValueError:
                    problems.append(Problem(where("budget.change", budget, "change"), f"{budget['change']!r} is not a change like -10% or +5%"))

    if "solver" in data:
        solver = str(data["solver"]).strip().lower()
        if solver not in SOLVERS:
            problems.append(Problem(where("solver"), f'"{data["solver"]}" is not a solver; choose {" or ".join(SOLVERS)}'))
        fields["solver"] = solver
    for key, low in (("time_limit_seconds", 0.0), ("gap", 0.0)):
        if key in data:
            if _is_number(data[key]) and data[key] > low or (key == "gap" and data[key] == 0):
                fields[key] = float(data[key])
            else:
                problems.append(Problem(where(key), f"{data[key]!r} is not a positive number"))
    if "start_quarters" in data:
        mode = str(data["start_quarters"]).strip().lower()
        if mode not in START_MODES:
            problems.append(Problem(where("start_quarters"), f'"{data["start_quarters"]}" must be free or fixed'))
        fields["start_quarters"] = mode
    for key in ("forced_in", "forced_out"):
        if key in data:
            value = data[key]
            items = value if isinstance(value, list) else [value]
            if all(isinstance(v, (str, int)) for v in items):
                fields[key] = tuple(str(v) for v in items)
            else:
                problems.append(Problem(where(key), "must be a list of experience ids"))
    both = {normalise_id(i) for i in fields.get("forced_in", ())} & {normalise_id(i) for i in fields.get("forced_out", ())}
    for key in sorted(both):
        problems.append(Problem(where("forced_out"), f'"{key}" is forced both in and out'))
    if problems:
        raise InputError(problems)
    return Scenario(**fields)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def scenario_problems(portfolio: Portfolio, scenario: Scenario) -> list[Problem]:
    """Problems that need both the scenario and the portfolio: unknown ids, wrong budget length."""
    where = Path(scenario.source).name if scenario.source else "scenario"
    known = {e.key for e in portfolio.experiences}
    problems = [
        Problem(f"{where}, key {key}", f'"{ref}" is not an experience in {Path(portfolio.source).name or "the portfolio"}')
        for key in ("forced_in", "forced_out")
        for ref in getattr(scenario, key)
        if normalise_id(ref) not in known
    ]
    per_quarter = scenario.budget_per_quarter
    if per_quarter is not None and len(per_quarter) not in (1, portfolio.horizon):
        problems.append(Problem(f"{where}, key budget.per_quarter", f"has {len(per_quarter)} values; give one, or one per quarter ({portfolio.horizon})"))
    return problems


def apply_scenario(portfolio: Portfolio, scenario: Scenario) -> Portfolio:
    """The portfolio as the scenario sees it: budget and settings overridden. Never mutates."""
    problems = scenario_problems(portfolio, scenario)
    if problems:
        raise InputError(problems)
    budget = portfolio.budget
    if scenario.budget_per_quarter is not None:
        values = scenario.budget_per_quarter
        budget = values * portfolio.horizon if len(values) == 1 else values
    total = scenario.total_budget if scenario.total_budget is not None else portfolio.total_budget
    if scenario.budget_change is not None:
        budget = tuple(b * scenario.budget_change for b in budget)
        total = total * scenario.budget_change if total is not None else None
    overrides = {
        key: getattr(scenario, key)
        for key in ("solver", "time_limit_seconds", "gap", "start_quarters")
        if getattr(scenario, key) is not None
    }
    settings = replace(portfolio.settings, **overrides)
    return replace(portfolio, budget=tuple(budget), total_budget=total, settings=settings)
