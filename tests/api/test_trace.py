"""POST /api/trace on the real sandbox: Traces, errors as Traces, request errors, cache, limits."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from gradstage.api.app import body_cap
from gradstage.api.cache import TraceCache, cache_key
from gradstage.limits import Limits
from gradstage.sandbox import SandboxPool
from gradstage.schema import decode
from gradstage.tracer import trace_program

from tests.api.helpers import ASGI_GROUP, PROGRAM, Run, call, client, settings, unique

pytestmark = ASGI_GROUP


def _error_shape(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "detail"}
    assert body["error"]["code"] == code
    assert isinstance(body["error"]["message"], str)
    assert body["error"]["message"]
    return body["error"]  # type: ignore[no-any-return]


def test_a_program_gets_the_trace_pytorch_would_give(
    run: Run[httpx.Response], make_app: Callable[..., FastAPI]
) -> None:
    response = call(run, make_app(), "POST", "/api/trace", json={"code": PROGRAM})
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    trace = decode(response.content)
    expected = trace_program(PROGRAM)
    assert trace.error is None
    assert trace.stdout == expected.stdout == "tensor([2., 4., 6.])\n"
    assert [n.name for n in trace.nodes] == [n.name for n in expected.nodes]
    assert len(trace.events) == len(expected.events)
    body = response.json()
    for field in ("schema_version", "stdout", "error", "tensors", "nodes", "edges", "events"):
        assert field in body


def test_a_learners_exception_is_a_trace_with_error_set(
    run: Run[httpx.Response], make_app: Callable[..., FastAPI]
) -> None:
    code = "import torch\nprint('before')\ntorch.ones(2, requires_grad=True).backward()\n"
    response = call(run, make_app(), "POST", "/api/trace", json={"code": code})
    assert response.status_code == 200
    trace = decode(response.content)
    assert trace.stdout == "before\n"
    assert trace.error is not None
    assert trace.error.type == "RuntimeError"
    assert trace.error.line == 3
    assert trace.error.code is None
    assert "grad can be implicitly created only for scalar outputs" in trace.error.message


def test_a_time_limit_is_a_trace_with_error_set_and_is_not_cached(
    run: Run[httpx.Response], make_app: Callable[..., FastAPI]
) -> None:
    app = make_app()
    code = f"# {unique('spin')}\nwhile True:\n    pass\n"
    first = call(run, app, "POST", "/api/trace", json={"code": code})
    assert first.status_code == 200
    trace = decode(first.content)
    assert trace.error is not None
    assert (trace.error.code, trace.error.type) == ("time_limit", "TimeLimitExceeded")
    # Whether a run times out depends on the load of the moment: it is tried again next time.
    second = call(run, app, "POST", "/api/trace", json={"code": code})
    assert first.headers["x-gradstage-cache"] == second.headers["x-gradstage-cache"] == "miss"


def test_an_output_flood_is_cut_at_the_limit_with_what_was_printed(
    run: Run[httpx.Response], make_app: Callable[..., FastAPI]
) -> None:
    code = f"# {unique('flood')}\nwhile True:\n    print('x' * 99)\n"
    response = call(run, make_app(), "POST", "/api/trace", json={"code": code})
    assert response.status_code == 200
    trace = decode(response.content)
    assert trace.error is not None
    assert trace.error.code == "output_limit"
    assert trace.stdout.startswith("x" * 99 + "\n")
    assert len(trace.stdout.encode()) <= settings().limits().stdout_bytes


def test_a_program_over_the_source_limit_is_a_trace_with_error_set(
    run: Run[httpx.Response], make_app: Callable[..., FastAPI]
) -> None:
    code = "x = 1\n" * (settings().limits().source_bytes // 6 + 1)
    response = call(run, make_app(), "POST", "/api/trace", json={"code": code})
    assert response.status_code == 200
    trace = decode(response.content)
    assert trace.error is not None
    assert trace.error.code == "source_too_large"


def test_a_body_over_the_cap_is_refused_with_413(
    run: Run[httpx.Response], make_app: Callable[..., FastAPI]
) -> None:
    app = make_app()
    body = json.dumps({"code": "x" * body_cap(settings())})
    response = call(
        run, app, "POST", "/api/trace", content=body, headers={"content-type": "application/json"}
    )
    error = _error_shape(response, 413, "payload_too_large")
    assert str(body_cap(settings())) in error["message"]


def test_a_streamed_body_over_the_cap_is_refused_with_413_without_a_length(
    run: Run[httpx.Response], make_app: Callable[..., FastAPI]
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        yield b'{"code": "'
        for _ in range(body_cap(settings()) // 10_000 + 1):
            yield b"x" * 10_000
        yield b'"}'

    async def go() -> httpx.Response:
        async with client(make_app()) as c:
            request = c.build_request(
                "POST", "/api/trace", content=chunks(), headers={"content-type": "application/json"}
            )
            assert "content-length" not in request.headers
            return await c.send(request)

    _error_shape(run(go()), 413, "payload_too_large")


@pytest.mark.parametrize(
    ("body", "where"),
    [
        pytest.param(b'{"code": "print(1)"', ["body", 19], id="truncated-json"),
        pytest.param(b"print(1)", ["body", 0], id="not-json"),
        pytest.param(b"{}", ["body", "code"], id="missing-code"),
        pytest.param(b'{"code": 3}', ["body", "code"], id="code-not-a-string"),
        pytest.param(b'{"code": "x", "lang": "py"}', ["body", "lang"], id="unknown-field"),
        pytest.param(b'["print(1)"]', ["body"], id="not-an-object"),
        pytest.param(b'{"code": "\xe4\x34\xa1"}', ["body"], id="not-utf-8"),
    ],
)
def test_malformed_json_or_fields_get_422_saying_where(
    run: Run[httpx.Response], make_app: Callable[..., FastAPI], body: bytes, where: list[Any]
) -> None:
    response = call(
        run,
        make_app(),
        "POST",
        "/api/trace",
        content=body,
        headers={"content-type": "application/json"},
    )
    error = _error_shape(response, 422, "invalid_request")
    assert [d["loc"] for d in error["detail"]] == [where]


def test_the_wrong_method_and_an_unknown_path_get_json_errors(
    run: Run[httpx.Response], make_app: Callable[..., FastAPI]
) -> None:
    app = make_app()
    _error_shape(call(run, app, "GET", "/api/trace"), 405, "method_not_allowed")
    _error_shape(call(run, app, "GET", "/api/nothing-here"), 404, "not_found")


def test_identical_programs_run_once_and_the_rest_are_served_from_the_cache(
    run: Run[Any], make_app: Callable[..., FastAPI], pool: SandboxPool
) -> None:
    app = make_app()
    code = f"# {unique('class of 20')}\n{PROGRAM}"
    runs_before = sum(v for k, v in pool.stats().items() if k.startswith("outcome_"))

    async def twenty_at_once() -> list[httpx.Response]:
        async with client(app) as c:
            return await asyncio.gather(
                *(c.post("/api/trace", json={"code": code}) for _ in range(20))
            )

    responses = run(twenty_at_once())
    later = call(run, app, "POST", "/api/trace", json={"code": code})
    runs_after = sum(v for k, v in pool.stats().items() if k.startswith("outcome_"))
    assert runs_after - runs_before == 1
    served = sorted(r.headers["x-gradstage-cache"] for r in responses)
    assert served == ["miss"] + ["shared"] * 19
    assert later.headers["x-gradstage-cache"] == "hit"
    assert {r.content for r in [*responses, later]} == {responses[0].content}


def test_the_cache_key_covers_the_program_and_the_limits() -> None:
    assert cache_key("print(1)", Limits()) == cache_key("print(1)", Limits())
    assert cache_key("print(1)", Limits()) != cache_key("print(2)", Limits())
    assert cache_key("print(1)", Limits()) != cache_key("print(1)", Limits(cpu_seconds=1))


def test_a_lookup_refused_by_admit_is_counted_rejected_not_missed(run: Run[Any]) -> None:
    cache = TraceCache(max_bytes=1000)

    async def make() -> tuple[bytes, bool]:
        raise AssertionError("a refused request must not run")

    def refuse() -> None:
        raise RuntimeError("busy")

    with pytest.raises(RuntimeError):
        run(cache.get_or_make("k", make, refuse))
    assert (cache.hits, cache.shared, cache.misses, cache.rejected) == (0, 0, 0, 1)


def test_the_cache_stays_within_its_bytes_dropping_the_least_recently_used() -> None:
    cache = TraceCache(max_bytes=250)
    for key in "abc":
        cache.put(key, key.encode() * 100)
    assert len(cache) == 2
    assert cache.size == 200
    assert cache.get("a") is None
    assert cache.get("b") == b"b" * 100  # b is now the freshest
    cache.put("d", b"d" * 100)
    assert (cache.get("c"), cache.get("b")) == (None, b"b" * 100)
    cache.put("huge", b"h" * 251)
    assert cache.get("huge") is None
    assert cache.size <= 250


def test_a_client_over_its_rate_gets_429_with_retry_after_and_cached_traces_still(
    run: Run[httpx.Response], make_app: Callable[..., FastAPI]
) -> None:
    app = make_app(rate_limit_per_minute=1, rate_limit_burst=1)
    cached = unique("cached")
    assert call(run, app, "POST", "/api/trace", json={"code": cached}).status_code == 200
    refused = call(run, app, "POST", "/api/trace", json={"code": unique("second")})
    _error_shape(refused, 429, "rate_limited")
    assert 1 <= int(refused.headers["retry-after"]) <= 61
    # Only new runs count: a trace already made is served to the same client.
    again = call(run, app, "POST", "/api/trace", json={"code": cached})
    assert (again.status_code, again.headers["x-gradstage-cache"]) == (200, "hit")

    async def from_elsewhere() -> httpx.Response:
        async with client(app, address="192.0.2.7") as c:
            return await c.post("/api/trace", json={"code": unique("other client")})

    assert run(from_elsewhere()).status_code == 200


def test_behind_a_trusted_proxy_clients_are_told_apart_by_x_forwarded_for(
    run: Run[httpx.Response], make_app: Callable[..., FastAPI]
) -> None:
    app = make_app(rate_limit_per_minute=1, rate_limit_burst=1, trust_forwarded_for=True)

    def post(client_address: str) -> int:
        response = call(
            run,
            app,
            "POST",
            "/api/trace",
            json={"code": unique(client_address)},
            headers={"x-forwarded-for": f"{client_address}, 10.0.0.1"},
        )
        return response.status_code

    assert [post("198.51.100.1"), post("198.51.100.2"), post("198.51.100.1")] == [200, 200, 429]


def test_a_full_queue_gets_503_with_retry_after_at_once_and_drains(
    run: Run[Any], make_app: Callable[..., FastAPI]
) -> None:
    app = make_app(workers=1, queue_size=1)  # two runs in flight at most

    async def three_at_once() -> list[httpx.Response]:
        async with client(app) as c:
            sleepers = [f"import time\ntime.sleep(1)  # {unique(f'slow {i}')}" for i in range(2)]
            slow = [
                asyncio.ensure_future(c.post("/api/trace", json={"code": code}))
                for code in sleepers
            ]
            await asyncio.sleep(0.2)
            refused = await c.post("/api/trace", json={"code": unique("third")})
            assert not any(task.done() for task in slow), "refused before the queue moved"
            return [refused, *await asyncio.gather(*slow)]

    cache = app.state.services.cache
    refused, *slow = run(three_at_once())
    _error_shape(refused, 503, "overloaded")
    # The refused request looked up and missed, but nothing ran for it.
    assert (cache.misses, cache.rejected) == (2, 1)
    assert int(refused.headers["retry-after"]) >= 1
    assert [r.status_code for r in slow] == [200, 200]
    assert all(decode(r.content).error is None for r in slow)
    after = call(run, app, "POST", "/api/trace", json={"code": unique("after")})
    assert after.status_code == 200
