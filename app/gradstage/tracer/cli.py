"""``gradstage trace PROGRAM.py``: the Trace as JSON, or a short account for people."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import msgspec

from gradstage.schema import NodeEvent, Trace, Value, encode


def _fmt(value: Value | None) -> str:
    if value is None:
        return "None"
    if value.data is not None:
        nums = [x if isinstance(x, str) else f"{x:.4g}" for x in value.data]
        text = nums[0] if not value.shape else "[" + ", ".join(nums) + "]"
        return text if len(text) <= 60 else text[:57] + "..."
    if value.stats is not None:
        st = value.stats
        dims = "x".join(map(str, value.shape))
        text = f"<{dims} mean={_num(st.mean)} min={_num(st.min)} max={_num(st.max)}"
        return text + (f" nan={st.nan}" if st.nan else "") + (f" inf={st.inf}>" if st.inf else ">")
    return f"<{value.shape}>"


def _num(x: float | str | None) -> str:
    """A statistic: a number, "nan"/"inf", or None when no element is finite."""
    return "None" if x is None else x if isinstance(x, str) else f"{x:.4g}"


def summary(trace: Trace) -> str:
    """A short human-readable account: tensors with value and grad, the backward order."""
    lines: list[str] = []
    nodes = {n.id: n for n in trace.nodes}
    lines.append("tensors:")
    for t in trace.tensors:
        if t.name is None and t.kind == "constant":
            continue
        label = t.name or t.id
        grad = f"  grad={_fmt(t.grad)}" if t.grad is not None else ""
        fn = f"  grad_fn={nodes[t.grad_fn].name}" if t.grad_fn in nodes else ""
        lines.append(f"  {label} ({t.kind}, {list(t.shape)}) = {_fmt(t.value)}{fn}{grad}")
    order: list[str] = []
    for e in trace.events:
        kind = type(e).__name__
        if kind == "BackwardEvent":
            order.append(f"backward() at line {e.line}:")
        elif isinstance(e, NodeEvent):
            order.append(f"  {nodes[e.node].name if e.node in nodes else e.node}")
    if order:
        lines.append("backward order:")
        lines.extend(order)
    if trace.truncated is not None and trace.truncated.events_dropped:
        tr = trace.truncated
        lines.append(
            f"truncated: {tr.events_dropped} events of {tr.iterations_total} iterations left out"
        )
    if trace.error is not None:
        err = trace.error
        lines.append(f"error at line {err.line}: {err.type}: {err.message}")
        if err.explanation:
            lines.append(f"  {err.explanation}")
    return "\n".join(lines) + "\n"


def trace_command(
    program: str,
    output: str | None,
    *,
    summary: bool,
    indent: bool,
    time_limit: float | None = None,
) -> int:
    """Run the tracer on a file; non-zero only when gradstage itself fails. ``time_limit``:
    seconds of CPU or wall-clock time after which the program is stopped at its line."""
    from gradstage.tracer import trace_program

    try:
        raw = sys.stdin.buffer.read() if program == "-" else Path(program).read_bytes()
    except OSError as exc:
        print(f"gradstage: cannot read {program}: {exc.strerror}", file=sys.stderr)
        return 2
    try:
        source = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        print(
            f"gradstage: {program} is not UTF-8 (line {line}: {exc.reason}); save it as UTF-8",
            file=sys.stderr,
        )
        return 2
    # What the program writes past print() (os.write(1, ...), sys.__stdout__) goes to stderr,
    # so that stdout holds the Trace alone.
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        trace = trace_program(source, time_limit=time_limit)
    finally:
        with contextlib.suppress(OSError, ValueError):
            sys.__stdout__.flush()  # type: ignore[union-attr]
        os.dup2(saved, 1)
        os.close(saved)
    if summary:
        text = globals()["summary"](trace)
        data = text.encode()
    else:
        data = encode(trace)
        if indent:
            data = msgspec.json.format(data, indent=2)
        data += b"\n"
    if output:
        try:
            Path(output).write_bytes(data)
        except OSError as exc:
            print(f"gradstage: cannot write {output}: {exc.strerror}", file=sys.stderr)
            return 2
    else:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    return 0
