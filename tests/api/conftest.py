"""Fixtures of the API tests: one event loop and one warm sandbox pool per test process.

In-process tests drive the ASGI app through httpx's ASGI transport on that loop. The pool is
started here rather than by each app's lifespan, so many differently configured apps share it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
from _pytest.nodeid import NodeId
from fastapi import FastAPI
from gradstage.api.app import create_app
from gradstage.sandbox import SandboxPool

from tests.api.helpers import settings

T = TypeVar("T")
HERE = Path(__file__).resolve().parent


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Make ``--dist loadgroup`` group this directory's tests again under pytest 9.

    pytest-xdist 3.8 marks a grouped test by setting ``item._nodeid`` to ``<id>@<group>``;
    pytest 9 keeps node ids in ``item._id`` instead, so the mark is lost and groups are spread
    over workers (each then starts its own sandbox pool and server). Carry it over.
    """
    for item in items:
        grouped = item.__dict__.get("_nodeid")
        if grouped and grouped != item.nodeid and HERE in item.path.parents:
            item._id = NodeId.parse(grouped)


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
