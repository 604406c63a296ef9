"""Nested tensors (``torch.nested``): run as plainly, their components' gradients shown."""

from __future__ import annotations

import torch
from gradstage.tracer import trace_program

from tests.tracer.oracle import run_plainly

NESTED = """
import torch
a = torch.randn(2, 3, requires_grad=True)
b = torch.randn(4, 3, requires_grad=True)
nt = torch.nested.as_nested_tensor([a, b])
out = (nt * 2).to_padded_tensor(0.0)
loss = (out ** 2).sum()
loss.backward()
"""


def test_a_nested_tensors_gradients_reach_its_components_as_in_pytorch() -> None:
    trace = trace_program(NESTED)
    assert trace.error is None, trace.error
    plain = run_plainly(NESTED).namespace
    grads = {t.name: t.grad for t in trace.tensors if t.name in ("a", "b")}
    for name in ("a", "b"):
        grad = grads[name]
        assert grad is not None
        assert grad.data is not None
        got = torch.tensor([float(x) for x in grad.data]).reshape(grad.shape)
        torch.testing.assert_close(got, plain[name].grad)
    (out,) = [t for t in trace.tensors if t.name == "out"]
    assert out.shape == list(plain["out"].shape)
