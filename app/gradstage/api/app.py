"""The FastAPI application: routers, middleware and the sandbox's lifetime. Composition only."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles

from gradstage import __version__, lessons
from gradstage.api import errors, health, pages, trace
from gradstage.api import lessons as lessons_routes
from gradstage.api.cache import TraceCache, cache_key
from gradstage.api.observe import Metrics, Observe
from gradstage.api.ratelimit import RateLimiter
from gradstage.api.security import SecurityHeaders
from gradstage.api.state import Services
from gradstage.paths import static_dir
from gradstage.runner import Runner
from gradstage.settings import Settings, get_settings

log = logging.getLogger("gradstage")

# How often the server checks that a warm sandbox worker exists, and starts one if not.
WATCH_SECONDS = 1.0


def _default_runner(settings: Settings) -> Runner:
    from gradstage.sandbox import SandboxPool

    return SandboxPool(
        settings.limits(),
        concurrency=settings.workers,
        allow_unsandboxed=settings.allow_unsandboxed,
    )


async def warm_lessons(services: Services) -> None:
    """Trace every lesson once, so the first visitor of each gets it from the cache."""
    try:
        catalog = lessons.catalog()
    except Exception:
        log.exception("could not read the lessons")
        return
    for lesson in catalog:
        key = cache_key(lesson.source, services.limits)
        try:
            await services.cache.get_or_make(
                key,
                trace.maker(services, lesson.source),
                lambda: trace.reserve(services),
            )
        except Exception:
            log.exception("could not trace lesson %s at start-up", lesson.id)


async def keep_ready(runner: Runner, interval: float = WATCH_SECONDS) -> None:
    """Start a new warm worker whenever there is none (after a crash), so /readyz recovers
    without waiting for a request (a load balancer sends none to an instance that is not ready).
    """
    while True:
        await asyncio.sleep(interval)
        if not runner.ready:
            try:
                await runner.start()
            except Exception:
                log.exception("could not restart the sandbox")


def body_cap(settings: Settings) -> int:
    """Largest request body: room for the longest program however it is JSON-escaped (up to 12
    bytes a character: a surrogate pair of ``\\uXXXX``), so any program within the source limit
    gets in, and one over it still gets its plain "too long" Trace.
    """
    return settings.limits().source_bytes * 12 + 4096


def create_app(settings: Settings | None = None, runner: Runner | None = None) -> FastAPI:
    """Build the app; ``runner`` defaults to a sandbox pool configured by ``settings``.

    The runner is started and stopped by the app's lifespan (uvicorn runs it).
    """
    settings = settings or get_settings()
    logging.basicConfig(level=settings.log_level.upper(), format="%(message)s")
    logging.getLogger("gradstage").setLevel(settings.log_level.upper())
    services = Services(
        settings=settings,
        runner=runner or _default_runner(settings),
        limits=settings.limits(),
        cache=TraceCache(settings.cache_mb << 20),
        limiter=RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_burst),
        metrics=Metrics(),
    )
    services.metrics.queue_capacity.set(services.capacity)
    services.metrics.watch(services.cache, lambda: services.runner.ready)
    stats = getattr(services.runner, "stats", None)
    if stats is not None:
        services.metrics.watch_sandbox(stats)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await services.runner.start()
        log.info("gradstage %s ready; sandbox: %s", __version__, services.runner.layers())
        tasks = [asyncio.create_task(keep_ready(services.runner))]
        if settings.warm_lessons and settings.cache_mb > 0:
            tasks.append(asyncio.create_task(warm_lessons(services)))
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await services.runner.close()

    app = FastAPI(
        title="gradstage",
        version=__version__,
        description="Run a PyTorch program in a sandbox and get the Trace of what autograd did. "
        'Errors have one shape: {"error": {"code", "message", "detail"}}.',
        lifespan=lifespan,
        # The interactive docs load scripts from a CDN and inline script, which the CSP forbids
        # (and classrooms are often offline); the OpenAPI document stays at /openapi.json.
        docs_url=None,
        redoc_url=None,
    )
    app.state.services = services
    errors.install(app)
    for module in (trace, lessons_routes, health, pages):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=str(static_dir()), check_dir=False), "static")
    # The last added is the outermost: Observe sees every answer, 413s and 500s included.
    app.add_middleware(
        SecurityHeaders, frame_ancestors=settings.frame_ancestors, max_body=body_cap(settings)
    )
    app.add_middleware(Observe, metrics=services.metrics)
    return app
