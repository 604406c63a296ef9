"""Optimizer steps as the Trace records them, checked against PyTorch."""

from __future__ import annotations

import torch
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
