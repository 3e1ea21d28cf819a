"""Stopping a solve that nobody waits for any more: a cancel flag per thread.

The leadership workspace (`planner serve`) re-plans on every change a person makes; when a
newer what-if from the same page arrives, the older solve is no longer wanted. The thread
running it sets its flag with `cancelled_by(event)`; the solver wait loop
(`planner.optimise.model.wait_for`) calls `raise_if_cancelled()`, and the solve's own
clean-up stops the solver processes. Code that never sets a flag is not affected.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from planner.core.errors import PlannerError

_local = threading.local()


class Cancelled(PlannerError):
    """The solve was stopped because its caller no longer wants it (a newer request replaced it)."""


@contextmanager
def cancelled_by(event: threading.Event) -> Iterator[None]:
    """Within this block, solves in this thread stop (raising Cancelled) once `event` is set."""
    previous = getattr(_local, "event", None)
    _local.event = event
    try:
        yield
    finally:
        _local.event = previous


def raise_if_cancelled() -> None:
    event = getattr(_local, "event", None)
    if event is not None and event.is_set():
        raise Cancelled("stopped: a newer request replaced this one")
