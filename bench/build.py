"""Time the build stages alone, several times in one warm process: economics, greedy, model, MPS file.

    python bench/build.py WORKBOOK [fixed|free] [--repeat 5]

The build is what `plan.solve.build_seconds` counts before the solvers start. Each stage
runs `--repeat` times and the median is printed with the fastest and slowest run, since
other work on a shared machine makes single timings noisy. The MPS file is timed alone and
with its negated-objective copy (what CBC needs to keep a warm start).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from planner.optimise import optimiser as optimise
from planner.optimise.model import build_model
from planner.optimise.solve import write_model
from planner.inputs.scenario import Scenario, apply_scenario
from planner.inputs.workbook import read_portfolio


def timed(times: dict[str, list[tuple[float, float]]], label: str, function, *args, **keywords):
    """Run the stage and record (wall-clock, CPU) seconds: on a busy machine CPU time is the steadier of the two."""
    started, cpu = time.perf_counter(), time.process_time()
    result = function(*args, **keywords)
    times.setdefault(label, []).append((time.perf_counter() - started, time.process_time() - cpu))
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workbook", type=Path)
    parser.add_argument("mode", nargs="?", choices=("fixed", "free"), default="fixed")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    portfolio = read_portfolio(args.workbook)
    scenario = Scenario(start_quarters=args.mode)
    planned = apply_scenario(portfolio, scenario)
    rules = optimise.Rules.of(scenario)
    times: dict[str, list[tuple[float, float]]] = {}
    for _ in range(args.repeat):
        started, cpu = time.perf_counter(), time.process_time()
        cols = timed(times, "economics of every choice", optimise.columns, planned)
        keep = timed(times, "columns on offer", optimise.columns_on_offer, planned, rules, cols)
        timed(times, "greedy baseline", optimise.greedy_baseline, planned, rules, cols, keep)
        model = timed(times, "model (matrix form)", build_model, planned, rules, cols, keep)
        with tempfile.TemporaryDirectory(prefix="planner-build-") as folder:
            written = timed(times, "MPS file", write_model, model, folder)
            times.setdefault("build (the above)", []).append((time.perf_counter() - started, time.process_time() - cpu))
            size = os.path.getsize(written.path)
        with tempfile.TemporaryDirectory(prefix="planner-build-") as folder:
            timed(times, "MPS file and negated copy", write_model, model, folder, negate_objective=True)
    print(f"{len(model.variables):,} variables, {len(model.constraints):,} rows, MPS {size / 1e6:.1f} MB; "
          f"median of {args.repeat} runs (fastest - slowest); load average {os.getloadavg()[0]:.2f}")
    print(f"{'':28s} {'wall-clock s':>22s}   {'CPU s':>22s}")
    for label, runs in times.items():
        wall, cpu = ([run[k] for run in runs] for k in (0, 1))
        print(f"{label:28s} {statistics.median(wall):6.3f} ({min(wall):.3f} - {max(wall):.3f})   "
              f"{statistics.median(cpu):6.3f} ({min(cpu):.3f} - {max(cpu):.3f})")


if __name__ == "__main__":
    main()
