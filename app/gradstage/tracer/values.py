"""Snapshots of tensor contents, taken when something happens and turned into Values later.

Small tensors are copied to Python lists at once. Large ones are summarised at once (a copy
would cost as much as the summary). Medium ones are copied and summarised later, all together:
a few NumPy passes over all of them cost less than a summary each (a ResNet's backward has
hundreds), and a snapshot whose event did not survive truncation (a 1,000-iteration loop) is
never summarised at all.
"""

from __future__ import annotations

import math
import weakref
from typing import Any

import msgspec
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


is_functorch_wrapped = torch._C._functorch.is_functorch_wrapped_tensor


def _dtype_name(t: torch.Tensor) -> str:
    name = _DTYPE_NAMES.get(t.dtype)
    if name is None:
        name = _DTYPE_NAMES[t.dtype] = str(t.dtype).removeprefix("torch.")
    return name


# Tensors with more elements than FULL_VALUE_LIMIT and at most this many are summarised in
# batches; larger ones at once.
BATCH_LIMIT = 1 << 14
# Medium snapshots are copied one after another into shared buffers of this many elements (4 MiB
# of float32), one buffer per dtype at a time: no allocation per snapshot, and a batch reads
# each buffer as one array. Full buffers wait until they are summarised; when the copies
# waiting reach PENDING_LIMIT elements (16 MiB of float32), they are summarised at once, to
# bound the memory they hold.
CHUNK_ELEMENTS = 1 << 20
PENDING_LIMIT = 1 << 22


class _Chunk:
    """A flat buffer that medium snapshots copy into, back to back."""

    __slots__ = ("array", "size", "tensor", "used")

    def __init__(self, dtype: torch.dtype, size: int) -> None:
        self.tensor = torch.empty(size, dtype=dtype)
        self.array: Any = self.tensor.numpy()
        self.size = size
        self.used = 0


class Snapshot:
    """A tensor's contents at one moment; ``value()`` gives the schema Value."""

    __slots__ = (
        "__weakref__",
        "_chunk",
        "_data",
        "_dtype",
        "_finite",
        "_imag",
        "_layout",
        "_shape",
        "_start",
        "_total",
        "_value",
    )
    _data: list[Any] | None
    _dtype: str
    _finite: bool
    _imag: list[Any] | None
    _layout: str | None
    _shape: list[int]
    _chunk: _Chunk | None
    _start: int
    _total: float
    _value: Value | None

    def __init__(self, t: torch.Tensor, contents: bool = True) -> None:
        self._layout = None
        if not contents:
            self._describe(t)
            return
        try:
            self._take(t)
        except RuntimeError:
            # Nothing to read: inside torch.func transforms (vmap's batched tensors refuse
            # .item()), meta tensors, freed storage. The shape and dtype are still known.
            self._describe(t)

    def _describe(self, t: torch.Tensor) -> None:
        """The shape and dtype only."""
        self._data = self._chunk = self._imag = None
        self._shape = list(t.shape)
        self._dtype = _dtype_name(t)
        self._value = Value(shape=self._shape, dtype=self._dtype)
        self._finite = True

    def _take(self, t: torch.Tensor) -> None:
        with torch._C.DisableTorchFunction():
            if is_functorch_wrapped(t):
                raise RuntimeError("a torch.func transform's tensor")
            d = t.detach()
            if d._is_zerotensor():
                # Autograd's zeros without memory (the gradient of sign, of l1_loss's
                # gradient): they print as zeros, but cannot be read as they are.
                d = torch.zeros_like(d)
            if d.layout != torch.strided:
                self._layout = str(d.layout).removeprefix("torch.")
                d = d.to_dense()
            imag = None
            if d.is_complex():
                # Small complex tensors keep both parts; larger ones are summarised by their
                # real part, and say so.
                imag, d = d.imag, d.real
            self._shape = list(d.shape)
            self._dtype = _dtype_name(t)
            self._value = None
            self._chunk = None
            self._imag = None
            n = d.numel()
            if n <= FULL_VALUE_LIMIT:
                data: list[Any] = d.reshape(-1).tolist()
                self._data = data
                self._finite = (
                    not d.is_floating_point()
                    or math.isfinite(sum(data))
                    or all(map(math.isfinite, data))
                )
                if imag is not None:
                    self._imag = imag.reshape(-1).tolist()
                    self._finite = self._finite and all(map(math.isfinite, self._imag))
                return
            self._data = None
            if imag is not None:
                value = summarise(d, self._shape, self._dtype)
                self._value = msgspec.structs.replace(value, real_part_only=True)
                stats = value.stats
                self._finite = stats is None or (stats.nan == 0 and stats.inf == 0)
                return
            if n <= BATCH_LIMIT:
                chunk = _chunk_for(n, torch.float64 if d.dtype == torch.float64 else torch.float32)
                start = chunk.used
                copy = chunk.tensor[start : start + n]
                copy.view(d.shape).copy_(d)  # converts integers and booleans to float32
                # NaN and inf propagate into the sum (kept for the mean); an overflowing sum is
                # re-checked element by element.
                total = copy.sum().item()
                self._finite = math.isfinite(total) or bool(torch.isfinite(copy).all())
                if self._finite:
                    if not math.isfinite(total):
                        total = copy.sum(dtype=torch.float64).item()
                    chunk.used = start + n
                    self._chunk, self._start, self._total = chunk, start, total
                    _wait_for_batch(self, n)
                    return
                d = copy.clone()  # the buffer's space is given to the next snapshot
            # Summarised now: safe against later in-place changes.
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
                data, imag = self._data, self._imag
                if self._dtype in _SHORT_DTYPES:
                    data = shortest(data)
                    imag = shortest(imag) if imag is not None else None
                if not self._finite:
                    data = [_number(x) for x in data]
                elif data and not isinstance(data[0], float):
                    data = [float(x) for x in data]  # integers and booleans
                if imag is not None and not self._finite:
                    imag = [_number(x) for x in imag]
                self._value = Value(shape=self._shape, dtype=self._dtype, data=data, imag=imag)
            else:
                summarise_waiting()  # every waiting copy, this one included
        assert self._value is not None
        if self._layout is not None and self._value.layout is None:
            self._value = msgspec.structs.replace(self._value, layout=self._layout)
        return self._value


# Element types whose numbers are float32 (or fewer bits): written with float32's digits.
_SHORT_DTYPES = frozenset({"float32", "float16", "bfloat16", "complex64"})


def shortest(values: list[Any]) -> list[Any]:
    """float32 numbers written with the fewest digits that name them exactly (0.1, not
    0.10000000149011612, the float64 spelling of the same number): read back as float32 they
    are the same numbers, and a Trace full of small tensors is about a third smaller."""
    return [float(s) for s in numpy.asarray(values, dtype=numpy.float32).astype(str)]


# Histograms of larger tensors count an evenly strided sample of at most this many elements:
# the shape of the distribution, for a small fixed cost. The stride is odd, so that it does
# not fall on the same column of every row of an image-shaped (power-of-two wide) tensor.
HISTOGRAM_SAMPLE = 1 << 10


def summarise(t: torch.Tensor, shape: list[int], dtype: str) -> Value:
    """Stats, a preview and a histogram of a large tensor.

    The statistics come from single fast passes (torch's sum, torch's aminmax, a BLAS dot
    product for the sum of squares): ``torch.std_mean`` is many times slower on large
    tensors, and this runs for every large value the trace keeps. The histogram bins a strided
    sample with NumPy, several times cheaper than ``torch.histc``. NumPy only computes in
    float64 here, where float32 data cannot overflow (its dot product's overflow warning is
    silenced): its warnings would reach the program's warning handler and be recorded as the
    program's own.
    """
    with torch._C.DisableTorchFunction():
        f = (t.detach() if t.requires_grad else t).reshape(-1)
        if f.dtype not in _FLOATS:
            f = f.to(torch.float32)
        total = f.sum().item()
        if not math.isfinite(total):
            if not bool(torch.isfinite(f).all()):
                return _summarise_non_finite(f, shape, dtype)
            total = f.sum(dtype=torch.float64).item()  # finite elements, an overflowing sum
        return _summarise_finite(f, total, shape, dtype, f.numpy()[:PREVIEW_LENGTH].tolist())


def _summarise_finite(
    f: torch.Tensor,
    total: float,
    shape: list[int],
    dtype: str,
    preview: list[Any],
    nan: int = 0,
    inf: int = 0,
) -> Value:
    """Summary of a flat float tensor of finite elements whose sum is ``total``."""
    n = f.shape[0]
    a = f.numpy()
    # One pass for both (about twice as fast as NumPy's min() and max() on large tensors).
    low, high = torch.aminmax(f)
    lo, hi = low.item(), high.item()
    mean = total / n
    std = 0.0
    if n > 1:
        # var = (sum x^2 - n mean^2) / (n - 1), unless |mean| dwarfs the spread (or the sum of
        # squares overflows float32): then the exact two-pass form, in float64. NumPy's dot
        # (BLAS) is the fastest sum of squares; its overflow warning would be recorded as the
        # program's own.
        with numpy.errstate(all="ignore"):
            squares = float(numpy.dot(a, a))
        var = (squares - n * mean * mean) / (n - 1)
        if math.isfinite(var) and var >= 1e-4 * mean * mean:
            std = math.sqrt(max(var, 0.0))
        else:
            mean, std = _exact_mean_std(a)
    stats = Stats(min=lo, max=hi, mean=mean, std=std, nan=nan, inf=inf)
    step = -(-n // HISTOGRAM_SAMPLE)
    if step > 1:
        step |= 1
        a = a[::step]
    counts = _bin_counts(a.astype(numpy.float64), lo, hi)
    histogram = Histogram(
        low=lo, high=hi, counts=counts, sample=int(a.shape[0]) if step > 1 else None
    )
    return Value(shape=shape, dtype=dtype, stats=stats, preview=preview, histogram=histogram)


def _exact_mean_std(a: Any) -> tuple[float, float]:
    """Mean and standard deviation of an array of at least two finite numbers, in two passes
    in float64. Where those would overflow (numbers near 1e308) they are computed on the
    numbers divided by the largest magnitude, then scaled back. (NumPy's overflow warnings
    would be recorded as the program's own.)"""
    with numpy.errstate(all="ignore"):
        d = a.astype(numpy.float64)
        scale = 1.0
        mean = float(d.mean())
        d -= mean
        squares = float(numpy.dot(d, d))
        if not (math.isfinite(mean) and math.isfinite(squares)):
            d = a.astype(numpy.float64)
            scale = float(numpy.max(numpy.abs(d)))
            d /= scale
            mean = float(d.mean())
            d -= mean
            squares = float(numpy.dot(d, d))
    return mean * scale, math.sqrt(squares / (d.shape[0] - 1)) * scale


def _summarise_non_finite(f: torch.Tensor, shape: list[int], dtype: str) -> Value:
    """Summary of a flat float tensor holding NaN or inf: counts of those, stats of the rest."""
    n = f.shape[0]
    preview = [_number(x) for x in f.numpy()[:PREVIEW_LENGTH].tolist()]
    finite = torch.isfinite(f)
    nan = int(torch.isnan(f).sum())
    rest = f[finite]
    inf = n - nan - rest.shape[0]
    if rest.shape[0] == 0:
        stats = Stats(min=None, max=None, mean=None, std=None, nan=nan, inf=inf)
        return Value(shape=shape, dtype=dtype, stats=stats, preview=preview)
    total = rest.sum(dtype=torch.float64).item()
    return _summarise_finite(rest, total, shape, dtype, preview, nan, inf)


def _bin_counts(a: Any, lo: float, hi: float) -> list[int]:
    """Counts of ``a``'s elements (float64, finite) in ``HISTOGRAM_BINS`` equal bins over
    [lo, hi], as ``torch.histc`` counts them (see ``_bin_index``)."""
    index = _bin_index(a, numpy.float64(lo), numpy.float64(hi))
    counts: list[int] = numpy.bincount(index, minlength=HISTOGRAM_BINS).tolist()
    return counts


def _bin_index(a: Any, lo: Any, hi: Any) -> Any:
    """The bin of each element of ``a`` (float64, finite) among ``HISTOGRAM_BINS`` equal bins
    over [lo, hi] (``lo`` and ``hi`` per element, or one each): the maximum falls in the last
    bin; all fall in the first when lo == hi. Computed in halves: the span of numbers near the
    largest float64 would overflow."""
    span = hi * 0.5 - lo * 0.5
    scale = numpy.divide(HISTOGRAM_BINS, span, out=numpy.zeros_like(span), where=span > 0)
    scaled = (a * 0.5 - lo * 0.5) * scale
    index = numpy.nan_to_num(scaled, nan=0.0, posinf=HISTOGRAM_BINS - 1).astype(numpy.intp)
    numpy.minimum(index, HISTOGRAM_BINS - 1, out=index)
    return index


# The buffer each dtype's medium snapshots are being copied into, the buffers filled since the
# last batch, and the snapshots waiting to be summarised together (weakly: a snapshot whose
# event was dropped is not summarised), with how many elements their copies hold. After a
# batch every buffer is free again; a few are kept for the next snapshots (fresh memory costs
# a page fault per 4 KiB on first write).
_current: dict[torch.dtype, _Chunk] = {}
_filled: list[_Chunk] = []
_free: dict[torch.dtype, list[_Chunk]] = {}
FREE_CHUNKS_KEPT = 4
_waiting: list[weakref.ref[Snapshot]] = []
_waiting_elements = 0


def _chunk_for(n: int, dtype: torch.dtype) -> _Chunk:
    """The buffer with room for the next ``n`` elements of ``dtype``."""
    chunk = _current.get(dtype)
    if chunk is None or chunk.used + n > chunk.size:
        if chunk is not None:
            _filled.append(chunk)
        free = _free.get(dtype)
        chunk = free.pop() if free and free[-1].size >= n else _Chunk(dtype, max(CHUNK_ELEMENTS, n))
        _current[dtype] = chunk
    return chunk


def _release_chunks() -> None:
    """Every buffer is free once the snapshots waiting in them are summarised."""
    for chunk in [*_filled, *_current.values()]:
        chunk.used = 0
        free = _free.setdefault(chunk.tensor.dtype, [])
        if len(free) < FREE_CHUNKS_KEPT:
            free.append(chunk)
    _filled.clear()
    _current.clear()


def _wait_for_batch(s: Snapshot, n: int) -> None:
    global _waiting_elements
    _waiting.append(weakref.ref(s))
    _waiting_elements += n
    if _waiting_elements > PENDING_LIMIT:
        summarise_waiting()


def summarise_waiting() -> None:
    """Summarise every medium snapshot still waiting (and still wanted), one batch per buffer.

    NumPy's floating-point warnings are off here: an overflowing sum of squares is recomputed
    exactly, and a warning would reach the program's warning handler and be recorded as the
    program's own.
    """
    global _waiting_elements
    groups: dict[int, tuple[_Chunk, list[Snapshot]]] = {}
    for ref in _waiting:
        s = ref()
        if s is not None and s._chunk is not None:
            group = groups.get(id(s._chunk))
            if group is None:
                groups[id(s._chunk)] = (s._chunk, [s])
            else:
                group[1].append(s)
    _waiting.clear()
    _waiting_elements = 0
    with numpy.errstate(all="ignore"):
        for chunk, snaps in groups.values():
            for s, v in zip(snaps, _batch_values(chunk.array, snaps), strict=True):
                s._value, s._chunk = v, None
    _release_chunks()


def _batch_values(buffer: Any, snaps: list[Snapshot]) -> list[Value]:
    """The Values of snapshots whose copies lie in ``buffer`` (in order, finite, more than
    ``FULL_VALUE_LIMIT`` elements each), with a few NumPy passes over all of them at once."""
    count = len(snaps)
    starts = numpy.fromiter((s._start for s in snaps), dtype=numpy.intp, count=count)
    lengths = numpy.fromiter((math.prod(s._shape) for s in snaps), dtype=numpy.intp, count=count)
    ends = starts + lengths
    flat = buffer[: int(ends[-1])]
    # Minimum and maximum per copy: reduceat over [start0, end0, start1, end1, ..., start_last]
    # reduces each copy and each gap between two (a dropped snapshot's space); every other
    # result is a copy's.
    bounds = numpy.empty(2 * count - 1, dtype=numpy.intp)
    bounds[0::2] = starts
    bounds[1::2] = ends[:-1]
    lows = numpy.minimum.reduceat(flat, bounds)[0::2].astype(numpy.float64)
    highs = numpy.maximum.reduceat(flat, bounds)[0::2].astype(numpy.float64)
    arrays = [flat[a:b] for a, b in zip(starts.tolist(), ends.tolist(), strict=True)]
    totals = numpy.fromiter((s._total for s in snaps), dtype=numpy.float64, count=count)
    squares = numpy.fromiter((numpy.dot(a, a) for a in arrays), dtype=numpy.float64, count=count)
    means = totals / lengths
    variances = (squares - lengths * means * means) / (lengths - 1)
    # The exact two-pass form where |mean| dwarfs the spread (a float32 sum of squares cannot
    # tell them apart: constant-ish tensors) or the sum of squares overflowed float32.
    exact = numpy.isfinite(variances) & (variances >= 1e-4 * means * means)
    stds = numpy.sqrt(numpy.maximum(variances, 0.0))
    for i in numpy.flatnonzero(~exact).tolist():
        means[i], stds[i] = _exact_mean_std(arrays[i])

    # Histograms: every element of a tensor of at most HISTOGRAM_SAMPLE, else a strided sample.
    # The sampled positions are a running sum of steps that jumps to each copy's start.
    steps = numpy.maximum(-(-lengths // HISTOGRAM_SAMPLE), 1)
    steps[steps > 1] |= 1
    taken = -(-lengths // steps)
    first = numpy.zeros_like(taken)
    numpy.cumsum(taken[:-1], out=first[1:])
    moves = numpy.repeat(steps, taken)
    last = starts + (taken - 1) * steps
    moves[first[1:]] = starts[1:] - last[:-1]
    moves[0] = starts[0]
    sample = flat[numpy.cumsum(moves)].astype(numpy.float64)
    bins = _bin_index(sample, numpy.repeat(lows, taken), numpy.repeat(highs, taken))
    bins += numpy.repeat(numpy.arange(0, count * HISTOGRAM_BINS, HISTOGRAM_BINS), taken)
    flat_counts = numpy.bincount(bins, minlength=count * HISTOGRAM_BINS)
    counts: list[list[int]] = flat_counts.reshape(count, HISTOGRAM_BINS).tolist()

    out: list[Value] = []
    rows = zip(
        snaps,
        arrays,
        lows.tolist(),
        highs.tolist(),
        means.tolist(),
        stds.tolist(),
        steps.tolist(),
        taken.tolist(),
        counts,
        strict=True,
    )
    for s, a, lo, hi, mean, std, step, m, bin_counts in rows:
        stats = Stats(min=lo, max=hi, mean=mean, std=std, nan=0, inf=0)
        histogram = Histogram(low=lo, high=hi, counts=bin_counts, sample=m if step > 1 else None)
        preview = a[:PREVIEW_LENGTH].tolist()
        out.append(
            Value(shape=s._shape, dtype=s._dtype, stats=stats, preview=preview, histogram=histogram)
        )
    return out


# Off while the tracer runs a loop iteration whose detail will not be kept.
CAPTURE = True


def snap(t: Any) -> Snapshot | None:
    """Snapshot a tensor; None for anything else (an undefined gradient, a nested tensor)."""
    if CAPTURE and isinstance(t, torch.Tensor) and not t.is_nested:
        return Snapshot(t)
    return None


def snap_shape(t: torch.Tensor) -> Snapshot | None:
    """A tensor's shape and dtype only: for memory whose contents mean nothing to a learner."""
    return Snapshot(t, contents=False) if CAPTURE else None


def value_of(s: Snapshot | None) -> Value | None:
    """The Value of a snapshot, or None."""
    return None if s is None else s.value()


def is_finite(t: torch.Tensor) -> bool:
    """True when every element is finite (non-float tensors always are; so are those of
    torch.func transforms, which cannot be read)."""
    with torch._C.DisableTorchFunction():
        if not (t.is_floating_point() or t.is_complex()) or is_functorch_wrapped(t):
            return True
        d = t.detach()
        # Of a sparse tensor, the numbers it stores (the rest are zeros), copied: a view of
        # them cannot be read as real numbers (complex ones are) in place.
        if d.layout == torch.sparse_coo:
            d = d._values().clone()
        elif d.layout != torch.strided:
            d = d.values().clone()
        if d.is_complex():
            # complex32 has no sum at all (and complex tensors are rare): element by element.
            return bool(torch.isfinite(d).all())
        # One reduction: NaN and inf propagate into the sum (overflow is re-checked exactly).
        total = d.sum().item()
        return math.isfinite(total) or bool(torch.isfinite(d).all())
