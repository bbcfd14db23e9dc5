"""Settings: defaults, environment, production safety, and docs that cannot drift."""

from __future__ import annotations

import re

import pytest
from cryptography.fernet import Fernet

from saas.config import (
    DEFAULT_ENCRYPTION_KEY,
    DEFAULT_SECRET,
    SETTINGS,
    InsecureConfig,
    check_production_safety,
    load_config,
)
from tests.conftest import ROOT

STRONG = "s" * 40


def production(**overrides) -> dict:
    cfg = {"SAAS_ENV": "production", "SECRET_KEY": STRONG,
           "ENCRYPTION_KEYS": Fernet.generate_key().decode()}
    cfg.update(overrides)
    return cfg


@pytest.fixture
def clean_env(monkeypatch):
    for s in SETTINGS:
        monkeypatch.delenv(s.name, raising=False)
    return monkeypatch


def test_defaults_give_the_embedded_setup(clean_env, tmp_path):
    cfg = load_config(None, str(tmp_path))
    assert cfg["DATABASE_URL"] == f"sqlite:///{(tmp_path / 'saas.sqlite').resolve()}"
    assert cfg["REDIS_URL"] is None
    assert cfg["RATELIMIT_STORAGE_URI"] == "memory://"
    assert cfg["SECRET_KEY"] == DEFAULT_SECRET
    assert cfg["RQ_QUEUE"] == "default"


def test_environment_overrides_defaults_and_is_coerced(clean_env, tmp_path):
    clean_env.setenv("DATABASE_URL", "postgres://u@db/x")
    clean_env.setenv("REDIS_URL", "redis://127.0.0.1:6379/3")
    clean_env.setenv("INVITATION_TTL_HOURS", "5")
    clean_env.setenv("SAAS_TRACE_PLUGINS", "yes")
    cfg = load_config(None, str(tmp_path))
    assert cfg["DATABASE_URL"] == "postgresql+psycopg://u@db/x"
    assert cfg["RATELIMIT_STORAGE_URI"] == "redis://127.0.0.1:6379/3"
    assert cfg["INVITATION_TTL_HOURS"] == 5
    assert cfg["SAAS_TRACE_PLUGINS"] is True


def test_empty_environment_value_means_the_default(clean_env, tmp_path):
    clean_env.setenv("REDIS_URL", "")
    assert load_config(None, str(tmp_path))["REDIS_URL"] is None


def test_non_numeric_integer_setting_is_refused(clean_env, tmp_path):
    clean_env.setenv("MAX_CONTENT_LENGTH", "lots")
    with pytest.raises(ValueError):
        load_config(None, str(tmp_path))


def test_production_accepts_a_real_secret_and_key():
    check_production_safety(production())


@pytest.mark.parametrize("secret", [DEFAULT_SECRET, "", None, "short-secret"])
def test_production_refuses_the_default_or_a_weak_secret(secret):
    with pytest.raises(InsecureConfig, match="SECRET_KEY"):
        check_production_safety(production(SECRET_KEY=secret))


def test_production_refuses_the_development_encryption_key_even_among_others():
    keys = f"{Fernet.generate_key().decode()},{DEFAULT_ENCRYPTION_KEY}"
    with pytest.raises(InsecureConfig, match="ENCRYPTION_KEYS"):
        check_production_safety(production(ENCRYPTION_KEYS=keys))


def test_create_app_refuses_to_start_in_production_with_defaults(clean_env, tmp_path):
    from saas import create_app

    with pytest.raises(InsecureConfig):
        create_app({"SAAS_ENV": "production", "DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})


def test_development_mode_tolerates_the_defaults():
    check_production_safety({"SAAS_ENV": "development", "SECRET_KEY": DEFAULT_SECRET,
                             "ENCRYPTION_KEYS": DEFAULT_ENCRYPTION_KEY})


def _documented_settings() -> set[str]:
    text = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    return set(re.findall(r"^### `?([A-Z][A-Z0-9_]+)`?\s*$", text, re.MULTILINE))


@pytest.mark.parametrize("setting", [s.name for s in SETTINGS])
def test_setting_is_documented(setting):
    assert setting in _documented_settings(), f"add '### {setting}' to docs/settings.md"


def test_documented_settings_exist():
    assert _documented_settings() <= {s.name for s in SETTINGS}


@pytest.mark.parametrize("keys", ["", "not-a-fernet-key"])
def test_malformed_encryption_keys_refuse_to_start_in_any_mode(keys):
    with pytest.raises(InsecureConfig, match="ENCRYPTION_KEYS"):
        check_production_safety({"SAAS_ENV": "development", "SECRET_KEY": DEFAULT_SECRET,
                                 "ENCRYPTION_KEYS": keys})
