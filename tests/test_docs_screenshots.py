"""The README's pictures: every image it or docs/ shows exists, docs/make_screenshots.sh makes every
one of them, and the README shows the experience view (issue 13) and the quarterly NPV bridge (issue 14)."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHOTS = REPO / "docs" / "screenshots"


def shown(markdown: Path) -> list[Path]:
    return [(markdown.parent / target).resolve() for target in re.findall(r"!\[[^\]]*\]\(([^)]+\.png)\)", markdown.read_text(encoding="utf-8"))]


def test_every_picture_shown_exists_and_is_made_by_the_screenshot_script():
    script = (REPO / "docs" / "make_screenshots.sh").read_text(encoding="utf-8") + (REPO / "docs" / "serve_screenshot.py").read_text(encoding="utf-8")
    pictures = shown(REPO / "README.md") + [p for doc in (REPO / "docs").glob("*.md") for p in shown(doc)]
    assert pictures
    for picture in pictures:
        assert picture.is_file(), picture
        assert picture.parent == SHOTS, picture
        kind, _, suffix = picture.stem.rpartition("-")
        made = picture.stem in script or (f"$kind-{suffix}" in script and kind in script)  # the loops over report kinds
        assert made, f"docs/make_screenshots.sh does not make {picture.name}"
    assert {p.name for p in SHOTS.glob("*.png")} == {p.name for p in pictures}, "a screenshot no page shows"


def test_the_readme_shows_the_experience_view_and_the_npv_bridge_each_with_what_to_look_at():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name, words in {"report-blueprint": "**Service blueprint**", "report-enablers": "**Enablers and what they unlock**",
                        "report-journeys": "**Journeys, owners and fragmentation**", "report-experience-map": "**Experience map**",
                        "quarterly-bridge": "**The NPV bridge**"}.items():
        picture = readme.index(f"(docs/screenshots/{name}.png)")
        # The sentence saying what to look at follows its picture.
        assert readme.index(words, picture) - picture < 400, name
