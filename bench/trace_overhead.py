"""How much slower is a program under the tracer than plain, and than drawing it with torchviz?

Prints, for three programs, the plain run time, the traced run time (the full Trace: every value
and gradient) and its size; for the ResNet-18-shaped model also the time torchviz's make_dot
takes to build the same graph and Graphviz to render it to SVG.

    .venv/bin/python bench/trace_overhead.py            # needs: pip install torchviz graphviz
                                                        #        apt-get install graphviz
Times are the median of several runs, CPU single-threaded (as the sandbox workers run).
"""

from __future__ import annotations

import contextlib
import io
import shutil
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gradstage.schema import encode
from gradstage.tracer import trace_program
from models import LINEAR_REGRESSION, MLP_STEP, RESNET18

REPEATS = 5


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


def _torchviz(names: dict[str, object]) -> float | None:
    try:
        from torchviz import make_dot
    except ImportError:
        return None
    if shutil.which("dot") is None:
        return None
    model, x = names["model"], names["x"]
    assert isinstance(model, torch.nn.Module)
    assert isinstance(x, torch.Tensor)
    start = time.perf_counter()
    loss = model(x).logsumexp(dim=1).mean()
    dot = make_dot(loss, params=dict(model.named_parameters()))
    dot.pipe(format="svg")
    return time.perf_counter() - start


def _resnet() -> tuple[str, dict[str, object]]:
    """The model is built outside the measured program: (c) times forward + backward only."""
    names: dict[str, object] = {"__name__": "__main__"}
    setup, _, _ = RESNET18.partition("loss = model(x)")
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(setup, "<setup>", "exec"), names)
    step = "loss = model(x).logsumexp(dim=1).mean()\nloss.backward()\n"
    return step, {"model": names["model"], "x": names["x"], "torch": torch}


def _median(values: list[float]) -> float:
    return statistics.median(values)


def main() -> None:
    torch.set_num_threads(1)
    step, names = _resnet()
    rows: list[tuple[str, str, dict[str, object] | None]] = [
        ("(a) linear regression, 1000 iterations", LINEAR_REGRESSION, None),
        ("(b) 2-layer MLP, one SGD step", MLP_STEP, None),
        ("(c) ResNet-18 shape, 1x3x64x64, fwd+bwd", step, names),
    ]
    print(f"{'program':44} {'plain':>9} {'traced':>9} {'ratio':>6} {'trace size':>11}")
    for label, source, extra in rows:
        _plain(source, extra)  # warm up
        _traced(source, extra)
        plain = _median([_plain(source, extra) for _ in range(REPEATS)])
        runs = [_traced(source, extra) for _ in range(REPEATS)]
        traced = _median([r[0] for r in runs])
        size = runs[0][1]
        print(
            f"{label:44} {plain * 1000:7.1f}ms {traced * 1000:7.1f}ms "
            f"{traced / plain:5.1f}x {size / 1024:9.1f}KB"
        )
    viz = [_torchviz(names) for _ in range(REPEATS)]
    if viz[0] is None:
        print("torchviz make_dot + Graphviz SVG: not installed (pip install torchviz graphviz)")
    else:
        best = _median([v for v in viz if v is not None])
        print(f"{'(c) torchviz: forward + make_dot + SVG render':44} {best * 1000:7.1f}ms")


if __name__ == "__main__":
    main()
