"""Every Trace the tracer makes validates against the published JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from gradstage.schema import SCHEMA_VERSION, encode, json_schema, json_schema_text
from gradstage.tracer import trace_program

PROGRAMS = {
    "forward_backward": (
        "import torch\nx = torch.ones(2, requires_grad=True)\n(x * 3).sum().backward()\n"
    ),
    "syntax_error": "x = (1,\n",
    "nan": "import torch\nx = torch.zeros(1, requires_grad=True)\ntorch.sqrt(x).sum().backward()\n",
    "optimizer": (
        "import torch\nm = torch.nn.Linear(2, 1)\nopt = torch.optim.Adam(m.parameters())\n"
        "m(torch.ones(1, 2)).sum().backward()\nopt.step()\nopt.zero_grad()\n"
    ),
}


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(json_schema())


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_the_trace_validates_against_the_schema(
    name: str, validator: jsonschema.Draft202012Validator
) -> None:
    data = json.loads(encode(trace_program(PROGRAMS[name])))
    errors = sorted(validator.iter_errors(data), key=str)
    assert errors == []
    assert data["schema_version"] == SCHEMA_VERSION


def test_the_stable_top_level_fields_are_always_present() -> None:
    data = json.loads(encode(trace_program(PROGRAMS["syntax_error"])))
    for field in ("schema_version", "stdout", "error", "tensors", "nodes", "edges", "events"):
        assert field in data
    assert data["error"]["type"] == "SyntaxError"
    assert data["error"]["line"] == 1


def test_the_committed_json_schema_file_is_the_generated_one() -> None:
    committed = Path(__file__).resolve().parents[2] / "docs" / "trace.schema.json"
    assert committed.read_text(encoding="utf-8") == json_schema_text(), (
        "docs/trace.schema.json is out of date: regenerate it with "
        "`.venv/bin/python -m gradstage.schema > docs/trace.schema.json`"
    )


def test_the_committed_json_schema_is_a_valid_schema() -> None:
    committed = Path(__file__).resolve().parents[2] / "docs" / "trace.schema.json"
    jsonschema.Draft202012Validator.check_schema(json.loads(committed.read_text(encoding="utf-8")))


def test_a_byte_order_mark_before_the_program_is_skipped_as_python_skips_it_in_a_file() -> None:
    source = "\ufeffimport torch\nx = torch.ones(2, requires_grad=True)\nprint(x * 2)\n"
    trace = trace_program(source)
    assert trace.error is None
    assert trace.stdout == "tensor([2., 2.], grad_fn=<MulBackward0>)\n"
    assert next(t for t in trace.tensors if t.name == "x").line == 2
