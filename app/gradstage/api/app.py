"""The FastAPI application: routers, middleware and the sandbox's lifetime. Composition only."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from gradstage import __version__, lessons
from gradstage.api import errors, health, lessons as lessons_routes, pages, trace
from gradstage.api.cache import TraceCache, cache_key
from gradstage.api.observe import Metrics, Observe
from gradstage.api.ratelimit import RateLimiter
from gradstage.api.security import SecurityHeaders
from gradstage.api.state import Services
from gradstage.paths import static_dir
from gradstage.runner import Runner
from gradstage.schema import encode
from gradstage.settings import Settings, get_settings

log = logging.getLogger("gradstage")


def _default_runner(settings: Settings) -> Runner:
    from gradstage.sandbox import SandboxPool

    return SandboxPool(
        settings.limits(),
        concurrency=settings.workers,
        allow_unsandboxed=settings.allow_unsandboxed,
    )


async def _warm_lessons(services: Services) -> None:
    """Trace every lesson once, so the first visitor of each gets it from the cache."""
    for lesson in lessons.catalog():
        key = cache_key(lesson.source, services.limits)
        if services.cache.get(key) is None:
            result = await services.runner.run(lesson.source, services.limits)
            if result.error is None or result.error.code is None:
                services.cache.put(key, encode(result))


def create_app(settings: Settings | None = None, runner: Runner | None = None) -> FastAPI:
    """Build the app; ``runner`` defaults to a sandbox pool configured by ``settings``."""
    settings = settings or get_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(message)s")
    services = Services(
        settings=settings,
        runner=runner or _default_runner(settings),
        limits=settings.limits(),
        cache=TraceCache(settings.cache_mb << 20),
        limiter=RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst),
        metrics=Metrics(),
    )
    stats = getattr(services.runner, "stats", None)
    if stats is not None:
        services.metrics.watch_sandbox(stats)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await services.runner.start()
        log.info("gradstage %s ready; sandbox: %s", __version__, services.runner.layers())
        warm = asyncio.create_task(_warm_lessons(services))
        try:
            yield
        finally:
            warm.cancel()
            await services.runner.close()

    app = FastAPI(
        title="gradstage",
        version=__version__,
        description="Run a PyTorch program in a sandbox and get the Trace of what autograd did.",
        lifespan=lifespan,
    )
    app.state.services = services
    errors.install(app)
    for module in (trace, lessons_routes, health, pages):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=str(static_dir()), check_dir=False), "static")
    max_body = settings.limits().source_bytes * 6 + 4096  # JSON escaping can grow the source
    app.add_middleware(Observe, metrics=services.metrics)
    app.add_middleware(SecurityHeaders, frame_ancestors=settings.frame_ancestors, max_body=max_body)
    return app
