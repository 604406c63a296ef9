"""Errors as a learner meets them: the right type and line, a plain explanation, tracebacks as a
plain run prints them, and everything recorded before the error kept."""

from __future__ import annotations

import contextlib
import io
import signal
import subprocess
import sys
import traceback

import msgspec
import pytest
import torch
from gradstage.schema import (
    AnomalyEvent,
    OpEvent,
    PrintEvent,
    SkippedEvent,
    Trace,
    WarningEvent,
)
from gradstage.tracer import trace_program
from gradstage.tracer.explain import NAN_EXPLANATION


def _plain_stderr(source: str) -> str:
    """What the program writes to stderr run plainly, compiled under the tracer's file name."""
    err = io.StringIO()
    code = compile(source, "<program>", "exec")
    import linecache

    linecache.cache["<program>"] = (len(source), None, source.splitlines(True), "<program>")
    try:
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            exec(code, {"__name__": "__main__"})
    finally:
        linecache.cache.pop("<program>", None)
    return err.getvalue()


def test_a_program_raising_keyboard_interrupt_is_its_error_with_the_trace_kept() -> None:
    source = """
import torch
w = torch.tensor(2.0, requires_grad=True)
for step in range(3):
    loss = (w * 3 - 1) ** 2
    loss.backward()
    print("step", step)
    if step == 1:
        raise KeyboardInterrupt("stop")
"""
    trace = trace_program(source)
    assert trace.error is not None
    assert (trace.error.type, trace.error.message, trace.error.line) == (
        "KeyboardInterrupt",
        "stop",
        9,
    )
    assert trace.error.explanation is not None
    assert trace.stdout == "step 0\nstep 1\n"
    assert any(isinstance(e, OpEvent) for e in trace.events)
    w = next(t for t in trace.tensors if t.name == "w")
    assert w.grad is not None
    assert w.grad.data == [60.0]  # two backward passes of 2 * (3w - 1) * 3 at w = 2


def test_a_keyboard_interrupt_not_raised_by_the_program_still_stops_the_tool() -> None:
    # Ctrl-C arrives inside a call (here: a function of the caller's namespace raising it, as
    # a signal handler would), not at a raise statement of the program.
    def interrupted() -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        trace_program("print('working')\ninterrupted()\n", namespace={"interrupted": interrupted})


def test_a_null_byte_in_the_source_is_reported_at_its_line() -> None:
    trace = trace_program("x = 1\ny = 2\x00\nz = 3\n")
    assert trace.error is not None
    assert (trace.error.type, trace.error.line) == ("SyntaxError", 2)


@pytest.mark.parametrize(
    ("source", "error_type", "line"),
    [
        ("import torch\nx = torch.tensor([1, 2, 3], requires_grad=True)\n", "RuntimeError", 2),
        ("import torch\nt = torch.ones(3)\nprint(t.item())\n", "RuntimeError", 3),
        (
            "import torch\nlayer = torch.nn.Linear(2, 1)\n"
            "layer(torch.ones(1, 2, dtype=torch.float64))\n",
            "RuntimeError",
            3,
        ),
        ("import torch\nx = torch.ones(2, device='cuda')\n", "AssertionError", 2),
        ("x = float(input())\n", "EOFError", 1),
        ("import torch\nw = torch.ones(2, requires_grad=True)\nw.grad.zero_()\n", None, 3),
        ("if True:\n        x = 1\n\ty = 2\n", "TabError", 3),
        ("import torch\nx = torch.ones(3)\ny = x @ torch.ones(2)\n", "RuntimeError", 3),
        ("import torch\nx = torch.ones(6).view(4, 2)\n", "RuntimeError", 2),
        ("import numpy\nx = numpy.loadtxt('data.txt')\n", "FileNotFoundError", 2),
        # Sequence models and friends.
        ("import torch\nemb = torch.nn.Embedding(4, 2)\nemb(torch.tensor([1, 4]))\n", None, 3),
        (
            "import torch\nx = torch.zeros(3)\nx.masked_fill(torch.tensor([1, 0, 1]), 1.0)\n",
            None,
            3,
        ),
        ("import torch\nlstm = torch.nn.LSTM(3, 4)\nlstm(torch.randn(5, 1, 2))\n", None, 3),
        (
            "import torch\nfrom torch.nn.utils.rnn import pack_padded_sequence\n"
            "pack_padded_sequence(torch.randn(2, 3, 1), torch.tensor([2, 3]), batch_first=True)\n",
            None,
            3,
        ),
        ("import torch\nattn = torch.nn.MultiheadAttention(5, 2)\n", None, 2),
        ("import torch\nx = torch.linalg.solve(torch.zeros(2, 2), torch.ones(2))\n", None, 2),
        (
            "import torch\nlogits = torch.randn(2, 3)\n"
            "torch.nn.functional.cross_entropy(logits, torch.tensor([0, 3]))\n",
            None,
            3,
        ),
        (
            "import torch\nlogits = torch.randn(2, 3)\n"
            "torch.nn.functional.cross_entropy(logits, torch.tensor([0.0, 1.0]))\n",
            None,
            3,
        ),
        ("import torch\nx = torch.zeros(3)\nprint(x[5])\n", None, 3),
        ("import torch\ntorch.cat([torch.zeros(2, 3), torch.zeros(3, 2)])\n", None, 2),
    ],
)
def test_common_mistakes_have_a_plain_explanation(
    source: str, error_type: str | None, line: int
) -> None:
    trace = trace_program(source)
    assert trace.error is not None
    if error_type is not None:
        assert trace.error.type == error_type
    assert trace.error.line == line
    assert trace.error.explanation, trace.error.message
    # What PyTorch raised, word for word, as a plain run raises it (input() would read the
    # test runner's own input).
    if "input()" not in source:
        plain: BaseException | None = None
        try:
            exec(compile(source, "<plain>", "exec"), {"__name__": "__main__"})
        except BaseException as exc:
            plain = exc
        assert plain is not None
        message = plain.msg if isinstance(plain, SyntaxError) else str(plain)
        assert (type(plain).__name__, message) == (trace.error.type, trace.error.message)


def test_a_traceback_the_program_prints_is_the_plain_one() -> None:
    source = """import torch, traceback
def f(a):
    return a @ torch.ones(3)
try:
    f(torch.ones(2))
except RuntimeError:
    traceback.print_exc()
print(len(traceback.format_stack()))
"""
    trace = trace_program(source)
    assert trace.error is None
    assert trace.stderr == _plain_stderr(source)
    assert '  File "<program>", line 3, in f\n    return a @ torch.ones(3)\n' in trace.stderr
    assert "gradstage" not in trace.stderr
    assert trace.stdout == "1\n"  # the program's own frame only, as in a plain run
    # Nothing is left patched after the run.
    assert "gradstage" in "".join(traceback.format_stack())


def test_anomaly_modes_forward_stack_names_only_the_programs_lines() -> None:
    source = """import torch
x = torch.tensor([0.0, 1.0], requires_grad=True)
with torch.autograd.detect_anomaly():
    y = torch.sqrt(x) * 0
    try:
        y.sum().backward()
    except RuntimeError as e:
        print("stopped")
"""
    trace = trace_program(source)
    assert trace.stdout == "stopped\n"
    stacks = [e.message for e in trace.events if type(e).__name__ == "WarningEvent"]
    assert stacks, "anomaly mode warns with the forward call's stack"
    assert all("gradstage" not in m and "runpy" not in m for m in stacks)
    assert any('File "<program>", line 4' in m for m in stacks)


def test_an_overflowing_gradient_is_explained_as_an_overflow() -> None:
    source = """import torch
x = torch.tensor(1e-30, requires_grad=True)
y = x
for _ in range(5):
    y = y * 1e10
y.backward()
print(x.grad)
"""
    trace = trace_program(source)
    assert trace.stdout == "tensor(inf)\n"
    anomalies = [e for e in trace.events if isinstance(e, AnomalyEvent)]
    assert [(a.phase, a.what) for a in anomalies] == [("backward", "inf")]
    assert anomalies[0].explanation == NAN_EXPLANATION["overflow"]
    # An infinite derivative is not an overflow.
    singular = trace_program(
        "import torch\nx = torch.zeros(1, requires_grad=True)\ntorch.sqrt(x).sum().backward()\n"
    )
    (anomaly,) = [e for e in singular.events if isinstance(e, AnomalyEvent)]
    assert anomaly.explanation == NAN_EXPLANATION["backward"]


# A training loop printing Chinese text (three bytes a character) and an emoji (four) until the
# output limit stops it, at line 6.
CHINESE_FLOOD = """import torch
w = torch.tensor(1.0, requires_grad=True)
for i in range(100000):
    loss = (w * 3 - 1) ** 2
    loss.backward()
    print(f"第{i}步 损失={loss.item():.4f}🔥")
"""


def test_printed_output_is_capped_in_bytes_and_cut_between_characters() -> None:
    trace = trace_program(CHINESE_FLOOD, stdout_bytes=2000)
    assert trace.error is not None
    assert (trace.error.code, trace.error.line) == ("output_limit", 6)
    data = trace.stdout.encode()
    assert 2000 - 4 < len(data) <= 2000  # at most one character short of the cap
    assert trace.stdout.startswith("第0步 损失=4.0000🔥\n第1步")
    assert trace.truncated is not None
    assert trace.truncated.stdout_bytes_dropped > 0
    printed = []  # the console's text: printed events, and what left-out iterations printed
    for e in trace.events:
        if isinstance(e, PrintEvent):
            printed.append(e.text)
        elif isinstance(e, SkippedEvent):
            printed += [o.text for o in e.output or []]
    assert "".join(printed) == trace.stdout
    assert torch.is_grad_enabled()


def test_a_program_stopped_in_time_keeps_its_line_and_its_graph() -> None:
    source = "import torch\nx = torch.zeros(1)\nwhile True:\n    x = x + 1\n"
    trace = trace_program(source, cpu_seconds=0.5, stop_in_time=True)
    assert trace.error is not None
    assert (trace.error.type, trace.error.code) == ("TimeLimitExceeded", "time_limit")
    assert trace.error.line in (3, 4)  # the loop's line or its body's, wherever the timer fell
    assert any(t.name == "x" for t in trace.tensors)
    assert any(isinstance(e, OpEvent) and e.op == "add" for e in trace.events)
    # A sleep is stopped by the wall clock; the timers and their handlers are put back after.
    before = (signal.getsignal(signal.SIGPROF), signal.getsignal(signal.SIGALRM))
    slept = trace_program(
        "import time\nprint('waiting')\ntime.sleep(60)\n", wall_seconds=0.5, stop_in_time=True
    )
    assert slept.error is not None
    assert (slept.error.code, slept.error.line, slept.stdout) == ("time_limit", 3, "waiting\n")
    assert (signal.getsignal(signal.SIGPROF), signal.getsignal(signal.SIGALRM)) == before
    assert signal.getitimer(signal.ITIMER_PROF) == (0.0, 0.0)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


# A process that traces a program which swallows its stop, as a sandbox child does: the Trace
# handed to on_stuck is printed, and the process ends there.
STUCK_RUNNER = """
import os, sys
from gradstage.schema import encode
from gradstage.tracer import trace_program

def send_and_exit(trace):
    sys.__stdout__.buffer.write(encode(trace))
    sys.__stdout__.flush()
    os._exit(0)

trace_program(sys.stdin.read(), cpu_seconds=0.5, stop_in_time=True, on_stuck=send_and_exit)
print("on_stuck was not called", file=sys.__stderr__)
"""


@pytest.mark.parametrize(
    "handler",
    ["    except:\n        pass\n", "    except BaseException as e:\n        print('caught')\n"],
)
def test_a_program_that_swallows_its_stop_is_given_up_on_with_its_trace(handler: str) -> None:
    # The whole inner loop is inside the try: wherever the stop falls, it is caught.
    source = (
        "import torch\nw = torch.zeros(1, requires_grad=True)\nwhile True:\n    try:\n"
        "        while True:\n            loss = (w - 1) ** 2\n            loss.backward()\n"
        + handler
    )
    run = subprocess.run(
        [sys.executable, "-c", STUCK_RUNNER],
        input=source.encode(),
        capture_output=True,
        timeout=60,
        check=True,
    )
    assert run.stderr == b""
    trace = msgspec.json.decode(run.stdout, type=Trace)
    assert trace.error is not None
    assert (trace.error.type, trace.error.code) == ("TimeLimitExceeded", "time_limit")
    assert trace.error.line in (3, 4, 5, 6, 7, 8, 9)  # in its loops, wherever the timer fell
    assert "caught" in (trace.error.explanation or "")
    assert any(t.name == "loss" for t in trace.tensors)
    if "print" in handler:
        assert trace.stdout.startswith("caught\n")


def test_a_program_that_ends_after_catching_its_stop_keeps_what_it_did_after() -> None:
    source = (
        "import torch\nx = torch.zeros(1)\ntry:\n    while True:\n        x = x + 1\n"
        "except BaseException as e:\n    print(type(e).__name__)\ny = x * 2\n"
    )
    trace = trace_program(source, cpu_seconds=0.5, stop_in_time=True)
    assert trace.error is None  # it handled its stop and ended on its own
    assert trace.stdout == "TimeLimitExceeded\n"
    assert any(t.name == "y" for t in trace.tensors)
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


def test_without_stop_in_time_a_program_runs_past_the_limits() -> None:
    source = (
        "import time\nt = time.perf_counter()\nwhile time.perf_counter() - t < 0.3:\n    pass\n"
    )
    trace = trace_program(source, cpu_seconds=0.1, wall_seconds=0.1)
    assert trace.error is None


def test_a_traceback_through_backward_shows_the_frames_a_plain_run_shows() -> None:
    source = """import torch, traceback
x = torch.ones(2, requires_grad=True)
y = (x * 2).sum()
y.backward()
try:
    y.backward()
except RuntimeError:
    traceback.print_exc()
"""
    trace = trace_program(source)
    assert trace.stderr == _plain_stderr(source)
    assert "handle_torch_function" not in trace.stderr


MODULE = (
    "class M(torch.nn.Module):\n    def forward(self, x):\n        return (x.sin() ** 2).sum()\n"
)


@pytest.mark.parametrize(
    ("compiled", "line"),
    [
        ("f = torch.compile(lambda x: (x.sin() ** 2).sum())\n", 2),
        ("@torch.compile\ndef f(x):\n    return (x.sin() ** 2).sum()\n", 2),
        (
            "@torch.compile(mode='reduce-overhead', fullgraph=True)\ndef f(x):\n"
            "    return (x.sin() ** 2).sum()\n",
            2,
        ),
        (MODULE + "f = torch.compile(M())\n", 5),
        (MODULE + "f = M()\nf.compile()\n", 6),
    ],
)
def test_torch_compile_runs_the_program_eagerly_and_says_so(compiled: str, line: int) -> None:
    source = (
        "import torch\n" + compiled + "x = torch.tensor([0.5, 1.0], requires_grad=True)\n"
        "y = f(x)\nprint(y.shape)\ny.backward()\nprint(x.grad)\n"
    )
    x = torch.tensor([0.5, 1.0], requires_grad=True)
    (x.sin() ** 2).sum().backward()
    assert x.grad is not None
    trace = trace_program(source)
    assert trace.error is None
    assert trace.stdout == f"torch.Size([])\n{x.grad}\n"
    warned = [e for e in trace.events if isinstance(e, WarningEvent)]
    assert len(warned) == 1
    assert warned[0].message.startswith("torch.compile is not used here")
    assert warned[0].line == line
    assert warned[0].explanation is not None
    assert torch.compile.__module__.startswith("torch")  # given back after the run


def test_deprecations_inside_torch_are_not_the_programs_but_its_own_are() -> None:
    source = (
        "import warnings\nimport torch\nimport torch.autograd.forward_ad as fwAD\n"
        "from torch.func import grad\n"
        "with fwAD.dual_level():\n"
        "    y = fwAD.make_dual(torch.tensor(1.0), torch.tensor(1.0)).sin()\n"
        "print(grad(torch.sin)(torch.tensor(0.0)))\n"
        "warnings.warn('old_api() is deprecated', DeprecationWarning)\n"
    )
    first, second = trace_program(source), trace_program(source)
    for trace in (first, second):
        warned = [e for e in trace.events if isinstance(e, WarningEvent)]
        assert [(e.category, e.message, e.line) for e in warned] == [
            ("DeprecationWarning", "old_api() is deprecated", 8)
        ]


def test_the_stop_leaves_a_second_to_build_and_send_the_trace_when_it_can() -> None:
    from gradstage.tracer.program import _stop_at

    assert [_stop_at(t) for t in (30.0, 10.0, 5.0, 3.0, 1.0)] == [27.0, 9.0, 4.0, 2.0, 0.5]
