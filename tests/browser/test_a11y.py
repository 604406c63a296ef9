"""The page for keyboard and screen-reader users: focus, names, announcements, contrast, zoom."""

from __future__ import annotations

import re

import pytest
from gradstage import lessons
from playwright.sync_api import Page, expect

from tests.browser.helpers import wait_for_trace, wait_js
from tests.browser.test_page import run_program

pytestmark = pytest.mark.browser

# WCAG contrast of a text's colour on the first opaque background behind it (rgb() or
# color(srgb ...), as Chromium reports colour-mix()es).
CONTRAST_JS = """(el) => {
  const parse = (text) => {
    let m = text.match(/^rgba?\\(([\\d.]+),? ([\\d.]+),? ([\\d.]+)(?:,? \\/? ?([\\d.]+))?\\)$/);
    if (m) return [+m[1], +m[2], +m[3], m[4] === undefined ? 1 : +m[4]];
    m = text.match(/^color\\(srgb ([\\d.]+) ([\\d.]+) ([\\d.]+)(?: \\/ ([\\d.]+))?\\)$/);
    if (m) return [255 * m[1], 255 * m[2], 255 * m[3], m[4] === undefined ? 1 : +m[4]];
    throw new Error('colour ' + text);
  };
  const lum = ([r, g, b]) => {
    const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b);
  };
  let bg = null;
  for (let node = el; node && !bg; node = node.parentElement) {
    const c = parse(getComputedStyle(node).backgroundColor);
    if (c[3] > 0.99) bg = c;
  }
  bg = bg || parse(getComputedStyle(document.body).backgroundColor);
  const a = lum(parse(getComputedStyle(el).color)), b = lum(bg);
  return (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05);
}"""


def open_app(page: Page, url: str) -> int:
    page.goto(url)
    return wait_for_trace(page)


def test_the_editor_tells_how_tab_leaves_it_and_shows_its_focus(
    page: Page, live_server: str
) -> None:
    open_app(page, f"{live_server}/#lang=en")
    editor = page.get_by_role("textbox", name="Program")
    hint = page.locator(".editor__hint")
    expect(hint).to_be_hidden()
    editor.click()
    expect(hint).to_be_visible()
    expect(hint).to_have_text("Tab indents · Esc then Tab moves on")
    assert hint.get_attribute("id") == editor.get_attribute("aria-describedby")
    outline = page.locator(".cm-editor").evaluate(
        "e => { const s = getComputedStyle(e); return [s.outlineStyle, s.outlineWidth]; }"
    )
    assert outline == ["solid", "2px"]
    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    assert page.evaluate("!document.activeElement.closest('.cm-editor')")
    expect(hint).to_be_hidden()


def test_tabbing_to_nodes_pans_the_graph_and_fit_shows_it_all_again(
    page: Page, live_server: str
) -> None:
    open_app(page, f"{live_server}/#lang=en")
    boxes = """() => [...document.querySelectorAll('.graph .node')].map((n) => {
      const r = n.getBoundingClientRect(); return [Math.round(r.x), Math.round(r.y)]; })"""
    fitted = page.evaluate(boxes)
    zoom_in = page.get_by_role("button", name="Zoom in", exact=True)
    for _ in range(6):
        zoom_in.click()
    inside = """() => { const g = document.querySelector('.graph').getBoundingClientRect();
      const n = document.activeElement.getBoundingClientRect();
      return n.left >= g.left - 1 && n.right <= g.right + 1
        && n.top >= g.top - 1 && n.bottom <= g.bottom + 1; }"""
    scroll = """() => { const g = document.querySelector('.graph');
      return [g.scrollLeft, g.scrollTop]; }"""
    page.locator(".graph .node").first.focus()
    count = page.locator(".graph .node").count()
    for _ in range(count - 1):
        page.keyboard.press("Tab")
        assert page.evaluate("document.activeElement.classList.contains('node')")
        page.wait_for_timeout(20)  # a scroll event, if any, comes after the focus
        assert page.evaluate(scroll) == [0, 0]
        assert page.evaluate(inside), page.evaluate("document.activeElement.dataset.nodeId")
    page.get_by_role("button", name="Fit", exact=True).click()
    assert page.evaluate(boxes) == fitted


def test_only_a_paused_or_stepped_caption_is_announced(page: Page, live_server: str) -> None:
    open_app(page, f"{live_server}/#lang=en&speed=1")
    caption = page.locator(".timeline .now")
    assert page.locator(".inspector").get_attribute("aria-live") is None
    assert page.locator(".side [aria-live]").count() == 0
    expect(caption).to_have_attribute("aria-live", "polite")
    page.get_by_role("button", name="Play", exact=True).click()
    expect(caption).to_have_attribute("aria-live", "off")
    page.get_by_role("button", name="Pause", exact=True).click()
    expect(caption).to_have_attribute("aria-live", "polite")


def test_graph_nodes_are_named_by_kind_name_value_gradient_and_state(
    page: Page, live_server: str
) -> None:
    open_app(page, f"{live_server}/#lang=en")
    page.keyboard.press("End")
    trace = page.evaluate("window.gradstage.trace")
    w = next(t["id"] for t in trace["tensors"] if t.get("name") == "w")
    node = page.locator(f"[data-node-id='{w}']")
    expect(node).to_have_attribute("aria-label", re.compile(r"^leaf w, value 3, grad -?\d+.*, \w"))
    mul = page.locator(".graph .node--op").first
    expect(mul).to_have_attribute("aria-label", re.compile(r"^operation \w+"))
    expect(node).to_have_attribute("aria-pressed", "false")
    node.click()
    expect(node).to_have_attribute("aria-pressed", "true")
    page.keyboard.press("Home")
    expect(node).to_have_attribute("aria-label", re.compile(r"^leaf w, .*not computed yet$"))
    page.get_by_role("combobox", name="Language").select_option("zh-CN")
    expect(node).to_have_attribute("aria-label", re.compile(r"^叶子张量 w, .*尚未计算$"))


def test_the_timeline_slider_has_a_name_and_says_the_step_in_words(
    page: Page, live_server: str
) -> None:
    events = open_app(page, f"{live_server}/#lang=en")
    slider = page.get_by_role("slider", name="Timeline", exact=True)
    expect(slider).to_have_attribute("aria-valuetext", re.compile(r"^start"))
    page.get_by_role("button", name="Step forward", exact=True).click()
    caption = page.locator(".timeline .now").inner_text()
    expect(slider).to_have_attribute("aria-valuetext", f"step 1 of {events}: {caption}")
    page.get_by_role("combobox", name="Language").select_option("zh-CN")
    expect(page.get_by_role("slider", name="时间线", exact=True)).to_have_attribute(
        "aria-valuetext", re.compile(rf"^第 1 步，共 {events} 步: ")
    )


def test_dialogs_keep_focus_inside_and_give_it_back_to_their_opener(
    page: Page, live_server: str
) -> None:
    open_app(page, f"{live_server}/#lang=en")
    share = page.get_by_role("button", name="Share", exact=True)
    share.click()
    dialog = page.get_by_role("dialog", name="Share")
    expect(dialog).to_be_visible()
    # The page behind is inert: Tab goes round the dialog (by way of the browser's own controls).
    for _ in range(8):
        page.keyboard.press("Tab")
        assert page.evaluate("!document.activeElement.closest('#app')")
    dialog.get_by_role("button", name="Copy link", exact=True).click()
    copy = dialog.locator(".copy .btn").first
    expect(copy).to_have_text("Copied")
    assert copy.get_attribute("aria-label") == "Copied"
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(share).to_be_focused()
    download = page.get_by_role("button", name="Download", exact=True)
    download.click()
    page.get_by_role("dialog", name="Download").get_by_role("button", name="Close").click()
    expect(page.get_by_role("dialog")).to_have_count(0)
    expect(download).to_be_focused()


def test_dark_theme_text_reaches_4_5_to_1(page: Page, live_server: str) -> None:
    open_app(page, f"{live_server}/#lang=en&theme=dark")
    page.keyboard.press("End")
    page.wait_for_timeout(400)  # boxes' colours ease in
    texts = page.locator(".cm-content span, .btn[aria-pressed='true'], .node__grad")
    assert page.locator(".node__grad").count() > 0
    low = [
        (texts.nth(i).inner_text(), round(ratio, 2))
        for i in range(texts.count())
        if (ratio := texts.nth(i).evaluate(CONTRAST_JS)) < 4.5 and texts.nth(i).inner_text()
    ]
    assert low == []


def test_light_theme_gradients_reach_4_5_to_1(page: Page, live_server: str) -> None:
    open_app(page, f"{live_server}/#lang=en")
    page.keyboard.press("End")
    page.wait_for_timeout(400)
    grads = page.locator(".node__grad")
    ratios = [grads.nth(i).evaluate(CONTRAST_JS) for i in range(grads.count())]
    assert ratios
    assert min(ratios) >= 4.5


# Every kind of token the editor colours: keywords, names of modules, classes and
# definitions, numbers, strings with escapes and f-string braces, comments, and (the second
# program, a typo) text that is not Python.
EVERY_TOKEN = (
    "import torch  # a comment\nfrom torch import nn\n\n\nclass Net(nn.Module):\n"
    "    pass\n\n\ndef f(v):\n    return v * 2\n\n\n"
    "x = torch.tensor([1.0, 2.0], requires_grad=True)\n"
    'label = f"x = {x.sum().item():.2f}\\n\\t"\nprint(label, None, True, Net, f)\n'
    "y = x.no_such_attribute\n"
)
TYPO = "import torch\nx = torch.ones(2)\ny = x ? 2\n"


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_every_colour_of_the_code_reaches_4_5_to_1(
    page: Page, live_server: str, theme: str
) -> None:
    open_app(page, f"{live_server}/#lang=en&theme={theme}")
    low: list[tuple[str, float]] = []
    colours: set[str] = set()
    strings = 0
    for source in (EVERY_TOKEN, TYPO):
        run_program(page, source)
        page.keyboard.press("End")
        expect(page.locator(".cm-line--error")).to_have_count(1)
        spans = page.locator(".cm-content span")
        for i in range(spans.count()):
            span = spans.nth(i)
            if not span.inner_text().strip():
                continue
            colours.add(span.evaluate("e => getComputedStyle(e).color"))
            strings += span.inner_text().startswith('f"')
            if (ratio := span.evaluate(CONTRAST_JS)) < 4.5:
                low.append((span.inner_text(), round(ratio, 2)))
    assert low == []
    assert len(colours) >= 7  # keywords, definitions, classes, numbers, atoms, comments, strings
    assert strings  # the f-string (CodeMirror's orange, darkened in the light theme)


def test_the_theme_buttons_name_starts_with_its_text(page: Page, live_server: str) -> None:
    open_app(page, f"{live_server}/#lang=en")
    theme = page.get_by_role("button", name="Dark theme", exact=True)
    expect(theme).to_have_text("Dark")
    theme.click()
    expect(page.get_by_role("button", name="Light theme", exact=True)).to_have_text("Light")


def test_chinese_pages_have_no_english_labels_and_captions_no_ids(
    page: Page, live_server: str
) -> None:
    lesson = lessons.get("forward_backward")
    assert lesson is not None
    response = page.request.get(f"{live_server}/lessons/forward_backward?lang=zh-CN")
    assert "正在加载" in response.text()
    events = open_app(page, f"{live_server}/lessons/forward_backward?lang=zh-CN#lang=zh-CN")
    expect(page).to_have_title(f"{lesson.title['zh-CN']} — gradstage")
    expect(page.get_by_role("group", name="自动求导计算图")).to_be_visible()
    expect(page.get_by_role("textbox", name="程序")).to_be_visible()
    expect(page.get_by_role("slider", name="时间线")).to_be_visible()
    assert page.locator(".node__label", has_text="scalar").count() == 0
    captions = []
    for step in range(events):
        page.evaluate(f"window.gradstage.seek({step})")
        captions.append(page.locator(".timeline .now").inner_text())
    assert not [c for c in captions if re.search(r"\bt\d+\b", c)], captions
    assert any(c.startswith("打印：") for c in captions), captions


def test_arrowing_through_lessons_opens_one_only_on_enter(page: Page, live_server: str) -> None:
    open_app(page, f"{live_server}/#lang=en")
    picker = page.get_by_role("combobox", name="Lessons")
    first = lessons.catalog()[0].id
    picker.focus()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowDown")
    page.wait_for_timeout(300)
    assert page.evaluate("window.gradstage.state.lesson") == first
    page.keyboard.press("Enter")
    wait_js(page, f"window.gradstage.state.lesson === {lessons.catalog()[2].id!r}")


def test_an_edited_program_is_kept_unless_the_reader_agrees(page: Page, live_server: str) -> None:
    open_app(page, f"{live_server}/#lang=en")
    page.get_by_role("textbox", name="Program").fill("import torch\nx = torch.ones(2)\n")
    asked: list[str] = []
    page.once("dialog", lambda d: (asked.append(d.message), d.dismiss()))
    page.get_by_role("combobox", name="Lessons").select_option(lessons.catalog()[1].id)
    assert asked
    assert "torch.ones(2)" in page.evaluate("window.gradstage.state.source")
    expect(page.get_by_role("combobox", name="Lessons")).to_have_value(lessons.catalog()[0].id)


def test_at_200_percent_zoom_the_player_stays_in_view(page: Page, live_server: str) -> None:
    page.set_viewport_size({"width": 640, "height": 400})
    open_app(page, f"{live_server}/#lang=en")
    box = page.locator(".timeline").bounding_box()
    assert box is not None
    assert box["y"] + box["height"] <= 401
    graph = page.locator(".graph-host").bounding_box()
    assert graph is not None
    assert graph["height"] >= 270
