"""What every browser journey on a phone does at each step worth seeing."""

import os
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe


def looked_at_on_a_phone(page, name: str, *, full_page: bool = True) -> None:
    """No axe-core violation on the page as it stands; saved as ``<name>-390.png`` for docs/ui when asked (the
    screen alone with ``full_page`` False: what a fixed bar covers)."""
    violations = Axe().run(page).response["violations"]
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]
    if folder := os.environ.get("UI_SCREENSHOTS"):
        # The caret left as it is: hiding it injects a style, which the pages' strict CSP refuses and reports.
        page.screenshot(path=str(Path(folder) / f"{name}-390.png"), full_page=full_page, caret="initial")
