"""What every browser journey on a phone does at each step worth seeing."""

import os
from pathlib import Path

from axe_playwright_python.sync_playwright import Axe


def save_screenshot(page, path: Path, *, full_page: bool = True, **options) -> None:
    """``page`` saved as it stands. A whole page is taken with the browser's window as tall as the page: the
    menu's cards are drawn only near the window (``content-visibility``), and a capture beyond the window would
    show the farther ones blank where a customer scrolling sees them drawn."""
    if not full_page:
        page.screenshot(path=str(path), **options)
        return
    window = page.viewport_size
    page.set_viewport_size({"width": window["width"], "height": page.evaluate("document.documentElement.scrollHeight")})
    try:
        page.screenshot(path=str(path), **options)
    finally:
        page.set_viewport_size(window)


def looked_at_on_a_phone(page, name: str, *, full_page: bool = True) -> None:
    """No axe-core violation on the page as it stands; saved as ``<name>-390.png`` for docs/ui when asked (the
    screen alone with ``full_page`` False: what a fixed bar covers). The caret is left as it is: hiding it takes a
    style the page's strict CSP refuses, which a journey watching the console for refusals would count."""
    violations = Axe().run(page).response["violations"]
    assert violations == [], [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations]
    if folder := os.environ.get("UI_SCREENSHOTS"):
        save_screenshot(page, Path(folder) / f"{name}-390.png", full_page=full_page, caret="initial")
