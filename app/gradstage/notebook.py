"""The player inline in Jupyter: ``gradstage.show(source)`` or ``gradstage.show(tensor)``.

Both run in the notebook's own Python process, without the sandbox: use them for your own code.
The output is one self-contained HTML document (the same as ``gradstage export``) placed in an
``<iframe srcdoc=...>``, so the player's script and styles cannot touch the notebook page and
the output still plays when the notebook is opened later with no server.
"""

from __future__ import annotations

import contextlib
import html
import json
import random
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from gradstage.export import FRAGMENT_OPTIONS, standalone_html
from gradstage.schema import Trace

# The embed's own height on a wide page (its bar, the 380 px graph, the timeline and the 320 px
# band of inspector, console and chart): what the iframe starts at before the player reports it.
DEFAULT_HEIGHT = 840


def _fit_script(frame_id: str) -> str:
    """A script fitting the iframe to the height its player posts, as a course page does."""
    # It runs where the notebook runs the scripts of outputs; elsewhere the iframe keeps its height.
    return (
        "<script>(() => {"
        f" const frame = document.getElementById({json.dumps(frame_id)});"
        ' window.addEventListener("message", (event) => {'
        " if (frame && event.source === frame.contentWindow && event.data"
        ' && event.data.type === "gradstage:height") frame.style.height = event.data.height + "px";'
        " }); })();</script>"
    )


class Player:
    """A traced program or graph, displayed by Jupyter through ``_repr_html_``."""

    def __init__(self, trace: Trace, document: str, *, height: int, title: str) -> None:
        self.trace = trace
        self.document = document
        self.height = height
        self.title = title

    def _repr_html_(self) -> str:
        """An iframe holding the whole player: isolated from the notebook, works offline."""
        # In an iframe srcdoc, "#..." would resolve against the notebook's own address and the
        # page could not keep its view in the fragment; about:srcdoc as base keeps it local.
        document = self.document.replace("<head>", '<head>\n<base href="about:srcdoc">', 1)
        # allow-same-origin is left out: the player runs in an opaque origin of its own.
        frame_id = f"gradstage-{secrets.token_hex(6)}"
        return (
            f'<iframe id="{frame_id}" srcdoc="{html.escape(document, quote=True)}" '
            f'title="{html.escape(self.title, quote=True)}" '
            'sandbox="allow-scripts allow-downloads allow-popups allow-modals" '
            f'style="width:100%;height:{self.height}px;border:1px solid #d5d9e0;'
            'border-radius:4px" loading="lazy"></iframe>' + _fit_script(frame_id)
        )

    def save_html(self, path: str | Path) -> Path:
        """Write the standalone player to ``path`` (it plays from file:// with no server)."""
        target = Path(path)
        target.write_text(self.document, encoding="utf-8")
        return target

    def __repr__(self) -> str:
        t = self.trace
        return (
            f"<gradstage player {self.title!r}: {len(t.nodes)} nodes, {len(t.events)} events"
            + (f", error {t.error.type}" if t.error else "")
            + ">"
        )


@contextlib.contextmanager
def _rng_kept() -> Iterator[None]:
    """The tracer seeds the random generators; the notebook's own streams are put back."""
    import torch

    torch_state = torch.get_rng_state()
    py_state = random.getstate()
    np_state: Any = None
    with contextlib.suppress(ImportError):
        import numpy

        np_state = numpy.random.get_state()
    try:
        yield
    finally:
        torch.set_rng_state(torch_state)
        random.setstate(py_state)
        if np_state is not None:
            import numpy

            numpy.random.set_state(np_state)


def _caller_namespace() -> dict[str, Any]:
    """The variables of the code that called ``show`` (the notebook's globals, a function's
    locals), skipping gradstage's own frames."""
    frame = sys._getframe(1)
    while frame is not None and str(frame.f_globals.get("__name__", "")).startswith("gradstage"):
        frame = frame.f_back  # type: ignore[assignment]
    if frame is None:
        return {}
    return {**frame.f_globals, **frame.f_locals}


def show(what: Any, **options: Any) -> Player:
    """The player for a program's source (traced now) or a tensor's graph (already built).

    Options: ``height`` (pixels, until an embed player reports its own), ``title``, ``page``
    (``embed``: chrome-free, the default; ``app``: the full page), ``namespace`` (for source:
    names the program may use, none by default; for a tensor: where to find names, the caller's
    variables by default), and the view options of an embed link: ``autoplay`` (on by default
    here), ``speed``, ``step``, ``view`` (``flow``/``grad_fn``), ``theme``, ``lang``
    (``en``/``zh-CN``), ``editor``, ``node``.
    """
    import torch

    height = options.pop("height", None)
    page = options.pop("page", "embed")
    namespace = options.pop("namespace", None)
    title = options.pop("title", None)
    unknown = sorted(set(options) - set(FRAGMENT_OPTIONS))
    if unknown:
        raise TypeError(f"show() got unknown option(s) {unknown}")
    view = dict(options)
    view.setdefault("autoplay", True)  # a notebook cell plays as soon as it is shown
    if isinstance(what, str):
        from gradstage.tracer import trace_program

        with _rng_kept():
            trace = trace_program(what, namespace=namespace)
        source = what
        title = title or "program"
    elif isinstance(what, torch.Tensor):
        from gradstage.tracer.reachable import trace_reachable

        names = _caller_namespace() if namespace is None else dict(namespace)
        trace = trace_reachable(what, namespace=names)
        name = next((k for k, v in names.items() if v is what and not k.startswith("_")), None)
        title = title or (f"graph of {name}" if name else "graph")
        source = f"# The autograd graph reachable from {name or 'the tensor'}.\n"
        view.setdefault("editor", "hidden")  # no program lines to show
    else:
        raise TypeError(
            f"show() takes a program's source (str) or a torch.Tensor, not {type(what).__name__}"
        )
    document = standalone_html(trace, source=source, title=title, page=page, options=view)
    return Player(trace, document, height=int(height or DEFAULT_HEIGHT), title=title)
