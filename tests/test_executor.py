"""The shared executor: the same results in this process, on the embedded cluster and on a
separately started Dask scheduler with its own worker processes."""

from __future__ import annotations

import operator
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from planner.analysis.variants import Solve, run_solves
from planner.core.executor import SCHEDULER_VARIABLE, ExecutorError, run_tasks
from planner.analysis.frontier import efficient_frontier
from planner.inputs.scenario import Scenario
from test_analysis import budget_portfolio


def fails_on_three(value: int) -> int:
    if value == 3:
        raise ValueError("three is not allowed")
    return value * 10


def frontier_npvs(**where) -> list[tuple[float, float | None]]:
    curve = efficient_frontier(budget_portfolio(), points=5, **where)
    return [(round(p.budget, 6), None if p.npv is None else round(p.npv, 6)) for p in curve.points]


def test_results_come_back_in_the_order_asked_with_progress_on_the_embedded_cluster():
    seen = []
    results = run_tasks(abs, list(range(-12, 0)), workers=2, progress=lambda done, total: seen.append((done, total)))
    assert results == list(range(12, 0, -1))
    assert seen[-1] == (12, 12) and [d for d, _ in seen] == list(range(1, 13))


@pytest.mark.parametrize("workers", [1, 2])
def test_shared_data_reaches_every_task_whole(workers):
    """A list given as shared data is one value for every task (Dask's scatter would split it)."""
    assert run_tasks(operator.getitem, [3, 0, 2, 1], workers=workers, shared=[10, 20, 30, 40]) == [40, 10, 30, 20]


def test_a_task_that_fails_raises_its_own_error_in_the_caller():
    with pytest.raises(ValueError, match="three is not allowed"):
        run_tasks(fails_on_three, [1, 2, 3, 4], workers=2)


def test_the_frontier_is_the_same_in_this_process_and_on_the_embedded_cluster():
    assert frontier_npvs(workers=1) == frontier_npvs(workers=2)


def test_an_unreachable_scheduler_is_a_clear_error(monkeypatch):
    monkeypatch.setattr("planner.core.executor.CONNECT_TIMEOUT", 2)
    with pytest.raises(ExecutorError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        run_tasks(abs, [-1, -2], scheduler="tcp://127.0.0.1:9")


@pytest.fixture(scope="module")
def separate_cluster(tmp_path_factory: pytest.TempPathFactory):
    """`dask scheduler` and `dask worker` started as processes of their own on 127.0.0.1."""
    dask = shutil.which("dask", path=os.path.dirname(sys.executable)) or shutil.which("dask")
    assert dask, "the dask command comes with the distributed package"
    tmp_path = tmp_path_factory.mktemp("cluster")
    scheduler_file = tmp_path / "scheduler.json"
    log = open(tmp_path / "cluster.log", "wb")
    processes = [subprocess.Popen([dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                   "--scheduler-file", str(scheduler_file)], stdout=log, stderr=log, start_new_session=True)]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() or not scheduler_file.read_text().strip():
            assert time.monotonic() < deadline, (tmp_path / "cluster.log").read_text()
            time.sleep(0.1)
        processes.append(subprocess.Popen([dask, "worker", "--scheduler-file", str(scheduler_file), "--nworkers", "2",
                                           "--nthreads", "1", "--no-dashboard"], stdout=log, stderr=log, start_new_session=True))
        import json

        address = json.loads(scheduler_file.read_text())["address"]
        from distributed import Client

        with Client(address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for process in processes:  # each started a session of its own: stop it, workers and all
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def test_a_separately_started_scheduler_gives_the_same_frontier(separate_cluster):
    assert frontier_npvs(scheduler=separate_cluster) == frontier_npvs(workers=1)


def test_shared_data_reaches_the_tasks_on_a_separately_started_scheduler(separate_cluster):
    # A function its workers can import (they do not have this test module).
    assert run_tasks(operator.getitem, [2, 0, 1], scheduler=separate_cluster, shared=[10, 20, 30]) == [30, 10, 20]


def test_the_scheduler_can_be_named_in_the_environment(separate_cluster, monkeypatch):
    monkeypatch.setenv(SCHEDULER_VARIABLE, separate_cluster)
    solved = run_solves([Solve(budget_portfolio(), Scenario())], workers=1)
    monkeypatch.delenv(SCHEDULER_VARIABLE)
    here = run_solves([Solve(budget_portfolio(), Scenario())], workers=1)
    assert solved[0].plan.npv == pytest.approx(here[0].plan.npv)
    assert [d.experience.id for d in solved[0].plan.funded] == [d.experience.id for d in here[0].plan.funded]


def test_the_embedded_cluster_prints_nothing_when_another_holds_port_8787(tmp_path):
    """Seen: 'UserWarning: Port 8787 is already in use ... Hosting the HTTP server on port ...' in
    the output of planner frontier while another cluster ran; its server must not face the network either."""
    import socket
    import subprocess
    import sys

    holder = socket.socket()
    try:
        holder.bind(("127.0.0.1", 8787))
        holder.listen()
    except OSError:
        pass  # something else holds it already: the case itself
    script = ("from planner.core.executor import run_tasks\n"
              "print(run_tasks(abs, [-1, -2, -3], workers=2))\n")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    holder.close()
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[1, 2, 3]"
    assert "Port 8787" not in result.stderr and "warn" not in result.stderr.lower(), result.stderr


class _Stop(Exception):
    pass


@pytest.mark.parametrize("cores, expected", [(1, 1), (3, 3), (8, 8), (64, 8)])
def test_the_analysis_commands_use_one_worker_per_core_by_default_at_most_eight(monkeypatch, tmp_path, cores, expected):
    """`--workers` was 2 whatever the machine: explain's 105 re-solves of the example (225 CPU s) took
    about 2 minutes on an 8-core machine that could do them in about 30 s."""
    from click.testing import CliRunner

    import planner.core.executor as executor
    from planner.cli import cli

    monkeypatch.setattr(executor.os, "sched_getaffinity", lambda pid: set(range(cores)), raising=False)
    assert executor.default_workers() == expected
    seen = {}

    def explain_called_with(*args, **kwargs):
        seen.update(kwargs)
        raise _Stop

    monkeypatch.setattr("planner.analysis.explain.explain", explain_called_with)
    result = CliRunner().invoke(cli, ["explain", str(Path(__file__).parents[1] / "scenarios" / "base.yaml"), "-o", str(tmp_path)])
    assert isinstance(result.exception, _Stop), result.output
    assert seen["workers"] == expected
