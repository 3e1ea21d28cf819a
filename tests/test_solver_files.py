"""The files the solver reads are exactly what a plain line-by-line writer gives.

`write_model` builds its MPS files from byte arrays for speed; here every line is written
the obvious way, one f-string at a time, and the two must agree byte for byte, for the
maximisation (the LP's file) and the negated copy (CBC's MIP), on portfolios with every rule
family, free and fixed starts, and elastic models (the infeasibility diagnosis). A faster
writer that changed one byte the solver sees would fail here.
"""

from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from differential import case_spec  # noqa: E402
from generate import random_portfolio  # noqa: E402
from reference import build_case  # noqa: E402

from planner.core.economics import columns  # noqa: E402
from planner.inputs.scenario import Scenario, apply_scenario  # noqa: E402
from planner.optimise.model import Model, Rules, build_model  # noqa: E402
from planner.optimise.optimiser import columns_on_offer  # noqa: E402
from planner.optimise.solve import write_model  # noqa: E402


def plain_mps(model: Model, negate: bool) -> bytes:
    """The MPS file of `model`, line by line: what `write_model` must write."""
    count, extras = len(model.column_ids), len(model.extra_names)
    slacks = len(model.constraints) if model.elastic else 0
    cost = [float(c) for c in np.concatenate([model.objective, model.extra_objective, -model.slack_weight[:slacks]])]
    lines = ["*SENSE:Maximize", "NAME          MODEL", "ROWS", " N  OBJ"]
    lines += [f" {sense}  C{r:07d}" for r, sense in enumerate(model.sense.tolist())] + ["COLUMNS"]
    entries: dict[int, list[tuple[int, float]]] = {}
    for j, c in enumerate(cost):
        if c != 0:
            entries.setdefault(j, []).append((-1, -c if negate else c))
    for r, v, a in zip(*(part.tolist() for part in model.entries)):
        entries.setdefault(v, []).append((r, a))
    for r in range(slacks):
        entries.setdefault(count + extras + r, []).append((r, -1.0 if model.sense[r] == "L" else 1.0))
    lines.append("    MARK      'MARKER'                 'INTORG'")
    for j in range(len(cost)):
        if j == count:
            lines.append("    MARK      'MARKER'                 'INTEND'")
        for r, a in sorted(entries.get(j, []), key=lambda entry: entry[0]):
            lines.append(f"    X{j:07d}  {'OBJ     ' if r < 0 else f'C{r:07d}'}  {a!r}")
    if len(cost) == count:
        lines.append("    MARK      'MARKER'                 'INTEND'")
    lines.append("RHS")
    lines += [f"    RHS       C{r:07d}  {float(v)!r}" for r, v in enumerate(model.rhs.tolist()) if v != 0]
    lines.append("BOUNDS")
    capped = [count + extras + r for r in range(slacks) if model.sense[r] == "E"]
    lines += [f" UP BND       X{j:07d}  1" for j in list(range(count)) + capped]
    lines.append("ENDATA")
    return ("\n".join(lines) + "\n").encode("ascii")


def differential_case(index: int):
    portfolio, scenario = build_case(case_spec(1, index, 40, 120, 30.0))
    return portfolio, replace(scenario, solver="cbc")


CASES = {
    "random, fixed starts": lambda: (random_portfolio(300, 2, start_quarters="fixed"), Scenario(start_quarters="fixed")),
    "random, free starts": lambda: (random_portfolio(150, 3), Scenario(start_quarters="free")),
    **{f"differential {index}": (lambda index=index: differential_case(index)) for index in range(6)},
}


def built(portfolio, scenario, elastic: bool = False) -> Model:
    portfolio = apply_scenario(portfolio, scenario)
    rules = Rules.of(scenario)
    cols = columns(portfolio)
    return build_model(portfolio, rules, cols, columns_on_offer(portfolio, rules, cols), elastic=elastic)


@pytest.mark.parametrize("elastic", [False, True], ids=["model", "elastic model"])
@pytest.mark.parametrize("case", list(CASES))
def test_mps_files_are_what_a_plain_writer_writes(case, elastic, tmp_path):
    model = built(*CASES[case](), elastic=elastic)
    assert len(model.column_ids) > 0
    written = write_model(model, str(tmp_path), negate_objective=True)
    assert Path(written.path).read_bytes() == plain_mps(model, negate=False)
    assert Path(written.negated_path).read_bytes() == plain_mps(model, negate=True)


def test_a_model_without_negated_copy_is_written_once(tmp_path):
    model = built(*CASES["random, fixed starts"]())
    written = write_model(model, str(tmp_path))
    assert written.negated_path is None and not (tmp_path / "model.min.mps").exists()
    assert Path(written.path).read_bytes() == plain_mps(model, negate=False)
