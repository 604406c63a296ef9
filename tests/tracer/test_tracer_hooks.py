"""What runs inside backward(): the program's hooks and what they do, gradients filled by a
backward of its own (a reentrant checkpoint), torch.autograd.grad's results in a loop."""

from __future__ import annotations

from typing import Any

import torch
from gradstage.schema import (
    AccumulateEvent,
    BackwardEndEvent,
    GradSetEvent,
    HookEvent,
    Trace,
    UpdateEvent,
    ZeroGradEvent,
)
from gradstage.tracer import trace_program

from tests.tracer.oracle import run_plainly


def _kinds(trace: Trace) -> list[str]:
    return [type(e).__name__.removesuffix("Event") for e in trace.events]


def _tensor(trace: Trace, name: str) -> Any:
    return next(t for t in trace.tensors if t.name == name)


def test_an_optimizer_step_in_a_hook_after_accumulation_is_recorded_after_the_accumulation() -> (
    None
):
    source = """import torch
w = torch.tensor([1.0, 2.0], requires_grad=True)
def step_now(p):
    with torch.no_grad():
        p.sub_(0.5 * p.grad)
    p.grad = None
w.register_post_accumulate_grad_hook(step_now)
(w * w).sum().backward()
print(w, w.grad)
"""
    trace = trace_program(source)
    assert trace.stdout == run_plainly(source).stdout
    kinds = _kinds(trace)
    at = kinds.index("Accumulate")
    assert kinds[at : at + 4] == ["Accumulate", "Hook", "Update", "ZeroGrad"]
    w = _tensor(trace, "w")
    accumulate = trace.events[at]
    assert isinstance(accumulate, AccumulateEvent)
    assert accumulate.after is not None
    assert accumulate.after.data == [2.0, 4.0]
    hook = trace.events[at + 1]
    assert isinstance(hook, HookEvent)
    assert (hook.tensor, hook.hook, hook.line, hook.changed) == (w.id, "step_now", 3, False)
    update = trace.events[at + 2]
    assert isinstance(update, UpdateEvent)
    assert (update.tensor, update.op, update.line) == (w.id, "sub_", 5)
    assert update.after is not None
    assert update.after.data == [0.0, 0.0]
    zeroed = trace.events[at + 3]
    assert isinstance(zeroed, ZeroGradEvent)
    assert (zeroed.how, zeroed.tensors, zeroed.line) == ("none", [w.id], 6)
    assert w.grad is None


def test_a_tensor_hooks_effects_are_recorded_and_returning_its_gradient_is_no_change() -> None:
    source = """import torch
v = torch.tensor([5.0, 5.0], requires_grad=True)
w = torch.tensor([1.0, 2.0], requires_grad=True)
def hook(g):
    with torch.no_grad():
        v.add_(g)
    v.grad = g * 3
    return g
w.register_hook(hook)
(w * w).sum().backward()
print(v, v.grad, w.grad)
"""
    trace = trace_program(source)
    assert trace.stdout == run_plainly(source).stdout
    v = _tensor(trace, "v")
    (hook,) = [e for e in trace.events if isinstance(e, HookEvent)]
    assert (hook.changed, hook.result) == (False, None)
    (update,) = [e for e in trace.events if isinstance(e, UpdateEvent)]
    assert (update.tensor, update.line) == (v.id, 6)
    assert update.after is not None
    assert update.after.data == [7.0, 9.0]
    (grad_set,) = [e for e in trace.events if isinstance(e, GradSetEvent)]
    assert (grad_set.tensor, grad_set.line) == (v.id, 7)
    assert grad_set.after is not None
    assert grad_set.after.data == [6.0, 12.0]
    # The hook's arithmetic on the gradient is not drawn as tensors of the graph.
    assert {t.name for t in trace.tensors} == {"v", "w", None}
    assert len(trace.tensors) == 4  # v, w, w * w and its sum


def test_each_autograd_grad_call_in_a_loop_names_the_tensor_it_returns() -> None:
    source = """import torch
x = torch.tensor(3.0, requires_grad=True)
for i in range(2):
    (g,) = torch.autograd.grad(x ** 2, x, create_graph=True)
    with torch.no_grad():
        x -= 0.25 * g
print(g)
"""
    trace = trace_program(source)
    assert trace.stdout == "tensor(3., grad_fn=<MulBackward0>)\n"
    ends = [e for e in trace.events if isinstance(e, BackwardEndEvent)]
    g = _tensor(trace, "g")
    assert [e.results for e in ends] == [[g.id], [g.id]]
    assert [[v.data for v in e.grads if v] for e in ends] == [[[6.0]], [[3.0]]]


def test_gradients_filled_by_a_reentrant_checkpoint_have_an_accumulation() -> None:
    source = """import torch
from torch.utils.checkpoint import checkpoint
w = torch.tensor([1.0, 2.0], requires_grad=True)
x = torch.tensor([3.0, 4.0], requires_grad=True)
out = checkpoint(lambda t: t * w, x, use_reentrant=True)
out.sum().backward()
print(x.grad, w.grad)
"""
    trace = trace_program(source)
    assert trace.stdout == run_plainly(source).stdout
    w, x = _tensor(trace, "w"), _tensor(trace, "x")
    filled = {
        e.tensor: (e.node, e.after.data if e.after else None)
        for e in trace.events
        if isinstance(e, AccumulateEvent)
    }
    assert filled[w.id] == (None, [3.0, 4.0])  # no Node of the outer graph filled it
    assert filled[x.id][1] == [1.0, 2.0]
    assert filled[x.id][0] is not None


def test_a_parametrized_weight_is_named_where_the_parameter_lives_now() -> None:
    source = """import torch, torch.nn as nn
import torch.nn.utils.parametrize as P
class Double(nn.Module):
    def forward(self, X):
        return X * 2
layer = nn.Linear(2, 1)
P.register_parametrization(layer, "weight", Double())
layer(torch.ones(1, 2)).sum().backward()
print(layer.parametrizations.weight.original.grad)
"""
    trace = trace_program(source)
    assert trace.stdout == run_plainly(source).stdout
    names = {t.name for t in trace.tensors if t.kind == "param"}
    assert names == {"layer.parametrizations.weight.original", "layer.bias"}
    original = _tensor(trace, "layer.parametrizations.weight.original")
    assert original.grad is not None
    assert original.grad.data == [2.0, 2.0]
    assert torch.is_grad_enabled()
