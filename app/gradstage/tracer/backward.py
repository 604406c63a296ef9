"""Backward capture: hooks on every Node a ``backward()`` call will run, removed afterwards.

The engine calls a Node's pre-hook with the gradients flowing into it (w.r.t. its outputs) and
its post-hook with those and the gradients it sends on (w.r.t. its inputs): exactly the
vector-Jacobian product the page shows at each node, in the engine's real order.
"""

from __future__ import annotations

import functools
import inspect
import weakref
from collections.abc import Callable
from typing import Any

import torch

from gradstage.tracer.explain import NAN_EXPLANATION
from gradstage.tracer.recorder import PROGRAM_FILE, Recorder
from gradstage.tracer.values import Snapshot, is_finite, is_functorch_wrapped, snap


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, torch.Tensor):
        return [value]
    return list(value)


_SIGNATURES: dict[Any, inspect.Signature] = {}


def _bind(func: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
    """The call's arguments by name."""
    signature = _SIGNATURES.get(func)
    if signature is None:
        signature = _SIGNATURES[func] = inspect.signature(func)
    bound = signature.bind(*args, **kwargs)
    bound.apply_defaults()
    return dict(bound.arguments)


def _reachable(roots: list[Any]) -> list[Any]:
    seen: set[int] = set()
    order: list[Any] = []
    stack = [r for r in roots if r is not None]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        order.append(node)
        for fn, _ in node.next_functions:
            if fn is not None and id(fn) not in seen:
                stack.append(fn)
    return order


def run_backward(
    rec: Recorder, func: Any, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> Any:
    """Run a ``backward()`` / ``autograd.grad`` call with every Node hooked, then unhook."""
    line, direct = rec.user_frame()
    a = _bind(func, args, kwargs)
    if "self" in a:  # Tensor.backward(self, gradient, retain_graph, create_graph, inputs)
        roots, grads = [a["self"]], _as_list(a.get("gradient"))
        api = "backward"
    elif name == "grad":
        roots, grads = _as_list(a["outputs"]), _as_list(a.get("grad_outputs"))
        api = "grad"
    else:
        roots, grads = _as_list(a["tensors"]), _as_list(a.get("grad_tensors"))
        api = "backward"
    create_graph = bool(a.get("create_graph"))
    retain_graph = (
        bool(a.get("retain_graph")) if a.get("retain_graph") is not None else create_graph
    )
    inputs = _as_list(a.get("inputs"))

    rec.backward_count += 1
    bid = f"b{rec.backward_count}"
    # The loss curve has what the program backpropagates, not the scalars torch's own helpers
    # differentiate (autograd.functional.jacobian, gradcheck).
    losses = direct
    if rec.light:
        if losses:
            _record_losses(rec, roots, None, line)
        rec.emit("backward", line=line, id=bid)  # only counted: this iteration is skipped
        return _run_light(rec, func, args, kwargs, bid, line)
    root_recs = [rec.tensor(t) for t in roots if isinstance(t, torch.Tensor)]
    with torch._C.DisableTorchFunction():
        root_fns = [t.grad_fn for t in roots if isinstance(t, torch.Tensor)]
    root_nodes = [rec.registry.node(fn) if fn is not None else None for fn in root_fns]
    implicit = not grads or all(g is None for g in grads)
    seeds: list[Snapshot | None] = []
    for i, t in enumerate(roots):
        g = grads[i] if i < len(grads) else None
        if g is not None:
            seeds.append(snap(g))
        elif isinstance(t, torch.Tensor) and t.numel() == 1:
            with torch._C.DisableTorchFunction():
                seeds.append(snap(torch.ones_like(t)))
    rec.emit(
        "backward",
        line=line,
        id=bid,
        api=api,
        roots=[r.id for r in root_recs],
        root_nodes=root_nodes,
        seeds=seeds,
        implicit_seed=implicit,
        retain_graph=retain_graph,
        create_graph=create_graph,
        inputs=[rec.tensor(t).id for t in inputs if isinstance(t, torch.Tensor)],
    )
    if losses:
        _record_losses(rec, roots, root_recs, line)
    handles, leaves = _hook_graph(rec, bid, [fn for fn in root_fns if fn is not None], line)
    grads_before = _grad_states(rec)
    rec.touched = set()
    nodes_before = len(rec.registry.nodes)
    rec.current_backward = bid
    rec.grad_cache.clear()
    try:
        result = func(*args, **kwargs)
    except BaseException:
        # The backward call raised (and the program may catch it and go on): it ends here.
        rec.emit("backward_end", line=line, backward=bid, freed=False, failed=True)
        raise
    finally:
        touched, rec.touched = rec.touched, None
        rec.current_backward = None
        rec.pending_accumulation = None
        rec.grad_cache.clear()
        for h in handles:
            h.remove()
    results = _as_list(result) if api == "grad" else []
    result_ids: list[str | None] = []
    for r in results:
        if isinstance(r, torch.Tensor):
            gr = rec.tensor(r, line=line)
            if r.grad_fn is not None:
                gr.kind = "grad"
            result_ids.append(gr.id)
        else:
            result_ids.append(None)
    if create_graph:
        _place_backward_graph(rec, leaves, nodes_before, line)
    _grads_filled_unseen(rec, bid, line, grads_before, touched or set())
    rec.emit(
        "backward_end",
        line=line,
        backward=bid,
        freed=not retain_graph,
        grads=[snap(r) for r in results],
        results=result_ids,
    )
    rec.running_node = None
    return result


def _grad_states(rec: Recorder) -> dict[int, tuple[Any, Any, int]]:
    """Each known leaf's ``.grad`` now: (tensor, gradient object, its version)."""
    states: dict[int, tuple[Any, Any, int]] = {}
    with torch._C.DisableTorchFunction():
        for t in rec.leaves():
            g = t.grad
            states[id(t)] = (t, g, g._version if g is not None else -1)
    return states


def _grads_filled_unseen(
    rec: Recorder,
    bid: str,
    line: int | None,
    before: dict[int, tuple[Any, Any, int]],
    touched: set[str],
) -> None:
    """A leaf whose ``.grad`` this backward() changed with no event about it: filled by a
    backward the engine ran inside one of the Nodes (a reentrant checkpoint recomputes its
    forward and runs ``torch.autograd.backward`` on it). It gets an accumulation, without a
    Node, so that the page still shows where its gradient came from."""
    with torch._C.DisableTorchFunction():
        for t, grad_was, version_was in before.values():
            grad = t.grad
            if grad is None or (grad is grad_was and grad._version == version_was):
                continue
            tr = rec.registry.known(t)
            if tr is None or tr.id in touched:
                continue
            before_now = tr.last_grad if grad_was is not None else None
            _accumulation(rec, bid, line, t, tr, None, before_now, None, snap(grad))


def _record_losses(rec: Recorder, roots: list[Any], root_recs: Any, line: int | None) -> None:
    """A scalar root's value goes to the loss curve, in every iteration."""
    for i, t in enumerate(roots):
        if isinstance(t, torch.Tensor) and t.numel() == 1 and t.is_floating_point():
            if root_recs is not None:
                name = root_recs[i].name
            else:
                known = rec.registry.known(t)
                name = known.name if known is not None else None
            with torch._C.DisableTorchFunction():
                if is_functorch_wrapped(t):
                    continue  # inside torch.func.vmap: one value per sample, none readable
                value = float(t.detach().reshape(()))
                rec.record_loss(name or "loss", value, line, float32=t.dtype != torch.float64)


def _run_light(
    rec: Recorder,
    func: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    bid: str,
    line: int | None,
) -> Any:
    """Backward in an iteration whose detail is not kept: no hooks, but watch for NaN/inf."""
    try:
        result = func(*args, **kwargs)
    except BaseException:
        rec.emit("backward_end", line=line, backward=bid, freed=False, failed=True)
        raise
    with torch._C.DisableTorchFunction():
        leaves = [p for p in rec.registry.params if p.grad is not None]
        leaves += [t for t in rec.leaves() if t.grad is not None]
        if any(not is_finite(t.grad) for t in leaves):
            rec.leave_light()  # the next backward is recorded node by node
    rec.emit("backward_end", line=line, backward=bid, freed=True, grads=[])
    return result


def _place_backward_graph(
    rec: Recorder, leaves: list[torch.Tensor], nodes_before: int, line: int | None
) -> None:
    """With ``create_graph=True`` the backward pass builds a graph of its own: its Nodes were
    made by the ``backward()`` / ``grad()`` call, so that call's line is theirs."""
    with torch._C.DisableTorchFunction():
        for leaf in leaves:
            grad = leaf.grad
            if grad is not None and grad.grad_fn is not None:
                rec.registry.node(grad.grad_fn)
    for node in list(rec.registry.nodes.values())[nodes_before:]:
        if node.line is None and node.kind != "accumulate":
            node.line = line


def _hook_graph(
    rec: Recorder, bid: str, roots: list[Any], line: int | None
) -> tuple[list[Any], list[torch.Tensor]]:
    """Hook every Node the call will run; returns the hook handles and the leaves reached."""
    handles: list[Any] = []
    leaves: list[torch.Tensor] = []
    for node in _reachable(roots):
        if type(node).__name__ == "AccumulateGrad":
            leaves.append(node.variable)
        nid = rec.registry.node(node)
        state: dict[str, Any] = {}
        # Where each outgoing gradient goes: only those positions reach another Node.
        sent = [fn is not None for fn, _ in node.next_functions]
        handles.append(node.register_prehook(_pre_hook(rec, bid, node, nid, line, state)))
        handles.append(node.register_hook(_post_hook(rec, bid, node, nid, line, sent)))
    return handles, leaves


def _pre_hook(
    rec: Recorder, bid: str, node: Any, nid: str, line: int | None, state: dict[str, Any]
) -> Callable[..., None]:
    is_acc = type(node).__name__ == "AccumulateGrad"

    def hook(grad_outputs: Any) -> None:
        rec.running_node = nid
        if is_acc:
            # Taken now, not in the post-hook: the cache must let go of the incoming gradient
            # before AccumulateGrad runs, which may then keep it as .grad instead of a copy.
            state["delta"] = _received(rec, grad_outputs[0])
            with torch._C.DisableTorchFunction():
                state["before"] = snap(node.variable.grad)
            # Recorded when the Node is done, or earlier by a hook after accumulation (which
            # runs inside the Node, and may change .grad or the tensor itself).
            rec.pending_accumulation = functools.partial(
                _accumulated, rec, bid, node, nid, line, state
            )
        return None

    return hook


def _accumulated(
    rec: Recorder, bid: str, node: Any, nid: str, line: int | None, state: dict[str, Any]
) -> None:
    """Record an AccumulateGrad Node that has just filled its tensor's ``.grad``."""
    delta = state.pop("delta", None)
    rec.emit("node", line=line, backward=bid, node=nid, grad_outputs=[delta], grad_inputs=[])
    var = node.variable
    vr = rec.tensor(var)
    before = state.pop("before", None)
    after: Snapshot | None
    if before is None and delta is not None:
        after = delta  # an empty .grad takes the incoming gradient as it is
    else:
        with torch._C.DisableTorchFunction():
            after = snap(var.grad)
    _accumulation(rec, bid, line, var, vr, nid, before, delta, after)


def _accumulation(
    rec: Recorder,
    bid: str,
    line: int | None,
    var: torch.Tensor,
    vr: Any,
    nid: str | None,
    before: Snapshot | None,
    delta: Snapshot | None,
    after: Snapshot | None,
) -> None:
    """The accumulation event of ``var`` (record ``vr``); its ``.grad`` is now known."""
    rec.emit(
        "accumulate",
        line=line,
        backward=bid,
        tensor=vr.id,
        node=nid,
        before=before,
        delta=delta,
        after=after,
    )
    vr.last_grad = after
    vr.has_grad = True
    with torch._C.DisableTorchFunction():
        grad = var.grad
        if grad is not None:
            rec.grad_owner[grad] = var
            vr.grad_seen = (weakref.ref(grad), grad._version)


def _post_hook(
    rec: Recorder,
    bid: str,
    node: Any,
    nid: str,
    line: int | None,
    sent: list[bool],
) -> Callable[..., None]:
    if type(node).__name__ == "AccumulateGrad":

        def accumulated(grad_inputs: Any, grad_outputs: Any) -> None:
            rec.finish_accumulation()  # unless a hook after accumulation did already
            return None

        return accumulated

    def hook(grad_inputs: Any, grad_outputs: Any) -> None:
        for ref in rec.retained:
            t = ref()
            if t is not None and t.grad_fn is node:
                tr = rec.tensor(t)
                rec.emit("retain_grad", line=line, backward=bid, tensor=tr.id, grad=snap(t.grad))
                tr.last_grad = snap(t.grad)
                tr.has_grad = True
        outs = [_received(rec, g) for g in grad_outputs]
        ins = _sent(rec, grad_inputs, sent)
        rec.emit("node", line=line, backward=bid, node=nid, grad_outputs=outs, grad_inputs=ins)
        _check_backward_anomaly(rec, bid, nid, ins, grad_inputs, grad_outputs, line)
        return None

    return hook


# A Node's outgoing gradient is the next Node's incoming one: it is snapshotted once, when it
# is sent, and looked up when it arrives. The engine hands each hook a new Python object for
# the same tensor, so a gradient is known by its memory (address, layout, version), not by
# ``id``. The cache holds the tensor until every Node it was sent to has received it, so that
# its memory cannot be given to another tensor meanwhile.


def _key(g: torch.Tensor) -> tuple[Any, ...] | None:
    with torch._C.DisableTorchFunction():
        try:
            # A lazy conjugate or negation (ConjBackward0 sends ``grad.conj()``) is the same
            # memory read differently.
            return (g.data_ptr(), g._version, g.shape, g.stride(), g.dtype, g.is_conj(), g.is_neg())
        except RuntimeError:  # no strided storage (a sparse gradient): not cached
            return None


def _sent(rec: Recorder, grads: Any, sent: list[bool]) -> list[Snapshot | None]:
    """Snapshots of the gradients a Node sends on (``sent``: which positions reach a Node)."""
    out: list[Snapshot | None] = []
    for i, g in enumerate(grads):
        if not isinstance(g, torch.Tensor):
            out.append(None)
            continue
        key = _key(g)
        hit = rec.grad_cache.get(key) if key is not None else None
        if hit is not None:  # sent twice (AddBackward sends one tensor to both inputs)
            out.append(hit[1])
            if i < len(sent) and sent[i]:
                hit[2] += 1
            continue
        s = snap(g)
        out.append(s)
        if key is not None and i < len(sent) and sent[i]:
            rec.grad_cache[key] = [g, s, 1]
    return out


def _received(rec: Recorder, g: Any) -> Snapshot | None:
    """The snapshot of a gradient a Node receives: taken when it was sent, if it was."""
    if not isinstance(g, torch.Tensor):
        return None
    key = _key(g)
    hit = rec.grad_cache.get(key) if key is not None else None
    if key is None or hit is None:
        return snap(g)  # the seed, a sum of several gradients, a hook's replacement
    hit[2] -= 1
    if hit[2] == 0:
        del rec.grad_cache[key]
    s: Snapshot | None = hit[1]
    return s


def _has(grads: Any, what: str) -> bool:
    """True when one of the gradient tensors holds a NaN (``what="nan"``) or an infinity."""
    test = torch.isnan if what == "nan" else torch.isinf
    with torch._C.DisableTorchFunction():
        return any(isinstance(g, torch.Tensor) and bool(test(g).any()) for g in grads)


def _check_backward_anomaly(
    rec: Recorder,
    bid: str,
    nid: str,
    ins: list[Snapshot | None],
    grad_inputs: Any,
    grad_outputs: Any,
    line: int | None,
) -> None:
    """The first Node of the program that sends on a NaN (or an inf) it did not receive.

    A NaN is located where ``torch.autograd.detect_anomaly`` locates it: the first Node whose
    output has one. An infinity, which anomaly detection does not look for, is reported on its
    own (it often comes first: ``x * log(x)`` at 0 sends -inf, then NaN).
    """
    if len(rec.backward_anomalies) == 2 or all(s is None or s.finite() for s in ins):
        return
    for what in ("nan", "inf"):
        if what in rec.backward_anomalies or not _has(grad_inputs, what):
            continue
        if _has(grad_outputs, what):
            continue  # it arrived from an earlier Node (or the seed)
        rec.backward_anomalies.add(what)
        node = rec.registry.nodes[nid]
        # An infinity from a Node whose derivative is finite wherever its inputs are (a
        # product, a sum, a matrix product) can only be an overflow; so is one sent on from an
        # incoming gradient already near the dtype's largest number.
        overflow = what == "inf" and (node.name not in _SINGULAR or _huge(grad_outputs))
        rec.emit(
            "anomaly",
            line=node.line or line,
            phase="backward",
            node=nid,
            backward=bid,
            what=what,
            explanation=NAN_EXPLANATION["overflow" if overflow else "backward"],
        )


# Nodes whose local derivative is infinite somewhere for finite inputs (sqrt'(0), log'(0),
# 1/x at 0, acos'(1), the norm at 0).
_SINGULAR = frozenset(
    {
        "SqrtBackward0",
        "RsqrtBackward0",
        "LogBackward0",
        "Log2Backward0",
        "Log10Backward0",
        "Log1pBackward0",
        "PowBackward0",
        "PowBackward1",
        "PowBackward2",
        "DivBackward0",
        "DivBackward1",
        "ReciprocalBackward0",
        "AcosBackward0",
        "AsinBackward0",
        "AtanhBackward0",
        "AcoshBackward0",
        "NormBackward0",
        "NormBackward1",
        "LinalgVectorNormBackward0",
        "CdistBackward0",
        "XlogyBackward0",
        "LgammaBackward0",
        "DigammaBackward0",
        "ErfinvBackward0",
        "LogitBackward0",
        "TanBackward0",
    }
)


def _huge(grads: Any) -> bool:
    """True when an incoming gradient is within a factor of 10^8 of its dtype's largest number:
    an infinity sent on from it is an overflow, not an infinite derivative."""
    with torch._C.DisableTorchFunction():
        for g in grads:
            if isinstance(g, torch.Tensor) and g.is_floating_point() and g.numel():
                largest = float(g.detach().abs().max())
                if largest >= torch.finfo(g.dtype).max * 1e-8:
                    return True
    return False


def wrap_user_hook(
    rec: Recorder, owner: torch.Tensor, hook: Callable[[Any], Any], after_accumulation: bool = False
) -> Callable[[Any], Any]:
    """Wrap a program's tensor hook so that each call, and the ops it runs, are recorded.

    ``after_accumulation``: a hook registered with ``register_post_accumulate_grad_hook``,
    called with the tensor itself once its ``.grad`` is complete (it often updates the tensor
    right there: an optimizer step inside backward).
    """
    owner_rec = rec.tensor(owner)
    hook_name = getattr(hook, "__name__", "hook")
    code = getattr(hook, "__code__", None)
    hook_line = (
        code.co_firstlineno if code is not None and code.co_filename == PROGRAM_FILE else None
    )

    def recorded(grad: Any) -> Any:
        # ``grad`` is the gradient, or (after accumulation) the tensor whose .grad is complete.
        if after_accumulation:
            rec.finish_accumulation()  # the accumulation this hook follows comes first
            with torch._C.DisableTorchFunction():
                seen = snap(grad.grad)
        else:
            seen = snap(grad)
        ev = rec.emit(
            "hook",
            line=hook_line,
            backward=rec.current_backward,
            tensor=owner_rec.id,
            hook=hook_name,
            grad=seen,
            result=None,
            changed=False,
        )
        with rec.recording():
            result = hook(grad)
        if after_accumulation:
            return result
        if ev is not None and result is not None and result is not grad:
            ev.fields["result"] = snap(result)
            ev.fields["changed"] = True
        return result

    return recorded
