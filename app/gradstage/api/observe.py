"""Metrics (Prometheus) and structured access logs; program source is never logged by default.

One JSON object per request on the ``gradstage.access`` logger: time, method, path (never the
query string), status, ms, client and, for traces, how it was served, its outcome and size. The
program's source is added only when the operator sets GRADSTAGE_LOG_SOURCE=1.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("gradstage.access")
_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


class Metrics:
    """Every metric the server exports, in a registry of its own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "gradstage_http_requests_total",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "gradstage_http_request_seconds",
            "HTTP request latency",
            ["route"],
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.traces = Counter(
            "gradstage_traces_total",
            "Traces served by outcome (ok, error, a limit code) and how (hit, shared, miss)",
            ["outcome", "served"],
            registry=self.registry,
        )
        self.queue = Gauge(
            "gradstage_queue_depth",
            "New runs admitted and not finished (running or waiting for a worker)",
            registry=self.registry,
        )
        self.queue_capacity = Gauge(
            "gradstage_queue_capacity",
            "Runs in flight at most before 503 (workers + queue size)",
            registry=self.registry,
        )
        self.rejected = Counter(
            "gradstage_rejected_total",
            "Trace requests refused before running",
            ["reason"],
            registry=self.registry,
        )

    def watch_sandbox(self, stats: Any) -> None:
        """Export the sandbox's own counters (kills by reason, workers started)."""
        self.registry.register(_SandboxCollector(stats))

    def watch(self, cache: Any, ready: Callable[[], bool]) -> None:
        """Export the cache's size and counters and whether a warm worker is waiting."""
        self.registry.register(_ServerCollector(cache, ready))


class _ServerCollector(Collector):
    def __init__(self, cache: Any, ready: Callable[[], bool]) -> None:
        self.cache = cache
        self.ready = ready

    def collect(self) -> Any:
        yield GaugeMetricFamily(
            "gradstage_ready", "1 when a warm sandbox worker is waiting", value=int(self.ready())
        )
        yield GaugeMetricFamily(
            "gradstage_cache_bytes", "Bytes of cached traces", value=self.cache.size
        )
        yield GaugeMetricFamily("gradstage_cache_entries", "Cached traces", value=len(self.cache))
        lookups = CounterMetricFamily(
            "gradstage_cache_lookups",
            "Trace requests by how they were served (rejected: missed, refused with 429 or 503)",
            labels=["served"],
        )
        counts = {
            "hit": self.cache.hits,
            "shared": self.cache.shared,
            "miss": self.cache.misses,
            "rejected": self.cache.rejected,
        }
        for served, value in counts.items():
            lookups.add_metric([served], value)
        yield lookups


class _SandboxCollector(Collector):
    def __init__(self, stats: Any) -> None:
        self.stats = stats

    def collect(self) -> Any:
        stats: dict[str, int] = self.stats()
        kills = CounterMetricFamily(
            "gradstage_sandbox_kills", "Programs stopped by the sandbox", labels=["reason"]
        )
        for key, value in stats.items():
            if key.startswith("kill_"):
                kills.add_metric([key.removeprefix("kill_")], value)
        yield kills
        outcomes = CounterMetricFamily(
            "gradstage_sandbox_runs", "Sandbox runs by outcome", labels=["outcome"]
        )
        for key, value in stats.items():
            if key.startswith("outcome_"):
                outcomes.add_metric([key.removeprefix("outcome_")], value)
        yield outcomes
        refused = CounterMetricFamily(
            "gradstage_sandbox_refused",
            "Programs refused before reaching the sandbox (the pre-check, the source limit)",
            labels=["reason"],
        )
        for key, value in stats.items():
            if key.startswith("refused_"):
                refused.add_metric([key.removeprefix("refused_")], value)
        yield refused
        yield GaugeMetricFamily(
            "gradstage_sandbox_running", "Programs running now", value=stats.get("running", 0)
        )
        yield CounterMetricFamily(
            "gradstage_sandbox_workers_started",
            "Fork servers started",
            value=stats.get("workers_started", 0),
        )


def route_of(scope: Scope) -> str:
    """The route template (``/api/lessons/{lesson_id}``), not the raw path, to bound labels."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if path:
        return str(path)
    if str(scope.get("path", "")).startswith("/static/"):
        return "/static"
    return "unmatched"


class Observe:
    """Counts, times and logs every request."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            elapsed = time.perf_counter() - start
            route = route_of(scope)
            method = scope["method"] if scope["method"] in _METHODS else "other"
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.latency.labels(route).observe(elapsed)
            access_log.info(
                json.dumps(
                    {
                        "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                        "method": scope["method"],
                        "path": scope["path"],
                        "status": status,
                        "ms": round(elapsed * 1000, 1),
                        "client": (scope.get("client") or ("-", 0))[0],
                        **scope.get("state", {}).get("log_extra", {}),
                    }
                )
            )
