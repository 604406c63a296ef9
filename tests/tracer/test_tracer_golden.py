"""Golden snapshots: the Trace of a few corpus programs, normalised, must not change by accident.

Regenerate on purpose only, then read the diff before committing it:

    GRADSTAGE_REGEN_GOLDEN=1 .venv/bin/pytest tests/tracer/test_tracer_golden.py

A snapshot (``golden/<program>.json``) keeps what the page relies on and leaves out what may
differ between machines: event kinds and their fields in order, Node names and edges, tensor
names, kinds and shapes, with every number rounded to 5 significant digits; no timings, no
versions.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import msgspec
import pytest
from gradstage.schema import Trace
from gradstage.tracer import trace_program

from tests.tracer.oracle import program

GOLDEN = Path(__file__).resolve().parent / "golden"
REGENERATE = os.environ.get("GRADSTAGE_REGEN_GOLDEN") == "1"

PROGRAMS = [
    "forward_backward_scalar",
    "tensor_hooks",
    "inplace_copyslices",
    "custom_function_exp",
    "sgd_momentum",
    "second_derivative",
    "linreg_without_zeroing",
    "error_inplace_saved_tensor",
]


def _number(x: float) -> str:
    return f"{x:.5g}"


def _text(x: Any) -> str:
    """One field of the Trace as short text; Values as ``<shape>(numbers)`` or their stats."""
    if isinstance(x, dict) and "shape" in x and "dtype" in x:
        dims = "x".join(map(str, x["shape"])) or "scalar"
        dtype = "" if x["dtype"] == "float32" else f" {x['dtype']}"
        if "data" in x:
            return f"<{dims}{dtype}>(" + ", ".join(_text(v) for v in x["data"]) + ")"
        stats = x.get("stats", {})
        described = " ".join(
            f"{k}={_text(stats.get(k))}" for k in ("min", "max", "mean", "std", "nan", "inf")
        )
        return f"<{dims}{dtype} {described}>"
    if isinstance(x, dict):
        return "{" + ", ".join(f"{k}: {_text(v)}" for k, v in x.items()) + "}"
    if isinstance(x, list):
        return "[" + ", ".join(_text(v) for v in x) + "]"
    if isinstance(x, float):
        return _number(x)
    return str(x)


def _line(item: dict[str, Any], first: tuple[str, ...], skip: tuple[str, ...] = ()) -> str:
    head = " ".join(_text(item.get(k)) for k in first)
    rest = " ".join(f"{k}={_text(v)}" for k, v in item.items() if k not in first + skip)
    return " ".join(part for part in (head, rest) if part)


def normalise(trace: Trace) -> dict[str, Any]:
    """The parts of a Trace a snapshot keeps, one line of text per tensor, Node and event."""
    data = msgspec.to_builtins(trace)
    return {
        "stdout": data["stdout"],
        "error": data["error"],
        "tensors": [_line(t, ("id", "name", "kind", "shape")) for t in data["tensors"]],
        "nodes": [_line(n, ("id", "name", "kind")) for n in data["nodes"]],
        "edges": [_line(e, ("kind", "src", "dst")) for e in data["edges"]],
        "events": [_line(e, ("kind",), skip=("seq",)) for e in data["events"]],
        "series": [_line(s, ("name", "source")) for s in data["series"]],
        "truncated": data["truncated"],
    }


def render(trace: Trace) -> str:
    return json.dumps(normalise(trace), indent=1, ensure_ascii=False) + "\n"


@pytest.mark.parametrize("name", PROGRAMS)
def test_the_trace_matches_its_golden_snapshot(name: str) -> None:
    path = GOLDEN / f"{name}.json"
    text = render(trace_program(program(name).source))
    if REGENERATE:
        GOLDEN.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no snapshot {path.name}: run with GRADSTAGE_REGEN_GOLDEN=1"
    assert text == path.read_text(encoding="utf-8"), (
        f"the Trace of {name} changed; if on purpose, regenerate with GRADSTAGE_REGEN_GOLDEN=1 "
        "and review the diff"
    )


def test_every_snapshot_belongs_to_a_program_that_is_checked() -> None:
    assert sorted(p.stem for p in GOLDEN.glob("*.json")) == sorted(PROGRAMS)
