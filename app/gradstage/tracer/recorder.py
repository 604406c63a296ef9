"""The recorder: the state shared by every capture mechanism while one program runs."""

from __future__ import annotations

import sys
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from gradstage.limits import Limits
from gradstage.tracer import values
from gradstage.tracer.graph import Registry, Site, TensorRec
from gradstage.tracer.timeline import Ev, Timeline
from gradstage.tracer.values import Snapshot
from gradstage.tracer.weakmap import WeakIdMap

PROGRAM_FILE = "<program>"

_TRACER_DIR = __file__.rsplit("/", 1)[0]
# Frames inside these files are torch's plumbing between the user's call and the op.
_PLUMBING = ("torch/_tensor.py", "torch/overrides.py", "torch/utils/_device.py", _TRACER_DIR)


def _renames(current: str, name: str) -> bool:
    """True when ``name`` should replace a module's ``current`` name (``self...`` is temporary)."""
    return _provisional(current) and not _provisional(name)


def _provisional(name: str) -> bool:
    return name == "self" or name.startswith("self.")


class Recorder:
    """Collects tensors, Nodes, events and series for one program run."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.registry = Registry()
        self.timeline = Timeline(limits.detail_first, limits.detail_last, limits.max_events)
        self.series: list[dict[str, Any]] = []
        self._loss_series: dict[str, int] = {}
        self.quiet = 0
        self.backward_count = 0
        self.site_counts: dict[tuple[int | None, str], int] = {}
        # .grad tensors and .data aliases -> the tensor they belong to
        self.grad_owner: WeakIdMap[torch.Tensor] = WeakIdMap()
        self.alias_owner: WeakIdMap[torch.Tensor] = WeakIdMap()
        self.retained: list[weakref.ref[torch.Tensor]] = []
        self.modules: dict[int, Any] = {}  # id(module) -> module (kept: modules are long-lived)
        self.module_names: dict[int, str] = {}
        self.module_stack: list[Any] = []
        self.optimizer_names: dict[int, str] = {}
        self.forward_anomaly = False
        self.backward_anomalies: set[str] = set()  # "nan" / "inf" once found in backward
        self.current_backward: str | None = None
        self.running_node: str | None = None
        self.seeded_by_program = False
        self.light = False
        self.no_light = False
        self.warning_tensor: str | None = None  # the tensor whose .grad is being read
        self._named_at: set[tuple[int, int]] = set()
        self._named_version = 0
        # (id, version) of a gradient tensor -> (the tensor, its snapshot), for one backward call
        self.grad_cache: dict[tuple[int, int], tuple[torch.Tensor, Snapshot | None]] = {}

    def record_custom(self, name: str, line: int | None, args: Any, kwargs: Any, out: Any) -> None:
        """Replaced by the forward mode: records a custom Function's apply as one op."""

    # ------------------------------------------------------------------ context

    @contextmanager
    def hush(self) -> Iterator[None]:
        """Do not record the ops run inside (optimizer internals, our own work)."""
        self.quiet += 1
        try:
            yield
        finally:
            self.quiet -= 1

    def user_frame(self) -> tuple[int | None, bool]:
        """The program's current line, and whether the op was called directly by the program.

        Also names tensors: when the program has moved to a new line, the variables its
        previous lines bound are visible in the frame (cheaper than a line tracer).
        """
        frame = sys._getframe(2)
        direct: bool | None = None
        while frame is not None:
            filename = frame.f_code.co_filename
            if filename == PROGRAM_FILE:
                where = (id(frame.f_code), frame.f_lineno)
                if self._named_version != len(self.registry.tensors):
                    # New tensors since the last scans: every line may name something again.
                    self._named_version = len(self.registry.tensors)
                    self._named_at.clear()
                if where not in self._named_at:
                    self._named_at.add(where)
                    self.name_from_frame(frame.f_locals)
                return frame.f_lineno, bool(direct is None)
            if direct is None and not filename.endswith(_PLUMBING) and _TRACER_DIR not in filename:
                direct = False
            frame = frame.f_back  # type: ignore[assignment]
        return None, False

    def site(self, line: int | None, op: str) -> Site:
        """Where an op ran: line, op name and how many times it ran there this iteration."""
        key = (line, op)
        k = self.site_counts.get(key, 0)
        self.site_counts[key] = k + 1
        return (line, op, k)

    # ------------------------------------------------------------------ events

    def emit(self, kind: str, line: int | None = None, **fields: Any) -> Ev | None:
        """Record an event at the current position of the timeline."""
        ev = Ev(kind=kind, fields=fields, line=line, iteration=self.timeline.iteration)
        return self.timeline.add(ev)

    def begin_iteration(self, index: int, loop_line: int, light: bool = False) -> None:
        """A top-level loop starts iteration ``index``; ``light`` when its detail will be left
        out anyway (only structure, series and counts are recorded)."""
        light = light and not self.no_light
        self.light = light
        self.timeline.begin_iteration(index, loop_line, light=light)
        values.CAPTURE = not light
        self.site_counts.clear()
        self.emit("iteration", line=loop_line, index=index, loop_line=loop_line)

    def end_loop(self) -> None:
        """A top-level loop finished."""
        self.timeline.end_loop()
        self.light = False
        values.CAPTURE = True

    def leave_light(self) -> None:
        """Stop skipping detail (something worth seeing happened in a skipped iteration)."""
        self.no_light = True
        if self.light:
            self.light = False
            values.CAPTURE = True
            self.timeline.leave_light()
        self.site_counts.clear()

    def add_series(
        self, name: str, source: str, y: list[Any], x: list[Any] | None, line: int | None
    ) -> int:
        """Append a new series; returns its index."""
        self.series.append({"name": name, "source": source, "y": y, "x": x, "line": line})
        return len(self.series) - 1

    def record_loss(self, name: str, value: float, line: int | None) -> None:
        """Remember a scalar backward root's value: the loss curve, kept for every iteration."""
        index = self._loss_series.get(name)
        if index is None:
            index = self.add_series(name, "loss", [], [], line)
            self._loss_series[name] = index
        series = self.series[index]
        series["y"].append(value)
        it = self.timeline.iteration
        series["x"].append(float(it if it is not None else len(series["y"]) - 1))

    # ------------------------------------------------------------------ tensors

    def tensor(self, t: torch.Tensor, **kwargs: Any) -> TensorRec:
        """Register (or find) a tensor; remember the newest live object for its id."""
        rec = self.registry.tensor(t, **kwargs)
        rec.live = weakref.ref(t)
        return rec

    def leaves(self) -> list[torch.Tensor]:
        """The live leaf tensors that require grad."""
        out = []
        for rec in self.registry.tensors.values():
            if rec.kind in ("leaf", "param") and rec.live is not None:
                t = rec.live()
                if t is not None and t.requires_grad:
                    out.append(t)
        return out

    def name_from_frame(self, namespace: dict[str, Any]) -> None:
        """Give tensors, modules and optimizers the names the program bound them to."""
        for name, obj in list(namespace.items()):
            if name.startswith("__"):
                continue
            if isinstance(obj, torch.Tensor):
                rec = self.registry.known(obj)
                if rec is not None and rec.name is None:
                    rec.name = name
            elif isinstance(obj, torch.nn.Module):
                current = self.module_names.get(id(obj))
                if current is None or _renames(current, name):
                    self.name_module(name, obj)
            elif isinstance(obj, torch.optim.Optimizer):
                self.optimizer_names.setdefault(id(obj), name)

    def name_module(self, name: str, module: torch.nn.Module) -> None:
        """Name a module, its sub-modules and its parameters after the program's variable.

        Inside a class the program calls its module ``self``: that name only holds until the
        module is bound to a variable of its own (``model = MLP()``), which then names it and
        every parameter (``model.fc1.weight``), including those added after ``__init__`` began.
        """
        for sub_name, sub in module.named_modules():
            full = f"{name}.{sub_name}" if sub_name else name
            current = self.module_names.get(id(sub))
            if current is None or _renames(current, full):
                self.module_names[id(sub)] = full
                self.modules[id(sub)] = sub
        for param_name, param in module.named_parameters():
            full = f"{name}.{param_name}"
            current = self.registry.param_names.get(id(param))
            if current is not None and not _renames(current, full):
                continue
            if current is None:
                self.registry.params.append(param)
            self.registry.param_names[id(param)] = full
            rec = self.registry.known(param)
            if rec is not None and (rec.name is None or rec.name == current):
                rec.name = full

    def module_name(self) -> str | None:
        """The qualified name of the innermost running module that has a name."""
        for module in reversed(self.module_stack):
            name = self.module_names.get(id(module))
            if name is not None:
                return name
        return None

    def grad_snapshot(self, t: torch.Tensor) -> Snapshot | None:
        """A snapshot of ``t.grad`` (None when empty)."""
        from gradstage.tracer.values import snap

        with torch._C.DisableTorchFunction():
            return snap(t.grad)
