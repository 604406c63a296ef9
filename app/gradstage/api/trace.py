"""POST /api/trace: run a program in the sandbox (or answer from the cache) and return its Trace.

A request is answered, in this order: from the cache; by joining an identical run already under
way; or, if the client is within its rate and the queue has room, by a new run. Only new runs
count against the rate limit and the queue, so a class opening the same lesson costs one run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from gradstage.api.cache import cache_key
from gradstage.api.errors import ApiError
from gradstage.api.state import Services, ServicesDep
from gradstage.schema import Trace, TraceError, encode

router = APIRouter(tags=["trace"])

# Outcomes that depend on the moment (load, a crash), not on the program: never cached.
_UNCACHEABLE = {"time_limit", "unavailable", "crash", "invalid_result"}


class TraceRequest(BaseModel):
    """A program to trace."""

    model_config = ConfigDict(extra="forbid")
    code: str = Field(
        description="The Python source of the program. A program over the source limit (see "
        "/api/status) is answered with a Trace whose error says so; a request body too large to "
        "hold even that is refused with 413.",
    )


class _Head(msgspec.Struct):
    """The part of an encoded Trace the metrics need."""

    error: TraceError | None = None


def outcome_of(error: TraceError | None) -> str:
    """ok, error (the program raised) or the limit's code (time_limit, forbidden, ...)."""
    if error is None:
        return "ok"
    return error.code or "error"


def client_of(request: Request, trust_forwarded_for: bool) -> str:
    """The client's address (from X-Forwarded-For only when the operator trusts a proxy)."""
    if trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.client.host if request.client else "-"


def _admit(services: Services, client: str) -> None:
    """Refuse a new run when this client is over its rate (429) or the queue is full (503)."""
    if services.in_flight >= services.capacity:
        services.metrics.rejected.labels("overloaded").inc()
        raise ApiError(503, "the server is busy; try again shortly", {"Retry-After": "2"})
    wait = services.limiter.allow(client)
    if wait > 0:
        services.metrics.rejected.labels("rate_limited").inc()
        raise ApiError(
            429,
            "too many new programs from this client; try again shortly",
            {"Retry-After": str(max(1, round(wait + 0.5)))},
        )
    reserve(services)


def reserve(services: Services) -> None:
    """Count a new run in flight (released by the run made by ``maker``)."""
    services.in_flight += 1
    services.metrics.queue.set(services.in_flight)


def maker(services: Services, code: str) -> Callable[[], Awaitable[tuple[bytes, bool]]]:
    """The run of ``code`` for the cache: its encoded Trace and whether it may be cached."""

    async def run() -> tuple[bytes, bool]:
        try:
            trace: Trace = await services.runner.run(code, services.limits)
        finally:
            services.in_flight -= 1
            services.metrics.queue.set(services.in_flight)
        return encode(trace), outcome_of(trace.error) not in _UNCACHEABLE

    return run


_ERRORS: dict[int | str, dict[str, Any]] = {
    413: {"description": "The request body is too large"},
    422: {"description": "Malformed JSON, or fields missing or of the wrong type"},
    429: {"description": "Too many new programs from this client; see Retry-After"},
    503: {"description": "The sandbox queue is full; see Retry-After"},
}


@router.post(
    "/api/trace",
    response_class=Response,
    responses={
        200: {
            "description": "The Trace (see /api/schema). A program's own exception, or a limit "
            "it hit, is a Trace with `error` set. Header X-Gradstage-Cache: hit, shared or miss.",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        **_ERRORS,
    },
)
async def create_trace(body: TraceRequest, request: Request, services: ServicesDep) -> Response:
    """Trace a program: its Trace, or a cached copy of it."""
    key = cache_key(body.code, services.limits)
    client = client_of(request, services.settings.trust_forwarded_for)
    data, served = await services.cache.get_or_make(
        key, maker(services, body.code), lambda: _admit(services, client)
    )
    outcome = outcome_of(msgspec.json.decode(data, type=_Head).error)
    services.metrics.traces.labels(outcome, served).inc()
    extra: dict[str, object] = {"cache": served, "outcome": outcome, "bytes": len(data)}
    if services.settings.log_source:
        extra["source"] = body.code
    request.scope.setdefault("state", {})["log_extra"] = extra
    return Response(
        content=data, media_type="application/json", headers={"X-Gradstage-Cache": served}
    )
