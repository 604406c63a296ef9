"""Every lesson runs under the tracer and shows what plain PyTorch computes.

For each lesson the program is traced once and run plainly once (``plain.py``): printed output,
plotted series and warnings must be identical, a lesson raises exactly when it says so (with
the same error, at the same line, explained), every "what to watch" pointer finds its moment,
and every value a pointer names (its ``expect``) equals the plain run's value at that moment.
"""

from __future__ import annotations

import math
import re
from functools import cache
from typing import Any

import jinja2
import markupsafe
import msgspec
import pytest
from gradstage import lessons
from gradstage.lessons import moments
from gradstage.lessons.model import Expect, Lesson, Pointer
from gradstage.lessons.pointers import resolve
from gradstage.paths import lessons_dir, templates_dir
from gradstage.schema import ErrorEvent, PlotEvent, Trace, WarningEvent
from gradstage.tracer import trace_program

from tests.lessons.plain import Moment, PlainRun, run_plain, statement_starts

CATALOG = lessons.catalog()
IDS = [lesson.id for lesson in CATALOG]


@cache
def traced(lesson_id: str) -> Trace:
    lesson = lessons.get(lesson_id)
    assert lesson is not None
    return trace_program(lesson.source)


def moment_of(lesson: Lesson, pointer: Pointer, expect: Expect) -> Moment | None:
    """When the plain run evaluates ``expect.equals``: None means when the program stopped."""
    if expect.at_end:
        return None
    seq = resolve(traced(lesson.id), pointer.at)
    assert seq is not None, f"pointer {pointer.id} finds no moment"
    event = traced(lesson.id).events[seq]
    line = expect.line or event.line
    assert line is not None, f"pointer {pointer.id}: the event has no line; use at_end"
    start = statement_starts(lesson.source).get(line, line)
    return (start, expect.run or (event.iteration or 0) + 1)


@cache
def plain_run(lesson_id: str) -> PlainRun:
    lesson = lessons.get(lesson_id)
    assert lesson is not None
    at: dict[Moment, list[str]] = {}
    at_end: list[str] = []
    for pointer in lesson.pointers:
        for expect in pointer.expect:
            moment = moment_of(lesson, pointer, expect)
            if moment is None:
                at_end.append(expect.equals)
            else:
                at.setdefault(moment, []).append(expect.equals)
    return run_plain(lesson.source, at, at_end)


# ---------------------------------------------------------------- comparing values


def shown_at(event: Any, path: str) -> Any:
    """The part of an event that ``path`` names (``after``, ``values.0``, ``params.0.after``)."""
    here: Any = msgspec.to_builtins(event)
    for part in path.split("."):
        if isinstance(here, list):
            here = here[int(part)]
        elif isinstance(here, dict) and part in here:
            here = here[part]
        else:
            raise AssertionError(f"the {event.kind} event has no {path!r}")
    return here


def _numbers(x: Any) -> tuple[list[int] | None, list[float]] | None:
    """(shape or None, flat numbers) of a tensor value or a number; None for anything else."""
    if isinstance(x, dict) and "shape" in x:
        if x.get("data") is None:
            raise AssertionError("the value is summarised; point at a smaller tensor")
        return list(x["shape"]), [float(v) for v in x["data"]]
    if isinstance(x, bool):
        return None
    if isinstance(x, int | float) or x in ("nan", "inf", "-inf"):
        return None, [float(x)]
    return None


def _close(a: float, b: float) -> bool:
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-6)


def same(shown: Any, expected: Any) -> bool:
    """Whether a value from the Trace equals a value from the plain run."""
    a, b = _numbers(shown), _numbers(expected)
    if a is None or b is None:
        return bool(shown == expected)
    (shape_a, xs), (shape_b, ys) = a, b
    if shape_a is not None and shape_b is not None and shape_a != shape_b:
        return False
    return len(xs) == len(ys) and all(_close(x, y) for x, y in zip(xs, ys, strict=True))


# ---------------------------------------------------------------- each lesson against PyTorch


@pytest.mark.parametrize("lesson_id", IDS)
def test_a_lesson_prints_exactly_what_plain_pytorch_prints(lesson_id: str) -> None:
    assert traced(lesson_id).stdout == plain_run(lesson_id).stdout
    assert plain_run(lesson_id).stdout, "a lesson prints the values it is about"


@pytest.mark.parametrize("lesson_id", IDS)
def test_a_lesson_plots_and_warns_as_plain_pytorch_does(lesson_id: str) -> None:
    trace = traced(lesson_id)
    plotted = [trace.series[e.series].y for e in trace.events if isinstance(e, PlotEvent)]
    expected = plain_run(lesson_id).plots
    assert len(plotted) == len(expected)
    for ys, plain_ys in zip(plotted, expected, strict=True):
        assert same({"shape": [len(ys)], "data": ys}, {"shape": [len(plain_ys)], "data": plain_ys})
    warned = [(e.category, e.message) for e in trace.events if isinstance(e, WarningEvent)]
    assert warned == plain_run(lesson_id).warnings


@pytest.mark.parametrize("lesson_id", IDS)
def test_a_lesson_raises_exactly_when_it_says_so(lesson_id: str) -> None:
    lesson = lessons.get(lesson_id)
    assert lesson is not None
    trace, run = traced(lesson_id), plain_run(lesson_id)
    assert lesson.raises == (run.error is not None)
    if run.error is None:
        assert trace.error is None
        return
    assert trace.error is not None
    assert trace.error.type == type(run.error).__name__
    assert trace.error.message == str(run.error)
    assert trace.error.line == run.error_line
    assert trace.error.explanation, "a classic error comes with its explanation"
    last = trace.events[-1]
    assert isinstance(last, ErrorEvent)
    assert (last.type, last.line) == (trace.error.type, trace.error.line)


@pytest.mark.parametrize("lesson_id", IDS)
def test_every_pointer_finds_a_moment_of_the_trace(lesson_id: str) -> None:
    lesson = lessons.get(lesson_id)
    assert lesson is not None
    trace = traced(lesson_id)
    for pointer in lesson.pointers:
        seq = resolve(trace, pointer.at)
        assert seq is not None, f"pointer {pointer.id} finds no moment"
        assert trace.events[seq].seq == seq


@pytest.mark.parametrize("lesson_id", IDS)
def test_what_a_pointer_shows_is_what_plain_pytorch_computes(lesson_id: str) -> None:
    lesson = lessons.get(lesson_id)
    assert lesson is not None
    trace, run = traced(lesson_id), plain_run(lesson_id)
    checked = 0
    for pointer in lesson.pointers:
        seq = resolve(trace, pointer.at)
        assert seq is not None
        for expect in pointer.expect:
            shown = shown_at(trace.events[seq], expect.of)
            moment = moment_of(lesson, pointer, expect)
            assert (moment, expect.equals) in run.values, (
                f"{pointer.id}: the plain run never finished the statement at {moment}"
            )
            expected = run.values[(moment, expect.equals)]
            assert not isinstance(expected, Exception), (
                f"{pointer.id}: {expect.equals!r} failed in the plain run: {expected!r}"
            )
            assert same(shown, expected), (
                f"{pointer.id}: the trace shows {expect.of} = {shown!r}, "
                f"plain PyTorch has {expect.equals} = {expected!r}"
            )
            checked += 1
    assert checked >= 2, "a lesson checks at least two values it points at"


# ---------------------------------------------------------------- the catalog


def test_the_catalog_has_the_fifteen_concepts_from_first_steps_to_advanced() -> None:
    assert len(CATALOG) == 15
    assert len(set(IDS)) == len(IDS)
    assert IDS[0] == "forward_backward", "the app opens on the first lesson"
    groups = list(lessons.GROUPS)
    keys = [(groups.index(lesson.group), lesson.order) for lesson in CATALOG]
    assert keys == sorted(keys)
    for group in groups:
        orders = [lesson.order for lesson in CATALOG if lesson.group == group]
        assert orders == list(range(1, len(orders) + 1)), f"{group} is numbered 1, 2, 3 ..."
    assert {lesson.group for lesson in CATALOG} == set(groups), "every group has lessons"


def test_program_files_are_numbered_in_catalog_order() -> None:
    programs = sorted((lessons_dir() / "programs").glob("*.py"))
    assert [p.stem.split("_", 1)[1] for p in programs] == IDS
    assert [int(p.stem.split("_", 1)[0]) for p in programs] == list(range(1, len(IDS) + 1))
    texts = {p.stem for p in (lessons_dir() / "texts").glob("*.toml")}
    assert texts == set(IDS), "one text file per program, and no orphans"


def _sentences(text: str, language: str) -> int:
    if language == "zh-CN":
        return len(re.findall(r"[。！？]", text))
    return len(re.findall(r"[.!?](?:\s|$)", text))


@pytest.mark.parametrize("lesson_id", IDS)
def test_every_text_is_written_in_both_languages(lesson_id: str) -> None:
    lesson = lessons.get(lesson_id)
    assert lesson is not None
    texts = [lesson.title, lesson.summary, lesson.explanation]
    texts += [pointer.text for pointer in lesson.pointers]
    for text in texts:
        assert set(text) == set(lessons.LANGUAGES)
        assert all(value.strip() for value in text.values())
    assert re.search(r"[\u4e00-\u9fff]", lesson.explanation["zh-CN"]), "Chinese is Chinese"
    for language in lessons.LANGUAGES:
        count = _sentences(lesson.explanation[language], language)
        assert 3 <= count <= 6, f"the {language} explanation has {count} sentences"


@pytest.mark.parametrize("lesson_id", IDS)
def test_a_lesson_is_short_and_has_a_few_pointers(lesson_id: str) -> None:
    lesson = lessons.get(lesson_id)
    assert lesson is not None
    assert 5 <= len(lesson.source.strip().splitlines()) <= 30
    assert lesson.source.startswith("# "), "the first line says what the lesson shows"
    assert 2 <= len(lesson.pointers) <= 5
    assert len({pointer.id for pointer in lesson.pointers}) == len(lesson.pointers)


def test_every_group_has_a_name_in_both_languages() -> None:
    for names in lessons.GROUPS.values():
        assert set(names) == set(lessons.LANGUAGES)
        assert all(name.strip() for name in names.values())


# ---------------------------------------------------------------- how lessons are served


def test_a_lesson_is_found_by_its_id_and_an_unknown_id_finds_none() -> None:
    first = lessons.get("forward_backward")
    assert first is not None
    assert first.title["en"] == "Forward and backward"
    assert lessons.get("no_such_lesson") is None


def test_a_lesson_encodes_to_the_json_the_page_reads() -> None:
    for lesson in CATALOG:
        data = msgspec.json.decode(msgspec.json.encode(lesson))
        assert set(data) == {
            "id", "group", "order", "title", "summary", "explanation", "source", "pointers",
            "raises",
        }  # fmt: skip
        for pointer in data["pointers"]:
            assert {"id", "at", "text"} <= set(pointer) <= {"id", "at", "text", "expect"}
            assert "kind" in pointer["at"]
        assert msgspec.convert(data, Lesson) == lesson


def test_a_pointer_without_expect_encodes_as_before() -> None:
    pointer = msgspec.convert({"id": "p", "at": {"kind": "op"}, "text": {"en": "x"}}, Pointer)
    assert msgspec.json.decode(msgspec.json.encode(pointer)) == {
        "id": "p",
        "at": {"kind": "op"},
        "text": {"en": "x"},
    }


@pytest.mark.parametrize("language", lessons.LANGUAGES)
def test_the_lesson_index_lists_every_group_and_lesson(language: str) -> None:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir())), autoescape=True)
    html = env.get_template("lessons.html").render(
        lessons=CATALOG, groups=lessons.GROUPS, lang=language, asset=lambda name: f"/{name}"
    )
    positions = [html.index(f"<h2>{names[language]}</h2>") for names in lessons.GROUPS.values()]
    assert positions == sorted(positions), "groups appear from first steps to advanced"
    links = [html.index(f'href="/lessons/{lesson.id}?lang={language}"') for lesson in CATALOG]
    assert links == sorted(links), "lessons appear in catalog order"
    for lesson in CATALOG:
        assert str(markupsafe.escape(lesson.title[language])) in html


def test_the_moments_command_shows_where_each_pointer_lands(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert moments.main(["retain_graph"]) == 0
    out = capsys.readouterr().out
    lesson = lessons.get("retain_graph")
    assert lesson is not None
    for pointer in lesson.pointers:
        seq = resolve(traced("retain_graph"), pointer.at)
        marked = [line for line in out.splitlines() if line.endswith(pointer.id)]
        assert len(marked) == 1
        assert marked[0].split()[0] == str(seq)
    assert "error at line 13: RuntimeError" in out
