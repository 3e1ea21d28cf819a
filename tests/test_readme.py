"""The README stays true: its set-up commands are the ones CI runs, its Python example runs
and prints what the README says it prints."""

from __future__ import annotations

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
    assert (tmp_path / "planner-output" / "report.html").is_file()
