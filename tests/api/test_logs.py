"""Structured access logs: one JSON object per request, and no program source unless asked."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.api.helpers import ASGI_GROUP, Run, call, unique

pytestmark = ASGI_GROUP


def _access_records(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [json.loads(r.getMessage()) for r in caplog.records if r.name == "gradstage.access"]


def test_each_request_is_one_json_log_line_without_the_program(
    run: Run[httpx.Response], make_app: Callable[..., FastAPI], caplog: pytest.LogCaptureFixture
) -> None:
    secret = unique("a learner's private program")
    caplog.set_level(logging.INFO, logger="gradstage")
    app = make_app()
    call(run, app, "POST", "/api/trace", json={"code": secret})
    call(run, app, "POST", "/api/trace", json={"code": 42, "note": secret})  # 422
    call(run, app, "GET", "/healthz", params={"token": secret})
    records = _access_records(caplog)
    assert [(r["method"], r["path"], r["status"]) for r in records] == [
        ("POST", "/api/trace", 200),
        ("POST", "/api/trace", 422),
        ("GET", "/healthz", 200),
    ]
    trace = records[0]
    assert (trace["cache"], trace["outcome"], trace["client"]) == ("miss", "ok", "127.0.0.1")
    assert trace["bytes"] > 0
    assert trace["ms"] >= 0
    everything = "\n".join(r.getMessage() for r in caplog.records) + caplog.text
    assert secret not in everything
    assert "private program" not in everything


def test_the_operator_may_log_program_source(
    run: Run[httpx.Response], make_app: Callable[..., FastAPI], caplog: pytest.LogCaptureFixture
) -> None:
    program = unique("logged on purpose")
    caplog.set_level(logging.INFO, logger="gradstage")
    call(run, make_app(log_source=True), "POST", "/api/trace", json={"code": program})
    assert [r.get("source") for r in _access_records(caplog)] == [program]
