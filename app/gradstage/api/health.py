"""Health, readiness, status, the Trace schema and Prometheus metrics."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from gradstage.api.errors import ApiError
from gradstage.api.state import ServicesDep
from gradstage.schema import json_schema

router = APIRouter(tags=["operations"])


@router.get("/healthz")
async def read_health() -> dict[str, str]:
    """The process is up."""
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "no warm sandbox worker yet"}})
async def read_ready(services: ServicesDep) -> dict[str, str]:
    """Ready only when a warm sandbox worker can take a program."""
    if not services.runner.ready:
        raise ApiError(503, "no warm sandbox worker yet", {"Retry-After": "2"})
    return {"status": "ready"}


# Every limit a program runs under (the Limits fields but the loop-detail knobs and the seed).
PUBLISHED_LIMITS = (
    "cpu_seconds",
    "wall_seconds",
    "memory_bytes",
    "stdout_bytes",
    "source_bytes",
    "max_nodes",
    "max_tensors",
    "max_events",
    "trace_bytes",
)


@router.get(
    "/api/status",
    description="Which sandbox layers are active, the limits every program runs under (`limits`: "
    f"{', '.join(PUBLISHED_LIMITS)}; in seconds and bytes), the queue and the cache.",
)
async def read_status(services: ServicesDep) -> dict[str, Any]:
    """Which sandbox layers are active, the limits every program runs under, queue and cache."""
    limits = services.limits
    return {
        "ready": services.runner.ready,
        "sandbox": services.runner.layers(),
        "limits": {name: getattr(limits, name) for name in PUBLISHED_LIMITS},
        "queue": {"in_flight": services.in_flight, "capacity": services.capacity},
        "cache": {
            "entries": len(services.cache),
            "bytes": services.cache.size,
            "max_bytes": services.cache.max_bytes,
        },
    }


@router.get("/api/schema")
async def read_schema() -> dict[str, Any]:
    """The JSON Schema of the Trace."""
    return json_schema()


@router.get("/metrics", response_class=Response)
async def read_metrics(services: ServicesDep) -> Response:
    """Prometheus metrics."""
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)
