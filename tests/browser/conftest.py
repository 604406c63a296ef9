"""Browser-test fixtures: one real server (real sandbox) and one headless Chromium per worker.

- ``live_server``: the base URL of ``gradstage serve`` started as a subprocess on a free port,
  once it answers ``/readyz``.
- ``browser``: one headless Chromium.
- ``page``: a fresh page (its own context: no storage shared between tests; downloads
  accepted) that fails the test on any uncaught page error. ``page_errors`` is the live list
  of what went wrong in it (page errors and console errors). When a test fails, a screenshot
  goes to ``test-artifacts/<test>-failed.png``; ``screenshot(name)`` saves one on request.

Every test in this folder is marked ``browser`` and put in the ``browser`` xdist group, so
under ``pytest -n 2 --dist loadgroup`` one worker starts the server and the browser once.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, sync_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
HERE = Path(__file__).resolve().parent


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests in this folder are browser tests (``make test`` runs them in a session of their
    own; each xdist worker starts one server and one browser for them)."""
    for item in items:
        if HERE not in Path(str(item.path)).resolve().parents:
            continue
        if next(item.iter_markers("browser"), None) is None:
            item.add_marker(pytest.mark.browser)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item) -> Iterator[None]:
    """Keep each phase's report on the item, so ``page`` can tell that its test failed."""
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_until_ready(url: str, proc: subprocess.Popen[bytes], seconds: float = 90) -> None:
    """Poll ``/readyz`` until the server has a warm sandbox worker."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with status {proc.returncode}")
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise RuntimeError("the server did not become ready")


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``gradstage serve --host 127.0.0.1 --port <free port>``; yields its base URL."""
    port = free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    env = {
        **os.environ,
        "GRADSTAGE_RATE_LIMIT_PER_MINUTE": "0",
        "GRADSTAGE_LOG_LEVEL": "warning",
    }
    binary = Path(sys.executable).parent / "gradstage"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(binary), "serve", "--host", "127.0.0.1", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        try:
            wait_until_ready(url, proc)
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}; its log:\n{log.read_text()[-3000:]}") from None
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Playwright]:
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance: Playwright) -> Iterator[Browser]:
    b = playwright_instance.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield b
    b.close()


def artifact_path(item: pytest.Item, name: str) -> Path:
    """``test-artifacts/<test name>-<name>.png``."""
    ARTIFACTS.mkdir(exist_ok=True)
    stem = "".join(c if c.isalnum() or c in "-_" else "_" for c in item.name)
    return ARTIFACTS / f"{stem}-{name}.png"


@pytest.fixture
def page_errors() -> list[str]:
    """Uncaught page errors (``pageerror: ...``) and console errors (``console: ...``)."""
    return []


@pytest.fixture
def page(
    browser: Browser, page_errors: list[str], request: pytest.FixtureRequest
) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    context.set_default_timeout(20_000)
    p = context.new_page()
    uncaught: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            page_errors.append(f"console: {message.text}")

    def on_error(error: Exception) -> None:
        uncaught.append(str(error))
        page_errors.append(f"pageerror: {error}")

    p.on("pageerror", on_error)
    p.on("console", on_console)
    yield p
    report = getattr(request.node, "report_call", None)
    if report is not None and report.failed:
        try:
            p.screenshot(path=str(artifact_path(request.node, "failed")), full_page=True)
        except Exception as exc:  # the page may be gone; the test's own failure matters more
            print(f"no screenshot: {exc}")
    context.close()
    assert uncaught == [], f"errors in the page: {uncaught}"


@pytest.fixture
def screenshot(page: Page, request: pytest.FixtureRequest) -> Callable[[str], Path]:
    """``screenshot(name)`` saves the page to ``test-artifacts/<test>-<name>.png``."""

    def take(name: str) -> Path:
        path = artifact_path(request.node, name)
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
