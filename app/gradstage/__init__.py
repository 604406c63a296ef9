"""gradstage: run a PyTorch program, record what autograd does, replay it in the browser."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from gradstage.schema import Trace

__all__ = ["__version__", "show", "trace"]


def trace(source: str, **limits: Any) -> Trace:
    """Run ``source`` in this process under the tracer and return its Trace (trusted code only)."""
    from gradstage.tracer import trace_program

    return trace_program(source, **limits)


def show(what: Any, **options: Any) -> Any:
    """Display the player inline in a notebook for a program's source or a tensor's graph."""
    from gradstage.notebook import show as _show

    return _show(what, **options)
