"""The fork server: a warm process (inside bubblewrap) that forks one locked-down child per run.

Importing torch takes seconds; forking a process that already has it takes milliseconds. The
fork server imports torch and the tracer, runs a warm-up program (every optimizer once: Adam's
first step imports more code), then waits for requests on its control socket. Each request
brings two pipe ends: one for the Trace, one for what the program prints. The child locks itself
down (rlimits, Landlock, seccomp) before it touches the learner's source.

Messages on the control socket (SOCK_SEQPACKET, JSON):
    parent -> server  {"op": "run", "id", "source", "limits"} + fds [trace_w, stdout_w]
                      {"op": "kill", "id"}
    server -> parent  {"op": "ready", "layers"}   {"op": "exit", "id", "status", "signal", ...}

Run as ``python -m gradstage.sandbox.forkserver FD``.
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import resource
import selectors
import signal
import socket
import sys

WARM_UP = """
import torch
import torch.nn as nn
import matplotlib.pyplot as plt
m = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
for opt in (torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9),
            torch.optim.Adam(m.parameters()), torch.optim.AdamW(m.parameters()),
            torch.optim.RMSprop(m.parameters()), torch.optim.Adagrad(m.parameters())):
    opt.zero_grad()
    loss = nn.functional.mse_loss(m(torch.randn(5, 3)), torch.randn(5, 1))
    loss.backward()
    torch.nn.utils.clip_grad_norm_(m.parameters(), 1.0)
    opt.step()
x = torch.tensor([1.0, 2.0], requires_grad=True)
y = (x.sqrt() * x.exp()).sum()
g, = torch.autograd.grad(y, x, create_graph=True)
g.sum().backward()
plt.plot([1, 2])
print(x.grad)
"""

MAX_MESSAGE = 1 << 20


def readable_paths() -> list[str]:
    """What a child may still read: Python, the venv, gradstage itself, shared libraries."""
    import gradstage

    paths = {sys.base_prefix, sys.prefix, os.path.dirname(os.path.dirname(gradstage.__file__))}
    paths.update(p for p in sys.path if p and os.path.isdir(p))
    paths.update(("/usr/lib", "/usr/lib64", "/lib", "/lib64", "/usr/share/zoneinfo"))
    return sorted(p for p in paths if os.path.exists(p))


def _child(inbox: socket.socket) -> None:
    """In a pre-forked child: lock down, wait for one program, run it, send the Trace, exit.

    The child is forked and locked down before any request arrives, so a request only waits
    for the program itself. Resource limits come with the request and are applied then.
    """
    from gradstage.limits import Limits
    from gradstage.sandbox.lockdown import apply_landlock, apply_rlimits, apply_seccomp, vm_size
    from gradstage.schema import Trace, encode
    from gradstage.tracer import trace_program
    from gradstage.tracer.build import fit_to_size

    status = 70
    try:
        # Learners' programs yield the CPU to the server: cached answers and health checks
        # stay fast while sandboxed programs compete for the cores.
        with contextlib.suppress(OSError):
            os.nice(10)
        base_vm = vm_size()
        layers = {"landlock": apply_landlock(readable_paths()), "seccomp": apply_seccomp()}
        data, fds, _flags, _addr = socket.recv_fds(inbox, MAX_MESSAGE, 2)
        if not data or len(fds) != 2:
            os._exit(0)
        trace_fd, out_fd = fds
        inbox.close()
        msg = json.loads(data)
        os.dup2(out_fd, 1)
        os.dup2(out_fd, 2)
        os.close(out_fd)
        limits = Limits(**msg["limits"])
        apply_rlimits(limits, base_vm)
        layers["rlimits"] = True

        def echo(text: str) -> None:
            data = text.encode("utf-8", "replace")
            while data:
                data = data[os.write(1, data) :]

        def send(trace: Trace) -> None:
            trace.meta.layers = layers
            data = encode(trace)
            if len(data) > limits.trace_bytes:
                data = encode(fit_to_size(trace, limits.trace_bytes))
            view = memoryview(data)
            while view:
                view = view[os.write(trace_fd, view) :]
            os.close(trace_fd)

        def send_and_exit(trace: Trace) -> None:
            # A program that swallowed its stop, or is stuck in one long call: its Trace so
            # far, and the process ends here, whatever happens (from the watchdog's thread,
            # an exception would leave the program's thread waiting for the wall-clock kill).
            status = 70
            try:
                send(trace)
                status = 0
            finally:
                os._exit(status)

        send(
            trace_program(
                msg["source"],
                limits=limits,
                echo=echo,
                stop_in_time=True,
                on_stuck=send_and_exit,
            )
        )
        status = 0
    except MemoryError:
        status = 71
    except BaseException:
        status = 70
    finally:
        os._exit(status)


def serve(ctrl_fd: int) -> None:
    """Warm up, report ready, then fork a child for every request until the socket closes."""
    import torch

    torch.set_num_threads(1)
    import gradstage.sandbox.lockdown  # noqa: F401 - loads libseccomp before any lockdown
    from gradstage.tracer import trace_program

    warm = trace_program(WARM_UP)
    if warm.error is not None:
        # A sandbox that cannot run the warm-up (every optimizer, create_graph, a plot) would
        # fail learners' programs in ways that explain nothing: refuse to start, and say why.
        sys.stderr.write(f"warm-up program failed: {warm.error.type}: {warm.error.message}\n")
        sys.stderr.flush()
        raise SystemExit(3)
    # What the server holds now (torch, the tracer, their caches) lives as long as it does.
    # Frozen, it is left out of every collection in the children: a child's full collection
    # would otherwise walk all of it, and writing the collector's marks would copy its memory
    # pages into the child (the way Python's gc module documentation advises before forking).
    gc.collect()
    gc.freeze()
    ctrl = socket.socket(fileno=ctrl_fd)
    children: dict[int, int] = {}  # pid -> request id
    by_id: dict[int, int] = {}
    ctrl.send(json.dumps({"op": "ready", "pid": os.getpid()}).encode())
    selector = selectors.DefaultSelector()
    selector.register(ctrl, selectors.EVENT_READ)
    # A child's exit wakes the loop at once (through a pipe), so results go out without delay.
    wake_r, wake_w = os.pipe()
    os.set_blocking(wake_w, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    selector.register(wake_r, selectors.EVENT_READ)
    spare: tuple[int, socket.socket] | None = _fork_spare(ctrl, selector, wake_r, wake_w)
    while True:
        events = selector.select(timeout=1.0)
        for key, _ in events:
            if key.fileobj == wake_r:
                os.read(wake_r, 4096)
                continue
            try:
                data, fds, _flags, _addr = socket.recv_fds(ctrl, MAX_MESSAGE, 2)
            except InterruptedError:
                continue
            if not data:
                for pid in [*children, *([spare[0]] if spare else [])]:
                    os.kill(pid, signal.SIGKILL)
                return
            msg = json.loads(data)
            if msg["op"] == "run" and len(fds) == 2:
                if spare is None:
                    spare = _fork_spare(ctrl, selector, wake_r, wake_w)
                pid, inbox = spare
                socket.send_fds(inbox, [data], fds)
                inbox.close()
                for fd in fds:
                    os.close(fd)
                children[pid] = msg["id"]
                by_id[msg["id"]] = pid
                spare = _fork_spare(ctrl, selector, wake_r, wake_w)
            elif msg["op"] == "kill" and msg["id"] in by_id:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(by_id[msg["id"]], signal.SIGKILL)
            else:
                for fd in fds:
                    os.close(fd)
        _reap(ctrl, children, by_id)


def _fork_spare(
    ctrl: socket.socket, selector: selectors.BaseSelector, wake_r: int, wake_w: int
) -> tuple[int, socket.socket]:
    """Fork the next child now, so that it is locked down and waiting before it is needed."""
    mine, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    pid = os.fork()
    if pid == 0:
        mine.close()
        selector.close()
        signal.set_wakeup_fd(-1)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        os.close(wake_r)
        os.close(wake_w)
        ctrl.close()
        _child(theirs)
    theirs.close()
    return pid, mine


def _reap(ctrl: socket.socket, children: dict[int, int], by_id: dict[int, int]) -> None:
    while children:
        try:
            pid, status, usage = os.wait4(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        rid = children.pop(pid, None)
        if rid is None:
            continue
        by_id.pop(rid, None)
        reply = {
            "op": "exit",
            "id": rid,
            "status": os.waitstatus_to_exitcode(status),
            "cpu": usage.ru_utime + usage.ru_stime,
            "maxrss_kb": usage.ru_maxrss,
        }
        ctrl.send(json.dumps(reply).encode())


def main() -> None:
    """Entry point: the control socket's file descriptor is the only argument."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    serve(int(sys.argv[1]))


if __name__ == "__main__":
    main()
