"""Pausing Python's cycle collector while a step builds many small objects and no cycles.

Reading a workbook and planning a portfolio each build hundreds of thousands of small
objects (cells, rows, experiences, decisions) while the portfolio already holds as many:
the collector would rescan them all again and again (a third of the time of a
50,000-experience read; a quarter of the planner's own time around the solver at 10,000
experiences). Cycles made meanwhile are collected once the step ends.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Pause the cycle collector for the block (or the function it decorates); resume it after if it ran before."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
