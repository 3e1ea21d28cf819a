"""Benchmarks of the risk analysis: Monte Carlo scoring, stability re-solves, `planner risk`.

    python bench/risk.py --mc --stability --example --write docs/benchmarks.md

- mc: a 10,000-experience plan (bench/generate.py, fixed starts) scored in 2,000 draws
  (sampling + scoring, median of three runs); target <= 2 s.
- stability: 200 re-solves of a 1,000-experience portfolio, one worker in this process, the
  embedded cluster with two workers, and a `dask scheduler` with two `dask worker`
  processes started separately; target <= 120 s embedded, speed-up reported.
- example: `planner risk scenarios/base.yaml` with its defaults, wall clock; target <= 60 s.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from generate import random_portfolio  # noqa: E402

from planner.analysis import risk  # noqa: E402
from planner.core.domain import Estimates, Portfolio  # noqa: E402
from planner.optimise.optimiser import plan_portfolio  # noqa: E402

SECTION = "## Risk analysis"


def uncertain(portfolio: Portfolio, seed: int = 0) -> Portfolio:
    """Reach +-20%, one-off cost -5%..+40%, and a slip of up to a quarter for a third of the experiences."""
    rng = np.random.default_rng(seed)
    slips = rng.random(len(portfolio.experiences)) < 1 / 3
    return replace(portfolio, experiences=tuple(
        replace(e, estimates=Estimates(reach_low=0.8 * e.reach_per_quarter, reach_high=1.2 * e.reach_per_quarter,
                                       cost_low=0.95, cost_high=1.4, slip_high=int(slip)))
        for e, slip in zip(portfolio.experiences, slips.tolist())))


def monte_carlo(size: int = 10_000, draws: int = 2_000, repeats: int = 3) -> dict:
    portfolio = uncertain(random_portfolio(size, seed=1))
    portfolio = replace(portfolio, settings=replace(portfolio.settings, start_quarters="fixed", gap=0.001))
    plan = plan_portfolio(portfolio)
    settings = risk.RiskSettings(draws=draws, seed=1)
    risk._pert_table()  # built once per process; counted separately below
    times, cpu = [], []
    for _ in range(repeats):
        started, started_cpu = time.perf_counter(), time.process_time()
        simulation = risk.simulate(plan, risk.sample_for([plan], settings))
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    table = time.perf_counter()
    risk._pert_table.cache_clear()
    risk._pert_table()
    return {"experiences": size, "funded": len(plan.funded), "draws": draws, "seconds": statistics.median(times),
            "cpu_seconds": statistics.median(cpu),
            "table_seconds": time.perf_counter() - table, "mean": simulation.mean.value}


def _separate_cluster(folder: Path) -> tuple[str, list[subprocess.Popen]]:
    dask = str(Path(sys.executable).with_name("dask"))
    scheduler_file = folder / "scheduler.json"
    log = open(folder / "cluster.log", "wb")
    processes = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                   "--scheduler-file", str(scheduler_file)], stdout=log, stderr=log, start_new_session=True)]
    while not scheduler_file.exists() or not scheduler_file.read_text().strip():
        time.sleep(0.1)
    processes.append(subprocess.Popen([dask, "worker", "--scheduler-file", str(scheduler_file), "--nworkers", "2", "--nthreads", "1",
                                       "--no-dashboard"], stdout=log, stderr=log, start_new_session=True))
    address = json.loads(scheduler_file.read_text())["address"]
    from distributed import Client

    with Client(address, timeout=30, set_as_default=False) as client:
        client.wait_for_workers(2, timeout=60)
    return address, processes


def stability(size: int = 1_000, resolves: int = 200, baseline: int | None = None) -> dict:
    """`baseline` re-solves in this process, one after the other, give the one-worker time per
    re-solve (all `resolves` by default; fewer on a busy machine), scaled to `resolves`."""
    portfolio = uncertain(random_portfolio(size, seed=2))
    portfolio = replace(portfolio, settings=replace(portfolio.settings, gap=0.005))
    plan = plan_portfolio(portfolio)
    settings = risk.RiskSettings(seed=3)
    baseline = resolves if baseline is None else baseline
    found = {"experiences": size, "resolves": resolves, "baseline resolves": baseline}
    shares = {}
    started = time.perf_counter()
    risk.stability(plan, settings, resolves=baseline, workers=1)
    found["one worker"] = (time.perf_counter() - started) * resolves / baseline
    print(f"one worker, {baseline} re-solves: {time.perf_counter() - started:.1f} s", flush=True)  # a long run's phases as they end
    started = time.perf_counter()
    result = risk.stability(plan, settings, resolves=resolves, workers=2)
    found["embedded, 2 workers"] = time.perf_counter() - started
    print(f"embedded, 2 workers, {resolves} re-solves: {found['embedded, 2 workers']:.1f} s", flush=True)
    shares["embedded"] = [m.share for m in result.members]
    with tempfile.TemporaryDirectory() as folder:
        address, processes = _separate_cluster(Path(folder))
        try:
            started = time.perf_counter()
            result = risk.stability(plan, settings, resolves=resolves, scheduler=address)
            found["scheduler, 2 worker processes"] = time.perf_counter() - started
            shares["scheduler"] = [m.share for m in result.members]
        finally:
            for process in processes:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    found["same result"] = len({tuple(v) for v in shares.values()}) == 1
    return found


def example() -> dict:
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        subprocess.run([str(Path(sys.executable).with_name("planner")), "risk", str(ROOT / "scenarios" / "base.yaml"), "-o", folder],
                       check=True, capture_output=True)
        return {"seconds": time.perf_counter() - started}


def markdown(results: dict, command: str) -> str:
    lines = [SECTION, "", f"Measured on {time.strftime('%Y-%m-%d')} with:", "", "```", command, "```", "",
             "| target | measured | result |", "|---|---|---|"]
    if "mc" in results:
        mc = results["mc"]
        lines.append(f"| Monte Carlo of a {mc['experiences']:,}-experience plan ({mc['funded']:,} funded), {mc['draws']:,} draws, <= 2 s "
                     f"| {mc['seconds']:.2f} s wall, {mc.get('cpu_seconds', float('nan')):.2f} CPU-seconds (median of 3; the PERT table, built once "
                     f"per process, {mc['table_seconds']:.2f} s more) "
                     f"| {'pass' if mc['seconds'] <= 2 else '**miss**'} |")
    if "stability" in results:
        st = results["stability"]
        one, embedded, remote = st["one worker"], st["embedded, 2 workers"], st["scheduler, 2 worker processes"]
        scaled = "" if st["baseline resolves"] == st["resolves"] else f", timed on {st['baseline resolves']} and scaled"
        lines.append(f"| stability, {st['resolves']} re-solves of {st['experiences']:,} experiences, embedded cluster <= 120 s "
                     f"| {embedded:.1f} s with 2 workers ({one / embedded:.2f}x one worker's {one:.1f} s{scaled}) "
                     f"| {'pass' if embedded <= 120 else '**miss**'} |")
        lines.append(f"| the same on a separately started scheduler with two worker processes | {remote:.1f} s "
                     f"({one / remote:.2f}x one worker); same core indices as the embedded cluster: {'yes' if st['same result'] else 'NO'} "
                     f"| {'pass' if remote <= 120 and st['same result'] else '**miss**'} |")
    if "example" in results:
        lines.append(f"| `planner risk scenarios/base.yaml` with its defaults <= 60 s | {results['example']['seconds']:.1f} s "
                     f"| {'pass' if results['example']['seconds'] <= 60 else '**miss**'} |")
    return "\n".join(lines) + "\n"


def write_section(path: Path, text: str) -> None:
    """Replace (or append) the risk section of docs/benchmarks.md."""
    current = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    if SECTION in current:
        head, rest = current.split(SECTION, 1)
        tail = rest[rest.find("\n## "):] if "\n## " in rest else ""
        current = head.rstrip("\n") + "\n\n" + text + tail
    else:
        current = current.rstrip("\n") + "\n\n" + text
    path.write_text(current, encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mc", action="store_true")
    parser.add_argument("--stability", action="store_true")
    parser.add_argument("--example", action="store_true")
    parser.add_argument("--resolves", type=int, default=200)
    parser.add_argument("--baseline-resolves", type=int, help="re-solves timed with one worker (default: --resolves), scaled up")
    parser.add_argument("--write", type=Path, help="replace the risk section of this markdown file")
    args = parser.parse_args(argv)
    results = {}
    if args.mc:
        results["mc"] = monte_carlo()
    if args.stability:
        results["stability"] = stability(resolves=args.resolves, baseline=args.baseline_resolves)
    if args.example:
        results["example"] = example()
    text = markdown(results, "python " + " ".join([Path(sys.argv[0]).as_posix()] + (argv if argv is not None else sys.argv[1:])))
    print(json.dumps(results, indent=2))
    print(text)
    if args.write:
        write_section(args.write, text)


if __name__ == "__main__":
    main()
