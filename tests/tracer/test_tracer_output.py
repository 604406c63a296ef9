"""What a program writes: stdout and stderr, each exactly as plain Python writes it."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator

import pytest
from gradstage.schema import PrintEvent
from gradstage.tracer import trace_program

PROGRAM = """
import logging
import sys
import torch
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s", force=True)
w = torch.tensor(2.0, requires_grad=True)
print("start")
for step in range(2):
    loss = (w - 1) ** 2
    loss.backward()
    logging.info("step %d loss %.2f", step, loss.item())
print("warning: done", file=sys.stderr, end="")
print(" and", w.grad.item())
"""


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    handlers = logging.root.handlers[:]
    level = logging.root.level
    yield
    logging.root.handlers[:] = handlers
    logging.root.setLevel(level)


def _plain(source: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        exec(source, {"__name__": "__main__"})
    return out.getvalue(), err.getvalue()


def test_stderr_is_kept_apart_from_stdout_exactly_as_python_writes_both() -> None:
    stdout, stderr = _plain(PROGRAM)
    trace = trace_program(PROGRAM)
    assert trace.error is None
    assert (trace.stdout, trace.stderr) == (stdout, stderr)
    assert stderr == "INFO step 0 loss 1.00\nINFO step 1 loss 1.00\nwarning: done"


def test_each_write_is_on_the_timeline_in_order_with_its_stream_and_line() -> None:
    trace = trace_program(PROGRAM)
    prints = [(e.stream, e.line, e.text) for e in trace.events if isinstance(e, PrintEvent)]
    assert prints == [
        ("stdout", 7, "start\n"),
        ("stderr", 11, "INFO step 0 loss 1.00\n"),
        ("stderr", 11, "INFO step 1 loss 1.00\n"),
        ("stderr", 12, "warning: done"),
        ("stdout", 13, " and 4.0\n"),
    ]


def test_a_logging_handler_set_up_by_the_program_writes_to_the_callers_stderr_after_the_run() -> (
    None
):
    # In a notebook, the program's logging set-up outlives the run: its handler holds the
    # tracer's stderr, which must then write where the notebook's stderr goes.
    callers = io.StringIO()
    with contextlib.redirect_stderr(callers):
        trace = trace_program(PROGRAM)
        logging.info("after the run")
    assert "INFO step 0" in trace.stderr
    assert callers.getvalue() == "INFO after the run\n"
