"""Exported players in Chromium: opened from file:// with the network off, they play to the end."""

from __future__ import annotations

import contextlib
import io
import math
from collections.abc import Callable
from pathlib import Path

import gradstage
import pytest
import torch
from gradstage.cli import main
from playwright.sync_api import Frame, Page, expect

from tests.browser.helpers import wait_js
from tests.export.selfcontained import parse

pytestmark = pytest.mark.browser

PROGRAM = """import torch
# 中文注释：y = x² 的梯度是 2x
x = torch.tensor([1.0, 2.0], requires_grad=True)
y = (x * x).sum()
y.backward()
print("梯度", x.grad)
"""

LOCAL = ("file:", "data:", "blob:", "about:")


def _python_stdout(source: str) -> str:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, "program.py", "exec"), {})
    return out.getvalue()


def _app(target: Page | Frame, key: str) -> int:
    return int(target.evaluate(f"() => document.getElementById('app').dataset.{key} ?? -2"))


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("export")
    program = folder / "square.py"
    program.write_text(PROGRAM, encoding="utf-8")
    assert main(["export", str(program), "-o", str(folder / "square.html")]) == 0
    return folder / "square.html"


def test_an_exported_file_plays_to_the_end_with_the_network_off(
    page: Page,
    page_errors: list[str],
    exported: Path,
    screenshot: Callable[[str], Path],
) -> None:
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.context.set_offline(True)
    page.goto(exported.as_uri() + "#lang=en&speed=16")
    wait_js(page, "Number(document.getElementById('app').dataset.graphNodes) > 0")
    events = len(parse(exported.read_text("utf-8")).boot()["trace"]["events"])
    assert _app(page, "events") == events
    assert page.get_by_role("button", name="Run").count() == 0 or not (
        page.get_by_role("button", name="Run").is_visible()
    )
    # no lessons in the file: no empty lesson picker beside the name
    expect(page.get_by_role("banner")).to_contain_text("gradstage")
    expect(page.get_by_role("combobox", name="Lessons")).to_be_hidden()
    expect(page.get_by_role("combobox", name="Language")).to_be_visible()

    page.get_by_role("button", name="Play", exact=True).click()
    wait_js(page, f"document.getElementById('app').dataset.step === '{events - 1}'")
    assert page.evaluate("window.gradstage.trace.stdout") == _python_stdout(PROGRAM)
    assert page.get_by_text("梯度 tensor([2., 4.])").count() >= 1
    page.keyboard.press("Home")
    page.keyboard.press("ArrowRight")
    assert _app(page, "step") == 0
    page.keyboard.press("End")
    assert _app(page, "step") == events - 1
    screenshot("end")

    assert [url for url in requests if not url.startswith(LOCAL)] == []
    assert page_errors == []


def test_a_notebook_output_plays_inside_its_iframe_offline(
    page: Page, page_errors: list[str], tmp_path: Path
) -> None:
    w = torch.tensor([0.5, -1.0], requires_grad=True)
    loss = ((torch.tensor([1.0, 2.0]) * w).sum() - 3) ** 2
    output = gradstage.show(loss, speed=16)._repr_html_()
    notebook = tmp_path / "notebook.html"
    notebook.write_text(
        f'<!doctype html><meta charset="utf-8"><title>notebook</title><main>{output}</main>',
        encoding="utf-8",
    )
    page.context.set_offline(True)
    page.goto(notebook.as_uri())
    frame = page.locator("iframe").element_handle().content_frame()
    assert frame is not None
    frame.wait_for_function("Number(document.getElementById('app')?.dataset.events) > 0")
    events = _app(frame, "events")
    assert events == len(gradstage.show(loss).trace.events)
    frame.wait_for_function(f"document.getElementById('app').dataset.step === '{events - 1}'")
    names = frame.evaluate("window.gradstage.trace.tensors.map((t) => t.name).filter(Boolean)")
    assert set(names) >= {"w", "loss"}
    assert page_errors == []


def test_a_notebook_output_fits_its_iframe_to_the_player_side_panels_and_all(
    page: Page, page_errors: list[str], tmp_path: Path
) -> None:
    w = torch.tensor([0.5, -1.0], requires_grad=True)
    loss = ((torch.tensor([1.0, 2.0]) * w).sum() - 3) ** 2
    page.set_viewport_size({"width": 1100, "height": 700})  # a notebook's output column
    for player in (gradstage.show(PROGRAM, speed=16), gradstage.show(loss, speed=16)):
        notebook = tmp_path / "notebook.html"
        notebook.write_text(
            '<!doctype html><meta charset="utf-8"><title>notebook</title>'
            f"<main>{player._repr_html_()}</main>",
            encoding="utf-8",
        )
        page.goto(notebook.as_uri())
        iframe = page.locator("iframe")
        frame = iframe.element_handle().content_frame()
        assert frame is not None
        wait_js(frame, "Number(document.getElementById('app')?.dataset.graphNodes) > 0")
        last = len(player.trace.events) - 1
        wait_js(frame, f"document.getElementById('app').dataset.step === '{last}'")  # autoplayed
        content = frame.evaluate("document.getElementById('app').getBoundingClientRect().height")
        assert content <= player.height  # it fits even where the notebook runs no scripts
        wait_js(page, f"document.querySelector('iframe').clientHeight === {math.ceil(content)}")
        box = iframe.bounding_box()
        assert box is not None
        for heading in ("Inspector", "Console"):
            found = frame.get_by_role("heading", name=heading, exact=True).bounding_box()
            assert found is not None
            assert box["y"] < found["y"] < box["y"] + box["height"] - 100
    assert page_errors == []
