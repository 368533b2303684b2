"""Shared fixtures of the CLI tests."""

import pytest

from smart_beauty import settings


@pytest.fixture
def service_env(ailab, monkeypatch, tmp_path):
    """The local AILab server as the service (its key and address in the environment), a private config
    folder; returns the test's folder."""
    monkeypatch.setenv("AILAB_API_KEY", ailab.valid_key)
    monkeypatch.setenv("AILAB_API_BASE", ailab.url)
    monkeypatch.setenv(settings.ENV_CONFIG_DIR, str(tmp_path / "cfg"))
    return tmp_path
