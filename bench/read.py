"""How long `read_portfolio` takes on one workbook, each read in a fresh Python process.

bench/run.py times the read as the first stage of every case; this script times only the
read, many times, so a change to the reader can be judged on a median rather than one
sample. Each read runs in its own process, after the imports a case does (the planner's
optimiser and the reader), so the timing is the one bench/run.py reports: the first read
in a fresh process, imports excluded. Wall-clock and CPU seconds are both shown: on a
shared machine the CPU time moves less with other people's load.

    python bench/generate.py 10000 -o /tmp/p10k.xlsx
    python bench/read.py /tmp/p10k.xlsx                 # 9 fresh processes, one read each
    python bench/read.py /tmp/p10k.xlsx --runs 15
    python bench/read.py /tmp/p10k.xlsx --profile       # cProfile of one read, by own time
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

# The child: the imports a bench/run.py case makes before it starts its clock, then one timed read.
_CHILD = """
import json, sys, time
import planner.optimise.optimiser
from planner.inputs.workbook import read_portfolio
wall, cpu = time.perf_counter(), time.process_time()
portfolio = read_portfolio(sys.argv[1])
print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu,
                  "experiences": len(portfolio.experiences)}))
"""

_PROFILE = """
import cProfile, pstats, sys
import planner.optimise.optimiser
from planner.inputs.workbook import read_portfolio
profiler = cProfile.Profile()
profiler.runcall(read_portfolio, sys.argv[1])
pstats.Stats(profiler).sort_stats("tottime").print_stats(int(sys.argv[2]))
"""


def read_once(workbook: Path) -> dict[str, float]:
    """One read in a fresh process: wall and CPU seconds, and how many experiences were read."""
    done = subprocess.run([sys.executable, "-c", _CHILD, str(workbook)], check=True, capture_output=True, text=True)
    return json.loads(done.stdout)


def summary(name: str, seconds: list[float]) -> str:
    ordered = sorted(seconds)
    return f"{name}: median {statistics.median(ordered):.3f} s (from {ordered[0]:.3f} to {ordered[-1]:.3f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description="Time read_portfolio on a workbook, one read per fresh process.")
    parser.add_argument("workbook", type=Path)
    parser.add_argument("--runs", type=int, default=9, help="fresh processes, one read each (default 9)")
    parser.add_argument("--profile", action="store_true", help="profile one read instead, and print the top functions")
    parser.add_argument("--top", type=int, default=30, help="functions shown with --profile")
    args = parser.parse_args()
    if args.profile:
        subprocess.run([sys.executable, "-c", _PROFILE, str(args.workbook), str(args.top)], check=True)
        return
    reads = [read_once(args.workbook) for _ in range(args.runs)]
    print(f"{args.workbook} ({reads[0]['experiences']:,} experiences), {args.runs} fresh processes, "
          f"load average {os.getloadavg()[0]:.2f} at the end")
    print(summary("wall", [r["wall"] for r in reads]))
    print(summary("cpu ", [r["cpu"] for r in reads]))


if __name__ == "__main__":
    main()
