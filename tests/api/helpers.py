"""Helpers of the API tests: settings, clients and a served app in a child process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from fastapi import FastAPI
from gradstage.settings import Settings

T = TypeVar("T")
Run = Callable[[Awaitable[T]], T]

# Every in-process API module shares one warm pool: they run in one xdist worker. The tests
# that start servers in child processes (test_server, test_wheel) form the group "api-process".
ASGI_GROUP = pytest.mark.xdist_group("api-asgi")
# Short limits keep the limit tests fast. An app's limits must equal its pool's.
LIMITS: dict[str, Any] = {"cpu_seconds": 1.0, "wall_seconds": 3.0, "stdout_kb": 4}

PROGRAM = """import torch
x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
y = (x * x).sum()
y.backward()
print(x.grad)
"""


def settings(**overrides: Any) -> Settings:
    """Settings of an in-process app: the test limits, no warm-up, no rate limit unless asked."""
    values: dict[str, Any] = {
        **LIMITS,
        "workers": 2,
        "rate_limit_per_minute": 0,
        "warm_lessons": False,
        **overrides,
    }
    return Settings(**values)


def client(app: FastAPI, address: str = "127.0.0.1") -> httpx.AsyncClient:
    """An HTTP client of ``app`` (over ASGI) whose requests come from ``address``."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver", timeout=60)


def call(
    run: Run[httpx.Response], app: FastAPI, method: str, url: str, **kw: Any
) -> httpx.Response:
    """One request to ``app``, run to completion on the test loop."""

    async def go() -> httpx.Response:
        async with client(app) as c:
            return await c.request(method, url, **kw)

    return run(go())


def unique(tag: str) -> str:
    """A program no other test (or earlier run of this one) has sent: never in any cache."""
    return f"print({tag!r}, {time.time_ns()})\n"


def free_port() -> int:
    """A TCP port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def server_env(**settings_env: str) -> dict[str, str]:
    """This environment without any GRADSTAGE_ setting, plus these (``log_level`` -> ...)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADSTAGE_")}
    env.update({f"GRADSTAGE_{k.upper()}": v for k, v in settings_env.items()})
    return env


class Server:
    """``<command> serve`` in a child process on a free port, its output in a file."""

    def __init__(self, command: list[str], env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [*command, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def wait_healthy(self, timeout: float = 120.0) -> None:
        """Wait until /healthz answers (the sandbox is warm by then: start-up waits for it)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"the server exited:\n{self.log.read_text()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise TimeoutError(f"the server did not start:\n{self.log.read_text()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def gradstage_script() -> list[str]:
    """The ``gradstage`` command of this venv."""
    return [str(Path(sys.executable).parent / "gradstage")]
