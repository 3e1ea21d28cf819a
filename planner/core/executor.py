"""Where re-solving work runs: one executor for every analysis that solves many variants.

The frontier, comparisons, explanations, sensitivity (and the risk analyses) each ask
for many independent solves. They hand them to `run_tasks`, which runs them

- in this process, one after the other, when one worker is asked for and no cluster is
  named (no start-up cost, the natural choice for a handful of solves);
- on an embedded Dask `LocalCluster` otherwise: worker processes with one thread each,
  started once per process and kept for the next call (a frontier asks several rounds),
  closed when the process exits;
- on an existing Dask cluster when a scheduler address is given (`--scheduler
  tcp://HOST:PORT`, or the environment variable PLANNER_SCHEDULER). Its workers need
  planner installed; they receive plain data (portfolios, scenarios, plans: frozen
  dataclasses) and a module-level function, never a solver object, and build and solve
  the model themselves in solver processes of their own.

Results come back in the order the tasks were given, whatever the number of workers or
where they ran, so an analysis never depends on how it was run.

Data every task needs (a portfolio of a thousand experiences, the base plan) is given once
as `shared`: on a cluster it is sent to each worker once (scattered, broadcast) and each
task carries only what differs, instead of the whole portfolio travelling with every task
(200 re-solves of a 1,000-experience portfolio made a task graph of about 200 MB).

Why the embedded workers are forked: Dask starts worker processes with `spawn` by default,
which runs the caller's main script again in each worker: a script without an `if
__name__ == "__main__"` guard then starts a cluster inside every worker. Forking is safe
here because no solver ever runs inside a Python process of ours (`planner.optimise.model` runs
CBC and HiGHS in processes of their own), so a forked worker inherits no solver threads.
Where `fork` does not exist (Windows), workers are spawned and scripts need the guard.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from planner.core.errors import PlannerError

T = TypeVar("T")
R = TypeVar("R")
Progress = Callable[[int, int], None]

SCHEDULER_VARIABLE = "PLANNER_SCHEDULER"
# Seconds to wait for a named scheduler to answer before saying it cannot be reached.
CONNECT_TIMEOUT = 10
# The analysis commands' default --workers: every core this process may use, at most this
# many (each worker is a Python process of about 150 MB, and each solve adds a short LP process).
MAX_DEFAULT_WORKERS = 8

log = logging.getLogger(__name__)


class ExecutorError(PlannerError):
    """A cluster could not be started or reached."""


_NOTHING: Any = object()  # no shared data: the function takes the task alone


def default_workers() -> int:
    """The cores this process may use (its CPU affinity where the platform has it), at most MAX_DEFAULT_WORKERS."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # macOS and Windows have no affinity call
        cores = os.cpu_count() or 1
    return max(1, min(MAX_DEFAULT_WORKERS, cores))


def run_tasks(function: Callable[..., R], tasks: Sequence[T], workers: int = 1, progress: Progress | None = None,
              scheduler: str | None = None, shared: Any = _NOTHING) -> list[R]:
    """`[function(t) for t in tasks]`, or `[function(shared, t) for t in tasks]` when `shared` is
    given, in this process, on an embedded cluster or on a named one.

    `function` must be a module-level function (workers import it by name). `scheduler`
    (or PLANNER_SCHEDULER) names an existing Dask scheduler; otherwise more than one
    worker means the embedded cluster with `workers` processes. `shared` (plain data) is
    sent to each worker once, not with every task. `progress(done, total)` is called as
    results arrive. An exception raised by a task is raised here.
    """
    tasks = list(tasks)
    scheduler = scheduler or os.environ.get(SCHEDULER_VARIABLE) or None
    if scheduler is None and (workers <= 1 or len(tasks) <= 1):
        return _run_here(function, tasks, progress, shared)
    if scheduler is None:
        return _run_on(_embedded_client(workers), function, tasks, progress, shared)
    # A named cluster is asked afresh each time: it may have been restarted in between.
    with _connect(scheduler) as client:
        return _run_on(client, function, tasks, progress, shared)


def _run_here(function: Callable[..., R], tasks: list[T], progress: Progress | None, shared: Any) -> list[R]:
    results = []
    for done, task in enumerate(tasks, 1):
        results.append(function(task) if shared is _NOTHING else function(shared, task))
        if progress:
            progress(done, len(tasks))
    return results


def _run_on(client: Any, function: Callable[..., R], tasks: list[T], progress: Progress | None, shared: Any) -> list[R]:
    from distributed import as_completed

    if not tasks:
        return []
    # pure=False: two equal tasks are still two solves (a task is cheap to send, and
    # hashing a large portfolio to deduplicate costs more than it saves).
    if shared is _NOTHING:
        futures = client.map(function, tasks, pure=False)
    else:
        # Sent once to every worker; each task names it, so the scheduler sends nothing more.
        # (In a list of one: scatter would send a list's or a dict's items one by one.)
        held = client.scatter([shared], broadcast=True, hash=False)[0]
        futures = client.map(function, [held] * len(tasks), tasks, pure=False)
    position = {future.key: n for n, future in enumerate(futures)}
    results: list[Any] = [None] * len(tasks)
    try:
        for done, future in enumerate(as_completed(futures, loop=client.loop), 1):
            results[position[future.key]] = future.result()
            if progress:
                progress(done, len(tasks))
    except BaseException:
        client.cancel(futures)
        raise
    return results


# ---------------------------------------------------------------------------------------
# Embedded clusters, kept for the life of the process

_clients: dict[int, Any] = {}
_clusters: list[Any] = []
_lock = threading.Lock()
# The process that started them: a forked worker inherits these tables (and the exit hook)
# but must never touch its parent's clients.
_owner = os.getpid()


def _embedded_client(workers: int) -> Any:
    with _lock:
        client = _clients.get(workers)
        if client is None or client.status != "running":
            client = _clients[workers] = _embedded(workers)
        return client


def _connect(address: str) -> Any:
    from distributed import Client

    try:
        return Client(address, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as error:
        raise ExecutorError(f"cannot reach the Dask scheduler at {address}: {error}") from error


def _embedded(workers: int) -> Any:
    import dask
    from distributed import Client, LocalCluster

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    # Set for the process, not just around the start: a nanny restarting a worker reads it again.
    dask.config.set({"distributed.worker.multiprocessing-method": method})
    try:
        # Its HTTP server on a free loopback port: the default (8787 on every interface, or a
        # warning when another cluster holds it) is neither needed nor safe here.
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0",
                               host="127.0.0.1", silence_logs=logging.ERROR)
    except Exception as error:  # Dask raises plain RuntimeErrors when a worker cannot start
        raise ExecutorError(f"could not start {workers} local worker processes: {error}") from error
    _clusters.append(cluster)
    return Client(cluster, set_as_default=False)


def close_all() -> None:
    """Close every client and embedded cluster this process started (also done at exit)."""
    if os.getpid() != _owner:
        return
    with _lock:
        for client in _clients.values():
            client.close()
        for cluster in _clusters:
            cluster.close()
        _clients.clear()
        _clusters.clear()


atexit.register(close_all)
