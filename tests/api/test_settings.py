"""Settings come from GRADSTAGE_* variables; docs/operations.md and the README list every one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from gradstage.limits import Limits
from gradstage.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
GUIDES = [ROOT / "docs" / "operations.md", ROOT / "README.md"]


@pytest.fixture(autouse=True)
def no_settings_in_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("GRADSTAGE_")]:
        monkeypatch.delenv(name)


def test_every_setting_is_read_from_its_environment_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GRADSTAGE_WORKERS", "3")
    monkeypatch.setenv("GRADSTAGE_TRUST_FORWARDED_FOR", "yes")
    monkeypatch.setenv("GRADSTAGE_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("GRADSTAGE_MEMORY_MB", "512")
    settings = Settings()
    assert (settings.workers, settings.trust_forwarded_for) == (3, True)
    assert settings.log_level == "warning"
    assert settings.limits().memory_bytes == 512 << 20


def test_the_default_settings_give_the_default_limits() -> None:
    assert Settings().limits() == Limits()


@pytest.mark.parametrize("guide", GUIDES, ids=lambda p: p.name)
def test_the_guides_list_every_setting_with_its_default(guide: Path) -> None:
    rows = {
        line.split("|")[1].strip().strip("`"): line.split("|")[2].strip().strip("`")
        for line in guide.read_text().splitlines()
        if line.startswith("| `GRADSTAGE_")
    }
    for name, field in Settings.model_fields.items():
        variable = f"GRADSTAGE_{name.upper()}"
        assert variable in rows, variable
        default = field.default
        written = str(default).lower() if isinstance(default, bool) else str(default)
        assert rows[variable] == written, variable
