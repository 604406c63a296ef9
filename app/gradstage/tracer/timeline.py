"""The list of events, kept bounded: full detail for the first and last loop iterations.

Events of a top-level loop are grouped by iteration. The first ``detail_first`` iterations are
kept; the newest ``detail_last`` are held in a ring; any iteration pushed out of the ring is
counted into one ``skipped`` event. Scalars that matter over the whole loop (the loss) go to
series, which are never dropped.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from gradstage.schema import Output


@dataclass(slots=True)
class Ev:
    """An event before serialisation: its kind and fields (values still as Snapshots)."""

    kind: str
    fields: dict[str, Any]
    line: int | None
    iteration: int | None


# Events kept even when their iteration's detail is dropped: the first NaN must stay findable.
PINNED = frozenset({"anomaly", "warning"})


@dataclass(slots=True)
class _Skip:
    first: int
    last: int
    counts: dict[str, int] = field(default_factory=dict)
    pinned: list[Ev] = field(default_factory=list)
    output: list[list[str]] = field(default_factory=list)  # [stream, text], in order
    # Steps of a loop inside a kept iteration (its line), not iterations of the top loop.
    loop_line: int | None = None

    def count(self, ev: Ev) -> None:
        self.counts[ev.kind] = self.counts.get(ev.kind, 0) + 1
        if ev.kind == "print":
            self._printed(ev.fields.get("stream", "stdout"), ev.fields["text"])

    def merge(self, other: _Skip) -> None:
        """Take in what another marker left out (its counts and output, in order)."""
        for kind, n in other.counts.items():
            self.counts[kind] = self.counts.get(kind, 0) + n
        for stream, text in other.output:
            self._printed(stream, text)

    def _printed(self, stream: str, text: str) -> None:
        if self.output and self.output[-1][0] == stream:
            self.output[-1][1] += text
        else:
            self.output.append([stream, text])


class Timeline:
    """Events in the order they happened, with per-iteration truncation."""

    def __init__(self, detail_first: int, detail_last: int, max_events: int) -> None:
        self.detail_first = detail_first
        self.detail_last = detail_last
        self.max_events = max_events
        self.kept: list[Ev | _Skip] = []
        self._segment: list[Ev] | None = None
        self._tail: deque[list[Ev]] = deque()
        self._skip: _Skip | None = None
        self.iteration: int | None = None
        self.loop_line: int | None = None
        self.iterations_total = 0
        self.detailed: list[int] = []
        self.dropped = 0
        self.limit_hit: str | None = None
        self._count = 0
        self._light = False
        # Steps of an inner loop left out inside a kept iteration, counted.
        self._inner: _Skip | None = None

    def add(self, ev: Ev) -> Ev | None:
        """Append an event; returns it, or None when the event cap dropped it."""
        if self._count >= self.max_events and ev.kind not in ("error", "iteration"):
            self.dropped += 1
            self.limit_hit = self.limit_hit or "max_events"
            return None
        if self._inner is not None:
            self._inner.count(ev)
            self.dropped += 1
            return None
        if self._light:
            self._count_skipped(ev)
            return None
        self._count += 1
        if self._segment is not None:
            self._segment.append(ev)
        else:
            self.kept.append(ev)
        return ev

    def inner_step(self, index: int, loop_line: int, light: bool) -> None:
        """A step of a loop inside the current iteration of the top loop begins; ``light``:
        its detail is left out (it is between the first and the last steps kept). Left-out
        steps in a row become one ``skipped`` marker where they were."""
        if light and not self._light:
            if self._inner is None:
                self._inner = _Skip(first=index, last=index, loop_line=loop_line)
            self._inner.last = index
        else:
            self.end_inner()

    def end_inner(self) -> None:
        """Steps of an inner loop are kept in detail again (or it ended): the marker of those
        left out takes their place."""
        skip, self._inner = self._inner, None
        if skip is None:
            return
        if self._segment is not None:
            self._segment.append(skip)  # type: ignore[arg-type]
        else:
            self.kept.append(skip)

    def begin_iteration(self, index: int, loop_line: int, light: bool = False) -> None:
        """Close the previous iteration's group and open a new one.

        ``light``: this iteration's events are only counted (it is known in advance that they
        fall between the first and the last iterations kept in detail).
        """
        self._close_segment()
        if light:
            # A loop of unknown length that turned light: the iterations held as its last
            # ones are not, so they join the left-out ones (which keeps the order of events).
            while self._tail:
                self._drop(self._tail.popleft())
        self.iteration = index
        self.loop_line = loop_line
        self.iterations_total += 1
        self._light = light
        self._segment = None if light else []

    def end_loop(self) -> None:
        """The loop finished: flush what is held, in order."""
        self._close_segment()
        if self._skip is not None:
            self.kept.extend(self._skip.pinned)
            self.kept.append(self._skip)
            self._skip = None
        while self._tail:
            segment = self._tail.popleft()
            self._mark_detailed(segment)
            self.kept.extend(segment)
        self.iteration = None
        self.loop_line = None

    def _close_segment(self) -> None:
        self.end_inner()
        segment = self._segment
        self._segment = None
        self._light = False
        if segment is None or self.iteration is None:
            return
        if self.iteration < self.detail_first:
            self._mark_detailed(segment)
            self.kept.extend(segment)
            return
        self._tail.append(segment)
        while len(self._tail) > self.detail_last:
            self._drop(self._tail.popleft())

    def leave_light(self) -> None:
        """The current iteration is recorded in detail from here on."""
        self.end_inner()
        if self._light:
            self._light = False
            self._segment = []

    def _count_skipped(self, ev: Ev) -> None:
        index = ev.iteration or 0
        if self._skip is None:
            self._skip = _Skip(first=index, last=index)
        self._skip.first = min(self._skip.first, index)
        self._skip.last = max(self._skip.last, index)
        self._skip.count(ev)
        self.dropped += 1

    def _mark_detailed(self, segment: list[Ev]) -> None:
        if segment and isinstance(segment[0], Ev) and segment[0].iteration is not None:
            self.detailed.append(segment[0].iteration)

    def _drop(self, segment: list[Ev]) -> None:
        if not segment:
            return
        index = segment[0].iteration or 0
        if self._skip is None:
            self._skip = _Skip(first=index, last=index)
        self._skip.first = min(self._skip.first, index)
        self._skip.last = max(self._skip.last, index)
        for ev in segment:
            if isinstance(ev, _Skip):  # inner steps already left out (and counted)
                self._skip.merge(ev)
                continue
            if ev.kind in PINNED and len(self._skip.pinned) < 20:
                self._skip.pinned.append(ev)
                continue
            self._skip.count(ev)
            self._count -= 1
            self.dropped += 1

    def finish(self) -> list[Ev | _Skip]:
        """All kept events in order (closing any loop left open by an error)."""
        if self._segment is not None or self._tail or self._skip is not None:
            self.end_loop()
        return self.kept


def is_skip(item: Ev | _Skip) -> bool:
    """True for the marker of left-out iterations."""
    return isinstance(item, _Skip)


def skip_fields(item: Any) -> dict[str, Any]:
    """The fields of a ``skipped`` event."""
    return {
        "first": item.first,
        "last": item.last,
        "counts": dict(item.counts),
        "output": [Output(text=text, stream=stream) for stream, text in item.output],
        "loop_line": item.loop_line,
    }
