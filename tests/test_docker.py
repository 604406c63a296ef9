"""The image and compose file: health checks follow GRADSTAGE_HOST and GRADSTAGE_PORT."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())


def _instruction(name: str) -> list[str]:
    """The exec-form arguments of the last ``name`` instruction of the Dockerfile."""
    text = DOCKERFILE.replace("\\\n", " ")
    (*_, last) = re.findall(rf"^{name} .*?(\[.*\])$", text, flags=re.MULTILINE)
    arguments: list[str] = json.loads(last)
    return arguments


def test_the_image_health_check_is_gradstage_healthcheck_which_reads_the_settings() -> None:
    assert _instruction("HEALTHCHECK") == ["gradstage", "healthcheck"]  # after its CMD


def test_the_compose_health_check_is_the_same_command() -> None:
    assert COMPOSE["services"]["app"]["healthcheck"]["test"] == ["CMD", "gradstage", "healthcheck"]


def test_the_image_takes_host_and_port_from_the_environment_not_options() -> None:
    # An option would override GRADSTAGE_HOST/PORT, which the health check then misses.
    assert _instruction("CMD") == ["gradstage", "serve"]
    assert "GRADSTAGE_HOST=0.0.0.0" in DOCKERFILE


def test_the_dockerignore_names_the_lock_the_image_installs() -> None:
    comment = (ROOT / ".dockerignore").read_text().split("\n.git\n")[0]
    assert "requirements-runtime.lock" in comment
    assert "requirements-runtime.lock" in DOCKERFILE
