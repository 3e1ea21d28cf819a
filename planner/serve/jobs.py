"""The workspace's solves: a bounded pool with a queue, the newest request of a page winning, progress to report.

Solves run on a small thread pool (two threads by default: the machine's two cores, each
solve's MIP and LP already run in solver processes of their own). At most `queue_limit`
solves wait; one more is refused (`Busy`, HTTP 503) rather than queued without end. A page
names itself (a random id per page load); a newer request from the same page cancels the
older one, whether it still waits or is solving (`planner.core.cancel` stops its solver
processes). `progress(page)` says whether a page's latest request waits (and behind how
many) or is solving (and for how long), for the page to show while it waits.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from planner.core.cancel import Cancelled, cancelled_by

R = TypeVar("R")


class Busy(Exception):
    """Too many solves are waiting: the request is refused, not queued."""


@dataclass
class Job:
    number: int
    page: str | None
    cancel: threading.Event = field(default_factory=threading.Event)
    queued_at: float = field(default_factory=time.monotonic)
    started_at: float | None = None
    finished: bool = False


class Solves:
    """The pool, its queue and each page's latest job."""

    def __init__(self, workers: int = 2, queue_limit: int = 32):
        self.workers = workers
        self.queue_limit = queue_limit
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="planner-solve")
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._open: dict[int, Job] = {}  # queued or solving
        self._latest: dict[str, Job] = {}  # by page
        self.completed = 0
        self.cancelled = 0

    async def run(self, page: str | None, function: Callable[[], R]) -> R:
        """`function()` on the pool; raises Cancelled when a newer request of the same page replaced it, Busy when full."""
        with self._lock:
            if len(self._open) >= self.workers + self.queue_limit:
                raise Busy(f"{len(self._open)} solves are running or waiting; try again in a moment")
            job = Job(next(self._numbers), page)
            if page is not None:
                older = self._latest.get(page)
                if older is not None and not older.finished:
                    older.cancel.set()
                self._latest[page] = job
            self._open[job.number] = job
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, self._work, job, function)
        finally:
            with self._lock:
                job.finished = True
                self._open.pop(job.number, None)
                if page is not None and self._latest.get(page) is job:
                    del self._latest[page]

    def _work(self, job: Job, function: Callable[[], R]) -> R:
        if job.cancel.is_set():  # replaced while it waited: no solve at all
            self._count(cancelled=True)
            raise Cancelled("stopped: a newer request replaced this one before it started")
        job.started_at = time.monotonic()
        try:
            with cancelled_by(job.cancel):
                result = function()
        except Cancelled:
            self._count(cancelled=True)
            raise
        self._count(cancelled=False)
        return result

    def _count(self, cancelled: bool) -> None:
        with self._lock:
            if cancelled:
                self.cancelled += 1
            else:
                self.completed += 1

    def progress(self, page: str) -> dict[str, Any]:
        """{"state": "idle" | "queued" | "solving", "ahead": solves before it, "seconds": waiting or solving so far}."""
        with self._lock:
            job = self._latest.get(page)
            if job is None or job.finished:
                return {"state": "idle", "ahead": 0, "seconds": 0.0}
            now = time.monotonic()
            if job.started_at is None:
                ahead = sum(1 for other in self._open.values() if other.number < job.number)
                return {"state": "queued", "ahead": ahead, "seconds": now - job.queued_at}
            return {"state": "solving", "ahead": 0, "seconds": now - job.started_at}

    def close(self) -> None:
        with self._lock:
            for job in self._open.values():
                job.cancel.set()
        self._pool.shutdown(wait=True, cancel_futures=True)
