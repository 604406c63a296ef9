"""The server's side of the sandbox: fork servers kept warm, programs sent to them, results read.

``SandboxPool`` implements the ``Runner`` protocol. Runs are blocking I/O on pipes, so each is
served on a thread of a small executor and awaited from asyncio; at most ``concurrency`` run at
once (the caller queues in front of it).
"""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import json
import logging
import os
import select
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import msgspec

from gradstage.limits import Limits
from gradstage.sandbox import bwrap
from gradstage.sandbox.outcome import classify_program_error, error_trace, validate
from gradstage.sandbox.precheck import precheck
from gradstage.schema import SCHEMA_VERSION, ErrorEvent, Meta, Trace

log = logging.getLogger("gradstage.sandbox")


class SandboxUnavailable(RuntimeError):
    """No isolation layer works here and the operator did not opt out."""


@dataclass
class _Pending:
    done: threading.Event = field(default_factory=threading.Event)
    exit: dict[str, Any] | None = None


class _ForkServer:
    """One warm fork server process and its control socket."""

    def __init__(self, use_bwrap: bool) -> None:
        parent, child = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        args = ["-m", "gradstage.sandbox.forkserver", str(child.fileno())]
        cmd = bwrap.command(args) if use_bwrap else [sys.executable, *args]
        env = None if use_bwrap else {**os.environ, "OMP_NUM_THREADS": "1"}
        self.proc = subprocess.Popen(
            cmd,
            pass_fds=[child.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            env=env,
            start_new_session=True,
        )
        child.close()
        self.sock = parent
        self.ready = threading.Event()
        self.alive = True
        self.pending: dict[int, _Pending] = {}
        self.lock = threading.Lock()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        # The fork server's own stderr (its children write to their result pipes) is drained,
        # so it can never fill up and stall the server; the tail explains a failed start.
        self.stderr_tail = b""
        self.drain = threading.Thread(target=self._drain_stderr, daemon=True)
        self.drain.start()

    def _drain_stderr(self) -> None:
        stream = self.proc.stderr
        if stream is None:
            return
        fd = stream.fileno()
        with contextlib.suppress(OSError, ValueError):
            for chunk in iter(lambda: os.read(fd, 4096), b""):
                self.stderr_tail = (self.stderr_tail + chunk)[-2000:]

    def _read(self) -> None:
        while True:
            try:
                data = self.sock.recv(1 << 16)
            except OSError:
                data = b""
            if not data:
                break
            try:
                msg = json.loads(data)
            except ValueError:
                continue
            if msg.get("op") == "ready":
                self.ready.set()
            elif msg.get("op") == "exit":
                with self.lock:
                    slot = self.pending.get(int(msg["id"]))
                if slot is not None:
                    slot.exit = msg
                    slot.done.set()
        self.alive = False
        self.ready.clear()
        with self.lock:
            for slot in self.pending.values():
                slot.done.set()

    def send(self, msg: dict[str, Any], fds: list[int] | None = None) -> None:
        data = json.dumps(msg).encode()
        if fds:
            socket.send_fds(self.sock, [data], fds)
        else:
            self.sock.send(data)

    def stop(self) -> None:
        self.alive = False
        try:
            self.sock.close()
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait(timeout=10)
            self.drain.join(timeout=2)
            if self.proc.stderr is not None:
                self.proc.stderr.close()


class SandboxPool:
    """Runs programs in locked-down children of warm, namespaced fork servers."""

    def __init__(
        self,
        limits: Limits | None = None,
        concurrency: int = 2,
        *,
        allow_unsandboxed: bool = False,
        use_precheck: bool = True,
        start_timeout: float = 120.0,
    ) -> None:
        self.limits = limits or Limits()
        self.concurrency = max(1, concurrency)
        self.allow_unsandboxed = allow_unsandboxed
        self.use_precheck = use_precheck
        self.start_timeout = start_timeout
        self._server: _ForkServer | None = None
        self._use_bwrap = False
        self._layers: dict[str, object] = {}
        self._ids = 0
        self._ids_lock = threading.Lock()
        self._spawn_lock = threading.Lock()
        self._executor = ThreadPoolExecutor(self.concurrency, thread_name_prefix="sandbox")
        self._slots = asyncio.Semaphore(self.concurrency)
        self.counters: Counter[str] = Counter()
        self.running = 0

    # ------------------------------------------------------------------ lifecycle

    def detect(self) -> dict[str, object]:
        """Find which isolation layers this host allows; refuse if none and no opt-out."""
        ok, why = bwrap.available()
        self._use_bwrap = ok
        probe = _probe_child_layers()
        layers: dict[str, object] = {
            "namespaces": ok,
            "namespaces_detail": why,
            "landlock": probe.get("landlock", False),
            "seccomp": probe.get("seccomp", False),
            "rlimits": True,
            "wall_clock_kill": True,
            "separate_process": True,
        }
        layers["isolated"] = check_isolation(layers, self.allow_unsandboxed)
        self._layers = layers
        log.info(
            "sandbox layers: %s", {k: v for k, v in layers.items() if k != "namespaces_detail"}
        )
        return layers

    def start_blocking(self) -> None:
        """Detect layers and start a warm fork server (blocks until it is ready)."""
        if not self._layers:
            self.detect()
        self._spawn()

    async def start(self) -> None:
        """Start workers and wait until one is warm."""
        await asyncio.get_running_loop().run_in_executor(None, self.start_blocking)

    def _spawn(self) -> _ForkServer:
        with self._spawn_lock:
            server = self._server
            if server is not None and server.alive:
                return server
            if server is not None:
                server.stop()
            server = _ForkServer(self._use_bwrap)
            if not server.ready.wait(self.start_timeout):
                server.stop()
                raise SandboxUnavailable(f"fork server did not start: {server.stderr_tail!r}")
            self._server = server
            self.counters["workers_started"] += 1
            return server

    async def close(self) -> None:
        """Stop the fork server."""
        if self._server is not None:
            self._server.stop()
            self._server = None
        self._executor.shutdown(wait=False, cancel_futures=True)

    @property
    def ready(self) -> bool:
        """True when a warm fork server is waiting."""
        return self._server is not None and self._server.alive and self._server.ready.is_set()

    def layers(self) -> dict[str, object]:
        """Active isolation layers."""
        return dict(self._layers)

    def stats(self) -> dict[str, int]:
        """Counters for metrics: outcomes, refusals, kills by reason, workers started, running."""
        return {**self.counters, "running": self.running}

    # ------------------------------------------------------------------ runs

    async def run(self, source: str, limits: Limits | None = None) -> Trace:
        """Trace ``source`` in a sandboxed child; never raises for the program's own faults."""
        limits = limits or self.limits
        # Refused here, these never reach a worker: counted apart from the runs' outcomes.
        if len(source.encode()) > limits.source_bytes:
            self.counters["refused_source_too_large"] += 1
            return error_trace("source_too_large", limits)
        if self.use_precheck:
            refused = precheck(source)
            if refused is not None:
                self.counters["refused_forbidden"] += 1
                return _refusal(refused)
        async with self._slots:
            self.running += 1
            try:
                loop = asyncio.get_running_loop()
                return await loop.run_in_executor(self._executor, self.run_blocking, source, limits)
            finally:
                self.running -= 1

    def run_blocking(self, source: str, limits: Limits) -> Trace:
        """One run, start to finish, on the calling thread."""
        try:
            server = self._spawn()
        except SandboxUnavailable:
            self.counters["outcome_unavailable"] += 1
            return error_trace("unavailable", limits)
        with self._ids_lock:
            self._ids += 1
            rid = self._ids
        slot = _Pending()
        with server.lock:
            server.pending[rid] = slot
        trace_r, trace_w = os.pipe()
        out_r, out_w = os.pipe()
        try:
            try:
                server.send(
                    {
                        "op": "run",
                        "id": rid,
                        "source": source,
                        "limits": msgspec.to_builtins(limits),
                    },
                    [trace_w, out_w],
                )
            finally:
                os.close(trace_w)
                os.close(out_w)
            reason, result, stdout = self._collect(server, rid, trace_r, out_r, limits)
            slot.done.wait(5.0)
        finally:
            os.close(trace_r)
            os.close(out_r)
            with server.lock:
                server.pending.pop(rid, None)
        exit_info = slot.exit or {}
        trace = self._outcome(reason, result, stdout, exit_info, limits)
        code = trace.error.code if trace.error and trace.error.code else None
        self.counters[f"outcome_{code or ('error' if trace.error else 'ok')}"] += 1
        if reason is not None:
            self.counters[f"kill_{reason}"] += 1
        return trace

    def _collect(
        self, server: _ForkServer, rid: int, trace_r: int, out_r: int, limits: Limits
    ) -> tuple[str | None, bytes, bytes]:
        """Read both pipes with caps until the child closes them or a limit is hit."""
        deadline = time.monotonic() + limits.wall_seconds
        result, stdout = bytearray(), bytearray()
        open_fds = {trace_r, out_r}
        reason: str | None = None
        while open_fds:
            left = deadline - time.monotonic()
            if left <= 0:
                reason = "time_limit"
                break
            ready, _, _ = select.select(list(open_fds), [], [], min(left, 0.5))
            if not ready and not server.alive:
                reason = "crash"
                break
            for fd in ready:
                chunk = os.read(fd, 1 << 16)
                if not chunk:
                    open_fds.discard(fd)
                elif fd == out_r:
                    stdout += chunk
                    if len(stdout) > limits.stdout_bytes:
                        reason = "output_limit"
                else:
                    result += chunk
                    if len(result) > limits.trace_bytes:
                        reason = "trace_too_large"
            if reason is not None:
                break
        if reason is not None:
            with contextlib.suppress(OSError):
                server.send({"op": "kill", "id": rid})
        return reason, bytes(result), bytes(stdout[: limits.stdout_bytes])

    def _outcome(
        self,
        reason: str | None,
        result: bytes,
        stdout: bytes,
        exit_info: dict[str, Any],
        limits: Limits,
    ) -> Trace:
        # Output cut at the byte limit may end inside a character: that part is left out.
        printed = codecs.getincrementaldecoder("utf-8")("replace").decode(stdout, final=False)
        status = exit_info.get("status")
        if reason is None and status == 0 and result:
            try:
                trace = validate(result, limits)
            except ValueError:
                return error_trace("invalid_result", limits, printed)
            return classify_program_error(trace, limits)
        if reason is None:
            if status == 71:
                reason = "memory_limit"
            elif status in (-24, -9) and exit_info.get("cpu", 0) >= limits.cpu_seconds * 0.9:
                reason = "time_limit"  # SIGXCPU / SIGKILL from RLIMIT_CPU
            else:
                reason = "crash"
        return error_trace(reason, limits, printed)


def check_isolation(layers: dict[str, object], allow_unsandboxed: bool) -> bool:
    """Namespaces, or Landlock and seccomp together, count as isolation; else refuse to serve.

    Returns whether isolation is in place; raises ``SandboxUnavailable`` when it is not and the
    operator has not opted out (local, single-user use only).
    """
    isolated = bool(layers.get("namespaces")) or (
        bool(layers.get("landlock")) and bool(layers.get("seccomp"))
    )
    if not isolated and not allow_unsandboxed:
        raise SandboxUnavailable(
            "no process isolation is available (bubblewrap: "
            f"{layers.get('namespaces_detail')}; landlock: {layers.get('landlock')}; "
            f"seccomp: {layers.get('seccomp')}). Set GRADSTAGE_ALLOW_UNSANDBOXED=1 only for "
            "local, single-user use."
        )
    return isolated


def _refusal(error: Any) -> Trace:
    event = ErrorEvent(
        seq=0,
        line=error.line,
        type=error.type,
        message=error.message,
        explanation=error.explanation,
        explanation_zh=error.explanation_zh,
    )
    return Trace(
        schema_version=SCHEMA_VERSION,
        stdout="",
        error=error,
        tensors=[],
        nodes=[],
        edges=[],
        events=[event],
        meta=Meta(),
    )


def _probe_child_layers() -> dict[str, bool]:
    """Apply Landlock and seccomp in a throwaway process to see whether the kernel allows them."""
    code = (
        "import json\n"
        "from gradstage.sandbox.lockdown import apply_landlock, apply_seccomp\n"
        "print(json.dumps({'landlock': apply_landlock(['/usr']), 'seccomp': apply_seccomp()}))\n"
    )
    try:
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, timeout=30, check=False, text=True
        )
        parsed: dict[str, bool] = json.loads(out.stdout.strip().splitlines()[-1])
        return parsed
    except (OSError, ValueError, IndexError, subprocess.TimeoutExpired):
        return {"landlock": False, "seccomp": False}
