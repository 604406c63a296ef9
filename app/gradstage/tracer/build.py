"""Turn what the recorder collected into the schema's Trace."""

from __future__ import annotations

import platform
import time
from collections.abc import Iterator
from typing import Any

import msgspec
import torch

from gradstage import schema as s
from gradstage.tracer.chinese import in_chinese
from gradstage.tracer.graph import TensorRec, grad_fn_of
from gradstage.tracer.recorder import Recorder
from gradstage.tracer.timeline import Ev, is_skip, skip_fields
from gradstage.tracer.values import Snapshot, shortest, snap

_EVENT_TYPES: dict[str, type[Any]] = {
    "op": s.OpEvent,
    "backward": s.BackwardEvent,
    "node": s.NodeEvent,
    "accumulate": s.AccumulateEvent,
    "retain_grad": s.RetainGradEvent,
    "hook": s.HookEvent,
    "backward_end": s.BackwardEndEvent,
    "zero_grad": s.ZeroGradEvent,
    "grad_set": s.GradSetEvent,
    "update": s.UpdateEvent,
    "optimizer": s.OptimizerEvent,
    "clip": s.ClipEvent,
    "print": s.PrintEvent,
    "plot": s.PlotEvent,
    "warning": s.WarningEvent,
    "anomaly": s.AnomalyEvent,
    "iteration": s.IterationEvent,
    "skipped": s.SkippedEvent,
    "error": s.ErrorEvent,
}


def _convert(v: Any) -> Any:
    if isinstance(v, Snapshot):
        return v.value()
    if isinstance(v, list):
        return [_convert(x) for x in v]
    if isinstance(v, dict):
        return {k: _convert(x) for k, x in v.items()}
    if isinstance(v, float) and (v != v or v in (float("inf"), float("-inf"))):
        return "nan" if v != v else ("inf" if v > 0 else "-inf")
    return v


def _number(v: Any) -> Any:
    """Numbers in fields typed as floats are floats (so a Trace survives a JSON round trip);
    a flag (batch norm's saved ``training``) is spelled as Python spells it."""
    if isinstance(v, bool):
        return str(v)
    if not isinstance(v, int | float):
        return _convert(v)
    return _convert(float(v))


def _event(seq: int, ev: Ev) -> Any:
    fields = {k: _convert(v) for k, v in ev.fields.items()}
    if fields.get("explanation"):
        fields["explanation_zh"] = in_chinese(fields["explanation"])
    if ev.kind == "optimizer":
        fields["params"] = [s.ParamStep(**p) for p in fields["params"]]
    return _EVENT_TYPES[ev.kind](seq=seq, line=ev.line, iteration=ev.iteration, **fields)


def _final_grad(rec: TensorRec) -> Snapshot | None:
    t = rec.live() if rec.live is not None else None
    if t is not None and grad_fn_of(t) is None:  # a leaf (is_leaf reads grad_fn)
        with torch._C.DisableTorchFunction():
            grad = t.grad
            seen = rec.grad_seen
            if (
                grad is not None
                and seen is not None
                and seen[0]() is grad
                and seen[1] == grad._version
                and rec.last_grad is not None
            ):
                return rec.last_grad  # unchanged since the last accumulation
            return snap(grad)
    return rec.last_grad


def _events(items: list[Any]) -> Iterator[Ev]:
    """Every event kept, those a skipped marker pins included."""
    for item in items:
        yield from item.pinned if is_skip(item) else [item]


def _nodes_kept(nodes: dict[str, Any], items: list[Any], limit: int) -> set[str] | None:
    """Which Nodes a Trace with more than ``limit`` keeps (None: all of them).

    First those the kept events point at (the ops shown in detail, the roots of backward
    calls, accumulations, errors), then, of the Nodes backward calls ran, as many from the
    start of the run (nearest the roots) as from its end (nearest the leaves), as a long loop
    keeps its first and last iterations; last, Nodes that never ran.
    """
    if len(nodes) <= limit:
        return None
    wanted: dict[str, None] = {}
    ran: dict[str, None] = {}
    for ev in _events(items):
        node = ev.fields.get("node")
        if ev.kind == "node":
            ran[ev.fields["node"]] = None
        elif node is not None:
            wanted[node] = None
        for root in ev.fields.get("root_nodes") or ():
            if root is not None:
                wanted[root] = None
    kept = [n for n in wanted if n in nodes][:limit]
    kept_set = set(kept)
    rest = [n for n in ran if n not in kept_set and n in nodes]
    room = limit - len(kept)
    if room > 0:
        head = (room + 1) // 2
        kept += rest[:head] + rest[len(rest) - (room - head) :] if len(rest) > room else rest
        kept_set = set(kept)
        room = limit - len(kept)
        if room > 0:
            kept += [n for n in nodes if n not in kept_set][:room]
    return set(kept)


def _orphan_parameters(registry: Any, items: list[Any]) -> set[str]:
    """Parameters nothing in the program ever used, gone by its end: those of a module made
    only to be copied (nn.TransformerEncoder deep-copies the layer it is given), of which the
    Trace would otherwise keep unnamed initialisations, and those their module let go before
    any use (a weight replaced by a tied one, or by a parametrization's new parameters), which
    would keep a name that leads elsewhere now. Empty in most programs."""

    def gone(r: TensorRec) -> bool:
        return r.left_module or (r.name is None and (r.live is None or r.live() is None))

    dead = {r.id for r in registry.tensors.values() if r.kind == "param" and gone(r)}
    if not dead:
        return dead
    # And what was read off them on the way (the copy's p.data).
    dead |= {r.id for r in registry.tensors.values() if r.cut_from in dead and gone(r)}
    for ev in _events(items):
        if not _only_about(ev, dead):
            dead -= _ids_in(ev.fields, dead)
    return dead


def _only_about(item: Any, ids: set[str]) -> bool:
    """True for an initialisation of tensors in ``ids`` alone (an op or an update)."""
    if is_skip(item):
        return False
    fields = item.fields
    if item.kind == "update":
        return fields["tensor"] in ids
    if item.kind == "op":
        touched = [*fields.get("outputs", ()), *fields.get("inputs", ())]
        return all(t is None or t in ids for t in touched) and any(t in ids for t in touched)
    return False


def _ids_in(value: Any, ids: set[str]) -> set[str]:
    """The ids of ``ids`` that ``value`` (an event's fields) mentions."""
    if isinstance(value, str):
        return {value} if value in ids else set()
    if isinstance(value, dict):
        return set().union(*(_ids_in(v, ids) for v in value.values()))
    if isinstance(value, list | tuple):
        return set().union(*(_ids_in(v, ids) for v in value))
    return set()


def build_trace(
    rec: Recorder,
    stdout: str,
    error: dict[str, Any] | None,
    started: float,
    source: str,
    stdout_dropped: int,
    stderr: str = "",
) -> Trace:
    """Assemble the Trace: events numbered in order, tables of tensors and Nodes, edges."""
    items = rec.timeline.finish()
    limits = rec.limits
    registry = rec.registry
    kept_nodes = _nodes_kept(registry.nodes, items, limits.max_nodes)
    nodes_dropped = 0
    if kept_nodes is not None:
        nodes_dropped = len(registry.nodes) - len(kept_nodes)
        items = [
            item
            for item in items
            if not isinstance(item, Ev) or item.kind != "node" or item.fields["node"] in kept_nodes
        ]
    orphans = _orphan_parameters(registry, items)
    if orphans:
        items = [item for item in items if not _only_about(item, orphans)]
    events: list[Any] = []
    index_of: dict[int, int] = {}
    for item in items:
        seq = len(events)
        if is_skip(item):
            events.append(s.SkippedEvent(seq=seq, **skip_fields(item)))
            continue
        assert isinstance(item, Ev)
        index_of[id(item)] = seq
        events.append(_event(seq, item))
    trace_error = None
    if error is not None:
        node = error.pop("node", None)
        trace_error = s.TraceError(**error, explanation_zh=in_chinese(error.get("explanation")))
        events.append(
            s.ErrorEvent(
                seq=len(events),
                line=trace_error.line,
                type=trace_error.type,
                message=trace_error.message,
                explanation=trace_error.explanation,
                explanation_zh=trace_error.explanation_zh,
                node=node,
            )
        )

    for t in registry.tensors.values():
        if t.name is None and t.live is not None:
            obj = t.live()
            if obj is not None and id(obj) in registry.param_names:
                t.name, t.name_depth = registry.param_names[id(obj)], -1
    tensors = []
    for t in list(registry.tensors.values())[: limits.max_tensors]:
        if t.id in orphans:
            continue
        grad = _final_grad(t)
        tensors.append(
            s.TensorInfo(
                id=t.id,
                shape=t.shape,
                dtype=t.dtype,
                kind=t.kind,  # type: ignore[arg-type]
                requires_grad=t.requires_grad,
                is_leaf=t.is_leaf,
                retains_grad=t.retains_grad,
                name=t.name,
                module=t.module,
                line=t.line,
                grad_fn=t.grad_fn,
                output_nr=t.output_nr,
                value=t.value.value() if t.value else None,
                grad=grad.value() if grad else None,
                cut=t.cut,  # type: ignore[arg-type]
                cut_from=t.cut_from,
                first_event=index_of.get(id(t.first_event)) if t.first_event else None,
            )
        )
    nodes = []
    edges: list[s.Edge] = []
    for n in registry.nodes.values():
        if kept_nodes is not None and n.id not in kept_nodes:
            continue
        nodes.append(
            s.Node(
                id=n.id,
                name=n.name,
                kind=n.kind,  # type: ignore[arg-type]
                label=n.label,
                next=[s.NextFunction(node=a, input_nr=b) for a, b in n.next],
                op=n.op,
                rule=n.rule,
                line=n.line,
                inputs=n.inputs,
                outputs=n.outputs,
                variable=n.variable,
                saved=[
                    s.SavedTensor(
                        name=name,
                        tensor=tid,
                        value=snapshot.value() if snapshot else None,
                        scalar=_number(scalar) if scalar is not None else None,
                    )
                    for name, tid, snapshot, scalar in n.saved
                ],
                module=n.module,
                instances=n.instances,
            )
        )
        for i, (dst, _) in enumerate(n.next):
            if dst is not None and (kept_nodes is None or dst in kept_nodes):
                edges.append(s.Edge(kind="next", src=n.id, dst=dst, input_nr=i, op=None, node=None))
    seen_flow: set[tuple[str, str, int]] = set()
    linked: set[tuple[str, str]] = set()
    tensor_ids = {t.id for t in tensors}
    cuts = {t.id: (t.cut, t.cut_from) for t in tensors if t.cut_from}
    # A leaf set to requires_grad=False: every flow from it into a tensor that does not
    # require grad is where the graph is cut (a frozen layer's weight and bias alike).
    frozen = {r.id for r in registry.tensors.values() if r.frozen and not r.requires_grad}
    no_grad = {t.id for t in tensors if not t.requires_grad}
    for ev in events:
        if isinstance(ev, s.OpEvent):
            for i, src in enumerate(ev.inputs):
                if src is None:
                    continue
                for dst in ev.outputs:
                    key = (src, dst, i)
                    if key in seen_flow or src == dst:
                        continue
                    seen_flow.add(key)
                    if src in tensor_ids and dst in tensor_ids:
                        link = cuts.get(dst)
                        cut = link[0] if link and link[1] == src else None
                        if cut is None and src in frozen and dst in no_grad:
                            cut = "requires_grad_false"
                        linked.add((src, dst))
                        edges.append(
                            s.Edge(
                                kind="flow",
                                src=src,
                                dst=dst,
                                input_nr=i,
                                op=ev.op,
                                node=ev.node,
                                cut=cut,
                            )
                        )
    for tid, (cut, src) in cuts.items():
        if src and (src, tid) not in linked and src in tensor_ids:
            linked.add((src, tid))
            edges.append(s.Edge(kind="flow", src=src, dst=tid, cut=cut, op=cut))

    timeline = rec.timeline
    tensors_dropped = max(0, len(registry.tensors) - limits.max_tensors)
    limit_hit = timeline.limit_hit
    if limit_hit is None:
        if nodes_dropped:
            limit_hit = "max_nodes"
        elif tensors_dropped:
            limit_hit = "max_tensors"
        elif stdout_dropped:
            limit_hit = "stdout_bytes"
    truncated = None
    if timeline.dropped or limit_hit or timeline.iterations_total:
        truncated = s.Truncation(
            iterations_total=timeline.iterations_total,
            iterations_detailed=sorted(set(timeline.detailed)),
            events_dropped=timeline.dropped + (len(rec.timeline.kept) - len(items)),
            stdout_bytes_dropped=stdout_dropped,
            limit_hit=limit_hit,
            nodes_dropped=nodes_dropped,
            tensors_dropped=tensors_dropped,
        )
    series = [
        s.Series(
            name=str(x["name"]),
            source=x["source"],
            y=_convert(shortest(x["y"]) if x.get("float32") and x["y"] else x["y"]),
            x=_convert(x["x"]) if x.get("x") is not None else None,
            line=x.get("line"),
            label=x.get("label"),
        )
        for x in rec.series
    ]
    meta = s.Meta(
        torch_version=str(torch.__version__),
        python_version=platform.python_version(),
        seed=limits.seed,
        seeded_by_program=rec.seeded_by_program,
        duration_ms=round((time.perf_counter() - started) * 1000, 3),
        source_lines=source.count("\n") + 1,
    )
    return s.Trace(
        schema_version=s.SCHEMA_VERSION,
        stdout=stdout,
        error=trace_error,
        tensors=tensors,
        nodes=nodes,
        edges=edges,
        events=events,
        stderr=stderr,
        series=series,
        truncated=truncated,
        meta=meta,
    )


def fit_to_size(trace: s.Trace, limit: int) -> s.Trace:
    """The Trace, or, when its JSON is larger than ``limit`` bytes, the Trace with only as many
    of its first events as fit (and its error), saying so (``limit_hit`` ``trace_bytes``): a
    sandbox that is sent more than its limit discards the whole Trace."""
    encoder = msgspec.json.Encoder()
    if len(encoder.encode(trace)) <= limit:
        return trace
    events = trace.events
    error = [e for e in events[-1:] if isinstance(e, s.ErrorEvent)]
    rest = events[: len(events) - len(error)]
    # Everything but the events, then the events one by one (and a margin for the fields the
    # cut adds).
    frame = len(encoder.encode(msgspec.structs.replace(trace, events=error))) + 512
    budget = limit - frame
    kept = 0
    for event in rest:
        budget -= len(encoder.encode(event)) + 1
        if budget < 0:
            break
        kept += 1
    dropped = len(rest) - kept
    cut = trace.truncated or s.Truncation()
    truncated = msgspec.structs.replace(
        cut,
        events_dropped=cut.events_dropped + dropped,
        limit_hit=cut.limit_hit or "trace_bytes",
    )
    closing = [msgspec.structs.replace(e, seq=kept) for e in error]
    tensors = [
        msgspec.structs.replace(t, first_event=None)
        if t.first_event is not None and t.first_event >= kept
        else t
        for t in trace.tensors
    ]
    return msgspec.structs.replace(
        trace, events=rest[:kept] + closing, tensors=tensors, truncated=truncated
    )


Trace = s.Trace
