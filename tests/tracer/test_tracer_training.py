"""Optimizer steps as the Trace records them, checked against PyTorch."""

from __future__ import annotations

import torch
from gradstage.limits import Limits
from gradstage.schema import OptimizerEvent
from gradstage.tracer import trace_program

ROSENBROCK = """import torch
x = torch.tensor([-1.5, 2.0], requires_grad=True)
opt = torch.optim.LBFGS([x], max_iter=5)
def closure():
    opt.zero_grad()
    loss = (1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2
    loss.backward()
    return loss
opt.step(closure)
print(x)
"""


def test_a_step_with_a_line_search_shows_the_gradient_where_the_step_started() -> None:
    trace = trace_program(ROSENBROCK)
    assert trace.error is None
    (step,) = [e for e in trace.events if isinstance(e, OptimizerEvent)]
    (param,) = step.params
    # PyTorch: the gradient at the starting point, and where LBFGS ended.
    x = torch.tensor([-1.5, 2.0], requires_grad=True)
    ((1 - x[0]) ** 2 + 100 * (x[1] - x[0] ** 2) ** 2).backward()
    assert param.grad is not None
    assert param.before is not None
    assert param.after is not None
    assert param.before.data == [-1.5, 2.0]
    assert x.grad is not None
    assert torch.equal(torch.tensor(param.grad.data), x.grad)
    namespace: dict[str, object] = {"__name__": "__main__"}
    exec(compile(ROSENBROCK.replace("print(x)\n", ""), "<plain>", "exec"), namespace)
    ended = namespace["x"]
    assert isinstance(ended, torch.Tensor)
    assert torch.equal(torch.tensor(param.after.data), ended.detach())


LAZY_LOOP = """import torch
model = torch.nn.LazyLinear(2)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
x = torch.ones(3, 4)
for step in range(3):
    opt.zero_grad()
    model.zero_grad()
    loss = model(x).pow(2).sum()
    loss.backward()
    opt.step()
"""


def test_a_lazy_model_is_trained_as_in_pytorch_from_a_zero_grad_before_its_first_forward() -> None:
    trace = trace_program(LAZY_LOOP)
    assert trace.error is None, trace.error
    namespace: dict[str, object] = {}
    torch.manual_seed(Limits().seed)  # as the tracer seeds a program
    exec(compile(LAZY_LOOP, "<plain>", "exec"), namespace)
    model = namespace["model"]
    assert isinstance(model, torch.nn.Module)
    names = {t.id: t.name for t in trace.tensors}
    last = [e for e in trace.events if isinstance(e, OptimizerEvent)][-1]
    after = {names[p.tensor]: p.after for p in last.params}
    for name, param in model.named_parameters():
        value = after[f"model.{name}"]
        assert value is not None
        assert value.data is not None
        got = torch.tensor([float(v) for v in value.data]).reshape(param.shape)
        torch.testing.assert_close(got, param.detach())
