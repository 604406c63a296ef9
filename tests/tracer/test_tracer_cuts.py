"""Where the graph is cut: a frozen sub-module (``requires_grad_(False)``) shows as a cut.

Its forward ops make tensors that do not require grad; the Trace still has them, as ops whose
flow from the frozen parameters is marked ``requires_grad_false`` (as ``no_grad`` and
``detach`` cuts are marked), so the next module's input has a producer.
"""

from __future__ import annotations

import torch
from gradstage.schema import Edge, OpEvent, TensorInfo, Trace, UpdateEvent, Value
from gradstage.tracer import trace_program

from tests.tracer.oracle import program, run_plainly


def _by_name(trace: Trace) -> dict[str, TensorInfo]:
    return {t.name: t for t in trace.tensors if t.name}


def _flows_into(trace: Trace, tid: str) -> list[Edge]:
    return [e for e in trace.edges if e.kind == "flow" and e.dst == tid]


def _same(value: Value | None, expected: torch.Tensor) -> bool:
    assert value is not None
    assert value.data is not None
    # The same float32 numbers (written with float32's digits in the Trace).
    exact = expected.detach().reshape(-1)
    return bool(torch.equal(torch.tensor(value.data, dtype=exact.dtype), exact))


def test_the_frozen_encoder_output_has_a_producer_and_a_cut_from_its_weights() -> None:
    source = program("frozen_encoder").source
    trace = trace_program(source)
    plain = run_plainly(source).namespace
    tensors = _by_name(trace)
    code, out = tensors["code"], tensors["out"]
    weight, bias = tensors["encoder.0.weight"], tensors["encoder.0.bias"]
    assert (code.requires_grad, code.grad_fn) == (False, None)
    assert code.requires_grad == plain["code"].requires_grad
    assert _same(code.value, plain["code"])

    producers = [e for e in trace.events if isinstance(e, OpEvent) and code.id in e.outputs]
    assert [e.op for e in producers] == ["tanh"]
    (linear_out,) = producers[0].inputs
    assert linear_out is not None
    cuts = {(e.src, e.cut) for e in _flows_into(trace, linear_out)}
    assert (weight.id, "requires_grad_false") in cuts
    assert (bias.id, "requires_grad_false") in cuts
    assert {e.src for e in _flows_into(trace, out.id)} >= {code.id}
    assert [e.cut for e in _flows_into(trace, out.id)] == [None, None, None]


def test_the_frozen_weights_get_no_gradient_and_no_node() -> None:
    source = program("frozen_encoder").source
    trace = trace_program(source)
    tensors = _by_name(trace)
    frozen = {tensors["encoder.0.weight"].id, tensors["encoder.0.bias"].id}
    assert all(tensors[n].grad is None for n in ("encoder.0.weight", "encoder.0.bias"))
    assert not any(n.variable in frozen for n in trace.nodes)
    assert all(t.cut == "requires_grad_false" for t in trace.tensors if t.id in frozen)


def test_a_frozen_layer_under_a_training_loop_is_cut_in_every_iteration() -> None:
    source = """
import torch
import torch.nn as nn
torch.manual_seed(0)
model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
model[0].weight.requires_grad = False
model[0].bias.requires_grad = False
x = torch.randn(5, 3)
for step in range(3):
    h = model[1](model[0](x))
    loss = model[2](h).pow(2).mean()
    loss.backward()
"""
    trace = trace_program(source)
    assert trace.error is None
    tensors = _by_name(trace)
    cut = [e for e in trace.edges if e.cut == "requires_grad_false"]
    assert {e.src for e in cut} == {tensors["model.0.weight"].id, tensors["model.0.bias"].id}
    h = tensors["h"]
    assert any(isinstance(e, OpEvent) and h.id in e.outputs for e in trace.events)


def test_unfreezing_a_parameter_removes_its_cut() -> None:
    source = """
import torch
w = torch.ones(2, requires_grad=True)
w.requires_grad_(False)
w.requires_grad_(True)
(w * 2).sum().backward()
"""
    trace = trace_program(source)
    w = _by_name(trace)["w"]
    assert (w.cut, w.kind, w.requires_grad) == (None, "leaf", True)
    assert w.grad is not None
    assert w.grad.data == [2.0, 2.0]


def test_a_module_frozen_before_the_program_runs_is_cut_too() -> None:
    frozen = torch.nn.Linear(2, 2)
    frozen.requires_grad_(False)
    source = """
head = torch.nn.Linear(2, 1)
x = torch.ones(3, 2)
code = frozen(x)
head(code).sum().backward()
"""
    trace = trace_program(source, namespace={"torch": torch, "frozen": frozen})
    assert trace.error is None
    tensors = _by_name(trace)
    assert tensors["frozen.weight"].cut == "requires_grad_false"
    code = tensors["code"]
    assert code.cut == "requires_grad_false"
    assert code.cut_from == tensors["frozen.weight"].id
    assert any(isinstance(e, OpEvent) and code.id in e.outputs for e in trace.events)


def test_a_transposed_frozen_weight_is_cut_too() -> None:
    source = """
import torch
frozen = torch.nn.Linear(3, 2)
frozen.requires_grad_(False)
x = torch.ones(4, 3, requires_grad=True)
y = x @ frozen.weight.T
y.sum().backward()
"""
    trace = trace_program(source)
    assert trace.error is None
    tensors = _by_name(trace)
    weight, y = tensors["frozen.weight"], tensors["y"]
    transposes = [e for e in trace.events if isinstance(e, OpEvent) and e.op == "T"]
    assert len(transposes) == 1
    assert transposes[0].line == 6
    (view,) = transposes[0].outputs
    assert (weight.id, "requires_grad_false") in {(e.src, e.cut) for e in _flows_into(trace, view)}
    assert view in {e.src for e in _flows_into(trace, y.id)}
    plain = run_plainly(source).namespace
    assert _same(next(t for t in trace.tensors if t.id == view).value, plain["frozen"].weight.T)


def test_a_transposed_trained_weight_is_an_op_with_its_node_and_line() -> None:
    source = """
import torch
w = torch.ones(2, 3, requires_grad=True)
x = torch.ones(4, 3)
y = x @ w.T
y.sum().backward()
"""
    trace = trace_program(source)
    assert trace.error is None
    (transpose,) = [e for e in trace.events if isinstance(e, OpEvent) and e.op == "T"]
    assert transpose.node is not None
    node = next(n for n in trace.nodes if n.id == transpose.node)
    assert (node.name, node.line) == ("PermuteBackward0", 5)
    w = _by_name(trace)["w"]
    assert w.grad is not None
    assert w.grad.data == [4.0] * 6


def test_a_view_changed_in_place_under_no_grad_leaves_the_program_running_as_plainly() -> None:
    # Afterwards autograd refuses to say anything about `row` (its grad_fn is "<Invalid>"):
    # the tracer must neither read it nor fail on it, during the run or when building the Trace.
    source = """
import torch
w = torch.zeros(2, 3, requires_grad=True)
with torch.no_grad():
    row = w[0]
    row.add_(1.0)
    print(row.sum().item())
(w * 2).sum().backward()
print(w.grad)
print(row)
"""
    trace = trace_program(source)
    assert trace.error is None
    assert trace.stdout == run_plainly(source).stdout
    updates = [e for e in trace.events if isinstance(e, UpdateEvent)]
    assert [(e.line, e.op) for e in updates] == [(6, "add_")]
    w = next(t for t in trace.tensors if t.name == "w")
    assert updates[0].tensor == w.id
    assert updates[0].after is not None
    assert updates[0].after.data == [1.0, 1.0, 1.0, 0.0, 0.0, 0.0]
