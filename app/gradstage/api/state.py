"""What the handlers share, kept on ``app.state`` and reached through typed dependencies."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
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
    waiting: int = 0
    started: asyncio.Event = field(default_factory=asyncio.Event)


def get_services(request: Request) -> Services:
    """The services of the app handling this request."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
