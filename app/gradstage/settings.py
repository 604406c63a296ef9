"""Every setting of the server, from environment variables prefixed ``GRADSTAGE_``.

docs/operations.md and the README list them all, with their ranges; keep them in step when
adding one.
"""

from __future__ import annotations

from collections.abc import Collection
from functools import lru_cache
from typing import Any, Literal, get_args

from pydantic import Field, ValidationError, field_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, SettingsConfigDict

from gradstage.limits import Limits

LogLevel = Literal["critical", "error", "warning", "info", "debug"]


class Settings(BaseSettings):
    """Server, sandbox and limit settings (defaults suit one machine serving a class)."""

    # inf would pass "greater than 0" and then break the rlimits of every run.
    model_config = SettingsConfigDict(env_prefix="GRADSTAGE_", extra="ignore", allow_inf_nan=False)

    host: str = Field(default="127.0.0.1", description="address to bind")
    port: int = Field(default=8000, ge=1, le=65535, description="port to bind")
    workers: int = Field(default=2, ge=1, description="programs run at once (sandbox children)")
    queue_size: int = Field(
        default=32, ge=0, description="programs waiting for a worker before new ones get 503"
    )
    cache_mb: int = Field(default=64, ge=0, description="memory for cached traces (0: no cache)")
    rate_limit_per_minute: int = Field(
        default=60, ge=0, description="uncached runs per client per minute (0: no limit)"
    )
    rate_limit_burst: int = Field(default=20, ge=1, description="uncached runs a client may burst")
    trust_forwarded_for: bool = Field(
        default=False, description="take the client address from X-Forwarded-For (behind a proxy)"
    )
    frame_ancestors: str = Field(
        default="*", description="who may embed /embed/* in an iframe (CSP frame-ancestors)"
    )
    warm_lessons: bool = Field(
        default=True, description="trace every lesson at start-up (first visitors hit the cache)"
    )
    log_level: LogLevel = Field(default="info", description="log level")
    log_source: bool = Field(default=False, description="include program source in access logs")
    allow_unsandboxed: bool = Field(
        default=False, description="serve even without process isolation (local use only)"
    )
    cpu_seconds: float = Field(default=5.0, gt=0, description="CPU time of one program")
    wall_seconds: float = Field(default=10.0, gt=0, description="wall-clock time of one program")
    memory_mb: int = Field(default=1024, ge=64, description="address space of one program")
    stdout_kb: int = Field(default=64, ge=1, description="printed output kept")
    source_kb: int = Field(default=20, ge=1, description="longest program accepted")
    max_nodes: int = Field(default=5_000, ge=1, description="autograd nodes kept in a trace")
    max_events: int = Field(default=20_000, ge=1, description="timeline events kept in a trace")
    trace_mb: int = Field(default=4, ge=1, description="largest trace a program may produce")

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.lower() if isinstance(value, str) else value

    @field_validator("frame_ancestors")
    @classmethod
    def _one_header_value(cls, value: str) -> str:
        """A list of CSP sources: no ``;`` or line breaks that would smuggle in other directives."""
        if any(c in value for c in ";,\r\n") or not value.strip():
            raise ValueError(
                "a space-separated list of CSP sources, without ';', ',' or line breaks"
            )
        return value.strip()

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


class SettingsError(ValueError):
    """Settings the server cannot run with: one line per bad setting, named as it was set."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def setting_name(field: str, options: Collection[str] = ()) -> str:
    """How the operator set ``field``: its command-line option, else its environment variable."""
    if field in options:
        return "--" + field.replace("_", "-")
    return f"GRADSTAGE_{field.upper()}"


def load_settings(**options: Any) -> Settings:
    """The settings, command-line ``options`` over the environment; SettingsError if any is bad."""
    try:
        return Settings(**options)
    except ValidationError as exc:
        problems: dict[str, str] = {}
        for error in exc.errors():
            field = str(error["loc"][0])
            if error["type"] == "value_error":  # a validator of ours says what it expects
                expected = str(error["ctx"]["error"])
            else:
                expected = _expected(Settings.model_fields[field])
            name = setting_name(field, options)
            problems.setdefault(field, f"{name} must be {expected} (got {error['input']!r})")
        raise SettingsError(list(problems.values())) from None


_KINDS: dict[Any, str] = {int: "an integer", float: "a number"}


def _expected(field: FieldInfo) -> str:
    """What a field accepts, in words: "an integer of at least 1", "one of info, debug"."""
    if field.annotation is bool:
        return "true or false, 1 or 0, yes or no"
    choices = get_args(field.annotation)
    if choices:
        return "one of " + ", ".join(map(str, choices))
    kind = _KINDS.get(field.annotation, "text")
    low, above, high = (_bound(field, name) for name in ("ge", "gt", "le"))
    if low is not None and high is not None:
        return f"{kind} from {low} to {high}"
    if low is not None:
        return f"{kind} of at least {low}"
    if above is not None:
        return f"{kind} greater than {above}"
    return kind


def _bound(field: FieldInfo, name: str) -> object:
    """The field's ``ge``, ``gt`` or ``le`` constraint (None when it has none)."""
    return next((getattr(m, name) for m in field.metadata if hasattr(m, name)), None)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this process (read once)."""
    return Settings()
