"""What the solver sees, as hashes: the MPS files and CBC start file `plan_portfolio` writes, for a set of portfolios.

    python bench/solver_files.py --out before.json                 # on one commit
    python bench/solver_files.py --compare before.json             # on another: byte-identical or not, case by case
    python bench/solver_files.py --workbook bench/out/portfolio-10000-seed1.xlsx --compare before.json

Speed work outside the solver must not change what the solver sees. For each case this
runs the real `plan_portfolio` up to the moment the MIP's solver process starts, then
stops it and records the SHA-256 of model.mps (the LP's file), model.min.mps (CBC's MIP)
and mip.mst (CBC's starting plan). Cases: the differential run's random portfolios
(bench/differential.py: free and fixed starts, dependencies, exclusions, mandatory and forced
items, balance rules, ROI hurdle), the bundled example with every bundled scenario, and any
workbook given, in fixed and free starts.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

from planner.core.errors import PlannerError  # noqa: E402
from planner.inputs.scenario import Scenario, load_scenario  # noqa: E402
from planner.inputs.workbook import read_portfolio  # noqa: E402
from planner.optimise import optimiser  # noqa: E402


class _Captured(Exception):
    """Raised once the MIP's files are written: nothing after that is what this script measures."""


def solver_files(portfolio, scenario) -> dict[str, str]:
    """The SHA-256 of each file the solver reads for this plan (those written; "" for none)."""
    found: dict[str, str] = {}
    real_start = optimiser.start_solve

    def capture(written, solver, relax, time_limit, gap, warm_start=None, name="solve"):
        run = real_start(written, solver, relax, time_limit, gap, warm_start, name=name)
        if relax:
            return run
        run.stop()
        for label, path in (("mps", written.path), ("min.mps", written.negated_path), ("mst", run.files + ".mst")):
            found[label] = _sha256(path) if path and os.path.exists(path) else ""
        raise _Captured

    optimiser.start_solve = capture
    try:
        optimiser.plan_portfolio(portfolio, scenario)
    except _Captured:
        pass
    except PlannerError as error:  # refused before any solve (a mandatory item that cannot be delivered): say so
        found["refused"] = type(error).__name__
    finally:
        optimiser.start_solve = real_start
    return found


def _sha256(path: str) -> str:
    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def cases(count: int, workbooks: list[Path]):
    """(name, portfolio, scenario) of every case."""
    from differential import case_spec
    from reference import build_case

    for index in range(count):
        spec = case_spec(1, index, 40, 400, 30.0)
        portfolio, scenario = build_case(spec)
        yield f"differential-{index}", portfolio, replace(scenario, solver="cbc")
    root = HERE.parent / "scenarios"
    example = read_portfolio(root / "example-portfolio.xlsx")
    for path in sorted(root.glob("*.yaml")):
        scenario = load_scenario(path)
        if scenario.workbook and Path(scenario.workbook).name != "example-portfolio.xlsx":
            continue  # a scenario of another workbook (the Q2 roll)
        yield f"example-{path.stem}", example, replace(scenario, solver="cbc")
    for workbook in workbooks:
        portfolio = read_portfolio(workbook)
        for mode, gap in (("fixed", 0.001), ("free", 0.005)):
            yield f"{workbook.stem}-{mode}", portfolio, Scenario(name=mode, solver="cbc", gap=gap, start_quarters=mode)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=40, help="random portfolios of the differential run")
    parser.add_argument("--workbook", type=Path, action="append", default=[])
    parser.add_argument("--out", type=Path, help="save the hashes here")
    parser.add_argument("--compare", type=Path, help="compare with hashes saved before")
    args = parser.parse_args()
    hashes = {}
    for name, portfolio, scenario in cases(args.count, args.workbook):
        hashes[name] = solver_files(portfolio, scenario)
        print(name, " ".join(f"{k}={v[:12]}" for k, v in hashes[name].items()), flush=True)
    if args.out:
        args.out.write_text(json.dumps(hashes, indent=1) + "\n")
    if args.compare:
        before = json.loads(args.compare.read_text())
        shared = sorted(set(before) & set(hashes))
        differ = [name for name in shared if before[name] != hashes[name]]
        files = sum(1 for name in shared for v in hashes[name].values() if v)
        print(f"{len(shared)} cases, {files} files compared: {len(differ)} differ" + (f": {', '.join(differ)}" if differ else ""))
        sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
