"""PyTorch as the oracle: the corpus programs, run plainly (no tracer) and read back.

A plain run is seeded exactly as ``trace_program`` seeds a program (``torch``, ``random`` and
NumPy with ``Limits().seed``), captures stdout, warnings and ``plt.plot`` calls (through a
stand-in matplotlib written here, not the tracer's), and keeps the namespace the program left.

With ``record_engine=True`` every ``backward()`` / ``torch.autograd.grad`` call is watched by
hooks on each Node it can reach: a pre-hook marks the moment the engine starts a Node (the
engine's real order), a post-hook what the Node received and sent on. That run is separate from
the plain one, so the plain run stays exactly what a learner would run.
"""

from __future__ import annotations

import builtins
import contextlib
import io
import random
import re
import sys
import traceback
import types
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import torch
from gradstage.limits import Limits

CORPUS = Path(__file__).resolve().parent.parent / "corpus"
PLAIN_FILE = "<plain program>"
_CONCEPTS = re.compile(r"^# concepts: ([\d, ]+)$", re.MULTILINE)


# ------------------------------------------------------------------ the corpus


@dataclass(frozen=True)
class Program:
    """One corpus program: ``tests/corpus/<name>.py``.

    Its first line says what it shows, its second which concepts of PRODUCT.md
    (``# concepts: 2, 8``).
    """

    name: str
    source: str

    @property
    def concepts(self) -> frozenset[int]:
        match = _CONCEPTS.search(self.source)
        assert match, f"{self.name}.py has no '# concepts: N, M' line"
        return frozenset(int(n) for n in match.group(1).split(","))

    @property
    def lines(self) -> int:
        return len(self.source.splitlines())


def corpus() -> list[Program]:
    """Every corpus program, by name."""
    return [Program(p.stem, p.read_text(encoding="utf-8")) for p in sorted(CORPUS.glob("*.py"))]


def corpus_names() -> list[str]:
    """The names of the corpus programs (for parametrize ids)."""
    return [p.name for p in corpus()]


def program(name: str) -> Program:
    """One corpus program by name."""
    path = CORPUS / f"{name}.py"
    return Program(name, path.read_text(encoding="utf-8"))


# ------------------------------------------------------------------ a plain run


@dataclass(frozen=True)
class PlainError:
    """The exception that ended a plain run, where the program raised it."""

    type: str
    message: str
    line: int | None


@dataclass(frozen=True)
class NodeRun:
    """One Node the engine ran: gradients w.r.t. its outputs in, w.r.t. its inputs out."""

    name: str
    grad_outputs: list[torch.Tensor | None]
    grad_inputs: list[torch.Tensor | None]


@dataclass
class EngineCall:
    """One ``backward()`` / ``autograd.grad`` call as the engine ran it.

    ``started``: Node names in the order the engine began them; ``finished``: the Nodes that
    completed, in order. A Node that started and did not finish is where the engine raised.
    """

    started: list[str] = field(default_factory=list)
    finished: list[NodeRun] = field(default_factory=list)

    @property
    def failed_at(self) -> str | None:
        """The Node the engine was running when it raised, if it did."""
        if len(self.started) > len(self.finished):
            return self.started[len(self.finished)]
        return None


@dataclass
class PlainRun:
    """What a program did when run without the tracer."""

    stdout: str
    namespace: dict[str, Any]
    error: PlainError | None
    plots: list[list[float]]
    warnings: list[tuple[str, str]]
    engine: list[EngineCall]


def _seed() -> None:
    """Seed as ``gradstage.tracer.program._seed`` does before running a program."""
    seed = Limits().seed
    torch.manual_seed(seed)
    random.seed(seed)
    with contextlib.suppress(ImportError):
        import numpy

        numpy.random.seed(seed)


def _stand_in_pyplot(plots: list[list[float]]) -> dict[str, types.ModuleType]:
    """``matplotlib.pyplot`` for a plain run: ``plot(ys)`` / ``plot(xs, ys)`` are remembered."""

    def plot(*args: Any, **kwargs: Any) -> list[Any]:
        arrays = [a for a in args if not isinstance(a, str)]
        ys = arrays[-1]
        plots.append([float(v) for v in ys])
        return []

    def nothing(*args: Any, **kwargs: Any) -> None:
        return None

    pyplot = types.ModuleType("matplotlib.pyplot")
    pyplot.__dict__.update(
        plot=plot, show=nothing, xlabel=nothing, ylabel=nothing, title=nothing, legend=nothing
    )
    matplotlib = types.ModuleType("matplotlib")
    matplotlib.__dict__["pyplot"] = pyplot
    return {"matplotlib": matplotlib, "matplotlib.pyplot": pyplot}


@contextlib.contextmanager
def _modules(modules: dict[str, types.ModuleType]) -> Iterator[None]:
    saved = {name: sys.modules.get(name) for name in modules}
    sys.modules.update(modules)
    try:
        yield
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module


def _reachable(roots: list[Any]) -> list[Any]:
    """Every Node reachable from the roots' grad_fns through ``next_functions``."""
    seen: dict[int, Any] = {}
    stack = [t.grad_fn for t in roots if isinstance(t, torch.Tensor) and t.grad_fn is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen[id(node)] = node
        stack.extend(fn for fn, _ in node.next_functions if fn is not None)
    return list(seen.values())


def _copy(grads: Any) -> list[torch.Tensor | None]:
    return [g.detach().clone() if isinstance(g, torch.Tensor) else None for g in grads]


def _watched(original: Callable[..., Any], calls: list[EngineCall]) -> Callable[..., Any]:
    """``original`` (torch.autograd.backward or .grad) with every reachable Node hooked."""

    def run(roots: Any, *args: Any, **kwargs: Any) -> Any:
        call = EngineCall()
        calls.append(call)
        handles = []
        for node in _reachable([roots] if isinstance(roots, torch.Tensor) else list(roots)):
            name = type(node).__name__

            def started(grad_outputs: Any, name: str = name) -> None:
                call.started.append(name)

            def finished(grad_inputs: Any, grad_outputs: Any, name: str = name) -> None:
                call.finished.append(NodeRun(name, _copy(grad_outputs), _copy(grad_inputs)))

            handles.append(node.register_prehook(started))
            handles.append(node.register_hook(finished))
        try:
            return original(roots, *args, **kwargs)
        finally:
            for handle in handles:
                handle.remove()

    return run


@contextlib.contextmanager
def _watch_engine(calls: list[EngineCall]) -> Iterator[None]:
    # Tensor.backward calls torch.autograd.backward, so these two see every backward call.
    backward, grad = torch.autograd.backward, torch.autograd.grad
    torch.autograd.backward = _watched(backward, calls)
    torch.autograd.grad = _watched(grad, calls)
    try:
        yield
    finally:
        torch.autograd.backward = backward
        torch.autograd.grad = grad


def _line_in_program(tb: Any) -> int | None:
    line = None
    for frame, lineno in traceback.walk_tb(tb):
        if frame.f_code.co_filename == PLAIN_FILE:
            line = lineno
    return line


def run_plainly(
    source: str, *, record_engine: bool = False, detect_anomaly: bool = False
) -> PlainRun:
    """Run a program the way Python would, seeded as the tracer seeds it.

    ``detect_anomaly``: under ``torch.autograd.detect_anomaly()``, which raises at the first
    Node whose output has a NaN.
    """
    namespace: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
    stdout = io.StringIO()
    plots: list[list[float]] = []
    calls: list[EngineCall] = []
    error = None
    threads = torch.get_num_threads()
    with (
        warnings.catch_warnings(record=True) as caught,
        _modules(_stand_in_pyplot(plots)),
        contextlib.redirect_stdout(stdout),
        _watch_engine(calls) if record_engine else contextlib.nullcontext(),
        torch.autograd.detect_anomaly() if detect_anomaly else contextlib.nullcontext(),
    ):
        warnings.simplefilter("always")
        warnings.simplefilter("ignore", ResourceWarning)  # as the tracer does
        try:
            code = compile(source, PLAIN_FILE, "exec")
        except SyntaxError as exc:
            error = PlainError(type(exc).__name__, exc.msg, exc.lineno)
        else:
            _seed()
            try:
                exec(code, namespace)
            except Exception as exc:
                error = PlainError(
                    type(exc).__name__, str(exc), _line_in_program(exc.__traceback__)
                )
        finally:
            torch.set_num_threads(threads)
    return PlainRun(
        stdout=stdout.getvalue(),
        namespace=namespace,
        error=error,
        plots=plots,
        warnings=[(w.category.__name__, str(w.message)) for w in caught],
        engine=calls,
    )


@cache
def plain(name: str) -> PlainRun:
    """A corpus program's plain run (once per test process)."""
    return run_plainly(program(name).source)


@cache
def watched(name: str) -> PlainRun:
    """A corpus program run plainly with the engine watched (once per test process)."""
    return run_plainly(program(name).source, record_engine=True)


_ANOMALY = re.compile(r"Function '(\w+)' returned nan values")


@cache
def nan_found_by_anomaly_detection(name: str) -> str | None:
    """The Node ``torch.autograd.detect_anomaly`` names for the program's first backward NaN."""
    if not any(_holds(torch.isnan, n) for call in watched(name).engine for n in call.finished):
        return None  # no NaN in any gradient: no need for the (slow) anomaly mode
    error = run_plainly(program(name).source, detect_anomaly=True).error
    match = _ANOMALY.search(error.message) if error else None
    assert match, f"{name}: a NaN gradient, but anomaly detection did not stop at it ({error})"
    return match.group(1)


def first_inf_sent(name: str) -> tuple[int, str] | None:
    """(call number, Node) of the first Node that sent on an infinite gradient it did not get."""
    for number, call in enumerate(watched(name).engine, start=1):
        for run in call.finished:
            sends = any(_has(torch.isinf, g) for g in run.grad_inputs)
            if sends and not any(_has(torch.isinf, g) for g in run.grad_outputs):
                return number, run.name
    return None


def _has(test: Callable[[torch.Tensor], torch.Tensor], g: torch.Tensor | None) -> bool:
    return g is not None and bool(test(g).any())


def _holds(test: Callable[[torch.Tensor], torch.Tensor], run: NodeRun) -> bool:
    return any(_has(test, g) for g in run.grad_inputs + run.grad_outputs)


# ------------------------------------------------------------------ names


def named_tensors(namespace: dict[str, Any]) -> list[tuple[frozenset[str], torch.Tensor]]:
    """Each tensor the program left bound to a name, with all the names it goes by.

    Module parameters go by ``model.fc1.weight`` (the module's variable and the parameter's
    qualified name), as well as by any plain variable bound to them (``p`` in a loop).
    """
    names: dict[int, set[str]] = {}
    tensors: dict[int, torch.Tensor] = {}

    def add(name: str, t: torch.Tensor) -> None:
        names.setdefault(id(t), set()).add(name)
        tensors[id(t)] = t

    for name, obj in namespace.items():
        if name.startswith("__"):
            continue
        if isinstance(obj, torch.Tensor):
            add(name, obj)
        elif isinstance(obj, torch.nn.Module):
            for param_name, param in obj.named_parameters():
                add(f"{name}.{param_name}", param)
    return [(frozenset(names[key]), t) for key, t in tensors.items()]


def named_optimizers(
    namespace: dict[str, Any],
) -> list[tuple[frozenset[str], torch.optim.Optimizer]]:
    """Each optimizer the program left bound to a name, with all the names it goes by."""
    found: dict[int, tuple[set[str], torch.optim.Optimizer]] = {}
    for name, obj in namespace.items():
        if isinstance(obj, torch.optim.Optimizer):
            found.setdefault(id(obj), (set(), obj))[0].add(name)
    return [(frozenset(names), opt) for names, opt in found.values()]


def has_readable_grad(t: torch.Tensor) -> bool:
    """True when reading ``t.grad`` is meaningful (a leaf, or a non-leaf that retains it)."""
    return t.is_leaf or t.retains_grad
