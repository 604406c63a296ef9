"""GET /api/lessons and /api/lessons/{lesson_id}: the lessons as JSON."""

from __future__ import annotations

import msgspec
from fastapi import APIRouter, Response

from gradstage import lessons
from gradstage.api.errors import ApiError

router = APIRouter(tags=["lessons"])

_JSON = {"content": {"application/json": {"schema": {"type": "object"}}}}


@router.get("/api/lessons", response_class=Response, responses={200: _JSON})
async def list_lessons() -> Response:
    """Every lesson (without its program text), from first steps to advanced."""
    items = [
        {
            "id": lesson.id,
            "group": lesson.group,
            "order": lesson.order,
            "title": lesson.title,
            "summary": lesson.summary,
        }
        for lesson in lessons.catalog()
    ]
    return Response(
        msgspec.json.encode({"groups": lessons.GROUPS, "lessons": items}),
        media_type="application/json",
    )


@router.get(
    "/api/lessons/{lesson_id}",
    response_class=Response,
    responses={200: _JSON, 404: {"description": "no such lesson"}},
)
async def read_lesson(lesson_id: str) -> Response:
    """One lesson: its program, texts and pointers."""
    lesson = lessons.get(lesson_id)
    if lesson is None:
        raise ApiError(404, f"there is no lesson {lesson_id!r}")
    return Response(msgspec.json.encode(lesson), media_type="application/json")
