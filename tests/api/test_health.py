"""Health, readiness, status, the Trace schema and the Prometheus metrics."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import msgspec
from fastapi import FastAPI
from gradstage.api.app import create_app
from gradstage.sandbox import SandboxPool
from gradstage.schema import SCHEMA_VERSION, json_schema
from prometheus_client.parser import text_string_to_metric_families

from tests.api.helpers import ASGI_GROUP, PROGRAM, Run, call, settings, unique

pytestmark = ASGI_GROUP


def test_healthz_says_the_process_is_up_even_before_the_sandbox_is(
    run: Run[httpx.Response],
) -> None:
    cold = create_app(settings(), runner=SandboxPool(settings().limits()))
    response = call(run, cold, "GET", "/healthz")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


def test_readyz_is_503_until_a_warm_worker_exists(run: Run[httpx.Response]) -> None:
    cold = create_app(settings(), runner=SandboxPool(settings().limits()))
    response = call(run, cold, "GET", "/readyz")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "overloaded"
    assert int(response.headers["retry-after"]) >= 1


def test_readyz_is_200_with_a_warm_worker(
    run: Run[httpx.Response], make_app: Callable[..., FastAPI], pool: SandboxPool
) -> None:
    assert pool.ready
    response = call(run, make_app(), "GET", "/readyz")
    assert (response.status_code, response.json()) == (200, {"status": "ready"})


def test_status_tells_the_sandbox_layers_limits_queue_and_cache(
    run: Run[httpx.Response], make_app: Callable[..., FastAPI], pool: SandboxPool
) -> None:
    status = call(run, make_app(workers=3, queue_size=5), "GET", "/api/status").json()
    assert status["ready"] is True
    assert status["sandbox"] == pool.layers()
    assert status["sandbox"]["isolated"] is True
    # Every limit, named as in Limits; how much of a loop is detailed and the seed are not limits.
    limits = msgspec.structs.asdict(settings().limits())
    for knob in ("detail_first", "detail_last", "seed"):
        del limits[knob]
    assert status["limits"] == limits
    assert status["limits"]["max_nodes"] == settings().max_nodes
    assert status["queue"] == {"in_flight": 0, "capacity": 8}
    assert status["cache"]["entries"] == 0


def test_the_schema_is_the_trace_json_schema(
    run: Run[httpx.Response], make_app: Callable[..., FastAPI]
) -> None:
    response = call(run, make_app(), "GET", "/api/schema")
    assert response.status_code == 200
    schema = response.json()
    assert schema == json_schema()
    assert f"trace-v{SCHEMA_VERSION}" in schema["$id"]


def test_the_openapi_document_lists_every_api_route_and_no_cdn_docs(
    run: Run[httpx.Response], make_app: Callable[..., FastAPI]
) -> None:
    app = make_app()
    paths = call(run, app, "GET", "/openapi.json").json()["paths"]
    assert set(paths) >= {
        "/api/trace",
        "/api/lessons",
        "/api/lessons/{lesson_id}",
        "/api/schema",
        "/api/status",
        "/healthz",
        "/readyz",
        "/metrics",
    }
    assert set(paths["/api/trace"]["post"]["responses"]) >= {"200", "413", "422", "429", "503"}
    status = paths["/api/status"]["get"]["description"]
    assert "max_nodes, max_tensors, max_events, trace_bytes" in status
    assert call(run, app, "GET", "/docs").status_code == 404


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def test_metrics_count_requests_latencies_outcomes_kills_and_the_queue(
    run: Run[httpx.Response], make_app: Callable[..., FastAPI]
) -> None:
    app = make_app(workers=2, queue_size=3)
    ok = {"code": f"# {unique('metrics')}\n{PROGRAM}"}
    # Written past print() (and the tracer's cap): killed by the server at the output limit.
    flood = {
        "code": f"# {unique('metrics flood')}\nimport torch\nwhile True:\n"
        "    torch.os.write(1, b'y' * 50)\n"
    }
    forbidden = {"code": f"# {unique('metrics forbidden')}\nimport os\n"}  # the pre-check's
    # It swallows the tracer's own stop (a second before the wall-clock limit): given up on.
    sleeper = {
        "code": f"# {unique('metrics sleep')}\nimport time\nwhile True:\n    try:\n"
        "        time.sleep(60)\n    except BaseException:\n        pass\n"
    }
    call(run, app, "POST", "/api/trace", json=ok)
    call(run, app, "POST", "/api/trace", json=ok)
    call(run, app, "POST", "/api/trace", json=flood)
    call(run, app, "POST", "/api/trace", json=sleeper)
    before = _samples(call(run, app, "GET", "/metrics").text)
    call(run, app, "POST", "/api/trace", json=forbidden)
    call(run, app, "GET", "/api/lessons/no-such-lesson")
    response = call(run, app, "GET", "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    m = _samples(response.text)
    trace_200 = (("method", "POST"), ("route", "/api/trace"), ("status", "200"))
    assert m["gradstage_http_requests_total", trace_200] == 5
    lesson_404 = (("method", "GET"), ("route", "/api/lessons/{lesson_id}"), ("status", "404"))
    assert m["gradstage_http_requests_total", lesson_404] == 1
    assert m["gradstage_http_request_seconds_count", (("route", "/api/trace"),)] == 5
    every = (("le", "+Inf"), ("route", "/api/trace"))
    assert m["gradstage_http_request_seconds_bucket", every] == 5
    # The sleeper ran until a second before the 3 s wall-clock limit.
    assert m["gradstage_http_request_seconds_sum", (("route", "/api/trace"),)] >= 2.0
    assert m["gradstage_traces_total", (("outcome", "ok"), ("served", "miss"))] == 1
    assert m["gradstage_traces_total", (("outcome", "ok"), ("served", "hit"))] == 1
    assert m["gradstage_traces_total", (("outcome", "output_limit"), ("served", "miss"))] == 1
    assert m["gradstage_traces_total", (("outcome", "time_limit"), ("served", "miss"))] == 1
    assert m["gradstage_traces_total", (("outcome", "forbidden"), ("served", "miss"))] == 1
    # The pool is shared by every test of this process: its counters only grow.
    assert m["gradstage_sandbox_kills_total", (("reason", "output_limit"),)] >= 1
    assert m["gradstage_sandbox_runs_total", (("outcome", "ok"),)] >= 1
    # The pre-check refused the forbidden program: it never reached the sandbox.
    refused = ("gradstage_sandbox_refused_total", (("reason", "forbidden"),))
    assert m[refused] == before.get(refused, 0) + 1
    runs = {k: v for k, v in m.items() if k[0] == "gradstage_sandbox_runs_total"}
    assert runs == {k: v for k, v in before.items() if k[0] == "gradstage_sandbox_runs_total"}
    assert m["gradstage_queue_depth", ()] == 0
    assert m["gradstage_queue_capacity", ()] == 5
    assert m["gradstage_ready", ()] == 1
    assert m["gradstage_cache_entries", ()] == 3  # all but the time limit
    assert m["gradstage_cache_lookups_total", (("served", "hit"),)] == 1
    assert m["gradstage_cache_lookups_total", (("served", "miss"),)] == 4
    assert m["gradstage_cache_lookups_total", (("served", "rejected"),)] == 0
