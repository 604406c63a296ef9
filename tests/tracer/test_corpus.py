"""The corpus (tests/corpus/*.py), traced, against PyTorch run plainly: PyTorch is the oracle.

For every program: what it printed (byte for byte), what it plotted, the warnings it raised,
every named tensor's final value and ``.grad``, each ``backward()`` Node in the engine's real
order with the gradients it received and sent, and the error it ended with (type, line,
message, explanation). See ``oracle.py`` for how the plain runs are made.

Tests of one program share its runs (cached per process); ``pytest -n 2 --dist loadgroup``
keeps them on one worker.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache

import pytest
import torch
from gradstage.schema import (
    AccumulateEvent,
    BackwardEvent,
    ClipEvent,
    ErrorEvent,
    Event,
    GradSetEvent,
    NodeEvent,
    OpEvent,
    OptimizerEvent,
    PrintEvent,
    RetainGradEvent,
    SkippedEvent,
    TensorInfo,
    Trace,
    UpdateEvent,
    Value,
    WarningEvent,
    ZeroGradEvent,
)
from gradstage.tracer import trace_program

from tests.tracer.oracle import (
    corpus,
    corpus_names,
    has_readable_grad,
    named_tensors,
    plain,
    program,
    watched,
)

ALL_CONCEPTS = frozenset(range(1, 16))  # the 15 concepts of PRODUCT.md


def by_program(names: list[str]) -> list[object]:
    """Parameters whose tests run on one xdist worker (with --dist loadgroup) per program."""
    return [pytest.param(n, id=n, marks=pytest.mark.xdist_group(n)) for n in names]


PROGRAMS = by_program(corpus_names())
# Programs that end with an error are named error_*.py.
ERROR_PROGRAMS = by_program([n for n in corpus_names() if n.startswith("error_")])


@cache
def traced(name: str) -> Trace:
    """A corpus program's Trace (once per test process)."""
    return trace_program(program(name).source)


# ------------------------------------------------------------------ reading a Trace


def tensor_named(trace: Trace, names: frozenset[str]) -> TensorInfo | None:
    """The Trace's newest tensor that goes by one of ``names``."""
    found = [t for t in trace.tensors if t.name in names]
    return found[-1] if found else None


def as_tensor(value: Value) -> torch.Tensor:
    """A Value kept whole, as a float64 tensor (``"nan"``, ``"inf"`` spelled back as floats)."""
    assert value.data is not None
    return torch.tensor([float(x) for x in value.data], dtype=torch.float64).reshape(value.shape)


def assert_same(value: Value | None, expected: torch.Tensor | None, what: str) -> None:
    """The Trace's Value is exactly what PyTorch computed (or both are absent)."""
    if expected is None:
        assert value is None, f"{what}: PyTorch has None, the Trace has {value}"
        return
    assert value is not None, f"{what}: PyTorch has a tensor, the Trace has None"
    assert value.shape == list(expected.shape), what
    assert value.dtype == str(expected.dtype).removeprefix("torch."), what
    real = expected.detach().double()
    if value.data is not None:
        torch.testing.assert_close(
            as_tensor(value), real, rtol=0, atol=0, equal_nan=True, msg=lambda m: f"{what}: {m}"
        )
        return
    assert value.stats is not None, what
    finite = real[torch.isfinite(real)]
    assert value.stats.min == pytest.approx(float(finite.min())), what
    assert value.stats.max == pytest.approx(float(finite.max())), what
    assert value.stats.mean == pytest.approx(float(finite.mean()), rel=1e-5, abs=1e-7), what
    assert value.stats.nan == int(torch.isnan(real).sum()), what


class Untouched:
    """No event of the Trace changed this: the tensor keeps what it was first seen with."""


UNTOUCHED = Untouched()


def replayed_grad(trace: Trace, tid: str) -> Value | None | Untouched:
    """``.grad`` of ``tid`` as the page would show it after playing every event."""
    grad: Value | None | Untouched = UNTOUCHED
    for e in trace.events:
        if isinstance(e, AccumulateEvent) and e.tensor == tid:
            grad = e.after
        elif isinstance(e, RetainGradEvent) and e.tensor == tid:
            grad = e.grad
        elif isinstance(e, GradSetEvent) and e.tensor == tid:
            grad = e.after
        elif isinstance(e, ZeroGradEvent) and tid in e.tensors:
            before = e.before[e.tensors.index(tid)]
            if e.how == "none" or before is None:
                grad = None
            else:
                grad = Value(shape=before.shape, dtype=before.dtype, data=[0.0] * numel(before))
        elif isinstance(e, ClipEvent) and tid in e.tensors:
            grad = e.after[e.tensors.index(tid)]
    return grad


def replayed_value(trace: Trace, tensor: TensorInfo) -> Value | None:
    """The value of ``tensor`` as the page would show it after playing every event."""
    value = tensor.value
    for e in trace.events:
        if isinstance(e, OpEvent) and tensor.id in e.outputs:
            value = e.values[e.outputs.index(tensor.id)]
        elif isinstance(e, UpdateEvent) and e.tensor == tensor.id:
            value = e.after
        elif isinstance(e, OptimizerEvent):
            for step in e.params:
                if step.tensor == tensor.id:
                    value = step.after
    return value


def numel(value: Value) -> int:
    n = 1
    for d in value.shape:
        n *= d
    return n


def backward_calls(trace: Trace) -> dict[int, list[NodeEvent]]:
    """Node events of each ``backward()`` call kept in detail, by call number (``b3`` -> 3)."""
    calls: dict[int, list[NodeEvent]] = {}
    for e in trace.events:
        if isinstance(e, BackwardEvent):
            calls[int(e.id.removeprefix("b"))] = []
        elif isinstance(e, NodeEvent):
            calls[int(e.backward.removeprefix("b"))].append(e)
    return calls


def skipped(trace: Trace, kind: str) -> int:
    """How many events of ``kind`` the Trace left out of skipped iterations."""
    return sum(e.counts.get(kind, 0) for e in trace.events if isinstance(e, SkippedEvent))


def events_of(trace: Trace, kind: type[Event]) -> Iterator[Event]:
    return (e for e in trace.events if isinstance(e, kind))


# ------------------------------------------------------------------ the corpus itself


def test_the_corpus_has_at_least_thirty_programs_covering_every_concept() -> None:
    programs = corpus()
    assert len(programs) >= 30
    covered = frozenset().union(*(p.concepts for p in programs))
    assert covered == ALL_CONCEPTS, f"not covered: {sorted(ALL_CONCEPTS - covered)}"


@pytest.mark.parametrize("name", PROGRAMS)
def test_a_corpus_program_is_small(name: str) -> None:
    assert 5 <= program(name).lines <= 40


# ------------------------------------------------------------------ output


@pytest.mark.parametrize("name", PROGRAMS)
def test_the_trace_prints_byte_for_byte_what_python_prints(name: str) -> None:
    trace = traced(name)
    assert trace.stdout == plain(name).stdout
    if trace.truncated is None or not skipped(trace, "print"):
        printed = "".join(e.text for e in events_of(trace, PrintEvent))  # type: ignore[attr-defined]
        assert printed == trace.stdout


@pytest.mark.parametrize("name", PROGRAMS)
def test_plotted_series_are_the_numbers_the_program_plotted(name: str) -> None:
    plotted = [[float(y) for y in s.y] for s in traced(name).series if s.source == "plot"]
    assert plotted == plain(name).plots


@pytest.mark.parametrize("name", PROGRAMS)
def test_the_trace_has_the_warnings_python_raised(name: str) -> None:
    warned = {(e.category, e.message) for e in events_of(traced(name), WarningEvent)}  # type: ignore[attr-defined]
    assert warned == set(plain(name).warnings)


@pytest.mark.parametrize("name", PROGRAMS)
def test_nothing_was_cut_by_the_event_limit(name: str) -> None:
    truncated = traced(name).truncated
    assert truncated is None or truncated.limit_hit is None


# ------------------------------------------------------------------ values and gradients


@pytest.mark.parametrize("name", PROGRAMS)
def test_every_named_tensor_ends_with_the_value_pytorch_computed(name: str) -> None:
    trace = traced(name)
    for names, t in named_tensors(plain(name).namespace):
        info = tensor_named(trace, names)
        assert info is not None, f"{sorted(names)} is not in the Trace"
        assert info.shape == list(t.shape), sorted(names)
        assert_same(replayed_value(trace, info), t, f"value of {sorted(names)}")


@pytest.mark.parametrize("name", PROGRAMS)
def test_every_leaf_ends_with_the_grad_pytorch_computed(name: str) -> None:
    trace = traced(name)
    for names, t in named_tensors(plain(name).namespace):
        if not has_readable_grad(t):
            continue
        info = tensor_named(trace, names)
        assert info is not None, f"{sorted(names)} is not in the Trace"
        label = f".grad of {sorted(names)}"
        assert_same(info.grad, t.grad, label)
        replayed = replayed_grad(trace, info.id)
        if isinstance(replayed, Untouched):
            assert t.grad is None, f"{label}: no event of the Trace gives it"
        else:
            assert_same(replayed, t.grad, f"{label}, replayed from the events")


@pytest.mark.parametrize("name", PROGRAMS)
def test_each_accumulation_adds_delta_to_before(name: str) -> None:
    for e in events_of(traced(name), AccumulateEvent):
        assert isinstance(e, AccumulateEvent)
        assert e.delta is not None and e.after is not None
        if e.before is None:
            assert e.after == e.delta
        elif e.before.data is not None:
            total = as_tensor(e.before).float() + as_tensor(e.delta).float()
            torch.testing.assert_close(as_tensor(e.after).float(), total, equal_nan=True)


# ------------------------------------------------------------------ the backward pass


@pytest.mark.parametrize("name", PROGRAMS)
def test_every_backward_call_is_in_the_trace(name: str) -> None:
    trace = traced(name)
    engine = watched(name).engine
    kept = len(backward_calls(trace))
    assert kept + skipped(trace, "backward") == len(engine)


@pytest.mark.parametrize("name", PROGRAMS)
def test_backward_nodes_run_in_the_engines_real_order(name: str) -> None:
    trace, run = traced(name), watched(name)
    assert run.stdout == plain(name).stdout  # watching the engine changed nothing
    nodes = {n.id: n for n in trace.nodes}
    for number, events in backward_calls(trace).items():
        call = run.engine[number - 1]
        assert [nodes[e.node].name for e in events] == [r.name for r in call.finished], (
            f"b{number}"
        )


@pytest.mark.parametrize("name", PROGRAMS)
def test_each_node_shows_the_gradients_the_engine_passed(name: str) -> None:
    trace, run = traced(name), watched(name)
    for number, events in backward_calls(trace).items():
        for e, node_run in zip(events, run.engine[number - 1].finished, strict=True):
            where = f"b{number} {node_run.name}"
            assert len(e.grad_outputs) == len(node_run.grad_outputs), where
            assert len(e.grad_inputs) == len(node_run.grad_inputs), where
            for i, (got, want) in enumerate(zip(e.grad_outputs, node_run.grad_outputs)):
                assert_same(got, want, f"{where} grad_outputs[{i}]")
            for i, (got, want) in enumerate(zip(e.grad_inputs, node_run.grad_inputs)):
                assert_same(got, want, f"{where} grad_inputs[{i}]")


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize("name", PROGRAMS)
def test_the_trace_ends_with_the_error_python_raised(name: str) -> None:
    trace, expected = traced(name), plain(name).error
    assert (expected is not None) == name.startswith("error_")
    if expected is None:
        assert trace.error is None
        assert not any(isinstance(e, ErrorEvent) for e in trace.events)
        return
    assert trace.error is not None
    assert (trace.error.type, trace.error.line) == (expected.type, expected.line)
    assert trace.error.message == expected.message
    last = trace.events[-1]
    assert isinstance(last, ErrorEvent)
    assert (last.type, last.line, last.message) == (expected.type, expected.line, expected.message)


@pytest.mark.parametrize("name", ERROR_PROGRAMS)
def test_a_classic_error_is_explained_in_plain_words(name: str) -> None:
    # Every error program of the corpus is one of the classic ones.
    error = traced(name).error
    assert error is not None
    assert error.explanation
    assert len(error.explanation) > 40


@pytest.mark.parametrize("name", ERROR_PROGRAMS)
def test_an_error_in_backward_points_at_the_node_that_raised(name: str) -> None:
    trace, run = traced(name), watched(name)
    failed_at = run.engine[-1].failed_at if run.engine else None
    last = trace.events[-1]
    assert isinstance(last, ErrorEvent)
    nodes = {n.id: n.name for n in trace.nodes}
    assert (nodes[last.node] if last.node else None) == failed_at
