"""Security headers on every response; only /embed may be framed; no inline script; settings."""

from __future__ import annotations

import json
from collections.abc import Callable
from html.parser import HTMLParser

import httpx
import pydantic
import pytest
from fastapi import FastAPI
from gradstage import lessons
from gradstage.api.pages import boot_json

from tests.api.helpers import ASGI_GROUP, Run, call, settings

pytestmark = ASGI_GROUP


def _requests() -> list[tuple[str, str]]:
    lesson = lessons.catalog()[0].id
    return [
        ("GET", "/"),
        ("GET", "/lessons"),
        ("GET", f"/lessons/{lesson}"),
        ("GET", "/api/lessons"),
        ("GET", f"/api/lessons/{lesson}"),
        ("GET", "/api/schema"),
        ("GET", "/api/status"),
        ("GET", "/healthz"),
        ("GET", "/readyz"),
        ("GET", "/metrics"),
        ("GET", "/openapi.json"),
        ("GET", "/static/app.js"),
        ("GET", "/no-such-page"),
        ("GET", "/embedded"),  # not an embed route
        ("POST", "/api/trace"),  # 422: no body
    ]


def _csp(response: httpx.Response) -> dict[str, str]:
    policy = response.headers["content-security-policy"]
    return {d.split()[0]: d.partition(" ")[2] for d in (x.strip() for x in policy.split(";")) if d}


def test_every_response_has_the_security_headers_and_may_not_be_framed(
    run: Run[httpx.Response], make_app: Callable[..., FastAPI]
) -> None:
    app = make_app()
    for method, path in _requests():
        response = call(run, app, method, path)
        where = f"{method} {path} ({response.status_code})"
        assert response.headers["x-content-type-options"] == "nosniff", where
        assert response.headers["referrer-policy"] == "strict-origin-when-cross-origin", where
        assert response.headers["x-frame-options"] == "DENY", where
        csp = _csp(response)
        assert csp["frame-ancestors"] == "'none'", where
        assert csp["script-src"] == "'self'", where
        assert csp["object-src"] == "'none'", where
        assert "unsafe-inline" not in response.headers["content-security-policy"], where
        assert "unsafe-eval" not in response.headers["content-security-policy"], where


def test_any_site_may_frame_the_embed_routes_by_default(
    run: Run[httpx.Response], make_app: Callable[..., FastAPI]
) -> None:
    app = make_app()
    for path in ("/embed", f"/embed/{lessons.catalog()[0].id}", "/embed/no-such-lesson"):
        response = call(run, app, "GET", path)
        assert _csp(response)["frame-ancestors"] == "*", path
        assert "x-frame-options" not in response.headers, path
        assert response.headers["x-content-type-options"] == "nosniff", path


def test_the_operator_chooses_who_may_frame_the_embeds(
    run: Run[httpx.Response], make_app: Callable[..., FastAPI]
) -> None:
    app = make_app(frame_ancestors="https://course.example.org 'self'")
    embed = call(run, app, "GET", f"/embed/{lessons.catalog()[0].id}")
    assert _csp(embed)["frame-ancestors"] == "https://course.example.org 'self'"
    assert _csp(call(run, app, "GET", "/"))["frame-ancestors"] == "'none'"


@pytest.mark.parametrize("value", ["* ; script-src *", "https://a.example\r\nX-Evil: 1", "", "a,b"])
def test_frame_ancestors_cannot_smuggle_other_directives_or_headers(value: str) -> None:
    with pytest.raises(pydantic.ValidationError):
        settings(frame_ancestors=value)


class _Scripts(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts: list[dict[str, str | None]] = []
        self.inline_handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "script":
            self.scripts.append(dict(attrs))
        self.inline_handlers += [name for name, _ in attrs if name.startswith("on")]


def test_pages_have_no_inline_script_only_scripts_from_self_and_json_data(
    run: Run[httpx.Response], make_app: Callable[..., FastAPI]
) -> None:
    app = make_app()
    lesson = lessons.catalog()[0].id
    for path in ("/", "/lessons", f"/lessons/{lesson}", f"/embed/{lesson}", "/embed"):
        parser = _Scripts()
        parser.feed(call(run, app, "GET", path).text)
        assert parser.inline_handlers == [], path
        for script in parser.scripts:
            src = script.get("src")
            if src is None:
                assert script.get("type") == "application/json", (path, script)
            else:
                assert src.startswith("/static/"), (path, src)


def test_the_boot_data_cannot_close_its_script_tag() -> None:
    hostile = {"name": "</script><script>alert(1)</script><!-- & -->"}
    text = boot_json(hostile)
    assert not set(text) & set("<>&")
    assert json.loads(text) == hostile
