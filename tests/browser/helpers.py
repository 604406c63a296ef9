"""Helpers for the browser tests."""

from __future__ import annotations

import time

from playwright.sync_api import Page


def wait_js(page: Page, expression: str, timeout: float = 20.0) -> None:
    """Wait until a JavaScript expression is truthy in the page.

    Polled from here with page.evaluate: Playwright's own wait_for_function polls with eval()
    inside the page, which the page's Content-Security-Policy (rightly) forbids.
    """
    deadline = time.monotonic() + timeout
    while True:
        if page.evaluate(f"() => Boolean({expression})"):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {expression}")
        page.wait_for_timeout(50)
