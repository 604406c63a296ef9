"""Limits on one program run, shared by the tracer, the sandbox and the server settings."""

from __future__ import annotations

import msgspec


class Limits(msgspec.Struct, frozen=True, kw_only=True):
    """How much one program may use, and how much of it the Trace keeps."""

    cpu_seconds: float = 5.0
    wall_seconds: float = 10.0
    memory_bytes: int = 1 << 30
    stdout_bytes: int = 64 * 1024
    source_bytes: int = 20 * 1024
    max_nodes: int = 5_000
    max_tensors: int = 20_000
    max_events: int = 20_000
    trace_bytes: int = 4 * 1024 * 1024
    # Loops: full detail for the first and the last iterations, scalars for all of them.
    detail_first: int = 3
    detail_last: int = 2
    seed: int = 0
