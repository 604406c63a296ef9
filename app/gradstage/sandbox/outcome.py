"""Turning what came back from a worker into a Trace the server can trust.

Everything from the worker is untrusted: the Trace is parsed against the schema with size caps,
and anything else (a kill, a crash, a forged or oversized result) becomes a Trace whose
``error`` says plainly what happened, with whatever the program printed before.
"""

from __future__ import annotations

import re

import msgspec

from gradstage.limits import Limits
from gradstage.schema import SCHEMA_VERSION, ErrorEvent, Meta, PrintEvent, Trace, TraceError

REASONS: dict[str, tuple[str, str]] = {
    "time_limit": (
        "TimeLimitExceeded",
        "The program ran longer than it is allowed ({limit}). Look for a loop that never ends, "
        "or use fewer iterations.",
    ),
    "memory_limit": (
        "MemoryLimitExceeded",
        "The program asked for more memory than it is allowed ({limit}). Use smaller tensors.",
    ),
    "output_limit": (
        "OutputLimitExceeded",
        "The program printed more than {limit}; it was stopped there. Print less (for "
        "example only every 100th iteration).",
    ),
    "trace_too_large": (
        "TraceTooLarge",
        "The program made a trace larger than {limit}. Use fewer or smaller tensors.",
    ),
    "crash": (
        "WorkerCrashed",
        "The program stopped abruptly (a crash, or it ended the process itself) before it "
        "finished, so only its printed output is shown.",
    ),
    "forbidden": (
        "ForbiddenError",
        "The program tried something that is not available here (files, processes, the "
        "network). Programs run in a sandbox with torch, math and random.",
    ),
    "invalid_result": (
        "InvalidResult",
        "The worker sent back something that is not a valid trace, so it was discarded.",
    ),
    "source_too_large": (
        "SourceTooLarge",
        "The program is longer than allowed ({limit}).",
    ),
    "unavailable": (
        "SandboxUnavailable",
        "No sandbox worker is available right now. Please try again in a moment.",
    ),
}


# The same explanations in Simplified Chinese ({limit} as in English).
REASONS_ZH: dict[str, str] = {
    "time_limit": "程序运行时间超过了允许的上限（{limit}）。找找永不结束的循环，或减少迭代次数。",
    "memory_limit": "程序申请的内存超过了允许的上限（{limit}）。请使用更小的张量。",
    "output_limit": "程序打印的内容超过了 {limit}，在那里被停止。"
    "少打印一些（例如每 100 次迭代才打印一次）。",
    "trace_too_large": "程序生成的追踪超过了 {limit}。请使用更少或更小的张量。",
    "crash": "程序在结束前突然停止（崩溃，或它自己结束了进程），所以只显示它打印的内容。",
    "forbidden": "程序试图使用这里没有的东西（文件、进程、网络）。"
    "程序在沙箱中运行，可以使用 torch、math 和 random。",
    "invalid_result": "工作进程送回的不是有效的追踪，已被丢弃。",
    "source_too_large": "程序超过了允许的长度（{limit}）。",
    "unavailable": "现在没有可用的沙箱工作进程。请稍后再试。",
}
FILES_ZH = "这里不能读写文件。"
SAVE_ZH = (
    "这里不能保存文件：torch.save 没有地方可写。要保留模型最好的权重，请改为复制："
    "best = copy.deepcopy(model.state_dict())，之后用 model.load_state_dict(best) 恢复。"
)


def _size(n: float) -> str:
    return f"{n / 1024:.0f} KiB" if n < 1 << 20 else f"{n / (1 << 20):.0f} MiB"


def _amount(n: int) -> str:
    """A number of bytes asked for, in the largest unit that keeps it above 1."""
    return f"{n / (1 << 30):.3g} GiB" if n >= 1 << 30 else _size(n)


def _first_sentence(text: str) -> str:
    first = text.split(". ")[0]
    return first if first.endswith(".") else first + "."


def limit_text(code: str, limits: Limits, chinese: bool = False) -> str:
    """The limit that applies to ``code``, in words (English, or Chinese)."""
    if code == "time_limit" and chinese:
        return f"CPU 时间 {limits.cpu_seconds:g} 秒，总共 {limits.wall_seconds:g} 秒"
    return {
        "time_limit": f"{limits.cpu_seconds:g} s of CPU, {limits.wall_seconds:g} s in all",
        "memory_limit": _size(limits.memory_bytes),
        "output_limit": _size(limits.stdout_bytes),
        "trace_too_large": _size(limits.trace_bytes),
        "source_too_large": _size(limits.source_bytes),
    }.get(code, "")


def error_trace(code: str, limits: Limits, stdout: str = "", message: str | None = None) -> Trace:
    """A Trace that only says why the program did not finish, and what it printed."""
    type_name, template = REASONS[code]
    explanation = template.format(limit=limit_text(code, limits))
    error = TraceError(
        type=type_name,
        message=message or _first_sentence(explanation),
        explanation=explanation,
        code=code,
        explanation_zh=REASONS_ZH[code].format(limit=limit_text(code, limits, chinese=True)),
    )
    events: list[PrintEvent | ErrorEvent] = []
    if stdout:
        events.append(PrintEvent(seq=0, text=stdout))
    events.append(
        ErrorEvent(
            seq=len(events),
            type=error.type,
            message=error.message,
            explanation=error.explanation,
            explanation_zh=error.explanation_zh,
        )
    )
    return Trace(
        schema_version=SCHEMA_VERSION,
        stdout=stdout,
        error=error,
        tensors=[],
        nodes=[],
        edges=[],
        events=list(events),
        meta=Meta(),
    )


# How the sandbox's refusals reach a program: EPERM from the system-call filter (processes,
# the network), EACCES from Landlock and ENOENT from the private file system (files: nothing
# of the server's is there to read, and there is nowhere to write). The operating system's
# message starts with the number; a program's own ``raise PermissionError("...")`` has none.
_REFUSED = re.compile(r"\[Errno (1|2|13)\] ")
# What torch's CPU allocator says when the memory limit refuses it a block.
_ALLOCATOR = re.compile(r"DefaultCPUAllocator: (can't allocate memory|not enough memory)")
_ASKED = re.compile(r"you tried to allocate (\d+) bytes")
# What torch.save's file writer says when the sandbox refuses it a file.
_TORCH_FILE = re.compile(
    r"open file failed with strerror: (Permission denied|Read-only file system|No such file)"
    r"|Parent directory .* does not exist"
)


def classify_program_error(trace: Trace, limits: Limits) -> Trace:
    """Give a ``code`` to learner errors that really are limits or refusals: told by what
    raised them (the system, torch's allocator), never by words a program's own exception may
    contain."""
    err = trace.error
    if err is None or err.code is not None:
        return trace
    text = err.message
    refused = (
        _REFUSED.match(text)
        if err.type in ("PermissionError", "FileNotFoundError", "OSError")
        else None
    )
    saved = err.type == "RuntimeError" and _TORCH_FILE.search(text) is not None
    if err.type.endswith("MemoryError") or _ALLOCATOR.search(text):
        code = "memory_limit"
    elif refused is not None or saved:
        code = "forbidden"
    else:
        return trace
    explanation = REASONS[code][1].format(limit=limit_text(code, limits))
    chinese = REASONS_ZH[code].format(limit=limit_text(code, limits, chinese=True))
    if saved:
        chinese = SAVE_ZH
        explanation = (
            "Saving files is not available here: torch.save has nowhere to write. To keep a "
            "model's best weights, copy them instead: best = copy.deepcopy(model.state_dict()), "
            "and later model.load_state_dict(best)."
        )
    elif refused is not None and refused.group(1) != "1":
        explanation = "Reading and writing files is not available here. " + explanation
        chinese = FILES_ZH + chinese
    allocator = _ALLOCATOR.search(text)
    if allocator is not None:
        # torch's own words start with where in its C++ source the check failed: what the
        # learner needs is from the allocator's name on, and how much that was.
        text = text[allocator.start() :].removesuffix(" Error code 12 (Cannot allocate memory)")
        asked = _ASKED.search(text)
        if asked is not None:
            explanation = (
                f"The program asked for {_amount(int(asked.group(1)))} at once, more memory than "
                f"it is allowed ({limit_text(code, limits)}). Use smaller tensors."
            )
            chinese = (
                f"程序一次申请了 {_amount(int(asked.group(1)))}，超过了允许的内存上限"
                f"（{limit_text(code, limits)}）。请使用更小的张量。"
            )
    trace.error = msgspec.structs.replace(
        err, code=code, explanation=explanation, explanation_zh=chinese, message=text
    )
    for event in trace.events:
        if isinstance(event, ErrorEvent):
            event.message, event.explanation = text, explanation
            event.explanation_zh = chinese
    return trace


def validate(data: bytes, limits: Limits) -> Trace:
    """Parse a worker's result; raises ``ValueError`` if it is not a Trace within the caps."""
    if len(data) > limits.trace_bytes:
        raise ValueError("trace too large")
    try:
        trace = msgspec.json.decode(data, type=Trace)
    except msgspec.DecodeError as exc:
        raise ValueError(str(exc)) from exc
    if trace.schema_version != SCHEMA_VERSION:
        raise ValueError("wrong schema version")
    if len(trace.nodes) > limits.max_nodes or len(trace.tensors) > limits.max_tensors:
        raise ValueError("too many nodes or tensors")
    if len(trace.events) > limits.max_events + 16:
        raise ValueError("too many events")
    if len(trace.stdout.encode()) > limits.stdout_bytes + 4:
        raise ValueError("too much output")
    return trace
