"""End-to-end time of a lesson program through the sandbox, next to the in-process trace.

Prints p50/p99 latency of one program at a time through a warm pool, the throughput with the
pool busy, and the latency of honest programs while 20 hostile ones run at once.

    .venv/bin/python bench/sandbox_latency.py
"""

from __future__ import annotations

import asyncio
import statistics
import time

import torch
from gradstage.limits import Limits
from gradstage.sandbox import SandboxPool
from gradstage.tracer import trace_program

LESSON = """import torch
x = torch.tensor(2.0)
w = torch.tensor(0.5, requires_grad=True)
b = torch.tensor(0.1, requires_grad=True)
y = torch.tensor(3.0)
z = x * w + b
loss = (z - y) ** 2
loss.backward()
print(f"loss={loss.item():.4f} dw={w.grad.item():.4f} db={b.grad.item():.4f}")
"""

HOSTILE = [
    "while True:\n    pass",
    "import torch\nx = torch.ones(50_000_000_000)",
    "while True:\n    print('x' * 1000)",
    "import time\ntime.sleep(60)",
] * 5


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main() -> None:
    torch.set_num_threads(1)
    trace_program(LESSON)
    plain = []
    for _ in range(50):
        start = time.perf_counter()
        trace_program(LESSON)
        plain.append(time.perf_counter() - start)
    in_process = statistics.median(plain) * 1000

    pool = SandboxPool(Limits(), concurrency=4)
    await pool.start()
    try:
        for _ in range(5):
            await pool.run(LESSON)
        times = []
        for _ in range(200):
            start = time.perf_counter()
            trace = await pool.run(LESSON)
            times.append((time.perf_counter() - start) * 1000)
            assert trace.error is None
        p50, p99 = _pct(times, 0.5), _pct(times, 0.99)

        n = 200
        start = time.perf_counter()
        results = await asyncio.gather(*(pool.run(LESSON) for _ in range(n)))
        elapsed = time.perf_counter() - start
        assert all(t.error is None for t in results)

        hostile_start = time.perf_counter()
        bad = [asyncio.ensure_future(pool.run(src)) for src in HOSTILE]
        loaded = []
        while not all(b.done() for b in bad):
            start = time.perf_counter()
            trace = await pool.run(LESSON)
            loaded.append((time.perf_counter() - start) * 1000)
            assert trace.error is None
        stopped = [t.error.code for t in await asyncio.gather(*bad) if t.error]
        hostile_time = time.perf_counter() - hostile_start
    finally:
        await pool.close()

    print(f"in-process trace of the lesson (median of 50):  {in_process:6.1f} ms")
    print(f"through the sandbox, one at a time:  p50 {p50:6.1f} ms   p99 {p99:6.1f} ms")
    print(f"  p50 minus in-process:              {p50 - in_process:6.1f} ms")
    print(f"throughput, {n} programs, 4 at a time: {n / elapsed:6.1f} programs/s")
    counts = {code: stopped.count(code) for code in sorted(set(stopped), key=str)}
    print(f"20 hostile programs stopped in {hostile_time:.1f} s: {counts}")
    print(
        f"while they ran: {len(loaded)} honest runs, "
        f"p50 {_pct(loaded, 0.5):6.1f} ms   p99 {_pct(loaded, 0.99):6.1f} ms"
    )


if __name__ == "__main__":
    asyncio.run(main())
