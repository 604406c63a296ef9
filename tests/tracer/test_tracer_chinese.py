"""Every plain explanation also comes in Simplified Chinese, for the page in Chinese."""

from __future__ import annotations

import re

import pytest
from gradstage.limits import Limits
from gradstage.sandbox.outcome import REASONS, classify_program_error, error_trace
from gradstage.schema import AnomalyEvent, ErrorEvent
from gradstage.tracer import explain, trace_program
from gradstage.tracer.chinese import in_chinese
from gradstage.tracer.reachable import FREED_BEFORE_SHOW

CJK = re.compile(r"[\u4e00-\u9fff]")

EXPLANATIONS = [
    *(text for _, text in explain._ERRORS),
    *explain._BY_TYPE.values(),
    explain.NON_LEAF_GRAD_EXPLANATION,
    *explain.NAN_EXPLANATION.values(),
    explain.COMPILE_EXPLANATION,
    FREED_BEFORE_SHOW,
]


@pytest.mark.parametrize("text", EXPLANATIONS)
def test_each_explanation_has_its_chinese(text: str) -> None:
    chinese = in_chinese(text)
    assert chinese is not None, text
    assert CJK.search(chinese)


def test_an_explanation_of_known_sentences_is_translated_sentence_by_sentence() -> None:
    stop = "The program ran longer than it is allowed and was stopped at this line."
    assert in_chinese(stop) is None  # half a sentence of ours is not one of them
    unknown = explain.NON_LEAF_GRAD_EXPLANATION + " Something nobody translated."
    assert in_chinese(unknown) is None  # then the page shows the English, whole


def test_a_traced_error_and_anomaly_carry_their_chinese() -> None:
    trace = trace_program(
        "import torch\nx = torch.tensor([0.0], requires_grad=True)\ny = torch.sqrt(x)\n"
        "y.sum().backward()\nz = torch.ones(2, requires_grad=True) * 2\nz.backward()\n"
    )
    assert trace.error is not None
    assert trace.error.explanation_zh == in_chinese(trace.error.explanation)
    assert trace.error.explanation_zh is not None
    assert "向量-雅可比积" in trace.error.explanation_zh
    (error,) = [e for e in trace.events if isinstance(e, ErrorEvent)]
    assert error.explanation_zh == trace.error.explanation_zh
    anomalies = [e for e in trace.events if isinstance(e, AnomalyEvent)]
    assert anomalies
    assert all(a.explanation_zh == in_chinese(a.explanation) for a in anomalies)
    assert all(a.explanation_zh for a in anomalies)


def test_limits_and_refusals_carry_their_chinese() -> None:
    limits = Limits()
    for code in REASONS:
        error = error_trace(code, limits).error
        assert error is not None
        assert error.explanation_zh is not None
        assert CJK.search(error.explanation_zh), code
    trace = trace_program("import torch\nx = 1\n")
    trace.error = None
    memory = error_trace("memory_limit", limits)
    memory.error = memory.error.__class__(
        type="RuntimeError",
        message="DefaultCPUAllocator: can't allocate memory: you tried to allocate 400000000000 "
        "bytes. Error code 12 (Cannot allocate memory)",
    )
    classified = classify_program_error(memory, limits).error
    assert classified is not None
    assert classified.explanation_zh is not None
    assert "373 GiB" in classified.explanation_zh


@pytest.mark.parametrize(
    ("source", "says"),
    [
        ("import os\n", "操作系统"),
        ("import socket\n", "网络"),
        ("print(open('data.txt').read())\n", "读写文件"),
        ("eval('1 + 1')\n", "把文本当作代码运行"),
    ],
)
def test_the_prechecks_refusals_carry_their_chinese(source: str, says: str) -> None:
    from gradstage.sandbox.precheck import precheck

    refused = precheck(source)
    assert refused is not None
    assert refused.explanation_zh is not None
    assert says in refused.explanation_zh
