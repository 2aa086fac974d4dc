"""Fixtures the CLI tests share."""

from __future__ import annotations

import pytest


@pytest.fixture
def no_real_config(tmp_path, monkeypatch):
    """Never read the real ~/.config/jirakit: an empty config dir of the test's own, and
    no profile chosen from outside."""
    monkeypatch.setenv("JIRAKIT_CONFIG", str(tmp_path / "config.toml"))
    monkeypatch.delenv("JIRAKIT_PROFILE", raising=False)
