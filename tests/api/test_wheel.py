"""``pip install .`` ships the built front end: ``gradstage serve`` from the wheel serves the page.

The wheel is installed into a fresh venv that borrows only the *dependencies* of this one (a
path entry to its site-packages; the editable install's .pth file there is not processed, so
``import gradstage`` can only find the wheel's copy). The venv lives outside /tmp because the
sandbox mounts a private /tmp over the host's, hiding anything installed there.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.helpers import Server, server_env

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("api-process")]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def workdir() -> Iterator[Path]:
    base = Path("/var/tmp") if Path("/var/tmp").is_dir() else ROOT / "build"
    base.mkdir(exist_ok=True)
    path = Path(tempfile.mkdtemp(prefix="gradstage-wheel-", dir=base))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def wheel(workdir: Path) -> Path:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            ".",
            "--no-deps",
            "--no-build-isolation",
            "--quiet",
            "--wheel-dir",
            str(workdir / "dist"),
        ],
        cwd=ROOT,
        check=True,
        timeout=300,
    )
    (built,) = (workdir / "dist").glob("gradstage-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(workdir: Path, wheel: Path) -> Path:
    env = workdir / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(env)], check=True)
    python = env / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    (Path(site) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--no-deps",
            "--no-index",
            "--quiet",
            str(wheel),
        ],
        check=True,
        timeout=300,
    )
    return env


def test_the_wheel_carries_the_built_front_end_templates_and_lessons(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for name in (
        "gradstage/static/app.js",
        "gradstage/static/app.css",
        "gradstage/static/layout.worker.js",
        "gradstage/templates/app.html",
        "gradstage/templates/lessons.html",
        "gradstage/api/app.py",
        "gradstage/sandbox/forkserver.py",
    ):
        assert name in names, name
    programs = {n for n in names if n.startswith("gradstage/lessons/programs/")}
    texts = {n for n in names if n.startswith("gradstage/lessons/texts/")}
    shipped = {p.name for p in (ROOT / "app/gradstage/lessons/programs").glob("*.py")}
    assert {Path(n).name for n in programs} == shipped
    assert {Path(n).name for n in texts} == {
        p.name for p in (ROOT / "app/gradstage/lessons/texts").glob("*.toml")
    }
    assert any(n.endswith(".dist-info/entry_points.txt") for n in names)


def test_gradstage_serve_from_the_wheel_serves_the_page_and_its_script(
    wheel: Path, venv: Path, tmp_path: Path
) -> None:
    python = venv / "bin" / "python"
    where = subprocess.run(
        [str(python), "-c", "import gradstage; print(gradstage.__file__)"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    assert where.startswith(str(venv)), where
    server = Server(
        [str(venv / "bin" / "gradstage")],
        server_env(warm_lessons="0", rate_limit_per_minute="0"),
        tmp_path / "server.log",
    )
    try:
        server.wait_healthy()
        page = httpx.get(f"{server.url}/")
        assert page.status_code == 200
        assert '<script type="module" src="/static/app.js?v=' in page.text
        assert "?v=missing" not in page.text
        script = httpx.get(f"{server.url}/static/app.js")
        assert script.status_code == 200
        assert script.content == zipfile.ZipFile(wheel).read("gradstage/static/app.js")
        trace = httpx.post(f"{server.url}/api/trace", json={"code": "print(6 * 7)"}, timeout=60)
        assert (trace.status_code, trace.json()["stdout"]) == (200, "42\n")
    finally:
        server.stop()
