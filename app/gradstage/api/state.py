"""What the handlers share, kept on ``app.state`` and reached through typed dependencies."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request

from gradstage.api.cache import TraceCache
from gradstage.api.observe import Metrics
from gradstage.api.ratelimit import RateLimiter
from gradstage.limits import Limits
from gradstage.runner import Runner
from gradstage.settings import Settings


@dataclass
class Services:
    """The runner, the cache, the limiter and the counters of one server process."""

    settings: Settings
    runner: Runner
    limits: Limits
    cache: TraceCache
    limiter: RateLimiter
    metrics: Metrics
    in_flight: int = 0  # new runs admitted and not finished: running or waiting for a worker

    @property
    def capacity(self) -> int:
        """Runs in flight at most: every worker busy and the queue full."""
        return self.settings.workers + self.settings.queue_size


def get_services(request: Request) -> Services:
    """The services of the app handling this request."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
