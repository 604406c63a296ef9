"""The ``gradstage`` command: a bad setting or address stops ``serve`` before anything starts."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from typing import NoReturn

import gradstage.api.app
import pytest
from gradstage.cli import main


@pytest.fixture(autouse=True)
def no_settings_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("GRADSTAGE_")]:
        monkeypatch.delenv(name)


@pytest.fixture
def nothing_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building the app (and so its sandbox) fails the test."""

    def refuse(*args: object, **kwargs: object) -> NoReturn:
        raise AssertionError("the app was built despite a bad setting")

    monkeypatch.setattr(gradstage.api.app, "create_app", refuse)


@pytest.mark.usefixtures("nothing_starts")
def test_serve_with_bad_settings_prints_a_line_for_each_and_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GRADSTAGE_WORKERS", "abc")
    monkeypatch.setenv("GRADSTAGE_MEMORY_MB", "10")
    assert main(["serve"]) == 2
    assert capsys.readouterr().err == (
        "gradstage: GRADSTAGE_WORKERS must be an integer of at least 1 (got 'abc')\n"
        "gradstage: GRADSTAGE_MEMORY_MB must be an integer of at least 64 (got '10')\n"
    )


@pytest.mark.usefixtures("nothing_starts")
def test_serve_on_a_host_that_does_not_resolve_says_so_before_the_sandbox_starts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("GRADSTAGE_HOST", "999.1.1.1")
    assert main(["serve"]) == 2
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith(
        "gradstage: GRADSTAGE_HOST must be an address of this machine, or a name that resolves "
        "to one (got '999.1.1.1': "
    )


@pytest.mark.usefixtures("nothing_starts")
def test_serve_on_a_port_in_use_names_the_option_that_set_it(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["serve", "--host", "127.0.0.1", "--port", str(port)]) == 2
    assert capsys.readouterr().err == (
        f"gradstage: --port must be a port free to bind (got {port}: Address already in use)\n"
    )


def test_the_installed_command_exits_2_with_one_line_and_no_traceback() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRADSTAGE_")}
    done = subprocess.run(
        [sys.executable, "-m", "gradstage", "serve"],
        env={**env, "GRADSTAGE_PORT": "99999"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stdout) == (2, "")
    assert (
        done.stderr
        == "gradstage: GRADSTAGE_PORT must be an integer from 1 to 65535 (got '99999')\n"
    )
