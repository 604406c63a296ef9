"""Every setting of the server, from environment variables prefixed ``GRADSTAGE_``."""

from __future__ import annotations

from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from gradstage.limits import Limits


class Settings(BaseSettings):
    """Server, sandbox and limit settings (defaults suit one machine serving a class)."""

    model_config = SettingsConfigDict(env_prefix="GRADSTAGE_", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = Field(default=2, ge=1, description="programs run at once (sandbox children)")
    queue_size: int = Field(default=32, ge=1, description="programs waiting before 503")
    cache_mb: int = Field(default=64, ge=0, description="memory for cached traces")
    rate_limit_per_minute: int = Field(
        default=60, ge=0, description="uncached runs per client per minute (0: no limit)"
    )
    rate_limit_burst: int = Field(default=20, ge=1)
    trust_forwarded_for: bool = Field(
        default=False, description="take the client address from X-Forwarded-For"
    )
    frame_ancestors: str = Field(
        default="*", description="who may embed /embed/* in an iframe (CSP frame-ancestors)"
    )
    log_level: str = "info"
    log_source: bool = Field(default=False, description="include program source in logs")
    allow_unsandboxed: bool = Field(
        default=False, description="serve even without process isolation (local use only)"
    )
    cpu_seconds: float = 5.0
    wall_seconds: float = 10.0
    memory_mb: int = 1024
    stdout_kb: int = 64
    source_kb: int = 20
    max_nodes: int = 5_000
    max_events: int = 20_000
    trace_mb: int = 4

    def limits(self) -> Limits:
        """The per-run limits these settings describe."""
        return Limits(
            cpu_seconds=self.cpu_seconds,
            wall_seconds=self.wall_seconds,
            memory_bytes=self.memory_mb << 20,
            stdout_bytes=self.stdout_kb << 10,
            source_bytes=self.source_kb << 10,
            max_nodes=self.max_nodes,
            max_events=self.max_events,
            trace_bytes=self.trace_mb << 20,
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process (read once)."""
    return Settings()
