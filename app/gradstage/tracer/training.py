"""Training-loop capture: optimizer steps, ``zero_grad``, gradient clipping, module scopes.

Optimizer steps use PyTorch's global step hooks. ``zero_grad``, ``clip_grad_norm_`` and
``clip_grad_value_`` have no hooks, so they are wrapped for the duration of one run and restored
afterwards.
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Iterable, Iterator
from typing import Any

import torch
import torch.nn.utils
import torch.nn.utils.clip_grad
from torch.nn.modules.lazy import LazyModuleMixin
from torch.nn.modules.module import (
    register_module_forward_hook,
    register_module_forward_pre_hook,
)
from torch.nn.parameter import is_lazy
from torch.nn.utils.parametrize import ParametrizationList
from torch.optim.optimizer import (
    register_optimizer_step_post_hook,
    register_optimizer_step_pre_hook,
)

from gradstage.tracer.recorder import Recorder
from gradstage.tracer.values import Snapshot, snap

_HYPER = (
    "lr",
    "momentum",
    "dampening",
    "weight_decay",
    "nesterov",
    "betas",
    "eps",
    "amsgrad",
    "alpha",
    "maximize",
)
# How torch runs the step (its kernels), not the step's maths.
_IMPLEMENTATION = ("foreach", "fused", "capturable", "differentiable")


def _hyper(group: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
    """A param group's hyper-parameters: the options its optimizer takes (``defaults``: Rprop's
    ``etas``, Adagrad's ``lr_decay``, ASGD's ``lambd``, not a scheduler's ``initial_lr``),
    the common ones first."""
    out: dict[str, Any] = {}
    names = [*_HYPER, *(k for k in defaults if k not in _HYPER and k not in _IMPLEMENTATION)]
    for k in names:
        v = group.get(k)
        if isinstance(v, bool):
            out[k] = v
        elif (number := _number(v)) is not None:
            out[k] = number
        elif isinstance(v, tuple | list) and v:
            # Adam's betas may be tensors, as its lr may; Adafactor's eps is (None, 1e-3).
            numbers = [_number(x) for x in v]
            if all(n is not None or x is None for n, x in zip(numbers, v, strict=True)) and any(
                n is not None for n in numbers
            ):
                out[k] = numbers
    return out


def _number(v: Any) -> float | None:
    """A hyper-parameter that is one number: a Python number or a one-element tensor."""
    if isinstance(v, int | float) and not isinstance(v, bool):
        return float(v)
    if isinstance(v, torch.Tensor) and v.numel() == 1:
        return float(v)
    return None


def _params(optimizer: torch.optim.Optimizer) -> list[torch.Tensor]:
    return _materialized(p for g in optimizer.param_groups for p in g["params"])


def _materialized(params: Iterable[torch.Tensor]) -> list[torch.Tensor]:
    """The parameters that exist yet: a lazy module's have no shape, value or gradient
    before its first forward (``zero_grad`` or a step then passes them by)."""
    return [p for p in params if not is_lazy(p)]


def _state(optimizer: torch.optim.Optimizer, p: torch.Tensor) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in optimizer.state.get(p, {}).items():
        if isinstance(v, torch.Tensor):
            s = snap(v)
            if s is not None:
                out[k] = s.scalar() if v.numel() == 1 and k == "step" else s
        elif isinstance(v, int | float):
            out[k] = float(v)
    return out


@contextlib.contextmanager
def capture_training(rec: Recorder) -> Iterator[None]:
    """Install the optimizer, zero_grad, clipping and module hooks for one run."""
    pending: dict[int, list[tuple[torch.Tensor, Snapshot | None, Snapshot | None]]] = {}

    def step_pre(optimizer: Any, args: Any, kwargs: Any) -> Any:
        # The optimizer's own ops are not recorded; the program's closure, if any, is.
        rec.hush_step(sys._getframe(1))
        with torch._C.DisableTorchFunction():
            pending[id(optimizer)] = [(p, snap(p), snap(p.grad)) for p in _params(optimizer)]
        if "closure" in kwargs and callable(kwargs["closure"]):
            kwargs = {**kwargs, "closure": recorded_closure(optimizer, kwargs["closure"])}
            return args, kwargs
        if len(args) > 1 and callable(args[1]):
            return (args[0], recorded_closure(optimizer, args[1]), *args[2:]), kwargs
        return None

    def recorded_closure(optimizer: Any, closure: Any) -> Any:
        """``step(closure)``: what the closure does (forward, backward, zero_grad) is the
        program's own work, recorded like the rest. The step's gradient is the one its first
        call left, at the parameters' values before the step: LBFGS calls it again at the
        points its line search tries, and those gradients are not where the step started."""
        calls = 0

        @functools.wraps(closure)
        def run() -> Any:
            nonlocal calls
            calls += 1
            rec.quiet -= 1
            try:
                return closure()
            finally:
                rec.quiet += 1
                if calls == 1:
                    with torch._C.DisableTorchFunction():
                        pending[id(optimizer)] = [
                            (p, before, snap(p.grad))
                            for p, before, _ in pending.get(id(optimizer), [])
                        ]

        return run

    def step_post(optimizer: Any, args: Any, kwargs: Any) -> None:
        rec.unhush_step(sys._getframe(1))
        line, _ = rec.user_frame()
        steps = []
        # The first group's hyper-parameters are the event's; a parameter of another group
        # whose differ (its own learning rate, no weight decay) carries its group's.
        groups = [_hyper(group, optimizer.defaults) for group in optimizer.param_groups]
        group_of = {
            id(p): i for i, group in enumerate(optimizer.param_groups) for p in group["params"]
        }
        hyper = groups[0] if groups else {}
        with torch._C.DisableTorchFunction():
            for p, before, grad in pending.pop(id(optimizer), []):
                r = rec.tensor(p)
                step = {
                    "tensor": r.id,
                    "before": before,
                    "grad": grad,
                    "after": snap(p),
                    "state": _state(optimizer, p),
                }
                own = groups[group_of.get(id(p), 0)] if groups else hyper
                if own != hyper:
                    step["hyper"] = own
                steps.append(step)
        rec.emit(
            "optimizer",
            line=line,
            optimizer=type(optimizer).__name__,
            name=rec.optimizer_name(optimizer),
            hyper=hyper,
            params=steps,
        )

    def zero_grad_wrapper(original: Any, via: str) -> Any:
        @functools.wraps(original)
        def zero_grad(self: Any, set_to_none: bool = True) -> Any:
            if rec.hushed():
                return original(self, set_to_none)
            line, _ = rec.user_frame()
            with torch._C.DisableTorchFunction():
                params = (
                    _params(self)
                    if isinstance(self, torch.optim.Optimizer)
                    else _materialized(self.parameters())
                )
                if not set_to_none:
                    # zero_() fills only the gradients there are: one still None stays None.
                    params = [p for p in params if p.grad is not None]
                befores = [snap(p.grad) for p in params]
            with rec.hush():
                out = original(self, set_to_none)
            ids = [rec.tensor(p).id for p in params]
            if isinstance(self, torch.optim.Optimizer):
                name = rec.optimizer_name(self)
            else:
                name = rec.module_names.get(id(self)) or via
            rec.emit(
                "zero_grad",
                line=line,
                how="none" if set_to_none else "zero_",
                via=f"{name}.zero_grad()",
                tensors=ids,
                before=befores,
            )
            return out

        return zero_grad

    def clip_wrapper(original: Any, how: str) -> Any:
        """``clip_grad_norm_`` (``how="norm"``) or ``clip_grad_value_`` (``"value"``): one
        clip event with every gradient before and after."""

        keyword = "max_norm" if how == "norm" else "clip_value"

        @functools.wraps(original)
        def clip(parameters: Any, *args: Any, **kwargs: Any) -> Any:
            if rec.hushed() or not (args or keyword in kwargs):
                return original(parameters, *args, **kwargs)  # (a call torch will refuse)
            params = [parameters] if isinstance(parameters, torch.Tensor) else list(parameters)
            limit = float(kwargs[keyword] if keyword in kwargs else args[0])
            line, _ = rec.user_frame()
            with torch._C.DisableTorchFunction():
                grads = [p.grad for p in params if p.grad is not None]
                with_grad = [p for p in params if p.grad is not None]
                befores = [snap(g) for g in grads]
                # Value clipping changes a gradient when one of its elements is out of range.
                outside = how == "value" and any(bool((g.abs() > limit).any()) for g in grads)
            with rec.hush():
                out = original(params, *args, **kwargs)
            with torch._C.DisableTorchFunction():
                afters = [snap(p.grad) for p in with_grad]
            fields: dict[str, Any]
            if how == "norm":
                with torch._C.DisableTorchFunction():
                    total_value = snap(out)
                if isinstance(out, torch.Tensor):
                    rec.tensor(out, line=line)  # the program may keep the total norm
                norm = total_value.scalar() if total_value else None
                fields = {
                    "max_norm": limit,
                    "total_norm": norm if norm is not None else 0.0,
                    "clipped": bool(norm is not None and norm > limit),
                }
            else:
                fields = {"how": "value", "clip_value": limit, "clipped": outside}
            rec.emit(
                "clip",
                line=line,
                tensors=[rec.tensor(p).id for p in with_grad],
                before=befores,
                after=afters,
                **fields,
            )
            return out

        return clip

    # The descriptor itself, so that exactly it is put back afterwards.
    apply_descriptor = vars(torch.autograd.Function)["apply"]
    original_apply = apply_descriptor.__func__

    def apply(cls: Any, *args: Any, **kwargs: Any) -> Any:
        """A custom Function is one op and one Node: its inner forward ops are not shown."""
        if rec.hushed():
            return original_apply(cls, *args, **kwargs)
        line, _ = rec.user_frame()
        with rec.hush():
            out = original_apply(cls, *args, **kwargs)
        rec.record_custom(f"{cls.__name__}.apply", line, args, kwargs, out)
        return out

    infer_parameters = LazyModuleMixin._infer_parameters

    @functools.wraps(infer_parameters)
    def infer_as_construction(self: Any, *args: Any, **kwargs: Any) -> Any:
        """A lazy module giving its parameters their shapes and initial values on its first
        forward is its construction, finished late: recorded as ``__init__`` is (the init
        that changes a parameter, not torch's scratch memory), outside the forward."""
        outer, rec.module_stack = rec.module_stack, []
        try:
            return infer_parameters(self, *args, **kwargs)
        finally:
            rec.module_stack = outer

    def module_pre(module: Any, args: Any) -> None:
        rec.module_stack.append(module)

    def module_post(module: Any, args: Any, output: Any) -> None:
        if rec.module_stack and rec.module_stack[-1] is module:
            rec.module_stack.pop()
        if isinstance(module, ParametrizationList):
            rec.computed_by_parametrization(module, output)

    originals: dict[str, Any] = {
        "opt_zero": torch.optim.Optimizer.zero_grad,
        "mod_zero": torch.nn.Module.zero_grad,
        "clip": torch.nn.utils.clip_grad.clip_grad_norm_,
        "clip_pkg": torch.nn.utils.clip_grad_norm_,
        "value": torch.nn.utils.clip_grad.clip_grad_value_,
        "value_pkg": torch.nn.utils.clip_grad_value_,
    }
    handles = [
        register_optimizer_step_pre_hook(step_pre),
        register_optimizer_step_post_hook(step_post),
        register_module_forward_pre_hook(module_pre),
        register_module_forward_hook(module_post, always_call=True),
    ]
    setattr(torch.autograd.Function, "apply", classmethod(apply))
    setattr(LazyModuleMixin, "_infer_parameters", infer_as_construction)
    setattr(
        torch.optim.Optimizer, "zero_grad", zero_grad_wrapper(originals["opt_zero"], "optimizer")
    )
    setattr(torch.nn.Module, "zero_grad", zero_grad_wrapper(originals["mod_zero"], "model"))
    clipped = clip_wrapper(originals["clip"], "norm")
    setattr(torch.nn.utils.clip_grad, "clip_grad_norm_", clipped)
    setattr(torch.nn.utils, "clip_grad_norm_", clipped)
    clamped = clip_wrapper(originals["value"], "value")
    setattr(torch.nn.utils.clip_grad, "clip_grad_value_", clamped)
    setattr(torch.nn.utils, "clip_grad_value_", clamped)
    try:
        yield
    finally:
        for h in handles:
            h.remove()
        setattr(torch.autograd.Function, "apply", apply_descriptor)
        setattr(LazyModuleMixin, "_infer_parameters", infer_parameters)
        setattr(torch.optim.Optimizer, "zero_grad", originals["opt_zero"])
        setattr(torch.nn.Module, "zero_grad", originals["mod_zero"])
        setattr(torch.nn.utils.clip_grad, "clip_grad_norm_", originals["clip"])
        setattr(torch.nn.utils, "clip_grad_norm_", originals["clip_pkg"])
        setattr(torch.nn.utils.clip_grad, "clip_grad_value_", originals["value"])
        setattr(torch.nn.utils, "clip_grad_value_", originals["value_pkg"])
