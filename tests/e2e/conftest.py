"""Debian's Chromium driven by Playwright, for the browser journeys."""

import pytest
from django.db import connections
from playwright.sync_api import expect

# A live page follows the server by polling every few seconds: on a busy machine an
# assertion must outlast several polls, not Playwright's 5 s default.
expect.set_options(timeout=30_000)

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
def browser(monkeypatch):
    # Playwright's sync API runs an event loop in this thread; the ORM calls of the test sit beside it.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield browser
        # The test's own queries ran on a connection of Playwright's context, not the one Django closes before
        # dropping the test database: closed here, where it is seen, or the drop finds it open.
        connections.close_all()
        browser.close()
