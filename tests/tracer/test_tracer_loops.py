"""Long loops stay bounded: detail for the first and last iterations, the loss curve in full."""

from __future__ import annotations

import pytest
import torch
from gradstage.schema import (
    AccumulateEvent,
    BackwardEvent,
    ErrorEvent,
    IterationEvent,
    NodeEvent,
    OpEvent,
    PrintEvent,
    SkippedEvent,
    decode,
    encode,
)
from gradstage.tracer import trace_program
from gradstage.tracer.build import fit_to_size

from tests.tracer.oracle import program, run_plainly

REGRESSION = """
import pytest
import torch
torch.manual_seed(0)
x = torch.rand(100, 1)
y = 3 * x + 2 + 0.1 * torch.randn(100, 1)
w = torch.randn(1, requires_grad=True)
b = torch.zeros(1, requires_grad=True)
losses = []
for i in range(1000):
    loss = ((x * w + b - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        w -= 0.1 * w.grad
        b -= 0.1 * b.grad
    w.grad.zero_()
    b.grad.zero_()
    losses.append(loss.item())
print(round(losses[-1], 6))
"""


def _plain_losses() -> list[float]:
    namespace: dict[str, object] = {"__name__": "__main__", "print": lambda *a, **k: None}
    exec(REGRESSION, namespace)
    losses = namespace["losses"]
    assert isinstance(losses, list)
    return losses


def test_a_thousand_iterations_stay_under_two_megabytes() -> None:
    trace = trace_program(REGRESSION)
    assert trace.error is None
    assert len(encode(trace)) < 2 * 1024 * 1024


def test_the_trace_says_which_iterations_were_left_out() -> None:
    trace = trace_program(REGRESSION)
    assert trace.truncated is not None
    assert trace.truncated.iterations_total == 1000
    assert trace.truncated.iterations_detailed == [0, 1, 2, 998, 999]
    skipped = [e for e in trace.events if isinstance(e, SkippedEvent)]
    assert len(skipped) == 1
    assert (skipped[0].first, skipped[0].last) == (3, 997)
    assert skipped[0].counts["backward"] == 995


def test_detailed_iterations_appear_in_order() -> None:
    trace = trace_program(REGRESSION)
    indices = [e.index for e in trace.events if isinstance(e, IterationEvent)]
    assert indices == [0, 1, 2, 998, 999]


def test_the_loss_curve_keeps_every_iteration_and_matches_pytorch() -> None:
    trace = trace_program(REGRESSION)
    loss = next(s for s in trace.series if s.source == "loss")
    assert loss.name == "loss"
    assert len(loss.y) == 1000
    expected = _plain_losses()
    got = torch.tensor([float(v) for v in loss.y])
    assert torch.allclose(got, torch.tensor(expected), rtol=1e-5, atol=1e-7)


def test_repeated_iterations_share_node_ids() -> None:
    trace = trace_program(REGRESSION)
    # One graph per iteration, all with the same structure: a handful of nodes, not thousands.
    assert len(trace.nodes) == 7  # x*w, +b, -y, **2, mean, and AccumulateGrad for w and b
    assert {n.instances for n in trace.nodes if n.name != "AccumulateGrad"} == {5}


def test_a_graph_that_really_grows_gets_new_nodes_each_iteration() -> None:
    source = """
import pytest
import torch
w = torch.tensor(2.0, requires_grad=True)
total = 0
for i in range(5):
    loss = (w * i) ** 2
    total += loss
print(total.grad_fn is not None)
"""
    trace = trace_program(source)
    adds = [n for n in trace.nodes if n.name == "AddBackward0"]
    assert trace.stdout == "True\n"
    assert len(adds) == 5


def test_a_nan_in_a_skipped_iteration_is_still_reported() -> None:
    trace = trace_program(REGRESSION.replace("0.1 *", "5.0 *"))
    anomalies = [e for e in trace.events if e.__class__.__name__ == "AnomalyEvent"]
    assert anomalies
    assert all(a.iteration is not None and 2 < a.iteration < 998 for a in anomalies[:1])


NESTED = """
import pytest
import torch
torch.manual_seed(0)
w = torch.tensor([1.0, 2.0], requires_grad=True)
xs = torch.randn(3, 4, 2)
losses = []
for epoch in range(3):
    for x in xs[epoch]:
        loss = ((w * x).sum() - 1.0) ** 2
        loss.backward()
        with torch.no_grad():
            w -= 0.1 * w.grad
        w.grad.zero_()
        losses.append(loss.item())
print(round(losses[-1], 6))
"""


def test_every_step_of_an_inner_loop_reuses_the_graph_of_the_first() -> None:
    trace = trace_program(NESTED)
    assert trace.error is None
    ops = [n for n in trace.nodes if n.name != "AccumulateGrad"]
    # w * x, .sum(), - 1.0, ** 2: one Node each, made 12 times (3 epochs x 4 steps).
    assert sorted(n.name for n in ops) == sorted(
        ["MulBackward0", "SumBackward0", "SubBackward0", "PowBackward0"]
    )
    assert {n.instances for n in ops} == {12}
    assert len({t.id for t in trace.tensors if t.name == "loss"}) == 1


def test_inner_loop_steps_keep_every_value_and_loss() -> None:
    trace = trace_program(NESTED)
    namespace: dict[str, object] = {"__name__": "__main__", "print": lambda *a, **k: None}
    exec(NESTED, namespace)
    expected = namespace["losses"]
    assert isinstance(expected, list)
    curve = next(s for s in trace.series if s.source == "loss")
    # The same float32 numbers, written with float32's digits (19.629864, not 19.629863739...).
    written = torch.tensor([float(v) for v in curve.y], dtype=torch.float32)
    assert torch.equal(written, torch.tensor(expected, dtype=torch.float32))
    assert all(len(repr(float(v))) <= 16 for v in curve.y)
    loss_id = next(t.id for t in trace.tensors if t.name == "loss")
    shown = [e.values[0] for e in trace.events if isinstance(e, OpEvent) and loss_id in e.outputs]
    values = torch.tensor([v.data for v in shown], dtype=torch.float32)
    assert torch.equal(values, torch.tensor([[v] for v in expected], dtype=torch.float32))


def test_only_the_outer_loop_groups_the_timeline() -> None:
    trace = trace_program(NESTED)
    indices = [e.index for e in trace.events if isinstance(e, IterationEvent)]
    assert indices == [0, 1, 2]
    assert trace.truncated is not None
    assert trace.truncated.iterations_total == 3


def test_what_an_inner_loop_makes_is_not_mistaken_for_what_follows_it() -> None:
    source = """
import pytest
import torch
w = torch.tensor([1.0, 2.0], requires_grad=True)

def double(t):
    return t * 2

kept = []
for epoch in range(2):
    for step in range(3):
        inside = double(w)
        kept.append(inside)
    after = double(w)
    kept.append(after)
print(len({id(t) for t in kept}))
"""
    trace = trace_program(source)
    assert trace.stdout == "8\n"
    inside = {t.id for t in trace.tensors if t.name == "inside"}
    after = {t.id for t in trace.tensors if t.name == "after"}
    assert len(inside) == 1
    assert len(after) == 1
    assert inside != after
    muls = [n for n in trace.nodes if n.name == "MulBackward0"]
    assert sorted(n.instances for n in muls) == [2, 6]


def test_a_loop_in_a_function_called_by_the_outer_loop_reuses_its_ids_too() -> None:
    source = """
import pytest
import torch
w = torch.tensor(3.0, requires_grad=True)

def run(steps):
    for _ in range(steps):
        y = (w * 2) ** 2
        y.backward()
    return y

for epoch in range(2):
    last = run(3)
print(w.grad.item())
"""
    trace = trace_program(source)
    assert trace.stdout == f"{6 * 2 * 2 * 3 * 2.0}\n"
    ops = [n for n in trace.nodes if n.name != "AccumulateGrad"]
    assert len(ops) == 2
    assert {n.instances for n in ops} == {6}
    indices = [e.index for e in trace.events if isinstance(e, IterationEvent)]
    assert indices == [0, 1]


def test_a_loop_left_by_return_or_break_ends_there() -> None:
    source = """
import pytest
import torch
w = torch.tensor(1.0, requires_grad=True)

def first_big(t):
    while True:
        t = t * 2
        if t.item() > 5:
            return t

a = first_big(w)
b = first_big(w)
for i in range(10):
    if i == 1:
        break
c = w * 2
d = w * 2
print(a.item(), b.item())
"""
    trace = trace_program(source)
    assert trace.stdout == "8.0 8.0\n"
    names = {t.name: t.id for t in trace.tensors if t.name}
    # a and b are distinct objects built at module level (not steps of one loop): two ids.
    assert names["a"] != names["b"]
    assert names["c"] != names["d"]


def _indented(source: str, header: str) -> str:
    """``source`` with its loop and what follows moved under ``header``."""
    before, loop, rest = source.partition("for i in range(1000):")
    body = "\n".join("    " + line if line else line for line in (loop + rest).splitlines())
    return f"{before}{header}\n{body}\n"


@pytest.mark.parametrize(
    "header",
    [
        'if __name__ == "__main__":',
        "with torch.enable_grad():",
        "try:",
    ],
)
def test_a_training_loop_under_if_with_or_try_groups_the_timeline(header: str) -> None:
    source = _indented(REGRESSION, header)
    if header == "try:":
        source += "except KeyboardInterrupt:\n    pass\n"
    trace = trace_program(source)
    assert trace.error is None
    assert trace.truncated is not None
    assert trace.truncated.iterations_total == 1000
    assert trace.truncated.iterations_detailed == [0, 1, 2, 998, 999]
    assert len(encode(trace)) < 2 * 1024 * 1024
    loss = next(s for s in trace.series if s.source == "loss")
    expected = _plain_losses()
    got = torch.tensor([float(v) for v in loss.y])
    assert torch.allclose(got, torch.tensor(expected), rtol=1e-5, atol=1e-7)


def test_a_loop_over_layers_in_a_modules_forward_does_not_group_the_timeline() -> None:
    source = """
import pytest
import torch
import torch.nn as nn

class Deep(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(3, 3) for _ in range(4)])

    def forward(self, x):
        for layer in self.layers:
            x = torch.tanh(layer(x))
        return x

model = Deep()
out = model(torch.ones(2, 3)).sum()
out.backward()
"""
    trace = trace_program(source)
    assert trace.error is None
    assert [e for e in trace.events if isinstance(e, IterationEvent)] == []


@pytest.mark.parametrize(
    ("stop", "last"),
    [
        ("    if loss.item() < 0.05:\n        break\n", "break"),
        ("    if loss.item() < 0.05:\n        return\n", "return"),
    ],
)
def test_a_loop_that_stops_early_keeps_the_iterations_it_really_ran_last(
    stop: str, last: str
) -> None:
    # range(5000) says nothing about where early stopping ends: the iterations before the stop
    # are the last ones, and must not have been skipped in advance.
    body = (
        "for step in range(5000):\n"
        "    loss = ((x * w - y) ** 2).mean()\n"
        "    loss.backward()\n"
        "    with torch.no_grad():\n"
        "        w.sub_(0.2 * w.grad)\n"
        "    w.grad = None\n" + stop
    )
    if last == "return":
        body = "def train():\n" + "".join(f"    {line}\n" for line in body.splitlines())
        body += "train()\n"
    source = (
        "import torch\nx = torch.linspace(0, 1, 10)\ny = 2 * x\n"
        "w = torch.zeros(1, requires_grad=True)\n" + body + "print('stopped')\n"
    )
    namespace: dict[str, object] = {}
    exec(source.replace("print('stopped')", "steps = step" if last == "break" else ""), namespace)
    trace = trace_program(source)
    assert trace.error is None
    assert trace.truncated is not None
    total = trace.truncated.iterations_total
    assert total < 5000
    assert trace.truncated.iterations_detailed == [0, 1, 2, total - 2, total - 1]
    if last == "break":
        assert total == namespace["steps"] + 1  # type: ignore[operator]


def test_a_break_in_an_inner_loop_does_not_make_the_outer_loop_stop_early() -> None:
    import ast

    from gradstage.tracer.loops import _may_stop_early

    def outer(source: str) -> bool:
        loop = next(n for n in ast.walk(ast.parse(source)) if isinstance(n, ast.For | ast.While))
        return _may_stop_early(loop)

    assert outer("for i in range(3):\n    if i:\n        break\n")
    assert not outer("for i in range(3):\n    for j in range(2):\n        break\n")
    assert outer(
        "for i in range(3):\n    for j in range(2):\n        pass\n    else:\n        break\n"
    )
    assert not outer("for i in range(3):\n    def f():\n        return 1\n")
    assert outer("def g():\n    for i in range(3):\n        while True:\n            return i\n")
    assert not outer("for i in range(3):\n    x = i\nelse:\n    pass\n")


def test_a_loop_of_unknown_length_turns_light_before_its_detail_costs_the_time_limit() -> None:
    # A while loop's last iterations are only known when it ends, so every iteration is
    # recorded in detail, but only while the run has used little of its CPU time: then the
    # rest is traced lightly (the loss curve still has every point) and the Trace says so.
    source = (
        "import torch\nw = torch.zeros(1, requires_grad=True)\nlosses = []\nstep = 0\n"
        "while step < 300:\n"
        "    loss = ((w - 3) ** 2).sum()\n"
        "    loss.backward()\n"
        "    with torch.no_grad():\n"
        "        w -= 0.01 * w.grad\n"
        "    w.grad = None\n"
        "    losses.append(loss.item())\n"
        "    step += 1\n"
    )
    roomy = trace_program(source)
    assert roomy.truncated is not None
    assert roomy.truncated.iterations_detailed == [0, 1, 2, 298, 299]
    tight = trace_program(source, cpu_seconds=1e-6)
    assert tight.error is None
    assert tight.truncated is not None
    assert tight.truncated.iterations_total == 300
    assert tight.truncated.iterations_detailed == [0, 1, 2]
    skipped = [e for e in tight.events if isinstance(e, SkippedEvent)]
    assert [(e.first, e.last) for e in skipped] == [(3, 299)]
    assert [len(s.y) for s in tight.series] == [len(s.y) for s in roomy.series] == [300]


def test_what_left_out_iterations_printed_is_kept_in_order_on_the_timeline() -> None:
    source = (
        "import sys\nimport torch\nw = torch.zeros(1, requires_grad=True)\n"
        "for step in range(100):\n"
        "    loss = ((w - 3) ** 2).sum()\n"
        "    loss.backward()\n"
        "    if step % 10 == 0:\n"
        "        print('step', step, end=' ')\n"
        "        print('grad', w.grad.item())\n"
        "    if step == 50:\n"
        "        print('halfway', file=sys.stderr)\n"
        "print('done')\n"
    )
    trace = trace_program(source)
    assert trace.truncated is not None
    assert trace.truncated.iterations_detailed[-1] == 99
    parts: dict[str, str] = {"stdout": "", "stderr": ""}
    for e in trace.events:
        if isinstance(e, PrintEvent):
            parts[e.stream] += e.text
        elif isinstance(e, SkippedEvent):
            for out in e.output:
                parts[out.stream] += out.text
    assert (parts["stdout"], parts["stderr"]) == (trace.stdout, trace.stderr)
    assert trace.stderr == "halfway\n"
    skipped = next(e for e in trace.events if isinstance(e, SkippedEvent))
    assert skipped.output[0].text.startswith("step 10 grad")


def test_the_loss_curve_has_what_the_program_backpropagates_not_torchs_own_helpers() -> None:
    # jacobian() and hessian() call autograd.grad on scalars of their own: not a loss.
    source = (
        "import torch\nfrom torch.autograd.functional import hessian, jacobian\n"
        "w = torch.ones(2, requires_grad=True)\n"
        "print(jacobian(lambda v: (v**2).sum(), torch.ones(2)))\n"
        "print(hessian(lambda v: (v**3).sum(), torch.ones(2)))\n"
        "for step in range(3):\n"
        "    loss = (w * 2).sum()\n"
        "    loss.backward()\n"
    )
    trace = trace_program(source)
    assert trace.error is None
    assert [(s.name, len(s.y)) for s in trace.series] == [("loss", 3)]


def test_past_the_node_limit_the_nodes_kept_are_those_the_events_show_and_both_ends() -> None:
    # 300 multiplications in a loop: backward runs 302 Nodes (with the sum's and x's
    # AccumulateGrad), more than the 60 a Trace may keep here.
    source = (
        "import torch\nx = torch.ones(2, requires_grad=True)\ny = x\nfor i in range(300):\n"
        "    y = y * 1.01\nloss = y.sum()\nloss.backward()\n"
    )
    trace = trace_program(source, max_nodes=60)
    assert trace.error is None
    assert trace.truncated is not None
    assert trace.truncated.limit_hit == "max_nodes"
    assert len(trace.nodes) == 60
    kept = {n.id for n in trace.nodes}
    assert trace.truncated.nodes_dropped == 302 - 60
    # Nothing the Trace says points at a Node it left out.
    for e in trace.events:
        node = getattr(e, "node", None)
        assert node is None or node in kept, e
    for edge in trace.edges:
        if edge.kind == "next":
            assert {edge.src, edge.dst} <= kept
    # The backward's root, the detailed iterations' ops and x's accumulation are kept.
    backward = next(e for e in trace.events if isinstance(e, BackwardEvent))
    assert set(backward.root_nodes) <= kept
    assert all(e.node in kept for e in trace.events if isinstance(e, OpEvent) and e.node)
    accumulate = next(e for e in trace.events if isinstance(e, AccumulateEvent))
    assert accumulate.node in kept
    # Of the Nodes backward ran, the first and the last stay, in the engine's order.
    ran = [e.node for e in trace.events if isinstance(e, NodeEvent)]
    assert ran[0] == backward.root_nodes[0]
    assert ran[-1] == accumulate.node
    full = trace_program(source)
    all_ran = [e.node for e in full.events if isinstance(e, NodeEvent)]
    assert len(all_ran) == 302
    assert ran == [n for n in all_ran if n in kept]
    assert ran[:10] == all_ran[:10]
    assert ran[-10:] == all_ran[-10:]
    assert trace.truncated.events_dropped - full.truncated.events_dropped == 302 - len(ran)
    # The gradient is still PyTorch's.
    assert full.truncated.limit_hit is None
    x = next(t for t in trace.tensors if t.name == "x")
    assert x.grad is not None
    assert x.grad.data == pytest.approx([1.01**300] * 2, rel=1e-5)


def test_a_trace_too_large_for_the_sandbox_keeps_its_first_events_and_its_error() -> None:
    source = (
        "import torch\ntorch.manual_seed(0)\nw = torch.randn(8, 8, requires_grad=True)\n"
        "for i in range(6):\n    loss = (w @ w).tanh().sum()\n    loss.backward()\n"
        "    with torch.no_grad():\n        w -= 0.01 * w.grad\n    w.grad = None\n"
        "raise ValueError('done')\n"
    )
    full = trace_program(source)
    size = len(encode(full))
    fitted = fit_to_size(full, size // 3)
    assert len(encode(fitted)) <= size // 3
    assert fit_to_size(full, size) is full
    kept = len(fitted.events) - 1
    assert 0 < kept < len(full.events) - 1
    assert encode(fitted.events[:kept]) == encode(
        full.events[:kept]
    )  # the first ones, as they were
    error = fitted.events[-1]
    assert isinstance(error, ErrorEvent)
    assert (error.seq, error.type, error.message) == (kept, "ValueError", "done")
    assert fitted.error == full.error
    assert fitted.truncated is not None
    assert full.truncated is not None
    assert fitted.truncated.limit_hit == "trace_bytes"
    assert fitted.truncated.events_dropped == full.truncated.events_dropped + (
        len(full.events) - 1 - kept
    )
    assert all(t.first_event is None or t.first_event < kept for t in fitted.tensors)
    assert decode(encode(fitted)) == fitted


def test_the_steps_of_an_inner_loop_keep_their_detail_for_the_first_and_last_only() -> None:
    trace = trace_program(program("epochs_of_minibatches").source)
    assert trace.error is None
    skipped = [e for e in trace.events if isinstance(e, SkippedEvent)]
    # Twelve mini-batches an epoch: steps 0-2 and 10-11 in detail, 3-9 left out, four times.
    assert [(e.first, e.last, e.loop_line) for e in skipped] == [(3, 9, 13)] * 4
    assert all(e.counts["backward"] == 7 for e in skipped)
    losses = next(s for s in trace.series if s.source == "loss")
    plain = run_plainly(program("epochs_of_minibatches").source)
    assert trace.stdout == plain.stdout
    assert len(losses.y) == 48
    backwards = [e for e in trace.events if isinstance(e, BackwardEvent)]
    assert len(backwards) == 4 * 5


def test_mini_batches_through_enumerate_and_zip_keep_their_first_and_last_steps_too() -> None:
    # enumerate() and zip() have no length of their own; what they go through has.
    source = program("epochs_of_minibatches").source.replace(
        "for start in range(0, 48, 4):\n"
        "        xb, yb = x[start : start + 4], y[start : start + 4]",
        "for i, (xb, yb) in enumerate(zip(x.split(4), y.split(4)), start=1):",
    )
    assert "enumerate" in source
    trace = trace_program(source)
    assert trace.error is None
    skipped = [e for e in trace.events if isinstance(e, SkippedEvent)]
    assert [(e.first, e.last, e.loop_line) for e in skipped] == [(3, 9, 13)] * 4
    assert trace.stdout == run_plainly(source).stdout


@pytest.mark.parametrize(
    ("loop", "printed"),
    [
        ("for i, v in enumerate('abc', 5):", "5 a\n6 b\n7 c\n"),
        ("for i, v in enumerate(iterable='ab'):", "0 a\n1 b\n"),
        ("for i, v in zip(*[[1, 2, 3], 'ab']):", "1 a\n2 b\n"),
        ("for i, v in zip((n for n in range(9)), 'xy'):", "0 x\n1 y\n"),
        ("for i, v in zip(range(2), enumerate('pq')):", "0 (0, 'p')\n1 (1, 'q')\n"),
    ],
)
def test_enumerate_and_zip_in_a_loop_give_what_they_give_plainly(loop: str, printed: str) -> None:
    source = f"{loop}\n    print(i, v)\n"
    trace = trace_program(source)
    assert trace.error is None
    assert trace.stdout == printed == run_plainly(source).stdout


def test_a_programs_own_enumerate_and_zips_errors_are_its_own() -> None:
    own = (
        "def enumerate(xs):\n    return [(9, x) for x in xs]\n"
        "for i, v in enumerate('ab'):\n    print(i, v)\n"
    )
    assert trace_program(own).stdout == "9 a\n9 b\n"
    strict = "for a, b in zip([1, 2], [3], strict=True):\n    print(a, b)\n"
    trace = trace_program(strict)
    assert trace.stdout == "1 3\n"
    assert trace.error is not None
    assert (trace.error.type, trace.error.line) == ("ValueError", 1)
    assert trace.error.message == "zip() argument 2 is shorter than argument 1"


def test_a_loop_over_layers_inside_the_training_loop_keeps_every_layer() -> None:
    # Its steps call no backward(): they are one forward pass, all of it worth seeing.
    source = (
        "import torch\nimport torch.nn as nn\ntorch.manual_seed(0)\n"
        "layers = [nn.Linear(2, 2) for _ in range(8)]\n"
        "opt = torch.optim.SGD([p for l in layers for p in l.parameters()], lr=0.1)\n"
        "x = torch.randn(4, 2)\nfor epoch in range(3):\n    h = x\n    for layer in layers:\n"
        "        h = torch.tanh(layer(h))\n    loss = h.pow(2).mean()\n    opt.zero_grad()\n"
        "    loss.backward()\n    opt.step()\n"
    )
    trace = trace_program(source)
    assert trace.error is None
    assert not any(isinstance(e, SkippedEvent) for e in trace.events)
    assert sum(1 for e in trace.events if isinstance(e, OpEvent) and e.op == "tanh") == 24
