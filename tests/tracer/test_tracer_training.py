"""Optimizer steps as the Trace records them, checked against PyTorch."""

from __future__ import annotations

import pytest
import torch
from gradstage.limits import Limits
from gradstage.schema import OptimizerEvent, decode, encode
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


def _steps_traced_and_plain(source: str) -> tuple[list[OptimizerEvent], dict[str, object]]:
    """The program's optimizer steps as traced, and its names after a plain run."""
    trace = trace_program(source)
    assert trace.error is None, trace.error
    assert decode(encode(trace)) == trace
    namespace: dict[str, object] = {}
    torch.manual_seed(Limits().seed)  # as the tracer seeds a program
    exec(compile(source, "<plain>", "exec"), namespace)
    return [e for e in trace.events if isinstance(e, OptimizerEvent)], namespace


OPTIONS_LOOP = """import torch
model = torch.nn.Linear(3, 1)
opt = OPTIMIZER
sched = torch.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
x = torch.randn(4, 3)
seen = []
for step in range(2):
    opt.zero_grad()
    model(x).pow(2).sum().backward()
    opt.step()
    seen.append(dict(opt.param_groups[0]))
    sched.step()
"""


@pytest.mark.parametrize(
    "optimizer",
    [
        "torch.optim.Rprop(model.parameters(), etas=(0.4, 1.3), step_sizes=(1e-5, 2.0))",
        "torch.optim.Adagrad(model.parameters(), lr_decay=0.1, initial_accumulator_value=0.2)",
        "torch.optim.ASGD(model.parameters(), lambd=0.01, t0=3.0)",
        "torch.optim.RMSprop(model.parameters(), centered=True)",
    ],
)
def test_a_step_shows_every_option_of_its_optimizer_as_pytorch_holds_it(optimizer: str) -> None:
    steps, plain = _steps_traced_and_plain(OPTIONS_LOOP.replace("OPTIMIZER", optimizer))
    opt, seen = plain["opt"], plain["seen"]
    assert isinstance(opt, torch.optim.Optimizer)
    assert isinstance(seen, list)
    group = seen[-1]  # the last step's group, before the scheduler halved its lr
    last = steps[-1]
    for name in opt.defaults:
        value = group[name]
        if name in ("foreach", "fused", "capturable", "differentiable") or value is None:
            assert name not in last.hyper  # how torch runs the step, not its maths
        elif isinstance(value, tuple):
            assert last.hyper[name] == list(value), name
        else:
            assert last.hyper[name] == value, name
    assert "initial_lr" not in last.hyper  # the scheduler's bookkeeping, not an option
    assert last.hyper["lr"] == group["lr"] == 0.5 * group["initial_lr"]


TENSOR_BETAS = """import torch
model = torch.nn.Linear(3, 1)
betas = (torch.tensor(0.8), torch.tensor(0.99))
opt = torch.optim.Adam(model.parameters(), lr=torch.tensor(0.01), betas=betas)
model(torch.randn(4, 3)).sum().backward()
opt.step()
"""


def test_an_adam_step_with_tensor_betas_shows_them_as_pytorch_holds_them() -> None:
    (step,), plain = _steps_traced_and_plain(TENSOR_BETAS)
    opt = plain["opt"]
    assert isinstance(opt, torch.optim.Optimizer)
    (group,) = opt.param_groups
    assert step.hyper["betas"] == [float(b) for b in group["betas"]]
    assert step.hyper["lr"] == float(group["lr"])


def test_an_adafactor_step_shows_its_default_eps_with_the_dtype_default_as_none() -> None:
    source = TENSOR_BETAS.replace("torch.optim.Adam(", "torch.optim.Adafactor(")
    (step,), plain = _steps_traced_and_plain(source.replace(", betas=betas", ""))
    opt = plain["opt"]
    assert isinstance(opt, torch.optim.Optimizer)
    assert opt.param_groups[0]["eps"] == (None, 1e-3)
    assert step.hyper["eps"] == [None, 1e-3]
