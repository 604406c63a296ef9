"""``gradstage.show``: one self-contained player per notebook output, true to PyTorch."""

from __future__ import annotations

import contextlib
import io
import random
from collections import Counter
from pathlib import Path
from typing import Any

import gradstage
import msgspec
import pytest
import torch
from gradstage.schema import AccumulateEvent, NodeEvent, OpEvent, Trace

from tests.export.selfcontained import Document, assert_self_contained, parse

pytestmark = pytest.mark.xdist_group("export")

PROGRAM = """import torch
# 一个小程序：线性层与平方误差
torch.manual_seed(0)
w = torch.randn(3, requires_grad=True)
x = torch.tensor([1.0, 2.0, 3.0])
loss = ((w * x).sum() - 1.0) ** 2
loss.backward()
print("loss", loss.item())
print("w.grad", w.grad)
"""


def _srcdoc(output: str) -> Document:
    """The document inside the one iframe a notebook output is."""
    outer = parse(output)
    assert [name for name, _ in outer.tags] == ["iframe", "script"]  # the script fits the iframe
    attrs = outer.tags[0][1]
    assert "allow-same-origin" not in attrs["sandbox"]
    assert int(attrs["style"].split("height:")[1].split("px")[0]) >= 800
    return assert_self_contained(attrs["srcdoc"])


def _embedded_trace(doc: Document) -> Trace:
    return msgspec.convert(doc.boot()["trace"], Trace)


def _grad_fn_walk(root: Any) -> tuple[Counter[str], set[tuple[str, str, int]], list[Any]]:
    """Node names, next_functions links and leaves, walked as PyTorch has them."""
    names: Counter[str] = Counter()
    links: set[tuple[str, str, int]] = set()
    leaves: list[Any] = []
    seen: set[int] = set()
    stack = [root]
    while stack:
        fn = stack.pop()
        if id(fn) in seen:
            continue
        seen.add(id(fn))
        names[type(fn).__name__] += 1
        if hasattr(fn, "variable"):
            leaves.append(fn.variable)
        for i, (nxt, _) in enumerate(fn.next_functions):
            if nxt is not None:
                links.add((type(fn).__name__, type(nxt).__name__, i))
                stack.append(nxt)
    return names, links, leaves


def test_show_of_a_program_is_one_self_contained_player_of_its_trace() -> None:
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(PROGRAM, "program.py", "exec"), {})
    output = gradstage.show(PROGRAM)._repr_html_()
    doc = _srcdoc(output)
    assert doc.boot()["source"] == PROGRAM
    trace = _embedded_trace(doc)
    assert trace.error is None
    assert trace.stdout == printed.getvalue()


def test_show_of_a_program_leaves_the_notebooks_random_streams_alone() -> None:
    torch.manual_seed(1234)
    random.seed(99)
    expected = (torch.rand(3), random.random())
    torch.manual_seed(1234)
    random.seed(99)
    gradstage.show(PROGRAM)
    assert torch.equal(torch.rand(3), expected[0])
    assert random.random() == expected[1]


def test_show_of_a_tensor_draws_the_graph_pytorch_has_behind_it() -> None:
    x = torch.tensor([1.0, 2.0, 3.0])
    w = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    b = torch.tensor(0.25, requires_grad=True)
    z = (x * w).sum() + b
    loss = (torch.tanh(z) - 1.0) ** 2
    doc = _srcdoc(gradstage.show(loss)._repr_html_())
    trace = _embedded_trace(doc)

    names, links, leaves = _grad_fn_walk(loss.grad_fn)
    nodes = {n.id: n for n in trace.nodes}
    assert Counter(n.name for n in trace.nodes) == names
    traced_links = {
        (n.name, nodes[nf.node].name, i)
        for n in trace.nodes
        for i, nf in enumerate(n.next)
        if nf.node
    }
    assert traced_links == links
    tensors = {t.id: t for t in trace.tensors}
    for leaf, name in ((w, "w"), (b, "b")):
        assert any(v is leaf for v in leaves)
        traced = next(t for t in trace.tensors if t.name == name)
        assert traced.kind == "leaf"
        assert traced.value is not None
        assert traced.value.data == pytest.approx(leaf.flatten().tolist())
    root = next(t for t in trace.tensors if t.name == "loss")
    assert root.value is not None
    assert root.value.data == pytest.approx([loss.item()])
    # every op ran once forward, in an order where inputs come first
    ops = [e for e in trace.events if isinstance(e, OpEvent)]
    assert sorted(e.node or "" for e in ops) == sorted(
        n.id for n in trace.nodes if n.kind != "accumulate"
    )
    made_at = {t: e.seq for e in ops for t in e.outputs}
    for e in ops:
        for t in e.inputs:
            if t is not None and tensors[t].grad_fn is not None:
                assert made_at[t] < e.seq


def test_the_backward_walk_of_a_tensor_is_the_engines_and_leaves_grad_untouched() -> None:
    x = torch.tensor([1.0, 2.0, 3.0])
    w = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    b = torch.tensor(0.25, requires_grad=True)
    h = x * w
    h.retain_grad()
    loss = ((h.sum() + b) ** 2) * b
    expected = torch.autograd.grad(loss, [w, b], retain_graph=True)
    h.grad = None  # autograd.grad fills a retained grad too; show() must not
    trace = gradstage.show(loss).trace

    assert w.grad is None
    assert b.grad is None
    assert h.grad is None
    names = {t.id: t.name for t in trace.tensors}
    accumulated = {names[e.tensor]: e for e in trace.events if isinstance(e, AccumulateEvent)}
    assert set(accumulated) == {"w", "b"}
    for name, grad in zip(("w", "b"), expected, strict=True):
        event = accumulated[name]
        assert event.before is None
        assert event.delta is not None
        assert event.delta.data == pytest.approx(grad.flatten().tolist())
        assert event.after == event.delta
        final = next(t for t in trace.tensors if t.name == name).grad
        assert final is not None
        assert final.data == pytest.approx(grad.flatten().tolist())
    node_events = [e for e in trace.events if isinstance(e, NodeEvent)]
    assert Counter(e.node for e in node_events) == Counter(n.id for n in trace.nodes)
    # b feeds two Nodes: its AccumulateGrad runs once, after both
    b_acc = accumulated["b"]
    producers = {n.id for n in trace.nodes for nf in n.next if nf.node == b_acc.node}
    last_producer = max(e.seq for e in node_events if e.node in producers)
    assert last_producer < b_acc.seq


def test_a_leaf_with_a_grad_already_shows_what_backward_would_add() -> None:
    w = torch.tensor([1.0, -2.0], requires_grad=True)
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    before = w.grad.clone()
    trace = gradstage.show(loss).trace
    assert torch.equal(w.grad, before)
    (event,) = [e for e in trace.events if isinstance(e, AccumulateEvent)]
    assert event.before is not None
    assert event.before.data == before.tolist()
    assert event.delta is not None
    assert event.delta.data == (2 * w.detach()).tolist()
    assert event.after is not None
    assert event.after.data == (before + 2 * w.detach()).tolist()


def test_two_nodes_of_the_same_op_on_the_same_inputs_stay_two_nodes() -> None:
    w = torch.tensor(3.0, requires_grad=True)
    loss = w * 2 + w * 2
    trace = gradstage.show(loss).trace
    assert Counter(n.name for n in trace.nodes) == Counter(
        {"MulBackward0": 2, "AddBackward0": 1, "AccumulateGrad": 1}
    )


def test_module_parameters_are_named_after_the_notebooks_variables() -> None:
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 2)
    loss = net(torch.ones(1, 3)).pow(2).mean()
    trace = gradstage.show(loss).trace
    params = {t.name: t for t in trace.tensors if t.kind == "param"}
    assert set(params) == {"net.weight", "net.bias"}
    assert params["net.weight"].value is not None
    assert params["net.weight"].value.data == pytest.approx(net.weight.flatten().tolist())


def test_showing_the_same_tensor_twice_gives_the_same_trace() -> None:
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    loss = (w.exp() * w).sum()
    first, second = gradstage.show(loss).trace, gradstage.show(loss).trace
    assert [n.name for n in first.nodes] == [n.name for n in second.nodes]
    assert [type(e).__name__ for e in first.events] == [type(e).__name__ for e in second.events]


def test_a_graph_freed_by_backward_shows_pytorchs_error() -> None:
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    loss.backward()
    with pytest.raises(RuntimeError) as raised:
        torch.autograd.grad(loss, [w])
    player = gradstage.show(loss)
    assert player.trace.error is not None
    assert player.trace.error.type == "RuntimeError"
    assert player.trace.error.message == str(raised.value)
    # The learner called backward() once: the advice is about showing first, not about a
    # "first backward()" of theirs.
    assert player.trace.error.explanation is not None
    assert "before calling backward()" in player.trace.error.explanation
    assert "first backward" not in player.trace.error.explanation
    assert_self_contained(player.document)


def test_save_html_writes_the_standalone_player(tmp_path: Path) -> None:
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    player = gradstage.show((w * 3).sum(), view="grad_fn", lang="zh-CN")
    path = player.save_html(tmp_path / "graph.html")
    text = path.read_text("utf-8")
    assert text == player.document
    assert "about:srcdoc" not in text
    srcdoc = parse(player._repr_html_()).tags[0][1]["srcdoc"]
    assert '<base href="about:srcdoc">' in srcdoc, "the fragment stays inside the iframe"
    assert_self_contained(text)


def test_show_refuses_what_it_cannot_draw() -> None:
    with pytest.raises(TypeError, match="source"):
        gradstage.show(3.0)
    with pytest.raises(ValueError, match="no grad_fn"):
        gradstage.show(torch.ones(2, requires_grad=True))
    with pytest.raises(TypeError, match="unknown option"):
        gradstage.show("x = 1\n", colour="red")
