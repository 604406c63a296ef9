"""The corpus (tests/corpus/*.py), traced, against PyTorch run plainly: PyTorch is the oracle.

For every program: what it printed (byte for byte), what it plotted, the warnings it raised,
every named tensor's final value and ``.grad``, each ``backward()`` Node in the engine's real
order with the gradients it received and sent, and the error it ended with (type, line,
message, explanation). See ``oracle.py`` for how the plain runs are made.

Tests of one program share its three runs (plain, engine watched, traced), cached per test
process: with ``-n 2`` a program is run at most once per worker.
"""

from __future__ import annotations

from functools import cache
from typing import TypeVar

import pytest
import torch
from gradstage.schema import (
    AccumulateEvent,
    AnomalyEvent,
    BackwardEndEvent,
    BackwardEvent,
    ClipEvent,
    ErrorEvent,
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
    first_inf_sent,
    has_readable_grad,
    named_optimizers,
    named_tensors,
    nan_found_by_anomaly_detection,
    plain,
    program,
    watched,
)

ALL_CONCEPTS = frozenset(range(1, 16))  # the 15 concepts of PRODUCT.md
NAN_AND_FRIENDS = 11


PROGRAMS = corpus_names()
ERROR_PROGRAMS = [n for n in PROGRAMS if n.startswith("error_")]  # and only those end in error
E = TypeVar("E")


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
    """A Value kept whole, as a float64 tensor (``"nan"``, ``"inf"`` spelled back as floats);
    complex128 when it has imaginary parts."""
    assert value.data is not None
    real = torch.tensor([float(x) for x in value.data], dtype=torch.float64)
    if value.imag is not None:
        imag = torch.tensor([float(x) for x in value.imag], dtype=torch.float64)
        return torch.complex(real, imag).reshape(value.shape)
    return real.reshape(value.shape)


def assert_same(value: Value | None, expected: torch.Tensor | None, what: str) -> None:
    """The Trace's Value is exactly what PyTorch computed (or both are absent)."""
    if expected is None:
        assert value is None, f"{what}: PyTorch has None, the Trace has {value}"
        return
    assert value is not None, f"{what}: PyTorch has a tensor, the Trace has None"
    assert value.shape == list(expected.shape), what
    assert value.dtype == str(expected.dtype).removeprefix("torch."), what
    real = expected.detach()
    if value.data is not None:
        # Exactly: read back in the tensor's own dtype (float32 numbers are written with
        # float32's digits, 0.1 for the float32 nearest 0.1), the same numbers.
        exact = real if real.is_floating_point() or real.is_complex() else real.double()
        torch.testing.assert_close(
            as_tensor(value).to(exact.dtype),
            exact,
            rtol=0,
            atol=0,
            equal_nan=True,
            msg=lambda m: f"{what}: {m}",
        )
        return
    real = real.to(torch.complex128) if real.is_complex() else real.double()
    assert value.stats is not None, what
    if real.is_complex():  # summarised by its real part, which the Value says
        assert value.real_part_only, what
        real = real.real
    finite = real[torch.isfinite(real)]
    assert value.stats.min == pytest.approx(float(finite.min())), what
    assert value.stats.max == pytest.approx(float(finite.max())), what
    assert value.stats.mean == pytest.approx(float(finite.mean()), rel=1e-5, abs=1e-7), what
    assert value.stats.nan == int(torch.isnan(real).sum()), what


def assert_all_same(
    values: list[Value | None], expected: list[torch.Tensor | None], what: str
) -> None:
    """Each Value is exactly the tensor PyTorch had at the same position."""
    assert len(values) == len(expected), what
    for i, (value, tensor) in enumerate(zip(values, expected, strict=True)):
        assert_same(value, tensor, f"{what}[{i}]")


class Untouched:
    """No event of the Trace changed this: the tensor keeps what it was first seen with."""


UNTOUCHED = Untouched()


def replayed_grad(trace: Trace, tid: str) -> Value | Untouched | None:
    """``.grad`` of ``tid`` as the page would show it after playing every event."""
    grad: Value | Untouched | None = UNTOUCHED
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
        elif isinstance(e, BackwardEndEvent) and tensor.id in e.results:
            value = e.grads[e.results.index(tensor.id)]  # what torch.autograd.grad returned
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


def events_of(trace: Trace, kind: type[E]) -> list[E]:
    """The Trace's events of one kind, in order."""
    return [e for e in trace.events if isinstance(e, kind)]


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
        printed = "".join(e.text for e in events_of(trace, PrintEvent))
        assert printed == trace.stdout


@pytest.mark.parametrize("name", PROGRAMS)
def test_plotted_series_are_the_numbers_the_program_plotted(name: str) -> None:
    plotted = [[float(y) for y in s.y] for s in traced(name).series if s.source == "plot"]
    assert plotted == plain(name).plots


@pytest.mark.parametrize("name", PROGRAMS)
def test_the_trace_has_the_warnings_python_raised(name: str) -> None:
    warned = {(e.category, e.message) for e in events_of(traced(name), WarningEvent)}
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
def test_every_named_tensor_is_a_leaf_or_not_as_in_pytorch(name: str) -> None:
    trace = traced(name)
    node_names = {n.id: n.name for n in trace.nodes}
    for names, t in named_tensors(plain(name).namespace):
        info = tensor_named(trace, names)
        assert info is not None, f"{sorted(names)} is not in the Trace"
        flags = (info.is_leaf, info.requires_grad, info.retains_grad)
        assert flags == (t.is_leaf, t.requires_grad, t.retains_grad), sorted(names)
        grad_fn = node_names[info.grad_fn] if info.grad_fn else None
        assert grad_fn == (type(t.grad_fn).__name__ if t.grad_fn else None), sorted(names)


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
        assert e.delta is not None
        assert e.after is not None
        if e.before is None:
            assert e.after == e.delta
        elif e.before.data is not None:
            total = as_tensor(e.before).float() + as_tensor(e.delta).float()
            torch.testing.assert_close(as_tensor(e.after).float(), total, equal_nan=True)


@pytest.mark.parametrize("name", PROGRAMS)
def test_each_optimizer_ends_with_the_state_pytorch_keeps(name: str) -> None:
    trace, namespace = traced(name), plain(name).namespace
    tensors = {}  # Trace id -> the program's tensor
    for names, t in named_tensors(namespace):
        info = tensor_named(trace, names)
        if info is not None:
            tensors[info.id] = t
    steps = events_of(trace, OptimizerEvent)
    for names, optimizer in named_optimizers(namespace):
        if not optimizer.state:
            continue  # never stepped
        variable = "/".join(sorted(names))
        last = [e for e in steps if e.name in names][-1]
        assert last.optimizer == type(optimizer).__name__
        assert last.hyper["lr"] == optimizer.param_groups[0]["lr"]
        group_of = {id(p): g for g in optimizer.param_groups for p in g["params"]}
        for step in last.params:
            state = optimizer.state[tensors[step.tensor]]
            # Each parameter's own group's hyper-parameters.
            group = group_of[id(tensors[step.tensor])]
            hyper = step.hyper if step.hyper is not None else last.hyper
            assert hyper["lr"] == group["lr"], step.tensor
            assert hyper.get("weight_decay") == group.get("weight_decay"), step.tensor
            kept_kinds = torch.Tensor | int | float  # LBFGS's lists of history are left out
            assert set(step.state) == {k for k, v in state.items() if isinstance(v, kept_kinds)}
            for key, kept in step.state.items():
                where = f"{variable} state[{step.tensor}][{key}]"
                if isinstance(kept, Value):
                    assert_same(kept, state[key], where)
                else:
                    assert float(kept) == float(state[key]), where


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
        assert [nodes[e.node].name for e in events] == [r.name for r in call.finished], f"b{number}"


@pytest.mark.parametrize("name", PROGRAMS)
def test_each_node_shows_the_gradients_the_engine_passed(name: str) -> None:
    trace, run = traced(name), watched(name)
    for number, events in backward_calls(trace).items():
        for e, node_run in zip(events, run.engine[number - 1].finished, strict=True):
            where = f"b{number} {node_run.name}"
            assert_all_same(e.grad_outputs, node_run.grad_outputs, f"{where} grad_outputs")
            assert_all_same(e.grad_inputs, node_run.grad_inputs, f"{where} grad_inputs")


@pytest.mark.parametrize("name", PROGRAMS)
def test_a_nan_in_backward_is_found_where_anomaly_detection_finds_it(name: str) -> None:
    trace = traced(name)
    node_names = {n.id: n.name for n in trace.nodes}
    found = [
        node_names[e.node]
        for e in events_of(trace, AnomalyEvent)
        if e.phase == "backward" and e.what == "nan" and e.node
    ]
    expected = nan_found_by_anomaly_detection(name)
    assert found == ([expected] if expected else [])


@pytest.mark.parametrize("name", PROGRAMS)
def test_an_inf_in_backward_is_found_at_the_first_node_that_sends_it(name: str) -> None:
    trace = traced(name)
    node_names = {n.id: n.name for n in trace.nodes}
    found = [
        (int(e.backward.removeprefix("b")), node_names[e.node])
        for e in events_of(trace, AnomalyEvent)
        if e.phase == "backward" and e.what == "inf" and e.backward and e.node
    ]
    expected = first_inf_sent(name)
    assert found == ([expected] if expected else [])


@pytest.mark.parametrize(
    ("name", "line", "tensor", "what"),
    [("log_of_zero", 6, "logp", "inf"), ("where_nan_trap", 6, None, "nan")],
)
def test_a_non_finite_forward_value_is_found_at_the_op_that_made_it(
    name: str, line: int, tensor: str | None, what: str
) -> None:
    trace = traced(name)
    found = [e for e in events_of(trace, AnomalyEvent) if e.phase == "forward"]
    assert len(found) == 1
    anomaly = found[0]
    assert (anomaly.line, anomaly.what) == (line, what)
    names = {t.id: t.name for t in trace.tensors}
    assert names[anomaly.tensor or ""] == tensor
    assert anomaly.explanation


@pytest.mark.parametrize("name", PROGRAMS)
def test_programs_without_nan_or_inf_have_no_anomaly(name: str) -> None:
    if NAN_AND_FRIENDS not in program(name).concepts:
        assert events_of(traced(name), AnomalyEvent) == []


# ------------------------------------------------------------------ errors


@pytest.mark.parametrize("name", PROGRAMS)
def test_the_trace_ends_with_the_error_python_raised(name: str) -> None:
    trace, expected = traced(name), plain(name).error
    assert (expected is not None) == name.startswith("error_")
    if expected is None:
        assert trace.error is None
        assert events_of(trace, ErrorEvent) == []
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
