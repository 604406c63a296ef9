"""Snapshots of tensor contents, taken when something happens and turned into Values later.

Small tensors are copied to Python lists at once. Medium ones are cloned and summarised only
if the event holding them survives truncation (a 1,000-iteration loop does not pay for
statistics nobody will see). Large ones are summarised at once, which costs less than a copy.
"""

from __future__ import annotations

import math
from typing import Any

import torch

from gradstage.schema import (
    FULL_VALUE_LIMIT,
    HISTOGRAM_BINS,
    PREVIEW_LENGTH,
    Histogram,
    Stats,
    Value,
)


def _number(x: float | int | bool) -> float | str:
    """A JSON-safe number: non-finite floats become "nan", "inf", "-inf"."""
    if isinstance(x, bool):
        return 1.0 if x else 0.0
    if isinstance(x, int):
        return float(x)
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return x


def _dtype_name(t: torch.Tensor) -> str:
    return str(t.dtype).removeprefix("torch.")


LAZY_LIMIT = 1 << 14


class Snapshot:
    """A tensor's contents at one moment; ``value()`` gives the schema Value."""

    __slots__ = ("_data", "_dtype", "_finite", "_shape", "_tensor", "_value")

    def __init__(self, t: torch.Tensor) -> None:
        with torch._C.DisableTorchFunction():
            d = t.detach()
            if d.is_complex():
                d = d.real
            if d.layout != torch.strided:
                d = d.to_dense()
            self._shape = list(d.shape)
            self._dtype = _dtype_name(t)
            self._value: Value | None = None
            self._tensor: torch.Tensor | None = None
            floating = d.is_floating_point()
            if d.numel() <= FULL_VALUE_LIMIT:
                self._data: list[Any] | None = d.reshape(-1).tolist()
                self._finite = not floating or all(math.isfinite(x) for x in self._data)
            elif d.numel() <= LAZY_LIMIT:
                # Copied now, summarised only if the event survives truncation.
                self._data = None
                self._tensor = d.clone()
                # NaN and inf propagate into the sum; an overflowing sum is re-checked exactly.
                self._finite = (
                    not floating
                    or math.isfinite(self._tensor.sum().item())
                    or bool(torch.isfinite(self._tensor).all())
                )
            else:
                # Summarised now: cheaper than copying a large tensor, safe against later
                # in-place changes.
                self._data = None
                self._value = summarise(d, self._shape, self._dtype)
                stats = self._value.stats
                self._finite = stats is None or (stats.nan == 0 and stats.inf == 0)

    def finite(self) -> bool:
        """True when every element is finite."""
        return self._finite

    @property
    def shape(self) -> list[int]:
        """The tensor's shape."""
        return self._shape

    def scalar(self) -> float | None:
        """The value as a float when the tensor has exactly one element."""
        if self._data is not None and len(self._data) == 1:
            return float(self._data[0])
        return None

    def value(self) -> Value:
        """The schema Value (computed once)."""
        if self._value is None:
            if self._data is not None:
                self._value = Value(
                    shape=self._shape, dtype=self._dtype, data=[_number(x) for x in self._data]
                )
            else:
                assert self._tensor is not None
                self._value = summarise(self._tensor, self._shape, self._dtype)
                self._tensor = None
        return self._value


HISTOGRAM_SAMPLE = 1 << 13


def summarise(t: torch.Tensor, shape: list[int], dtype: str) -> Value:
    """Stats, a preview and a histogram of a large tensor.

    Built from single fast passes (sum, dot, aminmax): ``torch.std_mean`` is many times slower
    on large tensors, and this runs for every large value the trace keeps.
    """
    with torch._C.DisableTorchFunction():
        f = t.reshape(-1)
        if not f.is_floating_point():
            f = f.to(torch.float32)
        preview = [_number(x) for x in f[:PREVIEW_LENGTH].tolist()]
        nan = inf = 0
        total = float(f.sum())
        if not math.isfinite(total) and not bool(torch.isfinite(f).all()):
            finite_mask = torch.isfinite(f)
            nan = int(torch.isnan(f).sum())
            inf = int(f.numel() - nan - int(finite_mask.sum()))
            f = f[finite_mask]
            total = float(f.sum())
        n = f.numel()
        if n == 0:
            stats = Stats(min=None, max=None, mean=None, std=None, nan=nan, inf=inf)
            return Value(shape=shape, dtype=dtype, stats=stats, preview=preview)
        lo_t, hi_t = torch.aminmax(f)
        lo, hi = float(lo_t), float(hi_t)
        mean = total / n
        std = 0.0
        if n > 1:
            # var = (sum x^2 - n mean^2) / (n - 1); float32 is enough for a displayed summary
            # unless |mean| dwarfs the spread, where the exact two-pass form is used instead.
            squares = float(torch.dot(f, f))
            var = (squares - n * mean * mean) / (n - 1)
            if var < 1e-4 * mean * mean:
                var = float(torch.var(f))
            std = math.sqrt(max(var, 0.0))
        stats = Stats(min=lo, max=hi, mean=mean, std=std, nan=nan, inf=inf)
        sample = None
        if n > HISTOGRAM_SAMPLE:
            f = f[:: -(-n // HISTOGRAM_SAMPLE)]
            sample = int(f.numel())
        counts = torch.histc(f, bins=HISTOGRAM_BINS, min=lo, max=hi if hi > lo else lo + 1)
        histogram = Histogram(
            low=lo, high=hi, counts=[int(c) for c in counts.tolist()], sample=sample
        )
        return Value(shape=shape, dtype=dtype, stats=stats, preview=preview, histogram=histogram)


# Off while the tracer runs a loop iteration whose detail will not be kept.
CAPTURE = True


def snap(t: Any) -> Snapshot | None:
    """Snapshot a tensor; None for anything else (or an undefined gradient)."""
    if CAPTURE and isinstance(t, torch.Tensor):
        try:
            return Snapshot(t)
        except RuntimeError:  # meta tensors, freed storage: nothing to show
            return None
    return None


def value_of(s: Snapshot | None) -> Value | None:
    """The Value of a snapshot, or None."""
    return None if s is None else s.value()


def is_finite(t: torch.Tensor) -> bool:
    """True when every element is finite (non-float tensors always are)."""
    with torch._C.DisableTorchFunction():
        if not (t.is_floating_point() or t.is_complex()):
            return True
        d = t.detach()
        # One reduction: NaN and inf propagate into the sum (overflow is re-checked exactly).
        return bool(torch.isfinite(d.sum())) or bool(torch.isfinite(d).all())
