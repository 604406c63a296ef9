"""A map from tensor objects to values that does not keep the tensors alive.

``torch.utils.weak.WeakIdKeyDictionary`` does the same in pure Python with more machinery; this
one is on the tracer's hot path (every op looks up its inputs), so it is a plain dict by ``id``
whose entries remove themselves when the tensor dies.
"""

from __future__ import annotations

import weakref
from typing import Any, Generic, TypeVar

V = TypeVar("V")


class WeakIdMap(Generic[V]):
    """``obj -> value`` by identity, holding only weak references to the keys."""

    __slots__ = ("__weakref__", "_data")

    def __init__(self) -> None:
        self._data: dict[int, tuple[weakref.ref[Any], V]] = {}

    def get(self, obj: Any) -> V | None:
        """The value stored for this very object, or None."""
        entry = self._data.get(id(obj))
        if entry is not None and entry[0]() is obj:
            return entry[1]
        return None

    def __setitem__(self, obj: Any, value: V) -> None:
        key = id(obj)
        entry = self._data.get(key)
        if entry is not None and entry[0]() is obj:
            self._data[key] = (entry[0], value)
            return
        self_ref = weakref.ref(self)

        def forget(_: weakref.ref[Any], key: int = key) -> None:
            owner = self_ref()
            if owner is not None:
                current = owner._data.get(key)
                if current is not None and current[0]() is None:
                    del owner._data[key]

        self._data[key] = (weakref.ref(obj, forget), value)

    def __len__(self) -> int:
        return len(self._data)
