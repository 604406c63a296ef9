"""Ids belong to real objects: two live tensors (or Nodes) are two ids unless a loop repeats them.

Structurally equal graphs share ids only across the steps of a loop. Graphs autograd builds
during ``torch.autograd.grad(..., create_graph=True)`` are made by no line of the program's own
(they show the line of the call that built them), yet each call's graph is a new one, as
PyTorch has it.
"""

from __future__ import annotations

import torch
from gradstage.schema import BackwardEvent, Trace
from gradstage.tracer import trace_program

from tests.tracer.oracle import program, run_plainly


def _grad_fn_chain(t: torch.Tensor) -> list[str]:
    """Node names reachable from ``t.grad_fn``, depth first (as the Trace's ``next`` has them)."""
    names: list[str] = []
    seen: set[int] = set()
    stack = [t.grad_fn]
    while stack:
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        names.append(type(fn).__name__)
        stack.extend(next_fn for next_fn, _ in reversed(fn.next_functions))
    return names


def _trace_chain(trace: Trace, node_id: str | None) -> list[str]:
    nodes = {n.id: n for n in trace.nodes}
    names: list[str] = []
    seen: set[str] = set()
    stack = [node_id]
    while stack:
        nid = stack.pop()
        if nid is None or nid in seen:
            continue
        seen.add(nid)
        names.append(nodes[nid].name)
        stack.extend(nf.node for nf in reversed(nodes[nid].next))
    return names


def _reachable(trace: Trace, node_id: str | None) -> set[str]:
    """Ids of the Nodes reachable from ``node_id`` (itself included)."""
    nodes = {n.id: n for n in trace.nodes}
    out: set[str] = set()
    stack = [node_id]
    while stack:
        nid = stack.pop()
        if nid is not None and nid not in out:
            out.add(nid)
            stack.extend(nf.node for nf in nodes[nid].next)
    return out


def test_each_create_graph_gradient_is_a_tensor_and_graph_of_its_own() -> None:
    source = program("third_derivative").source
    trace = trace_program(source)
    plain = run_plainly(source).namespace
    by_name = {t.name: t for t in trace.tensors if t.name}
    g, g2, g3 = by_name["g"], by_name["g2"], by_name["g3"]
    assert len({g.id, g2.id, g3.id}) == 3
    for info, name in ((g, "g"), (g2, "g2")):
        assert info.grad_fn is not None
        assert info.value is not None
        assert info.value.data == [plain[name].item()]
        assert _trace_chain(trace, info.grad_fn) == _grad_fn_chain(plain[name])
    assert g.grad_fn != g2.grad_fn
    # g2's graph reuses none of g's Nodes except the leaf's AccumulateGrad, as in PyTorch.
    nodes = {n.id: n for n in trace.nodes}
    shared = _reachable(trace, g.grad_fn) & _reachable(trace, g2.grad_fn)
    assert {nodes[n].name for n in shared} == {"AccumulateGrad"}


def test_the_third_grad_call_starts_from_the_second_gradient() -> None:
    trace = trace_program(program("third_derivative").source)
    names = {t.id: t.name for t in trace.tensors}
    calls = [e for e in trace.events if isinstance(e, BackwardEvent)]
    assert [[names[r] for r in e.roots] for e in calls] == [["y"], ["g"], ["g2"]]
    node_of = {t.id: t.grad_fn for t in trace.tensors}
    assert [e.root_nodes for e in calls] == [[node_of[e.roots[0]]] for e in calls]


def test_two_alike_graphs_made_inside_one_torch_call_stay_two() -> None:
    # F.normalize is one op for the tracer; inside it autograd makes norm, clamp, expand and
    # div Nodes. Twice on one line: two graphs of the same shape, both alive at once.
    source = """
import torch
import torch.nn.functional as F
p = torch.tensor([3.0, 4.0], requires_grad=True)
both = F.normalize(p, dim=0) + F.normalize(p, dim=0)
both.sum().backward()
"""
    trace = trace_program(source)
    assert trace.error is None
    plain = run_plainly(source).namespace
    both = next(t for t in trace.tensors if t.name == "both")
    assert _trace_chain(trace, both.grad_fn) == _grad_fn_chain(plain["both"])
    add = next(n for n in trace.nodes if n.id == both.grad_fn)
    left, right = (nf.node for nf in add.next)
    assert left != right
    assert all(n.instances == 1 for n in trace.nodes)


def test_nodes_built_by_a_create_graph_call_show_that_calls_line() -> None:
    source = """
import torch
x = torch.tensor(2.0, requires_grad=True)
y = x ** 3
(g,) = torch.autograd.grad(y, x, create_graph=True)
w = torch.tensor(3.0, requires_grad=True)
(w * w).backward(create_graph=True)
"""
    trace = trace_program(source)
    assert trace.error is None
    nodes = {n.id: n for n in trace.nodes}
    by_name = {t.name: t for t in trace.tensors if t.name}
    made_by_grad = [nodes[n] for n in _reachable(trace, by_name["g"].grad_fn)]
    assert {n.line for n in made_by_grad if n.kind != "accumulate"} == {5}
    assert nodes[by_name["y"].grad_fn or ""].line == 4
    # w.grad = 2w has a graph of its own, built by the backward() call on line 7.
    built = {n.name for n in trace.nodes if n.line == 7 and n.op is None}
    assert built >= {"MulBackward0", "AddBackward0"}
    assert all(n.line is not None for n in trace.nodes if n.kind != "accumulate")
