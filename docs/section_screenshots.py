"""Screenshots of single sections of an HTML report, cropped to the section, for the README.

Opens the report in the system Chromium (Playwright, executable_path) and photographs each
named section element (`<section id="...">`, or any CSS selector) at twice the pixel density,
so the tables and the blueprint's small labels stay readable. A selector matching several
elements gives the smallest box around all of them (`#blueprint, #blueprint .wide`: the section
and its full-width figure; `#experience_map h2, #experience_map svg:nth-of-type(-n+2)`: the
heading and the first two heat maps):

    .venv/bin/python docs/section_screenshots.py REPORT.html SELECTOR=OUT.png [SELECTOR=OUT.png ...]
    .venv/bin/python docs/section_screenshots.py out/report.html '#blueprint=docs/screenshots/report-blueprint.png'

A selector that matches nothing is an error (exit 2), so a renamed section cannot leave a stale image.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright


# The smallest box (page coordinates, with a few pixels' margin) around every element the selector matches.
UNION_BOX = """selector => {
  const boxes = [...document.querySelectorAll(selector)].map(e => e.getBoundingClientRect());
  if (!boxes.length) return null;
  const left = Math.max(0, Math.min(...boxes.map(b => b.left)) - 6), top = Math.max(0, Math.min(...boxes.map(b => b.top)) - 6);
  const right = Math.max(...boxes.map(b => b.right)) + 6, bottom = Math.max(...boxes.map(b => b.bottom)) + 6;
  return {x: left + window.scrollX, y: top + window.scrollY, width: right - left, height: bottom - top};
}"""


def photograph(report: Path, shots: list[tuple[str, Path]], width: int = 1200) -> list[Path]:
    """Screenshot each (selector, png) of the report; the element's own box, nothing around it."""
    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox", "--disable-gpu"])
        page = browser.new_page(viewport={"width": width, "height": 900}, device_scale_factor=2)
        page.goto(report.resolve().as_uri())
        for selector, png in shots:
            box = page.evaluate(UNION_BOX, selector)
            if box is None:
                raise SystemExit(f"error: {selector} matches nothing in {report}")
            page.screenshot(path=str(png), full_page=True, clip=box)
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
