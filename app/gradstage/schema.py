"""The Trace: the one contract between the tracer, the sandbox, the server and the page.

A Trace is what the page replays. It is plain data; nothing here knows about torch or HTTP.

Identifiers
    Tensors are ``t<N>``, autograd Nodes ``n<N>``, ``backward()`` calls ``b<N>``. Ids are stable
    across loop iterations where the structure repeats: the same op on the same line, fed by the
    same nodes, keeps its node id in every iteration, so the page draws one graph and animates it.

Values
    A :class:`Value` holds a tensor's contents at one moment: ``data`` (flat, row-major) when the
    tensor has at most ``FULL_VALUE_LIMIT`` elements, otherwise ``stats``, a ``preview`` of the
    first elements and a ``histogram``. Non-finite numbers are the strings ``"nan"``, ``"inf"``,
    ``"-inf"`` because JSON has no spelling for them.

Node kinds (``Node.kind``)
    ``op``           a backward Node created by a differentiable forward op (``MulBackward0``)
    ``accumulate``   ``AccumulateGrad``: where a leaf's ``.grad`` is written
    ``view``         a Node of a view op (``ViewBackward0``, ``SelectBackward0`` ...)
    ``copy_slices``  ``CopySlices``: an in-place write into part of a tensor
    ``custom``       the backward of a user's ``torch.autograd.Function`` (shown as one node)
    ``other``        anything else PyTorch has (e.g. ``torch::autograd::GraphRoot``)

Tensor kinds (``TensorInfo.kind``)
    ``leaf``      a leaf that requires grad (``.grad`` is filled by backward)
    ``param``     an ``nn.Parameter`` (a leaf that requires grad, owned by a module)
    ``nonleaf``   the output of a differentiable op (has a ``grad_fn``)
    ``constant``  a tensor that does not require grad (inputs, targets)
    ``detached``  a tensor cut from the graph; ``cut`` says how
    ``grad``      a gradient tensor that has a graph of its own (``create_graph=True``)

Events (``Event.kind``), in the order they really happened
    ``op``           a forward op: inputs, outputs (with values), the Node it created
    ``backward``     a ``backward()`` / ``autograd.grad`` call: root, seed, options
    ``node``         one Node executed by the engine: grads in (``grad_outputs``), out
                     (``grad_inputs``), in the engine's real order
    ``accumulate``   a leaf's ``.grad``: before + delta = after
    ``retain_grad``  a non-leaf's ``.grad`` filled because of ``retain_grad()``
    ``hook``         a user's tensor hook fired: the gradient it saw and what it returned
    ``backward_end`` the end of a ``backward()`` call (``freed``: graph buffers released)
    ``zero_grad``    ``.grad`` emptied: ``zero_()``, ``= None``, ``optimizer.zero_grad()``
    ``grad_set``     ``.grad`` changed in some other way (assigned, scaled in place)
    ``update``       a parameter changed outside autograd (``.data.sub_``, in ``no_grad``)
    ``optimizer``    ``optimizer.step()``: each parameter before / grad / after, and state
    ``clip``         ``clip_grad_norm_``: total norm, each grad before / after
    ``print``        text written to stdout
    ``plot``         a series plotted with ``plt.plot``
    ``warning``      a Python warning (``.grad`` of a non-leaf, ...)
    ``anomaly``      the first NaN/inf in forward; the first NaN and the first inf in
                     backward; each at the node that produced it
    ``iteration``    a new iteration of a top-level loop begins
    ``skipped``      detail of some iterations was left out to keep the trace small
    ``error``        the exception that ended the program
"""

from __future__ import annotations

from typing import Literal

import msgspec

SCHEMA_VERSION = 1

# Tensors with at most this many elements are kept whole; larger ones are summarised.
FULL_VALUE_LIMIT = 64
PREVIEW_LENGTH = 16
HISTOGRAM_BINS = 16

Number = float | str  # a float, or "nan" / "inf" / "-inf"
# An optimizer's options by name: a number, a flag, or a tuple of numbers (Adam's betas; a None
# in it is torch's "the default for the dtype", as in Adafactor's eps).
Hyper = dict[str, Number | bool | list[Number | None] | None]


class Stats(msgspec.Struct, frozen=True):
    """Summary statistics of a tensor's finite elements, and counts of the non-finite ones."""

    min: float | None
    max: float | None
    mean: float | None
    std: float | None
    nan: int = 0
    inf: int = 0


class Histogram(msgspec.Struct, frozen=True, omit_defaults=True):
    """Counts of finite elements in equal-width bins between ``low`` and ``high``.

    ``sample``: for very large tensors the counts come from an evenly strided sample of this
    many elements (the shape of the distribution, not exact counts).
    """

    low: float
    high: float
    counts: list[int]
    sample: int | None = None


class Value(msgspec.Struct, frozen=True, omit_defaults=True):
    """A tensor's contents at one moment: whole when small, summarised when large; only its
    shape and dtype when the contents cannot be read (a torch.func transform's tensor). The
    numbers of a float32 (or float16, bfloat16, complex64) tensor kept whole are written with
    the fewest digits that name the same float32 (0.1, not 0.10000000149011612)."""

    shape: list[int]
    dtype: str
    data: list[Number] | None = None
    stats: Stats | None = None
    preview: list[Number] | None = None
    histogram: Histogram | None = None
    # A complex tensor: ``imag`` holds the imaginary parts beside ``data``'s real parts (small
    # tensors); a summarised one describes its real part only and says so.
    imag: list[Number] | None = None
    real_part_only: bool = False
    # A tensor that is not strided (``sparse_coo``, ``sparse_csr``: an nn.Embedding's sparse
    # gradient) is described with its zeros filled in, and its layout is named here.
    layout: str | None = None


class TraceError(msgspec.Struct, frozen=True, omit_defaults=True):
    """Why the program stopped: the exception, its line, and what it means in plain words."""

    type: str
    message: str
    line: int | None = None
    explanation: str | None = None
    # Machine-readable reason for errors raised by gradstage itself (limits, sandbox).
    code: str | None = None
    # The explanation in Simplified Chinese, when there is one.
    explanation_zh: str | None = None


TensorKind = Literal["leaf", "param", "nonleaf", "constant", "detached", "grad"]
CutKind = Literal["detach", "detach_", "no_grad", "data", "requires_grad_false", "item"]


class TensorInfo(msgspec.Struct, omit_defaults=True):
    """One tensor the program made that matters to autograd (one entry per display id)."""

    id: str
    shape: list[int]
    dtype: str
    kind: TensorKind
    requires_grad: bool
    is_leaf: bool
    retains_grad: bool = False
    name: str | None = None
    module: str | None = None
    line: int | None = None
    grad_fn: str | None = None
    output_nr: int = 0
    value: Value | None = None
    grad: Value | None = None
    cut: CutKind | None = None
    cut_from: str | None = None
    first_event: int | None = None


class SavedTensor(msgspec.Struct, omit_defaults=True):
    """Something a Node saved for backward (``_saved_self``, ``_saved_other`` ...).

    ``tensor``: the id of a tensor the Trace knows (an input, or the Node's own output);
    ``value``: the contents of one only autograd holds (a batch norm's mean); ``scalar``: a
    number, or a flag or tuple spelled as Python spells it (``"True"``, ``"[1, 1]"``).
    """

    name: str
    tensor: str | None = None
    value: Value | None = None
    scalar: Number | str | None = None


class NextFunction(msgspec.Struct, omit_defaults=True):
    """One entry of ``node.next_functions``: the Node (or None) and the input index it feeds.
    Past the node limit (``truncated.nodes_dropped``) it may name a Node left out of the
    Trace; ``edges`` only link Nodes the Trace has."""

    node: str | None
    input_nr: int


NodeKind = Literal["op", "accumulate", "view", "copy_slices", "custom", "other"]


class Node(msgspec.Struct, omit_defaults=True):
    """An autograd Node as PyTorch has it, with the forward op that created it."""

    id: str
    name: str
    kind: NodeKind
    label: str
    next: list[NextFunction]
    op: str | None = None
    rule: str | None = None
    line: int | None = None
    inputs: list[str | None] = msgspec.field(default_factory=list)
    outputs: list[str] = msgspec.field(default_factory=list)
    variable: str | None = None
    saved: list[SavedTensor] = msgspec.field(default_factory=list)
    module: str | None = None
    instances: int = 1


class Edge(msgspec.Struct, omit_defaults=True):
    """A link the page draws.

    ``next``: ``src`` Node's ``next_functions[i]`` is ``dst`` Node, feeding its input ``input_nr``.
    ``flow``: forward data flow, ``src`` tensor is input ``input_nr`` of the op whose output is
    ``dst`` tensor; ``cut`` marks a flow that autograd does not follow (detach, no_grad, .data).
    """

    kind: Literal["next", "flow"]
    src: str
    dst: str
    input_nr: int = 0
    cut: CutKind | None = None
    op: str | None = None
    node: str | None = None


# ---------------------------------------------------------------- events


class EventBase(msgspec.Struct, tag_field="kind", omit_defaults=True):
    """Fields every event has: its index in ``events``, line and loop iteration."""

    seq: int
    line: int | None = None
    iteration: int | None = None


class OpEvent(EventBase, tag="op"):
    """A forward op ran: ``op`` on ``inputs`` made ``outputs``; ``node`` is its grad_fn."""

    op: str = ""
    inputs: list[str | None] = msgspec.field(default_factory=list)
    outputs: list[str] = msgspec.field(default_factory=list)
    values: list[Value] = msgspec.field(default_factory=list)
    node: str | None = None
    inplace: bool = False
    version: int | None = None
    grad_enabled: bool = True


class BackwardEvent(EventBase, tag="backward"):
    """``backward()`` / ``torch.autograd.grad`` started from ``roots`` with ``seeds``."""

    id: str = ""
    api: Literal["backward", "grad"] = "backward"
    roots: list[str] = msgspec.field(default_factory=list)
    root_nodes: list[str | None] = msgspec.field(default_factory=list)
    seeds: list[Value] = msgspec.field(default_factory=list)
    implicit_seed: bool = True
    retain_graph: bool = False
    create_graph: bool = False
    inputs: list[str] = msgspec.field(default_factory=list)


class NodeEvent(EventBase, tag="node"):
    """The engine executed ``node``: gradients w.r.t. its outputs in, w.r.t. its inputs out."""

    backward: str = ""
    node: str = ""
    grad_outputs: list[Value | None] = msgspec.field(default_factory=list)
    grad_inputs: list[Value | None] = msgspec.field(default_factory=list)


class AccumulateEvent(EventBase, tag="accumulate"):
    """A leaf's ``.grad``: ``before`` (None if empty) + ``delta`` = ``after``."""

    backward: str | None = None
    tensor: str = ""
    node: str | None = None
    before: Value | None = None
    delta: Value | None = None
    after: Value | None = None


class RetainGradEvent(EventBase, tag="retain_grad"):
    """A non-leaf that called ``retain_grad()`` received its ``.grad``."""

    backward: str | None = None
    tensor: str = ""
    grad: Value | None = None


class HookEvent(EventBase, tag="hook"):
    """A user's tensor hook fired; ``changed`` when it returned a different gradient."""

    backward: str | None = None
    tensor: str = ""
    hook: str = ""
    grad: Value | None = None
    result: Value | None = None
    changed: bool = False


class BackwardEndEvent(EventBase, tag="backward_end"):
    """The end of a ``backward()`` call; ``freed`` when its graph's buffers were released.
    For ``torch.autograd.grad``: ``grads`` are the gradients it returned, ``results`` the
    tensors that hold them (None for an input it did not reach): in a loop the same tensor id
    gets a new value at each call."""

    backward: str = ""
    freed: bool = True
    grads: list[Value | None] = msgspec.field(default_factory=list)
    results: list[str | None] = msgspec.field(default_factory=list)
    # The call raised (an error in a Node or a hook): it ended there.
    failed: bool = False


class ZeroGradEvent(EventBase, tag="zero_grad"):
    """Gradients emptied; ``how``: ``zero_`` (filled with 0), ``none`` (set to None)."""

    how: Literal["zero_", "none"] = "zero_"
    via: str = ""
    tensors: list[str] = msgspec.field(default_factory=list)
    before: list[Value | None] = msgspec.field(default_factory=list)


class GradSetEvent(EventBase, tag="grad_set"):
    """``.grad`` of ``tensor`` changed outside backward (assigned, modified in place)."""

    tensor: str = ""
    before: Value | None = None
    after: Value | None = None


class UpdateEvent(EventBase, tag="update"):
    """A tensor's value changed outside autograd (``w.data.sub_(...)``, ``w -= ...`` in no_grad)."""

    tensor: str = ""
    op: str = ""
    before: Value | None = None
    after: Value | None = None


class ParamStep(msgspec.Struct, omit_defaults=True):
    """One parameter's optimizer update: ``after = before - lr * (step direction)``."""

    tensor: str
    before: Value | None = None
    grad: Value | None = None
    after: Value | None = None
    # The optimizer's state for this parameter after the step: its tensors (momentum buffers,
    # Adam's averages) and numbers; lists (LBFGS's history) are left out.
    state: dict[str, Value | Number] = msgspec.field(default_factory=dict)
    # This parameter's hyper-parameters when its param group's differ from the event's.
    hyper: Hyper | None = None


class OptimizerEvent(EventBase, tag="optimizer"):
    """``optimizer.step()``: the optimizer class, its hyper-parameters (its first param
    group's) and each update."""

    optimizer: str = ""
    name: str | None = None
    hyper: Hyper = msgspec.field(default_factory=dict)
    params: list[ParamStep] = msgspec.field(default_factory=list)


class ClipEvent(EventBase, tag="clip"):
    """``clip_grad_norm_``: grads scaled by ``max_norm / total_norm`` when the norm is larger;
    or (``how="value"``) ``clip_grad_value_``: every element clamped to ``±clip_value``."""

    max_norm: Number = 0.0
    total_norm: Number = 0.0
    clipped: bool = False
    how: Literal["norm", "value"] = "norm"
    clip_value: Number | None = None
    tensors: list[str] = msgspec.field(default_factory=list)
    before: list[Value | None] = msgspec.field(default_factory=list)
    after: list[Value | None] = msgspec.field(default_factory=list)


class PrintEvent(EventBase, tag="print"):
    """Text the program wrote to stdout, or to stderr (the exact characters)."""

    text: str = ""
    stream: Literal["stdout", "stderr"] = "stdout"


class PlotEvent(EventBase, tag="plot"):
    """A series drawn with ``plt.plot``; ``series`` indexes ``Trace.series``."""

    series: int = 0


class WarningEvent(EventBase, tag="warning"):
    """A Python warning, with a plain explanation when it is a classic one."""

    category: str = ""
    message: str = ""
    explanation: str | None = None
    explanation_zh: str | None = None
    tensor: str | None = None


class AnomalyEvent(EventBase, tag="anomaly"):
    """A first NaN or inf: where it appeared (``phase``), at which node or tensor.

    At most one in forward (the first op that made a non-finite value from finite inputs) and,
    in backward, one per ``what``: the first Node that sent on a NaN it did not receive (where
    ``torch.autograd.detect_anomaly`` would stop) and the first that did so with an inf.
    """

    phase: Literal["forward", "backward"] = "forward"
    node: str | None = None
    tensor: str | None = None
    backward: str | None = None
    what: str = ""
    explanation: str = ""
    explanation_zh: str | None = None


class IterationEvent(EventBase, tag="iteration"):
    """Iteration ``index`` (0-based) of the top-level loop at ``loop_line`` begins."""

    index: int = 0
    loop_line: int = 0


class Output(msgspec.Struct, frozen=True, omit_defaults=True):
    """Text written to one stream."""

    text: str
    stream: Literal["stdout", "stderr"] = "stdout"


class SkippedEvent(EventBase, tag="skipped"):
    """Detail of iterations ``first``..``last`` was left out; ``counts`` by event kind.
    ``output``: what those iterations printed, in order (the console still shows it).
    ``loop_line``: set when they are steps of a loop inside a kept iteration of the top loop
    (the mini-batches of an epoch), numbered from 0 in each run of that loop."""

    first: int = 0
    last: int = 0
    counts: dict[str, int] = msgspec.field(default_factory=dict)
    output: list[Output] = msgspec.field(default_factory=list)
    loop_line: int | None = None


class ErrorEvent(EventBase, tag="error"):
    """The exception that ended the program (the same as ``Trace.error``)."""

    type: str = ""
    message: str = ""
    explanation: str | None = None
    explanation_zh: str | None = None
    node: str | None = None


Event = (
    OpEvent
    | BackwardEvent
    | NodeEvent
    | AccumulateEvent
    | RetainGradEvent
    | HookEvent
    | BackwardEndEvent
    | ZeroGradEvent
    | GradSetEvent
    | UpdateEvent
    | OptimizerEvent
    | ClipEvent
    | PrintEvent
    | PlotEvent
    | WarningEvent
    | AnomalyEvent
    | IterationEvent
    | SkippedEvent
    | ErrorEvent
)


class Series(msgspec.Struct, omit_defaults=True):
    """Numbers over time: a ``plt.plot`` call, or a scalar recorded at every iteration."""

    name: str
    source: Literal["plot", "loss", "scalar"]
    y: list[Number]
    x: list[Number] | None = None
    line: int | None = None
    label: str | None = None


class Truncation(msgspec.Struct, omit_defaults=True):
    """What was left out to keep the trace bounded, so the page can say so."""

    iterations_total: int = 0
    iterations_detailed: list[int] = msgspec.field(default_factory=list)
    events_dropped: int = 0
    stdout_bytes_dropped: int = 0
    # Which limit cut the Trace short: "max_events", "max_nodes" (the Nodes kept are those its
    # events show, then those nearest the start and the end of backward), "max_tensors" (the
    # first tensors are kept), "stdout_bytes", "trace_bytes" (the first events that fit).
    limit_hit: str | None = None
    nodes_dropped: int = 0
    tensors_dropped: int = 0


class Meta(msgspec.Struct, omit_defaults=True):
    """Facts about the run: versions, time taken, seed."""

    torch_version: str = ""
    python_version: str = ""
    seed: int | None = None
    seeded_by_program: bool = False
    duration_ms: float = 0.0
    source_lines: int = 0
    # Which sandbox layers held while the program ran (empty when traced in-process).
    layers: dict[str, bool] = msgspec.field(default_factory=dict)


class Trace(msgspec.Struct, omit_defaults=False):
    """Everything the page needs to replay what autograd did for one program."""

    schema_version: int
    stdout: str
    error: TraceError | None
    tensors: list[TensorInfo]
    nodes: list[Node]
    edges: list[Edge]
    events: list[Event]
    # What the program wrote to stderr (``print(..., file=sys.stderr)``, logging), exactly;
    # its writes are also print events, marked ``stream="stderr"``.
    stderr: str = ""
    series: list[Series] = msgspec.field(default_factory=list)
    truncated: Truncation | None = None
    meta: Meta = msgspec.field(default_factory=Meta)


def encode(trace: Trace) -> bytes:
    """Serialise a Trace to JSON bytes."""
    return msgspec.json.encode(trace)


def decode(data: bytes | str) -> Trace:
    """Parse and validate JSON into a Trace; raises ``msgspec.ValidationError`` on bad input."""
    return msgspec.json.decode(data, type=Trace)


def json_schema() -> dict[str, object]:
    """The Trace's JSON Schema, as published at ``/api/schema``."""
    schema = msgspec.json.schema(Trace)
    schema["$id"] = f"https://gradstage.invalid/schema/trace-v{SCHEMA_VERSION}.json"
    schema["title"] = "gradstage Trace"
    return schema


def json_schema_text() -> str:
    """The JSON Schema as committed in ``docs/trace.schema.json`` (keys sorted, 2-space indent).

    Regenerate the file with ``.venv/bin/python -m gradstage.schema > docs/trace.schema.json``.
    """
    import json

    return json.dumps(json_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    import sys

    sys.stdout.write(json_schema_text())
