"""Traces already made, by program and limits, bounded by bytes; identical requests share a run."""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Literal

import msgspec

from gradstage.limits import Limits

# How a request was answered: from the cache, by joining an identical run already under way,
# or by a run of its own.
Served = Literal["hit", "shared", "miss"]


def cache_key(code: str, limits: Limits) -> str:
    """A digest of the program and the limits it runs under."""
    digest = hashlib.sha256(code.encode("utf-8", "surrogatepass"))
    digest.update(b"\0")
    digest.update(msgspec.json.encode(limits))
    return digest.hexdigest()


class TraceCache:
    """An LRU of encoded Traces whose total size stays under ``max_bytes``, plus single-flight.

    Runs are made in tasks of their own, so a run goes on (and is cached) even when the request
    that started it goes away, and everyone asking for the same program meanwhile gets its result.
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.hits = 0
        self.shared = 0
        self.misses = 0
        self.rejected = 0  # missed, and refused by ``admit``: no run
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._inflight: dict[str, asyncio.Task[bytes]] = {}

    def get(self, key: str) -> bytes | None:
        """The cached Trace, moved to the fresh end; None on a miss."""
        data = self._items.get(key)
        if data is not None:
            self._items.move_to_end(key)
        return data

    def put(self, key: str, data: bytes) -> None:
        """Store a Trace, evicting the least recently used ones to stay in budget."""
        if len(data) > self.max_bytes:
            return
        old = self._items.pop(key, None)
        if old is not None:
            self.size -= len(old)
        self._items[key] = data
        self.size += len(data)
        while self.size > self.max_bytes:
            _, evicted = self._items.popitem(last=False)
            self.size -= len(evicted)

    def __len__(self) -> int:
        return len(self._items)

    @property
    def running(self) -> int:
        """Distinct programs being made now."""
        return len(self._inflight)

    async def get_or_make(
        self,
        key: str,
        make: Callable[[], Awaitable[tuple[bytes, bool]]],
        admit: Callable[[], None] | None = None,
    ) -> tuple[bytes, Served]:
        """The cached Trace, a share of an identical run under way, or a new run.

        ``make`` returns the encoded Trace and whether it may be cached. ``admit`` is called
        (synchronously, so nothing can slip in between) only when a new run is needed; it may
        raise to refuse the request (counted in ``rejected``, not ``misses``: every lookup is
        counted once, and ``misses`` are the runs made).
        """
        data = self.get(key)
        if data is not None:
            self.hits += 1
            return data, "hit"
        task = self._inflight.get(key)
        if task is not None:
            self.shared += 1
            return await asyncio.shield(task), "shared"
        if admit is not None:
            try:
                admit()
            except Exception:
                self.rejected += 1
                raise
        self.misses += 1
        task = asyncio.get_running_loop().create_task(self._make(key, make))
        task.add_done_callback(_retrieve)  # a failure nobody waits for any more is not "lost"
        self._inflight[key] = task
        return await asyncio.shield(task), "miss"

    async def _make(self, key: str, make: Callable[[], Awaitable[tuple[bytes, bool]]]) -> bytes:
        try:
            data, cacheable = await make()
        finally:
            self._inflight.pop(key, None)
        if cacheable:
            self.put(key, data)
        return data


def _retrieve(task: asyncio.Task[bytes]) -> None:
    if not task.cancelled():
        task.exception()
