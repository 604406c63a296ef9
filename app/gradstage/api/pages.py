"""The HTML pages: the app, a lesson, the lesson index and the chrome-free embed player."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Any

import msgspec
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from gradstage import lessons
from gradstage.api.cache import cache_key
from gradstage.api.errors import ApiError
from gradstage.api.state import Services, ServicesDep
from gradstage.paths import static_dir, templates_dir

router = APIRouter(tags=["pages"], include_in_schema=False)
templates = Jinja2Templates(directory=str(templates_dir()))


@lru_cache(maxsize=64)
def _digest(name: str) -> str:
    path = static_dir() / name
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()[:12]
    except OSError:
        return "missing"


def asset(name: str) -> str:
    """The URL of a built front-end file, with a content hash for cache busting."""
    return f"/static/{name}?v={_digest(name)}"


def boot_json(data: dict[str, Any]) -> str:
    """JSON safe to place inside <script type="application/json">: no "<", ">" or "&"."""
    text = msgspec.json.encode(data).decode()
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def page_lang(lang: str | None) -> str:
    """The page's language from ``?lang=``: zh, zh-cn, zh-Hans are the one Chinese we have."""
    lang = (lang or "en").lower()
    if lang == "zh" or lang.startswith("zh-"):
        return "zh-CN"
    return lang if lang in lessons.LANGUAGES else "en"


TAGLINE = {"en": "see what autograd does", "zh-CN": "看 autograd 做了什么"}


def _page(request: Request, services: Services, page: str, lesson_id: str | None) -> HTMLResponse:
    lesson = lessons.get(lesson_id) if lesson_id else None
    lang = page_lang(request.query_params.get("lang"))
    if lesson_id and lesson is None:
        raise ApiError(404, f"there is no lesson {lesson_id!r}")
    trace = None
    if lesson is not None:
        cached = services.cache.get(cache_key(lesson.source, services.limits))
        # The cached bytes are the Trace's JSON already: embedded as they are, not re-encoded.
        trace = msgspec.Raw(cached) if cached else None
    boot = {
        "page": page,
        "lesson": msgspec.to_builtins(lesson) if lesson else None,
        "trace": trace,
        "api": "/api",
        "lessons": [{"id": x.id, "group": x.group, "title": x.title} for x in lessons.catalog()],
        "groups": lessons.GROUPS,
        "nonce": getattr(request.state, "csp_nonce", None),
    }
    return templates.TemplateResponse(
        request,
        "app.html",
        {
            "page": page,
            "lesson_id": lesson_id,
            "boot_json": boot_json(boot),
            "asset": asset,
            "lang": lang,
            "title": f"{lesson.title.get(lang, lesson.title['en'])} — gradstage"
            if lesson is not None
            else f"gradstage — {TAGLINE[lang]}",
        },
    )


def _first_lesson() -> str | None:
    return lessons.catalog()[0].id if lessons.catalog() else None


@router.get("/", response_class=HTMLResponse)
async def read_app(request: Request, services: ServicesDep) -> HTMLResponse:
    """The app, opened on the first lesson."""
    return _page(request, services, "app", _first_lesson())


@router.get("/lessons", response_class=HTMLResponse)
async def read_lesson_index(request: Request, lang: str = "en") -> HTMLResponse:
    """Every lesson, grouped from first steps to advanced."""
    lang = page_lang(lang)
    return templates.TemplateResponse(
        request,
        "lessons.html",
        {"lessons": lessons.catalog(), "groups": lessons.GROUPS, "lang": lang, "asset": asset},
    )


@router.get("/lessons/{lesson_id}", response_class=HTMLResponse)
async def read_lesson_page(request: Request, lesson_id: str, services: ServicesDep) -> HTMLResponse:
    """The app, opened on one lesson."""
    return _page(request, services, "app", lesson_id)


@router.get("/embed", response_class=HTMLResponse)
async def read_embed(request: Request, services: ServicesDep) -> HTMLResponse:
    """The chrome-free player for a program carried in the URL fragment."""
    return _page(request, services, "embed", None)


@router.get("/embed/{lesson_id}", response_class=HTMLResponse)
async def read_embed_lesson(
    request: Request, lesson_id: str, services: ServicesDep
) -> HTMLResponse:
    """The chrome-free player for one lesson, for iframes in course pages."""
    return _page(request, services, "embed", lesson_id)
