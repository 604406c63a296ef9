"""The sandbox pool: honest programs get the same Trace as in-process, limits have plain errors."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Iterator

import pytest
from gradstage.limits import Limits
from gradstage.sandbox import SandboxPool, SandboxUnavailable
from gradstage.sandbox.pool import check_isolation
from gradstage.schema import Trace, encode
from gradstage.tracer import trace_program

from tests.tracer.test_tracer_errors import CHINESE_FLOOD

PROGRAM = """import torch
torch.manual_seed(0)
w = torch.randn(3, requires_grad=True)
x = torch.tensor([1.0, 2.0, 3.0])
loss = ((w * x).sum() - 1) ** 2
loss.backward()
print("grad", w.grad)
"""


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="module")
def pool(loop: asyncio.AbstractEventLoop) -> Iterator[SandboxPool]:
    pool = SandboxPool(Limits(cpu_seconds=2, wall_seconds=4), concurrency=2)
    loop.run_until_complete(pool.start())
    yield pool
    loop.run_until_complete(pool.close())


def _strip(trace: Trace) -> bytes:
    trace.meta.duration_ms = 0.0
    trace.meta.layers = {}
    return encode(trace)


def test_a_sandboxed_trace_equals_the_in_process_trace(
    pool: SandboxPool, loop: asyncio.AbstractEventLoop
) -> None:
    sandboxed = loop.run_until_complete(pool.run(PROGRAM))
    assert _strip(sandboxed) == _strip(trace_program(PROGRAM))


def test_the_trace_says_which_layers_held(
    pool: SandboxPool, loop: asyncio.AbstractEventLoop
) -> None:
    trace = loop.run_until_complete(pool.run(PROGRAM))
    assert trace.meta.layers == {"landlock": True, "seccomp": True, "rlimits": True}
    assert pool.layers()["namespaces"] is True
    assert pool.ready


def test_nothing_of_one_program_is_visible_to_the_next(
    pool: SandboxPool, loop: asyncio.AbstractEventLoop
) -> None:
    first = "import torch\ntorch.secret = 42\nleak = 'x'\n"
    second = "import torch\nprint(hasattr(torch, 'secret'), 'leak' in globals())\n"
    loop.run_until_complete(pool.run(first))
    trace = loop.run_until_complete(pool.run(second))
    assert trace.stdout == "False False\n"


def test_a_source_over_the_size_limit_is_refused_without_running(
    pool: SandboxPool, loop: asyncio.AbstractEventLoop
) -> None:
    trace = loop.run_until_complete(pool.run("x = 1\n" * 5000))
    assert trace.error is not None
    assert trace.error.code == "source_too_large"


def test_the_precheck_explains_a_blocked_import_at_its_line(
    pool: SandboxPool, loop: asyncio.AbstractEventLoop
) -> None:
    trace = loop.run_until_complete(pool.run("import torch\nimport os\n"))
    assert trace.error is not None
    assert (trace.error.code, trace.error.line) == ("forbidden", 2)
    assert trace.error.message == "imports of os are not available here"


def test_programs_refused_before_the_sandbox_are_counted_apart_from_its_runs(
    pool: SandboxPool, loop: asyncio.AbstractEventLoop
) -> None:
    before = pool.stats()
    loop.run_until_complete(pool.run("import os\n"))
    loop.run_until_complete(pool.run("x = 1\n" * 20_000))
    after = pool.stats()
    assert after["refused_forbidden"] == before.get("refused_forbidden", 0) + 1
    assert after["refused_source_too_large"] == before.get("refused_source_too_large", 0) + 1
    runs = {k: v for k, v in after.items() if k.startswith("outcome_")}
    assert runs == {k: v for k, v in before.items() if k.startswith("outcome_")}


def test_a_learners_exception_is_an_ordinary_trace_error(
    pool: SandboxPool, loop: asyncio.AbstractEventLoop
) -> None:
    trace = loop.run_until_complete(
        pool.run("import torch\nprint('hi')\ntorch.ones(2).backward()\n")
    )
    assert trace.stdout == "hi\n"
    assert trace.error is not None
    assert trace.error.code is None
    assert trace.error.line == 3


def test_chinese_output_over_the_limit_stops_at_its_line_with_the_graph_kept(
    pool: SandboxPool, loop: asyncio.AbstractEventLoop
) -> None:
    trace = loop.run_until_complete(pool.run(CHINESE_FLOOD))
    assert trace.error is not None
    assert (trace.error.code, trace.error.line) == ("output_limit", 6)
    assert trace.tensors
    assert trace.nodes
    assert "\ufffd" not in trace.stdout
    assert len(trace.stdout.encode()) <= Limits().stdout_bytes


def test_a_program_raising_keyboard_interrupt_gets_its_own_error(
    pool: SandboxPool, loop: asyncio.AbstractEventLoop
) -> None:
    trace = loop.run_until_complete(
        pool.run('import torch\nprint("training")\nraise KeyboardInterrupt\n')
    )
    assert trace.error is not None
    assert (trace.error.type, trace.error.line, trace.error.code) == ("KeyboardInterrupt", 3, None)
    assert trace.stdout == "training\n"


def test_a_loop_that_never_ends_is_stopped_at_its_line_with_its_graph(
    pool: SandboxPool, loop: asyncio.AbstractEventLoop
) -> None:
    source = "import torch\nw = torch.ones(2, requires_grad=True)\nwhile True:\n    y = w * 2\n"
    trace = loop.run_until_complete(pool.run(source))
    assert trace.error is not None
    assert trace.error.code == "time_limit"
    assert trace.error.line in (3, 4)  # the loop's line or its body's, wherever the timer fell
    assert trace.error.explanation
    assert any(t.name == "w" for t in trace.tensors)


def _alone_with_two_cpu_seconds(loop: asyncio.AbstractEventLoop, source: str) -> Trace:
    """The Trace of a program stopped by CPU time (a second before the limit), with wall-clock
    time to spare even on a busy machine, in a pool of its own."""
    pool = SandboxPool(Limits(cpu_seconds=2, wall_seconds=30), concurrency=1)
    loop.run_until_complete(pool.start())
    try:
        return loop.run_until_complete(pool.run(source))
    finally:
        loop.run_until_complete(pool.close())


def test_a_program_that_swallows_its_stop_sends_its_trace_from_where_it_was_given_up(
    loop: asyncio.AbstractEventLoop,
) -> None:
    # Its whole loop is inside the try, so the stop is always caught.
    source = (
        "import torch\nw = torch.ones(2, requires_grad=True)\ny = w * 2\nn = 0\n"
        "while True:\n    try:\n        while True:\n            n += 1\n"
        "    except BaseException:\n        pass\n"
    )
    trace = _alone_with_two_cpu_seconds(loop, source)
    assert trace.error is not None
    assert trace.error.code == "time_limit"
    assert trace.error.line in (5, 6, 7, 8, 9, 10)
    assert "caught" in (trace.error.explanation or "")
    assert {"w", "y"} <= {t.name for t in trace.tensors}


def test_a_program_stuck_in_one_long_torch_call_sends_its_trace_from_that_call(
    loop: asyncio.AbstractEventLoop,
) -> None:
    # One call of many seconds (about 80 products of 2000 x 2000 matrices): a signal's
    # handler cannot run inside it, so the watchdog thread gives the program up there.
    source = (
        "import torch\nw = torch.ones(2, requires_grad=True)\ny = w * 2\nprint('before')\n"
        "a = torch.rand(2000, 2000)\n"
        "b = torch.linalg.matrix_power(a, 2 ** 40)\n"
        "print('after')\n"
    )
    started = time.monotonic()
    trace = _alone_with_two_cpu_seconds(loop, source)
    elapsed = time.monotonic() - started
    assert trace.error is not None
    assert trace.error.code == "time_limit"
    assert trace.error.line == 6
    assert "one operation" in (trace.error.explanation or "")
    assert trace.error.explanation_zh
    assert trace.stdout == "before\n"
    assert {"w", "y", "a"} <= {t.name for t in trace.tensors}
    assert elapsed < 30  # sent by the program, not killed at the wall-clock limit


def test_honest_programs_keep_succeeding_while_twenty_hostile_ones_run(
    loop: asyncio.AbstractEventLoop,
) -> None:
    hostile = [
        "while True:\n    pass",
        "import torch\nx = torch.ones(50_000_000_000)",
        "while True:\n    print('x' * 1000)",
        "import time\ntime.sleep(60)",
    ] * 5

    async def scenario() -> tuple[list[Trace], list[Trace]]:
        pool = SandboxPool(Limits(cpu_seconds=2, wall_seconds=3), concurrency=4)
        await pool.start()
        try:
            bad = [asyncio.ensure_future(pool.run(src)) for src in hostile]
            good = []
            for _ in range(3):
                good.append(await pool.run(PROGRAM))
            return await asyncio.gather(*bad), good
        finally:
            await pool.close()

    bad, good = loop.run_until_complete(scenario())
    expected = trace_program(PROGRAM).stdout
    assert all(t.error is None and t.stdout == expected for t in good)
    assert {t.error.code for t in bad if t.error} <= {"time_limit", "memory_limit", "output_limit"}
    assert all(t.error is not None for t in bad)


def test_without_any_isolation_the_pool_refuses_unless_the_operator_opts_out() -> None:
    none = {"namespaces": False, "landlock": True, "seccomp": False}
    with pytest.raises(SandboxUnavailable):
        check_isolation(none, allow_unsandboxed=False)
    assert check_isolation(none, allow_unsandboxed=True) is False
    assert check_isolation({"namespaces": True}, allow_unsandboxed=False) is True
    assert check_isolation({"landlock": True, "seccomp": True}, allow_unsandboxed=False) is True


def test_a_killed_fork_server_is_replaced(
    pool: SandboxPool, loop: asyncio.AbstractEventLoop
) -> None:
    server = pool._server
    assert server is not None
    server.proc.kill()
    server.proc.wait()
    deadline = time.monotonic() + 10
    while server.alive and time.monotonic() < deadline:
        time.sleep(0.05)
    trace = loop.run_until_complete(pool.run(PROGRAM))
    assert trace.error is None
    assert pool._server is not server


OPTIMIZER_PROGRAM = """import torch
m = torch.nn.Linear(2, 1)
opt = torch.optim.Adam(m.parameters(), lr=0.1)
m(torch.ones(3, 2)).sum().backward()
opt.step()
print("stepped")
"""


def test_the_sandbox_keeps_its_own_tmp_when_the_server_has_tmp_on_its_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A server started from a script in /tmp has /tmp on sys.path. Binding it read-only into the
    # sandbox used to hide the sandbox's writable /tmp: importing torch._dynamo (which every
    # optimizer does) then failed, and every optimizer program with it.
    from gradstage.sandbox import bwrap

    monkeypatch.setattr(sys, "path", ["/tmp", "/", *sys.path])
    binds = bwrap._binds()
    bound = {binds[i + 2] for i, arg in enumerate(binds) if arg == "--ro-bind"}
    assert "/tmp" not in bound
    assert "/" not in bound
    loop = asyncio.new_event_loop()
    pool = SandboxPool(Limits(), concurrency=1)
    try:
        loop.run_until_complete(pool.start())
        trace = loop.run_until_complete(pool.run(OPTIMIZER_PROGRAM))
    finally:
        loop.run_until_complete(pool.close())
        loop.close()
    assert trace.error is None, trace.error
    assert trace.stdout == "stepped\n"


def test_tutorial_uses_of_sys_and_io_run_in_the_sandbox(
    pool: SandboxPool, loop: asyncio.AbstractEventLoop
) -> None:
    # torch.save into memory and sys.exit are everyday tutorial code, not escapes: the
    # precheck lets them through and the sandbox runs them as plain Python does.
    source = (
        "import io\nimport sys\nimport torch\n"
        "buffer = io.BytesIO()\n"
        "torch.save({'w': torch.arange(3.0)}, buffer)\n"
        "buffer.seek(0)\n"
        "print(torch.load(buffer)['w'])\n"
        "sys.stdout.flush()\n"
        "sys.exit(0)\n"
        "print('not reached')\n"
    )
    trace = loop.run_until_complete(pool.run(source))
    assert trace.error is None
    assert trace.stdout == "tensor([0., 1., 2.])\n"
