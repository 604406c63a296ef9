"""Names: a tensor is called what the program's outermost scope calls it; optimizers too.

A tensor passed to one of the program's functions keeps its caller's name (``total``, not the
parameter ``t``); a tensor that only lives inside a function has the function's name for it.
Every optimizer step and ``zero_grad`` names its optimizer: its variable, else its class.
"""

from __future__ import annotations

import pytest
import torch
from gradstage.schema import (
    OpEvent,
    OptimizerEvent,
    Trace,
    UpdateEvent,
    Value,
    ZeroGradEvent,
)
from gradstage.tracer import trace_program

from tests.tracer.oracle import named_tensors, program, run_plainly


def _as_tensor(value: Value | None) -> torch.Tensor:
    assert value is not None
    assert value.data is not None
    return torch.tensor([float(x) for x in value.data], dtype=torch.float64).reshape(value.shape)


def _assert_parameters_are_pytorchs(trace: Trace, model: torch.nn.Module) -> None:
    """The Trace's parameters are the module's, each once, under the first name
    ``named_parameters()`` gives it, with the ``.grad`` PyTorch computed."""
    params = {t.name: t for t in trace.tensors if t.kind == "param"}
    expected = dict(model.named_parameters())
    assert sorted(params) == sorted(f"model.{name}" for name in expected)
    for name, param in expected.items():
        grad = params[f"model.{name}"].grad
        assert param.grad is not None
        torch.testing.assert_close(_as_tensor(grad).float(), param.grad, rtol=0, atol=0)


def _names(source: str) -> dict[str, str]:
    trace = trace_program(source)
    assert trace.error is None, trace.error
    return {t.id: t.name for t in trace.tensors if t.name}


def test_a_tensor_passed_to_a_function_keeps_its_callers_name() -> None:
    source = program("tensor_passed_to_a_function").source
    names = set(_names(source).values())
    assert {"w", "total", "bigger"} <= names
    assert "t" not in names  # the parameter of graph_size and doubled


def test_the_trace_names_exactly_the_tensors_python_leaves_bound_at_module_level() -> None:
    source = program("tensor_passed_to_a_function").source
    traced = set(_names(source).values())
    for names, _ in named_tensors(run_plainly(source).namespace):
        assert names & traced, sorted(names)


def test_a_tensor_made_in_a_function_takes_the_name_the_caller_binds_it_to() -> None:
    source = """
import torch
w = torch.tensor(2.0, requires_grad=True)

def square(t):
    result = t * t
    scratch = result + 1
    scratch = scratch * 2  # names what the line above bound
    return result

y = square(w)
y.backward()
"""
    names = _names(source)
    assert sorted(names.values()) == ["scratch", "w", "y"]


def test_parameters_keep_their_qualified_names_inside_functions() -> None:
    source = """
import torch
import torch.nn as nn
model = nn.Linear(2, 1)

def penalty(weight):
    return (weight ** 2).sum()

loss = penalty(model.weight)
loss.backward()
"""
    names = set(_names(source).values())
    assert {"model.weight", "loss"} <= names
    assert "weight" not in names


def test_every_optimizer_made_in_a_function_is_named_after_its_variable() -> None:
    trace = trace_program(program("optimizers_made_in_a_function").source)
    steps = [e for e in trace.events if isinstance(e, OptimizerEvent)]
    zeroed = [e for e in trace.events if isinstance(e, ZeroGradEvent)]
    assert [(e.optimizer, e.name) for e in steps] == [("SGD", "optimizer")] * 2 + [
        ("Adam", "optimizer")
    ] * 2
    assert {e.via for e in zeroed} == {"optimizer.zero_grad()"}


def test_optimizers_are_told_apart_by_their_own_variables() -> None:
    source = """
import torch
a = torch.zeros(1, requires_grad=True)
b = torch.zeros(1, requires_grad=True)
sgd = torch.optim.SGD([a], lr=0.1)
for _ in range(2):
    (a - 1).pow(2).sum().backward()
    sgd.step()
adam = torch.optim.Adam([b], lr=0.1)
for _ in range(2):
    (b - 1).pow(2).sum().backward()
    adam.step()
"""
    trace = trace_program(source)
    steps = [e for e in trace.events if isinstance(e, OptimizerEvent)]
    assert [e.name for e in steps] == ["sgd", "sgd", "adam", "adam"]


def test_an_optimizer_bound_to_no_variable_is_named_after_its_class() -> None:
    source = """
import torch

class Trainer:
    def __init__(self, params):
        self.optimizers = [torch.optim.SGD(params, lr=0.1)]

    def step(self):
        self.optimizers[0].step()

w = torch.zeros(1, requires_grad=True)
trainer = Trainer([w])
(w - 1).sum().backward()
trainer.step()
"""
    trace = trace_program(source)
    steps = [e for e in trace.events if isinstance(e, OptimizerEvent)]
    assert [(e.optimizer, e.name) for e in steps] == [("SGD", "SGD")]


def test_a_node_without_a_drawn_symbol_is_labelled_by_its_op_in_pytorchs_spelling() -> None:
    from gradstage.tracer.rules import label_and_rule

    assert label_and_rule("MkldnnRnnLayerBackward0") == ("mkldnn_rnn_layer", None)
    assert label_and_rule("UndefinedGradBackward") == ("undefined_grad", None)
    assert label_and_rule("MulBackward0")[1] == "mul"


def test_a_module_made_only_to_be_copied_leaves_no_unnamed_parameters() -> None:
    trace = trace_program(program("transformer_encoder_step").source)
    assert trace.error is None
    params = [t for t in trace.tensors if t.kind == "param"]
    assert params
    assert all(t.name is not None for t in params), [t.id for t in params if t.name is None]
    assert any(t.name == "encoder.layers.0.self_attn.in_proj_weight" for t in params)
    ids = {t.id for t in trace.tensors}
    assert all(t.cut_from is None or t.cut_from in ids for t in trace.tensors)


TIED_AFTER_INIT = """
import torch
import torch.nn as nn
class TinyLM(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.out = nn.Linear(4, 10, bias=False)
    def forward(self, x):
        return self.out(torch.tanh(self.emb(x)))
model = TinyLM()
nn.init.normal_(model.out.weight, std=0.02)
model.out.weight = model.emb.weight  # tied: the weight initialised above is thrown away
x = torch.tensor([1, 2, 3])
loss = nn.functional.cross_entropy(model(x), torch.tensor([2, 3, 4]))
loss.backward()
"""


@pytest.mark.parametrize(
    "source",
    [TIED_AFTER_INIT, program("tied_embedding").source],
    ids=["tied_after_init", "tied_in_init"],
)
def test_a_tied_weight_is_one_tensor_named_where_named_parameters_lists_it_first(
    source: str,
) -> None:
    trace = trace_program(source)
    assert trace.error is None, trace.error
    model = run_plainly(source).namespace["model"]
    assert model.out.weight is model.emb.weight
    _assert_parameters_are_pytorchs(trace, model)  # model.emb.weight only, not model.out.weight
    assert [t.name for t in trace.tensors if t.kind == "param"] == ["model.emb.weight"]


def test_a_tied_weights_grad_is_the_sum_of_what_each_use_sends() -> None:
    source = program("tied_embedding").source
    trace = trace_program(source)
    namespace = run_plainly(source).namespace
    model, tokens, targets = namespace["model"], namespace["tokens"], namespace["targets"]
    # Untied by hand: one copy of the weight for each use, each with its own .grad.
    emb_copy, out_copy = (model.emb.weight.detach().clone().requires_grad_() for _ in range(2))
    logits = torch.func.functional_call(
        model, {"emb.weight": emb_copy, "out.weight": out_copy}, (tokens,), tie_weights=False
    )
    torch.nn.functional.cross_entropy(logits, targets).backward()
    assert emb_copy.grad is not None
    assert out_copy.grad is not None
    (shared,) = [t for t in trace.tensors if t.kind == "param"]
    torch.testing.assert_close(_as_tensor(shared.grad).float(), emb_copy.grad + out_copy.grad)


SYMMETRIC = """
import torch
import torch.nn as nn
import torch.nn.utils.parametrize as P
class Symmetric(nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).transpose(0, 1)
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(3, 3)
        P.register_parametrization(self.fc, "weight", Symmetric())
    def forward(self, x):
        return self.fc(x)
model = Net()
loss = model(torch.randn(2, 3)).pow(2).sum()
loss.backward()
"""

WEIGHT_NORM = program("weight_norm_parametrization").source

ORTHOGONAL_AND_SPECTRAL_NORM = """
import torch
import torch.nn as nn
from torch.nn.utils.parametrizations import orthogonal, spectral_norm
class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = orthogonal(nn.Linear(3, 3))
        self.head = spectral_norm(nn.Linear(3, 1))
    def forward(self, x):
        return self.head(torch.tanh(self.fc(x)))
model = Net()
loss = model(torch.randn(2, 3)).pow(2).sum()
loss.backward()
"""


@pytest.mark.parametrize(
    ("source", "computed"),
    [
        (SYMMETRIC, ["model.fc.weight"]),
        (WEIGHT_NORM, ["model.0.weight"]),
        (ORTHOGONAL_AND_SPECTRAL_NORM, ["model.fc.weight", "model.head.weight"]),
    ],
    ids=["register_parametrization", "weight_norm", "orthogonal_and_spectral_norm"],
)
def test_a_parametrized_weight_is_named_after_the_attribute_the_layer_reads(
    source: str, computed: list[str]
) -> None:
    trace = trace_program(source)
    assert trace.error is None, trace.error
    _assert_parameters_are_pytorchs(trace, run_plainly(source).namespace["model"])
    linear_inputs = {i for e in trace.events if isinstance(e, OpEvent) for i in e.inputs}
    for name in computed:
        found = [t for t in trace.tensors if t.name == name]
        assert found, f"no tensor is named {name}"
        assert all(t.kind == "nonleaf" and not t.is_leaf for t in found), name
        assert found[-1].id in linear_inputs, f"{name} is not what the layer computed with"


def test_a_parametrized_weight_has_the_value_pytorch_computes() -> None:
    trace = trace_program(SYMMETRIC)
    model = run_plainly(SYMMETRIC).namespace["model"]
    (weight,) = [t for t in trace.tensors if t.name == "model.fc.weight"][-1:]
    assert weight.value is not None
    torch.testing.assert_close(
        _as_tensor(weight.value).float(), model.fc.weight.detach(), rtol=0, atol=0
    )
    assert torch.equal(model.fc.weight, model.fc.weight.T)  # what the parametrization is for


LAZY = """
import torch
model = torch.nn.Sequential(torch.nn.LazyLinear(3), torch.nn.Tanh(), torch.nn.LazyLinear(1))
x = torch.randn(2, 4, requires_grad=True)
loss = model(x).sum()
loss.backward()
opt = torch.optim.SGD(model.parameters(), lr=0.1)
opt.step()
"""


def test_a_lazy_modules_parameters_take_their_shapes_on_the_first_forward_as_in_pytorch() -> None:
    trace = trace_program(LAZY)
    assert trace.error is None, trace.error
    plain = run_plainly(LAZY).namespace
    _assert_parameters_are_pytorchs(trace, plain["model"])
    names = {t.id: t.name for t in trace.tensors}
    (step,) = [e for e in trace.events if isinstance(e, OptimizerEvent)]
    after = {names[p.tensor]: _as_tensor(p.after) for p in step.params}
    for name, param in plain["model"].named_parameters():
        torch.testing.assert_close(after[f"model.{name}"].float(), param.detach())
    # The first forward finishes the construction: each layer's init changes its parameters
    # (torch's scratch memory for them is not shown), then the layer computes.
    shown = [
        (e.op, names[e.tensor] if isinstance(e, UpdateEvent) else None)
        for e in trace.events
        if isinstance(e, OpEvent | UpdateEvent) and e.line == 5
    ]
    assert shown == [
        ("kaiming_uniform_", "model.0.weight"),
        ("uniform_", "model.0.bias"),
        ("linear", None),
        ("tanh", None),
        ("kaiming_uniform_", "model.2.weight"),
        ("uniform_", "model.2.bias"),
        ("linear", None),
        ("sum", None),
    ]


def test_a_lazy_module_made_before_the_program_runs_as_it_does_plainly() -> None:
    source = "x = torch.ones(2, 4, requires_grad=True)\nmodel(x).sum().backward()\n"
    torch.manual_seed(0)
    traced = torch.nn.LazyLinear(3)
    trace = trace_program(source, namespace={"torch": torch, "model": traced})
    assert trace.error is None, trace.error
    torch.manual_seed(0)
    plain = torch.nn.LazyLinear(3)
    exec(source, {"torch": torch, "model": plain})
    assert traced.weight.grad is not None
    torch.testing.assert_close(traced.weight.grad, plain.weight.grad)
    assert [t.shape for t in trace.tensors if t.kind == "param"] == [[3, 4], [3]]
