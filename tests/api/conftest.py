"""Fixtures of the API tests: one event loop and one warm sandbox pool per test process.

In-process tests drive the ASGI app through httpx's ASGI transport on that loop. The pool is
started here rather than by each app's lifespan, so many differently configured apps share it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from fastapi import FastAPI
from gradstage.api.app import create_app
from gradstage.sandbox import SandboxPool

from tests.api.helpers import settings

T = TypeVar("T")


@pytest.fixture(scope="session")
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


@pytest.fixture(scope="session")
def run(loop: asyncio.AbstractEventLoop) -> Callable[[Awaitable[Any]], Any]:
    def run(awaitable: Awaitable[T]) -> T:
        return loop.run_until_complete(awaitable)

    return run


@pytest.fixture(scope="session")
def pool(run: Callable[[Awaitable[Any]], Any]) -> Iterator[SandboxPool]:
    pool = SandboxPool(settings().limits(), concurrency=2)
    run(pool.start())
    yield pool
    run(pool.close())


@pytest.fixture
def make_app(pool: SandboxPool) -> Callable[..., FastAPI]:
    """``make_app(**settings)``: an app with these settings on the shared warm pool."""

    def make(**overrides: Any) -> FastAPI:
        app_settings = settings(**overrides)
        assert app_settings.limits() == pool.limits, "an app and its pool share limits"
        return create_app(app_settings, runner=pool)

    return make
