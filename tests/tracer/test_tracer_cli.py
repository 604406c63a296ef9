"""The ``gradstage trace`` command: JSON on stdout, a summary for people, honest exit codes."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from gradstage.schema import decode

PROGRAM = """import torch
x = torch.tensor(3.0, requires_grad=True)
y = x ** 2
y.backward()
print(x.grad)
"""


def _run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gradstage", *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_trace_prints_a_valid_trace_as_json(tmp_path: Path) -> None:
    program = tmp_path / "square.py"
    program.write_text(PROGRAM)
    result = _run("trace", str(program))
    assert result.returncode == 0, result.stderr
    trace = decode(result.stdout)
    assert trace.stdout == "tensor(6.)\n"
    x = next(t for t in trace.tensors if t.name == "x")
    assert x.grad is not None
    assert x.grad.data == [6.0]


def test_trace_writes_to_a_file_with_dash_o(tmp_path: Path) -> None:
    out = tmp_path / "trace.json"
    result = _run("trace", "-", "-o", str(out), stdin=PROGRAM)
    assert result.returncode == 0
    assert result.stdout == ""
    assert decode(out.read_bytes()).error is None


def test_summary_lists_tensors_and_the_backward_order() -> None:
    result = _run("trace", "-", "--summary", stdin=PROGRAM)
    assert result.returncode == 0
    assert "x (leaf, []) = 3  grad=6" in result.stdout
    assert (
        "backward order:\nbackward() at line 4:\n  PowBackward0\n  AccumulateGrad" in result.stdout
    )


def test_a_program_that_raises_is_not_a_failure_of_the_tool() -> None:
    result = _run("trace", "-", stdin="import torch\ntorch.ones(2).backward()\n")
    assert result.returncode == 0
    trace = decode(result.stdout)
    assert trace.error is not None
    assert trace.error.line == 2
    assert trace.error.explanation


def test_a_missing_program_file_is_a_failure_of_the_tool(tmp_path: Path) -> None:
    result = _run("trace", str(tmp_path / "nope.py"))
    assert result.returncode == 2
    assert "cannot read" in result.stderr


def test_time_limit_stops_a_loop_that_never_ends_at_its_line_with_its_graph() -> None:
    source = "import torch\nw = torch.ones(2, requires_grad=True)\nwhile True:\n    y = w * 2\n"
    result = _run("trace", "-", "--time-limit", "1.5", stdin=source)
    assert result.returncode == 0, result.stderr
    trace = decode(result.stdout)
    assert trace.error is not None
    assert trace.error.code == "time_limit"
    assert trace.error.line in (3, 4)
    assert trace.error.message == "the program ran longer than 1.5 s of CPU or 1.5 s in all"
    assert {"w", "y"} <= {t.name for t in trace.tensors}


def test_a_time_limit_that_is_not_a_positive_number_is_refused_in_one_line() -> None:
    for bad in ("soon", "0", "-1", "nan"):
        result = _run("trace", "-", "--time-limit", bad, stdin=PROGRAM)
        assert result.returncode == 2
        assert result.stdout == ""
        assert "--time-limit" in result.stderr
        assert "Traceback" not in result.stderr
