"""Traces already made, by program and limits, bounded by bytes; identical requests share one run."""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict
from collections.abc import Awaitable, Callable

import msgspec

from gradstage.limits import Limits


def cache_key(code: str, limits: Limits) -> str:
    """A digest of the program and the limits it runs under."""
    digest = hashlib.sha256(code.encode())
    digest.update(msgspec.json.encode(limits))
    return digest.hexdigest()


class TraceCache:
    """An LRU of encoded Traces whose total size stays under ``max_bytes``."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self.size = 0
        self.hits = 0
        self.misses = 0
        self._items: OrderedDict[str, bytes] = OrderedDict()
        self._inflight: dict[str, asyncio.Future[tuple[bytes, bool]]] = {}

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

    async def get_or_make(
        self, key: str, make: Callable[[], Awaitable[tuple[bytes, bool]]]
    ) -> tuple[bytes, bool]:
        """The cached Trace, or one made once for everybody asking at the same time.

        ``make`` returns the encoded Trace and whether it may be cached. The boolean returned
        here says whether the answer came from the cache (or another request's run).
        """
        data = self.get(key)
        if data is not None:
            self.hits += 1
            return data, True
        pending = self._inflight.get(key)
        if pending is not None:
            self.hits += 1
            data, _ = await asyncio.shield(pending)
            return data, True
        self.misses += 1
        future: asyncio.Future[tuple[bytes, bool]] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            data, cacheable = await make()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: nobody else may be waiting
            raise
        finally:
            self._inflight.pop(key, None)
        if cacheable:
            self.put(key, data)
        future.set_result((data, cacheable))
        return data, False
