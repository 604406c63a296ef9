"""The registry of tensors and autograd Nodes seen while a program runs.

Ids are given by structure, not by object: a Node's id is decided by its class, the op and
source line that created it (the "site"), the ids of the Nodes it points to and the loops it
was made in. A training loop builds a new graph every iteration (and an inner loop every step),
but each has the same structure, so the ids repeat and the page draws one graph whose values
change. A graph that really grows (``total += loss``) gets a new id at every step, because its
``next_functions`` point to a different Node each time.

Only the steps of a loop share ids: within one step (or outside loops) two Nodes of the same
structure are two ids, however alike they look. Nodes made by autograd itself (during a
``backward`` with ``create_graph=True``, or inside one torch call) have no site of their own;
they are told apart by how many of the same structure the step has already made (``counts``,
which the recorder starts afresh at each loop step).

The id is stored in the Node's own ``metadata`` dict, so no strong reference to a Node is kept
(keeping them would keep every iteration's graph alive).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

from gradstage.tracer.rules import VIEW_NODES, base_name, label_and_rule
from gradstage.tracer.values import Snapshot, snap, snap_shape
from gradstage.tracer.weakmap import WeakIdMap

_TAG = "gradstage.id"

Site = tuple[int | None, str, int]


@dataclass(slots=True)
class TensorRec:
    """What the Trace says about one tensor id."""

    id: str
    kind: str
    shape: list[int]
    dtype: str
    requires_grad: bool
    is_leaf: bool
    line: int | None = None
    grad_fn: str | None = None
    output_nr: int = 0
    name: str | None = None
    name_depth: int = 0  # frames outside the one that named it (-1: a module's parameter)
    module: str | None = None
    value: Snapshot | None = None
    cut: str | None = None
    cut_from: str | None = None
    frozen: bool = False  # a leaf the program set to requires_grad=False
    from_frozen: bool = False  # computed (without grad) from a frozen leaf
    left_module: bool = False  # a parameter its module no longer holds (replaced by a tied one)
    retains_grad: bool = False
    last_grad: Snapshot | None = None
    grad_seen: Any = None  # (weakref to .grad, its version) when last_grad was taken
    has_grad: bool = False
    finite: bool = True
    first_event: Any = None
    live: Any = None  # a weakref to the newest tensor object with this id


@dataclass(slots=True)
class NodeRec:
    """What the Trace says about one Node id."""

    id: str
    name: str
    kind: str
    label: str
    rule: str | None
    next: list[tuple[str | None, int]]
    op: str | None = None
    line: int | None = None
    inputs: list[str | None] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    variable: str | None = None
    saved: list[tuple[str, str | None, Snapshot | None, Any]] = field(default_factory=list)
    module: str | None = None
    instances: int = 0


def _node_kind(node: Any, name: str) -> str:
    if name == "AccumulateGrad":
        return "accumulate"
    if name == "CopySlices":
        return "copy_slices"
    if isinstance(node, torch.autograd.function.BackwardCFunction):
        return "custom"
    if base_name(name) in VIEW_NODES:
        return "view"
    if "Backward" in name:
        return "op"
    return "other"


def _dtype(t: torch.Tensor) -> str:
    return str(t.dtype).removeprefix("torch.")


def grad_fn_of(t: torch.Tensor) -> Any:
    """``t.grad_fn``, or None where autograd refuses to say: a view taken under ``no_grad``
    whose base was then changed in place (PyTorch itself prints ``grad_fn=<Invalid>``; reading
    the attribute raises). A program may hold such a view; the tracer must not fail on it."""
    try:
        return t.grad_fn
    except RuntimeError:
        return None


class Registry:
    """Tensors and Nodes by id; looks objects up without keeping them alive."""

    def __init__(self) -> None:
        self.tensors: dict[str, TensorRec] = {}
        self.nodes: dict[str, NodeRec] = {}
        self._tensor_keys: dict[tuple[Any, ...], str] = {}
        self._node_keys: dict[tuple[Any, ...], str] = {}
        self._by_object: WeakIdMap[TensorRec] = WeakIdMap()
        self._serial = 0
        self._saved_names: dict[type, list[str]] = {}
        # How many of each site / Node structure the current loop step (or the code outside
        # loops) has made, and the lines of the loops running: set by the recorder.
        self.counts: dict[Any, int] = {}
        self.context: tuple[tuple[int, int], ...] = ()
        self.param_names: dict[int, str] = {}  # id(parameter) -> "net.fc1.weight"
        self.params: list[Any] = []  # keeps named parameters' ids meaningful
        self.current_module: str | None = None
        # While a tensor's Node is being registered: that Node and the tensor's output index.
        # A Node that saved this very output for backward (ReluBackward0 its result) refers to
        # the tensor's id instead of keeping a second copy of its value.
        self._output_of: tuple[Any, int] | None = None
        self._saved_self: list[tuple[list[Any], int, str]] = []

    # ------------------------------------------------------------------ tensors

    def known(self, t: torch.Tensor) -> TensorRec | None:
        """The record of a tensor object already seen, if any."""
        rec: TensorRec | None = self._by_object.get(t)
        return rec

    def tensor(
        self,
        t: torch.Tensor,
        site: Site | None = None,
        out_index: int = 0,
        line: int | None = None,
        kind: str | None = None,
        fresh: bool = False,
    ) -> TensorRec:
        """The record for a tensor object, registering it (and its graph) on first sight.

        ``fresh``: the object may be one seen before but its identity changed (an in-place op
        gave it a new grad_fn or version), so look it up again by structure.
        """
        with torch._C.DisableTorchFunction():
            grad_fn: Any = grad_fn_of(t)
            known: TensorRec | None = self._by_object.get(t)
            if known is not None:
                if not fresh:
                    return known
                # In place: the same record unless autograd now sees a different Node.
                if grad_fn is None and known.grad_fn is None:
                    return known
                if (
                    grad_fn is not None
                    and known.grad_fn is not None
                    and grad_fn.metadata.get(_TAG) == known.grad_fn
                ):
                    return known
            is_param = isinstance(t, torch.nn.Parameter)
            if grad_fn is not None:
                self._output_of = (grad_fn, t.output_nr)
                try:
                    node_id = self.node(grad_fn, site)
                finally:
                    self._output_of = None
                    saved_self, self._saved_self = self._saved_self, []
                key: tuple[Any, ...] = ("out", node_id, t.output_nr)
            elif is_param or id(t) in self.param_names:
                self._serial += 1
                key = ("obj", self._serial)
                node_id = None
            elif site is not None:
                key = ("site", *site, out_index, self.context)
                node_id = None
            else:
                self._serial += 1
                key = ("seen", self._serial)
                node_id = None
            tid = self._tensor_keys.get(key)
            if tid is None:
                tid = f"t{len(self._tensor_keys) + 1}"
                self._tensor_keys[key] = tid
            if grad_fn is not None:
                for saved, index, label in saved_self:
                    saved[index] = (label, tid, None, None)
            rec = self.tensors.get(tid)
            if rec is None:
                if kind is None:
                    if grad_fn is not None:
                        kind = "nonleaf"
                    elif is_param:
                        kind = "param"
                    elif t.requires_grad:
                        kind = "leaf"
                    else:
                        kind = "constant"
                rec = TensorRec(
                    id=tid,
                    kind=kind,
                    shape=list(t.shape),
                    dtype=_dtype(t),
                    requires_grad=bool(t.requires_grad),
                    is_leaf=bool(t.is_leaf),
                    line=line,
                    grad_fn=node_id,
                    output_nr=t.output_nr if grad_fn is not None else 0,
                    module=self.current_module,
                    value=snap(t),
                )
                if is_param and not t.requires_grad:  # a parameter frozen before first seen
                    rec.frozen, rec.cut = True, "requires_grad_false"
                self.tensors[tid] = rec
                if node_id is not None and tid not in self.nodes[node_id].outputs:
                    self.nodes[node_id].outputs.append(tid)
            else:
                rec.requires_grad = bool(t.requires_grad)
                rec.shape = list(t.shape)
            name = self.param_names.get(id(t))
            if name is not None and rec.name is None:
                rec.name, rec.name_depth = name, -1
            self._by_object[t] = rec
            return rec

    # ------------------------------------------------------------------ nodes

    def node(self, root: Any, site: Site | None = None, op: str | None = None) -> str:
        """The id of a Node object, registering it and every unseen Node it reaches."""
        tag = root.metadata.get(_TAG)
        if tag is not None:
            return str(tag)
        # Iterative post-order so deep graphs do not hit the recursion limit.
        stack: list[tuple[Any, bool]] = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if node.metadata.get(_TAG) is not None:
                continue
            if not expanded:
                stack.append((node, True))
                for fn, _ in node.next_functions:
                    if fn is not None and fn.metadata.get(_TAG) is None:
                        stack.append((fn, False))
                continue
            self._register_node(node, site if node is root else None, op if node is root else None)
        return str(root.metadata[_TAG])

    def _register_node(self, node: Any, site: Site | None, op: str | None) -> None:
        name = type(node).__name__
        nexts = [
            (None if fn is None else str(fn.metadata[_TAG]), int(nr))
            for fn, nr in node.next_functions
        ]
        variable_id: str | None = None
        if name == "AccumulateGrad":
            variable_id = self.tensor(node.variable).id
            key: tuple[Any, ...] = ("acc", variable_id)
        else:
            shape = (name, site, tuple(nexts), self.context)
            seen = self.counts.get(shape, 0)
            self.counts[shape] = seen + 1
            key = (*shape, seen)
        nid = self._node_keys.get(key)
        if nid is None:
            nid = f"n{len(self._node_keys) + 1}"
            self._node_keys[key] = nid
        node.metadata[_TAG] = nid
        rec = self.nodes.get(nid)
        if rec is None:
            label, rule = label_and_rule(name)
            kind = _node_kind(node, name)
            if kind == "custom":
                label = name.removesuffix("Backward")
            rec = NodeRec(
                id=nid,
                name=name,
                kind=kind,
                label=label,
                rule=rule,
                next=nexts,
                op=op,
                line=site[0] if site else None,
                variable=variable_id,
                module=self.current_module,
            )
            rec.saved = self._saved(node)
            self.nodes[nid] = rec
        rec.instances += 1

    def _is_output_being_registered(self, node: Any, v: torch.Tensor) -> bool:
        """True when ``v`` (unpacked from ``node``'s saved tensors) is the output of ``node``
        whose registration is under way."""
        output = self._output_of
        return (
            output is not None
            and output[0] is node
            and v.grad_fn is node
            and v.output_nr == output[1]
        )

    def _saved(self, node: Any) -> list[tuple[str, str | None, Snapshot | None, Any]]:
        """The tensors and scalars a Node saved for backward, by their ``_saved_*`` names."""
        names = self._saved_names.get(type(node))
        if names is None:
            names = [a for a in dir(node) if a.startswith("_saved_")]
            self._saved_names[type(node)] = names
        out: list[tuple[str, str | None, Snapshot | None, Any]] = []
        for attr in names:
            try:
                v = getattr(node, attr)
            except RuntimeError:  # already freed
                continue
            label = attr.removeprefix("_saved_")
            if isinstance(v, torch.Tensor):
                rec = self.known(v)
                if rec is None and self._is_output_being_registered(node, v):
                    self._saved_self.append((out, len(out), label))
                    out.append((label, None, None, None))  # the tensor's id, once it has one
                    continue
                if rec is not None:
                    out.append((label, rec.id, None, None))
                elif v.dtype == torch.uint8:
                    # Bytes a kernel keeps for itself (an LSTM's workspace, result3): scratch
                    # memory whose contents differ from run to run; its size is what it is.
                    out.append((label, None, snap_shape(v), None))
                else:
                    out.append((label, None, snap(v), None))
            elif isinstance(v, int | float | bool) or v is None:
                out.append((label, None, None, v))
            elif isinstance(v, tuple | list) and all(isinstance(x, int | float) for x in v):
                out.append((label, None, None, str(list(v))))
        return out
