"""Where the report templates and the bundled example portfolio are found.

templates/ and scenarios/ sit at the top of the repository. A wheel carries them inside the
package as planner/templates and planner/scenarios (pyproject.toml maps the folders there
when the wheel is built). A clone or an editable install reads the repository's folders, so
an edited template shows at once; any other install reads the copy installed with it.
`bundled_folder` is the one place that decides; everything else uses the names below.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

PACKAGE = Path(__file__).resolve().parent.parent  # planner/, this file is planner/core/resources.py
REPOSITORY = PACKAGE.parent


def bundled_folder(name: Literal["templates", "scenarios"]) -> Path:
    """The folder `name`: the repository's in a clone or editable install, else the installed copy."""
    # pyproject.toml marks a source tree; site-packages never holds one, but it may hold
    # another distribution's top-level "templates" folder, which must not be taken for ours.
    if (REPOSITORY / "pyproject.toml").is_file() and (REPOSITORY / name).is_dir():
        return REPOSITORY / name
    return PACKAGE / name


TEMPLATES = bundled_folder("templates")
EXAMPLE_SCENARIO = bundled_folder("scenarios") / "base.yaml"
