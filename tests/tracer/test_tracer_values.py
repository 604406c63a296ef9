"""Values: small tensors whole, large ones summarised with statistics PyTorch agrees with."""

from __future__ import annotations

import gc
import math

import msgspec
import pytest
import torch
from gradstage.schema import (
    FULL_VALUE_LIMIT,
    HISTOGRAM_BINS,
    OpEvent,
    Stats,
    Trace,
    Value,
    WarningEvent,
    encode,
)
from gradstage.tracer import trace_program, values
from gradstage.tracer.values import Snapshot, summarise

from tests.tracer.oracle import run_plainly


def test_a_small_tensor_is_kept_whole_in_row_major_order() -> None:
    t = torch.arange(6.0).reshape(2, 3)
    value = Snapshot(t).value()
    assert value.shape == [2, 3]
    assert value.dtype == "float32"
    assert value.data == t.reshape(-1).tolist()
    assert value.stats is None


def test_non_finite_numbers_are_spelled_as_strings() -> None:
    value = Snapshot(torch.tensor([float("nan"), float("inf"), -float("inf"), 1.0])).value()
    assert value.data == ["nan", "inf", "-inf", 1.0]


@pytest.mark.parametrize("numel", [FULL_VALUE_LIMIT + 1, 5000, 100_000])
def test_a_large_tensor_is_summarised_with_exact_statistics(numel: int) -> None:
    torch.manual_seed(1)
    t = torch.randn(numel)
    value = Snapshot(t).value()
    assert value.data is None
    assert value.stats is not None
    assert value.stats.min == pytest.approx(float(t.min()))
    assert value.stats.max == pytest.approx(float(t.max()))
    assert value.stats.mean == pytest.approx(float(t.mean()), abs=1e-6)
    assert value.stats.std == pytest.approx(float(t.std()), rel=1e-4)
    assert value.preview == pytest.approx(t[:16].tolist())
    assert value.histogram is not None
    assert len(value.histogram.counts) == HISTOGRAM_BINS
    total = value.histogram.sample or numel
    assert sum(value.histogram.counts) == total


def test_a_summary_counts_nan_and_inf_and_describes_the_rest() -> None:
    t = torch.ones(200)
    t[3] = float("nan")
    t[7] = float("inf")
    value = Snapshot(t).value()
    assert value.stats is not None
    assert (value.stats.nan, value.stats.inf) == (1, 1)
    assert value.stats.mean == 1.0


def test_a_snapshot_does_not_change_when_the_tensor_changes_in_place() -> None:
    t = torch.zeros(100)
    snapshot = Snapshot(t)
    t.add_(5)
    value = snapshot.value()
    assert value.stats is not None
    assert value.stats.max == 0.0


def test_integer_and_boolean_tensors_become_numbers() -> None:
    assert Snapshot(torch.tensor([1, 2])).value().data == [1.0, 2.0]
    assert Snapshot(torch.tensor([True, False])).value().data == [1.0, 0.0]


def test_a_snapshot_knows_whether_everything_is_finite() -> None:
    assert Snapshot(torch.ones(3)).finite()
    assert not Snapshot(torch.tensor([1.0, math.inf])).finite()
    big = torch.ones(10_000)
    big[-1] = float("nan")
    assert not Snapshot(big).finite()


@pytest.mark.parametrize("numel", [300, 100_000])  # summarised in a batch, and at once
def test_summarising_huge_values_raises_no_warning_of_its_own(numel: int) -> None:
    source = f"""
import torch
big = torch.full(({numel},), 3e38, requires_grad=True)
y = big * 1.0
y.sum().backward()
"""
    trace = trace_program(source)
    assert trace.error is None
    assert [e for e in trace.events if isinstance(e, WarningEvent)] == []
    assert run_plainly(source).warnings == []
    y = next(t for t in trace.tensors if t.name == "y")
    assert y.value is not None
    assert y.value.stats is not None
    float32_max = float(torch.tensor(3e38))
    assert (y.value.stats.max, y.value.stats.nan, y.value.stats.inf) == (float32_max, 0, 0)


@pytest.mark.parametrize("numel", [300, 100_000])  # summarised in a batch, and at once
def test_float64_numbers_near_the_largest_have_their_mean_std_and_histogram(numel: int) -> None:
    # Their sum, their sum of squares and their span overflow float64.
    source = f"""
import torch
x = torch.full(({numel},), 1e308, dtype=torch.float64)
x[0] = -1e308
z = x * 1
"""
    trace = trace_program(source)
    assert trace.error is None
    assert [e for e in trace.events if isinstance(e, WarningEvent)] == []
    z = next(t for t in trace.tensors if t.name == "z")
    assert z.value is not None
    assert z.value.stats is not None
    assert z.value.histogram is not None
    plain = torch.full((numel,), 1e308, dtype=torch.float64)
    plain[0] = -1e308
    scaled = plain / 1e300  # PyTorch cannot take the mean of the numbers themselves
    assert z.value.stats.mean == pytest.approx(scaled.mean().item() * 1e300, rel=1e-12)
    assert z.value.stats.std == pytest.approx(scaled.std().item() * 1e300, rel=1e-9)
    assert (z.value.stats.min, z.value.stats.max) == (-1e308, 1e308)
    counts = z.value.histogram.counts
    assert counts[0] == 1
    assert counts[-1] == sum(counts) - 1


def test_a_large_gradient_changed_through_data_ends_as_changed() -> None:
    source = """
import torch
w = torch.ones(500, requires_grad=True)
(w * 3).sum().backward()
w.grad.data.mul_(0.5)
"""
    trace = trace_program(source)
    w = next(t for t in trace.tensors if t.name == "w")
    assert w.grad is not None
    assert w.grad.stats is not None
    assert (w.grad.stats.min, w.grad.stats.max) == (1.5, 1.5)


def test_medium_tensors_summarised_together_match_one_by_one() -> None:
    torch.manual_seed(3)
    tensors = [
        torch.randn(65),
        torch.randn(2049) * 5 - 2,
        torch.ones(5000),
        torch.randn(40, 50).t(),  # not contiguous
        torch.randn(3000, dtype=torch.float64),
        torch.arange(200),
        torch.full((999,), 7.5) + torch.randn(999) * 1e-6,  # |mean| dwarfs the spread
    ]
    snapshots = [Snapshot(t) for t in tensors]
    for t in tensors:
        t.mul_(-1)  # later changes do not reach the snapshots
    for t, snapshot in zip(tensors, snapshots, strict=True):
        original = -t
        batched = snapshot.value()
        alone = summarise(original, list(original.shape), batched.dtype)
        assert batched.stats is not None
        assert alone.stats is not None
        assert (batched.stats.min, batched.stats.max) == (alone.stats.min, alone.stats.max)
        assert batched.stats.mean == pytest.approx(alone.stats.mean, rel=1e-6, abs=1e-9)
        assert batched.stats.std == pytest.approx(float(original.double().std()), rel=1e-4)
        assert batched.preview == alone.preview
        assert batched.histogram == alone.histogram


def _alone(t: torch.Tensor, dtype: str) -> Value:
    return summarise(
        t.detach().to(torch.float64 if t.dtype == torch.float64 else torch.float32),
        list(t.shape),
        dtype,
    )


def _same_summary(batched: Value, alone: Value) -> None:
    assert batched.stats is not None
    assert alone.stats is not None
    assert (batched.stats.min, batched.stats.max) == (alone.stats.min, alone.stats.max)
    assert batched.stats.mean == pytest.approx(alone.stats.mean, rel=1e-6, abs=1e-9)
    assert batched.stats.std == pytest.approx(alone.stats.std, rel=1e-4)
    assert batched.preview == alone.preview
    assert batched.histogram == alone.histogram


def test_a_dropped_snapshot_between_waiting_ones_changes_none_of_them() -> None:
    torch.manual_seed(4)
    tensors = [torch.randn(300) * (i + 1) + i for i in range(5)]
    snapshots: list[Snapshot | None] = [Snapshot(t) for t in tensors]
    snapshots[1] = snapshots[3] = None  # their events were dropped (a loop's middle)
    gc.collect()
    kept = [(t, s) for t, s in zip(tensors, snapshots, strict=True) if s is not None]
    for t, snapshot in kept:
        _same_summary(snapshot.value(), _alone(t, "float32"))


def test_snapshots_filling_several_buffers_are_each_summarised_from_their_own(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    values.summarise_waiting()  # start from empty buffers
    monkeypatch.setattr(values, "_free", {})
    monkeypatch.setattr(values, "CHUNK_ELEMENTS", 1000)
    torch.manual_seed(5)
    tensors = [torch.randn(n) - n / 100 for n in (400, 500, 300, 900, 100, 1000, 70)]
    tensors.append(torch.randn(300, dtype=torch.float64))
    tensors.append(torch.arange(120).reshape(10, 12).t())  # integers, not contiguous
    snapshots = [Snapshot(t) for t in tensors]
    for t in tensors:
        t.neg_()  # later changes do not reach the snapshots
    for t, snapshot in zip(tensors, snapshots, strict=True):
        original = -t
        _same_summary(snapshot.value(), _alone(original, snapshot.value().dtype))
    # Every buffer is free again, and a later snapshot does not disturb the values made.
    made = [s.value() for s in snapshots]
    later = [Snapshot(torch.full((500,), 9.0)) for _ in range(4)]
    assert [s.value() for s in snapshots] == made
    assert all(s.value().stats == later[0].value().stats for s in later)


def test_a_medium_snapshot_with_nan_leaves_the_next_copy_alone() -> None:
    bad = torch.ones(200)
    bad[5] = float("nan")
    good = torch.arange(200.0)
    first, second = Snapshot(bad), Snapshot(good)
    assert not first.finite()
    assert second.finite()
    stats = first.value().stats
    assert stats is not None
    assert (stats.nan, stats.inf, stats.mean) == (1, 0, 1.0)
    _same_summary(second.value(), _alone(good, "float32"))


def test_tensors_inside_torch_func_transforms_are_not_read_and_the_program_runs_as_plainly() -> (
    None
):
    source = """
import torch
from torch.func import grad, vmap
g = grad(lambda x: (x.sin() ** 2).sum())
print(g(torch.tensor([0.5, 1.0])))
print(vmap(lambda x: x * 2 + 1)(torch.ones(3, 2)))
# Per-sample gradients: the backward inside vmap has a batched loss, which is not plotted.
f = lambda v, x: (v * x).sum() ** 2
print(vmap(grad(f), in_dims=(None, 0))(torch.ones(3), torch.arange(6.0).reshape(2, 3)))
"""
    trace = trace_program(source)
    assert trace.error is None
    assert trace.stdout == run_plainly(source).stdout
    # vmap's batched tensors refuse to be read: such values have a shape and no numbers.
    shape_only = [
        v
        for e in trace.events
        if isinstance(e, OpEvent)
        for v in e.values
        if v.data is None and v.stats is None
    ]
    assert all(v.dtype == "float32" for v in shape_only)
    assert [2] in [v.shape for v in shape_only]  # one row of the vmapped (3, 2) batch
    assert msgspec.json.decode(encode(trace), type=Trace) == trace


def test_a_large_complex_tensor_is_summarised_by_its_real_part_and_says_so() -> None:
    z = torch.complex(torch.linspace(-1, 1, 1000), torch.full((1000,), 7.0))
    value = Snapshot(z).value()
    assert value.real_part_only
    assert value.imag is None
    assert value.stats is not None
    assert (value.stats.min, value.stats.max) == (-1.0, 1.0)
    small = Snapshot(torch.tensor([1 + 2j, 3 - 4j])).value()
    assert (small.data, small.imag, small.real_part_only) == ([1.0, 3.0], [2.0, -4.0], False)


def test_a_sparse_gradient_is_shown_dense_and_says_it_is_sparse() -> None:
    source = (
        "import torch\ntorch.manual_seed(0)\nemb = torch.nn.Embedding(5, 2, sparse=True)\n"
        "loss = (emb(torch.tensor([1, 3, 3])) ** 2).sum()\nloss.backward()\n"
        "big = torch.nn.Embedding(20000, 4, sparse=True)\n"
        "big(torch.tensor([7])).sum().backward()\n"
    )
    trace = trace_program(source)
    assert trace.error is None
    torch.manual_seed(0)
    emb = torch.nn.Embedding(5, 2, sparse=True)
    (emb(torch.tensor([1, 3, 3])) ** 2).sum().backward()
    assert emb.weight.grad is not None
    small = next(t for t in trace.tensors if t.name == "emb.weight")
    assert small.grad is not None
    assert small.grad.layout == "sparse_coo"
    shown = torch.tensor(small.grad.data, dtype=torch.float32)
    assert torch.equal(shown, emb.weight.grad.to_dense().flatten())
    large = next(t for t in trace.tensors if t.name == "big.weight")
    assert large.grad is not None
    assert large.grad.layout == "sparse_coo"
    assert large.grad.stats is not None
    assert (large.grad.stats.min, large.grad.stats.max) == (0.0, 1.0)
    assert small.value is not None
    assert small.value.layout is None  # the weight itself is an ordinary tensor


def test_gradients_of_zeros_without_memory_show_their_zeros() -> None:
    # The second derivative of l1_loss or abs is autograd's zero tensor without memory: a
    # plain program prints it as zeros, and the Trace shows those numbers.
    source = """
import torch
x = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
t = torch.tensor([0.1, 0.2, 0.3], requires_grad=True)
(g,) = torch.autograd.grad(torch.nn.functional.l1_loss(x, t), [x], create_graph=True)
g.sum().backward()
big = torch.linspace(-1, 1, 500).requires_grad_()
(gb,) = torch.autograd.grad(big.abs().sum(), [big], create_graph=True)
gb.sum().backward()
"""
    trace = trace_program(source)
    assert trace.error is None
    plain = run_plainly(source).namespace
    tensors = {t.name: t for t in trace.tensors}
    for name in ("x", "t"):
        grad = tensors[name].grad
        assert grad is not None
        assert grad.data == (plain[name].grad + 0).tolist()  # + 0 gives it memory
    big = tensors["big"].grad
    assert big is not None
    assert big.stats == Stats(min=0.0, max=0.0, mean=0.0, std=0.0)
    readable = [
        v for e in trace.events for v in (getattr(e, "grad_inputs", None) or []) if v is not None
    ]
    assert readable
    assert all(v.data is not None or v.stats is not None for v in readable)


LOOPS_OVER_UNUSUAL_TENSORS = {
    "complex32": """
import torch
x = torch.tensor([1.0, -2.0, 0.5], requires_grad=True)
for step in range(10):
    z = x.chalf() * 2
    loss = z.abs().sum()
    loss.backward()
print(x.grad)
""",
    "complex_sparse": """
import torch
a = torch.tensor([[1 + 1j, 2], [0, 1j]], requires_grad=True)
b = torch.tensor([[1, 1j], [2, 1]], requires_grad=True)
mask = torch.eye(2, dtype=torch.complex64).to_sparse_csr()
for step in range(10):
    out = torch.sparse.sampled_addmm(mask, a, b)
    loss = out.to_dense().abs().sum()
    loss.backward()
print(a.grad, b.grad)
""",
}


@pytest.mark.parametrize("kind", list(LOOPS_OVER_UNUSUAL_TENSORS))
def test_a_loop_over_complex32_or_sparse_complex_tensors_runs_as_plainly(kind: str) -> None:
    # The iterations whose detail is not kept are still watched for NaN and inf: complex32
    # has no sum, and a sparse complex tensor's numbers are read from what it stores.
    source = LOOPS_OVER_UNUSUAL_TENSORS[kind]
    trace = trace_program(source)
    plain = run_plainly(source)
    assert plain.error is None
    assert trace.error is None
    assert trace.stdout == plain.stdout
    grads = {t.name: t.grad for t in trace.tensors if t.kind == "leaf"}
    for name in ("x", "a", "b"):
        if name in plain.namespace:
            grad = grads[name]
            assert grad is not None
            want = plain.namespace[name].grad
            shown = torch.tensor(grad.data, dtype=want.real.dtype)
            assert torch.equal(shown, want.real.flatten())
