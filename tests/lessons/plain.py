"""Run a lesson program as plain Python, the oracle the traced run is compared with.

The program runs with the tracer's seeding and a small matplotlib stand-in of its own (written
here, not the tracer's, so the oracle does not lean on the code it checks), without any capture.
``sys.settrace`` follows the program's own frames only, so expressions can be evaluated at chosen
moments: right after the statement that starts on a given line has run for the n-th time.
Values are copied when evaluated, because a tensor may change in place later.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import io
import random
import sys
import traceback
import types
import warnings
from collections import Counter
from dataclasses import dataclass, field
from types import FrameType
from typing import Any

import numpy
import torch
from gradstage.limits import Limits
from gradstage.tracer.recorder import PROGRAM_FILE

Moment = tuple[int, int]  # (first line of a statement, which run of it, from 1)


@dataclass
class PlainRun:
    """What the program did when nothing was watching it."""

    stdout: str
    error: BaseException | None
    error_line: int | None
    plots: list[list[float]]
    warnings: list[tuple[str, str]]
    values: dict[tuple[Moment | None, str], Any] = field(default_factory=dict)


def plain(value: Any) -> Any:
    """A value as plain data, copied now: tensors become ``{"shape", "data"}``."""
    if isinstance(value, torch.Tensor):
        t = value.detach()
        return {"shape": list(t.shape), "data": [float(x) for x in t.reshape(-1).tolist()]}
    if isinstance(value, bool | str) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return repr(value)


def statement_starts(source: str) -> dict[int, int]:
    """Each line of the program -> the first line of the simple statement it belongs to.

    Compound statements (``for``, ``with``, ``def`` ...) count by their header line only.
    """
    starts: dict[int, int] = {}
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.stmt):
            continue
        if isinstance(node, ast.For | ast.While | ast.If | ast.With | ast.Try):
            starts.setdefault(node.lineno, node.lineno)
            continue
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            for line in range(node.lineno, node.body[0].lineno):
                starts.setdefault(line, node.lineno)
            continue
        for line in range(node.lineno, (node.end_lineno or node.lineno) + 1):
            starts[line] = node.lineno
    return starts


def pyplot(plots: list[list[float]]) -> dict[str, types.ModuleType]:
    """``matplotlib`` and ``matplotlib.pyplot`` whose ``plot`` keeps each series' y values."""
    module = types.ModuleType("matplotlib.pyplot")

    def plot(*args: Any, **kwargs: Any) -> list[Any]:
        arrays = [a for a in args if not isinstance(a, str)]
        if arrays:
            y = arrays[-1]
            y = y.detach().reshape(-1).tolist() if isinstance(y, torch.Tensor) else list(y)
            plots.append([float(v) for v in y])
        return []

    def nothing(*args: Any, **kwargs: Any) -> None:
        return None

    module.__dict__.update(plot=plot, __getattr__=lambda name: nothing)
    package = types.ModuleType("matplotlib")
    package.__dict__.update(pyplot=module)
    return {"matplotlib": package, "matplotlib.pyplot": module}


def seed() -> None:
    """Seed exactly as the tracer does before it runs a program."""
    s = Limits().seed
    torch.manual_seed(s)
    random.seed(s)
    numpy.random.seed(s)


def run_plain(
    source: str, at: dict[Moment, list[str]] | None = None, at_end: list[str] | None = None
) -> PlainRun:
    """Run ``source``; evaluate ``at[(line, n)]`` after that statement's n-th run, ``at_end``
    once it has stopped (normally or by its error)."""
    at = at or {}
    starts = statement_starts(source)
    code = compile(source, PROGRAM_FILE, "exec")
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    values: dict[tuple[Moment | None, str], Any] = {}
    runs: Counter[int] = Counter()
    current: dict[int, tuple[FrameType, Moment]] = {}

    def evaluate(frame: FrameType, moment: Moment | None, exprs: list[str]) -> None:
        scope = {**frame.f_globals, **frame.f_locals}
        for expr in exprs:
            try:
                values[(moment, expr)] = plain(eval(expr, scope))
            except Exception as exc:  # reported by the test that asked for it
                values[(moment, expr)] = exc

    def finish(frame: FrameType) -> None:
        held = current.pop(id(frame), None)
        if held is not None and held[1] in at:
            evaluate(frame, held[1], at[held[1]])

    def local(frame: FrameType, event: str, arg: Any) -> Any:
        if event == "line":
            start = starts.get(frame.f_lineno, frame.f_lineno)
            held = current.get(id(frame))
            if held is None or held[1][0] != start:
                finish(frame)
                runs[start] += 1
                current[id(frame)] = (frame, (start, runs[start]))
        elif event == "return":
            finish(frame)
        return local

    def watch(frame: FrameType, event: str, arg: Any) -> Any:
        # Comprehensions and lambdas are part of the statement that runs them, not new runs.
        code = frame.f_code
        inner = code.co_name.startswith("<") and code.co_name != "<module>"
        return local if code.co_filename == PROGRAM_FILE and not inner else None

    out = io.StringIO()
    error: BaseException | None = None
    error_line = None
    plots: list[list[float]] = []

    saved = {k: sys.modules.get(k) for k in ("matplotlib", "matplotlib.pyplot")}
    seed()
    with warnings.catch_warnings(record=True) as caught, contextlib.redirect_stdout(out):
        warnings.simplefilter("always")
        sys.modules.update(pyplot(plots))
        sys.settrace(watch)
        try:
            exec(code, namespace)
        except Exception as exc:
            error = exc
            for frame, line in traceback.walk_tb(exc.__traceback__):
                if frame.f_code.co_filename == PROGRAM_FILE:
                    error_line = line
        finally:
            sys.settrace(None)
            for k, v in saved.items():
                if v is None:
                    sys.modules.pop(k, None)
                else:
                    sys.modules[k] = v
    for expr in at_end or []:
        try:
            values[(None, expr)] = plain(eval(expr, namespace))
        except Exception as exc:
            values[(None, expr)] = exc
    return PlainRun(
        stdout=out.getvalue(),
        error=error,
        error_line=error_line,
        plots=plots,
        warnings=[(w.category.__name__, str(w.message)) for w in caught],
        values=values,
    )
