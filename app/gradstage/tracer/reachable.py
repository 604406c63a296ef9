"""The Trace of a graph that already exists: everything reachable from one live tensor.

A notebook builds ``loss`` cell by cell, then asks to see it. The forward pass is over, so its
order and values are gone; what autograd kept is the graph itself. This walks it the way
PyTorch does (``grad_fn.next_functions``; a leaf is ``AccumulateGrad.variable``), takes values
where they still exist (the tensor itself, the leaves, the notebook's named tensors, the tensors
Nodes saved for backward) and replays the forward ops in a valid topological order.

The backward pass is real: ``torch.autograd.grad(tensor, leaves, ones, retain_graph=True)``
under the tracer's Node hooks, so every ``node`` event is what the engine computed, in its order.
It writes no ``.grad`` (grads of ``retain_grad()`` tensors the notebook names are put back); the
``accumulate`` events show what ``tensor.backward()`` would add to each leaf's ``.grad`` now.
Tensor hooks the notebook registered do fire, as they would in ``backward()``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import msgspec
import torch

from gradstage.limits import Limits
from gradstage.schema import Trace
from gradstage.tracer.backward import _hook_graph
from gradstage.tracer.build import build_trace
from gradstage.tracer.explain import explain_error
from gradstage.tracer.graph import _TAG, TensorRec, grad_fn_of
from gradstage.tracer.recorder import Recorder
from gradstage.tracer.rules import op_name
from gradstage.tracer.values import Snapshot, snap

FREED_BEFORE_SHOW = (
    "A backward() already ran through this graph and freed the values it saved for computing "
    "gradients, so its backward pass cannot be replayed. Show the tensor before calling "
    "backward(), or call that backward(retain_graph=True)."
)

_BACKWARD = "b1"


def reachable_nodes(root: Any) -> list[Any]:
    """Every Node reachable from ``root`` through ``next_functions``, inputs before users.

    Iterative post-order: a Node comes after every Node it points to, which is an order the
    forward pass could have created them in (deep graphs do not hit the recursion limit).
    """
    order: list[Any] = []
    seen: set[int] = set()
    stack: list[tuple[Any, bool]] = [(root, False)]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if id(node) in seen:
            continue
        seen.add(id(node))
        stack.append((node, True))
        for fn, _ in reversed(node.next_functions):
            if fn is not None and id(fn) not in seen:
                stack.append((fn, False))
    return order


def _is_accumulate(node: Any) -> bool:
    return type(node).__name__ == "AccumulateGrad"


def _output_metadata(node: Any) -> list[tuple[list[int], str]]:
    """Shape and dtype of each forward output of ``node`` (what its backward receives)."""
    try:
        metadata = node._input_metadata  # not public API: fall back when it is absent
    except (AttributeError, RuntimeError):
        return []
    return [(list(m.shape), str(m.dtype).removeprefix("torch.")) for m in metadata]


def trace_reachable(
    tensor: torch.Tensor,
    *,
    namespace: Mapping[str, Any] | None = None,
    limits: Limits | None = None,
) -> Trace:
    """The Trace of the autograd graph behind ``tensor``, with a real backward walk.

    ``namespace``: the notebook's variables, to name tensors, modules and parameters (and to
    find the values of named intermediate tensors).
    """
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"expected a torch.Tensor, got {type(tensor).__name__}")
    root_fn = tensor.grad_fn
    if root_fn is None:
        raise ValueError(
            "this tensor has no grad_fn, so there is no graph behind it: it is a leaf or was "
            "computed from tensors that do not require grad"
        )
    started = time.perf_counter()
    names = dict(namespace or {})
    order = reachable_nodes(root_fn)
    for node in order:  # ids left by an earlier call would stop the registry from looking
        node.metadata.pop(_TAG, None)
    try:
        return _trace(tensor, order, names, limits or Limits(), started)
    finally:
        for node in order:
            node.metadata.pop(_TAG, None)


def _trace(
    tensor: torch.Tensor,
    order: list[Any],
    namespace: dict[str, Any],
    limits: Limits,
    started: float,
) -> Trace:
    rec = Recorder(limits)
    registry = rec.registry
    for name, obj in namespace.items():
        if isinstance(obj, torch.nn.Module) and not name.startswith("_"):
            rec.name_module(name, obj)

    # Nodes first (a Node after the Nodes it points to); each site is unique, so two Nodes
    # with the same name and inputs stay two Nodes.
    node_ids: dict[int, str] = {}
    for k, node in enumerate(order):
        nid = registry.node(node, site=(None, "reachable", k))
        node_ids[id(node)] = nid
        rec_node = registry.nodes[nid]
        if not _is_accumulate(node):
            rec_node.op = op_name(rec_node.name)

    # Tensors with values: the tensor shown, named tensors of this graph, saved tensors.
    registry.tensor(tensor)
    for obj in namespace.values():
        if isinstance(obj, torch.Tensor) and id(grad_fn_of(obj)) in node_ids:
            registry.tensor(obj)
    constants: dict[tuple[str, int], str] = {}
    for node in order:
        if _is_accumulate(node):
            continue
        for attr in (a for a in dir(node) if a.startswith("_saved_")):
            try:
                value = getattr(node, attr)
            except RuntimeError:  # freed by an earlier backward()
                continue
            if not isinstance(value, torch.Tensor):
                continue
            if value.grad_fn is not None and id(value.grad_fn) in node_ids:
                registry.tensor(value)
            elif value.grad_fn is None and not value.requires_grad:
                slot = {"_saved_self": 0, "_saved_other": 1}.get(attr)
                if slot is not None:
                    constants[(node_ids[id(node)], slot)] = registry.tensor(value).id
    rec.name_from_frame(namespace)

    outputs = _complete_outputs(rec, order, node_ids, tensor)
    _link_inputs(rec, order, node_ids, outputs, constants)
    _emit_forward(rec, order, node_ids)
    error = _walk_backward(rec, tensor, order, node_ids, namespace)
    trace = build_trace(rec, "", error, started, "", 0)
    ids = [t.id for t in trace.tensors]
    assert len(ids) == len(set(ids)), "tensor ids collided"
    trace.meta = msgspec.structs.replace(trace.meta, seed=None, source_lines=0)
    return trace


def _complete_outputs(
    rec: Recorder, order: list[Any], node_ids: dict[int, str], tensor: torch.Tensor
) -> dict[tuple[str, int], str]:
    """Tensor ids of every Node output something uses; outputs no one kept get a record
    with shape and dtype but no value (autograd did not save it)."""
    registry = rec.registry
    used: set[tuple[int, int]] = {(id(tensor.grad_fn), tensor.output_nr)}
    for node in order:
        for fn, nr in node.next_functions:
            if fn is not None and not _is_accumulate(fn):
                used.add((id(fn), int(nr)))
    by_output: dict[tuple[str, int], str] = {}
    for t in registry.tensors.values():
        if t.grad_fn is not None:
            by_output[(t.grad_fn, t.output_nr)] = t.id
    serial = len(registry.tensors)
    for node in order:
        if _is_accumulate(node):
            continue
        nid = node_ids[id(node)]
        meta = _output_metadata(node)
        for nr in sorted(nr for key, nr in used if key == id(node)):
            if (nid, nr) in by_output:
                continue
            shape, dtype = meta[nr] if nr < len(meta) else ([], "float32")
            serial += 1
            tid = f"t{serial}"
            while tid in registry.tensors:
                serial += 1
                tid = f"t{serial}"
            registry.tensors[tid] = TensorRec(
                id=tid,
                kind="nonleaf",
                shape=shape,
                dtype=dtype,
                requires_grad=True,
                is_leaf=False,
                grad_fn=nid,
                output_nr=nr,
            )
            registry.nodes[nid].outputs.append(tid)
            by_output[(nid, nr)] = tid
    for rec_node in registry.nodes.values():
        rec_node.outputs.sort(key=lambda t: registry.tensors[t].output_nr)
    return by_output


def _link_inputs(
    rec: Recorder,
    order: list[Any],
    node_ids: dict[int, str],
    outputs: dict[tuple[str, int], str],
    constants: dict[tuple[str, int], str],
) -> None:
    """Each op Node's inputs, one per ``next_functions`` entry (None where nothing is known)."""
    registry = rec.registry
    for node in order:
        if _is_accumulate(node):
            continue
        nid = node_ids[id(node)]
        inputs: list[str | None] = []
        for i, (fn, nr) in enumerate(node.next_functions):
            if fn is None:
                inputs.append(constants.get((nid, i)))
            elif _is_accumulate(fn):
                inputs.append(registry.nodes[node_ids[id(fn)]].variable)
            else:
                inputs.append(outputs.get((node_ids[id(fn)], int(nr))))
        registry.nodes[nid].inputs = inputs


def _emit_forward(rec: Recorder, order: list[Any], node_ids: dict[int, str]) -> None:
    """One ``op`` event per op Node, inputs before users (leaves exist from the start)."""
    registry = rec.registry
    for node in order:
        if _is_accumulate(node):
            continue
        n = registry.nodes[node_ids[id(node)]]
        outs = [registry.tensors[t] for t in n.outputs]
        values = [t.value for t in outs]
        ev = rec.emit(
            "op",
            op=n.op or n.label,
            inputs=list(n.inputs),
            outputs=[t.id for t in outs],
            values=values if all(v is not None for v in values) else [],
            node=n.id,
        )
        for t in outs:
            if t.first_event is None:
                t.first_event = ev


def _retained(tensor: torch.Tensor, namespace: dict[str, Any]) -> list[torch.Tensor]:
    """Tensors whose ``.grad`` the walk would fill (``retain_grad()``), so it can be put back."""
    candidates = [tensor, *(v for v in namespace.values() if isinstance(v, torch.Tensor))]
    return [t for t in candidates if t.grad_fn is not None and t.retains_grad]


def _walk_backward(
    rec: Recorder,
    tensor: torch.Tensor,
    order: list[Any],
    node_ids: dict[int, str],
    namespace: dict[str, Any],
) -> dict[str, Any] | None:
    """Run the engine from ``tensor`` with every Node hooked; returns the error, if any."""
    registry = rec.registry
    accumulators = [node for node in order if _is_accumulate(node)]
    if not accumulators:
        return None
    leaves = [node.variable for node in accumulators]
    seed = torch.ones_like(tensor)
    root_id = registry.tensor(tensor).id
    rec.emit(
        "backward",
        id=_BACKWARD,
        api="backward",
        roots=[root_id],
        root_nodes=[node_ids[id(tensor.grad_fn)]],
        seeds=[snap(seed)],
        implicit_seed=tensor.numel() == 1,
        retain_graph=True,
    )
    # The engine runs an AccumulateGrad as soon as its last producer is done: count producers.
    pending: dict[int, int] = {}
    for node in order:
        for fn, _ in node.next_functions:
            if fn is not None and _is_accumulate(fn):
                pending[id(fn)] = pending.get(id(fn), 0) + 1
    sums: dict[int, torch.Tensor] = {}
    done: set[int] = set()

    def accumulate(acc: Any, delta: torch.Tensor | None) -> None:
        done.add(id(acc))
        nid = node_ids[id(acc)]
        variable = registry.nodes[nid].variable
        delta_snap = snap(delta)
        rec.emit("node", backward=_BACKWARD, node=nid, grad_outputs=[delta_snap], grad_inputs=[])
        with torch.no_grad():
            current = acc.variable.grad
            before = snap(current)
            after: Snapshot | None = delta_snap
            if current is not None and delta is not None:
                after = snap(current + delta)
            elif delta is None:
                after = before
        rec.emit(
            "accumulate",
            backward=_BACKWARD,
            tensor=variable,
            node=nid,
            before=before,
            delta=delta_snap,
            after=after,
        )
        if variable is not None:
            leaf = registry.tensors[variable]
            leaf.last_grad = after
            leaf.has_grad = after is not None

    def after_node(node: Any) -> Any:
        def hook(grad_inputs: Any, grad_outputs: Any) -> None:
            for (fn, _), g in zip(node.next_functions, grad_inputs, strict=False):
                if fn is None or not _is_accumulate(fn) or id(fn) in done:
                    continue
                if isinstance(g, torch.Tensor):
                    g = g.detach()
                    sums[id(fn)] = sums[id(fn)] + g if id(fn) in sums else g.clone()
                pending[id(fn)] -= 1
                if pending[id(fn)] == 0:
                    accumulate(fn, sums.get(id(fn)))

        return hook

    handles, _ = _hook_graph(rec, _BACKWARD, [tensor.grad_fn], None)
    handles += [node.register_hook(after_node(node)) for node in order if node.next_functions]
    retained = [(t, t.grad) for t in _retained(tensor, namespace)]
    error: dict[str, Any] | None = None
    rec.current_backward = _BACKWARD
    try:
        grads = torch.autograd.grad(
            [tensor], leaves, grad_outputs=[seed], retain_graph=True, allow_unused=True
        )
    except RuntimeError as exc:
        message = str(exc)
        explanation = explain_error(type(exc).__name__, message)
        if "backward through the graph a second time" in message:
            # Here the second pass is this replay's: the program's own backward() freed them.
            explanation = FREED_BEFORE_SHOW
        error = {
            "type": type(exc).__name__,
            "message": message,
            "line": None,
            "explanation": explanation,
            "node": rec.running_node,
        }
        grads = ()
    finally:
        rec.current_backward = None
        for h in handles:
            h.remove()
        for t, grad in retained:
            t.grad = grad
    if error is not None:
        return error
    for acc, g in zip(accumulators, grads, strict=True):
        if id(acc) not in done and g is not None:
            accumulate(acc, g)  # its producers' hooks did not all run (undefined gradients)
    rec.emit("backward_end", backward=_BACKWARD, freed=False, grads=[])
    return None
