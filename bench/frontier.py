"""Time a 30-point efficient frontier of the 1,000-experience benchmark portfolio, serial and parallel.

    python bench/frontier.py --size 1000 --points 30 --workers 1 2 --gap 0.001 0.005

The portfolio is `random_portfolio(size, seed)` from bench/generate.py with fixed start
quarters (one start per option: the shape the frontier's many re-solves are meant for;
free starts at a 0.1% gap take up to a minute per solve at this size). Each run is one
`efficient_frontier` call, timed end to end: the no-budget-limit solve, the even grid and
the refinement rounds. Prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import random_portfolio  # noqa: E402

from planner.frontier import efficient_frontier  # noqa: E402
from planner.scenario import Scenario  # noqa: E402


@dataclass(frozen=True)
class Run:
    workers: int
    gap: float
    seconds: float
    points: int
    slowest_point: float
    not_optimal: int
    top_npv: float


def run(size: int, seed: int, points: int, workers: int, gap: float, start_quarters: str) -> Run:
    portfolio = random_portfolio(size, seed)
    scenario = Scenario(name=f"bench {size}", start_quarters=start_quarters, gap=gap)
    started = time.perf_counter()
    frontier = efficient_frontier(portfolio, scenario, points=points, workers=workers)
    seconds = time.perf_counter() - started
    feasible = frontier.feasible_points
    return Run(workers, gap, seconds, len(frontier.points), max(p.seconds for p in feasible),
               sum(p.status != "optimal" for p in frontier.points), feasible[-1].npv)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--points", type=int, default=30)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--gap", type=float, nargs="+", default=[0.001, 0.005])
    parser.add_argument("--start-quarters", choices=("fixed", "free"), default="fixed")
    args = parser.parse_args()
    print(f"{args.size} experiences (seed {args.seed}), {args.start_quarters} starts, {args.points} points, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at the start\n")
    print("| workers | gap | seconds | points | slowest point s | not optimal | NPV at saturation |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for gap in args.gap:
        for workers in args.workers:
            r = run(args.size, args.seed, args.points, workers, gap, args.start_quarters)
            print(f"| {r.workers} | {r.gap:.1%} | {r.seconds:.1f} | {r.points} | {r.slowest_point:.1f} | {r.not_optimal} "
                  f"| {r.top_npv:,.0f} |", flush=True)


if __name__ == "__main__":
    main()
