"""The contract between the server and whatever runs programs (the sandbox pool).

The server never runs a learner's program in its own process; it asks a ``Runner``.
"""

from __future__ import annotations

from typing import Protocol

from gradstage.limits import Limits
from gradstage.schema import Trace


class Runner(Protocol):
    """Runs untrusted programs elsewhere and returns validated Traces."""

    @property
    def ready(self) -> bool:
        """True when a warm worker can take a program now."""
        ...

    async def start(self) -> None:
        """Start workers (and warm them up)."""
        ...

    async def close(self) -> None:
        """Stop every worker."""
        ...

    async def run(self, source: str, limits: Limits) -> Trace:
        """Trace ``source``; a learner's error or a limit hit is a Trace with ``error`` set."""
        ...

    def layers(self) -> dict[str, object]:
        """Which isolation layers are active (for logs and the status endpoint)."""
        ...
