"""Settings come from the environment, in one object, checked when read."""

from __future__ import annotations

from pathlib import Path

import pytest

from registry.settings import Settings


def test_defaults_to_a_sqlite_file_in_the_working_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings.from_env({})
    assert settings.database_url == f"sqlite:///{tmp_path / 'accord.db'}"
    assert settings.workers == 1 and settings.is_sqlite


def test_reads_the_environment() -> None:
    settings = Settings.from_env(
        {
            "ACCORD_DATABASE_URL": "postgresql://postgres@db:5432/accord",
            "ACCORD_WORKERS": "3",
            "ACCORD_READ_THREADS": "8",
        }
    )
    assert settings.database_url == "postgresql+psycopg://postgres@db:5432/accord"
    assert (settings.workers, settings.read_threads) == (3, 8)
    assert not settings.is_sqlite
    assert Settings.from_env({}).webhook_blocked[:2] == ("169.254.0.0/16", "fe80::/10")
    assert Settings.from_env({"ACCORD_WEBHOOK_BLOCKED_NETWORKS": ""}).webhook_blocked == ()
    listed = {"ACCORD_WEBHOOK_BLOCKED_NETWORKS": " 10.0.0.0/8 , fd00::/8"}
    assert Settings.from_env(listed).webhook_blocked == ("10.0.0.0/8", "fd00::/8")


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"ACCORD_DATABASE_URL": "mysql://x/y"}, "ACCORD_DATABASE_URL"),
        ({"ACCORD_DATABASE_URL": "accord.db"}, "ACCORD_DATABASE_URL"),
        ({"ACCORD_WORKERS": "two"}, "ACCORD_WORKERS"),
        ({"ACCORD_WORKERS": "0"}, "ACCORD_WORKERS"),
        ({"ACCORD_READ_THREADS": "-1"}, "ACCORD_READ_THREADS"),
        ({"ACCORD_WEBHOOK_BLOCKED_NETWORKS": "10.0.0.0/8,intranet"}, "'intranet' is not a"),
    ],
)
def test_bad_values_name_the_variable(env: dict[str, str], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        Settings.from_env(env)
