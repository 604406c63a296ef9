"""Which program errors the server reports as the sandbox's limits and refusals: those raised by
the system or by torch's allocator, never a program's own exception that uses the same words."""

from __future__ import annotations

import pytest
from gradstage.limits import Limits
from gradstage.sandbox.outcome import classify_program_error
from gradstage.schema import SCHEMA_VERSION, ErrorEvent, Meta, Trace, TraceError


def _trace(type_name: str, message: str) -> Trace:
    return Trace(
        schema_version=SCHEMA_VERSION,
        stdout="",
        error=TraceError(type=type_name, message=message, line=3, explanation="theirs"),
        tensors=[],
        nodes=[],
        edges=[],
        events=[],
        meta=Meta(),
    )


LIMITS = Limits(memory_bytes=1 << 30)


def test_the_allocators_refusal_says_how_much_was_asked_for_without_torchs_source_lines() -> None:
    message = (
        "[enforce fail at alloc_cpu.cpp:127] err == 0. DefaultCPUAllocator: can't allocate "
        "memory: you tried to allocate 400000000000 bytes. Error code 12 (Cannot allocate memory)"
    )
    trace = _trace("RuntimeError", message)
    trace.events.append(ErrorEvent(seq=0, line=3, type="RuntimeError", message=message))
    error = classify_program_error(trace, LIMITS).error
    assert error is not None
    assert error.code == "memory_limit"
    assert error.type == "RuntimeError"
    assert error.message == (
        "DefaultCPUAllocator: can't allocate memory: you tried to allocate 400000000000 bytes."
    )
    assert error.explanation == (
        "The program asked for 373 GiB at once, more memory than it is allowed (1024 MiB). "
        "Use smaller tensors."
    )
    event = trace.events[0]
    assert isinstance(event, ErrorEvent)
    assert (event.message, event.explanation) == (error.message, error.explanation)


@pytest.mark.parametrize(
    ("type_name", "message", "code", "says"),
    [
        (
            "RuntimeError",
            "[enforce fail at alloc_cpu.cpp:118] data. DefaultCPUAllocator: not enough memory: "
            "you tried to allocate 53687091200 bytes.",
            "memory_limit",
            "(1024 MiB)",
        ),
        ("MemoryError", "", "memory_limit", "(1024 MiB)"),
        ("_ArrayMemoryError", "Unable to allocate 37.3 GiB", "memory_limit", "(1024 MiB)"),
        (
            "PermissionError",
            "[Errno 13] Permission denied: '/etc/passwd'",
            "forbidden",
            "Reading and writing files is not available here.",
        ),
        ("PermissionError", "[Errno 1] Operation not permitted", "forbidden", "sandbox"),
        (
            "RuntimeError",
            "[enforce fail at inline_container.cc:747] . open file failed with strerror: "
            "Permission denied",
            "forbidden",
            "copy.deepcopy(model.state_dict())",
        ),
        (
            "FileNotFoundError",
            "[Errno 2] No such file or directory: 'data.txt'",
            "forbidden",
            "Reading and writing files is not available here.",
        ),
    ],
)
def test_limits_and_refusals_get_their_code_and_name_the_limit(
    type_name: str, message: str, code: str, says: str
) -> None:
    error = classify_program_error(_trace(type_name, message), LIMITS).error
    assert error is not None
    assert error.code == code
    assert error.explanation is not None
    assert says in error.explanation
    assert " ()" not in error.explanation  # a limit is named, not left blank


@pytest.mark.parametrize(
    ("type_name", "message"),
    [
        ("ValueError", "negative learning rate not permitted"),
        ("RuntimeError", "can't allocate memory for the cache, said my program"),
        ("FileNotFoundError", "No such file in my dataset dict: cat.jpg"),
        ("PermissionError", "Permission denied, said the program"),
    ],
)
def test_a_programs_own_exception_keeps_its_type_and_explanation(
    type_name: str, message: str
) -> None:
    error = classify_program_error(_trace(type_name, message), LIMITS).error
    assert error is not None
    assert (error.code, error.explanation) == (None, "theirs")


def test_a_time_limit_in_chinese_names_its_limits_in_chinese() -> None:
    from gradstage.sandbox.outcome import error_trace

    trace = error_trace("time_limit", Limits(cpu_seconds=5, wall_seconds=10))
    assert trace.error is not None
    assert "5 s of CPU, 10 s in all" in (trace.error.explanation or "")
    chinese = trace.error.explanation_zh or ""
    assert "CPU 时间 5 秒，总共 10 秒" in chinese
    assert "of CPU" not in chinese
    assert "in all" not in chinese
