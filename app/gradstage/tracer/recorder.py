"""The recorder: the state shared by every capture mechanism while one program runs."""

from __future__ import annotations

import sys
import time
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
import torch.overrides

from gradstage.limits import Limits
from gradstage.tracer import values
from gradstage.tracer.graph import Registry, Site, TensorRec
from gradstage.tracer.timeline import Ev, Timeline
from gradstage.tracer.values import Snapshot
from gradstage.tracer.weakmap import WeakIdMap

# The torch function modes active now, innermost last.
_mode_stack: Callable[[], list[Any]] = torch.overrides._get_current_function_mode_stack

PROGRAM_FILE = "<program>"

# Share of the CPU time limit a loop of unknown length may spend recording every iteration in
# detail (the last ones are only known when it ends).
LOOP_DETAIL_SHARE = 0.3

_TRACER_DIR = __file__.rsplit("/", 1)[0]
# Frames inside these files are torch's plumbing between the user's call and the op (the
# autograd module's backward() and grad() hand their call to the tracer first thing).
_PLUMBING = (
    "torch/_tensor.py",
    "torch/overrides.py",
    "torch/utils/_device.py",
    "torch/autograd/__init__.py",
    _TRACER_DIR,
)


_PROGRAM, _PLUMBING_CODE, _OTHER = 0, 1, 2


def _code_kind(filename: str) -> int:
    """Whose code a frame runs: the program's, torch's plumbing (or ours), or anyone else's."""
    if filename == PROGRAM_FILE:
        return _PROGRAM
    if filename.endswith(_PLUMBING) or _TRACER_DIR in filename:
        return _PLUMBING_CODE
    return _OTHER


def _tensor_names(frames: list[Any]) -> dict[int, tuple[str, int]]:
    """id(tensor) -> (name, depth) in these frames (innermost first); the outermost wins."""
    found: dict[int, tuple[str, int]] = {}
    for depth, frame in enumerate(reversed(frames)):
        for name, obj in list(frame.f_locals.items()):
            if isinstance(obj, torch.Tensor) and not name.startswith("__"):
                found.setdefault(id(obj), (name, depth))
    return found


def _renames(current: str, name: str) -> bool:
    """True when ``name`` should replace a module's ``current`` name (``self...`` is temporary)."""
    return _provisional(current) and not _provisional(name)


def _provisional(name: str) -> bool:
    return name == "self" or name.startswith("self.")


def _holds(module: torch.nn.Module, name: str, qualified: str, param: Any) -> bool:
    """False when ``qualified`` (``name.sub.weight``, a name given earlier) no longer leads to
    ``param`` in ``module`` (called ``name``): a parametrization moved it to
    ``parametrizations.weight.original``, say. Read from the modules' own tables, never through
    ``getattr`` (a parametrized attribute would compute its value)."""
    if not qualified.startswith(name + "."):
        return True  # another module's name for it: not this module's to judge
    *path, last = qualified[len(name) + 1 :].split(".")
    owner: Any = module
    for part in path:
        owner = owner._modules.get(part) if isinstance(owner, torch.nn.Module) else None
    return isinstance(owner, torch.nn.Module) and owner._parameters.get(last) is param


class Recorder:
    """Collects tensors, Nodes, events and series for one program run."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        values.CAPTURE = True  # whatever an earlier run left
        self.registry = Registry()
        self.timeline = Timeline(limits.detail_first, limits.detail_last, limits.max_events)
        self.series: list[dict[str, Any]] = []
        self._loss_series: dict[str, int] = {}
        self.quiet = 0
        self._steps: list[Any] = []  # frames of the optimizer steps running
        self.backward_count = 0
        # Site counts of the code outside loops, then of the current step of each running loop.
        self._counts: list[dict[Any, int]] = [self.registry.counts]
        # .grad tensors and .data aliases -> the tensor they belong to
        self.grad_owner: WeakIdMap[torch.Tensor] = WeakIdMap()
        self.alias_owner: WeakIdMap[torch.Tensor] = WeakIdMap()
        self.retained: list[weakref.ref[torch.Tensor]] = []
        self.modules: dict[int, Any] = {}  # id(module) -> module (kept: modules are long-lived)
        self.module_names: dict[int, str] = {}
        # How many frames deep the name of a module or parameter was given (0: module level).
        self._name_depths: dict[int, int] = {}
        self.module_stack: list[Any] = []
        self.optimizer_names: WeakIdMap[str] = WeakIdMap()
        self.forward_anomaly = False
        self.backward_anomalies: set[str] = set()  # "nan" / "inf" once found in backward
        self.current_backward: str | None = None
        self.running_node: str | None = None
        self.mode: Any = None  # the forward mode recording the program (set by it)
        # Records the AccumulateGrad Node running now, once it has filled .grad.
        self.pending_accumulation: Callable[[], None] | None = None
        self.in_hook = 0  # inside a program's hook called by backward()
        # During a backward(): the tensors an event was recorded about.
        self.touched: set[str] | None = None
        self.seeded_by_program = False
        self.light = False
        self.no_light = False
        self.iteration_light = False  # the top loop's current iteration is left out
        self._cpu_started = time.process_time()
        self.warning_tensor: str | None = None  # the tensor whose .grad is being read
        self._named_at: set[tuple[int, int]] = set()
        # Tensors a parametrization computed (``layer.weight``), by id: (record, its list).
        self.parametrized: dict[str, tuple[TensorRec, Any]] = {}
        self._named_version = 0
        self._code_kinds: dict[Any, int] = {}  # code object -> _PROGRAM, _PLUMBING_CODE, _OTHER
        # Gradients sent on during a backward(), by memory: [tensor, snapshot, receivers left].
        self.grad_cache: dict[tuple[Any, ...], list[Any]] = {}

    def record_custom(self, name: str, line: int | None, args: Any, kwargs: Any, out: Any) -> None:
        """Replaced by the forward mode: records a custom Function's apply as one op."""

    def finish_accumulation(self) -> None:
        """Record the AccumulateGrad Node that is running, if it is not recorded yet."""
        pending, self.pending_accumulation = self.pending_accumulation, None
        if pending is not None:
            pending()

    @contextmanager
    def recording(self) -> Iterator[None]:
        """Record what a program's hook does to the program's tensors: a tensor hook, or a
        hook after accumulation, runs inside ``backward()``, where the forward mode is set
        aside (torch runs a mode's own call without it). Its effects are recorded (an
        in-place update, a ``.grad`` set or zeroed); its arithmetic on the gradient is not (the
        hook's event shows what it returned)."""
        mode = self.mode
        if mode is None or mode in _mode_stack():
            yield
            return
        self.in_hook += 1
        try:
            with mode:
                yield
        finally:
            self.in_hook -= 1

    # ------------------------------------------------------------------ context

    @contextmanager
    def hush(self) -> Iterator[None]:
        """Do not record the ops run inside (optimizer internals, our own work)."""
        self.quiet += 1
        try:
            yield
        finally:
            self.quiet -= 1

    def hush_step(self, frame: Any) -> None:
        """An optimizer step began (``frame``: the step's own frame): hush until it ends."""
        self._steps.append(frame)
        self.quiet += 1

    def unhush_step(self, frame: Any) -> None:
        """The step running in ``frame`` returned."""
        if self._steps and self._steps[-1] is frame:
            self._steps.pop()
            self.quiet -= 1

    def hushed(self) -> bool:
        """True when ops are not to be recorded now.

        A step that raised never reached its post-hook (the program may catch the error and
        go on): its hush ends when its frame is no longer running.
        """
        if self._steps:
            running = set()
            frame: Any = sys._getframe(1)
            while frame is not None:
                running.add(id(frame))
                frame = frame.f_back
            while self._steps and id(self._steps[-1]) not in running:
                self._steps.pop()
                self.quiet -= 1
        return self.quiet > 0

    def user_frame(self) -> tuple[int | None, bool]:
        """The program's current line, and whether the op was called directly by the program.

        Also names tensors: when the program has moved to a new line, the variables its
        previous lines bound are visible in the frame (cheaper than a line tracer).
        """
        frame: Any = sys._getframe(2)
        direct: bool | None = None
        kinds = self._code_kinds
        while frame is not None:
            code = frame.f_code
            kind = kinds.get(code)
            if kind is None:
                kind = kinds[code] = _code_kind(code.co_filename)
            if kind == _PROGRAM:
                lineno: int = frame.f_lineno
                where = (id(code), lineno)
                if self._named_version != len(self.registry.tensors):
                    # New tensors since the last scans: every line may name something again.
                    self._named_version = len(self.registry.tensors)
                    self._named_at.clear()
                if where not in self._named_at:
                    self._named_at.add(where)
                    self._name_from_program_frame(frame)
                return lineno, direct is None
            if direct is None and kind == _OTHER:
                direct = False
            frame = frame.f_back
        return None, False

    def unnamed_tensors(self) -> bool:
        """True when tensors were registered since the program's frames were last scanned."""
        return self._named_version != len(self.registry.tensors)

    def program_frames(self) -> list[Any]:
        """The program's frames now running, innermost first."""
        frames = []
        frame: Any = sys._getframe(1)
        while frame is not None:
            if frame.f_code.co_filename == PROGRAM_FILE:
                frames.append(frame)
            frame = frame.f_back
        return frames

    def _name_from_program_frame(self, frame: Any) -> None:
        outer = []
        f = frame.f_back
        while f is not None:
            if f.f_code.co_filename == PROGRAM_FILE:
                outer.append(f)
            f = f.f_back
        self.name_from_frame(frame.f_locals, len(outer), outer)

    def site(self, line: int | None, op: str) -> Site:
        """Where an op ran: line, op name and how many times it ran there in this loop step."""
        counts = self.registry.counts
        key = (line, op)
        k = counts.get(key, 0)
        counts[key] = k + 1
        return (line, op, k)

    def loop_run(self, loop_line: int) -> int:
        """How many times the loop at ``loop_line`` started before in the current step."""
        counts = self.registry.counts
        key = ("loop", loop_line)
        run = counts.get(key, 0)
        counts[key] = run + 1
        return run

    def enter_step(self, depth: int, loops: tuple[tuple[int, int], ...]) -> None:
        """A step of the loop at ``depth`` (0: outermost running) begins; ``loops``: (line, run)
        of the running loops, outermost first. Its ops count from 0 again, so they get the ids
        the same ops had in the previous step."""
        counts = self._counts
        fresh: dict[Any, int]
        if len(counts) == depth + 2:
            counts[-1] = fresh = {}
        else:
            del counts[depth + 1 :]
            fresh = {}
            counts.append(fresh)
        self.registry.counts = fresh
        self.registry.context = loops

    def leave_loops(self, depth: int, loops: tuple[tuple[int, int], ...]) -> None:
        """The loops from ``depth`` inwards are over: counting goes on where it was before."""
        del self._counts[depth + 1 :]
        self.registry.counts = self._counts[-1]
        self.registry.context = loops

    # ------------------------------------------------------------------ events

    def emit(self, kind: str, line: int | None = None, **fields: Any) -> Ev | None:
        """Record an event at the current position of the timeline."""
        ev = Ev(kind=kind, fields=fields, line=line, iteration=self.timeline.iteration)
        touched = self.touched
        if touched is not None:
            if "tensor" in fields:
                touched.add(fields["tensor"])
            if "tensors" in fields:
                touched.update(fields["tensors"])
        return self.timeline.add(ev)

    def detail_costs_too_much(self) -> bool:
        """True once the run has used ``LOOP_DETAIL_SHARE`` of its CPU time: a loop of unknown
        length (``while``, or a ``for`` that may break) is then traced lightly from its next
        iteration, so that recording its detail cannot push it over the time limit."""
        spent = time.process_time() - self._cpu_started
        return spent > LOOP_DETAIL_SHARE * self.limits.cpu_seconds

    def begin_iteration(self, index: int, loop_line: int, light: bool = False) -> None:
        """A top-level loop starts iteration ``index``; ``light`` when its detail will be left
        out anyway (only structure, series and counts are recorded)."""
        light = light and not self.no_light
        self.light = self.iteration_light = light
        self.timeline.begin_iteration(index, loop_line, light=light)
        values.CAPTURE = not light
        self.emit("iteration", line=loop_line, index=index, loop_line=loop_line)

    def inner_step(self, index: int, loop_line: int, light: bool) -> None:
        """A step of a loop directly inside the top loop begins (the mini-batches of an
        epoch); ``light`` when it falls between the first and last steps kept in detail."""
        if self.iteration_light:
            return  # the whole iteration is left out already
        light = light and not self.no_light
        self.light = light
        values.CAPTURE = not light
        self.timeline.inner_step(index, loop_line, light)

    def end_inner(self) -> None:
        """That inner loop is over: its iteration of the top loop goes on in detail."""
        if self.iteration_light:
            return
        self.timeline.end_inner()
        self.light = False
        values.CAPTURE = True

    def end_loop(self) -> None:
        """A top-level loop finished."""
        self.timeline.end_loop()
        self.light = self.iteration_light = False
        values.CAPTURE = True

    def leave_light(self) -> None:
        """Stop skipping detail (something worth seeing happened in a skipped iteration)."""
        self.no_light = True
        if self.light:
            self.light = False
            values.CAPTURE = True
            self.timeline.leave_light()
        self.registry.counts.clear()

    def add_series(
        self, name: str, source: str, y: list[Any], x: list[Any] | None, line: int | None
    ) -> int:
        """Append a new series; returns its index."""
        self.series.append({"name": name, "source": source, "y": y, "x": x, "line": line})
        return len(self.series) - 1

    def record_loss(self, name: str, value: float, line: int | None, float32: bool = False) -> None:
        """Remember a scalar backward root's value: the loss curve, kept for every iteration.
        ``float32``: the root holds float32 (or fewer bits): its numbers are written so."""
        index = self._loss_series.get(name)
        if index is None:
            index = self.add_series(name, "loss", [], [], line)
            self._loss_series[name] = index
            self.series[index]["float32"] = float32
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

    def name_from_frame(
        self, namespace: dict[str, Any], depth: int = 0, outer: list[Any] | None = None
    ) -> None:
        """Give tensors, modules and optimizers the names the program bound them to.

        ``depth``: how many of the program's frames are running outside this one (0: module
        level); ``outer``: those frames, innermost first. A tensor takes the name of the
        outermost scope that binds it: a tensor passed to the program's function keeps the
        name the caller gave it, not the function's parameter name, and a name given inside a
        function gives way to the caller's when the caller binds the tensor too.
        """
        outer_names: dict[int, tuple[str, int]] | None = None
        for name, obj in list(namespace.items()):
            if name.startswith("__"):
                continue
            if isinstance(obj, torch.Tensor):
                rec = self.registry.known(obj)
                if rec is None or (rec.name is not None and rec.name_depth <= depth):
                    continue
                given = (name, depth)
                if outer:
                    if outer_names is None:
                        outer_names = _tensor_names(outer)
                    found = outer_names.get(id(obj))
                    if found is not None and found[1] < depth:
                        given = found
                if rec.name is None or given[1] < rec.name_depth:
                    rec.name, rec.name_depth = given
            elif isinstance(obj, torch.nn.Module):
                current = self.module_names.get(id(obj))
                if current is None or self._renames_module(obj, current, name, depth):
                    self.name_module(name, obj, depth)
            elif isinstance(obj, torch.optim.Optimizer) and self.optimizer_names.get(obj) is None:
                self.optimizer_names[obj] = name

    def optimizer_name(self, optimizer: Any) -> str:
        """The program's name for an optimizer: its variable (outermost scope first), else its
        class name."""
        name = self.optimizer_names.get(optimizer)
        if name is not None:
            return name
        for frame in reversed(self.program_frames()):
            bound: dict[str, Any] = frame.f_locals
            for var, obj in list(bound.items()):
                if obj is optimizer and not var.startswith("__"):
                    self.optimizer_names[optimizer] = var
                    return var
        return str(type(optimizer).__name__)

    def _renames_module(self, obj: Any, current: str, name: str, depth: int) -> bool:
        """True when ``name``, bound ``depth`` frames deep, should replace the ``current`` name
        of a module or parameter: ``self...`` is temporary, and so is a name a function's
        frame gave it (``def init_weights(m)`` called by ``net.apply``) once an outer scope
        binds it."""
        return _renames(current, name) or depth < self._name_depths.get(id(obj), 0)

    def name_module(self, name: str, module: torch.nn.Module, depth: int = 0) -> None:
        """Name a module, its sub-modules and its parameters after the program's variable.

        Inside a class the program calls its module ``self``: that name only holds until the
        module is bound to a variable of its own (``model = MLP()``), which then names it and
        every parameter (``model.fc1.weight``), including those added after ``__init__`` began.
        A name given inside a function (``depth`` frames deep) gives way to an outer one.
        """
        depths = self._name_depths
        for sub_name, sub in module.named_modules():
            full = f"{name}.{sub_name}" if sub_name else name
            current = self.module_names.get(id(sub))
            if current is None or self._renames_module(sub, current, full, depth):
                self.module_names[id(sub)] = full
                self.modules[id(sub)] = sub
                depths[id(sub)] = depth
        for param_name, param in module.named_parameters():
            full = f"{name}.{param_name}"
            current = self.registry.param_names.get(id(param))
            if (
                current is not None
                and not self._renames_module(param, current, full, depth)
                and _holds(module, name, current, param)
            ):
                continue
            depths[id(param)] = depth
            if current is None:
                self.registry.params.append(param)
            self.registry.param_names[id(param)] = full
            rec = self.registry.known(param)
            if rec is None:
                continue
            # The qualified name also replaces a name a function's frame gave the parameter
            # before its module had a name (``def penalty(weight)``), and a variable's name for
            # a parameter added after its module was named (a parametrization's ``original0``,
            # bound to ``g``), which a name given in time would have kept from it.
            named_in_function = rec.name_depth > 0 and not _provisional(full)
            added_late = current is None and rec.name_depth >= 0 and not _provisional(full)
            if rec.name is None or rec.name == current or named_in_function or added_late:
                rec.name, rec.name_depth = full, -1

    def refresh_parameter_names(self) -> None:
        """Once the program is over: a parameter moved after its module was named (by a
        parametrization, to ``layer.parametrizations.weight.original``) takes the name that
        leads to it now; one its module no longer holds at all (replaced by a tied weight,
        ``out.weight = emb.weight``, or by a parametrization's new parameters) is marked as
        having left it; a tensor a parametrization computed takes the name of the attribute
        that returned it."""
        roots: dict[str, list[torch.nn.Module]] = {}
        for mid, name in list(self.module_names.items()):
            module = self.modules.get(mid)
            if module is not None and "." not in name and not _provisional(name):
                self.name_module(name, module)
                roots.setdefault(name, []).append(module)
        for param in self.registry.params:
            rec = self.registry.known(param)
            qualified = self.registry.param_names.get(id(param), "")
            root = qualified.split(".", 1)[0]
            if rec is not None and root in roots:
                rec.left_module = not any(_holds(m, root, qualified, param) for m in roots[root])
        for computed, plist in self.parametrized.values():
            # The list is ``layer.parametrizations.weight``; what it computes is ``layer.weight``.
            where = self.module_names.get(id(plist), "")
            if _provisional(where) or ".parametrizations." not in where:
                continue
            if computed.name is None or computed.name_depth >= 0:
                owner, attr = where.rsplit(".parametrizations.", 1)
                computed.name, computed.name_depth = f"{owner}.{attr}", -1

    def computed_by_parametrization(self, plist: Any, t: Any) -> None:
        """A module's ``ParametrizationList`` returned ``t``: the value its parametrized
        attribute (``layer.weight``) has now, named after it once the program is over."""
        if not isinstance(t, torch.Tensor):
            return
        rec = self.registry.known(t)
        if rec is not None and rec.kind not in ("param", "leaf"):  # not an identity's own input
            self.parametrized[rec.id] = (rec, plist)

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
