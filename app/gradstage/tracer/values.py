"""Snapshots of tensor contents, taken when something happens and turned into Values later.

Small tensors are copied to Python lists at once. Medium ones are cloned and summarised only
if the event holding them survives truncation (a 1,000-iteration loop does not pay for
statistics nobody will see), unless the event is known to be kept (``EAGER``): then, like large
ones, they are summarised at once, which costs less than a copy and a summary later.
"""

from __future__ import annotations

import cmath
import math
from typing import Any

import numpy
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


_DTYPE_NAMES: dict[torch.dtype, str] = {}
_FLOATS = (torch.float32, torch.float64)  # the dtypes NumPy reads as they are


def _dtype_name(t: torch.Tensor) -> str:
    name = _DTYPE_NAMES.get(t.dtype)
    if name is None:
        name = _DTYPE_NAMES[t.dtype] = str(t.dtype).removeprefix("torch.")
    return name


def _all_finite(t: torch.Tensor) -> bool:
    """True when every element of a floating tensor is finite: one sum (NaN and inf propagate
    into it), re-checked element by element only when it is not finite (it may overflow)."""
    if t.dtype == torch.float32:
        # NumPy sums float32 pairwise, here into float64: no overflow, and no NumPy warning
        # (which the program's warning handler would record as the program's own).
        if math.isfinite(t.numpy().sum(dtype=numpy.float64)):
            return True
    elif math.isfinite(t.sum().item()):
        return True
    return bool(torch.isfinite(t).all())


LAZY_LIMIT = 1 << 14


class Snapshot:
    """A tensor's contents at one moment; ``value()`` gives the schema Value."""

    __slots__ = ("_data", "_dtype", "_finite", "_shape", "_tensor", "_value")

    def __init__(self, t: torch.Tensor) -> None:
        with torch._C.DisableTorchFunction():
            d = t.detach()
            if d.layout != torch.strided:
                d = d.to_dense()
            if d.is_complex():
                d = d.real
            self._shape = list(d.shape)
            self._dtype = _dtype_name(t)
            self._value: Value | None = None
            self._tensor: torch.Tensor | None = None
            n = d.numel()
            if n <= FULL_VALUE_LIMIT:
                data: list[Any] = d.reshape(-1).tolist()
                self._data: list[Any] | None = data
                self._finite = (
                    not d.is_floating_point()
                    or math.isfinite(sum(data))
                    or all(map(math.isfinite, data))
                )
            elif n <= LAZY_LIMIT and not EAGER:
                # Copied now, summarised only if the event survives truncation.
                self._data = None
                self._tensor = copy = d.clone()
                # NaN and inf propagate into the sum; an overflowing sum is re-checked exactly.
                self._finite = not copy.is_floating_point() or _all_finite(copy)
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
                data = self._data
                if not self._finite:
                    data = [_number(x) for x in data]
                elif data and not isinstance(data[0], float):
                    data = [float(x) for x in data]  # integers and booleans
                self._value = Value(shape=self._shape, dtype=self._dtype, data=data)
            else:
                assert self._tensor is not None
                self._value = summarise(self._tensor, self._shape, self._dtype)
                self._tensor = None
        return self._value


# Histograms of larger tensors count an evenly strided sample of at most this many elements:
# the shape of the distribution, for a small fixed cost.
HISTOGRAM_SAMPLE = 1 << 11
# Up to this many elements a float32 tensor is summarised with NumPy, in float64 (each call
# costs less than torch's there); above it torch's vectorised float32 kernels are faster.
NUMPY_LIMIT = 1 << 13


def summarise(t: torch.Tensor, shape: list[int], dtype: str) -> Value:
    """Stats, a preview and a histogram of a large tensor.

    Built from single fast passes (sum, min and max, dot): ``torch.std_mean`` is many times
    slower on large tensors, and this runs for every large value the trace keeps. The histogram
    bins a strided sample with NumPy, several times cheaper than ``torch.histc``. NumPy only
    ever sees float64 copies of float32 data, which cannot overflow: its warnings would reach
    the program's warning handler and be recorded as the program's own.
    """
    with torch._C.DisableTorchFunction():
        f = (t.detach() if t.requires_grad else t).reshape(-1)
        if f.dtype not in _FLOATS:
            f = f.to(torch.float32)
        if f.dtype == torch.float32 and f.shape[0] <= NUMPY_LIMIT:
            return _summarise_small(f.numpy().astype(numpy.float64), shape, dtype)
        return _summarise_large(f, shape, dtype)


def _summarise_small(a: Any, shape: list[int], dtype: str) -> Value:
    """Summary of a float64 NumPy array (a copy of a float32 tensor's elements)."""
    n = a.shape[0]
    total = float(a.sum())
    preview: list[Any] = a[:PREVIEW_LENGTH].tolist()
    nan = inf = 0
    if not math.isfinite(total):
        finite = numpy.isfinite(a)
        nan = int(numpy.isnan(a).sum())
        inf = n - nan - int(finite.sum())
        preview = [_number(x) for x in preview]
        a = a[finite]
        n = a.shape[0]
        total = float(a.sum())
    if n == 0:
        stats = Stats(min=None, max=None, mean=None, std=None, nan=nan, inf=inf)
        return Value(shape=shape, dtype=dtype, stats=stats, preview=preview)
    lo, hi = float(a.min()), float(a.max())
    mean = total / n
    std = 0.0
    if n > 1:
        var = (float(numpy.dot(a, a)) - n * mean * mean) / (n - 1)
        if var < 1e-6 * mean * mean:  # |mean| dwarfs the spread: the exact two-pass form
            var = float(a.var(ddof=1))
        std = math.sqrt(max(var, 0.0))
    stats = Stats(min=lo, max=hi, mean=mean, std=std, nan=nan, inf=inf)
    sampled = n > HISTOGRAM_SAMPLE
    if sampled:
        a = a[:: -(-n // HISTOGRAM_SAMPLE)]
    return _value(shape, dtype, stats, preview, a, sampled)


def _summarise_large(f: torch.Tensor, shape: list[int], dtype: str) -> Value:
    """Summary of a flat float tensor with torch's reductions."""
    n = f.shape[0]
    total = float(f.sum())
    preview: list[Any] = f.numpy()[:PREVIEW_LENGTH].tolist()  # NumPy slices cost less
    nan = inf = 0
    if not math.isfinite(total) and not bool(torch.isfinite(f).all()):
        finite = torch.isfinite(f)
        nan = int(torch.isnan(f).sum())
        inf = n - nan - int(finite.sum())
        preview = [_number(x) for x in preview]
        f = f[finite]
        n = f.shape[0]
        total = float(f.sum())
    if n == 0:
        stats = Stats(min=None, max=None, mean=None, std=None, nan=nan, inf=inf)
        return Value(shape=shape, dtype=dtype, stats=stats, preview=preview)
    lo_t, hi_t = torch.aminmax(f)
    lo, hi = lo_t.item(), hi_t.item()
    mean = total / n
    std = 0.0
    if n > 1:
        # var = (sum x^2 - n mean^2) / (n - 1); float32 is enough for a displayed summary
        # unless |mean| dwarfs the spread, where the exact two-pass form is used instead.
        var = (float(torch.dot(f, f)) - n * mean * mean) / (n - 1)
        if var < 1e-4 * mean * mean:
            var = float(torch.var(f))
        std = math.sqrt(max(var, 0.0))
    stats = Stats(min=lo, max=hi, mean=mean, std=std, nan=nan, inf=inf)
    sampled = n > HISTOGRAM_SAMPLE
    a = f.numpy()
    if sampled:
        a = a[:: -(-n // HISTOGRAM_SAMPLE)]
    return _value(shape, dtype, stats, preview, a.astype(numpy.float64), sampled)


def _value(
    shape: list[int], dtype: str, stats: Stats, preview: list[Any], values: Any, sampled: bool
) -> Value:
    """The Value of a summarised tensor; ``values``: its finite elements as float64 (a strided
    sample of them when ``sampled``), for the histogram."""
    lo, hi = float(stats.min or 0.0), float(stats.max or 0.0)
    histogram = Histogram(
        low=lo,
        high=hi,
        counts=_bin_counts(values, lo, hi),
        sample=int(values.shape[0]) if sampled else None,
    )
    return Value(shape=shape, dtype=dtype, stats=stats, preview=preview, histogram=histogram)


def _bin_counts(a: Any, lo: float, hi: float) -> list[int]:
    """Counts of ``a``'s elements (float64, finite) in ``HISTOGRAM_BINS`` equal bins over
    [lo, hi], as ``torch.histc`` counts them: the maximum falls in the last bin; all fall in
    the first when lo == hi."""
    if hi > lo:
        index = ((a - lo) * (HISTOGRAM_BINS / (hi - lo))).astype(numpy.intp)
        numpy.minimum(index, HISTOGRAM_BINS - 1, out=index)
    else:
        index = numpy.zeros(a.shape[0], dtype=numpy.intp)
    counts: list[int] = numpy.bincount(index, minlength=HISTOGRAM_BINS).tolist()
    return counts


# Off while the tracer runs a loop iteration whose detail will not be kept.
CAPTURE = True
# On while the events being recorded will surely be kept (outside loops, the first and last
# iterations of a loop): medium tensors are summarised at once instead of copied for later.
EAGER = True


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
        total = d.sum().item()
        finite = cmath.isfinite(total) if isinstance(total, complex) else math.isfinite(total)
        return finite or bool(torch.isfinite(d).all())
