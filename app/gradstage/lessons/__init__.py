"""The lessons: one program per autograd concept, explained in English and Simplified Chinese.

Each lesson is ``programs/NN_<id>.py`` (plain PyTorch, runnable as it is) and
``texts/<id>.toml`` (title, summary, explanation, pointers, in both languages).
"""

from __future__ import annotations

import tomllib
from functools import lru_cache

import msgspec

from gradstage.lessons.model import GROUPS, LANGUAGES, Expect, Lesson, Pointer, Selector
from gradstage.paths import lessons_dir

__all__ = ["GROUPS", "LANGUAGES", "Expect", "Lesson", "Pointer", "Selector", "catalog", "get"]


@lru_cache(maxsize=1)
def catalog() -> list[Lesson]:
    """Every lesson, from first steps to advanced."""
    base = lessons_dir()
    lessons = []
    for program in sorted((base / "programs").glob("*.py")):
        lesson_id = program.stem.split("_", 1)[1]
        text = tomllib.loads((base / "texts" / f"{lesson_id}.toml").read_text("utf-8"))
        lessons.append(
            msgspec.convert({**text, "id": lesson_id, "source": program.read_text("utf-8")}, Lesson)
        )
    group_order = list(GROUPS)
    return sorted(lessons, key=lambda x: (group_order.index(x.group), x.order))


def get(lesson_id: str) -> Lesson | None:
    """One lesson by id, or None."""
    return next((lesson for lesson in catalog() if lesson.id == lesson_id), None)
