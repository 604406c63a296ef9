"""Where templates and the built front end live: inside the wheel, or in the source checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_CHECKOUT = _PACKAGE.parent.parent


def templates_dir() -> Path:
    """The jinja2 templates folder."""
    packaged = _PACKAGE / "templates"
    return packaged if packaged.is_dir() else _CHECKOUT / "templates"


def static_dir() -> Path:
    """The built front end (``static/dist`` in a checkout)."""
    packaged = _PACKAGE / "static"
    return packaged if packaged.is_dir() else _CHECKOUT / "static" / "dist"


def lessons_dir() -> Path:
    """The lesson programs and texts."""
    return _PACKAGE / "lessons"
