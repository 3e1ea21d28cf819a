"""The solver's scratch folders: a full temporary folder is a clear error, and killed runs' folders are cleaned."""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from planner.core import scratch
from planner.core.scratch import (
    OWNER_FILE, PREFIX, UNMARKED_STALE_SECONDS, ScratchSpaceError, clean_stale_solver_folders, owner_of_this_process,
    solver_folder,
)


@pytest.fixture
def temporary_root(tmp_path: Path, monkeypatch) -> Path:
    """A private temporary folder for solver_folder, with the once-per-process cleaning not yet done."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    monkeypatch.setattr(scratch, "_cleaned_in_this_process", False)
    return root


def dead_pid() -> int:
    """The pid of a process that has run and exited (and been reaped)."""
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def left_behind(root: Path, owner: dict | None, age_seconds: float = 0.0) -> Path:
    """A scratch folder as a killed run leaves it: a model file, and the owner mark if it got that far."""
    folder = Path(tempfile.mkdtemp(prefix=PREFIX, dir=root))
    (folder / "model.mps").write_text("NAME model\n")
    if owner is not None:
        (folder / OWNER_FILE).write_text(json.dumps(owner))
    stamp = time.time() - age_seconds
    os.utime(folder, (stamp, stamp))
    return folder


def test_the_folder_is_marked_with_this_process_and_removed_after_the_solve(temporary_root):
    with solver_folder() as folder:
        assert Path(folder).parent == temporary_root and Path(folder).name.startswith(PREFIX)
        assert json.loads((Path(folder) / OWNER_FILE).read_text())["pid"] == os.getpid()
    assert not Path(folder).exists()


@pytest.mark.parametrize("code", [errno.EFBIG, errno.ENOSPC, errno.EDQUOT])
def test_a_full_temporary_folder_while_writing_the_model_is_a_clear_error(temporary_root, code):
    # Was: OSError: [Errno 27] File too large, as a traceback, from writing model.mps.
    with pytest.raises(ScratchSpaceError) as raised:
        with solver_folder() as folder:
            raise OSError(code, os.strerror(code))
    message = str(raised.value)
    assert f"in the temporary folder {temporary_root} ({os.strerror(code)})" in message
    assert "free space there, or set TMPDIR to a folder with room" in message
    assert raised.value.exit_code != 0
    assert not Path(folder).exists()


def test_a_temporary_folder_that_cannot_be_written_is_a_clear_error(temporary_root, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(temporary_root / "planner-solve-x"))

    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    with pytest.raises(ScratchSpaceError, match=f"temporary folder {temporary_root} \\(Permission denied\\)"):
        with solver_folder():
            pass


def test_an_error_on_a_file_inside_the_folder_is_a_scratch_error_and_others_pass_through(temporary_root):
    with pytest.raises(ScratchSpaceError):
        with solver_folder() as folder:
            raise PermissionError(errno.EACCES, "Permission denied", os.path.join(folder, "model.sol"))
    # The solver program missing is not the temporary folder's fault: its own error, untouched.
    with pytest.raises(FileNotFoundError):
        with solver_folder():
            raise FileNotFoundError(errno.ENOENT, "No such file or directory", "/usr/bin/cbc-missing")


def test_the_model_file_written_into_a_full_folder_fails_as_a_planner_error(temporary_root, monkeypatch):
    # The real writer, on a folder whose files cannot grow (RLIMIT_FSIZE would kill the process; a patched open is kinder).
    from conftest import small_portfolio
    from planner.optimise import solve as model_module
    from planner.core.errors import PlannerError
    from planner.optimise.optimiser import plan_portfolio
    from planner.inputs.scenario import Scenario

    real_write = model_module.write_model

    def full_disk(model, folder, negate_objective=False):
        real_write(model, folder, negate_objective)
        raise OSError(errno.EFBIG, "File too large")

    monkeypatch.setattr("planner.optimise.optimiser.write_model", full_disk)
    monkeypatch.setattr(model_module, "write_model", full_disk)
    with pytest.raises(PlannerError, match="cannot write the solver's model files in the temporary folder"):
        plan_portfolio(small_portfolio(), Scenario(gap=0.0))
    assert not [p for p in temporary_root.iterdir() if p.name.startswith(PREFIX)]


def test_folders_of_killed_runs_are_removed_and_a_live_runs_folder_is_kept(temporary_root):
    dead = left_behind(temporary_root, {**owner_of_this_process(), "pid": dead_pid()})
    live = left_behind(temporary_root, owner_of_this_process(), age_seconds=10 * UNMARKED_STALE_SECONDS)
    removed = clean_stale_solver_folders(temporary_root)
    assert removed == [dead] and not dead.exists() and live.exists()


def test_a_live_pid_that_is_a_later_process_does_not_keep_a_folder(temporary_root):
    # kill -9, then the pid is given to another process: the start time tells them apart.
    owner = owner_of_this_process()
    if owner["started"] is None:
        pytest.skip("this system does not give a process's start time (/proc)")
    reused = left_behind(temporary_root, {**owner, "started": str(int(owner["started"]) - 1)})
    assert clean_stale_solver_folders(temporary_root) == [reused]


def test_unmarked_folders_are_removed_only_when_old(temporary_root):
    old = left_behind(temporary_root, None, age_seconds=UNMARKED_STALE_SECONDS + 60)
    new = left_behind(temporary_root, None, age_seconds=60)  # perhaps a run between making and marking its folder
    assert clean_stale_solver_folders(temporary_root) == [old]
    assert new.exists()


def test_cleaning_leaves_other_hosts_symlinks_and_other_names_alone(temporary_root, tmp_path):
    other_host = left_behind(temporary_root, {"pid": dead_pid(), "started": None, "host": "another-machine"})
    target = tmp_path / "precious"
    target.mkdir()
    (target / "keep.txt").write_text("keep")
    (temporary_root / f"{PREFIX}link").symlink_to(target)
    unrelated = temporary_root / "other-tool-123"
    unrelated.mkdir()
    assert clean_stale_solver_folders(temporary_root) == []
    assert other_host.exists() and (target / "keep.txt").exists() and unrelated.exists()


def test_the_first_solve_of_a_run_cleans_what_a_killed_run_left(temporary_root):
    dead = left_behind(temporary_root, {**owner_of_this_process(), "pid": dead_pid()})
    with solver_folder() as folder:
        assert not dead.exists() and Path(folder).exists()


def test_a_run_killed_with_sigkill_leaves_a_folder_the_next_run_removes(temporary_root):
    # The real thing: a process holding a solver folder is killed -9; its folder stays; the next run cleans it.
    code = ("import sys, tempfile, time; tempfile.tempdir = sys.argv[1]\n"
            "from planner.core.scratch import solver_folder\n"
            "with solver_folder() as folder:\n"
            "    print(folder, flush=True); time.sleep(60)\n")
    process = subprocess.Popen([sys.executable, "-c", code, str(temporary_root)], stdout=subprocess.PIPE, text=True)
    try:
        folder = Path(process.stdout.readline().strip())
        assert clean_stale_solver_folders(temporary_root) == []  # its owner is alive: kept
    finally:
        process.kill()
        process.wait()
        process.stdout.close()
    assert folder.exists()
    assert clean_stale_solver_folders(temporary_root) == [folder]
