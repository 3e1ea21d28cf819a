"""The screenshot of the leadership workspace in the README (docs/screenshots/workspace.png).

Serves the bundled example on a free loopback port, waits for its frontier, then in the
system Chromium (Playwright, executable_path) cuts the total budget to 8,000,000 and forces
CX-505 in, and photographs the page.

    .venv/bin/python docs/serve_screenshot.py        (from the repository root)
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import uvicorn
from playwright.sync_api import sync_playwright

from planner.core.resources import EXAMPLE_SCENARIO
from planner.serve.app import create_app
from planner.serve.workspace import open_workspace, solve_frontier

SHOT = Path(__file__).resolve().parent / "screenshots" / "workspace.png"


def main() -> None:
    workspace = open_workspace(EXAMPLE_SCENARIO)
    solve_frontier(workspace)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(workspace), host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.goto(f"http://127.0.0.1:{port}/")
        page.locator("#budget-total").fill("8000000")
        page.wait_for_selector('body[data-sequence="1"][data-busy="0"]', state="attached", timeout=120_000)
        page.select_option('select[aria-label="force CX-505"]', "in")
        page.wait_for_selector('body[data-sequence="2"][data-busy="0"]', state="attached", timeout=120_000)
        page.screenshot(path=str(SHOT))
        browser.close()
    server.should_exit = True
    print(f"wrote {SHOT}")


if __name__ == "__main__":
    main()
