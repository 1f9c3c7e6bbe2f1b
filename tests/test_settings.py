"""Settings: one set of defaults, every field one ``TRACKER_*`` variable, each documented."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from tracker.domain.errors import InvalidInputError
from tracker.settings import Settings

README = Path(__file__).resolve().parents[1] / "README.md"


def test_every_setting_is_a_row_of_the_readme_configuration_table() -> None:
    text = README.read_text(encoding="utf-8")
    table = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = set(re.findall(r"^\| `(TRACKER_[A-Z0-9_]+)` \|", table, flags=re.MULTILINE))
    variables = {Settings.variable(f.name) for f in dataclasses.fields(Settings)}
    assert variables - rows == set(), "document these in the README's configuration table"
    assert rows - variables == set(), "the README documents variables that Settings does not read"


def test_an_empty_environment_gives_the_field_defaults() -> None:
    assert Settings.from_env({}) == Settings()
    assert Settings.from_env({"TRACKER_SMTP_PORT": "", "TRACKER_USE_MODEL": ""}) == Settings()


def test_variables_override_with_the_field_type() -> None:
    settings = Settings.from_env(
        {
            "TRACKER_DATA_DIR": "elsewhere",
            "TRACKER_SMTP_PORT": "2525",
            "TRACKER_CRAWL_LOCK_TTL": "2.5",
            "TRACKER_USE_MODEL": "false",
            "TRACKER_DEBUG": "1",
            "TRACKER_REGISTRY": "my/sources.toml",
            "TRACKER_UNRELATED": "ignored",
        }
    )
    assert settings.data_dir == Path("elsewhere")
    assert settings.smtp_port == 2525
    assert settings.crawl_lock_ttl == 2.5
    assert settings.use_model is False and settings.debug is True
    assert settings.registry == Path("my/sources.toml")


@pytest.mark.parametrize(
    ("variable", "value"), [("TRACKER_SMTP_PORT", "twenty-five"), ("TRACKER_USE_MODEL", "maybe")]
)
def test_a_malformed_value_names_its_variable(variable: str, value: str) -> None:
    with pytest.raises(InvalidInputError, match=variable):
        Settings.from_env({variable: value})


def test_the_child_environment_carries_every_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRACKER_MIRROR_URL", "http://127.0.0.1:1")
    monkeypatch.setenv("PATH_FOR_THE_CHILD", "kept")
    settings = Settings(mirror_url="http://127.0.0.1:2", registry=Path("r.toml"), use_model=False)
    env = settings.child_env()
    assert env["PATH_FOR_THE_CHILD"] == "kept"
    assert Settings.from_env(env) == settings
