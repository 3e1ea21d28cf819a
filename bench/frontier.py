"""Time a 30-point efficient frontier of the 1,000-experience benchmark portfolio, serial and parallel.

    python bench/frontier.py --size 1000 --points 30 --workers 1 2 --gap 0.001 0.005

The portfolio is `random_portfolio(size, seed)` from bench/generate.py with fixed start
quarters (one start per option: the shape the frontier's many re-solves are meant for;
free starts at a 0.1% gap take up to a minute per solve at this size). Each run is one
`efficient_frontier` call, timed end to end: the no-budget-limit solve, the even grid and
the refinement rounds. Prints the "Frontier" section of docs/benchmarks.md; with
`--write docs/benchmarks.md` it also replaces that section in the report (and only that
section: `bench/run.py --write` keeps it in turn).

Target: a 30-point frontier of the 1,000-experience portfolio in under 30 s on 2 cores
(2 workers).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from generate import random_portfolio  # noqa: E402
from run import load_note, replace_section, section_opening  # noqa: E402

from planner.analysis.frontier import efficient_frontier  # noqa: E402
from planner.inputs.scenario import Scenario  # noqa: E402


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


TARGET_SECONDS = 30.0


def section(runs: list[Run], args: argparse.Namespace, command: str, load_before: float) -> str:
    """The report's "Frontier" section: command, table, verdict against the target, machine load."""
    lines = section_opening("Frontier", command) + [
        f"A {args.points}-point efficient frontier (`planner.analysis.frontier.efficient_frontier`) of `random_portfolio({args.size}, "
        f"{args.seed})` with {args.start_quarters} start quarters, timed end to end (the no-budget-limit solve, the even "
        "grid and the refinement rounds), with 1 and 2 worker processes; each solve runs its LP bound in a second process. "
        f"Target: under {TARGET_SECONDS:g} s on 2 cores with 2 workers.",
        "",
        "| workers | gap | seconds | points | slowest point s | not optimal | NPV at saturation | target |",
        "|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in runs:
        verdict = "-" if r.workers != 2 else ("pass" if r.seconds < TARGET_SECONDS else "**FAIL**")
        lines.append(f"| {r.workers} | {r.gap:.1%} | {r.seconds:.1f} | {r.points} | {r.slowest_point:.1f} | {r.not_optimal} "
                     f"| {r.top_npv:,.0f} | {verdict} |")
    lines += load_note(load_before)
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--points", type=int, default=30)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--gap", type=float, nargs="+", default=[0.001, 0.005])
    parser.add_argument("--start-quarters", choices=("fixed", "free"), default="fixed")
    parser.add_argument("--write", type=Path, help="replace the Frontier section of this report (docs/benchmarks.md)")
    args = parser.parse_args(argv)
    load_before = os.getloadavg()[0]
    runs = []
    for gap in args.gap:
        for workers in args.workers:
            runs.append(run(args.size, args.seed, args.points, workers, gap, args.start_quarters))
            print(f"{workers} workers, gap {gap:.1%}: {runs[-1].seconds:.1f} s", file=sys.stderr, flush=True)
    command = shlex.join(["python", "bench/frontier.py", *(argv if argv is not None else sys.argv[1:])])
    text = section(runs, args, command, load_before)
    print(text)
    if args.write:
        args.write.write_text(replace_section(args.write.read_text(), "Frontier", text))
        print(f"wrote the Frontier section of {args.write}", file=sys.stderr)


if __name__ == "__main__":
    main()
