"""Embedding, sharing and downloading, against a live server in Chromium."""

from __future__ import annotations

import contextlib
import functools
import io
import math
import threading
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from gradstage import lessons
from gradstage.schema import decode
from playwright.sync_api import Page, expect

from tests.browser.conftest import free_port
from tests.browser.helpers import wait_for_trace, wait_js
from tests.export.selfcontained import assert_self_contained

pytestmark = pytest.mark.browser

CHINESE = """import torch
# 中文注释：求 y = x² 的梯度，检验链接能否原样恢复
x = torch.tensor([1.0, 2.0], requires_grad=True)
y = (x ** 2).sum()  # 平方和「全角」
y.backward()
print("梯度：", x.grad)  # 🙂
"""

PARENT = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>A course page</title>
<link rel="icon" href="data:,"></head>
<body>
<h1>Week 1: autograd</h1>
<iframe id="player" src="{src}" width="{width}" height="{height}" style="border:0"
        title="gradstage"></iframe>
<script>
  // The README's resize script, recording what it was told.
  window.heights = [];
  window.addEventListener("message", (event) => {{
    if (event.data && event.data.type === "gradstage:height") {{
      window.heights.push({{ height: event.data.height, origin: event.origin }});
      for (const frame of document.querySelectorAll("iframe")) {{
        if (frame.contentWindow === event.source) frame.style.height = event.data.height + "px";
      }}
    }}
  }});
</script>
</body></html>
"""


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        return None


@pytest.fixture(scope="module")
def course_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A second, unrelated web server (another origin) serving a course page."""
    folder = tmp_path_factory.mktemp("course")
    server = ThreadingHTTPServer(
        ("127.0.0.1", free_port()), functools.partial(_Quiet, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://localhost:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()


def _frame_ancestors(csp: str) -> list[str]:
    for directive in csp.split(";"):
        name, *values = directive.split()
        if name == "frame-ancestors":
            return values
    return []


def test_a_course_page_on_another_origin_embeds_a_lesson_that_autoplays_and_sizes_itself(
    page: Page, page_errors: list[str], live_server: str, course_site: tuple[str, Path]
) -> None:
    origin, folder = course_site
    lesson = lessons.catalog()[0].id
    src = f"{live_server}/embed/{lesson}#autoplay=1&speed=16&lang=en"
    (folder / "course.html").write_text(
        PARENT.format(src=src, width=900, height=300), encoding="utf-8"
    )
    with page.expect_response(lambda r: f"/embed/{lesson}" in r.url) as embed_response:
        page.goto(f"{origin}/course.html")
    response = embed_response.value
    assert response.status == 200
    ancestors = _frame_ancestors(response.headers["content-security-policy"])
    assert "*" in ancestors or origin in ancestors
    assert "x-frame-options" not in response.headers

    frame = page.frame(url=lambda url: f"/embed/{lesson}" in url)
    assert frame is not None
    assert frame.evaluate("location.origin") == live_server
    assert page.evaluate("location.origin") == origin
    wait_js(frame, "Number(document.getElementById('app')?.dataset.events) > 0", 60)
    events = int(frame.evaluate("document.getElementById('app').dataset.events"))
    # autoplay, no click: it runs to the last event on its own
    wait_js(frame, f"document.getElementById('app').dataset.step === '{events - 1}'", 30)
    wait_js(page, "window.heights.length > 0", 10)
    page.wait_for_timeout(300)  # the last resize message after the final frame

    heights = page.evaluate("window.heights")
    assert {h["origin"] for h in heights} == {live_server}
    last = heights[-1]["height"]
    assert last > 200
    box = page.locator("#player").bounding_box()
    assert box is not None
    assert round(box["height"]) == last
    assert page_errors == []


@pytest.mark.parametrize(("width", "height"), [(1084, 560), (1084, 1500), (700, 300), (420, 300)])
def test_an_embed_of_any_width_is_fitted_to_its_content_with_a_usable_side_panel(
    page: Page,
    page_errors: list[str],
    live_server: str,
    course_site: tuple[str, Path],
    width: int,
    height: int,
) -> None:
    origin, folder = course_site
    src = f"{live_server}/embed/optimizers#lang=en&step=60"
    name = f"course-{width}-{height}.html"
    (folder / name).write_text(PARENT.format(src=src, width=width, height=height), encoding="utf-8")
    page.goto(f"{origin}/{name}")
    frame = page.frame(url=lambda url: "/embed/optimizers" in url)
    assert frame is not None
    wait_js(frame, "Number(document.getElementById('app')?.dataset.graphNodes) > 0", 60)
    wait_js(frame, "document.querySelector('.chart')")
    wait_js(page, "window.heights.length > 0", 10)
    page.wait_for_timeout(500)  # a parent that resized the iframe would be told again

    content = frame.evaluate("document.getElementById('app').getBoundingClientRect().height")
    posted = page.evaluate("window.heights.map((h) => h.height)")
    assert posted[-1] == math.ceil(content)  # the content's height, not the iframe's
    assert len(posted) <= 3, posted  # fitting the iframe does not make the content grow
    box = page.locator("#player").bounding_box()
    assert box is not None
    assert round(box["height"]) == posted[-1]  # also shrunk, when it was given too much

    side = frame.locator(".side").bounding_box()
    assert side is not None
    assert side["height"] >= 250
    assert side["y"] + side["height"] <= box["y"] + box["height"] + 1
    for heading in ("Inspector", "Console", "Chart"):
        expect(frame.get_by_role("heading", name=heading, exact=True)).to_be_visible()
    if width > 900:  # side by side, all in view at once
        for heading in ("Inspector", "Console", "Chart"):
            found = frame.get_by_role("heading", name=heading, exact=True).bounding_box()
            assert found is not None
            assert side["y"] <= found["y"] < side["y"] + side["height"] - 100
    assert page_errors == []


def test_a_permalink_restores_a_program_with_chinese_text_exactly(
    page: Page, page_errors: list[str], live_server: str
) -> None:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(CHINESE, "program.py", "exec"), {})
    page.goto(f"{live_server}/#lang=en")
    wait_for_trace(page)
    editor = page.get_by_role("textbox", name="Program")
    editor.click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.press("Delete")
    editor.fill(CHINESE)
    page.keyboard.press("End")  # the page takes the editor's text on keyup
    assert page.evaluate("window.gradstage.state.source") == CHINESE
    page.get_by_role("button", name="grad_fn graph").click()
    page.get_by_role("button", name="Share", exact=True).click()
    link = page.get_by_role("dialog").get_by_role("textbox", name="Copy link").input_value()
    assert link.startswith(f"{live_server}/")
    assert "#code=" in link
    assert "中文" not in link  # compressed into URL-safe characters

    page.goto("about:blank")
    page.goto(link)
    wait_for_trace(page)
    assert page.evaluate("window.gradstage.state.source") == CHINESE
    assert page.evaluate("window.gradstage.state.view") == "grad_fn"
    lines = page.evaluate(
        "Array.from(document.querySelectorAll('.cm-content .cm-line'), (l) => l.textContent)"
    )
    assert "\n".join(lines) == CHINESE
    wait_js(page, "window.gradstage.trace.stdout.length > 0", 60)
    assert page.evaluate("window.gradstage.trace.stdout") == printed.getvalue()
    assert page_errors == []


def test_downloads_are_valid_svg_png_json_and_html_files(
    page: Page,
    page_errors: list[str],
    live_server: str,
    tmp_path: Path,
    screenshot: Callable[[str], Path],
) -> None:
    page.goto(f"{live_server}/#lang=en")
    wait_for_trace(page)
    trace = page.evaluate("window.gradstage.trace")
    page.get_by_role("button", name="Download", exact=True).click()
    dialog = page.get_by_role("dialog")
    screenshot("dialog")
    files: dict[str, Path] = {}
    for label in ("Graph (SVG)", "Graph (PNG)", "Trace (JSON)", "Player (HTML file)"):
        with page.expect_download() as download:
            dialog.get_by_role("button", name=label).click()
        files[label] = tmp_path / download.value.suggested_filename
        download.value.save_as(files[label])

    svg = ET.parse(files["Graph (SVG)"]).getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    texts = {t.text for t in svg.iter("{http://www.w3.org/2000/svg}text") if t.text}
    named = {t["name"] for t in trace["tensors"] if t.get("name")}
    assert named
    assert named <= texts

    png = files["Graph (PNG)"].read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert png[12:16] == b"IHDR"
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width > 100
    assert height > 50

    downloaded = decode(files["Trace (JSON)"].read_bytes())
    assert len(downloaded.events) == len(trace["events"])

    player = assert_self_contained(files["Player (HTML file)"].read_text("utf-8"))
    assert player.boot()["trace"]["events"] == trace["events"]
    assert page_errors == []
