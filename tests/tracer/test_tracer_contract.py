"""What the page relies on in every Trace, for programs that once broke it (a contract sweep
of 263 programs found these)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import msgspec
from gradstage.schema import (
    BackwardEndEvent,
    BackwardEvent,
    ClipEvent,
    WarningEvent,
    ZeroGradEvent,
    decode,
    encode,
)
from gradstage.tracer import trace_program


def _same_json(source: str) -> tuple[dict[str, object], dict[str, object]]:
    a, b = (msgspec.json.decode(encode(trace_program(source))) for _ in range(2))
    for trace in (a, b):
        trace["meta"].pop("duration_ms")  # type: ignore[attr-defined]
    return a, b


def test_clipping_with_an_infinite_bound_gives_a_valid_trace() -> None:
    source = (
        "import torch\nw = torch.ones(3, requires_grad=True)\n(w * 2).sum().backward()\n"
        "norm = torch.nn.utils.clip_grad_norm_([w], max_norm=float('inf'))\n"
        "torch.nn.utils.clip_grad_value_([w], clip_value=float('inf'))\n"
    )
    trace = decode(encode(trace_program(source)))  # the schema accepts it
    clips = [e for e in trace.events if isinstance(e, ClipEvent)]
    assert [(c.how, c.max_norm, c.clip_value) for c in clips] == [
        ("norm", "inf", None),
        ("value", 0.0, "inf"),
    ]


def test_a_backward_that_raises_and_is_caught_ends_before_what_follows() -> None:
    source = (
        "import torch\nx = torch.ones(2, requires_grad=True)\ny = x * 2\n"
        "y.register_hook(lambda g: 1 / 0)\ntry:\n    y.sum().backward()\n"
        "except ZeroDivisionError:\n    print('caught')\nz = (x * 3).sum()\nz.backward()\n"
    )
    trace = trace_program(source)
    assert trace.error is None
    kinds = [
        (type(e).__name__, getattr(e, "id", None) or getattr(e, "backward", None))
        for e in trace.events
        if isinstance(e, BackwardEvent | BackwardEndEvent)
    ]
    assert kinds == [
        ("BackwardEvent", "b1"),
        ("BackwardEndEvent", "b1"),
        ("BackwardEvent", "b2"),
        ("BackwardEndEvent", "b2"),
    ]
    ends = [e for e in trace.events if isinstance(e, BackwardEndEvent)]
    assert [e.failed for e in ends] == [True, False]


def test_zeroing_gradients_in_place_names_only_the_gradients_there_are() -> None:
    source = (
        "import torch\nm = torch.nn.Linear(2, 1)\nm.bias.requires_grad_(False)\n"
        "m(torch.ones(1, 2)).sum().backward()\nm.zero_grad(set_to_none=False)\n"
    )
    trace = trace_program(source)
    (zeroed,) = [e for e in trace.events if isinstance(e, ZeroGradEvent)]
    names = {t.id: t.name for t in trace.tensors}
    assert [names[t] for t in zeroed.tensors] == ["m.weight"]
    assert all(b is not None for b in zeroed.before)


def test_torchs_warn_once_warnings_are_in_every_trace_of_a_process() -> None:
    a, b = _same_json(
        "import torch\nx = torch.tensor(2.0, requires_grad=True)\nprint(float(x * 2))\n"
    )
    assert a == b
    trace = trace_program("import torch\nx = torch.tensor(2.0, requires_grad=True)\nfloat(x)\n")
    assert any(isinstance(e, WarningEvent) for e in trace.events)


def test_memory_torch_empty_has_not_written_is_not_a_value() -> None:
    source = "import torch\nu = torch.empty(2).normal_()\nv = torch.empty(3)\nprint(u.shape)\n"
    a, b = _same_json(source)
    assert a == b
    trace = trace_program(source)
    v = next(t for t in trace.tensors if t.name == "v")
    assert v.value is not None
    assert (v.value.shape, v.value.data, v.value.stats) == ([3], None, None)


def test_an_expression_of_hundreds_of_terms_is_traced_as_python_runs_it() -> None:
    source = "import torch\nx = torch.ones(2, requires_grad=True)\ny = " + " + ".join(["x"] * 500)
    source += "\ny.sum().backward()\nprint(x.grad)\n"
    trace = trace_program(source)
    assert trace.error is None
    assert trace.stdout == "tensor([500., 500.])\n"


def test_the_programs_stdout_is_a_whole_text_stream() -> None:
    source = (
        "import sys\nsys.stdout.writelines(['a\\n', 'b\\n'])\n"
        "sys.stdout.buffer.write('中\\n'.encode())\n"
        "print(sys.stdout.closed, sys.stdout.line_buffering)\n"
        "sys.stdout.close()\nprint('still here')\n"
    )
    trace = trace_program(source)
    assert trace.error is None
    assert trace.stdout == "a\nb\n中\nFalse True\nstill here\n"


def _cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    command = [sys.executable, "-m", "gradstage", *args]
    return subprocess.run(command, input=stdin, capture_output=True, timeout=120, check=False)


def test_the_summary_of_values_with_no_finite_element_reads_none() -> None:
    source = b"import torch\nx = torch.full((65,), float('nan'), requires_grad=True)\n"
    result = _cli("trace", "-", "--summary", stdin=source)
    assert result.returncode == 0, result.stderr
    assert b"mean=None" in result.stdout
    assert b"nan=65" in result.stdout


def test_the_cli_says_plainly_what_it_cannot_read_or_write(tmp_path: Path) -> None:
    program = tmp_path / "p.py"
    program.write_bytes(b"x = 1\ny = '\xff'\n")
    result = _cli("trace", str(program))
    assert result.returncode == 2
    assert b"not UTF-8 (line 2" in result.stderr
    assert b"Traceback" not in result.stderr
    program.write_text("x = 1\n")
    result = _cli("trace", str(program), "-o", str(tmp_path / "missing" / "t.json"))
    assert result.returncode == 2
    assert b"cannot write" in result.stderr
    assert b"Traceback" not in result.stderr


def test_what_a_program_writes_past_print_does_not_spoil_the_clis_json() -> None:
    source = (
        b"import os, sys\nos.write(1, b'raw\\n')\nsys.__stdout__.write('dunder\\n')\nprint('ok')\n"
    )
    result = _cli("trace", "-", stdin=source)
    assert result.returncode == 0, result.stderr
    trace = decode(result.stdout)  # stdout is the Trace alone
    assert trace.stdout == "ok\n"
    assert b"raw\n" in result.stderr
    assert b"dunder\n" in result.stderr
