"""What a lesson is: a program, its words in two languages, and moments worth watching."""

from __future__ import annotations

import msgspec

LANGUAGES = ("en", "zh-CN")


class Selector(msgspec.Struct, frozen=True, omit_defaults=True, forbid_unknown_fields=True):
    """Picks one event of a Trace: the ``nth`` (from 1) event of ``kind`` matching the filters.

    ``tensor``: the event's tensor has this variable name; ``node``: the event's Node has this
    PyTorch name (``MulBackward0``); ``line``: the event's source line; ``iteration``: the loop
    iteration it belongs to.
    """

    kind: str
    nth: int = 1
    tensor: str | None = None
    node: str | None = None
    line: int | None = None
    iteration: int | None = None


class Expect(msgspec.Struct, frozen=True, omit_defaults=True, forbid_unknown_fields=True):
    """A fact the lesson tests check: a value the pointed event shows is what PyTorch computes.

    ``of``: a dotted path into the event (``after``, ``values.0``, ``grad_inputs.1``,
    ``params.0.state.exp_avg``, ``total_norm``, ``message``). ``equals``: a Python expression
    evaluated in a plain, untraced run of the same program: right after the statement on
    ``line`` (default: the event's line) has run for the ``run``-th time (default: the event's
    loop iteration + 1, so 1 outside loops), or when the program has stopped if ``at_end``.
    """

    of: str
    equals: str
    line: int | None = None
    run: int | None = None
    at_end: bool = False


class Pointer(msgspec.Struct, frozen=True, omit_defaults=True, forbid_unknown_fields=True):
    """A "what to watch" note tied to one moment of the timeline.

    ``expect`` is for the tests only (the page ignores it); a pointer without it is unchanged.
    """

    id: str
    at: Selector
    text: dict[str, str]
    expect: list[Expect] = msgspec.field(default_factory=list)


class Lesson(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One concept of autograd, as a program to run and replay."""

    id: str
    group: str
    order: int
    title: dict[str, str]
    summary: dict[str, str]
    explanation: dict[str, str]
    source: str
    pointers: list[Pointer]
    raises: bool = False


GROUPS = {
    "first-steps": {"en": "First steps", "zh-CN": "入门"},
    "gradients": {"en": "Gradients", "zh-CN": "梯度"},
    "graph": {"en": "The graph", "zh-CN": "计算图"},
    "training": {"en": "Training", "zh-CN": "训练"},
    "advanced": {"en": "Advanced", "zh-CN": "进阶"},
}
