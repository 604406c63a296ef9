"""Load on a real server: many clients at once, half on the lessons (cached), half on new programs.

Starts ``gradstage serve`` on a free port (with its real sandbox), waits until it is ready and
has traced every lesson, then runs ``--clients`` concurrent clients for ``--seconds``:
the first half of the clients ask for the lessons' programs (served from the cache), the other
half send programs no one has sent before (each one a sandbox run). Every client has its own
address (X-Forwarded-For, which the server is told to trust), as a class of students would.

Prints throughput, p50/p99 latency per class, answers by status, and the server's resident
memory after 1,000 and after 10,000 requests.

    .venv/bin/python bench/load.py               # 50 clients, 60 s
    .venv/bin/python bench/load.py --seconds 10  # a quick look
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field

import httpx
from gradstage import lessons


@dataclass
class Tally:
    """What one class of requests got."""

    latencies: list[float] = field(default_factory=list)
    statuses: collections.Counter[str] = field(default_factory=collections.Counter)
    cache: collections.Counter[str] = field(default_factory=collections.Counter)


@dataclass
class Run:
    server_pid: int
    tallies: dict[str, Tally] = field(
        default_factory=lambda: {"cached": Tally(), "unique": Tally()}
    )
    done: int = 0
    rss_at: dict[int, int] = field(default_factory=dict)
    cache_at: dict[int, int] = field(default_factory=dict)

    def record(self, kind: str, status: str, seconds: float, served: str | None) -> None:
        tally = self.tallies[kind]
        tally.statuses[status] += 1
        if status == "200":
            tally.latencies.append(seconds)
        if served:
            tally.cache[served] += 1
        self.done += 1
        if self.done in (1_000, 10_000):
            self.rss_at[self.done] = rss_kib(self.server_pid)


def rss_kib(pid: int) -> int:
    """Resident memory of a process, from /proc (KiB)."""
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def unique_program(client: int, n: int) -> str:
    """A small honest program nobody has sent before (a new constant each time)."""
    return (
        "import torch\n"
        f"w = torch.tensor({client}.{n}, requires_grad=True)\n"
        "x = torch.tensor([1.0, 2.0, 3.0])\n"
        "loss = ((w * x).sum() - 1) ** 2\n"
        "loss.backward()\n"
        f"print('run {time.time_ns()}', w.grad)\n"
    )


async def client_loop(
    http: httpx.AsyncClient, run: Run, index: int, kind: str, until: float, programs: list[str]
) -> None:
    headers = {"x-forwarded-for": f"10.1.{index // 250}.{index % 250 + 1}"}
    n = 0
    while time.monotonic() < until:
        code = programs[n % len(programs)] if kind == "cached" else unique_program(index, n)
        n += 1
        start = time.perf_counter()
        try:
            response = await http.post("/api/trace", json={"code": code}, headers=headers)
            status, served = str(response.status_code), response.headers.get("x-gradstage-cache")
            if response.status_code in (429, 503):
                await asyncio.sleep(float(response.headers.get("retry-after", "1")))
        except httpx.HTTPError as exc:
            status, served = type(exc).__name__, None
        run.record(kind, status, time.perf_counter() - start, served)
        marks = [at for at in run.rss_at if at not in run.cache_at]
        if marks:
            # how much of the resident memory is the trace cache filling up (bounded by design)
            run.cache_at[marks[0]] = -1
            run.cache_at[marks[0]] = (await http.get("/api/status")).json()["cache"]["bytes"]


def sandbox_runs(url: str) -> float:
    """Programs the server's sandbox ran, from its metrics."""
    text = httpx.get(f"{url}/metrics").text
    return sum(
        float(line.split()[-1])
        for line in text.splitlines()
        if line.startswith("gradstage_sandbox_runs_total{")
    )


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def wait_ready(url: str, proc: subprocess.Popen[bytes], lessons_count: int) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=5) as http:
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise SystemExit("the server exited during start-up")
            try:
                status = (await http.get("/api/status")).json()
                if status["ready"] and status["cache"]["entries"] >= lessons_count:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.5)
    raise SystemExit("the server did not get ready")


async def load(url: str, run: Run, clients: int, seconds: float, programs: list[str]) -> float:
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as http:
        start = time.monotonic()
        until = start + seconds
        kinds = ["cached" if i < clients // 2 else "unique" for i in range(clients)]
        await asyncio.gather(
            *(client_loop(http, run, i, kinds[i], until, programs) for i in range(clients))
        )
        return time.monotonic() - start


def report(run: Run, elapsed: float, clients: int) -> None:
    total = sum(sum(t.statuses.values()) for t in run.tallies.values())
    print(f"{clients} clients, {elapsed:.1f} s, {total} requests, {total / elapsed:.1f} req/s")
    for kind, tally in run.tallies.items():
        count = sum(tally.statuses.values())
        ok = tally.latencies
        print(
            f"  {kind:7s} {count:7d} requests  {count / elapsed:8.1f} req/s  "
            f"p50 {percentile(ok, 0.50) * 1000:8.1f} ms  p99 {percentile(ok, 0.99) * 1000:8.1f} ms"
            f"  status {dict(sorted(tally.statuses.items()))}  served {dict(tally.cache)}"
        )
    errors = collections.Counter[str]()
    for tally in run.tallies.values():
        errors.update({k: v for k, v in tally.statuses.items() if k != "200"})
    print(f"  errors by status: {dict(errors) or 'none'}")
    for at in (1_000, 10_000):
        rss = run.rss_at.get(at)
        print(f"  server RSS after {at:6d} requests: " + (f"{rss / 1024:.1f} MiB" if rss else "-"))
    for at, cached in sorted(run.cache_at.items()):
        print(f"  trace cache after {at:6d} requests: {cached / (1 << 20):.1f} MiB")
    if len(run.rss_at) == 2:
        growth = run.rss_at[10_000] / run.rss_at[1_000] - 1
        print(f"  RSS growth from 1,000 to 10,000 requests: {growth * 100:+.1f}%")
        if len(run.cache_at) == 2:
            less = [run.rss_at[n] * 1024 - run.cache_at[n] for n in (1_000, 10_000)]
            print(f"  the same without the trace cache: {(less[1] / less[0] - 1) * 100:+.1f}%")


def server_side(log_name: str) -> None:
    """The server's own time per request (its access log), apart from the load generator's.

    The clients run in one Python process on the same two cores as the server and its sandbox:
    under load, their latency includes their own wait for the CPU.
    """
    times: dict[str, list[float]] = {"hit": [], "miss": []}
    with open(log_name) as log:
        for line in log:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("path") == "/api/trace" and entry.get("cache") in times:
                times[entry["cache"]].append(float(entry["ms"]))
    for served, ms in times.items():
        if ms:
            ms.sort()
            p50, p99 = ms[len(ms) // 2], ms[min(len(ms) - 1, int(len(ms) * 0.99))]
            print(f"  server's own time, cache {served}: p50 {p50:.1f} ms  p99 {p99:.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--clients", type=int, default=50)
    args = parser.parse_args()

    programs = [lesson.source for lesson in lessons.catalog()]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADSTAGE_")}
    env["GRADSTAGE_TRUST_FORWARDED_FOR"] = "1"
    log_fd, log_name = tempfile.mkstemp(prefix="gradstage-load-", suffix=".log")
    serve = [sys.executable, "-m", "gradstage.cli", "serve", "--host", "127.0.0.1"]
    proc = subprocess.Popen(
        [*serve, "--port", str(port)], env=env, stdout=log_fd, stderr=subprocess.STDOUT
    )
    os.close(log_fd)
    try:
        asyncio.run(wait_ready(url, proc, len(programs)))
        print(
            f"server pid {proc.pid} on {url}, default settings, {len(programs)} lessons cached;"
            f" log: {log_name}"
        )
        print(f"server RSS at start: {rss_kib(proc.pid) / 1024:.1f} MiB")
        run = Run(server_pid=proc.pid)
        elapsed = asyncio.run(load(url, run, args.clients, args.seconds, programs))
        report(run, elapsed, args.clients)
        print(f"  server RSS at the end: {rss_kib(proc.pid) / 1024:.1f} MiB")
        runs = sandbox_runs(url)
        print(f"  sandbox runs: {runs:.0f} ({runs / elapsed:.1f}/s, lesson warm-up included)")
        server_side(log_name)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
