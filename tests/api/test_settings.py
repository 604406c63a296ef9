"""Settings come from GRADSTAGE_* variables; docs/operations.md and the README list every one."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from gradstage.limits import Limits
from gradstage.settings import Settings, SettingsError, load_settings

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


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("GRADSTAGE_WORKERS", "abc", "an integer of at least 1"),
        ("GRADSTAGE_WORKERS", "-1", "an integer of at least 1"),
        ("GRADSTAGE_QUEUE_SIZE", "-3", "an integer of at least 0"),
        ("GRADSTAGE_CPU_SECONDS", "-1", "a number greater than 0"),
        ("GRADSTAGE_WALL_SECONDS", "inf", "a number greater than 0"),
        ("GRADSTAGE_MEMORY_MB", "10", "an integer of at least 64"),
        ("GRADSTAGE_PORT", "99999", "an integer from 1 to 65535"),
        ("GRADSTAGE_PORT", "0", "an integer from 1 to 65535"),
        ("GRADSTAGE_LOG_LEVEL", "verbose", "one of critical, error, warning, info, debug"),
        ("GRADSTAGE_LOG_SOURCE", "maybe", "true or false, 1 or 0, yes or no"),
        (
            "GRADSTAGE_FRAME_ANCESTORS",
            "a;b",
            "a space-separated list of CSP sources, without ';', ',' or line breaks",
        ),
    ],
)
def test_a_bad_setting_is_one_line_naming_its_variable_what_it_takes_and_what_it_got(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(SettingsError) as caught:
        load_settings()
    assert caught.value.problems == [f"{variable} must be {expected} (got {value!r})"]


def test_every_bad_setting_is_told_and_a_command_line_option_by_its_own_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("GRADSTAGE_WORKERS", "abc")
    monkeypatch.setenv("GRADSTAGE_LOG_LEVEL", "verbose")
    with pytest.raises(SettingsError) as caught:
        load_settings(port=70000)
    assert caught.value.problems == [
        "--port must be an integer from 1 to 65535 (got 70000)",
        "GRADSTAGE_WORKERS must be an integer of at least 1 (got 'abc')",
        "GRADSTAGE_LOG_LEVEL must be one of critical, error, warning, info, debug (got 'verbose')",
    ]


def test_a_command_line_option_overrides_its_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRADSTAGE_WORKERS", "abc")
    assert load_settings(workers=3).workers == 3
