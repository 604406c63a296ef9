"""Forward capture: every torch call the program makes passes through this TorchFunctionMode.

Inside ``__torch_function__`` PyTorch pops the mode, so ops that a call runs internally (the
pieces of ``F.mse_loss``, the whole backward pass) are not seen twice: the page shows the ops the
program asked for, and each Node exactly as autograd created it.
"""

from __future__ import annotations

import re
import weakref
from typing import Any

import torch
from torch.nn.parameter import is_lazy
from torch.overrides import TorchFunctionMode

from gradstage.tracer.backward import run_backward, wrap_user_hook
from gradstage.tracer.explain import NAN_EXPLANATION
from gradstage.tracer.recorder import Recorder
from gradstage.tracer.values import is_finite, snap, snap_shape

# Calls that only read metadata or convert to Python: never events.
_IGNORED = frozenset(
    {
        "__repr__",
        "__str__",
        "__format__",
        "__hash__",
        "__len__",
        "__iter__",
        "__bool__",
        "__index__",
        "__float__",
        "__int__",
        "__array__",
        "__reduce_ex__",
        "__deepcopy__",
        "__contains__",
        "__dir__",
        "size",
        "dim",
        "numel",
        "stride",
        "storage_offset",
        "untyped_storage",
        "is_floating_point",
        "is_complex",
        "element_size",
        "type",
        "item",
        "tolist",
        "numpy",
        "data_ptr",
        "get_device",
        "is_contiguous",
        "nelement",
        "ndimension",
        "_is_view",
        "is_set_to",
        "__array_wrap__",
        "__setstate__",
        "_typed_storage",
        "has_names",
        "is_shared",
        "is_pinned",
        "__torch_function__",
        "_make_subclass",
        "as_subclass",
        "_fix_weakref",
    }
)
_BACKWARD_CALLS = frozenset({"backward", "grad"})
# Tensor methods that register a hook run during backward(): the hook is wrapped so that its
# call, and what it does, are recorded.
_HOOK_REGISTRATIONS = frozenset({"register_hook", "register_post_accumulate_grad_hook"})
# Attributes that are ops: ``w.T`` is a view autograd records (``PermuteBackward0``), and of a
# frozen weight, a tensor cut from it.
_VIEW_ATTRIBUTES = frozenset({"T", "mT", "H", "mH"})
_INPLACE_DUNDERS = frozenset(
    {
        "__iadd__",
        "__isub__",
        "__imul__",
        "__itruediv__",
        "__idiv__",
        "__ipow__",
        "__setitem__",
        "__imatmul__",
        "__ifloordiv__",
        "__iand__",
        "__ior__",
    }
)


def _op_name(func: Any) -> str:
    name = getattr(func, "__name__", None) or str(func)
    return str(name)


def _tensors(value: Any) -> list[torch.Tensor]:
    if isinstance(value, torch.Tensor):
        return [value]
    if isinstance(value, list | tuple):
        out: list[torch.Tensor] = []
        for v in value:
            out.extend(_tensors(v))
        return out
    return []


_FOREACH_INPLACE = re.compile(r"_foreach_\w+_$")
# Ops whose result is memory not yet written.
_UNINITIALISED = frozenset({"empty", "empty_like", "new_empty", "empty_strided", "empty_permuted"})


def _is_inplace(name: str) -> bool:
    if name in _INPLACE_DUNDERS:
        return True
    return name.endswith("_") and not name.endswith("__") and not name.startswith("_")


def _updated_leaf(target: torch.Tensor) -> torch.Tensor | None:
    """The trained leaf an in-place op under ``no_grad`` changes: the target itself, or the
    leaf it is a view of (``w[0].add_(1)``, ``w.diagonal().fill_(5)``, ``lin.weight[:, 0]
    .zero_()``). After such an op autograd refuses to say anything about the view (reading
    its ``grad_fn`` raises), so it is recorded as an update of the leaf, never as an op."""
    base = _base_of(target)
    if base is not None and base.is_leaf and base.requires_grad:
        return base
    return None


def _base_of(target: torch.Tensor) -> torch.Tensor | None:
    """The tensor whose memory ``target`` is: itself, or the base it is a view of."""
    with torch._C.DisableTorchFunction():
        return target._base if target._is_view() else target


def _set_requires_grad(r: Any, requires_grad: bool) -> None:
    """``t.requires_grad_(flag)`` / ``t.requires_grad = flag`` on a recorded tensor."""
    r.requires_grad = requires_grad
    if not requires_grad:
        r.cut = "requires_grad_false"
        r.frozen = r.is_leaf
    else:
        if r.cut == "requires_grad_false":
            r.cut = None
        r.frozen = False
        if r.kind == "constant":
            r.kind = "leaf"


class ForwardMode(TorchFunctionMode):
    """Records forward ops, cuts, in-place updates and gradient zeroing."""

    def __init__(self, rec: Recorder) -> None:
        super().__init__()
        self.rec = rec
        rec.record_custom = self.record_custom  # type: ignore[method-assign]
        rec.mode = self

    def record_custom(self, name: str, line: int | None, args: Any, kwargs: Any, out: Any) -> None:
        """A custom autograd.Function was applied: one op event, one Node."""
        self._record(
            name,
            line,
            True,
            _tensors(list(args)) + _tensors(list(kwargs.values())),
            _tensors(out),
            None,
            inplace=False,
            grad_enabled=torch.is_grad_enabled(),
        )

    def __torch_function__(
        self, func: Any, types: Any, args: tuple[Any, ...] = (), kwargs: Any = None
    ) -> Any:
        kwargs = kwargs or {}
        rec = self.rec
        if rec.quiet and rec.hushed():
            return func(*args, **kwargs)
        name = _op_name(func)
        if name in ("__get__", "__set__"):
            return self._attribute(func, name, args)
        if name in _IGNORED:
            return func(*args, **kwargs)
        if rec.light and name not in _BACKWARD_CALLS and name not in _HOOK_REGISTRATIONS:
            return self._light(func, name, args, kwargs)
        if name in _BACKWARD_CALLS and getattr(func, "__module__", "") in (
            "torch._tensor",
            "torch.autograd",
            "torch.autograd.__init__",
        ):
            return run_backward(rec, func, name, args, kwargs)
        if name in _HOOK_REGISTRATIONS and len(args) >= 2:
            owner = args[0]
            wrapped = wrap_user_hook(
                rec, owner, args[1], after_accumulation=name != "register_hook"
            )
            return func(owner, wrapped, *args[2:], **kwargs)
        if name == "retain_grad":
            out = func(*args, **kwargs)
            target = rec.tensor(args[0])
            target.retains_grad = True
            rec.retained.append(weakref.ref(args[0]))
            return out
        if name == "requires_grad_" and args:
            out = func(*args, **kwargs)
            _set_requires_grad(rec.tensor(args[0]), bool(args[0].requires_grad))
            return out
        if name == "detach_" and args:
            return self._detach_(func, args, kwargs)
        out = self._op(func, name, args, kwargs)
        if name == "detach" and args:
            self._alias(out, args[0])
        return out

    def _detach_(self, func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """``t.detach_()``: the same object leaves the graph."""
        rec = self.rec
        line, _ = rec.user_frame()
        source = rec.tensor(args[0])
        out = func(*args, **kwargs)
        r = rec.tensor(args[0], site=rec.site(line, "detach_"), line=line, fresh=True)
        r.cut, r.cut_from, r.kind = "detach_", source.id, "detached"
        rec.emit(
            "op",
            line=line,
            op="detach_",
            inputs=[source.id],
            outputs=[r.id],
            values=[snap(args[0])],
            inplace=True,
            grad_enabled=torch.is_grad_enabled(),
        )
        return out

    # ------------------------------------------------------------------ ops

    def _light(self, func: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        """An op in an iteration whose detail is not kept: run it, watch only for NaN/inf."""
        out = func(*args, **kwargs)
        if self.rec.forward_anomaly:
            return out
        outputs = _tensors(out)
        if any(not is_finite(t) for t in outputs):
            # Something went wrong here: record from now on in full detail.
            self.rec.leave_light()
            line, _ = self.rec.user_frame()
            inputs = _tensors(args) + _tensors(list(kwargs.values()))
            self._record(name, line, True, inputs, outputs, None, False, torch.is_grad_enabled())
        return out

    def _op(self, func: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        rec = self.rec
        line, direct = rec.user_frame()
        inputs = _tensors(args) + _tensors(list(kwargs.values()))
        inplace = _is_inplace(name)
        # ``nn.init.zeros_(w)`` reaches the mode with ``w`` as the keyword ``tensor``.
        first = args[0] if args else next(iter(kwargs.values()), None)
        target = first if inplace and isinstance(first, torch.Tensor) else None
        grad_enabled = torch.is_grad_enabled()
        if not direct and not grad_enabled and not rec.module_stack:
            # Torch's own no-grad work (a module's parameter init, a helper's temporaries) is
            # not the program's, except where it changes a tensor the program holds:
            # nn.init.zeros_(w), load_state_dict copying into the parameters.
            # ``_foreach_lerp_(averages, params, w)`` changes every tensor of its first list.
            targets = (
                [target]
                if target is not None
                else list(args[0])
                if _FOREACH_INPLACE.match(name) and args and isinstance(args[0], list | tuple)
                else []
            )
            held = [(t, h) for t, h in ((t, self._held(t)) for t in targets) if h is not None]
            if not held:
                return func(*args, **kwargs)
            # A parameter the program has not met yet is being made (torch.empty, then its
            # init): what its memory held before is not a value.
            befores = [snap(h) if rec.registry.known(h) is not None else None for _, h in held]
            out = func(*args, **kwargs)
            for (_, h), before in zip(held, befores, strict=True):
                self._updated(h, name, line, before)
            return out

        # What an in-place op changes decides which event it is.
        grad_owner = rec.grad_owner.get(target) if target is not None else None
        update_owner = None
        before = None
        if target is not None and grad_owner is None:
            update_owner = rec.alias_owner.get(target)
            if update_owner is None and not grad_enabled:
                update_owner = _updated_leaf(target)
            if update_owner is not None:
                before = snap(update_owner)
        grad_before = snap(target) if grad_owner is not None else None

        out = func(*args, **kwargs)

        if grad_owner is not None:
            owner = rec.tensor(grad_owner)
            owner.grad_seen = None  # changed in place, maybe through .data (no new version)
            if name == "zero_":
                rec.emit(
                    "zero_grad",
                    line=line,
                    how="zero_",
                    via=f"{owner.name or 'x'}.grad.zero_()",
                    tensors=[owner.id],
                    before=[grad_before],
                )
            else:
                rec.emit(
                    "grad_set", line=line, tensor=owner.id, before=grad_before, after=snap(target)
                )
            return out
        if update_owner is not None:
            self._updated(update_owner, name, line, before)
            return out

        if rec.in_hook:
            return out  # a hook's arithmetic on a gradient: its event shows the result
        outputs = [target] if target is not None else _tensors(out)
        self._record(name, line, direct, inputs, outputs, target, inplace, grad_enabled)
        return out

    def _record(
        self,
        name: str,
        line: int | None,
        direct: bool,
        inputs: list[torch.Tensor],
        outputs: list[torch.Tensor],
        target: torch.Tensor | None,
        inplace: bool,
        grad_enabled: bool,
    ) -> None:
        rec = self.rec
        if not outputs or any(t.is_nested for t in inputs + outputs):
            # A nested tensor (``torch.nested``; a transformer's fast path with a padding
            # mask) has no single shape to draw: its ops are run and not shown.
            return
        any_grad = any(t.requires_grad for t in inputs) or any(t.requires_grad for t in outputs)
        # Under no_grad, what a module computes (an evaluation pass) is the program's too.
        evaluating = not grad_enabled and bool(rec.module_stack)
        if not (direct or any_grad or evaluating or self._on_frozen(inputs)):
            return
        if rec.timeline.limit_hit and not any_grad:
            return

        input_recs = [rec.tensor(t) for t in inputs]
        module = rec.module_name()
        rec.registry.current_module = module
        site = rec.site(line, name)
        out_recs = []
        for i, t in enumerate(outputs):
            r = rec.tensor(t, site=site, out_index=i, line=line, fresh=True)
            if r.line is None:
                r.line = line
            self._mark_cut(r, name, inputs, input_recs, t, grad_enabled)
            out_recs.append(r)
        rec.registry.current_module = None

        node_id = None
        with torch._C.DisableTorchFunction():
            grad_fn = outputs[0].grad_fn
        if grad_fn is not None:
            node_id = rec.registry.node(grad_fn)
            node = rec.registry.nodes[node_id]
            if node.op is None:
                node.op = name
                node.line = line
            if not node.inputs:
                node.inputs = [r.id for r in input_recs]
            if node.module is None:
                node.module = module
        if name in _UNINITIALISED:
            # torch.empty: whatever the memory held before, not a value (and never the same
            # twice); its shape and dtype are.
            for t, r in zip(outputs, out_recs, strict=True):
                if r.first_event is None:
                    r.value = snap_shape(t)
        values = [
            r.value if r.first_event is None and r.value is not None else snap(t)
            for t, r in zip(outputs, out_recs, strict=True)
        ]
        ev = rec.emit(
            "op",
            line=line,
            op=name,
            inputs=[r.id for r in input_recs],
            outputs=[r.id for r in out_recs],
            values=values,
            node=node_id,
            inplace=inplace,
            version=int(outputs[0]._version) if inplace else None,
            grad_enabled=grad_enabled,
        )
        if ev is not None:
            for r in out_recs:
                if r.first_event is None:
                    r.first_event = ev
        self._check_forward_anomaly(outputs, values, input_recs, line, node_id, out_recs)

    def _updated(self, t: torch.Tensor, op: str, line: int | None, before: Any) -> None:
        """``t`` was changed in place by ``op`` (``before``: its snapshot from just before)."""
        changed = self.rec.tensor(t)
        self.rec.emit("update", line=line, tensor=changed.id, op=op, before=before, after=snap(t))
        changed.value = changed.value or before

    def _alias(self, out: Any, source: Any) -> None:
        """``out`` shares ``source``'s memory (``source.detach()``): what is written into it
        later changes ``source``, or the tensor whose gradient ``source`` is (an EMA's
        ``p.detach().copy_(...)``, ``w.grad.detach().mul_(0.5)``)."""
        if not isinstance(out, torch.Tensor) or not isinstance(source, torch.Tensor):
            return
        rec = self.rec
        grad_of = rec.grad_owner.get(source)
        if grad_of is not None:
            rec.grad_owner[out] = grad_of
        else:
            rec.alias_owner[out] = rec.alias_owner.get(source) or source

    def _held(self, target: torch.Tensor | None) -> torch.Tensor | None:
        """The program's tensor that an in-place op on ``target`` changes: ``target`` itself
        (or the leaf it is a view of) when it is a parameter or a tensor already recorded, or
        the tensor whose ``.data`` it is. Never a gradient (those have events of their own)."""
        if target is None or self.rec.grad_owner.get(target) is not None:
            return None
        alias = self.rec.alias_owner.get(target)
        if alias is not None:
            return alias
        base = _base_of(target)
        if base is None:
            return None
        if isinstance(base, torch.nn.Parameter) or self.rec.registry.known(base) is not None:
            return base
        return None

    def _on_frozen(self, inputs: list[torch.Tensor]) -> bool:
        """True when an input is a frozen leaf or was computed from one: an op of a frozen
        sub-module, recorded so that the freeze shows as a cut, not as a missing producer."""
        known = self.rec.registry.known
        for t in inputs:
            r = known(t)
            if r is None:
                if isinstance(t, torch.nn.Parameter) and not t.requires_grad:
                    return True  # frozen before the tracer first saw it
            elif r.frozen or r.from_frozen:
                return True
        return False

    def _mark_cut(
        self,
        r: Any,
        name: str,
        inputs: list[torch.Tensor],
        input_recs: list[Any],
        t: torch.Tensor,
        grad_enabled: bool,
    ) -> None:
        if t.requires_grad or not inputs:
            return
        source = next(
            (ir for ti, ir in zip(inputs, input_recs, strict=True) if ti.requires_grad), None
        )
        if source is None:
            frozen = [ir for ir in input_recs if ir.frozen or ir.from_frozen]
            if frozen:
                r.from_frozen = True
                cut_at = next((ir for ir in frozen if ir.frozen), None)
                if cut_at is not None and r.cut is None:
                    # Made from a leaf set to requires_grad=False: where the graph is cut.
                    r.cut, r.cut_from = "requires_grad_false", cut_at.id
                    if r.kind == "constant":
                        r.kind = "detached"
            return
        if name in ("detach", "detach_"):
            r.cut = name
        elif not grad_enabled:
            r.cut = "no_grad"
        else:
            return
        r.cut_from = source.id
        if r.kind == "constant" or r.kind == "leaf":
            r.kind = "detached"

    def _check_forward_anomaly(
        self,
        outputs: list[torch.Tensor],
        values: list[Any],
        input_recs: list[Any],
        line: int | None,
        node_id: str | None,
        out_recs: list[Any],
    ) -> None:
        rec = self.rec
        for t, v, r in zip(outputs, values, out_recs, strict=True):
            finite = v.finite() if v is not None else is_finite(t)
            r.finite = finite
            if finite or rec.forward_anomaly:
                continue
            if all(i.finite for i in input_recs):
                rec.forward_anomaly = True
                with torch._C.DisableTorchFunction():
                    what = "nan" if bool(torch.isnan(t.detach()).any()) else "inf"
                rec.emit(
                    "anomaly",
                    line=line,
                    phase="forward",
                    node=node_id,
                    tensor=r.id,
                    what=what,
                    explanation=NAN_EXPLANATION["forward"],
                )

    # ------------------------------------------------------------------ attributes

    def _attribute(self, func: Any, name: str, args: tuple[Any, ...]) -> Any:
        """``.data``, ``.grad``, ``.requires_grad``: reads and writes of tensor attributes."""
        rec = self.rec
        attr = getattr(getattr(func, "__self__", None), "__name__", "")
        if name == "__get__":
            if attr in _VIEW_ATTRIBUTES and args and isinstance(args[0], torch.Tensor):
                return self._op(func, attr, args, {})
            if attr == "grad" and isinstance(args[0], torch.Tensor):
                known = rec.registry.known(args[0])
                rec.warning_tensor = known.id if known is not None else None
            try:
                out = func(*args)
            finally:
                rec.warning_tensor = None
            if (
                attr == "data"
                and isinstance(out, torch.Tensor)
                and isinstance(args[0], torch.Tensor)
            ):
                viewed: torch.Tensor = args[0]
                self._alias(out, viewed)
                if rec.grad_owner.get(viewed) is None:
                    src = rec.registry.known(viewed)
                    if src is not None and viewed.requires_grad:
                        line, _ = rec.user_frame()
                        r = rec.tensor(out, site=rec.site(line, "data"), line=line, fresh=True)
                        r.cut, r.cut_from = "data", src.id
                        r.kind = "detached"
            elif (
                attr == "grad"
                and isinstance(out, torch.Tensor)
                and isinstance(args[0], torch.Tensor)
            ):
                rec.grad_owner[out] = args[0]
            return out
        target, value = args[0], args[1]
        if attr == "grad" and isinstance(target, torch.Tensor):
            line, _ = rec.user_frame()
            before = rec.grad_snapshot(target)
            out = func(*args)
            holder = rec.tensor(target)
            if value is None:
                rec.emit(
                    "zero_grad",
                    line=line,
                    how="none",
                    via=f"{holder.name or 'x'}.grad = None",
                    tensors=[holder.id],
                    before=[before],
                )
            else:
                rec.emit("grad_set", line=line, tensor=holder.id, before=before, after=snap(value))
                rec.grad_owner[value] = target
            return out
        if is_lazy(target):
            # A lazy module's parameter taking its shape on the first forward (``materialize``):
            # it comes into being there; nothing had a value to change.
            return func(*args)
        if attr == "data" and isinstance(target, torch.Tensor) and isinstance(value, torch.Tensor):
            # ``w.data = ...``: the tensor's contents replaced behind autograd's back.
            line, _ = rec.user_frame()
            before = snap(target)
            out = func(*args)
            self._updated(target, "data", line, before)
            return out
        out = func(*args)
        if attr == "requires_grad" and isinstance(target, torch.Tensor):
            _set_requires_grad(rec.tensor(target), bool(target.requires_grad))
        return out
