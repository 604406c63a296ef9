"""How much slower is a program under the tracer than plain, and than drawing it with torchviz?

Prints, for three programs, the plain run time, the traced run time (the full Trace: every value
and gradient) and its size. For the ResNet-18-shaped model (c) it also prints what torchviz
costs to draw its autograd graph: ``make_dot`` + Graphviz rendering it to SVG, alone and with
the forward pass it needs, next to what the tracer adds to the run. torchviz draws it twice:
as it does by default (the grad_fn Nodes and the leaves) and with what the Trace's graph holds
besides (each Node's saved tensors and saved attributes: ``show_saved``, ``show_attrs``).

    .venv/bin/python bench/trace_overhead.py            # needs: pip install torchviz graphviz
                                                        #        apt-get install graphviz
Times are medians, CPU single-threaded (as the sandbox workers run). The runs of (c) are
interleaved (plain, traced, torchviz, torchviz with saved, plain, ...) so that a busy moment of
a shared machine falls on all of them alike. (c) starts every run, as a program does, with
parameters that have no ``.grad`` yet (the model itself is built once, outside the measured
code).
"""

from __future__ import annotations

import contextlib
import gc
import io
import shutil
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gradstage.schema import encode
from gradstage.tracer import trace_program
from models import LINEAR_REGRESSION, MLP_STEP, RESNET18

REPEATS = 5
RESNET_REPEATS = 15


def _plain(source: str, names: dict[str, object] | None = None) -> float:
    namespace = {"__name__": "__main__", **(names or {})}
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(source, "<plain>", "exec"), namespace)
    return time.perf_counter() - start


def _traced(source: str, names: dict[str, object] | None = None) -> tuple[float, int]:
    start = time.perf_counter()
    trace = trace_program(source, namespace=names)
    elapsed = time.perf_counter() - start
    assert trace.error is None, trace.error
    return elapsed, len(encode(trace))


def _torchviz_available() -> bool:
    try:
        import torchviz  # noqa: F401
    except ImportError:
        return False
    return shutil.which("dot") is not None


def _torchviz(names: dict[str, object], full: bool) -> tuple[float, float]:
    """(forward, make_dot + SVG render) of the model's graph, in seconds.

    ``full``: the graph as the Trace holds it, each Node's saved tensors and saved attributes
    (stride, padding, ...) included (``show_saved``, ``show_attrs``); otherwise torchviz's
    default drawing, the grad_fn Nodes and the leaves only.
    """
    from torchviz import make_dot

    model, x = names["model"], names["x"]
    assert isinstance(model, torch.nn.Module)
    assert isinstance(x, torch.Tensor)
    start = time.perf_counter()
    loss = model(x).logsumexp(dim=1).mean()
    forward = time.perf_counter()
    dot = make_dot(loss, params=dict(model.named_parameters()), show_attrs=full, show_saved=full)
    dot.pipe(format="svg")
    return forward - start, time.perf_counter() - forward


def _resnet() -> tuple[str, dict[str, object], Callable[[], None]]:
    """The model is built outside the measured program: (c) times forward + backward only."""
    names: dict[str, object] = {"__name__": "__main__"}
    setup, _, _ = RESNET18.partition("loss = model(x)")
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(setup, "<setup>", "exec"), names)
    model = names["model"]
    assert isinstance(model, torch.nn.Module)

    def fresh() -> None:
        for p in model.parameters():
            p.grad = None

    step = "loss = model(x).logsumexp(dim=1).mean()\nloss.backward()\n"
    return step, {"model": model, "x": names["x"], "torch": torch}, fresh


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f}ms"


def main() -> None:
    torch.set_num_threads(1)
    print(f"{'program':44} {'plain':>9} {'traced':>9} {'ratio':>6} {'trace size':>11}")
    for label, source in (
        ("(a) linear regression, 1000 iterations", LINEAR_REGRESSION),
        ("(b) 2-layer MLP, one SGD step", MLP_STEP),
    ):
        _plain(source)  # warm up
        _traced(source)
        plain = statistics.median([_plain(source) for _ in range(REPEATS)])
        runs = [_traced(source) for _ in range(REPEATS)]
        traced = statistics.median([r[0] for r in runs])
        print(
            f"{label:44} {_ms(plain)} {_ms(traced)} {traced / plain:5.1f}x "
            f"{runs[0][1] / 1024:9.1f}KB"
        )

    step, names, fresh = _resnet()
    viz = _torchviz_available()
    # As the sandbox's fork server does before it forks a worker: what was imported and built
    # so far is frozen, so that the collector's rare full passes do not walk it.
    gc.collect()
    gc.freeze()
    plains: list[float] = []
    traces: list[tuple[float, int]] = []
    drawings: list[tuple[float, float]] = []
    full_drawings: list[tuple[float, float]] = []
    for i in range(RESNET_REPEATS + 1):  # the first round warms up
        fresh()
        p = _plain(step, names)
        fresh()
        t = _traced(step, names)
        fresh()
        d = _torchviz(names, full=False) if viz else None
        fresh()
        f = _torchviz(names, full=True) if viz else None
        if i:
            plains.append(p)
            traces.append(t)
            if d is not None and f is not None:
                drawings.append(d)
                full_drawings.append(f)
    plain = statistics.median(plains)
    traced = statistics.median([t[0] for t in traces])
    added = statistics.median([t[0] - p for p, t in zip(plains, traces, strict=True)])
    label = "(c) ResNet-18 shape, 1x3x64x64, fwd+bwd"
    print(
        f"{label:44} {_ms(plain)} {_ms(traced)} {traced / plain:5.1f}x {traces[0][1] / 1024:9.1f}KB"
    )
    print(f"{'(c) added by the tracer (traced - plain)':44} {_ms(added)}")
    if not drawings:
        print("torchviz make_dot + Graphviz SVG: not installed (pip install torchviz graphviz)")
        return
    for label, runs in (
        ("grad_fns + leaves (default)", drawings),
        ("+ saved tensors and attributes", full_drawings),
    ):
        draw = statistics.median([d[1] for d in runs])
        with_forward = statistics.median([d[0] + d[1] for d in runs])
        print(f"{'(c) torchviz, ' + label + ':':44}")
        print(
            f"{'      make_dot + SVG render':44} {_ms(draw)}   tracer/torchviz {added / draw:4.2f}"
        )
        print(f"{'      forward + make_dot + SVG render':44} {_ms(with_forward)}")


if __name__ == "__main__":
    main()
