"""What each Node saved for backward: the tensors it refers to, or values only autograd holds."""

from __future__ import annotations

import msgspec
import torch
from gradstage.schema import Trace, encode
from gradstage.tracer import trace_program

from tests.tracer.oracle import run_plainly


def _saved(trace: Trace, node_name: str) -> dict[str, tuple[str | None, object]]:
    node = next(n for n in trace.nodes if n.name == node_name)
    return {s.name: (s.tensor, s.value) for s in node.saved}


def _names(trace: Trace) -> dict[str | None, str | None]:
    return {t.id: t.name for t in trace.tensors}


def test_a_node_that_saved_its_own_output_refers_to_that_tensor() -> None:
    source = """
import torch
x = torch.tensor([-1.0, 0.5, 2.0], requires_grad=True)
r = torch.relu(x)
e = r.exp()
s = torch.sigmoid(e)
s.sum().backward()
"""
    trace = trace_program(source)
    assert trace.error is None
    names = _names(trace)
    for node, output in (("ReluBackward0", "r"), ("ExpBackward0", "e"), ("SigmoidBackward0", "s")):
        tensor, value = _saved(trace, node)["result"]
        assert names[tensor] == output
        assert value is None  # no second copy of the output's value


def test_saved_inputs_refer_to_their_tensors() -> None:
    trace = trace_program(
        "import torch\na = torch.ones(2, requires_grad=True)\n"
        "b = torch.full((2,), 3.0, requires_grad=True)\n"
        "c = a * b\nc.sum().backward()\n"
    )
    names = _names(trace)
    saved = _saved(trace, "MulBackward0")
    assert {k: names[v[0]] for k, v in saved.items()} == {"self": "a", "other": "b"}


def test_what_only_autograd_holds_is_kept_with_pytorchs_values() -> None:
    source = """
import torch
import torch.nn.functional as F
torch.manual_seed(0)
x = torch.randn(8, 3, requires_grad=True)
y = F.batch_norm(x, torch.zeros(3), torch.ones(3), training=True)
y.sum().backward(retain_graph=True)
"""
    trace = trace_program(source)
    assert trace.error is None
    plain = run_plainly(source).namespace
    node = plain["y"].grad_fn
    saved = _saved(trace, "NativeBatchNormBackward0")
    for name in ("result1", "result2"):
        tensor, value = saved[name]
        assert tensor is None
        expected = getattr(node, f"_saved_{name}")
        assert value is not None
        exact = torch.as_tensor(expected).reshape(-1)  # float32 numbers, float32's digits
        assert torch.equal(torch.tensor(value.data, dtype=exact.dtype), exact)


def test_a_saved_flag_is_spelled_as_python_spells_it_and_the_trace_stays_valid() -> None:
    source = """
import torch
import torch.nn as nn
net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU())
net(torch.randn(5, 3)).sum().backward()
"""
    trace = trace_program(source)
    assert trace.error is None
    node = next(n for n in trace.nodes if n.name == "NativeBatchNormBackward0")
    assert {s.name: s.scalar for s in node.saved}["training"] == "True"
    # What the server checks every Trace from the sandbox against.
    assert msgspec.json.decode(encode(trace), type=Trace) == trace
