"""The leadership workspace in a real browser: the system Chromium driven by Playwright.

A person moves the budget slider, forces an experience in, sees NPV and the changed rows
update, undoes, saves the what-if as a scenario and plans it with `planner plan` to the same
NPV. Skips with the reason printed when Playwright or Chromium is missing, and fails
instead under PLANNER_REQUIRE_EXTERNAL=1 (tests/conftest.py). Playwright never downloads a
browser here: it launches /usr/bin/chromium (or whatever `chromium` is on the PATH).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import quote, unquote

import httpx
import pytest

from conftest import require_program, skip_unless_required
from planner.core.resources import EXAMPLE_SCENARIO
from planner.serve.app import create_app
from planner.serve.workspace import open_workspace

WAIT_MS = 90_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    """The example's workspace answering on a free loopback port, in a thread, for this module."""
    import uvicorn

    workspace = open_workspace(EXAMPLE_SCENARIO, time_limit=30)
    port = free_port()
    config = uvicorn.Config(create_app(workspace), host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    instance = uvicorn.Server(config)
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not instance.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert instance.started, "the workspace did not start"
    yield f"http://127.0.0.1:{port}", workspace
    instance.should_exit = True
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    chromium = require_program("chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        skip_unless_required("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox", "--disable-gpu"])
        yield instance
        instance.close()


def planned(page, sequence: int) -> None:
    """Wait until the page shows the answer to its `sequence`-th what-if."""
    page.wait_for_selector(f'body[data-sequence="{sequence}"][data-busy="0"]', state="attached", timeout=WAIT_MS)


def what_if_in(url: str) -> dict:
    return json.loads(unquote(url.split("#w=", 1)[1])) if "#w=" in url else {}


def npv_of(base: str, what_if: dict) -> float:
    answer = httpx.post(f"{base}/api/plan", json=what_if, timeout=120)
    assert answer.status_code == 200, answer.text
    return answer.json()["totals"]["npv"]


def money(value: float) -> str:
    """As the page shows money: as every report words it (€8.75m)."""
    from planner.core.formatting import money as report_money

    return report_money(value)


def test_a_person_plays_a_what_if_and_saves_it_as_a_scenario_the_cli_reproduces(server, browser, tmp_path):
    base, workspace = server
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
    page.goto(base + "/")
    planned(page, 0)
    assert page.inner_text("#npv") == money(workspace.record.npv)
    assert page.locator("#experiences tbody tr.entered, #experiences tbody tr.left").count() == 0

    # Move the total budget down to 7.5M: NPV falls and experiences leave.
    page.locator("#budget-total").fill("7500000")
    planned(page, 1)
    cut = what_if_in(page.url)
    assert cut == {"budget": {"total": 7500000}}
    cut_npv = npv_of(base, cut)
    assert cut_npv < workspace.record.npv
    assert page.inner_text("#npv") == money(cut_npv)
    left = page.locator("#experiences tbody tr.left")
    assert left.count() > 0
    assert "budget" in left.first.locator("td.why").inner_text()

    # Force in an experience the cut plan leaves out: it enters, marked, with its reason.
    forced = next(e.id for e in workspace.portfolio.experiences if not e.requires and not e.excludes and e.layer == "frontstage"
                  and not page.locator(f'tr[data-id="{e.id}"] td.whatif').inner_text().startswith(("lean", "standard", "premium"))
                  and not page.locator(f'tr[data-id="{e.id}"] td.record').inner_text().startswith(("lean", "standard", "premium")))
    page.select_option(f'select[aria-label="force {forced}"]', "in")
    planned(page, 2)
    both = what_if_in(page.url)
    assert both == {"budget": {"total": 7500000}, "forced_in": [forced]}
    row = page.locator(f'tr[data-id="{forced}"]')
    assert row.get_attribute("class") == "entered"
    assert "forced in" in row.locator("td.why").inner_text()
    assert page.inner_text("#npv") == money(npv_of(base, both))
    assert page.locator("#experiences tbody tr").first.get_attribute("class") in ("entered", "left", "moved")  # changes on top

    # Undo: back to the budget cut alone, the forced row unmarked, the URL with it.
    page.click("#undo")
    planned(page, 3)
    assert what_if_in(page.url) == cut
    assert page.inner_text("#npv") == money(cut_npv)
    assert row.get_attribute("class") != "entered"
    assert page.locator(f'select[aria-label="force {forced}"]').input_value() == ""
    page.click("#redo")
    planned(page, 4)
    assert what_if_in(page.url) == both

    # Save as scenario, plan it with the command line: the same NPV.
    with page.expect_download() as download:
        page.click("#save")
    saved = tmp_path / "what-if.yaml"
    download.value.save_as(saved)
    out = tmp_path / "out"
    planner_command = Path(sys.executable).with_name("planner")  # the console script installed beside this Python
    result = subprocess.run([str(planner_command), "plan", str(saved), "-o", str(out), "--format", "csv"],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    planned_by_cli = json.loads((out / "plan.json").read_text())["totals"]["npv"]
    assert planned_by_cli == pytest.approx(npv_of(base, both), abs=0.01)
    assert problems == []


def test_the_what_if_in_the_url_opens_planned_and_bad_input_says_which_key(server, browser):
    base, workspace = server
    page = browser.new_page()
    page.goto(base + "/#w=" + quote(json.dumps({"budget": "-10%"})))
    planned(page, 1)
    assert page.locator("#budget-total").input_value() == str(round(0.9 * workspace.record.portfolio.total_budget))
    assert page.locator("#experiences tbody tr.left").count() > 0
    # An experience's reach, changed in its row, becomes an adjustment of that experience alone.
    page.locator('input[aria-label="reach change of CX-302"]').fill("-50")
    page.locator('input[aria-label="reach change of CX-302"]').dispatch_event("change")
    planned(page, 2)
    assert what_if_in(page.url) == {"budget": "-10%", "adjust": [{"where": {"id": "CX-302"}, "reach": "-50%"}]}
    page.goto(base + "/#w=" + quote(json.dumps({"forced_in": ["CX-999"]})))
    page.wait_for_selector('body[data-state="error"]', state="attached", timeout=WAIT_MS)
    assert "key forced_in" in page.inner_text("#errors") and "CX-999" in page.inner_text("#errors")


def test_the_reports_of_the_current_what_if_download(server, browser, tmp_path):
    base, _ = server
    page = browser.new_page(accept_downloads=True)
    page.goto(base + "/#w=" + quote(json.dumps({"capacity": {"Digital": "-20%"}})))
    planned(page, 1)
    for button, name in (("#download-html", "report.html"), ("#download-xlsx", "report.xlsx")):
        with page.expect_download() as download:
            page.click(button)
        assert download.value.suggested_filename == name
        path = tmp_path / name
        download.value.save_as(path)
        content = path.read_bytes()
        assert content.startswith(b"PK") if name.endswith("xlsx") else b"(what-if)" in content
