"""The scenario keys of planning under uncertainty: `risk:` (how estimates are drawn) and
`robust:` (the CVaR floor of the robust plan), validated with located problems.

    risk:   {draws: 2000, seed: 0, distribution: pert, stage_correlation: 30%,
             team_correlation: 20%, confidence: 80%, resolves: 40}
    robust: {cvar_level: 10%, floor: 5,500,000, scenarios: 100, frontier_points: 3,
             time_limit_seconds: 20}

Each key is optional; what is not set keeps the analysis's default (planner.analysis.risk
and planner.analysis.robust). The values travel as plain (key, value) pairs: the analysis
layer turns them into its settings.
"""

from __future__ import annotations

import math
import re
from typing import Any, Callable

from planner.inputs import yaml12

RISK_KEYS = ("draws", "seed", "distribution", "stage_correlation", "team_correlation", "confidence", "resolves")
ROBUST_KEYS = ("cvar_level", "floor", "scenarios", "frontier_points", "time_limit_seconds")
DISTRIBUTIONS = ("pert", "triangular")


def _whole(low: int, high: int) -> Callable[[Any], int]:
    def parse(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ValueError(f"{value!r} is not a whole number from {low:,} to {high:,}")
        return value
    return parse


def _share(low: float, high: float, example: str) -> Callable[[Any], float]:
    def parse(value: Any) -> float:
        number = None
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            number = float(value)
        else:
            match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*%\s*", str(value))
            number = float(match.group(1)) / 100.0 if match else None
        if number is None or not math.isfinite(number) or not low <= number <= high:
            raise ValueError(f"{value!r} is not a share from {low:.0%} to {high:.0%}; type {example}")
        return number
    return parse


def _money(value: Any) -> float:
    """5500000, 5,500,000, 5.5M, 250k or -1M: an amount of money, which may be negative."""
    text = yaml12.text_of(value).strip().replace(",", "").replace("_", "") if not isinstance(value, bool) else ""
    match = re.fullmatch(r"([+-]?\d+(?:\.\d+)?)\s*([kKmM]?)", text)
    if not match:
        raise ValueError(f"{value!r} is not an amount of money; type 5500000, 5.5M or -250k")
    return float(match.group(1)) * {"": 1.0, "k": 1e3, "m": 1e6}[match.group(2).lower()]


def _seconds(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{value!r} is not a number of seconds > 0")
    return float(value)


def _distribution(value: Any) -> str:
    text = str(value).strip().lower()
    if text not in DISTRIBUTIONS:
        raise ValueError(f'"{value}" is not one of {", ".join(DISTRIBUTIONS)}')
    return text


PARSERS: dict[str, dict[str, Callable[[Any], Any]]] = {
    "risk": {
        "draws": _whole(20, 1_000_000), "seed": _whole(0, 2**32 - 1), "distribution": _distribution,
        "stage_correlation": _share(0.0, 1.0, "30% or 0.3"), "team_correlation": _share(0.0, 1.0, "20% or 0.2"),
        "confidence": _share(0.5, 0.999, "80% or 0.8"), "resolves": _whole(1, 100_000),
    },
    "robust": {
        "cvar_level": _share(0.001, 1.0, "10% or 0.1"), "floor": _money, "scenarios": _whole(10, 5_000),
        "frontier_points": _whole(2, 50), "time_limit_seconds": _seconds,
    },
}


def parse_risk_keys(file, data: dict, out: dict) -> None:
    """Read `risk:` and `robust:` of one scenario file into out["risk"] and out["robust"] ((key, value) pairs).

    `file` is the scenario reader's file (planner.inputs.scenario._File): it locates each problem.
    """
    for section, parsers in PARSERS.items():
        if section not in data:
            continue
        mapping = data[section]
        if mapping is None:
            mapping = {}
        if not isinstance(mapping, dict):
            file.problem(section, f"must be a mapping of keys ({', '.join(parsers)})")
            continue
        file.unknown_keys(mapping, tuple(parsers), prefix=f"{section}.")
        values = []
        for key, parse in parsers.items():
            if key in mapping:
                try:
                    values.append((key, parse(mapping[key])))
                except ValueError as error:
                    file.problem(f"{section}.{key}", str(error), mapping, key)
        found = dict(values)
        if found.get("stage_correlation", 0.0) + found.get("team_correlation", 0.0) > 1.0:
            file.problem(f"{section}.team_correlation", "stage_correlation + team_correlation must be at most 100%", mapping,
                         "team_correlation")
        out[section] = tuple(values)
