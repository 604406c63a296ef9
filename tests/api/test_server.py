"""``gradstage serve`` as operators run it: a real uvicorn process, its sandbox, its logs.

Also fuzzes the OpenAPI document (schemathesis) against it: no input makes it answer 5xx.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from gradstage import lessons
from gradstage.api.app import create_app
from gradstage.sandbox import SandboxPool
from hypothesis import HealthCheck, settings

from tests.api.helpers import (
    PROGRAM,
    Server,
    free_port,
    gradstage_script,
    server_env,
    unique,
)
from tests.api.helpers import settings as helper_settings

pytestmark = pytest.mark.xdist_group("api-process")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    env = server_env(rate_limit_per_minute="0", workers="2", cache_mb="16")
    served = Server(gradstage_script(), env, tmp_path_factory.mktemp("serve") / "server.log")
    try:
        served.wait_healthy()
        yield served
    finally:
        served.stop()


def _metric(server: Server, name: str) -> float:
    for line in httpx.get(f"{server.url}/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise KeyError(name)


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        found += [int(c) for c in (task / "children").read_text().split()]
    return found


def test_gradstage_serve_serves_the_page_and_the_built_front_end(server: Server) -> None:
    page = httpx.get(f"{server.url}/")
    assert page.status_code == 200
    assert '<script type="module" src="/static/app.js?v=' in page.text
    script = httpx.get(f"{server.url}/static/app.js")
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert "server" not in page.headers  # no version banner


def test_the_served_sandbox_is_isolated_and_warm(server: Server) -> None:
    status = httpx.get(f"{server.url}/api/status").json()
    assert status["ready"] is True
    assert status["sandbox"]["isolated"] is True
    assert status["queue"]["capacity"] == 2 + 32
    assert httpx.get(f"{server.url}/readyz").status_code == 200


def test_every_lesson_is_traced_at_start_up_so_its_first_visitor_hits_the_cache(
    server: Server,
) -> None:
    # The lessons as this server read them (what its pages hand to visitors).
    ids = [x["id"] for x in httpx.get(f"{server.url}/api/lessons").json()["lessons"]]
    assert ids == [lesson.id for lesson in lessons.catalog()]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if httpx.get(f"{server.url}/api/status").json()["cache"]["entries"] >= len(ids):
            break
        time.sleep(0.5)
    for lesson_id in ids:
        source = httpx.get(f"{server.url}/api/lessons/{lesson_id}").json()["source"]
        response = httpx.post(f"{server.url}/api/trace", json={"code": source}, timeout=60)
        assert response.status_code == 200
        assert response.headers["x-gradstage-cache"] == "hit", lesson_id


def test_the_log_has_a_json_line_per_request_and_no_program_source(server: Server) -> None:
    program = f"# {unique('private')}\n{PROGRAM}"
    response = httpx.post(f"{server.url}/api/trace", json={"code": program}, timeout=60)
    assert response.status_code == 200
    time.sleep(0.2)
    log = server.log.read_text()
    lines = [json.loads(x) for x in log.splitlines() if x.startswith("{")]
    assert any(x["path"] == "/api/trace" and x["cache"] == "miss" for x in lines)
    assert program.splitlines()[0] not in log
    assert "sandbox layers" in log  # the start-up report of the isolation layers


def test_the_container_health_check_follows_gradstage_port(server: Server) -> None:
    def healthcheck(**settings_env: str) -> int:
        command = [*gradstage_script(), "healthcheck"]
        return subprocess.run(command, env=server_env(**settings_env), timeout=30).returncode

    # The image binds 0.0.0.0 (here the server binds 127.0.0.1, which that probe reaches).
    assert healthcheck(host="0.0.0.0", port=str(server.port)) == 0
    assert healthcheck(port=str(server.port)) == 0
    assert healthcheck(port=str(free_port())) == 1


def test_readiness_comes_back_by_itself_after_the_sandbox_dies(server: Server) -> None:
    started = _metric(server, "gradstage_sandbox_workers_started_total")
    (fork_server,) = _children(server.proc.pid)
    os.kill(fork_server, signal.SIGKILL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready = httpx.get(f"{server.url}/readyz").status_code == 200
        if ready and _metric(server, "gradstage_sandbox_workers_started_total") > started:
            break
        time.sleep(0.1)
    assert _metric(server, "gradstage_sandbox_workers_started_total") == started + 1
    assert httpx.get(f"{server.url}/readyz").status_code == 200
    again = httpx.post(f"{server.url}/api/trace", json={"code": unique("after")}, timeout=60)
    assert again.status_code == 200


# The document is built here, as the served app builds it (a sandbox pool that is never started
# costs nothing), and the test below checks the server publishes exactly this one.
_DOCUMENT = create_app(helper_settings(), runner=SandboxPool()).openapi()
schema = schemathesis.openapi.from_dict(_DOCUMENT)


def test_the_server_publishes_the_document_that_is_fuzzed(server: Server) -> None:
    assert httpx.get(f"{server.url}/openapi.json").json() == _DOCUMENT


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=list(HealthCheck),
)
def test_no_generated_request_gets_a_5xx(case: schemathesis.Case[Any], server: Server) -> None:
    case.call_and_validate(base_url=server.url, timeout=60)
