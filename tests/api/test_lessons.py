"""The lessons API and the pages: the catalog is the oracle."""

from __future__ import annotations

import json
from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import httpx
import msgspec
from fastapi import FastAPI
from gradstage import lessons

from tests.api.helpers import ASGI_GROUP, Run, call

pytestmark = ASGI_GROUP


class _Boot(HTMLParser):
    """The page's boot data: the text of <script type="application/json" id="gradstage-boot">."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.inside = tag == "script" and ("id", "gradstage-boot") in attrs

    def handle_endtag(self, tag: str) -> None:
        self.inside = False

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.text += data


def boot_of(page: httpx.Response) -> dict[str, Any]:
    parser = _Boot()
    parser.feed(page.text)
    boot: dict[str, Any] = json.loads(parser.text)
    return boot


def test_the_lesson_list_is_the_catalog_in_order_without_programs(
    run: Run[httpx.Response], make_app: Callable[..., FastAPI]
) -> None:
    response = call(run, make_app(), "GET", "/api/lessons")
    assert response.status_code == 200
    body = response.json()
    catalog = lessons.catalog()
    assert [item["id"] for item in body["lessons"]] == [lesson.id for lesson in catalog]
    assert body["groups"] == lessons.GROUPS
    first = body["lessons"][0]
    assert set(first) == {"id", "group", "order", "title", "summary"}
    assert first["title"] == catalog[0].title


def test_a_lesson_is_its_program_texts_and_pointers(
    run: Run[httpx.Response], make_app: Callable[..., FastAPI]
) -> None:
    app = make_app()
    for lesson in lessons.catalog():
        response = call(run, app, "GET", f"/api/lessons/{lesson.id}")
        assert response.status_code == 200
        assert response.json() == msgspec.to_builtins(lesson)


def test_an_unknown_lesson_is_a_404_in_the_error_shape(
    run: Run[httpx.Response], make_app: Callable[..., FastAPI]
) -> None:
    response = call(run, make_app(), "GET", "/api/lessons/no-such-lesson")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    assert "no-such-lesson" in response.json()["error"]["message"]


def test_the_app_page_opens_on_the_first_lesson_and_loads_the_built_front_end(
    run: Run[httpx.Response], make_app: Callable[..., FastAPI]
) -> None:
    app = make_app()
    page = call(run, app, "GET", "/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    boot = boot_of(page)
    assert boot["page"] == "app"
    assert boot["lesson"]["id"] == lessons.catalog()[0].id
    assert [x["id"] for x in boot["lessons"]] == [x.id for x in lessons.catalog()]
    assert '<script type="module" src="/static/app.js?v=' in page.text
    script = call(run, app, "GET", "/static/app.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert len(script.content) > 10_000


def test_a_lesson_page_carries_the_lessons_cached_trace(
    run: Run[httpx.Response], make_app: Callable[..., FastAPI]
) -> None:
    app = make_app()
    lesson = lessons.catalog()[0]
    before = boot_of(call(run, app, "GET", f"/lessons/{lesson.id}"))
    assert (before["lesson"]["id"], before["trace"]) == (lesson.id, None)
    traced = call(run, app, "POST", "/api/trace", json={"code": lesson.source})
    after = boot_of(call(run, app, "GET", f"/lessons/{lesson.id}"))
    assert after["trace"] == traced.json()


def test_the_embed_pages_and_the_lesson_index_are_served(
    run: Run[httpx.Response], make_app: Callable[..., FastAPI]
) -> None:
    app = make_app()
    lesson = lessons.catalog()[0]
    embed = call(run, app, "GET", f"/embed/{lesson.id}")
    assert embed.status_code == 200
    assert boot_of(embed)["page"] == "embed"
    assert boot_of(call(run, app, "GET", "/embed"))["lesson"] is None
    index = call(run, app, "GET", "/lessons")
    assert index.status_code == 200
    for item in lessons.catalog():
        assert f'href="/lessons/{item.id}?lang=en"' in index.text
    for spelling in ("zh-CN", "zh", "zh-Hans"):
        chinese = call(run, app, "GET", "/lessons", params={"lang": spelling})
        assert lesson.title["zh-CN"] in chinese.text, spelling


def test_pages_of_unknown_lessons_are_404(
    run: Run[httpx.Response], make_app: Callable[..., FastAPI]
) -> None:
    app = make_app()
    assert call(run, app, "GET", "/lessons/no-such-lesson").status_code == 404
    assert call(run, app, "GET", "/embed/no-such-lesson").status_code == 404
