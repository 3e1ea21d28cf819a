"""The solver's scratch folders: where a solve's model file and solver output live while it runs.

This module owns:

- making the folder (`solver_folder`, named planner-solve-* in the temporary folder) and
  removing it when the solve is done;
- marking it with its owner (process id, the process's start time, host name), so that a
  later run can tell a folder left behind by a killed run (`kill -9`, a power cut) from one
  a live solve is using;
- turning a full, over-quota or unwritable temporary folder into `ScratchSpaceError`, a
  message that names the folder and says what to do, instead of an OSError traceback;
- removing what killed runs left behind (`clean_stale_solver_folders`): a folder whose
  owner is dead, or an unmarked one older than a day; never a folder whose owner lives.

Library code: nothing here prints.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from planner.core.errors import PlannerError

PREFIX = "planner-solve-"
OWNER_FILE = "owner.json"
# A folder with no owner file (a run killed between making it and marking it, or an older
# planner) is left alone for a day: longer than any solve's time limit.
UNMARKED_STALE_SECONDS = 24 * 3600
# Errors that mean the temporary folder itself is the problem, wherever they are raised.
_SPACE_ERRORS = frozenset({errno.ENOSPC, errno.EFBIG, errno.EDQUOT, errno.EROFS})

_cleaned_in_this_process = False


class ScratchSpaceError(PlannerError):
    """The temporary folder is full, over quota or not writable, so the solver's files cannot be written."""

    def __init__(self, folder: str | Path, error: OSError):
        self.folder = str(folder)
        reason = error.strerror or str(error)
        super().__init__(
            f"cannot write the solver's model files in the temporary folder {self.folder} ({reason}): "
            f"free space there, or set TMPDIR to a folder with room (for example TMPDIR=/var/tmp) and run again"
        )


@contextmanager
def solver_folder() -> Iterator[str]:
    """A new scratch folder for one solve, marked with this process as its owner, removed afterwards.

    The first call in a process also removes the folders killed runs left behind. An OSError
    from a full or unwritable temporary folder, while making the folder or while the caller
    writes in it, becomes ScratchSpaceError; other errors pass through unchanged.
    """
    global _cleaned_in_this_process
    if not _cleaned_in_this_process:
        _cleaned_in_this_process = True
        clean_stale_solver_folders()
    root = _temporary_root()
    try:
        folder = tempfile.mkdtemp(prefix=PREFIX, dir=root)
    except OSError as error:
        raise ScratchSpaceError(root, error) from error
    try:
        _mark_owner(folder)
        yield folder
    except OSError as error:
        if not _is_scratch_error(error, folder):
            raise
        raise ScratchSpaceError(root, error) from error
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _temporary_root() -> str:
    try:
        return tempfile.gettempdir()
    except FileNotFoundError as error:  # "No usable temporary directory found": TMPDIR and every fallback unwritable
        raise ScratchSpaceError(os.environ.get("TMPDIR", "(TMPDIR and /tmp)"), error) from error


def _is_scratch_error(error: OSError, folder: str) -> bool:
    """An error about the scratch folder: no space, quota, read-only, or any failure on a file inside it."""
    if error.errno in _SPACE_ERRORS:
        return True
    names = [name for name in (error.filename, getattr(error, "filename2", None)) if name]
    return any(os.path.abspath(os.fsdecode(name)).startswith(os.path.abspath(folder) + os.sep) for name in names)


def _mark_owner(folder: str) -> None:
    with open(os.path.join(folder, OWNER_FILE), "w", encoding="utf-8") as handle:
        json.dump(owner_of_this_process(), handle)


def owner_of_this_process() -> dict:
    """{"pid", "started", "host"}: what tells this process from a later one that reuses its pid."""
    return {"pid": os.getpid(), "started": process_start(os.getpid()), "host": socket.gethostname()}


def process_start(pid: int) -> str | None:
    """The process's start time as the kernel counts it (Linux: clock ticks since boot), None where unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            stat = handle.read().decode("ascii", "replace")
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces; start time is field 22.
    fields = stat[stat.rfind(")") + 2:].split()
    return fields[19] if len(fields) > 19 else None


def owner_is_alive(owner: dict) -> bool:
    """Whether the process that marked a folder still runs (on another host: assumed so, it cannot be checked)."""
    if owner.get("host") != socket.gethostname() or os.name == "nt":
        return True  # on Windows os.kill(pid, 0) would send CTRL_C_EVENT, not ask whether the process lives
    pid = owner.get("pid")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # a process of another user holds the pid: not ours to judge, so alive
    except OSError:
        return True
    # The pid runs; is it still the owner, or a later process that was given the same pid?
    started = process_start(pid)
    return owner.get("started") is None or started is None or started == owner.get("started")


def clean_stale_solver_folders(root: str | Path | None = None, now: float | None = None) -> list[Path]:
    """Remove the planner-solve-* folders killed runs left in `root` (the temporary folder); return what was removed.

    A folder marked by a process that no longer runs is removed at once; an unmarked one
    once it is older than UNMARKED_STALE_SECONDS. Folders of live processes, of other users,
    and anything that is not a plain folder (a symlink) are left alone. Never raises.
    """
    try:
        root = Path(root) if root is not None else Path(tempfile.gettempdir())
        entries = [entry for entry in os.scandir(root) if entry.name.startswith(PREFIX)]
    except OSError:
        return []
    now = time.time() if now is None else now
    removed = []
    for entry in entries:
        try:
            if _is_stale(entry, now):
                shutil.rmtree(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            continue  # another run removed it first, or it is not ours to remove
    return removed


def _is_stale(entry: os.DirEntry, now: float) -> bool:
    if not entry.is_dir(follow_symlinks=False):
        return False
    info = entry.stat(follow_symlinks=False)
    if hasattr(os, "getuid") and info.st_uid != os.getuid():
        return False
    owner = _read_owner(Path(entry.path) / OWNER_FILE)
    if owner is None:
        return now - info.st_mtime > UNMARKED_STALE_SECONDS
    return not owner_is_alive(owner)


def _read_owner(path: Path) -> dict | None:
    try:
        with open(path, "rb") as handle:
            owner = json.loads(handle.read(4096))
    except (OSError, ValueError):
        return None
    return owner if isinstance(owner, dict) else None
