"""POST /api/trace: run a program in the sandbox (or answer from the cache) and return its Trace."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from gradstage.api.cache import cache_key
from gradstage.api.errors import ApiError
from gradstage.api.state import ServicesDep
from gradstage.schema import Trace, encode

router = APIRouter(tags=["trace"])

# Outcomes that depend on the moment (load, a crash), not on the program: never cached.
_UNCACHEABLE = {"time_limit", "unavailable", "crash", "invalid_result"}


class TraceRequest(BaseModel):
    """A program to trace."""

    model_config = ConfigDict(extra="forbid")
    code: str = Field(description="the Python source of the program", max_length=200_000)


def client_of(request: Request, trust_forwarded_for: bool) -> str:
    """The client's address (from X-Forwarded-For only when the operator trusts a proxy)."""
    if trust_forwarded_for:
        forwarded = request.headers.get("x-forwarded-for", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.client.host if request.client else "-"


@router.post(
    "/api/trace",
    response_class=Response,
    responses={
        200: {
            "description": "The Trace (see /api/schema); a program's own error is in `error`",
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        413: {"description": "request body too large"},
        422: {"description": "malformed JSON or fields"},
        429: {"description": "too many runs from this client; see Retry-After"},
        503: {"description": "the sandbox queue is full; see Retry-After"},
    },
)
async def create_trace(body: TraceRequest, request: Request, services: ServicesDep) -> Response:
    """Trace a program: the Trace, or a cached copy of it."""
    key = cache_key(body.code, services.limits)
    cached = services.cache.get(key)
    if cached is None:
        wait = services.limiter.allow(client_of(request, services.settings.trust_forwarded_for))
        if wait > 0:
            services.metrics.rejected.labels("rate_limited").inc()
            raise ApiError(429, "too many programs from this client; try again shortly",
                           {"Retry-After": str(max(1, round(wait)))})
        if services.waiting >= services.settings.queue_size:
            services.metrics.rejected.labels("overloaded").inc()
            raise ApiError(503, "the server is busy; try again shortly", {"Retry-After": "2"})

    async def run() -> tuple[bytes, bool]:
        services.waiting += 1
        services.metrics.queue.set(services.waiting)
        try:
            trace: Trace = await services.runner.run(body.code, services.limits)
        finally:
            services.waiting -= 1
            services.metrics.queue.set(services.waiting)
        code = trace.error.code if trace.error else None
        return encode(trace), code not in _UNCACHEABLE

    data, hit = await services.cache.get_or_make(key, run) if cached is None else (cached, True)
    request.scope.setdefault("state", {})["log_extra"] = {"cached": hit, "bytes": len(data)}
    outcome = _outcome(data)
    services.metrics.traces.labels(outcome, str(hit).lower()).inc()
    if services.settings.log_source:
        request.scope["state"]["log_extra"]["source"] = body.code
    return Response(content=data, media_type="application/json",
                    headers={"X-Gradstage-Cache": "hit" if hit else "miss"})


def _outcome(data: bytes) -> str:
    """ok, error (the program raised) or the limit's code, read without a full parse."""
    head = data[: 200].decode("utf-8", "replace")
    if '"error":null' in head:
        return "ok"
    marker = data.find(b'"code":"')
    if marker != -1 and marker < data.find(b'"tensors"'):
        end = data.find(b'"', marker + 8)
        return data[marker + 8 : end].decode("ascii", "replace")
    return "error"
