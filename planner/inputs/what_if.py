"""What-ifs: a scenario's keys given as a mapping (from the leadership workspace or its JSON API), not a file.

A what-if is read exactly as a scenario file that `extends:` the served scenario would be:
the same keys, shorthands and checks (`planner.inputs.scenario`), the same merge (a key set
replaces the inherited one; capacity merges team by team). Problems are located as
"what-if, key budget.total". Two keys are refused: `workbook` and `extends` name files, and
no file path is ever taken from a request.

`what_if_yaml` writes the what-if as a scenario file that extends the served scenario, so
`planner plan` on it plans exactly what the workspace planned.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from planner.core.domain import normalise_id
from planner.core.errors import InputError, Problem
from planner.inputs.scenario_read import KNOWN_KEYS, _File, _merge, _parse_file
from planner.inputs.scenario_types import Scenario, key_place

WHERE = "what-if"
# Keys that name files: a request never chooses a file on the server.
REFUSED_KEYS = ("workbook", "extends")
# planner risk's settings: the workspace gives each what-if's P10/P90 without them.
RISK_KEYS = ("risk", "robust")
WHAT_IF_KEYS = tuple(key for key in KNOWN_KEYS if key not in REFUSED_KEYS + RISK_KEYS)
# A what-if is a handful of keys; this bounds the work of reading one (and of a hostile one).
MAX_ITEMS = 5_000
MAX_DEPTH = 8


class _Mapping(_File):
    """A what-if being read: the scenario file reader, over a mapping instead of a file's text."""

    def __init__(self, data: Any, problems: list[Problem]):  # noqa: super().__init__ reads a file; there is none
        self.path = Path(WHERE)
        self.problems = problems
        self.notes = {}
        self.data = data
        self.key_lines = {}

    def places(self) -> dict[str, str]:
        """Every key path the what-if sets, located as "what-if" (a mapping has no lines)."""
        places: dict[str, str] = {}

        def walk(value: Any, prefix: str) -> None:
            if isinstance(value, dict):
                for key, item in value.items():
                    places[f"{prefix}{key}"] = WHERE
                    walk(item, f"{prefix}{key}.")
            elif isinstance(value, list):
                for n, item in enumerate(value):
                    walk(item, f"{prefix.rstrip('.')}[{n}].")

        walk(self.data, "")
        return places


def _size_problem(data: Any) -> Problem | None:
    """A what-if too deep or too large to be one a person made."""
    count, stack = 0, [(data, 0)]
    while stack:
        value, depth = stack.pop()
        count += 1
        if depth > MAX_DEPTH or count > MAX_ITEMS:
            return Problem(WHERE, f"is too large or too deeply nested (at most {MAX_ITEMS} values, {MAX_DEPTH} levels)")
        if isinstance(value, dict):
            stack += [(v, depth + 1) for v in value.values()]
        elif isinstance(value, list):
            stack += [(v, depth + 1) for v in value]
    return None


def what_if_scenario(base: Scenario, data: Any) -> Scenario:
    """The served scenario `base` changed by the what-if `data`; InputError with every problem, located by key.

    Problems that need the workbook (unknown ids, teams, quarters) come later, from
    `apply_scenario`, located the same way.
    """
    if not isinstance(data, dict):
        raise InputError(Problem(WHERE, "must be a mapping of scenario keys, like {\"budget\": \"-10%\"}"))
    too_big = _size_problem(data)
    if too_big:
        raise InputError(too_big)
    problems = [Problem(f"{WHERE}, key {key}", "names a file, which a what-if cannot; the workspace plans the served "
                                               "scenario's workbook") for key in REFUSED_KEYS if key in data]
    problems += [Problem(f"{WHERE}, key {key}", "is a setting of planner risk; the workspace shows each what-if's P10 and P90 "
                                                "without it") for key in RISK_KEYS if key in data]
    reading = _Mapping({k: v for k, v in data.items() if k not in REFUSED_KEYS + RISK_KEYS}, problems)
    reading.data = {str(k): v for k, v in reading.data.items()}
    own = _parse_file(reading)
    inherited = {key: getattr(base, key) for key in own}
    merged = _merge(inherited, own)
    places = {**{path: place for path, place in base.places
                 if not any(path == key or path.startswith((f"{key}.", f"{key}[")) for key in own)},
              **reading.places()}
    scenario = replace(base, **merged, places=tuple(places.items()))
    if "stop" in own:  # as load_scenario: a stopped experience is forced out too
        known = {normalise_id(i) for i in scenario.forced_out}
        scenario = replace(scenario, forced_out=scenario.forced_out + tuple(i for i in scenario.stop if normalise_id(i) not in known))
    both = {normalise_id(i) for i in scenario.forced_in} & {normalise_id(i) for i in scenario.forced_out}
    problems += [Problem(key_place(scenario, "forced_out"), f'"{key}" is forced both in and out') for key in sorted(both)]
    if problems:
        raise InputError(problems)
    if "name" not in own:
        scenario = replace(scenario, name=f"{base.name} (what-if)")
    return scenario


def what_if_yaml(base: Scenario, data: dict[str, Any], name: str | None = None) -> str:
    """The what-if as a scenario file extending `base`'s file: `planner plan` on it plans what the workspace planned.

    The what-if is checked first (`what_if_scenario`), so a file is only ever written for a
    what-if the workspace could plan.
    """
    what_if_scenario(base, data)
    keys = {k: v for k, v in data.items() if k not in ("name",)}
    document = {"name": name or data.get("name") or f"{base.name} (what-if)", "extends": str(Path(base.source).resolve()), **keys}
    header = (f"# A what-if from the leadership workspace (planner serve), on {Path(base.source).name}.\n"
              f"# Plan it with: planner plan THIS_FILE.yaml\n")
    return header + yaml.dump(document, Dumper=_PlainDumper, sort_keys=False, allow_unicode=True, default_flow_style=False)


class _PlainDumper(yaml.SafeDumper):
    """Never an anchor or alias: scenario files refuse them (planner.inputs.yaml12)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True
