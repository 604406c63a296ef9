"""Find the moment of a Trace that a lesson's pointer names (see docs/lessons-format.md)."""

from __future__ import annotations

from gradstage.lessons.model import Selector
from gradstage.schema import Trace


def resolve(trace: Trace, selector: Selector) -> int | None:
    """The ``seq`` of the selected event, or None when the Trace has no such moment."""
    names = {t.id: t.name for t in trace.tensors}
    node_names = {n.id: n.name for n in trace.nodes}
    seen = 0
    for event in trace.events:
        if type(event).__struct_config__.tag != selector.kind:
            continue
        if selector.line is not None and event.line != selector.line:
            continue
        if selector.iteration is not None and event.iteration != selector.iteration:
            continue
        if selector.tensor is not None:
            tensor = getattr(event, "tensor", None)
            roots = getattr(event, "roots", None)
            outputs = getattr(event, "outputs", None)
            candidates = [tensor] if tensor else list(roots or outputs or [])
            if selector.tensor not in {names.get(c) for c in candidates}:
                continue
        if selector.node is not None and node_names.get(getattr(event, "node", None) or "") != (
            selector.node
        ):
            continue
        seen += 1
        if seen == selector.nth:
            return event.seq
    return None
