"""Loopback load test of the leadership workspace (`planner serve`): re-plan latency, errors, memory.

Starts `planner serve SCENARIO` on a free 127.0.0.1 port in its own process, waits for the
plan of record, then runs N clients, each sending M what-ifs one after the other through
POST /api/plan (each client is one page: its own X-Planner-Page, so nothing is cancelled).
Every request is bounded (a client timeout), every loop is bounded by its count, and the
server is stopped at the end. Only 127.0.0.1 is ever contacted.

What-ifs come from a seeded menu (`--menu K`: K distinct what-ifs, as a slider's stops
repeat across people, so later requests can be answered from the workspace's memory of
recent plans) or are all distinct (`--menu 0`: every request is a solve).

Reported: requests, errors (any answer but 200, or none), latency p50/p95/max, requests per
second, and the server's resident memory (its own process, from /proc) at the start, at
each quarter of the run and at the end, so growth shows.

    python bench/serve.py --clients 20 --what-ifs 50 --menu 40            # the load test
    python bench/serve.py --clients 10 --what-ifs 5 --menu 0              # 10 users, every what-if solved
    python bench/serve.py --experiences 1000 --clients 1 --what-ifs 8 --menu 0
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
TEAMS = ("Digital", "Data & Platforms", "Operations", "Contact centre")
STAGES = ("discover", "choose", "buy", "use", "get help", "renew or leave")


def what_ifs(count: int, seed: int, experiences: list[str]) -> list[dict]:
    """Seeded what-ifs of the kinds the page makes: budget, capacity, force in/out, uplift by stage."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        kind = rng.randrange(5)
        if kind == 0:
            out.append({"budget": f"{rng.randint(-30, 20):+d}%"})
        elif kind == 1:
            out.append({"budget": {"total": rng.randrange(6_000_000, 11_000_000, 50_000)}} if len(experiences) < 100
                       else {"budget": f"{rng.randint(-30, 20):+d}%", "gap": "0.5%"})
        elif kind == 2:
            out.append({"capacity": {rng.choice(TEAMS): f"{rng.choice([-40, -20, -10, 10, 20, 50]):+d}%"}})
        elif kind == 3:
            out.append({rng.choice(["forced_in", "forced_out"]): [rng.choice(experiences)]})
        else:
            out.append({"adjust": [{"where": {"journey_stage": rng.choice(STAGES)}, "uplift": f"{rng.choice([-30, -10, 10, 30]):+d}%"}]})
    return out


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mib(pid: int) -> float:
    text = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", text).group(1)) / 1024


def start_server(scenario: Path, port: int, time_limit: float) -> subprocess.Popen:
    planner = Path(sys.executable).with_name("planner")
    process = subprocess.Popen([str(planner), "serve", str(scenario), "--port", str(port), "--time-limit", str(time_limit)],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 900
    for line in process.stdout:
        if "Leadership workspace:" in line:
            break
        if time.monotonic() > deadline:
            break
    threading.Thread(target=process.stdout.read, daemon=True).start()  # keep the pipe drained
    base = f"http://127.0.0.1:{port}"
    while time.monotonic() < deadline:
        try:
            if httpx.get(base + "/api/plan", timeout=5).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise SystemExit("the workspace did not start")


def run(scenario: Path, clients: int, per_client: int, menu: int, seed: int, time_limit: float) -> dict:
    port = free_port()
    server = start_server(scenario, port, time_limit)
    base = f"http://127.0.0.1:{port}"
    try:
        record = httpx.get(base + "/api/plan", timeout=30).json()
        ids = [e["id"] for e in record["experiences"]]
        pool = what_ifs(menu or clients * per_client, seed, ids)
        rng = random.Random(seed + 1)
        plans = [[pool[rng.randrange(len(pool))] if menu else pool[c * per_client + i] for i in range(per_client)] for c in range(clients)]
        latencies: list[float] = []
        errors: list[str] = []
        lock = threading.Lock()
        memory = [(0.0, rss_mib(server.pid))]
        started = time.monotonic()
        done = threading.Event()

        def client(number: int) -> None:
            with httpx.Client(base_url=base, timeout=time_limit * 4 + 60) as http:
                for what_if in plans[number]:
                    begin = time.monotonic()
                    try:
                        answer = http.post("/api/plan", json=what_if, headers={"x-planner-page": f"bench-{number}"})
                        failed = None if answer.status_code == 200 else f"{answer.status_code}: {answer.text[:200]}"
                    except httpx.HTTPError as error:
                        failed = f"{type(error).__name__}: {error}"
                    with lock:
                        latencies.append(time.monotonic() - begin)
                        if failed:
                            errors.append(f"{json.dumps(what_if)} -> {failed}")

        def sample() -> None:
            while not done.wait(0.5):
                memory.append((time.monotonic() - started, rss_mib(server.pid)))

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - started
        done.set()
        sampler.join()
        memory.append((elapsed, rss_mib(server.pid)))
        progress = httpx.get(base + "/api/progress?page=none", timeout=10).json()
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
    ordered = sorted(latencies)
    quarters = [min(memory, key=lambda m: abs(m[0] - elapsed * q / 4))[1] for q in range(5)]
    return {
        "requests": len(latencies), "errors": len(errors), "error_examples": errors[:5],
        "solves": progress["completed"], "p50": statistics.median(ordered),
        "p95": ordered[max(0, int(round(0.95 * len(ordered))) - 1)], "max": ordered[-1],
        "seconds": elapsed, "per_second": len(latencies) / elapsed, "memory_mib": quarters, "memory_peak_mib": max(m for _, m in memory),
    }


def large_scenario(experiences: int, folder: Path) -> Path:
    """A seeded portfolio of `experiences` (bench/generate.py) and a scenario planning it."""
    workbook = folder / f"portfolio-{experiences}.xlsx"
    subprocess.run([sys.executable, str(ROOT / "bench" / "generate.py"), str(experiences), "--seed", "1", "-o", str(workbook)], check=True)
    scenario = folder / f"portfolio-{experiences}.yaml"
    scenario.write_text(f"name: Seeded {experiences}\nworkbook: {workbook.name}\ngap: 0.5%\n")
    return scenario


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "base.yaml")
    parser.add_argument("--experiences", type=int, help="serve a seeded random portfolio of this size instead")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--what-ifs", type=int, default=50, help="what-ifs per client, sent one after the other")
    parser.add_argument("--menu", type=int, default=40, help="distinct what-ifs to draw from; 0: every what-if distinct")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=30.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        scenario = large_scenario(args.experiences, Path(folder)) if args.experiences else args.scenario
        load = os.getloadavg()
        result = run(scenario, args.clients, args.what_ifs, args.menu, args.seed, args.time_limit)
    memory = " / ".join(f"{m:.0f}" for m in result["memory_mib"])
    print(f"| {args.experiences or scenario.name} | {args.clients} x {args.what_ifs} | {args.menu or 'all distinct'} | {result['requests']} "
          f"| {result['solves']} | {result['errors']} | {result['p50']:.2f} | {result['p95']:.2f} | {result['max']:.2f} "
          f"| {result['per_second']:.1f} | {memory} (peak {result['memory_peak_mib']:.0f}) | {load[0]:.1f} |")
    for example in result["error_examples"]:
        print("error:", example)


if __name__ == "__main__":
    main()
