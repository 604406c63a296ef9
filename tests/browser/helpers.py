"""Helpers for the browser tests."""

from __future__ import annotations

import time

from playwright.sync_api import Frame, Page


def wait_js(target: Page | Frame, expression: str, timeout: float = 20.0) -> None:
    """Wait until a JavaScript expression is truthy in a page or frame.

    Polled from here with evaluate(): Playwright's own wait_for_function polls with eval()
    inside the page, which the page's Content-Security-Policy (rightly) forbids.
    """
    deadline = time.monotonic() + timeout
    while not target.evaluate(f"() => Boolean({expression})"):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {expression}")
        time.sleep(0.05)


def wait_for_trace(page: Page, timeout: float = 60.0) -> int:
    """Wait until a Trace is on the page and its graph is drawn; returns its number of events."""
    wait_js(page, "Number(document.getElementById('app').dataset.events) > 0", timeout)
    wait_js(page, "Number(document.getElementById('app').dataset.graphNodes) > 0", timeout)
    return int(page.locator("#app").get_attribute("data-events") or 0)
