"""The page in real headless Chromium: running, stepping, inspecting, errors, safety, languages.

PyTorch is the oracle: every gradient read off the page is compared with the same program run
plainly in this process. Screenshots of the main states go to test-artifacts/.
"""

from __future__ import annotations

import contextlib
import html
import io
import re
from pathlib import Path
from typing import Any

import pytest
import torch
from gradstage import lessons
from playwright.sync_api import Page, expect

from tests.browser.helpers import wait_for_trace, wait_js

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def plain_run(source: str) -> dict[str, Any]:
    """The program run by plain Python + PyTorch: its namespace (the oracle)."""
    namespace: dict[str, Any] = {"__name__": "__main__"}
    torch.manual_seed(0)
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(source, "<plain>", "exec"), namespace)
    return namespace


def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def current_step(page: Page) -> int:
    return int(page.locator("#app").get_attribute("data-step") or -1)


def set_program(page: Page, source: str) -> None:
    editor = page.get_by_role("textbox", name="Program")
    editor.click()
    page.keyboard.press("ControlOrMeta+a")
    page.keyboard.press("Delete")
    editor.fill(source)


def run_program(page: Page, source: str) -> None:
    """Put ``source`` in the editor, press Run, and wait for its Trace to be on the page."""
    set_program(page, source)
    page.evaluate("() => { window.traceBefore = window.gradstage.trace; }")
    page.get_by_role("button", name="Run", exact=True).click()
    wait_js(page, "window.gradstage.trace !== window.traceBefore", 60)
    wait_js(page, "!document.querySelector('button.btn--run').disabled")


def tensor_node(page: Page, name: str) -> Any:
    """The graph node drawn for the tensor the program calls ``name``."""
    trace = page.evaluate("window.gradstage.trace")
    ids = [t["id"] for t in trace["tensors"] if t.get("name") == name]
    assert ids, f"no tensor named {name} in the Trace"
    return page.locator(f"[data-node-id='{ids[-1]}']")


def number_in(text: str) -> float:
    match = re.search(r"-?\d+(?:\.\d+)?(?:e[-+]?\d+)?", text)
    assert match, f"no number in {text!r}"
    return float(match.group())


def test_first_lesson_replays_to_the_gradients_pytorch_computes(
    page: Page, live_server: str
) -> None:
    lesson = lessons.catalog()[0]
    oracle = plain_run(lesson.source)
    page.goto(f"{live_server}/#lang=en")
    events = wait_for_trace(page)
    shot(page, "01-lesson-loaded")
    picker = page.get_by_role("combobox", name="Lessons")
    expect(picker).to_have_value(lesson.id)
    expect(picker.locator("option")).to_have_count(len(lessons.catalog()) + 1)

    step_forward = page.get_by_role("button", name="Step forward", exact=True)
    for _ in range(3):
        step_forward.click()
    assert current_step(page) == 2

    page.keyboard.press("End")
    assert current_step(page) == events - 1
    shot(page, "02-lesson-at-end")
    for name in ("w", "b"):
        grad_text = tensor_node(page, name).locator(".node__grad").text_content() or ""
        assert number_in(grad_text.replace("grad", "")) == pytest.approx(
            oracle[name].grad.item(), rel=1e-5
        )


def test_play_runs_to_the_end_and_step_back_goes_back(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/#lang=en&speed=16")
    events = wait_for_trace(page)
    page.get_by_role("button", name="Play", exact=True).click()
    expect(page.get_by_role("button", name="Pause", exact=True)).to_be_visible()
    wait_js(page, f"Number(document.getElementById('app').dataset.step) === {events - 1}", 30)
    expect(page.get_by_role("button", name="Play", exact=True)).to_be_visible()
    page.get_by_role("button", name="Step back", exact=True).click()
    assert current_step(page) == events - 2
    page.keyboard.press("ArrowLeft")
    assert current_step(page) == events - 3
    page.get_by_role("button", name="Restart", exact=True).click()
    assert current_step(page) == -1


def test_clicking_a_leaf_shows_its_value_and_gradient_in_the_inspector(
    page: Page, live_server: str
) -> None:
    lesson = lessons.catalog()[0]
    oracle = plain_run(lesson.source)
    page.goto(f"{live_server}/#lang=en")
    wait_for_trace(page)
    page.keyboard.press("End")
    tensor_node(page, "w").click()
    inspector = page.locator(".inspector")
    expect(inspector.locator(".inspector__title")).to_have_text("w")
    for field, value in (("requires_grad", "True"), ("is_leaf", "True"), ("grad_fn", "None")):
        row = inspector.locator(".field", has=page.locator(".field__name", has_text=field))
        expect(row.locator(".field__value")).to_have_text(value)
    grad = inspector.locator(".value").last.text_content() or ""
    assert number_in(grad) == pytest.approx(oracle["w"].grad.item(), rel=1e-5)
    shot(page, "03-inspector")


def test_an_operation_node_shows_its_local_rule_with_this_steps_numbers(
    page: Page, live_server: str
) -> None:
    page.goto(f"{live_server}/#lang=en")
    wait_for_trace(page)
    trace = page.evaluate("window.gradstage.trace")
    mul = next(n for n in trace["nodes"] if n["name"] == "MulBackward0")
    node_event = next(e for e in trace["events"] if e["kind"] == "node" and e["node"] == mul["id"])
    page.evaluate(f"window.gradstage.seek({node_event['seq']})")
    page.locator(f"[data-node-id='{mul['id']}']").click()
    inspector = page.locator(".inspector")
    expect(inspector.locator(".rule__symbol")).to_contain_text("∂L/∂a = g · b")
    expect(inspector.locator(".vjp")).to_be_visible()


def test_an_error_is_shown_at_its_line_with_an_explanation(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/#lang=en")
    wait_for_trace(page)
    program = "import torch\nx = torch.ones(3, requires_grad=True)\ny = x * 2\ny.backward()\n"
    run_program(page, program)
    page.keyboard.press("End")
    error_line = page.locator(".cm-line--error")
    expect(error_line).to_have_count(1)
    expect(error_line).to_have_text("y.backward()")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("line 4")
    expect(alert).to_contain_text("RuntimeError")
    assert len(alert.inner_text()) > 80  # the plain-language explanation is there
    shot(page, "04-error")


def test_html_in_names_and_output_is_shown_as_text_and_never_run(
    page: Page, live_server: str
) -> None:
    page.goto(f"{live_server}/#lang=en")
    wait_for_trace(page)
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    payload = "<img src=x onerror=alert(1)><script>window.pwned=1</script>"
    program = (
        "import torch\n"
        f"print({payload!r})\n"
        "class M(torch.nn.Module):\n"
        "    def __init__(self):\n"
        "        super().__init__()\n"
        "        p = torch.nn.Parameter(torch.ones(2))\n"
        "        setattr(self, '<b onmouseover=alert(2)>w</b>', p)\n"
        "    def forward(self, x):\n"
        "        return (x * getattr(self, '<b onmouseover=alert(2)>w</b>')).sum()\n"
        "m = M()\n"
        "m(torch.ones(2)).backward()\n"
        f"raise ValueError({payload!r})\n"
    )
    run_program(page, program)
    page.keyboard.press("End")
    expect(page.locator(".console__out")).to_contain_text(payload)
    expect(page.get_by_role("alert")).to_contain_text(payload)
    assert page.locator("#app img, #app script, #app b").count() == 0
    page.locator(".graph .node").first.hover()
    assert page.evaluate("window.pwned") is None
    assert dialogs == []


def test_switching_language_changes_the_interface_and_is_remembered(
    page: Page, live_server: str
) -> None:
    page.goto(f"{live_server}/#lang=en")
    wait_for_trace(page)
    page.get_by_role("combobox", name="Language").select_option("zh-CN")
    expect(page.get_by_role("button", name="运行", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="播放", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="前进一步", exact=True)).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    shot(page, "05-chinese")
    page.goto(f"{live_server}/")
    wait_for_trace(page)
    expect(page.get_by_role("button", name="运行", exact=True)).to_be_visible()
    page.get_by_role("combobox", name="语言").select_option("en")
    expect(page.get_by_role("button", name="Run", exact=True)).to_be_visible()


def test_a_links_language_and_theme_hold_for_that_page_only(page: Page, live_server: str) -> None:
    html = page.locator("html")
    page.goto(f"{live_server}/embed/hooks#lang=zh-CN&theme=dark")
    wait_for_trace(page)
    expect(html).to_have_attribute("lang", "zh-CN")
    expect(html).to_have_attribute("data-theme", "dark")
    page.goto(f"{live_server}/lessons/hooks?lang=zh-CN")
    wait_for_trace(page)
    expect(html).to_have_attribute("lang", "zh-CN")
    for address in (f"{live_server}/embed/forward_backward", f"{live_server}/"):
        page.goto(address)
        wait_for_trace(page)
        expect(html).to_have_attribute("lang", "en")
        expect(html).to_have_attribute("data-theme", "light")
    # the reader's own toggle is remembered
    page.get_by_role("button", name="Theme").click()
    expect(html).to_have_attribute("data-theme", "dark")
    page.goto(f"{live_server}/lessons/hooks")
    wait_for_trace(page)
    expect(html).to_have_attribute("data-theme", "dark")
    expect(html).to_have_attribute("lang", "en")


def test_the_grad_fn_view_shows_pytorchs_own_graph(page: Page, live_server: str) -> None:
    lesson = lessons.catalog()[0]
    oracle = plain_run(lesson.source)
    expected: set[str] = set()
    stack = [oracle["loss"].grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or fn.name().split("::")[-1] in expected:
            continue
        expected.add(fn.name().split("::")[-1])
        stack.extend(f for f, _ in fn.next_functions)
    page.goto(f"{live_server}/#lang=en")
    wait_for_trace(page)
    page.get_by_role("button", name="grad_fn graph").click()
    wait_js(page, "document.querySelector('.node--accumulate') !== null")
    labels = page.locator(".graph .node--op .node__label").all_text_contents()
    drawn = {label.split(" ")[0] for label in labels}
    assert drawn == expected
    shot(page, "06-grad-fn-view")


def test_code_and_graph_are_linked_both_ways(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/#lang=en")
    wait_for_trace(page)
    page.keyboard.press("End")
    trace = page.evaluate("window.gradstage.trace")
    loss = next(t for t in trace["tensors"] if t.get("name") == "loss")
    page.locator(f"[data-node-id='{loss['id']}']").click()
    expect(page.locator(".cm-line--focus")).to_have_text(re.compile(r"^loss = "))
    line = page.locator(".cm-line", has_text=re.compile(r"^loss = ")).first
    line.hover()
    expect(page.locator(".node--line").first).to_be_visible()
    assert page.locator(".node--line").count() >= 1


def test_keyboard_controls_play_and_step(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/#lang=en")
    wait_for_trace(page)
    page.locator("body").click(position={"x": 5, "y": 5})
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert current_step(page) == 1
    page.keyboard.press("Space")
    expect(page.get_by_role("button", name="Pause", exact=True)).to_be_visible()
    page.keyboard.press("Space")
    expect(page.get_by_role("button", name="Play", exact=True)).to_be_visible()


def test_a_training_loop_shows_its_loss_curve_and_what_was_left_out(
    page: Page, live_server: str
) -> None:
    program = (
        "import torch\n"
        "x = torch.linspace(0, 1, 20).unsqueeze(1)\n"
        "y = 3 * x + 1\n"
        "w = torch.zeros(1, requires_grad=True)\n"
        "b = torch.zeros(1, requires_grad=True)\n"
        "opt = torch.optim.SGD([w, b], lr=0.5)\n"
        "for step in range(50):\n"
        "    loss = ((x * w + b - y) ** 2).mean()\n"
        "    opt.zero_grad()\n"
        "    loss.backward()\n"
        "    opt.step()\n"
        "    if step % 10 == 5:\n"
        "        print('step', step)\n"
        "print(round(w.item(), 3), round(b.item(), 3))\n"
    )
    oracle = plain_run(program)
    page.goto(f"{live_server}/#lang=en")
    wait_for_trace(page)
    run_program(page, program)
    page.keyboard.press("End")
    expect(page.locator(".chart__svg")).to_have_count(1)
    expect(page.locator(".chart h3")).to_have_text(re.compile(r"^Loss curve: loss \(\d+\)$"))
    expect(page.locator(".notice")).to_contain_text("iterations 3–47 is left out")
    # What the left-out iterations printed is in the console too, in order.
    console = page.locator(".console__out")
    expect(console).to_have_text(page.evaluate("window.gradstage.trace.stdout"))
    expect(console).to_contain_text("step 5\nstep 15\nstep 25\nstep 35\nstep 45\n")
    printed = console.inner_text().split()
    assert float(printed[-2]) == pytest.approx(round(oracle["w"].item(), 3))
    assert float(printed[-1]) == pytest.approx(round(oracle["b"].item(), 3))
    shot(page, "07-training-loop")


def test_a_trace_cut_by_the_node_limit_says_so_and_keeps_its_backward_root(
    page: Page, live_server: str
) -> None:
    # 5,100 multiplications and an AccumulateGrad: more autograd Nodes than the server's 5,000.
    program = (
        "import torch\nx = torch.ones(1, requires_grad=True)\ny = x\nfor i in range(5100):\n"
        "    y = y * 1.0001\ny.backward()\n"
    )
    page.goto(f"{live_server}/#lang=en")
    wait_for_trace(page)
    run_program(page, program)
    expect(page.locator(".notice")).to_contain_text(
        "more autograd Nodes than a Trace keeps: 101 from the middle of backward are left out"
    )
    expect(page.locator(".notice")).to_contain_text("iterations 3–5097 is left out")
    trace = page.evaluate("window.gradstage.trace")
    kept = {n["id"] for n in trace["nodes"]}
    backward = next(e for e in trace["events"] if e["kind"] == "backward")
    assert set(backward["root_nodes"]) <= kept


def test_left_out_steps_of_an_inner_loop_are_said_once_with_their_loop(
    page: Page, live_server: str
) -> None:
    program = (
        "import torch\nw = torch.zeros(1, requires_grad=True)\nfor epoch in range(3):\n"
        "    for step in range(10):\n        loss = ((w - 1) ** 2).sum()\n        loss.backward()\n"
        "        with torch.no_grad():\n            w -= 0.1 * w.grad\n        w.grad = None\n"
    )
    page.goto(f"{live_server}/#lang=en")
    wait_for_trace(page)
    run_program(page, program)
    notice = page.locator(".notice")
    expect(notice).to_contain_text("the detail of the inner loop's steps 3–7 (line 4) is left out")
    expect(notice).to_contain_text("the loss curve has every step")
    expect(page.locator(".chart__svg")).to_have_count(1)


def test_in_chinese_an_error_is_explained_in_chinese(page: Page, live_server: str) -> None:
    program = "import torch\nx = torch.ones(2, requires_grad=True)\ny = x * 2\ny.backward()\n"
    page.goto(f"{live_server}/#lang=en")
    wait_for_trace(page)
    run_program(page, program)
    page.get_by_role("combobox", name="Language").select_option("zh-CN")
    page.keyboard.press("End")
    error = page.locator(".console__error")
    expect(error).to_contain_text("第 4 行出错")
    expect(error).to_contain_text("grad can be implicitly created only for scalar outputs")
    expect(error).to_contain_text("向量-雅可比积")  # the explanation, in Chinese


def test_what_to_watch_pointers_jump_to_their_moment(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/#lang=en")
    wait_for_trace(page)
    pointers = page.locator(".watch__item")
    assert pointers.count() >= 1
    expect(page.locator(".lesson__note")).to_have_count(0)  # the lesson's own program
    for i in range(pointers.count()):
        pointers.nth(i).click()
        assert current_step(page) >= 0


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_every_lesson_runs_and_plays_to_the_end_without_a_page_error(
    page: Page, live_server: str, lang: str
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    for lesson in lessons.catalog():
        page.goto(f"{live_server}/lessons/{lesson.id}#lang={lang}&speed=16")
        events = wait_for_trace(page)
        page.keyboard.press("End")
        assert current_step(page) == events - 1, lesson.id
        title = page.locator(".lesson__title")
        expect(title).to_have_text(lesson.title[lang])
    assert errors == []


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_on_a_phone_an_error_steps_caption_wraps_to_be_read_whole(
    page: Page, live_server: str, lang: str
) -> None:
    page.set_viewport_size({"width": 420, "height": 800})
    for lesson in ("nonscalar_backward", "retain_graph", "inplace"):
        page.goto(f"{live_server}/lessons/{lesson}#lang={lang}")
        wait_for_trace(page)
        trace = page.evaluate("window.gradstage.trace")
        step = next(e["seq"] for e in trace["events"] if e["kind"] == "error")
        page.evaluate(f"window.gradstage.seek({step})")
        caption = page.locator(".timeline .now")
        expect(caption).to_contain_text(trace["error"]["type"])
        size = caption.evaluate(
            "(n) => ({ wide: n.scrollWidth, width: n.clientWidth, tall: n.scrollHeight,"
            " height: n.clientHeight, line: parseFloat(getComputedStyle(n).lineHeight) })"
        )
        assert size["wide"] <= size["width"], lesson
        assert size["tall"] <= size["height"], lesson
        assert size["height"] <= 4 * size["line"], lesson  # a few lines at most


def test_an_embed_link_sets_the_starting_step_view_theme_and_editor(
    page: Page, live_server: str
) -> None:
    lesson = lessons.catalog()[0]
    page.goto(f"{live_server}/embed/{lesson.id}#step=5&view=grad_fn&theme=dark&editor=hidden")
    wait_for_trace(page)
    assert current_step(page) == 5
    expect(page.get_by_role("button", name="grad_fn graph")).to_have_attribute(
        "aria-pressed", "true"
    )
    expect(page.locator("html")).to_have_attribute("data-theme", "dark")
    expect(page.get_by_role("textbox", name="Program")).to_have_count(0)
    # no autoplay unless the link asks for it
    page.wait_for_timeout(800)
    assert current_step(page) == 5


def test_a_program_link_starts_at_its_step_once_traced(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/#lang=en")
    wait_for_trace(page)
    page.get_by_role("button", name="Share").click()
    link = page.get_by_role("textbox", name="Copy link").input_value()
    page.goto("about:blank")
    page.goto(re.sub(r"step=-?\d+&?", "", link) + "&step=3")
    wait_for_trace(page)
    wait_js(page, "Number(document.getElementById('app').dataset.step) === 3")


def test_a_program_link_and_its_embed_select_the_node_they_were_shared_with(
    page: Page, live_server: str
) -> None:
    page.goto(f"{live_server}/#lang=en")
    wait_for_trace(page)
    run_program(
        page,
        "import torch\nscale = torch.tensor(3.0, requires_grad=True)\n"
        "total = (scale * 2).sum()\ntotal.backward()\n",
    )
    wait_for_trace(page)
    for _ in range(2):
        page.get_by_role("button", name="Step forward").click()
    tensor_node(page, "scale").click()
    selected = page.evaluate("window.gradstage.state.selected")
    assert selected
    page.get_by_role("button", name="Share").click()
    dialog = page.get_by_role("dialog")
    link = dialog.get_by_role("textbox", name="Copy link").input_value()
    snippet = dialog.get_by_role("textbox", name="Copy iframe code").input_value()
    src = re.search(r'src="([^"]+)"', snippet)
    assert src is not None
    embed = html.unescape(src.group(1))
    assert "#code=" in link
    assert "/embed#code=" in embed
    for address in (link, embed):
        assert f"node={selected}" in address
        page.goto("about:blank")
        page.goto(address)
        wait_for_trace(page)
        wait_js(page, "Number(document.getElementById('app').dataset.step) === 1")
        assert page.evaluate("window.gradstage.state.selected") == selected, address
        expect(page.locator(".node--selected")).to_have_count(1)
        expect(page.locator(".inspector .inspector__title")).to_have_text("scale")


def test_a_big_graph_drawn_zoomed_out_shows_its_text_again_when_zoomed_in(
    page: Page, live_server: str
) -> None:
    program = (
        "import torch\n"
        "x = torch.ones(3, requires_grad=True)\n"
        "for i in range(120):\n"
        "    x = torch.tanh(x * 1.01 + 0.1)\n"
        "x.sum().backward()\n"
    )
    page.goto(f"{live_server}/#lang=en")
    wait_for_trace(page)
    run_program(page, program)
    graph = page.locator(".graph")
    # Fitted into the window, the boxes are too small to read: shapes without text.
    expect(graph).to_have_class(re.compile(r"graph--far"))
    label = page.locator(".node .node__label").first
    expect(label).to_be_hidden()
    box = graph.bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    for _ in range(12):
        page.mouse.wheel(0, -400)
    expect(graph).not_to_have_class(re.compile(r"graph--far"))
    expect(page.locator(".node .node__label").first).to_be_visible()


def test_saved_tensors_show_the_tensor_or_the_value_autograd_kept(
    page: Page, live_server: str
) -> None:
    program = (
        "import torch\n"
        "import torch.nn.functional as F\n"
        "x = torch.tensor([[1.0, 2.0], [3.0, 6.0]], requires_grad=True)\n"
        "y = torch.relu(F.batch_norm(x, None, None, training=True))\n"
        "y.sum().backward()\n"
    )
    page.goto(f"{live_server}/#lang=en")
    wait_for_trace(page)
    run_program(page, program)
    trace = page.evaluate("window.gradstage.trace")
    names = {t["id"]: t.get("name") for t in trace["tensors"]}
    inspector = page.locator(".inspector")

    relu = next(n for n in trace["nodes"] if n["name"] == "ReluBackward0")
    page.locator(f"[data-node-id='{relu['id']}']").click()
    expect(inspector.locator(".saved li")).to_have_text(f"result = {names[relu['outputs'][0]]}")

    norm = next(n for n in trace["nodes"] if n["name"] == "NativeBatchNormBackward0")
    page.locator(f"[data-node-id='{norm['id']}']").click()
    mean = inspector.locator(".saved li", has_text="result1")
    expect(mean).to_contain_text("2")  # the batch means: 2 and 4
    expect(mean).to_contain_text("4")


def test_a_value_that_could_not_be_read_says_so(page: Page, live_server: str) -> None:
    program = (
        "import torch\n"
        "from torch.func import vmap\n"
        "y = vmap(lambda row: row * 2 + 1)(torch.ones(3, 2))\n"
        "print(y)\n"
    )
    page.goto(f"{live_server}/#lang=en")
    wait_for_trace(page)
    run_program(page, program)
    page.keyboard.press("End")
    trace = page.evaluate("window.gradstage.trace")
    unread = [
        t["id"]
        for t in trace["tensors"]
        if t.get("value") and "data" not in t["value"] and "stats" not in t["value"]
    ]
    assert unread
    page.locator(f"[data-node-id='{unread[0]}']").click()
    expect(page.locator(".inspector")).to_contain_text("values not readable here")
    expect(page.locator(".console__out")).to_contain_text("tensor([[3., 3.]")


def test_stderr_and_complex_values_are_shown_as_python_shows_them(
    page: Page, live_server: str
) -> None:
    program = (
        "import sys\n"
        "import torch\n"
        "print('to stdout')\n"
        "print('to stderr', file=sys.stderr)\n"
        "z = torch.tensor([1 + 2j, 3 - 4j], requires_grad=True)\n"
        "z.abs().sum().backward()\n"
        "print('done')\n"
    )
    page.goto(f"{live_server}/#lang=en")
    wait_for_trace(page)
    run_program(page, program)
    page.keyboard.press("End")
    console = page.locator(".console__out")
    expect(console).to_have_text("to stdout\nto stderr\ndone\n")
    # The first lesson's text is still shown, and says it was written for another program.
    expect(page.locator(".lesson__note")).to_contain_text("The program was changed")
    expect(console.locator(".console__stderr")).to_have_text("to stderr\n")
    assert page.evaluate("window.gradstage.trace.stderr") == "to stderr\n"
    tensor_node(page, "z").click()
    inspector = page.locator(".inspector")
    expect(inspector).to_contain_text("1+2j")
    expect(inspector).to_contain_text("3-4j")
    expect(inspector).to_contain_text("0.6-0.8j")  # z.grad = z / |z|, as PyTorch computes it
    shot(page, "13-stderr-complex")


def test_a_deep_chain_in_the_grad_fn_view_is_fitted_readable_from_its_start(
    page: Page, live_server: str
) -> None:
    # 120 Nodes in a row: fitted whole, the strip would be a few pixels high with no text.
    program = (
        "import torch\n"
        "x = torch.ones(3, requires_grad=True)\n"
        "y = x\n"
        "for i in range(60):\n"
        "    y = torch.tanh(y * 1.01)\n"
        "y.sum().backward()\n"
    )
    page.goto(f"{live_server}/#lang=en")
    wait_for_trace(page)
    run_program(page, program)
    page.get_by_role("button", name="grad_fn graph").click()
    wait_js(page, "document.querySelectorAll('.graph .node').length > 100")
    graph = page.locator(".graph")
    expect(graph).not_to_have_class(re.compile(r"graph--far"))
    # The fit lands a frame or two after the boxes: boxes at a readable size, and a readable
    # stretch of the chain on screen, not all of it.
    wait_js(
        page,
        """(() => { const g = document.querySelector('.graph').getBoundingClientRect();
        const nodes = [...document.querySelectorAll('.graph .node')];
        if (!nodes.length || nodes[0].getBoundingClientRect().height <= 20) return false;
        const visible = nodes.filter((n) => {
          const b = n.getBoundingClientRect();
          return b.right > g.left && b.left < g.right && b.bottom > g.top && b.top < g.bottom;
        }).length;
        return visible >= 3 && visible < 120; })()""",
    )
    shot(page, "14-deep-chain-grad-fn")


def test_a_short_chain_in_the_grad_fn_view_is_fitted_with_readable_whole_names(
    page: Page, live_server: str
) -> None:
    # Nine Nodes in a row: fitted whole, their names would be about 5 px tall.
    program = (
        "import torch\n"
        "x = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)\n"
        "a = x * 2\nb = a + 1\nc = torch.sin(b)\nd = c * c\ne = d.exp()\nf = e / 3\n"
        "g = f - x\nloss = g.sum()\nloss.backward()\n"
    )
    page.goto(f"{live_server}/#lang=en")
    wait_for_trace(page)
    run_program(page, program)
    page.get_by_role("button", name="grad_fn graph").click()
    wait_js(page, "document.querySelectorAll('.graph .node').length === 9")
    # Boxes 34 px high drawn at least 0.6 of that: 12 px names at 7 px or more.
    wait_js(
        page,
        "document.querySelector('.graph .node').getBoundingClientRect().height >= 0.6 * 34",
    )
    # Every name fits its box (nothing cut off by the box's edge).
    cut = page.evaluate(
        """[...document.querySelectorAll('.graph .node > span')]
        .filter((s) => s.scrollWidth > s.clientWidth).map((s) => s.textContent)"""
    )
    assert cut == []
    shot(page, "15-short-chain-grad-fn")


def test_a_flat_series_is_labelled_with_its_one_value_once(page: Page, live_server: str) -> None:
    program = "import matplotlib.pyplot as plt\nplt.plot([2.5, 2.5, 2.5])\nplt.plot([1, 3, 2])\n"
    page.goto(f"{live_server}/#lang=en")
    wait_for_trace(page)
    run_program(page, program)
    page.keyboard.press("End")
    charts = page.locator(".chart__svg")
    expect(charts).to_have_count(2)
    expect(charts.nth(0).locator(".chart__tick")).to_have_text(["2.5"])
    expect(charts.nth(1).locator(".chart__tick")).to_have_text(["3", "1"])


def test_an_anomaly_is_explained_and_the_console_follows_the_newest_output(
    page: Page, live_server: str
) -> None:
    program = (
        "import torch\n"
        "for i in range(60):\n"
        "    print('line', i)\n"
        "x = torch.tensor(1e-30, requires_grad=True)\n"
        "y = x\n"
        "for _ in range(5):\n"
        "    y = y * 1e10\n"
        "y.backward()\n"
        "print('x.grad is', x.grad.item())\n"
    )
    page.goto(f"{live_server}/#lang=en")
    wait_for_trace(page)
    run_program(page, program)
    trace = page.evaluate("window.gradstage.trace")
    (anomaly,) = [e for e in trace["events"] if e["kind"] == "anomaly"]
    page.keyboard.press("End")
    console = page.locator(".console__out")
    expect(console).to_contain_text("x.grad is inf")
    # Drawn anew at every step, the console is scrolled to its newest line.
    assert console.evaluate("el => el.scrollHeight > el.clientHeight")
    assert console.evaluate("el => el.scrollTop + el.clientHeight >= el.scrollHeight - 2")
    # At the anomaly's step its explanation is shown beside the output.
    page.keyboard.press("Home")
    for _ in range(anomaly["seq"] + 1):
        page.keyboard.press("ArrowRight")
    wait_js(page, f"document.querySelector('#app').dataset.step == '{anomaly['seq']}'")
    expect(page.locator(".console__note")).to_contain_text("overflowed to inf")
    # y is not a leaf: the gradient that flowed through it is not called its .grad.
    tensor_node(page, "y").click()
    expect(page.locator(".inspector h4", has_text="flowing grad")).to_be_visible()
    shot(page, "16-anomaly-explained")
