"""The README stays true: its set-up commands are the ones CI runs, its Python example runs
and prints what the README says it prints."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def fenced(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, re.S)


def test_the_readme_opens_with_the_demo_and_test_commands_and_ci_runs_the_same_test_command():
    first = fenced("sh")[0].splitlines()
    commands = [line for line in first if line and not line.startswith("#")]
    assert commands[0].endswith("&& .venv/bin/planner demo")
    test_command = commands[1]
    assert test_command.endswith("&& .venv/bin/python -m pytest -q")
    ci = (ROOT / ".ci" / "run").read_text().splitlines()
    assert ci[-1] == test_command, "the last line of .ci/run must be the README's test command, verbatim"


def test_the_python_example_runs_and_prints_what_the_readme_shows(tmp_path: Path):
    section = README[README.index("## Python in a notebook"):]
    code = fenced("python")[[i for i, block in enumerate(fenced("python")) if "plan_portfolio" in block][0]]
    expected = re.search(r"```text\n(.*?)```", section, re.S).group(1)
    shutil.copytree(ROOT / "scenarios", tmp_path / "scenarios")
    script = tmp_path / "notebook.py"
    script.write_text(code)
    result = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.stdout == expected
    assert (tmp_path / "out" / "notebook" / "report.html").is_file()


# ---------------------------------------------------------------------------------------
# The walk-through: every command the README shows, run in order in a fresh folder made by
# `planner init`, prints what the README says it prints (elided lines "..." aside).

TIMING = re.compile(r"\d+(?:\.\d+)? s\b")


def walkthrough() -> list[tuple[str, str, str]]:
    """The README's runnable blocks in order: ("run", command, expected lines) or ("file", path, content)."""
    steps = []
    for match in re.finditer(r"(?:For `([^`]+)`:\n\n)?```(sh|text|yaml)\n(.*?)```", README, re.S):
        path, language, body = match.groups()
        if language == "yaml":
            if path:
                steps.append(("file", path, body))
            continue
        if language == "sh":
            if "pip install" in body:  # the set-up block: done already
                continue
            commands = [body] if "<<" in body else [line.split("  #")[0].strip() for line in body.strip().splitlines()]
            # A server runs until stopped: tests/test_serve*.py start it their own way.
            steps += [("run", command, "") for command in commands if "planner serve" not in command]
            continue
        runs = re.split(r"^\$ ", body, flags=re.M)
        for run in runs[1:]:
            command, _, expected = run.partition("\n")
            steps.append(("run", command, expected))
    return steps


NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def _normal(line: str) -> str:
    return TIMING.sub("N s", line.rstrip())


def _same(shown: str, printed: str) -> bool:
    """The same line, or one whose numbers differ by no more than a re-solve within the
    optimality gap can move them (0.2%) or the rounding of the last digit shown."""
    if shown == printed:
        return True
    if NUMBER.sub("#", shown) != NUMBER.sub("#", printed):
        return False
    for a, b in zip(NUMBER.findall(shown), NUMBER.findall(printed)):
        x, y = float(a.replace(",", "")), float(b.replace(",", ""))
        unit = 10.0 ** -len(a.split(".")[1]) if "." in a else 1.0
        if abs(x - y) > max(0.002 * abs(x), 1.01 * unit):
            return False
    return True


def _find_in_order(shown: list[str], streams: list[list[str]]) -> list[str]:
    """The README's lines not found, in order, in either of the streams (stdout, stderr)."""
    cursors, missing = [0] * len(streams), []
    for line in shown:
        for s, stream in enumerate(streams):
            found = next((i for i in range(cursors[s], len(stream)) if _same(line, stream[i])), None)
            if found is not None:
                cursors[s] = found + 1
                break
        else:
            missing.append(line)
    return missing


def test_every_readme_command_prints_what_the_readme_shows(tmp_path: Path):
    bin_dir = Path(sys.executable).parent
    work = tmp_path / "work"
    subprocess.run([str(bin_dir / "planner"), "init", str(work)], check=True, capture_output=True)
    (work / ".venv").symlink_to(bin_dir.parent)  # the README's `.venv/bin/...` commands
    failures = []
    for kind, what, expected in walkthrough():
        if kind == "file":
            (work / what).write_text(expected, encoding="utf-8")
            continue
        result = subprocess.run(what, shell=True, cwd=work, capture_output=True, text=True, timeout=600,
                                env={**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"})
        streams = [[_normal(line) for line in result.stdout.splitlines()],
                   [_normal(line) for line in result.stderr.replace("\r", "\n").splitlines()]]
        # "..." and "... (12 more)" mark where the README shortens the output.
        shown = [_normal(line) for line in expected.splitlines() if line.strip() and not line.strip().startswith("...")]
        missing = _find_in_order(shown, streams)
        if missing:
            failures.append(f"$ {what}\nthe README shows lines the command does not print (or in another order):\n"
                            + "\n".join(missing) + "\n--- it printed:\n" + "\n".join(streams[0] + streams[1]))
    assert not failures, "\n\n".join(failures)


def test_a_readme_line_matches_only_within_the_gap_and_the_rounding():
    assert _same("  all costs  11.37M EUR    5.99M EUR   5.38M EUR", "  all costs  11.36M EUR    5.99M EUR   5.37M EUR")
    assert not _same("  every uplift  -416.6k EUR   18.70M EUR  19.11M EUR", "  every uplift  264.5k EUR   18.70M EUR  18.43M EUR")
    assert not _same("Knee: 5.44M EUR (NPV 5.90M EUR)", "Knee: 5.81M EUR (NPV 6.24M EUR)")
    assert _find_in_order(["b", "a"], [["a", "b"], []]) == ["a"]
