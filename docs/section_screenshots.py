"""Screenshots of single sections of an HTML report, cropped to the section, for the README.

Opens the report in the system Chromium (Playwright, executable_path) and photographs each
named section element (`<section id="...">`, or any CSS selector) at twice the pixel density,
so the tables and the blueprint's small labels stay readable:

    .venv/bin/python docs/section_screenshots.py REPORT.html SELECTOR=OUT.png [SELECTOR=OUT.png ...]
    .venv/bin/python docs/section_screenshots.py out/report.html '#blueprint=docs/screenshots/report-blueprint.png'

A selector that matches nothing is an error (exit 2), so a renamed section cannot leave a stale image.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright


def photograph(report: Path, shots: list[tuple[str, Path]], width: int = 1200) -> list[Path]:
    """Screenshot each (selector, png) of the report; the element's own box, nothing around it."""
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": width, "height": 900}, device_scale_factor=2)
        page.goto(report.resolve().as_uri())
        for selector, png in shots:
            element = page.locator(selector)
            if element.count() != 1:
                raise SystemExit(f"error: {selector} matches {element.count()} elements in {report}, expected 1")
            element.screenshot(path=str(png))
            written.append(png)
        browser.close()
    return written


def main(argv: list[str]) -> None:
    if len(argv) < 2 or any("=" not in arg for arg in argv[1:]):
        print(__doc__, file=sys.stderr)
        raise SystemExit(2)
    shots = [(arg.split("=", 1)[0], Path(arg.split("=", 1)[1])) for arg in argv[1:]]
    for png in photograph(Path(argv[0]), shots):
        print(f"wrote {png}")


if __name__ == "__main__":
    main(sys.argv[1:])
