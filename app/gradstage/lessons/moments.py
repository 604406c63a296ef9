"""``python -m gradstage.lessons.moments LESSON_ID | PROGRAM.py``: the moments a pointer can name.

Prints one line per event of the program's Trace, spelled as the selector fields that find it
(``kind``, ``line``, ``iteration``, ``tensor``, ``node``), so a teacher can copy them into a
lesson's ``at = {...}``. For a lesson, each pointer is shown next to the event it resolves to,
and the command fails when a pointer finds nothing.
"""

from __future__ import annotations

import sys
from pathlib import Path

from gradstage.lessons import get
from gradstage.lessons.pointers import resolve
from gradstage.schema import Trace


def describe(trace: Trace, marks: dict[int, list[str]] | None = None) -> list[str]:
    """One line per event: its seq and the selector fields that match it."""
    names = {t.id: t.name for t in trace.tensors}
    node_names = {n.id: n.name for n in trace.nodes}
    out = []
    for event in trace.events:
        kind = type(event).__struct_config__.tag
        fields = [f'kind = "{kind}"']
        if event.line is not None:
            fields.append(f"line = {event.line}")
        if event.iteration is not None:
            fields.append(f"iteration = {event.iteration}")
        tensor = getattr(event, "tensor", None)
        candidates = (
            [tensor]
            if tensor
            else list(getattr(event, "roots", None) or getattr(event, "outputs", None) or [])
        )
        tensor_names = [n for n in (names.get(c) for c in candidates) if n]
        if tensor_names:
            fields.append(f'tensor = "{tensor_names[0]}"')
        node = getattr(event, "node", None)
        if isinstance(node, str) and node in node_names:
            fields.append(f'node = "{node_names[node]}"')
        pointed = "  <- " + ", ".join(marks[event.seq]) if marks and event.seq in marks else ""
        out.append(f"{event.seq:5}  {{ {', '.join(fields)} }}{pointed}")
    return out


def main(argv: list[str] | None = None) -> int:
    """Trace a lesson (by id) or a program file and print its moments."""
    from gradstage.tracer import trace_program

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__.splitlines()[0], file=sys.stderr)
        return 2
    lesson = get(args[0])
    source = lesson.source if lesson is not None else Path(args[0]).read_text("utf-8")
    trace = trace_program(source)
    marks: dict[int, list[str]] = {}
    missing = []
    for pointer in lesson.pointers if lesson is not None else []:
        seq = resolve(trace, pointer.at)
        if seq is None:
            missing.append(pointer.id)
        else:
            marks.setdefault(seq, []).append(pointer.id)
    print("\n".join(describe(trace, marks)))
    if trace.error is not None:
        print(f"error at line {trace.error.line}: {trace.error.type}: {trace.error.message}")
    if missing:
        print(f"pointers that find no moment: {', '.join(missing)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
