"""Settings from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from workflow.settings import REPO_ROOT, Settings, normalize_database_url


def test_it_defaults_to_a_sqlite_file_under_var_and_the_repo_data_dir():
    settings = Settings.from_env({})
    assert settings.database_url == f"sqlite:///{REPO_ROOT / 'var' / 'juhaoban.db'}"
    assert settings.data_dir == REPO_ROOT / "data"
    assert (settings.redis_url, settings.admin_token, settings.timezone) == (None, None, "Asia/Shanghai")
    assert (REPO_ROOT / "workflow" / "settings.py").is_file()


def test_it_reads_every_variable(tmp_path):
    settings = Settings.from_env(
        {
            "DATABASE_URL": "postgres://u:p%40ss@db:5432/juhaoban",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
            "JUHAOBAN_ADMIN_TOKEN": "s3cret",
            "JUHAOBAN_DATA_DIR": str(tmp_path),
        }
    )
    assert settings.database_url == "postgresql+psycopg2://u:p%40ss@db:5432/juhaoban"
    assert settings.redis_url == "redis://127.0.0.1:6379/0"
    assert settings.admin_token == "s3cret"
    assert settings.data_dir == tmp_path


def test_it_treats_empty_variables_as_unset():
    settings = Settings.from_env({"DATABASE_URL": "  ", "REDIS_URL": "", "JUHAOBAN_ADMIN_TOKEN": ""})
    assert settings.database_url.startswith("sqlite:///")
    assert settings.redis_url is None and settings.admin_token is None


def test_it_is_immutable():
    with pytest.raises(AttributeError):
        Settings.from_env({}).database_url = "sqlite://"  # type: ignore[misc]


@pytest.mark.parametrize(
    "url,normalised",
    [
        ("postgres://h/db", "postgresql+psycopg2://h/db"),
        ("postgresql://h/db", "postgresql+psycopg2://h/db"),
        ("postgresql+psycopg2://h/db", "postgresql+psycopg2://h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_it_normalises_postgres_urls(url, normalised):
    assert normalize_database_url(url) == normalised


def test_it_rejects_an_empty_url():
    with pytest.raises(ValueError):
        normalize_database_url(" ")


def test_relative_data_dirs_are_made_absolute(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    assert Settings.from_env({"JUHAOBAN_DATA_DIR": "mydata"}).data_dir == Path(tmp_path / "mydata").resolve()


def test_the_auto_accept_threshold_defaults_to_085_and_is_read_from_the_environment():
    assert Settings.from_env({}).auto_accept_threshold == 0.85
    assert Settings.from_env({"JUHAOBAN_AUTO_ACCEPT_THRESHOLD": " 0.9 "}).auto_accept_threshold == 0.9
    assert Settings.from_env({"JUHAOBAN_AUTO_ACCEPT_THRESHOLD": ""}).auto_accept_threshold == 0.85


@pytest.mark.parametrize("value", ["high", "1.5", "-0.1", "nan"])
def test_it_rejects_a_bad_auto_accept_threshold(value):
    with pytest.raises(ValueError, match="(?i)auto_accept_threshold"):
        Settings.from_env({"JUHAOBAN_AUTO_ACCEPT_THRESHOLD": value})


def test_the_console_reaches_rasa_where_the_environment_says():
    settings = Settings.from_env({"JUHAOBAN_RASA_URL": "http://10.0.0.5:5005/", "JUHAOBAN_RASA_TOKEN": " t0k "})
    assert (settings.rasa_url, settings.rasa_token) == ("http://10.0.0.5:5005", "t0k")
    default = Settings.from_env({})
    assert (default.rasa_url, default.rasa_token) == ("http://127.0.0.1:5005", None)
