"""Every hostile program is stopped or contained, and the sandbox keeps serving.

For each program: the canary file's secret never appears in the response, the target path
outside the sandbox is never created, nothing connects to the loopback listener, and an honest
program traced right after still gives PyTorch's answer. The friendly pre-check is off: these
tests show what the sandbox itself holds.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest
from gradstage.limits import Limits
from gradstage.sandbox import SandboxPool
from gradstage.schema import encode

from tests.hostile.programs import HOSTILE

SECRET = "SECRET-canary-7f3a"
HONEST = (
    "import torch\nx = torch.tensor(3.0, requires_grad=True)\n(x ** 2).backward()\nprint(x.grad)\n"
)
LIMITS = Limits(cpu_seconds=3, wall_seconds=6, memory_bytes=512 << 20)


@pytest.fixture(scope="module")
def outside(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    base = tmp_path_factory.mktemp("outside")
    canary = base / "canary.txt"
    canary.write_text(SECRET)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.setblocking(False)
    yield {"canary": canary, "target": base / "pwned", "listener": listener}
    listener.close()


@pytest.fixture(scope="module")
def results(outside: dict[str, object]) -> dict[str, bytes]:
    """Run every hostile program, four at a time, through one pool; keep the raw responses."""
    listener = outside["listener"]
    assert isinstance(listener, socket.socket)
    port = listener.getsockname()[1]

    async def run_all() -> dict[str, bytes]:
        pool = SandboxPool(LIMITS, concurrency=4, use_precheck=False)
        await pool.start()
        try:
            names = sorted(HOSTILE)
            sources = [
                HOSTILE[n].format(CANARY=outside["canary"], TARGET=outside["target"], PORT=port)
                for n in names
            ]
            traces = await asyncio.gather(*(pool.run(s) for s in sources))
            out = {n: encode(t) for n, t in zip(names, traces, strict=True)}
            after = await pool.run(HONEST)
            out["__honest_after__"] = encode(after)
            return out
        finally:
            await pool.close()

    return asyncio.run(run_all())


def test_there_are_at_least_forty_hostile_programs() -> None:
    assert len(HOSTILE) >= 40


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_the_canary_is_never_read(name: str, results: dict[str, bytes]) -> None:
    assert SECRET.encode() not in results[name]


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_nothing_is_written_outside(
    name: str, results: dict[str, bytes], outside: dict[str, object]
) -> None:
    target = outside["target"]
    assert isinstance(target, Path)
    assert not target.exists()
    assert results[name]  # a response came back


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_every_response_is_a_valid_trace(name: str, results: dict[str, bytes]) -> None:
    trace = msgspec.json.decode(results[name])
    assert trace["schema_version"] == 1


def test_no_connection_reaches_the_loopback_listener(
    results: dict[str, bytes], outside: dict[str, object]
) -> None:
    listener = outside["listener"]
    assert isinstance(listener, socket.socket)
    with pytest.raises(BlockingIOError):
        listener.accept()


def test_an_honest_program_still_gets_pytorchs_answer_afterwards(results: dict[str, bytes]) -> None:
    trace = msgspec.json.decode(results["__honest_after__"])
    assert trace["error"] is None
    assert trace["stdout"] == "tensor(6.)\n"


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("cpu_loop", "time_limit"),
        ("sleeper", "time_limit"),
        ("tensor_bomb", "memory_limit"),
        ("print_flood", "output_limit"),
        ("os_exit", "crash"),
        ("ctypes_segfault", "crash"),
        ("open_builtin", "forbidden"),
        ("open_write", "forbidden"),
        ("torch_save", "forbidden"),
        ("save_best_model", "forbidden"),
    ],
)
def test_each_way_of_stopping_has_its_own_plain_error(
    name: str, code: str, results: dict[str, bytes]
) -> None:
    trace = msgspec.json.decode(results[name])
    assert trace["error"]["code"] == code
    assert trace["error"]["explanation"]
    assert " ()" not in trace["error"]["explanation"]  # a limit is named, not left blank


def test_a_program_that_catches_its_stop_is_still_stopped(results: dict[str, bytes]) -> None:
    # Its ``except BaseException: pass`` swallows the first stop: it is given up on then (or,
    # on a machine too busy to build its Trace in time, killed at the limit). See
    # tests/sandbox/test_pool.py for the Trace it sends.
    trace = msgspec.json.decode(results["caught_stop"])
    assert trace["error"]["code"] == "time_limit"


def test_output_printed_before_a_crash_is_kept(results: dict[str, bytes]) -> None:
    trace = msgspec.json.decode(results["os_exit"])
    assert trace["stdout"] == "before\n"


def test_forged_results_are_not_believed(results: dict[str, bytes]) -> None:
    trace = msgspec.json.decode(results["forge_fds"])
    assert trace["error"] is not None
    assert trace["stdout"] != "SECRET"
